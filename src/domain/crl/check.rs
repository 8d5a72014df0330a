//! Is a certificate good, revoked or unknown? The chain is built from the
//! imported CAs; each link is looked up in its issuer's index (never in the
//! CRL itself); an intermediate is checked against its root's CRL.

use std::collections::HashMap;
use std::rc::Rc;

use openssl::x509::X509Ref;
use serde::Serialize;
use time::OffsetDateTime;

use super::cache::{Cache, existing_index_key};
use super::delta::{self, DeltaIgnored};
use super::index::{FLAG_ONLY_CA, FLAG_ONLY_USER, Index, IndexError};
use super::parse::{REASON_HOLD, REASON_REMOVE, unix};
use super::{CrlError, Env};
use crate::domain::certext;
use crate::domain::identity::{name_line, signed_by, subject_line};
use crate::domain::time::asn1_to_datetime;
use crate::domain::trust::TrustedCa;

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

/// Which answer decided a certificate's state (the JSON `source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The issuer's (base) CRL.
    Crl,
    /// A delta CRL on top of its base.
    Delta,
    /// The OCSP responder.
    Ocsp,
}

impl Source {
    /// The JSON word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Crl => "crl",
            Self::Delta => "delta",
            Self::Ocsp => "ocsp",
        }
    }
}

/// When `check` asks OCSP responders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspMode {
    /// Never (not even the cache).
    Off,
    /// Only cached answers (no network).
    Cached,
    /// The network when no fresh CRL covers the certificate (cache first).
    WhenNoCrl,
    /// The network for every certificate with a responder (`check --ocsp`).
    Always,
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
    /// The answer that decided its revocation state.
    pub source: Option<Source>,
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
    /// The OCSP answer, when a responder was asked or cached.
    pub ocsp: Option<super::ocsp::OcspAnswer>,
    /// The issuers, nearest first, each with its own state.
    pub chain: Vec<LinkStatus>,
    /// The answer that decided (`crl`, `delta`, `ocsp`); None when no
    /// answer decided (untrusted, expired, unknown...).
    pub source: Option<Source>,
    /// Why the issuer's cached delta CRL was not used, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta_ignored: Option<DeltaIgnored>,
}

/// Checks certificates against the cached indexes; loads each index once.
pub struct Checker {
    cas: Vec<TrustedCa>,
    cache: Cache,
    key: Option<Vec<u8>>,
    indexes: HashMap<String, Result<Rc<Index>, IndexError>>,
    deltas: HashMap<String, Result<Rc<Index>, IndexError>>,
    chains: HashMap<usize, Vec<usize>>,
    links: HashMap<usize, LinkStatus>,
    now: OffsetDateTime,
    ocsp: Option<(super::ocsp::Client, OcspMode)>,
}

struct Own {
    state: CertState,
    revoked_at: Option<OffsetDateTime>,
    reason: Option<Reason>,
    detail: Option<String>,
    source: Option<Source>,
    ocsp: Option<super::ocsp::OcspAnswer>,
    delta_ignored: Option<DeltaIgnored>,
}

impl Own {
    fn plain(state: CertState, detail: Option<String>) -> Self {
        Self {
            state,
            revoked_at: None,
            reason: None,
            detail,
            source: None,
            ocsp: None,
            delta_ignored: None,
        }
    }

    fn revoked(at: i64, reason: Option<u8>, source: Source) -> Self {
        Self {
            state: CertState::Revoked,
            revoked_at: Some(unix(at)),
            reason: reason.and_then(Reason::from_code),
            detail: None,
            source: Some(source),
            ocsp: None,
            delta_ignored: None,
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
            deltas: HashMap::new(),
            chains: HashMap::new(),
            links: HashMap::new(),
            now,
            ocsp: env.revocation.ocsp.then(|| {
                (
                    super::ocsp::Client::new(None, &env.home.crl_cache_dir()),
                    OcspMode::Cached,
                )
            }),
        }
    }

