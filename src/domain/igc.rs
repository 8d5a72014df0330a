//! The IGC-Santé preset: the roots of the French health PKI pinned by the
//! SHA-256 of their DER, and the use case behind `ca import --igc-sante`
//! and the TUI's "trust IGC-Santé".
//!
//! Trust is decided by the pins, never by a name: a certificate is imported
//! only when it is one of the pinned roots, or a CA (basicConstraints
//! `cA`), currently valid, that OpenSSL's chain verification (the pinned
//! roots as the only trust anchors, the certificates at hand as untrusted
//! intermediates) takes to a pinned root. Certificates come from the
//! official chain bundle (PKCS#7 certs-only), from the "CA Issuers"
//! addresses (AIA) of the bundle's and the home's certificates, or from
//! files given (offline).

use std::collections::BTreeSet;
use std::path::PathBuf;

use openssl::nid::Nid;
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509, X509Ref, X509StoreContext};
use serde::Serialize;
use time::OffsetDateTime;

use super::crl::fetch::{FetchError, Fetcher, HttpFetcher, Limits, Request, Response};
use super::crl::{CrlError, Env, held};
use super::identity::{fingerprint, signed_by, subject_line};
use super::time::asn1_to_datetime;
use super::trust::{Imported, TrustError, is_ca, read_cert_file, read_certs};
use crate::domain::config::CrlPolicy;

/// Which IGC-Santé hierarchy to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Hierarchy {
    /// The production PKI (real health professionals).
    Production,
    /// The TEST PKI of the ANS (test certificates only).
    Test,
}

impl Hierarchy {
    /// The JSON word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Test => "test",
        }
    }

    /// ` --test` for the TEST hierarchy: what `ca import --igc-sante` needs
    /// to choose it (a hint gives the command that works).
    #[must_use]
    pub fn cli_flag(self) -> &'static str {
        match self {
            Self::Production => "",
            Self::Test => " --test",
        }
    }

    /// The other hierarchy.
    #[must_use]
    pub fn other(self) -> Self {
        match self {
            Self::Production => Self::Test,
            Self::Test => Self::Production,
        }
    }

    /// Its pinned roots.
    pub fn pins(self) -> &'static [Pin] {
        match self {
            Self::Production => PRODUCTION_ROOTS,
            Self::Test => TEST_ROOTS,
        }
    }

    /// The official address of its chain bundle under `base`
    /// (`http://igc-sante.esante.gouv.fr`).
    pub fn bundle_url(self, base: &str) -> String {
        let path = match self {
            Self::Production => "/AC/Chaine_de_certification-IGC-Sante.p7b",
            Self::Test => "/AC%20TEST/Chaine_de_certification-IGC-Sante-TEST.p7b",
        };
        format!("{}{path}", base.trim_end_matches('/'))
    }
}

/// A pinned root: its name (for people), the SHA-256 of its DER (what
/// decides), and the certificate itself (PEM, compiled in).
#[derive(Debug, Clone, Copy)]
pub struct Pin {
    /// The root's common name.
    pub name: &'static str,
    /// Lowercase hex SHA-256 of the DER certificate.
    pub sha256: &'static str,
    /// The certificate, PEM.
    pub pem: &'static [u8],
}

/// The production roots: AC RACINE IGC-SANTE ELEMENTAIRE (2013–2033).
/// ANS's STANDARD and FORT roots are not in any source at hand; their
/// intermediates are refused until they are pinned here.
pub const PRODUCTION_ROOTS: &[Pin] = &[Pin {
    name: "AC RACINE IGC-SANTE ELEMENTAIRE",
    sha256: "2d9e22ca19f777c6b745257c723ecb8df3c35fa6f1f6ec36b83600c97346967f",
    pem: include_bytes!(
        "../../tests/fixtures/igc-sante-prod/AC_RACINE_IGC-SANTE_ELEMENTAIRE.2d9e22ca.pem"
    ),
}];

/// The TEST roots: TEST AC RACINE IGC-SANTE ELEMENTAIRE (2013–2033).
pub const TEST_ROOTS: &[Pin] = &[Pin {
    name: "TEST AC RACINE IGC-SANTE ELEMENTAIRE",
    sha256: "01325aeb193871eec90fa89556804e4185cb362e0ca87a3d79939c71186da805",
    pem: include_bytes!(
        "../../tests/fixtures/igc-sante-test/TEST_AC_RACINE_IGC-SANTE_ELEMENTAIRE.01325aeb.pem"
    ),
}];

