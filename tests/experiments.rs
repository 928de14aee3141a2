//! The experiment workflow through the real binary: outputs of a sweep, resume after a
//! `kill -9`, and refusing an out folder that holds another scenario's results.

use gardengate::output::frame::read_parquet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_gardengate");

const SWEEP: &str = r#"
name = "tiny-sweep"
seed = 3
steps = 40
start_date = "2021-09-01"
summary_last_steps = 10
[consumers]
count = 3000
[[events]]
date = "2021-09-17"
kind = "link"
social = "wechat"
channel = "dm"
target = "ali"
state = "open"
label = "WeChat opens DMs"
[sweep]
replicates = 2
[[sweep.param]]
path = "policy.tau"
column = "tau"
values = [0.1, 0.4]
[[sweep.param]]
path = "policy.wallets"
column = "wallets"
values = ["house", "interoperable"]
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn gg(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().expect("binary runs")
}

#[test]
fn a_sweep_writes_tidy_data_summary_manifest_and_charts() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = write(tmp.path(), "tiny.toml", SWEEP);
    let out = tmp.path().join("out");
    let o = gg(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--threads",
        "2",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let steps = read_parquet(&out.join("steps.parquet")).unwrap();
    assert_eq!(
        steps.height(),
        4 * 2 * 40,
        "points × replicates × steps rows"
    );
    for c in [
        "run_id",
        "point_id",
        "replicate",
        "seed",
        "step",
        "date",
        "tau",
        "wallets",
        "trips",
        "outside",
        "primary",
        "secondary",
        "adopted",
        "abandoned",
        "links_shared",
        "links_open",
        "links_blocked",
        "links_token",
        "links_overflow",
        "consumer_surplus",
        "merchant_profit",
        "platform_revenue",
        "total_welfare",
        "hhi_wallet",
        "hhi_commerce",
        "wallets_per_consumer",
        "multihoming_share",
        "apps_per_consumer",
        "merchant_multihoming_share",
        "wallet_count__alipay",
        "wallet_value__wechat_pay",
        "gmv__taobao",
        "gmv_eco__ali",
        "revenue__tencent",
    ] {
        assert!(steps.column(c).is_ok(), "steps.parquet lacks `{c}`");
    }
    assert_eq!(
        steps.column("date").unwrap().dtype(),
        &polars::prelude::DataType::Date
    );
    // Interoperable wallets: nothing is abandoned, at every step of every run.
    let summary = read_parquet(&out.join("summary.parquet")).unwrap();
    assert_eq!(summary.height(), 4);
    let ab = summary.column("abandoned_mean").unwrap().f64().unwrap();
    let wallets = summary.column("wallets").unwrap().str().unwrap();
    for k in 0..4 {
        if wallets.get(k) == Some("interoperable") {
            assert_eq!(ab.get(k), Some(0.0));
        } else {
            assert!(ab.get(k).unwrap() > 0.0);
        }
    }
    assert!(
        summary.column("consumer_surplus_ci95").is_ok()
            && summary.column("total_welfare_sd").is_ok()
    );
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["runs"].as_array().unwrap().len(), 8);
    assert!(
        manifest["runs"][3]["seed"].as_u64().is_some()
            && manifest["runs"][3]["wall_s"].as_f64().is_some()
    );
    assert!(
        manifest["git_commit"].is_string()
            && manifest["scenario_hash"].as_str().unwrap().len() == 64
    );
    for chart in [
        "wallet_shares",
        "gmv_share_by_ecosystem",
        "welfare",
        "heatmap__tau__wallets__total_welfare",
    ] {
        for ext in ["png", "svg"] {
            let p = out.join("charts").join(format!("{chart}.{ext}"));
            assert!(
                p.metadata().map(|m| m.len() > 2000).unwrap_or(false),
                "{} missing or empty",
                p.display()
            );
        }
    }
    let svg = std::fs::read_to_string(out.join("charts/wallet_shares.svg")).unwrap();
    assert!(
        svg.contains("WeChat opens DMs"),
        "event marked on the time axis"
    );
    // No temporary files left behind.
    let leftovers: Vec<_> = walk(&out)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(".tmp"))
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v
}

