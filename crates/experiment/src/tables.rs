//! The step tables, written batch by batch as the runs' rows stream past (so no table is
//! ever whole in memory): `steps.parquet`, and on request `steps.csv` (`[output] csv = true`
//! or `run --csv`) and the long format `steps_long.parquet` / `steps_long.csv` (`[output]
//! long = true`), the last three with the label columns `scenario` and `point_label` in
//! front. `steps.parquet` itself is left as it is (its columns are what regression baselines
//! compare). Each file is staged and appears complete, or not at all.

use super::finalize::ID_COLUMNS;
use gardengate_io::atomic::{Staged, StagedFile};
use gardengate_io::frame;
use gardengate_io::store::PlanRecord;
use gardengate_io::Result;
use polars::io::parquet::write::BatchedWriter as ParquetBatches;
use polars::prelude::*;
use std::path::Path;

/// Rows of a Parquet row group: the runs' rows are gathered (whole runs, in plan order) until
/// there are this many, then written. 2¹⁶ rows of ~160 columns are some 80 MB in memory, and
/// the row groups depend only on the plan, never on threads, shards or resume.
pub const ROW_GROUP_ROWS: usize = 1 << 16;

/// A Parquet file being written row group by row group.
struct ParquetStream {
    staged: Staged,
    writer: Option<ParquetBatches<StagedFile>>,
    file: Option<StagedFile>,
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
    writer: polars::io::csv::write::BatchedWriter<StagedFile>,
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
    group_rows: usize,
    pending: Vec<DataFrame>,
    pending_rows: usize,
    steps: ParquetStream,
    csv: Option<CsvStream>,
    long: Option<(ParquetStream, Option<CsvStream>)>,
}

impl<'a> StepTables<'a> {
    /// Starts the tables the plan asks for, in `out`, in row groups of [`ROW_GROUP_ROWS`].
    pub fn create(out: &Path, plan: &'a PlanRecord) -> Result<StepTables<'a>> {
        Self::with_row_groups(out, plan, ROW_GROUP_ROWS)
    }

    /// [`StepTables::create`] with row groups of at least `group_rows` rows (whole runs).
    pub fn with_row_groups(
        out: &Path,
        plan: &'a PlanRecord,
        group_rows: usize,
    ) -> Result<StepTables<'a>> {
        let cmp = &plan.comparison;
        Ok(StepTables {
            plan,
            group_rows,
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
        if self.pending_rows >= self.group_rows {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut rows = frame::stack_rows(std::mem::take(&mut self.pending), "the plan's runs")?;
        // One chunk: polars writes a row group per chunk (50-row groups made a 10 000-run
        // design's steps.parquet 30 times larger and minutes slower).
        rows.rechunk_mut_par();
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
            df.rechunk_mut_par();
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::sync::atomic::AtomicBool;

    /// The plan of a scenario text and its steps table, run in memory.
    fn plan_and_steps(text: &str) -> (PlanRecord, DataFrame) {
        let plan =
            gardengate_core::scenario::from_text(text, "t.toml", ".".as_ref()).expect("scenario");
        let progress = crate::Progress::Quiet;
        let steps =
            crate::run_in_memory(&plan, Some(2), &progress, &AtomicBool::new(false)).expect("runs");
        (PlanRecord::from_plan(&plan, 1), steps)
    }

    /// 20 runs × 6 steps in row groups of at least 25 rows (5 runs): 4 groups, so every table
    /// is written in several pieces.
    #[test]
    fn tables_written_in_pieces_equal_the_rows_in_memory() {
        let text = "name = \"pieces\"\nsteps = 6\n[consumers]\ncount = 80\n[output]\ncsv = true\nlong = true\n[sweep]\nreplicates = 20\n";
        let (record, steps) = plan_and_steps(text);
        let dir = tempfile::tempdir().unwrap();
        let mut t = StepTables::with_row_groups(dir.path(), &record, 25).unwrap();
        for r in 0..20 {
            t.push(steps.slice(r * 6, 6)).unwrap();
        }
        t.finish().unwrap();
        let f = File::open(dir.path().join("steps.parquet")).unwrap();
        let mut reader = ParquetReader::new(f);
        assert_eq!(reader.get_metadata().unwrap().row_groups.len(), 4);
        let back = reader.finish().unwrap();
        assert!(back.equals_missing(&steps), "steps.parquet differs");
        // The CSV: one header, then every row in order.
        let csv = std::fs::read_to_string(dir.path().join("steps.csv")).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 121);
        assert!(lines[0].starts_with("scenario,point_label,run_id,"));
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("scenario,")).count(),
            1
        );
        // The long tables equal the long format of all the rows at once.
        let mut whole = long_frame(&record, &steps).unwrap();
        let long = frame::read_parquet(&dir.path().join("steps_long.parquet")).unwrap();
        assert!(long.equals_missing(&whole), "steps_long.parquet differs");
        let long_csv = std::fs::read_to_string(dir.path().join("steps_long.csv")).unwrap();
        let one = dir.path().join("one.csv");
        frame::write_csv(&mut whole, &one).unwrap();
        assert_eq!(long_csv, std::fs::read_to_string(&one).unwrap());
        // Nothing staged is left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    }

    #[test]
    fn tables_left_unfinished_leave_no_file() {
        let text = "name = \"cut\"\nsteps = 4\n[consumers]\ncount = 80\n";
        let (record, steps) = plan_and_steps(text);
        let dir = tempfile::tempdir().unwrap();
        let mut t = StepTables::with_row_groups(dir.path(), &record, 1).unwrap();
        t.push(steps).unwrap();
        drop(t);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
