//! Exact mode: every run must be bit-identical to the baseline; the first difference (by run
//! id, then step, then column) is reported.

use crate::run::*;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) fn fmt_exact_pair(r: f64, b: f64) -> (String, String) {
    let (rs, bs) = (format!("{r:?}"), format!("{b:?}"));
    if rs == bs {
        // e.g. NaNs with different payloads
        (
            format!("{rs} (bits 0x{:016x})", r.to_bits()),
            format!("{bs} (bits 0x{:016x})", b.to_bits()),
        )
    } else {
        (rs, bs)
    }
}

const MISSING: &str = "<missing>";
const PRESENT: &str = "<present>";

pub(crate) fn compare_run(r: &RunColumns, b: &RunColumns) -> Option<ExactDiff> {
    let diff = |kind, step, column: &str, result: String, baseline: String| {
        Some(ExactDiff {
            kind,
            run_id: b.run_id,
            point_id: b.point_id,
            replicate: b.replicate,
            step,
            column: column.to_string(),
            result,
            baseline,
        })
    };
    if r.point_id != b.point_id {
        let (rs, bs) = (r.point_id.to_string(), b.point_id.to_string());
        return diff(ExactDiffKind::PointId, None, "point_id", rs, bs);
    }
    if r.replicate != b.replicate {
        let (rs, bs) = (r.replicate.to_string(), b.replicate.to_string());
        return diff(ExactDiffKind::Replicate, None, "replicate", rs, bs);
    }
    if r.seed != b.seed {
        let (rs, bs) = (r.seed.to_string(), b.seed.to_string());
        return diff(ExactDiffKind::Seed, None, "seed", rs, bs);
    }
    let n_steps = r.steps.len().max(b.steps.len());
    for i in 0..n_steps {
        let (rs, bs) = (r.steps.get(i), b.steps.get(i));
        if rs != bs {
            let show = |s: Option<&i64>, len: usize| match s {
                Some(v) => v.to_string(),
                None => format!("{MISSING} (run has {len} steps)"),
            };
            let step = bs.or(rs).copied();
            let (rs, bs) = (show(rs, r.steps.len()), show(bs, b.steps.len()));
            return diff(ExactDiffKind::Steps, step, "steps", rs, bs);
        }
    }
    let find = |run: &'_ RunColumns, name: &str| -> Option<usize> {
        run.columns.iter().position(|(c, _)| c == name)
    };
    for (name, _) in &b.columns {
        if find(r, name).is_none() {
            let (rs, bs) = (MISSING.to_string(), PRESENT.to_string());
            return diff(ExactDiffKind::MissingColumn, None, name, rs, bs);
        }
    }
    for (name, _) in &r.columns {
        if find(b, name).is_none() {
            let (rs, bs) = (PRESENT.to_string(), MISSING.to_string());
            return diff(ExactDiffKind::ExtraColumn, None, name, rs, bs);
        }
    }
    // Column index in the results for each baseline column (first occurrence).
    let pairs: Vec<(&str, &[f64], &[f64])> = b
        .columns
        .iter()
        .map(|(name, bv)| {
            let ri = find(r, name).expect("checked above");
            (name.as_str(), r.columns[ri].1.as_slice(), bv.as_slice())
        })
        .collect();
    let n_rows = pairs
        .iter()
        .map(|(_, rv, bv)| rv.len().max(bv.len()))
        .max()
        .unwrap_or(0)
        .max(b.steps.len());
    for i in 0..n_rows {
        let step = b.steps.get(i).copied();
        for &(name, rv, bv) in &pairs {
            match (rv.get(i), bv.get(i)) {
                (Some(x), Some(y)) if x.to_bits() == y.to_bits() => {}
                (Some(&x), Some(&y)) => {
                    let (rs, bs) = fmt_exact_pair(x, y);
                    return diff(ExactDiffKind::Value, step, name, rs, bs);
                }
                (None, None) => {}
                (x, y) => {
                    let show =
                        |v: Option<&f64>| v.map_or(MISSING.to_string(), |v| format!("{v:?}"));
                    return diff(ExactDiffKind::Value, step, name, show(x), show(y));
                }
            }
        }
    }
    None
}

/// Exact mode: every run of `baseline` must be in `results` (matched by `run_id`) with the
/// same `point_id`, `replicate`, `seed`, `steps`, the same column set (order does not
/// matter; values are matched by name) and bit-identical values (compared with
/// `f64::to_bits`, so NaN == NaN when the bits are equal and 0.0 != -0.0); `results` must
/// have no extra runs and run ids must be unique on both sides.
///
/// Returns `None` when identical, else the FIRST difference in order: run_id ascending,
/// then within a run the run-level differences (point_id, replicate, seed, steps, missing
/// columns in baseline order, extra columns), then values by step ascending and column in
/// the baseline's column order.
pub fn exact_compare(results: &[RunColumns], baseline: &[RunColumns]) -> Option<ExactDiff> {
    let mut res: BTreeMap<u32, Vec<&RunColumns>> = BTreeMap::new();
    let mut base: BTreeMap<u32, Vec<&RunColumns>> = BTreeMap::new();
    for r in results {
        res.entry(r.run_id).or_default().push(r);
    }
    for b in baseline {
        base.entry(b.run_id).or_default().push(b);
    }
    let ids: BTreeSet<u32> = res.keys().chain(base.keys()).copied().collect();
    for id in ids {
        let run_level = |kind, run: &RunColumns, result: String, baseline: String| ExactDiff {
            kind,
            run_id: id,
            point_id: run.point_id,
            replicate: run.replicate,
            step: None,
            column: String::new(),
            result,
            baseline,
        };
        match (res.get(&id), base.get(&id)) {
            (None, Some(b)) => {
                let (rs, bs) = (MISSING.to_string(), PRESENT.to_string());
                return Some(run_level(ExactDiffKind::MissingRun, b[0], rs, bs));
            }
            (Some(r), None) => {
                let (rs, bs) = (PRESENT.to_string(), MISSING.to_string());
                return Some(run_level(ExactDiffKind::ExtraRun, r[0], rs, bs));
            }
            (Some(r), Some(b)) => {
                if r.len() > 1 || b.len() > 1 {
                    let times = |k: usize| {
                        if k == 1 {
                            "once".to_string()
                        } else {
                            format!("{k} times")
                        }
                    };
                    let (rs, bs) = (times(r.len()), times(b.len()));
                    return Some(run_level(ExactDiffKind::DuplicateRun, b[0], rs, bs));
                }
                if let Some(d) = compare_run(r[0], b[0]) {
                    return Some(d);
                }
            }
            (None, None) => unreachable!(),
        }
    }
    None
}
