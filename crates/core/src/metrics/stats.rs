//! Small statistics used by summaries and regression checks: moments, Student's t and
//! Kolmogorov distributions, Welch's t-test, the two-sample KS test and Holm's correction.
//! Implemented here (no statistics crate) and checked against SciPy reference values.

use std::f64::consts::PI;

// ---------------------------------------------------------------------------
// Math building blocks
// ---------------------------------------------------------------------------

/// Mean of the last `last_n` values (all of them if fewer); NaN for an empty column. The one
/// definition of a run's level: the summary (`summary.parquet`) and the statistical check
/// both call it, so the two can never disagree on what a run's "last N steps" are.
pub fn tail_mean(values: &[f64], last_n: usize) -> f64 {
    mean(&values[values.len().saturating_sub(last_n)..])
}

/// Arithmetic mean; NaN for an empty slice. A constant sample returns its value exactly.
pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    if x.iter().all(|&v| v == x[0]) {
        return x[0];
    }
    let m = x.iter().sum::<f64>() / x.len() as f64;
    // One correction pass improves accuracy when the values are large relative to
    // their spread.
    m + x.iter().map(|&v| v - m).sum::<f64>() / x.len() as f64
}

/// Sample standard deviation (denominator n - 1, two-pass); NaN when n < 2.
/// A constant sample has sd exactly 0.
pub fn sample_sd(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    if x.iter().all(|&v| v == x[0]) {
        return 0.0;
    }
    let m = mean(x);
    let ss: f64 = x.iter().map(|&v| (v - m) * (v - m)).sum();
    (ss / (x.len() - 1) as f64).sqrt()
}

/// Cohen's d of `a` versus `b`: `(mean(a) - mean(b)) / pooled sd`, where the pooled
/// variance weights each sample variance by its n - 1. Returns 0 when the pooled sd is
/// 0 (or undefined, n = 1 on both sides) and the means are equal, ±inf when it is 0 and
/// the means differ; NaN for an empty sample.
pub fn cohens_d(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return f64::NAN;
    }
    let diff = mean(a) - mean(b);
    let wa = (a.len() - 1) as f64;
    let wb = (b.len() - 1) as f64;
    let ssa = if a.len() > 1 {
        sample_sd(a).powi(2) * wa
    } else {
        0.0
    };
    let ssb = if b.len() > 1 {
        sample_sd(b).powi(2) * wb
    } else {
        0.0
    };
    let pooled = if wa + wb > 0.0 {
        ((ssa + ssb) / (wa + wb)).sqrt()
    } else {
        0.0
    };
    if pooled > 0.0 {
        diff / pooled
    } else if diff == 0.0 {
        0.0
    } else if diff.is_nan() {
        f64::NAN
    } else {
        f64::INFINITY.copysign(diff)
    }
}

const LANCZOS_G: f64 = 7.0;
const LANCZOS_COEF: [f64; 9] = [
    0.999_999_999_999_809_9,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_1,
    -176.615_029_162_140_6,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_572e-6,
    1.505_632_735_149_311_6e-7,
];

/// Natural log of |Γ(x)| by the Lanczos approximation (g = 7, 9 coefficients; relative
/// accuracy ~1e-15), with the reflection formula for x < 0.5. +inf at the poles.
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.5 {
        let s = (PI * x).sin();
        if s == 0.0 {
            return f64::INFINITY;
        }
        return (PI / s).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + LANCZOS_G + 0.5;
    let mut a = LANCZOS_COEF[0];
    for (i, c) in LANCZOS_COEF.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Continued fraction of the incomplete beta function, modified Lentz's method
/// (Numerical Recipes `betacf`). Converges quickly for x < (a + 1) / (a + b + 2).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const FPMIN: f64 = 1e-300;
    const EPS: f64 = 1e-16;
    const MAX_ITER: usize = 200_000;
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let guard = |v: f64| if v.abs() < FPMIN { FPMIN } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=MAX_ITER {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / guard(1.0 + aa * d);
        c = guard(1.0 + aa / c);
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / guard(1.0 + aa * d);
        c = guard(1.0 + aa / c);
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// Regularized incomplete beta I_x(a, b) given both x and y = 1 - x (so that callers
/// can supply an accurate complement).
fn inc_beta_xy(a: f64, b: f64, x: f64, y: f64) -> f64 {
    if a.is_nan() || b.is_nan() || x.is_nan() || y.is_nan() || a <= 0.0 || b <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if y <= 0.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * y.ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, y) / b
    }
}

