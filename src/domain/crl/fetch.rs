//! Downloading a CRL: the [`Fetcher`] seam, and the real one over HTTP(S)
//! with reqwest (blocking, native-tls): timeouts, a size cap, at most three
//! redirects and no loop, no kept-alive connection, conditional GET.

use std::io::Read;
use std::time::{Duration, Instant};

use crate::domain::config::CrlPolicy;

/// What to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The URL (`http://`, `https://` or `file://`).
    pub url: String,
    /// `ETag` of the cached copy, for `If-None-Match`.
    pub etag: Option<String>,
    /// `Last-Modified` of the cached copy, for `If-Modified-Since`.
    pub last_modified: Option<String>,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// 304: the cached copy is current.
    NotModified,
    /// 200 with the body.
    Body {
        /// The bytes.
        bytes: Vec<u8>,
        /// `ETag` header.
        etag: Option<String>,
        /// `Last-Modified` header.
        last_modified: Option<String>,
    },
}

/// Why a download failed (each maps to the `unreachable` state).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum FetchError {
    /// The server did not answer in time.
    #[error("{}", crate::t!("fetch.timeout", url = .url))]
    Timeout {
        /// The URL.
        url: String,
    },
    /// Connecting failed.
    #[error("{}", crate::t!("fetch.connect", url = .url, why = .why.words()))]
    Connect {
        /// The URL.
        url: String,
        /// Why, as a code (put into words when shown).
        #[serde(default)]
        why: ConnectFailure,
        /// The library's own words (English), for `--json` only.
        detail: String,
    },
    /// HTTP status other than 200 and 304.
    #[error("{}", crate::t!("fetch.status", url = .url, status = .status))]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// Too many redirects, or a loop.
    #[error("{}", crate::t!("fetch.redirects", url = .url))]
    Redirects {
        /// The URL.
        url: String,
    },
    /// The body is larger than the cap.
    #[error("{}", crate::t!("fetch.too_large", url = .url, max = .max))]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap in bytes.
        max: u64,
    },
    /// The connection broke during the body.
    #[error("{}", crate::t!("fetch.cut", url = .url))]
    Cut {
        /// The URL.
        url: String,
        /// The library's own words (English), for `--json` only.
        detail: String,
    },
    /// A local file cannot be read.
    #[error("{}", crate::t!("fetch.file", url = .url, why = file_words(*.os_error)))]
    File {
        /// The URL.
        url: String,
        /// The system's error number (None: not a local regular file).
        #[serde(default)]
        os_error: Option<i32>,
        /// The system's own words, for `--json` only.
        detail: String,
    },
    /// A scheme certsafe does not fetch.
    #[error("{}", crate::t!("fetch.scheme", url = .url))]
    Scheme {
        /// The URL.
        url: String,
    },
    /// An LDAP address failed (bad URL, referral, no entry, LDAP error...).
    #[error("{}", crate::t!("fetch.ldap", url = .url, detail = .error.to_string()))]
    Ldap {
        /// The URL.
        url: String,
        /// What the directory did.
        error: crate::domain::ldap::DirectoryError,
    },
}

/// Why a connection could not be made, as a code: the words come from the
/// locale files when shown, the library's own text stays in `detail`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectFailure {
    /// Nothing listens at that address (connection refused).
    Refused,
    /// The name does not resolve.
    Dns,
    /// The connection was reset or aborted.
    Reset,
    /// The host or its network cannot be reached.
    NoRoute,
    /// The TLS handshake or the server's certificate failed.
    Tls,
    /// The proxy is wrong or refused.
    Proxy,
    /// Anything else (and files written before this code existed).
    #[default]
    Other,
}

impl ConnectFailure {
    /// Classifies an error chain: the system's error kind first, then the
    /// library's (English) text as a hint.
    pub fn classify(kind: Option<std::io::ErrorKind>, detail: &str) -> Self {
        use std::io::ErrorKind as K;
        match kind {
            Some(K::ConnectionRefused) => return Self::Refused,
            Some(K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe) => {
                return Self::Reset;
            }
            Some(K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown) => {
                return Self::NoRoute;
            }
            _ => {}
        }
        let d = detail.to_ascii_lowercase();
        if d.contains("refused") {
            Self::Refused
        } else if d.contains("dns") || d.contains("resolve") || d.contains("name or service") {
            Self::Dns
        } else if d.contains("reset") || d.contains("aborted") || d.contains("broken pipe") {
            Self::Reset
        } else if d.contains("unreachable") || d.contains("no route") {
            Self::NoRoute
        } else if d.contains("certificate")
            || d.contains("tls")
            || d.contains("ssl")
            || d.contains("handshake")
        {
            Self::Tls
        } else if d.contains("proxy") {
            Self::Proxy
        } else {
            Self::Other
        }
    }

