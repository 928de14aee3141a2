//! `gardengate check` end to end: the real binary runs scenarios into temporary folders and
//! checks them against each other, in exact and stat mode, with every report format and the
//! exit codes 0 (holds), 1 (drift) and 2 (bad input).
//!
//! Kept small on purpose (a few runs of experiments/ci.toml with few replicates and a tiny
//! scenario): the whole file takes well under a minute in release on 2 cores.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_gardengate");

/// A tiny scenario of another name than `ci`, with the same sweep column (runs in < 1 s).
const TINY: &str = r#"name = "tiny"
description = "A tiny world for the check tests."
seed = 3
steps = 10
summary_last_steps = 5

[consumers]
count = 300

[sweep]
replicates = 2

[[sweep.param]]
path = "policy.links"
column = "links"
values = ["walled", "open"]
"#;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn ci_toml() -> PathBuf {
    repo().join("experiments/ci.toml")
}

/// Runs the binary in the repository root.
fn gg<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(BIN)
        .args(args)
        .current_dir(repo())
        .output()
        .expect("the gardengate binary starts")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    )
}

/// `gardengate run SCENARIO --out OUT --quiet --no-charts EXTRA...`; panics unless it succeeds.
fn run_into(scenario: &Path, out: &Path, extra: &[&str]) {
    let mut args: Vec<std::ffi::OsString> =
        vec!["run".into(), scenario.into(), "--out".into(), out.into()];
    args.extend(["--quiet", "--no-charts"].map(Into::into));
    args.extend(extra.iter().map(Into::into));
    let o = gg(&args);
    assert_eq!(
        code(&o),
        0,
        "run {} failed:\n{}",
        scenario.display(),
        show(&o)
    );
    assert!(
        out.join("steps.parquet").is_file(),
        "no steps.parquet in {}",
        out.display()
    );
}

/// `gardengate check RESULTS --baseline BASELINE EXTRA...`.
fn check(results: &Path, baseline: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<std::ffi::OsString> = vec![
        "check".into(),
        results.into(),
        "--baseline".into(),
        baseline.into(),
    ];
    args.extend(extra.iter().map(Into::into));
    gg(&args)
}

/// ci.toml with `policy.tau` set to `tau` (inserted into the `[policy]` table, which is
/// created when the scenario has none), same name; written into `dir`.
fn ci_with_tau(dir: &Path, tau: f64) -> PathBuf {
    let src = std::fs::read_to_string(ci_toml()).expect("read experiments/ci.toml");
    let mut doc: toml::Table = src.parse().expect("ci.toml is TOML");
    let policy = doc
        .entry("policy")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .expect("[policy] is a table");
    policy.insert("tau".into(), toml::Value::Float(tau));
    assert_eq!(doc.get("name").and_then(|v| v.as_str()), Some("ci"));
    let path = dir.join(format!("ci-tau-{tau}.toml"));
    std::fs::write(&path, toml::to_string(&doc).expect("serialize")).expect("write scenario");
    path
}

fn tiny_toml(dir: &Path, tau: Option<f64>) -> PathBuf {
    let mut t = TINY.to_string();
    let name = match tau {
        Some(tau) => {
            t.push_str(&format!("\n[policy]\ntau = {tau:?}\n"));
            format!("tiny-tau-{tau}.toml")
        }
        None => "tiny.toml".to_string(),
    };
    let path = dir.join(name);
    std::fs::write(&path, t).expect("write scenario");
    path
}

