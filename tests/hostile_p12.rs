//! Hostile PKCS#12 files, built here with the DER writer of
//! `domain::ber` and the openssl API: each is answered by `verify`,
//! `restore` and `account import --p12` with exit 1, a typed error code in
//! `--json`, and within the 10-second bound (a bound, not a benchmark).
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use certsafe::domain::ber::{der, der_oid, der_uint, tag};
use certsafe::domain::p12::kdf::{Encoding, pkcs12_kdf};
use certsafe::domain::secret::Password;
use common::{Alg, Home, Pki, STRONG};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm::{Cipher, encrypt};
use serde_json::Value;

const BOUND: Duration = Duration::from_secs(10);

const DATA: &str = "1.2.840.113549.1.7.1";
const ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const SHROUDED: &str = "1.2.840.113549.1.12.10.1.2";
const CERT_BAG: &str = "1.2.840.113549.1.12.10.1.3";
const SAFE_CONTENTS_BAG: &str = "1.2.840.113549.1.12.10.1.6";

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    der(tag::SEQUENCE, &parts.concat())
}

fn explicit0(inner: &[u8]) -> Vec<u8> {
    der(tag::CONTEXT_0, inner)
}

fn octets(b: &[u8]) -> Vec<u8> {
    der(tag::OCTET_STRING, b)
}

/// PBES2 `AlgorithmIdentifier` with PBKDF2-HMAC-SHA256 (or `kdf` given
/// whole) and AES-256-CBC.
fn pbes2(kdf: Vec<u8>, iv: &[u8]) -> Vec<u8> {
    seq(&[
        der_oid("1.2.840.113549.1.5.13"),
        seq(&[kdf, seq(&[der_oid("2.16.840.1.101.3.4.1.42"), octets(iv)])]),
    ])
}

fn pbkdf2(salt: &[u8], iterations: u64) -> Vec<u8> {
    seq(&[
        der_oid("1.2.840.113549.1.5.12"),
        seq(&[
            octets(salt),
            der_uint(iterations),
            seq(&[der_oid("1.2.840.113549.2.9"), vec![5, 0]]),
        ]),
    ])
}

/// scrypt with N = 2^30, r = 8, p = 1.
fn scrypt() -> Vec<u8> {
    seq(&[
        der_oid("1.3.6.1.4.1.11591.4.11"),
        seq(&[
            octets(b"saltsalt"),
            der_uint(1 << 30),
            der_uint(8),
            der_uint(1),
        ]),
    ])
}

fn shrouded_bag(alg: Vec<u8>) -> Vec<u8> {
    seq(&[
        der_oid(SHROUDED),
        explicit0(&seq(&[alg, octets(&[0x42; 1232])])),
    ])
}

fn cert_bag(cert_der: &[u8]) -> Vec<u8> {
    seq(&[
        der_oid(CERT_BAG),
        explicit0(&seq(&[
            der_oid("1.2.840.113549.1.9.22.1"),
            explicit0(&octets(cert_der)),
        ])),
    ])
}

fn data_part(safe_contents: &[u8]) -> Vec<u8> {
    seq(&[der_oid(DATA), explicit0(&octets(safe_contents))])
}

/// An encryptedData part really encrypted with `password` (PBES2, 1000
/// iterations), so the reader has to open it to see what is inside.
fn encrypted_part(safe_contents: &[u8], password: &str) -> Vec<u8> {
    let salt = [7u8; 16];
    let iv = [9u8; 16];
    let mut key = [0u8; 32];
    openssl::pkcs5::pbkdf2_hmac(
        password.as_bytes(),
        &salt,
        1000,
        MessageDigest::sha256(),
        &mut key,
    )
    .unwrap();
    let ct = encrypt(Cipher::aes_256_cbc(), &key, Some(&iv), safe_contents).unwrap();
    encrypted_with(pbes2(pbkdf2(&salt, 1000), &iv), &ct)
}

fn encrypted_with(alg: Vec<u8>, ct: &[u8]) -> Vec<u8> {
    seq(&[
        der_oid(ENCRYPTED_DATA),
        explicit0(&seq(&[
            der_uint(0),
            seq(&[der_oid(DATA), alg, der(tag::CONTEXT_0_PRIMITIVE, ct)]),
        ])),
    ])
}

