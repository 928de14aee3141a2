//! Assembles the outputs of an out folder from its per-run files: `steps.parquet`,
//! `summary.parquet`/`summary.csv`, `manifest.json` and `charts/`. Every number is computed
//! here with fixed-order loops (never with a parallel or hashed reduction), so the outputs are
//! bit-identical however the runs were scheduled, resumed or sharded.

use super::digest::{Digests, Keep, RunDigest};
use gardengate_charts::{self as charts, EventMark, Panel, Series, TimeAxis};
use gardengate_core::metrics::stats::{ci95_half_width, mean, sample_sd};
use gardengate_core::scenario::calendar::{civil_from_days, parse_date};
use gardengate_core::scenario::ParamValue;
use gardengate_io::atomic::write_bytes;
use gardengate_io::frame;
use gardengate_io::store::{self, PlanRecord};
use gardengate_io::{bail, Result};
use polars::prelude::*;
use std::path::Path;

pub use gardengate_io::frame::{metric_values, RunColumns, ID_COLUMNS};

/// The label of a point of the plan ("" for an unknown point).
pub fn point_label(plan: &PlanRecord, point_id: u32) -> String {
    plan.points
        .get(point_id as usize)
        .map(|p| p.label.clone())
        .unwrap_or_default()
}

/// Runs that are not finished yet (those of unfinished batches).
pub fn missing_runs(out: &Path, plan: &PlanRecord) -> Vec<u32> {
    (0..plan.batches())
        .filter(|&k| !store::batch_finished(out, plan, k))
        .flat_map(|k| plan.batch(k).iter().map(|r| r.run_id))
        .collect()
}

/// Writes steps, summary, manifest and charts of a complete out folder.
pub fn finalize(out: &Path, threads: usize, draw_charts: bool) -> Result<()> {
    finalize_report(out, threads, draw_charts).map(|_| ())
}

/// [`finalize`], returning the terminal summary: the headline effects when the plan
/// compares points, else the headline levels.
pub fn finalize_report(out: &Path, threads: usize, draw_charts: bool) -> Result<String> {
    let plan = PlanRecord::read(out)?;
    let missing = missing_runs(out, &plan);
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().take(20).map(|r| r.to_string()).collect();
        bail!(
            "{} of {} runs are not finished (run ids {}{})\n  help: run again with --resume",
            missing.len(),
            plan.runs.len(),
            list.join(", "),
            if missing.len() > 20 { ", …" } else { "" }
        );
    }
    store::verify_plan(out, &plan)?;
    // One batch at a time: its rows go to the step tables, its runs' scalars (and charted
    // paths) to the digests; nothing else of it is kept.
    let mut tables = super::tables::StepTables::create(out, &plan)?;
    let digests = super::digest::read(out, &plan, charted(&plan, draw_charts), |df| {
        tables.push(df)
    })?;
    tables.finish()?;

    let summary = summarise(&plan, &digests);
    let mut sdf = summary_frame(&plan, &summary)?;
    frame::write_parquet(&mut sdf, &out.join("summary.parquet"))?;
    frame::write_csv(&mut sdf, &out.join("summary.csv"))?;
    write_manifest(out, &plan, threads)?;
    let effects = if plan.comparison.baseline.is_some() {
        Some(super::effects::write(
            out,
            &plan,
            &digests,
            plan.comparison.bootstrap,
        )?)
    } else {
        None
    };
    if draw_charts {
        draw(out, &plan, &digests.paths, &summary)?;
        if let Some(rows) = &effects {
            super::effect_charts::draw(out, &plan, &digests.paths, rows)?;
        }
    }
    if plan.design.is_some() {
        let req = super::sensitivity::Request {
            charts: draw_charts,
            ..Default::default()
        };
        super::sensitivity::analyse(out, &req)?;
    }
    Ok(match &effects {
        Some(rows) => super::effects::headline_text(&plan, rows),
        None => levels_text(&plan, &summary),
    })
}

