//! Merchant revision (MODEL.md §2.8): every R steps each merchant re-decides its listings
//! from realised margins of the last window, then pays listing fees for the coming period.

use super::init::breaks_exclusivity;
use crate::engine::rng::{logistic, Purpose, Stream};
use crate::engine::state::World;
use rayon::prelude::*;

/// Fixed work unit (never derived from the thread count).
const MCHUNK: usize = 4096;

/// Computes new listings at step `t` from the window t−R … t−1 (the caller then resets it).
/// Returns the listing bitsets for t+1 and the listing fees per ecosystem (fen).
pub fn revise(world: &World, t: u32) -> (Vec<u64>, Vec<i64>) {
    let ms = &world.merchants;
    let tb = &world.tables;
    let sc = &world.scenario;
    let nc = tb.commerce.len();
    let n = ms.len();
    let scale = sc.merchants.profit_scale;
    let fee_fen: Vec<i64> = tb
        .commerce
        .iter()
        .map(|&p| world.policy.listing_fee_fen[p])
        .collect();

    // Aggregates over merchants currently listed: integer sums, order-independent.
    let agg = (0..n)
        .into_par_iter()
        .with_min_len(MCHUNK)
        .fold(
            || vec![(0i64, 0i64, 0u64); nc],
            |mut acc, m| {
                for (ci, &p) in tb.commerce.iter().enumerate() {
                    if ms.listed[m] & (1 << p) != 0 {
                        acc[ci].0 += ms.window_margin[m * nc + ci];
                        acc[ci].1 += (ms.price[m] - ms.cost[m]) as i64;
                        acc[ci].2 += 1;
                    }
                }
                acc
            },
        )
        .reduce(
            || vec![(0i64, 0i64, 0u64); nc],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    x.0 += y.0;
                    x.1 += y.1;
                    x.2 += y.2;
                }
                a
            },
        );

    let listed: Vec<u64> = (0..n)
        .into_par_iter()
        .with_min_len(MCHUNK)
        .map(|m| {
            let mut s = Stream::new(world.seed, Purpose::MerchantRevision, t as u64, m as u64);
            let unit = (ms.price[m] - ms.cost[m]) as f64;
            let mut expected = [0f64; 64];
            let mut next = 0u64;
            for (ci, &p) in tb.commerce.iter().enumerate() {
                let fee = fee_fen[ci] as f64;
                let e_fen = if ms.listed[m] & (1 << p) != 0 {
                    ms.window_margin[m * nc + ci] as f64 - fee
                } else {
                    let (sum, units, count) = agg[ci];
                    if count == 0 || units == 0 {
                        -fee
                    } else {
                        (sum as f64 / count as f64) * unit / (units as f64 / count as f64) - fee
                    }
                };
                expected[p] = e_fen / 100.0;
                if s.bernoulli(logistic(expected[p] / scale)) {
                    next |= 1 << p;
                }
            }
            if breaks_exclusivity(next, &world.policy.exclusive, tb) {
                // Choose the one ecosystem bundle of highest total expected profit.
                let mut best = (f64::NEG_INFINITY, 0u64);
                for &mask in &tb.eco_platforms {
                    let b = next & mask;
                    if b == 0 {
                        continue;
                    }
                    let total: f64 = (0..64)
                        .filter(|&p| b & (1 << p) != 0)
                        .map(|p| expected[p])
                        .sum();
                    if total > best.0 {
                        best = (total, b);
                    }
                }
                next = best.1;
            }
            next
        })
        .collect();

    let ne = sc.ecosystems.len();
    let mut fees = vec![0i64; ne];
    for &l in &listed {
        for (ci, &p) in tb.commerce.iter().enumerate() {
            if l & (1 << p) != 0 {
                fees[tb.owner[p] as usize] += fee_fen[ci];
            }
        }
    }
    (listed, fees)
}
