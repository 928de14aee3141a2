//! One step (MODEL.md §2), synchronous: every decision reads the state at the start of the
//! step and writes the state of the next one, so processing order cannot change results.
//!
//! Consumers are processed in parallel in fixed-size chunks (never sized from the thread
//! count); each chunk returns its tally, retained inbox links, outgoing links, changes of the
//! consumer stocks and the realised margins of its sales, combined in chunk order (margins are
//! added to the merchants after the phase; integer sums, so their order does not matter).

use super::init::{breaks_exclusivity, NO_WALLET};
use super::tally::Tally;
use crate::engine::graph::Graph;
use crate::engine::policy::{Policy, NO_DEFAULT};
use crate::engine::rng::{exp_in_place, logistic, unit, KeyBase, Purpose, StepKey, Stream};
use crate::engine::state::{
    Card, ConsumerStocks, Holdings, Link, Merchants, Tables, World, TASTE_SCALE,
};
use rayon::prelude::*;

/// Consumers per parallel work unit. Fixed, so float sums are reduced in the same order for
/// any number of threads.
pub const CHUNK: usize = 2048;

/// The static taste θ_ip = a_p + loyalty·1[owner(p) = h_i] + σ_θ·Z_ip, from the stored shock
/// Z (`Consumers::taste_z`).
#[inline]
pub fn taste(z: i16, home: u8, owner: u8, appeal: f64, loyalty: f64, sigma: f64) -> f64 {
    let mut th = appeal + sigma * (z as f64 * (1.0 / TASTE_SCALE));
    if owner == home {
        th += loyalty;
    }
    th
}

/// Outcome of a checkout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checkout {
    /// Paid with the primary wallet.
    Primary(u8),
    /// Paid with the platform's pre-selected checkout default.
    Default(u8),
    /// Paid with another held wallet.
    Secondary(u8),
    /// Adopted a wallet and paid with it.
    Adopted(u8),
    /// Sale lost.
    Abandoned,
}

/// The wallet parameters a checkout reads (MODEL.md §2.4).
pub struct WalletRules<'a> {
    /// b_w per wallet.
    pub convenience: &'a [f64],
    /// b_w − k_w per wallet.
    pub net_adoption: &'a [f64],
    /// k_w per wallet.
    pub adoption_cost: &'a [f64],
    /// δ_switch.
    pub switch_cost: f64,
    /// λ, the scale of the logit wallet choices (0: the arg max rules).
    pub scale: f64,
    /// Probability of reconsidering the primary after paying with another wallet.
    pub primary_switch: f64,
}

/// The checkout draws of one consumer in one step, from her stream keyed by (seed,
/// `Purpose::Checkout`, step, consumer). The stream is seeded only at the first draw, and
/// only the rules that need a draw make one (the default's pull strictly between 0 and 1, a
/// logit pick among two or more wallets, a habit reconsideration that is not certain), so a
/// scenario without defaults, with `primary_switch = 1` and `wallet_scale = 0` draws nothing
/// and gives the v1 results bit for bit.
pub struct Draws {
    key: StepKey,
    agent: u64,
    stream: Option<Stream>,
}

impl Draws {
    /// The draws of consumer `agent` under this step's checkout key.
    #[inline]
    pub fn new(key: StepKey, agent: u64) -> Self {
        Draws {
            key,
            agent,
            stream: None,
        }
    }

    fn uniform(&mut self) -> f64 {
        let (key, agent) = (self.key, self.agent);
        self.stream
            .get_or_insert_with(|| Stream::from_key(key.key(agent)))
            .uniform()
    }

    /// True with probability p; draws only when 0 < p < 1.
    fn bernoulli(&mut self, p: f64) -> bool {
        p >= 1.0 || (p > 0.0 && self.uniform() < p)
    }
}

/// The checkout rule of §2.4, given the utility surplus `gain = U_ij − U_i0` of the chosen
/// candidate, the platform's accepted wallets and its checkout default (`NO_DEFAULT`: none)
/// with its pull. Returns the outcome and its friction (utility).
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn checkout(
    accepts: u16,
    held: u16,
    primary: u8,
    default: u8,
    pull: f64,
    gain: f64,
    rules: &WalletRules,
    draws: &mut Draws,
) -> (Checkout, f64) {
    let primary_ok = primary != NO_WALLET && accepts >> primary & 1 == 1;
    if default != NO_DEFAULT && default != primary && (held & accepts) >> default & 1 == 1 {
        // Pre-selected and usable: taken unless the consumer moves to her accepted primary.
        return if !primary_ok || draws.bernoulli(pull) {
            (Checkout::Default(default), 0.0)
        } else {
            (Checkout::Primary(primary), 0.0)
        };
    }
    if primary_ok {
        return (Checkout::Primary(primary), 0.0);
    }
    let usable = held & accepts;
    if usable != 0 {
        // The friction does not depend on which held wallet is used, so the pick is drawn
        // only for a completed sale.
        return if gain - rules.switch_cost >= 0.0 {
            let w = pick_wallet(usable, rules.convenience, rules.scale, draws);
            (Checkout::Secondary(w), rules.switch_cost)
        } else {
            (Checkout::Abandoned, 0.0)
        };
    }
    if accepts != 0 {
        // The platform's own sign-up flow offers its default when it has an accepted one.
        let w = if default != NO_DEFAULT && accepts >> default & 1 == 1 {
            default
        } else {
            pick_wallet(accepts, rules.net_adoption, rules.scale, draws)
        };
        let k = rules.adoption_cost[w as usize];
        if gain - k >= 0.0 {
            return (Checkout::Adopted(w), k);
        }
    }
    (Checkout::Abandoned, 0.0)
}

/// Whether a completed payment with wallet `w` makes it the primary from the next step
/// (§2.4, habit). `current` is the primary at the start of the step.
#[inline]
pub fn becomes_primary(
    w: u8,
    current: u8,
    convenience: &[f64],
    rules: &WalletRules,
    draws: &mut Draws,
) -> bool {
    if current == NO_WALLET {
        return true;
    }
    if w == current {
        return false;
    }
    let (bw, bp) = (convenience[w as usize], convenience[current as usize]);
    if rules.scale > 0.0 {
        draws.bernoulli(rules.primary_switch * logistic((bw - bp) / rules.scale))
    } else if bw > bp {
        true
    } else {
        bw == bp && draws.bernoulli(rules.primary_switch)
    }
}

/// The wallet among the set bits of `bits` with the largest value (ties: lowest index) when
/// `scale` is 0; otherwise a logit draw with probabilities ∝ exp(value / scale). A single
/// candidate needs no draw.
#[inline]
fn pick_wallet(bits: u16, values: &[f64], scale: f64, draws: &mut Draws) -> u8 {
    if scale <= 0.0 || bits.count_ones() == 1 {
        return argmax_bits(bits, values);
    }
    // Weights relative to the best value, so that a small scale cannot overflow.
    let top = values[argmax_bits(bits, values) as usize];
    let weight = |w: usize| ((values[w] - top) / scale).exp();
    let mut total = 0.0;
    let mut b = bits;
    while b != 0 {
        let w = b.trailing_zeros() as usize;
        b &= b - 1;
        total += weight(w);
    }
    let u = draws.uniform() * total;
    let mut acc = 0.0;
    let mut b = bits;
    let mut last = 0u8;
    while b != 0 {
        let w = b.trailing_zeros() as usize;
        b &= b - 1;
        acc += weight(w);
        last = w as u8;
        if u < acc {
            return last;
        }
    }
    last
}

/// Index of the set bit with the largest value; ties go to the lowest index.
#[inline]
fn argmax_bits(bits: u16, values: &[f64]) -> u8 {
    let mut best = u8::MAX;
    let mut bv = f64::NEG_INFINITY;
    let mut b = bits;
    while b != 0 {
        let w = b.trailing_zeros() as usize;
        b &= b - 1;
        if best == u8::MAX || values[w] > bv {
            best = w as u8;
            bv = values[w];
        }
    }
    best
}

