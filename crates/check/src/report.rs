//! Rendering outcomes: a terminal table, Markdown for a pull-request comment, JUnit XML and JSON.

use crate::run::*;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Number with 4 significant digits (fixed notation in [1e-3, 1e6), else scientific).
pub(crate) fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if (1e-3..1e6).contains(&a) {
        let digits = a.log10().floor() as i32;
        let decimals = (3 - digits).max(0) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.3e}")
    }
}

pub(crate) fn fmt_signed(x: f64) -> String {
    let s = fmt_num(x);
    if x > 0.0 {
        format!("+{s}")
    } else {
        s
    }
}

pub(crate) fn fmt_pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:+.2}%", x * 100.0)
    } else {
        fmt_signed(x)
    }
}

pub(crate) fn fmt_p(p: f64) -> String {
    if p.is_nan() {
        "NaN".into()
    } else if p == 0.0 {
        "0".into()
    } else if p < 1e-4 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}

/// Aligned plain-text table; `right[i]` right-aligns column i.
pub(crate) fn text_table(headers: &[&str], rows: &[Vec<String>], right: &[bool]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i > 0 {
                l.push_str("  ");
            }
            if right[i] {
                l.push_str(&" ".repeat(pad));
                l.push_str(cell);
            } else {
                l.push_str(cell);
                l.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    line(rule.iter().map(String::as_str).collect());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

pub(crate) fn md_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// XML escaping for text (`attr = false`) or attribute values (`attr = true`); drops
/// characters that XML 1.0 does not allow.
pub(crate) fn xml_escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' if attr => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' | '\r' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn stat_settings(o: &StatOutcome) -> String {
    let opts = &o.options;
    let paired = o.tests.iter().filter(|t| t.test == "paired t").count();
    let test = match paired {
        0 => "Welch t + KS per test".to_string(),
        p if p == o.tests.len() => {
            "paired t (results and baseline share seeds: runs paired by seed) + KS per test"
                .to_string()
        }
        p => format!("paired t for {p} tests whose runs share seeds, Welch t for the rest, + KS"),
    };
    format!(
        "{test}; alpha {:?}, Holm-adjusted over {} p-values; tolerance max({:?}, {}% of |baseline mean|); run summary: mean of last {} steps",
        opts.alpha,
        2 * o.tests.len(),
        opts.abs_tol,
        opts.rel_tol * 100.0,
        opts.last_n
    )
}

pub(crate) fn stat_verdict(o: &StatOutcome) -> String {
    let k = o.tests.len();
    let points = o
        .tests
        .iter()
        .map(|t| t.point_id)
        .collect::<BTreeSet<u32>>()
        .len();
    if o.passed() {
        format!("PASS: no drift in {k} metric tests over {points} points")
    } else {
        format!(
            "FAIL: {} of {k} metric tests drifted over {points} points",
            o.drifted
        )
    }
}

pub(crate) fn drift_message(t: &MetricTest, alpha: f64) -> String {
    if t.p_adjusted < alpha && t.diff.abs() > t.tolerance {
        format!(
            "mean {} vs baseline {} (diff {} = {}, |diff| > tolerance {}), Cohen's d {}, p_adj {}",
            fmt_num(t.mean_result),
            fmt_num(t.mean_baseline),
            fmt_signed(t.diff),
            fmt_pct(t.rel_diff),
            fmt_num(t.tolerance),
            fmt_num(t.effect_size),
            fmt_p(t.p_adjusted)
        )
    } else {
        t.notes.join("; ")
    }
}

/// Tests with the drifted ones first (stable otherwise).
pub(crate) fn drifted_first(o: &StatOutcome) -> Vec<&MetricTest> {
    let mut v: Vec<&MetricTest> = o.tests.iter().collect();
    v.sort_by_key(|t| !t.drifted);
    v
}

#[derive(Serialize)]
pub(crate) struct StatJson<'a> {
    mode: &'static str,
    passed: bool,
    #[serde(flatten)]
    outcome: &'a StatOutcome,
}

#[derive(Serialize)]
pub(crate) struct ExactJson<'a> {
    mode: &'static str,
    passed: bool,
    n_runs: usize,
    diff: Option<&'a ExactDiff>,
}

