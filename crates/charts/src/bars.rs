//! Grouped bar charts.

use super::*;

pub(crate) struct BarFigure<'a> {
    pub(crate) title: &'a str,
    pub(crate) y_label: &'a str,
    pub(crate) groups: &'a [String],
    pub(crate) components: &'a [String],
    pub(crate) values: &'a [Vec<(f64, f64)>],
}

impl BarFigure<'_> {
    /// Finite (mean, half-width) of a cell; half-width 0 when unknown.
    pub(crate) fn value(&self, g: usize, c: usize) -> Option<(f64, f64)> {
        let (m, ci) = *self.values.get(g)?.get(c)?;
        if !m.is_finite() {
            return None;
        }
        let ci = if ci.is_finite() { ci.abs() } else { 0.0 };
        Some((m, ci))
    }

    /// Horizontal extent of bar `c` inside group `g` (groups sit at integers).
    pub(crate) fn bar_x(&self, g: usize, c: usize) -> (f64, f64) {
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
