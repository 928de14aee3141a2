//! Effects of variants (or sweep points) against their baseline: per point × metric ×
//! window, the baseline level, the effect (variant − baseline), the relative effect and a 95 %
//! interval over replicates, paired by seed where the runs share seeds (common random
//! numbers), Welch's otherwise; optionally a percentile bootstrap. Written to
//! `effects.parquet` and `effects.csv`.
//!
//! Every number is computed by fixed-order loops over the per-run files, so the table is
//! bit-identical however the runs were scheduled. [`window_value`] and [`effect`] are the
//! reusable parts: one run's statistic over a window, and the effect of one set of runs
//! against another.

use super::digest::{Digests, Keep, RunDigest};
use gardengate_core::metrics::stats::{ci95_half_width, mean, sample_sd, t_quantile, welch_t_test};
use gardengate_core::rng::{Purpose, Stream};
use gardengate_core::scenario::variants::{Stat, Window};
use gardengate_io::frame;
use gardengate_io::store::PlanRecord;
use gardengate_io::{bail, Result};
use polars::prelude::*;
use std::path::Path;

/// One run's statistic over a window: the mean of `values[from..=to]`, or their sum times
/// `sum_scale`. NaN when the window lies outside the values.
pub fn window_value(values: &[f64], w: &Window, sum_scale: f64) -> f64 {
    let (a, b) = (w.from as usize, w.to as usize);
    if a > b || b >= values.len() {
        return f64::NAN;
    }
    let v = &values[a..=b];
    match w.stat {
        Stat::Mean => mean(v),
        Stat::Sum => {
            // In step order, so the sum does not depend on anything but the values.
            let mut s = 0.0;
            for &x in v {
                s += x;
            }
            s * sum_scale
        }
    }
}

/// The effect of one set of runs against another.
#[derive(Clone, Debug, PartialEq)]
pub struct Effect {
    /// Mean over the baseline runs.
    pub baseline_level: f64,
    /// Mean over the variant runs.
    pub variant_level: f64,
    /// Variant − baseline: the mean of the paired differences, or the difference of means.
    pub effect: f64,
    /// Half-width of the 95 % t interval of the effect.
    pub ci95: f64,
    /// Bootstrap 2.5 % and 97.5 % percentiles of the effect (NaN without bootstrap).
    pub boot_lo: f64,
    /// See `boot_lo`.
    pub boot_hi: f64,
    /// Runs compared (pairs when paired, else variant runs).
    pub n: usize,
    /// Baseline runs.
    pub n_baseline: usize,
    /// Whether runs were paired by seed.
    pub paired: bool,
}

impl Effect {
    /// Effect relative to the baseline level (NaN when the level is 0).
    pub fn relative(&self) -> f64 {
        if self.baseline_level == 0.0 {
            f64::NAN
        } else {
            self.effect / self.baseline_level
        }
    }

    /// Half-width of the relative effect's interval, the baseline level taken as known.
    pub fn relative_ci95(&self) -> f64 {
        if self.baseline_level == 0.0 {
            f64::NAN
        } else {
            self.ci95 / self.baseline_level.abs()
        }
    }

    /// Name of the interval's test.
    pub fn test(&self) -> &'static str {
        if self.paired {
            "paired t"
        } else {
            "Welch t"
        }
    }
}

