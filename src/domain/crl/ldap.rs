//! CRLs at LDAP addresses: [`LdapFetcher`], and [`ChannelFetcher`], the
//! fetcher `crl update` uses, which sends `ldap://`/`ldaps://` addresses to
//! the former and the rest to [`HttpFetcher`].
//!
//! The URL says where (RFC 4516): the entry's DN, the attribute
//! (`certificateRevocationList;binary` when none is named;
//! `deltaRevocationList;binary` for a delta CRL), the scope (`base` when
//! none) and the filter (`(objectClass=*)` when none). One entry at most,
//! the first value of the attribute; the size bound of HTTP applies to the
//! sum of the values received, the time bounds to the whole exchange. LDAP
//! has no conditional request: the answer is always a body, and the
//! acceptance rules find it unchanged when it is.

use super::fetch::{FetchError, Fetcher, HttpFetcher, Limits, Request, Response};
use crate::domain::ldap::{self, Bounds, DirectoryError, LdapUrl, Scope, UrlProblem};

/// The attributes that hold a CRL (RFC 4523), compared without case and
/// without the `;binary` option.
const CRL_ATTRIBUTES: [&str; 2] = ["certificateRevocationList", "deltaRevocationList"];

/// Fetches CRLs from LDAP directories (anonymous, `ldap3` blocking API).
#[derive(Debug, Clone)]
pub struct LdapFetcher {
    limits: Limits,
}

impl LdapFetcher {
    /// A fetcher with the same limits as HTTP.
    pub fn new(limits: Limits) -> Self {
        Self { limits }
    }
}

fn base_name(attr: &str) -> &str {
    attr.split(';').next().unwrap_or(attr)
}

/// The attributes to ask for: those the URL names (each a CRL attribute),
/// else `certificateRevocationList;binary`.
fn crl_attributes(url: &LdapUrl) -> Result<Vec<String>, UrlProblem> {
    if url.attributes.is_empty() {
        return Ok(vec!["certificateRevocationList;binary".into()]);
    }
    for a in &url.attributes {
        let base = base_name(a);
        if !CRL_ATTRIBUTES.iter().any(|c| c.eq_ignore_ascii_case(base)) {
            return Err(UrlProblem::NotCrlAttribute { name: a.clone() });
        }
    }
    Ok(url.attributes.clone())
}

/// The filter of the URL, in parentheses (IGC-Santé writes
/// `objectClass=pkiCA`), or `(objectClass=*)`.
pub(crate) fn url_filter(url: &LdapUrl) -> String {
    match url.filter.as_deref() {
        None => "(objectClass=*)".into(),
        Some(f) if f.starts_with('(') => f.to_string(),
        Some(f) => format!("({f})"),
    }
}

fn failure(url: &str, e: DirectoryError, limits: &Limits) -> FetchError {
    let url = url.to_string();
    match e {
        DirectoryError::Timeout => FetchError::Timeout { url },
        DirectoryError::TooLarge { .. } => FetchError::TooLarge {
            url,
            max: limits.max_bytes,
        },
        DirectoryError::Connect { detail } => FetchError::Connect {
            url,
            why: super::fetch::ConnectFailure::classify(None, &detail),
            detail,
        },
        error => FetchError::Ldap { url, error },
    }
}

