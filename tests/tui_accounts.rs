//! Accounts from the TUI, keys only: import an identity from a stick (a new
//! account, or the renewal of the holder's account), rename and remove the
//! selected account. Each test asserts the store on disk, not the words.
#![allow(clippy::unwrap_used)]

mod common;
mod tui_support;

use std::path::{Path, PathBuf};

use certsafe::domain::identity::Identity;
use certsafe::domain::p12;
use certsafe::domain::secret::Password;
use certsafe::domain::store::BackupState;
use certsafe::tui::app::{App, Msg, Screen};
use certsafe::tui::import::Step;
use common::{Alg, Pki};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_support::{World, drive, identity};

const PASSWORD: &str = "vélo orange sous la pluie de Brest 1987";
const TESTSIGN: &str = "testsign.test.asipsante.fr.8f613149";

/// Writes `identity` as a password-protected .p12 into `dir`.
fn write_p12(dir: &Path, name: &str, identity: &Identity, label: &str) -> PathBuf {
    let bytes = p12::build(
        identity,
        label,
        &Password::new(PASSWORD.into()).unwrap(),
        p12::Profile::Modern,
    )
    .unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A stick folder, shown as a removable drive.
fn stick(w: &World) -> PathBuf {
    let stick = w.home.path().join("STICK");
    std::fs::create_dir(&stick).unwrap();
    *w.drives.0.lock().unwrap() = vec![drive(&stick, "STICK")];
    stick
}

/// Accounts on disk: (label, fingerprint), sorted.
fn accounts(w: &World) -> Vec<(String, String)> {
    let mut v: Vec<_> = w
        .store()
        .list()
        .unwrap()
        .into_iter()
        .map(|a| (a.meta.label, a.meta.fingerprint))
        .collect();
    v.sort();
    v
}

fn clear_field(w: &World, app: &mut App) {
    w.key(app, KeyCode::End);
    for _ in 0..200 {
        w.key(app, KeyCode::Backspace);
    }
}

/// From the home screen: `a`, the stick, its only file, the password,
/// "what is inside" → the account step.
fn pick_file(w: &World, app: &mut App, password: &str) {
    w.key(app, KeyCode::Char('a'));
    assert!(
        matches!(app.screen, Screen::Import(_)),
        "a opens the import"
    );
    w.key(app, KeyCode::Enter); // the stick
    w.key(app, KeyCode::Enter); // its file
    w.type_text(app, password);
    w.key(app, KeyCode::Enter); // open
}

fn import_step(app: &App) -> &Step {
    let Screen::Import(wizard) = &app.screen else {
        panic!("left the import wizard")
    };
    &wizard.step
}

#[test]
fn import_from_a_stick_makes_a_new_account_with_the_typed_label() {
    let w = World::empty();
    let stick = stick(&w);
    let id = identity(TESTSIGN);
    write_p12(&stick, "dr.p12", &id, "from the file");
    let mut app = w.app();
    pick_file(&w, &mut app, PASSWORD);
    assert!(
        matches!(import_step(&app), Step::Pick(p) if matches!(p.step, certsafe::tui::restore::Step::Contents { .. })),
        "the password opened the file"
    );
    w.key(&mut app, KeyCode::Enter); // → account step
    let Step::Target { choices, label, .. } = import_step(&app) else {
        panic!("not on the account step")
    };
    assert_eq!(
        choices.len(),
        1,
        "no holder in the store: only a new account"
    );
    assert_eq!(
        label.value(),
        "from the file",
        "prefilled from the friendlyName"
    );

    // An empty label is refused and the wizard keeps its choices.
    clear_field(&w, &mut app);
    w.key(&mut app, KeyCode::Enter);
    assert!(matches!(
        import_step(&app),
        Step::Target { error: Some(_), .. }
    ));
    assert!(
        accounts(&w).is_empty(),
        "nothing imported on a refused label"
    );

    w.type_text(&mut app, "Dr Durand — cabinet");
    w.key(&mut app, KeyCode::Enter);
    assert!(matches!(import_step(&app), Step::Done(_)));
    assert_eq!(
        accounts(&w),
        vec![("Dr Durand — cabinet".to_string(), id.fingerprint())]
    );
    // A fresh import has no backup yet, and the journal says it was imported.
    let account = &w.store().list().unwrap()[0];
    assert_eq!(
        account.backup_state(tui_support::now(), 180),
        BackupState::None
    );
    w.key(&mut app, KeyCode::Enter);
    assert!(matches!(app.screen, Screen::Home));
    assert_eq!(app.data.as_ref().unwrap().accounts.len(), 1);

    // The same file again: the store refuses a second account for it, the
    // wizard stays on the account step with the error.
    pick_file(&w, &mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    w.key(&mut app, KeyCode::Enter);
    assert!(matches!(
        import_step(&app),
        Step::Target { error: Some(_), .. }
    ));
    assert_eq!(accounts(&w).len(), 1);
}

#[test]
fn a_wrong_password_keeps_the_password_step_and_imports_nothing() {
    let w = World::empty();
    let stick = stick(&w);
    write_p12(&stick, "dr.p12", &identity(TESTSIGN), "x");
    let mut app = w.app();
    pick_file(&w, &mut app, "not the password at all");
    let Step::Pick(p) = import_step(&app) else {
        panic!("left the picker")
    };
    let certsafe::tui::restore::Step::Password { tries, error, .. } = &p.step else {
        panic!("not on the password step")
    };
    assert_eq!(*tries, 1);
    assert!(error.is_some());
    assert!(accounts(&w).is_empty());
    // The right one now.
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    w.key(&mut app, KeyCode::Enter);
    w.key(&mut app, KeyCode::Enter);
    assert!(matches!(import_step(&app), Step::Done(_)));
    assert_eq!(accounts(&w).len(), 1);
}

fn pki_identity(pki: &Pki, leaf: &common::Leaf) -> Identity {
    Identity::assemble(
        leaf.key.clone(),
        vec![leaf.cert.clone(), pki.inter.clone(), pki.root.clone()],
    )
    .unwrap()
}

#[test]
fn the_holder_s_account_is_offered_as_a_renewal_or_a_separate_account() {
    let w = World::empty();
    let stick = stick(&w);
    let pki = Pki::new(Alg::Ec);
    let first = pki_identity(&pki, &pki.leaf("Dr Anne Renouvel", Alg::Ec));
    let account = w
        .store()
        .add(&first, "Anne", None, tui_support::now())
        .unwrap();
    let second = pki_identity(&pki, &pki.leaf("Dr Anne Renouvel", Alg::Ec));
    write_p12(&stick, "renewed.p12", &second, "Anne 2");

    // As a renewal: one account, the new identity current, the old one kept.
    let mut app = w.app();
    pick_file(&w, &mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    let Step::Target { choices, .. } = import_step(&app) else {
        panic!("not on the account step")
    };
    assert!(
        matches!(&choices[0], certsafe::tui::import::Choice::Renewal(c) if c.id == account.meta.id)
    );
    w.key(&mut app, KeyCode::Enter);
    assert!(matches!(import_step(&app), Step::Done(_)));
    let list = w.store().list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].meta.fingerprint, second.fingerprint());
    assert!(
        list[0].holds(&first.fingerprint()),
        "the earlier key is kept"
    );

    // A third identity of the same holder as a separate, named account.
    let third = pki_identity(&pki, &pki.leaf("Dr Anne Renouvel", Alg::Ec));
    std::fs::remove_file(stick.join("renewed.p12")).unwrap();
    write_p12(&stick, "third.p12", &third, "Anne 3");
    w.key(&mut app, KeyCode::Enter); // home
    pick_file(&w, &mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    w.key(&mut app, KeyCode::Down); // a separate account
    clear_field(&w, &mut app);
    w.type_text(&mut app, "Anne remplaçante");
    w.key(&mut app, KeyCode::Enter);
    assert!(matches!(import_step(&app), Step::Done(_)));
    let labels: Vec<String> = accounts(&w).into_iter().map(|(l, _)| l).collect();
    assert_eq!(labels, ["Anne", "Anne remplaçante"]);
}

#[test]
fn rename_uses_the_label_rules_and_changes_the_store() {
    let w = World::calm();
    let id = w.store().list().unwrap()[0].meta.id.clone();
    let mut app = w.app();
    w.key(&mut app, KeyCode::Char('n'));
    assert!(matches!(app.screen, Screen::Account(_)));
    // A control character is refused: nothing changes, the field stays.
    w.key(&mut app, KeyCode::End);
    w.pump(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('\u{202e}'), KeyModifiers::NONE)),
    );
    w.key(&mut app, KeyCode::Enter);
    assert!(matches!(app.screen, Screen::Account(_)));
    assert_eq!(w.store().get(&id).unwrap().meta.label, "Dr Marie Durand");
    // Letters typed in the field are text, not home keys (`q`, `d`).
    clear_field(&w, &mut app);
    w.type_text(&mut app, "Dr Marie Durand-Quéré");
    w.key(&mut app, KeyCode::Enter);
    assert!(matches!(app.screen, Screen::Home));
    assert!(!app.quit);
    assert_eq!(
        w.store().get(&id).unwrap().meta.label,
        "Dr Marie Durand-Quéré"
    );
    assert_eq!(
        app.data.as_ref().unwrap().accounts[0].label,
        "Dr Marie Durand-Quéré"
    );
    // Esc leaves the label as it was.
    w.key(&mut app, KeyCode::Char('n'));
    w.type_text(&mut app, " xyz");
    w.key(&mut app, KeyCode::Esc);
    assert_eq!(
        w.store().get(&id).unwrap().meta.label,
        "Dr Marie Durand-Quéré"
    );
}

