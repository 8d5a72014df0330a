//! `certsafe demo`: a throwaway home with a made-up PKI and three accounts
//! in different states, to try the interface without real keys.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509, X509Builder, X509NameBuilder};

/// Throwaway homes to remove if the process is stopped abruptly (the
/// terminal closed: SIGHUP), when destructors do not run.
static THROWAWAY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Registers a throwaway home for [`abort_cleanup`].
pub fn remove_on_abort(dir: &Path) {
    if let Ok(mut v) = THROWAWAY.lock() {
        v.push(dir.to_path_buf());
    }
}

/// Removes every registered throwaway home (called just before an abrupt exit).
pub fn abort_cleanup() {
    if let Ok(mut v) = THROWAWAY.lock() {
        for dir in v.drain(..) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
use time::OffsetDateTime;

use super::identity::Identity;
use super::store::{BackupRecord, Store, StoreError};

/// Why the demo home could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// OpenSSL failed.
    #[error("{}", crate::t!("identity.openssl", detail = .0))]
    OpenSsl(#[from] ErrorStack),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn key() -> Result<PKey<Private>, ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    PKey::from_ec_key(EcKey::generate(&group)?)
}

fn cert(
    cn: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    ca: bool,
    from: i64,
    to: i64,
    email: Option<&str>,
) -> Result<X509, ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COUNTRYNAME, "FR")?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "CERTSAFE DEMO")?;
    name.append_entry_by_nid(Nid::COMMONNAME, cn)?;
    let name = name.build();
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(64, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(issuer.map_or(&*name, |(c, _)| c.subject_name()))?;
    let (from, to) = (Asn1Time::from_unix(from)?, Asn1Time::from_unix(to)?);
    b.set_not_before(&from)?;
    b.set_not_after(&to)?;
    b.set_pubkey(key)?;
    if ca {
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
    } else {
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .non_repudiation()
                .key_agreement()
                .build()?,
        )?;
        b.append_extension(ExtendedKeyUsage::new().email_protection().build()?)?;
        if let Some(e) = email {
            let san = SubjectAlternativeName::new()
                .email(e)
                .build(&b.x509v3_context(issuer.map(|i| i.0.as_ref()), None))?;
            b.append_extension(san)?;
        }
    }
    b.sign(issuer.map_or(key, |(_, k)| k), MessageDigest::sha256())?;
    Ok(b.build())
}

/// Fills `accounts_dir` with three demo accounts: backed up, expiring soon
/// without backup, expired with an old backup.
pub fn populate(accounts_dir: &Path, now: OffsetDateTime) -> Result<(), DemoError> {
    let t = now.unix_timestamp();
    let day = 86_400;
    let root_key = key()?;
    let root = cert(
        "AC RACINE DEMO",
        &root_key,
        None,
        true,
        t - 400 * day,
        t + 3650 * day,
        None,
    )?;
    let inter_key = key()?;
    let inter = cert(
        "AC DEMO ORGANISATIONS",
        &inter_key,
        Some((&root, &root_key)),
        true,
        t - 400 * day,
        t + 3000 * day,
        None,
    )?;
    let store = Store::open(accounts_dir)?;
    let people = [
        (
            "Dr Marie Durand",
            "marie.durand@demo.mssante.fr",
            t - 30 * day,
            t + 700 * day,
            Some(10),
        ),
        (
            "Cabinet dentaire du Port",
            "cabinet.port@demo.mssante.fr",
            t - 1000 * day,
            t + 20 * day,
            None,
        ),
        (
            "Dr Jean Martin (ancien)",
            "jean.martin@demo.mssante.fr",
            t - 1200 * day,
            t - 100 * day,
            Some(400),
        ),
    ];
    for (label, email, from, to, backed_up_days_ago) in people {
        let k = key()?;
        let c = cert(
            label,
            &k,
            Some((&inter, &inter_key)),
            false,
            from,
            to,
            Some(email),
        )?;
        let identity = Identity {
            key: k,
            cert: c,
            chain: vec![inter.clone(), root.clone()],
        };
        let account = store.add(&identity, label, Some(email), now)?;
        if let Some(days) = backed_up_days_ago {
            let record = BackupRecord {
                at: now - time::Duration::days(days),
                path: "/media/CLE_USB/demo.p12".into(),
                mount_point: Some("/media/CLE_USB".into()),
                drive_label: Some("CLE_USB".into()),
                fingerprint: identity.fingerprint(),
                fingerprints: Vec::new(),
                profile: Some(super::p12::Profile::Modern),
                origin: "backup".into(),
            };
            store.record_backup(&account, record)?;
        }
    }
    Ok(())
}
