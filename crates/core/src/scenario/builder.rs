//! Scenarios built in code instead of read from a file: [`ScenarioBuilder`] and the typed
//! presets of the policy settings. The builder writes the same TOML tree a file would hold and
//! loads it through the same path as a file, so every check and diagnostic (key, expectation,
//! suggestion) is the file's, and a built scenario has the same runs, seeds and results as the
//! file with the same settings.

use super::{from_text_with, Plan, ScenarioError, Setting};
use std::fmt;
use std::path::PathBuf;

/// Link-blocking preset (`policy.links`): which links shared on a social platform to another
/// ecosystem's platforms open (MODEL §2.6). A link to the sharer's own ecosystem always opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkPreset {
    /// Every cross-ecosystem link blocked (the world before the regulator's order).
    Walled,
    /// Direct messages open, group chats and feeds blocked (the first step of unblocking).
    DmOpen,
    /// Every channel open.
    Open,
}

impl LinkPreset {
    /// Every preset, in the order of the file format's list.
    pub const ALL: [LinkPreset; 3] = [LinkPreset::Walled, LinkPreset::DmOpen, LinkPreset::Open];

    /// The name in a scenario file.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPreset::Walled => "walled",
            LinkPreset::DmOpen => "dm_open",
            LinkPreset::Open => "open",
        }
    }

    /// The preset of a file's name, if it is one.
    pub fn parse(name: &str) -> Option<LinkPreset> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// Whether channel `ch` (0 DM, 1 group, 2 feed) is open to other ecosystems.
    pub fn others_open(self, ch: usize) -> bool {
        match self {
            LinkPreset::Walled => false,
            LinkPreset::DmOpen => ch == 0,
            LinkPreset::Open => true,
        }
    }
}

/// Wallet-acceptance preset (`policy.wallets`): which wallets a platform that lists none
/// accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WalletPreset {
    /// Its ecosystem's own wallet and the banks' (each shop app takes only the house wallet).
    House,
    /// Every wallet.
    Interoperable,
}

impl WalletPreset {
    /// Every preset, in the order of the file format's list.
    pub const ALL: [WalletPreset; 2] = [WalletPreset::House, WalletPreset::Interoperable];

    /// The name in a scenario file.
    pub fn as_str(self) -> &'static str {
        match self {
            WalletPreset::House => "house",
            WalletPreset::Interoperable => "interoperable",
        }
    }

    /// The preset of a file's name, if it is one.
    pub fn parse(name: &str) -> Option<WalletPreset> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for LinkPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for WalletPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scenario written in code. Unset values take the file format's defaults (MODEL §7: the
/// default world of three ecosystems). `build` checks everything a file load checks and
/// returns the plan, or the same located problems a file would get (reported against the
/// file name given to [`ScenarioBuilder::new`]).
///
/// ```
/// use gardengate_core::scenario::{LinkPreset, ScenarioBuilder, WalletPreset};
/// use gardengate_core::Simulation;
///
/// let plan = ScenarioBuilder::new("dm-open")
///     .steps(30)
///     .consumers(5_000)
///     .links(LinkPreset::DmOpen)
///     .wallets(WalletPreset::Interoperable)
///     .set("revision.primary_switch", 0.5)
///     .build()?;
/// let mut sim = Simulation::new(plan.points[0].scenario.clone(), plan.runs[0].seed)?;
/// sim.run();
/// assert_eq!(sim.tallies().len(), 30);
///
/// // A bad value gets the file's diagnostic: the key, what was expected.
/// let err = ScenarioBuilder::new("bad").set("policy.tau", 1.5).build().unwrap_err();
/// assert!(err.to_string().contains("policy.tau"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ScenarioBuilder {
    table: toml::Table,
    settings: Vec<Setting>,
    base_dir: PathBuf,
    /// The master seed, applied as `--seed` applies it (TOML integers stop at i64::MAX).
    seed: Option<u64>,
}

impl ScenarioBuilder {
    /// A scenario named `name` (its outputs and diagnostics carry the name).
    pub fn new(name: &str) -> Self {
        let mut table = toml::Table::new();
        table.insert("name".into(), name.into());
        ScenarioBuilder {
            table,
            settings: Vec::new(),
            base_dir: PathBuf::from("."),
            seed: None,
        }
    }

    fn top(mut self, key: &str, v: impl Into<toml::Value>) -> Self {
        self.table.insert(key.into(), v.into());
        self
    }

