//! `Idempotency-Key` on the provider's raise and its appends: a retry gets the first
//! answer again and writes nothing; another request under a used key is refused.

use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::helpers::{Resp, World};

fn raise_body(incident: &str, w: &World) -> Value {
    json!({
        "customer_id": w.ids["acme"], "x_customer_id": w.ids["bob"],
        "incident_id": incident, "simple_description": "disk full",
        "auth_describe": "clean logs", "resource_type_id": "1", "visit_type_id": "1",
        "content_type_id": "1", "content_of_auth_letter": "I promise.",
        "details": [{"type": 0, "instance_id": "console"}]
    })
}

/// A POST as `user` with `Idempotency-Key: key`, to `w`'s server.
async fn keyed(w: &World, user: &str, path: &str, key: &str, body: Option<Value>) -> Resp {
    let mut req = w
        .client
        .post(format!("{}{path}", w.base))
        .header("X-Auth-Token", w.token(user))
        .header("Idempotency-Key", key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    w.send(req).await
}

async fn count_raised(w: &World, engineer: &str) -> u64 {
    let r = w
        .call(
            "GET",
            "/provider/v1/authorizations",
            Some(w.token(engineer)),
            None,
        )
        .await;
    r.body["count"].as_u64().unwrap()
}

#[tokio::test]
async fn a_retried_raise_gets_the_first_answer_and_raises_once() {
    let w = World::new().await;
    let path = "/provider/v1/authorizations";
    let body = raise_body("CS-IDEM-1", &w);
    let first = keyed(&w, "eng", path, "raise-1", Some(body.clone())).await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let again = keyed(&w, "eng", path, "raise-1", Some(body.clone())).await;
    assert_eq!(
        (again.status, &again.raw),
        (201, &first.raw),
        "the same status and body"
    );
    assert_eq!(count_raised(&w, "eng").await, 1);

    // The key with another request: refused, nothing written.
    let other = keyed(
        &w,
        "eng",
        path,
        "raise-1",
        Some(raise_body("CS-IDEM-2", &w)),
    )
    .await;
    assert_eq!(
        (other.status, other.code()),
        (422, "OSM.01010105"),
        "{}",
        other.raw
    );
    assert!(other.msg().contains("Idempotency-Key"), "{}", other.raw);
    assert_eq!(count_raised(&w, "eng").await, 1);

    // Keys are the caller's own: another engineer's same key is another request.
    let theirs = keyed(&w, "eng2", path, "raise-1", Some(body.clone())).await;
    assert_eq!(theirs.status, 201, "{}", theirs.raw);
    assert_ne!(theirs.body["id"], first.body["id"]);

    // A refused request keeps no answer: the corrected retry runs.
    let mut broken = body.clone();
    broken["incident_id"] = json!("");
    let refused = keyed(&w, "eng", path, "raise-2", Some(broken)).await;
    assert_eq!(refused.status, 400, "{}", refused.raw);
    let fixed = keyed(
        &w,
        "eng",
        path,
        "raise-2",
        Some(raise_body("CS-IDEM-3", &w)),
    )
    .await;
    assert_eq!(fixed.status, 201, "{}", fixed.raw);
    assert_eq!(count_raised(&w, "eng").await, 2);

    // A key that is not one is refused in the API's error format.
    let bad = keyed(&w, "eng", path, &"k".repeat(256), Some(body.clone())).await;
    assert_eq!(
        (bad.status, bad.code()),
        (400, "OSM.01010001"),
        "{}",
        bad.raw
    );

    // Kept for a day, then pruned by the sweeper's pass: the key is free again.
    w.app.clock.advance(SignedDuration::from_hours(25));
    assert!(w.app.forget_idempotency_keys().await.unwrap() >= 3);
    let later = keyed(
        &w,
        "eng",
        path,
        "raise-1",
        Some(raise_body("CS-IDEM-4", &w)),
    )
    .await;
    assert_eq!(later.status, 201, "{}", later.raw);
}

#[tokio::test]
async fn concurrent_identical_requests_write_once_on_every_instance() {
    let w = World::new().await;
    let twin = w.sharing(w.start_twin().await);
    let path = "/provider/v1/authorizations";
    let body = raise_body("CS-IDEM-RACE", &w);
    let answers = futures_util::future::join_all((0..8).map(|i| {
        let server = if i % 2 == 0 { &w } else { &twin };
        keyed(server, "eng", path, "race-1", Some(body.clone()))
    }))
    .await;
    for a in &answers {
        assert_eq!(
            (a.status, &a.raw),
            (201, &answers[0].raw),
            "every copy gets the one answer"
        );
    }
    assert_eq!(count_raised(&w, "eng").await, 1, "one write");
    assert!(w.audit_verifies().await);
}

#[tokio::test]
async fn retried_appends_record_once() {
    let w = World::new().await;
    let (id, details) = w.raise("bob").await;
    assert_eq!(w.confirm("bob", &id, &details).await.status, 200);
    let base = format!(
        "/provider/v1/authorizations/{id}/details/{}/sessions",
        details[0]
    );
    let opened = keyed(&w, "eng", &base, "open-1", None).await;
    assert_eq!(opened.status, 201, "{}", opened.raw);
    let reopened = keyed(&w, "eng", &base, "open-1", None).await;
    assert_eq!((reopened.status, &reopened.raw), (201, &opened.raw));
    let sid = opened.body["session_id"].as_i64().unwrap();

    let now = w.app.clock.now().to_string();
    let ops = json!({"operations": [{"oper": "df -h", "operate_time": now}]});
    let files = json!({"file_transfers": [{"operate_type": "download", "file_name": "a.log",
        "from_path": "/var/log/a.log", "to_path": "/tmp/a.log", "file_size_bytes": 10,
        "duration_ms": 5, "oper_result": "success", "operate_time": now}]});
    for (what, body) in [("operations", ops), ("file-transfers", files)] {
        let path = format!("{base}/{sid}/{what}");
        for _ in 0..3 {
            let r = keyed(&w, "eng", &path, &format!("{what}-1"), Some(body.clone())).await;
            assert_eq!(
                (r.status, &r.body),
                (200, &json!({"appended": 1})),
                "{what}"
            );
        }
    }
    let history = format!(
        "/v2/servicerequest/authorizations/{id}/authorization-details/{}",
        details[0]
    );
    let sessions = w
        .call(
            "GET",
            &format!("{history}/history-sessions"),
            Some(w.token("bob")),
            None,
        )
        .await;
    assert_eq!(
        sessions.body["total_count"], 1,
        "one session: {}",
        sessions.raw
    );
    for log in ["operation-logs", "operation-file-logs"] {
        let r = w
            .call(
                "GET",
                &format!("{history}/sessions/{sid}/{log}"),
                Some(w.token("bob")),
                None,
            )
            .await;
        assert_eq!(r.body["total_count"], 1, "{log}: {}", r.raw);
    }
}
