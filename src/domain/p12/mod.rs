//! PKCS#12 files: write them with the two backup profiles, look inside them
//! without the password (algorithms, iteration counts, MAC), and open them
//! with OpenSSL, telling a wrong password from a damaged file.

use std::sync::atomic::{AtomicBool, Ordering};

use openssl::pkcs12::Pkcs12;
use serde::Serialize;
use zeroize::Zeroizing;

use super::ber::{self, Node, tag};
use super::identity::{self, Identity, IdentityError};
use super::secret::Password;

pub mod build;
pub mod kdf;
pub mod read;

pub use build::{Entry, build, build_many};
pub use read::{Summary, check};

/// Iterations used by both profiles, for the key, the certificates and the MAC.
pub const ITERATIONS: u32 = 600_000;
/// Files larger than this are not backups of one identity.
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;

/// Where the backup will be restored, which decides its algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// PBES2 / PBKDF2-HMAC-SHA256 / AES-256-CBC, MAC SHA-256.
    #[default]
    Modern,
    /// pbeWithSHAAnd3-KeyTripleDES-CBC, MAC SHA-1, for old Windows, macOS and Java.
    Compat,
}

impl Profile {
    /// `modern` or `compat`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Modern => "modern",
            Self::Compat => "compat",
        }
    }

    /// Parses `modern` or `compat`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "modern" => Some(Self::Modern),
            "compat" => Some(Self::Compat),
            _ => None,
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a PKCS#12 file could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum P12Error {
    /// Over [`MAX_FILE_SIZE`].
    #[error("{}", crate::t!("p12.too_large", size = .size))]
    TooLarge {
        /// Its size.
        size: u64,
    },
    /// Not PKCS#12 at all.
    #[error("{}", crate::t!("p12.not_pkcs12"))]
    NotPkcs12,
    /// Structure broken: truncated or altered.
    #[error("{}", crate::t!("p12.damaged", detail = .detail))]
    Damaged {
        /// What is broken.
        detail: String,
    },
    /// The file asks for more key-derivation work than [`kdf::BUDGET`].
    #[error("{}", crate::t!("p12.too_much_work", units = .units, budget = .budget))]
    TooMuchWork {
        /// The work claimed, in units (`u64::MAX`: a count beyond 64 bits).
        units: u64,
        /// The work allowed.
        budget: u64,
    },
    /// A key derivation (scrypt, ...) or MAC this program does not run.
    #[error("{}", crate::t!("p12.unsupported_kdf", kdf = .kdf))]
    UnsupportedKdf {
        /// Its name or OID.
        kdf: String,
    },
    /// Several identities and none chosen.
    #[error("{}", crate::t!("p12.several_identities", count = .identities.len(), list = summary_lines(.identities)))]
    SeveralIdentities {
        /// What to choose from.
        identities: Vec<Summary>,
    },
    /// The identity asked for is not in the file.
    #[error("{}", crate::t!("p12.no_such_identity", index = .index, count = .count))]
    NoSuchIdentity {
        /// The number asked for (1-based).
        index: usize,
        /// How many there are.
        count: usize,
    },
    /// MAC check failed and the key does not decrypt either.
    #[error("{}", crate::t!("p12.wrong_password"))]
    WrongPassword,
    /// MAC check failed but the password decrypts the key: the file was altered.
    #[error("{}", crate::t!("p12.altered"))]
    Altered,
    /// Opened, but no key or no certificate inside.
    #[error("{}", crate::t!(if *.missing == "certificate" { "p12.incomplete_cert" } else { "p12.incomplete_key" }))]
    Incomplete {
        /// `private key` or `certificate`.
        missing: &'static str,
    },
    /// The key does not match the certificate.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// An algorithm this OpenSSL cannot provide.
    #[error("{}", crate::t!("p12.unsupported", detail = .detail))]
    Unsupported {
        /// OpenSSL's words.
        detail: String,
    },
    /// OpenSSL failed while writing.
    #[error("{}", crate::t!("p12.build", detail = .0))]
    Build(openssl::error::ErrorStack),
    /// A file just written does not hold what was written.
    #[error("{}", crate::t!("p12.not_as_written", index = .index, part = part_words(*.part)))]
    NotAsWritten {
        /// Which identity (1-based; 0: the file as a whole).
        index: usize,
        /// What differs.
        part: WrittenPart,
    },
}

