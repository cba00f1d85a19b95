//! Per-tenant processing. The [`TenantSupervisor`] keeps one [`TenantActor`] per tenant; each actor
//! owns a FIFO queue run in order, one batch at a time, its retry timers and its rate limiters,
//! and runs [`pipeline::run_batch`] for each batch. Ingest, the retry endpoints and recovery talk to the
//! supervisor only.

pub mod actor;
mod credentials;
pub mod failure;
pub mod limits;
pub mod pipeline;
pub mod processing;
pub mod supervisor;
mod tagging;

pub use actor::TenantActor;
pub use processing::Processing;
pub use supervisor::{Enqueue, TenantSupervisor};
