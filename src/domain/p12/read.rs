//! Opening a PKCS#12 file ourselves, layer by layer, so every key
//! derivation is priced before it runs (see [`super::kdf`]) and every
//! identity inside is found.
//!
//! Order of work: the structure is read without the password and every
//! visible derivation priced (MAC, encrypted parts, visible key bags); a
//! file asking for more than the budget, or for scrypt or an unknown KDF,
//! is refused before any derivation. Then the MAC is checked, each
//! encrypted part decrypted, the bags inside read (nested bags too) and
//! the key bags found there priced; only then are the keys decrypted.
//! Each derivation runs once: the file is never handed to OpenSSL's
//! PKCS#12 parser afterwards.

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use serde::Serialize;
use zeroize::Zeroizing;

use super::kdf::{self, Derivation, Encoding, Memo, Scheme};
use super::{Encryption, P12Error};
use crate::domain::ber::{self, Node, tag};
use crate::domain::identity::{self, Identity};
use crate::domain::secret::Password;

/// More bags than this is not a backup of a few identities.
pub const MAX_BAGS: usize = 256;
/// More keys than this is not a renewal history: each key is paired with
/// every certificate and each identity's chain ordered (signature checks
/// growing with the square of the certificates), so both are bounded.
pub const MAX_KEYS: usize = 16;
/// More certificates than this is not an identity with its chains.
pub const MAX_CERTS: usize = 64;
/// Safe contents nested deeper than this are refused.
const MAX_NESTING: usize = 8;

const OID_DATA: &str = "1.2.840.113549.1.7.1";
const OID_ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const OID_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.1";
const OID_SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";
const OID_CERT_BAG: &str = "1.2.840.113549.1.12.10.1.3";
const OID_SAFE_CONTENTS_BAG: &str = "1.2.840.113549.1.12.10.1.6";
const OID_X509_CERT: &str = "1.2.840.113549.1.9.22.1";
const OID_FRIENDLY_NAME: &str = "1.2.840.113549.1.9.20";
const OID_LOCAL_KEY_ID: &str = "1.2.840.113549.1.9.21";

fn damaged(what: &str) -> P12Error {
    P12Error::Damaged {
        detail: what.to_string(),
    }
}

fn ber_err(e: &ber::BerError) -> P12Error {
    damaged(&e.to_string())
}

/// One identity found in a file: a key and the certificate it belongs to.
pub struct Found {
    /// Key, certificate and the other certificates of the file.
    pub identity: Identity,
    /// friendlyName of the certificate (else of the key).
    pub friendly_name: Option<String>,
    /// Number of certificates (leaf + chain).
    pub certificates: usize,
}

/// What the user sees of each identity to choose one.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// 1-based, as `--identity` takes it.
    pub index: usize,
    /// SHA-256 fingerprint of the certificate.
    pub fingerprint: String,
    /// Subject of the certificate.
    pub subject: String,
    /// friendlyName, if any.
    pub friendly_name: Option<String>,
}

impl Found {
    /// The summary of this identity at `index` (1-based).
    pub fn summary(&self, index: usize) -> Summary {
        Summary {
            index,
            fingerprint: self.identity.fingerprint(),
            subject: identity::subject_line(&self.identity.cert),
            friendly_name: self.friendly_name.clone(),
        }
    }
}

/// Everything a file holds, opened.
pub struct Contents {
    /// Every identity, in the order of their keys in the file.
    pub identities: Vec<Found>,
    /// How the first key bag is encrypted (also when it sat inside an
    /// encrypted part).
    pub key_encryption: Option<Encryption>,
    /// Whether OpenSSL's legacy provider was needed.
    pub used_legacy: bool,
}

struct Shrouded {
    scheme: Scheme,
    data: Vec<u8>,
    local_id: Option<Vec<u8>>,
    name: Option<String>,
}

/// A bag's value with its localKeyId and friendlyName.
type Tagged<T> = (T, Option<Vec<u8>>, Option<String>);

#[derive(Default)]
struct Bags {
    certs: Vec<Tagged<X509>>,
    keys: Vec<Tagged<PKey<Private>>>,
    shrouded: Vec<Shrouded>,
    first_key_encryption: Option<Encryption>,
    count: usize,
}