fn part_words(part: WrittenPart) -> String {
    crate::t!(match part {
        WrittenPart::Count => "p12.part_count",
        WrittenPart::Certificate => "p12.part_certificate",
        WrittenPart::Key => "p12.part_key",
        WrittenPart::Chain => "p12.part_chain",
        WrittenPart::Name => "p12.part_name",
    })
}

fn summary_lines(list: &[Summary]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for s in list {
        let _ = write!(
            out,
            "\n  {}: {} — {} ({})",
            s.index,
            crate::domain::text::visible(s.friendly_name.as_deref().unwrap_or("-")),
            crate::domain::text::visible(&s.subject),
            s.fingerprint
        );
    }
    out
}

impl P12Error {
    /// A stable machine code for scripts (`--json` errors).
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "p12_too_large",
            Self::NotPkcs12 => "p12_not_pkcs12",
            Self::Damaged { .. } => "p12_damaged",
            Self::TooMuchWork { .. } => "p12_too_much_work",
            Self::UnsupportedKdf { .. } => "p12_unsupported_kdf",
            Self::SeveralIdentities { .. } => "p12_several_identities",
            Self::NoSuchIdentity { .. } => "p12_no_such_identity",
            Self::WrongPassword => "p12_wrong_password",
            Self::Altered => "p12_altered",
            Self::Incomplete { .. } => "p12_incomplete",
            Self::Identity(_) => "p12_key_mismatch",
            Self::Unsupported { .. } => "p12_unsupported",
            Self::Build(_) => "p12_build",
            Self::NotAsWritten { .. } => "p12_not_as_written",
        }
    }
}

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

