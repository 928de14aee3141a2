//! The statistics of the method of simulated moments (MSM): the weighted distance between
//! simulated and observed moments, the numerical Jacobian of the moments, the sandwich
//! covariance of the estimates and the identification checks.
//!
//! Pure functions on small dense matrices (k parameters × m moments, both at most a few
//! dozen), every sum in index order so that results do not depend on scheduling.
//!
//! With diagonal weights W = diag(w) (by default w_i = 1/se_i²) and the moment covariance Ω,
//! the estimator's covariance is the usual sandwich (Gourieroux and Monfort 1996; McFadden
//! 1989):
//!
//! ```text
//! Var(θ̂) = (G'WG)⁻¹ G'W Ω W G (G'WG)⁻¹
//! ```
//!
//! where G = ∂m/∂θ' at the optimum. Ω is the data part, diag(se²), plus the simulation noise
//! of a mean over R replicates, Σ_sim / R (Σ_sim the covariance of one replicate's moments):
//! the simulated moment enters the distance like the observed one, so both errors add. When
//! Σ_sim equals the data covariance this is the textbook (1 + 1/R) factor.

/// A dense row-major matrix.
pub type Mat = Vec<Vec<f64>>;

/// The weighted sum of squared deviations Σ w_i (sim_i − obs_i)². A non-finite moment makes
/// the objective +∞ (a point where a moment is undefined is never the best).
pub fn objective(sim: &[f64], obs: &[f64], weights: &[f64]) -> f64 {
    let mut q = 0.0;
    for i in 0..obs.len() {
        let d = sim[i] - obs[i];
        if !d.is_finite() {
            return f64::INFINITY;
        }
        q += weights[i] * d * d;
    }
    q
}

/// Mean over replicates of each moment, in replicate order.
pub fn mean_moments(reps: &[Vec<f64>]) -> Vec<f64> {
    let m = reps.first().map_or(0, Vec::len);
    (0..m)
        .map(|i| {
            let mut s = 0.0;
            for r in reps {
                s += r[i];
            }
            s / reps.len().max(1) as f64
        })
        .collect()
}

/// Sample covariance (divisor R − 1) of the moments over replicates; zeros with one
/// replicate (no estimate of the simulation noise).
pub fn covariance(reps: &[Vec<f64>]) -> Mat {
    let m = reps.first().map_or(0, Vec::len);
    let mean = mean_moments(reps);
    let mut c = vec![vec![0.0; m]; m];
    if reps.len() < 2 {
        return c;
    }
    for (a, row) in c.iter_mut().enumerate() {
        for (b, cell) in row.iter_mut().enumerate() {
            let mut s = 0.0;
            for r in reps {
                s += (r[a] - mean[a]) * (r[b] - mean[b]);
            }
            *cell = s / (reps.len() - 1) as f64;
        }
    }
    c
}

/// The moment covariance of the sandwich: diag(se²) + Σ_sim / R.
pub fn moment_covariance(se: &[f64], sim_cov: &Mat, replicates: usize) -> Mat {
    let r = replicates.max(1) as f64;
    let mut o: Mat = sim_cov
        .iter()
        .map(|row| row.iter().map(|v| v / r).collect())
        .collect();
    for (i, s) in se.iter().enumerate() {
        o[i][i] += s * s;
    }
    o
}

/// One column of the Jacobian by finite differences: `(m(x + h⁺) − m(x − h⁻)) / (h⁺ + h⁻)`
/// (central when both steps are equal; one-sided where the point sits on a bound and a step
/// is 0).
pub fn difference(m_plus: &[f64], m_minus: &[f64], h_plus: f64, h_minus: f64) -> Vec<f64> {
    let h = h_plus + h_minus;
    m_plus
        .iter()
        .zip(m_minus)
        .map(|(p, q)| (p - q) / h)
        .collect()
}

/// G'WG for a Jacobian `g` (m × k, `g[i][j]` = ∂m_i/∂θ_j) and diagonal weights.
pub fn gwg(g: &Mat, w: &[f64]) -> Mat {
    let k = g.first().map_or(0, Vec::len);
    let mut h = vec![vec![0.0; k]; k];
    for (a, row) in h.iter_mut().enumerate() {
        for (b, cell) in row.iter_mut().enumerate() {
            let mut s = 0.0;
            for (i, gi) in g.iter().enumerate() {
                s += gi[a] * w[i] * gi[b];
            }
            *cell = s;
        }
    }
    h
}

