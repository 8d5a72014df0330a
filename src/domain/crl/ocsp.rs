//! OCSP (RFC 6960): asking a certificate's responder whether it is revoked.
//!
//! The request is written and the response read with certsafe's own DER
//! writer and BER reader (`domain::ber`), not with the openssl crate's `ocsp`
//! module: the crate cannot add a nonce, its `find_status` copied the cert
//! status into the revocation reason in older releases, and its deprecated
//! `next_update` field turns a missing nextUpdate into "valid until 9999".
//! Reading the fields ourselves makes each acceptance rule explicit; the
//! signature is checked with `openssl::sign::Verifier`.
//!
//! An answer counts only when every rule holds (see [`verify`]); anything
//! else is an [`OcspCode`] and never makes a certificate `good`.

use std::path::PathBuf;

use openssl::hash::{MessageDigest, hash};
use openssl::pkey::{PKey, Public};
use openssl::sign::Verifier;
use openssl::x509::{X509, X509Ref};
use serde::Serialize;
use time::OffsetDateTime;

use super::check::Reason;
use super::fetch::{FetchError, HttpFetcher, Limits};
use crate::domain::ber::{self, Node, der, der_oid, tag};
use crate::domain::certext::{read_extensions, time_of};
use crate::domain::fsutil::{create_private_dir, read_limited, write_atomic_mode};
use crate::domain::identity::signed_by;
use crate::domain::time::asn1_to_datetime;

/// Largest OCSP answer read (a response with a responder certificate is a
/// few KiB).
pub const MAX_RESPONSE: u64 = 256 << 10;
/// Clock skew tolerated on thisUpdate and nextUpdate.
pub const SKEW_SECS: i64 = 300;
/// How long an answer without nextUpdate counts after its thisUpdate: RFC
/// 5019 says such a responder always has newer information, so it is used
/// for this one check and cached only this long.
pub const NO_NEXT_UPDATE_SECS: i64 = 900;
/// Longest time an answer is kept in the cache, whatever its nextUpdate.
pub const MAX_CACHE_SECS: i64 = 7 * 86_400;
/// Total time for one OCSP exchange.
pub const MAX_EXCHANGE_SECS: u64 = 30;

const OID_BASIC: &str = "1.3.6.1.5.5.7.48.1.1";
const OID_NONCE: &str = "1.3.6.1.5.5.7.48.1.2";
const OID_EKU: &str = "2.5.29.37";
const OID_OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";
const OID_SHA1: &str = "1.3.14.3.2.26";
const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_SHA384: &str = "2.16.840.1.101.3.4.2.2";
const OID_SHA512: &str = "2.16.840.1.101.3.4.2.3";

/// Why an OCSP answer does not count (the JSON `code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum OcspCode {
    /// The responder could not be reached or answered HTTP ≠ 200.
    Unreachable,
    /// The answer cannot be read.
    Malformed,
    /// responseStatus malformedRequest (1).
    MalformedRequest,
    /// responseStatus internalError (2).
    InternalError,
    /// responseStatus tryLater (3).
    TryLater,
    /// responseStatus sigRequired (5).
    SigRequired,
    /// responseStatus unauthorized (6).
    Unauthorized,
    /// Not a basic response.
    NotBasic,
    /// A signature or hash algorithm certsafe does not check.
    UnsupportedAlgorithm,
    /// Signed by nobody certsafe can name: no signature verifies.
    BadSignature,
    /// Signed by a responder the issuing CA did not issue.
    RogueResponder,
    /// Signed by a certificate of the CA without the `OCSPSigning` EKU.
    ResponderNotAuthorized,
    /// The delegated responder's certificate is expired or not yet valid.
    ResponderNotValid,
    /// No answer for this certificate in the response.
    WrongCertificate,
    /// thisUpdate in the future (beyond the skew).
    Future,
    /// nextUpdate passed (or, without one, thisUpdate too old).
    Stale,
    /// The nonce in the answer is not the one sent.
    NonceMismatch,
}

impl OcspCode {
    /// The JSON word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::Malformed => "malformed",
            Self::MalformedRequest => "malformed_request",
            Self::InternalError => "internal_error",
            Self::TryLater => "try_later",
            Self::SigRequired => "sig_required",
            Self::Unauthorized => "unauthorized",
            Self::NotBasic => "not_basic",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::BadSignature => "bad_signature",
            Self::RogueResponder => "rogue_responder",
            Self::ResponderNotAuthorized => "responder_not_authorized",
            Self::ResponderNotValid => "responder_not_valid",
            Self::WrongCertificate => "wrong_certificate",
            Self::Future => "future",
            Self::Stale => "stale",
            Self::NonceMismatch => "nonce_mismatch",
        }
    }
}

