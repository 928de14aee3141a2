//! Issue 16, throughput: small runs go side by side and share batch files. A design's runs are
//! bit-identical to one-at-a-time runs, whatever the thread count, shard split or resume; a
//! file may declare several designs; a design may analyse a variant's paired effect.

mod common;

use gardengate::experiment::{self, run_batch, store, BatchOptions, PlanRecord, Progress};
use gardengate::output::frame::read_parquet;
use gardengate::scenario::{self, Plan};
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_gardengate");

/// 32 samples × 2 replicates = 64 runs of a tiny world: 4 runs per batch file, 16 batches.
const DESIGN: &str = r#"
name = "batched-design"
seed = 9
steps = 6
summary_last_steps = 3
[consumers]
count = 400
[design]
method = "lhs"
n = 32
replicates = 2
metrics = ["consumer_surplus"]
[[design.param]]
path = "links.share_prob"
bounds = [0.05, 0.4]
[[design.param]]
path = "policy.tau"
bounds = [0.05, 0.5]
"#;

fn plan_of(text: &str) -> Plan {
    scenario::from_text(text, "design.toml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

fn opts(out: &Path, threads: usize, shard: Option<(u32, u32)>, resume: bool) -> BatchOptions {
    BatchOptions {
        out: out.to_path_buf(),
        threads: Some(threads),
        resume,
        force: false,
        progress: Progress::Quiet,
        shard,
        charts: false,
    }
}

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The files whose bytes must not depend on how the runs were scheduled.
const SAME: [&str; 4] = [
    "steps.parquet",
    "summary.parquet",
    "summary.csv",
    "sensitivity.csv",
];

fn assert_same(a: &Path, b: &Path, what: &str) {
    for f in SAME {
        assert!(
            bytes(&a.join(f)) == bytes(&b.join(f)),
            "{what}: {f} differs"
        );
    }
    let rec = PlanRecord::read(a).unwrap();
    for k in 0..rec.batches() {
        assert!(
            bytes(&store::batch_parquet(a, &rec, k)) == bytes(&store::batch_parquet(b, &rec, k)),
            "{what}: batch {k}'s rows differ"
        );
    }
}

#[test]
fn small_runs_share_batch_files_bit_identical_to_runs_one_at_a_time() {
    let plan = plan_of(DESIGN);
    let rec = PlanRecord::from_plan(&plan, 1);
    assert_eq!(plan.runs.len(), 64);
    assert_eq!(rec.batch_size(), 4, "64 tiny runs: 4 per file");
    assert_eq!(rec.batches(), 16);
    assert_eq!(store::batch_runs_for(&plan), rec.batch_runs);

    let tmp = tempfile::tempdir().unwrap();
    let one = tmp.path().join("one");
    let two = tmp.path().join("two");
    let r1 = run_batch(&plan, &opts(&one, 1, None, false)).expect("1 thread");
    let r2 = run_batch(&plan, &opts(&two, 2, None, false)).expect("2 threads");
    assert_eq!((r1.ran, r2.ran), (64, 64));
    assert_same(&one, &two, "1 vs 2 threads");

    // One file per batch, recognised as gardengate's own; no per-run files.
    let names: Vec<String> = std::fs::read_dir(one.join("runs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 32, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("batch-")), "{names:?}");
    assert!(names.iter().all(|n| store::is_own_file("runs", n)));
    assert!(!store::is_own_file("runs", "batch-12.parquet"));

    // Every run's rows in its batch equal the run computed alone, one at a time.
    let rec = PlanRecord::read(&one).unwrap();
    for k in [0, 7, 15] {
        for (spec, part) in store::read_batch(&one, &rec, k).expect("batch reads") {
            let point = &plan.points[spec.point_id as usize];
            let sim = common::run_threads(&point.scenario, spec.seed, 1);
            let alone = experiment::run_frame(&spec, &point.params, &gardengate::metrics::of(&sim))
                .unwrap();
            assert!(
                alone.equals_missing(&part),
                "run {} differs from its run alone",
                spec.run_id
            );
        }
    }
}

#[test]
fn a_plan_run_in_memory_gives_steps_parquets_rows_bit_for_bit() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    let plan = plan_of(DESIGN);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("folder");
    run_batch(&plan, &opts(&out, 2, None, false)).expect("into a folder");
    let on_disk = read_parquet(&out.join("steps.parquet")).unwrap();
    let finished = Arc::new(AtomicUsize::new(0));
    let f = finished.clone();
    let progress = Progress::Report(Arc::new(move |e: &experiment::ProgressEvent| {
        if matches!(e, experiment::ProgressEvent::RunFinished { .. }) {
            f.fetch_add(1, Ordering::Relaxed);
        }
    }));
    for threads in [1, 2] {
        let mem =
            experiment::run_in_memory(&plan, Some(threads), &progress, &AtomicBool::new(false))
                .expect("in memory");
        assert_eq!(mem.height(), 64 * 6);
        assert!(
            mem.equals_missing(&on_disk),
            "{threads} thread(s): the in-memory steps differ from steps.parquet"
        );
    }
    assert_eq!(
        finished.load(Ordering::Relaxed),
        2 * 64,
        "one report per run"
    );
    // A cancelled run stops with an error that says so, and keeps nothing.
    let e = experiment::run_in_memory(&plan, Some(2), &Progress::Quiet, &AtomicBool::new(true))
        .unwrap_err();
    assert!(e.is_interrupted(), "{e}");
}

#[test]
fn batches_resume_and_shard_to_the_same_bytes() {
    let plan = plan_of(DESIGN);
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    run_batch(&plan, &opts(&whole, 2, None, false)).expect("whole");

    // Shards: batch k goes to shard k mod 3; each shard alone, then merge.
    let sharded = tmp.path().join("sharded");
    for i in 0..3 {
        let r = run_batch(&plan, &opts(&sharded, 1, Some((i, 3)), false)).expect("shard");
        let rec = PlanRecord::read(&sharded).unwrap();
        let expected: usize = rec
            .shard_batches(i)
            .iter()
            .map(|&k| rec.batch(k).len())
            .sum();
        assert_eq!(r.ran, expected, "shard {i}");
        assert_eq!(rec.shard_runs(i).len(), expected);
    }
    gardengate::cluster::merge(&sharded, false).expect("merge");
    assert_same(&whole, &sharded, "whole vs 3 shards");

    // A kill leaves batches half done: one without its record, one truncated, one only a
    // temporary file. --resume runs exactly those three batches again.
    let rec = PlanRecord::read(&whole).unwrap();
    std::fs::remove_file(store::batch_json(&whole, &rec, 2)).unwrap();
    let pq = store::batch_parquet(&whole, &rec, 9);
    let b = bytes(&pq);
    std::fs::write(&pq, &b[..b.len() / 2]).unwrap();
    let last = store::batch_parquet(&whole, &rec, 15);
    std::fs::rename(&last, gardengate::output::atomic::temp_path(&last)).unwrap();
    std::fs::remove_file(store::batch_json(&whole, &rec, 15)).unwrap();
    let msg = format!(
        "{:#}",
        experiment::finalize::finalize(&whole, 1, false).expect_err("incomplete")
    );
    assert!(msg.contains("runs are not finished"), "{msg}");
    let r = run_batch(&plan, &opts(&whole, 2, None, true)).expect("resume");
    assert_eq!((r.ran, r.skipped), (12, 52), "three batches of 4 run again");
    assert_same(&whole, &sharded, "resumed vs shards");
}

#[test]
fn a_folder_of_one_file_per_run_keeps_its_layout_on_resume() {
    // Plans written before batches (no `batch_runs` key) mean one file per run.
    let plan = plan_of(DESIGN);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("old");
    let rec = PlanRecord::from_plan(&plan, 1);
    std::fs::create_dir_all(&out).unwrap();
    let mut json = serde_json::to_value(&rec).unwrap();
    json.as_object_mut().unwrap().remove("batch_runs");
    std::fs::write(out.join("plan.json"), json.to_string()).unwrap();
    assert_eq!(PlanRecord::read(&out).unwrap().batch_size(), 1);
    let r = run_batch(&plan, &opts(&out, 2, None, true)).expect("resume an old folder");
    assert_eq!(r.ran, 64);
    assert!(out.join("runs/run-000063.parquet").is_file());
    let fresh = tmp.path().join("fresh");
    run_batch(&plan, &opts(&fresh, 1, None, false)).unwrap();
    for f in SAME {
        assert!(bytes(&out.join(f)) == bytes(&fresh.join(f)), "{f}");
    }
}

fn gg(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().expect("binary runs")
}

const TWO_DESIGNS: &str = r#"
name = "two-designs"
seed = 3
steps = 8
summary_last_steps = 3
[consumers]
count = 300
[[designs]]
name = "screen"
method = "morris"
n = 2
levels = 4
replicates = 1
[[designs.param]]
path = "links.share_prob"
bounds = [0.05, 0.4]
[[designs.param]]
path = "policy.tau"
bounds = [0.05, 0.5]
[[designs]]
name = "indices"
method = "sobol"
n = 4
replicates = 1
[[designs.param]]
path = "links.share_prob"
bounds = [0.05, 0.4]
[[designs.param]]
path = "policy.tau"
bounds = [0.05, 0.5]
"#;

#[test]
fn one_file_declares_several_designs_and_one_command_runs_them() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = tmp.path().join("two.toml");
    std::fs::write(&sc, TWO_DESIGNS).unwrap();
    let out = tmp.path().join("out");
    let (s, o) = (sc.to_str().unwrap(), out.to_str().unwrap());
    let r = gg(&["run", s, "--out", o, "--quiet", "--no-charts"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let screen = std::fs::read_to_string(out.join("screen/sensitivity.csv")).unwrap();
    assert!(
        screen.contains(",morris,policy__tau,\"\",mu_star,"),
        "{screen}"
    );
    let indices = std::fs::read_to_string(out.join("indices/sensitivity.csv")).unwrap();
    assert!(indices.contains(",sobol,policy__tau,\"\",ST,"), "{indices}");
    assert_eq!(
        std::fs::read_to_string(out.join("indices/design.csv"))
            .unwrap()
            .lines()
            .count(),
        1 + 4 * 4
    );
    // Each design is the file's `[design]` of its own plan (hashes differ).
    let (a, b) = (
        PlanRecord::read(&out.join("screen")).unwrap(),
        PlanRecord::read(&out.join("indices")).unwrap(),
    );
    assert_ne!(a.scenario_hash, b.scenario_hash);
    // One design alone gives the same bytes as in the run of both.
    let one = tmp.path().join("one");
    let r = gg(&[
        "run",
        s,
        "--design",
        "indices",
        "--out",
        one.to_str().unwrap(),
        "--quiet",
        "--no-charts",
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(bytes(&one.join("steps.parquet")) == bytes(&out.join("indices/steps.parquet")));
    // `sensitivity OUT` analyses each.
    let r = gg(&["sensitivity", o, "--no-charts"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(
        text.contains("screen") && text.contains("indices"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("indices/sensitivity.csv")).unwrap(),
        indices
    );
}

#[test]
fn bad_multi_design_input_is_a_clear_error() {
    let load = |text: &str, pick: Option<&str>| {
        scenario::from_text_design(text, "d.toml", Path::new("."), pick)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let e = load(TWO_DESIGNS, None).unwrap_err();
    assert!(
        e.contains("2 designs (screen, indices)") && e.contains("--design"),
        "{e}"
    );
    let e = load(TWO_DESIGNS, Some("indexes")).unwrap_err();
    assert!(
        e.contains("no design named `indexes`") && e.contains("indices"),
        "{e}"
    );
    assert!(load(TWO_DESIGNS, Some("screen")).is_ok());
    let e = load(
        &TWO_DESIGNS.replace("\"indices\"", "\"screen\""),
        Some("screen"),
    )
    .unwrap_err();
    assert!(
        e.contains("d.toml:") && e.contains("designs[1].name"),
        "{e}"
    );
    // A problem inside the picked design is located at its `[[designs]]` entry.
    let e = load(&TWO_DESIGNS.replace("n = 4\n", "n = 6\n"), Some("indices")).unwrap_err();
    assert!(
        e.contains("key `designs[1].n`") && e.contains("power of two"),
        "{e}"
    );
    let e = load(DESIGN, Some("x")).unwrap_err();
    assert!(e.contains("no `[[designs]]`"), "{e}");
}

/// A design whose analysed output is the paired effect of a variant over a named window.
const EFFECT: &str = r#"
name = "effect-design"
seed = 5
steps = 10
summary_last_steps = 3
[consumers]
count = 400
[[variants]]
name = "open"
set = { "policy.links" = "open" }
[[windows]]
name = "late"
from = 4
to = 9
[design]
method = "morris"
n = 3
levels = 4
replicates = 2
metrics = ["consumer_surplus", "wallet_share__alipay"]
effect_of = "open"
window = "late"
[[design.param]]
path = "links.share_prob"
bounds = [0.05, 0.4]
[[design.param]]
path = "policy.tau"
bounds = [0.05, 0.5]
"#;

#[test]
fn a_design_analyses_the_paired_effect_of_a_variant_per_sample() {
    use gardengate::experiment::sensitivity::{analyse, Request};
    let plan = plan_of(EFFECT);
    let design = plan.design.clone().unwrap();
    let samples = design.samples();
    assert_eq!(samples, 9);
    assert_eq!(
        plan.points.len(),
        2 * samples,
        "each sample also in the variant"
    );
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    run_batch(&plan, &opts(&out, 2, None, false)).expect("runs and analyses");
    let rec = PlanRecord::read(&out).unwrap();

    // By hand from steps.parquet: per sample s and replicate r, the mean over steps 4..=9 of
    // the variant's run minus the baseline's (same seed), then the mean over replicates.
    let steps = read_parquet(&out.join("steps.parquet")).unwrap();
    let col = |name: &str| -> Vec<f64> {
        let s = steps.column(name).unwrap().as_materialized_series();
        let s = s.cast(&polars::prelude::DataType::Float64).unwrap();
        s.f64().unwrap().into_no_null_iter().collect()
    };
    let (run, step) = (col("run_id"), col("step"));
    let level = |metric: &[f64], run_id: usize| -> f64 {
        let v: Vec<f64> = (0..run.len())
            .filter(|&i| run[i] as usize == run_id && (4.0..=9.0).contains(&step[i]))
            .map(|i| metric[i])
            .collect();
        assert_eq!(v.len(), 6);
        v.iter().sum::<f64>() / 6.0
    };
    let reps = plan.replicates as usize;
    for m in ["consumer_surplus", "wallet_share__alipay"] {
        let values = col(m);
        let mut by_hand = Vec::new();
        for s in 0..samples {
            // The variant's point with the same parameter values.
            let q = (samples..plan.points.len())
                .find(|&q| {
                    plan.points[q].params[1..] == plan.points[s].params[1..]
                        && plan.comparison.variant[q] == "open"
                })
                .expect("paired point");
            let mut d = 0.0;
            for r in 0..reps {
                assert_eq!(plan.runs[q * reps + r].seed, plan.runs[s * reps + r].seed);
                d += level(&values, q * reps + r) - level(&values, s * reps + r);
            }
            by_hand.push(d / reps as f64);
        }
        let per_run = experiment::sensitivity::run_stats(
            &out,
            &rec,
            m,
            4,
            9,
            gardengate::scenario::variants::Stat::Mean,
        )
        .unwrap();
        let y = experiment::sensitivity::sample_effects(&rec, samples, &per_run, "open").unwrap();
        for (a, b) in y.iter().zip(&by_hand) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{m}: {a} vs {b}");
        }
        assert!(
            by_hand.iter().any(|d| *d != 0.0),
            "{m}: the variant changes something"
        );
        // The indices written after the run are those of these per-sample effects.
        let want = gardengate::metrics::sensitivity::analyse(
            &design,
            &y,
            &gardengate::metrics::sensitivity::Options::default(),
        )
        .unwrap();
        let got = analyse(
            &out,
            &Request {
                metrics: vec![m.into()],
                charts: false,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(got[0].1.len(), want.len());
        for (g, w) in got[0].1.iter().zip(&want) {
            assert_eq!((g.index, &g.parameter), (w.index, &w.parameter));
            assert!(g.value.to_bits() == w.value.to_bits(), "{m} {}", g.index);
        }
    }
    let csv = std::fs::read_to_string(out.join("sensitivity.csv")).unwrap();
    assert!(csv.contains(",effect,open,late,mean,4,9,2"), "{csv}");

    // Bad names are clear errors at load time.
    let e = scenario::from_text(
        &EFFECT.replace("effect_of = \"open\"", "effect_of = \"opne\""),
        "e.toml",
        Path::new("."),
    )
    .map(|_| ())
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("design.effect_of") && e.contains("`open`"),
        "{e}"
    );
    let e = scenario::from_text(
        &EFFECT.replace("window = \"late\"", "window = \"lat\""),
        "e.toml",
        Path::new("."),
    )
    .map(|_| ())
    .unwrap_err()
    .to_string();
    assert!(e.contains("design.window") && e.contains("late"), "{e}");
}

#[test]
fn a_designs_continuous_samples_get_scatter_charts_not_grid_heatmaps() {
    let plan = plan_of(DESIGN);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("charts");
    let mut o = opts(&out, 2, None, false);
    o.charts = true;
    run_batch(&plan, &o).expect("runs");
    let names: Vec<String> = std::fs::read_dir(out.join("charts"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    // 32 distinct values per column: a 32 × 32 grid of mostly empty cells would say nothing.
    assert!(!names.iter().any(|n| n.contains("heatmap")), "{names:?}");
    for want in [
        "sensitivity_scatter__consumer_surplus.png",
        "wallet_shares.png",
        "welfare.png",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
}
