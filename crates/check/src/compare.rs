//! Regression checks of simulation outputs against a baseline (`gardengate check`).
//!
//! Two modes:
//!
//! * **exact** ([`exact_compare`]): every run must be bit-identical to the baseline.
//!   The first difference (by run id, then step, then column) is reported.
//! * **stat** ([`stat_compare`]): every run is summarised per metric by the mean of its
//!   last `last_n` steps; for every sweep point the replicate distribution of the results
//!   is compared with the baseline's by Welch's t-test and the two-sample
//!   Kolmogorov–Smirnov test. Both p-values of every (point, metric) pair form one
//!   Holm family. A metric *drifts* when its Holm-adjusted p-value is below `alpha`
//!   **and** the difference of means exceeds a tolerance floor
//!   `max(abs_tol, rel_tol * |baseline mean|)`, so tiny but statistically significant
//!   differences (e.g. from a different floating-point summation order) do not fail CI.
//!
//! Loading files and the command line live elsewhere; this module works on in-memory
//! [`RunData`] and renders outcomes as a terminal table, Markdown (pull-request comment),
//! JUnit XML or JSON ([`render_stat`], [`render_exact`]).
//!
//! The statistical building blocks ([`mean`], [`sample_sd`], [`welch_t_test`],
//! [`ks_two_sample`], [`holm`], [`student_t_sf`], [`inc_beta`], [`ln_gamma`], ...) are
//! implemented here without a statistics crate and are tested against SciPy reference
//! values.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;

// ---------------------------------------------------------------------------
// Data types
// ---------------------------------------------------------------------------

/// The data of one simulation run: its per-step metric columns.
#[derive(Debug, Clone, PartialEq)]
pub struct RunData {
    /// Unique id of the run within a results set.
    pub run_id: u32,
    /// Id of the sweep point the run belongs to.
    pub point_id: u32,
    /// Replicate number within the sweep point.
    pub replicate: u32,
    /// RNG seed of the run.
    pub seed: u64,
    /// Label of the sweep point, e.g. "tau=0.2, gamma_wallet=3" (for reports).
    pub point_label: String,
    /// Simulation steps (time index) of the rows.
    pub steps: Vec<i64>,
    /// Metric name -> values per step (same length as `steps`), in a fixed column order.
    pub columns: Vec<(String, Vec<f64>)>,
}

/// What kind of difference an [`ExactDiff`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExactDiffKind {
    /// A run of the baseline is missing from the results.
    MissingRun,
    /// The results contain a run that the baseline does not have.
    ExtraRun,
    /// A run id occurs more than once in the results or in the baseline.
    DuplicateRun,
    /// The run has a different `point_id`.
    PointId,
    /// The run has a different `replicate`.
    Replicate,
    /// The run has a different `seed`.
    Seed,
    /// The step vectors differ (a different step value or a different number of steps).
    Steps,
    /// A column of the baseline is missing from the results.
    MissingColumn,
    /// The results have a column that the baseline does not have.
    ExtraColumn,
    /// A value differs (bitwise).
    Value,
}

impl ExactDiffKind {
    /// Snake-case name, as written in JSON (e.g. `"missing_run"`, `"value"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ExactDiffKind::MissingRun => "missing_run",
            ExactDiffKind::ExtraRun => "extra_run",
            ExactDiffKind::DuplicateRun => "duplicate_run",
            ExactDiffKind::PointId => "point_id",
            ExactDiffKind::Replicate => "replicate",
            ExactDiffKind::Seed => "seed",
            ExactDiffKind::Steps => "steps",
            ExactDiffKind::MissingColumn => "missing_column",
            ExactDiffKind::ExtraColumn => "extra_column",
            ExactDiffKind::Value => "value",
        }
    }
}

/// The first difference found by [`exact_compare`].
///
/// `run_id`, `point_id` and `replicate` identify the run (taken from the baseline run
/// when it exists, otherwise from the results run). `step` is `None` for run-level
/// differences. `column` holds the metric name for column and value differences and the
/// field name (`"point_id"`, `"replicate"`, `"seed"`, `"steps"`) for field differences;
/// it is empty for missing, extra and duplicate runs. `result` and `baseline` are the two
/// sides formatted with full precision (`{:?}`), or `"<missing>"` / `"<present>"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExactDiff {
    /// What kind of difference this is.
    pub kind: ExactDiffKind,
    /// Run id.
    pub run_id: u32,
    /// Sweep point of the run.
    pub point_id: u32,
    /// Replicate of the run.
    pub replicate: u32,
    /// Step of the difference; `None` for run-level differences.
    pub step: Option<i64>,
    /// Column (metric) or field name; empty for run-level differences.
    pub column: String,
    /// The results side, formatted.
    pub result: String,
    /// The baseline side, formatted.
    pub baseline: String,
}

impl ExactDiff {
    /// One-line human-readable description of the difference.
    pub fn describe(&self) -> String {
        let run = format!(
            "run {} (point {}, replicate {})",
            self.run_id, self.point_id, self.replicate
        );
        match self.kind {
            ExactDiffKind::MissingRun => {
                format!("{run} is in the baseline but missing from the results")
            }
            ExactDiffKind::ExtraRun => format!("{run} is in the results but not in the baseline"),
            ExactDiffKind::DuplicateRun => format!(
                "run id {} occurs {} in the results and {} in the baseline (must be unique)",
                self.run_id, self.result, self.baseline
            ),
            ExactDiffKind::PointId | ExactDiffKind::Replicate | ExactDiffKind::Seed => format!(
                "{run}: {} differs: result {}, baseline {}",
                self.column, self.result, self.baseline
            ),
            ExactDiffKind::Steps => format!(
                "{run}: steps differ at step {}: result {}, baseline {}",
                self.step.map_or_else(|| "?".to_string(), |s| s.to_string()),
                self.result,
                self.baseline
            ),
            ExactDiffKind::MissingColumn => {
                format!(
                    "{run}: column '{}' is missing from the results",
                    self.column
                )
            }
            ExactDiffKind::ExtraColumn => format!(
                "{run}: column '{}' is in the results but not in the baseline",
                self.column
            ),
            ExactDiffKind::Value => format!(
                "{run}, step {}, column '{}': result {}, baseline {}",
                self.step.map_or_else(|| "?".to_string(), |s| s.to_string()),
                self.column,
                self.result,
                self.baseline
            ),
        }
    }
}

impl fmt::Display for ExactDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Options of the statistical comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatOptions {
    /// Family-wise significance level (after Holm adjustment). Default 0.01.
    #[serde(with = "json_f64")]
    pub alpha: f64,
    /// Absolute tolerance floor on the difference of means. Default 1e-9.
    #[serde(with = "json_f64")]
    pub abs_tol: f64,
    /// Relative tolerance floor, as a fraction of |baseline mean|. Default 0.02.
    #[serde(with = "json_f64")]
    pub rel_tol: f64,
    /// Each run is summarised by the mean of its last `last_n` steps (all steps if it
    /// has fewer). Must be at least 1. Default 30.
    pub last_n: usize,
    /// Metrics to compare; `None` = all columns common to every run of both sides.
    pub metrics: Option<Vec<String>>,
}

impl Default for StatOptions {
    fn default() -> Self {
        StatOptions {
            alpha: 0.01,
            abs_tol: 1e-9,
            rel_tol: 0.02,
            last_n: 30,
            metrics: None,
        }
    }
}

/// The comparison of one metric at one sweep point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricTest {
    /// Sweep point id.
    pub point_id: u32,
    /// Sweep point label (from the baseline).
    pub point_label: String,
    /// Metric (column) name.
    pub metric: String,
    /// Number of result runs entering the test (finite summaries only).
    pub n_result: usize,
    /// Number of baseline runs entering the test (finite summaries only).
    pub n_baseline: usize,
    /// Mean of the result run summaries.
    #[serde(with = "json_f64")]
    pub mean_result: f64,
    /// Mean of the baseline run summaries.
    #[serde(with = "json_f64")]
    pub mean_baseline: f64,
    /// Sample standard deviation of the result run summaries (NaN when n < 2).
    #[serde(with = "json_f64")]
    pub sd_result: f64,
    /// Sample standard deviation of the baseline run summaries (NaN when n < 2).
    #[serde(with = "json_f64")]
    pub sd_baseline: f64,
    /// `mean_result - mean_baseline`.
    #[serde(with = "json_f64")]
    pub diff: f64,
    /// `diff / |mean_baseline|` (0 when both are 0, ±inf when only the baseline mean is 0).
    #[serde(with = "json_f64")]
    pub rel_diff: f64,
    /// Cohen's d (pooled sd; 0 when both sds are 0 and means equal; ±inf when sds are 0
    /// and means differ).
    #[serde(with = "json_f64")]
    pub effect_size: f64,
    /// Two-sided t-test p-value (NaN when n < 2 on either side): Welch's, or the paired t
    /// test on the per-seed differences when every result run has a baseline run with its
    /// seed (see `test`).
    #[serde(with = "json_f64")]
    pub p_welch: f64,
    /// Which t test gave `p_welch`: `Welch t` or `paired t`.
    #[serde(default)]
    pub test: String,
    /// Two-sided two-sample Kolmogorov–Smirnov p-value.
    #[serde(with = "json_f64")]
    pub p_ks: f64,
    /// Min of the two p-values, Holm-adjusted across all tests of the comparison (both
    /// p-values of every (point, metric) enter the Holm family, i.e. 2*k hypotheses;
    /// a NaN p-value enters as 1).
    #[serde(with = "json_f64")]
    pub p_adjusted: f64,
    /// `max(abs_tol, rel_tol * |mean_baseline|)`.
    #[serde(with = "json_f64")]
    pub tolerance: f64,
    /// `p_adjusted < alpha && |diff| > tolerance` — or, forced, when the metric is
    /// non-finite in every run of one side but not of the other (see `notes`).
    pub drifted: bool,
    /// Remarks on this test (e.g. Welch skipped for n < 2, non-finite runs excluded).
    pub notes: Vec<String>,
}

/// The outcome of [`stat_compare`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatOutcome {
    /// All tests, ordered by point id, then metric order.
    pub tests: Vec<MetricTest>,
    /// The options used.
    pub options: StatOptions,
    /// Number of drifted tests.
    pub drifted: usize,
    /// Remarks on the comparison as a whole (e.g. columns or points that were not
    /// compared, differing point labels).
    pub notes: Vec<String>,
}

impl StatOutcome {
    /// True when no test drifted.
    pub fn passed(&self) -> bool {
        self.drifted == 0
    }
}

/// Output format of [`render_stat`] and [`render_exact`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// Aligned plain-text table for a terminal.
    Table,
    /// Markdown, suitable for a pull-request comment.
    Markdown,
    /// JUnit XML for CI test reporters.
    Junit,
    /// JSON (non-finite numbers written as the strings "NaN", "Infinity", "-Infinity").
    Json,
}

