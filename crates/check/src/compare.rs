//! Regression checks of simulation outputs against a baseline (`gardengate check`).
//!
//! Two modes:
//!
//! * **exact** ([`exact_compare`]): every run must be bit-identical to the baseline.
//!   The first difference (by run id, then step, then column) is reported.
//! * **stat** ([`stat_compare`]): every run is summarised per metric by the mean of its
//!   last `last_n` steps; for every sweep point the replicate distribution of the results
//!   is compared with the baseline's by Welch's t-test and the two-sample
//!   Kolmogorov–Smirnov test. Both p-values of every (point, metric) pair form one
//!   Holm family. A metric *drifts* when its Holm-adjusted p-value is below `alpha`
//!   **and** the difference of means exceeds a tolerance floor
//!   `max(abs_tol, rel_tol * |baseline mean|)`, so tiny but statistically significant
//!   differences (e.g. from a different floating-point summation order) do not fail CI.
//!
//! Loading files and the command line live elsewhere; this module works on in-memory
//! [`RunColumns`] and renders outcomes as a terminal table, Markdown (pull-request comment),
//! JUnit XML or JSON ([`render_stat`], [`render_exact`]).
//!
//! The parts: `run.rs` (data types), `exact.rs`, `stat.rs`, `report.rs` (renderers). The
//! statistical building blocks (`gardengate_core::metrics::stats`: Welch, KS, Holm, t) live
//! beside the other statistics and are tested there against SciPy.

