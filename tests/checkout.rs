//! MODEL.md v2 checkout defaults and wallet habit: validation case 6 of §6, the identities
//! with the `default` outcome, the timing of a "choice screen" event, and determinism with
//! defaults and habit on. Tolerances are binomial standard errors of the realised counts.

mod common;
use common::*;
use gardengate::model::Tally;
use gardengate::Simulation;
use std::sync::Arc;

/// Case 6: two wallets of equal convenience, held by everyone and accepted everywhere;
/// everyone's primary is `w2` (the house wallet of the only ecosystem); `p` pre-selects `w1`.
/// No revisions and no links, so the first step's payments are the rule alone.
fn case6(pull: f64, switch: f64, b1: f64, scale: f64) -> String {
    format!(
        r#"
steps = 3
[consumers]
count = 40000
initial_multihoming = 1.0
initial_app_share = 1.0
shop_prob = 0.5
[merchants]
count = 2000
revision_period = 0
[links]
share_prob = 0.0
[revision]
rho = 0.0
primary_switch = {switch}
wallet_scale = {scale}
[graph]
generator = "small_world"
mean_degree = 4
[[ecosystems]]
name = "e"
population_share = 1.0
[[platforms]]
name = "p"
owner = "e"
roles = ["commerce", "social"]
reach = 1.0
accepts = ["w1", "w2"]
default_wallet = "w1"
default_pull = {pull}
[[wallets]]
name = "w1"
convenience = {b1}
fee = 0.006
[[wallets]]
name = "w2"
owner = "e"
convenience = 0.2
fee = 0.006
"#
    )
}

/// |k/n − p| within 4.5 binomial standard errors.
fn assert_share(k: u64, n: u64, p: f64, what: &str) {
    assert!(n > 2000, "{what}: too few draws ({n})");
    let ph = k as f64 / n as f64;
    let se = (p * (1.0 - p) / n as f64).sqrt();
    assert!(
        (ph - p).abs() <= 4.5 * se + 1e-12,
        "{what}: {ph:.4} (k = {k}, n = {n}) vs {p:.4}, se {se:.4}"
    );
}

fn first_step(text: &str, seed: u64) -> (Simulation, Tally) {
    let sc = scenario(text);
    let mut sim = Simulation::new(Arc::new(sc), seed).expect("world builds");
    let t = sim.step().clone();
    (sim, t)
}

#[test]
fn default_is_taken_with_probability_pull() {
    for pull in [0.3, 0.85] {
        let (_, t) = first_step(&case6(pull, 0.0, 0.2, 0.0), 11);
        let sales = t.sales[0];
        // w1 is wallet 0: paid with the default exactly when the pull draw succeeds.
        assert_eq!(t.pay_platform_wallet_count[0], t.default);
        assert_eq!(t.pay_platform_wallet_count[1], t.primary);
        assert_eq!(t.secondary + t.adopted + t.abandoned, 0);
        assert_share(t.default, sales, pull, "share paid with the default");
    }
}

#[test]
fn primary_switch_zero_never_changes_a_primary() {
    let text = case6(0.9, 0.0, 0.2, 0.0);
    let sc = scenario(&text);
    let n = sc.consumers.count;
    let mut sim = Simulation::new(Arc::new(sc), 5).unwrap();
    sim.run();
    assert!(sim.tallies().iter().map(|t| t.default).sum::<u64>() > 10_000);
    for t in sim.tallies() {
        assert_eq!(t.stocks.primary_holders[1], n, "every primary stays w2");
        assert_eq!(t.stocks.primary_holders[0], 0);
    }
}

#[test]
fn default_payers_switch_with_probability_s() {
    // λ = 0, a tie: the share of default payers whose primary is w1 at t+1 is s.
    let s = 0.35;
    let (_, t) = first_step(&case6(1.0, s, 0.2, 0.0), 7);
    assert_eq!(t.primary, 0, "pull 1: every payer takes the default");
    assert_share(
        t.stocks.primary_holders[0],
        t.default,
        s,
        "switch share, λ = 0",
    );
}

#[test]
fn default_payers_switch_with_logit_probability() {
    // b_w1 − b_w2 = Δ and λ > 0: s · logistic(Δ/λ), for a better and a worse default.
    let (s, scale) = (0.6, 0.1);
    for delta in [0.05, -0.08] {
        let (_, t) = first_step(&case6(1.0, s, 0.2 + delta, scale), 3);
        let p = s / (1.0 + (-delta / scale).exp());
        assert_share(
            t.stocks.primary_holders[0],
            t.default,
            p,
            &format!("switch share, Δ = {delta}"),
        );
    }
}

