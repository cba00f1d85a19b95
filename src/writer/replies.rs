//! Answering the callers of a cycle, once it committed (or failed): each pipeline write has a
//! [`Reply`] of its own kind, and [`Reply::send`] pairs it with what the cycle produced for it
//! (and the next events claimed with it, for a write that ended an attempt).

use sea_orm::DbErr;

use super::messages::{Claimed, Finished, Reply, WriteError, Written};

impl Reply {
    /// Tells the caller. A caller that stopped waiting (its attempt was dropped) is not an error.
    pub(super) fn send(self, result: Result<Written, WriteError>, next: Vec<Claimed>) {
        let _ = match (self, result) {
            (Reply::Claim(to), Ok(Written::Claim(event))) => to.send(Ok(event)).is_ok(),
            (Reply::Payment(to), Ok(Written::Payment(mut stored))) => {
                stored.next = next;
                to.send(Ok(*stored)).is_ok()
            }
            (Reply::Resource(to), Ok(Written::Resource(stored))) => to.send(Ok(*stored)).is_ok(),
            (Reply::Done(to), Ok(Written::Done)) => to.send(Ok(())).is_ok(),
            (Reply::Finished(to), Ok(Written::Event(event))) => {
                to.send(Ok(Finished { event, next })).is_ok()
            }
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
            Reply::Resource(to) => to.send(Err(err)).is_ok(),
            Reply::Done(to) => to.send(Err(err)).is_ok(),
            Reply::Finished(to) => to.send(Err(err)).is_ok(),
        }
    }
}

/// A database error for one of many writes (`DbErr` is not `Clone`).
pub(super) fn database(err: &DbErr) -> WriteError {
    WriteError::Database(DbErr::Custom(err.to_string()))
}
