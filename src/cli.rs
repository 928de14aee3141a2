//! The command line. Each subcommand parses its flags, calls the library, and maps errors to
//! clear messages and exit codes (0 success, 1 drift or failure, 2 bad input).

pub use crate::command::{bad_input, load_plan, load_plan_design, threads_from, Failure};
use clap::{Args, Parser, Subcommand};
use gardengate_experiment::{self as experiment, BatchOptions, Progress};
use std::path::PathBuf;

/// gardengate: agent-based simulation of competition between platform ecosystems.
#[derive(Parser, Debug)]
#[command(name = "gardengate", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario (all sweep points × replicates) and write data and charts.
    #[command(
        after_help = "Examples:\n  gardengate run experiments/quickstart.toml\n  gardengate run experiments/unblocking-sweep.toml --threads 2 --replicates 5\n  gardengate run experiments/unblocking-sweep.toml --resume        # after an interruption\n  gardengate run plan.toml --out runs/x --shard 3/10               # one shard of a plan"
    )]
    Run(RunArgs),
    /// Check a scenario and print the resolved plan without running it.
    #[command(after_help = "Example:\n  gardengate validate experiments/china-2021.toml")]
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Worker threads assumed by the time estimate.
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Resolve a sweep once and write its plan (runs, seeds, shard count) into an out folder.
    #[command(
        after_help = "Example:\n  gardengate plan experiments/unblocking-sweep.toml --out output/sweep --shards 4"
    )]
    Plan {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Out folder.
        #[arg(long)]
        out: PathBuf,
        /// Number of shards.
        #[arg(long, default_value_t = 1)]
        shards: u32,
        /// Override the scenario seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Override the replicates per point.
        #[arg(long)]
        replicates: Option<u32>,
        /// Replace results of another scenario.
        #[arg(long)]
        force: bool,
        /// Plan this one of the file's `[[designs]]`.
        #[arg(long)]
        design: Option<String>,
    },
    /// Check that every shard of an out folder is complete and assemble the outputs.
    #[command(after_help = "Example:\n  gardengate merge output/sweep")]
    Merge {
        /// Out folder.
        dir: PathBuf,
        /// Skip charts.
        #[arg(long)]
        no_charts: bool,
    },
    /// Compare results to a baseline (exit 0 holds, 1 drift, 2 bad input).
    #[command(
        after_help = "Examples:\n  gardengate check output/ci --baseline experiments/baselines/ci --mode exact\n  gardengate check output/ci --baseline experiments/baselines/ci --mode stat --alpha 0.01 --report md"
    )]
    Check(crate::check_cmd::CheckArgs),
    /// Run a scenario and write a compact baseline (steps + summary + a markdown digest).
    #[command(
        after_help = "Example:\n  gardengate baseline experiments/ci.toml --out experiments/baselines/ci"
    )]
    Baseline {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Baseline folder.
        #[arg(long)]
        out: PathBuf,
        /// Worker threads.
        #[arg(long)]
        threads: Option<usize>,
        /// Replace the results of another scenario in the folder (only gardengate's own files
        /// are removed).
        #[arg(long)]
        force: bool,
    },
    /// Write a Slurm job array for a scenario's shards plus a merge job (and submit it).
    #[command(
        after_help = "Example:\n  gardengate slurm experiments/unblocking-sweep.toml --out /scratch/sweep --partition short --time 00:30:00 --cpus 4 --max-parallel 8 --submit"
    )]
    Slurm(crate::cluster::SlurmArgs),
    /// Effects of a finished out folder's variants (or sweep points) against its baseline:
    /// writes effects.parquet and effects.csv and prints the headline effects.
    #[command(
        after_help = "Examples:\n  gardengate effects output/china-2021-counterfactuals\n  gardengate effects output/china-2021-counterfactuals --bootstrap 2000"
    )]
    Effects {
        /// Out folder of a finished run.
        dir: PathBuf,
        /// Also give percentile bootstrap bounds from this many resamples (default: the
        /// scenario's `[effects] bootstrap`, else none).
        #[arg(long)]
        bootstrap: Option<u32>,
    },
    /// Sensitivity indices of a design's out folder (Sobol', Morris, or regression measures).
    #[command(
        after_help = "Examples:\n  gardengate sensitivity output/sensitivity-china\n  gardengate sensitivity output/sensitivity-china --metric consumer_surplus,wallet_share__alipay --last 30\n  gardengate sensitivity output/x --from 100 --to 199 --resamples 2000"
    )]
    Sensitivity(SensitivityArgs),
    /// Fit a scenario's free parameters (`[[calibrate.param]]`) to observed moments (a targets
    /// file) by the method of simulated moments; writes `<out>/calibration/`.
    #[command(
        after_help = "Examples:\n  gardengate calibrate experiments/china-2021.toml --targets experiments/data/china-payments.toml\n  gardengate calibrate experiments/china-2021.toml --targets experiments/data/china-payments.toml --resume\n  gardengate calibrate my.toml --targets t.toml --out output/fit --threads 2 --max-evals 60"
    )]
    Calibrate(crate::calibrate::CalibrateArgs),
    /// Benchmark the engine: consumer-steps per second, time per phase, peak memory.
    #[command(
        after_help = "Examples:\n  gardengate bench --consumers 1000000 --steps 50 --threads 2\n  gardengate bench --consumers 10000000 --merchants 1000000 --steps 365   # bench-10m"
    )]
    Bench(crate::bench::BenchArgs),
}

