//! Batches of runs: the out folder, running runs (all of them or one shard) with progress,
//! resuming after an interruption, and assembling the final outputs from the per-run files.
//!
//! Layout of an out folder:
//! - `plan.json`: every run's id, point, parameters and seed, and the shard count;
//! - `runs/run-NNNNNN.parquet` + `.json`: one finished run's rows and timings, each written
//!   atomically as soon as the run ends (a run counts as finished when both exist);
//! - `shards/shard-I-of-N.json`: completion record of a shard;
//! - `steps.parquet`, `summary.parquet`, `summary.csv`, `manifest.json`, `charts/`: the
//!   assembled results, built only from the files above, so a one-machine run, a resumed
//!   run and a merge of shards give the same data.

pub mod calibrate;
pub mod effect_charts;
pub mod effects;
pub mod finalize;
pub mod sensitivity;
pub mod store;
pub mod tables;

use crate::metrics;
use crate::model::Simulation;
use crate::output::frame;
use crate::scenario::{ParamValue, Plan, RunSpec};
use anyhow::{bail, Context, Result};
use polars::prelude::*;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
pub use store::{PlanRecord, RunRecord};

/// Worlds of at most this many consumers (64 chunks) run side by side, one run per thread.
pub const RUNS_SIDE_BY_SIDE_CONSUMERS: u64 = 64 * crate::model::step::CHUNK as u64;

/// How much progress to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A bar with ETA (on a terminal) or plain lines (otherwise).
    Auto,
    /// Nothing.
    Quiet,
}

/// Options of a batch.
#[derive(Clone, Debug)]
pub struct BatchOptions {
    /// Out folder.
    pub out: PathBuf,
    /// Worker threads (None: all cores).
    pub threads: Option<usize>,
    /// Keep finished runs of the same scenario.
    pub resume: bool,
    /// Replace results of a different scenario.
    pub force: bool,
    /// Progress output.
    pub progress: Progress,
    /// Run only shard (index, count).
    pub shard: Option<(u32, u32)>,
    /// Draw charts when assembling.
    pub charts: bool,
}

/// What a batch did.
#[derive(Clone, Debug, Default)]
pub struct BatchReport {
    /// Runs run now.
    pub ran: usize,
    /// Runs skipped because they were already finished.
    pub skipped: usize,
    /// Whether final outputs were assembled.
    pub finalized: bool,
    /// Wall seconds.
    pub wall_s: f64,
    /// Terminal summary of the assembled results (headline effects or levels).
    pub summary: String,
}

