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

pub use gardengate_check as check;
pub use gardengate_core::{
    engine, load, metrics, model, rng, scenario, Plan, Scenario, Simulation,
};
pub use gardengate_experiment as experiment;

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
pub mod check_cmd;
#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod cluster;
#[doc(hidden)]
pub mod command;
#[doc(hidden)]
pub mod progress;
