//! Regression checks of model outputs against a baseline (exact and statistical).

pub mod cli;
pub mod compare;
pub mod structure;
