//! Repository rules, checked as tests (in the spirit of rust-analyzer's `xtask/src/tidy.rs`):
//! the crates depend only on crates to their left, the library crates do not print or pull
//! in terminal and command-line crates, every `unsafe` says why it is sound, and no
//! `unwrap()` is left outside tests.

use std::path::{Path, PathBuf};

/// The library crates, left to right: each may depend only on crates before it.
const LAYERS: [&str; 5] = ["core", "io", "charts", "experiment", "check"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The `[dependencies]` table's keys of a crate's manifest.
fn dependencies(krate: &str) -> Vec<String> {
    let text = read(&root().join("crates").join(krate).join("Cargo.toml"));
    let doc: toml::Table = text.parse().expect("Cargo.toml parses");
    doc.get("dependencies")
        .and_then(|d| d.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable source folder") {
            let p = e.expect("directory entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The source files of the library crates and of the binary.
fn sources() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = LAYERS
        .iter()
        .flat_map(|c| rust_files(&root().join("crates").join(c).join("src")))
        .collect();
    files.extend(rust_files(&root().join("src")));
    // A `tests.rs` is a test module in its own file (`#[cfg(test)] mod tests;`).
    files.retain(|f| f.file_name().is_none_or(|n| n != "tests.rs"));
    files
}

/// The lines of a file before its `#[cfg(test)]` module (test code may unwrap and print).
fn non_test_lines(text: &str) -> Vec<(usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .map(|(i, l)| (i + 1, l))
        .collect()
}

#[test]
fn no_crate_depends_on_one_to_its_right() {
    let mut bad = Vec::new();
    for (k, krate) in LAYERS.iter().enumerate() {
        for dep in dependencies(krate) {
            if let Some(name) = dep.strip_prefix("gardengate-") {
                match LAYERS.iter().position(|c| *c == name) {
                    Some(j) if j < k => {}
                    _ => bad.push(format!("gardengate-{krate} depends on {dep}")),
                }
            }
        }
    }
    assert!(bad.is_empty(), "layering broken:\n{}", bad.join("\n"));
}

#[test]
fn the_library_crates_leave_the_terminal_to_the_binary() {
    let mut bad = Vec::new();
    for krate in LAYERS {
        for dep in dependencies(krate) {
            if ["clap", "indicatif"].contains(&dep.as_str())
                || (krate == "core" && dep == "plotters")
            {
                bad.push(format!("gardengate-{krate} depends on {dep}"));
            }
        }
        for f in rust_files(&root().join("crates").join(krate).join("src")) {
            for (n, line) in non_test_lines(&read(&f)) {
                let code = line.split("//").next().unwrap_or("");
                if code.contains("println!")
                    || code.contains("eprintln!")
                    || code.contains("print!(")
                {
                    bad.push(format!("{}:{n}: prints: {}", f.display(), line.trim()));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_engine_reads_no_files() {
    let mut bad = Vec::new();
    for dir in ["engine", "model"] {
        for f in rust_files(&root().join("crates/core/src").join(dir)) {
            for (n, line) in non_test_lines(&read(&f)) {
                let code = line.split("//").next().unwrap_or("");
                if code.contains("std::fs")
                    || code.contains("File::open")
                    || code.contains("edges::read")
                {
                    bad.push(format!("{}:{n}: {}", f.display(), line.trim()));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "file I/O in the engine:\n{}",
        bad.join("\n")
    );
}

#[test]
fn every_unsafe_says_why_it_is_sound() {
    let mut bad = Vec::new();
    for f in sources() {
        let text = read(&f);
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let words: Vec<&str> = code
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .collect();
            if !words.contains(&"unsafe") {
                continue;
            }
            // The justification: a `SAFETY:` comment (for a block or impl) or a `# Safety`
            // section (for an unsafe fn) just above, or on the same line.
            let above = &lines[i.saturating_sub(8)..=i];
            if !above
                .iter()
                .any(|l| l.contains("SAFETY:") || l.contains("# Safety"))
            {
                bad.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "unsafe without a SAFETY comment:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_unwrap_outside_tests() {
    let mut bad = Vec::new();
    for f in sources() {
        for (n, line) in non_test_lines(&read(&f)) {
            let code = line.split("//").next().unwrap_or("");
            if code.contains(".unwrap()") {
                bad.push(format!("{}:{n}: {}", f.display(), line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "unwrap() outside tests (use `?` with an error, or `expect(\"the invariant\")`):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_readme_library_example_is_the_doc_tested_one() {
    let readme = read(&root().join("README.md"));
    let start = readme.find("```rust\n").expect("README has a rust example") + 8;
    let end = start + readme[start..].find("```").expect("the example ends");
    let example: Vec<&str> = readme[start..end].lines().collect();
    let doc: Vec<String> = read(&root().join("src/lib.rs"))
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l).to_string())
        .collect();
    let found = doc.windows(example.len()).any(|w| {
        w.iter()
            .zip(&example)
            .all(|(a, b)| a.trim_end() == b.trim_end())
    });
    assert!(
        found,
        "README's library example differs from src/lib.rs's doc test"
    );
    assert!(example.len() < 15, "the example should stay under 15 lines");
}
