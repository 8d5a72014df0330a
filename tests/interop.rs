//! Interoperability of backups with independent PKCS#12 implementations.
//!
//! 1. Round trips through the CLI: import → backup → restore in a fresh home,
//!    for RSA and EC keys, both profiles, ASCII and non-ASCII passwords.
//! 2. Files written by `certsafe backup` open in `OpenSSL`, NSS, `GnuTLS`, Java
//!    and Python `cryptography`, with the right certificate, key and
//!    friendlyName.
//! 3. `certsafe verify` and `certsafe restore` read files made by those same
//!    tools (AES, 3DES, RC2-40, no MAC).
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

mod common;

use std::borrow::BorrowMut;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Alg, Home, Leaf, Pki, STRONG, STRONG_UTF8, fp, require};
use openssl::hash::MessageDigest;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{HasPublic, PKey, PKeyRef};
use openssl::sign::{Signer, Verifier};
use openssl::x509::{X509, X509Req};
use serde_json::Value;
use tempfile::TempDir;

/// The account label, which becomes the friendlyName of backups.
const LABEL: &str = "Dr Élodie Ümlaut";

/// What `certsafe restore` and `verify` print when a file has no MAC.
const NO_MAC_WARNING: &str = "no integrity check (MAC)";

// ---------------------------------------------------------------------------
// Helpers: processes, files, comparisons
// ---------------------------------------------------------------------------

/// Runs a command with no stdin, asserting success; returns its output.
fn run(mut cmd: impl BorrowMut<Command>) -> Output {
    let cmd = cmd.borrow_mut();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// stdout then stderr, as lossy text.
fn all_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A command with arguments.
fn tool<I, S>(program: &str, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(program);
    c.args(args);
    c
}

/// Writes `text` and a newline to `dir/name` (password files).
fn line_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{text}\n")).unwrap();
    p
}

/// `file:PATH` for OpenSSL's `-passin` / `-passout`.
fn pass_arg(path: &Path) -> String {
    format!("file:{}", path.display())
}

/// `AA:BB:...` upper case, as keytool shows fingerprints.
fn colon_hex(fingerprint: &str) -> String {
    fingerprint
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap().to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

/// The certificate in the first PEM certificate block of `text` (other
/// blocks and text before it are skipped).
fn first_pem_cert(text: &[u8]) -> X509 {
    X509::from_pem(text)
        .unwrap_or_else(|e| panic!("no certificate in:\n{}\n{e}", String::from_utf8_lossy(text)))
}

/// Every PEM certificate in `text`.
fn pem_certs(text: &[u8]) -> Vec<X509> {
    X509::stack_from_pem(text).unwrap()
}

/// Panics unless `key` has the public key of `leaf`.
fn assert_same_key<T: HasPublic>(key: &PKeyRef<T>, leaf: &Leaf, context: &str) {
    assert!(
        key.public_eq(&leaf.key),
        "{context}: the key is not the original key (public parts differ)"
    );
}

/// Panics unless `key` signs a message that the leaf certificate verifies.
fn assert_key_signs_for(key: &PKeyRef<openssl::pkey::Private>, leaf: &Leaf, context: &str) {
    let msg = b"certsafe interop: the restored key signs for the original certificate";
    let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
    signer.update(msg).unwrap();
    let sig = signer.sign_to_vec().unwrap();
    let public = leaf.cert.public_key().unwrap();
    let mut verifier = Verifier::new(MessageDigest::sha256(), &public).unwrap();
    verifier.update(msg).unwrap();
    assert!(
        verifier.verify(&sig).unwrap(),
        "{context}: a signature by the stored key does not verify with the original certificate"
    );
}

/// The label encoded as Latin-1 (what OpenSSL 3.0 prints for a `BMPString`).
fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect()
}

/// Values of the `friendlyName:` lines printed by `openssl pkcs12`.
fn openssl_friendly_names(out: &[u8]) -> Vec<Vec<u8>> {
    let key = b"friendlyName: ";
    out.split(|&b| b == b'\n')
        .filter_map(|line| {
            let at = line.windows(key.len()).position(|w| w == key)?;
            Some(line[at + key.len()..].trim_ascii_end().to_vec())
        })
        .collect()
}

/// Values of the `localKeyID:` lines printed by `openssl pkcs12`.
fn openssl_local_key_ids(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("localKeyID:"))
        .map(|v| v.trim().to_string())
        .collect()
}

// ---------------------------------------------------------------------------
// Helpers: certsafe
// ---------------------------------------------------------------------------

