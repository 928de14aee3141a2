//! The inputs of `gardengate calibrate`: the free parameters and settings (`[calibrate]`, in
//! the scenario or in the targets file) and the targets file (observed moments), both checked
//! here with the scenario's diagnostics (file:line:key, expectation, suggestion); and writing
//! fitted values back into a scenario's text, comments kept.
//!
//! A target's metric is a column of the per-step metrics, a ratio of two columns, or the
//! share of one column in the sum of several; its window is a span of steps or dates with
//! `mean` or `sum`. Ratios and shares are ratios of window sums (so `mean` and `sum` give the
//! same value), which keeps them defined when a single step has nothing to divide by.

use super::calendar::{format_date, parse_date};
use super::error::{self, Problem, ScenarioError};
use super::variants::Stat;
use super::{ScenarioFile, Setting};
use serde::{Deserialize, Serialize};

/// `[calibrate]` as written.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CalibrateSpec {
    /// Free parameters.
    #[serde(default)]
    pub param: Vec<ParamSpec>,
    /// Runs per evaluation (common random numbers: the same seeds at every evaluation).
    #[serde(default = "default_replicates")]
    pub replicates: u32,
    /// The optimiser's budget of evaluations (Latin-hypercube points included; the
    /// Jacobian's 2k evaluations come on top).
    #[serde(default = "default_max_evals")]
    pub max_evals: u32,
    /// Latin-hypercube points evaluated before the simplex starts from the best point.
    #[serde(default)]
    pub lhs: u32,
    /// Step of the numerical Jacobian, in units of each parameter's box.
    #[serde(default = "default_jacobian_step")]
    pub jacobian_step: f64,
    /// Nelder–Mead stops when the objective's standard deviation over the simplex falls
    /// below this (χ² units).
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
    /// Size of the first simplex, in units of each parameter's box.
    #[serde(default = "default_simplex")]
    pub simplex: f64,
    /// Values fixed during the calibration only (dotted paths, e.g. a smaller
    /// `"consumers.count"`); the calibrated scenario is written without them.
    #[serde(default)]
    pub set: toml::Table,
}

fn default_replicates() -> u32 {
    4
}
fn default_max_evals() -> u32 {
    200
}
fn default_jacobian_step() -> f64 {
    0.05
}
fn default_tolerance() -> f64 {
    1e-3
}
fn default_simplex() -> f64 {
    0.15
}

/// One or several dotted paths that take one value.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Paths {
    /// One path.
    One(String),
    /// Several paths set to the same value (e.g. every platform's `default_pull`).
    Many(Vec<String>),
}

/// `[[calibrate.param]]` as written.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// Dotted path(s), as in `[[sweep.param]]`.
    pub path: Paths,
    /// `[lo, hi]`.
    pub bounds: Vec<f64>,
    /// Search on a log scale (bounds must then be positive).
    #[serde(default)]
    pub log: bool,
    /// Starting value (default: the scenario's value, else the middle of the box).
    #[serde(default)]
    pub start: Option<f64>,
    /// Column name in outputs (default: the first path with `.` replaced by `__`).
    #[serde(default)]
    pub name: Option<String>,
}

/// A checked free parameter.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Param {
    /// Column name.
    pub name: String,
    /// The paths it sets.
    pub paths: Vec<String>,
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
    /// Log scale.
    pub log: bool,
    /// Starting value.
    pub start: f64,
    /// The key problems with it are reported under (`calibrate.param[i]`).
    pub key: String,
}

