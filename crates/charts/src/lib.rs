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

use anyhow::{anyhow, bail, Context, Result};
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

mod fit;
mod forest;
pub mod sensitivity;
pub use fit::{fit_plot, FitMark};
pub use forest::forest_plot;

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
    write_both(stem, &fig).with_context(|| format!("writing time-series chart {}", stem.display()))
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
    write_both(stem, &fig).with_context(|| format!("writing bar chart {}", stem.display()))
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
    let fig = HeatFigure {
        title,
        x_label,
        x_ticks,
        y_label,
        y_ticks,
        z,
        z_label,
        diverging: false,
    };
    write_both(stem, &fig).with_context(|| format!("writing heatmap {}", stem.display()))
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
    let fig = HeatFigure {
        title,
        x_label,
        x_ticks,
        y_label,
        y_ticks,
        z,
        z_label,
        diverging: true,
    };
    write_both(stem, &fig).with_context(|| format!("writing heatmap {}", stem.display()))
}

// ---------------------------------------------------------------------------
// Fonts, files and shared plumbing
// ---------------------------------------------------------------------------

/// Family name every text element uses; plotters looks fonts up by it.
pub(crate) const FAMILY: &str = "sans-serif";

/// Embedded so rendering never depends on fonts installed on the host.
static FONT_BYTES: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

// Sizes in pixels, chosen so text stays legible when a 1200 px wide figure
// is scaled down to the text width of a paper.
const TITLE_SIZE: u32 = 32;
const PANEL_TITLE_SIZE: u32 = 24;
pub(crate) const DESC_SIZE: u32 = 20;
pub(crate) const TICK_SIZE: u32 = 17;
const LEGEND_SIZE: u32 = 17;
const EVENT_SIZE: u32 = 15;
/// Rough advance width of a DejaVu Sans character as a fraction of the font
/// size, used to size label areas before anything is drawn.
const CHAR_W: f64 = 0.6;

/// Registers the embedded font exactly once; plotters keeps a global table,
/// and re-registering from parallel tests would only churn a write lock.
fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    static PATCHED: OnceLock<Vec<u8>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let patched: &'static [u8] = PATCHED
                .get_or_init(|| anchor_glyphs_at_origin(FONT_BYTES).unwrap_or_default())
                .as_slice();
            let register = |bytes: &'static [u8]| {
                plotters::style::register_font(FAMILY, FontStyle::Normal, bytes).is_ok()
            };
            // The unpatched font still renders, only with uneven spacing.
            if (!patched.is_empty() && register(patched)) || register(FONT_BYTES) {
                Ok(())
            } else {
                Err("the embedded DejaVu Sans font could not be parsed".to_string())
            }
        })
        .clone()
        .map_err(|e| anyhow!(e))
}

// ---------------------------------------------------------------------------
// Font patch for plotters' ab_glyph text path
// ---------------------------------------------------------------------------
//
// plotters 0.3.7 (ab_glyph feature) draws each glyph's bitmap at the pen
// position but forgets the glyph's left side bearing, so letters with a wide
// bearing ("1", "i", "l") sit too far left and words look broken apart
// ("Interop erability", "1 5%"). The bitmap starts at the left edge of the
// glyph's outline bounding box; adding a zero-area, one-point contour at
// x = 0 to every glyph makes that box start exactly at the pen, so the
// bearing survives inside the bitmap and spacing becomes correct. The SVG
// output is unaffected (viewers lay out the text themselves).

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn put32(b: &mut [u8], at: usize, v: u32) -> Option<()> {
    b.get_mut(at..at + 4)?.copy_from_slice(&v.to_be_bytes());
    Some(())
}

/// Where a TrueType font keeps its glyph data, plus each glyph's bytes.
struct FontGlyphs<'a> {
    head: usize,
    loca_rec: usize,
    glyf_rec: usize,
    glyphs: Vec<&'a [u8]>,
}

fn font_glyphs(font: &[u8]) -> Option<FontGlyphs<'_>> {
    let num_tables = usize::from(be16(font, 4)?);
    let table = |tag: &[u8; 4]| -> Option<(usize, usize, usize)> {
        let rec = (0..num_tables)
            .map(|i| 12 + 16 * i)
            .find(|&r| font.get(r..r + 4) == Some(&tag[..]))?;
        Some((
            rec,
            usize::try_from(be32(font, rec + 8)?).ok()?,
            usize::try_from(be32(font, rec + 12)?).ok()?,
        ))
    };
    let (_, head, _) = table(b"head")?;
    let (_, maxp, _) = table(b"maxp")?;
    let (loca_rec, loca, _) = table(b"loca")?;
    let (glyf_rec, glyf, glyf_len) = table(b"glyf")?;
    let long_loca = be16(font, head + 50)? == 1;
    let num_glyphs = usize::from(be16(font, maxp + 4)?);
    let glyph_at = |g: usize| -> Option<usize> {
        if long_loca {
            usize::try_from(be32(font, loca + 4 * g)?).ok()
        } else {
            Some(2 * usize::from(be16(font, loca + 2 * g)?))
        }
    };
    let glyf_data = font.get(glyf..glyf + glyf_len)?;
    let glyphs = (0..num_glyphs)
        .map(|g| glyf_data.get(glyph_at(g)?..glyph_at(g + 1)?))
        .collect::<Option<Vec<_>>>()?;
    Some(FontGlyphs {
        head,
        loca_rec,
        glyf_rec,
        glyphs,
    })
}

/// Returns a copy of a TrueType font whose simple glyphs all carry an
/// anchor point at x = 0, with `glyf`/`loca` rebuilt (long offsets) at the
/// end of the file. `None` when the font is not laid out as expected.
fn anchor_glyphs_at_origin(font: &[u8]) -> Option<Vec<u8>> {
    let FontGlyphs {
        head,
        loca_rec,
        glyf_rec,
        glyphs,
    } = font_glyphs(font)?;
    let glyf_len: usize = glyphs.iter().map(|g| g.len()).sum();
    let mut new_glyf: Vec<u8> = Vec::with_capacity(glyf_len * 2);
    let mut new_loca: Vec<u32> = Vec::with_capacity(glyphs.len() + 1);
    for data in glyphs {
        new_loca.push(u32::try_from(new_glyf.len()).ok()?);
        match anchored_glyph(data) {
            Some(patched) => new_glyf.extend_from_slice(&patched),
            None => new_glyf.extend_from_slice(data),
        }
        new_glyf.resize(new_glyf.len().next_multiple_of(4), 0);
    }
    new_loca.push(u32::try_from(new_glyf.len()).ok()?);

    let mut out = font.to_vec();
    out.resize(out.len().next_multiple_of(4), 0);
    let loca_off = u32::try_from(out.len()).ok()?;
    for o in &new_loca {
        out.extend_from_slice(&o.to_be_bytes());
    }
    let glyf_off = u32::try_from(out.len()).ok()?;
    let glyf_new_len = u32::try_from(new_glyf.len()).ok()?;
    out.extend_from_slice(&new_glyf);
    put32(&mut out, loca_rec + 8, loca_off)?;
    put32(
        &mut out,
        loca_rec + 12,
        u32::try_from(new_loca.len() * 4).ok()?,
    )?;
    put32(&mut out, glyf_rec + 8, glyf_off)?;
    put32(&mut out, glyf_rec + 12, glyf_new_len)?;
    out.get_mut(head + 50..head + 52)?
        .copy_from_slice(&1u16.to_be_bytes());
    Some(out)
}

/// Decoded simple glyph: contour end points, hinting instructions, flags
/// and absolute coordinates.
struct SimpleGlyph<'a> {
    end_pts: Vec<u16>,
    instructions: &'a [u8],
    flags: Vec<u8>,
    xs: Vec<i32>,
    ys: Vec<i32>,
}

/// Parses a simple (non-composite) `glyf` entry; `None` for composite,
/// empty or malformed glyphs.
fn decode_simple(data: &[u8]) -> Option<SimpleGlyph<'_>> {
    let contours = be16(data, 0)? as i16;
    if contours <= 0 {
        return None;
    }
    let n = contours as usize;
    let end_pts: Vec<u16> = (0..n)
        .map(|i| be16(data, 10 + 2 * i))
        .collect::<Option<_>>()?;
    let total = usize::from(*end_pts.last()?) + 1;
    let mut p = 10 + 2 * n;
    let ins_len = usize::from(be16(data, p)?);
    let instructions = data.get(p + 2..p + 2 + ins_len)?;
    p += 2 + ins_len;

    let mut flags = Vec::with_capacity(total);
    while flags.len() < total {
        let f = *data.get(p)?;
        p += 1;
        let repeat = if f & 0x08 != 0 {
            p += 1;
            usize::from(*data.get(p - 1)?)
        } else {
            0
        };
        flags.extend(std::iter::repeat_n(f, repeat + 1));
    }
    if flags.len() != total {
        return None;
    }
    let mut read_coords = |short: u8, same_or_positive: u8| -> Option<Vec<i32>> {
        let mut v = 0i32;
        let mut out = Vec::with_capacity(total);
        for &f in &flags {
            if f & short != 0 {
                let d = i32::from(*data.get(p)?);
                p += 1;
                v += if f & same_or_positive != 0 { d } else { -d };
            } else if f & same_or_positive == 0 {
                v += i32::from(be16(data, p)? as i16);
                p += 2;
            }
            out.push(v);
        }
        Some(out)
    };
    let xs = read_coords(0x02, 0x10)?;
    let ys = read_coords(0x04, 0x20)?;
    Some(SimpleGlyph {
        end_pts,
        instructions,
        flags,
        xs,
        ys,
    })
}

