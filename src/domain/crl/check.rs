//! Is a certificate good, revoked or unknown? The chain is built from the
//! imported CAs; each link is looked up in its issuer's index (never in the
//! CRL itself); an intermediate is checked against its root's CRL.

use std::collections::HashMap;
use std::rc::Rc;

use openssl::x509::X509Ref;
use serde::Serialize;
use time::OffsetDateTime;

use super::cache::{Cache, existing_index_key};
use super::index::{FLAG_ONLY_CA, FLAG_ONLY_USER, Index, IndexError};
use super::parse::{REASON_HOLD, unix};
use super::{CrlError, Env};
use crate::domain::certext;
use crate::domain::identity::{CertInfo, signed_by};
use crate::domain::trust::{TrustedCa, is_ca};

/// State of a certificate (the JSON vocabulary of PRODUCT.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum CertState {
    /// Not revoked according to a fresh, valid CRL.
    Good,
    /// Listed on its issuer's CRL.
    Revoked,
    /// No fresh, valid CRL covers it.
    Unknown,
    /// Past its notAfter.
    Expired,
    /// Before its notBefore.
    NotYetValid,
    /// Does not chain to an imported CA.
    Untrusted,
}

impl CertState {
    /// The JSON word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Revoked => "revoked",
            Self::Unknown => "unknown",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::Untrusted => "untrusted",
        }
    }

    /// Monitoring level: good 0, not yet valid 1, revoked/expired/untrusted 2, unknown 3.
    pub fn level(self) -> crate::domain::status::Level {
        use crate::domain::status::Level;
        match self {
            Self::Good => Level::Ok,
            Self::NotYetValid => Level::Warning,
            Self::Revoked | Self::Expired | Self::Untrusted => Level::Critical,
            Self::Unknown => Level::Unknown,
        }
    }
}

/// A revocation reason (RFC 5280 `CRLReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// 0
    Unspecified,
    /// 1
    KeyCompromise,
    /// 2
    CaCompromise,
    /// 3
    AffiliationChanged,
    /// 4
    Superseded,
    /// 5
    CessationOfOperation,
    /// 6: on hold (may be released).
    CertificateHold,
    /// 9
    PrivilegeWithdrawn,
    /// 10
    AaCompromise,
}

impl Reason {
    /// From the code.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Unspecified,
            1 => Self::KeyCompromise,
            2 => Self::CaCompromise,
            3 => Self::AffiliationChanged,
            4 => Self::Superseded,
            5 => Self::CessationOfOperation,
            REASON_HOLD => Self::CertificateHold,
            9 => Self::PrivilegeWithdrawn,
            10 => Self::AaCompromise,
            _ => return None,
        })
    }

    /// The JSON word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "key_compromise",
            Self::CaCompromise => "ca_compromise",
            Self::AffiliationChanged => "affiliation_changed",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessation_of_operation",
            Self::CertificateHold => "certificate_hold",
            Self::PrivilegeWithdrawn => "privilege_withdrawn",
            Self::AaCompromise => "aa_compromise",
        }
    }
}

/// A reason in the user's language ("no reason given" when None).
pub fn reason_words(reason: Option<Reason>) -> String {
    let key = reason.map_or_else(
        || "reason.none".to_string(),
        |r| format!("reason.{}", r.word()),
    );
    crate::t!(&key)
}

/// One link of a chain.
#[derive(Debug, Clone, Serialize)]
pub struct LinkStatus {
    /// SHA-256 fingerprint.
    pub fingerprint: String,
    /// Subject.
    pub subject: String,
    /// Its own state.
    pub state: CertState,
    /// When revoked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// Why revoked.
    pub reason: Option<Reason>,
    /// Why unknown, or what makes it so.
    pub detail: Option<String>,
}

/// What `check` says about a certificate.
#[derive(Debug, Clone, Serialize)]
pub struct CertStatus {
    /// SHA-256 fingerprint.
    pub fingerprint: String,
    /// Subject.
    pub subject: String,
    /// Issuer.
    pub issuer: String,
    /// Serial (hex).
    pub serial: String,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// The state, the chain included (a good leaf under a revoked CA is revoked).
    pub state: CertState,
    /// When revoked (the leaf's, or the revoked CA's).
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// Why revoked.
    pub reason: Option<Reason>,
    /// Why unknown/untrusted, or which CA is the cause.
    pub detail: Option<String>,
    /// The issuers, nearest first, each with its own state.
    pub chain: Vec<LinkStatus>,
}

/// Checks certificates against the cached indexes; loads each index once.
pub struct Checker {
    cas: Vec<TrustedCa>,
    cache: Cache,
    key: Option<Vec<u8>>,
    indexes: HashMap<String, Result<Rc<Index>, IndexError>>,
    now: OffsetDateTime,
}

struct Own {
    state: CertState,
    revoked_at: Option<OffsetDateTime>,
    reason: Option<Reason>,
    detail: Option<String>,
}

impl Own {
    fn plain(state: CertState, detail: Option<String>) -> Self {
        Self {
            state,
            revoked_at: None,
            reason: None,
            detail,
        }
    }
}

const MAX_CHAIN: usize = 10;

impl Checker {
    /// A checker over the imported CAs and the cache, at `now`.
    pub fn new(env: &Env, now: OffsetDateTime) -> Result<Self, CrlError> {
        Ok(Self::with_cas(env, env.ca_store().list()?, now))
    }

    /// A checker over given CAs.
    pub fn with_cas(env: &Env, cas: Vec<TrustedCa>, now: OffsetDateTime) -> Self {
        Self {
            cas,
            cache: env.cache(),
            key: existing_index_key(&env.home.index_key_file()),
            indexes: HashMap::new(),
            now,
        }
    }

