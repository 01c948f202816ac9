//! Reminders before things expire, timed with the injectable clock; disabling a
//! subscription that fails for 5 days; pruning delivered notifications.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
use jiff::SignedDuration;
use serde_json::json;
use tokio::net::TcpListener;

use support_access::domain::event::EventType;
use support_access::domain::{AuthorizationId, Status};

use crate::helpers::{TestServer, World, on_postgres_or_skip, test_epoch};

/// The `authorization.expiring` events about `id`, with the status each reminded of.
async fn reminders_of(w: &World, id: &str) -> Vec<Option<Status>> {
    let id = Some(AuthorizationId(id.parse().unwrap()));
    w.app
        .store_for_inspection()
        .outbox_after(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.draft.event_type == EventType::Expiring && e.draft.authorization_id == id)
        .map(|e| e.draft.status)
        .collect()
}

/// Moves the clock to `at` after the test epoch, then runs the reminder sweep three
/// times (it must not write a reminder twice).
async fn at(w: &World, after_epoch: SignedDuration) {
    let target = test_epoch() + after_epoch;
    w.app
        .clock
        .advance(target.duration_since(w.app.clock.now()));
    for _ in 0..3 {
        w.app.remind_once().await.unwrap();
    }
}

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

#[tokio::test]
async fn a_pending_request_is_reminded_at_half_life_and_an_hour_before_it_expires() {
    let w = World::new().await;
    let (id, _) = w.raise("bob").await; // pending for 72 h
    let pending = Some(Status::Pending);
    at(&w, hours(36) - mins(1)).await;
    assert_eq!(reminders_of(&w, &id).await, []);
    at(&w, hours(36)).await;
    assert_eq!(reminders_of(&w, &id).await, [pending]);
    at(&w, hours(71) - mins(1)).await;
    assert_eq!(reminders_of(&w, &id).await, [pending]);
    at(&w, hours(71)).await;
    assert_eq!(reminders_of(&w, &id).await, [pending, pending]);
    at(&w, hours(71) + mins(30)).await;
    assert_eq!(reminders_of(&w, &id).await, [pending, pending], "each once");
}

#[tokio::test]
async fn a_request_that_moved_on_is_not_reminded_of() {
    let w = World::new().await;
    let (id, _) = w.raise("bob").await;
    assert_eq!(w.act("alice", &id, "reject", json!({})).await.status, 200);
    at(&w, hours(71)).await;
    assert_eq!(reminders_of(&w, &id).await, []);
}

#[tokio::test]
async fn a_window_is_reminded_15_minutes_before_it_ends() {
    let w = World::new().await;
    let (id, details) = w.raise("bob").await;
    // No window given: it starts now and lasts 24 hours.
    assert_eq!(w.confirm("bob", &id, &details).await.status, 200);
    at(&w, hours(24) - mins(16)).await;
    assert_eq!(reminders_of(&w, &id).await, []);
    at(&w, hours(24) - mins(15)).await;
    assert_eq!(reminders_of(&w, &id).await, [Some(Status::Authorized)]);
    at(&w, hours(24) - mins(1)).await;
    assert_eq!(reminders_of(&w, &id).await, [Some(Status::Authorized)]);
}

#[tokio::test]
async fn a_window_shorter_than_2_hours_is_reminded_at_90_percent() {
    let w = World::new().await;
    let (id, details) = w.raise("bob").await;
    let start = test_epoch().as_millisecond();
    let mut grant = World::grant(&details, "host-pw-Qq93");
    grant["auth_effective_time"] = json!(start);
    grant["auth_expire_time"] = json!(start + 3_600_000); // 1 hour
    let path = format!("/v2/servicerequest/authorizations/{id}");
    let r = w
        .call("PUT", &path, Some(w.token("bob")), Some(grant))
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    at(&w, mins(53)).await;
    assert_eq!(reminders_of(&w, &id).await, []);
    at(&w, mins(54)).await;
    assert_eq!(reminders_of(&w, &id).await, [Some(Status::Authorized)]);
}

#[tokio::test]
async fn two_postgres_instances_write_each_reminder_once() {
    if !on_postgres_or_skip("two_postgres_instances_write_each_reminder_once") {
        return;
    }
    let w = World::new().await;
    let twin = w.sharing(w.start_twin().await);
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.push(w.raise("bob").await.0);
    }
    for clock in [&w.app.clock, &twin.app.clock] {
        clock.advance(hours(36));
    }
    // Both instances sweep at once, over and over.
    let sweeps = (0..6).map(|i| {
        let app = if i % 2 == 0 {
            w.app.clone()
        } else {
            twin.app.clone()
        };
        async move { app.remind_once().await.unwrap() }
    });
    futures_util::future::join_all(sweeps).await;
    for id in &ids {
        assert_eq!(reminders_of(&w, id).await, [Some(Status::Pending)], "{id}");
    }
}

