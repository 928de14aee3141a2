//! Checks a parsed scenario file and resolves names into indices.

use super::builder::{LinkPreset, WalletPreset};
use super::calendar::parse_date;
use super::error::{suggest, Problem};
use super::model::*;
use super::schema::*;
use std::path::Path;

/// The §7 ecosystems.
pub fn default_ecosystems() -> Vec<Ecosystem> {
    [
        ("ali", 0.45, "taobao"),
        ("tencent", 0.40, "jd"),
        ("bytedance", 0.15, "douyin"),
    ]
    .iter()
    .map(|&(n, s, m)| Ecosystem {
        name: n.into(),
        population_share: s,
        main_marketplace: Some(m.into()),
    })
    .collect()
}

/// The §7 platforms.
pub fn default_platforms() -> Vec<Platform> {
    let p =
        |name: &str, owner: &str, roles: &[&str], c: f64, a: f64, j: f64, f: f64, reach: f64| {
            Platform {
                name: name.into(),
                owner: owner.into(),
                roles: roles.iter().map(|r| r.to_string()).collect(),
                commission: c,
                appeal: a,
                join_cost: j,
                listing_fee: f,
                reach,
                exclusive: false,
                accepts: None,
                default_wallet: None,
                default_pull: 1.0,
            }
        };
    vec![
        p("taobao", "ali", &["commerce"], 0.03, 0.5, 1.0, 100.0, 0.0),
        p("tmall", "ali", &["commerce"], 0.05, 0.3, 1.0, 100.0, 0.0),
        p("eleme", "ali", &["commerce"], 0.15, 0.0, 1.0, 100.0, 0.0),
        p("weibo", "ali", &["social"], 0.0, 0.0, 1.0, 0.0, 0.3),
        p(
            "wechat",
            "tencent",
            &["social", "commerce"],
            0.01,
            0.0,
            0.5,
            50.0,
            0.9,
        ),
        p("jd", "tencent", &["commerce"], 0.05, 0.3, 1.0, 100.0, 0.0),
        p(
            "douyin",
            "bytedance",
            &["social", "commerce"],
            0.05,
            0.2,
            1.0,
            100.0,
            0.6,
        ),
    ]
}

/// The §7 wallets.
pub fn default_wallets() -> Vec<Wallet> {
    let w = |n: &str, o: Option<&str>, f: f64, k: f64, b: f64| Wallet {
        name: n.into(),
        owner: o.map(Into::into),
        fee: f,
        adoption_cost: k,
        convenience: b,
        gamma: None,
    };
    vec![
        w("alipay", Some("ali"), 0.006, 2.0, 0.2),
        w("wechat_pay", Some("tencent"), 0.006, 2.0, 0.2),
        w("douyin_pay", Some("bytedance"), 0.006, 2.5, 0.0),
        w("bank_card", None, 0.006, 1.0, -0.5),
    ]
}

/// Collects problems while resolving.
struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn push(
        &mut self,
        key: impl Into<String>,
        message: impl Into<String>,
        suggestion: Option<String>,
    ) {
        self.problems.push(Problem {
            key: key.into(),
            line: None,
            message: message.into(),
            suggestion,
        });
    }
    fn prob(&mut self, key: &str, v: f64) {
        if !(0.0..=1.0).contains(&v) {
            self.push(
                key,
                format!("{v} is not a probability; expected a number in [0, 1]"),
                None,
            );
        }
    }
    fn nonneg(&mut self, key: &str, v: f64) {
        if !(v >= 0.0 && v.is_finite()) {
            self.push(
                key,
                format!("{v} is negative or not finite; expected a number ≥ 0"),
                None,
            );
        }
    }
    fn positive(&mut self, key: &str, v: f64) {
        if !(v > 0.0 && v.is_finite()) {
            self.push(key, format!("{v} must be a finite number > 0"), None);
        }
    }
    fn finite(&mut self, key: &str, v: f64) {
        if !v.is_finite() {
            self.push(key, format!("{v} is not a finite number"), None);
        }
    }
    fn rate(&mut self, key: &str, v: f64) {
        if !(0.0..=1.0).contains(&v) {
            self.push(
                key,
                format!("{v} is not a rate; expected a share of the price in [0, 1]"),
                Some("write rates as fractions: 3% is 0.03".into()),
            );
        }
    }
    /// Index of `name` in `names` (the entities of the scenario), or a problem with a
    /// suggestion.
    fn lookup(&mut self, key: &str, what: &str, name: &str, names: &[&str]) -> Option<usize> {
        let expected = format!("one of the {what}s defined in the scenario");
        self.lookup_in(key, what, name, names, &expected)
    }
    /// Index of `name` in `names`, or a problem saying it expected `expected`.
    fn lookup_in(
        &mut self,
        key: &str,
        what: &str,
        name: &str,
        names: &[&str],
        expected: &str,
    ) -> Option<usize> {
        match names.iter().position(|n| *n == name) {
            Some(i) => Some(i),
            None => {
                self.push(
                    key,
                    format!("unknown {what} `{name}`; expected {expected}"),
                    Some(suggest(name, names.iter().copied())),
                );
                None
            }
        }
    }
}

