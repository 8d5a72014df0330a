//! Hostile private-key files given to `account import --key`: each is
//! refused within the bound, before OpenSSL spends the work it claims.
//! Found by a review after the fuzzing: scrypt priced by its largest number
//! rather than N·r·p, a PEM whose checked block is not the decrypted one,
//! DSA keys whose decoding computes with parameters the file chooses.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use certsafe::domain::ber::{der, der_oid, der_uint, tag};
use common::{Alg, Home, Pki, STRONG};

const OID_PBES2: &str = "1.2.840.113549.1.5.13";
const OID_PBKDF2: &str = "1.2.840.113549.1.5.12";
const OID_SCRYPT: &str = "1.3.6.1.4.1.11591.4.11";
const OID_HMAC_SHA256: &str = "1.2.840.113549.2.9";
const OID_AES256_CBC: &str = "2.16.840.1.101.3.4.1.42";
const OID_DSA: &str = "1.2.840.10040.4.1";

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    der(tag::SEQUENCE, &parts.concat())
}

/// An `EncryptedPrivateKeyInfo` with `kdf` (the KDF `AlgorithmIdentifier`)
/// and a ciphertext that never gets decrypted.
fn encrypted_key(kdf: Vec<u8>) -> Vec<u8> {
    let cipher = seq(&[der_oid(OID_AES256_CBC), der(tag::OCTET_STRING, &[7; 16])]);
    let alg = seq(&[der_oid(OID_PBES2), seq(&[kdf, cipher])]);
    seq(&[alg, der(tag::OCTET_STRING, &[0x42; 64])])
}

fn pbkdf2(iterations: u64) -> Vec<u8> {
    seq(&[
        der_oid(OID_PBKDF2),
        seq(&[
            der(tag::OCTET_STRING, &[1; 8]),
            der_uint(iterations),
            seq(&[der_oid(OID_HMAC_SHA256), vec![0x05, 0x00]]),
        ]),
    ])
}

fn pem(label: &str, der_bytes: &[u8]) -> String {
    let b64 = openssl::base64::encode_block(der_bytes);
    let mut body = String::new();
    for chunk in b64.as_bytes().chunks(64) {
        body.push_str(std::str::from_utf8(chunk).unwrap());
        body.push('\n');
    }
    format!("-----BEGIN {label}-----\n{body}-----END {label}-----\n")
}

/// `account import --cert LEAF --key KEY --password-stdin`: exit 1 within
/// 5 s and no account.
fn refused(what: &str, key: &[u8]) {
    let home = Home::new();
    let pki = Pki::new(Alg::Ec);
    let leaf = pki.leaf("Dr Hostile", Alg::Ec);
    let dir = tempfile::tempdir().unwrap();
    let (cert, _, chain) = pki.write(dir.path(), &leaf);
    let key_path = dir.path().join("hostile.key");
    std::fs::write(&key_path, key).unwrap();
    let start = Instant::now();
    let out = home
        .cmd()
        .args(["account", "import", "--password-stdin", "--cert"])
        .arg(&cert)
        .arg("--key")
        .arg(&key_path)
        .arg("--chain")
        .arg(&chain)
        .write_stdin(format!("{STRONG}\n"))
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(out.status.code(), Some(1), "{what}: {out:?}");
    assert!(elapsed < Duration::from_secs(5), "{what}: took {elapsed:?}");
    assert!(no_account(home.path()), "{what}: an account was created");
}

fn no_account(home: &Path) -> bool {
    std::fs::read_dir(home.join("data/accounts")).map_or(true, |d| {
        d.filter_map(Result::ok)
            .all(|e| e.file_name().to_string_lossy().starts_with('.'))
    })
}

#[test]
fn scrypt_is_refused_whatever_its_numbers() {
    // N = 2^16, r = 1, p = 2^16: each under ten million, 16 MiB of memory
    // (under OpenSSL's 32 MiB cap), hours of work.
    let kdf = seq(&[
        der_oid(OID_SCRYPT),
        seq(&[
            der(tag::OCTET_STRING, &[1; 8]),
            der_uint(1 << 16),
            der_uint(1),
            der_uint(1 << 16),
        ]),
    ]);
    let key = encrypted_key(kdf);
    refused("scrypt DER", &key);
    refused("scrypt PEM", pem("ENCRYPTED PRIVATE KEY", &key).as_bytes());
}

