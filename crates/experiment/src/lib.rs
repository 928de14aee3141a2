//! Batches of runs: the out folder, running runs (all of them or one shard) with progress,
//! resuming after an interruption, and assembling the final outputs from the per-run files.
//!
//! Layout of an out folder:
//! - `plan.json`: every run's id, point, parameters and seed, and the shard count;
//! - `runs/batch-NNNNNN.parquet` + `.json`: the rows and timings of a batch of consecutive
//!   runs (`runs/run-NNNNNN.*` when a batch is one run), each written atomically as soon as
//!   the batch ends (a batch counts as finished when both exist);
//! - `shards/shard-I-of-N.json`: completion record of a shard;
//! - `steps.parquet`, `summary.parquet`, `summary.csv`, `manifest.json`, `charts/`: the
//!   assembled results, built only from the files above, so a one-machine run, a resumed
//!   run and a merge of shards give the same data.

pub mod calibrate;
pub mod digest;
pub mod effect_charts;
pub mod effects;
pub mod finalize;
pub mod sensitivity;
pub use gardengate_io::store;
pub mod tables;

use gardengate_core::metrics;
use gardengate_core::model::Simulation;
use gardengate_core::scenario::{ParamValue, Plan, RunSpec};
use gardengate_io::bail;
use gardengate_io::frame;
pub use gardengate_io::{Error, Result};
use polars::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
pub use store::{PlanRecord, RunRecord};

/// The git commit this library was built from (recorded in manifests).
pub const GIT_COMMIT: &str = env!("GARDENGATE_GIT_COMMIT");

/// Worlds of at most this many consumers (64 chunks) run side by side, one run per thread.
pub const RUNS_SIDE_BY_SIDE_CONSUMERS: u64 = 64 * gardengate_core::model::step::CHUNK as u64;

/// Where a batch reports its progress. The library never prints: the command line turns
/// these events into a bar or lines, a notebook into its own widget.
#[derive(Clone, Default)]
pub enum Progress {
    /// No reports.
    #[default]
    Quiet,
    /// Each event is passed to this function (called from worker threads, in no fixed order
    /// between runs).
    Report(std::sync::Arc<dyn Fn(&ProgressEvent) + Send + Sync>),
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Progress::Quiet => "Progress::Quiet",
            Progress::Report(_) => "Progress::Report(..)",
        })
    }
}

impl Progress {
    fn send(&self, e: ProgressEvent) {
        if let Progress::Report(f) = self {
            f(&e);
        }
    }
}

/// One progress report of a batch.
#[derive(Clone, Debug)]
pub enum ProgressEvent {
    /// The batch starts: `steps` steps in `runs` runs to do, `skipped` runs already finished.
    Start {
        /// Runs to run now.
        runs: usize,
        /// Runs of this batch (or shard) already finished.
        skipped: usize,
        /// Steps to run now (all runs together).
        steps: u64,
    },
    /// One step of some run has ended.
    Step,
    /// A run has ended and its files are written.
    RunFinished {
        /// Position of the run among those run now (0-based).
        index: usize,
        /// Runs run now.
        of: usize,
        /// The run's id.
        run_id: u32,
        /// Its point.
        point_id: u32,
        /// The point's label.
        label: String,
        /// Its replicate.
        replicate: u32,
        /// Wall seconds of the run.
        wall_s: f64,
    },
    /// Every run of the batch has ended (assembling the outputs follows).
    RunsDone,
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
    run_batch_cancellable(plan, opts, &std::sync::atomic::AtomicBool::new(false))
}

