//! `gardengate._gardengate`: the Python extension module. Deliberately thin: scenario text →
//! a resolved plan (with the CLI's diagnostics), the plan's runs → the steps table as Parquet
//! bytes, a plan → an out folder (`experiment::run_batch`), and `check`. The Pythonic API
//! (`gardengate/__init__.py`) wraps these; no model logic lives on either side of the binding.
//!
//! Tables cross to Python as Parquet in memory, read there by whatever polars/pyarrow the
//! user has: the Rust polars version never meets the Python one.

use gardengate::check_cmd::{self, CheckArgs, Mode, Report};
use gardengate::command::Failure;
use gardengate::experiment::{self, BatchOptions, Progress, ProgressEvent};
use gardengate::scenario::{self, ScenarioError};
use polars::prelude::*;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the engine runs without the GIL before Python gets it back briefly (Ctrl-C,
/// progress). Time-based, so it never changes what is computed.
const SLICE: Duration = Duration::from_millis(100);

/// A `gardengate.ScenarioError` carrying the problems as dicts (file, line, key, message,
/// suggestion).
fn scenario_error(py: Python<'_>, e: &ScenarioError) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let problems = PyList::empty(py);
        for p in &e.problems {
            let d = PyDict::new(py);
            d.set_item("file", &e.file)?;
            d.set_item("line", p.line)?;
            d.set_item("key", &p.key)?;
            d.set_item("message", &p.message)?;
            d.set_item("suggestion", p.suggestion.as_deref())?;
            problems.append(d)?;
        }
        let cls = py.import("gardengate._errors")?.getattr("ScenarioError")?;
        let obj = cls.call1((e.to_string().trim_end().to_string(), problems))?;
        Ok(PyErr::from_value(obj))
    };
    build().unwrap_or_else(|err| err)
}

/// A command failure: bad input (exit 2) is a `ValueError`, anything else a `RuntimeError`.
fn failure(f: Failure) -> PyErr {
    if f.code == 2 {
        PyValueError::new_err(f.message)
    } else {
        PyRuntimeError::new_err(f.message)
    }
}

fn runtime(e: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(format!("{e:#}"))
}

/// A resolved scenario: every point checked, every run with its seed.
#[pyclass(module = "gardengate._gardengate", frozen)]
struct Plan {
    plan: Arc<scenario::Plan>,
}

#[pymethods]
impl Plan {
    /// The scenario's `name`.
    #[getter]
    fn name(&self) -> String {
        self.plan.source.name.clone()
    }
    /// Steps per run.
    #[getter]
    fn steps(&self) -> u32 {
        self.plan.source.steps
    }
    /// Master seed (after overrides).
    #[getter]
    fn seed(&self) -> u64 {
        self.plan.source.seed
    }
    /// Replicates per point (after overrides).
    #[getter]
    fn replicates(&self) -> u32 {
        self.plan.replicates
    }
    /// Point labels, in point order.
    #[getter]
    fn labels(&self) -> Vec<String> {
        self.plan.points.iter().map(|p| p.label.clone()).collect()
    }
    /// Swept column names.
    #[getter]
    fn sweep_columns(&self) -> Vec<String> {
        self.plan.sweep_columns.clone()
    }
    /// Runs as (run_id, point_id, replicate, seed).
    #[getter]
    fn runs(&self) -> Vec<(u32, u32, u32, u64)> {
        self.plan
            .runs
            .iter()
            .map(|r| (r.run_id, r.point_id, r.replicate, r.seed))
            .collect()
    }
}

/// Resolves scenario text (`file` names it in diagnostics, `base_dir` anchors relative paths
/// such as `extends` and edge lists), with the CLI's `--seed`/`--replicates` overrides.
#[pyfunction]
#[pyo3(signature = (text, file, base_dir, seed=None, replicates=None))]
fn resolve(
    py: Python<'_>,
    text: &str,
    file: &str,
    base_dir: &str,
    seed: Option<u64>,
    replicates: Option<u32>,
) -> PyResult<Plan> {
    if replicates == Some(0) {
        return Err(PyValueError::new_err(
            "replicates=0: expected at least 1 replicate per point",
        ));
    }
    let plan = scenario::from_text(text, file, Path::new(base_dir))
        .map_err(|e| scenario_error(py, &e))?
        .with_overrides(seed, replicates);
    Ok(Plan {
        plan: Arc::new(plan),
    })
}

/// TOML text → JSON text (datetimes become strings).
#[pyfunction]
fn toml_to_json(text: &str) -> PyResult<String> {
    fn conv(v: &toml::Value) -> serde_json::Value {
        match v {
            toml::Value::String(s) => s.clone().into(),
            toml::Value::Integer(i) => (*i).into(),
            toml::Value::Float(x) => serde_json::Number::from_f64(*x)
                .map(serde_json::Value::Number)
                .unwrap_or_else(|| x.to_string().into()),
            toml::Value::Boolean(b) => (*b).into(),
            toml::Value::Datetime(d) => d.to_string().into(),
            toml::Value::Array(a) => a.iter().map(conv).collect(),
            toml::Value::Table(t) => t.iter().map(|(k, v)| (k.clone(), conv(v))).collect(),
        }
    }
    let t: toml::Table = toml::from_str(text).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(conv(&toml::Value::Table(t)).to_string())
}

