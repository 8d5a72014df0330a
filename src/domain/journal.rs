//! The journal: an append-only record of what certsafe did in this home
//! (`DATA/journal.jsonl`), shown by `certsafe log` and the TUI.
//!
//! One JSON object per line: `at` (RFC 3339, UTC), `event` (a code), the
//! `account` ID when there is one, and the event's parameters as typed
//! fields. Nothing translated and nothing secret is stored: no password, no
//! key, only fingerprints, labels, paths and codes. Text is produced when
//! the journal is shown, in the reader's language, with outside text made
//! visible ([`crate::domain::text::visible`] through `t!`).
//!
//! Each line is at most [`MAX_LINE`] bytes (long parameters are cut) and is
//! written with one `write` on a file opened `O_APPEND`, mode 0600, under
//! the journal's own `flock` (`DATA/journal.lock`): concurrent writers never
//! interleave, and a power cut leaves at worst one torn last line, which
//! readers skip (and the next writer starts on a new line after it). When
//! the file would pass its bound ([`MAX_FILE`]) it becomes `journal.jsonl.1`
//! (the previous `.1` becomes `.2`; [`KEEP`] old files are kept).
//!
//! Writing the journal never fails an operation: [`record`] swallows the
//! error and calls, once per process, the notice the front end installed
//! ([`set_failure_notice`]; the CLI prints it on stderr).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::crl::cache::Cause;
use super::crl::update::Outcome;
use super::fsutil::{create_private_dir, read_limited, sync_dir};
use super::home::Home;
use super::p12::Profile;

/// The journal's file name in the data folder.
pub const FILE_NAME: &str = "journal.jsonl";
/// The lock taken while appending or rotating.
pub const LOCK_NAME: &str = "journal.lock";
/// Longest line written, line break included.
pub const MAX_LINE: usize = 4096;
/// Size past which the journal is rotated.
pub const MAX_FILE: u64 = 1 << 20;
/// Old journals kept (`journal.jsonl.1` .. `journal.jsonl.KEEP`).
pub const KEEP: usize = 2;
/// How long a writer waits for another one; after that it appends without
/// the lock (one `O_APPEND` write is still whole) and skips rotation.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// What happened. Serialised with `event` as its code and the fields beside
/// it; `account` is the account's ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// An identity became a new account (`account import`).
    AccountImported {
        /// The account.
        account: String,
        /// Its certificate.
        fingerprint: String,
        /// Its label.
        label: String,
    },
    /// A renewed identity was added to an account (`--renewal-of`).
    Renewal {
        /// The account.
        account: String,
        /// The identity superseded.
        old_fingerprint: String,
        /// The new current identity.
        new_fingerprint: String,
    },
    /// An earlier identity and its key were deleted (`account forget`).
    IdentityForgotten {
        /// The account.
        account: String,
        /// The identity deleted.
        fingerprint: String,
    },
    /// A backup was written, read back and verified.
    Backup {
        /// The account.
        account: String,
        /// Every identity inside.
        fingerprints: Vec<String>,
        /// The file.
        path: String,
        /// The drive's mount point, when on a known drive.
        mount_point: Option<String>,
        /// The drive's label, when known.
        drive_label: Option<String>,
        /// The profile.
        profile: Profile,
        /// Read back and opened with the password (always true today: an
        /// unverified file is not kept).
        verified: bool,
    },
    /// A backup was attempted and did not complete (no file kept).
    BackupFailed {
        /// The account.
        account: String,
        /// The file aimed at.
        path: String,
        /// Why, as a code (`verification`, `io`, `drive`, `exists`, ...).
        code: String,
    },
    /// A backup file was restored.
    Restore {
        /// The account it went into.
        account: String,
        /// The identity restored.
        fingerprint: String,
        /// The file.
        path: String,
        /// `created`, `replaced` or `already_present`.
        action: String,
    },
    /// An account got another label.
    AccountRenamed {
        /// The account.
        account: String,
        /// The label before.
        old_label: String,
        /// The label now.
        new_label: String,
    },
    /// An account and its key were deleted.
    AccountRemoved {
        /// The account.
        account: String,
        /// Its certificate.
        fingerprint: String,
        /// Its label.
        label: String,
    },
    /// A CA became trusted.
    CaImported {
        /// The CA certificate.
        fingerprint: String,
        /// Its subject.
        subject: String,
    },
    /// A CA is no longer trusted.
    CaRemoved {
        /// The CA certificate.
        fingerprint: String,
        /// Its subject.
        subject: String,
    },
    /// A correspondent's certificate was added.
    CorrespondentImported {
        /// The certificate.
        fingerprint: String,
        /// Its subject.
        subject: String,
    },
    /// A correspondent's certificate was removed.
    CorrespondentRemoved {
        /// The certificate.
        fingerprint: String,
        /// Its subject.
        subject: String,
    },
    /// One CA's CRL in a `crl update`: fetched, unchanged or failed.
    CrlUpdate {
        /// The CA, when imported.
        ca_fingerprint: Option<String>,
        /// The CA's name.
        issuer: String,
        /// What happened (`updated`, `unchanged`, `not_modified`,
        /// `invalid`, `unreachable`, `cache_error`).
        outcome: Outcome,
        /// The address used.
        url: Option<String>,
        /// Why it failed, as data.
        cause: Option<Cause>,
    },
    /// A CRL file was imported (`crl import`).
    CrlImport {
        /// The CA it belongs to, when known.
        ca_fingerprint: Option<String>,
        /// The file.
        path: String,
        /// `updated`, `unchanged` or `invalid` (the words of `state.json`).
        outcome: crate::domain::crl::cache::AttemptOutcome,
        /// Why it was refused, as data.
        cause: Option<Cause>,
    },
    /// A line this version does not know (written by a newer certsafe).
    #[serde(skip)]
    Unrecognized {
        /// Its `event` code.
        code: String,
        /// Its `account`, if any.
        account: Option<String>,
    },
}

