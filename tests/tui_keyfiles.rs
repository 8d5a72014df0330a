//! Importing an identity from a certificate file and a key file in the
//! TUI's import wizard (`f` on its first step), like `account import --cert
//! --key`: the account appears in `account list --json` with a key that
//! matches its certificate; an encrypted key asks its password (a wrong one
//! is said and asked again); a key of another certificate is refused.
#![allow(clippy::unwrap_used)]

mod common;
mod tui_support;

use std::path::{Path, PathBuf};

use certsafe::tui::app::{App, Screen};
use certsafe::tui::import::{FilesStep, Step};
use openssl::symm::Cipher;
use ratatui::crossterm::event::KeyCode;
use tui_support::{World, drive};

const TESTSIGN: &str = "testsign.test.asipsante.fr.8f613149";
const OTHER: &str = "asipsign.preuve.henix.asipsante.fr.c1079cb0";
const KEY_PASSWORD: &str = "clé du cabinet 2022";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/igc-sante-test")
        .join(name)
}

/// A stick holding `cert.pem` and `key.pem` (in that order when sorted).
fn stick(w: &World, key_pem: &[u8]) -> PathBuf {
    let stick = w.home.path().join("STICK");
    std::fs::create_dir_all(&stick).unwrap();
    std::fs::copy(
        fixture(&format!("{TESTSIGN}.pem")),
        stick.join("a-cert.pem"),
    )
    .unwrap();
    std::fs::write(stick.join("b-key.pem"), key_pem).unwrap();
    *w.drives.0.lock().unwrap() = vec![drive(&stick, "STICK")];
    stick
}

fn step(app: &App) -> &Step {
    match &app.screen {
        Screen::Import(w) => &w.step,
        _ => panic!("not in the import wizard"),
    }
}

/// Home → `a` → `f` → the stick → `a-cert.pem` → `b-key.pem`.
fn pick_files(w: &World, app: &mut App) {
    w.key(app, KeyCode::Char('a'));
    w.key(app, KeyCode::Char('f'));
    assert!(matches!(step(app), Step::Files(FilesStep::Cert(_))));
    w.key(app, KeyCode::Enter); // the stick
    w.key(app, KeyCode::Enter); // a-cert.pem (first)
    assert!(matches!(step(app), Step::Files(FilesStep::Key { .. })));
    tui_support::render(app, 80, 24);
    w.key(app, KeyCode::Down);
    w.key(app, KeyCode::Enter); // b-key.pem
}

fn import_new(w: &World, app: &mut App) {
    assert!(
        matches!(step(app), Step::Target { .. }),
        "not on the account step"
    );
    tui_support::render(app, 80, 24);
    w.key(app, KeyCode::Enter); // a new account, default label
    assert!(matches!(step(app), Step::Done(_)), "import failed");
}

/// `account list --json`: (id, fingerprint).
fn listed(w: &World) -> Vec<(String, String)> {
    let out = common::store::certsafe(w.home.path())
        .args(["account", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                a["fingerprint"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn testsign_fp() -> String {
    let pem = std::fs::read(fixture(&format!("{TESTSIGN}.pem"))).unwrap();
    common::fp(&openssl::x509::X509::from_pem(&pem).unwrap())
}

fn assert_account_with_matching_key(w: &World) {
    let list = listed(w);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].1, testsign_fp());
    let account = w.store().get(&list[0].0).unwrap();
    assert!(account.identity().unwrap().key_matches());
}

#[test]
fn a_certificate_and_its_plain_key_make_an_account() {
    let w = World::empty();
    stick(
        &w,
        &std::fs::read(fixture(&format!("{TESTSIGN}.key.pem"))).unwrap(),
    );
    let mut app = w.app();
    pick_files(&w, &mut app);
    import_new(&w, &mut app);
    assert_account_with_matching_key(&w);
}

#[test]
fn an_encrypted_key_asks_its_password_and_a_wrong_one_is_said() {
    let w = World::empty();
    let key = openssl::pkey::PKey::private_key_from_pem(
        &std::fs::read(fixture(&format!("{TESTSIGN}.key.pem"))).unwrap(),
    )
    .unwrap();
    let encrypted = key
        .private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), KEY_PASSWORD.as_bytes())
        .unwrap();
    stick(&w, &encrypted);
    let mut app = w.app();
    pick_files(&w, &mut app);
    assert!(
        matches!(
            step(&app),
            Step::Files(FilesStep::Password { error: None, .. })
        ),
        "an encrypted key asks its password"
    );
    assert!(matches!(&app.screen, Screen::Import(wz) if wz.typing()));
    w.type_text(&mut app, "pas le bon");
    let screen = tui_support::render(&app, 80, 24);
    assert!(!screen.contains("pas le bon"), "the field is masked");
    w.key(&mut app, KeyCode::Enter);
    assert!(
        matches!(
            step(&app),
            Step::Files(FilesStep::Password { error: Some(_), .. })
        ),
        "a wrong password is said and asked again"
    );
    assert!(listed(&w).is_empty());
    w.type_text(&mut app, KEY_PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    import_new(&w, &mut app);
    assert_account_with_matching_key(&w);
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let w = World::empty();
    stick(
        &w,
        &std::fs::read(fixture(&format!("{OTHER}.key.pem"))).unwrap(),
    );
    let mut app = w.app();
    pick_files(&w, &mut app);
    assert!(matches!(step(&app), Step::Files(FilesStep::Failed(_))));
    tui_support::render(&app, 80, 24);
    assert!(listed(&w).is_empty());
    // Enter: choose the files again.
    w.key(&mut app, KeyCode::Enter);
    assert!(matches!(step(&app), Step::Files(FilesStep::Cert(_))));
    // Esc on the first step: back to the .p12 picker, still in the wizard.
    w.key(&mut app, KeyCode::Esc);
    assert!(matches!(step(&app), Step::Pick(_)));
}