impl FromStr for ReportFormat {
    type Err = anyhow::Error;
    /// Parses `table`/`text`, `markdown`/`md`, `junit`/`xml`, `json` (case-insensitive).
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "table" | "text" => Ok(ReportFormat::Table),
            "markdown" | "md" => Ok(ReportFormat::Markdown),
            "junit" | "xml" => Ok(ReportFormat::Junit),
            "json" => Ok(ReportFormat::Json),
            other => {
                bail!("unknown report format '{other}' (expected table, markdown, junit or json)")
            }
        }
    }
}

/// Serde helpers writing non-finite f64 as the strings "NaN", "Infinity", "-Infinity"
/// (JSON has no NaN) and reading them back (also accepting `null` as NaN).
mod json_f64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() {
            s.serialize_f64(*x)
        } else if x.is_nan() {
            s.serialize_str("NaN")
        } else if *x > 0.0 {
            s.serialize_str("Infinity")
        } else {
            s.serialize_str("-Infinity")
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Num(f64),
        Str(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Option::<Repr>::deserialize(d)? {
            None => Ok(f64::NAN),
            Some(Repr::Num(x)) => Ok(x),
            Some(Repr::Str(s)) => match s.as_str() {
                "NaN" | "nan" => Ok(f64::NAN),
                "Infinity" | "+Infinity" | "inf" => Ok(f64::INFINITY),
                "-Infinity" | "-inf" => Ok(f64::NEG_INFINITY),
                other => Err(serde::de::Error::custom(format!(
                    "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\", got \"{other}\""
                ))),
            },
        }
    }
}

pub use gardengate_core::metrics::stats::*;

// ---------------------------------------------------------------------------
// Exact mode
// ---------------------------------------------------------------------------

fn fmt_exact_pair(r: f64, b: f64) -> (String, String) {
    let (rs, bs) = (format!("{r:?}"), format!("{b:?}"));
    if rs == bs {
        // e.g. NaNs with different payloads
        (
            format!("{rs} (bits 0x{:016x})", r.to_bits()),
            format!("{bs} (bits 0x{:016x})", b.to_bits()),
        )
    } else {
        (rs, bs)
    }
}

const MISSING: &str = "<missing>";
const PRESENT: &str = "<present>";

fn compare_run(r: &RunData, b: &RunData) -> Option<ExactDiff> {
    let diff = |kind, step, column: &str, result: String, baseline: String| {
        Some(ExactDiff {
            kind,
            run_id: b.run_id,
            point_id: b.point_id,
            replicate: b.replicate,
            step,
            column: column.to_string(),
            result,
            baseline,
        })
    };
    if r.point_id != b.point_id {
        let (rs, bs) = (r.point_id.to_string(), b.point_id.to_string());
        return diff(ExactDiffKind::PointId, None, "point_id", rs, bs);
    }
    if r.replicate != b.replicate {
        let (rs, bs) = (r.replicate.to_string(), b.replicate.to_string());
        return diff(ExactDiffKind::Replicate, None, "replicate", rs, bs);
    }
    if r.seed != b.seed {
        let (rs, bs) = (r.seed.to_string(), b.seed.to_string());
        return diff(ExactDiffKind::Seed, None, "seed", rs, bs);
    }
    let n_steps = r.steps.len().max(b.steps.len());
    for i in 0..n_steps {
        let (rs, bs) = (r.steps.get(i), b.steps.get(i));
        if rs != bs {
            let show = |s: Option<&i64>, len: usize| match s {
                Some(v) => v.to_string(),
                None => format!("{MISSING} (run has {len} steps)"),
            };
            let step = bs.or(rs).copied();
            let (rs, bs) = (show(rs, r.steps.len()), show(bs, b.steps.len()));
            return diff(ExactDiffKind::Steps, step, "steps", rs, bs);
        }
    }
    let find = |run: &'_ RunData, name: &str| -> Option<usize> {
        run.columns.iter().position(|(c, _)| c == name)
    };
    for (name, _) in &b.columns {
        if find(r, name).is_none() {
            let (rs, bs) = (MISSING.to_string(), PRESENT.to_string());
            return diff(ExactDiffKind::MissingColumn, None, name, rs, bs);
        }
    }
    for (name, _) in &r.columns {
        if find(b, name).is_none() {
            let (rs, bs) = (PRESENT.to_string(), MISSING.to_string());
            return diff(ExactDiffKind::ExtraColumn, None, name, rs, bs);
        }
    }
    // Column index in the results for each baseline column (first occurrence).
    let pairs: Vec<(&str, &[f64], &[f64])> = b
        .columns
        .iter()
        .map(|(name, bv)| {
            let ri = find(r, name).expect("checked above");
            (name.as_str(), r.columns[ri].1.as_slice(), bv.as_slice())
        })
        .collect();
    let n_rows = pairs
        .iter()
        .map(|(_, rv, bv)| rv.len().max(bv.len()))
        .max()
        .unwrap_or(0)
        .max(b.steps.len());
    for i in 0..n_rows {
        let step = b.steps.get(i).copied();
        for &(name, rv, bv) in &pairs {
            match (rv.get(i), bv.get(i)) {
                (Some(x), Some(y)) if x.to_bits() == y.to_bits() => {}
                (Some(&x), Some(&y)) => {
                    let (rs, bs) = fmt_exact_pair(x, y);
                    return diff(ExactDiffKind::Value, step, name, rs, bs);
                }
                (None, None) => {}
                (x, y) => {
                    let show =
                        |v: Option<&f64>| v.map_or(MISSING.to_string(), |v| format!("{v:?}"));
                    return diff(ExactDiffKind::Value, step, name, show(x), show(y));
                }
            }
        }
    }
    None
}

/// Exact mode: every run of `baseline` must be in `results` (matched by `run_id`) with the
/// same `point_id`, `replicate`, `seed`, `steps`, the same column set (order does not
/// matter; values are matched by name) and bit-identical values (compared with
/// `f64::to_bits`, so NaN == NaN when the bits are equal and 0.0 != -0.0); `results` must
/// have no extra runs and run ids must be unique on both sides.
///
/// Returns `None` when identical, else the FIRST difference in order: run_id ascending,
/// then within a run the run-level differences (point_id, replicate, seed, steps, missing
/// columns in baseline order, extra columns), then values by step ascending and column in
/// the baseline's column order.
pub fn exact_compare(results: &[RunData], baseline: &[RunData]) -> Option<ExactDiff> {
    let mut res: BTreeMap<u32, Vec<&RunData>> = BTreeMap::new();
    let mut base: BTreeMap<u32, Vec<&RunData>> = BTreeMap::new();
    for r in results {
        res.entry(r.run_id).or_default().push(r);
    }
    for b in baseline {
        base.entry(b.run_id).or_default().push(b);
    }
    let ids: BTreeSet<u32> = res.keys().chain(base.keys()).copied().collect();
    for id in ids {
        let run_level = |kind, run: &RunData, result: String, baseline: String| ExactDiff {
            kind,
            run_id: id,
            point_id: run.point_id,
            replicate: run.replicate,
            step: None,
            column: String::new(),
            result,
            baseline,
        };
        match (res.get(&id), base.get(&id)) {
            (None, Some(b)) => {
                let (rs, bs) = (MISSING.to_string(), PRESENT.to_string());
                return Some(run_level(ExactDiffKind::MissingRun, b[0], rs, bs));
            }
            (Some(r), None) => {
                let (rs, bs) = (PRESENT.to_string(), MISSING.to_string());
                return Some(run_level(ExactDiffKind::ExtraRun, r[0], rs, bs));
            }
            (Some(r), Some(b)) => {
                if r.len() > 1 || b.len() > 1 {
                    let times = |k: usize| {
                        if k == 1 {
                            "once".to_string()
                        } else {
                            format!("{k} times")
                        }
                    };
                    let (rs, bs) = (times(r.len()), times(b.len()));
                    return Some(run_level(ExactDiffKind::DuplicateRun, b[0], rs, bs));
                }
                if let Some(d) = compare_run(r[0], b[0]) {
                    return Some(d);
                }
            }
            (None, None) => unreachable!(),
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Stat mode
// ---------------------------------------------------------------------------

/// Mean of the last `last_n` values (all if fewer); NaN for an empty column.
fn tail_mean(values: &[f64], last_n: usize) -> f64 {
    let start = values.len().saturating_sub(last_n);
    mean(&values[start..])
}

fn column<'a>(run: &'a RunData, name: &str) -> Option<&'a [f64]> {
    run.columns
        .iter()
        .find(|(c, _)| c == name)
        .map(|(_, v)| v.as_slice())
}

/// Column names present in every run, in the order of the first run.
fn common_columns(runs: &[&RunData]) -> Vec<String> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for (name, _) in &first.columns {
        if !out.contains(name) && runs.iter().all(|r| column(r, name).is_some()) {
            out.push(name.clone());
        }
    }
    out
}

fn all_columns(runs: &[&RunData]) -> BTreeSet<String> {
    runs.iter()
        .flat_map(|r| r.columns.iter().map(|(c, _)| c.clone()))
        .collect()
}

