//! What the assembled outputs keep of each run while its batch streams past: the scalars the
//! summary and the effects read (per metric, the mean of the last N steps and each window's
//! statistic) and, for the runs a chart draws, the paths of the metrics it draws. So
//! `finalize` holds a few numbers per run, never every run's rows: a 10 000-run design is
//! assembled in bounded memory.
//!
//! The scalars are computed from each run's own values with the same fixed-order loops as
//! before (`tail_mean`, [`window_value`]), so the outputs are bit for bit what they were
//! when every run's columns were held.

use super::effects::window_value;
use gardengate_core::metrics::stats::tail_mean;
use gardengate_io::frame::RunColumns;
use gardengate_io::store::{self, PlanRecord};
use polars::prelude::DataFrame;
use std::collections::BTreeSet;

/// One run's scalars, and its charted paths.
#[derive(Clone, Debug, PartialEq)]
pub struct RunDigest {
    /// Run id.
    pub run_id: u32,
    /// Point id.
    pub point_id: u32,
    /// The run's seed (pairs runs across points).
    pub seed: u64,
    /// Per metric (in [`Digests::metrics`] order): the mean of the last
    /// `summary_last_steps` steps.
    pub tail: Vec<f64>,
    /// Per window of the plan's comparison, per metric: the window's statistic.
    pub windows: Vec<Vec<f64>>,
}

/// Every run's digest, in plan order, and the paths kept for charts.
#[derive(Clone, Debug, Default)]
pub struct Digests {
    /// Metric names (the runs' numeric columns, in file order).
    pub metrics: Vec<String>,
    /// One per run.
    pub runs: Vec<RunDigest>,
    /// The charted runs' columns, holding only the charted metrics.
    pub paths: Vec<RunColumns>,
    /// Which runs' paths are kept: by point, and which metrics.
    keep: Keep,
}

/// Which paths the charts draw.
#[derive(Clone, Debug, Default)]
pub struct Keep {
    /// Points whose runs are charted.
    pub points: BTreeSet<u32>,
    /// Metrics charted (exact names).
    pub metrics: BTreeSet<String>,
    /// Metric name prefixes charted (`wallet_share__`).
    pub prefixes: Vec<String>,
}

impl Keep {
    /// Nothing kept (no charts drawn).
    pub fn nothing() -> Keep {
        Keep::default()
    }

    fn metric(&self, name: &str) -> bool {
        self.metrics.contains(name) || self.prefixes.iter().any(|p| name.starts_with(p))
    }
}

impl Digests {
    /// Empty, keeping the paths `keep` names.
    pub fn new(keep: Keep) -> Digests {
        Digests {
            keep,
            ..Default::default()
        }
    }

    /// Adds a run from its rows `df`.
    pub fn push(
        &mut self,
        plan: &PlanRecord,
        spec: &gardengate_core::scenario::RunSpec,
        df: &DataFrame,
    ) -> gardengate_io::Result<()> {
        let mut run = RunColumns::of_run(
            spec,
            super::finalize::point_label(plan, spec.point_id),
            df,
            &plan.sweep_columns,
        )?;
        let columns = &run.columns;
        if self.runs.is_empty() {
            self.metrics = columns.iter().map(|c| c.0.clone()).collect();
        } else if columns.len() != self.metrics.len()
            || columns.iter().zip(&self.metrics).any(|(c, m)| &c.0 != m)
        {
            gardengate_io::bail!(
                "run {}: its metric columns differ from the first run's",
                spec.run_id
            );
        }
        let last = plan.summary_last_steps.max(1) as usize;
        let cmp = &plan.comparison;
        let digest = RunDigest {
            run_id: spec.run_id,
            point_id: spec.point_id,
            seed: spec.seed,
            tail: columns.iter().map(|c| tail_mean(&c.1, last)).collect(),
            windows: cmp
                .windows
                .iter()
                .map(|w| {
                    columns
                        .iter()
                        .map(|c| window_value(&c.1, w, cmp.sum_scale))
                        .collect()
                })
                .collect(),
        };
        self.runs.push(digest);
        if self.keep.points.contains(&spec.point_id) {
            run.columns.retain(|c| self.keep.metric(&c.0));
            self.paths.push(run);
        }
        Ok(())
    }
}

/// Every run's digest of a complete out folder, read one batch at a time; each run's rows are
/// then handed to `rows` (the step tables, or nothing) and not kept.
pub fn read(
    out: &std::path::Path,
    plan: &PlanRecord,
    keep: Keep,
    mut rows: impl FnMut(DataFrame) -> gardengate_io::Result<()>,
) -> gardengate_io::Result<Digests> {
    let mut digests = Digests::new(keep);
    for k in 0..plan.batches() {
        for (r, df) in store::read_batch(out, plan, k)? {
            digests.push(plan, &r, &df)?;
            rows(df)?;
        }
    }
    Ok(digests)
}
