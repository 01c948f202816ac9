//! A pool of read-only connections, used inline on the calling thread.
//!
//! Reads are index lookups of a few microseconds; handing each to a blocking thread
//! cost more than the read itself (two thread hops, and one connection with its own
//! cold page cache per concurrent request). Run inline, a read never yields, so the
//! pool holds about one connection per runtime worker.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::store::{StoreError, StoreResult};

type Opener = dyn Fn(&Path) -> rusqlite::Result<Connection> + Send + Sync;

#[derive(Clone)]
pub struct Readers {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    open: Box<Opener>,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub fn new(
        path: PathBuf,
        open: impl Fn(&Path) -> rusqlite::Result<Connection> + Send + Sync + 'static,
    ) -> Readers {
        Readers {
            inner: Arc::new(Inner {
                path,
                open: Box::new(open),
                idle: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Runs `work` on an idle connection (or a new one) inside one read transaction,
    /// so a count and its page see the same snapshot.
    pub fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T>,
    {
        let conn = self.inner.take()?;
        let result = catch_unwind(AssertUnwindSafe(|| {
            let tx = conn.unchecked_transaction()?;
            let value = work(&tx)?;
            tx.finish()?;
            Ok(value)
        }));
        match result {
            Ok(result) => {
                self.inner.give_back(conn);
                result
            }
            // The connection may be mid-transaction: let it go.
            Err(_) => Err(StoreError::Internal("a read panicked".into())),
        }
    }
}

impl Inner {
    fn take(&self) -> StoreResult<Connection> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => Ok((self.open)(&self.path)?),
        }
    }

    fn give_back(&self, conn: Connection) {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(conn);
    }
}