    /// Sets how OCSP responders are asked (the default: cached answers
    /// only, when `[revocation] ocsp` is on).
    pub fn set_ocsp(&mut self, client: super::ocsp::Client, mode: OcspMode) {
        self.ocsp = (mode != OcspMode::Off).then_some((client, mode));
    }

    /// Adds the OCSP answer to a CRL verdict: `revoked` from either wins;
    /// only an answer that counts and says `good` turns an `unknown` good.
    fn with_ocsp(
        &mut self,
        cert: &X509Ref,
        facts: &certext::CertFacts,
        issuer: usize,
        crl: Own,
    ) -> Own {
        let Some((client, mode)) = &self.ocsp else {
            return crl;
        };
        if facts.serial.is_empty() || super::ocsp::urls(cert).is_empty() {
            return crl;
        }
        let now = self.now.unix_timestamp();
        let ca = &self.cas[issuer].cert;
        let network = match mode {
            OcspMode::Off => return crl,
            OcspMode::Cached => false,
            OcspMode::WhenNoCrl => crl.state == CertState::Unknown,
            OcspMode::Always => true,
        };
        let answer = if network && *mode == OcspMode::Always {
            // Asked now; when the responder fails, a cached answer that
            // still counts is better than none.
            match client.ask(cert, &facts.serial, ca, now) {
                Some(a) if a.status == super::ocsp::OcspStatus::Error => {
                    client.cached(cert, &facts.serial, ca, now).or(Some(a))
                }
                other => other,
            }
        } else {
            let cached = client.cached(cert, &facts.serial, ca, now);
            if cached.is_none() && network {
                client.ask(cert, &facts.serial, ca, now)
            } else {
                cached
            }
        };
        let Some(answer) = answer else {
            return crl;
        };
        let mut out = crl;
        match (out.state, answer.status) {
            (CertState::Revoked, _) => {}
            (_, super::ocsp::OcspStatus::Revoked) => {
                out.state = CertState::Revoked;
                out.revoked_at = answer.revoked_at;
                out.reason = answer.reason;
                out.detail = None;
                out.source = Some(Source::Ocsp);
            }
            (CertState::Unknown, super::ocsp::OcspStatus::Good) => {
                out.state = CertState::Good;
                out.detail = None;
                out.source = Some(Source::Ocsp);
            }
            _ => {}
        }
        out.ocsp = Some(answer);
        out
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

    /// The CA's cached delta CRL index, loaded once (a CA without a delta
    /// costs one failed open per checker).
    fn delta(&mut self, fp: &str) -> Result<Rc<Index>, IndexError> {
        if let Some(i) = self.deltas.get(fp) {
            return i.clone();
        }
        let loaded = match &self.key {
            None => Err(IndexError::Missing),
            Some(key) => Index::load(&delta::index_path(&self.cache, fp), key).map(Rc::new),
        };
        self.deltas.insert(fp.to_string(), loaded.clone());
        loaded
    }

    /// The imported CA that signed `cert`, other than those in `exclude`.
    fn issuer_of(&self, cert: &X509Ref, exclude: &[usize]) -> Option<usize> {
        (0..self.cas.len()).find(|&j| !exclude.contains(&j) && signed_by(cert, &self.cas[j].cert))
    }

    /// CA `i` and its imported issuers, up to a self-signed CA or one whose
    /// issuer is not imported (the trust anchor). Computed once per CA.
    fn ca_chain(&mut self, i: usize) -> Vec<usize> {
        if let Some(c) = self.chains.get(&i) {
            return c.clone();
        }
        let mut out = vec![i];
        let mut current = i;
        while out.len() < MAX_CHAIN && !self.cas[current].is_root() {
            match self.issuer_of(&self.cas[current].cert, &out) {
                Some(j) => {
                    out.push(j);
                    current = j;
                }
                None => break,
            }
        }
        self.chains.insert(i, out.clone());
        out
    }

    /// The own state of CA `i` (against its issuer's CRL). Computed once per CA.
    fn link(&mut self, i: usize) -> LinkStatus {
        if let Some(l) = self.links.get(&i) {
            return l.clone();
        }
        let issuer = self.ca_chain(i).get(1).copied();
        let cert = self.cas[i].cert.clone();
        let facts = certext::facts(&cert).unwrap_or_default();
        let o = self.own(&cert, &facts, issuer);
        let link = LinkStatus {
            fingerprint: self.cas[i].fingerprint.clone(),
            subject: self.cas[i].subject.clone(),
            state: o.state,
            revoked_at: o.revoked_at,
            reason: o.reason,
            detail: o.detail,
            source: o.source,
        };
        self.links.insert(i, link.clone());
        link
    }

    fn revocation(&mut self, facts: &certext::CertFacts, issuer: usize) -> Own {
        // A certificate whose serial could not be read is never "good".
        if facts.serial.is_empty() {
            return Own::plain(CertState::Unknown, Some(crate::t!("check.unreadable")));
        }
        let (fp, subject) = (
            self.cas[issuer].fingerprint.clone(),
            self.cas[issuer].subject.clone(),
        );
        let idx = match self.index(&fp) {
            Ok(i) => i,
            Err(IndexError::Missing) => {
                return Own::plain(
                    CertState::Unknown,
                    Some(crate::t!("check.no_crl", issuer = subject)),
                );
            }
            Err(IndexError::Damaged(_)) => {
                return Own::plain(
                    CertState::Unknown,
                    Some(crate::t!("check.index_damaged", issuer = subject)),
                );
            }
        };
        if hex::encode(idx.header.ca_sha256) != fp {
            return Own::plain(
                CertState::Unknown,
                Some(crate::t!("check.index_damaged", issuer = subject)),
            );
        }
        if (idx.header.flags & FLAG_ONLY_USER != 0 && facts.is_ca)
            || (idx.header.flags & FLAG_ONLY_CA != 0 && !facts.is_ca)
        {
            return Own::plain(
                CertState::Unknown,
                Some(crate::t!("check.out_of_scope", issuer = subject)),
            );
        }
        if idx.header.flags & super::index::FLAG_PARTITIONED != 0 {
            // A partitioned CRL says nothing about certificates outside its
            // part. The part's URIs come from the authenticated index, never
            // from meta.json.
            let parts = &idx.header.scope;
            if parts.is_empty() || !facts.crl_urls.iter().any(|u| parts.contains(u)) {
                return Own::plain(
                    CertState::Unknown,
                    Some(crate::t!("check.out_of_scope", issuer = subject)),
                );
            }
        }
        // The delta CRL, when one is cached and applies to this base: it
        // only ever adds to what the base says (a revocation, or the lifting
        // of a hold); a delta that does not apply is ignored and said.
        let now = self.now.unix_timestamp();
        let (delta, delta_ignored) = match self.delta(&fp) {
            Err(IndexError::Missing) => (None, None),
            Err(IndexError::Damaged(_)) => (None, Some(DeltaIgnored::Damaged)),
            Ok(d) => match delta::applies(&idx.header, &d.header, now) {
                Ok(()) => (Some(d), None),
                Err(why) => (None, Some(why)),
            },
        };
        let in_delta = delta.as_ref().and_then(|d| d.lookup(&facts.serial));
        let mut own = Self::verdict(&idx, &facts.serial, in_delta, &subject, now);
        own.delta_ignored = delta_ignored;
        own
    }

    /// The verdict from a usable base index and what the applicable delta
    /// says of the serial (None: not listed, or no delta).
    fn verdict(
        base: &Index,
        serial: &[u8],
        in_delta: Option<(i64, Option<u8>)>,
        subject: &str,
        now: i64,
    ) -> Own {
        // Revoked in the delta: revoked, whatever the base's age.
        if let Some((at, reason)) = in_delta.filter(|(_, r)| *r != Some(REASON_REMOVE)) {
            return Own::revoked(at, reason, Source::Delta);
        }
        // Anything else needs a fresh base: a delta alone never says good.
        if base.header.next_update <= now {
            return Own::plain(
                CertState::Unknown,
                Some(crate::t!(
                    "check.crl_expired",
                    issuer = subject,
                    date = crate::domain::time::rfc3339(unix(base.header.next_update))
                )),
            );
        }
        match base.lookup(serial) {
            // removeFromCRL in the delta lifts a hold of the base.
            Some((_, Some(REASON_HOLD))) if in_delta.is_some() => Own {
                source: Some(Source::Delta),
                ..Own::plain(CertState::Good, None)
            },
            Some((at, reason)) => Own::revoked(at, reason, Source::Crl),
            None => Own {
                source: Some(Source::Crl),
                ..Own::plain(CertState::Good, None)
            },
        }
    }

    fn own(&mut self, cert: &X509Ref, facts: &certext::CertFacts, issuer: Option<usize>) -> Own {
        let epoch = OffsetDateTime::UNIX_EPOCH;
        if asn1_to_datetime(cert.not_before()).unwrap_or(epoch) > self.now {
            return Own::plain(CertState::NotYetValid, None);
        }
        if asn1_to_datetime(cert.not_after()).unwrap_or(epoch) < self.now {
            return Own::plain(CertState::Expired, None);
        }
        match issuer {
            Some(i) => {
                let crl = self.revocation(facts, i);
                self.with_ocsp(cert, facts, i, crl)
            }
            None => Own::plain(CertState::Good, Some(crate::t!("check.trust_anchor"))),
        }
    }

    /// The state of `cert` and of its chain.
    pub fn check(&mut self, cert: &X509Ref) -> CertStatus {
        let fingerprint = crate::domain::identity::fingerprint(cert);
        let facts = certext::facts(cert).unwrap_or_default();
        let issuer_line = name_line(cert.issuer_name());
        let mut status = CertStatus {
            fingerprint: fingerprint.clone(),
            subject: subject_line(cert),
            issuer: issuer_line.clone(),
            serial: hex::encode(&facts.serial),
            not_after: asn1_to_datetime(cert.not_after()).unwrap_or(OffsetDateTime::UNIX_EPOCH),
            state: CertState::Untrusted,
            revoked_at: None,
            reason: None,
            detail: Some(crate::t!("check.untrusted", issuer = issuer_line)),
            ocsp: None,
            chain: Vec::new(),
            source: None,
            delta_ignored: None,
        };
        let (own, chain) =
            if let Some(i) = self.cas.iter().position(|c| c.fingerprint == fingerprint) {
                // An imported CA: its own state, then its issuers'.
                let link = self.link(i);
                let own = Own {
                    state: link.state,
                    revoked_at: link.revoked_at,
                    reason: link.reason,
                    detail: link.detail,
                    source: link.source,
                    ocsp: None,
                    delta_ignored: None,
                };
                (own, self.ca_chain(i)[1..].to_vec())
            } else {
                if signed_by(cert, cert) {
                    return status;
                }
                let Some(j) = self.issuer_of(cert, &[]) else {
                    return status;
                };
                (self.own(cert, &facts, Some(j)), self.ca_chain(j))
            };
        status.chain = chain.iter().map(|&i| self.link(i)).collect();
        status.state = own.state;
        status.revoked_at = own.revoked_at;
        status.reason = own.reason;
        status.detail = own.detail;
        status.source = own.source;
        status.ocsp = own.ocsp;
        status.delta_ignored = own.delta_ignored;
        if own.state == CertState::Good {
            if let Some(link) = status.chain.iter().find(|l| l.state != CertState::Good) {
                status.state = link.state;
                status.revoked_at = link.revoked_at;
                status.reason = link.reason;
                status.source = link.source;
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
