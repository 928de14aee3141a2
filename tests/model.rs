//! Validation of the reference model (MODEL.md §6): the logit limit, symmetry, the cost of
//! walls, the accounting identities, determinism, and the timing of policy events.
//! Tolerances are derived from the sample size (4 standard errors), never tuned.

mod common;
use common::*;
use gardengate::model::Tally;

/// A world where the choice is a pure multinomial logit: one wallet held by all and accepted
/// everywhere, no links, no revisions, no taste noise, identical merchants, fixed α.
const LOGIT: &str = r#"
steps = 20
[consumers]
count = 20000
sigma_theta = 0.0
loyalty = 0.0
alpha_log_sd = 0.0
alpha_median = 0.02
initial_multihoming = 1.0
initial_app_share = 1.0
outside_utility = 0.3
[merchants]
count = 3000
sigma_q = 0.0
price_median = 80.0
price_log_sd = 0.0
initial_multihoming = 1.0
revision_period = 0
[links]
share_prob = 0.0
k_search = 3
[revision]
rho = 0.0
[graph]
generator = "small_world"
mean_degree = 4
[[ecosystems]]
name = "a"
population_share = 0.5
[[ecosystems]]
name = "b"
population_share = 0.5
[[platforms]]
name = "p1"
owner = "a"
roles = ["commerce"]
appeal = 0.5
[[platforms]]
name = "p2"
owner = "a"
roles = ["commerce"]
appeal = 0.0
[[platforms]]
name = "p3"
owner = "b"
roles = ["commerce", "social"]
appeal = -0.5
reach = 1.0
[[wallets]]
name = "pay"
fee = 0.01
"#;

#[test]
fn logit_limit_matches_closed_form() {
    let sc = common::scenario(LOGIT);
    let sim = run(&sc, 5);
    let trips = total(&sim, |t| t.trips) as f64;
    assert!(trips > 50_000.0, "enough trips for the test: {trips}");
    // Theory: P(p) = K·exp(a_p − αP) / (exp(u0) + Σ K·exp(a_p' − αP)).
    let k = 3.0;
    let ap: f64 = 0.02 * 80.0;
    let appeals: [f64; 3] = [0.5, 0.0, -0.5];
    let denom = 0.3f64.exp() + appeals.iter().map(|a| k * (a - ap).exp()).sum::<f64>();
    for (p, a) in appeals.iter().enumerate() {
        let theory = k * (a - ap).exp() / denom;
        let sim_share = total(&sim, |t| t.sales[p]) as f64 / trips;
        let se = (theory * (1.0 - theory) / trips).sqrt();
        assert!(
            (sim_share - theory).abs() < 4.0 * se,
            "platform {p}: simulated {sim_share}, theory {theory}, se {se}"
        );
    }
    let outside = total(&sim, |t| t.outside) as f64 / trips;
    let theory = 0.3f64.exp() / denom;
    let se = (theory * (1.0 - theory) / trips).sqrt();
    assert!(
        (outside - theory).abs() < 4.0 * se,
        "outside: {outside} vs {theory}"
    );
    // One wallet accepted everywhere and held by all: every sale is a primary payment.
    assert_eq!(total(&sim, |t| t.abandoned + t.secondary + t.adopted), 0);
}

/// Two mirror-image ecosystems.
const SYMMETRIC: &str = r#"
steps = 60
[consumers]
count = 3000
initial_multihoming = 0.3
[revision]
rho = 0.05
gamma_wallet = 4.0
[graph]
mean_degree = 10
community_size = 50
[[ecosystems]]
name = "a"
population_share = 0.5
[[ecosystems]]
name = "b"
population_share = 0.5
[[platforms]]
name = "pa"
owner = "a"
roles = ["commerce", "social"]
appeal = 0.3
commission = 0.05
listing_fee = 50
reach = 1.0
accepts = ["wa"]
[[platforms]]
name = "pb"
owner = "b"
roles = ["commerce", "social"]
appeal = 0.3
commission = 0.05
listing_fee = 50
reach = 1.0
accepts = ["wb"]
[[wallets]]
name = "wa"
owner = "a"
fee = 0.006
adoption_cost = 2.0
convenience = 0.2
[[wallets]]
name = "wb"
owner = "b"
fee = 0.006
adoption_cost = 2.0
convenience = 0.2
"#;

#[test]
fn symmetric_ecosystems_have_equal_shares_across_seeds() {
    let sc = common::scenario(SYMMETRIC);
    let shares: Vec<f64> = (0..40u64)
        .map(|seed| {
            let sim = run(&sc, 1000 + seed);
            let last = &sim.tallies()[sim.tallies().len() - 20..];
            let a: i64 = last.iter().map(|t| t.pay_value[0]).sum();
            let b: i64 = last.iter().map(|t| t.pay_value[1]).sum();
            a as f64 / (a + b) as f64
        })
        .collect();
    let (m, se) = mean_se(&shares);
    assert!((m - 0.5).abs() < 4.0 * se, "mean share of a: {m} ± {se}");
    // Not a degenerate test: single runs do differ.
    assert!(shares.iter().any(|&s| (s - shares[0]).abs() > 1e-6));
}

