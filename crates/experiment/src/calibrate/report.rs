//! The files of a finished calibration, all computed from the evaluations log:
//! `evaluations.parquet` (every evaluation: index, phase, parameters, mean moments,
//! objective), `params.csv` and `best.json` (the estimates with standard errors and
//! identification), `fit.parquet` / `fit.csv` (target, observed, se, simulated, its range over
//! replicates, z), the fit chart (`fit.png`, `fit.svg`) and the calibrated scenario
//! (`<scenario>-calibrated.toml`: the scenario's text with the fitted values written in).

use super::{Outcome, Setup};
use gardengate_charts as charts;
use gardengate_core::metrics::msm;
use gardengate_core::scenario::calendar::format_date;
use gardengate_core::scenario::calibrate::write_values;
use gardengate_io::frame;
use gardengate_io::{err, Result};
use polars::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One row of the fit table.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FitRow {
    /// Target name.
    pub target: String,
    /// What is measured.
    pub measure: String,
    /// Period of the observation.
    pub period: String,
    /// Window of the model (dates, or steps without a calendar).
    pub window: String,
    /// Observed value.
    pub observed: f64,
    /// Its standard error.
    pub se: f64,
    /// Simulated value (mean over replicates).
    pub simulated: f64,
    /// Smallest replicate's value.
    pub sim_min: f64,
    /// Largest replicate's value.
    pub sim_max: f64,
    /// Standard deviation over replicates.
    pub sim_sd: f64,
    /// (simulated − observed) / √(se² + sim_sd²/R).
    pub z: f64,
    /// Source of the observation.
    pub source: String,
}

/// One fitted parameter.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ParamRow {
    /// Name.
    pub name: String,
    /// The paths it sets.
    pub paths: Vec<String>,
    /// Estimate.
    pub value: f64,
    /// Sandwich standard error (NaN when not computable).
    pub se: f64,
    /// Bounds.
    pub lo: f64,
    /// See `lo`.
    pub hi: f64,
    /// Log scale.
    pub log: bool,
    /// Start.
    pub start: f64,
    /// Whether the targets identify it.
    pub identified: bool,
    /// Why not, when not.
    pub note: String,
    /// Linearised objective change across the whole box.
    pub box_chi2: f64,
}

/// The fit table at the best evaluation.
pub fn fit_rows(setup: &Setup, out: &Outcome) -> Vec<FitRow> {
    let reps = out.evaluations[out.best].replicate_moments();
    let mean = msm::mean_moments(&reps);
    let cov = msm::covariance(&reps);
    let r = reps.len().max(1) as f64;
    let sc = &setup.base.points[0].scenario;
    let date = |s: u32| {
        if setup.base.source.start_date.is_empty() {
            format!("step {s}")
        } else {
            format_date(sc.start_date + s as i64 * sc.days_per_step.max(1) as i64)
        }
    };
    setup
        .cal
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let col: Vec<f64> = reps.iter().map(|x| x[i]).collect();
            let sd = cov[i][i].max(0.0).sqrt();
            FitRow {
                target: t.name.clone(),
                measure: t.measure.describe(),
                period: t.period.clone(),
                window: format!("{} .. {}", date(t.from), date(t.to)),
                observed: t.value,
                se: t.se,
                simulated: mean[i],
                sim_min: col.iter().copied().fold(f64::INFINITY, f64::min),
                sim_max: col.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                sim_sd: sd,
                z: (mean[i] - t.value) / (t.se * t.se + sd * sd / r).sqrt(),
                source: t.source.clone(),
            }
        })
        .collect()
}

/// The estimates with their standard errors and identification.
pub fn param_rows(setup: &Setup, out: &Outcome) -> Vec<ParamRow> {
    let theta = setup.theta(&out.evaluations[out.best].unit());
    setup
        .cal
        .params
        .iter()
        .enumerate()
        .map(|(j, p)| {
            let inf = out.inference.as_ref();
            let why = inf.and_then(|i| i.not_identified[j].clone());
            ParamRow {
                name: p.name.clone(),
                paths: p.paths.clone(),
                value: theta[j],
                se: inf.map_or(f64::NAN, |i| i.se[j]),
                lo: p.lo,
                hi: p.hi,
                log: p.log,
                start: p.start,
                identified: inf.is_some() && why.is_none(),
                note: why.unwrap_or_default(),
                box_chi2: inf.map_or(f64::NAN, |i| i.box_chi2[j]),
            }
        })
        .collect()
}

