//! Embedded, numbered migrations. Never edit an applied one: add the next.

use deadpool_postgres::Client;

use crate::store::StoreResult;

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_access_keys.sql")),
    (3, include_str!("migrations/0003_credential_epoch.sql")),
    (4, include_str!("migrations/0004_authorization_counts.sql")),
    (5, include_str!("migrations/0005_user_email.sql")),
    (6, include_str!("migrations/0006_used_signatures.sql")),
    (7, include_str!("migrations/0007_outbox.sql")),
    (8, include_str!("migrations/0008_broker.sql")),
    (9, include_str!("migrations/0009_console_sessions.sql")),
    (10, include_str!("migrations/0010_broker_files.sql")),
    (11, include_str!("migrations/0011_recordings.sql")),
    (12, include_str!("migrations/0012_notifications.sql")),
    (13, include_str!("migrations/0013_idempotency_keys.sql")),
    (14, include_str!("migrations/0014_reminders_backfill.sql")),
];

/// The migration whose SQL is followed by a step in Rust: the reminders' backfill.
const REMINDERS_BACKFILL: i64 = 14;

/// Any fixed number: instances starting together take turns on this advisory lock.
const MIGRATION_LOCK: i64 = 0x5350_4143_4345_5353;

pub async fn apply(client: &mut Client) -> StoreResult<()> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await?;
    for (version, sql) in MIGRATIONS {
        let applied: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)",
                &[version],
            )
            .await?
            .try_get(0)?;
        if !applied {
            tx.batch_execute(sql).await?;
            if *version == REMINDERS_BACKFILL {
                super::notify::backfill_reminders(&tx).await?;
            }
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                &[version, &jiff::Timestamp::now().as_millisecond()],
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
