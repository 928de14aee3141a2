//! Tests of the chart layout helpers and of rendering odd data.

use super::*;
use gardengate_core::scenario::calendar::civil_from_days;
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
