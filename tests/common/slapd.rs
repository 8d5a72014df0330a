//! A real `OpenLDAP` `slapd` on 127.0.0.1, on a free port, with a throwaway
//! configuration (slapd.conf, mdb backend, anonymous read, schemas core,
//! cosine and inetorgperson — core defines pkiCA, certificateRevocationList
//! and deltaRevocationList; inetorgperson userSMIMECertificate). Killed and
//! removed on drop. Also a fake directory that accepts and never answers,
//! or answers one byte at a time.
#![allow(dead_code, clippy::unwrap_used, clippy::missing_panics_doc)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The suffix of the test directory.
pub const SUFFIX: &str = "o=test";
const ROOT_DN: &str = "cn=admin,o=test";
const ROOT_PW: &str = "throwaway";
const SLAPD: &str = "/usr/sbin/slapd";

/// Whether slapd and ldapadd are installed: in CI (`CI=true`) their absence
/// fails the test; elsewhere the test is skipped with a note.
pub fn slapd_or_skip() -> bool {
    let ok = Path::new(SLAPD).exists() && super::have("ldapadd");
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "slapd and ldap-utils are required in CI: .ci/run must install them"
        );
        eprintln!("skipped: slapd / ldap-utils are not installed");
    }
    ok
}

/// A free TCP port on 127.0.0.1 (free when asked).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running slapd.
pub struct Slapd {
    dir: tempfile::TempDir,
    child: Child,
    /// Its port.
    pub port: u16,
}