impl Event {
    /// The event's code (the `event` field).
    pub fn code(&self) -> &str {
        match self {
            Self::AccountImported { .. } => "account_imported",
            Self::Renewal { .. } => "renewal",
            Self::IdentityForgotten { .. } => "identity_forgotten",
            Self::Backup { .. } => "backup",
            Self::BackupFailed { .. } => "backup_failed",
            Self::Restore { .. } => "restore",
            Self::AccountRenamed { .. } => "account_renamed",
            Self::AccountRemoved { .. } => "account_removed",
            Self::CaImported { .. } => "ca_imported",
            Self::CaRemoved { .. } => "ca_removed",
            Self::CorrespondentImported { .. } => "correspondent_imported",
            Self::CorrespondentRemoved { .. } => "correspondent_removed",
            Self::CrlUpdate { .. } => "crl_update",
            Self::CrlImport { .. } => "crl_import",
            Self::Unrecognized { code, .. } => code,
        }
    }

    /// The account concerned, if any.
    pub fn account(&self) -> Option<&str> {
        match self {
            Self::AccountImported { account, .. }
            | Self::Renewal { account, .. }
            | Self::IdentityForgotten { account, .. }
            | Self::Backup { account, .. }
            | Self::BackupFailed { account, .. }
            | Self::Restore { account, .. }
            | Self::AccountRenamed { account, .. }
            | Self::AccountRemoved { account, .. } => Some(account),
            Self::Unrecognized { account, .. } => account.as_deref(),
            _ => None,
        }
    }
}

