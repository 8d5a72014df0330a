//! `ca import --igc-sante [--test]`: a local HTTP server serves look-alike
//! `.p7b` and `.cer` files holding the real IGC-Santé TEST root and
//! intermediate next to impostors with the same names (made here with the
//! openssl API); only what chains to the pinned roots is trusted.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use common::http::{Reply, Server};
use common::{Home, fixtures, fp, sh};
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509, X509NameRef};
use serde_json::Value;

const ROOT_FP: &str = "01325aeb193871eec90fa89556804e4185cb362e0ca87a3d79939c71186da805";
const INTER_FP: &str = "dc528e3788691b3f7950164076f95b02c64334c68662bdede5750b4e0e5338f6";
const ROOT: &str = "TEST_AC_RACINE_IGC-SANTE_ELEMENTAIRE.01325aeb.pem";
const INTER: &str = "TEST_AC_IGC-SANTE_ELEMENTAIRE_ORGANISATIONS.dc528e37.pem";
const LEAF: &str = "testsign.test.asipsante.fr.8f613149.pem";
const TEST_BUNDLE: &str = "/AC%20TEST/Chaine_de_certification-IGC-Sante-TEST.p7b";
const PROD_BUNDLE: &str = "/AC/Chaine_de_certification-IGC-Sante.p7b";
/// The leaf's AIA "CA Issuers" address (reached through the test proxy).
const AIA_INTER: &str = "/AC%20TEST/ACI-EL-ORG-TEST.cer";

fn real(name: &str) -> X509 {
    X509::from_pem(&std::fs::read(fixtures().join(name)).unwrap()).unwrap()
}

/// A CA certificate named `subject`, issued by `issuer_name` with `key`.
fn ca_cert(
    subject: &X509NameRef,
    issuer_name: &X509NameRef,
    subject_key: &PKey<Private>,
    issuer_key: &PKey<Private>,
) -> X509 {
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let serial = BigNum::from_u32(4242).unwrap().to_asn1_integer().unwrap();
    b.set_serial_number(&serial).unwrap();
    b.set_subject_name(subject).unwrap();
    b.set_issuer_name(issuer_name).unwrap();
    b.set_pubkey(subject_key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(3650).unwrap())
        .unwrap();
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
    b.sign(issuer_key, MessageDigest::sha256()).unwrap();
    b.build()
}

/// An impostor root and intermediate with exactly the TEST ones' names.
fn impostors() -> (X509, X509) {
    let (root, inter) = (real(ROOT), real(INTER));
    let root_key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let inter_key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let fake_root = ca_cert(
        root.subject_name(),
        root.subject_name(),
        &root_key,
        &root_key,
    );
    let fake_inter = ca_cert(
        inter.subject_name(),
        root.subject_name(),
        &inter_key,
        &root_key,
    );
    assert_eq!(
        fake_inter.subject_name().to_der().unwrap(),
        inter.subject_name().to_der().unwrap()
    );
    (fake_root, fake_inter)
}

/// A PKCS#7 certs-only bundle made by `openssl crl2pkcs7` (DER or PEM).
fn bundle(certs: &[&X509], der: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let mut args = String::new();
    for (i, c) in certs.iter().enumerate() {
        let p = dir.path().join(format!("{i}.pem"));
        std::fs::write(&p, c.to_pem().unwrap()).unwrap();
        write!(args, " -certfile {}", p.display()).unwrap();
    }
    let out = dir.path().join("bundle.p7b");
    let form = if der { "DER" } else { "PEM" };
    sh(&format!(
        "openssl crl2pkcs7 -nocrl{args} -outform {form} -out {}",
        out.display()
    ));
    std::fs::read(out).unwrap()
}

/// The look-alike bundle: real TEST root and intermediate, then impostors.
fn lookalike() -> (Vec<u8>, X509, X509) {
    let (fake_root, fake_inter) = impostors();
    let body = bundle(&[&real(ROOT), &real(INTER), &fake_root, &fake_inter], true);
    (body, fake_root, fake_inter)
}

