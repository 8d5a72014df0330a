//! The CRL cache: `CACHE/crl/<ca-fingerprint>/{crl.der,index.bin,meta.json}`,
//! `CACHE/crl/state.json` (fetch history, `ETag`s) and `CACHE/crl/.lock`.
//! Every file is replaced atomically; writers hold the lock.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::CrlError;
use crate::domain::fsutil::{create_private_dir, read_limited, sync_dir, write_atomic};

/// Largest `meta.json` or `state.json` read.
const MAX_JSON: u64 = 16 * 1024 * 1024;

/// Facts of an accepted CRL (`meta.json`): a description for people and
/// `crl status`. No verdict depends on it (the index carries those facts
/// under its HMAC).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Meta {
    /// Fingerprint of the CA that signed it.
    pub ca_fingerprint: String,
    /// The CA's subject.
    pub issuer: String,
    /// `thisUpdate`.
    #[serde(with = "time::serde::rfc3339")]
    pub this_update: OffsetDateTime,
    /// `nextUpdate`.
    #[serde(with = "time::serde::rfc3339")]
    pub next_update: OffsetDateTime,
    /// CRL number in hex (no leading zeros), when present.
    pub crl_number: Option<String>,
    /// Revoked entries.
    pub entries: u64,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
    /// Size of the DER.
    pub bytes: u64,
    /// Where it came from: a URL or `import:<file name>`.
    pub source: String,
    /// When it was accepted.
    #[serde(with = "time::serde::rfc3339")]
    pub accepted_at: OffsetDateTime,
    /// Issuing distribution point URIs (empty: the CRL covers every
    /// certificate of the CA).
    #[serde(default)]
    pub idp_urls: Vec<String>,
    /// A delta CRL's `DeltaCRLIndicator` (hex): the base CRL number it
    /// applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_crl_number: Option<String>,
    /// The Freshest CRL extension's URIs (where its delta CRLs are).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freshest_urls: Vec<String>,
}

/// Why a fetch, an import or an update step did not give a usable CRL, as
/// data (a code and its parameters): stored in `state.json` and put into
/// words only when shown, in the reader's language.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Cause {
    /// The CRL was refused by an acceptance rule.
    Rejected(super::Rejection),
    /// The download failed.
    Fetch(super::fetch::FetchError),
    /// A server answered "not modified" while nothing valid is cached.
    NotModifiedUncached {
        /// The address.
        url: String,
    },
    /// The cache could not be written (not the CRL's fault).
    Cache {
        /// The folder or file.
        path: String,
        /// The system's error number, when there is one.
        os_error: Option<i32>,
    },
    /// The CA that issued the certificates is not imported.
    CaNotImported {
        /// The CA's name.
        issuer: String,
    },
    /// Only LDAP addresses, which older versions did not fetch (read from
    /// an old state.json).
    LdapNotFetched,
    /// No address in a scheme certsafe fetches.
    NoFetchableUrl,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rejected(r) => r.fmt(f),
            Self::Fetch(e) => e.fmt(f),
            Self::NotModifiedUncached { url } => {
                f.write_str(&crate::t!("crl.not_modified_uncached", url = url))
            }
            Self::Cache { path, os_error } => {
                let e = os_error.map_or_else(
                    || std::io::Error::other("?"),
                    std::io::Error::from_raw_os_error,
                );
                f.write_str(&crate::t!(
                    "crl.io",
                    path = path,
                    reason = crate::domain::fsutil::describe_io(&e)
                ))
            }
            Self::CaNotImported { issuer } => {
                f.write_str(&crate::t!("crl.ca_not_imported", issuer = issuer))
            }
            Self::LdapNotFetched => f.write_str(&crate::t!("crl.ldap_not_fetched")),
            Self::NoFetchableUrl => f.write_str(&crate::t!("crl.no_fetchable_url")),
        }
    }
}

impl Cause {
    /// The cause of a failed cache write.
    pub fn cache(e: &CrlError) -> Self {
        match e {
            CrlError::Io { path, source } => Self::Cache {
                path: path.clone(),
                os_error: source.raw_os_error(),
            },
            other => Self::Cache {
                path: other.to_string(),
                os_error: None,
            },
        }
    }
}

/// One fetch or import, as remembered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Attempt {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What happened (stored as its word: `updated`, `invalid`...).
    pub outcome: AttemptOutcome,
    /// Why, for `invalid`, `unreachable` and `cache_error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// The words an older certsafe stored instead of a cause (read, never
    /// written).
    #[serde(default, rename = "message", skip_serializing)]
    pub legacy_message: Option<String>,
    /// The URL or file.
    pub url: Option<String>,
}

