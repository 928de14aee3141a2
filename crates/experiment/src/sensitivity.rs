//! Sensitivity analysis of a design's out folder: `design.parquet` (the samples),
//! `sensitivity.parquet`/`.csv` (the indices) and the charts `charts/sensitivity_*`.
//!
//! The analysed output of a sample is built in two steps so that other per-run outputs (a
//! paired effect of a variant, a named window) can plug in: a per-run scalar (here the mean
//! of a metric over a window of steps, [`run_levels`]), then its mean over the sample's
//! replicates ([`sample_outputs`]). Both are plain loops in run order.

use gardengate_charts::{self as charts, sensitivity as sensitivity_charts};
use gardengate_core::metrics::sensitivity::{self, Options, Row};
use gardengate_core::scenario::design::{Design, Method};
use gardengate_core::scenario::variants::{Stat, BASELINE_NAME};
use gardengate_core::scenario::{error, ParamValue};
use gardengate_io::frame;
use gardengate_io::store::PlanRecord;
use gardengate_io::{bail, Context, Result};
use polars::prelude::*;
use std::path::Path;

/// Steps whose mean is a run's level (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// The last N steps of the run.
    Last(u32),
    /// Steps `from..=to`.
    Steps(u32, u32),
}

impl Window {
    /// The inclusive step range in a run of `steps` steps; an error when it is empty.
    pub fn range(self, steps: u32) -> Result<(u32, u32)> {
        let (a, b) = match self {
            Window::Last(n) => (steps.saturating_sub(n.max(1)), steps.saturating_sub(1)),
            Window::Steps(a, b) => (a, b),
        };
        if steps == 0 || a > b || b >= steps {
            bail!(
                "window of steps {a}..={b} in runs of {steps} steps; expected 0 ≤ from ≤ to ≤ {}",
                steps.saturating_sub(1)
            );
        }
        Ok((a, b))
    }
}

/// What to analyse.
#[derive(Clone, Debug)]
pub struct Request {
    /// Metrics (empty: the design's `metrics`).
    pub metrics: Vec<String>,
    /// Window (None: the plan's summary window).
    pub window: Option<Window>,
    /// Estimator options.
    pub options: Options,
    /// Draw charts.
    pub charts: bool,
    /// Analyse the paired effect of this variant (None: the design's `effect_of`, else
    /// levels).
    pub effect_of: Option<String>,
    /// A `[[windows]]` entry by name (None: the design's `window`, else `window`).
    pub named_window: Option<String>,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            effect_of: None,
            named_window: None,
            metrics: Vec::new(),
            window: None,
            options: Options::default(),
            charts: true,
        }
    }
}

/// Writes `design.parquet` and `design.csv`: one row per sample with `sample` (the point
/// id), `role` (Sobol `A`/`AB_x`/`BA_x`/`B`, Morris trajectory), the parameter values, and
/// their unit-cube coordinates `u__<column>`. The value columns in row order are SALib's
/// `X` for the same design.
pub fn write_design(out: &Path, d: &Design) -> Result<()> {
    let n = d.samples();
    let mut cols = vec![
        Column::new("sample".into(), (0..n as u32).collect::<Vec<u32>>()),
        Column::new(
            "role".into(),
            (0..n).map(|i| d.role(i)).collect::<Vec<String>>(),
        ),
    ];
    for (j, p) in d.params.iter().enumerate() {
        if p.categories.is_some() {
            cols.push(Column::new(
                p.column.as_str().into(),
                (0..n)
                    .map(|i| d.value(i, j).to_string())
                    .collect::<Vec<_>>(),
            ));
        } else {
            cols.push(Column::new(
                p.column.as_str().into(),
                (0..n).map(|i| d.number(i, j)).collect::<Vec<f64>>(),
            ));
        }
    }
    for (j, p) in d.params.iter().enumerate() {
        cols.push(Column::new(
            format!("u__{}", p.column).into(),
            (0..n).map(|i| d.unit[i][j]).collect::<Vec<f64>>(),
        ));
    }
    let mut df = DataFrame::new(n, cols)?;
    frame::write_parquet(&mut df, &out.join("design.parquet"))?;
    frame::write_csv(&mut df, &out.join("design.csv"))
}

/// The design folders of `out`: `out` itself when it holds a plan, else its sub-folders that
/// do (a file with several `[[designs]]` runs each into `OUT/<name>/`), in name order; `out`
/// alone when there are none (analysing it then says what is missing).
pub fn design_folders(out: &Path) -> Vec<std::path::PathBuf> {
    if out.join("plan.json").is_file() {
        return vec![out.to_path_buf()];
    }
    let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir(out)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.join("plan.json").is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    if dirs.is_empty() {
        dirs.push(out.to_path_buf());
    }
    dirs
}

