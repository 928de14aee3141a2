//! Sweeps on a cluster: shard selection (flag or the scheduler's array index), merging the
//! shards of an out folder, and Slurm job-array scripts with a dependent merge job.

use crate::command::{bad_input, load_plan_design, Failure};
use clap::Args;
use gardengate_experiment::{finalize, store, PlanRecord};
use gardengate_io::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Array-index variables of common schedulers, with the index of their first task.
const ARRAY_VARS: [(&str, u32); 4] = [
    ("SLURM_ARRAY_TASK_ID", 0),
    ("PBS_ARRAY_INDEX", 0),
    ("SGE_TASK_ID", 1),
    ("LSB_JOBINDEX", 1),
];

/// Resolves `--shard I/N`, `--shard I` or `--shard-from-env` into (index, count). The count
/// comes from the flag or from the out folder's plan — never from the scheduler's task count,
/// which is wrong when only failed shards are resubmitted.
pub fn shard_arg(
    flag: Option<&str>,
    from_env: bool,
    out: &Path,
) -> Result<Option<(u32, u32)>, Failure> {
    let (index, count) = match (flag, from_env) {
        (None, false) => return Ok(None),
        (Some(_), true) => {
            return Err(bad_input(
                "give either --shard or --shard-from-env, not both",
            ))
        }
        (Some(s), false) => {
            let (i, n) = match s.split_once('/') {
                Some((i, n)) => (i, Some(n)),
                None => (s, None),
            };
            let i: u32 = i
                .trim()
                .parse()
                .map_err(|_| bad_input(format!("--shard `{s}`: expected I/N, e.g. 0/4")))?;
            let n =
                match n {
                    Some(n) => Some(n.trim().parse::<u32>().map_err(|_| {
                        bad_input(format!("--shard `{s}`: expected I/N, e.g. 0/4"))
                    })?),
                    None => None,
                };
            (i, n)
        }
        (None, true) => {
            let found = ARRAY_VARS
                .iter()
                .find_map(|(v, base)| std::env::var(v).ok().map(|x| (*v, *base, x)));
            let Some((var, base, val)) = found else {
                return Err(bad_input("--shard-from-env: none of SLURM_ARRAY_TASK_ID, PBS_ARRAY_INDEX, SGE_TASK_ID, LSB_JOBINDEX is set"));
            };
            let i: u32 = val
                .trim()
                .parse()
                .map_err(|_| bad_input(format!("{var}=`{val}` is not a task index")))?;
            if i < base {
                return Err(bad_input(format!("{var}={i}: expected at least {base}")));
            }
            (i - base, None)
        }
    };
    let count = match count {
        Some(n) => n,
        None => PlanRecord::read(out)
            .map_err(|e| bad_input(format!("{e:#}\n  help: the shard count comes from the plan: run `gardengate plan SCENARIO --out {} --shards N` first, or pass --shard I/N", out.display())))?
            .shards,
    };
    if count == 0 || index >= count {
        return Err(bad_input(format!(
            "shard {index} is out of range for {count} shards (0..{})",
            count.saturating_sub(1)
        )));
    }
    Ok(Some((index, count)))
}

/// Checks that every shard of an out folder is complete, then assembles the outputs.
pub fn merge(out: &Path, charts: bool) -> Result<()> {
    let plan = PlanRecord::read(out)?;
    let _lock = store::lock_file(out, store::LOCK_FILE, store::LockMode::Exclusive, false)?;
    // Alone in the folder now: leftovers of killed shards can go.
    store::remove_own_temps(out)?;
    let missing_shards: Vec<u32> = (0..plan.shards)
        .filter(|&i| {
            let done = store::shard_path(out, i, plan.shards).is_file();
            let runs_done = plan
                .shard_batches(i)
                .iter()
                .all(|&k| store::batch_finished(out, &plan, k));
            !runs_done || (!done && plan.shards != 1)
        })
        .collect();
    if !missing_shards.is_empty() {
        let list: Vec<String> = missing_shards.iter().map(|i| i.to_string()).collect();
        bail!(
            "{} of {} shards are not complete: {}\n  help: resubmit just those, e.g. sbatch --array={} {}",
            missing_shards.len(),
            plan.shards,
            list.join(", "),
            list.join(","),
            out.join("slurm/array.sbatch").display()
        );
    }
    finalize::finalize(out, rayon::current_num_threads(), charts)
}

/// Flags of `slurm`.
#[derive(Args, Debug)]
pub struct SlurmArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Out folder (on a file system shared by the nodes).
    #[arg(long)]
    pub out: PathBuf,
    /// Partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit per shard, e.g. 01:00:00.
    #[arg(long, default_value = "01:00:00")]
    pub time: String,
    /// CPUs per shard (threads).
    #[arg(long, default_value_t = 2)]
    pub cpus: u32,
    /// Memory per shard, e.g. 4G.
    #[arg(long)]
    pub mem: Option<String>,
    /// At most this many shards at once (the %K throttle).
    #[arg(long)]
    pub max_parallel: Option<u32>,
    /// Number of shards (default: one per batch of runs, at most 1000).
    #[arg(long)]
    pub shards: Option<u32>,
    /// Submit with sbatch.
    #[arg(long)]
    pub submit: bool,
    /// Replace results of another scenario.
    #[arg(long)]
    pub force: bool,
    /// Run this one of the file's `[[designs]]` (one job array per design).
    #[arg(long)]
    pub design: Option<String>,
}