/// Renders a stat outcome.
///
/// * `Table`: aligned plain-text table (drifted rows first), notes, then a one-line
///   verdict (`PASS: ...` / `FAIL: ...`).
/// * `Markdown`: heading with the verdict (✅/❌), a table of the drifted metrics, then a
///   collapsible `<details>` with all tests.
/// * `Junit`: one `<testsuite name="gardengate-check">`, one
///   `<testcase classname="point_<id>" name="<metric>">` per test, `<failure>` for
///   drifted ones.
/// * `Json`: `{"mode": "stat", "passed": .., "tests": [..], "options": {..},
///   "drifted": .., "notes": [..]}`; non-finite numbers as "NaN"/"Infinity"/"-Infinity".
///   The object deserializes back into a [`StatOutcome`].
pub fn render_stat(outcome: &StatOutcome, format: ReportFormat) -> String {
    match format {
        ReportFormat::Table => stat_table(outcome),
        ReportFormat::Markdown => stat_markdown(outcome),
        ReportFormat::Junit => stat_junit(outcome),
        ReportFormat::Json => {
            let j = StatJson {
                mode: "stat",
                passed: outcome.passed(),
                outcome,
            };
            let mut s = serde_json::to_string_pretty(&j).expect("serializable");
            s.push('\n');
            s
        }
    }
}

pub(crate) fn stat_table(o: &StatOutcome) -> String {
    let headers = [
        "status",
        "point",
        "label",
        "metric",
        "n res/base",
        "mean res",
        "mean base",
        "diff",
        "rel diff",
        "d",
        "p welch",
        "p ks",
        "p adj",
        "tol",
    ];
    let right = [
        false, true, false, false, true, true, true, true, true, true, true, true, true, true,
    ];
    let rows: Vec<Vec<String>> = drifted_first(o)
        .into_iter()
        .map(|t| {
            vec![
                if t.drifted { "DRIFT" } else { "ok" }.to_string(),
                t.point_id.to_string(),
                t.point_label.replace(['\n', '\r'], " "),
                t.metric.clone(),
                format!("{}/{}", t.n_result, t.n_baseline),
                fmt_num(t.mean_result),
                fmt_num(t.mean_baseline),
                fmt_signed(t.diff),
                fmt_pct(t.rel_diff),
                fmt_num(t.effect_size),
                fmt_p(t.p_welch),
                fmt_p(t.p_ks),
                fmt_p(t.p_adjusted),
                fmt_num(t.tolerance),
            ]
        })
        .collect();
    let mut out = text_table(&headers, &rows, &right);
    for n in &o.notes {
        let _ = writeln!(out, "note: {n}");
    }
    for t in &o.tests {
        for n in &t.notes {
            let _ = writeln!(out, "note [point {}, {}]: {n}", t.point_id, t.metric);
        }
    }
    let _ = writeln!(out, "{} ({})", stat_verdict(o), stat_settings(o));
    out
}

/// Row caps of the Markdown tables: a GitHub comment holds at most 65,536 characters.
const MD_MAX_DRIFTED_ROWS: usize = 100;
const MD_MAX_ALL_ROWS: usize = 200;

/// Writes a Markdown table of `tests`, at most `max_rows` rows (then a line saying how
/// many were left out).
pub(crate) fn md_stat_rows(tests: &[&MetricTest], max_rows: usize, out: &mut String) {
    out.push_str(
        "| | point | metric | result mean ± sd (n) | baseline mean ± sd (n) | diff | rel diff | Cohen's d | p Welch | p KS | p adj | tolerance |\n",
    );
    out.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for t in tests.iter().take(max_rows) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} ± {} ({}) | {} ± {} ({}) | {} | {} | {} | {} | {} | {} | {} |",
            if t.drifted { "❌" } else { "✅" },
            md_cell(&format!("{} ({})", t.point_id, t.point_label)),
            md_cell(&t.metric),
            fmt_num(t.mean_result),
            fmt_num(t.sd_result),
            t.n_result,
            fmt_num(t.mean_baseline),
            fmt_num(t.sd_baseline),
            t.n_baseline,
            fmt_signed(t.diff),
            fmt_pct(t.rel_diff),
            fmt_num(t.effect_size),
            fmt_p(t.p_welch),
            fmt_p(t.p_ks),
            fmt_p(t.p_adjusted),
            fmt_num(t.tolerance),
        );
    }
    if tests.len() > max_rows {
        let _ = writeln!(
            out,
            "\n… {} more not shown (see the JSON or JUnit report).",
            tests.len() - max_rows
        );
    }
}

