//! The scenario file format: every parameter of the reference model, with the defaults of
//! MODEL.md §7 wherever the file is silent. Names here are the TOML keys.

use serde::{Deserialize, Serialize};

/// A whole scenario file as written (names, not indices). See `resolve` for the checked form.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScenarioFile {
    /// Scenario name, used in outputs.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Master seed; each run's seed is derived from it and (point, replicate).
    pub seed: u64,
    /// Number of steps per run.
    pub steps: u32,
    /// Replicates per sweep point (a `[sweep]` value overrides it).
    pub replicates: u32,
    /// Calendar date of step 0, `YYYY-MM-DD`; events may then be given by date.
    pub start_date: String,
    /// Days per step.
    pub days_per_step: u32,
    /// Summary statistics average each metric over the last N steps of a run.
    pub summary_last_steps: u32,
    /// Population.
    pub consumers: Consumers,
    /// Merchants.
    pub merchants: Merchants,
    /// Search, sharing and inbox.
    pub links: Links,
    /// Consumer wallet and app revision.
    pub revision: Revision,
    /// Global policy parameters and presets.
    pub policy: Policy,
    /// Social graph.
    pub graph: Graph,
    /// Ecosystems (empty: the §7 defaults).
    pub ecosystems: Vec<Ecosystem>,
    /// Platforms (empty: the §7 defaults).
    pub platforms: Vec<Platform>,
    /// Wallets (empty: the §7 defaults).
    pub wallets: Vec<Wallet>,
    /// Initial link rules, applied in order after the `policy.links` preset.
    pub link_rules: Vec<LinkRule>,
    /// Scheduled policy events.
    pub events: Vec<Event>,
    /// Sweep over parameters.
    pub sweep: Option<Sweep>,
    /// Experimental design (instead of a sweep): see `scenario::design`.
    pub design: Option<super::design::DesignSpec>,
    /// Several named designs of the same scenario (`[[designs]]`, each like `[design]` with a
    /// `name`): `gardengate run` runs each into `OUT/<name>/`; one is picked with `--design`.
    pub designs: Vec<super::design::DesignSpec>,
    /// Charts to draw.
    pub charts: Charts,
    /// A scenario file (path relative to this one) whose keys this file starts from; this
    /// file's top-level keys replace the parent's.
    pub extends: Option<String>,
    /// Counterfactual variants of this scenario (see `scenario::variants`).
    pub variants: Vec<super::variants::Variant>,
    /// What effects are measured against: a variant name, or a sweep point label
    /// (default: the file itself when it has variants).
    pub baseline: Option<String>,
    /// Windows over which effects and levels are measured.
    pub windows: Vec<super::variants::WindowSpec>,
    /// Steps at the start excluded from every window and chart (burn-in).
    pub warmup_steps: u32,
    /// Population that window sums are scaled to (sum × scale_to / consumers.count).
    pub scale_to: Option<f64>,
    /// Extra output files.
    pub output: super::variants::OutputOptions,
    /// Effect statistics.
    pub effects: super::variants::EffectOptions,
    /// Free parameters and settings of `gardengate calibrate` (checked there; `run` ignores
    /// them).
    pub calibrate: Option<toml::Value>,
}

impl Default for ScenarioFile {
    fn default() -> Self {
        ScenarioFile {
            name: "scenario".into(),
            description: String::new(),
            seed: 1,
            steps: 365,
            replicates: 1,
            start_date: "2021-01-01".into(),
            days_per_step: 1,
            summary_last_steps: 30,
            consumers: Consumers::default(),
            merchants: Merchants::default(),
            links: Links::default(),
            revision: Revision::default(),
            policy: Policy::default(),
            graph: Graph::default(),
            ecosystems: Vec::new(),
            platforms: Vec::new(),
            wallets: Vec::new(),
            link_rules: Vec::new(),
            events: Vec::new(),
            sweep: None,
            design: None,
            designs: Vec::new(),
            charts: Charts::default(),
            extends: None,
            variants: Vec::new(),
            baseline: None,
            windows: Vec::new(),
            warmup_steps: 0,
            scale_to: None,
            output: Default::default(),
            effects: Default::default(),
            calibrate: None,
        }
    }
}

