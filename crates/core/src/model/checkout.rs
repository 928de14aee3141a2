//! Checkout and the wallet habit (MODEL.md §2.4): which wallet pays, given the platform's
//! accepted wallets, its pre-selected default and its pull, the consumer's primary and held
//! wallets; and when the wallet used becomes the primary. Pure functions of their inputs and
//! of a lazily seeded stream, called from the consumer phase of `step`.

use super::init::NO_WALLET;
use crate::engine::policy::NO_DEFAULT;
use crate::engine::rng::{logistic, StepKey, Stream};
use crate::engine::state::TASTE_SCALE;

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
    pub(crate) key: StepKey,
    pub(crate) agent: u64,
    pub(crate) stream: Option<Stream>,
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

    pub(crate) fn uniform(&mut self) -> f64 {
        let (key, agent) = (self.key, self.agent);
        self.stream
            .get_or_insert_with(|| Stream::from_key(key.key(agent)))
            .uniform()
    }

    /// True with probability p; draws only when 0 < p < 1.
    pub(crate) fn bernoulli(&mut self, p: f64) -> bool {
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
pub(crate) fn pick_wallet(bits: u16, values: &[f64], scale: f64, draws: &mut Draws) -> u8 {
    if scale <= 0.0 || bits.count_ones() == 1 {
        return argmax_bits(bits, values);
    }
    // Weights relative to the best value, so that a small scale cannot overflow.
    let top = values[argmax_bits(bits, values) as usize];
    let candidates = (0..16usize).filter(move |w| bits & (1 << w) != 0);
    let weighted = candidates.map(|w| (w, ((values[w] - top) / scale).exp()));
    crate::rng::categorical_of(draws.uniform(), weighted) as u8
}

/// Index of the set bit with the largest value; ties go to the lowest index.
#[inline]
pub(crate) fn argmax_bits(bits: u16, values: &[f64]) -> u8 {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::rng::{KeyBase, Purpose};

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
    pub(crate) fn near(hits: u64, n: u64, p: f64) -> bool {
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
}
