//! The store of accounts: `DATA/accounts/<id>/` holds `account.json`,
//! `cert.pem`, `chain.pem` and `key.pem` (0600): the current identity.
//! Identities it superseded (renewals) are kept under
//! `history/<fingerprint>/` with the same three files and listed in
//! `account.json` (`history`). Replaced identities are kept under
//! `archive/<time>/`.
//!
//! Every change happens under the store lock (`DATA/accounts/.lock`, `flock`),
//! reads the current files again, and lands in one atomic step: a new
//! account or a replaced identity is built whole in a hidden `.new-*` folder
//! and renamed (or exchanged) into place; a removed account is first renamed
//! to `.removed-<id>`. Whoever takes the lock next sweeps what a killed
//! process left (those folders and `.certsafe-*.tmp` files), so no key copy
//! outlives the command that made it.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use openssl::x509::X509;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::fsutil::{create_private_dir, describe_io, sync_dir, write_atomic};
use super::identity::{
    CertInfo, Identity, IdentityError, fingerprint, read_certificates, read_private_key,
};
use super::journal::{self, Event, Journal};
use super::lock::{self, LockFailure};
use super::p12::Profile;
use super::time::rfc3339;

/// Length of an account ID (hex characters of the first fingerprint).
pub const ID_LEN: usize = 12;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such account.
    #[error("{}", crate::t!("store.unknown_account", id = .id))]
    UnknownAccount {
        /// The ID asked for.
        id: String,
    },
    /// The certificate is already an account.
    #[error("{}", crate::t!("store.already_imported", id = .id, label = .label))]
    AlreadyImported {
        /// The existing account.
        id: String,
        /// Its label.
        label: String,
    },
    /// Reading or writing the store failed.
    #[error("{}", crate::t!("store.io", action = action_words(.action), path = .path, reason = describe_io(.source)))]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The label cannot be a PKCS#12 friendlyName.
    #[error("{}", label_words(*.problem))]
    BadLabel {
        /// What is wrong with it.
        problem: LabelProblem,
    },
    /// Another certsafe command kept the store locked too long.
    #[error("{}", crate::t!("store.busy", path = .path))]
    Busy {
        /// The lock file.
        path: String,
    },
    /// The account changed (removed or given another identity) while a
    /// backup was being written; nothing was kept or recorded.
    #[error("{}", crate::t!("store.changed", id = .id))]
    Changed {
        /// The account.
        id: String,
    },
    /// The account was given another identity after the user confirmed its
    /// removal; nothing was removed.
    #[error("{}", crate::t!("store.changed_since_confirmed", id = .id))]
    ChangedSinceConfirmed {
        /// The account.
        id: String,
    },
    /// The identity asked for is the account's current one: it cannot be
    /// forgotten (remove the account instead).
    #[error("{}", crate::t!("store.forget_current", id = .id, fingerprint = .fingerprint))]
    ForgetCurrent {
        /// The account.
        id: String,
        /// The current certificate's fingerprint.
        fingerprint: String,
    },
    /// No earlier identity of the account has this fingerprint.
    #[error("{}", crate::t!("store.unknown_identity", id = .id, fingerprint = .fingerprint))]
    UnknownIdentity {
        /// The account.
        id: String,
        /// The fingerprint (or prefix) asked for.
        fingerprint: String,
    },
    /// A stored file is corrupt.
    #[error("{}", crate::t!("store.corrupt", path = .path, detail = .detail))]
    Corrupt {
        /// Which file.
        path: String,
        /// What is wrong.
        detail: String,
    },
}

impl StoreError {
    /// A stable code for `--json` errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownAccount { .. } => "unknown_account",
            Self::AlreadyImported { .. } => "already_imported",
            Self::Io { .. } => "store_io",
            Self::BadLabel { .. } => "bad_label",
            Self::Busy { .. } => "store_busy",
            Self::Changed { .. } => "store_changed",
            Self::ChangedSinceConfirmed { .. } => "changed_since_confirmed",
            Self::ForgetCurrent { .. } => "forget_current",
            Self::UnknownIdentity { .. } => "unknown_identity",
            Self::Corrupt { .. } => "store_corrupt",
        }
    }
}

/// Longest label accepted, in characters.
pub const MAX_LABEL_CHARS: usize = 128;

/// Why a text cannot be a label. A label becomes the PKCS#12 friendlyName,
/// a `BMPString` (UCS-2): characters beyond U+FFFF cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelProblem {
    /// Empty or only spaces.
    Empty,
    /// Longer than [`MAX_LABEL_CHARS`].
    TooLong,
    /// Has a control or bidirectional formatting character (NUL included).
    Control,
    /// Has a character outside the Basic Multilingual Plane (an emoji...).
    NotBmp,
}

fn label_words(problem: LabelProblem) -> String {
    match problem {
        LabelProblem::Empty => crate::t!("store.label_empty"),
        LabelProblem::TooLong => crate::t!("store.label_too_long", max = MAX_LABEL_CHARS),
        LabelProblem::Control => crate::t!("store.label_control"),
        LabelProblem::NotBmp => crate::t!("store.label_not_bmp"),
    }
}

/// Checks a label the user typed: it must fit a friendlyName as it is.
pub fn check_label(label: &str) -> Result<(), StoreError> {
    let problem = if label.trim().is_empty() {
        Some(LabelProblem::Empty)
    } else if label.chars().count() > MAX_LABEL_CHARS {
        Some(LabelProblem::TooLong)
    } else if label.chars().any(super::text::is_unsafe) {
        Some(LabelProblem::Control)
    } else if label.chars().any(|c| u32::from(c) > 0xFFFF) {
        Some(LabelProblem::NotBmp)
    } else {
        None
    };
    problem.map_or(Ok(()), |problem| Err(StoreError::BadLabel { problem }))
}