impl std::fmt::Display for Event {
    /// The event in the reader's language (outside text made visible by `t!`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::t;
        let none = || "-".to_string();
        let text = match self {
            Self::AccountImported {
                fingerprint, label, ..
            } => t!(
                "journal.account_imported",
                label = label,
                fingerprint = fingerprint
            ),
            Self::Renewal {
                old_fingerprint,
                new_fingerprint,
                ..
            } => t!(
                "journal.renewal",
                old = old_fingerprint,
                new = new_fingerprint
            ),
            Self::IdentityForgotten { fingerprint, .. } => {
                t!("journal.identity_forgotten", fingerprint = fingerprint)
            }
            Self::Backup {
                fingerprints,
                path,
                mount_point,
                drive_label,
                profile,
                verified,
                ..
            } => {
                let key = if *verified {
                    "journal.backup_verified"
                } else {
                    "journal.backup_unverified"
                };
                t!(
                    key,
                    path = path,
                    drive = drive_label.clone().unwrap_or_else(none),
                    mount = mount_point.clone().unwrap_or_else(none),
                    profile = serde_json::to_value(profile)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    fingerprints = fingerprints.join(", ")
                )
            }
            Self::BackupFailed { path, code, .. } => {
                t!("journal.backup_failed", path = path, code = code)
            }
            Self::Restore {
                fingerprint,
                path,
                action,
                ..
            } => t!(
                "journal.restore",
                path = path,
                fingerprint = fingerprint,
                action = t!(&format!("journal.action_{action}"))
            ),
            Self::AccountRenamed {
                old_label,
                new_label,
                ..
            } => t!("journal.account_renamed", old = old_label, new = new_label),
            Self::AccountRemoved {
                fingerprint, label, ..
            } => t!(
                "journal.account_removed",
                label = label,
                fingerprint = fingerprint
            ),
            Self::CaImported {
                fingerprint,
                subject,
            } => t!(
                "journal.ca_imported",
                subject = subject,
                fingerprint = fingerprint
            ),
            Self::CaRemoved {
                fingerprint,
                subject,
            } => t!(
                "journal.ca_removed",
                subject = subject,
                fingerprint = fingerprint
            ),
            Self::CorrespondentImported {
                fingerprint,
                subject,
            } => t!(
                "journal.correspondent_imported",
                subject = subject,
                fingerprint = fingerprint
            ),
            Self::CorrespondentRemoved {
                fingerprint,
                subject,
            } => t!(
                "journal.correspondent_removed",
                subject = subject,
                fingerprint = fingerprint
            ),
            Self::CrlUpdate {
                issuer,
                outcome,
                url,
                cause,
                ..
            } => {
                let mut s = t!(
                    "journal.crl_update",
                    issuer = issuer,
                    outcome = t!(&format!("crlcli.outcome_{}", outcome.word())),
                    url = url.clone().unwrap_or_else(none)
                );
                if let Some(c) = cause {
                    s = format!("{s}: {c}");
                }
                s
            }
            Self::CrlImport {
                path,
                outcome,
                cause,
                ..
            } => {
                let mut s = t!(
                    "journal.crl_import",
                    path = path,
                    outcome = t!(&format!("journal.import_{}", outcome.as_str()))
                );
                if let Some(c) = cause {
                    s = format!("{s}: {c}");
                }
                s
            }
            Self::Unrecognized { code, .. } => t!("journal.unrecognized", code = code),
        };
        f.write_str(&text)
    }
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When, in UTC.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What.
    #[serde(flatten)]
    pub event: Event,
}

