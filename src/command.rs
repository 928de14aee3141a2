//! Plumbing shared by the commands (`cli`, `check`, `cluster`, `bench`): exit codes, loading
//! a scenario into a plan with command-line overrides, and the worker-thread count.

use gardengate_core::scenario;
use std::path::Path;

/// An error with its exit code.
pub struct Failure {
    /// Exit code.
    pub code: i32,
    /// Message.
    pub message: String,
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: 1,
            message: format!("{e:#}"),
        }
    }
}

/// Bad input (exit 2).
pub fn bad_input(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

/// Loads a scenario, turning problems into a bad-input failure.
pub fn load_plan(
    path: &Path,
    seed: Option<u64>,
    replicates: Option<u32>,
) -> Result<scenario::Plan, Failure> {
    load_plan_design(path, None, seed, replicates)
}

/// [`load_plan`] of one of the file's `[[designs]]` (by name).
pub fn load_plan_design(
    path: &Path,
    design: Option<&str>,
    seed: Option<u64>,
    replicates: Option<u32>,
) -> Result<scenario::Plan, Failure> {
    if replicates == Some(0) {
        return Err(bad_input(
            "--replicates 0: expected at least 1 replicate per point",
        ));
    }
    let plan = scenario::load_design(path, design)
        .map_err(|e| bad_input(e.to_string().trim_end().to_string()))?;
    Ok(plan.with_overrides(seed, replicates))
}

/// Threads from the flag, else SLURM_CPUS_PER_TASK, else all cores.
pub fn threads_from(flag: Option<usize>) -> Option<usize> {
    flag.or_else(|| {
        std::env::var("SLURM_CPUS_PER_TASK")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
    })
}
