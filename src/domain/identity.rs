//! An identity: a leaf certificate, its chain and its private key, and the
//! facts about certificates that every other part needs.

use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::sign::{Signer, Verifier};
use openssl::x509::{X509, X509NameRef, X509Ref, X509VerifyResult};
use serde::Serialize;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::secret::Password;
use super::time::asn1_to_datetime;

/// The most key-derivation iterations an encrypted private key may claim
/// (PBKDF2 or PKCS#12 PBE rounds, or scrypt's N·r·p): well above what any
/// writer uses, far below what would hold certsafe for minutes.
pub const MAX_KEY_ITERATIONS: u64 = 10_000_000;

/// A certificate, its chain and the matching private key.
pub struct Identity {
    /// The private key (never printed: `Identity` has no `Debug` showing it).
    pub key: PKey<Private>,
    /// The leaf certificate.
    pub cert: X509,
    /// Issuers of the leaf, nearest first.
    pub chain: Vec<X509>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("subject", &subject_line(&self.cert))
            .field("key", &"<private key hidden>")
            .field("chain", &self.chain.len())
            .finish()
    }
}

/// Errors reading certificates and keys.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The key does not belong to the certificate.
    #[error("{}", crate::t!("identity.key_mismatch", subject = .subject))]
    KeyMismatch {
        /// Subject of the certificate.
        subject: String,
    },
    /// No certificate found.
    #[error("{}", crate::t!("identity.no_certificate", what = .what))]
    NoCertificate {
        /// Which input.
        what: String,
    },
    /// The key could not be read.
    #[error("{}", crate::t!("identity.bad_key", what = .what))]
    BadKey {
        /// Which input.
        what: String,
    },
    /// The password of an encrypted key is wrong.
    #[error("{}", crate::t!("identity.wrong_key_password", what = .what))]
    WrongKeyPassword {
        /// Which input.
        what: String,
    },
    /// The encrypted key claims an absurd key-derivation cost.
    #[error("{}", crate::t!("identity.too_many_iterations", what = .what, iterations = .iterations))]
    TooManyIterations {
        /// Which file.
        what: String,
        /// The count claimed.
        iterations: u64,
    },
    /// The key proof failed.
    #[error("{}", crate::t!("identity.proof_failed", detail = .0))]
    ProofFailed(String),
    /// OpenSSL failed unexpectedly.
    #[error("{}", crate::t!("identity.openssl", detail = .0))]
    OpenSsl(#[from] openssl::error::ErrorStack),
}

/// Lowercase hex SHA-256 of the DER certificate, no colons.
pub fn fingerprint(cert: &X509Ref) -> String {
    cert.digest(MessageDigest::sha256())
        .map(|d| hex::encode(&*d))
        .unwrap_or_default()
}