    /// In the reader's language.
    pub fn words(self) -> String {
        let key = match self {
            Self::Refused => "fetch.why_refused",
            Self::Dns => "fetch.why_dns",
            Self::Reset => "fetch.why_reset",
            Self::NoRoute => "fetch.why_no_route",
            Self::Tls => "fetch.why_tls",
            Self::Proxy => "fetch.why_proxy",
            Self::Other => "fetch.why_other",
        };
        crate::t!(key)
    }
}

/// Why a local file could not be read, in the reader's language.
fn file_words(os_error: Option<i32>) -> String {
    os_error.map_or_else(
        || crate::t!("fetch.not_a_local_file"),
        |n| crate::domain::fsutil::describe_io(&std::io::Error::from_raw_os_error(n)),
    )
}

/// Downloads CRLs. The real one is [`HttpFetcher`]; tests may use another.
pub trait Fetcher: Send + Sync {
    /// Fetches `req`, calling `progress(received, total)` as bytes arrive.
    fn fetch(
        &self,
        req: &Request,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Response, FetchError>;
}

/// Limits of a download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// To connect.
    pub connect: Duration,
    /// Without a byte.
    pub read: Duration,
    /// For the whole download.
    pub total: Duration,
    /// Largest body.
    pub max_bytes: u64,
    /// `system`, `none` or a proxy URL.
    pub proxy: String,
}

impl Limits {
    /// From the configuration.
    pub fn from_policy(p: &CrlPolicy) -> Self {
        Self {
            connect: Duration::from_secs(p.connect_timeout_secs.max(1)),
            read: Duration::from_secs(p.read_timeout_secs.max(1)),
            total: Duration::from_secs(p.total_timeout_secs.max(1)),
            max_bytes: p.max_bytes,
            proxy: p.proxy.clone(),
        }
    }
}

/// HTTP(S) with reqwest, and `file://`.
#[derive(Debug)]
pub struct HttpFetcher {
    client: reqwest::blocking::Client,
    limits: Limits,
}

const MAX_REDIRECTS: usize = 3;

impl HttpFetcher {
    /// A fetcher with these limits.
    pub fn new(limits: Limits) -> Result<Self, FetchError> {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().iter().any(|u| u == attempt.url()) {
                attempt.error("redirect loop")
            } else if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::blocking::Client::builder()
            .redirect(policy)
            .connect_timeout(limits.connect)
            .timeout(limits.read)
            .pool_max_idle_per_host(0)
            .http1_only()
            .user_agent(concat!("certsafe/", env!("CARGO_PKG_VERSION")));
        match limits.proxy.as_str() {
            "" | "system" => {}
            "none" => builder = builder.no_proxy(),
            url => {
                let proxy = reqwest::Proxy::all(url).map_err(|e| FetchError::Connect {
                    url: url.to_string(),
                    why: ConnectFailure::Proxy,
                    detail: e.to_string(),
                })?;
                builder = builder.proxy(proxy);
            }
        }
        let client = builder.build().map_err(|e| FetchError::Connect {
            url: String::new(),
            why: ConnectFailure::Other,
            detail: e.to_string(),
        })?;
        Ok(Self { client, limits })
    }

    fn fetch_file(&self, url: &str) -> Result<Response, FetchError> {
        let err = |os_error: Option<i32>, detail: String| FetchError::File {
            url: url.to_string(),
            os_error,
            detail,
        };
        let path = url::Url::parse(url)
            .ok()
            .and_then(|u| u.to_file_path().ok())
            .ok_or_else(|| err(None, "not a local path".into()))?;
        // Non-blocking open, regular files only, size capped before a byte
        // is read: a `file://` URL naming a FIFO or /dev/zero fails at once.
        let bytes = match super::super::fsutil::read_limited(&path, self.limits.max_bytes) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                return Err(FetchError::TooLarge {
                    url: url.to_string(),
                    max: self.limits.max_bytes,
                });
            }
            Err(e) => return Err(err(e.raw_os_error(), e.to_string())),
        };
        Ok(Response::Body {
            bytes,
            etag: None,
            last_modified: None,
        })
    }
}