impl Slapd {
    /// Starts slapd with the `o=test` suffix (entry created) and waits
    /// until it answers.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        std::fs::create_dir(&db).unwrap();
        let conf = dir.path().join("slapd.conf");
        std::fs::write(
            &conf,
            format!(
                "include /etc/ldap/schema/core.schema\n\
                 include /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\n\
                 pidfile {pid}\n\
                 modulepath /usr/lib/ldap\n\
                 moduleload back_mdb\n\
                 sizelimit unlimited\n\
                 sockbuf_max_incoming_auth 67108864\n\
                 database mdb\n\
                 maxsize 268435456\n\
                 suffix \"{SUFFIX}\"\n\
                 rootdn \"{ROOT_DN}\"\n\
                 rootpw {ROOT_PW}\n\
                 directory {db}\n\
                 access to * by * read\n",
                pid = dir.path().join("slapd.pid").display(),
                db = db.display(),
            ),
        )
        .unwrap();
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(SLAPD)
                .arg("-f")
                .arg(&conf)
                .arg("-h")
                .arg(format!("ldap://127.0.0.1:{port}/"))
                .arg("-d")
                .arg("0")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    let s = Self { dir, child, port };
                    s.add(&format!(
                        "dn: {SUFFIX}\nobjectClass: organization\no: test\n"
                    ));
                    return s;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            last = String::from_utf8_lossy(&out.stderr).into_owned();
        }
        panic!("slapd did not start: {last}");
    }

    /// `ldap://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// A folder for files the LDIF refers to.
    pub fn files(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Writes `bytes` to a file and returns the `file://` URL for an LDIF
    /// `attr:< URL` line.
    pub fn file(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        format!("file://{}", p.display())
    }

    /// Loads LDIF as the root DN (`-M`: referral objects are stored as
    /// entries), asserting success.
    pub fn add(&self, ldif: &str) {
        let mut child = Command::new("ldapadd")
            .args(["-x", "-M", "-H", &self.url(), "-D", ROOT_DN, "-w", ROOT_PW])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "ldapadd failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a fake directory misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fake {
    /// Accepts, never answers.
    Silent,
    /// Announces a 16 MiB LDAP message, then sends one byte every 200 ms.
    Trickle,
    /// Announces a 16 MiB LDAP message and sends it as fast as it can.
    Flood,
    /// Sends a short LDAP message missing its operation (`30 03 02 01 01`).
    Malformed,
}

/// A fake directory on 127.0.0.1 that accepts connections and misbehaves
/// as told. Stops on drop.
pub struct Mute {
    /// Its port.
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl Mute {
    /// Starts it.
    pub fn start(fake: Fake) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !s2.load(Ordering::Relaxed) {
                if let Ok((mut c, _)) = listener.accept() {
                    if fake == Fake::Malformed {
                        let _ = c.write_all(&[0x30, 0x03, 0x02, 0x01, 0x01]);
                    } else if fake != Fake::Silent {
                        // A SEQUENCE of 16 MiB announced.
                        let _ = c.write_all(&[0x30, 0x84, 0x01, 0x00, 0x00, 0x00]);
                    }
                    if fake == Fake::Flood {
                        let s3 = s2.clone();
                        std::thread::spawn(move || {
                            let chunk = vec![0x04u8; 64 * 1024];
                            while !s3.load(Ordering::Relaxed) && c.write_all(&chunk).is_ok() {}
                        });
                        continue;
                    }
                    held.push(c);
                }
                if fake == Fake::Trickle {
                    for c in &mut held {
                        let _ = c.write_all(&[0x04]);
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Self { port, stop }
    }

    /// `ldap://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }
}

impl Drop for Mute {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Slapd {
    /// Applies an LDIF change (`changetype: modify`...) as the root DN,
    /// asserting success.
    pub fn modify(&self, ldif: &str) {
        let mut child = Command::new("ldapmodify")
            .args(["-x", "-H", &self.url(), "-D", ROOT_DN, "-w", ROOT_PW])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "ldapmodify failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The TLS files of a slapd (PEM): the CA file it announces, its
/// certificate and its key.
pub struct TlsFiles<'a> {
    /// `TLSCACertificateFile`.
    pub ca: &'a Path,
    /// `TLSCertificateFile`.
    pub cert: &'a Path,
    /// `TLSCertificateKeyFile`.
    pub key: &'a Path,
}

/// A running slapd with TLS: `ldap://` (`StartTLS` offered) on
/// `slapd.port`, `ldaps://` on `ldaps_port`.
pub struct TlsSlapd {
    /// The server (plain port, `StartTLS`).
    pub slapd: Slapd,
    /// The LDAPS port.
    pub ldaps_port: u16,
}

impl TlsSlapd {
    /// Starts slapd with these TLS files, listening on
    /// `ldap://127.0.0.1:P ldaps://127.0.0.1:Q`, and waits until both
    /// answer.
    pub fn start(tls: &TlsFiles<'_>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        std::fs::create_dir(&db).unwrap();
        let conf = dir.path().join("slapd.conf");
        std::fs::write(
            &conf,
            format!(
                "include /etc/ldap/schema/core.schema\n\
                 include /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\n\
                 pidfile {pid}\n\
                 modulepath /usr/lib/ldap\n\
                 moduleload back_mdb\n\
                 TLSCACertificateFile {ca}\n\
                 TLSCertificateFile {cert}\n\
                 TLSCertificateKeyFile {key}\n\
                 sizelimit unlimited\n\
                 database mdb\n\
                 maxsize 268435456\n\
                 suffix \"{SUFFIX}\"\n\
                 rootdn \"{ROOT_DN}\"\n\
                 rootpw {ROOT_PW}\n\
                 directory {db}\n\
                 access to * by * read\n",
                pid = dir.path().join("slapd.pid").display(),
                db = db.display(),
                ca = tls.ca.display(),
                cert = tls.cert.display(),
                key = tls.key.display(),
            ),
        )
        .unwrap();
        let mut last = String::new();
        let mut dir = Some(dir);
        for _ in 0..5 {
            let (port, ldaps_port) = (free_port(), free_port());
            if port == ldaps_port {
                continue;
            }
            let mut child = Command::new(SLAPD)
                .arg("-f")
                .arg(&conf)
                .arg("-h")
                .arg(format!(
                    "ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{ldaps_port}/"
                ))
                .arg("-d")
                .arg("0")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok()
                    && TcpStream::connect(("127.0.0.1", ldaps_port)).is_ok()
                {
                    let slapd = Slapd {
                        dir: dir.take().unwrap(),
                        child,
                        port,
                    };
                    slapd.add(&format!(
                        "dn: {SUFFIX}\nobjectClass: organization\no: test\n"
                    ));
                    return Self { slapd, ldaps_port };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            last = String::from_utf8_lossy(&out.stderr).into_owned();
        }
        panic!("slapd (TLS) did not start: {last}");
    }

    /// `ldaps://127.0.0.1:Q`.
    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }
}
