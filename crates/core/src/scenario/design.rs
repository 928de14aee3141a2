//! Experimental designs: `[design]` in a scenario file (`grid`, `lhs`, `sobol`, `morris`)
//! turned into samples, each sample a plan point like a sweep point.
//!
//! Every design is first drawn in the unit cube (one coordinate per parameter), then mapped
//! to parameter values by each parameter's distribution. The unit coordinates are kept: the
//! Morris analysis works on them (as SALib does) and `design.parquet` records both. Draws come
//! from keyed streams (`Purpose::Design`) and the scrambled Sobol sequence of `sobol_burley`
//! keyed by the design seed, so a design is a pure function of its section.

use super::error;
use super::{ParamValue, Problem};
use crate::rng::{Purpose, Stream};
use serde::{Deserialize, Serialize};

/// Most parameters of one design (the Sobol sequence has 256 dimensions for A and B).
pub const MAX_PARAMS: usize = 128;
/// Largest Sobol base sample (`sobol_burley` gives 2^16 points per sequence).
pub const MAX_SOBOL_N: u32 = 1 << 16;

/// Design method.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Cartesian product of each parameter's levels (or categorical values).
    Grid,
    /// Latin hypercube of `n` samples.
    Lhs,
    /// Saltelli's scheme on a scrambled Sobol sequence: `n · (D + 2)` samples, or
    /// `n · (2D + 2)` with `second_order`.
    Sobol,
    /// Morris trajectories: `n · (D + 1)` samples on a `levels`-level grid.
    Morris,
}

impl Method {
    /// The name written in files.
    pub fn name(self) -> &'static str {
        match self {
            Method::Grid => "grid",
            Method::Lhs => "lhs",
            Method::Sobol => "sobol",
            Method::Morris => "morris",
        }
    }
}

/// How a parameter's unit coordinate maps to a value.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// Uniform over `bounds`.
    #[default]
    Uniform,
    /// Uniform in the logarithm over `bounds` (both > 0).
    LogUniform,
    /// Whole numbers from `bounds[0]` to `bounds[1]`, equally likely.
    Integer,
}

/// The `[design]` section as written.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DesignSpec {
    /// Name of a design in `[[designs]]` (its out sub-folder); not used by `[design]`.
    #[serde(default)]
    pub name: Option<String>,
    /// Design method.
    pub method: Method,
    /// Sample size: Sobol base sample (a power of two), Morris trajectories, LHS samples.
    /// Not used by `grid`.
    #[serde(default)]
    pub n: Option<u32>,
    /// Levels: Morris grid levels (even, default 4); grid levels of numeric parameters
    /// (default 3).
    #[serde(default)]
    pub levels: Option<u32>,
    /// Replicates per sample (overrides the top-level `replicates`).
    #[serde(default)]
    pub replicates: Option<u32>,
    /// Seed of the design's draws (default: the scenario seed).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Sobol: also sample for second-order indices (`n · (2D + 2)` runs).
    #[serde(default)]
    pub second_order: bool,
    /// Give replicate r the same run seed at every sample (default true: the analysed
    /// differences between samples are then the parameters' doing, not the draws').
    #[serde(default = "yes")]
    pub common_random_numbers: bool,
    /// Output metrics analysed after the run (default `consumer_surplus`); each is the mean
    /// over the summary window (`summary_last_steps`), averaged over replicates.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Analyse the paired effect of this variant (a `[[variants]]` name) instead of a level:
    /// per sample, the variant's level minus the baseline's, replicate by replicate (common
    /// random numbers), averaged over replicates.
    #[serde(default)]
    pub effect_of: Option<String>,
    /// The `[[windows]]` entry whose statistic is the analysed output (default: the mean of
    /// the summary window).
    #[serde(default)]
    pub window: Option<String>,
    /// The parameters.
    #[serde(default)]
    pub param: Vec<DesignParam>,
}

fn yes() -> bool {
    true
}

