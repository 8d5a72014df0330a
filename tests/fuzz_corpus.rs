//! The fuzz targets' inputs on the stable toolchain: every seed in
//! `fuzz/corpus/TARGET/` and every saved crash in `fuzz/regressions/TARGET/`
//! goes through `certsafe::fuzzing::TARGET`, the body the fuzzer runs.
//! `write_seeds` (ignored; run by `fuzz/seed`) writes the seeds from the
//! test PKI.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use certsafe::domain::ber::{der, tag};
use certsafe::domain::crl::{index, parse};
use certsafe::domain::p12::{inspect, open};
use certsafe::domain::secret::Password;
use certsafe::fuzzing::{self, PASSWORD, TARGETS};
use common::crl::{CertSpec, CrlSpec, Revoked, build_cert, crl, pem};
use common::{Alg, Pki, key};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::symm::Cipher;
use openssl::x509::X509;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `fuzz/KIND/TARGET/`, sorted.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = dir
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn run_all(kind: &str) -> usize {
    let mut failed = Vec::new();
    let mut count = 0;
    for (target, body) in TARGETS {
        for file in inputs(kind, target) {
            let data = std::fs::read(&file).unwrap();
            count += 1;
            if std::panic::catch_unwind(|| body(&data)).is_err() {
                failed.push(file.display().to_string());
            }
        }
    }
    assert!(failed.is_empty(), "failing inputs: {failed:#?}");
    count
}

#[test]
fn every_seed_passes_its_target() {
    let count = run_all("corpus");
    // The seeds are committed: a target without any would start blind.
    for (target, _) in TARGETS {
        assert!(
            !inputs("corpus", target).is_empty(),
            "no seed for {target}; run fuzz/seed"
        );
    }
    assert!(count >= TARGETS.len());
}

#[test]
fn every_saved_crash_stays_fixed() {
    run_all("regressions");
}

#[test]
fn p12_seeds_are_cheap_to_open() {
    // p12_open skips files over MAX_FUZZ_ITERATIONS: a seed above it would
    // leave the whole target without a starting point.
    let seeds = inputs("corpus", "p12_open");
    assert!(seeds.len() >= 2);
    let password = Password::new(PASSWORD.to_string()).unwrap();
    for file in seeds {
        let bytes = std::fs::read(&file).unwrap();
        let layout = inspect(&bytes).unwrap();
        assert!(
            layout.max_iterations() <= fuzzing::MAX_FUZZ_ITERATIONS,
            "{}",
            file.display()
        );
        // And they open: the fuzzer starts from files that reach the end.
        let opened = open(&bytes, &password).unwrap();
        assert!(opened.identity.key_matches(), "{}", file.display());
    }
}

#[test]
fn crl_seeds_reach_the_index() {
    // Every CRL seed with its CA passes find_signer and lists its entries,
    // so mutations start from the end of the acceptance sequence.
    let seeds = inputs("corpus", "crl");
    let mut signed = 0;
    for file in &seeds {
        let data = std::fs::read(file).unwrap();
        let (cas, input) = fuzzing::crl_split(&data);
        let der = parse::decode(input).unwrap();
        let parsed = parse::parse(&der).unwrap();
        parse::for_each_entry(&parsed, |_| {}).unwrap();
        if !cas.is_empty() {
            parse::find_signer(&parsed, &cas, fuzzing::CRL_NOW).unwrap();
            signed += 1;
        }
    }
    assert!(signed >= 6, "{signed} signed CRL seeds");
}

// ---------------------------------------------------------------------------
// Seeds

