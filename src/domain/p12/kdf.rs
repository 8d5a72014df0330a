//! Key derivations and decryption of PKCS#12 parts, each one priced and
//! paid from a [`Budget`] *before* it runs.
//!
//! Prices are in "work units": one unit is about one iteration of
//! PBKDF2-HMAC-SHA256 (about 0.15 µs of one core here). A PKCS#12 KDF
//! iteration is one plain hash (half an HMAC); SHA-1 and SHA-512 HMAC cost
//! about twice SHA-256 on a CPU with SHA extensions. Measured with
//! `openssl kdf ... PBKDF2` on the 2-core build machine: 2 M iterations take
//! 0.35 s of CPU with SHA-256, 0.68 s with SHA-1, 0.75 s with SHA-512.

use openssl::cipher::Cipher;
use openssl::cipher_ctx::CipherCtx;
use openssl::hash::{Hasher, MessageDigest};
use zeroize::Zeroizing;

use super::P12Error;
use crate::domain::ber::{self, Node, tag};
use crate::domain::secret::Password;

/// The most work one file may ask for, in units (see the module doc).
/// Measured here (release build, 2 shared cores): a PBES2 file from
/// `openssl pkcs12 -export -iter 3900000` (11.7 M units) opens in 1.7 s of
/// CPU, the same as `openssl pkcs12 -nodes`; so the budget is under 10 s of
/// wall time even with the cores shared five ways. The PKCS#12 KDF is
/// priced high (a 3DES file at 1.7 M iterations, 10.2 M units, opens in
/// 0.65 s). A `modern` backup costs 1.8 M units, a `compat` one 4.2 M;
/// OpenSSL's, NSS's, Java's and Windows' defaults (2 048 to 10 000
/// iterations) almost nothing.
pub const BUDGET: u64 = 12_000_000;

/// What is left of the work allowed for one file.
#[derive(Debug)]
pub struct Budget {
    left: u64,
}

impl Budget {
    /// The full [`BUDGET`].
    pub fn new() -> Self {
        Self { left: BUDGET }
    }

    /// Takes `units` or refuses with [`P12Error::TooMuchWork`].
    pub fn spend(&mut self, units: u64) -> Result<(), P12Error> {
        if units > self.left {
            return Err(P12Error::TooMuchWork {
                units: units.saturating_add(BUDGET - self.left),
                budget: BUDGET,
            });
        }
        self.left -= units;
        Ok(())
    }

    /// Whether `units` more would still fit.
    pub fn fits(&self, units: u64) -> bool {
        units <= self.left
    }
}

impl Default for Budget {
    fn default() -> Self {
        Self::new()
    }
}

/// How the password is turned into bytes for the PKCS#12 KDF (RFC 7292
/// B.1): UTF-16BE plus two zero bytes. An empty password has two
/// encodings in the wild: nothing at all (OpenSSL's NULL password) or
/// the two zero bytes alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-16BE and the terminating zero pair (an empty password: `00 00`).
    Bmp,
    /// No bytes at all (only for the empty password).
    Absent,
}

impl Encoding {
    /// The encodings to try for `password`, most likely first.
    pub fn candidates(password: &Password) -> &'static [Encoding] {
        if password.expose().is_empty() {
            &[Encoding::Absent, Encoding::Bmp]
        } else {
            &[Encoding::Bmp]
        }
    }

    fn bytes(self, password: &Password) -> Zeroizing<Vec<u8>> {
        match self {
            Self::Absent => Zeroizing::new(Vec::new()),
            Self::Bmp => {
                let mut v: Zeroizing<Vec<u8>> = Zeroizing::new(
                    password
                        .expose()
                        .encode_utf16()
                        .flat_map(u16::to_be_bytes)
                        .collect(),
                );
                v.extend_from_slice(&[0, 0]);
                v
            }
        }
    }
}

