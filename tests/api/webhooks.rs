//! Webhook delivery: shared by two instances on one PostgreSQL database (every event
//! delivered, none by both at once), private targets refused, and each authorization's
//! events sent in order across retries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::json;
use tokio::net::TcpListener;

use crate::helpers::{TestServer, World, on_postgres_or_skip};

#[derive(Default)]
struct Seen {
    /// Deliveries per webhook-id, and how many are in flight right now.
    received: HashMap<String, (u32, u32)>,
    /// A webhook-id was being delivered twice at the same moment.
    overlapped: bool,
}

/// A receiver on loopback that notes overlapping deliveries of one id.
async fn receiver() -> (String, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let state = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap| {
            let seen = state.clone();
            async move {
                let id = headers["webhook-id"].to_str().unwrap().to_owned();
                {
                    let mut s = seen.lock().unwrap();
                    let entry = s.received.entry(id.clone()).or_default();
                    entry.0 += 1;
                    entry.1 += 1;
                    if entry.1 > 1 {
                        s.overlapped = true;
                    }
                }
                // Long enough that a second delivery of the same id would overlap.
                tokio::time::sleep(Duration::from_millis(5)).await;
                seen.lock().unwrap().received.get_mut(&id).unwrap().1 -= 1;
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// A server whose own delivery worker stays idle: the test drives the rounds.
async fn driven_world() -> World {
    let idle = |s: &mut support_access::config::Settings| {
        s.webhook_poll_interval = Duration::from_secs(3600);
    };
    World::on(TestServer::start_with(idle).await).await
}

#[tokio::test]
async fn two_postgres_instances_deliver_each_event_once_at_a_time() {
    if !on_postgres_or_skip("two_postgres_instances_deliver_each_event_once_at_a_time") {
        return;
    }
    let fast = |s: &mut support_access::config::Settings| {
        s.webhook_allow_private = true;
        s.webhook_poll_interval = Duration::from_millis(20);
    };
    let w = World::on(TestServer::start_with(fast).await).await;
    let twin = w.start_twin().await;
    let (url, seen) = receiver().await;
    w.subscribe("acme", &url).await;
    // 1,000 events: 500 raised, 500 rejected, half through each instance.
    let mut ids = Vec::new();
    for _ in 0..500 {
        ids.push(w.raise("bob").await.0);
    }
    let twin_world = w.sharing(twin);
    for (i, id) in ids.iter().enumerate() {
        let world = if i % 2 == 0 { &w } else { &twin_world };
        let r = world.act("bob", id, "reject", json!({})).await;
        assert_eq!(r.status, 200);
    }
    let outbox = w
        .app
        .store_for_inspection()
        .outbox_after(0, 10_000)
        .await
        .unwrap();
    assert_eq!(outbox.len(), 1000);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let done = {
            let s = seen.lock().unwrap();
            outbox
                .iter()
                .all(|e| s.received.contains_key(&e.event_id()))
        };
        if done {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all delivered in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = seen.lock().unwrap();
    assert!(
        !s.overlapped,
        "an event was delivered by both instances at once"
    );
    assert_eq!(s.received.len(), 1000);
    let twice = s.received.values().filter(|(n, _)| *n > 1).count();
    assert_eq!(twice, 0, "no event delivered twice without a failure");
}

#[tokio::test]
async fn private_targets_are_refused_by_address_and_by_name_unless_allowed() {
    let w = driven_world().await;
    let (url, seen) = receiver().await;
    let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
    let acme = w.ids["acme"].clone();
    let mut hooks = Vec::new();
    // A loopback address, and a name that resolves to one.
    for target in [url.clone(), format!("http://localhost:{port}/hook")] {
        hooks.push(w.subscribe("acme", &target).await);
    }
    w.raise("bob").await;
    let public_only = support_access::service::webhooks::Delivery::new(false).unwrap();
    // One event fanned out, two attempts.
    assert_eq!(w.app.deliver_once(&public_only).await.unwrap(), 3);
    assert!(seen.lock().unwrap().received.is_empty());
    for hook in &hooks {
        let deliveries = w.app.webhook_deliveries(&acme, hook).await.unwrap();
        let error = deliveries[0].last_error.as_deref().unwrap_or_default();
        assert!(
            error.contains("private, loopback or link-local"),
            "{hook}: {error}"
        );
    }
    // The same targets, allowed: both deliveries arrive on the retry.
    w.app.clock.advance(jiff::SignedDuration::from_mins(1));
    let allowed = support_access::service::webhooks::Delivery::new(true).unwrap();
    assert_eq!(w.app.deliver_once(&allowed).await.unwrap(), 2);
    let s = seen.lock().unwrap();
    assert_eq!(s.received.values().map(|(n, _)| n).sum::<u32>(), 2);
}

#[tokio::test]
async fn an_authorizations_next_event_waits_for_the_retry_of_the_one_before() {
    let w = driven_world().await;
    let (url, seen) = receiver().await;
    w.subscribe("acme", &url).await;
    let received = || seen.lock().unwrap().received.len();
    let (id, _) = w.raise("bob").await;
    // The raise's delivery fails (a loopback target refused) and waits for its retry.
    let refusing = support_access::service::webhooks::Delivery::new(false).unwrap();
    assert_eq!(w.app.deliver_once(&refusing).await.unwrap(), 2);
    assert_eq!(w.act("bob", &id, "reject", json!({})).await.status, 200);
    // The reject is fanned out but not sent ahead of the raise.
    let allowed = support_access::service::webhooks::Delivery::new(true).unwrap();
    assert_eq!(w.app.deliver_once(&allowed).await.unwrap(), 1);
    assert_eq!(received(), 0);
    w.app.clock.advance(jiff::SignedDuration::from_mins(1));
    assert_eq!(w.app.deliver_once(&allowed).await.unwrap(), 1);
    assert_eq!(received(), 1);
    assert_eq!(w.app.deliver_once(&allowed).await.unwrap(), 1);
    assert_eq!(received(), 2);
}

#[tokio::test]
async fn two_events_of_one_authorization_fanned_out_together_go_out_one_round_apart() {
    let w = driven_world().await;
    let (url, seen) = receiver().await;
    w.subscribe("acme", &url).await;
    let (id, _) = w.raise("bob").await;
    assert_eq!(w.act("bob", &id, "reject", json!({})).await.status, 200);
    let allowed = support_access::service::webhooks::Delivery::new(true).unwrap();
    // Two events fanned out, the raise's sent.
    assert_eq!(w.app.deliver_once(&allowed).await.unwrap(), 3);
    assert_eq!(seen.lock().unwrap().received.len(), 1);
    assert_eq!(w.app.deliver_once(&allowed).await.unwrap(), 1);
    assert_eq!(seen.lock().unwrap().received.len(), 2);
    assert_eq!(w.app.deliver_once(&allowed).await.unwrap(), 0);
}

#[tokio::test]
async fn a_subscription_deleted_during_a_round_gets_no_delivery_and_fails_nothing() {
    let w = driven_world().await;
    let acme = w.ids["acme"].clone();
    let system = support_access::domain::audit::Actor::system();
    let hook = w.subscribe("acme", "http://127.0.0.1:9/hook").await;
    w.raise("bob").await;
    let store = w.app.store_for_inspection();
    let now = w.app.clock.now();
    let lease = now + jiff::SignedDuration::from_secs(30);
    let claim = store.claim_deliveries(now, lease, 128).await.unwrap();
    assert_eq!((claim.dispatched, claim.jobs.len()), (1, 1));
    w.app.delete_webhook(&system, &acme, &hook).await.unwrap();
    let attempt = support_access::store::FinishedDelivery {
        subscription_id: hook.clone(),
        event_id: claim.jobs[0].event.seq,
        outcome: support_access::store::DeliveryOutcome::Delivered,
        status: Some(204),
        error: None,
        now,
    };
    store.finish_deliveries(vec![attempt]).await.unwrap();
    // The event is dispatched, and nothing is left to deliver.
    let next = store.claim_deliveries(now, lease, 128).await.unwrap();
    assert_eq!((next.dispatched, next.jobs.len()), (0, 0));
}
