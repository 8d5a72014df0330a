//! `account import` as one use case, shared by the CLI and the TUI: the
//! default label, the renewal question, and the import itself under the
//! store lock (a new account, or the renewal of an existing one).

use openssl::x509::X509Ref;
use time::OffsetDateTime;

use super::history::{self, Candidate, RenewalError, Renewed};
use super::identity::{self, Identity};
use super::store::{Account, Store, StoreError, check_label, label_from_name};

/// The label an identity gets when the user gives none: the file's
/// friendlyName, else the certificate's CN, made to fit a label; else the
/// start of the fingerprint.
pub fn default_label(identity: &Identity, friendly_name: Option<&str>) -> String {
    friendly_name
        .and_then(label_from_name)
        .or_else(|| {
            identity::common_name(&identity.cert)
                .as_deref()
                .and_then(label_from_name)
        })
        .unwrap_or_else(|| identity.fingerprint()[..12].to_string())
}

/// The account whose holder is this identity's, if any (the import then
/// asks: renewal of that account, or a separate account?).
pub fn candidate(store: &Store, cert: &X509Ref) -> Result<Option<Candidate>, StoreError> {
    history::renewal_candidate(&store.list()?, cert)
}

/// How to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportAs {
    /// A new account with this label (checked as a typed label).
    New {
        /// The label.
        label: String,
    },
    /// The renewal of this account (same holder required).
    RenewalOf {
        /// The account's ID.
        id: String,
    },
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The account (new or renewed).
    pub account: Account,
    /// `None` for a new account; else what the renewal did.
    pub renewed: Option<Renewed>,
    /// The certificate had expired at import time (imported anyway).
    pub expired: bool,
}

/// Imports `identity` as told, under the store lock. A new account for a
/// holder that already has one is the user's explicit choice here (the
/// caller asked with [`candidate`]).
pub fn import(
    store: &Store,
    identity: &Identity,
    how: &ImportAs,
    email: Option<&str>,
    now: OffsetDateTime,
) -> Result<Imported, RenewalError> {
    let expired = identity.info().expired_at(now);
    let locked = store.lock()?;
    match how {
        ImportAs::New { label } => {
            check_label(label)?;
            let email = email
                .map(str::to_string)
                .or_else(|| identity::emails(&identity.cert).into_iter().next());
            let account = locked.add(identity, label, email.as_deref(), now)?;
            Ok(Imported {
                account,
                renewed: None,
                expired,
            })
        }
        ImportAs::RenewalOf { id } => {
            let (account, what) = history::renew(&locked, id, identity, false, now)?;
            Ok(Imported {
                account,
                renewed: Some(what),
                expired,
            })
        }
    }
}
