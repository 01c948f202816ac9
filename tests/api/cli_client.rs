//! The CLI client (`support-access authorizations ...`, `request ...`, `login`) run as a
//! separate process against a real server, with an access key from the environment
//! and with a saved login.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use support_access::domain::Status;

use crate::helpers::{World, password_of};

const BIN: &str = env!("CARGO_BIN_EXE_support-access");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

/// How the client is called: its home (for the saved login) and its environment.
struct Client {
    home: tempfile::TempDir,
    endpoint: String,
    env: Vec<(&'static str, String)>,
}

impl Client {
    fn new(w: &World) -> Client {
        Client {
            home: tempfile::tempdir().unwrap(),
            endpoint: w.base.clone(),
            env: Vec::new(),
        }
    }

    fn with_access_key(mut self, key: &support_access::service::access_keys::IssuedKey) -> Self {
        self.env
            .push(("HUAWEICLOUD_SDK_AK", key.access_key.clone()));
        self.env
            .push(("HUAWEICLOUD_SDK_SK", key.secret_key.expose().to_owned()));
        self
    }

    /// Runs the binary with `args` and `stdin`; off the async runtime, since it blocks.
    async fn run(&self, args: &[&str], stdin: &str) -> Run {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env_clear()
            .env("HOME", self.home.path())
            .env("SUPPORT_ACCESS_ENDPOINT", &self.endpoint)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let stdin = stdin.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(stdin.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            Run {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        })
        .await
        .unwrap()
    }

