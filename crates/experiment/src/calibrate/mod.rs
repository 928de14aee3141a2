//! `gardengate calibrate`: fits a scenario's free parameters to observed moments by the
//! method of simulated moments.
//!
//! Each evaluation builds the scenario with the parameters set (in memory, through the
//! sweep machinery) and runs `replicates` runs at common random numbers: the run seeds come
//! from the scenario seed alone, so every evaluation sees the same draws and the objective
//! is a smooth function of the parameters up to the world's discreteness. Runs stop at the
//! last step any target reads. The moments of each run are taken in fixed order; the mean
//! over replicates enters the weighted distance of `metrics::msm`.
//!
//! The optimiser works in the unit box (log-transformed where a parameter says so): the
//! declared start, then optional Latin-hypercube points, then Nelder–Mead from the
//! best of them (argmin's, in `optimiser`); a point outside the box is evaluated at its
//! projection plus a quadratic penalty. At the optimum a numerical Jacobian (central differences, one-sided at a bound)
//! gives the sandwich standard errors and the identification checks.
//!
//! Every evaluation is appended to `calibration/evaluations.json` (atomically) as it
//! finishes. With `resume`, the optimiser runs again from the start and every point it asks
//! for that the log holds is answered from the log: the optimiser is deterministic, so it
//! retraces its steps without running anything until it reaches new ground.

pub mod log;
pub mod optimiser;
pub mod report;

use gardengate_core::metrics::{self, msm};
use gardengate_core::model::Simulation;
use gardengate_core::scenario::calibrate::{self as spec, Calibration, Target};
use gardengate_core::scenario::{self, Plan, Problem, ScenarioError, Setting};
use gardengate_io::{bail, err, Result};
use log::{Evaluation, Log, Phase};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Penalty per squared box unit outside the box (the objective is in χ² units).
pub const OUTSIDE_PENALTY: f64 = 1e4;

/// A loaded, checked calibration: the scenario, the targets and what is free.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Scenario file as given.
    pub scenario_file: String,
    /// Its text.
    pub scenario_text: String,
    /// Its folder (relative paths in it are relative to this).
    pub base_dir: PathBuf,
    /// Targets file as given.
    pub targets_file: String,
    /// Its text.
    pub targets_text: String,
    /// The scenario as `run` sees it.
    pub base: Plan,
    /// Free parameters, targets, settings.
    pub cal: Calibration,
}

fn read_text(path: &Path, what: &str) -> Result<String, ScenarioError> {
    std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.display().to_string(),
        problems: vec![Problem {
            key: String::new(),
            line: None,
            message: format!("cannot read the {what}: {e}"),
            suggestion: Some("check the path".into()),
        }],
    })
}

