//! Publication-quality charts (PNG and SVG) for the simulator's reports.
//!
//! Everything is rendered headless with `plotters` and a font embedded in the
//! binary, so charts look identical on every machine and no fontconfig or
//! system font is needed (CI containers and HPC nodes rarely have either).
//! Every chart is written twice: PNG for quick viewing and slide decks, SVG
//! for papers, where vector output survives journal typesetting.
//!
//! The functions never panic on odd data (NaN, empty, constant series);
//! they either draw what can be drawn or return an error with context, so a
//! bad metric cannot abort a long experiment at the reporting stage.

use std::ffi::OsString;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gardengate_core::scenario::calendar::days_from_civil;
use gardengate_io::{bail, err, Context};
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

mod axes;
mod bars;
mod error;
mod fit;
mod font;
mod forest;
mod heatmap;
mod legend;
mod render;
pub mod sensitivity;
mod style;
#[cfg(test)]
mod tests;
mod time;

use axes::*;
use bars::*;
pub use error::{Error, Result};
pub use fit::{fit_plot, FitMark};
use font::*;
pub use forest::forest_plot;
use heatmap::*;
use legend::*;
use render::*;
use style::*;
use time::*;

/// One line with a confidence band. x values are step numbers (0-based).
///
/// `lo`/`hi` may be shorter than `mean` or hold NaN: the band then collapses
/// onto the mean at those points, because replications with a single run
/// have no interval and should still be plotted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Legend text; the same label gets the same colour in every panel so
    /// readers can follow one scenario across sub-plots.
    pub label: String,
    /// Step numbers (0-based); non-finite entries are skipped.
    pub x: Vec<f64>,
    /// Central estimate (typically the mean over replications).
    pub mean: Vec<f64>,
    /// Lower end of the confidence band.
    pub lo: Vec<f64>,
    /// Upper end of the confidence band.
    pub hi: Vec<f64>,
}

/// One sub-plot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Panel {
    /// Heading drawn above the sub-plot (e.g. the metric name).
    pub title: String,
    /// Lines drawn in this sub-plot, each with its band.
    pub series: Vec<Series>,
}

/// A vertical marker at a step (a policy event).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventMark {
    /// Step at which the event takes effect, in the same units as `Series::x`.
    pub step: f64,
    /// Short text written next to the marker (e.g. "DMA in force").
    pub label: String,
}

/// How the time axis is labelled: when start_date is Some((y,m,d)), tick labels are ISO dates (step 0 = that date, one step = `days_per_step` days); otherwise step numbers.
///
/// Economists read calendar dates far more easily than step counts, but
/// abstract experiments have no calendar, so both are supported.
/// A `days_per_step` of 0 is treated as 1 rather than collapsing every tick
/// onto the same date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeAxis {
    /// Calendar date of step 0 as (year, month, day); `None` for plain steps.
    pub start_date: Option<(i32, u32, u32)>,
    /// Length of one simulation step in days.
    pub days_per_step: u32,
}

impl Default for TimeAxis {
    /// Plain step numbers, because most experiments have no calendar.
    fn default() -> Self {
        TimeAxis {
            start_date: None,
            days_per_step: 1,
        }
    }
}

/// Line charts with CI bands, one panel per element of `panels` laid out in a grid; writes `<stem>.png` and `<stem>.svg`.
///
/// Panels are placed in a grid of up to three columns; the image grows with
/// the number of panels so each sub-plot stays legible. Events outside a
/// panel's x range are not drawn there.
pub fn time_panels(
    stem: &Path,
    title: &str,
    y_label: &str,
    panels: &[Panel],
    axis: &TimeAxis,
    events: &[EventMark],
) -> Result<()> {
    time_panels_in(stem, title, y_label, panels, axis, events, None)
}