/// One `[[design.param]]`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DesignParam {
    /// Dotted path of a sweepable key (`policy.tau`, `platforms.taobao.commission`).
    pub path: String,
    /// `[lo, hi]` of a numeric parameter.
    #[serde(default)]
    pub bounds: Option<Vec<f64>>,
    /// Distribution over the bounds.
    #[serde(default)]
    pub distribution: Distribution,
    /// Categorical values (grid only), instead of bounds.
    #[serde(default)]
    pub values: Option<Vec<toml::Value>>,
    /// Column name in outputs; default the path with dots replaced by `__`.
    #[serde(default)]
    pub column: Option<String>,
}

/// A checked parameter of a design.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ParamRecord {
    /// Output column.
    pub column: String,
    /// Dotted path it sets.
    pub path: String,
    /// Distribution (ignored for categorical).
    pub distribution: Distribution,
    /// Bounds of a numeric parameter.
    pub bounds: Option<[f64; 2]>,
    /// Categorical values, as written.
    pub categories: Option<Vec<ParamValue>>,
}

/// A drawn design, as recorded in `plan.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Design {
    /// Method.
    pub method: Method,
    /// Sobol base sample, Morris trajectories, LHS samples, or grid points.
    pub n: u32,
    /// Morris or grid levels (0 where unused).
    pub levels: u32,
    /// Sobol second-order columns sampled.
    pub second_order: bool,
    /// Seed of the draws.
    pub seed: u64,
    /// Replicate r's run seed is the same at every sample.
    pub common_random_numbers: bool,
    /// Metrics analysed after the run.
    pub metrics: Vec<String>,
    /// Parameters, in order.
    pub params: Vec<ParamRecord>,
    /// Unit-cube coordinates of each sample (grid: the level's position in [0, 1]).
    pub unit: Vec<Vec<f64>>,
    /// The variant whose paired effect is analysed (None: levels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect_of: Option<String>,
    /// The `[[windows]]` entry analysed (None: the summary window's mean).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
}

impl Design {
    /// Number of samples (plan points).
    pub fn samples(&self) -> usize {
        self.unit.len()
    }

    /// Number of parameters.
    pub fn dims(&self) -> usize {
        self.params.len()
    }

    /// Morris step in unit coordinates: `levels / (2 (levels − 1))`, as in SALib.
    pub fn morris_delta(&self) -> f64 {
        self.levels as f64 / (2.0 * (self.levels as f64 - 1.0))
    }

    /// Value of parameter `j` at sample `i`.
    pub fn value(&self, i: usize, j: usize) -> ParamValue {
        let p = &self.params[j];
        let u = self.unit[i][j];
        if let Some(c) = &p.categories {
            let k = ((u * (c.len() - 1) as f64).round() as usize).min(c.len() - 1);
            return c[k].clone();
        }
        let [lo, hi] = p.bounds.unwrap_or([0.0, 1.0]);
        ParamValue::Num(map_unit(p.distribution, lo, hi, u))
    }

    /// Numeric value of parameter `j` at sample `i` (categorical: the category's index).
    pub fn number(&self, i: usize, j: usize) -> f64 {
        match self.value(i, j) {
            ParamValue::Num(x) => x,
            ParamValue::Text(_) => {
                let c = self.params[j].categories.as_ref().map_or(1, |c| c.len());
                (self.unit[i][j] * (c - 1) as f64).round()
            }
        }
    }

    /// Role of sample `i` in the design: Sobol `A`, `AB_j`, `BA_j`, `B`; Morris
    /// `trajectory t, point k`; otherwise empty.
    pub fn role(&self, i: usize) -> String {
        let d = self.dims();
        match self.method {
            Method::Sobol => {
                let step = if self.second_order { 2 * d + 2 } else { d + 2 };
                let k = i % step;
                if k == 0 {
                    "A".into()
                } else if k == step - 1 {
                    "B".into()
                } else if k <= d {
                    format!("AB_{}", self.params[k - 1].column)
                } else {
                    format!("BA_{}", self.params[k - 1 - d].column)
                }
            }
            Method::Morris => format!("trajectory {}", i / (d + 1)),
            _ => String::new(),
        }
    }
}

