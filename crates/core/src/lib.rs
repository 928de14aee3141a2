//! gardengate-core: the model. A scenario (file or value) is resolved with diagnostics, a
//! [`Simulation`] steps a world under it, and the metrics name each step's columns.
//!
//! Data flows one way through the modules: `scenario` → `engine` → `model` → `metrics`;
//! `rng` (keyed random streams) is a leaf they all draw from.

// `!(x > 0.0)` is how this code rejects NaN along with the out-of-range values.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod engine;
mod error;
pub mod metrics;
pub mod model;
pub mod rng;
pub mod scenario;

pub use error::Error;
pub use model::Simulation;
pub use scenario::{load, Plan, Scenario};
