//! Secrets never leave: not in any response, not in the server's log.

use serde_json::json;

use crate::helpers::{World, captured_logs, password_of};

const HOST_SECRET: &str = "Unique-Host-Secret-8812";

#[tokio::test]
async fn no_secret_in_responses_or_logs() {
    let w = World::new().await;
    let (id, details) = w.raise("bob").await;
    let mut bodies = Vec::new();
    let grant = World::grant(&details, HOST_SECRET);
    let path = format!("/v2/servicerequest/authorizations/{id}");
    bodies.push(
        w.call("PUT", &path, Some(w.token("bob")), Some(grant.clone()))
            .await
            .raw,
    );
    // A failing confirm (already authorized) must not echo the body either.
    bodies.push(
        w.call("PUT", &path, Some(w.token("bob")), Some(grant))
            .await
            .raw,
    );
    bodies.push(w.call("GET", &path, Some(w.token("bob")), None).await.raw);
    bodies.push(
        w.call(
            "GET",
            "/v2/servicerequest/authorizations",
            Some(w.token("alice")),
            None,
        )
        .await
        .raw,
    );
    bodies.push(
        w.call(
            "GET",
            &format!("/provider/v1/authorizations/{id}"),
            Some(w.token("eng")),
            None,
        )
        .await
        .raw,
    );
    bodies.push(
        w.call(
            "GET",
            "/provider/v1/authorizations",
            Some(w.token("lead")),
            None,
        )
        .await
        .raw,
    );
    // A wrong login, and a wrong token.
    let bad = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "bob", "password": "Wrong-Login-Secret-55", "domain": {"name": "acme"}}}}}});
    bodies.push(w.call("POST", "/v3/auth/tokens", None, Some(bad)).await.raw);
    bodies.push(
        w.call("GET", &path, Some("Forged-Token-Secret-77"), None)
            .await
            .raw,
    );
    assert_eq!(w.act("bob", &id, "cancel", json!({})).await.status, 200);

    let mut secrets: Vec<String> = vec![
        HOST_SECRET.into(),
        "Wrong-Login-Secret-55".into(),
        "Forged-Token-Secret-77".into(),
    ];
    secrets.extend(w.tokens.values().cloned());
    secrets.extend(["eng", "lead", "alice", "bob", "carol", "gina"].map(password_of));

    for body in &bodies {
        for s in &secrets {
            assert!(
                !body.contains(s.as_str()),
                "a response contains a secret: {body}"
            );
        }
    }
    let logs = String::from_utf8(captured_logs().lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("/v2/servicerequest/authorizations/{authorization_id}"),
        "the log was captured"
    );
    for s in &secrets {
        assert!(
            !logs.contains(s.as_str()),
            "the server log contains a secret"
        );
    }
}