/// The terminal table of headline levels (mean of the last N steps, 95 % CI over replicates).
fn levels_text(plan: &PlanRecord, s: &Summary) -> String {
    let heads = &plan.comparison.headline;
    let mut lines = vec![format!(
        "levels, mean of the last {} steps (± 95% CI half-width over {} replicate{}):",
        plan.summary_last_steps,
        plan.replicates,
        if plan.replicates == 1 { "" } else { "s" }
    )];
    for (p, (_, st)) in plan.points.iter().zip(&s.points).take(20) {
        let cells: Vec<String> = heads
            .iter()
            .filter_map(|h| s.metrics.iter().position(|m| m == h).map(|k| (h, k)))
            .map(|(h, k)| {
                let ci = if st[k].2.is_finite() {
                    format!(" ± {:.4}", st[k].2)
                } else {
                    String::new()
                };
                format!("{h} {:.6}{ci}", st[k].0)
            })
            .collect();
        lines.push(format!("  {}: {}", p.label, cells.join("; ")));
    }
    if plan.points.len() > 20 {
        lines.push(format!(
            "  … {} more points in summary.csv",
            plan.points.len() - 20
        ));
    }
    lines.join("\n") + "\n"
}

/// Mean, standard deviation and 95% CI half-width of a metric over replicates.
pub type MeanSdCi = (f64, f64, f64);

/// Per point and metric: mean, sd and 95% CI half-width over replicates of each run's mean
/// over the last N steps.
pub struct Summary {
    /// Metric names.
    pub metrics: Vec<String>,
    /// Per point: runs, then per metric (mean, sd, ci95).
    pub points: Vec<(usize, Vec<MeanSdCi>)>,
}

/// Computes the summary from the runs' tail means.
pub fn summarise(plan: &PlanRecord, digests: &Digests) -> Summary {
    let metrics = digests.metrics.clone();
    let by_point = runs_by_point(plan, &digests.runs);
    let mut points = Vec::new();
    for p in &plan.points {
        let mine: &[&RunDigest] = by_point.get(p.id as usize).map_or(&[], Vec::as_slice);
        let stats = (0..metrics.len())
            .map(|k| {
                let per_run: Vec<f64> = mine.iter().map(|r| r.tail[k]).collect();
                let sd = if per_run.len() >= 2 {
                    sample_sd(&per_run)
                } else {
                    f64::NAN
                };
                (mean(&per_run), sd, ci95_half_width(&per_run))
            })
            .collect();
        points.push((mine.len(), stats));
    }
    Summary { metrics, points }
}

/// The runs of each point, in plan order (one pass, so a design of many points is linear).
pub fn runs_by_point<'a>(plan: &PlanRecord, runs: &'a [RunDigest]) -> Vec<Vec<&'a RunDigest>> {
    let mut by_point: Vec<Vec<&RunDigest>> = vec![Vec::new(); plan.points.len()];
    for r in runs {
        if let Some(v) = by_point.get_mut(r.point_id as usize) {
            v.push(r);
        }
    }
    by_point
}

/// The paths the charts will draw: the wallet and ecosystem shares of the runs of the shown
/// panels, and the headline metrics of the compared points shown in the effect paths (and
/// their baselines). Nothing without charts.
fn charted(plan: &PlanRecord, draw_charts: bool) -> Keep {
    let mut keep = Keep::nothing();
    if !draw_charts {
        return keep;
    }
    let groups = panel_groups(plan);
    for (_, ids) in &groups[..groups.len().min(MAX_PANELS)] {
        keep.points.extend(ids.iter().copied());
    }
    keep.prefixes = SHARE_PREFIXES.iter().map(|p| p.to_string()).collect();
    if plan.comparison.baseline.is_some() {
        for (p, b) in super::effect_charts::charted_comparisons(plan) {
            keep.points.insert(p);
            keep.points.insert(b);
        }
        keep.metrics
            .extend(plan.comparison.headline.iter().cloned());
    }
    keep
}

/// Panels of the time charts at most (the rest are named in the title).
const MAX_PANELS: usize = 12;

/// Values of a swept column a heatmap shows at most: beyond, a grid of cells is unreadable.
pub(super) const MAX_HEATMAP_LEVELS: usize = 12;

