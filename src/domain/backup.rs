//! The backup: choose where, write a PKCS#12 file next to its final name,
//! read it back from the drive, open it with the password, compare it with
//! the account, and only then give it its name and record it.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;

use super::drives::{Drive, DriveGuard, GuardError};
use super::fsutil::{describe_io, sync_dir};
use super::p12::{self, P12Error, Profile};
use super::secret::Password;
use super::store::{Account, BackupRecord, Store, StoreError};

/// Characters FAT and exFAT refuse in names (plus the path separators).
const FAT_FORBIDDEN: &[char] = &[':', '*', '?', '"', '<', '>', '|', '\\', '/'];

/// Why a backup did not happen. In every case no partial file is left behind and no
/// backup is recorded.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The folder does not exist.
    #[error("{}", crate::t!("backup.destination_missing", path = .path))]
    DestinationMissing {
        /// The path given.
        path: String,
    },
    /// A file that is not .p12/.pfx.
    #[error("{}", crate::t!("backup.bad_destination", path = .path))]
    BadDestination {
        /// The path given.
        path: String,
    },
    /// Cannot write there.
    #[error("{}", crate::t!("backup.not_writable", path = .path, reason = .reason))]
    NotWritable {
        /// Where.
        path: String,
        /// Why, in words.
        reason: String,
    },
    /// The file is already there.
    #[error("{}", crate::t!("backup.exists", path = .path))]
    Exists {
        /// The file.
        path: String,
    },
    /// The drive went away or changed.
    #[error(transparent)]
    Drive(#[from] GuardError),
    /// Writing or reading back failed.
    #[error("{}", crate::t!("backup.io", path = .path, reason = .reason))]
    Io {
        /// The file.
        path: String,
        /// Why, in words.
        reason: String,
    },
    /// The file read back is not what was written, or does not open.
    #[error("{}", crate::t!("backup.verification", path = .path, detail = .detail))]
    Verification {
        /// The file.
        path: String,
        /// Which check failed.
        detail: String,
    },
    /// Building the file failed.
    #[error(transparent)]
    P12(#[from] P12Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the backup goes, resolved and checked before the password is asked.
#[derive(Debug, Clone)]
pub struct Destination {
    /// The folder.
    pub dir: PathBuf,
    /// The final file.
    pub file: PathBuf,
    /// The drive it is on, if known.
    pub drive: Option<Drive>,
    /// Whether an existing file is replaced (only with `overwrite`; the old
    /// file stays until the new one is verified).
    pub replaces: bool,
    guard: DriveGuard,
}

impl Destination {
    /// Checks the chosen drive is still there, the same one.
    pub fn check(&self) -> Result<(), GuardError> {
        self.guard.check()
    }

    /// Whether the destination is on the same filesystem as `other` (the store).
    pub fn same_disk_as(&self, other: &Path) -> bool {
        fs::metadata(other).is_ok_and(|m| m.dev() == self.guard.device_id())
    }
}

/// Characters and bytes of the account label kept in a default file name:
/// with `certsafe-` and `-YYYY-MM-DD.p12` the name stays under 255 bytes
/// (ext4) and 255 UTF-16 units (FAT, exFAT).
const SLUG_CHARS: usize = 60;
const SLUG_BYTES: usize = 200;

/// A default file name: FAT-safe, with the account label and the date.
/// Only letters (accents kept), digits, `.` and `_` survive from the label;
/// anything else (spaces, punctuation, parentheses, controls, bidirectional
/// marks, symbols) becomes one `-`, so the name reads the same everywhere
/// and needs no quoting in a shell.
pub fn default_file_name(label: &str, date: OffsetDateTime) -> String {
    let mut slug = String::new();
    for c in label.chars() {
        let keep = (c.is_alphanumeric() || matches!(c, '.' | '_')) && !super::text::is_unsafe(c);
        debug_assert!(!keep || !FAT_FORBIDDEN.contains(&c));
        let c = if keep { c } else { '-' };
        if c == '-' && (slug.is_empty() || slug.ends_with('-')) {
            continue;
        }
        slug.push(c);
    }
    // At most SLUG_CHARS characters and SLUG_BYTES bytes: a label of 4-byte
    // characters would otherwise pass the 255-byte name limit of ext4.
    let mut bytes = 0;
    let slug: String = slug
        .trim_matches(|c| c == '-' || c == '.')
        .chars()
        .take(SLUG_CHARS)
        .take_while(|c| {
            bytes += c.len_utf8();
            bytes <= SLUG_BYTES
        })
        .collect();
    let slug = if slug.is_empty() {
        "compte".to_string()
    } else {
        slug
    };
    format!(
        "certsafe-{slug}-{:04}-{:02}-{:02}.p12",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The first free name for `name` in `dir`: `name` itself when no file has
/// it, else `stem-2.ext`, `stem-3.ext`, … (the first one not taken).
/// `None` only if 2 to 999 are all taken.
pub fn free_name(dir: &Path, name: &str) -> Option<String> {
    let taken = |n: &str| fs::symlink_metadata(dir.join(n)).is_ok();
    if !taken(name) {
        return Some(name.to_string());
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    (2..1000)
        .map(|n| format!("{stem}-{n}{ext}"))
        .find(|n| !taken(n))
}

/// Resolves `--to`: a folder (default name inside) or a `.p12`/`.pfx` path.
pub fn resolve_destination(
    to: &Path,
    label: &str,
    now: OffsetDateTime,
    overwrite: bool,
    drive: Option<Drive>,
) -> Result<Destination, BackupError> {
    let shown = to.display().to_string();
    let is_p12_name = p12::is_p12_name(to);
    let (dir, file) = match fs::metadata(to) {
        Ok(m) if m.is_dir() => (to.to_path_buf(), to.join(default_file_name(label, now))),
        _ if is_p12_name => {
            let dir = match to.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            match fs::metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(BackupError::BadDestination {
                        path: dir.display().to_string(),
                    });
                }
                Err(_) => {
                    return Err(BackupError::DestinationMissing {
                        path: dir.display().to_string(),
                    });
                }
            }
            (dir, to.to_path_buf())
        }
        Ok(_) => return Err(BackupError::BadDestination { path: shown }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && to.extension().is_some() => {
            return Err(BackupError::BadDestination { path: shown });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::DestinationMissing { path: shown });
        }
        Err(e) => {
            return Err(BackupError::NotWritable {
                path: shown,
                reason: describe_io(&e),
            });
        }
    };
    if let Some(name) = file.file_name().and_then(|n| n.to_str()) {
        if name.contains(FAT_FORBIDDEN) {
            return Err(BackupError::BadDestination {
                path: file.display().to_string(),
            });
        }
    }
    if !overwrite && fs::symlink_metadata(&file).is_ok() {
        return Err(BackupError::Exists {
            path: file.display().to_string(),
        });
    }
    check_writable(&dir)?;
    let guard = DriveGuard::new(&dir).map_err(|e| BackupError::NotWritable {
        path: dir.display().to_string(),
        reason: describe_io(&e),
    })?;
    let replaces = overwrite && fs::symlink_metadata(&file).is_ok();
    Ok(Destination {
        dir,
        file,
        drive,
        replaces,
        guard,
    })
}

/// Room a backup needs on the drive (the file is 5–20 KiB; a margin for
/// the temporary copy and the folder entry).
pub const NEEDED_SPACE: u64 = 64 * 1024;

/// Checks a folder can take a backup: not read-only, enough free space.
/// Told before the password is asked (and when a drive is chosen in the TUI).
pub fn check_writable(dir: &Path) -> Result<(), BackupError> {
    let path = dir.display().to_string();
    let vfs = rustix::fs::statvfs(dir).map_err(|e| BackupError::NotWritable {
        path: path.clone(),
        reason: describe_io(&e.into()),
    })?;
    if vfs.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY) {
        return Err(BackupError::NotWritable {
            path,
            reason: describe_io(&std::io::Error::from_raw_os_error(30)),
        });
    }
    let free = vfs.f_bavail.saturating_mul(vfs.f_frsize);
    if free < NEEDED_SPACE {
        let reason = crate::t!(
            "io.not_enough_space",
            free = super::drives::human_bytes(free),
            needed = super::drives::human_bytes(NEEDED_SPACE)
        );
        return Err(BackupError::NotWritable { path, reason });
    }
    Ok(())
}

/// Steps of the backup, reported as they complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The PKCS#12 file was built in memory.
    Built,
    /// Written to a temporary file on the drive.
    Written,
    /// Flushed to the drive.
    Synced,
    /// Read back from the drive, byte for byte equal.
    ReadBack,
    /// Opened with the password.
    Opened,
    /// Key and certificate equal the account's.
    KeyMatches,
    /// Every certificate of the chain is inside.
    ChainComplete,
    /// Renamed to its final name, folder synced.
    Named,
    /// Recorded in the store.
    Recorded,
}

/// Warnings that do not stop a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupWarning {
    /// The certificate has expired; its key still reads old mail.
    CertificateExpired,
    /// The destination is the same disk as the store.
    SameDisk,
    /// The destination is not a removable drive.
    NotRemovable,
    /// The chain does not reach a root certificate.
    ChainIncomplete,
}

