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

impl Problem {
    /// A problem at `key`, located on its line in `text` (the file's text).
    pub fn at(text: &str, key: String, message: String, suggestion: Option<String>) -> Problem {
        Problem {
            line: locate(text, &key),
            key,
            message,
            suggestion,
        }
    }
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
        // A last "and N more problems" entry (see `scenario::MAX_PROBLEMS`) counts N.
        let more = self
            .problems
            .last()
            .filter(|p| p.key.is_empty())
            .and_then(|p| p.message.strip_prefix("and "))
            .and_then(|m| m.split(' ').next())
            .and_then(|n| n.parse::<usize>().ok())
            .map_or(0, |n| n.saturating_sub(1));
        let n = self.problems.len() + more;
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

/// [`locate`] for many keys of one text: the document is parsed once (on first use) and
/// lines are found by binary search, so locating P problems costs O(text + P·depth), not
/// O(P·text).
pub struct Locator<'a> {
    text: &'a str,
    doc: std::cell::OnceCell<Option<toml_edit::ImDocument<&'a str>>>,
    newlines: std::cell::OnceCell<Vec<usize>>,
}

impl<'a> Locator<'a> {
    /// A locator over `text`.
    pub fn new(text: &'a str) -> Self {
        Locator {
            text,
            doc: Default::default(),
            newlines: Default::default(),
        }
    }

    /// The line of `key`, as [`locate`] finds it.
    pub fn locate(&self, key: &str) -> Option<usize> {
        let doc = self
            .doc
            .get_or_init(|| toml_edit::ImDocument::parse(self.text).ok())
            .as_ref()?;
        let mut best = None;
        walk(doc.as_item(), &split_key(key), &mut best);
        let nl = self.newlines.get_or_init(|| {
            self.text
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect()
        });
        best.map(|b| nl.partition_point(|&i| i < b) + 1)
    }
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

/// The dotted key (with `[i]` indices into arrays) written at a byte offset of a TOML text:
/// the innermost `key = value`, inline table entry or `[table]` header whose span holds the
/// offset. `None` when the text does not parse as TOML or nothing holds the offset.
pub fn key_at(text: &str, offset: usize) -> Option<String> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut best: Option<(usize, String)> = None;
    find_item(doc.as_item(), "", offset, &mut best);
    best.map(|(_, k)| k)
}

/// Keeps `path` when `span` holds `offset` and is narrower than the best so far.
fn consider(
    span: Option<std::ops::Range<usize>>,
    path: &str,
    offset: usize,
    best: &mut Option<(usize, String)>,
) {
    if let Some(s) = span {
        let holds = s.contains(&offset) || (s.is_empty() && s.start == offset);
        if holds && !path.is_empty() && best.as_ref().is_none_or(|(len, _)| s.len() <= *len) {
            *best = Some((s.len(), path.to_string()));
        }
    }
}

fn join_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn find_item(
    item: &toml_edit::Item,
    path: &str,
    offset: usize,
    best: &mut Option<(usize, String)>,
) {
    use toml_edit::Item;
    match item {
        Item::Table(t) => {
            consider(t.span(), path, offset, best);
            for (k, child) in t.iter() {
                let child_path = join_key(path, k);
                match child {
                    Item::Value(v) => {
                        let start = t.key(k).and_then(|k| k.span()).or_else(|| v.span());
                        let span = start
                            .zip(v.span())
                            .map(|(a, b)| a.start.min(b.start)..b.end);
                        consider(span, &child_path, offset, best);
                        find_value(v, &child_path, offset, best);
                    }
                    _ => find_item(child, &child_path, offset, best),
                }
            }
        }
        Item::ArrayOfTables(a) => {
            for (i, t) in a.iter().enumerate() {
                find_item(
                    &Item::Table(t.clone()),
                    &format!("{path}[{i}]"),
                    offset,
                    best,
                );
            }
        }
        Item::Value(v) => find_value(v, path, offset, best),
        Item::None => {}
    }
}

fn find_value(v: &toml_edit::Value, path: &str, offset: usize, best: &mut Option<(usize, String)>) {
    use toml_edit::Value;
    match v {
        Value::InlineTable(t) => {
            for (k, child) in t.iter() {
                let child_path = join_key(path, k);
                let start = t.key(k).and_then(|k| k.span()).or_else(|| child.span());
                let span = start
                    .zip(child.span())
                    .map(|(a, b)| a.start.min(b.start)..b.end);
                consider(span, &child_path, offset, best);
                find_value(child, &child_path, offset, best);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let child_path = format!("{path}[{i}]");
                consider(child.span(), &child_path, offset, best);
                find_value(child, &child_path, offset, best);
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
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
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
        let loc = Locator::new(text);
        for key in [
            "seed",
            "consumers.loyalty",
            "platforms[1].commission",
            "platforms[1]",
        ] {
            assert_eq!(loc.locate(key), locate(text, key), "{key}");
        }
    }

    #[test]
    fn suggests_nearest_name() {
        assert_eq!(
            nearest("alipy", ["alipay", "wechat_pay"]),
            Some("alipay".into())
        );
        assert_eq!(nearest("zzz", ["alipay", "wechat_pay"]), None);
    }
}
