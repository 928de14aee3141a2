//! Charts of effects: effect paths (variant − baseline per step, with the paired 95 % band)
//! and a forest plot of the headline effects per window.

use super::effects::EffectRow;
use super::finalize::RunColumns;
use gardengate_charts::{self as charts, Panel, Series};
use gardengate_core::metrics::stats::{ci95_half_width, mean};
use gardengate_io::store::PlanRecord;
use gardengate_io::Result;
use std::path::Path;

/// Per step from the warm-up on: mean and 95 % band of variant − baseline over the runs
/// paired by seed (unpaired: difference of the means, no band).
pub fn effect_path(
    plan: &PlanRecord,
    runs: &[RunColumns],
    point: u32,
    baseline: u32,
    metric: &str,
) -> Series {
    let seed = |r: &RunColumns| plan.runs.get(r.run_id as usize).map_or(0, |s| s.seed);
    let var: Vec<&RunColumns> = runs.iter().filter(|r| r.point_id == point).collect();
    let base: Vec<&RunColumns> = runs.iter().filter(|r| r.point_id == baseline).collect();
    // Pairs as (variant index, baseline index).
    let pairs: Vec<(usize, usize)> = var
        .iter()
        .enumerate()
        .filter_map(|(i, v)| base.iter().position(|b| seed(b) == seed(v)).map(|j| (i, j)))
        .collect();
    let paired = pairs.len() == var.len() && var.len() == base.len();
    let steps = plan.steps as usize;
    let warm = plan.comparison.warmup_steps as usize;
    // Each run's path, smoothed when asked: the trailing mean is linear, so a pair's
    // difference of smoothed paths is the smoothed difference.
    let path = |r: &&RunColumns| {
        r.get(metric)
            .map(|v| super::finalize::trailing_mean(v, warm, plan.smooth_steps))
    };
    let var_paths: Vec<Option<Vec<f64>>> = var.iter().map(path).collect();
    let base_paths: Vec<Option<Vec<f64>>> = base.iter().map(path).collect();
    let at = |p: &Option<Vec<f64>>, t: usize| p.as_ref().and_then(|v| v.get(t)).copied();
    let mut s = Series::default();
    let mut d = Vec::with_capacity(var.len());
    for t in warm..steps {
        let (m, h) = if paired {
            d.clear();
            d.extend(
                pairs
                    .iter()
                    .filter_map(|&(i, j)| Some(at(&var_paths[i], t)? - at(&base_paths[j], t)?)),
            );
            (mean(&d), ci95_half_width(&d))
        } else {
            let vs: Vec<f64> = var_paths.iter().filter_map(|p| at(p, t)).collect();
            let bs: Vec<f64> = base_paths.iter().filter_map(|p| at(p, t)).collect();
            (mean(&vs) - mean(&bs), f64::NAN)
        };
        s.x.push(t as f64);
        s.mean.push(m);
        let h = if h.is_finite() { h } else { 0.0 };
        s.lo.push(m - h);
        s.hi.push(m + h);
    }
    s
}

/// Every compared point with its baseline point, in plan order.
fn compared_points(plan: &PlanRecord) -> Vec<(u32, u32)> {
    plan.points
        .iter()
        .filter_map(|p| {
            plan.comparison
                .compare_to
                .get(p.id as usize)
                .copied()
                .flatten()
                .map(|b| (p.id, b))
        })
        .collect()
}

/// The compared points (with their baselines) whose effect paths are drawn: the first 12.
pub fn charted_comparisons(plan: &PlanRecord) -> Vec<(u32, u32)> {
    let mut c = compared_points(plan);
    c.truncate(12);
    c
}

/// Draws `charts/effect_paths` (one panel per headline metric, one line per compared
/// point) and the forest plots. `runs` needs only the paths of [`charted_comparisons`]'
/// runs.
pub fn draw(out: &Path, plan: &PlanRecord, runs: &[RunColumns], rows: &[EffectRow]) -> Result<()> {
    let dir = out.join("charts");
    let cmp = &plan.comparison;
    let axis = super::finalize::time_axis(plan);
    let events = super::finalize::event_marks(plan, cmp.warmup_steps);
    let metrics: Vec<&String> = cmp
        .headline
        .iter()
        .filter(|h| rows.iter().any(|r| &r.metric == *h))
        .collect();
    let all_compared = compared_points(plan);
    // Effect paths of at most 12 points stay readable; the forest plots show every point.
    let n_compared = all_compared.len();
    let compared = charted_comparisons(plan);
    let compared = compared.as_slice();
    let panels: Vec<Panel> = metrics
        .iter()
        .map(|m| Panel {
            title: (*m).clone(),
            series: compared
                .iter()
                .map(|&(p, b)| {
                    let mut s = effect_path(plan, runs, p, b, m);
                    s.label = plan.points[p as usize].label.clone();
                    s
                })
                .collect(),
        })
        .collect();
    let band = format!(
        "{}{}",
        super::finalize::smoothing_note(plan),
        if plan.replicates > 1 {
            format!(", paired 95% band over {} replicates", plan.replicates)
        } else {
            String::new()
        }
    );
    charts::time_panels(
        &dir.join("effect_paths"),
        &format!(
            "Effect per step against `{}` (variant − baseline{band}){}",
            cmp.baseline.as_deref().unwrap_or(""),
            if n_compared > compared.len() {
                format!(", first {} of {n_compared} compared points", compared.len())
            } else {
                String::new()
            }
        ),
        "effect per step",
        &panels,
        &axis,
        &events,
    )?;
    // A forest plot per window: headline metrics × compared points (all of them).
    let compared = &all_compared;
    let labels: Vec<String> = compared
        .iter()
        .map(|&(p, _)| plan.points[p as usize].label.clone())
        .collect();
    for (wi, w) in cmp.windows.iter().enumerate() {
        let panels: Vec<(String, Vec<(f64, f64)>)> = metrics
            .iter()
            .map(|m| {
                let vals = compared
                    .iter()
                    .map(|&(p, _)| {
                        rows.iter()
                            .find(|r| r.point_id == p && r.window == wi && &r.metric == *m)
                            .map_or((f64::NAN, f64::NAN), |r| (r.effect.effect, r.effect.ci95))
                    })
                    .collect();
                ((*m).clone(), vals)
            })
            .collect();
        let what = match w.stat {
            gardengate_core::scenario::variants::Stat::Mean => "mean per step",
            gardengate_core::scenario::variants::Stat::Sum if cmp.scale_to.is_some() => {
                "sum, scaled to the population"
            }
            gardengate_core::scenario::variants::Stat::Sum => "sum",
        };
        charts::forest_plot(
            &dir.join(format!("forest__{}", file_safe(&w.name))),
            &format!(
                "Effects, window {} (steps {}–{}, {what}){}",
                w.name,
                w.from,
                w.to,
                if plan.replicates > 1 {
                    format!(
                        ", {} 95% interval",
                        rows.first().map_or("", |r| r.effect.test())
                    )
                } else {
                    String::new()
                }
            ),
            "effect (variant − baseline)",
            &labels,
            &panels,
        )?;
    }
    draw_heatmaps(&dir, plan, rows, &metrics)
}