/// What the responder said (the JSON `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum OcspStatus {
    /// Not revoked.
    Good,
    /// Revoked.
    Revoked,
    /// The responder does not know the certificate.
    Unknown,
    /// No answer that counts (see `code`).
    Error,
}

impl OcspStatus {
    /// The JSON word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Revoked => "revoked",
            Self::Unknown => "unknown",
            Self::Error => "error",
        }
    }
}

/// Whether the answer carried our nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum NonceState {
    /// The nonce sent came back.
    Checked,
    /// The answer had none (a pre-signed answer: tolerated, noted).
    Absent,
}

/// The outcome of asking (or of the cache), for `check`'s `ocsp` object.
#[derive(Debug, Clone, Serialize)]
pub struct OcspAnswer {
    /// The responder's address.
    pub url: String,
    /// What it said.
    pub status: OcspStatus,
    /// Why it does not count, when `status` is `error`.
    pub code: Option<OcspCode>,
    /// The download error, when `code` is `unreachable`.
    pub fetch: Option<FetchError>,
    /// thisUpdate of the answer.
    #[serde(with = "time::serde::rfc3339::option")]
    pub this_update: Option<OffsetDateTime>,
    /// nextUpdate of the answer (absent: valid for 15 minutes).
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_update: Option<OffsetDateTime>,
    /// Whether the nonce was checked.
    pub nonce: Option<NonceState>,
    /// When revoked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// Why revoked (read from the answer's own `revocationReason`).
    pub reason: Option<Reason>,
    /// Whether it came from the cache.
    pub cached: bool,
}

impl OcspAnswer {
    fn error(url: &str, code: OcspCode) -> Self {
        Self {
            url: url.to_string(),
            status: OcspStatus::Error,
            code: Some(code),
            fetch: None,
            this_update: None,
            next_update: None,
            nonce: None,
            revoked_at: None,
            reason: None,
            cached: false,
        }
    }

    fn of(url: &str, v: &Verified, cached: bool) -> Self {
        let (status, revoked_at, reason) = match v.status {
            CertStatus::Good => (OcspStatus::Good, None, None),
            CertStatus::Unknown => (OcspStatus::Unknown, None, None),
            CertStatus::Revoked { at, reason } => (
                OcspStatus::Revoked,
                OffsetDateTime::from_unix_timestamp(at).ok(),
                reason.and_then(Reason::from_code),
            ),
        };
        Self {
            url: url.to_string(),
            status,
            code: None,
            fetch: None,
            this_update: OffsetDateTime::from_unix_timestamp(v.this_update).ok(),
            next_update: v
                .next_update
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()),
            nonce: Some(v.nonce),
            revoked_at,
            reason,
            cached,
        }
    }
}

/// The OCSP responder addresses (`http://`, `https://`) of a certificate's
/// Authority Information Access extension.
pub fn urls(cert: &X509Ref) -> Vec<String> {
    let Ok(list) = cert.ocsp_responders() else {
        return Vec::new();
    };
    list.iter()
        .map(ToString::to_string)
        .filter(|u| {
            let l = u.to_ascii_lowercase();
            l.starts_with("http://") || l.starts_with("https://")
        })
        .collect()
}

/// The certificate ID of RFC 6960 §4.1.1: hashes of the issuer's name and
/// key, and the serial's INTEGER content octets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertId {
    /// The hash algorithm's OID.
    pub hash_oid: String,
    /// Hash of the issuer's DER subject name.
    pub name_hash: Vec<u8>,
    /// Hash of the issuer's public key BIT STRING value.
    pub key_hash: Vec<u8>,
    /// The serial number's content octets.
    pub serial: Vec<u8>,
}

fn digest_for(oid: &str) -> Option<MessageDigest> {
    Some(match oid {
        OID_SHA1 => MessageDigest::sha1(),
        OID_SHA256 => MessageDigest::sha256(),
        OID_SHA384 => MessageDigest::sha384(),
        OID_SHA512 => MessageDigest::sha512(),
        _ => return None,
    })
}

