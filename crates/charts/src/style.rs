//! Text sizes, the palette and text styles shared by every figure.

use super::*;

// Sizes in pixels, chosen so text stays legible when a 1200 px wide figure
// is scaled down to the text width of a paper.
pub(crate) const TITLE_SIZE: u32 = 32;
pub(crate) const PANEL_TITLE_SIZE: u32 = 24;
pub(crate) const DESC_SIZE: u32 = 20;
pub(crate) const TICK_SIZE: u32 = 17;
pub(crate) const LEGEND_SIZE: u32 = 17;
pub(crate) const EVENT_SIZE: u32 = 15;
/// Rough advance width of a DejaVu Sans character as a fraction of the font
/// size, used to size label areas before anything is drawn.
pub(crate) const CHAR_W: f64 = 0.6;

/// Colour-blind-safe palette (Okabe–Ito first, then muted extras), because
/// printed papers are often read in greyscale or by colour-blind readers.
pub(crate) const PALETTE: [RGBColor; 10] = [
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
pub(crate) fn colour_by_label(panels: &[Panel]) -> Vec<(String, RGBColor)> {
    let mut out: Vec<(String, RGBColor)> = Vec::new();
    for s in panels.iter().flat_map(|p| p.series.iter()) {
        if !out.iter().any(|(l, _)| *l == s.label) {
            let c = palette(out.len());
            out.push((s.label.clone(), c));
        }
    }
    out
}

pub(crate) fn text_style(size: u32, colour: RGBColor, pos: Pos) -> TextStyle<'static> {
    TextStyle {
        font: (FAMILY, size).into_font(),
        color: colour.to_backend_color(),
        pos,
    }
}

pub(crate) fn centred() -> Pos {
    Pos::new(HPos::Center, VPos::Center)
}

/// Estimated pixel width of `text` in the embedded font at `size`.
pub(crate) fn text_w(text: &str, size: u32) -> f64 {
    text.chars().count() as f64 * f64::from(size) * CHAR_W
}
