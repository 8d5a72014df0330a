//! Delta CRLs (RFC 5280 5.2.4): found through the Freshest CRL extension of
//! the certificates and of the base CRLs, accepted only beside their base,
//! cached in the base's folder (`delta.der`, `delta.idx`, `delta.json`), and
//! applied over the base by [`super::check::Checker`].
//!
//! A delta is accepted when it is signed by the CA whose base is cached (the
//! same rules as a base: signature, cRLSign, thisUpdate not in the future,
//! nextUpdate present, no unknown critical extension), has the base's scope,
//! a `DeltaCRLIndicator` not above the cached base's CRL number, a CRL number
//! above the base's, a thisUpdate not before the base's, and does not go
//! backwards from the cached delta (number and thisUpdate). At check time
//! [`applies`] asks again against the base cached then: a delta that no
//! longer applies (superseded by a newer base, stale) is ignored and said.

use std::path::PathBuf;

use serde::Serialize;
use time::OffsetDateTime;

use super::cache::{Attempt, AttemptOutcome, CaState, Cache, Cause, Meta, State, UrlState};
use super::fetch::{Fetcher, Request, Response};
use super::index::{
    self, FLAG_DELTA, FLAG_ONLY_CA, FLAG_ONLY_USER, FLAG_PARTITIONED, Header, Index,
};
use super::update::{Outcome, SlotReport};
use super::{AcceptError, Accepted, CrlError, CrlState, Env, Rejection, Slot, parse, sha256_hex};
use crate::domain::config::CrlPolicy;
use crate::domain::trust::TrustedCa;

/// Why a cached delta CRL was not applied (the `delta_ignored` code of
/// `check` and the `ignored` code of `crl status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum DeltaIgnored {
    /// Its `DeltaCRLIndicator` is above the cached base's CRL number (or a
    /// number is missing): it applies to a base certsafe does not have.
    Orphan,
    /// Not newer than the cached base (a newer base replaced it).
    Superseded,
    /// Its nextUpdate has passed.
    Stale,
    /// Its scope is not the base's.
    Scope,
    /// Its index is damaged or not the CA's.
    Damaged,
}

impl DeltaIgnored {
    /// The JSON word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Orphan => "orphan",
            Self::Superseded => "superseded",
            Self::Stale => "stale",
            Self::Scope => "scope",
            Self::Damaged => "damaged",
        }
    }
}

/// Path of a CA's cached delta CRL.
pub fn crl_path(cache: &Cache, fp: &str) -> PathBuf {
    cache.ca_dir(fp).join("delta.der")
}

/// Path of the index of a CA's cached delta CRL.
pub fn index_path(cache: &Cache, fp: &str) -> PathBuf {
    cache.ca_dir(fp).join("delta.idx")
}

fn meta_path(cache: &Cache, fp: &str) -> PathBuf {
    cache.ca_dir(fp).join("delta.json")
}

/// The facts of a CA's cached delta CRL (`delta.json`), if any.
pub fn meta(cache: &Cache, fp: &str) -> Option<Meta> {
    let bytes = crate::domain::fsutil::read_limited(&meta_path(cache, fp), 1 << 20).ok()?;
    serde_json::from_slice(&bytes).ok()
}

const SCOPE_FLAGS: u8 = FLAG_ONLY_USER | FLAG_ONLY_CA | FLAG_PARTITIONED;

fn same_scope(base: &Header, delta: &Header) -> bool {
    base.flags & SCOPE_FLAGS == delta.flags & SCOPE_FLAGS && base.scope == delta.scope
}

