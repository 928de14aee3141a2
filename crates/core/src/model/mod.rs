//! The rules of the reference model (MODEL.md §1–2) acting on the engine's state:
//! initial draws (`init`), one step (`step`: the consumer phase, with checkout and the wallet
//! habit in `checkout` and the combine phase in `combine`), merchant revision (`merchants`),
//! and the raw per-step tallies they produce (`tally`).

pub mod checkout;
mod combine;
pub mod init;
pub mod merchants;
pub mod step;
pub mod tally;

use crate::engine::state::World;
use crate::scenario::Scenario;
use std::sync::Arc;
pub use tally::Tally;

/// A run in progress: the world and the tallies of the steps run so far.
///
/// The world is read-only from outside the model (its state changes only by the rules of a
/// step), so the fields are private and read through [`Simulation::world`] and
/// [`Simulation::tallies`].
///
/// ```
/// use gardengate_core::{metrics, scenario, Simulation};
///
/// let plan = scenario::from_text("steps = 5\n[consumers]\ncount = 1000\n", "inline.toml", ".".as_ref())
///     .expect("valid scenario");
/// let mut sim = Simulation::new(plan.points[0].scenario.clone(), 7).expect("world builds");
/// let mut trips = Vec::new();
/// sim.run_observed(|_world, tally| trips.push(tally.trips));
/// assert_eq!(trips.len(), 5);
/// let table = metrics::of(&sim); // the per-step table, in memory
/// assert_eq!(table.rows(), 5);
/// ```
#[derive(Debug)]
pub struct Simulation {
    world: World,
    tallies: Vec<Tally>,
}

impl Simulation {
    /// Builds the initial world of `scenario` for `seed` (a run seed: `Plan::runs[k].seed`,
    /// or any number for a one-off run).
    pub fn new(scenario: impl Into<Arc<Scenario>>, seed: u64) -> Result<Self, crate::Error> {
        Ok(Simulation {
            world: init::build_world(scenario.into(), seed).map_err(crate::Error::World)?,
            tallies: Vec::new(),
        })
    }

    /// Runs one step; returns its tally.
    pub fn step(&mut self) -> &Tally {
        let t = step::step(&mut self.world);
        self.tallies.push(t);
        &self.tallies[self.tallies.len() - 1]
    }

    /// Runs the remaining steps of the scenario.
    pub fn run(&mut self) {
        self.run_observed(|_: &World, _: &Tally| {});
    }

    /// Runs the remaining steps, showing each to `observe` as it ends: the world after the
    /// step and the step's tally, read-only (the hook cannot change the run).
    pub fn run_observed(&mut self, mut observe: impl FnMut(&World, &Tally)) {
        while !self.finished() {
            self.step();
            let last = &self.tallies[self.tallies.len() - 1];
            observe(&self.world, last);
        }
    }

    /// Whether all steps have run.
    pub fn finished(&self) -> bool {
        self.world.step >= self.world.scenario.steps
    }

    /// The state after the steps run so far.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// One tally per step run so far.
    pub fn tallies(&self) -> &[Tally] {
        &self.tallies
    }

    /// The scenario this run follows.
    pub fn scenario(&self) -> &Arc<Scenario> {
        &self.world.scenario
    }
}