/// The subjectPublicKey bits of a certificate (what issuerKeyHash and the
/// byKey responder ID hash).
fn key_bits(cert: &X509Ref) -> Option<Vec<u8>> {
    let spki = cert.public_key().ok()?.public_key_to_der().ok()?;
    let node = ber::read_one(&spki).ok()?;
    let bits = node.iter().nth(1)?.ok()?;
    (bits.tag == tag::BIT_STRING)
        .then(|| bits.content.get(1..).map(<[u8]>::to_vec))
        .flatten()
}

impl CertId {
    /// The ID of the certificate with serial `serial` issued by `issuer`.
    pub fn new(hash_oid: &str, serial: &[u8], issuer: &X509Ref) -> Option<Self> {
        let md = digest_for(hash_oid)?;
        let name = issuer.subject_name().to_der().ok()?;
        Some(Self {
            hash_oid: hash_oid.to_string(),
            name_hash: hash(md, &name).ok()?.to_vec(),
            key_hash: hash(md, &key_bits(issuer)?).ok()?.to_vec(),
            serial: serial.to_vec(),
        })
    }

    fn to_der(&self) -> Vec<u8> {
        let mut alg = der_oid(&self.hash_oid);
        alg.extend(der(0x05, &[]));
        let mut c = der(tag::SEQUENCE, &alg);
        c.extend(der(tag::OCTET_STRING, &self.name_hash));
        c.extend(der(tag::OCTET_STRING, &self.key_hash));
        c.extend(der(tag::INTEGER, &self.serial));
        der(tag::SEQUENCE, &c)
    }
}

/// An unsigned `OCSPRequest` for `id`, with a nonce extension when given.
pub fn request(id: &CertId, nonce: Option<&[u8]>) -> Vec<u8> {
    let one = der(tag::SEQUENCE, &id.to_der());
    let mut tbs = der(tag::SEQUENCE, &one);
    if let Some(n) = nonce {
        let mut ext = der_oid(OID_NONCE);
        ext.extend(der(tag::OCTET_STRING, &der(tag::OCTET_STRING, n)));
        let exts = der(tag::SEQUENCE, &der(tag::SEQUENCE, &ext));
        tbs.extend(der(0xa2, &exts));
    }
    der(tag::SEQUENCE, &der(tag::SEQUENCE, &tbs))
}

/// A certificate's status in one `SingleResponse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    /// good
    Good,
    /// revoked, at (Unix seconds), with the reason code if given
    Revoked {
        /// revocationTime.
        at: i64,
        /// revocationReason.
        reason: Option<u8>,
    },
    /// unknown
    Unknown,
}

/// One `SingleResponse`.
#[derive(Debug, Clone)]
pub struct Single {
    /// Its certificate ID.
    pub id: CertId,
    /// The status.
    pub status: CertStatus,
    /// thisUpdate (Unix seconds).
    pub this_update: i64,
    /// nextUpdate if present.
    pub next_update: Option<i64>,
}

/// Who signed: `byName` (DER Name) or `byKey` (SHA-1 of the key bits).
#[derive(Debug, Clone)]
pub enum ResponderId<'a> {
    /// byName.
    Name(&'a [u8]),
    /// byKey.
    Key(&'a [u8]),
}

/// A successful basic response, read.
#[derive(Debug, Clone)]
pub struct Basic<'a> {
    /// The signed bytes (tbsResponseData, whole TLV).
    pub tbs: &'a [u8],
    /// The signature algorithm's OID.
    pub sig_alg: String,
    /// The signature.
    pub signature: &'a [u8],
    /// The responder.
    pub responder: ResponderId<'a>,
    /// The answers.
    pub singles: Vec<Single>,
    /// The nonce extension's value (its extnValue content), if any.
    pub nonce: Option<&'a [u8]>,
    /// The certificates sent with it (DER).
    pub certs: Vec<&'a [u8]>,
}

fn malformed(_: ber::BerError) -> OcspCode {
    OcspCode::Malformed
}

fn next<'a>(
    it: &mut impl Iterator<Item = Result<Node<'a>, ber::BerError>>,
) -> Result<Node<'a>, OcspCode> {
    it.next().ok_or(OcspCode::Malformed)?.map_err(malformed)
}

fn time(node: &Node<'_>) -> Result<i64, OcspCode> {
    time_of(node).ok_or(OcspCode::Malformed)
}