/// A file written into `fuzz/corpus/TARGET/NAME`.
fn seed(target: &str, name: &str, bytes: &[u8]) {
    let dir = fuzz_dir().join("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

const ITER: u32 = 1000;

fn p12(leaf: &X509, key: &PKey<Private>, chain: &[&X509], alg: Nid, md: MessageDigest) -> Vec<u8> {
    let mut ca = Stack::new().unwrap();
    for c in chain {
        ca.push((*c).clone()).unwrap();
    }
    let mut b = Pkcs12::builder();
    b.name("Dr Fuzz Éléonore")
        .pkey(key)
        .cert(leaf)
        .ca(ca)
        .key_algorithm(alg)
        .cert_algorithm(alg)
        .key_iter(ITER)
        .mac_iter(ITER)
        .mac_md(md);
    b.build2(PASSWORD).unwrap().to_der().unwrap()
}

/// A PKCS#12 file made by the openssl command (MAC-less, legacy RC2).
fn p12_cli(dir: &Path, leaf: &X509, key: &PKey<Private>, extra: &[&str]) -> Option<Vec<u8>> {
    let c = dir.join("c.pem");
    let k = dir.join("k.pem");
    let pw = dir.join("pw");
    let out = dir.join("out.p12");
    std::fs::write(&c, leaf.to_pem().unwrap()).unwrap();
    std::fs::write(&k, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(&pw, PASSWORD).unwrap();
    let ok = Command::new("openssl")
        .args(["pkcs12", "-export", "-iter", "1000", "-name", "fuzz"])
        .args(extra)
        .arg("-in")
        .arg(&c)
        .arg("-inkey")
        .arg(&k)
        .arg("-passout")
        .arg(format!("file:{}", pw.display()))
        .arg("-out")
        .arg(&out)
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| std::fs::read(&out).unwrap())
}

fn p12_seeds(pki: &Pki, tmp: &Path) {
    let ec = pki.leaf("FUZZ EC", Alg::Ec);
    let rsa = pki.leaf("FUZZ RSA", Alg::Rsa);
    let chain = [&pki.inter, &pki.root];
    let files = [
        (
            "modern-ec.p12",
            p12(
                &ec.cert,
                &ec.key,
                &chain,
                Nid::AES_256_CBC,
                MessageDigest::sha256(),
            ),
        ),
        (
            "compat-ec.p12",
            p12(
                &ec.cert,
                &ec.key,
                &chain,
                Nid::PBE_WITHSHA1AND3_KEY_TRIPLEDES_CBC,
                MessageDigest::sha1(),
            ),
        ),
        (
            "modern-rsa-nochain.p12",
            p12(
                &rsa.cert,
                &rsa.key,
                &[],
                Nid::AES_256_CBC,
                MessageDigest::sha256(),
            ),
        ),
    ];
    for (name, bytes) in &files {
        seed("p12_inspect", name, bytes);
        seed("p12_open", name, bytes);
    }
    for (name, extra) in [
        ("nomac-ec.p12", &["-nomac"][..]),
        ("legacy-rc2-ec.p12", &["-legacy"][..]),
    ] {
        if let Some(bytes) = p12_cli(tmp, &ec.cert, &ec.key, extra) {
            seed("p12_inspect", name, &bytes);
            seed("p12_open", name, &bytes);
        }
    }
}

fn cert_seeds(pki: &Pki, tmp: &Path) {
    let leaf = pki.leaf("FUZZ LEAF", Alg::Ec);
    seed("cert_import", "leaf.pem", &leaf.cert.to_pem().unwrap());
    seed("cert_import", "leaf.der", &leaf.cert.to_der().unwrap());
    let mut bundle = pki.inter.to_pem().unwrap();
    bundle.extend(pki.root.to_pem().unwrap());
    seed("cert_import", "chain.pem", &bundle);
    let fixture =
        common::fixtures().join("TEST_AC_IGC-SANTE_ELEMENTAIRE_ORGANISATIONS.dc528e37.pem");
    if let Ok(bytes) = std::fs::read(fixture) {
        seed("cert_import", "igc-sante-test-ca.pem", &bytes);
    }
    // A signed message: .p7s (DER), .eml (S/MIME), and a certs-only .p7b.
    let mut certs = Stack::new().unwrap();
    certs.push(pki.inter.clone()).unwrap();
    let content = b"Bonjour, voici mon certificat.\r\n";
    let p7 = Pkcs7::sign(
        &leaf.cert,
        &leaf.key,
        &certs,
        content,
        Pkcs7Flags::DETACHED | Pkcs7Flags::BINARY,
    )
    .unwrap();
    seed("cert_import", "signed.p7s", &p7.to_der().unwrap());
    let eml = p7.to_smime(content, Pkcs7Flags::DETACHED).unwrap();
    let mut mail =
        b"From: dr.fuzz@example.fr\r\nTo: cabinet@example.fr\r\nSubject: certificat\r\n".to_vec();
    mail.extend(eml);
    seed("cert_import", "signed.eml", &mail);
    let chain = tmp.join("chain.pem");
    std::fs::write(&chain, &bundle).unwrap();
    if let Ok(out) = Command::new("openssl")
        .args(["crl2pkcs7", "-nocrl", "-outform", "DER", "-certfile"])
        .arg(&chain)
        .output()
    {
        if out.status.success() {
            seed("cert_import", "chain.p7b", &out.stdout);
        }
    }
}

fn key_seeds() {
    let pass = PASSWORD.as_bytes();
    let ec = key(Alg::Ec);
    let rsa = PKey::from_rsa(openssl::rsa::Rsa::generate(1024).unwrap()).unwrap();
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("ec-pkcs8.pem", ec.private_key_to_pem_pkcs8().unwrap()),
        ("ec-pkcs8.der", ec.private_key_to_pkcs8().unwrap()),
        (
            "ec-sec1.pem",
            ec.ec_key().unwrap().private_key_to_pem().unwrap(),
        ),
        (
            "ec-sec1.der",
            ec.ec_key().unwrap().private_key_to_der().unwrap(),
        ),
        (
            "rsa-pkcs1.pem",
            rsa.rsa().unwrap().private_key_to_pem().unwrap(),
        ),
        (
            "ec-pkcs8-aes.pem",
            ec.private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), pass)
                .unwrap(),
        ),
        (
            "ec-pkcs8-aes.der",
            ec.private_key_to_pkcs8_passphrase(Cipher::aes_256_cbc(), pass)
                .unwrap(),
        ),
        (
            "rsa-legacy-encrypted.pem",
            rsa.rsa()
                .unwrap()
                .private_key_to_pem_passphrase(Cipher::aes_128_cbc(), pass)
                .unwrap(),
        ),
    ];
    for (name, bytes) in seeds {
        seed("private_key", name, &bytes);
    }
}