/// Stat mode: statistical comparison of `results` with `baseline`.
///
/// Each run is summarised per metric by the mean of its last `opts.last_n` steps (all
/// steps if fewer). Runs are grouped by `point_id`; for each point of the baseline and each
/// metric (columns present in every compared run of both sides — results runs of points
/// that are not in the baseline do not count — in the baseline's column order, or
/// `opts.metrics` in the given order) the result summaries are compared with the baseline
/// summaries by [`welch_t_test`] and [`ks_two_sample`]. All 2*k p-values form one Holm
/// family ([`holm`]); `p_adjusted` is the smaller adjusted p-value of the pair and a test
/// drifts when `p_adjusted < alpha` and `|diff| > tolerance`.
///
/// Non-finite run summaries are excluded (noted on the test). When a metric is
/// non-finite in every run of one side but not of the other, the test is marked drifted
/// (with a note) whatever the p-values. n < 2 on either side: Welch p = NaN, entering Holm
/// as 1 (noted).
///
/// Errors: empty baseline; invalid options (alpha not in (0, 1], negative or non-finite
/// tolerances, last_n = 0); a baseline point without runs in the results; a requested
/// metric missing from some run; no metric to compare.
pub fn stat_compare(
    results: &[RunData],
    baseline: &[RunData],
    opts: &StatOptions,
) -> Result<StatOutcome> {
    if !(opts.alpha > 0.0 && opts.alpha <= 1.0) {
        bail!("alpha must be in (0, 1], got {}", opts.alpha);
    }
    if !(opts.abs_tol >= 0.0 && opts.abs_tol.is_finite()) {
        bail!("abs_tol must be finite and >= 0, got {}", opts.abs_tol);
    }
    if !(opts.rel_tol >= 0.0 && opts.rel_tol.is_finite()) {
        bail!("rel_tol must be finite and >= 0, got {}", opts.rel_tol);
    }
    if opts.last_n == 0 {
        bail!("last_n must be at least 1");
    }
    if baseline.is_empty() {
        bail!("the baseline contains no runs");
    }
    if opts.metrics.as_ref().is_some_and(|m| m.is_empty()) {
        bail!("the list of metrics to compare is empty");
    }

    let mut notes = Vec::new();
    let mut base_pts: BTreeMap<u32, Vec<&RunData>> = BTreeMap::new();
    let mut res_pts: BTreeMap<u32, Vec<&RunData>> = BTreeMap::new();
    for b in baseline {
        base_pts.entry(b.point_id).or_default().push(b);
    }
    for r in results {
        res_pts.entry(r.point_id).or_default().push(r);
    }
    for (pid, bruns) in &base_pts {
        let Some(rruns) = res_pts.get(pid) else {
            bail!(
                "point {pid} ({}) of the baseline has no runs in the results",
                bruns[0].point_label
            );
        };
        if rruns[0].point_label != bruns[0].point_label {
            notes.push(format!(
                "point {pid}: label differs: results '{}', baseline '{}'",
                rruns[0].point_label, bruns[0].point_label
            ));
        }
    }
    let extra_points: Vec<String> = res_pts
        .keys()
        .filter(|p| !base_pts.contains_key(p))
        .map(|p| p.to_string())
        .collect();
    if !extra_points.is_empty() {
        notes.push(format!(
            "points in the results but not in the baseline (not compared): {}",
            extra_points.join(", ")
        ));
    }

    // Only runs that take part in the comparison count for the column sets.
    let base_runs: Vec<&RunData> = baseline.iter().collect();
    let res_runs: Vec<&RunData> = results
        .iter()
        .filter(|r| base_pts.contains_key(&r.point_id))
        .collect();
    let base_common = common_columns(&base_runs);
    let res_common: BTreeSet<String> = common_columns(&res_runs).into_iter().collect();
    let common: Vec<String> = base_common
        .iter()
        .filter(|c| res_common.contains(*c))
        .cloned()
        .collect();
    let metrics: Vec<String> = match &opts.metrics {
        Some(requested) => {
            let mut out: Vec<String> = Vec::new();
            for m in requested {
                if out.contains(m) {
                    continue;
                }
                if !common.contains(m) {
                    let missing_in = |side: &str, runs: &[&RunData]| {
                        runs.iter().find(|r| column(r, m).is_none()).map(|r| {
                            format!("{side} (e.g. run {}, point {})", r.run_id, r.point_id)
                        })
                    };
                    let wher = missing_in("the results", &res_runs)
                        .or_else(|| missing_in("the baseline", &base_runs))
                        .unwrap_or_else(|| "the data".to_string());
                    bail!("requested metric '{m}' is missing from {wher}");
                }
                out.push(m.clone());
            }
            out
        }
        None => {
            let all: BTreeSet<String> = all_columns(&base_runs)
                .into_iter()
                .chain(all_columns(&res_runs))
                .collect();
            let skipped: Vec<String> = all.into_iter().filter(|c| !common.contains(c)).collect();
            if !skipped.is_empty() {
                notes.push(format!(
                    "columns not present in every compared run of both sides (not compared): {}",
                    skipped.join(", ")
                ));
            }
            common
        }
    };
    if metrics.is_empty() {
        bail!("no metric column is present in every run of both the results and the baseline");
    }

    let mut tests = Vec::new();
    for (pid, bruns) in &base_pts {
        let rruns = &res_pts[pid];
        for metric in &metrics {
            let summaries = |runs: &[&RunData]| -> Vec<f64> {
                runs.iter()
                    .map(|r| tail_mean(column(r, metric).expect("common column"), opts.last_n))
                    .collect()
            };
            // A replication rerun (the same seeds) is compared run by run: the baseline's
            // runs in the order of the results' seeds.
            let by_seed: Option<Vec<&RunData>> = (rruns.len() == bruns.len())
                .then(|| {
                    rruns
                        .iter()
                        .map(|r| {
                            let mut hits = bruns.iter().filter(|b| b.seed == r.seed);
                            match (hits.next(), hits.next()) {
                                (Some(b), None) => Some(*b),
                                _ => None,
                            }
                        })
                        .collect()
                })
                .flatten();
            let b_summaries = summaries(by_seed.as_deref().unwrap_or(bruns));
            tests.push(test_metric(
                *pid,
                &bruns[0].point_label,
                metric,
                summaries(rruns),
                b_summaries,
                by_seed.is_some(),
                opts,
            ));
        }
    }

    let family: Vec<f64> = tests.iter().flat_map(|t| [t.p_welch, t.p_ks]).collect();
    let adjusted = holm(&family);
    for (i, t) in tests.iter_mut().enumerate() {
        t.p_adjusted = adjusted[2 * i].min(adjusted[2 * i + 1]);
        t.drifted = t.drifted || (t.p_adjusted < opts.alpha && t.diff.abs() > t.tolerance);
    }
    let drifted = tests.iter().filter(|t| t.drifted).count();
    Ok(StatOutcome {
        tests,
        options: opts.clone(),
        drifted,
        notes,
    })
}

/// Paired t test of differences `d` against 0: `(t, df, two-sided p)`. n < 2 → NaN; all
/// differences equal → p 1 when they are 0, else 0.
fn paired_t_test(d: &[f64]) -> (f64, f64, f64) {
    let n = d.len();
    if n < 2 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let (m, sd) = (mean(d), sample_sd(d));
    if sd == 0.0 {
        return if m == 0.0 {
            (0.0, (n - 1) as f64, 1.0)
        } else {
            (f64::INFINITY.copysign(m), (n - 1) as f64, 0.0)
        };
    }
    let t = m / (sd / (n as f64).sqrt());
    let df = (n - 1) as f64;
    (t, df, (2.0 * student_t_sf(t.abs(), df)).min(1.0))
}

/// Builds one test; `p_adjusted` is filled in later (NaN here) and `drifted` is only set
/// when forced by all-non-finite data.
fn test_metric(
    point_id: u32,
    point_label: &str,
    metric: &str,
    r_all: Vec<f64>,
    b_all: Vec<f64>,
    paired: bool,
    opts: &StatOptions,
) -> MetricTest {
    let mut notes = Vec::new();
    // Paired differences, where both runs of a pair are finite.
    let d: Vec<f64> = r_all
        .iter()
        .zip(&b_all)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| x - y)
        .collect();
    let (r_total, b_total) = (r_all.len(), b_all.len());
    let r: Vec<f64> = r_all.into_iter().filter(|v| v.is_finite()).collect();
    let b: Vec<f64> = b_all.into_iter().filter(|v| v.is_finite()).collect();
    if r.len() < r_total || b.len() < b_total {
        notes.push(format!(
            "non-finite run summaries excluded: {} of {} in the results, {} of {} in the baseline",
            r_total - r.len(),
            r_total,
            b_total - b.len(),
            b_total
        ));
    }
    let mut forced = false;
    if r.is_empty() != b.is_empty() {
        forced = true;
        notes.push(format!(
            "non-finite in every run of the {} but not of the {}: counted as drift",
            if r.is_empty() { "results" } else { "baseline" },
            if r.is_empty() { "baseline" } else { "results" }
        ));
    } else if r.is_empty() {
        notes.push("non-finite in every run of both sides: not tested".to_string());
    }
    let (mr, mb) = (mean(&r), mean(&b));
    let diff = mr - mb;
    let rel_diff = if mb != 0.0 {
        diff / mb.abs()
    } else if diff == 0.0 {
        0.0
    } else {
        diff * f64::INFINITY
    };
    let (_, _, p_welch) = if paired {
        paired_t_test(&d)
    } else {
        welch_t_test(&r, &b)
    };
    if (r.len() < 2 || b.len() < 2) && !r.is_empty() && !b.is_empty() {
        notes.push(format!(
            "Welch test skipped (n_result = {}, n_baseline = {}; needs n >= 2): p treated as 1",
            r.len(),
            b.len()
        ));
    }
    let (_, p_ks) = ks_two_sample(&r, &b);
    MetricTest {
        point_id,
        point_label: point_label.to_string(),
        metric: metric.to_string(),
        n_result: r.len(),
        n_baseline: b.len(),
        mean_result: mr,
        mean_baseline: mb,
        sd_result: sample_sd(&r),
        sd_baseline: sample_sd(&b),
        diff,
        rel_diff,
        effect_size: cohens_d(&r, &b),
        p_welch,
        test: if paired { "paired t" } else { "Welch t" }.to_string(),
        p_ks,
        p_adjusted: f64::NAN,
        tolerance: opts.abs_tol.max(opts.rel_tol * mb.abs()),
        drifted: forced,
        notes,
    }
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

/// Number with 4 significant digits (fixed notation in [1e-3, 1e6), else scientific).
fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if (1e-3..1e6).contains(&a) {
        let digits = a.log10().floor() as i32;
        let decimals = (3 - digits).max(0) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.3e}")
    }
}

fn fmt_signed(x: f64) -> String {
    let s = fmt_num(x);
    if x > 0.0 {
        format!("+{s}")
    } else {
        s
    }
}

fn fmt_pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:+.2}%", x * 100.0)
    } else {
        fmt_signed(x)
    }
}

fn fmt_p(p: f64) -> String {
    if p.is_nan() {
        "NaN".into()
    } else if p == 0.0 {
        "0".into()
    } else if p < 1e-4 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}

/// Aligned plain-text table; `right[i]` right-aligns column i.
fn text_table(headers: &[&str], rows: &[Vec<String>], right: &[bool]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i > 0 {
                l.push_str("  ");
            }
            if right[i] {
                l.push_str(&" ".repeat(pad));
                l.push_str(cell);
            } else {
                l.push_str(cell);
                l.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    line(rule.iter().map(String::as_str).collect());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

fn md_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// XML escaping for text (`attr = false`) or attribute values (`attr = true`); drops
/// characters that XML 1.0 does not allow.
fn xml_escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' if attr => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' | '\r' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn stat_settings(o: &StatOutcome) -> String {
    let opts = &o.options;
    let paired = o.tests.iter().filter(|t| t.test == "paired t").count();
    let test = match paired {
        0 => "Welch t + KS per test".to_string(),
        p if p == o.tests.len() => {
            "paired t (results and baseline share seeds: runs paired by seed) + KS per test"
                .to_string()
        }
        p => format!("paired t for {p} tests whose runs share seeds, Welch t for the rest, + KS"),
    };
    format!(
        "{test}; alpha {:?}, Holm-adjusted over {} p-values; tolerance max({:?}, {}% of |baseline mean|); run summary: mean of last {} steps",
        opts.alpha,
        2 * o.tests.len(),
        opts.abs_tol,
        opts.rel_tol * 100.0,
        opts.last_n
    )
}

fn stat_verdict(o: &StatOutcome) -> String {
    let k = o.tests.len();
    let points = o
        .tests
        .iter()
        .map(|t| t.point_id)
        .collect::<BTreeSet<u32>>()
        .len();
    if o.passed() {
        format!("PASS: no drift in {k} metric tests over {points} points")
    } else {
        format!(
            "FAIL: {} of {k} metric tests drifted over {points} points",
            o.drifted
        )
    }
}

fn drift_message(t: &MetricTest, alpha: f64) -> String {
    if t.p_adjusted < alpha && t.diff.abs() > t.tolerance {
        format!(
            "mean {} vs baseline {} (diff {} = {}, |diff| > tolerance {}), Cohen's d {}, p_adj {}",
            fmt_num(t.mean_result),
            fmt_num(t.mean_baseline),
            fmt_signed(t.diff),
            fmt_pct(t.rel_diff),
            fmt_num(t.tolerance),
            fmt_num(t.effect_size),
            fmt_p(t.p_adjusted)
        )
    } else {
        t.notes.join("; ")
    }
}

/// Tests with the drifted ones first (stable otherwise).
fn drifted_first(o: &StatOutcome) -> Vec<&MetricTest> {
    let mut v: Vec<&MetricTest> = o.tests.iter().collect();
    v.sort_by_key(|t| !t.drifted);
    v
}

#[derive(Serialize)]
struct StatJson<'a> {
    mode: &'static str,
    passed: bool,
    #[serde(flatten)]
    outcome: &'a StatOutcome,
}

#[derive(Serialize)]
struct ExactJson<'a> {
    mode: &'static str,
    passed: bool,
    n_runs: usize,
    diff: Option<&'a ExactDiff>,
}