/// One simple glyph with an extra one-point contour at (0, y of its first
/// point), so its x extent starts at 0 while its y extent is unchanged.
/// `None` leaves the glyph as it is: composite or empty glyphs (their
/// components are patched), glyphs already starting at or left of the pen,
/// and anything malformed.
fn anchored_glyph(data: &[u8]) -> Option<Vec<u8>> {
    let contours = be16(data, 0)? as i16;
    let x_min = be16(data, 2)? as i16;
    if contours <= 0 || contours == i16::MAX || x_min <= 0 {
        return None;
    }
    let g = decode_simple(data)?;
    let total = g.flags.len();

    let mut out = Vec::with_capacity(data.len() + 4 * total + 16);
    out.extend_from_slice(&(contours + 1).to_be_bytes());
    out.extend_from_slice(&0i16.to_be_bytes());
    out.extend_from_slice(data.get(4..10)?);
    for e in &g.end_pts {
        out.extend_from_slice(&e.to_be_bytes());
    }
    out.extend_from_slice(&u16::try_from(total).ok()?.to_be_bytes());
    out.extend_from_slice(&u16::try_from(g.instructions.len()).ok()?.to_be_bytes());
    out.extend_from_slice(g.instructions);
    // Only the on-curve bit is kept; every coordinate is re-encoded as an
    // explicit 16-bit delta, which is valid and keeps the encoder trivial.
    out.extend(g.flags.iter().map(|f| f & 0x01));
    out.push(0x01);
    let anchor_y = *g.ys.first()?;
    for coords in [
        g.xs.iter().copied().chain([0]).collect::<Vec<_>>(),
        g.ys.iter().copied().chain([anchor_y]).collect(),
    ] {
        let mut prev = 0i32;
        for c in coords {
            out.extend_from_slice(&i16::try_from(c - prev).ok()?.to_be_bytes());
            prev = c;
        }
    }
    Some(out)
}

/// A chart that can be drawn on any plotters backend, so the PNG and the SVG
/// come from one piece of drawing code and cannot drift apart.
pub(crate) trait Figure {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static;
}

/// Writes `<stem>.png` and `<stem>.svg`, each via a temporary file renamed
/// into place, so a reader (or a crash) never sees a half-written chart.
pub(crate) fn write_both<F: Figure>(stem: &Path, fig: &F) -> Result<()> {
    ensure_font()?;
    let name = stem
        .file_name()
        .ok_or_else(|| anyhow!("chart path {} has no file name", stem.display()))?;
    let dir = stem.parent().unwrap_or_else(|| Path::new(""));
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating chart folder {}", dir.display()))?;
    }
    for ext in ["png", "svg"] {
        let final_path = dir.join(with_suffix("", name, &format!(".{ext}")));
        // The temporary name keeps the real extension, from which plotters picks the encoder.
        gardengate_io::atomic::write_with(&final_path, |tmp| render_to(tmp, ext == "png", fig))
            .map_err(|e| e.context(format!("rendering {}", final_path.display())))?;
    }
    Ok(())
}

fn with_suffix(prefix: &str, name: &std::ffi::OsStr, suffix: &str) -> PathBuf {
    let mut s = OsString::from(prefix);
    s.push(name);
    s.push(suffix);
    PathBuf::from(s)
}

/// Renders one file. Plotters has internal asserts we cannot fully rule out
/// for pathological inputs, so a panic is turned into an error: losing one
/// chart is better than losing a whole experiment run.
fn render_to<F: Figure>(path: &Path, png: bool, fig: &F) -> Result<()> {
    let size = fig.size();
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<()> {
        if png {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            root.fill(&WHITE)?;
            fig.draw(&root)?;
            root.present()?;
        } else {
            let root = SVGBackend::new(path, size).into_drawing_area();
            root.fill(&WHITE)?;
            fig.draw(&root)?;
            root.present()?;
        }
        Ok(())
    }));
    match outcome {
        Ok(result) => result,
        Err(_) => bail!("the chart renderer panicked"),
    }
}

/// Colour-blind-safe palette (Okabe–Ito first, then muted extras), because
/// printed papers are often read in greyscale or by colour-blind readers.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x00, 0x00, 0x00),
    RGBColor(0x8C, 0x56, 0x4B),
    RGBColor(0x7F, 0x7F, 0x7F),
    RGBColor(0xBC, 0xBD, 0x22),
];

pub(crate) fn palette(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Assigns colours by first appearance of each label across all panels so a
/// scenario keeps its colour in every sub-plot.
fn colour_by_label(panels: &[Panel]) -> Vec<(String, RGBColor)> {
    let mut out: Vec<(String, RGBColor)> = Vec::new();
    for s in panels.iter().flat_map(|p| p.series.iter()) {
        if !out.iter().any(|(l, _)| *l == s.label) {
            let c = palette(out.len());
            out.push((s.label.clone(), c));
        }
    }
    out
}

fn text_style(size: u32, colour: RGBColor, pos: Pos) -> TextStyle<'static> {
    TextStyle {
        font: (FAMILY, size).into_font(),
        color: colour.to_backend_color(),
        pos,
    }
}

fn centred() -> Pos {
    Pos::new(HPos::Center, VPos::Center)
}

/// Adds the figure title and returns the area below it; an empty title
/// leaves the full area rather than a blank strip.
pub(crate) fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>>
where
    DB::ErrorType: 'static,
{
    if title.trim().is_empty() {
        Ok(root.clone())
    } else {
        // A title wider than the figure would be clipped at both edges: shrink it to fit
        // (never below 20 px).
        let (w, _) = root.dim_in_pixel();
        let tw = root
            .estimate_text_size(title, &text_style(TITLE_SIZE, BLACK, centred()))
            .map_or(text_w(title, TITLE_SIZE), |(tw, _)| f64::from(tw));
        let room = f64::from(w.saturating_sub(40)).max(1.0);
        let size = if tw > room {
            ((f64::from(TITLE_SIZE) * room / tw).floor() as u32).max(20)
        } else {
            TITLE_SIZE
        };
        Ok(root.margin(8, 0, 0, 0).titled(title, (FAMILY, size))?)
    }
}

fn draw_no_data<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        "no data",
        (w as i32 / 2, h as i32 / 2),
        text_style(DESC_SIZE, RGBColor(110, 110, 110), centred()),
    ))?;
    Ok(())
}

/// Finite min/max of an iterator, or `None` when nothing finite is in it.
pub(crate) fn finite_bounds(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Axis range for data in `[lo, hi]` with fractions of the axis reserved
/// below and above; a zero span gets a margin so constant series still plot
/// as a visible flat line instead of a degenerate axis.
pub(crate) fn padded_range(bounds: Option<(f64, f64)>, frac_lo: f64, frac_hi: f64) -> (f64, f64) {
    let (lo, hi) = bounds.unwrap_or((0.0, 1.0));
    let (lo, hi) = if hi - lo > f64::EPSILON * lo.abs().max(hi.abs()).max(1e-300) {
        (lo, hi)
    } else {
        let m = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - m, hi + m)
    };
    let span = hi - lo;
    let total = span / (1.0 - frac_lo - frac_hi).max(0.2);
    let (a, b) = (lo - frac_lo * total, hi + frac_hi * total);
    if a.is_finite() && b.is_finite() && b > a {
        (a, b)
    } else {
        (0.0, 1.0)
    }
}

/// Tick label for an axis running from `lo` to `hi`: enough decimals to
/// tell ticks apart, thousands separators when the axis reaches five
/// digits (applied to every tick so labels on one axis look alike), and
/// scientific notation only for extreme magnitudes.
pub(crate) fn fmt_tick(v: f64, lo: f64, hi: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let span = hi - lo;
    let span = if span.is_finite() && span > 0.0 {
        span
    } else {
        v.abs().max(1.0)
    };
    let mag = lo.abs().max(hi.abs()).max(span);
    let mag = if mag.is_finite() { mag } else { v.abs() };
    if !(1e-4..1e9).contains(&mag) {
        return if v == 0.0 {
            "0".to_string()
        } else {
            format!("{v:.2e}")
        };
    }
    let decimals = (-(span / 10.0).log10()).ceil().clamp(0.0, 6.0) as usize;
    let s = format!("{v:.decimals$}");
    let s = if decimals == 0 && mag >= 1e4 {
        group_thousands(&s)
    } else {
        s
    };
    strip_negative_zero(s)
}

/// Compact value for heatmap cells: three significant digits is what a
/// reader can take in at a glance.
fn fmt_value(v: f64) -> String {
    fmt_value_digits(v, 0)
}

/// [`fmt_value`] with `extra` more decimals (or mantissa digits in scientific notation).
fn fmt_value_digits(v: f64, extra: usize) -> String {
    if !v.is_finite() {
        return "n/a".to_string();
    }
    let a = v.abs();
    let s = if a == 0.0 {
        "0".to_string()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.*e}", 2 + extra)
    } else if a >= 100.0 {
        format!("{v:.*}", extra)
    } else if a >= 10.0 {
        format!("{v:.*}", 1 + extra)
    } else if a >= 1.0 {
        format!("{v:.*}", 2 + extra)
    } else {
        format!("{v:.*}", 3 + extra)
    };
    strip_negative_zero(s)
}

fn group_thousands(s: &str) -> String {
    let (sign, digits) = match s.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", s),
    };
    if digits.len() <= 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + digits.len() / 3);
    out.push_str(sign);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// "-0.00" on an axis looks like a bug to readers.
fn strip_negative_zero(s: String) -> String {
    match s.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| matches!(b, b'0' | b'.' | b',')) => rest.to_string(),
        _ => s,
    }
}