/// Samples the consumer's choice (see `ConsumerStep::trip` for the law): `cum` holds the
/// cumulative weights e^{u₀} + Σ_{j ≤ k} e^{V_j} of the candidates. Returns the winner and its
/// utility surplus over the outside option, or `None` when the outside option wins.
#[inline]
pub fn choose(cum: &[f64], e_out: f64, u0: f64, s: &mut Stream) -> Option<(usize, f64)> {
    let total = cum.last().copied().unwrap_or(e_out);
    let u = s.uniform() * total;
    if u < e_out {
        return None;
    }
    let pick = cum.iter().position(|&c| u < c)?;
    let (e1, e2) = (s.exp1(), s.exp1());
    Some((pick, (total * e2 / e1 + e_out).ln() - u0))
}

#[derive(Clone, Copy)]
struct Cand {
    merchant: u32,
    quality: f32,
    price: u32,
    cost: u32,
    platform: u8,
    /// Social platform of the link, `u8::MAX` for search.
    social: u8,
    bonus: f64,
}

struct ChunkOut {
    tally: Tally,
    retained: Vec<Link>,
    outbox: Vec<Link>,
    delta: StockDelta,
    /// (position in the chunk, holdings at the start of the next step) of the few consumers
    /// whose holdings change: written after the phase, which reads the old ones throughout.
    holdings: Vec<(u32, Holdings)>,
    /// (merchant × platform index, realised margin) of each sale; grouped by part of the
    /// margin window (`MARGIN_PARTS`) at the end of the chunk.
    sales: Vec<(u64, i64)>,
    /// Where each part's sales start in `sales`, and the end.
    sale_parts: [u32; MARGIN_PARTS + 1],
}

/// Parts of the merchants' margin window, added to in parallel (each thread writes its own
/// parts, and each part's writes stay in a smaller range). Fixed, not taken from the thread
/// count (integer sums, so it could not change results anyway).
const MARGIN_PARTS: usize = 16;

/// Changes of the consumer stocks within a chunk (integers: order-independent).
struct StockDelta {
    holders: [i64; 16],
    primary: [i64; 16],
    wallets_held: i64,
    multihomers: i64,
    apps_used: i64,
    app_users: [i64; 64],
}

impl StockDelta {
    fn new() -> Self {
        StockDelta {
            holders: [0; 16],
            primary: [0; 16],
            wallets_held: 0,
            multihomers: 0,
            apps_used: 0,
            app_users: [0; 64],
        }
    }

    /// One consumer went from (wallets, apps, primary) `o*` to `n*`.
    fn record(&mut self, oh: u16, nh: u16, ou: u64, nu: u64, op: u8, np: u8) {
        let mut b = oh ^ nh;
        while b != 0 {
            let w = b.trailing_zeros() as usize;
            b &= b - 1;
            self.holders[w] += if nh >> w & 1 == 1 { 1 } else { -1 };
        }
        let (co, cn) = (oh.count_ones() as i64, nh.count_ones() as i64);
        self.wallets_held += cn - co;
        self.multihomers += (cn >= 2) as i64 - (co >= 2) as i64;
        let mut b = ou ^ nu;
        while b != 0 {
            let p = b.trailing_zeros() as usize;
            b &= b - 1;
            self.app_users[p] += if nu >> p & 1 == 1 { 1 } else { -1 };
        }
        self.apps_used += nu.count_ones() as i64 - ou.count_ones() as i64;
        if op != np {
            if op != NO_WALLET {
                self.primary[op as usize] -= 1;
            }
            if np != NO_WALLET {
                self.primary[np as usize] += 1;
            }
        }
    }

    fn apply(&self, s: &mut ConsumerStocks) {
        let add = |x: &mut u64, d: i64| *x = (*x as i64 + d) as u64;
        for (w, h) in s.holders.iter_mut().enumerate() {
            add(h, self.holders[w]);
        }
        for (w, h) in s.primary_holders.iter_mut().enumerate() {
            add(h, self.primary[w]);
        }
        add(&mut s.wallets_held, self.wallets_held);
        add(&mut s.multihomers, self.multihomers);
        add(&mut s.apps_used, self.apps_used);
        for (p, u) in s.app_users.iter_mut().enumerate() {
            add(u, self.app_users[p]);
        }
    }
}

/// Parameters read in the hot loop, unpacked once per step.
struct Params {
    trip_key: StepKey,
    revision_key: StepKey,
    share_key: StepKey,
    checkout_key: StepKey,
    t: u32,
    nw: usize,
    nc: usize,
    np: usize,
    ne: usize,
    shop_prob: f64,
    loyalty: f64,
    sigma_theta: f64,
    u0: f64,
    /// e^{u₀}, the outside option's weight.
    e_out: f64,
    k_search: u32,
    beta_link: f64,
    share_prob: f64,
    channel_w: [f64; 3],
    group_size: usize,
    feed_prob: f64,
    ttl: u32,
    rho: f64,
    gamma_app: f64,
    switch_cost: f64,
    drop_after: u32,
    /// Length of each part of the margin window.
    margin_part: usize,
}

/// Runs step `world.step` and returns its tally.
pub fn step(world: &mut World) -> Tally {
    let clock = std::time::Instant::now();
    let sc = world.scenario.clone();
    let t = world.step;
    let np = sc.platforms.len();
    let nw = sc.wallets.len();
    let ne = sc.ecosystems.len();
    let nc = world.tables.commerce.len();

    // 1. Events.
    let mut events = 0;
    for ev in sc.events.iter().filter(|e| e.effective == t) {
        world.policy.apply(&sc, &ev.action);
        events += 1;
    }

    // 8 (read side). Merchant revision reads the window t−R … t−1 before this step's sales.
    let r = sc.merchants.revision_period;
    let revised =
        (r > 0 && t > 0 && t.is_multiple_of(r)).then(|| super::merchants::revise(world, t));
    if revised.is_some() {
        world.merchants.window_margin.fill(0);
    }

    let cw = &sc.links.channel_weights;
    let cw_sum = cw.dm + cw.group + cw.feed;
    let prm = Params {
        trip_key: KeyBase::new(world.seed, Purpose::Trip).at(t as u64),
        revision_key: KeyBase::new(world.seed, Purpose::ConsumerRevision).at(t as u64),
        share_key: KeyBase::new(world.seed, Purpose::Share).at(t as u64),
        checkout_key: KeyBase::new(world.seed, Purpose::Checkout).at(t as u64),
        t,
        nw,
        nc,
        np,
        ne,
        shop_prob: sc.consumers.shop_prob,
        loyalty: sc.consumers.loyalty,
        sigma_theta: sc.consumers.sigma_theta,
        u0: sc.consumers.outside_utility,
        e_out: sc.consumers.outside_utility.exp(),
        k_search: sc.links.k_search,
        beta_link: sc.links.beta_link,
        share_prob: sc.links.share_prob,
        channel_w: [cw.dm / cw_sum, cw.group / cw_sum, cw.feed / cw_sum],
        group_size: sc.links.group_size as usize,
        feed_prob: sc.links.feed_view_prob,
        ttl: sc.links.inbox_ttl,
        rho: sc.revision.rho,
        gamma_app: sc.revision.gamma_app,
        switch_cost: sc.revision.switch_cost,
        drop_after: sc.revision.drop_after,
        margin_part: margin_part(world.merchants.window_margin.len()),
    };

    // 2–7. Consumers.
    let t_cons = std::time::Instant::now();
    world.timing.merchants += (t_cons - clock).as_secs_f64();
    let outs = consumer_phase(world, &prm);
    let t_comb = std::time::Instant::now();
    world.timing.consumers += (t_comb - t_cons).as_secs_f64();
    let mut tally = Tally::new(np, nw, ne);
    for o in &outs {
        o.delta.apply(&mut world.stocks);
        tally.add(&o.tally);
    }
    // Independent: the serial parts of one overlap the other.
    let margins = &mut world.merchants.window_margin;
    let cap = sc.links.inbox_capacity as usize;
    let priority = KeyBase::new(world.seed, Purpose::InboxPriority).at(t as u64);
    let ((), (inbox, links)) = rayon::join(
        || add_margins(margins, &outs),
        || merge_inbox(&outs, cap, priority),
    );
    world.inbox = inbox;
    links.add_to(&mut tally);
    world
        .consumers
        .holdings
        .par_chunks_mut(CHUNK)
        .zip(&outs)
        .for_each(|(h, o)| {
            for &(k, x) in &o.holdings {
                h[k as usize] = x;
            }
        });

    let t_fin = std::time::Instant::now();
    world.timing.combine += (t_fin - t_comb).as_secs_f64();

    // 8 (write side).
    if let Some((listed, fees)) = revised {
        world.merchants.listed = listed;
        world.merchants.rebuild_index(&world.tables.commerce);
        for (e, f) in fees.into_iter().enumerate() {
            tally.listing_fees[e] += f;
        }
    }
    tally.stocks.clone_from(&world.stocks);
    merchant_stocks(world, &mut tally);
    tally.events = events;
    world.step += 1;
    world.timing.finish += t_fin.elapsed().as_secs_f64();
    tally
}

