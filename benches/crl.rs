//! CRL scale: for generated CRLs of 200,000 and 1,000,000 entries,
//! - import (parse + verify + index, via `crl import`'s code) next to
//!   `openssl crl -noout -CAfile CA -in CRL` (parse + verify), time and
//!   peak memory (`/usr/bin/time -v`, maximum resident set size);
//! - checking 1,000 certificates against the cached CRL next to
//!   `openssl crl -noout -in CRL` (parse only).
//!
//! Targets: import ≤ 1.5 × OpenSSL's verify time, peak memory ≤ 1.5 ×
//! OpenSSL's, check ≤ 0.25 × OpenSSL's parse.
//!
//! Run: `cargo bench --bench crl` (prints figures; it is not a test). Each
//! certsafe measurement runs in a child process (this binary again), so its
//! peak memory is its own.
#![allow(
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::similar_names,
    clippy::cast_possible_wrap,
    clippy::single_match_else
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use certsafe::domain::ber::{der, der_oid, der_uint, tag};
use certsafe::domain::certext::der_time;
use certsafe::domain::crl::check::{CertState, Checker};
use certsafe::domain::crl::{Env, import_file};
use certsafe::domain::home::Home;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509, X509Builder, X509NameBuilder};

const RUNS: usize = 3;
const CHECKS: usize = 1000;

fn unix_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn name(cn: &str) -> openssl::x509::X509Name {
    let mut b = X509NameBuilder::new().unwrap();
    b.append_entry_by_nid(Nid::COUNTRYNAME, "FR").unwrap();
    b.append_entry_by_nid(Nid::ORGANIZATIONNAME, "CERTSAFE BENCH")
        .unwrap();
    b.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    b.build()
}

fn ca() -> (PKey<Private>, X509) {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    let n = name("BENCH CA");
    b.set_subject_name(&n).unwrap();
    b.set_issuer_name(&n).unwrap();
    b.set_not_before(&Asn1Time::from_unix(unix_now() - 86_400).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(unix_now() + 3650 * 86_400).unwrap())
        .unwrap();
    b.set_pubkey(&key).unwrap();
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
    b.sign(&key, MessageDigest::sha256()).unwrap();
    (key, b.build())
}

/// Serial INTEGER contents: 16 random octets, positive, no leading zero.
fn serials(n: usize) -> Vec<[u8; 16]> {
    let mut raw = vec![0u8; n * 16];
    openssl::rand::rand_bytes(&mut raw).unwrap();
    raw.chunks_exact(16)
        .map(|c| {
            let mut s = [0u8; 16];
            s.copy_from_slice(c);
            s[0] = (s[0] & 0x7f) | 0x10;
            s
        })
        .collect()
}

fn crl(ca: &X509, key: &PKey<Private>, serials: &[[u8; 16]]) -> Vec<u8> {
    crl_numbered(ca, key, serials, 42, None)
}

/// A CRL numbered `number`; with `delta_of`, a delta CRL for that base.
fn crl_numbered(
    ca: &X509,
    key: &PKey<Private>,
    serials: &[[u8; 16]],
    number: u64,
    delta_of: Option<u64>,
) -> Vec<u8> {
    let t = unix_now();
    let mut alg = der_oid("1.2.840.113549.1.1.11");
    alg.extend([0x05, 0x00]);
    let alg = der(tag::SEQUENCE, &alg);
    let mut list = Vec::with_capacity(serials.len() * 52);
    let reason_ext = {
        let mut e = der_oid("2.5.29.21");
        e.extend(der(tag::OCTET_STRING, &der(tag::ENUMERATED, &[1])));
        der(tag::SEQUENCE, &der(tag::SEQUENCE, &e))
    };
    for (i, s) in serials.iter().enumerate() {
        let mut e = der(tag::INTEGER, s);
        e.extend(der_time(t - 86_400 - i as i64));
        if i % 2 == 0 {
            e.extend_from_slice(&reason_ext);
        }
        list.extend(der(tag::SEQUENCE, &e));
    }
    let mut tbs = der_uint(1);
    tbs.extend_from_slice(&alg);
    tbs.extend(ca.subject_name().to_der().unwrap());
    tbs.extend(der_time(t - 3600));
    tbs.extend(der_time(t + 7 * 86_400));
    tbs.extend(der(tag::SEQUENCE, &list));
    drop(list);
    let mut exts = der(tag::SEQUENCE, &{
        let mut n = der_oid("2.5.29.20");
        n.extend(der(tag::OCTET_STRING, &der_uint(number)));
        n
    });
    if let Some(base) = delta_of {
        let mut d = der_oid("2.5.29.27");
        d.extend(der(tag::BOOLEAN, &[0xff]));
        d.extend(der(tag::OCTET_STRING, &der_uint(base)));
        exts.extend(der(tag::SEQUENCE, &d));
    }
    tbs.extend(der(tag::CONTEXT_0, &der(tag::SEQUENCE, &exts)));
    let tbs = der(tag::SEQUENCE, &tbs);
    let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
    signer.update(&tbs).unwrap();
    let mut bits = vec![0u8];
    bits.extend(signer.sign_to_vec().unwrap());
    let mut out = tbs;
    out.extend_from_slice(&alg);
    out.extend(der(tag::BIT_STRING, &bits));
    der(tag::SEQUENCE, &out)
}

