//! Errors and rejections of the CRL functions: codes and parameters,
//! put into words only when shown.

use serde::{Deserialize, Serialize};

use super::fetch;
use crate::domain::store::StoreError;
use crate::domain::trust::TrustError;

/// A kind of CRL certsafe does not handle (shown in the reader's language).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsupportedCrl {
    /// A delta CRL given where a complete CRL is expected.
    Delta,
    /// A CRL split by reason codes (onlySomeReasons).
    ByReasons,
    /// An indirect CRL.
    Indirect,
    /// A CRL of attribute certificates.
    AttributeCerts,
    /// A CRL partitioned by a relative name.
    RelativeName,
    /// A signature algorithm certsafe does not verify.
    SignatureAlgorithm,
}

impl std::fmt::Display for UnsupportedCrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = match self {
            Self::Delta => "crl.kind_delta",
            Self::ByReasons => "crl.kind_by_reasons",
            Self::Indirect => "crl.kind_indirect",
            Self::AttributeCerts => "crl.kind_attribute_certs",
            Self::RelativeName => "crl.kind_relative_name",
            Self::SignatureAlgorithm => "crl.kind_signature_algorithm",
        };
        f.write_str(&crate::t!(key))
    }
}

/// Why a CRL was not accepted (the CRL is then `invalid`). Stored as data
/// (`code` and parameters) and put into words when shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Rejection {
    /// Neither DER nor PEM of a CRL (an HTML page, for instance).
    #[error("{}", crate::t!("crl.not_a_crl"))]
    NotACrl,
    /// Damaged or truncated.
    #[error("{}", crate::t!("crl.malformed"))]
    Malformed {
        /// What the reader found wrong (English, technical: `--json` only).
        detail: String,
    },
    /// A file over the size cap (`crl import`).
    #[error("{}", crate::t!("crl.too_large_file", max = .max))]
    TooLarge {
        /// The cap in bytes.
        max: u64,
    },
    /// A kind of CRL certsafe does not handle.
    #[error("{}", crate::t!("crl.unsupported", what = .what))]
    Unsupported {
        /// What.
        what: UnsupportedCrl,
    },
    /// An extension marked critical that certsafe does not know.
    #[error("{}", crate::t!("crl.unknown_critical", oid = .oid))]
    UnknownCriticalExtension {
        /// Its OID.
        oid: String,
    },
    /// The issuer is not an imported CA.
    #[error("{}", crate::t!("crl.unknown_issuer", issuer = .issuer))]
    UnknownIssuer {
        /// The CRL's issuer.
        issuer: String,
    },
    /// A valid CRL, but of another CA than the one whose address served it.
    #[error("{}", crate::t!("crl.other_issuer", issuer = .issuer))]
    OtherIssuer {
        /// The CA that signed it.
        issuer: String,
    },
    /// No imported CA of that name signed it.
    #[error("{}", crate::t!("crl.bad_signature", issuer = .issuer))]
    BadSignature {
        /// The CRL's issuer.
        issuer: String,
    },
    /// The CA's key usage does not allow signing CRLs.
    #[error("{}", crate::t!("crl.no_crl_sign", ca = .ca))]
    NoCrlSign {
        /// The CA.
        ca: String,
    },
    /// thisUpdate is in the future.
    #[error("{}", crate::t!("crl.future", this_update = .this_update))]
    FutureThisUpdate {
        /// thisUpdate.
        this_update: String,
    },
    /// No nextUpdate.
    #[error("{}", crate::t!("crl.no_next_update"))]
    NoNextUpdate,
    /// The CRL number is lower than the cached one's.
    #[error("{}", crate::t!("crl.number_backwards", new = .new, cached = .cached))]
    NumberBackwards {
        /// The cached CRL's number.
        cached: String,
        /// This one's.
        new: String,
    },
    /// Older than the cached CRL.
    #[error("{}", crate::t!("crl.older", new = .new, cached = .cached))]
    Older {
        /// The cached CRL's thisUpdate.
        cached: String,
        /// This one's.
        new: String,
    },
    /// A complete CRL where a delta CRL was expected.
    #[error("{}", crate::t!("crl.not_a_delta"))]
    NotADelta,
    /// A delta CRL with no cached, authenticated base CRL of its CA.
    #[error("{}", crate::t!("crl.delta_without_base"))]
    DeltaWithoutBase,
    /// A delta CRL whose scope (issuing distribution point) is not its base's.
    #[error("{}", crate::t!("crl.delta_scope"))]
    DeltaScope,
    /// A delta CRL for a base newer than the cached one (its
    /// `DeltaCRLIndicator` is above the cached base's CRL number).
    #[error("{}", crate::t!("crl.delta_orphan", indicator = .indicator, base = .base))]
    DeltaOrphan {
        /// Its `DeltaCRLIndicator` (hex).
        indicator: String,
        /// The cached base's CRL number (hex, `-` when it has none).
        base: String,
    },
    /// A delta CRL not newer than the cached base (CRL number or thisUpdate).
    #[error("{}", crate::t!("crl.delta_not_newer", delta = .delta, base = .base))]
    DeltaNotNewer {
        /// Its CRL number (hex, `-` when it has none).
        delta: String,
        /// The cached base's CRL number (hex).
        base: String,
    },
}

/// Errors of the CRL functions (a rejected CRL is not one: it is reported).
#[derive(Debug, thiserror::Error)]
pub enum CrlError {
    /// Reading or writing the cache failed.
    #[error("{}", crate::t!("crl.io", path = .path, reason = crate::domain::fsutil::describe_io(.source)))]
    Io {
        /// Where.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file the user gave (`crl import FILE`) could not be read: missing,
    /// a folder, a FIFO, unreadable (not the cache's fault).
    #[error("{}", crate::t!("crl.read_file", path = .path, reason = crate::domain::fsutil::describe_io(.source)))]
    ReadFile {
        /// The file given.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Another update holds the lock.
    #[error("{}", crate::t!("crl.locked", path = .path))]
    Locked {
        /// The lock file.
        path: String,
    },
    /// A CRL given to `crl import` was refused.
    #[error("{}", crate::t!("crl.import_rejected", path = .path, reason = .reason))]
    Rejected {
        /// The file.
        path: String,
        /// Why.
        reason: Rejection,
    },
    /// The CA store or the correspondents.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// The accounts.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Fetch(#[from] fetch::FetchError),
}

impl CrlError {
    /// A stable code for `--json` (`crl import`): `io` (the cache),
    /// `read_file` (the file given), `locked`, the rejection's own code
    /// (`not_a_crl`, `bad_signature`, …), `trust`, `store`, `fetch`.
    pub fn code(&self) -> String {
        match self {
            Self::Io { .. } => "io".into(),
            Self::ReadFile { .. } => "read_file".into(),
            Self::Locked { .. } => "locked".into(),
            Self::Rejected { reason, .. } => serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(String::from))
                .unwrap_or_else(|| "rejected".into()),
            Self::Trust(_) => "trust".into(),
            Self::Store(_) => "store".into(),
            Self::Fetch(_) => "fetch".into(),
        }
    }
}
