//! Real components for the SSH broker tests: Debian's OpenSSH `sshd` as the customer's
//! host (a loopback port, its own config, host key and a password account, all in a
//! temp dir) and OpenSSH's `ssh` client as the engineer.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::json;
use support_access::broker::{BrokerConfig, describe_host_key};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::helpers::World;

/// The host account the customer grants; created once per machine if missing.
pub const ACCOUNT: &str = "sabroker";
/// Unique, so the secrets checks can search for it.
pub const PASSWORD: &str = "Broker-Host-Secret-8821";

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ensure_account() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let exists = Command::new("id")
            .arg(ACCOUNT)
            .output()
            .is_ok_and(|o| o.status.success());
        if !exists {
            run(Command::new("useradd").args(["-m", "-s", "/bin/bash", ACCOUNT]));
        }
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        chpasswd
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{ACCOUNT}:{PASSWORD}\n").as_bytes())
            .unwrap();
        assert!(chpasswd.wait().unwrap().success());
        std::fs::create_dir_all("/run/sshd").unwrap();
    });
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn keygen(path: &Path) {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(path));
}

/// `sshd` on 127.0.0.1, killed on drop.
pub struct Sshd {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Sshd {
    pub fn start() -> Sshd {
        assert!(
            Path::new("/usr/sbin/sshd").exists(),
            "the broker tests need Debian's openssh-server (.ci/run installs it)"
        );
        ensure_account();
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, free_port())
    }

    fn start_in(dir: tempfile::TempDir, port: u16) -> Sshd {
        let key = dir.path().join("host_key");
        if !key.exists() {
            keygen(&key);
        }
        let config = dir.path().join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\n\
                 PasswordAuthentication yes\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication no\nUsePAM no\nPermitRootLogin no\nAllowUsers {ACCOUNT}\n\
                 StrictModes no\nPrintMotd no\nPrintLastLog no\nLogLevel ERROR\n\
                 Subsystem sftp /usr/lib/openssh/sftp-server\n",
                key.display(),
                dir.path().join("sshd.pid").display()
            ),
        )
        .unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "sshd did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Sshd { port, child, dir }
    }

    /// The same address with a new host key (a reinstalled or impostor host).
    pub fn with_new_host_key(mut self) -> Sshd {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        std::fs::remove_file(dir.path().join("host_key")).unwrap();
        std::fs::remove_file(dir.path().join("host_key.pub")).unwrap();
        Self::start_in(dir, self.port)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The broker of a test server on an ephemeral port, stopped on drop.
pub struct Broker {
    pub port: u16,
    pub known_hosts: PathBuf,
    stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl Broker {
    pub async fn start(w: &World) -> Broker {
        Self::start_with_recheck(w, Duration::from_millis(500)).await
    }

    /// With live sessions re-checked by poll only this often.
    pub async fn start_with_recheck(w: &World, recheck_interval: Duration) -> Broker {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = watch::channel(false);
        let config = BrokerConfig {
            recheck_interval,
            ..Default::default()
        };
        support_access::broker::spawn(w.app.clone(), listener, config, stopped)
            .await
            .unwrap();
        // Pinned as the engineer would pin it, from `support-access ssh host-key`.
        let (line, _) = describe_host_key(
            &w.app
                .broker_host_key(support_access::domain::audit::Actor::system())
                .await
                .unwrap(),
        );
        let dir = tempfile::tempdir().unwrap();
        let known_hosts = dir.path().join("known_hosts");
        std::fs::write(&known_hosts, format!("[127.0.0.1]:{port} {line}\n")).unwrap();
        Broker {
            port,
            known_hosts,
            stop,
            _dir: dir,
        }
    }
}

/// An engineer's key pair in a temp dir.
pub struct EngineerKey {
    pub private: PathBuf,
    pub public_line: String,
    _dir: tempfile::TempDir,
}

impl EngineerKey {
    pub fn new() -> EngineerKey {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("id_ed25519");
        keygen(&private);
        let public_line = std::fs::read_to_string(dir.path().join("id_ed25519.pub")).unwrap();
        EngineerKey {
            private,
            public_line,
            _dir: dir,
        }
    }

    /// Registers this key to `engineer` through the provider API.
    pub async fn register(&self, w: &World, engineer: &str) {
        let r = w
            .call(
                "POST",
                "/provider/v1/ssh-keys",
                Some(w.token(engineer)),
                Some(json!({"public_key": self.public_line})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.raw);
    }
}

/// OpenSSH's `program` (`ssh`, `sftp`, `scp`) with `key`, trusting only the broker's
/// pinned host key; the port and the destination are the caller's.
pub fn openssh(program: &str, broker: &Broker, key: &EngineerKey) -> Command {
    let mut cmd = Command::new(program);
    cmd.args([
        "-F",
        "/dev/null",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
    ])
    .args(["-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR"])
    .arg("-o")
    .arg(format!(
        "UserKnownHostsFile={}",
        broker.known_hosts.display()
    ))
    .arg("-i")
    .arg(&key.private);
    cmd
}

/// The `ssh` command line for `user@broker`.
pub fn ssh(broker: &Broker, key: &EngineerKey, user: &str) -> Command {
    let mut cmd = openssh("ssh", broker, key);
    cmd.args(["-p", &broker.port.to_string()])
        .arg(format!("{user}@127.0.0.1"));
    cmd
}

/// Runs a command to its end off the async runtime: (exit code, stdout, stderr).
pub async fn output(mut cmd: Command) -> (Option<i32>, String, String) {
    let out = tokio::task::spawn_blocking(move || cmd.stdin(Stdio::null()).output().unwrap())
        .await
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running `ssh`, its output collected as it comes.
pub struct Running {
    pub child: Child,
    pub out: Arc<Mutex<Vec<u8>>>,
    /// The threads copying stdout and stderr into `out`; they end at the pipes' EOF.
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Running {
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let readers = [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ]
        .into_iter()
        .map(|mut pipe| {
            let out = out.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut buf) {
                    out.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            })
        })
        .collect();
        Running {
            child,
            out,
            readers,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// Waits until the output holds `needle` `times` times.
    pub async fn wait_for(&self, needle: &str, times: usize) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.text().matches(needle).count() < times {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} x{times} in {:?}",
                self.text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn send(&mut self, keys: &[u8]) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(keys).unwrap();
        stdin.flush().unwrap();
    }

    /// Asserts the process was cut within 2 s of `event` and printed `says`.
    pub async fn assert_cut_after(&mut self, event: &str, says: &str) {
        assert!(
            self.exited_within(Duration::from_secs(2)).await.is_some(),
            "still connected 2 s after {event}"
        );
        assert!(self.text().contains(says), "{}", self.text());
    }

    /// Waits for the process to end; its exit code. Once it returns, `text()` holds
    /// everything the process wrote: the reader threads may lag behind the exit on a
    /// loaded machine, so their EOF is awaited too.
    pub async fn exited_within(&mut self, limit: Duration) -> Option<Option<i32>> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                while !self
                    .readers
                    .iter()
                    .all(std::thread::JoinHandle::is_finished)
                {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                return Some(status.code());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
