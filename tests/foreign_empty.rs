//! Files made by other tools with no password or the empty one (both
//! PKCS#12 encodings of it: nothing at all, or the two zero bytes) open
//! with `verify` and `restore`, through `--no-password` or an empty line
//! on `--password-stdin`; a file holding two identities is listed and
//! restored only with `--identity N`.
//!
//! Java `keytool` is not among the writers: it refuses a keystore password
//! shorter than 6 characters ("Keystore password must be at least 6
//! characters"), so it cannot write an empty-password file.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use certsafe::domain::ber::{self, der, der_oid, der_uint, tag};
use common::{Alg, Home, Leaf, Pki, STRONG, fp, require};
use serde_json::Value;

struct Material {
    dir: tempfile::TempDir,
    leaf: Leaf,
    pki: Pki,
}

impl Material {
    fn new() -> Self {
        let pki = Pki::new(Alg::Ec);
        let leaf = pki.leaf("Dr Vide", Alg::Ec);
        let dir = tempfile::tempdir().unwrap();
        pki.write(dir.path(), &leaf);
        Self { dir, leaf, pki }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `certsafe ARGS FILE --json` with the empty password given as `how`.
fn certsafe(home: &Home, args: &[&str], file: &Path, how: &str) -> (Option<i32>, Value) {
    let mut cmd = home.cmd();
    cmd.args(args).arg(file).arg("--json");
    match how {
        "flag" => {
            cmd.arg("--no-password");
        }
        _ => {
            cmd.arg("--password-stdin").write_stdin("\n");
        }
    }
    let out = cmd.output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), v)
}

/// `verify` and `restore` read `file` as the leaf, with the key that goes
/// with it, both ways of giving the empty password.
fn reads(m: &Material, file: &Path) {
    let want = fp(&m.leaf.cert);
    for how in ["flag", "stdin"] {
        let home = Home::new();
        let (code, v) = certsafe(&home, &["verify"], file, how);
        assert_eq!(code, Some(0), "verify {} ({how}): {v}", file.display());
        assert_eq!(v["fingerprint"], want.as_str());
        assert_eq!(v["key_matches"], true);
        let (code, v) = certsafe(&home, &["restore"], file, how);
        assert_eq!(code, Some(0), "restore {} ({how}): {v}", file.display());
        assert_eq!(v["action"], "created");
        let id = v["id"].as_str().unwrap().to_string();
        let out = home
            .cmd()
            .args(["account", "show", &id, "--json"])
            .output()
            .unwrap();
        let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            shown.to_string().contains(&want),
            "the restored account is the leaf: {shown}"
        );
    }
}

#[test]
fn openssl_empty_password_files_open() {
    if !require("openssl") {
        return;
    }
    let m = Material::new();
    let base = |out: &Path| {
        let mut c = Command::new("openssl");
        c.args(["pkcs12", "-export", "-passout", "pass:", "-inkey"])
            .arg(m.path("leaf.key"))
            .arg("-in")
            .arg(m.path("leaf.pem"))
            .arg("-certfile")
            .arg(m.path("chain.pem"))
            .arg("-out")
            .arg(out);
        c
    };
    for (name, extra) in [
        ("default.p12", &[][..]),
        ("nomac.p12", &["-nomac"][..]),
        (
            "plain.p12",
            &["-keypbe", "NONE", "-certpbe", "NONE", "-nomac"][..],
        ),
        ("legacy.p12", &["-legacy"][..]),
    ] {
        let file = m.path(name);
        run(base(&file).args(extra));
        reads(&m, &file);
    }
    let _ = &m.pki;
}

#[test]
fn gnutls_empty_and_null_password_files_open() {
    if !require("certtool") {
        return;
    }
    let m = Material::new();
    for flag in ["--empty-password", "--null-password"] {
        let file = m.path(&format!("gnutls{flag}.p12"));
        run(Command::new("certtool")
            .args(["--to-p12", "--outder", flag, "--p12-name", "Dr Vide"])
            .arg("--load-privkey")
            .arg(m.path("leaf.key"))
            .arg("--load-certificate")
            .arg(m.path("leaf.pem"))
            .arg("--outfile")
            .arg(&file));
        reads(&m, &file);
    }
}

#[test]
fn nss_empty_password_file_opens() {
    if !(require("pk12util") && require("certutil") && require("openssl")) {
        return;
    }
    let m = Material::new();
    let source = m.path("source.p12");
    std::fs::write(m.path("pw"), format!("{STRONG}\n")).unwrap();
    std::fs::write(m.path("empty"), "").unwrap();
    run(Command::new("openssl")
        .args(["pkcs12", "-export", "-name", "vide", "-passout"])
        .arg(format!("file:{}", m.path("pw").display()))
        .arg("-inkey")
        .arg(m.path("leaf.key"))
        .arg("-in")
        .arg(m.path("leaf.pem"))
        .arg("-out")
        .arg(&source));
    let db = format!("sql:{}", m.path("db").display());
    std::fs::create_dir(m.path("db")).unwrap();
    run(Command::new("certutil").args(["-N", "-d", &db, "--empty-password"]));
    run(Command::new("pk12util")
        .arg("-i")
        .arg(&source)
        .args(["-d", &db, "-w"])
        .arg(m.path("pw"))
        .arg("-k")
        .arg(m.path("empty")));
    let file = m.path("nss.p12");
    run(Command::new("pk12util")
        .arg("-o")
        .arg(&file)
        .args(["-n", "vide", "-d", &db, "-W", "", "-k"])
        .arg(m.path("empty")));
    reads(&m, &file);
}