fn read_cert_id(node: &Node<'_>) -> Result<CertId, OcspCode> {
    let mut it = node.iter();
    let alg = next(&mut it)?;
    let hash_oid = next(&mut alg.iter())?.oid().ok_or(OcspCode::Malformed)?;
    let name_hash = next(&mut it)?;
    let key_hash = next(&mut it)?;
    let serial = next(&mut it)?;
    if name_hash.tag != tag::OCTET_STRING
        || key_hash.tag != tag::OCTET_STRING
        || serial.tag != tag::INTEGER
    {
        return Err(OcspCode::Malformed);
    }
    Ok(CertId {
        hash_oid,
        name_hash: name_hash.content.to_vec(),
        key_hash: key_hash.content.to_vec(),
        serial: serial.content.to_vec(),
    })
}

fn read_single(node: &Node<'_>) -> Result<Single, OcspCode> {
    let mut it = node.iter();
    let id = read_cert_id(&next(&mut it)?)?;
    let st = next(&mut it)?;
    let status = match st.tag {
        0x80 => CertStatus::Good,
        0x82 => CertStatus::Unknown,
        0xa1 => {
            // RevokedInfo: revocationTime, [0] EXPLICIT CRLReason OPTIONAL.
            let mut r = st.iter();
            let at = time(&next(&mut r)?)?;
            let reason = match r.next() {
                Some(n) => {
                    let n = n.map_err(malformed)?;
                    if n.tag != tag::CONTEXT_0 {
                        return Err(OcspCode::Malformed);
                    }
                    let e = next(&mut n.iter())?;
                    if e.tag != tag::ENUMERATED || e.content.len() != 1 {
                        return Err(OcspCode::Malformed);
                    }
                    Some(e.content[0])
                }
                None => None,
            };
            CertStatus::Revoked { at, reason }
        }
        _ => return Err(OcspCode::Malformed),
    };
    let this_update = time(&next(&mut it)?)?;
    let mut next_update = None;
    for n in it {
        let n = n.map_err(malformed)?;
        if n.tag == tag::CONTEXT_0 {
            next_update = Some(time(&next(&mut n.iter())?)?);
        }
    }
    Ok(Single {
        id,
        status,
        this_update,
        next_update,
    })
}

/// Reads an `OCSPResponse`: a successful basic response, or the code of its
/// status.
pub fn parse(der_bytes: &[u8]) -> Result<Basic<'_>, OcspCode> {
    let outer = ber::read_one(der_bytes).map_err(malformed)?;
    let mut it = outer.iter();
    let status = next(&mut it)?;
    if status.tag != tag::ENUMERATED || status.content.len() != 1 {
        return Err(OcspCode::Malformed);
    }
    match status.content[0] {
        0 => {}
        1 => return Err(OcspCode::MalformedRequest),
        2 => return Err(OcspCode::InternalError),
        3 => return Err(OcspCode::TryLater),
        5 => return Err(OcspCode::SigRequired),
        6 => return Err(OcspCode::Unauthorized),
        _ => return Err(OcspCode::Malformed),
    }
    let bytes = next(&mut it)?;
    if bytes.tag != tag::CONTEXT_0 {
        return Err(OcspCode::Malformed);
    }
    let rb = next(&mut bytes.iter())?;
    let mut rbi = rb.iter();
    if next(&mut rbi)?.oid().as_deref() != Some(OID_BASIC) {
        return Err(OcspCode::NotBasic);
    }
    let inner = next(&mut rbi)?;
    if inner.tag != tag::OCTET_STRING {
        return Err(OcspCode::Malformed);
    }
    let basic = ber::read_one(inner.content).map_err(malformed)?;
    let mut bi = basic.iter();
    let (tbs_node, tbs) = bi
        .next_raw()
        .ok_or(OcspCode::Malformed)?
        .map_err(malformed)?;
    let sig_alg = next(&mut next(&mut bi)?.iter())?
        .oid()
        .ok_or(OcspCode::Malformed)?;
    let sig = next(&mut bi)?;
    if sig.tag != tag::BIT_STRING || sig.content.first() != Some(&0) {
        return Err(OcspCode::Malformed);
    }
    let mut certs = Vec::new();
    if let Some(c) = bi.next() {
        let c = c.map_err(malformed)?;
        if c.tag == tag::CONTEXT_0 {
            let seq = next(&mut c.iter())?;
            let mut ci = seq.iter();
            while let Some(one) = ci.next_raw() {
                certs.push(one.map_err(malformed)?.1);
            }
        }
    }
    // ResponseData.
    let mut ti = tbs_node.iter();
    let mut field = next(&mut ti)?;
    if field.tag == tag::CONTEXT_0 {
        field = next(&mut ti)?; // version v1 only exists
    }
    let responder = match field.tag {
        0xa1 => {
            let name = field.iter().next_raw();
            ResponderId::Name(name.ok_or(OcspCode::Malformed)?.map_err(malformed)?.1)
        }
        0xa2 => {
            let k = next(&mut field.iter())?;
            if k.tag != tag::OCTET_STRING {
                return Err(OcspCode::Malformed);
            }
            ResponderId::Key(k.content)
        }
        _ => return Err(OcspCode::Malformed),
    };
    let _produced_at = time(&next(&mut ti)?)?;
    let mut singles = Vec::new();
    for s in next(&mut ti)?.iter() {
        singles.push(read_single(&s.map_err(malformed)?)?);
    }
    let mut nonce = None;
    for f in ti {
        let f = f.map_err(malformed)?;
        if f.tag == 0xa1 {
            let exts = next(&mut f.iter())?;
            for e in read_extensions(&exts).map_err(malformed)? {
                if e.oid == OID_NONCE {
                    nonce = Some(e.value);
                }
            }
        }
    }
    Ok(Basic {
        tbs,
        sig_alg,
        signature: &sig.content[1..],
        responder,
        singles,
        nonce,
        certs,
    })
}