/// Whether pairs of swept columns get heatmaps: sweeps and grid designs do; the samples of
/// a Latin hypercube, Sobol' or Morris design fill a grid sparsely (mostly empty cells, each
/// a single sample), and their sensitivity charts (scatter, indices) show them instead.
pub(super) fn pair_heatmaps(plan: &PlanRecord) -> bool {
    plan.design
        .as_ref()
        .is_none_or(|d| matches!(d.method, gardengate_core::scenario::design::Method::Grid))
}

/// The metric prefixes of the share charts.
const SHARE_PREFIXES: [&str; 2] = ["wallet_share__", "gmv_share_eco__"];

/// The panels of the time charts: one per sweep point, or one per value of
/// `charts.panel_by`, pooling the runs of every point with that value.
fn panel_groups(plan: &PlanRecord) -> Vec<(String, Vec<u32>)> {
    match plan
        .panel_by
        .as_ref()
        .and_then(|c| plan.sweep_columns.iter().position(|x| x == c))
    {
        Some(k) => {
            let mut g: Vec<(String, Vec<u32>)> = Vec::new();
            for p in &plan.points {
                let label = format!("{}={}", plan.sweep_columns[k], p.params[k].1);
                match g.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, ids)) => ids.push(p.id),
                    None => g.push((label, vec![p.id])),
                }
            }
            g
        }
        None => plan
            .points
            .iter()
            .map(|p| (p.label.clone(), vec![p.id]))
            .collect(),
    }
}

fn summary_frame(plan: &PlanRecord, s: &Summary) -> Result<DataFrame> {
    let n = plan.points.len();
    let mut cols: Vec<Column> = vec![
        Column::new(
            "point_id".into(),
            plan.points.iter().map(|p| p.id).collect::<Vec<u32>>(),
        ),
        Column::new(
            "point_label".into(),
            plan.points
                .iter()
                .map(|p| p.label.as_str())
                .collect::<Vec<&str>>(),
        ),
    ];
    for (k, name) in plan.sweep_columns.iter().enumerate() {
        let vals: Vec<&ParamValue> = plan.points.iter().map(|p| &p.params[k].1).collect();
        if vals.iter().all(|v| matches!(v, ParamValue::Num(_))) {
            cols.push(Column::new(
                name.into(),
                vals.iter()
                    .map(|v| {
                        if let ParamValue::Num(x) = v {
                            *x
                        } else {
                            f64::NAN
                        }
                    })
                    .collect::<Vec<f64>>(),
            ));
        } else {
            cols.push(Column::new(
                name.into(),
                vals.iter().map(|v| v.to_string()).collect::<Vec<String>>(),
            ));
        }
    }
    cols.push(Column::new(
        "replicates".into(),
        s.points.iter().map(|p| p.0 as u32).collect::<Vec<u32>>(),
    ));
    cols.push(Column::new(
        "summary_last_steps".into(),
        vec![plan.summary_last_steps; n],
    ));
    for (k, m) in s.metrics.iter().enumerate() {
        cols.push(Column::new(
            format!("{m}_mean").into(),
            s.points.iter().map(|p| p.1[k].0).collect::<Vec<f64>>(),
        ));
        cols.push(Column::new(
            format!("{m}_sd").into(),
            s.points.iter().map(|p| p.1[k].1).collect::<Vec<f64>>(),
        ));
        cols.push(Column::new(
            format!("{m}_ci95").into(),
            s.points.iter().map(|p| p.1[k].2).collect::<Vec<f64>>(),
        ));
    }
    Ok(DataFrame::new(n, cols)?)
}

