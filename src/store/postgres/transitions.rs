//! Transitions, set-based: any number of them on distinct authorizations in one
//! transaction, in a fixed number of statements whatever their number.
//!
//! Each statement binds one array per column and `UNNEST`s them: the facts are read
//! under each job's own scope, the status update is conditional on each job's own
//! `from`, and the rows it returns are the jobs that won; the grants, the end of
//! access, the outbox events and the reminders follow, then each domain's audit events
//! in one append (`audit::append_chain`). A job refused by its precondition (not
//! visible, wrong status, or moved by another writer first) gets its own error and
//! writes nothing; the others carry on.

use std::collections::{BTreeMap, HashMap, HashSet};

use deadpool_postgres::Transaction;
use futures_util::future::join_all;
use jiff::Timestamp;

use super::audit;
use super::notify;
use super::outbox;
use super::query::ScopeArrays;
use crate::domain::audit::AuditDraft;
use crate::domain::event::OutboxDraft;
use crate::domain::{AuthorizationId, Status};
use crate::store::plan::{AccessEnded, TransitionFacts, TransitionPlan};
use crate::store::rows::Columns;
use crate::store::{StoreError, StoreResult, TransitionRequest};

fn code(s: Status) -> i64 {
    i64::from(s.code())
}

/// Whether a job's error is its own refused precondition, which wrote nothing.
pub fn refused(e: &StoreError) -> bool {
    matches!(e, StoreError::NotFound | StoreError::Transition(_))
}

/// One transition in `tx`.
pub async fn transition(tx: &Transaction<'_>, req: &TransitionRequest) -> StoreResult<Status> {
    transition_all(tx, &[req]).await?.pop().unwrap_or_else(|| {
        Err(StoreError::Internal(
            "a transition without an answer".into(),
        ))
    })
}

/// Carries out `requests` (each on its own authorization) in `tx`: one answer per
/// request, in order, a refused one its own error. `Err` when something else failed,
/// which leaves `tx` to be rolled back.
pub async fn transition_all(
    tx: &Transaction<'_>,
    requests: &[&TransitionRequest],
) -> StoreResult<Vec<StoreResult<Status>>> {
    debug_assert!(distinct(requests), "one transition per authorization");
    let mut facts = read_facts(tx, requests).await?;
    let mut answers = Vec::with_capacity(requests.len());
    let mut plans = Vec::with_capacity(requests.len());
    for req in requests {
        match TransitionPlan::decide(req, facts.remove(&req.id.0)) {
            Ok(plan) => {
                answers.push(Ok(plan.from));
                plans.push(Some(plan));
            }
            Err(e) if refused(&e) => {
                answers.push(Err(e));
                plans.push(None);
            }
            Err(e) => return Err(e),
        }
    }
    // Another instance may have moved a row since it was read: the status condition
    // makes the update the arbiter, and a row it did not change means that one won.
    let changed = update_statuses(tx, plans.iter().flatten()).await?;
    let lost: Vec<&TransitionRequest> = requests
        .iter()
        .zip(&plans)
        .filter(|(req, plan)| plan.is_some() && !changed.contains(&req.id.0))
        .map(|(req, _)| *req)
        .collect();
    if !lost.is_empty() {
        let now_in = read_facts(tx, &lost).await?;
        for (answer, plan) in answers.iter_mut().zip(plans.iter_mut()) {
            if let Some(p) = plan.as_ref().filter(|p| !changed.contains(&p.id.0)) {
                *answer = Err(p.lost_race(now_in.get(&p.id.0).map(|f| f.status)));
                *plan = None;
            }
        }
    }
    let done: Vec<(&TransitionRequest, TransitionPlan)> = requests
        .iter()
        .copied()
        .zip(plans)
        .filter_map(|(req, plan)| plan.map(|p| (req, p)))
        .collect();
    let reminders: Vec<_> = done
        .iter()
        .flat_map(|(_, p)| p.reminders.iter().cloned())
        .collect();
    let ((ended, closed), (), (), ()) = tokio::try_join!(
        end_access(tx, &done),
        store_grants(tx, &done),
        outbox::append_all(tx, done.iter().map(|(_, p)| &p.outbox)),
        notify::schedule(tx, &reminders),
    )?;
    // After the transitions' own events: those of the sessions their ends of access closed.
    let sessions_closed: Vec<OutboxDraft> = done
        .iter()
        .filter_map(|(_, p)| {
            closed
                .get(&p.id.0)
                .map(|sessions| p.sessions_closed(sessions))
        })
        .flatten()
        .collect();
    outbox::append_all(tx, &sessions_closed).await?;
    // Each domain's events in batch order, in one append; all domains at once, the
    // heads locked in domain order so that two writers never wait on each other in a
    // cycle.
    let mut chains: BTreeMap<String, Vec<(AuditDraft, Timestamp)>> = BTreeMap::new();
    for (req, plan) in &done {
        let event = plan.event(ended.get(&plan.id.0).copied());
        chains
            .entry(event.domain_id.clone())
            .or_default()
            .push((event, req.now));
    }
    join_all(
        chains
            .into_values()
            .map(|chain| audit::append_chain(tx, chain)),
    )
    .await
    .into_iter()
    .collect::<StoreResult<Vec<()>>>()?;
    Ok(answers)
}