/// 1,000 leaves of `ca`: half revoked (serials from the CRL), half not.
fn leaves(ca: &X509, key: &PKey<Private>, revoked: &[[u8; 16]]) -> Vec<u8> {
    let leaf_key = PKey::from_ec_key(
        openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let fresh = serials(CHECKS);
    let mut pem = Vec::new();
    for i in 0..CHECKS {
        let serial = if i % 2 == 0 {
            revoked[i * 37 % revoked.len()]
        } else {
            fresh[i]
        };
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(
            &BigNum::from_slice(&serial)
                .unwrap()
                .to_asn1_integer()
                .unwrap(),
        )
        .unwrap();
        b.set_subject_name(&name(&format!("Leaf {i}"))).unwrap();
        b.set_issuer_name(ca.subject_name()).unwrap();
        b.set_not_before(&Asn1Time::from_unix(unix_now() - 86_400).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::from_unix(unix_now() + 365 * 86_400).unwrap())
            .unwrap();
        b.set_pubkey(&leaf_key).unwrap();
        b.sign(key, MessageDigest::sha256()).unwrap();
        pem.extend(b.build().to_pem().unwrap());
    }
    pem
}

fn max_rss_kib(stderr: &str) -> u64 {
    stderr
        .lines()
        .find(|l| l.contains("Maximum resident set size"))
        .and_then(|l| l.rsplit(':').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Runs a command under `/usr/bin/time -v`: (wall time, peak RSS KiB, stdout).
fn measure(cmd: &mut Command) -> (Duration, u64, String) {
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let took = start.elapsed();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{cmd:?} failed: {err}");
    (
        took,
        max_rss_kib(&err),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn timed(program: &str) -> Command {
    let mut c = Command::new("/usr/bin/time");
    c.arg("-v").arg(program);
    c
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn child(mode: &str, home: &Path, file: &Path) {
    let config = certsafe::config::Config::default();
    let env = Env::new(&Home::under(home), &config);
    let now = certsafe::domain::time::now();
    match mode {
        "import" => {
            let start = Instant::now();
            let accepted = import_file(&env, file, now).unwrap();
            let took = start.elapsed();
            assert_eq!(accepted.meta().crl_number.as_deref(), Some("2a"));
            println!("{}", took.as_secs_f64());
        }
        _ => {
            let bytes = std::fs::read(file).unwrap();
            let certs = X509::stack_from_pem(&bytes).unwrap();
            let start = Instant::now();
            let mut checker = Checker::new(&env, now).unwrap();
            let mut revoked = 0;
            for c in &certs {
                let s = checker.check(c);
                assert!(
                    matches!(s.state, CertState::Good | CertState::Revoked),
                    "{s:?}"
                );
                revoked += usize::from(s.state == CertState::Revoked);
            }
            let took = start.elapsed();
            assert_eq!(revoked, CHECKS / 2);
            println!("{}", took.as_secs_f64());
        }
    }
}

fn main() {
    if let Ok(mode) = std::env::var("CERTSAFE_BENCH_CHILD") {
        let args: Vec<String> = std::env::args().collect();
        let n = args.len();
        child(&mode, Path::new(&args[n - 2]), Path::new(&args[n - 1]));
        return;
    }
    let me = std::env::current_exe().unwrap();
    let work = tempfile::tempdir().unwrap();
    let (key, ca) = ca();
    let ca_pem = work.path().join("ca.pem");
    std::fs::write(&ca_pem, ca.to_pem().unwrap()).unwrap();
    println!(
        "CRL benchmark: RSA 2048 CA, 16-octet serials, half the entries with a reason code; median of {RUNS} runs; peak = maximum resident set size"
    );
    // CERTSAFE_BENCH_SIZES=200000 runs one size only (e.g. a quick debug run).
    let sizes: Vec<usize> = std::env::var("CERTSAFE_BENCH_SIZES").map_or_else(
        |_| vec![200_000, 1_000_000],
        |v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
    );
    for n in sizes {
        let list = serials(n);
        let t = Instant::now();
        let crl_der = crl(&ca, &key, &list);
        let crl_path = work.path().join(format!("crl-{n}.der"));
        std::fs::write(&crl_path, &crl_der).unwrap();
        let certs_path = work.path().join(format!("leaves-{n}.pem"));
        std::fs::write(&certs_path, leaves(&ca, &key, &list)).unwrap();
        println!(
            "\n{n} entries: CRL of {:.1} MiB (generated in {})",
            crl_der.len() as f64 / 1_048_576.0,
            ms(t.elapsed())
        );
        drop(crl_der);

        // OpenSSL: parse + verify, and parse only.
        let mut ov = Vec::new();
        let mut ov_rss = 0;
        let mut op = Vec::new();
        let mut op_rss = 0;
        for _ in 0..RUNS {
            let (d, rss, _) = measure(
                timed("openssl")
                    .args(["crl", "-noout", "-inform", "DER", "-CAfile"])
                    .arg(&ca_pem)
                    .arg("-in")
                    .arg(&crl_path),
            );
            ov.push(d);
            ov_rss = ov_rss.max(rss);
            let (d, rss, _) = measure(
                timed("openssl")
                    .args(["crl", "-noout", "-inform", "DER", "-in"])
                    .arg(&crl_path),
            );
            op.push(d);
            op_rss = op_rss.max(rss);
        }

        // certsafe: import (parse + verify + index) in a fresh home each time.
        let mut ci = Vec::new();
        let mut ci_inner = Vec::new();
        let mut ci_rss = 0;
        let mut last_home = PathBuf::new();
        for run in 0..RUNS {
            let home = work.path().join(format!("home-{n}-{run}"));
            let env = Env::new(&Home::under(&home), &certsafe::config::Config::default());
            env.ca_store().import(std::slice::from_ref(&ca)).unwrap();
            let (d, rss, out) = measure(
                timed(me.to_str().unwrap())
                    .env("CERTSAFE_BENCH_CHILD", "import")
                    .arg(&home)
                    .arg(&crl_path),
            );
            ci.push(d);
            ci_inner.push(Duration::from_secs_f64(out.trim().parse().unwrap()));
            ci_rss = ci_rss.max(rss);
            last_home = home;
        }
        // certsafe: check 1,000 certificates against the cached CRL.
        let mut cc = Vec::new();
        let mut cc_inner = Vec::new();
        for _ in 0..RUNS {
            let (d, _, out) = measure(
                timed(me.to_str().unwrap())
                    .env("CERTSAFE_BENCH_CHILD", "check")
                    .arg(&last_home)
                    .arg(&certs_path),
            );
            cc.push(d);
            cc_inner.push(Duration::from_secs_f64(out.trim().parse().unwrap()));
        }
        // The same check with a 1,000-entry delta CRL cached beside the base
        // (none of the checked certificates in it): the cost of applying it.
        let delta_path = work.path().join(format!("delta-{n}.der"));
        std::fs::write(
            &delta_path,
            crl_numbered(&ca, &key, &serials(1000), 43, Some(42)),
        )
        .unwrap();
        let env = Env::new(
            &Home::under(&last_home),
            &certsafe::config::Config::default(),
        );
        import_file(&env, &delta_path, certsafe::domain::time::now()).unwrap();
        let mut cd_inner = Vec::new();
        for _ in 0..RUNS {
            let (_, _, out) = measure(
                timed(me.to_str().unwrap())
                    .env("CERTSAFE_BENCH_CHILD", "check")
                    .arg(&last_home)
                    .arg(&certs_path),
            );
            cd_inner.push(Duration::from_secs_f64(out.trim().parse().unwrap()));
        }
        let cd_inner = median(cd_inner);
        let (ov, op, ci, ci_inner, cc, cc_inner) = (
            median(ov),
            median(op),
            median(ci),
            median(ci_inner),
            median(cc),
            median(cc_inner),
        );
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        println!(
            "  import   certsafe {:>8} (in-process {:>8}, peak {:>7})   openssl verify {:>8} (peak {:>7})   time ×{:.2} (target ≤ 1.5), memory ×{:.2} (target ≤ 1.5)",
            ms(ci),
            ms(ci_inner),
            mib(ci_rss),
            ms(ov),
            mib(ov_rss),
            ratio(ci, ov),
            ci_rss as f64 / ov_rss as f64
        );
        println!(
            "  check ×{CHECKS} certsafe {:>8} (in-process {:>8})   openssl parse only {:>8} (peak {:>7})   in-process ×{:.3}, whole process ×{:.3} (target ≤ 0.25)",
            ms(cc),
            ms(cc_inner),
            ms(op),
            mib(op_rss),
            ratio(cc_inner, op),
            ratio(cc, op)
        );
        println!(
            "  check ×{CHECKS} with a 1,000-entry delta cached: in-process {:>8} (×{:.2} of without)",
            ms(cd_inner),
            ratio(cd_inner, cc_inner)
        );
    }
}
