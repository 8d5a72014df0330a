//! Correspondents from the TUI's CRL screen, keys only: added from a `.pem`
//! and from a signed `.eml` on a stick (`correspondent list --json` shows
//! them), an untrusted one refused with nothing stored, removal only on the
//! explicit yes key, a directory lookup against a real slapd, and an unset
//! directory answered with its code. Asserts the store and the CLI's JSON.
#![allow(clippy::unwrap_used)]

mod common;
mod tui_support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use certsafe::domain::ldap::lookup::SkipReason;
use certsafe::domain::trust::read_certs;
use certsafe::tui::app::{App, Screen};
use certsafe::tui::correspondent::{LookupFailure, Mode, Panel};
use common::slapd::{SUFFIX, Slapd};
use openssl::x509::X509;
use ratatui::crossterm::event::KeyCode;
use tui_support::{World, drive};

const TESTSIGN: &str = "testsign.test.asipsante.fr.8f613149";
const OTHER: &str = "asipsign.preuve.henix.asipsante.fr.c1079cb0";
const CAS: [&str; 2] = [
    "TEST_AC_IGC-SANTE_ELEMENTAIRE_ORGANISATIONS.dc528e37.pem",
    "TEST_AC_RACINE_IGC-SANTE_ELEMENTAIRE.01325aeb.pem",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/igc-sante-test")
        .join(name)
}

fn cert_of(stem: &str) -> X509 {
    read_certs(&std::fs::read(fixture(&format!("{stem}.pem"))).unwrap()).remove(0)
}

fn cenv(w: &World) -> certsafe::domain::crl::Env {
    certsafe::domain::crl::Env::new(&w.env.home, &w.env.config)
}

/// Trusts the IGC-Santé TEST root and intermediate.
fn trust_test_cas(w: &World) {
    let mut certs = Vec::new();
    for ca in CAS {
        certs.extend(read_certs(&std::fs::read(fixture(ca)).unwrap()));
    }
    cenv(w).ca_store().import(&certs).unwrap();
}

/// A stick folder, shown as a removable drive.
fn stick(w: &World) -> PathBuf {
    let stick = w.home.path().join("STICK");
    std::fs::create_dir_all(&stick).unwrap();
    *w.drives.0.lock().unwrap() = vec![drive(&stick, "STICK")];
    stick
}

/// `correspondent list --json`: the fingerprints.
fn listed(w: &World) -> Vec<String> {
    let out = common::store::certsafe(w.home.path())
        .args(["correspondent", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c["fingerprint"].as_str().unwrap().to_string())
        .collect()
}

fn panel(app: &App) -> &Panel {
    match &app.screen {
        Screen::Crl(s) => &s.corr,
        _ => panic!("not on the CRL screen"),
    }
}

/// Home → CRL screen → `a` → the stick → its only file: "what it holds".
fn pick_from_stick(w: &World, app: &mut App) {
    w.key(app, KeyCode::Char('c'));
    assert!(matches!(app.screen, Screen::Crl(_)));
    w.key(app, KeyCode::Char('a'));
    assert!(
        matches!(panel(app).mode, Mode::Pick(_)),
        "a opens the picker"
    );
    w.key(app, KeyCode::Enter); // the stick
    w.key(app, KeyCode::Enter); // its file
}

#[test]
fn a_pem_from_a_stick_is_added() {
    let w = World::calm();
    trust_test_cas(&w);
    let stick = stick(&w);
    std::fs::copy(fixture(&format!("{TESTSIGN}.pem")), stick.join("dr.pem")).unwrap();
    let mut app = w.app();
    pick_from_stick(&w, &mut app);
    let Mode::Found { found, .. } = &panel(&app).mode else {
        panic!("no 'what it holds' step");
    };
    assert_eq!(found.len(), 1);
    assert!(found[0].accepted(), "{:?}", found[0].verdict);
    assert!(!found[0].emails.is_empty() || !found[0].name.is_empty());
    for size in [(80, 24), (60, 20)] {
        tui_support::render(&app, size.0, size.1);
    }
    assert!(listed(&w).is_empty(), "nothing stored before Enter");
    w.key(&mut app, KeyCode::Enter);
    assert!(matches!(panel(&app).mode, Mode::Idle));
    let fp = common::fp(&cert_of(TESTSIGN));
    assert_eq!(listed(&w), vec![fp]);
    // The screen's list was reloaded with it.
    let Screen::Crl(s) = &app.screen else {
        panic!()
    };
    assert_eq!(s.correspondents.len(), 1);
}

/// A signed S/MIME message from the TEST leaf, its chain attached.
fn signed_eml(dir: &Path) -> PathBuf {
    let msg = dir.join("msg.txt");
    std::fs::write(&msg, "Content-Type: text/plain\r\n\r\nBonjour\r\n").unwrap();
    let out = dir.join("courrier.eml");
    let status = std::process::Command::new("openssl")
        .args(["smime", "-sign", "-in"])
        .arg(&msg)
        .arg("-signer")
        .arg(fixture(&format!("{TESTSIGN}.pem")))
        .arg("-inkey")
        .arg(fixture(&format!("{TESTSIGN}.key.pem")))
        .arg("-certfile")
        .arg(fixture(CAS[0]))
        .arg("-out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::remove_file(&msg).unwrap();
    out
}

#[test]
fn a_signed_eml_adds_its_signer_not_its_chain() {
    let w = World::calm();
    trust_test_cas(&w);
    let stick = stick(&w);
    signed_eml(&stick);
    let mut app = w.app();
    pick_from_stick(&w, &mut app);
    let Mode::Found { found, .. } = &panel(&app).mode else {
        panic!("no 'what it holds' step");
    };
    // The signer, accepted; the intermediate CA, refused as a CA.
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].accepted());
    assert_eq!(found[1].verdict, Err(SkipReason::Ca));
    w.key(&mut app, KeyCode::Enter);
    assert_eq!(listed(&w), vec![common::fp(&cert_of(TESTSIGN))]);
}

