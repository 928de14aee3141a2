//! Edge-list files (`graph.generator = "edge_list"`): the format, and reading it with errors
//! that name the file, the line and what was expected. Read once at load time (to validate
//! and hash it) and again when a run builds its graph.
//!
//! Format (docs/MODEL.md, "Edge lists"):
//! - **Parquet** (`.parquet`): integer columns named `source` and `target` (Int8…Int64 or
//!   UInt8…UInt64; other columns are ignored); no nulls; ids in 0..2³².
//! - **CSV/text** (anything else): UTF-8, an optional byte-order mark, lines ending in LF,
//!   CRLF or CR; one edge per line as two non-negative integers separated by a comma, tab,
//!   semicolon or spaces; `#` starts a comment; blank lines are skipped. The first content
//!   line may be a header of two names (each a letter followed by letters, digits or `_`,
//!   e.g. `source,target`); any other line that is not two ids is an error.
//! - At least one edge.

use std::path::Path;

/// An edge `(source, target, line or row)` as read from the file.
pub type Edge = (u32, u32, usize);

/// What validation learns about an edge-list file.
#[derive(Clone, Debug)]
pub struct EdgeFile {
    /// Number of edges (lines or rows).
    pub edges: usize,
    /// Largest node id, and the line or row where it first appears.
    pub max_id: (u32, usize),
    /// SHA-256 of the file's bytes (hex), for the scenario identity.
    pub sha256: String,
}

/// Reads, checks and hashes an edge-list file.
pub fn inspect(path: &Path) -> Result<EdgeFile, String> {
    let bytes = read_bytes(path)?;
    let pairs = parse(path, &bytes)?;
    let mut max_id = (0u32, 0usize);
    for &(a, b, line) in &pairs {
        let m = a.max(b);
        if m > max_id.0 || max_id.1 == 0 {
            max_id = (m, line);
        }
    }
    use sha2::Digest;
    Ok(EdgeFile {
        edges: pairs.len(),
        max_id,
        sha256: sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    })
}

/// Reads the edges of a file.
pub fn read(path: &Path) -> Result<Vec<Edge>, String> {
    parse(path, &read_bytes(path)?)
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| {
        if std::fs::symlink_metadata(path).is_ok() {
            format!(
                "{}: a symbolic link whose target cannot be read: {e}",
                path.display()
            )
        } else {
            format!("{}: cannot read the edge list: {e}", path.display())
        }
    })?;
    if !meta.is_file() {
        return Err(format!(
            "{}: {}, not a regular file; expected an edge-list file",
            path.display(),
            file_kind(&meta)
        ));
    }
    std::fs::read(path).map_err(|e| format!("{}: cannot read the edge list: {e}", path.display()))
}

/// What a non-regular file is, in words.
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<Edge>, String> {
    let is_parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let pairs = if is_parquet {
        parse_parquet(path, bytes)?
    } else {
        parse_text(path, bytes)?
    };
    if pairs.is_empty() {
        return Err(format!(
            "{}: no edges; expected at least one `source,target` pair",
            path.display()
        ));
    }
    Ok(pairs)
}

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic())
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

fn parse_text(path: &Path, bytes: &[u8]) -> Result<Vec<Edge>, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        format!(
            "{}:{line}: not UTF-8 text (invalid byte at offset {}); expected a CSV of `source,target` ids, or a .parquet file",
            path.display(),
            e.valid_up_to()
        )
    })?;
    let mut out = Vec::new();
    let mut seen_content = false;
    // LF, CRLF and lone CR all end a line.
    let lines = text.split('\n').flat_map(|l| {
        let l = l.strip_suffix('\r').unwrap_or(l);
        l.split('\r')
    });
    for (k, raw) in lines.enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let first = !seen_content;
        seen_content = true;
        let fields: Vec<&str> = line
            .split([',', '\t', ' ', ';'])
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .collect();
        let id = |f: &str| {
            (!f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
                .then(|| f.parse::<u32>().ok())
                .flatten()
        };
        if fields.len() == 2 {
            if let (Some(a), Some(b)) = (id(fields[0]), id(fields[1])) {
                out.push((a, b, k + 1));
                continue;
            }
            if first && is_name(fields[0]) && is_name(fields[1]) {
                continue; // header
            }
        }
        let shown: String = raw.trim().chars().take(80).collect();
        return Err(format!(
            "{}:{}: expected two node ids (integers from 0 to 4294967295) separated by a comma, found `{shown}`{}",
            path.display(),
            k + 1,
            if first {
                " (a header must be two names, e.g. `source,target`)"
            } else {
                ""
            }
        ));
    }
    Ok(out)
}

