//! The out folder: plan record, per-run files, shard records, conflict and resume rules.

use crate::atomic::write_bytes;
use crate::{bail, Context, Result};
use gardengate_core::scenario::calendar::format_date;
use gardengate_core::scenario::{ParamValue, Plan, RunSpec};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Version of the out-folder format.
pub const FORMAT: u32 = 1;

/// A sweep point as recorded in the plan.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PointRecord {
    /// Point id.
    pub id: u32,
    /// `column=value, …`.
    pub label: String,
    /// Swept values.
    pub params: Vec<(String, ParamValue)>,
}

/// A policy event as recorded in the plan (for chart markers).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EventRecord {
    /// Step at which it takes effect.
    pub step: u32,
    /// Label.
    pub label: String,
}

/// Chart markers: every event the file labels (a label stands for its wave of changes, so
/// unlabelled events on the same step add none), and the first event's own label for a step
/// where no event has one; one marker per distinct (step, label).
fn event_records(
    events: &[gardengate_core::scenario::model::EventSpec],
    explicit: &[&str],
) -> Vec<EventRecord> {
    let mut v: Vec<EventRecord> = Vec::new();
    for e in events {
        let same_step = |l: &&EventRecord| l.step == e.effective;
        let labelled = explicit.contains(&e.label.as_str());
        let first_on_step = !v.iter().any(|l| l.step == e.effective);
        let known = v.iter().filter(same_step).any(|l| l.label == e.label);
        if known || !(labelled || first_on_step) {
            continue;
        }
        // A labelled event replaces a default label standing in for its step.
        if labelled {
            v.retain(|l| l.step != e.effective || explicit.contains(&l.label.as_str()));
        }
        v.push(EventRecord {
            step: e.effective,
            label: e.label.clone(),
        });
    }
    v.sort_by_key(|l| l.step);
    v
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// The resolved plan of an out folder (`plan.json`): enough to run any shard and to
/// assemble the outputs without the scenario file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PlanRecord {
    /// Out-folder format.
    pub format: u32,
    /// Program version that wrote it.
    pub program_version: String,
    /// Scenario file.
    pub scenario_file: String,
    /// Hash of the scenario (and overrides).
    pub scenario_hash: String,
    /// Scenario name.
    pub scenario_name: String,
    /// Steps per run.
    pub steps: u32,
    /// Replicates per point.
    pub replicates: u32,
    /// Date of step 0.
    pub start_date: String,
    /// Days per step.
    pub days_per_step: u32,
    /// Steps averaged by the summary.
    pub summary_last_steps: u32,
    /// Swept columns.
    pub sweep_columns: Vec<String>,
    /// Points.
    pub points: Vec<PointRecord>,
    /// Runs, in run_id order.
    pub runs: Vec<RunSpec>,
    /// Number of shards the runs are split into (run_id mod shards).
    pub shards: u32,
    /// Events of the first point (chart markers).
    pub events: Vec<EventRecord>,
    /// Wallet names.
    pub wallets: Vec<String>,
    /// Ecosystem names.
    pub ecosystems: Vec<String>,
    /// Swept column whose values make the panels of time charts (None: one per point).
    #[serde(default)]
    pub panel_by: Option<String>,
    /// Trailing rolling mean of this many steps in the time charts (0 or 1: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub smooth_steps: u32,
    /// The fully resolved scenario of point 0 (every parameter, defaults filled in).
    #[serde(default)]
    pub resolved_base: serde_json::Value,
    /// Each point's resolved scenario as a JSON merge patch (RFC 7386) of `resolved_base`:
    /// only what the point changes (`{}` for point 0), so that a plan of many points stays
    /// small (a full copy per point made a 100 000-point sweep's plan.json 704 MB). Apply
    /// the patch to the base to get the point's scenario (a `null` in a patch is a value
    /// that became unset).
    #[serde(default)]
    pub resolved_patches: Vec<serde_json::Value>,
    /// Variants, baseline, windows and effect options (`scenario::variants`).
    #[serde(default)]
    pub comparison: gardengate_core::scenario::variants::Comparison,
    /// The experimental design whose samples are the points (`[design]`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design: Option<gardengate_core::scenario::design::Design>,
    /// Runs per batch file: batch `k` holds runs `k·batch_runs ..` (consecutive run ids) in
    /// `runs/batch-NNNNNN.parquet` + `.json`; 1 means one `runs/run-NNNNNN.*` pair per run
    /// (the layout of older versions, whose plans lack the key). Chosen from the plan alone
    /// ([`batch_runs_for`]), never from the thread count.
    #[serde(default = "one")]
    pub batch_runs: u32,
}