/// Resolves and checks a parsed scenario. `base_dir` is the scenario file's folder (for
/// relative paths). On failure returns every problem found, with keys but no lines yet.
pub fn resolve(f: &ScenarioFile, base_dir: &Path) -> Result<Scenario, Vec<Problem>> {
    let mut ck = Checker {
        problems: Vec::new(),
    };
    let (start_date, merchant_count) = check_scalars(f, &mut ck);
    let (ecos, plats, wals) = entity_lists(f, &mut ck);
    let names = Names {
        eco: ecos.iter().map(|e| e.name.as_str()).collect(),
        plat: plats.iter().map(|e| e.name.as_str()).collect(),
        wal: wals.iter().map(|e| e.name.as_str()).collect(),
    };
    let share_sum = population_shares(&ecos, &mut ck);
    let wallets = resolve_wallets(f, &wals, &names, &mut ck);
    let platforms = resolve_platforms(f, &plats, &names, &wallets, &mut ck);
    let ecosystems = resolve_ecosystems(&ecos, share_sum, &names, &platforms, &mut ck);
    let social_names: Vec<&str> = platforms
        .iter()
        .filter(|p| p.social)
        .map(|p| p.name.as_str())
        .collect();
    let link_open = resolve_links(f, &names, &social_names, &platforms, &mut ck);
    let events = resolve_events(f, start_date, &names, &social_names, &platforms, &mut ck);
    let graph = resolve_graph(f, base_dir, &mut ck);
    limits(
        &mut ck,
        f,
        &plats,
        &wals,
        start_date,
        merchant_count,
        platforms.iter().filter(|p| p.commerce).count(),
    );
    if !ck.problems.is_empty() {
        in_default_lists(f, &mut ck.problems);
        return Err(ck.problems);
    }
    let p = &f.policy;
    Ok(Scenario {
        name: f.name.clone(),
        steps: f.steps,
        start_date,
        days_per_step: f.days_per_step,
        summary_last_steps: f.summary_last_steps.max(1),
        ecosystems,
        platforms,
        wallets,
        consumers: f.consumers.clone(),
        merchant_count: merchant_count as u32,
        merchants: f.merchants.clone(),
        links: f.links.clone(),
        revision: f.revision.clone(),
        tau: p.tau,
        token_penalty: p.token_penalty,
        link_open,
        events,
        graph,
    })
}

/// The names of a file's entity lists (defaults filled in), for lookups and suggestions.
struct Names<'a> {
    eco: Vec<&'a str>,
    plat: Vec<&'a str>,
    wal: Vec<&'a str>,
}

/// Checks the scalar settings (steps, dates, consumers, merchants, links, revision, policy);
/// returns the start date (days since 1970) and the merchant count.
fn check_scalars(f: &ScenarioFile, ck: &mut Checker) -> (i64, u64) {
    let c = &f.consumers;
    if f.steps == 0 || f.steps > 65_535 {
        ck.push(
            "steps",
            format!("{} steps; expected between 1 and 65535", f.steps),
            None,
        );
    }
    if f.replicates == 0 {
        ck.push("replicates", "0 replicates; expected at least 1", None);
    }
    if f.days_per_step == 0 {
        ck.push("days_per_step", "expected at least 1 day per step", None);
    }
    let start_date = match parse_date(&f.start_date) {
        Some(d) => d,
        None => {
            ck.push(
                "start_date",
                format!("`{}` is not a date; expected YYYY-MM-DD", f.start_date),
                Some("for example start_date = \"2021-01-01\"".into()),
            );
            0
        }
    };
    if c.count == 0 || c.count > u32::MAX as u64 - 1 {
        ck.push(
            "consumers.count",
            format!("{} consumers; expected between 1 and 4294967294", c.count),
            None,
        );
    }
    ck.nonneg("consumers.home_bias", c.home_bias);
    ck.finite("consumers.loyalty", c.loyalty);
    ck.nonneg("consumers.sigma_theta", c.sigma_theta);
    ck.positive("consumers.alpha_median", c.alpha_median);
    ck.nonneg("consumers.alpha_log_sd", c.alpha_log_sd);
    ck.prob("consumers.shop_prob", c.shop_prob);
    if let Some([a, b]) = c.shop_beta {
        ck.positive("consumers.shop_beta", a);
        ck.positive("consumers.shop_beta", b);
    }
    ck.finite("consumers.outside_utility", c.outside_utility);
    ck.prob("consumers.initial_multihoming", c.initial_multihoming);
    ck.prob("consumers.initial_app_share", c.initial_app_share);

    let m = &f.merchants;
    let merchant_count = m.count.unwrap_or((c.count / 10).max(1));
    if merchant_count == 0 || merchant_count > u32::MAX as u64 - 1 {
        ck.push(
            "merchants.count",
            format!("{merchant_count} merchants; expected between 1 and 4294967294"),
            None,
        );
    }
    ck.nonneg("merchants.sigma_q", m.sigma_q);
    ck.positive("merchants.price_median", m.price_median);
    ck.nonneg("merchants.price_log_sd", m.price_log_sd);
    if !(m.margin[0] > 0.0 && m.margin[0] <= m.margin[1] && m.margin[1] < 1.0) {
        ck.push(
            "merchants.margin",
            format!("[{}, {}] is not a margin range; expected 0 < lo ≤ hi < 1 so that unit cost is below price", m.margin[0], m.margin[1]),
            None,
        );
    }
    ck.prob("merchants.initial_multihoming", m.initial_multihoming);
    ck.positive("merchants.profit_scale", m.profit_scale);

    let l = &f.links;
    ck.nonneg("links.beta_link", l.beta_link);
    ck.prob("links.share_prob", l.share_prob);
    let w = &l.channel_weights;
    for (k, v) in [("dm", w.dm), ("group", w.group), ("feed", w.feed)] {
        ck.nonneg(&format!("links.channel_weights.{k}"), v);
    }
    if !(w.dm + w.group + w.feed > 0.0) {
        ck.push(
            "links.channel_weights",
            "all channel weights are 0; expected a positive sum",
            None,
        );
    }
    ck.prob("links.feed_view_prob", l.feed_view_prob);
    if l.inbox_capacity > 255 {
        ck.push(
            "links.inbox_capacity",
            format!("{}; expected at most 255", l.inbox_capacity),
            None,
        );
    }
    if l.group_size > 64 {
        ck.push(
            "links.group_size",
            format!(
                "{}; expected at most 64 recipients per group share",
                l.group_size
            ),
            None,
        );
    }
    if l.k_search > 1000 {
        ck.push(
            "links.k_search",
            format!("{}; expected at most 1000", l.k_search),
            None,
        );
    }

    let r = &f.revision;
    ck.prob("revision.rho", r.rho);
    ck.finite("revision.gamma_wallet", r.gamma_wallet);
    ck.finite("revision.gamma_app", r.gamma_app);
    ck.nonneg("revision.switch_cost", r.switch_cost);
    ck.prob("revision.primary_switch", r.primary_switch);
    ck.nonneg("revision.wallet_scale", r.wallet_scale);

    let p = &f.policy;
    ck.prob("policy.tau", p.tau);
    ck.nonneg("policy.token_penalty", p.token_penalty);
    (start_date, merchant_count)
}