#[test]
fn the_block_checked_is_the_block_decrypted() {
    // A cheap block whose marker is not at the start of a line (OpenSSL
    // ignores it), then the real one claiming 2^31 - 1 rounds.
    let cheap = pem("ENCRYPTED PRIVATE KEY", &encrypted_key(pbkdf2(1)));
    let costly = pem("ENCRYPTED PRIVATE KEY", &encrypted_key(pbkdf2(0x7fff_ffff)));
    let file = format!("x{cheap}\n{costly}");
    refused("hidden costly block", file.as_bytes());
    // Two key blocks: which one would be used is not for the file to say.
    let two = format!("{cheap}{cheap}");
    refused("two key blocks", two.as_bytes());
}

#[test]
fn dsa_keys_and_huge_integers_are_refused_before_openssl() {
    // A DSA PrivateKeyInfo with a 20 000-bit p: decoding it would compute
    // g^x mod p.
    let big = |n: usize| {
        let mut v = vec![0xc5u8; n];
        v[0] = 0x7f;
        der(tag::INTEGER, &v)
    };
    let dsa = seq(&[
        der_uint(0),
        seq(&[der_oid(OID_DSA), seq(&[big(2500), big(32), big(2500)])]),
        der(tag::OCTET_STRING, &big(2500)),
    ]);
    refused("DSA PKCS#8", &dsa);
    refused("DSA PKCS#8 PEM", pem("PRIVATE KEY", &dsa).as_bytes());
    // An RSAPrivateKey whose modulus is 20 000 bits.
    let rsa = seq(&[
        der_uint(0),
        big(2500),
        der_uint(65_537),
        big(2500),
        big(1250),
        big(1250),
        big(1250),
        big(1250),
        big(1250),
    ]);
    refused("RSA 20 000 bits", pem("RSA PRIVATE KEY", &rsa).as_bytes());
}

#[test]
fn ordinary_keys_still_import() {
    // The same command with a real key (PKCS#8 PEM, encrypted PKCS#8 PEM,
    // legacy encrypted PEM): the checks refuse only what they must.
    let pki = Pki::new(Alg::Rsa);
    let leaf = pki.leaf("Dr Ordinary", Alg::Rsa);
    let dir = tempfile::tempdir().unwrap();
    let (cert, plain, chain) = pki.write(dir.path(), &leaf);
    let encrypted = dir.path().join("enc.key");
    std::fs::write(
        &encrypted,
        leaf.key
            .private_key_to_pem_pkcs8_passphrase(
                openssl::symm::Cipher::aes_256_cbc(),
                STRONG.as_bytes(),
            )
            .unwrap(),
    )
    .unwrap();
    let legacy = dir.path().join("legacy.key");
    std::fs::write(
        &legacy,
        leaf.key
            .rsa()
            .unwrap()
            .private_key_to_pem_passphrase(openssl::symm::Cipher::aes_128_cbc(), STRONG.as_bytes())
            .unwrap(),
    )
    .unwrap();
    for key in [&plain, &encrypted, &legacy] {
        let home = Home::new();
        let out = home
            .cmd()
            .args(["account", "import", "--password-stdin", "--cert"])
            .arg(&cert)
            .arg("--key")
            .arg(key)
            .arg("--chain")
            .arg(&chain)
            .write_stdin(format!("{STRONG}\n"))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            key.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_bounds_never_refuse_an_ordinary_key() {
    // An EC private scalar is random bytes that sometimes parse as BER: the
    // bounds must look for violations only (a flaky refusal was seen).
    use certsafe::domain::identity::key_der_is_bounded;
    let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
    for _ in 0..3000 {
        let key = openssl::pkey::PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap())
            .unwrap();
        assert!(key_der_is_bounded(&key.private_key_to_pkcs8().unwrap()));
        assert!(key_der_is_bounded(&key.private_key_to_der().unwrap()));
    }
    let rsa = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(4096).unwrap()).unwrap();
    assert!(key_der_is_bounded(&rsa.private_key_to_pkcs8().unwrap()));
}
