//! Agent state as structure of arrays with compact types.
//!
//! Per consumer: home (u8), social home (u8), price sensitivity (f32), shopping probability
//! (f32, only when drawn from a Beta), holdings (apps used, a u64 bitset over platforms, and
//! wallets held, a u16 bitset, packed in 10 bytes), primary wallet (u8), the last step each
//! held wallet and app was used (u16 each), and the taste shock Z of each commerce platform
//! (i16 fixed point, see `TASTE_SCALE`).
//!
//! The step is synchronous: decisions read `holdings` as it was at the start of the step
//! (friends' holdings included); the few changes are collected per chunk and written after the
//! consumer phase. A consumer's own rows (primary, last use) are read only by herself, so they
//! are updated in place.

use super::graph::Graph;
use super::policy::Policy;
use crate::scenario::Scenario;
use std::sync::Arc;

/// A link in an inbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Link {
    /// Recipient consumer (inbox owner); the inbox is sorted by it.
    pub recipient: u32,
    /// Sender consumer.
    pub sender: u32,
    /// Merchant linked to.
    pub merchant: u32,
    /// Step from which the link can be followed.
    pub arrived: u16,
    /// Sequence number within the sender's shares of that step.
    pub seq: u8,
    /// Commerce platform of the listing.
    pub platform: u8,
    /// Social platform it was shared on.
    pub social: u8,
    /// Delivered blocked.
    pub blocked: bool,
}

/// Static per-run lookup tables derived from the scenario.
#[derive(Clone, Debug)]
pub struct Tables {
    /// Platform indices with the commerce role.
    pub commerce: Vec<usize>,
    /// Commerce index of each platform, `u8::MAX` if not commerce.
    pub commerce_idx: Vec<u8>,
    /// Owner ecosystem per platform.
    pub owner: Vec<u8>,
    /// Wallet owner ecosystem, `None` for banks.
    pub wallet_owner: Vec<Option<u8>>,
    /// b_w.
    pub convenience: Vec<f64>,
    /// b_w − k_w.
    pub net_adoption: Vec<f64>,
    /// k_w.
    pub adoption_cost: Vec<f64>,
    /// γ_w.
    pub gamma: Vec<f64>,
    /// a_p.
    pub appeal: Vec<f64>,
    /// Platforms of each ecosystem (bitset).
    pub eco_platforms: Vec<u64>,
}

impl Tables {
    /// Builds the tables of a scenario.
    pub fn new(sc: &Scenario) -> Self {
        let commerce = sc.commerce_platforms();
        let mut commerce_idx = vec![u8::MAX; sc.platforms.len()];
        for (ci, &p) in commerce.iter().enumerate() {
            commerce_idx[p] = ci as u8;
        }
        let mut eco_platforms = vec![0u64; sc.ecosystems.len()];
        for (p, pl) in sc.platforms.iter().enumerate() {
            eco_platforms[pl.owner] |= 1 << p;
        }
        Tables {
            commerce,
            commerce_idx,
            owner: sc.platforms.iter().map(|p| p.owner as u8).collect(),
            wallet_owner: sc
                .wallets
                .iter()
                .map(|w| w.owner.map(|o| o as u8))
                .collect(),
            convenience: sc.wallets.iter().map(|w| w.convenience).collect(),
            net_adoption: sc
                .wallets
                .iter()
                .map(|w| w.convenience - w.adoption_cost)
                .collect(),
            adoption_cost: sc.wallets.iter().map(|w| w.adoption_cost).collect(),
            gamma: sc.wallets.iter().map(|w| w.gamma).collect(),
            appeal: sc.platforms.iter().map(|p| p.appeal).collect(),
            eco_platforms,
        }
    }
}

/// What a consumer holds: the apps she uses (bitset over platform indices) and the wallets
/// she holds (bitset over wallet indices). Packed into 10 bytes (2-byte alignment) so that one
/// memory access brings both: a reviewer reads every friend's holdings, scattered over
/// memory, and two separate arrays cost two cache misses per friend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, packed(2))]
pub struct Holdings {
    /// Apps used (bitset over platform indices).
    pub apps: u64,
    /// Wallets held (bitset over wallet indices).
    pub wallets: u16,
}

