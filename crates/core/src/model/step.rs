//! One step (MODEL.md §2), synchronous: every decision reads the state at the start of the
//! step and writes the state of the next one, so processing order cannot change results.
//!
//! Consumers are processed in parallel in fixed-size chunks (never sized from the thread
//! count); each chunk returns its tally, retained inbox links, outgoing links, changes of the
//! consumer stocks and the realised margins of its sales, combined in chunk order (margins are
//! added to the merchants after the phase; integer sums, so their order does not matter).

use super::tally::Tally;
use crate::engine::graph::Graph;
use crate::engine::policy::Policy;
use crate::engine::rng::{exp_in_place, logistic, unit, KeyBase, Purpose, StepKey, Stream};
use crate::engine::state::{Card, Holdings, Link, Merchants, Tables, World};
use rayon::prelude::*;

pub use super::checkout::*;
use super::combine::*;

/// Consumers per parallel work unit. Fixed, so float sums are reduced in the same order for
/// any number of threads.
pub const CHUNK: usize = 2048;

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

pub(crate) struct ChunkOut {
    pub(crate) tally: Tally,
    pub(crate) retained: Vec<Link>,
    pub(crate) outbox: Vec<Link>,
    pub(crate) delta: StockDelta,
    /// (position in the chunk, holdings at the start of the next step) of the few consumers
    /// whose holdings change: written after the phase, which reads the old ones throughout.
    pub(crate) holdings: Vec<(u32, Holdings)>,
    /// (merchant × platform index, realised margin) of each sale; grouped by part of the
    /// margin window (`MARGIN_PARTS`) at the end of the chunk.
    pub(crate) sales: Vec<(u64, i64)>,
    /// Where each part's sales start in `sales`, and the end.
    pub(crate) sale_parts: [u32; MARGIN_PARTS + 1],
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
        // A link to the sharer's own ecosystem is always open: `LinkRules` keeps that bit set.
        let open = self.policy.link_is_open(sp, ch, target);
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