/// Where ANS publishes the bundles.
pub const DEFAULT_BASE_URL: &str = "http://igc-sante.esante.gouv.fr";

/// A test hook: the environment variable that replaces
/// [`DEFAULT_BASE_URL`] (the tests' local server). It changes where the
/// bundle is fetched from, never which roots are trusted.
pub const BASE_URL_ENV: &str = "CERTSAFE_IGC_BASE_URL";

/// The largest bundle or CA certificate downloaded (the real bundles are a
/// few tens of KiB).
pub const MAX_DOWNLOAD: u64 = super::fsutil::MAX_CERT_FILE;

/// At most this many AIA "CA Issuers" addresses are fetched per run.
pub const MAX_AIA_FETCHES: usize = 16;

/// AIA is followed this many levels up.
const MAX_AIA_ROUNDS: usize = 4;

/// The base address: [`BASE_URL_ENV`] when set, else [`DEFAULT_BASE_URL`].
pub fn base_url() -> String {
    std::env::var(BASE_URL_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_string())
}

/// The HTTP client of the CRLs (same timeouts, proxy, redirect policy, no
/// kept-alive connection), with the size cap of a bundle.
pub fn fetcher(policy: &CrlPolicy) -> Result<HttpFetcher, FetchError> {
    let mut limits = Limits::from_policy(policy);
    limits.max_bytes = limits.max_bytes.min(MAX_DOWNLOAD);
    HttpFetcher::new(limits)
}

/// The compiled-in certificates of `h`'s roots whose SHA-256 matches the
/// pin (a certificate that did not would never be an anchor).
pub fn anchors(h: Hierarchy) -> Vec<X509> {
    h.pins()
        .iter()
        .filter_map(|p| {
            X509::from_pem(p.pem)
                .ok()
                .filter(|c| fingerprint(c) == p.sha256)
        })
        .collect()
}

/// Whether `fp` is a pinned root of `h`.
pub fn is_pinned(h: Hierarchy, fp: &str) -> bool {
    h.pins().iter().any(|p| p.sha256 == fp)
}

/// Where the certificates come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The official bundle under this base address, then the AIA
    /// addresses of the certificates whose issuer is still missing.
    Network {
        /// Base address ([`base_url`]).
        base_url: String,
    },
    /// Files only (`.p7b`, `.cer`, `.pem`, ...): nothing is fetched.
    Files(Vec<PathBuf>),
}

/// What to do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Which roots.
    pub hierarchy: Hierarchy,
    /// Where from.
    pub source: Source,
    /// The time validity is judged at.
    pub now: OffsetDateTime,
}

/// Why a certificate was not trusted (the JSON `code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Its chain does not reach a pinned root of the chosen hierarchy.
    NotChaining,
    /// Not a CA (no basicConstraints `cA`).
    NotCa,
    /// Past its notAfter.
    Expired,
    /// Before its notBefore.
    NotYetValid,
}

impl Refusal {
    /// The JSON word.
    pub fn word(self) -> &'static str {
        match self {
            Self::NotChaining => "not_chaining",
            Self::NotCa => "not_ca",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
        }
    }
}

/// A certificate not trusted.
#[derive(Debug, Clone, Serialize)]
pub struct Refused {
    /// SHA-256 fingerprint.
    pub fingerprint: String,
    /// Subject on one line.
    pub subject: String,
    /// Why.
    pub code: Refusal,
    /// OpenSSL's verification result, for `not_chaining`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For `not_chaining`: the other hierarchy, when it chains to one of
    /// its roots (a TEST CA offered for production, or the reverse).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chains_to: Option<Hierarchy>,
}

/// Where the certificates were looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// The official chain bundle.
    Bundle,
    /// An AIA "CA Issuers" address.
    Aia,
    /// A file given.
    File,
    /// The chains the home's accounts already hold (a restored `.p12`
    /// carries its CAs): what works with no network.
    Home,
}

/// One place looked at.
#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    /// What kind.
    pub kind: SourceKind,
    /// The URL or the file.
    pub source: String,
    /// Certificates found there.
    pub certificates: usize,
    /// Why fetching failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<FetchError>,
}

/// Why nothing was trusted (the JSON `error.code`; exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoTrust {
    /// Every address failed: nothing was obtained.
    Unreachable,
    /// Nothing failed, but no certificate was found.
    NoCertificate,
    /// Certificates were found; none chains to a pinned root.
    NothingTrusted,
}

