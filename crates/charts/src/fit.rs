//! Fit chart of a calibration: one row per target; on the left the observed value with its
//! 95 % interval (±1.96 se, grey square) and the simulated value with its range over
//! replicates (coloured dot), on the right the standardised residual z with lines at ±2.

use super::*;

/// One target of the fit chart.
#[derive(Clone, Debug, PartialEq)]
pub struct FitMark {
    /// Row label.
    pub label: String,
    /// Observed value.
    pub observed: f64,
    /// Its standard error.
    pub se: f64,
    /// Simulated value (mean over replicates).
    pub simulated: f64,
    /// Smallest replicate's value.
    pub sim_lo: f64,
    /// Largest replicate's value.
    pub sim_hi: f64,
    /// Standardised residual.
    pub z: f64,
}

/// Draws the fit chart; writes `<stem>.png` and `<stem>.svg`.
pub fn fit_plot(stem: &Path, title: &str, rows: &[FitMark]) -> Result<()> {
    Ok(write_both(stem, &FitFigure { title, rows })
        .with_context(|| format!("writing fit chart {}", stem.display()))?)
}

struct FitFigure<'a> {
    title: &'a str,
    rows: &'a [FitMark],
}

impl FitFigure<'_> {
    fn label_w(&self) -> u32 {
        let w = self
            .rows
            .iter()
            .map(|r| text_w(&r.label, TICK_SIZE))
            .fold(0.0, f64::max);
        (w + 16.0).min(460.0) as u32
    }
}

impl Figure for FitFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let h = (self.rows.len() as u32 * 44 + 190).max(300);
        ((self.label_w() + 560) * 2, 70 + h)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, self.title)?;
        if self.rows.is_empty() {
            return draw_no_data(&area);
        }
        let n = self.rows.len();
        let cells = area.split_evenly((1, 2));
        let ticks: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let y_fmt = |v: &f64| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 {
                self.rows
                    .get(i as usize)
                    .map(|r| r.label.clone())
                    .unwrap_or_default()
            } else {
                String::new()
            }
        };
        // Left: levels.
        let b = finite_bounds(self.rows.iter().flat_map(|r| {
            let h = 1.96 * r.se;
            [
                r.observed - h,
                r.observed + h,
                r.sim_lo,
                r.sim_hi,
                r.simulated,
            ]
        }));
        let (x0, x1) = padded_range(b, 0.06, 0.06);
        let mut chart = ChartBuilder::on(&cells[0])
            .margin(16)
            .caption(
                "observed ± 1.96 se (grey)  ·  simulated, replicate range (colour)",
                (FAMILY, PANEL_TITLE_SIZE),
            )
            .x_label_area_size(56)
            .y_label_area_size(self.label_w())
            .build_cartesian_2d(x0..x1, TickedAxis::new(n as f64 - 0.5, -0.5, ticks.clone()))?;
        let x_fmt = |v: &f64| fmt_tick(*v, x0, x1);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("value")
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .x_labels(5)
            .label_style((FAMILY, TICK_SIZE))
            .axis_desc_style((FAMILY, DESC_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .axis_style(BLACK.mix(0.6))
            .draw()?;
        let grey = BLACK.mix(0.45);
        let colour = palette(0);
        for (i, r) in self.rows.iter().enumerate() {
            let y = i as f64;
            let yo = y - 0.14;
            let ys = y + 0.14;
            if r.observed.is_finite() {
                let h = 1.96 * r.se;
                if h.is_finite() && h > 0.0 {
                    let st = grey.stroke_width(3);
                    chart.draw_series([
                        PathElement::new(vec![(r.observed - h, yo), (r.observed + h, yo)], st),
                        PathElement::new(
                            vec![(r.observed - h, yo - 0.1), (r.observed - h, yo + 0.1)],
                            st,
                        ),
                        PathElement::new(
                            vec![(r.observed + h, yo - 0.1), (r.observed + h, yo + 0.1)],
                            st,
                        ),
                    ])?;
                }
                chart.draw_series(std::iter::once(
                    EmptyElement::at((r.observed, yo))
                        + Rectangle::new([(-6, -6), (6, 6)], grey.filled()),
                ))?;
            }
            if r.simulated.is_finite() {
                if r.sim_lo.is_finite() && r.sim_hi.is_finite() && r.sim_hi > r.sim_lo {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(r.sim_lo, ys), (r.sim_hi, ys)],
                        colour.stroke_width(3),
                    )))?;
                }
                chart.draw_series(std::iter::once(Circle::new(
                    (r.simulated, ys),
                    7,
                    colour.filled(),
                )))?;
            }
        }
        // Right: z.
        let zb = finite_bounds(self.rows.iter().map(|r| r.z).chain([-2.5, 2.5]));
        let (z0, z1) = padded_range(zb, 0.06, 0.06);
        let mut chart = ChartBuilder::on(&cells[1])
            .margin(16)
            .caption(
                "z = (simulated − observed) / se",
                (FAMILY, PANEL_TITLE_SIZE),
            )
            .x_label_area_size(56)
            .y_label_area_size(self.label_w())
            .build_cartesian_2d(z0..z1, TickedAxis::new(n as f64 - 0.5, -0.5, ticks))?;
        let z_fmt = |v: &f64| fmt_tick(*v, z0, z1);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("z")
            .x_label_formatter(&z_fmt)
            .y_label_formatter(&y_fmt)
            .x_labels(5)
            .label_style((FAMILY, TICK_SIZE))
            .axis_desc_style((FAMILY, DESC_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .axis_style(BLACK.mix(0.6))
            .draw()?;
        for (x, alpha) in [(0.0, 0.55), (-2.0, 0.3), (2.0, 0.3)] {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, n as f64 - 0.5), (x, -0.5)],
                BLACK.mix(alpha).stroke_width(2),
            )))?;
        }
        for (i, r) in self.rows.iter().enumerate() {
            if r.z.is_finite() {
                chart.draw_series(std::iter::once(Circle::new(
                    (r.z, i as f64),
                    7,
                    colour.filled(),
                )))?;
            }
        }
        Ok(())
    }
}