fn serve(routes: Vec<(&'static str, Vec<u8>)>) -> Server {
    Server::start(move |seen| {
        // Directly (the base address) or through the proxy (absolute URL).
        routes
            .iter()
            .find(|(path, _)| seen.target.ends_with(path))
            .map_or(Reply::Status(404), |(_, body)| Reply::Ok {
                body: body.clone(),
                etag: None,
                last_modified: None,
                content_type: "application/pkcs7-mime",
            })
    })
}

fn run(home: &Home, base: &str, args: &[&str]) -> (i32, Value) {
    let out = home
        .cmd()
        .env("CERTSAFE_IGC_BASE_URL", base)
        .args(["ca", "import", "--igc-sante", "--json"])
        .args(args)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), json)
}

fn fps(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["fingerprint"].as_str().unwrap().to_string())
        .collect()
}

fn code_of(report: &Value, fingerprint: &str) -> String {
    report["refused"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["fingerprint"] == fingerprint)
        .unwrap_or_else(|| panic!("{fingerprint} not refused: {report:#}"))["code"]
        .as_str()
        .unwrap()
        .to_string()
}

fn trusted(home: &Home) -> BTreeSet<String> {
    let out = home.run_ok(&["ca", "list", "--json"], &[]);
    fps(&serde_json::from_slice(&out.stdout).unwrap())
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

fn check_state(home: &Home, cert: &Path) -> String {
    let out = home
        .cmd()
        .args(["check", "--json"])
        .arg(cert)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["certificates"][0]["state"].as_str().unwrap().to_string()
}

#[test]
fn test_bundle_trusts_exactly_the_real_test_cas_and_refuses_the_impostors() {
    let (body, fake_root, fake_inter) = lookalike();
    let server = serve(vec![(TEST_BUNDLE, body)]);
    let home = Home::new();
    let (code, report) = run(&home, &server.url(""), &["--test"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["hierarchy"], "test");
    assert_eq!(fps(&report["imported"]), set(&[ROOT_FP, INTER_FP]));
    assert_eq!(report["imported"][0]["fingerprint"], ROOT_FP, "root first");
    assert_eq!(
        fps(&report["refused"]),
        set(&[&fp(&fake_root), &fp(&fake_inter)])
    );
    assert_eq!(code_of(&report, &fp(&fake_root)), "not_chaining");
    assert_eq!(code_of(&report, &fp(&fake_inter)), "not_chaining");
    assert!(report.get("error").is_none());
    assert_eq!(report["sources"][0]["kind"], "bundle");
    assert_eq!(report["sources"][0]["certificates"], 4);
    assert_eq!(trusted(&home), set(&[ROOT_FP, INTER_FP]));
    // Everything chains in the bundle: no AIA address was asked.
    let targets: Vec<String> = server.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(targets, vec![TEST_BUNDLE.to_string()]);

    // Idempotent: the same answer, nothing added, the store unchanged.
    let before = home.snapshot();
    let (code, again) = run(&home, &server.url(""), &["--test"]);
    assert_eq!(code, 0);
    assert_eq!(fps(&again["imported"]), set(&[ROOT_FP, INTER_FP]));
    assert!(
        again["imported"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["action"] == "already_present")
    );
    assert_eq!(home.snapshot(), before);
}

#[test]
fn without_test_the_test_chain_is_refused_by_the_production_pin() {
    let (body, fake_root, fake_inter) = lookalike();
    // The TEST chain served at the production address.
    let server = serve(vec![(PROD_BUNDLE, body)]);
    let home = Home::new();
    let (code, report) = run(&home, &server.url(""), &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["hierarchy"], "production");
    assert!(report["imported"].as_array().unwrap().is_empty());
    for f in [ROOT_FP, INTER_FP, &fp(&fake_root), &fp(&fake_inter)] {
        assert_eq!(code_of(&report, f), "not_chaining");
    }
    // The real TEST CAs are recognised as TEST, the impostors are not.
    let chains_to = |f: &str| {
        report["refused"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["fingerprint"] == f)
            .unwrap()
            .get("chains_to")
            .cloned()
    };
    assert_eq!(chains_to(INTER_FP), Some(Value::from("test")));
    assert_eq!(chains_to(&fp(&fake_inter)), None);
    assert_eq!(report["error"]["code"], "nothing_trusted");
    assert!(trusted(&home).is_empty());
}

#[test]
fn offline_from_a_p7b_file_nothing_is_fetched() {
    let (fake_root, fake_inter) = impostors();
    // PEM this time, with the intermediate before its root.
    let body = bundle(&[&fake_inter, &real(INTER), &fake_root, &real(ROOT)], false);
    assert!(body.starts_with(b"-----BEGIN PKCS7-----"));
    let files = tempfile::tempdir().unwrap();
    let p7b = files
        .path()
        .join("Chaine_de_certification-IGC-Sante-TEST.p7b");
    std::fs::write(&p7b, body).unwrap();
    let server = serve(vec![]);
    let home = Home::new();
    let (code, report) = run(&home, &server.url(""), &["--test", p7b.to_str().unwrap()]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(fps(&report["imported"]), set(&[ROOT_FP, INTER_FP]));
    assert_eq!(code_of(&report, &fp(&fake_inter)), "not_chaining");
    assert_eq!(report["sources"][0]["kind"], "file");
    assert!(server.seen().is_empty(), "offline: nothing fetched");
    assert_eq!(trusted(&home), set(&[ROOT_FP, INTER_FP]));

    // A `.cer` (DER) of the intermediate alone brings its pinned root too.
    let home = Home::new();
    let cer = files.path().join("ACI-EL-ORG-TEST.cer");
    std::fs::write(&cer, real(INTER).to_der().unwrap()).unwrap();
    let (code, report) = run(&home, &server.url(""), &["--test", cer.to_str().unwrap()]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(fps(&report["imported"]), set(&[ROOT_FP, INTER_FP]));
}

#[test]
fn a_bundle_over_the_size_bound_is_refused() {
    let (body, _, _) = lookalike();
    let mut big = body.clone();
    big.resize(2 << 20, 0);
    let server = serve(vec![(TEST_BUNDLE, big.clone())]);
    let home = Home::new();
    let (code, report) = run(&home, &server.url(""), &["--test"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["error"]["code"], "unreachable");
    assert_eq!(report["sources"][0]["error"]["code"], "too_large");
    assert!(report["imported"].as_array().unwrap().is_empty());
    assert!(!home.path().join("data").join("cas").exists() || trusted(&home).is_empty());

    // The same bound for a file given.
    let files = tempfile::tempdir().unwrap();
    let p7b = files.path().join("big.p7b");
    std::fs::write(&p7b, &big).unwrap();
    let (code, _) = run(&home, &server.url(""), &["--test", p7b.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(trusted(&home).is_empty());
}

#[test]
fn an_unreachable_server_fails_with_a_code_and_imports_nothing() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let home = Home::new();
    let (code, report) = run(&home, &format!("http://127.0.0.1:{port}"), &["--test"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["error"]["code"], "unreachable");
    assert_eq!(report["sources"][0]["error"]["code"], "connect");
    assert!(report["imported"].as_array().unwrap().is_empty());
    assert!(trusted(&home).is_empty());
}

#[test]
fn offline_the_chain_an_account_holds_is_trusted_through_the_pins() {
    // No network (a closed port), but the restored identity carries its
    // chain: "trust IGC-Santé" works from it, through the same pins.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let home = Home::new();
    let f = fixtures();
    let leaf = f.join(format!("{}.pem", LEAF.trim_end_matches(".pem")));
    let key = f.join(LEAF.replace(".pem", ".key.pem"));
    let out = home
        .cmd()
        .args(["account", "import", "--cert"])
        .arg(&leaf)
        .arg("--key")
        .arg(&key)
        .arg("--chain")
        .arg(f.join(INTER))
        .arg("--chain")
        .arg(f.join(ROOT))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = format!("http://127.0.0.1:{port}");
    // Production pins refuse the TEST chain, whatever the account holds.
    let (code, report) = run(&home, &base, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert!(trusted(&home).is_empty());
    let (code, report) = run(&home, &base, &["--test"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["sources"][0]["kind"], "home", "{report:#}");
    assert_eq!(report["sources"][0]["certificates"], 2, "{report:#}");
    assert_eq!(trusted(&home), set(&[ROOT_FP, INTER_FP]));
    // The TEST leaf has expired: it now chains (not `untrusted`).
    assert_eq!(check_state(&home, &leaf), "expired");
}

#[test]
fn aia_ca_issuers_of_a_correspondent_bring_its_intermediate() {
    // No bundle (404); the correspondent's AIA names the intermediate's
    // `.cer`, reached through the test server acting as the HTTP proxy.
    let server = serve(vec![(AIA_INTER, real(INTER).to_der().unwrap())]);
    let home = Home::new();
    std::fs::write(
        home.path().join("config.toml"),
        format!("[crl]\nproxy = \"{}\"\n", server.url("")),
    )
    .unwrap();
    let leaf = fixtures().join(LEAF);
    home.run_ok(&["correspondent", "import"], &[&leaf]);
    assert_eq!(check_state(&home, &leaf), "untrusted");

    let (code, report) = run(&home, &server.url(""), &["--test"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(fps(&report["imported"]), set(&[ROOT_FP, INTER_FP]));
    let sources = report["sources"].as_array().unwrap();
    assert_eq!(sources[0]["kind"], "bundle");
    assert_eq!(sources[0]["error"]["code"], "status");
    assert_eq!(sources[1]["kind"], "aia");
    assert_eq!(
        sources[1]["source"],
        "http://igc-sante.esante.gouv.fr/AC%20TEST/ACI-EL-ORG-TEST.cer"
    );
    assert_eq!(sources[1]["certificates"], 1);
    // The leaf now chains (it is expired: its state says so, not `untrusted`).
    assert_eq!(check_state(&home, &leaf), "expired");
}

#[test]
fn an_impostor_behind_the_aia_address_is_refused() {
    let (_, fake_inter) = impostors();
    let server = serve(vec![(AIA_INTER, fake_inter.to_der().unwrap())]);
    let home = Home::new();
    std::fs::write(
        home.path().join("config.toml"),
        format!("[crl]\nproxy = \"{}\"\n", server.url("")),
    )
    .unwrap();
    let leaf = fixtures().join(LEAF);
    home.run_ok(&["correspondent", "import"], &[&leaf]);
    let (code, report) = run(&home, &server.url(""), &["--test"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(code_of(&report, &fp(&fake_inter)), "not_chaining");
    assert_eq!(report["error"]["code"], "nothing_trusted");
    assert!(trusted(&home).is_empty());
    assert_eq!(check_state(&home, &leaf), "untrusted");
}

#[test]
fn check_of_the_test_leaf_chains_after_an_offline_import() {
    let home = Home::new();
    let leaf = fixtures().join(LEAF);
    assert_eq!(check_state(&home, &leaf), "untrusted");
    let (code, _) = run(
        &home,
        "http://127.0.0.1:9",
        &["--test", fixtures().join(INTER).to_str().unwrap()],
    );
    assert_eq!(code, 0);
    let out = home
        .cmd()
        .args(["check", "--json"])
        .arg(&leaf)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cert = &v["certificates"][0];
    assert_ne!(cert["state"], "untrusted", "{v:#}");
    assert_eq!(cert["state"], "expired");
    assert_eq!(fps(&cert["chain"]), set(&[ROOT_FP, INTER_FP]));
}

#[test]
fn a_non_ca_certificate_is_refused_as_not_ca() {
    let home = Home::new();
    let (code, report) = run(
        &home,
        "http://127.0.0.1:9",
        &["--test", fixtures().join(LEAF).to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert_eq!(
        code_of(
            &report,
            "8f6131498ee4e08a0f7148394aaa03b7bb26969cf3134872702a2b63ddc81c56"
        ),
        "not_ca"
    );
    assert!(trusted(&home).is_empty());
}

#[test]
fn an_expired_ca_is_refused_as_expired() {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let inter = real(INTER);
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(inter.subject_name()).unwrap();
    b.set_issuer_name(inter.subject_name()).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(1_500_000_000).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(1_600_000_000).unwrap())
        .unwrap();
    b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    let old = b.build();
    let files = tempfile::tempdir().unwrap();
    let p7b = files.path().join("old.p7b");
    std::fs::write(&p7b, bundle(&[&old, &real(INTER)], true)).unwrap();
    let home = Home::new();
    let (code, report) = run(
        &home,
        "http://127.0.0.1:9",
        &["--test", p7b.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(code_of(&report, &fp(&old)), "expired");
    assert_eq!(trusted(&home), set(&[ROOT_FP, INTER_FP]));
}
