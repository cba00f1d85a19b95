//! Answering the callers of a cycle, once it committed (or failed): each pipeline write has a
//! [`Reply`] of its own kind, and [`Reply::send`] pairs it with what the cycle produced for it.

use entity::webhook_event;
use sea_orm::DbErr;
use tokio::sync::oneshot;

use super::{PaymentStored, WriteError, Written};

type Answer<T> = oneshot::Sender<Result<T, WriteError>>;

pub(super) enum Reply {
    Claim(Answer<Option<webhook_event::Model>>),
    Payment(Answer<PaymentStored>),
    Tagged(Answer<()>),
    Event(Answer<webhook_event::Model>),
}

impl Reply {
    /// Tells the caller. A caller that stopped waiting (its attempt was dropped) is not an error.
    pub(super) fn send(self, result: Result<Written, WriteError>) {
        let _ = match (self, result) {
            (Reply::Claim(to), Ok(Written::Claim(event))) => to.send(Ok(event)).is_ok(),
            (Reply::Payment(to), Ok(Written::Payment(stored))) => to.send(Ok(*stored)).is_ok(),
            (Reply::Tagged(to), Ok(Written::Tagged)) => to.send(Ok(())).is_ok(),
            (Reply::Event(to), Ok(Written::Event(event))) => to.send(Ok(event)).is_ok(),
            (reply, Err(err)) => reply.fail(err),
            // A write answered with another kind's result: a bug in the cycle, reported as such.
            (reply, Ok(_)) => reply.fail(WriteError::Database(DbErr::Custom(
                "the writer answered a write with another write's result".into(),
            ))),
        };
    }

    fn fail(self, err: WriteError) -> bool {
        match self {
            Reply::Claim(to) => to.send(Err(err)).is_ok(),
            Reply::Payment(to) => to.send(Err(err)).is_ok(),
            Reply::Tagged(to) => to.send(Err(err)).is_ok(),
            Reply::Event(to) => to.send(Err(err)).is_ok(),
        }
    }
}

/// A database error for one of many writes (`DbErr` is not `Clone`).
pub(super) fn database(err: &DbErr) -> WriteError {
    WriteError::Database(DbErr::Custom(err.to_string()))
}
