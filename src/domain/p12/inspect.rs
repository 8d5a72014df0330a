//! What can be read from a PKCS#12 file without its password: the
//! layout (algorithms, iteration counts, MAC, bags).

use serde::Serialize;
use zeroize::Zeroizing;

use super::{MAX_FILE_SIZE, P12Error};
use crate::domain::ber::{self, Node, tag};

/// How one part of the file is encrypted.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Encryption {
    /// `PBES2` or `PKCS#12 PBE`.
    pub scheme: String,
    /// e.g. `AES-256-CBC`, `3DES-CBC`, `RC2-40-CBC`.
    pub cipher: String,
    /// e.g. `PBKDF2-HMAC-SHA256`, `PKCS#12 KDF SHA-1`.
    pub kdf: String,
    /// Iteration count.
    pub iterations: u64,
}

/// The integrity check of the file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Mac {
    /// `SHA-256`, `SHA-1`, ...
    pub digest: String,
    /// Iteration count.
    pub iterations: u64,
}

/// What can be read from a PKCS#12 file without its password.
#[derive(Clone, Serialize, Default)]
pub struct Layout {
    /// The MAC, if the file has one.
    pub mac: Option<Mac>,
    /// How the private key is encrypted (`None`: not found, or unencrypted).
    pub key_encryption: Option<Encryption>,
    /// How the certificates are encrypted (`None`: not encrypted).
    pub cert_encryption: Option<Encryption>,
    /// friendlyName of the key bag, when readable without the password.
    pub key_friendly_name: Option<String>,
    /// Whether the file used BER (indefinite lengths, constructed strings).
    pub ber: bool,
    /// The largest iteration count of every encrypted part (all of them,
    /// not only the ones described above).
    #[serde(skip)]
    most_iterations: u64,
}

impl std::fmt::Debug for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layout")
            .field("mac", &self.mac)
            .field("key_encryption", &self.key_encryption)
            .field("cert_encryption", &self.cert_encryption)
            .field("key_friendly_name", &self.key_friendly_name)
            .field("ber", &self.ber)
            .finish_non_exhaustive()
    }
}

impl Layout {
    /// The largest iteration count claimed anywhere in the file.
    pub fn max_iterations(&self) -> u64 {
        [
            self.mac.as_ref().map(|m| m.iterations),
            self.key_encryption.as_ref().map(|e| e.iterations),
            self.cert_encryption.as_ref().map(|e| e.iterations),
            Some(self.most_iterations),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0)
    }

    /// Whether a cipher needs OpenSSL's legacy provider.
    pub fn needs_legacy(&self) -> bool {
        [&self.key_encryption, &self.cert_encryption]
            .into_iter()
            .flatten()
            .any(|e| {
                e.cipher.starts_with("RC2") || e.cipher.starts_with("RC4") || e.cipher == "DES-CBC"
            })
    }
}

/// Reads the structure of a PKCS#12 file, without the password.
pub fn inspect(bytes: &[u8]) -> Result<Layout, P12Error> {
    let size = bytes.len() as u64;
    if size > MAX_FILE_SIZE {
        return Err(P12Error::TooLarge { size });
    }
    let damaged = |e: ber::BerError| P12Error::Damaged {
        detail: e.to_string(),
    };
    let (pfx, used) = ber::read_first(bytes).map_err(|e| {
        if looks_like_pfx_header(bytes) {
            P12Error::Damaged {
                detail: format!("truncated: {e}"),
            }
        } else {
            P12Error::NotPkcs12
        }
    })?;
    if pfx.tag != tag::SEQUENCE {
        return Err(P12Error::NotPkcs12);
    }
    let parts = pfx.children().map_err(damaged)?;
    let version = parts.first().and_then(Node::uint);
    if version != Some(3) || parts.len() < 2 {
        return Err(P12Error::NotPkcs12);
    }
    if used != bytes.len() {
        return Err(P12Error::Damaged {
            detail: "bytes after the end of the file's structure".into(),
        });
    }
    let mut layout = Layout {
        ber: bytes.get(1) == Some(&0x80),
        ..Layout::default()
    };
    if let Some(mac_data) = parts.get(2) {
        layout.mac = Some(read_mac(mac_data).map_err(damaged)?);
    }
    let auth_safe = read_data_content(&parts[1]).map_err(damaged)?;
    let auth_safe_node = ber::read_one(&auth_safe).map_err(damaged)?;
    layout.ber |= auth_safe.first() == Some(&0x30) && auth_safe.get(1) == Some(&0x80);
    for content_info in auth_safe_node.children().map_err(damaged)? {
        let kind = content_info
            .child(0, "content type")
            .map_err(damaged)?
            .oid();
        match kind.as_deref() {
            Some(OID_DATA) => {
                let safe_contents = read_data_content(&content_info).map_err(damaged)?;
                read_bags(&safe_contents, &mut layout, 0).map_err(damaged)?;
            }
            Some(OID_ENCRYPTED_DATA) => {
                // [0] { EncryptedData ::= SEQ { version, EncryptedContentInfo SEQ { type, alg, [0] data } } }
                let enc = content_info
                    .child(1, "encrypted data")
                    .and_then(|n| n.child(0, "encrypted data"))
                    .and_then(|n| n.child(1, "encrypted content info"))
                    .and_then(|n| n.child(1, "encryption algorithm"))
                    .map_err(damaged)?;
                let encryption = read_encryption(&enc).map_err(damaged)?;
                layout.most_iterations = layout.most_iterations.max(encryption.iterations);
                layout.cert_encryption = Some(encryption);
            }
            _ => {}
        }
    }
    Ok(layout)
}

