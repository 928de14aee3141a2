//! Sharded runs: running a plan as shards and merging them gives the same data as running it
//! on one machine; merge refuses an incomplete out folder and names the missing shards; the
//! shard count comes from the plan (never from the scheduler's task count).
//!
//! The end-to-end test against a real Slurm is `scripts/slurm-e2e.sh`.

use gardengate::cluster::{merge, shard_arg};
use gardengate::experiment::{run_batch, BatchOptions, PlanRecord, Progress};
use gardengate::output::frame::read_parquet;
use gardengate::scenario::{self, Plan};
use std::path::{Path, PathBuf};

/// Replicates per point: experiments/ci.toml has 2 points, so 6 runs.
const REPLICATES: u32 = 3;

fn ci_plan() -> Plan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/ci.toml");
    match scenario::load(&path) {
        Ok(p) => p.with_overrides(None, Some(REPLICATES)),
        Err(e) => panic!("{e}"),
    }
}

fn opts(out: &Path, shard: Option<(u32, u32)>, threads: usize) -> BatchOptions {
    BatchOptions {
        out: out.to_path_buf(),
        threads: Some(threads),
        resume: false,
        force: false,
        progress: Progress::Quiet,
        shard,
        charts: false,
    }
}

/// Runs the whole plan on one machine (assembles the outputs).
fn run_single(plan: &Plan, out: &Path) {
    let r = run_batch(plan, &opts(out, None, 2)).expect("one-machine run");
    assert!(r.finalized);
    assert_eq!(r.ran, plan.runs.len());
}