fn write_manifest(out: &Path, plan: &PlanRecord, threads: usize) -> Result<()> {
    let mut runs = Vec::new();
    let (mut first, mut last, mut total) = (f64::INFINITY, 0f64, 0f64);
    let records = (0..plan.batches())
        .map(|k| store::read_batch_records(out, plan, k).map(|r| r.0))
        .collect::<Result<Vec<_>>>()?;
    for (r, rec) in plan.runs.iter().zip(records.into_iter().flatten()) {
        first = first.min(rec.started_unix);
        last = last.max(rec.finished_unix);
        total += rec.wall_s;
        let p = &plan.points[r.point_id as usize];
        runs.push(serde_json::json!({
            "run_id": r.run_id,
            "point_id": r.point_id,
            "replicate": r.replicate,
            "seed": r.seed,
            "params": p.params.iter().map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default())).collect::<serde_json::Map<_, _>>(),
            "started": store::iso_time(rec.started_unix),
            "finished": store::iso_time(rec.finished_unix),
            "wall_s": rec.wall_s,
            "threads": rec.threads,
            "host": rec.host,
        }));
    }
    let m = serde_json::json!({
        "program": "gardengate",
        "version": env!("CARGO_PKG_VERSION"),
        "git_commit": crate::GIT_COMMIT,
        "scenario_file": plan.scenario_file,
        "scenario_name": plan.scenario_name,
        "scenario_hash": plan.scenario_hash,
        "steps": plan.steps,
        "replicates": plan.replicates,
        "sweep_columns": plan.sweep_columns,
        "points": plan.points,
        "resolved_base": plan.resolved_base,
        "resolved_patches": plan.resolved_patches,
        "comparison": plan.comparison,
        "shards": plan.shards,
        "threads": threads,
        "started": store::iso_time(first),
        "finished": store::iso_time(last),
        "assembled": store::iso_time(store::now_unix()),
        "run_wall_s_total": total,
        "runs": runs,
    });
    write_bytes(
        &out.join("manifest.json"),
        serde_json::to_string_pretty(&m)?.as_bytes(),
    )
}

/// Trailing rolling mean of `k` steps: the value at step t is the mean of steps t−k+1 ..= t.
/// Trailing rather than centred, so that a smoothed line never moves before the event that
/// moves it. Steps whose window would reach before `from` (the warm-up) are NaN (drawn as a
/// gap), so every plotted value averages exactly k steps. k ≤ 1 returns the path unchanged.
/// Each window is summed afresh in step order (no running sum), so values do not drift.
pub(super) fn trailing_mean(v: &[f64], from: usize, k: u32) -> Vec<f64> {
    let k = k as usize;
    if k <= 1 {
        return v.to_vec();
    }
    (0..v.len())
        .map(|t| {
            if t + 1 < from + k {
                f64::NAN
            } else {
                v[t + 1 - k..=t].iter().sum::<f64>() / k as f64
            }
        })
        .collect()
}

/// Mean and CI band over replicates, per step from `from` (the warm-up) on, of one metric at
/// one point.
///
/// With `smooth` k > 1 each run's path is first replaced by its trailing mean of k steps
/// ([`trailing_mean`]), so the band is the interval of the smoothed mean.
fn band(runs: &[&RunColumns], metric: &str, from: usize, steps: usize, smooth: u32) -> Series {
    let paths: Vec<Option<Vec<f64>>> = runs
        .iter()
        .map(|r| r.get(metric).map(|v| trailing_mean(v, from, smooth)))
        .collect();
    let mut s = Series {
        label: String::new(),
        x: (from..steps).map(|t| t as f64).collect(),
        mean: Vec::with_capacity(steps),
        lo: Vec::with_capacity(steps),
        hi: Vec::with_capacity(steps),
    };
    let mut vals = Vec::with_capacity(runs.len());
    for t in from..steps {
        vals.clear();
        vals.extend(
            paths
                .iter()
                .filter_map(|v| v.as_ref().and_then(|v| v.get(t)))
                .copied()
                .filter(|x| x.is_finite()),
        );
        let m = mean(&vals);
        let h = ci95_half_width(&vals);
        let h = if h.is_finite() { h } else { 0.0 };
        s.mean.push(m);
        s.lo.push(m - h);
        s.hi.push(m + h);
    }
    s
}

/// How a time chart's lines are smoothed, for its title ("" when they are not).
pub(super) fn smoothing_note(plan: &PlanRecord) -> String {
    if plan.smooth_steps > 1 {
        format!(", trailing mean of {} steps", plan.smooth_steps)
    } else {
        String::new()
    }
}