fn with_ca(ca: &X509, crl_bytes: &[u8]) -> Vec<u8> {
    let der = ca.to_der().unwrap();
    let mut out = u16::try_from(der.len()).unwrap().to_be_bytes().to_vec();
    out.extend(der);
    out.extend(crl_bytes);
    out
}

fn crl_seeds() {
    for (alg, tag_name) in [(Alg::Ec, "ec"), (Alg::Rsa, "rsa")] {
        let ca_key = key(alg);
        let ca = build_cert(&CertSpec::ca("FUZZ CRL CA", &ca_key, None));
        let leaf_key = key(Alg::Ec);
        let leaf = build_cert(&CertSpec::leaf("FUZZ REVOKED", &leaf_key, (&ca, &ca_key)));
        let t = common::crl::now();
        let empty = crl(&CrlSpec::fresh(1), &ca, &ca_key);
        let listed = crl(
            &CrlSpec::fresh(2).revoking(vec![
                Revoked::cert(&leaf, t - 86_400, Some(1)),
                Revoked {
                    serial: vec![0x00, 0x80, 0x01],
                    at: t - 3600,
                    reason: None,
                    extensions: Vec::new(),
                },
                Revoked {
                    serial: vec![0x42; 20],
                    at: t - 60,
                    reason: Some(6),
                    extensions: Vec::new(),
                },
            ]),
            &ca,
            &ca_key,
        );
        // Issuing distribution point: a URI, only end-entity certificates.
        let uri = der(0x86, b"http://crl.example.fr/fuzz.crl");
        let mut idp = der(0xa0, &der(0xa0, &uri));
        idp.extend(der(0x81, &[0xff]));
        let mut spec = CrlSpec::fresh(3);
        spec.extensions
            .push(("2.5.29.28".into(), true, der(tag::SEQUENCE, &idp)));
        let scoped = crl(&spec, &ca, &ca_key);
        seed("crl", &format!("{tag_name}-empty"), &with_ca(&ca, &empty));
        seed("crl", &format!("{tag_name}-listed"), &with_ca(&ca, &listed));
        seed("crl", &format!("{tag_name}-idp"), &with_ca(&ca, &scoped));
        seed(
            "crl",
            &format!("{tag_name}-listed-pem"),
            &with_ca(&ca, &pem(&listed)),
        );
        if alg == Alg::Ec {
            seed(
                "crl",
                "no-ca-listed",
                &[&[0u8, 0][..], &listed[..]].concat(),
            );
            // Index bodies (without their HMAC, which the target appends).
            let parsed = parse::parse(&listed).unwrap();
            let mut entries = Vec::new();
            parse::for_each_entry(&parsed, |e| entries.push(e)).unwrap();
            let header = index::Header {
                crl_sha256: [7; 32],
                ca_sha256: [9; 32],
                this_update: parsed.this_update,
                next_update: parsed.next_update.unwrap(),
                flags: index::FLAG_ONLY_USER,
                scope: Vec::new(),
                number: parsed.number.clone(),
                base_number: None,
            };
            let full = index::build(&header, &mut entries, fuzzing::INDEX_KEY).unwrap();
            seed("crl_index", "three", &full[..full.len() - 32]);
            let none = index::build(&header, &mut Vec::new(), fuzzing::INDEX_KEY).unwrap();
            seed("crl_index", "empty", &none[..none.len() - 32]);
        }
    }
}

