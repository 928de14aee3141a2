//! Variants, windows and effects: an identical variant has effect 0 exactly, a moved event
//! changes nothing before the earlier of its dates, the paired interval equals a hand
//! computation from steps.parquet, and bad variant input gets a located error.

use gardengate::experiment::{self, BatchOptions, Progress};
use gardengate::output::frame::read_parquet;
use gardengate::scenario::from_text;
use polars::prelude::*;
use std::path::{Path, PathBuf};

const BASE: &str = r#"
name = "tiny-variants"
seed = 5
steps = 40
replicates = 4
start_date = "2021-09-01"
summary_last_steps = 10
[consumers]
count = 1500
[[events]]
id = "dm"
date = "2021-09-11"
kind = "link"
social = "wechat"
channel = "dm"
target = "ali"
state = "open"
label = "WeChat opens DMs"
[[events]]
id = "groups"
step = 20
kind = "link"
social = "wechat"
channel = "*"
target = "ali"
state = "open"
label = "WeChat opens everything"
"#;

fn run(text: &str, dir: &Path, charts: bool) -> PathBuf {
    let plan = from_text(text, "t.toml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("out");
    experiment::run_batch(
        &plan,
        &BatchOptions {
            out: out.clone(),
            threads: Some(2),
            resume: false,
            force: false,
            progress: Progress::Quiet,
            shard: None,
            charts,
        },
    )
    .unwrap();
    out
}

fn f64s(df: &DataFrame, c: &str) -> Vec<f64> {
    df.column(c)
        .unwrap()
        .as_materialized_series()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(|x| x.unwrap_or(f64::NAN))
        .collect()
}

fn strs(df: &DataFrame, c: &str) -> Vec<String> {
    df.column(c)
        .unwrap()
        .as_materialized_series()
        .str()
        .unwrap()
        .iter()
        .map(|x| x.unwrap_or("").to_string())
        .collect()
}

#[test]
fn an_identical_variant_has_zero_effects_and_zero_width_intervals() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!(
        "{BASE}\n[[variants]]\nname = \"same\"\nset = {{ \"policy.tau\" = 0.2, \"events.groups.step\" = 20 }}\n"
    );
    // tau defaults to 0.2 and the event stays at step 20: the variant is the baseline.
    let out = run(&text, tmp.path(), false);
    let e = read_parquet(&out.join("effects.parquet")).unwrap();
    assert!(e.height() > 100, "every metric × window");
    let paired = e.column("paired").unwrap().bool().unwrap();
    assert!(paired.iter().all(|p| p == Some(true)));
    for (x, h) in f64s(&e, "effect").iter().zip(f64s(&e, "effect_ci95")) {
        if x.is_nan() {
            continue; // a metric that is NaN in every run (no such metric here, but allowed)
        }
        assert_eq!(*x, 0.0);
        assert_eq!(h, 0.0);
    }
    assert!(strs(&e, "variant").iter().all(|v| v == "same"));
    assert!(out.join("effects.csv").is_file());
}

#[test]
fn a_moved_event_changes_nothing_before_the_earlier_date_and_the_interval_is_paired() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!(
        "{BASE}\n[[variants]]\nname = \"late\"\nset = {{ \"events.groups.step\" = 30 }}\n\n[[windows]]\nname = \"after\"\nfrom = 20\n"
    );
    let out = run(&text, tmp.path(), false);
    let steps = read_parquet(&out.join("steps.parquet")).unwrap();
    let variant = strs(&steps, "variant");
    let step = f64s(&steps, "step");
    let seed = f64s(&steps, "seed");
    let metric_names: Vec<String> = steps
        .columns()
        .iter()
        .filter(|c| c.dtype().is_primitive_numeric())
        .map(|c| c.name().to_string())
        .filter(|n| !["run_id", "point_id", "replicate", "seed", "step"].contains(&n.as_str()))
        .collect();
    let rows = steps.height();
    let idx = |v: &str, s: f64, t: f64| {
        (0..rows)
            .find(|&i| variant[i] == v && seed[i] == s && step[i] == t)
            .unwrap()
    };
    let seeds: Vec<f64> = {
        let mut s: Vec<f64> = (0..rows)
            .filter(|&i| variant[i] == "baseline")
            .map(|i| seed[i])
            .collect();
        s.dedup();
        s
    };
    assert_eq!(seeds.len(), 4, "the baseline's four replicates");
    let mut changed_after = false;
    for m in &metric_names {
        let v = f64s(&steps, m);
        for &s in &seeds {
            for t in 0..40 {
                let (a, b) = (v[idx("baseline", s, t as f64)], v[idx("late", s, t as f64)]);
                if t < 20 {
                    assert_eq!(a.to_bits(), b.to_bits(), "{m} at step {t} before the event");
                } else if a.to_bits() != b.to_bits() {
                    changed_after = true;
                }
            }
        }
    }
    assert!(
        changed_after,
        "moving the event changes something from step 20 on"
    );

    // The paired interval of consumer surplus over steps 20..=39, by hand.
    let cs = f64s(&steps, "consumer_surplus");
    let d: Vec<f64> = seeds
        .iter()
        .map(|&s| {
            let m = |v: &str| (20..40).map(|t| cs[idx(v, s, t as f64)]).sum::<f64>() / 20.0;
            m("late") - m("baseline")
        })
        .collect();
    let n = d.len() as f64;
    let mean = d.iter().sum::<f64>() / n;
    let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let t3 = 3.182_446_305_284_263; // t(0.975; 3), from tables
    let half = t3 * sd / n.sqrt();
    let e = read_parquet(&out.join("effects.parquet")).unwrap();
    let (metric, window) = (strs(&e, "metric"), strs(&e, "window"));
    let r = (0..e.height())
        .find(|&i| metric[i] == "consumer_surplus" && window[i] == "after")
        .unwrap();
    let got = f64s(&e, "effect")[r];
    let got_half = f64s(&e, "effect_ci95")[r];
    assert!(mean != 0.0 && half > 0.0);
    assert!(
        (got - mean).abs() <= 1e-9 * mean.abs().max(1.0),
        "{got} vs {mean}"
    );
    assert!(
        (got_half - half).abs() <= 1e-9 * half,
        "{got_half} vs {half}"
    );
    assert_eq!(strs(&e, "test")[r], "paired t");
    assert_eq!(f64s(&e, "n")[r], 4.0);
}