/// The calendar axis of a plan's time charts.
pub(super) fn time_axis(plan: &PlanRecord) -> TimeAxis {
    let start = parse_date(&plan.start_date).map(|d| {
        let (y, m, dd) = civil_from_days(d);
        (y as i32, m, dd)
    });
    TimeAxis {
        start_date: start,
        days_per_step: plan.days_per_step,
    }
}

/// The plan's event markers from step `from` on.
pub(super) fn event_marks(plan: &PlanRecord, from: u32) -> Vec<EventMark> {
    plan.events
        .iter()
        .filter(|e| e.step >= from)
        .map(|e| EventMark {
            step: e.step as f64,
            label: e.label.clone(),
        })
        .collect()
}

fn draw(out: &Path, plan: &PlanRecord, runs: &[RunColumns], summary: &Summary) -> Result<()> {
    let dir = out.join("charts");
    let axis = time_axis(plan);
    let events = event_marks(plan, 0);
    let steps = plan.steps as usize;
    let warm = (plan.comparison.warmup_steps as usize).min(steps);
    // Panels: one per sweep point (at most 12), or one per value of `charts.panel_by`.
    // `runs` holds the paths of these panels' runs only (`charted`).
    let groups = panel_groups(plan);
    let shown = &groups[..groups.len().min(MAX_PANELS)];
    let mut suffix = if groups.len() > shown.len() {
        format!(" (first {} of {} panels)", shown.len(), groups.len())
    } else {
        String::new()
    };
    // Panels by one column pool the runs over the others: say so.
    if let Some(c) = plan.panel_by.as_ref() {
        let others: Vec<&str> = plan
            .sweep_columns
            .iter()
            .filter(|x| *x != c)
            .map(String::as_str)
            .collect();
        if !others.is_empty() {
            suffix.push_str(&format!("; runs pooled over {}", others.join(", ")));
        }
    }
    let panels_for = |prefix: &str, names: &[String]| -> Vec<Panel> {
        shown
            .iter()
            .map(|(label, ids)| {
                let mine: Vec<&RunColumns> =
                    runs.iter().filter(|r| ids.contains(&r.point_id)).collect();
                Panel {
                    title: if groups.len() == 1 {
                        String::new()
                    } else {
                        label.clone()
                    },
                    series: names
                        .iter()
                        .map(|n| {
                            let mut s = band(
                                &mine,
                                &format!("{prefix}{n}"),
                                warm,
                                steps,
                                plan.smooth_steps,
                            );
                            s.label = n.clone();
                            s
                        })
                        .collect(),
                }
            })
            .collect()
    };
    let reps = format!(
        "{}{}",
        smoothing_note(plan),
        if plan.replicates > 1 {
            format!(", mean and 95% CI over {} replicates", plan.replicates)
        } else {
            String::new()
        }
    );
    charts::time_panels_in(
        &dir.join("wallet_shares"),
        &format!("Wallet shares of payment value{reps}{suffix}"),
        "share of payment value",
        &panels_for(SHARE_PREFIXES[0], &plan.wallets),
        &axis,
        &events,
        Some((0.0, 1.0)),
    )?;
    charts::time_panels_in(
        &dir.join("gmv_share_by_ecosystem"),
        &format!("GMV share by ecosystem{reps}{suffix}"),
        "share of GMV",
        &panels_for(SHARE_PREFIXES[1], &plan.ecosystems),
        &axis,
        &events,
        Some((0.0, 1.0)),
    )?;
    let comps = ["consumer_surplus", "merchant_profit", "platform_revenue"];
    let idx: Vec<usize> = comps
        .iter()
        .filter_map(|c| summary.metrics.iter().position(|m| m == c))
        .collect();
    let groups: Vec<String> = plan.points.iter().map(|p| p.label.clone()).collect();
    let values: Vec<Vec<(f64, f64)>> = summary
        .points
        .iter()
        .map(|(_, st)| {
            idx.iter()
                .map(|&k| (st[k].0, if st[k].2.is_finite() { st[k].2 } else { 0.0 }))
                .collect()
        })
        .collect();
    if groups.len() > 12 {
        // Many points: one row per point, one panel per component (a bar strip would be
        // thousands of pixels wide).
        let panels: Vec<(String, Vec<(f64, f64)>)> = idx
            .iter()
            .enumerate()
            .map(|(j, &k)| {
                (
                    summary.metrics[k].clone(),
                    values.iter().map(|v| v[j]).collect(),
                )
            })
            .collect();
        charts::forest_plot(
            &dir.join("welfare"),
            &format!(
                "Welfare per step (yuan), mean of the last {} steps{reps}",
                plan.summary_last_steps
            ),
            "yuan per step",
            &groups,
            &panels,
        )?;
    } else {
        charts::grouped_bars(
            &dir.join("welfare"),
            &format!(
                "Welfare per step (yuan), mean of the last {} steps{reps}",
                plan.summary_last_steps
            ),
            "yuan per step",
            &groups,
            &comps.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &values,
        )?;
    }
    // A heatmap for each pair of swept parameters, averaging over the others.
    let pairs = if pair_heatmaps(plan) {
        plan.sweep_columns.len()
    } else {
        0
    };
    for a in 0..pairs {
        for b in a + 1..pairs {
            for metric in ["total_welfare", "hhi_wallet"] {
                let Some(k) = summary.metrics.iter().position(|m| m == metric) else {
                    continue;
                };
                let distinct = |c: usize| -> Vec<String> {
                    let mut v: Vec<String> = Vec::new();
                    for p in &plan.points {
                        let s = p.params[c].1.to_string();
                        if !v.contains(&s) {
                            v.push(s);
                        }
                    }
                    v
                };
                let (xs, ys) = (distinct(a), distinct(b));
                if xs.len().max(ys.len()) > MAX_HEATMAP_LEVELS {
                    continue;
                }
                let z: Vec<Vec<f64>> = ys
                    .iter()
                    .map(|y| {
                        xs.iter()
                            .map(|x| {
                                let cell: Vec<f64> = plan
                                    .points
                                    .iter()
                                    .zip(&summary.points)
                                    .filter(|(p, _)| {
                                        &p.params[a].1.to_string() == x
                                            && &p.params[b].1.to_string() == y
                                    })
                                    .map(|(_, s)| s.1[k].0)
                                    .collect();
                                mean(&cell)
                            })
                            .collect()
                    })
                    .collect();
                let (ca, cb) = (&plan.sweep_columns[a], &plan.sweep_columns[b]);
                let others: Vec<&str> = plan
                    .sweep_columns
                    .iter()
                    .filter(|c| *c != ca && *c != cb)
                    .map(String::as_str)
                    .collect();
                charts::heatmap(
                    &dir.join(format!("heatmap__{ca}__{cb}__{metric}")),
                    &format!(
                        "{metric}: mean of the last {} steps{}",
                        plan.summary_last_steps,
                        if others.is_empty() {
                            String::new()
                        } else {
                            format!("; each cell averages over {}", others.join(", "))
                        }
                    ),
                    ca,
                    &xs,
                    cb,
                    &ys,
                    &z,
                    metric,
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::trailing_mean;

    #[test]
    fn trailing_mean_averages_exactly_k_steps_after_the_warm_up() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let s = trailing_mean(&v, 1, 3);
        // Steps 1..=2 would reach into the warm-up (step 0) or lack k values: blank.
        assert!(s[..3].iter().all(|x| x.is_nan()), "{s:?}");
        assert_eq!(&s[3..], &[3.0, 4.0, 5.0]);
        assert_eq!(trailing_mean(&v, 0, 1), v.to_vec());
        assert_eq!(trailing_mean(&v, 0, 0), v.to_vec());
        // A level shift at step 4 moves the smoothed line only from step 4 on (trailing).
        let jump = [0.0, 0.0, 0.0, 0.0, 3.0, 3.0, 3.0];
        let s = trailing_mean(&jump, 0, 3);
        assert_eq!(&s[2..], &[0.0, 0.0, 1.0, 2.0, 3.0]);
    }
}