/// Three wallets; everyone's primary (`home`) is not accepted by the shop, which accepts `x`
/// and `y` (equal adoption costs, different convenience). `held` sets whether consumers hold
/// them (secondary pick) or not (adoption pick).
fn logit_picks(held: f64) -> String {
    format!(
        r#"
steps = 1
[consumers]
count = 40000
initial_multihoming = {held}
initial_app_share = 1.0
shop_prob = 0.5
[merchants]
count = 2000
revision_period = 0
[links]
share_prob = 0.0
[revision]
rho = 0.0
switch_cost = 0.0
wallet_scale = 0.2
[graph]
generator = "small_world"
mean_degree = 4
[[ecosystems]]
name = "e"
population_share = 1.0
[[platforms]]
name = "p"
owner = "e"
roles = ["commerce", "social"]
reach = 1.0
accepts = ["x", "y"]
[[wallets]]
name = "home"
owner = "e"
convenience = 0.5
[[wallets]]
name = "x"
convenience = 0.3
adoption_cost = 0.0
[[wallets]]
name = "y"
convenience = 0.1
adoption_cost = 0.0
"#
    )
}

#[test]
fn secondary_and_adoption_picks_follow_logit_shares() {
    // P(x) = 1 / (1 + exp((b_y − b_x)/λ)) in both cases (equal adoption costs).
    let px = 1.0 / (1.0 + ((0.1f64 - 0.3) / 0.2).exp());
    let (_, t) = first_step(&logit_picks(1.0), 2);
    assert_eq!(t.secondary, t.sales[0]);
    assert_share(t.pay_count[1], t.secondary, px, "secondary pick of x");
    let (_, t) = first_step(&logit_picks(0.0), 2);
    assert_eq!(t.adopted, t.sales[0]);
    assert_share(t.pay_count[1], t.adopted, px, "adoption pick of x");
}

/// The default world with Alipay pre-selected on Taobao and Tmall, habit and logit choices
/// on, and events that accept WeChat Pay, move Taobao's default to it, and clear Tmall's.
const V2_EVENTS: &str = r#"
steps = 40
[consumers]
count = 8000
initial_multihoming = 0.5
[links]
inbox_capacity = 2
[merchants]
revision_period = 10
[revision]
primary_switch = 0.3
wallet_scale = 0.1
[[platforms]]
name = "taobao"
owner = "ali"
roles = ["commerce"]
commission = 0.03
appeal = 0.5
listing_fee = 100
default_wallet = "alipay"
default_pull = 0.8
[[platforms]]
name = "tmall"
owner = "ali"
roles = ["commerce"]
commission = 0.05
appeal = 0.3
listing_fee = 100
accepts = ["alipay", "wechat_pay", "bank_card"]
default_wallet = "alipay"
default_pull = 0.9
[[platforms]]
name = "weibo"
owner = "ali"
roles = ["social"]
reach = 0.3
[[platforms]]
name = "wechat"
owner = "tencent"
roles = ["social", "commerce"]
commission = 0.01
join_cost = 0.5
listing_fee = 50
reach = 0.9
[[platforms]]
name = "jd"
owner = "tencent"
roles = ["commerce"]
commission = 0.05
appeal = 0.3
listing_fee = 100
[[platforms]]
name = "douyin"
owner = "bytedance"
roles = ["social", "commerce"]
commission = 0.05
appeal = 0.2
listing_fee = 100
reach = 0.6
[[events]]
step = 8
kind = "accept"
platform = "taobao"
wallet = "wechat_pay"
[[events]]
step = 12
kind = "default_wallet"
platform = "taobao"
wallet = "wechat_pay"
[[events]]
step = 15
kind = "default_pull"
platform = "tmall"
value = 0.5
[[events]]
step = 5
kind = "default_wallet"
platform = "tmall"
wallet = "none"
pending = { approver = "tencent", delay = 15 }
[[events]]
step = 30
kind = "default_wallet"
platform = "taobao"
wallet = "none"
[[events]]
step = 25
kind = "primary_switch"
value = 0.9
[[events]]
step = 25
kind = "wallet_scale"
value = 0.05
[[events]]
step = 6
kind = "link"
social = "wechat"
channel = "*"
target = "ali"
state = "open"
"#;

fn idx(names: impl Iterator<Item = String>, name: &str) -> usize {
    names.into_iter().position(|n| n == name).unwrap()
}

