//! Time helpers: OpenSSL times to `OffsetDateTime`, RFC 3339 text.

use openssl::asn1::{Asn1Time, Asn1TimeRef};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Converts an ASN.1 time to UTC.
pub fn asn1_to_datetime(t: &Asn1TimeRef) -> Option<OffsetDateTime> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(t).ok()?;
    let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    OffsetDateTime::from_unix_timestamp(secs).ok()
}

/// RFC 3339 in UTC, whole seconds.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// The current time, whole seconds, UTC.
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

/// Parses a duration like `2h`, `30m`, `45s`, `1h30m`, `1d` or a number of
/// seconds. None when malformed.
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Some(std::time::Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    if !number.is_empty() {
        return None;
    }
    Some(std::time::Duration::from_secs(total))
}

/// The date part (`YYYY-MM-DD`) of a time, UTC.
pub fn date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2h").map(|d| d.as_secs()), Some(7200));
        assert_eq!(parse_duration("30m").map(|d| d.as_secs()), Some(1800));
        assert_eq!(parse_duration("1h30m").map(|d| d.as_secs()), Some(5400));
        assert_eq!(parse_duration("90").map(|d| d.as_secs()), Some(90));
        assert_eq!(parse_duration("1d").map(|d| d.as_secs()), Some(86_400));
        assert_eq!(parse_duration("2x"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("5h3"), None);
        assert_eq!(parse_duration(""), None);
    }
}