/// The evaluations as a table: `eval`, `phase`, one column per parameter, `m__<target>` per
/// target (mean over replicates), `objective`.
pub fn evaluations_frame(setup: &Setup, out: &Outcome) -> Result<DataFrame> {
    let ev = &out.evaluations;
    let n = ev.len();
    let mut cols: Vec<Column> = vec![
        Column::new(
            "eval".into(),
            ev.iter().map(|e| e.index).collect::<Vec<u32>>(),
        ),
        Column::new(
            "phase".into(),
            ev.iter().map(|e| e.phase.name()).collect::<Vec<&str>>(),
        ),
    ];
    let thetas: Vec<Vec<f64>> = ev.iter().map(|e| setup.theta(&e.unit())).collect();
    for (j, p) in setup.cal.params.iter().enumerate() {
        cols.push(Column::new(
            p.name.as_str().into(),
            thetas.iter().map(|t| t[j]).collect::<Vec<f64>>(),
        ));
    }
    let means: Vec<Vec<f64>> = ev
        .iter()
        .map(|e| msm::mean_moments(&e.replicate_moments()))
        .collect();
    for (i, t) in setup.cal.targets.iter().enumerate() {
        cols.push(Column::new(
            format!("m__{}", t.name).into(),
            means.iter().map(|m| m[i]).collect::<Vec<f64>>(),
        ));
    }
    cols.push(Column::new(
        "objective".into(),
        ev.iter()
            .map(|e| setup.objective(&e.replicate_moments()))
            .collect::<Vec<f64>>(),
    ));
    Ok(DataFrame::new(n, cols)?)
}