/// G'W Ω W G.
pub fn meat(g: &Mat, w: &[f64], omega: &Mat) -> Mat {
    let k = g.first().map_or(0, Vec::len);
    let m = g.len();
    let mut out = vec![vec![0.0; k]; k];
    for (a, row) in out.iter_mut().enumerate() {
        for (b, cell) in row.iter_mut().enumerate() {
            let mut s = 0.0;
            for i in 0..m {
                for j in 0..m {
                    s += g[i][a] * w[i] * omega[i][j] * w[j] * g[j][b];
                }
            }
            *cell = s;
        }
    }
    out
}

/// Product of two square matrices.
pub fn mul(a: &Mat, b: &Mat) -> Mat {
    let n = a.len();
    let p = b.first().map_or(0, Vec::len);
    let mut out = vec![vec![0.0; p]; n];
    for i in 0..n {
        for j in 0..p {
            let mut s = 0.0;
            for (l, bl) in b.iter().enumerate() {
                s += a[i][l] * bl[j];
            }
            out[i][j] = s;
        }
    }
    out
}

/// Relative pivot below which a matrix (scaled to unit diagonal) counts as singular.
pub const SINGULAR_TOL: f64 = 1e-10;

/// Inverse of a symmetric positive semi-definite matrix, or None when it is (numerically)
/// singular. The matrix is scaled to unit diagonal first (so the tolerance does not depend on
/// the parameters' units), then inverted by Gauss–Jordan with partial pivoting.
pub fn invert_spd(a: &Mat) -> Option<Mat> {
    let n = a.len();
    let d: Vec<f64> = (0..n).map(|i| a[i][i]).collect();
    if d.iter().any(|&x| !(x > 0.0) || !x.is_finite()) {
        return None;
    }
    let s: Vec<f64> = d.iter().map(|x| 1.0 / x.sqrt()).collect();
    let mut m: Mat = (0..n)
        .map(|i| (0..n).map(|j| a[i][j] * s[i] * s[j]).collect())
        .collect();
    let mut inv: Mat = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    for c in 0..n {
        let mut p = c;
        for r in c + 1..n {
            if m[r][c].abs() > m[p][c].abs() {
                p = r;
            }
        }
        if !(m[p][c].abs() > SINGULAR_TOL) {
            return None;
        }
        m.swap(c, p);
        inv.swap(c, p);
        let piv = m[c][c];
        for j in 0..n {
            m[c][j] /= piv;
            inv[c][j] /= piv;
        }
        for r in 0..n {
            if r != c {
                let f = m[r][c];
                if f != 0.0 {
                    for j in 0..n {
                        m[r][j] -= f * m[c][j];
                        inv[r][j] -= f * inv[c][j];
                    }
                }
            }
        }
    }
    Some(
        (0..n)
            .map(|i| (0..n).map(|j| inv[i][j] * s[i] * s[j]).collect())
            .collect(),
    )
}

/// The sandwich covariance (G'WG)⁻¹ G'WΩWG (G'WG)⁻¹, or None when G'WG is singular.
pub fn sandwich(g: &Mat, w: &[f64], omega: &Mat) -> Option<Mat> {
    let bread = invert_spd(&gwg(g, w))?;
    Some(mul(&mul(&bread, &meat(g, w, omega)), &bread))
}

/// Objective change (linearised, in χ² units) below which moving a parameter across its
/// whole box counts as a flat objective.
pub const FLAT_CHI2: f64 = 1.0;

/// Standard error, in units of the box width, above which a parameter counts as not
/// identified: ±2 SE then spans the whole box.
pub const WEAK_SE_BOX: f64 = 0.25;

/// Standard errors and identification of the parameters at the optimum.
#[derive(Clone, Debug, PartialEq)]
pub struct Inference {
    /// Covariance of the estimates (natural units); NaN rows/columns for parameters left out
    /// because the objective is flat in them, all NaN when G'WG is singular.
    pub cov: Mat,
    /// Standard errors (natural units), NaN where not computable.
    pub se: Vec<f64>,
    /// Per parameter: None when identified, else why not.
    pub not_identified: Vec<Option<String>>,
    /// Per parameter: linearised objective change over the whole box, Σ w_i (∂m_i/∂u_j)²,
    /// with u_j the parameter in box units.
    pub box_chi2: Vec<f64>,
}