/// The facts each transition is decided on, by authorization, for the rows visible in
/// their request's scope; one statement.
async fn read_facts(
    tx: &Transaction<'_>,
    requests: &[&TransitionRequest],
) -> StoreResult<HashMap<i64, TransitionFacts>> {
    let mut scopes = ScopeArrays::default();
    for req in requests {
        scopes.push(req.id.0, &req.scope);
    }
    let stmt = tx
        .prepare_cached(&format!(
            "SELECT a.id, a.status, a.customer_id FROM {} JOIN authorizations a ON a.id = u.id \
             WHERE {}",
            ScopeArrays::UNNESTED,
            ScopeArrays::CONDITION
        ))
        .await?;
    tx.query(&stmt, &scopes.params())
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.int(0)?,
                TransitionFacts {
                    status: r.status(1)?,
                    domain_id: r.text(2)?,
                },
            ))
        })
        .collect()
}

/// The conditional status updates; the ids of the rows changed.
async fn update_statuses<'p>(
    tx: &Transaction<'_>,
    plans: impl Iterator<Item = &'p TransitionPlan<'p>>,
) -> StoreResult<HashSet<i64>> {
    let (mut ids, mut from, mut to, mut at) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut sets_reason, mut reason, mut handler) = (Vec::new(), Vec::new(), Vec::new());
    for p in plans {
        ids.push(p.id.0);
        from.push(code(p.from));
        to.push(code(p.to));
        at.push(p.updated_at_ms);
        sets_reason.push(p.reject_reason.is_some());
        reason.push(p.reject_reason.flatten());
        handler.push(p.handler);
    }
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let update = tx
        .prepare_cached(
            "UPDATE authorizations a SET status = u.to_status, updated_at = u.at, \
             reject_reason = CASE WHEN u.sets_reason THEN u.reason ELSE a.reject_reason END, \
             handler_name = COALESCE(u.handler, a.handler_name) \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bool[], \
             $6::text[], $7::text[]) AS u (id, from_status, to_status, at, sets_reason, reason, \
             handler) WHERE a.id = u.id AND a.status = u.from_status RETURNING a.id",
        )
        .await?;
    tx.query(
        &update,
        &[&ids, &from, &to, &at, &sets_reason, &reason, &handler],
    )
    .await?
    .iter()
    .map(|r| r.int(0))
    .collect()
}

