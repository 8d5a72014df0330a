//! Writing PKCS#12 files ourselves: one or several identities (a renewal
//! history), each key in its own shrouded key bag, every certificate once,
//! and ONE key derivation for every encrypted part.
//!
//! Layout (what OpenSSL's `PKCS12_create` writes, extended to several
//! keys): `AuthenticatedSafe { encryptedData(certificate bags),
//! data(shrouded key bags) }` and a `MacData`. Each identity has a
//! certificate bag and a key bag carrying its friendlyName (`BMPString`) and
//! the same localKeyId (SHA-1 of its certificate, as OpenSSL does); chain
//! certificates follow, once each, without attributes.
//!
//! - `modern`: PBES2 / PBKDF2-HMAC-SHA256 / AES-256-CBC. One salt, so one
//!   PBKDF2 derivation gives the AES key of every part; each part has its
//!   own random IV. MAC: HMAC-SHA256 keyed by the RFC 7292 KDF.
//! - `compat`: pbeWithSHAAnd3-KeyTripleDES-CBC. Key and IV both come from
//!   the RFC 7292 KDF (ids 1 and 2) of the password and the salt; one salt
//!   for every part, so both are derived once. MAC: HMAC-SHA1.
//!
//! docs/formats.md says why sharing a derived key is sound.

use openssl::cipher::Cipher;
use openssl::cipher_ctx::CipherCtx;
use openssl::hash::MessageDigest;
use zeroize::Zeroizing;

use super::kdf::{self, Derivation, Encoding, Memo};
use super::{ITERATIONS, P12Error, Profile};
use crate::domain::ber::{self, tag};
use crate::domain::identity::{self, Identity};
use crate::domain::secret::Password;

/// One identity to write, with the friendlyName of its key and certificate.
pub struct Entry<'a> {
    /// Key, certificate and chain.
    pub identity: &'a Identity,
    /// The friendlyName (the account label, with dates for older identities).
    pub friendly_name: &'a str,
}

const OID_DATA: &str = "1.2.840.113549.1.7.1";
const OID_ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const OID_SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";
const OID_CERT_BAG: &str = "1.2.840.113549.1.12.10.1.3";
const OID_X509_CERT: &str = "1.2.840.113549.1.9.22.1";
const OID_FRIENDLY_NAME: &str = "1.2.840.113549.1.9.20";
const OID_LOCAL_KEY_ID: &str = "1.2.840.113549.1.9.21";
const OID_PBES2: &str = "1.2.840.113549.1.5.13";
const OID_PBKDF2: &str = "1.2.840.113549.1.5.12";
const OID_HMAC_SHA256: &str = "1.2.840.113549.2.9";
const OID_AES_256_CBC: &str = "2.16.840.1.101.3.4.1.42";
const OID_PBE_SHA1_3DES: &str = "1.2.840.113549.1.12.1.3";
/// SHA-1, the MAC digest of `compat`.
pub(super) const OID_SHA1: &str = "1.3.14.3.2.26";
/// SHA-256, the MAC digest of `modern`.
pub(super) const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";

/// Salt of the encryption derivation: 16 bytes for PBKDF2 (OpenSSL 3's
/// default), 8 for the PKCS#12 PBE (what OpenSSL writes; old Windows and
/// macOS readers expect it).
const SALT_MODERN: usize = 16;
const SALT_COMPAT: usize = 8;
/// Salt of the MAC derivation.
const SALT_MAC: usize = 16;

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    ber::der(tag::SEQUENCE, &parts.concat())
}

fn failed(e: openssl::error::ErrorStack) -> P12Error {
    P12Error::Build(e)
}

/// The key (and, for `compat`, IV) every encrypted part is made with.
struct Sealer {
    profile: Profile,
    salt: Vec<u8>,
    key: Zeroizing<Vec<u8>>,
    /// `compat` only: the derived IV.
    iv: Zeroizing<Vec<u8>>,
}

impl Sealer {
    /// Derives the key (one PBKDF2 for `modern`; key and IV, two RFC 7292
    /// outputs, for `compat`).
    fn new(profile: Profile, password: &Password, memo: &mut Memo) -> Result<Self, P12Error> {
        let iterations = u64::from(ITERATIONS);
        match profile {
            Profile::Modern => {
                let mut salt = vec![0u8; SALT_MODERN];
                openssl::rand::rand_bytes(&mut salt).map_err(failed)?;
                let key = memo.derive(
                    &Derivation::Pbkdf2 {
                        prf: openssl::nid::Nid::SHA256,
                        salt: salt.clone(),
                        iterations,
                        len: 32,
                    },
                    password,
                )?;
                Ok(Self {
                    profile,
                    salt,
                    key,
                    iv: Zeroizing::new(Vec::new()),
                })
            }
            Profile::Compat => {
                let mut salt = vec![0u8; SALT_COMPAT];
                openssl::rand::rand_bytes(&mut salt).map_err(failed)?;
                let one = |id: u8, len: usize| Derivation::Pkcs12 {
                    md: openssl::nid::Nid::SHA1,
                    encoding: Encoding::Bmp,
                    salt: salt.clone(),
                    id,
                    iterations,
                    len,
                };
                let key = memo.derive(&one(1, 24), password)?;
                let iv = memo.derive(&one(2, 8), password)?;
                Ok(Self {
                    profile,
                    salt,
                    key,
                    iv,
                })
            }
        }
    }