fn merchant_stocks(world: &World, tally: &mut Tally) {
    let tb = &world.tables;
    for (p, n) in world.merchants.on_platform.iter().enumerate() {
        tally.listings[tb.commerce[p]] = n.len() as u64;
    }
    tally.merchant_multihomers = world
        .merchants
        .listed
        .par_iter()
        .with_min_len(1 << 14)
        .filter(|&&l| tb.eco_platforms.iter().filter(|&&m| m & l != 0).count() >= 2)
        .count() as u64;
}

fn consumer_phase(world: &mut World, prm: &Params) -> Vec<ChunkOut> {
    let World {
        consumers,
        merchants,
        graph,
        policy,
        tables,
        inbox,
        ..
    } = world;
    let home = &consumers.home;
    let social = &consumers.social;
    let alpha = &consumers.alpha;
    let shop = &consumers.shop;
    let holdings = &consumers.holdings;
    let taste_z = &consumers.taste_z;
    let (nw, nc) = (prm.nw, prm.nc);
    let merchants = &*merchants;
    let graph = &*graph;
    let policy = &*policy;
    let tables = &*tables;
    let inbox = &*inbox;

    consumers
        .primary
        .par_chunks_mut(CHUNK)
        .zip(consumers.wallet_last.par_chunks_mut(CHUNK * nw.max(1)))
        .zip(consumers.app_last.par_chunks_mut(CHUNK * nc.max(1)))
        .enumerate()
        .map(|(ci, ((prim, w_last), a_last))| {
            let lo = ci * CHUNK;
            let mut out = ChunkOut {
                tally: Tally::new(prm.np, nw, prm.ne),
                retained: Vec::new(),
                outbox: Vec::new(),
                delta: StockDelta::new(),
                holdings: Vec::new(),
                sales: Vec::new(),
                sale_parts: [0; MARGIN_PARTS + 1],
            };
            let inbox: &[Link] = inbox.get(ci).map_or(&[], |v| v);
            let mut li = 0;
            let mut cands: Vec<Cand> = Vec::with_capacity(64);
            let mut weights: Vec<f64> = Vec::with_capacity(64);
            let n = prim.len();
            // The Bernoulli draws that decide whether a consumer shops come straight from the
            // key hash; full streams are seeded only for those who do. Shoppers are found
            // first so that each one's search can be prepared while the previous trip runs.
            let (shoppers, reviewers) = select(prm, lo, n, shop);
            let search = || Search {
                stream: Stream::from_key(0),
                picks: Vec::with_capacity(64),
                platforms: Vec::with_capacity(64),
                sharer: None,
            };
            let (mut now, mut ahead) = (search(), search());
            // Cursor into the inbox for the shopper being prepared.
            let mut ahead_link = 0;
            // Addresses only, for prefetches: the rows themselves are borrowed mutably below.
            let (w_last_at, a_last_at) = (w_last.as_ptr() as usize, a_last.as_ptr() as usize);
            const ROW: usize = std::mem::size_of::<u16>();
            // A consumer's own rows are only read when she acts, so they are not in cache:
            // tastes and the last use of each wallet and app.
            let own_rows = |i: usize, k: usize| {
                if let Some(z) = taste_z.get(i * nc) {
                    prefetch(z);
                }
                prefetch_addr(w_last_at + k * nw * ROW);
                prefetch_addr(a_last_at + k * nc * ROW);
            };
            let mut prepare = |x: &mut Search, j: usize| {
                if let Some(&(k, key)) = shoppers.get(j) {
                    let i = lo + k as usize;
                    x.prepare(key, holdings[i].apps, prm.k_search, merchants, tables);
                    // Her own rows, and the merchants her links name, are scattered too.
                    own_rows(i, k as usize);
                    prefetch(&alpha[i]);
                    prefetch(&home[i]);
                    prefetch(&social[i]);
                    x.sharer = sharing(prm, i as u32);
                    if x.sharer.is_some() {
                        prefetch(&graph.offsets[i]);
                    }
                    while ahead_link < inbox.len() && (inbox[ahead_link].recipient as usize) < i {
                        ahead_link += 1;
                    }
                    for l in inbox[ahead_link..]
                        .iter()
                        .take_while(|l| l.recipient as usize == i)
                    {
                        let m = l.merchant as usize;
                        prefetch(&merchants.listed[m]);
                        prefetch(&merchants.quality[m]);
                        prefetch(&merchants.price[m]);
                        prefetch(&merchants.cost[m]);
                    }
                }
            };
            prepare(&mut ahead, 0);
            let mut next_shopper = 0;
            // Reviewers likewise: a reviewer reads every friend's holdings, scattered over
            // memory. Their rows and holdings are brought in over the three reviewers before,
            // one level of indirection each (row start, neighbour list, holdings).
            let stage = |j: usize, level: u8| {
                let Some(&(k, _)) = reviewers.get(j) else {
                    return;
                };
                let i = (lo + k as usize) as u32;
                match level {
                    3 => {
                        prefetch(&graph.offsets[i as usize]);
                        own_rows(i as usize, k as usize);
                    }
                    2 => prefetch_friends(graph, i),
                    _ => {
                        for &f in graph.friends(i) {
                            prefetch(&holdings[f as usize]);
                        }
                    }
                }
            };
            for (j, level) in [(0, 3), (1, 3), (2, 3), (0, 2), (1, 2), (0, 1)] {
                stage(j, level);
            }
            let mut next_reviewer = 0;
            for k in 0..n {
                let i = (lo + k) as u32;
                let start = li;
                while li < inbox.len() && inbox[li].recipient == i {
                    li += 1;
                }
                let links = &inbox[start..li];
                let shops = shoppers.get(next_shopper).map(|x| x.0) == Some(k as u32);
                if shops {
                    std::mem::swap(&mut now, &mut ahead);
                    next_shopper += 1;
                    prepare(&mut ahead, next_shopper);
                    if now.sharer.is_some() {
                        // Her row start was fetched one trip ago; now the list itself.
                        prefetch_friends(graph, i);
                    }
                }
                let review_key = reviewers
                    .get(next_reviewer)
                    .filter(|x| x.0 == k as u32)
                    .map(|x| x.1);
                let reviews = review_key.is_some();
                if reviews {
                    let j = next_reviewer;
                    stage(j + 3, 3);
                    stage(j + 2, 2);
                    stage(j + 1, 1);
                    next_reviewer += 1;
                }
                if !shops {
                    keep_links(links, prm, &mut out);
                    if !reviews {
                        continue;
                    }
                }
                let primary_start = prim[k];
                let h = holdings[i as usize];
                let mut cs = ConsumerStep {
                    prm,
                    policy,
                    tables,
                    merchants,
                    graph,
                    holdings,
                    i,
                    home: home[i as usize],
                    social: social[i as usize],
                    alpha: alpha[i as usize] as f64,
                    held: h.wallets,
                    used: h.apps,
                    primary_start,
                    primary: &mut prim[k],
                    w_last: &mut w_last[k * nw..(k + 1) * nw],
                    a_last: &mut a_last[k * nc..(k + 1) * nc],
                    z: &taste_z[i as usize * nc..(i as usize + 1) * nc],
                    new_held: h.wallets,
                    new_used: h.apps,
                    out: &mut out,
                    cands: &mut cands,
                    weights: &mut weights,
                };
                if shops {
                    cs.trip(&mut now, links);
                }
                if let Some(key) = review_key {
                    cs.revise(Stream::from_key(key));
                }
                let (nh, nu) = (cs.new_held, cs.new_used);
                // Stocks change only through the few consumers whose holdings changed.
                let (oh, ou, op) = (h.wallets, h.apps, primary_start);
                let changed = nh != oh || nu != ou;
                if changed {
                    let next = Holdings {
                        apps: nu,
                        wallets: nh,
                    };
                    out.holdings.push((k as u32, next));
                }
                if changed || prim[k] != op {
                    out.delta.record(oh, nh, ou, nu, op, prim[k]);
                }
            }
            group_sales(&mut out, prm.margin_part);
            out
        })
        .collect()
}