/// [`run_batch`] that stops between steps once `cancel` is set (a notebook's Ctrl-C): the
/// runs finished so far keep their files (a later `resume` skips them), the run in progress
/// writes nothing, and the result is an error that says so.
pub fn run_batch_cancellable(
    plan: &Plan,
    opts: &BatchOptions,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<BatchReport> {
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
    // The folder's plan decides the batches and shards (a resumed folder keeps its layout).
    let record = PlanRecord::read(&opts.out)?;
    let mine: Vec<u32> = (0..record.batches())
        .filter(|&k| opts.shard.is_none_or(|(i, n)| k % n == i))
        .collect();
    let mine_runs: usize = mine.iter().map(|&k| record.batch(k).len()).sum();
    // A batch whose files are damaged (truncated, copied from another run) runs again.
    let todo: Vec<u32> = mine
        .iter()
        .copied()
        .filter(|&k| {
            !(store::batch_finished(&opts.out, &record, k)
                && store::verify_batch(&opts.out, &record, k).is_ok())
        })
        .collect();
    let todo_runs: usize = todo.iter().map(|&k| record.batch(k).len()).sum();
    let skipped = mine_runs - todo_runs;
    let pool = thread_pool(opts.threads)?;
    let threads = pool.current_num_threads();
    opts.progress.send(ProgressEvent::Start {
        runs: todo_runs,
        skipped,
        steps: todo_runs as u64 * plan.source.steps as u64,
    });
    let sink = FolderSink {
        out: &opts.out,
        record: &record,
    };
    run_batches(plan, &record, &todo, &pool, &opts.progress, cancel, &sink)?;
    opts.progress.send(ProgressEvent::RunsDone);
    if let Some((i, n)) = opts.shard {
        let runs: Vec<RunSpec> = mine
            .iter()
            .flat_map(|&k| record.batch(k))
            .copied()
            .collect();
        store::write_shard_record(&opts.out, i, n, &runs)?;
    }
    let mut report = BatchReport {
        ran: todo_runs,
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

/// Where the runs of a plan go as they finish: the out folder ([`FolderSink`], what
/// [`run_batch`] uses) or memory ([`MemorySink`], what [`run_in_memory`] uses). Each batch of
/// consecutive runs is handed over once, complete, from whichever worker thread finished it;
/// its rows are the same whichever thread ran it.
pub trait RunSink: Sync {
    /// Takes batch `k` of the plan: its runs' rows, in run order, and their records.
    fn accept(&self, k: u32, rows: DataFrame, runs: Vec<RunRecord>) -> Result<()>;
}

/// The out folder's sink: each batch's Parquet and record, written atomically.
pub struct FolderSink<'a> {
    /// Out folder.
    pub out: &'a Path,
    /// Its plan (decides the batch files' names).
    pub record: &'a PlanRecord,
}

impl RunSink for FolderSink<'_> {
    fn accept(&self, k: u32, mut rows: DataFrame, runs: Vec<RunRecord>) -> Result<()> {
        store::write_batch(self.out, self.record, k, &mut rows, runs)
    }
}

/// A sink that keeps every batch in memory; [`MemorySink::into_steps`] gives the rows of
/// `steps.parquet`.
#[derive(Default)]
pub struct MemorySink {
    batches: std::sync::Mutex<std::collections::BTreeMap<u32, (DataFrame, Vec<RunRecord>)>>,
}

impl RunSink for MemorySink {
    fn accept(&self, k: u32, rows: DataFrame, runs: Vec<RunRecord>) -> Result<()> {
        let mut b = self
            .batches
            .lock()
            .map_err(|_| gardengate_io::err!("a worker thread panicked"))?;
        b.insert(k, (rows, runs));
        Ok(())
    }
}

impl MemorySink {
    /// Every run's rows, in run order (batches in order, runs in order within each): the
    /// rows `steps.parquet` has for the same plan.
    pub fn into_steps(self) -> Result<DataFrame> {
        let batches = self
            .batches
            .into_inner()
            .map_err(|_| gardengate_io::err!("a worker thread panicked"))?;
        frame::stack_rows(
            batches.into_values().map(|b| b.0).collect(),
            "the plan's runs",
        )
    }

    /// The records of the runs kept, in run order.
    pub fn runs(&self) -> Vec<RunRecord> {
        match self.batches.lock() {
            Ok(b) => b.values().flat_map(|(_, r)| r.iter().cloned()).collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// Runs the whole plan (every point, variant and replicate) in memory and returns its steps
/// table: the rows `gardengate run` writes to `steps.parquet` for the same plan, bit for bit.
/// Small worlds run side by side as in [`run_batch`]; `cancel` stops between steps (nothing
/// is kept, there being no folder to keep it in).
///
/// ```
/// use gardengate_experiment::{run_in_memory, Progress};
/// use std::sync::atomic::AtomicBool;
///
/// // Two link policies × 2 replicates of a small world, 10 steps each.
/// let text = r#"
/// name = "tiny"
/// steps = 10
/// [consumers]
/// count = 500
/// [sweep]
/// replicates = 2
/// [[sweep.param]]
/// path = "policy.links"
/// values = ["walled", "open"]
/// "#;
/// let plan = gardengate_core::scenario::from_text(text, "tiny.toml", ".".as_ref())?;
/// let steps = run_in_memory(&plan, Some(2), &Progress::Quiet, &AtomicBool::new(false))?;
/// assert_eq!(steps.height(), 4 * 10);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_in_memory(
    plan: &Plan,
    threads: Option<usize>,
    progress: &Progress,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<DataFrame> {
    let sink = MemorySink::default();
    run_into(plan, threads, progress, cancel, &sink)?;
    sink.into_steps()
}

/// Runs the whole plan and hands every batch of finished runs to `sink` (the batches of
/// [`PlanRecord::from_plan`]`(plan, 1)`, each once, from whichever worker thread finished
/// it). Nothing is written unless the sink writes it; `cancel` stops between steps.
///
/// A sink that keeps only each run's last consumer surplus, for a long sweep whose paths are
/// not needed:
///
/// ```
/// use gardengate_experiment::{run_into, Progress, Result, RunRecord, RunSink};
/// use polars::prelude::DataFrame;
/// use std::sync::{atomic::AtomicBool, Mutex};
///
/// #[derive(Default)]
/// struct LastSurplus(Mutex<Vec<(u32, f64)>>);
///
/// impl RunSink for LastSurplus {
///     fn accept(&self, _batch: u32, rows: DataFrame, runs: Vec<RunRecord>) -> Result<()> {
///         let cs = rows.column("consumer_surplus")?.f64()?;
///         let per_run = rows.height() / runs.len();
///         let mut kept = self.0.lock().expect("no worker panicked");
///         for (k, r) in runs.iter().enumerate() {
///             kept.push((r.run_id, cs.get((k + 1) * per_run - 1).unwrap_or(f64::NAN)));
///         }
///         Ok(())
///     }
/// }
///
/// let text = "name = \"tiny\"\nsteps = 8\n[consumers]\ncount = 400\n[sweep]\nreplicates = 3\n";
/// let plan = gardengate_core::scenario::from_text(text, "tiny.toml", ".".as_ref())?;
/// let sink = LastSurplus::default();
/// run_into(&plan, Some(2), &Progress::Quiet, &AtomicBool::new(false), &sink)?;
/// let mut kept = sink.0.into_inner().expect("no worker panicked");
/// kept.sort_by_key(|k| k.0);
/// assert_eq!(kept.iter().map(|k| k.0).collect::<Vec<_>>(), [0, 1, 2]);
/// assert!(kept.iter().all(|k| k.1.is_finite()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_into(
    plan: &Plan,
    threads: Option<usize>,
    progress: &Progress,
    cancel: &std::sync::atomic::AtomicBool,
    sink: &dyn RunSink,
) -> Result<()> {
    let record = PlanRecord::from_plan(plan, 1);
    let todo: Vec<u32> = (0..record.batches()).collect();
    let pool = thread_pool(threads)?;
    progress.send(ProgressEvent::Start {
        runs: plan.runs.len(),
        skipped: 0,
        steps: plan.runs.len() as u64 * plan.source.steps as u64,
    });
    run_batches(plan, &record, &todo, &pool, progress, cancel, sink)?;
    progress.send(ProgressEvent::RunsDone);
    Ok(())
}

/// Runs batches `todo` of the plan on `pool` and hands each to `sink` when it is finished.
fn run_batches(
    plan: &Plan,
    record: &PlanRecord,
    todo: &[u32],
    pool: &rayon::ThreadPool,
    progress: &Progress,
    cancel: &std::sync::atomic::AtomicBool,
    sink: &dyn RunSink,
) -> Result<()> {
    let threads = pool.current_num_threads();
    let todo_runs: usize = todo.iter().map(|&k| record.batch(k).len()).sum();
    let done = std::sync::atomic::AtomicUsize::new(0);
    // One run: its rows and record (the `.parquet` size is filled in when its batch is
    // written). A pure function of its scenario and seed, whichever thread runs it.
    let run_one = |spec: &RunSpec| -> Result<(DataFrame, RunRecord)> {
        let point = &plan.points[spec.point_id as usize];
        let started = store::now_unix();
        let t = Instant::now();
        let sc = Arc::new(point.scenario.clone());
        let df = pool.install(|| -> Result<DataFrame> {
            let mut sim = Simulation::new(sc.clone(), spec.seed)?;
            while !sim.finished() {
                if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                    return Err(Error::Interrupted);
                }
                sim.step();
                progress.send(ProgressEvent::Step);
            }
            let table = metrics::of(&sim);
            run_frame(spec, &point.params, &table)
        })?;
        let wall = t.elapsed().as_secs_f64();
        let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        progress.send(ProgressEvent::RunFinished {
            index: k,
            of: todo_runs,
            run_id: spec.run_id,
            point_id: spec.point_id,
            label: point.label.clone(),
            replicate: spec.replicate,
            wall_s: wall,
        });
        let rec = RunRecord {
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
            parquet_bytes: None,
        };
        Ok((df, rec))
    };
    // Small worlds (a few chunks of consumers) leave threads idle within a run: their runs go
    // side by side instead, one per thread. Each run is a pure function of its scenario and
    // seed and its rows go to its own batch at a fixed place, so the data do not depend on
    // this choice.
    let consumers = plan
        .points
        .iter()
        .map(|p| p.scenario.consumers.count)
        .max()
        .unwrap_or(0);
    let side_by_side = threads > 1 && todo_runs > 1 && consumers <= RUNS_SIDE_BY_SIDE_CONSUMERS;
    if side_by_side {
        return run_queue(record, todo, pool, &run_one, sink);
    }
    for &k in todo {
        let specs = record.batch(k);
        let results = specs.iter().map(run_one).collect::<Result<Vec<_>>>()?;
        hand_over(k, results, sink)?;
    }
    Ok(())
}

/// Stacks a finished batch's runs (in run order) and hands them to the sink.
fn hand_over(k: u32, results: Vec<(DataFrame, RunRecord)>, sink: &dyn RunSink) -> Result<()> {
    let (frames, recs): (Vec<DataFrame>, Vec<RunRecord>) = results.into_iter().unzip();
    let df = frame::stack_rows(frames, &format!("batch {k}"))?;
    sink.accept(k, df, recs)
}

/// The runs of batches `todo`, side by side: every worker thread takes the next run in plan
/// order from one queue, and whoever finishes a batch's last run hands the batch over (while
/// the others keep running). Runs are taken in order, so only the batches around the queue's
/// head are unfinished at any time: memory holds a few batches, not the plan (nested parallel
/// loops over batches and runs had started every batch at once and held every run's rows
/// before writing any). After an error no new run starts, and the first error is returned.
fn run_queue(
    record: &PlanRecord,
    todo: &[u32],
    pool: &rayon::ThreadPool,
    run_one: &(dyn Fn(&RunSpec) -> Result<(DataFrame, RunRecord)> + Sync),
    sink: &dyn RunSink,
) -> Result<()> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;
    // A batch's runs as they finish; the batch is finished when every slot is filled.
    type Slots = Vec<Option<(DataFrame, RunRecord)>>;
    // The queue: (batch position in `todo`, run within the batch), in plan order.
    let queue: Vec<(usize, usize)> = todo
        .iter()
        .enumerate()
        .flat_map(|(b, &k)| (0..record.batch(k).len()).map(move |j| (b, j)))
        .collect();
    let batches: Vec<Mutex<Slots>> = todo
        .iter()
        .map(|&k| Mutex::new((0..record.batch(k).len()).map(|_| None).collect()))
        .collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let fail = |e: Error| {
        failed.store(true, Ordering::Relaxed);
        if let Ok(mut slot) = first_error.lock() {
            slot.get_or_insert(e);
        }
    };
    let worker = || loop {
        if failed.load(Ordering::Relaxed) {
            return;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(&(b, j)) = queue.get(i) else {
            return;
        };
        let k = todo[b];
        let result = match run_one(&record.batch(k)[j]) {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        let finished = {
            let Ok(mut state) = batches[b].lock() else {
                return fail(gardengate_io::err!("a worker thread panicked"));
            };
            state[j] = Some(result);
            state
                .iter()
                .all(Option::is_some)
                .then(|| std::mem::take(&mut *state))
        };
        if let Some(slots) = finished {
            let results: Vec<_> = slots.into_iter().flatten().collect();
            if let Err(e) = hand_over(k, results, sink) {
                return fail(e);
            }
        }
    };
    pool.scope(|s| {
        for _ in 0..pool.current_num_threads() {
            s.spawn(|_| worker());
        }
    });
    match first_error.into_inner() {
        Ok(Some(e)) => Err(e),
        Ok(None) => Ok(()),
        Err(_) => Err(gardengate_io::err!("a worker thread panicked")),
    }
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
    b.build()
        .map_err(|e| gardengate_io::err!("cannot start worker threads: {e}"))
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