/// Estimated pixel width of `text` in the embedded font at `size`.
fn text_w(text: &str, size: u32) -> f64 {
    text.chars().count() as f64 * f64::from(size) * CHAR_W
}

/// Chooses the legend corner that covers the fewest data points.
/// `points` are in normalised plot coordinates (0..1, y up); `box_w`/`box_h`
/// are the legend's size as fractions of the plot. Returns the corner and
/// how many points it would hide.
fn pick_corner(points: &[(f64, f64)], box_w: f64, box_h: f64) -> (SeriesLabelPosition, usize) {
    let corners = [
        (SeriesLabelPosition::UpperRight, true, true),
        (SeriesLabelPosition::UpperLeft, false, true),
        (SeriesLabelPosition::LowerRight, true, false),
        (SeriesLabelPosition::LowerLeft, false, false),
    ];
    let mut best = (SeriesLabelPosition::UpperRight, usize::MAX);
    for (pos, right, upper) in corners {
        let hits = points
            .iter()
            .filter(|(x, y)| {
                let in_x = if right {
                    *x >= 1.0 - box_w
                } else {
                    *x <= box_w
                };
                let in_y = if upper {
                    *y >= 1.0 - box_h
                } else {
                    *y <= box_h
                };
                in_x && in_y
            })
            .count();
        if hits < best.1 {
            best = (pos, hits);
        }
    }
    best
}

/// Legend size as fractions of the plot area, from the entries it will hold.
fn legend_box(labels: &[&str], plot_w: f64, plot_h: f64) -> (f64, f64) {
    let max_w = labels
        .iter()
        .map(|l| text_w(l, LEGEND_SIZE))
        .fold(0.0, f64::max);
    let w = max_w + 60.0;
    let h = labels.len() as f64 * 25.0 + 24.0;
    (
        (w / plot_w.max(1.0)).min(1.0),
        (h / plot_h.max(1.0)).min(1.0),
    )
}

fn draw_legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .margin(10)
        .legend_area_size(28)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.35))
        .label_font((FAMILY, LEGEND_SIZE))
        .draw()?;
    Ok(())
}

/// A linear f64 axis whose ticks sit exactly at the given positions.
///
/// Categorical axes (bar groups, heatmap rows) need one label per category
/// at its centre; plotters' own `WithKeyPoints` cannot be combined with
/// custom label formatters for f64 in 0.3.7, so this small wrapper does it.
#[derive(Clone)]
struct TickedAxis {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl TickedAxis {
    fn new(lo: f64, hi: f64, ticks: Vec<f64>) -> Self {
        TickedAxis {
            inner: (lo..hi).into(),
            ticks,
        }
    }
}

impl Ranged for TickedAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Light (minor) grid points are not wanted on categorical axes.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

impl ValueFormatter<f64> for TickedAxis {
    fn format(value: &f64) -> String {
        format!("{value}")
    }
}

// ---------------------------------------------------------------------------
// Calendar arithmetic (Howard Hinnant's days_from_civil / civil_from_days)
// ---------------------------------------------------------------------------

use gardengate_core::scenario::calendar::{civil_from_days, days_from_civil};

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// ISO `YYYY-MM-DD` for a day count since 1970-01-01.
fn iso_date(days: i64) -> String {
    // Clamped so absurd step values cannot overflow the arithmetic above.
    let (y, m, d) = civil_from_days(days.clamp(-1_000_000_000_000, 1_000_000_000_000));
    format!("{y:04}-{m:02}-{d:02}")
}

// ---------------------------------------------------------------------------
// Time panels
// ---------------------------------------------------------------------------

struct TimeFigure<'a> {
    title: &'a str,
    y_label: &'a str,
    panels: &'a [Panel],
    start_day: Option<i64>,
    days_per_step: u32,
    events: &'a [EventMark],
    colours: Vec<(String, RGBColor)>,
    /// A range the y axis always spans (None: the data's).
    y_range: Option<(f64, f64)>,
}

/// One plottable point: x, mean, lo, hi (all finite, lo <= hi).
type Pt = [f64; 4];

/// Splits a series into runs of finite points so NaN gaps stay visible as
/// gaps instead of being bridged by a misleading straight line.
fn clean_segments(s: &Series) -> Vec<Vec<Pt>> {
    let n = s.x.len().min(s.mean.len());
    let mut segs: Vec<Vec<Pt>> = Vec::new();
    let mut cur: Vec<Pt> = Vec::new();
    for i in 0..n {
        let (x, m) = (s.x[i], s.mean[i]);
        if !(x.is_finite() && m.is_finite()) {
            if !cur.is_empty() {
                segs.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let lo = s.lo.get(i).copied().filter(|v| v.is_finite()).unwrap_or(m);
        let hi = s.hi.get(i).copied().filter(|v| v.is_finite()).unwrap_or(m);
        cur.push([x, m, lo.min(hi), lo.max(hi)]);
    }
    if !cur.is_empty() {
        segs.push(cur);
    }
    for seg in &mut segs {
        seg.sort_by(|a, b| a[0].total_cmp(&b[0]));
    }
    segs
}

/// Rows and columns for `n` panels: at most three columns, and four panels
/// as 2x2 rather than a ragged 3+1.
fn grid_shape(n: usize) -> (usize, usize) {
    let cols = if n == 4 { 2 } else { n.clamp(1, 3) };
    (n.div_ceil(cols).max(1), cols)
}

/// Round tick positions (1, 2, 2.5 or 5 times a power of ten) inside
/// `[lo, hi]`, at most `max` of them.
fn nice_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return vec![lo];
    }
    let raw = span / max.max(1) as f64;
    let pow = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * pow)
        .find(|s| span / s <= max.max(1) as f64)
        .unwrap_or(10.0 * pow);
    let first = (lo / step).ceil();
    (0..=max.max(1) + 1)
        .map(|i| (first + i as f64) * step)
        .filter(|v| *v <= hi + step * 1e-9)
        .map(|v| if v.abs() < step * 1e-9 { 0.0 } else { v })
        .collect()
}

/// Calendar-aligned date ticks (day ``start_day + x * days_per_step``):
/// whole days, weeks, first of month/quarter/half-year, or 1 January, so
/// the axis reads like an economist's time axis rather than arbitrary dates.
fn date_ticks(start_day: i64, days_per_step: f64, x0: f64, x1: f64, max: usize) -> Vec<f64> {
    let to_day = |x: f64| (x * days_per_step).clamp(-1e12, 1e12);
    let d0 = start_day + to_day(x0).ceil() as i64;
    let d1 = start_day + to_day(x1).floor() as i64;
    let to_x = |d: i64| (d - start_day) as f64 / days_per_step;
    if d1 < d0 {
        return vec![x0];
    }
    let span = (d1 - d0) as f64;
    let max = max.max(1) as f64;
    let mut days: Vec<i64> = Vec::new();
    if let Some(k) = [1i64, 2, 7, 14]
        .into_iter()
        .find(|k| span / *k as f64 <= max)
    {
        let first = start_day + k * (d0 - start_day).div_euclid(k);
        days.extend(
            (0..)
                .map(|i| first + i * k)
                .skip_while(|d| *d < d0)
                .take_while(|d| *d <= d1),
        );
    } else if let Some(k) = [1i64, 2, 3, 6]
        .into_iter()
        .find(|k| span / 30.44 / *k as f64 <= max)
    {
        let (y, m, _) = civil_from_days(d0);
        let m0 = y * 12 + i64::from(m) - 1;
        days.extend(
            (m0.div_euclid(k)..)
                .map(|i| i * k)
                .map(|mi| days_from_civil(mi.div_euclid(12), (mi.rem_euclid(12) + 1) as u32, 1))
                .skip_while(|d| *d < d0)
                .take_while(|d| *d <= d1),
        );
    } else {
        let years = span / 365.25;
        let k = [1i64, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000]
            .into_iter()
            .find(|k| years / *k as f64 <= max)
            .unwrap_or(((years / max).ceil() as i64).max(1));
        let (y, _, _) = civil_from_days(d0);
        days.extend(
            (y.div_euclid(k)..)
                .map(|i| days_from_civil(i * k, 1, 1))
                .skip_while(|d| *d < d0)
                .take_while(|d| *d <= d1),
        );
    }
    days.truncate(64);
    if days.is_empty() {
        return vec![x0];
    }
    days.into_iter().map(to_x).collect()
}

