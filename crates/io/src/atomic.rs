//! Atomic writes: a result file is either absent or complete, never half-written.

use std::path::{Path, PathBuf};

/// A temporary path beside `path`, in the same folder (so the rename is atomic), keeping
/// the extension so that writers that choose a format by extension still work.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp{ext}", std::process::id()))
}

/// Writes a file through `write(temp_path)` and renames it into place. Every error names the
/// file and what was being done ("writing runs/run-000007.parquet: No space left on device").
pub fn write_with<F>(path: &Path, write: F) -> crate::Result<()>
where
    F: FnOnce(&Path) -> crate::Result<()>,
{
    use crate::Context;
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating folder {}", dir.display()))?;
        }
    }
    let tmp = temp_path(path);
    let result = write(&tmp)
        .and_then(|()| {
            // Flush to disk before the rename makes it visible: a failed flush (disk full,
            // quota) is an error, not a half-written result.
            std::fs::File::open(&tmp)?.sync_all()?;
            Ok(())
        })
        .with_context(|| format!("writing {}", path.display()))
        .and_then(|()| {
            std::fs::rename(&tmp, path)
                .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes bytes atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    write_with(path, |tmp| Ok(std::fs::write(tmp, bytes)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_and_the_action() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("runs");
        std::fs::write(&blocker, "a file where a folder should be").unwrap();
        let target = blocker.join("run-000007.parquet");
        let e = format!("{:#}", write_bytes(&target, b"x").unwrap_err());
        assert!(e.contains("creating folder") && e.contains("runs"), "{e}");
        let e = format!(
            "{:#}",
            write_with(&dir.path().join("x.parquet"), |_| Err(crate::err!(
                "Invalid thrift: transport error"
            )))
            .unwrap_err()
        );
        assert!(e.starts_with("writing ") && e.contains("x.parquet"), "{e}");
        assert!(
            std::fs::read_dir(dir.path()).unwrap().count() == 1,
            "no temp file is left behind"
        );
    }
}
