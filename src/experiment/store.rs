//! The out folder: plan record, per-run files, shard records, conflict and resume rules.

use crate::output::atomic::write_bytes;
use crate::scenario::calendar::format_date;
use crate::scenario::{ParamValue, Plan, RunSpec};
use anyhow::{bail, Context, Result};
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
    /// The fully resolved scenario of each point (every parameter, defaults filled in).
    #[serde(default)]
    pub resolved: Vec<serde_json::Value>,
    /// The experimental design whose samples are the points (`[design]`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design: Option<crate::scenario::design::Design>,
}

impl PlanRecord {
    /// The record of a plan split into `shards` shards.
    pub fn from_plan(plan: &Plan, shards: u32) -> Self {
        let sc = &plan.points[0].scenario;
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
            // One marker per step: the first event's label stands for a wave of changes.
            events: sc
                .events
                .iter()
                .fold(Vec::new(), |mut v: Vec<EventRecord>, e| {
                    if v.last().is_none_or(|l| l.step != e.effective) {
                        v.push(EventRecord {
                            step: e.effective,
                            label: e.label.clone(),
                        });
                    }
                    v
                }),
            wallets: sc.wallets.iter().map(|w| w.name.clone()).collect(),
            ecosystems: sc.ecosystems.iter().map(|e| e.name.clone()).collect(),
            panel_by: plan.source.charts.panel_by.clone(),
            resolved: plan
                .points
                .iter()
                .map(|p| serde_json::to_value(&p.scenario).unwrap_or_default())
                .collect(),
            design: plan.design.clone(),
        }
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
            .filter(|r| r.run_id % self.shards == i)
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
}

/// Path of a run's rows.
pub fn run_parquet(out: &Path, run_id: u32) -> PathBuf {
    out.join("runs").join(format!("run-{run_id:06}.parquet"))
}

/// Path of a run's record.
pub fn run_json(out: &Path, run_id: u32) -> PathBuf {
    out.join("runs").join(format!("run-{run_id:06}.json"))
}

/// Whether a run finished (both files are written atomically, the record last).
pub fn run_finished(out: &Path, run_id: u32) -> bool {
    run_parquet(out, run_id).is_file() && run_json(out, run_id).is_file()
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

/// Files and folders that a batch writes (and `--force` or a fresh run may remove).
const OWNED: [&str; 7] = [
    "runs",
    "shards",
    "charts",
    "steps.parquet",
    "summary.parquet",
    "summary.csv",
    "manifest.json",
];

/// Prepares an out folder for a plan: refuses results of a different scenario unless
/// `force`; keeps finished runs when `keep` (resume or shard), otherwise starts afresh.
pub fn prepare(out: &Path, plan: &PlanRecord, keep: bool, force: bool) -> Result<()> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create out folder {}", out.display()))?;
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
    } else if std::fs::read_dir(out)?.next().is_some() && !force {
        bail!(
            "out folder {} is not empty and holds no gardengate results\n  help: choose an empty or new folder, or pass --force to write into it anyway",
            out.display()
        );
    }
    // Temporary files of writes that a killed process left behind.
    if let Ok(dir) = std::fs::read_dir(out.join("runs")) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    // Keep the shard count of an existing plan when running a shard of it.
    let mut rec = plan.clone();
    if let Ok(old) = PlanRecord::read(out) {
        if old.scenario_hash == plan.scenario_hash && keep {
            rec.shards = old.shards.max(plan.shards);
        }
    }
    rec.write(out)
}

fn clear(out: &Path) -> Result<()> {
    for name in OWNED {
        let p = out.join(name);
        if p.is_dir() {
            std::fs::remove_dir_all(&p)?;
        } else if p.is_file() {
            std::fs::remove_file(&p)?;
        }
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