impl TimeFigure<'_> {
    fn colour(&self, label: &str) -> RGBColor {
        self.colours
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, c)| *c)
            .unwrap_or(PALETTE[0])
    }

    fn x_desc(&self) -> &'static str {
        if self.start_day.is_some() {
            "Date"
        } else {
            "Step"
        }
    }

    fn x_tick(&self, v: f64, lo: f64, hi: f64) -> String {
        match self.start_day {
            Some(start) => {
                let days = v * f64::from(self.days_per_step);
                // Only whole days get a label; fractional ticks would repeat
                // the same date and look like an error.
                if (days - days.round()).abs() > 1e-6 {
                    String::new()
                } else {
                    iso_date(start.saturating_add(days.round() as i64))
                }
            }
            None => fmt_tick(v, lo, hi),
        }
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        cell: &DrawingArea<DB, Shift>,
        panel: &Panel,
    ) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let series: Vec<(&Series, RGBColor, Vec<Vec<Pt>>)> = panel
            .series
            .iter()
            .map(|s| (s, self.colour(&s.label), clean_segments(s)))
            .collect();
        let all_pts = || series.iter().flat_map(|(_, _, segs)| segs.iter().flatten());

        let x_bounds = finite_bounds(all_pts().map(|p| p[0]));
        let (x0, x1) = match x_bounds {
            Some((a, b)) if b > a => (a, b),
            Some((a, _)) => (a - 1.0, a + 1.0),
            None => (0.0, 1.0),
        };
        let y_bounds = finite_bounds(all_pts().flat_map(|p| [p[2], p[3]]));
        let has_data = y_bounds.is_some();
        // A fixed range (shares) widens only for the lines themselves; the bands are clipped
        // to it (an interval of a share is cut at 0 and 1, where the share itself must lie).
        let y_bounds = match (self.y_range, y_bounds) {
            (Some((a, b)), Some(_)) => match finite_bounds(all_pts().map(|p| p[1])) {
                Some((lo, hi)) => Some((a.min(lo), b.max(hi))),
                None => Some((a, b)),
            },
            (Some(r), None) => Some(r),
            (None, b) => b,
        };

        let events: Vec<&EventMark> = self
            .events
            .iter()
            .filter(|e| e.step.is_finite() && e.step >= x0 && e.step <= x1)
            .collect();

        // A fixed range (shares: [0, 1]) is the axis exactly, widened only if data leave it;
        // otherwise the data's range with 5 % room either side.
        let (y0, y1) = match (self.y_range, y_bounds) {
            (Some(_), Some((a, b))) if b > a => (a, b),
            _ => padded_range(y_bounds, 0.05, 0.05),
        };
        let widest_y_tick = y_bounds
            .map(|_| fmt_tick(y0, y0, y1).len().max(fmt_tick(y1, y0, y1).len()))
            .unwrap_or(3)
            .max(3);
        let y_label_area = (f64::from(TICK_SIZE) * CHAR_W * (widest_y_tick as f64 + 1.0)
            + f64::from(DESC_SIZE) * 1.6
            + 8.0) as u32;
        let x_label_area = 58u32;
        let margin = 14u32;
        // Room on the right for half of the last tick label (an ISO date is centred on its
        // tick), so nothing is clipped at the image edge.
        let margin_right = if self.start_day.is_some() {
            (text_w("2000-00-00", TICK_SIZE) / 2.0) as u32 + 8
        } else {
            margin + 16
        };
        let (cw, _) = cell.dim_in_pixel();
        let plot_left = f64::from(margin + y_label_area);
        let plot_w = f64::from(cw.saturating_sub(y_label_area + margin + margin_right)).max(1.0);

        // Event labels live in a strip above the plot area, never over the data or under
        // the legend. Each takes the first row where it clears every label already placed,
        // so labels that share or crowd a date stack; none is dropped.
        let font = text_style(EVENT_SIZE, BLACK, Pos::new(HPos::Left, VPos::Top));
        let mut placed: Vec<(usize, i32, i32)> = Vec::with_capacity(events.len()); // row, x0, x1
        let mut taken: Vec<Vec<(i32, i32)>> = Vec::new();
        for e in &events {
            let px = (plot_left + (e.step - x0) / (x1 - x0) * plot_w) as i32;
            let w = cell
                .estimate_text_size(&e.label, &font)
                .map_or(text_w(&e.label, EVENT_SIZE), |(w, _)| f64::from(w) * 1.05)
                as i32;
            let right_edge = cw as i32 - 4;
            let (a, b) = if px + 5 + w <= right_edge {
                (px + 5, px + 5 + w)
            } else {
                let a = (px - 5 - w).max(4);
                (a, a + w)
            };
            let row = (0..)
                .find(|&r| {
                    taken.get(r).is_none_or(|t: &Vec<(i32, i32)>| {
                        t.iter().all(|&(c, d)| b + 16 < c || a > d + 16)
                    })
                })
                .unwrap_or(0);
            if taken.len() <= row {
                taken.resize(row + 1, Vec::new());
            }
            taken[row].push((a, b));
            placed.push((row, a, b));
        }
        let row_h = EVENT_SIZE as i32 + 7;
        let strip_h = if taken.is_empty() {
            0
        } else {
            (taken.len() as i32 * row_h + 8) as u32
        };

        // The panel title, then the label strip as extra top margin (a top label area would
        // repeat the x axis there).
        let body = if panel.title.trim().is_empty() {
            cell.clone()
        } else {
            let (title_area, body) = cell.split_vertically(PANEL_TITLE_SIZE + 14);
            let (tw, th) = title_area.dim_in_pixel();
            title_area.draw(&Text::new(
                panel.title.clone(),
                (tw as i32 / 2, th as i32 / 2 + 4),
                text_style(PANEL_TITLE_SIZE, BLACK, centred()),
            ))?;
            body
        };
        let mut builder = ChartBuilder::on(&body);
        builder
            .margin(margin)
            .margin_top(margin + strip_h)
            .margin_right(margin_right)
            .x_label_area_size(x_label_area)
            .y_label_area_size(y_label_area);
        let x_ticks = match self.start_day {
            // ISO dates are wide; keep roughly 115 px per label.
            Some(start) => date_ticks(
                start,
                f64::from(self.days_per_step),
                x0,
                x1,
                ((plot_w / 115.0) as usize).clamp(2, 12),
            ),
            None => nice_ticks(x0, x1, ((plot_w / 80.0) as usize).clamp(2, 12)),
        };
        let mut chart = builder.build_cartesian_2d(TickedAxis::new(x0, x1, x_ticks), y0..y1)?;
        let plot_h = f64::from(chart.plotting_area().dim_in_pixel().1).max(1.0);

        let x_fmt = |v: &f64| self.x_tick(*v, x0, x1);
        let y_fmt = |v: &f64| fmt_tick(*v, y0, y1);
        chart
            .configure_mesh()
            .x_desc(self.x_desc())
            .y_desc(self.y_label)
            .y_labels(((plot_h / 60.0) as usize).clamp(3, 10))
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style((FAMILY, TICK_SIZE))
            .axis_desc_style((FAMILY, DESC_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .axis_style(BLACK.mix(0.6))
            .draw()?;

        if !has_data {
            chart.plotting_area().draw(&Text::new(
                "no data",
                ((x0 + x1) / 2.0, (y0 + y1) / 2.0),
                text_style(DESC_SIZE, RGBColor(110, 110, 110), centred()),
            ))?;
        }

        // Bands first so every line is drawn on top of every band.
        for (_, colour, segs) in &series {
            for seg in segs {
                if seg.len() >= 2 && seg.iter().any(|p| p[3] > p[2]) {
                    let clip = |v: f64| v.clamp(y0, y1);
                    let mut poly: Vec<(f64, f64)> =
                        seg.iter().map(|p| (p[0], clip(p[3]))).collect();
                    poly.extend(seg.iter().rev().map(|p| (p[0], clip(p[2]))));
                    chart.draw_series(std::iter::once(Polygon::new(
                        poly,
                        colour.mix(0.2).filled(),
                    )))?;
                } else if seg.len() == 1 && seg[0][3] > seg[0][2] {
                    let p = seg[0];
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(p[0], p[2].clamp(y0, y1)), (p[0], p[3].clamp(y0, y1))],
                        colour.mix(0.5).stroke_width(3),
                    )))?;
                }
            }
        }
        for (_, colour, segs) in &series {
            for seg in segs {
                if seg.len() == 1 {
                    chart.draw_series(std::iter::once(Circle::new(
                        (seg[0][0], seg[0][1]),
                        4,
                        colour.filled(),
                    )))?;
                } else {
                    chart.draw_series(LineSeries::new(
                        seg.iter().map(|p| (p[0], p[1])),
                        colour.stroke_width(2),
                    ))?;
                }
            }
        }

        let grey = RGBColor(100, 100, 100);
        for e in &events {
            chart.draw_series(DashedLineSeries::new(
                vec![(e.step, y0), (e.step, y1)],
                7,
                5,
                grey.stroke_width(1),
            ))?;
        }
        // In the strip: a leader from the plot's top edge up to each label's row, then the
        // labels on a white backing (drawn last, so a leader never cuts through a label).
        let (bx, by) = cell.get_base_pixel();
        let top = chart.plotting_area().get_pixel_range().1.start - by;
        let strip_top = top - strip_h as i32;
        let row_y = |row: usize| strip_top + 4 + row as i32 * row_h;
        for (k, e) in events.iter().enumerate() {
            let (row, _, _) = placed[k];
            let px = chart.backend_coord(&(e.step, y1)).0 - bx;
            cell.draw(&PathElement::new(
                vec![(px, top), (px, row_y(row) + row_h / 2)],
                grey.mix(0.6).stroke_width(1),
            ))?;
        }
        for (k, e) in events.iter().enumerate() {
            let (row, a, b) = placed[k];
            let y = row_y(row);
            cell.draw(&Rectangle::new(
                [(a - 2, y), (b + 2, y + row_h - 2)],
                WHITE.filled(),
            ))?;
            cell.draw(&Text::new(
                e.label.clone(),
                (a, y + 2),
                text_style(EVENT_SIZE, grey, Pos::new(HPos::Left, VPos::Top)),
            ))?;
        }
        Ok(())
    }

    /// Legend entries of the whole figure (a label's colour is the same in every panel):
    /// label, colour, and whether any panel draws a band for it (one replicate: no swatch).
    fn legend_entries(&self) -> Vec<(String, RGBColor, bool)> {
        let mut out: Vec<(String, RGBColor, bool)> = Vec::new();
        for s in self.panels.iter().flat_map(|p| p.series.iter()) {
            if s.label.is_empty() {
                continue;
            }
            let segs = clean_segments(s);
            if segs.is_empty() {
                continue;
            }
            let band = segs.iter().flatten().any(|p| p[3] > p[2]);
            match out.iter_mut().find(|(l, _, _)| *l == s.label) {
                Some(e) => e.2 |= band,
                None => out.push((s.label.clone(), self.colour(&s.label), band)),
            }
        }
        out
    }
}

