//! The rules of the reference model (MODEL.md §1–2) acting on the engine's state:
//! initial draws (`init`), one step (`step`), merchant revision (`merchants`), and the raw
//! per-step tallies they produce (`tally`).

pub mod init;
pub mod merchants;
pub mod step;
pub mod tally;

use crate::engine::state::World;
use crate::scenario::Scenario;
use std::sync::Arc;
pub use tally::Tally;

/// A run in progress: the world and the tallies of the steps run so far.
#[derive(Debug)]
pub struct Simulation {
    /// The state.
    pub world: World,
    /// One tally per step run.
    pub tallies: Vec<Tally>,
}

impl Simulation {
    /// Builds the initial world of `scenario` for `seed`.
    pub fn new(scenario: Arc<Scenario>, seed: u64) -> Result<Self, String> {
        Ok(Simulation {
            world: init::build_world(scenario, seed)?,
            tallies: Vec::new(),
        })
    }

    /// Runs one step; returns its tally.
    pub fn step(&mut self) -> &Tally {
        let t = step::step(&mut self.world);
        self.tallies.push(t);
        self.tallies.last().expect("just pushed")
    }

    /// Runs the remaining steps of the scenario.
    pub fn run(&mut self) {
        while self.world.step < self.world.scenario.steps {
            self.step();
        }
    }

    /// Whether all steps have run.
    pub fn finished(&self) -> bool {
        self.world.step >= self.world.scenario.steps
    }
}