/// Mean of `metric` over the window for every run of the plan, in `plan.runs` order, read
/// from `steps.parquet`.
pub fn run_levels(out: &Path, plan: &PlanRecord, metric: &str, window: Window) -> Result<Vec<f64>> {
    let (from, to) = window.range(plan.steps)?;
    run_stats(out, plan, metric, from, to, Stat::Mean)
}

/// [`run_levels`] of steps `from..=to` with a window's statistic: the mean, or the sum
/// (in step order) times the plan's `sum_scale`, as `effects` computes it.
pub fn run_stats(
    out: &Path,
    plan: &PlanRecord,
    metric: &str,
    from: u32,
    to: u32,
    stat: Stat,
) -> Result<Vec<f64>> {
    let path = out.join("steps.parquet");
    let f = std::fs::File::open(&path).with_context(|| {
        format!(
            "{}: no assembled steps (run or merge first)",
            path.display()
        )
    })?;
    let schema = ParquetReader::new(f).schema()?;
    let names: Vec<String> = schema.iter_names().map(|s| s.to_string()).collect();
    if !names.iter().any(|n| n == metric) {
        bail!(
            "no metric `{metric}` in {}\n  help: {}",
            path.display(),
            error::suggest(metric, names.iter().map(String::as_str))
        );
    }
    let f = std::fs::File::open(&path)?;
    let df = ParquetReader::new(f)
        .with_columns(Some(vec!["run_id".into(), "step".into(), metric.into()]))
        .finish()?;
    let col = |name: &str| -> Result<Vec<f64>> {
        let s = df
            .column(name)?
            .as_materialized_series()
            .cast(&DataType::Float64)?;
        Ok(s.f64()?.iter().map(|x| x.unwrap_or(f64::NAN)).collect())
    };
    let (run, step, v) = (col("run_id")?, col("step")?, col(metric)?);
    let index: std::collections::BTreeMap<u32, usize> = plan
        .runs
        .iter()
        .enumerate()
        .map(|(k, r)| (r.run_id, k))
        .collect();
    let mut sum = vec![0.0; plan.runs.len()];
    let mut count = vec![0u32; plan.runs.len()];
    // Rows are in run order, then step order: each run's sum is taken in step order.
    for i in 0..run.len() {
        let s = step[i] as u32;
        if s < from || s > to {
            continue;
        }
        if let Some(&k) = index.get(&(run[i] as u32)) {
            sum[k] += v[i];
            count[k] += 1;
        }
    }
    let want = to - from + 1;
    if let Some(k) = count.iter().position(|&c| c != want) {
        bail!(
            "run {} has {} of the {want} steps of the window in {}",
            plan.runs[k].run_id,
            count[k],
            path.display()
        );
    }
    Ok(sum
        .iter()
        .map(|s| match stat {
            Stat::Mean => s / want as f64,
            Stat::Sum => s * plan.comparison.sum_scale,
        })
        .collect())
}

/// Per sample `s` of a design with variants, the paired effect of `variant`: the mean over
/// replicates r of `per_run[q, r] − per_run[c, r]`, where q is the variant's s-th point (the
/// variant's points take the design's samples in order) and c the baseline point it is paired
/// with (same parameter values and seeds: s itself, or an earlier sample with the same values).
/// `per_run` is in `plan.runs` order.
pub fn sample_effects(
    plan: &PlanRecord,
    samples: usize,
    per_run: &[f64],
    variant: &str,
) -> Result<Vec<f64>> {
    let cmp = &plan.comparison;
    let reps = plan.replicates as usize;
    let points: Vec<usize> = (0..plan.points.len())
        .filter(|&q| cmp.variant.get(q).is_some_and(|v| v == variant))
        .collect();
    if points.len() != samples {
        bail!(
            "variant `{variant}` has {} points, the design {samples} samples\n  help: a variant analysed by a design must not sweep parameters of its own",
            points.len()
        );
    }
    let mut y = Vec::with_capacity(samples);
    for (s, &q) in points.iter().enumerate() {
        let c = cmp.compare_to.get(q).copied().flatten().map(|c| c as usize);
        let same_values = |c: usize| plan.points[c].params[1..] == plan.points[s].params[1..];
        let Some(c) = c.filter(|&c| same_values(c) && same_values(q)) else {
            bail!("variant `{variant}`'s point {q} is not paired with design sample {s}");
        };
        let mut sum = 0.0;
        for r in 0..reps {
            sum += per_run[q * reps + r] - per_run[c * reps + r];
        }
        y.push(sum / reps as f64);
    }
    Ok(y)
}

