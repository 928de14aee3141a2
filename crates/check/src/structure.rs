//! The shape checks that `check` makes before comparing any value: column names and types,
//! the set of runs, and each run's steps. A value comparison over mismatched shapes would
//! quietly compare less than it claims (a dropped metric, 1 of 12 replicates, a missing last
//! step), so any mismatch here is drift (exit 1), named.
//!
//! Policy on columns: a baseline column that the results lack, or hold with another type,
//! is a mismatch; a results column that the baseline lacks is new (other versions add output
//! columns) and is reported as "not compared", never a failure.

use gardengate_io::store::PlanRecord;
use std::collections::BTreeMap;

/// A results or baseline folder's shape, as read from its plan and `steps.parquet`.
#[derive(Clone, Debug, Default)]
pub struct Shape {
    /// Columns of `steps.parquet` with their types, in file order.
    pub columns: Vec<(String, String)>,
    /// Steps present per run id, in row order.
    pub steps: BTreeMap<u64, Vec<u64>>,
}

/// Mismatches (each a failure) and notes (informational) of two shapes.
#[derive(Clone, Debug, Default)]
pub struct Verdict {
    /// What does not match; non-empty means exit 1.
    pub mismatches: Vec<String>,
    /// Results columns that the baseline lacks (not compared).
    pub new_columns: Vec<String>,
}

/// Problems inside one folder: runs of the plan without rows, rows of runs the plan does not
/// have, and runs whose steps are not exactly 0..steps once each.
fn folder_problems(what: &str, plan: &PlanRecord, shape: &Shape, out: &mut Vec<String>) {
    let expected = plan.points.len() as u64 * plan.replicates as u64;
    if plan.runs.len() as u64 != expected {
        out.push(format!(
            "{what}: the plan lists {} runs, but {} points × {} replicates make {expected}",
            plan.runs.len(),
            plan.points.len(),
            plan.replicates
        ));
    }
    let mut missing = Vec::new();
    for r in &plan.runs {
        match shape.steps.get(&(r.run_id as u64)) {
            None => missing.push(r.run_id),
            Some(s) => {
                let ok = s.len() == plan.steps as usize
                    && s.iter().enumerate().all(|(k, &v)| v == k as u64);
                if !ok {
                    let (lo, hi) = (s.iter().min(), s.iter().max());
                    out.push(format!(
                        "{what}: run {} has {} rows with steps {}..{}; expected steps 0..{} once each",
                        r.run_id,
                        s.len(),
                        lo.map_or("-".into(), |v| v.to_string()),
                        hi.map_or("-".into(), |v| v.to_string()),
                        plan.steps.saturating_sub(1)
                    ));
                }
            }
        }
    }
    if !missing.is_empty() {
        out.push(format!(
            "{what}: {} of {} runs have no rows in steps.parquet (run ids {})",
            missing.len(),
            plan.runs.len(),
            list(&missing)
        ));
    }
    let extra: Vec<u64> = shape
        .steps
        .keys()
        .copied()
        .filter(|id| !plan.runs.iter().any(|r| r.run_id as u64 == *id))
        .collect();
    if !extra.is_empty() {
        out.push(format!(
            "{what}: steps.parquet has rows of run ids the plan does not list ({})",
            list(&extra)
        ));
    }
}

fn list<T: std::fmt::Display>(v: &[T]) -> String {
    let mut s: Vec<String> = v.iter().take(10).map(|x| x.to_string()).collect();
    if v.len() > 10 {
        s.push(format!("and {} more", v.len() - 10));
    }
    s.join(", ")
}

/// Compares the shapes of results and baseline.
pub fn compare(rplan: &PlanRecord, rshape: &Shape, bplan: &PlanRecord, bshape: &Shape) -> Verdict {
    let mut v = Verdict::default();
    folder_problems("results", rplan, rshape, &mut v.mismatches);
    folder_problems("baseline", bplan, bshape, &mut v.mismatches);
    if rplan.replicates != bplan.replicates {
        v.mismatches.push(format!(
            "results have {} replicate(s) per point, the baseline {}",
            rplan.replicates, bplan.replicates
        ));
    }
    if rplan.steps != bplan.steps {
        v.mismatches.push(format!(
            "results have {} steps per run, the baseline {}",
            rplan.steps, bplan.steps
        ));
    }
    let rcols: BTreeMap<&str, &str> = rshape
        .columns
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let bcols: BTreeMap<&str, &str> = bshape
        .columns
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let mut gone = Vec::new();
    for (name, bt) in &bshape.columns {
        match rcols.get(name.as_str()) {
            None => gone.push(format!("`{name}`")),
            Some(rt) if *rt != bt => v.mismatches.push(format!(
                "column `{name}` is {rt} in the results, {bt} in the baseline"
            )),
            Some(_) => {}
        }
    }
    if !gone.is_empty() {
        v.mismatches.push(format!(
            "baseline column(s) missing from the results (dropped or renamed): {}",
            list(&gone)
        ));
    }
    v.new_columns = rshape
        .columns
        .iter()
        .filter(|(n, _)| !bcols.contains_key(n.as_str()))
        .map(|(n, _)| n.clone())
        .collect();
    v
}

/// The note on new columns, or `None` when there are none.
pub fn new_columns_note(v: &Verdict) -> Option<String> {
    (!v.new_columns.is_empty()).then(|| {
        let names: Vec<String> = v.new_columns.iter().map(|n| format!("`{n}`")).collect();
        format!(
            "note: new column(s) not in baseline, not compared: {}",
            list(&names)
        )
    })
}

/// A report of mismatches in the chosen format (`table`, `md`, `junit`, `json`).
pub fn render(v: &Verdict, format: super::compare::ReportFormat) -> String {
    use super::compare::ReportFormat as F;
    match format {
        F::Json => serde_json::json!({
            "verdict": "mismatch",
            "mismatches": v.mismatches,
            "new_columns_not_compared": v.new_columns,
        })
        .to_string(),
        F::Junit => {
            let esc = |s: &str| {
                s.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('"', "&quot;")
            };
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            out.push_str(&format!(
                "<testsuite name=\"gardengate-check\" tests=\"1\" failures=\"1\">\n  <testcase name=\"structure\"><failure message=\"{}\">{}</failure></testcase>\n</testsuite>\n",
                esc(&format!("{} structural mismatch(es)", v.mismatches.len())),
                esc(&v.mismatches.join("\n"))
            ));
            out
        }
        F::Markdown => {
            let mut out = String::from(
                "### gardengate check: FAIL (results and baseline do not have the same shape)\n\n",
            );
            for m in &v.mismatches {
                out.push_str(&format!("- {m}\n"));
            }
            out
        }
        F::Table => {
            let mut out = String::from(
                "FAIL: results and baseline do not have the same shape (no values compared)\n",
            );
            for m in &v.mismatches {
                out.push_str(&format!("  {m}\n"));
            }
            out
        }
    }
}
