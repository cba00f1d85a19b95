//! What the batch keeps between queueing a write and reading its answer: the writes waiting
//! for their cycle ([`Queued`]), what they touch ([`Touched`]), and the barrier that waits for
//! all of them. Plumbing only: the steps themselves are `tenant::attempt`'s.

use std::collections::HashSet;
use std::time::Instant;

use chrono::{DateTime, Utc};
use entity::webhook_event;
use futures_util::future::LocalBoxFuture;
use tokio::sync::{mpsc, oneshot};

use crate::domain::PaymentSnapshot;
use crate::tenant::attempt::Fetched;
use crate::tenant::failure::Failure;
use crate::writer::{Finished, PaymentStored, WriteError};

/// A write queued with the writer, waiting for its cycle, and what answering it needs.
pub enum Queued {
    Payment {
        event: webhook_event::Model,
        snapshot: Box<PaymentSnapshot>,
        mapped_order_status: Option<&'static str>,
        started: Instant,
        answer: LocalBoxFuture<'static, Result<PaymentStored, WriteError>>,
        /// The attempt's span, ended once the write is answered.
        span: tracing::Span,
    },
    Failure {
        event: webhook_event::Model,
        failure: Failure,
        retry_at: Option<DateTime<Utc>>,
        started: Instant,
        answer: LocalBoxFuture<'static, Result<Finished, WriteError>>,
        span: tracing::Span,
    },
    /// Answered once every write queued before it is.
    Barrier(oneshot::Sender<()>),
}

/// The payments and orders touched by the writes queued since the last barrier.
#[derive(Default)]
pub struct Touched {
    payments: HashSet<String>,
    orders: HashSet<String>,
}

impl Touched {
    /// Records what this payment's write touches; `false` if an earlier queued write touches it
    /// too (nothing is recorded then).
    pub fn take(&mut self, fetched: &Fetched) -> bool {
        let payment = &fetched.update.payment_id;
        let order = fetched.snapshot.external_reference.as_ref();
        if self.payments.contains(payment) || order.is_some_and(|o| self.orders.contains(o)) {
            return false;
        }
        self.payments.insert(payment.clone());
        self.orders.extend(order.cloned());
        true
    }
}

/// Waits until every write queued so far is committed and answered; nothing is queued then.
pub async fn barrier(queued: &mpsc::UnboundedSender<Queued>, touched: &mut Touched) {
    let (done, committed) = oneshot::channel();
    if queued.send(Queued::Barrier(done)).is_ok() {
        let _ = committed.await;
    }
    *touched = Touched::default();
}