/// A unit coordinate mapped to a value: `u = 1` gives the upper bound exactly.
pub fn map_unit(dist: Distribution, lo: f64, hi: f64, u: f64) -> f64 {
    match dist {
        Distribution::Uniform => {
            if u >= 1.0 {
                hi
            } else {
                lo + u * (hi - lo)
            }
        }
        Distribution::LogUniform => {
            if u >= 1.0 {
                hi
            } else {
                (lo.ln() + u * (hi.ln() - lo.ln())).exp()
            }
        }
        Distribution::Integer => {
            let k = (u * (hi - lo + 1.0)).floor();
            (lo + k).min(hi)
        }
    }
}

/// The parameter value as it goes into the scenario table.
fn toml_value(dist: Distribution, v: &ParamValue) -> toml::Value {
    match v {
        ParamValue::Num(x) if dist == Distribution::Integer => toml::Value::Integer(*x as i64),
        ParamValue::Num(x) => toml::Value::Float(*x),
        ParamValue::Text(s) => toml::Value::String(s.clone()),
    }
}

/// A design expanded for the plan: the drawn design and, per parameter, its path, column and
/// the toml value it takes at each sample.
pub struct Expanded {
    /// The design.
    pub design: Design,
    /// (path, column, value per sample) per parameter.
    pub axes: Vec<(String, String, Vec<toml::Value>)>,
}

