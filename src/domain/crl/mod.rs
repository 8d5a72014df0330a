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

pub mod cache;
pub mod check;
pub mod delta;
pub mod fetch;
pub mod index;
pub mod ldap;
pub mod ocsp;
pub mod parse;
pub mod update;

use std::collections::BTreeMap;

use openssl::hash::{MessageDigest, hash};
use openssl::x509::X509;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use self::cache::{Attempt, CaState, Cache, Meta};
use self::check::{CertState, CertStatus, Checker};
use super::home::Home;
use super::identity::{fingerprint, name_line, signed_by};
use super::status::{Alert, Level, Pane};
use super::store::{Store, StoreError};
use super::trust::{CaStore, Correspondent, Correspondents, TrustError, TrustedCa};
use crate::domain::config::{Config, CrlPolicy};

pub use self::update::{CrlProgress, Outcome, SlotReport, UpdateOptions, UpdateReport, update};

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
    #[error("{}", crate::t!("crl.malformed", detail = .detail))]
    Malformed {
        /// What is wrong.
        detail: String,
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
    #[error("{}", crate::t!("crl.io", path = .path, reason = super::fsutil::describe_io(.source)))]
    Io {
        /// Where.
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

/// State of a CRL (the JSON vocabulary of PRODUCT.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum CrlState {
    /// Valid, nextUpdate beyond the warning window.
    Fresh,
    /// nextUpdate within the warning window.
    Due,
    /// nextUpdate passed.
    Expired,
    /// Never fetched.
    Missing,
    /// The last download failed verification.
    Invalid,
    /// The last fetch failed.
    Unreachable,
}

impl CrlState {
    /// The JSON word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Fresh => "fresh",
            Self::Due => "due",
            Self::Expired => "expired",
            Self::Missing => "missing",
            Self::Invalid => "invalid",
            Self::Unreachable => "unreachable",
        }
    }
}

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

/// What kind of address a CRL URL is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UrlKind {
    /// `http://` or `https://`: fetched.
    Http,
    /// `file://`: read.
    File,
    /// `ldap://` or `ldaps://`: fetched with [`ldap::LdapFetcher`].
    Ldap,
    /// Anything else: ignored.
    Other,
}

impl UrlKind {
    /// Classifies a URL.
    pub fn of(url: &str) -> Self {
        let l = url.to_ascii_lowercase();
        if l.starts_with("http://") || l.starts_with("https://") {
            Self::Http
        } else if l.starts_with("file:") {
            Self::File
        } else if l.starts_with("ldap://") || l.starts_with("ldaps://") {
            Self::Ldap
        } else {
            Self::Other
        }
    }

    /// Whether certsafe fetches it.
    pub fn fetched(self) -> bool {
        matches!(self, Self::Http | Self::File | Self::Ldap)
    }

    /// The order in which a CA's addresses are tried: HTTP(S) and files
    /// first (conditional requests, the published channel), LDAP next.
    pub fn rank(self) -> u8 {
        match self {
            Self::Http | Self::File => 0,
            Self::Ldap => 1,
            Self::Other => 2,
        }
    }
}

/// One source address, as shown.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UrlInfo {
    /// The address.
    pub url: String,
    /// Its kind.
    pub kind: UrlKind,
    /// Whether certsafe fetches it.
    pub fetched: bool,
    /// Why not ("not fetched (LDAP)").
    pub note: Option<String>,
}

impl UrlInfo {
    fn of(url: &str) -> Self {
        let kind = UrlKind::of(url);
        let note = match kind {
            UrlKind::Other => Some(crate::t!("crl.scheme_not_fetched")),
            _ => None,
        };
        Self {
            url: url.to_string(),
            kind,
            fetched: kind.fetched(),
            note,
        }
    }
}

/// A CRL certsafe watches: one per issuing CA.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The CA's fingerprint, or `issuer:<name>` (CA not imported), or
    /// `url:<url>` (a configured URL not yet matched to a CA).
    pub key: String,
    /// The issuer on one line.
    pub issuer: String,
    /// The imported CA, when there is one.
    pub ca: Option<TrustedCa>,
    /// Addresses, distribution points first.
    pub urls: Vec<String>,
    /// Delta CRL addresses (the Freshest CRL extension of the certificates
    /// it issued; the cached base CRL's own are added at update).
    pub delta_urls: Vec<String>,
}

