//! gardengate-io: files. Dataframes of the per-step metrics, Parquet and CSV, writes that are
//! atomic (temp file + rename), and the out folder (plan, per-run files, resume, ownership).

pub mod atomic;
pub mod frame;
pub mod store;
