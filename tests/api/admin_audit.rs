//! Administrative changes that arrived with the broker and the webhooks (SSH keys,
//! subscriptions and their secrets, the broker's host key) are audit events like every
//! other: actor, before and after, in the affected domain's chain or `system`.

use serde_json::{Value, json};
use support_access::domain::audit::{Actor, AuditEvent, SYSTEM_CHAIN};

use crate::helpers::World;

/// An engineer's public key (the private half was thrown away).
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIALr04DS/b/6jxo1sPkXXtllOBKf1n1G9TSPOAEvOYbq ops-laptop";
const FINGERPRINT: &str = "SHA256:CwjrahfGvqNOtW2kI6E+EV+fR3zYiN5ZKMWWVeOUpk4";

async fn events_of(w: &World, kind: &str) -> Vec<AuditEvent> {
    w.app
        .audit_chains()
        .await
        .unwrap()
        .into_iter()
        .flat_map(|c| c.events)
        .filter(|e| e.draft.kind == kind)
        .collect()
}

fn note(e: &AuditEvent) -> Value {
    serde_json::from_str(&e.draft.note).unwrap()
}

#[tokio::test]
async fn ssh_keys_webhooks_and_the_host_key_are_audited_with_actor_and_chain() {
    let w = World::new().await;
    let eng = w.token("eng");
    let added = w
        .call(
            "POST",
            "/provider/v1/ssh-keys",
            Some(eng),
            Some(json!({"public_key": KEY})),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.raw);
    let path = format!(
        "/provider/v1/ssh-keys?fingerprint={}",
        FINGERPRINT.replace('+', "%2B").replace('/', "%2F")
    );
    assert_eq!(w.call("DELETE", &path, Some(eng), None).await.status, 200);
    // A refused change is not an event.
    assert_eq!(w.call("DELETE", &path, Some(eng), None).await.status, 404);

    let alice = w.token("alice");
    let hook = w
        .call(
            "POST",
            "/customer/v1/webhooks",
            Some(alice),
            Some(json!({"url": "https://hooks.example.com/acme"})),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.raw);
    let hook_id = hook.body["id"].as_str().unwrap().to_owned();
    let rotated = w
        .call(
            "POST",
            &format!("/customer/v1/webhooks/{hook_id}/rotate-secret"),
            Some(alice),
            None,
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.raw);
    let gone = w
        .call(
            "DELETE",
            &format!("/customer/v1/webhooks/{hook_id}"),
            Some(alice),
            None,
        )
        .await;
    assert_eq!(gone.status, 204, "{}", gone.raw);
    let provider_hook = w
        .call(
            "POST",
            "/provider/v1/webhooks",
            Some(w.token("lead")),
            Some(json!({"url": "https://hooks.example.com/provider"})),
        )
        .await;
    assert_eq!(provider_hook.status, 201, "{}", provider_hook.raw);

    // The host key is made once, then read: one event, whoever asks again.
    let first = w.app.broker_host_key(Actor::system()).await.unwrap();
    let again = w.app.broker_host_key(Actor::cli("root")).await.unwrap();
    assert_eq!(first.public_key(), again.public_key());

    let provider_domain = w
        .app
        .list_domains()
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.is_provider)
        .unwrap()
        .id;
    let one = |events: Vec<AuditEvent>| {
        assert_eq!(events.len(), 1, "{events:?}");
        events.into_iter().next().unwrap()
    };
    let key_added = one(events_of(&w, "ssh_key.added").await);
    let key_removed = one(events_of(&w, "ssh_key.removed").await);
    for (e, side) in [(&key_added, "after"), (&key_removed, "before")] {
        assert_eq!(e.draft.domain_id, provider_domain, "the engineer's domain");
        assert_eq!(
            (e.draft.actor_id.as_str(), e.draft.actor_name.as_str()),
            (w.ids["eng"].as_str(), "eng")
        );
        assert_eq!(note(e)[side]["fingerprint"], FINGERPRINT);
        assert_eq!(note(e)[side]["comment"], "ops-laptop");
    }
    let created = one(events_of(&w, "webhook.created")
        .await
        .into_iter()
        .filter(|e| e.draft.domain_id == w.ids["acme"])
        .collect());
    assert_eq!(created.draft.actor_id, w.ids["alice"]);
    assert_eq!(
        note(&created)["after"]["url"],
        "https://hooks.example.com/acme"
    );
    let rotation = one(events_of(&w, "webhook.secret_rotated").await);
    assert_eq!(rotation.draft.domain_id, w.ids["acme"]);
    assert!(note(&rotation)["after"]["previous_secret_until"].is_string());
    let deleted = one(events_of(&w, "webhook.deleted").await);
    assert_eq!(note(&deleted)["before"]["id"], hook_id.as_str());
    assert!(note(&deleted)["after"].is_null());
    let provider_created = events_of(&w, "webhook.created")
        .await
        .into_iter()
        .find(|e| e.draft.domain_id == provider_domain)
        .expect("the provider's subscription in the provider's chain");
    assert_eq!(provider_created.draft.actor_id, w.ids["lead"]);
    let host_key = one(events_of(&w, "broker.host_key_created").await);
    assert_eq!(host_key.draft.domain_id, SYSTEM_CHAIN);
    assert_eq!(host_key.draft.actor_id, "system");
    assert_eq!(note(&host_key)["after"]["algorithm"], "ssh-ed25519");
    assert!(
        note(&host_key)["after"]["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("SHA256:")
    );

    // No secret in any of them: neither webhook secret, nor the sealed host key.
    let secrets = [
        hook.body["secret"].as_str().unwrap(),
        rotated.body["secret"].as_str().unwrap(),
    ];
    for e in [&created, &rotation, &deleted, &host_key] {
        for s in secrets {
            assert!(!e.draft.note.contains(&s[6..]), "{}", e.draft.note);
        }
        assert!(!e.draft.note.contains("PRIVATE"), "{}", e.draft.note);
    }
    // The customer's administrator reads their domain's subscription events.
    let listed = w
        .call(
            "GET",
            "/customer/v1/audit-events?limit=100",
            Some(alice),
            None,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.raw);
    let kinds: Vec<&str> = listed.body["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    for kind in [
        "webhook.created",
        "webhook.secret_rotated",
        "webhook.deleted",
    ] {
        assert!(kinds.contains(&kind), "{kind}: {}", listed.raw);
    }
    assert!(w.audit_verifies().await);
}