/// The parts of a file, read without the password.
pub struct Parsed {
    mac: Option<MacData>,
    auth_safe: Zeroizing<Vec<u8>>,
    plain: Vec<Zeroizing<Vec<u8>>>,
    encrypted: Vec<(Scheme, Vec<u8>)>,
}

struct MacData {
    md: MessageDigest,
    digest: Vec<u8>,
    salt: Vec<u8>,
    iterations: u64,
}

fn read_mac(node: &Node<'_>) -> Result<MacData, P12Error> {
    let kids = node.children().map_err(|e| ber_err(&e))?;
    let info = kids
        .first()
        .ok_or_else(|| damaged("MAC"))?
        .children()
        .map_err(|e| ber_err(&e))?;
    let oid = info
        .first()
        .and_then(|a| a.child(0, "MAC algorithm").ok())
        .and_then(|o| o.oid())
        .ok_or_else(|| damaged("MAC algorithm"))?;
    let md = kdf::digest(&oid).ok_or(P12Error::UnsupportedKdf {
        kdf: format!("MAC {oid}"),
    })?;
    let digest = info
        .get(1)
        .ok_or_else(|| damaged("MAC value"))?
        .octets()
        .map_err(|e| ber_err(&e))?
        .into_owned();
    let salt = kids
        .get(1)
        .ok_or_else(|| damaged("MAC salt"))?
        .octets()
        .map_err(|e| ber_err(&e))?
        .into_owned();
    let iterations = match kids.get(2) {
        Some(n) => n.uint().ok_or(P12Error::TooMuchWork {
            units: u64::MAX,
            budget: kdf::BUDGET,
        })?,
        None => 1,
    };
    Ok(MacData {
        md,
        digest,
        salt,
        iterations,
    })
}

/// `[0] IMPLICIT OCTET STRING`, primitive or constructed in pieces.
fn implicit_octets(node: &Node<'_>) -> Result<Vec<u8>, P12Error> {
    if node.constructed() {
        let mut out = Vec::new();
        for c in node.children().map_err(|e| ber_err(&e))? {
            out.extend_from_slice(&c.octets().map_err(|e| ber_err(&e))?);
        }
        Ok(out)
    } else {
        Ok(node.content.to_vec())
    }
}

impl Parsed {
    /// Reads the layers visible without the password.
    pub fn new(bytes: &[u8]) -> Result<Self, P12Error> {
        let pfx = ber::read_one(bytes).map_err(|e| ber_err(&e))?;
        let parts = pfx.children().map_err(|e| ber_err(&e))?;
        let content_type = parts
            .get(1)
            .and_then(|c| c.child(0, "content type").ok())
            .and_then(|o| o.oid())
            .unwrap_or_default();
        if content_type != OID_DATA {
            // signedData (public-key integrity mode) and the like.
            return Err(P12Error::Unsupported {
                detail: content_type,
            });
        }
        // Unencrypted key bags may sit in these copies: wiped on drop.
        let auth_safe = super::read_data_content(&parts[1]).map_err(|e| ber_err(&e))?;
        let mac = parts.get(2).map(read_mac).transpose()?;
        let mut plain = Vec::new();
        let mut encrypted = Vec::new();
        {
            let node = ber::read_one(&auth_safe).map_err(|e| ber_err(&e))?;
            for ci in node.children().map_err(|e| ber_err(&e))? {
                let kind = ci
                    .child(0, "content type")
                    .map_err(|e| ber_err(&e))?
                    .oid()
                    .unwrap_or_default();
                match kind.as_str() {
                    OID_DATA => {
                        plain.push(super::read_data_content(&ci).map_err(|e| ber_err(&e))?);
                    }
                    OID_ENCRYPTED_DATA => {
                        let eci = ci
                            .child(1, "encrypted data")
                            .and_then(|n| n.child(0, "encrypted data"))
                            .and_then(|n| n.child(1, "encrypted content info"))
                            .map_err(|e| ber_err(&e))?;
                        let kids = eci.children().map_err(|e| ber_err(&e))?;
                        let scheme =
                            Scheme::read(kids.get(1).ok_or_else(|| damaged("encryption"))?)?;
                        let data = match kids.get(2) {
                            Some(n) => implicit_octets(n)?,
                            None => Vec::new(),
                        };
                        encrypted.push((scheme, data));
                    }
                    _ => return Err(P12Error::Unsupported { detail: kind }),
                }
                if plain.len() + encrypted.len() > MAX_BAGS {
                    return Err(damaged("too many parts"));
                }
            }
        }
        Ok(Self {
            mac,
            auth_safe,
            plain,
            encrypted,
        })
    }

