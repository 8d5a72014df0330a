//! RFC 4516 LDAP URLs, parsed by hand: `ldap[s]://host[:port]/dn?attrs?scope?filter?exts`,
//! each part percent-decoded; what certsafe cannot honour is refused with a
//! code, never silently dropped. RFC 4515 escaping of filter values.

use serde::{Deserialize, Serialize};

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `ldap://`, clear.
    Plain,
    /// `ldap://` with the `StartTLS` extension.
    StartTls,
    /// `ldaps://`: TLS from the first byte.
    Ldaps,
}

/// The search scope written in the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The entry named by the DN only.
    Base,
    /// Its children.
    One,
    /// The entry and everything under it.
    Sub,
}

/// Why an LDAP URL is refused (a code, put into words when shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum UrlProblem {
    /// Not `ldap://` or `ldaps://`.
    Scheme,
    /// No host (RFC 4516 lets the client pick one; certsafe does not guess).
    NoHost,
    /// The port is not a number from 1 to 65535.
    Port,
    /// A bad `%xx` escape, or decoded bytes that are not UTF-8 or contain a NUL.
    Encoding,
    /// More than the five parts `dn?attributes?scope?filter?extensions`, or a fragment.
    Parts,
    /// A scope other than `base`, `one`, `sub`.
    Scope {
        /// What was written.
        scope: String,
    },
    /// A critical extension certsafe does not implement.
    Extension {
        /// Its name.
        name: String,
    },
    /// `ldaps://` together with `StartTLS`.
    TlsTwice,
    /// A CRL address naming an attribute that does not hold a CRL.
    NotCrlAttribute {
        /// The attribute.
        name: String,
    },
}

/// A parsed LDAP URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapUrl {
    /// Clear, `StartTLS` or LDAPS.
    pub transport: Transport,
    /// The host (without brackets for IPv6).
    pub host: String,
    /// The port (389, or 636 for LDAPS, when absent).
    pub port: u16,
    /// The base DN, decoded (may be empty).
    pub dn: String,
    /// The attributes asked for, decoded (empty: none named).
    pub attributes: Vec<String>,
    /// The scope, when the URL gives one.
    pub scope: Option<Scope>,
    /// The filter, when the URL gives one.
    pub filter: Option<String>,
}

/// Largest URL accepted (a certificate's distribution point, a configured value).
const MAX_URL: usize = 4096;

/// The `StartTLS` extended operation's OID, also accepted as a URL extension.
const STARTTLS_OID: &str = "1.3.6.1.4.1.1466.20037";

fn decode(part: &str) -> Result<String, UrlProblem> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(UrlProblem::Encoding)?;
            let text = std::str::from_utf8(hex).map_err(|_| UrlProblem::Encoding)?;
            if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(UrlProblem::Encoding);
            }
            out.push(u8::from_str_radix(text, 16).map_err(|_| UrlProblem::Encoding)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    if out.contains(&0) {
        return Err(UrlProblem::Encoding);
    }
    String::from_utf8(out).map_err(|_| UrlProblem::Encoding)
}

fn host_port(hp: &str, default_port: u16) -> Result<(String, u16), UrlProblem> {
    let (host, port) = if let Some(rest) = hp.strip_prefix('[') {
        let end = rest.find(']').ok_or(UrlProblem::NoHost)?;
        let after = &rest[end + 1..];
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(UrlProblem::Port)?),
        };
        (rest[..end].to_string(), port)
    } else {
        match hp.rsplit_once(':') {
            Some((h, p)) => (decode(h)?, Some(p)),
            None => (decode(hp)?, None),
        }
    };
    if host.is_empty() {
        return Err(UrlProblem::NoHost);
    }
    if host
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || "/?#@[]".contains(c))
    {
        return Err(UrlProblem::NoHost);
    }
    let port = match port {
        None | Some("") => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Err(UrlProblem::Port),
        },
    };
    Ok((host, port))
}

