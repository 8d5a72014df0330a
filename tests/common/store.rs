//! Invariants of a store after a crash or a race, checked from outside:
//! what `account list --json` shows, what files hold private keys, what
//! hidden folders are left.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::case_sensitive_file_extension_comparisons
)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// `certsafe --home HOME ARGS` as a std Command.
pub fn certsafe(home: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("certsafe"));
    c.arg("--home")
        .arg(home)
        .env_remove("CERTSAFE_HOME")
        .env("LANG", "C");
    c
}

/// Runs `account list --json`, asserts it succeeds, returns the IDs.
pub fn listed_ids(home: &Path) -> Vec<String> {
    let out = certsafe(home)
        .args(["account", "list", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "account list failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every file under `dir`.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// Whether these bytes are (or hold) a private key: PEM of any kind, or DER
/// PKCS#8 / PKCS#1 / SEC1.
pub fn holds_private_key(bytes: &[u8]) -> bool {
    bytes.windows(16).any(|w| w == b"PRIVATE KEY-----")
        || (bytes.len() < 16 * 1024
            && (openssl::pkey::PKey::private_key_from_der(bytes).is_ok()
                || openssl::pkey::PKey::private_key_from_pkcs8(bytes).is_ok()))
}

/// The invariants after any crash: the next `account list --json`
/// succeeds; no staging or removal folder and no temporary file is left in
/// the accounts folder after it; every folder there is a listed account;
/// every file holding a private key is inside a listed account's folder;
/// every listed account's key matches its certificate. Returns the IDs.
pub fn assert_consistent(home: &Path) -> Vec<String> {
    let ids = listed_ids(home);
    let accounts = home.join("data").join("accounts");
    if let Ok(rd) = std::fs::read_dir(&accounts) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                !name.starts_with(".new-")
                    && !name.starts_with(".removed-")
                    && !name.starts_with(".old-")
                    && !name.ends_with(".tmp"),
                "left after the next command: {name}"
            );
            if !name.starts_with('.') {
                assert!(
                    ids.contains(&name),
                    "folder {name} is not an account that `account list` shows ({ids:?})"
                );
            }
        }
    }
    for f in files_under(home) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        if !holds_private_key(&bytes) {
            continue;
        }
        let owner = f
            .strip_prefix(&accounts)
            .ok()
            .and_then(|r| r.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        assert!(
            owner.as_ref().is_some_and(|o| ids.contains(o)),
            "a private key outside the listed accounts: {}",
            f.display()
        );
    }
    for id in &ids {
        let dir = accounts.join(id);
        let key =
            openssl::pkey::PKey::private_key_from_pem(&std::fs::read(dir.join("key.pem")).unwrap())
                .unwrap();
        let cert =
            openssl::x509::X509::from_pem(&std::fs::read(dir.join("cert.pem")).unwrap()).unwrap();
        assert!(
            cert.public_key().unwrap().public_eq(&key),
            "account {id}: key.pem does not match cert.pem"
        );
    }
    ids
}

/// certsafe's own temporary files in `dir`.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".certsafe-") && n.ends_with(".tmp"))
        })
        .collect()
}

/// A small seeded generator (xorshift64*), so a failing run can be replayed.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `CERTSAFE_TEST_SEED` or the clock; the seed is printed.
    pub fn from_env(what: &str) -> Self {
        let seed = std::env::var("CERTSAFE_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                u64::try_from(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_nanos()
                        % u128::from(u64::MAX),
                )
                .unwrap()
            });
        eprintln!("{what}: seed {seed} (replay with CERTSAFE_TEST_SEED={seed})");
        Self(seed | 1)
    }

    /// The next number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// A PKCS#12 file of `leaf` with its chain, with few iterations (fast to
/// open: the loops restore it many times).
pub fn quick_p12(
    leaf: &super::Leaf,
    pki: &super::Pki,
    name: &str,
    password: &str,
    iterations: u32,
) -> Vec<u8> {
    let mut chain = openssl::stack::Stack::new().unwrap();
    chain.push(pki.inter.clone()).unwrap();
    chain.push(pki.root.clone()).unwrap();
    let mut b = openssl::pkcs12::Pkcs12::builder();
    b.name(name)
        .pkey(&leaf.key)
        .cert(&leaf.cert)
        .ca(chain)
        .key_iter(iterations)
        .mac_iter(iterations);
    b.build2(password).unwrap().to_der().unwrap()
}