fn classify(url: &str, e: &reqwest::Error) -> FetchError {
    // The innermost cause says what happened ("Name or service not known",
    // "Connection refused"); the outer layers repeat the URL.
    let mut detail = e.to_string();
    let mut kind = None;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            kind = Some(io.kind());
        }
        source = s.source();
    }
    if e.is_redirect() {
        FetchError::Redirects { url: url.into() }
    } else if e.is_timeout() || detail.contains("timed out") {
        FetchError::Timeout { url: url.into() }
    } else if e.is_body() || e.is_decode() {
        FetchError::Cut {
            url: url.into(),
            detail,
        }
    } else {
        FetchError::Connect {
            url: url.into(),
            why: ConnectFailure::classify(kind, &detail),
            detail,
        }
    }
}

impl Fetcher for HttpFetcher {
    fn fetch(
        &self,
        req: &Request,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Response, FetchError> {
        let url = req.url.as_str();
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("file:") {
            return self.fetch_file(url);
        }
        if !lower.starts_with("http://") && !lower.starts_with("https://") {
            return Err(FetchError::Scheme { url: url.into() });
        }
        let start = Instant::now();
        let mut builder = self
            .client
            .get(url)
            .header(reqwest::header::CONNECTION, "close");
        if let Some(etag) = &req.etag {
            builder = builder.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &req.last_modified {
            builder = builder.header(reqwest::header::IF_MODIFIED_SINCE, lm);
        }
        let mut response = builder.send().map_err(|e| classify(url, &e))?;
        let status = response.status().as_u16();
        // A 304 answers a conditional request only: unasked, it confirms
        // nothing.
        if status == 304 && (req.etag.is_some() || req.last_modified.is_some()) {
            return Ok(Response::NotModified);
        }
        if status != 200 {
            return Err(FetchError::Status {
                url: url.into(),
                status,
            });
        }
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let etag = header(reqwest::header::ETAG);
        let last_modified = header(reqwest::header::LAST_MODIFIED);
        let bytes = self.read_body(&mut response, url, start, progress)?;
        Ok(Response::Body {
            bytes,
            etag,
            last_modified,
        })
    }
}

impl HttpFetcher {
    /// Reads a response body within the limits (size cap, total time).
    fn read_body(
        &self,
        response: &mut reqwest::blocking::Response,
        url: &str,
        start: Instant,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Vec<u8>, FetchError> {
        let total = response.content_length();
        let max = self.limits.max_bytes;
        if total.is_some_and(|t| t > max) {
            return Err(FetchError::TooLarge {
                url: url.into(),
                max,
            });
        }
        let capacity = usize::try_from(total.unwrap_or(0).min(max)).unwrap_or(0);
        let mut bytes = Vec::with_capacity(capacity);
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            if start.elapsed() > self.limits.total {
                return Err(FetchError::Timeout { url: url.into() });
            }
            let n = match response.read(&mut buf) {
                Ok(n) => n,
                Err(e) => {
                    let text = e.to_string();
                    return Err(
                        if e.kind() == std::io::ErrorKind::TimedOut || text.contains("timed out") {
                            FetchError::Timeout { url: url.into() }
                        } else {
                            FetchError::Cut {
                                url: url.into(),
                                detail: text,
                            }
                        },
                    );
                }
            };
            if n == 0 {
                break;
            }
            if bytes.len() as u64 + n as u64 > max {
                return Err(FetchError::TooLarge {
                    url: url.into(),
                    max,
                });
            }
            bytes.extend_from_slice(&buf[..n]);
            progress(bytes.len() as u64, total);
        }
        if total.is_some_and(|t| t != bytes.len() as u64) {
            return Err(FetchError::Cut {
                url: url.into(),
                detail: format!("{} of {} bytes", bytes.len(), total.unwrap_or(0)),
            });
        }
        Ok(bytes)
    }

    /// POSTs `body` (of type `content_type`) to an `http(s)://` URL and
    /// returns the 200 answer's body, within the same limits as a download
    /// (OCSP requests, RFC 6960 appendix A).
    pub fn post(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, FetchError> {
        let lower = url.to_ascii_lowercase();
        if !lower.starts_with("http://") && !lower.starts_with("https://") {
            return Err(FetchError::Scheme { url: url.into() });
        }
        let start = Instant::now();
        let mut response = self
            .client
            .post(url)
            .header(reqwest::header::CONNECTION, "close")
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .map_err(|e| classify(url, &e))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(FetchError::Status {
                url: url.into(),
                status,
            });
        }
        self.read_body(&mut response, url, start, &mut |_, _| {})
    }
}
