//! Cobro: a multi-tenant MercadoPago webhook receiver.
#![forbid(unsafe_code)]

pub mod config;
pub mod domain;
pub mod error;
pub mod ghl;
pub mod mercadopago;
pub mod outbound;
pub mod publish;
pub mod services;
pub mod store;
pub mod tenant;