impl Fetcher for LdapFetcher {
    fn fetch(
        &self,
        req: &Request,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Response, FetchError> {
        let fail = |e| failure(&req.url, e, &self.limits);
        let url =
            LdapUrl::parse(&req.url).map_err(|problem| fail(DirectoryError::Url { problem }))?;
        let attributes =
            crl_attributes(&url).map_err(|problem| fail(DirectoryError::Url { problem }))?;
        let bounds = Bounds {
            connect: self.limits.connect,
            read: self.limits.read,
            total: self.limits.total,
            max_bytes: self.limits.max_bytes,
            max_entries: 1,
            max_values: 16,
        };
        let found = ldap::search(
            &url,
            &url.dn,
            url.scope.unwrap_or(Scope::Base),
            &url_filter(&url),
            &attributes,
            &bounds,
        )
        .map_err(fail)?;
        if found.truncated {
            return Err(fail(DirectoryError::TooMany { max: 1 }));
        }
        let Some(entry) = found.entries.into_iter().next() else {
            return Err(fail(DirectoryError::Result { rc: 32 }));
        };
        // The first value of the first attribute named that has one.
        let bytes = attributes
            .iter()
            .find_map(|want| {
                entry
                    .values
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(want))
                    .or_else(|| {
                        entry
                            .values
                            .iter()
                            .find(|(name, _)| base_name(name).eq_ignore_ascii_case(base_name(want)))
                    })
            })
            .map(|(_, v)| v.clone())
            .ok_or_else(|| fail(DirectoryError::NoValue))?;
        let n = bytes.len() as u64;
        progress(n, Some(n));
        Ok(Response::Body {
            bytes,
            etag: None,
            last_modified: None,
        })
    }
}

/// The fetcher of `crl update`: LDAP addresses to [`LdapFetcher`], the
/// others (`http`, `https`, `file`) to [`HttpFetcher`].
#[derive(Debug)]
pub struct ChannelFetcher {
    http: HttpFetcher,
    ldap: LdapFetcher,
}

impl ChannelFetcher {
    /// Both fetchers with the same limits.
    pub fn new(limits: Limits) -> Result<Self, FetchError> {
        Ok(Self {
            ldap: LdapFetcher::new(limits.clone()),
            http: HttpFetcher::new(limits)?,
        })
    }
}

impl Fetcher for ChannelFetcher {
    fn fetch(
        &self,
        req: &Request,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Response, FetchError> {
        if super::UrlKind::of(&req.url) == super::UrlKind::Ldap {
            self.ldap.fetch(req, progress)
        } else {
            self.http.fetch(req, progress)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_from_the_url() {
        let u = LdapUrl::parse("ldap://h/cn=ca").unwrap();
        assert_eq!(
            crl_attributes(&u).unwrap(),
            vec!["certificateRevocationList;binary"]
        );
        let u = LdapUrl::parse("ldap://h/cn=ca?deltaRevocationList;binary").unwrap();
        assert_eq!(
            crl_attributes(&u).unwrap(),
            vec!["deltaRevocationList;binary"]
        );
        let u = LdapUrl::parse("ldap://h/cn=ca?CERTIFICATEREVOCATIONLIST").unwrap();
        assert!(crl_attributes(&u).is_ok());
        let u = LdapUrl::parse("ldap://h/cn=ca?userPassword").unwrap();
        assert_eq!(
            crl_attributes(&u),
            Err(UrlProblem::NotCrlAttribute {
                name: "userPassword".into()
            })
        );
    }

    #[test]
    fn filters_get_parentheses() {
        let u = LdapUrl::parse("ldap://h/cn=ca???objectClass=pkiCA").unwrap();
        assert_eq!(url_filter(&u), "(objectClass=pkiCA)");
        let u = LdapUrl::parse("ldap://h/cn=ca???(objectClass=*)").unwrap();
        assert_eq!(url_filter(&u), "(objectClass=*)");
        let u = LdapUrl::parse("ldap://h/cn=ca").unwrap();
        assert_eq!(url_filter(&u), "(objectClass=*)");
    }

    #[test]
    fn a_refused_url_is_a_code_without_network() {
        let f = LdapFetcher::new(Limits {
            connect: std::time::Duration::from_secs(1),
            read: std::time::Duration::from_secs(1),
            total: std::time::Duration::from_secs(1),
            max_bytes: 1000,
            proxy: String::new(),
        });
        let req = Request {
            url: "ldap:///cn=ca".into(),
            etag: None,
            last_modified: None,
        };
        let e = f.fetch(&req, &mut |_, _| {}).unwrap_err();
        assert!(matches!(
            e,
            FetchError::Ldap {
                error: DirectoryError::Url {
                    problem: UrlProblem::NoHost
                },
                ..
            }
        ));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["code"], "ldap");
        assert_eq!(json["error"]["code"], "url");
        assert_eq!(json["error"]["problem"]["code"], "no_host");
    }
}
