//! Heatmaps: levels on viridis, effects on a red–white–blue scale centred at zero.

use super::*;

pub(crate) struct HeatFigure<'a> {
    pub(crate) title: &'a str,
    pub(crate) x_label: &'a str,
    pub(crate) x_ticks: &'a [String],
    pub(crate) y_label: &'a str,
    pub(crate) y_ticks: &'a [String],
    pub(crate) z: &'a [Vec<f64>],
    pub(crate) z_label: &'a str,
    /// A diverging scale centred at 0 (effects) instead of viridis over the data's range.
    pub(crate) diverging: bool,
}

/// ColorBrewer's RdBu (11 classes), from most negative (dark red) through white to most
/// positive (dark blue); colour-blind safe and readable in greyscale by lightness.
pub(crate) const RDBU: [(u8, u8, u8); 11] = [
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
pub(crate) fn interpolate(anchors: &[(u8, u8, u8)], t: f64) -> RGBColor {
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
pub(crate) fn cell_texts(values: &[f64], colours: &[RGBColor]) -> Vec<String> {
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
pub(crate) const VIRIDIS: [(u8, u8, u8); 9] = [
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

pub(crate) fn viridis(t: f64) -> RGBColor {
    interpolate(&VIRIDIS, t)
}

/// Dark cells get white text, light cells black, so values stay readable
/// across the whole colour scale.
pub(crate) fn text_colour_on(bg: RGBColor) -> RGBColor {
    let lum = 0.2126 * f64::from(bg.0) + 0.7152 * f64::from(bg.1) + 0.0722 * f64::from(bg.2);
    if lum > 140.0 {
        BLACK
    } else {
        WHITE
    }
}

impl HeatFigure<'_> {
    pub(crate) fn dims(&self) -> (usize, usize) {
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

    pub(crate) fn cell(&self, x: usize, y: usize) -> f64 {
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
