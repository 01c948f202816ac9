//! Hosts for CheckHosts tests, all on 127.0.0.1: a real SSH server (russh's server side)
//! with one account, and TCP listeners that are not SSH servers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use russh::keys::{Algorithm, HashAlg, PrivateKey};
use russh::server::{Auth, Config, Handler};
use russh::{MethodKind, MethodSet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub const ACCOUNT: &str = "backup";
/// Unique, so the secrets checks can search for it.
pub const PASSWORD: &str = "Host-Check-Secret-4417";

/// A listener task, stopped when this is dropped.
pub struct Host {
    pub port: u16,
    task: JoinHandle<()>,
}

impl Drop for Host {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn listen() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

fn serve(
    listener: TcpListener,
    each: impl Fn(tokio::net::TcpStream) + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            each(stream);
        }
    })
}

/// A fresh Ed25519 host key and its OpenSSH SHA-256 fingerprint.
pub fn host_key() -> (PrivateKey, String) {
    let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).unwrap();
    let fingerprint = key.public_key().fingerprint(HashAlg::Sha256).to_string();
    (key, fingerprint)
}

/// An RSA host key (2048 bits, made by `ssh-keygen` for these tests only; generating
/// one per run would take seconds) and its fingerprint.
pub fn rsa_host_key() -> (PrivateKey, String) {
    let key = PrivateKey::from_openssh(include_str!("fixtures/rsa_host_key")).unwrap();
    let fingerprint = key.public_key().fingerprint(HashAlg::Sha256).to_string();
    (key, fingerprint)
}

/// An SSH server accepting `ACCOUNT` / `PASSWORD`, offering `methods`; counts the
/// password attempts it receives.
pub struct SshServer {
    pub host: Host,
    pub password_attempts: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct OneAccount {
    password_attempts: Arc<AtomicUsize>,
}

impl Handler for OneAccount {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        self.password_attempts.fetch_add(1, Ordering::SeqCst);
        Ok(if user == ACCOUNT && password == PASSWORD {
            Auth::Accept
        } else {
            Auth::reject()
        })
    }
}

pub async fn ssh_server(key: PrivateKey, methods: &[MethodKind]) -> SshServer {
    ssh_server_with(Config {
        keys: vec![key],
        methods: MethodSet::from(methods),
        ..Default::default()
    })
    .await
}

/// An SSH server with this configuration, accepting `ACCOUNT` / `PASSWORD`.
pub async fn ssh_server_with(config: Config) -> SshServer {
    let config = Arc::new(Config {
        auth_rejection_time: Duration::from_millis(10),
        ..config
    });
    let password_attempts = Arc::new(AtomicUsize::new(0));
    let handler = OneAccount {
        password_attempts: password_attempts.clone(),
    };
    let (listener, port) = listen().await;
    let task = serve(listener, move |stream| {
        let (config, handler) = (config.clone(), handler.clone());
        tokio::spawn(async move {
            if let Ok(session) = russh::server::run_stream(config, stream, handler).await {
                let _ = session.await;
            }
        });
    });
    SshServer {
        host: Host { port, task },
        password_attempts,
    }
}

/// Answers like a web server, then hangs up.
pub async fn http_server() -> Host {
    let (listener, port) = listen().await;
    let task = serve(listener, |mut stream| {
        tokio::spawn(async move {
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        });
    });
    Host { port, task }
}

/// A port nothing listens on.
pub async fn closed_port() -> u16 {
    listen().await.1
}

/// Connections open at once on a silent host: now, and the most seen.
#[derive(Default)]
pub struct Gauge {
    now: AtomicUsize,
    pub max: AtomicUsize,
}

impl Gauge {
    fn open(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }

    fn close(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }

    pub fn now(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }

    pub fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

/// Accepts connections and never says a word; each is counted on every gauge until the
/// client hangs up.
pub async fn silent_host(gauges: Vec<Arc<Gauge>>) -> Host {
    let (listener, port) = listen().await;
    let task = serve(listener, move |mut stream| {
        let gauges = gauges.clone();
        tokio::spawn(async move {
            gauges.iter().for_each(|g| g.open());
            let mut buf = [0u8; 256];
            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
            gauges.iter().for_each(|g| g.close());
        });
    });
    Host { port, task }
}
