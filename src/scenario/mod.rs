//! Scenarios: the file format (`schema`), checking and name resolution (`resolve`), the
//! resolved form the engine consumes (`model`), sweeps and run seeds (this module).
//!
//! Loading a file gives a [`Plan`]: every sweep point resolved and checked, and every run
//! (point × replicate) with its seed. Nothing downstream ever parses or validates again.

pub mod calendar;
pub mod error;
pub mod model;
pub mod resolve;
pub mod schema;

pub use error::{Problem, ScenarioError};
pub use model::*;
pub use schema::ScenarioFile;

use crate::engine::rng::{key, Purpose};
use serde::Serialize;
use std::path::Path;

/// One point of a sweep: the swept values and the scenario they give.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    /// Index of the point (0-based, in sweep order).
    pub id: u32,
    /// `column=value` pairs, e.g. `tau=0.2`.
    pub label: String,
    /// Swept column names and values.
    pub params: Vec<(String, ParamValue)>,
    /// The resolved scenario of this point.
    #[serde(skip)]
    pub scenario: Scenario,
}

/// A swept value as it goes into output columns.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum ParamValue {
    /// A number.
    Num(f64),
    /// A string (e.g. a policy preset).
    Text(String),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Num(x) => write!(f, "{x}"),
            ParamValue::Text(s) => write!(f, "{s}"),
        }
    }
}

/// One run: a point, a replicate and its seed.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct RunSpec {
    /// Run index, `point * replicates + replicate`.
    pub run_id: u32,
    /// Sweep point.
    pub point_id: u32,
    /// Replicate within the point.
    pub replicate: u32,
    /// Seed of the run, derived from the scenario seed and (point, replicate).
    pub seed: u64,
}

/// A loaded scenario file: its points and runs.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The file as given.
    pub file: String,
    /// SHA-256 of the file's text (hex), to recognise an out folder's scenario.
    pub hash: String,
    /// The parsed file (without sweep overrides).
    pub source: ScenarioFile,
    /// Names of the swept columns, in order.
    pub sweep_columns: Vec<String>,
    /// Sweep points (one when there is no sweep).
    pub points: Vec<Point>,
    /// Replicates per point.
    pub replicates: u32,
    /// All runs, in run_id order.
    pub runs: Vec<RunSpec>,
}

/// Seed of replicate `replicate` of point `point`.
pub fn run_seed(master: u64, point: u32, replicate: u32) -> u64 {
    key(master, Purpose::RunSeed, replicate as u64, point as u64)
}

/// Loads, expands and checks a scenario file.
pub fn load(path: &Path) -> Result<Plan, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        problems: vec![Problem {
            key: String::new(),
            line: None,
            message: format!("cannot read the file: {e}"),
            suggestion: Some("check the path; scenarios ship in experiments/".into()),
        }],
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    from_text(&text, &file, base)
}