impl Entry {
    /// The entry as JSON (the line's object; an unrecognised line keeps its
    /// `event` code and `account`).
    pub fn to_json(&self) -> serde_json::Value {
        match &self.event {
            Event::Unrecognized { code, account } => serde_json::json!({
                "at": super::time::rfc3339(self.at),
                "event": code,
                "account": account,
            }),
            _ => serde_json::to_value(self).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// The journal of one home.
#[derive(Debug, Clone)]
pub struct Journal {
    dir: PathBuf,
    max_bytes: u64,
}

impl From<&Home> for Journal {
    fn from(home: &Home) -> Self {
        Self::in_dir(&home.data_dir)
    }
}

impl From<&Path> for Journal {
    fn from(dir: &Path) -> Self {
        Self::in_dir(dir)
    }
}

impl From<&PathBuf> for Journal {
    fn from(dir: &PathBuf) -> Self {
        Self::in_dir(dir)
    }
}

impl Journal {
    /// The journal kept in the data folder `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            max_bytes: MAX_FILE,
        }
    }

    /// The journal beside a folder of the data folder (`accounts`, `cas`,
    /// `correspondents`): in its parent.
    pub fn beside(folder: &Path) -> Option<Self> {
        folder.parent().map(Self::in_dir)
    }

    /// Sets the size past which the file is rotated (tests use a small one).
    #[must_use]
    pub fn with_max_bytes(mut self, max: u64) -> Self {
        self.max_bytes = max.max(MAX_LINE as u64);
        self
    }

    /// The current file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// The `n`th old file (`journal.jsonl.n`).
    pub fn old_path(&self, n: usize) -> PathBuf {
        self.dir.join(format!("{FILE_NAME}.{n}"))
    }

    /// Appends `events`, all stamped `at`, one line each.
    pub fn append(&self, at: OffsetDateTime, events: &[Event]) -> io::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        create_private_dir(&self.dir)?;
        let lock = super::lock::file(&self.dir.join(LOCK_NAME), LOCK_WAIT, &mut || {}).ok();
        for event in events {
            let line = line_of(&Entry {
                at,
                event: event.clone(),
            });
            if lock.is_some() {
                self.rotate_if_needed(line.len() as u64)?;
            }
            self.write_line(line)?;
        }
        Ok(())
    }

    fn write_line(&self, mut line: Vec<u8>) -> io::Result<()> {
        let path = self.path();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(i32::try_from(rustix::fs::OFlags::NOFOLLOW.bits()).unwrap_or(0))
            .open(&path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the journal is not a regular file",
            ));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
        // A line torn by a power cut gets its line break first, so only the
        // torn line is lost, never this one.
        if meta.len() > 0 && !ends_with_newline(&file, meta.len()) {
            line.insert(0, b'\n');
        }
        write_once(&file, &line)?;
        file.sync_data()
    }

    /// Renames the file away when `incoming` more bytes would pass the bound
    /// (called under the lock).
    fn rotate_if_needed(&self, incoming: u64) -> io::Result<()> {
        let path = self.path();
        let size = match fs::symlink_metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if size == 0 || size + incoming <= self.max_bytes {
            return Ok(());
        }
        for n in (1..KEEP).rev() {
            match fs::rename(self.old_path(n), self.old_path(n + 1)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        fs::rename(&path, self.old_path(1))?;
        sync_dir(&self.dir)
    }

    /// Every entry, oldest first (the old files, then the current one). A
    /// line that does not parse (a torn last line) is skipped; a missing
    /// file is an empty one.
    pub fn read(&self) -> io::Result<Vec<Entry>> {
        // Not while a writer rotates (best effort: a reader never waits long).
        let _lock = super::lock::file(
            &self.dir.join(LOCK_NAME),
            Duration::from_secs(1),
            &mut || {},
        )
        .ok()
        .filter(|_| self.dir.is_dir());
        let bound = self.max_bytes.max(MAX_FILE).saturating_mul(4);
        let mut out = Vec::new();
        let files = (1..=KEEP)
            .rev()
            .map(|n| self.old_path(n))
            .chain(std::iter::once(self.path()));
        for path in files {
            let bytes = match read_limited(&path, bound) {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            out.extend(parse(&bytes));
        }
        Ok(out)
    }

    /// The last `n` entries of `account` (or of everything), oldest first.
    pub fn last(&self, account: Option<&str>, n: usize) -> io::Result<Vec<Entry>> {
        let mut all: Vec<Entry> = self
            .read()?
            .into_iter()
            .filter(|e| account.is_none_or(|a| e.event.account() == Some(a)))
            .collect();
        let skip = all.len().saturating_sub(n);
        Ok(all.split_off(skip))
    }
}

fn ends_with_newline(file: &File, len: u64) -> bool {
    let mut last = [0u8; 1];
    matches!(file.read_at(&mut last, len - 1), Ok(1)) && last[0] == b'\n'
}

/// One `write` of the whole line; a short write is an error (the line is
/// then torn, like a power cut, and skipped by readers).
fn write_once(mut file: &File, line: &[u8]) -> io::Result<()> {
    let n = file.write(line)?;
    if n == line.len() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "short journal write",
        ))
    }
}

