//! `gardengate calibrate`: loads the scenario and targets, runs the calibration with
//! progress, prints the estimates (with identification) and the fit, and maps problems to
//! exit codes (bad input 2, failure 1).

use crate::command::{bad_input, threads_from, Failure};
use clap::Args;
use gardengate_experiment::calibrate::{self, report, Options};
use gardengate_experiment::{self as experiment, store::CALIBRATION_DIR};
use std::path::PathBuf;

/// Flags of `calibrate`.
#[derive(Args, Debug)]
pub struct CalibrateArgs {
    /// Scenario file (TOML); its free parameters are `[[calibrate.param]]` here or in the
    /// targets file.
    pub scenario: PathBuf,
    /// Targets file (TOML): the observed moments.
    #[arg(long)]
    pub targets: PathBuf,
    /// Out folder; the calibration writes into its `calibration/` (default:
    /// output/<scenario file stem>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads (default: SLURM_CPUS_PER_TASK when set, else all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Continue an interrupted calibration: evaluations in the log are not run again.
    #[arg(long)]
    pub resume: bool,
    /// Start again over an existing evaluations log.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// The optimiser's budget of evaluations (default: `[calibrate] max_evals`).
    #[arg(long)]
    pub max_evals: Option<u32>,
    /// Print nothing but errors and the result.
    #[arg(long)]
    pub quiet: bool,
    /// Stop after N new evaluations as if killed (for tests of --resume).
    #[arg(long, hide = true)]
    pub stop_after: Option<u32>,
}

/// Runs the command.
pub fn run(a: CalibrateArgs) -> Result<i32, Failure> {
    if let Some(n) = a.threads {
        experiment::check_threads(n).map_err(|e| bad_input(format!("{e:#}")))?;
    }
    let setup = calibrate::load(&a.scenario, &a.targets)
        .map_err(|e| bad_input(e.to_string().trim_end().to_string()))?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| experiment::default_out(&a.scenario));
    let dir = out.join(CALIBRATION_DIR);
    if !a.quiet {
        let c = &setup.cal;
        eprintln!(
            "calibrating {} free parameter{} to {} targets ({} replicates per evaluation, runs of {} steps, budget {} evaluations + {} for the Jacobian) into {}",
            c.params.len(),
            if c.params.len() == 1 { "" } else { "s" },
            c.targets.len(),
            c.replicates,
            c.last_step + 1,
            a.max_evals.unwrap_or(c.max_evals),
            2 * c.params.len(),
            dir.display()
        );
    }
    let opts = Options {
        dir: dir.clone(),
        threads: threads_from(a.threads),
        resume: a.resume,
        force: a.force,
        max_evals: a.max_evals,
        stop_after: a.stop_after,
        progress: (!a.quiet).then(|| -> calibrate::ProgressLine {
            std::sync::Arc::new(|l: &str| eprintln!("{l}"))
        }),
    };
    let outcome = calibrate::calibrate(&setup, &opts).map_err(|e| {
        let msg = format!("{e:#}");
        if msg.contains("--max-evals") {
            bad_input(msg)
        } else {
            Failure::from(e)
        }
    })?;
    if outcome.stopped {
        eprintln!(
            "stopped after {} new evaluations ({} in the log); continue with --resume",
            outcome.new_evals,
            outcome.evaluations.len()
        );
        return Ok(1);
    }
    print!("{}", report::summary_text(&setup, &outcome));
    eprintln!(
        "{} evaluations ({} run now) in {:.1}s; calibrated scenario {}; results in {}",
        outcome.evaluations.len(),
        outcome.new_evals,
        outcome.wall_s,
        report::calibrated_path(&setup, &dir).display(),
        dir.display()
    );
    Ok(0)
}