/// Loads and checks a calibration: the scenario (as `run` would), the targets against its
/// metrics and run length, and `[calibrate]` (from the scenario or from the targets file,
/// not both); builds the scenario at the start values and at both corners of the box, so a
/// path that cannot be set or bounds a key does not accept are reported before any run.
pub fn load(scenario: &Path, targets: &Path) -> Result<Setup, ScenarioError> {
    let base = scenario::load(scenario)?;
    let scenario_text = read_text(scenario, "scenario")?;
    let targets_text = read_text(targets, "targets file")?;
    let scenario_file = scenario.display().to_string();
    let targets_file = targets.display().to_string();
    let sc = &base.points[0].scenario;
    let columns: Vec<String> = metrics::table(sc, &[], 0, 0)
        .columns
        .into_iter()
        .map(|c| c.0)
        .collect();
    let (targets_list, targets_cal) =
        spec::read_targets(&targets_text, &targets_file, &base.source, &columns)?;
    let (cal_value, cal_text, cal_file) = match (&base.source.calibrate, targets_cal) {
        (Some(_), Some(_)) => {
            return Err(ScenarioError {
                file: targets_file.clone(),
                problems: vec![Problem {
                    key: "calibrate".into(),
                    line: scenario::error::locate(&targets_text, "calibrate"),
                    message: format!(
                        "both this file and {scenario_file} have `[calibrate]`; expected one"
                    ),
                    suggestion: Some("keep the free parameters in one of the two files".into()),
                }],
            })
        }
        (Some(v), None) => (v.clone(), scenario_text.as_str(), scenario_file.clone()),
        (None, Some(v)) => (v, targets_text.as_str(), targets_file.clone()),
        (None, None) => {
            return Err(ScenarioError {
                file: targets_file.clone(),
                problems: vec![Problem {
                    key: "calibrate".into(),
                    line: None,
                    message: format!(
                        "no `[calibrate]` here or in {scenario_file}; expected the free parameters as `[[calibrate.param]]`"
                    ),
                    suggestion: Some(
                        "[[calibrate.param]] path = \"revision.primary_switch\", bounds = [0.0, 1.0]"
                            .into(),
                    ),
                }],
            })
        }
    };
    let (cs, params) = spec::check_spec(&cal_value, cal_text, &cal_file, &base.source)?;
    let last_step = targets_list.iter().map(|t| t.to).max().unwrap_or(0);
    let cal = Calibration {
        params,
        targets: targets_list,
        replicates: cs.replicates,
        max_evals: cs.max_evals,
        lhs: cs.lhs,
        jacobian_step: cs.jacobian_step,
        tolerance: cs.tolerance,
        simplex: cs.simplex,
        fixed: cs
            .set
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        declared_in: cal_file,
        last_step,
    };
    let setup = Setup {
        base_dir: scenario.parent().unwrap_or(Path::new(".")).to_path_buf(),
        scenario_file,
        scenario_text,
        targets_file,
        targets_text,
        base,
        cal,
    };
    let corners: [Vec<f64>; 3] = [
        setup.cal.params.iter().map(|p| p.start).collect(),
        setup.cal.params.iter().map(|p| p.lo).collect(),
        setup.cal.params.iter().map(|p| p.hi).collect(),
    ];
    for (which, theta) in ["start", "lower bound", "upper bound"].iter().zip(&corners) {
        setup.plan_at(theta).map_err(|mut e| {
            for p in &mut e.problems {
                if p.key.starts_with("calibrate.") && which != &"start" {
                    p.message = format!("at the {which}s: {}", p.message);
                }
            }
            e
        })?;
    }
    Ok(setup)
}

impl Setup {
    /// The scenario with the free parameters at `theta` (and the fixed settings), with
    /// `replicates` runs whose seeds are the same for every `theta`.
    pub fn plan_at(&self, theta: &[f64]) -> Result<Plan, ScenarioError> {
        let mut settings: Vec<Setting> = self.cal.fixed_settings();
        for (p, &v) in self.cal.params.iter().zip(theta) {
            settings.extend(p.settings(v));
        }
        let plan = scenario::from_text_with(
            &self.scenario_text,
            &self.scenario_file,
            &self.base_dir,
            &settings,
        )
        .map_err(|mut e| {
            // Problems of `[calibrate]` entries belong to the file that declares them.
            if self.cal.declared_in != self.scenario_file {
                let (mine, theirs): (Vec<Problem>, Vec<Problem>) = e
                    .problems
                    .into_iter()
                    .partition(|p| p.key.starts_with("calibrate."));
                if !mine.is_empty() {
                    return ScenarioError {
                        file: self.cal.declared_in.clone(),
                        problems: mine
                            .into_iter()
                            .map(|mut p| {
                                p.line = scenario::error::locate(&self.targets_text, &p.key);
                                p
                            })
                            .collect(),
                    };
                }
                e.problems = theirs;
            }
            e
        })?;
        Ok(plan.with_overrides(None, Some(self.cal.replicates)))
    }

