//! Metrics of MODEL.md §4: turns the raw per-step tallies of a run into named columns
//! (money in yuan), with shares, concentration (HHI) and welfare derived in a fixed order.

pub mod msm;
pub mod sensitivity;
pub mod stats;

use crate::model::{Simulation, Tally};
use crate::scenario::Scenario;

/// Values of one column, one per step.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// Counts and steps.
    Int(Vec<i64>),
    /// Money, shares and ratios.
    Float(Vec<f64>),
}

impl Values {
    /// Value at a step as f64.
    pub fn get_f64(&self, k: usize) -> f64 {
        match self {
            Values::Int(v) => v[k] as f64,
            Values::Float(v) => v[k],
        }
    }
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Values::Int(v) => v.len(),
            Values::Float(v) => v.len(),
        }
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The per-step metrics of one run, column by column, in a fixed order.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricTable {
    /// Column names and values; the first two are `step` and `date` (days since 1970-01-01).
    pub columns: Vec<(String, Values)>,
}

impl MetricTable {
    /// Number of steps.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.1.len())
    }
    /// A column by name.
    pub fn get(&self, name: &str) -> Option<&Values> {
        self.columns.iter().find(|c| c.0 == name).map(|c| &c.1)
    }
    /// Names of the metric columns (all but `step` and `date`).
    pub fn metric_names(&self) -> Vec<&str> {
        self.columns.iter().skip(2).map(|c| c.0.as_str()).collect()
    }
}

fn yuan(fen: i64) -> f64 {
    fen as f64 / 100.0
}

/// `part / total`, NaN when the total is zero (a share of nothing is undefined).
fn share(part: i64, total: i64) -> f64 {
    if total == 0 {
        f64::NAN
    } else {
        part as f64 / total as f64
    }
}

fn hhi(values: &[i64]) -> f64 {
    let total: i64 = values.iter().sum();
    if total == 0 {
        return f64::NAN;
    }
    values
        .iter()
        .map(|&v| {
            let s = v as f64 / total as f64;
            s * s
        })
        .sum()
}

/// The metric table of a simulation's steps so far.
pub fn of(sim: &Simulation) -> MetricTable {
    let w = sim.world();
    table(
        &w.scenario,
        sim.tallies(),
        w.consumers.len() as u64,
        w.merchants.len() as u64,
    )
}