fn signature_ok(b: &Basic<'_>, key: &PKey<Public>) -> Result<bool, OcspCode> {
    let (digest, id) = super::parse::digest_of(&b.sig_alg).ok_or(OcspCode::UnsupportedAlgorithm)?;
    if key.id() != id {
        return Ok(false);
    }
    Ok(match digest {
        Some(md) => Verifier::new(md, key)
            .and_then(|mut v| {
                v.update(b.tbs)?;
                v.verify(b.signature)
            })
            .unwrap_or(false),
        None => Verifier::new_without_digest(key)
            .and_then(|mut v| v.verify_oneshot(b.signature, b.tbs))
            .unwrap_or(false),
    })
}

fn names(b: &Basic<'_>, cert: &X509Ref) -> bool {
    match b.responder {
        ResponderId::Name(n) => cert.subject_name().to_der().is_ok_and(|d| d == n),
        ResponderId::Key(k) => key_bits(cert)
            .and_then(|bits| hash(MessageDigest::sha1(), &bits).ok())
            .is_some_and(|h| &h[..] == k),
    }
}

fn has_ocsp_signing(cert: &X509Ref) -> bool {
    let Ok(der_bytes) = cert.to_der() else {
        return false;
    };
    let Ok(c) = ber::read_one(&der_bytes) else {
        return false;
    };
    let Some(Ok(tbs)) = c.iter().next() else {
        return false;
    };
    for f in tbs.iter().flatten() {
        if f.tag != tag::CONTEXT_3 {
            continue;
        }
        let Some(Ok(seq)) = f.iter().next() else {
            return false;
        };
        let Ok(exts) = read_extensions(&seq) else {
            return false;
        };
        return exts.iter().filter(|e| e.oid == OID_EKU).any(|e| {
            ber::read_one(e.value).is_ok_and(|n| {
                n.iter()
                    .flatten()
                    .any(|p| p.oid().as_deref() == Some(OID_OCSP_SIGNING))
            })
        });
    }
    false
}

/// Who signed an answer, once its signature is known good.
fn authorise(b: &Basic<'_>, issuer: &X509Ref, now: i64) -> Result<(), OcspCode> {
    // The issuing CA itself.
    if names(b, issuer) {
        let key = issuer.public_key().map_err(|_| OcspCode::BadSignature)?;
        if signature_ok(b, &key)? {
            return Ok(());
        }
    }
    // A delegated responder sent with the answer. The most specific refusal
    // is kept: a certificate that signed the answer but is not authorised
    // says more than "no signature verifies".
    let mut refusal = OcspCode::BadSignature;
    for raw in &b.certs {
        let Ok(cert) = X509::from_der(raw) else {
            continue;
        };
        if !names(b, &cert) {
            continue;
        }
        let Ok(key) = cert.public_key() else {
            continue;
        };
        if !signature_ok(b, &key)? {
            continue;
        }
        if !signed_by(&cert, issuer) {
            refusal = OcspCode::RogueResponder;
            continue;
        }
        if !has_ocsp_signing(&cert) {
            refusal = OcspCode::ResponderNotAuthorized;
            continue;
        }
        let from = asn1_to_datetime(cert.not_before()).map(OffsetDateTime::unix_timestamp);
        let to = asn1_to_datetime(cert.not_after()).map(OffsetDateTime::unix_timestamp);
        if !(from.is_some_and(|f| f <= now + SKEW_SECS) && to.is_some_and(|t| t >= now)) {
            refusal = OcspCode::ResponderNotValid;
            continue;
        }
        return Ok(());
    }
    Err(refusal)
}

