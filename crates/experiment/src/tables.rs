//! The step tables, written batch by batch as the runs' rows stream past (so no table is
//! ever whole in memory): `steps.parquet`, and on request `steps.csv` (`[output] csv = true`
//! or `run --csv`) and the long format `steps_long.parquet` / `steps_long.csv` (`[output]
//! long = true`), the last three with the label columns `scenario` and `point_label` in
//! front. `steps.parquet` itself is left as it is (its columns are what regression baselines
//! compare). Each file is staged and appears complete, or not at all.

use super::finalize::ID_COLUMNS;
use gardengate_io::atomic::Staged;
use gardengate_io::frame;
use gardengate_io::store::PlanRecord;
use gardengate_io::Result;
use polars::io::parquet::write::BatchedWriter as ParquetBatches;
use polars::prelude::*;
use std::fs::File;
use std::path::Path;

/// Rows of a Parquet row group: the runs' rows are gathered (whole runs, in plan order) until
/// there are this many, then written. 2¹⁴ rows of ~160 columns are some 20 MB in memory, and
/// the row groups depend only on the plan, never on threads, shards or resume.
pub const ROW_GROUP_ROWS: usize = 1 << 14;

/// A Parquet file being written row group by row group.
struct ParquetStream {
    staged: Staged,
    writer: Option<ParquetBatches<File>>,
    file: Option<File>,
}

impl ParquetStream {
    fn create(path: &Path) -> Result<ParquetStream> {
        let (staged, file) = Staged::create(path)?;
        Ok(ParquetStream {
            staged,
            writer: None,
            file: Some(file),
        })
    }

    fn write(&mut self, df: &DataFrame) -> Result<()> {
        if let Some(f) = self.file.take() {
            // The schema comes with the first rows.
            self.writer = Some(frame::parquet_writer(f).batched(df.schema())?);
        }
        if let Some(w) = &mut self.writer {
            w.write_batch(df)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        match &self.writer {
            Some(w) => {
                w.finish()?;
            }
            None => gardengate_io::bail!("{}: no rows", self.staged.path().display()),
        }
        drop(self.writer);
        self.staged.commit()
    }
}

/// A CSV file being written batch by batch (the header once).
struct CsvStream {
    staged: Staged,
    writer: polars::io::csv::write::BatchedWriter<File>,
}

impl CsvStream {
    fn create(path: &Path, schema: &Schema) -> Result<CsvStream> {
        let (staged, file) = Staged::create(path)?;
        Ok(CsvStream {
            staged,
            writer: CsvWriter::new(file).include_header(true).batched(schema)?,
        })
    }

    fn finish(mut self) -> Result<()> {
        self.writer.finish()?;
        drop(self.writer);
        self.staged.commit()
    }
}

/// The step tables of an out folder, open for writing.
pub struct StepTables<'a> {
    plan: &'a PlanRecord,
    pending: Vec<DataFrame>,
    pending_rows: usize,
    steps: ParquetStream,
    csv: Option<CsvStream>,
    long: Option<(ParquetStream, Option<CsvStream>)>,
}

impl<'a> StepTables<'a> {
    /// Starts the tables the plan asks for, in `out`.
    pub fn create(out: &Path, plan: &'a PlanRecord) -> Result<StepTables<'a>> {
        let cmp = &plan.comparison;
        Ok(StepTables {
            plan,
            pending: Vec::new(),
            pending_rows: 0,
            steps: ParquetStream::create(&out.join("steps.parquet"))?,
            csv: None,
            long: if cmp.long {
                Some((
                    ParquetStream::create(&out.join("steps_long.parquet"))?,
                    None,
                ))
            } else {
                None
            },
        })
    }

    /// Appends rows (one batch's runs, in plan order).
    pub fn push(&mut self, rows: DataFrame) -> Result<()> {
        self.pending_rows += rows.height();
        self.pending.push(rows);
        if self.pending_rows >= ROW_GROUP_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = frame::stack_rows(std::mem::take(&mut self.pending), "the plan's runs")?;
        self.pending_rows = 0;
        self.steps.write(&rows)?;
        if self.plan.comparison.csv {
            let mut cols = labels(self.plan, &rows)?;
            cols.extend(rows.columns().iter().cloned());
            let df = DataFrame::new(rows.height(), cols)?;
            if self.csv.is_none() {
                let path = self.steps.staged.path().with_file_name("steps.csv");
                self.csv = Some(CsvStream::create(&path, df.schema())?);
            }
            if let Some(c) = &mut self.csv {
                c.writer.write_batch(&df)?;
            }
        }
        if let Some((parquet, csv)) = &mut self.long {
            let mut df = long_frame(self.plan, &rows)?;
            df.align_chunks_par();
            parquet.write(&df)?;
            if self.plan.comparison.csv {
                if csv.is_none() {
                    *csv = Some(CsvStream::create(
                        &self.steps.staged.path().with_file_name("steps_long.csv"),
                        df.schema(),
                    )?);
                }
                if let Some(c) = csv {
                    c.writer.write_batch(&df)?;
                }
            }
        }
        Ok(())
    }

    /// Writes what is left and puts every table in place.
    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        self.steps.finish()?;
        if let Some(c) = self.csv {
            c.finish()?;
        }
        if let Some((parquet, csv)) = self.long {
            parquet.finish()?;
            if let Some(c) = csv {
                c.finish()?;
            }
        }
        Ok(())
    }
}

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