/// [`time_panels`] with the y axis spanning at least `y_range` (shares: `Some((0.0, 1.0))`),
/// whatever the data, so panels and charts compare at a glance.
pub fn time_panels_in(
    stem: &Path,
    title: &str,
    y_label: &str,
    panels: &[Panel],
    axis: &TimeAxis,
    events: &[EventMark],
    y_range: Option<(f64, f64)>,
) -> Result<()> {
    let start_day = match axis.start_date {
        Some((y, m, d)) => {
            if !(1..=12).contains(&m) || d == 0 || d > days_in_month(i64::from(y), m) {
                bail!("time axis start date {y:04}-{m:02}-{d:02} is not a valid calendar date");
            }
            Some(days_from_civil(i64::from(y), m, d))
        }
        None => None,
    };
    let fig = TimeFigure {
        title,
        y_label,
        panels,
        start_day,
        days_per_step: axis.days_per_step.max(1),
        events,
        colours: colour_by_label(panels),
        y_range,
    };
    Ok(write_both(stem, &fig)
        .with_context(|| format!("writing time-series chart {}", stem.display()))?)
}

/// Grouped bar chart with error bars: groups on the x axis (e.g. sweep points), one bar per component within a group (e.g. consumer surplus, merchant profit, platform revenue). values[g][c] = (mean, ci_half_width).
///
/// Missing entries (ragged `values`) and NaN means are left as gaps rather
/// than failing the whole figure; a NaN or zero half width omits the error
/// bar, and a negative one is read as its magnitude.
pub fn grouped_bars(
    stem: &Path,
    title: &str,
    y_label: &str,
    groups: &[String],
    components: &[String],
    values: &[Vec<(f64, f64)>],
) -> Result<()> {
    let fig = BarFigure {
        title,
        y_label,
        groups,
        components,
        values,
    };
    Ok(write_both(stem, &fig).with_context(|| format!("writing bar chart {}", stem.display()))?)
}

/// Heatmap of z[y][x] with a colour scale legend and the value printed in each cell.
///
/// Row 0 of `z` is drawn at the bottom, so the y axis increases upwards as in
/// a conventional parameter plane. Ragged rows and NaN cells are drawn as
/// grey "n/a" cells instead of failing, since sweeps often have holes.
#[allow(clippy::too_many_arguments)] // The public signature is fixed by the reporting layer.
pub fn heatmap(
    stem: &Path,
    title: &str,
    x_label: &str,
    x_ticks: &[String],
    y_label: &str,
    y_ticks: &[String],
    z: &[Vec<f64>],
    z_label: &str,
) -> Result<()> {
    draw_heatmap(
        stem, title, x_label, x_ticks, y_label, y_ticks, z, z_label, false,
    )
}

/// [`heatmap`] of effects (signed differences): a diverging scale centred at 0 and running
/// to ±max |z| (red below 0, blue above, white at 0), so the sign reads at a glance and
/// equal magnitudes get equal strength.
#[allow(clippy::too_many_arguments)] // The same shape as `heatmap`.
pub fn effect_heatmap(
    stem: &Path,
    title: &str,
    x_label: &str,
    x_ticks: &[String],
    y_label: &str,
    y_ticks: &[String],
    z: &[Vec<f64>],
    z_label: &str,
) -> Result<()> {
    draw_heatmap(
        stem, title, x_label, x_ticks, y_label, y_ticks, z, z_label, true,
    )
}

/// The one heatmap builder behind [`heatmap`] and [`effect_heatmap`].
#[allow(clippy::too_many_arguments)]
fn draw_heatmap(
    stem: &Path,
    title: &str,
    x_label: &str,
    x_ticks: &[String],
    y_label: &str,
    y_ticks: &[String],
    z: &[Vec<f64>],
    z_label: &str,
    diverging: bool,
) -> Result<()> {
    let fig = HeatFigure {
        title,
        x_label,
        x_ticks,
        y_label,
        y_ticks,
        z,
        z_label,
        diverging,
    };
    Ok(write_both(stem, &fig).with_context(|| format!("writing heatmap {}", stem.display()))?)
}
