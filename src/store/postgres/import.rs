//! Writing a whole installation in, for `db copy`, and the counts that check it.

use deadpool_postgres::Transaction;
use tokio_postgres::types::{ToSql, Type};

use super::PostgresStore;
use crate::store::copy::{Cell, Page};
use crate::store::{StoreError, StoreResult};

/// Rows per INSERT: few round trips, far below PostgreSQL's 65,535 parameters.
const ROWS_PER_INSERT: usize = 500;

/// Tables whose ids PostgreSQL generates: after rows arrive with their ids, the
/// generator must continue after the highest.
const GENERATED_IDS: [&str; 3] = [
    "session_operations",
    "session_file_transfers",
    "outbox_events",
];

impl PostgresStore {
    pub async fn schema_versions(&self) -> StoreResult<Vec<i64>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT version FROM schema_migrations ORDER BY version",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?)
    }

    /// `table` is one of [`crate::store::copy::TABLES`], never input.
    pub async fn count_rows(&self, table: &str) -> StoreResult<u64> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = self
            .client()
            .await?
            .query_one(&sql, &[])
            .await?
            .try_get(0)?;
        Ok(n as u64)
    }

    /// Writes the rows `read` gives for each of `tables`, in that order, into this
    /// database, which must hold none yet; all or nothing. `read(table, after)` gives
    /// the page after `after` (`None`: the first), so only a page is held at a time.
    pub async fn import(
        &self,
        tables: &[&str],
        mut read: impl FnMut(&str, Option<i64>) -> StoreResult<Page>,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        for table in tables {
            let holds: bool = tx
                .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), &[])
                .await?
                .try_get(0)?;
            if holds {
                return Err(StoreError::Duplicate(
                    format!("the target database is not empty (table {table} has rows)").into(),
                ));
            }
        }
        // The per-row counting triggers would run once per imported row (they tripled
        // the time of a 1M copy); the counts are made in one pass afterwards instead.
        tx.batch_execute("ALTER TABLE authorizations DISABLE TRIGGER USER")
            .await?;
        for table in tables {
            let mut after = None;
            loop {
                let page = read(table, after)?;
                for chunk in page.rows.rows.chunks(ROWS_PER_INSERT) {
                    insert(&tx, table, &page.rows.columns, chunk).await?;
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        tx.batch_execute(
            "INSERT INTO authorization_counts (customer_id, x_customer_id, status, n) \
             SELECT customer_id, x_customer_id, status, COUNT(*) FROM authorizations \
             GROUP BY 1, 2, 3 ON CONFLICT (customer_id, x_customer_id, status) \
             DO UPDATE SET n = authorization_counts.n + EXCLUDED.n; \
             ALTER TABLE authorizations ENABLE TRIGGER USER",
        )
        .await?;
        for table in GENERATED_IDS {
            tx.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table}"
                ),
                &[],
            )
            .await?;
        }
        tx.commit().await?;
        // Freshly loaded tables have no planner statistics and no visibility map (a
        // big tenant's list count then read every heap row it counted: 137 ms instead
        // of 8.5 ms for 40,000 rows, measured), and the trigger-kept counts hold a dead
        // row version per imported row, until autovacuum comes by. The whole database:
        // the target was empty, so it holds only what was just copied.
        client.batch_execute("VACUUM (ANALYZE)").await?;
        Ok(())
    }
}

async fn insert(
    tx: &Transaction<'_>,
    table: &str,
    columns: &[String],
    rows: &[Vec<Cell>],
) -> StoreResult<()> {
    let names: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    let tuples: Vec<String> = (0..rows.len())
        .map(|row| {
            let marks: Vec<String> = (1..=columns.len())
                .map(|col| format!("${}", row * columns.len() + col))
                .collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES {}",
        names.join(", "),
        tuples.join(", ")
    );
    let stmt = tx.prepare(&sql).await?;
    let mut values = Vec::with_capacity(stmt.params().len());
    for (cell, ty) in rows.iter().flatten().zip(stmt.params()) {
        let column = &columns[values.len() % columns.len()];
        values.push(value(cell, ty).ok_or_else(|| {
            StoreError::Internal(
                format!("{table}.{column}: cannot store {} as {ty}", cell.kind()).into(),
            )
        })?);
    }
    let params: Vec<&(dyn ToSql + Sync)> = values
        .iter()
        .map(|v| v.as_ref() as &(dyn ToSql + Sync))
        .collect();
    tx.execute(&stmt, &params).await?;
    Ok(())
}

/// `cell` typed for a PostgreSQL column of type `ty`; SQLite's 0/1 become booleans.
fn value(cell: &Cell, ty: &Type) -> Option<Box<dyn ToSql + Sync + Send>> {
    let int = *ty == Type::INT8;
    let boolean = *ty == Type::BOOL;
    let text = *ty == Type::TEXT;
    let bytes = *ty == Type::BYTEA;
    Some(match cell {
        Cell::Null if int => Box::new(None::<i64>),
        Cell::Null if boolean => Box::new(None::<bool>),
        Cell::Null if text => Box::new(None::<String>),
        Cell::Null if bytes => Box::new(None::<Vec<u8>>),
        Cell::Int(i) if int => Box::new(*i),
        Cell::Int(i) if boolean => Box::new(*i != 0),
        Cell::Text(t) if text => Box::new(t.clone()),
        Cell::Bytes(b) if bytes => Box::new(b.clone()),
        _ => return None,
    })
}

/// A column name as an SQL identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
