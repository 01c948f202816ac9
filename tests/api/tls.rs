//! HTTPS: a throwaway CA made here, the server's certificate from it, `curl --cacert`,
//! the CLI client, and a certificate reloaded on SIGHUP without dropping connections.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::helpers::{TestServer, World, password_of};

/// A certificate authority that lives for one test.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pub pem: String,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// A certificate for `names` (DNS names or IP addresses): (chain PEM, key PEM).
    pub fn issue(&self, names: &[&str]) -> (String, String) {
        let names: Vec<String> = names.iter().map(ToString::to_string).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, &names[0]);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// Writes the CA and a certificate for `names` into `dir`: (ca, cert, key) paths.
    pub fn write(&self, dir: &Path, names: &[&str]) -> (PathBuf, PathBuf, PathBuf) {
        let (cert, key) = self.issue(names);
        let paths = (
            dir.join("ca.pem"),
            dir.join("cert.pem"),
            dir.join("key.pem"),
        );
        std::fs::write(&paths.0, &self.pem).unwrap();
        std::fs::write(&paths.1, cert).unwrap();
        std::fs::write(&paths.2, key).unwrap();
        (paths.0, paths.1, paths.2)
    }
}

/// A server on HTTPS with `cert`, spoken to by a client that trusts `ca` alone.
async fn https_server(ca: &TestCa, cert: &Path, key: &Path) -> (TestServer, String) {
    https_server_with(ca, cert, key, |_| {}).await
}

async fn https_server_with(
    ca: &TestCa,
    cert: &Path,
    key: &Path,
    tweak: impl FnOnce(&mut support_access::config::Settings),
) -> (TestServer, String) {
    let (cert, key) = (cert.to_owned(), key.to_owned());
    let mut server = TestServer::start_with(|s| {
        s.tls_cert_file = Some(cert);
        s.tls_key_file = Some(key);
        tweak(s);
    })
    .await;
    server.base = server.base.replacen("http://", "https://", 1);
    server.client = trusting(ca);
    let https = server.base.clone();
    (server, https)
}

fn curl(args: &[&str]) -> std::process::Output {
    Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn https_with_a_private_ca_and_no_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("support-access test CA");
    let (ca_file, cert, key) = ca.write(dir.path(), &["127.0.0.1", "localhost"]);
    let (server, https) = https_server(&ca, &cert, &key).await;
    let http = https.replacen("https://", "http://", 1);

    let ca_arg = ca_file.to_str().unwrap().to_owned();
    let ok = tokio::task::spawn_blocking({
        let url = format!("{https}/healthz");
        move || curl(&["--cacert", &ca_arg, &url])
    })
    .await
    .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let untrusted = tokio::task::spawn_blocking({
        let url = format!("{https}/healthz");
        move || curl(&[&url])
    })
    .await
    .unwrap();
    assert!(
        !untrusted.status.success(),
        "a certificate from an unknown CA was accepted"
    );
    let plain = tokio::task::spawn_blocking(move || curl(&[&format!("{http}/healthz")]))
        .await
        .unwrap();
    assert!(
        !plain.status.success(),
        "plain HTTP was answered on the HTTPS port"
    );

    // The CLI client: trusts the CA given with --cacert, and logs in over HTTPS.
    let w = World::on(server).await;
    let (id, _) = w.raise("bob").await;
    let home = tempfile::tempdir().unwrap();
    let cli = |args: Vec<String>, stdin: String| {
        let home = home.path().to_owned();
        let https = https.clone();
        let ca_file = ca_file.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                use std::io::Write;
                let mut child = Command::new(env!("CARGO_BIN_EXE_support-access"))
                    .args(&args)
                    .args(["--endpoint", &https, "--cacert", ca_file.to_str().unwrap()])
                    .env_clear()
                    .env("HOME", home)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(stdin.as_bytes())
                    .unwrap();
                child.wait_with_output().unwrap()
            })
            .await
            .unwrap()
        }
    };
    let args = |a: &[&str]| a.iter().map(ToString::to_string).collect::<Vec<_>>();
    let login = cli(
        args(&[
            "login",
            "--domain",
            "acme",
            "--user",
            "bob",
            "--password-stdin",
        ]),
        format!("{}\n", password_of("bob")),
    )
    .await;
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let listed = cli(args(&["authorizations", "list"]), String::new()).await;
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&id));
}

/// A client that trusts `ca` alone.
fn trusting(ca: &TestCa) -> reqwest::Client {
    support_access::tls::http_client()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap()])
        .build()
        .unwrap()
}

