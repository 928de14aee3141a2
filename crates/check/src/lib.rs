//! gardengate-check: regression checks of model outputs against a baseline (exact and
//! statistical), with the reports of their results.

pub mod compare;
mod exact;
pub mod load;
mod report;
mod run;
mod stat;
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

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Returns early with an [`Error::Input`] from a format string.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::Error::Input(format!($($arg)*)))
    };
}
pub(crate) use bail;

impl Error {
    pub(crate) fn input(message: impl Into<String>) -> Error {
        Error::Input(message.into())
    }
}