impl Param {
    /// The value at box coordinate `u` ∈ [0, 1] (clamped).
    pub fn value(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        // The bounds themselves exactly (exp(ln x) need not give x back).
        if u == 0.0 {
            return self.lo;
        }
        if u == 1.0 {
            return self.hi;
        }
        if self.log {
            (self.lo.ln() + u * (self.hi.ln() - self.lo.ln())).exp()
        } else {
            self.lo + u * (self.hi - self.lo)
        }
    }
    /// The box coordinate of `v`.
    pub fn unit(&self, v: f64) -> f64 {
        if self.log {
            (v.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }
    /// dθ/du at `v`: how much the value moves per box width.
    pub fn width(&self, v: f64) -> f64 {
        if self.log {
            v * (self.hi.ln() - self.lo.ln())
        } else {
            self.hi - self.lo
        }
    }
    /// The settings that put value `v` into a scenario.
    pub fn settings(&self, v: f64) -> Vec<Setting> {
        self.paths
            .iter()
            .map(|p| Setting {
                path: p.clone(),
                value: toml::Value::Float(v),
                key: self.key.clone(),
            })
            .collect()
    }
}

/// What a target measures, per run, over its window.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Measure {
    /// A column's window mean or sum.
    Column(String),
    /// Σ numerator / Σ denominator over the window.
    Ratio(String, String),
    /// Σ part / Σ (sum of the columns) over the window.
    Share(String, Vec<String>),
}

impl Measure {
    /// The columns it reads.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Measure::Column(c) => vec![c],
            Measure::Ratio(a, b) => vec![a, b],
            Measure::Share(a, of) => {
                let mut v = vec![a.as_str()];
                v.extend(of.iter().map(String::as_str));
                v
            }
        }
    }
    /// How it is written in tables, e.g. `wallet_value__alipay / (a + b)`.
    pub fn describe(&self) -> String {
        match self {
            Measure::Column(c) => c.clone(),
            Measure::Ratio(a, b) => format!("{a} / {b}"),
            Measure::Share(a, of) => format!("{a} / ({})", of.join(" + ")),
        }
    }
}

/// A checked target.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Target {
    /// Name.
    pub name: String,
    /// What is measured.
    pub measure: Measure,
    /// First step of the window.
    pub from: u32,
    /// Last step (inclusive).
    pub to: u32,
    /// `mean` or `sum` (columns only).
    pub stat: Stat,
    /// Observed value.
    pub value: f64,
    /// Standard error (1/√weight when a weight is given).
    pub se: f64,
    /// Weight in the objective (1/se² unless given).
    pub weight: f64,
    /// Period of the observation, as written.
    pub period: String,
    /// Source.
    pub source: String,
}

/// `[[targets]]` as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct TargetSpec {
    name: String,
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    ratio: Option<Vec<String>>,
    #[serde(default)]
    share: Option<String>,
    #[serde(default)]
    of: Option<Vec<String>>,
    #[serde(default)]
    period: Option<String>,
    window: WindowSpec,
    value: f64,
    #[serde(default)]
    se: Option<f64>,
    #[serde(default)]
    weight: Option<f64>,
    #[serde(default)]
    se_note: Option<String>,
    source: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct WindowSpec {
    #[serde(default)]
    from: Option<toml::Value>,
    #[serde(default)]
    to: Option<toml::Value>,
    #[serde(default = "mean")]
    stat: String,
}

fn mean() -> String {
    "mean".into()
}

/// A targets file as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct TargetsFile {
    #[serde(default)]
    title: Option<String>,
    /// Facts that are not targets (documentation; not read).
    #[serde(default)]
    facts: Vec<toml::Table>,
    #[serde(default)]
    targets: Vec<TargetSpec>,
    #[serde(default)]
    calibrate: Option<toml::Value>,
}

/// A checked calibration: what is free, what is fitted, and how.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Calibration {
    /// Free parameters.
    pub params: Vec<Param>,
    /// Targets.
    pub targets: Vec<Target>,
    /// Runs per evaluation.
    pub replicates: u32,
    /// The optimiser's budget.
    pub max_evals: u32,
    /// Latin-hypercube points.
    pub lhs: u32,
    /// Jacobian step (box units).
    pub jacobian_step: f64,
    /// Nelder–Mead tolerance.
    pub tolerance: f64,
    /// First simplex size (box units).
    pub simplex: f64,
    /// Fixed settings during the calibration.
    pub fixed: Vec<(String, String)>,
    /// The file `[calibrate]` was read from.
    pub declared_in: String,
    /// The last step any target reads (runs stop there).
    pub last_step: u32,
}

