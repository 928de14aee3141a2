//! `gardengate check` and `gardengate baseline`: loading result folders into runs and
//! reporting the comparison.

use crate::command::{bad_input, load_plan, Failure};
use clap::{Args, ValueEnum};
use gardengate_check::compare::{self, ReportFormat, StatOptions};
use gardengate_check::load::load_folder;
use gardengate_check::structure;
use gardengate_experiment::{self as experiment, BatchOptions, PlanRecord, Progress};
use gardengate_io::frame;
use std::path::{Path, PathBuf};

/// Comparison mode.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Mode {
    /// Every value identical.
    Exact,
    /// Replicate distributions compatible (Welch, or paired t when the runs share seeds, + KS; Holm-corrected, tolerance floor).
    Stat,
}

/// Report format.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Report {
    /// Terminal table.
    Table,
    /// Markdown for a pull-request comment.
    Md,
    /// JUnit XML.
    Junit,
    /// JSON.
    Json,
}

/// Flags of `check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Results folder (from `gardengate run`).
    pub results: PathBuf,
    /// Baseline folder (from `gardengate baseline`).
    #[arg(long)]
    pub baseline: PathBuf,
    /// exact or stat.
    #[arg(long, value_enum, default_value_t = Mode::Stat)]
    pub mode: Mode,
    /// Comma-separated metrics to compare (default: all).
    #[arg(long)]
    pub metrics: Option<String>,
    /// Family-wise significance level (Holm).
    #[arg(long, default_value_t = 0.01)]
    pub alpha: f64,
    /// Tolerance floor, e.g. `rel=0.02,abs=1e-9`: a drift smaller than max(abs, rel·|baseline|) never fails [default: rel=0.02,abs=1e-9].
    /// (Stat mode pairs runs by seed, paired t test, when results and baseline share seeds; else Welch.)
    #[arg(long)]
    pub tolerance: Option<String>,
    /// Steps averaged per run (default: the scenario's summary_last_steps).
    #[arg(long)]
    pub last_n: Option<usize>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Report::Table)]
    pub report: Report,
    /// Also write the report to this file.
    #[arg(long)]
    pub report_out: Option<PathBuf>,
}

/// A folder that is not what a check needs is bad input (exit 2); a failed read is exit 1.
fn check_failure(e: gardengate_check::Error) -> Failure {
    match e {
        gardengate_check::Error::Input(m) => bad_input(m),
        other => Failure::from(other),
    }
}

fn parse_tolerance(s: &str, opts: &mut StatOptions) -> Result<(), Failure> {
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| bad_input(format!("--tolerance `{part}`: expected rel=X or abs=X")))?;
        let v: f64 = v
            .trim()
            .parse()
            .map_err(|_| bad_input(format!("--tolerance `{part}`: `{v}` is not a number")))?;
        if !(v >= 0.0 && v.is_finite()) {
            return Err(bad_input(format!(
                "--tolerance `{part}`: expected a number ≥ 0"
            )));
        }
        match k.trim() {
            "rel" => opts.rel_tol = v,
            "abs" => opts.abs_tol = v,
            other => {
                return Err(bad_input(format!(
                    "--tolerance: unknown key `{other}`; expected rel or abs"
                )))
            }
        }
    }
    Ok(())
}

/// Runs `check`; exit 0 holds, 1 drift, 2 bad input.
pub fn run(a: CheckArgs) -> Result<i32, Failure> {
    let o = evaluate(&a)?;
    if let Some(n) = &o.note {
        eprintln!("{n}");
    }
    print!("{}", o.text);
    if !o.text.ends_with('\n') {
        println!();
    }
    write_report(a.report_out.as_deref(), &o.report)?;
    Ok(o.code)
}

/// What a check found, for the terminal or another front end (the Python package).
pub struct Outcome {
    /// 0 holds, 1 drift.
    pub code: i32,
    /// The report as printed.
    pub text: String,
    /// The report as written to `--report-out` (with the note, in table and markdown form).
    pub report: String,
    /// A note on columns only the results have (not compared), if any.
    pub note: Option<String>,
}