#[test]
fn resume_after_kill_gives_the_same_data() {
    let tmp = tempfile::tempdir().unwrap();
    // Eight runs of a few hundred milliseconds each.
    let text = SWEEP
        .replace("count = 3000", "count = 30000")
        .replace("steps = 40", "steps = 150");
    let sc = write(tmp.path(), "tiny.toml", &text);
    let whole = tmp.path().join("whole");
    let o = gg(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        whole.to_str().unwrap(),
        "--quiet",
        "--no-charts",
    ]);
    assert!(o.status.success());

    let cut = tmp.path().join("cut");
    let mut child = Command::new(BIN)
        .args([
            "run",
            sc.to_str().unwrap(),
            "--out",
            cut.to_str().unwrap(),
            "--quiet",
            "--no-charts",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let runs = cut.join("runs");
    let finished = || {
        std::fs::read_dir(&runs)
            .map(|d| {
                d.flatten()
                    .filter(|e| {
                        e.file_name().to_string_lossy().starts_with("run-")
                            && e.path().extension().is_some_and(|x| x == "json")
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    let t0 = std::time::Instant::now();
    while finished() < 1 && t0.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done_before = finished();
    assert!(
        (1..8).contains(&done_before),
        "killed mid-sweep ({done_before} runs finished)"
    );
    assert!(
        !cut.join("steps.parquet").exists(),
        "no final outputs from an interrupted sweep"
    );
    // Runs of small worlds go side by side, so any of them may have finished first.
    let done = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .min()
        .unwrap()
        .with_extension("parquet");
    let first = std::fs::metadata(&done).unwrap().modified().unwrap();

    let o = gg(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        cut.to_str().unwrap(),
        "--resume",
        "--no-charts",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("{done_before} of 8 runs already finished")),
        "{err}"
    );
    assert_eq!(
        std::fs::metadata(&done).unwrap().modified().unwrap(),
        first,
        "finished runs are not redone"
    );
    let a = read_parquet(&whole.join("steps.parquet")).unwrap();
    let b = read_parquet(&cut.join("steps.parquet")).unwrap();
    assert!(
        a.equals_missing(&b),
        "resumed data differ from an uninterrupted run"
    );
    assert_eq!(
        std::fs::read(whole.join("summary.csv")).unwrap(),
        std::fs::read(cut.join("summary.csv")).unwrap()
    );
}

#[test]
fn an_out_folder_of_another_scenario_is_refused_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write(
        tmp.path(),
        "a.toml",
        "name = \"a\"\nsteps = 5\n[consumers]\ncount = 500\n",
    );
    let b = write(
        tmp.path(),
        "b.toml",
        "name = \"b\"\nsteps = 5\n[consumers]\ncount = 600\n",
    );
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    assert!(gg(&["run", a.to_str().unwrap(), "--out", o, "--quiet"])
        .status
        .success());
    let r = gg(&["run", b.to_str().unwrap(), "--out", o, "--quiet"]);
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("different scenario") && err.contains("`a`") && err.contains("--force"),
        "{err}"
    );
    // The other scenario's results are untouched.
    assert!(out.join("steps.parquet").is_file());
    assert!(
        gg(&["run", b.to_str().unwrap(), "--out", o, "--quiet", "--force"])
            .status
            .success()
    );
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["scenario_name"], "b");
    // A folder of unrelated files is refused too.
    let other = tmp.path().join("mine");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "x").unwrap();
    let r = gg(&[
        "run",
        a.to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(!r.status.success() && String::from_utf8_lossy(&r.stderr).contains("not empty"));
}

#[test]
fn bad_scenarios_exit_2_with_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = write(tmp.path(), "bad.toml", "steps = 10\n[policy]\ntau = 1.5\n");
    let r = gg(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        tmp.path().join("o").to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("bad.toml:3") && err.contains("policy.tau") && err.contains("[0, 1]"),
        "{err}"
    );
    let v = gg(&["validate", sc.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(2));
    let ok = gg(&["validate", "experiments/china-2021.toml"]);
    assert!(ok.status.success());
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(
        text.contains("pending approval") && text.contains("estimated peak memory"),
        "{text}"
    );
}
