//! Scenario errors that point at the file, line and key, say what was expected and suggest a fix.

use std::fmt;

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Dotted key, e.g. `platforms[2].commission` (empty for a syntax error).
    pub key: String,
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// What is wrong and what was expected.
    pub message: String,
    /// A suggestion, e.g. the nearest valid name.
    pub suggestion: Option<String>,
}

/// Every problem found in one scenario file.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioError {
    /// The file as given on the command line.
    pub file: String,
    /// The problems, in file order where known.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "{} problem{} in scenario {}:",
            n,
            if n == 1 { "" } else { "s" },
            self.file
        )?;
        for p in &self.problems {
            let line = p.line.map(|l| format!(":{l}")).unwrap_or_default();
            if p.key.is_empty() {
                writeln!(f, "  {}{}: {}", self.file, line, p.message)?;
            } else {
                writeln!(f, "  {}{}: key `{}`: {}", self.file, line, p.key, p.message)?;
            }
            if let Some(s) = &p.suggestion {
                writeln!(f, "    help: {s}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// The name in `candidates` closest to `name`, if any is close enough to be a plausible typo.
pub fn nearest<'a, I: IntoIterator<Item = &'a str>>(name: &str, candidates: I) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&name.to_lowercase(), &c.to_lowercase());
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.filter(|(s, _)| *s >= 0.7).map(|(_, c)| c.to_string())
}

/// "did you mean `x`?" for the nearest candidate, else a list of the valid names.
pub fn suggest<'a, I: IntoIterator<Item = &'a str> + Clone>(name: &str, candidates: I) -> String {
    match nearest(name, candidates.clone()) {
        Some(c) => format!("did you mean `{c}`?"),
        None => {
            let all: Vec<String> = candidates.into_iter().map(|c| format!("`{c}`")).collect();
            format!("valid names: {}", all.join(", "))
        }
    }
}

/// Finds the line of a dotted key path in TOML text. Path segments are table keys, or
/// `[i]` indices into arrays. Falls back to the deepest part of the path found.
pub fn locate(text: &str, key: &str) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut best = None;
    walk(doc.as_item(), &split_key(key), &mut best);
    best.map(|b| line_of(text, b))
}

fn walk(item: &toml_edit::Item, segs: &[Seg], best: &mut Option<usize>) {
    use toml_edit::{Item, Value};
    let Some((seg, rest)) = segs.split_first() else {
        return;
    };
    let mut mark = |span: Option<std::ops::Range<usize>>| {
        if let Some(s) = span {
            *best = Some(s.start);
        }
    };
    match (seg, item) {
        (Seg::Key(k), Item::Table(t)) => {
            mark(t.key(k).and_then(|k| k.span()));
            if let Some(i) = t.get(k) {
                walk(i, rest, best);
            }
        }
        (Seg::Key(k), Item::Value(Value::InlineTable(t))) => {
            mark(t.key(k).and_then(|k| k.span()));
            if let Some(v) = t.get(k) {
                walk(&Item::Value(v.clone()), rest, best);
            }
        }
        (Seg::Index(i), Item::ArrayOfTables(a)) => {
            if let Some(t) = a.get(*i) {
                mark(t.span());
                walk(&Item::Table(t.clone()), rest, best);
            }
        }
        (Seg::Index(i), Item::Value(Value::Array(a))) => {
            if let Some(v) = a.get(*i) {
                mark(v.span());
                walk(&Item::Value(v.clone()), rest, best);
            }
        }
        _ => {}
    }
}

enum Seg {
    Key(String),
    Index(usize),
}

fn split_key(key: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in key.split('.') {
        let mut rest = part;
        if let Some(b) = rest.find('[') {
            if b > 0 {
                out.push(Seg::Key(rest[..b].to_string()));
            }
            rest = &rest[b..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let end = stripped.find(']').unwrap_or(stripped.len());
                if let Ok(i) = stripped[..end].parse() {
                    out.push(Seg::Index(i));
                }
                rest = stripped.get(end + 1..).unwrap_or("");
            }
        } else if !rest.is_empty() {
            out.push(Seg::Key(rest.to_string()));
        }
    }
    out
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys() {
        let text = "seed = 1\n[consumers]\ncount = 5\nloyalty = 2\n\n[[platforms]]\nname = \"a\"\n\n[[platforms]]\nname = \"b\"\ncommission = 3\n";
        assert_eq!(locate(text, "seed"), Some(1));
        assert_eq!(locate(text, "consumers.loyalty"), Some(4));
        assert_eq!(locate(text, "platforms[1].commission"), Some(11));
        assert_eq!(locate(text, "platforms[1]"), Some(9));
        assert_eq!(locate(text, "consumers.missing"), Some(2));
    }

    #[test]
    fn suggests_nearest_name() {
        assert_eq!(nearest("alipy", ["alipay", "wechat_pay"]), Some("alipay".into()));
        assert_eq!(nearest("zzz", ["alipay", "wechat_pay"]), None);
    }
}