    fn index(&mut self, fp: &str) -> Result<Rc<Index>, IndexError> {
        if let Some(i) = self.indexes.get(fp) {
            return i.clone();
        }
        let loaded = match &self.key {
            None => Err(IndexError::Missing),
            Some(key) => Index::load(&self.cache.index_path(fp), key).map(Rc::new),
        };
        self.indexes.insert(fp.to_string(), loaded.clone());
        loaded
    }

    /// The imported CAs the chain of `cert` goes through, nearest first;
    /// None when it does not reach an imported CA.
    fn chain(&self, cert: &X509Ref) -> Option<Vec<usize>> {
        let mut out: Vec<usize> = Vec::new();
        let fp = crate::domain::identity::fingerprint(cert);
        let mut current_is_ca = self.cas.iter().any(|c| c.fingerprint == fp);
        let mut current: &X509Ref = cert;
        for _ in 0..MAX_CHAIN {
            if signed_by(current, current) {
                return current_is_ca.then_some(out);
            }
            let next = (0..self.cas.len())
                .find(|&j| !out.contains(&j) && signed_by(current, &self.cas[j].cert));
            match next {
                Some(i) => {
                    out.push(i);
                    current = &self.cas[i].cert;
                    current_is_ca = true;
                }
                // An imported CA whose issuer is not imported is a trust anchor.
                None => return current_is_ca.then_some(out),
            }
        }
        None
    }

    fn revocation(&mut self, cert: &X509Ref, issuer: usize) -> Own {
        let ca = self.cas[issuer].clone();
        let idx = match self.index(&ca.fingerprint) {
            Ok(i) => i,
            Err(IndexError::Missing) => {
                return Own::plain(
                    CertState::Unknown,
                    Some(crate::t!("check.no_crl", issuer = ca.subject)),
                );
            }
            Err(IndexError::Damaged(_)) => {
                return Own::plain(
                    CertState::Unknown,
                    Some(crate::t!("check.index_damaged", issuer = ca.subject)),
                );
            }
        };
        if hex::encode(idx.header.ca_sha256) != ca.fingerprint {
            return Own::plain(
                CertState::Unknown,
                Some(crate::t!("check.index_damaged", issuer = ca.subject)),
            );
        }
        if idx.header.next_update <= self.now.unix_timestamp() {
            return Own::plain(
                CertState::Unknown,
                Some(crate::t!(
                    "check.crl_expired",
                    issuer = ca.subject,
                    date = crate::domain::time::rfc3339(unix(idx.header.next_update))
                )),
            );
        }
        let cert_is_ca = is_ca(&cert.to_owned());
        if (idx.header.flags & FLAG_ONLY_USER != 0 && cert_is_ca)
            || (idx.header.flags & FLAG_ONLY_CA != 0 && !cert_is_ca)
        {
            return Own::plain(
                CertState::Unknown,
                Some(crate::t!("check.out_of_scope", issuer = ca.subject)),
            );
        }
        let Ok(facts) = certext::facts(cert) else {
            return Own::plain(CertState::Unknown, None);
        };
        match idx.lookup(&facts.serial) {
            Some((at, reason)) => Own {
                state: CertState::Revoked,
                revoked_at: Some(unix(at)),
                reason: reason.and_then(Reason::from_code),
                detail: None,
            },
            None => Own::plain(CertState::Good, None),
        }
    }

    fn own(&mut self, cert: &X509Ref, issuer: Option<usize>) -> Own {
        let info = CertInfo::of(cert);
        if info.not_before > self.now {
            return Own::plain(CertState::NotYetValid, None);
        }
        if info.expired_at(self.now) {
            return Own::plain(CertState::Expired, None);
        }
        match issuer {
            Some(i) => self.revocation(cert, i),
            None => Own::plain(CertState::Good, Some(crate::t!("check.trust_anchor"))),
        }
    }

    /// The state of `cert` and of its chain.
    pub fn check(&mut self, cert: &X509Ref) -> CertStatus {
        let info = CertInfo::of(cert);
        let mut status = CertStatus {
            fingerprint: info.fingerprint.clone(),
            subject: info.subject.clone(),
            issuer: info.issuer.clone(),
            serial: info.serial.clone(),
            not_after: info.not_after,
            state: CertState::Untrusted,
            revoked_at: None,
            reason: None,
            detail: Some(crate::t!("check.untrusted", issuer = info.issuer)),
            chain: Vec::new(),
        };
        let Some(chain) = self.chain(cert) else {
            return status;
        };
        let own = self.own(cert, chain.first().copied());
        for (pos, &i) in chain.iter().enumerate() {
            let ca_cert = self.cas[i].cert.clone();
            let o = self.own(&ca_cert, chain.get(pos + 1).copied());
            status.chain.push(LinkStatus {
                fingerprint: self.cas[i].fingerprint.clone(),
                subject: self.cas[i].subject.clone(),
                state: o.state,
                revoked_at: o.revoked_at,
                reason: o.reason,
                detail: o.detail,
            });
        }
        status.state = own.state;
        status.revoked_at = own.revoked_at;
        status.reason = own.reason;
        status.detail = own.detail;
        if own.state == CertState::Good {
            if let Some(link) = status.chain.iter().find(|l| l.state != CertState::Good) {
                status.state = link.state;
                status.revoked_at = link.revoked_at;
                status.reason = link.reason;
                let key = format!("state.{}", link.state.word());
                let state_words = crate::t!(&key);
                status.detail = Some(crate::t!(
                    "check.because_of_ca",
                    subject = link.subject,
                    state = state_words
                ));
            }
        }
        status
    }
}
