//! Revocation lists: where they come from (the CRL Distribution Points of
//! every certificate held, the configuration, imported files), how they are
//! accepted (every rule of PRODUCT.md), cached with an index of revoked
//! serials, and what they say about certificates.
//!
//! The API the CLI and the TUI use:
//! - [`Env::new`] then [`list`] — each CRL with its state, dates and source;
//! - [`update`] — fetch what is due, with a `FnMut(CrlProgress)` callback
//!   (run it on a worker thread: it blocks on the network);
//! - [`import_file`] — a CRL brought on a stick;
//! - [`check::Checker`] — good / revoked / unknown / expired / untrusted;
//! - [`correspondents`] — the correspondents with their states;
//! - [`alerts`] — the CRL and revocation panes of `status`.

mod accept;
mod alerts;
pub mod cache;
pub mod check;
pub mod delta;
mod error;
pub mod fetch;
pub mod index;
pub mod ldap;
mod list;
pub mod ocsp;
pub mod parse;
mod sources;
pub mod update;

use crate::domain::config::{Config, CrlPolicy};
use crate::domain::home::Home;
use crate::domain::store::Store;
use crate::domain::trust::{CaStore, Correspondents};

use self::cache::Cache;

pub use self::accept::{
    AcceptError, Accepted, accept, accept_for, import_file, reverify, sha256_hex,
};
pub use self::alerts::{alerts, short_name};
pub use self::error::{CrlError, Rejection, UnsupportedCrl};
pub use self::list::{CorrespondentStatus, CrlEntry, CrlState, correspondents, list, state_of};
pub use self::sources::{Holder, Slot, SlotKey, UrlInfo, UrlKind, held, issuer_of, slots};
pub use self::update::{CrlProgress, Outcome, SlotReport, UpdateOptions, UpdateReport, update};

/// Where certsafe finds its files and how it fetches.
#[derive(Debug, Clone)]
pub struct Env {
    /// The folders.
    pub home: Home,
    /// The `[crl]` settings.
    pub policy: CrlPolicy,
    /// The `[revocation]` settings.
    pub revocation: crate::domain::config::RevocationPolicy,
}

impl Env {
    /// From the home and the configuration.
    pub fn new(home: &Home, config: &Config) -> Self {
        Self {
            home: home.clone(),
            policy: config.crl.clone(),
            revocation: config.revocation.clone(),
        }
    }

    /// The CA store.
    pub fn ca_store(&self) -> CaStore {
        CaStore::new(&self.home.cas_dir())
    }

    /// The correspondents.
    pub fn correspondent_store(&self) -> Correspondents {
        Correspondents::new(&self.home.correspondents_dir())
    }

    /// The cache.
    pub fn cache(&self) -> Cache {
        Cache::new(&self.home.crl_cache_dir())
    }

    /// The accounts (not created when missing).
    pub fn store(&self) -> Store {
        Store::open_existing(&self.home.accounts_dir())
    }
}