/// Flags of `sensitivity`.
#[derive(Args, Debug)]
pub struct SensitivityArgs {
    /// Out folder of a finished design run.
    pub dir: PathBuf,
    /// Metrics to analyse, comma-separated (default: the design's `metrics`).
    #[arg(long, value_delimiter = ',')]
    pub metric: Vec<String>,
    /// Analyse the paired effect of this variant on each metric (default: the design's
    /// `effect_of`, else levels).
    #[arg(long)]
    pub effect_of: Option<String>,
    /// A `[[windows]]` entry of the scenario by name (default: the design's `window`, else
    /// the summary window).
    #[arg(long, conflicts_with_all = ["last", "from", "to"])]
    pub window: Option<String>,
    /// A run's level is its mean over the last N steps (default: `summary_last_steps`).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub last: Option<u32>,
    /// Or over steps FROM..=TO.
    #[arg(long, requires = "to")]
    pub from: Option<u32>,
    /// Last step of the window (inclusive).
    #[arg(long, requires = "from")]
    pub to: Option<u32>,
    /// Bootstrap resamples of the intervals.
    #[arg(long, default_value_t = 1000)]
    pub resamples: u32,
    /// Confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    pub conf: f64,
    /// Seed of the bootstrap draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Skip charts.
    #[arg(long)]
    pub no_charts: bool,
}

/// Flags of `run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Out folder (default: output/<scenario file stem>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads (default: SLURM_CPUS_PER_TASK when set, else all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Override the scenario seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the replicates per point.
    #[arg(long)]
    pub replicates: Option<u32>,
    /// Keep finished runs and run only the rest.
    #[arg(long)]
    pub resume: bool,
    /// Replace results of another scenario in the out folder.
    #[arg(long)]
    pub force: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// Run one shard only: I/N, or I alone (N from the plan) — default from SLURM_ARRAY_TASK_ID
    /// (or PBS_ARRAY_INDEX, SGE_TASK_ID, LSB_JOBINDEX) when --shard-from-env is given.
    #[arg(long)]
    pub shard: Option<String>,
    /// Take the shard index from the scheduler's array-task variable.
    #[arg(long)]
    pub shard_from_env: bool,
    /// Skip charts.
    #[arg(long)]
    pub no_charts: bool,
    /// Also write steps.csv (as `[output] csv = true`).
    #[arg(long)]
    pub csv: bool,
    /// Draw the time charts as a trailing rolling mean of K steps (as `[charts] smooth_steps
    /// = K`; 0 or 1: raw steps).
    #[arg(long, value_name = "K")]
    pub smooth: Option<u32>,
    /// Run only this one of the file's `[[designs]]` (default: each, into OUT/<name>/).
    #[arg(long)]
    pub design: Option<String>,
}

/// Entry point; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(f) => {
            eprintln!("error: {}", f.message);
            f.code
        }
    }
}

