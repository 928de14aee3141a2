//! `gardengate calibrate`: parameter recovery, determinism (repeat and thread count), resume
//! after a kill without repeating evaluations, and bad input with file:line:key errors.
//!
//! The world is small (1 500 consumers, 60 steps) so the whole file runs in seconds.

use gardengate::experiment::calibrate::{self, log::Evaluation, Options, Setup};
use gardengate::metrics::msm;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_gardengate");

/// The true values the data are simulated at.
const TAU: f64 = 0.3;
const SHARE_PROB: f64 = 0.1;

fn scenario(seed: u64) -> String {
    format!(
        "name = \"calib-test\"\nseed = {seed}\nsteps = 60\nstart_date = \"2021-01-01\"\n\n[consumers]\ncount = 1500\n\n[links]\nshare_prob = {SHARE_PROB}   # the truth\n\n[policy]\ntau = {TAU}\n"
    )
}

/// Targets with the given observed values and standard errors, and the free parameters.
fn targets(values: &[f64], se: &[f64], max_evals: u32) -> String {
    format!(
        r#"title = "recovery test"

[[targets]]
name = "token_share"
share = "links_token"
of = ["links_token", "links_lost"]
window = {{ from = 10, to = 59 }}
value = {}
se = {}
source = "simulated at tau = 0.3, share_prob = 0.1"

[[targets]]
name = "links_shared"
metric = "links_shared"
window = {{ from = "2021-01-11", to = "2021-03-01", stat = "mean" }}
value = {}
se = {}
source = "simulated"

[[targets]]
name = "sales"
metric = "sales"
window = {{ from = 10, to = 59, stat = "mean" }}
value = {}
se = {}
source = "simulated"

[calibrate]
replicates = 4
max_evals = {max_evals}

[[calibrate.param]]
path = "policy.tau"
bounds = [0.05, 0.6]
start = 0.15

[[calibrate.param]]
path = "links.share_prob"
bounds = [0.02, 0.4]
log = true
start = 0.25
"#,
        values[0], se[0], values[1], se[1], values[2], se[2]
    )
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Files {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// The data: the mean of 8 replicates of another seed at the true values, with the standard
/// error of that mean (what a sample of that size would give).
fn data(files: &Files) -> (Vec<f64>, Vec<f64>) {
    let sc = files.write("data.toml", &scenario(99));
    let placeholder = files.write(
        "t0.toml",
        &targets(&[0.3, 100.0, 100.0], &[1.0, 1.0, 1.0], 60),
    );
    let mut setup = calibrate::load(&sc, &placeholder).unwrap();
    setup.cal.replicates = 8;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let reps = calibrate::simulate(&setup, &pool, &[TAU, SHARE_PROB]).unwrap();
    let mean = msm::mean_moments(&reps);
    let cov = msm::covariance(&reps);
    let se = (0..mean.len())
        .map(|i| (cov[i][i] / reps.len() as f64).sqrt())
        .collect();
    (mean, se)
}

fn setup(files: &Files, max_evals: u32) -> Setup {
    let (v, se) = data(files);
    let sc = files.write("model.toml", &scenario(1));
    let t = files.write("targets.toml", &targets(&v, &se, max_evals));
    calibrate::load(&sc, &t).unwrap()
}

fn opts(dir: &Path, threads: usize) -> Options {
    Options {
        dir: dir.to_path_buf(),
        threads: Some(threads),
        resume: false,
        force: false,
        max_evals: None,
        stop_after: None,
        progress: None,
    }
}

fn same(a: &[Evaluation], b: &[Evaluation]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.index == y.index && x.phase == y.phase && x.u == y.u && x.moments == y.moments
        })
}

