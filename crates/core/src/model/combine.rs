//! The combine phase of a step: what the parallel chunks of consumers produced is put
//! together in chunk order: the stock changes, the realised margins of the sales (added to
//! the merchants' window part by part, integer sums) and the links sent, merged into the
//! recipients' inboxes (overflow decided by keyed priority, not by arrival order).

use super::init::NO_WALLET;
use super::step::{ChunkOut, CHUNK};
use super::tally::Tally;
use crate::engine::rng::StepKey;
use crate::engine::state::{ConsumerStocks, Link};
use rayon::prelude::*;

/// Parts of the merchants' margin window, added to in parallel (each thread writes its own
/// parts, and each part's writes stay in a smaller range). Fixed, not taken from the thread
/// count (integer sums, so it could not change results anyway).
pub(crate) const MARGIN_PARTS: usize = 16;

/// Changes of the consumer stocks within a chunk (integers: order-independent).
pub(crate) struct StockDelta {
    pub(crate) holders: [i64; 16],
    pub(crate) primary: [i64; 16],
    pub(crate) wallets_held: i64,
    pub(crate) multihomers: i64,
    pub(crate) apps_used: i64,
    pub(crate) app_users: [i64; 64],
}

impl StockDelta {
    pub(crate) fn new() -> Self {
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
    #[inline]
    pub(crate) fn record(&mut self, oh: u16, nh: u16, ou: u64, nu: u64, op: u8, np: u8) {
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

    pub(crate) fn apply(&self, s: &mut ConsumerStocks) {
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

/// Position of (merchant `m`, commerce platform `ci`) in the merchants' margin window of
/// `nc` commerce platforms. A u64, so that it cannot wrap for any merchant count the engine
/// accepts (a u32 wrapped once merchants × commerce platforms passed 2³²; the pair takes
/// 16 bytes either way).
#[inline]
pub(crate) fn margin_index(m: usize, nc: usize, ci: usize) -> u64 {
    m as u64 * nc as u64 + ci as u64
}

/// Length of each of the `MARGIN_PARTS` parts of a margin window of `len` entries.
pub(crate) fn margin_part(len: usize) -> usize {
    len.div_ceil(MARGIN_PARTS).max(1)
}

/// Adds the realised margins of the step's sales to the merchants' window, part by part in
/// parallel: random writes without atomics, each part's writes landing in its own range.
/// Integer sums, so the order cannot change the result.
pub(crate) fn add_margins(margins: &mut [i64], outs: &[ChunkOut]) {
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
pub(crate) fn merge_inbox(
    outs: &[ChunkOut],
    cap: usize,
    priority: StepKey,
) -> (Vec<Vec<Link>>, Delivered) {
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
pub(crate) struct Delivered {
    pub(crate) recipients: u64,
    pub(crate) open: u64,
    pub(crate) blocked: u64,
    pub(crate) overflow: u64,
}

impl Delivered {
    pub(crate) fn add_to(&self, tally: &mut Tally) {
        tally.recipients += self.recipients;
        tally.delivered_open += self.open;
        tally.delivered_blocked += self.blocked;
        tally.overflow += self.overflow;
    }
}

/// Merges one chunk's kept links with its new ones (both sorted by recipient); returns the
/// inbox and the counts delivered open, delivered blocked and overflowing. `priority` is the
/// step's key for the overflow order (§2.6).
pub(crate) fn merge_chunk(
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
pub(crate) fn overflow_keep(new: &[Link], room: usize, priority: StepKey) -> Vec<bool> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{KeyBase, Purpose};
    use crate::model::checkout::tests::near;

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
