//! Verify and restore: open a PKCS#12 file from a drive, say what is inside,
//! import it as an account, prove the key works, record it as a backup.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;

use super::identity::{CertInfo, IdentityError};
use super::p12::{self, Layout, Opened, P12Error};
use super::secret::Password;
use super::store::{Account, BackupRecord, Store, StoreError, label_from_name};

/// Why a file could not be verified or restored.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The file cannot be read.
    #[error("{}", crate::t!("restore.read", path = .path, reason = .reason))]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file does not open.
    #[error("{}", crate::t!("restore.open", path = .path, reason = .source))]
    Open {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: P12Error,
    },
    /// Restoring would replace an account's key.
    #[error("{}", crate::t!("restore.would_replace", id = .id, label = .label))]
    WouldReplace {
        /// The account.
        id: String,
        /// Its label.
        label: String,
    },
    /// The key does not work.
    #[error(transparent)]
    Proof(#[from] IdentityError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads a file for opening, refusing huge ones before reading them.
pub fn read_file(path: &Path) -> Result<Vec<u8>, RestoreError> {
    let shown = path.display().to_string();
    let read_err = |e: std::io::Error| RestoreError::Read {
        path: shown.clone(),
        reason: super::fsutil::describe_io(&e),
    };
    let meta = fs::metadata(path).map_err(read_err)?;
    if meta.is_dir() {
        return Err(RestoreError::Read {
            path: shown,
            reason: crate::t!("restore.is_folder"),
        });
    }
    if !meta.is_file() {
        // A FIFO or a device would block the open below, or never end.
        return Err(RestoreError::Read {
            path: shown,
            reason: crate::t!("io.not_a_file"),
        });
    }
    if meta.len() > p12::MAX_FILE_SIZE {
        return Err(RestoreError::Open {
            path: shown,
            source: P12Error::TooLarge { size: meta.len() },
        });
    }
    super::fsutil::read_limited(path, p12::MAX_FILE_SIZE).map_err(read_err)
}

/// Finds `.p12`/`.pfx` files in `dir` and one folder down, sorted.
pub fn find_backups(dir: &std::path::Path) -> Result<Vec<PathBuf>, String> {
    if dir.is_file() {
        // The .p12/.pfx file itself was typed: it is the only choice.
        let ok = p12::is_p12_name(dir);
        return if ok {
            Ok(vec![dir.to_path_buf()])
        } else {
            Err(crate::t!("restore.not_a_folder", path = dir.display()))
        };
    }
    crate::domain::fsutil::scan_files(dir, p12::is_p12_name)
}

/// Opens a file with its password.
pub fn open_file(path: &Path, password: &Password) -> Result<Opened, RestoreError> {
    let bytes = read_file(path)?;
    p12::open(&bytes, password).map_err(|source| RestoreError::Open {
        path: path.display().to_string(),
        source,
    })
}

/// What `verify` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Fingerprint of the certificate.
    pub fingerprint: String,
    /// Whether the key belongs to the certificate.
    pub key_matches: bool,
    /// Number of certificates inside.
    pub certificates: usize,
    /// friendlyName of the certificate.
    pub friendly_name: Option<String>,
    /// The leaf.
    pub certificate: CertInfo,
    /// The chain, nearest first.
    pub chain: Vec<CertInfo>,
    /// Whether the chain reaches a self-signed root.
    pub chain_complete: bool,
    /// Algorithms.
    pub layout: Layout,
    /// Whether the file has no MAC (no integrity check).
    pub no_mac: bool,
    /// Whether OpenSSL's legacy provider was needed.
    pub legacy: bool,
    /// When compared with an account: whether it is the same identity.
    pub matches_account: Option<bool>,
}

