//! The engine: agent state, the social graph, policies as state, and keyed random streams.
//! It knows nothing of the rules that move the state (see `model`).

pub mod graph;
pub mod policy;
/// Keyed random streams live in the leaf module `crate::rng` (the scenario layer derives run
/// seeds with them too); re-exported here because the engine is where they are used.
pub use crate::rng;
pub mod state;
