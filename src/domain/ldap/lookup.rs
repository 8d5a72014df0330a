//! `correspondent lookup`: find correspondents' certificates in an LDAP
//! directory by e-mail address and import those that chain to an imported
//! CA, saying what was skipped and why (as codes).

use std::time::Duration;

use openssl::x509::X509;
use serde::Serialize;
use time::OffsetDateTime;

use super::{Bounds, DirectoryError, LdapUrl, Scope, escape_filter_value, search};
use crate::domain::crl::Env;
use crate::domain::crl::check::{CertState, Checker};
use crate::domain::identity::{fingerprint, subject_line};
use crate::domain::trust::{TrustError, read_certs};

/// The attributes read: X.509 certificates (RFC 4523) and S/MIME
/// certificates (PKCS#7, RFC 2798).
pub const CERT_ATTRIBUTES: [&str; 2] = ["userCertificate;binary", "userSMIMECertificate"];

/// Most entries per address.
pub const MAX_ENTRIES: usize = 10;
/// Most values per address (all entries together).
pub const MAX_VALUES: usize = 64;
/// Most bytes of values per address.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// Why a certificate found was not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The value is not a certificate (nor PKCS#7 holding one).
    NotACertificate,
    /// A CA certificate (a PKCS#7 value carries the chain).
    Ca,
    /// It does not chain to an imported CA.
    Untrusted,
    /// Past its notAfter.
    Expired,
    /// Before its notBefore.
    NotYetValid,
    /// Revoked according to a cached CRL.
    Revoked,
}

impl SkipReason {
    /// The JSON word (and the message key `lookup.skip_WORD`).
    pub fn word(self) -> &'static str {
        match self {
            Self::NotACertificate => "not_a_certificate",
            Self::Ca => "ca",
            Self::Untrusted => "untrusted",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::Revoked => "revoked",
        }
    }
}

/// A certificate imported (or already there).
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    /// Its fingerprint.
    pub fingerprint: String,
    /// Its subject.
    pub subject: String,
    /// The entry it came from.
    pub dn: String,
    /// `added` or `already_present`.
    pub action: &'static str,
    /// Its revocation state now (`good` or `unknown`).
    pub state: CertState,
}

/// A value not imported.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// Its fingerprint, when it is a certificate.
    pub fingerprint: Option<String>,
    /// Its subject, when it is a certificate.
    pub subject: Option<String>,
    /// The entry it came from.
    pub dn: String,
    /// Why.
    pub reason: SkipReason,
}

/// What one address gave.
#[derive(Debug, Clone, Serialize)]
pub struct AddressReport {
    /// The e-mail address searched for.
    pub email: String,
    /// Entries found.
    pub entries: usize,
    /// More entries matched than [`MAX_ENTRIES`]; the first ones were used.
    pub truncated: bool,
    /// Certificates imported.
    pub imported: Vec<Found>,
    /// Values not imported.
    pub skipped: Vec<Skipped>,
    /// The search failed.
    pub error: Option<DirectoryError>,
}

/// What a lookup did.
#[derive(Debug, Clone, Serialize)]
pub struct LookupReport {
    /// The directory, as given.
    pub directory: String,
    /// One per address, in the order given.
    pub addresses: Vec<AddressReport>,
}

impl LookupReport {
    /// Whether at least one certificate was imported (or was already there).
    pub fn any_imported(&self) -> bool {
        self.addresses.iter().any(|a| !a.imported.is_empty())
    }
}

/// Why a lookup could not start.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The directory URL is refused.
    #[error("{0}")]
    Directory(DirectoryError),
    /// The CA or correspondent store cannot be read or written.
    #[error("{0}")]
    Trust(#[from] TrustError),
}

/// The time bounds of a search: those of CRL downloads.
pub fn bounds_of(env: &Env) -> Bounds {
    let p = &env.policy;
    Bounds {
        connect: Duration::from_secs(p.connect_timeout_secs.max(1)),
        read: Duration::from_secs(p.read_timeout_secs.max(1)),
        total: Duration::from_secs(p.total_timeout_secs.max(1)),
        max_bytes: MAX_BYTES,
        max_entries: MAX_ENTRIES,
        max_values: MAX_VALUES,
    }
}

