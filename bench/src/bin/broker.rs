//! `cargo run --release -p support-access-bench --bin broker` (as root): the SSH broker
//! row. OpenSSH's `ssh` reads a 200 MiB file with `cat` over `exec`, once through the
//! broker and once straight from `sshd`, in the same run; then 100 idle interactive
//! sessions are held open through the broker and the RSS they add is measured.
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

const ACCOUNT: &str = "sabroker";
const PASSWORD: &str = "Broker-Bench-Secret-5133";
const STREAM_MIB: u64 = 200;
const IDLE_SESSIONS: usize = 100;

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
             MaxStartups 200\nMaxSessions 200\n",
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

fn ssh(key: &Path, known_hosts: &str, port: u16, user: &str) -> Command {
    let mut cmd = Command::new("ssh");
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
    .args(["-p", &port.to_string()])
    .arg(format!("{user}@127.0.0.1"));
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

    println!("broker: {STREAM_MIB} MiB over exec `cat`, best of 3");
    println!("  direct to sshd   {direct_rate:8.1} MiB/s");
    println!(
        "  through broker   {broker_rate:8.1} MiB/s   ratio {:.2} (target >= 0.5)",
        broker_rate / direct_rate
    );
    println!("  {live} idle interactive sessions add {added_mib:.1} MiB RSS (target <= 64)");
    println!(
        "{}",
        serde_json::json!({
            "broker_stream_mib_s": broker_rate,
            "direct_stream_mib_s": direct_rate,
            "ratio": broker_rate / direct_rate,
            "idle_sessions": live,
            "idle_rss_added_mib": added_mib,
        })
    );
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