/// The effect of `variant` runs against `baseline` runs, each given as (seed, value). Runs
/// are paired when every variant run has a baseline run with its seed and the counts agree:
/// the effect is then the mean of the differences and its interval
/// `t(0.975, n−1)·sd(d)/√n`. Otherwise the difference of means with Welch's interval.
/// `bootstrap` > 0 adds percentile bootstrap bounds from `bootstrap` resamples, drawn from
/// the stream of `boot_key` (deterministic).
pub fn effect(
    baseline: &[(u64, f64)],
    variant: &[(u64, f64)],
    bootstrap: u32,
    boot_key: u64,
) -> Effect {
    let b: Vec<f64> = baseline.iter().map(|x| x.1).collect();
    let v: Vec<f64> = variant.iter().map(|x| x.1).collect();
    let pairs: Option<Vec<f64>> = (baseline.len() == variant.len() && !variant.is_empty())
        .then(|| {
            variant
                .iter()
                .map(|(s, x)| {
                    let mut hits = baseline.iter().filter(|(t, _)| t == s);
                    match (hits.next(), hits.next()) {
                        (Some((_, y)), None) => Some(x - y),
                        _ => None,
                    }
                })
                .collect()
        })
        .flatten();
    let (baseline_level, variant_level) = (mean(&b), mean(&v));
    let mut e = match &pairs {
        Some(d) => Effect {
            baseline_level,
            variant_level,
            effect: mean(d),
            ci95: ci95_half_width(d),
            boot_lo: f64::NAN,
            boot_hi: f64::NAN,
            n: d.len(),
            n_baseline: b.len(),
            paired: true,
        },
        None => {
            let (_, df, _) = welch_t_test(&v, &b);
            let se = (sample_sd(&v).powi(2) / v.len() as f64
                + sample_sd(&b).powi(2) / b.len() as f64)
                .sqrt();
            // Both samples constant: the interval has width 0 (Welch's df is undefined).
            let ci95 = if se == 0.0 {
                0.0
            } else {
                t_quantile(0.95, df) * se
            };
            Effect {
                baseline_level,
                variant_level,
                effect: variant_level - baseline_level,
                ci95,
                boot_lo: f64::NAN,
                boot_hi: f64::NAN,
                n: v.len(),
                n_baseline: b.len(),
                paired: false,
            }
        }
    };
    if bootstrap > 0 && !v.is_empty() && !b.is_empty() {
        let mut rng = Stream::new(boot_key, Purpose::Bootstrap, 0, 0);
        let mut stats = Vec::with_capacity(bootstrap as usize);
        let draw = |x: &[f64], rng: &mut Stream| {
            let mut s = 0.0;
            for _ in 0..x.len() {
                s += x[rng.below(x.len() as u32) as usize];
            }
            s / x.len() as f64
        };
        for _ in 0..bootstrap {
            stats.push(match &pairs {
                Some(d) => draw(d, &mut rng),
                None => draw(&v, &mut rng) - draw(&b, &mut rng),
            });
        }
        stats.sort_by(f64::total_cmp);
        e.boot_lo = quantile_sorted(&stats, 0.025);
        e.boot_hi = quantile_sorted(&stats, 0.975);
    }
    e
}

/// Linear-interpolation quantile (type 7) of sorted values.
fn quantile_sorted(x: &[f64], q: f64) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let h = (x.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    x[lo] + (h - lo as f64) * (x[hi] - x[lo])
}

/// One row of the effects table.
#[derive(Clone, Debug)]
pub struct EffectRow {
    /// The compared point.
    pub point_id: u32,
    /// Its baseline point.
    pub baseline_point_id: u32,
    /// Metric.
    pub metric: String,
    /// Index into the plan's windows.
    pub window: usize,
    /// The effect.
    pub effect: Effect,
}

/// The (seed, window value) of each of a point's runs.
fn point_values(runs: &[&RunDigest], metric: usize, window: usize) -> Vec<(u64, f64)> {
    runs.iter()
        .map(|r| (r.seed, r.windows[window][metric]))
        .collect()
}

