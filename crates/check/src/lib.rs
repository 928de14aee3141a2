//! gardengate-check: regression checks of model outputs against a baseline (exact and
//! statistical), with the reports of their results.

pub mod compare;
pub mod load;
pub mod structure;

/// What can go wrong in a check, before any comparison is made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The folder given is not what a check needs (exit code 2 at the command line).
    #[error("{0}")]
    Input(String),
    /// Reading a folder that looked right failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Error {
    pub(crate) fn input(message: impl Into<String>) -> Error {
        Error::Input(message.into())
    }
}
