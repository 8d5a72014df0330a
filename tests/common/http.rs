//! A small HTTP/1.1 server on 127.0.0.1 inside the test process, written by
//! hand so a test controls every byte: stalls, cuts, lying lengths,
//! redirects. Each connection gets one response, then is closed.
#![allow(dead_code, clippy::unwrap_used, clippy::missing_panics_doc)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request target (path, or absolute URI through a proxy).
    pub target: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with a body and optional validators.
    Ok {
        /// The body.
        body: Vec<u8>,
        /// `ETag`.
        etag: Option<String>,
        /// `Last-Modified`.
        last_modified: Option<String>,
        /// Content type.
        content_type: &'static str,
    },
    /// 304.
    NotModified,
    /// 302 to this location.
    Redirect(String),
    /// Any status with a short text body.
    Status(u16),
    /// Accept the request, then say nothing for this long, then close.
    Stall(Duration),
    /// Send headers and the first `sent` bytes of `body` (with its full
    /// Content-Length), then close.
    Cut {
        /// The whole body announced.
        body: Vec<u8>,
        /// Bytes actually sent.
        sent: usize,
    },
    /// Send headers and part of the body, then stall.
    StallMidBody {
        /// The body announced.
        body: Vec<u8>,
        /// Bytes sent before stalling.
        sent: usize,
        /// Stall length.
        stall: Duration,
    },
    /// Send a body of `len` bytes without Content-Length (until close).
    Unsized {
        /// Length.
        len: usize,
    },
    /// Send `len` bytes one chunk of `chunk` bytes every `every`.
    Trickle {
        /// Total length announced.
        len: usize,
        /// Bytes per write.
        chunk: usize,
        /// Pause between writes.
        every: Duration,
    },
}

impl Reply {
    /// 200 with a CRL body.
    pub fn crl(body: Vec<u8>) -> Self {
        Self::Ok {
            body,
            etag: None,
            last_modified: None,
            content_type: "application/pkix-crl",
        }
    }
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// The server; stops when dropped.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Starts a server answering with `handler`.
    pub fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let (stop2, seen2) = (stop.clone(), seen.clone());
        std::thread::spawn(move || {
            // Bounded: the loop ends when the test drops the server.
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let h = handler.clone();
                        let s = seen2.clone();
                        std::thread::spawn(move || serve(stream, &*h, &s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self { addr, stop, seen }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(mut stream: TcpStream, handler: &Handler, seen: &Mutex<Vec<Seen>>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((n, v)) = h.trim_end().split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let req = Seen { target, headers };
    seen.lock().unwrap().push(req.clone());
    let reply = handler(&req);
    let _ = respond(&mut stream, reply);
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn head(status: &str, extra: &[(&str, String)]) -> Vec<u8> {
    let mut h = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (n, v) in extra {
        let _ = write!(h, "{n}: {v}\r\n");
    }
    h.push_str("\r\n");
    h.into_bytes()
}

fn respond(s: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    match reply {
        Reply::Ok {
            body,
            etag,
            last_modified,
            content_type,
        } => {
            let mut extra = vec![
                ("Content-Type", content_type.to_string()),
                ("Content-Length", body.len().to_string()),
            ];
            if let Some(e) = etag {
                extra.push(("ETag", e));
            }
            if let Some(l) = last_modified {
                extra.push(("Last-Modified", l));
            }
            s.write_all(&head("200 OK", &extra))?;
            s.write_all(&body)
        }
        Reply::NotModified => s.write_all(&head("304 Not Modified", &[])),
        Reply::Redirect(to) => s.write_all(&head(
            "302 Found",
            &[("Location", to), ("Content-Length", "0".into())],
        )),
        Reply::Status(code) => {
            let body = format!("status {code}");
            s.write_all(&head(
                &format!("{code} Whatever"),
                &[("Content-Length", body.len().to_string())],
            ))?;
            s.write_all(body.as_bytes())
        }
        Reply::Stall(d) => {
            std::thread::sleep(d);
            Ok(())
        }
        Reply::Cut { body, sent } => {
            s.write_all(&head(
                "200 OK",
                &[("Content-Length", body.len().to_string())],
            ))?;
            s.write_all(&body[..sent])?;
            s.flush()
        }
        Reply::StallMidBody { body, sent, stall } => {
            s.write_all(&head(
                "200 OK",
                &[("Content-Length", body.len().to_string())],
            ))?;
            s.write_all(&body[..sent])?;
            s.flush()?;
            std::thread::sleep(stall);
            Ok(())
        }
        Reply::Unsized { len } => {
            s.write_all(&head("200 OK", &[]))?;
            let block = vec![0x30u8; 64 * 1024];
            let mut left = len;
            while left > 0 {
                let n = left.min(block.len());
                s.write_all(&block[..n])?;
                left -= n;
            }
            Ok(())
        }
        Reply::Trickle { len, chunk, every } => {
            s.write_all(&head("200 OK", &[("Content-Length", len.to_string())]))?;
            let mut left = len;
            while left > 0 {
                let n = left.min(chunk);
                s.write_all(&vec![0x30u8; n])?;
                s.flush()?;
                left -= n;
                std::thread::sleep(every);
            }
            Ok(())
        }
    }
}