/// Checks a `[design]` section and draws it. `default_seed` is the scenario seed. Problems
/// carry keys such as `design.param[1].bounds` (the caller finds their lines).
pub fn expand(
    spec: &DesignSpec,
    default_seed: u64,
    max_points: u64,
) -> Result<Expanded, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut bad = |key: String, message: String, suggestion: Option<String>| {
        problems.push(Problem {
            key,
            line: None,
            message,
            suggestion,
        })
    };
    let d = spec.param.len();
    if d == 0 {
        bad(
            "design".into(),
            "no `[[design.param]]`; expected at least one parameter".into(),
            Some("add [[design.param]] with path = \"policy.tau\", bounds = [0.1, 0.3]".into()),
        );
    }
    if d > MAX_PARAMS {
        bad(
            "design.param".into(),
            format!("{d} parameters; expected at most {MAX_PARAMS}"),
            None,
        );
    }
    let mut params: Vec<ParamRecord> = Vec::new();
    for (j, p) in spec.param.iter().enumerate() {
        let key = format!("design.param[{j}]");
        if p.path.starts_with("design") || p.path.starts_with("sweep") || p.path.is_empty() {
            bad(
                format!("{key}.path"),
                format!("`{}` is not a scenario parameter", p.path),
                Some("for example `policy.tau` or `platforms.taobao.commission`".into()),
            );
            continue;
        }
        let column = p
            .column
            .clone()
            .unwrap_or_else(|| p.path.replace('.', "__"));
        if params.iter().any(|q| q.column == column) {
            bad(
                format!(
                    "{key}.{}",
                    if p.column.is_some() { "column" } else { "path" }
                ),
                format!("column `{column}` is in the design twice; expected each column once"),
                Some("give one of them another `column` name".into()),
            );
            continue;
        }
        match (&p.bounds, &p.values) {
            (Some(b), None) => {
                if b.len() != 2 || !b[0].is_finite() || !b[1].is_finite() {
                    bad(
                        format!("{key}.bounds"),
                        format!("bounds {b:?}; expected two finite numbers `[lo, hi]`"),
                        None,
                    );
                    continue;
                }
                let (lo, hi) = (b[0], b[1]);
                if lo > hi || (lo == hi && spec.method != Method::Grid) {
                    bad(
                        format!("{key}.bounds"),
                        format!(
                            "bounds [{lo}, {hi}] are {}; expected lo < hi",
                            if lo > hi { "reversed" } else { "empty" }
                        ),
                        Some(format!("bounds = [{}, {}]", lo.min(hi), lo.max(hi))),
                    );
                    continue;
                }
                match p.distribution {
                    Distribution::LogUniform if lo <= 0.0 => {
                        bad(
                            format!("{key}.bounds"),
                            format!("log_uniform bounds [{lo}, {hi}]; expected lo > 0"),
                            Some("use distribution = \"uniform\" for ranges that include 0".into()),
                        );
                        continue;
                    }
                    Distribution::Integer if lo.fract() != 0.0 || hi.fract() != 0.0 => {
                        bad(
                            format!("{key}.bounds"),
                            format!("integer bounds [{lo}, {hi}]; expected whole numbers"),
                            Some(format!("bounds = [{}, {}]", lo.ceil(), hi.floor())),
                        );
                        continue;
                    }
                    _ => {}
                }
                params.push(ParamRecord {
                    column,
                    path: p.path.clone(),
                    distribution: p.distribution,
                    bounds: Some([lo, hi]),
                    categories: None,
                });
            }
            (None, Some(v)) => {
                if spec.method != Method::Grid {
                    bad(
                        format!("{key}.values"),
                        format!(
                            "categorical `values` in a `{}` design; expected `bounds = [lo, hi]`",
                            spec.method.name()
                        ),
                        Some(
                            "categorical parameters go in method = \"grid\" designs (or a [sweep]); give numeric parameters bounds"
                                .into(),
                        ),
                    );
                    continue;
                }
                if v.is_empty() {
                    bad(
                        format!("{key}.values"),
                        "no values; expected a non-empty list".into(),
                        None,
                    );
                    continue;
                }
                params.push(ParamRecord {
                    column,
                    path: p.path.clone(),
                    distribution: p.distribution,
                    bounds: None,
                    categories: Some(v.iter().map(super::param_value).collect()),
                });
            }
            _ => bad(
                key,
                "expected exactly one of `bounds = [lo, hi]` or `values = [...]` (grid only)"
                    .into(),
                Some("bounds = [0.1, 0.3]".into()),
            ),
        }
    }
    let seed = spec.seed.unwrap_or(default_seed);
    let n_key = "design.n".to_string();
    let need_n = |problems: &mut Vec<Problem>, what: &str| -> Option<u32> {
        match spec.n {
            Some(n) if n >= 1 => Some(n),
            _ => {
                problems.push(Problem {
                    key: if spec.n.is_some() {
                        n_key.clone()
                    } else {
                        "design".into()
                    },
                    line: None,
                    message: format!("a `{}` design needs `n` ≥ 1 ({what})", spec.method.name()),
                    suggestion: Some("n = 64".into()),
                });
                None
            }
        }
    };
    let levels = match spec.method {
        Method::Morris => {
            let l = spec.levels.unwrap_or(4);
            if l < 2 || l % 2 == 1 || l > 1000 {
                problems.push(Problem {
                    key: "design.levels".into(),
                    line: None,
                    message: format!("{l} Morris levels; expected an even number from 2 to 1000"),
                    suggestion: Some(format!("levels = {}", l.max(2).div_ceil(2) * 2)),
                });
            }
            l
        }
        Method::Grid => {
            let l = spec.levels.unwrap_or(3);
            if l == 0 {
                problems.push(Problem {
                    key: "design.levels".into(),
                    line: None,
                    message: "0 grid levels; expected at least 1".into(),
                    suggestion: None,
                });
            }
            l
        }
        _ => 0,
    };
    let n = match spec.method {
        Method::Sobol => {
            let n = need_n(&mut problems, "the base sample, a power of two");
            if let Some(n) = n {
                if !n.is_power_of_two() || n > MAX_SOBOL_N {
                    let below = if n > MAX_SOBOL_N {
                        MAX_SOBOL_N
                    } else {
                        1 << (31 - n.leading_zeros())
                    };
                    let above = (n.min(MAX_SOBOL_N)).next_power_of_two();
                    problems.push(Problem {
                        key: n_key.clone(),
                        line: None,
                        message: format!(
                            "Sobol base sample n = {n}; expected a power of two up to {MAX_SOBOL_N} (the Sobol sequence is balanced only at powers of two)"
                        ),
                        suggestion: Some(if below == above || n > MAX_SOBOL_N {
                            format!("n = {below}")
                        } else {
                            format!("n = {below} or n = {above}")
                        }),
                    });
                }
            }
            n.unwrap_or(0)
        }
        Method::Morris => need_n(&mut problems, "the number of trajectories").unwrap_or(0),
        Method::Lhs => need_n(&mut problems, "the number of samples").unwrap_or(0),
        Method::Grid => 0,
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let dims = params.len();
    let samples: u64 = match spec.method {
        Method::Sobol => {
            n as u64
                * if spec.second_order {
                    2 * dims as u64 + 2
                } else {
                    dims as u64 + 2
                }
        }
        Method::Morris => n as u64 * (dims as u64 + 1),
        Method::Lhs => n as u64,
        Method::Grid => params
            .iter()
            .map(|p| match &p.categories {
                Some(c) => c.len() as u64,
                None if p.distribution == Distribution::Integer => {
                    let [lo, hi] = p.bounds.unwrap_or([0.0, 0.0]);
                    ((hi - lo) as u64 + 1).min(levels as u64)
                }
                None => levels as u64,
            })
            .try_fold(1u64, |a, k| a.checked_mul(k))
            .unwrap_or(u64::MAX),
    };
    if samples > max_points {
        return Err(vec![Problem {
            key: if spec.n.is_some() {
                "design.n".into()
            } else {
                "design".into()
            },
            line: None,
            message: format!("the design has {samples} samples; expected at most {max_points}"),
            suggestion: Some("a smaller `n` (or fewer levels or parameters)".into()),
        }]);
    }
    let unit = match spec.method {
        Method::Sobol => saltelli(n, dims, spec.second_order, seed),
        Method::Morris => morris(n, dims, levels, seed),
        Method::Lhs => latin_hypercube(n, dims, seed),
        Method::Grid => grid(&params, levels),
    };
    let design = Design {
        method: spec.method,
        n: if spec.method == Method::Grid {
            unit.len() as u32
        } else {
            n
        },
        levels,
        second_order: spec.method == Method::Sobol && spec.second_order,
        seed,
        common_random_numbers: spec.common_random_numbers,
        metrics: if spec.metrics.is_empty() {
            vec!["consumer_surplus".into()]
        } else {
            spec.metrics.clone()
        },
        params,
        unit,
        effect_of: spec.effect_of.clone(),
        window: spec.window.clone(),
    };
    let axes = (0..design.dims())
        .map(|j| {
            let p = &design.params[j];
            let values = (0..design.samples())
                .map(|i| toml_value(p.distribution, &design.value(i, j)))
                .collect();
            (p.path.clone(), p.column.clone(), values)
        })
        .collect();
    Ok(Expanded { design, axes })
}

