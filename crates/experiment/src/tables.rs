//! Step tables on request: `steps.csv` (`[output] csv = true` or `run --csv`) and the long
//! format `steps_long.parquet` / `steps_long.csv` (`[output] long = true`), both with the label
//! columns `scenario` and `point_label` in front. `steps.parquet` itself is left as it is (its
//! columns are what regression baselines compare).

use super::finalize::ID_COLUMNS;
use gardengate_io::frame;
use gardengate_io::store::PlanRecord;
use gardengate_io::Result;
use polars::prelude::*;
use std::path::Path;

/// Label columns of the CSV and long tables.
pub const LABEL_COLUMNS: [&str; 2] = ["scenario", "point_label"];

/// The label columns for the rows of `steps` (one value per row, from `point_id`).
fn labels(plan: &PlanRecord, steps: &DataFrame) -> Result<Vec<Column>> {
    let ids = steps
        .column("point_id")?
        .as_materialized_series()
        .u32()?
        .clone();
    let point_label: Vec<&str> = ids
        .iter()
        .map(|id| {
            id.and_then(|i| plan.points.get(i as usize))
                .map_or("", |p| p.label.as_str())
        })
        .collect();
    Ok(vec![
        Column::new(
            "scenario".into(),
            vec![plan.scenario_name.as_str(); steps.height()],
        ),
        Column::new("point_label".into(), point_label),
    ])
}

/// Writes the tables the plan asks for.
pub fn extra_outputs(out: &Path, plan: &PlanRecord, steps: &mut DataFrame) -> Result<()> {
    let cmp = &plan.comparison;
    if cmp.csv {
        let mut cols = labels(plan, steps)?;
        cols.extend(steps.columns().iter().cloned());
        let mut df = DataFrame::new(steps.height(), cols)?;
        frame::write_csv(&mut df, &out.join("steps.csv"))?;
    }
    if cmp.long {
        let mut df = long_frame(plan, steps)?;
        frame::write_parquet(&mut df, &out.join("steps_long.parquet"))?;
        if cmp.csv {
            frame::write_csv(&mut df, &out.join("steps_long.csv"))?;
        }
    }
    Ok(())
}

/// The long format: one row per (run, step, metric column), in that order, with the metric
/// split at its first `__` into `metric` and `entity` (`gmv_share__taobao` → `gmv_share`,
/// `taobao`; `pay__taobao__alipay` → `pay`, `taobao__alipay`; no entity: empty).
pub fn long_frame(plan: &PlanRecord, steps: &DataFrame) -> Result<DataFrame> {
    let metric_cols: Vec<&Column> = steps
        .columns()
        .iter()
        .filter(|c| {
            let n = c.name().as_str();
            !ID_COLUMNS.contains(&n)
                && !plan.sweep_columns.iter().any(|s| s == n)
                && c.dtype().is_primitive_numeric()
        })
        .collect();
    let values: Vec<Vec<f64>> = metric_cols
        .iter()
        .map(|c| -> Result<Vec<f64>> {
            let s = c.as_materialized_series().cast(&DataType::Float64)?;
            Ok(s.f64()?.iter().map(|x| x.unwrap_or(f64::NAN)).collect())
        })
        .collect::<Result<_>>()?;
    let names: Vec<(String, String)> = metric_cols
        .iter()
        .map(|c| {
            let n = c.name().as_str();
            match n.split_once("__") {
                Some((m, e)) => (m.to_string(), e.to_string()),
                None => (n.to_string(), String::new()),
            }
        })
        .collect();
    let h = steps.height();
    let k = metric_cols.len();
    let rep = |c: &Column| -> Result<Column> {
        // Each row of `steps` repeated once per metric.
        let idx: Vec<IdxSize> = (0..h as IdxSize)
            .flat_map(|i| std::iter::repeat_n(i, k))
            .collect();
        let idx = IdxCa::from_vec("".into(), idx);
        Ok(c.take(&idx)?)
    };
    let label_cols = labels(plan, steps)?;
    let mut cols = Vec::new();
    for c in &label_cols {
        cols.push(rep(c)?);
    }
    for name in ["run_id", "point_id", "replicate", "step", "date"] {
        cols.push(rep(steps.column(name)?)?);
    }
    for s in &plan.sweep_columns {
        cols.push(rep(steps.column(s)?)?);
    }
    let mut metric = Vec::with_capacity(h * k);
    let mut entity = Vec::with_capacity(h * k);
    let mut value = Vec::with_capacity(h * k);
    for i in 0..h {
        for (col, (m, e)) in values.iter().zip(&names) {
            metric.push(m.as_str());
            entity.push(e.as_str());
            value.push(col[i]);
        }
    }
    cols.push(Column::new("metric".into(), metric));
    cols.push(Column::new("entity".into(), entity));
    cols.push(Column::new("value".into(), value));
    Ok(DataFrame::new(h * k, cols)?)
}