fn one() -> u32 {
    1
}

/// A batch file holds about this many consumer-steps at most: enough that its fixed cost
/// (create, fsync and rename of two files, about 30 ms) is a few percent of its runs' time.
pub const BATCH_CONSUMER_STEPS: u64 = 1 << 24;

/// Most runs in one batch file (what a kill can lose, and what a batch holds in memory).
pub const MAX_BATCH_RUNS: u32 = 32;

/// A plan is cut into at least this many batches (so resume and shards stay fine-grained);
/// a plan of fewer than twice as many runs keeps one file per run.
pub const MIN_BATCHES: u32 = 16;

/// Runs per batch file of a plan: as many as fit [`BATCH_CONSUMER_STEPS`] of its largest
/// point's world, at most [`MAX_BATCH_RUNS`] and at most runs / [`MIN_BATCHES`], at least 1.
/// A function of the plan only, so every machine, thread count and shard agrees on it.
pub fn batch_runs_for(plan: &Plan) -> u32 {
    let size = plan
        .points
        .iter()
        .map(|p| p.scenario.consumers.count * p.scenario.steps.max(1) as u64)
        .max()
        .unwrap_or(0)
        .max(1);
    let by_size = BATCH_CONSUMER_STEPS / size;
    let by_count = plan.runs.len() as u64 / MIN_BATCHES as u64;
    by_size.min(by_count).clamp(1, MAX_BATCH_RUNS as u64) as u32
}

impl PlanRecord {
    /// The record of a plan split into `shards` shards.
    pub fn from_plan(plan: &Plan, shards: u32) -> Self {
        let sc = &plan.points[0].scenario;
        let base = plan
            .points
            .first()
            .and_then(|p| serde_json::to_value(&p.scenario).ok())
            .unwrap_or_default();
        PlanRecord {
            format: FORMAT,
            program_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario_file: plan.file.clone(),
            scenario_hash: plan.hash.clone(),
            scenario_name: sc.name.clone(),
            steps: sc.steps,
            replicates: plan.replicates,
            start_date: format_date(sc.start_date),
            days_per_step: sc.days_per_step,
            summary_last_steps: sc.summary_last_steps,
            sweep_columns: plan.sweep_columns.clone(),
            points: plan
                .points
                .iter()
                .map(|p| PointRecord {
                    id: p.id,
                    label: p.label.clone(),
                    params: p.params.clone(),
                })
                .collect(),
            runs: plan.runs.clone(),
            shards: shards.max(1),
            events: event_records(
                &sc.events,
                &plan
                    .source
                    .events
                    .iter()
                    .filter_map(|e| e.label.as_deref())
                    .collect::<Vec<_>>(),
            ),
            wallets: sc.wallets.iter().map(|w| w.name.clone()).collect(),
            ecosystems: sc.ecosystems.iter().map(|e| e.name.clone()).collect(),
            panel_by: plan.source.charts.panel_by.clone(),
            smooth_steps: plan.source.charts.smooth_steps,
            resolved_base: base.clone(),
            resolved_patches: plan
                .points
                .iter()
                .map(|p| {
                    let v = serde_json::to_value(&p.scenario).unwrap_or_default();
                    merge_patch(&base, &v)
                })
                .collect(),
            comparison: plan.comparison.clone(),
            design: plan.design.clone(),
            batch_runs: batch_runs_for(plan),
        }
    }

    /// Runs per batch file (at least 1).
    pub fn batch_size(&self) -> u32 {
        self.batch_runs.max(1)
    }

    /// Number of batches.
    pub fn batches(&self) -> u32 {
        (self.runs.len() as u32).div_ceil(self.batch_size())
    }

    /// The batch that holds a run.
    pub fn batch_of(&self, run_id: u32) -> u32 {
        run_id / self.batch_size()
    }

    /// The runs of batch `k`, in run_id order (empty past the last batch).
    pub fn batch(&self, k: u32) -> &[RunSpec] {
        let b = self.batch_size() as usize;
        let from = (k as usize * b).min(self.runs.len());
        let to = (from + b).min(self.runs.len());
        &self.runs[from..to]
    }