/// Compares a results folder with a baseline without printing (`--report-out` is not written).
pub fn evaluate(a: &CheckArgs) -> Result<Outcome, Failure> {
    let (rplan, mut results, rshape) = load_folder(&a.results).map_err(check_failure)?;
    let (bplan, baseline, bshape) = load_folder(&a.baseline).map_err(check_failure)?;
    if rplan.scenario_name != bplan.scenario_name || rplan.sweep_columns != bplan.sweep_columns {
        return Err(bad_input(format!(
            "the baseline is of another scenario: results are `{}` (swept: {:?}), baseline is `{}` (swept: {:?})",
            rplan.scenario_name, rplan.sweep_columns, bplan.scenario_name, bplan.sweep_columns
        )));
    }
    let labels = |p: &PlanRecord| p.points.iter().map(|x| x.label.clone()).collect::<Vec<_>>();
    if labels(&rplan) != labels(&bplan) {
        return Err(bad_input(
            "the baseline has other sweep points than the results: compare runs of the same sweep"
                .to_string(),
        ));
    }
    let format = match a.report {
        Report::Table => ReportFormat::Table,
        Report::Md => ReportFormat::Markdown,
        Report::Junit => ReportFormat::Junit,
        Report::Json => ReportFormat::Json,
    };
    // Shapes first: columns, runs and steps must match before any value is compared.
    let verdict = structure::compare(&rplan, &rshape, &bplan, &bshape);
    let note = structure::new_columns_note(&verdict);
    if !verdict.mismatches.is_empty() {
        let text = structure::render(&verdict, format);
        return Ok(Outcome {
            code: 1,
            report: text.clone(),
            text,
            note,
        });
    }
    // New columns are not compared (see `structure`): drop them from the results.
    for r in &mut results {
        r.columns.retain(|(n, _)| !verdict.new_columns.contains(n));
    }
    let (text, drift) = match a.mode {
        Mode::Exact => {
            let d = compare::exact_compare(&results, &baseline);
            (
                compare::render_exact(d.as_ref(), baseline.len(), format),
                d.is_some(),
            )
        }
        Mode::Stat => {
            let mut opts = StatOptions {
                alpha: a.alpha,
                last_n: a.last_n.unwrap_or(bplan.summary_last_steps as usize),
                ..StatOptions::default()
            };
            if let Some(t) = &a.tolerance {
                parse_tolerance(t, &mut opts)?;
            }
            if let Some(m) = &a.metrics {
                opts.metrics = Some(
                    m.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect(),
                );
            }
            let o = compare::stat_compare(&results, &baseline, &opts)
                .map_err(|e| bad_input(format!("{e:#}")))?;
            (compare::render_stat(&o, format), o.drifted > 0)
        }
    };
    let report = match (&note, format) {
        (Some(n), ReportFormat::Table | ReportFormat::Markdown) => format!("{text}\n{n}\n"),
        _ => text.clone(),
    };
    Ok(Outcome {
        code: if drift { 1 } else { 0 },
        text,
        report,
        note,
    })
}

/// Writes `--report-out`; a failure is bad input (exit 2), never drift (exit 1).
fn write_report(path: Option<&Path>, text: &str) -> Result<(), Failure> {
    if let Some(p) = path {
        gardengate_io::atomic::write_bytes(p, text.as_bytes())
            .map_err(|e| bad_input(format!("--report-out: {e:#}")))?;
    }
    Ok(())
}

/// Runs a scenario into a compact baseline folder: plan, steps, summary and a markdown digest.
pub fn baseline(
    scenario: &Path,
    out: &Path,
    threads: Option<usize>,
    force: bool,
) -> Result<i32, Failure> {
    let plan = load_plan(scenario, None, None)?;
    // Like `run`: a folder of user files or of another scenario is refused unless `force`,
    // and only gardengate's own files are ever removed.
    let opts = BatchOptions {
        out: out.to_path_buf(),
        threads,
        resume: false,
        force,
        progress: Progress::Quiet,
        shard: None,
        charts: false,
    };
    experiment::run_batch(&plan, &opts)?;
    // Keep only what a check needs; the per-run files are folded into steps.parquet.
    experiment::store::remove_own_files(out, "runs", false)?;
    let _ = std::fs::remove_file(out.join("summary.parquet"));
    let rec = PlanRecord::read(out)?;
    let sdf = frame::read_parquet(&out.join("steps.parquet"))?;
    let mut md = format!(
        "# Baseline: `{}`\n\nScenario file `{}` (sha256 `{}`), {} runs ({} points × {} replicates), {} steps, gardengate {} ({}).\n\nCheck new results against it:\n\n```\ngardengate check RESULTS --baseline {} --mode exact   # bit-identical data\ngardengate check RESULTS --baseline {} --mode stat    # same distribution\n```\n\n",
        rec.scenario_name,
        rec.scenario_file,
        &rec.scenario_hash[..16.min(rec.scenario_hash.len())],
        rec.runs.len(),
        rec.points.len(),
        rec.replicates,
        rec.steps,
        env!("CARGO_PKG_VERSION"),
        gardengate_experiment::GIT_COMMIT,
        out.display(),
        out.display()
    );
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap_or_default();
    let key = [
        "trips",
        "abandoned",
        "consumer_surplus",
        "total_welfare",
        "hhi_wallet",
        "multihoming_share",
    ];
    md.push_str(&format!(
        "Mean of the last {} steps per run, then mean ± 95% CI over replicates:\n\n| point | ",
        rec.summary_last_steps
    ));
    md.push_str(&key.join(" | "));
    md.push_str(" |\n|---|");
    md.push_str(&"---|".repeat(key.len()));
    md.push('\n');
    let mut lines = summary.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    for (k, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let get = |n: &str| {
            header
                .iter()
                .position(|h| *h == n)
                .and_then(|i| cells.get(i))
                .and_then(|v| v.parse::<f64>().ok())
        };
        md.push_str(&format!(
            "| {} |",
            rec.points.get(k).map(|p| p.label.as_str()).unwrap_or("")
        ));
        for m in key {
            match (get(&format!("{m}_mean")), get(&format!("{m}_ci95"))) {
                (Some(x), Some(c)) if c.is_finite() => md.push_str(&format!(" {x:.4} ± {c:.4} |")),
                (Some(x), _) => md.push_str(&format!(" {x:.4} |")),
                _ => md.push_str(" – |"),
            }
        }
        md.push('\n');
    }
    md.push_str(&format!(
        "\n{} rows × {} columns in steps.parquet.\n",
        sdf.height(),
        sdf.width()
    ));
    gardengate_io::atomic::write_bytes(&out.join("BASELINE.md"), md.as_bytes())?;
    println!(
        "baseline written to {} ({} runs)",
        out.display(),
        rec.runs.len()
    );
    Ok(0)
}
