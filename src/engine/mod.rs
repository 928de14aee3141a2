//! The engine: agent state, the social graph, policies as state, and keyed random streams.
//! It knows nothing of the rules that move the state (see `model`).

pub mod graph;
pub mod policy;
pub mod rng;
pub mod state;
