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

/// Writes a file through `write(temp_path)` and renames it into place.
pub fn write_with<F>(path: &Path, write: F) -> anyhow::Result<()>
where
    F: FnOnce(&Path) -> anyhow::Result<()>,
{
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    let tmp = temp_path(path);
    match write(&tmp) {
        Ok(()) => {
            // Flush to disk before the rename makes it visible.
            if let Ok(f) = std::fs::File::open(&tmp) {
                let _ = f.sync_all();
            }
            std::fs::rename(&tmp, path)?;
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Writes bytes atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_with(path, |tmp| Ok(std::fs::write(tmp, bytes)?))
}