/// Consumers, structure of arrays.
#[derive(Clone, Debug, Default)]
pub struct Consumers {
    /// Home ecosystem.
    pub home: Vec<u8>,
    /// Social home platform.
    pub social: Vec<u8>,
    /// Price sensitivity α (utility per yuan).
    pub alpha: Vec<f32>,
    /// Shopping probability when drawn per consumer (empty when fixed).
    pub shop: Vec<f32>,
    /// Apps used and wallets held at the start of the step (updated after the consumer
    /// phase from the few consumers whose holdings changed).
    pub holdings: Vec<Holdings>,
    /// Primary wallet.
    pub primary: Vec<u8>,
    /// Last step each wallet was used or adopted, `n × wallets`.
    pub wallet_last: Vec<u16>,
    /// Last step each commerce app was used or joined, `n × commerce platforms`.
    pub app_last: Vec<u16>,
    /// Taste shock Z_ip (standard normal) per commerce platform, `n × commerce platforms`, in
    /// units of 1 / `TASTE_SCALE`. Set after relabelling, keyed by the final consumer id.
    pub taste_z: Vec<i16>,
}

/// Fixed-point scale of stored taste shocks: Z is kept to 1/2048 (an error below 2.5e-4
/// standard deviations, invisible next to the Gumbel noise of every choice) in 2 bytes
/// instead of being re-derived from its stream on every trip.
pub const TASTE_SCALE: f64 = 2048.0;

impl Consumers {
    /// Number of consumers.
    pub fn len(&self) -> usize {
        self.home.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.home.is_empty()
    }
    /// Relabels consumers: new consumer k is old consumer `order[k]`. Only valid before the
    /// first step (per-step buffers are not permuted).
    pub fn permute(&mut self, order: &[u32]) {
        fn gather<T: Copy>(v: &[T], order: &[u32], width: usize) -> Vec<T> {
            if v.is_empty() {
                return Vec::new();
            }
            let mut out = Vec::with_capacity(v.len());
            for &o in order {
                let o = o as usize * width;
                out.extend_from_slice(&v[o..o + width]);
            }
            out
        }
        let n = self.len().max(1);
        self.home = gather(&self.home, order, 1);
        self.social = gather(&self.social, order, 1);
        self.alpha = gather(&self.alpha, order, 1);
        self.shop = gather(&self.shop, order, 1);
        self.holdings = gather(&self.holdings, order, 1);
        self.primary = gather(&self.primary, order, 1);
        self.wallet_last = gather(&self.wallet_last, order, self.wallet_last.len() / n);
        self.app_last = gather(&self.app_last, order, self.app_last.len() / n);
    }

    /// Bytes per consumer of these arrays with `wallets` wallets and `commerce` commerce
    /// platforms: the layout of the module comment, written once. The memory estimate (before
    /// any world is built) uses it; a test checks it against [`Consumers::bytes`].
    pub const fn bytes_per_consumer(wallets: usize, commerce: usize, shop_drawn: bool) -> usize {
        2 // home, social home
            + 4 // alpha
            + if shop_drawn { 4 } else { 0 }
            + std::mem::size_of::<Holdings>()
            + 1 // primary
            + (wallets + commerce) * 2 // last use of each wallet and app
            + commerce * 2 // taste shocks
    }

    /// Heap bytes used.
    pub fn bytes(&self) -> usize {
        self.home.len() * 2
            + (self.alpha.len() + self.shop.len()) * 4
            + self.holdings.len() * std::mem::size_of::<Holdings>()
            + self.primary.len()
            + (self.wallet_last.len() + self.app_last.len() + self.taste_z.len()) * 2
    }
}

/// A listing as search sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Card {
    /// Merchant id.
    pub merchant: u32,
    /// Quality q.
    pub quality: f32,
    /// Price in fen.
    pub price: u32,
    /// Unit cost in fen (16-byte cards never straddle a cache line, and checkout needs no
    /// second random read).
    pub cost: u32,
}

/// Merchants, structure of arrays.
#[derive(Debug, Default)]
pub struct Merchants {
    /// Home ecosystem.
    pub home: Vec<u8>,
    /// Quality q.
    pub quality: Vec<f32>,
    /// Price in fen.
    pub price: Vec<u32>,
    /// Unit cost in fen.
    pub cost: Vec<u32>,
    /// Listings (bitset over platform indices).
    pub listed: Vec<u64>,
    /// Realised margin in fen since the last revision, `n × commerce platforms`. Sales are
    /// added after each step's consumer phase, from per-chunk lists: integer sums, so the
    /// order does not matter, and no atomic (a locked add per sale stalls the hot loop).
    pub window_margin: Vec<i64>,
    /// Merchants listed on each commerce platform (by commerce index), ascending, with the
    /// attributes a search needs copied in, so that a sampled candidate costs one memory access.
    pub on_platform: Vec<Vec<Card>>,
}

