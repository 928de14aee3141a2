//! Raw per-step tallies. Counts and money are integers (money in fen), so sums are exact and
//! independent of scheduling; the few float sums (surplus, willingness to pay, frictions) are
//! reduced in a fixed order: sequentially inside fixed-size chunks, then chunk by chunk.

use crate::engine::state::ConsumerStocks;

/// Everything counted in one step (flows) plus the stocks at the end of the step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// Shopping trips.
    pub trips: u64,
    /// Trips that chose the outside option.
    pub outside: u64,
    /// Paid with the primary wallet.
    pub primary: u64,
    /// Paid with the platform's checkout default.
    pub default: u64,
    /// Paid with another held wallet.
    pub secondary: u64,
    /// Adopted a wallet at checkout.
    pub adopted: u64,
    /// Sale lost at checkout.
    pub abandoned: u64,
    /// Payments per wallet.
    pub pay_count: Vec<u64>,
    /// Payment value per wallet (fen).
    pub pay_value: Vec<i64>,
    /// Payment value per platform × wallet (fen), `platform * n_wallets + wallet`.
    pub pay_platform_wallet: Vec<i64>,
    /// Payments per platform × wallet, indexed like `pay_platform_wallet`.
    pub pay_platform_wallet_count: Vec<u64>,
    /// GMV per platform (fen).
    pub gmv: Vec<i64>,
    /// Sales count per platform.
    pub sales: Vec<u64>,
    /// GMV of sales through a link shared on another ecosystem's social app (fen).
    pub gmv_cross: i64,
    /// Sales through links.
    pub link_sales: u64,
    /// Commissions per ecosystem (fen).
    pub commission: Vec<i64>,
    /// Wallet fees per ecosystem, last entry the `banks` pseudo-ecosystem (fen).
    pub fees: Vec<i64>,
    /// Listing fees per ecosystem (fen).
    pub listing_fees: Vec<i64>,
    /// Σ price paid by consumers (fen).
    pub paid: i64,
    /// Σ merchant revenue: price − commission − fee (fen).
    pub merchant_revenue: i64,
    /// Σ unit cost of goods sold (fen).
    pub unit_cost: i64,
    /// Consumer surplus (yuan).
    pub consumer_surplus: f64,
    /// Willingness to pay (U − U₀)/α + P summed over sales (yuan).
    pub wtp: f64,
    /// Frictions in yuan (switching and adoption) over sales.
    pub friction: f64,
    /// Shares per channel (dm, group, feed).
    pub shares: [u64; 3],
    /// Links sent (one per recipient).
    pub recipients: u64,
    /// Links delivered open.
    pub delivered_open: u64,
    /// Links delivered blocked.
    pub delivered_blocked: u64,
    /// Links that did not fit in an inbox.
    pub overflow: u64,
    /// At trips: open links followed.
    pub followed_open: u64,
    /// At trips: blocked links followed by token.
    pub followed_token: u64,
    /// At trips: blocked links not followed.
    pub lost: u64,
    /// Links that expired unused.
    pub expired: u64,
    /// Links to withdrawn listings, dropped at trips.
    pub stale: u64,
    /// Wallets adopted at revision.
    pub revision_adopt: u64,
    /// Apps joined at revision or through a link.
    pub app_joins: u64,
    /// Wallets dropped.
    pub wallet_drops: u64,
    /// Apps dropped.
    pub app_drops: u64,
    /// Stocks of consumers at the end of the step (set once per step, not per chunk).
    pub stocks: ConsumerStocks,
    /// Stock: merchants listed on platforms of ≥ 2 ecosystems.
    pub merchant_multihomers: u64,
    /// Stock: listings per platform.
    pub listings: Vec<u64>,
    /// Events that took effect this step.
    pub events: u64,
}

impl Tally {
    /// An empty tally for the given numbers of platforms, wallets and ecosystems.
    pub fn new(np: usize, nw: usize, ne: usize) -> Self {
        Tally {
            pay_count: vec![0; nw],
            pay_value: vec![0; nw],
            pay_platform_wallet: vec![0; np * nw],
            pay_platform_wallet_count: vec![0; np * nw],
            gmv: vec![0; np],
            sales: vec![0; np],
            commission: vec![0; ne],
            fees: vec![0; ne + 1],
            listing_fees: vec![0; ne],
            listings: vec![0; np],
            ..Default::default()
        }
    }

    /// Adds another tally (used in chunk order, so float sums are reproducible).
    pub fn add(&mut self, o: &Tally) {
        fn addv<T: Copy + std::ops::AddAssign>(a: &mut [T], b: &[T]) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += *y;
            }
        }
        self.trips += o.trips;
        self.outside += o.outside;
        self.primary += o.primary;
        self.default += o.default;
        self.secondary += o.secondary;
        self.adopted += o.adopted;
        self.abandoned += o.abandoned;
        addv(&mut self.pay_count, &o.pay_count);
        addv(&mut self.pay_value, &o.pay_value);
        addv(&mut self.pay_platform_wallet, &o.pay_platform_wallet);
        addv(
            &mut self.pay_platform_wallet_count,
            &o.pay_platform_wallet_count,
        );
        addv(&mut self.gmv, &o.gmv);
        addv(&mut self.sales, &o.sales);
        self.gmv_cross += o.gmv_cross;
        self.link_sales += o.link_sales;
        addv(&mut self.commission, &o.commission);
        addv(&mut self.fees, &o.fees);
        addv(&mut self.listing_fees, &o.listing_fees);
        self.paid += o.paid;
        self.merchant_revenue += o.merchant_revenue;
        self.unit_cost += o.unit_cost;
        self.consumer_surplus += o.consumer_surplus;
        self.wtp += o.wtp;
        self.friction += o.friction;
        addv(&mut self.shares, &o.shares);
        self.recipients += o.recipients;
        self.delivered_open += o.delivered_open;
        self.delivered_blocked += o.delivered_blocked;
        self.overflow += o.overflow;
        self.followed_open += o.followed_open;
        self.followed_token += o.followed_token;
        self.lost += o.lost;
        self.expired += o.expired;
        self.stale += o.stale;
        self.revision_adopt += o.revision_adopt;
        self.app_joins += o.app_joins;
        self.wallet_drops += o.wallet_drops;
        self.app_drops += o.app_drops;
        self.merchant_multihomers += o.merchant_multihomers;
        addv(&mut self.listings, &o.listings);
        self.events += o.events;
    }
}