/// Consumer population parameters (MODEL.md §1, §7).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Consumers {
    /// Number of consumers.
    pub count: u64,
    /// Weight multiplier of a social platform owned by the consumer's home ecosystem.
    pub home_bias: f64,
    /// Taste bonus for platforms of the home ecosystem (utility).
    pub loyalty: f64,
    /// Standard deviation of the taste shock σ_θ.
    pub sigma_theta: f64,
    /// Median price sensitivity (α ~ LogNormal(ln median, log_sd)), utility per yuan.
    pub alpha_median: f64,
    /// Log-scale standard deviation of α.
    pub alpha_log_sd: f64,
    /// Shopping probability per step when fixed.
    pub shop_prob: f64,
    /// If set, r_i ~ Beta(a, b) instead of the fixed `shop_prob`.
    pub shop_beta: Option<[f64; 2]>,
    /// Outside option utility u_0.
    pub outside_utility: f64,
    /// Probability of holding each non-house wallet at start.
    pub initial_multihoming: f64,
    /// Probability of using each non-home commerce app at start.
    pub initial_app_share: f64,
}

impl Default for Consumers {
    fn default() -> Self {
        Consumers {
            count: 100_000,
            home_bias: 3.0,
            loyalty: 1.0,
            sigma_theta: 1.0,
            alpha_median: 0.02,
            alpha_log_sd: 0.3,
            shop_prob: 0.2,
            shop_beta: None,
            outside_utility: 0.0,
            initial_multihoming: 0.10,
            initial_app_share: 0.10,
        }
    }
}

/// Merchant parameters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Merchants {
    /// Number of merchants; default consumers / 10.
    pub count: Option<u64>,
    /// Standard deviation of quality q_m.
    pub sigma_q: f64,
    /// Median price in yuan (P ~ LogNormal(ln median, log_sd)).
    pub price_median: f64,
    /// Log-scale standard deviation of price.
    pub price_log_sd: f64,
    /// Unit margin (P − C)/P ~ Uniform(lo, hi).
    pub margin: [f64; 2],
    /// Probability of listing on each other commerce platform at start.
    pub initial_multihoming: f64,
    /// Revision period R in steps (0: never revise).
    pub revision_period: u32,
    /// Scale of the listing logit in yuan.
    pub profit_scale: f64,
}

impl Default for Merchants {
    fn default() -> Self {
        Merchants {
            count: None,
            sigma_q: 0.5,
            price_median: 80.0,
            price_log_sd: 0.5,
            margin: [0.1, 0.4],
            initial_multihoming: 0.10,
            revision_period: 30,
            profit_scale: 100.0,
        }
    }
}

/// Search, sharing and inbox parameters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Links {
    /// Merchants sampled per app per trip, K_search.
    pub k_search: u32,
    /// Utility bonus of a link candidate, β_link.
    pub beta_link: f64,
    /// Probability of sharing a completed sale, σ_share.
    pub share_prob: f64,
    /// Channel weights.
    pub channel_weights: ChannelWeights,
    /// Maximum recipients of a group share, G.
    pub group_size: u32,
    /// Probability each friend sees a feed post, v_feed.
    pub feed_view_prob: f64,
    /// Inbox capacity, K_inbox.
    pub inbox_capacity: u32,
    /// Steps a link stays in the inbox, inbox_ttl.
    pub inbox_ttl: u32,
}

impl Default for Links {
    fn default() -> Self {
        Links {
            k_search: 4,
            beta_link: 1.0,
            share_prob: 0.10,
            channel_weights: ChannelWeights::default(),
            group_size: 5,
            feed_view_prob: 0.10,
            inbox_capacity: 8,
            inbox_ttl: 7,
        }
    }
}

/// Weights of the sharing channels.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelWeights {
    /// Direct message.
    pub dm: f64,
    /// Group chat.
    pub group: f64,
    /// Feed (moments).
    pub feed: f64,
}

impl Default for ChannelWeights {
    fn default() -> Self {
        ChannelWeights {
            dm: 0.5,
            group: 0.3,
            feed: 0.2,
        }
    }
}

/// Consumer revision parameters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Revision {
    /// Probability of reviewing wallets and apps in a step, ρ.
    pub rho: f64,
    /// Network effect of friends' wallets, γ_w (one value for every wallet unless overridden
    /// per wallet).
    pub gamma_wallet: f64,
    /// Network effect of friends' apps, γ_app.
    pub gamma_app: f64,
    /// Friction of paying with a non-primary wallet, δ_switch (utility).
    pub switch_cost: f64,
    /// Steps without use after which a wallet or app is dropped, D_drop (0: never).
    pub drop_after: u32,
    /// Probability of reconsidering the primary wallet after paying with another one
    /// (wallet habit, MODEL.md §2.4); 1 with `wallet_scale = 0` is the v1 rule.
    pub primary_switch: f64,
    /// Scale λ of the logit wallet choices (secondary pick, adoption pick, primary
    /// reconsideration); 0 keeps the arg max rules.
    pub wallet_scale: f64,
}