/// An answer that counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The certificate's status.
    pub status: CertStatus,
    /// thisUpdate.
    pub this_update: i64,
    /// nextUpdate, if present.
    pub next_update: Option<i64>,
    /// Until when it counts (nextUpdate, or thisUpdate + 15 minutes).
    pub valid_until: i64,
    /// Nonce state.
    pub nonce: NonceState,
}

/// Checks an `OCSPResponse` for the certificate with serial `serial` issued by
/// `issuer`, at `now` (Unix seconds). `sent_nonce`: the nonce of the request
/// (None when re-reading a cached answer, whose nonce was checked when it was
/// stored).
pub fn verify(
    der_bytes: &[u8],
    serial: &[u8],
    issuer: &X509Ref,
    now: i64,
    sent_nonce: Option<&[u8]>,
) -> Result<Verified, OcspCode> {
    let b = parse(der_bytes)?;
    authorise(&b, issuer, now)?;
    // Every answer about the certificate counts, the gravest first
    // (revoked, then unknown, then good), as for duplicate CRL entries: a
    // response listing it twice is never read as `good` by its order.
    let single = b
        .singles
        .iter()
        .filter(|s| CertId::new(&s.id.hash_oid, serial, issuer).is_some_and(|mine| mine == s.id))
        .max_by_key(|s| match s.status {
            CertStatus::Good => 0,
            CertStatus::Unknown => 1,
            CertStatus::Revoked { .. } => 2,
        })
        .ok_or(OcspCode::WrongCertificate)?;
    if single.this_update > now + SKEW_SECS {
        return Err(OcspCode::Future);
    }
    let valid_until = single
        .next_update
        .unwrap_or(single.this_update + NO_NEXT_UPDATE_SECS);
    if valid_until + SKEW_SECS < now {
        return Err(OcspCode::Stale);
    }
    let nonce = match (b.nonce, sent_nonce) {
        (None, _) => NonceState::Absent,
        (Some(got), Some(sent)) => {
            // The extension's value is an OCTET STRING holding the nonce
            // (as OpenSSL sends it); a bare echo is accepted too.
            let inner = ber::read_one(got)
                .ok()
                .filter(|n| n.tag == tag::OCTET_STRING)
                .map(|n| n.content);
            if inner == Some(sent) || got == sent {
                NonceState::Checked
            } else {
                return Err(OcspCode::NonceMismatch);
            }
        }
        (Some(_), None) => NonceState::Checked,
    };
    Ok(Verified {
        status: single.status,
        this_update: single.this_update,
        next_update: single.next_update,
        valid_until,
        nonce,
    })
}

/// Sends OCSP requests. The real one is [`HttpFetcher::post`].
pub trait Transport {
    /// POSTs a DER request to `url`; the body of the answer.
    fn post(&self, url: &str, request: Vec<u8>) -> Result<Vec<u8>, FetchError>;
}

impl Transport for HttpFetcher {
    fn post(&self, url: &str, request: Vec<u8>) -> Result<Vec<u8>, FetchError> {
        HttpFetcher::post(self, url, "application/ocsp-request", request)
    }
}

/// The limits of an OCSP exchange: the CRL ones, capped for a small answer.
pub fn limits(policy: &crate::domain::config::CrlPolicy) -> Limits {
    let mut l = Limits::from_policy(policy);
    l.max_bytes = l.max_bytes.min(MAX_RESPONSE);
    l.total = l
        .total
        .min(std::time::Duration::from_secs(MAX_EXCHANGE_SECS));
    l
}

/// Asks responders and keeps their answers in `CACHE/crl/ocsp/`.
pub struct Client {
    transport: Option<Box<dyn Transport>>,
    dir: PathBuf,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("dir", &self.dir)
            .field("network", &self.transport.is_some())
            .finish()
    }
}

impl Client {
    /// A client over `transport` (None: cached answers only) caching in
    /// `crl_cache_dir/ocsp`.
    pub fn new(transport: Option<Box<dyn Transport>>, crl_cache_dir: &std::path::Path) -> Self {
        Self {
            transport,
            dir: crl_cache_dir.join("ocsp"),
        }
    }

    /// Whether it may ask the network.
    pub fn online(&self) -> bool {
        self.transport.is_some()
    }