/// Writes (and optionally submits) the job array and the merge job.
pub fn slurm(a: SlurmArgs) -> Result<i32, Failure> {
    let plan = load_plan_design(&a.scenario, a.design.as_deref(), None, None)?;
    // An existing plan of this scenario (from `gardengate plan`) keeps its shard count.
    let planned = PlanRecord::read(&a.out)
        .ok()
        .filter(|p| p.scenario_hash == plan.hash)
        .map(|p| p.shards);
    let shards = a
        .shards
        .or(planned)
        .unwrap_or((plan.runs.len() as u32).min(1000))
        .max(1);
    let mut rec = PlanRecord::from_plan(&plan, shards);
    if a.shards.is_none() && planned.is_none() {
        // One shard per batch by default (more would get no runs).
        rec.shards = shards.min(rec.batches()).max(1);
    }
    {
        let _lock = store::lock_file(&a.out, store::LOCK_FILE, store::LockMode::Exclusive, false)?;
        store::prepare(&a.out, &rec, true, a.force)?;
    }
    let rec = PlanRecord::read(&a.out)?;
    let abs = |p: &Path| -> Result<PathBuf> { Ok(std::path::absolute(p)?) };
    let out = abs(&a.out)?;
    let scenario = abs(&a.scenario)?;
    let exe = std::env::current_exe().context("cannot find the gardengate executable")?;
    let dir = out.join("slurm");
    std::fs::create_dir_all(dir.join("logs"))?;
    let name = format!(
        "gg-{}",
        rec.scenario_name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect::<String>()
    );
    let throttle = a.max_parallel.map(|k| format!("%{k}")).unwrap_or_default();
    let mut head = format!(
        "#!/bin/bash\n#SBATCH --job-name={name}\n#SBATCH --time={}\n",
        a.time
    );
    if let Some(p) = &a.partition {
        head.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    let q = |p: &Path| shell_quote(&p.display().to_string());
    let array = format!(
        "{head}#SBATCH --array=0-{}{throttle}\n#SBATCH --cpus-per-task={}\n{}#SBATCH --output={}/logs/shard-%a.out\n\n# One shard of the plan in {out}; the shard count comes from plan.json.\nset -euo pipefail\nexec {} run {}{} --out {} --shard-from-env --quiet --no-charts\n",
        rec.shards - 1,
        a.cpus,
        a.mem.as_ref().map(|m| format!("#SBATCH --mem={m}\n")).unwrap_or_default(),
        dir.display(),
        q(&exe),
        q(&scenario),
        a.design
            .as_ref()
            .map(|d| format!(" --design {}", shell_quote(d)))
            .unwrap_or_default(),
        q(&out),
        out = out.display(),
    );
    let merge = format!(
        "{head}#SBATCH --cpus-per-task={}\n#SBATCH --output={}/logs/merge.out\n\n# Runs after every shard succeeded (--dependency=afterok).\nset -euo pipefail\nexec {} merge {}\n",
        a.cpus,
        dir.display(),
        q(&exe),
        q(&out)
    );
    gardengate_io::atomic::write_bytes(&dir.join("array.sbatch"), array.as_bytes())?;
    gardengate_io::atomic::write_bytes(&dir.join("merge.sbatch"), merge.as_bytes())?;
    let array_path = dir.join("array.sbatch");
    let merge_path = dir.join("merge.sbatch");
    if !a.submit {
        println!(
            "wrote {} and {} ({} runs in {} shards)",
            array_path.display(),
            merge_path.display(),
            rec.runs.len(),
            rec.shards
        );
        println!("submit with:");
        println!("  jid=$(sbatch --parsable {})", array_path.display());
        println!(
            "  sbatch --dependency=afterok:${{jid%%;*}} {}",
            merge_path.display()
        );
        return Ok(0);
    }
    let submit = |args: &[&str]| -> Result<String> {
        let o = std::process::Command::new("sbatch")
            .args(args)
            .output()
            .context("cannot run sbatch (is Slurm installed and SLURM_CONF set?)")?;
        if !o.status.success() {
            bail!(
                "sbatch failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&o.stdout)
            .trim()
            .split(';')
            .next()
            .unwrap_or("")
            .to_string())
    };
    let jid = submit(&["--parsable", &array_path.display().to_string()])?;
    let dep = format!("--dependency=afterok:{jid}");
    let mid = submit(&["--parsable", &dep, &merge_path.display().to_string()])?;
    println!("{jid} {mid}");
    eprintln!(
        "submitted array job {jid} ({} shards) and merge job {mid}",
        rec.shards
    );
    Ok(0)
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