    /// The shard that runs batch `k` (batch mod shards; with one run per batch, run_id mod
    /// shards as in older versions).
    pub fn shard_of_batch(&self, k: u32) -> u32 {
        k % self.shards.max(1)
    }

    /// The batches of shard `i`.
    pub fn shard_batches(&self, i: u32) -> Vec<u32> {
        (0..self.batches())
            .filter(|&k| self.shard_of_batch(k) == i)
            .collect()
    }

    /// Reads `plan.json` of an out folder.
    pub fn read(out: &Path) -> Result<Self> {
        let p = out.join("plan.json");
        let text = std::fs::read_to_string(&p).with_context(|| {
            format!(
                "{}: no plan here (run `gardengate plan` or `gardengate run` first)",
                p.display()
            )
        })?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not a gardengate plan", p.display()))
    }

    /// Writes `plan.json` atomically.
    pub fn write(&self, out: &Path) -> Result<()> {
        write_bytes(
            &out.join("plan.json"),
            serde_json::to_string_pretty(self)?.as_bytes(),
        )
    }

    /// The runs of shard `i`.
    pub fn shard_runs(&self, i: u32) -> Vec<RunSpec> {
        self.runs
            .iter()
            .copied()
            .filter(|r| self.shard_of_batch(self.batch_of(r.run_id)) == i)
            .collect()
    }
}

/// Timings of a finished run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    /// Run id.
    pub run_id: u32,
    /// Point.
    pub point_id: u32,
    /// Replicate.
    pub replicate: u32,
    /// Seed.
    pub seed: u64,
    /// Start, seconds since the Unix epoch.
    pub started_unix: f64,
    /// End, seconds since the Unix epoch.
    pub finished_unix: f64,
    /// Wall seconds.
    pub wall_s: f64,
    /// Worker threads.
    pub threads: usize,
    /// Host name.
    pub host: String,
    /// Scenario hash of the plan the run belongs to (empty in records of older versions).
    #[serde(default)]
    pub scenario_hash: String,
    /// Size of the run's `.parquet` file in bytes (detects a truncated file).
    #[serde(default)]
    pub parquet_bytes: Option<u64>,
}

/// The record of a batch file of several runs (`runs/batch-NNNNNN.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BatchRecord {
    /// Batch index.
    pub batch: u32,
    /// Scenario hash of the plan.
    pub scenario_hash: String,
    /// Size of the batch's `.parquet` file in bytes (detects a truncated file).
    pub parquet_bytes: u64,
    /// Each run's record, in run_id order.
    pub runs: Vec<RunRecord>,
}

/// Path of batch `k`'s rows (a run's file when batches hold one run).
pub fn batch_parquet(out: &Path, plan: &PlanRecord, k: u32) -> PathBuf {
    if plan.batch_size() == 1 {
        run_parquet(out, k)
    } else {
        out.join("runs").join(format!("batch-{k:06}.parquet"))
    }
}

/// Path of batch `k`'s record.
pub fn batch_json(out: &Path, plan: &PlanRecord, k: u32) -> PathBuf {
    if plan.batch_size() == 1 {
        run_json(out, k)
    } else {
        out.join("runs").join(format!("batch-{k:06}.json"))
    }
}

/// Whether batch `k` finished (both files are written atomically, the record last).
pub fn batch_finished(out: &Path, plan: &PlanRecord, k: u32) -> bool {
    batch_parquet(out, plan, k).is_file() && batch_json(out, plan, k).is_file()
}

/// The run records of batch `k` and the `.parquet` size its record names.
pub fn read_batch_records(
    out: &Path,
    plan: &PlanRecord,
    k: u32,
) -> Result<(Vec<RunRecord>, Option<u64>)> {
    if plan.batch_size() == 1 {
        let r = read_run_record(out, k)?;
        let bytes = r.parquet_bytes;
        return Ok((vec![r], bytes));
    }
    let p = batch_json(out, plan, k);
    let text = std::fs::read_to_string(&p).with_context(|| format!("{}", p.display()))?;
    let rec: BatchRecord = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a gardengate batch record", p.display()))?;
    let mut wrong = Vec::new();
    if rec.batch != k {
        wrong.push(format!("it is batch {}, expected batch {k}", rec.batch));
    }
    if rec.scenario_hash != plan.scenario_hash {
        wrong.push("it belongs to another scenario (scenario hash differs)".into());
    }
    if rec.runs.len() != plan.batch(k).len() {
        wrong.push(format!(
            "{} runs, the plan puts {} in this batch",
            rec.runs.len(),
            plan.batch(k).len()
        ));
    }
    if !wrong.is_empty() {
        bail!("{}: {}", p.display(), wrong.join("; "));
    }
    Ok((rec.runs, Some(rec.parquet_bytes)))
}