/// The point `index` of the Owen-scrambled Sobol sequence in dimension `dim`, in [0, 1)
/// with 32 bits (the crate's building blocks, so that no f32 rounding is involved).
pub fn sobol_point(index: u32, dim: u32, seed: u64) -> f64 {
    use sobol_burley::parts::{hash, owen_scramble_rev, sobol_rev};
    let s = (seed ^ (seed >> 32)) as u32;
    let scramble = hash(dim ^ hash(s));
    let rev = sobol_rev(index.reverse_bits(), dim);
    owen_scramble_rev(rev, scramble).reverse_bits() as f64 * (1.0 / 4_294_967_296.0)
}

/// Saltelli's cross-sampling of a 2D-dimensional scrambled Sobol sequence, in SALib's row
/// order: for each base point i, `A_i`, `AB_i^1 … AB_i^D`, (`BA_i^1 … BA_i^D`), `B_i`, where
/// A takes dimensions 0..D and B dimensions D..2D, and `AB^j` is A with column j from B.
pub fn saltelli(n: u32, d: usize, second_order: bool, seed: u64) -> Vec<Vec<f64>> {
    let mut out = Vec::with_capacity(n as usize * (2 * d + 2));
    for i in 0..n {
        let a: Vec<f64> = (0..d).map(|j| sobol_point(i, j as u32, seed)).collect();
        let b: Vec<f64> = (0..d)
            .map(|j| sobol_point(i, (d + j) as u32, seed))
            .collect();
        out.push(a.clone());
        for k in 0..d {
            let mut r = a.clone();
            r[k] = b[k];
            out.push(r);
        }
        if second_order {
            for k in 0..d {
                let mut r = b.clone();
                r[k] = a[k];
                out.push(r);
            }
        }
        out.push(b);
    }
    out
}

