//! certsafe's own PKCS#12 writer (`p12::build_many`): files of one and of
//! three identities (RSA 2048, RSA 3072, EC P-256, one shared chain), both
//! profiles, opened by OpenSSL, NSS, `GnuTLS`, Python `cryptography`, Java's
//! keytool and certsafe itself; what is shared (one salt, one derivation)
//! and what is not (IVs); how many derivations a backup costs.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use certsafe::domain::ber::{self, Node};
use certsafe::domain::identity::Identity;
use certsafe::domain::p12::{self, Entry, P12Error, Profile, WrittenPart, kdf};
use certsafe::domain::secret::Password;
use common::{Alg, Home, Pki, STRONG, fp, require};
use openssl::pkey::{HasPublic, PKey, PKeyRef, Private};
use openssl::rsa::Rsa;
use openssl::x509::X509;
use serde_json::Value;
use tempfile::TempDir;

/// friendlyNames: non-ASCII, one per identity, oldest first.
const NAMES: [&str; 3] = [
    "Dr Élodie Ümlaut 2024",
    "Dr Élodie Ümlaut 2025",
    "Dr Élodie Ümlaut 2026",
];

/// The subject of every identity (NSS keys nicknames by subject: one
/// subject for three certificates must still give three nicknames).
const SUBJECT: &str = "Dr Elodie Umlaut";

/// Three identities under one chain, and files written from them.
struct Fixture {
    pki: Pki,
    ids: Vec<Identity>,
    work: TempDir,
}

fn identity(pki: &Pki, key: PKey<Private>, cn: &str) -> Identity {
    let cert = common::cert(
        cn,
        &key,
        Some((&pki.inter, &pki.inter_key)),
        false,
        1,
        365,
        Some("elodie.umlaut@example.fr"),
    );
    Identity::assemble(key, vec![cert, pki.inter.clone(), pki.root.clone()]).unwrap()
}

impl Fixture {
    fn new() -> Self {
        let pki = Pki::new(Alg::Rsa);
        // Renewals: one holder, one subject, three keys.
        let ids = vec![
            identity(&pki, common::key(Alg::Rsa), SUBJECT),
            identity(
                &pki,
                PKey::from_rsa(Rsa::generate(3072).unwrap()).unwrap(),
                SUBJECT,
            ),
            identity(&pki, common::key(Alg::Ec), SUBJECT),
        ];
        Self {
            pki,
            ids,
            work: tempfile::tempdir().unwrap(),
        }
    }

    fn entries(&self, n: usize) -> Vec<Entry<'_>> {
        self.ids
            .iter()
            .zip(NAMES)
            .take(n)
            .map(|(identity, friendly_name)| Entry {
                identity,
                friendly_name,
            })
            .collect()
    }

    /// Writes the first `n` identities with `profile`; returns the path.
    fn file(&self, n: usize, profile: Profile) -> PathBuf {
        let bytes = p12::build_many(&self.entries(n), &password(), profile).unwrap();
        let path = self.work.path().join(format!("{profile}-{n}.p12"));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// A file holding `STRONG` and a newline (for the tools' password options).
    fn password_file(&self) -> PathBuf {
        let p = self.work.path().join("pw");
        std::fs::write(&p, format!("{STRONG}\n")).unwrap();
        p
    }

    fn chain_fps(&self) -> BTreeSet<String> {
        [fp(&self.pki.inter), fp(&self.pki.root)].into()
    }

    fn leaf_fps(&self, n: usize) -> Vec<String> {
        self.ids.iter().take(n).map(|i| fp(&i.cert)).collect()
    }

    /// Every certificate of a file of `n` identities.
    fn all_fps(&self, n: usize) -> BTreeSet<String> {
        let mut all = self.chain_fps();
        all.extend(self.leaf_fps(n));
        all
    }

    /// Which identity (0-based) `key`'s public half belongs to.
    fn owner<T: HasPublic>(&self, key: &PKeyRef<T>) -> Option<usize> {
        self.ids.iter().position(|i| i.key.public_eq(key))
    }
}

fn password() -> Password {
    Password::new(STRONG.into()).unwrap()
}

