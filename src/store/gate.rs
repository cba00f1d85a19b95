//! One writer at a time, queued in this process, with the acknowledgement path first. SQLite
//! allows a single writer and makes the others wait in its busy handler, which sleeps 1, 2, 5, 10,
//! 15, 20, 25... ms between tries: the ingest writer colliding with the pipeline would add tens
//! of milliseconds to an acknowledgement. So every write transaction takes this gate first.
//!
//! The pipeline's writers (one per busy tenant) also queue among themselves before the shared
//! lock, so that at most one of them ever stands in front of the ingest writer: a webhook's
//! acknowledgement waits for at most one processing write, never for a queue of them.
//! PostgreSQL has row locks and needs no gate.

use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard};

use crate::config::DatabaseKind;

#[derive(Clone, Default)]
pub struct WriteGate(Option<Arc<Locks>>);

#[derive(Default)]
struct Locks {
    /// Held for every write transaction.
    write: Mutex<()>,
    /// Taken by pipeline writes before `write`.
    pipeline: Mutex<()>,
}

/// Held for the whole write transaction.
pub struct Turn<'a> {
    _write: MutexGuard<'a, ()>,
    _pipeline: Option<MutexGuard<'a, ()>>,
}

impl WriteGate {
    pub fn for_database(kind: DatabaseKind) -> Self {
        match kind {
            DatabaseKind::Sqlite => Self(Some(Arc::default())),
            DatabaseKind::Postgres => Self(None),
        }
    }

    /// The acknowledgement path's turn: behind at most one pipeline write.
    pub async fn enter(&self) -> Option<Turn<'_>> {
        let locks = self.0.as_ref()?;
        Some(Turn {
            _write: locks.write.lock().await,
            _pipeline: None,
        })
    }

    /// A pipeline write's turn: behind the other pipeline writes, then like [`Self::enter`].
    pub async fn enter_pipeline(&self) -> Option<Turn<'_>> {
        let locks = self.0.as_ref()?;
        let pipeline = locks.pipeline.lock().await;
        Some(Turn {
            _write: locks.write.lock().await,
            _pipeline: Some(pipeline),
        })
    }
}
