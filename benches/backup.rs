//! Backup speed: certsafe's whole backup (build the PKCS#12 with 600 000
//! iterations, write, sync, read back, open with the password, compare,
//! rename, record) next to `openssl pkcs12 -export -iter 600000` followed by
//! reading the file back with `openssl pkcs12 -nodes`, same key, same machine.
//! Target: certsafe at most 1.3 times OpenSSL.
//!
//! Run: `cargo bench --bench backup` (prints figures; it is not a test).
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use certsafe::domain::backup::{self, Request};
use certsafe::domain::identity::{Identity, read_certificates, read_private_key};
use certsafe::domain::p12::Profile;
use certsafe::domain::secret::Password;
use certsafe::domain::store::Store;
use certsafe::domain::time::now;

const RUNS: usize = 7;
const PASSWORD: &str = "correct horse battery staple Brest 1987";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/igc-sante-test");
    let cert_path = fixtures.join("testsign.test.asipsante.fr.8f613149.pem");
    let key_path = fixtures.join("testsign.test.asipsante.fr.8f613149.key.pem");
    let chain_path = fixtures.join("TEST_AC_IGC-SANTE_ELEMENTAIRE_ORGANISATIONS.dc528e37.pem");
    let root_path = fixtures.join("TEST_AC_RACINE_IGC-SANTE_ELEMENTAIRE.01325aeb.pem");

    let work = tempfile::tempdir().unwrap();
    let store = Store::open(&work.path().join("home/data/accounts")).unwrap();
    let key = read_private_key(&std::fs::read(&key_path).unwrap(), None, "key").unwrap();
    let mut certs = read_certificates(&std::fs::read(&cert_path).unwrap(), "cert").unwrap();
    certs.extend(read_certificates(&std::fs::read(&chain_path).unwrap(), "chain").unwrap());
    certs.extend(read_certificates(&std::fs::read(&root_path).unwrap(), "root").unwrap());
    let identity = Identity::assemble(key, certs).unwrap();
    let account = store.add(&identity, "Bench", None, now()).unwrap();
    let password = Password::new(PASSWORD.into()).unwrap();
    let pw_file = work.path().join("pw");
    std::fs::write(&pw_file, format!("{PASSWORD}\n")).unwrap();
    let bundle = work.path().join("chain.pem");
    let mut chain = std::fs::read(&chain_path).unwrap();
    chain.extend(std::fs::read(&root_path).unwrap());
    std::fs::write(&bundle, chain).unwrap();

    println!(
        "backup benchmark: RSA 2048 identity + 2 CA certificates, 600 000 iterations, {RUNS} runs, median"
    );
    println!(
        "{:<8} {:>14} {:>22} {:>8}",
        "profile", "certsafe", "openssl export+read", "ratio"
    );
    for (profile, openssl_args) in [
        (
            Profile::Modern,
            vec![
                "-keypbe",
                "AES-256-CBC",
                "-certpbe",
                "AES-256-CBC",
                "-macalg",
                "sha256",
            ],
        ),
        (
            Profile::Compat,
            vec![
                "-keypbe",
                "PBE-SHA1-3DES",
                "-certpbe",
                "PBE-SHA1-3DES",
                "-macalg",
                "sha1",
            ],
        ),
    ] {
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for i in 0..RUNS {
            let dir = work.path().join(format!("{}-{i}", profile.name()));
            std::fs::create_dir(&dir).unwrap();
            let account = store.get(&account.meta.id).unwrap();
            let started = Instant::now();
            let dest = backup::resolve_destination(&dir, "Bench", now(), false, None).unwrap();
            let req = Request {
                store: &store,
                account: &account,
                dest: &dest,
                password: &password,
                profile,
                overwrite: false,
                now: now(),
            };
            backup::run(&req, &mut |_| {}).unwrap();
            ours.push(started.elapsed());

            let out = dir.join("openssl.p12");
            let started = Instant::now();
            let status = Command::new("openssl")
                .args(["pkcs12", "-export", "-iter", "600000"])
                .args(&openssl_args)
                .arg("-inkey")
                .arg(&key_path)
                .arg("-in")
                .arg(&cert_path)
                .arg("-certfile")
                .arg(&bundle)
                .arg("-passout")
                .arg(format!("file:{}", pw_file.display()))
                .arg("-out")
                .arg(&out)
                .status()
                .unwrap();
            assert!(status.success());
            let status = Command::new("openssl")
                .args(["pkcs12", "-nodes", "-out", "/dev/null", "-in"])
                .arg(&out)
                .arg("-passin")
                .arg(format!("file:{}", pw_file.display()))
                .status()
                .unwrap();
            assert!(status.success());
            theirs.push(started.elapsed());
        }
        let (o, t) = (median(ours), median(theirs));
        let ratio = o.as_secs_f64() / t.as_secs_f64();
        println!(
            "{:<8} {:>12.0}ms {:>20.0}ms {:>8.2}{}",
            profile.name(),
            o.as_secs_f64() * 1000.0,
            t.as_secs_f64() * 1000.0,
            ratio,
            if ratio <= 1.3 {
                "  (target <= 1.3: met)"
            } else {
                "  (target <= 1.3: MISSED)"
            }
        );
    }
}