/// Where a certificate held by certsafe comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Holder {
    /// An account's certificate.
    Account {
        /// The account ID.
        id: String,
        /// Its label.
        label: String,
    },
    /// A CA certificate in an account's chain.
    Chain {
        /// The account ID.
        id: String,
    },
    /// A correspondent.
    Correspondent,
    /// An imported CA.
    Ca,
}

/// Every certificate certsafe holds: accounts (and their chains),
/// correspondents, CAs.
pub fn held(env: &Env, cas: &[TrustedCa]) -> Result<Vec<(X509, Holder)>, CrlError> {
    let mut out = Vec::new();
    for a in env.store().list()? {
        if let Ok(c) = a.cert() {
            out.push((
                c,
                Holder::Account {
                    id: a.meta.id.clone(),
                    label: a.meta.label.clone(),
                },
            ));
        }
        for c in a.chain().unwrap_or_default() {
            out.push((
                c,
                Holder::Chain {
                    id: a.meta.id.clone(),
                },
            ));
        }
    }
    for c in env.correspondent_store().list()? {
        out.push((c.cert, Holder::Correspondent));
    }
    for ca in cas {
        out.push((ca.cert.clone(), Holder::Ca));
    }
    Ok(out)
}

/// The imported CA that issued `cert`, if any.
pub fn issuer_of<'c>(cert: &X509, cas: &'c [TrustedCa]) -> Option<&'c TrustedCa> {
    cas.iter().find(|ca| signed_by(cert, &ca.cert))
}

/// The CRLs to watch: the distribution points of every certificate held,
/// grouped by issuing CA, plus the configured URLs and the CAs with a
/// cached CRL.
pub fn slots(env: &Env, cas: &[TrustedCa]) -> Result<Vec<Slot>, CrlError> {
    let mut by_key: BTreeMap<String, Slot> = BTreeMap::new();
    let mut seen_certs = Vec::new();
    for (cert, _) in held(env, cas)? {
        let fp = fingerprint(&cert);
        if seen_certs.contains(&fp) || signed_by(&cert, &cert) {
            continue;
        }
        seen_certs.push(fp);
        let urls = super::certext::crl_urls(&cert);
        let delta_urls = super::certext::freshest_urls(&cert);
        let (key, issuer, ca) = if let Some(ca) = issuer_of(&cert, cas) {
            (ca.fingerprint.clone(), ca.subject.clone(), Some(ca.clone()))
        } else {
            let name = name_line(cert.issuer_name());
            (format!("issuer:{name}"), name, None)
        };
        if urls.is_empty() && ca.is_none() {
            continue;
        }
        let slot = by_key.entry(key.clone()).or_insert_with(|| Slot {
            key,
            issuer,
            ca,
            urls: Vec::new(),
            delta_urls: Vec::new(),
        });
        for u in urls {
            if !slot.urls.contains(&u) {
                slot.urls.push(u);
            }
        }
        for u in delta_urls {
            if !slot.delta_urls.contains(&u) {
                slot.delta_urls.push(u);
            }
        }
    }
    // CAs with a cached CRL (imported from a file, say) stay listed.
    let cache = env.cache();
    for fp in cache.cached() {
        if let Some(ca) = cas.iter().find(|c| c.fingerprint == fp) {
            by_key.entry(fp.clone()).or_insert_with(|| Slot {
                key: fp.clone(),
                issuer: ca.subject.clone(),
                ca: Some(ca.clone()),
                urls: Vec::new(),
                delta_urls: Vec::new(),
            });
        }
    }
    // Configured URLs: under the CA they served last time, else on their own.
    let state = cache.state();
    for url in &env.policy.extra_urls {
        let known = state
            .urls
            .get(url)
            .and_then(|u| u.ca.clone())
            .filter(|fp| cas.iter().any(|c| &c.fingerprint == fp));
        if let Some(fp) = known {
            let ca = cas.iter().find(|c| c.fingerprint == fp).cloned();
            let slot = by_key.entry(fp.clone()).or_insert_with(|| Slot {
                key: fp.clone(),
                issuer: ca.as_ref().map(|c| c.subject.clone()).unwrap_or_default(),
                ca,
                urls: Vec::new(),
                delta_urls: Vec::new(),
            });
            if !slot.urls.contains(url) {
                slot.urls.push(url.clone());
            }
        } else {
            let key = format!("url:{url}");
            by_key.entry(key.clone()).or_insert_with(|| Slot {
                key,
                issuer: String::new(),
                ca: None,
                urls: vec![url.clone()],
                delta_urls: Vec::new(),
            });
        }
    }
    // Imported CAs that do not issue anything held are not listed; a CA
    // whose slot exists comes first when it is a root.
    let mut out: Vec<Slot> = by_key.into_values().collect();
    out.sort_by(|a, b| {
        let root = |s: &Slot| s.ca.as_ref().is_some_and(TrustedCa::is_root);
        root(b).cmp(&root(a)).then(a.issuer.cmp(&b.issuer))
    });
    Ok(out)
}