#[test]
fn remove_needs_the_yes_key_and_then_deletes_the_account() {
    let w = World::full();
    let before = accounts(&w);
    assert_eq!(before.len(), 4);
    let mut app = w.app();
    let victim = app.data.as_ref().unwrap().accounts[0].id.clone();
    // Esc, Enter, n, Delete and q keep the account.
    for key in [
        KeyCode::Esc,
        KeyCode::Enter,
        KeyCode::Char('n'),
        KeyCode::Char('q'),
        KeyCode::Char('d'),
    ] {
        w.key(&mut app, KeyCode::Char('d'));
        assert!(matches!(app.screen, Screen::Account(_)));
        w.key(&mut app, key);
        assert!(
            matches!(app.screen, Screen::Home),
            "{key:?} kept the account"
        );
        assert_eq!(accounts(&w), before, "{key:?} removed something");
    }
    assert!(!app.quit);
    // The Delete key, then `o` (oui).
    w.key(&mut app, KeyCode::Delete);
    w.key(&mut app, KeyCode::Char('o'));
    assert!(matches!(app.screen, Screen::Home));
    assert_eq!(accounts(&w).len(), 3);
    assert!(w.store().get(&victim).is_err(), "the account is gone");
    assert!(!w.home.path().join("data/accounts").join(&victim).exists());
    // `d` then `y` for the next one.
    w.key(&mut app, KeyCode::Char('d'));
    w.key(&mut app, KeyCode::Char('y'));
    assert_eq!(accounts(&w).len(), 2);
    assert_eq!(app.data.as_ref().unwrap().accounts.len(), 2);
}

#[test]
fn the_popups_show_the_account_at_60x20_and_80x24_in_both_languages() {
    let _guard = tui_support::LANG_LOCK.lock().unwrap();
    for lang in [certsafe::i18n::Lang::Fr, certsafe::i18n::Lang::En] {
        certsafe::i18n::set(lang);
        let w = World::calm();
        let mut app = w.app();
        let id = app.data.as_ref().unwrap().accounts[0].id.clone();
        for (width, height) in [(60, 20), (80, 24)] {
            for key in ['d', 'n'] {
                w.key(&mut app, KeyCode::Char(key));
                let screen = tui_support::render(&app, width, height);
                assert!(
                    screen.contains(&format!("({id})")),
                    "{lang:?} {width}x{height} {key}: the popup names the account:\n{screen}"
                );
                w.key(&mut app, KeyCode::Esc);
            }
        }
        assert_eq!(accounts(&w).len(), 1);
    }
    certsafe::i18n::set(certsafe::i18n::Lang::En);
}
