//! What an attacker probing the service found, each pinned by a test.

use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::helpers::{Resp, World, client_from, password_of};

fn login_body(domain: &str, user: &str, password: &str) -> Value {
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "password": password, "domain": {"name": domain}}}},
        "scope": {"domain": {"name": domain}}}})
}

async fn login_from(w: &World, client: &reqwest::Client, user: &str, password: &str) -> Resp {
    let req = client
        .post(format!("{}/v3/auth/tokens", w.base))
        .json(&login_body("acme", user, password));
    w.send(req).await
}

/// Finding 2: failed logins for one name back off exponentially (429 with
/// `Retry-After`), even for the right password, and the wait ends by itself.
#[tokio::test]
async fn failed_logins_for_a_name_back_off_exponentially() {
    let w = World::new().await;
    let client = client_from("127.0.0.4");
    for _ in 0..5 {
        assert_eq!(
            login_from(&w, &client, "bob", "wrong-password")
                .await
                .status,
            401
        );
    }
    // The sixth failure starts the wait.
    assert_eq!(
        login_from(&w, &client, "bob", "wrong-password")
            .await
            .status,
        401
    );
    let r = login_from(&w, &client, "bob", &password_of("bob")).await;
    assert_eq!((r.status, r.code()), (429, "OSM.01010104"), "{}", r.raw);
    assert_eq!(r.retry_after.as_deref(), Some("1"));
    // From elsewhere too: the name is throttled, not only the source.
    let r = login_from(&w, &client_from("127.0.0.5"), "bob", &password_of("bob")).await;
    assert_eq!(r.status, 429);
    // Another name is not.
    assert_eq!(
        login_from(&w, &client, "carol", &password_of("carol"))
            .await
            .status,
        201
    );

    w.app.clock.advance(SignedDuration::from_secs(1));
    assert_eq!(
        login_from(&w, &client, "bob", "wrong-password")
            .await
            .status,
        401
    );
    let r = login_from(&w, &client, "bob", &password_of("bob")).await;
    assert_eq!(r.retry_after.as_deref(), Some("2"), "the wait doubled");

    // Never a lock: after the longest wait the right password works.
    w.app.clock.advance(SignedDuration::from_mins(1));
    assert_eq!(
        login_from(&w, &client, "bob", &password_of("bob"))
            .await
            .status,
        201
    );
    assert_eq!(
        login_from(&w, &client, "bob", "wrong-password")
            .await
            .status,
        401,
        "success forgot the failures"
    );
}

/// Finding 2: one source trying many names is throttled, others are not.
#[tokio::test]
async fn failed_logins_from_one_source_back_off() {
    let w = World::new().await;
    let sprayer = client_from("127.0.0.6");
    let mut statuses = Vec::new();
    for i in 0..22 {
        statuses.push(
            login_from(&w, &sprayer, &format!("user{i}"), "wrong-password")
                .await
                .status,
        );
    }
    assert_eq!(statuses[..21], [401; 21], "{statuses:?}");
    assert_eq!(statuses[21], 429, "{statuses:?}");
    let r = login_from(&w, &sprayer, "carol", &password_of("carol")).await;
    assert_eq!(r.status, 429, "the source waits, whatever the name");
    assert_eq!(
        login_from(&w, &w.client, "carol", &password_of("carol"))
            .await
            .status,
        201
    );
}