/// The file's ecosystems, platforms and wallets, or the §7 world's where a list is absent,
/// with their counts and names checked.
fn entity_lists(
    f: &ScenarioFile,
    ck: &mut Checker,
) -> (Vec<Ecosystem>, Vec<Platform>, Vec<Wallet>) {
    // Entities: the §7 world when a list is absent.
    let ecos = if f.ecosystems.is_empty() {
        default_ecosystems()
    } else {
        f.ecosystems.clone()
    };
    let plats = if f.platforms.is_empty() {
        default_platforms()
    } else {
        f.platforms.clone()
    };
    let wals = if f.wallets.is_empty() {
        default_wallets()
    } else {
        f.wallets.clone()
    };
    if ecos.len() > 16 {
        ck.push(
            "ecosystems",
            format!("{} ecosystems; at most 16 are supported", ecos.len()),
            None,
        );
    }
    if plats.len() > 64 {
        ck.push(
            "platforms",
            format!("{} platforms; at most 64 are supported", plats.len()),
            None,
        );
    }
    if wals.len() > 16 {
        ck.push(
            "wallets",
            format!("{} wallets; at most 16 are supported", wals.len()),
            None,
        );
    }
    for (list, names) in [
        (
            "ecosystems",
            ecos.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ),
        ("platforms", plats.iter().map(|e| e.name.as_str()).collect()),
        ("wallets", wals.iter().map(|e| e.name.as_str()).collect()),
    ] {
        for (i, n) in names.iter().enumerate() {
            if n.is_empty()
                || n.contains(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '-'))
            {
                ck.push(
                    format!("{list}[{i}].name"),
                    format!("`{n}` is not a valid name; expected letters, digits, `_` or `-`"),
                    None,
                );
            } else if names[..i].contains(n) {
                ck.push(
                    format!("{list}[{i}].name"),
                    format!("`{n}` is defined twice; expected each name once in `{list}`"),
                    Some("rename one of them".into()),
                );
            }
        }
    }
    (ecos, plats, wals)
}

/// Checks the population shares; returns their sum (of the non-negative ones).
fn population_shares(ecos: &[Ecosystem], ck: &mut Checker) -> f64 {
    let mut share_sum = 0.0;
    for (i, e) in ecos.iter().enumerate() {
        ck.nonneg(
            &format!("ecosystems[{i}].population_share"),
            e.population_share,
        );
        share_sum += e.population_share.max(0.0);
    }
    if !(share_sum > 0.0) {
        ck.push(
            "ecosystems",
            "population shares sum to 0; expected a positive sum",
            None,
        );
    }
    share_sum
}

/// The wallets, with owners looked up and a missing γ taken from `revision.gamma_wallet`.
fn resolve_wallets(
    f: &ScenarioFile,
    wals: &[Wallet],
    names: &Names,
    ck: &mut Checker,
) -> Vec<WalletSpec> {
    let r = &f.revision;
    let mut wallets = Vec::new();
    for (i, wl) in wals.iter().enumerate() {
        let owner = wl
            .owner
            .as_ref()
            .and_then(|o| ck.lookup(&format!("wallets[{i}].owner"), "ecosystem", o, &names.eco));
        ck.rate(&format!("wallets[{i}].fee"), wl.fee);
        ck.finite(&format!("wallets[{i}].adoption_cost"), wl.adoption_cost);
        ck.finite(&format!("wallets[{i}].convenience"), wl.convenience);
        let gamma = wl.gamma.unwrap_or(r.gamma_wallet);
        ck.finite(&format!("wallets[{i}].gamma"), gamma);
        wallets.push(WalletSpec {
            name: wl.name.clone(),
            owner,
            fee: wl.fee,
            adoption_cost: wl.adoption_cost,
            convenience: wl.convenience,
            gamma,
        });
    }
    wallets
}

/// The platforms: owners, roles, accepted wallets (the `policy.wallets` preset where a
/// platform lists none) and checkout defaults.
fn resolve_platforms(
    f: &ScenarioFile,
    plats: &[Platform],
    names: &Names,
    wallets: &[WalletSpec],
    ck: &mut Checker,
) -> Vec<PlatformSpec> {
    let p = &f.policy;
    let mut platforms = Vec::new();
    for (i, pl) in plats.iter().enumerate() {
        let key = |k: &str| format!("platforms[{i}].{k}");
        let owner = ck
            .lookup(&key("owner"), "ecosystem", &pl.owner, &names.eco)
            .unwrap_or(0);
        let mut social = false;
        let mut commerce = false;
        for role in &pl.roles {
            match role.as_str() {
                "social" => social = true,
                "commerce" => commerce = true,
                other => ck.push(
                    key("roles"),
                    format!("unknown role `{other}`; expected `social` or `commerce`"),
                    Some(suggest(other, ["social", "commerce"])),
                ),
            }
        }
        if pl.roles.is_empty() {
            ck.push(
                key("roles"),
                "no roles; expected at least one of `social`, `commerce`",
                None,
            );
        }
        ck.rate(&key("commission"), pl.commission);
        ck.finite(&key("appeal"), pl.appeal);
        ck.finite(&key("join_cost"), pl.join_cost);
        ck.nonneg(&key("listing_fee"), pl.listing_fee);
        ck.nonneg(&key("reach"), pl.reach);
        let accepts = match &pl.accepts {
            Some(list) => {
                let mut bits = 0u16;
                for wname in list {
                    if let Some(wi) = ck.lookup(&key("accepts"), "wallet", wname, &names.wal) {
                        bits |= 1u16.checked_shl(wi as u32).unwrap_or(0);
                    }
                }
                bits
            }
            None => match WalletPreset::parse(&p.wallets) {
                Some(WalletPreset::Interoperable) => {
                    (1u32 << wallets.len().min(16)).wrapping_sub(1) as u16
                }
                _ => wallets
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| w.owner.is_none() || w.owner == Some(owner))
                    .fold(0u16, |b, (wi, _)| {
                        b | 1u16.checked_shl(wi as u32).unwrap_or(0)
                    }),
            },
        };
        ck.prob(&key("default_pull"), pl.default_pull);
        let default_wallet = match pl.default_wallet.as_deref() {
            None | Some("none") => None,
            Some(wname) => {
                let wi = ck.lookup(&key("default_wallet"), "wallet", wname, &names.wal);
                if !commerce {
                    ck.push(
                        key("default_wallet"),
                        format!("`{}` has no commerce role, so it has no checkout", pl.name),
                        Some("set default_wallet on a commerce platform only".into()),
                    );
                } else if let Some(w) = wi.filter(|&w| accepts >> w & 1 == 0) {
                    ck.push(
                        key("default_wallet"),
                        format!(
                            "`{wname}` is not accepted by `{}` at the start, so it could not be pre-selected",
                            pl.name
                        ),
                        Some(format!(
                            "add `{}` to `accepts`, or set the default with a `default_wallet` event when it is accepted",
                            names.wal[w]
                        )),
                    );
                }
                wi
            }
        };
        platforms.push(PlatformSpec {
            name: pl.name.clone(),
            owner,
            social,
            commerce,
            commission: pl.commission,
            appeal: pl.appeal,
            join_cost: pl.join_cost,
            listing_fee: pl.listing_fee,
            reach: pl.reach,
            exclusive: pl.exclusive,
            accepts,
            default_wallet,
            default_pull: pl.default_pull,
        });
    }
    if WalletPreset::parse(&p.wallets).is_none() {
        ck.push(
            "policy.wallets",
            format!(
                "unknown preset `{}`; expected `house` or `interoperable`",
                p.wallets
            ),
            Some(suggest(
                &p.wallets,
                WalletPreset::ALL.map(WalletPreset::as_str),
            )),
        );
    }
    if !platforms.iter().any(|p| p.commerce) {
        ck.push(
            "platforms",
            "no commerce platform; expected at least one platform with role `commerce`",
            None,
        );
    }
    if !platforms.iter().any(|p| p.social && p.reach > 0.0) {
        ck.push(
            "platforms",
            "no social platform with reach > 0; every consumer needs a social home",
            Some("give a platform roles = [\"social\"] and reach = 1".into()),
        );
    }
    platforms
}