/// Checks a finished batch's files against the plan: the record names this batch's runs,
/// seeds and scenario, their timings are sane, and the `.parquet` file has the size the
/// record says. Returns the run records, or what is wrong, naming the file.
pub fn verify_batch(out: &Path, plan: &PlanRecord, k: u32) -> Result<Vec<RunRecord>> {
    let (recs, bytes) = read_batch_records(out, plan, k)?;
    let p = batch_json(out, plan, k);
    let mut wrong = Vec::new();
    for (rec, spec) in recs.iter().zip(plan.batch(k)) {
        wrong.extend(record_problems(rec, plan, spec));
    }
    if let Some(n) = bytes {
        let pq = batch_parquet(out, plan, k);
        let len = std::fs::metadata(&pq)
            .with_context(|| format!("reading {}", pq.display()))?
            .len();
        if len != n {
            wrong.push(format!(
                "{} has {len} bytes, the record says {n} (truncated or replaced)",
                pq.display()
            ));
        }
    }
    if !wrong.is_empty() {
        bail!("{}: {}", p.display(), wrong.join("; "));
    }
    Ok(recs)
}

/// Writes batch `k`: its rows (the runs' frames stacked in run_id order), then its record
/// (the runs' records with the `.parquet`'s size), each atomically, the record last.
pub fn write_batch(
    out: &Path,
    plan: &PlanRecord,
    k: u32,
    df: &mut polars::prelude::DataFrame,
    mut runs: Vec<RunRecord>,
) -> Result<()> {
    let pq = batch_parquet(out, plan, k);
    crate::frame::write_run_parquet(df, &pq)?;
    let bytes = std::fs::metadata(&pq)
        .with_context(|| format!("reading {}", pq.display()))?
        .len();
    if plan.batch_size() == 1 {
        let mut r = runs
            .pop()
            .ok_or_else(|| crate::err!("batch {k} has no run"))?;
        r.parquet_bytes = Some(bytes);
        return write_run_record(out, &r);
    }
    let rec = BatchRecord {
        batch: k,
        scenario_hash: plan.scenario_hash.clone(),
        parquet_bytes: bytes,
        runs,
    };
    write_bytes(
        &batch_json(out, plan, k),
        serde_json::to_string_pretty(&rec)?.as_bytes(),
    )
}

/// Reads batch `k` after checking its record: each run's rows (checked by [`verify_frame`])
/// with its spec, in run_id order.
pub fn read_batch(
    out: &Path,
    plan: &PlanRecord,
    k: u32,
) -> Result<Vec<(RunSpec, polars::prelude::DataFrame)>> {
    verify_batch(out, plan, k).map_err(|e| {
        crate::err!("{e:#}\n  help: delete that batch's files and run again with --resume")
    })?;
    let path = batch_parquet(out, plan, k);
    let df = crate::frame::read_parquet(&path)?;
    let specs = plan.batch(k);
    let steps = plan.steps as usize;
    if df.height() != specs.len() * steps {
        bail!(
            "{}: {} rows; expected {} runs × {steps} steps",
            path.display(),
            df.height(),
            specs.len()
        );
    }
    let mut res = Vec::with_capacity(specs.len());
    for (j, spec) in specs.iter().enumerate() {
        let part = if specs.len() == 1 {
            df.clone()
        } else {
            df.slice((j * steps) as i64, steps)
        };
        verify_frame(&part, plan, spec, &path)?;
        res.push((*spec, part));
    }
    Ok(res)
}

/// Path of a run's rows.
pub fn run_parquet(out: &Path, run_id: u32) -> PathBuf {
    out.join("runs").join(format!("run-{run_id:06}.parquet"))
}

/// Path of a run's record.
pub fn run_json(out: &Path, run_id: u32) -> PathBuf {
    out.join("runs").join(format!("run-{run_id:06}.json"))
}