/// Orders a chunk's sales by part of the margin window (a counting sort; the order within a
/// part does not matter for integer sums).
fn group_sales(out: &mut ChunkOut, part_len: usize) {
    let parts = &mut out.sale_parts;
    for &(k, _) in &out.sales {
        parts[k as usize / part_len + 1] += 1;
    }
    for p in 1..parts.len() {
        parts[p] += parts[p - 1];
    }
    let mut at = *parts;
    let mut grouped = vec![(0, 0); out.sales.len()];
    for &(k, m) in &out.sales {
        let c = &mut at[k as usize / part_len];
        grouped[*c as usize] = (k, m);
        *c += 1;
    }
    out.sales = grouped;
}

/// (position in the chunk, stream key) of the consumers selected for an action.
type Selected = Vec<(u32, u64)>;

/// The shoppers and the reviewers among consumers `lo .. lo + n`: (position in the chunk,
/// stream key) of each, in order. Each decision is one uniform straight from the key hash.
/// Branch-free (every consumer is written, the cursor moves only for those selected): the
/// decisions are coin flips that a branch predictor would miss a fifth of the time.
fn select(prm: &Params, lo: usize, n: usize, shop: &[f32]) -> (Selected, Selected) {
    let mut shoppers = vec![(0, 0); n];
    let mut reviewers = vec![(0, 0); n];
    let (mut ns, mut nr) = (0, 0);
    for k in 0..n {
        let i = (lo + k) as u64;
        let p = if shop.is_empty() {
            prm.shop_prob
        } else {
            shop[lo + k] as f64
        };
        let key = prm.trip_key.key(i);
        shoppers[ns] = (k as u32, key);
        ns += (unit(key) < p) as usize;
        let key = prm.revision_key.key(i);
        reviewers[nr] = (k as u32, key);
        nr += (unit(key) < prm.rho) as usize;
    }
    shoppers.truncate(ns);
    reviewers.truncate(nr);
    (shoppers, reviewers)
}

/// A shopper's search draws, made one shopper ahead so that the sampled listing cards are
/// already on their way from memory when her trip is processed (a card read is a cache miss
/// at scale, and the draws do not depend on anything the previous trips change).
struct Search {
    stream: Stream,
    /// Index into the listing of each draw, app by app in platform order.
    picks: Vec<u32>,
    /// The platform of each draw.
    platforms: Vec<u8>,
    /// Her sharing stream's key if she shares a sale she makes (decided by the key hash
    /// alone, so it is known before the trip: her friends list is fetched early only when
    /// it will be read).
    sharer: Option<u64>,
}

impl Search {
    /// §2.2 search draws of consumer `i` (apps `used`): `k_search` cards per app, uniformly
    /// with replacement from the listings at the start of the step. They are the first draws
    /// of her trip stream.
    fn prepare(&mut self, key: u64, used: u64, k_search: u32, ms: &Merchants, tb: &Tables) {
        self.stream = Stream::from_key(key);
        self.picks.clear();
        self.platforms.clear();
        for_each_listing(used, ms, tb, |p, list| {
            for _ in 0..k_search {
                let j = self.stream.below(list.len() as u32);
                prefetch(&list[j as usize]);
                self.picks.push(j);
                self.platforms.push(p);
            }
        });
    }

    /// The `r`-th search draw as a candidate.
    fn candidate(&self, r: usize, ms: &Merchants, tb: &Tables) -> Cand {
        let p = self.platforms[r];
        let card = ms.on_platform[tb.commerce_idx[p as usize] as usize][self.picks[r] as usize];
        Cand {
            merchant: card.merchant,
            quality: card.quality,
            price: card.price,
            cost: card.cost,
            platform: p,
            social: u8::MAX,
            bonus: 0.0,
        }
    }
}

/// Calls `f` with each commerce app in `used` that has listings and its listing, in platform
/// order.
#[inline]
fn for_each_listing(used: u64, ms: &Merchants, tb: &Tables, mut f: impl FnMut(u8, &[Card])) {
    let mut b = used;
    while b != 0 {
        let p = b.trailing_zeros() as usize;
        b &= b - 1;
        let ci = tb.commerce_idx[p];
        if ci == u8::MAX {
            continue;
        }
        let list = &ms.on_platform[ci as usize];
        if !list.is_empty() {
            f(p as u8, list);
        }
    }
}

/// Prefetches the friends list of `i` (whose row start should already be in cache).
#[inline(always)]
fn prefetch_friends(graph: &Graph, i: u32) {
    for line in graph.friends(i).chunks(16) {
        prefetch(&line[0]);
    }
}

/// A hint to start loading `x`'s cache line (no effect on results).
#[inline(always)]
fn prefetch<T>(x: &T) {
    prefetch_addr(x as *const T as usize)
}

