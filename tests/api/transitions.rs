//! Every (status, action) pair over HTTP: allowed ones move the status and write one
//! audit event; the rest answer 409 and change nothing.

use jiff::SignedDuration;
use serde_json::json;

use crate::helpers::{PgDatabase, Resp, TestServer, World, postgres_url};

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

/// What a client sees of one answer: HTTP status, error code and message.
type Answer = (u16, String, String);

/// Every (status, action) pair, then eight cancels racing on one authorization (all
/// but one lose, at the store's conditional update when they raced that far), as
/// answered by the server `w`.
async fn every_answer(w: &World) -> Vec<(i64, &'static str, Answer)> {
    let answer = |r: Resp| (r.status, r.code().to_owned(), r.msg().to_owned());
    let mut expired = Vec::new();
    for _ in ACTIONS {
        expired.push(w.raise("bob").await);
    }
    w.app.clock.advance(SignedDuration::from_hours(73));
    assert_eq!(w.app.sweep_once().await.unwrap(), 4);
    let mut answers = Vec::new();
    for status in 0..=5 {
        for (i, action) in ACTIONS.iter().enumerate() {
            let (id, details) = if status == 3 {
                expired[i].clone()
            } else {
                in_status(w, status).await
            };
            let r = perform(w, &id, &details, action).await;
            answers.push((status, *action, answer(r)));
        }
    }
    let (id, details) = in_status(w, 1).await;
    let racing = (0..8).map(|_| perform(w, &id, &details, "cancel"));
    let mut raced: Vec<Answer> = futures_util::future::join_all(racing)
        .await
        .into_iter()
        .map(answer)
        .collect();
    raced.sort();
    answers.extend(raced.into_iter().map(|a| (1, "cancel (raced)", a)));
    answers
}

/// The same requests get the same answers from both stores: the decisions are made
/// once, outside them. Without PostgreSQL configured, SQLite's answers are checked
/// against the expected table alone.
#[tokio::test]
async fn both_stores_answer_every_pair_and_a_lost_race_alike() {
    let on_sqlite = every_answer(&World::on(TestServer::start_on(None, |_| {}).await).await).await;
    for (status, action, (http, code, msg)) in &on_sqlite {
        let (allowed, now) = match *action {
            // One cancel wins; the others find the authorization canceled.
            "cancel (raced)" => (*http == 200, 5),
            _ => (expected(*status, action).is_some(), *status),
        };
        if allowed {
            assert_eq!((*http, code.as_str()), (200, ""), "{status} {action}");
        } else {
            assert_eq!(
                (*http, code.as_str()),
                (409, "OSM.01010102"),
                "{status} {action}"
            );
            assert!(
                msg.contains(&format!("status {now}")),
                "{status} {action}: {msg}"
            );
        }
    }
    let winners = on_sqlite
        .iter()
        .filter(|(_, a, r)| *a == "cancel (raced)" && r.0 == 200);
    assert_eq!(winners.count(), 1);

    let Some(admin_url) = postgres_url() else {
        return;
    };
    let database = PgDatabase::create(&admin_url).await;
    let server = TestServer::start_on(Some(database), |_| {}).await;
    let on_postgres = every_answer(&World::on(server).await).await;
    assert_eq!(on_sqlite, on_postgres);
}

/// Rejects sent together share a commit (PostgreSQL's group commit, SQLite's writer
/// batches). One whose precondition fails (already rejected) gets its own 409 and
/// writes nothing; the others commit, and the domain's audit chain, which takes all
/// their events at once, still verifies.
#[tokio::test]
async fn a_refused_job_in_a_batch_fails_alone_and_the_others_commit() {
    let w = World::new().await;
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(w.raise("bob").await.0);
    }
    let refused = ids[5].clone();
    assert_eq!(
        w.act("bob", &refused, "reject", json!({})).await.status,
        200
    );
    let events = w.audit_events().await;
    let answers = futures_util::future::join_all(
        ids.iter()
            .map(|id| w.act("bob", id, "reject", json!({"reject_reason": "batch"}))),
    )
    .await;
    for (id, r) in ids.iter().zip(&answers) {
        if *id == refused {
            assert_eq!(r.status, 409, "{}", r.body);
            assert_eq!(r.body["error_code"], "OSM.01010102");
            assert!(
                r.body["error_msg"]
                    .as_str()
                    .unwrap()
                    .contains("it is rejected"),
                "{}",
                r.body
            );
        } else {
            assert_eq!((r.status, &r.body), (200, &json!({})), "{id}");
        }
        assert_eq!(w.status(id).await.code(), 2);
    }
    assert_eq!(w.audit_events().await, events + ids.len() - 1);
    assert!(w.audit_verifies().await);
}