/// `certsafe restore FILE --password-stdin --json` in `home`; asserts a new
/// account was created; returns (the JSON, stderr).
fn restore(home: &Home, file: &Path, password: &str) -> (Value, String) {
    let out = home
        .cmd()
        .arg("restore")
        .arg(file)
        .args(["--password-stdin", "--json"])
        .write_stdin(format!("{password}\n"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "restore {} failed: {stderr}",
        file.display()
    );
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("restore --json printed no JSON ({e}): {stderr}"));
    assert_eq!(
        json["action"], "created",
        "restore into an empty home: {json}"
    );
    (json, stderr)
}

/// `certsafe verify FILE --password-stdin --json`; returns (the JSON, stderr).
fn verify(home: &Home, file: &Path, password: &str) -> (Value, String) {
    let out = home
        .cmd()
        .arg("verify")
        .arg(file)
        .args(["--password-stdin", "--json"])
        .write_stdin(format!("{password}\n"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "verify {} failed: {stderr}",
        file.display()
    );
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("verify --json printed no JSON ({e}): {stderr}"));
    (json, stderr)
}

/// Proves account `id` of `home` holds `leaf`, its chain and its key:
/// fingerprint and label from `account show --json`, `cert.pem`, and
/// `key.pem` (same public key, and it signs for the leaf).
fn assert_account_holds(home: &Home, id: &str, pki: &Pki, leaf: &Leaf, label: &str, context: &str) {
    let account = home.account_json(id);
    assert_eq!(
        account["fingerprint"],
        fp(&leaf.cert),
        "{context}: {account}"
    );
    assert_eq!(
        account["label"], label,
        "{context}: the label did not survive"
    );
    let chain: Vec<&str> = account["chain"]
        .as_array()
        .unwrap_or_else(|| panic!("{context}: no chain in {account}"))
        .iter()
        .map(|c| c["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(chain, [fp(&pki.inter), fp(&pki.root)], "{context}: chain");

    let dir = home.path().join("data/accounts").join(id);
    let cert = X509::from_pem(&std::fs::read(dir.join("cert.pem")).unwrap()).unwrap();
    assert_eq!(
        fp(&cert),
        fp(&leaf.cert),
        "{context}: cert.pem in the store"
    );
    let key = PKey::private_key_from_pem(&std::fs::read(dir.join("key.pem")).unwrap()).unwrap();
    assert_same_key(&key, leaf, &format!("{context}: key.pem in the store"));
    assert_key_signs_for(&key, leaf, &format!("{context}: key.pem in the store"));
}

// ---------------------------------------------------------------------------
// 1. Round trips through the CLI
// ---------------------------------------------------------------------------

/// Profiles × passwords of the round trips, for each key algorithm.
const ROUND_TRIPS: &[(&str, &str)] = &[
    ("modern", STRONG),
    ("modern", STRONG_UTF8),
    ("compat", STRONG),
    ("compat", STRONG_UTF8),
];

fn round_trips(alg: Alg) {
    let pki = Pki::new(Alg::Ec);
    let leaf = pki.leaf("Elodie Umlaut", alg);
    let home = Home::new();
    let id = home.import(&pki, &leaf, LABEL);
    let out = TempDir::new().unwrap();
    for (n, &(profile, password)) in ROUND_TRIPS.iter().enumerate() {
        let context = format!("{alg:?} {profile} password {password:?}");
        let target = out.path().join(format!("backup-{n}-{profile}.p12"));
        let written = home.backup(&id, &target, password, profile);
        assert_eq!(written, target, "{context}: path printed by backup");
        assert!(
            written.is_file(),
            "{context}: no file at {}",
            written.display()
        );

        let fresh = Home::new();
        let (json, stderr) = restore(&fresh, &written, password);
        assert_eq!(json["fingerprint"], fp(&leaf.cert), "{context}: {json}");
        assert_eq!(json["label"], LABEL, "{context}: {json}");
        assert!(
            !stderr.contains(NO_MAC_WARNING),
            "{context}: MAC warning on a file with a MAC: {stderr}"
        );
        let restored = json["id"].as_str().unwrap();
        assert_account_holds(&fresh, restored, &pki, &leaf, LABEL, &context);
    }
}

#[test]
fn round_trip_rsa_both_profiles_ascii_and_utf8_passwords() {
    round_trips(Alg::Rsa);
}

#[test]
fn round_trip_ec_both_profiles_ascii_and_utf8_passwords() {
    round_trips(Alg::Ec);
}

// ---------------------------------------------------------------------------
// 2. Backups read by independent implementations
// ---------------------------------------------------------------------------

/// One file written by `certsafe backup`.
struct Backup {
    leaf: Leaf,
    profile: &'static str,
    password: &'static str,
    path: PathBuf,
}

impl Backup {
    fn context(&self) -> String {
        format!(
            "{} ({} profile, password {:?})",
            self.path.file_name().unwrap().to_string_lossy(),
            self.profile,
            self.password
        )
    }
}

/// Backups of several accounts, each labelled [`LABEL`].
struct Backups {
    pki: Pki,
    files: Vec<Backup>,
    /// Scratch space for the readers (password files, databases).
    work: TempDir,
    _out: TempDir,
    _home: Home,
}

/// Each profile with each password, each key type with each profile and
/// each password: four backups cover every pair.
const READER_CASES: &[(Alg, &str, &str)] = &[
    (Alg::Rsa, "modern", STRONG_UTF8),
    (Alg::Ec, "compat", STRONG_UTF8),
    (Alg::Ec, "modern", STRONG),
    (Alg::Rsa, "compat", STRONG),
];

/// Imports one account per case and backs it up as the case says.
fn backups(cases: &[(Alg, &'static str, &'static str)]) -> Backups {
    let pki = Pki::new(Alg::Ec);
    let home = Home::new();
    let out = TempDir::new().unwrap();
    let files = cases
        .iter()
        .enumerate()
        .map(|(n, &(alg, profile, password))| {
            let leaf = pki.leaf(&format!("Elodie Umlaut {n}"), alg);
            let id = home.import(&pki, &leaf, LABEL);
            let target = out.path().join(format!("{n}-{alg:?}-{profile}.p12"));
            let path = home.backup(&id, &target, password, profile);
            Backup {
                leaf,
                profile,
                password,
                path,
            }
        })
        .collect();
    Backups {
        pki,
        files,
        work: TempDir::new().unwrap(),
        _out: out,
        _home: home,
    }
}

/// Lines `openssl pkcs12 -info` prints for each profile.
fn openssl_info_lines(profile: &str) -> [&'static str; 3] {
    match profile {
        "modern" => [
            "MAC: sha256, Iteration 600000",
            "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 600000, PRF hmacWithSHA256",
            "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 600000, PRF hmacWithSHA256",
        ],
        "compat" => [
            "MAC: sha1, Iteration 600000",
            "PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 600000",
            "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 600000",
        ],
        other => panic!("unknown profile {other}"),
    }
}

#[test]
fn backups_open_in_openssl_cli() {
    if !require("openssl") {
        return;
    }
    let b = backups(READER_CASES);
    for (n, f) in b.files.iter().enumerate() {
        let cx = f.context();
        let pw = line_file(b.work.path(), &format!("pw-{n}"), f.password);
        let pkcs12 = |extra: &[&str]| {
            let mut c = tool("openssl", ["pkcs12", "-in"]);
            c.arg(&f.path).arg("-passin").arg(pass_arg(&pw)).args(extra);
            run(&mut c)
        };

        // The leaf only, with its friendlyName and localKeyID.
        let certs = pkcs12(&["-nokeys", "-clcerts"]);
        let found = pem_certs(&certs.stdout);
        assert_eq!(found.len(), 1, "{cx}: -clcerts gives the leaf only");
        assert_eq!(fp(&found[0]), fp(&f.leaf.cert), "{cx}: leaf fingerprint");
        let names = openssl_friendly_names(&certs.stdout);
        assert_eq!(names.len(), 1, "{cx}: one friendlyName on the leaf");
        // OpenSSL 3.0 prints a BMPString as Latin-1, later versions as UTF-8.
        assert!(
            names[0] == LABEL.as_bytes() || names[0] == latin1(LABEL),
            "{cx}: friendlyName {:?}",
            String::from_utf8_lossy(&names[0])
        );
        let cert_ids = openssl_local_key_ids(&String::from_utf8_lossy(&certs.stdout));

        // The key, decrypted.
        let keys = pkcs12(&["-nocerts", "-nodes"]);
        let key = PKey::private_key_from_pem(&keys.stdout).unwrap();
        assert_same_key(&key, &f.leaf, &cx);
        assert_key_signs_for(&key, &f.leaf, &cx);
        let key_ids = openssl_local_key_ids(&String::from_utf8_lossy(&keys.stdout));
        assert_eq!(cert_ids.len(), 1, "{cx}: localKeyID on the leaf");
        assert_eq!(
            key_ids, cert_ids,
            "{cx}: the key's localKeyID matches the leaf's"
        );

        // The algorithms, and the whole chain inside.
        let info = all_text(&pkcs12(&["-info", "-noout"]));
        for line in openssl_info_lines(f.profile) {
            assert!(
                info.lines().any(|l| l.trim() == line),
                "{cx}: no `{line}` in:\n{info}"
            );
        }
        assert_eq!(
            info.matches("Certificate bag").count(),
            3,
            "{cx}: leaf + intermediate + root:\n{info}"
        );
        assert!(!info.contains("RC2"), "{cx}: RC2 is never used:\n{info}");
    }
}

#[test]
fn backups_open_in_nss_pk12util() {
    if !(require("pk12util") && require("certutil")) {
        return;
    }
    let b = backups(READER_CASES);
    for (n, f) in b.files.iter().enumerate() {
        let cx = f.context();
        let dir = b.work.path().join(format!("nss-{n}"));
        std::fs::create_dir(&dir).unwrap();
        let db = format!("sql:{}", dir.display());
        let pw = line_file(b.work.path(), &format!("pw-{n}"), f.password);
        let nss_pw = line_file(b.work.path(), &format!("nss-pw-{n}"), "");
        run(tool("certutil", ["-N", "-d", &db, "--empty-password"]));
        let import = run(tool("pk12util", ["-i"])
            .arg(&f.path)
            .args(["-d", &db, "-w"])
            .arg(&pw)
            .arg("-k")
            .arg(&nss_pw));
        assert!(
            all_text(&import).contains("SUCCESSFUL"),
            "{cx}: {}",
            all_text(&import)
        );

        // The nickname is the friendlyName; it names the leaf.
        let pem = run(tool("certutil", ["-L", "-d", &db, "-n", LABEL, "-a"]));
        assert_eq!(
            fp(&first_pem_cert(&pem.stdout)),
            fp(&f.leaf.cert),
            "{cx}: leaf under nickname {LABEL}"
        );
        let list = all_text(&run(tool("certutil", ["-L", "-d", &db])));
        assert!(
            list.lines()
                .any(|l| l.starts_with(LABEL) && l.trim_end().ends_with("u,u,u")),
            "{cx}: the leaf is a user certificate (its key came in):\n{list}"
        );
        assert_eq!(
            list.lines().filter(|l| l.contains("CERTSAFE TEST")).count(),
            2,
            "{cx}: the two CAs came in:\n{list}"
        );
        let keys = all_text(&run(tool("certutil", ["-K", "-d", &db, "-f"]).arg(&nss_pw)));
        assert!(
            keys.contains(LABEL),
            "{cx}: the key is named {LABEL}:\n{keys}"
        );

        // The key NSS decrypted is the original one: export it and look.
        let exported = dir.join("export.p12");
        run(tool("pk12util", ["-o"])
            .arg(&exported)
            .args(["-n", LABEL, "-d", &db, "-w"])
            .arg(&pw)
            .arg("-k")
            .arg(&nss_pw));
        let parsed = Pkcs12::from_der(&std::fs::read(&exported).unwrap())
            .unwrap()
            .parse2(f.password)
            .unwrap();
        assert_eq!(
            fp(parsed.cert.as_ref().unwrap()),
            fp(&f.leaf.cert),
            "{cx}: NSS export"
        );
        assert_same_key(
            parsed.pkey.as_ref().unwrap(),
            &f.leaf,
            &format!("{cx}: key exported by NSS"),
        );
    }
}

#[test]
fn backups_open_in_gnutls_certtool() {
    if !require("certtool") {
        return;
    }
    let b = backups(READER_CASES);
    for (n, f) in b.files.iter().enumerate() {
        let cx = f.context();
        let info = run(tool("certtool", ["--p12-info", "--inder", "--infile"])
            .arg(&f.path)
            .args(["--password", f.password]));
        let text = String::from_utf8(info.stdout).unwrap();
        let (mac, schema) = match f.profile {
            "modern" => ("MAC: SHA256", "Schema: PBES2-AES256-CBC"),
            _ => ("MAC: SHA1", "Schema: PKCS12-3DES-SHA1"),
        };
        assert!(text.contains(mac), "{cx}: no `{mac}` in:\n{text}");
        assert_eq!(
            text.matches(schema).count(),
            2,
            "{cx}: certificates and key use {schema}:\n{text}"
        );
        assert!(
            text.lines()
                .filter(|l| l.trim().starts_with("Iteration count:"))
                .all(|l| l.trim() == "Iteration count: 600000"),
            "{cx}: iterations:\n{text}"
        );

        // Sections start at "Type: ": certificates, and the encrypted key.
        let named = format!("Friendly name: {LABEL}\n");
        let sections: Vec<&str> = text.split("Type: ").skip(1).collect();
        let certs: Vec<&str> = sections
            .iter()
            .copied()
            .filter(|s| s.starts_with("Certificate\n"))
            .collect();
        assert_eq!(certs.len(), 3, "{cx}: leaf + intermediate + root:\n{text}");
        let leaf: Vec<&str> = certs
            .iter()
            .copied()
            .filter(|s| s.contains(&named))
            .collect();
        assert_eq!(
            leaf.len(),
            1,
            "{cx}: one certificate named {LABEL}:\n{text}"
        );
        assert_eq!(
            fp(&first_pem_cert(leaf[0].as_bytes())),
            fp(&f.leaf.cert),
            "{cx}: leaf fingerprint"
        );
        let key = sections
            .iter()
            .find(|s| s.starts_with("PKCS #8 Encrypted key"))
            .unwrap_or_else(|| panic!("{cx}: no key:\n{text}"));
        assert!(
            key.contains(&named),
            "{cx}: the key is named {LABEL}:\n{text}"
        );

        // GnuTLS decrypts the key with the same password: its public key is the original one.
        let begin = key.find("-----BEGIN ENCRYPTED PRIVATE KEY-----").unwrap();
        let end_tag = "-----END ENCRYPTED PRIVATE KEY-----";
        let end = key.find(end_tag).unwrap() + end_tag.len();
        let key_file = b.work.path().join(format!("key-{n}.pem"));
        std::fs::write(&key_file, &key[begin..end]).unwrap();
        let public = run(tool("certtool", ["--pubkey-info", "--load-privkey"])
            .arg(&key_file)
            .args(["--password", f.password]));
        let public = PKey::public_key_from_pem(&public.stdout).unwrap();
        assert_same_key(&public, &f.leaf, &format!("{cx}: key decrypted by GnuTLS"));
    }
}

/// keytool, its messages in English and UTF-8 whatever the locale.
fn keytool() -> Command {
    let mut c = tool(
        "keytool",
        [
            "-J-Duser.language=en",
            "-J-Duser.country=US",
            "-J-Dfile.encoding=UTF-8",
            "-J-Dsun.stdout.encoding=UTF-8",
            "-J-Dsun.stderr.encoding=UTF-8",
        ],
    );
    // Java decodes its arguments (the non-ASCII alias) with the locale's charset.
    c.env("LC_ALL", "C.UTF-8");
    c
}

#[test]
fn backups_open_in_java_keytool() {
    if !require("keytool") {
        return;
    }
    // Java 17 cannot open files whose password is not ASCII.
    let ascii: Vec<_> = READER_CASES
        .iter()
        .copied()
        .filter(|c| c.2.is_ascii())
        .collect();
    let b = backups(&ascii);
    let alias = LABEL.to_lowercase();
    for (n, f) in b.files.iter().enumerate() {
        let cx = f.context();
        let list = run(keytool()
            .args(["-list", "-v", "-storetype", "PKCS12", "-keystore"])
            .arg(&f.path)
            .args(["-storepass", f.password]));
        let text = String::from_utf8(list.stdout).unwrap();
        let field = |name: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.trim().strip_prefix(name))
                .map(|v| v.trim().to_string())
                .collect()
        };
        assert_eq!(
            field("Alias name:"),
            [alias.as_str()],
            "{cx}: alias = lowercased friendlyName:\n{text}"
        );
        assert_eq!(field("Entry type:"), ["PrivateKeyEntry"], "{cx}:\n{text}");
        assert_eq!(field("Certificate chain length:"), ["3"], "{cx}:\n{text}");
        let first = &text[text.find("Certificate[1]:").unwrap()..];
        let sha256 = first
            .lines()
            .find_map(|l| l.trim().strip_prefix("SHA256:"))
            .unwrap()
            .trim();
        assert_eq!(
            sha256,
            colon_hex(&fp(&f.leaf.cert)),
            "{cx}: leaf fingerprint:\n{text}"
        );

        // Java decrypts the key and signs with it: a certificate request.
        let req_file = b.work.path().join(format!("req-{n}.pem"));
        run(keytool()
            .args([
                "-certreq",
                "-alias",
                &alias,
                "-storetype",
                "PKCS12",
                "-keystore",
            ])
            .arg(&f.path)
            .args(["-storepass", f.password, "-keypass", f.password, "-file"])
            .arg(&req_file));
        let req = X509Req::from_pem(&std::fs::read(&req_file).unwrap()).unwrap();
        let public = req.public_key().unwrap();
        assert_same_key(&public, &f.leaf, &format!("{cx}: key used by Java"));
        assert!(
            req.verify(&public).unwrap(),
            "{cx}: Java's signature does not verify"
        );
    }
}