/// The sandwich standard errors and identification checks.
///
/// `g` is the Jacobian in natural units (m × k), `width[j]` the derivative of θ_j with
/// respect to its box coordinate u_j at the optimum (hi − lo on a linear scale, θ·ln(hi/lo)
/// on a log scale), so `g[i][j]·width[j]` is the change of moment i per box width. A
/// parameter is reported as not identified when the objective is flat in it (moving it over
/// the whole box changes the objective by less than [`FLAT_CHI2`]), when G'WG is singular
/// (it moves the moments only in directions other parameters also move them), or when its
/// standard error exceeds [`WEAK_SE_BOX`] box widths.
pub fn inference(g: &Mat, w: &[f64], omega: &Mat, width: &[f64]) -> Inference {
    let k = width.len();
    let box_chi2: Vec<f64> = (0..k)
        .map(|j| {
            let mut s = 0.0;
            for (i, gi) in g.iter().enumerate() {
                let d = gi[j] * width[j];
                s += w[i] * d * d;
            }
            s
        })
        .collect();
    let mut why: Vec<Option<String>> = vec![None; k];
    let keep: Vec<usize> = (0..k)
        .filter(|&j| {
            if box_chi2[j].is_finite() && box_chi2[j] >= FLAT_CHI2 {
                true
            } else {
                why[j] = Some(format!(
                    "flat objective: across the whole box it changes by {:.3} (< {FLAT_CHI2})",
                    box_chi2[j]
                ));
                false
            }
        })
        .collect();
    let sub: Mat = g
        .iter()
        .map(|row| keep.iter().map(|&j| row[j]).collect())
        .collect();
    let mut cov = vec![vec![f64::NAN; k]; k];
    match (!keep.is_empty())
        .then(|| sandwich(&sub, w, omega))
        .flatten()
    {
        Some(v) => {
            for (a, &ja) in keep.iter().enumerate() {
                for (b, &jb) in keep.iter().enumerate() {
                    cov[ja][jb] = v[a][b];
                }
            }
        }
        None => {
            for &j in &keep {
                why[j] = Some(
                    "G'WG is singular: the targets do not separate it from the other parameters"
                        .into(),
                );
            }
        }
    }
    // NaN (not computable) stays NaN: `f64::max` would turn it into 0.
    let se: Vec<f64> = (0..k)
        .map(|j| {
            let v = cov[j][j];
            if v.is_nan() {
                f64::NAN
            } else {
                v.max(0.0).sqrt()
            }
        })
        .collect();
    for j in 0..k {
        if why[j].is_none() {
            let rel = se[j] / width[j].abs();
            if !(rel <= WEAK_SE_BOX) {
                why[j] = Some(format!(
                    "standard error is {rel:.2} box widths (> {WEAK_SE_BOX})"
                ));
            }
        }
    }
    Inference {
        cov,
        se,
        not_identified: why,
        box_chi2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    /// A linear moment model m(θ) = Aθ + c: the finite-difference Jacobian is A exactly, and
    /// with W = Ω⁻¹ the sandwich collapses to (A'Ω⁻¹A)⁻¹ (the efficient GMM covariance),
    /// computed here in closed form for two parameters.
    #[test]
    fn linear_model_sandwich_matches_the_closed_form() {
        let a = [[1.0, 0.5], [0.2, 2.0], [1.5, -0.3]];
        let c = [0.1, -0.2, 0.3];
        let m = |t: [f64; 2]| -> Vec<f64> {
            (0..3)
                .map(|i| a[i][0] * t[0] + a[i][1] * t[1] + c[i])
                .collect()
        };
        let theta = [0.4, 0.7];
        let h = 0.01;
        let g_cols: Vec<Vec<f64>> = (0..2)
            .map(|j| {
                let mut p = theta;
                let mut q = theta;
                p[j] += h;
                q[j] -= h;
                difference(&m(p), &m(q), h, h)
            })
            .collect();
        let g: Mat = (0..3).map(|i| vec![g_cols[0][i], g_cols[1][i]]).collect();
        for i in 0..3 {
            for j in 0..2 {
                assert!(close(g[i][j], a[i][j], 1e-9), "{i},{j}: {}", g[i][j]);
            }
        }
        let se = [0.1, 0.2, 0.05];
        let w: Vec<f64> = se.iter().map(|s| 1.0 / (s * s)).collect();
        let omega = moment_covariance(&se, &vec![vec![0.0; 3]; 3], 1);
        let v = sandwich(&g, &w, &omega).unwrap();
        // (A'WA)⁻¹ by the 2×2 formula.
        let (mut p, mut q, mut r) = (0.0, 0.0, 0.0);
        for i in 0..3 {
            p += w[i] * a[i][0] * a[i][0];
            q += w[i] * a[i][0] * a[i][1];
            r += w[i] * a[i][1] * a[i][1];
        }
        let det = p * r - q * q;
        let want = [[r / det, -q / det], [-q / det, p / det]];
        for i in 0..2 {
            for j in 0..2 {
                assert!(
                    close(v[i][j], want[i][j], 1e-9),
                    "{i},{j}: {} vs {}",
                    v[i][j],
                    want[i][j]
                );
            }
        }
    }

    /// With weights that are not Ω⁻¹ (equal weights, unequal variances) the sandwich is the
    /// weighted-least-squares covariance (A'A)⁻¹ A'ΩA (A'A)⁻¹; one parameter gives
    /// Σ a_i² σ_i² / (Σ a_i²)².
    #[test]
    fn misweighted_sandwich_is_the_robust_variance() {
        let a = [1.0, 2.0, -1.0];
        let sd = [0.1, 0.3, 0.2];
        let g: Mat = a.iter().map(|&x| vec![x]).collect();
        let omega = moment_covariance(&sd, &vec![vec![0.0; 3]; 3], 1);
        let v = sandwich(&g, &[1.0, 1.0, 1.0], &omega).unwrap();
        let s2: f64 = a.iter().map(|x| x * x).sum();
        let num: f64 = a.iter().zip(sd).map(|(x, s)| x * x * s * s).sum();
        assert!(close(v[0][0], num / (s2 * s2), 1e-12));
    }

    #[test]
    fn simulation_noise_adds_over_replicates() {
        let reps = vec![vec![1.0, 2.0], vec![3.0, 2.0], vec![2.0, 5.0]];
        let c = covariance(&reps);
        assert!(close(c[0][0], 1.0, 1e-12) && close(c[1][1], 3.0, 1e-12));
        assert!(close(c[0][1], -0.0 + c[1][0], 1e-12));
        let o = moment_covariance(&[0.5, 0.0], &c, 3);
        assert!(close(o[0][0], 0.25 + 1.0 / 3.0, 1e-12) && close(o[1][1], 1.0, 1e-12));
    }

    /// A parameter that moves no moment is flat; two parameters that move the moments the
    /// same way make G'WG singular; a weakly identified one has a large SE.
    #[test]
    fn identification_flags() {
        let w = [1.0 / 0.01, 1.0 / 0.01];
        let omega = moment_covariance(&[0.1, 0.1], &vec![vec![0.0; 2]; 2], 1);
        // Column 1 is zero: flat; column 0 is identified.
        let g = vec![vec![1.0, 0.0], vec![0.5, 0.0]];
        let inf = inference(&g, &w, &omega, &[1.0, 1.0]);
        assert!(inf.not_identified[0].is_none(), "{:?}", inf.not_identified);
        assert!(inf.not_identified[1].as_deref().unwrap().contains("flat"));
        assert!(inf.se[0].is_finite() && inf.se[1].is_nan());
        // Collinear columns: singular.
        let g = vec![vec![1.0, 2.0], vec![0.5, 1.0]];
        let inf = inference(&g, &w, &omega, &[1.0, 1.0]);
        assert!(inf
            .not_identified
            .iter()
            .all(|r| r.as_deref().unwrap().contains("singular")));
        // A small effect relative to the noise: moves the objective by more than 1 over the
        // box but its SE is more than a quarter of the box.
        let g = vec![vec![0.15], vec![0.0]];
        let inf = inference(&g, &w, &omega, &[1.0]);
        assert!(inf.box_chi2[0] > FLAT_CHI2);
        assert!(
            inf.not_identified[0]
                .as_deref()
                .unwrap()
                .contains("box widths"),
            "{:?}",
            inf
        );
    }

    #[test]
    fn non_finite_moments_are_never_best() {
        assert_eq!(objective(&[f64::NAN], &[1.0], &[1.0]), f64::INFINITY);
        assert_eq!(objective(&[2.0, 1.0], &[1.0, 1.0], &[4.0, 1.0]), 4.0);
    }
}
