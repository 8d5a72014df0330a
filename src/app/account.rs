//! Renaming and removing an account.

use super::{Env, Error};
use crate::domain::store::{Store, StoreError};

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