/// What is wrong with a run's record against its spec in the plan (empty: nothing).
fn record_problems(rec: &RunRecord, plan: &PlanRecord, spec: &RunSpec) -> Vec<String> {
    let mut wrong = Vec::new();
    if rec.run_id != spec.run_id || rec.point_id != spec.point_id || rec.replicate != spec.replicate
    {
        wrong.push(format!(
            "it is run {} (point {}, replicate {}), the plan expects run {} (point {}, replicate {})",
            rec.run_id, rec.point_id, rec.replicate, spec.run_id, spec.point_id, spec.replicate
        ));
    }
    if rec.seed != spec.seed {
        wrong.push(format!(
            "seed {} instead of the plan's {}",
            rec.seed, spec.seed
        ));
    }
    if !rec.scenario_hash.is_empty() && rec.scenario_hash != plan.scenario_hash {
        wrong.push("it belongs to another scenario (scenario hash differs)".into());
    }
    let times_ok = [rec.started_unix, rec.finished_unix, rec.wall_s]
        .iter()
        .all(|t| t.is_finite() && *t >= 0.0)
        && rec.finished_unix >= rec.started_unix;
    if !times_ok {
        wrong.push(format!(
            "impossible timings (started {}, finished {}, wall_s {})",
            rec.started_unix, rec.finished_unix, rec.wall_s
        ));
    }
    wrong
}

/// Checks a run's rows: every row carries the run's id and seed, and the steps are
/// 0..steps in order (a copied or cut file is caught even without its record).
pub fn verify_frame(
    df: &polars::prelude::DataFrame,
    plan: &PlanRecord,
    spec: &RunSpec,
    path: &Path,
) -> Result<()> {
    use polars::prelude::DataType;
    let col = |name: &str| -> Result<Vec<Option<u64>>> {
        let c = df
            .column(name)
            .map_err(|_| crate::err!("{}: no `{name}` column", path.display()))?;
        let s = c.as_materialized_series().cast(&DataType::UInt64)?;
        Ok(s.u64()?.iter().collect())
    };
    let (ids, seeds, steps) = (col("run_id")?, col("seed")?, col("step")?);
    if ids.iter().any(|&x| x != Some(spec.run_id as u64)) {
        bail!(
            "{}: holds rows of another run (run_id column is not {} throughout)",
            path.display(),
            spec.run_id
        );
    }
    if seeds.iter().any(|&x| x != Some(spec.seed)) {
        bail!(
            "{}: rows carry another seed than the plan's {}",
            path.display(),
            spec.seed
        );
    }
    let ok = steps.len() == plan.steps as usize
        && steps.iter().enumerate().all(|(k, &s)| s == Some(k as u64));
    if !ok {
        bail!(
            "{}: {} rows; expected steps 0..{} in order",
            path.display(),
            steps.len(),
            plan.steps
        );
    }
    Ok(())
}

/// Checks that a plan is whole: every run of points × replicates, in run_id order, each
/// with the seed the plan's own shape gives, and the shard count sane.
pub fn verify_plan(out: &Path, plan: &PlanRecord) -> Result<()> {
    let p = out.join("plan.json");
    let expected = plan.points.len() as u64 * plan.replicates as u64;
    if plan.runs.len() as u64 != expected || plan.replicates == 0 {
        bail!(
            "{}: {} runs, but {} points × {} replicates make {expected}; the plan was edited or damaged\n  help: plan again from the scenario (with --force)",
            p.display(),
            plan.runs.len(),
            plan.points.len(),
            plan.replicates
        );
    }
    for (k, r) in plan.runs.iter().enumerate() {
        let want = (
            k as u32,
            k as u32 / plan.replicates,
            k as u32 % plan.replicates,
        );
        if (r.run_id, r.point_id, r.replicate) != want {
            bail!(
                "{}: run {k} is listed as run {} (point {}, replicate {}); expected run {} (point {}, replicate {})",
                p.display(),
                r.run_id,
                r.point_id,
                r.replicate,
                want.0,
                want.1,
                want.2
            );
        }
    }
    if plan.shards == 0
        || plan
            .points
            .iter()
            .enumerate()
            .any(|(k, pt)| pt.id as usize != k)
    {
        bail!("{}: damaged plan (shard count or point ids)", p.display());
    }
    Ok(())
}

/// Writes a run record.
pub fn write_run_record(out: &Path, r: &RunRecord) -> Result<()> {
    write_bytes(
        &run_json(out, r.run_id),
        serde_json::to_string_pretty(r)?.as_bytes(),
    )
}

