//! Sensitivity indices of a design's output: Sobol' S1, ST (and S2) with bootstrap
//! intervals, Morris μ, μ*, σ with μ*'s bootstrap interval, and standardized regression and
//! partial rank correlation coefficients for Latin hypercubes and grids.
//!
//! The estimators are SALib's, on the same sample layout (so its numbers can be reproduced
//! from `design.parquet`): the output is centred and scaled by its mean and standard
//! deviation over all samples; S1 is Saltelli et al. (2010), ST is Jansen (1999), S2 is
//! Saltelli (2002), each divided by the variance of the A and B outputs; Morris elementary
//! effects are in unit-cube coordinates (per `Δ = p / (2(p − 1))`). Intervals are
//! `z · sd` of bootstrap replicates (SALib's normal interval), drawn from keyed streams
//! (`Purpose::SensitivityBootstrap`, resample b), so they are the same on every machine. All sums are
//! plain loops in index order.

// Index loops mirror the formulas (and SALib's arrays) more plainly than iterator chains.
#![allow(clippy::needless_range_loop)]

use crate::rng::{inverse_normal, Purpose, Stream};
use crate::scenario::design::{Design, Method};

/// One estimated index.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Design method (`sobol`, `morris`, `lhs`, `grid`).
    pub method: &'static str,
    /// Parameter column.
    pub parameter: String,
    /// Second parameter of a second-order index (empty otherwise).
    pub parameter2: String,
    /// `S1`, `ST`, `S2`, `mu`, `mu_star`, `sigma`, `src`, `prcc`, or `r2` (regression fit).
    pub index: &'static str,
    /// The estimate.
    pub value: f64,
    /// Half-width of the interval at the confidence level (NaN where there is none).
    pub conf: f64,
    /// Lower end of the interval (NaN where there is none).
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
}

/// Options of the estimators.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Bootstrap resamples.
    pub resamples: u32,
    /// Confidence level of the intervals (0.95).
    pub conf_level: f64,
    /// Seed of the bootstrap draws.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            resamples: 1000,
            conf_level: 0.95,
            seed: 1,
        }
    }
}

/// The indices of a design's outputs `y` (one per sample, in sample order).
pub fn analyse(design: &Design, y: &[f64], opts: &Options) -> Result<Vec<Row>, String> {
    if y.len() != design.samples() {
        return Err(format!(
            "{} outputs for a design of {} samples",
            y.len(),
            design.samples()
        ));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(format!("the output of sample {i} is not a finite number"));
    }
    let names: Vec<String> = design.params.iter().map(|p| p.column.clone()).collect();
    let d = names.len();
    let mut rows: Vec<Row> = Vec::new();
    let row =
        |method: Method, j: Option<usize>, k: Option<usize>, index, value: f64, conf: f64| Row {
            method: method.name(),
            parameter: j.map(|j| names[j].clone()).unwrap_or_default(),
            parameter2: k.map(|k| names[k].clone()).unwrap_or_default(),
            index,
            value,
            conf,
            lo: value - conf,
            hi: value + conf,
        };
    match design.method {
        Method::Sobol => {
            let s = sobol(y, d, design.second_order, opts)?;
            for j in 0..d {
                rows.push(row(
                    Method::Sobol,
                    Some(j),
                    None,
                    "S1",
                    s.s1[j],
                    s.s1_conf[j],
                ));
                rows.push(row(
                    Method::Sobol,
                    Some(j),
                    None,
                    "ST",
                    s.st[j],
                    s.st_conf[j],
                ));
            }
            if let Some((s2, c2)) = &s.s2 {
                for j in 0..d {
                    for k in j + 1..d {
                        rows.push(row(
                            Method::Sobol,
                            Some(j),
                            Some(k),
                            "S2",
                            s2[j][k],
                            c2[j][k],
                        ));
                    }
                }
            }
        }
        Method::Morris => {
            let m = morris(&design.unit, y, d, design.morris_delta(), opts)?;
            for j in 0..d {
                rows.push(row(Method::Morris, Some(j), None, "mu", m.mu[j], f64::NAN));
                rows.push(row(
                    Method::Morris,
                    Some(j),
                    None,
                    "mu_star",
                    m.mu_star[j],
                    m.mu_star_conf[j],
                ));
                rows.push(row(
                    Method::Morris,
                    Some(j),
                    None,
                    "sigma",
                    m.sigma[j],
                    f64::NAN,
                ));
            }
        }
        Method::Lhs | Method::Grid => {
            let x: Vec<Vec<f64>> = (0..design.samples())
                .map(|i| (0..d).map(|j| design.number(i, j)).collect())
                .collect();
            let r = regression(&x, y, opts.conf_level)?;
            for j in 0..d {
                rows.push(row(
                    design.method,
                    Some(j),
                    None,
                    "src",
                    r.src[j],
                    r.src_conf[j],
                ));
                let mut p = row(design.method, Some(j), None, "prcc", r.prcc[j], f64::NAN);
                p.lo = r.prcc_lo[j];
                p.hi = r.prcc_hi[j];
                rows.push(p);
            }
            rows.push(row(design.method, None, None, "r2", r.r2, f64::NAN));
        }
    }
    Ok(rows)
}

