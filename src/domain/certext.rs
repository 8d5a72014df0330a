//! Facts read straight from a certificate's DER with the BER reader: the raw
//! serial number, key usage, basic constraints, CRL distribution points, and
//! ASN.1 times. (The openssl crate has no getter for some of them, and the
//! CRL code needs the exact bytes OpenSSL would hide.)

use openssl::x509::X509Ref;

use super::ber::{self, Node, tag};

/// OID of the key usage extension.
pub const OID_KEY_USAGE: &str = "2.5.29.15";
/// OID of the basic constraints extension.
pub const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
/// OID of the Freshest CRL extension (where the delta CRLs are).
pub const OID_FRESHEST_CRL: &str = "2.5.29.46";

/// One extension: OID, critical flag, the value's bytes.
#[derive(Debug, Clone)]
pub struct Extension<'a> {
    /// Dotted OID.
    pub oid: String,
    /// Whether it is marked critical.
    pub critical: bool,
    /// Content of the `extnValue` OCTET STRING.
    pub value: &'a [u8],
}

/// Reads an `Extensions` SEQUENCE.
pub fn read_extensions<'a>(seq: &Node<'a>) -> Result<Vec<Extension<'a>>, ber::BerError> {
    let mut out = Vec::new();
    for ext in seq.iter() {
        let ext = ext?;
        let mut parts = ext.iter();
        let bad = ber::BerError {
            offset: 0,
            what: "malformed extension",
        };
        let oid = parts.next().ok_or(bad.clone())??.oid().ok_or(bad.clone())?;
        let mut next = parts.next().ok_or(bad.clone())??;
        let mut critical = false;
        if next.tag == tag::BOOLEAN {
            critical = next.content.first().is_some_and(|b| *b != 0);
            next = parts.next().ok_or(bad.clone())??;
        }
        if next.tag != tag::OCTET_STRING {
            return Err(bad);
        }
        out.push(Extension {
            oid,
            critical,
            value: next.content,
        });
    }
    Ok(out)
}

/// The parts of a certificate the CRL code needs, from its DER.
#[derive(Debug, Clone, Default)]
pub struct CertFacts {
    /// The serial number's INTEGER content octets, exactly as encoded
    /// (minimal two's complement, sign kept; see [`serial_key`]).
    pub serial: Vec<u8>,
    /// Key usage bits when the extension is present (bit 0 = digitalSignature).
    pub key_usage: Option<u16>,
    /// `cA` of basic constraints (false when absent).
    pub is_ca: bool,
    /// Whether basic constraints is present.
    pub has_basic_constraints: bool,
    /// Certificate version (0 = v1).
    pub version: u64,
    /// CRL distribution point URIs (filled by [`facts`]).
    pub crl_urls: Vec<String>,
    /// Freshest CRL (delta CRL) URIs.
    pub freshest_urls: Vec<String>,
}

/// Key usage bit of `cRLSign`.
pub const KU_CRL_SIGN: u16 = 1 << 6;
/// Key usage bit of `keyCertSign`.
pub const KU_KEY_CERT_SIGN: u16 = 1 << 5;

/// Reads the facts of a certificate.
pub fn facts(cert: &X509Ref) -> Result<CertFacts, ber::BerError> {
    let der = cert.to_der().map_err(|_| ber::BerError {
        offset: 0,
        what: "certificate cannot be encoded",
    })?;
    let mut out = facts_der(&der)?;
    out.crl_urls = crl_urls(cert);
    Ok(out)
}

