//! OCSP through the real `openssl ocsp` responder on 127.0.0.1: the CA and
//! a delegated responder answer; a rogue responder (same name, other key), a
//! CA certificate without the `OCSPSigning` usage, stale, `tryLater` and
//! wrong-certificate answers never make a certificate `good`. The PKI is
//! made with the `openssl` command line (AIA OCSP pointing at the local
//! port); hand-made answers (stale, no nonce, no nextUpdate) are signed with
//! Python's `cryptography` and served by a one-answer server on that port.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Home, require, sh};
use serde_json::Value;

const SUBJECT_CA: &str = "/C=FR/O=OCSP TEST/CN=OCSP TEST CA";
const EXT: &str = "[leaf]
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
authorityInfoAccess=OCSP;URI:URL
[resp]
basicConstraints=CA:FALSE
keyUsage=digitalSignature
extendedKeyUsage=OCSPSigning
[noeku]
basicConstraints=CA:FALSE
keyUsage=digitalSignature
";

/// The test PKI in a temporary folder.
struct Pki {
    dir: tempfile::TempDir,
    port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let d = dir.path().display().to_string();
        std::fs::write(
            dir.path().join("ext.cnf"),
            EXT.replace("URL", &format!("http://127.0.0.1:{port}")),
        )
        .unwrap();
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
        sh(&format!(
            "cd {d} && openssl req -x509 {ec} -keyout ca.key -out ca.pem -subj '{SUBJECT_CA}' -days 30 \
             -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null"
        ));
        for (name, serial, ext) in [
            ("good", "0x1001", "leaf"),
            ("revoked", "0x1002", "leaf"),
            ("stranger", "0x1003", "leaf"),
            ("resp", "0x2001", "resp"),
            ("noeku", "0x2002", "noeku"),
        ] {
            sh(&format!(
                "cd {d} && openssl req -new {ec} -keyout {name}.key -subj '/C=FR/O=OCSP TEST/CN={name}' 2>/dev/null \
                 | openssl x509 -req -CA ca.pem -CAkey ca.key -set_serial {serial} -days 10 \
                   -extfile ext.cnf -extensions {ext} -out {name}.pem 2>/dev/null"
            ));
        }
        // Same name as the CA, its own key, the OCSPSigning usage: an impostor.
        sh(&format!(
            "cd {d} && openssl req -x509 {ec} -keyout rogue.key -out rogue.pem -subj '{SUBJECT_CA}' -days 30 \
             -addext extendedKeyUsage=OCSPSigning 2>/dev/null"
        ));
        std::fs::write(
            dir.path().join("index.txt"),
            "V\t301231000000Z\t\t1001\tunknown\t/C=FR/O=OCSP TEST/CN=good\n\
             R\t301231000000Z\t250102030405Z,keyCompromise\t1002\tunknown\t/C=FR/O=OCSP TEST/CN=revoked\n",
        )
        .unwrap();
        Self { dir, port }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `openssl ocsp` signing with `signer` (`ca`, `resp`, `rogue`, `noeku`).
    fn responder(&self, signer: &str, ndays: bool) -> Responder {
        let mut cmd = Command::new("openssl");
        cmd.current_dir(self.dir.path())
            .args(["ocsp", "-index", "index.txt", "-CA", "ca.pem"])
            .args(["-port", &self.port.to_string()])
            .args(["-rsigner", &format!("{signer}.pem")])
            .args(["-rkey", &format!("{signer}.key")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if ndays {
            cmd.args(["-ndays", "1"]);
        }
        let mut child = cmd.spawn().unwrap();
        // Ready once it says so (a probing connection would hang OpenSSL
        // 3.0's one-at-a-time server); the rest of stderr is drained.
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("waiting for OCSP client") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the responder did not start");
        Responder(child)
    }

    /// A home trusting the CA, no proxy.
    fn home(&self) -> Home {
        let home = Home::new();
        std::fs::write(home.path().join("config.toml"), "[crl]\nproxy = \"none\"\n").unwrap();
        home.cmd()
            .args(["ca", "import"])
            .arg(self.path("ca.pem"))
            .assert()
            .success();
        home
    }

    /// An answer built with Python's `cryptography` (see `MAKE_RESPONSE`).
    fn made(&self, about: &str, status: &str, this_days: i64, next_days: Option<i64>) -> Vec<u8> {
        self.made_with(about, status, this_days, next_days, "")
    }

    /// [`Pki::made`] with `extra`: `nonce=HEX` (a nonce not ours) or
    /// `expired-responder` (signed by a delegated responder, EKU included,
    /// whose certificate expired).
    fn made_with(
        &self,
        about: &str,
        status: &str,
        this_days: i64,
        next_days: Option<i64>,
        extra: &str,
    ) -> Vec<u8> {
        let script = self.path("make.py");
        std::fs::write(&script, MAKE_RESPONSE).unwrap();
        let out = self.path("made.der");
        let next = next_days.map_or_else(|| "none".to_string(), |n| n.to_string());
        sh(&format!(
            "cd {} && python3 make.py {about}.pem ca.pem ca.key {status} {this_days} {next} {} '{extra}'",
            self.dir.path().display(),
            out.display()
        ));
        std::fs::read(out).unwrap()
    }

    /// Serves `body` as the OCSP answer to every request until dropped.
    fn serve(&self, body: Vec<u8>) -> Fixed {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
                let Ok((s, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                answer(s, &body);
            }
        });
        Fixed(stop, Some(thread))
    }
}

fn answer(mut s: TcpStream, body: &[u8]) {
    s.set_nonblocking(false).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut req = vec![0; len];
    let _ = r.read_exact(&mut req);
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
}

/// The fixed-answer server; stopped (and its port freed) when dropped.
struct Fixed(
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    Option<std::thread::JoinHandle<()>>,
);

impl Drop for Fixed {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.1.take() {
            let _ = t.join();
        }
    }
}