#[test]
fn pyca_no_encryption_file_opens() {
    if !require("python3") {
        return;
    }
    let m = Material::new();
    let file = m.path("pyca.p12");
    let script = "import sys
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography import x509
k = s.load_pem_private_key(open(sys.argv[1], 'rb').read(), None)
c = x509.load_pem_x509_certificate(open(sys.argv[2], 'rb').read())
open(sys.argv[3], 'wb').write(pkcs12.serialize_key_and_certificates(b'Dr Vide', k, c, None, s.NoEncryption()))
";
    run(Command::new("python3")
        .args(["-c", script])
        .arg(m.path("leaf.key"))
        .arg(m.path("leaf.pem"))
        .arg(&file));
    reads(&m, &file);
}

#[test]
fn a_new_backup_never_has_an_empty_password() {
    let m = Material::new();
    let home = Home::new();
    let id = home.import(&m.pki, &m.leaf, "Dr Vide");
    let out_dir = tempfile::tempdir().unwrap();
    for how in ["flag", "stdin"] {
        let mut cmd = home.cmd();
        cmd.args(["backup", &id, "--to"]).arg(out_dir.path());
        if how == "flag" {
            cmd.arg("--no-password");
        } else {
            cmd.arg("--password-stdin").write_stdin("\n");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{how}");
        assert_eq!(std::fs::read_dir(out_dir.path()).unwrap().count(), 0);
    }
}

/// Two identities in one file (openssl API, two key bags paired with their
/// certificates by localKeyId).
fn two_identities(m: &Material) -> (PathBuf, Leaf) {
    let other = m.pki.leaf("Dr Deux", Alg::Ec);
    // Build each identity with OpenSSL, then join their SafeContents.
    let one = m.path("one.p12");
    let two = m.path("two.p12");
    std::fs::write(m.path("two.pem"), other.cert.to_pem().unwrap()).unwrap();
    std::fs::write(
        m.path("two.key"),
        other.key.private_key_to_pem_pkcs8().unwrap(),
    )
    .unwrap();
    for (out, key, cert, name) in [
        (&one, "leaf.key", "leaf.pem", "Dr Vide"),
        (&two, "two.key", "two.pem", "Dr Deux"),
    ] {
        run(Command::new("openssl")
            .args([
                "pkcs12", "-export", "-passout", "pass:", "-nomac", "-keypbe", "NONE", "-certpbe",
                "NONE", "-name", name, "-inkey",
            ])
            .arg(m.path(key))
            .arg("-in")
            .arg(m.path(cert))
            .arg("-out")
            .arg(out));
    }
    // Both files: PFX { 3, data { AuthSafe { parts... } } }: concatenate
    // the parts; localKeyIds differ (they are the certificates' hashes).
    let parts = |path: &Path| -> Vec<u8> {
        let bytes = std::fs::read(path).unwrap();
        let pfx = ber::read_one(&bytes).unwrap();
        let auth = pfx.child(1, "auth").unwrap();
        let octets = auth
            .child(1, "explicit")
            .unwrap()
            .child(0, "octets")
            .unwrap()
            .octets()
            .unwrap()
            .into_owned();
        ber::read_one(&octets).unwrap().content.to_vec()
    };
    let joined = der(tag::SEQUENCE, &[parts(&one), parts(&two)].concat());
    let file = der(
        tag::SEQUENCE,
        &[
            der_uint(3),
            der(
                tag::SEQUENCE,
                &[
                    der_oid("1.2.840.113549.1.7.1"),
                    der(tag::CONTEXT_0, &der(tag::OCTET_STRING, &joined)),
                ]
                .concat(),
            ),
        ]
        .concat(),
    );
    let path = m.path("two-identities.p12");
    std::fs::write(&path, file).unwrap();
    (path, other)
}

#[test]
fn two_identities_are_listed_and_chosen() {
    if !require("openssl") {
        return;
    }
    let m = Material::new();
    let (file, other) = two_identities(&m);
    let home = Home::new();
    // verify lists both.
    let (code, v) = certsafe(&home, &["verify"], &file, "flag");
    assert_eq!(code, Some(0), "{v}");
    let list = v["identities"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{v}");
    let fps: Vec<&str> = list
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fps, [fp(&m.leaf.cert), fp(&other.cert)]);
    assert_eq!(list[1]["index"], 2);
    assert_eq!(list[1]["friendly_name"], "Dr Deux");
    assert!(list[1]["subject"].as_str().unwrap().contains("Dr Deux"));
    // restore and import refuse without --identity, and create nothing.
    for args in [&["restore"][..], &["account", "import", "--p12"][..]] {
        let (code, v) = certsafe(&home, args, &file, "flag");
        assert_eq!(code, Some(1), "{args:?} {v}");
        assert_eq!(v["error"]["code"], "p12_several_identities");
    }
    let (code, v) = certsafe(&home, &["restore", "--identity", "3"], &file, "flag");
    assert_eq!(code, Some(1));
    assert_eq!(v["error"]["code"], "p12_no_such_identity");
    let list = home
        .cmd()
        .args(["account", "list", "--json"])
        .output()
        .unwrap();
    let accounts: Value = serde_json::from_slice(&list.stdout).unwrap_or(Value::Null);
    assert!(accounts.as_array().is_none_or(Vec::is_empty), "{accounts}");
    // --identity 2 restores the second.
    let (code, v) = certsafe(&home, &["restore", "--identity", "2"], &file, "flag");
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["fingerprint"], fp(&other.cert).as_str(), "{v}");
    let home2 = Home::new();
    let (code, v) = certsafe(
        &home2,
        &["account", "import", "--identity", "1", "--p12"],
        &file,
        "flag",
    );
    assert_eq!(code, Some(0), "{v}");
}
