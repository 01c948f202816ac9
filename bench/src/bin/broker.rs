//! `cargo run --release -p support-access-bench --bin broker` (as root): the SSH broker
//! row. OpenSSH's `ssh` reads a 200 MiB file with `cat` over `exec`, once through the
//! broker and once straight from `sshd`, in the same run; then 100 idle interactive
//! sessions are held open through the broker and the RSS they add is measured; then
//! OpenSSH's `sftp` downloads and uploads a 1 GiB file, straight and through the broker
//! (which hashes every byte on the way), with the RSS it adds sampled throughout.
//!
//! The broker runs in this process (release build); `sshd` is Debian's, on loopback,
//! with its own config in a temp dir.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support_access::broker::{BrokerConfig, describe_host_key};
use support_access::clock::Clock;
use support_access::config::Settings;
use support_access::domain::authorization::{DetailInput, RaiseInput};
use support_access::domain::confirm::{ConfirmInput, GrantInput};
use support_access::domain::principal::CredentialKind;
use support_access::domain::secret::Secret;
use support_access::service::App;
use tokio::net::TcpListener;

// Not the tests' `sabroker`: this sets its own password, and tests may run meanwhile.
const ACCOUNT: &str = "sabench";
const PASSWORD: &str = "Broker-Bench-Secret-5133";
const STREAM_MIB: u64 = 200;
const IDLE_SESSIONS: usize = 100;
const SFTP_MIB: u64 = 1024;

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path));
}

/// The host: an account with a password (for the broker) and the engineer's key in a
/// separate authorized_keys (for the direct baseline), and the file to stream.
struct Host {
    port: u16,
    blob: PathBuf,
    child: Child,
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_host(dir: &Path, engineer_pub: &Path) -> Host {
    if !Command::new("id")
        .arg(ACCOUNT)
        .output()
        .is_ok_and(|o| o.status.success())
    {
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
    let host_key = dir.join("host_key");
    keygen(&host_key);
    let authorized = dir.join("authorized_keys");
    std::fs::copy(engineer_pub, &authorized).unwrap();
    let blob = dir.join("blob");
    run(Command::new("head")
        .args(["-c", &format!("{}", STREAM_MIB << 20), "/dev/urandom"])
        .stdout(std::fs::File::create(&blob).unwrap()));
    // The account reads the file; the host key must stay private to root.
    run(Command::new("chmod").arg("a+x").arg(dir));
    run(Command::new("chmod").arg("a+r").arg(&blob));
    let port = free_port();
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nAuthorizedKeysFile {}\n\
             PasswordAuthentication yes\nPubkeyAuthentication yes\nKbdInteractiveAuthentication no\n\
             UsePAM no\nAllowUsers {ACCOUNT}\nStrictModes no\nPrintMotd no\nLogLevel ERROR\n\
             MaxStartups 200\nMaxSessions 200\nSubsystem sftp /usr/lib/openssh/sftp-server\n",
            host_key.display(),
            dir.join("sshd.pid").display(),
            authorized.display()
        ),
    )
    .unwrap();
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut host = Host { port, blob, child };
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(host.child.try_wait().unwrap().is_none(), "sshd exited");
        std::thread::sleep(Duration::from_millis(20));
    }
    host
}

/// OpenSSH's `program` (`ssh` or `sftp`) to `port` with `key`; the destination is the
/// caller's.
fn openssh(program: &str, key: &Path, known_hosts: &str, port: u16) -> Command {
    let mut cmd = Command::new(program);
    cmd.args([
        "-F",
        "/dev/null",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "LogLevel=ERROR",
    ])
    .args(["-o", known_hosts])
    .arg("-i")
    .arg(key)
    .args([
        if program == "ssh" { "-p" } else { "-P" },
        &port.to_string(),
    ]);
    cmd
}