/// JSON value → TOML value; `at` names the key in errors (TOML has no null).
fn json_to_toml(v: &serde_json::Value, at: &str) -> PyResult<toml::Value> {
    Ok(match v {
        serde_json::Value::Null => {
            return Err(PyValueError::new_err(format!(
                "`{at}` is None: TOML has no null; leave the key out to take its default"
            )))
        }
        serde_json::Value::Bool(b) => toml::Value::Boolean(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => toml::Value::String(s.clone()),
        serde_json::Value::Array(a) => toml::Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| json_to_toml(x, &format!("{at}[{i}]")))
                .collect::<PyResult<_>>()?,
        ),
        serde_json::Value::Object(o) => toml::Value::Table(
            o.iter()
                .map(|(k, x)| {
                    let key = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    Ok((k.clone(), json_to_toml(x, &key)?))
                })
                .collect::<PyResult<_>>()?,
        ),
    })
}

/// JSON text of an object → TOML text.
#[pyfunction]
fn json_to_toml_text(json: &str) -> PyResult<String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| PyValueError::new_err(e.to_string()))?;
    match json_to_toml(&v, "")? {
        toml::Value::Table(t) => toml::to_string(&t).map_err(runtime),
        _ => Err(PyValueError::new_err("expected a dict at the top level")),
    }
}

/// Applies `{dotted.path: value}` overrides (JSON text) to scenario text, by the same paths
/// as sweeps (`policy.tau`, `platforms.taobao.commission`, `events.<id>.step`); returns the
/// new TOML text.
#[pyfunction]
fn with_overrides(py: Python<'_>, text: &str, file: &str, overrides: &str) -> PyResult<String> {
    let mut t: toml::Table =
        toml::from_str(text).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let o: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(overrides).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let mut problems = Vec::new();
    for (path, v) in &o {
        let value = json_to_toml(v, path)?;
        if let Err((message, suggestion)) = scenario::set_path(&mut t, path, value) {
            problems.push(scenario::Problem {
                key: path.clone(),
                line: None,
                message,
                suggestion,
            });
        }
    }
    if !problems.is_empty() {
        return Err(scenario_error(
            py,
            &ScenarioError {
                file: file.to_string(),
                problems,
            },
        ));
    }
    toml::to_string(&t).map_err(runtime)
}

/// Writes a frame as Parquet into memory.
fn parquet_bytes(df: &mut DataFrame) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf)
        .with_compression(ParquetCompression::Uncompressed)
        .finish(df)
        .map_err(|e| e.to_string())?;
    Ok(buf)
}

/// Calls the progress callback (if any) with (steps done, steps in all).
fn report(py: Python<'_>, progress: &Option<PyObject>, done: u64, total: u64) -> PyResult<()> {
    if let Some(cb) = progress {
        cb.call1(py, (done, total))?;
    }
    Ok(())
}