/// Width of one legend entry's swatch (band and line) in pixels.
const SWATCH_W: i32 = 28;
/// Height of one row of a figure legend.
const LEGEND_ROW_H: i32 = 28;

/// Lays out legend entries left to right in rows no wider than `width` (each row centred);
/// returns per row its entries as (index, x offset) and the row's total width.
fn legend_rows(widths: &[i32], width: i32) -> Vec<(Vec<(usize, i32)>, i32)> {
    let gap = 28;
    let mut rows: Vec<(Vec<(usize, i32)>, i32)> = Vec::new();
    for (i, &w) in widths.iter().enumerate() {
        let entry = SWATCH_W + 8 + w;
        match rows.last_mut() {
            Some((r, used)) if !r.is_empty() && *used + gap + entry <= width => {
                r.push((i, *used + gap));
                *used += gap + entry;
            }
            _ => rows.push((vec![(i, 0)], entry)),
        }
    }
    rows
}

/// Draws a figure-wide legend in a strip at the top of `area` and returns the area below it
/// (all of `area` when there is nothing to show).
fn legend_strip<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor, bool)],
) -> Result<DrawingArea<DB, Shift>>
where
    DB::ErrorType: 'static,
{
    if entries.is_empty() {
        return Ok(area.clone());
    }
    let font = text_style(LEGEND_SIZE, BLACK, Pos::new(HPos::Left, VPos::Top));
    let widths: Vec<i32> = entries
        .iter()
        .map(|(l, _, _)| {
            area.estimate_text_size(l, &font)
                .map_or(text_w(l, LEGEND_SIZE) as i32, |(w, _)| w as i32)
        })
        .collect();
    let (w, _) = area.dim_in_pixel();
    let rows = legend_rows(&widths, w as i32 - 40);
    let h = rows.len() as i32 * LEGEND_ROW_H + 8;
    let (strip, rest) = area.split_vertically(h);
    for (r, (row, used)) in rows.iter().enumerate() {
        let left = (w as i32 - used) / 2;
        let cy = 4 + r as i32 * LEGEND_ROW_H + LEGEND_ROW_H / 2;
        for &(i, off) in row {
            let (label, colour, band) = &entries[i];
            let x = left + off;
            if *band {
                strip.draw(&Rectangle::new(
                    [(x, cy - 7), (x + SWATCH_W, cy + 7)],
                    colour.mix(0.2).filled(),
                ))?;
            }
            strip.draw(&PathElement::new(
                vec![(x, cy), (x + SWATCH_W, cy)],
                colour.stroke_width(2),
            ))?;
            strip.draw(&Text::new(
                label.clone(),
                (x + SWATCH_W + 8, cy),
                text_style(LEGEND_SIZE, BLACK, Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
    }
    Ok(rest)
}

impl Figure for TimeFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = grid_shape(self.panels.len());
        let cell_w = match cols {
            1 => 1200,
            2 => 700,
            _ => 560,
        };
        let width = (cols as u32 * cell_w).max(1200);
        let title_h = 60;
        let row_h = if rows == 1 { 740 } else { 460 };
        // Keep very large grids within what image viewers handle well.
        let row_h = row_h.min((12_000 / rows as u32).max(260));
        (width, (title_h + rows as u32 * row_h).max(800))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, self.title)?;
        if self.panels.is_empty() {
            return draw_no_data(&area);
        }
        let area = legend_strip(&area, &self.legend_entries())?;
        let (rows, cols) = grid_shape(self.panels.len());
        let cells = area.split_evenly((rows, cols));
        for (panel, cell) in self.panels.iter().zip(cells.iter()) {
            self.draw_panel(cell, panel)
                .with_context(|| format!("drawing panel '{}'", panel.title))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Grouped bars
// ---------------------------------------------------------------------------

struct BarFigure<'a> {
    title: &'a str,
    y_label: &'a str,
    groups: &'a [String],
    components: &'a [String],
    values: &'a [Vec<(f64, f64)>],
}

impl BarFigure<'_> {
    /// Finite (mean, half-width) of a cell; half-width 0 when unknown.
    fn value(&self, g: usize, c: usize) -> Option<(f64, f64)> {
        let (m, ci) = *self.values.get(g)?.get(c)?;
        if !m.is_finite() {
            return None;
        }
        let ci = if ci.is_finite() { ci.abs() } else { 0.0 };
        Some((m, ci))
    }

    /// Horizontal extent of bar `c` inside group `g` (groups sit at integers).
    fn bar_x(&self, g: usize, c: usize) -> (f64, f64) {
        let n = self.components.len().max(1) as f64;
        let w = 0.8 / n;
        let x0 = g as f64 - 0.4 + c as f64 * w;
        (x0 + 0.04 * w, x0 + 0.96 * w)
    }
}

impl Figure for BarFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let g = self.groups.len() as f64;
        let c = self.components.len() as f64;
        let longest = self
            .groups
            .iter()
            .map(|s| text_w(s, TICK_SIZE))
            .fold(0.0, f64::max);
        let per_group = (c * 34.0 + 24.0).max(longest + 16.0);
        let w = (160.0 + g * per_group).clamp(1200.0, 6000.0);
        (w as u32, 800)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, self.title)?;
        let (ng, nc) = (self.groups.len(), self.components.len());
        if ng == 0 || nc == 0 {
            return draw_no_data(&area);
        }
        let cells = || (0..ng).flat_map(|g| (0..nc).map(move |c| (g, c)));
        let y_bounds = finite_bounds(
            cells()
                .filter_map(|(g, c)| self.value(g, c))
                .flat_map(|(m, ci)| [m - ci, m + ci])
                .chain([0.0]),
        );

        let margin = 20u32;
        let y_bounds_guess = padded_range(y_bounds, 0.05, 0.05);
        let (g0, g1) = y_bounds_guess;
        let widest = y_bounds
            .map(|(a, b)| fmt_tick(a, g0, g1).len().max(fmt_tick(b, g0, g1).len()))
            .unwrap_or(3);
        let y_label_area = (f64::from(TICK_SIZE) * CHAR_W * (widest as f64 + 1.0)
            + f64::from(DESC_SIZE) * 1.6
            + 8.0) as u32;
        let x_label_area = 50u32;
        let (aw, ah) = area.dim_in_pixel();
        let plot_w = f64::from(aw.saturating_sub(y_label_area + 2 * margin)).max(1.0);
        let plot_h = f64::from(ah.saturating_sub(x_label_area + 2 * margin)).max(1.0);
        let labels: Vec<&str> = self.components.iter().map(String::as_str).collect();
        let (box_w, box_h) = legend_box(&labels, plot_w, plot_h);

        let (xr0, xr1) = (-0.5, ng as f64 - 0.5);
        // Bars fill everything below their top (or above, when negative), so
        // occupancy is sampled over the whole bar, not just its tip.
        let mut choice = None;
        for extra in [0.0, 0.1, 0.2, 0.35, 0.5] {
            let bottom = if y_bounds.is_some_and(|b| b.0 < 0.0) {
                0.05
            } else {
                0.0
            };
            let (y0, y1) = padded_range(y_bounds, bottom, 0.05 + extra);
            let mut occupied = Vec::new();
            for (g, c) in cells() {
                if let Some((m, ci)) = self.value(g, c) {
                    let (bx0, bx1) = self.bar_x(g, c);
                    for i in 0..=4 {
                        let x = bx0 + (bx1 - bx0) * f64::from(i) / 4.0;
                        for j in 0..=10 {
                            let y = (m + ci) * f64::from(j) / 10.0;
                            occupied.push(((x - xr0) / (xr1 - xr0), (y - y0) / (y1 - y0)));
                        }
                    }
                }
            }
            let (pos, hits) = pick_corner(&occupied, box_w, box_h);
            let done = hits == 0 || extra >= 0.5;
            choice = Some((pos, y0, y1));
            if done {
                break;
            }
        }
        let (legend_pos, y0, y1) = choice.unwrap_or((SeriesLabelPosition::UpperRight, 0.0, 1.0));

        let key_points: Vec<f64> = (0..ng).map(|g| g as f64).collect();
        let mut chart = ChartBuilder::on(&area)
            .margin(margin)
            .x_label_area_size(x_label_area)
            .y_label_area_size(y_label_area)
            .build_cartesian_2d(TickedAxis::new(xr0, xr1, key_points), y0..y1)?;

        let x_fmt = |v: &f64| {
            let g = v.round();
            if (v - g).abs() < 1e-6 && g >= 0.0 {
                self.groups.get(g as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        let y_fmt = |v: &f64| fmt_tick(*v, y0, y1);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc(self.y_label)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .y_labels(((plot_h / 60.0) as usize).clamp(3, 10))
            .label_style((FAMILY, TICK_SIZE))
            .axis_desc_style((FAMILY, DESC_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .axis_style(BLACK.mix(0.6))
            .draw()?;

        if y_bounds.is_none() || cells().all(|(g, c)| self.value(g, c).is_none()) {
            chart.plotting_area().draw(&Text::new(
                "no data",
                (0.5 * (xr0 + xr1), 0.5 * (y0 + y1)),
                text_style(DESC_SIZE, RGBColor(110, 110, 110), centred()),
            ))?;
        }

        for (c, name) in self.components.iter().enumerate() {
            let colour = palette(c);
            let bars: Vec<Rectangle<(f64, f64)>> = (0..ng)
                .filter_map(|g| {
                    let (m, _) = self.value(g, c)?;
                    let (bx0, bx1) = self.bar_x(g, c);
                    Some(Rectangle::new(
                        [(bx0, 0.0), (bx1, m)],
                        colour.mix(0.9).filled(),
                    ))
                })
                .collect();
            chart
                .draw_series(bars)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 7), (x + 20, y + 7)], colour.filled())
                });
        }

        if y0 < 0.0 && y1 > 0.0 {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(xr0, 0.0), (xr1, 0.0)],
                BLACK.mix(0.6).stroke_width(1),
            )))?;
        }

        let whisker = RGBColor(30, 30, 30).stroke_width(2);
        for (g, c) in cells() {
            if let Some((m, ci)) = self.value(g, c) {
                if ci > 0.0 {
                    let (bx0, bx1) = self.bar_x(g, c);
                    let xc = 0.5 * (bx0 + bx1);
                    let cap = 0.25 * (bx1 - bx0);
                    chart.draw_series([
                        PathElement::new(vec![(xc, m - ci), (xc, m + ci)], whisker),
                        PathElement::new(vec![(xc - cap, m - ci), (xc + cap, m - ci)], whisker),
                        PathElement::new(vec![(xc - cap, m + ci), (xc + cap, m + ci)], whisker),
                    ])?;
                }
            }
        }

        draw_legend(&mut chart, legend_pos)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Heatmap