/// The grants of the confirms among `done`: their windows, then their details.
async fn store_grants(
    tx: &Transaction<'_>,
    done: &[(&TransitionRequest, TransitionPlan<'_>)],
) -> StoreResult<()> {
    let grants: Vec<_> = done
        .iter()
        .filter_map(|(_, p)| p.grant.map(|(g, handler)| (p.id, g, handler)))
        .collect();
    if grants.is_empty() {
        return Ok(());
    }
    let window = tx
        .prepare_cached(
            "UPDATE authorizations a SET effective_at = u.effective_at, expire_at = u.expire_at, \
             agency_id = u.agency_id, handler_name = u.handler \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[]) \
             AS u (id, effective_at, expire_at, agency_id, handler) WHERE a.id = u.id",
        )
        .await?;
    tx.execute(
        &window,
        &[
            &grants.iter().map(|(id, _, _)| id.0).collect::<Vec<_>>(),
            &grants
                .iter()
                .map(|(_, g, _)| g.effective_at.as_millisecond())
                .collect::<Vec<_>>(),
            &grants
                .iter()
                .map(|(_, g, _)| g.expire_at.as_millisecond())
                .collect::<Vec<_>>(),
            &grants
                .iter()
                .map(|(_, g, _)| g.agency_id.as_deref())
                .collect::<Vec<_>>(),
            &grants.iter().map(|(_, _, h)| *h).collect::<Vec<_>>(),
        ],
    )
    .await?;
    let details: Vec<_> = grants
        .iter()
        .flat_map(|(id, g, _)| g.details.iter().map(move |d| (*id, d)))
        .collect();
    if details.is_empty() {
        return Ok(());
    }
    let update = tx
        .prepare_cached(
            "UPDATE authorization_details d SET granted_port = u.port, account = u.account, \
             password_ciphertext = u.ciphertext \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bytea[]) \
             AS u (id, authorization_id, port, account, ciphertext) \
             WHERE d.id = u.id AND d.authorization_id = u.authorization_id",
        )
        .await?;
    tx.execute(
        &update,
        &[
            &details
                .iter()
                .map(|(_, d)| d.detail_id.0)
                .collect::<Vec<_>>(),
            &details.iter().map(|(id, _)| id.0).collect::<Vec<_>>(),
            &details
                .iter()
                .map(|(_, d)| d.port.map(i64::from))
                .collect::<Vec<_>>(),
            &details
                .iter()
                .map(|(_, d)| d.account.as_deref())
                .collect::<Vec<_>>(),
            &details
                .iter()
                .map(|(_, d)| d.password_ciphertext.as_deref())
                .collect::<Vec<_>>(),
        ],
    )
    .await?;
    Ok(())
}

/// For the jobs among `done` that leave `authorized`: closes their open sessions and
/// purges their host credentials; what that touched, and the sessions closed, by
/// authorization.
async fn end_access(
    tx: &Transaction<'_>,
    done: &[(&TransitionRequest, TransitionPlan<'_>)],
) -> StoreResult<(HashMap<i64, AccessEnded>, HashMap<i64, Vec<i64>>)> {
    let ending: Vec<_> = done.iter().filter(|(_, p)| p.ends_access).collect();
    if ending.is_empty() {
        return Ok((HashMap::new(), HashMap::new()));
    }
    let ids: Vec<i64> = ending.iter().map(|(_, p)| p.id.0).collect();
    let at: Vec<i64> = ending.iter().map(|(r, _)| r.now.as_millisecond()).collect();
    let reasons: Vec<String> = ending.iter().map(|(_, p)| p.close_reason()).collect();
    let close = tx
        .prepare_cached(
            "UPDATE sessions s SET ended_at = u.at, close_reason = u.reason \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::text[]) AS u (id, at, reason) \
             WHERE s.authorization_id = u.id AND s.ended_at IS NULL \
             RETURNING s.authorization_id, s.id",
        )
        .await?;
    let purge = tx
        .prepare_cached(
            "UPDATE authorization_details SET password_ciphertext = NULL \
             WHERE authorization_id = ANY($1) AND password_ciphertext IS NOT NULL \
             RETURNING authorization_id",
        )
        .await?;
    let (close_params, purge_params) = ([&ids as _, &at as _, &reasons as _], [&ids as _]);
    let (closed, purged) = tokio::try_join!(
        tx.query(&close, &close_params),
        tx.query(&purge, &purge_params),
    )?;
    let mut ended: HashMap<i64, AccessEnded> = ids
        .iter()
        .map(|id| {
            let none = AccessEnded {
                credentials_purged: 0,
                sessions_closed: 0,
            };
            (*id, none)
        })
        .collect();
    let mut sessions: HashMap<i64, Vec<i64>> = HashMap::new();
    for r in &closed {
        let id = r.int(0)?;
        if let Some(e) = ended.get_mut(&id) {
            e.sessions_closed += 1;
            sessions.entry(id).or_default().push(r.int(1)?);
        }
    }
    for r in &purged {
        if let Some(e) = ended.get_mut(&r.int(0)?) {
            e.credentials_purged += 1;
        }
    }
    Ok((ended, sessions))
}

/// Whether `requests` name each authorization once, as the statements above assume.
fn distinct(requests: &[&TransitionRequest]) -> bool {
    let ids: HashSet<AuthorizationId> = requests.iter().map(|r| r.id).collect();
    ids.len() == requests.len()
}
