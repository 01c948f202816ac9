//! `db copy`: a whole installation from SQLite into an empty PostgreSQL database, row
//! for row (ids, password hashes, token hashes, the wrapped data key, sealed host
//! credentials and the audit chains unchanged), then checked on the target.

use std::path::Path;

use super::postgres::PostgresStore;
use super::sqlite::export::Snapshot;
use super::{Store, StoreError, StoreResult};

/// Every table, parents before children.
pub const TABLES: [&str; 21] = [
    "domains",
    "users",
    "engineer_ssh_keys",
    "access_keys",
    "user_groups",
    "group_members",
    "tokens",
    "console_sessions",
    "keyring",
    "broker_host_key",
    "authorizations",
    "authorization_details",
    "sessions",
    "session_operations",
    "session_file_transfers",
    "audit_events",
    "audit_heads",
    "outbox_events",
    "webhook_subscriptions",
    "webhook_deliveries",
    "idempotency_keys",
];

/// A stored value, whichever database it came from.
#[derive(Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Cell {
    /// What kind of value this is; never the value, which may be a secret.
    pub fn kind(&self) -> &'static str {
        match self {
            Cell::Null => "NULL",
            Cell::Int(_) => "an integer",
            Cell::Text(_) => "text",
            Cell::Bytes(_) => "bytes",
        }
    }
}

/// One table's rows.
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// Some rows of a table, and where the next page starts (`None`: that was the last).
pub struct Page {
    pub rows: Rows,
    pub next: Option<i64>,
}

/// Rows read and written at a time: memory stays bounded whatever the source's size.
pub const ROWS_PER_PAGE: usize = 5_000;

/// What was copied and found intact on the target.
#[derive(Debug)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
    pub audit_chains: usize,
    pub audit_events: usize,
}

/// Copies the SQLite installation at `from` into the empty PostgreSQL database `to`
/// in one transaction, then checks every table's row count and every audit chain.
pub async fn sqlite_to_postgres(from: &Path, to: &str) -> StoreResult<CopyReport> {
    let source = Snapshot::open(from)?;
    let target = PostgresStore::open(to).await?;
    let (ours, theirs) = (source.schema_versions()?, target.schema_versions().await?);
    if ours != theirs {
        return Err(StoreError::Internal(
            format!(
                "schema versions differ: the SQLite database has {ours:?}, PostgreSQL {theirs:?}; \
             run `support-access migrate` on the SQLite database first"
            )
            .into(),
        ));
    }
    target
        .import(&TABLES, |table, after| {
            source.page(table, after, ROWS_PER_PAGE)
        })
        .await?;
    // From here on the copy is committed: a failed check means the target is suspect.

    let mut tables = Vec::new();
    for table in TABLES {
        let (expected, copied) = (source.count(table)?, target.count_rows(table).await?);
        if expected != copied {
            return Err(StoreError::Internal(format!(
                "check after copying: {table} has {expected} rows in SQLite but {copied} in PostgreSQL"
            ).into()));
        }
        tables.push((table, copied));
    }
    let chains = target.audit_chains().await?;
    if let Some(problem) = chains.iter().find_map(|c| c.verify().err()) {
        return Err(StoreError::Internal(
            format!("the copied audit chain does not verify: {problem}").into(),
        ));
    }
    Ok(CopyReport {
        tables,
        audit_chains: chains.len(),
        audit_events: chains.iter().map(|c| c.events.len()).sum(),
    })
}
