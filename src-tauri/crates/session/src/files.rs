//! Reading and writing the files the app touches, carefully:
//!
//! - Writes replace a file atomically: a new file with a name no one can guess, in the same
//!   directory, written, synced, then renamed over the old one (a crash never leaves half a
//!   file, a failed write never leaves a stray one). The app's own files are private: folders
//!   0700 and files 0600 on Unix.
//! - Reads are bounded and refuse what is not a regular file: `/dev/zero`, a FIFO or a folder
//!   gets a clear error instead of an endless read or a hang; a file is measured while it is read,
//!   not by its reported size (files under `/proc` report none).

use std::io::{Read, Write};
use std::path::Path;

/// Creates `dir` and its missing parents, private to this user where the system knows how.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// A temporary name beside `path` that no other program can have prepared.
fn temporary_beside(path: &Path) -> std::io::Result<std::path::PathBuf> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other(format!("{} has no directory", path.display())))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(dir.join(format!(".{name}.{}.tmp", crate::random_id_long(""))))
}

/// Opens a new file that did not exist, private to this user.
fn create_new_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Replaces `path` with `bytes` atomically, creating its directory (private) when needed. The
/// file is private to this user.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other(format!("{} has no directory", path.display())))?;
    create_private_dir(dir)?;
    let tmp = temporary_beside(path)?;
    let write = || -> std::io::Result<()> {
        let mut file = create_new_private(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself is durable once the directory is synced (not possible on Windows).
        #[cfg(unix)]
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    };
    write().inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path} is not a regular file (a device, a pipe or a folder cannot be read as one)")]
    NotAFile { path: String },
    #[error("{path} is larger than {max} bytes")]
    TooLarge { path: String, max: usize },
}

/// Opens the regular file at `path` for reading as a stream (never a FIFO, device or folder),
/// with its length.
pub fn open_regular(path: &Path) -> Result<(std::fs::File, u64), ReadError> {
    let shown = || path.display().to_string();
    let io = |error| ReadError::Io {
        path: shown(),
        error,
    };
    // Opened without blocking first: opening a FIFO for reading would wait for a writer.
    let file = open_without_blocking(path).map_err(io)?;
    // The opened file's own metadata: no window between a check and the open.
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile { path: shown() });
    }
    Ok((file, meta.len()))
}

/// Reads the whole regular file at `path`, refusing more than `max` bytes.
pub fn read_bounded(path: &Path, max: usize) -> Result<Vec<u8>, ReadError> {
    let shown = || path.display().to_string();
    let io = |error| ReadError::Io {
        path: shown(),
        error,
    };
    let (file, length) = open_regular(path)?;
    let meta_len = length;
    let mut bytes = Vec::with_capacity((meta_len as usize).min(max).min(1 << 20));
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > max {
        return Err(ReadError::TooLarge { path: shown(), max });
    }
    Ok(bytes)
}

fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// Reads a text file (UTF-8) with [`read_bounded`].
pub fn read_text_bounded(path: &Path, max: usize) -> Result<String, ReadError> {
    let bytes = read_bounded(path, max)?;
    String::from_utf8(bytes).map_err(|_| ReadError::Io {
        path: path.display().to_string(),
        error: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_atomic_private_and_leave_nothing_behind() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("conf").join("settings.json");
        write_atomically(&path, b"one").expect("first");
        write_atomically(&path, b"two").expect("second");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().expect("dir")), 0o700);
        }
        // Concurrent writers never tear the file: each write is whole.
        let writers: Vec<_> = (0..8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let text = format!("{i}").repeat(100_000);
                    write_atomically(&path, text.as_bytes()).expect("write");
                })
            })
            .collect();
        for writer in writers {
            writer.join().expect("writer");
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let first = text.chars().next().expect("text");
        assert!(text.chars().all(|c| c == first) && text.len() == 100_000);
    }

    #[test]
    fn reads_refuse_devices_pipes_folders_and_big_files() {
        let dir = tempfile::tempdir().expect("dir");
        let small = dir.path().join("small");
        std::fs::write(&small, b"hello").expect("write");
        assert_eq!(read_bounded(&small, 10).expect("read"), b"hello");
        assert!(matches!(
            read_bounded(&small, 4),
            Err(ReadError::TooLarge { .. })
        ));
        assert!(matches!(
            read_bounded(dir.path(), 10),
            Err(ReadError::NotAFile { .. }) | Err(ReadError::Io { .. })
        ));
        #[cfg(unix)]
        {
            assert!(matches!(
                read_bounded(Path::new("/dev/zero"), 1 << 20),
                Err(ReadError::NotAFile { .. })
            ));
            let fifo = dir.path().join("fifo");
            if std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .is_ok_and(|s| s.success())
            {
                assert!(matches!(
                    read_bounded(&fifo, 1 << 20),
                    Err(ReadError::NotAFile { .. })
                ));
            }
        }
        #[cfg(target_os = "linux")]
        {
            // /proc files report a size of 0; the read is still bounded.
            assert!(matches!(
                read_bounded(Path::new("/proc/self/maps"), 16),
                Err(ReadError::TooLarge { .. })
            ));
        }
    }
}