    /// Price of the derivations visible without the password, for one
    /// encoding of it (key bags inside encrypted parts not counted yet),
    /// each distinct derivation once.
    pub fn visible_cost(&self) -> Result<u64, P12Error> {
        let mut bags = Bags::default();
        for p in &self.plain {
            read_bags(p, &mut bags, 0, false)?;
        }
        Ok(Memo::new().price(&self.derivations(&bags, Encoding::Bmp)))
    }

    /// Every derivation the MAC, the encrypted parts and the key bags of
    /// `bags` need with `encoding`.
    fn derivations(&self, bags: &Bags, encoding: Encoding) -> Vec<Derivation> {
        let mut out = Vec::new();
        if let Some(m) = &self.mac {
            out.push(kdf::mac_derivation(m.md, encoding, &m.salt, m.iterations));
        }
        for (s, _) in &self.encrypted {
            out.extend(s.derivations(encoding));
        }
        for s in &bags.shrouded {
            out.extend(s.scheme.derivations(encoding));
        }
        out
    }
}

/// Refuses, before any password is asked, a file whose visible work is
/// over the budget or that uses scrypt or an unknown algorithm.
pub fn check(bytes: &[u8]) -> Result<(), P12Error> {
    let parsed = Parsed::new(bytes)?;
    let units = parsed.visible_cost()?;
    if units > kdf::BUDGET {
        return Err(P12Error::TooMuchWork {
            units,
            budget: kdf::BUDGET,
        });
    }
    Ok(())
}

fn attributes(node: Option<&Node<'_>>) -> (Option<Vec<u8>>, Option<String>) {
    let mut local_id = None;
    let mut name = None;
    let Some(attrs) = node.and_then(|n| n.children().ok()) else {
        return (None, None);
    };
    for attr in attrs {
        let Ok(kids) = attr.children() else { continue };
        let oid = kids.first().and_then(Node::oid).unwrap_or_default();
        let value = kids
            .get(1)
            .and_then(|v| v.children().ok())
            .and_then(|v| v.first().copied());
        match (oid.as_str(), value) {
            (OID_FRIENDLY_NAME, Some(v)) => name = v.bmp_string(),
            (OID_LOCAL_KEY_ID, Some(v)) => {
                local_id = v.octets().ok().map(std::borrow::Cow::into_owned);
            }
            _ => {}
        }
    }
    (local_id, name)
}

