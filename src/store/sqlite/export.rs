//! Reading a whole installation out, for `db copy`.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, params};

use crate::store::copy::{Cell, Page, Rows};
use crate::store::{StoreError, StoreResult};

/// A read-only view of the database as it was when the first table was read, so a
/// copy is consistent even if a server is still writing.
pub struct Snapshot {
    conn: Connection,
}

impl Snapshot {
    pub fn open(path: &Path) -> StoreResult<Snapshot> {
        if !path.is_file() {
            return Err(StoreError::Unavailable(
                format!("no SQLite database at {}", path.display()).into(),
            ));
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.execute_batch("BEGIN")?;
        Ok(Snapshot { conn })
    }

    pub fn schema_versions(&self) -> StoreResult<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT version FROM schema_migrations ORDER BY version")?;
        let versions = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(versions)
    }

    /// Up to `limit` rows of `table` after the row `after` (a rowid; `None` from the
    /// start), in rowid order, and where the next page starts, if there may be one.
    /// `table` is one of [`crate::store::copy::TABLES`], never input.
    pub fn page(&self, table: &str, after: Option<i64>, limit: usize) -> StoreResult<Page> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT rowid AS copy_rowid, * FROM {table} WHERE rowid > ?1 ORDER BY rowid LIMIT ?2"
        ))?;
        // The rowid is read to find the next page, not copied.
        let columns: Vec<String> = stmt.column_names().skip(1).map(String::from).collect();
        let width = columns.len();
        let mut last = None;
        let rows = stmt
            .query_map(params![after.unwrap_or(i64::MIN), limit as i64], |r| {
                last = Some(r.get::<_, i64>(0)?);
                (1..=width).map(|i| cell(i, r.get_ref(i)?)).collect()
            })?
            .collect::<rusqlite::Result<Vec<Vec<Cell>>>>()?;
        let next = if rows.len() == limit { last } else { None };
        Ok(Page {
            rows: Rows { columns, rows },
            next,
        })
    }

    pub fn count(&self, table: &str) -> StoreResult<u64> {
        let n: i64 = self
            .conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        Ok(n as u64)
    }
}

/// The value of column `index`, exactly as stored.
fn cell(index: usize, value: ValueRef) -> rusqlite::Result<Cell> {
    Ok(match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Text(t) => Cell::Text(
            String::from_utf8(t.to_vec())
                .map_err(|e| rusqlite::Error::Utf8Error(index, e.utf8_error()))?,
        ),
        ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
        ValueRef::Real(_) => {
            return Err(rusqlite::Error::InvalidColumnType(
                index,
                "a REAL value".into(),
                rusqlite::types::Type::Real,
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::domain::audit::{Actor, AuditDraft, SYSTEM_CHAIN};
    use crate::store::copy::Cell;
    use crate::store::sqlite::{SqliteStore, Synchronous};
    use crate::store::{AdminChange, DomainRecord, Store};

    /// Pages follow each other without a gap or an overlap, and the last says so.
    #[tokio::test]
    async fn pages_cover_a_table_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let store = SqliteStore::open(&path, Synchronous::Normal).unwrap();
        for i in 0..5 {
            let domain = DomainRecord {
                id: format!("{i:032x}"),
                name: format!("domain-{i}"),
                is_provider: false,
                created_at: Timestamp::UNIX_EPOCH,
            };
            let event =
                AuditDraft::admin(SYSTEM_CHAIN, &Actor::system(), "domain.created", None, None);
            let change = AdminChange::CreateDomain(domain);
            store
                .apply_admin_change(change, event, Timestamp::UNIX_EPOCH)
                .await
                .unwrap();
        }
        let snapshot = Snapshot::open(&path).unwrap();
        let (mut names, mut pages, mut after) = (Vec::new(), 0, None);
        loop {
            let page = snapshot.page("domains", after, 2).unwrap();
            let name = page.rows.columns.iter().position(|c| c == "name").unwrap();
            assert!(!page.rows.columns.contains(&"copy_rowid".to_owned()));
            names.extend(page.rows.rows.iter().map(|r| r[name].clone()));
            pages += 1;
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let expected: Vec<Cell> = (0..5).map(|i| Cell::Text(format!("domain-{i}"))).collect();
        assert!(names == expected, "every row once, in order");
        assert_eq!(pages, 3);
    }
}