/// Loads a PKCS#12 file (argv\[1\], password on stdin) with `cryptography`
/// and prints what came back as JSON.
const PY_LOAD: &str = r#"
import hashlib, json, sys
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, pkcs12
password = sys.stdin.buffer.readline().rstrip(b"\n")
p = pkcs12.load_pkcs12(open(sys.argv[1], "rb").read(), password)
fp = lambda c: hashlib.sha256(c.public_bytes(Encoding.DER)).hexdigest()
spki = lambda k: k.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo).hex()
name = p.cert.friendly_name
print(json.dumps({
    "fingerprint": fp(p.cert.certificate),
    "friendly_name": None if name is None else name.decode("utf-8"),
    "key_spki": spki(p.key.public_key()),
    "cert_spki": spki(p.cert.certificate.public_key()),
    "chain": [fp(c.certificate) for c in p.additional_certs],
}))
"#;

/// Runs a Python script with `args`, `password` on its stdin; returns stdout.
fn python(script: &str, args: &[&OsStr], password: &str) -> Vec<u8> {
    let out = assert_cmd::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .write_stdin(format!("{password}\n"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn have_python_cryptography() -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import cryptography.hazmat.primitives.serialization.pkcs12",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var("CI").is_err(),
        "python3 with `cryptography` is required in CI"
    );
    if !ok {
        eprintln!("skipped: python3 `cryptography` is not installed");
    }
    ok
}

#[test]
fn backups_open_in_python_cryptography() {
    if !(require("python3") && have_python_cryptography()) {
        return;
    }
    let b = backups(READER_CASES);
    for f in &b.files {
        let cx = f.context();
        let out = python(PY_LOAD, &[f.path.as_os_str()], f.password);
        let got: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(got["fingerprint"], fp(&f.leaf.cert), "{cx}: {got}");
        assert_eq!(
            got["friendly_name"], LABEL,
            "{cx}: the UTF-8 friendlyName survives"
        );
        let spki = hex::encode(f.leaf.key.public_key_to_der().unwrap());
        assert_eq!(got["key_spki"], spki, "{cx}: the key is the original one");
        assert_eq!(
            got["cert_spki"], spki,
            "{cx}: the key matches the certificate"
        );
        assert_eq!(
            got["chain"],
            serde_json::json!([fp(&b.pki.inter), fp(&b.pki.root)]),
            "{cx}: chain"
        );
    }
}

// ---------------------------------------------------------------------------
// 3. certsafe reads files made by other implementations
// ---------------------------------------------------------------------------

/// A generated identity as files, for the other tools to package.
struct Material {
    pki: Pki,
    leaf: Leaf,
    dir: TempDir,
    cert: PathBuf,
    key: PathBuf,
    chain: PathBuf,
    /// Leaf then chain, in one PEM file.
    bundle: PathBuf,
}

impl Material {
    fn new(alg: Alg) -> Self {
        let pki = Pki::new(Alg::Ec);
        let leaf = pki.leaf("Jean Dupont", alg);
        let dir = TempDir::new().unwrap();
        let (cert, key, chain) = pki.write(dir.path(), &leaf);
        let bundle = dir.path().join("bundle.pem");
        let mut all = std::fs::read(&cert).unwrap();
        all.extend(std::fs::read(&chain).unwrap());
        std::fs::write(&bundle, all).unwrap();
        Self {
            pki,
            leaf,
            dir,
            cert,
            key,
            chain,
            bundle,
        }
    }

    /// A file path in the scratch folder.
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A password file in the scratch folder.
    fn password_file(&self, name: &str, password: &str) -> PathBuf {
        line_file(self.dir.path(), name, password)
    }

    /// `openssl pkcs12 -export` of the identity, with `extra` options.
    fn openssl_export(&self, out: &Path, password: &str, extra: &[&str]) {
        let pw = self.password_file("export-pw", password);
        run(
            tool("openssl", ["pkcs12", "-export", "-name", LABEL, "-in"])
                .arg(&self.cert)
                .arg("-inkey")
                .arg(&self.key)
                .arg("-certfile")
                .arg(&self.chain)
                .arg("-passout")
                .arg(pass_arg(&pw))
                .arg("-out")
                .arg(out)
                .args(extra),
        );
    }

    /// `openssl pkcs12 -info` of a file (with the legacy provider, to read any file).
    fn openssl_info(&self, file: &Path, password: &str) -> String {
        let pw = self.password_file("info-pw", password);
        all_text(&run(tool(
            "openssl",
            ["pkcs12", "-info", "-noout", "-legacy", "-in"],
        )
        .arg(file)
        .arg("-passin")
        .arg(pass_arg(&pw))))
    }
}

/// What certsafe must find in a foreign file.
struct Expect<'a> {
    password: &'a str,
    /// The friendlyName, which becomes the account label.
    label: &'a str,
    /// The file has no MAC: a warning is due.
    no_mac: bool,
}