/// Describes an opened file.
pub fn describe(opened: &Opened, account: Option<&Account>) -> Result<Verification, RestoreError> {
    let matches_account = match account {
        Some(a) => {
            let stored = a.identity()?;
            Some(
                stored.fingerprint() == opened.identity.fingerprint()
                    && stored.key.public_eq(&opened.identity.key),
            )
        }
        None => None,
    };
    Ok(Verification {
        fingerprint: opened.identity.fingerprint(),
        key_matches: opened.identity.key_matches(),
        certificates: opened.certificates,
        friendly_name: opened.friendly_name.clone(),
        certificate: opened.identity.info(),
        chain: opened
            .identity
            .chain
            .iter()
            .map(|c| CertInfo::of(c))
            .collect(),
        chain_complete: opened.identity.chain_complete(),
        layout: opened.layout.clone(),
        no_mac: opened.layout.mac.is_none(),
        legacy: opened.used_legacy_provider,
        matches_account,
    })
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    /// The account's ID.
    pub id: String,
    /// Its label.
    pub label: String,
    /// Fingerprint of the certificate.
    pub fingerprint: String,
    /// `created`, `replaced` or `already_present`.
    pub action: &'static str,
    /// Where the replaced identity was archived.
    pub archived_to: Option<PathBuf>,
    /// The key signed and verified a test message.
    pub key_works: bool,
    /// Whether the file had no MAC.
    pub no_mac: bool,
    /// Whether the certificate has expired.
    pub expired: bool,
    /// Fingerprints of every identity the file brought, current first
    /// (one, unless the file held a history).
    pub identities: Vec<String>,
    /// How many of them were added to the account (a restored history).
    pub added: usize,
}

/// Options of a restore.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Restore into this account.
    pub account: Option<String>,
    /// Label for a new account (else the friendlyName, else the CN).
    pub label: Option<String>,
    /// Allow replacing an account's key.
    pub replace: bool,
}

/// Imports an opened file into the store.
pub fn restore(
    store: &Store,
    path: &Path,
    opened: &Opened,
    options: &RestoreOptions,
    now: OffsetDateTime,
) -> Result<Restored, RestoreError> {
    opened.identity.prove_key()?;
    if let Some(label) = &options.label {
        super::store::check_label(label)?;
    }
    let identity = &opened.identity;
    let fp = identity.fingerprint();
    let record = BackupRecord {
        at: now,
        path: path.display().to_string(),
        mount_point: None,
        drive_label: None,
        fingerprint: fp.clone(),
        fingerprints: vec![fp.clone()],
        profile: None,
        origin: "restore".into(),
    };
    let journal = super::journal::Journal::beside(store.dir());
    // One critical section: the decision, the change and the record.
    let store = store.lock()?;
    let target = match &options.account {
        Some(id) => Some(store.get(id)?),
        None => store.find_by_fingerprint(&fp)?,
    };
    let (account, action, archived_to) = match target {
        Some(existing) if existing.meta.fingerprint == fp => {
            // Same certificate: the key must be the same too, or it is a replacement.
            let same_key = existing
                .identity()
                .is_ok_and(|s| s.key.public_eq(&identity.key));
            if same_key {
                (existing, "already_present", None)
            } else if options.replace {
                let (a, archive) = store.replace(&existing, identity, now)?;
                (a, "replaced", Some(archive))
            } else {
                return Err(RestoreError::WouldReplace {
                    id: existing.meta.id,
                    label: existing.meta.label,
                });
            }
        }
        Some(existing) => {
            if !options.replace {
                return Err(RestoreError::WouldReplace {
                    id: existing.meta.id,
                    label: existing.meta.label,
                });
            }
            let (a, archive) = store.replace(&existing, identity, now)?;
            (a, "replaced", Some(archive))
        }
        None => {
            let label = options
                .label
                .clone()
                .or_else(|| opened.friendly_name.as_deref().and_then(label_from_name))
                .or_else(|| {
                    super::identity::common_name(&identity.cert)
                        .as_deref()
                        .and_then(label_from_name)
                })
                .unwrap_or_else(|| fp[..12].to_string());
            let email = super::identity::emails(&identity.cert).into_iter().next();
            (
                store.add_unjournaled(identity, &label, email.as_deref(), now)?,
                "created",
                None,
            )
        }
    };
    let account = store.record_backup(&account, record)?;
    if let Some(j) = journal {
        super::journal::record(
            j,
            &super::journal::Event::Restore {
                account: account.meta.id.clone(),
                fingerprint: fp.clone(),
                path: path.display().to_string(),
                action: action.to_string(),
            },
        );
    }
    Ok(Restored {
        id: account.meta.id.clone(),
        label: account.meta.label.clone(),
        fingerprint: fp,
        action,
        archived_to,
        key_works: true,
        no_mac: opened.layout.mac.is_none(),
        expired: identity.info().expired_at(now),
        identities: vec![identity.fingerprint()],
        added: usize::from(action == "created" || action == "replaced"),
    })
}

