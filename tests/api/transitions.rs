//! Every (status, action) pair over HTTP: allowed ones move the status and write one
//! audit event; the rest answer 409 and change nothing.

use jiff::SignedDuration;
use serde_json::json;

use crate::helpers::{Resp, World};

const ACTIONS: [&str; 4] = ["confirm", "reject", "cancel", "recall"];

/// The status each action leads to from each status, per SPEC §2 (None = 409).
fn expected(status: i64, action: &str) -> Option<i64> {
    match (status, action) {
        (0, "confirm") => Some(1),
        (0, "reject") => Some(2),
        (0, "recall") => Some(4),
        (1, "cancel") => Some(5),
        _ => None,
    }
}

async fn perform(w: &World, id: &str, details: &[i64], action: &str) -> Resp {
    match action {
        "confirm" => w.confirm("bob", id, details).await,
        "reject" => {
            w.act("bob", id, "reject", json!({"reject_reason": "no"}))
                .await
        }
        "cancel" => w.act("bob", id, "cancel", json!({})).await,
        "recall" => w.recall("eng", id).await,
        _ => unreachable!(),
    }
}

/// Brings a fresh authorization to `status` (3 is made separately, by expiry).
async fn in_status(w: &World, status: i64) -> (String, Vec<i64>) {
    let (id, details) = w.raise("bob").await;
    match status {
        0 => {}
        1 => assert_eq!(w.confirm("bob", &id, &details).await.status, 200),
        2 => assert_eq!(w.act("bob", &id, "reject", json!({})).await.status, 200),
        4 => assert_eq!(w.recall("eng", &id).await.status, 200),
        5 => {
            assert_eq!(w.confirm("bob", &id, &details).await.status, 200);
            assert_eq!(w.act("bob", &id, "cancel", json!({})).await.status, 200);
        }
        _ => unreachable!(),
    }
    assert_eq!(i64::from(w.status(&id).await.code()), status);
    (id, details)
}

#[tokio::test]
async fn every_status_action_pair() {
    let w = World::new().await;
    // Expired ones first: raised, then the clock passes the pending TTL.
    let mut expired = Vec::new();
    for _ in ACTIONS {
        expired.push(w.raise("bob").await);
    }
    w.app.clock.advance(SignedDuration::from_hours(73));
    assert_eq!(w.app.sweep_once().await.unwrap(), 4);

    for status in 0..=5 {
        for (i, action) in ACTIONS.iter().enumerate() {
            let (id, details) = if status == 3 {
                expired[i].clone()
            } else {
                in_status(&w, status).await
            };
            assert_eq!(i64::from(w.status(&id).await.code()), status);
            let events = w.audit_events().await;
            let r = perform(&w, &id, &details, action).await;
            let after = i64::from(w.status(&id).await.code());
            match expected(status, action) {
                Some(to) => {
                    assert_eq!(
                        (r.status, &r.body),
                        (200, &json!({})),
                        "{status} {action}: {}",
                        r.raw
                    );
                    assert_eq!(after, to, "{status} {action}");
                    assert_eq!(
                        w.audit_events().await,
                        events + 1,
                        "{status} {action}: one audit event"
                    );
                }
                None => {
                    assert_eq!(
                        (r.status, r.code()),
                        (409, "OSM.01010102"),
                        "{status} {action}: {}",
                        r.raw
                    );
                    assert!(r.msg().contains(&format!("status {status}")), "{}", r.msg());
                    assert_eq!(after, status, "{status} {action}: unchanged");
                    assert_eq!(
                        w.audit_events().await,
                        events,
                        "{status} {action}: no audit event"
                    );
                }
            }
        }
    }
    assert!(w.audit_verifies().await);
}
