//! Reading an LDAP directory: one bounded, anonymous search with the `ldap3`
//! crate's blocking API. Used for CRLs at LDAP addresses
//! ([`crate::domain::crl::ldap`]) and for correspondents' certificates
//! ([`lookup`]).
//!
//! Bounds: a connect timeout (TCP, TLS, `StartTLS`), a timeout per answer
//! received, an overall deadline checked between answers, a number of entries,
//! of values and of value bytes; under ldap3, a loopback relay that cuts the
//! connection past a byte cap or the deadline ([`Relay`]). Referrals and continuation references are
//! never followed: a search answered only by them fails with
//! [`DirectoryError::Referral`]. Entries are decoded here, without the
//! library's panicking `SearchEntry::construct`.

pub mod lookup;
pub mod url;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ldap3::asn1::{PL, StructureTag};
use ldap3::{DerefAliases, LdapConn, LdapConnSettings, ResultEntry, SearchOptions, StdStream};
use serde::{Deserialize, Serialize};

pub use self::url::{LdapUrl, Scope, Transport, UrlProblem, escape_filter_value};

/// Why a directory search failed: a code with its parameters, put into words
/// when shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum DirectoryError {
    /// The URL is refused.
    #[error("{}", crate::t!("ldap.url", problem = crate::t!(&format!("ldap.url_{}", .problem.word()))))]
    Url {
        /// Why.
        problem: UrlProblem,
    },
    /// Connecting (TCP, TLS, `StartTLS`) failed.
    #[error("{}", crate::t!("ldap.connect", detail = .detail))]
    Connect {
        /// Details from the system or the TLS library.
        detail: String,
    },
    /// The TLS handshake (`ldaps://` or `StartTLS`) failed: most often the
    /// server's certificate does not chain to a CA of the system's store, or
    /// names another server. Never followed by a search in plain text.
    #[error("{}", crate::t!("ldap.tls", detail = .detail))]
    Tls {
        /// Details from the TLS library.
        detail: String,
    },
    /// The directory did not answer in time.
    #[error("{}", crate::t!("ldap.timeout"))]
    Timeout,
    /// The values are larger than the bound.
    #[error("{}", crate::t!("ldap.too_large", max = .max))]
    TooLarge {
        /// The bound in bytes.
        max: u64,
    },
    /// More entries (or values) than the bound.
    #[error("{}", crate::t!("ldap.too_many", max = .max))]
    TooMany {
        /// The bound.
        max: u64,
    },
    /// The directory sent a referral or continuation references instead of
    /// the entry; certsafe does not follow them.
    #[error("{}", crate::t!("ldap.referral"))]
    Referral,
    /// The directory refused the operation (LDAP result code).
    #[error("{}", crate::t!("ldap.result", rc = .rc))]
    Result {
        /// The LDAP result code (32: no such object, 49: bind refused...).
        rc: u32,
    },
    /// The URL's filter is not a valid RFC 4515 filter.
    #[error("{}", crate::t!("ldap.filter"))]
    Filter,
    /// An answer that is not well-formed LDAP.
    #[error("{}", crate::t!("ldap.malformed"))]
    Malformed,
    /// The entry was found but holds none of the attributes asked for.
    #[error("{}", crate::t!("ldap.no_value"))]
    NoValue,
}

impl UrlProblem {
    /// The code, as in JSON.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Scheme => "scheme",
            Self::NoHost => "no_host",
            Self::Port => "port",
            Self::Encoding => "encoding",
            Self::Parts => "parts",
            Self::Scope { .. } => "scope",
            Self::Extension { .. } => "extension",
            Self::TlsTwice => "tls_twice",
            Self::NotCrlAttribute { .. } => "not_crl_attribute",
        }
    }
}

/// The bounds of one search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounds {
    /// To connect (TCP, then TLS or `StartTLS`).
    pub connect: Duration,
    /// To receive each answer.
    pub read: Duration,
    /// For the whole search.
    pub total: Duration,
    /// Largest sum of the values' sizes.
    pub max_bytes: u64,
    /// Most entries (and most continuation references).
    pub max_entries: usize,
    /// Most values in all.
    pub max_values: usize,
}

/// One entry found: its DN and the values of the attributes asked for, each
/// with the attribute's name as the directory wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's DN.
    pub dn: String,
    /// `(attribute, value)` pairs.
    pub values: Vec<(String, Vec<u8>)>,
}

/// What a search found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// The entries, at most [`Bounds::max_entries`].
    pub entries: Vec<Entry>,
    /// More entries were there (or the directory's own size limit was hit).
    pub truncated: bool,
    /// Continuation references received (not followed).
    pub references: usize,
}