    fn path(&self, fingerprint: &str) -> PathBuf {
        self.dir.join(format!("{fingerprint}.der"))
    }

    /// The cached answer for a certificate, re-verified at `now`; None when
    /// there is none or it no longer counts.
    pub fn cached(
        &self,
        cert: &X509Ref,
        serial: &[u8],
        issuer: &X509Ref,
        now: i64,
    ) -> Option<OcspAnswer> {
        let fp = crate::domain::identity::fingerprint(cert);
        let bytes = read_limited(&self.path(&fp), MAX_RESPONSE).ok()?;
        let mut v = verify(&bytes, serial, issuer, now, None).ok()?;
        // A cached answer counts at most MAX_CACHE_SECS after its
        // thisUpdate, whatever its nextUpdate: `store` keeps no answer
        // longer, and a file planted in the cache (a genuine answer signed
        // long ago with a far nextUpdate, from before a revocation) must
        // not count for months.
        v.valid_until = v
            .valid_until
            .min(v.this_update.saturating_add(MAX_CACHE_SECS));
        if v.valid_until < now {
            return None;
        }
        let url = urls(cert).into_iter().next().unwrap_or_default();
        Some(OcspAnswer::of(&url, &v, true))
    }

    /// Asks the certificate's responders now (the first that gives an answer
    /// that counts wins; otherwise the last error). None when the
    /// certificate names no responder or the client is offline.
    pub fn ask(
        &self,
        cert: &X509Ref,
        serial: &[u8],
        issuer: &X509Ref,
        now: i64,
    ) -> Option<OcspAnswer> {
        let transport = self.transport.as_ref()?;
        let addresses = urls(cert);
        let mut last = None;
        for url in addresses.iter().take(3) {
            let Some(id) = CertId::new(OID_SHA1, serial, issuer) else {
                return Some(OcspAnswer::error(url, OcspCode::UnsupportedAlgorithm));
            };
            let mut nonce = [0u8; 16];
            if openssl::rand::rand_bytes(&mut nonce).is_err() {
                return Some(OcspAnswer::error(url, OcspCode::Malformed));
            }
            let answer = match transport.post(url, request(&id, Some(&nonce))) {
                Err(e) => {
                    let mut a = OcspAnswer::error(url, OcspCode::Unreachable);
                    a.fetch = Some(e);
                    a
                }
                Ok(body) => match verify(&body, serial, issuer, now, Some(&nonce)) {
                    Ok(v) => {
                        self.store(cert, &body, &v, now);
                        return Some(OcspAnswer::of(url, &v, false));
                    }
                    Err(code) => OcspAnswer::error(url, code),
                },
            };
            last = Some(answer);
        }
        last
    }

    /// Keeps an answer that counts (public data: 0644, atomic); skipped
    /// when it counts for too short a time to matter or the cache cannot be
    /// written (the answer is still used).
    fn store(&self, cert: &X509Ref, body: &[u8], v: &Verified, now: i64) {
        if v.valid_until <= now || v.valid_until - now > MAX_CACHE_SECS + SKEW_SECS {
            return;
        }
        if create_private_dir(&self.dir).is_err() {
            return;
        }
        let fp = crate::domain::identity::fingerprint(cert);
        let _ = write_atomic_mode(&self.path(&fp), body, 0o644);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_read_by_openssl() {
        let id = CertId {
            hash_oid: OID_SHA1.into(),
            name_hash: vec![1; 20],
            key_hash: vec![2; 20],
            serial: vec![0x10, 0x01],
        };
        let der_bytes = request(&id, Some(&[7; 16]));
        assert!(openssl::ocsp::OcspRequest::from_der(&der_bytes).is_ok());
        let bare = request(&id, None);
        assert!(openssl::ocsp::OcspRequest::from_der(&bare).is_ok());
    }

    /// A CA (Ed25519, self-signed) and its key.
    fn ca() -> (X509, PKey<openssl::pkey::Private>) {
        let key = PKey::generate_ed25519().unwrap();
        let mut name = openssl::x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "Round 2 CA").unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        let from = openssl::asn1::Asn1Time::days_from_now(0).unwrap();
        let to = openssl::asn1::Asn1Time::days_from_now(30).unwrap();
        b.set_not_before(&from).unwrap();
        b.set_not_after(&to).unwrap();
        b.sign(&key, MessageDigest::null()).unwrap();
        (b.build(), key)
    }