#[test]
fn identities_hold_every_step_with_defaults_and_events() {
    let sc = scenario(V2_EVENTS);
    let sim = run(&sc, 9);
    assert!(sim.tallies().iter().any(|t| t.default > 0));
    assert!(
        sim.tallies().iter().any(|t| t.overflow > 0),
        "overflow exercised"
    );
    for (k, t) in sim.tallies().iter().enumerate() {
        assert_eq!(
            t.trips,
            t.outside + t.primary + t.default + t.secondary + t.adopted + t.abandoned,
            "step {k}: trips"
        );
        assert_eq!(
            t.sales.iter().sum::<u64>(),
            t.primary + t.default + t.secondary + t.adopted,
            "step {k}: sales"
        );
        assert_eq!(
            t.pay_platform_wallet_count.iter().sum::<u64>(),
            t.pay_count.iter().sum::<u64>(),
            "step {k}: payment counts"
        );
        assert_eq!(t.pay_value.iter().sum::<i64>(), t.gmv.iter().sum::<i64>());
        assert_eq!(
            t.recipients,
            t.delivered_open + t.delivered_blocked + t.overflow
        );
        let fees: i64 = t.fees.iter().sum();
        let comm: i64 = t.commission.iter().sum();
        assert_eq!(t.paid, t.merchant_revenue + comm + fees, "step {k}: money");
        let listing: i64 = t.listing_fees.iter().sum();
        let welfare = t.consumer_surplus
            + (t.merchant_revenue - t.unit_cost - listing) as f64 / 100.0
            + (comm + fees + listing) as f64 / 100.0;
        let direct = t.wtp - t.unit_cost as f64 / 100.0 - t.friction;
        assert!((welfare - direct).abs() <= 1e-9 * direct.abs().max(1.0));
    }
}

#[test]
fn default_events_take_effect_at_exactly_their_step() {
    let sc = scenario(V2_EVENTS);
    let plats = || sc.platforms.iter().map(|p| p.name.clone());
    let wals = || sc.wallets.iter().map(|w| w.name.clone());
    let (taobao, tmall) = (idx(plats(), "taobao"), idx(plats(), "tmall"));
    let (alipay, wechat_pay) = (idx(wals(), "alipay"), idx(wals(), "wechat_pay"));
    let nw = sc.wallets.len();
    let mut sim = Simulation::new(Arc::new(sc.clone()), 4).unwrap();
    for t in 0..40u32 {
        sim.step();
        let p = &sim.world().policy;
        let want_taobao = match t {
            0..=11 => alipay as u8,
            12..=29 => wechat_pay as u8,
            _ => u8::MAX,
        };
        assert_eq!(p.default_wallet[taobao], want_taobao, "taobao at step {t}");
        // Pending on Tencent: announced at 5, in force from 20.
        let want_tmall = if t < 20 { alipay as u8 } else { u8::MAX };
        assert_eq!(p.default_wallet[tmall], want_tmall, "tmall at step {t}");
        assert_eq!(p.default_pull[tmall], if t < 15 { 0.9 } else { 0.5 });
        assert_eq!(p.primary_switch, if t < 25 { 0.3 } else { 0.9 });
        assert_eq!(p.wallet_scale, if t < 25 { 0.1 } else { 0.05 });
        let tally = &sim.tallies()[t as usize];
        if t >= 30 {
            assert_eq!(tally.default, 0, "no default in force at step {t}");
        } else {
            assert!(tally.default > 0, "defaults used at step {t}");
        }
        // Taobao's default payments are Alipay until step 12, WeChat Pay from then on.
        if (12..30).contains(&t) {
            let wp = tally.pay_platform_wallet_count[taobao * nw + wechat_pay];
            assert!(wp > 0, "wechat_pay pre-selected on taobao at step {t}");
        }
    }
}

#[test]
fn deterministic_across_threads_with_defaults_and_habit() {
    let sc = scenario(V2_EVENTS);
    let one = bits(&run_threads(&sc, 77, 1));
    let two = bits(&run_threads(&sc, 77, 2));
    let eight = bits(&run_threads(&sc, 77, 8));
    assert_eq!(one, two, "1 vs 2 threads");
    assert_eq!(one, eight, "1 vs 8 threads");
}

#[test]
fn no_default_and_v1_habit_draw_nothing_extra() {
    // primary_switch = 1 and wallet_scale = 0 with no default are the v1 rules: the same run
    // as a file that does not mention them at all, bit for bit.
    let base = "steps = 30\n[consumers]\ncount = 6000\n";
    let explicit = format!("{base}[revision]\nprimary_switch = 1.0\nwallet_scale = 0.0\n");
    let a = bits(&run(&scenario(base), 13));
    let b = bits(&run(&scenario(&explicit), 13));
    assert_eq!(a, b);
    // ... and a habit parameter that matters changes the run.
    let habit = format!("{base}[revision]\nprimary_switch = 0.5\n");
    assert_ne!(a, bits(&run(&scenario(&habit), 13)));
}

