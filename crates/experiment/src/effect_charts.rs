//! Charts of effects: effect paths (variant − baseline per step, with the paired 95 % band)
//! and a forest plot of the headline effects per window.

use super::effects::EffectRow;
use super::finalize::RunValues;
use anyhow::Result;
use gardengate_charts::{self as charts, Panel, Series};
use gardengate_core::metrics::stats::{ci95_half_width, mean};
use gardengate_io::store::PlanRecord;
use std::path::Path;

/// Per step from the warm-up on: mean and 95 % band of variant − baseline over the runs
/// paired by seed (unpaired: difference of the means, no band).
pub fn effect_path(
    plan: &PlanRecord,
    runs: &[RunValues],
    point: u32,
    baseline: u32,
    metric: &str,
) -> Series {
    let seed = |r: &RunValues| plan.runs.get(r.run_id as usize).map_or(0, |s| s.seed);
    let var: Vec<&RunValues> = runs.iter().filter(|r| r.point_id == point).collect();
    let base: Vec<&RunValues> = runs.iter().filter(|r| r.point_id == baseline).collect();
    let pairs: Vec<(&RunValues, &RunValues)> = var
        .iter()
        .filter_map(|v| base.iter().find(|b| seed(b) == seed(v)).map(|b| (*v, *b)))
        .collect();
    let paired = pairs.len() == var.len() && var.len() == base.len();
    let steps = plan.steps as usize;
    let warm = plan.comparison.warmup_steps as usize;
    let mut s = Series::default();
    let mut d = Vec::with_capacity(var.len());
    let at = |r: &RunValues, t: usize| r.get(metric).and_then(|v| v.get(t)).copied();
    for t in warm..steps {
        let (m, h) = if paired {
            d.clear();
            d.extend(
                pairs
                    .iter()
                    .filter_map(|(v, b)| Some(at(v, t)? - at(b, t)?)),
            );
            (mean(&d), ci95_half_width(&d))
        } else {
            let vs: Vec<f64> = var.iter().filter_map(|r| at(r, t)).collect();
            let bs: Vec<f64> = base.iter().filter_map(|r| at(r, t)).collect();
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

/// Draws `charts/effect_paths` (one panel per headline metric, one line per compared
/// point).
pub fn draw(out: &Path, plan: &PlanRecord, runs: &[RunValues], rows: &[EffectRow]) -> Result<()> {
    let dir = out.join("charts");
    let cmp = &plan.comparison;
    let axis = super::finalize::time_axis(plan);
    let events = super::finalize::event_marks(plan, cmp.warmup_steps);
    let metrics: Vec<&String> = cmp
        .headline
        .iter()
        .filter(|h| rows.iter().any(|r| &r.metric == *h))
        .collect();
    let compared: Vec<(u32, u32)> = plan
        .points
        .iter()
        .filter_map(|p| {
            cmp.compare_to
                .get(p.id as usize)
                .copied()
                .flatten()
                .map(|b| (p.id, b))
        })
        .take(12)
        .collect();
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
    let band = if plan.replicates > 1 {
        format!(", paired 95% band over {} replicates", plan.replicates)
    } else {
        String::new()
    };
    charts::time_panels(
        &dir.join("effect_paths"),
        &format!(
            "Effect per step against `{}` (variant − baseline{band})",
            cmp.baseline.as_deref().unwrap_or("")
        ),
        "effect per step",
        &panels,
        &axis,
        &events,
    )?;
    // A forest plot per window: headline metrics × compared points.
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