fn walls_variant(open: bool) -> gardengate::Scenario {
    let text = format!(
        "steps = 60\n[consumers]\ncount = 5000\n[policy]\nlinks = \"{}\"\nwallets = \"{}\"\n",
        if open { "open" } else { "walled" },
        if open { "interoperable" } else { "house" }
    );
    common::scenario(&text)
}

#[test]
fn walls_have_a_cost() {
    let walled = walls_variant(false);
    let open = walls_variant(true);
    let (mut cs_diff, mut cross_diff) = (Vec::new(), Vec::new());
    for seed in 0..12u64 {
        // The same seed: common random numbers, so the paired difference isolates the policy.
        let w = run(&walled, seed);
        let o = run(&open, seed);
        let cs = |s: &gardengate::Simulation| {
            s.tallies().iter().map(|t| t.consumer_surplus).sum::<f64>()
        };
        let cross = |s: &gardengate::Simulation| {
            s.tallies().iter().map(|t| t.gmv_cross).sum::<i64>() as f64
        };
        cs_diff.push(cs(&o) - cs(&w));
        cross_diff.push(cross(&o) - cross(&w));
        assert_eq!(
            total(&o, |t| t.abandoned),
            0,
            "all wallets accepted: nothing abandoned"
        );
        assert!(
            total(&w, |t| t.abandoned) > 0,
            "walls do make consumers abandon"
        );
    }
    let (m, se) = mean_se(&cs_diff);
    assert!(
        m > -4.0 * se,
        "opening lowered consumer surplus: {m} ± {se}"
    );
    let (m, se) = mean_se(&cross_diff);
    assert!(
        m > -4.0 * se,
        "opening lowered cross-ecosystem GMV: {m} ± {se}"
    );
    // And the effects are real, not just "not negative".
    assert!(cs_diff.iter().sum::<f64>() > 0.0 && cross_diff.iter().sum::<f64>() > 0.0);
}

fn check_identities(t: &Tally, step: usize) {
    let pay: i64 = t.pay_value.iter().sum();
    let gmv: i64 = t.gmv.iter().sum();
    assert_eq!(pay, gmv, "step {step}: Σ wallet value = Σ GMV");
    assert_eq!(
        t.pay_platform_wallet.iter().sum::<i64>(),
        gmv,
        "step {step}: platform × wallet"
    );
    assert_eq!(
        t.trips,
        t.outside + t.primary + t.default + t.secondary + t.adopted + t.abandoned,
        "step {step}: trips"
    );
    assert_eq!(
        t.recipients,
        t.delivered_open + t.delivered_blocked + t.overflow,
        "step {step}: recipients"
    );
    let comm: i64 = t.commission.iter().sum();
    let fees: i64 = t.fees.iter().sum();
    assert_eq!(
        t.paid,
        t.merchant_revenue + comm + fees,
        "step {step}: money paid"
    );
    assert_eq!(t.paid, gmv, "step {step}: paid = GMV");
    let listing: i64 = t.listing_fees.iter().sum();
    let cs = t.consumer_surplus;
    let mp = (t.merchant_revenue - t.unit_cost - listing) as f64 / 100.0;
    let pr = (comm + fees + listing) as f64 / 100.0;
    let total_welfare = cs + mp + pr;
    let direct = t.wtp - t.unit_cost as f64 / 100.0 - t.friction;
    assert!(
        (total_welfare - direct).abs() <= 1e-9 * direct.abs().max(1.0),
        "step {step}: welfare {total_welfare} vs WTP − costs − frictions {direct}"
    );
    assert_eq!(
        t.sales.iter().sum::<u64>(),
        t.primary + t.default + t.secondary + t.adopted,
        "step {step}: sales"
    );
}

#[test]
fn identities_hold_every_step_default_run() {
    let sc = common::scenario("steps = 70\n[consumers]\ncount = 8000\n");
    let sim = run(&sc, 3);
    assert!(sim
        .tallies()
        .iter()
        .any(|t| t.overflow > 0 || t.delivered_blocked > 0));
    assert!(
        sim.tallies()
            .iter()
            .any(|t| t.listing_fees.iter().sum::<i64>() > 0),
        "a merchant revision happened"
    );
    for (k, t) in sim.tallies().iter().enumerate() {
        check_identities(t, k);
    }
}