/// `verify` then `restore` (each in a fresh, empty home) must find the
/// identity of `m` in `file`.
fn assert_certsafe_reads(m: &Material, file: &Path, e: &Expect<'_>) {
    let cx = file.file_name().unwrap().to_string_lossy().into_owned();
    let leaf_fp = fp(&m.leaf.cert);

    let (v, stderr) = verify(&Home::new(), file, e.password);
    assert_eq!(v["fingerprint"], leaf_fp, "{cx}: verify: {v}");
    assert_eq!(v["key_matches"], true, "{cx}: verify: {v}");
    assert_eq!(
        v["certificates"], 3,
        "{cx}: verify counts leaf + intermediate + root: {v}"
    );
    assert_eq!(
        stderr.contains(NO_MAC_WARNING),
        e.no_mac,
        "{cx}: verify's MAC warning: {stderr}"
    );

    let home = Home::new();
    let (r, stderr) = restore(&home, file, e.password);
    assert_eq!(r["fingerprint"], leaf_fp, "{cx}: restore: {r}");
    assert_eq!(r["no_mac"], e.no_mac, "{cx}: restore: {r}");
    assert_eq!(
        stderr.contains(NO_MAC_WARNING),
        e.no_mac,
        "{cx}: restore's MAC warning: {stderr}"
    );
    let id = r["id"].as_str().unwrap();
    assert_account_holds(&home, id, &m.pki, &m.leaf, e.label, &cx);
}

