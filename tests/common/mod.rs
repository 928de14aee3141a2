//! Helpers shared by the integration tests.
#![allow(dead_code)]

use gardengate::model::{Simulation, Tally};
use gardengate::scenario::{self, Scenario};
use std::sync::Arc;

/// Resolves a scenario written inline (the first point).
pub fn scenario(text: &str) -> Scenario {
    match scenario::from_text(text, "test.toml", std::path::Path::new(".")) {
        Ok(p) => p.points[0].scenario.clone(),
        Err(e) => panic!("{e}"),
    }
}

/// Runs a scenario with a seed; returns the simulation.
pub fn run(sc: &Scenario, seed: u64) -> Simulation {
    let mut sim = Simulation::new(Arc::new(sc.clone()), seed).expect("world builds");
    sim.run();
    sim
}

/// Runs inside a pool of `threads` threads.
pub fn run_threads(sc: &Scenario, seed: u64, threads: usize) -> Simulation {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool")
        .install(|| run(sc, seed))
}

/// Mean and standard error of a sample.
pub fn mean_se(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// Sum of a tally field over steps.
pub fn total(sim: &Simulation, f: impl Fn(&Tally) -> u64) -> u64 {
    sim.tallies().iter().map(f).sum()
}

/// Every metric column of a simulation as bit patterns (for bit-identity comparisons).
pub fn bits(sim: &Simulation) -> Vec<(String, Vec<u64>)> {
    gardengate::metrics::of(sim)
        .columns
        .iter()
        .map(|(n, v)| {
            (
                n.clone(),
                (0..v.len()).map(|k| v.get_f64(k).to_bits()).collect(),
            )
        })
        .collect()
}