const EVENTS: &str = r#"
steps = 40
[consumers]
count = 8000
[links]
inbox_capacity = 2
[merchants]
revision_period = 10
[[events]]
step = 10
kind = "accept"
platform = "taobao"
wallet = "wechat_pay"
[[events]]
step = 5
kind = "link"
social = "wechat"
channel = "dm"
target = "ali"
state = "open"
pending = { approver = "ali", delay = 15 }
[[events]]
step = 25
kind = "commission"
platform = "jd"
value = 0.2
[[events]]
step = 30
kind = "exclusive"
platform = "taobao"
value = 1
"#;

#[test]
fn identities_hold_every_step_with_events() {
    let sc = common::scenario(EVENTS);
    let sim = run(&sc, 9);
    assert!(
        sim.tallies().iter().any(|t| t.overflow > 0),
        "inbox overflow exercised"
    );
    for (k, t) in sim.tallies().iter().enumerate() {
        check_identities(t, k);
    }
}

#[test]
fn incremental_stocks_equal_a_recount_every_step() {
    use gardengate::engine::state::ConsumerStocks;
    let sc = common::scenario(EVENTS);
    let mut sim = gardengate::Simulation::new(std::sync::Arc::new(sc.clone()), 21).unwrap();
    let mut changed = false;
    for _ in 0..40 {
        let before = sim.world().stocks.clone();
        let t = sim.step().clone();
        let w = &sim.world();
        let recount = ConsumerStocks::count(&w.consumers, sc.wallets.len(), sc.platforms.len());
        assert_eq!(w.stocks, recount, "step {}", w.step - 1);
        assert_eq!(t.stocks, recount);
        changed |= before != recount;
    }
    assert!(changed, "holdings did change over the run");
}

#[test]
fn events_take_effect_at_exactly_their_step() {
    let sc = common::scenario(EVENTS);
    let mut sim = gardengate::Simulation::new(std::sync::Arc::new(sc.clone()), 4).unwrap();
    let wechat = sc
        .platforms
        .iter()
        .position(|p| p.name == "wechat")
        .unwrap();
    let taobao = sc
        .platforms
        .iter()
        .position(|p| p.name == "taobao")
        .unwrap();
    let wechat_pay = sc
        .wallets
        .iter()
        .position(|w| w.name == "wechat_pay")
        .unwrap();
    let nw = sc.wallets.len();
    for t in 0..40u32 {
        sim.step();
        // After running step t, the policy in force during t is visible.
        let accepted = sim.world().policy.accepts[taobao] & (1 << wechat_pay) != 0;
        assert_eq!(accepted, t >= 10, "accept event at step {t}");
        let dm_open = sim.world().policy.link_is_open(wechat, 0, 0);
        assert_eq!(
            dm_open,
            t >= 20,
            "pending link event (announced 5, +15) at step {t}"
        );
        assert!(
            !sim.world().policy.link_is_open(wechat, 1, 0),
            "group chats stay blocked"
        );
        let paid_wechat_on_taobao =
            sim.tallies()[t as usize].pay_platform_wallet[taobao * nw + wechat_pay];
        if t < 10 {
            assert_eq!(
                paid_wechat_on_taobao, 0,
                "no wechat_pay on taobao before step 10 (step {t})"
            );
        }
    }
    assert!(
        sim.tallies()[10].pay_platform_wallet[taobao * nw + wechat_pay] > 0,
        "wechat_pay used on taobao at step 10"
    );
}

#[test]
fn deterministic_across_threads_and_runs() {
    let sc = common::scenario(EVENTS);
    let one = bits(&run_threads(&sc, 77, 1));
    let two = bits(&run_threads(&sc, 77, 2));
    let eight = bits(&run_threads(&sc, 77, 8));
    let again = bits(&run_threads(&sc, 77, 2));
    assert_eq!(one, two, "1 vs 2 threads");
    assert_eq!(one, eight, "1 vs 8 threads");
    assert_eq!(two, again, "two runs with one seed");
    let other = bits(&run_threads(&sc, 78, 2));
    assert_ne!(one, other, "two seeds differ");
}

#[test]
fn the_memory_estimates_layout_is_the_worlds() {
    use gardengate::engine::state::{Consumers, Merchants};
    // Both with and without drawn shopping probabilities.
    for beta in ["", "shop_beta = [2.0, 8.0]\n"] {
        let sc = common::scenario(&format!("steps = 1\n[consumers]\ncount = 3000\n{beta}"));
        let sim = gardengate::Simulation::new(std::sync::Arc::new(sc.clone()), 5).unwrap();
        let w = sim.world();
        let nc = sc.platforms.iter().filter(|p| p.commerce).count();
        let per = Consumers::bytes_per_consumer(sc.wallets.len(), nc, !beta.is_empty());
        assert_eq!(w.consumers.bytes(), 3000 * per, "consumers ({beta:?})");
        let cards: usize = w.merchants.on_platform.iter().map(Vec::len).sum::<usize>() * 16;
        assert_eq!(
            w.merchants.bytes(),
            w.merchants.len() * Merchants::bytes_per_merchant(nc) + cards,
            "merchants"
        );
    }
}
