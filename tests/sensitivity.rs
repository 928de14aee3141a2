//! Designs and sensitivity analysis end to end: scenario `[design]` sections drawn into
//! plans, the estimators checked against SALib on the same sample (reference files made by
//! `scripts/salib-reference.py`), bad designs, and a small design run through the binary
//! (identical on 1 and 2 threads, indices and charts written).

use gardengate::metrics::sensitivity::{analyse, Options, Row};
use gardengate::scenario::{self, from_text};
use std::f64::consts::PI;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_gardengate");

fn load(path: &str) -> scenario::Plan {
    scenario::load(Path::new(path)).unwrap_or_else(|e| panic!("{e}"))
}

/// (index, parameter, parameter2, value, conf) rows of a reference file.
fn reference(path: &str) -> Vec<(String, String, String, f64, f64)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
            (f[0].into(), f[1].into(), f[2].into(), num(f[3]), num(f[4]))
        })
        .collect()
}

fn find<'a>(rows: &'a [Row], index: &str, p: &str, p2: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.index == index && r.parameter == p && r.parameter2 == p2)
        .unwrap_or_else(|| panic!("no {index} {p} {p2}"))
}

/// Compares estimates to SALib's (same formulas on the same sample: equal up to rounding)
/// and interval half-widths (different bootstrap draws: equal up to their Monte Carlo error,
/// about 2% at 1000 resamples).
fn compare(rows: &[Row], reference_file: &str) {
    let refs = reference(reference_file);
    assert!(!refs.is_empty());
    for (index, p, p2, value, conf) in refs {
        let r = find(rows, &index, &p, &p2);
        assert!(
            (r.value - value).abs() < 1e-9 * value.abs().max(1.0),
            "{index} {p} {p2}: ours {} SALib {value}",
            r.value
        );
        if conf.is_finite() {
            assert!(
                (r.conf - conf).abs() <= 0.15 * conf + 1e-12,
                "{index} {p} {p2} interval: ours ±{} SALib ±{conf}",
                r.conf
            );
        }
    }
}

fn ishigami(u: &[f64]) -> f64 {
    let x: Vec<f64> = u.iter().map(|u| -PI + 2.0 * PI * u).collect();
    x[0].sin() + 7.0 * x[1].sin().powi(2) + 0.1 * x[2].powi(4) * x[0].sin()
}

#[test]
fn sobol_indices_match_salib_on_the_same_sample() {
    let plan = load("tests/data/salib-ishigami.toml");
    let d = plan.design.as_ref().expect("a design");
    assert_eq!(plan.points.len(), 128 * 8);
    // The plan's points carry the design's values.
    assert_eq!(
        plan.points[5].params[1].1,
        gardengate::scenario::ParamValue::Num(d.unit[5][1])
    );
    assert!((plan.points[5].scenario.links.share_prob - d.unit[5][1]).abs() < 1e-15);
    let y: Vec<f64> = d.unit.iter().map(|u| ishigami(u)).collect();
    let rows = analyse(d, &y, &Options::default()).unwrap();
    compare(&rows, "tests/data/salib-ishigami.csv");
}

#[test]
fn morris_measures_match_salib_on_the_same_sample() {
    let plan = load("tests/data/salib-morris.toml");
    let d = plan.design.as_ref().expect("a design");
    assert_eq!(plan.points.len(), 40 * 5);
    let y: Vec<f64> = d
        .unit
        .iter()
        .map(|u| 10.0 * u[0] + 5.0 * u[1] * u[1] + u[2] + 3.0 * u[0] * u[3])
        .collect();
    let rows = analyse(d, &y, &Options::default()).unwrap();
    compare(&rows, "tests/data/salib-morris.csv");
}

#[test]
fn regression_measures_match_numpy_on_the_same_sample() {
    let plan = load("tests/data/salib-lhs.toml");
    let d = plan.design.as_ref().expect("a design");
    let y: Vec<f64> = d
        .unit
        .iter()
        .map(|u| 3.0 * u[0] - 2.0 * u[1] * u[1] + 0.5 * u[2] + (4.0 * u[0] * u[2]).sin())
        .collect();
    let rows = analyse(d, &y, &Options::default()).unwrap();
    compare(&rows, "tests/data/salib-lhs.csv");
}

#[test]
fn designs_are_deterministic_given_their_seed() {
    let a = load("tests/data/salib-morris.toml");
    let b = load("tests/data/salib-morris.toml");
    assert_eq!(a.design, b.design);
    let text = std::fs::read_to_string("tests/data/salib-morris.toml").unwrap();
    let c = from_text(
        &text.replace("seed = 5", "seed = 6"),
        "x.toml",
        Path::new("."),
    )
    .unwrap();
    assert_ne!(a.design.unwrap().unit, c.design.unwrap().unit);
    // Common random numbers by default: replicate r has one seed at every sample.
    assert!(a.runs.iter().all(|r| r.seed == a.runs[0].seed));
}

const BASE: &str = r#"
name = "d"
steps = 4
[consumers]
count = 300
"#;