#[tokio::test]
async fn sighup_reloads_the_certificate_and_open_connections_stay() {
    let dir = tempfile::tempdir().unwrap();
    let (old_ca, new_ca) = (TestCa::new("old CA"), TestCa::new("new CA"));
    let (_, cert, key) = old_ca.write(dir.path(), &["127.0.0.1"]);
    let (_server, https) = https_server(&old_ca, &cert, &key).await;
    let healthz = format!("{https}/healthz");

    let old_client = trusting(&old_ca);
    assert!(
        old_client
            .get(&healthz)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    assert!(trusting(&new_ca).get(&healthz).send().await.is_err());

    let (new_cert, new_key) = new_ca.issue(&["127.0.0.1"]);
    std::fs::write(&cert, new_cert).unwrap();
    std::fs::write(&key, new_key).unwrap();
    let hup = Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        // A new client, so a new connection each time.
        if trusting(&new_ca).get(&healthz).send().await.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was not served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // New connections no longer see the old certificate ...
    assert!(trusting(&old_ca).get(&healthz).send().await.is_err());
    // ... but the connection opened before the reload is still open and answering: a new
    // one would fail, since this client trusts the old CA alone.
    let again = old_client.get(&healthz).send().await.unwrap();
    assert!(again.status().is_success());
}

/// On PostgreSQL: the server's connections are encrypted exactly when the URL asks
/// (`sslmode=verify-full` in the TLS run of `.ci/run`), and a certificate from another
/// CA is refused.
#[tokio::test]
async fn postgres_connections_are_encrypted_when_the_url_asks() {
    if !crate::helpers::on_postgres_or_skip("postgres_connections_are_encrypted_when_the_url_asks")
    {
        return;
    }
    let w = World::new().await;
    let url = w.settings.database_url.clone();
    let wants_tls = url.contains("sslmode=verify-full");
    let client = crate::helpers::pg_connect(&url).await;
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl)
             FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.datname = current_database()",
            &[],
        )
        .await
        .unwrap();
    let (encrypted, plain): (i64, i64) = (row.get(0), row.get(1));
    // The server's pool holds connections besides this one.
    if wants_tls {
        assert!(
            encrypted >= 2 && plain == 0,
            "encrypted {encrypted}, plain {plain}"
        );
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other-ca.pem");
        std::fs::write(&other, TestCa::new("another CA").pem).unwrap();
        let (base, query) = url.split_once('?').unwrap();
        let query: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some(("sslrootcert", _)) => format!("sslrootcert={}", other.display()),
                _ => p.to_owned(),
            })
            .collect();
        let wrong = format!("{base}?{}", query.join("&"));
        let refused = support_access::store::postgres::PostgresStore::open(&wrong).await;
        assert!(
            refused.is_err(),
            "a server certificate from an untrusted CA was accepted"
        );
    } else {
        assert!(
            encrypted == 0 && plain >= 2,
            "encrypted {encrypted}, plain {plain}"
        );
    }
}

/// A TLS connection to `https` (its address) from a client that trusts `ca` alone.
async fn tls_connect(
    ca: &TestCa,
    https: &str,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use rustls::pki_types::pem::PemObject;
    support_access::tls::install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(ca.pem.as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(https.trim_start_matches("https://"))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap()
}

/// HTTPS runs through the same connection loop as plain HTTP: a client that never
/// finishes its TLS handshake, dribbles its headers or idles between requests is
/// disconnected after `header_read_timeout`; at most `max_connections` are served at
/// once (a handshake counts); a body declared too large is refused from the head.
#[tokio::test]
async fn https_gets_the_slow_client_protections() {
    use crate::hardening::read_until_closed;
    use tokio::io::AsyncWriteExt;

    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("support-access test CA");
    let (_, cert, key) = ca.write(dir.path(), &["127.0.0.1"]);
    let (_server, https) = https_server_with(&ca, &cert, &key, |s| {
        s.header_read_timeout = Duration::from_secs(1);
        s.max_connections = 2;
    })
    .await;
    let address = https.trim_start_matches("https://").to_owned();

    // No handshake at all: closed.
    let mut silent = tokio::net::TcpStream::connect(&address).await.unwrap();
    assert!(
        read_until_closed(&mut silent, Duration::from_secs(5))
            .await
            .is_some(),
        "a connection that never started its TLS handshake was kept open"
    );

    // Headers dribbled after the handshake: closed.
    let mut dribbler = tls_connect(&ca, &https).await;
    dribbler
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(
        read_until_closed(&mut dribbler, Duration::from_secs(5))
            .await
            .is_some(),
        "headers never finished over TLS: closed"
    );

    // Idle after an answer: closed.
    let mut idler = tls_connect(&ca, &https).await;
    idler
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = read_until_closed(&mut idler, Duration::from_secs(5)).await;
    let answered = answered.expect("an idle keep-alive TLS connection is closed");
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");

    // A declared oversized body: 413 before it is sent.
    let mut large = tls_connect(&ca, &https).await;
    large
        .write_all(
            b"POST /v3/auth/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 10000000\r\n\r\n",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut large, Duration::from_secs(5))
        .await
        .expect("answered and closed without waiting for the body");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // The limit: two connections in their handshake hold both places; a third waits.
    let held: Vec<tokio::net::TcpStream> = futures_util::future::join_all(
        (0..2).map(|_| tokio::net::TcpStream::connect(address.as_str())),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting = tokio::spawn({
        let (ca_pem, https) = (ca.pem.clone(), https.clone());
        async move {
            let client = support_access::tls::http_client()
                .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
                .build()
                .unwrap();
            let status = client.get(format!("{https}/healthz")).send().await;
            (Instant::now(), status.map(|r| r.status().as_u16()))
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "served while two connections were open"
    );
    let released = Instant::now();
    drop(held);
    let (answered_at, status) = waiting.await.unwrap();
    assert_eq!(status.unwrap(), 200);
    assert!(answered_at >= released);
}