/// Reads a run record.
pub fn read_run_record(out: &Path, run_id: u32) -> Result<RunRecord> {
    let p = run_json(out, run_id);
    let text = std::fs::read_to_string(&p).with_context(|| format!("{}", p.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// Writes the completion record of shard i of n.
pub fn write_shard_record(out: &Path, i: u32, n: u32, runs: &[RunSpec]) -> Result<()> {
    let rec = serde_json::json!({
        "shard": i,
        "shards": n,
        "runs": runs.iter().map(|r| r.run_id).collect::<Vec<_>>(),
        "finished_unix": now_unix(),
        "host": hostname(),
    });
    write_bytes(
        &shard_path(out, i, n),
        serde_json::to_string_pretty(&rec)?.as_bytes(),
    )
}

/// Path of a shard's completion record.
pub fn shard_path(out: &Path, i: u32, n: u32) -> PathBuf {
    out.join("shards").join(format!("shard-{i}-of-{n}.json"))
}

/// Result files at the top of an out folder that a batch writes (and `--force` or a fresh
/// run may remove). Folders (`runs/`, `shards/`, `charts/`) are never removed whole: only
/// the files in them that [`is_own_file`] recognises, so a user's `runs/notes.txt` survives.
const OWNED: [&str; 15] = [
    "steps.parquet",
    "summary.parquet",
    "summary.csv",
    "manifest.json",
    "BASELINE.md",
    "plan.json",
    "effects.parquet",
    "effects.csv",
    "steps.csv",
    "steps_long.parquet",
    "steps_long.csv",
    "design.parquet",
    "design.csv",
    "sensitivity.parquet",
    "sensitivity.csv",
];

/// Whether `name` is a temporary file of [`crate::atomic::temp_path`]:
/// `.<name>.<pid>.tmp[.<ext>]`.
pub fn is_own_temp(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some(at) = rest.rfind(".tmp") else {
        return false;
    };
    let ext = &rest[at + 4..];
    let head = &rest[..at];
    let Some(dot) = head.rfind('.') else {
        return false;
    };
    let pid = &head[dot + 1..];
    !head[..dot].is_empty()
        && !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && (ext.is_empty() || (ext.starts_with('.') && !ext[1..].contains('.')))
}

/// Whether `name` inside folder `dir` (`""` for the top, `runs`, `shards`, `charts`) is a file
/// gardengate writes there (results or a temporary file of one).
pub fn is_own_file(dir: &str, name: &str) -> bool {
    if is_own_temp(name) {
        return true;
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match dir {
        "" => OWNED.contains(&name),
        "runs" => name
            .strip_prefix("run-")
            .or_else(|| name.strip_prefix("batch-"))
            .and_then(|r| {
                r.strip_suffix(".parquet")
                    .or_else(|| r.strip_suffix(".json"))
            })
            .is_some_and(|id| id.len() == 6 && digits(id)),
        "shards" => name
            .strip_prefix("shard-")
            .and_then(|r| r.strip_suffix(".json"))
            .and_then(|r| r.split_once("-of-"))
            .is_some_and(|(i, n)| digits(i) && digits(n)),
        "charts" => name.ends_with(".png") || name.ends_with(".svg"),
        _ => false,
    }
}

/// Removes gardengate's own files from `out/<dir>` (`""`: the top), keeping anything else;
/// a sub-folder left empty is removed. `temps_only`: remove only temporary files.
pub fn remove_own_files(out: &Path, dir: &str, temps_only: bool) -> Result<()> {
    let folder = if dir.is_empty() {
        out.to_path_buf()
    } else {
        out.join(dir)
    };
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let own = if temps_only {
            is_own_temp(&name)
        } else {
            is_own_file(dir, &name)
        };
        if own && e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()) {
            std::fs::remove_file(e.path())
                .with_context(|| format!("removing {}", e.path().display()))?;
        }
    }
    if !dir.is_empty() && !temps_only {
        // Only succeeds when nothing else is left in it.
        let _ = std::fs::remove_dir(&folder);
    }
    Ok(())
}

/// Removes the temporary files that a killed process left behind, everywhere gardengate
/// writes (they would otherwise make the folder look foreign or linger in `charts/`).
pub fn remove_own_temps(out: &Path) -> Result<()> {
    for dir in ["", "runs", "shards", "charts"] {
        remove_own_files(out, dir, true)?;
    }
    Ok(())
}

/// Prepares an out folder for a plan: refuses results of a different scenario unless
/// `force`; keeps finished runs when `keep` (resume or shard), otherwise starts afresh.
pub fn prepare(out: &Path, plan: &PlanRecord, keep: bool, force: bool) -> Result<()> {
    prepare_with(out, plan, keep, force, true)
}

/// [`prepare`]; `clean_temps`: remove leftover temporary files first, which only a process
/// that holds the folder alone may do (a shard leaves them: other shards may be writing).
pub fn prepare_with(
    out: &Path,
    plan: &PlanRecord,
    keep: bool,
    force: bool,
    clean_temps: bool,
) -> Result<()> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create out folder {}", out.display()))?;
    // Temporary files of writes that a killed process left behind.
    if clean_temps {
        remove_own_temps(out)?;
        for dir in ["runs", "shards", "charts"] {
            // Only succeeds when it is empty.
            let _ = std::fs::remove_dir(out.join(dir));
        }
    }
    let existing = out.join("plan.json");
    if existing.is_file() {
        let old = PlanRecord::read(out);
        let same = old
            .as_ref()
            .is_ok_and(|o| o.scenario_hash == plan.scenario_hash);
        if !same {
            if !force {
                let what = old
                    .map(|o| format!("scenario `{}` ({})", o.scenario_name, o.scenario_file))
                    .unwrap_or_else(|_| "an unreadable plan".into());
                bail!(
                    "out folder {} holds results of a different scenario: {what}\n  help: choose another --out folder, or pass --force to replace those results",
                    out.display()
                );
            }
            clear(out)?;
        } else if let Ok(old) = old {
            if keep && old.shards != plan.shards && plan.shards > 1 && old.shards > 1 {
                bail!(
                    "out folder {} was planned with {} shards, not {}\n  help: use --shard I/{} or plan again with --force",
                    out.display(),
                    old.shards,
                    plan.shards,
                    old.shards
                );
            }
            if !keep {
                clear(out)?;
            }
        }
    } else if std::fs::read_dir(out)
        .with_context(|| format!("reading out folder {}", out.display()))?
        .flatten()
        .any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            // `calibration/` is `gardengate calibrate`'s, which runs never touch.
            !is_lock_file(&name) && !is_own_temp(&name) && name != CALIBRATION_DIR
        })
        && !force
    {
        bail!(
            "out folder {} is not empty and holds no gardengate results\n  help: choose an empty or new folder, or pass --force to write into it anyway",
            out.display()
        );
    }
    // Keep the shard count of an existing plan when running a shard of it.
    let mut rec = plan.clone();
    if let Ok(old) = PlanRecord::read(out) {
        if old.scenario_hash == plan.scenario_hash && keep {
            rec.shards = old.shards.max(plan.shards);
            // Finished batches of the folder keep their layout (an older version's plan
            // says one run per file).
            rec.batch_runs = old.batch_runs;
        }
    }
    rec.write(out)
        .with_context(|| format!("writing {}", out.join("plan.json").display()))
}