/// The effects of every compared point, metric and window, in that order.
pub fn compute(plan: &PlanRecord, digests: &Digests, bootstrap: u32) -> Vec<EffectRow> {
    let cmp = &plan.comparison;
    let by_point = super::finalize::runs_by_point(plan, &digests.runs);
    let of = |p: u32| by_point.get(p as usize).map_or(&[][..], Vec::as_slice);
    let mut rows = Vec::new();
    for p in &plan.points {
        let Some(Some(b)) = cmp.compare_to.get(p.id as usize) else {
            continue;
        };
        for (mi, m) in digests.metrics.iter().enumerate() {
            for wi in 0..cmp.windows.len() {
                let base = point_values(of(*b), mi, wi);
                let var = point_values(of(p.id), mi, wi);
                let key = gardengate_core::rng::key(
                    cmp.bootstrap_seed,
                    Purpose::Bootstrap,
                    p.id as u64,
                    (mi as u64) << 16 | wi as u64,
                );
                rows.push(EffectRow {
                    point_id: p.id,
                    baseline_point_id: *b,
                    metric: m.clone(),
                    window: wi,
                    effect: effect(&base, &var, bootstrap, key),
                });
            }
        }
    }
    rows
}

/// The effects table as a frame (columns documented in README, "Effects").
pub fn frame(plan: &PlanRecord, rows: &[EffectRow]) -> Result<DataFrame> {
    let n = rows.len();
    let cmp = &plan.comparison;
    let label = |id: u32| {
        plan.points
            .get(id as usize)
            .map_or(String::new(), |p| p.label.clone())
    };
    let variant = |id: u32| cmp.variant.get(id as usize).cloned().unwrap_or_default();
    let f = |g: &dyn Fn(&EffectRow) -> f64| rows.iter().map(g).collect::<Vec<f64>>();
    let s = |g: &dyn Fn(&EffectRow) -> String| rows.iter().map(g).collect::<Vec<String>>();
    let u = |g: &dyn Fn(&EffectRow) -> u32| rows.iter().map(g).collect::<Vec<u32>>();
    let win = |r: &EffectRow| &cmp.windows[r.window];
    let cols = vec![
        Column::new("scenario".into(), vec![plan.scenario_name.as_str(); n]),
        Column::new("variant".into(), s(&|r| variant(r.point_id))),
        Column::new("point_id".into(), u(&|r| r.point_id)),
        Column::new("point_label".into(), s(&|r| label(r.point_id))),
        Column::new("baseline_point_id".into(), u(&|r| r.baseline_point_id)),
        Column::new("baseline_label".into(), s(&|r| label(r.baseline_point_id))),
        Column::new("metric".into(), s(&|r| r.metric.clone())),
        Column::new("window".into(), s(&|r| win(r).name.clone())),
        Column::new(
            "stat".into(),
            s(&|r| match win(r).stat {
                Stat::Mean => "mean".into(),
                Stat::Sum => "sum".into(),
            }),
        ),
        Column::new("from_step".into(), u(&|r| win(r).from)),
        Column::new("to_step".into(), u(&|r| win(r).to)),
        Column::new(
            "scale".into(),
            f(&|r| match win(r).stat {
                Stat::Mean => 1.0,
                Stat::Sum => cmp.sum_scale,
            }),
        ),
        Column::new("baseline_level".into(), f(&|r| r.effect.baseline_level)),
        Column::new("variant_level".into(), f(&|r| r.effect.variant_level)),
        Column::new("effect".into(), f(&|r| r.effect.effect)),
        Column::new("effect_ci95".into(), f(&|r| r.effect.ci95)),
        Column::new("effect_lo".into(), f(&|r| r.effect.effect - r.effect.ci95)),
        Column::new("effect_hi".into(), f(&|r| r.effect.effect + r.effect.ci95)),
        Column::new("relative_effect".into(), f(&|r| r.effect.relative())),
        Column::new("relative_ci95".into(), f(&|r| r.effect.relative_ci95())),
        Column::new("boot_lo".into(), f(&|r| r.effect.boot_lo)),
        Column::new("boot_hi".into(), f(&|r| r.effect.boot_hi)),
        Column::new("n".into(), u(&|r| r.effect.n as u32)),
        Column::new("n_baseline".into(), u(&|r| r.effect.n_baseline as u32)),
        Column::new(
            "paired".into(),
            rows.iter().map(|r| r.effect.paired).collect::<Vec<bool>>(),
        ),
        Column::new("test".into(), s(&|r| r.effect.test().to_string())),
    ];
    Ok(DataFrame::new(n, cols)?)
}

