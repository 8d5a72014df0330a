//! Adding correspondents with the checks of `correspondent lookup`: a
//! certificate is added only when it is an end-entity certificate that
//! chains to a trusted CA and is neither expired, not yet valid nor revoked.
//! Used by the TUI ("add a correspondent" from a file) and by the lookup.
//! Also the file scan of the TUI's pickers (certificates, keys).

use std::path::{Path, PathBuf};

use openssl::x509::X509;
use time::OffsetDateTime;

use super::crl::Env;
use super::crl::check::{CertState, Checker};
use super::identity::{CertInfo, common_name, emails};
use super::ldap::lookup::SkipReason;
use super::trust::{Imported, TrustError, is_ca};

/// The verdict on one certificate offered as a correspondent: its state
/// when it may be added, else why not.
pub fn verdict(checker: &mut Checker, cert: &X509) -> Result<CertState, SkipReason> {
    if is_ca(cert) {
        return Err(SkipReason::Ca);
    }
    let status = checker.check(cert);
    match status.state {
        CertState::Good | CertState::Unknown => Ok(status.state),
        CertState::Untrusted => Err(SkipReason::Untrusted),
        CertState::Expired => Err(SkipReason::Expired),
        CertState::NotYetValid => Err(SkipReason::NotYetValid),
        CertState::Revoked => Err(SkipReason::Revoked),
    }
}

/// One certificate found in a file, with what adding it would do.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The certificate.
    pub cert: X509,
    /// Its facts.
    pub info: CertInfo,
    /// Common name (or the subject line).
    pub name: String,
    /// E-mail addresses it names.
    pub emails: Vec<String>,
    /// Its revocation state when it may be added, else why it is refused.
    pub verdict: Result<CertState, SkipReason>,
    /// Already a correspondent.
    pub present: bool,
}

impl Candidate {
    /// Whether it would be added (or is already there).
    pub fn accepted(&self) -> bool {
        self.verdict.is_ok()
    }
}

/// Reads the certificates of a file (PEM, DER, PKCS#7, signed `.eml`) and
/// judges each one; nothing is stored.
pub fn examine(env: &Env, path: &Path, now: OffsetDateTime) -> Result<Vec<Candidate>, TrustError> {
    let certs = super::trust::read_cert_file(path)?;
    let present: Vec<String> = env
        .correspondent_store()
        .list()?
        .into_iter()
        .map(|c| c.info.fingerprint)
        .collect();
    let mut checker = Checker::with_cas(env, env.ca_store().list()?, now);
    let mut out: Vec<Candidate> = Vec::new();
    for cert in certs {
        let info = CertInfo::of(&cert);
        if out.iter().any(|c| c.info.fingerprint == info.fingerprint) {
            continue;
        }
        out.push(Candidate {
            verdict: verdict(&mut checker, &cert),
            name: common_name(&cert).unwrap_or_else(|| info.subject.clone()),
            emails: emails(&cert),
            present: present.contains(&info.fingerprint),
            info,
            cert,
        });
    }
    // Correspondents first, CA certificates (the chain of a signature) last.
    out.sort_by_key(|c| c.verdict == Err(SkipReason::Ca));
    Ok(out)
}

/// Adds the accepted candidates (none of the refused ones).
pub fn add(env: &Env, candidates: &[Candidate]) -> Result<Vec<Imported>, TrustError> {
    let certs: Vec<X509> = candidates
        .iter()
        .filter(|c| c.accepted())
        .map(|c| c.cert.clone())
        .collect();
    if certs.is_empty() {
        return Ok(Vec::new());
    }
    env.correspondent_store().import(&certs)
}

/// What a picker lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Certificates and signed messages (a correspondent).
    Certificates,
    /// A certificate of one's own (PEM or DER).
    Certificate,
    /// A private key.
    Key,
}

impl FileKind {
    /// The extensions listed (lowercase).
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Self::Certificates => &["pem", "crt", "cer", "der", "p7b", "p7c", "p7s", "eml"],
            Self::Certificate => &["pem", "crt", "cer", "der"],
            Self::Key => &["key", "pem", "der", "p8", "pk8"],
        }
    }

    /// Whether `path` has one of the extensions.
    pub fn matches(self, path: &Path) -> bool {
        path.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| self.extensions().iter().any(|x| e.eq_ignore_ascii_case(x)))
    }
}

/// The files of `kind` in `dir` and one level down, sorted; a file given
/// itself is the only choice. Hidden files are skipped.
pub fn scan(dir: &Path, kind: FileKind) -> Result<Vec<PathBuf>, String> {
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    super::fsutil::scan_files(dir, |p| kind.matches(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_list_their_extensions_only() {
        assert!(FileKind::Certificates.matches(Path::new("a/Dr X.EML")));
        assert!(FileKind::Certificates.matches(Path::new("chain.p7b")));
        assert!(!FileKind::Certificates.matches(Path::new("id.p12")));
        assert!(FileKind::Key.matches(Path::new("k.key")));
        assert!(!FileKind::Certificate.matches(Path::new("k.key")));
    }

    #[test]
    fn scan_finds_one_level_down_and_skips_hidden() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        for f in ["a.pem", "sub/b.eml", ".c.pem", "d.p12"] {
            std::fs::write(d.path().join(f), b"x").unwrap();
        }
        let found = scan(d.path(), FileKind::Certificates).unwrap();
        assert_eq!(
            found,
            vec![d.path().join("a.pem"), d.path().join("sub/b.eml")]
        );
        assert_eq!(
            scan(&d.path().join("d.p12"), FileKind::Key).unwrap(),
            vec![d.path().join("d.p12")]
        );
    }
}