/// The ecosystems: normalised population shares and main marketplaces (one the ecosystem
/// owns).
fn resolve_ecosystems(
    ecos: &[Ecosystem],
    share_sum: f64,
    names: &Names,
    platforms: &[PlatformSpec],
    ck: &mut Checker,
) -> Vec<EcosystemSpec> {
    let commerce_names: Vec<&str> = platforms
        .iter()
        .filter(|p| p.commerce)
        .map(|p| p.name.as_str())
        .collect();

    let mut ecosystems = Vec::new();
    for (i, e) in ecos.iter().enumerate() {
        let main = match &e.main_marketplace {
            Some(name) => {
                let idx = ck.lookup(
                    &format!("ecosystems[{i}].main_marketplace"),
                    "commerce platform",
                    name,
                    &commerce_names,
                );
                idx.and_then(|ci| names.plat.iter().position(|n| *n == commerce_names[ci]))
                    .filter(|&pi| {
                        let ok = platforms[pi].owner == i;
                        if !ok {
                            let own: Vec<String> = platforms
                                .iter()
                                .filter(|p| p.commerce && p.owner == i)
                                .map(|p| format!("`{}`", p.name))
                                .collect();
                            ck.push(
                                format!("ecosystems[{i}].main_marketplace"),
                                format!(
                                    "`{name}` is owned by `{}`, not by `{}`; expected a commerce platform that `{}` owns",
                                    names.eco[platforms[pi].owner], e.name, e.name
                                ),
                                Some(if own.is_empty() {
                                    format!("`{}` owns no commerce platform; leave main_marketplace out", e.name)
                                } else {
                                    format!("`{}` owns {}", e.name, own.join(", "))
                                }),
                            );
                        }
                        ok
                    })
            }
            None => platforms.iter().position(|p| p.commerce && p.owner == i),
        };
        ecosystems.push(EcosystemSpec {
            name: e.name.clone(),
            share: e.population_share.max(0.0) / share_sum.max(f64::MIN_POSITIVE),
            main_marketplace: main,
        });
    }
    ecosystems
}

/// The initial link rules: the `policy.links` preset, then `[[link_rules]]` in file order.
fn resolve_links(
    f: &ScenarioFile,
    names: &Names,
    social_names: &[&str],
    platforms: &[PlatformSpec],
    ck: &mut Checker,
) -> LinkRules {
    let p = &f.policy;
    // Link rules: preset, then explicit rules in order.
    let preset = LinkPreset::parse(&p.links);
    if preset.is_none() {
        ck.push(
            "policy.links",
            format!(
                "unknown preset `{}`; expected `walled`, `dm_open` or `open`",
                p.links
            ),
            Some(suggest(&p.links, LinkPreset::ALL.map(LinkPreset::as_str))),
        );
    }
    let others_open = |ch: usize| preset.is_some_and(|x| x.others_open(ch));
    let mut link_open = LinkRules::preset(platforms, names.eco.len(), others_open);
    for (i, rule) in f.link_rules.iter().enumerate() {
        let key = format!("link_rules[{i}]");
        if let Some(action) = link_action(
            ck,
            &key,
            Some(&rule.social),
            Some(&rule.channel),
            Some(&rule.target),
            Some(&rule.state),
            social_names,
            &names.plat,
            &names.eco,
        ) {
            link_open.apply(platforms, &action);
        }
    }
    link_open
}