/// Regularized incomplete beta function I_x(a, b) (Numerical Recipes `betai`: continued
/// fraction by modified Lentz, using the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) on the side
/// where the fraction converges slowly). NaN for a <= 0, b <= 0 or NaN input.
pub fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    inc_beta_xy(a, b, x, 1.0 - x)
}

/// Regularized lower/upper incomplete gamma (P(a, x), Q(a, x)), Numerical Recipes
/// series / continued fraction.
fn inc_gamma_pq(a: f64, x: f64) -> (f64, f64) {
    const EPS: f64 = 1e-16;
    const FPMIN: f64 = 1e-300;
    if x <= 0.0 {
        return (0.0, 1.0);
    }
    let ln_front = -x + a * x.ln() - ln_gamma(a);
    if x < a + 1.0 {
        let mut ap = a;
        let mut del = 1.0 / a;
        let mut sum = del;
        for _ in 0..100_000 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * EPS {
                break;
            }
        }
        let p = sum * ln_front.exp();
        (p, 1.0 - p)
    } else {
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / FPMIN;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..100_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < FPMIN {
                d = FPMIN;
            }
            c = b + an / c;
            if c.abs() < FPMIN {
                c = FPMIN;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < EPS {
                break;
            }
        }
        let q = ln_front.exp() * h;
        (1.0 - q, q)
    }
}

/// Upper tail of the standard normal distribution, P(Z > z), via erfc computed from the
/// regularized incomplete gamma function (erfc(x) = Q(1/2, x^2)).
pub fn normal_sf(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    let x = z / std::f64::consts::SQRT_2;
    let erfc_abs = inc_gamma_pq(0.5, x * x).1;
    if x >= 0.0 {
        0.5 * erfc_abs
    } else {
        1.0 - 0.5 * erfc_abs
    }
}

/// Two-sided tail probability P(|T| >= |t|) of Student's t with `df` degrees of freedom,
/// computed as I_{df/(df+t^2)}(df/2, 1/2) without cancellation.
fn student_t_two_sided(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    if df.is_infinite() {
        return (2.0 * normal_sf(t.abs())).min(1.0);
    }
    let t2 = t * t;
    let x = 1.0 / (1.0 + t2 / df);
    let y = 1.0 / (1.0 + df / t2);
    inc_beta_xy(0.5 * df, 0.5, x, y).clamp(0.0, 1.0)
}

/// Survival function P(T > t) of Student's t distribution with `df` degrees of freedom
/// (df may be fractional, as in Welch's test; df = inf gives the normal distribution),
/// via the regularized incomplete beta function. Accurate to ~1e-10 relative (also deep
/// in the tail) for df up to 1e5 and ~1e-9 up to 1e6, where cancellation between the
/// ln Γ terms starts to dominate. NaN for df <= 0 or NaN input.
pub fn student_t_sf(t: f64, df: f64) -> f64 {
    let two = student_t_two_sided(t, df);
    if two.is_nan() {
        return f64::NAN;
    }
    if t > 0.0 {
        0.5 * two
    } else {
        1.0 - 0.5 * two
    }
}

/// Cumulative distribution P(T <= t) of Student's t distribution; see [`student_t_sf`].
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    student_t_sf(-t, df)
}

