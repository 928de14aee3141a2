//! Initial draws (MODEL.md §1): consumers, merchants, listings and the social graph.

use crate::engine::graph::{self, Graph};
use crate::engine::policy::{fen, Policy};
use crate::engine::rng::{categorical, inverse_normal, open_unit, KeyBase, Purpose, Stream};
use crate::engine::state::{
    ConsumerStocks, Consumers, Holdings, Merchants, Tables, World, TASTE_SCALE,
};
use crate::scenario::{GraphSpec, Scenario};
use rand_distr::{Beta, Distribution};
use rayon::prelude::*;
use std::sync::Arc;

/// "No wallet" marker for the primary wallet.
pub const NO_WALLET: u8 = u8::MAX;

/// Fixed work unit for initialisation (never derived from the thread count).
const INIT_CHUNK: usize = 4096;

/// Builds the initial world of a run.
pub fn build_world(sc: Arc<Scenario>, seed: u64) -> Result<World, String> {
    let tables = Tables::new(&sc);
    let mut consumers = init_consumers(&sc, &tables, seed);
    let merchants = init_merchants(&sc, &tables, seed);
    if let GraphSpec::Communities { homophily, .. } = &sc.graph {
        // Relabel consumers in community order so that each community is a contiguous range
        // of ids: friends then sit close together in memory.
        let shares: Vec<f64> = sc.ecosystems.iter().map(|e| e.share).collect();
        let order = graph::community_order(&consumers.home, *homophily, &shares, seed);
        consumers.permute(&order);
    }
    consumers.taste_z = taste_shocks(consumers.len(), &tables.commerce, seed);
    let graph = build_graph(&sc, &consumers.home, seed)?;
    let policy = Policy::new(&sc);
    let stocks = ConsumerStocks::count(&consumers, sc.wallets.len(), sc.platforms.len());
    Ok(World {
        scenario: sc,
        seed,
        tables,
        consumers,
        merchants,
        graph,
        policy,
        inbox: Vec::new(),
        stocks,
        step: 0,
        timing: Default::default(),
    })
}

/// The taste shocks Z_ip ~ N(0, 1) of every consumer and commerce platform, from the
/// (seed, taste, p, i) streams, in the fixed point of `TASTE_SCALE`.
pub fn taste_shocks(n: usize, commerce: &[usize], seed: u64) -> Vec<i16> {
    let nc = commerce.len();
    let mut z = vec![0i16; n * nc];
    if nc == 0 {
        return z;
    }
    let keys: Vec<_> = commerce
        .iter()
        .map(|&p| KeyBase::new(seed, Purpose::Taste).at(p as u64))
        .collect();
    z.par_chunks_mut(nc * 4096)
        .enumerate()
        .for_each(|(c, rows)| {
            for (k, row) in rows.chunks_mut(nc).enumerate() {
                let i = (c * 4096 + k) as u64;
                for (x, key) in row.iter_mut().zip(&keys) {
                    *x = (inverse_normal(open_unit(key.key(i))) * TASTE_SCALE)
                        .round()
                        .clamp(-32767.0, 32767.0) as i16;
                }
            }
        });
    z
}

/// Builds the social graph of a scenario over consumers whose homes are `home` (for
/// `communities`, consumers already relabelled in community order).
pub fn build_graph(sc: &Scenario, home: &[u8], seed: u64) -> Result<Graph, String> {
    let n = home.len() as u32;
    Ok(match &sc.graph {
        GraphSpec::SmallWorld {
            mean_degree,
            rewire,
        } => graph::small_world(n, *mean_degree, *rewire, seed),
        // Consumers are in community order (see `build_world`): communities are id ranges.
        GraphSpec::Communities {
            mean_degree,
            size,
            inside_share,
            ..
        } => graph::planted_partition(n, *mean_degree, *size, *inside_share, seed),
        GraphSpec::EdgeList { edges, .. } => graph::edge_list(edges, n)?,
    })
}

fn init_consumers(sc: &Scenario, tb: &Tables, seed: u64) -> Consumers {
    let n = sc.consumers.count as usize;
    let c = &sc.consumers;
    let eco_w: Vec<f64> = sc.ecosystems.iter().map(|e| e.share).collect();
    let nw = sc.wallets.len();
    let nc = tb.commerce.len();
    let house: Vec<Option<usize>> = (0..sc.ecosystems.len())
        .map(|e| sc.wallets.iter().position(|w| w.owner == Some(e)))
        .collect();
    let beta = c.shop_beta.and_then(|[a, b]| Beta::new(a, b).ok());
    let ln_alpha = c.alpha_median.ln();

    struct Row {
        home: u8,
        social: u8,
        alpha: f32,
        shop: f32,
        wallets: u16,
        primary: u8,
        apps: u64,
    }
    let rows: Vec<Row> = (0..n)
        .into_par_iter()
        .with_min_len(INIT_CHUNK)
        .map(|i| {
            let mut s = Stream::new(seed, Purpose::ConsumerInit, 0, i as u64);
            let home = categorical(s.uniform(), &eco_w);
            let social_w: Vec<f64> = sc
                .platforms
                .iter()
                .map(|p| {
                    if !p.social {
                        0.0
                    } else if p.owner == home {
                        p.reach * c.home_bias
                    } else {
                        p.reach
                    }
                })
                .collect();
            // With home_bias 0 and only home-owned social apps, fall back to reach alone.
            let social = if social_w.iter().sum::<f64>() > 0.0 {
                categorical(s.uniform(), &social_w)
            } else {
                let reach: Vec<f64> = sc
                    .platforms
                    .iter()
                    .map(|p| if p.social { p.reach } else { 0.0 })
                    .collect();
                categorical(s.uniform(), &reach)
            };
            let alpha = (ln_alpha + c.alpha_log_sd * s.normal()).exp() as f32;
            let shop = match &beta {
                Some(b) => b.sample(s.rng()) as f32,
                None => c.shop_prob as f32,
            };
            let mut wallets = 0u16;
            if let Some(h) = house[home] {
                wallets |= 1 << h;
            }
            for w in 0..nw {
                if Some(w) != house[home] && s.bernoulli(c.initial_multihoming) {
                    wallets |= 1 << w;
                }
            }
            let primary = match house[home] {
                Some(h) => h as u8,
                None if wallets != 0 => wallets.trailing_zeros() as u8,
                None => NO_WALLET,
            };
            let mut apps = 0u64;
            for &p in &tb.commerce {
                if sc.platforms[p].owner == home || s.bernoulli(c.initial_app_share) {
                    apps |= 1 << p;
                }
            }
            Row {
                home: home as u8,
                social: social as u8,
                alpha,
                shop,
                wallets,
                primary,
                apps,
            }
        })
        .collect();
    Consumers {
        home: rows.iter().map(|r| r.home).collect(),
        social: rows.iter().map(|r| r.social).collect(),
        alpha: rows.iter().map(|r| r.alpha).collect(),
        shop: if beta.is_some() {
            rows.iter().map(|r| r.shop).collect()
        } else {
            Vec::new()
        },
        holdings: rows
            .iter()
            .map(|r| Holdings {
                apps: r.apps,
                wallets: r.wallets,
            })
            .collect(),
        primary: rows.iter().map(|r| r.primary).collect(),
        wallet_last: vec![0; n * nw],
        app_last: vec![0; n * nc],
        taste_z: Vec::new(),
    }
}

