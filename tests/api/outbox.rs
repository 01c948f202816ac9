//! The notification outbox: every transition writes one event in its own transaction,
//! with ids and statuses only; a refused action writes none.

use jiff::SignedDuration;
use serde_json::json;

use support_access::domain::event::OutboxEvent;
use support_access::domain::{AuthorizationId, Status};

use crate::helpers::World;

/// (type, status, actor) of the events about `id`, in outbox order.
async fn events_of(w: &World, id: &str) -> Vec<(String, Option<Status>, String)> {
    let id = Some(AuthorizationId(id.parse().unwrap()));
    all_events(w)
        .await
        .into_iter()
        .filter(|e| e.draft.authorization_id == id)
        .map(|e| {
            let d = e.draft;
            (d.event_type.name().to_owned(), d.status, d.actor_id)
        })
        .collect()
}

async fn all_events(w: &World) -> Vec<OutboxEvent> {
    w.app
        .store_for_inspection()
        .outbox_after(0, 10_000)
        .await
        .unwrap()
}

fn event(t: &str, s: Status, actor: &str) -> (String, Option<Status>, String) {
    (t.to_owned(), Some(s), actor.to_owned())
}

#[tokio::test]
async fn every_transition_writes_one_event() {
    let w = World::new().await;
    let (eng, bob) = (w.ids["eng"].clone(), w.ids["bob"].clone());

    let (granted, details) = w.raise("bob").await;
    assert_eq!(w.confirm("bob", &granted, &details).await.status, 200);
    assert_eq!(
        w.act("bob", &granted, "cancel", json!({})).await.status,
        200
    );
    assert_eq!(
        events_of(&w, &granted).await,
        [
            event("authorization.raised", Status::Pending, &eng),
            event("authorization.confirmed", Status::Authorized, &bob),
            event("authorization.canceled", Status::Canceled, &bob),
        ]
    );

    let (rejected, _) = w.raise("bob").await;
    let r = w
        .act(
            "bob",
            &rejected,
            "reject",
            json!({"reject_reason": "secret words"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let (recalled, _) = w.raise("bob").await;
    assert_eq!(w.recall("eng", &recalled).await.status, 200);
    assert_eq!(
        events_of(&w, &rejected).await.last(),
        Some(&event("authorization.rejected", Status::Rejected, &bob))
    );
    assert_eq!(
        events_of(&w, &recalled).await.last(),
        Some(&event("authorization.recalled", Status::Recalled, &eng))
    );

    // Refused: nothing written.
    let before = all_events(&w).await.len();
    assert_eq!(
        w.act("bob", &rejected, "cancel", json!({})).await.status,
        409
    );
    assert_eq!(w.recall("eng", &granted).await.status, 409);
    assert_eq!(all_events(&w).await.len(), before);

    // Every event belongs to the customer domain and has its own id, in order.
    let all = all_events(&w).await;
    assert!(all.iter().all(|e| e.draft.customer_id == w.ids["acme"]));
    assert!(all.windows(2).all(|p| p[0].seq < p[1].seq));
}

#[tokio::test]
async fn the_sweeper_writes_an_event_per_expiry() {
    let w = World::new().await;
    let (pending, _) = w.raise("bob").await;
    let (granted, details) = w.raise("bob").await;
    assert_eq!(w.confirm("bob", &granted, &details).await.status, 200);
    w.app.clock.advance(SignedDuration::from_hours(80));
    assert!(w.app.sweep_once().await.unwrap() >= 1);
    w.app.clock.advance(SignedDuration::from_hours(24 * 8));
    w.app.sweep_once().await.unwrap();
    for id in [&pending, &granted] {
        assert_eq!(
            events_of(&w, id).await.last(),
            Some(&event("authorization.expired", Status::Expired, "system")),
            "{id}"
        );
    }
}

#[tokio::test]
async fn concurrent_transitions_each_write_their_event() {
    let w = World::new().await;
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(w.raise("bob").await.0);
    }
    // Rejected all at once: on PostgreSQL they share group-committed transactions.
    let rejects = ids.iter().map(|id| w.act("bob", id, "reject", json!({})));
    for r in futures_util::future::join_all(rejects).await {
        assert_eq!(r.status, 200);
    }
    let all = all_events(&w).await;
    let rejected = all
        .iter()
        .filter(|e| e.draft.event_type.name() == "authorization.rejected")
        .count();
    assert_eq!((all.len(), rejected), (80, 40));
    let ids: std::collections::HashSet<_> = all.iter().map(OutboxEvent::event_id).collect();
    assert_eq!(ids.len(), 80, "event ids are unique");
}

/// (type, session, close reason) of the session events about `id`, in outbox order.
async fn session_events_of(w: &World, id: &str) -> Vec<(String, i64, Option<String>)> {
    let id = Some(AuthorizationId(id.parse().unwrap()));
    all_events(w)
        .await
        .into_iter()
        .filter(|e| e.draft.authorization_id == id)
        .filter_map(|e| {
            let d = e.draft;
            Some((
                d.event_type.name().to_owned(),
                d.session_id?,
                d.close_reason,
            ))
        })
        .collect()
}

/// An authorized request of bob's with a session the engineer opened on it.
async fn granted_with_a_session(w: &World) -> (String, i64) {
    let (id, details) = w.raise("bob").await;
    assert_eq!(w.confirm("bob", &id, &details).await.status, 200);
    let path = format!(
        "/provider/v1/authorizations/{id}/details/{}/sessions",
        details[0]
    );
    let opened = w.call("POST", &path, Some(w.token("eng")), None).await;
    assert_eq!(opened.status, 201, "{}", opened.raw);
    (id, opened.body["session_id"].as_i64().unwrap())
}

#[tokio::test]
async fn sessions_a_cancel_or_the_window_end_closes_each_get_session_closed() {
    let w = World::new().await;
    let closed_by_access_end = |session| {
        [
            ("session.opened".to_owned(), session, None),
            (
                "session.closed".to_owned(),
                session,
                Some("access_ended".to_owned()),
            ),
        ]
    };

    let (canceled, session) = granted_with_a_session(&w).await;
    assert_eq!(
        w.act("bob", &canceled, "cancel", json!({})).await.status,
        200
    );
    assert_eq!(
        session_events_of(&w, &canceled).await,
        closed_by_access_end(session)
    );
    // Right after the cancel's own event, by the same actor.
    let events = all_events(&w).await;
    let last: Vec<_> = events[events.len() - 2..]
        .iter()
        .map(|e| (e.draft.event_type.name(), e.draft.actor_id.as_str()))
        .collect();
    assert_eq!(
        last,
        [
            ("authorization.canceled", w.ids["bob"].as_str()),
            ("session.closed", w.ids["bob"].as_str())
        ]
    );

    let (expired, session) = granted_with_a_session(&w).await;
    w.app.clock.advance(SignedDuration::from_hours(24 * 40));
    w.app.sweep_once().await.unwrap();
    assert_eq!(
        events_of(&w, &expired).await.last().map(|e| e.0.as_str()),
        Some("session.closed")
    );
    assert_eq!(
        session_events_of(&w, &expired).await,
        closed_by_access_end(session)
    );
}
