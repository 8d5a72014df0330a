//! Shared test support: a test PKI made with the openssl API, temporary
//! homes, and a way to run the built binary.
#![allow(dead_code, clippy::unwrap_used, clippy::missing_panics_doc)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod crl;
pub mod http;
pub mod slapd;
pub mod stick;
pub mod store;

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509NameBuilder};

/// A strong ASCII password (zxcvbn score 4).
pub const STRONG: &str = "correct horse battery staple Brest 1987";
/// A strong non-ASCII password.
pub const STRONG_UTF8: &str = "vélo orange sous la pluie de Brest ÿ 1987";

/// The real IGC-Santé TEST fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/igc-sante-test")
}

/// Key algorithms for generated identities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSA 2048.
    Rsa,
    /// EC P-256.
    Ec,
}

/// A new private key.
pub fn key(alg: Alg) -> PKey<Private> {
    match alg {
        Alg::Rsa => PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap(),
        Alg::Ec => {
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
            PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
        }
    }
}

fn name(cn: &str) -> openssl::x509::X509Name {
    let mut b = X509NameBuilder::new().unwrap();
    b.append_entry_by_nid(Nid::COUNTRYNAME, "FR").unwrap();
    b.append_entry_by_nid(Nid::ORGANIZATIONNAME, "CERTSAFE TEST")
        .unwrap();
    b.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    b.build()
}

fn serial() -> Asn1Integer {
    let mut bn = BigNum::new().unwrap();
    bn.rand(64, openssl::bn::MsbOption::MAYBE_ZERO, false)
        .unwrap();
    bn.to_asn1_integer().unwrap()
}

/// Builds a certificate. `issuer` None = self-signed.
pub fn cert(
    subject_cn: &str,
    subject_key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    ca: bool,
    days_before: i64,
    days_after: i64,
    email: Option<&str>,
) -> X509 {
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&serial()).unwrap();
    let subject = name(subject_cn);
    b.set_subject_name(&subject).unwrap();
    match issuer {
        Some((ic, _)) => b.set_issuer_name(ic.subject_name()).unwrap(),
        None => b.set_issuer_name(&subject).unwrap(),
    }
    let now = time_now();
    b.set_not_before(&Asn1Time::from_unix(now - days_before * 86_400).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(now + days_after * 86_400).unwrap())
        .unwrap();
    b.set_pubkey(subject_key).unwrap();
    if ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()
                .unwrap(),
        )
        .unwrap();
    } else {
        b.append_extension(BasicConstraints::new().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .non_repudiation()
                .key_encipherment()
                .build()
                .unwrap(),
        )
        .unwrap();
        b.append_extension(ExtendedKeyUsage::new().email_protection().build().unwrap())
            .unwrap();
        if let Some(e) = email {
            let san = SubjectAlternativeName::new()
                .email(e)
                .build(&b.x509v3_context(issuer.map(|i| i.0.as_ref()), None))
                .unwrap();
            b.append_extension(san).unwrap();
        }
    }
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(issuer.map(|i| i.0.as_ref()), None))
        .unwrap();
    b.append_extension(ski).unwrap();
    if let Some((ic, _)) = issuer {
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(ic), None))
            .unwrap();
        b.append_extension(aki).unwrap();
    }
    let signer = issuer.map_or(subject_key, |i| i.1);
    b.sign(signer, MessageDigest::sha256()).unwrap();
    b.build()
}

fn time_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// A root, an intermediate, and leaves on demand.
pub struct Pki {
    /// Root key.
    pub root_key: PKey<Private>,
    /// Root certificate.
    pub root: X509,
    /// Intermediate key.
    pub inter_key: PKey<Private>,
    /// Intermediate certificate.
    pub inter: X509,
}

/// A leaf with its key.
pub struct Leaf {
    /// The key.
    pub key: PKey<Private>,
    /// The certificate.
    pub cert: X509,
}

impl Pki {
    /// A new PKI whose CAs use `alg`.
    pub fn new(alg: Alg) -> Self {
        let root_key = key(alg);
        let root = cert("CERTSAFE TEST ROOT", &root_key, None, true, 1, 3650, None);
        let inter_key = key(alg);
        let inter = cert(
            "CERTSAFE TEST INTERMEDIATE",
            &inter_key,
            Some((&root, &root_key)),
            true,
            1,
            3000,
            None,
        );
        Self {
            root_key,
            root,
            inter_key,
            inter,
        }
    }

    /// A leaf valid for a year.
    pub fn leaf(&self, cn: &str, alg: Alg) -> Leaf {
        self.leaf_valid(cn, alg, 1, 365)
    }

    /// A leaf with chosen validity (days before and after now; negative after = expired).
    pub fn leaf_valid(&self, cn: &str, alg: Alg, days_before: i64, days_after: i64) -> Leaf {
        let key = key(alg);
        let email = format!("{}@example.fr", cn.to_lowercase().replace(' ', "."));
        let cert = cert(
            cn,
            &key,
            Some((&self.inter, &self.inter_key)),
            false,
            days_before,
            days_after,
            Some(&email),
        );
        Leaf { key, cert }
    }

