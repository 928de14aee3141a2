//! Polars dataframes of metrics, and Parquet/CSV files.

use gardengate_core::metrics::{self, MetricTable, Values};
use gardengate_core::model::Simulation;
use polars::prelude::*;
use std::path::Path;

/// The per-step metrics of a finished (or partly run) simulation as a DataFrame, one row per
/// step: `step`, `date` (a Date), then every metric.
pub fn run_frame(sim: &Simulation) -> PolarsResult<DataFrame> {
    table_frame(&metrics::of(sim))
}

/// Converts a metric table to a DataFrame.
pub fn table_frame(t: &MetricTable) -> PolarsResult<DataFrame> {
    let mut cols: Vec<Column> = Vec::with_capacity(t.columns.len());
    for (name, v) in &t.columns {
        let c = match v {
            Values::Int(x) if name == "date" => Column::new(
                name.into(),
                x.iter().map(|&d| d as i32).collect::<Vec<i32>>(),
            )
            .cast(&DataType::Date)?,
            Values::Int(x) => Column::new(name.into(), x),
            Values::Float(x) => Column::new(name.into(), x),
        };
        cols.push(c);
    }
    DataFrame::new(t.rows(), cols)
}

/// The Parquet writer of every result file: zstd, with statistics.
pub fn parquet_writer<W: std::io::Write>(w: W) -> ParquetWriter<W> {
    ParquetWriter::new(w)
        .with_compression(ParquetCompression::Zstd(None))
        .with_statistics(StatisticsOptions::default())
}

/// Writes a DataFrame as Parquet (zstd), atomically.
pub fn write_parquet(df: &mut DataFrame, path: &Path) -> crate::Result<()> {
    write_parquet_compressed(df, path, ParquetCompression::Zstd(None))
}

/// Writes the rows of a batch of runs (`runs/`), atomically: LZ4, which writes and reads
/// several times faster than zstd for files of a few hundred kilobytes, each written once and
/// read back when the out folder is assembled (zstd was a sixth of a small design's time
/// outside its steps). Still plain Parquet, with statistics.
pub fn write_run_parquet(df: &mut DataFrame, path: &Path) -> crate::Result<()> {
    write_parquet_compressed(df, path, ParquetCompression::Lz4Raw)
}

fn write_parquet_compressed(
    df: &mut DataFrame,
    path: &Path,
    compression: ParquetCompression,
) -> crate::Result<()> {
    crate::atomic::write_with(path, |tmp| {
        // Polars writes a Parquet file in many small pieces (a page header, a page, ...):
        // unbuffered, a 1 600-row batch file took thousands of `write` calls.
        let mut f = std::io::BufWriter::new(std::fs::File::create(tmp)?);
        parquet_writer(&mut f)
            .with_compression(compression)
            .finish(df)?;
        f.into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        Ok(())
    })
}

/// Writes a DataFrame as CSV, atomically.
pub fn write_csv(df: &mut DataFrame, path: &Path) -> crate::Result<()> {
    crate::atomic::write_with(path, |tmp| {
        let mut f = std::io::BufWriter::new(std::fs::File::create(tmp)?);
        CsvWriter::new(&mut f).include_header(true).finish(df)?;
        f.into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        Ok(())
    })
}

/// Reads a Parquet file.
pub fn read_parquet(path: &Path) -> crate::Result<DataFrame> {
    let f =
        std::fs::File::open(path).map_err(|e| crate::err!("reading {}: {e}", path.display()))?;
    ParquetReader::new(f).finish().map_err(|e| {
        crate::err!(
            "reading {}: not a complete Parquet file: {e}",
            path.display()
        )
    })
}

/// Identifier columns of a run frame (besides swept parameters).
pub const ID_COLUMNS: [&str; 6] = ["run_id", "point_id", "replicate", "seed", "step", "date"];

/// One run's per-step metric columns, read back from its rows: what the summary, the effects,
/// the charts and the regression checks all read (one type for all of them).
#[derive(Debug, Clone, PartialEq)]
pub struct RunColumns {
    /// Run id.
    pub run_id: u32,
    /// Point id.
    pub point_id: u32,
    /// Replicate within the point.
    pub replicate: u32,
    /// The run's seed.
    pub seed: u64,
    /// The point's label, e.g. "tau=0.2, gamma_wallet=3" (for reports).
    pub point_label: String,
    /// Steps of the rows.
    pub steps: Vec<i64>,
    /// Metric columns (name, values per step), in file order.
    pub columns: Vec<(String, Vec<f64>)>,
}

impl RunColumns {
    /// The run `spec`'s columns from its rows `df` (swept-parameter columns left out).
    pub fn of_run(
        spec: &gardengate_core::scenario::RunSpec,
        point_label: String,
        df: &DataFrame,
        sweep: &[String],
    ) -> crate::Result<RunColumns> {
        let steps = df
            .column("step")?
            .as_materialized_series()
            .cast(&DataType::Int64)?
            .i64()?
            .iter()
            .map(|x| x.unwrap_or(0))
            .collect();
        Ok(RunColumns {
            run_id: spec.run_id,
            point_id: spec.point_id,
            replicate: spec.replicate,
            seed: spec.seed,
            point_label,
            steps,
            columns: metric_values(df, sweep)?,
        })
    }

    /// A column by name.
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.columns
            .iter()
            .find(|c| c.0 == name)
            .map(|c| c.1.as_slice())
    }
}

/// Numeric metric columns of a run frame as f64, in order.
pub fn metric_values(df: &DataFrame, sweep: &[String]) -> crate::Result<Vec<(String, Vec<f64>)>> {
    let mut out = Vec::new();
    for c in df.columns() {
        let name = c.name().as_str();
        if ID_COLUMNS.contains(&name)
            || sweep.iter().any(|s| s == name)
            || !c.dtype().is_primitive_numeric()
        {
            continue;
        }
        let s = c.as_materialized_series().cast(&DataType::Float64)?;
        let v: Vec<f64> = s.f64()?.iter().map(|x| x.unwrap_or(f64::NAN)).collect();
        out.push((name.to_string(), v));
    }
    Ok(out)
}

/// The rows of `frames` one after another, in order, in one frame with aligned chunks (the
/// steps table from its runs' or batches' rows). `what` names the rows in the error when
/// there are none.
pub fn stack_rows(frames: Vec<DataFrame>, what: &str) -> crate::Result<DataFrame> {
    let mut it = frames.into_iter();
    let mut all = it.next().ok_or_else(|| crate::err!("{what}: no rows"))?;
    for df in it {
        all.vstack_mut(&df)?;
    }
    all.align_chunks_par();
    Ok(all)
}
