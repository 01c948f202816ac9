//! Embedded, numbered migrations. Never edit an applied one: add the next.

use rusqlite::{Connection, params};

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

pub fn apply(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    for (version, sql) in MIGRATIONS {
        let tx = conn.unchecked_transaction()?;
        let applied: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)",
            [version],
            |r| r.get(0),
        )?;
        if !applied {
            tx.execute_batch(sql)?;
            if *version == REMINDERS_BACKFILL {
                super::notify::backfill_reminders(&tx)?;
            }
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                params![version, jiff::Timestamp::now().as_millisecond()],
            )?;
        }
        tx.commit()?;
    }
    Ok(())
}