/// Reads the bags of a `SafeContents`. `open`: whether certificates and
/// plain keys are parsed (false when only pricing).
fn read_bags(bytes: &[u8], bags: &mut Bags, depth: usize, open: bool) -> Result<(), P12Error> {
    if depth > MAX_NESTING {
        return Err(damaged("safe contents nested too deep"));
    }
    let node = ber::read_one(bytes).map_err(|e| ber_err(&e))?;
    for bag in node.children().map_err(|e| ber_err(&e))? {
        bags.count += 1;
        if bags.count > MAX_BAGS {
            return Err(damaged("too many bags"));
        }
        let kids = bag.children().map_err(|e| ber_err(&e))?;
        let id = kids.first().and_then(Node::oid).unwrap_or_default();
        let value = kids
            .get(1)
            .map(|v| v.child(0, "bag value"))
            .transpose()
            .map_err(|e| ber_err(&e))?;
        let (local_id, name) = attributes(kids.get(2));
        let Some(value) = value else { continue };
        match id.as_str() {
            OID_SAFE_CONTENTS_BAG => {
                let inner = Zeroizing::new(ber::der(tag::SEQUENCE, value.content));
                read_bags(&inner, bags, depth + 1, open)?;
            }
            OID_SHROUDED_KEY_BAG => {
                let alg = value.child(0, "key encryption").map_err(|e| ber_err(&e))?;
                let scheme = Scheme::read(&alg)?;
                if bags.first_key_encryption.is_none() {
                    bags.first_key_encryption = super::read_encryption(&alg).ok();
                }
                let data = value
                    .child(1, "encrypted key")
                    .and_then(|n| n.octets().map(std::borrow::Cow::into_owned))
                    .map_err(|e| ber_err(&e))?;
                if bags.shrouded.len() + bags.keys.len() >= MAX_KEYS {
                    return Err(damaged("too many keys"));
                }
                bags.shrouded.push(Shrouded {
                    scheme,
                    data,
                    local_id,
                    name,
                });
            }
            OID_KEY_BAG if open => {
                if bags.shrouded.len() + bags.keys.len() >= MAX_KEYS {
                    return Err(damaged("too many keys"));
                }
                let der = Zeroizing::new(ber::der(tag::SEQUENCE, value.content));
                if !crate::domain::identity::key_der_is_bounded(&der) {
                    return Err(damaged("unsupported private key"));
                }
                let key = PKey::private_key_from_pkcs8(&der)
                    .map_err(|_| damaged("unreadable private key"))?;
                bags.keys.push((key, local_id, name));
            }
            OID_CERT_BAG if open => {
                let ck = value.children().map_err(|e| ber_err(&e))?;
                if ck.first().and_then(Node::oid).as_deref() != Some(OID_X509_CERT) {
                    continue;
                }
                let der = ck
                    .get(1)
                    .ok_or_else(|| damaged("certificate bag"))?
                    .child(0, "certificate")
                    .and_then(|n| n.octets().map(std::borrow::Cow::into_owned))
                    .map_err(|e| ber_err(&e))?;
                let cert = X509::from_der(&der).map_err(|_| damaged("unreadable certificate"))?;
                if bags.certs.len() >= MAX_CERTS {
                    return Err(damaged("too many certificates"));
                }
                bags.certs.push((cert, local_id, name));
            }
            _ => {}
        }
    }
    Ok(())
}

fn parses(plain: &[u8]) -> bool {
    ber::read_one(plain).is_ok_and(|n| n.tag == tag::SEQUENCE)
}

/// Opens every identity of the file with `password`.
pub fn open_all(bytes: &[u8], password: &Password) -> Result<Contents, P12Error> {
    let parsed = Parsed::new(bytes)?;
    let mut bags = Bags::default();
    for p in &parsed.plain {
        read_bags(p, &mut bags, 0, true)?;
    }
    let candidates = Encoding::candidates(password);
    // Within this open, a derivation asked for twice (one salt shared by
    // several parts, as certsafe writes) is computed and paid once.
    let mut memo = Memo::new();
    let visible = memo.price(&parsed.derivations(&bags, candidates[0]));
    if !memo.fits(visible) {
        return Err(P12Error::TooMuchWork {
            units: visible,
            budget: kdf::BUDGET,
        });
    }
    let mut used_legacy = parsed.encrypted.iter().any(|(s, _)| s.legacy());

    // The first thing encrypted, to tell a wrong password from an altered
    // file, or to find the encoding of an empty password without a MAC.
    let probe: Option<(&Scheme, &[u8], bool)> = parsed
        .encrypted
        .first()
        .map(|(s, d)| (s, &d[..], false))
        .or_else(|| {
            bags.shrouded
                .first()
                .map(|s| (&s.scheme, &s.data[..], true))
        });
    let decrypts = |scheme: &Scheme,
                    data: &[u8],
                    key: bool,
                    enc: Encoding,
                    memo: &mut Memo|
     -> Result<bool, P12Error> {
        Ok(scheme.decrypt(data, password, enc, memo)?.is_some_and(|p| {
            if key {
                crate::domain::identity::key_der_is_bounded(&p)
                    && PKey::private_key_from_pkcs8(&p).is_ok()
            } else {
                parses(&p)
            }
        }))
    };

    let encoding = if let Some(mac) = &parsed.mac {
        let mut found = None;
        for &enc in candidates {
            if kdf::mac_matches(
                mac.md,
                password,
                enc,
                &mac.salt,
                mac.iterations,
                &parsed.auth_safe,
                &mac.digest,
                &mut memo,
            )? {
                found = Some(enc);
                break;
            }
        }
        let Some(enc) = found else {
            let altered = match probe {
                Some((s, d, key)) => decrypts(s, d, key, candidates[0], &mut memo)?,
                None => false,
            };
            return Err(if altered {
                P12Error::Altered
            } else {
                P12Error::WrongPassword
            });
        };
        enc
    } else if let Some((s, d, key)) = probe {
        let mut found = None;
        for &enc in candidates {
            if decrypts(s, d, key, enc, &mut memo)? {
                found = Some(enc);
                break;
            }
        }
        found.ok_or(P12Error::WrongPassword)?
    } else {
        candidates[0]
    };
    let mac_checked = parsed.mac.is_some();
    let refused = || {
        if mac_checked {
            damaged("an encrypted part does not decrypt")
        } else {
            P12Error::WrongPassword
        }
    };

    for (scheme, data) in &parsed.encrypted {
        let plain: Zeroizing<Vec<u8>> = scheme
            .decrypt(data, password, encoding, &mut memo)?
            .ok_or_else(refused)?;
        read_bags(&plain, &mut bags, 0, true)?;
    }
    // Every key bag is now known: price them all (what is not already
    // derived) before the first runs.
    let keys: Vec<Derivation> = bags
        .shrouded
        .iter()
        .flat_map(|s| s.scheme.derivations(encoding))
        .collect();
    let keys_cost = memo.price(&keys);
    if !memo.fits(keys_cost) {
        return Err(P12Error::TooMuchWork {
            units: kdf::BUDGET.saturating_add(keys_cost),
            budget: kdf::BUDGET,
        });
    }
    for s in std::mem::take(&mut bags.shrouded) {
        used_legacy |= s.scheme.legacy();
        let plain = s
            .scheme
            .decrypt(&s.data, password, encoding, &mut memo)?
            .ok_or_else(refused)?;
        if !crate::domain::identity::key_der_is_bounded(&plain) {
            return Err(damaged("unsupported private key"));
        }
        let key = PKey::private_key_from_pkcs8(&plain).map_err(|_| refused())?;
        bags.keys.push((key, s.local_id, s.name));
    }
    pair(bags, used_legacy)
}

