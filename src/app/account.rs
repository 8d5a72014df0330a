//! Renaming and removing an account.

use time::OffsetDateTime;

use super::{Env, Error};
use crate::domain::journal::{Entry, Journal};
use crate::domain::store::{BackupState, Store, StoreError};

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// Renamed: ID, new label.
    Renamed(String, String),
    /// Removed: ID, label.
    Removed(String, String),
    /// Already gone (removed elsewhere): ID.
    AlreadyGone(String),
}

/// Gives account `id` the label `label`.
pub fn rename_account(env: &Env, id: &str, label: &str) -> Result<Changed, Error> {
    let account = Store::open(&env.home.accounts_dir())?.rename(id, label)?;
    Ok(Changed::Renamed(account.meta.id, account.meta.label))
}

/// Removes account `id` if it still holds the identity `fingerprint` the
/// user saw when confirming.
pub fn remove_account(env: &Env, id: &str, fingerprint: &str) -> Result<Changed, Error> {
    let store = Store::open(&env.home.accounts_dir())?;
    let account = match store.get(id) {
        Ok(a) => a,
        Err(StoreError::UnknownAccount { .. }) => return Ok(Changed::AlreadyGone(id.to_string())),
        Err(e) => return Err(e.into()),
    };
    if account.meta.fingerprint != fingerprint {
        return Err(StoreError::ChangedSinceConfirmed { id: id.to_string() }.into());
    }
    Ok(if store.remove(&account)? {
        Changed::Removed(account.meta.id, account.meta.label)
    } else {
        Changed::AlreadyGone(account.meta.id)
    })
}

/// One identity of the account as the account screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRow {
    /// Fingerprint (full).
    pub fingerprint: String,
    /// Subject, one line.
    pub subject: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Whether it is the current identity.
    pub current: bool,
    /// When a renewal superseded it (earlier identities).
    pub superseded_at: Option<OffsetDateTime>,
    /// Whether its certificate has expired.
    pub expired: bool,
    /// Days left when it expires within the warning window.
    pub expiring_in: Option<i64>,
    /// Whether the last verified backup lacks it (`false` without backup).
    pub missing_from_last_backup: bool,
}

/// The last verified backup, as the account screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastBackup {
    /// When it was verified.
    pub at: OffsetDateTime,
    /// The file.
    pub path: String,
    /// The drive's label.
    pub drive: Option<String>,
}

/// What the account screen shows, loaded by [`load_account`].
#[derive(Debug, Clone)]
pub struct AccountView {
    /// ID.
    pub id: String,
    /// Label.
    pub label: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Backup state.
    pub state: BackupState,
    /// The latest verified backup (any identity).
    pub last_backup: Option<LastBackup>,
    /// Every identity: the current one first, then the earlier ones,
    /// newest first.
    pub identities: Vec<IdentityRow>,
    /// The account's last journal entries, oldest first.
    pub journal: Vec<Entry>,
}

impl AccountView {
    /// The identities the last verified backup lacks.
    pub fn missing(&self) -> Vec<&IdentityRow> {
        self.identities
            .iter()
            .filter(|i| i.missing_from_last_backup)
            .collect()
    }
}

/// Loads what the account screen shows: the account from the store, its
/// identities, backup state and its last `journal_lines` journal entries
/// (the same journal reader as the home screen's popup).
pub fn load_account(env: &Env, id: &str, journal_lines: usize) -> Result<AccountView, Error> {
    let store = Store::open_existing(&env.home.accounts_dir());
    let account = store.get(id)?;
    let now = env.now();
    let latest = account.meta.backups.iter().max_by_key(|b| b.at);
    let warn = time::Duration::days(i64::from(env.config.certificates.expiry_warning_days));
    let identities = account
        .identities(now)?
        .into_iter()
        .map(|e| {
            let left = e.info.not_after - now;
            IdentityRow {
                missing_from_last_backup: latest
                    .is_some_and(|b| !b.carried().contains(&e.info.fingerprint.as_str())),
                expiring_in: (!e.expired && left <= warn).then(|| left.whole_days()),
                fingerprint: e.info.fingerprint,
                subject: e.info.subject,
                not_before: e.info.not_before,
                not_after: e.info.not_after,
                current: e.current,
                superseded_at: e.superseded_at,
                expired: e.expired,
            }
        })
        .collect();
    let journal = Journal::from(&env.home)
        .last(Some(id), journal_lines)
        .unwrap_or_default();
    Ok(AccountView {
        id: account.meta.id.clone(),
        label: account.meta.label.clone(),
        email: account.meta.email.clone(),
        state: account.backup_state(now, env.config.backup.max_age_days),
        last_backup: latest.map(|b| LastBackup {
            at: b.at,
            path: b.path.clone(),
            drive: b.drive_label.clone(),
        }),
        identities,
        journal,
    })
}

/// Forgets the earlier identity `fingerprint` of account `id`: the same
/// domain call as `account forget` (under the store lock, journaled).
/// Returns the fingerprint forgotten.
pub fn forget_identity(env: &Env, id: &str, fingerprint: &str) -> Result<String, Error> {
    let store = Store::open(&env.home.accounts_dir())?;
    let account = store.get(id)?;
    Ok(store.forget(&account, fingerprint).map(|(_, fp)| fp)?)
}
