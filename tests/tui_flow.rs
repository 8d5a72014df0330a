//! The whole backup and restore wizards driven by key events, then the file
//! on disk and the store checked.
#![allow(clippy::unwrap_used)]

mod tui_support;

use certsafe::domain::p12;
use certsafe::domain::secret::Password;
use certsafe::domain::store::BackupState;
use certsafe::tui::app::{Msg, Screen};
use ratatui::crossterm::event::KeyCode;
use tui_support::{World, drive, identity};

const PASSWORD: &str = "vélo orange sous la pluie de Brest 1987";

#[test]
fn backup_wizard_writes_a_verified_file_and_records_it() {
    let w = World::calm();
    let stick = w.home.path().join("STICK");
    std::fs::create_dir(&stick).unwrap();
    let mut app = w.app();
    let id = app.data.as_ref().unwrap().accounts[0].id.clone();
    assert_eq!(
        w.store()
            .get(&id)
            .unwrap()
            .backup_state(tui_support::now(), 180),
        BackupState::Ok
    );

    // A new certificate state: record nothing yet for this new account.
    let id2 = w.add(
        "asipsign.preuve.henix.asipsante.fr.c1079cb0",
        "Cabinet du Port",
        None,
        false,
    );
    w.key(&mut app, KeyCode::Char('l')); // reload
    let accounts = &app.data.as_ref().unwrap().accounts;
    let row = accounts.iter().position(|a| a.id == id2).unwrap();
    for _ in 0..row {
        w.key(&mut app, KeyCode::Down);
    }

    w.key(&mut app, KeyCode::Char('b')); // drive step for the selected account: no drive yet
    // The stick is plugged in: it appears at the next refresh tick.
    *w.drives.0.lock().unwrap() = vec![drive(&stick, "STICK")];
    for _ in 0..4 {
        w.pump(&mut app, Msg::Tick(w.env.now()));
    }
    w.key(&mut app, KeyCode::Enter); // choose the stick
    w.key(&mut app, KeyCode::Tab); // profile
    w.key(&mut app, KeyCode::Right); // compat
    w.key(&mut app, KeyCode::Tab); // back to the name
    w.key(&mut app, KeyCode::End);
    for _ in 0..4 {
        w.key(&mut app, KeyCode::Backspace);
    }
    w.type_text(&mut app, ".pfx");
    w.key(&mut app, KeyCode::Enter); // name accepted
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter); // summary
    w.key(&mut app, KeyCode::Enter); // write
    let Screen::Backup(wizard) = &app.screen else {
        panic!("left the wizard")
    };
    let certsafe::tui::backup::Step::Done {
        result: Ok(outcome),
        removable,
    } = &wizard.step
    else {
        panic!("backup did not finish well");
    };
    assert!(removable);

    // The file on the stick: named as typed, opens with the password, holds the account.
    let files: Vec<_> = std::fs::read_dir(&stick)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(
        files,
        vec![outcome.path.clone()],
        "only the final file, no temporary"
    );
    assert!(outcome.path.to_str().unwrap().ends_with("-2022-07-20.pfx"));
    let opened = p12::open(
        &std::fs::read(&outcome.path).unwrap(),
        &Password::new(PASSWORD.into()).unwrap(),
    )
    .unwrap();
    let original = identity("asipsign.preuve.henix.asipsante.fr.c1079cb0");
    assert_eq!(opened.identity.fingerprint(), original.fingerprint());
    assert!(opened.identity.key.public_eq(&original.key));
    assert_eq!(
        opened.layout.key_encryption.unwrap().cipher,
        "3DES-CBC",
        "compat profile chosen"
    );
    assert_eq!(opened.friendly_name.as_deref(), Some("Cabinet du Port"));

    // The store recorded it.
    let account = w.store().get(&id2).unwrap();
    assert_eq!(
        account.backup_state(tui_support::now(), 180),
        BackupState::Ok
    );
    assert_eq!(
        account.meta.backups.last().unwrap().path,
        outcome.path.display().to_string()
    );

    // Back home: the account shows as backed up.
    w.key(&mut app, KeyCode::Enter);
    assert!(matches!(app.screen, Screen::Home));
    let row = app
        .data
        .as_ref()
        .unwrap()
        .accounts
        .iter()
        .find(|a| a.id == id2)
        .unwrap()
        .clone();
    assert_eq!(row.state, BackupState::Ok);
}

