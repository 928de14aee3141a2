//! The one error type of the file-and-run layers (io, charts, experiment), as polars has one
//! `PolarsError` for all its crates: a `thiserror` enum, with `bail!`/`ensure!`/`err!` macros
//! and a [`Context`] trait that says what was being done when an error happened.
//!
//! Messages print as a chain, `what was being done: why it failed`, the way the command line
//! has always printed them. The chain is in the message itself (the `Context` variant displays
//! its inner error and does not also report it as a `source()`), so a caller that prints an
//! error's sources as well never prints a cause twice.

use std::fmt::Display;

/// What went wrong while reading, writing, running or drawing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A scenario that does not resolve (file, line, key, expectation, suggestion), or a world
    /// that cannot be built.
    #[error(transparent)]
    Core(#[from] gardengate_core::Error),
    /// The operating system refused a read or a write.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// polars could not read, write or combine a table.
    #[error(transparent)]
    Polars(#[from] polars::prelude::PolarsError),
    /// A JSON record (`plan.json`, a batch record, the manifest) that does not parse.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// What was asked for, or what is on disk, is not what gardengate expects; the message
    /// says what was expected and, where there is one, the fix.
    #[error("{0}")]
    Invalid(String),
    /// A chart could not be drawn (the message is the drawing library's).
    #[error("{0}")]
    Chart(String),
    /// The caller asked the run to stop (a notebook's Ctrl-C) and it did, between steps.
    #[error("interrupted: the runs finished so far are kept (resume to go on)")]
    Interrupted,
    /// An error, with what was being done when it happened.
    #[error("{context}: {inner}")]
    Context {
        /// What was being done ("reading output/x/plan.json").
        context: String,
        /// Why it failed.
        inner: Box<Error>,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Invalid`] with this message.
    pub fn invalid(message: impl Display) -> Error {
        Error::Invalid(message.to_string())
    }

    /// The innermost error, below every [`Error::Context`].
    pub fn root(&self) -> &Error {
        match self {
            Error::Context { inner, .. } => inner.root(),
            e => e,
        }
    }

    /// Whether the run stopped because it was asked to.
    pub fn is_interrupted(&self) -> bool {
        matches!(self.root(), Error::Interrupted)
    }
}

/// Says what was being done when an error happened (`anyhow`'s `Context`, for [`Error`]).
pub trait Context<T> {
    /// Wraps the error with `context`.
    fn context<C: Display>(self, context: C) -> Result<T>;
    /// Wraps the error with the context `f` makes (only made on error).
    fn with_context<C: Display, F: FnOnce() -> C>(self, f: F) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context<C: Display>(self, context: C) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: context.to_string(),
            inner: Box::new(e.into()),
        })
    }

    fn with_context<C: Display, F: FnOnce() -> C>(self, f: F) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: f().to_string(),
            inner: Box::new(e.into()),
        })
    }
}

impl<T> Context<T> for Option<T> {
    fn context<C: Display>(self, context: C) -> Result<T> {
        self.ok_or_else(|| Error::invalid(context))
    }

    fn with_context<C: Display, F: FnOnce() -> C>(self, f: F) -> Result<T> {
        self.ok_or_else(|| Error::invalid(f()))
    }
}

/// An [`Error::Invalid`] from a format string: `err!("batch {k} has no runs")`.
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::Error::Invalid(format!($($arg)*))
    };
}

/// Returns early with an [`Error::Invalid`] from a format string.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::err!($($arg)*).into())
    };
}

/// Returns early with an [`Error::Invalid`] unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::bail!($($arg)*);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &str) -> Result<String> {
        std::fs::read_to_string(path).with_context(|| format!("reading {path}"))
    }

    #[test]
    fn context_chains_print_once_and_in_order() {
        let e = read("/nonexistent/gardengate/plan.json")
            .context("resuming output/x")
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("resuming output/x: reading /nonexistent/gardengate/plan.json: "),
            "{text}"
        );
        // The OS message appears once: the chain is in the message, not also in source().
        assert_eq!(text.matches("No such file").count(), 1, "{text}");
        assert!(std::error::Error::source(&e).is_none());
        assert!(matches!(e.root(), Error::Io(_)));
    }

    #[test]
    fn macros_make_invalid_errors() {
        fn f(k: u32) -> Result<u32> {
            ensure!(k < 3, "batch {k}: expected < 3");
            if k == 2 {
                bail!("batch {k} has no runs");
            }
            Ok(k)
        }
        assert_eq!(f(1).unwrap(), 1);
        assert_eq!(f(2).unwrap_err().to_string(), "batch 2 has no runs");
        assert_eq!(f(5).unwrap_err().to_string(), "batch 5: expected < 3");
        let none: Option<u8> = None;
        assert_eq!(
            none.context("no run").unwrap_err().to_string(),
            "no run".to_string()
        );
        assert!(Error::Context {
            context: "x".into(),
            inner: Box::new(Error::Interrupted)
        }
        .is_interrupted());
    }
}