/// A PFX with a correct SHA-256 MAC of `mac_iterations` (computed with a
/// small count when the claimed one is absurd: the count is checked first).
fn pfx(parts: &[Vec<u8>], password: &str, mac_iterations: u64) -> Vec<u8> {
    let auth_safe = seq(parts);
    let salt = [3u8; 16];
    let pw = Password::new(password.into()).unwrap();
    let md = MessageDigest::sha256();
    let key = pkcs12_kdf(
        md,
        &pw,
        Encoding::Bmp,
        &salt,
        3,
        mac_iterations.min(2048),
        32,
    )
    .unwrap();
    let mut signer = Signer::new(md, &PKey::hmac(&key).unwrap()).unwrap();
    signer.update(&auth_safe).unwrap();
    let mac = signer.sign_to_vec().unwrap();
    let mac_data = seq(&[
        seq(&[
            seq(&[der_oid("2.16.840.1.101.3.4.2.1"), vec![5, 0]]),
            octets(&mac),
        ]),
        octets(&salt),
        der_uint(mac_iterations),
    ]);
    seq(&[der_uint(3), data_part(&auth_safe), mac_data])
}

fn leaf_der() -> Vec<u8> {
    let pki = Pki::new(Alg::Ec);
    pki.leaf("Dr Hostile", Alg::Ec).cert.to_der().unwrap()
}