/// A SEQUENCE header followed by `INTEGER 3`: the start of a PFX.
fn looks_like_pfx_header(bytes: &[u8]) -> bool {
    if bytes.first() != Some(&0x30) {
        return false;
    }
    let header = match bytes.get(1) {
        Some(&0x80) => 2,
        Some(&l) if l < 0x80 => 2,
        Some(&l) => 2 + usize::from(l & 0x7f),
        None => return false,
    };
    bytes.get(header..header + 3) == Some(&[0x02, 0x01, 0x03])
}

const OID_DATA: &str = "1.2.840.113549.1.7.1";
const OID_ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const OID_SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";
const OID_SAFE_CONTENTS_BAG: &str = "1.2.840.113549.1.12.10.1.6";
const OID_FRIENDLY_NAME: &str = "1.2.840.113549.1.9.20";
const OID_PBES2: &str = "1.2.840.113549.1.5.13";
const OID_PBKDF2: &str = "1.2.840.113549.1.5.12";
const OID_SHA1: &str = "1.3.14.3.2.26";
const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";

fn bad(what: &'static str) -> ber::BerError {
    ber::BerError { offset: 0, what }
}

/// `ContentInfo { data, [0] OCTET STRING }` → the octets, in a buffer
/// wiped on drop (unencrypted key bags may sit there).
pub(super) fn read_data_content(
    content_info: &Node<'_>,
) -> Result<Zeroizing<Vec<u8>>, ber::BerError> {
    let explicit = content_info.child(1, "content")?;
    let octets = explicit.child(0, "content octets")?;
    if octets.base_tag() != tag::OCTET_STRING {
        return Err(bad("content is not an OCTET STRING"));
    }
    octets.octets_zeroizing()
}

fn digest_name(oid: &str) -> String {
    match oid {
        OID_SHA1 => "SHA-1".into(),
        "2.16.840.1.101.3.4.2.4" => "SHA-224".into(),
        OID_SHA256 => "SHA-256".into(),
        "2.16.840.1.101.3.4.2.2" => "SHA-384".into(),
        "2.16.840.1.101.3.4.2.3" => "SHA-512".into(),
        "1.2.840.113549.2.5" => "MD5".into(),
        other => other.to_string(),
    }
}

fn read_mac(mac_data: &Node<'_>) -> Result<Mac, ber::BerError> {
    // MacData ::= SEQ { DigestInfo SEQ { AlgId SEQ { oid, params }, digest }, salt, iterations DEFAULT 1 }
    let alg = mac_data
        .child(0, "MAC digest info")?
        .child(0, "MAC algorithm")?;
    let oid = alg
        .child(0, "MAC algorithm")?
        .oid()
        .ok_or(bad("MAC algorithm"))?;
    let iterations = match mac_data.children()?.get(2) {
        Some(n) => n.uint().ok_or(bad("MAC iteration count"))?,
        None => 1,
    };
    Ok(Mac {
        digest: digest_name(&oid),
        iterations,
    })
}