pub(crate) fn stat_markdown(o: &StatOutcome) -> String {
    let mut out = String::new();
    let k = o.tests.len();
    if o.passed() {
        let _ = writeln!(out, "## ✅ gardengate check: no drift ({k} metric tests)\n");
    } else {
        let _ = writeln!(
            out,
            "## ❌ gardengate check: {} of {k} metric tests drifted\n",
            o.drifted
        );
    }
    let _ = writeln!(out, "{}.\n", md_cell(&stat_settings(o)));
    let drifted: Vec<&MetricTest> = o.tests.iter().filter(|t| t.drifted).collect();
    if drifted.is_empty() {
        out.push_str("No metric drifted.\n\n");
    } else {
        out.push_str("### Drifted metrics\n\n");
        md_stat_rows(&drifted, MD_MAX_DRIFTED_ROWS, &mut out);
        out.push('\n');
    }
    let notes: Vec<String> = o
        .notes
        .iter()
        .cloned()
        .chain(o.tests.iter().flat_map(|t| {
            t.notes
                .iter()
                .map(move |n| format!("point {}, {}: {n}", t.point_id, t.metric))
        }))
        .collect();
    if !notes.is_empty() {
        out.push_str("**Notes**\n\n");
        for n in &notes {
            let _ = writeln!(out, "- {}", md_cell(n));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "<details>\n<summary>All {k} tests</summary>\n");
    md_stat_rows(&drifted_first(o), MD_MAX_ALL_ROWS, &mut out);
    out.push_str("\n</details>\n");
    out
}

pub(crate) fn junit_properties(out: &mut String, props: &[(&str, String)]) {
    out.push_str("  <properties>\n");
    for (name, value) in props {
        let _ = writeln!(
            out,
            "    <property name=\"{}\" value=\"{}\"/>",
            xml_escape(name, true),
            xml_escape(value, true)
        );
    }
    out.push_str("  </properties>\n");
}

pub(crate) fn stat_junit(o: &StatOutcome) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"gardengate-check\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">",
        o.tests.len(),
        o.drifted
    );
    let opts = &o.options;
    junit_properties(
        &mut out,
        &[
            ("mode", "stat".to_string()),
            ("alpha", format!("{:?}", opts.alpha)),
            ("abs_tol", format!("{:?}", opts.abs_tol)),
            ("rel_tol", format!("{:?}", opts.rel_tol)),
            ("last_n", opts.last_n.to_string()),
        ],
    );
    for t in &o.tests {
        let _ = write!(
            out,
            "  <testcase classname=\"point_{}\" name=\"{}\"",
            t.point_id,
            xml_escape(&t.metric, true)
        );
        if !t.drifted && t.notes.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        if t.drifted {
            let detail = format!(
                "point {} ({})\nmetric {}\nresult   mean {} sd {} n {}\nbaseline mean {} sd {} n {}\ndiff {} ({}), tolerance {}\nCohen's d {}\np Welch {}, p KS {}, p adjusted {} (alpha {})",
                t.point_id,
                t.point_label,
                t.metric,
                fmt_num(t.mean_result),
                fmt_num(t.sd_result),
                t.n_result,
                fmt_num(t.mean_baseline),
                fmt_num(t.sd_baseline),
                t.n_baseline,
                fmt_signed(t.diff),
                fmt_pct(t.rel_diff),
                fmt_num(t.tolerance),
                fmt_num(t.effect_size),
                fmt_p(t.p_welch),
                fmt_p(t.p_ks),
                fmt_p(t.p_adjusted),
                opts.alpha
            );
            let _ = writeln!(
                out,
                "    <failure type=\"drift\" message=\"{}\">{}</failure>",
                xml_escape(&format!("drift: {}", drift_message(t, opts.alpha)), true),
                xml_escape(&detail, false)
            );
        }
        if !t.notes.is_empty() {
            let _ = writeln!(
                out,
                "    <system-out>{}</system-out>",
                xml_escape(&t.notes.join("\n"), false)
            );
        }
        out.push_str("  </testcase>\n");
    }
    let mut tail = o.notes.clone();
    tail.push(format!("{} ({})", stat_verdict(o), stat_settings(o)));
    let _ = writeln!(
        out,
        "  <system-out>{}</system-out>",
        xml_escape(&tail.join("\n"), false)
    );
    out.push_str("</testsuite>\n");
    out
}