/// Runs `args` with the password on stdin; asserts exit 1 within the
/// bound; returns the JSON error code.
fn refused(home: &Home, args: &[&std::ffi::OsStr]) -> Option<String> {
    let start = Instant::now();
    let mut child = home
        .std_cmd()
        .args(args)
        .args(["--password-stdin", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The program may refuse before reading the password.
    let _ = child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{STRONG}\n").as_bytes());
    let out = child.wait_with_output().unwrap();
    let elapsed = start.elapsed();
    assert!(elapsed < BOUND, "{args:?} took {elapsed:?}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["error"]["code"].as_str().map(str::to_string)
}

/// `verify`, `restore` and `account import --p12` all refuse `file` with
/// `code` (`None`: no P12 code, a read error) and leave no account.
fn all_refuse(file: &Path, code: Option<&str>) {
    let home = Home::new();
    let f = file.as_os_str();
    for args in [
        vec!["verify".as_ref(), f],
        vec!["restore".as_ref(), f],
        vec!["account".as_ref(), "import".as_ref(), "--p12".as_ref(), f],
    ] {
        assert_eq!(refused(&home, &args).as_deref(), code, "{args:?}");
    }
    let list = home
        .cmd()
        .args(["account", "list", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&list.stdout).unwrap_or(Value::Null);
    assert!(
        v.as_array().is_none_or(Vec::is_empty),
        "nothing imported: {v}"
    );
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn key_bag_with_2_31_iterations_inside_the_encrypted_part() {
    let dir = tempfile::tempdir().unwrap();
    let inner = seq(&[
        shrouded_bag(pbes2(pbkdf2(b"saltsalt", 1 << 31), &[1; 16])),
        cert_bag(&leaf_der()),
    ]);
    let file = pfx(&[encrypted_part(&inner, STRONG)], STRONG, 2048);
    all_refuse(
        &write(dir.path(), "inner.p12", &file),
        Some("p12_too_much_work"),
    );
    // The same hidden one level down, in a nested safe-contents bag.
    let nested = seq(&[seq(&[der_oid(SAFE_CONTENTS_BAG), explicit0(&inner)])]);
    let file = pfx(&[encrypted_part(&nested, STRONG)], STRONG, 2048);
    all_refuse(
        &write(dir.path(), "nested.p12", &file),
        Some("p12_too_much_work"),
    );
}

#[test]
fn many_key_bags_each_under_the_limit_add_up() {
    // 15 key bags of 1 M iterations: each alone is fine, together 15 M units.
    // Each its own salt: identical derivations are computed (and priced)
    // once per open, so 15 bags sharing one salt would cost 1 M.
    let dir = tempfile::tempdir().unwrap();
    let mut bags: Vec<Vec<u8>> = (0..15u8)
        .map(|i| {
            shrouded_bag(pbes2(
                pbkdf2(&[b's', i, 0, 0, 0, 0, 0, 0], 1_000_000),
                &[1; 16],
            ))
        })
        .collect();
    bags.push(cert_bag(&leaf_der()));
    let file = pfx(&[encrypted_part(&seq(&bags), STRONG)], STRONG, 2048);
    all_refuse(
        &write(dir.path(), "many.p12", &file),
        Some("p12_too_much_work"),
    );
}

#[test]
fn scrypt_and_unknown_kdfs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // scrypt N = 2^30 for a visible key bag.
    let file = pfx(
        &[data_part(&seq(&[
            shrouded_bag(pbes2(scrypt(), &[1; 16])),
            cert_bag(&leaf_der()),
        ]))],
        STRONG,
        2048,
    );
    all_refuse(
        &write(dir.path(), "scrypt.p12", &file),
        Some("p12_unsupported_kdf"),
    );
    // scrypt hidden inside the encrypted part.
    let inner = seq(&[
        shrouded_bag(pbes2(scrypt(), &[1; 16])),
        cert_bag(&leaf_der()),
    ]);
    let file = pfx(&[encrypted_part(&inner, STRONG)], STRONG, 2048);
    all_refuse(
        &write(dir.path(), "scrypt-inner.p12", &file),
        Some("p12_unsupported_kdf"),
    );
    // An unknown KDF OID for the encrypted part itself.
    let unknown = seq(&[der_oid("1.2.3.4.5.6.7"), seq(&[octets(b"salt")])]);
    let file = pfx(
        &[encrypted_with(pbes2(unknown, &[1; 16]), &[0; 64])],
        STRONG,
        2048,
    );
    all_refuse(
        &write(dir.path(), "unknown.p12", &file),
        Some("p12_unsupported_kdf"),
    );
}

#[test]
fn a_mac_with_huge_iterations_is_refused_before_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let safe = seq(&[cert_bag(&leaf_der())]);
    for iterations in [1u64 << 40, u64::MAX] {
        let file = pfx(&[data_part(&safe)], STRONG, iterations);
        all_refuse(
            &write(dir.path(), "mac.p12", &file),
            Some("p12_too_much_work"),
        );
    }
}

#[test]
fn absurd_nesting_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut inner = seq(&[cert_bag(&leaf_der())]);
    for _ in 0..40 {
        inner = seq(&[seq(&[der_oid(SAFE_CONTENTS_BAG), explicit0(&inner)])]);
    }
    let file = pfx(&[data_part(&inner)], STRONG, 2048);
    all_refuse(&write(dir.path(), "deep.p12", &file), Some("p12_damaged"));
}

#[test]
fn a_truncated_file_is_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let inner = seq(&[cert_bag(&leaf_der())]);
    let file = pfx(&[encrypted_part(&inner, STRONG)], STRONG, 2048);
    for cut in [file.len() / 2, file.len() - 1] {
        all_refuse(
            &write(dir.path(), "cut.p12", &file[..cut]),
            Some("p12_damaged"),
        );
    }
}

#[test]
fn too_many_keys_or_certificates_are_refused() {
    // Each key is paired with every certificate and each identity's chain
    // ordered: their numbers are bounded so that work stays bounded too.
    let dir = tempfile::tempdir().unwrap();
    let key = common::key(Alg::Ec).private_key_to_pkcs8().unwrap();
    let key_bag = seq(&[der_oid("1.2.840.113549.1.12.10.1.1"), explicit0(&key)]);
    let cert = leaf_der();
    let mut keys: Vec<Vec<u8>> = vec![key_bag; 40];
    keys.push(cert_bag(&cert));
    let file = pfx(&[data_part(&seq(&keys))], STRONG, 2048);
    all_refuse(&write(dir.path(), "keys.p12", &file), Some("p12_damaged"));
    let certs: Vec<Vec<u8>> = vec![cert_bag(&cert); 100];
    let file = pfx(&[data_part(&seq(&certs))], STRONG, 2048);
    all_refuse(&write(dir.path(), "certs.p12", &file), Some("p12_damaged"));
}

#[test]
fn a_fifo_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.p12");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    // Nobody ever writes to it: a reader that opens it would wait forever.
    all_refuse(&fifo, None);
}
