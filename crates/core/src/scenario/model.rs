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
        /// The edges, read once when the scenario is loaded and shared by every run.
        #[serde(skip)]
        edges: EdgeData,
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
    /// Initial link rules.
    pub link_open: LinkRules,
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

/// The edges of an edge-list file, read when the scenario is loaded (so that the engine
/// reads no files) and shared by every point and run that uses the file.
#[derive(Clone, Default)]
pub struct EdgeData {
    path: std::path::PathBuf,
    pairs: std::sync::Arc<[(u32, u32)]>,
}

impl EdgeData {
    /// Reads an edge-list file (format: `scenario::edges`).
    pub fn read(path: &std::path::Path) -> Result<EdgeData, String> {
        let edges = super::edges::read(path)?;
        Ok(EdgeData::from_pairs(
            path,
            edges.iter().map(|&(a, b, _)| (a, b)).collect(),
        ))
    }

    /// Edges given as values (`path` only names them in messages).
    pub fn from_pairs(path: &std::path::Path, pairs: Vec<(u32, u32)>) -> EdgeData {
        EdgeData {
            path: path.to_path_buf(),
            pairs: pairs.into(),
        }
    }

    /// The `(source, target)` pairs in file order.
    pub fn pairs(&self) -> &[(u32, u32)] {
        &self.pairs
    }

    /// The file they came from.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl std::fmt::Debug for EdgeData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "EdgeData({} edges from {})",
            self.pairs.len(),
            self.path.display()
        )
    }
}

impl PartialEq for EdgeData {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.pairs, &other.pairs) || self.pairs == other.pairs
    }
}

/// Which links are delivered open: per platform and channel (DM, group, feed), a bitset over
/// target ecosystems. The one home of the rules' wildcards and of MODEL §2.6's "a link to a
/// platform of the social platform's own ecosystem is always open": the resolver builds the
/// initial rules with [`LinkRules::preset`] and [`LinkRules::apply`], and the engine changes
/// them by events with the same [`LinkRules::apply`], so the two cannot disagree.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkRules {
    open: Vec<[u16; 3]>,
    /// Ecosystems (the bits in use), for the serialized form.
    ecosystems: usize,
}

/// Serialized as before the bitsets (`plan.json`'s resolved scenario keeps its bytes):
/// `[platform][channel][ecosystem]` booleans.
impl Serialize for LinkRules {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let table: Vec<[Vec<bool>; 3]> = self
            .open
            .iter()
            .map(|chs| {
                std::array::from_fn(|ch| {
                    (0..self.ecosystems)
                        .map(|e| chs[ch] >> e & 1 == 1)
                        .collect()
                })
            })
            .collect();
        table.serialize(s)
    }
}

impl LinkRules {
    /// Every platform's rules from a preset: channel `ch` open to other ecosystems when
    /// `others_open(ch)`; its own ecosystem open on every channel.
    pub fn preset(
        platforms: &[PlatformSpec],
        ecosystems: usize,
        others_open: impl Fn(usize) -> bool,
    ) -> Self {
        let open = platforms
            .iter()
            .map(|p| {
                std::array::from_fn(|ch| {
                    let own = 1u16 << p.owner;
                    if others_open(ch) {
                        u16::MAX
                    } else {
                        own
                    }
                })
            })
            .collect();
        LinkRules { open, ecosystems }
    }

    /// Applies a link action (`None` is a wildcard) to the social platforms it names; closing
    /// never closes a platform's own ecosystem. Other actions are ignored.
    pub fn apply(&mut self, platforms: &[PlatformSpec], action: &Action) {
        let Action::Link {
            social,
            channel,
            target,
            open,
        } = *action
        else {
            return;
        };
        let mask = target.map_or(u16::MAX, |e| 1u16 << e);
        for (s, rules) in self.open.iter_mut().enumerate() {
            if !platforms[s].social || social.is_some_and(|x| x != s) {
                continue;
            }
            for (ch, bits) in rules.iter_mut().enumerate() {
                if channel.is_some_and(|x| x != ch) {
                    continue;
                }
                if open {
                    *bits |= mask;
                } else {
                    *bits &= !mask | (1u16 << platforms[s].owner);
                }
            }
        }
    }

    /// Whether a link shared on platform `s` over `channel` to a platform of ecosystem
    /// `target` is delivered open.
    #[inline]
    pub fn is_open(&self, s: usize, channel: usize, target: usize) -> bool {
        self.open[s][channel] & (1 << target) != 0
    }
}
