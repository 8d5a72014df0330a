//! The revoked-serials index stored beside a cached CRL, so that checking a
//! certificate never parses or verifies the CRL again.
//!
//! Layout (little-endian), see docs/formats.md:
//!
//! ```text
//! magic "CSCRLIX3" | crl_sha256[32] | ca_sha256[32] | this_update i64 |
//! next_update i64 | count u64 | width u8 | flags u8 | scope_len u32 |
//! reserved[2] | scope[scope_len] (per IDP URI: len u16, bytes) |
//! number_len u8 | number[number_len] | base_len u8 | base[base_len] |
//! count × record(len u8, serial[width], revoked_at i64, reason u8) |
//! HMAC-SHA256[32] over everything before it
//! ```
//!
//! `number` is the CRL number and `base` the `DeltaCRLIndicator` of a delta
//! CRL (big-endian digits, no sign octet; length 0: absent). Version 2
//! (`CSCRLIX2`, no number block) is still read, with no number.
//!
//! Serials are the exact INTEGER content octets (sign kept). Records are
//! sorted by (length, serial bytes), so a lookup is a binary search; a
//! serial listed twice keeps its gravest entry. Everything a verdict
//! depends on (dates, scope flags, the partition's URIs) is in the index,
//! under the HMAC: `meta.json` only describes. The HMAC key is a per-home
//! secret (`DATA/crl-index.key`): a truncated, edited, foreign or
//! older-format index is refused, and the cached CRL is verified again.

use std::cmp::Ordering;
use std::path::Path;

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

use super::parse::{Entry, NO_REASON, severity};

const MAGIC: &[u8; 8] = b"CSCRLIX3";
const MAGIC_V2: &[u8; 8] = b"CSCRLIX2";
const HEADER: usize = 8 + 32 + 32 + 8 + 8 + 8 + 1 + 1 + 4 + 2;
/// Largest index file read (a million 20-octet serials take about 30 MB).
pub const MAX_INDEX_BYTES: u64 = 1 << 30;
const MAC: usize = 32;

/// Flag: the CRL covers only end-entity certificates.
pub const FLAG_ONLY_USER: u8 = 1;
/// Flag: the CRL covers only CA certificates.
pub const FLAG_ONLY_CA: u8 = 2;
/// The CRL covers only certificates naming one of its IDP distribution
/// points ([`Header::scope`]).
pub const FLAG_PARTITIONED: u8 = 4;
/// The index is a delta CRL's ([`Header::base_number`] is its
/// `DeltaCRLIndicator`).
pub const FLAG_DELTA: u8 = 8;

/// What the index says about the CRL it was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// SHA-256 of the CRL's DER.
    pub crl_sha256: [u8; 32],
    /// SHA-256 fingerprint of the CA that signed it.
    pub ca_sha256: [u8; 32],
    /// `thisUpdate`, Unix seconds.
    pub this_update: i64,
    /// `nextUpdate`, Unix seconds.
    pub next_update: i64,
    /// Scope flags ([`FLAG_ONLY_USER`], [`FLAG_ONLY_CA`], [`FLAG_PARTITIONED`]).
    pub flags: u8,
    /// The issuing distribution point URIs of a partitioned CRL (empty:
    /// the CRL covers every certificate of its issuer).
    pub scope: Vec<String>,
    /// The CRL number (digits, no sign octet), when the CRL has one.
    pub number: Option<Vec<u8>>,
    /// A delta CRL's `DeltaCRLIndicator`: the number of the base it applies to.
    pub base_number: Option<Vec<u8>>,
}

/// Why an index cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// No index file.
    #[error("no index")]
    Missing,
    /// Wrong size, magic or HMAC.
    #[error("{0}")]
    Damaged(&'static str),
}

/// A loaded, authenticated index.
#[derive(Debug, Clone)]
pub struct Index {
    /// Its header.
    pub header: Header,
    width: usize,
    count: usize,
    records: Vec<u8>,
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let pkey = PKey::hmac(key)?;
    let mut signer = Signer::new(MessageDigest::sha256(), &pkey)?;
    for p in parts {
        signer.update(p)?;
    }
    signer.sign_to_vec()
}

