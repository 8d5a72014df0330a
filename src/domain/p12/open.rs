//! Opening a PKCS#12 file with its password, reading back a written
//! file and proving it holds what was written.

use std::sync::atomic::{AtomicBool, Ordering};

use openssl::pkcs12::Pkcs12;
use serde::Serialize;

use super::{Entry, Layout, P12Error, Summary, inspect, read, read_data_content};
use crate::domain::ber::{self};
use crate::domain::identity::{self, Identity};
use crate::domain::secret::Password;

/// A file opened with its password.
pub struct Opened {
    /// The identity inside.
    pub identity: Identity,
    /// friendlyName of the certificate (UTF-8), if any.
    pub friendly_name: Option<String>,
    /// Algorithms and counts.
    pub layout: Layout,
    /// Number of certificates (leaf + chain).
    pub certificates: usize,
    /// Whether OpenSSL's legacy provider had to be loaded.
    pub used_legacy_provider: bool,
    /// Every identity of the file (this one is `index`).
    pub identities: Vec<Summary>,
    /// Which of `identities` this is (1-based).
    pub index: usize,
}

static LEGACY_LOADED: AtomicBool = AtomicBool::new(false);

/// Loads OpenSSL's legacy provider (RC2, RC4, DES), keeping the default one.
/// Returns whether it is available.
pub(super) fn load_legacy_provider() -> bool {
    if LEGACY_LOADED.load(Ordering::SeqCst) {
        return true;
    }
    match openssl::provider::Provider::try_load(None, "legacy", true) {
        Ok(provider) => {
            // Kept for the life of the process.
            std::mem::forget(provider);
            LEGACY_LOADED.store(true, Ordering::SeqCst);
            true
        }
        Err(_) => false,
    }
}

/// Opens a PKCS#12 file holding one identity with its password.
pub fn open(bytes: &[u8], password: &Password) -> Result<Opened, P12Error> {
    open_identity(bytes, password, None)
}

/// Opens a PKCS#12 file with its password and takes identity `choice`
/// (1-based); without a choice the file must hold exactly one. Every key
/// derivation is priced first (see [`kdf`]); the file is read by
/// [`read::open_all`], not by OpenSSL's PKCS#12 parser.
pub fn open_identity(
    bytes: &[u8],
    password: &Password,
    choice: Option<usize>,
) -> Result<Opened, P12Error> {
    let mut layout = inspect(bytes)?;
    let contents = read::open_all(bytes, password)?;
    if layout.key_encryption.is_none() {
        layout.key_encryption.clone_from(&contents.key_encryption);
    }
    let identities: Vec<Summary> = contents
        .identities
        .iter()
        .enumerate()
        .map(|(i, f)| f.summary(i + 1))
        .collect();
    let count = identities.len();
    let index = match choice {
        Some(i) if (1..=count).contains(&i) => i,
        Some(index) => return Err(P12Error::NoSuchIdentity { index, count }),
        None if count == 1 => 1,
        None => return Err(P12Error::SeveralIdentities { identities }),
    };
    let found = contents
        .identities
        .into_iter()
        .nth(index - 1)
        .ok_or(P12Error::NoSuchIdentity { index, count })?;
    Ok(Opened {
        identity: found.identity,
        friendly_name: found.friendly_name,
        layout,
        certificates: found.certificates,
        used_legacy_provider: contents.used_legacy,
        identities,
        index,
    })
}

/// Reads back a file this program just wrote and proves every identity
/// in it (see [`read_back_all`]); the first one is returned as `identity`,
/// all of them listed in `identities`.
pub fn read_back(bytes: &[u8], password: &Password) -> Result<Opened, P12Error> {
    let layout = inspect(bytes)?;
    let contents = read_back_all(bytes, password)?;
    let identities: Vec<Summary> = contents
        .identities
        .iter()
        .enumerate()
        .map(|(i, f)| f.summary(i + 1))
        .collect();
    let first = contents
        .identities
        .into_iter()
        .next()
        .ok_or(P12Error::Incomplete {
            missing: "private key",
        })?;
    Ok(Opened {
        identity: first.identity,
        friendly_name: first.friendly_name,
        layout,
        certificates: first.certificates,
        used_legacy_provider: contents.used_legacy,
        identities,
        index: 1,
    })
}

