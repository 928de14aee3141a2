//! Charts of a sensitivity analysis: the Morris μ*–σ plane and scatter plots of a design's
//! output against each parameter (PNG and SVG, with the shared font and palette of
//! `charts`). Sobol' and regression bars use `charts::grouped_bars`.

use crate::Result;
use crate::{
    finite_bounds, fmt_tick, padded_range, palette, titled, write_both, Figure, DESC_SIZE, FAMILY,
    TICK_SIZE,
};
use gardengate_io::Context;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One parameter in the Morris plane.
#[derive(Clone, Debug)]
pub struct MorrisPoint {
    /// Parameter name.
    pub label: String,
    /// μ*.
    pub mu_star: f64,
    /// Half-width of μ*'s interval.
    pub mu_star_conf: f64,
    /// σ.
    pub sigma: f64,
}

/// The Morris plane: μ* across, σ up, a horizontal bar for μ*'s interval, and the line
/// σ = μ* (above it, effects are mostly non-linear or interacting).
pub fn morris_plane(stem: &Path, title: &str, points: &[MorrisPoint]) -> Result<()> {
    Ok(write_both(stem, &MorrisFigure { title, points })
        .with_context(|| format!("writing Morris chart {}", stem.display()))?)
}

/// One panel of a scatter figure.
#[derive(Clone, Debug)]
pub struct ScatterPanel {
    /// Parameter name (x axis).
    pub x_label: String,
    /// Parameter values (categorical: the category's index).
    pub x: Vec<f64>,
    /// Output values.
    pub y: Vec<f64>,
    /// Category names of a categorical parameter.
    pub categories: Option<Vec<String>>,
}

/// Output against each parameter, one panel per parameter (up to three per row).
pub fn scatter_panels(
    stem: &Path,
    title: &str,
    y_label: &str,
    panels: &[ScatterPanel],
) -> Result<()> {
    Ok(write_both(
        stem,
        &ScatterFigure {
            title,
            y_label,
            panels,
        },
    )
    .with_context(|| format!("writing scatter chart {}", stem.display()))?)
}

struct MorrisFigure<'a> {
    title: &'a str,
    points: &'a [MorrisPoint],
}

impl Figure for MorrisFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 900)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, self.title)?;
        let xb = finite_bounds(
            self.points
                .iter()
                .flat_map(|p| {
                    [
                        p.mu_star + p.mu_star_conf.abs(),
                        p.mu_star - p.mu_star_conf.abs(),
                    ]
                })
                .chain([0.0]),
        );
        let yb = finite_bounds(self.points.iter().map(|p| p.sigma).chain([0.0]));
        let (x0, x1) = padded_range(xb, 0.02, 0.15);
        let (y0, y1) = padded_range(yb, 0.02, 0.1);
        let mut chart = ChartBuilder::on(&area)
            .margin(24)
            .x_label_area_size(70)
            .y_label_area_size(100)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc("μ* (mean absolute elementary effect)")
            .y_desc("σ (standard deviation of the effects)")
            .x_label_formatter(&|v| fmt_tick(*v, x0, x1))
            .y_label_formatter(&|v| fmt_tick(*v, y0, y1))
            .label_style((FAMILY, TICK_SIZE))
            .axis_desc_style((FAMILY, DESC_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .draw()?;
        // σ = μ*: the usual guide between mostly linear and mostly non-linear effects.
        let top = x1.min(y1).max(0.0);
        chart.draw_series(LineSeries::new(
            [(0.0, 0.0), (top, top)],
            BLACK.mix(0.35).stroke_width(1),
        ))?;
        for (k, p) in self.points.iter().enumerate() {
            if !p.mu_star.is_finite() || !p.sigma.is_finite() {
                continue;
            }
            let c = palette(k);
            if p.mu_star_conf.is_finite() && p.mu_star_conf > 0.0 {
                chart.draw_series(LineSeries::new(
                    [
                        (p.mu_star - p.mu_star_conf, p.sigma),
                        (p.mu_star + p.mu_star_conf, p.sigma),
                    ],
                    c.stroke_width(2),
                ))?;
            }
            chart.draw_series([Circle::new((p.mu_star, p.sigma), 7, c.filled())])?;
            chart.draw_series([Text::new(
                format!("  {}", p.label),
                (p.mu_star, p.sigma),
                (FAMILY, TICK_SIZE).into_font().color(&c),
            )])?;
        }
        Ok(())
    }
}

struct ScatterFigure<'a> {
    title: &'a str,
    y_label: &'a str,
    panels: &'a [ScatterPanel],
}

impl ScatterFigure<'_> {
    fn grid(&self) -> (usize, usize) {
        let n = self.panels.len().max(1);
        let cols = n.min(3);
        (cols, n.div_ceil(cols))
    }
}

impl Figure for ScatterFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let (c, r) = self.grid();
        ((c as u32 * 560).max(1400), 120 + r as u32 * 460)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, self.title)?;
        let (cols, rows) = self.grid();
        let cells = area.split_evenly((rows, cols));
        let yb = finite_bounds(self.panels.iter().flat_map(|p| p.y.iter().copied()));
        let (y0, y1) = padded_range(yb, 0.05, 0.05);
        for (k, (p, cell)) in self.panels.iter().zip(cells.iter()).enumerate() {
            let xb = finite_bounds(p.x.iter().copied());
            let (x0, x1) = padded_range(xb, 0.05, 0.05);
            let mut chart = ChartBuilder::on(cell)
                .margin(16)
                .x_label_area_size(60)
                .y_label_area_size(if k % cols == 0 { 100 } else { 60 })
                .build_cartesian_2d(x0..x1, y0..y1)?;
            let y_fmt = |v: &f64| fmt_tick(*v, y0, y1);
            let cats = p.categories.clone();
            let x_fmt = move |v: &f64| match &cats {
                Some(c) => {
                    let g = v.round();
                    if (v - g).abs() < 1e-6 && g >= 0.0 {
                        c.get(g as usize).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                }
                None => fmt_tick(*v, x0, x1),
            };
            let mut mesh = chart.configure_mesh();
            mesh.x_desc(p.x_label.as_str())
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .x_labels(5)
                .y_labels(6)
                .label_style((FAMILY, TICK_SIZE))
                .axis_desc_style((FAMILY, DESC_SIZE))
                .bold_line_style(BLACK.mix(0.08))
                .light_line_style(TRANSPARENT);
            if k % cols == 0 {
                mesh.y_desc(self.y_label);
            }
            mesh.draw()?;
            let c = palette(0);
            chart.draw_series(
                p.x.iter()
                    .zip(&p.y)
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .map(|(&x, &y)| Circle::new((x, y), 3, c.mix(0.55).filled())),
            )?;
        }
        Ok(())
    }
}