#[test]
fn a_stick_pulled_out_on_the_drive_step_disappears_and_cannot_be_chosen() {
    let w = World::calm();
    let stick = w.home.path().join("STICK");
    std::fs::create_dir(&stick).unwrap();
    *w.drives.0.lock().unwrap() = vec![drive(&stick, "STICK")];
    let mut app = w.app();
    w.key(&mut app, KeyCode::Char('b'));
    let count = |app: &certsafe::tui::app::App| match &app.screen {
        Screen::Backup(wz) => match &wz.step {
            certsafe::tui::backup::Step::Drive { drives, .. } => drives.len(),
            _ => usize::MAX,
        },
        _ => usize::MAX,
    };
    assert_eq!(count(&app), 1);
    // Pulled out before the refresh: confirming it is refused with a message.
    std::fs::remove_dir(&stick).unwrap();
    w.key(&mut app, KeyCode::Enter);
    let Screen::Backup(wz) = &app.screen else {
        panic!()
    };
    let certsafe::tui::backup::Step::Drive { error: Some(e), .. } = &wz.step else {
        panic!("refused")
    };
    assert!(e.contains("does not exist") || e.contains("removed"), "{e}");
    // The next refresh drops it from the list.
    w.drives.0.lock().unwrap().clear();
    for _ in 0..4 {
        w.pump(&mut app, Msg::Tick(w.env.now()));
    }
    assert_eq!(count(&app), 0);
    let Screen::Backup(wz) = &app.screen else {
        panic!()
    };
    let certsafe::tui::backup::Step::Drive { error: Some(e), .. } = &wz.step else {
        panic!("told")
    };
    assert!(e.contains("STICK was removed"), "{e}");
}

#[test]
fn restore_wizard_imports_into_an_empty_home_and_retries_the_password() {
    let source = World::calm();
    let stick = source.home.path().join("STICK");
    std::fs::create_dir(&stick).unwrap();
    let original = identity("testsign.test.asipsante.fr.8f613149");
    let pw = Password::new(PASSWORD.into()).unwrap();
    let file = stick.join("sauvegarde.p12");
    std::fs::write(
        &file,
        p12::build(&original, "Dr Marie Durand", &pw, p12::Profile::Modern).unwrap(),
    )
    .unwrap();

    let w = World::empty();
    *w.drives.0.lock().unwrap() = vec![drive(&stick, "STICK")];
    let mut app = w.app();
    w.key(&mut app, KeyCode::Char('r'));
    w.key(&mut app, KeyCode::Enter); // the stick
    w.key(&mut app, KeyCode::Enter); // the file
    w.type_text(&mut app, "mauvais mot de passe");
    w.key(&mut app, KeyCode::Enter);
    {
        let Screen::Restore(wz) = &app.screen else {
            panic!()
        };
        let certsafe::tui::restore::Step::Password {
            tries,
            error: Some(_),
            ..
        } = &wz.step
        else {
            panic!("still on the password step with an error")
        };
        assert_eq!(*tries, 1);
    }
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter); // contents
    w.key(&mut app, KeyCode::Enter); // target: new account
    w.key(&mut app, KeyCode::Enter); // restore
    let Screen::Restore(wz) = &app.screen else {
        panic!()
    };
    let certsafe::tui::restore::Step::Done { result: Ok(r) } = &wz.step else {
        panic!("restored")
    };
    assert_eq!(r.action, "created");
    assert!(r.key_works);

    let account = w.store().get(&r.id).unwrap();
    assert_eq!(account.meta.fingerprint, original.fingerprint());
    assert!(account.identity().unwrap().key.public_eq(&original.key));
    assert_eq!(account.meta.label, "Dr Marie Durand");
    assert_eq!(
        account.backup_state(tui_support::now(), 180),
        BackupState::Ok
    );
}

/// One file holding two identities: the parts of two backups joined, with
/// no MAC (the joined parts would not match either MAC).
fn two_identities_file(pw: &Password) -> Vec<u8> {
    use certsafe::domain::ber::{self, der, der_oid, der_uint, tag};
    let parts = |stem: &str, label: &str| -> Vec<u8> {
        let bytes = p12::build(&identity(stem), label, pw, p12::Profile::Modern).unwrap();
        let pfx = ber::read_one(&bytes).unwrap();
        let octets = pfx
            .child(1, "auth safe")
            .and_then(|n| n.child(1, "explicit"))
            .and_then(|n| n.child(0, "octets"))
            .unwrap()
            .octets()
            .unwrap()
            .into_owned();
        ber::read_one(&octets).unwrap().content.to_vec()
    };
    let joined = der(
        tag::SEQUENCE,
        &[
            parts("testsign.test.asipsante.fr.8f613149", "Dr Marie Durand"),
            parts("rpps.tra.henix_asipsante.fr.f50f8dcf", "Dr Paul Martin"),
        ]
        .concat(),
    );
    der(
        tag::SEQUENCE,
        &[
            der_uint(3),
            der(
                tag::SEQUENCE,
                &[
                    der_oid("1.2.840.113549.1.7.1"),
                    der(tag::CONTEXT_0, &der(tag::OCTET_STRING, &joined)),
                ]
                .concat(),
            ),
        ]
        .concat(),
    )
}