/// Loads a scenario from text (`file` names it in errors, `base_dir` anchors relative paths).
pub fn from_text(text: &str, file: &str, base_dir: &Path) -> Result<Plan, ScenarioError> {
    let err = |problems: Vec<Problem>| ScenarioError {
        file: file.to_string(),
        problems,
    };
    let source: ScenarioFile = toml::from_str(text).map_err(|e| err(vec![toml_problem(text, &e)]))?;
    let table: toml::Table = toml::from_str(text).map_err(|e| err(vec![toml_problem(text, &e)]))?;

    let sweep = source.sweep.clone().unwrap_or_default();
    let replicates = sweep.replicates.unwrap_or(source.replicates);
    let (axes, mut problems) = sweep_axes(&sweep);
    let mut points_values: Vec<Vec<(usize, toml::Value)>> = vec![Vec::new()];
    // Cartesian product over zip groups, first axis slowest.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, a) in axes.iter().enumerate() {
        match a.zip.as_ref().and_then(|z| groups.iter().position(|g| axes[g[0]].zip.as_ref() == Some(z))) {
            Some(g) => groups[g].push(i),
            None => groups.push(vec![i]),
        }
    }
    for g in &groups {
        let len = axes[g[0]].values.len();
        if let Some(&bad) = g.iter().find(|&&i| axes[i].values.len() != len) {
            problems.push(Problem {
                key: format!("sweep.param[{bad}]"),
                line: None,
                message: format!(
                    "zipped with `{}` but has {} values instead of {len}",
                    axes[g[0]].path,
                    axes[bad].values.len()
                ),
                suggestion: Some("parameters in one zip group need the same number of values".into()),
            });
            continue;
        }
        let mut next = Vec::new();
        for pv in &points_values {
            for k in 0..len {
                let mut v = pv.clone();
                v.extend(g.iter().map(|&i| (i, axes[i].values[k].clone())));
                next.push(v);
            }
        }
        points_values = next;
    }
    if replicates == 0 {
        problems.push(Problem {
            key: "sweep.replicates".into(),
            line: None,
            message: "0 replicates; expected at least 1".into(),
            suggestion: None,
        });
    }

    let mut points = Vec::new();
    for (pid, values) in points_values.iter().enumerate() {
        let mut t = table.clone();
        t.remove("sweep");
        let mut params = Vec::new();
        for (ai, v) in values {
            let axis = &axes[*ai];
            if let Err(msg) = set_path(&mut t, &axis.path, v.clone()) {
                problems.push(Problem {
                    key: format!("sweep.param[{ai}].path"),
                    line: None,
                    message: msg.0,
                    suggestion: msg.1,
                });
                continue;
            }
            params.push((axis.column.clone(), param_value(v)));
        }
        let label = if params.is_empty() {
            "base".to_string()
        } else {
            params.iter().map(|(c, v)| format!("{c}={v}")).collect::<Vec<_>>().join(", ")
        };
        let sf: ScenarioFile = match toml::Value::Table(t).try_into() {
            Ok(sf) => sf,
            Err(e) => {
                problems.push(Problem {
                    key: "sweep.param".into(),
                    line: None,
                    message: format!("at sweep point {label}: {}", e.message().trim()),
                    suggestion: Some("a swept value must have the type of the key it sets".into()),
                });
                continue;
            }
        };
        match resolve::resolve(&sf, base_dir) {
            Ok(scenario) => points.push(Point {
                id: pid as u32,
                label,
                params,
                scenario,
            }),
            Err(ps) => {
                for mut p in ps {
                    // A problem that only a swept value causes points at the sweep entry.
                    let swept = values.iter().any(|(ai, _)| key_matches_path(&p.key, &axes[*ai].path));
                    if swept {
                        p.message = format!("at sweep point {label}: {}", p.message);
                    }
                    if !problems.iter().any(|q| q.key == p.key && q.message == p.message) {
                        problems.push(p);
                    }
                }
            }
        }
    }
    for p in &mut problems {
        if p.line.is_none() {
            p.line = error::locate(text, &p.key).or_else(|| {
                axes.iter()
                    .position(|a| key_matches_path(&p.key, &a.path))
                    .and_then(|i| error::locate(text, &format!("sweep.param[{i}]")))
            });
        }
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
        return Err(err(problems));
    }

    let runs = points
        .iter()
        .flat_map(|p| {
            (0..replicates).map(move |r| RunSpec {
                run_id: p.id * replicates + r,
                point_id: p.id,
                replicate: r,
                seed: run_seed(source.seed, p.id, r),
            })
        })
        .collect();
    use sha2::Digest;
    let hash = sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Plan {
        file: file.to_string(),
        hash,
        source,
        sweep_columns: axes.iter().map(|a| a.column.clone()).collect(),
        points,
        replicates,
        runs,
    })
}

struct Axis {
    path: String,
    column: String,
    values: Vec<toml::Value>,
    zip: Option<String>,
}

fn sweep_axes(s: &schema::Sweep) -> (Vec<Axis>, Vec<Problem>) {
    let mut axes = Vec::new();
    let mut problems = Vec::new();
    for (i, p) in s.param.iter().enumerate() {
        let mut bad = |msg: String, sugg: Option<String>| {
            problems.push(Problem {
                key: format!("sweep.param[{i}]"),
                line: None,
                message: msg,
                suggestion: sugg,
            })
        };
        let values = match (&p.values, &p.range) {
            (Some(v), None) if !v.is_empty() => v.clone(),
            (None, Some(r)) => {
                if r.steps == 0 || !r.start.is_finite() || !r.stop.is_finite() {
                    bad(format!("range {{ start = {}, stop = {}, steps = {} }}; expected finite bounds and steps ≥ 1", r.start, r.stop, r.steps), None);
                    continue;
                }
                (0..r.steps)
                    .map(|k| {
                        let x = if r.steps == 1 {
                            r.start
                        } else {
                            r.start + (r.stop - r.start) * k as f64 / (r.steps - 1) as f64
                        };
                        toml::Value::Float(x)
                    })
                    .collect()
            }
            _ => {
                bad("expected exactly one of `values` (a non-empty list) or `range`".into(), Some("values = [0.1, 0.2] or range = { start = 0, stop = 1, steps = 5 }".into()));
                continue;
            }
        };
        let column = p.column.clone().unwrap_or_else(|| p.path.replace('.', "__"));
        if axes.iter().any(|a: &Axis| a.column == column) {
            bad(format!("column `{column}` is swept twice"), None);
            continue;
        }
        axes.push(Axis {
            path: p.path.clone(),
            column,
            values,
            zip: p.zip.clone(),
        });
    }
    (axes, problems)
}