/// The events, with steps of announcement and effect (dates turned into steps, pending
/// approvals), sorted by the step of effect (stable in file order).
fn resolve_events(
    f: &ScenarioFile,
    start_date: i64,
    names: &Names,
    social_names: &[&str],
    platforms: &[PlatformSpec],
    ck: &mut Checker,
) -> Vec<EventSpec> {
    // Events.
    let mut events = Vec::new();
    for (i, ev) in f.events.iter().enumerate() {
        let key = |k: &str| format!("events[{i}].{k}");
        let announced = match (ev.step, &ev.date) {
            (Some(s), None) => Some(s),
            (None, Some(d)) => match parse_date(d) {
                Some(days) => {
                    date_to_step(days, start_date, f.days_per_step.max(1), ck, &key("date"))
                }
                None => {
                    ck.push(
                        key("date"),
                        format!("`{d}` is not a date; expected YYYY-MM-DD"),
                        None,
                    );
                    None
                }
            },
            (Some(_), Some(_)) => {
                ck.push(
                    key("step"),
                    "both `step` and `date` given; expected one of them",
                    None,
                );
                None
            }
            (None, None) => {
                ck.push(
                    format!("events[{i}]"),
                    "no `step` or `date`; expected one of them",
                    Some("add step = 10 or date = \"2021-09-17\"".into()),
                );
                None
            }
        };
        let mut approver = None;
        // The key that sets the step of effect, for messages about it.
        let announce_key = key(if ev.step.is_none() && ev.date.is_some() {
            "date"
        } else {
            "step"
        });
        let mut effective_key = announce_key.clone();
        let effective = match (&ev.pending, announced) {
            (Some(pd), Some(a)) => {
                approver = pd
                    .approver
                    .as_ref()
                    .and_then(|n| ck.lookup(&key("pending.approver"), "ecosystem", n, &names.eco));
                effective_key = key(match (pd.delay, pd.effective_step) {
                    (Some(_), _) => "pending.delay",
                    (None, Some(_)) => "pending.effective_step",
                    (None, None) => "pending.effective_date",
                });
                match (pd.delay, pd.effective_step, &pd.effective_date) {
                    (Some(d), None, None) => Some(a.saturating_add(d)),
                    (None, Some(s), None) => Some(s),
                    (None, None, Some(d)) => match parse_date(d) {
                        Some(days) => date_to_step(
                            days,
                            start_date,
                            f.days_per_step.max(1),
                            ck,
                            &key("pending.effective_date"),
                        ),
                        None => {
                            ck.push(
                                key("pending.effective_date"),
                                format!("`{d}` is not a date; expected YYYY-MM-DD"),
                                None,
                            );
                            None
                        }
                    },
                    _ => {
                        let given: Vec<String> = [
                            ("delay", pd.delay.is_some()),
                            ("effective_step", pd.effective_step.is_some()),
                            ("effective_date", pd.effective_date.is_some()),
                        ]
                        .iter()
                        .filter(|(_, set)| *set)
                        .map(|(k, _)| format!("`{k}`"))
                        .collect();
                        let what = if given.is_empty() {
                            "none given".to_string()
                        } else {
                            format!("{} given", given.join(" and "))
                        };
                        ck.push(
                            key("pending"),
                            format!("{what}; expected exactly one of `delay`, `effective_step`, `effective_date`"),
                            Some("for example pending = { approver = \"tencent\", delay = 30 }".into()),
                        );
                        None
                    }
                }
            }
            (None, a) => a,
            (_, None) => None,
        };
        if let (Some(a), Some(e)) = (announced, effective) {
            if e < a {
                ck.push(effective_key.clone(), format!("takes effect at step {e}, before its announcement at step {a}; expected a step ≥ {a}"), None);
            }
            if e >= f.steps {
                let k = if a >= f.steps {
                    announce_key
                } else {
                    effective_key
                };
                ck.push(
                    k,
                    format!(
                        "takes effect at step {e}, after the last step {}",
                        f.steps.saturating_sub(1)
                    ),
                    Some(format!(
                        "increase `steps` above {e} or move the event earlier"
                    )),
                );
            }
        }
        let action = event_action(
            ck,
            i,
            ev,
            social_names,
            &names.plat,
            &names.eco,
            &names.wal,
            platforms,
        );
        if let (Some(a), Some(e), Some(action)) = (announced, effective, action) {
            events.push(EventSpec {
                announced: a,
                effective: e,
                label: ev.label.clone().unwrap_or_else(|| default_label(ev)),
                approver,
                action,
            });
        }
    }
    events.sort_by_key(|e| e.effective);
    events
}

/// The social graph's generator and its parameters (an edge list's file is checked to exist;
/// it is read later, once per plan).
fn resolve_graph(f: &ScenarioFile, base_dir: &Path, ck: &mut Checker) -> GraphSpec {
    let (c, l) = (&f.consumers, &f.links);
    let g = &f.graph;
    let graph = match g.generator.as_str() {
        "communities" => {
            ck.positive("graph.mean_degree", g.mean_degree);
            if g.community_size < 2 {
                ck.push(
                    "graph.community_size",
                    format!("{}; expected at least 2", g.community_size),
                    None,
                );
            }
            ck.prob("graph.inside_share", g.inside_share);
            ck.prob("graph.homophily", g.homophily);
            if g.mean_degree * g.inside_share > (g.community_size.max(2) - 1) as f64 {
                ck.push(
                    "graph.mean_degree",
                    format!(
                        "{} ties inside a community of {} are impossible",
                        g.mean_degree * g.inside_share,
                        g.community_size
                    ),
                    Some("raise community_size or lower inside_share".into()),
                );
            }
            GraphSpec::Communities {
                mean_degree: g.mean_degree,
                size: g.community_size.max(2),
                inside_share: g.inside_share,
                homophily: g.homophily,
            }
        }
        "small_world" => {
            let d = g.mean_degree.round();
            if !(d >= 2.0 && (d as u64).is_multiple_of(2) && (g.mean_degree - d).abs() < 1e-9) {
                let lo = ((g.mean_degree / 2.0).floor() * 2.0).max(2.0);
                ck.push(
                    "graph.mean_degree",
                    format!("{} is not an even whole number ≥ 2; expected an even whole mean degree ≥ 2 (a ring lattice has d/2 neighbours on each side)", g.mean_degree),
                    g.mean_degree.is_finite().then(|| format!("try {lo} or {}", lo + 2.0)),
                );
            }
            ck.prob("graph.rewire", g.rewire);
            GraphSpec::SmallWorld {
                mean_degree: d.max(2.0) as u32,
                rewire: g.rewire,
            }
        }
        "edge_list" => {
            if g.path.is_empty() {
                ck.push(
                    "graph.path",
                    "missing; the edge_list generator needs `path` (a CSV or Parquet file of u32 pairs)",
                    Some("add path = \"edges.csv\" (relative to the scenario file)".into()),
                );
            }
            let path = base_dir.join(&g.path);
            if !g.path.is_empty() && !path.is_file() {
                let what = match (std::fs::symlink_metadata(&path), std::fs::metadata(&path)) {
                    (Err(_), _) => format!("file `{}` not found", path.display()),
                    (Ok(_), Err(_)) => {
                        format!("`{}` is a symbolic link to a missing file", path.display())
                    }
                    (_, Ok(m)) => format!(
                        "`{}` is {}, not a file",
                        path.display(),
                        super::edges::file_kind(&m)
                    ),
                };
                ck.push(
                    "graph.path",
                    what,
                    Some("paths are relative to the scenario file".into()),
                );
            }
            GraphSpec::EdgeList {
                path,
                edges: Default::default(),
            }
        }
        other => {
            ck.push("graph.generator", format!("unknown generator `{other}`; expected `communities`, `small_world` or `edge_list`"), Some(suggest(other, ["communities", "small_world", "edge_list"])));
            GraphSpec::SmallWorld {
                mean_degree: 2,
                rewire: 0.0,
            }
        }
    };
    let d = match &graph {
        GraphSpec::SmallWorld { mean_degree, .. } => *mean_degree as f64,
        GraphSpec::Communities { mean_degree, .. } => *mean_degree,
        GraphSpec::EdgeList { .. } => 0.0,
    };
    if c.count > 0 && d >= c.count as f64 {
        ck.push(
            "graph.mean_degree",
            format!("mean degree {d} needs more than {} consumers", c.count),
            None,
        );
    }
    if l.inbox_ttl == 0 {
        ck.push(
            "links.inbox_ttl",
            "0; expected at least 1 step (a link must live until the next step)",
            None,
        );
    }
    graph
}