/// Runs the given shards of `count` (one thread each, like `--cpus 1` on a cluster).
fn run_shards(plan: &Plan, out: &Path, shards: &[u32], count: u32) {
    for &i in shards {
        let r = run_batch(plan, &opts(out, Some((i, count)), 1))
            .unwrap_or_else(|e| panic!("shard {i}/{count}: {e:#}"));
        assert!(!r.finalized, "a shard must not assemble the outputs");
        let expected = plan.runs.iter().filter(|s| s.run_id % count == i).count();
        assert_eq!(r.ran, expected, "runs of shard {i}/{count}");
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// steps.parquet, summary.parquet and summary.csv of two out folders hold the same values
/// (and the same bytes).
fn assert_same_outputs(a: &Path, b: &Path, what: &str) {
    for name in ["steps.parquet", "summary.parquet"] {
        let (da, db) = (
            read_parquet(&a.join(name)).expect("read"),
            read_parquet(&b.join(name)).expect("read"),
        );
        assert_eq!(da.shape(), db.shape(), "{what}: {name} shape");
        assert_eq!(
            da.get_column_names(),
            db.get_column_names(),
            "{what}: {name} columns"
        );
        assert!(
            da.equals_missing(&db),
            "{what}: {name} values differ\n{da}\n{db}"
        );
    }
    assert!(
        bytes(&a.join("summary.csv")) == bytes(&b.join("summary.csv")),
        "{what}: summary.csv differs"
    );
    assert!(
        bytes(&a.join("steps.parquet")) == bytes(&b.join("steps.parquet")),
        "{what}: steps.parquet bytes differ"
    );
    assert!(
        bytes(&a.join("summary.parquet")) == bytes(&b.join("summary.parquet")),
        "{what}: summary.parquet bytes differ"
    );
}

fn err_message(r: Result<Option<(u32, u32)>, gardengate::cli::Failure>) -> (i32, String) {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(f) => (f.code, f.message),
    }
}

fn ok_shard(r: Result<Option<(u32, u32)>, gardengate::cli::Failure>) -> Option<(u32, u32)> {
    r.unwrap_or_else(|f| panic!("unexpected error (exit {}): {}", f.code, f.message))
}

#[test]
fn three_shards_merged_equal_a_one_machine_run_and_one_shard() {
    let plan = ci_plan();
    assert_eq!(plan.runs.len(), 2 * REPLICATES as usize);

    let single = tempdir();
    run_single(&plan, single.path());

    let sharded = tempdir();
    // Out of order, like an array whose tasks finish in any order.
    run_shards(&plan, sharded.path(), &[2, 0, 1], 3);
    assert!(
        !sharded.path().join("steps.parquet").exists(),
        "shards alone must not assemble"
    );
    for i in 0..3 {
        assert!(sharded
            .path()
            .join(format!("shards/shard-{i}-of-3.json"))
            .is_file());
    }
    assert_eq!(PlanRecord::read(sharded.path()).expect("plan").shards, 3);
    merge(sharded.path(), false).expect("merge of 3 shards");
    assert_same_outputs(single.path(), sharded.path(), "3 shards vs one machine");

    let one = tempdir();
    run_shards(&plan, one.path(), &[0], 1);
    merge(one.path(), false).expect("merge of 1 shard");
    assert_same_outputs(one.path(), sharded.path(), "1 shard vs 3 shards");

    // Merging again (e.g. a resubmitted merge job) gives the same outputs.
    let before = bytes(&sharded.path().join("steps.parquet"));
    merge(sharded.path(), false).expect("second merge");
    assert!(
        before == bytes(&sharded.path().join("steps.parquet")),
        "merging twice changed steps.parquet"
    );
}

#[test]
fn merge_names_missing_shards_and_succeeds_after_they_run() {
    let plan = ci_plan();
    let out = tempdir();
    run_shards(&plan, out.path(), &[0, 1], 3);

    let err = format!(
        "{:#}",
        merge(out.path(), false).expect_err("merge must fail with shard 2 missing")
    );
    assert!(
        err.contains("1 of 3 shards are not complete: 2\n"),
        "error does not name shard 2: {err}"
    );
    assert!(
        err.contains("--array=2 "),
        "error does not suggest resubmitting shard 2: {err}"
    );
    assert!(
        !out.path().join("steps.parquet").exists(),
        "a failed merge must not write outputs"
    );

    // A shard whose record exists but one of whose runs is gone is not complete either.
    let run_of_0 = plan
        .runs
        .iter()
        .find(|r| r.run_id % 3 == 0)
        .expect("a run of shard 0")
        .run_id;
    std::fs::remove_file(out.path().join(format!("runs/run-{run_of_0:06}.json")))
        .expect("remove run record");
    let err = format!(
        "{:#}",
        merge(out.path(), false).expect_err("merge must fail")
    );
    assert!(
        err.contains("2 of 3 shards are not complete: 0, 2\n"),
        "error does not name shards 0 and 2: {err}"
    );

    // Resubmit just the failed shards (shard 0 reruns only its missing run).
    let r = run_batch(&plan, &opts(out.path(), Some((0, 3)), 1)).expect("rerun shard 0");
    assert_eq!((r.ran, r.skipped), (1, 1));
    run_shards(&plan, out.path(), &[2], 3);
    merge(out.path(), false).expect("merge after resubmission");
    assert!(out.path().join("steps.parquet").is_file() && out.path().join("summary.csv").is_file());
}

#[test]
fn shard_count_comes_from_the_plan() {
    let plan = ci_plan();
    let dir = tempdir();
    let out = dir.path();

    // No plan yet: `--shard I` alone cannot know N.
    let (code, msg) = err_message(shard_arg(Some("1"), false, out));
    assert_eq!(code, 2);
    assert!(msg.contains("gardengate plan"), "{msg}");

    PlanRecord::from_plan(&plan, 3)
        .write(out)
        .expect("write plan");
    assert_eq!(ok_shard(shard_arg(None, false, out)), None);
    assert_eq!(ok_shard(shard_arg(Some("1"), false, out)), Some((1, 3)));
    assert_eq!(ok_shard(shard_arg(Some(" 2 "), false, out)), Some((2, 3)));
    // An explicit N wins over the plan.
    assert_eq!(ok_shard(shard_arg(Some("3/5"), false, out)), Some((3, 5)));

    let (code, msg) = err_message(shard_arg(Some("3"), false, out));
    assert_eq!(code, 2);
    assert!(
        msg.contains("shard 3 is out of range for 3 shards"),
        "{msg}"
    );
    assert_eq!(err_message(shard_arg(Some("4/4"), false, out)).0, 2);
    assert_eq!(err_message(shard_arg(Some("x/4"), false, out)).0, 2);
    assert_eq!(err_message(shard_arg(Some("1/0"), false, out)).0, 2);
    assert_eq!(
        err_message(shard_arg(Some("1"), true, out)).0,
        2,
        "--shard and --shard-from-env together"
    );
}

/// Environment of the child process of `shard_from_env_reads_the_array_index`.
const CHILD_MARKER: &str = "GARDENGATE_SHARDS_TEST_CHILD_DIR";

/// `--shard-from-env` takes the index from SLURM_ARRAY_TASK_ID and the count from the plan,
/// ignoring SLURM_ARRAY_TASK_COUNT (1 when only a failed shard is resubmitted). The
/// environment is process-global and other tests run in parallel threads, so the variables
/// are set only in a child process (this test binary, running `shard_from_env_child`).
#[test]
fn shard_from_env_reads_the_array_index() {
    let plan = ci_plan();
    let dir = tempdir();
    PlanRecord::from_plan(&plan, 3)
        .write(dir.path())
        .expect("write plan");

    let child = |vars: &[(&str, &str)]| -> (bool, String) {
        let mut cmd = std::process::Command::new(std::env::current_exe().expect("test binary"));
        cmd.args([
            "--exact",
            "shard_from_env_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ]);
        for v in [
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_TASK_COUNT",
            "PBS_ARRAY_INDEX",
            "SGE_TASK_ID",
            "LSB_JOBINDEX",
        ] {
            cmd.env_remove(v);
        }
        cmd.env(CHILD_MARKER, dir.path());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let o = cmd.output().expect("run the test binary");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            text.contains("running 1 test"),
            "the child did not run shard_from_env_child:\n{text}"
        );
        (o.status.success(), text)
    };
    let line = |text: &str| -> String {
        text.lines()
            .find_map(|l| l.split_once("shard-from-env: ").map(|x| x.1))
            .unwrap_or_else(|| panic!("no result line in:\n{text}"))
            .to_string()
    };

    // A resubmission of only shard 2 (`sbatch --array=2`): Slurm says the array has 1 task.
    let (ok, text) = child(&[
        ("SLURM_ARRAY_TASK_ID", "2"),
        ("SLURM_ARRAY_TASK_COUNT", "1"),
    ]);
    assert!(ok, "{text}");
    assert_eq!(line(&text), "Ok(Some((2, 3)))");

    let (_, text) = child(&[
        ("SLURM_ARRAY_TASK_ID", "0"),
        ("SLURM_ARRAY_TASK_COUNT", "3"),
    ]);
    assert_eq!(line(&text), "Ok(Some((0, 3)))");

    // SGE counts tasks from 1.
    let (_, text) = child(&[("SGE_TASK_ID", "2")]);
    assert_eq!(line(&text), "Ok(Some((1, 3)))");

    let (_, text) = child(&[
        ("SLURM_ARRAY_TASK_ID", "3"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ]);
    assert!(
        line(&text).starts_with("Err(2, shard 3 is out of range for 3 shards"),
        "{text}"
    );

    let (_, text) = child(&[]);
    assert!(
        line(&text).starts_with("Err(2, --shard-from-env: none of SLURM_ARRAY_TASK_ID"),
        "{text}"
    );
}

/// Helper of `shard_from_env_reads_the_array_index` (does nothing when run on its own).
#[test]
#[ignore = "run by shard_from_env_reads_the_array_index in a child process"]
fn shard_from_env_child() {
    let Some(dir) = std::env::var_os(CHILD_MARKER) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let shown = match shard_arg(None, true, &dir) {
        Ok(v) => format!("Ok({v:?})"),
        Err(f) => format!("Err({}, {})", f.code, f.message),
    };
    println!("shard-from-env: {shown}");
}