/// Simulate at known values, take the moments of another seed as targets, start elsewhere:
/// the estimates fall within 3 reported standard errors of the truth, the standard errors are
/// small against the box (both identified), and the outputs are written.
#[test]
fn recovers_known_parameters_within_their_standard_errors() {
    let files = Files::new();
    let s = setup(&files, 80);
    let out_dir = files.dir.path().join("out/calibration");
    let o = calibrate::calibrate(&s, &opts(&out_dir, 2)).unwrap();
    let inf = o.inference.clone().unwrap();
    let theta = s.theta(&o.evaluations[o.best].unit());
    for (j, truth) in [TAU, SHARE_PROB].iter().enumerate() {
        let p = &s.cal.params[j];
        eprintln!(
            "recovered {}: truth {truth}, start {}, estimate {:.5}, se {:.5}",
            p.name, p.start, theta[j], inf.se[j]
        );
        assert!(
            inf.not_identified[j].is_none(),
            "{}: {:?}",
            p.name,
            inf.not_identified[j]
        );
        assert!(
            inf.se[j] > 0.0 && inf.se[j] < 0.1 * p.width(theta[j]),
            "{}: se {}",
            p.name,
            inf.se[j]
        );
        assert!(
            (theta[j] - truth).abs() <= 3.0 * inf.se[j],
            "{}: estimate {} vs truth {truth}, se {}",
            p.name,
            theta[j],
            inf.se[j]
        );
        // The start was elsewhere: the optimiser moved.
        assert!((p.start - truth).abs() > 5.0 * inf.se[j]);
    }
    for f in [
        "evaluations.json",
        "evaluations.parquet",
        "fit.csv",
        "fit.parquet",
        "params.csv",
        "best.json",
        "fit.png",
        "fit.svg",
        "model-calibrated.toml",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} missing");
    }
    // The calibrated scenario runs as it is and holds the fitted values.
    let text = std::fs::read_to_string(out_dir.join("model-calibrated.toml")).unwrap();
    assert!(text.contains("# the truth"), "comments are kept");
    let plan = gardengate::scenario::from_text(&text, "c.toml", files.dir.path()).unwrap();
    assert_eq!(plan.source.policy.tau, theta[0]);
}

/// The same calibration twice, and with 1 and 2 threads: the same evaluations, bit for bit.
#[test]
fn evaluations_are_bit_identical_across_repeats_and_threads() {
    let files = Files::new();
    let s = setup(&files, 14);
    let a = calibrate::calibrate(&s, &opts(&files.dir.path().join("a"), 1)).unwrap();
    let b = calibrate::calibrate(&s, &opts(&files.dir.path().join("b"), 2)).unwrap();
    let c = calibrate::calibrate(&s, &opts(&files.dir.path().join("c"), 2)).unwrap();
    assert!(a.evaluations.len() >= 14);
    assert!(same(&a.evaluations, &b.evaluations), "1 vs 2 threads");
    assert!(same(&b.evaluations, &c.evaluations), "repeat");
    let pa = std::fs::read(files.dir.path().join("a/evaluations.parquet")).unwrap();
    let pb = std::fs::read(files.dir.path().join("b/evaluations.parquet")).unwrap();
    assert_eq!(pa, pb, "evaluations.parquet");
}

/// Stop after k evaluations as if killed, resume: nothing is evaluated twice, and the result
/// is the uninterrupted calibration's, bit for bit.
#[test]
fn resume_after_a_kill_repeats_no_evaluation() {
    let files = Files::new();
    let s = setup(&files, 16);
    let whole = calibrate::calibrate(&s, &opts(&files.dir.path().join("whole"), 2)).unwrap();
    let dir = files.dir.path().join("killed");
    let mut o = opts(&dir, 2);
    o.stop_after = Some(7);
    let first = calibrate::calibrate(&s, &o).unwrap();
    assert!(first.stopped && first.new_evals == 7 && first.evaluations.len() == 7);
    assert!(
        !dir.join("best.json").exists(),
        "a killed run writes only its log"
    );
    // Without --resume an existing log is refused.
    let e = calibrate::calibrate(&s, &opts(&dir, 2)).unwrap_err();
    assert!(format!("{e:#}").contains("--resume"), "{e:#}");
    let mut o = opts(&dir, 1);
    o.resume = true;
    let rest = calibrate::calibrate(&s, &o).unwrap();
    assert_eq!(rest.new_evals as usize, whole.evaluations.len() - 7);
    assert!(same(&rest.evaluations, &whole.evaluations));
    let mut seen = std::collections::HashSet::new();
    assert!(
        rest.evaluations.iter().all(|e| seen.insert(e.u.clone())),
        "an evaluation repeated"
    );
    assert_eq!(rest.best, whole.best);
    assert_eq!(
        rest.inference
            .unwrap()
            .se
            .iter()
            .map(|x| x.to_bits())
            .collect::<Vec<_>>(),
        whole
            .inference
            .unwrap()
            .se
            .iter()
            .map(|x| x.to_bits())
            .collect::<Vec<_>>()
    );
    // Resuming a finished calibration runs nothing.
    let again = calibrate::calibrate(&s, &o).unwrap();
    assert_eq!(again.new_evals, 0);
}