impl LdapUrl {
    /// Parses an `ldap://` or `ldaps://` URL.
    pub fn parse(url: &str) -> Result<Self, UrlProblem> {
        if url.len() > MAX_URL {
            return Err(UrlProblem::Parts);
        }
        let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
        let (mut transport, rest, default_port) = if lower.starts_with("ldaps://") {
            (Transport::Ldaps, &url[8..], 636)
        } else if lower.starts_with("ldap://") {
            (Transport::Plain, &url[7..], 389)
        } else {
            return Err(UrlProblem::Scheme);
        };
        if rest.contains('#') {
            return Err(UrlProblem::Parts);
        }
        let (hp, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], &rest[i + 1..]),
            Some(_) => return Err(UrlProblem::Parts),
            None => (rest, ""),
        };
        let (host, port) = host_port(hp, default_port)?;
        let parts: Vec<&str> = path.split('?').collect();
        if parts.len() > 5 {
            return Err(UrlProblem::Parts);
        }
        let field = |i: usize| parts.get(i).copied().unwrap_or("");
        let dn = decode(field(0))?;
        let attributes = field(1)
            .split(',')
            .filter(|a| !a.is_empty())
            .map(decode)
            .collect::<Result<Vec<_>, _>>()?;
        let scope = match decode(field(2))?.to_ascii_lowercase().as_str() {
            "" => None,
            "base" => Some(Scope::Base),
            "one" => Some(Scope::One),
            "sub" => Some(Scope::Sub),
            other => {
                return Err(UrlProblem::Scope {
                    scope: other.to_string(),
                });
            }
        };
        let filter = Some(decode(field(3))?).filter(|f| !f.is_empty());
        for ext in field(4).split(',').filter(|e| !e.is_empty()) {
            let (critical, ext) = match ext.strip_prefix('!') {
                Some(e) => (true, e),
                None => (false, ext),
            };
            let name = decode(ext.split_once('=').map_or(ext, |(n, _)| n))?;
            let lname = name.to_ascii_lowercase();
            if lname == "starttls" || lname == "x-starttls" || lname == STARTTLS_OID {
                if transport == Transport::Ldaps {
                    return Err(UrlProblem::TlsTwice);
                }
                transport = Transport::StartTls;
            } else if critical {
                // `bindname` included: certsafe binds anonymously only.
                return Err(UrlProblem::Extension { name });
            }
        }
        Ok(Self {
            transport,
            host,
            port,
            dn,
            attributes,
            scope,
            filter,
        })
    }

    /// `ldap://host:port` or `ldaps://host:port`, for the client library.
    pub fn server(&self) -> String {
        let scheme = if self.transport == Transport::Ldaps {
            "ldaps"
        } else {
            "ldap"
        };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// Escapes a value for an RFC 4515 filter: `*`, `(`, `)`, `\` and NUL become
/// `\2a`, `\28`, `\29`, `\5c`, `\00`; other characters (UTF-8) stay.
pub fn escape_filter_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn igc_sante_crl_url() {
        let u = LdapUrl::parse(
            "ldap://annuaire-igc.esante.gouv.fr/cn=AC%20IGC-SANTE%20ELEMENTAIRE%20ORGANISATIONS,ou=AC%20RACINE%20IGC-SANTE%20ELEMENTAIRE,ou=IGC-SANTE,ou=ANS,c=FR?certificateRevocationList;binary?base?objectClass=pkiCA",
        )
        .unwrap();
        assert_eq!(u.transport, Transport::Plain);
        assert_eq!(u.host, "annuaire-igc.esante.gouv.fr");
        assert_eq!(u.port, 389);
        assert_eq!(
            u.dn,
            "cn=AC IGC-SANTE ELEMENTAIRE ORGANISATIONS,ou=AC RACINE IGC-SANTE ELEMENTAIRE,ou=IGC-SANTE,ou=ANS,c=FR"
        );
        assert_eq!(u.attributes, vec!["certificateRevocationList;binary"]);
        assert_eq!(u.scope, Some(Scope::Base));
        assert_eq!(u.filter.as_deref(), Some("objectClass=pkiCA"));
        assert_eq!(u.server(), "ldap://annuaire-igc.esante.gouv.fr:389");
    }

    #[test]
    fn defaults_and_ldaps() {
        let u = LdapUrl::parse("LDAPS://dir.example:1636/o=x").unwrap();
        assert_eq!(u.transport, Transport::Ldaps);
        assert_eq!(u.port, 1636);
        assert_eq!(u.dn, "o=x");
        assert!(u.attributes.is_empty());
        assert_eq!(u.scope, None);
        assert_eq!(u.filter, None);
        let u = LdapUrl::parse("ldaps://dir.example").unwrap();
        assert_eq!((u.port, u.dn.as_str()), (636, ""));
        let u = LdapUrl::parse("ldap://[::1]:3890/o=x??sub").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 3890));
        assert_eq!(u.scope, Some(Scope::Sub));
        assert_eq!(u.server(), "ldap://[::1]:3890");
    }

    #[test]
    fn percent_decoding_of_each_part() {
        let u = LdapUrl::parse(
            "ldap://h/cn=Dupont%2C%20Jean,o=%C3%89tat?deltaRevocationList%3Bbinary,cn?ONE?(cn=a%3fb)",
        )
        .unwrap();
        assert_eq!(u.dn, "cn=Dupont, Jean,o=État");
        assert_eq!(u.attributes, vec!["deltaRevocationList;binary", "cn"]);
        assert_eq!(u.scope, Some(Scope::One));
        assert_eq!(u.filter.as_deref(), Some("(cn=a?b)"));
    }

    #[test]
    fn extensions() {
        let u = LdapUrl::parse("ldap://h/o=x????!StartTLS").unwrap();
        assert_eq!(u.transport, Transport::StartTls);
        let u = LdapUrl::parse("ldap://h/o=x????1.3.6.1.4.1.1466.20037").unwrap();
        assert_eq!(u.transport, Transport::StartTls);
        // A non-critical unknown extension is ignored; a critical one refused.
        assert!(LdapUrl::parse("ldap://h/o=x????x-foo=bar").is_ok());
        assert!(LdapUrl::parse("ldap://h/o=x????bindname=cn%3Dme").is_ok());
        assert_eq!(
            LdapUrl::parse("ldap://h/o=x????!bindname=cn%3Dme"),
            Err(UrlProblem::Extension {
                name: "bindname".into()
            })
        );
        assert_eq!(
            LdapUrl::parse("ldaps://h/o=x????!StartTLS"),
            Err(UrlProblem::TlsTwice)
        );
    }

    #[test]
    fn refusals() {
        let cases = [
            ("http://h/o=x", UrlProblem::Scheme),
            ("ldap:///o=x", UrlProblem::NoHost),
            ("ldap://:389/o=x", UrlProblem::NoHost),
            ("ldap://h:0/o=x", UrlProblem::Port),
            ("ldap://h:99999/o=x", UrlProblem::Port),
            ("ldap://h:+12/o=x", UrlProblem::Port),
            ("ldap://h/o=%zz", UrlProblem::Encoding),
            ("ldap://h/o=%4", UrlProblem::Encoding),
            ("ldap://h/o=%00", UrlProblem::Encoding),
            ("ldap://h/o=%ff", UrlProblem::Encoding),
            ("ldap://h/o=x?a?base?f?e?more", UrlProblem::Parts),
            ("ldap://h/o=x#frag", UrlProblem::Parts),
            ("ldap://h?o=x", UrlProblem::Parts),
            (
                "ldap://h/o=x?a?subtree",
                UrlProblem::Scope {
                    scope: "subtree".into(),
                },
            ),
        ];
        for (url, want) in cases {
            assert_eq!(LdapUrl::parse(url), Err(want), "{url}");
        }
        assert_eq!(
            LdapUrl::parse(&format!("ldap://h/{}", "a".repeat(5000))),
            Err(UrlProblem::Parts)
        );
    }

    #[test]
    fn filter_escaping() {
        assert_eq!(escape_filter_value("a.b@example.fr"), "a.b@example.fr");
        assert_eq!(
            escape_filter_value("*)(uid=*))(|(uid=*\\\0"),
            "\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a\\5c\\00"
        );
        assert_eq!(escape_filter_value("élise@hôpital.fr"), "élise@hôpital.fr");
        // The escaped value parses as one equality filter.
        let f = format!("(mail={})", escape_filter_value("x)(objectClass=*"));
        assert!(ldap3::parse_filter(&f).is_ok());
    }
}