/// One CRL as `crl status` and the TUI show it.
#[derive(Debug, Clone, Serialize)]
pub struct CrlEntry {
    /// The issuing CA's subject.
    pub issuer: String,
    /// The CA's fingerprint (None when the CA is not imported).
    pub ca_fingerprint: Option<String>,
    /// The address it was last taken from, else the first address.
    pub url: Option<String>,
    /// Every address.
    pub urls: Vec<UrlInfo>,
    /// The state.
    pub state: CrlState,
    /// Why it is invalid, unreachable or missing.
    pub reason: Option<String>,
    /// thisUpdate of the cached copy.
    #[serde(with = "time::serde::rfc3339::option")]
    pub this_update: Option<OffsetDateTime>,
    /// nextUpdate of the cached copy.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_update: Option<OffsetDateTime>,
    /// Seconds since thisUpdate.
    pub age: Option<i64>,
    /// Revoked entries.
    pub entries: Option<u64>,
    /// CRL number (hex).
    pub crl_number: Option<String>,
    /// Where the cached copy came from.
    pub source: Option<String>,
    /// The last fetch or import.
    pub last_fetch: Option<Attempt>,
    /// The CA's delta CRL, when it publishes one or one is cached.
    pub delta: Option<delta::DeltaEntry>,
}

impl CrlEntry {
    /// How bad this CRL's state is (the home pane, `status` and the CRL
    /// screen all use this): a failed fetch is only a warning while the
    /// cached copy is still valid.
    pub fn level(&self, now: OffsetDateTime) -> Level {
        let cached_ok = self.next_update.is_some_and(|n| n > now);
        match self.state {
            CrlState::Fresh => Level::Ok,
            CrlState::Due => Level::Warning,
            CrlState::Missing if self.ca_fingerprint.is_none() => Level::Warning,
            CrlState::Invalid | CrlState::Unreachable if cached_ok => Level::Warning,
            CrlState::Expired | CrlState::Missing | CrlState::Invalid | CrlState::Unreachable => {
                Level::Critical
            }
        }
    }
}

/// The state of a CA's CRL from its cached facts and last attempt.
pub fn state_of(
    meta: Option<&Meta>,
    ca_state: Option<&CaState>,
    now: OffsetDateTime,
    policy: &CrlPolicy,
) -> CrlState {
    if let Some(last) = ca_state.and_then(|s| s.last.as_ref()) {
        match last.outcome.as_str() {
            "invalid" => return CrlState::Invalid,
            "unreachable" => return CrlState::Unreachable,
            _ => {}
        }
    }
    match meta {
        None => CrlState::Missing,
        Some(m) if now >= m.next_update => CrlState::Expired,
        Some(m)
            if m.next_update - now <= time::Duration::hours(i64::from(policy.warning_hours)) =>
        {
            CrlState::Due
        }
        Some(_) => CrlState::Fresh,
    }
}

/// The facts of a cached CRL as its authenticated index vouches for them:
/// the dates and the count a state depends on come from the index (under
/// its HMAC), not from `meta.json`, which anyone able to write the cache
/// could edit. None when the index is missing, damaged or not the CA's.
fn vouched(cache: &Cache, key: Option<&[u8]>, fp: &str, mut meta: Meta) -> Option<Meta> {
    let idx = index::Index::load(&cache.index_path(fp), key?).ok()?;
    if hex::encode(idx.header.ca_sha256) != fp {
        return None;
    }
    meta.this_update = parse::unix(idx.header.this_update);
    meta.next_update = parse::unix(idx.header.next_update);
    meta.idp_urls.clone_from(&idx.header.scope);
    if idx.header.number.is_some() {
        meta.crl_number = idx.header.number.as_ref().map(hex::encode);
    }
    Some(meta)
}