impl Calibration {
    /// The fixed settings as scenario settings.
    pub fn fixed_settings(&self) -> Vec<Setting> {
        self.fixed
            .iter()
            .map(|(p, v)| Setting {
                path: p.clone(),
                value: toml::from_str::<toml::Table>(&format!("v = {v}"))
                    .ok()
                    .and_then(|mut t| t.remove("v"))
                    .unwrap_or(toml::Value::String(v.clone())),
                key: format!("calibrate.set.{p}"),
            })
            .collect()
    }
}

fn parse_error(text: &str, file: &str, e: &toml::de::Error) -> ScenarioError {
    let offset = e.span().map(|s| s.start);
    let message = e.message().trim().replace('\n', "; ");
    let suggestion = message.strip_prefix("unknown field `").and_then(|r| {
        let parts: Vec<&str> = r.split('`').collect();
        let expected: Vec<&str> = parts.iter().skip(2).step_by(2).copied().collect();
        (!expected.is_empty()).then(|| error::suggest(parts[0], expected.iter().copied()))
    });
    ScenarioError {
        file: file.to_string(),
        problems: vec![Problem {
            key: offset
                .and_then(|o| error::key_at(text, o))
                .unwrap_or_default(),
            line: offset.map(|o| error::line_of(text, o)),
            message,
            suggestion,
        }],
    }
}

/// The scenario's value at a dotted path (the §7 default where the file is silent), if it is
/// a number.
fn value_at(source: &ScenarioFile, path: &str) -> Option<f64> {
    let mut t = toml::Value::try_from(source).ok()?;
    let segs: Vec<&str> = path.split('.').collect();
    if ["platforms", "wallets", "ecosystems"].contains(&segs[0]) && segs.len() == 3 {
        let list = match t.get(segs[0]).and_then(|l| l.as_array()) {
            Some(l) if !l.is_empty() => l.clone(),
            _ => match segs[0] {
                "platforms" => toml::Value::try_from(super::resolve::default_platforms()).ok()?,
                "wallets" => toml::Value::try_from(super::resolve::default_wallets()).ok()?,
                _ => toml::Value::try_from(super::resolve::default_ecosystems()).ok()?,
            }
            .as_array()?
            .clone(),
        };
        let e = list
            .iter()
            .find(|e| e.get("name").and_then(|n| n.as_str()) == Some(segs[1]))?;
        return e.get(segs[2]).and_then(number);
    }
    for s in &segs {
        t = t.get(*s)?.clone();
    }
    number(&t)
}

fn number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Float(x) => Some(*x),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