/// Builds the metric table of a run from its tallies.
pub fn table(sc: &Scenario, tallies: &[Tally], n_consumers: u64, n_merchants: u64) -> MetricTable {
    let mut cols: Vec<(String, Values)> = Vec::new();
    let mut int = |name: &str, f: &dyn Fn(&Tally) -> i64| {
        cols.push((
            name.to_string(),
            Values::Int(tallies.iter().map(f).collect()),
        ));
    };
    int("step", &|_| 0);
    int("date", &|_| 0);
    int("trips", &|t| t.trips as i64);
    int("outside", &|t| t.outside as i64);
    int("primary", &|t| t.primary as i64);
    int("default", &|t| t.default as i64);
    int("secondary", &|t| t.secondary as i64);
    int("adopted", &|t| t.adopted as i64);
    int("abandoned", &|t| t.abandoned as i64);
    int("sales", &|t| {
        (t.primary + t.default + t.secondary + t.adopted) as i64
    });
    int("links_shared", &|t| t.recipients as i64);
    int("links_open", &|t| t.delivered_open as i64);
    int("links_blocked", &|t| t.delivered_blocked as i64);
    int("links_overflow", &|t| t.overflow as i64);
    int("links_followed_open", &|t| t.followed_open as i64);
    int("links_token", &|t| t.followed_token as i64);
    int("links_lost", &|t| t.lost as i64);
    int("links_expired", &|t| t.expired as i64);
    int("links_stale", &|t| t.stale as i64);
    int("shares_dm", &|t| t.shares[0] as i64);
    int("shares_group", &|t| t.shares[1] as i64);
    int("shares_feed", &|t| t.shares[2] as i64);
    int("link_sales", &|t| t.link_sales as i64);
    int("wallet_adoptions_revision", &|t| t.revision_adopt as i64);
    int("app_joins", &|t| t.app_joins as i64);
    int("wallet_drops", &|t| t.wallet_drops as i64);
    int("app_drops", &|t| t.app_drops as i64);
    int("events", &|t| t.events as i64);
    // Fix the step and date columns.
    let steps: Vec<i64> = (0..tallies.len() as i64).collect();
    cols[0].1 = Values::Int(steps.clone());
    cols[1].1 = Values::Int(
        steps
            .iter()
            .map(|s| sc.start_date + s * sc.days_per_step as i64)
            .collect(),
    );

    let mut flt = |name: String, f: &dyn Fn(&Tally) -> f64| {
        cols.push((name, Values::Float(tallies.iter().map(f).collect())));
    };
    let sum = |v: &[i64]| v.iter().sum::<i64>();
    flt("gmv".into(), &|t| yuan(sum(&t.gmv)));
    flt("gmv_cross_eco".into(), &|t| yuan(t.gmv_cross));
    flt("consumer_payments".into(), &|t| yuan(t.paid));
    flt("merchant_revenue".into(), &|t| yuan(t.merchant_revenue));
    flt("commissions".into(), &|t| yuan(sum(&t.commission)));
    flt("wallet_fees".into(), &|t| yuan(sum(&t.fees)));
    flt("listing_fees".into(), &|t| yuan(sum(&t.listing_fees)));
    flt("unit_costs".into(), &|t| yuan(t.unit_cost));
    flt("consumer_surplus".into(), &|t| t.consumer_surplus);
    let mp = |t: &Tally| yuan(t.merchant_revenue - t.unit_cost - sum(&t.listing_fees));
    let pr = |t: &Tally| yuan(sum(&t.commission) + sum(&t.fees) + sum(&t.listing_fees));
    flt("merchant_profit".into(), &mp);
    flt("platform_revenue".into(), &pr);
    flt("total_welfare".into(), &|t| {
        t.consumer_surplus + mp(t) + pr(t)
    });
    flt("willingness_to_pay".into(), &|t| t.wtp);
    flt("frictions".into(), &|t| t.friction);
    flt("hhi_wallet".into(), &|t| hhi(&t.pay_value));
    flt("hhi_commerce".into(), &|t| hhi(&t.gmv));
    let nc = n_consumers.max(1) as f64;
    flt("wallets_per_consumer".into(), &|t| {
        t.stocks.wallets_held as f64 / nc
    });
    flt("multihoming_share".into(), &|t| {
        t.stocks.multihomers as f64 / nc
    });
    flt("apps_per_consumer".into(), &|t| {
        t.stocks.apps_used as f64 / nc
    });
    flt("merchant_multihoming_share".into(), &|t| {
        t.merchant_multihomers as f64 / n_merchants.max(1) as f64
    });
    flt("link_open_share".into(), &|t| {
        share(
            t.delivered_open as i64,
            (t.delivered_open + t.delivered_blocked) as i64,
        )
    });

    for (w, wl) in sc.wallets.iter().enumerate() {
        cols.push((
            format!("wallet_count__{}", wl.name),
            Values::Int(tallies.iter().map(|t| t.pay_count[w] as i64).collect()),
        ));
        cols.push((
            format!("wallet_value__{}", wl.name),
            Values::Float(tallies.iter().map(|t| yuan(t.pay_value[w])).collect()),
        ));
        cols.push((
            format!("wallet_share__{}", wl.name),
            Values::Float(
                tallies
                    .iter()
                    .map(|t| share(t.pay_value[w], sum(&t.pay_value)))
                    .collect(),
            ),
        ));
        cols.push((
            format!("wallet_holders__{}", wl.name),
            Values::Float(
                tallies
                    .iter()
                    .map(|t| t.stocks.holders[w] as f64 / nc)
                    .collect(),
            ),
        ));
        cols.push((
            format!("wallet_primary__{}", wl.name),
            Values::Float(
                tallies
                    .iter()
                    .map(|t| t.stocks.primary_holders[w] as f64 / nc)
                    .collect(),
            ),
        ));
    }
    for (p, pl) in sc.platforms.iter().enumerate().filter(|(_, p)| p.commerce) {
        cols.push((
            format!("gmv__{}", pl.name),
            Values::Float(tallies.iter().map(|t| yuan(t.gmv[p])).collect()),
        ));
        cols.push((
            format!("gmv_share__{}", pl.name),
            Values::Float(
                tallies
                    .iter()
                    .map(|t| share(t.gmv[p], sum(&t.gmv)))
                    .collect(),
            ),
        ));
        cols.push((
            format!("sales__{}", pl.name),
            Values::Int(tallies.iter().map(|t| t.sales[p] as i64).collect()),
        ));
        cols.push((
            format!("listings__{}", pl.name),
            Values::Int(tallies.iter().map(|t| t.listings[p] as i64).collect()),
        ));
        cols.push((
            format!("app_users__{}", pl.name),
            Values::Float(
                tallies
                    .iter()
                    .map(|t| t.stocks.app_users[p] as f64 / nc)
                    .collect(),
            ),
        ));
        for (w, wl) in sc.wallets.iter().enumerate() {
            let nw = sc.wallets.len();
            cols.push((
                format!("pay__{}__{}", pl.name, wl.name),
                Values::Float(
                    tallies
                        .iter()
                        .map(|t| yuan(t.pay_platform_wallet[p * nw + w]))
                        .collect(),
                ),
            ));
            cols.push((
                format!("pay_count__{}__{}", pl.name, wl.name),
                Values::Int(
                    tallies
                        .iter()
                        .map(|t| t.pay_platform_wallet_count[p * nw + w] as i64)
                        .collect(),
                ),
            ));
        }
    }
    for (e, eco) in sc.ecosystems.iter().enumerate() {
        let owned: Vec<usize> = (0..sc.platforms.len())
            .filter(|&p| sc.platforms[p].owner == e)
            .collect();
        cols.push((
            format!("gmv_eco__{}", eco.name),
            Values::Float(
                tallies
                    .iter()
                    .map(|t| yuan(owned.iter().map(|&p| t.gmv[p]).sum()))
                    .collect(),
            ),
        ));
        cols.push((
            format!("gmv_share_eco__{}", eco.name),
            Values::Float(
                tallies
                    .iter()
                    .map(|t| share(owned.iter().map(|&p| t.gmv[p]).sum(), sum(&t.gmv)))
                    .collect(),
            ),
        ));
        cols.push((
            format!("revenue__{}", eco.name),
            Values::Float(
                tallies
                    .iter()
                    .map(|t| yuan(t.commission[e] + t.fees[e] + t.listing_fees[e]))
                    .collect(),
            ),
        ));
    }
    let ne = sc.ecosystems.len();
    cols.push((
        "revenue__banks".into(),
        Values::Float(tallies.iter().map(|t| yuan(t.fees[ne])).collect()),
    ));
    MetricTable { columns: cols }
}
