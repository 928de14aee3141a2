//! Issue 14, "nothing lost, nothing silently wrong": the out folder, inputs and checks under
//! attack, through the real binary. Each test is the reproducer of one item.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_gardengate");

const TINY: &str = "name = \"tiny\"\nsteps = 6\nsummary_last_steps = 2\n[consumers]\ncount = 400\n";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn gg(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("binary runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout)
}

fn run(sc: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["run", s(sc), "--out", s(out), "--quiet", "--no-charts"];
    args.extend_from_slice(extra);
    gg(&args)
}

// Item 1: never delete user files.
#[test]
fn baseline_into_a_folder_of_user_files_is_refused_and_deletes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = write(tmp.path(), "t.toml", TINY);
    let dir = tmp.path().join("mine");
    std::fs::create_dir_all(dir.join("runs")).unwrap();
    std::fs::write(dir.join("runs/notes.txt"), "keep me").unwrap();
    std::fs::write(dir.join("summary.csv"), "my,own\n").unwrap();
    let o = gg(&["baseline", s(&sc), "--out", s(&dir)]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("not empty"), "{}", err(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("runs/notes.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("summary.csv")).unwrap(),
        "my,own\n"
    );
    // A baseline folder of its own is rewritten, and keeps a user's file in runs/.
    let b = tmp.path().join("b");
    assert!(gg(&["baseline", s(&sc), "--out", s(&b)]).status.success());
    assert!(
        !b.join("runs").exists(),
        "per-run files are folded into steps.parquet"
    );
    std::fs::create_dir_all(b.join("runs")).unwrap();
    std::fs::write(b.join("runs/notes.txt"), "keep me").unwrap();
    let o = gg(&["baseline", s(&sc), "--out", s(&b)]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(b.join("runs/notes.txt").is_file());
    assert!(b.join("steps.parquet").is_file());
}

#[test]
fn run_force_then_run_keeps_user_files() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = write(tmp.path(), "t.toml", TINY);
    let out = tmp.path().join("out");
    std::fs::create_dir_all(out.join("runs")).unwrap();
    std::fs::write(out.join("runs/notes.txt"), "keep me").unwrap();
    std::fs::write(out.join("charts-notes.txt"), "keep me too").unwrap();
    let o = run(&sc, &out, &[]);
    assert!(!o.status.success(), "a foreign folder is refused");
    let o = run(&sc, &out, &["--force"]);
    assert!(o.status.success(), "{}", err(&o));
    let o = run(&sc, &out, &[]);
    assert!(o.status.success(), "{}", err(&o));
    // A different scenario forced over it, too.
    let other = write(tmp.path(), "u.toml", &TINY.replace("400", "300"));
    let o = run(&other, &out, &["--force"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("runs/notes.txt")).unwrap(),
        "keep me"
    );
    assert!(out.join("charts-notes.txt").is_file());
    assert!(out.join("runs/run-000000.parquet").is_file());
}

// Item 12: leftover temp files of a killed process do not block a resume.
#[test]
fn leftover_temp_files_are_cleaned_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = write(tmp.path(), "t.toml", TINY);
    let out = tmp.path().join("out");
    // A process killed while writing its very first file (plan.json) leaves only its temp.
    std::fs::create_dir_all(out.join("charts")).unwrap();
    std::fs::write(out.join(".plan.json.4242.tmp.json"), "{").unwrap();
    std::fs::write(out.join("charts/.market_shares.png.4242.tmp.png"), "x").unwrap();
    let o = run(&sc, &out, &["--resume"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(!out.join(".plan.json.4242.tmp.json").exists());
    assert!(!out.join("charts/.market_shares.png.4242.tmp.png").exists());
    std::fs::write(out.join("runs/.run-000000.parquet.99.tmp.parquet"), "x").unwrap();
    let o = run(&sc, &out, &["--resume"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(!out.join("runs/.run-000000.parquet.99.tmp.parquet").exists());
}

// Item 5: the scenario identity covers the edge list.
#[test]
fn a_changed_edge_list_is_another_scenario() {
    let tmp = tempfile::tempdir().unwrap();
    let edges: String = (0..399).map(|i| format!("{i},{}\n", i + 1)).collect();
    write(tmp.path(), "e.csv", &edges);
    let sc = write(
        tmp.path(),
        "t.toml",
        &format!("{TINY}[graph]\ngenerator = \"edge_list\"\npath = \"e.csv\"\n"),
    );
    let out = tmp.path().join("out");
    assert!(run(&sc, &out, &[]).status.success());
    write(tmp.path(), "e.csv", &(edges + "0,200\n"));
    let o = run(&sc, &out, &["--resume"]);
    assert!(
        !o.status.success(),
        "resume with a changed edge list must be refused"
    );
    assert!(err(&o).contains("different scenario"), "{}", err(&o));
}

// Item 4: edge lists are validated by `validate`, before any plan.json is written.
#[test]
fn validate_checks_edge_lists() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = write(
        tmp.path(),
        "t.toml",
        &format!("{TINY}[graph]\ngenerator = \"edge_list\"\npath = \"e.csv\"\n"),
    );
    for (text, want) in [
        ("x,1\n0,1\n", "e.csv:1:"),
        ("0,1\n1,2.5\n", "e.csv:2:"),
        ("", "no edges"),
        ("0,1\n1,400\n", "out of range"),
    ] {
        write(tmp.path(), "e.csv", text);
        let o = gg(&["validate", s(&sc)]);
        assert_eq!(o.status.code(), Some(2), "{text:?}: {}", err(&o));
        assert!(err(&o).contains(want), "{text:?}: {}", err(&o));
        let out = tmp.path().join("out");
        let o = run(&sc, &out, &[]);
        assert_eq!(o.status.code(), Some(2), "{}", err(&o));
        assert!(
            !out.join("plan.json").exists(),
            "no plan for a bad edge list"
        );
    }
    std::fs::remove_file(tmp.path().join("e.csv")).unwrap();
    std::fs::create_dir(tmp.path().join("e.csv")).unwrap();
    let o = gg(&["validate", s(&sc)]);
    assert!(err(&o).contains("a directory"), "{}", err(&o));
}

// Item 6: merge checks each run file against the plan.
#[test]
fn merge_refuses_copied_runs_edited_plans_and_impossible_records() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = write(
        tmp.path(),
        "t.toml",
        &format!("{TINY}[sweep]\nreplicates = 2\n"),
    );
    let out = tmp.path().join("out");
    assert!(run(&sc, &out, &[]).status.success());
    assert!(gg(&["merge", s(&out), "--no-charts"]).status.success());
    let runs = out.join("runs");
    let save = |n: &str| std::fs::read(runs.join(n)).unwrap();
    let (p1, j1, j0) = (
        save("run-000001.parquet"),
        save("run-000001.json"),
        save("run-000000.json"),
    );
    // Run 0 copied over run 1.
    std::fs::copy(
        runs.join("run-000000.parquet"),
        runs.join("run-000001.parquet"),
    )
    .unwrap();
    std::fs::copy(runs.join("run-000000.json"), runs.join("run-000001.json")).unwrap();
    let o = gg(&["merge", s(&out), "--no-charts"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("run-000001.json"), "{}", err(&o));
    std::fs::write(runs.join("run-000001.parquet"), &p1).unwrap();
    std::fs::write(runs.join("run-000001.json"), &j1).unwrap();
    // Negative wall time.
    let rec: serde_json::Value = serde_json::from_slice(&j0).unwrap();
    let mut bad = rec.clone();
    bad["wall_s"] = serde_json::json!(-5.0);
    std::fs::write(runs.join("run-000000.json"), bad.to_string()).unwrap();
    let o = gg(&["merge", s(&out), "--no-charts"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("wall_s"), "{}", err(&o));
    std::fs::write(runs.join("run-000000.json"), &j0).unwrap();
    // A plan with a run removed.
    let plan_text = std::fs::read_to_string(out.join("plan.json")).unwrap();
    let mut plan: serde_json::Value = serde_json::from_str(&plan_text).unwrap();
    plan["runs"].as_array_mut().unwrap().pop();
    std::fs::write(out.join("plan.json"), plan.to_string()).unwrap();
    let o = gg(&["merge", s(&out), "--no-charts"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("plan.json"), "{}", err(&o));
    std::fs::write(out.join("plan.json"), plan_text).unwrap();
    assert!(gg(&["merge", s(&out), "--no-charts"]).status.success());
}

// Item 13: a truncated run file is detected and re-run on --resume.
#[test]
fn a_truncated_run_file_is_rerun_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = write(
        tmp.path(),
        "t.toml",
        &format!("{TINY}[sweep]\nreplicates = 2\n"),
    );
    let out = tmp.path().join("out");
    assert!(run(&sc, &out, &[]).status.success());
    let whole = std::fs::read(out.join("runs/run-000001.parquet")).unwrap();
    std::fs::write(
        out.join("runs/run-000001.parquet"),
        &whole[..whole.len() / 2],
    )
    .unwrap();
    let o = gg(&["merge", s(&out), "--no-charts"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("run-000001"), "{}", err(&o));
    let o = run(&sc, &out, &["--resume"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        std::fs::read(out.join("runs/run-000001.parquet")).unwrap(),
        whole
    );
}

// Item 8: the thread count is capped.
#[test]
fn absurd_thread_counts_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = write(tmp.path(), "t.toml", TINY);
    let out = tmp.path().join("out");
    let t0 = std::time::Instant::now();
    let o = run(&sc, &out, &["--threads", "100000"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("at most"), "{}", err(&o));
    assert!(t0.elapsed().as_secs() < 10);
    assert!(!out.exists(), "refused before touching the out folder");
    let o = gg(&["validate", s(&sc), "--threads", "100000"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
}

// Item 14: command-line and file errors.
#[test]
fn replicates_zero_bad_utf8_and_odd_files_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = write(tmp.path(), "t.toml", TINY);
    let out = tmp.path().join("out");
    let o = run(&sc, &out, &["--replicates", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("--replicates 0"), "{}", err(&o));
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, b"name = \"x\"\nsteps = 5\nlabel = \"\xff\"\n").unwrap();
    let o = gg(&["validate", s(&bad)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains(":3") && err(&o).contains("byte 30"),
        "{}",
        err(&o)
    );
    let o = gg(&["validate", s(tmp.path())]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("a directory"), "{}", err(&o));
    let m = write(
        tmp.path(),
        "m.toml",
        "[merchants]\nmargin = [0.1, 0.2, 0.3]\n",
    );
    let o = gg(&["validate", s(&m)]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(
        e.contains("merchants.margin") && e.contains("3 values") && !e.contains("sweep"),
        "{e}"
    );
    let b = gg(&["bench", "--consumers", "0", "--steps", "1"]);
    assert_eq!(b.status.code(), Some(2));
    assert!(!err(&b).contains("Some("), "{}", err(&b));
}

// Item 7: check compares shapes first.
#[test]
fn check_refuses_shape_changes_and_notes_new_columns() {
    use gardengate::output::frame::{read_parquet, write_parquet};
    use polars::prelude::*;
    let tmp = tempfile::tempdir().unwrap();
    let sc = write(
        tmp.path(),
        "t.toml",
        &format!("{TINY}[sweep]\nreplicates = 3\n"),
    );
    let base = tmp.path().join("base");
    assert!(gg(&["baseline", s(&sc), "--out", s(&base)])
        .status
        .success());
    let res = tmp.path().join("res");
    assert!(run(&sc, &res, &[]).status.success());
    let check = |mode: &str| gg(&["check", s(&res), "--baseline", s(&base), "--mode", mode]);
    for mode in ["exact", "stat"] {
        assert_eq!(check(mode).status.code(), Some(0), "{}", err(&check(mode)));
    }
    let steps = res.join("steps.parquet");
    let orig = read_parquet(&steps).unwrap();
    let edit = |f: &dyn Fn(DataFrame) -> DataFrame| {
        let mut df = f(orig.clone());
        write_parquet(&mut df, &steps).unwrap();
    };
    let expect_fail = |what: &str, needle: &str| {
        for mode in ["exact", "stat"] {
            let o = check(mode);
            assert_eq!(o.status.code(), Some(1), "{what} ({mode}): {}", err(&o));
            assert!(err(&o).contains(needle), "{what} ({mode}): {}", err(&o));
        }
    };
    // A dropped metric, a renamed one, a string, a Float32 integer column.
    edit(&|df| df.drop("trips").unwrap());
    expect_fail("dropped", "`trips`");
    edit(&|mut df| {
        df.rename("trips", "trips2".into()).unwrap();
        df
    });
    expect_fail("renamed", "`trips`");
    edit(&|mut df| {
        let c = df.column("trips").unwrap().cast(&DataType::String).unwrap();
        df.with_column(c).unwrap();
        df
    });
    expect_fail("string", "`trips`");
    edit(&|mut df| {
        let c = df
            .column("trips")
            .unwrap()
            .cast(&DataType::Float32)
            .unwrap();
        df.with_column(c).unwrap();
        df
    });
    expect_fail("float32", "f32");
    // 1 of 3 replicates, a duplicated run, a missing last step.
    edit(&|df| {
        df.filter(
            &df.column("run_id")
                .unwrap()
                .as_materialized_series()
                .equal(0)
                .unwrap(),
        )
        .unwrap()
    });
    expect_fail("one replicate", "no rows");
    edit(&|df| {
        let mut d = df.clone();
        let first = df.slice(0, 6);
        d.vstack_mut(&first).unwrap();
        d
    });
    expect_fail("duplicated", "run 0 has 12 rows");
    edit(&|df| {
        df.filter(
            &df.column("step")
                .unwrap()
                .as_materialized_series()
                .lt(5)
                .unwrap(),
        )
        .unwrap()
    });
    expect_fail("last step", "expected steps 0..5");
    // A new column is noted and not compared.
    edit(&|mut df| {
        let n = df.height();
        df.with_column(Column::new("brand_new".into(), vec![1.5f64; n]))
            .unwrap();
        df
    });
    for mode in ["exact", "stat"] {
        let o = check(mode);
        assert_eq!(o.status.code(), Some(0), "new column ({mode}): {}", err(&o));
        assert!(
            err(&o).contains("new column(s) not in baseline, not compared: `brand_new`"),
            "{}",
            err(&o)
        );
    }
    // An unwritable --report-out is exit 2, and unreadable input names the file.
    std::fs::write(tmp.path().join("file"), "x").unwrap();
    let o = gg(&[
        "check",
        s(&res),
        "--baseline",
        s(&base),
        "--mode",
        "exact",
        "--report-out",
        s(&tmp.path().join("file/r.txt")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    std::fs::write(&steps, b"PAR1 not really").unwrap();
    let o = check("exact");
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("steps.parquet"), "{}", err(&o));
}

// Item 11: writers lock the out folder; shards started together join one plan.
#[test]
fn a_locked_folder_is_refused_naming_the_holder_and_shards_start_together() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = write(
        tmp.path(),
        "t.toml",
        &format!("{TINY}[sweep]\nreplicates = 4\n"),
    );
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    {
        let f = std::fs::File::create(out.join(".gardengate.lock")).unwrap();
        f.try_lock().unwrap();
        std::fs::write(
            out.join(".gardengate.lock"),
            "pid 1 on testhost since now\n",
        )
        .unwrap();
        let o = run(&sc, &out, &[]);
        assert_eq!(o.status.code(), Some(1), "{}", err(&o));
        assert!(
            err(&o).contains("in use") && err(&o).contains("testhost"),
            "{}",
            err(&o)
        );
        let o = gg(&["merge", s(&out)]);
        assert!(!o.status.success());
    }
    let out = tmp.path().join("shards");
    let handles: Vec<_> = (0..4u32)
        .map(|i| {
            let (sc, out) = (sc.clone(), out.clone());
            std::thread::spawn(move || {
                Command::new(BIN)
                    .args(["run", s(&sc), "--out", s(&out), "--quiet", "--no-charts"])
                    .args(["--shard", &format!("{i}/4")])
                    .output()
            })
        })
        .collect();
    for h in handles {
        let o = h.join().unwrap().unwrap();
        assert!(o.status.success(), "{}", err(&o));
    }
    let o = gg(&["merge", s(&out), "--no-charts"]);
    assert!(o.status.success(), "{}", err(&o));
}

fn problems(text: &str) -> String {
    match gardengate::scenario::from_text(text, "x.toml", Path::new(".")) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

// Items 2, 3 and 14: narrowed and extreme values are refused at resolve time, on their key,
// also when a sweep sets them.
#[test]
fn narrowing_and_extreme_values_are_refused_on_their_key() {
    for (text, key) in [
        (
            "[merchants]\nprice_median = 42949682.96\nprice_log_sd = 0.0\n",
            "merchants.price_median",
        ),
        (
            "[merchants]\nprice_median = 10000000.0\n",
            "merchants.price_median",
        ),
        ("[links]\ninbox_ttl = 4294967295\n", "links.inbox_ttl"),
        ("days_per_step = 4294967295\n", "days_per_step"),
        ("steps = 365\ndays_per_step = 10000\n", "days_per_step"),
        ("[links]\nbeta_link = 1e308\n", "links.beta_link"),
        (
            "[consumers]\nalpha_median = 1e-308\n",
            "consumers.alpha_median",
        ),
        ("[consumers]\nhome_bias = 1e308\n", "consumers.home_bias"),
        ("[merchants]\nsigma_q = 1e200\n", "merchants.sigma_q"),
        (
            "[[sweep.param]]\npath = \"links.beta_link\"\nvalues = [1.0, 1e308]\n",
            "links.beta_link",
        ),
        (
            "[[sweep.param]]\npath = \"policy.links\"\nvalues = [\"open\", \"closed\"]\n",
            "policy.links",
        ),
    ] {
        let e = problems(text);
        assert!(e.contains(&format!("key `{key}`")), "{text}: {e}");
    }
    // The largest accepted values still simulate to finite welfare.
    let sc = gardengate::scenario::from_text(
        "steps = 3\n[consumers]\ncount = 300\nalpha_median = 1e-6\nloyalty = 40\nsigma_theta = 10\n[links]\nbeta_link = 40\n[merchants]\nsigma_q = 10\nprice_median = 1000\nprice_log_sd = 1\n",
        "x.toml",
        Path::new("."),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut sim =
        gardengate::Simulation::new(std::sync::Arc::new(sc.points[0].scenario.clone()), 1).unwrap();
    sim.run();
    let t = gardengate::metrics::of(&sim);
    for (name, v) in &t.columns {
        if let gardengate::metrics::Values::Float(x) = v {
            assert!(x.iter().all(|v| !v.is_infinite()), "{name}: {x:?}");
            if name.contains("welfare") || name.contains("surplus") {
                assert!(x.iter().all(|v| v.is_finite()), "{name}: {x:?}");
            }
        }
    }
    // A price just below the u32 fen limit is accepted and recorded as given.
    assert_eq!(
        problems("[merchants]\nprice_median = 42000000.0\nprice_log_sd = 0.0\n"),
        ""
    );
}

// Item 10: the plan's own memory is part of the estimate.
#[test]
fn validate_counts_the_plan_in_the_memory_estimate() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = write(
        tmp.path(),
        "t.toml",
        &format!("{TINY}[[sweep.param]]\npath = \"policy.tau\"\nrange = {{ start = 0.0, stop = 1.0, steps = 5000 }}\n"),
    );
    let o = gg(&["validate", s(&sc)]);
    assert!(o.status.success(), "{}", err(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let mib: f64 = text
        .split("plus ")
        .nth(1)
        .and_then(|r| r.split(" MiB for the plan").next())
        .and_then(|x| x.trim().parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    // 5000 resolved points of several KiB each.
    assert!(mib >= 20.0, "{text}");
}

// Item 10: plan.json holds one full resolved scenario and a merge patch per point, from which
// every point's resolved scenario is recovered exactly; its size grows by the patches only.
#[test]
fn plan_record_is_compact_and_recovers_every_point() {
    use gardengate::experiment::store::{apply_merge_patch, PlanRecord};
    let text = format!(
        "{TINY}[[sweep.param]]\npath = \"policy.tau\"\nrange = {{ start = 0.0, stop = 1.0, steps = 2000 }}\n\
         [[sweep.param]]\npath = \"platforms.taobao.default_wallet\"\nvalues = [\"alipay\", \"none\"]\n"
    );
    let plan = gardengate::scenario::from_text(&text, "t.toml", Path::new(".")).unwrap();
    assert_eq!(plan.points.len(), 4000);
    let rec = PlanRecord::from_plan(&plan, 1);
    assert_eq!(rec.resolved_patches.len(), 4000);
    for (p, patch) in plan.points.iter().zip(&rec.resolved_patches) {
        let mut v = rec.resolved_base.clone();
        apply_merge_patch(&mut v, patch);
        let want = serde_json::to_value(&p.scenario).unwrap();
        // A `None` that was `Some` at point 0 comes back as an absent key.
        assert_eq!(strip_nulls(v), strip_nulls(want), "point {}", p.id);
    }
    // A sweep of a scalar: each point adds its patch, label and run, not a copy.
    let text = format!(
        "{TINY}[[sweep.param]]\npath = \"policy.tau\"\nrange = {{ start = 0.0, stop = 1.0, steps = 5000 }}\n"
    );
    let plan = gardengate::scenario::from_text(&text, "t.toml", Path::new(".")).unwrap();
    let rec = PlanRecord::from_plan(&plan, 1);
    let full = serde_json::to_string(&rec.resolved_base).unwrap().len();
    let written = serde_json::to_string(&rec).unwrap().len();
    assert!(
        written < full + 5000 * 400,
        "plan.json {written} bytes for 5000 points (one scenario is {full} bytes)"
    );
}

fn strip_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k, strip_nulls(x)))
                .collect(),
        ),
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(strip_nulls).collect())
        }
        x => x,
    }
}