/// Checks `[calibrate]` (from `text`, the file it is written in): bounds, scales, starts,
/// names and settings. Paths are checked when the scenario is built at the start values.
pub fn check_spec(
    value: &toml::Value,
    text: &str,
    file: &str,
    source: &ScenarioFile,
) -> Result<(CalibrateSpec, Vec<Param>), ScenarioError> {
    let spec: CalibrateSpec = value.clone().try_into().map_err(|e: toml::de::Error| {
        let message = e.message().trim().replace('\n', "; ");
        let suggestion = message.strip_prefix("unknown field `").and_then(|r| {
            let parts: Vec<&str> = r.split('`').collect();
            let expected: Vec<&str> = parts.iter().skip(2).step_by(2).copied().collect();
            (!expected.is_empty()).then(|| error::suggest(parts[0], expected.iter().copied()))
        });
        ScenarioError {
            file: file.into(),
            problems: vec![Problem {
                key: "calibrate".into(),
                line: error::locate(text, "calibrate"),
                message,
                suggestion,
            }],
        }
    })?;
    let mut problems = Vec::new();
    let mut bad = |key: String, message: String, suggestion: Option<String>| {
        problems.push(Problem::at(text, key, message, suggestion))
    };
    if spec.param.is_empty() {
        bad(
            "calibrate".into(),
            "no free parameter; expected at least one `[[calibrate.param]]`".into(),
            Some(
                "[[calibrate.param]] path = \"revision.primary_switch\", bounds = [0.0, 1.0]"
                    .into(),
            ),
        );
    }
    if spec.replicates == 0 {
        bad(
            "calibrate.replicates".into(),
            "0; expected at least 1 run per evaluation".into(),
            None,
        );
    }
    let k = spec.param.len() as u32;
    if spec.max_evals < spec.lhs + k + 1 {
        bad(
            "calibrate.max_evals".into(),
            format!(
                "{}; expected at least lhs + parameters + 1 = {} (the first simplex)",
                spec.max_evals,
                spec.lhs + k + 1
            ),
            None,
        );
    }
    for (key, v, lo, hi) in [
        ("calibrate.jacobian_step", spec.jacobian_step, 0.0, 0.5),
        ("calibrate.simplex", spec.simplex, 0.0, 1.0),
    ] {
        if !(v > lo && v <= hi) {
            bad(
                key.into(),
                format!("{v}; expected a fraction of the box in ({lo}, {hi}]"),
                None,
            );
        }
    }
    if !(spec.tolerance >= 0.0 && spec.tolerance.is_finite()) {
        bad(
            "calibrate.tolerance".into(),
            format!("{}; expected a number ≥ 0", spec.tolerance),
            None,
        );
    }
    let mut params: Vec<Param> = Vec::new();
    for (i, p) in spec.param.iter().enumerate() {
        let key = format!("calibrate.param[{i}]");
        let paths = match &p.path {
            Paths::One(s) => vec![s.clone()],
            Paths::Many(v) => v.clone(),
        };
        if paths.is_empty() {
            bad(
                format!("{key}.path"),
                "an empty list; expected a dotted path or a list of them".into(),
                None,
            );
            continue;
        }
        let name = p
            .name
            .clone()
            .unwrap_or_else(|| paths[0].replace('.', "__"));
        if params.iter().any(|q| q.name == name) {
            bad(
                format!("{key}.name"),
                format!("`{name}` is free twice; expected each parameter once"),
                Some("give one of them another `name`".into()),
            );
            continue;
        }
        if p.bounds.len() != 2 {
            bad(
                format!("{key}.bounds"),
                format!("{} values; expected [lo, hi]", p.bounds.len()),
                None,
            );
            continue;
        }
        let (lo, hi) = (p.bounds[0], p.bounds[1]);
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            bad(
                format!("{key}.bounds"),
                format!("[{lo}, {hi}]; expected finite bounds with lo < hi"),
                (lo > hi).then(|| format!("the bounds are reversed: write [{hi}, {lo}]")),
            );
            continue;
        }
        if p.log && !(lo > 0.0) {
            bad(
                format!("{key}.bounds"),
                format!("[{lo}, {hi}] on a log scale; expected lo > 0"),
                Some("use a positive lower bound, or drop `log = true`".into()),
            );
            continue;
        }
        let start = match p.start.or_else(|| value_at(source, &paths[0])) {
            Some(s) if p.start.is_some() && !(s >= lo && s <= hi) => {
                bad(
                    format!("{key}.start"),
                    format!("{s} lies outside the bounds [{lo}, {hi}]"),
                    None,
                );
                continue;
            }
            Some(s) if s >= lo && s <= hi => s,
            // The scenario's value lies outside the box (or there is none): the middle.
            _ => {
                let mid = Param {
                    name: name.clone(),
                    paths: paths.clone(),
                    lo,
                    hi,
                    log: p.log,
                    start: lo,
                    key: key.clone(),
                };
                mid.value(0.5)
            }
        };
        params.push(Param {
            name,
            paths,
            lo,
            hi,
            log: p.log,
            start,
            key,
        });
    }
    if problems.is_empty() {
        Ok((spec, params))
    } else {
        Err(ScenarioError {
            file: file.into(),
            problems,
        })
    }
}

