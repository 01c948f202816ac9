//! Reading a whole installation out, for `db copy`.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use crate::store::copy::{Cell, Rows};
use crate::store::{StoreError, StoreResult};

/// A read-only view of the database as it was when the first table was read, so a
/// copy is consistent even if a server is still writing.
pub struct Snapshot {
    conn: Connection,
}

impl Snapshot {
    pub fn open(path: &Path) -> StoreResult<Snapshot> {
        if !path.is_file() {
            return Err(StoreError::Unavailable(format!(
                "no SQLite database at {}",
                path.display()
            )));
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

    /// `table` is one of [`crate::store::copy::TABLES`], never input.
    pub fn rows(&self, table: &str) -> StoreResult<Rows> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))?;
        let columns: Vec<String> = stmt.column_names().map(String::from).collect();
        let width = columns.len();
        let rows = stmt
            .query_map([], |r| (0..width).map(|i| cell(i, r.get_ref(i)?)).collect())?
            .collect::<rusqlite::Result<Vec<Vec<Cell>>>>()?;
        Ok(Rows { columns, rows })
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
