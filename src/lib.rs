//! gardengate: an agent-based simulator of competition between platform ecosystems.
//!
//! This is the facade of the workspace: each part is its own crate, re-exported here under
//! the names they had before the split. Data flows one way:
//! [`scenario`] (file format, checks, sweeps) → [`engine`] (state, graph, policies) →
//! [`model`] (the rules of one step) → [`metrics`] (named per-step columns) — all in
//! `gardengate-core` — → [`output`] (dataframes, files: `gardengate-io`; charts:
//! `gardengate-charts`) → [`experiment`] (plans of runs, finalize, effects, sensitivity) →
//! [`check`] (regression checks) → the command line (this crate's binary).
//!
//! A Rust user runs the quickstart world, observes each step and gets the table in memory
//! (the same lines are in the README; `tests/tidy.rs` keeps the two equal):
//!
//! ```
//! use gardengate::{metrics, scenario, Simulation};
//!
//! // The quickstart world, its first run's seed, and a hook that sees every step.
//! let plan = scenario::load("experiments/quickstart.toml".as_ref())?;
//! let mut sim = Simulation::new(plan.points[0].scenario.clone(), plan.runs[0].seed)?;
//! let mut trips = Vec::new();
//! sim.run_observed(|_world, tally| trips.push(tally.trips));
//! // Every per-step column (the rows of steps.parquet), in memory.
//! let table = metrics::of(&sim);
//! let alipay = table.get("wallet_share__alipay").expect("a wallet of the scenario");
//! println!("{} steps, {} trips on the last; Alipay's share {:.3}",
//!     table.rows(), trips[trips.len() - 1], alipay.get_f64(table.rows() - 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use gardengate_check as check;
pub use gardengate_core::{
    engine, load, metrics, model, rng, scenario, Plan, Scenario, Simulation,
};
pub use gardengate_experiment as experiment;
/// The error of files and runs (a scenario's located problems are `Error::Core`).
pub use gardengate_io::{Error, Result};

/// Output: dataframes and files (`gardengate-io`) and charts (`gardengate-charts`).
pub mod output {
    pub use gardengate_charts as charts;
    pub use gardengate_io::{atomic, frame, store};
}

// The binary's own modules (the command line and what only it needs). They are compiled into
// the library so that the integration tests can drive the commands, but they are not part of
// the API.
#[doc(hidden)]
pub mod alloc;
#[doc(hidden)]
pub mod bench;
#[doc(hidden)]
pub mod calibrate;
#[doc(hidden)]
pub mod check_cmd;
#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod cluster;
#[doc(hidden)]
pub mod command;
#[doc(hidden)]
pub mod progress;