/// Reads and checks a targets file against the scenario it is compared with: every column a
/// target reads must be one of `columns`, every window must lie inside the run.
/// Returns the targets and the file's `[calibrate]`, if any.
pub fn read_targets(
    text: &str,
    file: &str,
    source: &ScenarioFile,
    columns: &[String],
) -> Result<(Vec<Target>, Option<toml::Value>), ScenarioError> {
    let tf: TargetsFile = toml::from_str(text).map_err(|e| parse_error(text, file, &e))?;
    let _ = (&tf.title, &tf.facts);
    let mut problems = Vec::new();
    let mut bad = |key: String, message: String, suggestion: Option<String>| {
        problems.push(Problem::at(text, key, message, suggestion))
    };
    if tf.targets.is_empty() {
        bad(
            "targets".into(),
            "no targets; expected at least one `[[targets]]`".into(),
            None,
        );
    }
    let steps = source.steps;
    let last = steps.saturating_sub(1);
    let start = parse_date(&source.start_date);
    let dps = source.days_per_step.max(1) as i64;
    let run_span = match start {
        Some(s) => format!(
            "steps 0..={last}, {} to {}",
            source.start_date,
            format_date(s + last as i64 * dps)
        ),
        None => format!("steps 0..={last}"),
    };
    let mut out = Vec::new();
    for (i, t) in tf.targets.iter().enumerate() {
        let key = |k: &str| format!("targets[{i}].{k}");
        if tf.targets[..i].iter().any(|u| u.name == t.name) || t.name.is_empty() {
            bad(
                key("name"),
                format!("`{}`; expected a unique, non-empty name", t.name),
                None,
            );
            continue;
        }
        let measure = match (&t.metric, &t.ratio, &t.share, &t.of) {
            (Some(m), None, None, None) => Measure::Column(m.clone()),
            (None, Some(r), None, None) if r.len() == 2 => {
                Measure::Ratio(r[0].clone(), r[1].clone())
            }
            (None, Some(r), None, None) => {
                bad(
                    key("ratio"),
                    format!("{} columns; expected [numerator, denominator]", r.len()),
                    None,
                );
                continue;
            }
            (None, None, Some(s), Some(of)) if !of.is_empty() => {
                Measure::Share(s.clone(), of.clone())
            }
            (None, None, Some(_), _) => {
                bad(
                    key("of"),
                    "missing or empty; expected the columns whose sum the share is of".into(),
                    Some("share = \"wallet_value__alipay\", of = [\"wallet_value__alipay\", \"wallet_value__wechat_pay\"]".into()),
                );
                continue;
            }
            _ => {
                bad(
                    key("metric"),
                    "expected exactly one of `metric` (a column), `ratio` ([numerator, denominator]) or `share` with `of`".into(),
                    Some("metric = \"wallet_share__alipay\"".into()),
                );
                continue;
            }
        };
        let sub = match &measure {
            Measure::Column(_) => "metric",
            Measure::Ratio(..) => "ratio",
            Measure::Share(..) => "share",
        };
        let mut ok = true;
        for c in measure.columns() {
            if !columns.iter().any(|k| k == c) || c == "step" || c == "date" {
                bad(
                    key(sub),
                    format!("`{c}` is not a metric of this scenario; expected a column of steps.parquet"),
                    Some(error::suggest(c, columns.iter().skip(2).map(String::as_str))),
                );
                ok = false;
            }
        }
        let stat = match t.window.stat.as_str() {
            "mean" => Stat::Mean,
            "sum" => Stat::Sum,
            other => {
                bad(
                    key("window.stat"),
                    format!("`{other}`; expected `mean` or `sum`"),
                    Some(error::suggest(other, ["mean", "sum"])),
                );
                continue;
            }
        };
        let mut step_of = |v: &Option<toml::Value>, k: &str, default: u32| -> Option<u32> {
            let s = match v {
                None => return Some(default),
                Some(toml::Value::Integer(s)) => *s,
                Some(toml::Value::String(d)) => match (parse_date(d), start) {
                    (Some(d), Some(s0)) => (d - s0).div_euclid(dps),
                    _ => {
                        bad(
                            key(&format!("window.{k}")),
                            format!("`{d}` is not a date; expected YYYY-MM-DD or a step"),
                            None,
                        );
                        return None;
                    }
                },
                Some(other) => {
                    bad(
                        key(&format!("window.{k}")),
                        format!("{other}; expected a step (whole number) or a date"),
                        None,
                    );
                    return None;
                }
            };
            if s < 0 || s >= steps as i64 {
                bad(
                    key(&format!("window.{k}")),
                    format!("step {s} lies outside the run; expected a step or date inside it ({run_span})"),
                    Some("move the window inside the run, or lengthen the scenario's `steps`".into()),
                );
                return None;
            }
            Some(s as u32)
        };
        let from = step_of(&t.window.from, "from", 0);
        let to = step_of(&t.window.to, "to", last);
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        if from > to {
            bad(
                key("window.to"),
                format!("the window ends (step {to}) before it starts (step {from}); expected from ≤ to"),
                None,
            );
            continue;
        }
        if !t.value.is_finite() {
            bad(
                key("value"),
                format!("{}; expected a number", t.value),
                None,
            );
            continue;
        }
        let (se, weight) = match (t.se, t.weight) {
            (Some(se), None) if se > 0.0 && se.is_finite() => (se, 1.0 / (se * se)),
            (None, Some(w)) if w > 0.0 && w.is_finite() => (1.0 / w.sqrt(), w),
            (Some(se), None) => {
                bad(
                    key("se"),
                    format!("{se}; expected a standard error > 0"),
                    None,
                );
                continue;
            }
            (None, Some(w)) => {
                bad(key("weight"), format!("{w}; expected a weight > 0"), None);
                continue;
            }
            _ => {
                bad(
                    key("se"),
                    "expected exactly one of `se` (a standard error) or `weight` (1/se²)".into(),
                    None,
                );
                continue;
            }
        };
        let _ = &t.se_note;
        if ok {
            out.push(Target {
                name: t.name.clone(),
                measure,
                from,
                to,
                stat,
                value: t.value,
                se,
                weight,
                period: t.period.clone().unwrap_or_default(),
                source: t.source.clone(),
            });
        }
    }
    if problems.is_empty() {
        Ok((out, tf.calibrate))
    } else {
        Err(ScenarioError {
            file: file.into(),
            problems,
        })
    }
}

