//! Group commit keeps durability: under a load of concurrent writes the server is
//! killed with SIGKILL, restarted, and every write that had been answered with success
//! is in the database.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_support-access");

fn database_url(dir: &Path) -> String {
    format!("sqlite://{}/sa.db", dir.display())
}

fn admin(dir: &Path, args: &[&str]) {
    let out = Command::new(BIN)
        .args(["--database-url", &database_url(dir), "admin"])
        .args(args)
        .env_remove("SUPPORT_ACCESS_MASTER_KEY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server on a free port; returns it with its base URL.
fn serve(dir: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["--database-url", &database_url(dir)])
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--ssh-listen",
            "127.0.0.1:0",
        ])
        .env_remove("SUPPORT_ACCESS_MASTER_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(rest) = line.strip_prefix("support-access listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    (child, base)
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    /// Logs in; returns the token and the login body.
    async fn login(&self, domain: &str, user: &str, password: &str) -> (String, Value) {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "password": password, "domain": {"name": domain}}}},
            "scope": {"domain": {"name": domain}}}});
        let res = self
            .http
            .post(format!("{}/v3/auth/tokens", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 201);
        let token = res.headers()["x-subject-token"]
            .to_str()
            .unwrap()
            .to_owned();
        (token, res.json().await.unwrap())
    }

    /// Status and body, or `None` if the server did not answer.
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Value,
    ) -> Option<(u16, Value)> {
        let res = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .header("X-Auth-Token", token)
            .json(&body)
            .send()
            .await
            .ok()?;
        let status = res.status().as_u16();
        Some((status, res.json().await.ok()?))
    }
}

fn raise_body(customer: &str, submitter: &str, n: usize) -> Value {
    json!({"customer_id": customer, "x_customer_id": submitter, "incident_id": format!("CS-{n}"),
        "simple_description": "crash test", "auth_describe": "durability", "resource_type_id": "1",
        "visit_type_id": "1", "content_type_id": "1",
        "details": [{"type": 1, "instance_id": "ecs-1", "host": "10.0.0.1", "port": 22}]})
}

/// What the load saw acknowledged.
#[derive(Default)]
struct Acknowledged {
    raised: Vec<String>,
    rejected: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    admin(d, &["domain", "create", "--name", "acme"]);
    admin(
        d,
        &[
            "user",
            "create",
            "--domain",
            "acme",
            "--name",
            "bob",
            "--password",
            "bob-password-1",
        ],
    );
    admin(
        d,
        &[
            "engineer",
            "create",
            "--name",
            "eve",
            "--password",
            "eve-password-1",
        ],
    );

    let (mut server, base) = serve(d);
    let client = Arc::new(Client {
        http: support_access::tls::http_client().build().unwrap(),
        base,
    });
    let (bob, login) = client.login("acme", "bob", "bob-password-1").await;
    let (eve, _) = client.login("provider", "eve", "eve-password-1").await;
    let customer = login["token"]["domain"]["id"].as_str().unwrap().to_owned();
    let submitter = login["token"]["user"]["id"].as_str().unwrap().to_owned();

    // Writers: each raises a request and rejects it, over and over, until the kill.
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let (client, acked) = (client.clone(), acked.clone());
            let (bob, eve) = (bob.clone(), eve.clone());
            let body = raise_body(&customer, &submitter, w);
            tokio::spawn(async move {
                loop {
                    let Some((201, raised)) = client
                        .call("POST", "/provider/v1/authorizations", &eve, body.clone())
                        .await
                    else {
                        return;
                    };
                    let id = raised["id"].as_str().unwrap().to_owned();
                    acked.lock().unwrap().raised.push(id.clone());
                    let path =
                        format!("/v2/servicerequest/authorizations/{id}/action?action_id=reject");
                    let reason = json!({"reject_reason": "crash test"});
                    match client.call("PUT", &path, &bob, reason).await {
                        Some((200, _)) => acked.lock().unwrap().rejected.push(id),
                        Some((status, body)) => panic!("reject {id}: {status} {body}"),
                        None => return,
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.kill().unwrap(); // SIGKILL: no shutdown, no final checkpoint
    server.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }

    let acked = std::mem::take(&mut *acked.lock().unwrap());
    eprintln!(
        "acknowledged before the kill: {} raises, {} rejects",
        acked.raised.len(),
        acked.rejected.len()
    );
    assert!(
        acked.rejected.len() >= 16,
        "the load was running: {} rejects",
        acked.rejected.len()
    );
    let (mut server, base) = serve(d);
    let client = Client {
        http: support_access::tls::http_client().build().unwrap(),
        base,
    };
    let (bob, _) = client.login("acme", "bob", "bob-password-1").await;
    for id in &acked.raised {
        let path = format!("/v2/servicerequest/authorizations/{id}");
        let (status, body) = client.call("GET", &path, &bob, json!({})).await.unwrap();
        assert_eq!(status, 200, "raised {id} was acknowledged but is gone");
        if acked.rejected.contains(id) {
            assert_eq!(
                body["status"], 2,
                "rejected {id} was acknowledged but is {body}"
            );
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let verify = Command::new(BIN)
        .args(["--database-url", &database_url(d), "audit", "verify"])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}
