//! Backup speed, whole processes: `certsafe backup` (build the PKCS#12
//! with 600 000 iterations, write, sync, read back and prove every
//! identity, compare, rename, record) next to `openssl pkcs12 -export -iter
//! 600000` followed by `openssl pkcs12 -in ... -noout`, same identity,
//! same machine. Target: certsafe at most 1.1 times OpenSSL.
//!
//! Run: `cargo bench --bench backup` (prints figures; it is not a test).
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 7;
const PASSWORD: &str = "correct horse battery staple Brest 1987";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn certsafe(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_certsafe"));
    c.arg("--home").arg(home).env("LANG", "C");
    c
}

fn main() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/igc-sante-test");
    let cert_path = fixtures.join("testsign.test.asipsante.fr.8f613149.pem");
    let key_path = fixtures.join("testsign.test.asipsante.fr.8f613149.key.pem");
    let chain_path = fixtures.join("TEST_AC_IGC-SANTE_ELEMENTAIRE_ORGANISATIONS.dc528e37.pem");
    let root_path = fixtures.join("TEST_AC_RACINE_IGC-SANTE_ELEMENTAIRE.01325aeb.pem");

    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let pw_file = work.path().join("pw");
    std::fs::write(&pw_file, format!("{PASSWORD}\n")).unwrap();
    let bundle = work.path().join("chain.pem");
    let mut chain = std::fs::read(&chain_path).unwrap();
    chain.extend(std::fs::read(&root_path).unwrap());
    std::fs::write(&bundle, chain).unwrap();
    let out = certsafe(&home)
        .args(["account", "import", "--label", "Bench", "--cert"])
        .arg(&cert_path)
        .arg("--key")
        .arg(&key_path)
        .arg("--chain")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();

    println!(
        "backup benchmark: RSA 2048 identity + 2 CA certificates, 600 000 iterations, whole processes, {RUNS} runs, median"
    );
    println!(
        "{:<8} {:>10} {:>14} {:>7} {:>14} {:>7}",
        "profile", "certsafe", "ossl +noout", "ratio", "ossl +nodes", "ratio"
    );
    for (profile, openssl_args) in [
        (
            "modern",
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
            "compat",
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
        let mut full = Vec::new();
        for i in 0..RUNS {
            let dir = work.path().join(format!("{profile}-{i}"));
            std::fs::create_dir(&dir).unwrap();
            let started = Instant::now();
            let status = certsafe(&home)
                .args(["backup", &id, "--profile", profile, "--password-file"])
                .arg(&pw_file)
                .arg("--to")
                .arg(&dir)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
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
            let read = |how: &[&str]| {
                let started = Instant::now();
                let status = Command::new("openssl")
                    .arg("pkcs12")
                    .args(how)
                    .arg("-in")
                    .arg(&out)
                    .arg("-passin")
                    .arg(format!("file:{}", pw_file.display()))
                    .status()
                    .unwrap();
                assert!(status.success());
                started.elapsed()
            };
            let export = started.elapsed();
            // -noout checks the MAC and decrypts the certificates but not
            // the key; -nodes decrypts the key too, as certsafe's check does.
            theirs.push(export + read(&["-noout"]));
            full.push(export + read(&["-nodes", "-out", "/dev/null"]));
        }
        let (o, t, f) = (median(ours), median(theirs), median(full));
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let ratio = o.as_secs_f64() / t.as_secs_f64();
        let ratio_full = o.as_secs_f64() / f.as_secs_f64();
        println!(
            "{:<8} {:>8.0}ms {:>12.0}ms {:>7.2} {:>12.0}ms {:>7.2}  (target <= 1.1: {}; same work: {})",
            profile,
            ms(o),
            ms(t),
            ratio,
            ms(f),
            ratio_full,
            if ratio <= 1.1 { "met" } else { "missed" },
            if ratio_full <= 1.1 { "met" } else { "missed" },
        );
    }
}