/// A square table `[j][k]` over parameters.
pub type Matrix = Vec<Vec<f64>>;

/// Sobol' indices with their interval half-widths.
#[derive(Clone, Debug)]
pub struct SobolIndices {
    /// First-order indices.
    pub s1: Vec<f64>,
    /// Their interval half-widths.
    pub s1_conf: Vec<f64>,
    /// Total-order indices.
    pub st: Vec<f64>,
    /// Their interval half-widths.
    pub st_conf: Vec<f64>,
    /// Second-order indices `[j][k]` for j < k, and their half-widths (NaN elsewhere).
    pub s2: Option<(Matrix, Matrix)>,
}

/// The outputs of a Saltelli sample split into A, B, AB^j and BA^j (SALib's layout).
struct Split {
    a: Vec<f64>,
    b: Vec<f64>,
    ab: Vec<Vec<f64>>,
    ba: Vec<Vec<f64>>,
}

fn split(y: &[f64], d: usize, second_order: bool) -> Result<Split, String> {
    let step = if second_order { 2 * d + 2 } else { d + 2 };
    if y.is_empty() || !y.len().is_multiple_of(step) {
        return Err(format!(
            "{} outputs; a Saltelli sample of {d} parameters has a multiple of {step}",
            y.len()
        ));
    }
    // Centred and scaled as SALib does (population sd over all outputs).
    let n_all = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n_all;
    let sd = (y.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n_all).sqrt();
    let scale = if sd > 0.0 { 1.0 / sd } else { 1.0 };
    let yn: Vec<f64> = y.iter().map(|v| (v - mean) * scale).collect();
    let rows = |k: usize| -> Vec<f64> { yn.iter().skip(k).step_by(step).copied().collect() };
    Ok(Split {
        a: rows(0),
        b: rows(step - 1),
        ab: (0..d).map(|j| rows(j + 1)).collect(),
        ba: if second_order {
            (0..d).map(|j| rows(j + 1 + d)).collect()
        } else {
            Vec::new()
        },
    })
}