    async fn ok(&self, args: &[&str], stdin: &str) -> Run {
        let run = self.run(args, stdin).await;
        assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
        run
    }
}

#[tokio::test]
async fn customers_list_show_confirm_and_cancel_with_an_access_key() {
    let w = World::new().await;
    // The CLI signs with the real time, and a signature is checked against the server's
    // clock (±15 min), which test servers start at a fixed instant: bring it to now.
    w.app
        .clock
        .advance(jiff::Timestamp::now().duration_since(w.app.clock.now()));
    let bob_key = w.admin().create_access_key("acme", "bob").await.unwrap();
    let bob = Client::new(&w).with_access_key(&bob_key);
    let (id, details) = w.raise("bob").await;
    let (other, _) = w.raise("bob").await;

    let listed = bob
        .ok(
            &[
                "authorizations",
                "list",
                "--status",
                "pending",
                "--output",
                "json",
            ],
            "",
        )
        .await
        .json();
    assert_eq!(listed["count"], 2);
    let ids: Vec<&str> = listed["incident_auth_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id.as_str()) && ids.contains(&other.as_str()));

    let table = bob.ok(&["authorizations", "list"], "").await.stdout;
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("ID"), "{table}");
    let row = lines
        .find(|l| l.starts_with(&id))
        .expect("the request is listed");
    assert!(
        row.contains("pending") && row.contains("CS-TEST-1"),
        "{row}"
    );

    let shown = bob
        .ok(&["authorizations", "show", &id, "--output", "json"], "")
        .await
        .json();
    assert_eq!(shown["id"], id.as_str());
    let shown = bob.ok(&["authorizations", "show", &id], "").await.stdout;
    assert!(
        shown.contains("pending") && shown.contains("db-1"),
        "{shown}"
    );

    let host_password = "cli-host-Pw-7731x";
    let detail = details[0].to_string();
    let confirm = [
        "authorizations",
        "confirm",
        &id,
        "--detail",
        &detail,
        "--account",
        "backup",
        "--window",
        "2h",
        "--password-stdin",
    ];
    let run = bob.ok(&confirm, &format!("{host_password}\n")).await;
    assert!(!run.stdout.contains(host_password) && !run.stderr.contains(host_password));
    assert_eq!(w.status(&id).await, Status::Authorized);
    let shown = bob
        .ok(&["authorizations", "show", &id, "--output", "json"], "")
        .await
        .json();
    assert_eq!(shown["incident_auth_detail_list"][0]["account"], "backup");
    let window = shown["auth_expire_time"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        - shown["auth_effective_time"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap();
    assert_eq!(window.as_hours(), 2);

    bob.ok(&["authorizations", "cancel", &id], "").await;
    assert_eq!(w.status(&id).await, Status::Canceled);
    bob.ok(
        &["authorizations", "reject", &other, "--reason", "not now"],
        "",
    )
    .await;
    assert_eq!(w.status(&other).await, Status::Rejected);

    // An API error: exit 1, the code and message on stderr, nothing on stdout.
    // (Not the same cancel again: an identical signed write within the same second
    // carries the same signature, which the server refuses as a replay.)
    let again = bob
        .run(&["authorizations", "reject", &id, "--reason", "late"], "")
        .await;
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(again.stderr.contains("OSM.01010102"), "{}", again.stderr);
    assert!(again.stdout.is_empty());
    let wrong_secret = Client {
        env: vec![
            ("HUAWEICLOUD_SDK_AK", bob_key.access_key.clone()),
            ("HUAWEICLOUD_SDK_SK", "not-the-secret".into()),
        ],
        ..Client::new(&w)
    };
    let refused = wrong_secret.run(&["authorizations", "list"], "").await;
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("APIGW.0301"), "{}", refused.stderr);
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let w = World::new().await;
    let nobody = Client::new(&w);
    let run = nobody.run(&["authorizations", "list"], "").await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("not logged in"), "{}", run.stderr);
    let run = nobody
        .run(&["authorizations", "list", "--status", "maybe"], "")
        .await;
    assert_eq!(run.code, 2);
    let run = nobody
        .run(&["authorizations", "list", "--endpoint", "ftp://x"], "")
        .await;
    assert_eq!(run.code, 2);
    // No terminal to prompt on and no --password-stdin.
    let run = nobody
        .run(&["login", "--domain", "acme", "--user", "bob"], "")
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[tokio::test]
async fn login_keeps_a_private_token_that_later_commands_use() {
    let w = World::new().await;
    let (id, _) = w.raise("bob").await;
    let bob = Client::new(&w);
    let bob_password = password_of("bob");
    let wrong = bob
        .run(
            &[
                "login",
                "--domain",
                "acme",
                "--user",
                "bob",
                "--password-stdin",
            ],
            "nope\n",
        )
        .await;
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    let login = [
        "login",
        "--domain",
        "acme",
        "--user",
        "bob",
        "--password-stdin",
    ];
    let run = bob.ok(&login, &format!("{bob_password}\n")).await;
    assert!(!run.stdout.contains(&bob_password) && !run.stderr.contains(&bob_password));
    let saved = bob.home.path().join(".config/support-access/login.json");
    assert_mode(&saved, 0o600);
    assert_mode(saved.parent().unwrap(), 0o700);
    assert!(
        !std::fs::read_to_string(&saved)
            .unwrap()
            .contains(&bob_password)
    );

    let listed = bob
        .ok(&["authorizations", "list", "--output", "json"], "")
        .await
        .json();
    assert_eq!(listed["incident_auth_list"][0]["id"], id.as_str());
    bob.ok(
        &[
            "authorizations",
            "reject",
            &id,
            "--reason",
            "use the runbook",
        ],
        "",
    )
    .await;
    assert_eq!(w.status(&id).await, Status::Rejected);

    // Another endpoint is another server: the token is not sent there.
    let elsewhere = Client {
        endpoint: "http://127.0.0.1:9".into(),
        ..Client::new(&w)
    };
    std::fs::create_dir_all(elsewhere.home.path().join(".config/support-access")).unwrap();
    std::fs::copy(
        &saved,
        elsewhere
            .home
            .path()
            .join(".config/support-access/login.json"),
    )
    .unwrap();
    assert_eq!(elsewhere.run(&["authorizations", "list"], "").await.code, 2);

    bob.ok(&["logout"], "").await;
    assert!(!saved.exists());
    assert_eq!(bob.run(&["authorizations", "list"], "").await.code, 2);
}

#[tokio::test]
async fn engineers_raise_list_and_recall() {
    let w = World::new().await;
    let eng = Client::new(&w);
    let login = [
        "login",
        "--domain",
        "provider",
        "--user",
        "eng",
        "--password-stdin",
    ];
    eng.ok(&login, &format!("{}\n", password_of("eng"))).await;
    let file = eng.home.path().join("request.json");
    let body = json!({
        "customer_id": w.ids["acme"], "x_customer_id": w.ids["bob"], "incident_id": "CS-CLI-1",
        "simple_description": "backup fails", "auth_describe": "read the logs",
        "resource_type_id": "1", "visit_type_id": "1", "content_type_id": "1",
        "details": [{"type": 1, "instance_id": "ecs-1", "instance_name": "db-1",
                     "region_id": "cn-south-1", "host": "10.0.0.4", "port": 22}]});
    std::fs::write(&file, body.to_string()).unwrap();
    let raised = eng
        .ok(
            &[
                "request",
                "raise",
                "--file",
                file.to_str().unwrap(),
                "--output",
                "json",
            ],
            "",
        )
        .await
        .json();
    let id = raised["id"].as_str().unwrap().to_owned();
    assert_eq!(w.status(&id).await, Status::Pending);
    let listed = eng
        .ok(&["request", "list", "--status", "pending"], "")
        .await
        .stdout;
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&id) && l.contains("CS-CLI-1")),
        "{listed}"
    );
    eng.ok(&["request", "recall", &id], "").await;
    assert_eq!(w.status(&id).await, Status::Recalled);

    // A customer's token is refused on the provider API.
    let bob = Client::new(&w);
    bob.ok(
        &[
            "login",
            "--domain",
            "acme",
            "--user",
            "bob",
            "--password-stdin",
        ],
        &format!("{}\n", password_of("bob")),
    )
    .await;
    let refused = bob.run(&["request", "list"], "").await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("OSM.01010002"),
        "{}",
        refused.stderr
    );
}

fn assert_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let actual = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(actual, mode, "{}", path.display());
}
