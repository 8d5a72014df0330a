//! The typed error of the use cases: a code and its parameters (the domain
//! errors), made into text only when shown (`Display`, through `t!`).

use crate::domain::config::ConfigError;
use crate::domain::crl::CrlError;
use crate::domain::crl::fetch::FetchError;
use crate::domain::igc::IgcError;
use crate::domain::store::StoreError;
use crate::domain::trust::TrustError;

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No home folder could be found for this user.
    #[error("{}", crate::t!("cli.no_home"))]
    NoHome,
    /// The configuration file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The accounts.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The revocation lists.
    #[error(transparent)]
    Crl(#[from] CrlError),
    /// The download client.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The IGC-Santé hierarchy.
    #[error(transparent)]
    Igc(#[from] IgcError),
    /// The CA store or the correspondents.
    #[error(transparent)]
    Trust(#[from] TrustError),
}