/// Per sample (plan point), the mean of a per-run scalar over the sample's replicates.
/// `per_run` is in `plan.runs` order.
pub fn sample_outputs(plan: &PlanRecord, per_run: &[f64]) -> Vec<f64> {
    let mut sum = vec![0.0; plan.points.len()];
    let mut n = vec![0u32; plan.points.len()];
    for (r, v) in plan.runs.iter().zip(per_run) {
        if let Some(s) = sum.get_mut(r.point_id as usize) {
            *s += v;
            n[r.point_id as usize] += 1;
        }
    }
    sum.iter()
        .zip(&n)
        .map(|(s, &k)| if k > 0 { s / k as f64 } else { f64::NAN })
        .collect()
}

/// Analyses a finished design's out folder: writes `sensitivity.parquet`/`.csv` (one row
/// per metric and index) and, if asked, the charts. Returns the rows per metric.
pub fn analyse(out: &Path, req: &Request) -> Result<Vec<(String, Vec<Row>)>> {
    let plan = PlanRecord::read(out)?;
    let Some(design) = &plan.design else {
        bail!(
            "{}: not a design (the scenario has no [design] section)",
            out.display()
        );
    };
    let metrics = if req.metrics.is_empty() {
        design.metrics.clone()
    } else {
        req.metrics.clone()
    };
    let effect_of = req.effect_of.clone().or(design.effect_of.clone());
    // A window given on the command line replaces the design's named one.
    let named = req.named_window.clone().or(if req.window.is_some() {
        None
    } else {
        design.window.clone()
    });
    let (window_name, from, to, stat) = match &named {
        Some(n) => {
            let Some(w) = plan.comparison.windows.iter().find(|w| &w.name == n) else {
                bail!(
                    "{}: no `[[windows]]` named `{n}` in the scenario\n  help: {}",
                    out.display(),
                    if plan.comparison.windows.is_empty() {
                        "add one, or give --from/--to".to_string()
                    } else {
                        error::suggest(n, plan.comparison.windows.iter().map(|w| w.name.as_str()))
                    }
                );
            };
            (n.clone(), w.from, w.to, w.stat)
        }
        None => {
            let window = req
                .window
                .unwrap_or(Window::Last(plan.summary_last_steps.max(1)));
            let (from, to) = window.range(plan.steps)?;
            (String::new(), from, to, Stat::Mean)
        }
    };
    let samples = design.samples();
    if let Some(v) = &effect_of {
        if !plan.comparison.variant.iter().any(|x| x == v) || v == BASELINE_NAME {
            bail!(
                "{}: `{v}` is not a variant of this design's scenario\n  help: {}",
                out.display(),
                error::suggest(
                    v,
                    plan.comparison
                        .common_random_numbers
                        .iter()
                        .map(|(n, _)| n.as_str())
                )
            );
        }
    }
    let mut all = Vec::new();
    let mut outputs = Vec::new();
    for m in &metrics {
        let per_run = run_stats(out, &plan, m, from, to, stat)?;
        let y = match &effect_of {
            Some(v) => sample_effects(&plan, samples, &per_run, v)?,
            // With variants, the design's samples are the file's own (first) points.
            None => sample_outputs(&plan, &per_run)
                .into_iter()
                .take(samples)
                .collect(),
        };
        let rows = sensitivity::analyse(design, &y, &req.options)
            .map_err(|e| gardengate_io::err!("metric `{m}`: {e}"))?;
        all.push((m.clone(), rows));
        outputs.push(y);
    }
    let what = Output {
        effect_of: effect_of.clone().unwrap_or_default(),
        window: window_name,
        stat: match stat {
            Stat::Mean => "mean",
            Stat::Sum => "sum",
        },
    };
    let mut df = frame_of(&all, from, to, plan.replicates, &what)?;
    frame::write_parquet(&mut df, &out.join("sensitivity.parquet"))?;
    frame::write_csv(&mut df, &out.join("sensitivity.csv"))?;
    if req.charts {
        for ((m, rows), y) in all.iter().zip(&outputs) {
            let label = if what.effect_of.is_empty() {
                m.clone()
            } else {
                format!("effect of {} on {m}", what.effect_of)
            };
            draw(out, design, m, &label, rows, y, from, to)?;
        }
    }
    Ok(all)
}

/// What the analysed output is (columns of `sensitivity.parquet`).
struct Output {
    /// The variant whose paired effect is analysed (empty: levels).
    effect_of: String,
    /// The `[[windows]]` name (empty: a window of steps).
    window: String,
    /// `mean` or `sum` over the window.
    stat: &'static str,
}

