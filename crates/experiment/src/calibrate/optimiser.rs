//! The derivative-free minimiser of `gardengate calibrate`: argmin's Nelder–Mead (Nelder and
//! Mead 1965, with the standard coefficients reflection 1, expansion 2, contraction ½ and
//! shrink ½ of Lagarias et al. 1998), behind a small interface that lets the objective stop
//! the search (budget spent, interrupted, a failed evaluation) and still return the best
//! point so far.
//!
//! argmin stops a run when the cost function returns an error, and then hands back only the
//! error; so the best point is kept here, as the objective is called. Deterministic: argmin's
//! simplex steps are in a fixed order and its sort is stable, and the objective maps a NaN to
//! +∞ so that every comparison is total.

use argmin::core::{CostFunction, Executor, State, TerminationReason, TerminationStatus};
use argmin::solver::neldermead::NelderMead;
use std::cell::RefCell;

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

/// The result: the best point evaluated, its value and why the search stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct Minimum {
    /// Best point.
    pub x: Vec<f64>,
    /// Its value.
    pub f: f64,
    /// Why it stopped.
    pub stop: Stop,
}

/// The objective behind `RefCell`s (argmin's cost takes `&self`), with the best point so
/// far.
struct Calls<F> {
    f: RefCell<F>,
    best: RefCell<Option<(Vec<f64>, f64)>>,
    /// The first simplex's values: argmin evaluates the first simplex again when it starts.
    first: RefCell<Vec<(Vec<f64>, f64)>>,
}

/// The error that ends argmin's run when the objective asks to stop.
#[derive(Debug, thiserror::Error)]
#[error("the objective asked to stop")]
struct Asked;

/// The objective as argmin sees it (argmin takes it by value; the state stays here). `f`
/// returning None becomes an error, which ends argmin's run.
struct Objective<'a, F>(&'a Calls<F>);

impl<F: FnMut(&[f64]) -> Option<f64>> Objective<'_, F> {
    fn cost(&self, x: &[f64]) -> Result<f64, argmin::core::Error> {
        let c = self.0;
        if let Some((_, y)) = c.first.borrow().iter().find(|(v, _)| same(v, x)) {
            return Ok(*y);
        }
        let y = (c.f.borrow_mut())(x).ok_or(Asked)?;
        let y = if y.is_nan() { f64::INFINITY } else { y };
        let mut best = c.best.borrow_mut();
        if best.as_ref().is_none_or(|b| y < b.1) {
            *best = Some((x.to_vec(), y));
        }
        Ok(y)
    }
}

impl<F: FnMut(&[f64]) -> Option<f64>> CostFunction for Objective<'_, F> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, x: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        Objective::cost(self, x)
    }
}

/// Minimises `f` from the simplex `start` (n + 1 points in n dimensions). `f` returns None to
/// stop (the best point so far is returned). Stops when the sample standard deviation of the
/// vertices' values is below `tol`, or after `max_iters` iterations.
///
/// argmin evaluates the first simplex when it starts and cannot be stopped there (it
/// unwraps those values), so `f` is called here on every vertex first: a None among them
/// stops before argmin runs, and argmin's own first calls are answered from these values.
pub fn minimise(
    f: impl FnMut(&[f64]) -> Option<f64>,
    start: Vec<Vec<f64>>,
    tol: f64,
    max_iters: u32,
) -> Minimum {
    let calls = Calls {
        f: RefCell::new(f),
        best: RefCell::new(None),
        first: RefCell::new(Vec::new()),
    };
    let objective = Objective(&calls);
    let stopped = |c: &Calls<_>| {
        let best = c.best.borrow().clone();
        let (x, f) = best.unwrap_or_else(|| (start_point(&start), f64::NAN));
        Minimum {
            x,
            f,
            stop: Stop::Asked,
        }
    };
    for v in &start {
        match objective.cost(v) {
            Ok(y) => calls.first.borrow_mut().push((v.clone(), y)),
            Err(_) => return stopped(&calls),
        }
    }
    if start.len() < 2 {
        let (x, f) = calls.best.borrow().clone().unwrap_or_default();
        return Minimum {
            x,
            f,
            stop: Stop::Converged,
        };
    }
    let solver = match NelderMead::new(start.clone()).with_sd_tolerance(tol.max(0.0)) {
        Ok(s) => s,
        Err(_) => unreachable!("the tolerance is clamped to ≥ 0"),
    };
    let run = Executor::new(objective, solver)
        .configure(|s| s.max_iters(u64::from(max_iters)))
        .run();
    let stop = match run {
        Err(_) => return stopped(&calls),
        Ok(r) => match r.state().get_termination_status() {
            TerminationStatus::Terminated(TerminationReason::SolverConverged) => Stop::Converged,
            _ => Stop::Iterations,
        },
    };
    let (x, f) = calls.best.borrow().clone().unwrap_or_default();
    Minimum { x, f, stop }
}

/// Bit-for-bit equality of two points.
fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

fn start_point(start: &[Vec<f64>]) -> Vec<f64> {
    start.first().cloned().unwrap_or_default()
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
                (calls <= 7).then(|| x[0] * x[0])
            },
            simplex(&[1.0], 0.5),
            0.0,
            100,
        );
        assert_eq!(m.stop, Stop::Asked);
        // Each point once: argmin's start is answered from the first simplex's values.
        assert_eq!(calls, 8);
        // The best of the points answered, not the start.
        assert!(m.f < 1.0, "{m:?}");
        assert_eq!(m.f, m.x[0] * m.x[0]);
    }

    #[test]
    fn stops_in_the_first_simplex_without_a_panic() {
        let mut calls = 0;
        let m = minimise(
            |x: &[f64]| {
                calls += 1;
                (calls <= 1).then(|| x[0] * x[0])
            },
            simplex(&[1.0, 2.0], 0.5),
            0.0,
            100,
        );
        assert_eq!(m.stop, Stop::Asked);
        assert_eq!(m.x, vec![1.0, 2.0]);
    }

    #[test]
    fn stops_at_the_iteration_limit() {
        let q = |x: &[f64]| Some(x[0] * x[0] + x[1] * x[1]);
        let m = minimise(q, simplex(&[3.0, 3.0], 0.1), 0.0, 5);
        assert_eq!(m.stop, Stop::Iterations);
    }

    #[test]
    fn a_nan_counts_as_the_worst_value() {
        let f = |x: &[f64]| {
            Some(if x[0] < 0.0 {
                f64::NAN
            } else {
                (x[0] - 0.5).powi(2)
            })
        };
        let m = minimise(f, simplex(&[0.1], 0.2), 1e-12, 500);
        assert!((m.x[0] - 0.5).abs() < 1e-4, "{m:?}");
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
