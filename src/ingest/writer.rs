//! Group commit on the acknowledgement path. Handlers hand their event to [`IngestWriter::store`]
//! and wait; a writer task takes every event that is waiting, writes them all in one transaction,
//! and answers each only after that commit. Under load many webhooks share one commit (one fsync
//! with SQLite's `synchronous=FULL`); alone, a webhook waits for nobody.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::store::events::{self, NewEvent, Stored};
use crate::store::gate::WriteGate;

/// Most events one transaction takes (SQLite allows 32,766 bound values; an event has 19).
const MAX_BATCH: usize = 512;
/// Events that may wait for a writer before handlers start waiting to hand theirs over.
const QUEUE: usize = 8192;

#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    #[error("the event could not be stored: {0}")]
    Database(String),
    #[error("the ingest writer has stopped")]
    Stopped,
}

struct Job {
    event: NewEvent,
    reply: oneshot::Sender<Result<Stored, WriteError>>,
}

#[derive(Clone)]
pub struct IngestWriter {
    jobs: mpsc::Sender<Job>,
}

impl IngestWriter {
    /// Starts `writers` tasks sharing one queue (one is right for SQLite's single writer; a few
    /// let PostgreSQL commit batches in parallel). Must run inside a tokio runtime.
    pub fn start(db: DatabaseConnection, gate: WriteGate, writers: usize) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..writers.max(1) {
            tokio::spawn(write_batches(db.clone(), gate.clone(), queue.clone()));
        }
        Self { jobs }
    }

    /// Stores the event; returns once it is committed (or found to be a duplicate).
    pub async fn store(&self, event: NewEvent) -> Result<Stored, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { event, reply })
            .await
            .map_err(|_| WriteError::Stopped)?;
        answer.await.map_err(|_| WriteError::Stopped)?
    }
}

async fn write_batches(
    db: DatabaseConnection,
    gate: WriteGate,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
) {
    loop {
        let Some(batch) = next_batch(&queue).await else {
            return;
        };
        metrics::histogram!("cobro_ingest_batch_size").record(batch.len() as f64);
        let (events, replies): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|j| (j.event, j.reply)).unzip();
        let written = {
            let _turn = gate.enter().await;
            events::insert_batch(&db, events).await
        };
        match written {
            Ok(stored) => {
                for (reply, stored) in replies.into_iter().zip(stored) {
                    let _ = reply.send(Ok(stored));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "ingest batch not stored; answering 500 to each webhook");
                for reply in replies {
                    let _ = reply.send(Err(WriteError::Database(err.to_string())));
                }
            }
        }
    }
}

/// Waits for one job, then takes whatever else is already waiting, up to [`MAX_BATCH`].
async fn next_batch(queue: &Mutex<mpsc::Receiver<Job>>) -> Option<Vec<Job>> {
    let mut queue = queue.lock().await;
    let first = queue.recv().await?;
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}