fn frame_of(
    all: &[(String, Vec<Row>)],
    from: u32,
    to: u32,
    reps: u32,
    what: &Output,
) -> Result<DataFrame> {
    let rows: Vec<(&str, &Row)> = all
        .iter()
        .flat_map(|(m, rs)| rs.iter().map(move |r| (m.as_str(), r)))
        .collect();
    let n = rows.len();
    let cols = vec![
        Column::new(
            "metric".into(),
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        ),
        Column::new(
            "method".into(),
            rows.iter().map(|r| r.1.method).collect::<Vec<_>>(),
        ),
        Column::new(
            "parameter".into(),
            rows.iter()
                .map(|r| r.1.parameter.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "parameter2".into(),
            rows.iter()
                .map(|r| r.1.parameter2.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "index".into(),
            rows.iter().map(|r| r.1.index).collect::<Vec<_>>(),
        ),
        Column::new(
            "value".into(),
            rows.iter().map(|r| r.1.value).collect::<Vec<f64>>(),
        ),
        Column::new(
            "conf".into(),
            rows.iter().map(|r| r.1.conf).collect::<Vec<f64>>(),
        ),
        Column::new(
            "lo".into(),
            rows.iter().map(|r| r.1.lo).collect::<Vec<f64>>(),
        ),
        Column::new(
            "hi".into(),
            rows.iter().map(|r| r.1.hi).collect::<Vec<f64>>(),
        ),
        Column::new(
            "output".into(),
            vec![
                if what.effect_of.is_empty() {
                    "level"
                } else {
                    "effect"
                };
                n
            ],
        ),
        Column::new("effect_of".into(), vec![what.effect_of.as_str(); n]),
        Column::new("window".into(), vec![what.window.as_str(); n]),
        Column::new("stat".into(), vec![what.stat; n]),
        Column::new("window_from".into(), vec![from; n]),
        Column::new("window_to".into(), vec![to; n]),
        Column::new("replicates".into(), vec![reps; n]),
    ];
    Ok(DataFrame::new(n, cols)?)
}

#[allow(clippy::too_many_arguments)]
fn draw(
    out: &Path,
    d: &Design,
    metric: &str,
    label: &str,
    rows: &[Row],
    y: &[f64],
    from: u32,
    to: u32,
) -> Result<()> {
    let dir = out.join("charts");
    let names: Vec<String> = d.params.iter().map(|p| p.column.clone()).collect();
    let get = |index: &str, p: &str| {
        rows.iter()
            .find(|r| r.index == index && r.parameter == p && r.parameter2.is_empty())
            .map_or((f64::NAN, f64::NAN), |r| (r.value, r.conf))
    };
    let what = format!("{label}, steps {from}–{to}");
    match d.method {
        Method::Sobol => {
            let values: Vec<Vec<(f64, f64)>> = names
                .iter()
                .map(|p| vec![get("S1", p), get("ST", p)])
                .collect();
            charts::grouped_bars(
                &dir.join(format!("sensitivity_sobol__{metric}")),
                &format!("Sobol' indices of {label}, steps {from}–{to} (95% intervals)"),
                "share of output variance",
                &names,
                &["S1 (first order)".into(), "ST (total)".into()],
                &values,
            )?;
        }
        Method::Morris => {
            let pts: Vec<sensitivity_charts::MorrisPoint> = names
                .iter()
                .map(|p| sensitivity_charts::MorrisPoint {
                    label: p.clone(),
                    mu_star: get("mu_star", p).0,
                    mu_star_conf: get("mu_star", p).1,
                    sigma: get("sigma", p).0,
                })
                .collect();
            sensitivity_charts::morris_plane(
                &dir.join(format!("sensitivity_morris__{metric}")),
                &format!("Morris screening of {what}"),
                &pts,
            )?;
        }
        Method::Lhs | Method::Grid => {
            let values: Vec<Vec<(f64, f64)>> = names
                .iter()
                .map(|p| {
                    let prcc = rows
                        .iter()
                        .find(|r| r.index == "prcc" && &r.parameter == p)
                        .map_or((f64::NAN, f64::NAN), |r| (r.value, (r.hi - r.lo) / 2.0));
                    vec![get("src", p), prcc]
                })
                .collect();
            charts::grouped_bars(
                &dir.join(format!("sensitivity_regression__{metric}")),
                &format!("SRC and PRCC of {label}, steps {from}–{to} (95% intervals)"),
                "coefficient",
                &names,
                &["SRC".into(), "PRCC".into()],
                &values,
            )?;
        }
    }
    let panels: Vec<sensitivity_charts::ScatterPanel> = (0..d.dims())
        .map(|j| sensitivity_charts::ScatterPanel {
            x_label: names[j].clone(),
            x: (0..d.samples()).map(|i| d.number(i, j)).collect(),
            y: y.to_vec(),
            categories: d.params[j]
                .categories
                .as_ref()
                .map(|c| c.iter().map(ParamValue::to_string).collect()),
        })
        .collect();
    Ok(sensitivity_charts::scatter_panels(
        &dir.join(format!("sensitivity_scatter__{metric}")),
        &format!("{label} against each parameter (one point per sample, steps {from}–{to})"),
        label,
        &panels,
    )?)
}