/// A label made from a name that came from a file or a certificate (a
/// friendlyName, a CN): control characters become spaces, characters beyond
/// U+FFFF become U+FFFD, the result is trimmed and cut to
/// [`MAX_LABEL_CHARS`]. `None` when nothing is left.
pub fn label_from_name(name: &str) -> Option<String> {
    let mapped: String = name
        .chars()
        .map(|c| {
            if super::text::is_unsafe(c) {
                ' '
            } else if u32::from(c) > 0xFFFF {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    let cut: String = mapped.trim().chars().take(MAX_LABEL_CHARS).collect();
    let label = cut.trim_end().to_string();
    check_label(&label).is_ok().then_some(label)
}

fn action_words(action: &str) -> String {
    match action {
        "read" => crate::t!("store.action_read"),
        "create" => crate::t!("store.action_create"),
        "archive" => crate::t!("store.action_archive"),
        "remove" => crate::t!("store.action_remove"),
        _ => crate::t!("store.action_write"),
    }
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.display().to_string();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}

/// One verified backup (or a restore, which proves a backup works).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupRecord {
    /// When it was verified.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The file.
    pub path: String,
    /// The drive's mount point, when on a removable drive.
    pub mount_point: Option<String>,
    /// The drive's label, when known.
    pub drive_label: Option<String>,
    /// Fingerprint of the certificate inside (the current one when it
    /// carried several).
    pub fingerprint: String,
    /// Fingerprints of every identity the file carried (current first);
    /// empty in records written before identity history: then only
    /// `fingerprint`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fingerprints: Vec<String>,
    /// Profile of the file (`None` when restored from a foreign file).
    pub profile: Option<Profile>,
    /// `backup` or `restore`.
    pub origin: String,
}

impl BackupRecord {
    /// The fingerprints the file carried.
    pub fn carried(&self) -> Vec<&str> {
        if self.fingerprints.is_empty() {
            vec![self.fingerprint.as_str()]
        } else {
            self.fingerprints.iter().map(String::as_str).collect()
        }
    }

    /// Whether the file carried every fingerprint of `wanted`.
    pub fn carries_all(&self, wanted: &[&str]) -> bool {
        let carried = self.carried();
        wanted.iter().all(|w| carried.contains(w))
    }
}

/// An identity the account held before a renewal, kept in
/// `history/<fingerprint>/` to read the mail encrypted to it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EarlierIdentity {
    /// Fingerprint of its certificate (also its folder's name).
    pub fingerprint: String,
    /// When a newer identity took its place.
    #[serde(with = "time::serde::rfc3339")]
    pub superseded_at: OffsetDateTime,
}

/// `account.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountMeta {
    /// Stable ID.
    pub id: String,
    /// Label (the backup's friendlyName).
    pub label: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Fingerprint of the current certificate.
    pub fingerprint: String,
    /// When the account was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// Verified backups, oldest first.
    #[serde(default)]
    pub backups: Vec<BackupRecord>,
    /// Fingerprints of replaced identities, kept in `archive/`.
    #[serde(default)]
    pub archived: Vec<String>,
    /// Earlier identities (superseded by renewals), newest first; each in
    /// `history/<fingerprint>/`. Absent in homes made before history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<EarlierIdentity>,
}

/// Backup state of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupState {
    /// Never backed up.
    None,
    /// An identity (current or earlier) was added since the last verified
    /// backup that carried them all.
    Outdated,
    /// The last verified backup is older than the configured age.
    Old,
    /// Backed up.
    Ok,
}

impl BackupState {
    /// The JSON word.
    pub fn word(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Outdated => "outdated",
            Self::Old => "old",
            Self::Ok => "ok",
        }
    }
}

/// An account in the store.
#[derive(Debug, Clone)]
pub struct Account {
    /// Its metadata.
    pub meta: AccountMeta,
    /// Its folder.
    pub dir: PathBuf,
}

impl Account {
    /// The leaf certificate.
    pub fn cert(&self) -> Result<X509, StoreError> {
        read_cert(&self.dir)
    }

    /// Facts about the certificate.
    pub fn info(&self) -> Result<CertInfo, StoreError> {
        let cert = self.cert()?;
        Ok(CertInfo::of(&cert))
    }

    /// The chain, nearest issuer first.
    pub fn chain(&self) -> Result<Vec<X509>, StoreError> {
        read_chain(&self.dir)
    }

    /// The whole identity, private key included.
    pub fn identity(&self) -> Result<Identity, StoreError> {
        read_identity(&self.dir)
    }

    /// The folder of an earlier identity.
    pub fn history_dir(&self, fingerprint: &str) -> PathBuf {
        self.dir.join("history").join(fingerprint)
    }

    /// An earlier identity, private key included.
    pub fn earlier_identity(&self, fingerprint: &str) -> Result<Identity, StoreError> {
        if !self
            .meta
            .history
            .iter()
            .any(|h| h.fingerprint == fingerprint)
        {
            return Err(StoreError::UnknownIdentity {
                id: self.meta.id.clone(),
                fingerprint: fingerprint.to_string(),
            });
        }
        read_identity(&self.history_dir(fingerprint))
    }

    /// The certificate of an earlier identity.
    pub fn earlier_cert(&self, fingerprint: &str) -> Result<X509, StoreError> {
        read_cert(&self.history_dir(fingerprint))
    }

    /// Fingerprints of every identity: the current one first, then the
    /// earlier ones, newest first.
    pub fn fingerprints(&self) -> Vec<&str> {
        std::iter::once(self.meta.fingerprint.as_str())
            .chain(self.meta.history.iter().map(|h| h.fingerprint.as_str()))
            .collect()
    }

    /// Whether the account holds this certificate, current or earlier.
    pub fn holds(&self, fingerprint: &str) -> bool {
        self.fingerprints().contains(&fingerprint)
    }

    /// Every identity with its keys: the current one first, then the
    /// earlier ones, newest first (what a backup carries).
    pub fn all_identities(&self) -> Result<Vec<Identity>, StoreError> {
        let mut out = vec![self.identity()?];
        for h in &self.meta.history {
            out.push(read_identity(&self.history_dir(&h.fingerprint))?);
        }
        Ok(out)
    }

    /// What `account show` lists: every identity, newest first (the current
    /// one, then the earlier ones by start of validity).
    pub fn identities(&self, now: OffsetDateTime) -> Result<Vec<IdentityEntry>, StoreError> {
        let cert = self.cert()?;
        let mut out = vec![IdentityEntry::new(CertInfo::of(&cert), None, now)];
        let mut earlier = Vec::new();
        for h in &self.meta.history {
            let cert = self.earlier_cert(&h.fingerprint)?;
            earlier.push(IdentityEntry::new(
                CertInfo::of(&cert),
                Some(h.superseded_at),
                now,
            ));
        }
        earlier.sort_by(|a, b| {
            b.info
                .not_before
                .cmp(&a.info.not_before)
                .then(b.superseded_at.cmp(&a.superseded_at))
        });
        out.extend(earlier);
        Ok(out)
    }

    /// Backup state at `now` with the configured maximum age: only a
    /// backup that carried every identity (current and earlier) counts.
    pub fn backup_state(&self, now: OffsetDateTime, max_age_days: u32) -> BackupState {
        let wanted = self.fingerprints();
        let latest = self
            .meta
            .backups
            .iter()
            .filter(|b| b.carries_all(&wanted))
            .max_by_key(|b| b.at);
        match latest {
            None if self.meta.backups.is_empty() => BackupState::None,
            None => BackupState::Outdated,
            Some(b) if now - b.at > time::Duration::days(i64::from(max_age_days)) => {
                BackupState::Old
            }
            Some(_) => BackupState::Ok,
        }
    }