/// Whether the delta whose index header is `delta` applies over the base
/// whose index header is `base` at `now` (Unix seconds).
pub fn applies(base: &Header, delta: &Header, now: i64) -> Result<(), DeltaIgnored> {
    use std::cmp::Ordering;
    if delta.flags & FLAG_DELTA == 0 || delta.ca_sha256 != base.ca_sha256 {
        return Err(DeltaIgnored::Damaged);
    }
    if !same_scope(base, delta) {
        return Err(DeltaIgnored::Scope);
    }
    let (Some(base_number), Some(indicator), Some(number)) =
        (&base.number, &delta.base_number, &delta.number)
    else {
        return Err(DeltaIgnored::Orphan);
    };
    if parse::cmp_number(indicator, base_number) == Ordering::Greater {
        return Err(DeltaIgnored::Orphan);
    }
    if parse::cmp_number(number, base_number) != Ordering::Greater
        || delta.this_update < base.this_update
    {
        return Err(DeltaIgnored::Superseded);
    }
    if delta.next_update <= now {
        return Err(DeltaIgnored::Stale);
    }
    Ok(())
}

fn base_header(cache: &Cache, key: &[u8], fp: &str) -> Option<Header> {
    Index::load(&cache.index_path(fp), key)
        .ok()
        .filter(|i| hex::encode(i.header.ca_sha256) == fp)
        .map(|i| i.header)
}

fn delta_header(cache: &Cache, key: &[u8], fp: &str) -> Option<Header> {
    Index::load(&index_path(cache, fp), key)
        .ok()
        .filter(|i| hex::encode(i.header.ca_sha256) == fp && i.header.flags & FLAG_DELTA != 0)
        .map(|i| i.header)
}

fn hex_or_dash(n: Option<&Vec<u8>>) -> String {
    n.map_or_else(|| "-".into(), hex::encode)
}