/// The entries of one file's bytes: every complete line that parses.
pub fn parse(bytes: &[u8]) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut rest = bytes;
    // Only lines ended by a line break: the last one, unended, is torn.
    while let Some(i) = rest.iter().position(|&b| b == b'\n') {
        let line = &rest[..i];
        rest = &rest[i + 1..];
        if let Some(e) = parse_line(line) {
            out.push(e);
        }
    }
    out
}

fn parse_line(line: &[u8]) -> Option<Entry> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    if let Ok(e) = serde_json::from_slice::<Entry>(line) {
        return Some(e);
    }
    // A well-formed line of an event this version does not know.
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    let at = v.get("at")?.as_str()?;
    let at = OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()?;
    Some(Entry {
        at,
        event: Event::Unrecognized {
            code: v.get("event")?.as_str()?.to_string(),
            account: v
                .get("account")
                .and_then(|a| a.as_str())
                .map(str::to_string),
        },
    })
}

/// The line for `entry`: JSON and a line break, at most [`MAX_LINE`]
/// bytes; long strings are cut (ending in `…`) until it fits.
pub fn line_of(entry: &Entry) -> Vec<u8> {
    // Fields in their declared order (`at`, `event`, ...) when it fits.
    if !matches!(entry.event, Event::Unrecognized { .. }) {
        if let Ok(mut text) = serde_json::to_string(entry) {
            if text.len() < MAX_LINE {
                text.push('\n');
                return text.into_bytes();
            }
        }
    }
    let mut value = entry.to_json();
    let mut limit = 1024;
    loop {
        if let Ok(mut text) = serde_json::to_string(&value) {
            if text.len() < MAX_LINE {
                text.push('\n');
                return text.into_bytes();
            }
        }
        if limit < 8 {
            break;
        }
        cut_strings(&mut value, limit);
        limit /= 2;
    }
    // Still too long (a very long list): the code alone.
    let mut text = serde_json::json!({
        "at": super::time::rfc3339(entry.at),
        "event": entry.event.code(),
        "account": entry.event.account(),
        "truncated": true,
    })
    .to_string();
    text.push('\n');
    text.into_bytes()
}

fn cut_strings(value: &mut serde_json::Value, limit: usize) {
    use serde_json::Value;
    match value {
        Value::String(s) if s.len() > limit => {
            let mut end = limit;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
            s.push('…');
        }
        Value::Array(items) => items.iter_mut().for_each(|v| cut_strings(v, limit)),
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k != "at" && k != "event" {
                    cut_strings(v, limit);
                }
            }
        }
        _ => {}
    }
}

static NOTICE: OnceLock<fn(&io::Error)> = OnceLock::new();
static NOTED: AtomicBool = AtomicBool::new(false);

/// Installs what is done (once per process) when the journal cannot be
/// written; the CLI prints a warning on stderr. Without it, nothing is said.
pub fn set_failure_notice(notice: fn(&io::Error)) {
    let _ = NOTICE.set(notice);
}

/// Records `event` now in the journal of `place` (a [`Home`] or its data
/// folder). Never fails: an error is noted once (see [`set_failure_notice`]).
pub fn record(place: impl Into<Journal>, event: &Event) {
    record_all(place, std::slice::from_ref(event));
}