/// Reads the facts of a DER certificate.
pub fn facts_der(der: &[u8]) -> Result<CertFacts, ber::BerError> {
    let cert = ber::read_one(der)?;
    let tbs = cert.iter().next().ok_or(ber::BerError {
        offset: 0,
        what: "empty certificate",
    })??;
    let mut fields = tbs.iter();
    let mut first = fields.next().ok_or(ber::BerError {
        offset: 0,
        what: "empty tbsCertificate",
    })??;
    let mut out = CertFacts::default();
    if first.tag == tag::CONTEXT_0 {
        out.version = first
            .iter()
            .next()
            .and_then(Result::ok)
            .and_then(|v| v.uint())
            .unwrap_or(0);
        first = fields.next().ok_or(ber::BerError {
            offset: 0,
            what: "no serial number",
        })??;
    }
    if first.tag != tag::INTEGER {
        return Err(ber::BerError {
            offset: 0,
            what: "no serial number",
        });
    }
    out.serial = serial_key(first.content)
        .ok_or(ber::BerError {
            offset: 0,
            what: "serial number not minimally encoded",
        })?
        .to_vec();
    for field in fields {
        let field = field?;
        if field.tag != tag::CONTEXT_3 {
            continue;
        }
        let seq = field.iter().next().ok_or(ber::BerError {
            offset: 0,
            what: "empty extensions",
        })??;
        for ext in read_extensions(&seq)? {
            match ext.oid.as_str() {
                OID_KEY_USAGE => out.key_usage = Some(bit_string_bits(ext.value)),
                OID_FRESHEST_CRL => out.freshest_urls = distribution_point_uris(ext.value),
                OID_BASIC_CONSTRAINTS => {
                    out.has_basic_constraints = true;
                    let bc = ber::read_one(ext.value)?;
                    out.is_ca = bc.iter().next().and_then(Result::ok).is_some_and(|n| {
                        n.tag == tag::BOOLEAN && n.content.first().is_some_and(|b| *b != 0)
                    });
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// The first 16 bits of a DER BIT STRING, bit 0 being the most significant
/// bit of the first octet (how key usage numbers its bits).
fn bit_string_bits(value: &[u8]) -> u16 {
    let Ok(node) = ber::read_one(value) else {
        return 0;
    };
    let bytes = node.content.get(1..).unwrap_or_default();
    let mut bits = 0u16;
    for (i, b) in bytes.iter().take(2).enumerate() {
        for j in 0..8 {
            if b & (0x80 >> j) != 0 {
                bits |= 1 << (i * 8 + j);
            }
        }
    }
    bits
}

/// A serial number as compared everywhere: the INTEGER's content octets,
/// exactly. DER encodes an INTEGER in the fewest two's-complement octets, so
/// equal octets mean equal values and the sign is kept (255 is `00 FF`,
/// −1 is `FF`). A non-minimal encoding (`00 05`, `FF 80`, or nothing) is
/// refused with None, as OpenSSL refuses it: stripping or padding octets
/// would make two different numbers compare equal.
pub fn serial_key(content: &[u8]) -> Option<&[u8]> {
    match content {
        [] => None,
        [0x00, next, ..] if next & 0x80 == 0 => None,
        [0xff, next, ..] if next & 0x80 != 0 => None,
        _ => Some(content),
    }
}

/// The `fullName` URIs of a `CRLDistributionPoints` value (the syntax of
/// both the CRL Distribution Points and the Freshest CRL extensions), in
/// order, without repeats. Anything malformed is skipped.
pub fn distribution_point_uris(value: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let Ok(points) = ber::read_one(value) else {
        return out;
    };
    for point in points.iter().flatten() {
        // DistributionPoint ::= SEQUENCE { distributionPoint [0] ... }
        for dpn in point.iter().flatten().filter(|n| n.tag == 0xa0) {
            // DistributionPointName: fullName [0] GeneralNames
            for full in dpn.iter().flatten().filter(|n| n.tag == 0xa0) {
                for name in full.iter().flatten().filter(|n| n.tag == 0x86) {
                    let uri = String::from_utf8_lossy(name.content).into_owned();
                    if !out.contains(&uri) {
                        out.push(uri);
                    }
                }
            }
        }
    }
    out
}

/// The URIs of a certificate's Freshest CRL extension (its delta CRLs).
pub fn freshest_urls(cert: &X509Ref) -> Vec<String> {
    cert.to_der()
        .ok()
        .and_then(|der| facts_der(&der).ok())
        .map(|f| f.freshest_urls)
        .unwrap_or_default()
}

/// The URIs of a certificate's CRL Distribution Points, in order.
pub fn crl_urls(cert: &X509Ref) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(points) = cert.crl_distribution_points() {
        for p in &points {
            let Some(names) = p.distpoint().and_then(|d| d.fullname()) else {
                continue;
            };
            for n in names {
                if let Some(uri) = n.uri() {
                    if !out.iter().any(|u| u == uri) {
                        out.push(uri.to_string());
                    }
                }
            }
        }
    }
    out
}

/// Reads an ASN.1 `UTCTime` or `GeneralizedTime` (UTC, `Z`, seconds) as Unix seconds.
pub fn time_of(node: &Node<'_>) -> Option<i64> {
    let s = node.content;
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        let mut v = 0i64;
        for c in part {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    let (year, rest) = match node.tag {
        tag::UTC_TIME => {
            let yy = digits(0..2)?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, 2)
        }
        tag::GENERALIZED_TIME => (digits(0..4)?, 4),
        _ => return None,
    };
    let month = digits(rest..rest + 2)?;
    let day = digits(rest + 2..rest + 4)?;
    let hour = digits(rest + 4..rest + 6)?;
    let minute = digits(rest + 6..rest + 8)?;
    let second = digits(rest + 8..rest + 10)?;
    // Fractions of a second (GeneralizedTime) are dropped; only `Z` is DER.
    let mut tail = &s[rest + 10..];
    if tail.first() == Some(&b'.') {
        let end = tail.iter().position(|c| *c == b'Z').unwrap_or(tail.len());
        tail = &tail[end..];
    }
    if tail != b"Z"
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // The calendar is the `time` crate's: a day that does not exist in
    // that month (February 30th) is refused. A leap second (60) is kept as
    // the next second, as before.
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?)
            .ok()?;
    let midnight = date.midnight().assume_utc().unix_timestamp();
    Some(midnight + hour * 3600 + minute * 60 + second)
}

/// DER `GeneralizedTime` or `UTCTime` (as RFC 5280 asks: UTC before 2050) of Unix seconds.
pub fn der_time(unix: i64) -> Vec<u8> {
    let when =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let year = when.year();
    let rest = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        u8::from(when.month()),
        when.day(),
        when.hour(),
        when.minute(),
        when.second()
    );
    if (1950..2050).contains(&year) {
        let text = format!("{:02}{rest}", year % 100);
        ber::der(tag::UTC_TIME, text.as_bytes())
    } else {
        let text = format!("{year:04}{rest}");
        ber::der(tag::GENERALIZED_TIME, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        for t in [
            0i64,
            951_782_400,
            1_700_000_000,
            2_524_608_000,
            4_102_444_800,
        ] {
            let enc = der_time(t);
            let node = ber::read_one(&enc).unwrap();
            assert_eq!(time_of(&node), Some(t), "{t}");
        }
        let g = ber::der(tag::GENERALIZED_TIME, b"20240229120000.5Z");
        assert_eq!(time_of(&ber::read_one(&g).unwrap()), Some(1_709_208_000));
        let bad = ber::der(tag::UTC_TIME, b"241301000000Z");
        assert_eq!(time_of(&ber::read_one(&bad).unwrap()), None);
        // Days that do not exist in their month.
        for bad in [
            &b"20250229000000Z"[..],
            b"20240431000000Z",
            b"20240230120000Z",
        ] {
            let bad = ber::der(tag::GENERALIZED_TIME, bad);
            assert_eq!(time_of(&ber::read_one(&bad).unwrap()), None);
        }
        let leap = ber::der(tag::GENERALIZED_TIME, b"20161231235960Z");
        assert_eq!(time_of(&ber::read_one(&leap).unwrap()), Some(1_483_228_800));
    }

    #[test]
    fn serial_keys_keep_the_sign_and_refuse_padding() {
        // Minimal encodings are kept as they are, sign included.
        assert_eq!(serial_key(&[0, 0xff]), Some(&[0, 0xff][..]));
        assert_eq!(serial_key(&[0xff]), Some(&[0xff][..]));
        assert_ne!(serial_key(&[0, 0xff]), serial_key(&[0xff]));
        assert_eq!(serial_key(&[0, 0x80, 1]), Some(&[0, 0x80, 1][..]));
        assert_eq!(serial_key(&[0]), Some(&[0][..]));
        assert_eq!(serial_key(&[5]), Some(&[5][..]));
        assert_eq!(serial_key(&[0xff, 0x7f]), Some(&[0xff, 0x7f][..]));
        // Padding and emptiness are refused.
        assert_eq!(serial_key(&[]), None);
        assert_eq!(serial_key(&[0, 0]), None);
        assert_eq!(serial_key(&[0, 5]), None);
        assert_eq!(serial_key(&[0, 0, 0xff]), None);
        assert_eq!(serial_key(&[0xff, 0xff]), None);
        assert_eq!(serial_key(&[0xff, 0x80]), None);
    }
}