/// Whether a listing set breaks exclusivity: it holds an exclusive platform and spans more
/// than one ecosystem.
pub fn breaks_exclusivity(listed: u64, exclusive: &[bool], tb: &Tables) -> bool {
    let excl = exclusive
        .iter()
        .enumerate()
        .any(|(p, &x)| x && listed & (1 << p) != 0);
    excl && tb
        .eco_platforms
        .iter()
        .filter(|&&m| m & listed != 0)
        .count()
        > 1
}

fn init_merchants(sc: &Scenario, tb: &Tables, seed: u64) -> Merchants {
    let n = sc.merchant_count as usize;
    let m = &sc.merchants;
    let eco_w: Vec<f64> = sc.ecosystems.iter().map(|e| e.share).collect();
    let exclusive: Vec<bool> = sc.platforms.iter().map(|p| p.exclusive).collect();
    let ln_p = m.price_median.ln();
    let rows: Vec<(u8, f32, u32, u32, u64)> = (0..n)
        .into_par_iter()
        .with_min_len(INIT_CHUNK)
        .map(|j| {
            let mut s = Stream::new(seed, Purpose::MerchantInit, 0, j as u64);
            let home = categorical(s.uniform(), &eco_w);
            let q = (m.sigma_q * s.normal()) as f32;
            let price = fen((ln_p + m.price_log_sd * s.normal()).exp()).max(2);
            let margin = m.margin[0] + (m.margin[1] - m.margin[0]) * s.uniform();
            let cost = fen(price as f64 / 100.0 * (1.0 - margin)).clamp(1, price - 1);
            let main = sc.ecosystems[home].main_marketplace;
            let mut listed = main.map_or(0, |p| 1u64 << p);
            for &p in &tb.commerce {
                if Some(p) != main && s.bernoulli(m.initial_multihoming) {
                    listed |= 1 << p;
                }
            }
            if breaks_exclusivity(listed, &exclusive, tb) {
                listed &= tb.eco_platforms[home];
            }
            (home as u8, q, price as u32, cost as u32, listed)
        })
        .collect();
    let mut ms = Merchants {
        home: rows.iter().map(|r| r.0).collect(),
        quality: rows.iter().map(|r| r.1).collect(),
        price: rows.iter().map(|r| r.2).collect(),
        cost: rows.iter().map(|r| r.3).collect(),
        listed: rows.iter().map(|r| r.4).collect(),
        window_margin: vec![0; n * tb.commerce.len()],
        on_platform: Vec::new(),
    };
    ms.rebuild_index(&tb.commerce);
    ms
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored shocks are the keyed standard normals to within the fixed-point step, and
    /// their moments are those of N(0, 1) (4 standard errors).
    #[test]
    fn taste_shocks_are_keyed_standard_normals() {
        let commerce = [0usize, 3, 5];
        let n = 100_000;
        let z = taste_shocks(n, &commerce, 42);
        assert_eq!(z.len(), n * commerce.len());
        for (i, row) in z.chunks(commerce.len()).enumerate().step_by(997) {
            for (&zq, &p) in row.iter().zip(&commerce) {
                let key = KeyBase::new(42, Purpose::Taste).at(p as u64).key(i as u64);
                let exact = inverse_normal(open_unit(key));
                assert!((zq as f64 / TASTE_SCALE - exact).abs() <= 0.5 / TASTE_SCALE + 1e-12);
            }
        }
        let m = z.len() as f64;
        let mean = z.iter().map(|&x| x as f64 / TASTE_SCALE).sum::<f64>() / m;
        let var = z
            .iter()
            .map(|&x| (x as f64 / TASTE_SCALE - mean).powi(2))
            .sum::<f64>()
            / m;
        assert!(mean.abs() < 4.0 / m.sqrt(), "mean {mean}");
        assert!((var - 1.0).abs() < 4.0 * (2.0 / m).sqrt(), "variance {var}");
        assert_ne!(
            taste_shocks(10, &commerce, 43),
            taste_shocks(10, &commerce, 42)
        );
    }
}