fn text_seeds() {
    let default = toml::to_string_pretty(&certsafe::config::Config::default()).unwrap();
    seed("config", "default.toml", default.as_bytes());
    seed(
        "config",
        "full.toml",
        br#"[backup]
max_age_days = 90
default_profile = "compat"

[certificates]
expiry_warning_days = 30

[ui]
theme = "high-contrast"
lang = "fr"

[crl]
extra_urls = ["http://igc-sante.esante.gouv.fr/CRL/ACR-EL.crl", "file:///srv/crl/ac.crl", "ldap://annuaire/cn=x"]
warning_hours = 48
refresh_hours = 12
jitter = "1h30m"
parallel = 2
connect_timeout_secs = 5
read_timeout_secs = 10
total_timeout_secs = 120
max_bytes = 1048576
proxy = "http://proxy.chu.fr:3128"
"#,
    );
    seed("config", "partial.toml", b"[crl]\njitter = \"2h\"\n");
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("themes")).unwrap() {
        let path = entry.unwrap().path();
        seed(
            "theme",
            &path.file_name().unwrap().to_string_lossy(),
            &std::fs::read(&path).unwrap(),
        );
    }
    seed(
        "theme",
        "user.toml",
        b"name = \"mine\"\ncritical = \"light_red\"\nselected_bg = \"#203040\"\nok = \"10\"\nbold = true\n",
    );
    let day = |y: u32| (y * 365).to_le_bytes();
    for (name, date, label) in [
        ("plain", day(2026), "Dr Jean Dupont"),
        ("accents", day(2027), "ÉLÉONORE d'Artagnan / CHU: Brest"),
        ("control", day(1999), "a\tb\x1b[31mc\r\nd\u{202e}gpj.exe"),
        ("long", day(9999), &"Établissement hospitalier ".repeat(8)),
        ("empty", day(0), ""),
    ] {
        seed("backup_name", name, &[&date[..], label.as_bytes()].concat());
    }
    for (name, s) in [
        ("clean", "Dr Éléonore Dupont — CHU de Brest"),
        ("escape", "CN=\x1b]0;owned\x07\x1b[2J evil"),
        ("bidi", "facture\u{202e}fdp.exe \u{2066}x\u{2069}"),
        ("c1", "a\u{9b}31mb\u{85}c\u{7f}"),
        ("lines", "one\ntwo\rthree\u{2028}four\tfive"),
    ] {
        seed("text_visible", name, s.as_bytes());
    }
}