fn classify(e: &ldap3::LdapError) -> DirectoryError {
    use ldap3::LdapError as E;
    match e {
        E::Timeout { .. } => DirectoryError::Timeout,
        E::Io { source } if source.kind() == std::io::ErrorKind::TimedOut => {
            DirectoryError::Timeout
        }
        E::FilterParsing => DirectoryError::Filter,
        E::NativeTLS { source } => DirectoryError::Tls {
            detail: innermost(source),
        },
        E::LdapResult { result } if result.rc == 10 => DirectoryError::Referral,
        E::LdapResult { result } => DirectoryError::Result { rc: result.rc },
        E::UrlParsing { .. } | E::UnknownScheme(_) => DirectoryError::Url {
            problem: UrlProblem::Scheme,
        },
        other => DirectoryError::Connect {
            detail: innermost(other),
        },
    }
}

/// The innermost cause of an error says what happened ("Connection
/// refused", "certificate verify failed").
fn innermost(e: &dyn std::error::Error) -> String {
    let mut detail = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    detail
}

fn constructed(tag: StructureTag) -> Option<Vec<StructureTag>> {
    match tag.payload {
        PL::C(items) => Some(items),
        PL::P(_) => None,
    }
}

fn primitive(tag: StructureTag) -> Option<Vec<u8>> {
    match tag.payload {
        PL::P(bytes) => Some(bytes),
        PL::C(_) => None,
    }
}

/// Decodes a `SearchResultEntry` (`[APPLICATION 4] { dn, attributes }`)
/// without panicking on a hostile answer; keeps only the attributes in
/// `wanted` (compared without case and options), counting every value
/// against the bounds.
fn decode_entry(
    re: ResultEntry,
    wanted: &[String],
    bytes: &mut u64,
    values: &mut usize,
    bounds: &Bounds,
) -> Result<Entry, DirectoryError> {
    let bad = || DirectoryError::Malformed;
    if re.0.id != 4 {
        return Err(bad());
    }
    let mut parts = constructed(re.0).ok_or_else(bad)?.into_iter();
    let dn = String::from_utf8(primitive(parts.next().ok_or_else(bad)?).ok_or_else(bad)?)
        .map_err(|_| bad())?;
    let attrs = constructed(parts.next().ok_or_else(bad)?).ok_or_else(bad)?;
    let mut out = Vec::new();
    for attr in attrs {
        let mut pa = constructed(attr).ok_or_else(bad)?.into_iter();
        let name = String::from_utf8(primitive(pa.next().ok_or_else(bad)?).ok_or_else(bad)?)
            .map_err(|_| bad())?;
        let vals = constructed(pa.next().ok_or_else(bad)?).ok_or_else(bad)?;
        // `userCertificate` answers a request for `userCertificate;binary`.
        let base = |a: &str| a.split(';').next().unwrap_or_default().to_ascii_lowercase();
        let keep = wanted.iter().any(|w| base(w) == base(&name));
        for v in vals {
            let v = primitive(v).ok_or_else(bad)?;
            // Every value counts, asked for or not: the bound is on what came.
            *bytes += v.len() as u64;
            *values += 1;
            if *bytes > bounds.max_bytes {
                return Err(DirectoryError::TooLarge {
                    max: bounds.max_bytes,
                });
            }
            if *values > bounds.max_values {
                return Err(DirectoryError::TooMany {
                    max: bounds.max_values as u64,
                });
            }
            if keep {
                out.push((name.clone(), v));
            }
        }
    }
    Ok(Entry { dn, values: out })
}

/// One anonymous search of `server` under `base` for `filter`, reading
/// `attributes`, within `bounds`. Result code 32 (no such object) is an
/// empty result.
pub fn search(
    server: &LdapUrl,
    base: &str,
    scope_kind: Scope,
    filter: &str,
    attributes: &[String],
    bounds: &Bounds,
) -> Result<Found, DirectoryError> {
    ldap3::parse_filter(filter).map_err(|()| DirectoryError::Filter)?;
    let start = Instant::now();
    let left = || {
        bounds
            .total
            .checked_sub(start.elapsed())
            .filter(|d| !d.is_zero())
            .ok_or(DirectoryError::Timeout)
    };
    let relay = Relay::open(server, bounds, start)?;
    let result = std::thread::scope(|scope| {
        relay.run(scope);
        let r = search_through(
            &relay,
            server,
            base,
            scope_of(scope_kind),
            filter,
            attributes,
            bounds,
            &left,
        );
        relay.close();
        r
    });
    relay.verdict(result)
}

fn scope_of(scope: Scope) -> ldap3::Scope {
    match scope {
        Scope::Base => ldap3::Scope::Base,
        Scope::One => ldap3::Scope::OneLevel,
        Scope::Sub => ldap3::Scope::Subtree,
    }
}