fn dispatch(cli: Cli) -> Result<i32, Failure> {
    match cli.command {
        Command::Run(a) => run(a),
        Command::Validate { scenario, threads } => {
            if let Some(n) = threads {
                experiment::check_threads(n).map_err(|e| bad_input(format!("{e:#}")))?;
            }
            // A file of several `[[designs]]` is valid when each of them is.
            let names = crate::scenario::design_names(&scenario);
            let picks: Vec<Option<&str>> = if names.is_empty() {
                vec![None]
            } else {
                names.iter().map(|n| Some(n.as_str())).collect()
            };
            for pick in picks {
                if let Some(n) = pick {
                    println!("design `{n}`:");
                }
                let plan = load_plan_design(&scenario, pick, None, None)?;
                print!(
                    "{}",
                    crate::bench::describe_plan(&plan, threads_from(threads))
                );
                // A plan that `run` would refuse is not valid.
                for p in &plan.points {
                    crate::bench::check_fits(&p.scenario)?;
                }
                crate::bench::check_plan_fits(&plan)?;
            }
            Ok(0)
        }
        Command::Plan {
            scenario,
            out,
            shards,
            seed,
            replicates,
            design,
            force,
        } => {
            if shards == 0 {
                return Err(bad_input("--shards must be at least 1"));
            }
            let plan = load_plan_design(&scenario, design.as_deref(), seed, replicates)?;
            let rec = experiment::PlanRecord::from_plan(&plan, shards);
            let lock = experiment::store::lock_file(
                &out,
                experiment::store::LOCK_FILE,
                experiment::store::LockMode::Exclusive,
                false,
            )?;
            experiment::store::prepare(&out, &rec, false, force)?;
            if let Some(d) = &plan.design {
                experiment::sensitivity::write_design(&out, d)?;
            }
            drop(lock);
            let rec = experiment::PlanRecord::read(&out)?;
            println!(
                "plan written to {}: {} runs ({} points × {} replicates) in {} shards",
                out.join("plan.json").display(),
                rec.runs.len(),
                rec.points.len(),
                rec.replicates,
                rec.shards
            );
            Ok(0)
        }
        Command::Merge { dir, no_charts } => {
            crate::cluster::merge(&dir, !no_charts)?;
            println!("merged {}", dir.display());
            Ok(0)
        }
        Command::Check(a) => crate::check_cmd::run(a),
        Command::Baseline {
            scenario,
            out,
            threads,
            force,
        } => crate::check_cmd::baseline(&scenario, &out, threads_from(threads), force),
        Command::Effects { dir, bootstrap } => {
            let rows = experiment::effects::command(&dir, bootstrap).map_err(|e| {
                let msg = format!("{e:#}");
                if msg.contains("declares nothing to compare") || msg.contains("no plan here") {
                    bad_input(msg)
                } else {
                    Failure::from(e)
                }
            })?;
            let plan = experiment::PlanRecord::read(&dir)?;
            print!("{}", experiment::effects::headline_text(&plan, &rows));
            println!(
                "{} effects written to {}",
                rows.len(),
                dir.join("effects.csv").display()
            );
            Ok(0)
        }
        Command::Slurm(a) => crate::cluster::slurm(a),
        Command::Bench(a) => crate::bench::run(a),
        Command::Sensitivity(a) => sensitivity(a),
        Command::Calibrate(a) => crate::calibrate::run(a),
    }
}