fn parse_parquet(path: &Path, bytes: &[u8]) -> Result<Vec<Edge>, String> {
    use polars::prelude::*;
    let shown = path.display();
    let mut reader = ParquetReader::new(std::io::Cursor::new(bytes));
    let schema = reader
        .schema()
        .map_err(|e| format!("{shown}: not a readable Parquet file: {e}"))?;
    for name in ["source", "target"] {
        let Some(field) = schema.get(name) else {
            let have: Vec<String> = schema.iter_names().map(|n| format!("`{n}`")).collect();
            return Err(format!(
                "{shown}: no column `{name}`; expected integer columns `source` and `target` (found {})",
                if have.is_empty() { "none".to_string() } else { have.join(", ") }
            ));
        };
        use polars::prelude::ArrowDataType as A;
        let ok = matches!(
            field.dtype,
            A::Int8 | A::Int16 | A::Int32 | A::Int64 | A::UInt8 | A::UInt16 | A::UInt32 | A::UInt64
        );
        if !ok {
            return Err(format!(
                "{shown}: column `{name}` has type {:?}; expected an integer type (Int8…Int64 or UInt8…UInt64)",
                field.dtype
            ));
        }
    }
    let df = reader
        .with_columns(Some(vec!["source".into(), "target".into()]))
        .finish()
        .map_err(|e| format!("{shown}: not a readable Parquet file: {e}"))?;
    let col = |name: &str| -> Result<Vec<Option<i64>>, String> {
        let s = df
            .column(name)
            .map_err(|e| format!("{shown}: {e}"))?
            .as_materialized_series()
            .cast(&DataType::Int64)
            .map_err(|e| format!("{shown}: column `{name}`: {e}"))?;
        Ok(s.i64()
            .map_err(|e| format!("{shown}: column `{name}`: {e}"))?
            .iter()
            .collect())
    };
    let (a, b) = (col("source")?, col("target")?);
    let mut out = Vec::with_capacity(a.len());
    let range = 0..=u32::MAX as i64;
    for (row, (x, y)) in a.into_iter().zip(b).enumerate() {
        match (x, y) {
            (Some(x), Some(y)) if range.contains(&x) && range.contains(&y) => {
                out.push((x as u32, y as u32, row + 1))
            }
            _ => {
                return Err(format!(
                "{shown}: row {}: source {} target {}; expected two node ids from 0 to 4294967295",
                row + 1,
                x.map_or("null".to_string(), |v| v.to_string()),
                y.map_or("null".to_string(), |v| v.to_string()),
            ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(name: &str, bytes: &[u8]) -> Result<Vec<(u32, u32)>, String> {
        parse(Path::new(name), bytes).map(|v| v.into_iter().map(|(a, b, _)| (a, b)).collect())
    }

    #[test]
    fn bom_and_line_endings_are_accepted() {
        let want = vec![(0, 1), (1, 2)];
        assert_eq!(parse_str("e.csv", b"\xEF\xBB\xBF0,1\n1,2\n").unwrap(), want);
        assert_eq!(parse_str("e.csv", b"0,1\r\n1,2\r\n").unwrap(), want);
        assert_eq!(parse_str("e.csv", b"0,1\r1,2\r").unwrap(), want);
        assert_eq!(
            parse_str("e.csv", b"\xEF\xBB\xBFsource,target\r0,1\r1,2").unwrap(),
            want
        );
    }

    #[test]
    fn a_bad_first_line_is_not_a_header() {
        for first in ["-1,5", "x,1", "1.5,2", "7", "1,2,3", "source"] {
            let text = format!("{first}\n0,1\n");
            let e = parse_str("e.csv", text.as_bytes()).unwrap_err();
            assert!(e.contains("e.csv:1:"), "{first}: {e}");
        }
        assert_eq!(
            parse_str("e.csv", b"# c\n\nfrom_id,to_id\n3,4\n").unwrap(),
            vec![(3, 4)]
        );
        let e = parse_str("e.csv", b"0,1\nsource,target\n").unwrap_err();
        assert!(e.contains("e.csv:2:"), "{e}");
    }

    #[test]
    fn empty_and_non_utf8_files_are_refused() {
        for text in [&b""[..], b"source,target\n", b"# only\n\n", b"\xEF\xBB\xBF"] {
            let e = parse_str("e.csv", text).unwrap_err();
            assert!(e.contains("no edges"), "{e}");
        }
        let e = parse_str("e.csv", b"0,1\n1,\xff\n").unwrap_err();
        assert!(e.contains("e.csv:2") && e.contains("UTF-8"), "{e}");
        let e = parse_str("e.csv", b"0,4294967296\n").unwrap_err();
        assert!(e.contains("e.csv:1"), "{e}");
    }

    fn parquet(df: &mut polars::prelude::DataFrame) -> Vec<u8> {
        use polars::prelude::*;
        let mut buf = Vec::new();
        ParquetWriter::new(&mut buf).finish(df).unwrap();
        buf
    }

    #[test]
    fn parquet_columns_are_taken_by_name_and_must_be_integers() {
        use polars::prelude::*;
        // A float column placed first is not taken as the source ids.
        let mut df =
            df!("w" => [0.5f64, 1.5], "target" => [1u32, 2], "source" => [0i64, 1]).unwrap();
        assert_eq!(
            parse_str("e.parquet", &parquet(&mut df)).unwrap(),
            vec![(0, 1), (1, 2)]
        );
        let mut df = df!("source" => [0.0f64, 1.9], "target" => [1u32, 2]).unwrap();
        let e = parse_str("e.parquet", &parquet(&mut df)).unwrap_err();
        assert!(e.contains("`source`") && e.contains("integer"), "{e}");
        let mut df = df!("source" => [true, false], "target" => [1u32, 2]).unwrap();
        let e = parse_str("e.parquet", &parquet(&mut df)).unwrap_err();
        assert!(e.contains("integer"), "{e}");
        let mut df = df!("a" => [0u32], "b" => [1u32]).unwrap();
        let e = parse_str("e.parquet", &parquet(&mut df)).unwrap_err();
        assert!(e.contains("no column `source`"), "{e}");
        let mut df = df!("source" => [0i64, -1], "target" => [1i64, 2]).unwrap();
        let e = parse_str("e.parquet", &parquet(&mut df)).unwrap_err();
        assert!(e.contains("row 2"), "{e}");
        let mut df = df!("source" => Vec::<u32>::new(), "target" => Vec::<u32>::new()).unwrap();
        let e = parse_str("e.parquet", &parquet(&mut df)).unwrap_err();
        assert!(e.contains("no edges"), "{e}");
        let e = parse_str("e.parquet", b"not parquet").unwrap_err();
        assert!(e.contains("not a readable Parquet"), "{e}");
    }

    /// A Decimal column (polars is built without Decimal support) is refused by the schema
    /// check with a message, in either column position, instead of panicking in the reader.
    #[test]
    fn decimal_columns_are_refused_without_a_panic() {
        for f in ["decimal-edges.parquet", "decimal-edges-second.parquet"] {
            let p = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/data")
                .join(f);
            let e = read(&p).unwrap_err();
            assert!(e.contains("`source`") && e.contains("integer"), "{f}: {e}");
        }
    }

    #[test]
    fn directories_and_fifos_say_what_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let e = read(dir.path()).unwrap_err();
        assert!(e.contains("a directory"), "{e}");
        let link = dir.path().join("dangling.csv");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
        let e = read(&link).unwrap_err();
        assert!(e.contains("symbolic link"), "{e}");
    }
}