impl std::fmt::Display for BackupWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&match self {
            Self::CertificateExpired => crate::t!("backup.warn_expired"),
            Self::SameDisk => crate::t!("backup.warn_same_disk"),
            Self::NotRemovable => crate::t!("backup.warn_not_removable"),
            Self::ChainIncomplete => crate::t!("backup.warn_chain_incomplete"),
        })
    }
}

/// Words for a step, for progress lists.
pub fn step_words(step: Step) -> String {
    match step {
        Step::Built => crate::t!("backup.step_built"),
        Step::Written => crate::t!("backup.step_written"),
        Step::Synced => crate::t!("backup.step_synced"),
        Step::ReadBack => crate::t!("backup.step_read_back"),
        Step::Opened => crate::t!("backup.step_opened"),
        Step::KeyMatches => crate::t!("backup.step_key_matches"),
        Step::ChainComplete => crate::t!("backup.step_chain_complete"),
        Step::Named => crate::t!("backup.step_named"),
        Step::Recorded => crate::t!("backup.step_recorded"),
    }
}

/// A verified backup.
#[derive(Debug, Clone, Serialize)]
pub struct BackupOutcome {
    /// The file written.
    pub path: PathBuf,
    /// Fingerprint of the certificate inside.
    pub fingerprint: String,
    /// Profile used.
    pub profile: Profile,
    /// Always true: an unverified backup is not an outcome.
    pub verified: bool,
    /// Steps completed.
    pub checks: Vec<Step>,
    /// Certificates inside (of the current identity: leaf + chain).
    pub certificates: usize,
    /// Fingerprints of every identity inside, current first.
    pub identities: Vec<String>,
    /// Size of the file.
    pub bytes: usize,
    /// Warnings.
    pub warnings: Vec<BackupWarning>,
}

