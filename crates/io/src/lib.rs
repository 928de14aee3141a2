//! gardengate-io: files. Dataframes of the per-step metrics, Parquet and CSV, writes that are
//! atomic (temp file + rename), and the out folder (plan, per-run files, resume, ownership).

pub mod atomic;
mod error;
pub mod frame;
pub mod store;

pub use error::{Context, Error, Result};
