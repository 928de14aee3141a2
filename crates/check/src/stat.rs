//! Stat mode: replicate distributions per point and metric compared by Welch or paired t and
//! Kolmogorov–Smirnov tests in one Holm family, with a tolerance floor.

use crate::run::*;
use crate::{bail, Result};
use gardengate_core::metrics::stats::*;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) fn column<'a>(run: &'a RunColumns, name: &str) -> Option<&'a [f64]> {
    run.columns
        .iter()
        .find(|(c, _)| c == name)
        .map(|(_, v)| v.as_slice())
}

/// Column names present in every run, in the order of the first run.
pub(crate) fn common_columns(runs: &[&RunColumns]) -> Vec<String> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for (name, _) in &first.columns {
        if !out.contains(name) && runs.iter().all(|r| column(r, name).is_some()) {
            out.push(name.clone());
        }
    }
    out
}

pub(crate) fn all_columns(runs: &[&RunColumns]) -> BTreeSet<String> {
    runs.iter()
        .flat_map(|r| r.columns.iter().map(|(c, _)| c.clone()))
        .collect()
}

/// Stat mode: statistical comparison of `results` with `baseline`.
///
/// Each run is summarised per metric by the mean of its last `opts.last_n` steps (all
/// steps if fewer). Runs are grouped by `point_id`; for each point of the baseline and each
/// metric (columns present in every compared run of both sides — results runs of points
/// that are not in the baseline do not count — in the baseline's column order, or
/// `opts.metrics` in the given order) the result summaries are compared with the baseline
/// summaries by [`welch_t_test`] and [`ks_two_sample`]. All 2*k p-values form one Holm
/// family ([`holm`]); `p_adjusted` is the smaller adjusted p-value of the pair and a test
/// drifts when `p_adjusted < alpha` and `|diff| > tolerance`.
///
/// Non-finite run summaries are excluded (noted on the test). When a metric is
/// non-finite in every run of one side but not of the other, the test is marked drifted
/// (with a note) whatever the p-values. n < 2 on either side: Welch p = NaN, entering Holm
/// as 1 (noted).
///
/// Errors: empty baseline; invalid options (alpha not in (0, 1], negative or non-finite
/// tolerances, last_n = 0); a baseline point without runs in the results; a requested
/// metric missing from some run; no metric to compare.
pub fn stat_compare(
    results: &[RunColumns],
    baseline: &[RunColumns],
    opts: &StatOptions,
) -> Result<StatOutcome> {
    if !(opts.alpha > 0.0 && opts.alpha <= 1.0) {
        bail!("alpha must be in (0, 1], got {}", opts.alpha);
    }
    if !(opts.abs_tol >= 0.0 && opts.abs_tol.is_finite()) {
        bail!("abs_tol must be finite and >= 0, got {}", opts.abs_tol);
    }
    if !(opts.rel_tol >= 0.0 && opts.rel_tol.is_finite()) {
        bail!("rel_tol must be finite and >= 0, got {}", opts.rel_tol);
    }
    if opts.last_n == 0 {
        bail!("last_n must be at least 1");
    }
    if baseline.is_empty() {
        bail!("the baseline contains no runs");
    }
    if opts.metrics.as_ref().is_some_and(|m| m.is_empty()) {
        bail!("the list of metrics to compare is empty");
    }

    let mut notes = Vec::new();
    let mut base_pts: BTreeMap<u32, Vec<&RunColumns>> = BTreeMap::new();
    let mut res_pts: BTreeMap<u32, Vec<&RunColumns>> = BTreeMap::new();
    for b in baseline {
        base_pts.entry(b.point_id).or_default().push(b);
    }
    for r in results {
        res_pts.entry(r.point_id).or_default().push(r);
    }
    for (pid, bruns) in &base_pts {
        let Some(rruns) = res_pts.get(pid) else {
            bail!(
                "point {pid} ({}) of the baseline has no runs in the results",
                bruns[0].point_label
            );
        };
        if rruns[0].point_label != bruns[0].point_label {
            notes.push(format!(
                "point {pid}: label differs: results '{}', baseline '{}'",
                rruns[0].point_label, bruns[0].point_label
            ));
        }
    }
    let extra_points: Vec<String> = res_pts
        .keys()
        .filter(|p| !base_pts.contains_key(p))
        .map(|p| p.to_string())
        .collect();
    if !extra_points.is_empty() {
        notes.push(format!(
            "points in the results but not in the baseline (not compared): {}",
            extra_points.join(", ")
        ));
    }

    // Only runs that take part in the comparison count for the column sets.
    let base_runs: Vec<&RunColumns> = baseline.iter().collect();
    let res_runs: Vec<&RunColumns> = results
        .iter()
        .filter(|r| base_pts.contains_key(&r.point_id))
        .collect();
    let base_common = common_columns(&base_runs);
    let res_common: BTreeSet<String> = common_columns(&res_runs).into_iter().collect();
    let common: Vec<String> = base_common
        .iter()
        .filter(|c| res_common.contains(*c))
        .cloned()
        .collect();
    let metrics: Vec<String> = match &opts.metrics {
        Some(requested) => {
            let mut out: Vec<String> = Vec::new();
            for m in requested {
                if out.contains(m) {
                    continue;
                }
                if !common.contains(m) {
                    let missing_in = |side: &str, runs: &[&RunColumns]| {
                        runs.iter().find(|r| column(r, m).is_none()).map(|r| {
                            format!("{side} (e.g. run {}, point {})", r.run_id, r.point_id)
                        })
                    };
                    let wher = missing_in("the results", &res_runs)
                        .or_else(|| missing_in("the baseline", &base_runs))
                        .unwrap_or_else(|| "the data".to_string());
                    bail!("requested metric '{m}' is missing from {wher}");
                }
                out.push(m.clone());
            }
            out
        }
        None => {
            let all: BTreeSet<String> = all_columns(&base_runs)
                .into_iter()
                .chain(all_columns(&res_runs))
                .collect();
            let skipped: Vec<String> = all.into_iter().filter(|c| !common.contains(c)).collect();
            if !skipped.is_empty() {
                notes.push(format!(
                    "columns not present in every compared run of both sides (not compared): {}",
                    skipped.join(", ")
                ));
            }
            common
        }
    };
    if metrics.is_empty() {
        bail!("no metric column is present in every run of both the results and the baseline");
    }

    let mut tests = Vec::new();
    for (pid, bruns) in &base_pts {
        let rruns = &res_pts[pid];
        for metric in &metrics {
            let summaries = |runs: &[&RunColumns]| -> Vec<f64> {
                runs.iter()
                    .map(|r| tail_mean(column(r, metric).expect("common column"), opts.last_n))
                    .collect()
            };
            // A replication rerun (the same seeds) is compared run by run: the baseline's
            // runs in the order of the results' seeds.
            let by_seed: Option<Vec<&RunColumns>> = (rruns.len() == bruns.len())
                .then(|| {
                    rruns
                        .iter()
                        .map(|r| {
                            let mut hits = bruns.iter().filter(|b| b.seed == r.seed);
                            match (hits.next(), hits.next()) {
                                (Some(b), None) => Some(*b),
                                _ => None,
                            }
                        })
                        .collect()
                })
                .flatten();
            let b_summaries = summaries(by_seed.as_deref().unwrap_or(bruns));
            tests.push(test_metric(
                *pid,
                &bruns[0].point_label,
                metric,
                summaries(rruns),
                b_summaries,
                by_seed.is_some(),
                opts,
            ));
        }
    }

    let family: Vec<f64> = tests.iter().flat_map(|t| [t.p_welch, t.p_ks]).collect();
    let adjusted = holm(&family);
    for (i, t) in tests.iter_mut().enumerate() {
        t.p_adjusted = adjusted[2 * i].min(adjusted[2 * i + 1]);
        t.drifted = t.drifted || (t.p_adjusted < opts.alpha && t.diff.abs() > t.tolerance);
    }
    let drifted = tests.iter().filter(|t| t.drifted).count();
    Ok(StatOutcome {
        tests,
        options: opts.clone(),
        drifted,
        notes,
    })
}