/// Welch's unequal-variance t-test of mean(a) = mean(b), two-sided.
/// Returns `(t, df, p)` with t = (mean(a) - mean(b)) / sqrt(var(a)/n_a + var(b)/n_b)
/// and the Welch–Satterthwaite df (as `scipy.stats.ttest_ind(a, b, equal_var=False)`).
///
/// Degenerate cases: n < 2 on either side (or non-finite data) -> `(NaN, NaN, NaN)`;
/// both samples constant: equal means -> `(0, NaN, 1)`, different means ->
/// `(±inf, NaN, 0)`.
pub fn welch_t_test(a: &[f64], b: &[f64]) -> (f64, f64, f64) {
    let (na, nb) = (a.len(), b.len());
    if na < 2 || nb < 2 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let (ma, mb) = (mean(a), mean(b));
    let va = sample_sd(a).powi(2) / na as f64;
    let vb = sample_sd(b).powi(2) / nb as f64;
    let se2 = va + vb;
    if !(ma.is_finite() && mb.is_finite() && se2.is_finite()) {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    if se2 == 0.0 {
        return if ma == mb {
            (0.0, f64::NAN, 1.0)
        } else {
            (f64::INFINITY.copysign(ma - mb), f64::NAN, 0.0)
        };
    }
    let t = (ma - mb) / se2.sqrt();
    let (ra, rb) = (va / se2, vb / se2);
    let df = 1.0 / (ra * ra / (na - 1) as f64 + rb * rb / (nb - 1) as f64);
    (t, df, student_t_two_sided(t, df))
}

/// Survival function of the Kolmogorov distribution, Q_KS(λ) = P(K > λ)
/// = 2 Σ_{k≥1} (-1)^{k-1} exp(-2 k² λ²); for λ < 1.18 computed as 1 - P(K <= λ) with the
/// Jacobi-theta form P(K <= λ) = sqrt(2π)/λ Σ_{k≥1} exp(-(2k-1)² π² / (8 λ²)).
pub fn kolmogorov_sf(lambda: f64) -> f64 {
    if lambda.is_nan() {
        return f64::NAN;
    }
    if lambda <= 0.0 {
        return 1.0;
    }
    if lambda < 1.18 {
        let w = PI * PI / (8.0 * lambda * lambda);
        let mut sum = 0.0;
        for k in 1..200 {
            let j = (2 * k - 1) as f64;
            let term = (-j * j * w).exp();
            sum += term;
            if term <= sum * 1e-17 {
                break;
            }
        }
        (1.0 - (2.0 * PI).sqrt() / lambda * sum).clamp(0.0, 1.0)
    } else {
        let mut sum = 0.0;
        let mut sign = 1.0;
        for k in 1..200 {
            let kf = k as f64;
            let term = (-2.0 * kf * kf * lambda * lambda).exp();
            sum += sign * term;
            if term <= sum.abs() * 1e-17 {
                break;
            }
            sign = -sign;
        }
        (2.0 * sum).clamp(0.0, 1.0)
    }
}

/// Largest n*m for which [`ks_two_sample`] computes the exact p-value.
pub const KS_EXACT_MAX_NM: u64 = 10_000;

/// Two-sample Kolmogorov–Smirnov test, two-sided. Returns `(D, p)` where
/// D = sup |F_a - F_b| (evaluated at every distinct pooled value, so ties are handled).
///
/// * n*m <= [`KS_EXACT_MAX_NM`]: exact p = P(D* >= D) under the permutation null, by
///   counting lattice paths (Hodges' recursion) that touch the boundary
///   |i/n - j/m| >= D, in exact integer arithmetic for the boundary. Without ties this is
///   the classical exact distribution (= `scipy.stats.ks_2samp(method="exact")`); with
///   ties the boundary is only checked at the ends of tie blocks, which gives the exact
///   conditional permutation distribution (Schröer–Trenkler), not a conservative bound.
/// * otherwise: asymptotic Kolmogorov distribution, p = Q_KS((√e + 0.12 + 0.11/√e) D)
///   with e = n m / (n + m) (Stephens' small-sample correction, as Numerical Recipes).
///
/// D = 0 gives p = 1. Empty samples or NaN values give `(NaN, NaN)`.
pub fn ks_two_sample(a: &[f64], b: &[f64]) -> (f64, f64) {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 || a.iter().chain(b).any(|v| v.is_nan()) {
        return (f64::NAN, f64::NAN);
    }
    let mut sa = a.to_vec();
    let mut sb = b.to_vec();
    sa.sort_by(|x, y| x.partial_cmp(y).expect("no NaN"));
    sb.sort_by(|x, y| x.partial_cmp(y).expect("no NaN"));
    let (n64, m64) = (n as u64, m as u64);
    // block_end[k-1]: whether pooled position k (1-based) ends a block of tied values.
    let mut block_end = Vec::with_capacity(n + m);
    let (mut i, mut j) = (0usize, 0usize);
    let mut h: u64 = 0;
    while i < n || j < m {
        let v = match (sa.get(i), sb.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => unreachable!(),
        };
        let start = i + j;
        while i < n && sa[i] == v {
            i += 1;
        }
        while j < m && sb[j] == v {
            j += 1;
        }
        block_end.extend(std::iter::repeat_n(false, i + j - start - 1));
        block_end.push(true);
        h = h.max((i as u64 * m64).abs_diff(j as u64 * n64));
    }
    let d = h as f64 / (n64 * m64) as f64;
    if h == 0 {
        return (0.0, 1.0);
    }
    let p = if n64 * m64 <= KS_EXACT_MAX_NM {
        ks_exact_p(n, m, h, &block_end)
    } else {
        let e = (n64 * m64) as f64 / (n64 + m64) as f64;
        let s = e.sqrt();
        kolmogorov_sf((s + 0.12 + 0.11 / s) * d)
    };
    (d, p.clamp(0.0, 1.0))
}

/// Exact P(max over block ends of |i m - j n| >= h) for a uniformly random
/// interleaving of n a's and m b's: path counting with all-positive sums (no
/// cancellation, so tiny p-values keep their relative accuracy).
fn ks_exact_p(n: usize, m: usize, h: u64, block_end: &[bool]) -> f64 {
    let (n64, m64) = (n as u64, m as u64);
    // total[j]: number of paths to (i, j); outside[j]: those that touched the boundary.
    let mut total = vec![0.0f64; m + 1];
    let mut outside = vec![0.0f64; m + 1];
    for i in 0..=n {
        for j in 0..=m {
            let (mut t, mut o) = if i == 0 && j == 0 {
                (1.0, 0.0)
            } else {
                (0.0, 0.0)
            };
            if i > 0 {
                t += total[j];
                o += outside[j];
            }
            if j > 0 {
                t += total[j - 1];
                o += outside[j - 1];
            }
            let k = i + j;
            if k > 0 && block_end[k - 1] && (i as u64 * m64).abs_diff(j as u64 * n64) >= h {
                o = t;
            }
            total[j] = t;
            outside[j] = o;
        }
    }
    outside[m] / total[m]
}

/// Holm–Bonferroni step-down adjustment. Returns adjusted p-values in the input order:
/// sorted ascending p_(1) <= ... <= p_(k), adj_(i) = max_{j<=i} min(1, (k - j + 1) p_(j)).
/// The result is monotone in the raw p-values and capped at 1. NaN inputs are treated
/// as 1; inputs are clamped to [0, 1].
pub fn holm(p: &[f64]) -> Vec<f64> {
    let k = p.len();
    let clean: Vec<f64> = p
        .iter()
        .map(|&x| if x.is_nan() { 1.0 } else { x.clamp(0.0, 1.0) })
        .collect();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&i, &j| clean[i].total_cmp(&clean[j]));
    let mut out = vec![1.0; k];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        let adj = ((k - rank) as f64 * clean[i]).min(1.0);
        running = running.max(adj);
        out[i] = running;
    }
    out
}

