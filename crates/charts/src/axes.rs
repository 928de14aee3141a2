//! Axis ranges, tick positions and tick labels (numbers and dates).

use super::*;

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
pub(crate) fn fmt_value(v: f64) -> String {
    fmt_value_digits(v, 0)
}

/// [`fmt_value`] with `extra` more decimals (or mantissa digits in scientific notation).
pub(crate) fn fmt_value_digits(v: f64, extra: usize) -> String {
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

pub(crate) fn group_thousands(s: &str) -> String {
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
pub(crate) fn strip_negative_zero(s: String) -> String {
    match s.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| matches!(b, b'0' | b'.' | b',')) => rest.to_string(),
        _ => s,
    }
}

/// A linear f64 axis whose ticks sit exactly at the given positions.
///
/// Categorical axes (bar groups, heatmap rows) need one label per category
/// at its centre; plotters' own `WithKeyPoints` cannot be combined with
/// custom label formatters for f64 in 0.3.7, so this small wrapper does it.
#[derive(Clone)]
pub(crate) struct TickedAxis {
    pub(crate) inner: RangedCoordf64,
    pub(crate) ticks: Vec<f64>,
}

impl TickedAxis {
    pub(crate) fn new(lo: f64, hi: f64, ticks: Vec<f64>) -> Self {
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

use gardengate_core::scenario::calendar::civil_from_days;

pub(crate) fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// ISO `YYYY-MM-DD` for a day count since 1970-01-01.
pub(crate) fn iso_date(days: i64) -> String {
    // Clamped so absurd step values cannot overflow the arithmetic above.
    let (y, m, d) = civil_from_days(days.clamp(-1_000_000_000_000, 1_000_000_000_000));
    format!("{y:04}-{m:02}-{d:02}")
}