/// Population variance of A and B together over the rows `idx`, or None when they are
/// constant (SALib then reports 0).
fn var_ab(s: &Split, idx: &[usize]) -> Option<f64> {
    let n = 2.0 * idx.len() as f64;
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut sum = 0.0;
    for &i in idx {
        for v in [s.a[i], s.b[i]] {
            sum += v;
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if hi - lo <= f64::EPSILON {
        return None;
    }
    let m = sum / n;
    let mut ss = 0.0;
    for &i in idx {
        ss += (s.a[i] - m) * (s.a[i] - m) + (s.b[i] - m) * (s.b[i] - m);
    }
    let v = ss / n;
    (v > f64::EPSILON).then_some(v)
}

fn first_order(s: &Split, j: usize, idx: &[usize], var: Option<f64>) -> f64 {
    let Some(var) = var else { return 0.0 };
    let mut acc = 0.0;
    for &i in idx {
        acc += s.b[i] * (s.ab[j][i] - s.a[i]);
    }
    acc / idx.len() as f64 / var
}

fn total_order(s: &Split, j: usize, idx: &[usize], var: Option<f64>) -> f64 {
    let Some(var) = var else { return 0.0 };
    let mut acc = 0.0;
    for &i in idx {
        let e = s.a[i] - s.ab[j][i];
        acc += e * e;
    }
    0.5 * acc / idx.len() as f64 / var
}

fn second_order(s: &Split, j: usize, k: usize, idx: &[usize], var: Option<f64>) -> f64 {
    let Some(v) = var else { return 0.0 };
    let mut acc = 0.0;
    for &i in idx {
        acc += s.ba[j][i] * s.ab[k][i] - s.a[i] * s.b[i];
    }
    acc / idx.len() as f64 / v - first_order(s, j, idx, var) - first_order(s, k, idx, var)
}

/// Sample standard deviation (n − 1) in index order.
fn sd(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let m = x.iter().sum::<f64>() / x.len() as f64;
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

/// Bootstrap resample `b` of `n` indices.
fn resample(seed: u64, b: u32, stream: u64, n: usize) -> Vec<usize> {
    let mut s = Stream::new(seed, Purpose::SensitivityBootstrap, b as u64, stream);
    (0..n).map(|_| s.below(n as u32) as usize).collect()
}

/// Sobol' indices of outputs `y` of a Saltelli sample of `d` parameters.
pub fn sobol(
    y: &[f64],
    d: usize,
    second_order_too: bool,
    opts: &Options,
) -> Result<SobolIndices, String> {
    let s = split(y, d, second_order_too)?;
    let n = s.a.len();
    let all: Vec<usize> = (0..n).collect();
    let var = var_ab(&s, &all);
    let z = inverse_normal(0.5 + opts.conf_level / 2.0);
    let s1: Vec<f64> = (0..d).map(|j| first_order(&s, j, &all, var)).collect();
    let st: Vec<f64> = (0..d).map(|j| total_order(&s, j, &all, var)).collect();
    let nb = opts.resamples as usize;
    let mut b1 = vec![Vec::with_capacity(nb); d];
    let mut bt = vec![Vec::with_capacity(nb); d];
    let mut b2 = vec![vec![Vec::new(); d]; d];
    for b in 0..opts.resamples {
        let idx = resample(opts.seed, b, 0, n);
        let v = var_ab(&s, &idx);
        for j in 0..d {
            b1[j].push(first_order(&s, j, &idx, v));
            bt[j].push(total_order(&s, j, &idx, v));
            if second_order_too {
                for k in j + 1..d {
                    b2[j][k].push(second_order(&s, j, k, &idx, v));
                }
            }
        }
    }
    let conf = |x: &[f64]| if var.is_some() { z * sd(x) } else { 0.0 };
    let s2 = second_order_too.then(|| {
        let mut e = vec![vec![f64::NAN; d]; d];
        let mut c = vec![vec![f64::NAN; d]; d];
        for j in 0..d {
            for k in j + 1..d {
                e[j][k] = second_order(&s, j, k, &all, var);
                c[j][k] = conf(&b2[j][k]);
            }
        }
        (e, c)
    });
    Ok(SobolIndices {
        s1_conf: b1.iter().map(|x| conf(x)).collect(),
        st_conf: bt.iter().map(|x| conf(x)).collect(),
        s1,
        st,
        s2,
    })
}

/// Morris measures.
#[derive(Clone, Debug)]
pub struct MorrisIndices {
    /// Mean elementary effect.
    pub mu: Vec<f64>,
    /// Mean absolute elementary effect.
    pub mu_star: Vec<f64>,
    /// Standard deviation of the elementary effects (n − 1).
    pub sigma: Vec<f64>,
    /// Half-width of μ*'s bootstrap interval.
    pub mu_star_conf: Vec<f64>,
}

/// Elementary effects `[parameter][trajectory]` of trajectories of `d + 1` points each:
/// `(y(x + Δ e_j) − y(x)) / Δ` between consecutive points, whichever way the step went.
pub fn elementary_effects(
    unit: &[Vec<f64>],
    y: &[f64],
    d: usize,
    delta: f64,
) -> Result<Vec<Vec<f64>>, String> {
    let len = d + 1;
    if unit.is_empty() || !unit.len().is_multiple_of(len) || unit.len() != y.len() {
        return Err(format!(
            "{} samples and {} outputs; Morris trajectories of {d} parameters have {len} points each",
            unit.len(),
            y.len()
        ));
    }
    let r = unit.len() / len;
    let mut ee = vec![vec![f64::NAN; r]; d];
    for t in 0..r {
        for k in 0..d {
            let (i0, i1) = (t * len + k, t * len + k + 1);
            let (mut j, mut diff) = (usize::MAX, 0.0f64);
            for c in 0..d {
                let dc = unit[i1][c] - unit[i0][c];
                if dc.abs() > diff.abs() {
                    j = c;
                    diff = dc;
                }
            }
            if j == usize::MAX {
                return Err(format!("trajectory {t} does not move at point {k}"));
            }
            if !ee[j][t].is_nan() {
                return Err(format!("trajectory {t} moves parameter {j} twice"));
            }
            ee[j][t] = if diff > 0.0 {
                (y[i1] - y[i0]) / delta
            } else {
                (y[i0] - y[i1]) / delta
            };
        }
    }
    Ok(ee)
}

/// Morris μ, μ*, σ and μ*'s interval from trajectories in unit coordinates.
pub fn morris(
    unit: &[Vec<f64>],
    y: &[f64],
    d: usize,
    delta: f64,
    opts: &Options,
) -> Result<MorrisIndices, String> {
    let ee = elementary_effects(unit, y, d, delta)?;
    let r = ee.first().map_or(0, |e| e.len());
    let z = inverse_normal(0.5 + opts.conf_level / 2.0);
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let mut out = MorrisIndices {
        mu: Vec::new(),
        mu_star: Vec::new(),
        sigma: Vec::new(),
        mu_star_conf: Vec::new(),
    };
    for (j, e) in ee.iter().enumerate() {
        let abs: Vec<f64> = e.iter().map(|v| v.abs()).collect();
        out.mu.push(mean(e));
        out.mu_star.push(mean(&abs));
        out.sigma.push(sd(e));
        let boot: Vec<f64> = (0..opts.resamples)
            .map(|b| {
                let idx = resample(opts.seed, b, 1 + j as u64, r);
                idx.iter().map(|&i| abs[i]).sum::<f64>() / r as f64
            })
            .collect();
        out.mu_star_conf.push(z * sd(&boot));
    }
    Ok(out)
}

/// Regression-based measures of a Latin hypercube or grid.
#[derive(Clone, Debug)]
pub struct Regression {
    /// Standardized regression coefficients.
    pub src: Vec<f64>,
    /// Their interval half-widths (t quantile × OLS standard error).
    pub src_conf: Vec<f64>,
    /// R² of the linear fit (how much of the variance the SRCs describe).
    pub r2: f64,
    /// Partial rank correlation coefficients.
    pub prcc: Vec<f64>,
    /// Their Fisher-z interval.
    pub prcc_lo: Vec<f64>,
    /// Upper end.
    pub prcc_hi: Vec<f64>,
}

/// Solves the symmetric positive system `m x = rhs` by Cholesky; None when singular.
fn cholesky_solve(m: &[Vec<f64>], rhs: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = m[i][j];
            for k in 0..j {
                s -= l[i][k] * l[j][k];
            }
            if i == j {
                if s <= 1e-12 * m[i][i].abs().max(1e-300) {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    let solve = |b: &[f64]| -> Vec<f64> {
        let mut y = vec![0.0; n];
        for i in 0..n {
            let mut s = b[i];
            for k in 0..i {
                s -= l[i][k] * y[k];
            }
            y[i] = s / l[i][i];
        }
        let mut x = vec![0.0; n];
        for i in (0..n).rev() {
            let mut s = y[i];
            for k in i + 1..n {
                s -= l[k][i] * x[k];
            }
            x[i] = s / l[i][i];
        }
        x
    };
    Some(rhs.iter().map(|b| solve(b)).collect())
}

/// Least-squares coefficients of `y` on the columns `cols` (each a full-length vector) and
/// the diagonal of (XᵀX)⁻¹; None when the columns are collinear.
fn ols(cols: &[Vec<f64>], y: &[f64]) -> Option<(Vec<f64>, Vec<f64>)> {
    let p = cols.len();
    let xtx: Vec<Vec<f64>> = (0..p)
        .map(|a| {
            (0..p)
                .map(|b| cols[a].iter().zip(&cols[b]).map(|(u, v)| u * v).sum())
                .collect()
        })
        .collect();
    let xty: Vec<f64> = cols
        .iter()
        .map(|c| c.iter().zip(y).map(|(u, v)| u * v).sum())
        .collect();
    let mut rhs = vec![xty];
    for k in 0..p {
        let mut e = vec![0.0; p];
        e[k] = 1.0;
        rhs.push(e);
    }
    let sol = cholesky_solve(&xtx, &rhs)?;
    let diag = (0..p).map(|k| sol[1 + k][k]).collect();
    Some((sol[0].clone(), diag))
}

fn residuals(cols: &[Vec<f64>], beta: &[f64], y: &[f64]) -> Vec<f64> {
    (0..y.len())
        .map(|i| y[i] - cols.iter().zip(beta).map(|(c, b)| c[i] * b).sum::<f64>())
        .collect()
}

/// Ranks 1…n, ties given their average rank.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(a.cmp(&b)));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

fn standardize(x: &[f64]) -> Vec<f64> {
    let m = x.iter().sum::<f64>() / x.len() as f64;
    let s = sd(x);
    x.iter()
        .map(|v| if s > 0.0 { (v - m) / s } else { 0.0 })
        .collect()
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let (za, zb) = (standardize(a), standardize(b));
    za.iter().zip(&zb).map(|(u, v)| u * v).sum::<f64>() / (a.len() as f64 - 1.0)
}

/// SRC and PRCC of outputs `y` on samples `x` (rows of parameter values).
pub fn regression(x: &[Vec<f64>], y: &[f64], conf_level: f64) -> Result<Regression, String> {
    let n = y.len();
    let d = x.first().map_or(0, |r| r.len());
    if n != x.len() || n < d + 3 {
        return Err(format!(
            "{n} samples for {d} parameters; regression measures need at least {}",
            d + 3
        ));
    }
    let col = |j: usize| -> Vec<f64> { x.iter().map(|r| r[j]).collect() };
    let z = inverse_normal(0.5 + conf_level / 2.0);
    // SRC: OLS of the standardized output on the standardized parameters.
    let zs: Vec<Vec<f64>> = (0..d).map(|j| standardize(&col(j))).collect();
    let zy = standardize(y);
    let nan = vec![f64::NAN; d];
    let (src, src_conf, r2) = match ols(&zs, &zy) {
        Some((beta, diag)) => {
            let res = residuals(&zs, &beta, &zy);
            let rss: f64 = res.iter().map(|e| e * e).sum();
            let tss: f64 = zy.iter().map(|e| e * e).sum();
            let s2 = rss / (n - d - 1) as f64;
            let t = crate::metrics::stats::t_quantile(conf_level, (n - d - 1) as f64);
            let conf = diag.iter().map(|g| t * (s2 * g).sqrt()).collect();
            (
                beta,
                conf,
                if tss > 0.0 { 1.0 - rss / tss } else { f64::NAN },
            )
        }
        None => (nan.clone(), nan.clone(), f64::NAN),
    };
    // PRCC: correlation of the rank residuals of parameter j and of the output, each
    // regressed on the other parameters' ranks (with an intercept).
    let rk: Vec<Vec<f64>> = (0..d).map(|j| ranks(&col(j))).collect();
    let ry = ranks(y);
    let mut prcc = Vec::with_capacity(d);
    for j in 0..d {
        let mut cols = vec![vec![1.0; n]];
        cols.extend((0..d).filter(|&k| k != j).map(|k| rk[k].clone()));
        let r = match (ols(&cols, &rk[j]), ols(&cols, &ry)) {
            (Some((bx, _)), Some((by, _))) => {
                let ex = residuals(&cols, &bx, &rk[j]);
                let ey = residuals(&cols, &by, &ry);
                correlation(&ex, &ey)
            }
            _ => f64::NAN,
        };
        prcc.push(r);
    }
    // Fisher z with n − 3 − (d − 1) degrees of freedom for a partial correlation.
    let se = 1.0 / ((n as f64 - 3.0 - (d as f64 - 1.0)).max(1.0)).sqrt();
    let lo = prcc
        .iter()
        .map(|r| (r.clamp(-1.0, 1.0).atanh() - z * se).tanh())
        .collect();
    let hi = prcc
        .iter()
        .map(|r| (r.clamp(-1.0, 1.0).atanh() + z * se).tanh())
        .collect();
    Ok(Regression {
        src,
        src_conf,
        r2,
        prcc,
        prcc_lo: lo,
        prcc_hi: hi,
    })
}

/// Test functions with known indices, used by the tests and the reference script.
pub mod testfn {
    use std::f64::consts::PI;

    /// Ishigami function with a = 7, b = 0.1 on [−π, π]³.
    pub fn ishigami(x: &[f64]) -> f64 {
        x[0].sin() + 7.0 * x[1].sin().powi(2) + 0.1 * x[2].powi(4) * x[0].sin()
    }

    /// Analytic (S1, ST) of the Ishigami function (a = 7, b = 0.1).
    pub fn ishigami_indices() -> ([f64; 3], [f64; 3]) {
        let (a, b) = (7.0f64, 0.1f64);
        let v1 = 0.5 * (1.0 + b * PI.powi(4) / 5.0).powi(2);
        let v2 = a * a / 8.0;
        let v13 = b * b * PI.powi(8) * (1.0 / 18.0 - 1.0 / 50.0);
        let v = v1 + v2 + v13;
        ([v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v])
    }

    /// Sobol' G-function on [0, 1]^d with coefficients `a`.
    pub fn g_function(x: &[f64], a: &[f64]) -> f64 {
        x.iter()
            .zip(a)
            .map(|(x, a)| ((4.0 * x - 2.0).abs() + a) / (1.0 + a))
            .product()
    }

    /// Analytic (S1, ST) of the G-function.
    pub fn g_indices(a: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let vi: Vec<f64> = a.iter().map(|a| 1.0 / (3.0 * (1.0 + a).powi(2))).collect();
        let v = vi.iter().map(|v| 1.0 + v).product::<f64>() - 1.0;
        let s1 = vi.iter().map(|x| x / v).collect();
        let st = (0..a.len())
            .map(|i| {
                let others: f64 = (0..a.len())
                    .filter(|&k| k != i)
                    .map(|k| 1.0 + vi[k])
                    .product();
                vi[i] * others / v
            })
            .collect();
        (s1, st)
    }
}

#[cfg(test)]
mod tests {
    use super::testfn::*;
    use super::*;
    use crate::scenario::design::{expand, DesignParam, DesignSpec, Distribution};
    use crate::scenario::ParamValue;
    use std::f64::consts::PI;

    /// A design over parameters with the given bounds, drawn by the same code as a
    /// scenario's `[design]`.
    fn design(method: Method, n: u32, bounds: &[[f64; 2]], seed: u64) -> Design {
        let spec = DesignSpec {
            name: None,
            method,
            n: Some(n),
            levels: None,
            replicates: None,
            seed: Some(seed),
            second_order: false,
            common_random_numbers: true,
            metrics: Vec::new(),
            effect_of: None,
            window: None,
            param: bounds
                .iter()
                .enumerate()
                .map(|(j, b)| DesignParam {
                    path: format!("x.x{}", j + 1),
                    bounds: Some(b.to_vec()),
                    distribution: Distribution::Uniform,
                    values: None,
                    column: Some(format!("x{}", j + 1)),
                })
                .collect(),
        };
        match expand(&spec, 1, 10_000_000) {
            Ok(e) => e.design,
            Err(p) => panic!("{p:?}"),
        }
    }

    /// The design's values per sample, as a simulation's plan points get them.
    fn values(d: &Design) -> Vec<Vec<f64>> {
        (0..d.samples())
            .map(|i| {
                (0..d.dims())
                    .map(|j| match d.value(i, j) {
                        ParamValue::Num(x) => x,
                        ParamValue::Text(_) => f64::NAN,
                    })
                    .collect()
            })
            .collect()
    }

    fn index(rows: &[Row], name: &str, p: &str) -> Row {
        rows.iter()
            .find(|r| r.index == name && r.parameter == p && r.parameter2.is_empty())
            .cloned()
            .unwrap_or_else(|| panic!("no {name} for {p}"))
    }

    #[test]
    fn ishigami_indices_within_intervals_and_002() {
        let b = [[-PI, PI]; 3];
        let d = design(Method::Sobol, 4096, &b, 3);
        let y: Vec<f64> = values(&d).iter().map(|x| ishigami(x)).collect();
        let rows = analyse(&d, &y, &Options::default()).unwrap();
        let (s1, st) = ishigami_indices();
        assert!((s1[0] - 0.3139).abs() < 1e-3 && (st[2] - 0.2437).abs() < 1e-3);
        for j in 0..3 {
            let p = format!("x{}", j + 1);
            for (name, truth) in [("S1", s1[j]), ("ST", st[j])] {
                let r = index(&rows, name, &p);
                eprintln!(
                    "{name} {p}: {:.4} ± {:.4} (analytic {truth:.4})",
                    r.value, r.conf
                );
                assert!(
                    (r.value - truth).abs() < 0.02,
                    "{name} {p}: {} vs {truth}",
                    r.value
                );
                assert!(
                    r.lo <= truth && truth <= r.hi,
                    "{name} {p}: {truth} outside [{}, {}]",
                    r.lo,
                    r.hi
                );
                assert!(r.conf > 0.0 && r.conf < 0.1, "{name} {p} conf {}", r.conf);
            }
        }
        // Deterministic given the seed; another bootstrap seed moves only the intervals.
        assert_eq!(rows, analyse(&d, &y, &Options::default()).unwrap());
        let other = analyse(
            &d,
            &y,
            &Options {
                seed: 2,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(other[0].value, rows[0].value);
        assert_ne!(other[0].conf, rows[0].conf);
    }

    #[test]
    fn g_function_indices_within_intervals_and_002() {
        let a = [0.0, 1.0, 4.5, 9.0, 99.0];
        let d = design(Method::Sobol, 4096, &[[0.0, 1.0]; 5], 11);
        let y: Vec<f64> = values(&d).iter().map(|x| g_function(x, &a)).collect();
        let rows = analyse(&d, &y, &Options::default()).unwrap();
        let (s1, st) = g_indices(&a);
        for j in 0..a.len() {
            let p = format!("x{}", j + 1);
            for (name, truth) in [("S1", s1[j]), ("ST", st[j])] {
                let r = index(&rows, name, &p);
                eprintln!(
                    "{name} {p}: {:.4} ± {:.4} (analytic {truth:.4})",
                    r.value, r.conf
                );
                assert!(
                    (r.value - truth).abs() < 0.02,
                    "{name} {p}: {} vs {truth}",
                    r.value
                );
                assert!(
                    r.lo <= truth && truth <= r.hi,
                    "{name} {p}: {truth} outside [{}, {}]",
                    r.lo,
                    r.hi
                );
            }
        }
    }

    #[test]
    fn second_order_of_ishigami_is_x1_x3() {
        let mut spec_d = design(Method::Sobol, 2048, &[[-PI, PI]; 3], 5);
        spec_d.second_order = true;
        spec_d.unit = crate::scenario::design::saltelli(2048, 3, true, 5);
        let y: Vec<f64> = values(&spec_d).iter().map(|x| ishigami(x)).collect();
        let s = sobol(&y, 3, true, &Options::default()).unwrap();
        let (s2, c2) = s.s2.unwrap();
        let (s1, st) = ishigami_indices();
        let truth13 = st[0] - s1[0];
        assert!(
            (s2[0][2] - truth13).abs() < 0.05,
            "S2 13 {} vs {truth13}",
            s2[0][2]
        );
        assert!((s2[0][2] - truth13).abs() < c2[0][2] * 1.5);
        assert!(s2[0][1].abs() < 0.05 && s2[1][2].abs() < 0.05);
    }

    #[test]
    fn morris_ranks_parameters_by_influence() {
        // y = 10 x1 + 5 x2² + x3 + 0 x4 + 3 x1 x5 on [0, 1]^5: the ranking of μ* is
        // x1 > x2 > x5 > x3 > x4 (analytic μ*: 10 + 1.5 = 11.5, 5, 1.5, 1, 0).
        let d = design(Method::Morris, 200, &[[0.0, 1.0]; 5], 9);
        let f = |x: &[f64]| 10.0 * x[0] + 5.0 * x[1] * x[1] + x[2] + 3.0 * x[0] * x[4];
        let y: Vec<f64> = values(&d).iter().map(|x| f(x)).collect();
        let rows = analyse(&d, &y, &Options::default()).unwrap();
        let mu_star: Vec<f64> = (1..=5)
            .map(|j| index(&rows, "mu_star", &format!("x{j}")).value)
            .collect();
        let mut order: Vec<usize> = (0..5).collect();
        order.sort_by(|&a, &b| mu_star[b].total_cmp(&mu_star[a]));
        assert_eq!(order, vec![0, 1, 4, 2, 3], "{mu_star:?}");
        // Linear x3: every effect is exactly 1, so σ = 0 and μ = μ* = 1; x4 has none.
        let x3 = index(&rows, "sigma", "x3");
        assert!(x3.value.abs() < 1e-9);
        assert!((index(&rows, "mu", "x3").value - 1.0).abs() < 1e-9);
        assert_eq!(index(&rows, "mu_star", "x4").value, 0.0);
        // x1 interacts with x5: its effects vary, x5's mean is 3 E[x1] ≈ 1.5.
        assert!(index(&rows, "sigma", "x1").value > 0.5);
        let x5 = index(&rows, "mu_star", "x5");
        assert!((x5.value - 1.5).abs() < x5.conf * 1.5 + 0.05, "{x5:?}");
    }

    #[test]
    fn regression_measures_of_a_latin_hypercube() {
        // y = 3 x1 − x2 + 0 x3 with x2 on [0, 2] and a little curvature in x1 that is
        // uncorrelated with it (symmetric about 0.5): SRC_j = b_j sd_j / sd_y.
        let d = design(Method::Lhs, 500, &[[0.0, 1.0], [0.0, 2.0], [0.0, 1.0]], 4);
        let y: Vec<f64> = values(&d)
            .iter()
            .map(|x| 3.0 * x[0] - x[1] + 0.3 * (x[0] - 0.5).powi(2))
            .collect();
        let rows = analyse(&d, &y, &Options::default()).unwrap();
        let src: Vec<f64> = (1..=3)
            .map(|j| index(&rows, "src", &format!("x{j}")).value)
            .collect();
        // Var contributions 9/12 and 4/12: SRC ≈ ±sqrt(share).
        assert!((src[0] - (9.0f64 / 13.0).sqrt()).abs() < 0.05, "{src:?}");
        assert!((src[1] + (4.0f64 / 13.0).sqrt()).abs() < 0.05, "{src:?}");
        assert!(src[2].abs() < 0.03, "{src:?}");
        let p3 = index(&rows, "prcc", "x3");
        assert!(p3.lo < 0.0 && 0.0 < p3.hi, "{p3:?}");
        assert!(index(&rows, "prcc", "x1").value > 0.9);
        assert!(index(&rows, "prcc", "x2").value < -0.9);
        assert!(index(&rows, "r2", "").value > 0.97);
    }

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn wrong_lengths_and_constant_outputs_are_errors_or_zero() {
        let d = design(Method::Sobol, 8, &[[0.0, 1.0]; 2], 1);
        assert!(analyse(&d, &[1.0; 5], &Options::default()).is_err());
        let mut y = vec![1.0; d.samples()];
        let r = analyse(&d, &y, &Options::default()).unwrap();
        assert!(r.iter().all(|r| r.value == 0.0 && r.conf == 0.0));
        y[0] = f64::NAN;
        assert!(analyse(&d, &y, &Options::default()).is_err());
    }
}