/// The responder process, killed when dropped.
struct Responder(Child);

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const MAKE_RESPONSE: &str = r"
import sys, datetime
from cryptography import x509
from cryptography.x509 import ocsp
from cryptography.hazmat.primitives import hashes, serialization
leaf, ca, key, status, this_days, next_days, out = sys.argv[1:8]
leaf = x509.load_pem_x509_certificate(open(leaf, 'rb').read())
ca = x509.load_pem_x509_certificate(open(ca, 'rb').read())
key = serialization.load_pem_private_key(open(key, 'rb').read(), None)
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
this = now + datetime.timedelta(days=int(this_days))
nxt = None if next_days == 'none' else now + datetime.timedelta(days=int(next_days))
st = {'good': ocsp.OCSPCertStatus.GOOD, 'revoked': ocsp.OCSPCertStatus.REVOKED}[status]
kw = {}
if status == 'revoked':
    kw = dict(revocation_time=datetime.datetime(2025, 1, 2, 3, 4, 5), revocation_reason=x509.ReasonFlags.key_compromise)
else:
    kw = dict(revocation_time=None, revocation_reason=None)
b = ocsp.OCSPResponseBuilder().add_response(cert=leaf, issuer=ca, algorithm=hashes.SHA1(),
    cert_status=st, this_update=this, next_update=nxt, **kw)
extra = sys.argv[8] if len(sys.argv) > 8 else ''
if extra.startswith('nonce='):
    b = b.add_extension(x509.OCSPNonce(bytes.fromhex(extra[6:])), critical=False)
signer, signer_key = ca, key
if extra == 'expired-responder':
    from cryptography.hazmat.primitives.asymmetric import ec
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer = (x509.CertificateBuilder().subject_name(x509.Name.from_rfc4514_string('CN=expired responder'))
        .issuer_name(ca.subject).public_key(signer_key.public_key()).serial_number(0x3001)
        .not_valid_before(now - datetime.timedelta(days=20)).not_valid_after(now - datetime.timedelta(days=10))
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .sign(key, hashes.SHA256()))
    b = b.certificates([signer])