    fn gtime(t: i64) -> Vec<u8> {
        let d = OffsetDateTime::from_unix_timestamp(t).unwrap();
        let s = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}Z",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        );
        der(tag::GENERALIZED_TIME, s.as_bytes())
    }

    /// A basic response signed by the CA itself (byName) with `singles`
    /// (the DER of each `SingleResponse`).
    fn signed(
        ca: &X509,
        key: &PKey<openssl::pkey::Private>,
        singles: &[Vec<u8>],
        now: i64,
    ) -> Vec<u8> {
        let mut tbs = der(0xa1, &ca.subject_name().to_der().unwrap());
        tbs.extend(gtime(now));
        tbs.extend(der(tag::SEQUENCE, &singles.concat()));
        let tbs = der(tag::SEQUENCE, &tbs);
        let mut signer = openssl::sign::Signer::new_without_digest(key).unwrap();
        let sig = signer.sign_oneshot_to_vec(&tbs).unwrap();
        let mut bits = vec![0u8];
        bits.extend(sig);
        let mut basic = tbs;
        basic.extend(der(tag::SEQUENCE, &der_oid("1.3.101.112")));
        basic.extend(der(tag::BIT_STRING, &bits));
        let basic = der(tag::SEQUENCE, &basic);
        let mut rb = der_oid(OID_BASIC);
        rb.extend(der(tag::OCTET_STRING, &basic));
        let mut out = der(tag::ENUMERATED, &[0]);
        out.extend(der(tag::CONTEXT_0, &der(tag::SEQUENCE, &rb)));
        der(tag::SEQUENCE, &out)
    }

    fn single(id: &CertId, revoked: bool, this: i64, next: i64) -> Vec<u8> {
        let mut s = id.to_der();
        if revoked {
            s.extend(der(0xa1, &gtime(this - 60)));
        } else {
            s.extend(der(0x80, &[]));
        }
        s.extend(gtime(this));
        s.extend(der(tag::CONTEXT_0, &gtime(next)));
        der(tag::SEQUENCE, &s)
    }

    #[test]
    fn a_certificate_listed_twice_is_read_by_its_gravest_answer() {
        let (ca, key) = ca();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let serial = [0x10, 0x01];
        let id = CertId::new(OID_SHA1, &serial, &ca).unwrap();
        let good = single(&id, false, now - 60, now + 3600);
        let revoked = single(&id, true, now - 60, now + 3600);
        for order in [[good.clone(), revoked.clone()], [revoked, good.clone()]] {
            let body = signed(&ca, &key, &order, now);
            let v = verify(&body, &serial, &ca, now, None).unwrap();
            assert!(matches!(v.status, CertStatus::Revoked { .. }), "{v:?}");
        }
        // Alone, the good answer is good (the response is well made).
        let body = signed(&ca, &key, &[good], now);
        assert_eq!(
            verify(&body, &serial, &ca, now, None).unwrap().status,
            CertStatus::Good
        );
    }

    #[test]
    fn a_planted_answer_counts_at_most_a_week_after_its_this_update() {
        let (ca, key) = ca();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let serial = [0x10, 0x01];
        let id = CertId::new(OID_SHA1, &serial, &ca).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let client = Client::new(None, dir.path());
        std::fs::create_dir_all(dir.path().join("ocsp")).unwrap();
        let plant = |this: i64| {
            // A genuine answer, signed long ago, valid for a year.
            let body = signed(
                &ca,
                &key,
                &[single(&id, false, this, now + 365 * 86_400)],
                this,
            );
            let fp = crate::domain::identity::fingerprint(&ca);
            std::fs::write(client.path(&fp), body).unwrap();
        };
        plant(now - 8 * 86_400);
        assert!(client.cached(&ca, &serial, &ca, now).is_none());
        // A recent one still counts from the cache.
        plant(now - 86_400);
        let a = client.cached(&ca, &serial, &ca, now).unwrap();
        assert_eq!(a.status, OcspStatus::Good);
        assert!(a.cached);
    }

    #[test]
    fn status_codes() {
        // OCSPResponse { responseStatus tryLater }
        assert_eq!(
            parse(&[0x30, 0x03, 0x0a, 0x01, 0x03]).err(),
            Some(OcspCode::TryLater)
        );
        assert_eq!(
            parse(&[0x30, 0x03, 0x0a, 0x01, 0x06]).err(),
            Some(OcspCode::Unauthorized)
        );
        assert_eq!(parse(&[0x30, 0x00]).err(), Some(OcspCode::Malformed));
        assert_eq!(parse(b"garbage").err(), Some(OcspCode::Malformed));
    }
}
