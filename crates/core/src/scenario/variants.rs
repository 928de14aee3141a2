//! Counterfactuals in one file: `[[variants]]` (parameter overrides, moved, removed and added
//! events, an optional sweep of their own), the `baseline` they are compared with, the
//! `[[windows]]` effects are measured over, and `extends` (start from another scenario file).
//!
//! Variants expand to extra sweep points after the file's own points; a `variant` column
//! (first of the swept columns) names each point's variant. Every variant point takes the
//! seeds of its baseline counterpart (common random numbers) unless the variant says
//! `common_random_numbers = false`, so effects can be measured pairwise, replicate by
//! replicate.

use super::calendar::parse_date;
use super::error::{self, Problem};
use super::{schema, ParamValue, Point, ScenarioFile};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Top-level keys that describe the comparison rather than one scenario: removed from the
/// table a point is built from.
pub const FILE_ONLY_KEYS: [&str; 3] = ["sweep", "variants", "extends"];

/// Name of the file's own points when it has variants.
pub const BASELINE_NAME: &str = "baseline";

/// Name of the column that holds each point's variant.
pub const VARIANT_COLUMN: &str = "variant";

/// One `[[variants]]` entry as written.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Name (outputs, charts); unique, not `baseline`.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Parameter overrides: dotted path (as in sweeps, e.g. `policy.tau`,
    /// `platforms.taobao.commission`, `events.<id>.date`) = value.
    #[serde(default)]
    pub set: toml::Table,
    /// Ids of events that this variant removes.
    #[serde(default)]
    pub remove_events: Vec<String>,
    /// Events this variant adds (same keys as `[[events]]`).
    #[serde(default)]
    pub events: Vec<toml::Value>,
    /// A sweep of this variant (replaces the file's `[sweep]` for it).
    #[serde(default)]
    pub sweep: Option<schema::Sweep>,
    /// Give each run the seed of its baseline counterpart (default true).
    #[serde(default = "yes")]
    pub common_random_numbers: bool,
}

fn yes() -> bool {
    true
}

/// One `[[windows]]` entry as written.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// Name (an `effects` column value).
    pub name: String,
    /// First step (a whole number) or date (`YYYY-MM-DD`); default step 0.
    #[serde(default)]
    pub from: Option<toml::Value>,
    /// Last step or date, inclusive; default the last step.
    #[serde(default)]
    pub to: Option<toml::Value>,
    /// `mean` (per step) or `sum` over the window.
    #[serde(default = "mean_stat")]
    pub stat: String,
}

fn mean_stat() -> String {
    "mean".into()
}

/// `[output]`: extra files.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct OutputOptions {
    /// Also write `steps.csv`.
    pub csv: bool,
    /// Also write `steps_long.parquet` (and `steps_long.csv` with `csv`): one row per run,
    /// step, metric and entity.
    pub long: bool,
}

/// `[effects]`: effect statistics.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EffectOptions {
    /// Bootstrap resamples of the paired differences (0: none).
    pub bootstrap: u32,
    /// Metrics of the terminal summary and the forest plot.
    pub headline: Vec<String>,
}

