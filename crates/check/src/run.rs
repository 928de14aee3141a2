//! The data types of a comparison: runs in memory, exact differences, statistical options
//! and outcomes, report formats.

use crate::{bail, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub use gardengate_io::frame::RunColumns;

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
    type Err = crate::Error;
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
pub(crate) mod json_f64 {
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