/// Pairs each key with its certificate: same localKeyId and public key,
/// else the same public key.
fn pair(bags: Bags, used_legacy: bool) -> Result<Contents, P12Error> {
    if bags.keys.is_empty() {
        return Err(P12Error::Incomplete {
            missing: "private key",
        });
    }
    let mut leaves: Vec<Option<usize>> = Vec::new();
    for (key, local_id, _) in &bags.keys {
        let matches = |c: &X509| c.public_key().is_ok_and(|p| p.public_eq(key));
        let by_id = bags.certs.iter().position(|(c, id, _)| {
            local_id.is_some() && id.as_ref() == local_id.as_ref() && matches(c)
        });
        leaves.push(by_id.or_else(|| bags.certs.iter().position(|(c, _, _)| matches(c))));
    }
    let used: Vec<usize> = leaves.iter().flatten().copied().collect();
    let mut identities = Vec::new();
    for ((key, _, key_name), leaf) in bags.keys.into_iter().zip(&leaves) {
        let Some(leaf) = *leaf else { continue };
        // Two keys for one certificate: the second is a duplicate.
        if identities.iter().any(|f: &Found| {
            identity::fingerprint(&f.identity.cert) == identity::fingerprint(&bags.certs[leaf].0)
        }) {
            continue;
        }
        let (cert, _, cert_name) = &bags.certs[leaf];
        let mut certs = vec![cert.clone()];
        certs.extend(
            bags.certs
                .iter()
                .enumerate()
                .filter(|(i, _)| !used.contains(i))
                .map(|(_, (c, _, _))| c.clone()),
        );
        let identity = Identity::assemble(key, certs)?;
        identities.push(Found {
            certificates: 1 + identity.chain.len(),
            friendly_name: cert_name.clone().or(key_name),
            identity,
        });
    }
    if identities.is_empty() {
        return Err(P12Error::Incomplete {
            missing: "certificate",
        });
    }
    Ok(Contents {
        identities,
        key_encryption: bags.first_key_encryption,
        used_legacy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ber::{der, der_oid, der_uint};

    fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        der(tag::SEQUENCE, &parts.concat())
    }

    fn tagged(oid: &str, value: &[u8], local_id: &[u8]) -> Vec<u8> {
        let attr = seq(&[
            der_oid(OID_LOCAL_KEY_ID),
            der(tag::SET, &der(tag::OCTET_STRING, local_id)),
        ]);
        seq(&[
            der_oid(oid),
            der(tag::CONTEXT_0, value),
            der(tag::SET, &attr),
        ])
    }

    fn identity(cn: &str) -> (PKey<Private>, X509) {
        let key = PKey::from_ec_key(
            openssl::ec::EcKey::generate(
                &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)
                    .unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        let mut name = openssl::x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(30).unwrap())
            .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        (key, b.build())
    }

    /// A file with plain key and certificate bags (as `openssl -keypbe
    /// NONE -certpbe NONE`) and a SHA-256 MAC made with `encoding` of the
    /// empty password.
    fn plain_file(ids: &[(PKey<Private>, X509)], encoding: Encoding) -> Vec<u8> {
        let mut bags = Vec::new();
        for (i, (key, cert)) in ids.iter().enumerate() {
            let local = [u8::try_from(i).unwrap() + 1; 4];
            bags.push(tagged(
                OID_KEY_BAG,
                &key.private_key_to_pkcs8().unwrap(),
                &local,
            ));
            let cert_bag = seq(&[
                der_oid(OID_X509_CERT),
                der(
                    tag::CONTEXT_0,
                    &der(tag::OCTET_STRING, &cert.to_der().unwrap()),
                ),
            ]);
            bags.push(tagged(OID_CERT_BAG, &cert_bag, &local));
        }
        let part = seq(&[
            der_oid(OID_DATA),
            der(tag::CONTEXT_0, &der(tag::OCTET_STRING, &seq(&bags))),
        ]);
        let auth_safe = seq(&[part]);
        let salt = [5u8; 8];
        let md = MessageDigest::sha256();
        let empty = Password::empty_for_reading();
        let key = kdf::pkcs12_kdf(md, &empty, encoding, &salt, 3, 2048, 32).unwrap();
        let mut signer = openssl::sign::Signer::new(md, &PKey::hmac(&key).unwrap()).unwrap();
        signer.update(&auth_safe).unwrap();
        let mac = signer.sign_to_vec().unwrap();
        seq(&[
            der_uint(3),
            seq(&[
                der_oid(OID_DATA),
                der(tag::CONTEXT_0, &der(tag::OCTET_STRING, &auth_safe)),
            ]),
            seq(&[
                seq(&[
                    seq(&[der_oid("2.16.840.1.101.3.4.2.1"), vec![5, 0]]),
                    der(tag::OCTET_STRING, &mac),
                ]),
                der(tag::OCTET_STRING, &salt),
                der_uint(2048),
            ]),
        ])
    }

    #[test]
    fn both_encodings_of_the_empty_password_open() {
        let id = identity("Dr Vide");
        let fp = crate::domain::identity::fingerprint(&id.1);
        for encoding in [Encoding::Absent, Encoding::Bmp] {
            let file = plain_file(std::slice::from_ref(&id), encoding);
            let contents = open_all(&file, &Password::empty_for_reading()).unwrap();
            assert_eq!(contents.identities.len(), 1);
            assert_eq!(contents.identities[0].identity.fingerprint(), fp);
            assert!(contents.identities[0].identity.key_matches());
            let wrong = Password::new("not empty".into()).unwrap();
            assert!(matches!(
                open_all(&file, &wrong),
                Err(P12Error::WrongPassword)
            ));
        }
    }

    #[test]
    fn keys_pair_with_their_certificates() {
        let a = identity("Dr Un");
        let b = identity("Dr Deux");
        let fps = [
            crate::domain::identity::fingerprint(&a.1),
            crate::domain::identity::fingerprint(&b.1),
        ];
        let file = plain_file(&[a, b], Encoding::Bmp);
        let contents = open_all(&file, &Password::empty_for_reading()).unwrap();
        let got: Vec<String> = contents
            .identities
            .iter()
            .map(|f| f.identity.fingerprint())
            .collect();
        assert_eq!(got, fps);
        assert!(contents.identities.iter().all(|f| f.identity.key_matches()));
    }
}
