//! Scenarios: the file format (`schema`), checking and name resolution (`resolve`), the
//! resolved form the engine consumes (`model`), sweeps and run seeds (this module).
//!
//! Loading a file gives a [`Plan`]: every sweep point resolved and checked, and every run
//! (point × replicate) with its seed. Nothing downstream ever parses or validates again.

pub mod builder;
pub mod calendar;
pub mod calibrate;
pub mod design;
pub mod edges;
pub mod error;
pub mod model;
pub mod resolve;
pub mod schema;
pub mod variants;

pub use builder::{LinkPreset, ScenarioBuilder, WalletPreset};
pub use error::{Problem, ScenarioError};
pub use model::*;
pub use schema::ScenarioFile;

use crate::rng::{key, Purpose};
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
    /// The point whose seeds this point's runs take (itself, or under common random numbers
    /// point 0 of a sweep or a variant's baseline counterpart).
    #[serde(skip)]
    pub seed_point: u32,
}

/// A swept value as it goes into output columns.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
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
#[derive(Clone, Copy, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
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
    /// Variants, baseline and windows of the comparison.
    pub comparison: variants::Comparison,
    /// The experimental design whose samples are the points (`[design]`), if any.
    pub design: Option<design::Design>,
}

impl Plan {
    /// Applies command-line overrides of the master seed and the replicate count: runs and
    /// seeds are derived again, and the hash covers the overrides so an out folder made
    /// with other overrides is recognised as a different scenario.
    pub fn with_overrides(mut self, seed: Option<u64>, replicates: Option<u32>) -> Self {
        if seed.is_none() && replicates.is_none() {
            return self;
        }
        if let Some(s) = seed {
            self.source.seed = s;
        }
        if let Some(r) = replicates {
            self.replicates = r.max(1);
        }
        let reps = self.replicates;
        let master = self.source.seed;
        self.runs = runs_of(&self.points, reps, master);
        use sha2::Digest;
        let text = format!("{}\n#seed={master}\n#replicates={reps}", self.hash);
        self.hash = sha2::Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self
    }
}

/// The runs of a plan in run_id order: point × replicate, each with the seed of its
/// `seed_point` (the same for every point under common random numbers).
fn runs_of(points: &[Point], replicates: u32, master: u64) -> Vec<RunSpec> {
    points
        .iter()
        .flat_map(|p| {
            (0..replicates).map(move |r| RunSpec {
                run_id: p.id * replicates + r,
                point_id: p.id,
                replicate: r,
                seed: run_seed(master, p.seed_point, r),
            })
        })
        .collect()
}

/// Seed of replicate `replicate` of point `point`.
pub fn run_seed(master: u64, point: u32, replicate: u32) -> u64 {
    key(master, Purpose::RunSeed, replicate as u64, point as u64)
}