b = b.responder_id(ocsp.OCSPResponderEncoding.HASH, signer)
open(out, 'wb').write(b.sign(signer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
";

/// `check --json FILE [--ocsp]`: (exit code, the certificate's JSON).
fn check(home: &Home, file: &Path, ocsp: bool) -> (i32, Value) {
    let mut cmd = home.cmd();
    cmd.args(["check", "--json"]).arg(file);
    if ocsp {
        cmd.arg("--ocsp");
    }
    let out = cmd.output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "no JSON: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), v["certificates"][0].clone())
}

fn tools() -> bool {
    require("openssl") && require("python3")
}

#[test]
fn ca_as_responder_good_revoked_unknown() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    let home = pki.home();
    let _r = pki.responder("ca", true);

    let (code, c) = check(&home, &pki.path("good.pem"), false);
    assert_eq!((code, c["state"].as_str()), (0, Some("good")), "{c}");
    assert_eq!(c["source"], "ocsp");
    assert_eq!(c["ocsp"]["status"], "good");
    assert_eq!(c["ocsp"]["nonce"], "checked");
    assert_eq!(
        c["ocsp"]["url"].as_str(),
        Some(format!("http://127.0.0.1:{}", pki.port).as_str())
    );
    assert!(c["ocsp"]["this_update"].is_string());
    assert!(c["ocsp"]["next_update"].is_string());

    let (code, c) = check(&home, &pki.path("revoked.pem"), false);
    assert_eq!((code, c["state"].as_str()), (2, Some("revoked")), "{c}");
    assert_eq!(c["source"], "ocsp");
    // The reason read from the answer itself, not the status (the crate bug).
    assert_eq!(c["reason"], "key_compromise");
    assert_eq!(c["revoked_at"], "2025-01-02T03:04:05Z");
    assert_eq!(c["ocsp"]["status"], "revoked");

    let (code, c) = check(&home, &pki.path("stranger.pem"), false);
    assert_eq!((code, c["state"].as_str()), (3, Some("unknown")), "{c}");
    assert_eq!(c["ocsp"]["status"], "unknown");
    assert!(c["source"].is_null());
}

#[test]
fn delegated_responder_with_ocsp_signing() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    let home = pki.home();
    let _r = pki.responder("resp", true);
    let (code, c) = check(&home, &pki.path("good.pem"), true);
    assert_eq!((code, c["state"].as_str()), (0, Some("good")), "{c}");
    assert_eq!(c["source"], "ocsp");
    let (code, c) = check(&home, &pki.path("revoked.pem"), true);
    assert_eq!(
        (code, c["reason"].as_str()),
        (2, Some("key_compromise")),
        "{c}"
    );
}

#[test]
fn rogue_responder_never_good() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    let home = pki.home();
    let _r = pki.responder("rogue", true);
    let (code, c) = check(&home, &pki.path("good.pem"), true);
    assert_eq!((code, c["state"].as_str()), (3, Some("unknown")), "{c}");
    assert_eq!(c["ocsp"]["status"], "error");
    assert_eq!(c["ocsp"]["code"], "rogue_responder");
    // Its "revoked" does not count either: only authorised answers do.
    let (_, c) = check(&home, &pki.path("revoked.pem"), true);
    assert_eq!(c["state"], "unknown", "{c}");
}

#[test]
fn delegated_responder_without_eku_never_good() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    let home = pki.home();
    let _r = pki.responder("noeku", true);
    let (code, c) = check(&home, &pki.path("good.pem"), true);
    assert_eq!((code, c["state"].as_str()), (3, Some("unknown")), "{c}");
    assert_eq!(c["ocsp"]["code"], "responder_not_authorized");
}

#[test]
fn answer_without_next_update_counts_briefly_and_is_cached() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    let home = pki.home();
    let r = pki.responder("ca", false);
    let (code, c) = check(&home, &pki.path("good.pem"), false);
    assert_eq!((code, c["state"].as_str()), (0, Some("good")), "{c}");
    assert!(c["ocsp"]["next_update"].is_null(), "{c}");
    assert_eq!(c["ocsp"]["cached"], false);
    drop(r);
    // The responder is gone: the cached answer (re-verified) still decides.
    let (code, c) = check(&home, &pki.path("good.pem"), false);
    assert_eq!((code, c["state"].as_str()), (0, Some("good")), "{c}");
    assert_eq!(c["ocsp"]["cached"], true);
    let fp = common::fp(
        &openssl::x509::X509::from_pem(&std::fs::read(pki.path("good.pem")).unwrap()).unwrap(),
    );
    assert!(
        home.path()
            .join(format!("cache/crl/ocsp/{fp}.der"))
            .is_file()
    );
}

#[test]
fn stale_answer_never_good() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    let home = pki.home();
    let stale = pki.made("good", "good", -3, Some(-2));
    let _s = pki.serve(stale.clone());
    let (code, c) = check(&home, &pki.path("good.pem"), true);
    assert_eq!((code, c["state"].as_str()), (3, Some("unknown")), "{c}");
    assert_eq!(c["ocsp"]["code"], "stale");
    // Planted in the cache, it is re-verified and ignored too.
    let fp = common::fp(
        &openssl::x509::X509::from_pem(&std::fs::read(pki.path("good.pem")).unwrap()).unwrap(),
    );
    let dir = home.path().join("cache/crl/ocsp");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{fp}.der")), &stale).unwrap();
    let (_, c) = check(&home, &pki.path("good.pem"), false);
    assert_eq!(c["state"], "unknown", "{c}");
    assert_eq!(c["ocsp"]["cached"], false);
}

