//! Expiry by the sweeper, driven by the test clock: pending past its TTL and
//! authorized past its window become `expired`, and credentials are purged.

use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use serde_json::json;

use support_access::domain::{AuthorizationId, Scope};

use crate::helpers::{TestServer, World, on_postgres_or_skip};

/// Host details of `id` that still hold an (encrypted) credential.
async fn stored_credentials(w: &World, id: &str) -> usize {
    let all = Scope::Provider { raised_by: None };
    let auth = w
        .app
        .store_for_inspection()
        .get_authorization(&all, authorization_id(id))
        .await;
    let details = auth.unwrap().unwrap().details;
    details.iter().filter(|d| d.has_credential).count()
}

/// (kind, note) of the audit events about `id`, in order.
async fn audit_notes(w: &World, id: &str) -> Vec<(String, String)> {
    let id = Some(authorization_id(id));
    let chains = w.app.audit_chains().await.unwrap();
    chains
        .iter()
        .flat_map(|c| &c.events)
        .filter(|e| e.draft.authorization_id == id)
        .map(|e| (e.draft.kind.clone(), e.draft.note.clone()))
        .collect()
}

fn authorization_id(id: &str) -> AuthorizationId {
    AuthorizationId(id.parse().unwrap())
}

#[tokio::test]
async fn pending_requests_expire_after_their_ttl() {
    let w = World::new().await;
    let (id, _) = w.raise("bob").await;
    w.app.clock.advance(SignedDuration::from_hours(71));
    assert_eq!(w.app.sweep_once().await.unwrap(), 0);
    assert_eq!(w.status(&id).await.code(), 0);
    w.app.clock.advance(SignedDuration::from_hours(2));
    assert_eq!(w.app.sweep_once().await.unwrap(), 1);
    assert_eq!(w.status(&id).await.code(), 3);
    assert_eq!(audit_notes(&w, &id).await.last().unwrap().0, "expire");
    let r = w.act("bob", &id, "reject", json!({})).await;
    assert_eq!(r.status, 409, "final status");
}

#[tokio::test]
async fn authorized_windows_expire_and_purge_credentials() {
    let w = World::new().await;
    let (id, details) = w.raise("bob").await;
    assert_eq!(w.confirm("bob", &id, &details).await.status, 200);
    assert_eq!(
        stored_credentials(&w, &id).await,
        1,
        "the host password is stored (encrypted)"
    );
    let raw = w
        .stored_bytes(
            "SELECT password_ciphertext FROM authorization_details WHERE id = $1",
            details[0],
        )
        .await;
    assert!(
        !raw.windows(b"host-pw-Qq93".len())
            .any(|s| s == b"host-pw-Qq93"),
        "never in plain text"
    );

    let sessions = format!(
        "/provider/v1/authorizations/{id}/details/{}/sessions",
        details[0]
    );
    let sid = w
        .call("POST", &sessions, Some(w.token("eng")), None)
        .await
        .body["session_id"]
        .as_i64()
        .unwrap();

    w.app.clock.advance(SignedDuration::from_hours(25));
    assert_eq!(w.app.sweep_once().await.unwrap(), 1);
    assert_eq!(w.status(&id).await.code(), 3);
    assert_eq!(
        stored_credentials(&w, &id).await,
        0,
        "credentials are gone from the database"
    );
    let (kind, note) = audit_notes(&w, &id).await.last().unwrap().clone();
    assert_eq!(kind, "expire");
    assert_eq!(
        note, "credentials_purged=1 sessions_closed=1",
        "the purge is recorded"
    );

    // The session was closed; nothing more can be recorded or opened.
    let ops = json!({"operations": [{"oper": "ls", "operate_time": "2026-11-28T12:00:00Z"}]});
    let r = w
        .call(
            "POST",
            &format!("{sessions}/{sid}/operations"),
            Some(w.token("eng")),
            Some(ops),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "OSM.01010102"));
    assert_eq!(
        w.call("POST", &sessions, Some(w.token("eng")), None)
            .await
            .status,
        409
    );
    assert!(w.audit_verifies().await);
}

#[tokio::test]
async fn sessions_open_only_inside_the_window() {
    let w = World::new().await;
    let (id, details) = w.raise("bob").await;
    let sessions = format!(
        "/provider/v1/authorizations/{id}/details/{}/sessions",
        details[0]
    );
    assert_eq!(
        w.call("POST", &sessions, Some(w.token("eng")), None)
            .await
            .status,
        409,
        "pending"
    );
    let later = (w.app.clock.now() + SignedDuration::from_hours(2)).as_millisecond();
    let mut grant = World::grant(&details, "p");
    grant["auth_effective_time"] = json!(later);
    let r = w
        .call(
            "PUT",
            &format!("/v2/servicerequest/authorizations/{id}"),
            Some(w.token("bob")),
            Some(grant),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(
        w.call("POST", &sessions, Some(w.token("eng")), None)
            .await
            .status,
        409,
        "not yet effective"
    );
    w.app.clock.advance(SignedDuration::from_hours(3));
    assert_eq!(
        w.call("POST", &sessions, Some(w.token("eng")), None)
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn the_background_sweeper_runs_on_its_own() {
    let server = TestServer::start_with(|s| s.sweep_interval = Duration::from_millis(50)).await;
    let w = World::on(server).await;
    let (id, _) = w.raise("bob").await;
    w.app.clock.advance(SignedDuration::from_hours(80));
    for _ in 0..100 {
        if w.status(&id).await.code() == 3 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the sweeper did not expire the request within 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_sweeping_expire_each_due_authorization_once() {
    if !on_postgres_or_skip("two_instances_sweeping_expire_each_due_authorization_once") {
        return;
    }
    let first = Arc::new(World::new().await);
    let second = first.start_twin().await;
    let mut raising = Vec::new();
    for lane in 0..8 {
        let w = first.clone();
        raising.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..125 {
                ids.push(w.raise(if lane % 2 == 0 { "bob" } else { "gus" }).await.0);
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for r in raising {
        ids.extend(r.await.unwrap());
    }
    assert_eq!(ids.len(), 1000);
    for app in [&first.app, &second.app] {
        app.clock.advance(SignedDuration::from_hours(73));
    }
    // Two sweeps on each instance, all at once.
    let (a, b, c, d) = tokio::join!(
        first.app.sweep_once(),
        second.app.sweep_once(),
        first.app.sweep_once(),
        second.app.sweep_once()
    );
    let swept: Vec<u64> = [a, b, c, d].into_iter().map(Result::unwrap).collect();
    assert_eq!(
        swept.iter().sum::<u64>(),
        1000,
        "each expired once: {swept:?}"
    );

    let chains = first.app.audit_chains().await.unwrap();
    let mut expired: Vec<_> = chains
        .iter()
        .flat_map(|c| &c.events)
        .filter(|e| e.draft.kind == "expire")
        .map(|e| e.draft.authorization_id.unwrap().0.to_string())
        .collect();
    expired.sort();
    ids.sort();
    assert_eq!(expired, ids, "one expire event per authorization");
    assert!(chains.iter().all(|c| c.verify().is_ok()));
    for id in ids.iter().step_by(97) {
        assert_eq!(first.status(id).await.code(), 3);
    }
}