/// Applies every acceptance rule to a delta CRL's `bytes` and, when they
/// pass, caches it beside its base (hold the cache lock). `expected`: the
/// CA whose Freshest CRL address served it.
pub fn accept(
    env: &Env,
    cas: &[TrustedCa],
    key: &[u8],
    bytes: &[u8],
    source: &str,
    now: OffsetDateTime,
    expected: Option<&str>,
) -> Result<Accepted, AcceptError> {
    use std::cmp::Ordering;
    let rej = |r| AcceptError::Rejected(r, None);
    let der = parse::decode(bytes).map_err(rej)?;
    let sha_hex = sha256_hex(&der);
    let cache = env.cache();
    if let Some(fp) = expected {
        if let (Some(m), Some(h)) = (meta(&cache, fp), delta_header(&cache, key, fp)) {
            if m.sha256 == sha_hex && hex::encode(h.crl_sha256) == sha_hex {
                return Ok(Accepted::Unchanged(m));
            }
        }
    }
    let parsed = parse::parse(&der).map_err(rej)?;
    let claimed = parse::issuer_candidates(&parsed, cas)
        .first()
        .map(|c| c.fingerprint.clone());
    let Some(indicator) = parsed.delta_base.clone() else {
        return Err(AcceptError::Rejected(
            Rejection::NotADelta,
            expected.map(str::to_string).or(claimed),
        ));
    };
    let ca = parse::find_signer(&parsed, cas, now.unix_timestamp())
        .map_err(|r| AcceptError::Rejected(r, claimed.clone()))?;
    if let Some(e) = expected.filter(|e| *e != ca.fingerprint) {
        return Err(AcceptError::Rejected(
            Rejection::OtherIssuer {
                issuer: ca.subject.clone(),
            },
            Some(e.to_string()),
        ));
    }
    let fp = ca.fingerprint.clone();
    let with_ca = |r| AcceptError::Rejected(r, Some(fp.clone()));
    // Only with its base: same CA, same scope, for a base not newer than
    // the cached one, and newer than it.
    let base = base_header(&cache, key, &fp).ok_or_else(|| with_ca(Rejection::DeltaWithoutBase))?;
    let scope = Header {
        flags: (u8::from(parsed.only_user) * FLAG_ONLY_USER)
            | (u8::from(parsed.only_ca) * FLAG_ONLY_CA)
            | (u8::from(!parsed.idp_urls.is_empty()) * FLAG_PARTITIONED),
        scope: parsed.idp_urls.clone(),
        ..base.clone()
    };
    if !same_scope(&base, &scope) {
        return Err(with_ca(Rejection::DeltaScope));
    }
    let Some(base_number) = base.number.clone() else {
        return Err(with_ca(Rejection::DeltaOrphan {
            indicator: hex::encode(&indicator),
            base: "-".into(),
        }));
    };
    if parse::cmp_number(&indicator, &base_number) == Ordering::Greater {
        return Err(with_ca(Rejection::DeltaOrphan {
            indicator: hex::encode(&indicator),
            base: hex::encode(&base_number),
        }));
    }
    let not_newer = || {
        with_ca(Rejection::DeltaNotNewer {
            delta: hex_or_dash(parsed.number.as_ref()),
            base: hex::encode(&base_number),
        })
    };
    let number = parsed.number.clone().ok_or_else(not_newer)?;
    if parse::cmp_number(&number, &base_number) != Ordering::Greater
        || parsed.this_update < base.this_update
    {
        return Err(not_newer());
    }
    // The delta's own high-water marks: its number and thisUpdate never go
    // back (from delta.json and the authenticated delta.idx alike).
    let cached = meta(&cache, &fp);
    let indexed = delta_header(&cache, key, &fp);
    let old_number = cached
        .as_ref()
        .and_then(|c| c.crl_number.as_deref())
        .and_then(|h| hex::decode(h).ok())
        .into_iter()
        .chain(indexed.as_ref().and_then(|h| h.number.clone()))
        .max_by(|a, b| parse::cmp_number(a, b));
    if let Some(o) = old_number.filter(|o| parse::cmp_number(&number, o) == Ordering::Less) {
        return Err(with_ca(Rejection::NumberBackwards {
            cached: hex::encode(o),
            new: hex::encode(&number),
        }));
    }
    let newest = cached
        .as_ref()
        .map(|c| c.this_update.unix_timestamp())
        .into_iter()
        .chain(indexed.map(|h| h.this_update))
        .max();
    if let Some(newest) = newest.filter(|n| parsed.this_update < *n) {
        return Err(with_ca(Rejection::Older {
            cached: crate::domain::time::rfc3339(parse::unix(newest)),
            new: crate::domain::time::rfc3339(parse::unix(parsed.this_update)),
        }));
    }
    let mut entries = Vec::new();
    let count = parse::for_each_entry(&parsed, |e| entries.push(e)).map_err(with_ca)?;
    let mut crl_sha = [0u8; 32];
    if let Ok(d) = hex::decode(&sha_hex) {
        crl_sha.copy_from_slice(&d);
    }
    let next_update = parsed.next_update.unwrap_or(parsed.this_update);
    let header = Header {
        crl_sha256: crl_sha,
        ca_sha256: base.ca_sha256,
        this_update: parsed.this_update,
        next_update,
        flags: scope.flags | FLAG_DELTA,
        scope: scope.scope,
        number: Some(number.clone()),
        base_number: Some(indicator.clone()),
    };
    let cache_err = |e: String| {
        AcceptError::Cache(CrlError::Io {
            path: source.into(),
            source: std::io::Error::other(e),
        })
    };
    let index_bytes =
        index::build(&header, &mut entries, key).map_err(|e| cache_err(e.to_string()))?;
    drop(entries);
    let meta = Meta {
        ca_fingerprint: fp.clone(),
        issuer: ca.subject.clone(),
        this_update: parse::unix(parsed.this_update),
        next_update: parse::unix(next_update),
        crl_number: Some(hex::encode(&number)),
        entries: count,
        sha256: sha_hex,
        bytes: der.len() as u64,
        source: source.to_string(),
        accepted_at: now,
        idp_urls: parsed.idp_urls.clone(),
        base_crl_number: Some(hex::encode(&indicator)),
        freshest_urls: Vec::new(),
    };
    store(&cache, &meta, &der, &index_bytes).map_err(AcceptError::Cache)?;
    Ok(Accepted::Updated(meta))
}

