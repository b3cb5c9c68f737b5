//! Domain types and pure engines of yunjian: no IO, no clock, no async.
//!
//! Time, randomness, ids and configuration come in as arguments, so every function
//! here is deterministic (invariant 5 of ARCHITECTURE.md).

pub mod access;
pub mod anomaly;
pub mod audit;
pub mod demo;
pub mod ids;
pub mod ledger;
pub mod lockout;
pub mod password;
pub mod role;
pub mod rules;
pub mod schema;
pub mod value;