    fn section(mut self, section: &str, key: &str, v: impl Into<toml::Value>) -> Self {
        let t = self
            .table
            .entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(t) = t {
            t.insert(key.into(), v.into());
        }
        self
    }

    /// The master seed (each run's seed derives from it, the point and the replicate).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Steps (days, by default) of every run.
    pub fn steps(self, steps: u32) -> Self {
        self.top("steps", i64::from(steps))
    }

    /// Replicates (runs with different seeds) of the scenario.
    pub fn replicates(self, n: u32) -> Self {
        self.top("replicates", i64::from(n))
    }

    /// The date of step 0 (`YYYY-MM-DD`).
    pub fn start_date(self, date: &str) -> Self {
        self.top("start_date", date)
    }

    /// Number of consumers.
    pub fn consumers(self, n: u64) -> Self {
        self.section("consumers", "count", n as i64)
    }

    /// Number of merchants (default: a tenth of the consumers).
    pub fn merchants(self, n: u64) -> Self {
        self.section("merchants", "count", n as i64)
    }

    /// The link-blocking preset.
    pub fn links(self, preset: LinkPreset) -> Self {
        self.section("policy", "links", preset.as_str())
    }

    /// The wallet-acceptance preset.
    pub fn wallets(self, preset: WalletPreset) -> Self {
        self.section("policy", "wallets", preset.as_str())
    }

    /// τ, the share of a blocked link's buyers who copy the token into the shop app.
    pub fn tau(self, tau: f64) -> Self {
        self.section("policy", "tau", tau)
    }

    /// Any value at a dotted path, as a one-point sweep sets it (`revision.primary_switch`,
    /// `platforms.taobao.default_pull`, an event's `date`): same paths, same checks.
    pub fn set(mut self, path: &str, value: impl Into<toml::Value>) -> Self {
        self.settings.push(Setting {
            path: path.to_string(),
            value: value.into(),
            key: path.to_string(),
        });
        self
    }

    /// The folder relative paths (an edge-list file) are read from.
    pub fn base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.base_dir = dir.into();
        self
    }

    /// The scenario as the TOML text of a file (what `build` loads).
    pub fn to_toml(&self) -> String {
        // A table of strings, numbers and tables always serializes.
        toml::to_string(&self.table).unwrap_or_default()
    }

    /// Checks and resolves the scenario into its plan of runs.
    pub fn build(&self) -> Result<Plan, ScenarioError> {
        let name = self
            .table
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or("scenario");
        let plan = from_text_with(
            &self.to_toml(),
            &format!("{name} (built)"),
            &self.base_dir,
            &self.settings,
        )?;
        Ok(plan.with_overrides(self.seed, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_round_trip_their_names() {
        for p in LinkPreset::ALL {
            assert_eq!(LinkPreset::parse(p.as_str()), Some(p));
        }
        for p in WalletPreset::ALL {
            assert_eq!(WalletPreset::parse(&p.to_string()), Some(p));
        }
        assert_eq!(LinkPreset::parse("dm-open"), None);
        assert!(LinkPreset::DmOpen.others_open(0) && !LinkPreset::DmOpen.others_open(1));
    }

    #[test]
    fn a_built_scenario_equals_the_file_with_the_same_settings() {
        let built = ScenarioBuilder::new("x")
            .seed(7)
            .steps(12)
            .consumers(3_000)
            .links(LinkPreset::Open)
            .wallets(WalletPreset::Interoperable)
            .tau(0.2)
            .build()
            .expect("valid");
        let text = "name = \"x\"\nseed = 7\nsteps = 12\n[consumers]\ncount = 3000\n\
                    [policy]\nlinks = \"open\"\nwallets = \"interoperable\"\ntau = 0.2\n";
        let file = super::super::from_text(text, "x.toml", ".".as_ref()).expect("valid");
        assert_eq!(built.points[0].scenario, file.points[0].scenario);
        assert_eq!(built.runs, file.runs);
        // Any u64 seed, as `--seed` takes it.
        let big = ScenarioBuilder::new("x")
            .steps(2)
            .consumers(500)
            .seed(u64::MAX);
        let plan = big.build().expect("valid");
        assert_eq!(plan.source.seed, u64::MAX);
        assert_eq!(plan.runs[0].seed, super::super::run_seed(u64::MAX, 0, 0));
    }
}
