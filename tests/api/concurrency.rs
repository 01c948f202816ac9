//! Conflicting actions racing on one authorization: exactly one winner, on one
//! instance or spread over several sharing a database.

use std::sync::Arc;

use serde_json::json;

use crate::helpers::{World, on_postgres_or_skip};

const ACTIONS: [&str; 4] = ["confirm", "reject", "cancel", "recall"];

/// Fires `count` conflicting actions at `id` at once, the i-th through instance
/// `i + i / 4` (mod the number of instances) so each action reaches every instance.
/// Returns the actions that got 200; every other one must get 409.
async fn race(
    instances: &[Arc<World>],
    id: &str,
    details: &[i64],
    count: usize,
) -> Vec<&'static str> {
    let mut tasks = Vec::new();
    for i in 0..count {
        let w = instances[(i + i / ACTIONS.len()) % instances.len()].clone();
        let (id, details) = (id.to_owned(), details.to_vec());
        let action = ACTIONS[i % ACTIONS.len()];
        tasks.push(tokio::spawn(async move {
            let r = match action {
                "confirm" => w.confirm("bob", &id, &details).await,
                "reject" => {
                    w.act("alice", &id, "reject", json!({"reject_reason": "race"}))
                        .await
                }
                "cancel" => {
                    w.act("carol", &id, "cancel", json!({"group_id": w.ids["ops"]}))
                        .await
                }
                _ => w.recall("eng", &id).await,
            };
            (action, r)
        }));
    }
    let mut won = Vec::new();
    for t in tasks {
        let (action, r) = t.await.unwrap();
        match r.status {
            200 => won.push(action),
            409 => assert_eq!(r.code(), "OSM.01010102", "{action}: {}", r.raw),
            other => panic!("{action}: {other} {}", r.raw),
        }
    }
    won
}

/// The status the winners imply, or why they are impossible: one of confirm, reject
/// and recall wins; a cancel only after a winning confirm, and at most once.
fn status_after(won: &[&str]) -> Result<i32, String> {
    let first: Vec<&str> = won.iter().copied().filter(|a| *a != "cancel").collect();
    let cancels = won.len() - first.len();
    match (first.as_slice(), cancels) {
        (["confirm"], 0) => Ok(1),
        (["confirm"], 1) => Ok(5),
        (["reject"], 0) => Ok(2),
        (["recall"], 0) => Ok(4),
        _ => Err(format!("impossible winners {won:?}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_conflicting_actions_have_one_winner() {
    let w = Arc::new(World::new().await);
    for round in 0..6 {
        let (id, details) = w.raise("bob").await;
        let won = race(std::slice::from_ref(&w), &id, &details, 50).await;
        let expected = status_after(&won).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(
            w.status(&id).await.code(),
            expected,
            "round {round}: {won:?}"
        );
    }
    assert!(w.audit_verifies().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_racing_on_200_authorizations_have_one_winner_each() {
    if !on_postgres_or_skip("two_instances_racing_on_200_authorizations_have_one_winner_each") {
        return;
    }
    let first = Arc::new(World::new().await);
    let second = Arc::new(first.sharing(first.start_twin().await));
    let instances = [first.clone(), second];
    // The world's own set-up (users, groups) is audited too.
    let before = first.audit_events().await;
    let mut winners = 0;
    // Twenty authorizations at a time, each hit by eight actions at once.
    for wave in 0..10 {
        let mut raced = Vec::new();
        for _ in 0..20 {
            let (id, details) = first.raise("bob").await;
            let instances = instances.clone();
            raced.push(tokio::spawn(async move {
                let won = race(&instances, &id, &details, 8).await;
                (id, won)
            }));
        }
        for r in raced {
            let (id, won) = r.await.unwrap();
            let expected = status_after(&won).unwrap_or_else(|e| panic!("wave {wave}: {e}"));
            assert_eq!(first.status(&id).await.code(), expected, "{id}: {won:?}");
            winners += won.len();
        }
    }
    assert!(first.audit_verifies().await);
    assert_eq!(
        first.audit_events().await - before,
        200 + winners,
        "one event per raise and per winning action, none for the losers"
    );
}