/// A problem inside a list the file leaves out is a clash between the defaults and the
/// lists the file does give (e.g. its own ecosystems with the default wallets): say so.
fn in_default_lists(f: &ScenarioFile, problems: &mut [Problem]) {
    for p in problems.iter_mut() {
        for (list, absent) in [
            ("ecosystems", f.ecosystems.is_empty()),
            ("platforms", f.platforms.is_empty()),
            ("wallets", f.wallets.is_empty()),
        ] {
            if absent && p.key.starts_with(&format!("{list}[")) {
                p.message = format!("in the default {list}: {}", p.message);
                p.suggestion = Some(format!(
                    "the file defines no [[{list}]], so the defaults of MODEL.md §7 apply; define [[{list}]] to match your other lists"
                ));
            }
        }
    }
}

/// Largest |value| of a utility-scale parameter (utils). Utilities enter the logit choice
/// as `exp(V)`: with every term bounded so, the largest sum stays far below `exp`'s overflow
/// at 709, so no weight, surplus or welfare can become inf or NaN (docs/MODEL.md, "Bounds").
pub const MAX_UTILITY: f64 = 40.0;
/// Largest standard deviation of quality and taste shocks (utils).
pub const MAX_SHOCK_SD: f64 = 10.0;
/// Largest log-s.d. of the lognormal price and price-sensitivity draws.
pub const MAX_LOG_SD: f64 = 3.0;
/// Bounds of `alpha_median` (utility per yuan).
pub const ALPHA_RANGE: (f64, f64) = (1e-6, 1e3);
/// Largest weight (reach, population share, channel weight, home bias, Beta parameter):
/// their sums must stay finite and their ratios meaningful.
pub const MAX_WEIGHT: f64 = 1e6;
/// Largest money value in yuan (listing fees, profit scale).
pub const MAX_YUAN: f64 = 1e9;
/// Largest |standard normal| the run's streams can draw (Box–Muller from a 53-bit uniform
/// in (0, 1) gives at most √(−2 ln 2⁻⁵⁴) ≈ 8.65): bounds the tails of lognormal draws.
pub const MAX_Z: f64 = 8.7;
/// Last date a run may reach (Parquet dates and a sane calendar).
pub const LAST_DATE: &str = "9999-12-31";