/// Writes the seed corpora (`fuzz/seed` runs it). Ignored: the keys are
/// new on each run, so it would rewrite the committed seeds every time.
#[test]
#[ignore = "writes fuzz/corpus; run by fuzz/seed"]
fn write_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::new(Alg::Ec);
    p12_seeds(&pki, tmp.path());
    cert_seeds(&pki, tmp.path());
    key_seeds();
    crl_seeds();
    text_seeds();
    run_all("corpus");
}

#[test]
fn a_signed_message_with_latin1_headers_still_gives_its_certificates() {
    // The fix for the cert_import crash keeps non-UTF-8 messages away from
    // OpenSSL's S/MIME reader; the fallback reader must still find the
    // signer's certificates in them.
    let pki = Pki::new(Alg::Ec);
    let leaf = pki.leaf("FUZZ LATIN1", Alg::Ec);
    let mut certs = Stack::new().unwrap();
    certs.push(pki.inter.clone()).unwrap();
    let content = b"Bonjour\r\n";
    let p7 = Pkcs7::sign(&leaf.cert, &leaf.key, &certs, content, Pkcs7Flags::DETACHED).unwrap();
    let mut mail = b"From: dr.fuzz@example.fr\r\nSubject: Certificat de l'\xe9quipe\r\n".to_vec();
    mail.extend(p7.to_smime(content, Pkcs7Flags::DETACHED).unwrap());
    assert!(std::str::from_utf8(&mail).is_err());
    let found: Vec<String> = certsafe::domain::trust::read_certs(&mail)
        .iter()
        .map(common::fp)
        .collect();
    assert!(found.contains(&common::fp(&leaf.cert)), "{found:?}");
    assert!(found.contains(&common::fp(&pki.inter)), "{found:?}");
}

#[test]
fn an_encrypted_key_claiming_billions_of_iterations_is_refused_at_once() {
    // Seen while writing the private_key target (a libFuzzer timeout on a
    // crafted input; 4 min of fuzzing did not reach it): PKCS#8 with
    // 2^31-1 PBKDF2 iterations held read_private_key for many minutes.
    let password = Password::new(PASSWORD.to_string()).unwrap();
    let files = inputs("regressions", "private_key");
    assert!(files.len() >= 3);
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(
            certsafe::domain::identity::kdf_cost(&bytes),
            Some(2_147_483_647),
            "{}",
            file.display()
        );
        let started = std::time::Instant::now();
        let err =
            certsafe::domain::identity::read_private_key(&bytes, Some(&password), "k").unwrap_err();
        // With trailing bytes the DER is not taken as encrypted at all.
        let trailing = file.to_string_lossy().contains("trailing");
        assert!(
            trailing
                || matches!(
                    err,
                    certsafe::domain::identity::IdentityError::TooManyIterations {
                        iterations: 2_147_483_647,
                        ..
                    }
                ),
            "{}: {err:?}",
            file.display()
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}

#[test]
fn the_seed_keys_still_decrypt() {
    // The bound leaves ordinary encrypted keys (2048 iterations) alone.
    let password = Password::new(PASSWORD.to_string()).unwrap();
    for name in [
        "ec-pkcs8-aes.pem",
        "ec-pkcs8-aes.der",
        "rsa-legacy-encrypted.pem",
        "ec-pkcs8.pem",
    ] {
        let bytes = std::fs::read(fuzz_dir().join("corpus/private_key").join(name)).unwrap();
        assert!(
            certsafe::domain::identity::read_private_key(&bytes, Some(&password), name).is_ok(),
            "{name}"
        );
    }
}