fn run(a: RunArgs) -> Result<i32, Failure> {
    if let Some(n) = a.threads {
        experiment::check_threads(n).map_err(|e| bad_input(format!("{e:#}")))?;
    }
    let names = crate::scenario::design_names(&a.scenario);
    if a.design.is_none() && !names.is_empty() {
        // Several designs of one scenario: each is a plan of its own, in OUT/<name>/, run one
        // after the other (each with every thread).
        if a.shard.is_some() || a.shard_from_env {
            return Err(bad_input(format!(
                "{}: {} designs ({}); a shard belongs to one of them\n  help: add --design NAME (and --out OUT/NAME)",
                a.scenario.display(),
                names.len(),
                names.join(", ")
            )));
        }
        // All designs are checked before the first runs.
        for n in &names {
            load_plan_design(&a.scenario, Some(n), a.seed, a.replicates)?;
        }
        let out = a
            .out
            .clone()
            .unwrap_or_else(|| experiment::default_out(&a.scenario));
        for n in &names {
            if !a.quiet {
                eprintln!("design `{n}`:");
            }
            run(RunArgs {
                scenario: a.scenario.clone(),
                out: Some(out.join(n)),
                threads: a.threads,
                seed: a.seed,
                replicates: a.replicates,
                resume: a.resume,
                force: a.force,
                quiet: a.quiet,
                shard: None,
                shard_from_env: false,
                no_charts: a.no_charts,
                csv: a.csv,
                smooth: a.smooth,
                design: Some(n.clone()),
            })?;
        }
        return Ok(0);
    }
    let mut plan = load_plan_design(&a.scenario, a.design.as_deref(), a.seed, a.replicates)?;
    plan.comparison.csv |= a.csv;
    if let Some(k) = a.smooth {
        let steps = plan.points.first().map_or(0, |p| p.scenario.steps);
        if k > steps {
            return Err(bad_input(format!(
                "--smooth {k}: a rolling mean of {k} steps is longer than the run ({steps} steps)\n  help: use at most {steps} (0 or 1 draws the raw steps)"
            )));
        }
        plan.source.charts.smooth_steps = k;
    }
    for p in &plan.points {
        crate::bench::check_fits(&p.scenario)?;
    }
    crate::bench::check_plan_fits(&plan)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| experiment::default_out(&a.scenario));
    let shard = crate::cluster::shard_arg(a.shard.as_deref(), a.shard_from_env, &out)?;
    let opts = BatchOptions {
        out: out.clone(),
        threads: threads_from(a.threads),
        resume: a.resume,
        force: a.force,
        progress: if a.quiet {
            Progress::Quiet
        } else {
            crate::progress::terminal()
        },
        shard,
        charts: !a.no_charts && plan.source.charts.enabled,
    };
    let report = experiment::run_batch(&plan, &opts)?;
    if !a.quiet {
        if report.finalized && !report.summary.is_empty() {
            println!("{}", report.summary.trim_end());
        }
        let what = if report.finalized {
            "results"
        } else {
            "shard results"
        };
        eprintln!(
            "{} runs done ({} run now, {} already finished) in {:.1}s; {what} in {}",
            report.ran + report.skipped,
            report.ran,
            report.skipped,
            report.wall_s,
            out.display()
        );
    }
    Ok(0)
}

fn sensitivity(a: SensitivityArgs) -> Result<i32, Failure> {
    use experiment::sensitivity::{Request, Window};
    if !(a.conf > 0.0 && a.conf < 1.0) {
        return Err(bad_input(format!(
            "--conf {}; expected a level between 0 and 1, e.g. 0.95",
            a.conf
        )));
    }
    if a.resamples < 2 {
        return Err(bad_input("--resamples must be at least 2"));
    }
    let window = match (a.last, a.from, a.to) {
        (Some(n), _, _) => Some(Window::Last(n)),
        (None, Some(f), Some(t)) => Some(Window::Steps(f, t)),
        _ => None,
    };
    let req = Request {
        metrics: a.metric,
        window,
        options: gardengate_core::metrics::sensitivity::Options {
            resamples: a.resamples,
            conf_level: a.conf,
            seed: a.seed,
        },
        charts: !a.no_charts,
        effect_of: a.effect_of,
        named_window: a.window,
    };
    // The out folder of a file with several `[[designs]]` holds one folder per design.
    let dirs = experiment::sensitivity::design_folders(&a.dir);
    for dir in &dirs {
        if dirs.len() > 1 || dir != &a.dir {
            println!("{}:", dir.display());
        }
        let all = experiment::sensitivity::analyse(dir, &req)?;
        for (m, rows) in &all {
            println!("{m}:");
            for r in rows {
                let who = if r.parameter2.is_empty() {
                    r.parameter.clone()
                } else {
                    format!("{} × {}", r.parameter, r.parameter2)
                };
                if r.conf.is_finite() {
                    println!(
                        "  {:<8} {:<32} {:>10.4} ± {:.4}",
                        r.index, who, r.value, r.conf
                    );
                } else if r.lo.is_finite() {
                    println!(
                        "  {:<8} {:<32} {:>10.4} [{:.4}, {:.4}]",
                        r.index, who, r.value, r.lo, r.hi
                    );
                } else {
                    println!("  {:<8} {:<32} {:>10.4}", r.index, who, r.value);
                }
            }
        }
        println!("wrote {}", dir.join("sensitivity.parquet").display());
    }
    Ok(0)
}
