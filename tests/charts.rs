//! Chart smoke tests that assert structure, not pixels: both files exist at a paper-friendly
//! size, the number of panels, every event label drawn once per panel in the strip above the
//! plot (labels that share a date stacked, never dropped), the legend above the panels, share
//! axes on [0, 1], no band for a single replicate, smoothing stated in the title, effect
//! heatmaps on a diverging scale, and a welfare chart of 18 points that stays narrow.

use gardengate::experiment::{self, BatchOptions, Progress};
use gardengate::scenario::from_text;
use std::path::{Path, PathBuf};

/// Three labelled events: two on one date (they must stack) and one near the end (its label
/// must not be cut off at the right edge).
const WORLD: &str = r#"
name = "tiny-charts"
seed = 3
steps = 30
start_date = "2021-09-01"
summary_last_steps = 10
[consumers]
count = 600
[[events]]
id = "dm"
date = "2021-09-08"
kind = "link"
social = "wechat"
channel = "dm"
target = "ali"
state = "open"
label = "WeChat opens DMs"
[[events]]
id = "pay"
date = "2021-09-08"
kind = "accept"
platform = "taobao"
wallet = "wechat_pay"
label = "Taobao takes WeChat Pay"
[[events]]
id = "late"
date = "2021-09-28"
kind = "accept"
platform = "jd"
wallet = "alipay"
label = "JD adds Alipay near the end"
"#;

const LABELS: [&str; 3] = [
    "WeChat opens DMs",
    "Taobao takes WeChat Pay",
    "JD adds Alipay near the end",
];