/// Stores an accepted delta: the DER, the index, then the facts, each
/// replaced atomically (hold the lock).
fn store(cache: &Cache, meta: &Meta, der: &[u8], index: &[u8]) -> Result<(), CrlError> {
    use crate::domain::fsutil::{create_private_dir, write_atomic};
    let fp = &meta.ca_fingerprint;
    let io = |path: PathBuf| {
        move |source| CrlError::Io {
            path: path.display().to_string(),
            source,
        }
    };
    let dir = cache.ca_dir(fp);
    create_private_dir(&dir).map_err(io(dir.clone()))?;
    let path = crl_path(cache, fp);
    write_atomic(&path, der).map_err(io(path.clone()))?;
    let path = index_path(cache, fp);
    write_atomic(&path, index).map_err(io(path.clone()))?;
    let path = meta_path(cache, fp);
    let json = serde_json::to_vec_pretty(meta).unwrap_or_default();
    write_atomic(&path, &json).map_err(io(path.clone()))
}

/// Records a `crl import` of a delta CRL in `state.json` (hold the lock).
pub fn record_import(
    cache: &Cache,
    result: &Result<Accepted, AcceptError>,
    path: &str,
    now: OffsetDateTime,
) -> Result<(), CrlError> {
    let (outcome, fp, cause) = match result {
        Ok(a) => (
            AttemptOutcome::Imported,
            Some(a.meta().ca_fingerprint.clone()),
            None,
        ),
        Err(AcceptError::Rejected(r, ca)) => (
            AttemptOutcome::Invalid,
            ca.clone(),
            Some(Cause::Rejected(r.clone())),
        ),
        Err(AcceptError::Cache(_)) => return Ok(()),
    };
    let Some(fp) = fp else { return Ok(()) };
    let mut state = cache.state();
    state.cas.entry(fp).or_default().delta = Some(Attempt {
        at: now,
        outcome,
        cause,
        legacy_message: None,
        url: Some(path.to_string()),
    });
    cache.save_state(&state)
}

/// A CA's delta CRL as `crl status` shows it (the `delta` object).
#[derive(Debug, Clone, Serialize)]
pub struct DeltaEntry {
    /// The address it was taken from, else the first delta address.
    pub url: Option<String>,
    /// Every delta address.
    pub urls: Vec<String>,
    /// Its state (`fresh`, `due`, `expired`, `missing`, `invalid`, `unreachable`).
    pub state: CrlState,
    /// thisUpdate of the cached delta.
    #[serde(with = "time::serde::rfc3339::option")]
    pub this_update: Option<OffsetDateTime>,
    /// nextUpdate of the cached delta.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_update: Option<OffsetDateTime>,
    /// Its entries.
    pub entries: Option<u64>,
    /// Its CRL number (hex).
    pub crl_number: Option<String>,
    /// Its `DeltaCRLIndicator`: the base CRL number it applies to (hex).
    pub base_crl_number: Option<String>,
    /// Why the cached delta is not applied now (None: it is, or none is cached).
    pub ignored: Option<DeltaIgnored>,
    /// Why the last attempt failed, as data (`kind`, `detail.code`...).
    pub cause: Option<Cause>,
    /// The same, in the reader's language.
    pub reason: Option<String>,
}

