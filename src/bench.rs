//! `gardengate bench` and the plan description of `validate`: speed, time per phase, peak
//! memory, and the memory and time estimates used to refuse runs that cannot fit.

use crate::command::Failure;
use clap::Args;
use gardengate_core::engine::state::{Consumers, Merchants};
use gardengate_core::model::Simulation;
use gardengate_core::scenario::{self, GraphSpec, Plan, Scenario};
use gardengate_experiment as experiment;
use std::sync::Arc;
use std::time::Instant;

/// Flags of `bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Consumers.
    #[arg(long, default_value_t = 1_000_000)]
    pub consumers: u64,
    /// Merchants (default consumers / 10).
    #[arg(long)]
    pub merchants: Option<u64>,
    /// Steps.
    #[arg(long, default_value_t = 50)]
    pub steps: u32,
    /// Worker threads (default all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Scenario file to take the world from (default: the §7 quickstart world).
    #[arg(long)]
    pub scenario: Option<std::path::PathBuf>,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Consumer-steps per second per thread assumed by time estimates (measured on a 2-core
/// machine with the default world; see the README).
pub const RATE_PER_THREAD: f64 = 8.0e6;

/// Estimated peak heap bytes of one run of a scenario.
pub fn estimate_bytes(sc: &Scenario) -> u64 {
    let n = sc.consumers.count;
    let m = sc.merchant_count as u64;
    let nw = sc.wallets.len() as u64;
    let nc = sc.platforms.iter().filter(|p| p.commerce).count() as u64;
    let per_consumer =
        Consumers::bytes_per_consumer(nw as usize, nc as usize, sc.consumers.shop_beta.is_some())
            as u64;
    let d = match &sc.graph {
        GraphSpec::Communities { mean_degree, .. } => *mean_degree,
        GraphSpec::SmallWorld { mean_degree, .. } => *mean_degree as f64,
        GraphSpec::EdgeList { edges, .. } => edges.pairs().len() as f64 * 2.0 / n.max(1) as f64,
    };
    let graph = (4.0 * d * n as f64) as u64 + 8 * (n + 1);
    // While the graph is built: per-part degree counters, or the row lengths (8 bytes per
    // node) after them, plus the community sort.
    let build_extra = (4 * gardengate_core::engine::graph::MAX_PARTS as u64).max(8) * n
        + if matches!(sc.graph, GraphSpec::Communities { .. }) {
            16 * n
        } else {
            0
        };
    // The arrays, plus the listing cards (16 bytes; about half a listing per merchant).
    let merchants = m * Merchants::bytes_per_merchant(nc as usize) as u64 + m * 4 * 2;
    // Inbox, outboxes and chunk tallies: a few links per sharing consumer.
    let links = (n as f64 * sc.consumers.shop_prob * sc.links.share_prob * 4.0 * 16.0 * 3.0) as u64;
    let tallies = sc.steps as u64 * 2048;
    let base = 24 << 20;
    base + per_consumer * n + graph + build_extra + merchants + links + tallies
}

/// A `Key:  N kB` field of a /proc file, in bytes.
fn proc_kib(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Memory the machine has available now (MemAvailable), in bytes.
pub fn available_bytes() -> Option<u64> {
    proc_kib("/proc/meminfo", "MemAvailable:")
}

/// Peak resident set size of this process (VmHWM), in bytes.
pub fn peak_rss() -> Option<u64> {
    proc_kib("/proc/self/status", "VmHWM:")
}

/// Refuses a scenario whose estimated peak does not fit in available memory.
pub fn check_fits(sc: &Scenario) -> Result<(), Failure> {
    let need = estimate_bytes(sc);
    if let Some(avail) = available_bytes() {
        if need > avail {
            return Err(crate::command::bad_input(format!(
                "a run of this scenario needs about {:.1} GiB but only {:.1} GiB of memory is available\n  help: lower consumers.count or graph.mean_degree, or run on a bigger machine",
                gib(need),
                gib(avail)
            )));
        }
    }
    Ok(())
}

/// Memory the plan itself takes while a batch runs: every point's resolved scenario (the
/// structure, about the size of its JSON text), the one full JSON copy of point 0 (a JSON
/// value is several times its text), each point's merge patch and the run list. A
/// 100 000-point sweep of a large world holds gigabytes here before any run starts.
pub fn plan_bytes(plan: &Plan) -> u64 {
    let per_point = plan
        .points
        .first()
        .and_then(|p| serde_json::to_string_pretty(&p.scenario).ok())
        .map_or(0, |s| s.len() as u64);
    6 * per_point + plan.points.len() as u64 * (per_point + 1024) + plan.runs.len() as u64 * 64
}

/// The memory estimate of the plan's largest run.
fn largest_run_bytes(plan: &Plan) -> u64 {
    plan.points
        .iter()
        .map(|p| estimate_bytes(&p.scenario))
        .max()
        .unwrap_or(0)
}

/// Refuses a plan whose own size plus the largest run's estimate does not fit in memory.
pub fn check_plan_fits(plan: &Plan) -> Result<(), Failure> {
    let peak = largest_run_bytes(plan);
    let need = peak.saturating_add(plan_bytes(plan));
    if let Some(avail) = available_bytes() {
        if need > avail {
            return Err(crate::command::bad_input(format!(
                "this plan needs about {:.1} GiB ({:.1} GiB for the plan of {} points, {:.1} GiB for the largest run) but only {:.1} GiB of memory is available\n  help: sweep fewer points, split the sweep over several files, or run on a bigger machine",
                gib(need),
                gib(plan_bytes(plan)),
                plan.points.len(),
                gib(peak),
                gib(avail)
            )));
        }
    }
    Ok(())
}

fn gib(b: u64) -> f64 {
    b as f64 / (1u64 << 30) as f64
}

/// The resolved plan, as `validate` prints it.
pub fn describe_plan(plan: &Plan, threads: Option<usize>) -> String {
    let sc = &plan.points[0].scenario;
    let threads = threads.unwrap_or_else(rayon::current_num_threads).max(1);
    let mut s = String::new();
    s.push_str(&format!("scenario `{}` ({}): valid\n", sc.name, plan.file));
    s.push_str(&format!(
        "  world: {} consumers, {} merchants, {} ecosystems, {} platforms, {} wallets, {} events\n",
        sc.consumers.count,
        sc.merchant_count,
        sc.ecosystems.len(),
        sc.platforms.len(),
        sc.wallets.len(),
        sc.events.len()
    ));
    s.push_str(&format!(
        "  runs: {} = {} points × {} replicates, {} steps each (from {})\n",
        plan.runs.len(),
        plan.points.len(),
        plan.replicates,
        sc.steps,
        scenario::calendar::format_date(sc.start_date)
    ));
    if !plan.sweep_columns.is_empty() {
        s.push_str(&format!("  swept: {}\n", plan.sweep_columns.join(", ")));
        for p in plan.points.iter().take(20) {
            s.push_str(&format!("    point {}: {}\n", p.id, p.label));
        }
        if plan.points.len() > 20 {
            s.push_str(&format!("    … {} more points\n", plan.points.len() - 20));
        }
    }
    for e in &sc.events {
        let pend = if e.effective != e.announced {
            format!(" (announced at step {}, pending approval)", e.announced)
        } else {
            String::new()
        };
        s.push_str(&format!(
            "  event at step {} ({}): {}{pend}\n",
            e.effective,
            scenario::calendar::format_date(
                sc.start_date + e.effective as i64 * sc.days_per_step as i64
            ),
            e.label
        ));
    }
    let peak = largest_run_bytes(plan);
    let work: f64 = plan
        .runs
        .iter()
        .map(|r| {
            let p = &plan.points[r.point_id as usize].scenario;
            p.consumers.count as f64 * p.steps as f64
        })
        .sum();
    let secs = work / (RATE_PER_THREAD * threads as f64);
    let plan_mem = plan_bytes(plan);
    s.push_str(&format!(
        "  estimated peak memory per run: {:.0} MiB, plus {:.0} MiB for the plan",
        peak as f64 / (1u64 << 20) as f64,
        plan_mem as f64 / (1u64 << 20) as f64
    ));
    let peak = peak.saturating_add(plan_mem);
    if let Some(a) = available_bytes() {
        s.push_str(&format!(
            " (available: {:.0} MiB{})",
            a as f64 / (1u64 << 20) as f64,
            if peak > a { " — TOO LARGE" } else { "" }
        ));
    }
    s.push('\n');
    s.push_str(&format!(
        "  estimated time: {:.0} s with {threads} threads ({:.2e} consumer-steps)\n",
        secs.max(0.0),
        work
    ));
    s
}

/// Runs the benchmark.
pub fn run(a: BenchArgs) -> Result<i32, Failure> {
    let text = match &a.scenario {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| crate::command::bad_input(format!("{}: {e}", p.display())))?,
        None => String::new(),
    };
    let mut file: scenario::ScenarioFile =
        toml::from_str(&text).map_err(|e| crate::command::bad_input(e.to_string()))?;
    file.consumers.count = a.consumers;
    file.merchants.count = a.merchants.or(Some((a.consumers / 10).max(1)));
    file.steps = a.steps;
    file.events.retain(|e| e.step.is_none_or(|s| s < a.steps));
    file.sweep = None;
    let sc = scenario::resolve::resolve(&file, std::path::Path::new(".")).map_err(|ps| {
        let lines: Vec<String> = ps
            .iter()
            .map(|p| format!("key `{}`: {}", p.key, p.message))
            .collect();
        crate::command::bad_input(format!("bench scenario: {}", lines.join("\n  ")))
    })?;
    check_fits(&sc)?;
    let pool = experiment::thread_pool(crate::command::threads_from(a.threads))?;
    let threads = pool.current_num_threads();
    let sc = Arc::new(sc);
    let (build, steps, metrics, output, sim_bytes, parts) =
        pool.install(|| -> gardengate_io::Result<_> {
            let t0 = Instant::now();
            let mut sim = Simulation::new(sc.clone(), a.seed)?;
            let build = t0.elapsed().as_secs_f64();
            let t1 = Instant::now();
            sim.run();
            let steps = t1.elapsed().as_secs_f64();
            let t2 = Instant::now();
            let table = gardengate_core::metrics::of(&sim);
            let mut df = gardengate_io::frame::table_frame(&table)?;
            let metrics = t2.elapsed().as_secs_f64();
            let t3 = Instant::now();
            let dir = std::env::temp_dir().join(format!("gardengate-bench-{}", std::process::id()));
            gardengate_io::frame::write_parquet(&mut df, &dir.join("steps.parquet"))?;
            let _ = std::fs::remove_dir_all(&dir);
            let output = t3.elapsed().as_secs_f64();
            Ok((
                build,
                steps,
                metrics,
                output,
                sim.world().bytes(),
                sim.world().timing.clone(),
            ))
        })?;
    let cs = a.consumers as f64 * a.steps as f64;
    println!(
        "gardengate bench: {} consumers, {} merchants, {} steps, {threads} threads",
        a.consumers, sc.merchant_count, a.steps
    );
    println!("  world and graph building  {build:9.3} s");
    println!(
        "  steps                     {steps:9.3} s   ({:.2} M consumer-steps/s)",
        cs / steps / 1e6
    );
    for (name, secs) in [
        ("events, merchant revision", parts.merchants),
        ("consumers (parallel)", parts.consumers),
        ("combine, inbox merge", parts.combine),
        ("listings, stocks", parts.finish),
    ] {
        println!("    {name:<26}{secs:8.3} s");
    }
    println!("  metrics                   {metrics:9.3} s");
    println!("  output (parquet)          {output:9.3} s");
    println!(
        "  total                     {:9.3} s",
        build + steps + metrics + output
    );
    println!(
        "  state + graph             {:9.1} MiB",
        sim_bytes as f64 / (1u64 << 20) as f64
    );
    println!(
        "  estimated peak            {:9.1} MiB",
        estimate_bytes(&sc) as f64 / (1u64 << 20) as f64
    );
    if let Some(p) = peak_rss() {
        println!(
            "  peak RSS                  {:9.1} MiB",
            p as f64 / (1u64 << 20) as f64
        );
    }
    println!("consumer_steps_per_s={:.0}", cs / steps);
    Ok(0)
}