/// Every watched CRL with its state, dates and source.
pub fn list(env: &Env, now: OffsetDateTime) -> Result<Vec<CrlEntry>, CrlError> {
    let cas = env.ca_store().list()?;
    let cache = env.cache();
    let state = cache.state();
    let key = cache::existing_index_key(&env.home.index_key_file());
    let mut out = Vec::new();
    for slot in slots(env, &cas)? {
        let fp = slot.ca.as_ref().map(|c| c.fingerprint.clone());
        let raw_meta = fp.as_deref().and_then(|f| cache.meta(f));
        let meta = match (&fp, raw_meta) {
            (Some(f), Some(m)) => vouched(&cache, key.as_deref(), f, m),
            _ => None,
        };
        let unvouched = fp
            .as_deref()
            .is_some_and(|f| meta.is_none() && cache.meta(f).is_some());
        let ca_state = match &fp {
            Some(f) => state.cas.get(f).cloned(),
            None => slot.urls.first().and_then(|u| {
                state.urls.get(u).map(|s| CaState {
                    last: s.last.clone(),
                    ..CaState::default()
                })
            }),
        };
        let mut st = state_of(meta.as_ref(), ca_state.as_ref(), now, &env.policy);
        let delta = fp.as_deref().and_then(|f| {
            delta::entry(
                &cache,
                key.as_deref(),
                f,
                &slot.delta_urls,
                meta.as_ref(),
                ca_state.as_ref(),
                now,
                &env.policy,
            )
        });
        let last = ca_state.and_then(|s| s.last);
        let mut reason = last
            .as_ref()
            .filter(|l| l.failed())
            .and_then(cache::Attempt::reason);
        if slot.ca.is_none() && slot.key.starts_with("issuer:") {
            st = CrlState::Missing;
            reason = Some(crate::t!("crl.ca_not_imported", issuer = slot.issuer));
        } else if st == CrlState::Missing && unvouched && reason.is_none() {
            reason = Some(crate::t!("check.index_damaged", issuer = slot.issuer));
        } else if st == CrlState::Missing && reason.is_none() {
            reason = Some(if slot.urls.iter().any(|u| UrlKind::of(u).fetched()) {
                crate::t!("crl.never_fetched")
            } else {
                crate::t!("crl.no_fetchable_url")
            });
        }
        let url = meta
            .as_ref()
            .map(|m| m.source.clone())
            .filter(|s| !s.starts_with("import:"))
            .or_else(|| slot.urls.iter().find(|u| UrlKind::of(u).fetched()).cloned())
            .or_else(|| slot.urls.first().cloned());
        out.push(CrlEntry {
            issuer: if slot.issuer.is_empty() {
                crate::t!("crl.issuer_unknown_yet")
            } else {
                slot.issuer.clone()
            },
            ca_fingerprint: fp,
            url,
            urls: slot.urls.iter().map(|u| UrlInfo::of(u)).collect(),
            state: st,
            reason,
            this_update: meta.as_ref().map(|m| m.this_update),
            next_update: meta.as_ref().map(|m| m.next_update),
            age: meta.as_ref().map(|m| (now - m.this_update).whole_seconds()),
            entries: meta.as_ref().map(|m| m.entries),
            crl_number: meta.as_ref().and_then(|m| m.crl_number.clone()),
            source: meta.as_ref().map(|m| m.source.clone()),
            last_fetch: last,
            delta,
        });
    }
    Ok(out)
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hash(MessageDigest::sha256(), bytes)
        .map(|d| hex::encode(&*d))
        .unwrap_or_default()
}

/// What [`accept`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// A new CRL replaced the cached one (or filled an empty slot).
    Updated(Meta),
    /// The same bytes as the cached CRL: nothing rebuilt.
    Unchanged(Meta),
}

impl Accepted {
    /// The facts of the cached CRL.
    pub fn meta(&self) -> &Meta {
        match self {
            Self::Updated(m) | Self::Unchanged(m) => m,
        }
    }
}

/// Either a rejection (the CRL is invalid) or a failure to write the cache.
#[derive(Debug)]
pub enum AcceptError {
    /// The CRL broke a rule; the CA it claims, when one was identified.
    Rejected(Rejection, Option<String>),
    /// The cache could not be written.
    Cache(CrlError),
}