/// Renders a stat outcome.
///
/// * `Table`: aligned plain-text table (drifted rows first), notes, then a one-line
///   verdict (`PASS: ...` / `FAIL: ...`).
/// * `Markdown`: heading with the verdict (✅/❌), a table of the drifted metrics, then a
///   collapsible `<details>` with all tests.
/// * `Junit`: one `<testsuite name="gardengate-check">`, one
///   `<testcase classname="point_<id>" name="<metric>">` per test, `<failure>` for
///   drifted ones.
/// * `Json`: `{"mode": "stat", "passed": .., "tests": [..], "options": {..},
///   "drifted": .., "notes": [..]}`; non-finite numbers as "NaN"/"Infinity"/"-Infinity".
///   The object deserializes back into a [`StatOutcome`].
pub fn render_stat(outcome: &StatOutcome, format: ReportFormat) -> String {
    match format {
        ReportFormat::Table => stat_table(outcome),
        ReportFormat::Markdown => stat_markdown(outcome),
        ReportFormat::Junit => stat_junit(outcome),
        ReportFormat::Json => {
            let j = StatJson {
                mode: "stat",
                passed: outcome.passed(),
                outcome,
            };
            let mut s = serde_json::to_string_pretty(&j).expect("serializable");
            s.push('\n');
            s
        }
    }
}

fn stat_table(o: &StatOutcome) -> String {
    let headers = [
        "status",
        "point",
        "label",
        "metric",
        "n res/base",
        "mean res",
        "mean base",
        "diff",
        "rel diff",
        "d",
        "p welch",
        "p ks",
        "p adj",
        "tol",
    ];
    let right = [
        false, true, false, false, true, true, true, true, true, true, true, true, true, true,
    ];
    let rows: Vec<Vec<String>> = drifted_first(o)
        .into_iter()
        .map(|t| {
            vec![
                if t.drifted { "DRIFT" } else { "ok" }.to_string(),
                t.point_id.to_string(),
                t.point_label.replace(['\n', '\r'], " "),
                t.metric.clone(),
                format!("{}/{}", t.n_result, t.n_baseline),
                fmt_num(t.mean_result),
                fmt_num(t.mean_baseline),
                fmt_signed(t.diff),
                fmt_pct(t.rel_diff),
                fmt_num(t.effect_size),
                fmt_p(t.p_welch),
                fmt_p(t.p_ks),
                fmt_p(t.p_adjusted),
                fmt_num(t.tolerance),
            ]
        })
        .collect();
    let mut out = text_table(&headers, &rows, &right);
    for n in &o.notes {
        let _ = writeln!(out, "note: {n}");
    }
    for t in &o.tests {
        for n in &t.notes {
            let _ = writeln!(out, "note [point {}, {}]: {n}", t.point_id, t.metric);
        }
    }
    let _ = writeln!(out, "{} ({})", stat_verdict(o), stat_settings(o));
    out
}

/// Row caps of the Markdown tables: a GitHub comment holds at most 65,536 characters.
const MD_MAX_DRIFTED_ROWS: usize = 100;
const MD_MAX_ALL_ROWS: usize = 200;

/// Writes a Markdown table of `tests`, at most `max_rows` rows (then a line saying how
/// many were left out).
fn md_stat_rows(tests: &[&MetricTest], max_rows: usize, out: &mut String) {
    out.push_str(
        "| | point | metric | result mean ± sd (n) | baseline mean ± sd (n) | diff | rel diff | Cohen's d | p Welch | p KS | p adj | tolerance |\n",
    );
    out.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for t in tests.iter().take(max_rows) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} ± {} ({}) | {} ± {} ({}) | {} | {} | {} | {} | {} | {} | {} |",
            if t.drifted { "❌" } else { "✅" },
            md_cell(&format!("{} ({})", t.point_id, t.point_label)),
            md_cell(&t.metric),
            fmt_num(t.mean_result),
            fmt_num(t.sd_result),
            t.n_result,
            fmt_num(t.mean_baseline),
            fmt_num(t.sd_baseline),
            t.n_baseline,
            fmt_signed(t.diff),
            fmt_pct(t.rel_diff),
            fmt_num(t.effect_size),
            fmt_p(t.p_welch),
            fmt_p(t.p_ks),
            fmt_p(t.p_adjusted),
            fmt_num(t.tolerance),
        );
    }
    if tests.len() > max_rows {
        let _ = writeln!(
            out,
            "\n… {} more not shown (see the JSON or JUnit report).",
            tests.len() - max_rows
        );
    }
}

fn stat_markdown(o: &StatOutcome) -> String {
    let mut out = String::new();
    let k = o.tests.len();
    if o.passed() {
        let _ = writeln!(out, "## ✅ gardengate check: no drift ({k} metric tests)\n");
    } else {
        let _ = writeln!(
            out,
            "## ❌ gardengate check: {} of {k} metric tests drifted\n",
            o.drifted
        );
    }
    let _ = writeln!(out, "{}.\n", md_cell(&stat_settings(o)));
    let drifted: Vec<&MetricTest> = o.tests.iter().filter(|t| t.drifted).collect();
    if drifted.is_empty() {
        out.push_str("No metric drifted.\n\n");
    } else {
        out.push_str("### Drifted metrics\n\n");
        md_stat_rows(&drifted, MD_MAX_DRIFTED_ROWS, &mut out);
        out.push('\n');
    }
    let notes: Vec<String> = o
        .notes
        .iter()
        .cloned()
        .chain(o.tests.iter().flat_map(|t| {
            t.notes
                .iter()
                .map(move |n| format!("point {}, {}: {n}", t.point_id, t.metric))
        }))
        .collect();
    if !notes.is_empty() {
        out.push_str("**Notes**\n\n");
        for n in &notes {
            let _ = writeln!(out, "- {}", md_cell(n));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "<details>\n<summary>All {k} tests</summary>\n");
    md_stat_rows(&drifted_first(o), MD_MAX_ALL_ROWS, &mut out);
    out.push_str("\n</details>\n");
    out
}

fn junit_properties(out: &mut String, props: &[(&str, String)]) {
    out.push_str("  <properties>\n");
    for (name, value) in props {
        let _ = writeln!(
            out,
            "    <property name=\"{}\" value=\"{}\"/>",
            xml_escape(name, true),
            xml_escape(value, true)
        );
    }
    out.push_str("  </properties>\n");
}

fn stat_junit(o: &StatOutcome) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"gardengate-check\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">",
        o.tests.len(),
        o.drifted
    );
    let opts = &o.options;
    junit_properties(
        &mut out,
        &[
            ("mode", "stat".to_string()),
            ("alpha", format!("{:?}", opts.alpha)),
            ("abs_tol", format!("{:?}", opts.abs_tol)),
            ("rel_tol", format!("{:?}", opts.rel_tol)),
            ("last_n", opts.last_n.to_string()),
        ],
    );
    for t in &o.tests {
        let _ = write!(
            out,
            "  <testcase classname=\"point_{}\" name=\"{}\"",
            t.point_id,
            xml_escape(&t.metric, true)
        );
        if !t.drifted && t.notes.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        if t.drifted {
            let detail = format!(
                "point {} ({})\nmetric {}\nresult   mean {} sd {} n {}\nbaseline mean {} sd {} n {}\ndiff {} ({}), tolerance {}\nCohen's d {}\np Welch {}, p KS {}, p adjusted {} (alpha {})",
                t.point_id,
                t.point_label,
                t.metric,
                fmt_num(t.mean_result),
                fmt_num(t.sd_result),
                t.n_result,
                fmt_num(t.mean_baseline),
                fmt_num(t.sd_baseline),
                t.n_baseline,
                fmt_signed(t.diff),
                fmt_pct(t.rel_diff),
                fmt_num(t.tolerance),
                fmt_num(t.effect_size),
                fmt_p(t.p_welch),
                fmt_p(t.p_ks),
                fmt_p(t.p_adjusted),
                opts.alpha
            );
            let _ = writeln!(
                out,
                "    <failure type=\"drift\" message=\"{}\">{}</failure>",
                xml_escape(&format!("drift: {}", drift_message(t, opts.alpha)), true),
                xml_escape(&detail, false)
            );
        }
        if !t.notes.is_empty() {
            let _ = writeln!(
                out,
                "    <system-out>{}</system-out>",
                xml_escape(&t.notes.join("\n"), false)
            );
        }
        out.push_str("  </testcase>\n");
    }
    let mut tail = o.notes.clone();
    tail.push(format!("{} ({})", stat_verdict(o), stat_settings(o)));
    let _ = writeln!(
        out,
        "  <system-out>{}</system-out>",
        xml_escape(&tail.join("\n"), false)
    );
    out.push_str("</testsuite>\n");
    out
}

