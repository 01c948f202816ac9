//! Reminders, the e-mail channel's deliveries, disabling failing subscriptions and
//! pruning. What they decide comes from `store::plan`; their SQL from `store::rows`.
//! Several instances share the work: due reminders and e-mails are taken with
//! `FOR UPDATE SKIP LOCKED`, and each write is conditional, so none is done twice.

use deadpool_postgres::{GenericClient, Transaction};
use jiff::Timestamp;

use super::outbox;
use crate::domain::event::{OutboxDraft, OutboxEvent};
use crate::domain::reminder::Reminder;
use crate::store::plan;
use crate::store::rows;
use crate::store::{DeliveryOutcome, EmailJob, EmailRecipient, StoreResult, UserRecord};

/// Schedules `reminders`; runs inside the caller's transaction.
pub async fn schedule(tx: &Transaction<'_>, reminders: &[Reminder]) -> StoreResult<()> {
    if reminders.is_empty() {
        return Ok(());
    }
    let values: Vec<_> = reminders.iter().map(rows::reminder_values).collect();
    let insert = tx
        .prepare_cached(
            "INSERT INTO reminders (authorization_id, kind, status, due_at) \
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bigint[]) \
             ON CONFLICT DO NOTHING",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &values.iter().map(|v| v.0).collect::<Vec<_>>(),
            &values.iter().map(|v| v.1).collect::<Vec<_>>(),
            &values.iter().map(|v| v.2).collect::<Vec<_>>(),
            &values.iter().map(|v| v.3).collect::<Vec<_>>(),
        ],
    )
    .await?;
    Ok(())
}

/// Schedules the reminders of every pending or authorized authorization, as its raise
/// or confirm would have: for those from before reminders were scheduled (migration
/// 14). Reminders scheduled already stay as they are.
pub async fn backfill_reminders(tx: &Transaction<'_>) -> StoreResult<()> {
    let mut reminders = Vec::new();
    for row in tx.query(rows::REMINDABLE_AUTHORIZATIONS, &[]).await? {
        reminders.extend(rows::row_reminders(&row)?);
    }
    schedule(tx, &reminders).await
}

/// Sends up to `limit` due reminders (their events and "sent" markers together) and
/// drops those whose authorization moved on; how many it looked at.
pub async fn send_due_reminders(
    tx: &Transaction<'_>,
    now: Timestamp,
    limit: u32,
) -> StoreResult<u32> {
    let ms = now.as_millisecond();
    let due = tx
        .query(
            &format!("{} FOR UPDATE OF r SKIP LOCKED", rows::DUE_REMINDERS),
            &[&ms, &i64::from(limit)],
        )
        .await?
        .iter()
        .map(rows::due_reminder)
        .collect::<StoreResult<Vec<_>>>()?;
    for d in &due {
        match plan::reminder_event(d, now) {
            Some(event) => {
                let marked = tx
                    .execute(
                        rows::MARK_REMINDER_SENT,
                        &[&ms, &d.authorization_id.0, &d.kind],
                    )
                    .await?;
                if marked == 1 {
                    outbox::append(tx, &event).await?;
                }
            }
            None => {
                tx.execute(rows::DROP_REMINDER, &[&d.authorization_id.0, &d.kind])
                    .await?;
            }
        }
    }
    Ok(due.len() as u32)
}

pub async fn approvers(
    c: &impl GenericClient,
    domain_id: &str,
    submitter_id: &str,
) -> StoreResult<Vec<UserRecord>> {
    c.query(&rows::approvers_query(), &[&domain_id, &submitter_id])
        .await?
        .iter()
        .map(|r| rows::user(r, 0))
        .collect()
}

pub async fn unemailed(c: &impl GenericClient, limit: u32) -> StoreResult<Vec<OutboxEvent>> {
    let rows = c.query(rows::UNEMAILED, &[&i64::from(limit)]).await?;
    let mut events = Vec::with_capacity(rows.len());
    for r in rows {
        events.push(outbox::by_id(c, r.try_get(0)?).await?);
    }
    Ok(events)
}

/// Addresses `event` to `recipients` once; `false` if it was addressed already.
pub async fn address(
    tx: &Transaction<'_>,
    event: i64,
    recipients: &[EmailRecipient],
    now: Timestamp,
) -> StoreResult<bool> {
    let ms = now.as_millisecond();
    if tx.execute(rows::MARK_EMAILED, &[&ms, &event]).await? == 0 {
        return Ok(false);
    }
    let insert = tx.prepare_cached(rows::INSERT_EMAIL).await?;
    for r in recipients {
        tx.execute(
            &insert,
            &[
                &event,
                &r.user_id,
                &r.address,
                &rows::language_tag(r.language),
                &ms,
            ],
        )
        .await?;
    }
    Ok(true)
}

pub async fn claim_emails(
    tx: &Transaction<'_>,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> StoreResult<Vec<EmailJob>> {
    let due = tx
        .query(
            &format!("{} FOR UPDATE OF e SKIP LOCKED", rows::due_emails_query()),
            &[&now.as_millisecond(), &i64::from(limit)],
        )
        .await?
        .iter()
        .map(rows::email_job)
        .collect::<StoreResult<Vec<_>>>()?;
    let mut jobs = Vec::with_capacity(due.len());
    for (event_id, recipient, attempts) in due {
        tx.execute(
            rows::LEASE_EMAIL,
            &[&lease_until.as_millisecond(), &event_id, &recipient.user_id],
        )
        .await?;
        jobs.push(EmailJob {
            event: outbox::by_id(tx, event_id).await?,
            recipient,
            attempts,
        });
    }
    Ok(jobs)
}

pub async fn finish_email(
    c: &impl GenericClient,
    event_id: i64,
    user_id: &str,
    outcome: &DeliveryOutcome,
    error: Option<&str>,
    now: Timestamp,
) -> StoreResult<()> {
    let (state, next) = rows::delivery_state(outcome, now);
    c.execute(
        rows::FINISH_EMAIL,
        &[
            &state,
            &next.as_millisecond(),
            &error,
            &now.as_millisecond(),
            &event_id,
            &user_id,
        ],
    )
    .await?;
    Ok(())
}

/// Disables subscription `id` and appends `event` saying so, unless it was disabled
/// already; its undelivered deliveries are dead-lettered. Whether it was disabled now.
pub async fn disable_webhook(
    tx: &Transaction<'_>,
    id: &str,
    event: &OutboxDraft,
    now: Timestamp,
) -> StoreResult<bool> {
    if tx.execute(rows::DISABLE_WEBHOOK, &[&id]).await? == 0 {
        return Ok(false);
    }
    tx.execute(rows::DEAD_LETTER_UNDELIVERED, &[&now.as_millisecond(), &id])
        .await?;
    outbox::append(tx, event).await?;
    Ok(true)
}

/// Deletes up to `limit` rows of each kind finished before `before`; how many in all.
pub async fn prune(c: &impl GenericClient, before: Timestamp, limit: u32) -> StoreResult<u64> {
    let mut n = 0;
    for sql in rows::PRUNE {
        n += c
            .execute(sql, &[&before.as_millisecond(), &i64::from(limit)])
            .await?;
    }
    Ok(n)
}