fn ssh(key: &Path, known_hosts: &str, port: u16, user: &str) -> Command {
    let mut cmd = openssh("ssh", key, known_hosts, port);
    cmd.arg(format!("{user}@127.0.0.1"));
    cmd
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let engineer_key = dir.path().join("id_ed25519");
    keygen(&engineer_key);
    let host = start_host(dir.path(), &engineer_key.with_extension("pub"));
    eprintln!("host up on port {}", host.port);

    let mut settings = Settings::defaults();
    settings.database_url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    // The test host is on loopback, which the default target policy refuses.
    settings.target_networks = Some("127.0.0.0/8".parse().unwrap());
    let app = support_access::server::open_app(&settings, Clock::System)
        .await
        .unwrap();
    let broker_port = start_broker(&app).await;
    let user = seed(&app, host.port, &engineer_key).await;
    eprintln!("broker on port {broker_port}, user {user}");

    let (line, _) = describe_host_key(
        &app.broker_host_key(support_access::domain::audit::Actor::system())
            .await
            .unwrap(),
    );
    let known = dir.path().join("known_hosts");
    std::fs::write(&known, format!("[127.0.0.1]:{broker_port} {line}\n")).unwrap();
    let via_broker = format!("UserKnownHostsFile={}", known.display());
    let direct = "StrictHostKeyChecking=no".to_string();

    let bytes = (STREAM_MIB << 20) as f64;
    let time = |cmd: Command| {
        let blob = host.blob.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut cmd = cmd;
                let started = Instant::now();
                let out = cmd
                    .arg(format!("cat {}", blob.display()))
                    .stdout(Stdio::piped())
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_eq!(out.stdout.len() as f64, bytes, "short stream");
                started.elapsed().as_secs_f64()
            })
            .await
            .unwrap()
        }
    };
    // Warm-up, then the better of three each, alternating.
    time(ssh(&engineer_key, &direct, host.port, ACCOUNT)).await;
    eprintln!("warmed up");
    let (mut best_direct, mut best_broker) = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        best_direct = best_direct.min(time(ssh(&engineer_key, &direct, host.port, ACCOUNT)).await);
        best_broker =
            best_broker.min(time(ssh(&engineer_key, &via_broker, broker_port, &user)).await);
    }
    let mib = STREAM_MIB as f64;
    let (direct_rate, broker_rate) = (mib / best_direct, mib / best_broker);

    let before = rss_kib();
    let mut idle = Vec::new();
    for batch in 0..IDLE_SESSIONS / 10 {
        for _ in 0..10 {
            let mut cmd = ssh(&engineer_key, &via_broker, broker_port, &user);
            cmd.arg("-tt")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null());
            idle.push(cmd.spawn().unwrap());
        }
        // Each shell is live once its prompt came back.
        for child in &mut idle[batch * 10..] {
            wait_for_prompt(child);
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let live = app.live_sessions.len();
    let added_mib = rss_kib().saturating_sub(before) as f64 / 1024.0;
    for mut child in idle {
        let _ = child.kill();
        let _ = child.wait();
    }

    let sftp = sftp_row(
        &engineer_key,
        (&direct, &via_broker),
        (host.port, broker_port),
        &user,
        dir.path(),
    )
    .await;

    println!("broker: {STREAM_MIB} MiB over exec `cat`, best of 3");
    println!("  direct to sshd   {direct_rate:8.1} MiB/s");
    println!(
        "  through broker   {broker_rate:8.1} MiB/s   ratio {:.2} (target >= 0.5)",
        broker_rate / direct_rate
    );
    println!("  {live} idle interactive sessions add {added_mib:.1} MiB RSS (target <= 64)");
    println!("broker: {SFTP_MIB} MiB over sftp, hashed on the way (SHA-256)");
    for (what, direct, broker) in [
        ("get", sftp.direct_get, sftp.broker_get),
        ("put", sftp.direct_put, sftp.broker_put),
    ] {
        println!(
            "  {what}: direct {direct:8.1} MiB/s, through broker {broker:8.1} MiB/s   ratio {:.2}",
            broker / direct
        );
    }
    println!(
        "  RSS growth during the broker transfers: {:.1} MiB (target < 64)",
        sftp.rss_growth_mib
    );
    println!(
        "{}",
        serde_json::json!({
            "broker_stream_mib_s": broker_rate,
            "direct_stream_mib_s": direct_rate,
            "ratio": broker_rate / direct_rate,
            "idle_sessions": live,
            "idle_rss_added_mib": added_mib,
            "sftp_get_ratio": sftp.broker_get / sftp.direct_get,
            "sftp_put_ratio": sftp.broker_put / sftp.direct_put,
            "sftp_broker_get_mib_s": sftp.broker_get,
            "sftp_broker_put_mib_s": sftp.broker_put,
            "sftp_rss_growth_mib": sftp.rss_growth_mib,
        })
    );
}

struct SftpRow {
    direct_get: f64,
    broker_get: f64,
    direct_put: f64,
    broker_put: f64,
    rss_growth_mib: f64,
}

