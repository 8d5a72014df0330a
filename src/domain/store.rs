//! The store of accounts: `DATA/accounts/<id>/` holds `account.json`,
//! `cert.pem`, `chain.pem` and `key.pem` (0600). Replaced identities are kept
//! under `archive/<time>/`.

use std::fs;
use std::path::{Path, PathBuf};

use openssl::x509::X509;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::fsutil::{create_private_dir, describe_io, sync_dir, write_atomic};
use super::identity::{
    CertInfo, Identity, IdentityError, fingerprint, read_certificates, read_private_key,
};
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
    /// The label is empty or has a NUL byte.
    #[error("{}", crate::t!("cli.bad_label"))]
    BadLabel,
    /// A stored file is corrupt.
    #[error("{}", crate::t!("store.corrupt", path = .path, detail = .detail))]
    Corrupt {
        /// Which file.
        path: String,
        /// What is wrong.
        detail: String,
    },
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
    /// Fingerprint of the certificate inside.
    pub fingerprint: String,
    /// Profile of the file (`None` when restored from a foreign file).
    pub profile: Option<Profile>,
    /// `backup` or `restore`.
    pub origin: String,
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
}

/// Backup state of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupState {
    /// Never backed up.
    None,
    /// The certificate changed since the last verified backup.
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
        let path = self.dir.join("cert.pem");
        let bytes = fs::read(&path).map_err(io_err("read", &path))?;
        X509::from_pem(&bytes).map_err(|e| StoreError::Corrupt {
            path: path.display().to_string(),
            detail: e.to_string(),
        })
    }

    /// Facts about the certificate.
    pub fn info(&self) -> Result<CertInfo, StoreError> {
        let cert = self.cert()?;
        Ok(CertInfo::of(&cert))
    }

    /// The chain, nearest issuer first.
    pub fn chain(&self) -> Result<Vec<X509>, StoreError> {
        let path = self.dir.join("chain.pem");
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

    /// The whole identity, private key included.
    pub fn identity(&self) -> Result<Identity, StoreError> {
        let path = self.dir.join("key.pem");
        let bytes = zeroize::Zeroizing::new(fs::read(&path).map_err(io_err("read", &path))?);
        let corrupt = |detail: String| StoreError::Corrupt {
            path: path.display().to_string(),
            detail,
        };
        let key = read_private_key(&bytes, None, "key.pem").map_err(|e| corrupt(e.to_string()))?;
        let identity = Identity {
            key,
            cert: self.cert()?,
            chain: self.chain()?,
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

    /// Backup state at `now` with the configured maximum age.
    pub fn backup_state(&self, now: OffsetDateTime, max_age_days: u32) -> BackupState {
        let latest = self
            .meta
            .backups
            .iter()
            .filter(|b| b.fingerprint == self.meta.fingerprint)
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
            .filter(|b| b.fingerprint == self.meta.fingerprint)
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

/// The accounts folder.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store in `accounts_dir`.
    pub fn open(accounts_dir: &Path) -> Result<Self, StoreError> {
        create_private_dir(accounts_dir).map_err(io_err("create", accounts_dir))?;
        Ok(Self {
            dir: accounts_dir.to_path_buf(),
        })
    }

    /// Opens the store only if it exists (for read-only commands: no folder
    /// is created by `list` on an empty machine).
    pub fn open_existing(accounts_dir: &Path) -> Self {
        Self {
            dir: accounts_dir.to_path_buf(),
        }
    }

    /// All accounts, by label.
    pub fn list(&self) -> Result<Vec<Account>, StoreError> {
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
        Ok(Account {
            meta,
            dir: dir.to_path_buf(),
        })
    }

    /// The account with this ID (a unique prefix of at least 4 characters works too).
    pub fn get(&self, id: &str) -> Result<Account, StoreError> {
        let unknown = || StoreError::UnknownAccount { id: id.to_string() };
        if id.len() < 4 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(unknown());
        }
        let exact = self.dir.join(id);
        if exact.join("account.json").exists() {
            return Self::load(&exact);
        }
        let matches: Vec<Account> = self
            .list()?
            .into_iter()
            .filter(|a| a.meta.id.starts_with(id))
            .collect();
        match <[Account; 1]>::try_from(matches) {
            Ok([one]) => Ok(one),
            Err(_) => Err(unknown()),
        }
    }

    /// The account holding this certificate, if any.
    pub fn find_by_fingerprint(&self, fp: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.list()?.into_iter().find(|a| a.meta.fingerprint == fp))
    }

    /// Adds an identity as a new account.
    pub fn add(
        &self,
        identity: &Identity,
        label: &str,
        email: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Account, StoreError> {
        if label.trim().is_empty() || label.contains('\0') {
            return Err(StoreError::BadLabel);
        }
        let fp = identity.fingerprint();
        if let Some(existing) = self.find_by_fingerprint(&fp)? {
            return Err(StoreError::AlreadyImported {
                id: existing.meta.id,
                label: existing.meta.label,
            });
        }
        let mut id = fp[..ID_LEN].to_string();
        let mut n = 1;
        while self.dir.join(&id).exists() {
            id = format!("{}{n}", &fp[..ID_LEN]);
            n += 1;
        }
        let meta = AccountMeta {
            id: id.clone(),
            label: label.to_string(),
            email: email.map(str::to_string),
            fingerprint: fp,
            created: now,
            backups: Vec::new(),
            archived: Vec::new(),
        };
        // Written in a hidden folder, then renamed: an account appears whole or not at all.
        let staging = tempfile::Builder::new()
            .prefix(".new-")
            .tempdir_in(&self.dir)
            .map_err(io_err("write", &self.dir))?;
        write_identity_files(staging.path(), identity)?;
        write_meta(staging.path(), &meta)?;
        let final_dir = self.dir.join(&id);
        // Renamed while still owned by `staging`: on failure it is deleted,
        // key included; once renamed, nothing is left to delete.
        fs::rename(staging.path(), &final_dir).map_err(io_err("write", &final_dir))?;
        let _ = staging.keep();
        sync_dir(&self.dir).map_err(io_err("write", &self.dir))?;
        Ok(Account {
            meta,
            dir: final_dir,
        })
    }

    /// Replaces the identity of an account, archiving the old one under
    /// `archive/<time>/`. Backups recorded for the old certificate stay (the
    /// state becomes `outdated` unless the new one was backed up).
    pub fn replace(
        &self,
        account: &Account,
        identity: &Identity,
        now: OffsetDateTime,
    ) -> Result<(Account, PathBuf), StoreError> {
        // A new folder per replacement (never reused), each file synced
        // before the live identity is touched: the old key survives a crash.
        let archives = account.dir.join("archive");
        create_private_dir(&archives).map_err(io_err("create", &archives))?;
        let stamp = rfc3339(now).replace(':', "-");
        let archive = (0..1000)
            .map(|n| {
                archives.join(if n == 0 {
                    stamp.clone()
                } else {
                    format!("{stamp}-{n}")
                })
            })
            .find(|p| !p.exists())
            .unwrap_or_else(|| archives.join(format!("{stamp}-{}", identity.fingerprint())));
        create_private_dir(&archive).map_err(io_err("create", &archive))?;
        for name in ["cert.pem", "chain.pem", "key.pem", "account.json"] {
            let from = account.dir.join(name);
            match fs::read(&from) {
                Ok(bytes) => {
                    let bytes = zeroize::Zeroizing::new(bytes);
                    write_atomic(&archive.join(name), &bytes).map_err(io_err("archive", &from))?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("archive", &from)(e)),
            }
        }
        write_identity_files(&account.dir, identity)?;
        let mut meta = account.meta.clone();
        meta.archived.push(meta.fingerprint.clone());
        meta.fingerprint = identity.fingerprint();
        write_meta(&account.dir, &meta)?;
        Ok((
            Account {
                meta,
                dir: account.dir.clone(),
            },
            archive,
        ))
    }

    /// Records a verified backup.
    pub fn record_backup(
        &self,
        account: &Account,
        record: BackupRecord,
    ) -> Result<Account, StoreError> {
        let mut meta = account.meta.clone();
        meta.backups.push(record);
        write_meta(&account.dir, &meta)?;
        Ok(Account {
            meta,
            dir: account.dir.clone(),
        })
    }

    /// Deletes an account and its key.
    pub fn remove(&self, account: &Account) -> Result<(), StoreError> {
        // Renamed away first so a half-deleted account never shows in the list.
        let trash = self.dir.join(format!(".removed-{}", account.meta.id));
        fs::rename(&account.dir, &trash).map_err(io_err("remove", &account.dir))?;
        fs::remove_dir_all(&trash).map_err(io_err("remove", &trash))?;
        sync_dir(&self.dir).map_err(io_err("write", &self.dir))
    }

    /// The folder of the store.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
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
