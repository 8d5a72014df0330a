//! Acceptance of a CRL under every rule of PRODUCT.md, its storage with
//! the index, re-verification, and `crl import`.

use openssl::hash::{MessageDigest, hash};
use time::OffsetDateTime;

use super::cache::{self, Attempt, AttemptOutcome, Meta};
use super::{CrlError, Env, Rejection, UnsupportedCrl, delta, index, parse};
use crate::domain::trust::TrustedCa;

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
            cached: crate::domain::time::rfc3339(parse::unix(newest)),
            new: crate::domain::time::rfc3339(parse::unix(parsed.this_update)),
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
    let bytes =
        crate::domain::fsutil::read_limited(&path, env.policy.max_bytes).map_err(|source| {
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
    let bytes = match crate::domain::fsutil::read_limited(path, env.policy.max_bytes) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
            return Err(CrlError::Rejected {
                path: shown,
                reason: Rejection::TooLarge {
                    max: env.policy.max_bytes,
                },
            });
        }
        Err(source) => {
            return Err(CrlError::ReadFile {
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
    let recorded = match &result {
        Ok(a) => Some((
            AttemptOutcome::Imported,
            Some(a.meta().ca_fingerprint.clone()),
            None,
        )),
        Err(AcceptError::Rejected(r, ca)) => Some((
            AttemptOutcome::Invalid,
            ca.clone(),
            Some(cache::Cause::Rejected(r.clone())),
        )),
        Err(AcceptError::Cache(_)) => None,
    };
    if let Some((outcome, Some(fp), cause)) = recorded {
        let entry = state.cas.entry(fp).or_default();
        entry.last = Some(Attempt {
            at: now,
            outcome,
            cause,
            legacy_message: None,
            url: Some(shown.clone()),
        });
        cache.save_state(&state)?;
    }
    let journaled = match &result {
        Ok(a) => Some((
            Some(a.meta().ca_fingerprint.clone()),
            match a {
                Accepted::Updated(_) => AttemptOutcome::Updated,
                Accepted::Unchanged(_) => AttemptOutcome::Unchanged,
            },
            None,
        )),
        Err(AcceptError::Rejected(r, ca)) => Some((
            ca.clone(),
            AttemptOutcome::Invalid,
            Some(cache::Cause::Rejected(r.clone())),
        )),
        Err(AcceptError::Cache(_)) => None,
    };
    if let Some((ca_fingerprint, outcome, cause)) = journaled {
        crate::domain::journal::record(
            &env.home,
            &crate::domain::journal::Event::CrlImport {
                ca_fingerprint,
                path: shown.clone(),
                outcome,
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