#[test]
fn an_untrusted_certificate_is_refused_and_nothing_is_stored() {
    let w = World::calm(); // no CA trusted
    let stick = stick(&w);
    std::fs::copy(fixture(&format!("{TESTSIGN}.pem")), stick.join("dr.pem")).unwrap();
    let mut app = w.app();
    pick_from_stick(&w, &mut app);
    let Mode::Found { found, .. } = &panel(&app).mode else {
        panic!("no 'what it holds' step");
    };
    assert_eq!(found[0].verdict, Err(SkipReason::Untrusted));
    tui_support::render(&app, 80, 24);
    w.key(&mut app, KeyCode::Enter);
    assert!(matches!(panel(&app).mode, Mode::Idle));
    assert!(listed(&w).is_empty());
    let dir = w.env.home.correspondents_dir();
    assert!(
        !dir.exists() || std::fs::read_dir(&dir).unwrap().next().is_none(),
        "nothing written in {}",
        dir.display()
    );
}

#[test]
fn removal_needs_the_yes_key() {
    let w = World::calm();
    trust_test_cas(&w);
    cenv(&w)
        .correspondent_store()
        .import(&[cert_of(TESTSIGN)])
        .unwrap();
    let fp = common::fp(&cert_of(TESTSIGN));
    let mut app = w.app();
    w.key(&mut app, KeyCode::Char('c'));
    for no in [KeyCode::Esc, KeyCode::Enter, KeyCode::Char('n')] {
        w.key(&mut app, KeyCode::Char('d'));
        w.key(&mut app, KeyCode::Enter);
        assert!(matches!(panel(&app).mode, Mode::Confirm(_)));
        tui_support::render(&app, 80, 24);
        w.key(&mut app, no);
        assert!(matches!(panel(&app).mode, Mode::Idle));
        assert_eq!(listed(&w), vec![fp.clone()], "{no:?} kept it");
    }
    w.key(&mut app, KeyCode::Char('d'));
    w.key(&mut app, KeyCode::Enter);
    w.key(&mut app, KeyCode::Char('o'));
    assert!(listed(&w).is_empty());
    let Screen::Crl(s) = &app.screen else {
        panic!()
    };
    assert!(s.correspondents.is_empty());
}

fn lookup(w: &World, app: &mut App, email: &str) {
    w.key(app, KeyCode::Char('c'));
    w.key(app, KeyCode::Char('l'));
    assert!(matches!(panel(app).mode, Mode::Email { .. }));
    assert!(
        matches!(&app.screen, Screen::Crl(s) if s.typing()),
        "letters are typed, not keys"
    );
    w.type_text(app, email);
    w.key(app, KeyCode::Enter);
}

#[test]
fn an_unset_directory_is_said_with_its_code() {
    let w = World::calm();
    trust_test_cas(&w);
    let mut app = w.app();
    lookup(&w, &mut app, "dr@hopital.example");
    assert!(matches!(panel(&app).mode, Mode::Idle));
    assert!(
        matches!(panel(&app).lookup, Some(Err(LookupFailure::NoDirectory))),
        "{:?}",
        panel(&app).lookup.as_ref().map(Result::is_ok)
    );
    assert!(!panel(&app).notes.is_empty());
    tui_support::render(&app, 80, 24);
    assert!(!app.quit);
    assert!(listed(&w).is_empty());
}

fn person(slapd: &Slapd, uid: &str, mail: &str, cert: &X509) {
    let mut ldif = format!(
        "dn: uid={uid},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\nmail: {mail}\n"
    );
    let f = slapd.file(&format!("{uid}.der"), &cert.to_der().unwrap());
    writeln!(ldif, "userCertificate;binary:< {f}").unwrap();
    slapd.add(&ldif);
}

#[test]
fn a_lookup_against_slapd_imports_the_right_certificate() {
    if !common::slapd::slapd_or_skip() {
        return;
    }
    let slapd = Slapd::start();
    slapd.add(&format!(
        "dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n"
    ));
    person(
        &slapd,
        "durand",
        "durand@hopital.example",
        &cert_of(TESTSIGN),
    );
    person(&slapd, "autre", "autre@hopital.example", &cert_of(OTHER));
    let mut w = World::calm();
    w.env.config.directory.url = format!("{}/ou=people,{SUFFIX}", slapd.url());
    trust_test_cas(&w);
    let mut app = w.app();
    lookup(&w, &mut app, "durand@hopital.example");
    let Some(Ok(report)) = &panel(&app).lookup else {
        panic!("the lookup did not run");
    };
    assert_eq!(report.addresses.len(), 1);
    assert_eq!(report.addresses[0].entries, 1);
    let fp = common::fp(&cert_of(TESTSIGN));
    assert_eq!(report.addresses[0].imported[0].fingerprint, fp);
    assert_eq!(listed(&w), vec![fp]);
    tui_support::render(&app, 80, 24);

    // An address nobody has: nothing imported, said.
    w.key(&mut app, KeyCode::Char('l'));
    w.type_text(&mut app, "personne@nulle.part");
    w.key(&mut app, KeyCode::Enter);
    let Some(Ok(report)) = &panel(&app).lookup else {
        panic!("the lookup did not run");
    };
    assert_eq!(report.addresses[0].entries, 0);
    assert!(!report.any_imported());
    assert_eq!(listed(&w).len(), 1);
}
