//! Reading and accepting a CRL without OpenSSL's full `X509_CRL` parse: the
//! signature is verified over the raw `TBSCertList` bytes, and the revoked
//! entries are walked in place with the BER reader. A million entries cost
//! one pass and no per-entry allocation, where OpenSSL allocates several
//! objects per entry.

use std::borrow::Cow;

use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Public};
use openssl::sign::Verifier;
use openssl::x509::X509Name;

use super::{Rejection, UnsupportedCrl};
use crate::domain::ber::{self, Node, tag};
use crate::domain::certext::{self, KU_CRL_SIGN, serial_key, time_of};
use crate::domain::trust::TrustedCa;

/// Allowed clock skew for `thisUpdate` in the future (5 minutes).
pub const SKEW_SECONDS: i64 = 300;
/// Longest serial number kept in an index (RFC 5280 allows 20 octets).
pub const MAX_SERIAL: usize = 64;

const OID_CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14]; // 2.5.29.20
const OID_DELTA: &[u8] = &[0x55, 0x1d, 0x1b]; // 2.5.29.27
const OID_IDP: &[u8] = &[0x55, 0x1d, 0x1c]; // 2.5.29.28
const OID_AKI: &[u8] = &[0x55, 0x1d, 0x23]; // 2.5.29.35
const OID_ISSUER_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x12]; // 2.5.29.18
const OID_FRESHEST: &[u8] = &[0x55, 0x1d, 0x2e]; // 2.5.29.46
const OID_EXPIRED_ON_CRL: &[u8] = &[0x55, 0x1d, 0x3c]; // 2.5.29.60
const OID_AIA: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01]; // 1.3.6.1.5.5.7.1.1
const OID_REASON: &[u8] = &[0x55, 0x1d, 0x15]; // 2.5.29.21
const OID_INVALIDITY_DATE: &[u8] = &[0x55, 0x1d, 0x18]; // 2.5.29.24
const OID_CERT_ISSUER: &[u8] = &[0x55, 0x1d, 0x1d]; // 2.5.29.29

/// Reason code stored when an entry has none.
pub const NO_REASON: u8 = 0xff;
/// `certificateHold`.
pub const REASON_HOLD: u8 = 6;
/// `removeFromCRL` (delta CRLs only).
pub const REASON_REMOVE: u8 = 8;

/// How grave a reason code is, for a serial listed more than once: the
/// gravest entry is the one that counts. A hold (temporary) is below every
/// definitive revocation; a compromise (key, CA, AA) is above every other
/// reason, since it says signatures made with the key may be forged.
pub fn severity(reason: u8) -> u8 {
    match reason {
        REASON_HOLD => 0,
        3..=5 => 2,      // affiliationChanged, superseded, cessationOfOperation
        9 => 3,          // privilegeWithdrawn
        1 | 2 | 10 => 4, // keyCompromise, cACompromise, aACompromise
        _ => 1,          // unspecified, or no reason given
    }
}

/// The parts of a CRL, borrowed from its DER.
#[derive(Debug, Clone)]
pub struct Parsed<'a> {
    /// The whole `TBSCertList` element (what the signature covers).
    pub tbs: &'a [u8],
    /// OID of the outer signature algorithm.
    pub sig_alg: String,
    /// The signature's bits.
    pub signature: &'a [u8],
    /// The issuer `Name` element.
    pub issuer: &'a [u8],
    /// `thisUpdate`, Unix seconds.
    pub this_update: i64,
    /// `nextUpdate`, Unix seconds.
    pub next_update: Option<i64>,
    /// The `revokedCertificates` SEQUENCE, when present.
    pub revoked: Option<Node<'a>>,
    /// CRL number, leading zeros removed.
    pub number: Option<Vec<u8>>,
    /// Issuing distribution point: only end-entity certificates.
    pub only_user: bool,
    /// Issuing distribution point: only CA certificates.
    pub only_ca: bool,
    /// Issuing distribution point names (URIs): the CRL covers only the
    /// certificates whose distribution points name one of them. Empty: the
    /// CRL covers every certificate of its issuer.
    pub idp_urls: Vec<String>,
    /// A delta CRL's `DeltaCRLIndicator` (the base CRL number it applies to,
    /// leading zeros removed); None for a complete CRL.
    pub delta_base: Option<Vec<u8>>,
    /// The Freshest CRL extension's URIs (where its delta CRLs are).
    pub freshest_urls: Vec<String>,
}