/// A receiver answering 500 to everything.
async fn failing_receiver() -> String {
    let app = axum::Router::new().route(
        "/hook",
        post(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn private_targets(s: &mut support_access::config::Settings) {
    s.webhook_allow_private = true;
    s.webhook_poll_interval = Duration::from_secs(3600);
}

#[tokio::test]
async fn a_subscription_failing_for_5_days_is_disabled_and_an_event_says_so() {
    let w = World::on(TestServer::start_with(private_targets).await).await;
    let acme = w.ids["acme"].clone();
    let url = failing_receiver().await;
    let failing = w.subscribe("acme", &url).await;
    let delivery = support_access::service::webhooks::Delivery::new(true).unwrap();
    let disabled_events = || async {
        w.app
            .store_for_inspection()
            .outbox_after(0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.draft.event_type == EventType::WebhookDisabled)
            .map(|e| (e.draft.customer_id, e.draft.webhook_id))
            .collect::<Vec<_>>()
    };
    // Failing from day 0, a new event every day; each is retried for a day.
    for day in 0..=5 {
        w.raise("bob").await;
        for _ in 0..3 {
            w.app.deliver_once(&delivery).await.unwrap();
            w.app.clock.advance(SignedDuration::from_hours(2));
        }
        let enabled = w.app.list_webhooks(&acme).await.unwrap()[0].enabled;
        if day < 5 {
            assert!(enabled, "day {day}: still enabled");
            assert_eq!(disabled_events().await, []);
        } else {
            assert!(!enabled, "disabled after 5 days");
        }
        w.app.clock.advance(SignedDuration::from_hours(18));
    }
    assert_eq!(
        disabled_events().await,
        [(acme.clone(), Some(failing.clone()))]
    );
    // Once: later rounds find it disabled already, and nothing more goes to it.
    w.raise("bob").await;
    w.app.deliver_once(&delivery).await.unwrap();
    assert_eq!(disabled_events().await.len(), 1);
    let deliveries = w.app.webhook_deliveries(&acme, &failing).await.unwrap();
    assert!(
        deliveries.iter().all(|d| d.state != "pending"),
        "{deliveries:?}"
    );
}

#[tokio::test]
async fn a_success_ends_a_failing_streak() {
    let w = World::on(TestServer::start_with(private_targets).await).await;
    let acme = w.ids["acme"].clone();
    let healthy = Arc::new(AtomicBool::new(false));
    let url = {
        let healthy = healthy.clone();
        let app = axum::Router::new().route(
            "/hook",
            post(move || {
                let ok = healthy.load(Ordering::SeqCst);
                async move {
                    if ok {
                        StatusCode::NO_CONTENT
                    } else {
                        StatusCode::INTERNAL_SERVER_ERROR
                    }
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    };
    w.subscribe("acme", &url).await;
    let delivery = support_access::service::webhooks::Delivery::new(true).unwrap();
    // Failing on day 0, healthy on day 3, failing again from day 4 to day 8.
    for day in 0..=8 {
        healthy.store(day == 3, Ordering::SeqCst);
        w.raise("bob").await;
        w.app.deliver_once(&delivery).await.unwrap();
        w.app.clock.advance(SignedDuration::from_hours(24));
    }
    assert!(
        w.app.list_webhooks(&acme).await.unwrap()[0].enabled,
        "failing since day 4 only"
    );
    healthy.store(false, Ordering::SeqCst);
    w.raise("bob").await;
    w.app.deliver_once(&delivery).await.unwrap(); // day 9: 5 days since day 4
    assert!(!w.app.list_webhooks(&acme).await.unwrap()[0].enabled);
}

#[tokio::test]
async fn delivered_notifications_past_their_retention_are_pruned_in_batches() {
    let w = World::on(TestServer::start_with(private_targets).await).await;
    let acme = w.ids["acme"].clone();
    let ok = {
        let app = axum::Router::new().route("/hook", post(|| async { StatusCode::NO_CONTENT }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    };
    let hook = w.subscribe("acme", &ok).await;
    let delivery = support_access::service::webhooks::Delivery::new(true).unwrap();
    for _ in 0..5 {
        w.raise("bob").await;
    }
    while w.app.deliver_once(&delivery).await.unwrap() > 0 {}
    let outbox = |w: &World| {
        let app = w.app.clone();
        async move {
            app.store_for_inspection()
                .outbox_after(0, 10_000)
                .await
                .unwrap()
                .len()
        }
    };
    assert_eq!(outbox(&w).await, 5);
    let retention = SignedDuration::from_hours(24 * 30);
    // Within the retention nothing goes.
    w.app.clock.advance(SignedDuration::from_hours(24 * 29));
    assert_eq!(w.app.prune_once(retention).await.unwrap(), 0);
    // A newer event, not yet delivered, stays even when old: it still waits.
    w.raise("bob").await;
    w.app.clock.advance(SignedDuration::from_hours(24 * 2));
    let pruned = w.app.prune_once(retention).await.unwrap();
    assert_eq!(pruned, 10, "5 deliveries and their 5 events");
    assert_eq!(outbox(&w).await, 1);
    assert!(
        w.app
            .webhook_deliveries(&acme, &hook)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn authorizations_from_before_reminders_existed_get_them_when_migrated() {
    let w = World::new().await;
    let (pending, _) = w.raise("bob").await;
    let (granted, details) = w.raise("bob").await;
    assert_eq!(w.confirm("bob", &granted, &details).await.status, 200);
    // As a database from before migration 12: no reminder rows, 14 not yet applied.
    w.execute_behind_the_back(
        "DELETE FROM reminders; DELETE FROM schema_migrations WHERE version = 14;",
    )
    .await;
    // An instance started on it migrates it.
    let upgraded = w.sharing(w.start_twin().await);
    at(&upgraded, hours(24) - mins(16)).await;
    assert_eq!(reminders_of(&upgraded, &granted).await, []);
    at(&upgraded, hours(24) - mins(15)).await;
    assert_eq!(
        reminders_of(&upgraded, &granted).await,
        [Some(Status::Authorized)]
    );
    assert_eq!(reminders_of(&upgraded, &pending).await, []);
    at(&upgraded, hours(36)).await;
    assert_eq!(
        reminders_of(&upgraded, &pending).await,
        [Some(Status::Pending)]
    );
    at(&upgraded, hours(71)).await;
    assert_eq!(
        reminders_of(&upgraded, &pending).await,
        [Some(Status::Pending), Some(Status::Pending)],
        "each once"
    );
}
