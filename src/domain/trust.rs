//! Trusted CAs (`DATA/cas/<fingerprint>.pem`) and correspondents
//! (`DATA/correspondents/<fingerprint>.pem`): the certificates whose
//! revocation certsafe watches besides the accounts' own.

use std::fs;
use std::path::{Path, PathBuf};

use openssl::pkcs7::Pkcs7;
use openssl::x509::X509;
use serde::Serialize;

use super::certext;
use super::fsutil::{create_private_dir, describe_io, sync_dir, write_atomic};
use super::identity::{CertInfo, emails, fingerprint, signed_by, subject_line};
use super::journal::{Event, Journal};

/// Errors of the CA store and the correspondents.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// A file holds no certificate in any form certsafe reads.
    #[error("{}", crate::t!("trust.no_certificate", path = .path))]
    NoCertificate {
        /// The file.
        path: String,
    },
    /// A file cannot be read.
    #[error("{}", crate::t!("trust.read", path = .path, reason = .reason))]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A certificate given to `ca import` is not a CA.
    #[error("{}", crate::t!("trust.not_ca", subject = .subject))]
    NotCa {
        /// Its subject.
        subject: String,
    },
    /// No CA with this fingerprint.
    #[error("{}", crate::t!("trust.unknown_ca", id = .id))]
    UnknownCa {
        /// What was asked.
        id: String,
    },
    /// No correspondent with this ID.
    #[error("{}", crate::t!("trust.unknown_correspondent", id = .id))]
    UnknownCorrespondent {
        /// What was asked.
        id: String,
    },
    /// Writing the store failed.
    #[error("{}", crate::t!("trust.io", path = .path, reason = describe_io(.source)))]
    Io {
        /// Where.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TrustError {
    let path = path.display().to_string();
    move |source| TrustError::Io { path, source }
}

/// An imported CA certificate.
#[derive(Debug, Clone)]
pub struct TrustedCa {
    /// SHA-256 fingerprint.
    pub fingerprint: String,
    /// Subject on one line.
    pub subject: String,
    /// The certificate.
    pub cert: X509,
}

impl TrustedCa {
    /// Wraps a certificate.
    pub fn new(cert: X509) -> Self {
        Self {
            fingerprint: fingerprint(&cert),
            subject: subject_line(&cert),
            cert,
        }
    }

    /// Whether the certificate is self-signed (a root).
    pub fn is_root(&self) -> bool {
        signed_by(&self.cert, &self.cert)
    }
}

/// What happened to one certificate of an import.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    /// Its fingerprint.
    pub fingerprint: String,
    /// Its subject.
    pub subject: String,
    /// `added`, `already_present` or `skipped`.
    pub action: &'static str,
    /// Why it was skipped.
    pub note: Option<String>,
}

/// Whether a certificate may issue certificates: basic constraints `cA`, or
/// a self-signed version 1 certificate (old roots).
pub fn is_ca(cert: &X509) -> bool {
    match certext::facts(cert) {
        Ok(f) if f.has_basic_constraints => f.is_ca,
        Ok(f) => f.version == 0 && signed_by(cert, cert),
        Err(_) => false,
    }
}

fn looks_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

fn pkcs7_certs(p7: &Pkcs7) -> Vec<X509> {
    p7.signed()
        .and_then(|s| s.certificates())
        .map(|stack| stack.iter().map(ToOwned::to_owned).collect())
        .unwrap_or_default()
}

/// Every certificate in a file: PEM (certificates and PKCS#7 blocks), DER
/// certificate, DER PKCS#7 (`.p7b`, `.p7c`, `.p7s`), or an S/MIME message
/// (`.eml`) whose signature carries certificates.
pub fn read_cert_file(path: &Path) -> Result<Vec<X509>, TrustError> {
    let shown = path.display().to_string();
    let is_message = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("eml"));
    let max = if is_message {
        super::fsutil::MAX_MESSAGE_FILE
    } else {
        super::fsutil::MAX_CERT_FILE
    };
    let bytes = super::fsutil::read_limited(path, max).map_err(|e| TrustError::Read {
        path: shown.clone(),
        reason: describe_io(&e),
    })?;
    let certs = read_certs(&bytes);
    if certs.is_empty() {
        return Err(TrustError::NoCertificate { path: shown });
    }
    Ok(certs)
}