/// One revoked certificate, borrowed from the CRL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The serial's exact INTEGER content (see [`certext::serial_key`]).
    pub serial: &'a [u8],
    /// Revocation date, Unix seconds.
    pub revoked_at: i64,
    /// Reason code, or [`NO_REASON`].
    pub reason: u8,
}

fn malformed(e: &ber::BerError) -> Rejection {
    Rejection::Malformed {
        detail: e.to_string(),
    }
}

fn bad(what: &str) -> Rejection {
    Rejection::Malformed {
        detail: what.to_string(),
    }
}

/// DER bytes of a CRL given as DER or PEM (`-----BEGIN X509 CRL-----`).
pub fn decode(input: &[u8]) -> Result<Cow<'_, [u8]>, Rejection> {
    let start = b"-----BEGIN X509 CRL-----";
    let Some(pos) = input.windows(start.len()).position(|w| w == start) else {
        if input.first() == Some(&tag::SEQUENCE) {
            return Ok(Cow::Borrowed(input));
        }
        return Err(Rejection::NotACrl);
    };
    let body = &input[pos + start.len()..];
    let end = b"-----END X509 CRL-----";
    let stop = body
        .windows(end.len())
        .position(|w| w == end)
        .ok_or_else(|| bad("PEM without its END line"))?;
    let text: String = body[..stop]
        .iter()
        .filter(|c| !c.is_ascii_whitespace())
        .map(|c| char::from(*c))
        .collect();
    let der = openssl::base64::decode_block(&text).map_err(|_| bad("PEM with invalid base64"))?;
    Ok(Cow::Owned(der))
}

/// Parses the structure and the CRL extensions (no signature check yet).
pub fn parse(der: &[u8]) -> Result<Parsed<'_>, Rejection> {
    let outer = ber::read_one(der).map_err(|e| malformed(&e))?;
    if outer.tag != tag::SEQUENCE {
        return Err(Rejection::NotACrl);
    }
    let mut parts = outer.iter();
    let tbs_node = parts
        .next()
        .ok_or_else(|| bad("empty"))?
        .map_err(|e| malformed(&e))?;
    let tbs_raw = ber::raw_first(outer.content).map_err(|e| malformed(&e))?;
    let alg = parts
        .next()
        .ok_or_else(|| bad("no signature algorithm"))?
        .map_err(|e| malformed(&e))?;
    let sig = parts
        .next()
        .ok_or_else(|| bad("no signature"))?
        .map_err(|e| malformed(&e))?;
    if parts.next().is_some() || tbs_node.tag != tag::SEQUENCE || sig.tag != tag::BIT_STRING {
        return Err(Rejection::NotACrl);
    }
    let sig_alg = alg
        .iter()
        .next()
        .and_then(Result::ok)
        .and_then(|n| n.oid())
        .ok_or_else(|| bad("bad signature algorithm"))?;
    let signature = sig.content.get(1..).unwrap_or_default();

    let mut fields = tbs_node.iter();
    let mut next = || -> Result<(Node<'_>, &[u8]), Rejection> {
        fields
            .next_raw()
            .ok_or_else(|| bad("TBSCertList too short"))?
            .map_err(|e| malformed(&e))
    };
    let (mut field, _) = next()?;
    if field.tag == tag::INTEGER {
        if field.uint() != Some(1) {
            return Err(bad("unsupported CRL version"));
        }
        field = next()?.0;
    }
    // Inner signature algorithm: must be the outer one (RFC 5280 5.1.2.2).
    let inner_alg = field
        .iter()
        .next()
        .and_then(Result::ok)
        .and_then(|n| n.oid());
    if inner_alg.as_deref() != Some(sig_alg.as_str()) {
        return Err(bad("the two signature algorithms differ"));
    }
    let (issuer_node, issuer) = next()?;
    if issuer_node.tag != tag::SEQUENCE {
        return Err(bad("bad issuer"));
    }
    let this_update = time_of(&next()?.0).ok_or_else(|| bad("bad thisUpdate"))?;
    let mut parsed = Parsed {
        tbs: tbs_raw,
        sig_alg,
        signature,
        issuer,
        this_update,
        next_update: None,
        revoked: None,
        number: None,
        only_user: false,
        only_ca: false,
        idp_urls: Vec::new(),
        delta_base: None,
        freshest_urls: Vec::new(),
    };
    let mut rest = fields.map(|f| f.map_err(|e| malformed(&e))).peekable();
    if let Some(Ok(n)) = rest.peek() {
        if n.tag == tag::UTC_TIME || n.tag == tag::GENERALIZED_TIME {
            parsed.next_update = Some(time_of(n).ok_or_else(|| bad("bad nextUpdate"))?);
            rest.next();
        }
    }
    if let Some(Ok(n)) = rest.peek() {
        if n.tag == tag::SEQUENCE {
            parsed.revoked = Some(*n);
            rest.next();
        }
    }
    if let Some(n) = rest.next() {
        let n = n?;
        if n.tag != tag::CONTEXT_0 {
            return Err(bad("unexpected field in TBSCertList"));
        }
        let exts = n
            .iter()
            .next()
            .ok_or_else(|| bad("empty crlExtensions"))?
            .map_err(|e| malformed(&e))?;
        read_crl_extensions(&exts, &mut parsed)?;
    }
    if rest.next().is_some() {
        return Err(bad("trailing fields in TBSCertList"));
    }
    Ok(parsed)
}