/// Loads, expands and checks a scenario file.
/// Loads a scenario file; `design` picks one of its `[[designs]]` by name (its samples are
/// then the points, as if it were the file's `[design]`).
pub fn load_design(path: &Path, design: Option<&str>) -> Result<Plan, ScenarioError> {
    let file = path.display().to_string();
    let fail = |line: Option<usize>, message: String, suggestion: &str| ScenarioError {
        file: file.clone(),
        problems: vec![Problem {
            key: String::new(),
            line,
            message,
            suggestion: Some(suggestion.into()),
        }],
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        fail(
            None,
            format!("cannot read the file: {e}"),
            "check the path; scenarios ship in experiments/",
        )
    })?;
    if !meta.is_file() {
        return Err(fail(
            None,
            format!("{}, not a scenario file", edges::file_kind(&meta)),
            "give the path of a .toml file",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        fail(
            None,
            format!("cannot read the file: {e}"),
            "check the path; scenarios ship in experiments/",
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = error::line_of(&String::from_utf8_lossy(&e.as_bytes()[..at]), at);
        fail(
            Some(line),
            format!(
                "invalid UTF-8 at byte {at} (0x{:02x}); expected UTF-8 text",
                e.as_bytes()[at]
            ),
            "save the file as UTF-8",
        )
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    from_text_design(&text, &file, base, design)
}

/// [`load_design`] of a file without `[[designs]]` (or an error naming them).
pub fn load(path: &Path) -> Result<Plan, ScenarioError> {
    load_design(path, None)
}

/// The names of a file's `[[designs]]`, in order (empty: none, or the file does not parse;
/// loading it then says why).
pub fn design_names(path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let Ok(table) = toml::from_str::<toml::Table>(&text) else {
        return Vec::new();
    };
    table
        .get("designs")
        .and_then(|d| d.as_array())
        .map(|a| {
            a.iter()
                .map(|d| {
                    d.get("name")
                        .and_then(|n| n.as_str())
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Most problems listed in one error (the rest are counted as "and N more").
pub const MAX_PROBLEMS: usize = 50;

/// Most sweep points one file may expand to.
pub const MAX_POINTS: u64 = 100_000;
/// Most runs (points × replicates) one file may plan.
pub const MAX_RUNS: u64 = 10_000_000;

/// Loads a scenario from text (`file` names it in errors, `base_dir` anchors relative paths).
pub fn from_text(text: &str, file: &str, base_dir: &Path) -> Result<Plan, ScenarioError> {
    from_text_full(text, file, base_dir, None, &[])
}

/// [`from_text`], picking the `[[designs]]` entry named `pick`.
pub fn from_text_design(
    text: &str,
    file: &str,
    base_dir: &Path,
    pick: Option<&str>,
) -> Result<Plan, ScenarioError> {
    from_text_full(text, file, base_dir, pick, &[])
}

/// A value set on a scenario before it is resolved (see [`from_text_with`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    /// Dotted path, as in `[[sweep.param]]` (`revision.primary_switch`,
    /// `platforms.taobao.default_pull`).
    pub path: String,
    /// The value.
    pub value: toml::Value,
    /// The key problems with this setting are reported under, e.g. `calibrate.param[2]`.
    pub key: String,
}

/// Loads a scenario from text with values set at dotted paths, as a one-point sweep sets
/// them (same path rules, same checks): the calibration's evaluations. The file must then
/// have one point of its own (no `[sweep]`, `[design]` or `[[variants]]`); problems of a
/// setting are reported under its `key`, located in `text`.
pub fn from_text_with(
    text: &str,
    file: &str,
    base_dir: &Path,
    settings: &[Setting],
) -> Result<Plan, ScenarioError> {
    from_text_full(text, file, base_dir, None, settings)
}

/// The loader behind [`from_text`], [`from_text_design`] and [`from_text_with`].
fn from_text_full(
    text: &str,
    file: &str,
    base_dir: &Path,
    pick: Option<&str>,
    settings: &[Setting],
) -> Result<Plan, ScenarioError> {
    let err = |problems: Vec<Problem>| ScenarioError {
        file: file.to_string(),
        problems,
    };
    // Syntax first (the table), then the schema: a syntax error is then never mistaken for a
    // schema one.
    let mut table: toml::Table =
        toml::from_str(text).map_err(|e| err(vec![toml_problem(text, &e, true)]))?;
    let mut source: ScenarioFile =
        toml::from_str(text).map_err(|e| err(vec![toml_problem(text, &e, false)]))?;
    if let Some(p) = fixed_lists(&table, text) {
        return Err(err(vec![p]));
    }
    // The identity covers the parent's text too: changing it changes the scenario.
    let mut identity = text.to_string();
    let mut parent_text: Option<(String, String)> = None;
    // The parent's own problems are reported against the parent; what remains after the
    // merge is this file's doing and is located here.
    if let Some(parent) = source.extends.clone() {
        let ppath = base_dir.join(&parent);
        let ptext = std::fs::read_to_string(&ppath).map_err(|e| {
            err(vec![Problem {
                key: "extends".into(),
                line: error::locate(text, "extends"),
                message: format!("cannot read `{}`: {e}", ppath.display()),
                suggestion: Some("the path is relative to this file's folder".into()),
            }])
        })?;
        let pfile = ppath.display().to_string();
        let pbase = ppath.parent().unwrap_or(Path::new("."));
        let parent_plan = from_text(&ptext, &pfile, pbase)?;
        if parent_plan.source.extends.is_some() {
            return Err(err(vec![Problem {
                key: "extends".into(),
                line: error::locate(text, "extends"),
                message: format!("`{parent}` extends another file; expected one level"),
                suggestion: Some("extend the file it extends instead".into()),
            }]));
        }
        let ptable: toml::Table = toml::from_str(&ptext).unwrap_or_default();
        table = variants::merge_tables(ptable, table);
        source = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| {
                err(vec![Problem {
                    key: "extends".into(),
                    line: error::locate(text, "extends"),
                    message: format!(
                        "this file and `{parent}` do not combine: {}",
                        plain_message(e.message())
                    ),
                    suggestion: None,
                }])
            })?;
        identity = format!("{text}\n#extends={parent}\n{ptext}");
        parent_text = Some((pfile, ptext));
    }

    // One of several named designs stands in for `[design]`; its problems are located at
    // `designs[k]`.
    let picked = pick_design(text, &mut source, &mut table, pick).map_err(|p| err(vec![p]))?;
    if let Some((_, name)) = &picked {
        identity.push_str(&format!("\n#design={name}"));
    }
    let mut problems = Vec::new();
    let sweep = if settings.is_empty() {
        source.sweep.clone().unwrap_or_default()
    } else {
        for k in ["sweep", "design", "variants"] {
            if table.contains_key(k) {
                problems.push(Problem {
                    key: k.into(),
                    line: None,
                    message: format!(
                        "a scenario with `{k}` has several points; expected one scenario to fit"
                    ),
                    suggestion: Some(format!("calibrate a copy of the file without `{k}`")),
                });
            }
        }
        if !problems.is_empty() {
            for p in &mut problems {
                p.line = error::locate(text, &p.key);
            }
            return Err(err(problems));
        }
        schema::Sweep {
            param: settings
                .iter()
                .enumerate()
                .map(|(i, s)| schema::SweepParam {
                    path: s.path.clone(),
                    values: Some(vec![s.value.clone()]),
                    range: None,
                    zip: Some("\u{0}settings".into()),
                    column: Some(format!("\u{0}{i}")),
                })
                .collect(),
            ..Default::default()
        }
    };
    let mut replicates = sweep.replicates.unwrap_or(source.replicates);
    let mut crn = sweep.common_random_numbers;
    // A design's samples are one zip group of axes added to the sweep's: its points, in
    // sample order.
    let mut design_axes = Vec::new();
    let design = source.design.as_ref().and_then(|spec| {
        if source.sweep.is_some() {
            problems.push(Problem {
                key: "design".into(),
                line: None,
                message: "both [sweep] and [design]; expected one of them".into(),
                suggestion: Some(
                    "put the swept parameters into the design as `[[design.param]]`".into(),
                ),
            });
        }
        replicates = spec.replicates.unwrap_or(source.replicates);
        match design::expand(spec, source.seed, MAX_POINTS) {
            Ok(e) => {
                for (j, (path, column, values)) in e.axes.into_iter().enumerate() {
                    let categorical = e.design.params[j].categories.is_some();
                    design_axes.push(Axis {
                        path,
                        source: if categorical { "values" } else { "bounds" },
                        column,
                        values,
                        zip: Some("\u{0}design".into()),
                    });
                }
                crn = e.design.common_random_numbers;
                Some(e.design)
            }
            Err(ps) => {
                problems.extend(ps);
                None
            }
        }
    });
    if replicates == 0 {
        problems.push(Problem {
            key: if sweep.replicates.is_some() {
                "sweep.replicates"
            } else {
                "replicates"
            }
            .into(),
            line: None,
            message: "0 replicates; expected at least 1".into(),
            suggestion: None,
        });
    }

    let mut base = table.clone();
    for k in variants::FILE_ONLY_KEYS {
        base.remove(k);
    }
    base.remove("design");
    base.remove("designs");
    problems.extend(variants::check_event_ids(&base));
    let (mut sweep_columns, mut points, mut more) =
        expand(text, &base, &sweep, &design_axes, replicates, "", base_dir);
    if design.is_some() {
        // Design parameters went through the sweep's machinery: name them as written.
        for p in &mut more {
            if let Some(rest) = p.key.strip_prefix("sweep.param") {
                p.key = format!("design.param{rest}");
                p.line = None;
            }
            p.message = p.message.replace("at sweep point", "at design sample");
        }
    }
    if !settings.is_empty() {
        // The settings went through the sweep's machinery: name them as their caller does.
        for p in &mut more {
            if let Some(rest) = p.key.strip_prefix("sweep.param[") {
                if let Some((i, _)) = rest.split_once(']') {
                    if let Some(s) = i.parse::<usize>().ok().and_then(|i| settings.get(i)) {
                        p.key = s.key.clone();
                        p.line = error::locate(text, &p.key);
                    }
                }
            }
            // A value the scenario does not accept (out of range at a bound): the setting
            // whose path names the key.
            if p.message.starts_with("at sweep point") {
                let first = p.key.split(['.', '[']).next().unwrap_or("");
                let last = p.key.rsplit('.').next().unwrap_or("");
                if let Some(s) = settings.iter().find(|s| {
                    s.path == p.key
                        || (s.path.starts_with(&format!("{first}."))
                            && s.path.ends_with(&format!(".{last}"))
                            && p.key.contains('['))
                }) {
                    p.message = format!("`{}`: {}", p.key, p.message);
                    p.key = s.key.clone();
                    p.line = error::locate(text, &p.key);
                }
            }
            p.message = p.message.replace("at sweep point", "at");
            for (i, s) in settings.iter().enumerate().rev() {
                p.message = p
                    .message
                    .replace(&format!("\u{0}{i}="), &format!("{}=", s.path));
            }
        }
    }
    problems.extend(more);
    if crn {
        for p in &mut points {
            p.seed_point = 0;
        }
    }
    let axes_columns = sweep_columns.clone();
    let comparison = variants::expand_variants(
        &variants::Inputs {
            text,
            source: &source,
            base: &base,
            sweep: &sweep,
            replicates,
            base_dir,
            design_axes: &design_axes,
        },
        &mut points,
        &mut sweep_columns,
        &mut problems,
    );
    if let Some(d) = &design {
        problems.extend(design_effect_problems(
            d,
            &comparison,
            picked.as_ref().map(|p| p.0),
        ));
    }
    if let Some(c) = &source.charts.panel_by {
        if !axes_columns.iter().any(|a| a == c) {
            let cols: Vec<&str> = axes_columns.iter().map(String::as_str).collect();
            problems.push(Problem {
                key: "charts.panel_by".into(),
                line: None,
                message: format!(
                    "`{c}` is not a swept column; expected one of the `[[sweep.param]]` columns"
                ),
                suggestion: Some(if cols.is_empty() {
                    "remove it: this scenario has no sweep".into()
                } else {
                    error::suggest(c, cols.iter().copied())
                }),
            });
        }
    }
    let k = source.charts.smooth_steps;
    if k > source.steps {
        problems.push(Problem {
            key: "charts.smooth_steps".into(),
            line: None,
            message: format!(
                "a rolling mean of {k} steps is longer than the run ({} steps)",
                source.steps
            ),
            suggestion: Some(format!(
                "use at most {} (0 or 1 draws the raw steps)",
                source.steps
            )),
        });
    }
    if let Some((k, _)) = &picked {
        for p in &mut problems {
            if let Some(rest) = p.key.strip_prefix("design") {
                if rest.is_empty() || rest.starts_with('.') {
                    p.key = format!("designs[{k}]{rest}");
                    p.line = None;
                }
            }
        }
    }
    let loc = error::Locator::new(text);
    let parent_loc = parent_text.as_ref().map(|(_, t)| error::Locator::new(t));
    for p in &mut problems {
        if p.line.is_none() {
            p.line = loc.locate(&p.key);
        }
        // A key this file does not write comes from the parent: say where.
        if let Some((pfile, _)) = &parent_text {
            if p.line.is_none() || p.line == Some(1) && !text.contains(&p.key) {
                if let Some(l) = parent_loc.as_ref().and_then(|l| l.locate(&p.key)) {
                    p.message = format!("{} (`{}` is set in {pfile}:{l})", p.message, p.key);
                }
            }
        }
    }
    let inputs = check_inputs(&mut points, text, &mut problems);
    if !problems.is_empty() {
        // The same problem at several points (or found twice) is reported once.
        let mut seen = std::collections::HashSet::new();
        problems.retain(|p| seen.insert((p.key.clone(), p.message.clone())));
        problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
        if problems.len() > MAX_PROBLEMS {
            let more = problems.len() - MAX_PROBLEMS;
            problems.truncate(MAX_PROBLEMS);
            problems.push(Problem {
                key: String::new(),
                line: None,
                message: format!(
                    "and {more} more problem{}",
                    if more == 1 { "" } else { "s" }
                ),
                suggestion: Some("fix the ones above first".into()),
            });
        }
        return Err(err(problems));
    }

    let runs = runs_of(&points, replicates, source.seed);
    let hash = identity_hash(&identity, &inputs);
    Ok(Plan {
        file: file.to_string(),
        hash,
        source,
        sweep_columns,
        points,
        replicates,
        runs,
        comparison,
        design,
    })
}

/// Checks a design's `effect_of` (a variant) and `window` (a `[[windows]]` name).
fn design_effect_problems(
    d: &design::Design,
    cmp: &variants::Comparison,
    picked: Option<usize>,
) -> Vec<Problem> {
    let at = |key: &str| match picked {
        Some(k) => format!("designs[{k}].{key}"),
        None => format!("design.{key}"),
    };
    let mut problems = Vec::new();
    if let Some(v) = &d.effect_of {
        let names: Vec<&str> = cmp
            .common_random_numbers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        if !names.contains(&v.as_str()) {
            problems.push(Problem {
                key: at("effect_of"),
                line: None,
                message: format!("`{v}` is not a variant of this file"),
                suggestion: Some(if names.is_empty() {
                    "add a `[[variants]]` with that name, or remove `effect_of`".into()
                } else {
                    error::suggest(v, names.iter().copied())
                }),
            });
        } else if !cmp
            .common_random_numbers
            .iter()
            .any(|(n, crn)| n == v && *crn)
        {
            problems.push(Problem {
                key: at("effect_of"),
                line: None,
                message: format!("variant `{v}` does not share the baseline's seeds; a design's effect is paired by common random numbers"),
                suggestion: Some(format!("remove `common_random_numbers = false` from variant `{v}`")),
            });
        }
    }
    if let Some(w) = &d.window {
        if !cmp.windows.iter().any(|x| &x.name == w) {
            problems.push(Problem {
                key: at("window"),
                line: None,
                message: format!("no `[[windows]]` named `{w}`"),
                suggestion: Some(if cmp.windows.is_empty() {
                    "add a `[[windows]]` with that name and its `from`/`to`".into()
                } else {
                    error::suggest(w, cmp.windows.iter().map(|x| x.name.as_str()))
                }),
            });
        }
    }
    problems
}

/// Puts the `[[designs]]` entry named `pick` in the place of `[design]` (in the parsed file
/// and its table); returns its index and name. A file with several designs needs a pick;
/// names must be unique folder names.
fn pick_design(
    text: &str,
    source: &mut ScenarioFile,
    table: &mut toml::Table,
    pick: Option<&str>,
) -> Result<Option<(usize, String)>, Problem> {
    let names: Vec<String> = source
        .designs
        .iter()
        .map(|d| d.name.clone().unwrap_or_default())
        .collect();
    let problem = |key: String, message: String, suggestion: Option<String>| {
        Problem::at(text, key, message, suggestion)
    };
    if names.is_empty() {
        return match pick {
            None => Ok(None),
            Some(name) => Err(problem(
                "designs".into(),
                format!("no `[[designs]]` to pick `{name}` from"),
                Some("drop --design: this file has at most one `[design]`".into()),
            )),
        };
    }
    if source.design.is_some() {
        return Err(problem(
            "designs".into(),
            "both [design] and [[designs]]; expected one of them".into(),
            Some("give the `[design]` a `name` and write it as one more `[[designs]]`".into()),
        ));
    }
    for (k, n) in names.iter().enumerate() {
        let ok = !n.is_empty()
            && n.len() <= 64
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !names[..k].contains(n);
        if !ok {
            return Err(problem(
                format!("designs[{k}].name"),
                format!("design name `{n}`; expected a unique name of letters, digits, `-` or `_` (it names the out sub-folder)"),
                Some("e.g. name = \"morris\"".into()),
            ));
        }
    }
    let Some(name) = pick else {
        return Err(problem(
            "designs".into(),
            format!(
                "{} designs ({}); expected one picked by name",
                names.len(),
                names.join(", ")
            ),
            Some(format!(
                "`gardengate run` runs each into OUT/<name>/; other commands take --design NAME, e.g. --design {}",
                names[0]
            )),
        ));
    };
    let Some(k) = names.iter().position(|n| n == name) else {
        return Err(problem(
            "designs".into(),
            format!("no design named `{name}`"),
            Some(error::suggest(name, names.iter().map(String::as_str))),
        ));
    };
    source.design = Some(source.designs[k].clone());
    if let Some(t) = table
        .get("designs")
        .and_then(|d| d.as_array())
        .and_then(|a| a.get(k))
        .cloned()
    {
        let mut t = t;
        if let Some(t) = t.as_table_mut() {
            t.remove("name");
        }
        table.insert("design".into(), t);
    }
    table.remove("designs");
    Ok(Some((k, name.to_string())))
}

/// Sweep points of one scenario table (without its `[sweep]`): the swept columns, the
/// resolved points (ids from 0, in sweep order) and the problems found, located in `text`.
/// `prefix` is where the sweep is written (`""` for `[sweep]`, `variants[k].` for a variant's).
fn expand(
    text: &str,
    table: &toml::Table,
    sweep: &schema::Sweep,
    extra_axes: &[Axis],
    replicates: u32,
    prefix: &str,
    base_dir: &Path,
) -> (Vec<String>, Vec<Point>, Vec<Problem>) {
    let (mut axes, mut problems) = sweep_axes(sweep);
    axes.extend(extra_axes.iter().cloned());
    let mut points_values: Vec<Vec<(usize, toml::Value)>> = vec![Vec::new()];
    // Cartesian product over zip groups, first axis slowest.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, a) in axes.iter().enumerate() {
        match a.zip.as_ref().and_then(|z| {
            groups
                .iter()
                .position(|g| axes[g[0]].zip.as_ref() == Some(z))
        }) {
            Some(g) => groups[g].push(i),
            None => groups.push(vec![i]),
        }
    }
    let mut groups_ok = Vec::new();
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
                suggestion: Some(
                    "parameters in one zip group need the same number of values".into(),
                ),
            });
            continue;
        }
        groups_ok.push(g);
    }
    let n_points = groups_ok
        .iter()
        .try_fold(1u64, |n, g| n.checked_mul(axes[g[0]].values.len() as u64))
        .unwrap_or(u64::MAX);
    if n_points > MAX_POINTS {
        problems.push(Problem {
            key: "sweep".into(),
            line: None,
            message: format!("{n_points} sweep points; expected at most {MAX_POINTS}"),
            suggestion: Some("sweep fewer values, or split the sweep over several files".into()),
        });
        points_values.clear();
    } else if n_points.saturating_mul(replicates as u64) > MAX_RUNS {
        problems.push(Problem {
            key: if sweep.replicates.is_some() { "sweep.replicates" } else { "replicates" }.into(),
            line: None,
            message: format!(
                "{n_points} point{} × {replicates} replicates = {} runs; expected at most {MAX_RUNS}",
                if n_points == 1 { "" } else { "s" },
                n_points.saturating_mul(replicates as u64)
            ),
            suggestion: None,
        });
        points_values.clear();
    } else {
        for g in groups_ok {
            let len = axes[g[0]].values.len();
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
    }
    let base = table;
    // The key each axis sets, e.g. `platforms[0].commission` for `platforms.taobao.commission`.
    let mut set_keys: Vec<Option<String>> = vec![None; axes.len()];
    let mut points = Vec::new();
    // Points that did not resolve: their label, swept axes and problems.
    let mut failed: Vec<(String, Vec<usize>, Vec<Problem>)> = Vec::new();
    let mut resolved = 0usize;
    for (pid, values) in points_values.iter().enumerate() {
        let mut t = base.clone();
        let mut params = Vec::new();
        for (ai, v) in values {
            let axis = &axes[*ai];
            match set_path(&mut t, &axis.path, v.clone()) {
                Ok(k) => set_keys[*ai] = Some(k),
                Err((message, suggestion)) => {
                    problems.push(Problem {
                        key: format!("sweep.param[{ai}].path"),
                        line: None,
                        message,
                        suggestion,
                    });
                    continue;
                }
            }
            params.push((axis.column.clone(), param_value(v)));
        }
        let label = if params.is_empty() {
            "base".to_string()
        } else {
            params
                .iter()
                .map(|(c, v)| format!("{c}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let sf: ScenarioFile = match toml::Value::Table(t).try_into() {
            Ok(sf) => sf,
            Err(e) => {
                problems.extend(sweep_type_problems(base, &axes, values, &label, &e));
                continue;
            }
        };
        resolved += 1;
        match resolve::resolve(&sf, base_dir) {
            Ok(scenario) => points.push(Point {
                id: pid as u32,
                label,
                params,
                scenario,
                seed_point: pid as u32,
            }),
            Err(ps) => failed.push((label, values.iter().map(|(ai, _)| *ai).collect(), ps)),
        }
    }
    // A problem is the sweep's doing when it is on a key the sweep sets, or when some points
    // have it and others not; it then names the point and points at the swept values.
    let mut count: std::collections::HashMap<(String, String), usize> = Default::default();
    for (_, _, ps) in &failed {
        for p in ps {
            *count.entry((p.key.clone(), p.message.clone())).or_default() += 1;
        }
    }
    // The same problem at several points is reported once, at the first of them.
    let mut swept: Vec<(Problem, String, usize)> = Vec::new();
    // Index into `swept` by (key, message): the lookup stays O(1) with many problems.
    let mut swept_at: std::collections::HashMap<(String, String), usize> = Default::default();
    let loc = error::Locator::new(text);
    for (label, swept_axes, ps) in failed {
        for mut p in ps {
            let axis = swept_axes.iter().copied().find(|&ai| {
                set_keys[ai]
                    .as_deref()
                    .is_some_and(|k| key_under(&p.key, k))
            });
            let everywhere = count[&(p.key.clone(), p.message.clone())] == resolved;
            if !axes.is_empty() && (axis.is_some() || !everywhere) {
                if let Some(ai) = axis {
                    p.line = loc.locate(&format!("{prefix}sweep.param[{ai}].{}", axes[ai].source));
                }
                match swept_at.entry((p.key.clone(), p.message.clone())) {
                    std::collections::hash_map::Entry::Occupied(e) => swept[*e.get()].2 += 1,
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(swept.len());
                        swept.push((p, label.clone(), 1));
                    }
                }
            } else {
                problems.push(p);
            }
        }
    }
    for (mut p, label, n) in swept {
        let more = match n {
            1 => String::new(),
            2 => " (and 1 more point)".to_string(),
            _ => format!(" (and {} more points)", n - 1),
        };
        p.message = format!("at sweep point {label}{more}: {}", p.message);
        problems.push(p);
    }
    if !prefix.is_empty() {
        for p in &mut problems {
            if p.key == "sweep" || p.key.starts_with("sweep.") {
                p.key = format!("{prefix}{}", p.key);
            }
        }
    }
    for p in &mut problems {
        if p.line.is_none() {
            p.line = loc.locate(&p.key).or_else(|| {
                set_keys
                    .iter()
                    .position(|k| k.as_deref().is_some_and(|k| key_under(&p.key, k)))
                    .and_then(|i| loc.locate(&format!("{prefix}sweep.param[{i}]")))
            });
        }
    }
    (
        axes.iter().map(|a| a.column.clone()).collect(),
        points,
        problems,
    )
}

/// Reads and checks every input file the points name (edge lists), once per distinct file
/// however many points use it, checks each point's node ids against its consumer count, and
/// hands each point the edges (shared: the engine reads no files).
/// Returns `(path, sha256)` of each file, in first-use order, for the scenario identity.
fn check_inputs(
    points: &mut [Point],
    text: &str,
    problems: &mut Vec<Problem>,
) -> Vec<(String, String)> {
    let mut seen: Vec<(std::path::PathBuf, Option<(edges::EdgeFile, EdgeData)>)> = Vec::new();
    let n_points = points.len();
    for p in points.iter_mut() {
        let n = p.scenario.consumers.count;
        let label = p.label.clone();
        let GraphSpec::EdgeList { path, edges: data } = &mut p.scenario.graph else {
            continue;
        };
        let k = match seen.iter().position(|(q, _)| q == path) {
            Some(k) => k,
            None => {
                let info = match edges::load(path) {
                    Ok((info, pairs)) => Some((info, EdgeData::from_pairs(path, pairs))),
                    Err(message) => {
                        problems.push(Problem {
                            key: "graph.path".into(),
                            line: error::locate(text, "graph.path"),
                            message,
                            suggestion: Some(
                                "the edge-list format is in docs/MODEL.md, \"Edge lists\"".into(),
                            ),
                        });
                        None
                    }
                };
                seen.push((path.clone(), info));
                seen.len() - 1
            }
        };
        if let Some((info, loaded)) = &seen[k].1 {
            *data = loaded.clone();
            if info.max_id.0 as u64 >= n {
                problems.push(Problem {
                    key: "graph.path".into(),
                    line: error::locate(text, "graph.path"),
                    message: format!(
                        "{}:{}: node id {} is out of range{}: the scenario has {n} consumers (ids 0..{})",
                        path.display(),
                        info.max_id.1,
                        info.max_id.0,
                        if n_points > 1 { format!(" at sweep point {label}") } else { String::new() },
                        n.saturating_sub(1)
                    ),
                    suggestion: Some("raise consumers.count or renumber the nodes from 0".into()),
                });
            }
        }
    }
    seen.into_iter()
        .filter_map(|(p, i)| i.map(|(i, _)| (p.display().to_string(), i.sha256)))
        .collect()
}

/// The scenario identity: SHA-256 of the file's text and of every input file it reads, so
/// that a changed edge list makes an out folder's results another scenario's. A scenario
/// without input files keeps the hash of its text alone.
fn identity_hash(text: &str, inputs: &[(String, String)]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(text.as_bytes());
    for (path, sha) in inputs {
        h.update(format!("\n#input {path} sha256={sha}").as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Keys that take a list of a fixed length, with the length and what it holds.
const FIXED_LISTS: [(&str, &str, usize, &str); 2] = [
    ("merchants", "margin", 2, "[lo, hi]"),
    ("consumers", "shop_beta", 2, "[a, b]"),
];

/// A fixed-length list of the wrong length, reported on its own key (the parser would
/// otherwise take the first elements or report it without a key).
fn fixed_lists(table: &toml::Table, text: &str) -> Option<Problem> {
    for (section, key, n, shape) in FIXED_LISTS {
        let Some(v) = table.get(section).and_then(|t| t.get(key)) else {
            continue;
        };
        let len = v.as_array().map(|a| a.len());
        if len != Some(n) {
            let k = format!("{section}.{key}");
            return Some(Problem {
                line: error::locate(text, &k),
                message: match len {
                    Some(l) => format!("a list of {l} values; expected {n} numbers {shape}"),
                    None => format!("expected a list of {n} numbers {shape}"),
                },
                key: k,
                suggestion: None,
            });
        }
    }
    None
}

/// Finds which swept values a scenario cannot take (wrong type, unknown key) by setting each
/// of a point's values alone on the base table.
fn sweep_type_problems(
    base: &toml::Table,
    axes: &[Axis],
    values: &[(usize, toml::Value)],
    label: &str,
    e: &toml::de::Error,
) -> Vec<Problem> {
    let mut out = Vec::new();
    for (ai, v) in values {
        let mut t = base.clone();
        if set_path(&mut t, &axes[*ai].path, v.clone()).is_err() {
            continue;
        }
        if let Err(e) = toml::Value::Table(t).try_into::<ScenarioFile>() {
            let message = plain_message(e.message());
            out.push(match unknown_field_suggestion(&message) {
                Some(s) => Problem {
                    key: format!("sweep.param[{ai}].path"),
                    line: None,
                    message: format!(
                        "`{}` does not name a scenario key: {message}",
                        axes[*ai].path
                    ),
                    suggestion: Some(s),
                },
                None => Problem {
                    key: format!("sweep.param[{ai}].{}", axes[*ai].source),
                    line: None,
                    message: format!("at sweep point {label}: {message}"),
                    suggestion: Some(format!(
                        "a swept value must have the type of the key it sets (`{}`)",
                        axes[*ai].path
                    )),
                },
            });
        }
    }
    if out.is_empty() && values.is_empty() {
        out.push(Problem {
            key: String::new(),
            line: None,
            message: plain_message(e.message()),
            suggestion: None,
        });
    } else if out.is_empty() {
        out.push(Problem {
            key: "sweep.param".into(),
            line: None,
            message: format!("at sweep point {label}: {}", plain_message(e.message())),
            suggestion: Some("a swept value must have the type of the key it sets".into()),
        });
    }
    out
}

/// Whether problem key `key` is `set` or lies inside it (`links.channel_weights.dm` inside
/// `links.channel_weights`).
fn key_under(key: &str, set: &str) -> bool {
    key.strip_prefix(set)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

#[derive(Clone)]
struct Axis {
    path: String,
    /// `values` or `range`: where the values are written.
    source: &'static str,
    column: String,
    values: Vec<toml::Value>,
    zip: Option<String>,
}

fn sweep_axes(s: &schema::Sweep) -> (Vec<Axis>, Vec<Problem>) {
    let mut axes = Vec::new();
    let mut problems = Vec::new();
    for (i, p) in s.param.iter().enumerate() {
        let mut bad = |sub: &str, msg: String, sugg: Option<String>| {
            problems.push(Problem {
                key: format!("sweep.param[{i}]{sub}"),
                line: None,
                message: msg,
                suggestion: sugg,
            })
        };
        let values = match (&p.values, &p.range) {
            (Some(v), None) if !v.is_empty() => v.clone(),
            (None, Some(r)) => {
                if r.steps == 0
                    || r.steps as u64 > MAX_POINTS
                    || !r.start.is_finite()
                    || !r.stop.is_finite()
                {
                    bad(
                        ".range",
                        format!(
                            "range {{ start = {}, stop = {}, steps = {} }}; expected finite bounds and 1 ≤ steps ≤ {MAX_POINTS}",
                            r.start, r.stop, r.steps
                        ),
                        None,
                    );
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
                bad(
                    "",
                    "expected exactly one of `values` (a non-empty list) or `range`".into(),
                    Some(
                        "values = [0.1, 0.2] or range = { start = 0, stop = 1, steps = 5 }".into(),
                    ),
                );
                continue;
            }
        };
        let column = p
            .column
            .clone()
            .unwrap_or_else(|| p.path.replace('.', "__"));
        if axes.iter().any(|a: &Axis| a.column == column) {
            let sub = if p.column.is_some() {
                ".column"
            } else {
                ".path"
            };
            bad(
                sub,
                format!("column `{column}` is swept twice; expected each column once"),
                Some("give one of them another `column` name".into()),
            );
            continue;
        }
        axes.push(Axis {
            path: p.path.clone(),
            source: if p.values.is_some() {
                "values"
            } else {
                "range"
            },
            column,
            values,
            zip: p.zip.clone(),
        });
    }
    (axes, problems)
}

/// A TOML value as it goes into output columns (numbers as f64, everything else as text).
pub(crate) fn param_value(v: &toml::Value) -> ParamValue {
    match v {
        toml::Value::Integer(i) => ParamValue::Num(*i as f64),
        toml::Value::Float(x) => ParamValue::Num(*x),
        toml::Value::Boolean(b) => ParamValue::Num(if *b { 1.0 } else { 0.0 }),
        toml::Value::String(s) => ParamValue::Text(s.clone()),
        other => ParamValue::Text(other.to_string()),
    }
}

/// Sets a dotted path in a TOML table. In the entity lists (`platforms`, `wallets`,
/// `ecosystems`) the second segment is an entity name; a list absent from the file is filled
/// with the §7 defaults first so that a default entity can be swept. Returns the key it set
/// as problems name it, e.g. `platforms[0].commission`. Public so that front ends (the
/// Python package's `Scenario.with_`) override values by the same paths as sweeps.
pub fn set_path(
    t: &mut toml::Table,
    path: &str,
    v: toml::Value,
) -> Result<String, (String, Option<String>)> {
    let segs: Vec<&str> = path.split('.').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err((
            format!("`{path}` is not a dotted key path"),
            Some("for example `policy.tau` or `platforms.taobao.commission`".into()),
        ));
    }
    let top = segs[0];
    if top == "events" {
        return variants::set_event_field(t, &segs, v);
    }
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
        let Some((index, entry)) = list
            .iter_mut()
            .enumerate()
            .find(|(_, e)| e.get("name").and_then(|n| n.as_str()) == Some(segs[1]))
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
        return Ok(format!("{top}[{index}].{}", segs[2]));
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
    Ok(path.to_string())
}

/// Turns a toml error into a problem with line, key and a suggestion for unknown keys.
/// `syntax`: the text is not valid TOML at all (rather than not a valid scenario).
fn toml_problem(text: &str, e: &toml::de::Error, syntax: bool) -> Problem {
    let offset = e.span().map(|s| s.start);
    let line = offset.map(|o| error::line_of(text, o));
    let msg = plain_message(e.message());
    let suggestion = unknown_field_suggestion(&msg);
    let mut key = offset.map(|o| key_at(text, o)).unwrap_or_default();
    // serde reports a missing field at its table: name the field.
    if let Some(field) = msg
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
    {
        key = if key.is_empty() {
            field.to_string()
        } else {
            format!("{key}.{field}")
        };
    }
    Problem {
        key,
        line,
        message: if syntax {
            format!("invalid TOML: {msg}")
        } else {
            msg
        },
        suggestion,
    }
}

/// A toml/serde message on one line, with Rust type names in words.
fn plain_message(msg: &str) -> String {
    let mut out = msg
        .trim()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    for (rust, words) in [
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected u64", "expected a whole number ≥ 0"),
        ("expected usize", "expected a whole number ≥ 0"),
        ("expected i32", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected f32", "expected a number"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a list `[...]`"),
        ("expected a map", "expected a table"),
    ] {
        if let Some(at) = out.find(rust) {
            let end = at + rust.len();
            if !out[end..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                out.replace_range(at..end, words);
            }
        }
    }
    // "expected struct Consumers" → "expected a table"
    if let Some(at) = out.find("expected struct ") {
        let name_end = out[at + 16..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(out.len(), |i| at + 16 + i);
        out.replace_range(at..name_end, "expected a table");
    }
    out
}

/// "did you mean …?" for serde's "unknown field `x`, expected one of `a`, `b`" (or
/// "expected `a` or `b`"); `None` for other messages.
fn unknown_field_suggestion(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("unknown field `")?;
    let parts: Vec<&str> = rest.split('`').collect();
    let bad = parts.first()?;
    // After the name, quoted names sit at odd positions: `, expected one of `a`, `b``.
    let expected: Vec<&str> = parts.iter().skip(2).step_by(2).copied().collect();
    if expected.is_empty() {
        return Some("this table takes no keys".into());
    }
    Some(error::suggest(bad, expected.iter().copied()))
}

/// The dotted key written at a byte offset, e.g. `platforms[2].commission` (toml's errors
/// carry a span but not the key path). Uses the parsed document where the text is valid
/// TOML, else reads the enclosing `[table]` header and the key on that line.
fn key_at(text: &str, offset: usize) -> String {
    if let Some(k) = error::key_at(text, offset) {
        return k;
    }
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    // Headers before the line, with `[[array]]` entries counted so that the path gets indices.
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    let mut header: Option<String> = None;
    for l in text[..line_end].lines() {
        let l = l.split('#').next().unwrap_or("").trim();
        if let Some(name) = l.strip_prefix("[[").and_then(|r| r.strip_suffix("]]")) {
            let name = name.trim().to_string();
            counts.retain(|k, _| !k.starts_with(&format!("{name}.")));
            *counts.entry(name.clone()).or_default() += 1;
            header = Some(name);
        } else if let Some(name) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            header = Some(name.trim().to_string());
        }
    }
    let header = header.map(|h| {
        let segs: Vec<&str> = h.split('.').map(str::trim).collect();
        let mut out = String::new();
        for i in 0..segs.len() {
            if i > 0 {
                out.push('.');
            }
            out.push_str(segs[i].trim_matches('"'));
            if let Some(n) = counts.get(&segs[..=i].join(".")) {
                out.push_str(&format!("[{}]", n - 1));
            }
        }
        out
    });
    let line = text[line_start..line_end].trim();
    if line.starts_with('[') {
        return header.unwrap_or_default();
    }
    let own = line
        .split('=')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches('"')
        .to_string();
    match header {
        Some(h) if !own.is_empty() => format!("{h}.{own}"),
        Some(h) => h,
        None => own,
    }
}