/// A Latin hypercube: in each dimension the n samples fall one in each of n equal strata
/// (a random permutation of the strata, a uniform position within each). Dimension j draws
/// from its own stream.
pub fn latin_hypercube(n: u32, d: usize, seed: u64) -> Vec<Vec<f64>> {
    let n = n as usize;
    let mut out = vec![vec![0.0; d]; n];
    for j in 0..d {
        let mut s = Stream::new(seed, Purpose::Design, 1, j as u64);
        let mut perm: Vec<u32> = (0..n as u32).collect();
        for i in (1..n).rev() {
            let k = s.below(i as u32 + 1) as usize;
            perm.swap(i, k);
        }
        for (i, row) in out.iter_mut().enumerate() {
            row[j] = (perm[i] as f64 + s.uniform()) / n as f64;
        }
    }
    out
}

/// Morris trajectories (Morris 1991; SALib's non-optimised sampler): on the grid
/// {0, 1/(p−1), …, 1}, each trajectory starts at a random base point and moves one parameter
/// at a time, in random order, by ±Δ with Δ = p / (2(p−1)). Trajectory t draws from its own
/// stream.
pub fn morris(r: u32, d: usize, levels: u32, seed: u64) -> Vec<Vec<f64>> {
    let p = levels as f64;
    let delta = p / (2.0 * (p - 1.0));
    // Base levels k with k/(p−1) + Δ ≤ 1: k = 0 … p/2 − 1.
    let base_levels = levels / 2;
    let mut out = Vec::with_capacity(r as usize * (d + 1));
    for t in 0..r {
        let mut s = Stream::new(seed, Purpose::Design, 2, t as u64);
        let mut x: Vec<f64> = (0..d)
            .map(|_| s.below(base_levels) as f64 / (p - 1.0))
            .collect();
        // Direction per parameter: up from the base point, or down from base + Δ.
        let up: Vec<bool> = (0..d).map(|_| s.bernoulli(0.5)).collect();
        for j in 0..d {
            if !up[j] {
                x[j] += delta;
            }
        }
        let mut order: Vec<usize> = (0..d).collect();
        for i in (1..d).rev() {
            let k = s.below(i as u32 + 1) as usize;
            order.swap(i, k);
        }
        out.push(x.clone());
        for &j in &order {
            x[j] = if up[j] { x[j] + delta } else { x[j] - delta };
            // Snap to the grid so that repeated ±Δ stays exact.
            x[j] = (x[j] * (p - 1.0)).round() / (p - 1.0);
            out.push(x.clone());
        }
    }
    out
}

/// The grid: each numeric parameter at `levels` evenly spaced positions (an integer
/// parameter at most at each of its whole numbers), each categorical one at each value; the
/// first parameter varies slowest.
fn grid(params: &[ParamRecord], levels: u32) -> Vec<Vec<f64>> {
    let axes: Vec<Vec<f64>> = params
        .iter()
        .map(|p| {
            let k = match &p.categories {
                Some(c) => c.len(),
                None if p.distribution == Distribution::Integer => {
                    let [lo, hi] = p.bounds.unwrap_or([0.0, 0.0]);
                    ((hi - lo) as usize + 1).min(levels as usize)
                }
                None => levels as usize,
            };
            if k == 1 {
                return vec![0.0];
            }
            match (&p.categories, p.distribution) {
                // Whole numbers lo + round(m (hi − lo)/(k − 1)) as unit positions that
                // `map_unit` floors back to them.
                (None, Distribution::Integer) => {
                    let [lo, hi] = p.bounds.unwrap_or([0.0, 0.0]);
                    let span = hi - lo + 1.0;
                    (0..k)
                        .map(|m| {
                            let v = (m as f64 * (hi - lo) / (k - 1) as f64).round();
                            (v + 0.5) / span
                        })
                        .collect()
                }
                _ => (0..k).map(|m| m as f64 / (k - 1) as f64).collect(),
            }
        })
        .collect();
    let mut out: Vec<Vec<f64>> = vec![Vec::new()];
    for a in &axes {
        let mut next = Vec::with_capacity(out.len() * a.len());
        for row in &out {
            for &u in a {
                let mut r = row.clone();
                r.push(u);
                next.push(r);
            }
        }
        out = next;
    }
    out
}

