//! Forest plot: one panel per metric, one row per variant (or sweep point), the effect as a
//! dot with its 95 % interval as a whisker and a line at zero.

use super::*;

/// Draws a forest plot: `panels[k]` is (metric title, per row (value, ci95 half-width));
/// rows are labelled by `rows`, the x axis by `x_desc`. Writes `<stem>.png` and `<stem>.svg`.
/// Its height grows with the rows, so it stays readable with many points.
pub fn forest_plot(
    stem: &Path,
    title: &str,
    x_desc: &str,
    rows: &[String],
    panels: &[(String, Vec<(f64, f64)>)],
) -> Result<()> {
    let fig = ForestFigure {
        title,
        x_desc,
        rows,
        panels,
    };
    Ok(
        write_both(stem, &fig)
            .with_context(|| format!("writing forest plot {}", stem.display()))?,
    )
}

struct ForestFigure<'a> {
    title: &'a str,
    x_desc: &'a str,
    rows: &'a [String],
    panels: &'a [(String, Vec<(f64, f64)>)],
}

impl ForestFigure<'_> {
    fn cols(&self) -> usize {
        self.panels.len().clamp(1, 2)
    }

    fn label_w(&self) -> u32 {
        let w = self
            .rows
            .iter()
            .map(|r| text_w(r, TICK_SIZE))
            .fold(0.0, f64::max);
        (w + 16.0).min(420.0) as u32
    }

    fn panel_h(&self) -> u32 {
        (self.rows.len() as u32 * 44 + 150).max(260)
    }
}

impl Figure for ForestFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let cols = self.cols() as u32;
        let grid_rows = self.panels.len().div_ceil(self.cols()).max(1) as u32;
        let w = (cols * (self.label_w() + 560)).max(1200);
        (w, 70 + grid_rows * self.panel_h())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, self.title)?;
        if self.panels.is_empty() || self.rows.is_empty() {
            return draw_no_data(&area);
        }
        let cols = self.cols();
        let grid_rows = self.panels.len().div_ceil(cols);
        let cells = area.split_evenly((grid_rows, cols));
        let n = self.rows.len();
        for (k, (metric, vals)) in self.panels.iter().enumerate() {
            let cell = &cells[k];
            let b = finite_bounds(
                vals.iter()
                    .filter(|(m, _)| m.is_finite())
                    .flat_map(|(m, h)| {
                        let h = if h.is_finite() { h.abs() } else { 0.0 };
                        [m - h, m + h]
                    })
                    .chain([0.0]),
            );
            let (x0, x1) = padded_range(b, 0.06, 0.06);
            // Row 0 at the top.
            let ticks: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let mut chart = ChartBuilder::on(cell)
                .margin(16)
                .caption(metric, (FAMILY, PANEL_TITLE_SIZE))
                .x_label_area_size(56)
                .y_label_area_size(self.label_w())
                .build_cartesian_2d(x0..x1, TickedAxis::new(n as f64 - 0.5, -0.5, ticks))?;
            let y_fmt = |v: &f64| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    self.rows.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            };
            let x_fmt = |v: &f64| fmt_tick(*v, x0, x1);
            chart
                .configure_mesh()
                .disable_y_mesh()
                .x_desc(self.x_desc)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .x_labels(5)
                .label_style((FAMILY, TICK_SIZE))
                .axis_desc_style((FAMILY, DESC_SIZE))
                .bold_line_style(BLACK.mix(0.08))
                .light_line_style(TRANSPARENT)
                .axis_style(BLACK.mix(0.6))
                .draw()?;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, n as f64 - 0.5), (0.0, -0.5)],
                BLACK.mix(0.55).stroke_width(2),
            )))?;
            for (i, &(m, h)) in vals.iter().enumerate() {
                if !m.is_finite() {
                    continue;
                }
                let y = i as f64;
                let colour = palette(0);
                if h.is_finite() && h > 0.0 {
                    let st = colour.stroke_width(3);
                    chart.draw_series([
                        PathElement::new(vec![(m - h, y), (m + h, y)], st),
                        PathElement::new(vec![(m - h, y - 0.15), (m - h, y + 0.15)], st),
                        PathElement::new(vec![(m + h, y - 0.15), (m + h, y + 0.15)], st),
                    ])?;
                }
                chart.draw_series(std::iter::once(Circle::new((m, y), 7, colour.filled())))?;
            }
        }
        Ok(())
    }
}