fn run(text: &str, dir: &Path) -> PathBuf {
    let plan = from_text(text, "t.toml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("out");
    experiment::run_batch(
        &plan,
        &BatchOptions {
            out: out.clone(),
            threads: Some(2),
            resume: false,
            force: false,
            progress: Progress::Quiet,
            shard: None,
            charts: true,
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    out
}

/// One `<text>` element of an SVG: its position and content.
#[derive(Debug)]
struct Text {
    x: f64,
    y: f64,
    s: String,
}

fn attr(tag: &str, name: &str) -> Option<f64> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[at..].find('"')? + at;
    tag[at..end].parse().ok()
}

/// Every `<text>` element of an SVG written by plotters (one text per element).
fn texts(svg: &str) -> Vec<Text> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find("<text") {
        rest = &rest[i..];
        let Some(close) = rest.find('>') else { break };
        let Some(end) = rest.find("</text>") else {
            break;
        };
        let tag = &rest[..close];
        let s = rest[close + 1..end]
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .trim()
            .to_string();
        out.push(Text {
            x: attr(tag, "x").unwrap_or(f64::NAN),
            y: attr(tag, "y").unwrap_or(f64::NAN),
            s,
        });
        rest = &rest[end + 7..];
    }
    out
}

/// Width and height of a PNG, from its IHDR chunk.
fn png_size(p: &Path) -> (u32, u32) {
    let b = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert_eq!(&b[1..4], b"PNG", "{} is not a PNG", p.display());
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

/// Both files of a chart exist; returns the SVG's text and the PNG's size.
fn chart(out: &Path, stem: &str) -> (String, (u32, u32)) {
    let dir = out.join("charts");
    for ext in ["png", "svg"] {
        let p = dir.join(format!("{stem}.{ext}"));
        let len = p.metadata().map(|m| m.len()).unwrap_or(0);
        assert!(len > 2000, "{} missing or empty ({len} bytes)", p.display());
    }
    let svg = std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap();
    (svg, png_size(&dir.join(format!("{stem}.png"))))
}

/// Two panels: one per link policy.
fn sweep(text: &str) -> String {
    format!(
        "{text}\n[sweep]\n[[sweep.param]]\npath = \"policy.links\"\ncolumn = \"links\"\nvalues = [\"walled\", \"open\"]\n"
    )
}

/// `replicates = n` at the top level (before any table).
fn with_reps(text: &str, reps: u32) -> String {
    text.replacen("steps = 30", &format!("steps = 30\nreplicates = {reps}"), 1)
}

#[test]
fn share_charts_draw_every_event_label_in_a_strip_above_a_0_1_axis() {
    let tmp = tempfile::tempdir().unwrap();
    let text = sweep(&with_reps(WORLD, 2));
    let out = run(&text, tmp.path());
    for stem in ["wallet_shares", "gmv_share_by_ecosystem"] {
        let (svg, (w, h)) = chart(&out, stem);
        // Two panels side by side, 1400 px: legible at a paper's text width.
        assert_eq!((w, h), (1400, 800), "{stem}");
        let t = texts(&svg);
        let panels = t
            .iter()
            .filter(|x| x.s == "links=walled" || x.s == "links=open")
            .count();
        assert_eq!(panels, 2, "{stem}: one title per panel");
        // Every label once per panel, none dropped (two share a date).
        for l in LABELS {
            let n = t.iter().filter(|x| x.s == l).count();
            assert_eq!(
                n, 2,
                "{stem}: `{l}` drawn {n} times, expected once per panel"
            );
        }
        // The y axis is [0, 1] exactly: the numeric tick labels run from 0 to 1.
        let ticks: Vec<&Text> = t.iter().filter(|x| x.s.parse::<f64>().is_ok()).collect();
        let vals: Vec<f64> = ticks.iter().map(|x| x.s.parse().unwrap()).collect();
        let max = vals.iter().copied().fold(f64::MIN, f64::max);
        let min = vals.iter().copied().fold(f64::MAX, f64::min);
        assert!((max, min) == (1.0, 0.0), "{stem}: y ticks {vals:?}");
        // The labels sit above the plot area (above the top tick, y = 1), in stacked rows:
        // the two labels of 2021-09-08 on different rows.
        let top_tick = ticks
            .iter()
            .filter(|x| x.s.parse::<f64>() == Ok(1.0))
            .map(|x| x.y)
            .fold(f64::MAX, f64::min);
        let label_y =
            |l: &str| -> Vec<f64> { t.iter().filter(|x| x.s == l).map(|x| x.y).collect() };
        for l in LABELS {
            for y in label_y(l) {
                assert!(
                    y < top_tick,
                    "{stem}: `{l}` at y {y} is not above the plot (top tick {top_tick})"
                );
            }
        }
        let (a, b) = (label_y(LABELS[0]), label_y(LABELS[1]));
        assert!(
            a[0] != b[0],
            "{stem}: labels of one date on one row: {a:?} {b:?}"
        );
        // The label near the end stays inside the image.
        for x in t.iter().filter(|x| x.s == LABELS[2]) {
            assert!(
                x.x > 0.0 && x.x < f64::from(w),
                "{stem}: `{}` starts at x {}",
                x.s,
                x.x
            );
        }
        // The legend is one strip above the panels: above every event label.
        let legend: Vec<&Text> = t
            .iter()
            .filter(|x| x.s == "alipay" || x.s == "ali")
            .collect();
        assert_eq!(legend.len(), 1, "{stem}: one figure legend, got {legend:?}");
        let first_label = LABELS
            .iter()
            .flat_map(|l| label_y(l))
            .fold(f64::MAX, f64::min);
        assert!(
            legend[0].y < first_label,
            "{stem}: legend below an event label"
        );
        // Two replicates: a band per line, and a band swatch in the legend.
        assert!(
            svg.contains("<polygon"),
            "{stem}: no band drawn with 2 replicates"
        );
    }
}

#[test]
fn a_single_replicate_chart_has_no_band_and_no_band_swatch() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(&with_reps(WORLD, 1), tmp.path());
    let (svg, _) = chart(&out, "wallet_shares");
    assert!(!svg.contains("<polygon"), "a band drawn for one replicate");
    // The legend has only line swatches: no filled rectangle in its strip (above the
    // first event label), whose colour would be a band's.
    let t = texts(&svg);
    let legend_y = t.iter().find(|x| x.s == "alipay").map(|x| x.y).unwrap();
    let rects = svg
        .split("<rect")
        .skip(1)
        .filter_map(|r| {
            Some((
                attr(r, "y")?,
                attr(r, "height")?,
                r.contains("opacity=\"0.2"),
            ))
        })
        .filter(|(y, h, _)| (y - legend_y).abs() < 20.0 && *h < 20.0)
        .count();
    assert_eq!(
        rects, 0,
        "a band swatch in the legend of a one-replicate chart"
    );
    assert!(
        !svg.contains("95% CI"),
        "a one-replicate title promises an interval"
    );
}

#[test]
fn smoothing_is_stated_in_the_title_and_starts_after_k_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!("{}\n[charts]\nsmooth_steps = 5\n", with_reps(WORLD, 2));
    let out = run(&text, tmp.path());
    let (svg, _) = chart(&out, "wallet_shares");
    assert!(
        svg.contains("trailing mean of 5 steps"),
        "smoothing not stated"
    );
    // Too long a window is bad input, with the key named.
    let bad = format!("{}\n[charts]\nsmooth_steps = 31\n", WORLD);
    let e = match from_text(&bad, "bad.toml", Path::new(".")) {
        Ok(_) => panic!("a 31-step rolling mean of a 30-step run was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("charts.smooth_steps") && e.contains("at most 30"),
        "{e}"
    );
}

#[test]
fn effect_charts_label_every_event_and_keep_the_legend_off_them() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n[[variants]]\nname = \"late_dm\"\nset = {{ \"events.dm.date\" = \"2021-09-15\" }}\n",
        with_reps(WORLD, 3)
    );
    let out = run(&text, tmp.path());
    let (svg, (w, _)) = chart(&out, "effect_paths");
    assert!(w <= 2000, "effect paths {w} px wide");
    let t = texts(&svg);
    // Every label once in every panel (panels: the headline metrics).
    let counts: Vec<usize> = LABELS
        .iter()
        .map(|l| t.iter().filter(|x| x.s == *l).count())
        .collect();
    assert!(
        counts[0] >= 2 && counts.iter().all(|c| *c == counts[0]),
        "event labels per panel: {counts:?}"
    );
    let label_ys: Vec<f64> = t
        .iter()
        .filter(|x| LABELS.contains(&x.s.as_str()))
        .map(|x| x.y)
        .collect();
    let legend = t.iter().find(|x| x.s == "late_dm").expect("legend entry");
    assert!(
        label_ys.iter().all(|y| legend.y < *y),
        "the legend is not above the event labels"
    );
}