    /// Writes leaf cert, key (PKCS#8 PEM) and chain (PEM bundle) into `dir`.
    pub fn write(&self, dir: &Path, leaf: &Leaf) -> (PathBuf, PathBuf, PathBuf) {
        let c = dir.join("leaf.pem");
        let k = dir.join("leaf.key");
        let ch = dir.join("chain.pem");
        std::fs::write(&c, leaf.cert.to_pem().unwrap()).unwrap();
        std::fs::write(&k, leaf.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        let mut chain = self.inter.to_pem().unwrap();
        chain.extend(self.root.to_pem().unwrap());
        std::fs::write(&ch, chain).unwrap();
        (c, k, ch)
    }
}

/// SHA-256 fingerprint, lowercase hex.
pub fn fp(cert: &X509) -> String {
    hex::encode(cert.digest(MessageDigest::sha256()).unwrap())
}

/// A temporary certsafe home.
pub struct Home {
    /// The folder (deleted on drop).
    pub dir: tempfile::TempDir,
}

impl Home {
    /// A fresh, empty home.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `certsafe --home HOME` ready for arguments.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("certsafe").unwrap();
        c.arg("--home")
            .arg(self.path())
            .env_remove("CERTSAFE_HOME")
            .env("LANG", "C");
        c
    }

    /// A std Command (for tests that need to hold stdin open).
    pub fn std_cmd(&self) -> Command {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("certsafe"));
        c.arg("--home")
            .arg(self.path())
            .env_remove("CERTSAFE_HOME")
            .env("LANG", "C");
        c
    }

    /// Imports a generated leaf with its chain; returns the account ID.
    pub fn import(&self, pki: &Pki, leaf: &Leaf, label: &str) -> String {
        let files = tempfile::tempdir().unwrap();
        let (c, k, ch) = pki.write(files.path(), leaf);
        let out = self
            .cmd()
            .args(["account", "import", "--label", label, "--cert"])
            .arg(&c)
            .arg("--key")
            .arg(&k)
            .arg("--chain")
            .arg(&ch)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Backs up account `id` to `to` with `password` (stdin); returns the path written.
    pub fn backup(&self, id: &str, to: &Path, password: &str, profile: &str) -> PathBuf {
        let out = self
            .cmd()
            .args([
                "backup",
                id,
                "--password-stdin",
                "--profile",
                profile,
                "--to",
            ])
            .arg(to)
            .write_stdin(format!("{password}\n"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "backup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    }

    /// Sets revocation checking up for `pki`: trusts its root and
    /// intermediate and imports a fresh, empty CRL from each (so its leaves
    /// are `good`).
    pub fn watch_revocation(&self, pki: &Pki) {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, bytes: Vec<u8>| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let root = file("root.pem", pki.root.to_pem().unwrap());
        let inter = file("inter.pem", pki.inter.to_pem().unwrap());
        self.run_ok(&["ca", "import"], &[&root, &inter]);
        let spec = crl::CrlSpec::fresh(1);
        let root_crl = file("root.crl", crl::crl(&spec, &pki.root, &pki.root_key));
        let inter_crl = file("inter.crl", crl::crl(&spec, &pki.inter, &pki.inter_key));
        self.run_ok(&["crl", "import"], &[&root_crl, &inter_crl]);
    }

    /// Runs `args` then `paths`, asserting success; returns the output.
    pub fn run_ok(&self, args: &[&str], paths: &[&Path]) -> std::process::Output {
        let out = self.cmd().args(args).args(paths).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `account show ID --json`.
    pub fn account_json(&self, id: &str) -> serde_json::Value {
        let out = self
            .cmd()
            .args(["account", "show", id, "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Every file under the home, with its bytes (to prove "unchanged"); the
    /// journal is left out: it records failures too, on purpose.
    pub fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                let name = e.file_name().to_string_lossy().into_owned();
                if p.is_dir() {
                    stack.push(p);
                } else if !name.starts_with("journal.") {
                    out.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
                }
            }
        }
        out.sort();
        out
    }
}

/// Whether a command-line tool is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Starts `cmd` with `stdin` written to its standard input (then closed),
/// standard output and error captured.
pub fn spawn_with_stdin(mut cmd: Command, stdin: &str) -> std::process::Child {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child
}

/// Whether we run as root.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Whether a test that needs root may run: true as root; in CI (`CI=true`)
/// not being root is a failure; elsewhere the test is skipped with a note.
pub fn root_or_skip(why: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").is_err(),
        "this test needs root ({why}) and CI runs as root: run .ci/run as root"
    );
    eprintln!("skipped: needs root ({why})");
    false
}

/// In CI (`CI=true`) a missing tool is a failure; elsewhere the test is skipped with a note.
pub fn require(tool: &str) -> bool {
    if have(tool) {
        return true;
    }
    assert!(
        std::env::var("CI").is_err(),
        "{tool} is required in CI: .ci/run must install it"
    );
    eprintln!("skipped: {tool} is not installed");
    false
}

/// Runs a shell command, asserting success; returns stdout.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