/// The delta CRL of the CA `fp` for `crl status`: None when the CA names no
/// delta address and none is cached or was tried.
#[allow(clippy::too_many_arguments)]
pub fn entry(
    cache: &Cache,
    key: Option<&[u8]>,
    fp: &str,
    slot_urls: &[String],
    base_meta: Option<&Meta>,
    ca_state: Option<&CaState>,
    now: OffsetDateTime,
    policy: &CrlPolicy,
) -> Option<DeltaEntry> {
    let mut urls = slot_urls.to_vec();
    for u in base_meta
        .map(|m| m.freshest_urls.as_slice())
        .unwrap_or_default()
    {
        if !urls.contains(u) {
            urls.push(u.clone());
        }
    }
    let header = key.and_then(|k| delta_header(cache, k, fp));
    let last = ca_state.and_then(|s| s.delta.clone());
    if urls.is_empty() && header.is_none() && last.is_none() {
        return None;
    }
    // Dates, numbers and counts as the authenticated index vouches for them.
    let vouched = header.as_ref().and_then(|h| {
        let mut m = meta(cache, fp)?;
        if hex::encode(h.crl_sha256) != m.sha256 {
            return None;
        }
        m.this_update = parse::unix(h.this_update);
        m.next_update = parse::unix(h.next_update);
        m.crl_number = h.number.as_ref().map(hex::encode);
        m.base_crl_number = h.base_number.as_ref().map(hex::encode);
        Some(m)
    });
    let state = super::state_of(
        vouched.as_ref(),
        Some(&CaState {
            last: last.clone(),
            ..CaState::default()
        }),
        now,
        policy,
    );
    let ignored = match (&header, key.and_then(|k| base_header(cache, k, fp))) {
        (Some(d), Some(b)) => applies(&b, d, now.unix_timestamp()).err(),
        (Some(_), None) => Some(DeltaIgnored::Orphan),
        _ => None,
    };
    let failed = last.as_ref().filter(|l| l.failed());
    Some(DeltaEntry {
        url: vouched
            .as_ref()
            .map(|m| m.source.clone())
            .filter(|s| !s.starts_with("import:"))
            .or_else(|| urls.first().cloned()),
        urls,
        state,
        this_update: vouched.as_ref().map(|m| m.this_update),
        next_update: vouched.as_ref().map(|m| m.next_update),
        entries: vouched.as_ref().map(|m| m.entries),
        crl_number: vouched.as_ref().and_then(|m| m.crl_number.clone()),
        base_crl_number: vouched.as_ref().and_then(|m| m.base_crl_number.clone()),
        ignored,
        cause: failed.and_then(|l| l.cause.clone()),
        reason: failed.and_then(Attempt::reason),
    })
}

/// What `crl update` did with a CA's delta CRL (the `delta` object of a
/// CRL in `crl update --json`).
#[derive(Debug, Clone, Serialize)]
pub struct DeltaReport {
    /// The address used last.
    pub url: Option<String>,
    /// What happened (`updated`, `unchanged`, `not_modified`, `not_due`,
    /// `invalid`, `unreachable`, `cache_error`).
    pub outcome: Outcome,
    /// Why, as data.
    pub cause: Option<Cause>,
    /// The cached delta's CRL number afterwards (hex).
    pub crl_number: Option<String>,
}

fn is_due(
    cache: &Cache,
    key: &[u8],
    fp: &str,
    ca_state: &CaState,
    base_updated: bool,
    now: OffsetDateTime,
    policy: &CrlPolicy,
) -> bool {
    let Some(delta) = delta_header(cache, key, fp) else {
        return true;
    };
    let Some(base) = base_header(cache, key, fp) else {
        return false; // no base: a delta could not be accepted
    };
    if base_updated
        || applies(&base, &delta, now.unix_timestamp()).is_err()
        || ca_state.delta.as_ref().is_some_and(Attempt::failed)
    {
        return true;
    }
    let warning = time::Duration::hours(i64::from(policy.warning_hours));
    let refresh = time::Duration::hours(i64::from(policy.refresh_hours));
    parse::unix(delta.next_update) - now <= warning
        || ca_state
            .delta_confirmed_at
            .is_none_or(|c| now - c >= refresh)
}