pub(super) fn read_encryption(alg: &Node<'_>) -> Result<Encryption, ber::BerError> {
    let oid = alg
        .child(0, "encryption algorithm")?
        .oid()
        .ok_or(bad("encryption algorithm"))?;
    let params = alg.child(1, "encryption parameters")?;
    if oid == OID_PBES2 {
        let kdf = params.child(0, "PBES2 key derivation")?;
        let kdf_oid = kdf
            .child(0, "PBES2 key derivation")?
            .oid()
            .unwrap_or_default();
        let scheme = params.child(1, "PBES2 encryption scheme")?;
        let cipher_oid = scheme.child(0, "PBES2 cipher")?.oid().unwrap_or_default();
        let cipher = match cipher_oid.as_str() {
            "2.16.840.1.101.3.4.1.2" => "AES-128-CBC".to_string(),
            "2.16.840.1.101.3.4.1.22" => "AES-192-CBC".to_string(),
            "2.16.840.1.101.3.4.1.42" => "AES-256-CBC".to_string(),
            "1.2.840.113549.3.7" => "3DES-CBC".to_string(),
            "1.3.14.3.2.7" => "DES-CBC".to_string(),
            "1.2.840.113549.3.2" => "RC2-CBC".to_string(),
            other => other.to_string(),
        };
        if kdf_oid != OID_PBKDF2 {
            return Ok(Encryption {
                scheme: "PBES2".into(),
                cipher,
                kdf: kdf_oid,
                iterations: 0,
            });
        }
        let kdf_params = kdf.child(1, "PBKDF2 parameters")?;
        let kids = kdf_params.children()?;
        let iterations = kids
            .get(1)
            .and_then(Node::uint)
            .ok_or(bad("PBKDF2 iteration count"))?;
        let prf = kids
            .iter()
            .skip(2)
            .find(|n| n.tag == tag::SEQUENCE)
            .and_then(|n| n.child(0, "prf").ok())
            .and_then(|n| n.oid())
            .map_or_else(
                || "HMAC-SHA1".to_string(),
                |o| match o.as_str() {
                    "1.2.840.113549.2.7" => "HMAC-SHA1".into(),
                    "1.2.840.113549.2.9" => "HMAC-SHA256".into(),
                    "1.2.840.113549.2.10" => "HMAC-SHA384".into(),
                    "1.2.840.113549.2.11" => "HMAC-SHA512".into(),
                    other => other.to_string(),
                },
            );
        return Ok(Encryption {
            scheme: "PBES2".into(),
            cipher,
            kdf: format!("PBKDF2-{prf}"),
            iterations,
        });
    }
    let cipher = match oid.as_str() {
        "1.2.840.113549.1.12.1.1" => "RC4-128",
        "1.2.840.113549.1.12.1.2" => "RC4-40",
        "1.2.840.113549.1.12.1.3" => "3DES-CBC",
        "1.2.840.113549.1.12.1.4" => "2-key 3DES-CBC",
        "1.2.840.113549.1.12.1.5" => "RC2-128-CBC",
        "1.2.840.113549.1.12.1.6" => "RC2-40-CBC",
        _ => {
            return Ok(Encryption {
                scheme: oid.clone(),
                cipher: oid,
                kdf: String::new(),
                iterations: 0,
            });
        }
    };
    let iterations = params
        .child(1, "PBE iteration count")?
        .uint()
        .ok_or(bad("PBE iteration count"))?;
    Ok(Encryption {
        scheme: "PKCS#12 PBE".into(),
        cipher: cipher.into(),
        kdf: "PKCS#12 KDF SHA-1".into(),
        iterations,
    })
}

fn read_bags(safe_contents: &[u8], layout: &mut Layout, depth: usize) -> Result<(), ber::BerError> {
    if depth > 8 {
        return Err(bad("safe contents nested too deep"));
    }
    let node = ber::read_one(safe_contents)?;
    for bag in node.children()? {
        let kids = bag.children()?;
        let Some(id) = kids.first().and_then(Node::oid) else {
            continue;
        };
        if id == OID_SAFE_CONTENTS_BAG {
            // Nested safe contents: walked too, so no count hides in them.
            let inner = bag
                .child(1, "nested bag")?
                .child(0, "nested safe contents")?;
            let bytes = Zeroizing::new(ber::der(tag::SEQUENCE, inner.content));
            read_bags(&bytes, layout, depth + 1)?;
            continue;
        }
        if id != OID_SHROUDED_KEY_BAG {
            continue;
        }
        let epki = bag.child(1, "key bag value")?.child(0, "encrypted key")?;
        let encryption = read_encryption(&epki.child(0, "key encryption")?)?;
        layout.most_iterations = layout.most_iterations.max(encryption.iterations);
        layout.key_encryption = Some(encryption);
        if let Some(attrs) = kids.get(2) {
            for attr in attrs.children()? {
                let is_name =
                    attr.child(0, "attribute")?.oid().as_deref() == Some(OID_FRIENDLY_NAME);
                if is_name {
                    layout.key_friendly_name = attr
                        .child(1, "attribute values")?
                        .children()?
                        .first()
                        .and_then(Node::bmp_string);
                }
            }
        }
    }
    Ok(())
}