const CASES: [(usize, Profile); 4] = [
    (1, Profile::Modern),
    (3, Profile::Modern),
    (1, Profile::Compat),
    (3, Profile::Compat),
];

fn run(cmd: &mut Command) -> Output {
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

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The PEM blocks of `text` with the `localKeyID` printed in the bag
/// attributes above each (OpenSSL's `pkcs12 -nodes` output).
fn openssl_blocks(text: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    let mut local_id = None;
    let mut pem: Option<String> = None;
    for line in text.lines() {
        if let Some(p) = pem.as_mut() {
            p.push_str(line);
            p.push('\n');
            if line.starts_with("-----END") {
                out.push((local_id.take(), pem.take().unwrap()));
            }
        } else if let Some(id) = line.trim().strip_prefix("localKeyID:") {
            local_id = Some(id.trim().to_string());
        } else if line.starts_with("-----BEGIN") {
            pem = Some(format!("{line}\n"));
        } else if line.starts_with("Bag Attributes") {
            local_id = None;
        }
    }
    out
}

#[test]
fn openssl_lists_every_certificate_and_key() {
    if !require("openssl") {
        return;
    }
    let f = Fixture::new();
    let pw = f.password_file();
    for (n, profile) in CASES {
        let cx = format!("{profile}, {n} identities");
        let path = f.file(n, profile);
        // No -legacy: OpenSSL 3's default provider reads both profiles.
        let out = run(Command::new("openssl")
            .args(["pkcs12", "-nodes", "-in"])
            .arg(&path)
            .arg("-passin")
            .arg(format!("file:{}", pw.display())));
        let blocks = openssl_blocks(&String::from_utf8_lossy(&out.stdout));
        let mut certs = Vec::new();
        let mut keys = Vec::new();
        for (id, pem) in &blocks {
            if pem.starts_with("-----BEGIN CERTIFICATE") {
                certs.push((id.clone(), X509::from_pem(pem.as_bytes()).unwrap()));
            } else if pem.starts_with("-----BEGIN PRIVATE KEY") {
                keys.push((
                    id.clone(),
                    PKey::private_key_from_pem(pem.as_bytes()).unwrap(),
                ));
            }
        }
        let got: BTreeSet<String> = certs.iter().map(|(_, c)| fp(c)).collect();
        assert_eq!(got, f.all_fps(n), "{cx}: certificates");
        assert_eq!(certs.len(), n + 2, "{cx}: each certificate once");
        assert_eq!(keys.len(), n, "{cx}: keys");
        let owners: BTreeSet<usize> = keys.iter().filter_map(|(_, k)| f.owner(k)).collect();
        assert_eq!(owners, (0..n).collect(), "{cx}: one key per identity");
        for (id, key) in &keys {
            let id = id
                .as_ref()
                .unwrap_or_else(|| panic!("{cx}: key without localKeyID"));
            let paired: Vec<&X509> = certs
                .iter()
                .filter(|(c, _)| c.as_ref() == Some(id))
                .map(|(_, c)| c)
                .collect();
            assert_eq!(paired.len(), 1, "{cx}: one certificate per localKeyID");
            assert!(
                paired[0].public_key().unwrap().public_eq(key),
                "{cx}: the localKeyID pairs the key with its certificate"
            );
        }
        // Chain certificates carry no localKeyID.
        let chain_with_id = certs
            .iter()
            .filter(|(id, c)| id.is_some() && f.chain_fps().contains(&fp(c)))
            .count();
        assert_eq!(chain_with_id, 0, "{cx}");
    }
}

#[test]
fn nss_imports_every_certificate_and_key() {
    if !(require("pk12util") && require("certutil")) {
        return;
    }
    let f = Fixture::new();
    let pw = f.password_file();
    let nss_pw = f.work.path().join("nss-pw");
    std::fs::write(&nss_pw, "\n").unwrap();
    for (n, profile) in CASES {
        let cx = format!("{profile}, {n} identities");
        let path = f.file(n, profile);
        let dir = f.work.path().join(format!("nss-{profile}-{n}"));
        std::fs::create_dir(&dir).unwrap();
        let db = format!("sql:{}", dir.display());
        run(Command::new("certutil").args(["-N", "-d", &db, "--empty-password"]));
        run(Command::new("pk12util")
            .arg("-i")
            .arg(&path)
            .args(["-d", &db, "-w"])
            .arg(&pw)
            .arg("-k")
            .arg(&nss_pw));
        // Each leaf under its friendlyName, with its key (u,u,u).
        let list = text(&run(Command::new("certutil").args(["-L", "-d", &db])));
        for (i, name) in NAMES.iter().take(n).enumerate() {
            // NSS files certificates by subject: with one subject for all
            // three, `-n NAME -a` prints every certificate of that subject,
            // in an order of NSS's choosing. The one of this identity must
            // be among them.
            let pem = run(Command::new("certutil").args(["-L", "-d", &db, "-n", name, "-a"]));
            let shown: Vec<String> = X509::stack_from_pem(&pem.stdout)
                .unwrap()
                .iter()
                .map(fp)
                .collect();
            assert!(shown.contains(&f.leaf_fps(n)[i]), "{cx}: {name}: {shown:?}");
            assert!(
                list.lines()
                    .any(|l| l.starts_with(name) && l.trim_end().ends_with("u,u,u")),
                "{cx}: {name} is a user certificate:\n{list}"
            );
        }
        assert_eq!(
            list.lines()
                .filter(|l| l.starts_with("CERTSAFE TEST") || l.contains("CN=CERTSAFE TEST"))
                .count(),
            2,
            "{cx}: the two CAs, once each:\n{list}"
        );
        let keys = text(&run(Command::new("certutil")
            .args(["-K", "-d", &db, "-f"])
            .arg(&nss_pw)));
        let key_lines = keys.lines().filter(|l| l.starts_with('<')).count();
        assert_eq!(key_lines, n, "{cx}: keys:\n{keys}");
        for name in NAMES.iter().take(n) {
            assert!(keys.contains(name), "{cx}: key {name}:\n{keys}");
        }
    }
}

#[test]
fn gnutls_lists_every_certificate_and_key() {
    if !require("certtool") {
        return;
    }
    let f = Fixture::new();
    for (n, profile) in CASES {
        let cx = format!("{profile}, {n} identities");
        let path = f.file(n, profile);
        let out = run(Command::new("certtool")
            .args(["--p12-info", "--inder", "--infile"])
            .arg(&path)
            .args(["--password", STRONG]));
        let info = String::from_utf8(out.stdout).unwrap();
        let schema = match profile {
            Profile::Modern => "Schema: PBES2-AES256-CBC",
            Profile::Compat => "Schema: PKCS12-3DES-SHA1",
        };
        assert_eq!(
            info.matches(schema).count(),
            1 + n,
            "{cx}: certificates and {n} keys use {schema}:\n{info}"
        );
        let sections: Vec<&str> = info.split("Type: ").skip(1).collect();
        let certs: Vec<&str> = sections
            .iter()
            .copied()
            .filter(|s| s.starts_with("Certificate\n"))
            .collect();
        let got: BTreeSet<String> = certs
            .iter()
            .map(|s| fp(&X509::from_pem(&s.as_bytes()[s.find("-----BEGIN").unwrap()..]).unwrap()))
            .collect();
        assert_eq!(got, f.all_fps(n), "{cx}: certificates");
        assert_eq!(certs.len(), n + 2, "{cx}: each certificate once");
        let keys: Vec<&str> = sections
            .iter()
            .copied()
            .filter(|s| s.starts_with("PKCS #8 Encrypted key"))
            .collect();
        assert_eq!(keys.len(), n, "{cx}: keys:\n{info}");
        for (i, name) in NAMES.iter().take(n).enumerate() {
            let named = format!("Friendly name: {name}\n");
            let leaf: Vec<&&str> = certs.iter().filter(|s| s.contains(&named)).collect();
            assert_eq!(leaf.len(), 1, "{cx}: {name}");
            let cert =
                X509::from_pem(&leaf[0].as_bytes()[leaf[0].find("-----BEGIN").unwrap()..]).unwrap();
            assert_eq!(fp(&cert), f.leaf_fps(n)[i], "{cx}: {name}");
            assert_eq!(
                keys.iter().filter(|s| s.contains(&named)).count(),
                1,
                "{cx}: key {name}"
            );
        }
    }
}

/// Loads argv\[1\] (password on stdin) with `cryptography`; prints JSON.
const PY_LOAD: &str = r#"
import hashlib, json, sys
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, pkcs12
password = sys.stdin.buffer.readline().rstrip(b"\n")
p = pkcs12.load_pkcs12(open(sys.argv[1], "rb").read(), password)
fp = lambda c: hashlib.sha256(c.public_bytes(Encoding.DER)).hexdigest()
spki = lambda k: k.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo).hex()
name = lambda c: None if c.friendly_name is None else c.friendly_name.decode("utf-8")
print(json.dumps({
    "fingerprint": fp(p.cert.certificate),
    "friendly_name": name(p.cert),
    "key_spki": spki(p.key.public_key()),
    "cert_spki": spki(p.cert.certificate.public_key()),
    "additional": [[fp(c.certificate), name(c)] for c in p.additional_certs],
}))
"#;