impl Default for Revision {
    fn default() -> Self {
        Revision {
            rho: 0.02,
            gamma_wallet: 3.0,
            gamma_app: 2.0,
            switch_cost: 0.3,
            drop_after: 90,
            primary_switch: 1.0,
            wallet_scale: 0.0,
        }
    }
}

/// Global policy values and presets.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Probability of following a blocked link by copying a token, τ.
    pub tau: f64,
    /// Utility penalty of the token workaround, φ_token.
    pub token_penalty: f64,
    /// Preset for link rules before `link_rules`: `walled` (every rival blocked), `dm_open`
    /// (direct messages open), `open` (everything open).
    pub links: String,
    /// Preset for wallet acceptance: `house` (owner's wallet and ownerless wallets) or
    /// `interoperable` (every wallet everywhere).
    pub wallets: String,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            tau: 0.2,
            token_penalty: 0.5,
            links: "walled".into(),
            wallets: "house".into(),
        }
    }
}

/// Social graph parameters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Graph {
    /// `communities`, `small_world` or `edge_list`.
    pub generator: String,
    /// Mean degree d.
    pub mean_degree: f64,
    /// Community size (communities).
    pub community_size: u32,
    /// Share of ties inside the community (communities).
    pub inside_share: f64,
    /// Tendency of one ecosystem's consumers to share communities, in [0, 1].
    pub homophily: f64,
    /// Rewiring probability (small_world).
    pub rewire: f64,
    /// CSV or Parquet file of u32 pairs (edge_list), relative to the scenario file.
    pub path: String,
}

impl Default for Graph {
    fn default() -> Self {
        Graph {
            generator: "communities".into(),
            mean_degree: 20.0,
            community_size: 100,
            inside_share: 0.8,
            homophily: 0.7,
            rewire: 0.1,
            path: String::new(),
        }
    }
}

/// An ecosystem (conglomerate).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Ecosystem {
    /// Name.
    pub name: String,
    /// Share of consumers (and merchants) whose home it is; normalised over ecosystems.
    pub population_share: f64,
    /// Main marketplace: a commerce platform it owns.
    pub main_marketplace: Option<String>,
}

/// A platform (app).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    /// Name.
    pub name: String,
    /// Owning ecosystem.
    pub owner: String,
    /// Subset of `social`, `commerce`.
    pub roles: Vec<String>,
    /// Commission (take rate) c_p.
    #[serde(default)]
    pub commission: f64,
    /// Base appeal a_p.
    #[serde(default)]
    pub appeal: f64,
    /// Join cost J_p (utility).
    #[serde(default = "one")]
    pub join_cost: f64,
    /// Listing fee F_p per revision period (yuan).
    #[serde(default)]
    pub listing_fee: f64,
    /// Social reach (weight in choosing a social home).
    #[serde(default)]
    pub reach: f64,
    /// Exclusivity ("choose one of two").
    #[serde(default)]
    pub exclusive: bool,
    /// Accepted wallets; default from the `policy.wallets` preset.
    #[serde(default)]
    pub accepts: Option<Vec<String>>,
    /// Checkout default wallet d_p (a wallet name, or `"none"`); commerce platforms only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_wallet: Option<String>,
    /// The default's pull, pull_p ∈ [0, 1].
    #[serde(default = "one")]
    pub default_pull: f64,
}

fn one() -> f64 {
    1.0
}

/// A wallet (payment method).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Wallet {
    /// Name.
    pub name: String,
    /// Owning ecosystem; none for a bank card.
    #[serde(default)]
    pub owner: Option<String>,
    /// Merchant fee rate f_w.
    #[serde(default)]
    pub fee: f64,
    /// Adoption cost k_w (utility).
    #[serde(default)]
    pub adoption_cost: f64,
    /// Convenience b_w (utility).
    #[serde(default)]
    pub convenience: f64,
    /// Network-effect strength for this wallet; default `revision.gamma_wallet`.
    #[serde(default)]
    pub gamma: Option<f64>,
}