#[test]
fn restore_openssl_export_default_aes() {
    if !require("openssl") {
        return;
    }
    let m = Material::new(Alg::Rsa);
    let file = m.path("openssl-default.p12");
    m.openssl_export(&file, STRONG_UTF8, &[]);
    let info = m.openssl_info(&file, STRONG_UTF8);
    assert!(
        info.contains("Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC"),
        "{info}"
    );
    assert_certsafe_reads(
        &m,
        &file,
        &Expect {
            password: STRONG_UTF8,
            label: LABEL,
            no_mac: false,
        },
    );
}

#[test]
fn restore_openssl_export_legacy_rc2_40_and_3des() {
    if !require("openssl") {
        return;
    }
    for (alg, password) in [(Alg::Ec, STRONG), (Alg::Rsa, STRONG_UTF8)] {
        let m = Material::new(alg);
        let file = m.path("openssl-legacy.p12");
        m.openssl_export(&file, password, &["-legacy"]);
        let info = m.openssl_info(&file, password);
        assert!(
            info.contains("PKCS7 Encrypted data: pbeWithSHA1And40BitRC2-CBC"),
            "{info}"
        );
        assert!(
            info.contains("Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC"),
            "{info}"
        );
        assert_certsafe_reads(
            &m,
            &file,
            &Expect {
                password,
                label: LABEL,
                no_mac: false,
            },
        );
    }
}