/// A batch mixing domains, actions and preconditions: rejects in two domains, a
/// confirm (its grant), a cancel of an authorized request (its credentials purged), a
/// recall, a reject through an operator group (a scope of several submitters), next to
/// a reject of a rejected request (409) and requests their caller may not see (404: an
/// other domain's, an other submitter's, an other engineer's). Each refused job fails alone and changes nothing; the others commit,
/// with one audit event each, and both domains' chains verify.
#[tokio::test]
async fn a_mixed_batch_answers_each_job_by_its_own_precondition_and_scope() {
    let w = World::new().await;
    let raise = |who: &'static str| w.raise(who);
    let (mut acme_rejects, mut globex_rejects) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        acme_rejects.push(raise("bob").await.0);
        globex_rejects.push(raise("gus").await.0);
    }
    let (confirmed, confirmed_details) = raise("bob").await;
    let (canceled, canceled_details) = raise("bob").await;
    assert_eq!(
        w.confirm("bob", &canceled, &canceled_details).await.status,
        200
    );
    let rejected_before = raise("bob").await.0;
    assert_eq!(
        w.act("bob", &rejected_before, "reject", json!({}))
            .await
            .status,
        200
    );
    let unseen_by_gina = raise("bob").await.0;
    let recalled = raise("bob").await.0;
    let unseen_by_eng2 = raise("bob").await.0;
    let unseen_by_carol = raise("bob").await.0;
    let by_carols_group = raise("bob").await.0;
    let events = w.audit_events().await;
    let in_group = json!({"reject_reason": "mixed", "group_id": w.ids["ops"]});

    let reject = json!({"reject_reason": "mixed"});
    let mut calls: Vec<(&str, u16, i32, futures_util::future::BoxFuture<'_, Resp>)> = Vec::new();
    for id in &acme_rejects {
        calls.push((
            id,
            200,
            2,
            Box::pin(w.act("bob", id, "reject", reject.clone())),
        ));
    }
    for id in &globex_rejects {
        calls.push((
            id,
            200,
            2,
            Box::pin(w.act("gus", id, "reject", reject.clone())),
        ));
    }
    calls.push((
        &confirmed,
        200,
        1,
        Box::pin(w.confirm("bob", &confirmed, &confirmed_details)),
    ));
    calls.push((
        &canceled,
        200,
        5,
        Box::pin(w.act("bob", &canceled, "cancel", json!({}))),
    ));
    calls.push((&recalled, 200, 4, Box::pin(w.recall("eng", &recalled))));
    calls.push((
        &rejected_before,
        409,
        2,
        Box::pin(w.act("bob", &rejected_before, "reject", reject.clone())),
    ));
    calls.push((
        &unseen_by_gina,
        404,
        0,
        Box::pin(w.act("gina", &unseen_by_gina, "reject", reject.clone())),
    ));
    calls.push((
        &unseen_by_carol,
        404,
        0,
        Box::pin(w.act("carol", &unseen_by_carol, "reject", reject.clone())),
    ));
    calls.push((
        &by_carols_group,
        200,
        2,
        Box::pin(w.act("carol", &by_carols_group, "reject", in_group)),
    ));
    calls.push((
        &unseen_by_eng2,
        404,
        0,
        Box::pin(w.recall("eng2", &unseen_by_eng2)),
    ));
    let expected: Vec<(&str, u16, i32)> =
        calls.iter().map(|(id, s, to, _)| (*id, *s, *to)).collect();
    let answers =
        futures_util::future::join_all(calls.into_iter().map(|(_, _, _, call)| call)).await;

    let mut committed = 0;
    for ((id, status, to), r) in expected.iter().zip(&answers) {
        assert_eq!(r.status, *status, "{id}: {}", r.body);
        assert_eq!(w.status(id).await.code(), *to, "{id}");
        committed += usize::from(*status == 200);
    }
    assert_eq!(w.audit_events().await, events + committed);
    assert!(w.audit_verifies().await);
    let chains = w.app.audit_chains().await.unwrap();
    let cancel = chains
        .iter()
        .flat_map(|c| &c.events)
        .find(|e| {
            e.draft.authorization_id.map(|a| a.0.to_string()) == Some(canceled.clone())
                && e.draft.kind == "cancel"
        })
        .expect("the cancel's audit event");
    assert_eq!(cancel.draft.note, "credentials_purged=1 sessions_closed=0");
    let granted = w
        .call(
            "GET",
            &format!("/v2/servicerequest/authorizations/{confirmed}"),
            Some(w.token("bob")),
            None,
        )
        .await;
    let host = &granted.body["incident_auth_detail_list"][0];
    assert_eq!(
        (&host["port"], &host["account"]),
        (&json!(22), &json!("root")),
        "{}",
        granted.body
    );
    assert_eq!(granted.body["auth_handler_name"], "bob");
}