/// One `sftp -b` run: its rate in MiB/s.
fn sftp_once(key: &Path, known: &str, port: u16, user: &str, batch: &Path) -> f64 {
    let started = Instant::now();
    let out = openssh("sftp", key, known, port)
        .arg("-b")
        .arg(batch)
        // sftp reads `eng:ID@host` as host `eng`, path `ID@host`: the user goes apart.
        .arg("-o")
        .arg(format!("User={user}"))
        .arg("127.0.0.1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sftp: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    SFTP_MIB as f64 / started.elapsed().as_secs_f64()
}

/// A 1 GiB download and upload over sftp, straight and through the broker; the RSS of
/// this process (the broker) is sampled every 20 ms during the broker's transfers.
async fn sftp_row(
    key: &Path,
    (direct, via_broker): (&str, &str),
    (host_port, broker_port): (u16, u16),
    user: &str,
    dir: &Path,
) -> SftpRow {
    let remote = format!("/home/{ACCOUNT}/sa-bench-1g.bin");
    run(Command::new("head")
        .args(["-c", &format!("{}", SFTP_MIB << 20), "/dev/urandom"])
        .stdout(std::fs::File::create(&remote).unwrap()));
    run(Command::new("chown").arg(ACCOUNT).arg(&remote));
    let local = dir.join("local-1g.bin");
    let get = dir.join("get.batch");
    std::fs::write(
        &get,
        format!(
            "get {remote} {}
",
            local.display()
        ),
    )
    .unwrap();
    let put = dir.join("put.batch");
    std::fs::write(
        &put,
        format!(
            "put {} {remote}
",
            local.display()
        ),
    )
    .unwrap();

    let baseline = rss_kib();
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(baseline));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                peak.fetch_max(rss_kib(), std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let (key, direct, via_broker, user) = (
        key.to_path_buf(),
        direct.to_owned(),
        via_broker.to_owned(),
        user.to_owned(),
    );
    let rates = tokio::task::spawn_blocking(move || {
        let direct_get = sftp_once(&key, &direct, host_port, ACCOUNT, &get);
        let broker_get = sftp_once(&key, &via_broker, broker_port, &user, &get);
        let direct_put = sftp_once(&key, &direct, host_port, ACCOUNT, &put);
        let broker_put = sftp_once(&key, &via_broker, broker_port, &user, &put);
        (direct_get, broker_get, direct_put, broker_put)
    })
    .await
    .unwrap();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    sampler.join().unwrap();
    let _ = std::fs::remove_file(&remote);
    let growth = peak.load(std::sync::atomic::Ordering::Relaxed) - baseline;
    SftpRow {
        direct_get: rates.0,
        broker_get: rates.1,
        direct_put: rates.2,
        broker_put: rates.3,
        rss_growth_mib: growth as f64 / 1024.0,
    }
}

fn wait_for_prompt(child: &mut Child) {
    use std::io::Read;
    let out = child.stdout.as_mut().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(2).any(|w| w == b"$ ") {
        match out.read(&mut buf) {
            Ok(n @ 1..) => seen.extend_from_slice(&buf[..n]),
            _ => panic!("an idle session ended: {}", String::from_utf8_lossy(&seen)),
        }
    }
}

async fn start_broker(app: &Arc<App>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = BrokerConfig {
        max_sessions_per_engineer: 1000,
        max_sessions_per_authorization: 1000,
        ..Default::default()
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    std::mem::forget(stop); // runs until the process ends
    support_access::broker::spawn(app.clone(), listener, config, stopped)
        .await
        .unwrap();
    port
}

/// An engineer with the key, a customer who approved the host: the SSH user name.
async fn seed(app: &Arc<App>, port: u16, key: &Path) -> String {
    let admin = app.admin(support_access::domain::audit::Actor::system());
    let engineer = admin
        .create_engineer("eve", "eve-bench-pass-1", false)
        .await
        .unwrap();
    let provider = app.domain_named("provider").await.unwrap();
    let line = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    app.admin_add_ssh_key(
        &support_access::domain::audit::Actor::system(),
        "eve",
        &line,
    )
    .await
    .unwrap();
    let domain = admin.create_domain("acme").await.unwrap();
    let bob = admin
        .create_user("acme", "bob", "bob-bench-pass-1", false)
        .await
        .unwrap();
    let eve = engineer.principal(&provider, CredentialKind::Password);
    let detail = DetailInput {
        detail_type: Some(1),
        instance_id: Some("ecs-1".into()),
        instance_name: Some("bench host".into()),
        region_id: Some("r".into()),
        host: Some("127.0.0.1".into()),
        port: Some(i64::from(port)),
    };
    let raised = app
        .raise(
            &eve,
            RaiseInput {
                customer_id: Some(domain.id.clone()),
                x_customer_id: Some(bob.id.clone()),
                incident_id: Some("CS-BENCH".into()),
                simple_description: Some("bench".into()),
                auth_describe: Some("bench".into()),
                resource_type_id: Some("1".into()),
                visit_type_id: Some("1".into()),
                content_type_id: Some("1".into()),
                content_of_auth_letter: Some("bench".into()),
                details: Some(vec![detail]),
                ..Default::default()
            },
            0,
        )
        .await
        .unwrap();
    let detail_id = raised.details[0].id;
    let grant = ConfirmInput {
        auth_detail_list: vec![GrantInput {
            auth_detail_id: Some(detail_id.0),
            port: Some(i64::from(port)),
            account: Some(ACCOUNT.into()),
            password: Some(Secret::new(PASSWORD.into())),
        }],
        ..Default::default()
    };
    let bob_p = bob.principal(&domain, CredentialKind::Password);
    app.confirm(&bob_p, None, Some(raised.id), grant)
        .await
        .unwrap();
    format!("eve:{}", detail_id.0)
}