#[test]
fn python_cryptography_loads_key_cert_and_the_others() {
    if !require("python3") {
        return;
    }
    let have = Command::new("python3")
        .args([
            "-c",
            "import cryptography.hazmat.primitives.serialization.pkcs12",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!("skipped: python3 `cryptography` is not installed");
        return;
    }
    let f = Fixture::new();
    for (n, profile) in CASES {
        let cx = format!("{profile}, {n} identities");
        let path = f.file(n, profile);
        let out = assert_cmd::Command::new("python3")
            .arg("-c")
            .arg(PY_LOAD)
            .arg(&path)
            .write_stdin(format!("{STRONG}\n"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{cx}: {}", text(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        // The key it returns is the first one, with its certificate.
        assert_eq!(v["fingerprint"], f.leaf_fps(n)[0].as_str(), "{cx}");
        assert_eq!(v["friendly_name"], NAMES[0], "{cx}");
        assert_eq!(v["key_spki"], v["cert_spki"], "{cx}: key matches cert");
        // The other leaves come as additional certificates, with their names.
        let additional = v["additional"].as_array().unwrap();
        let mut got: BTreeSet<String> = additional
            .iter()
            .map(|a| a[0].as_str().unwrap().to_string())
            .collect();
        got.insert(f.leaf_fps(n)[0].clone());
        assert_eq!(got, f.all_fps(n), "{cx}: certificates");
        assert_eq!(additional.len(), n + 1, "{cx}");
        for (leaf, name) in f.leaf_fps(n).iter().zip(NAMES).skip(1) {
            let entry = additional.iter().find(|a| a[0] == leaf.as_str()).unwrap();
            assert_eq!(entry[1], name, "{cx}: friendly name of {leaf}");
        }
    }
}

#[test]
fn java_keytool_has_one_private_key_entry_per_identity() {
    if !require("keytool") {
        return;
    }
    let f = Fixture::new();
    for (n, profile) in CASES {
        let cx = format!("{profile}, {n} identities");
        let path = f.file(n, profile);
        let out = run(Command::new("keytool")
            .args([
                "-J-Duser.language=en",
                "-J-Duser.country=US",
                "-J-Dfile.encoding=UTF-8",
                "-J-Dsun.stdout.encoding=UTF-8",
                "-list",
                "-v",
                "-storetype",
                "PKCS12",
                "-keystore",
            ])
            .arg(&path)
            .args(["-storepass", STRONG])
            .env("LC_ALL", "C.UTF-8"));
        let listing = String::from_utf8(out.stdout).unwrap();
        let entries: Vec<&str> = listing.split("Alias name: ").skip(1).collect();
        assert_eq!(entries.len(), n, "{cx}:\n{listing}");
        for (i, name) in NAMES.iter().take(n).enumerate() {
            let alias = name.to_lowercase();
            let entry = entries
                .iter()
                .find(|e| e.lines().next().map(str::trim) == Some(alias.as_str()))
                .unwrap_or_else(|| panic!("{cx}: no alias {alias}:\n{listing}"));
            assert!(
                entry.contains("Entry type: PrivateKeyEntry"),
                "{cx}: {alias}"
            );
            let sha256 = entry
                .lines()
                .find_map(|l| l.trim().strip_prefix("SHA256:"))
                .unwrap()
                .trim()
                .replace(':', "")
                .to_lowercase();
            assert_eq!(sha256, f.leaf_fps(n)[i], "{cx}: {alias}");
            assert!(
                entry.contains("Certificate chain length: 3"),
                "{cx}: {alias} with its chain"
            );
        }
    }
}

fn certsafe_json(home: &Home, args: &[&str], file: &Path) -> (Value, i32) {
    let out = home
        .cmd()
        .args(args)
        .arg(file)
        .args(["--password-stdin", "--json"])
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (v, out.status.code().unwrap_or(-1))
}

#[test]
fn certsafe_verifies_and_restores_each_of_three_identities() {
    let f = Fixture::new();
    for profile in [Profile::Modern, Profile::Compat] {
        let path = f.file(3, profile);
        let home = Home::new();
        let (v, code) = certsafe_json(&home, &["verify"], &path);
        assert_eq!(code, 0, "{profile}: {v}");
        let listed: Vec<&str> = v["identities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["fingerprint"].as_str().unwrap())
            .collect();
        assert_eq!(listed, f.leaf_fps(3), "{profile}: in the order written");
        let names: Vec<&str> = v["identities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["friendly_name"].as_str().unwrap())
            .collect();
        assert_eq!(names, NAMES, "{profile}");
        assert_eq!(v["key_matches"], true, "{profile}");
        assert_eq!(v["certificates"], 3, "{profile}: leaf + 2 CAs");
        for index in 1..=3 {
            let home = Home::new();
            let n = index.to_string();
            let (v, code) = certsafe_json(&home, &["restore", "--identity", &n], &path);
            assert_eq!(code, 0, "{profile} #{index}: {v}");
            let id = v["id"].as_str().unwrap().to_string();
            let out = home
                .cmd()
                .args(["account", "show", &id, "--json"])
                .output()
                .unwrap();
            let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(shown["fingerprint"], f.leaf_fps(3)[index - 1].as_str());
            assert_eq!(shown["label"], NAMES[index - 1]);
        }
    }
}

/// `(salt, iterations, iv)` of every PBES2 `AlgorithmIdentifier` below `node`.
fn pbes2_params(node: &Node<'_>, out: &mut Vec<(Vec<u8>, u64, Vec<u8>)>) {
    let Ok(kids) = node.children() else { return };
    if kids.first().and_then(Node::oid).as_deref() == Some("1.2.840.113549.1.5.13") {
        let params = kids[1].children().unwrap();
        let kdf = params[0].child(1, "pbkdf2").unwrap().children().unwrap();
        let iv = params[1]
            .child(1, "iv")
            .unwrap()
            .octets()
            .unwrap()
            .into_owned();
        out.push((
            kdf[0].octets().unwrap().into_owned(),
            kdf[1].uint().unwrap(),
            iv,
        ));
        return;
    }
    for k in &kids {
        // Descend into OCTET STRINGs holding DER too (the safe contents).
        if k.base_tag() == 0x04 {
            if let Ok(inner) = ber::read_one(k.content) {
                pbes2_params(&inner, out);
            }
        } else {
            pbes2_params(k, out);
        }
    }
}

#[test]
fn one_salt_and_iteration_count_distinct_ivs() {
    let f = Fixture::new();
    let bytes = p12::build_many(&f.entries(3), &password(), Profile::Modern).unwrap();
    let mut found = Vec::new();
    pbes2_params(&ber::read_one(&bytes).unwrap(), &mut found);
    assert_eq!(found.len(), 4, "the certificate safe and three keys");
    assert!(found.iter().all(|p| p.0 == found[0].0 && p.0.len() == 16));
    assert!(found.iter().all(|p| p.1 == u64::from(p12::ITERATIONS)));
    let ivs: BTreeSet<&Vec<u8>> = found.iter().map(|p| &p.2).collect();
    assert_eq!(ivs.len(), 4, "each part its own IV");
    // A second file: another salt.
    let again = p12::build_many(&f.entries(3), &password(), Profile::Modern).unwrap();
    let mut other = Vec::new();
    pbes2_params(&ber::read_one(&again).unwrap(), &mut other);
    assert_ne!(other[0].0, found[0].0);
}

#[test]
fn a_backup_costs_four_derivations_modern_six_compat() {
    let f = Fixture::new();
    for (profile, write, read) in [(Profile::Modern, 2, 2), (Profile::Compat, 3, 3)] {
        for n in [1, 3] {
            let entries = f.entries(n);
            let before = kdf::derivations_run();
            let bytes = p12::build_many(&entries, &password(), profile).unwrap();
            let written = kdf::derivations_run();
            let found = p12::verify_written(&bytes, &password(), &entries).unwrap();
            let read_back = kdf::derivations_run();
            assert_eq!(written - before, write, "{profile} {n}: write");
            assert_eq!(read_back - written, read, "{profile} {n}: read back");
            assert_eq!(found.len(), n);
            for (got, e) in found.iter().zip(&entries) {
                assert_eq!(got.identity.fingerprint(), e.identity.fingerprint());
                assert!(got.identity.key.public_eq(&e.identity.key));
                assert_eq!(got.friendly_name.as_deref(), Some(e.friendly_name));
            }
            // `read_back` sees every identity too, the first one opened.
            let before = kdf::derivations_run();
            let opened = p12::read_back(&bytes, &password()).unwrap();
            assert_eq!(kdf::derivations_run() - before, read, "{profile} {n}");
            assert_eq!(opened.identities.len(), n);
            assert_eq!(opened.identity.fingerprint(), f.leaf_fps(n)[0]);
        }
    }
}

#[test]
fn verify_written_refuses_what_was_not_written() {
    let f = Fixture::new();
    let entries = f.entries(3);
    let bytes = p12::build_many(&entries, &password(), Profile::Modern).unwrap();
    // In another order: the first identity is not the one expected.
    let swapped = [
        Entry {
            identity: &f.ids[1],
            friendly_name: NAMES[0],
        },
        Entry {
            identity: &f.ids[0],
            friendly_name: NAMES[1],
        },
        Entry {
            identity: &f.ids[2],
            friendly_name: NAMES[2],
        },
    ];
    assert!(matches!(
        p12::verify_written(&bytes, &password(), &swapped),
        Err(P12Error::NotAsWritten {
            index: 1,
            part: WrittenPart::Certificate
        })
    ));
    // Another name.
    let renamed = [
        Entry {
            identity: &f.ids[0],
            friendly_name: NAMES[0],
        },
        Entry {
            identity: &f.ids[1],
            friendly_name: "Dr Autre",
        },
        Entry {
            identity: &f.ids[2],
            friendly_name: NAMES[2],
        },
    ];
    assert!(matches!(
        p12::verify_written(&bytes, &password(), &renamed),
        Err(P12Error::NotAsWritten {
            index: 2,
            part: WrittenPart::Name
        })
    ));
    // Fewer identities than written.
    assert!(matches!(
        p12::verify_written(&bytes, &password(), &entries[..2]),
        Err(P12Error::NotAsWritten {
            index: 0,
            part: WrittenPart::Count
        })
    ));
    // Another password.
    let wrong = Password::new("not the password at all".into()).unwrap();
    assert!(matches!(
        p12::verify_written(&bytes, &wrong, &entries),
        Err(P12Error::WrongPassword)
    ));
    // One byte of the encrypted key bag changed: the MAC fails.
    let mut altered = bytes.clone();
    let at = altered.len() - 200;
    altered[at] ^= 1;
    assert!(p12::verify_written(&altered, &password(), &entries).is_err());
}

#[test]
fn build_many_refuses_nothing_to_write_and_a_certificate_twice() {
    let f = Fixture::new();
    assert!(matches!(
        p12::build_many(&[], &password(), Profile::Modern),
        Err(P12Error::Build(_))
    ));
    let twice = [
        Entry {
            identity: &f.ids[0],
            friendly_name: NAMES[0],
        },
        Entry {
            identity: &f.ids[0],
            friendly_name: NAMES[1],
        },
    ];
    assert!(matches!(
        p12::build_many(&twice, &password(), Profile::Modern),
        Err(P12Error::Build(_))
    ));
}