/// Paired t test of differences `d` against 0: `(t, df, two-sided p)`. n < 2 → NaN; all
/// differences equal → p 1 when they are 0, else 0.
pub(crate) fn paired_t_test(d: &[f64]) -> (f64, f64, f64) {
    let n = d.len();
    if n < 2 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let (m, sd) = (mean(d), sample_sd(d));
    if sd == 0.0 {
        return if m == 0.0 {
            (0.0, (n - 1) as f64, 1.0)
        } else {
            (f64::INFINITY.copysign(m), (n - 1) as f64, 0.0)
        };
    }
    let t = m / (sd / (n as f64).sqrt());
    let df = (n - 1) as f64;
    (t, df, (2.0 * student_t_sf(t.abs(), df)).min(1.0))
}

/// Builds one test; `p_adjusted` is filled in later (NaN here) and `drifted` is only set
/// when forced by all-non-finite data.
pub(crate) fn test_metric(
    point_id: u32,
    point_label: &str,
    metric: &str,
    r_all: Vec<f64>,
    b_all: Vec<f64>,
    paired: bool,
    opts: &StatOptions,
) -> MetricTest {
    let mut notes = Vec::new();
    // Paired differences, where both runs of a pair are finite.
    let d: Vec<f64> = r_all
        .iter()
        .zip(&b_all)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| x - y)
        .collect();
    let (r_total, b_total) = (r_all.len(), b_all.len());
    let r: Vec<f64> = r_all.into_iter().filter(|v| v.is_finite()).collect();
    let b: Vec<f64> = b_all.into_iter().filter(|v| v.is_finite()).collect();
    if r.len() < r_total || b.len() < b_total {
        notes.push(format!(
            "non-finite run summaries excluded: {} of {} in the results, {} of {} in the baseline",
            r_total - r.len(),
            r_total,
            b_total - b.len(),
            b_total
        ));
    }
    let mut forced = false;
    if r.is_empty() != b.is_empty() {
        forced = true;
        notes.push(format!(
            "non-finite in every run of the {} but not of the {}: counted as drift",
            if r.is_empty() { "results" } else { "baseline" },
            if r.is_empty() { "baseline" } else { "results" }
        ));
    } else if r.is_empty() {
        notes.push("non-finite in every run of both sides: not tested".to_string());
    }
    let (mr, mb) = (mean(&r), mean(&b));
    let diff = mr - mb;
    let rel_diff = if mb != 0.0 {
        diff / mb.abs()
    } else if diff == 0.0 {
        0.0
    } else {
        diff * f64::INFINITY
    };
    let (_, _, p_welch) = if paired {
        paired_t_test(&d)
    } else {
        welch_t_test(&r, &b)
    };
    if (r.len() < 2 || b.len() < 2) && !r.is_empty() && !b.is_empty() {
        notes.push(format!(
            "Welch test skipped (n_result = {}, n_baseline = {}; needs n >= 2): p treated as 1",
            r.len(),
            b.len()
        ));
    }
    let (_, p_ks) = ks_two_sample(&r, &b);
    MetricTest {
        point_id,
        point_label: point_label.to_string(),
        metric: metric.to_string(),
        n_result: r.len(),
        n_baseline: b.len(),
        mean_result: mr,
        mean_baseline: mb,
        sd_result: sample_sd(&r),
        sd_baseline: sample_sd(&b),
        diff,
        rel_diff,
        effect_size: cohens_d(&r, &b),
        p_welch,
        test: if paired { "paired t" } else { "Welch t" }.to_string(),
        p_ks,
        p_adjusted: f64::NAN,
        tolerance: opts.abs_tol.max(opts.rel_tol * mb.abs()),
        drifted: forced,
        notes,
    }
}