fn param_value(v: &toml::Value) -> ParamValue {
    match v {
        toml::Value::Integer(i) => ParamValue::Num(*i as f64),
        toml::Value::Float(x) => ParamValue::Num(*x),
        toml::Value::Boolean(b) => ParamValue::Num(if *b { 1.0 } else { 0.0 }),
        toml::Value::String(s) => ParamValue::Text(s.clone()),
        other => ParamValue::Text(other.to_string()),
    }
}

/// Whether a problem key such as `platforms[0].commission` is set by a sweep path such as
/// `platforms.taobao.commission` (compared on the last segment and first segment).
fn key_matches_path(key: &str, path: &str) -> bool {
    let first = |s: &str| s.split(['.', '[']).next().unwrap_or("").to_string();
    let last = |s: &str| s.rsplit('.').next().unwrap_or("").to_string();
    first(key) == first(path) && last(key) == last(path)
}

/// Sets a dotted path in a TOML table. In the entity lists (`platforms`, `wallets`,
/// `ecosystems`) the second segment is an entity name; a list absent from the file is filled
/// with the §7 defaults first so that a default entity can be swept.
fn set_path(t: &mut toml::Table, path: &str, v: toml::Value) -> Result<(), (String, Option<String>)> {
    let segs: Vec<&str> = path.split('.').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err((format!("`{path}` is not a dotted key path"), Some("for example `policy.tau` or `platforms.taobao.commission`".into())));
    }
    let top = segs[0];
    if ["platforms", "wallets", "ecosystems"].contains(&top) {
        if segs.len() != 3 {
            return Err((format!("`{path}`: expected `{top}.<name>.<key>`"), None));
        }
        if !t.contains_key(top) {
            let defaults = match top {
                "platforms" => toml::Value::try_from(resolve::default_platforms()),
                "wallets" => toml::Value::try_from(resolve::default_wallets()),
                _ => toml::Value::try_from(resolve::default_ecosystems()),
            }
            .map_err(|e| (e.to_string(), None))?;
            t.insert(top.to_string(), defaults);
        }
        let Some(toml::Value::Array(list)) = t.get_mut(top) else {
            return Err((format!("`{top}` is not a list of tables"), None));
        };
        let names: Vec<String> = list
            .iter()
            .filter_map(|e| e.get("name").and_then(|n| n.as_str()).map(str::to_string))
            .collect();
        let Some(entry) = list
            .iter_mut()
            .find(|e| e.get("name").and_then(|n| n.as_str()) == Some(segs[1]))
        else {
            return Err((
                format!("no entry named `{}` in `{top}`", segs[1]),
                Some(error::suggest(segs[1], names.iter().map(String::as_str))),
            ));
        };
        let Some(tab) = entry.as_table_mut() else {
            return Err((format!("`{top}.{}` is not a table", segs[1]), None));
        };
        tab.insert(segs[2].to_string(), v);
        return Ok(());
    }
    let mut cur = t;
    for s in &segs[..segs.len() - 1] {
        let next = cur
            .entry(s.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = next
            .as_table_mut()
            .ok_or_else(|| (format!("`{s}` in `{path}` is not a table"), None))?;
    }
    cur.insert(segs[segs.len() - 1].to_string(), v);
    Ok(())
}

/// Turns a toml error into a problem with line, key and a suggestion for unknown keys.
fn toml_problem(text: &str, e: &toml::de::Error) -> Problem {
    let line = e.span().map(|s| error::line_of(text, s.start));
    let msg = e.message().trim().to_string();
    let mut suggestion = None;
    // serde: "unknown field `x`, expected one of `a`, `b`" / "expected `a` or `b`"
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        if let Some(end) = rest.find('`') {
            let bad = &rest[..end];
            let expected: Vec<&str> = rest[end..].split('`').skip(1).step_by(2).collect();
            if !expected.is_empty() {
                suggestion = Some(error::suggest(bad, expected.iter().copied()));
            }
        }
    }
    let key = e.span().map(|s| key_at(text, s.start)).unwrap_or_default();
    Problem {
        key,
        line,
        message: msg,
        suggestion,
    }
}

/// The dotted key written at a byte offset: the enclosing `[table]` header plus the key on
/// that line (toml's errors carry a span but not the key path).
fn key_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[line_start..line_end].trim();
    let header = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    let own = if line.starts_with('[') {
        String::new()
    } else {
        line.split('=').next().unwrap_or("").trim().trim_matches('"').to_string()
    };
    if line.starts_with('[') {
        return line.trim_matches(|c| c == '[' || c == ']').trim().to_string();
    }
    match header {
        Some(h) if !own.is_empty() => format!("{h}.{own}"),
        Some(h) => h,
        None => own,
    }
}