    /// Identity of the calibration for resuming: the scenario (with its input files), the
    /// targets file, the free parameters and every setting but the budget.
    pub fn identity(&self) -> String {
        use sha2::Digest;
        let c = &self.cal;
        let desc = serde_json::json!({
            "gardengate": env!("CARGO_PKG_VERSION"),
            "scenario": self.base.hash,
            "targets": self.targets_text,
            "params": c.params,
            "replicates": c.replicates,
            "lhs": c.lhs,
            "jacobian_step": c.jacobian_step,
            "tolerance": c.tolerance,
            "simplex": c.simplex,
            "fixed": c.fixed,
        });
        sha2::Sha256::digest(desc.to_string().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Observed values, standard errors and weights of the targets.
    pub fn observed(&self) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let t = &self.cal.targets;
        (
            t.iter().map(|x| x.value).collect(),
            t.iter().map(|x| x.se).collect(),
            t.iter().map(|x| x.weight).collect(),
        )
    }

    /// The objective of an evaluation's replicate moments.
    pub fn objective(&self, reps: &[Vec<f64>]) -> f64 {
        let (obs, _, w) = self.observed();
        msm::objective(&msm::mean_moments(reps), &obs, &w)
    }

    /// Natural parameter values at box coordinates `u`.
    pub fn theta(&self, u: &[f64]) -> Vec<f64> {
        self.cal
            .params
            .iter()
            .zip(u)
            .map(|(p, &x)| p.value(x))
            .collect()
    }
}

/// Options of a calibration.
#[derive(Clone)]
pub struct Options {
    /// The calibration folder (`<out>/calibration`).
    pub dir: PathBuf,
    /// Worker threads (None: all cores).
    pub threads: Option<usize>,
    /// Continue the log in `dir`.
    pub resume: bool,
    /// Start again over a log of this or another calibration in `dir`.
    pub force: bool,
    /// Override of `[calibrate] max_evals`.
    pub max_evals: Option<u32>,
    /// Stop (as if killed) after this many new evaluations, writing nothing else; for tests
    /// of resuming.
    pub stop_after: Option<u32>,
    /// Receives one progress line per evaluation (evaluations, best objective, ETA); the
    /// library prints nothing itself.
    pub progress: Option<ProgressLine>,
}

/// A receiver of progress lines.
pub type ProgressLine = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// What a calibration did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Every evaluation of the log, in order.
    pub evaluations: Vec<Evaluation>,
    /// Index of the best optimiser evaluation.
    pub best: usize,
    /// Standard errors and identification (None when stopped before the Jacobian).
    pub inference: Option<msm::Inference>,
    /// The Jacobian in natural units (targets × parameters).
    pub jacobian: Vec<Vec<f64>>,
    /// Stopped by `stop_after`: nothing but the log was written.
    pub stopped: bool,
    /// Evaluations run now (the rest came from the log).
    pub new_evals: u32,
    /// Optimiser evaluations asked for (start, Latin hypercube, simplex).
    pub optimiser_evals: u32,
    /// Whether Nelder–Mead met its tolerance (false: the budget ended it).
    pub converged: bool,
    /// Wall seconds.
    pub wall_s: f64,
}

impl Outcome {
    /// Objective of evaluation `i`.
    pub fn objective(&self, setup: &Setup, i: usize) -> f64 {
        setup.objective(&self.evaluations[i].replicate_moments())
    }
}

/// The runs of one evaluation at natural values `theta`: per replicate, per target, its
/// moment (replicates in order, whatever the thread count).
pub fn simulate(setup: &Setup, pool: &rayon::ThreadPool, theta: &[f64]) -> Result<Vec<Vec<f64>>> {
    let plan = setup
        .plan_at(theta)
        .map_err(|e| err!("{}", e.to_string().trim_end()))?;
    let sc = Arc::new(plan.points[0].scenario.clone());
    let last = setup.cal.last_step;
    let targets = &setup.cal.targets;
    let run = |seed: u64| -> Result<Vec<f64>> {
        let mut sim = Simulation::new(sc.clone(), seed)?;
        while !sim.finished() && sim.world().step <= last {
            sim.step();
        }
        let table = metrics::of(&sim);
        let cols: Vec<(String, Vec<f64>)> = targets
            .iter()
            .flat_map(|t| t.measure.columns())
            .collect::<Vec<_>>()
            .into_iter()
            .filter_map(|name| {
                table.get(name).map(|v| {
                    (
                        name.to_string(),
                        (0..v.len()).map(|k| v.get_f64(k)).collect(),
                    )
                })
            })
            .collect();
        Ok(targets
            .iter()
            .map(|t: &Target| {
                spec::target_value(t, |name| {
                    cols.iter().find(|c| c.0 == name).map(|c| c.1.as_slice())
                })
            })
            .collect())
    };
    let seeds: Vec<u64> = plan.runs.iter().map(|r| r.seed).collect();
    // Small worlds run their replicates side by side; each run is a pure function of its
    // scenario and seed and the results are collected in replicate order, so the moments do
    // not depend on the thread count.
    if pool.current_num_threads() > 1
        && seeds.len() > 1
        && sc.consumers.count <= super::RUNS_SIDE_BY_SIDE_CONSUMERS
    {
        use rayon::prelude::*;
        pool.install(|| seeds.par_iter().map(|&s| run(s)).collect())
    } else {
        pool.install(|| seeds.iter().map(|&s| run(s)).collect())
    }
}