/// Two-sided Student t quantile: the t with P(|T| ≤ t) = `level` for `df` degrees of freedom
/// (bisection on the CDF; 1e-12 absolute).
pub fn t_quantile(level: f64, df: f64) -> f64 {
    if !(df > 0.0) || !(0.0..1.0).contains(&level) {
        return f64::NAN;
    }
    let target = 0.5 + level / 2.0;
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while student_t_cdf(hi, df) < target {
        hi *= 2.0;
        if hi > 1e12 {
            return f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_cdf(mid, df) < target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Half-width of the 95% confidence interval of a mean: t(0.975, n−1)·sd/√n; NaN for n < 2.
pub fn ci95_half_width(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 2 {
        return f64::NAN;
    }
    t_quantile(0.95, (n - 1) as f64) * sample_sd(x) / (n as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // Student t table: t(0.975; df).
        for (df, t) in [
            (1.0, 12.706_204_736),
            (4.0, 2.776_445_105),
            (9.0, 2.262_157_163),
            (29.0, 2.045_229_642),
            (1e6, 1.959_966_2),
        ] {
            assert!((t_quantile(0.95, df) - t).abs() < 1e-6, "df {df}");
        }
    }
}

#[cfg(test)]
mod scipy_reference_tests {
    use super::*;

    // Reference values below were computed with SciPy 1.17.1 and statsmodels 0.15.0
    // (scipy.special.gammaln / betainc / kolmogorov, scipy.stats.t / norm / ttest_ind /
    // ks_2samp, statsmodels multipletests(method="holm")).

    fn assert_rel(got: f64, want: f64, rel: f64, what: &str) {
        let err = if want == 0.0 {
            got.abs()
        } else {
            ((got - want) / want).abs()
        };
        assert!(
            err <= rel,
            "{what}: got {got:e}, want {want:e} (rel err {err:e} > {rel:e})"
        );
    }

    /// Deterministic data identical to the Python reference script:
    /// x_i = ((i * mul) % modu) / modu * scale + off, i = 1..=n.
    fn gen(n: u64, mul: u64, modu: u64, off: f64, scale: f64) -> Vec<f64> {
        (1..=n)
            .map(|i| ((i * mul) % modu) as f64 / modu as f64 * scale + off)
            .collect()
    }

    #[test]
    fn ln_gamma_matches_scipy() {
        let cases = [
            (0.5, 0.5723649429247),
            (1.0, 0.0),
            (1.5, -0.12078223763524526),
            (3.7, 1.428072326665388),
            (10.0, 12.801827480081469),
            (123.456, 469.6055471299295),
            (1e5, 1051287.7089736569),
            (0.01, 4.599479878042022),
        ];
        for (x, want) in cases {
            let got = ln_gamma(x);
            assert!(
                (got - want).abs() <= 1e-13 * want.abs().max(1.0),
                "ln_gamma({x}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn inc_beta_matches_scipy() {
        let cases = [
            (0.5, 0.5, 0.3, 0.36901011956554536),
            (2.0, 3.0, 0.4, 0.5247999999999999),
            (15.0, 0.5, 0.9, 0.07785867031466781),
            (100.0, 0.5, 0.99, 0.1567758654244408),
            (0.5, 200.0, 0.001, 0.4727558929747644),
            (5.0, 5.0, 0.5, 0.5),
            (3.5, 0.5, 1e-6, 2.9102629483066934e-22),
        ];
        for (a, b, x, want) in cases {
            assert_rel(inc_beta(a, b, x), want, 1e-11, &format!("I_{x}({a},{b})"));
        }
        assert_eq!(inc_beta(2.0, 3.0, 0.0), 0.0);
        assert_eq!(inc_beta(2.0, 3.0, 1.0), 1.0);
        assert!(inc_beta(-1.0, 3.0, 0.5).is_nan());
    }

    #[test]
    fn student_t_matches_scipy() {
        // (t, df, scipy.stats.t.sf, scipy.stats.t.cdf)
        let cases = [
            (0.5, 1.0, 0.35241638234956674, 0.6475836176504333),
            (2.0, 2.5, 0.07869574787898295, 0.9213042521210171),
            (-1.3, 5.0, 0.8748496829146615, 0.12515031708533855),
            (3.7, 30.0, 0.0004322999266236452, 0.9995677000733764),
            (10.0, 3.0, 0.0010641995292070751, 0.9989358004707929),
            (40.0, 7.0, 7.951089992425182e-10, 0.999999999204891),
            (2.1, 1000.0, 0.017989437155390985, 0.982010562844609),
            (1.96, 1e5, 0.02499928159715084, 0.9750007184028492),
            (0.0, 4.0, 0.5, 0.5),
            (-6.5, 12.0, 0.9999853174821566, 1.4682517843374057e-05),
            (8.0, 50.0, 8.316483014160684e-11, 0.9999999999168352),
        ];
        for (t, df, sf, cdf) in cases {
            assert_rel(student_t_sf(t, df), sf, 1e-10, &format!("t.sf({t}, {df})"));
            assert_rel(
                student_t_cdf(t, df),
                cdf,
                1e-10,
                &format!("t.cdf({t}, {df})"),
            );
        }
        assert_eq!(student_t_sf(f64::INFINITY, 3.0), 0.0);
        assert_eq!(student_t_sf(f64::NEG_INFINITY, 3.0), 1.0);
        assert!(student_t_sf(1.0, 0.0).is_nan());
        // df = inf is the normal distribution
        assert_rel(
            student_t_sf(1.96, f64::INFINITY),
            0.024997895148220435,
            1e-12,
            "t inf",
        );
    }

    #[test]
    fn normal_sf_matches_scipy() {
        let cases = [
            (0.0, 0.5),
            (1.0, 0.15865525393145707),
            (1.96, 0.024997895148220435),
            (-2.5, 0.9937903346742238),
            (5.0, 2.866515718791933e-07),
            (10.0, 7.61985302416047e-24),
        ];
        for (z, want) in cases {
            assert_rel(normal_sf(z), want, 1e-12, &format!("norm.sf({z})"));
        }
    }

    #[test]
    fn welch_matches_scipy() {
        // (a, b, t, df, p, mean a, mean b, sd a, sd b) from scipy.stats.ttest_ind(equal_var=False)
        let w1a = vec![19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0];
        let w1b = vec![
            28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7, 27.6, 20.6, 13.7, 23.2, 17.5, 20.6, 18.0,
            23.9, 21.6, 24.3, 20.4, 23.9, 13.3,
        ];
        let cases = [
            (
                w1a,
                w1b,
                [
                    -2.225512039969852,
                    24.524634944257343,
                    0.035484530830010394,
                    19.369999999999997,
                    21.589999999999996,
                    1.2037441588643325,
                    4.123475794954901,
                ],
            ),
            (
                vec![1.1, 2.3, 0.7],
                vec![5.2, 4.9, 6.1, 5.5, 7.3, 4.4, 5.0],
                [
                    -6.843560036337555,
                    4.437730864693469,
                    0.0016198889454600242,
                    1.3666666666666665,
                    5.485714285714287,
                    0.832666399786453,
                    0.9581728644118648,
                ],
            ),
            (
                gen(25, 37, 101, 10.0, 1.0),
                gen(40, 53, 103, 10.01, 1.3),
                [
                    -1.7170795916673,
                    60.31549744380153,
                    0.09109599315723421,
                    10.482376237623761,
                    10.625606796116504,
                    0.2899812779946771,
                    0.3791850187893126,
                ],
            ),
            (
                gen(12, 7, 13, 0.0, 1.0),
                gen(9, 5, 11, 20.0, 1.0),
                [
                    -158.8298539191428,
                    16.89090302529975,
                    2.9628924263317006e-28,
                    0.5000000000000001,
                    20.494949494949495,
                    0.2773500981126145,
                    0.29144521305562626,
                ],
            ),
        ];
        for (i, (a, b, r)) in cases.iter().enumerate() {
            let (t, df, p) = welch_t_test(a, b);
            assert_rel(t, r[0], 1e-12, &format!("welch case {i} t"));
            assert_rel(df, r[1], 1e-12, &format!("welch case {i} df"));
            assert_rel(p, r[2], 1e-10, &format!("welch case {i} p"));
            assert_rel(mean(a), r[3], 1e-14, &format!("case {i} mean a"));
            assert_rel(mean(b), r[4], 1e-14, &format!("case {i} mean b"));
            assert_rel(sample_sd(a), r[5], 1e-13, &format!("case {i} sd a"));
            assert_rel(sample_sd(b), r[6], 1e-13, &format!("case {i} sd b"));
        }
    }

    #[test]
    fn welch_degenerate_cases() {
        assert_eq!(welch_t_test(&[1.0, 1.0, 1.0], &[1.0, 1.0]).2, 1.0);
        let (t, _, p) = welch_t_test(&[1.0, 1.0, 1.0], &[2.0, 2.0]);
        assert_eq!((t, p), (f64::NEG_INFINITY, 0.0));
        let (t, df, p) = welch_t_test(&[1.0], &[2.0, 3.0]);
        assert!(t.is_nan() && df.is_nan() && p.is_nan());
        // one constant sample: df = n_other - 1
        let (_, df, _) = welch_t_test(&[1.0, 1.0, 1.0], &[2.0, 3.0, 5.0, 4.0]);
        assert_rel(df, 3.0, 1e-14, "df with one constant side");
        assert!(mean(&[]).is_nan());
        assert!(sample_sd(&[1.0]).is_nan());
        assert_eq!(sample_sd(&[0.1; 30]), 0.0);
        assert_eq!(mean(&[0.1; 30]), 0.1);
    }

    #[test]
    fn cohens_d_cases() {
        // pooled sd of [1,2,3] and [2,3,4] is 1 -> d = -1
        assert_rel(
            cohens_d(&[1.0, 2.0, 3.0], &[2.0, 3.0, 4.0]),
            -1.0,
            1e-14,
            "d",
        );
        assert_eq!(cohens_d(&[1.0, 1.0], &[1.0, 1.0, 1.0]), 0.0);
        assert_eq!(cohens_d(&[2.0, 2.0], &[1.0, 1.0, 1.0]), f64::INFINITY);
        assert_eq!(cohens_d(&[0.0], &[1.0]), f64::NEG_INFINITY);
    }

    #[test]
    fn ks_exact_matches_scipy() {
        // (a, b, D, p) from scipy.stats.ks_2samp(a, b, method="exact"); all n*m <= 10000
        let cases: Vec<(Vec<f64>, Vec<f64>, f64, f64)> = vec![
            (
                vec![0.61, 0.29, 0.06, 0.59, -1.73],
                vec![-0.74, 0.51, -0.56, 0.39, 1.64, 0.05, -0.06],
                0.37142857142857144,
                0.7373737373737375,
            ),
            (
                gen(10, 7, 31, 0.0, 1.0),
                gen(10, 11, 37, 0.1, 1.0),
                0.3,
                0.7869297884777761,
            ),
            (
                gen(8, 3, 17, 0.0, 1.0),
                gen(12, 5, 19, 0.8, 1.0),
                0.9166666666666666,
                0.00014289116456299122,
            ),
            (vec![0.5], vec![0.1, 0.7, 0.9], 0.6666666666666666, 1.0),
            (
                gen(100, 7919, 1009, 0.0, 1.0),
                gen(100, 104729, 1013, 0.05, 1.0),
                0.05,
                0.9996892272702655,
            ),
            (
                gen(40, 31, 97, 0.0, 1.0),
                gen(25, 17, 89, 0.3, 1.0),
                0.315,
                0.07503349352797963,
            ),
            (
                gen(30, 13, 101, 0.0, 1.0),
                gen(30, 29, 103, 0.9, 1.0),
                0.9666666666666667,
                1.0146740335286845e-15,
            ),
        ];
        for (i, (a, b, d_want, p_want)) in cases.iter().enumerate() {
            let (d, p) = ks_two_sample(a, b);
            assert_rel(d, *d_want, 1e-14, &format!("ks exact case {i} D"));
            assert_rel(p, *p_want, 1e-9, &format!("ks exact case {i} p"));
            // symmetric in its arguments
            let (d2, p2) = ks_two_sample(b, a);
            assert_eq!(d, d2);
            assert_rel(p2, p, 1e-12, "symmetry");
        }
    }

    #[test]
    fn ks_asymptotic_matches_scipy() {
        // n*m > 10000 -> asymptotic. Columns: D; scipy.special.kolmogorov(lambda) with
        // Stephens' lambda = (sqrt(e) + 0.12 + 0.11/sqrt(e)) D (what we implement; must
        // match to 1e-9); ks_2samp(method="asymp") (SciPy uses kstwo.sf(D, round(e)) instead,
        // so only ~2% relative agreement is expected).
        let cases = [
            (
                gen(120, 7919, 1009, 0.0, 1.0),
                gen(150, 104729, 1013, 0.03, 1.0),
                0.03833333333333333,
                0.9999600300423186,
                0.9999010542857572,
            ),
            (
                gen(200, 31, 997, 0.0, 1.0),
                gen(300, 17, 991, 0.12, 1.0),
                0.14166666666666666,
                0.014428395883457061,
                0.014535458550574016,
            ),
            (
                gen(101, 13, 1019, 0.0, 1.0),
                gen(100, 29, 1021, 0.0, 1.0),
                0.15544554455445547,
                0.16050021209106494,
                0.16040321323737716,
            ),
        ];
        for (i, (a, b, d_want, p_stephens, p_scipy_asymp)) in cases.iter().enumerate() {
            let (d, p) = ks_two_sample(a, b);
            assert_rel(d, *d_want, 1e-14, &format!("ks asymp case {i} D"));
            assert_rel(
                p,
                *p_stephens,
                1e-9,
                &format!("ks asymp case {i} p (Stephens)"),
            );
            assert_rel(
                p,
                *p_scipy_asymp,
                0.02,
                &format!("ks asymp case {i} p vs scipy"),
            );
        }
    }

    #[test]
    fn kolmogorov_sf_matches_scipy() {
        let cases = [
            (0.2, 0.999999999999495),
            (0.3, 0.9999906941986655),
            (0.5, 0.9639452436648751),
            (0.8, 0.5441424115741981),
            (1.0, 0.26999967167735456),
            (1.18, 0.1234538094297657),
            (1.5, 0.022217962616525127),
            (2.0, 0.0006709252557796953),
            (3.0, 3.045995948942526e-08),
            (5.0, 3.8574996959278356e-22),
        ];
        for (x, want) in cases {
            assert_rel(kolmogorov_sf(x), want, 1e-12, &format!("kolmogorov({x})"));
        }
        assert_eq!(kolmogorov_sf(0.0), 1.0);
    }

    /// Brute force: enumerate every assignment of the pooled values to the two samples.
    fn ks_brute_force(a: &[f64], b: &[f64]) -> f64 {
        let (n, m) = (a.len(), b.len());
        let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
        let mut distinct = pooled.clone();
        distinct.sort_by(|x, y| x.partial_cmp(y).unwrap());
        distinct.dedup();
        let h = |xa: &[f64], xb: &[f64]| -> u64 {
            distinct
                .iter()
                .map(|&v| {
                    let ca = xa.iter().filter(|&&x| x <= v).count() as u64;
                    let cb = xb.iter().filter(|&&x| x <= v).count() as u64;
                    (ca * m as u64).abs_diff(cb * n as u64)
                })
                .max()
                .unwrap()
        };
        let h_obs = h(a, b);
        let (mut hit, mut total) = (0u64, 0u64);
        for mask in 0u32..(1 << (n + m)) {
            if mask.count_ones() as usize != n {
                continue;
            }
            let (mut xa, mut xb) = (Vec::new(), Vec::new());
            for (k, &v) in pooled.iter().enumerate() {
                if mask & (1 << k) != 0 {
                    xa.push(v)
                } else {
                    xb.push(v)
                }
            }
            total += 1;
            if h(&xa, &xb) >= h_obs {
                hit += 1;
            }
        }
        hit as f64 / total as f64
    }

    #[test]
    fn ks_exact_with_ties_is_the_permutation_distribution() {
        let cases: Vec<(Vec<f64>, Vec<f64>)> = vec![
            (vec![1.0, 2.0, 2.0, 3.0], vec![2.0, 3.0, 3.0, 4.0, 5.0]),
            (
                vec![0.0, 0.0, 0.0, 1.0, 1.0],
                vec![1.0, 1.0, 2.0, 2.0, 2.0, 2.0],
            ),
            (vec![5.0, 5.0, 5.0], vec![5.0, 6.0, 6.0, 7.0, 7.0, 7.0]),
            (vec![0.3, 0.1, 0.7, 0.2], vec![0.9, 0.4, 0.8, 0.6, 0.5]), // no ties
        ];
        for (i, (a, b)) in cases.iter().enumerate() {
            let (_, p) = ks_two_sample(a, b);
            assert_rel(p, ks_brute_force(a, b), 1e-12, &format!("ties case {i}"));
        }
        assert_eq!(ks_two_sample(&[2.0, 2.0], &[2.0, 2.0, 2.0]), (0.0, 1.0));
        assert!(ks_two_sample(&[], &[1.0]).1.is_nan());
    }

    #[test]
    fn holm_matches_statsmodels() {
        let p = [0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.5, 1e-6];
        let want = [0.06, 0.16, 0.15, 0.035, 0.4, 0.16, 0.5, 8e-6];
        for (g, w) in holm(&p).iter().zip(want) {
            assert_rel(*g, w, 1e-12, "holm");
        }
        assert_eq!(holm(&[0.9, 0.8]), vec![1.0, 1.0]);
        assert_eq!(holm(&[f64::NAN, 0.01]), vec![1.0, 0.02]);
        assert!(holm(&[]).is_empty());
    }
}