impl NoTrust {
    /// The JSON word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::NoCertificate => "no_certificate",
            Self::NothingTrusted => "nothing_trusted",
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The hierarchy trusted.
    pub hierarchy: Hierarchy,
    /// The CAs now trusted (`added` or `already_present`), roots first.
    pub imported: Vec<Imported>,
    /// The certificates refused.
    pub refused: Vec<Refused>,
    /// Where certificates were looked for.
    pub sources: Vec<SourceReport>,
}

impl Report {
    /// Why nothing was trusted, or None when at least one CA is.
    pub fn failure(&self) -> Option<NoTrust> {
        if !self.imported.is_empty() {
            None
        } else if self.sources.iter().any(|s| s.certificates > 0) {
            Some(NoTrust::NothingTrusted)
        } else if self.sources.iter().any(|s| s.error.is_some()) {
            Some(NoTrust::Unreachable)
        } else {
            Some(NoTrust::NoCertificate)
        }
    }
}

/// Errors that stop the import before anything is trusted.
#[derive(Debug, thiserror::Error)]
pub enum IgcError {
    /// A file given cannot be read, or the CA store cannot be written.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// The home's certificates cannot be read.
    #[error(transparent)]
    Crl(#[from] CrlError),
    /// OpenSSL failed to set up a verification.
    #[error("{}", crate::t!("igc.openssl", detail = .detail))]
    OpenSsl {
        /// OpenSSL's message.
        detail: String,
    },
}

impl From<openssl::error::ErrorStack> for IgcError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        Self::OpenSsl {
            detail: e.to_string(),
        }
    }
}