/// One link rule: (social platform, channel, target ecosystem) → state. `*` is a wildcard.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LinkRule {
    /// Social platform or `*`.
    pub social: String,
    /// `dm`, `group`, `feed` or `*`.
    #[serde(default = "star")]
    pub channel: String,
    /// Target ecosystem or `*`.
    #[serde(default = "star")]
    pub target: String,
    /// `open` or `blocked`.
    pub state: String,
}

fn star() -> String {
    "*".into()
}

/// A scheduled policy change. `kind` decides which other keys apply:
/// `link` (social, channel, target, state), `accept` / `reject` (platform, wallet),
/// `tau`, `token_penalty` (value), `commission`, `listing_fee`, `join_cost` (platform, value),
/// `wallet_fee` (wallet, value), `exclusive` (platform, value 0/1).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Unique name by which sweeps and variants address the event (`events.<id>.date`).
    #[serde(default)]
    pub id: Option<String>,
    /// Step of announcement (or give `date`).
    #[serde(default)]
    pub step: Option<u32>,
    /// Date of announcement, `YYYY-MM-DD`.
    #[serde(default)]
    pub date: Option<String>,
    /// What changes.
    pub kind: String,
    /// Label for charts.
    #[serde(default)]
    pub label: Option<String>,
    /// Social platform (link).
    #[serde(default)]
    pub social: Option<String>,
    /// Channel (link), default `*`.
    #[serde(default)]
    pub channel: Option<String>,
    /// Target ecosystem (link), default `*`.
    #[serde(default)]
    pub target: Option<String>,
    /// `open` or `blocked` (link).
    #[serde(default)]
    pub state: Option<String>,
    /// Platform (accept, reject, commission, listing_fee, join_cost, exclusive).
    #[serde(default)]
    pub platform: Option<String>,
    /// Wallet (accept, reject, wallet_fee).
    #[serde(default)]
    pub wallet: Option<String>,
    /// New value (tau, token_penalty, commission, listing_fee, join_cost, wallet_fee, exclusive).
    #[serde(default)]
    pub value: Option<f64>,
    /// The event waits on a rival's approval and takes effect later.
    #[serde(default)]
    pub pending: Option<Pending>,
}

/// Approval delay of an event.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    /// Ecosystem whose approval is awaited (documentation and manifest).
    #[serde(default)]
    pub approver: Option<String>,
    /// Steps after the announcement at which it takes effect.
    #[serde(default)]
    pub delay: Option<u32>,
    /// Or the step at which it takes effect.
    #[serde(default)]
    pub effective_step: Option<u32>,
    /// Or the date at which it takes effect.
    #[serde(default)]
    pub effective_date: Option<String>,
}

/// The `[sweep]` section.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Sweep {
    /// Replicates per point (overrides the top-level `replicates`).
    pub replicates: Option<u32>,
    /// Swept parameters; the points are the Cartesian product over zip groups.
    pub param: Vec<SweepParam>,
    /// Give replicate r the same seed at every point (common random numbers), so that
    /// differences between points are not blurred by different draws. Default: a seed per
    /// (point, replicate).
    pub common_random_numbers: bool,
}

/// One swept parameter, addressed by a dotted path into the scenario (`policy.tau`,
/// `platforms.taobao.commission`, `wallets.alipay.fee`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SweepParam {
    /// Dotted path.
    pub path: String,
    /// Explicit values (numbers, strings or booleans).
    #[serde(default)]
    pub values: Option<Vec<toml::Value>>,
    /// Or an inclusive range: `{ start, stop, steps }`.
    #[serde(default)]
    pub range: Option<Range>,
    /// Parameters with the same zip group vary together (equal lengths required).
    #[serde(default)]
    pub zip: Option<String>,
    /// Column name in outputs; default the path with dots replaced by `__`.
    #[serde(default)]
    pub column: Option<String>,
}

/// An inclusive linear range of `steps` values.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// First value.
    pub start: f64,
    /// Last value.
    pub stop: f64,
    /// Number of values (≥ 1).
    pub steps: u32,
}

/// Chart options.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Charts {
    /// Draw charts at all.
    pub enabled: bool,
    /// Sweep column that defines the panels of time charts (default: one panel per point,
    /// up to 12).
    pub panel_by: Option<String>,
    /// Draw the time charts (shares, effect paths) as a trailing rolling mean of this many
    /// steps, stated in their titles (0 or 1: the raw steps).
    pub smooth_steps: u32,
}

impl Default for Charts {
    fn default() -> Self {
        Charts {
            enabled: true,
            panel_by: None,
            smooth_steps: 0,
        }
    }
}