/// Restores a file holding one holder's history (see
/// [`super::history::OpenedAll::is_history`]) as ONE account: the newest
/// valid identity current, the others earlier identities. Into an account
/// that already holds one of them (or `--account`), the missing ones are
/// added: a newer one becomes current (a renewal), older ones join the
/// history. The record counts as a verified backup of every identity.
pub fn restore_history(
    store: &Store,
    path: &Path,
    opened: super::history::OpenedAll,
    options: &RestoreOptions,
    now: OffsetDateTime,
) -> Result<Restored, RestoreError> {
    use super::history::order_history;
    for f in &opened.identities {
        f.identity.prove_key()?;
    }
    if let Some(label) = &options.label {
        super::store::check_label(label)?;
    }
    let no_mac = opened.layout.mac.is_none();
    let (current, earlier) = order_history(opened.identities, |f| &f.identity.cert, now);
    let fps: Vec<String> = std::iter::once(current.identity.fingerprint())
        .chain(earlier.iter().map(|(f, _)| f.identity.fingerprint()))
        .collect();
    let record = BackupRecord {
        at: now,
        path: path.display().to_string(),
        mount_point: None,
        drive_label: None,
        fingerprint: fps[0].clone(),
        fingerprints: fps.clone(),
        profile: None,
        origin: "restore".into(),
    };
    let store = store.lock()?;
    let target = if let Some(id) = &options.account {
        Some(store.get(id)?)
    } else {
        let mut found = None;
        for fp in &fps {
            if let Some(a) = store.find_by_fingerprint(fp)? {
                found = Some(a);
                break;
            }
        }
        found
    };
    let (account, action, added) = match target {
        None => {
            let identity = &current.identity;
            let label = options
                .label
                .clone()
                .or_else(|| {
                    // The friendlyName of a certsafe backup is `label (dates)`.
                    current
                        .friendly_name
                        .as_deref()
                        .map(strip_dates)
                        .and_then(label_from_name)
                })
                .or_else(|| {
                    super::identity::common_name(&identity.cert)
                        .as_deref()
                        .and_then(label_from_name)
                })
                .unwrap_or_else(|| fps[0][..12].to_string());
            let email = super::identity::emails(&identity.cert).into_iter().next();
            let earlier: Vec<(&super::identity::Identity, OffsetDateTime)> =
                earlier.iter().map(|(f, at)| (&f.identity, *at)).collect();
            let account =
                store.add_with_history(identity, &earlier, &label, email.as_deref(), now)?;
            (account, "created", fps.len())
        }
        Some(existing) => {
            let mut account = existing;
            let mut added = 0;
            let existing_start = account.info()?.not_before;
            let mut older: Vec<(&super::identity::Identity, OffsetDateTime)> = Vec::new();
            if !account.holds(&fps[0]) && current.identity.info().not_before > existing_start {
                let (a, changed) = store.renew(&account, &current.identity, now)?;
                account = a;
                added += usize::from(changed);
            } else {
                older.push((&current.identity, now));
            }
            older.extend(earlier.iter().map(|(f, at)| (&f.identity, *at)));
            let (a, n) = store.add_earlier(&account, &older)?;
            account = a;
            added += n;
            let action = if added == 0 {
                "already_present"
            } else {
                "merged"
            };
            (account, action, added)
        }
    };
    let account = store.record_backup(&account, record)?;
    Ok(Restored {
        id: account.meta.id.clone(),
        label: account.meta.label.clone(),
        fingerprint: account.meta.fingerprint.clone(),
        action,
        archived_to: None,
        key_works: true,
        no_mac,
        expired: account.info().is_ok_and(|i| i.expired_at(now)),
        identities: fps,
        added,
    })
}

/// A friendlyName written by a backup of several identities,
/// `Label (2023-01-05 → 2026-01-05)`, without its dates.
fn strip_dates(name: &str) -> &str {
    match name.rsplit_once(" (") {
        Some((label, rest)) if rest.ends_with(')') && rest.contains('\u{2192}') => label,
        _ => name,
    }
}