    /// Encrypts `plain`; returns the `AlgorithmIdentifier` and the
    /// ciphertext.
    fn seal(&self, plain: &[u8]) -> Result<(Vec<u8>, Vec<u8>), P12Error> {
        let iterations = ber::der_uint(u64::from(ITERATIONS));
        let (cipher, iv, alg) = match self.profile {
            Profile::Modern => {
                let mut iv = Zeroizing::new(vec![0u8; 16]);
                openssl::rand::rand_bytes(&mut iv).map_err(failed)?;
                let prf = seq(&[&ber::der_oid(OID_HMAC_SHA256), &[0x05, 0x00]]);
                let kdf = seq(&[
                    &ber::der_oid(OID_PBKDF2),
                    &seq(&[&ber::der(tag::OCTET_STRING, &self.salt), &iterations, &prf]),
                ]);
                let scheme = seq(&[
                    &ber::der_oid(OID_AES_256_CBC),
                    &ber::der(tag::OCTET_STRING, &iv),
                ]);
                let alg = seq(&[&ber::der_oid(OID_PBES2), &seq(&[&kdf, &scheme])]);
                (Cipher::aes_256_cbc(), iv, alg)
            }
            Profile::Compat => {
                let alg = seq(&[
                    &ber::der_oid(OID_PBE_SHA1_3DES),
                    &seq(&[&ber::der(tag::OCTET_STRING, &self.salt), &iterations]),
                ]);
                (Cipher::des_ede3_cbc(), self.iv.clone(), alg)
            }
        };
        let mut ctx = CipherCtx::new().map_err(failed)?;
        ctx.encrypt_init(Some(cipher), Some(&self.key), Some(&iv))
            .map_err(failed)?;
        let mut out = Vec::with_capacity(plain.len() + 16);
        ctx.cipher_update_vec(plain, &mut out).map_err(failed)?;
        ctx.cipher_final_vec(&mut out).map_err(failed)?;
        Ok((alg, out))
    }
}

/// `SET OF Attribute` with a friendlyName and a localKeyId, sorted as DER
/// wants a SET OF.
fn attributes(name: &str, local_id: &[u8]) -> Vec<u8> {
    let bmp: Vec<u8> = name.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let mut attrs = [
        seq(&[
            &ber::der_oid(OID_FRIENDLY_NAME),
            &ber::der(tag::SET, &ber::der(tag::BMP_STRING, &bmp)),
        ]),
        seq(&[
            &ber::der_oid(OID_LOCAL_KEY_ID),
            &ber::der(tag::SET, &ber::der(tag::OCTET_STRING, local_id)),
        ]),
    ];
    attrs.sort();
    ber::der(tag::SET, &attrs.concat())
}

fn cert_bag(der: &[u8], attrs: Option<&[u8]>) -> Vec<u8> {
    let value = seq(&[
        &ber::der_oid(OID_X509_CERT),
        &ber::der(tag::CONTEXT_0, &ber::der(tag::OCTET_STRING, der)),
    ]);
    seq(&[
        &ber::der_oid(OID_CERT_BAG),
        &ber::der(tag::CONTEXT_0, &value),
        attrs.unwrap_or_default(),
    ])
}

/// The localKeyId of an identity: SHA-1 of its certificate (as OpenSSL).
fn local_key_id(cert_der: &[u8]) -> Result<Vec<u8>, P12Error> {
    openssl::hash::hash(MessageDigest::sha1(), cert_der)
        .map(|d| d.to_vec())
        .map_err(failed)
}