/// One run's value of a target: looks columns up by name with `column`, then takes the
/// window statistic (columns) or the ratio of window sums (ratios, shares), summing in step
/// order. NaN when a value in the window is NaN or a denominator is zero.
pub fn target_value<'a>(t: &Target, column: impl Fn(&str) -> Option<&'a [f64]>) -> f64 {
    let (a, b) = (t.from as usize, t.to as usize);
    let sum = |name: &str| -> f64 {
        match column(name) {
            Some(v) if b < v.len() => {
                let mut s = 0.0;
                for &x in &v[a..=b] {
                    s += x;
                }
                s
            }
            _ => f64::NAN,
        }
    };
    match &t.measure {
        Measure::Column(c) => {
            let s = sum(c);
            match t.stat {
                Stat::Mean => s / (b - a + 1) as f64,
                Stat::Sum => s,
            }
        }
        Measure::Ratio(n, d) => sum(n) / sum(d),
        Measure::Share(p, of) => {
            let mut den = 0.0;
            for c in of {
                den += sum(c);
            }
            sum(p) / den
        }
    }
}

/// Writes `values[j]` at every path of `params[j]` into a scenario's text, keeping its
/// comments and layout: existing keys are replaced, missing ones added to their table (a
/// named entity `platforms.<name>.<key>` must be listed in the file). Prepends `header`
/// (comment lines).
pub fn write_values(
    text: &str,
    params: &[Param],
    values: &[f64],
    header: &str,
) -> Result<String, String> {
    use toml_edit::{DocumentMut, Item, Table};
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("not valid TOML: {e}"))?;
    for (p, &v) in params.iter().zip(values) {
        for path in &p.paths {
            let segs: Vec<&str> = path.split('.').collect();
            if ["platforms", "wallets", "ecosystems"].contains(&segs[0]) && segs.len() == 3 {
                let list = doc
                    .get_mut(segs[0])
                    .and_then(Item::as_array_of_tables_mut)
                    .ok_or_else(|| {
                        format!("`{path}`: the file does not list its `[[{}]]`", segs[0])
                    })?;
                let entry = list
                    .iter_mut()
                    .find(|t| t.get("name").and_then(|n| n.as_str()) == Some(segs[1]))
                    .ok_or_else(|| format!("`{path}`: no `[[{}]]` named `{}`", segs[0], segs[1]))?;
                set_keep_decor(entry, segs[2], v);
                continue;
            }
            if segs[0] == "events" {
                return Err(format!("`{path}`: event fields are not written back"));
            }
            let mut cur: &mut Table = doc.as_table_mut();
            for s in &segs[..segs.len() - 1] {
                if !cur.contains_key(s) {
                    let mut t = Table::new();
                    t.set_implicit(false);
                    cur.insert(s, Item::Table(t));
                }
                cur = cur
                    .get_mut(s)
                    .and_then(Item::as_table_mut)
                    .ok_or_else(|| format!("`{path}`: `{s}` is not a table"))?;
            }
            set_keep_decor(cur, segs[segs.len() - 1], v);
        }
    }
    Ok(format!("{header}{doc}"))
}