impl Merchants {
    /// Number of merchants.
    pub fn len(&self) -> usize {
        self.home.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.home.is_empty()
    }
    /// Bytes per merchant of the arrays other than the listing index, with `commerce`
    /// commerce platforms (home, quality, price, cost, listings; the margin window).
    pub const fn bytes_per_merchant(commerce: usize) -> usize {
        (1 + 4 + 4 + 4 + 8) + commerce * 8
    }

    /// Heap bytes used.
    pub fn bytes(&self) -> usize {
        self.home.len() * (1 + 4 + 4 + 4 + 8)
            + self.window_margin.len() * 8
            + self
                .on_platform
                .iter()
                .map(|v| v.len() * std::mem::size_of::<Card>())
                .sum::<usize>()
    }
    /// Rebuilds the per-platform listing index from the bitsets.
    pub fn rebuild_index(&mut self, commerce: &[usize]) {
        self.on_platform = commerce
            .iter()
            .map(|&p| {
                (0..self.listed.len() as u32)
                    .filter(|&m| self.listed[m as usize] & (1 << p) != 0)
                    .map(|m| Card {
                        merchant: m,
                        quality: self.quality[m as usize],
                        price: self.price[m as usize],
                        cost: self.cost[m as usize],
                    })
                    .collect()
            })
            .collect();
    }
}

/// Consumer stocks (holders of each wallet, users of each app, ...), kept up to date from the
/// few consumers that change in a step instead of being recounted over everyone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConsumerStocks {
    /// Holders per wallet.
    pub holders: Vec<u64>,
    /// Consumers whose primary is each wallet.
    pub primary_holders: Vec<u64>,
    /// Σ wallets held.
    pub wallets_held: u64,
    /// Consumers holding ≥ 2 wallets.
    pub multihomers: u64,
    /// Σ apps used.
    pub apps_used: u64,
    /// Users per platform.
    pub app_users: Vec<u64>,
}

impl ConsumerStocks {
    /// Counts the stocks of a population.
    pub fn count(c: &Consumers, n_wallets: usize, n_platforms: usize) -> Self {
        let mut s = ConsumerStocks {
            holders: vec![0; n_wallets],
            primary_holders: vec![0; n_wallets],
            app_users: vec![0; n_platforms],
            ..Default::default()
        };
        for i in 0..c.len() {
            let (h, p) = (c.holdings[i], c.primary[i]);
            let (w, a) = (h.wallets, h.apps);
            for (k, h) in s.holders.iter_mut().enumerate() {
                *h += (w >> k & 1) as u64;
            }
            if (p as usize) < n_wallets {
                s.primary_holders[p as usize] += 1;
            }
            s.wallets_held += w.count_ones() as u64;
            s.multihomers += (w.count_ones() >= 2) as u64;
            s.apps_used += a.count_ones() as u64;
            for (k, u) in s.app_users.iter_mut().enumerate() {
                *u += a >> k & 1;
            }
        }
        s
    }
}

/// The whole state of one run.
#[derive(Debug)]
pub struct World {
    /// The resolved scenario.
    pub scenario: Arc<Scenario>,
    /// Seed of this run.
    pub seed: u64,
    /// Lookup tables.
    pub tables: Tables,
    /// Consumers.
    pub consumers: Consumers,
    /// Merchants.
    pub merchants: Merchants,
    /// Social graph.
    pub graph: Graph,
    /// Policy in force.
    pub policy: Policy,
    /// Links waiting in inboxes, one list per chunk of `model::step::CHUNK` consumers, each
    /// sorted by (recipient, arrival order).
    pub inbox: Vec<Vec<Link>>,
    /// Consumer stocks at the start of the step.
    pub stocks: ConsumerStocks,
    /// The next step to run.
    pub step: u32,
    /// Wall time spent in each part of the step so far (for `bench`; never in results).
    pub timing: StepTiming,
}

/// Wall time per part of the step, summed over steps, in seconds.
#[derive(Clone, Debug, Default)]
pub struct StepTiming {
    /// Events and the read side of merchant revision.
    pub merchants: f64,
    /// The parallel consumer phase (trips, sharing, revision).
    pub consumers: f64,
    /// Combining chunk outputs: stocks, sales margins, inbox merge.
    pub combine: f64,
    /// Listing index rebuild and end-of-step stocks.
    pub finish: f64,
}

impl World {
    /// Heap bytes of the agent state and graph.
    pub fn bytes(&self) -> usize {
        self.consumers.bytes()
            + self.merchants.bytes()
            + self.graph.bytes()
            + self.inbox.iter().map(Vec::capacity).sum::<usize>() * std::mem::size_of::<Link>()
    }
}
