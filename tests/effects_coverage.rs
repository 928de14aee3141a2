//! Coverage of the paired 95 % interval of `experiment::effects::effect` on synthetic cases
//! with a known effect: 4 000 repetitions of 8 replicates whose runs share a large common
//! component (common random numbers) and differ by the effect plus noise. The interval must
//! hold the true effect in at least 93 % of the repetitions (binomial sd at 95 %: 0.34 points).
//! `scripts/effects-coverage.sh` prints the figures.

use gardengate::experiment::effects::effect;
use gardengate::rng::{Purpose, Stream};

const REPS: u64 = 4000;
const N: u64 = 8;
const TRUE_EFFECT: f64 = 0.37;

/// Coverage of the t interval and of the bootstrap, for differences drawn by `noise`.
fn coverage(noise: &dyn Fn(&mut Stream) -> f64, bootstrap: u32) -> (f64, f64, f64) {
    let (mut hit, mut boot_hit, mut width) = (0u64, 0u64, 0.0);
    for rep in 0..REPS {
        let mut s = Stream::new(42, Purpose::Trip, rep, 0);
        let mut base = Vec::new();
        let mut var = Vec::new();
        for r in 0..N {
            // A big common part (the shared draws) that pairing removes.
            let common = 100.0 + 25.0 * s.normal();
            base.push((r, common));
            var.push((r, common + TRUE_EFFECT + noise(&mut s)));
        }
        let e = effect(&base, &var, bootstrap, rep);
        assert!(e.paired);
        if (e.effect - TRUE_EFFECT).abs() <= e.ci95 {
            hit += 1;
        }
        if bootstrap > 0 && e.boot_lo <= TRUE_EFFECT && TRUE_EFFECT <= e.boot_hi {
            boot_hit += 1;
        }
        width += 2.0 * e.ci95;
    }
    (
        hit as f64 / REPS as f64,
        boot_hit as f64 / REPS as f64,
        width / REPS as f64,
    )
}

#[test]
fn the_paired_interval_covers_a_known_effect() {
    let normal = |s: &mut Stream| 0.5 * s.normal();
    // Skewed noise with mean 0: a sum of four exponentials, centred (skewness 1).
    let skewed = |s: &mut Stream| 0.25 * ((0..4).map(|_| s.exp1()).sum::<f64>() - 4.0);
    let (c_normal, b_normal, w_normal) = coverage(&normal, 400);
    let (c_skewed, _, w_skewed) = coverage(&skewed, 0);
    println!(
        "paired 95% t interval, {REPS} repetitions × {N} replicates, true effect {TRUE_EFFECT}:\n  normal noise: coverage {:.2}% (bootstrap percentile, 400 resamples: {:.2}%), mean width {w_normal:.3}\n  skewed noise: coverage {:.2}%, mean width {w_skewed:.3}",
        100.0 * c_normal,
        100.0 * b_normal,
        100.0 * c_skewed
    );
    assert!(c_normal >= 0.93, "normal: {c_normal}");
    assert!(c_normal <= 0.97, "normal: {c_normal} (too wide?)");
    assert!(c_skewed >= 0.93, "skewed: {c_skewed}");
    // The unpaired interval would be about 25/0.5 = 50 times wider: pairing works.
    assert!(w_normal < 1.0);
}