/// Writes `entries` (at least one; distinct certificates) as one PKCS#12
/// file for `profile`: every key, every leaf with its friendlyName and
/// localKeyId, the chain certificates once each. Two key derivations for
/// `modern` (encryption, MAC), three for `compat` (key, IV, MAC).
pub fn build_many(
    entries: &[Entry<'_>],
    password: &Password,
    profile: Profile,
) -> Result<Vec<u8>, P12Error> {
    if entries.is_empty() || entries.iter().any(|e| e.friendly_name.contains('\0')) {
        return Err(P12Error::Build(openssl::error::ErrorStack::get()));
    }
    let mut leaves: Vec<Vec<u8>> = Vec::with_capacity(entries.len());
    for e in entries {
        let der = e.identity.cert.to_der().map_err(failed)?;
        if leaves.contains(&der) {
            // One certificate twice: its two bags would share a localKeyId.
            return Err(P12Error::Build(openssl::error::ErrorStack::get()));
        }
        leaves.push(der);
    }
    let mut memo = Memo::new();
    let sealer = Sealer::new(profile, password, &mut memo)?;

    // Certificate bags: the leaves, then each chain certificate once.
    let mut bags = Vec::new();
    let mut ids = Vec::with_capacity(entries.len());
    for (e, der) in entries.iter().zip(&leaves) {
        let id = local_key_id(der)?;
        bags.push(cert_bag(der, Some(&attributes(e.friendly_name, &id))));
        ids.push(id);
    }
    let mut written: Vec<String> = entries
        .iter()
        .map(|e| identity::fingerprint(&e.identity.cert))
        .collect();
    for c in entries.iter().flat_map(|e| &e.identity.chain) {
        let fp = identity::fingerprint(c);
        if !written.contains(&fp) {
            bags.push(cert_bag(&c.to_der().map_err(failed)?, None));
            written.push(fp);
        }
    }
    let (alg, cert_part) = sealer.seal(&ber::der(tag::SEQUENCE, &bags.concat()))?;
    let certs = seq(&[
        &ber::der_oid(OID_ENCRYPTED_DATA),
        &ber::der(
            tag::CONTEXT_0,
            &seq(&[
                &ber::der_uint(0),
                &seq(&[
                    &ber::der_oid(OID_DATA),
                    &alg,
                    &ber::der(tag::CONTEXT_0_PRIMITIVE, &cert_part),
                ]),
            ]),
        ),
    ]);

    // Key bags, in the order of `entries`.
    let mut key_bags = Vec::new();
    for (e, id) in entries.iter().zip(&ids) {
        let pkcs8 = Zeroizing::new(e.identity.key.private_key_to_pkcs8().map_err(failed)?);
        let (alg, key_part) = sealer.seal(&pkcs8)?;
        let epki = seq(&[&alg, &ber::der(tag::OCTET_STRING, &key_part)]);
        key_bags.push(seq(&[
            &ber::der_oid(OID_SHROUDED_KEY_BAG),
            &ber::der(tag::CONTEXT_0, &epki),
            &attributes(e.friendly_name, id),
        ]));
    }
    let keys = seq(&[
        &ber::der_oid(OID_DATA),
        &ber::der(
            tag::CONTEXT_0,
            &ber::der(
                tag::OCTET_STRING,
                &ber::der(tag::SEQUENCE, &key_bags.concat()),
            ),
        ),
    ]);
    let auth_safe = seq(&[&certs, &keys]);
    let (md, md_oid) = match profile {
        Profile::Modern => (MessageDigest::sha256(), OID_SHA256),
        Profile::Compat => (MessageDigest::sha1(), OID_SHA1),
    };
    let mac_data = mac_data(&auth_safe, password, md, md_oid, &mut memo)?;
    let content = seq(&[
        &ber::der_oid(OID_DATA),
        &ber::der(tag::CONTEXT_0, &ber::der(tag::OCTET_STRING, &auth_safe)),
    ]);
    Ok(seq(&[&ber::der_uint(3), &content, &mac_data]))
}

/// Writes `identity` as a PKCS#12 file for `profile`, the friendlyName
/// being `label` (a one-entry [`build_many`]).
pub fn build(
    identity: &Identity,
    label: &str,
    password: &Password,
    profile: Profile,
) -> Result<Vec<u8>, P12Error> {
    build_many(
        &[Entry {
            identity,
            friendly_name: label,
        }],
        password,
        profile,
    )
}

/// A `MacData` over `auth_safe` made with `password`: [`ITERATIONS`],
/// RFC 7292 B.2 KDF (id 3), a fresh salt.
fn mac_data(
    auth_safe: &[u8],
    password: &Password,
    md: MessageDigest,
    md_oid: &str,
    memo: &mut Memo,
) -> Result<Vec<u8>, P12Error> {
    let mut salt = [0u8; SALT_MAC];
    openssl::rand::rand_bytes(&mut salt).map_err(failed)?;
    let key = memo.derive(
        &kdf::mac_derivation(md, Encoding::Bmp, &salt, u64::from(ITERATIONS)),
        password,
    )?;
    let mac = kdf::hmac(md, &key, auth_safe)?;
    let alg = seq(&[&ber::der_oid(md_oid), &[0x05, 0x00]]);
    let digest_info = seq(&[&alg, &ber::der(tag::OCTET_STRING, &mac)]);
    Ok(seq(&[
        &digest_info,
        &ber::der(tag::OCTET_STRING, &salt),
        &ber::der_uint(u64::from(ITERATIONS)),
    ]))
}