/// A hint to start loading the cache line at address `a`; any address is allowed (a
/// prefetch never faults).
#[inline(always)]
fn prefetch_addr(a: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and has no architectural effect.
    unsafe {
        core::arch::x86_64::_mm_prefetch(a as *const i8, core::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = a;
}

struct ConsumerStep<'a> {
    prm: &'a Params,
    policy: &'a Policy,
    tables: &'a Tables,
    merchants: &'a Merchants,
    graph: &'a Graph,
    holdings: &'a [Holdings],
    i: u32,
    home: u8,
    social: u8,
    alpha: f64,
    held: u16,
    used: u64,
    primary: &'a mut u8,
    primary_start: u8,
    w_last: &'a mut [u16],
    a_last: &'a mut [u16],
    /// The consumer's taste shocks, by commerce index.
    z: &'a [i16],
    new_held: u16,
    new_used: u64,
    out: &'a mut ChunkOut,
    cands: &'a mut Vec<Cand>,
    weights: &'a mut Vec<f64>,
}

impl ConsumerStep<'_> {
    // Trip, checkout, sharing and revision stay out of line: each runs for a minority of
    // consumers, keeping the per-consumer loop small, and profiles then name each rule.
    #[inline(never)]
    fn trip(&mut self, search: &mut Search, links: &[Link]) {
        let prm = self.prm;
        let s = &mut search.stream;
        let tl = &mut self.out.tally;
        tl.trips += 1;
        self.cands.clear();
        for l in links {
            if self.merchants.listed[l.merchant as usize] & (1 << l.platform) == 0 {
                tl.stale += 1;
                continue;
            }
            let bonus = if !l.blocked {
                tl.followed_open += 1;
                prm.beta_link
            } else if s.bernoulli(self.policy.tau) {
                tl.followed_token += 1;
                prm.beta_link - self.policy.token_penalty
            } else {
                tl.lost += 1;
                continue;
            };
            let m = l.merchant as usize;
            self.cands.push(Cand {
                merchant: l.merchant,
                quality: self.merchants.quality[m],
                price: self.merchants.price[m],
                cost: self.merchants.cost[m],
                platform: l.platform,
                social: l.social,
                bonus,
            });
        }
        // Choice. Utilities are V_k + ε_k with ε iid standard Gumbel and the consumer takes the
        // maximum. Instead of drawing one Gumbel per candidate we sample the same joint law
        // directly: the winner is k with probability exp(V_k)/S (S = Σ exp(V), outside option
        // included); the maximum is M = ln S + G with G = −ln E₁ a standard Gumbel independent
        // of the winner; and the outside option's utility given that it lost is a Gumbel
        // around u₀ truncated below M: U₀ = u₀ − ln(E₂ + e^{u₀}·E₁/S) by inverting its CDF
        // (E₁, E₂ standard exponentials). The surplus over the outside option then simplifies
        // to M − U₀ = ln(S·E₂/E₁ + e^{u₀}) − u₀: three draws and one logarithm per trip.
        // Candidates are the links (in `cands`) followed by the search draws, whose weights are
        // computed straight from their cards; only the winner becomes a `Cand`.
        let (home, z, tb) = (self.home, self.z, self.tables);
        let theta = |p: usize| {
            taste(
                z[tb.commerce_idx[p] as usize],
                home,
                tb.owner[p],
                tb.appeal[p],
                prm.loyalty,
                prm.sigma_theta,
            )
        };
        let e_out = prm.e_out;
        let weights = &mut *self.weights;
        weights.clear();
        for c in self.cands.iter() {
            let p = c.platform as usize;
            let price = c.price as f64 / 100.0;
            let mut v = c.quality as f64 + theta(p) + c.bonus - self.alpha * price;
            if self.used & (1 << p) == 0 {
                v -= self.policy.join_cost[p];
            }
            weights.push(v);
        }
        // Search candidates are on apps the consumer uses: no join cost, no bonus.
        let k_search = prm.k_search as usize;
        let alpha = self.alpha;
        let mut picks = search.picks.iter();
        for_each_listing(self.used, self.merchants, tb, |p, list| {
            let th = theta(p as usize);
            for &j in picks.by_ref().take(k_search) {
                let card = list[j as usize];
                let price = card.price as f64 / 100.0;
                weights.push(card.quality as f64 + th - alpha * price);
            }
        });
        exp_in_place(weights);
        let mut total = e_out;
        for w in weights.iter_mut() {
            total += *w;
            *w = total;
        }
        match choose(weights, e_out, prm.u0, s) {
            Some((pick, gain)) => {
                let c = match self.cands.get(pick) {
                    Some(&c) => c,
                    None => search.candidate(pick - self.cands.len(), self.merchants, tb),
                };
                self.checkout(c, gain, search.sharer);
            }
            None => self.out.tally.outside += 1,
        }
    }

    #[inline(never)]
    fn checkout(&mut self, c: Cand, gain: f64, sharer: Option<u64>) {
        let prm = self.prm;
        let tb = self.tables;
        let p = c.platform as usize;
        let policy = self.policy;
        let rules = WalletRules {
            convenience: &tb.convenience,
            net_adoption: &tb.net_adoption,
            adoption_cost: &tb.adoption_cost,
            switch_cost: prm.switch_cost,
            scale: policy.wallet_scale,
            primary_switch: policy.primary_switch,
        };
        let mut draws = Draws::new(prm.checkout_key, self.i as u64);
        let (outcome, friction) = checkout(
            policy.accepts[p],
            self.held,
            *self.primary,
            policy.default_wallet[p],
            policy.default_pull[p],
            gain,
            &rules,
            &mut draws,
        );
        let tl = &mut self.out.tally;
        let w = match outcome {
            Checkout::Primary(w) => {
                tl.primary += 1;
                w
            }
            Checkout::Default(w) => {
                tl.default += 1;
                w
            }
            Checkout::Secondary(w) => {
                tl.secondary += 1;
                w
            }
            Checkout::Adopted(w) => {
                tl.adopted += 1;
                self.new_held |= 1 << w;
                w
            }
            Checkout::Abandoned => {
                tl.abandoned += 1;
                return;
            }
        };
        let wi = w as usize;
        // §2.5 money, in fen, each flow rounded once.
        let m = c.merchant as usize;
        let price = c.price as i64;
        let cost = c.cost as i64;
        let commission = (self.policy.commission[p] * price as f64).round() as i64;
        let fee = (self.policy.wallet_fee[wi] * price as f64).round() as i64;
        let revenue = price - commission - fee;
        let ci = tb.commerce_idx[p] as usize;
        self.out
            .sales
            .push((margin_index(m, prm.nc, ci), revenue - cost));
        let owner = tb.owner[p] as usize;
        tl.pay_count[wi] += 1;
        tl.pay_value[wi] += price;
        tl.pay_platform_wallet[p * prm.nw + wi] += price;
        tl.pay_platform_wallet_count[p * prm.nw + wi] += 1;
        tl.gmv[p] += price;
        tl.sales[p] += 1;
        tl.commission[owner] += commission;
        match tb.wallet_owner[wi] {
            Some(e) => tl.fees[e as usize] += fee,
            None => tl.fees[prm.ne] += fee,
        }
        tl.paid += price;
        tl.merchant_revenue += revenue;
        tl.unit_cost += cost;
        tl.consumer_surplus += (gain - friction) / self.alpha;
        tl.wtp += gain / self.alpha + price as f64 / 100.0;
        tl.friction += friction / self.alpha;
        if c.social != u8::MAX {
            tl.link_sales += 1;
            if tb.owner[c.social as usize] != tb.owner[p] {
                tl.gmv_cross += price;
            }
        }
        // State for t+1.
        if becomes_primary(w, *self.primary, &tb.convenience, &rules, &mut draws) {
            *self.primary = w;
        }
        self.w_last[wi] = prm.t as u16;
        self.a_last[ci] = prm.t as u16;
        if self.used & (1 << p) == 0 {
            self.new_used |= 1 << p;
            tl.app_joins += 1;
        }
        if let Some(key) = sharer {
            self.share(c, key);
        }
    }

    /// §2.6: share a completed sale on the social home (`key`: her sharing stream, given
    /// only when `sharing` says she shares).
    #[inline(never)]
    fn share(&mut self, c: Cand, key: u64) {
        let prm = self.prm;
        let mut s = Stream::from_key(key);
        let u = s.uniform();
        let ch = if u < prm.channel_w[0] {
            0
        } else if u < prm.channel_w[0] + prm.channel_w[1] {
            1
        } else {
            2
        };
        let tl = &mut self.out.tally;
        tl.shares[ch] += 1;
        let sp = self.social as usize;
        let target = self.tables.owner[c.platform as usize] as usize;
        let open =
            self.tables.owner[sp] as usize == target || self.policy.link_is_open(sp, ch, target);
        let friends = self.graph.friends(self.i);
        if friends.is_empty() {
            return;
        }
        let mut seq = 0u8;
        let mut send = |out: &mut Vec<Link>, r: u32| {
            out.push(Link {
                recipient: r,
                sender: self.i,
                merchant: c.merchant,
                arrived: (prm.t + 1) as u16,
                seq,
                platform: c.platform,
                social: self.social,
                blocked: !open,
            });
            seq = seq.wrapping_add(1);
        };
        let out = &mut self.out.outbox;
        match ch {
            0 => send(out, friends[s.below(friends.len() as u32) as usize]),
            1 => {
                let g = prm.group_size.min(friends.len());
                if g == friends.len() {
                    for &f in friends {
                        send(out, f);
                    }
                } else {
                    // g distinct friends by rejection (g is small).
                    let mut chosen: [u32; 64] = [u32::MAX; 64];
                    let mut n = 0;
                    while n < g {
                        let k = s.below(friends.len() as u32);
                        if !chosen[..n].contains(&k) {
                            chosen[n] = k;
                            n += 1;
                        }
                    }
                    for &k in &chosen[..n] {
                        send(out, friends[k as usize]);
                    }
                }
            }
            _ => {
                for &f in friends {
                    if s.bernoulli(prm.feed_prob) {
                        send(out, f);
                    }
                }
            }
        }
    }

    /// §2.7: wallet and app revision, and drops of unused wallets and apps.
    #[inline(never)]
    fn revise(&mut self, mut s: Stream) {
        let prm = self.prm;
        let t = prm.t;
        let tb = self.tables;
        let friends = self.graph.friends(self.i);
        let deg = friends.len().max(1) as f64;
        // Gather the friends' holdings first, then count bits without branches: the loads are
        // then independent of each other and overlap, instead of waiting on mispredicted
        // bit-loop branches (this loop is memory-bound).
        let mut wallet_friends = [0u32; 16];
        let mut app_friends = [0u32; 64];
        let mut wm = [0u16; 64];
        let mut am = [0u64; 64];
        for block in friends.chunks(64) {
            let n = block.len();
            for (j, &f) in block.iter().enumerate() {
                let h = self.holdings[f as usize];
                wm[j] = h.wallets;
                am[j] = h.apps;
            }
            for (w, count) in wallet_friends.iter_mut().enumerate().take(prm.nw) {
                *count += wm[..n].iter().map(|&m| (m >> w) as u32 & 1).sum::<u32>();
            }
            for &p in &tb.commerce {
                app_friends[p] += am[..n].iter().map(|&m| (m >> p) as u32 & 1).sum::<u32>();
            }
        }
        let tl = &mut self.out.tally;
        for (w, &holders) in wallet_friends.iter().enumerate().take(prm.nw) {
            if self.held & (1 << w) != 0 {
                continue;
            }
            let x = holders as f64 / deg;
            if s.bernoulli(logistic(tb.gamma[w] * x + tb.net_adoption[w]))
                && self.new_held & (1 << w) == 0
            {
                self.new_held |= 1 << w;
                self.w_last[w] = t as u16;
                tl.revision_adopt += 1;
            }
        }
        for (ci, &p) in tb.commerce.iter().enumerate() {
            if self.used & (1 << p) != 0 {
                continue;
            }
            let y = app_friends[p] as f64 / deg;
            let th = taste(
                self.z[ci],
                self.home,
                tb.owner[p],
                tb.appeal[p],
                prm.loyalty,
                prm.sigma_theta,
            );
            if s.bernoulli(logistic(prm.gamma_app * y + th - self.policy.join_cost[p]))
                && self.new_used & (1 << p) == 0
            {
                self.new_used |= 1 << p;
                self.a_last[ci] = t as u16;
                tl.app_joins += 1;
            }
        }
        if prm.drop_after == 0 {
            return;
        }
        // The primary at the start of the step is protected (synchronous update).
        let primary = self.primary_start;
        let mut b = self.held;
        while b != 0 {
            let w = b.trailing_zeros() as usize;
            b &= b - 1;
            if w as u8 != primary && t.saturating_sub(self.w_last[w] as u32) >= prm.drop_after {
                self.new_held &= !(1 << w);
                tl.wallet_drops += 1;
            }
        }
        let mut b = self.used;
        while b != 0 {
            let p = b.trailing_zeros() as usize;
            b &= b - 1;
            let ci = tb.commerce_idx[p] as usize;
            if t.saturating_sub(self.a_last[ci] as u32) >= prm.drop_after {
                self.new_used &= !(1 << p);
                tl.app_drops += 1;
            }
        }
    }
}