/// Every certificate in bytes of any form [`read_cert_file`] reads.
pub fn read_certs(bytes: &[u8]) -> Vec<X509> {
    let mut out: Vec<X509> = Vec::new();
    let text = String::from_utf8_lossy(bytes);
    let is_mime = text.lines().take(200).any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("content-type:") && (l.contains("multipart/signed") || l.contains("pkcs7"))
    });
    if is_mime {
        // OpenSSL's MIME reader quotes header values into its error queue,
        // and the openssl crate (0.10.82) panics on error data that is not
        // UTF-8 (`Error::get` unwraps `str::from_utf8`): a message with one
        // non-UTF-8 byte in a Content-Type would crash the import. Such a
        // message goes to the fallback reader only (found by fuzzing).
        if std::str::from_utf8(bytes).is_ok() {
            if let Ok((p7, _)) = Pkcs7::from_smime(bytes) {
                out.extend(pkcs7_certs(&p7));
            }
        }
        if out.is_empty() {
            out.extend(smime_fallback(&text));
        }
    } else if looks_pem(bytes) {
        out.extend(X509::stack_from_pem(bytes).unwrap_or_default());
        for block in pem_blocks(&text, "PKCS7") {
            if let Ok(p7) = Pkcs7::from_der(&block) {
                out.extend(pkcs7_certs(&p7));
            }
        }
    } else if let Ok(c) = X509::from_der(bytes) {
        out.push(c);
    } else if let Ok(p7) = Pkcs7::from_der(bytes) {
        out.extend(pkcs7_certs(&p7));
    }
    let mut seen = Vec::new();
    out.retain(|c| {
        let fp = fingerprint(c);
        if seen.contains(&fp) {
            false
        } else {
            seen.push(fp);
            true
        }
    });
    out
}

/// `-----BEGIN <label>-----` blocks, decoded.
fn pem_blocks(text: &str, label: &str) -> Vec<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(b) = rest.find(&begin) {
        let after = &rest[b + begin.len()..];
        let Some(e) = after.find(&end) else { break };
        let b64: String = after[..e].chars().filter(|c| !c.is_whitespace()).collect();
        if let Ok(der) = openssl::base64::decode_block(&b64) {
            out.push(der);
        }
        rest = &after[e + end.len()..];
    }
    out
}

/// Finds base64 parts of a MIME message whose content type names PKCS#7
/// (for messages OpenSSL's S/MIME reader does not take, e.g. with long
/// mail headers first).
fn smime_fallback(text: &str) -> Vec<X509> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].to_ascii_lowercase();
        if l.starts_with("content-type:") && l.contains("pkcs7") {
            // Skip the part's headers to the blank line, then collect base64 lines.
            let mut j = i + 1;
            while j < lines.len() && !lines[j].trim().is_empty() {
                j += 1;
            }
            let mut b64 = String::new();
            j += 1;
            while j < lines.len() && !lines[j].trim().is_empty() && !lines[j].starts_with("--") {
                b64.push_str(lines[j].trim());
                j += 1;
            }
            if let Ok(der) = openssl::base64::decode_block(&b64) {
                if let Ok(p7) = Pkcs7::from_der(&der) {
                    out.extend(pkcs7_certs(&p7));
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// A folder of certificates named by fingerprint.
#[derive(Debug, Clone)]
struct CertDir {
    dir: PathBuf,
}

impl CertDir {
    fn list(&self) -> Result<Vec<X509>, TrustError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&self.dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("pem") {
                continue;
            }
            let bytes = fs::read(&path).map_err(io_err(&path))?;
            if let Ok(c) = X509::from_pem(&bytes) {
                out.push(c);
            }
        }
        Ok(out)
    }

    fn add(&self, cert: &X509) -> Result<bool, TrustError> {
        create_private_dir(&self.dir).map_err(io_err(&self.dir))?;
        let path = self.dir.join(format!("{}.pem", fingerprint(cert)));
        if path.exists() {
            return Ok(false);
        }
        let pem = cert.to_pem().map_err(|e| TrustError::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        })?;
        write_atomic(&path, &pem).map_err(io_err(&path))?;
        Ok(true)
    }

    /// The stored fingerprint matching `id` (whole, or a unique prefix of 8+).
    fn resolve(id: &str, certs: &[X509]) -> Option<String> {
        let id = id.trim().to_ascii_lowercase().replace(':', "");
        if id.len() < 8 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let matches: Vec<String> = certs
            .iter()
            .map(|c| fingerprint(c))
            .filter(|fp| fp.starts_with(&id))
            .collect();
        match <[String; 1]>::try_from(matches) {
            Ok([one]) => Some(one),
            Err(_) => None,
        }
    }

    /// Records `event` in the journal of the home this folder is in.
    fn journal(&self, event: &Event) {
        if let Some(j) = Journal::beside(&self.dir) {
            super::journal::record(j, event);
        }
    }

    fn remove(&self, fp: &str) -> Result<(), TrustError> {
        let path = self.dir.join(format!("{fp}.pem"));
        fs::remove_file(&path).map_err(io_err(&path))?;
        sync_dir(&self.dir).map_err(io_err(&self.dir))
    }
}

/// The trusted CAs.
#[derive(Debug, Clone)]
pub struct CaStore {
    certs: CertDir,
}

impl CaStore {
    /// The CA store in `dir` (created on the first import).
    pub fn new(dir: &Path) -> Self {
        Self {
            certs: CertDir {
                dir: dir.to_path_buf(),
            },
        }
    }