fn ext_parts<'a>(ext: &Node<'a>) -> Result<(&'a [u8], bool, &'a [u8]), Rejection> {
    let mut parts = ext.iter();
    let oid = parts
        .next()
        .ok_or_else(|| bad("bad extension"))?
        .map_err(|e| malformed(&e))?;
    let mut v = parts
        .next()
        .ok_or_else(|| bad("bad extension"))?
        .map_err(|e| malformed(&e))?;
    let mut critical = false;
    if v.tag == tag::BOOLEAN {
        critical = v.content.first().is_some_and(|b| *b != 0);
        v = parts
            .next()
            .ok_or_else(|| bad("bad extension"))?
            .map_err(|e| malformed(&e))?;
    }
    if oid.tag != tag::OID || v.tag != tag::OCTET_STRING {
        return Err(bad("bad extension"));
    }
    Ok((oid.content, critical, v.content))
}

fn oid_text(raw: &[u8]) -> String {
    ber::read_one(&ber::der(tag::OID, raw))
        .ok()
        .and_then(|n| n.oid())
        .unwrap_or_else(|| hex::encode(raw))
}

fn read_crl_extensions<'a>(seq: &Node<'a>, parsed: &mut Parsed<'a>) -> Result<(), Rejection> {
    for ext in seq.iter() {
        let ext = ext.map_err(|e| malformed(&e))?;
        let (oid, critical, value) = ext_parts(&ext)?;
        match oid {
            OID_CRL_NUMBER => parsed.number = Some(read_number(value, "bad CRL number")?),
            OID_DELTA => {
                parsed.delta_base = Some(read_number(value, "bad delta CRL indicator")?);
            }
            OID_IDP => read_idp(value, parsed)?,
            OID_FRESHEST => parsed.freshest_urls = certext::distribution_point_uris(value),
            OID_AKI | OID_ISSUER_ALT_NAME | OID_EXPIRED_ON_CRL | OID_AIA => {}
            other if critical => {
                return Err(Rejection::UnknownCriticalExtension {
                    oid: oid_text(other),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// A non-negative INTEGER (CRL number, `DeltaCRLIndicator`), leading zeros
/// removed: stored without its sign octet.
fn read_number(value: &[u8], what: &str) -> Result<Vec<u8>, Rejection> {
    let n = ber::read_one(value).map_err(|e| malformed(&e))?;
    let minimal = serial_key(n.content).ok_or_else(|| bad(what))?;
    if n.tag != tag::INTEGER || minimal[0] & 0x80 != 0 {
        return Err(bad(what));
    }
    let digits = if minimal.len() > 1 && minimal[0] == 0 {
        &minimal[1..]
    } else {
        minimal
    };
    Ok(digits.to_vec())
}

/// Issuing distribution point: the scope flags are honoured; an indirect
/// CRL or one split by reasons is not supported (it would need more CRLs to
/// say a certificate is good).
fn read_idp(value: &[u8], parsed: &mut Parsed<'_>) -> Result<(), Rejection> {
    let idp = ber::read_one(value).map_err(|e| malformed(&e))?;
    for f in idp.iter() {
        let f = f.map_err(|e| malformed(&e))?;
        let on = f.content.first().is_some_and(|b| *b != 0);
        match f.tag {
            0xa0 => read_idp_names(&f, parsed)?,
            0x81 => parsed.only_user = on,
            0x82 => parsed.only_ca = on,
            0xa3 | 0x83 => {
                return Err(Rejection::Unsupported {
                    what: UnsupportedCrl::ByReasons,
                });
            }
            0x84 if on => {
                return Err(Rejection::Unsupported {
                    what: UnsupportedCrl::Indirect,
                });
            }
            0x85 if on => {
                return Err(Rejection::Unsupported {
                    what: UnsupportedCrl::AttributeCerts,
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// The `distributionPoint` of an IDP: its `fullName` URIs. A name relative
/// to the issuer cannot be matched and is refused; a full name without a URI
/// is kept as a name nothing matches (the CRL then vouches for nothing).
fn read_idp_names(dp: &Node<'_>, parsed: &mut Parsed<'_>) -> Result<(), Rejection> {
    for name in dp.iter() {
        let name = name.map_err(|e| malformed(&e))?;
        if name.tag != 0xa0 {
            return Err(Rejection::Unsupported {
                what: UnsupportedCrl::RelativeName,
            });
        }
        for general in name.iter() {
            let general = general.map_err(|e| malformed(&e))?;
            let uri = if general.tag == 0x86 {
                String::from_utf8_lossy(general.content).into_owned()
            } else {
                "-".into()
            };
            parsed.idp_urls.push(uri);
        }
    }
    if parsed.idp_urls.is_empty() {
        parsed.idp_urls.push("-".into());
    }
    Ok(())
}

/// Walks the revoked entries, calling `f` for each; stops at the first
/// malformed one or one this code cannot honour.
pub fn for_each_entry<'a>(
    parsed: &Parsed<'a>,
    mut f: impl FnMut(Entry<'a>),
) -> Result<u64, Rejection> {
    let Some(list) = parsed.revoked else {
        return Ok(0);
    };
    let mut count = 0u64;
    for entry in list.iter() {
        let entry = entry.map_err(|e| malformed(&e))?;
        let mut parts = entry.iter();
        let serial = parts
            .next()
            .ok_or_else(|| bad("empty revoked entry"))?
            .map_err(|e| malformed(&e))?;
        if serial.tag != tag::INTEGER {
            return Err(bad("bad serial number in a revoked entry"));
        }
        // The exact INTEGER (sign kept); a padded one is refused, as OpenSSL
        // refuses it, rather than guessed to equal some other number.
        let key = serial_key(serial.content)
            .ok_or_else(|| bad("serial number of a revoked entry not minimally encoded"))?;
        if key.len() > MAX_SERIAL {
            return Err(bad("serial number longer than 64 octets"));
        }
        let date = parts
            .next()
            .ok_or_else(|| bad("revoked entry without a date"))?
            .map_err(|e| malformed(&e))?;
        let revoked_at = time_of(&date).ok_or_else(|| bad("bad revocation date"))?;
        let mut reason = NO_REASON;
        if let Some(exts) = parts.next() {
            let exts = exts.map_err(|e| malformed(&e))?;
            for ext in exts.iter() {
                let ext = ext.map_err(|e| malformed(&e))?;
                let (oid, critical, value) = ext_parts(&ext)?;
                match oid {
                    OID_REASON => {
                        let n = ber::read_one(value).map_err(|e| malformed(&e))?;
                        if n.tag != tag::ENUMERATED || n.content.len() != 1 {
                            return Err(bad("bad reason code"));
                        }
                        reason = n.content[0];
                        // removeFromCRL only in a delta CRL; 7 is unused.
                        if (reason == REASON_REMOVE && parsed.delta_base.is_none())
                            || reason == 7
                            || reason > 10
                        {
                            return Err(bad("reason code not allowed in a full CRL"));
                        }
                    }
                    OID_INVALIDITY_DATE => {}
                    OID_CERT_ISSUER => {
                        return Err(Rejection::Unsupported {
                            what: UnsupportedCrl::Indirect,
                        });
                    }
                    other if critical => {
                        return Err(Rejection::UnknownCriticalExtension {
                            oid: oid_text(other),
                        });
                    }
                    _ => {}
                }
            }
        }
        if parts.next().is_some() {
            return Err(bad("trailing fields in a revoked entry"));
        }
        f(Entry {
            serial: key,
            revoked_at,
            reason,
        });
        count += 1;
    }
    Ok(count)
}

pub(crate) fn digest_of(oid: &str) -> Option<(Option<MessageDigest>, Id)> {
    Some(match oid {
        "1.2.840.113549.1.1.5" => (Some(MessageDigest::sha1()), Id::RSA),
        "1.2.840.113549.1.1.14" => (Some(MessageDigest::sha224()), Id::RSA),
        "1.2.840.113549.1.1.11" => (Some(MessageDigest::sha256()), Id::RSA),
        "1.2.840.113549.1.1.12" => (Some(MessageDigest::sha384()), Id::RSA),
        "1.2.840.113549.1.1.13" => (Some(MessageDigest::sha512()), Id::RSA),
        "1.2.840.10045.4.1" => (Some(MessageDigest::sha1()), Id::EC),
        "1.2.840.10045.4.3.1" => (Some(MessageDigest::sha224()), Id::EC),
        "1.2.840.10045.4.3.2" => (Some(MessageDigest::sha256()), Id::EC),
        "1.2.840.10045.4.3.3" => (Some(MessageDigest::sha384()), Id::EC),
        "1.2.840.10045.4.3.4" => (Some(MessageDigest::sha512()), Id::EC),
        "1.3.101.112" => (None, Id::ED25519),
        "1.3.101.113" => (None, Id::ED448),
        _ => return None,
    })
}

/// Whether `parsed` carries a valid signature by `key`.
pub fn signature_verifies(parsed: &Parsed<'_>, key: &PKey<Public>) -> Result<bool, Rejection> {
    let (digest, id) = digest_of(&parsed.sig_alg).ok_or(Rejection::Unsupported {
        what: UnsupportedCrl::SignatureAlgorithm,
    })?;
    if key.id() != id {
        return Ok(false);
    }
    let ok = match digest {
        Some(md) => Verifier::new(md, key)
            .and_then(|mut v| {
                v.update(parsed.tbs)?;
                v.verify(parsed.signature)
            })
            .unwrap_or(false),
        None => Verifier::new_without_digest(key)
            .and_then(|mut v| v.verify_oneshot(parsed.signature, parsed.tbs))
            .unwrap_or(false),
    };
    Ok(ok)
}

/// The imported CAs whose subject is the CRL's issuer.
pub fn issuer_candidates<'c>(parsed: &Parsed<'_>, cas: &'c [TrustedCa]) -> Vec<&'c TrustedCa> {
    let Ok(name) = X509Name::from_der(parsed.issuer) else {
        return Vec::new();
    };
    cas.iter()
        .filter(|ca| {
            ca.cert
                .subject_name()
                .try_cmp(&name)
                .is_ok_and(|o| o == std::cmp::Ordering::Equal)
        })
        .collect()
}

/// The issuer of a CRL on one line (for messages).
pub fn issuer_line(parsed: &Parsed<'_>) -> String {
    X509Name::from_der(parsed.issuer)
        .map_or_else(|_| "?".into(), |n| crate::domain::identity::name_line(&n))
}

/// The CA that signed `parsed`, after every acceptance rule that does not
/// depend on the cache: a known issuer, a valid signature, cRLSign,
/// thisUpdate not in the future, nextUpdate present.
pub fn find_signer<'c>(
    parsed: &Parsed<'_>,
    cas: &'c [TrustedCa],
    now: i64,
) -> Result<&'c TrustedCa, Rejection> {
    let candidates = issuer_candidates(parsed, cas);
    if candidates.is_empty() {
        return Err(Rejection::UnknownIssuer {
            issuer: issuer_line(parsed),
        });
    }
    let mut signer = None;
    for ca in candidates {
        let Ok(key) = ca.cert.public_key() else {
            continue;
        };
        if signature_verifies(parsed, &key)? {
            signer = Some(ca);
            break;
        }
    }
    let ca = signer.ok_or_else(|| Rejection::BadSignature {
        issuer: issuer_line(parsed),
    })?;
    let facts = certext::facts(&ca.cert).map_err(|e| malformed(&e))?;
    if facts.key_usage.is_some_and(|ku| ku & KU_CRL_SIGN == 0) {
        return Err(Rejection::NoCrlSign {
            ca: ca.subject.clone(),
        });
    }
    if parsed.this_update > now + SKEW_SECONDS {
        return Err(Rejection::FutureThisUpdate {
            this_update: crate::domain::time::rfc3339(unix(parsed.this_update)),
        });
    }
    if parsed.next_update.is_none() {
        return Err(Rejection::NoNextUpdate);
    }
    Ok(ca)
}

/// Unix seconds as a date.
pub fn unix(t: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(t).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// Compares two CRL numbers (leading zeros removed): by length, then bytes.
pub fn cmp_number(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}
