//! Output: dataframes, files written atomically, charts.

pub mod atomic;
pub mod charts;
pub mod frame;
pub mod sensitivity_charts;