/// After the bases: fetch each CA's delta CRL that is due, from the Freshest
/// CRL addresses of its certificates and of its cached base, one address
/// after the other, through the same fetcher (an address it cannot fetch,
/// LDAP until it can, fails as unreachable). Hold the cache lock.
#[allow(clippy::too_many_arguments)]
pub fn update_all(
    env: &Env,
    fetcher: &dyn Fetcher,
    cas: &[TrustedCa],
    key: &[u8],
    slots: &[Slot],
    reports: &mut [SlotReport],
    state: &mut State,
    force: bool,
    now: OffsetDateTime,
) {
    let cache = env.cache();
    for slot in slots {
        let Some(ca) = &slot.ca else { continue };
        let fp = &ca.fingerprint;
        let mut urls = slot.delta_urls.clone();
        if let Some(m) = cache.meta(fp) {
            for u in m.freshest_urls {
                if !urls.contains(&u) {
                    urls.push(u);
                }
            }
        }
        if urls.is_empty() {
            continue;
        }
        let Some(report) = reports
            .iter_mut()
            .find(|r| r.ca_fingerprint.as_deref() == Some(fp.as_str()))
        else {
            continue;
        };
        let ca_state = state.cas.get(fp).cloned().unwrap_or_default();
        let base_updated = report.outcome == Outcome::Updated;
        let has_base = base_header(&cache, key, fp).is_some();
        if !has_base
            || (!force && !is_due(&cache, key, fp, &ca_state, base_updated, now, &env.policy))
        {
            report.delta = Some(Box::new(DeltaReport {
                url: None,
                outcome: if has_base {
                    Outcome::NotDue
                } else {
                    Outcome::NotFetched
                },
                cause: (!has_base).then_some(Cause::Rejected(Rejection::DeltaWithoutBase)),
                crl_number: meta(&cache, fp).and_then(|m| m.crl_number),
            }));
            continue;
        }
        let usable = delta_header(&cache, key, fp).is_some();
        let mut result: Option<DeltaReport> = None;
        for url in &urls {
            let known = state.urls.get(url).cloned().unwrap_or_default();
            let req = Request {
                url: url.clone(),
                etag: known.etag.clone().filter(|_| usable && !force),
                last_modified: known.last_modified.clone().filter(|_| usable && !force),
            };
            let mut r = DeltaReport {
                url: Some(url.clone()),
                outcome: Outcome::Unreachable,
                cause: None,
                crl_number: None,
            };
            let mut url_state = UrlState {
                ca: Some(fp.clone()),
                ..known
            };
            match fetcher.fetch(&req, &mut |_, _| {}) {
                Ok(Response::NotModified) if usable => r.outcome = Outcome::NotModified,
                Ok(Response::NotModified) => {
                    r.cause = Some(Cause::NotModifiedUncached { url: url.clone() });
                    url_state.etag = None;
                    url_state.last_modified = None;
                }
                Ok(Response::Body {
                    bytes,
                    etag,
                    last_modified,
                }) => match accept(env, cas, key, &bytes, url, now, Some(fp)) {
                    Ok(a) => {
                        r.outcome = match a {
                            Accepted::Updated(_) => Outcome::Updated,
                            Accepted::Unchanged(_) => Outcome::Unchanged,
                        };
                        url_state.etag = etag;
                        url_state.last_modified = last_modified;
                    }
                    Err(AcceptError::Rejected(reason, _)) => {
                        r.outcome = Outcome::Invalid;
                        r.cause = Some(Cause::Rejected(reason));
                        url_state.etag = None;
                        url_state.last_modified = None;
                    }
                    Err(AcceptError::Cache(e)) => {
                        r.outcome = Outcome::CacheError;
                        r.cause = Some(Cause::cache(&e));
                    }
                },
                Err(e) => r.cause = Some(Cause::Fetch(e)),
            }
            let attempt = Attempt {
                at: now,
                outcome: r.outcome.into(),
                cause: r.cause.clone(),
                legacy_message: None,
                url: Some(url.clone()),
            };
            url_state.last = Some(attempt);
            state.urls.insert(url.clone(), url_state);
            let done = !r.outcome.failed() || r.outcome == Outcome::CacheError;
            // An invalid copy is the more telling failure; keep the first.
            let keep = match &result {
                None => true,
                Some(f) => {
                    done || (f.outcome == Outcome::Unreachable && r.outcome == Outcome::Invalid)
                }
            };
            if keep {
                result = Some(r);
            }
            if done {
                break;
            }
        }
        let Some(mut r) = result else { continue };
        r.crl_number = meta(&cache, fp).and_then(|m| m.crl_number);
        let entry = state.cas.entry(fp.clone()).or_default();
        entry.delta = Some(Attempt {
            at: now,
            outcome: r.outcome.into(),
            cause: r.cause.clone(),
            legacy_message: None,
            url: r.url.clone(),
        });
        if matches!(
            r.outcome,
            Outcome::Updated | Outcome::Unchanged | Outcome::NotModified
        ) {
            entry.delta_confirmed_at = Some(now);
        }
        report.delta = Some(Box::new(r));
    }
}