/// Range checks of values that are narrowed to a smaller type (prices in u32 fen, steps in
/// u16, listing indices in u32) and sane bounds of finite values that would otherwise make
/// utilities, weights or welfare overflow. Every value is checked here, at resolve time.
#[allow(clippy::too_many_arguments)]
fn limits(
    ck: &mut Checker,
    f: &ScenarioFile,
    plats: &[Platform],
    wals: &[Wallet],
    start_date: i64,
    merchant_count: u64,
    n_commerce: usize,
) {
    let within = |ck: &mut Checker, key: &str, v: f64, lo: f64, hi: f64, unit: &str| {
        // NaN and infinities are reported by the other checks.
        if v.is_finite() && !(lo..=hi).contains(&v) {
            ck.push(
                key,
                format!("{v} is outside the supported range [{lo}, {hi}] {unit}"),
                Some(
                    "see \"Bounds\" in docs/MODEL.md: beyond them utilities or money overflow"
                        .into(),
                ),
            );
        }
    };
    let u = MAX_UTILITY;
    let c = &f.consumers;
    // Dates: the last step's date must be a real calendar date.
    let last_day = super::calendar::parse_date(LAST_DATE).unwrap_or(i64::MAX);
    let span = (f.steps.max(1) as i64 - 1) * f.days_per_step as i64;
    if f.days_per_step > 0 && start_date.saturating_add(span) > last_day {
        ck.push(
            "days_per_step",
            format!(
                "{} days per step over {} steps reach past {LAST_DATE}",
                f.days_per_step, f.steps
            ),
            Some(format!(
                "expected at most {} days per step from this start_date",
                ((last_day - start_date) / (f.steps.max(2) as i64 - 1)).max(0)
            )),
        );
    }
    for (k, v) in [
        ("consumers.loyalty", c.loyalty),
        ("consumers.outside_utility", c.outside_utility),
        ("links.beta_link", f.links.beta_link),
        ("revision.gamma_wallet", f.revision.gamma_wallet),
        ("revision.gamma_app", f.revision.gamma_app),
        ("revision.switch_cost", f.revision.switch_cost),
        ("policy.token_penalty", f.policy.token_penalty),
    ] {
        within(ck, k, v, -u, u, "utils");
    }
    within(
        ck,
        "consumers.sigma_theta",
        c.sigma_theta,
        0.0,
        MAX_SHOCK_SD,
        "utils",
    );
    within(
        ck,
        "merchants.sigma_q",
        f.merchants.sigma_q,
        0.0,
        MAX_SHOCK_SD,
        "utils",
    );
    within(
        ck,
        "consumers.alpha_median",
        c.alpha_median,
        ALPHA_RANGE.0,
        ALPHA_RANGE.1,
        "utils per yuan",
    );
    within(
        ck,
        "consumers.alpha_log_sd",
        c.alpha_log_sd,
        0.0,
        MAX_LOG_SD,
        "",
    );
    within(
        ck,
        "merchants.price_log_sd",
        f.merchants.price_log_sd,
        0.0,
        MAX_LOG_SD,
        "",
    );
    within(ck, "consumers.home_bias", c.home_bias, 0.0, MAX_WEIGHT, "");
    if let Some([a, b]) = c.shop_beta {
        within(ck, "consumers.shop_beta", a, 0.0, MAX_WEIGHT, "");
        within(ck, "consumers.shop_beta", b, 0.0, MAX_WEIGHT, "");
    }
    within(
        ck,
        "merchants.profit_scale",
        f.merchants.profit_scale,
        1e-6,
        MAX_YUAN,
        "yuan",
    );
    let w = &f.links.channel_weights;
    for (k, v) in [("dm", w.dm), ("group", w.group), ("feed", w.feed)] {
        within(
            ck,
            &format!("links.channel_weights.{k}"),
            v,
            0.0,
            MAX_WEIGHT,
            "",
        );
    }
    // Prices are stored in u32 fen: the largest draw, median·e^(MAX_Z·sd), must fit.
    let m = &f.merchants;
    let max_price = u32::MAX as f64 / 100.0;
    if m.price_median.is_finite() && m.price_log_sd.is_finite() && m.price_log_sd >= 0.0 {
        let top = m.price_median * (MAX_Z * m.price_log_sd.min(MAX_LOG_SD)).exp();
        if m.price_median > 0.0 && top > max_price {
            ck.push(
                "merchants.price_median",
                format!(
                    "{} with price_log_sd {} draws prices up to {top:.0} yuan; prices are stored in fen as 32-bit integers, so the largest draw must stay below {max_price:.2} yuan",
                    m.price_median, m.price_log_sd
                ),
                Some(format!(
                    "expected price_median ≤ {:.2} at this price_log_sd",
                    max_price / (MAX_Z * m.price_log_sd.min(MAX_LOG_SD)).exp()
                )),
            );
        }
    }
    // Inbox arrival steps are u16 and `arrived + ttl` must not wrap.
    if f.links.inbox_ttl > 65_535 {
        ck.push(
            "links.inbox_ttl",
            format!("{} steps; expected at most 65535", f.links.inbox_ttl),
            None,
        );
    }
    // Listing-window indices (merchant × commerce platform) are u32.
    if merchant_count.saturating_mul(n_commerce as u64) > u32::MAX as u64 {
        ck.push(
            "merchants.count",
            format!("{merchant_count} merchants × {n_commerce} commerce platforms exceed 2^32 listing slots"),
            Some("use fewer merchants or commerce platforms".into()),
        );
    }
    for (i, p) in plats.iter().enumerate() {
        within(
            ck,
            &format!("platforms[{i}].appeal"),
            p.appeal,
            -u,
            u,
            "utils",
        );
        within(
            ck,
            &format!("platforms[{i}].join_cost"),
            p.join_cost,
            -u,
            u,
            "utils",
        );
        within(
            ck,
            &format!("platforms[{i}].reach"),
            p.reach,
            0.0,
            MAX_WEIGHT,
            "",
        );
        within(
            ck,
            &format!("platforms[{i}].listing_fee"),
            p.listing_fee,
            0.0,
            MAX_YUAN,
            "yuan",
        );
    }
    for (i, wl) in wals.iter().enumerate() {
        within(
            ck,
            &format!("wallets[{i}].adoption_cost"),
            wl.adoption_cost,
            -u,
            u,
            "utils",
        );
        within(
            ck,
            &format!("wallets[{i}].convenience"),
            wl.convenience,
            -u,
            u,
            "utils",
        );
        if let Some(g) = wl.gamma {
            within(ck, &format!("wallets[{i}].gamma"), g, -u, u, "utils");
        }
    }
    for (i, e) in f.ecosystems.iter().enumerate() {
        within(
            ck,
            &format!("ecosystems[{i}].population_share"),
            e.population_share,
            0.0,
            MAX_WEIGHT,
            "",
        );
    }
    for (i, ev) in f.events.iter().enumerate() {
        let Some(v) = ev.value else { continue };
        match ev.kind.as_str() {
            "join_cost" | "token_penalty" => {
                within(ck, &format!("events[{i}].value"), v, -u, u, "utils")
            }
            "listing_fee" => within(ck, &format!("events[{i}].value"), v, 0.0, MAX_YUAN, "yuan"),
            _ => {}
        }
    }
}

fn date_to_step(days: i64, start: i64, per: u32, ck: &mut Checker, key: &str) -> Option<u32> {
    if days < start {
        ck.push(
            key,
            format!(
                "{} is before start_date {}; expected a date on or after it",
                super::calendar::format_date(days),
                super::calendar::format_date(start)
            ),
            None,
        );
        return None;
    }
    Some(((days - start) / per as i64) as u32)
}

fn default_label(ev: &Event) -> String {
    let parts: Vec<&str> = [
        &ev.social,
        &ev.channel,
        &ev.target,
        &ev.state,
        &ev.platform,
        &ev.wallet,
    ]
    .iter()
    .filter_map(|o| o.as_deref())
    .collect();
    format!("{} {}", ev.kind, parts.join(" "))
}

