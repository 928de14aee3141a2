//! Policies as state (MODEL.md §3): link rules, wallet acceptance, checkout defaults and the
//! wallet-habit parameters, token workaround, commissions and fees, exclusivity. Changed only by scheduled events, at the start of a step.

use crate::scenario::{Action, LinkRules, Scenario};

/// The policy state in force during a step.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Which links are delivered open (changed by link events).
    pub link_open: LinkRules,
    /// Accepted wallets per platform (bitset over wallets).
    pub accepts: Vec<u16>,
    /// τ.
    pub tau: f64,
    /// φ_token.
    pub token_penalty: f64,
    /// c_p per platform.
    pub commission: Vec<f64>,
    /// F_p per platform, in fen.
    pub listing_fee_fen: Vec<i64>,
    /// J_p per platform.
    pub join_cost: Vec<f64>,
    /// f_w per wallet.
    pub wallet_fee: Vec<f64>,
    /// exclusive(p).
    pub exclusive: Vec<bool>,
    /// Checkout default d_p per platform (`NO_WALLET`: none).
    pub default_wallet: Vec<u8>,
    /// pull_p per platform.
    pub default_pull: Vec<f64>,
    /// Probability of reconsidering the primary after paying with another wallet.
    pub primary_switch: f64,
    /// Scale λ of the logit wallet choices (0: arg max rules).
    pub wallet_scale: f64,
}

/// No checkout default (the value of `Policy::default_wallet` for none).
pub const NO_DEFAULT: u8 = u8::MAX;

/// Converts yuan to integer fen, rounding to the nearest fen.
#[inline]
pub fn fen(yuan: f64) -> i64 {
    (yuan * 100.0).round() as i64
}

impl Policy {
    /// The initial policy of a scenario.
    pub fn new(sc: &Scenario) -> Self {
        Policy {
            link_open: sc.link_open.clone(),
            accepts: sc.platforms.iter().map(|p| p.accepts).collect(),
            tau: sc.tau,
            token_penalty: sc.token_penalty,
            commission: sc.platforms.iter().map(|p| p.commission).collect(),
            listing_fee_fen: sc.platforms.iter().map(|p| fen(p.listing_fee)).collect(),
            join_cost: sc.platforms.iter().map(|p| p.join_cost).collect(),
            wallet_fee: sc.wallets.iter().map(|w| w.fee).collect(),
            exclusive: sc.platforms.iter().map(|p| p.exclusive).collect(),
            default_wallet: sc
                .platforms
                .iter()
                .map(|p| p.default_wallet.map_or(NO_DEFAULT, |w| w as u8))
                .collect(),
            default_pull: sc.platforms.iter().map(|p| p.default_pull).collect(),
            primary_switch: sc.revision.primary_switch,
            wallet_scale: sc.revision.wallet_scale,
        }
    }

    /// Applies one event's action.
    pub fn apply(&mut self, sc: &Scenario, action: &Action) {
        match *action {
            Action::Link { .. } => self.link_open.apply(&sc.platforms, action),
            Action::Accept {
                platform,
                wallet,
                accept,
            } => {
                if accept {
                    self.accepts[platform] |= 1 << wallet;
                } else {
                    self.accepts[platform] &= !(1 << wallet);
                }
            }
            Action::Tau(v) => self.tau = v,
            Action::TokenPenalty(v) => self.token_penalty = v,
            Action::Commission(p, v) => self.commission[p] = v,
            Action::ListingFee(p, v) => self.listing_fee_fen[p] = fen(v),
            Action::JoinCost(p, v) => self.join_cost[p] = v,
            Action::WalletFee(w, v) => self.wallet_fee[w] = v,
            Action::Exclusive(p, v) => self.exclusive[p] = v,
            Action::DefaultWallet(p, w) => {
                self.default_wallet[p] = w.map_or(NO_DEFAULT, |w| w as u8)
            }
            Action::DefaultPull(p, v) => self.default_pull[p] = v,
            Action::PrimarySwitch(v) => self.primary_switch = v,
            Action::WalletScale(v) => self.wallet_scale = v,
        }
    }

    /// Whether a link shared on social platform `s` over `channel` to a platform owned by
    /// `target` is delivered open.
    #[inline]
    pub fn link_is_open(&self, s: usize, channel: usize, target: usize) -> bool {
        self.link_open.is_open(s, channel, target)
    }
}
