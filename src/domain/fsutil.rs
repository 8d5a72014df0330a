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
    write_atomic_mode(path, bytes, 0o600)
}

/// [`write_atomic`] with the final file's mode given (for files that hold no
/// secret and that another program must read, such as a monitoring file).
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("no parent folder"))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".certsafe-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    if mode != 0o600 {
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))?;
    }
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

/// Largest certificate or private-key file read (PEM, DER, PKCS#7).
pub const MAX_CERT_FILE: u64 = 1 << 20;
/// Largest S/MIME message (`.eml`) read for the certificates it carries.
pub const MAX_MESSAGE_FILE: u64 = 32 << 20;
/// Largest configuration or theme file read.
pub const MAX_CONFIG_FILE: u64 = 256 << 10;
/// Largest password file read (the password is its first line).
pub const MAX_PASSWORD_FILE: u64 = 4 << 10;

/// Why [`read_limited`] refused a file without reading it. It travels inside
/// the `io::Error` (kind `InvalidInput` or `FileTooLarge`), whose text is
/// this one.
#[derive(Debug, thiserror::Error)]
pub enum ReadRefused {
    /// A FIFO, a device, a socket or a folder.
    #[error("{}", crate::t!("io.not_a_file"))]
    NotRegular,
    /// Larger than the bound for this kind of file.
    #[error("{}", crate::t!("io.too_large_max", max = super::drives::human_bytes(*.max)))]
    TooLarge {
        /// The bound, in bytes.
        max: u64,
    },
}

impl ReadRefused {
    /// The refusal inside `e`, if `e` is one.
    pub fn of(e: &io::Error) -> Option<&Self> {
        e.get_ref().and_then(|inner| inner.downcast_ref::<Self>())
    }

    fn into_io(self) -> io::Error {
        let kind = match self {
            Self::NotRegular => io::ErrorKind::InvalidInput,
            Self::TooLarge { .. } => io::ErrorKind::FileTooLarge,
        };
        io::Error::new(kind, self)
    }
}

/// The one way certsafe reads a file it is given (certificates, keys,
/// PKCS#12, CRLs, configuration, themes, password files, messages): opened
/// without blocking and without taking a controlling terminal, checked on
/// the open descriptor to be a regular file of at most `max` bytes before
/// a byte is read, then read with that bound (a file growing meanwhile is
/// refused). A FIFO, a device (`/dev/zero`, a tty) or a folder is refused
/// at once, never waited on.
pub fn read_limited(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use rustix::fs::{Mode, OFlags};
    use std::io::Read;
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let file = File::from(fd);
    let meta = file.metadata()?; // fstat on the opened descriptor
    if !meta.is_file() {
        return Err(ReadRefused::NotRegular.into_io());
    }
    if meta.len() > max {
        return Err(ReadRefused::TooLarge { max }.into_io());
    }
    let mut out = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(ReadRefused::TooLarge { max }.into_io());
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

/// The regular files in `dir` and one level down that `wanted` accepts,
/// sorted (the pickers' lists). Hidden files and folders are skipped, and so
/// is anything that is not a regular file (a FIFO named `x.p12` is never
/// offered). The error is the folder with its I/O error in words.
pub fn scan_files(
    dir: &Path,
    wanted: impl Fn(&Path) -> bool,
) -> Result<Vec<std::path::PathBuf>, String> {
    use std::path::PathBuf;
    let read = |d: &Path| -> Result<Vec<PathBuf>, std::io::Error> {
        Ok(std::fs::read_dir(d)?.flatten().map(|e| e.path()).collect())
    };
    let top = read(dir).map_err(|e| format!("{}: {}", dir.display(), describe_io(&e)))?;
    let hidden = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'))
    };
    let mut out = Vec::new();
    for p in top {
        if hidden(&p) {
            continue;
        }
        if p.is_dir() {
            for q in read(&p).unwrap_or_default() {
                if !hidden(&q) && q.is_file() && wanted(&q) {
                    out.push(q);
                }
            }
        } else if p.is_file() && wanted(&p) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(path: &Path, max: u64) -> String {
        let e = read_limited(path, max).unwrap_err();
        match ReadRefused::of(&e) {
            Some(ReadRefused::NotRegular) => "not_regular".into(),
            Some(ReadRefused::TooLarge { max }) => format!("too_large {max}"),
            None => format!("io {:?}", e.kind()),
        }
    }

    #[test]
    fn only_regular_files_of_bounded_size_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let start = std::time::Instant::now();
        assert_eq!(refusal(&fifo, 1024), "not_regular");
        assert_eq!(refusal(Path::new("/dev/zero"), 1024), "not_regular");
        assert_eq!(refusal(dir.path(), 1024), "not_regular");
        assert!(start.elapsed() < std::time::Duration::from_secs(5));

        let file = dir.path().join("f");
        fs::write(&file, [7u8; 100]).unwrap();
        assert_eq!(read_limited(&file, 100).unwrap(), vec![7u8; 100]);
        assert_eq!(refusal(&file, 99), "too_large 99");
        assert_eq!(
            refusal(&dir.path().join("missing"), 10),
            format!("io {:?}", io::ErrorKind::NotFound)
        );
    }

    #[test]
    fn pickers_list_regular_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("a.p12"), b"x").unwrap();
        fs::create_dir(d.join("sub")).unwrap();
        fs::write(d.join("sub").join("b.P12"), b"x").unwrap();
        fs::write(d.join(".hidden.p12"), b"x").unwrap();
        fs::create_dir(d.join("folder.p12")).unwrap();
        let st = std::process::Command::new("mkfifo")
            .arg(d.join("fifo.p12"))
            .arg(d.join("sub").join("fifo2.p12"))
            .status()
            .unwrap();
        assert!(st.success());
        let found = scan_files(d, crate::domain::p12::is_p12_name).unwrap();
        assert_eq!(found, vec![d.join("a.p12"), d.join("sub").join("b.P12")]);
    }
}