/// Renders the outcome of [`exact_compare`]; `n_runs` is the number of baseline runs
/// that were compared (for the verdict).
///
/// * `Table`: the fields of the first difference as an aligned table, then a one-line
///   verdict.
/// * `Markdown`: heading with the verdict (✅/❌) and a table of the difference.
/// * `Junit`: one `<testsuite name="gardengate-check">` with one
///   `<testcase classname="exact" name="bit_identical">`, failing on a difference.
/// * `Json`: `{"mode": "exact", "passed": .., "n_runs": .., "diff": {..} | null}`.
pub fn render_exact(diff: Option<&ExactDiff>, n_runs: usize, format: ReportFormat) -> String {
    let verdict = match diff {
        None => format!("PASS: results are bit-identical to the baseline ({n_runs} runs)"),
        Some(d) => format!("FAIL: first difference: {}", d.describe()),
    };
    let fields = |d: &ExactDiff| -> Vec<(&'static str, String)> {
        vec![
            ("kind", d.kind.as_str().to_string()),
            ("run", d.run_id.to_string()),
            ("point", d.point_id.to_string()),
            ("replicate", d.replicate.to_string()),
            (
                "step",
                d.step.map_or_else(|| "-".to_string(), |s| s.to_string()),
            ),
            (
                "column",
                if d.column.is_empty() {
                    "-".to_string()
                } else {
                    d.column.clone()
                },
            ),
            ("result", d.result.clone()),
            ("baseline", d.baseline.clone()),
        ]
    };
    match format {
        ReportFormat::Table => {
            let mut out = String::new();
            if let Some(d) = diff {
                let rows: Vec<Vec<String>> = fields(d)
                    .into_iter()
                    .map(|(k, v)| vec![k.to_string(), v])
                    .collect();
                out.push_str(&text_table(&["field", "value"], &rows, &[false, false]));
            }
            let _ = writeln!(out, "{verdict}");
            out
        }
        ReportFormat::Markdown => {
            let mut out = String::new();
            match diff {
                None => {
                    let _ = writeln!(
                        out,
                        "## ✅ gardengate check (exact): bit-identical to the baseline\n\n{n_runs} runs compared."
                    );
                }
                Some(d) => {
                    let _ = writeln!(
                        out,
                        "## ❌ gardengate check (exact): results differ from the baseline\n\n{}\n",
                        md_cell(&d.describe())
                    );
                    out.push_str("| field | value |\n|---|---|\n");
                    for (k, v) in fields(d) {
                        let _ = writeln!(out, "| {k} | {} |", md_cell(&v));
                    }
                    let _ = writeln!(
                        out,
                        "\n{n_runs} baseline runs; only the first difference is shown."
                    );
                }
            }
            out
        }
        ReportFormat::Junit => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            let _ = writeln!(
                out,
                "<testsuite name=\"gardengate-check\" tests=\"1\" failures=\"{}\" errors=\"0\" skipped=\"0\">",
                usize::from(diff.is_some())
            );
            junit_properties(
                &mut out,
                &[
                    ("mode", "exact".to_string()),
                    ("n_runs", n_runs.to_string()),
                ],
            );
            match diff {
                None => out.push_str("  <testcase classname=\"exact\" name=\"bit_identical\"/>\n"),
                Some(d) => {
                    let body: Vec<String> = fields(d)
                        .into_iter()
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect();
                    let _ = writeln!(
                        out,
                        "  <testcase classname=\"exact\" name=\"bit_identical\">\n    <failure type=\"difference\" message=\"{}\">{}</failure>\n  </testcase>",
                        xml_escape(&d.describe(), true),
                        xml_escape(&body.join("\n"), false)
                    );
                }
            }
            let _ = writeln!(
                out,
                "  <system-out>{}</system-out>",
                xml_escape(&verdict, false)
            );
            out.push_str("</testsuite>\n");
            out
        }
        ReportFormat::Json => {
            let j = ExactJson {
                mode: "exact",
                passed: diff.is_none(),
                n_runs,
                diff,
            };
            let mut s = serde_json::to_string_pretty(&j).expect("serializable");
            s.push('\n');
            s
        }
    }
}