/// Whether consumer `i` shares a sale she makes this step, and then her sharing stream's
/// key. Like the shopping decision, it takes its uniform straight from the key hash: most
/// sales are not shared, and they need no stream.
#[inline]
fn sharing(prm: &Params, i: u32) -> Option<u64> {
    let key = prm.share_key.key(i as u64);
    (unit(key) < prm.share_prob).then_some(key)
}

/// Links of a consumer who does not shop wait for her next trip unless their time is up.
fn keep_links(links: &[Link], prm: &Params, out: &mut ChunkOut) {
    for l in links {
        if prm.t + 1 < l.arrived as u32 + prm.ttl {
            out.retained.push(*l);
        } else {
            out.tally.expired += 1;
        }
    }
}

/// Position of (merchant `m`, commerce platform `ci`) in the merchants' margin window of
/// `nc` commerce platforms. A u64, so that it cannot wrap for any merchant count the engine
/// accepts (a u32 wrapped once merchants × commerce platforms passed 2³²; the pair takes
/// 16 bytes either way).
#[inline]
fn margin_index(m: usize, nc: usize, ci: usize) -> u64 {
    m as u64 * nc as u64 + ci as u64
}

/// Length of each of the `MARGIN_PARTS` parts of a margin window of `len` entries.
fn margin_part(len: usize) -> usize {
    len.div_ceil(MARGIN_PARTS).max(1)
}

/// Adds the realised margins of the step's sales to the merchants' window, part by part in
/// parallel: random writes without atomics, each part's writes landing in its own range.
/// Integer sums, so the order cannot change the result.
fn add_margins(margins: &mut [i64], outs: &[ChunkOut]) {
    let len = margin_part(margins.len());
    margins
        .par_chunks_mut(len)
        .enumerate()
        .for_each(|(pi, part)| {
            let lo = pi * len;
            for o in outs {
                let (a, b) = (o.sale_parts[pi] as usize, o.sale_parts[pi + 1] as usize);
                for &(k, margin) in &o.sales[a..b] {
                    part[k as usize - lo] += margin;
                }
            }
        });
}

/// Builds the next inbox, one list per chunk of consumers (merged in parallel): links kept
/// from before come first, then new links in sending order up to the capacity, or, when more
/// arrive than fit, those of smallest keyed priority (`overflow_keep`); the rest overflow
/// (§2.6).
fn merge_inbox(outs: &[ChunkOut], cap: usize, priority: StepKey) -> (Vec<Vec<Link>>, Delivered) {
    // New links are bucketed by the chunk of their recipient (a counting sort; the chunks'
    // outboxes are in sender order, and the scatter keeps that order), then each bucket is
    // sorted by recipient, stably, in parallel.
    let mut start = vec![0usize; outs.len() + 1];
    for o in outs {
        for l in &o.outbox {
            start[l.recipient as usize / CHUNK + 1] += 1;
        }
    }
    for c in 1..start.len() {
        start[c] += start[c - 1];
    }
    let total = start[outs.len()];
    let mut counts = Delivered {
        recipients: total as u64,
        ..Delivered::default()
    };
    let mut fresh: Vec<Link> = match outs.iter().find_map(|o| o.outbox.first()) {
        Some(&l) => vec![l; total],
        None => Vec::new(),
    };
    let mut cursor = start.clone();
    for o in outs {
        for &l in &o.outbox {
            let c = &mut cursor[l.recipient as usize / CHUNK];
            fresh[*c] = l;
            *c += 1;
        }
    }
    let mut buckets = Vec::with_capacity(outs.len());
    let mut rest = fresh.as_mut_slice();
    for c in 0..outs.len() {
        let (bucket, tail) = rest.split_at_mut(start[c + 1] - start[c]);
        buckets.push(bucket);
        rest = tail;
    }
    let merged: Vec<(Vec<Link>, [u64; 3])> = outs
        .par_iter()
        .zip(buckets)
        .map(|(o, bucket)| {
            // Stable: within a recipient the order stays (sender, seq), the order sent in.
            bucket.sort_by_key(|l| l.recipient);
            merge_chunk(&o.retained, bucket, cap, priority)
        })
        .collect();
    let inbox = merged
        .into_iter()
        .map(|(links, [open, blocked, overflow])| {
            counts.open += open;
            counts.blocked += blocked;
            counts.overflow += overflow;
            links
        })
        .collect();
    (inbox, counts)
}

/// The delivery counts of a step's new links.
#[derive(Default)]
struct Delivered {
    recipients: u64,
    open: u64,
    blocked: u64,
    overflow: u64,
}

impl Delivered {
    fn add_to(&self, tally: &mut Tally) {
        tally.recipients += self.recipients;
        tally.delivered_open += self.open;
        tally.delivered_blocked += self.blocked;
        tally.overflow += self.overflow;
    }
}