#[allow(clippy::too_many_arguments)]
fn search_through(
    relay: &Relay,
    server: &LdapUrl,
    base: &str,
    scope: ldap3::Scope,
    filter: &str,
    attributes: &[String],
    bounds: &Bounds,
    left: &dyn Fn() -> Result<Duration, DirectoryError>,
) -> Result<Found, DirectoryError> {
    let stream = relay.client().map_err(|e| DirectoryError::Connect {
        detail: e.to_string(),
    })?;
    let settings = LdapConnSettings::new()
        .set_conn_timeout(bounds.connect.min(left()?))
        .set_starttls(server.transport == Transport::StartTls)
        .set_std_stream(StdStream::Tcp(stream));
    let mut conn = LdapConn::with_settings(settings, &server.server()).map_err(|e| classify(&e))?;
    let bind = conn
        .with_timeout(bounds.read.min(left()?))
        .simple_bind("", "")
        .map_err(|e| classify(&e))?;
    if bind.rc != 0 {
        return Err(DirectoryError::Result { rc: bind.rc });
    }
    let server_limit = i32::try_from(bounds.max_entries.saturating_add(1)).unwrap_or(i32::MAX);
    let time_limit = i32::try_from(bounds.total.as_secs().max(1)).unwrap_or(i32::MAX);
    let mut stream = conn
        .with_search_options(
            SearchOptions::new()
                .sizelimit(server_limit)
                .timelimit(time_limit)
                .deref(DerefAliases::Never),
        )
        .with_timeout(bounds.read.min(left()?))
        .streaming_search(base, scope, filter, attributes.to_vec())
        .map_err(|e| classify(&e))?;
    let mut found = Found::default();
    let (mut bytes, mut values) = (0u64, 0usize);
    loop {
        left()?;
        let Some(item) = stream.next().map_err(|e| classify(&e))? else {
            break;
        };
        if item.is_ref() {
            found.references += 1;
            if found.references > bounds.max_entries {
                return Err(DirectoryError::Referral);
            }
            continue;
        }
        if item.is_intermediate() {
            continue;
        }
        if found.entries.len() == bounds.max_entries {
            found.truncated = true;
            return Ok(found);
        }
        let entry = decode_entry(item, attributes, &mut bytes, &mut values, bounds)?;
        found.entries.push(entry);
    }
    left()?;
    let result = stream.result();
    match result.rc {
        0 => {}
        4 => found.truncated = true,
        10 => return Err(DirectoryError::Referral),
        32 if found.entries.is_empty() => {}
        rc => return Err(DirectoryError::Result { rc }),
    }
    if found.entries.is_empty() && found.references > 0 {
        return Err(DirectoryError::Referral);
    }
    Ok(found)
}

/// A loopback relay between ldap3 and the server. ldap3 reads a whole LDAP
/// message into memory before handing it over, whatever its announced
/// length; the relay counts the bytes the server sends and cuts the
/// connection past [`Relay::cap`] or the deadline, so memory and time stay
/// bounded whatever the server sends.
struct Relay {
    /// The server's socket.
    remote: TcpStream,
    /// Our end of the loopback pair (relayed to and from `remote`).
    inner: TcpStream,
    /// The end given to ldap3 (taken once).
    client: std::sync::Mutex<Option<TcpStream>>,
    cap: u64,
    max_bytes: u64,
    deadline: Instant,
    stop: AtomicBool,
    over: AtomicBool,
    late: AtomicBool,
}

/// The addresses of `host:port`, resolved on a thread so that a stuck
/// resolver cannot outlast `timeout`.
fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>, DirectoryError> {
    let (tx, rx) = mpsc::channel();
    let target = (host.to_string(), port);
    std::thread::spawn(move || {
        let _ = tx.send(target.to_socket_addrs().map(Iterator::collect::<Vec<_>>));
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Ok(Ok(_)) => Err(DirectoryError::Connect {
            detail: format!("{host}: no address"),
        }),
        Ok(Err(e)) => Err(DirectoryError::Connect {
            detail: e.to_string(),
        }),
        Err(_) => Err(DirectoryError::Timeout),
    }
}

/// The first of `addrs` that accepts a connection, each tried for at most
/// `connect` and all of them before `deadline`: a name resolving to many
/// silent addresses cannot multiply the connect timeout past the search's
/// total time.
fn connect_any(
    addrs: &[SocketAddr],
    connect: Duration,
    deadline: Instant,
) -> std::io::Result<TcpStream> {
    let mut last = None;
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(addr, connect.min(left)) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::TimedOut)))
}