/// The sub-folder `gardengate calibrate` writes into (runs leave it alone).
pub const CALIBRATION_DIR: &str = "calibration";

/// Name of the out folder's lock file (advisory `flock`, held by writers).
pub const LOCK_FILE: &str = ".gardengate.lock";

/// Whether `name` is one of gardengate's lock files (the folder lock or a shard's).
pub fn is_lock_file(name: &str) -> bool {
    name.starts_with(".gardengate") && name.ends_with(".lock")
}

/// Lock file held while a plan is created or joined (shards starting together).
pub const PLAN_LOCK_FILE: &str = ".gardengate-plan.lock";

/// An advisory lock on an out folder (or one shard of it), released when dropped.
#[derive(Debug)]
pub struct FolderLock {
    file: std::fs::File,
    exclusive: bool,
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        // The holder's line goes with the lock, so it never names a finished process.
        if self.exclusive {
            let _ = self.file.set_len(0);
        }
    }
}

/// How a lock is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    /// Alone: a run, plan, merge or baseline.
    Exclusive,
    /// Together with other shards of the same plan (each shard also locks itself).
    Shared,
}

/// Locks `out/name` without waiting (`wait`: wait for it, e.g. to join a plan being
/// created). A held lock is an error naming its holder, as recorded in the file.
pub fn lock_file(out: &Path, name: &str, mode: LockMode, wait: bool) -> Result<FolderLock> {
    use std::io::{Read, Seek, Write};
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create out folder {}", out.display()))?;
    let p = out.join(name);
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&p)
        .with_context(|| format!("opening lock file {}", p.display()))?;
    let got = match (mode, wait) {
        (LockMode::Exclusive, true) => f.lock().map(|()| true),
        (LockMode::Shared, true) => f.lock_shared().map(|()| true),
        (LockMode::Exclusive, false) => match f.try_lock() {
            Ok(()) => Ok(true),
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        },
        (LockMode::Shared, false) => match f.try_lock_shared() {
            Ok(()) => Ok(true),
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        },
    }
    .with_context(|| format!("locking {}", p.display()))?;
    if !got {
        let mut who = String::new();
        let _ = f.read_to_string(&mut who);
        let who = who.trim();
        bail!(
            "out folder {} is in use by another gardengate process{}\n  help: wait for it to finish, or choose another --out folder",
            out.display(),
            if who.is_empty() { String::new() } else { format!(": {who}") }
        );
    }
    if mode == LockMode::Exclusive {
        // Say who holds it, for the message of a process that finds it taken.
        let args: Vec<String> = std::env::args().collect();
        let _ = f.set_len(0);
        let _ = f.seek(std::io::SeekFrom::Start(0));
        let _ = writeln!(
            f,
            "pid {} on {} since {} (`{}`)",
            std::process::id(),
            hostname(),
            iso_time(now_unix()),
            args.join(" ")
        );
    }
    Ok(FolderLock {
        file: f,
        exclusive: mode == LockMode::Exclusive,
    })
}

