//! Benchmarks of the step kernel and of graph generation (`cargo bench`).
//! Speed targets are measured with `gardengate bench`; these track the pieces.

use gardengate::engine::graph;
use gardengate::{scenario, Simulation};
use std::sync::Arc;

fn main() {
    divan::main();
}

fn world(n: u64) -> Simulation {
    let plan = scenario::from_text(
        &format!("steps = 1000\n[consumers]\ncount = {n}\n"),
        "bench.toml",
        ".".as_ref(),
    )
    .expect("valid scenario");
    Simulation::new(Arc::new(plan.points[0].scenario.clone()), 1).expect("world")
}

/// One step of the default world (after 10 warm-up steps), per consumer count.
#[divan::bench(args = [10_000, 100_000, 1_000_000], sample_count = 10)]
fn step(bencher: divan::Bencher, n: u64) {
    let mut sim = world(n);
    for _ in 0..10 {
        sim.step();
    }
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench_local(|| {
            sim.step();
        });
}

/// The communities generator (mean degree 20, communities of 100).
#[divan::bench(args = [100_000, 1_000_000], sample_count = 5)]
fn communities(bencher: divan::Bencher, n: u32) {
    let home: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
    bencher.bench(|| graph::communities(n, 20.0, 100, 0.8, 0.7, &home, &[0.45, 0.4, 0.15], 1));
}

/// The small-world generator (mean degree 20).
#[divan::bench(args = [100_000, 1_000_000], sample_count = 5)]
fn small_world(bencher: divan::Bencher, n: u32) {
    bencher.bench(|| graph::small_world(n, 20, 0.1, 1));
}