/// Merges one chunk's kept links with its new ones (both sorted by recipient); returns the
/// inbox and the counts delivered open, delivered blocked and overflowing. `priority` is the
/// step's key for the overflow order (§2.6).
fn merge_chunk(
    retained: &[Link],
    fresh: &[Link],
    cap: usize,
    priority: StepKey,
) -> (Vec<Link>, [u64; 3]) {
    let mut counts = [0u64; 3];
    let mut out = Vec::with_capacity(retained.len() + fresh.len());
    let (mut a, mut b) = (0, 0);
    while a < retained.len() || b < fresh.len() {
        let ra = retained.get(a).map_or(u32::MAX, |l| l.recipient);
        let rb = fresh.get(b).map_or(u32::MAX, |l| l.recipient);
        let r = ra.min(rb);
        let mut n = 0;
        while a < retained.len() && retained[a].recipient == r {
            out.push(retained[a]);
            a += 1;
            n += 1;
        }
        // One pass while the new links fit (the common case); an inbox that overflows is
        // rolled back and refilled by priority.
        let (b0, mark, room) = (b, out.len(), cap.saturating_sub(n));
        let mut fits = [0u64; 2];
        while b < fresh.len() && fresh[b].recipient == r {
            if b - b0 < room {
                out.push(fresh[b]);
                fits[fresh[b].blocked as usize] += 1;
            }
            b += 1;
        }
        let new = &fresh[b0..b];
        if new.len() <= room {
            counts[0] += fits[0];
            counts[1] += fits[1];
        } else {
            out.truncate(mark);
            // Overflow: the links that fit are those of smallest keyed priority, so that no
            // group of sender ids is favoured; they keep the order they were sent in.
            let keep = overflow_keep(new, room, priority);
            for (l, &kept) in new.iter().zip(&keep) {
                if kept {
                    out.push(*l);
                    counts[l.blocked as usize] += 1;
                } else {
                    counts[2] += 1;
                }
            }
        }
    }
    (out, counts)
}

/// Which of one recipient's new links (in sending order) fit in `room` places: those with the
/// smallest priority drawn from the stream keyed by (seed, `Purpose::InboxPriority`, step,
/// sender, recipient); ties by sender id, then sequence (§2.6).
fn overflow_keep(new: &[Link], room: usize, priority: StepKey) -> Vec<bool> {
    let mut order: Vec<(u64, u32, u8, usize)> = new
        .iter()
        .enumerate()
        .map(|(k, l)| {
            let agent = (l.sender as u64) << 32 | l.recipient as u64;
            (priority.key(agent), l.sender, l.seq, k)
        })
        .collect();
    order.sort_unstable();
    let mut keep = vec![false; new.len()];
    for &(_, _, _, k) in order.iter().take(room) {
        keep[k] = true;
    }
    keep
}