impl Relay {
    fn open(server: &LdapUrl, bounds: &Bounds, start: Instant) -> Result<Self, DirectoryError> {
        let connect = bounds.connect.min(bounds.total);
        let io = |e: std::io::Error| {
            if matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) {
                DirectoryError::Timeout
            } else {
                DirectoryError::Connect {
                    detail: e.to_string(),
                }
            }
        };
        let addrs = resolve(&server.host, server.port, connect)?;
        let remote = connect_any(&addrs, connect, start + bounds.total).map_err(io)?;
        let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(io)?;
        let client = TcpStream::connect(listener.local_addr().map_err(io)?).map_err(io)?;
        let (inner, peer) = listener.accept().map_err(io)?;
        if Some(peer) != client.local_addr().ok() {
            return Err(DirectoryError::Connect {
                detail: "loopback relay: unexpected peer".into(),
            });
        }
        // Wake up regularly to see the deadline and the stop flag.
        let tick = Some(Duration::from_millis(100));
        remote.set_read_timeout(tick).map_err(io)?;
        remote.set_write_timeout(Some(bounds.read)).map_err(io)?;
        let _ = remote.set_nodelay(true);
        let _ = client.set_nodelay(true);
        let _ = inner.set_nodelay(true);
        Ok(Self {
            remote,
            inner,
            client: std::sync::Mutex::new(Some(client)),
            // The values' bound, plus room for the protocol around them
            // (DNs, attribute names, BER and TLS framing).
            cap: bounds
                .max_bytes
                .saturating_add(bounds.max_bytes / 8)
                .saturating_add(64 * 1024),
            max_bytes: bounds.max_bytes,
            deadline: start + bounds.total,
            stop: AtomicBool::new(false),
            over: AtomicBool::new(false),
            late: AtomicBool::new(false),
        })
    }

    fn client(&self) -> std::io::Result<TcpStream> {
        self.client
            .lock()
            .ok()
            .and_then(|mut c| c.take())
            .ok_or_else(|| std::io::Error::other("relay already used"))
    }

    /// Starts the two copying threads in `scope`.
    fn run<'s>(&'s self, scope: &'s std::thread::Scope<'s, '_>) {
        let (Ok(mut from_server), Ok(mut to_client)) =
            (self.remote.try_clone(), self.inner.try_clone())
        else {
            self.close();
            return;
        };
        scope.spawn(move || {
            let mut buf = vec![0u8; 16 * 1024];
            let mut received = 0u64;
            while !self.stop.load(Ordering::Relaxed) {
                match from_server.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        received += n as u64;
                        if received > self.cap {
                            self.over.store(true, Ordering::Relaxed);
                            break;
                        }
                        if to_client.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        if Instant::now() >= self.deadline {
                            self.late.store(true, Ordering::Relaxed);
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
            self.close();
        });
        let (Ok(mut from_client), Ok(mut to_server)) =
            (self.inner.try_clone(), self.remote.try_clone())
        else {
            self.close();
            return;
        };
        scope.spawn(move || {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match from_client.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if to_server.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
            self.close();
        });
    }

    /// Stops both directions (the threads end at once).
    fn close(&self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.remote.shutdown(Shutdown::Both);
        let _ = self.inner.shutdown(Shutdown::Both);
    }

    /// The result, told by what the relay saw: a cut for size is
    /// `too_large`, a cut for time `timeout`, whatever ldap3 made of it.
    fn verdict(&self, result: Result<Found, DirectoryError>) -> Result<Found, DirectoryError> {
        match result {
            Err(_) if self.over.load(Ordering::Relaxed) => Err(DirectoryError::TooLarge {
                max: self.max_bytes,
            }),
            Err(_) if self.late.load(Ordering::Relaxed) => Err(DirectoryError::Timeout),
            r => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    /// An address whose connections hang: a listener with a backlog of 0,
    /// filled, never accepting (held by a python3 child until killed).
    fn silent_address() -> Option<(std::process::Child, SocketAddr)> {
        let script = "import socket,sys,time\n\
            l=socket.socket(); l.bind(('127.0.0.1',0)); l.listen(0)\n\
            c=socket.socket(); c.connect(l.getsockname())\n\
            print(l.getsockname()[1]); sys.stdout.flush(); time.sleep(60)\n";
        let mut child = std::process::Command::new("python3")
            .args(["-c", script])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take()?)
            .read_line(&mut line)
            .ok()?;
        let port: u16 = line.trim().parse().ok()?;
        Some((child, SocketAddr::from(([127, 0, 0, 1], port))))
    }

    #[test]
    fn many_silent_addresses_cannot_outlast_the_deadline() {
        let Some((mut child, addr)) = silent_address() else {
            return; // no python3
        };
        // The address really hangs (else the test proves nothing).
        assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_err());
        let start = Instant::now();
        let r = connect_any(
            &[addr; 6],
            Duration::from_secs(1),
            start + Duration::from_millis(1500),
        );
        let took = start.elapsed();
        let _ = child.kill();
        let _ = child.wait();
        assert!(r.is_err());
        assert!(took < Duration::from_millis(2500), "{took:?}");
    }
}