#[test]
fn restore_openssl_export_without_mac_warns() {
    if !require("openssl") {
        return;
    }
    for (alg, password) in [(Alg::Rsa, STRONG), (Alg::Ec, STRONG_UTF8)] {
        let m = Material::new(alg);
        let file = m.path("openssl-nomac.p12");
        m.openssl_export(&file, password, &["-nomac"]);
        let info = m.openssl_info(&file, password);
        assert!(!info.contains("MAC: "), "the file has no MAC: {info}");
        assert_certsafe_reads(
            &m,
            &file,
            &Expect {
                password,
                label: LABEL,
                no_mac: true,
            },
        );
    }
}

#[test]
fn restore_without_mac_tells_a_wrong_password() {
    if !require("openssl") {
        return;
    }
    let m = Material::new(Alg::Rsa);
    let file = m.path("openssl-nomac.p12");
    m.openssl_export(&file, STRONG, &["-nomac"]);
    let home = Home::new();
    let out = home
        .cmd()
        .arg("restore")
        .arg(&file)
        .arg("--password-stdin")
        .write_stdin("not the password of this file 1987\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // The file is intact and the key does not decrypt: the password is wrong.
    assert!(stderr.contains("wrong password"), "{stderr}");
    assert!(!stderr.contains("damaged"), "{stderr}");
}

#[test]
fn restore_java_keytool_importkeystore() {
    if !(require("keytool") && require("openssl")) {
        return;
    }
    let m = Material::new(Alg::Ec);
    let source = m.path("from-openssl.p12");
    m.openssl_export(&source, STRONG, &[]);
    let file = m.path("java.p12");
    run(keytool()
        .args([
            "-importkeystore",
            "-noprompt",
            "-srcstoretype",
            "PKCS12",
            "-srckeystore",
        ])
        .arg(&source)
        .args([
            "-srcstorepass",
            STRONG,
            "-deststoretype",
            "PKCS12",
            "-destkeystore",
        ])
        .arg(&file)
        .args(["-deststorepass", STRONG]));
    // Java writes its own file (its MAC and iteration count, not OpenSSL's).
    let info = m.openssl_info(&file, STRONG);
    assert!(info.contains("Iteration 10000"), "{info}");
    // Java names the entry with its alias: the friendlyName lowercased.
    let label = LABEL.to_lowercase();
    assert_certsafe_reads(
        &m,
        &file,
        &Expect {
            password: STRONG,
            label: &label,
            no_mac: false,
        },
    );
}

#[test]
fn restore_nss_pk12util_export() {
    if !(require("pk12util") && require("certutil") && require("openssl")) {
        return;
    }
    let m = Material::new(Alg::Rsa);
    let source = m.path("from-openssl.p12");
    m.openssl_export(&source, STRONG, &[]);
    let db_dir = m.path("nssdb");
    std::fs::create_dir(&db_dir).unwrap();
    let db = format!("sql:{}", db_dir.display());
    let nss_pw = m.password_file("nss-pw", "");
    let in_pw = m.password_file("in-pw", STRONG);
    let out_pw = m.password_file("out-pw", STRONG_UTF8);
    run(tool("certutil", ["-N", "-d", &db, "--empty-password"]));
    run(tool("pk12util", ["-i"])
        .arg(&source)
        .args(["-d", &db, "-w"])
        .arg(&in_pw)
        .arg("-k")
        .arg(&nss_pw));
    let file = m.path("nss.p12");
    run(tool("pk12util", ["-o"])
        .arg(&file)
        .args(["-n", LABEL, "-d", &db, "-w"])
        .arg(&out_pw)
        .arg("-k")
        .arg(&nss_pw));
    let info = m.openssl_info(&file, STRONG_UTF8);
    assert!(info.contains("Shrouded Keybag: PBES2"), "{info}");
    assert_certsafe_reads(
        &m,
        &file,
        &Expect {
            password: STRONG_UTF8,
            label: LABEL,
            no_mac: false,
        },
    );
}

#[test]
fn restore_gnutls_certtool_3des_and_rc2_40() {
    if !(require("certtool") && require("openssl")) {
        return;
    }
    // certtool stores --p12-name byte by byte (UTF-8 becomes mojibake): ASCII name.
    let name = "Jean Dupont GnuTLS";
    for (alg, cipher, openssl_name, password) in [
        (
            Alg::Ec,
            "3des-pkcs12",
            "pbeWithSHA1And3-KeyTripleDES-CBC",
            STRONG_UTF8,
        ),
        (Alg::Rsa, "rc2-40", "pbeWithSHA1And40BitRC2-CBC", STRONG),
    ] {
        let m = Material::new(alg);
        let file = m.path(&format!("gnutls-{cipher}.p12"));
        run(
            tool("certtool", ["--to-p12", "--outder", "--load-certificate"])
                .arg(&m.bundle)
                .arg("--load-privkey")
                .arg(&m.key)
                .args([
                    "--p12-name",
                    name,
                    "--password",
                    password,
                    "--pkcs-cipher",
                    cipher,
                    "--outfile",
                ])
                .arg(&file),
        );
        let info = m.openssl_info(&file, password);
        assert!(
            info.contains(&format!("Shrouded Keybag: {openssl_name}")),
            "{cipher}: {info}"
        );
        assert!(
            info.contains(&format!("PKCS7 Encrypted data: {openssl_name}")),
            "{cipher}: {info}"
        );
        assert_certsafe_reads(
            &m,
            &file,
            &Expect {
                password,
                label: name,
                no_mac: false,
            },
        );
    }
}

/// Writes a PKCS#12 file with `cryptography`: argv = cert key chain out
/// mode name; password on stdin. `best`: `BestAvailableEncryption`; `legacy`:
/// 3DES and a SHA-1 MAC through the encryption builder.
const PY_WRITE: &str = r#"
import sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption, PrivateFormat, load_pem_private_key, pkcs12)
cert, key, chain, out, mode, name = sys.argv[1:7]
password = sys.stdin.buffer.readline().rstrip(b"\n")
leaf = x509.load_pem_x509_certificate(open(cert, "rb").read())
pkey = load_pem_private_key(open(key, "rb").read(), None)
cas = x509.load_pem_x509_certificates(open(chain, "rb").read())
if mode == "best":
    enc = BestAvailableEncryption(password)