/// Locates design problems on their lines (`design.param[1].bounds`).
pub fn locate(text: &str, problems: &mut [Problem]) {
    for p in problems {
        if p.line.is_none() {
            p.line = error::locate(text, &p.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(method: Method, n: u32, d: usize) -> DesignSpec {
        DesignSpec {
            name: None,
            method,
            n: Some(n),
            levels: None,
            replicates: None,
            seed: Some(7),
            second_order: false,
            common_random_numbers: true,
            metrics: Vec::new(),
            effect_of: None,
            window: None,
            param: (0..d)
                .map(|j| DesignParam {
                    path: format!("policy.p{j}"),
                    bounds: Some(vec![0.0, 1.0 + j as f64]),
                    distribution: Distribution::Uniform,
                    values: None,
                    column: None,
                })
                .collect(),
        }
    }

    #[test]
    fn sobol_points_are_balanced_at_powers_of_two() {
        // A (t, m, s)-net property: each of the 16 intervals of width 1/16 holds exactly one
        // of the first 16 points in every dimension, for any scramble seed.
        for seed in [0u64, 1, 99] {
            for dim in 0..6 {
                let mut seen = [0u32; 16];
                for i in 0..16 {
                    let x = sobol_point(i, dim, seed);
                    assert!((0.0..1.0).contains(&x));
                    seen[(x * 16.0) as usize] += 1;
                }
                assert!(
                    seen.iter().all(|&c| c == 1),
                    "dim {dim} seed {seed}: {seen:?}"
                );
            }
        }
        assert_ne!(sobol_point(3, 0, 1), sobol_point(3, 0, 2), "seed scrambles");
    }

    #[test]
    fn saltelli_layout_matches_salib() {
        let x = saltelli(4, 3, true, 5);
        assert_eq!(x.len(), 4 * 8);
        for i in 0..4 {
            let r = &x[i * 8..(i + 1) * 8];
            let (a, b) = (&r[0], &r[7]);
            for k in 0..3 {
                for j in 0..3 {
                    assert_eq!(r[1 + k][j], if j == k { b[j] } else { a[j] });
                    assert_eq!(r[4 + k][j], if j == k { a[j] } else { b[j] });
                }
            }
        }
    }

    #[test]
    fn latin_hypercube_fills_each_stratum_once() {
        let x = latin_hypercube(50, 4, 3);
        for j in 0..4 {
            let mut seen = [0; 50];
            for r in &x {
                seen[(r[j] * 50.0) as usize] += 1;
            }
            assert!(seen.iter().all(|&c| c == 1));
        }
        assert_eq!(x, latin_hypercube(50, 4, 3));
        assert_ne!(x, latin_hypercube(50, 4, 4));
    }

    #[test]
    fn morris_trajectories_move_one_parameter_by_delta() {
        let levels = 4;
        let delta = 4.0 / 6.0;
        let x = morris(20, 5, levels, 11);
        assert_eq!(x.len(), 20 * 6);
        for t in 0..20 {
            let tr = &x[t * 6..(t + 1) * 6];
            let mut moved = [false; 5];
            for k in 0..5 {
                let diffs: Vec<usize> = (0..5).filter(|&j| tr[k + 1][j] != tr[k][j]).collect();
                assert_eq!(diffs.len(), 1);
                let j = diffs[0];
                assert!(((tr[k + 1][j] - tr[k][j]).abs() - delta).abs() < 1e-12);
                assert!(!moved[j]);
                moved[j] = true;
            }
            for row in tr {
                for &u in row {
                    assert!((0.0..=1.0).contains(&u));
                    let g = u * 3.0;
                    assert!((g - g.round()).abs() < 1e-12, "on the grid");
                }
            }
        }
    }

    #[test]
    fn distributions_map_the_unit_interval() {
        assert_eq!(map_unit(Distribution::Uniform, 2.0, 4.0, 0.25), 2.5);
        assert_eq!(map_unit(Distribution::Uniform, 2.0, 4.0, 1.0), 4.0);
        let g = map_unit(Distribution::LogUniform, 0.01, 1.0, 0.5);
        assert!((g - 0.1).abs() < 1e-12);
        let counts = (0..1000).fold([0; 3], |mut c, i| {
            let v = map_unit(Distribution::Integer, 1.0, 3.0, i as f64 / 1000.0);
            c[v as usize - 1] += 1;
            c
        });
        assert!(
            counts.iter().all(|&c| (333..=334).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(map_unit(Distribution::Integer, 1.0, 3.0, 1.0), 3.0);
    }

    #[test]
    fn expand_checks_and_draws() {
        let e = expand(&spec(Method::Sobol, 8, 2), 1, 100_000).ok().unwrap();
        assert_eq!(e.design.samples(), 8 * 4);
        assert_eq!(e.axes.len(), 2);
        assert_eq!(e.axes[1].1, "policy__p1");
        assert_eq!(e.design.role(0), "A");
        assert_eq!(e.design.role(2), "AB_policy__p1");
        assert_eq!(e.design.role(3), "B");

        let mut s = spec(Method::Sobol, 1000, 2);
        let p = expand(&s, 1, 100_000).err().unwrap();
        assert_eq!(p[0].key, "design.n");
        assert_eq!(p[0].suggestion.as_deref(), Some("n = 512 or n = 1024"));
        s.n = Some(1024);
        s.param[0].bounds = Some(vec![3.0, 1.0]);
        let p = expand(&s, 1, 100_000).err().unwrap();
        assert_eq!(p[0].key, "design.param[0].bounds");
        assert!(p[0].message.contains("reversed"), "{}", p[0].message);
        assert_eq!(p[0].suggestion.as_deref(), Some("bounds = [1, 3]"));
        s.param[0].bounds = None;
        s.param[0].values = Some(vec![toml::Value::String("open".into())]);
        let p = expand(&s, 1, 100_000).err().unwrap();
        assert_eq!(p[0].key, "design.param[0].values");
        assert!(p[0].message.contains("categorical"));

        let mut g = spec(Method::Grid, 0, 2);
        g.n = None;
        g.levels = Some(3);
        g.param[1].bounds = None;
        g.param[1].values = Some(vec![
            toml::Value::String("walled".into()),
            toml::Value::String("open".into()),
        ]);
        let e = expand(&g, 1, 100_000).ok().unwrap();
        assert_eq!(e.design.samples(), 6);
        assert_eq!(e.axes[0].2[0], toml::Value::Float(0.0));
        assert_eq!(e.axes[0].2[2], toml::Value::Float(0.5));
        assert_eq!(e.axes[0].2[5], toml::Value::Float(1.0));
        assert_eq!(e.axes[1].2[1], toml::Value::String("open".into()));

        let mut i = spec(Method::Grid, 0, 1);
        i.n = None;
        i.levels = Some(10);
        i.param[0].distribution = Distribution::Integer;
        i.param[0].bounds = Some(vec![2.0, 5.0]);
        let e = expand(&i, 1, 100_000).ok().unwrap();
        let v: Vec<_> = e.axes[0]
            .2
            .iter()
            .map(|v| v.as_integer().unwrap())
            .collect();
        assert_eq!(v, vec![2, 3, 4, 5]);
    }
}