/// Sets a float key, keeping the comment after the old value (`x = 0.2   # assumption`).
fn set_keep_decor(t: &mut toml_edit::Table, key: &str, v: f64) {
    let mut new = toml_edit::Value::from(v);
    if let Some(old) = t.get(key).and_then(|i| i.as_value()) {
        let d = old.decor().clone();
        *new.decor_mut() = d;
    }
    t.insert(key, toml_edit::Item::Value(new));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_coordinates_round_trip() {
        let p = Param {
            name: "x".into(),
            paths: vec!["revision.wallet_scale".into()],
            lo: 0.01,
            hi: 1.0,
            log: true,
            start: 0.1,
            key: "calibrate.param[0]".into(),
        };
        assert!((p.value(p.unit(0.1)) - 0.1).abs() < 1e-12);
        assert!((p.value(0.5) - 0.1).abs() < 1e-12);
        assert_eq!(p.value(-1.0), 0.01);
    }

    #[test]
    fn written_values_keep_comments() {
        let text = "# head\n[revision]\nprimary_switch = 0.2   # assumption\n\n[[platforms]]\nname = \"taobao\"\ndefault_pull = 0.9\n";
        let ps = vec![
            Param {
                name: "a".into(),
                paths: vec!["revision.primary_switch".into()],
                lo: 0.0,
                hi: 1.0,
                log: false,
                start: 0.2,
                key: String::new(),
            },
            Param {
                name: "b".into(),
                paths: vec![
                    "platforms.taobao.default_pull".into(),
                    "links.share_prob".into(),
                ],
                lo: 0.0,
                hi: 1.0,
                log: false,
                start: 0.2,
                key: String::new(),
            },
        ];
        let out = write_values(text, &ps, &[0.35, 0.5], "# fitted\n").unwrap();
        assert!(out.starts_with("# fitted\n# head\n"), "{out}");
        assert!(
            out.contains("primary_switch = 0.35   # assumption"),
            "{out}"
        );
        assert!(out.contains("default_pull = 0.5"), "{out}");
        assert!(out.contains("[links]\nshare_prob = 0.5"), "{out}");
        let t: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(t["revision"]["primary_switch"].as_float(), Some(0.35));
    }
}
