//! Careful file writing: private modes, atomic replacement, synced folders,
//! and I/O errors told in words a person can act on.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// Creates `dir` (and parents) readable by the owner only.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Writes `bytes` to `path` atomically: a 0600 temporary file in the same
/// folder, synced, renamed over `path`, folder synced. A reader sees the old
/// file or the new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("no parent folder"))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".certsafe-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Syncs a folder so a rename inside it is durable. Filesystems that cannot
/// sync a folder (some FUSE ones) are tolerated.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        Ok(()) => Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(22 | 38 | 95)) => Ok(()), // EINVAL, ENOSYS, EOPNOTSUPP
        Err(e) => Err(e),
    }
}

/// Reads at most `max` bytes of a regular file: a FIFO or a device (which
/// claim a size of 0) cannot make certsafe wait or read forever. The file is
/// opened with `O_NONBLOCK` (opening a FIFO with no writer does not wait),
/// checked to be a regular file and no larger than `max` before a byte is
/// read, and the read itself stops after `max` bytes.
pub fn read_limited(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(i32::try_from(rustix::fs::OFlags::NONBLOCK.bits()).unwrap_or(0))
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            crate::t!("io.not_a_file"),
        ));
    }
    let too_large = || io::Error::new(io::ErrorKind::FileTooLarge, crate::t!("io.too_large"));
    if meta.len() > max {
        return Err(too_large());
    }
    let mut out = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(too_large());
    }
    Ok(out)
}

/// What went wrong with a drive or folder, in words.
pub fn describe_io(e: &io::Error) -> String {
    use io::ErrorKind as K;
    match (e.kind(), e.raw_os_error()) {
        (K::StorageFull, _) | (_, Some(28 | 122)) => {
            crate::t!("io.full")
        }
        (K::ReadOnlyFilesystem, _) | (_, Some(30)) => {
            crate::t!("io.read_only")
        }
        (K::NotConnected, _) | (_, Some(107 | 19 | 6 | 5)) => {
            crate::t!("io.removed")
        }
        (K::PermissionDenied, _) => crate::t!("io.permission"),
        (K::NotFound, _) => crate::t!("io.not_found"),
        (K::InvalidInput | K::FileTooLarge, _) => e.to_string(),
        (_, Some(20)) => crate::t!("io.not_a_directory"),
        _ => e.to_string(),
    }
}
