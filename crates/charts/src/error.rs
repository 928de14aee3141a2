//! The charts' error: a figure that plotters could not draw, or a file that could not be
//! written. It converts into the file-and-run layers' `gardengate_io::Error` (as
//! `Error::Chart`), so callers see one error type.

use plotters::drawing::DrawingAreaErrorKind;

/// What went wrong while drawing or writing a chart.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// plotters could not draw the figure (the message is plotters').
    #[error("{0}")]
    Draw(String),
    /// A chart file could not be written.
    #[error(transparent)]
    File(#[from] gardengate_io::Error),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for Error {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        Error::Draw(e.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::File(e.into())
    }
}

impl From<Error> for gardengate_io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Draw(m) => gardengate_io::Error::Chart(m),
            Error::File(e) => e,
        }
    }
}