#[test]
fn steps_csv_holds_the_parquet_values_with_label_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!("{BASE}\n[output]\ncsv = true\nlong = true\n");
    let out = run(&text, tmp.path(), false);
    let pq = read_parquet(&out.join("steps.parquet")).unwrap();
    // Read as text, and parse each cell as R and pandas would.
    let csv = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(out.join("steps.csv")))
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(csv.height(), pq.height());
    assert!(strs(&csv, "scenario").iter().all(|s| s == "tiny-variants"));
    assert!(strs(&csv, "point_label").iter().all(|s| s == "base"));
    let as_text = |df: &DataFrame, c: &str| -> Vec<String> {
        let s = df.column(c).unwrap().cast(&DataType::String).unwrap();
        let s = s.as_materialized_series();
        s.str()
            .unwrap()
            .iter()
            .map(|x| x.unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(as_text(&pq, "seed"), as_text(&csv, "seed"));
    assert_eq!(as_text(&pq, "date"), as_text(&csv, "date"));
    for c in pq.columns() {
        if !c.dtype().is_primitive_numeric() || c.name().as_str() == "seed" {
            continue;
        }
        let n = c.name().as_str();
        let a = f64s(&pq, n);
        let b: Vec<f64> = strs(&csv, n)
            .iter()
            .map(|x| {
                x.parse::<f64>()
                    .unwrap_or_else(|_| panic!("{n}: `{x}` is not a number"))
            })
            .collect();
        for (x, y) in a.iter().zip(&b) {
            assert!(
                x.to_bits() == y.to_bits() || x.is_nan() && y.is_nan(),
                "{n}: {x} vs {y}"
            );
        }
    }
    let long = read_parquet(&out.join("steps_long.parquet")).unwrap();
    let metrics = pq.width() - 6; // id columns: run_id, point_id, replicate, seed, step, date
    assert_eq!(long.height(), pq.height() * metrics);
    let (m, ent) = (strs(&long, "metric"), strs(&long, "entity"));
    let k = (0..long.height())
        .find(|&i| m[i] == "gmv_share" && ent[i] == "taobao")
        .unwrap();
    let row = k / metrics;
    assert_eq!(f64s(&long, "value")[k], f64s(&pq, "gmv_share__taobao")[row]);
}

fn problems(text: &str) -> String {
    match from_text(text, "bad.toml", Path::new(".")) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn bad_variants_get_located_errors_with_suggestions() {
    // An unknown event id in a variant's `set`.
    let text = format!(
        "{BASE}\n[[variants]]\nname = \"v\"\nset = {{ \"events.grups.date\" = \"2021-09-20\" }}\n"
    );
    let e = problems(&text);
    let l = line_of(&text, "grups");
    assert!(e.contains(&format!("bad.toml:{l}:")), "{e}");
    assert!(
        e.contains("no event has id `grups`") && e.contains("did you mean `groups`?"),
        "{e}"
    );

    // An unknown key.
    let text = format!("{BASE}\n[[variants]]\nname = \"v\"\nset = {{ \"policy.taux\" = 0.2 }}\n");
    let e = problems(&text);
    assert!(
        e.contains(&format!("bad.toml:{}:", line_of(&text, "taux"))),
        "{e}"
    );
    assert!(e.contains("did you mean `tau`?"), "{e}");

    // A removal of an unknown event.
    let text = format!("{BASE}\n[[variants]]\nname = \"v\"\nremove_events = [\"dms\"]\n");
    let e = problems(&text);
    assert!(
        e.contains(&format!("bad.toml:{}:", line_of(&text, "remove_events"))),
        "{e}"
    );
    assert!(e.contains("did you mean `dm`?"), "{e}");

    // A moved event outside the run is the variant's doing.
    let text =
        format!("{BASE}\n[[variants]]\nname = \"v\"\nset = {{ \"events.groups.step\" = 400 }}\n");
    let e = problems(&text);
    assert!(
        e.contains(&format!("bad.toml:{}:", line_of(&text, "= 400"))),
        "{e}"
    );
    assert!(e.contains("in variant `v`"), "{e}");

    // A window outside the run.
    let text = format!("{BASE}\n[[windows]]\nname = \"w\"\nfrom = \"2023-01-01\"\n");
    let e = problems(&text);
    assert!(
        e.contains(&format!("bad.toml:{}:", line_of(&text, "2023-01-01"))),
        "{e}"
    );
    assert!(e.contains("outside the run"), "{e}");

    // Duplicate event ids, an unknown baseline.
    let text = BASE.replace("id = \"groups\"", "id = \"dm\"");
    assert!(problems(&text).contains("expected unique ids"));
    let text = format!("baseline = \"basline\"\n{BASE}");
    let e = problems(&text);
    assert!(
        e.contains("did you mean `baseline`?") || e.contains("did you mean `base`?"),
        "{e}"
    );
}

#[test]
fn a_sweep_may_address_event_dates_and_declare_a_baseline_point() {
    let text = format!(
        "baseline = \"groups_at=20\"\n{BASE}\n[sweep]\ncommon_random_numbers = true\n[[sweep.param]]\npath = \"events.groups.step\"\ncolumn = \"groups_at\"\nvalues = [20, 25, 30]\n"
    );
    let plan = from_text(&text, "t.toml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.points.len(), 3);
    let eff: Vec<u32> = plan
        .points
        .iter()
        .map(|p| {
            p.scenario
                .events
                .iter()
                .find(|e| e.label == "WeChat opens everything")
                .unwrap()
                .effective
        })
        .collect();
    assert_eq!(eff, [20, 25, 30]);
    assert_eq!(plan.comparison.compare_to, [None, Some(0), Some(0)]);
    // Common random numbers: every point's replicate r has the same seed.
    assert_eq!(plan.runs[0].seed, plan.runs[4].seed);
}

#[test]
fn a_child_file_extends_its_parent_and_variants_share_its_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("parent.toml"), BASE).unwrap();
    let child = "extends = \"parent.toml\"\nname = \"child\"\n[consumers]\ncount = 1000\n\n[[variants]]\nname = \"early\"\nset = { \"events.groups.step\" = 15 }\n\n[[variants]]\nname = \"own_seeds\"\ncommon_random_numbers = false\n";
    let p = tmp.path().join("child.toml");
    std::fs::write(&p, child).unwrap();
    let plan = gardengate::scenario::load(&p).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.points.len(), 3);
    let sc = &plan.points[0].scenario;
    assert_eq!(
        (sc.name.as_str(), sc.consumers.count, sc.steps),
        ("child", 1000, 40)
    );
    let seeds = |pt: u32| -> Vec<u64> {
        plan.runs
            .iter()
            .filter(|r| r.point_id == pt)
            .map(|r| r.seed)
            .collect()
    };
    assert_eq!(seeds(0), seeds(1), "common random numbers by default");
    assert!(
        seeds(0).iter().all(|s| !seeds(2).contains(s)),
        "own seeds when asked"
    );
    assert_eq!(
        plan.comparison.common_random_numbers[1],
        ("own_seeds".to_string(), false)
    );
    // The parent's text is part of the identity.
    std::fs::write(
        tmp.path().join("parent.toml"),
        BASE.replace("seed = 5", "seed = 6"),
    )
    .unwrap();
    let again = gardengate::scenario::load(&p).unwrap();
    assert_ne!(plan.hash, again.hash);
    // An error in the child is located in the child.
    std::fs::write(
        &p,
        child.replace("\"events.groups.step\"", "\"events.group.step\""),
    )
    .unwrap();
    let e = gardengate::scenario::load(&p).unwrap_err().to_string();
    assert!(
        e.contains("child.toml:8:") && e.contains("did you mean `groups`?"),
        "{e}"
    );
}

#[test]
fn effects_of_a_folder_without_a_baseline_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(BASE, tmp.path(), false);
    let e = experiment::effects::command(&out, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("declares nothing to compare") && e.contains("help:"),
        "{e}"
    );
}