impl Attempt {
    /// Why it failed, in the reader's language.
    pub fn reason(&self) -> Option<String> {
        self.cause
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| self.legacy_message.clone())
    }

    /// Whether it failed.
    pub fn failed(&self) -> bool {
        self.outcome.failed()
    }
}

/// What one fetch or import did, as remembered in `state.json`. Stored as
/// the same words as before (`"updated"`, `"invalid"`...), so files written
/// by older versions load unchanged; a word this version does not know is
/// kept as [`AttemptOutcome::Other`] (it counts as neither a success nor a
/// failure) and written back as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum AttemptOutcome {
    /// A new CRL was accepted.
    Updated,
    /// Downloaded, identical to the cached one.
    Unchanged,
    /// The server said 304.
    NotModified,
    /// Brought with `crl import` and accepted.
    Imported,
    /// The CRL broke a rule.
    Invalid,
    /// The download failed.
    Unreachable,
    /// The cache could not be written.
    CacheError,
    /// A word written by another version.
    Other(String),
}

impl AttemptOutcome {
    /// The word stored in `state.json`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::NotModified => "not_modified",
            Self::Imported => "imported",
            Self::Invalid => "invalid",
            Self::Unreachable => "unreachable",
            Self::CacheError => "cache_error",
            Self::Other(w) => w,
        }
    }

    /// Whether it failed.
    pub fn failed(&self) -> bool {
        matches!(self, Self::Invalid | Self::Unreachable | Self::CacheError)
    }
}

impl PartialEq<&str> for AttemptOutcome {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl From<String> for AttemptOutcome {
    fn from(word: String) -> Self {
        match word.as_str() {
            "updated" => Self::Updated,
            "unchanged" => Self::Unchanged,
            "not_modified" => Self::NotModified,
            "imported" => Self::Imported,
            "invalid" => Self::Invalid,
            "unreachable" => Self::Unreachable,
            "cache_error" => Self::CacheError,
            _ => Self::Other(word),
        }
    }
}

impl From<AttemptOutcome> for String {
    fn from(o: AttemptOutcome) -> Self {
        o.as_str().to_string()
    }
}

impl From<super::Outcome> for AttemptOutcome {
    fn from(o: super::Outcome) -> Self {
        use super::Outcome as O;
        match o {
            O::Updated => Self::Updated,
            O::Unchanged => Self::Unchanged,
            O::NotModified => Self::NotModified,
            O::Invalid => Self::Invalid,
            O::Unreachable => Self::Unreachable,
            O::CacheError => Self::CacheError,
            O::NotDue | O::NotFetched | O::NoCa => Self::Other(o.word().to_string()),
        }
    }
}

/// What is remembered about a CA's CRL between runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CaState {
    /// The last attempt.
    pub last: Option<Attempt>,
    /// When a server last confirmed the cached copy (200 or 304).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub confirmed_at: Option<OffsetDateTime>,
    /// The last attempt at the CA's delta CRL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<Attempt>,
    /// When a server last confirmed the cached delta CRL.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub delta_confirmed_at: Option<OffsetDateTime>,
}

/// What is remembered about a URL.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct UrlState {
    /// `ETag` of the accepted copy.
    pub etag: Option<String>,
    /// `Last-Modified` of the accepted copy.
    pub last_modified: Option<String>,
    /// The CA whose CRL it served.
    pub ca: Option<String>,
    /// The last attempt at this URL.
    pub last: Option<Attempt>,
}

/// `state.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    /// By CA fingerprint.
    #[serde(default)]
    pub cas: BTreeMap<String, CaState>,
    /// By URL.
    #[serde(default)]
    pub urls: BTreeMap<String, UrlState>,
}

/// The cache folder.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

/// Holds the cache lock; released on drop.
#[derive(Debug)]
pub struct Lock {
    _file: fs::File,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CrlError {
    let path = path.display().to_string();
    move |source| CrlError::Io { path, source }
}

impl Cache {
    /// The cache in `dir` (`CACHE/crl`).
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// The folder of a CA's CRL.
    pub fn ca_dir(&self, fp: &str) -> PathBuf {
        self.dir.join(fp)
    }

    /// Path of a CA's index.
    pub fn index_path(&self, fp: &str) -> PathBuf {
        self.ca_dir(fp).join("index.bin")
    }

    /// Path of a CA's cached CRL.
    pub fn crl_path(&self, fp: &str) -> PathBuf {
        self.ca_dir(fp).join("crl.der")
    }

