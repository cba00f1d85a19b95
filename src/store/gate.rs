//! One writer at a time, queued in this process. SQLite allows a single writer and makes the
//! others wait in its busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25... ms between tries: the
//! writer's cycles (every webhook and processing write) colliding with retention's deletes would
//! add tens of milliseconds to an acknowledgement. So those write transactions take this gate
//! first and queue in order instead. PostgreSQL has row locks and needs no gate.

use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard};

use crate::config::DatabaseKind;

#[derive(Clone, Default)]
pub struct WriteGate(Option<Arc<Locks>>);

#[derive(Default)]
struct Locks {
    /// Held for every write transaction.
    write: Mutex<()>,
}

/// Held for the whole write transaction.
pub struct Turn<'a> {
    _write: MutexGuard<'a, ()>,
}

impl WriteGate {
    pub fn for_database(kind: DatabaseKind) -> Self {
        match kind {
            DatabaseKind::Sqlite => Self(Some(Arc::default())),
            DatabaseKind::Postgres => Self(None),
        }
    }

    /// Waits for this write transaction's turn (`None` on PostgreSQL: no gate).
    pub async fn enter(&self) -> Option<Turn<'_>> {
        let locks = self.0.as_ref()?;
        Some(Turn {
            _write: locks.write.lock().await,
        })
    }
}