/// Whether a path's name ends in `.p12` or `.pfx` (any case).
pub fn is_p12_name(path: &std::path::Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("p12") || e.eq_ignore_ascii_case("pfx"))
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
fn read_data_content(content_info: &Node<'_>) -> Result<Zeroizing<Vec<u8>>, ber::BerError> {
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

fn read_encryption(alg: &Node<'_>) -> Result<Encryption, ber::BerError> {
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

static LEGACY_LOADED: AtomicBool = AtomicBool::new(false);

/// Loads OpenSSL's legacy provider (RC2, RC4, DES), keeping the default one.
/// Returns whether it is available.
fn load_legacy_provider() -> bool {
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

fn first_reason(e: &openssl::error::ErrorStack) -> String {
    e.errors()
        .iter()
        .map(|x| x.reason().unwrap_or("unknown").to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identity::{read_certificates, read_private_key};

    fn fixture() -> Identity {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/igc-sante-test");
        let key = read_private_key(
            &std::fs::read(dir.join("testsign.test.asipsante.fr.8f613149.key.pem")).unwrap(),
            None,
            "k",
        )
        .unwrap();
        let certs = read_certificates(
            &std::fs::read(dir.join("testsign.test.asipsante.fr.8f613149.pem")).unwrap(),
            "c",
        )
        .unwrap();
        Identity::assemble(key, certs).unwrap()
    }

    /// Re-encodes a DER PFX the way Java and NSS write BER: indefinite
    /// lengths and the authSafe content as a constructed OCTET STRING in
    /// small pieces.
    fn to_ber(der: &[u8]) -> Vec<u8> {
        let pfx = ber::read_one(der).unwrap();
        let (_, vlen) = ber::read_first(pfx.content).unwrap();
        let version = &pfx.content[..vlen];
        let rest = &pfx.content[vlen..];
        let (auth, alen) = ber::read_first(rest).unwrap();
        let mac = &rest[alen..];
        let oid = auth.child(0, "oid").unwrap();
        let octets = read_data_content(&auth).unwrap();
        let mut pieces = vec![0x24, 0x80];
        for chunk in octets.chunks(100) {
            pieces.extend(ber::der(tag::OCTET_STRING, chunk));
        }
        pieces.extend([0, 0]);
        let explicit = [vec![0xa0, 0x80], pieces, vec![0, 0]].concat();
        let content_info = [
            vec![0x30, 0x80],
            ber::der(tag::OID, oid.content),
            explicit,
            vec![0, 0],
        ]
        .concat();
        [
            vec![0x30, 0x80],
            version.to_vec(),
            content_info,
            mac.to_vec(),
            vec![0, 0],
        ]
        .concat()
    }

    #[test]
    fn ber_encoded_files_open() {
        let id = fixture();
        let pw = Password::new("correct horse battery staple Brest 1987".into()).unwrap();
        let der = build(&id, "Dr Élodie", &pw, Profile::Compat).unwrap();
        let ber_bytes = to_ber(&der);
        assert_ne!(der, ber_bytes);
        let layout = inspect(&ber_bytes).unwrap();
        assert!(layout.ber);
        assert_eq!(
            layout.mac.as_ref().unwrap().iterations,
            u64::from(ITERATIONS)
        );
        let opened = open(&ber_bytes, &pw).unwrap();
        assert_eq!(opened.identity.fingerprint(), id.fingerprint());
        assert_eq!(opened.friendly_name.as_deref(), Some("Dr Élodie"));
        // A wrong password is still told as such.
        let wrong = Password::new("not the password at all".into()).unwrap();
        assert!(matches!(
            open(&ber_bytes, &wrong),
            Err(P12Error::WrongPassword)
        ));
    }

    #[test]
    fn profiles_use_the_documented_algorithms() {
        let id = fixture();
        let pw = Password::new("correct horse battery staple Brest 1987".into()).unwrap();
        let modern = inspect(&build(&id, "x", &pw, Profile::Modern).unwrap()).unwrap();
        let key = modern.key_encryption.unwrap();
        assert_eq!(
            (
                key.scheme.as_str(),
                key.cipher.as_str(),
                key.kdf.as_str(),
                key.iterations
            ),
            ("PBES2", "AES-256-CBC", "PBKDF2-HMAC-SHA256", 600_000)
        );
        assert_eq!(modern.cert_encryption.unwrap().cipher, "AES-256-CBC");
        assert_eq!(
            modern.mac.unwrap(),
            Mac {
                digest: "SHA-256".into(),
                iterations: 600_000
            }
        );
        let compat = inspect(&build(&id, "x", &pw, Profile::Compat).unwrap()).unwrap();
        assert_eq!(compat.key_encryption.unwrap().cipher, "3DES-CBC");
        assert_eq!(compat.cert_encryption.unwrap().cipher, "3DES-CBC");
        assert_eq!(
            compat.mac.unwrap(),
            Mac {
                digest: "SHA-1".into(),
                iterations: 600_000
            }
        );
    }

    #[test]
    fn an_altered_file_is_told_from_a_wrong_password() {
        let id = fixture();
        let pw = Password::new("correct horse battery staple Brest 1987".into()).unwrap();
        let mut der = build(&id, "x", &pw, Profile::Modern).unwrap();
        // Flip the last byte of the MAC value, which the salt (16 bytes,
        // 18 with its header) and the count (5 bytes) follow.
        let pos = der.len() - 5 - 18 - 1;
        der[pos] ^= 1;
        assert!(matches!(open(&der, &pw), Err(P12Error::Altered)));
        let wrong = Password::new("not the password at all".into()).unwrap();
        assert!(matches!(open(&der, &wrong), Err(P12Error::WrongPassword)));
    }
}
