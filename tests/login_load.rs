//! Login load against the real binary: a thousand concurrent wrong-password logins
//! must neither inflate the server's memory nor stall other routes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_support-access");
const CONCURRENT_LOGINS: usize = 1000;
const RSS_CEILING_KIB: u64 = 200 * 1024;
/// The typical (median) read during the load; the CI machine is shared, so single reads
/// are only held to a generous functional bound.
const SHOW_DEADLINE: Duration = Duration::from_millis(100);
const SHOW_FUNCTIONAL_BOUND: Duration = Duration::from_secs(1);

/// `serve --demo` on a free port; killed on drop.
struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(BIN)
            .current_dir(dir.path())
            .env_remove("SUPPORT_ACCESS_DATABASE_URL")
            .env_remove("SUPPORT_ACCESS_MASTER_KEY")
            .env("RUST_LOG", "warn")
            .args([
                "serve",
                "--demo",
                "--listen",
                "127.0.0.1:0",
                "--ssh-listen",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the server printed its address")
                .unwrap();
            if let Some(rest) = line.strip_prefix("support-access listening on ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        Server {
            child,
            base,
            _dir: dir,
        }
    }

    /// A line of `/proc/PID/status`, in KiB.
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with(field))
            .unwrap_or_else(|| panic!("{field} in /proc status"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn login_body(user: &str, password: &str) -> Value {
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "password": password, "domain": {"name": "acme"}}}},
        "scope": {"domain": {"name": "acme"}}}})
}

/// The reads run on the test's own runtime with their own connection; the logins on a
/// runtime of their own, so the load generator's backlog is not counted as the server's.
#[tokio::test]
async fn a_thousand_failed_logins_keep_memory_bounded_and_reads_answering() {
    let server = Server::start();
    let client = support_access::tls::http_client().build().unwrap();
    let res = client
        .post(format!("{}/v3/auth/tokens", server.base))
        .json(&login_body("alice", "alice-demo-pass"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let token = res.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let list: Value = client
        .get(format!("{}/v2/servicerequest/authorizations", server.base))
        .header("X-Auth-Token", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["incident_auth_list"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let show_url = format!("{}/v2/servicerequest/authorizations/{id}", server.base);

    let load = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let attacker = support_access::tls::http_client().build().unwrap();
    let logins: Vec<_> = (0..CONCURRENT_LOGINS)
        .map(|i| {
            let client = attacker.clone();
            let url = format!("{}/v3/auth/tokens", server.base);
            // Known and unknown user names: both cost a hash.
            let user = if i % 2 == 0 {
                "bob".to_owned()
            } else {
                format!("nobody{i}")
            };
            load.spawn(async move {
                let res = client
                    .post(url)
                    .json(&login_body(&user, "wrong-password"))
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let retry_after = res.headers().contains_key("retry-after");
                let body: Value = res.json().await.unwrap_or(Value::Null);
                (status, retry_after, body)
            })
        })
        .collect();

    // Reads issued while the logins are in flight, and the server's memory meanwhile.
    let mut show_latencies = Vec::new();
    let mut peak_rss = 0;
    while logins.iter().any(|l| !l.is_finished()) {
        let started = Instant::now();
        let res = client
            .get(&show_url)
            .header("X-Auth-Token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        show_latencies.push(started.elapsed());
        peak_rss = peak_rss.max(server.status_kib("VmRSS:"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut outcomes = std::collections::BTreeMap::<u16, usize>::new();
    for login in logins {
        let (status, retry_after, body) = login.await.unwrap();
        *outcomes.entry(status).or_default() += 1;
        match status {
            401 => {}
            429 | 503 => {
                assert!(retry_after, "{status} carries Retry-After");
                assert!(
                    body["error_code"].is_string(),
                    "{status} has the error body"
                );
            }
            other => panic!("login answered {other}: {body}"),
        }
    }
    load.shutdown_background();
    let peak_hwm = server.status_kib("VmHWM:");
    show_latencies.sort();
    let slowest_show = show_latencies.last().copied().unwrap_or_default();
    let median_show = show_latencies
        .get(show_latencies.len() / 2)
        .copied()
        .unwrap_or_default();
    eprintln!(
        "logins {outcomes:?}; peak RSS {} MiB (VmHWM {} MiB); {} shows, median {median_show:?}, slowest {slowest_show:?}",
        peak_rss / 1024,
        peak_hwm / 1024,
        show_latencies.len()
    );
    assert!(
        peak_hwm < RSS_CEILING_KIB,
        "peak RSS {} MiB is over the ceiling",
        peak_hwm / 1024
    );
    assert!(!show_latencies.is_empty(), "a show ran during the load");
    assert!(
        median_show < SHOW_DEADLINE,
        "shows during the load took {median_show:?} (median)"
    );
    assert!(
        slowest_show < SHOW_FUNCTIONAL_BOUND,
        "a show during the load took {slowest_show:?}"
    );
    // The attempts that were hashed failed as they should; nothing was lost.
    assert!(outcomes.get(&401).copied().unwrap_or(0) > 0, "{outcomes:?}");
}