thread_local! {
    static RUN: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Key derivations (one PBKDF2 or one RFC 7292 KDF output) this thread has
/// computed so far: what tests and benchmarks count.
pub fn derivations_run() -> u64 {
    RUN.with(std::cell::Cell::get)
}

fn counted() {
    RUN.with(|c| c.set(c.get().saturating_add(1)));
}

/// PBKDF2 with HMAC-`prf` over the UTF-8 bytes of the password (what
/// PBES2 uses), `len` bytes. The caller has paid for it.
pub fn pbkdf2(
    prf: MessageDigest,
    password: &Password,
    salt: &[u8],
    iterations: u64,
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, P12Error> {
    let iter = usize::try_from(iterations).map_err(|_| P12Error::TooMuchWork {
        units: u64::MAX,
        budget: BUDGET,
    })?;
    let mut key = Zeroizing::new(vec![0u8; len]);
    counted();
    openssl::pkcs5::pbkdf2_hmac(
        password.expose().as_bytes(),
        salt,
        iter.max(1),
        prf,
        &mut key,
    )
    .map_err(|e| P12Error::Unsupported {
        detail: super::first_reason(&e),
    })?;
    Ok(key)
}

/// One key derivation, by everything its output depends on (the
/// password aside: one [`Memo`] serves one password).
#[derive(Clone, PartialEq, Eq)]
pub enum Derivation {
    /// PBKDF2 (PBES2), password as UTF-8.
    Pbkdf2 {
        /// The PRF's digest.
        prf: openssl::nid::Nid,
        /// Salt.
        salt: Vec<u8>,
        /// Iteration count.
        iterations: u64,
        /// Output length.
        len: usize,
    },
    /// The RFC 7292 B.2 KDF.
    Pkcs12 {
        /// The digest.
        md: openssl::nid::Nid,
        /// How the password is encoded.
        encoding: Encoding,
        /// Salt.
        salt: Vec<u8>,
        /// 1 key, 2 IV, 3 MAC key.
        id: u8,
        /// Iteration count.
        iterations: u64,
        /// Output length.
        len: usize,
    },
}

fn md_of(nid: openssl::nid::Nid) -> Result<MessageDigest, P12Error> {
    MessageDigest::from_nid(nid).ok_or_else(|| P12Error::Unsupported {
        detail: format!("{nid:?}"),
    })
}

impl Derivation {
    /// Its price in units (see the module doc).
    pub fn cost(&self) -> u64 {
        match self {
            Self::Pbkdf2 {
                prf,
                iterations,
                len,
                ..
            } => {
                let Some(md) = MessageDigest::from_nid(*prf) else {
                    return u64::MAX;
                };
                let blocks = len.div_ceil(md.size()).max(1) as u64;
                iterations
                    .max(&1)
                    .saturating_mul(blocks)
                    .saturating_mul(hmac_weight(md))
                    .saturating_add(1)
            }
            Self::Pkcs12 {
                md,
                iterations,
                len,
                ..
            } => MessageDigest::from_nid(*md)
                .map_or(u64::MAX, |md| pkcs12_kdf_cost(md, *iterations, *len)),
        }
    }

    /// Computes it (unpaid: see [`Memo::derive`]).
    pub fn run(&self, password: &Password) -> Result<Zeroizing<Vec<u8>>, P12Error> {
        match self {
            Self::Pbkdf2 {
                prf,
                salt,
                iterations,
                len,
            } => pbkdf2(md_of(*prf)?, password, salt, *iterations, *len),
            Self::Pkcs12 {
                md,
                encoding,
                salt,
                id,
                iterations,
                len,
            } => pkcs12_kdf(
                md_of(*md)?,
                password,
                *encoding,
                salt,
                *id,
                *iterations,
                *len,
            )
            .map_err(|e| P12Error::Unsupported {
                detail: super::first_reason(&e),
            }),
        }
    }
}

/// The derivations of one open (or one write) with one password: each
/// distinct one computed once, and only what is computed paid from the
/// [`Budget`].
#[derive(Default)]
pub struct Memo {
    budget: Budget,
    done: Vec<(Derivation, Zeroizing<Vec<u8>>)>,
}

impl Memo {
    /// A full budget, nothing computed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The output of `d`: computed (and paid) the first time, then reused.
    pub fn derive(
        &mut self,
        d: &Derivation,
        password: &Password,
    ) -> Result<Zeroizing<Vec<u8>>, P12Error> {
        if let Some((_, out)) = self.done.iter().find(|(k, _)| k == d) {
            return Ok(out.clone());
        }
        self.budget.spend(d.cost())?;
        let out = d.run(password)?;
        self.done.push((d.clone(), out.clone()));
        Ok(out)
    }

    /// What `ds` would still cost: each distinct derivation not yet
    /// computed, once.
    pub fn price<'a>(&self, ds: impl IntoIterator<Item = &'a Derivation>) -> u64 {
        let mut seen: Vec<&Derivation> = Vec::new();
        let mut units = 0u64;
        for d in ds {
            if seen.contains(&d) || self.done.iter().any(|(k, _)| k == d) {
                continue;
            }
            seen.push(d);
            units = units.saturating_add(d.cost());
        }
        units
    }

    /// Whether `units` more would still fit in the budget.
    pub fn fits(&self, units: u64) -> bool {
        self.budget.fits(units)
    }

    /// Refuses, before any of it runs, work that would not fit.
    pub fn ensure(&self, units: u64) -> Result<(), P12Error> {
        if self.budget.fits(units) {
            Ok(())
        } else {
            Err(P12Error::TooMuchWork {
                units: units.saturating_add(BUDGET - self.budget.left),
                budget: BUDGET,
            })
        }
    }

    /// How many distinct derivations were computed.
    pub fn computed(&self) -> usize {
        self.done.len()
    }
}

/// A digest named by its OID.
pub fn digest(oid: &str) -> Option<MessageDigest> {
    Some(match oid {
        "1.3.14.3.2.26" => MessageDigest::sha1(),
        "2.16.840.1.101.3.4.2.4" => MessageDigest::sha224(),
        "2.16.840.1.101.3.4.2.1" => MessageDigest::sha256(),
        "2.16.840.1.101.3.4.2.2" => MessageDigest::sha384(),
        "2.16.840.1.101.3.4.2.3" => MessageDigest::sha512(),
        _ => return None,
    })
}

/// An HMAC PRF of PBKDF2 named by its OID.
fn hmac_digest(oid: &str) -> Option<MessageDigest> {
    Some(match oid {
        "1.2.840.113549.2.7" => MessageDigest::sha1(),
        "1.2.840.113549.2.8" => MessageDigest::sha224(),
        "1.2.840.113549.2.9" => MessageDigest::sha256(),
        "1.2.840.113549.2.10" => MessageDigest::sha384(),
        "1.2.840.113549.2.11" => MessageDigest::sha512(),
        _ => return None,
    })
}

/// Units per iteration per output block for an HMAC with `md`.
fn hmac_weight(md: MessageDigest) -> u64 {
    if md.size() == 32 || md.size() == 28 {
        1
    } else {
        2
    }
}

/// Price of the PKCS#12 KDF producing `len` bytes with `md`.
pub fn pkcs12_kdf_cost(md: MessageDigest, iterations: u64, len: usize) -> u64 {
    let blocks = len.div_ceil(md.size()).max(1) as u64;
    iterations.max(1).saturating_mul(blocks).saturating_add(1)
}

/// The PKCS#12 key derivation of RFC 7292 appendix B.2. `id` is 1 for a
/// key, 2 for an IV, 3 for a MAC key. The caller has paid for it. (The
/// one-letter names are the RFC's.)
#[allow(clippy::many_single_char_names)]
pub fn pkcs12_kdf(
    md: MessageDigest,
    password: &Password,
    encoding: Encoding,
    salt: &[u8],
    id: u8,
    iterations: u64,
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, openssl::error::ErrorStack> {
    counted();
    let v = md.block_size();
    let u = md.size();
    let pass = encoding.bytes(password);
    let fill = |src: &[u8]| -> Zeroizing<Vec<u8>> {
        if src.is_empty() {
            return Zeroizing::new(Vec::new());
        }
        let n = v * src.len().div_ceil(v);
        Zeroizing::new(src.iter().copied().cycle().take(n).collect())
    };
    let d = vec![id; v];
    let mut i = fill(salt);
    i.extend_from_slice(&fill(&pass));
    let mut out = Zeroizing::new(Vec::with_capacity(len + u));
    // The low-level hash contexts (on the stack): no context to allocate
    // or provider to fetch per iteration, as `EVP_Digest*` and OpenSSL 3's
    // one-shot `SHA256()` do (that made the loop 3 times slower).
    let once: fn(&[u8], &mut [u8; 64]) = match u {
        20 => |d, o| {
            let mut h = openssl::sha::Sha1::new();
            h.update(d);
            o[..20].copy_from_slice(&h.finish());
        },
        28 => |d, o| {
            let mut h = openssl::sha::Sha224::new();
            h.update(d);
            o[..28].copy_from_slice(&h.finish());
        },
        32 => |d, o| {
            let mut h = openssl::sha::Sha256::new();
            h.update(d);
            o[..32].copy_from_slice(&h.finish());
        },
        48 => |d, o| {
            let mut h = openssl::sha::Sha384::new();
            h.update(d);
            o[..48].copy_from_slice(&h.finish());
        },
        _ => |d, o| {
            let mut h = openssl::sha::Sha512::new();
            h.update(d);
            o[..64].copy_from_slice(&h.finish());
        },
    };
    loop {
        let mut h = Hasher::new(md)?;
        h.update(&d)?;
        h.update(&i)?;
        let mut buf = Zeroizing::new([0u8; 64]);
        buf[..u].copy_from_slice(&h.finish()?);
        let mut next = Zeroizing::new([0u8; 64]);
        for _ in 1..iterations.max(1) {
            once(&buf[..u], &mut next);
            std::mem::swap(&mut buf, &mut next);
        }
        let a = &buf[..u];
        out.extend_from_slice(a);
        if out.len() >= len {
            out.truncate(len);
            return Ok(out);
        }
        // I_j = (I_j + B + 1) mod 2^(8v) for each v-byte block of I.
        let b: Zeroizing<Vec<u8>> = Zeroizing::new(a.iter().copied().cycle().take(v).collect());
        for chunk in i.chunks_mut(v) {
            let mut carry = 1u16;
            for k in (0..v).rev() {
                let sum = u16::from(chunk[k]) + u16::from(b[k]) + carry;
                chunk[k] = (sum & 0xff) as u8;
                carry = sum >> 8;
            }
        }
    }
}

/// How one part (an encryptedData or a shrouded key) is encrypted, read
/// from its `AlgorithmIdentifier`, with its price.
#[derive(Clone)]
pub enum Scheme {
    /// PKCS#12 PBE: the RFC 7292 KDF with SHA-1, then `cipher`.
    Pkcs12 {
        /// OpenSSL's name of the cipher.
        cipher: &'static str,
        /// Salt.
        salt: Vec<u8>,
        /// Iteration count.
        iterations: u64,
    },
    /// PBES2 with PBKDF2.
    Pbes2 {
        /// OpenSSL's name of the cipher.
        cipher: &'static str,
        /// The PRF's digest.
        prf: MessageDigest,
        /// Salt.
        salt: Vec<u8>,
        /// Iteration count.
        iterations: u64,
        /// The IV.
        iv: Vec<u8>,
    },
}

const OID_PBES2: &str = "1.2.840.113549.1.5.13";
const OID_PBKDF2: &str = "1.2.840.113549.1.5.12";
const OID_SCRYPT: &str = "1.3.6.1.4.1.11591.4.11";

fn bad(what: &'static str) -> P12Error {
    P12Error::Damaged {
        detail: ber::BerError { offset: 0, what }.to_string(),
    }
}

fn unsupported_kdf(kdf: &str) -> P12Error {
    P12Error::UnsupportedKdf {
        kdf: if kdf == OID_SCRYPT {
            "scrypt".into()
        } else {
            kdf.to_string()
        },
    }
}

fn count(node: Option<&Node<'_>>, what: &'static str) -> Result<u64, P12Error> {
    let n = node.ok_or_else(|| bad(what))?;
    if n.tag != tag::INTEGER {
        return Err(bad(what));
    }
    // A count too large for 64 bits is not a count anyone can pay.
    n.uint().ok_or(P12Error::TooMuchWork {
        units: u64::MAX,
        budget: BUDGET,
    })
}

fn octets(node: Option<&Node<'_>>, what: &'static str) -> Result<Vec<u8>, P12Error> {
    let n = node.ok_or_else(|| bad(what))?;
    if n.base_tag() != tag::OCTET_STRING {
        return Err(bad(what));
    }
    Ok(n.octets().map_err(|_| bad(what))?.into_owned())
}

impl Scheme {
    /// Reads an `AlgorithmIdentifier`; refuses unknown schemes, KDFs
    /// (scrypt included) and ciphers before any work.
    pub fn read(alg: &Node<'_>) -> Result<Self, P12Error> {
        let kids = alg.children().map_err(|_| bad("encryption algorithm"))?;
        let oid = kids
            .first()
            .and_then(Node::oid)
            .ok_or_else(|| bad("encryption algorithm"))?;
        let params = kids
            .get(1)
            .ok_or_else(|| bad("encryption parameters"))?
            .children()
            .map_err(|_| bad("encryption parameters"))?;
        if oid == OID_PBES2 {
            let kdf = params
                .first()
                .ok_or_else(|| bad("PBES2 key derivation"))?
                .children()
                .map_err(|_| bad("PBES2 key derivation"))?;
            let kdf_oid = kdf.first().and_then(Node::oid).unwrap_or_default();
            if kdf_oid != OID_PBKDF2 {
                return Err(unsupported_kdf(&kdf_oid));
            }
            let p = kdf
                .get(1)
                .ok_or_else(|| bad("PBKDF2 parameters"))?
                .children()
                .map_err(|_| bad("PBKDF2 parameters"))?;
            let salt = octets(p.first(), "PBKDF2 salt")?;
            let iterations = count(p.get(1), "PBKDF2 iteration count")?;
            let prf = match p.iter().skip(2).find(|n| n.tag == tag::SEQUENCE) {
                None => MessageDigest::sha1(),
                Some(n) => {
                    let o = n
                        .child(0, "PBKDF2 PRF")
                        .ok()
                        .and_then(|n| n.oid())
                        .unwrap_or_default();
                    hmac_digest(&o).ok_or_else(|| unsupported_kdf(&format!("PBKDF2 {o}")))?
                }
            };
            let scheme = params
                .get(1)
                .ok_or_else(|| bad("PBES2 encryption scheme"))?
                .children()
                .map_err(|_| bad("PBES2 encryption scheme"))?;
            let c = scheme.first().and_then(Node::oid).unwrap_or_default();
            let cipher = match c.as_str() {
                "2.16.840.1.101.3.4.1.2" => "AES-128-CBC",
                "2.16.840.1.101.3.4.1.22" => "AES-192-CBC",
                "2.16.840.1.101.3.4.1.42" => "AES-256-CBC",
                "1.2.840.113549.3.7" => "DES-EDE3-CBC",
                "1.3.14.3.2.7" => "DES-CBC",
                _ => return Err(P12Error::Unsupported { detail: c }),
            };
            let iv = octets(scheme.get(1), "PBES2 IV")?;
            return Ok(Self::Pbes2 {
                cipher,
                prf,
                salt,
                iterations,
                iv,
            });
        }
        let cipher = match oid.as_str() {
            "1.2.840.113549.1.12.1.1" => "RC4",
            "1.2.840.113549.1.12.1.2" => "RC4-40",
            "1.2.840.113549.1.12.1.3" => "DES-EDE3-CBC",
            "1.2.840.113549.1.12.1.4" => "DES-EDE-CBC",
            "1.2.840.113549.1.12.1.5" => "RC2-CBC",
            "1.2.840.113549.1.12.1.6" => "RC2-40-CBC",
            _ => return Err(P12Error::Unsupported { detail: oid }),
        };
        let salt = octets(params.first(), "PBE salt")?;
        let iterations = count(params.get(1), "PBE iteration count")?;
        Ok(Self::Pkcs12 {
            cipher,
            salt,
            iterations,
        })
    }

    fn cipher(&self) -> Result<Cipher, P12Error> {
        let name = match self {
            Self::Pkcs12 { cipher, .. } | Self::Pbes2 { cipher, .. } => *cipher,
        };
        if matches!(
            name,
            "RC4" | "RC4-40" | "RC2-CBC" | "RC2-40-CBC" | "DES-CBC"
        ) {
            super::load_legacy_provider();
        }
        Cipher::fetch(None, name, None).map_err(|_| P12Error::Unsupported {
            detail: name.to_string(),
        })
    }

    /// Whether the cipher needs OpenSSL's legacy provider.
    pub fn legacy(&self) -> bool {
        matches!(
            self,
            Self::Pkcs12 { cipher, .. } | Self::Pbes2 { cipher, .. }
                if matches!(*cipher, "RC4" | "RC4-40" | "RC2-CBC" | "RC2-40-CBC" | "DES-CBC")
        )
    }

    /// The derivations this part needs with `encoding` (key, and IV for
    /// the PKCS#12 PBE schemes).
    pub fn derivations(&self, encoding: Encoding) -> Vec<Derivation> {
        match self {
            Self::Pkcs12 {
                cipher,
                salt,
                iterations,
            } => {
                let (k, i) = pkcs12_lengths(cipher);
                let one = |id: u8, len: usize| Derivation::Pkcs12 {
                    md: openssl::nid::Nid::SHA1,
                    encoding,
                    salt: salt.clone(),
                    id,
                    iterations: *iterations,
                    len,
                };
                let mut v = vec![one(1, k)];
                if i > 0 {
                    v.push(one(2, i));
                }
                v
            }
            Self::Pbes2 {
                cipher,
                prf,
                salt,
                iterations,
                ..
            } => vec![Derivation::Pbkdf2 {
                prf: prf.type_(),
                salt: salt.clone(),
                iterations: *iterations,
                len: pbes2_key_length(cipher),
            }],
        }
    }

    /// Price of deriving the key (and IV) for this part, from nothing.
    pub fn cost(&self) -> u64 {
        self.derivations(Encoding::Bmp)
            .iter()
            .fold(0u64, |a, d| a.saturating_add(d.cost()))
    }

    /// Pays for the derivations not yet made in `memo`, then decrypts
    /// `data`. `None`: the password does not decrypt it (bad padding).
    pub fn decrypt(
        &self,
        data: &[u8],
        password: &Password,
        encoding: Encoding,
        memo: &mut Memo,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, P12Error> {
        let cipher = self.cipher()?;
        let needed = self.derivations(encoding);
        memo.ensure(memo.price(&needed))?;
        let build = |e: openssl::error::ErrorStack| P12Error::Unsupported {
            detail: super::first_reason(&e),
        };
        let key = memo.derive(&needed[0], password)?;
        let iv = match (needed.get(1), self) {
            (Some(d), _) => memo.derive(d, password)?,
            (None, Self::Pbes2 { iv, .. }) => Zeroizing::new(iv.clone()),
            (None, Self::Pkcs12 { .. }) => Zeroizing::new(Vec::new()),
        };
        if key.len() != cipher.key_length() || iv.len() != cipher.iv_length() {
            return Err(bad("IV length"));
        }
        let mut ctx = CipherCtx::new().map_err(build)?;
        ctx.decrypt_init(
            Some(&cipher),
            Some(&key),
            (!iv.is_empty()).then_some(&iv[..]),
        )
        .map_err(build)?;
        let mut out = Zeroizing::new(Vec::with_capacity(data.len() + 32));
        ctx.cipher_update_vec(data, &mut out).map_err(build)?;
        if ctx.cipher_final_vec(&mut out).is_err() {
            return Ok(None);
        }
        Ok(Some(out))
    }
}

fn pkcs12_lengths(cipher: &str) -> (usize, usize) {
    match cipher {
        "RC4" => (16, 0),
        "RC4-40" => (5, 0),
        "DES-EDE3-CBC" => (24, 8),
        "DES-EDE-CBC" | "RC2-CBC" => (16, 8),
        _ => (5, 8),
    }
}

fn pbes2_key_length(cipher: &str) -> usize {
    match cipher {
        "AES-128-CBC" => 16,
        "AES-192-CBC" | "DES-EDE3-CBC" => 24,
        "DES-CBC" => 8,
        _ => 32,
    }
}

/// Price of checking a MAC whose digest is `md`.
pub fn mac_cost(md: MessageDigest, iterations: u64) -> u64 {
    pkcs12_kdf_cost(md, iterations, md.size())
}

/// The derivation of a MAC key (RFC 7292 B.2, id 3).
pub fn mac_derivation(
    md: MessageDigest,
    encoding: Encoding,
    salt: &[u8],
    iterations: u64,
) -> Derivation {
    Derivation::Pkcs12 {
        md: md.type_(),
        encoding,
        salt: salt.to_vec(),
        id: 3,
        iterations,
        len: md.size(),
    }
}

/// HMAC-`md` of `data` with `key`.
pub fn hmac(md: MessageDigest, key: &[u8], data: &[u8]) -> Result<Vec<u8>, P12Error> {
    let build = |e: openssl::error::ErrorStack| P12Error::Unsupported {
        detail: super::first_reason(&e),
    };
    let pkey = openssl::pkey::PKey::hmac(key).map_err(build)?;
    let mut signer = openssl::sign::Signer::new(md, &pkey).map_err(build)?;
    signer.update(data).map_err(build)?;
    signer.sign_to_vec().map_err(build)
}

/// Pays for (unless `memo` has it) and checks the MAC over `data`.
#[allow(clippy::too_many_arguments)]
pub fn mac_matches(
    md: MessageDigest,
    password: &Password,
    encoding: Encoding,
    salt: &[u8],
    iterations: u64,
    data: &[u8],
    expected: &[u8],
    memo: &mut Memo,
) -> Result<bool, P12Error> {
    let key = memo.derive(&mac_derivation(md, encoding, salt, iterations), password)?;
    let mac = hmac(md, &key, data)?;
    Ok(subtle::ConstantTimeEq::ct_eq(&mac[..], expected).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pbes2_decrypts_an_openssl_pkcs8_key() {
        let pw = Password::new("Brest 1987 ÿ".into()).unwrap();
        let rsa = openssl::rsa::Rsa::generate(1024).unwrap();
        let key = openssl::pkey::PKey::from_rsa(rsa).unwrap();
        let der = key
            .private_key_to_pkcs8_passphrase(
                openssl::symm::Cipher::des_ede3_cbc(),
                pw.expose().as_bytes(),
            )
            .unwrap();
        let node = ber::read_one(&der).unwrap();
        let scheme = Scheme::read(&node.child(0, "alg").unwrap()).unwrap();
        let data = node.child(1, "data").unwrap().octets().unwrap();
        let mut memo = Memo::new();
        let plain = scheme
            .decrypt(&data, &pw, Encoding::Bmp, &mut memo)
            .unwrap()
            .unwrap();
        let back = openssl::pkey::PKey::private_key_from_pkcs8(&plain).unwrap();
        assert!(back.public_eq(&key));
        assert!(memo.budget.left < BUDGET);
    }

    #[test]
    fn a_derivation_asked_twice_runs_and_is_paid_once() {
        let pw = Password::new("Brest 1987".into()).unwrap();
        let d = |salt: &[u8]| Derivation::Pbkdf2 {
            prf: openssl::nid::Nid::SHA256,
            salt: salt.to_vec(),
            iterations: 1000,
            len: 32,
        };
        let mut memo = Memo::new();
        let (a, b) = (d(b"salt-one"), d(b"salt-two"));
        assert_eq!(memo.price([&a, &a, &b]), 2 * a.cost());
        let before = derivations_run();
        let first = memo.derive(&a, &pw).unwrap();
        let again = memo.derive(&a, &pw).unwrap();
        assert_eq!(first, again);
        assert_eq!(derivations_run() - before, 1);
        assert_eq!(memo.budget.left, BUDGET - a.cost());
        assert_eq!(memo.price([&a, &b]), b.cost());
        // Another salt, or another encoding of the password, is another derivation.
        memo.derive(&b, &pw).unwrap();
        assert_eq!(derivations_run() - before, 2);
        let mac = |encoding| mac_derivation(MessageDigest::sha1(), encoding, b"s", 10);
        assert_eq!(
            memo.price([&mac(Encoding::Bmp), &mac(Encoding::Absent)]),
            2 * mac(Encoding::Bmp).cost()
        );
        assert_eq!(memo.computed(), 2);
    }

    #[test]
    fn budget_refuses_before_spending() {
        let mut b = Budget::new();
        assert!(b.spend(BUDGET - 1).is_ok());
        assert!(matches!(b.spend(2), Err(P12Error::TooMuchWork { .. })));
        assert!(b.spend(1).is_ok());
    }
}