    /// The facts of a CA's cached CRL, if any (a damaged file counts as none).
    pub fn meta(&self, fp: &str) -> Option<Meta> {
        let bytes = read_limited(&self.ca_dir(fp).join("meta.json"), MAX_JSON).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Every CA fingerprint with a cached CRL.
    pub fn cached(&self) -> Vec<String> {
        let Ok(rd) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<String> = rd
            .flatten()
            .filter(|e| e.path().join("meta.json").exists())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| n.len() == 64 && n.chars().all(|c| c.is_ascii_hexdigit()))
            .collect();
        out.sort();
        out
    }

    /// The remembered state (empty when missing or damaged).
    pub fn state(&self) -> State {
        read_limited(&self.dir.join("state.json"), MAX_JSON)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Saves the state (hold the lock).
    pub fn save_state(&self, state: &State) -> Result<(), CrlError> {
        create_private_dir(&self.dir).map_err(io(&self.dir))?;
        let path = self.dir.join("state.json");
        let json = serde_json::to_vec_pretty(state).unwrap_or_default();
        write_atomic(&path, &json).map_err(io(&path))
    }

    /// Stores an accepted CRL: the DER, then the index, then the facts
    /// (hold the lock). Each replacement is atomic; `check` reads only the
    /// index, which carries what it needs.
    pub fn store(&self, meta: &Meta, der: &[u8], index: &[u8]) -> Result<(), CrlError> {
        let dir = self.ca_dir(&meta.ca_fingerprint);
        create_private_dir(&dir).map_err(io(&dir))?;
        let crl = dir.join("crl.der");
        write_atomic(&crl, der).map_err(io(&crl))?;
        let idx = dir.join("index.bin");
        write_atomic(&idx, index).map_err(io(&idx))?;
        self.store_meta(meta)
    }

    /// Rewrites only the facts.
    pub fn store_meta(&self, meta: &Meta) -> Result<(), CrlError> {
        let path = self.ca_dir(&meta.ca_fingerprint).join("meta.json");
        let json = serde_json::to_vec_pretty(meta).unwrap_or_default();
        write_atomic(&path, &json).map_err(io(&path))
    }

    /// Takes the cache lock, waiting up to `wait` (`on_wait` is called once
    /// if another process holds it).
    pub fn lock(&self, wait: Duration, on_wait: &mut dyn FnMut()) -> Result<Lock, CrlError> {
        use rustix::fs::{FlockOperation, flock};
        create_private_dir(&self.dir).map_err(io(&self.dir))?;
        let path = self.dir.join(".lock");
        // Non-blocking: a FIFO put in its place cannot make the open wait.
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(i32::try_from(rustix::fs::OFlags::NONBLOCK.bits()).unwrap_or(0))
            .open(&path)
            .map_err(io(&path))?;
        if !file.metadata().map_err(io(&path))?.is_file() {
            return Err(io(&path)(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                crate::t!("io.not_a_file"),
            )));
        }
        let start = Instant::now();
        let mut told = false;
        loop {
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok(Lock { _file: file }),
                Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => {
                    if start.elapsed() >= wait {
                        return Err(CrlError::Locked {
                            path: path.display().to_string(),
                        });
                    }
                    if !told {
                        on_wait();
                        told = true;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(io(&path)(std::io::Error::from(e))),
            }
        }
    }
}

const KEY_LEN: usize = 32;

fn read_key(path: &Path) -> std::io::Result<Vec<u8>> {
    read_limited(path, 4096)
}

fn damaged_key(path: &Path) -> CrlError {
    CrlError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other("the key file is damaged"),
    }
}

/// Reads (or creates, 0600) the per-home secret that authenticates indexes.
///
/// Race-free: a new key is written whole to a private temporary file in the
/// same folder, synced, then moved to its name only if the name is free.
/// That either creates the name with a complete key or fails because
/// another process put its own there first, and then that key is used. No reader can
/// see a partial key, and two processes never end with different keys.
pub fn index_key(path: &Path) -> Result<Vec<u8>, CrlError> {
    match read_key(path) {
        Ok(k) if k.len() == KEY_LEN => return Ok(k),
        Ok(_) => return Err(damaged_key(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(path)(e)),
    }
    let dir = path
        .parent()
        .ok_or_else(|| io(path)(std::io::Error::other("no parent folder")))?;
    create_private_dir(dir).map_err(io(dir))?;
    let mut key = vec![0u8; KEY_LEN];
    openssl::rand::rand_bytes(&mut key).map_err(|e| CrlError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".certsafe-key-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io(dir))?;
    {
        use std::io::Write;
        tmp.write_all(&key).map_err(io(path))?;
        tmp.as_file().sync_all().map_err(io(path))?;
    }
    // Renamed into place only if the name is free (renameat2 NOREPLACE, or
    // link + unlink where that is missing): never over another key.
    match tmp.persist_noclobber(path) {
        Ok(_) => {
            sync_dir(dir).map_err(io(dir))?;
            Ok(key)
        }
        // Another process linked its key first: use theirs (complete, since
        // it was written before being linked).
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            drop(e.file); // removes the temporary file
            key.fill(0);
            match read_key(path) {
                Ok(k) if k.len() == KEY_LEN => Ok(k),
                Ok(_) => Err(damaged_key(path)),
                Err(e) => Err(io(path)(e)),
            }
        }
        Err(e) => Err(io(path)(e.error)),
    }
}

/// Reads the per-home index key without creating it.
pub fn existing_index_key(path: &Path) -> Option<Vec<u8>> {
    read_key(path).ok().filter(|k| k.len() == KEY_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `state.json` as the versions before the typed outcome wrote it
    /// (outcomes as plain words, one of them unknown to this version).
    const OLD_STATE: &str = r#"{
  "cas": {
    "aa": {
      "last": {
        "at": "2026-01-02T03:04:05Z",
        "outcome": "invalid",
        "cause": { "kind": "rejected", "detail": { "code": "not_a_crl" } },
        "url": "http://127.0.0.1:1/a.crl"
      },
      "confirmed_at": null,
      "delta": {
        "at": "2026-01-02T03:04:05Z",
        "outcome": "imported",
        "url": "/media/stick/d.crl"
      }
    },
    "bb": {
      "last": {
        "at": "2026-01-02T03:04:05Z",
        "outcome": "not_modified",
        "url": "http://127.0.0.1:1/b.crl"
      },
      "confirmed_at": "2026-01-02T03:04:05Z"
    }
  },
  "urls": {
    "http://127.0.0.1:1/c.crl": {
      "etag": null,
      "last_modified": null,
      "ca": null,
      "last": {
        "at": "2026-01-02T03:04:05Z",
        "outcome": "a_word_from_the_future",
        "message": "cannot connect (Connection refused)",
        "url": "http://127.0.0.1:1/c.crl"
      }
    }
  }
}"#;

    #[test]
    fn an_old_state_json_loads_typed_and_is_written_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("state.json"), OLD_STATE).unwrap();
        let cache = Cache::new(dir.path());
        let state = cache.state();
        let aa = &state.cas["aa"];
        let last = aa.last.as_ref().unwrap();
        assert_eq!(last.outcome, AttemptOutcome::Invalid);
        assert!(last.failed());
        assert!(matches!(
            last.cause,
            Some(Cause::Rejected(super::super::Rejection::NotACrl))
        ));
        assert_eq!(aa.delta.as_ref().unwrap().outcome, AttemptOutcome::Imported);
        let bb = state.cas["bb"].last.as_ref().unwrap();
        assert_eq!(bb.outcome, AttemptOutcome::NotModified);
        assert!(!bb.failed());
        let c = state.urls["http://127.0.0.1:1/c.crl"]
            .last
            .as_ref()
            .unwrap();
        assert_eq!(
            c.outcome,
            AttemptOutcome::Other("a_word_from_the_future".into())
        );
        assert!(!c.failed());
        // Written back: every outcome is the same word as before.
        cache.save_state(&state).unwrap();
        let again: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("state.json")).unwrap()).unwrap();
        let old: serde_json::Value = serde_json::from_str(OLD_STATE).unwrap();
        for path in [
            "/cas/aa/last/outcome",
            "/cas/aa/delta/outcome",
            "/cas/bb/last/outcome",
            "/urls/http:~1~1127.0.0.1:1~1c.crl/last/outcome",
        ] {
            assert_eq!(again.pointer(path), old.pointer(path), "{path}");
            assert!(
                again
                    .pointer(path)
                    .is_some_and(serde_json::Value::is_string)
            );
        }
        // Only the legacy words are dropped (never written, by design).
        let mut expected = state.clone();
        for u in expected.urls.values_mut() {
            if let Some(l) = u.last.as_mut() {
                l.legacy_message = None;
            }
        }
        assert_eq!(cache.state(), expected);
    }

    #[test]
    fn every_outcome_word_round_trips() {
        for word in [
            "updated",
            "unchanged",
            "not_modified",
            "imported",
            "invalid",
            "unreachable",
            "cache_error",
            "not_due",
        ] {
            let o = AttemptOutcome::from(word.to_string());
            assert_eq!(o.as_str(), word);
            assert_eq!(serde_json::to_string(&o).unwrap(), format!("\"{word}\""));
        }
        assert_eq!(
            AttemptOutcome::from(super::super::Outcome::CacheError),
            AttemptOutcome::CacheError
        );
    }
}