// ---------------------------------------------------------------------------

struct HeatFigure<'a> {
    title: &'a str,
    x_label: &'a str,
    x_ticks: &'a [String],
    y_label: &'a str,
    y_ticks: &'a [String],
    z: &'a [Vec<f64>],
    z_label: &'a str,
    /// A diverging scale centred at 0 (effects) instead of viridis over the data's range.
    diverging: bool,
}

/// ColorBrewer's RdBu (11 classes), from most negative (dark red) through white to most
/// positive (dark blue); colour-blind safe and readable in greyscale by lightness.
const RDBU: [(u8, u8, u8); 11] = [
    (0x67, 0x00, 0x1F),
    (0xB2, 0x18, 0x2B),
    (0xD6, 0x60, 0x4D),
    (0xF4, 0xA5, 0x82),
    (0xFD, 0xDB, 0xC7),
    (0xF7, 0xF7, 0xF7),
    (0xD1, 0xE5, 0xF0),
    (0x92, 0xC5, 0xDE),
    (0x43, 0x93, 0xC3),
    (0x21, 0x66, 0xAC),
    (0x05, 0x30, 0x61),
];

/// Linear interpolation between anchor colours at t in [0, 1] (NaN: the middle).
fn interpolate(anchors: &[(u8, u8, u8)], t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let pos = t * (anchors.len() - 1) as f64;
    let i = (pos.floor() as usize).min(anchors.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (anchors[i], anchors[i + 1]);
    let mix = |u: u8, v: u8| (f64::from(u) + f * (f64::from(v) - f64::from(u))).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Cell texts with enough digits that two cells whose colours a reader can tell apart (a
/// channel differs by 4 or more of 255) never show the same number: [`fmt_value`] first,
/// then up to six more decimals until that holds.
fn cell_texts(values: &[f64], colours: &[RGBColor]) -> Vec<String> {
    let apart = |a: RGBColor, b: RGBColor| {
        let d = |u: u8, v: u8| u.abs_diff(v) >= 4;
        d(a.0, b.0) || d(a.1, b.1) || d(a.2, b.2)
    };
    let mut texts: Vec<String> = values.iter().map(|v| fmt_value(*v)).collect();
    for extra in 1..=6 {
        let clash = (0..values.len()).any(|i| {
            (i + 1..values.len()).any(|j| {
                texts[i] == texts[j]
                    && values[i].is_finite()
                    && values[j].is_finite()
                    && apart(colours[i], colours[j])
            })
        });
        if !clash {
            break;
        }
        texts = values.iter().map(|v| fmt_value_digits(*v, extra)).collect();
    }
    texts
}

/// Viridis anchor colours (matplotlib), interpolated linearly; perceptually
/// uniform and readable in greyscale, which the `colormaps` feature would
/// give us but is not enabled in this build.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (0x44, 0x01, 0x54),
    (0x48, 0x28, 0x78),
    (0x3E, 0x4A, 0x89),
    (0x31, 0x68, 0x8E),
    (0x26, 0x82, 0x8E),
    (0x1F, 0x9E, 0x89),
    (0x35, 0xB7, 0x79),
    (0x6D, 0xCD, 0x59),
    (0xFD, 0xE7, 0x25),
];

fn viridis(t: f64) -> RGBColor {
    interpolate(&VIRIDIS, t)
}

/// Dark cells get white text, light cells black, so values stay readable
/// across the whole colour scale.
fn text_colour_on(bg: RGBColor) -> RGBColor {
    let lum = 0.2126 * f64::from(bg.0) + 0.7152 * f64::from(bg.1) + 0.0722 * f64::from(bg.2);
    if lum > 140.0 {
        BLACK
    } else {
        WHITE
    }
}

impl HeatFigure<'_> {
    fn dims(&self) -> (usize, usize) {
        let nx = self
            .z
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(0)
            .max(self.x_ticks.len());
        let ny = self.z.len().max(self.y_ticks.len());
        (nx, ny)
    }

    fn cell(&self, x: usize, y: usize) -> f64 {
        self.z
            .get(y)
            .and_then(|row| row.get(x))
            .copied()
            .unwrap_or(f64::NAN)
    }
}

impl Figure for HeatFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let (nx, ny) = self.dims();
        let w = (420.0 + nx as f64 * 80.0).clamp(1200.0, 5000.0);
        let h = (220.0 + ny as f64 * 46.0).clamp(800.0, 5000.0);
        (w as u32, h as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, self.title)?;
        let (nx, ny) = self.dims();
        if nx == 0 || ny == 0 {
            return draw_no_data(&area);
        }
        let z_bounds = finite_bounds(
            (0..ny)
                .flat_map(|y| (0..nx).map(move |x| (x, y)))
                .map(|(x, y)| self.cell(x, y)),
        );
        let (z0, z1) = match z_bounds {
            Some((a, b)) if b > a => (a, b),
            other => padded_range(other, 0.0, 0.0),
        };
        let constant = !matches!(z_bounds, Some((a, b)) if b > a);
        // Diverging: the scale runs from −m to m, m = max |z|, so 0 is its white middle.
        let m = z_bounds.map_or(0.0, |(a, b)| a.abs().max(b.abs()));
        let (z0, z1) = if self.diverging && m > 0.0 {
            (-m, m)
        } else {
            (z0, z1)
        };
        let constant = constant && !(self.diverging && m > 0.0);
        let to_t = |v: f64| if constant { 0.5 } else { (v - z0) / (z1 - z0) };
        let paint = |t: f64| {
            if self.diverging {
                interpolate(&RDBU, t)
            } else {
                viridis(t)
            }
        };

        let (aw, _) = area.dim_in_pixel();
        let (bz0, bz1) = if constant {
            padded_range(z_bounds, 0.0, 0.0)
        } else {
            (z0, z1)
        };
        let z_span = bz1 - bz0;
        let widest_z = [bz0, bz1, 0.5 * (bz0 + bz1)]
            .iter()
            .map(|v| text_w(&fmt_tick(*v, bz0, bz1), TICK_SIZE))
            .fold(0.0, f64::max);
        // Tick labels plus the rotated z label, then the bar itself.
        let bar_label_area = (widest_z + 24.0 + f64::from(DESC_SIZE) * 1.6) as u32;
        let bar_w = (bar_label_area + 60).min(aw / 3);
        let (main, bar_area) = area.split_horizontally(aw.saturating_sub(bar_w));

        let margin = 20u32;
        let x_label_area = 64u32;
        let widest_y = self
            .y_ticks
            .iter()
            .map(|s| text_w(s, TICK_SIZE))
            .fold(0.0, f64::max);
        let y_label_area = (widest_y + f64::from(DESC_SIZE) * 1.6 + 20.0).clamp(60.0, 400.0) as u32;

        let mut chart = ChartBuilder::on(&main)
            .margin(margin)
            .x_label_area_size(x_label_area)
            .y_label_area_size(y_label_area)
            .build_cartesian_2d(
                TickedAxis::new(0.0, nx as f64, (0..nx).map(|i| i as f64 + 0.5).collect()),
                TickedAxis::new(0.0, ny as f64, (0..ny).map(|i| i as f64 + 0.5).collect()),
            )?;
        let tick = |ticks: &[String], v: f64| {
            let i = v.floor();
            if i >= 0.0 {
                ticks.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        let x_fmt = |v: &f64| tick(self.x_ticks, *v);
        let y_fmt = |v: &f64| tick(self.y_ticks, *v);
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style((FAMILY, TICK_SIZE))
            .axis_desc_style((FAMILY, DESC_SIZE))
            .axis_style(BLACK.mix(0.6))
            .draw()?;

        let (pw, ph) = chart.plotting_area().dim_in_pixel();
        let cell_w = f64::from(pw) / nx as f64;
        let cell_h = f64::from(ph) / ny as f64;
        let na_fill = RGBColor(225, 225, 225);
        let mut rects = Vec::with_capacity(nx * ny);
        for y in 0..ny {
            for x in 0..nx {
                let v = self.cell(x, y);
                let fill = if v.is_finite() {
                    paint(to_t(v))
                } else {
                    na_fill
                };
                let (fx, fy) = (x as f64, y as f64);
                rects.push(Rectangle::new(
                    [(fx, fy), (fx + 1.0, fy + 1.0)],
                    fill.filled(),
                ));
            }
        }
        chart.draw_series(rects)?;

        let values: Vec<f64> = (0..ny)
            .flat_map(|y| (0..nx).map(move |x| (x, y)))
            .map(|(x, y)| self.cell(x, y))
            .collect();
        let fills: Vec<RGBColor> = values.iter().map(|v| paint(to_t(*v))).collect();
        let texts = cell_texts(&values, &fills);
        for y in 0..ny {
            for x in 0..nx {
                let v = self.cell(x, y);
                let text = texts[y * nx + x].clone();
                let chars = text.chars().count().max(1) as f64;
                let size = (cell_h * 0.42)
                    .min(cell_w * 0.85 / (chars * CHAR_W))
                    .min(20.0);
                // Text smaller than this is unreadable; leave the colour to
                // speak rather than printing noise.
                if size < 7.0 {
                    continue;
                }
                let colour = if v.is_finite() {
                    text_colour_on(paint(to_t(v)))
                } else {
                    RGBColor(90, 90, 90)
                };
                chart.plotting_area().draw(&Text::new(
                    text,
                    (x as f64 + 0.5, y as f64 + 0.5),
                    text_style(size as u32, colour, centred()),
                ))?;
            }
        }

        // Colour scale: a narrow chart sharing the main plot's vertical
        // margins so the bar lines up with the cells.
        let mut bar = ChartBuilder::on(&bar_area)
            .margin_top(margin)
            .margin_bottom(margin + x_label_area)
            .margin_left(10)
            .margin_right(10)
            .right_y_label_area_size(bar_label_area)
            .build_cartesian_2d(0.0..1.0, bz0..bz1)?;
        let z_fmt = |v: &f64| fmt_tick(*v, bz0, bz1);
        bar.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc(self.z_label)
            .y_label_formatter(&z_fmt)
            .y_labels(6)
            .label_style((FAMILY, TICK_SIZE))
            .axis_desc_style((FAMILY, DESC_SIZE))
            .axis_style(BLACK.mix(0.6))
            .draw()?;
        const STEPS: usize = 120;
        let step = z_span / STEPS as f64;
        bar.draw_series((0..STEPS).map(|i| {
            let a = bz0 + i as f64 * step;
            let colour = if constant {
                paint(0.5)
            } else {
                paint((a + 0.5 * step - z0) / (z1 - z0))
            };
            Rectangle::new([(0.0, a), (1.0, a + step * 1.02)], colour.filled())
        }))?;
        bar.draw_series(std::iter::once(Rectangle::new(
            [(0.0, bz0), (1.0, bz1)],
            BLACK.mix(0.6).stroke_width(1),
        )))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh folder per test so parallel tests never share files.
    fn scratch(name: &str) -> PathBuf {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!(
            "gardengate-charts-{}-{}-{}",
            std::process::id(),
            n,
            name
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn assert_outputs(stem: &Path, title: &str) {
        let png = with_suffix("", stem.as_os_str(), ".png");
        let svg = with_suffix("", stem.as_os_str(), ".svg");
        let png_bytes = std::fs::read(&png).expect("png written");
        assert!(png_bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "PNG magic");
        assert!(
            png_bytes.len() > 5 * 1024,
            "PNG too small: {}",
            png_bytes.len()
        );
        let svg_text = std::fs::read_to_string(&svg).expect("svg written");
        assert!(svg_text.contains("<svg"));
        assert!(svg_text.contains(title), "title text missing from SVG");
        // No temporary files may be left behind after a successful write.
        let dir = stem.parent().unwrap();
        let leftovers: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp."))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left behind");
    }

    fn wave(label: &str, n: usize, phase: f64) -> Series {
        let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let mean: Vec<f64> = x
            .iter()
            .map(|t| (t / 15.0 + phase).sin() * 10.0 + 50.0)
            .collect();
        let lo = mean.iter().map(|m| m - 2.5).collect();
        let hi = mean.iter().map(|m| m + 2.5).collect();
        Series {
            label: label.to_string(),
            x,
            mean,
            lo,
            hi,
        }
    }

    #[test]
    fn time_panels_writes_png_and_svg() {
        let dir = scratch("time");
        let stem = dir.join("market_shares");
        let panels = vec![
            Panel {
                title: "Consumer surplus".into(),
                series: vec![wave("Baseline", 120, 0.0), wave("DMA", 120, 1.0)],
            },
            Panel {
                title: "Platform revenue".into(),
                series: vec![wave("DMA", 120, 2.0), wave("Baseline", 120, 0.5)],
            },
        ];
        let axis = TimeAxis {
            start_date: Some((2021, 9, 17)),
            days_per_step: 7,
        };
        let events = vec![EventMark {
            step: 52.0,
            label: "DMA in force".into(),
        }];
        time_panels(
            &stem,
            "Welfare over time",
            "EUR bn",
            &panels,
            &axis,
            &events,
        )
        .unwrap();
        assert_outputs(&stem, "Welfare over time");
        let svg = std::fs::read_to_string(dir.join("market_shares.svg")).unwrap();
        assert!(
            svg.contains("2022-01-01"),
            "calendar-aligned date tick missing"
        );
        assert!(svg.contains("DMA in force"));
    }

    #[test]
    fn grouped_bars_writes_png_and_svg() {
        let dir = scratch("bars");
        let stem = dir.join("welfare_split");
        let groups: Vec<String> = ["0.05", "0.15", "0.30"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let comps: Vec<String> = ["Consumer surplus", "Merchant profit", "Platform revenue"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let values = vec![
            vec![(10.0, 1.0), (5.0, 0.5), (1.0, 0.2)],
            vec![(8.0, 1.0), (4.0, 0.4), (3.0, 0.3)],
            vec![(5.0, 1.2), (2.5, 0.4), (6.0, 0.6)],
        ];
        grouped_bars(
            &stem,
            "Welfare by take rate",
            "EUR bn",
            &groups,
            &comps,
            &values,
        )
        .unwrap();
        assert_outputs(&stem, "Welfare by take rate");
    }

    #[test]
    fn heatmap_writes_png_and_svg() {
        let dir = scratch("heat");
        let stem = dir.join("share_grid");
        let xt: Vec<String> = (0..6).map(|i| format!("{:.2}", i as f64 * 0.05)).collect();
        let yt: Vec<String> = (0..4).map(|i| format!("{}", i + 1)).collect();
        let z: Vec<Vec<f64>> = (0..4)
            .map(|y| (0..6).map(|x| (x * y) as f64 / 15.0).collect())
            .collect();
        heatmap(
            &stem,
            "Entrant share",
            "take rate",
            &xt,
            "platforms",
            &yt,
            &z,
            "share",
        )
        .unwrap();
        assert_outputs(&stem, "Entrant share");
        let svg = std::fs::read_to_string(dir.join("share_grid.svg")).unwrap();
        assert!(svg.contains("0.333"), "cell value text missing");
    }

    #[test]
    fn stem_with_dots_keeps_its_name() {
        let dir = scratch("dots");
        let stem = dir.join("fig.v2");
        grouped_bars(
            &stem,
            "Dotted",
            "y",
            &["a".into()],
            &["c".into()],
            &[vec![(1.0, 0.1)]],
        )
        .unwrap();
        assert!(dir.join("fig.v2.png").exists());
        assert!(dir.join("fig.v2.svg").exists());
    }

    #[test]
    fn empty_inputs_do_not_panic() {
        let dir = scratch("empty");
        let axis = TimeAxis::default();
        time_panels(&dir.join("a"), "Empty", "y", &[], &axis, &[]).unwrap();
        let empty_panel = Panel {
            title: "nothing".into(),
            series: vec![],
        };
        let empty_series = Panel {
            title: "empty series".into(),
            series: vec![Series {
                label: "s".into(),
                ..Series::default()
            }],
        };
        time_panels(
            &dir.join("b"),
            "Empty panels",
            "y",
            &[empty_panel, empty_series],
            &axis,
            &[EventMark {
                step: 3.0,
                label: "e".into(),
            }],
        )
        .unwrap();
        grouped_bars(&dir.join("c"), "No bars", "y", &[], &[], &[]).unwrap();
        grouped_bars(
            &dir.join("c2"),
            "Ragged",
            "y",
            &["g".into(), "h".into()],
            &["c".into()],
            &[],
        )
        .unwrap();
        heatmap(&dir.join("d"), "No cells", "x", &[], "y", &[], &[], "z").unwrap();
        heatmap(
            &dir.join("d2"),
            "Ragged",
            "x",
            &[],
            "y",
            &[],
            &[vec![1.0], vec![]],
            "z",
        )
        .unwrap();
        time_panels(&dir.join("e"), "", "", &[Panel::default()], &axis, &[]).unwrap();
        for stem in ["a", "b", "c", "c2", "d", "d2", "e"] {
            assert!(dir.join(format!("{stem}.png")).exists(), "{stem}.png");
            assert!(dir.join(format!("{stem}.svg")).exists(), "{stem}.svg");
        }
    }

    #[test]
    fn nan_values_are_skipped() {
        let dir = scratch("nan");
        let mut s = wave("with gaps", 60, 0.0);
        for i in [0, 10, 11, 12, 30] {
            s.mean[i] = f64::NAN;
        }
        s.lo[40] = f64::NAN;
        s.hi[41] = f64::INFINITY;
        s.x[50] = f64::NAN;
        let all_nan = Series {
            label: "all nan".into(),
            x: vec![0.0, 1.0],
            mean: vec![f64::NAN, f64::NAN],
            lo: vec![],
            hi: vec![],
        };
        let panels = vec![Panel {
            title: "gaps".into(),
            series: vec![s, all_nan],
        }];
        time_panels(
            &dir.join("t"),
            "NaN",
            "y",
            &panels,
            &TimeAxis::default(),
            &[EventMark {
                step: f64::NAN,
                label: "bad".into(),
            }],
        )
        .unwrap();
        grouped_bars(
            &dir.join("b"),
            "NaN bars",
            "y",
            &["g1".into(), "g2".into()],
            &["a".into(), "b".into()],
            &[
                vec![(f64::NAN, 1.0), (2.0, f64::NAN)],
                vec![(f64::NAN, f64::NAN)],
            ],
        )
        .unwrap();
        heatmap(
            &dir.join("h"),
            "NaN heat",
            "x",
            &["a".into(), "b".into()],
            "y",
            &["c".into()],
            &[vec![f64::NAN, f64::NAN]],
            "z",
        )
        .unwrap();
        let _ = std::fs::metadata(dir.join("h.png")).unwrap();
    }

    #[test]
    fn constant_and_single_point_series_plot() {
        let dir = scratch("const");
        let constant = Series {
            label: "flat".into(),
            x: (0..20).map(f64::from).collect(),
            mean: vec![3.0; 20],
            lo: vec![],
            hi: vec![],
        };
        let single = Series {
            label: "one".into(),
            x: vec![5.0],
            mean: vec![0.0],
            lo: vec![-1.0],
            hi: vec![1.0],
        };
        let lone = Series {
            label: "lone".into(),
            x: vec![0.0],
            mean: vec![0.0],
            lo: vec![],
            hi: vec![],
        };
        time_panels(
            &dir.join("c"),
            "Constant",
            "y",
            &[
                Panel {
                    title: "flat".into(),
                    series: vec![constant],
                },
                Panel {
                    title: "single".into(),
                    series: vec![single],
                },
                Panel {
                    title: "lone".into(),
                    series: vec![lone],
                },
            ],
            &TimeAxis {
                start_date: Some((2024, 2, 29)),
                days_per_step: 0,
            },
            &[],
        )
        .unwrap();
        heatmap(
            &dir.join("h"),
            "Constant heat",
            "x",
            &["a".into(), "b".into()],
            "y",
            &["c".into(), "d".into()],
            &[vec![2.0, 2.0], vec![2.0, 2.0]],
            "z",
        )
        .unwrap();
        grouped_bars(
            &dir.join("b"),
            "Zero bars",
            "y",
            &["g".into()],
            &["c".into()],
            &[vec![(0.0, 0.0)]],
        )
        .unwrap();
    }

    #[test]
    fn invalid_start_date_is_an_error() {
        let dir = scratch("baddate");
        let axis = TimeAxis {
            start_date: Some((2021, 2, 30)),
            days_per_step: 1,
        };
        let err = time_panels(&dir.join("x"), "t", "y", &[], &axis, &[]).unwrap_err();
        assert!(format!("{err:#}").contains("2021-02-30"));
    }

    #[test]
    fn unwritable_destination_is_an_error_not_a_panic() {
        let dir = scratch("blocked");
        std::fs::create_dir_all(&dir).unwrap();
        // A regular file where the parent folder should be.
        let blocker = dir.join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let err = grouped_bars(
            &blocker.join("chart"),
            "t",
            "y",
            &["g".into()],
            &["c".into()],
            &[vec![(1.0, 0.1)]],
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("chart"));
    }

    #[test]
    fn date_conversion() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(days_from_civil(2021, 9, 17), 18_887);
        assert_eq!(iso_date(18_887), "2021-09-17");
        assert_eq!(iso_date(-1), "1969-12-31");
        assert_eq!(iso_date(days_from_civil(2000, 2, 29)), "2000-02-29");
        for z in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        let fig = TimeFigure {
            title: "",
            y_label: "",
            panels: &[],
            start_day: Some(days_from_civil(2021, 9, 17)),
            days_per_step: 7,
            events: &[],
            colours: vec![],
            y_range: None,
        };
        assert_eq!(fig.x_tick(0.0, 0.0, 10.0), "2021-09-17");
        assert_eq!(fig.x_tick(2.0, 0.0, 10.0), "2021-10-01");
        assert_eq!(
            fig.x_tick(0.5, 0.0, 10.0),
            "",
            "half a week is not a whole day"
        );
    }

    #[test]
    fn number_formatting() {
        assert_eq!(fmt_tick(1500000.0, 0.0, 2_000_000.0), "1,500,000");
        // One axis, one style: 5000 gets a separator when the axis reaches 25,000.
        assert_eq!(fmt_tick(5000.0, 0.0, 25_000.0), "5,000");
        assert_eq!(fmt_tick(2000.0, 1950.0, 2050.0), "2000");
        assert_eq!(fmt_tick(-0.0001, -0.5, 0.5), "0.0");
        assert_eq!(fmt_tick(0.5, 0.0, 1.0), "0.5");
        assert_eq!(fmt_tick(2.0e10, 0.0, 3e10), "2.00e10");
        assert_eq!(fmt_tick(0.0, 0.0, 3e10), "0");
        assert_eq!(fmt_value(0.33333), "0.333");
        assert_eq!(fmt_value(123.4), "123");
        assert_eq!(fmt_value(f64::NAN), "n/a");
        assert_eq!(group_thousands("-12345"), "-12,345");
        assert_eq!(group_thousands("1234"), "1,234");
        assert_eq!(group_thousands("123"), "123");
    }

    #[test]
    fn same_label_same_colour_across_panels() {
        let panels = vec![
            Panel {
                title: "a".into(),
                series: vec![wave("X", 3, 0.0), wave("Y", 3, 0.0)],
            },
            Panel {
                title: "b".into(),
                series: vec![wave("Y", 3, 0.0), wave("Z", 3, 0.0)],
            },
        ];
        let colours = colour_by_label(&panels);
        assert_eq!(colours.len(), 3);
        assert_eq!(colours[1].0, "Y");
        assert_eq!(colours[0].1, PALETTE[0]);
        assert_eq!(colours[1].1, PALETTE[1]);
        assert_eq!(colours[2].1, PALETTE[2]);
    }

    #[test]
    fn legend_avoids_occupied_corner() {
        // Data crowding the upper right pushes the legend elsewhere.
        let pts = vec![(0.95, 0.95), (0.9, 0.9)];
        let (pos, hits) = pick_corner(&pts, 0.2, 0.2);
        assert_eq!(hits, 0);
        assert!(matches!(pos, SeriesLabelPosition::UpperLeft));
    }

    #[test]
    fn font_patch_keeps_every_outline_and_anchors_it() {
        let patched = anchor_glyphs_at_origin(FONT_BYTES).expect("font patch applies");
        let before = font_glyphs(FONT_BYTES).unwrap();
        let after = font_glyphs(&patched).unwrap();
        assert_eq!(before.glyphs.len(), after.glyphs.len());
        let mut anchored = 0;
        for (old, new) in before.glyphs.iter().zip(&after.glyphs) {
            match (decode_simple(old), decode_simple(new)) {
                (Some(o), Some(n)) => {
                    // Every original point survives unchanged.
                    assert_eq!(&n.xs[..o.xs.len()], &o.xs[..]);
                    assert_eq!(&n.ys[..o.ys.len()], &o.ys[..]);
                    assert_eq!(&n.end_pts[..o.end_pts.len()], &o.end_pts[..]);
                    if n.xs.len() == o.xs.len() + 1 {
                        anchored += 1;
                        assert_eq!(*n.xs.last().unwrap(), 0);
                        assert!(o.ys.contains(n.ys.last().unwrap()));
                    } else {
                        assert_eq!(n.xs.len(), o.xs.len());
                    }
                }
                (None, None) => assert_eq!(old.len().next_multiple_of(4), new.len()),
                _ => panic!("glyph kind changed"),
            }
        }
        assert!(anchored > 1000, "only {anchored} glyphs anchored");
        // Patching is idempotent: nothing is left to anchor.
        let twice = anchor_glyphs_at_origin(&patched).unwrap();
        let again = font_glyphs(&twice).unwrap();
        assert!(after.glyphs.iter().zip(&again.glyphs).all(|(a, b)| a == b));
        ensure_font().unwrap();
    }

    #[test]
    fn tick_positions() {
        assert_eq!(nice_ticks(0.0, 199.0, 4), vec![0.0, 50.0, 100.0, 150.0]);
        assert_eq!(nice_ticks(-1.0, 1.0, 5), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert_eq!(nice_ticks(3.0, 3.0, 5), vec![3.0]);
        let start = days_from_civil(2021, 9, 17);
        let ticks = date_ticks(start, 7.0, 0.0, 155.0, 6);
        assert!(!ticks.is_empty() && ticks.len() <= 6, "{ticks:?}");
        for t in &ticks {
            let label = iso_date(start + (t * 7.0).round() as i64);
            assert!(
                label.ends_with("-01-01") || label.ends_with("-07-01"),
                "{label}"
            );
        }
        // Short daily ranges get daily or weekly ticks.
        let short = date_ticks(start, 1.0, 0.0, 10.0, 6);
        assert!(short.len() >= 2 && short.len() <= 6, "{short:?}");
        // Very long ranges stay bounded.
        assert!(date_ticks(start, 365.0, 0.0, 1e6, 8).len() <= 8);
        assert_eq!(date_ticks(start, 1.0, 0.2, 0.4, 5), vec![0.2]);
    }
}