/// Applies every acceptance rule to `bytes` and, when they pass, stores
/// the CRL with its index (hold the cache lock). A CRL identical to the
/// cached one is not parsed again.
pub fn accept(
    env: &Env,
    cas: &[TrustedCa],
    key: &[u8],
    bytes: &[u8],
    source: &str,
    now: OffsetDateTime,
) -> Result<Accepted, AcceptError> {
    accept_for(env, cas, key, bytes, source, now, None)
}

/// [`accept`], for an address of the CA `expected` (a fingerprint): a CRL
/// of any other CA is refused there, before anything is stored, so the
/// CA's other addresses are tried.
pub fn accept_for(
    env: &Env,
    cas: &[TrustedCa],
    key: &[u8],
    bytes: &[u8],
    source: &str,
    now: OffsetDateTime,
    expected: Option<&str>,
) -> Result<Accepted, AcceptError> {
    let rej = |r| AcceptError::Rejected(r, None);
    let der = parse::decode(bytes).map_err(rej)?;
    let sha = hash(MessageDigest::sha256(), &der).map_err(|e| {
        AcceptError::Cache(CrlError::Io {
            path: source.into(),
            source: std::io::Error::other(e.to_string()),
        })
    })?;
    let sha_hex = hex::encode(&*sha);
    let cache = env.cache();
    for fp in cache.cached() {
        if let Some(meta) = cache.meta(&fp) {
            if meta.sha256 == sha_hex
                && expected.is_none_or(|e| e == fp)
                && cas.iter().any(|c| c.fingerprint == fp)
                && index::Index::load(&cache.index_path(&fp), key)
                    .is_ok_and(|i| hex::encode(i.header.crl_sha256) == sha_hex)
            {
                return Ok(Accepted::Unchanged(meta));
            }
        }
    }
    let parsed = parse::parse(&der).map_err(rej)?;
    if parsed.delta_base.is_some() {
        return Err(rej(Rejection::Unsupported {
            what: UnsupportedCrl::Delta,
        }));
    }
    let now_unix = now.unix_timestamp();
    // A refused CRL is attributed to the imported CA it names, if any.
    let claimed = parse::issuer_candidates(&parsed, cas)
        .first()
        .map(|c| c.fingerprint.clone());
    let ca = parse::find_signer(&parsed, cas, now_unix)
        .map_err(|r| AcceptError::Rejected(r, claimed.clone()))?;
    if let Some(e) = expected.filter(|e| *e != ca.fingerprint) {
        return Err(AcceptError::Rejected(
            Rejection::OtherIssuer {
                issuer: ca.subject.clone(),
            },
            Some(e.to_string()),
        ));
    }
    let with_ca = |r| AcceptError::Rejected(r, Some(ca.fingerprint.clone()));
    let cached = cache.meta(&ca.fingerprint);
    let indexed = index::Index::load(&cache.index_path(&ca.fingerprint), key)
        .ok()
        .filter(|i| hex::encode(i.header.ca_sha256) == ca.fingerprint)
        .map(|i| i.header);
    // The CRL number's high-water mark: the highest of meta.json's and the
    // authenticated index's (so neither editing nor deleting meta.json
    // lets an older CRL back in).
    let old = cached
        .as_ref()
        .and_then(|c| c.crl_number.as_deref())
        .and_then(|h| hex::decode(h).ok())
        .into_iter()
        .chain(indexed.as_ref().and_then(|h| h.number.clone()))
        .max_by(|a, b| parse::cmp_number(a, b));
    match (&old, &parsed.number) {
        (Some(o), Some(n)) if parse::cmp_number(n, o) == std::cmp::Ordering::Less => {
            return Err(with_ca(Rejection::NumberBackwards {
                cached: hex::encode(o),
                new: hex::encode(n),
            }));
        }
        (Some(o), None) => {
            return Err(with_ca(Rejection::NumberBackwards {
                cached: hex::encode(o),
                new: "-".into(),
            }));
        }
        _ => {}
    }
    // A replay (an older CRL, validly signed) is refused against the newest
    // of meta.json's date and the authenticated index's: editing or deleting
    // meta.json does not open the door.
    let indexed = indexed.map(|h| h.this_update);
    let newest = cached
        .as_ref()
        .map(|c| c.this_update.unix_timestamp())
        .into_iter()
        .chain(indexed)
        .max();
    if let Some(newest) = newest.filter(|n| parsed.this_update < *n) {
        return Err(with_ca(Rejection::Older {
            cached: super::time::rfc3339(parse::unix(newest)),
            new: super::time::rfc3339(parse::unix(parsed.this_update)),
        }));
    }
    let mut entries = Vec::new();
    let count = parse::for_each_entry(&parsed, |e| entries.push(e)).map_err(with_ca)?;
    let ca_sha: [u8; 32] = hex::decode(&ca.fingerprint)
        .ok()
        .and_then(|v| v.try_into().ok())
        .unwrap_or([0; 32]);
    let mut crl_sha = [0u8; 32];
    crl_sha.copy_from_slice(&sha);
    let next_update = parsed.next_update.unwrap_or(parsed.this_update);
    let header = index::Header {
        crl_sha256: crl_sha,
        ca_sha256: ca_sha,
        this_update: parsed.this_update,
        next_update,
        flags: (u8::from(parsed.only_user) * index::FLAG_ONLY_USER)
            | (u8::from(parsed.only_ca) * index::FLAG_ONLY_CA)
            | (u8::from(!parsed.idp_urls.is_empty()) * index::FLAG_PARTITIONED),
        scope: parsed.idp_urls.clone(),
        number: parsed.number.clone(),
        base_number: None,
    };
    let index_bytes = index::build(&header, &mut entries, key).map_err(|e| {
        AcceptError::Cache(CrlError::Io {
            path: source.into(),
            source: std::io::Error::other(e.to_string()),
        })
    })?;
    drop(entries);
    let meta = Meta {
        ca_fingerprint: ca.fingerprint.clone(),
        issuer: ca.subject.clone(),
        this_update: parse::unix(parsed.this_update),
        next_update: parse::unix(next_update),
        crl_number: parsed.number.as_ref().map(hex::encode),
        entries: count,
        sha256: sha_hex,
        bytes: der.len() as u64,
        source: source.to_string(),
        accepted_at: now,
        idp_urls: parsed.idp_urls.clone(),
        base_crl_number: None,
        freshest_urls: parsed.freshest_urls.clone(),
    };
    cache
        .store(&meta, &der, &index_bytes)
        .map_err(AcceptError::Cache)?;
    Ok(Accepted::Updated(meta))
}

