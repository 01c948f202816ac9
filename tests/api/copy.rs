//! `support-access db copy`: a populated SQLite installation copied into PostgreSQL
//! answers the same requests with the same responses, logins and access keys included,
//! and goes on working from there.

use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{
    PgDatabase, TestServer, World, on_postgres_or_skip, password_of, postgres_url,
};
use crate::signing::Signer;

const BIN: &str = env!("CARGO_BIN_EXE_support-access");

/// What the populated installation holds that the test asks about again.
struct History {
    /// (user, path) of GET requests to compare.
    requests: Vec<(&'static str, String)>,
    /// Authorized, so it holds a sealed host password.
    granted: String,
    pending: String,
}

/// History in every table: a canceled authorization with a recorded session, an
/// authorized one, a rejected one in another domain, a recalled one and a pending one.
async fn populate(w: &World) -> History {
    let (worked, details) = w.raise("bob").await;
    assert_eq!(w.confirm("bob", &worked, &details).await.status, 200);
    let sessions = format!(
        "/provider/v1/authorizations/{worked}/details/{}/sessions",
        details[0]
    );
    let sid = w
        .call("POST", &sessions, Some(w.token("eng")), None)
        .await
        .body["session_id"]
        .as_i64()
        .unwrap();
    let ops = json!({"operations": [{"oper": "df -h", "operate_time": "2026-11-28T12:00:00Z"}]});
    let files = json!({"file_transfers": [{"operate_type": "download", "file_name": "a.log",
        "from_path": "/var/log", "to_path": "/tmp", "file_size_bytes": 42, "duration_ms": 7,
        "oper_result": "success", "operate_time": "2026-11-28T12:01:00Z"}]});
    for (kind, body) in [
        ("operations", ops),
        ("file-transfers", files),
        ("close", json!({})),
    ] {
        let path = format!("{sessions}/{sid}/{kind}");
        let r = w
            .call("POST", &path, Some(w.token("eng")), Some(body))
            .await;
        assert_eq!(r.status, 200, "{}", r.raw);
    }
    assert_eq!(w.act("bob", &worked, "cancel", json!({})).await.status, 200);

    let (granted, granted_details) = w.raise("carol").await;
    assert_eq!(
        w.confirm("carol", &granted, &granted_details).await.status,
        200
    );
    let (rejected, _) = w.raise("gus").await;
    let reason = json!({"reject_reason": "not now"});
    assert_eq!(w.act("gina", &rejected, "reject", reason).await.status, 200);
    let (recalled, _) = w.raise("dave").await;
    assert_eq!(w.recall("eng", &recalled).await.status, 200);
    let (pending, _) = w.raise("bob").await;

    let customer = "/v2/servicerequest/authorizations";
    let host = format!("{customer}/{worked}/authorization-details/{}", details[0]);
    let mut requests = vec![
        ("alice", customer.to_owned()),
        ("bob", customer.to_owned()),
        ("carol", format!("{customer}?group_id={}", w.ids["ops"])),
        ("gina", format!("{customer}?status=2")),
        ("bob", format!("{customer}/login-type")),
        ("lead", "/provider/v1/authorizations".to_owned()),
        ("eng", format!("/provider/v1/authorizations/{granted}")),
        ("gina", format!("{customer}/{rejected}")),
        ("bob", format!("{host}/history-sessions")),
        ("bob", format!("{host}/sessions/{sid}/operation-logs")),
        ("bob", format!("{host}/sessions/{sid}/operation-file-logs")),
    ];
    for id in [&worked, &granted, &recalled, &pending] {
        requests.push(("alice", format!("{customer}/{id}")));
    }
    History {
        requests,
        granted,
        pending,
    }
}

async fn answers(w: &World, requests: &[(&'static str, String)]) -> Vec<(u16, Value)> {
    let mut out = Vec::new();
    for (user, path) in requests {
        let r = w.call("GET", path, Some(w.token(user)), None).await;
        assert_eq!(r.status, 200, "{user} GET {path}: {}", r.raw);
        out.push((r.status, r.body));
    }
    out
}

#[tokio::test]
async fn a_copied_installation_answers_the_same() {
    if !on_postgres_or_skip("a_copied_installation_answers_the_same") {
        return;
    }
    let before = World::on(TestServer::start_on(None, |_| {}).await).await;
    let history = populate(&before).await;
    let expected = answers(&before, &history.requests).await;
    let bob_key = before
        .admin()
        .create_access_key("acme", "bob")
        .await
        .unwrap();
    let signed = "/v2/servicerequest/authorizations?status=1";
    let signed_before = Signer::new(&before, &bob_key)
        .send("GET", signed, None)
        .await;
    assert_eq!(signed_before.status, 200, "{}", signed_before.raw);

    let target = PgDatabase::create(&postgres_url().unwrap()).await;
    let copy = Command::new(BIN)
        .env_remove("SUPPORT_ACCESS_DATABASE_URL")
        .args(["db", "copy", "--output", "json", "--from"])
        .arg(&before.settings.database_url)
        .args(["--to", &target.url])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&copy.stdout);
    assert!(
        copy.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&copy.stderr)
    );
    let report: Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(report["result"], "ok");
    assert_eq!(report["rows"]["authorizations"], 5);
    assert_eq!(report["rows"]["session_operations"], 1);

    let master_key = before.settings.master_key_file.clone();
    let server = TestServer::start_on(Some(target), |s| s.master_key_file = master_key).await;
    let after = before.sharing(server);
    assert_eq!(
        answers(&after, &history.requests).await,
        expected,
        "same tokens, same answers"
    );

    for (domain, user) in [("acme", "alice"), ("globex", "gus"), ("provider", "lead")] {
        after.login(domain, user, &password_of(user)).await;
    }
    let signed_after = Signer::new(&after, &bob_key)
        .send("GET", signed, None)
        .await;
    assert_eq!(
        (signed_after.status, signed_after.body),
        (200, signed_before.body),
        "the access key and its sealed secret key work on the copy"
    );
    let sealed = "SELECT password_ciphertext FROM authorization_details \
                  WHERE authorization_id = $1 AND password_ciphertext IS NOT NULL";
    let granted: i64 = history.granted.parse().unwrap();
    let sealed_before = before.stored_bytes(sealed, granted).await;
    assert_eq!(after.stored_bytes(sealed, granted).await, sealed_before);
    assert_eq!(after.audit_events().await, before.audit_events().await);

    // The copy is live: actions continue its audit chains, and its list totals.
    assert_eq!(after.recall("eng", &history.pending).await.status, 200);
    assert!(after.audit_verifies().await);
    for status in 0..=5 {
        let path = format!("/v2/servicerequest/authorizations?status={status}&limit=100");
        let r = after
            .call("GET", &path, Some(after.token("alice")), None)
            .await;
        let rows = r.body["incident_auth_list"].as_array().unwrap().len();
        assert_eq!(r.body["count"], rows, "{path}");
    }
}