/// Whether exclusivity allows a listing set (re-exported for merchants).
pub(crate) fn allowed(listed: u64, policy: &Policy, tb: &crate::engine::state::Tables) -> bool {
    !breaks_exclusivity(listed, &policy.exclusive, tb)
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: [f64; 4] = [0.2, 0.2, 0.0, -0.5];
    const K: [f64; 4] = [2.0, 2.0, 2.5, 1.0];

    fn net() -> Vec<f64> {
        B.iter().zip(K).map(|(b, k)| b - k).collect()
    }

    fn rules<'a>(n: &'a [f64], scale: f64, switch: f64) -> WalletRules<'a> {
        WalletRules {
            convenience: &B,
            net_adoption: n,
            adoption_cost: &K,
            switch_cost: 0.3,
            scale,
            primary_switch: switch,
        }
    }

    fn draws(agent: u64) -> Draws {
        Draws::new(KeyBase::new(3, Purpose::Checkout).at(0), agent)
    }

    #[test]
    fn checkout_rules() {
        let n = net();
        let r = rules(&n, 0.0, 1.0);
        let co = |accepts, held, primary, gain| {
            let mut d = draws(0);
            let out = checkout(accepts, held, primary, NO_DEFAULT, 1.0, gain, &r, &mut d);
            assert!(d.stream.is_none(), "the v1 rules draw nothing");
            out
        };
        // Primary accepted.
        assert_eq!(co(0b0001, 0b0001, 0, 5.0), (Checkout::Primary(0), 0.0));
        // Primary not accepted, held bank card accepted: secondary with switch cost.
        assert_eq!(co(0b1010, 0b1001, 0, 5.0), (Checkout::Secondary(3), 0.3));
        // ... but not worth the switch.
        assert_eq!(co(0b1010, 0b1001, 0, 0.2).0, Checkout::Abandoned);
        // Nothing held is accepted: adopt the best b − k (bank card: −1.5 beats −1.8).
        assert_eq!(co(0b1010, 0b0001, 0, 5.0), (Checkout::Adopted(3), 1.0));
        assert_eq!(co(0b0010, 0b0001, 0, 1.5).0, Checkout::Abandoned);
        // Nothing accepted at all.
        assert_eq!(co(0, 0b1111, 0, 50.0).0, Checkout::Abandoned);
        // Ties in convenience go to the lowest index.
        assert_eq!(co(0b0011, 0b0011, NO_WALLET, 5.0).0, Checkout::Secondary(0));
    }

    #[test]
    fn checkout_default_rules() {
        let n = net();
        let r = rules(&n, 0.0, 1.0);
        let co = |accepts, held, primary, default, pull, gain| {
            checkout(
                accepts,
                held,
                primary,
                default,
                pull,
                gain,
                &r,
                &mut draws(1),
            )
        };
        // Held and accepted default, primary not accepted: the default, without friction.
        assert_eq!(
            co(0b0101, 0b0011, 1, 0, 0.0, 5.0),
            (Checkout::Default(0), 0.0)
        );
        // Primary accepted: the pull decides; 1 always takes the default, 0 never.
        assert_eq!(co(0b0011, 0b0011, 1, 0, 1.0, 5.0).0, Checkout::Default(0));
        assert_eq!(co(0b0011, 0b0011, 1, 0, 0.0, 5.0).0, Checkout::Primary(1));
        // The default is the primary: an ordinary primary payment.
        assert_eq!(co(0b0011, 0b0011, 0, 0, 1.0, 5.0).0, Checkout::Primary(0));
        // Default not held: the usual rules (secondary with the bank card here).
        assert_eq!(
            co(0b1001, 0b1010, 1, 0, 1.0, 5.0),
            (Checkout::Secondary(3), 0.3)
        );
        // Nothing held accepted: the sign-up flow offers the default even though the bank
        // card has the better b − k.
        assert_eq!(
            co(0b1010, 0b0001, 0, 1, 1.0, 5.0),
            (Checkout::Adopted(1), 2.0)
        );
        assert_eq!(co(0b1010, 0b0001, 0, 1, 1.0, 1.5).0, Checkout::Abandoned);
        // A default that is not accepted is ignored.
        assert_eq!(
            co(0b1000, 0b0001, 0, 1, 1.0, 5.0),
            (Checkout::Adopted(3), 1.0)
        );
    }

    /// Binomial tolerance: |p̂ − p| below 4.5 standard errors of n draws.
    fn near(hits: u64, n: u64, p: f64) -> bool {
        let ph = hits as f64 / n as f64;
        (ph - p).abs() <= 4.5 * (p * (1.0 - p) / n as f64).sqrt() + 1e-12
    }

    #[test]
    fn logit_wallet_picks_and_habit_follow_their_probabilities() {
        let n_draws = 40_000u64;
        let b = [0.3, 0.1, -0.2, 0.0];
        let k = [1.0, 0.5, 0.2, 2.0];
        let net: Vec<f64> = b.iter().zip(k).map(|(b, k)| b - k).collect();
        let lambda = 0.25;
        let r = WalletRules {
            convenience: &b,
            net_adoption: &net,
            adoption_cost: &k,
            switch_cost: 0.0,
            scale: lambda,
            primary_switch: 0.6,
        };
        let shares = |v: &[f64], bits: u16| -> Vec<f64> {
            let e: Vec<f64> = (0..4)
                .map(|w| {
                    if bits >> w & 1 == 1 {
                        (v[w] / lambda).exp()
                    } else {
                        0.0
                    }
                })
                .collect();
            let t: f64 = e.iter().sum();
            e.iter().map(|x| x / t).collect()
        };
        // Secondary: held wallets 0, 1, 2 accepted, primary 3 not accepted.
        let mut sec = [0u64; 4];
        let mut adopt = [0u64; 4];
        for a in 0..n_draws {
            match checkout(0b0111, 0b1111, 3, NO_DEFAULT, 1.0, 9.0, &r, &mut draws(a)).0 {
                Checkout::Secondary(w) => sec[w as usize] += 1,
                o => panic!("{o:?}"),
            }
            match checkout(0b0111, 0b1000, 3, NO_DEFAULT, 1.0, 9.0, &r, &mut draws(a)).0 {
                Checkout::Adopted(w) => adopt[w as usize] += 1,
                o => panic!("{o:?}"),
            }
        }
        let (ps, pa) = (shares(&b, 0b0111), shares(&net, 0b0111));
        for w in 0..4 {
            assert!(
                near(sec[w], n_draws, ps[w]),
                "secondary {w}: {sec:?} vs {ps:?}"
            );
            assert!(
                near(adopt[w], n_draws, pa[w]),
                "adoption {w}: {adopt:?} vs {pa:?}"
            );
        }
        // Habit: switching from wallet 1 to 0 with probability s · logistic(Δ/λ).
        let p = 0.6 * logistic((b[0] - b[1]) / lambda);
        let hits = (0..n_draws)
            .filter(|&a| becomes_primary(0, 1, &b, &r, &mut draws(a)))
            .count() as u64;
        assert!(near(hits, n_draws, p), "{hits} vs {p}");
        // λ = 0: a strictly better wallet always switches, a worse one never, a tie with
        // probability s; with no primary the payer's wallet is always taken.
        let r0 = WalletRules { scale: 0.0, ..r };
        let eq = [0.2, 0.2, 0.0, 0.0];
        assert!(becomes_primary(0, 1, &b, &r0, &mut draws(0)));
        assert!(!becomes_primary(1, 0, &b, &r0, &mut draws(0)));
        assert!(becomes_primary(1, NO_WALLET, &b, &r0, &mut draws(0)));
        let hits = (0..n_draws)
            .filter(|&a| becomes_primary(0, 1, &eq, &r0, &mut draws(a)))
            .count() as u64;
        assert!(near(hits, n_draws, 0.6), "tie: {hits}");
        let never = WalletRules {
            primary_switch: 0.0,
            ..r0
        };
        assert!((0..1000).all(|a| !becomes_primary(0, 1, &eq, &never, &mut draws(a))));
    }

    #[test]
    fn margin_index_does_not_wrap_at_the_type_boundary() {
        // The largest merchant count accepted (2³² − 2) with 64 commerce platforms.
        let m = u32::MAX as usize - 2;
        let k = margin_index(m, 64, 63);
        assert_eq!(k, (u32::MAX as u64 - 2) * 64 + 63);
        assert!(k > u32::MAX as u64);
        // Distinct pairs keep distinct positions across the old u32 boundary.
        let below = margin_index((1 << 26) - 1, 64, 63);
        let above = margin_index(1 << 26, 64, 0);
        assert_eq!(above, below + 1);
        assert_eq!(above, 1 << 32);
    }

    /// The direct sampling of `choose` against brute force: one Gumbel per alternative and
    /// the maximum. Winner shares and the mean and variance of the surplus over the outside
    /// option (when a candidate wins) agree within 4 standard errors.
    #[test]
    fn choice_sampling_matches_brute_force_gumbels() {
        let v = [0.5, -0.2, 1.0, 0.0];
        let u0 = 0.3;
        let e_out = f64::exp(u0);
        let mut cum = Vec::new();
        let mut total = e_out;
        for x in v {
            total += f64::exp(x);
            cum.push(total);
        }
        let n = 400_000;
        let run = |direct: bool| {
            let mut s = Stream::new(5, Purpose::Trip, direct as u64, 0);
            let mut wins = [0u64; 5];
            let (mut sg, mut sg2, mut m) = (0.0, 0.0, 0.0);
            for _ in 0..n {
                let r = if direct {
                    choose(&cum, e_out, u0, &mut s)
                } else {
                    let u_out = u0 + s.gumbel();
                    let (k, best) = v
                        .iter()
                        .map(|x| x + s.gumbel())
                        .enumerate()
                        .fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
                    (best > u_out).then_some((k, best - u_out))
                };
                match r {
                    Some((k, g)) => {
                        wins[k + 1] += 1;
                        sg += g;
                        sg2 += g * g;
                        m += 1.0;
                    }
                    None => wins[0] += 1,
                }
            }
            let mean = sg / m;
            (wins, mean, sg2 / m - mean * mean, m)
        };
        let (wa, ma, va, na) = run(true);
        let (wb, mb, vb, nb) = run(false);
        for k in 0..5 {
            let (pa, pb) = (wa[k] as f64 / n as f64, wb[k] as f64 / n as f64);
            let se = ((pa * (1.0 - pa) + pb * (1.0 - pb)) / n as f64).sqrt();
            assert!((pa - pb).abs() < 4.0 * se, "winner {k}: {pa} vs {pb}");
        }
        let se = (va / na + vb / nb).sqrt();
        assert!((ma - mb).abs() < 4.0 * se, "mean surplus {ma} vs {mb}");
        // Variance: the standard error of a sample variance is about σ²·√(2/n) (a little
        // more for the surplus's heavier-than-normal tail; 6 of those is still tight).
        let se_v = va * (2.0 / na).sqrt() + vb * (2.0 / nb).sqrt();
        assert!(
            (va - vb).abs() < 6.0 * se_v,
            "surplus variance {va} vs {vb}"
        );
    }

    #[test]
    fn inbox_merge_keeps_old_first_and_counts_overflow() {
        let l = |r, s, seq, blocked| Link {
            recipient: r,
            sender: s,
            merchant: 0,
            arrived: 1,
            seq,
            platform: 0,
            social: 0,
            blocked,
        };
        let retained = vec![l(1, 9, 0, false), l(1, 8, 0, false)];
        let fresh = vec![
            l(0, 2, 0, true),
            l(1, 3, 0, false),
            l(1, 3, 1, true),
            l(1, 5, 0, false),
            l(2, 5, 1, false),
        ];
        let key = KeyBase::new(1, Purpose::InboxPriority).at(0);
        let (out, [open, blocked, overflow]) = merge_chunk(&retained, &fresh, 3, key);
        // Recipient 0 and 2 take their one link each; recipient 1 has room for one of three.
        assert_eq!(open + blocked, 3);
        assert_eq!(overflow, 2);
        let r1: Vec<(u32, u8)> = out
            .iter()
            .filter(|x| x.recipient == 1)
            .map(|x| (x.sender, x.seq))
            .collect();
        assert_eq!(&r1[..2], &[(9, 0), (8, 0)]);
        assert_eq!(r1.len(), 3);
        // The one that fits is the one of smallest priority.
        let new = &fresh[1..4];
        let keep = overflow_keep(new, 1, key);
        let kept: Vec<_> = new.iter().zip(&keep).filter(|x| *x.1).collect();
        assert_eq!(kept.len(), 1);
        assert_eq!((kept[0].0.sender, kept[0].0.seq), r1[2]);
        assert_eq!(out.iter().filter(|x| x.recipient != 1).count(), 2);
    }

    /// The overflow order favours no group of sender ids: with low-id and high-id senders
    /// competing for one place, each wins half the time (binomial tolerance), where the
    /// smallest-sender-id rule gave every place to the low ids.
    #[test]
    fn inbox_overflow_favours_no_sender_ids() {
        let l = |r, s| Link {
            recipient: r,
            sender: s,
            merchant: 0,
            arrived: 1,
            seq: 0,
            platform: 0,
            social: 0,
            blocked: false,
        };
        let n = 20_000u32;
        let fresh: Vec<Link> = (0..n)
            .flat_map(|r| [l(r, 10 + r % 7), l(r, 1_000_000 + r)])
            .collect();
        let key = KeyBase::new(5, Purpose::InboxPriority).at(3);
        let (out, [open, _, overflow]) = merge_chunk(&[], &fresh, 1, key);
        assert_eq!((open, overflow), (n as u64, n as u64));
        let low = out.iter().filter(|x| x.sender < 1_000_000).count() as u64;
        assert!(near(low, n as u64, 0.5), "low ids kept {low} of {n}");
    }
}