/// The v2 keys are checked like every other key: file, line, key, expectation, suggestion.
#[test]
fn bad_v2_keys_are_reported_with_line_key_and_help() {
    let platform = |extra: &str| {
        format!(
            "[[platforms]]\nname = \"shop\"\nowner = \"ali\"\nroles = [\"commerce\"]\n{extra}\n\
             [[platforms]]\nname = \"chat\"\nowner = \"ali\"\nroles = [\"social\"]\nreach = 1.0\n\
             [[ecosystems]]\nname = \"ali\"\npopulation_share = 0.5\n\
             [[ecosystems]]\nname = \"tencent\"\npopulation_share = 0.3\n\
             [[ecosystems]]\nname = \"bytedance\"\npopulation_share = 0.2\n"
        )
    };
    let cases: Vec<(String, &str, &[&str], Option<&str>)> = vec![
        (
            platform("default_wallet = \"alipy\""),
            "test.toml:5: key `platforms[0].default_wallet`",
            &["unknown wallet `alipy`"],
            Some("alipay"),
        ),
        (
            platform("default_wallet = \"wechat_pay\""),
            "test.toml:5: key `platforms[0].default_wallet`",
            &["`wechat_pay` is not accepted by `shop`"],
            Some("add `wechat_pay` to `accepts`"),
        ),
        (
            platform("default_pull = 1.5"),
            "test.toml:5: key `platforms[0].default_pull`",
            &["1.5 is not a probability"],
            None,
        ),
        (
            "[revision]\nwallet_scale = -0.1\n".into(),
            "test.toml:2: key `revision.wallet_scale`",
            &["expected a number ≥ 0"],
            None,
        ),
        (
            "[revision]\nprimary_switch = 2\n".into(),
            "test.toml:2: key `revision.primary_switch`",
            &["not a probability"],
            None,
        ),
        (
            "[[events]]\nstep = 1\nkind = \"default_wallet\"\nplatform = \"taobao\"\n".into(),
            "test.toml:1: key `events[0].wallet`",
            &["`\"none\"` to clear the default"],
            None,
        ),
        (
            "[[events]]\nstep = 1\nkind = \"default_wallet\"\nplatform = \"weibo\"\nwallet = \"none\"\n"
                .into(),
            "test.toml:4: key `events[0].platform`",
            &["`weibo` is not a commerce platform"],
            None,
        ),
        (
            "[[events]]\nstep = 1\nkind = \"default_pul\"\nplatform = \"taobao\"\nvalue = 0.5\n"
                .into(),
            "test.toml:3: key `events[0].kind`",
            &["unknown event kind `default_pul`"],
            Some("default_pull"),
        ),
    ];
    for (text, head, expect, help) in cases {
        let err =
            match gardengate::scenario::from_text(&text, "test.toml", std::path::Path::new(".")) {
                Ok(_) => panic!("expected an error for:\n{text}"),
                Err(e) => e.to_string(),
            };
        let lines: Vec<&str> = err.lines().collect();
        let ok = lines.iter().enumerate().any(|(i, l)| {
            l.trim_start().starts_with(head)
                && expect.iter().all(|x| l.contains(x))
                && help.is_none_or(|h| {
                    lines
                        .get(i + 1)
                        .is_some_and(|n| n.contains("help:") && n.contains(h))
                })
        });
        assert!(ok, "wanted `{head}` {expect:?} {help:?} in:\n{err}");
    }
}

#[test]
fn v2_parameters_are_sweepable() {
    let text = "steps = 5\n[consumers]\ncount = 500\n[[sweep.param]]\npath = \"platforms.taobao.default_pull\"\nvalues = [0.2, 0.7]\n[[sweep.param]]\npath = \"revision.wallet_scale\"\nvalues = [0.0, 0.1]\n[[sweep.param]]\npath = \"platforms.tmall.default_wallet\"\nvalues = [\"alipay\", \"none\"]\n";
    let plan = gardengate::scenario::from_text(text, "test.toml", std::path::Path::new("."))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.points.len(), 8);
    let taobao = 0;
    let tmall = 1;
    let got: Vec<(f64, f64, Option<usize>)> = plan
        .points
        .iter()
        .map(|p| {
            let s = &p.scenario;
            (
                s.platforms[taobao].default_pull,
                s.revision.wallet_scale,
                s.platforms[tmall].default_wallet,
            )
        })
        .collect();
    assert!(got.contains(&(0.7, 0.1, None)));
    assert!(got.contains(&(0.2, 0.0, Some(0))));
}
