//! gardengate: an agent-based simulator of competition between platform ecosystems.
//!
//! Data flows one way through the modules:
//! `scenario` (file format, checks, sweeps) → `engine` (state, graph, policies, random
//! streams) → `model` (the rules of one step) → `metrics` (named per-step columns) →
//! `output` (dataframes, files, charts) → `experiment` (batches of runs, resume, shards) →
//! `check` (regression checks) → the command line (`cli`).
//!
//! ```
//! use gardengate::{scenario, Simulation};
//! use std::sync::Arc;
//!
//! // A small world from a scenario written inline (any field left out takes the defaults).
//! let plan = scenario::from_text(
//!     "steps = 20\n[consumers]\ncount = 2000\n",
//!     "inline.toml",
//!     std::path::Path::new("."),
//! )
//! .expect("valid scenario");
//! let sc = Arc::new(plan.points[0].scenario.clone());
//! let mut sim = Simulation::new(sc, plan.runs[0].seed).expect("world builds");
//! sim.run();
//! let df = gardengate::output::frame::run_frame(&sim).expect("dataframe");
//! assert_eq!(df.height(), 20);
//! let trips = df.column("trips").unwrap().i64().unwrap();
//! assert!(trips.get(0).unwrap() > 0);
//! ```

// `!(x > 0.0)` is how this code rejects NaN along with the out-of-range values.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod alloc;
pub mod bench;
pub mod calibrate;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod command;
pub mod engine;
pub mod experiment;
pub mod metrics;
pub mod model;
pub mod output;
pub mod rng;
pub mod scenario;

pub use model::Simulation;
pub use scenario::{load, Plan, Scenario};