/// The "CA Issuers" addresses (HTTP and HTTPS only) of a certificate's
/// Authority Information Access.
pub fn ca_issuers_urls(cert: &X509Ref) -> Vec<String> {
    cert.authority_info()
        .map(|stack| {
            stack
                .iter()
                .filter(|ad| ad.method().nid() == Nid::AD_CA_ISSUERS)
                .filter_map(|ad| ad.location().uri().map(str::to_string))
                .filter(|u| {
                    let l = u.to_ascii_lowercase();
                    l.starts_with("http://") || l.starts_with("https://")
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Adds `certs` to `pool`, skipping fingerprints already there; returns
/// how many were new.
fn add_unique(pool: &mut Vec<X509>, certs: Vec<X509>) -> usize {
    let mut n = 0;
    for c in certs {
        let fp = fingerprint(&c);
        if !pool.iter().any(|p| fingerprint(p) == fp) {
            pool.push(c);
            n += 1;
        }
    }
    n
}

fn download(fetcher: &dyn Fetcher, url: &str) -> Result<Vec<X509>, FetchError> {
    let req = Request {
        url: url.to_string(),
        etag: None,
        last_modified: None,
    };
    match fetcher.fetch(&req, &mut |_, _| {})? {
        Response::Body { bytes, .. } => {
            if bytes.len() as u64 > MAX_DOWNLOAD {
                return Err(FetchError::TooLarge {
                    url: url.to_string(),
                    max: MAX_DOWNLOAD,
                });
            }
            Ok(read_certs(&bytes))
        }
        // Never asked conditionally: a 304 brings nothing.
        Response::NotModified => Ok(Vec::new()),
    }
}

/// Fetches the bundle, then follows AIA "CA Issuers" addresses of the
/// certificates (found, and the home's) whose issuer is still missing.
fn gather_network(
    env: &Env,
    fetcher: &dyn Fetcher,
    plan: &Plan,
    base_url: &str,
    pool: &mut Vec<X509>,
    sources: &mut Vec<SourceReport>,
) -> Result<(), IgcError> {
    let url = plan.hierarchy.bundle_url(base_url);
    let (certs, error) = match download(fetcher, &url) {
        Ok(c) => (c, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    sources.push(SourceReport {
        kind: SourceKind::Bundle,
        source: url,
        certificates: certs.len(),
        error,
    });
    add_unique(pool, certs);

    let cas = env.ca_store().list()?;
    let home: Vec<X509> = held(env, &cas)?.into_iter().map(|(c, _)| c).collect();
    let anchors = anchors(plan.hierarchy);
    let mut asked: BTreeSet<String> = BTreeSet::new();
    for _ in 0..MAX_AIA_ROUNDS {
        let mut wanted: Vec<String> = Vec::new();
        for c in pool.iter().chain(home.iter()) {
            if signed_by(c, c) || pool.iter().chain(anchors.iter()).any(|i| signed_by(c, i)) {
                continue;
            }
            for u in ca_issuers_urls(c) {
                if !asked.contains(&u) && !wanted.contains(&u) {
                    wanted.push(u);
                }
            }
        }
        if wanted.is_empty() {
            break;
        }
        let mut found = 0;
        for url in wanted {
            if asked.len() >= MAX_AIA_FETCHES {
                break;
            }
            asked.insert(url.clone());
            let (certs, error) = match download(fetcher, &url) {
                Ok(c) => (c, None),
                Err(e) => (Vec::new(), Some(e)),
            };
            sources.push(SourceReport {
                kind: SourceKind::Aia,
                source: url,
                certificates: certs.len(),
                error,
            });
            found += add_unique(pool, certs);
        }
        if found == 0 || asked.len() >= MAX_AIA_FETCHES {
            break;
        }
    }
    Ok(())
}

/// A verifier with `anchors` as the only trust anchors, at `now`.
fn store(anchors: &[X509], now: OffsetDateTime) -> Result<X509Store, IgcError> {
    let mut b = X509StoreBuilder::new()?;
    for a in anchors {
        b.add_cert(a.clone())?;
    }
    let mut param = X509VerifyParam::new()?;
    param.set_time(now.unix_timestamp());
    b.set_param(&param)?;
    Ok(b.build())
}

/// Verifies `cert` with `store`'s anchors and `pool` as untrusted
/// intermediates: the fingerprint of the anchor reached, or OpenSSL's
/// reason.
fn chain_to(
    store: &X509Store,
    anchors: &[X509],
    cert: &X509Ref,
    pool: &[X509],
) -> Result<String, String> {
    let run = || -> Result<Result<String, String>, openssl::error::ErrorStack> {
        let mut untrusted = Stack::new()?;
        for c in pool {
            untrusted.push(c.clone())?;
        }
        let mut ctx = X509StoreContext::new()?;
        ctx.init(store, cert, &untrusted, |c| {
            let ok = c.verify_cert()?;
            let top = c
                .chain()
                .and_then(|chain| chain.iter().last().map(fingerprint));
            Ok(match top {
                Some(fp) if ok && anchors.iter().any(|a| fingerprint(a) == fp) => Ok(fp),
                _ => Err(c.error().error_string().to_string()),
            })
        })
    };
    run().unwrap_or_else(|e| Err(e.to_string()))
}

fn validity(cert: &X509Ref, now: OffsetDateTime) -> Option<Refusal> {
    let epoch = OffsetDateTime::UNIX_EPOCH;
    if asn1_to_datetime(cert.not_before()).unwrap_or(epoch) > now {
        Some(Refusal::NotYetValid)
    } else if asn1_to_datetime(cert.not_after()).unwrap_or(epoch) < now {
        Some(Refusal::Expired)
    } else {
        None
    }
}

/// Sorts `pool` into what `h`'s pins let in (roots first, including a
/// pinned root that was reached but not offered) and what they refuse.
pub fn assess(
    pool: &[X509],
    h: Hierarchy,
    now: OffsetDateTime,
) -> Result<(Vec<X509>, Vec<Refused>), IgcError> {
    let mine = anchors(h);
    let others = anchors(h.other());
    let my_store = store(&mine, now)?;
    let other_store = store(&others, now)?;
    let mut accepted: Vec<X509> = Vec::new();
    let mut reached: BTreeSet<String> = BTreeSet::new();
    let mut refused = Vec::new();
    for c in pool {
        let fp = fingerprint(c);
        let refuse = |code, detail, chains_to| Refused {
            fingerprint: fp.clone(),
            subject: subject_line(c),
            code,
            detail,
            chains_to,
        };
        if is_pinned(h, &fp) {
            match validity(c, now) {
                None => {
                    reached.insert(fp.clone());
                }
                Some(code) => refused.push(refuse(code, None, None)),
            }
            continue;
        }
        if !is_ca(c) {
            refused.push(refuse(Refusal::NotCa, None, None));
            continue;
        }
        if let Some(code) = validity(c, now) {
            refused.push(refuse(code, None, None));
            continue;
        }
        match chain_to(&my_store, &mine, c, pool) {
            Ok(root) => {
                reached.insert(root);
                accepted.push(c.clone());
            }
            Err(detail) => {
                let other = (is_pinned(h.other(), &fp)
                    || chain_to(&other_store, &others, c, pool).is_ok())
                .then_some(h.other());
                refused.push(refuse(Refusal::NotChaining, Some(detail), other));
            }
        }
    }
    let mut out: Vec<X509> = mine
        .into_iter()
        .filter(|a| reached.contains(&fingerprint(a)) && validity(a, now).is_none())
        .collect();
    out.extend(accepted);
    Ok((out, refused))
}

/// The CA certificates in the chains of the home's accounts (no private key
/// is read). An account that cannot be read adds nothing.
fn home_chains(env: &Env) -> Vec<X509> {
    let mut out = Vec::new();
    for account in env.store().list().unwrap_or_default() {
        if let Ok(chain) = account.chain() {
            add_unique(&mut out, chain.into_iter().filter(is_ca).collect());
        }
    }
    out
}

/// `ca import --igc-sante`: gathers the certificates, trusts those the
/// pins let in (through the CA store, so it is idempotent), and says what
/// was refused and why.
pub fn trust(env: &Env, fetcher: &dyn Fetcher, plan: &Plan) -> Result<Report, IgcError> {
    let mut pool: Vec<X509> = Vec::new();
    let mut sources = Vec::new();
    match &plan.source {
        Source::Files(files) => {
            for f in files {
                let certs = read_cert_file(f)?;
                sources.push(SourceReport {
                    kind: SourceKind::File,
                    source: f.display().to_string(),
                    certificates: certs.len(),
                    error: None,
                });
                add_unique(&mut pool, certs);
            }
        }
        Source::Network { base_url } => {
            // First the CAs the accounts already hold: vetted against the
            // pins like the rest, they make "trust IGC-Santé" work on a
            // machine with no network once an identity is restored.
            let held = home_chains(env);
            if !held.is_empty() {
                sources.push(SourceReport {
                    kind: SourceKind::Home,
                    source: env.home.accounts_dir().display().to_string(),
                    certificates: held.len(),
                    error: None,
                });
                add_unique(&mut pool, held);
            }
            gather_network(env, fetcher, plan, base_url, &mut pool, &mut sources)?;
        }
    }
    let (accepted, refused) = assess(&pool, plan.hierarchy, plan.now)?;
    let imported = if accepted.is_empty() {
        Vec::new()
    } else {
        env.ca_store().import(&accepted)?
    };
    Ok(Report {
        hierarchy: plan.hierarchy,
        imported,
        refused,
        sources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_compiled_in_root_matches_its_pin_and_is_a_self_signed_ca() {
        for h in [Hierarchy::Production, Hierarchy::Test] {
            let anchors = anchors(h);
            assert_eq!(anchors.len(), h.pins().len(), "{h:?}");
            for (a, p) in anchors.iter().zip(h.pins()) {
                assert_eq!(fingerprint(a), p.sha256);
                assert!(subject_line(a).contains(p.name));
                assert!(is_ca(a) && signed_by(a, a));
            }
        }
    }

    #[test]
    fn the_hierarchies_pin_different_roots() {
        for p in PRODUCTION_ROOTS {
            assert!(!is_pinned(Hierarchy::Test, p.sha256));
        }
        for p in TEST_ROOTS {
            assert!(!is_pinned(Hierarchy::Production, p.sha256));
        }
    }

    #[test]
    fn bundle_addresses_are_the_official_ones() {
        assert_eq!(
            Hierarchy::Production.bundle_url(DEFAULT_BASE_URL),
            "http://igc-sante.esante.gouv.fr/AC/Chaine_de_certification-IGC-Sante.p7b"
        );
        assert_eq!(
            Hierarchy::Test.bundle_url("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/AC%20TEST/Chaine_de_certification-IGC-Sante-TEST.p7b"
        );
    }

    #[test]
    fn a_pinned_root_alone_is_trusted_and_the_other_hierarchy_is_not() {
        let now = crate::domain::time::now();
        let test_root = anchors(Hierarchy::Test);
        let (ok, refused) = assess(&test_root, Hierarchy::Test, now).unwrap();
        assert_eq!(ok.len(), 1);
        assert!(refused.is_empty());
        let (ok, refused) = assess(&test_root, Hierarchy::Production, now).unwrap();
        assert!(ok.is_empty());
        assert_eq!(refused[0].code, Refusal::NotChaining);
        assert_eq!(refused[0].chains_to, Some(Hierarchy::Test));
    }
}