#[test]
fn hand_made_answers_reason_no_next_update_nonce_and_wrong_certificate() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    let home = pki.home();
    // Revoked with a reason and no nextUpdate, no nonce: both crate bugs' cases.
    let s = pki.serve(pki.made("revoked", "revoked", 0, None));
    let (code, c) = check(&home, &pki.path("revoked.pem"), true);
    assert_eq!((code, c["state"].as_str()), (2, Some("revoked")), "{c}");
    assert_eq!(c["reason"], "key_compromise");
    assert!(c["ocsp"]["next_update"].is_null());
    assert_eq!(c["ocsp"]["nonce"], "absent");
    // The same answer about another certificate.
    let (code, c) = check(&home, &pki.path("good.pem"), true);
    assert_eq!((code, c["state"].as_str()), (3, Some("unknown")), "{c}");
    assert_eq!(c["ocsp"]["code"], "wrong_certificate");
    drop(s);
    // tryLater.
    let _s = pki.serve(vec![0x30, 0x03, 0x0a, 0x01, 0x03]);
    let (code, c) = check(&home, &pki.path("good.pem"), true);
    assert_eq!(
        (code, c["ocsp"]["code"].as_str()),
        (3, Some("try_later")),
        "{c}"
    );
}

#[test]
fn crl_good_ocsp_revoked_is_revoked() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    let home = pki.home();
    let ca = openssl::x509::X509::from_pem(&std::fs::read(pki.path("ca.pem")).unwrap()).unwrap();
    let key =
        openssl::pkey::PKey::private_key_from_pem(&std::fs::read(pki.path("ca.key")).unwrap())
            .unwrap();
    let crl = common::crl::crl(&common::crl::CrlSpec::fresh(1), &ca, &key);
    let crl_file = pki.path("ca.crl");
    std::fs::write(&crl_file, crl).unwrap();
    home.cmd()
        .args(["crl", "import"])
        .arg(&crl_file)
        .assert()
        .success();
    let _r = pki.responder("ca", true);
    // Without --ocsp a fresh CRL decides and the responder is not asked.
    let (code, c) = check(&home, &pki.path("revoked.pem"), false);
    assert_eq!((code, c["source"].as_str()), (0, Some("crl")), "{c}");
    assert!(c["ocsp"].is_null());
    // With --ocsp the responder's "revoked" wins.
    let (code, c) = check(&home, &pki.path("revoked.pem"), true);
    assert_eq!((code, c["state"].as_str()), (2, Some("revoked")), "{c}");
    assert_eq!(c["source"], "ocsp");
    assert_eq!(c["reason"], "key_compromise");
    // And its "good" leaves the CRL's verdict.
    let (code, c) = check(&home, &pki.path("good.pem"), true);
    assert_eq!((code, c["source"].as_str()), (0, Some("crl")), "{c}");
    assert_eq!(c["ocsp"]["status"], "good");
}

#[test]
fn ocsp_off_in_config_asks_nobody() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    let home = pki.home();
    std::fs::write(
        home.path().join("config.toml"),
        "[crl]\nproxy = \"none\"\n[revocation]\nocsp = false\n",
    )
    .unwrap();
    let _r = pki.responder("ca", true);
    let (code, c) = check(&home, &pki.path("good.pem"), false);
    assert_eq!((code, c["state"].as_str()), (3, Some("unknown")), "{c}");
    assert!(c["ocsp"].is_null());
    // --ocsp asks anyway.
    let (code, _) = check(&home, &pki.path("good.pem"), true);
    assert_eq!(code, 0);
}

#[test]
fn foreign_nonce_and_expired_responder_never_good() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    let home = pki.home();
    // A valid answer carrying another request's nonce: a replay.
    let s = pki.serve(pki.made_with(
        "good",
        "good",
        0,
        Some(1),
        "nonce=00112233445566778899aabbccddeeff",
    ));
    let (code, c) = check(&home, &pki.path("good.pem"), true);
    assert_eq!((code, c["state"].as_str()), (3, Some("unknown")), "{c}");
    assert_eq!(c["ocsp"]["code"], "nonce_mismatch");
    drop(s);
    // Signed by a delegated responder of the CA whose certificate expired.
    let _s = pki.serve(pki.made_with("good", "good", 0, Some(1), "expired-responder"));
    let (code, c) = check(&home, &pki.path("good.pem"), true);
    assert_eq!((code, c["state"].as_str()), (3, Some("unknown")), "{c}");
    assert_eq!(c["ocsp"]["code"], "responder_not_valid");
}