fn cmp_serial(a: &[u8], b: &[u8]) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Builds the index file's bytes from the entries (sorted here; a serial
/// listed more than once keeps its gravest entry, see [`severity`]).
pub fn build(
    header: &Header,
    entries: &mut Vec<Entry<'_>>,
    key: &[u8],
) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    // Gravest first within a serial, then the earliest date: the outcome
    // does not depend on the order of the CRL's entries.
    entries.sort_unstable_by(|a, b| {
        cmp_serial(a.serial, b.serial)
            .then_with(|| severity(b.reason).cmp(&severity(a.reason)))
            .then_with(|| a.revoked_at.cmp(&b.revoked_at))
            .then_with(|| a.reason.cmp(&b.reason))
    });
    entries.dedup_by(|later, first| later.serial == first.serial);
    let mut scope = Vec::new();
    for uri in &header.scope {
        let bytes = uri.as_bytes();
        let bytes = &bytes[..bytes.len().min(usize::from(u16::MAX))];
        scope.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_le_bytes());
        scope.extend_from_slice(bytes);
    }
    let width = entries.iter().map(|e| e.serial.len()).max().unwrap_or(1);
    let rec = 1 + width + 8 + 1;
    let mut out = Vec::with_capacity(HEADER + scope.len() + entries.len() * rec + MAC);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&header.crl_sha256);
    out.extend_from_slice(&header.ca_sha256);
    out.extend_from_slice(&header.this_update.to_le_bytes());
    out.extend_from_slice(&header.next_update.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    out.push(u8::try_from(width).unwrap_or(u8::MAX));
    out.push(header.flags);
    out.extend_from_slice(&u32::try_from(scope.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&[0u8; 2]);
    out.extend_from_slice(&scope);
    for n in [&header.number, &header.base_number] {
        let digits = n.as_deref().unwrap_or_default();
        let digits = &digits[..digits.len().min(usize::from(u8::MAX))];
        out.push(u8::try_from(digits.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(digits);
    }
    for e in entries.iter() {
        out.push(u8::try_from(e.serial.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(e.serial);
        out.resize(out.len() + width - e.serial.len(), 0);
        out.extend_from_slice(&e.revoked_at.to_le_bytes());
        out.push(e.reason);
    }
    let mac = hmac(key, &[&out])?;
    out.extend_from_slice(&mac);
    Ok(out)
}

fn read_scope(mut raw: &[u8]) -> Result<Vec<String>, IndexError> {
    let mut out = Vec::new();
    while !raw.is_empty() {
        if raw.len() < 2 {
            return Err(IndexError::Damaged("bad scope"));
        }
        let len = usize::from(u16::from_le_bytes([raw[0], raw[1]]));
        let uri = raw
            .get(2..2 + len)
            .ok_or(IndexError::Damaged("bad scope"))?;
        out.push(String::from_utf8_lossy(uri).into_owned());
        raw = &raw[2 + len..];
    }
    Ok(out)
}

fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[..N]);
    a
}

impl Index {
    /// Reads and authenticates the index at `path`.
    pub fn load(path: &Path, key: &[u8]) -> Result<Self, IndexError> {
        let bytes = match crate::domain::fsutil::read_limited(path, MAX_INDEX_BYTES) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(IndexError::Missing),
            Err(_) => return Err(IndexError::Damaged("unreadable")),
        };
        Self::from_bytes(bytes, key)
    }

    /// Authenticates and opens index bytes.
    pub fn from_bytes(mut bytes: Vec<u8>, key: &[u8]) -> Result<Self, IndexError> {
        if bytes.len() < HEADER + MAC || (&bytes[..8] != MAGIC && &bytes[..8] != MAGIC_V2) {
            return Err(IndexError::Damaged("not an index"));
        }
        let v3 = &bytes[..8] == MAGIC;
        let body_len = bytes.len() - MAC;
        let expected =
            hmac(key, &[&bytes[..body_len]]).map_err(|_| IndexError::Damaged("HMAC failed"))?;
        if !openssl::memcmp::eq(&expected, &bytes[body_len..]) {
            return Err(IndexError::Damaged("authentication failed"));
        }
        let h = &bytes[..HEADER];
        let scope_len = usize::try_from(u32::from_le_bytes(array(&h[98..102])))
            .map_err(|_| IndexError::Damaged("bad scope"))?;
        let scope_end = HEADER
            .checked_add(scope_len)
            .filter(|&end| end <= body_len)
            .ok_or(IndexError::Damaged("bad scope"))?;
        let mut records_at = scope_end;
        let mut numbers = [None, None];
        if v3 {
            for n in &mut numbers {
                let len = usize::from(
                    *bytes
                        .get(records_at)
                        .filter(|_| records_at < body_len)
                        .ok_or(IndexError::Damaged("bad number"))?,
                );
                let digits = bytes
                    .get(records_at + 1..records_at + 1 + len)
                    .filter(|_| records_at + 1 + len <= body_len)
                    .ok_or(IndexError::Damaged("bad number"))?;
                *n = (len > 0).then(|| digits.to_vec());
                records_at += 1 + len;
            }
        }
        let [number, base_number] = numbers;
        let header = Header {
            crl_sha256: array(&h[8..40]),
            ca_sha256: array(&h[40..72]),
            this_update: i64::from_le_bytes(array(&h[72..80])),
            next_update: i64::from_le_bytes(array(&h[80..88])),
            flags: h[97],
            scope: read_scope(&bytes[HEADER..scope_end])?,
            number,
            base_number,
        };
        let count = usize::try_from(u64::from_le_bytes(array(&h[88..96])))
            .map_err(|_| IndexError::Damaged("bad count"))?;
        let width = usize::from(h[96]);
        let rec = 1 + width + 8 + 1;
        if width == 0 || count.checked_mul(rec) != Some(body_len - records_at) {
            return Err(IndexError::Damaged("bad size"));
        }
        bytes.truncate(body_len);
        bytes.drain(..records_at);
        Ok(Self {
            header,
            width,
            count,
            records: bytes,
        })
    }

    /// Number of revoked serials.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no serial is revoked.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn record(&self, i: usize) -> (&[u8], i64, u8) {
        let rec = 1 + self.width + 8 + 1;
        let r = &self.records[i * rec..(i + 1) * rec];
        let len = usize::from(r[0]).min(self.width);
        let at = i64::from_le_bytes(array(&r[1 + self.width..9 + self.width]));
        (&r[1..=len], at, r[9 + self.width])
    }

    /// The revocation of `serial` (a serial key), if listed: date (Unix
    /// seconds) and reason code (None when the entry has none).
    pub fn lookup(&self, serial: &[u8]) -> Option<(i64, Option<u8>)> {
        let (mut lo, mut hi) = (0usize, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (s, at, reason) = self.record(mid);
            match cmp_serial(s, serial) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => {
                    return Some((at, (reason != NO_REASON).then_some(reason)));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REASON_HOLD_FOR_TEST: u8 = super::super::parse::REASON_HOLD;

    fn header() -> Header {
        Header {
            crl_sha256: [1; 32],
            ca_sha256: [2; 32],
            this_update: 1_700_000_000,
            next_update: 1_700_600_000,
            flags: 0,
            scope: Vec::new(),
            number: Some(vec![0x01, 0x00]),
            base_number: None,
        }
    }

    #[test]
    fn lookup_finds_every_serial_and_nothing_else() {
        let serials: Vec<Vec<u8>> = (1u32..2000)
            .map(|i| {
                // Minimal two's complement of a positive number.
                let b = (i * 7919).to_be_bytes();
                let first = b.iter().position(|x| *x != 0).unwrap_or(3);
                let mut v = b[first..].to_vec();
                if v[0] & 0x80 != 0 {
                    v.insert(0, 0);
                }
                v
            })
            .collect();
        let mut entries: Vec<Entry<'_>> = serials
            .iter()
            .enumerate()
            .map(|(i, s)| Entry {
                serial: s,
                revoked_at: i64::try_from(i).unwrap(),
                reason: if i % 3 == 0 { NO_REASON } else { 1 },
            })
            .collect();
        let bytes = build(&header(), &mut entries, b"key").unwrap();
        let idx = Index::from_bytes(bytes, b"key").unwrap();
        assert_eq!(idx.len(), 1999);
        for (i, s) in serials.iter().enumerate() {
            let (at, reason) = idx.lookup(s).unwrap();
            assert_eq!(at, i64::try_from(i).unwrap());
            assert_eq!(reason, if i % 3 == 0 { None } else { Some(1) });
        }
        assert!(idx.lookup(&[0]).is_none());
        assert!(idx.lookup(&[0xff, 0xff, 0xff, 0xff, 0xff]).is_none());
    }

    #[test]
    fn tampering_and_truncation_are_refused() {
        let s = [5u8, 6, 7];
        let mut entries = vec![Entry {
            serial: &s,
            revoked_at: 1,
            reason: 1,
        }];
        let bytes = build(&header(), &mut entries, b"key").unwrap();
        assert!(Index::from_bytes(bytes.clone(), b"other key").is_err());
        let mut flipped = bytes.clone();
        flipped[HEADER + 2] ^= 1;
        assert!(Index::from_bytes(flipped, b"key").is_err());
        let short = bytes[..bytes.len() - 1].to_vec();
        assert!(Index::from_bytes(short, b"key").is_err());
        assert!(Index::from_bytes(bytes, b"key").is_ok());
    }

    fn one(serial: &[u8], at: i64, reason: u8) -> Entry<'_> {
        Entry {
            serial,
            revoked_at: at,
            reason,
        }
    }

    #[test]
    fn a_serial_listed_twice_keeps_its_gravest_entry_in_either_order() {
        let s = [0x42u8];
        let cases: &[(u8, u8, u8)] = &[
            (4, 1, 1),                    // superseded vs keyCompromise
            (4, 2, 2),                    // superseded vs cACompromise
            (REASON_HOLD_FOR_TEST, 4, 4), // a hold vs a definitive revocation
            (REASON_HOLD_FOR_TEST, NO_REASON, NO_REASON),
            (0, 10, 10), // unspecified vs aACompromise
        ];
        for &(a, b, want) in cases {
            for order in [[a, b], [b, a]] {
                let mut entries = vec![one(&s, 100, order[0]), one(&s, 200, order[1])];
                let bytes = build(&header(), &mut entries, b"key").unwrap();
                let idx = Index::from_bytes(bytes, b"key").unwrap();
                assert_eq!(idx.len(), 1);
                let (_, reason) = idx.lookup(&s).unwrap();
                assert_eq!(
                    reason,
                    (want != NO_REASON).then_some(want),
                    "{a} and {b}, in the order {order:?}"
                );
            }
        }
    }

    #[test]
    fn a_negative_serial_is_not_its_positive_twin() {
        let minus_one = [0xffu8];
        let mut entries = vec![one(&minus_one, 1, 1)];
        let bytes = build(&header(), &mut entries, b"key").unwrap();
        let idx = Index::from_bytes(bytes, b"key").unwrap();
        assert!(idx.lookup(&[0x00, 0xff]).is_none());
        assert!(idx.lookup(&[0xff]).is_some());
    }

    #[test]
    fn the_partition_scope_is_authenticated() {
        let mut h = header();
        h.flags = FLAG_PARTITIONED;
        h.scope = vec!["http://a.example/p1.crl".into(), "-".into()];
        let s = [7u8];
        let bytes = build(&h, &mut vec![one(&s, 1, 1)], b"key").unwrap();
        let idx = Index::from_bytes(bytes.clone(), b"key").unwrap();
        assert_eq!(idx.header, h);
        assert!(idx.lookup(&s).is_some());
        // Any edit of the scope breaks the HMAC.
        let at = bytes.windows(2).position(|w| w == b"p1").unwrap();
        let mut edited = bytes;
        edited[at + 1] = b'2';
        assert!(Index::from_bytes(edited, b"key").is_err());
    }

    #[test]
    fn the_crl_numbers_are_authenticated_and_v2_still_reads() {
        let mut h = header();
        h.flags = FLAG_DELTA;
        h.number = Some(vec![0x2a]);
        h.base_number = Some(vec![0x29]);
        let s = [7u8];
        let bytes = build(&h, &mut vec![one(&s, 1, 8)], b"key").unwrap();
        let idx = Index::from_bytes(bytes.clone(), b"key").unwrap();
        assert_eq!(idx.header, h);
        assert_eq!(idx.lookup(&s), Some((1, Some(8))));
        // Any edit of a number breaks the HMAC.
        let at = HEADER + 1;
        let mut edited = bytes;
        edited[at] = 0x7f;
        assert!(Index::from_bytes(edited, b"key").is_err());

        // A version 2 index (no number block) is still read, without numbers.
        let mut v2 = header();
        v2.number = None;
        let v3 = build(&v2, &mut vec![one(&s, 1, 1)], b"key").unwrap();
        let mut body = v3[..v3.len() - MAC].to_vec();
        body[..8].copy_from_slice(MAGIC_V2);
        body.drain(HEADER..HEADER + 2); // the two empty number lengths
        let mac = hmac(b"key", &[&body]).unwrap();
        body.extend_from_slice(&mac);
        let idx = Index::from_bytes(body, b"key").unwrap();
        assert_eq!(idx.header, v2);
        assert_eq!(idx.lookup(&s), Some((1, Some(1))));
    }
}