    /// Every imported CA, roots first, then by subject.
    pub fn list(&self) -> Result<Vec<TrustedCa>, TrustError> {
        let mut out: Vec<TrustedCa> = self.certs.list()?.into_iter().map(TrustedCa::new).collect();
        out.sort_by(|a, b| {
            b.is_root()
                .cmp(&a.is_root())
                .then(a.subject.cmp(&b.subject))
        });
        Ok(out)
    }

    /// Imports the CA certificates among `certs`; a certificate that is not
    /// a CA makes the whole import fail before anything is written.
    pub fn import(&self, certs: &[X509]) -> Result<Vec<Imported>, TrustError> {
        if let Some(c) = certs.iter().find(|c| !is_ca(c)) {
            return Err(TrustError::NotCa {
                subject: subject_line(c),
            });
        }
        let mut out = Vec::new();
        for c in certs {
            let added = self.certs.add(c)?;
            if added {
                self.certs.journal(&Event::CaImported {
                    fingerprint: fingerprint(c),
                    subject: subject_line(c),
                });
            }
            out.push(Imported {
                fingerprint: fingerprint(c),
                subject: subject_line(c),
                action: if added { "added" } else { "already_present" },
                note: None,
            });
        }
        Ok(out)
    }

    /// Removes the CA with this fingerprint (or a unique prefix of 8+ hex digits).
    pub fn remove(&self, id: &str) -> Result<TrustedCa, TrustError> {
        let all = self.certs.list()?;
        let fp = CertDir::resolve(id, &all)
            .ok_or_else(|| TrustError::UnknownCa { id: id.to_string() })?;
        let ca = all
            .into_iter()
            .map(TrustedCa::new)
            .find(|c| c.fingerprint == fp)
            .ok_or_else(|| TrustError::UnknownCa { id: id.to_string() })?;
        self.certs.remove(&fp)?;
        self.certs.journal(&Event::CaRemoved {
            fingerprint: ca.fingerprint.clone(),
            subject: ca.subject.clone(),
        });
        Ok(ca)
    }
}

/// A correspondent's certificate.
#[derive(Debug, Clone)]
pub struct Correspondent {
    /// Its facts (fingerprint, subject, issuer, validity...).
    pub info: CertInfo,
    /// E-mail addresses it names.
    pub emails: Vec<String>,
    /// The certificate.
    pub cert: X509,
}

/// The correspondents' certificates.
#[derive(Debug, Clone)]
pub struct Correspondents {
    certs: CertDir,
}

impl Correspondents {
    /// The correspondents in `dir` (created on the first import).
    pub fn new(dir: &Path) -> Self {
        Self {
            certs: CertDir {
                dir: dir.to_path_buf(),
            },
        }
    }

    /// Every correspondent, by subject.
    pub fn list(&self) -> Result<Vec<Correspondent>, TrustError> {
        let mut out: Vec<Correspondent> = self
            .certs
            .list()?
            .into_iter()
            .map(|cert| Correspondent {
                info: CertInfo::of(&cert),
                emails: emails(&cert),
                cert,
            })
            .collect();
        out.sort_by(|a, b| a.info.subject.cmp(&b.info.subject));
        Ok(out)
    }

    /// Imports the end-entity certificates among `certs`; CA certificates
    /// (an S/MIME signature carries the chain) are skipped with a note.
    pub fn import(&self, certs: &[X509]) -> Result<Vec<Imported>, TrustError> {
        let mut out = Vec::new();
        for c in certs {
            if is_ca(c) {
                out.push(Imported {
                    fingerprint: fingerprint(c),
                    subject: subject_line(c),
                    action: "skipped",
                    note: Some(crate::t!("trust.skipped_ca")),
                });
                continue;
            }
            let added = self.certs.add(c)?;
            if added {
                self.certs.journal(&Event::CorrespondentImported {
                    fingerprint: fingerprint(c),
                    subject: subject_line(c),
                });
            }
            out.push(Imported {
                fingerprint: fingerprint(c),
                subject: subject_line(c),
                action: if added { "added" } else { "already_present" },
                note: None,
            });
        }
        Ok(out)
    }

    /// Removes a correspondent by fingerprint (or a unique prefix of 8+ hex digits).
    pub fn remove(&self, id: &str) -> Result<Correspondent, TrustError> {
        let all = self.certs.list()?;
        let fp = CertDir::resolve(id, &all)
            .ok_or_else(|| TrustError::UnknownCorrespondent { id: id.to_string() })?;
        let found = self
            .list()?
            .into_iter()
            .find(|c| c.info.fingerprint == fp)
            .ok_or_else(|| TrustError::UnknownCorrespondent { id: id.to_string() })?;
        self.certs.remove(&fp)?;
        self.certs.journal(&Event::CorrespondentRemoved {
            fingerprint: found.info.fingerprint.clone(),
            subject: found.info.subject.clone(),
        });
        Ok(found)
    }
}