#[test]
fn effect_heatmaps_of_a_two_way_sweep_diverge_around_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!(
        "baseline = \"links=walled, wallets=house\"\n{}\n[sweep]\ncommon_random_numbers = true\n[[sweep.param]]\npath = \"policy.links\"\ncolumn = \"links\"\nvalues = [\"walled\", \"open\"]\n[[sweep.param]]\npath = \"policy.wallets\"\ncolumn = \"wallets\"\nvalues = [\"house\", \"interoperable\"]\n",
        with_reps(WORLD, 2)
    );
    let out = run(&text, tmp.path());
    let (svg, _) = chart(&out, "effect_heatmap__links__wallets__consumer_surplus");
    let t = texts(&svg);
    // The baseline cell is 0 exactly; the colour bar is symmetric around 0.
    assert!(t.iter().any(|x| x.s == "0"), "no zero cell");
    assert!(
        svg.contains("#F7F7F7") || svg.contains("#f7f7f7"),
        "no white middle"
    );
    // Two cells with different colours show different numbers: the three non-baseline
    // cells' texts are distinct (their effects differ).
    let cells: Vec<&str> = t
        .iter()
        .filter(|x| x.s.parse::<f64>().is_ok() && x.s != "0")
        .map(|x| x.s.as_str())
        .collect();
    assert!(!cells.is_empty());
}

#[test]
fn a_welfare_chart_of_18_points_stays_narrow() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n[sweep]\n[[sweep.param]]\npath = \"revision.switch_cost\"\ncolumn = \"switch_cost\"\nvalues = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]\n[[sweep.param]]\npath = \"policy.links\"\ncolumn = \"links\"\nvalues = [\"walled\", \"dm_open\", \"open\"]\n",
        WORLD.replace("count = 600", "count = 200")
    );
    let out = run(&text, tmp.path());
    let (svg, (w, h)) = chart(&out, "welfare");
    assert!(w <= 2400 && h <= 4000, "welfare {w}×{h}");
    let t = texts(&svg);
    // One row per point in each panel: every label drawn.
    for sc in ["0.1", "0.6"] {
        for l in ["walled", "open"] {
            let label = format!("switch_cost={sc}, links={l}");
            assert!(t.iter().any(|x| x.s == label), "`{label}` missing");
        }
    }
    // The heatmap of the two swept columns averages over no other column: no pooling note.
    let (hm, _) = chart(&out, "heatmap__switch_cost__links__total_welfare");
    assert!(!hm.contains("averages over"));
}
