//! Time panels: one panel per metric, a line and band per series, event labels above.

use super::*;
use gardengate_core::scenario::calendar::civil_from_days;

pub(crate) struct TimeFigure<'a> {
    pub(crate) title: &'a str,
    pub(crate) y_label: &'a str,
    pub(crate) panels: &'a [Panel],
    pub(crate) start_day: Option<i64>,
    pub(crate) days_per_step: u32,
    pub(crate) events: &'a [EventMark],
    pub(crate) colours: Vec<(String, RGBColor)>,
    /// A range the y axis always spans (None: the data's).
    pub(crate) y_range: Option<(f64, f64)>,
}

/// One plottable point: x, mean, lo, hi (all finite, lo <= hi).
pub(crate) type Pt = [f64; 4];

/// Splits a series into runs of finite points so NaN gaps stay visible as
/// gaps instead of being bridged by a misleading straight line.
pub(crate) fn clean_segments(s: &Series) -> Vec<Vec<Pt>> {
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
pub(crate) fn grid_shape(n: usize) -> (usize, usize) {
    let cols = if n == 4 { 2 } else { n.clamp(1, 3) };
    (n.div_ceil(cols).max(1), cols)
}

/// Round tick positions (1, 2, 2.5 or 5 times a power of ten) inside
/// `[lo, hi]`, at most `max` of them.
pub(crate) fn nice_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
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
pub(crate) fn date_ticks(
    start_day: i64,
    days_per_step: f64,
    x0: f64,
    x1: f64,
    max: usize,
) -> Vec<f64> {
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
    pub(crate) fn colour(&self, label: &str) -> RGBColor {
        self.colours
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, c)| *c)
            .unwrap_or(PALETTE[0])
    }

    pub(crate) fn x_desc(&self) -> &'static str {
        if self.start_day.is_some() {
            "Date"
        } else {
            "Step"
        }
    }

    pub(crate) fn x_tick(&self, v: f64, lo: f64, hi: f64) -> String {
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

    pub(crate) fn draw_panel<DB: DrawingBackend>(
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
    pub(crate) fn legend_entries(&self) -> Vec<(String, RGBColor, bool)> {
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