/// Effect heatmaps of a sweep with two or more swept columns and a baseline: for each pair
/// of columns and headline metric, the first window's effect per cell on a diverging scale
/// (a baseline cell is 0 by definition). Points that differ only in other columns are
/// averaged, and the title says over which.
fn draw_heatmaps(
    dir: &Path,
    plan: &PlanRecord,
    rows: &[EffectRow],
    metrics: &[&String],
) -> Result<()> {
    let cmp = &plan.comparison;
    let cols = &plan.sweep_columns;
    let Some(w) = cmp.windows.first() else {
        return Ok(());
    };
    if cols.len() < 2 || !super::finalize::pair_heatmaps(plan) {
        return Ok(());
    }
    let value = |p: usize, c: &str| {
        plan.points[p]
            .params
            .iter()
            .find(|(n, _)| n == c)
            .map(|(_, v)| v.to_string())
    };
    let variant = |p: usize| cmp.variant.get(p).cloned().unwrap_or_default();
    let is_baseline = |p: usize| cmp.compare_to.contains(&Some(p as u32));
    // One set of heatmaps per compared variant (a plain sweep has one, named "").
    let mut variants: Vec<String> = Vec::new();
    for (p, b) in cmp.compare_to.iter().enumerate() {
        if b.is_some() && !variants.contains(&variant(p)) {
            variants.push(variant(p));
        }
    }
    for v in &variants {
        // The variant's compared points, and baseline points of the same variant (effect 0).
        let cells: Vec<usize> = (0..plan.points.len())
            .filter(|&p| variant(p) == *v && (cmp.compare_to[p].is_some() || is_baseline(p)))
            .collect();
        for a in 0..cols.len() {
            for b in a + 1..cols.len() {
                let distinct = |c: &str| -> Vec<String> {
                    let mut out: Vec<String> = Vec::new();
                    for &p in &cells {
                        if let Some(x) = value(p, c) {
                            if !out.contains(&x) {
                                out.push(x);
                            }
                        }
                    }
                    out
                };
                let (ca, cb) = (&cols[a], &cols[b]);
                let (xs, ys) = (distinct(ca), distinct(cb));
                if xs.len() < 2 && ys.len() < 2 {
                    continue;
                }
                if xs.len().max(ys.len()) > super::finalize::MAX_HEATMAP_LEVELS {
                    continue;
                }
                let others: Vec<&str> = cols
                    .iter()
                    .filter(|c| *c != ca && *c != cb)
                    .map(String::as_str)
                    .collect();
                let pooled = if others.is_empty() {
                    String::new()
                } else {
                    format!("; each cell averages over {}", others.join(", "))
                };
                for m in metrics {
                    let z: Vec<Vec<f64>> = ys
                        .iter()
                        .map(|y| {
                            xs.iter()
                                .map(|x| {
                                    let vals: Vec<f64> = cells
                                        .iter()
                                        .filter(|&&p| {
                                            value(p, ca).as_ref() == Some(x)
                                                && value(p, cb).as_ref() == Some(y)
                                        })
                                        .filter_map(|&p| {
                                            if cmp.compare_to[p].is_none() {
                                                return Some(0.0);
                                            }
                                            rows.iter()
                                                .find(|r| {
                                                    r.point_id as usize == p
                                                        && r.window == 0
                                                        && &r.metric == *m
                                                })
                                                .map(|r| r.effect.effect)
                                        })
                                        .collect();
                                    if vals.is_empty() {
                                        f64::NAN
                                    } else {
                                        mean(&vals)
                                    }
                                })
                                .collect()
                        })
                        .collect();
                    let tag = if v.is_empty() || variants.len() == 1 {
                        String::new()
                    } else {
                        format!("__{}", file_safe(v))
                    };
                    charts::effect_heatmap(
                        &dir.join(format!("effect_heatmap{tag}__{ca}__{cb}__{}", file_safe(m))),
                        &format!(
                            "Effect on {m} against `{}`, window {}{}{pooled}",
                            cmp.baseline.as_deref().unwrap_or(""),
                            w.name,
                            if v.is_empty() {
                                String::new()
                            } else {
                                format!(", variant {v}")
                            }
                        ),
                        ca,
                        &xs,
                        cb,
                        &ys,
                        &z,
                        &format!("effect on {m}"),
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// A window name as a file name part.
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
