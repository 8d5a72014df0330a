//! The state of each watched CRL, and the correspondents with theirs.

use serde::Serialize;
use time::OffsetDateTime;

use super::cache::{self, Attempt, AttemptOutcome, CaState, Cache, Meta};
use super::check::{CertStatus, Checker};
use super::{CrlError, Env, UrlInfo, UrlKind, delta, index, parse, slots};
use crate::domain::config::CrlPolicy;
use crate::domain::status::Level;
use crate::domain::trust::Correspondent;

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

/// One CRL as `crl status` and the TUI show it.
#[derive(Debug, Clone, Serialize)]
pub struct CrlEntry {
    /// The issuing CA's subject.
    pub issuer: String,
    /// Its short name for messages (CN, else O, from the certificate's
    /// name; not in the JSON).
    #[serde(skip)]
    pub issuer_short: String,
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
        match last.outcome {
            AttemptOutcome::Invalid => return CrlState::Invalid,
            AttemptOutcome::Unreachable => return CrlState::Unreachable,
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
        if slot.ca.is_none() && slot.key.is_missing_ca() {
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
            issuer_short: if slot.short.is_empty() {
                crate::t!("crl.issuer_unknown_yet")
            } else {
                slot.short.clone()
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