/// Opens a file this program just wrote, every identity of it: OpenSSL's
/// own DER parser reads the outer structure and each content (no key
/// derivation: an independent check of the encoding), then [`read`]
/// checks the MAC and decrypts every part and key, each distinct
/// derivation once (a `modern` file: two, the MAC and the one PBKDF2).
pub fn read_back_all(bytes: &[u8], password: &Password) -> Result<read::Contents, P12Error> {
    let damaged = |e: &openssl::error::ErrorStack| P12Error::Damaged {
        detail: first_reason(e),
    };
    Pkcs12::from_der(bytes).map_err(|e| damaged(&e))?;
    let pfx = ber::read_one(bytes).map_err(|e| P12Error::Damaged {
        detail: e.to_string(),
    })?;
    let auth_safe = pfx
        .child(1, "content")
        .and_then(|c| read_data_content(&c))
        .map_err(|e| P12Error::Damaged {
            detail: e.to_string(),
        })?;
    let node = ber::read_one(&auth_safe).map_err(|e| P12Error::Damaged {
        detail: e.to_string(),
    })?;
    let mut parts = node.iter();
    while let Some(part) = parts.next_raw() {
        let (_, raw) = part.map_err(|e| P12Error::Damaged {
            detail: e.to_string(),
        })?;
        openssl::pkcs7::Pkcs7::from_der(raw).map_err(|e| damaged(&e))?;
    }
    read::open_all(bytes, password)
}

/// Which part of a written identity was not found as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WrittenPart {
    /// The number of identities.
    Count,
    /// The certificate.
    Certificate,
    /// The private key (not the one written, or not the certificate's).
    Key,
    /// A certificate of the chain.
    Chain,
    /// The friendlyName.
    Name,
}

/// Opens `bytes` (see [`read_back_all`]) and proves it holds `entries` as
/// written, in order: for each, the same certificate, the same private
/// key (its PKCS#8 encoding) matching that certificate, every chain
/// certificate, the friendlyName. Returns the identities read.
pub fn verify_written(
    bytes: &[u8],
    password: &Password,
    entries: &[Entry<'_>],
) -> Result<Vec<read::Found>, P12Error> {
    let found = read_back_all(bytes, password)?.identities;
    let not = |index: usize, part: WrittenPart| P12Error::NotAsWritten { index, part };
    if found.len() != entries.len() {
        return Err(not(0, WrittenPart::Count));
    }
    let der = |c: &openssl::x509::X509Ref| c.to_der().ok();
    for (i, (f, e)) in found.iter().zip(entries).enumerate() {
        let index = i + 1;
        if der(&f.identity.cert).is_none() || der(&f.identity.cert) != der(&e.identity.cert) {
            return Err(not(index, WrittenPart::Certificate));
        }
        let pkcs8 = |k: &openssl::pkey::PKeyRef<openssl::pkey::Private>| {
            k.private_key_to_pkcs8().ok().map(zeroize::Zeroizing::new)
        };
        let (got, want) = (pkcs8(&f.identity.key), pkcs8(&e.identity.key));
        if got.is_none() || got != want || !f.identity.key_matches() {
            return Err(not(index, WrittenPart::Key));
        }
        let fps = |v: &[openssl::x509::X509]| {
            let mut v: Vec<String> = v.iter().map(|c| identity::fingerprint(c)).collect();
            v.sort();
            v
        };
        let have = fps(&f.identity.chain);
        if fps(&e.identity.chain).iter().any(|fp| !have.contains(fp)) {
            return Err(not(index, WrittenPart::Chain));
        }
        if f.friendly_name.as_deref() != Some(e.friendly_name) {
            return Err(not(index, WrittenPart::Name));
        }
    }
    Ok(found)
}

pub(super) fn first_reason(e: &openssl::error::ErrorStack) -> String {
    e.errors()
        .iter()
        .map(|x| x.reason().unwrap_or("unknown").to_string())
        .collect::<Vec<_>>()
        .join("; ")
}