/// The filter for one address: `(mail=ADDRESS)`, escaped (RFC 4515), and
/// with the URL's own filter when it has one.
pub fn filter_for(url: &LdapUrl, email: &str) -> String {
    let mail = format!("(mail={})", escape_filter_value(email));
    match url.filter.as_deref() {
        None => mail,
        Some(_) => format!("(&{}{mail})", crate::domain::crl::ldap::url_filter(url)),
    }
}

/// Searches `directory` for each address in `emails`, imports what chains
/// to an imported CA and is neither expired nor revoked.
pub fn lookup(
    env: &Env,
    directory: &str,
    emails: &[String],
    bounds: &Bounds,
    now: OffsetDateTime,
) -> Result<LookupReport, LookupError> {
    let url = LdapUrl::parse(directory)
        .map_err(|problem| LookupError::Directory(DirectoryError::Url { problem }))?;
    let store = env.correspondent_store();
    let mut checker = Checker::with_cas(env, env.ca_store().list()?, now);
    let attributes: Vec<String> = CERT_ATTRIBUTES.iter().map(|a| (*a).to_string()).collect();
    let mut addresses = Vec::new();
    for email in emails {
        let mut report = AddressReport {
            email: email.clone(),
            entries: 0,
            truncated: false,
            imported: Vec::new(),
            skipped: Vec::new(),
            error: None,
        };
        let found = search(
            &url,
            &url.dn,
            url.scope.unwrap_or(Scope::Sub),
            &filter_for(&url, email),
            &attributes,
            bounds,
        );
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                report.error = Some(e);
                addresses.push(report);
                continue;
            }
        };
        report.entries = found.entries.len();
        report.truncated = found.truncated;
        let mut seen: Vec<String> = Vec::new();
        for entry in &found.entries {
            for (_, value) in &entry.values {
                let certs = read_certs(value);
                if certs.is_empty() {
                    report.skipped.push(Skipped {
                        fingerprint: None,
                        subject: None,
                        dn: entry.dn.clone(),
                        reason: SkipReason::NotACertificate,
                    });
                }
                for cert in certs {
                    let fp = fingerprint(&cert);
                    if seen.contains(&fp) {
                        continue;
                    }
                    seen.push(fp.clone());
                    consider(&store, &mut checker, &entry.dn, &cert, &fp, &mut report)?;
                }
            }
        }
        addresses.push(report);
    }
    Ok(LookupReport {
        directory: directory.to_string(),
        addresses,
    })
}

fn consider(
    store: &crate::domain::trust::Correspondents,
    checker: &mut Checker,
    dn: &str,
    cert: &X509,
    fp: &str,
    report: &mut AddressReport,
) -> Result<(), TrustError> {
    let skip = |reason| Skipped {
        fingerprint: Some(fp.to_string()),
        subject: Some(subject_line(cert)),
        dn: dn.to_string(),
        reason,
    };
    let state = match crate::domain::correspondent::verdict(checker, cert) {
        Ok(state) => state,
        Err(reason) => {
            report.skipped.push(skip(reason));
            return Ok(());
        }
    };
    let done = store.import(std::slice::from_ref(cert))?;
    let action = done.first().map_or("added", |i| i.action);
    report.imported.push(Found {
        fingerprint: fp.to_string(),
        subject: subject_line(cert),
        dn: dn.to_string(),
        action,
        state,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_escaped_and_combined() {
        let u = LdapUrl::parse("ldap://h/o=x").unwrap();
        assert_eq!(filter_for(&u, "a@b.fr"), "(mail=a@b.fr)");
        assert_eq!(
            filter_for(&u, "*)(objectClass=*"),
            "(mail=\\2a\\29\\28objectClass=\\2a)"
        );
        let u = LdapUrl::parse("ldap://h/o=x???objectClass=inetOrgPerson").unwrap();
        assert_eq!(
            filter_for(&u, "a@b.fr"),
            "(&(objectClass=inetOrgPerson)(mail=a@b.fr))"
        );
        assert!(ldap3::parse_filter(filter_for(&u, "a)(b@c")).is_ok());
    }
}