/// Runs a plan (or one shard of it) into an out folder, then assembles the outputs when
/// every run is finished.
pub fn run_batch(plan: &Plan, opts: &BatchOptions) -> Result<BatchReport> {
    let t0 = Instant::now();
    let shards = opts.shard.map_or(1, |s| s.1);
    let record = PlanRecord::from_plan(plan, shards);
    // Writers lock the folder: a whole run alone; shards together, each shard alone, and the
    // plan created under the exclusive lock so that a second shard starting at the same time
    // waits for it and joins.
    let _locks = match opts.shard {
        None => {
            let l = store::lock_file(
                &opts.out,
                store::LOCK_FILE,
                store::LockMode::Exclusive,
                false,
            )?;
            store::prepare(&opts.out, &record, opts.resume, opts.force)?;
            vec![l]
        }
        Some((i, n)) => {
            let shared =
                store::lock_file(&opts.out, store::LOCK_FILE, store::LockMode::Shared, false)?;
            let own = store::lock_file(
                &opts.out,
                &format!(".gardengate-shard-{i}-of-{n}.lock"),
                store::LockMode::Exclusive,
                false,
            )?;
            let plan_lock = store::lock_file(
                &opts.out,
                store::PLAN_LOCK_FILE,
                store::LockMode::Exclusive,
                true,
            )?;
            store::prepare_with(&opts.out, &record, true, opts.force, false)?;
            drop(plan_lock);
            vec![shared, own]
        }
    };
    if let Some(d) = &plan.design {
        sensitivity::write_design(&opts.out, d)?;
    }
    let mine: Vec<RunSpec> = plan
        .runs
        .iter()
        .copied()
        .filter(|r| opts.shard.is_none_or(|(i, n)| r.run_id % n == i))
        .collect();
    let todo: Vec<RunSpec> = mine
        .iter()
        .copied()
        .filter(|r| {
            // A run whose files are damaged (truncated, copied from another run) runs again.
            !(store::run_finished(&opts.out, r.run_id)
                && store::verify_run(&opts.out, &record, r).is_ok())
        })
        .collect();
    let skipped = mine.len() - todo.len();
    let pool = thread_pool(opts.threads)?;
    let threads = pool.current_num_threads();
    let total_steps = todo.len() as u64 * plan.source.steps as u64;
    let bar = progress_bar(opts.progress, total_steps);
    if opts.progress == Progress::Auto && skipped > 0 {
        eprintln!(
            "resuming: {skipped} of {} runs already finished",
            mine.len()
        );
    }
    let run_one = |k: usize, spec: &RunSpec| -> Result<()> {
        let point = &plan.points[spec.point_id as usize];
        let started = store::now_unix();
        let t = Instant::now();
        let sc = Arc::new(point.scenario.clone());
        let mut df = pool.install(|| -> Result<DataFrame> {
            let mut sim = Simulation::new(sc.clone(), spec.seed).map_err(|e| anyhow::anyhow!(e))?;
            while !sim.finished() {
                sim.step();
                if let Some(b) = &bar {
                    b.inc(1);
                }
            }
            let table = metrics::of(&sim);
            run_frame(spec, &point.params, &table)
        })?;
        let wall = t.elapsed().as_secs_f64();
        let pq = store::run_parquet(&opts.out, spec.run_id);
        frame::write_parquet(&mut df, &pq)?;
        let parquet_bytes = std::fs::metadata(&pq)
            .with_context(|| format!("reading {}", pq.display()))?
            .len();
        store::write_run_record(
            &opts.out,
            &RunRecord {
                run_id: spec.run_id,
                point_id: spec.point_id,
                replicate: spec.replicate,
                seed: spec.seed,
                started_unix: started,
                finished_unix: store::now_unix(),
                wall_s: wall,
                threads,
                host: store::hostname(),
                scenario_hash: record.scenario_hash.clone(),
                parquet_bytes: Some(parquet_bytes),
            },
        )?;
        if opts.progress == Progress::Auto && bar.is_none() {
            eprintln!(
                "run {}/{} finished: run_id {} (point {}: {}, replicate {}) in {:.1}s",
                k + 1,
                todo.len(),
                spec.run_id,
                spec.point_id,
                point.label,
                spec.replicate,
                wall
            );
        }
        Ok(())
    };
    // Small worlds (a few chunks of consumers) leave threads idle within a run: their runs go
    // side by side instead, one per thread. Each run is a pure function of its scenario and
    // seed and writes its own files, so the data do not depend on this choice.
    let consumers = plan
        .points
        .iter()
        .map(|p| p.scenario.consumers.count)
        .max()
        .unwrap_or(0);
    if threads > 1 && todo.len() > 1 && consumers <= RUNS_SIDE_BY_SIDE_CONSUMERS {
        use rayon::prelude::*;
        pool.install(|| {
            todo.par_iter()
                .enumerate()
                .try_for_each(|(k, spec)| run_one(k, spec))
        })?;
    } else {
        for (k, spec) in todo.iter().enumerate() {
            run_one(k, spec)?;
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some((i, n)) = opts.shard {
        store::write_shard_record(&opts.out, i, n, &mine)?;
    }
    let mut report = BatchReport {
        ran: todo.len(),
        skipped,
        finalized: false,
        wall_s: 0.0,
        summary: String::new(),
    };
    if opts.shard.is_none() {
        report.summary = finalize::finalize_report(&opts.out, threads, opts.charts)?;
        report.finalized = true;
    }
    report.wall_s = t0.elapsed().as_secs_f64();
    Ok(report)
}

/// Most worker threads per core: more only add scheduling overhead (10 000 threads made a
/// 0.14 s run take minutes, 100 000 overflowed the stack).
pub const MAX_THREADS_PER_CORE: usize = 8;

/// The largest thread count accepted on this machine (at least 64, so that a job script
/// written for a bigger node still runs).
pub fn max_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores * MAX_THREADS_PER_CORE).max(64)
}

/// Checks a requested thread count: at least 1, at most [`max_threads`].
pub fn check_threads(n: usize) -> Result<usize> {
    if n == 0 {
        bail!("--threads must be at least 1");
    }
    let max = max_threads();
    if n > max {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        bail!(
            "--threads {n}: at most {max} threads are allowed on this machine ({cores} cores × {MAX_THREADS_PER_CORE}, at least 64)\n  help: use about one thread per core, e.g. --threads {cores}"
        );
    }
    Ok(n)
}

/// A rayon pool with the requested number of threads (or all cores).
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        b = b.num_threads(check_threads(n)?);
    }
    b.build().context("cannot start worker threads")
}

fn progress_bar(p: Progress, total: u64) -> Option<indicatif::ProgressBar> {
    if p == Progress::Quiet || !std::io::stderr().is_terminal() || total == 0 {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {percent}% steps {pos}/{len} ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

/// The rows of one run: identifiers, swept parameters, then the metric table.
pub fn run_frame(
    spec: &RunSpec,
    params: &[(String, ParamValue)],
    table: &metrics::MetricTable,
) -> Result<DataFrame> {
    let n = table.rows();
    let mut cols: Vec<Column> = vec![
        Column::new("run_id".into(), vec![spec.run_id; n]),
        Column::new("point_id".into(), vec![spec.point_id; n]),
        Column::new("replicate".into(), vec![spec.replicate; n]),
        Column::new("seed".into(), vec![spec.seed; n]),
    ];
    for (name, v) in params {
        cols.push(match v {
            ParamValue::Num(x) => Column::new(name.into(), vec![*x; n]),
            ParamValue::Text(s) => Column::new(name.into(), vec![s.as_str(); n]),
        });
    }
    let metrics = frame::table_frame(table)?;
    let mut df = DataFrame::new(n, cols)?;
    df.hstack_mut(metrics.columns())?;
    Ok(df)
}

/// Default out folder of a scenario file: `output/<file stem>/`.
pub fn default_out(scenario: &Path) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    PathBuf::from("output").join(stem)
}