fn fit_frame(rows: &[FitRow]) -> Result<DataFrame> {
    let s = |f: &dyn Fn(&FitRow) -> String| rows.iter().map(f).collect::<Vec<String>>();
    let x = |f: &dyn Fn(&FitRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    Ok(DataFrame::new(
        rows.len(),
        vec![
            Column::new("target".into(), s(&|r| r.target.clone())),
            Column::new("measure".into(), s(&|r| r.measure.clone())),
            Column::new("period".into(), s(&|r| r.period.clone())),
            Column::new("window".into(), s(&|r| r.window.clone())),
            Column::new("observed".into(), x(&|r| r.observed)),
            Column::new("se".into(), x(&|r| r.se)),
            Column::new("simulated".into(), x(&|r| r.simulated)),
            Column::new("sim_min".into(), x(&|r| r.sim_min)),
            Column::new("sim_max".into(), x(&|r| r.sim_max)),
            Column::new("sim_sd".into(), x(&|r| r.sim_sd)),
            Column::new("z".into(), x(&|r| r.z)),
            Column::new("source".into(), s(&|r| r.source.clone())),
        ],
    )?)
}

fn params_frame(rows: &[ParamRow]) -> Result<DataFrame> {
    let x = |f: &dyn Fn(&ParamRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    Ok(DataFrame::new(
        rows.len(),
        vec![
            Column::new(
                "param".into(),
                rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
            ),
            Column::new("value".into(), x(&|r| r.value)),
            Column::new("se".into(), x(&|r| r.se)),
            Column::new("lo".into(), x(&|r| r.lo)),
            Column::new("hi".into(), x(&|r| r.hi)),
            Column::new("start".into(), x(&|r| r.start)),
            Column::new(
                "identified".into(),
                rows.iter().map(|r| r.identified).collect::<Vec<_>>(),
            ),
            Column::new("box_chi2".into(), x(&|r| r.box_chi2)),
            Column::new(
                "note".into(),
                rows.iter().map(|r| r.note.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "paths".into(),
                rows.iter().map(|r| r.paths.join(" ")).collect::<Vec<_>>(),
            ),
        ],
    )?)
}

/// Path of the calibrated scenario in a calibration folder.
pub fn calibrated_path(setup: &Setup, dir: &Path) -> PathBuf {
    let stem = Path::new(&setup.scenario_file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    dir.join(format!("{stem}-calibrated.toml"))
}

/// The calibrated scenario's text: the scenario's own, with the fitted values written in.
pub fn calibrated_text(setup: &Setup, out: &Outcome) -> Result<String> {
    let rows = param_rows(setup, out);
    let values: Vec<f64> = rows.iter().map(|r| r.value).collect();
    let mut header = format!(
        "# Calibrated by `gardengate calibrate {} --targets {}`:\n# the values below were fitted (method of simulated moments, {} replicates per evaluation,\n# objective {:.4} at evaluation {}); everything else is {}'s own.\n",
        setup.scenario_file,
        setup.targets_file,
        setup.cal.replicates,
        out.objective(setup, out.best),
        out.best,
        setup.scenario_file,
    );
    for r in &rows {
        let se = if r.se.is_finite() {
            format!("se {:.4}", r.se)
        } else {
            "se not computable".into()
        };
        let id = if r.identified {
            String::new()
        } else {
            format!("; NOT IDENTIFIED by the targets: {}", r.note)
        };
        header.push_str(&format!(
            "# - {} = {:.6} ({se}{id}) -> {}\n",
            r.name,
            r.value,
            r.paths.join(", ")
        ));
    }
    if !setup.cal.fixed.is_empty() {
        header.push_str("# The calibration ran with these values, which this file does not set:\n");
        for (p, v) in &setup.cal.fixed {
            header.push_str(&format!("#   {p} = {v}\n"));
        }
    }
    header.push('\n');
    write_values(&setup.scenario_text, &setup.cal.params, &values, &header)
        .map_err(|e| err!("cannot write the calibrated scenario: {e}"))
}

/// Writes every output of a finished calibration into `dir`.
pub fn write(setup: &Setup, out: &Outcome, dir: &Path) -> Result<()> {
    let mut ev = evaluations_frame(setup, out)?;
    frame::write_parquet(&mut ev, &dir.join("evaluations.parquet"))?;
    let fit = fit_rows(setup, out);
    let mut ff = fit_frame(&fit)?;
    frame::write_parquet(&mut ff, &dir.join("fit.parquet"))?;
    frame::write_csv(&mut ff, &dir.join("fit.csv"))?;
    let params = param_rows(setup, out);
    let mut pf = params_frame(&params)?;
    frame::write_csv(&mut pf, &dir.join("params.csv"))?;
    let calibrated = calibrated_path(setup, dir);
    gardengate_io::atomic::write_bytes(&calibrated, calibrated_text(setup, out)?.as_bytes())?;
    let best = serde_json::json!({
        "scenario": setup.scenario_file,
        "targets": setup.targets_file,
        "declared_in": setup.cal.declared_in,
        "calibrated_scenario": calibrated.display().to_string(),
        "objective": finite(out.objective(setup, out.best)),
        "best_evaluation": out.best,
        "evaluations": out.evaluations.len(),
        "optimiser_evaluations": out.optimiser_evals,
        "converged": out.converged,
        "replicates": setup.cal.replicates,
        "targets_count": setup.cal.targets.len(),
        "params": params.iter().map(|p| serde_json::json!({
            "name": p.name, "paths": p.paths, "value": p.value, "se": finite(p.se),
            "lo": p.lo, "hi": p.hi, "log": p.log, "start": p.start,
            "identified": p.identified, "note": p.note, "box_chi2": finite(p.box_chi2),
        })).collect::<Vec<_>>(),
        "fit": fit.iter().map(|f| serde_json::json!({
            "target": f.target, "observed": f.observed, "se": f.se,
            "simulated": finite(f.simulated), "sim_min": finite(f.sim_min),
            "sim_max": finite(f.sim_max), "z": finite(f.z),
        })).collect::<Vec<_>>(),
        "jacobian": out.jacobian.iter().map(|r| r.iter().map(|&x| finite(x)).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "wall_s": out.wall_s,
    });
    gardengate_io::atomic::write_bytes(
        &dir.join("best.json"),
        serde_json::to_string_pretty(&best)?.as_bytes(),
    )?;
    let rows: Vec<charts::FitMark> = fit
        .iter()
        .map(|f| charts::FitMark {
            label: f.target.clone(),
            observed: f.observed,
            se: f.se,
            simulated: f.simulated,
            sim_lo: f.sim_min,
            sim_hi: f.sim_max,
            z: f.z,
        })
        .collect();
    charts::fit_plot(
        &dir.join("fit"),
        &format!(
            "{}: calibrated fit (objective {:.3})",
            setup.base.source.name,
            out.objective(setup, out.best)
        ),
        &rows,
    )?;
    Ok(())
}

fn finite(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::json!(x)
    } else {
        serde_json::Value::Null
    }
}

/// The terminal summary: estimates, identification, fit.
pub fn summary_text(setup: &Setup, out: &Outcome) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "best objective {:.4} at evaluation {} ({} evaluations, {} run now; Nelder–Mead {})\n",
        out.objective(setup, out.best),
        out.best,
        out.evaluations.len(),
        out.new_evals,
        if out.converged {
            "converged"
        } else {
            "stopped by the budget"
        }
    ));
    s.push_str(&format!(
        "{:<28} {:>12} {:>10}  {:<22} identified\n",
        "parameter", "value", "se", "bounds"
    ));
    for p in param_rows(setup, out) {
        s.push_str(&format!(
            "{:<28} {:>12.5} {:>10.5}  [{:<8}, {:<8}]   {}\n",
            p.name,
            p.value,
            p.se,
            p.lo,
            p.hi,
            if p.identified {
                "yes".to_string()
            } else {
                format!("NO: {}", p.note)
            }
        ));
    }
    s.push_str(&format!(
        "{:<34} {:>9} {:>7} {:>10} {:>21} {:>7}\n",
        "target", "observed", "se", "simulated", "replicate range", "z"
    ));
    for f in fit_rows(setup, out) {
        s.push_str(&format!(
            "{:<34} {:>9.4} {:>7.4} {:>10.4}   [{:>8.4}, {:>8.4}] {:>7.2}\n",
            f.target, f.observed, f.se, f.simulated, f.sim_min, f.sim_max, f.z
        ));
    }
    s
}