pub use crate::exact::exact_compare;
pub use crate::report::{render_exact, render_stat};
pub use crate::run::*;
pub use crate::stat::stat_compare;
pub use gardengate_core::metrics::stats::*;

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::{exact::*, report::*, stat::*};

    fn assert_rel(got: f64, want: f64, rel: f64, what: &str) {
        let err = if want == 0.0 {
            got.abs()
        } else {
            ((got - want) / want).abs()
        };
        assert!(
            err <= rel,
            "{what}: got {got:e}, want {want:e} (rel err {err:e} > {rel:e})"
        );
    }

    // ---- exact mode ----

    fn run(run_id: u32, point_id: u32, replicate: u32, seed: u64) -> RunColumns {
        let steps: Vec<i64> = (0..6).map(|s| s * 10).collect();
        let col = |k: f64| {
            steps
                .iter()
                .map(|&s| k * s as f64 + run_id as f64 * 0.1)
                .collect()
        };
        RunColumns {
            run_id,
            point_id,
            replicate,
            seed,
            point_label: format!("tau={}", point_id),
            columns: vec![
                ("a".into(), col(1.0)),
                ("b".into(), col(0.5)),
                ("c".into(), col(-2.0)),
            ],
            steps,
        }
    }

    fn base_runs() -> Vec<RunColumns> {
        (1..=4)
            .map(|i| run(i, i % 2, i / 2, 1000 + i as u64))
            .collect()
    }

    #[test]
    fn exact_identical_is_none() {
        let base = base_runs();
        assert_eq!(exact_compare(&base, &base), None);
        // run order and column order do not matter; NaN equals NaN with the same bits
        let mut b2 = base.clone();
        b2[0].columns[1].1[2] = f64::NAN;
        let mut r2 = b2.clone();
        r2.reverse();
        r2[0].columns.reverse();
        assert_eq!(exact_compare(&r2, &b2), None);
    }

    #[test]
    fn exact_value_difference_names_run_step_column() {
        let base = base_runs();
        let mut res = base.clone();
        res[2].columns[1].1[3] = f64::from_bits(res[2].columns[1].1[3].to_bits() + 1);
        let d = exact_compare(&res, &base).expect("difference");
        assert_eq!(d.kind, ExactDiffKind::Value);
        assert_eq!((d.run_id, d.point_id, d.replicate), (3, 1, 1));
        assert_eq!(d.step, Some(30));
        assert_eq!(d.column, "b");
        assert_eq!(d.baseline, format!("{:?}", base[2].columns[1].1[3]));
        assert_eq!(d.result, format!("{:?}", res[2].columns[1].1[3]));
        assert_ne!(d.result, d.baseline);
        assert!(d.describe().contains("step 30, column 'b'"));

        // the first difference wins: lower run, then lower step, then column order
        res[3].columns[0].1[0] = 99.0; // run 4: later run
        res[2].columns[2].1[1] = 99.0; // run 3, step 10, column c
        res[2].columns[0].1[3] = 99.0; // run 3, step 30, column a (before b at step 30)
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!((d.run_id, d.step, d.column.as_str()), (3, Some(10), "c"));
        res[2].columns[2].1[1] = base[2].columns[2].1[1];
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!((d.run_id, d.step, d.column.as_str()), (3, Some(30), "a"));

        // -0.0 and 0.0 are different bits
        let mut r = base.clone();
        let mut b = base.clone();
        b[0].columns[0].1[0] = 0.0;
        r[0].columns[0].1[0] = -0.0;
        let d = exact_compare(&r, &b).unwrap();
        assert_eq!((d.result.as_str(), d.baseline.as_str()), ("-0.0", "0.0"));
    }

    #[test]
    fn exact_missing_and_extra_run() {
        let base = base_runs();
        let res: Vec<RunColumns> = base.iter().filter(|r| r.run_id != 2).cloned().collect();
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!(d.kind, ExactDiffKind::MissingRun);
        assert_eq!((d.run_id, d.point_id, d.replicate, d.step), (2, 0, 1, None));
        assert_eq!(d.result, "<missing>");

        let mut res = base.clone();
        res.push(run(9, 1, 7, 5));
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!(
            (d.kind, d.run_id, d.replicate),
            (ExactDiffKind::ExtraRun, 9, 7)
        );

        let mut res = base.clone();
        res.push(base[1].clone());
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!((d.kind, d.run_id), (ExactDiffKind::DuplicateRun, 2));
    }

    #[test]
    fn exact_seed_steps_and_column_differences() {
        let base = base_runs();
        let mut res = base.clone();
        res[1].seed = 7;
        res[3].columns[0].1[0] = 1.5; // later run: not reported
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!(d.kind, ExactDiffKind::Seed);
        assert_eq!((d.run_id, d.column.as_str()), (2, "seed"));
        assert_eq!((d.result.as_str(), d.baseline.as_str()), ("7", "1002"));

        let mut res = base.clone();
        res[0].point_id = 5;
        assert_eq!(
            exact_compare(&res, &base).unwrap().kind,
            ExactDiffKind::PointId
        );

        let mut res = base.clone();
        res[0].steps.pop();
        for c in &mut res[0].columns {
            c.1.pop();
        }
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!((d.kind, d.step), (ExactDiffKind::Steps, Some(50)));
        assert!(d.result.starts_with("<missing>"));

        let mut res = base.clone();
        res[1].columns.remove(1);
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!(
            (d.kind, d.run_id, d.column.as_str()),
            (ExactDiffKind::MissingColumn, 2, "b")
        );

        let mut res = base.clone();
        res[1].columns.push(("z".into(), vec![0.0; 6]));
        let d = exact_compare(&res, &base).unwrap();
        assert_eq!(
            (d.kind, d.column.as_str()),
            (ExactDiffKind::ExtraColumn, "z")
        );
    }

    // ---- stat mode ----

    struct Lcg(u64);

    impl Lcg {
        fn uniform(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }
        /// Box–Muller standard normal.
        fn normal(&mut self) -> f64 {
            let (u1, u2) = (self.uniform(), self.uniform());
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        }
    }

    /// Runs for points 0..n_points with columns gini, price and level; `shift(point,
    /// metric)` is added to the run level.
    fn sim(
        seed: u64,
        n_points: u32,
        reps: u32,
        n_steps: i64,
        shift: impl Fn(u32, &str) -> f64,
    ) -> Vec<RunColumns> {
        let mut rng = Lcg(seed);
        let mut out = Vec::new();
        for p in 0..n_points {
            for r in 0..reps {
                let steps: Vec<i64> = (0..n_steps).collect();
                let mut columns = Vec::new();
                for (name, centre, run_sd, step_sd) in [
                    ("gini", 0.4 + 0.01 * p as f64, 0.02, 0.01),
                    ("price", 10.0 + p as f64, 0.5, 0.1),
                    ("level", 100.0, 0.01, 0.001),
                ] {
                    let lvl = centre + run_sd * rng.normal() + shift(p, name);
                    let vals = steps.iter().map(|_| lvl + step_sd * rng.normal()).collect();
                    columns.push((name.to_string(), vals));
                }
                out.push(RunColumns {
                    run_id: p * 1000 + r,
                    point_id: p,
                    replicate: r,
                    seed: seed * 7919 + (p * 1000 + r) as u64,
                    point_label: format!("tau=0.{p}, gamma_wallet=3"),
                    steps,
                    columns,
                });
            }
        }
        out
    }

    #[test]
    fn stat_same_distribution_no_drift() {
        let base = sim(1, 3, 20, 60, |_, _| 0.0);
        let res = sim(2, 3, 20, 60, |_, _| 0.0);
        let o = stat_compare(&res, &base, &StatOptions::default()).unwrap();
        assert_eq!(o.tests.len(), 9);
        assert_eq!(o.drifted, 0, "{}", render_stat(&o, ReportFormat::Table));
        assert!(o.passed());
        for t in &o.tests {
            assert_eq!((t.n_result, t.n_baseline), (20, 20));
            assert!(t.p_adjusted >= t.p_welch.min(t.p_ks));
            assert!(t.p_adjusted <= 1.0);
            assert!(t.notes.is_empty());
        }
        // identical data: p = 1 everywhere
        let o = stat_compare(&base, &base, &StatOptions::default()).unwrap();
        assert!(o
            .tests
            .iter()
            .all(|t| t.p_welch == 1.0 && t.p_ks == 1.0 && t.p_adjusted == 1.0));
    }

    #[test]
    fn stat_large_shift_drifts() {
        let base = sim(1, 3, 20, 60, |_, _| 0.0);
        // +5 run-level sds on price at point 1 only
        let res = sim(
            2,
            3,
            20,
            60,
            |p, m| if p == 1 && m == "price" { 2.5 } else { 0.0 },
        );
        let o = stat_compare(&res, &base, &StatOptions::default()).unwrap();
        assert_eq!(o.drifted, 1, "{}", render_stat(&o, ReportFormat::Table));
        let t = o.tests.iter().find(|t| t.drifted).unwrap();
        assert_eq!((t.point_id, t.metric.as_str()), (1, "price"));
        assert!(t.p_adjusted < 1e-6);
        assert!(t.diff > 2.0 && t.diff > t.tolerance);
        assert!(t.effect_size > 3.0);
        assert_eq!(t.point_label, "tau=0.1, gamma_wallet=3");
        assert!(!o.passed());
    }

    #[test]
    fn stat_shift_below_tolerance_floor_does_not_drift() {
        let base = sim(1, 2, 20, 60, |_, _| 0.0);
        // level: mean 100, run sd 0.01; +0.5 is 50 sds but only 0.5% (< rel_tol 2%)
        let res = sim(2, 2, 20, 60, |_, m| if m == "level" { 0.5 } else { 0.0 });
        let o = stat_compare(&res, &base, &StatOptions::default()).unwrap();
        assert_eq!(o.drifted, 0);
        for t in o.tests.iter().filter(|t| t.metric == "level") {
            assert!(t.p_adjusted < 1e-8, "p_adjusted {}", t.p_adjusted);
            assert_rel(t.tolerance, 2.0, 1e-3, "tolerance");
            assert!(!t.drifted);
        }
        // with a tighter relative tolerance it drifts
        let opts = StatOptions {
            rel_tol: 0.001,
            ..StatOptions::default()
        };
        let o = stat_compare(&res, &base, &opts).unwrap();
        assert_eq!(o.drifted, 2);
    }

    #[test]
    fn stat_uses_only_last_n_steps() {
        let base = sim(1, 1, 10, 60, |_, _| 0.0);
        let mut res = base.clone();
        for r in &mut res {
            for (_, v) in &mut r.columns {
                for x in v.iter_mut().take(30) {
                    *x += 1000.0;
                }
            }
        }
        let o = stat_compare(&res, &base, &StatOptions::default()).unwrap();
        assert_eq!(o.drifted, 0);
        assert!(o.tests.iter().all(|t| t.diff == 0.0));
        let opts = StatOptions {
            last_n: 60,
            ..StatOptions::default()
        };
        assert_eq!(stat_compare(&res, &base, &opts).unwrap().drifted, 3);
    }

    #[test]
    fn stat_metric_selection_and_errors() {
        let base = sim(1, 2, 5, 40, |_, _| 0.0);
        let res = sim(2, 2, 5, 40, |_, _| 0.0);
        let opts = StatOptions {
            metrics: Some(vec!["price".into()]),
            ..StatOptions::default()
        };
        let o = stat_compare(&res, &base, &opts).unwrap();
        assert_eq!(o.tests.len(), 2);
        assert!(o.tests.iter().all(|t| t.metric == "price"));

        let opts = StatOptions {
            metrics: Some(vec!["price".into(), "welfare".into()]),
            ..StatOptions::default()
        };
        let e = stat_compare(&res, &base, &opts).unwrap_err().to_string();
        assert!(e.contains("welfare"), "{e}");

        let res_p0: Vec<RunColumns> = res.iter().filter(|r| r.point_id == 0).cloned().collect();
        let e = stat_compare(&res_p0, &base, &StatOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("point 1") && e.contains("no runs"), "{e}");

        assert!(stat_compare(&res, &[], &StatOptions::default()).is_err());
        let empty = StatOptions {
            metrics: Some(vec![]),
            ..StatOptions::default()
        };
        assert!(stat_compare(&res, &base, &empty).is_err());
        let bad = StatOptions {
            alpha: 0.0,
            ..StatOptions::default()
        };
        assert!(stat_compare(&res, &base, &bad).is_err());
        let bad = StatOptions {
            last_n: 0,
            ..StatOptions::default()
        };
        assert!(stat_compare(&res, &base, &bad).is_err());

        // a column only in the results is noted, not compared
        let mut res2 = res.clone();
        for r in &mut res2 {
            r.columns.push(("extra".into(), vec![1.0; 40]));
        }
        let o = stat_compare(&res2, &base, &StatOptions::default()).unwrap();
        assert_eq!(o.tests.len(), 6);
        assert!(o.notes.iter().any(|n| n.contains("extra")));
    }

    #[test]
    fn stat_degenerate_samples() {
        // one replicate per side: Welch skipped and noted
        let base = sim(1, 1, 1, 40, |_, _| 0.0);
        let res = sim(2, 1, 1, 40, |_, _| 0.0);
        let o = stat_compare(&res, &base, &StatOptions::default()).unwrap();
        for t in &o.tests {
            assert!(t.p_welch.is_nan());
            assert!(t.notes.iter().any(|n| n.contains("Welch test skipped")));
            assert!(!t.drifted);
        }
        // constant and equal on both sides -> p = 1; constant but different -> p = 0, the
        // tolerance decides
        let mk = |v: f64, reps: u32| -> Vec<RunColumns> {
            (0..reps)
                .map(|r| RunColumns {
                    run_id: r,
                    point_id: 0,
                    replicate: r,
                    seed: r as u64,
                    point_label: "p".into(),
                    steps: vec![0, 1],
                    columns: vec![("x".into(), vec![v, v])],
                })
                .collect()
        };
        let o = stat_compare(&mk(3.0, 5), &mk(3.0, 4), &StatOptions::default()).unwrap();
        let t = &o.tests[0];
        assert_eq!(
            (t.p_welch, t.p_ks, t.effect_size, t.drifted),
            (1.0, 1.0, 0.0, false)
        );
        let o = stat_compare(&mk(3.01, 5), &mk(3.0, 4), &StatOptions::default()).unwrap();
        let t = &o.tests[0];
        assert_eq!(
            (t.p_welch, t.effect_size, t.drifted),
            (0.0, f64::INFINITY, false)
        );
        let o = stat_compare(&mk(3.5, 5), &mk(3.0, 4), &StatOptions::default()).unwrap();
        assert!(o.tests[0].drifted);
        // a metric that became NaN in every run is a forced drift
        let o = stat_compare(&mk(f64::NAN, 5), &mk(3.0, 4), &StatOptions::default()).unwrap();
        let t = &o.tests[0];
        assert!(t.drifted && t.n_result == 0 && t.notes.iter().any(|n| n.contains("non-finite")));
        assert_eq!(o.drifted, 1);
    }

    // ---- rendering ----

    /// Minimal XML well-formedness check: one root, balanced tags, attributes quoted, and
    /// every '&' starts a known entity. Returns (element name, unescaped attributes).
    fn check_xml(s: &str) -> Vec<(String, Vec<(String, String)>)> {
        fn check_text(t: &str) {
            let mut rest = t;
            while let Some(i) = rest.find('&') {
                rest = &rest[i + 1..];
                let ok = ["amp;", "lt;", "gt;", "quot;", "apos;"]
                    .iter()
                    .any(|e| rest.starts_with(e))
                    || (rest.starts_with('#')
                        && rest[1..].find(';').is_some_and(|j| {
                            j > 0 && rest[1..1 + j].chars().all(|c| c.is_ascii_digit())
                        }));
                assert!(ok, "bare '&' in {t:?}");
            }
            assert!(!t.contains('<'), "bare '<' in {t:?}");
        }
        fn unescape(t: &str) -> String {
            t.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&#10;", "\n")
                .replace("&#13;", "\r")
                .replace("&#9;", "\t")
                .replace("&amp;", "&")
        }
        let decl_end = s.find("?>").expect("xml declaration");
        assert!(s.starts_with("<?xml "));
        let mut rest = &s[decl_end + 2..];
        let mut stack: Vec<String> = Vec::new();
        let mut elements = Vec::new();
        let mut roots = 0;
        loop {
            let (text, tail) = match rest.find('<') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            check_text(text);
            if stack.is_empty() {
                assert!(text.trim().is_empty(), "text outside the root: {text:?}");
            }
            if tail.is_empty() {
                break;
            }
            let end = tail.find('>').expect("unterminated tag");
            let tag = &tail[1..end];
            rest = &tail[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(name.trim()),
                    "mismatched close"
                );
                continue;
            }
            let self_closing = tag.ends_with('/');
            let body = tag.trim_end_matches('/');
            let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
            let name = body[..name_end].to_string();
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
            );
            let mut attrs = Vec::new();
            let mut a = body[name_end..].trim_start();
            while !a.is_empty() {
                let eq = a.find("=\"").expect("attribute without =\"");
                let key = a[..eq].trim().to_string();
                let after = &a[eq + 2..];
                let close = after.find('"').expect("unterminated attribute");
                let value = &after[..close];
                check_text(value);
                attrs.push((key, unescape(value)));
                a = after[close + 1..].trim_start();
            }
            if stack.is_empty() {
                roots += 1;
            }
            elements.push((name.clone(), attrs));
            if !self_closing {
                stack.push(name);
            }
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        assert_eq!(roots, 1);
        elements
    }

    fn attr<'a>(e: &'a (String, Vec<(String, String)>), k: &str) -> &'a str {
        e.1.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    /// A drifted outcome with hostile labels and metric names and a NaN p-value.
    fn render_fixture() -> StatOutcome {
        let nasty = |mut runs: Vec<RunColumns>| {
            for r in &mut runs {
                r.point_label = format!("tau<0.{} & \"q\"='x' | y", r.point_id);
                r.columns[0].0 = "p&l<1>\"".into();
            }
            runs
        };
        let base = nasty(sim(1, 2, 8, 40, |_, _| 0.0));
        let mut res = nasty(sim(2, 2, 8, 40, |p, m| {
            if p == 0 && m == "price" {
                3.0
            } else {
                0.0
            }
        }));
        for r in res.iter_mut().filter(|r| r.point_id == 1) {
            r.columns[2].1 = vec![f64::NAN; 40];
        }
        stat_compare(&res, &base, &StatOptions::default()).unwrap()
    }

    #[test]
    fn render_stat_junit_is_well_formed() {
        let o = render_fixture();
        assert_eq!(o.drifted, 2);
        let xml = render_stat(&o, ReportFormat::Junit);
        let els = check_xml(&xml);
        assert_eq!(els[0].0, "testsuite");
        assert_eq!(attr(&els[0], "name"), "gardengate-check");
        assert_eq!(attr(&els[0], "tests"), "6");
        assert_eq!(attr(&els[0], "failures"), "2");
        let cases: Vec<_> = els.iter().filter(|e| e.0 == "testcase").collect();
        assert_eq!(cases.len(), o.tests.len());
        for (c, t) in cases.iter().zip(&o.tests) {
            assert_eq!(attr(c, "classname"), format!("point_{}", t.point_id));
            assert_eq!(attr(c, "name"), t.metric);
        }
        assert_eq!(els.iter().filter(|e| e.0 == "failure").count(), 2);
        assert!(xml.contains("p&amp;l&lt;1&gt;&quot;"));
    }

    fn assert_json_close(a: &serde_json::Value, b: &serde_json::Value) {
        use serde_json::Value;
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                assert!((x - y).abs() <= 1e-15 * x.abs().max(y.abs()), "{x} vs {y}");
            }
            (Value::Array(x), Value::Array(y)) => {
                assert_eq!(x.len(), y.len());
                x.iter().zip(y).for_each(|(x, y)| assert_json_close(x, y));
            }
            (Value::Object(x), Value::Object(y)) => {
                assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>());
                x.iter().for_each(|(k, x)| assert_json_close(x, &y[k]));
            }
            (x, y) => assert_eq!(x, y),
        }
    }

    #[test]
    fn render_stat_json_round_trips() {
        let o = render_fixture();
        let json = render_stat(&o, ReportFormat::Json);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["mode"], "stat");
        assert_eq!(v["passed"], false);
        assert_eq!(v["drifted"], 2);
        assert_eq!(v["options"]["last_n"], 30);
        let tests = v["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 6);
        let nan_test = tests
            .iter()
            .find(|t| t["point_id"] == 1 && t["metric"] == "level")
            .unwrap();
        assert_eq!(nan_test["p_welch"], "NaN");
        assert_eq!(nan_test["drifted"], true);
        assert!(tests[0]["p_adjusted"].is_number());
        // deserializes back into the same outcome (serde_json without its
        // `float_roundtrip` feature may parse a float 1 ulp off, hence the tolerance)
        let back: StatOutcome = serde_json::from_str(&json).unwrap();
        let again: serde_json::Value =
            serde_json::from_str(&render_stat(&back, ReportFormat::Json)).unwrap();
        assert_json_close(&again, &v);
        // options deserialize with defaults for missing fields
        let opts: StatOptions = serde_json::from_str(r#"{"alpha": 0.05}"#).unwrap();
        assert_eq!(opts.last_n, 30);
        assert_eq!(opts.alpha, 0.05);
    }

    #[test]
    fn render_stat_markdown_and_table() {
        let o = render_fixture();
        let md = render_stat(&o, ReportFormat::Markdown);
        assert!(md.starts_with("## ❌ gardengate check: 2 of 6 metric tests drifted"));
        assert!(md.contains("### Drifted metrics"));
        assert!(md.contains("<details>") && md.contains("</details>"));
        assert!(md.contains("tau&lt;0.0 &amp; \"q\"='x' \\| y"));
        let table = render_stat(&o, ReportFormat::Table);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[2].starts_with("DRIFT") && lines[3].starts_with("DRIFT"));
        assert!(lines[4].starts_with("ok"));
        assert!(lines
            .last()
            .unwrap()
            .starts_with("FAIL: 2 of 6 metric tests drifted"));

        let base = sim(1, 2, 8, 40, |_, _| 0.0);
        let pass = stat_compare(&base, &base, &StatOptions::default()).unwrap();
        let md = render_stat(&pass, ReportFormat::Markdown);
        assert!(md.starts_with("## ✅ gardengate check: no drift (6 metric tests)"));
        assert!(md.contains("No metric drifted."));
        let table = render_stat(&pass, ReportFormat::Table);
        assert!(table.lines().last().unwrap().starts_with("PASS"));
        check_xml(&render_stat(&pass, ReportFormat::Junit));
    }

    #[test]
    fn render_markdown_caps_rows_for_pr_comments() {
        let mut o = render_fixture();
        let t = o.tests[0].clone();
        o.tests = (0..250)
            .map(|i| MetricTest {
                point_id: i,
                ..t.clone()
            })
            .collect();
        o.drifted = 0;
        let md = render_stat(&o, ReportFormat::Markdown);
        assert!(md.contains("… 50 more not shown"));
        assert!(md.len() < 65_536, "{} chars", md.len());
    }

    #[test]
    fn render_exact_all_formats() {
        let base = base_runs();
        let mut res = base.clone();
        res[0].columns[0].0 = "a<&\"b".into();
        res[0].columns[0].1[0] = f64::NAN;
        let mut b2 = base.clone();
        b2[0].columns[0].0 = "a<&\"b".into();
        let d = exact_compare(&res, &b2).unwrap();
        assert_eq!((d.result.as_str(), d.column.as_str()), ("NaN", "a<&\"b"));
        for diff in [None, Some(&d)] {
            let xml = render_exact(diff, 4, ReportFormat::Junit);
            let els = check_xml(&xml);
            assert_eq!(attr(&els[0], "name"), "gardengate-check");
            assert_eq!(
                els.iter().filter(|e| e.0 == "failure").count(),
                usize::from(diff.is_some())
            );
            let v: serde_json::Value =
                serde_json::from_str(&render_exact(diff, 4, ReportFormat::Json)).unwrap();
            assert_eq!(v["passed"], diff.is_none());
            assert_eq!(v["n_runs"], 4);
            let md = render_exact(diff, 4, ReportFormat::Markdown);
            assert!(md.starts_with(if diff.is_none() { "## ✅" } else { "## ❌" }));
            let table = render_exact(diff, 4, ReportFormat::Table);
            let last = table.lines().last().unwrap();
            assert!(
                last.starts_with(if diff.is_none() { "PASS" } else { "FAIL" }),
                "{last}"
            );
        }
        let v: serde_json::Value =
            serde_json::from_str(&render_exact(Some(&d), 4, ReportFormat::Json)).unwrap();
        assert_eq!(v["diff"]["kind"], "value");
        assert_eq!(v["diff"]["step"], 0);
        assert_eq!(v["diff"]["column"], "a<&\"b");
        let back: ExactDiff = serde_json::from_value(v["diff"].clone()).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn report_format_parses() {
        assert_eq!(
            "md".parse::<ReportFormat>().unwrap(),
            ReportFormat::Markdown
        );
        assert_eq!(
            "JUnit".parse::<ReportFormat>().unwrap(),
            ReportFormat::Junit
        );
        assert!("csv".parse::<ReportFormat>().is_err());
    }
}
