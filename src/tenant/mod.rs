//! Per-tenant processing. The [`TenantSupervisor`] keeps one [`TenantActor`] per tenant; each actor
//! owns a FIFO queue run in order, one batch at a time, its retry timers and its rate limiters,
//! and runs [`batch::run_batch`] for each batch (the steps of one attempt are [`attempt`]'s). Ingest, the retry endpoints and recovery talk to the
//! supervisor only.

pub mod actor;
pub mod attempt;
pub mod batch;
pub mod depths;
pub mod failure;
pub mod limits;
pub mod processing;
pub mod supervisor;

pub use actor::TenantActor;
pub use processing::Processing;
pub use supervisor::{Enqueue, TenantSupervisor};