/// The evaluation machinery shared by the phases: the log, its cache, the budget.
struct Evaluator<'a> {
    setup: &'a Setup,
    pool: rayon::ThreadPool,
    dir: PathBuf,
    log: Log,
    /// Log index of each point (bits of the box coordinates).
    cache: HashMap<Vec<u64>, usize>,
    /// Points the optimiser has asked for in this session (its budget counts them).
    asked: HashSet<Vec<u64>>,
    budget: u32,
    stop_after: Option<u32>,
    new_evals: u32,
    stopped: bool,
    failed: Option<gardengate_io::Error>,
    progress: Option<ProgressLine>,
    t0: Instant,
    /// Seconds of the new evaluations so far.
    spent: f64,
    best: Option<(f64, usize)>,
}

impl Evaluator<'_> {
    /// Evaluates box point `u` (clamped), from the log when it holds it. None once stopped.
    fn eval(&mut self, u: &[f64], phase: Phase) -> Result<Option<usize>> {
        let key: Vec<u64> = u.iter().map(|x| x.clamp(0.0, 1.0).to_bits()).collect();
        if phase != Phase::Jacobian {
            self.asked.insert(key.clone());
        }
        let mut is_new = false;
        let idx = if let Some(&i) = self.cache.get(&key) {
            i
        } else {
            if self.stopped || self.stop_after.is_some_and(|n| self.new_evals >= n) {
                self.stopped = true;
                return Ok(None);
            }
            let unit: Vec<f64> = key.iter().map(|&b| f64::from_bits(b)).collect();
            let theta = self.setup.theta(&unit);
            let t = Instant::now();
            let reps = simulate(self.setup, &self.pool, &theta)?;
            let wall = t.elapsed().as_secs_f64();
            let i = self.log.evaluations.len();
            self.log.evaluations.push(Evaluation {
                index: i as u32,
                phase,
                u: key.clone(),
                moments: reps
                    .iter()
                    .map(|r| r.iter().map(|x| x.to_bits()).collect())
                    .collect(),
                wall_s: wall,
            });
            log::write(&self.dir, &self.log)?;
            self.cache.insert(key, i);
            self.new_evals += 1;
            self.spent += wall;
            is_new = true;
            i
        };
        let q = self
            .setup
            .objective(&self.log.evaluations[idx].replicate_moments());
        if phase != Phase::Jacobian
            && self
                .best
                .is_none_or(|(b, bi)| q < b || (q == b && idx < bi))
        {
            self.best = Some((q, idx));
        }
        if self.progress.is_some() && is_new {
            self.print(idx, phase, q);
        }
        Ok(Some(idx))
    }

    fn print(&self, idx: usize, phase: Phase, q: f64) {
        let per = self.spent / self.new_evals.max(1) as f64;
        let jacobian_done = self
            .log
            .evaluations
            .iter()
            .filter(|e| e.phase == Phase::Jacobian)
            .count();
        let left = (self.budget as usize).saturating_sub(self.asked.len())
            + (2 * self.setup.cal.params.len()).saturating_sub(jacobian_done);
        let (b, bi) = self.best.unwrap_or((f64::NAN, 0));
        let replayed = self.log.evaluations.len() - self.new_evals as usize;
        let line = format!(
            "eval {idx:>4} [{}] objective {q:.4}  best {b:.4} (eval {bi})  {per:.1} s/eval  {} optimiser evaluations of {}  ETA ≤ {}  elapsed {}{}",
            phase.name(),
            self.asked.len(),
            self.budget,
            fmt_duration(per * left as f64),
            fmt_duration(self.t0.elapsed().as_secs_f64()),
            if replayed > 0 {
                format!("  ({replayed} from the log)")
            } else {
                String::new()
            }
        );
        if let Some(f) = &self.progress {
            f(&line);
        }
    }
}

