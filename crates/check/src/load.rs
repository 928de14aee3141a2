//! Loading a results or baseline folder into runs (one [`RunColumns`] per run) and its shape.

use crate::compare::RunColumns;
use crate::structure::Shape;
use crate::Error;
use gardengate_experiment::finalize;
use gardengate_io::frame;
use gardengate_io::store::PlanRecord;
use polars::prelude::*;
use std::path::Path;

/// Loads the runs of a results or baseline folder.
pub fn load_runs(dir: &Path) -> Result<(PlanRecord, Vec<RunColumns>), Error> {
    load_folder(dir).map(|(p, r, _)| (p, r))
}

/// Loads the runs of a results or baseline folder and its shape (column types, steps per
/// run) for the structural checks.
pub fn load_folder(dir: &Path) -> Result<(PlanRecord, Vec<RunColumns>, Shape), Error> {
    if !dir.is_dir() {
        return Err(Error::input(format!("{}: no such folder", dir.display())));
    }
    let plan = PlanRecord::read(dir).map_err(|e| Error::input(format!("{e:#}")))?;
    let steps = dir.join("steps.parquet");
    if !steps.is_file() {
        return Err(Error::input(format!(
            "{}: missing (did the run finish? try `gardengate merge {}`)",
            steps.display(),
            dir.display()
        )));
    }
    let df = frame::read_parquet(&steps).map_err(|e| Error::input(format!("{e:#}")))?;
    let col_u = |name: &str| -> Result<Vec<u64>, Error> {
        let c = df
            .column(name)
            .map_err(|_| Error::input(format!("{}: no `{name}` column", steps.display())))?;
        let s = c
            .as_materialized_series()
            .cast(&DataType::UInt64)
            .map_err(|e| Error::input(e.to_string()))?;
        Ok(s.u64()
            .map_err(|e| Error::input(e.to_string()))?
            .iter()
            .map(|x| x.unwrap_or(0))
            .collect())
    };
    let run_ids = col_u("run_id")?;
    let step = col_u("step")?;
    let mut shape = Shape {
        columns: df
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), format!("{}", c.dtype())))
            .collect(),
        ..Shape::default()
    };
    for (&id, &s) in run_ids.iter().zip(&step) {
        shape.steps.entry(id).or_default().push(s);
    }
    let seeds = col_u("seed")?;
    let values = finalize::metric_values(&df, &plan.sweep_columns)
        .map_err(|e| Error::input(e.to_string()))?;
    let mut runs = Vec::new();
    for spec in &plan.runs {
        let rows: Vec<usize> = (0..run_ids.len())
            .filter(|&k| run_ids[k] == spec.run_id as u64)
            .collect();
        if rows.is_empty() {
            continue;
        }
        runs.push(RunColumns {
            run_id: spec.run_id,
            point_id: spec.point_id,
            replicate: spec.replicate,
            seed: seeds[rows[0]],
            point_label: finalize::point_label(&plan, spec.point_id),
            steps: rows.iter().map(|&k| step[k] as i64).collect(),
            columns: values
                .iter()
                .map(|(n, v)| (n.clone(), rows.iter().map(|&k| v[k]).collect()))
                .collect(),
        });
    }
    Ok((plan, runs, shape))
}