/// Warnings known before writing.
pub fn warnings_for(
    account: &Account,
    dest: &Destination,
    store: &Store,
    now: OffsetDateTime,
) -> Vec<BackupWarning> {
    let mut w = Vec::new();
    if account.info().is_ok_and(|i| i.expired_at(now)) {
        w.push(BackupWarning::CertificateExpired);
    }
    let complete = match (account.cert(), account.chain()) {
        (Ok(cert), Ok(chain)) => super::identity::chain_complete(&cert, &chain),
        _ => false,
    };
    if !complete {
        w.push(BackupWarning::ChainIncomplete);
    }
    if dest.same_disk_as(store.dir()) {
        w.push(BackupWarning::SameDisk);
    } else if !dest.drive.as_ref().is_some_and(|d| d.removable) {
        w.push(BackupWarning::NotRemovable);
    }
    w
}

/// Everything a backup needs, gathered before writing.
pub struct Request<'a> {
    /// The store (to read the identity and record the backup).
    pub store: &'a Store,
    /// The account to back up.
    pub account: &'a Account,
    /// Where, already resolved.
    pub dest: &'a Destination,
    /// The new backup password (already confirmed and judged).
    pub password: &'a Password,
    /// The profile.
    pub profile: Profile,
    /// Whether an existing file may be replaced.
    pub overwrite: bool,
    /// The time recorded.
    pub now: OffsetDateTime,
}

/// Writes, verifies and records a backup, reporting each step to `progress`.
/// The journal gets the verified backup, or the failure's code.
pub fn run(
    req: &Request<'_>,
    progress: &mut dyn FnMut(Step),
) -> Result<BackupOutcome, BackupError> {
    let result = run_unjournaled(req, progress);
    if let Err(e) = &result {
        req.store.journal(&super::journal::Event::BackupFailed {
            account: req.account.meta.id.clone(),
            path: req.dest.file.display().to_string(),
            code: e.code().to_string(),
        });
    }
    result
}