/// Runs `work` on its own thread without the GIL, with a progress callback that counts steps
/// and a cancel flag; meanwhile the calling thread wakes every slice to check for Ctrl-C
/// (which sets the flag: the work stops between steps) and calls `progress(done, total)`.
fn drive<T: Send + 'static>(
    py: Python<'_>,
    progress: &Option<PyObject>,
    steps: u64,
    work: impl FnOnce(Progress, &AtomicBool) -> Result<T, String> + Send + 'static,
) -> PyResult<T> {
    // `steps` is the plan's total until the run's start says how many are left to do.
    report(py, progress, 0, steps)?;
    let done = Arc::new(AtomicU64::new(0));
    let total = Arc::new(AtomicU64::new(steps));
    let cancel = Arc::new(AtomicBool::new(false));
    let (d, t) = (done.clone(), total.clone());
    let events = Progress::Report(Arc::new(move |e: &ProgressEvent| match e {
        ProgressEvent::Start { steps, .. } => t.store(*steps, Ordering::Relaxed),
        ProgressEvent::Step => {
            d.fetch_add(1, Ordering::Relaxed);
        }
        _ => {}
    }));
    let c = cancel.clone();
    let worker = std::thread::spawn(move || work(events, &c));
    let tell = || {
        report(
            py,
            progress,
            done.load(Ordering::Relaxed),
            total.load(Ordering::Relaxed),
        )
    };
    let mut interrupted: Option<PyErr> = None;
    while !worker.is_finished() {
        py.allow_threads(|| {
            let t = Instant::now();
            while !worker.is_finished() && t.elapsed() < SLICE {
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        if interrupted.is_none() {
            if let Err(e) = py.check_signals() {
                cancel.store(true, Ordering::Relaxed);
                interrupted = Some(e);
            } else {
                tell()?;
            }
        }
    }
    let result = worker
        .join()
        .map_err(|_| PyRuntimeError::new_err("the run's thread panicked"))?;
    if let Some(e) = interrupted {
        return Err(e);
    }
    tell()?;
    result.map_err(PyRuntimeError::new_err)
}

/// Runs the whole plan in memory with `experiment::run_in_memory` (small worlds side by
/// side, as `gardengate run` runs them) and returns the steps table, the rows of
/// `steps.parquet`, as Parquet bytes. The engine runs without the GIL; Ctrl-C stops it
/// between steps (KeyboardInterrupt; nothing is kept) and `progress(done, total)` is called.
#[pyfunction]
#[pyo3(signature = (plan, threads=None, progress=None))]
fn run_steps(
    py: Python<'_>,
    plan: &Plan,
    threads: Option<usize>,
    progress: Option<PyObject>,
) -> PyResult<Py<PyBytes>> {
    let plan = plan.plan.clone();
    if let Some(n) = threads {
        experiment::check_threads(n).map_err(|e| PyValueError::new_err(format!("{e:#}")))?;
    }
    for p in &plan.points {
        gardengate::bench::check_fits(&p.scenario).map_err(failure)?;
    }
    let steps = plan.runs.len() as u64 * plan.source.steps as u64;
    let bytes = drive(py, &progress, steps, move |events, cancel| {
        let mut df = experiment::run_in_memory(&plan, threads, &events, cancel)
            .map_err(|e| format!("{e:#}"))?;
        parquet_bytes(&mut df)
    })?;
    Ok(PyBytes::new(py, &bytes).unbind())
}

/// Runs the whole plan (sweep, variants, design) into the out folder `out` with
/// `experiment::run_batch`, as `gardengate run` does; returns the terminal summary. The
/// batch runs on its own thread without the GIL; Ctrl-C stops it between steps (finished
/// runs are kept: `resume=True` goes on from them).
#[pyfunction]
#[pyo3(signature = (plan, out, threads=None, resume=false, force=false, charts=true, progress=None))]
#[allow(clippy::too_many_arguments)]
fn run_batch(
    py: Python<'_>,
    plan: &Plan,
    out: PathBuf,
    threads: Option<usize>,
    resume: bool,
    force: bool,
    charts: bool,
    progress: Option<PyObject>,
) -> PyResult<String> {
    let plan = plan.plan.clone();
    if let Some(n) = threads {
        experiment::check_threads(n).map_err(|e| PyValueError::new_err(format!("{e:#}")))?;
    }
    for p in &plan.points {
        gardengate::bench::check_fits(&p.scenario).map_err(failure)?;
    }
    gardengate::bench::check_plan_fits(&plan).map_err(failure)?;
    let charts = charts && plan.source.charts.enabled;
    let steps = plan.runs.len() as u64 * plan.source.steps as u64;
    drive(py, &progress, steps, move |events, cancel| {
        let opts = BatchOptions {
            out,
            threads,
            resume,
            force,
            progress: events,
            shard: None,
            charts,
        };
        experiment::run_batch_cancellable(&plan, &opts, cancel)
            .map(|r| r.summary)
            .map_err(|e| format!("{e:#}"))
    })
}

/// Compares a results folder with a baseline folder, as `gardengate check` does; returns
/// (0 holds / 1 drift, report text, note on new columns).
#[pyfunction]
#[pyo3(signature = (results, baseline, mode="exact", metrics=None, alpha=0.01, tolerance=None, last_n=None, report="table"))]
#[allow(clippy::too_many_arguments)]
fn check(
    py: Python<'_>,
    results: PathBuf,
    baseline: PathBuf,
    mode: &str,
    metrics: Option<Vec<String>>,
    alpha: f64,
    tolerance: Option<String>,
    last_n: Option<usize>,
    report: &str,
) -> PyResult<(i32, String, Option<String>)> {
    let mode = match mode {
        "exact" => Mode::Exact,
        "stat" => Mode::Stat,
        m => {
            return Err(PyValueError::new_err(format!(
                "mode={m:?}: expected \"exact\" or \"stat\""
            )))
        }
    };
    let report = match report {
        "table" => Report::Table,
        "md" => Report::Md,
        "json" => Report::Json,
        "junit" => Report::Junit,
        r => {
            return Err(PyValueError::new_err(format!(
                "report={r:?}: expected \"table\", \"md\", \"json\" or \"junit\""
            )))
        }
    };
    let args = CheckArgs {
        results,
        baseline,
        mode,
        metrics: metrics.map(|m| m.join(",")),
        alpha,
        tolerance,
        last_n,
        report,
        report_out: None,
    };
    let o = py
        .allow_threads(|| check_cmd::evaluate(&args))
        .map_err(failure)?;
    Ok((o.code, o.text, o.note))
}

/// The native half of the `gardengate` package.
#[pymodule]
fn _gardengate(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("GIT_COMMIT", experiment::GIT_COMMIT)?;
    m.add_class::<Plan>()?;
    m.add_function(wrap_pyfunction!(resolve, m)?)?;
    m.add_function(wrap_pyfunction!(toml_to_json, m)?)?;
    m.add_function(wrap_pyfunction!(json_to_toml_text, m)?)?;
    m.add_function(wrap_pyfunction!(with_overrides, m)?)?;
    m.add_function(wrap_pyfunction!(run_steps, m)?)?;
    m.add_function(wrap_pyfunction!(run_batch, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    Ok(())
}
