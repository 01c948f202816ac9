//! Reminders, the e-mail channel's deliveries, disabling failing subscriptions and
//! pruning. What they decide comes from `store::plan`; their SQL from `store::rows`.

use jiff::Timestamp;
use rusqlite::{Connection, params};

use super::{all, outbox};
use crate::domain::event::{OutboxDraft, OutboxEvent};
use crate::domain::reminder::Reminder;
use crate::store::plan;
use crate::store::rows;
use crate::store::{DeliveryOutcome, EmailJob, EmailRecipient, StoreResult, UserRecord};

/// Schedules `reminders`; runs inside the caller's transaction.
pub fn schedule(conn: &Connection, reminders: &[Reminder]) -> StoreResult<()> {
    let mut insert = conn.prepare_cached(rows::INSERT_REMINDER)?;
    for r in reminders {
        let (id, kind, status, due) = rows::reminder_values(r);
        insert.execute(params![id, kind, status, due])?;
    }
    Ok(())
}

/// Schedules the reminders of every pending or authorized authorization, as its raise
/// or confirm would have: for those from before reminders were scheduled (migration
/// 14). Reminders scheduled already stay as they are.
pub fn backfill_reminders(conn: &Connection) -> StoreResult<()> {
    let per_row = all(
        &mut conn.prepare(rows::REMINDABLE_AUTHORIZATIONS)?,
        [],
        |r| rows::row_reminders(r),
    )?;
    schedule(conn, &per_row.concat())
}

/// Sends up to `limit` due reminders (their events and "sent" markers together) and
/// drops those whose authorization moved on; how many it looked at.
pub fn send_due_reminders(conn: &Connection, now: Timestamp, limit: u32) -> StoreResult<u32> {
    let ms = now.as_millisecond();
    let due = all(
        &mut *conn.prepare_cached(rows::DUE_REMINDERS)?,
        params![ms, limit],
        |r| rows::due_reminder(r),
    )?;
    for d in &due {
        match plan::reminder_event(d, now) {
            Some(event) => {
                let marked = conn
                    .prepare_cached(rows::MARK_REMINDER_SENT)?
                    .execute(params![ms, d.authorization_id.0, d.kind])?;
                if marked == 1 {
                    outbox::append(conn, &event)?;
                }
            }
            None => {
                conn.prepare_cached(rows::DROP_REMINDER)?
                    .execute(params![d.authorization_id.0, d.kind])?;
            }
        }
    }
    Ok(due.len() as u32)
}

pub fn approvers(
    conn: &Connection,
    domain_id: &str,
    submitter_id: &str,
) -> StoreResult<Vec<UserRecord>> {
    all(
        &mut *conn.prepare_cached(&rows::approvers_query())?,
        [domain_id, submitter_id],
        |r| rows::user(r, 0),
    )
}

pub fn unemailed(conn: &Connection, limit: u32) -> StoreResult<Vec<OutboxEvent>> {
    let seqs: Vec<i64> = conn
        .prepare_cached(rows::UNEMAILED)?
        .query_map([limit], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    seqs.into_iter().map(|s| outbox::by_id(conn, s)).collect()
}

/// Addresses `event` to `recipients` once; `false` if it was addressed already.
pub fn address(
    conn: &Connection,
    event: i64,
    recipients: &[EmailRecipient],
    now: Timestamp,
) -> StoreResult<bool> {
    let ms = now.as_millisecond();
    if conn
        .prepare_cached(rows::MARK_EMAILED)?
        .execute(params![ms, event])?
        == 0
    {
        return Ok(false);
    }
    let mut insert = conn.prepare_cached(rows::INSERT_EMAIL)?;
    for r in recipients {
        insert.execute(params![
            event,
            r.user_id,
            r.address,
            rows::language_tag(r.language),
            ms
        ])?;
    }
    Ok(true)
}

pub fn claim_emails(
    conn: &Connection,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> StoreResult<Vec<EmailJob>> {
    let due = all(
        &mut *conn.prepare_cached(&rows::due_emails_query())?,
        params![now.as_millisecond(), limit],
        |r| rows::email_job(r),
    )?;
    let mut jobs = Vec::with_capacity(due.len());
    for (event_id, recipient, attempts) in due {
        conn.prepare_cached(rows::LEASE_EMAIL)?.execute(params![
            lease_until.as_millisecond(),
            event_id,
            recipient.user_id
        ])?;
        jobs.push(EmailJob {
            event: outbox::by_id(conn, event_id)?,
            recipient,
            attempts,
        });
    }
    Ok(jobs)
}

pub fn finish_email(
    conn: &Connection,
    event_id: i64,
    user_id: &str,
    outcome: &DeliveryOutcome,
    error: Option<&str>,
    now: Timestamp,
) -> StoreResult<()> {
    let (state, next) = rows::delivery_state(outcome, now);
    conn.prepare_cached(rows::FINISH_EMAIL)?.execute(params![
        state,
        next.as_millisecond(),
        error,
        now.as_millisecond(),
        event_id,
        user_id
    ])?;
    Ok(())
}

/// Disables subscription `id` and appends `event` saying so, unless it was disabled
/// already; its undelivered deliveries are dead-lettered. Whether it was disabled now.
pub fn disable_webhook(
    conn: &Connection,
    id: &str,
    event: &OutboxDraft,
    now: Timestamp,
) -> StoreResult<bool> {
    if conn.prepare_cached(rows::DISABLE_WEBHOOK)?.execute([id])? == 0 {
        return Ok(false);
    }
    conn.prepare_cached(rows::DEAD_LETTER_UNDELIVERED)?
        .execute(params![now.as_millisecond(), id])?;
    outbox::append(conn, event)?;
    Ok(true)
}

/// Deletes up to `limit` rows of each kind finished before `before`; how many in all.
pub fn prune(conn: &Connection, before: Timestamp, limit: u32) -> StoreResult<u64> {
    let mut n = 0;
    for sql in rows::PRUNE {
        n += conn
            .prepare_cached(sql)?
            .execute(params![before.as_millisecond(), limit])? as u64;
    }
    Ok(n)
}