/// Computes and writes `effects.parquet` and `effects.csv`; returns the rows.
pub fn write(
    out: &Path,
    plan: &PlanRecord,
    digests: &Digests,
    bootstrap: u32,
) -> Result<Vec<EffectRow>> {
    let rows = compute(plan, digests, bootstrap);
    let mut df = frame(plan, &rows)?;
    frame::write_parquet(&mut df, &out.join("effects.parquet"))?;
    frame::write_csv(&mut df, &out.join("effects.csv"))?;
    Ok(rows)
}

/// `gardengate effects OUT`: the effects of a finished out folder.
pub fn command(out: &Path, bootstrap: Option<u32>) -> Result<Vec<EffectRow>> {
    let plan = PlanRecord::read(out)?;
    if plan.comparison.baseline.is_none() {
        bail!(
            "{}: scenario `{}` declares nothing to compare (no [[variants]] and no `baseline`)\n  help: add [[variants]] to the scenario, or `baseline = \"<point label>\"` to compare sweep points with one of them (labels: {})",
            out.display(),
            plan.scenario_name,
            plan.points
                .iter()
                .take(6)
                .map(|p| format!("`{}`", p.label))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let missing = super::finalize::missing_runs(out, &plan);
    if !missing.is_empty() {
        bail!(
            "{} of {} runs are not finished\n  help: run again with --resume",
            missing.len(),
            plan.runs.len()
        );
    }
    let digests = super::digest::read(out, &plan, Keep::nothing(), |_| Ok(()))?;
    write(
        out,
        &plan,
        &digests,
        bootstrap.unwrap_or(plan.comparison.bootstrap),
    )
}

/// A number in a short, readable form (3 significant digits, SI-free).
fn short(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e7).contains(&a) {
        format!("{x:.3e}")
    } else {
        let digits = (3 - 1 - a.log10().floor() as i32).max(0) as usize;
        format!("{x:.digits$}")
    }
}

/// The terminal table of the headline effects.
pub fn headline_text(plan: &PlanRecord, rows: &[EffectRow]) -> String {
    let cmp = &plan.comparison;
    let mut lines = vec![format!(
        "{:<28} {:<18} {:<16} {:>11} {:>11} {:>25} {:>9}  test",
        "variant / point", "metric", "window", "baseline", "effect", "95% interval", "relative"
    )];
    for r in rows {
        if !cmp.headline.contains(&r.metric) {
            continue;
        }
        let e = &r.effect;
        let label = plan
            .points
            .get(r.point_id as usize)
            .map_or("", |p| p.label.as_str());
        lines.push(format!(
            "{:<28} {:<18} {:<16} {:>11} {:>11} {:>25} {:>8.2}%  {}, n={}",
            truncate(label, 28),
            truncate(&r.metric, 18),
            truncate(&cmp.windows[r.window].name, 16),
            short(e.baseline_level),
            short(e.effect),
            format!(
                "[{}, {}]",
                short(e.effect - e.ci95),
                short(e.effect + e.ci95)
            ),
            100.0 * e.relative(),
            e.test(),
            e.n
        ));
    }
    format!(
        "effects against `{}` (variant − baseline; windows: {}):\n{}\n",
        cmp.baseline.as_deref().unwrap_or(""),
        cmp.windows
            .iter()
            .map(|w| format!(
                "{} = steps {}..={} ({})",
                w.name,
                w.from,
                w.to,
                match w.stat {
                    Stat::Mean => "mean per step",
                    Stat::Sum => "sum",
                }
            ))
            .collect::<Vec<_>>()
            .join(", "),
        lines.join("\n")
    )
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