    /// The latest verified backup of the current certificate.
    pub fn last_backup(&self) -> Option<&BackupRecord> {
        self.meta
            .backups
            .iter()
            .filter(|b| b.carried().contains(&self.meta.fingerprint.as_str()))
            .max_by_key(|b| b.at)
    }

    /// Words an attacker would try first for this account's password.
    pub fn known_words(&self) -> Vec<String> {
        let mut words = vec![self.meta.label.clone()];
        words.extend(self.meta.email.clone());
        if let Ok(cert) = self.cert() {
            words.extend(super::identity::common_name(&cert));
            words.extend(super::identity::emails(&cert));
        }
        words
    }
}

/// One identity of an account as `account show` lists it.
#[derive(Debug, Clone)]
pub struct IdentityEntry {
    /// Facts of its certificate.
    pub info: CertInfo,
    /// Whether it is the current identity.
    pub current: bool,
    /// When it was superseded (earlier identities).
    pub superseded_at: Option<OffsetDateTime>,
    /// Whether its certificate has expired.
    pub expired: bool,
}

impl IdentityEntry {
    fn new(info: CertInfo, superseded_at: Option<OffsetDateTime>, now: OffsetDateTime) -> Self {
        Self {
            expired: info.expired_at(now),
            current: superseded_at.is_none(),
            superseded_at,
            info,
        }
    }
}

/// Reads the certificate in `dir/cert.pem`.
fn read_cert(dir: &Path) -> Result<X509, StoreError> {
    let path = dir.join("cert.pem");
    let bytes = fs::read(&path).map_err(io_err("read", &path))?;
    X509::from_pem(&bytes).map_err(|e| StoreError::Corrupt {
        path: path.display().to_string(),
        detail: e.to_string(),
    })
}