impl Default for EffectOptions {
    fn default() -> Self {
        EffectOptions {
            bootstrap: 0,
            headline: ["consumer_surplus", "total_welfare", "hhi_wallet"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// Statistic of a window.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Stat {
    /// Mean per step.
    Mean,
    /// Sum over the steps (scaled by `scale_to`).
    Sum,
}

/// A resolved window: steps `from..=to` (after the warm-up).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Window {
    /// Name.
    pub name: String,
    /// First step.
    pub from: u32,
    /// Last step (inclusive).
    pub to: u32,
    /// Statistic.
    pub stat: Stat,
}

/// What the points of a plan are compared with, and how effects are measured.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Comparison {
    /// The baseline: a variant name (`baseline` for the file itself) or a point label; None
    /// when nothing is compared.
    pub baseline: Option<String>,
    /// Per point: its variant (`baseline` for the file's own points; empty without variants).
    pub variant: Vec<String>,
    /// Per point: the baseline point it is compared with (None for baseline points).
    pub compare_to: Vec<Option<u32>>,
    /// Per variant (in order, without the baseline): whether it shares the baseline's seeds.
    pub common_random_numbers: Vec<(String, bool)>,
    /// Windows.
    pub windows: Vec<Window>,
    /// Steps excluded from the start of every window and chart.
    pub warmup_steps: u32,
    /// Factor applied to window sums (`scale_to / consumers.count`, or 1).
    pub sum_scale: f64,
    /// The population sums are scaled to, if any.
    pub scale_to: Option<f64>,
    /// Bootstrap resamples (0: none).
    pub bootstrap: u32,
    /// Seed of the bootstrap (from the scenario seed).
    pub bootstrap_seed: u64,
    /// Headline metrics.
    pub headline: Vec<String>,
    /// Write `steps.csv`.
    pub csv: bool,
    /// Write the long format.
    pub long: bool,
}

/// Merges a parent scenario table with a child's: the child's top-level keys replace the
/// parent's (tables are merged one level down, so `[consumers] count = 1000` in the child
/// keeps the parent's other consumer keys).
pub fn merge_tables(mut parent: toml::Table, child: toml::Table) -> toml::Table {
    parent.remove("extends");
    for (k, v) in child {
        match (parent.get_mut(&k), v) {
            (Some(toml::Value::Table(p)), toml::Value::Table(c)) if k != "sweep" => {
                for (ck, cv) in c {
                    p.insert(ck, cv);
                }
            }
            (_, v) => {
                parent.insert(k, v);
            }
        }
    }
    parent
}

/// The ids of the events of a table, in order (None where an event has none).
fn event_ids(t: &toml::Table) -> Vec<Option<String>> {
    t.get("events")
        .and_then(|e| e.as_array())
        .map(|a| {
            a.iter()
                .map(|e| e.get("id").and_then(|i| i.as_str()).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Problems with event ids: duplicates.
pub fn check_event_ids(t: &toml::Table) -> Vec<Problem> {
    let ids = event_ids(t);
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if let Some(id) = id {
            if let Some(j) = ids[..i].iter().position(|x| x.as_deref() == Some(id)) {
                out.push(Problem {
                    key: format!("events[{i}].id"),
                    line: None,
                    message: format!(
                        "event id `{id}` is also the id of events[{j}]; expected unique ids"
                    ),
                    suggestion: Some("give each event its own id".into()),
                });
            }
        }
    }
    out
}

/// Sets `events.<id>.<field>`: finds the event with that id. Setting `step` removes a `date`
/// and the other way round, so that an event given by date can be moved by step.
pub fn set_event_field(
    t: &mut toml::Table,
    segs: &[&str],
    v: toml::Value,
) -> Result<String, (String, Option<String>)> {
    if segs.len() != 3 {
        return Err((
            format!("`{}`: expected `events.<id>.<key>`", segs.join(".")),
            Some("give the event an `id` and write e.g. `events.groups_open.date`".into()),
        ));
    }
    let ids: Vec<String> = event_ids(t).into_iter().flatten().collect();
    let Some(toml::Value::Array(list)) = t.get_mut("events") else {
        return Err((
            format!("no event has id `{}`: this scenario has no events", segs[1]),
            None,
        ));
    };
    let Some((index, entry)) = list
        .iter_mut()
        .enumerate()
        .find(|(_, e)| e.get("id").and_then(|n| n.as_str()) == Some(segs[1]))
    else {
        return Err((
            format!("no event has id `{}`", segs[1]),
            Some(if ids.is_empty() {
                "give the event an `id = \"...\"` in its [[events]] table".into()
            } else {
                error::suggest(segs[1], ids.iter().map(String::as_str))
            }),
        ));
    };
    let Some(tab) = entry.as_table_mut() else {
        return Err((format!("`events.{}` is not a table", segs[1]), None));
    };
    match segs[2] {
        "step" => {
            tab.remove("date");
        }
        "date" => {
            tab.remove("step");
        }
        _ => {}
    }
    tab.insert(segs[2].to_string(), v);
    Ok(format!("events[{index}].{}", segs[2]))
}

/// A variant applied to the file's table: the table, the keys it set (as problems name them,
/// with the line of the override) and the keys of added events (problem key prefix
/// `events[N]` → where the event is written).
struct Applied {
    table: toml::Table,
    set_lines: Vec<(String, Option<usize>)>,
    added: Vec<(String, String)>,
}

fn apply(
    text: &str,
    base: &toml::Table,
    v: &Variant,
    k: usize,
    problems: &mut Vec<Problem>,
) -> Applied {
    let mut t = base.clone();
    let mut set_lines = Vec::new();
    // Removals first, so that `set` cannot address a removed event.
    for (j, id) in v.remove_events.iter().enumerate() {
        let ids: Vec<String> = event_ids(&t).into_iter().flatten().collect();
        let pos = event_ids(&t).iter().position(|x| x.as_deref() == Some(id));
        match (pos, t.get_mut("events").and_then(|e| e.as_array_mut())) {
            (Some(p), Some(list)) => {
                list.remove(p);
            }
            _ => problems.push(Problem {
                key: format!("variants[{k}].remove_events[{j}]"),
                line: error::locate(text, &format!("variants[{k}].remove_events[{j}]")),
                message: format!("no event has id `{id}`"),
                suggestion: Some(if ids.is_empty() {
                    "give the event an `id = \"...\"` in its [[events]] table".into()
                } else {
                    error::suggest(id, ids.iter().map(String::as_str))
                }),
            }),
        }
    }
    for (path, value) in &v.set {
        let line = set_line(text, k, path);
        if path == "sweep" || path.starts_with("sweep.") || path == "variants" {
            problems.push(Problem {
                key: format!("variants[{k}].set"),
                line,
                message: format!("`{path}` cannot be set by a variant"),
                suggestion: Some("give the variant its own [variants.sweep]".into()),
            });
            continue;
        }
        let before = t.clone();
        match super::set_path(&mut t, path, value.clone()) {
            Ok(key) => match schema_problem(&t) {
                None => set_lines.push((key, line)),
                Some((message, suggestion)) => {
                    problems.push(Problem {
                        key: format!("variants[{k}].set"),
                        line,
                        message: format!("`{path}`: {message}"),
                        suggestion: suggestion.or_else(|| {
                            Some("a value must have the type of the key it sets".into())
                        }),
                    });
                    t = before;
                }
            },
            Err((message, suggestion)) => problems.push(Problem {
                key: format!("variants[{k}].set"),
                line,
                message: format!("`{path}`: {message}"),
                suggestion,
            }),
        }
    }
    let mut added = Vec::new();
    if !v.events.is_empty() {
        let list = t
            .entry("events")
            .or_insert_with(|| toml::Value::Array(Vec::new()));
        if let Some(list) = list.as_array_mut() {
            for (j, e) in v.events.iter().enumerate() {
                added.push((
                    format!("events[{}]", list.len()),
                    format!("variants[{k}].events[{j}]"),
                ));
                list.push(e.clone());
            }
        }
        for (j, e) in v.events.iter().enumerate() {
            if let Err(err) = e.clone().try_into::<schema::Event>() {
                let message = super::plain_message(err.message());
                let key = format!("variants[{k}].events[{j}]");
                let suggestion = super::unknown_field_suggestion(&message);
                problems.push(Problem::at(text, key, message, suggestion));
            }
        }
    }
    Applied {
        table: t,
        set_lines,
        added,
    }
}

/// Why a table is not a scenario (message, suggestion), if it is not.
fn schema_problem(t: &toml::Table) -> Option<(String, Option<String>)> {
    let e = toml::Value::Table(t.clone())
        .try_into::<ScenarioFile>()
        .err()?;
    let message = super::plain_message(e.message());
    let suggestion = super::unknown_field_suggestion(&message);
    Some((message, suggestion))
}

/// Line of `path = …` inside variant k's `set` table (quoted dotted keys are one TOML key).
fn set_line(text: &str, k: usize, path: &str) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let v = doc.get("variants")?.as_array_of_tables()?.get(k)?;
    let set = v.get("set")?;
    let span = match set {
        toml_edit::Item::Table(t) => t.key(path).and_then(|k| k.span()),
        toml_edit::Item::Value(toml_edit::Value::InlineTable(t)) => {
            t.key(path).and_then(|k| k.span())
        }
        _ => None,
    };
    span.map(|s| error::line_of(text, s.start))
        .or_else(|| error::locate(text, &format!("variants[{k}].set")))
}

/// The plan-wide inputs of [`expand_variants`].
pub(super) struct Inputs<'a> {
    pub text: &'a str,
    pub source: &'a ScenarioFile,
    pub base: &'a toml::Table,
    pub sweep: &'a schema::Sweep,
    pub replicates: u32,
    pub base_dir: &'a Path,
    /// The design's axes: a variant without a sweep of its own takes the design's samples,
    /// so that each of its points pairs with the file's sample of the same values.
    pub design_axes: &'a [super::Axis],
}

/// Adds the variants' points after the file's own (`points`, `columns`) and works out the
/// comparison. Problems are located in the file.
pub(super) fn expand_variants(
    inp: &Inputs,
    points: &mut Vec<Point>,
    columns: &mut Vec<String>,
    problems: &mut Vec<Problem>,
) -> Comparison {
    let loc = error::Locator::new(inp.text);
    let src = inp.source;
    let n_base = points.len();
    let mut variant = vec![String::new(); n_base];
    // Sweep label of each point without its variant (pairs points across variants).
    let mut inner: Vec<String> = points.iter().map(|p| p.label.clone()).collect();
    let mut crn = Vec::new();
    if !src.variants.is_empty() {
        for p in points.iter_mut() {
            p.params.insert(
                0,
                (
                    VARIANT_COLUMN.into(),
                    ParamValue::Text(BASELINE_NAME.into()),
                ),
            );
            p.label = if p.label == "base" {
                BASELINE_NAME.into()
            } else {
                format!("{BASELINE_NAME}: {}", p.label)
            };
        }
        variant = vec![BASELINE_NAME.to_string(); n_base];
        columns.insert(0, VARIANT_COLUMN.into());
    }
    // Problems already reported for the file itself are not repeated per variant.
    let known: Vec<(String, String)> = problems
        .iter()
        .map(|p| (p.key.clone(), p.message.clone()))
        .collect();
    for (k, v) in src.variants.iter().enumerate() {
        let name_key = format!("variants[{k}].name");
        if v.name.trim().is_empty()
            || v.name == BASELINE_NAME
            || src.variants[..k].iter().any(|w| w.name == v.name)
        {
            problems.push(Problem {
                key: name_key.clone(),
                line: error::locate(inp.text, &name_key),
                message: format!(
                    "variant name `{}`; expected a unique, non-empty name other than `{BASELINE_NAME}`",
                    v.name
                ),
                suggestion: None,
            });
            continue;
        }
        let applied = apply(inp.text, inp.base, v, k, problems);
        if let Some(s) = &v.sweep {
            if s.replicates.is_some_and(|r| r != inp.replicates) {
                let key = format!("variants[{k}].sweep.replicates");
                problems.push(Problem {
                    line: error::locate(inp.text, &key),
                    key,
                    message: format!(
                        "{} replicates; expected the file's {} (effects pair replicates)",
                        s.replicates.unwrap_or(0),
                        inp.replicates
                    ),
                    suggestion: Some("remove `replicates` from the variant's sweep".into()),
                });
            }
        }
        let (own_sweep, prefix) = match &v.sweep {
            Some(s) => (s, format!("variants[{k}].")),
            None => (inp.sweep, String::new()),
        };
        let (vcols, vpoints, vprobs) = super::expand(
            inp.text,
            &applied.table,
            own_sweep,
            if v.sweep.is_none() {
                inp.design_axes
            } else {
                &[]
            },
            inp.replicates,
            &prefix,
            inp.base_dir,
        );
        for mut p in vprobs {
            if known.contains(&(p.key.clone(), p.message.clone())) {
                continue;
            }
            if let Some((_, line)) = applied
                .set_lines
                .iter()
                .find(|(key, _)| super::key_under(&p.key, key))
            {
                p.line = *line;
            } else if let Some((from, to)) = applied
                .added
                .iter()
                .find(|(from, _)| super::key_under(&p.key, from))
            {
                p.key = format!("{to}{}", &p.key[from.len()..]);
                p.line = loc.locate(&p.key);
            } else if prefix.is_empty() || !p.key.starts_with(&prefix) {
                p.line = loc.locate(&format!("variants[{k}]"));
            }
            p.message = format!("in variant `{}`: {}", v.name, p.message);
            problems.push(p);
        }
        for c in vcols {
            if !columns.contains(&c) {
                columns.push(c);
            }
        }
        crn.push((v.name.clone(), v.common_random_numbers));
        for mut p in vpoints {
            let id = points.len() as u32;
            // The baseline counterpart: the file's point with the same sweep label, or its
            // only point.
            let counterpart = inner[..n_base]
                .iter()
                .position(|l| *l == p.label)
                .or(if n_base == 1 { Some(0) } else { None });
            p.seed_point = match counterpart {
                Some(c) if v.common_random_numbers => points[c].seed_point,
                _ => id,
            };
            p.id = id;
            inner.push(p.label.clone());
            p.params
                .insert(0, (VARIANT_COLUMN.into(), ParamValue::Text(v.name.clone())));
            p.label = if p.label == "base" {
                v.name.clone()
            } else {
                format!("{}: {}", v.name, p.label)
            };
            variant.push(v.name.clone());
            points.push(p);
        }
    }
    // Every point gets every column (a variant may sweep what others do not): NaN or "".
    for p in points.iter_mut() {
        let mut params = Vec::with_capacity(columns.len());
        for c in columns.iter() {
            match p.params.iter().find(|(n, _)| n == c) {
                Some((_, v)) => params.push((c.clone(), v.clone())),
                None => params.push((c.clone(), ParamValue::Text(String::new()))),
            }
        }
        p.params = params;
    }
    for c in columns.iter() {
        let numeric = points.iter().any(|p| {
            p.params
                .iter()
                .any(|(n, v)| n == c && matches!(v, ParamValue::Num(_)))
        });
        if numeric {
            for p in points.iter_mut() {
                for (n, v) in p.params.iter_mut() {
                    if n == c && *v == ParamValue::Text(String::new()) {
                        *v = ParamValue::Num(f64::NAN);
                    }
                }
            }
        }
    }

    // The baseline and who is compared with whom.
    let mut compare_to = vec![None; points.len()];
    let baseline = match &src.baseline {
        None if src.variants.is_empty() => None,
        None => Some(BASELINE_NAME.to_string()),
        Some(b) => Some(b.clone()),
    };
    if let Some(b) = &baseline {
        let group: Vec<usize> = (0..points.len()).filter(|&i| variant[i] == *b).collect();
        if !group.is_empty() {
            for i in 0..points.len() {
                if variant[i] == *b {
                    continue;
                }
                compare_to[i] = group
                    .iter()
                    .copied()
                    .find(|&g| inner[g] == inner[i])
                    .or(if group.len() == 1 {
                        Some(group[0])
                    } else {
                        None
                    })
                    .map(|g| g as u32);
            }
        } else if let Some(pi) = points.iter().position(|p| p.label == *b) {
            for (i, c) in compare_to.iter_mut().enumerate() {
                if i != pi {
                    *c = Some(pi as u32);
                }
            }
        } else {
            let mut names: Vec<&str> = src.variants.iter().map(|v| v.name.as_str()).collect();
            names.push(BASELINE_NAME);
            names.extend(points.iter().map(|p| p.label.as_str()));
            problems.push(Problem {
                key: "baseline".into(),
                line: error::locate(inp.text, "baseline"),
                message: format!("`{b}` is neither a variant name nor a sweep point label"),
                suggestion: Some(error::suggest(b, names.iter().copied())),
            });
        }
    }

    let (windows, sum_scale) = resolve_windows(inp, problems);
    Comparison {
        baseline,
        variant,
        compare_to,
        common_random_numbers: crn,
        windows,
        warmup_steps: src.warmup_steps,
        sum_scale,
        scale_to: src.scale_to,
        bootstrap: src.effects.bootstrap,
        bootstrap_seed: crate::rng::key(src.seed, crate::rng::Purpose::Bootstrap, 0, 0),
        headline: src.effects.headline.clone(),
        csv: src.output.csv,
        long: src.output.long,
    }
}

/// The windows of a file (or the defaults: the whole run and its last `summary_last_steps`),
/// each starting after the warm-up, and the factor of window sums.
fn resolve_windows(inp: &Inputs, problems: &mut Vec<Problem>) -> (Vec<Window>, f64) {
    let src = inp.source;
    let steps = src.steps;
    let warm = src.warmup_steps;
    let mut bad = |key: String, message: String, suggestion: Option<String>| {
        problems.push(Problem {
            line: error::locate(inp.text, &key),
            key,
            message,
            suggestion,
        })
    };
    if steps > 0 && warm >= steps {
        bad(
            "warmup_steps".into(),
            format!("{warm} warm-up steps; expected fewer than the {steps} steps of a run"),
            None,
        );
    }
    let sum_scale = match src.scale_to {
        None => 1.0,
        Some(s) if s.is_finite() && s > 0.0 && src.consumers.count > 0 => {
            s / src.consumers.count as f64
        }
        Some(s) => {
            bad(
                "scale_to".into(),
                format!("{s}; expected a positive population"),
                Some("scale_to = 1.0e9 scales sums to a billion consumers".into()),
            );
            1.0
        }
    };
    let start = parse_date(&src.start_date);
    let dps = src.days_per_step.max(1) as i64;
    let last = steps.saturating_sub(1);
    let mut out = Vec::new();
    if src.windows.is_empty() {
        out.push(Window {
            name: "whole".into(),
            from: warm.min(last),
            to: last,
            stat: Stat::Mean,
        });
        let n = src.summary_last_steps.max(1).min(steps.max(1));
        out.push(Window {
            name: format!("last_{n}"),
            from: (steps - n.min(steps)).max(warm).min(last),
            to: last,
            stat: Stat::Mean,
        });
        return (out, sum_scale);
    }
    for (i, w) in src.windows.iter().enumerate() {
        let key = |k: &str| format!("windows[{i}].{k}");
        let stat = match w.stat.as_str() {
            "mean" => Stat::Mean,
            "sum" => Stat::Sum,
            other => {
                bad(
                    key("stat"),
                    format!("`{other}`; expected `mean` or `sum`"),
                    Some(error::suggest(other, ["mean", "sum"])),
                );
                continue;
            }
        };
        if src.windows[..i].iter().any(|x| x.name == w.name) || w.name.is_empty() {
            bad(
                key("name"),
                format!(
                    "window name `{}`; expected a unique, non-empty name",
                    w.name
                ),
                None,
            );
            continue;
        }
        let mut step_of = |v: &Option<toml::Value>, k: &str, default: u32| -> Option<u32> {
            let s = match v {
                None => return Some(default),
                Some(toml::Value::Integer(s)) => *s,
                Some(toml::Value::String(d)) => match (parse_date(d), start) {
                    (Some(d), Some(s0)) => (d - s0).div_euclid(dps),
                    _ => {
                        bad(
                            key(k),
                            format!("`{d}` is not a date; expected YYYY-MM-DD or a step"),
                            None,
                        );
                        return None;
                    }
                },
                Some(other) => {
                    bad(
                        key(k),
                        format!("{other}; expected a step (whole number) or a date"),
                        None,
                    );
                    return None;
                }
            };
            if s < 0 || s >= steps as i64 {
                bad(
                    key(k),
                    format!(
                        "step {s} lies outside the run; expected 0 ≤ step ≤ {last} ({} to the run's last day)",
                        src.start_date
                    ),
                    None,
                );
                return None;
            }
            Some(s as u32)
        };
        let (Some(from), Some(to)) = (step_of(&w.from, "from", 0), step_of(&w.to, "to", last))
        else {
            continue;
        };
        let from = from.max(warm);
        if from > to {
            bad(
                key("to"),
                format!(
                    "the window ends (step {to}) before it starts (step {from}{}); expected from ≤ to",
                    if warm > 0 { ", after the warm-up" } else { "" }
                ),
                None,
            );
            continue;
        }
        out.push(Window {
            name: w.name.clone(),
            from,
            to,
            stat,
        });
    }
    (out, sum_scale)
}