fn fmt_duration(s: f64) -> String {
    if !s.is_finite() {
        return "?".into();
    }
    let s = s.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Runs (or resumes) a calibration into `opts.dir` and writes its outputs there.
pub fn calibrate(setup: &Setup, opts: &Options) -> Result<Outcome> {
    let t0 = Instant::now();
    std::fs::create_dir_all(&opts.dir)
        .map_err(|e| err!("cannot create {}: {e}", opts.dir.display()))?;
    let _lock = gardengate_io::store::lock_file(
        &opts.dir,
        gardengate_io::store::LOCK_FILE,
        gardengate_io::store::LockMode::Exclusive,
        false,
    )?;
    gardengate_io::store::remove_own_temps(&opts.dir)?;
    let setup_id = setup.identity();
    let existing = log::read(&opts.dir);
    let mut start_log = Log {
        version: log::LOG_VERSION,
        setup: setup_id.clone(),
        evaluations: Vec::new(),
    };
    match (existing, opts.resume, opts.force) {
        (_, _, true) => {}
        (Ok(None), _, _) => {}
        (Ok(Some(l)), true, _) if l.setup == setup_id => start_log = l,
        (Ok(Some(_)), true, _) => bail!(
            "{} holds evaluations of a different calibration (scenario, targets or settings changed)\n  help: choose another --out, or pass --force to start again",
            log::path(&opts.dir).display()
        ),
        (Ok(Some(l)), false, _) => bail!(
            "{} already holds {} evaluations\n  help: pass --resume to continue them, or --force to start again",
            log::path(&opts.dir).display(),
            l.evaluations.len()
        ),
        (Err(e), _, false) => return Err(e),
    }
    let k = setup.cal.params.len();
    let budget = opts.max_evals.unwrap_or(setup.cal.max_evals);
    if (budget as usize) < setup.cal.lhs as usize + k + 1 {
        bail!(
            "--max-evals {budget}: expected at least lhs + parameters + 1 = {} (the first simplex)",
            setup.cal.lhs as usize + k + 1
        );
    }
    let cache = start_log
        .evaluations
        .iter()
        .map(|e| (e.u.clone(), e.index as usize))
        .collect();
    let ev = RefCell::new(Evaluator {
        setup,
        pool: super::thread_pool(opts.threads)?,
        dir: opts.dir.clone(),
        log: start_log,
        cache,
        asked: HashSet::new(),
        budget,
        stop_after: opts.stop_after,
        new_evals: 0,
        stopped: false,
        failed: None,
        progress: opts.progress.clone(),
        t0,
        spent: 0.0,
        best: None,
    });
    let params = &setup.cal.params;
    // 1. The start and the Latin hypercube.
    let start_u: Vec<f64> = params.iter().map(|p| p.unit(p.start)).collect();
    let mut starts: Vec<(Vec<f64>, Phase)> = vec![(start_u, Phase::Start)];
    if setup.cal.lhs > 0 {
        let seed = gardengate_core::rng::key(
            setup.base.source.seed,
            gardengate_core::rng::Purpose::Design,
            3,
            0xCA1B,
        );
        for row in scenario::design::latin_hypercube(setup.cal.lhs, k, seed) {
            starts.push((row, Phase::Lhs));
        }
    }
    let mut first: Vec<(f64, Vec<f64>)> = Vec::new();
    for (u, phase) in &starts {
        let Some(i) = ev.borrow_mut().eval(u, *phase)? else {
            return stopped(ev.into_inner(), t0);
        };
        let e = ev.borrow();
        first.push((
            setup.objective(&e.log.evaluations[i].replicate_moments()),
            e.log.evaluations[i].unit(),
        ));
    }
    // The best of them (ties: the first) starts the simplex.
    let mut x0 = first[0].clone();
    for f in &first[1..] {
        if f.0 < x0.0 {
            x0 = f.clone();
        }
    }
    let x0 = x0.1;
    // 2. The first simplex: a step of `simplex` along each axis, inwards at an upper bound.
    let mut simplex = vec![x0.clone()];
    for j in 0..k {
        let mut v = x0.clone();
        let s = setup.cal.simplex;
        v[j] = if v[j] + s <= 1.0 { v[j] + s } else { v[j] - s };
        simplex.push(v);
    }
    for v in &simplex {
        if ev.borrow_mut().eval(v, Phase::Simplex)?.is_none() {
            return stopped(ev.into_inner(), t0);
        }
    }
    // 3. Nelder–Mead. Points asked before answer from the log; a new point needs budget.
    let nm = {
        let mut cost = |p: &[f64]| -> Option<f64> {
            let mut e = ev.borrow_mut();
            let u: Vec<f64> = p.iter().map(|x| x.clamp(0.0, 1.0)).collect();
            let key: Vec<u64> = u.iter().map(|x| x.to_bits()).collect();
            let mut outside = 0.0;
            for (a, b) in p.iter().zip(&u) {
                outside += (a - b) * (a - b);
            }
            if !e.asked.contains(&key) && e.asked.len() as u32 >= e.budget {
                return None;
            }
            match e.eval(&u, Phase::Simplex) {
                Ok(Some(i)) => {
                    let q = setup.objective(&e.log.evaluations[i].replicate_moments());
                    Some(q + OUTSIDE_PENALTY * outside)
                }
                Ok(None) => None,
                Err(err) => {
                    e.failed = Some(err);
                    None
                }
            }
        };
        optimiser::minimise(&mut cost, simplex, setup.cal.tolerance, budget * 4)
    };
    let converged = nm.stop == optimiser::Stop::Converged;
    {
        let mut e = ev.borrow_mut();
        if let Some(f) = e.failed.take() {
            return Err(f);
        }
        if e.stopped {
            drop(e);
            return stopped(ev.into_inner(), t0);
        }
    }
    let optimiser_evals = ev.borrow().asked.len() as u32;
    let (_, best) = ev.borrow().best.ok_or_else(|| err!("no evaluation"))?;
    // 4. The Jacobian at the optimum.
    let ub = ev.borrow().log.evaluations[best].unit();
    let h = setup.cal.jacobian_step;
    let mut cols: Vec<Vec<f64>> = Vec::new();
    let mut width = Vec::new();
    let theta_best = setup.theta(&ub);
    for j in 0..k {
        let (mut up, mut dn) = (ub.clone(), ub.clone());
        up[j] = (ub[j] + h).min(1.0);
        dn[j] = (ub[j] - h).max(0.0);
        let mut ms = Vec::new();
        for v in [&up, &dn] {
            let Some(i) = ev.borrow_mut().eval(v, Phase::Jacobian)? else {
                return stopped(ev.into_inner(), t0);
            };
            ms.push(msm::mean_moments(
                &ev.borrow().log.evaluations[i].replicate_moments(),
            ));
        }
        let gu = msm::difference(&ms[0], &ms[1], up[j] - ub[j], ub[j] - dn[j]);
        let wj = params[j].width(theta_best[j]);
        cols.push(gu.iter().map(|g| g / wj).collect());
        width.push(wj);
    }
    let m = setup.cal.targets.len();
    let g: Vec<Vec<f64>> = (0..m)
        .map(|i| (0..k).map(|j| cols[j][i]).collect())
        .collect();
    let (_, se, w) = setup.observed();
    let reps = ev.borrow().log.evaluations[best].replicate_moments();
    let omega = msm::moment_covariance(&se, &msm::covariance(&reps), reps.len());
    let inference = msm::inference(&g, &w, &omega, &width);
    let ev = ev.into_inner();
    let outcome = Outcome {
        evaluations: ev.log.evaluations,
        best,
        inference: Some(inference),
        jacobian: g,
        stopped: false,
        new_evals: ev.new_evals,
        optimiser_evals,
        converged,
        wall_s: t0.elapsed().as_secs_f64(),
    };
    report::write(setup, &outcome, &opts.dir)?;
    Ok(outcome)
}

fn stopped(ev: Evaluator<'_>, t0: Instant) -> Result<Outcome> {
    let best = ev.best.map_or(0, |b| b.1);
    Ok(Outcome {
        evaluations: ev.log.evaluations,
        best,
        inference: None,
        jacobian: Vec::new(),
        stopped: true,
        new_evals: ev.new_evals,
        optimiser_evals: ev.asked.len() as u32,
        converged: false,
        wall_s: t0.elapsed().as_secs_f64(),
    })
}
