//! The resolved scenario: names turned into indices, defaults filled in, every value checked.
//! This is what the engine consumes; it never sees a name it must look up.

use serde::Serialize;

/// Sharing channels, in the order used for indices and rule tables.
pub const CHANNELS: [&str; 3] = ["dm", "group", "feed"];

/// A checked ecosystem.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EcosystemSpec {
    /// Name.
    pub name: String,
    /// Normalised population share.
    pub share: f64,
    /// Index of its main marketplace among platforms.
    pub main_marketplace: Option<usize>,
}

/// A checked platform.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PlatformSpec {
    /// Name.
    pub name: String,
    /// Owning ecosystem index.
    pub owner: usize,
    /// Has the social role.
    pub social: bool,
    /// Has the commerce role.
    pub commerce: bool,
    /// Commission c_p.
    pub commission: f64,
    /// Base appeal a_p.
    pub appeal: f64,
    /// Join cost J_p.
    pub join_cost: f64,
    /// Listing fee per revision period, yuan.
    pub listing_fee: f64,
    /// Social reach.
    pub reach: f64,
    /// Exclusivity at start.
    pub exclusive: bool,
    /// Accepted wallets at start (bitset over wallet indices).
    pub accepts: u16,
    /// Checkout default wallet d_p at start (MODEL.md §2.4), if any.
    pub default_wallet: Option<usize>,
    /// The default's pull at start, pull_p ∈ [0, 1].
    pub default_pull: f64,
}

/// A checked wallet.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct WalletSpec {
    /// Name.
    pub name: String,
    /// Owning ecosystem index; `None` for a bank card.
    pub owner: Option<usize>,
    /// Merchant fee rate f_w.
    pub fee: f64,
    /// Adoption cost k_w.
    pub adoption_cost: f64,
    /// Convenience b_w.
    pub convenience: f64,
    /// Network-effect strength γ_w.
    pub gamma: f64,
}

/// The social graph to build.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub enum GraphSpec {
    /// Planted-partition communities with homophily.
    Communities {
        /// Mean degree.
        mean_degree: f64,
        /// Community size.
        size: u32,
        /// Share of ties inside communities.
        inside_share: f64,
        /// Homophily in [0, 1].
        homophily: f64,
    },
    /// Watts–Strogatz ring.
    SmallWorld {
        /// Mean degree (even; k = d/2 neighbours each side).
        mean_degree: u32,
        /// Rewiring probability.
        rewire: f64,
    },
    /// Edges loaded from a CSV or Parquet file.
    EdgeList {
        /// Resolved path.
        path: std::path::PathBuf,
    },
}

/// A policy change.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub enum Action {
    /// Set link rules; `None` is a wildcard.
    Link {
        /// Social platform index, or all social platforms.
        social: Option<usize>,
        /// Channel index, or all.
        channel: Option<usize>,
        /// Target ecosystem, or all.
        target: Option<usize>,
        /// Open (true) or blocked.
        open: bool,
    },
    /// Add (true) or remove a wallet from a platform's accepted set.
    Accept {
        /// Platform index.
        platform: usize,
        /// Wallet index.
        wallet: usize,
        /// Accept or stop accepting.
        accept: bool,
    },
    /// Set τ.
    Tau(f64),
    /// Set φ_token.
    TokenPenalty(f64),
    /// Set a platform's commission.
    Commission(usize, f64),
    /// Set a platform's listing fee (yuan).
    ListingFee(usize, f64),
    /// Set a platform's join cost.
    JoinCost(usize, f64),
    /// Set a wallet's merchant fee.
    WalletFee(usize, f64),
    /// Set a platform's exclusivity.
    Exclusive(usize, bool),
    /// Set (`Some`) or clear (`None`, a "choice screen") a platform's checkout default.
    DefaultWallet(usize, Option<usize>),
    /// Set a platform's default pull.
    DefaultPull(usize, f64),
    /// Set the habit parameter `primary_switch`.
    PrimarySwitch(f64),
    /// Set the wallet logit scale `wallet_scale`.
    WalletScale(f64),
}

/// A scheduled, checked event.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EventSpec {
    /// Step at which it was announced.
    pub announced: u32,
    /// Step at which it takes effect (later than `announced` when pending approval).
    pub effective: u32,
    /// Label for charts and the manifest.
    pub label: String,
    /// Ecosystem whose approval it awaited, if any.
    pub approver: Option<usize>,
    /// What changes.
    pub action: Action,
}

/// A fully resolved scenario for one run: every value checked, every name an index.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Scenario {
    /// Scenario name.
    pub name: String,
    /// Steps per run.
    pub steps: u32,
    /// Days since 1970-01-01 of step 0.
    pub start_date: i64,
    /// Days per step.
    pub days_per_step: u32,
    /// Steps averaged in summaries.
    pub summary_last_steps: u32,
    /// Ecosystems.
    pub ecosystems: Vec<EcosystemSpec>,
    /// Platforms.
    pub platforms: Vec<PlatformSpec>,
    /// Wallets.
    pub wallets: Vec<WalletSpec>,
    /// Consumer parameters (as in the file).
    pub consumers: super::schema::Consumers,
    /// Merchant count, resolved.
    pub merchant_count: u32,
    /// Merchant parameters (as in the file).
    pub merchants: super::schema::Merchants,
    /// Search, sharing, inbox.
    pub links: super::schema::Links,
    /// Consumer revision.
    pub revision: super::schema::Revision,
    /// τ at start.
    pub tau: f64,
    /// φ_token at start.
    pub token_penalty: f64,
    /// Initial link rules: `open[s][channel][e]` for social platform index s.
    pub link_open: Vec<[Vec<bool>; 3]>,
    /// Events, sorted by effective step (stable in file order).
    pub events: Vec<EventSpec>,
    /// Graph.
    pub graph: GraphSpec,
}

impl Scenario {
    /// Indices of commerce platforms, in platform order.
    pub fn commerce_platforms(&self) -> Vec<usize> {
        (0..self.platforms.len())
            .filter(|&p| self.platforms[p].commerce)
            .collect()
    }
}