/// Verifies a CA's cached `crl.der` again under every rule and rebuilds its
/// index (hold the cache lock): for an index that was refused (damaged,
/// edited, of an older format). Nothing in the cache is trusted for this:
/// the CRL must still parse, be signed by the imported CA, and so on.
pub fn reverify(
    env: &Env,
    cas: &[TrustedCa],
    key: &[u8],
    fp: &str,
    now: OffsetDateTime,
) -> Result<Accepted, AcceptError> {
    let cache = env.cache();
    let path = cache.crl_path(fp);
    let bytes = super::fsutil::read_limited(&path, env.policy.max_bytes).map_err(|source| {
        AcceptError::Cache(CrlError::Io {
            path: path.display().to_string(),
            source,
        })
    })?;
    let source = cache
        .meta(fp)
        .map_or_else(|| "cache".to_string(), |m| m.source);
    accept_for(env, cas, key, &bytes, &source, now, Some(fp))
}

/// `crl import FILE`: a CRL brought on a stick, under the same rules as a
/// download. Returns the facts of the cached CRL.
pub fn import_file(
    env: &Env,
    path: &std::path::Path,
    now: OffsetDateTime,
) -> Result<Accepted, CrlError> {
    let shown = path.display().to_string();
    // Non-blocking open, regular files only, size capped before a byte is
    // read: a FIFO or /dev/zero is refused at once.
    let bytes = match super::fsutil::read_limited(path, env.policy.max_bytes) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
            return Err(CrlError::Rejected {
                path: shown,
                reason: Rejection::Malformed {
                    detail: crate::t!("crl.file_too_large", max = env.policy.max_bytes),
                },
            });
        }
        Err(source) => {
            return Err(CrlError::Io {
                path: shown,
                source,
            });
        }
    };
    let cas = env.ca_store().list()?;
    let cache = env.cache();
    let _lock = cache.lock(std::time::Duration::from_secs(600), &mut || {})?;
    let key = cache::index_key(&env.home.index_key_file())?;
    let name = path
        .file_name()
        .map_or_else(|| shown.clone(), |n| n.to_string_lossy().into_owned());
    let source = format!("import:{name}");
    let result = match accept(env, &cas, &key, &bytes, &source, now) {
        // A delta CRL brought on a stick goes beside its base.
        Err(AcceptError::Rejected(
            Rejection::Unsupported {
                what: UnsupportedCrl::Delta,
            },
            _,
        )) => {
            let r = delta::accept(env, &cas, &key, &bytes, &source, now, None);
            delta::record_import(&cache, &r, &shown, now)?;
            return match r {
                Ok(a) => Ok(a),
                Err(AcceptError::Rejected(reason, _)) => Err(CrlError::Rejected {
                    path: shown,
                    reason,
                }),
                Err(AcceptError::Cache(e)) => Err(e),
            };
        }
        other => other,
    };
    let mut state = cache.state();
    let (outcome, ca, cause) = match &result {
        Ok(a) => ("imported", Some(a.meta().ca_fingerprint.clone()), None),
        Err(AcceptError::Rejected(r, ca)) => (
            "invalid",
            ca.clone(),
            Some(cache::Cause::Rejected(r.clone())),
        ),
        Err(AcceptError::Cache(_)) => ("failed", None, None),
    };
    if let Some(fp) = ca {
        if outcome != "failed" {
            let entry = state.cas.entry(fp).or_default();
            entry.last = Some(Attempt {
                at: now,
                outcome: outcome.into(),
                cause,
                legacy_message: None,
                url: Some(shown.clone()),
            });
            cache.save_state(&state)?;
        }
    }
    let journaled = match &result {
        Ok(a) => Some((
            Some(a.meta().ca_fingerprint.clone()),
            match a {
                Accepted::Updated(_) => "updated",
                Accepted::Unchanged(_) => "unchanged",
            },
            None,
        )),
        Err(AcceptError::Rejected(r, ca)) => Some((
            ca.clone(),
            "invalid",
            Some(cache::Cause::Rejected(r.clone())),
        )),
        Err(AcceptError::Cache(_)) => None,
    };
    if let Some((ca_fingerprint, outcome, cause)) = journaled {
        super::journal::record(
            &env.home,
            &super::journal::Event::CrlImport {
                ca_fingerprint,
                path: shown.clone(),
                outcome: outcome.into(),
                cause,
            },
        );
    }
    match result {
        Ok(a) => Ok(a),
        Err(AcceptError::Rejected(reason, _)) => Err(CrlError::Rejected {
            path: shown,
            reason,
        }),
        Err(AcceptError::Cache(e)) => Err(e),
    }
}

