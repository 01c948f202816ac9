//! Conflicting actions racing on one authorization: exactly one winner.

use serde_json::json;

use crate::helpers::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_conflicting_actions_have_one_winner() {
    let w = std::sync::Arc::new(World::new().await);
    for round in 0..6 {
        let (id, details) = w.raise("bob").await;
        let mut tasks = Vec::new();
        for i in 0..50 {
            let (w, id, details) = (w.clone(), id.clone(), details.clone());
            let action = ["confirm", "reject", "cancel", "recall"][i % 4];
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
                (action, r.status)
            }));
        }
        let mut won = Vec::new();
        for t in tasks {
            let (action, status) = t.await.unwrap();
            assert!(status == 200 || status == 409, "{action}: {status}");
            if status == 200 {
                won.push(action);
            }
        }
        let pending_winners: Vec<_> = won.iter().filter(|a| **a != "cancel").collect();
        assert_eq!(pending_winners.len(), 1, "round {round}: winners {won:?}");
        let cancels = won.iter().filter(|a| **a == "cancel").count();
        let first = *pending_winners[0];
        assert!(
            cancels == 0 || (cancels == 1 && first == "confirm"),
            "round {round}: {won:?}"
        );
        let expected = match (first, cancels) {
            ("confirm", 1) => 5,
            ("confirm", _) => 1,
            ("reject", _) => 2,
            _ => 4,
        };
        assert_eq!(
            w.status(&id).await.code(),
            expected,
            "round {round}: {won:?}"
        );
    }
    assert!(w.audit_verifies().await);
}