/// Records several events now, one line each (one lock).
pub fn record_all(place: impl Into<Journal>, events: &[Event]) {
    let journal: Journal = place.into();
    if let Err(e) = journal.append(super::time::now(), events) {
        if !NOTED.swap(true, Ordering::SeqCst) {
            if let Some(notice) = NOTICE.get() {
                notice(&e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap()
    }

    fn renamed(n: usize) -> Event {
        Event::AccountRenamed {
            account: "abc".into(),
            old_label: format!("old {n}"),
            new_label: format!("new {n}"),
        }
    }

    #[test]
    fn lines_are_json_with_at_event_and_account() {
        let line = line_of(&Entry {
            at: at(),
            event: renamed(1),
        });
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["at"], "2026-01-01T00:00:00Z");
        assert_eq!(v["event"], "account_renamed");
        assert_eq!(v["account"], "abc");
        assert_eq!(v["new_label"], "new 1");
        assert_eq!(*line.last().unwrap(), b'\n');
        assert_eq!(parse(&line)[0].event, renamed(1));
    }

    #[test]
    fn long_parameters_are_cut_to_the_line_bound() {
        let event = Event::BackupFailed {
            account: "abc".into(),
            path: "é".repeat(10_000),
            code: "io".into(),
        };
        let line = line_of(&Entry { at: at(), event });
        assert!(line.len() <= MAX_LINE);
        let e = &parse(&line)[0];
        let Event::BackupFailed { path, code, .. } = &e.event else {
            panic!("{e:?}")
        };
        assert!(path.ends_with('…') && path.starts_with("éé"));
        assert_eq!(code, "io");
        let many = Event::Backup {
            account: "abc".into(),
            fingerprints: vec!["a".repeat(64); 500],
            path: "p".into(),
            mount_point: None,
            drive_label: None,
            profile: Profile::Modern,
            verified: true,
        };
        let line = line_of(&Entry {
            at: at(),
            event: many,
        });
        assert!(line.len() <= MAX_LINE);
        let e = &parse(&line)[0];
        assert_eq!(e.event.code(), "backup");
        assert_eq!(e.event.account(), Some("abc"));
    }

    #[test]
    fn torn_and_unknown_lines() {
        let mut bytes = line_of(&Entry {
            at: at(),
            event: renamed(1),
        });
        bytes.extend_from_slice(
            br#"{"at":"2026-01-01T00:00:01Z","event":"future_thing","account":"x","n":1}"#,
        );
        bytes.push(b'\n');
        bytes.extend_from_slice(br#"{"at":"2026-01-01T00:00:02Z","event":"acc"#);
        let entries = parse(&bytes);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].event.code(), "future_thing");
        assert_eq!(entries[1].event.account(), Some("x"));
    }

    #[test]
    fn appends_after_a_torn_line_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::in_dir(dir.path()).with_max_bytes(MAX_LINE as u64);
        j.append(at(), &[renamed(0)]).unwrap();
        // A power cut in the middle of the next line.
        let mut f = OpenOptions::new().append(true).open(j.path()).unwrap();
        f.write_all(br#"{"at":"2026-01"#).unwrap();
        drop(f);
        j.append(at(), &[renamed(1)]).unwrap();
        let got: Vec<Event> = j.read().unwrap().into_iter().map(|e| e.event).collect();
        assert_eq!(got, vec![renamed(0), renamed(1)]);
        let mode = fs::metadata(j.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        for n in 2..200 {
            j.append(at(), &[renamed(n)]).unwrap();
        }
        assert!(j.old_path(KEEP).exists());
        assert!(!j.old_path(KEEP + 1).exists());
        for p in [j.path(), j.old_path(1), j.old_path(2)] {
            assert!(fs::metadata(&p).unwrap().len() <= MAX_LINE as u64);
        }
        let got = j.last(Some("abc"), 3).unwrap();
        let want: Vec<Event> = (197..200).map(renamed).collect();
        assert_eq!(got.into_iter().map(|e| e.event).collect::<Vec<_>>(), want);
        assert!(j.last(Some("other"), 3).unwrap().is_empty());
    }
}