impl BackupError {
    /// A stable code for the journal and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DestinationMissing { .. } => "destination_missing",
            Self::BadDestination { .. } => "bad_destination",
            Self::NotWritable { .. } => "not_writable",
            Self::Exists { .. } => "exists",
            Self::Drive(_) => "drive",
            Self::Io { .. } => "io",
            Self::Verification { .. } => "verification",
            Self::P12(e) => e.code(),
            Self::Store(StoreError::Changed { .. }) => "store_changed",
            Self::Store(StoreError::Busy { .. }) => "store_busy",
            Self::Store(_) => "store",
        }
    }
}

fn run_unjournaled(
    req: &Request<'_>,
    progress: &mut dyn FnMut(Step),
) -> Result<BackupOutcome, BackupError> {
    let Request {
        store,
        account,
        dest,
        password,
        profile,
        overwrite,
        now,
    } = *req;
    let warnings = warnings_for(account, dest, store, now);
    // The account as it is now, read under the store lock; the lock is not
    // held while the keys are derived (about a second per KDF).
    let (account, identities) = {
        let locked = store.lock()?;
        let current = locked.get(&account.meta.id)?;
        let identities = current.all_identities()?;
        (current, identities)
    };
    let account = &account;
    let identity = &identities[0];
    // One identity: its friendlyName is the label. Several (a history):
    // each is `label (from → to)`, so a reader's list tells them apart.
    let names = super::history::friendly_names(&account.meta.label, &identities);
    let entries: Vec<p12::Entry<'_>> = identities
        .iter()
        .zip(&names)
        .map(|(identity, name)| p12::Entry {
            identity,
            friendly_name: name,
        })
        .collect();
    dest.check()?;
    let bytes = p12::build_many(&entries, password, profile)?;
    progress(Step::Built);
    // One backup at a time into this folder: two `--overwrite` to the same
    // file cannot cross, so the file that stays is the one last verified.
    let _folder_lock = lock_destination(store, &dest.dir)?;
    // Temporary files a killed backup left here go first.
    let _ = super::store::remove_temp_files(&dest.dir);

    let shown = dest.file.display().to_string();
    let io = |e: std::io::Error| BackupError::Io {
        path: shown.clone(),
        reason: describe_io(&e),
    };
    dest.check()?;
    // Dropping `tmp` on any error below removes the temporary file.
    let mut tmp = tempfile::Builder::new()
        .prefix(".certsafe-")
        .suffix(".tmp")
        .tempfile_in(&dest.dir)
        .map_err(io)?;
    tmp.write_all(&bytes).map_err(io)?;
    tmp.flush().map_err(io)?;
    progress(Step::Written);
    tmp.as_file().sync_all().map_err(io)?;
    progress(Step::Synced);

    // Drop the cached pages so the read below comes from the drive.
    let _ = rustix::fs::fadvise(tmp.as_file(), 0, None, rustix::fs::Advice::DontNeed);
    let mut read_back = Vec::with_capacity(bytes.len());
    File::open(tmp.path())
        .and_then(|mut f| f.read_to_end(&mut read_back))
        .map_err(io)?;
    let fail = |detail: &str| BackupError::Verification {
        path: shown.clone(),
        detail: detail.to_string(),
    };
    if read_back != bytes {
        return Err(fail(&crate::t!("backup.check_bytes")));
    }
    progress(Step::ReadBack);
    // Every identity, in order: certificate, key (matching it), chain and
    // friendlyName as written (OpenSSL parses the file too).
    let found = p12::verify_written(&read_back, password, &entries).map_err(|e| match e {
        P12Error::NotAsWritten { part, .. } => fail(&crate::t!(match part {
            p12::WrittenPart::Chain => "backup.check_chain",
            p12::WrittenPart::Name => "backup.check_name",
            _ => "backup.check_key",
        })),
        e => fail(&e.to_string()),
    })?;
    progress(Step::Opened);
    progress(Step::KeyMatches);
    let opened = found
        .first()
        .ok_or_else(|| fail(&crate::t!("backup.check_key")))?;
    let chain_complete = opened.identity.chain_complete();
    if chain_complete {
        progress(Step::ChainComplete);
    }

    dest.check()?;
    // The account must still be there with the same identity; the lock is
    // held from this check to the record, so a `remove` cannot slip between.
    let locked = store.lock()?;
    match locked.get(&account.meta.id) {
        Ok(a) if a.fingerprints() == account.fingerprints() => {}
        Ok(_) | Err(StoreError::UnknownAccount { .. }) => {
            return Err(StoreError::Changed {
                id: account.meta.id.clone(),
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    }
    persist(tmp, &dest.file, overwrite).map_err(|e| match e {
        PersistFailure::Exists => BackupError::Exists {
            path: shown.clone(),
        },
        PersistFailure::Io(e) => io(e),
    })?;
    if let Err(e) = sync_dir(&dest.dir) {
        // Without --overwrite the file is new: take it back. With it, the old
        // file is already replaced, so the new (verified) one is kept.
        if !overwrite {
            let _ = fs::remove_file(&dest.file);
        }
        return Err(io(e));
    }
    progress(Step::Named);

    let record = BackupRecord {
        at: now,
        path: dest.file.display().to_string(),
        mount_point: dest
            .drive
            .as_ref()
            .map(|d| d.mount_point.display().to_string()),
        drive_label: dest.drive.as_ref().and_then(|d| d.label.clone()),
        fingerprint: identity.fingerprint(),
        fingerprints: account
            .fingerprints()
            .iter()
            .map(|f| (*f).to_string())
            .collect(),
        profile: Some(profile),
        origin: "backup".into(),
    };
    let carried = record.fingerprints.clone();
    let recorded = locked.record_backup(account, record)?;
    store.journal(&super::journal::Event::Backup {
        account: recorded.meta.id.clone(),
        fingerprints: carried,
        path: dest.file.display().to_string(),
        mount_point: dest
            .drive
            .as_ref()
            .map(|d| d.mount_point.display().to_string()),
        drive_label: dest.drive.as_ref().and_then(|d| d.label.clone()),
        profile,
        verified: true,
    });
    drop(locked);
    progress(Step::Recorded);
    Ok(BackupOutcome {
        path: dest.file.clone(),
        fingerprint: identity.fingerprint(),
        profile,
        verified: true,
        checks: [
            Step::Written,
            Step::Synced,
            Step::ReadBack,
            Step::Opened,
            Step::KeyMatches,
        ]
        .into_iter()
        .chain(chain_complete.then_some(Step::ChainComplete))
        .collect(),
        certificates: opened.certificates,
        identities: account
            .fingerprints()
            .iter()
            .map(|f| (*f).to_string())
            .collect(),
        bytes: bytes.len(),
        warnings,
    })
}

/// How long a backup waits for another one writing into the same folder.
const FOLDER_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Locks the destination folder (`flock` on the folder itself, so two homes
/// writing to one stick serialise too). A filesystem without locks falls
/// back to a lock file in the store: backups of this home serialise.
fn lock_destination(store: &Store, dir: &Path) -> Result<super::lock::Held, BackupError> {
    use super::lock::{self, LockFailure};
    let busy = |path: &Path| {
        BackupError::Store(StoreError::Busy {
            path: path.display().to_string(),
        })
    };
    match lock::folder(dir, FOLDER_LOCK_WAIT, &mut || {}) {
        Ok(held) => Ok(held),
        Err(LockFailure::Busy) => Err(busy(dir)),
        Err(LockFailure::Unsupported | LockFailure::Io(_)) => {
            let path = store.dir().join(".backup.lock");
            lock::file(&path, FOLDER_LOCK_WAIT, &mut || {}).map_err(|e| match e {
                LockFailure::Io(e) => BackupError::NotWritable {
                    path: path.display().to_string(),
                    reason: describe_io(&e),
                },
                _ => busy(&path),
            })
        }
    }
}

enum PersistFailure {
    Exists,
    Io(std::io::Error),
}

/// Gives the temporary file its final name. Without `overwrite` an existing
/// file is never replaced: `renameat2(RENAME_NOREPLACE)` or a hard link where
/// the filesystem has them; exFAT/FAT have neither, so there a last check is
/// made just before a plain rename.
fn persist(
    tmp: tempfile::NamedTempFile,
    target: &Path,
    overwrite: bool,
) -> Result<(), PersistFailure> {
    if overwrite {
        return tmp
            .persist(target)
            .map(|_| ())
            .map_err(|e| PersistFailure::Io(e.error));
    }
    match tmp.persist_noclobber(target) {
        Ok(_) => Ok(()),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(PersistFailure::Exists)
        }
        Err(e) => {
            let tmp = e.file;
            if fs::symlink_metadata(target).is_ok() {
                return Err(PersistFailure::Exists);
            }
            tmp.persist(target)
                .map(|_| ())
                .map_err(|e| PersistFailure::Io(e.error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn default_names_are_fat_safe() {
        let d = datetime!(2026-11-24 10:00 UTC);
        assert_eq!(
            default_file_name("Dr Marie Durand", d),
            "certsafe-Dr-Marie-Durand-2026-11-24.p12"
        );
        let n = default_file_name("Cabinet: <Léa> \"Ü\" a/b\\c|d?*", d);
        assert!(!n.contains(FAT_FORBIDDEN), "{n}");
        assert!(n.contains("Léa") && n.ends_with("2026-11-24.p12"), "{n}");
        assert_eq!(
            default_file_name("///", d),
            "certsafe-compte-2026-11-24.p12"
        );
    }

    #[test]
    fn default_names_have_no_parentheses_bidi_or_symbols() {
        let d = datetime!(2026-11-24 10:00 UTC);
        assert_eq!(
            default_file_name("Dr Durand (cabinet d'Orléans)", d),
            "certsafe-Dr-Durand-cabinet-d-Orléans-2026-11-24.p12"
        );
        assert_eq!(
            default_file_name("abc\u{202e}gpj.exe \u{1f600}\x1b[2J", d),
            "certsafe-abc-gpj.exe-2J-2026-11-24.p12"
        );
        for c in [
            '(', ')', '[', ']', '{', '}', '$', '`', '&', ';', '\'', '!', '#',
        ] {
            let n = default_file_name(&format!("a{c}b"), d);
            assert_eq!(n, "certsafe-a-b-2026-11-24.p12", "{c}");
        }
    }

    #[test]
    fn default_names_hold_no_bidi_control() {
        // Found by the backup_name fuzz target: U+2066 (isolate) went through.
        let d = datetime!(2026-11-24 10:00 UTC);
        for bidi in ['\u{202e}', '\u{2066}', '\u{200f}', '\u{061c}'] {
            let n = default_file_name(&format!("facture{bidi}gpj.exe"), d);
            assert_eq!(n, "certsafe-facture-gpj.exe-2026-11-24.p12");
        }
    }

    #[test]
    fn default_names_fit_255_bytes() {
        let d = datetime!(2026-11-24 10:00 UTC);
        let n = default_file_name(&"\u{1d504}".repeat(80), d);
        assert!(n.len() <= 255, "{} bytes", n.len());
        assert!(n.ends_with("-2026-11-24.p12"));
        let ascii = default_file_name(&"a".repeat(80), d);
        assert_eq!(ascii, format!("certsafe-{}-2026-11-24.p12", "a".repeat(60)));
    }

    #[test]
    fn free_names_take_the_first_number_not_taken() {
        let dir = tempfile::tempdir().unwrap();
        let name = "certsafe-Dr-Durand-2026-11-24.p12";
        assert_eq!(free_name(dir.path(), name).as_deref(), Some(name));
        fs::write(dir.path().join(name), b"old").unwrap();
        assert_eq!(
            free_name(dir.path(), name).as_deref(),
            Some("certsafe-Dr-Durand-2026-11-24-2.p12")
        );
        fs::write(dir.path().join("certsafe-Dr-Durand-2026-11-24-2.p12"), b"").unwrap();
        fs::write(dir.path().join("certsafe-Dr-Durand-2026-11-24-4.p12"), b"").unwrap();
        assert_eq!(
            free_name(dir.path(), name).as_deref(),
            Some("certsafe-Dr-Durand-2026-11-24-3.p12")
        );
        fs::write(dir.path().join("noext"), b"").unwrap();
        assert_eq!(free_name(dir.path(), "noext").as_deref(), Some("noext-2"));
    }
}
