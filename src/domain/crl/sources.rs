//! Where CRLs come from: the addresses (kinds), the certificates held,
//! and the slots (one CRL per issuing CA) they make.

use std::collections::BTreeMap;

use openssl::x509::X509;
use serde::Serialize;

use super::{CrlError, Env};
use crate::domain::identity::{fingerprint, name_line, short_name_of, signed_by};
use crate::domain::trust::TrustedCa;

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
    pub(super) fn of(url: &str) -> Self {
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

/// What a watched CRL is keyed by. Its text form (progress messages,
/// `crl update --json`'s `key`) is the fingerprint, `issuer:<name>` or
/// `url:<url>`, as before.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SlotKey {
    /// An imported CA, by fingerprint.
    Ca(String),
    /// The issuer of held certificates whose CA is not imported, by name.
    Issuer(String),
    /// A configured URL not yet matched to a CA.
    Url(String),
}

impl SlotKey {
    /// Whether the slot's CA is not imported (nothing can be verified).
    pub fn is_missing_ca(&self) -> bool {
        matches!(self, Self::Issuer(_))
    }
}

impl std::fmt::Display for SlotKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ca(fp) => f.write_str(fp),
            Self::Issuer(name) => write!(f, "issuer:{name}"),
            Self::Url(url) => write!(f, "url:{url}"),
        }
    }
}

impl Serialize for SlotKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A CRL certsafe watches: one per issuing CA.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The imported CA, the issuer's name, or the configured URL.
    pub key: SlotKey,
    /// The issuer on one line.
    pub issuer: String,
    /// The issuer's short name for messages (its CN, else O), read from
    /// the certificate's name; empty for a configured URL.
    pub short: String,
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
    let mut by_key: BTreeMap<SlotKey, Slot> = BTreeMap::new();
    let mut seen_certs = Vec::new();
    for (cert, _) in held(env, cas)? {
        let fp = fingerprint(&cert);
        if seen_certs.contains(&fp) || signed_by(&cert, &cert) {
            continue;
        }
        seen_certs.push(fp);
        let urls = crate::domain::certext::crl_urls(&cert);
        let delta_urls = crate::domain::certext::freshest_urls(&cert);
        let short = short_name_of(cert.issuer_name());
        let (key, issuer, ca) = if let Some(ca) = issuer_of(&cert, cas) {
            (
                SlotKey::Ca(ca.fingerprint.clone()),
                ca.subject.clone(),
                Some(ca.clone()),
            )
        } else {
            let name = name_line(cert.issuer_name());
            (SlotKey::Issuer(name.clone()), name, None)
        };
        if urls.is_empty() && ca.is_none() {
            continue;
        }
        let slot = by_key.entry(key.clone()).or_insert_with(|| Slot {
            key,
            issuer,
            short,
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
            by_key
                .entry(SlotKey::Ca(fp.clone()))
                .or_insert_with(|| Slot {
                    key: SlotKey::Ca(fp.clone()),
                    issuer: ca.subject.clone(),
                    short: short_name_of(ca.cert.subject_name()),
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
            let slot = by_key
                .entry(SlotKey::Ca(fp.clone()))
                .or_insert_with(|| Slot {
                    key: SlotKey::Ca(fp.clone()),
                    issuer: ca.as_ref().map(|c| c.subject.clone()).unwrap_or_default(),
                    short: ca
                        .as_ref()
                        .map(|c| short_name_of(c.cert.subject_name()))
                        .unwrap_or_default(),
                    ca,
                    urls: Vec::new(),
                    delta_urls: Vec::new(),
                });
            if !slot.urls.contains(url) {
                slot.urls.push(url.clone());
            }
        } else {
            let key = SlotKey::Url(url.clone());
            by_key.entry(key.clone()).or_insert_with(|| Slot {
                key,
                issuer: String::new(),
                short: String::new(),
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