#[allow(clippy::too_many_arguments)]
fn link_action(
    ck: &mut Checker,
    key: &str,
    social: Option<&String>,
    channel: Option<&String>,
    target: Option<&String>,
    state: Option<&String>,
    social_names: &[&str],
    plat_names: &[&str],
    eco_names: &[&str],
) -> Option<Action> {
    let social = match social.map(String::as_str) {
        None => {
            ck.push(
                format!("{key}.social"),
                "missing; expected a social platform name or `*`",
                None,
            );
            return None;
        }
        Some("*") => None,
        Some(n) => {
            let si = ck.lookup(&format!("{key}.social"), "social platform", n, social_names)?;
            plat_names.iter().position(|p| *p == social_names[si])
        }
    };
    let channel = match channel.map(String::as_str).unwrap_or("*") {
        "*" => None,
        n => Some(ck.lookup_in(
            &format!("{key}.channel"),
            "channel",
            n,
            &CHANNELS,
            "`dm`, `group`, `feed` or `*`",
        )?),
    };
    let target = match target.map(String::as_str).unwrap_or("*") {
        "*" => None,
        n => Some(ck.lookup(&format!("{key}.target"), "ecosystem", n, eco_names)?),
    };
    let open = match state.map(String::as_str) {
        Some("open") => true,
        Some("blocked") => false,
        Some(other) => {
            ck.push(
                format!("{key}.state"),
                format!("unknown state `{other}`; expected `open` or `blocked`"),
                Some(suggest(other, ["open", "blocked"])),
            );
            return None;
        }
        None => {
            ck.push(
                format!("{key}.state"),
                "missing; expected `open` or `blocked`",
                None,
            );
            return None;
        }
    };
    Some(Action::Link {
        social,
        channel,
        target,
        open,
    })
}

const EVENT_KINDS: [&str; 14] = [
    "link",
    "accept",
    "reject",
    "tau",
    "token_penalty",
    "commission",
    "listing_fee",
    "join_cost",
    "wallet_fee",
    "exclusive",
    "default_wallet",
    "default_pull",
    "primary_switch",
    "wallet_scale",
];

#[allow(clippy::too_many_arguments)]
fn event_action(
    ck: &mut Checker,
    i: usize,
    ev: &Event,
    social_names: &[&str],
    plat_names: &[&str],
    eco_names: &[&str],
    wal_names: &[&str],
    platforms: &[PlatformSpec],
) -> Option<Action> {
    let key = |k: &str| format!("events[{i}].{k}");
    let value = |ck: &mut Checker| -> Option<f64> {
        match ev.value {
            Some(v) if v.is_finite() => Some(v),
            Some(v) => {
                ck.push(key("value"), format!("{v} is not a finite number"), None);
                None
            }
            None => {
                ck.push(
                    key("value"),
                    format!("missing; a `{}` event needs a value", ev.kind),
                    None,
                );
                None
            }
        }
    };
    let platform = |ck: &mut Checker, commerce_only: bool| -> Option<usize> {
        let Some(name) = &ev.platform else {
            ck.push(
                key("platform"),
                format!("missing; a `{}` event needs a platform", ev.kind),
                None,
            );
            return None;
        };
        let pi = ck.lookup(&key("platform"), "platform", name, plat_names)?;
        if commerce_only && !platforms[pi].commerce {
            ck.push(
                key("platform"),
                format!("`{name}` is not a commerce platform"),
                None,
            );
            return None;
        }
        Some(pi)
    };
    let wallet = |ck: &mut Checker| -> Option<usize> {
        let Some(name) = &ev.wallet else {
            ck.push(
                key("wallet"),
                format!("missing; a `{}` event needs a wallet", ev.kind),
                None,
            );
            return None;
        };
        ck.lookup(&key("wallet"), "wallet", name, wal_names)
    };
    match ev.kind.as_str() {
        "link" => link_action(
            ck,
            &format!("events[{i}]"),
            ev.social.as_ref(),
            ev.channel.as_ref(),
            ev.target.as_ref(),
            ev.state.as_ref(),
            social_names,
            plat_names,
            eco_names,
        ),
        "accept" | "reject" => {
            let p = platform(ck, true);
            let w = wallet(ck);
            Some(Action::Accept {
                platform: p?,
                wallet: w?,
                accept: ev.kind == "accept",
            })
        }
        "tau" => {
            let v = value(ck)?;
            ck.prob(&key("value"), v);
            Some(Action::Tau(v))
        }
        "token_penalty" => {
            let v = value(ck)?;
            ck.nonneg(&key("value"), v);
            Some(Action::TokenPenalty(v))
        }
        "commission" => {
            let p = platform(ck, true);
            let v = value(ck)?;
            ck.rate(&key("value"), v);
            Some(Action::Commission(p?, v))
        }
        "listing_fee" => {
            let p = platform(ck, true);
            let v = value(ck)?;
            ck.nonneg(&key("value"), v);
            Some(Action::ListingFee(p?, v))
        }
        "join_cost" => {
            let p = platform(ck, true);
            let v = value(ck)?;
            Some(Action::JoinCost(p?, v))
        }
        "wallet_fee" => {
            let w = wallet(ck);
            let v = value(ck)?;
            ck.rate(&key("value"), v);
            Some(Action::WalletFee(w?, v))
        }
        "exclusive" => {
            let p = platform(ck, true);
            let v = value(ck)?;
            Some(Action::Exclusive(p?, v != 0.0))
        }
        "default_wallet" => {
            let p = platform(ck, true);
            let w = match ev.wallet.as_deref() {
                Some("none") => Some(None),
                Some(_) => wallet(ck).map(Some),
                None => {
                    ck.push(
                        key("wallet"),
                        "missing; a `default_wallet` event needs a wallet, or `\"none\"` to clear the default",
                        None,
                    );
                    None
                }
            };
            Some(Action::DefaultWallet(p?, w?))
        }
        "default_pull" => {
            let p = platform(ck, true);
            let v = value(ck)?;
            ck.prob(&key("value"), v);
            Some(Action::DefaultPull(p?, v))
        }
        "primary_switch" => {
            let v = value(ck)?;
            ck.prob(&key("value"), v);
            Some(Action::PrimarySwitch(v))
        }
        "wallet_scale" => {
            let v = value(ck)?;
            ck.nonneg(&key("value"), v);
            Some(Action::WalletScale(v))
        }
        other => {
            ck.push(
                key("kind"),
                format!(
                    "unknown event kind `{other}`; expected one of {}",
                    EVENT_KINDS.join(", ")
                ),
                Some(suggest(other, EVENT_KINDS)),
            );
            None
        }
    }
}
