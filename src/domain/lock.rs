//! Advisory locks between certsafe processes: `flock` on a lock file (the
//! store) or on a folder (a backup destination), waited for with a bound.
//! The kernel drops the lock when the process ends, even on SIGKILL, so a
//! killed command never leaves a stale lock behind.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::fs::{FlockOperation, flock};

/// A held lock; released on drop (or when the process dies).
#[derive(Debug)]
pub struct Held {
    _file: File,
}

/// Why a lock was not taken.
#[derive(Debug)]
pub enum LockFailure {
    /// Another process held it for longer than the bound.
    Busy,
    /// The filesystem does not lock (some FUSE or network ones).
    Unsupported,
    /// Opening the lock file or folder failed.
    Io(io::Error),
}

/// Takes an exclusive lock on `file`, waiting up to `wait`; `on_wait` is
/// called once when another process holds it.
pub fn exclusive(
    file: File,
    wait: Duration,
    on_wait: &mut dyn FnMut(),
) -> Result<Held, LockFailure> {
    let start = Instant::now();
    let mut told = false;
    loop {
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(Held { _file: file }),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => {
                if start.elapsed() >= wait {
                    return Err(LockFailure::Busy);
                }
                if !told {
                    on_wait();
                    told = true;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e)
                if e == rustix::io::Errno::NOLCK
                    || e == rustix::io::Errno::OPNOTSUPP
                    || e == rustix::io::Errno::INVAL
                    || e == rustix::io::Errno::NOSYS =>
            {
                return Err(LockFailure::Unsupported);
            }
            Err(e) => return Err(LockFailure::Io(e.into())),
        }
    }
}

/// Locks the lock file `path` (created 0600 if missing).
pub fn file(path: &Path, wait: Duration, on_wait: &mut dyn FnMut()) -> Result<Held, LockFailure> {
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(LockFailure::Io)?;
    exclusive(f, wait, on_wait)
}

/// Locks the folder `dir` itself (no file is created in it).
pub fn folder(dir: &Path, wait: Duration, on_wait: &mut dyn FnMut()) -> Result<Held, LockFailure> {
    let f = File::open(dir).map_err(LockFailure::Io)?;
    exclusive(f, wait, on_wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_waits_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let held = file(&path, Duration::ZERO, &mut || {}).unwrap();
        let mut waited = false;
        let second = file(&path, Duration::from_millis(100), &mut || waited = true);
        assert!(matches!(second, Err(LockFailure::Busy)));
        assert!(waited);
        drop(held);
        assert!(file(&path, Duration::ZERO, &mut || {}).is_ok());
        let f = folder(dir.path(), Duration::ZERO, &mut || {}).unwrap();
        assert!(matches!(
            folder(dir.path(), Duration::from_millis(50), &mut || {}),
            Err(LockFailure::Busy)
        ));
        drop(f);
    }
}