else:
    enc = (PrivateFormat.PKCS12.encryption_builder()
           .kdf_rounds(50000)
           .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
           .hmac_hash(hashes.SHA1())
           .build(password))
data = pkcs12.serialize_key_and_certificates(name.encode("utf-8"), pkey, leaf, cas, enc)
open(out, "wb").write(data)
"#;

#[test]
fn restore_python_cryptography_best_and_legacy() {
    if !(require("python3") && have_python_cryptography() && require("openssl")) {
        return;
    }
    for (alg, mode, expected, password) in [
        (
            Alg::Ec,
            "best",
            "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC",
            STRONG_UTF8,
        ),
        (
            Alg::Rsa,
            "legacy",
            "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC",
            STRONG,
        ),
    ] {
        let m = Material::new(alg);
        let file = m.path(&format!("python-{mode}.p12"));
        let args = [
            m.cert.as_os_str(),
            m.key.as_os_str(),
            m.chain.as_os_str(),
            file.as_os_str(),
            OsStr::new(mode),
            OsStr::new(LABEL),
        ];
        python(PY_WRITE, &args, password);
        let info = m.openssl_info(&file, password);
        assert!(info.contains(expected), "{mode}: {info}");
        assert_certsafe_reads(
            &m,
            &file,
            &Expect {
                password,
                label: LABEL,
                no_mac: false,
            },
        );
    }
}