/// Reads the chain in `dir/chain.pem` (absent or empty: none).
fn read_chain(dir: &Path) -> Result<Vec<X509>, StoreError> {
    let path = dir.join("chain.pem");
    match fs::read(&path) {
        Ok(bytes) if bytes.is_empty() => Ok(Vec::new()),
        Ok(bytes) => X509::stack_from_pem(&bytes).map_err(|e| StoreError::Corrupt {
            path: path.display().to_string(),
            detail: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_err("read", &path)(e)),
    }
}

/// Reads key, certificate and chain from `dir`; the key must match.
/// Whether `s` is a fingerprint as [`identity::fingerprint`] writes it:
/// 64 lowercase hexadecimal digits (also what makes it a safe folder name).
pub fn is_fingerprint(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn read_identity(dir: &Path) -> Result<Identity, StoreError> {
    let path = dir.join("key.pem");
    let bytes = zeroize::Zeroizing::new(fs::read(&path).map_err(io_err("read", &path))?);
    let corrupt = |detail: String| StoreError::Corrupt {
        path: path.display().to_string(),
        detail,
    };
    let key = read_private_key(&bytes, None, "key.pem").map_err(|e| corrupt(e.to_string()))?;
    let identity = Identity {
        key,
        cert: read_cert(dir)?,
        chain: read_chain(dir)?,
    };
    if !identity.key_matches() {
        return Err(corrupt(
            IdentityError::KeyMismatch {
                subject: String::new(),
            }
            .to_string(),
        ));
    }
    Ok(identity)
}

/// How long a command waits for another one to release the store.
pub const LOCK_WAIT: Duration = Duration::from_secs(60);

/// The accounts folder.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    wait: Duration,
    on_wait: Option<fn()>,
}

impl Store {
    /// Opens (creating if needed) the store in `accounts_dir`.
    pub fn open(accounts_dir: &Path) -> Result<Self, StoreError> {
        create_private_dir(accounts_dir).map_err(io_err("create", accounts_dir))?;
        Ok(Self::open_existing(accounts_dir))
    }

    /// Opens the store only if it exists (for read-only commands: no folder
    /// is created by `list` on an empty machine).
    pub fn open_existing(accounts_dir: &Path) -> Self {
        Self {
            dir: accounts_dir.to_path_buf(),
            wait: LOCK_WAIT,
            on_wait: None,
        }
    }

    /// Calls `notice` once when a command has to wait for the lock (the CLI
    /// says so on stderr).
    #[must_use]
    pub fn with_wait_notice(mut self, notice: fn()) -> Self {
        self.on_wait = Some(notice);
        self
    }

    /// Sets how long to wait for the lock.
    #[must_use]
    pub fn with_lock_wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// The lock file.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(".lock")
    }

    /// Takes the store lock (waiting up to the bound), then sweeps what a
    /// killed command left. Changes go through the returned [`Locked`].
    pub fn lock(&self) -> Result<Locked<'_>, StoreError> {
        create_private_dir(&self.dir).map_err(io_err("create", &self.dir))?;
        let path = self.lock_path();
        let mut notice = || {
            if let Some(f) = self.on_wait {
                f();
            }
        };
        let held = match lock::file(&path, self.wait, &mut notice) {
            Ok(h) => Some(h),
            // A filesystem without locks: go on unlocked rather than not at all.
            Err(LockFailure::Unsupported) => None,
            Err(LockFailure::Busy) => {
                return Err(StoreError::Busy {
                    path: path.display().to_string(),
                });
            }
            Err(LockFailure::Io(e)) => return Err(io_err("create", &path)(e)),
        };
        let locked = Locked {
            store: self,
            _held: held,
        };
        locked.sweep()?;
        Ok(locked)
    }

    /// Whether a killed command left something to sweep at the top level.
    fn has_debris(&self) -> bool {
        fs::read_dir(&self.dir).is_ok_and(|rd| {
            rd.flatten()
                .any(|e| e.file_name().to_str().is_some_and(is_debris_name))
        })
    }

    /// Sweeps (under the lock) only when there is something to sweep, so
    /// read-only commands stay lock-free in the usual case. Best effort: a
    /// reader that cannot write the store (another user, a busy lock) still
    /// reads it, since hidden folders are never listed.
    fn sweep_if_needed(&self) {
        if self.has_debris() {
            let quick = self
                .clone()
                .with_lock_wait(self.wait.min(Duration::from_secs(5)));
            let _ = quick.lock();
        }
    }

    /// All accounts, by label.
    pub fn list(&self) -> Result<Vec<Account>, StoreError> {
        self.sweep_if_needed();
        self.list_in()
    }

    fn list_in(&self) -> Result<Vec<Account>, StoreError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("read", &self.dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || !entry.path().join("account.json").exists() {
                continue;
            }
            out.push(Self::load(&entry.path())?);
        }
        out.sort_by(|a, b| {
            a.meta
                .label
                .to_lowercase()
                .cmp(&b.meta.label.to_lowercase())
                .then(a.meta.id.cmp(&b.meta.id))
        });
        Ok(out)
    }

    fn load(dir: &Path) -> Result<Account, StoreError> {
        let path = dir.join("account.json");
        let bytes = fs::read(&path).map_err(io_err("read", &path))?;
        let meta: AccountMeta =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?;
        // account.json is not authenticated: what it names on disk (its
        // folder, the history folders) is checked before any path is built
        // from it, so an edited file cannot point outside the account.
        let corrupt = |detail: String| StoreError::Corrupt {
            path: path.display().to_string(),
            detail,
        };
        if dir.file_name().and_then(|n| n.to_str()) != Some(meta.id.as_str()) {
            return Err(corrupt(format!(
                "id {:?} is not its folder's name",
                meta.id
            )));
        }
        for fp in
            std::iter::once(&meta.fingerprint).chain(meta.history.iter().map(|h| &h.fingerprint))
        {
            if !is_fingerprint(fp) {
                return Err(corrupt(format!("{fp:?} is not a SHA-256 fingerprint")));
            }
        }
        Ok(Account {
            meta,
            dir: dir.to_path_buf(),
        })
    }

    /// The account with this ID (a unique prefix of at least 4 characters works too).
    pub fn get(&self, id: &str) -> Result<Account, StoreError> {
        self.sweep_if_needed();
        self.get_in(id)
    }

    fn get_in(&self, id: &str) -> Result<Account, StoreError> {
        let unknown = || StoreError::UnknownAccount { id: id.to_string() };
        if id.len() < 4 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(unknown());
        }
        let exact = self.dir.join(id);
        if exact.join("account.json").exists() {
            return Self::load(&exact);
        }
        let matches: Vec<Account> = self
            .list_in()?
            .into_iter()
            .filter(|a| a.meta.id.starts_with(id))
            .collect();
        match <[Account; 1]>::try_from(matches) {
            Ok([one]) => Ok(one),
            Err(_) => Err(unknown()),
        }
    }

    /// The account holding this certificate (current or earlier), if any.
    pub fn find_by_fingerprint(&self, fp: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.list()?.into_iter().find(|a| a.holds(fp)))
    }

    /// Adds an identity as a new account (takes the lock); see [`Locked::add`].
    pub fn add(
        &self,
        identity: &Identity,
        label: &str,
        email: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Account, StoreError> {
        self.lock()?.add(identity, label, email, now)
    }

    /// Records `event` in the home's journal (beside the accounts folder).
    /// Never fails the operation.
    pub fn journal(&self, event: &Event) {
        if let Some(j) = Journal::beside(&self.dir) {
            journal::record(j, event);
        }
    }

    /// Replaces the identity of an account (takes the lock); see [`Locked::replace`].
    pub fn replace(
        &self,
        account: &Account,
        identity: &Identity,
        now: OffsetDateTime,
    ) -> Result<(Account, PathBuf), StoreError> {
        self.lock()?.replace(account, identity, now)
    }

    /// Records a verified backup (takes the lock); see [`Locked::record_backup`].
    pub fn record_backup(
        &self,
        account: &Account,
        record: BackupRecord,
    ) -> Result<Account, StoreError> {
        self.lock()?.record_backup(account, record)
    }

    /// A renewal (takes the lock); see [`Locked::renew`].
    pub fn renew(
        &self,
        account: &Account,
        identity: &Identity,
        now: OffsetDateTime,
    ) -> Result<(Account, bool), StoreError> {
        self.lock()?.renew(account, identity, now)
    }

    /// Deletes one earlier identity (takes the lock); see [`Locked::forget`].
    pub fn forget(
        &self,
        account: &Account,
        fingerprint: &str,
    ) -> Result<(Account, String), StoreError> {
        self.lock()?.forget(account, fingerprint)
    }

    /// Gives an account another label (takes the lock); see [`Locked::rename`].
    pub fn rename(&self, id: &str, label: &str) -> Result<Account, StoreError> {
        self.lock()?.rename(id, label)
    }

    /// Deletes an account and its key (takes the lock); see [`Locked::remove`].
    pub fn remove(&self, account: &Account) -> Result<bool, StoreError> {
        self.lock()?.remove(account)
    }

    /// The folder of the store.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Names a killed command can leave in the accounts folder.
fn is_debris_name(name: &str) -> bool {
    name.starts_with(".new-")
        || name.starts_with(".removed-")
        || name.starts_with(".old-")
        || is_temp_name(name)
}

/// `.certsafe-XXXXXX.tmp`: the temporary files certsafe writes (`write_atomic`
/// and the backup), and nothing else.
pub fn is_temp_name(name: &str) -> bool {
    name.strip_prefix(".certsafe-")
        .and_then(|r| r.strip_suffix(".tmp"))
        .is_some_and(|mid| mid.len() == 6 && mid.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Removes certsafe's own temporary files from `dir` (not recursive).
/// Returns whether something was removed.
pub fn remove_temp_files(dir: &Path) -> std::io::Result<bool> {
    let mut removed = false;
    for entry in fs::read_dir(dir)?.flatten() {
        let is_ours = entry.file_name().to_str().is_some_and(is_temp_name);
        if is_ours && entry.file_type().is_ok_and(|t| t.is_file()) {
            match fs::remove_file(entry.path()) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}

fn remove_tree(path: &Path) -> Result<(), StoreError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("remove", path)(e)),
    }
}

/// The store while its lock is held: every change goes through here.
#[derive(Debug)]
pub struct Locked<'a> {
    store: &'a Store,
    _held: Option<lock::Held>,
}

impl Locked<'_> {
    /// Adds an identity as a new account, and journals it.
    pub fn add(
        &self,
        identity: &Identity,
        label: &str,
        email: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Account, StoreError> {
        let account = self.add_unjournaled(identity, label, email, now)?;
        self.store.journal(&Event::AccountImported {
            account: account.meta.id.clone(),
            fingerprint: account.meta.fingerprint.clone(),
            label: account.meta.label.clone(),
        });
        Ok(account)
    }

    /// A renewal (see `renew_unjournaled`), journaled when it changed the account.
    pub fn renew(
        &self,
        account: &Account,
        identity: &Identity,
        now: OffsetDateTime,
    ) -> Result<(Account, bool), StoreError> {
        let old_fingerprint = self.get(&account.meta.id)?.meta.fingerprint;
        let (renewed, changed) = self.renew_unjournaled(account, identity, now)?;
        if changed {
            self.store.journal(&Event::Renewal {
                account: renewed.meta.id.clone(),
                old_fingerprint,
                new_fingerprint: renewed.meta.fingerprint.clone(),
            });
        }
        Ok((renewed, changed))
    }

    /// Deletes one earlier identity (see `forget_unjournaled`), and journals it.
    pub fn forget(
        &self,
        account: &Account,
        fingerprint: &str,
    ) -> Result<(Account, String), StoreError> {
        let (kept, forgotten) = self.forget_unjournaled(account, fingerprint)?;
        self.store.journal(&Event::IdentityForgotten {
            account: kept.meta.id.clone(),
            fingerprint: forgotten.clone(),
        });
        Ok((kept, forgotten))
    }

    /// Gives an account another label, and journals it.
    pub fn rename(&self, id: &str, label: &str) -> Result<Account, StoreError> {
        let old_label = self.get(id)?.meta.label;
        let account = self.rename_unjournaled(id, label)?;
        self.store.journal(&Event::AccountRenamed {
            account: account.meta.id.clone(),
            old_label,
            new_label: account.meta.label.clone(),
        });
        Ok(account)
    }

    /// Deletes an account and its key (see `remove_unjournaled`); a removal
    /// that deleted something is journaled.
    pub fn remove(&self, account: &Account) -> Result<bool, StoreError> {
        let removed = self.remove_unjournaled(account)?;
        if removed {
            self.store.journal(&Event::AccountRemoved {
                account: account.meta.id.clone(),
                fingerprint: account.meta.fingerprint.clone(),
                label: account.meta.label.clone(),
            });
        }
        Ok(removed)
    }

    /// Finishes or undoes what a killed command left: staging folders and
    /// removed accounts are deleted, an interrupted replacement on a
    /// filesystem without atomic exchange is rolled back, temporary files go.
    fn sweep(&self) -> Result<(), StoreError> {
        let dir = &self.store.dir;
        let Ok(rd) = fs::read_dir(dir) else {
            return Ok(());
        };
        let names: Vec<String> = rd
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        let mut changed = false;
        for name in &names {
            let path = dir.join(name);
            if name.starts_with(".new-") || name.starts_with(".removed-") {
                remove_tree(&path)?;
                changed = true;
            } else if let Some(id) = name.strip_prefix(".old-") {
                let live = dir.join(id);
                if live.join("account.json").exists() {
                    remove_tree(&path)?;
                } else {
                    remove_tree(&live)?;
                    fs::rename(&path, &live).map_err(io_err("write", &live))?;
                }
                changed = true;
            } else if is_temp_name(name) {
                let _ = fs::remove_file(&path);
                changed = true;
            } else if !name.starts_with('.') && path.is_dir() {
                changed |= remove_temp_files(&path).unwrap_or(false);
                for sub in ["archive", "history"] {
                    if let Ok(folders) = fs::read_dir(path.join(sub)) {
                        for a in folders.flatten() {
                            changed |= remove_temp_files(&a.path()).unwrap_or(false);
                        }
                    }
                }
            }
        }
        if changed {
            sync_dir(dir).map_err(io_err("write", dir))?;
        }
        Ok(())
    }

    /// All accounts, by label.
    pub fn list(&self) -> Result<Vec<Account>, StoreError> {
        self.store.list_in()
    }

    /// The account with this ID (or a unique prefix).
    pub fn get(&self, id: &str) -> Result<Account, StoreError> {
        self.store.get_in(id)
    }

    /// The account holding this certificate (current or earlier), if any.
    pub fn find_by_fingerprint(&self, fp: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.list()?.into_iter().find(|a| a.holds(fp)))
    }

    fn staging(&self) -> Result<tempfile::TempDir, StoreError> {
        use std::os::unix::fs::PermissionsExt;
        let staging = tempfile::Builder::new()
            .prefix(".new-")
            .tempdir_in(&self.store.dir)
            .map_err(io_err("write", &self.store.dir))?;
        // The folder becomes the account's: 0700 whatever the umask (it is
        // still empty here).
        fs::set_permissions(staging.path(), fs::Permissions::from_mode(0o700))
            .map_err(io_err("create", staging.path()))?;
        Ok(staging)
    }

    /// Adds an identity as a new account.
    /// The caller journals what it did (a restore records a `Restore` event).
    pub(crate) fn add_unjournaled(
        &self,
        identity: &Identity,
        label: &str,
        email: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Account, StoreError> {
        self.add_with_history(identity, &[], label, email, now)
    }

    /// Adds a new account whose current identity is `identity` and whose
    /// earlier ones are `earlier` (each with the date it was superseded),
    /// all in one step (a restored history).
    pub fn add_with_history(
        &self,
        identity: &Identity,
        earlier: &[(&Identity, OffsetDateTime)],
        label: &str,
        email: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Account, StoreError> {
        check_label(label)?;
        let dir = &self.store.dir;
        let fp = identity.fingerprint();
        for fp in std::iter::once(fp.clone()).chain(earlier.iter().map(|(i, _)| i.fingerprint())) {
            if let Some(existing) = self.find_by_fingerprint(&fp)? {
                return Err(StoreError::AlreadyImported {
                    id: existing.meta.id,
                    label: existing.meta.label,
                });
            }
        }
        let mut id = fp[..ID_LEN].to_string();
        let mut n = 1;
        while dir.join(&id).exists() {
            id = format!("{}{n}", &fp[..ID_LEN]);
            n += 1;
        }
        let mut meta = AccountMeta {
            id: id.clone(),
            label: label.to_string(),
            email: email.map(str::to_string),
            fingerprint: fp,
            created: now,
            backups: Vec::new(),
            archived: Vec::new(),
            history: Vec::new(),
        };
        // Written in a hidden folder, then renamed: an account appears whole or not at all.
        let staging = self.staging()?;
        write_identity_files(staging.path(), identity)?;
        for (earlier, at) in earlier {
            write_earlier(staging.path(), &mut meta, earlier, *at)?;
        }
        write_meta(staging.path(), &meta)?;
        sync_dir(staging.path()).map_err(io_err("write", staging.path()))?;
        let final_dir = dir.join(&id);
        // Renamed while still owned by `staging`: on failure it is deleted,
        // key included; once renamed, nothing is left to delete.
        fs::rename(staging.path(), &final_dir).map_err(io_err("write", &final_dir))?;
        let _ = staging.keep();
        sync_dir(dir).map_err(io_err("write", dir))?;
        Ok(Account {
            meta,
            dir: final_dir,
        })
    }

    /// Changes an account's folder in one step: its files are copied into
    /// a `.new-*` folder, `change` edits the copy and the metadata, and the
    /// copy is exchanged with the live folder (see [`Locked::replace`]).
    fn rebuild(
        &self,
        account: &Account,
        change: impl FnOnce(&Path, &mut AccountMeta) -> Result<(), StoreError>,
    ) -> Result<Account, StoreError> {
        let account = reload(account)?;
        let staging = self.staging()?;
        copy_tree(&account.dir, staging.path())?;
        let mut meta = account.meta.clone();
        change(staging.path(), &mut meta)?;
        write_meta(staging.path(), &meta)?;
        sync_dir(staging.path()).map_err(io_err("write", staging.path()))?;
        self.swap_in(&staging, &account)?;
        Ok(Account {
            meta,
            dir: account.dir.clone(),
        })
    }

    /// A renewal: `identity` becomes the account's current identity and the
    /// current one an earlier identity (superseded at `now`), kept with its
    /// key in `history/<fingerprint>/`. An identity the account already
    /// holds (current or earlier) changes nothing: `Ok((account, false))`.
    fn renew_unjournaled(
        &self,
        account: &Account,
        identity: &Identity,
        now: OffsetDateTime,
    ) -> Result<(Account, bool), StoreError> {
        let account = reload(account)?;
        let fp = identity.fingerprint();
        if account.holds(&fp) {
            return Ok((account, false));
        }
        if let Some(other) = self.find_by_fingerprint(&fp)? {
            return Err(StoreError::AlreadyImported {
                id: other.meta.id,
                label: other.meta.label,
            });
        }
        let renewed = self.rebuild(&account, |staging, meta| {
            let old = staging.join("history").join(&meta.fingerprint);
            create_private_dir(&staging.join("history"))
                .map_err(io_err("create", &staging.join("history")))?;
            remove_tree(&old)?;
            create_private_dir(&old).map_err(io_err("create", &old))?;
            for file in ["key.pem", "cert.pem", "chain.pem"] {
                let from = staging.join(file);
                match fs::rename(&from, old.join(file)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err("write", &from)(e)),
                }
            }
            sync_dir(&old).map_err(io_err("write", &old))?;
            let old_fp = meta.fingerprint.clone();
            meta.history.retain(|h| h.fingerprint != old_fp);
            meta.history.insert(
                0,
                EarlierIdentity {
                    fingerprint: old_fp,
                    superseded_at: now,
                },
            );
            write_identity_files(staging, identity)?;
            meta.fingerprint.clone_from(&fp);
            Ok(())
        })?;
        Ok((renewed, true))
    }

    /// Adds earlier identities to an account (a restored history merged
    /// into an existing account). Those it already holds are skipped;
    /// returns the account and how many were added.
    pub fn add_earlier(
        &self,
        account: &Account,
        earlier: &[(&Identity, OffsetDateTime)],
    ) -> Result<(Account, usize), StoreError> {
        let account = reload(account)?;
        let mut new = Vec::new();
        for (identity, at) in earlier {
            let fp = identity.fingerprint();
            if account.holds(&fp)
                || new
                    .iter()
                    .any(|(i, _): &(&Identity, _)| i.fingerprint() == fp)
            {
                continue;
            }
            if let Some(other) = self.find_by_fingerprint(&fp)? {
                return Err(StoreError::AlreadyImported {
                    id: other.meta.id,
                    label: other.meta.label,
                });
            }
            new.push((*identity, *at));
        }
        if new.is_empty() {
            return Ok((account, 0));
        }
        let count = new.len();
        let account = self.rebuild(&account, |staging, meta| {
            for (identity, at) in &new {
                write_earlier(staging, meta, identity, *at)?;
            }
            Ok(())
        })?;
        Ok((account, count))
    }

    /// Deletes one earlier identity and its key (mail encrypted to it
    /// becomes unreadable: the caller asked). The current identity is
    /// refused; `fingerprint` may be a unique prefix (8 characters or more).
    /// Returns the account and the whole fingerprint removed.
    fn forget_unjournaled(
        &self,
        account: &Account,
        fingerprint: &str,
    ) -> Result<(Account, String), StoreError> {
        let account = reload(account)?;
        let wanted = fingerprint.to_ascii_lowercase();
        let unknown = || StoreError::UnknownIdentity {
            id: account.meta.id.clone(),
            fingerprint: fingerprint.to_string(),
        };
        if wanted.len() < 8 || !wanted.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(unknown());
        }
        if account.meta.fingerprint.starts_with(&wanted) {
            return Err(StoreError::ForgetCurrent {
                id: account.meta.id.clone(),
                fingerprint: account.meta.fingerprint.clone(),
            });
        }
        let matches: Vec<String> = account
            .meta
            .history
            .iter()
            .filter(|h| h.fingerprint.starts_with(&wanted))
            .map(|h| h.fingerprint.clone())
            .collect();
        let Ok([fp]) = <[String; 1]>::try_from(matches) else {
            return Err(unknown());
        };
        let account = self.rebuild(&account, |staging, meta| {
            remove_tree(&staging.join("history").join(&fp))?;
            meta.history.retain(|h| h.fingerprint != fp);
            Ok(())
        })?;
        Ok((account, fp))
    }

    /// Replaces the identity of an account, archiving the old one under
    /// `archive/<time>/`. Backups recorded for the old certificate stay (the
    /// state becomes `outdated` unless the new one was backed up).
    ///
    /// The new state of the whole folder (old files archived, new identity,
    /// record) is built in a `.new-*` folder and exchanged with the live one
    /// in one `renameat2(RENAME_EXCHANGE)`: killed at any instant, the
    /// account holds the old identity or the new one, never a mix.
    pub fn replace(
        &self,
        account: &Account,
        identity: &Identity,
        now: OffsetDateTime,
    ) -> Result<(Account, PathBuf), StoreError> {
        let account = reload(account)?;
        let staging = self.staging()?;
        copy_tree(&account.dir, staging.path())?;
        let archives = staging.path().join("archive");
        create_private_dir(&archives).map_err(io_err("create", &archives))?;
        let stamp = rfc3339(now).replace(':', "-");
        let name = (0..1000)
            .map(|n| {
                if n == 0 {
                    stamp.clone()
                } else {
                    format!("{stamp}-{n}")
                }
            })
            .find(|n| !archives.join(n).exists())
            .unwrap_or_else(|| format!("{stamp}-{}", identity.fingerprint()));
        let archive = archives.join(&name);
        create_private_dir(&archive).map_err(io_err("create", &archive))?;
        for file in ["cert.pem", "chain.pem", "key.pem", "account.json"] {
            let from = staging.path().join(file);
            match fs::rename(&from, archive.join(file)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("archive", &from)(e)),
            }
        }
        sync_dir(&archive).map_err(io_err("archive", &archive))?;
        write_identity_files(staging.path(), identity)?;
        let mut meta = account.meta.clone();
        meta.archived.push(meta.fingerprint.clone());
        meta.fingerprint = identity.fingerprint();
        write_meta(staging.path(), &meta)?;
        sync_dir(staging.path()).map_err(io_err("write", staging.path()))?;
        self.swap_in(&staging, &account)?;
        Ok((
            Account {
                meta,
                dir: account.dir.clone(),
            },
            account.dir.join("archive").join(name),
        ))
    }

    /// Puts the staged folder in place of the account's.
    fn swap_in(&self, staging: &tempfile::TempDir, account: &Account) -> Result<(), StoreError> {
        let dir = &self.store.dir;
        let live = &account.dir;
        match rustix::fs::renameat_with(
            rustix::fs::CWD,
            staging.path(),
            rustix::fs::CWD,
            live,
            rustix::fs::RenameFlags::EXCHANGE,
        ) {
            // The old folder now has the staging name: dropping `staging` deletes it.
            Ok(()) => {}
            Err(e)
                if e == rustix::io::Errno::INVAL
                    || e == rustix::io::Errno::NOSYS
                    || e == rustix::io::Errno::OPNOTSUPP =>
            {
                // No atomic exchange: the old folder steps aside as `.old-<id>`,
                // which the sweep puts back if the new one never arrived.
                // Named after the folder (what the sweep restores), not the
                // id inside account.json, which a copied folder can disagree with.
                let folder = live.file_name().map_or_else(
                    || account.meta.id.clone(),
                    |n| n.to_string_lossy().into_owned(),
                );
                let old = dir.join(format!(".old-{folder}"));
                fs::rename(live, &old).map_err(io_err("write", live))?;
                sync_dir(dir).map_err(io_err("write", dir))?;
                fs::rename(staging.path(), live).map_err(io_err("write", live))?;
                sync_dir(dir).map_err(io_err("write", dir))?;
                remove_tree(&old)?;
            }
            Err(e) => return Err(io_err("write", live)(e.into())),
        }
        sync_dir(dir).map_err(io_err("write", dir))
    }

    /// Records a verified backup in the account as it is now (read again
    /// under the lock, so no other change is lost).
    pub fn record_backup(
        &self,
        account: &Account,
        record: BackupRecord,
    ) -> Result<Account, StoreError> {
        let mut current = reload(account)?;
        current.meta.backups.push(record);
        write_meta(&current.dir, &current.meta)?;
        Ok(current)
    }

    /// Gives an account another label.
    fn rename_unjournaled(&self, id: &str, label: &str) -> Result<Account, StoreError> {
        check_label(label)?;
        let mut account = self.get(id)?;
        account.meta.label = label.to_string();
        write_meta(&account.dir, &account.meta)?;
        Ok(account)
    }

    /// Deletes an account and its key. Returns `false` when it was already
    /// gone (a second remove, or one after a killed remove, succeeds).
    fn remove_unjournaled(&self, account: &Account) -> Result<bool, StoreError> {
        let dir = &self.store.dir;
        if !account.dir.join("account.json").exists() {
            remove_tree(&account.dir)?;
            return Ok(false);
        }
        // What was confirmed is what goes: an identity put in meanwhile (a
        // restore --replace while the question was on screen) is not
        // removed unseen.
        if reload(account)?.meta.fingerprint != account.meta.fingerprint {
            return Err(StoreError::ChangedSinceConfirmed {
                id: account.meta.id.clone(),
            });
        }
        // Renamed away first so a half-deleted account never shows in the
        // list; the sweep finishes a removal that was killed.
        let trash = dir.join(format!(".removed-{}", account.meta.id));
        remove_tree(&trash)?;
        fs::rename(&account.dir, &trash).map_err(io_err("remove", &account.dir))?;
        sync_dir(dir).map_err(io_err("write", dir))?;
        remove_tree(&trash)?;
        sync_dir(dir).map_err(io_err("write", dir))?;
        Ok(true)
    }
}

