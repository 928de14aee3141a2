//! Legends: the in-plot corner legend and the figure legend strip above the panels.

use super::*;

/// Chooses the legend corner that covers the fewest data points.
/// `points` are in normalised plot coordinates (0..1, y up); `box_w`/`box_h`
/// are the legend's size as fractions of the plot. Returns the corner and
/// how many points it would hide.
pub(crate) fn pick_corner(
    points: &[(f64, f64)],
    box_w: f64,
    box_h: f64,
) -> (SeriesLabelPosition, usize) {
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
pub(crate) fn legend_box(labels: &[&str], plot_w: f64, plot_h: f64) -> (f64, f64) {
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

pub(crate) fn draw_legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
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

/// Width of one legend entry's swatch (band and line) in pixels.
pub(crate) const SWATCH_W: i32 = 28;
/// Height of one row of a figure legend.
pub(crate) const LEGEND_ROW_H: i32 = 28;

/// Lays out legend entries left to right in rows no wider than `width` (each row centred);
/// returns per row its entries as (index, x offset) and the row's total width.
pub(crate) fn legend_rows(widths: &[i32], width: i32) -> Vec<(Vec<(usize, i32)>, i32)> {
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
pub(crate) fn legend_strip<DB: DrawingBackend>(
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
