//! The evaluations log (`calibration/evaluations.json`): every finished evaluation, written
//! again atomically (temp file + rename) after each one, so a killed calibration loses at
//! most the evaluation in progress. Numbers are stored as their IEEE bits, so that a resumed
//! calibration replays exactly what was computed; the readable tables are written from it.

use gardengate_io::atomic;
use gardengate_io::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of the log.
pub const LOG_FILE: &str = "evaluations.json";

/// Format version of the log.
pub const LOG_VERSION: u32 = 1;

/// Where an evaluation was asked for.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The declared start.
    Start,
    /// A Latin-hypercube point.
    Lhs,
    /// A Nelder–Mead point (the first simplex included).
    Simplex,
    /// A point of the numerical Jacobian at the optimum.
    Jacobian,
}

impl Phase {
    /// Lowercase name, as in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::Lhs => "lhs",
            Phase::Simplex => "simplex",
            Phase::Jacobian => "jacobian",
        }
    }
}

/// One evaluation: the point (box coordinates) and each replicate's moments.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Evaluation {
    /// 0-based, in the order the evaluations were made.
    pub index: u32,
    /// Why it was made.
    pub phase: Phase,
    /// Box coordinates (bits of f64), clamped to [0, 1].
    pub u: Vec<u64>,
    /// Per replicate, per target: the moment (bits of f64).
    pub moments: Vec<Vec<u64>>,
    /// Seconds it took (informative; not part of the results).
    pub wall_s: f64,
}

impl Evaluation {
    /// Box coordinates.
    pub fn unit(&self) -> Vec<f64> {
        self.u.iter().map(|&b| f64::from_bits(b)).collect()
    }
    /// Per replicate moments.
    pub fn replicate_moments(&self) -> Vec<Vec<f64>> {
        self.moments
            .iter()
            .map(|r| r.iter().map(|&b| f64::from_bits(b)).collect())
            .collect()
    }
}

/// The log file's content.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Log {
    /// Format version.
    pub version: u32,
    /// Identity of the calibration (scenario, targets, free parameters, settings): a log of
    /// another calibration is never resumed.
    pub setup: String,
    /// The evaluations, in order.
    pub evaluations: Vec<Evaluation>,
}

/// The log's path in a calibration folder.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(LOG_FILE)
}

/// Reads the log of a calibration folder; None when there is none.
pub fn read(dir: &Path) -> Result<Option<Log>> {
    let p = path(dir);
    if !p.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
    let log: Log = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an evaluations log of gardengate", p.display()))?;
    if log.version != LOG_VERSION {
        bail!(
            "{} has log version {}, not {LOG_VERSION}\n  help: start again with --force",
            p.display(),
            log.version
        );
    }
    for (i, e) in log.evaluations.iter().enumerate() {
        if e.index as usize != i {
            bail!(
                "{}: evaluation {i} is numbered {}; the log is damaged\n  help: start again with --force",
                p.display(),
                e.index
            );
        }
    }
    Ok(Some(log))
}

/// Writes the log atomically.
pub fn write(dir: &Path, log: &Log) -> Result<()> {
    let bytes = serde_json::to_vec(log)?;
    atomic::write_bytes(&path(dir), &bytes)
}