/// The current state of `account` (read again under the lock).
fn reload(account: &Account) -> Result<Account, StoreError> {
    if !account.dir.join("account.json").exists() {
        return Err(StoreError::UnknownAccount {
            id: account.meta.id.clone(),
        });
    }
    Store::load(&account.dir)
}

/// Copies the files and folders of an account (0600 files, 0700 folders).
fn copy_tree(from: &Path, to: &Path) -> Result<(), StoreError> {
    for entry in fs::read_dir(from).map_err(io_err("read", from))?.flatten() {
        let name = entry.file_name();
        if name.to_str().is_some_and(is_temp_name) {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        let kind = entry.file_type().map_err(io_err("read", &src))?;
        if kind.is_dir() {
            create_private_dir(&dst).map_err(io_err("create", &dst))?;
            copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            let bytes = zeroize::Zeroizing::new(fs::read(&src).map_err(io_err("read", &src))?);
            write_private(&dst, &bytes).map_err(io_err("write", &dst))?;
        }
    }
    Ok(())
}

/// Writes a new 0600 file and syncs it (inside a staging folder: the
/// folder's rename is what makes it visible).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn write_meta(dir: &Path, meta: &AccountMeta) -> Result<(), StoreError> {
    let path = dir.join("account.json");
    let json = serde_json::to_vec_pretty(meta).map_err(|e| StoreError::Corrupt {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    write_atomic(&path, &json).map_err(io_err("write", &path))
}

fn write_identity_files(dir: &Path, identity: &Identity) -> Result<(), StoreError> {
    let corrupt = |e: openssl::error::ErrorStack| StoreError::Corrupt {
        path: dir.display().to_string(),
        detail: e.to_string(),
    };
    let cert = identity.cert.to_pem().map_err(corrupt)?;
    let mut chain = Vec::new();
    for c in &identity.chain {
        chain.extend(c.to_pem().map_err(corrupt)?);
    }
    let key = identity.key_pem().map_err(|e| StoreError::Corrupt {
        path: dir.display().to_string(),
        detail: e.to_string(),
    })?;
    // The key first: a crash leaves at worst the old certificate with the old key.
    let key_path = dir.join("key.pem");
    write_atomic(&key_path, &key).map_err(io_err("write", &key_path))?;
    let cert_path = dir.join("cert.pem");
    write_atomic(&cert_path, &cert).map_err(io_err("write", &cert_path))?;
    let chain_path = dir.join("chain.pem");
    write_atomic(&chain_path, &chain).map_err(io_err("write", &chain_path))
}

/// Writes `identity` as an earlier identity into the account folder `dir`
/// (a staging copy) and lists it in `meta`, newest superseded first.
fn write_earlier(
    dir: &Path,
    meta: &mut AccountMeta,
    identity: &Identity,
    superseded_at: OffsetDateTime,
) -> Result<(), StoreError> {
    let fp = identity.fingerprint();
    let history = dir.join("history");
    create_private_dir(&history).map_err(io_err("create", &history))?;
    let folder = history.join(&fp);
    remove_tree(&folder)?;
    create_private_dir(&folder).map_err(io_err("create", &folder))?;
    write_identity_files(&folder, identity)?;
    sync_dir(&folder).map_err(io_err("write", &folder))?;
    meta.history.retain(|h| h.fingerprint != fp);
    meta.history.push(EarlierIdentity {
        fingerprint: fp,
        superseded_at,
    });
    meta.history
        .sort_by_key(|h| std::cmp::Reverse(h.superseded_at));
    Ok(())
}

/// Reads an identity from certificate, key and chain files (import).
pub fn identity_from_files(
    cert_bytes: &[u8],
    cert_name: &str,
    key: openssl::pkey::PKey<openssl::pkey::Private>,
    chains: &[(Vec<u8>, String)],
) -> Result<Identity, IdentityError> {
    let mut certs = read_certificates(cert_bytes, cert_name)?;
    for (bytes, name) in chains {
        certs.extend(read_certificates(bytes, name)?);
    }
    let identity = Identity::assemble(key, certs)?;
    debug_assert_eq!(identity.fingerprint(), fingerprint(&identity.cert));
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_must_fit_a_friendly_name() {
        assert!(check_label("Dr Léa Martin — Cabinet Ω").is_ok());
        let problem = |l: &str| match check_label(l) {
            Err(StoreError::BadLabel { problem }) => Some(problem),
            _ => None,
        };
        assert_eq!(problem("   "), Some(LabelProblem::Empty));
        assert_eq!(problem("Léa 😀"), Some(LabelProblem::NotBmp));
        assert_eq!(problem("a\u{0}b"), Some(LabelProblem::Control));
        assert_eq!(problem("a\x1b[2Jb"), Some(LabelProblem::Control));
        assert_eq!(problem("a\u{202e}b"), Some(LabelProblem::Control));
        assert_eq!(problem(&"é".repeat(MAX_LABEL_CHARS)), None);
        assert_eq!(
            problem(&"é".repeat(MAX_LABEL_CHARS + 1)),
            Some(LabelProblem::TooLong)
        );
    }

    #[test]
    fn names_from_files_become_labels_that_fit() {
        assert_eq!(label_from_name("Léa 😀").as_deref(), Some("Léa \u{fffd}"));
        assert_eq!(label_from_name("a\nb\x1b").as_deref(), Some("a b"));
        assert_eq!(label_from_name("\u{0}\u{7}"), None);
        let long = label_from_name(&"x".repeat(1000)).unwrap();
        assert_eq!(long.chars().count(), MAX_LABEL_CHARS);
    }

    #[test]
    fn an_edited_account_json_cannot_name_paths_outside_the_account() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("accounts");
        let victim = home.path().join("victim");
        fs::create_dir_all(&victim).unwrap();
        fs::write(victim.join("keep"), "x").unwrap();
        let store = Store::open(&dir).unwrap();
        let good = "a".repeat(64);
        let cases = [
            // a history entry that climbs out of the account
            (
                "aaaaaaaaaaaa",
                "aaaaaaaaaaaa",
                good.clone(),
                "../../../victim",
            ),
            // an id that is not its folder's name
            ("bbbbbbbbbbbb", "../victim", good.clone(), &*"b".repeat(64)),
            // a current fingerprint that is not one
            (
                "cccccccccccc",
                "cccccccccccc",
                "../x".to_string(),
                &*"c".repeat(64),
            ),
        ];
        for (folder, id, fp, earlier) in cases {
            let json = format!(
                r#"{{"id":"{id}","label":"L","email":null,"fingerprint":"{fp}","created":"2026-01-01T00:00:00Z","history":[{{"fingerprint":"{earlier}","superseded_at":"2026-02-01T00:00:00Z"}}]}}"#
            );
            fs::create_dir_all(dir.join(folder)).unwrap();
            fs::write(dir.join(folder).join("account.json"), json).unwrap();
            assert!(
                matches!(store.get(folder), Err(StoreError::Corrupt { .. })),
                "{folder}"
            );
            assert!(matches!(store.list(), Err(StoreError::Corrupt { .. })));
            fs::remove_dir_all(dir.join(folder)).unwrap();
        }
        // The same file with names that are fine loads (the cases above
        // fail on their names, not on their shape).
        let json = format!(
            r#"{{"id":"dddddddddddd","label":"L","email":null,"fingerprint":"{good}","created":"2026-01-01T00:00:00Z","history":[{{"fingerprint":"{}","superseded_at":"2026-02-01T00:00:00Z"}}]}}"#,
            "d".repeat(64)
        );
        fs::create_dir_all(dir.join("dddddddddddd")).unwrap();
        fs::write(dir.join("dddddddddddd").join("account.json"), json).unwrap();
        assert_eq!(store.get("dddddddddddd").unwrap().meta.history.len(), 1);
        assert!(victim.join("keep").exists());
        assert!(is_fingerprint(&good));
        assert!(!is_fingerprint(&"A".repeat(64)));
        assert!(!is_fingerprint(&"a".repeat(63)));
    }

    #[test]
    fn the_lock_sweeps_what_a_killed_command_left() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("accounts");
        let meta = |id: &str| {
            format!(
                r#"{{"id":"{id}","label":"L","email":null,"fingerprint":"{}","created":"2026-01-01T00:00:00Z"}}"#,
                "f".repeat(64)
            )
        };
        let store = Store::open(&dir).unwrap();
        // A killed import, a killed remove, a replacement killed between
        // its two renames (no RENAME_EXCHANGE), a live account with a
        // temporary file, one whose new folder had arrived.
        for (folder, id) in [
            (".new-abc123", "aaaaaaaaaaaa"),
            (".removed-bbbbbbbbbbbb", "bbbbbbbbbbbb"),
            (".old-cccccccccccc", "cccccccccccc"),
            ("dddddddddddd", "dddddddddddd"),
            ("eeeeeeeeeeee", "eeeeeeeeeeee"),
            (".old-eeeeeeeeeeee", "eeeeeeeeeeee"),
        ] {
            fs::create_dir_all(dir.join(folder)).unwrap();
            fs::write(dir.join(folder).join("account.json"), meta(id)).unwrap();
            fs::write(dir.join(folder).join("key.pem"), "KEY").unwrap();
        }
        fs::write(dir.join("dddddddddddd/.certsafe-Ab12Cd.tmp"), "x").unwrap();
        fs::write(dir.join("dddddddddddd/notes.tmp"), "kept").unwrap();
        let ids = |s: &Store| -> Vec<String> {
            s.list().unwrap().into_iter().map(|a| a.meta.id).collect()
        };
        assert_eq!(
            ids(&store),
            ["cccccccccccc", "dddddddddddd", "eeeeeeeeeeee"]
        );
        let mut left: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [".lock", "cccccccccccc", "dddddddddddd", "eeeeeeeeeeee"]
        );
        assert!(!dir.join("dddddddddddd/.certsafe-Ab12Cd.tmp").exists());
        assert!(dir.join("dddddddddddd/notes.tmp").exists());
    }

    #[test]
    fn temp_names_are_only_certsafe_ones() {
        assert!(is_temp_name(".certsafe-a1B2c3.tmp"));
        assert!(!is_temp_name(".certsafe-a1B2c3.tmp.p12"));
        assert!(!is_temp_name("certsafe-a1B2c3.tmp"));
        assert!(!is_temp_name(".certsafe-toolongname.tmp"));
        assert!(!is_temp_name("notes.tmp"));
    }
}
