//! Nelder–Mead simplex minimisation (Nelder and Mead 1965, with the standard coefficients
//! reflection 1, expansion 2, contraction ½, shrink ½ of Lagarias et al. 1998), the
//! derivative-free optimiser of `gardengate calibrate`.
//!
//! Written here rather than taken from a crate: argmin (the obvious one) changes the
//! features of crates polars depends on, which rebuilds polars' whole chain (over 20 minutes
//! on 2 cores) for some 80 lines. Deterministic: vertices are sorted stably by value (ties
//! keep their order), and every arithmetic step is in a fixed order.

/// How a minimisation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The standard deviation of the values over the simplex fell below the tolerance.
    Converged,
    /// The iteration limit was reached.
    Iterations,
    /// The objective asked to stop (budget spent, interrupted).
    Asked,
}

/// The result: the best vertex, its value and why it stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct Minimum {
    /// Best point.
    pub x: Vec<f64>,
    /// Its value.
    pub f: f64,
    /// Why it stopped.
    pub stop: Stop,
}

fn sd(v: &[(Vec<f64>, f64)]) -> f64 {
    let n = v.len() as f64;
    let mut m = 0.0;
    for (_, f) in v {
        m += f;
    }
    m /= n;
    let mut s = 0.0;
    for (_, f) in v {
        s += (f - m) * (f - m);
    }
    (s / (n - 1.0)).sqrt()
}

fn lerp(a: &[f64], b: &[f64], t: f64) -> Vec<f64> {
    // a + t (b − a)
    a.iter().zip(b).map(|(x, y)| x + t * (y - x)).collect()
}

/// Minimises `f` from the simplex `start` (n + 1 points in n dimensions). `f` returns None to
/// stop (the best vertex so far is returned). Stops when the sample standard deviation of
/// the vertices' values is below `tol`, or after `max_iters` iterations.
pub fn minimise(
    mut f: impl FnMut(&[f64]) -> Option<f64>,
    start: Vec<Vec<f64>>,
    tol: f64,
    max_iters: u32,
) -> Minimum {
    let mut v: Vec<(Vec<f64>, f64)> = Vec::with_capacity(start.len());
    let done = |v: &mut Vec<(Vec<f64>, f64)>, stop| {
        v.sort_by(|a, b| a.1.total_cmp(&b.1));
        Minimum {
            x: v[0].0.clone(),
            f: v[0].1,
            stop,
        }
    };
    for x in start {
        match f(&x) {
            Some(y) => v.push((x, y)),
            None => {
                if v.is_empty() {
                    return Minimum {
                        x,
                        f: f64::NAN,
                        stop: Stop::Asked,
                    };
                }
                return done(&mut v, Stop::Asked);
            }
        }
    }
    let n = v.len() - 1;
    if n == 0 {
        return done(&mut v, Stop::Converged);
    }
    v.sort_by(|a, b| a.1.total_cmp(&b.1));
    for _ in 0..max_iters {
        if sd(&v) < tol {
            return done(&mut v, Stop::Converged);
        }
        // Centroid of all but the worst, summed in vertex order.
        let d = v[0].0.len();
        let mut c = vec![0.0; d];
        for (x, _) in &v[..n] {
            for k in 0..d {
                c[k] += x[k];
            }
        }
        for ck in &mut c {
            *ck /= n as f64;
        }
        let (best, second_worst, worst) = (v[0].1, v[n - 1].1, v[n].1);
        let xr = lerp(&c, &v[n].0, -1.0);
        let Some(fr) = f(&xr) else {
            return done(&mut v, Stop::Asked);
        };
        if fr >= best && fr < second_worst {
            v[n] = (xr, fr);
        } else if fr < best {
            let xe = lerp(&c, &xr, 2.0);
            let Some(fe) = f(&xe) else {
                return done(&mut v, Stop::Asked);
            };
            v[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else {
            // Contraction: outside when the reflection improved on the worst, else inside.
            let (xc, target) = if fr < worst {
                (lerp(&c, &xr, 0.5), fr)
            } else {
                (lerp(&c, &v[n].0, 0.5), worst)
            };
            let Some(fc) = f(&xc) else {
                return done(&mut v, Stop::Asked);
            };
            let accept = if fr < worst {
                fc <= target
            } else {
                fc < target
            };
            if accept {
                v[n] = (xc, fc);
            } else {
                let x0 = v[0].0.clone();
                for i in 1..=n {
                    let xs = lerp(&x0, &v[i].0, 0.5);
                    let Some(fs) = f(&xs) else {
                        return done(&mut v, Stop::Asked);
                    };
                    v[i] = (xs, fs);
                }
            }
        }
        v.sort_by(|a, b| a.1.total_cmp(&b.1));
    }
    done(&mut v, Stop::Iterations)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simplex(x0: &[f64], s: f64) -> Vec<Vec<f64>> {
        let mut out = vec![x0.to_vec()];
        for j in 0..x0.len() {
            let mut v = x0.to_vec();
            v[j] += s;
            out.push(v);
        }
        out
    }

    #[test]
    fn finds_the_minimum_of_rosenbrock() {
        let rosen = |x: &[f64]| Some((1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2));
        let m = minimise(rosen, simplex(&[-1.2, 1.0], 0.1), 1e-12, 5000);
        assert_eq!(m.stop, Stop::Converged);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-3 && (m.x[1] - 1.0).abs() < 1e-3,
            "{m:?}"
        );
    }

    #[test]
    fn finds_a_quadratic_minimum_in_three_dimensions() {
        let q = |x: &[f64]| {
            Some((x[0] - 0.3).powi(2) + 2.0 * (x[1] + 0.1).powi(2) + 0.5 * (x[2] - 0.7).powi(2))
        };
        let m = minimise(q, simplex(&[0.0, 0.0, 0.0], 0.2), 1e-14, 2000);
        for (a, b) in m.x.iter().zip([0.3, -0.1, 0.7]) {
            assert!((a - b).abs() < 1e-4, "{m:?}");
        }
    }

    #[test]
    fn stops_when_asked_and_returns_the_best_so_far() {
        let mut calls = 0;
        let m = minimise(
            |x: &[f64]| {
                calls += 1;
                (calls <= 5).then(|| x[0] * x[0])
            },
            simplex(&[1.0], 0.5),
            0.0,
            100,
        );
        assert_eq!(m.stop, Stop::Asked);
        assert_eq!(calls, 6);
        assert!(m.f <= 1.0);
    }

    #[test]
    fn is_deterministic() {
        let f = |x: &[f64]| Some((x[0] - 0.2).abs() + (x[1] * 3.0).sin().abs());
        let a = minimise(f, simplex(&[0.5, 0.5], 0.1), 1e-9, 300);
        let b = minimise(f, simplex(&[0.5, 0.5], 0.1), 1e-9, 300);
        assert_eq!(a.x[0].to_bits(), b.x[0].to_bits());
        assert_eq!(a.x[1].to_bits(), b.x[1].to_bits());
    }
}