/// Removes the results gardengate wrote (and only those) before a fresh start.
fn clear(out: &Path) -> Result<()> {
    for dir in ["runs", "shards", "charts", ""] {
        remove_own_files(out, dir, false)?;
    }
    Ok(())
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// ISO 8601 UTC time of a Unix timestamp.
pub fn iso_time(unix: f64) -> String {
    let secs = unix.floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_date(days),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// This machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// The JSON merge patch (RFC 7386) that turns `base` into `target`: the keys of objects whose
/// values differ (recursively), `null` for keys `target` lacks; any other differing value is
/// replaced whole.
pub fn merge_patch(base: &serde_json::Value, target: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match (base, target) {
        (Value::Object(b), Value::Object(t)) => {
            let mut out = serde_json::Map::new();
            for (k, tv) in t {
                match b.get(k) {
                    Some(bv) if bv == tv => {}
                    Some(bv) if bv.is_object() && tv.is_object() => {
                        out.insert(k.clone(), merge_patch(bv, tv));
                    }
                    _ => {
                        out.insert(k.clone(), tv.clone());
                    }
                }
            }
            for k in b.keys().filter(|k| !t.contains_key(*k)) {
                out.insert(k.clone(), Value::Null);
            }
            Value::Object(out)
        }
        _ => target.clone(),
    }
}

/// Applies a JSON merge patch (RFC 7386) to `base` (the inverse of `merge_patch`).
pub fn apply_merge_patch(base: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    let Value::Object(p) = patch else {
        *base = patch.clone();
        return;
    };
    if !base.is_object() {
        *base = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(b) = base {
        for (k, v) in p {
            if v.is_null() {
                b.remove(k);
            } else {
                apply_merge_patch(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::event_records;
    use gardengate_core::scenario::model::{Action, EventSpec};

    fn ev(step: u32, label: &str) -> EventSpec {
        EventSpec {
            announced: step,
            effective: step,
            label: label.into(),
            approver: None,
            action: Action::PrimarySwitch(0.0),
        }
    }

    #[test]
    fn every_labelled_event_gets_a_marker_and_unlabelled_waves_add_none() {
        let events = [
            ev(3, "accept eleme wechat_pay"),
            ev(3, "wave one"),
            ev(3, "accept kaola wechat_pay"),
            ev(3, "Taobao moved here"),
            ev(7, "accept jd alipay"),
            ev(7, "accept jd wechat_pay"),
        ];
        let r = event_records(&events, &["wave one", "Taobao moved here"]);
        let got: Vec<(u32, &str)> = r.iter().map(|e| (e.step, e.label.as_str())).collect();
        assert_eq!(
            got,
            [
                (3, "wave one"),
                (3, "Taobao moved here"),
                (7, "accept jd alipay")
            ]
        );
    }
}
