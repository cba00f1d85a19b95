//! Everything MercadoPago: the `x-signature` rules (pure), the lenient reading of payment bodies
//! (pure) and the HTTP client the tenant pipeline uses to fetch payments.

pub mod client;
pub mod payment;
pub mod signature;

pub use client::MpClient;
pub use payment::{MpPayment, normalize_id};
