//! Atomic writes: a result file is either absent or complete, never half-written.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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

/// A result file written in pieces (a table streamed batch by batch): the pieces go to a
/// temporary file beside it, which [`Staged::commit`] flushes and renames into place. Dropped
/// without a commit (an error, a panic), the temporary file is removed: the result is either
/// absent or complete.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    tmp: PathBuf,
    file: StagedFile,
    done: bool,
}

/// The buffered temporary file of a [`Staged`] result, for a writer that takes its output by
/// value (polars' batched writers). The [`Staged`] keeps a handle to the same buffer, so that
/// its commit flushes the buffer and sees a failed flush (a full disk) as an error, where a
/// `BufWriter` dropped inside the writer would lose it.
#[derive(Debug, Clone)]
pub struct StagedFile(Arc<Mutex<BufWriter<File>>>);

impl Write for StagedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lock()?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.lock()?.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.lock()?.flush()
    }
}

impl StagedFile {
    fn lock(&self) -> std::io::Result<std::sync::MutexGuard<'_, BufWriter<File>>> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("a thread writing this file panicked"))
    }
}

impl Staged {
    /// Creates the temporary file for `path` (and `path`'s folder), and the buffered handle
    /// to write it through.
    pub fn create(path: &Path) -> crate::Result<(Staged, StagedFile)> {
        use crate::Context;
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating folder {}", dir.display()))?;
            }
        }
        let tmp = temp_path(path);
        let f = File::create(&tmp).with_context(|| format!("writing {}", path.display()))?;
        // Polars writes a table in many small pieces: unbuffered, each is a system call.
        let file = StagedFile(Arc::new(Mutex::new(BufWriter::with_capacity(1 << 20, f))));
        Ok((
            Staged {
                path: path.to_path_buf(),
                tmp,
                file: file.clone(),
                done: false,
            },
            file,
        ))
    }

    /// The file this will become.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the written file to disk and renames it into place.
    pub fn commit(mut self) -> crate::Result<()> {
        use crate::Context;
        let mut file = self.file.clone();
        file.flush()
            .and_then(|()| file.lock()?.get_ref().sync_all())
            .with_context(|| format!("writing {}", self.path.display()))?;
        std::fs::rename(&self.tmp, &self.path).with_context(|| {
            format!("renaming {} to {}", self.tmp.display(), self.path.display())
        })?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
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

    #[test]
    fn a_staged_file_appears_only_when_committed() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("steps.csv");
        let (staged, mut f) = Staged::create(&target).unwrap();
        f.write_all(b"a,b\n1,2\n").unwrap();
        assert!(!target.exists());
        drop(f);
        staged.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"a,b\n1,2\n");
        // Dropped without a commit: nothing, not even the temporary file, is left.
        let other = dir.path().join("steps_long.csv");
        let (staged, mut f) = Staged::create(&other).unwrap();
        f.write_all(b"half").unwrap();
        drop(staged);
        assert!(!other.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