/// A one-line RFC 4514-like rendering of a name, most significant first
/// (`C=FR, O=..., CN=...`), with UTF-8 values kept.
pub fn name_line(name: &X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?").to_string();
            let value = e.data().to_string().unwrap_or_else(|_| String::from("?"));
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A name's short form for messages: its (last) common name, else its
/// organization, else the whole name on one line. Read from the name's
/// entries, never from a rendered line (a value may hold `, CN=`).
pub fn short_name_of(name: &X509NameRef) -> String {
    [Nid::COMMONNAME, Nid::ORGANIZATIONNAME]
        .into_iter()
        .find_map(|nid| {
            name.entries_by_nid(nid)
                .last()
                .and_then(|e| e.data().to_string().ok())
        })
        .unwrap_or_else(|| name_line(name))
}

/// The subject of a certificate on one line.
pub fn subject_line(cert: &X509Ref) -> String {
    name_line(cert.subject_name())
}

/// The common name of a certificate's subject, if any.
pub fn common_name(cert: &X509Ref) -> Option<String> {
    cert.subject_name()
        .entries_by_nid(Nid::COMMONNAME)
        .next()
        .and_then(|e| e.data().to_string().ok())
}

/// The e-mail addresses a certificate names (subjectAltName rfc822, then the
/// subject's emailAddress).
pub fn emails(cert: &X509Ref) -> Vec<String> {
    let mut out: Vec<String> = cert
        .subject_alt_names()
        .map(|names| {
            names
                .iter()
                .filter_map(|n| n.email().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for e in cert.subject_name().entries_by_nid(Nid::PKCS9_EMAILADDRESS) {
        if let Ok(s) = e.data().to_string() {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// What a person needs to know about a certificate.
#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    /// SHA-256 fingerprint (lowercase hex).
    pub fingerprint: String,
    /// Subject, one line.
    pub subject: String,
    /// Issuer, one line.
    pub issuer: String,
    /// Serial number in hex.
    pub serial: String,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Key type and size, e.g. `RSA 2048`.
    pub key_type: String,
}

impl CertInfo {
    /// Reads the facts of a certificate.
    pub fn of(cert: &X509Ref) -> Self {
        let epoch = OffsetDateTime::UNIX_EPOCH;
        Self {
            fingerprint: fingerprint(cert),
            subject: subject_line(cert),
            issuer: name_line(cert.issuer_name()),
            serial: cert
                .serial_number()
                .to_bn()
                .ok()
                .and_then(|b| b.to_hex_str().ok().map(|s| s.to_lowercase()))
                .unwrap_or_default(),
            not_before: asn1_to_datetime(cert.not_before()).unwrap_or(epoch),
            not_after: asn1_to_datetime(cert.not_after()).unwrap_or(epoch),
            key_type: cert
                .public_key()
                .map_or_else(|_| "unknown".into(), |k| key_description(&k)),
        }
    }

    /// Whether the certificate has expired at `now`.
    pub fn expired_at(&self, now: OffsetDateTime) -> bool {
        now > self.not_after
    }
}

/// `RSA 2048`, `EC P-256`, ...
pub fn key_description<T: openssl::pkey::HasPublic>(key: &PKey<T>) -> String {
    match key.id() {
        Id::RSA => format!("RSA {}", key.bits()),
        Id::EC => {
            let curve = key
                .ec_key()
                .ok()
                .and_then(|ec| ec.group().curve_name())
                .and_then(|n| n.short_name().ok().map(str::to_string))
                .unwrap_or_else(|| format!("{} bits", key.bits()));
            format!("EC {curve}")
        }
        Id::ED25519 => "Ed25519".into(),
        Id::ED448 => "Ed448".into(),
        other => format!("key type {}", other.as_raw()),
    }
}

impl Identity {
    /// Builds an identity from a key and a bag of certificates: the leaf is
    /// the certificate whose public key is the key's; the chain is ordered
    /// from the leaf up; certificates that are not on the path are kept at the
    /// end (they may be a cross-signed root). Fails when no certificate
    /// matches the key.
    pub fn assemble(key: PKey<Private>, certs: Vec<X509>) -> Result<Self, IdentityError> {
        let subject = certs.first().map(|c| subject_line(c)).unwrap_or_default();
        let mut leaf_index = None;
        for (i, c) in certs.iter().enumerate() {
            if c.public_key().is_ok_and(|p| p.public_eq(&key)) {
                leaf_index = Some(i);
                break;
            }
        }
        let Some(leaf_index) = leaf_index else {
            return Err(IdentityError::KeyMismatch { subject });
        };
        let mut rest = certs;
        let cert = rest.remove(leaf_index);
        let chain = order_chain(&cert, rest);
        Ok(Self { key, cert, chain })
    }

    /// Whether the key belongs to the certificate.
    pub fn key_matches(&self) -> bool {
        self.cert.public_key().is_ok_and(|p| p.public_eq(&self.key))
    }

    /// SHA-256 fingerprint of the leaf.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.cert)
    }

    /// Facts about the leaf.
    pub fn info(&self) -> CertInfo {
        CertInfo::of(&self.cert)
    }

    /// Whether the chain reaches a self-signed root, each link verified.
    pub fn chain_complete(&self) -> bool {
        chain_complete(&self.cert, &self.chain)
    }

    /// Proves the key works: signs a fresh message with it and verifies the
    /// signature with the certificate's public key.
    pub fn prove_key(&self) -> Result<(), IdentityError> {
        let mut message = [0u8; 32];
        openssl::rand::rand_bytes(&mut message)?;
        let public = self.cert.public_key()?;
        let (signature, ok) = match self.key.id() {
            Id::ED25519 | Id::ED448 => {
                let mut s = Signer::new_without_digest(&self.key)?;
                let sig = s.sign_oneshot_to_vec(&message)?;
                let mut v = Verifier::new_without_digest(&public)?;
                let ok = v.verify_oneshot(&sig, &message)?;
                (sig, ok)
            }
            _ => {
                let mut s = Signer::new(MessageDigest::sha256(), &self.key)?;
                s.update(&message)?;
                let sig = s.sign_to_vec()?;
                let mut v = Verifier::new(MessageDigest::sha256(), &public)?;
                v.update(&message)?;
                let ok = v.verify(&sig)?;
                (sig, ok)
            }
        };
        if ok && !signature.is_empty() {
            Ok(())
        } else {
            Err(IdentityError::ProofFailed(
                "the signature did not verify with the certificate".into(),
            ))
        }
    }

    /// The key as unencrypted PKCS#8 PEM, in a buffer wiped on drop.
    pub fn key_pem(&self) -> Result<Zeroizing<Vec<u8>>, IdentityError> {
        Ok(Zeroizing::new(self.key.private_key_to_pem_pkcs8()?))
    }
}

/// Whether `chain` (nearest issuer first) links `cert` to a self-signed root,
/// each signature verified.
pub fn chain_complete(cert: &X509Ref, chain: &[X509]) -> bool {
    let mut current: &X509Ref = cert;
    for issuer in chain {
        if !signed_by(current, issuer) {
            return false;
        }
        current = issuer;
    }
    signed_by(current, current)
}

/// Whether `cert` was issued and signed by `issuer`.
pub fn signed_by(cert: &X509Ref, issuer: &X509Ref) -> bool {
    issuer.issued(cert) == X509VerifyResult::OK
        && issuer
            .public_key()
            .is_ok_and(|k| cert.verify(&k).unwrap_or(false))
}

/// Orders `pool` as the issuer path of `leaf`; unrelated ones go last.
pub fn order_chain(leaf: &X509Ref, mut pool: Vec<X509>) -> Vec<X509> {
    let mut ordered: Vec<X509> = Vec::new();
    let mut current = leaf.to_owned();
    loop {
        if signed_by(&current, &current) {
            break;
        }
        let Some(pos) = pool.iter().position(|c| signed_by(&current, c)) else {
            break;
        };
        let next = pool.remove(pos);
        current = next.clone();
        ordered.push(next);
    }
    // Drop exact duplicates of the leaf or of the path.
    let leaf_fp = fingerprint(leaf);
    pool.retain(|c| {
        let fp = fingerprint(c);
        fp != leaf_fp && !ordered.iter().any(|o| fingerprint(o) == fp)
    });
    ordered.extend(pool);
    ordered
}

/// Reads every certificate in PEM (one or many) or DER form.
pub fn read_certificates(bytes: &[u8], what: &str) -> Result<Vec<X509>, IdentityError> {
    if looks_pem(bytes) {
        let certs = X509::stack_from_pem(bytes).unwrap_or_default();
        if !certs.is_empty() {
            return Ok(certs);
        }
    } else if let Ok(cert) = X509::from_der(bytes) {
        return Ok(vec![cert]);
    }
    Err(IdentityError::NoCertificate {
        what: what.to_string(),
    })
}

fn looks_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Whether a key file is encrypted (and so needs a password).
pub fn key_is_encrypted(bytes: &[u8]) -> bool {
    if looks_pem(bytes) {
        return pem_key_block(bytes).is_some_and(|b| b.legacy || encrypted_pkcs8(&b.der));
    }
    encrypted_pkcs8(bytes)
}

/// The largest number in the encryption parameters of an encrypted PKCS#8
/// key (PEM or DER): the PBKDF2 or PKCS#12-PBE iteration count, the scrypt
/// cost. None when the key is not encrypted PKCS#8 or cannot be read.
/// Checked before decryption, as for PKCS#12 files: a key file claiming
/// billions of iterations would hold the program for many minutes (seen
/// while writing the `private_key` fuzz target: a libFuzzer timeout).
pub fn kdf_cost(bytes: &[u8]) -> Option<u64> {
    fn largest(node: &super::ber::Node<'_>, depth: usize) -> u64 {
        if node.tag == super::ber::tag::INTEGER {
            // Too large for a u64 is too large.
            return node.uint().unwrap_or(u64::MAX);
        }
        if !node.constructed() || depth > 8 {
            return 0;
        }
        node.iter()
            .map_while(Result::ok)
            .map(|n| largest(&n, depth + 1))
            .max()
            .unwrap_or(0)
    }
    fn has_oid(node: &super::ber::Node<'_>, oid: &str, depth: usize) -> bool {
        if node.tag == super::ber::tag::OID {
            return node.oid().as_deref() == Some(oid);
        }
        node.constructed()
            && depth <= 8
            && node
                .iter()
                .map_while(Result::ok)
                .any(|n| has_oid(&n, oid, depth + 1))
    }
    let pem;
    let der = if looks_pem(bytes) {
        pem = pem_key_block(bytes)?;
        &pem.der[..]
    } else {
        bytes
    };
    // EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }
    // read_first: OpenSSL reads the key from a DER prefix too.
    let (info, _) = super::ber::read_first(der).ok()?;
    let algorithm = info.iter().next()?.ok()?;
    if has_oid(&algorithm, OID_SCRYPT, 0) {
        // N, r and p multiply (and memory grows with N·r): refused.
        return Some(u64::MAX);
    }
    Some(largest(&algorithm, 0))
}

/// Key types refused before OpenSSL decodes them: DSA and Diffie-Hellman
/// (no IGC-Santé certificate uses them, and decoding a DSA key computes its
/// public part with parameters the file chooses).
const REFUSED_KEY_OIDS: [&str; 3] = [
    "1.2.840.10040.4.1",
    "1.2.840.113549.1.3.1",
    "1.2.840.10046.2.1",
];
/// scrypt: its cost is memory as much as time; no key writer we read uses it.
const OID_SCRYPT: &str = "1.3.6.1.4.1.11591.4.11";
/// Largest INTEGER in a private key, in bytes: a 16 384-bit RSA modulus
/// and its sign byte. Larger keys would make every signature cost seconds.
const MAX_KEY_INTEGER: usize = 2049;

/// Whether a DER private key (PKCS#8, PKCS#1 or SEC1, not encrypted) may be
/// handed to OpenSSL: no refused key type and no INTEGER over 16 384 bits,
/// looked for down to 6 levels (the key inside PKCS#8's OCTET STRING too).
/// Only a violation found refuses: bytes that do not parse as BER (an EC
/// private scalar, say) are opaque, and OpenSSL judges the structure.
pub fn key_der_is_bounded(der: &[u8]) -> bool {
    fn walk(node: &super::ber::Node<'_>, depth: usize) -> bool {
        use super::ber::tag;
        if depth > 6 {
            return true;
        }
        if node.tag == tag::INTEGER {
            return node.content.len() <= MAX_KEY_INTEGER;
        }
        if node.tag == tag::OID {
            return node
                .oid()
                .is_none_or(|o| !REFUSED_KEY_OIDS.contains(&o.as_str()));
        }
        if node.tag == tag::OCTET_STRING {
            return super::ber::read_one(node.content)
                .map_or(true, |inner| walk(&inner, depth + 1));
        }
        if !node.constructed() {
            return true;
        }
        node.iter()
            .map_while(Result::ok)
            .all(|c| walk(&c, depth + 1))
    }
    super::ber::read_first(der).map_or(true, |(node, _)| walk(&node, 0))
}

/// The one private-key block of a PEM file, found as OpenSSL finds blocks
/// (markers at the start of a line): its label, whether it has headers
/// (legacy encryption), the block's own text and its decoded body. None
/// when there is no key block, or more than one (the block checked must be
/// the block decrypted).
struct PemKey {
    label: String,
    legacy: bool,
    text: String,
    der: zeroize::Zeroizing<Vec<u8>>,
}

fn pem_key_block(bytes: &[u8]) -> Option<PemKey> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut found: Option<PemKey> = None;
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = Vec::new();
        let mut closed = false;
        for l in lines.by_ref() {
            if l == end {
                closed = true;
                break;
            }
            body.push(l);
        }
        if !closed {
            return None;
        }
        if !label.ends_with("PRIVATE KEY") {
            continue;
        }
        if found.is_some() {
            return None;
        }
        let legacy = body.iter().any(|l| l.contains(':'));
        let b64: zeroize::Zeroizing<String> = zeroize::Zeroizing::new(
            body.iter()
                .filter(|l| !l.contains(':'))
                .flat_map(|l| l.chars())
                .filter(|c| !c.is_whitespace())
                .collect(),
        );
        let der = zeroize::Zeroizing::new(openssl::base64::decode_block(&b64).ok()?);
        let block = format!("-----BEGIN {label}-----\n{}\n{end}\n", body.join("\n"));
        found = Some(PemKey {
            label: label.to_string(),
            legacy,
            text: block,
            der,
        });
    }
    found
}

/// Reads a private key: PKCS#8, PKCS#1 or SEC1, PEM or DER; encrypted PKCS#8
/// (and legacy encrypted PEM) with `password`. Every form is checked before
/// OpenSSL sees it: one key block only, its key-derivation cost bounded,
/// scrypt, DSA and DH refused, integers at most 16 384 bits; OpenSSL is never
/// given a PEM text to search, so it cannot prompt on the terminal or read
/// another block than the one checked.
pub fn read_private_key(
    bytes: &[u8],
    password: Option<&Password>,
    what: &str,
) -> Result<PKey<Private>, IdentityError> {
    let bad = || IdentityError::BadKey {
        what: what.to_string(),
    };
    let block = if looks_pem(bytes) {
        Some(pem_key_block(bytes).ok_or_else(bad)?)
    } else {
        None
    };
    let key = match &block {
        Some(b) if b.legacy => {
            // Legacy encrypted PEM (Proc-Type, DEK-Info): one MD5 round.
            if b.label.starts_with("DSA") {
                return Err(bad());
            }
            let password = password.ok_or_else(bad)?;
            PKey::private_key_from_pem_passphrase(b.text.as_bytes(), password.expose().as_bytes())
                .map_err(|_| IdentityError::WrongKeyPassword {
                what: what.to_string(),
            })?
        }
        _ => {
            let der: &[u8] = block.as_ref().map_or(bytes, |b| &b.der[..]);
            if encrypted_pkcs8(der) {
                let password = password.ok_or_else(bad)?;
                match kdf_cost(der) {
                    Some(iterations) if iterations > MAX_KEY_ITERATIONS => {
                        return Err(IdentityError::TooManyIterations {
                            what: what.to_string(),
                            iterations,
                        });
                    }
                    None => return Err(bad()),
                    _ => {}
                }
                PKey::private_key_from_pkcs8_passphrase(der, password.expose().as_bytes()).map_err(
                    |_| IdentityError::WrongKeyPassword {
                        what: what.to_string(),
                    },
                )?
            } else {
                if !key_der_is_bounded(der) {
                    return Err(bad());
                }
                PKey::private_key_from_der(der).map_err(|_| bad())?
            }
        }
    };
    if key.bits() > 16_384 || matches!(key.id(), openssl::pkey::Id::DSA | openssl::pkey::Id::DH) {
        return Err(bad());
    }
    Ok(key)
}

/// Whether `der` is an `EncryptedPrivateKeyInfo`: `SEQUENCE {
/// AlgorithmIdentifier (an OID first), OCTET STRING }`.
fn encrypted_pkcs8(der: &[u8]) -> bool {
    super::ber::read_first(der).is_ok_and(|(n, _)| {
        n.children().is_ok_and(|k| {
            k.len() == 2
                && k[0].tag == super::ber::tag::SEQUENCE
                && k[0]
                    .iter()
                    .next()
                    .is_some_and(|a| a.is_ok_and(|a| a.tag == super::ber::tag::OID))
                && k[1].base_tag() == super::ber::tag::OCTET_STRING
        })
    })
}

#[cfg(test)]
mod short_name_tests {
    use openssl::x509::X509Name;

    use super::short_name_of;

    fn name(entries: &[(&str, &str)]) -> X509Name {
        let mut b = X509Name::builder().unwrap();
        for (k, v) in entries {
            b.append_entry_by_text(k, v).unwrap();
        }
        b.build()
    }

    #[test]
    fn short_name_reads_the_entries_not_a_rendered_line() {
        // A value holding ", CN=" fooled the old re-parsing of the line.
        let n = name(&[("C", "FR"), ("O", "ACME, CN=Evil"), ("CN", "AC TEST")]);
        assert_eq!(short_name_of(&n), "AC TEST");
        let n = name(&[("C", "FR"), ("CN", "X, CN=Y")]);
        assert_eq!(short_name_of(&n), "X, CN=Y");
        let n = name(&[("C", "FR"), ("O", "ASIP-SANTE")]);
        assert_eq!(short_name_of(&n), "ASIP-SANTE");
        let n = name(&[("C", "FR")]);
        assert_eq!(short_name_of(&n), "C=FR");
    }
}
