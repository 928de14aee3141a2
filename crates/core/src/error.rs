//! The core's one error type.

/// What can go wrong in the core: a scenario that does not resolve (with its diagnostics:
/// file, line, key, expectation, suggestion), or a world that cannot be built from a resolved
/// scenario (an edge list whose node ids do not fit the consumer count).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario's problems, each located and with a suggestion where there is one.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// The world could not be built.
    #[error("{0}")]
    World(String),
}
