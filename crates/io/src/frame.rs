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

/// Writes a DataFrame as Parquet (zstd), atomically.
pub fn write_parquet(df: &mut DataFrame, path: &Path) -> crate::Result<()> {
    crate::atomic::write_with(path, |tmp| {
        let f = std::fs::File::create(tmp)?;
        ParquetWriter::new(f)
            .with_compression(ParquetCompression::Zstd(None))
            .with_statistics(StatisticsOptions::default())
            .finish(df)?;
        Ok(())
    })
}

/// Writes a DataFrame as CSV, atomically.
pub fn write_csv(df: &mut DataFrame, path: &Path) -> crate::Result<()> {
    crate::atomic::write_with(path, |tmp| {
        let f = std::fs::File::create(tmp)?;
        CsvWriter::new(f).include_header(true).finish(df)?;
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