/// The first difference between two results folders, found by brute force in the order
/// `check --mode exact` documents (run id, then step, then the baseline's column order):
/// `(run_id, step, column)`.
fn first_value_difference(results: &Path, baseline: &Path) -> Option<(u32, i64, String)> {
    let load = |p: &Path| match gardengate::check::load::load_runs(p) {
        Ok((_, runs)) => runs
            .into_iter()
            .map(|r| (r.run_id, r))
            .collect::<BTreeMap<_, _>>(),
        Err(e) => panic!("load {}: {e}", p.display()),
    };
    let (res, base) = (load(results), load(baseline));
    assert_eq!(
        res.keys().collect::<Vec<_>>(),
        base.keys().collect::<Vec<_>>(),
        "same run ids"
    );
    for (id, b) in &base {
        let r = &res[id];
        assert_eq!(r.steps, b.steps);
        for (i, step) in b.steps.iter().enumerate() {
            for (name, bv) in &b.columns {
                let rv = &r
                    .columns
                    .iter()
                    .find(|(n, _)| n == name)
                    .expect("same columns")
                    .1;
                if rv[i].to_bits() != bv[i].to_bits() {
                    return Some((*id, *step, name.clone()));
                }
            }
        }
    }
    None
}

/// A light well-formedness check of XML: every start tag is closed in order.
fn assert_balanced_xml(xml: &str) {
    assert!(xml.starts_with("<?xml"), "no XML declaration:\n{xml}");
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find('<') {
        let j = rest[i..].find('>').expect("unterminated tag") + i;
        let tag = &rest[i + 1..j];
        rest = &rest[j + 1..];
        if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        let name = tag
            .trim_start_matches('/')
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        if tag.starts_with('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.as_str()),
                "mismatched </{name}>:\n{xml}"
            );
        } else {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed tags {stack:?}:\n{xml}");
}

/// A markdown table: a header row followed by a `|---|` separator row.
fn has_markdown_table(md: &str) -> bool {
    let lines: Vec<&str> = md.lines().collect();
    lines.windows(2).any(|w| {
        w[0].trim_start().starts_with('|')
            && w[1].trim_start().starts_with("|")
            && w[1].contains("---")
            && w[1].chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
    })
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", show(o)))
}

#[test]
fn identical_output_passes_and_exact_mode_names_the_first_difference() {
    let tmp = TempDir::new().unwrap();
    let (a, b, t) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("tau"),
    );
    run_into(&ci_toml(), &a, &["--replicates", "4"]);
    run_into(&ci_toml(), &b, &["--replicates", "4"]);

    // Same scenario, same seeds: bit-identical, and the same distribution.
    let o = check(&a, &b, &["--mode", "exact"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(text(&o.stdout).contains("PASS"), "{}", show(&o));
    let o = check(&a, &b, &["--mode", "stat"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(text(&o.stdout).contains("PASS"), "{}", show(&o));

    // One parameter changed (tau 0.2 -> 0.3), same name and seeds.
    let scenario = ci_with_tau(tmp.path(), 0.3);
    run_into(&scenario, &t, &["--replicates", "4"]);
    let (run, step, column) = first_value_difference(&t, &a).expect("tau changes some value");
    let o = check(&t, &a, &["--mode", "exact"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let out = text(&o.stdout);
    let verdict = out
        .lines()
        .find(|l| l.starts_with("FAIL"))
        .unwrap_or_else(|| panic!("no FAIL line:\n{out}"));
    for want in [
        format!("run {run} "),
        format!("step {step},"),
        format!("column '{column}'"),
    ] {
        assert!(
            verdict.contains(&want),
            "`{want}` not in the verdict `{verdict}`"
        );
    }
    // The JSON report names the same place.
    let o = check(&t, &a, &["--mode", "exact", "--report", "json"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let j = json(&o);
    assert_eq!(j["passed"], false);
    assert_eq!(j["diff"]["kind"], "value");
    assert_eq!(j["diff"]["run_id"], run);
    assert_eq!(j["diff"]["step"], step);
    assert_eq!(j["diff"]["column"], column.as_str());
}

#[test]
fn stat_mode_passes_other_seeds_and_fails_on_a_parameter_change() {
    let tmp = TempDir::new().unwrap();
    let (base, seeds, tau) = (
        tmp.path().join("base"),
        tmp.path().join("seeds"),
        tmp.path().join("tau"),
    );
    run_into(&ci_toml(), &base, &[]);
    run_into(&ci_toml(), &seeds, &["--seed", "12345"]);
    run_into(&ci_with_tau(tmp.path(), 0.3), &tau, &[]);

    // Other seeds of the same model: not bit-identical, but the same distribution.
    let o = check(&seeds, &base, &["--mode", "exact"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let o = check(&seeds, &base, &["--mode", "stat"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(text(&o.stdout).contains("PASS: no drift"), "{}", show(&o));

    // tau 0.2 -> 0.3 (same seeds as the baseline): a drift, naming the metric tau drives.
    let o = check(&tau, &base, &["--mode", "stat"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let out = text(&o.stdout);
    assert!(out.contains("FAIL"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("DRIFT") && l.split_whitespace().any(|w| w == "links_token")),
        "links_token not reported as drifted:\n{out}"
    );

    // The reports of a drift.
    let o = check(&tau, &base, &["--mode", "stat", "--report", "json"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let j = json(&o);
    assert_eq!(j["mode"], "stat");
    assert_eq!(j["passed"], false);
    let tests = j["tests"].as_array().expect("tests");
    let drifted: Vec<&str> = tests
        .iter()
        .filter(|t| t["drifted"] == true)
        .filter_map(|t| t["metric"].as_str())
        .collect();
    assert_eq!(j["drifted"].as_u64(), Some(drifted.len() as u64));
    assert!(drifted.contains(&"links_token"), "drifted: {drifted:?}");
    for t in tests.iter().filter(|t| t["drifted"] == true) {
        let p = t["p_adjusted"].as_f64().expect("finite p");
        assert!(p < 0.01, "{t}");
        assert!(
            t["diff"].as_f64().unwrap().abs() > t["tolerance"].as_f64().unwrap(),
            "{t}"
        );
    }

    let o = check(&tau, &base, &["--mode", "stat", "--report", "md"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let md = text(&o.stdout);
    assert!(has_markdown_table(&md), "{md}");
    let section = md
        .split("### Drifted metrics")
        .nth(1)
        .expect("a drifted-metrics section");
    assert!(
        section
            .split("<details>")
            .next()
            .unwrap()
            .contains("| links_token |"),
        "{md}"
    );

    let o = check(&tau, &base, &["--mode", "stat", "--report", "junit"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let xml = text(&o.stdout);
    assert_balanced_xml(&xml);
    assert!(xml.contains("<testsuite"), "{xml}");
    assert!(
        xml.contains(&format!("failures=\"{}\"", drifted.len())),
        "{xml}"
    );
    assert!(xml.contains("name=\"links_token\">\n    <failure"), "{xml}");
}

#[test]
fn bad_input_exits_2_with_a_message() {
    let tmp = TempDir::new().unwrap();
    let (ci, tiny) = (tmp.path().join("ci"), tmp.path().join("tiny"));
    run_into(&ci_toml(), &ci, &["--replicates", "2"]);
    run_into(&tiny_toml(tmp.path(), None), &tiny, &[]);
    let nosteps = tmp.path().join("nosteps");
    std::fs::create_dir(&nosteps).unwrap();
    std::fs::copy(ci.join("plan.json"), nosteps.join("plan.json")).unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let missing = tmp.path().join("no-such-folder");

    let expect_2 = |o: Output, fragments: &[&str]| {
        assert_eq!(code(&o), 2, "{}", show(&o));
        let err = text(&o.stderr);
        assert!(err.starts_with("error: "), "{}", show(&o));
        for f in fragments {
            assert!(err.contains(f), "`{f}` not in stderr:\n{}", show(&o));
        }
        assert!(
            o.stdout.is_empty(),
            "bad input must not print a report:\n{}",
            show(&o)
        );
    };
    let miss = missing.display().to_string();
    for mode in ["exact", "stat"] {
        expect_2(
            check(&missing, &ci, &["--mode", mode]),
            &[&miss, "no such folder"],
        );
        expect_2(
            check(&ci, &missing, &["--mode", mode]),
            &[&miss, "no such folder"],
        );
        expect_2(
            check(&ci, &tiny, &["--mode", mode]),
            &["another scenario", "`ci`", "`tiny`"],
        );
        expect_2(check(&tiny, &ci, &["--mode", mode]), &["another scenario"]);
        expect_2(
            check(&nosteps, &ci, &["--mode", mode]),
            &["steps.parquet", "missing"],
        );
        expect_2(
            check(&ci, &nosteps, &["--mode", mode]),
            &["steps.parquet", "missing"],
        );
        expect_2(check(&ci, &empty, &["--mode", mode]), &["plan.json"]);
    }
    // Bad options of stat mode.
    expect_2(
        check(&ci, &ci, &["--tolerance", "rel=abc"]),
        &["--tolerance"],
    );
    expect_2(check(&ci, &ci, &["--alpha", "0"]), &["alpha"]);
    expect_2(
        check(&ci, &ci, &["--metrics", "no_such_metric"]),
        &["no_such_metric"],
    );
}

#[test]
fn reports_md_junit_json() {
    let tmp = TempDir::new().unwrap();
    let (a, b, t) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("tau"),
    );
    run_into(&tiny_toml(tmp.path(), None), &a, &[]);
    run_into(&tiny_toml(tmp.path(), None), &b, &[]);
    run_into(&tiny_toml(tmp.path(), Some(0.9)), &t, &[]);
    assert!(
        first_value_difference(&t, &a).is_some(),
        "tau 0.9 changes the tiny world"
    );

    // (results, mode, expected exit)
    let cases = [(&b, "exact", 0), (&t, "exact", 1), (&b, "stat", 0)];
    for (results, mode, want) in cases {
        let what = format!("{mode} check of {}", results.display());

        let o = check(results, &a, &["--mode", mode, "--report", "md"]);
        assert_eq!(code(&o), want, "{what}: {}", show(&o));
        let md = text(&o.stdout);
        assert!(md.starts_with("## "), "{what}: {md}");
        assert!(
            md.contains(if want == 0 { "✅" } else { "❌" }),
            "{what}: {md}"
        );
        if !(mode == "exact" && want == 0) {
            assert!(has_markdown_table(&md), "{what}: no markdown table:\n{md}");
        }

        let o = check(results, &a, &["--mode", mode, "--report", "junit"]);
        assert_eq!(code(&o), want, "{what}: {}", show(&o));
        let xml = text(&o.stdout);
        assert_balanced_xml(&xml);
        assert!(
            xml.contains("<testsuite name=\"gardengate-check\""),
            "{what}: {xml}"
        );
        assert_eq!(xml.contains("<failure"), want == 1, "{what}: {xml}");

        let out_file = tmp.path().join(format!("report-{mode}-{want}.json"));
        let o = check(
            results,
            &a,
            &[
                "--mode",
                mode,
                "--report",
                "json",
                "--report-out",
                out_file.to_str().unwrap(),
            ],
        );
        assert_eq!(code(&o), want, "{what}: {}", show(&o));
        let j = json(&o);
        assert_eq!(j["mode"], mode, "{what}: {j}");
        assert_eq!(j["passed"], want == 0, "{what}: {j}");
        match mode {
            "exact" => assert_eq!(j["diff"].is_null(), want == 0, "{what}: {j}"),
            _ => assert!(
                !j["tests"].as_array().expect("tests").is_empty(),
                "{what}: {j}"
            ),
        }
        let written = std::fs::read(&out_file).expect("--report-out writes the report");
        assert_eq!(
            written, o.stdout,
            "{what}: --report-out differs from stdout"
        );
    }
}