#[test]
fn restore_wizard_lets_the_user_choose_among_two_identities() {
    let source = World::calm();
    let stick = source.home.path().join("STICK");
    std::fs::create_dir(&stick).unwrap();
    let pw = Password::new(PASSWORD.into()).unwrap();
    let bytes = two_identities_file(&pw);
    // The domain refuses to pick one silently.
    let Err(p12::P12Error::SeveralIdentities { identities }) = p12::open(&bytes, &pw) else {
        panic!("two identities")
    };
    assert_eq!(identities.len(), 2);
    std::fs::write(stick.join("deux.p12"), &bytes).unwrap();
    let second = identity("rpps.tra.henix_asipsante.fr.f50f8dcf");

    let w = World::empty();
    *w.drives.0.lock().unwrap() = vec![drive(&stick, "STICK")];
    let mut app = w.app();
    w.key(&mut app, KeyCode::Char('r'));
    w.key(&mut app, KeyCode::Enter); // the stick
    w.key(&mut app, KeyCode::Enter); // the file
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    {
        let Screen::Restore(wz) = &app.screen else {
            panic!()
        };
        let certsafe::tui::restore::Step::Choose { identities, .. } = &wz.step else {
            panic!("the identity step")
        };
        assert_eq!(identities.len(), 2);
        assert_eq!(identities[1].fingerprint, second.fingerprint());
    }
    assert!(w.store().list().unwrap().is_empty(), "nothing imported yet");
    w.key(&mut app, KeyCode::Down);
    w.key(&mut app, KeyCode::Enter); // contents of the second
    w.key(&mut app, KeyCode::Enter); // target: new account
    w.key(&mut app, KeyCode::Enter); // restore
    let Screen::Restore(wz) = &app.screen else {
        panic!()
    };
    let certsafe::tui::restore::Step::Done { result: Ok(r) } = &wz.step else {
        panic!("restored")
    };
    let account = w.store().get(&r.id).unwrap();
    assert_eq!(account.meta.fingerprint, second.fingerprint());
    assert!(account.identity().unwrap().key.public_eq(&second.key));
    assert_eq!(w.store().list().unwrap().len(), 1);
}

#[test]
fn quitting_a_wizard_asks_first_and_release_events_are_ignored() {
    use ratatui::crossterm::event::{KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};
    let w = World::calm();
    let mut app = w.app();
    w.key(&mut app, KeyCode::Char('b'));
    w.key(&mut app, KeyCode::Char('q'));
    assert!(!app.quit);
    w.key(&mut app, KeyCode::Char('n'));
    assert!(!app.quit && app.overlay.is_none());
    // A release of Esc does nothing (Windows sends them).
    let release = KeyEvent {
        code: KeyCode::Esc,
        modifiers: KeyModifiers::NONE,
        kind: KeyEventKind::Release,
        state: KeyEventState::NONE,
    };
    w.pump(&mut app, Msg::Key(release));
    assert!(matches!(app.screen, Screen::Backup(_)));
    w.key(&mut app, KeyCode::Char('q'));
    w.key(&mut app, KeyCode::Char('y'));
    assert!(app.quit);
    // On the home screen q quits at once.
    let mut home = w.app();
    w.key(&mut home, KeyCode::Char('q'));
    assert!(home.quit);
}

#[test]
fn the_quit_box_quits_only_on_its_yes_key() {
    let w = World::calm();
    let mut app = w.app();
    w.key(&mut app, KeyCode::Char('b')); // the backup wizard
    assert!(app.in_wizard());
    for stay in [
        KeyCode::Esc,
        KeyCode::Enter,
        KeyCode::Char('n'),
        KeyCode::Char(' '),
        KeyCode::Backspace,
    ] {
        w.key(&mut app, KeyCode::Char('q'));
        assert_eq!(app.overlay, Some(certsafe::tui::app::Overlay::ConfirmQuit));
        // Under the box, the hints are the box's keys (leave / stay).
        let screen = tui_support::render(&app, 80, 24);
        let last = screen.lines().last().unwrap().to_string();
        assert!(last.contains("Esc"), "{stay:?}: {last}");
        w.key(&mut app, stay);
        assert!(!app.quit, "{stay:?} must not quit");
        assert_eq!(app.overlay, None, "{stay:?} closes the box");
        assert!(app.in_wizard(), "{stay:?} keeps the wizard");
    }
    for yes in ['y', 'o', 'Y', 'O'] {
        let mut app = w.app();
        w.key(&mut app, KeyCode::Char('b'));
        w.key(&mut app, KeyCode::Char('q'));
        w.key(&mut app, KeyCode::Char(yes));
        assert!(app.quit, "{yes} quits");
    }
}