/// A correspondent with its revocation state.
#[derive(Debug, Clone)]
pub struct CorrespondentStatus {
    /// The correspondent.
    pub correspondent: Correspondent,
    /// Its state.
    pub status: CertStatus,
}

/// Every correspondent with its state.
pub fn correspondents(
    env: &Env,
    now: OffsetDateTime,
) -> Result<Vec<CorrespondentStatus>, CrlError> {
    let mut checker = Checker::new(env, now)?;
    Ok(env
        .correspondent_store()
        .list()?
        .into_iter()
        .map(|c| CorrespondentStatus {
            status: checker.check(&c.cert),
            correspondent: c,
        })
        .collect())
}

/// The common name of a one-line subject (`C=FR, ..., CN=X` gives `X`), for
/// messages; JSON keeps the whole subject.
pub fn short_name(subject: &str) -> String {
    subject
        .rsplit(", ")
        .find_map(|p| p.strip_prefix("CN="))
        .unwrap_or(subject)
        .to_string()
}

/// The alerts of the CRL and revocation panes. Silent while revocation
/// checking is not set up (no CA and no correspondent imported).
pub fn alerts(env: &Env, now: OffsetDateTime) -> Result<Vec<Alert>, CrlError> {
    let cas = env.ca_store().list()?;
    let correspondents = env.correspondent_store().list()?;
    let mut out = Vec::new();
    let alert =
        |severity, code: &str, pane, message: String, recommendation: String, account| Alert {
            severity,
            code: code.to_string(),
            message,
            recommendation,
            pane,
            account,
        };
    if cas.is_empty() {
        // Nothing can be checked without a trusted CA: one honest alert
        // ("not set up", unknown) rather than one per CRL and certificate.
        out.push(alert(
            Level::Unknown,
            "revocation_not_set_up",
            Pane::Crl,
            crate::t!("status.no_ca"),
            crate::t!("status.no_ca_fix"),
            None,
        ));
        return Ok(out);
    }
    for e in list(env, now)? {
        let severity = e.level(now);
        let fix_update = crate::t!("status.crl_fix_update");
        let (code, message, fix) = match e.state {
            CrlState::Fresh => continue,
            CrlState::Due => (
                "crl_due",
                crate::t!(
                    "status.crl_due",
                    issuer = short_name(&e.issuer),
                    date = e.next_update.map(super::time::rfc3339).unwrap_or_default()
                ),
                fix_update,
            ),
            CrlState::Expired => (
                "crl_expired",
                crate::t!(
                    "status.crl_expired",
                    issuer = short_name(&e.issuer),
                    date = e.next_update.map(super::time::rfc3339).unwrap_or_default()
                ),
                fix_update,
            ),
            CrlState::Missing if e.ca_fingerprint.is_none() => (
                "crl_no_ca",
                crate::t!("status.crl_no_ca", issuer = short_name(&e.issuer)),
                crate::t!("status.no_ca_fix"),
            ),
            CrlState::Missing => (
                "crl_missing",
                crate::t!("status.crl_missing", issuer = short_name(&e.issuer)),
                fix_update,
            ),
            CrlState::Invalid => (
                "crl_invalid",
                crate::t!(
                    "status.crl_invalid",
                    issuer = short_name(&e.issuer),
                    reason = e.reason.clone().unwrap_or_default()
                ),
                crate::t!("status.crl_invalid_fix"),
            ),
            CrlState::Unreachable => (
                "crl_unreachable",
                crate::t!(
                    "status.crl_unreachable",
                    issuer = short_name(&e.issuer),
                    reason = e.reason.clone().unwrap_or_default()
                ),
                crate::t!("status.crl_unreachable_fix"),
            ),
        };
        out.push(alert(severity, code, Pane::Crl, message, fix, None));
    }
    let mut checker = Checker::new(env, now)?;
    for a in env.store().list()? {
        let Ok(cert) = a.cert() else { continue };
        let s = checker.check(&cert);
        let id = Some(a.meta.id.clone());
        let label = a.meta.label.clone();
        match s.state {
            CertState::Revoked => out.push(alert(
                Level::Critical,
                "cert_revoked",
                Pane::Revocation,
                crate::t!(
                    "status.cert_revoked",
                    label = label,
                    date = s.revoked_at.map(super::time::rfc3339).unwrap_or_default(),
                    reason = check::reason_words(s.reason)
                ),
                crate::t!("status.cert_revoked_fix"),
                id,
            )),
            CertState::Untrusted => out.push(alert(
                Level::Warning,
                "cert_untrusted",
                Pane::Revocation,
                crate::t!("status.cert_untrusted", label = label),
                crate::t!("status.cert_untrusted_fix"),
                id,
            )),
            CertState::Unknown => out.push(alert(
                Level::Unknown,
                "revocation_unknown",
                Pane::Revocation,
                crate::t!(
                    "status.revocation_unknown",
                    label = label,
                    detail = s.detail.unwrap_or_default()
                ),
                crate::t!("status.crl_fix_update"),
                id,
            )),
            _ => {}
        }
    }
    let mut unknown = 0usize;
    let mut untrusted = 0usize;
    for c in &correspondents {
        let s = checker.check(&c.cert);
        match s.state {
            CertState::Revoked => out.push(alert(
                Level::Critical,
                "correspondent_revoked",
                Pane::Revocation,
                crate::t!(
                    "status.correspondent_revoked",
                    subject = short_name(&c.info.subject),
                    date = s.revoked_at.map(super::time::rfc3339).unwrap_or_default(),
                    reason = check::reason_words(s.reason)
                ),
                crate::t!("status.correspondent_revoked_fix"),
                None,
            )),
            CertState::Unknown => unknown += 1,
            CertState::Untrusted => untrusted += 1,
            _ => {}
        }
    }
    if untrusted > 0 {
        out.push(alert(
            Level::Warning,
            "correspondent_untrusted",
            Pane::Revocation,
            crate::t!("status.correspondent_untrusted", count = untrusted),
            crate::t!("status.no_ca_fix"),
            None,
        ));
    }
    if unknown > 0 {
        out.push(alert(
            Level::Unknown,
            "correspondent_unknown",
            Pane::Revocation,
            crate::t!("status.correspondent_unknown", count = unknown),
            crate::t!("status.crl_fix_update"),
            None,
        ));
    }
    Ok(out)
}