/// Runs the binary; returns (exit code, stderr).
fn cli(args: &[&str]) -> (i32, String) {
    let o = Command::new(BIN).args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Bad targets and parameters: exit 2 with file:line, the key, what was expected and a
/// suggestion; no run starts.
#[test]
fn bad_input_names_file_line_key_and_a_fix() {
    let files = Files::new();
    let sc = files.write("model.toml", &scenario(1));
    let good = targets(&[0.3, 100.0, 100.0], &[0.1, 1.0, 1.0], 60);
    let cases: Vec<(&str, String, String, &[&str])> = vec![
        (
            "unknown metric",
            good.replace("metric = \"links_shared\"", "metric = \"link_shared\""),
            ":14: key `targets[1].metric`".into(),
            &["not a metric", "did you mean `links_shared`?"],
        ),
        (
            "window outside the run",
            good.replace(
                "from = 10, to = 59 }\nvalue = 0.3",
                "from = 10, to = 90 }\nvalue = 0.3",
            ),
            ":7: key `targets[0].window.to`".into(),
            &["step 90 lies outside the run", "2021-01-01 to 2021-03-01"],
        ),
        (
            "window date outside the run",
            good.replace("to = \"2021-03-01\"", "to = \"2022-03-01\""),
            ":15: key `targets[1].window.to`".into(),
            &["outside the run"],
        ),
        (
            "reversed bounds",
            good.replace("bounds = [0.05, 0.6]", "bounds = [0.6, 0.05]"),
            ":34: key `calibrate.param[0].bounds`".into(),
            &["expected finite bounds with lo < hi", "write [0.05, 0.6]"],
        ),
        (
            "path that names no key",
            good.replace("path = \"links.share_prob\"", "path = \"links.share_prb\""),
            ":37: key `calibrate.param[1]`".into(),
            &["does not name a scenario key", "did you mean `share_prob`?"],
        ),
        (
            "path that is not a number",
            good.replace("path = \"policy.tau\"", "path = \"policy.links\""),
            ":32: key `calibrate.param[0]`".into(),
            &["type of the key"],
        ),
        (
            "no entity of that name",
            good.replace(
                "path = \"policy.tau\"",
                "path = \"platforms.taobo.default_pull\"",
            ),
            ":32: key `calibrate.param[0]`".into(),
            &["no entry named `taobo`", "did you mean `taobao`?"],
        ),
        (
            "log scale with a zero bound",
            good.replace("bounds = [0.02, 0.4]", "bounds = [0.0, 0.4]"),
            ":39: key `calibrate.param[1].bounds`".into(),
            &["log scale; expected lo > 0"],
        ),
    ];
    for (what, text, at, expect) in cases {
        let t = files.write("bad.toml", &text);
        let out = files.dir.path().join("out");
        let (code, err) = cli(&[
            "calibrate",
            sc.to_str().unwrap(),
            "--targets",
            t.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        assert_eq!(code, 2, "{what}: {err}");
        assert!(
            err.contains(&format!("bad.toml{at}")),
            "{what}: want `{at}` in\n{err}"
        );
        for e in expect {
            assert!(err.contains(e), "{what}: want `{e}` in\n{err}");
        }
        assert!(
            !out.join("calibration/evaluations.json").exists(),
            "{what}: it ran"
        );
    }
}
