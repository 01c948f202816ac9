//! A pool of read-only connections used from tokio's blocking threads.

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
    pub async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.take()?;
            let result = (|| {
                let tx = conn.unchecked_transaction()?;
                let value = work(&tx)?;
                tx.finish()?;
                Ok(value)
            })();
            inner.give_back(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Internal(format!("read task failed: {e}")))?
    }
}

impl Inner {
    fn take(&self) -> StoreResult<Connection> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match idle {
            Some(conn) => Ok(conn),
            None => Ok((self.open)(&self.path)?),
        }
    }

    fn give_back(&self, conn: Connection) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
    }
}