fn error(design: &str) -> String {
    match from_text(&format!("{BASE}{design}"), "bad.toml", Path::new(".")) {
        Ok(p) => panic!("expected an error, got {} points", p.points.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_designs_are_clear_errors() {
    let e = error(
        "[design]\nmethod = \"sobol\"\nn = 100\n[[design.param]]\npath = \"policy.tau\"\nbounds = [0.1, 0.3]\n",
    );
    assert!(e.contains("bad.toml:8: key `design.n`"), "{e}");
    assert!(
        e.contains("power of two") && e.contains("n = 64 or n = 128"),
        "{e}"
    );

    let e = error(
        "[design]\nmethod = \"lhs\"\nn = 10\n[[design.param]]\npath = \"policy.tau\"\nbounds = [0.3, 0.1]\n",
    );
    assert!(
        e.contains("bad.toml:11: key `design.param[0].bounds`"),
        "{e}"
    );
    assert!(
        e.contains("reversed") && e.contains("bounds = [0.1, 0.3]"),
        "{e}"
    );

    let e = error(
        "[design]\nmethod = \"sobol\"\nn = 8\n[[design.param]]\npath = \"policy.links\"\nvalues = [\"walled\", \"open\"]\n",
    );
    assert!(
        e.contains("key `design.param[0].values`") && e.contains("categorical"),
        "{e}"
    );
    assert!(e.contains("bad.toml:11"), "{e}");

    let e = error(
        "[design]\nmethod = \"lhs\"\nn = 10\n[[design.param]]\npath = \"policy.taux\"\nbounds = [0.1, 0.3]\n",
    );
    assert!(e.contains("key `design.param[0].path`"), "{e}");
    assert!(e.contains("tau"), "suggests the near name: {e}");

    // A value of the wrong type for its key: a string preset given bounds.
    let e = error(
        "[design]\nmethod = \"lhs\"\nn = 10\n[[design.param]]\npath = \"policy.links\"\nbounds = [0.1, 0.3]\n",
    );
    assert!(e.contains("design.param[0]"), "{e}");

    // Out of range values are the resolver's errors, located at the design parameter.
    let e = error(
        "[design]\nmethod = \"lhs\"\nn = 10\n[[design.param]]\npath = \"policy.tau\"\nbounds = [0.5, 1.5]\n",
    );
    assert!(e.contains("design sample") && e.contains("tau"), "{e}");

    let e = error(
        "[design]\nmethod = \"morris\"\nn = 4\nlevels = 3\n[[design.param]]\npath = \"policy.tau\"\nbounds = [0.1, 0.3]\n",
    );
    assert!(
        e.contains("key `design.levels`") && e.contains("levels = 4"),
        "{e}"
    );

    let e = error("[design]\nmethod = \"halton\"\n");
    assert!(e.contains("halton") && e.contains("sobol"), "{e}");
}

const DESIGN: &str = r#"
name = "tiny-design"
seed = 4
steps = 12
summary_last_steps = 5
[consumers]
count = 400
[design]
method = "morris"
n = 3
levels = 4
replicates = 2
metrics = ["consumer_surplus", "wallet_share__alipay"]
[[design.param]]
path = "links.share_prob"
bounds = [0.05, 0.4]
[[design.param]]
path = "revision.gamma_wallet"
bounds = [0.0, 2.0]
"#;

fn gg(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().expect("binary runs")
}

#[test]
fn a_design_runs_and_is_analysed_the_same_on_1_and_2_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = tmp.path().join("d.toml");
    std::fs::write(&sc, DESIGN).unwrap();
    let mut outs = Vec::new();
    for threads in ["1", "2"] {
        let out = tmp.path().join(format!("out{threads}"));
        let o = gg(&[
            "run",
            sc.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--threads",
            threads,
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        outs.push(out);
    }
    for f in [
        "steps.parquet",
        "sensitivity.csv",
        "design.csv",
        "summary.csv",
    ] {
        assert_eq!(
            std::fs::read(outs[0].join(f)).unwrap(),
            std::fs::read(outs[1].join(f)).unwrap(),
            "{f} differs between 1 and 2 threads"
        );
    }
    let design = std::fs::read_to_string(outs[0].join("design.csv")).unwrap();
    assert_eq!(design.lines().count(), 1 + 3 * 3, "one row per sample");
    assert!(design.starts_with("sample,role,links__share_prob,revision__gamma_wallet,u__"));
    let s = std::fs::read_to_string(outs[0].join("sensitivity.csv")).unwrap();
    assert!(s.starts_with("metric,method,parameter,parameter2,index,value,conf,lo,hi"));
    // 2 metrics × 2 parameters × (mu, mu_star, sigma).
    assert_eq!(s.lines().count(), 1 + 12, "{s}");
    assert!(s.contains("wallet_share__alipay,morris,revision__gamma_wallet,\"\",mu_star,"));
    for c in [
        "sensitivity_morris__consumer_surplus.png",
        "sensitivity_scatter__wallet_share__alipay.png",
    ] {
        assert!(outs[0].join("charts").join(c).exists(), "{c}");
    }

    // The command again with another window and metric; an unknown metric is named.
    let o = gg(&[
        "sensitivity",
        outs[0].to_str().unwrap(),
        "--metric",
        "hhi_wallet",
        "--from",
        "2",
        "--to",
        "6",
        "--no-charts",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = std::fs::read_to_string(outs[0].join("sensitivity.csv")).unwrap();
    assert!(s.lines().nth(1).unwrap().starts_with("hhi_wallet,morris,"));
    assert!(s.lines().nth(1).unwrap().ends_with(",2,6,2"), "{s}");
    let o = gg(&[
        "sensitivity",
        outs[0].to_str().unwrap(),
        "--metric",
        "consumer_surplas",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("consumer_surplus"), "{err}");
}