/// Renders the outcome of [`exact_compare`]; `n_runs` is the number of baseline runs
/// that were compared (for the verdict).
///
/// * `Table`: the fields of the first difference as an aligned table, then a one-line
///   verdict.
/// * `Markdown`: heading with the verdict (✅/❌) and a table of the difference.
/// * `Junit`: one `<testsuite name="gardengate-check">` with one
///   `<testcase classname="exact" name="bit_identical">`, failing on a difference.
/// * `Json`: `{"mode": "exact", "passed": .., "n_runs": .., "diff": {..} | null}`.
pub fn render_exact(diff: Option<&ExactDiff>, n_runs: usize, format: ReportFormat) -> String {
    let verdict = match diff {
        None => format!("PASS: results are bit-identical to the baseline ({n_runs} runs)"),
        Some(d) => format!("FAIL: first difference: {}", d.describe()),
    };
    let fields = |d: &ExactDiff| -> Vec<(&'static str, String)> {
        vec![
            ("kind", d.kind.as_str().to_string()),
            ("run", d.run_id.to_string()),
            ("point", d.point_id.to_string()),
            ("replicate", d.replicate.to_string()),
            (
                "step",
                d.step.map_or_else(|| "-".to_string(), |s| s.to_string()),
            ),
            (
                "column",
                if d.column.is_empty() {
                    "-".to_string()
                } else {
                    d.column.clone()
                },
            ),
            ("result", d.result.clone()),
            ("baseline", d.baseline.clone()),
        ]
    };
    match format {
        ReportFormat::Table => {
            let mut out = String::new();
            if let Some(d) = diff {
                let rows: Vec<Vec<String>> = fields(d)
                    .into_iter()
                    .map(|(k, v)| vec![k.to_string(), v])
                    .collect();
                out.push_str(&text_table(&["field", "value"], &rows, &[false, false]));
            }
            let _ = writeln!(out, "{verdict}");
            out
        }
        ReportFormat::Markdown => {
            let mut out = String::new();
            match diff {
                None => {
                    let _ = writeln!(
                        out,
                        "## ✅ gardengate check (exact): bit-identical to the baseline\n\n{n_runs} runs compared."
                    );
                }
                Some(d) => {
                    let _ = writeln!(
                        out,
                        "## ❌ gardengate check (exact): results differ from the baseline\n\n{}\n",
                        md_cell(&d.describe())
                    );
                    out.push_str("| field | value |\n|---|---|\n");
                    for (k, v) in fields(d) {
                        let _ = writeln!(out, "| {k} | {} |", md_cell(&v));
                    }
                    let _ = writeln!(
                        out,
                        "\n{n_runs} baseline runs; only the first difference is shown."
                    );
                }
            }
            out
        }
        ReportFormat::Junit => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            let _ = writeln!(
                out,
                "<testsuite name=\"gardengate-check\" tests=\"1\" failures=\"{}\" errors=\"0\" skipped=\"0\">",
                usize::from(diff.is_some())
            );
            junit_properties(
                &mut out,
                &[
                    ("mode", "exact".to_string()),
                    ("n_runs", n_runs.to_string()),
                ],
            );
            match diff {
                None => out.push_str("  <testcase classname=\"exact\" name=\"bit_identical\"/>\n"),
                Some(d) => {
                    let body: Vec<String> = fields(d)
                        .into_iter()
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect();
                    let _ = writeln!(
                        out,
                        "  <testcase classname=\"exact\" name=\"bit_identical\">\n    <failure type=\"difference\" message=\"{}\">{}</failure>\n  </testcase>",
                        xml_escape(&d.describe(), true),
                        xml_escape(&body.join("\n"), false)
                    );
                }
            }
            let _ = writeln!(
                out,
                "  <system-out>{}</system-out>",
                xml_escape(&verdict, false)
            );
            out.push_str("</testsuite>\n");
            out
        }
        ReportFormat::Json => {
            let j = ExactJson {
                mode: "exact",
                passed: diff.is_none(),
                n_runs,
                diff,
            };
            let mut s = serde_json::to_string_pretty(&j).expect("serializable");
            s.push('\n');
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values below were computed with SciPy 1.17.1 and statsmodels 0.15.0
    // (scipy.special.gammaln / betainc / kolmogorov, scipy.stats.t / norm / ttest_ind /
    // ks_2samp, statsmodels multipletests(method="holm")).

    fn assert_rel(got: f64, want: f64, rel: f64, what: &str) {
        let err = if want == 0.0 {
            got.abs()
        } else {
            ((got - want) / want).abs()
        };
        assert!(
            err <= rel,
            "{what}: got {got:e}, want {want:e} (rel err {err:e} > {rel:e})"
        );
    }

    /// Deterministic data identical to the Python reference script:
    /// x_i = ((i * mul) % modu) / modu * scale + off, i = 1..=n.
    fn gen(n: u64, mul: u64, modu: u64, off: f64, scale: f64) -> Vec<f64> {
        (1..=n)
            .map(|i| ((i * mul) % modu) as f64 / modu as f64 * scale + off)
            .collect()
    }

    #[test]
    fn ln_gamma_matches_scipy() {
        let cases = [
            (0.5, 0.5723649429247),
            (1.0, 0.0),
            (1.5, -0.12078223763524526),
            (3.7, 1.428072326665388),
            (10.0, 12.801827480081469),
            (123.456, 469.6055471299295),
            (1e5, 1051287.7089736569),
            (0.01, 4.599479878042022),
        ];
        for (x, want) in cases {
            let got = ln_gamma(x);
            assert!(
                (got - want).abs() <= 1e-13 * want.abs().max(1.0),
                "ln_gamma({x}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn inc_beta_matches_scipy() {
        let cases = [
            (0.5, 0.5, 0.3, 0.36901011956554536),
            (2.0, 3.0, 0.4, 0.5247999999999999),
            (15.0, 0.5, 0.9, 0.07785867031466781),
            (100.0, 0.5, 0.99, 0.1567758654244408),
            (0.5, 200.0, 0.001, 0.4727558929747644),
            (5.0, 5.0, 0.5, 0.5),
            (3.5, 0.5, 1e-6, 2.9102629483066934e-22),
        ];
        for (a, b, x, want) in cases {
            assert_rel(inc_beta(a, b, x), want, 1e-11, &format!("I_{x}({a},{b})"));
        }
        assert_eq!(inc_beta(2.0, 3.0, 0.0), 0.0);
        assert_eq!(inc_beta(2.0, 3.0, 1.0), 1.0);
        assert!(inc_beta(-1.0, 3.0, 0.5).is_nan());
    }

    #[test]
    fn student_t_matches_scipy() {
        // (t, df, scipy.stats.t.sf, scipy.stats.t.cdf)
        let cases = [
            (0.5, 1.0, 0.35241638234956674, 0.6475836176504333),
            (2.0, 2.5, 0.07869574787898295, 0.9213042521210171),
            (-1.3, 5.0, 0.8748496829146615, 0.12515031708533855),
            (3.7, 30.0, 0.0004322999266236452, 0.9995677000733764),
            (10.0, 3.0, 0.0010641995292070751, 0.9989358004707929),
            (40.0, 7.0, 7.951089992425182e-10, 0.999999999204891),
            (2.1, 1000.0, 0.017989437155390985, 0.982010562844609),
            (1.96, 1e5, 0.02499928159715084, 0.9750007184028492),
            (0.0, 4.0, 0.5, 0.5),
            (-6.5, 12.0, 0.9999853174821566, 1.4682517843374057e-05),
            (8.0, 50.0, 8.316483014160684e-11, 0.9999999999168352),
        ];
        for (t, df, sf, cdf) in cases {
            assert_rel(student_t_sf(t, df), sf, 1e-10, &format!("t.sf({t}, {df})"));
            assert_rel(
                student_t_cdf(t, df),
                cdf,
                1e-10,
                &format!("t.cdf({t}, {df})"),
            );
        }
        assert_eq!(student_t_sf(f64::INFINITY, 3.0), 0.0);
        assert_eq!(student_t_sf(f64::NEG_INFINITY, 3.0), 1.0);
        assert!(student_t_sf(1.0, 0.0).is_nan());
        // df = inf is the normal distribution
        assert_rel(
            student_t_sf(1.96, f64::INFINITY),
            0.024997895148220435,
            1e-12,
            "t inf",
        );
    }

    #[test]
    fn normal_sf_matches_scipy() {
        let cases = [
            (0.0, 0.5),
            (1.0, 0.15865525393145707),
            (1.96, 0.024997895148220435),
            (-2.5, 0.9937903346742238),
            (5.0, 2.866515718791933e-07),
            (10.0, 7.61985302416047e-24),
        ];
        for (z, want) in cases {
            assert_rel(normal_sf(z), want, 1e-12, &format!("norm.sf({z})"));
        }
    }

    #[test]
    fn welch_matches_scipy() {
        // (a, b, t, df, p, mean a, mean b, sd a, sd b) from scipy.stats.ttest_ind(equal_var=False)
        let w1a = vec![19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0];
        let w1b = vec![
            28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7, 27.6, 20.6, 13.7, 23.2, 17.5, 20.6, 18.0,
            23.9, 21.6, 24.3, 20.4, 23.9, 13.3,
        ];
        let cases = [
            (
                w1a,
                w1b,
                [
                    -2.225512039969852,
                    24.524634944257343,
                    0.035484530830010394,
                    19.369999999999997,
                    21.589999999999996,
                    1.2037441588643325,
                    4.123475794954901,
                ],
            ),
            (
                vec![1.1, 2.3, 0.7],
                vec![5.2, 4.9, 6.1, 5.5, 7.3, 4.4, 5.0],
                [
                    -6.843560036337555,
                    4.437730864693469,
                    0.0016198889454600242,
                    1.3666666666666665,
                    5.485714285714287,
                    0.832666399786453,
                    0.9581728644118648,
                ],
            ),
            (
                gen(25, 37, 101, 10.0, 1.0),
                gen(40, 53, 103, 10.01, 1.3),
                [
                    -1.7170795916673,
                    60.31549744380153,
                    0.09109599315723421,
                    10.482376237623761,
                    10.625606796116504,
                    0.2899812779946771,
                    0.3791850187893126,
                ],
            ),
            (
                gen(12, 7, 13, 0.0, 1.0),
                gen(9, 5, 11, 20.0, 1.0),
                [
                    -158.8298539191428,
                    16.89090302529975,
                    2.9628924263317006e-28,
                    0.5000000000000001,
                    20.494949494949495,
                    0.2773500981126145,
                    0.29144521305562626,
                ],
            ),
        ];
        for (i, (a, b, r)) in cases.iter().enumerate() {
            let (t, df, p) = welch_t_test(a, b);
            assert_rel(t, r[0], 1e-12, &format!("welch case {i} t"));
            assert_rel(df, r[1], 1e-12, &format!("welch case {i} df"));
            assert_rel(p, r[2], 1e-10, &format!("welch case {i} p"));
            assert_rel(mean(a), r[3], 1e-14, &format!("case {i} mean a"));
            assert_rel(mean(b), r[4], 1e-14, &format!("case {i} mean b"));
            assert_rel(sample_sd(a), r[5], 1e-13, &format!("case {i} sd a"));
            assert_rel(sample_sd(b), r[6], 1e-13, &format!("case {i} sd b"));
        }
    }

    #[test]
    fn welch_degenerate_cases() {
        assert_eq!(welch_t_test(&[1.0, 1.0, 1.0], &[1.0, 1.0]).2, 1.0);
        let (t, _, p) = welch_t_test(&[1.0, 1.0, 1.0], &[2.0, 2.0]);
        assert_eq!((t, p), (f64::NEG_INFINITY, 0.0));
        let (t, df, p) = welch_t_test(&[1.0], &[2.0, 3.0]);
        assert!(t.is_nan() && df.is_nan() && p.is_nan());
        // one constant sample: df = n_other - 1
        let (_, df, _) = welch_t_test(&[1.0, 1.0, 1.0], &[2.0, 3.0, 5.0, 4.0]);
        assert_rel(df, 3.0, 1e-14, "df with one constant side");
        assert!(mean(&[]).is_nan());
        assert!(sample_sd(&[1.0]).is_nan());
        assert_eq!(sample_sd(&[0.1; 30]), 0.0);
        assert_eq!(mean(&[0.1; 30]), 0.1);
    }

    #[test]
    fn cohens_d_cases() {
        // pooled sd of [1,2,3] and [2,3,4] is 1 -> d = -1
        assert_rel(
            cohens_d(&[1.0, 2.0, 3.0], &[2.0, 3.0, 4.0]),
            -1.0,
            1e-14,
            "d",
        );
        assert_eq!(cohens_d(&[1.0, 1.0], &[1.0, 1.0, 1.0]), 0.0);
        assert_eq!(cohens_d(&[2.0, 2.0], &[1.0, 1.0, 1.0]), f64::INFINITY);
        assert_eq!(cohens_d(&[0.0], &[1.0]), f64::NEG_INFINITY);
    }

    #[test]
    fn ks_exact_matches_scipy() {
        // (a, b, D, p) from scipy.stats.ks_2samp(a, b, method="exact"); all n*m <= 10000
        let cases: Vec<(Vec<f64>, Vec<f64>, f64, f64)> = vec![
            (
                vec![0.61, 0.29, 0.06, 0.59, -1.73],
                vec![-0.74, 0.51, -0.56, 0.39, 1.64, 0.05, -0.06],
                0.37142857142857144,
                0.7373737373737375,
            ),
            (
                gen(10, 7, 31, 0.0, 1.0),
                gen(10, 11, 37, 0.1, 1.0),
                0.3,
                0.7869297884777761,
            ),
            (
                gen(8, 3, 17, 0.0, 1.0),
                gen(12, 5, 19, 0.8, 1.0),
                0.9166666666666666,
                0.00014289116456299122,
            ),
            (vec![0.5], vec![0.1, 0.7, 0.9], 0.6666666666666666, 1.0),
            (
                gen(100, 7919, 1009, 0.0, 1.0),
                gen(100, 104729, 1013, 0.05, 1.0),
                0.05,
                0.9996892272702655,
            ),
            (
                gen(40, 31, 97, 0.0, 1.0),
                gen(25, 17, 89, 0.3, 1.0),
                0.315,
                0.07503349352797963,
            ),
            (
                gen(30, 13, 101, 0.0, 1.0),
                gen(30, 29, 103, 0.9, 1.0),
                0.9666666666666667,
                1.0146740335286845e-15,
            ),
        ];
        for (i, (a, b, d_want, p_want)) in cases.iter().enumerate() {
            let (d, p) = ks_two_sample(a, b);
            assert_rel(d, *d_want, 1e-14, &format!("ks exact case {i} D"));
            assert_rel(p, *p_want, 1e-9, &format!("ks exact case {i} p"));
            // symmetric in its arguments
            let (d2, p2) = ks_two_sample(b, a);
            assert_eq!(d, d2);
            assert_rel(p2, p, 1e-12, "symmetry");
        }
    }

    #[test]
    fn ks_asymptotic_matches_scipy() {
        // n*m > 10000 -> asymptotic. Columns: D; scipy.special.kolmogorov(lambda) with
        // Stephens' lambda = (sqrt(e) + 0.12 + 0.11/sqrt(e)) D (what we implement; must
        // match to 1e-9); ks_2samp(method="asymp") (SciPy uses kstwo.sf(D, round(e)) instead,
        // so only ~2% relative agreement is expected).
        let cases = [
            (
                gen(120, 7919, 1009, 0.0, 1.0),
                gen(150, 104729, 1013, 0.03, 1.0),
                0.03833333333333333,
                0.9999600300423186,
                0.9999010542857572,
            ),
            (
                gen(200, 31, 997, 0.0, 1.0),
                gen(300, 17, 991, 0.12, 1.0),
                0.14166666666666666,
                0.014428395883457061,
                0.014535458550574016,
            ),
            (
                gen(101, 13, 1019, 0.0, 1.0),
                gen(100, 29, 1021, 0.0, 1.0),
                0.15544554455445547,
                0.16050021209106494,
                0.16040321323737716,
            ),
        ];
        for (i, (a, b, d_want, p_stephens, p_scipy_asymp)) in cases.iter().enumerate() {
            let (d, p) = ks_two_sample(a, b);
            assert_rel(d, *d_want, 1e-14, &format!("ks asymp case {i} D"));
            assert_rel(
                p,
                *p_stephens,
                1e-9,
                &format!("ks asymp case {i} p (Stephens)"),
            );
            assert_rel(
                p,
                *p_scipy_asymp,
                0.02,
                &format!("ks asymp case {i} p vs scipy"),
            );
        }
    }

    #[test]
    fn kolmogorov_sf_matches_scipy() {
        let cases = [
            (0.2, 0.999999999999495),
            (0.3, 0.9999906941986655),
            (0.5, 0.9639452436648751),
            (0.8, 0.5441424115741981),
            (1.0, 0.26999967167735456),
            (1.18, 0.1234538094297657),
            (1.5, 0.022217962616525127),
            (2.0, 0.0006709252557796953),
            (3.0, 3.045995948942526e-08),
            (5.0, 3.8574996959278356e-22),
        ];
        for (x, want) in cases {
            assert_rel(kolmogorov_sf(x), want, 1e-12, &format!("kolmogorov({x})"));
        }
        assert_eq!(kolmogorov_sf(0.0), 1.0);
    }

    /// Brute force: enumerate every assignment of the pooled values to the two samples.
    fn ks_brute_force(a: &[f64], b: &[f64]) -> f64 {
        let (n, m) = (a.len(), b.len());
        let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
        let mut distinct = pooled.clone();
        distinct.sort_by(|x, y| x.partial_cmp(y).unwrap());
        distinct.dedup();
        let h = |xa: &[f64], xb: &[f64]| -> u64 {
            distinct
                .iter()
                .map(|&v| {
                    let ca = xa.iter().filter(|&&x| x <= v).count() as u64;
                    let cb = xb.iter().filter(|&&x| x <= v).count() as u64;
                    (ca * m as u64).abs_diff(cb * n as u64)
                })
                .max()
                .unwrap()
        };
        let h_obs = h(a, b);
        let (mut hit, mut total) = (0u64, 0u64);
        for mask in 0u32..(1 << (n + m)) {
            if mask.count_ones() as usize != n {
                continue;
            }
            let (mut xa, mut xb) = (Vec::new(), Vec::new());
            for (k, &v) in pooled.iter().enumerate() {
                if mask & (1 << k) != 0 {
                    xa.push(v)
                } else {
                    xb.push(v)
                }
            }
            total += 1;
            if h(&xa, &xb) >= h_obs {
                hit += 1;
            }
        }
        hit as f64 / total as f64
    }

    #[test]
    fn ks_exact_with_ties_is_the_permutation_distribution() {
        let cases: Vec<(Vec<f64>, Vec<f64>)> = vec![
            (vec![1.0, 2.0, 2.0, 3.0], vec![2.0, 3.0, 3.0, 4.0, 5.0]),
            (
                vec![0.0, 0.0, 0.0, 1.0, 1.0],
                vec![1.0, 1.0, 2.0, 2.0, 2.0, 2.0],
            ),
            (vec![5.0, 5.0, 5.0], vec![5.0, 6.0, 6.0, 7.0, 7.0, 7.0]),
            (vec![0.3, 0.1, 0.7, 0.2], vec![0.9, 0.4, 0.8, 0.6, 0.5]), // no ties
        ];
        for (i, (a, b)) in cases.iter().enumerate() {
            let (_, p) = ks_two_sample(a, b);
            assert_rel(p, ks_brute_force(a, b), 1e-12, &format!("ties case {i}"));
        }
        assert_eq!(ks_two_sample(&[2.0, 2.0], &[2.0, 2.0, 2.0]), (0.0, 1.0));
        assert!(ks_two_sample(&[], &[1.0]).1.is_nan());
    }

    #[test]
    fn holm_matches_statsmodels() {
        let p = [0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.5, 1e-6];
        let want = [0.06, 0.16, 0.15, 0.035, 0.4, 0.16, 0.5, 8e-6];
        for (g, w) in holm(&p).iter().zip(want) {
            assert_rel(*g, w, 1e-12, "holm");
        }
        assert_eq!(holm(&[0.9, 0.8]), vec![1.0, 1.0]);
        assert_eq!(holm(&[f64::NAN, 0.01]), vec![1.0, 0.02]);
        assert!(holm(&[]).is_empty());
    }

    // ---- exact mode ----

    fn run(run_id: u32, point_id: u32, replicate: u32, seed: u64) -> RunData {
        let steps: Vec<i64> = (0..6).map(|s| s * 10).collect();
        let col = |k: f64| {
            steps
                .iter()
                .map(|&s| k * s as f64 + run_id as f64 * 0.1)
                .collect()
        };
        RunData {
            run_id,
            point_id,
            replicate,
            seed,
            point_label: format!("tau={}", point_id),
            columns: vec![
                ("a".into(), col(1.0)),
                ("b".into(), col(0.5)),
                ("c".into(), col(-2.0)),
            ],
            steps,
        }
    }

    fn base_runs() -> Vec<RunData> {
        (1..=4)
            .map(|i| run(i, i % 2, i / 2, 1000 + i as u64))
            .collect()
    }

    #[test]
    fn exact_identical_is_none() {
        let base = base_runs();
        assert_eq!(exact_compare(&base, &base), None);
        // run order and column order do not matter; NaN equals NaN with the same bits
        let mut b2 = base.clone();
        b2[0].columns[1].1[2] = f64::NAN;
        let mut r2 = b2.clone();
        r2.reverse();
        r2[0].columns.reverse();
        assert_eq!(exact_compare(&r2, &b2), None);
    }

    #[test]
    fn exact_value_difference_names_run_step_column() {
        let base = base_runs();
        let mut res = base.clone();
        res[2].columns[1].1[3] = f64::from_bits(res[2].columns[1].1[3].to_bits() + 1);
        let d = exact_compare(&res, &base).expect("difference");
        assert_eq!(d.kind, ExactDiffKind::Value);
        assert_eq!((d.run_id, d.point_id, d.replicate), (3, 1, 1));
        assert_eq!(d.step, Some(30));
        assert_eq!(d.column, "b");
        assert_eq!(d.baseline, format!("{:?}", base[2].columns[1].1[3]));
        assert_eq!(d.result, format!("{:?}", res[2].columns[1].1[3]));
        assert_ne!(d.result, d.baseline);
        assert!(d.describe().contains("step 30, column 'b'"));

        // the first difference wins: lower run, then lower step, then column order
        res[3].columns[0].1[0] = 99.0; // run 4: later run
        res[2].columns[2].1[1] = 99.0; // run 3, step 10, column c
        res[2].columns[0].1[3] = 99.0; // run 3, step 30, column a (before b at step 30)
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!((d.run_id, d.step, d.column.as_str()), (3, Some(10), "c"));
        res[2].columns[2].1[1] = base[2].columns[2].1[1];
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!((d.run_id, d.step, d.column.as_str()), (3, Some(30), "a"));

        // -0.0 and 0.0 are different bits
        let mut r = base.clone();
        let mut b = base.clone();
        b[0].columns[0].1[0] = 0.0;
        r[0].columns[0].1[0] = -0.0;
        let d = exact_compare(&r, &b).unwrap();
        assert_eq!((d.result.as_str(), d.baseline.as_str()), ("-0.0", "0.0"));
    }

    #[test]
    fn exact_missing_and_extra_run() {
        let base = base_runs();
        let res: Vec<RunData> = base.iter().filter(|r| r.run_id != 2).cloned().collect();
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!(d.kind, ExactDiffKind::MissingRun);
        assert_eq!((d.run_id, d.point_id, d.replicate, d.step), (2, 0, 1, None));
        assert_eq!(d.result, "<missing>");

        let mut res = base.clone();
        res.push(run(9, 1, 7, 5));
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!(
            (d.kind, d.run_id, d.replicate),
            (ExactDiffKind::ExtraRun, 9, 7)
        );

        let mut res = base.clone();
        res.push(base[1].clone());
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!((d.kind, d.run_id), (ExactDiffKind::DuplicateRun, 2));
    }

    #[test]
    fn exact_seed_steps_and_column_differences() {
        let base = base_runs();
        let mut res = base.clone();
        res[1].seed = 7;
        res[3].columns[0].1[0] = 1.5; // later run: not reported
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!(d.kind, ExactDiffKind::Seed);
        assert_eq!((d.run_id, d.column.as_str()), (2, "seed"));
        assert_eq!((d.result.as_str(), d.baseline.as_str()), ("7", "1002"));

        let mut res = base.clone();
        res[0].point_id = 5;
        assert_eq!(
            exact_compare(&res, &base).unwrap().kind,
            ExactDiffKind::PointId
        );

        let mut res = base.clone();
        res[0].steps.pop();
        for c in &mut res[0].columns {
            c.1.pop();
        }
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!((d.kind, d.step), (ExactDiffKind::Steps, Some(50)));
        assert!(d.result.starts_with("<missing>"));

        let mut res = base.clone();
        res[1].columns.remove(1);
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!(
            (d.kind, d.run_id, d.column.as_str()),
            (ExactDiffKind::MissingColumn, 2, "b")
        );

        let mut res = base.clone();
        res[1].columns.push(("z".into(), vec![0.0; 6]));
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!(
            (d.kind, d.column.as_str()),
            (ExactDiffKind::ExtraColumn, "z")
        );
    }

    // ---- stat mode ----

    struct Lcg(u64);

    impl Lcg {
        fn uniform(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }
        /// Box–Muller standard normal.
        fn normal(&mut self) -> f64 {
            let (u1, u2) = (self.uniform(), self.uniform());
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        }
    }

    /// Runs for points 0..n_points with columns gini, price and level; `shift(point,
    /// metric)` is added to the run level.
    fn sim(
        seed: u64,
        n_points: u32,
        reps: u32,
        n_steps: i64,
        shift: impl Fn(u32, &str) -> f64,
    ) -> Vec<RunData> {
        let mut rng = Lcg(seed);
        let mut out = Vec::new();
        for p in 0..n_points {
            for r in 0..reps {
                let steps: Vec<i64> = (0..n_steps).collect();
                let mut columns = Vec::new();
                for (name, centre, run_sd, step_sd) in [
                    ("gini", 0.4 + 0.01 * p as f64, 0.02, 0.01),
                    ("price", 10.0 + p as f64, 0.5, 0.1),
                    ("level", 100.0, 0.01, 0.001),
                ] {
                    let lvl = centre + run_sd * rng.normal() + shift(p, name);
                    let vals = steps.iter().map(|_| lvl + step_sd * rng.normal()).collect();
                    columns.push((name.to_string(), vals));
                }
                out.push(RunData {
                    run_id: p * 1000 + r,
                    point_id: p,
                    replicate: r,
                    seed: seed * 7919 + (p * 1000 + r) as u64,
                    point_label: format!("tau=0.{p}, gamma_wallet=3"),
                    steps,
                    columns,
                });
            }
        }
        out
    }

    #[test]
    fn stat_same_distribution_no_drift() {
        let base = sim(1, 3, 20, 60, |_, _| 0.0);
        let res = sim(2, 3, 20, 60, |_, _| 0.0);
        let o = stat_compare(&res, &base, &StatOptions::default()).unwrap();
        assert_eq!(o.tests.len(), 9);
        assert_eq!(o.drifted, 0, "{}", render_stat(&o, ReportFormat::Table));
        assert!(o.passed());
        for t in &o.tests {
            assert_eq!((t.n_result, t.n_baseline), (20, 20));
            assert!(t.p_adjusted >= t.p_welch.min(t.p_ks));
            assert!(t.p_adjusted <= 1.0);
            assert!(t.notes.is_empty());
        }
        // identical data: p = 1 everywhere
        let o = stat_compare(&base, &base, &StatOptions::default()).unwrap();
        assert!(o
            .tests
            .iter()
            .all(|t| t.p_welch == 1.0 && t.p_ks == 1.0 && t.p_adjusted == 1.0));
    }

    #[test]
    fn stat_large_shift_drifts() {
        let base = sim(1, 3, 20, 60, |_, _| 0.0);
        // +5 run-level sds on price at point 1 only
        let res = sim(
            2,
            3,
            20,
            60,
            |p, m| if p == 1 && m == "price" { 2.5 } else { 0.0 },
        );
        let o = stat_compare(&res, &base, &StatOptions::default()).unwrap();
        assert_eq!(o.drifted, 1, "{}", render_stat(&o, ReportFormat::Table));
        let t = o.tests.iter().find(|t| t.drifted).unwrap();
        assert_eq!((t.point_id, t.metric.as_str()), (1, "price"));
        assert!(t.p_adjusted < 1e-6);
        assert!(t.diff > 2.0 && t.diff > t.tolerance);
        assert!(t.effect_size > 3.0);
        assert_eq!(t.point_label, "tau=0.1, gamma_wallet=3");
        assert!(!o.passed());
    }

    #[test]
    fn stat_shift_below_tolerance_floor_does_not_drift() {
        let base = sim(1, 2, 20, 60, |_, _| 0.0);
        // level: mean 100, run sd 0.01; +0.5 is 50 sds but only 0.5% (< rel_tol 2%)
        let res = sim(2, 2, 20, 60, |_, m| if m == "level" { 0.5 } else { 0.0 });
        let o = stat_compare(&res, &base, &StatOptions::default()).unwrap();
        assert_eq!(o.drifted, 0);
        for t in o.tests.iter().filter(|t| t.metric == "level") {
            assert!(t.p_adjusted < 1e-8, "p_adjusted {}", t.p_adjusted);
            assert_rel(t.tolerance, 2.0, 1e-3, "tolerance");
            assert!(!t.drifted);
        }
        // with a tighter relative tolerance it drifts
        let opts = StatOptions {
            rel_tol: 0.001,
            ..StatOptions::default()
        };
        let o = stat_compare(&res, &base, &opts).unwrap();
        assert_eq!(o.drifted, 2);
    }

    #[test]
    fn stat_uses_only_last_n_steps() {
        let base = sim(1, 1, 10, 60, |_, _| 0.0);
        let mut res = base.clone();
        for r in &mut res {
            for (_, v) in &mut r.columns {
                for x in v.iter_mut().take(30) {
                    *x += 1000.0;
                }
            }
        }
        let o = stat_compare(&res, &base, &StatOptions::default()).unwrap();
        assert_eq!(o.drifted, 0);
        assert!(o.tests.iter().all(|t| t.diff == 0.0));
        let opts = StatOptions {
            last_n: 60,
            ..StatOptions::default()
        };
        assert_eq!(stat_compare(&res, &base, &opts).unwrap().drifted, 3);
    }

    #[test]
    fn stat_metric_selection_and_errors() {
        let base = sim(1, 2, 5, 40, |_, _| 0.0);
        let res = sim(2, 2, 5, 40, |_, _| 0.0);
        let opts = StatOptions {
            metrics: Some(vec!["price".into()]),
            ..StatOptions::default()
        };
        let o = stat_compare(&res, &base, &opts).unwrap();
        assert_eq!(o.tests.len(), 2);
        assert!(o.tests.iter().all(|t| t.metric == "price"));

        let opts = StatOptions {
            metrics: Some(vec!["price".into(), "welfare".into()]),
            ..StatOptions::default()
        };
        let e = stat_compare(&res, &base, &opts).unwrap_err().to_string();
        assert!(e.contains("welfare"), "{e}");

        let res_p0: Vec<RunData> = res.iter().filter(|r| r.point_id == 0).cloned().collect();
        let e = stat_compare(&res_p0, &base, &StatOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("point 1") && e.contains("no runs"), "{e}");

        assert!(stat_compare(&res, &[], &StatOptions::default()).is_err());
        let empty = StatOptions {
            metrics: Some(vec![]),
            ..StatOptions::default()
        };
        assert!(stat_compare(&res, &base, &empty).is_err());
        let bad = StatOptions {
            alpha: 0.0,
            ..StatOptions::default()
        };
        assert!(stat_compare(&res, &base, &bad).is_err());
        let bad = StatOptions {
            last_n: 0,
            ..StatOptions::default()
        };
        assert!(stat_compare(&res, &base, &bad).is_err());

        // a column only in the results is noted, not compared
        let mut res2 = res.clone();
        for r in &mut res2 {
            r.columns.push(("extra".into(), vec![1.0; 40]));
        }
        let o = stat_compare(&res2, &base, &StatOptions::default()).unwrap();
        assert_eq!(o.tests.len(), 6);
        assert!(o.notes.iter().any(|n| n.contains("extra")));
    }

    #[test]
    fn stat_degenerate_samples() {
        // one replicate per side: Welch skipped and noted
        let base = sim(1, 1, 1, 40, |_, _| 0.0);
        let res = sim(2, 1, 1, 40, |_, _| 0.0);
        let o = stat_compare(&res, &base, &StatOptions::default()).unwrap();
        for t in &o.tests {
            assert!(t.p_welch.is_nan());
            assert!(t.notes.iter().any(|n| n.contains("Welch test skipped")));
            assert!(!t.drifted);
        }
        // constant and equal on both sides -> p = 1; constant but different -> p = 0, the
        // tolerance decides
        let mk = |v: f64, reps: u32| -> Vec<RunData> {
            (0..reps)
                .map(|r| RunData {
                    run_id: r,
                    point_id: 0,
                    replicate: r,
                    seed: r as u64,
                    point_label: "p".into(),
                    steps: vec![0, 1],
                    columns: vec![("x".into(), vec![v, v])],
                })
                .collect()
        };
        let o = stat_compare(&mk(3.0, 5), &mk(3.0, 4), &StatOptions::default()).unwrap();
        let t = &o.tests[0];
        assert_eq!(
            (t.p_welch, t.p_ks, t.effect_size, t.drifted),
            (1.0, 1.0, 0.0, false)
        );
        let o = stat_compare(&mk(3.01, 5), &mk(3.0, 4), &StatOptions::default()).unwrap();
        let t = &o.tests[0];
        assert_eq!(
            (t.p_welch, t.effect_size, t.drifted),
            (0.0, f64::INFINITY, false)
        );
        let o = stat_compare(&mk(3.5, 5), &mk(3.0, 4), &StatOptions::default()).unwrap();
        assert!(o.tests[0].drifted);
        // a metric that became NaN in every run is a forced drift
        let o = stat_compare(&mk(f64::NAN, 5), &mk(3.0, 4), &StatOptions::default()).unwrap();
        let t = &o.tests[0];
        assert!(t.drifted && t.n_result == 0 && t.notes.iter().any(|n| n.contains("non-finite")));
        assert_eq!(o.drifted, 1);
    }

    // ---- rendering ----

    /// Minimal XML well-formedness check: one root, balanced tags, attributes quoted, and
    /// every '&' starts a known entity. Returns (element name, unescaped attributes).
    fn check_xml(s: &str) -> Vec<(String, Vec<(String, String)>)> {
        fn check_text(t: &str) {
            let mut rest = t;
            while let Some(i) = rest.find('&') {
                rest = &rest[i + 1..];
                let ok = ["amp;", "lt;", "gt;", "quot;", "apos;"]
                    .iter()
                    .any(|e| rest.starts_with(e))
                    || (rest.starts_with('#')
                        && rest[1..].find(';').is_some_and(|j| {
                            j > 0 && rest[1..1 + j].chars().all(|c| c.is_ascii_digit())
                        }));
                assert!(ok, "bare '&' in {t:?}");
            }
            assert!(!t.contains('<'), "bare '<' in {t:?}");
        }
        fn unescape(t: &str) -> String {
            t.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&#10;", "\n")
                .replace("&#13;", "\r")
                .replace("&#9;", "\t")
                .replace("&amp;", "&")
        }
        let decl_end = s.find("?>").expect("xml declaration");
        assert!(s.starts_with("<?xml "));
        let mut rest = &s[decl_end + 2..];
        let mut stack: Vec<String> = Vec::new();
        let mut elements = Vec::new();
        let mut roots = 0;
        loop {
            let (text, tail) = match rest.find('<') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            check_text(text);
            if stack.is_empty() {
                assert!(text.trim().is_empty(), "text outside the root: {text:?}");
            }
            if tail.is_empty() {
                break;
            }
            let end = tail.find('>').expect("unterminated tag");
            let tag = &tail[1..end];
            rest = &tail[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(name.trim()),
                    "mismatched close"
                );
                continue;
            }
            let self_closing = tag.ends_with('/');
            let body = tag.trim_end_matches('/');
            let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
            let name = body[..name_end].to_string();
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
            );
            let mut attrs = Vec::new();
            let mut a = body[name_end..].trim_start();
            while !a.is_empty() {
                let eq = a.find("=\"").expect("attribute without =\"");
                let key = a[..eq].trim().to_string();
                let after = &a[eq + 2..];
                let close = after.find('"').expect("unterminated attribute");
                let value = &after[..close];
                check_text(value);
                attrs.push((key, unescape(value)));
                a = after[close + 1..].trim_start();
            }
            if stack.is_empty() {
                roots += 1;
            }
            elements.push((name.clone(), attrs));
            if !self_closing {
                stack.push(name);
            }
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        assert_eq!(roots, 1);
        elements
    }

    fn attr<'a>(e: &'a (String, Vec<(String, String)>), k: &str) -> &'a str {
        e.1.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    /// A drifted outcome with hostile labels and metric names and a NaN p-value.
    fn render_fixture() -> StatOutcome {
        let nasty = |mut runs: Vec<RunData>| {
            for r in &mut runs {
                r.point_label = format!("tau<0.{} & \"q\"='x' | y", r.point_id);
                r.columns[0].0 = "p&l<1>\"".into();
            }
            runs
        };
        let base = nasty(sim(1, 2, 8, 40, |_, _| 0.0));
        let mut res = nasty(sim(2, 2, 8, 40, |p, m| {
            if p == 0 && m == "price" {
                3.0
            } else {
                0.0
            }
        }));
        for r in res.iter_mut().filter(|r| r.point_id == 1) {
            r.columns[2].1 = vec![f64::NAN; 40];
        }
        stat_compare(&res, &base, &StatOptions::default()).unwrap()
    }

    #[test]
    fn render_stat_junit_is_well_formed() {
        let o = render_fixture();
        assert_eq!(o.drifted, 2);
        let xml = render_stat(&o, ReportFormat::Junit);
        let els = check_xml(&xml);
        assert_eq!(els[0].0, "testsuite");
        assert_eq!(attr(&els[0], "name"), "gardengate-check");
        assert_eq!(attr(&els[0], "tests"), "6");
        assert_eq!(attr(&els[0], "failures"), "2");
        let cases: Vec<_> = els.iter().filter(|e| e.0 == "testcase").collect();
        assert_eq!(cases.len(), o.tests.len());
        for (c, t) in cases.iter().zip(&o.tests) {
            assert_eq!(attr(c, "classname"), format!("point_{}", t.point_id));
            assert_eq!(attr(c, "name"), t.metric);
        }
        assert_eq!(els.iter().filter(|e| e.0 == "failure").count(), 2);
        assert!(xml.contains("p&amp;l&lt;1&gt;&quot;"));
    }

    fn assert_json_close(a: &serde_json::Value, b: &serde_json::Value) {
        use serde_json::Value;
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                assert!((x - y).abs() <= 1e-15 * x.abs().max(y.abs()), "{x} vs {y}");
            }
            (Value::Array(x), Value::Array(y)) => {
                assert_eq!(x.len(), y.len());
                x.iter().zip(y).for_each(|(x, y)| assert_json_close(x, y));
            }
            (Value::Object(x), Value::Object(y)) => {
                assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>());
                x.iter().for_each(|(k, x)| assert_json_close(x, &y[k]));
            }
            (x, y) => assert_eq!(x, y),
        }
    }

    #[test]
    fn render_stat_json_round_trips() {
        let o = render_fixture();
        let json = render_stat(&o, ReportFormat::Json);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["mode"], "stat");
        assert_eq!(v["passed"], false);
        assert_eq!(v["drifted"], 2);
        assert_eq!(v["options"]["last_n"], 30);
        let tests = v["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 6);
        let nan_test = tests
            .iter()
            .find(|t| t["point_id"] == 1 && t["metric"] == "level")
            .unwrap();
        assert_eq!(nan_test["p_welch"], "NaN");
        assert_eq!(nan_test["drifted"], true);
        assert!(tests[0]["p_adjusted"].is_number());
        // deserializes back into the same outcome (serde_json without its
        // `float_roundtrip` feature may parse a float 1 ulp off, hence the tolerance)
        let back: StatOutcome = serde_json::from_str(&json).unwrap();
        let again: serde_json::Value =
            serde_json::from_str(&render_stat(&back, ReportFormat::Json)).unwrap();
        assert_json_close(&again, &v);
        // options deserialize with defaults for missing fields
        let opts: StatOptions = serde_json::from_str(r#"{"alpha": 0.05}"#).unwrap();
        assert_eq!(opts.last_n, 30);
        assert_eq!(opts.alpha, 0.05);
    }

    #[test]
    fn render_stat_markdown_and_table() {
        let o = render_fixture();
        let md = render_stat(&o, ReportFormat::Markdown);
        assert!(md.starts_with("## ❌ gardengate check: 2 of 6 metric tests drifted"));
        assert!(md.contains("### Drifted metrics"));
        assert!(md.contains("<details>") && md.contains("</details>"));
        assert!(md.contains("tau&lt;0.0 &amp; \"q\"='x' \\| y"));
        let table = render_stat(&o, ReportFormat::Table);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[2].starts_with("DRIFT") && lines[3].starts_with("DRIFT"));
        assert!(lines[4].starts_with("ok"));
        assert!(lines
            .last()
            .unwrap()
            .starts_with("FAIL: 2 of 6 metric tests drifted"));

        let base = sim(1, 2, 8, 40, |_, _| 0.0);
        let pass = stat_compare(&base, &base, &StatOptions::default()).unwrap();
        let md = render_stat(&pass, ReportFormat::Markdown);
        assert!(md.starts_with("## ✅ gardengate check: no drift (6 metric tests)"));
        assert!(md.contains("No metric drifted."));
        let table = render_stat(&pass, ReportFormat::Table);
        assert!(table.lines().last().unwrap().starts_with("PASS"));
        check_xml(&render_stat(&pass, ReportFormat::Junit));
    }

    #[test]
    fn render_markdown_caps_rows_for_pr_comments() {
        let mut o = render_fixture();
        let t = o.tests[0].clone();
        o.tests = (0..250)
            .map(|i| MetricTest {
                point_id: i,
                ..t.clone()
            })
            .collect();
        o.drifted = 0;
        let md = render_stat(&o, ReportFormat::Markdown);
        assert!(md.contains("… 50 more not shown"));
        assert!(md.len() < 65_536, "{} chars", md.len());
    }

    #[test]
    fn render_exact_all_formats() {
        let base = base_runs();
        let mut res = base.clone();
        res[0].columns[0].0 = "a<&\"b".into();
        res[0].columns[0].1[0] = f64::NAN;
        let mut b2 = base.clone();
        b2[0].columns[0].0 = "a<&\"b".into();
        let d = exact_compare(&res, &b2).unwrap();
        assert_eq!((d.result.as_str(), d.column.as_str()), ("NaN", "a<&\"b"));
        for diff in [None, Some(&d)] {
            let xml = render_exact(diff, 4, ReportFormat::Junit);
            let els = check_xml(&xml);
            assert_eq!(attr(&els[0], "name"), "gardengate-check");
            assert_eq!(
                els.iter().filter(|e| e.0 == "failure").count(),
                usize::from(diff.is_some())
            );
            let v: serde_json::Value =
                serde_json::from_str(&render_exact(diff, 4, ReportFormat::Json)).unwrap();
            assert_eq!(v["passed"], diff.is_none());
            assert_eq!(v["n_runs"], 4);
            let md = render_exact(diff, 4, ReportFormat::Markdown);
            assert!(md.starts_with(if diff.is_none() { "## ✅" } else { "## ❌" }));
            let table = render_exact(diff, 4, ReportFormat::Table);
            let last = table.lines().last().unwrap();
            assert!(
                last.starts_with(if diff.is_none() { "PASS" } else { "FAIL" }),
                "{last}"
            );
        }
        let v: serde_json::Value =
            serde_json::from_str(&render_exact(Some(&d), 4, ReportFormat::Json)).unwrap();
        assert_eq!(v["diff"]["kind"], "value");
        assert_eq!(v["diff"]["step"], 0);
        assert_eq!(v["diff"]["column"], "a<&\"b");
        let back: ExactDiff = serde_json::from_value(v["diff"].clone()).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn report_format_parses() {
        assert_eq!(
            "md".parse::<ReportFormat>().unwrap(),
            ReportFormat::Markdown
        );
        assert_eq!(
            "JUnit".parse::<ReportFormat>().unwrap(),
            ReportFormat::Junit
        );
        assert!("csv".parse::<ReportFormat>().is_err());
    }
}
