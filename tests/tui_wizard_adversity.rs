//! The backup and restore wizards under adversity: a file already there
//! (free name, or replace only after the yes key), a stick pulled out on
//! every step (back to the drive step, choices kept), the password shown on
//! request, a mismatch that keeps the first entry, an expired certificate
//! flagged before it is restored.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

mod tui_support;

use std::path::{Path, PathBuf};

use certsafe::domain::p12;
use certsafe::domain::secret::{Password, PasswordError};
use certsafe::domain::status::Level;
use certsafe::i18n::{self, Lang};
use certsafe::tui::app::{App, Msg, Screen};
use certsafe::tui::backup::{BackupWizard, DriveAlert, ExistsChoice, Step};
use certsafe::tui::widgets::level_word;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_support::{World, drive, identity, render};

const PASSWORD: &str = "vélo orange sous la pluie de Brest 1987";
const DEFAULT_NAME: &str = "certsafe-Dr-Marie-Durand-2022-07-20.p12";

fn wizard(app: &App) -> &BackupWizard {
    match &app.screen {
        Screen::Backup(w) => w,
        _ => panic!("left the backup wizard"),
    }
}

/// One account, a stick plugged in, the wizard on the name step.
fn on_name_step() -> (World, PathBuf, App) {
    let w = World::calm();
    let stick = w.home.path().join("STICK");
    std::fs::create_dir(&stick).unwrap();
    *w.drives.0.lock().unwrap() = vec![drive(&stick, "STICK")];
    let mut app = w.app();
    w.key(&mut app, KeyCode::Char('b'));
    w.key(&mut app, KeyCode::Enter); // the stick
    assert!(matches!(wizard(&app).step, Step::Name { .. }));
    (w, stick, app)
}

fn ticks(w: &World, app: &mut App) {
    for _ in 0..4 {
        w.pump(app, Msg::Tick(w.env.now()));
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn type_passwords(w: &World, app: &mut App) {
    w.type_text(app, PASSWORD);
    w.key(app, KeyCode::Enter);
    w.type_text(app, PASSWORD);
    w.key(app, KeyCode::Enter); // summary
    assert!(matches!(wizard(app).step, Step::Summary { .. }));
}

fn opens_with_password(path: &Path) -> bool {
    p12::open(
        &std::fs::read(path).unwrap(),
        &Password::new(PASSWORD.into()).unwrap(),
    )
    .is_ok_and(|o| {
        o.identity.fingerprint() == identity("testsign.test.asipsante.fr.8f613149").fingerprint()
    })
}

#[test]
fn an_existing_file_gets_the_first_free_name_and_stays_untouched() {
    let (w, stick, mut app) = on_name_step();
    let old = stick.join(DEFAULT_NAME);
    std::fs::write(&old, b"the backup of this morning").unwrap();
    w.key(&mut app, KeyCode::Enter); // the default name: taken
    let Step::Exists {
        choices, selected, ..
    } = &wizard(&app).step
    else {
        panic!("the wizard asks what to do with the existing file")
    };
    assert_eq!(
        choices,
        &vec![
            ExistsChoice::FreeName("certsafe-Dr-Marie-Durand-2022-07-20-2.p12".into()),
            ExistsChoice::Replace
        ]
    );
    assert_eq!(*selected, 0, "the safe choice comes first");
    w.key(&mut app, KeyCode::Enter); // the free name
    assert!(matches!(wizard(&app).step, Step::Password { .. }));
    type_passwords(&w, &mut app);
    w.key(&mut app, KeyCode::Enter); // write
    let Step::Done {
        result: Ok(outcome),
        ..
    } = &wizard(&app).step
    else {
        panic!("the backup finished well")
    };
    assert_eq!(
        outcome.path,
        stick.join("certsafe-Dr-Marie-Durand-2022-07-20-2.p12")
    );
    assert!(opens_with_password(&outcome.path), "written and verified");
    assert_eq!(std::fs::read(&old).unwrap(), b"the backup of this morning");
    assert_eq!(
        files_in(&stick),
        vec![
            "certsafe-Dr-Marie-Durand-2022-07-20-2.p12".to_string(),
            DEFAULT_NAME.to_string()
        ]
    );
}

#[test]
fn replacing_needs_the_yes_key_and_nothing_else() {
    let (w, stick, mut app) = on_name_step();
    let old = stick.join(DEFAULT_NAME);
    std::fs::write(&old, b"old").unwrap();
    w.key(&mut app, KeyCode::Enter);
    w.key(&mut app, KeyCode::Down); // "replace"
    let asking = |app: &App| match &wizard(app).step {
        Step::Exists { confirm, .. } => confirm.clone(),
        _ => panic!("left the step"),
    };
    for not_yes in [
        KeyCode::Esc,
        KeyCode::Enter,
        KeyCode::Char('n'),
        KeyCode::Char('x'),
    ] {
        w.key(&mut app, KeyCode::Enter); // asks
        assert_eq!(asking(&app), Some(ExistsChoice::Replace));
        w.key(&mut app, not_yes);
        assert_eq!(asking(&app), None, "{not_yes:?} keeps the user on the step");
        assert_eq!(std::fs::read(&old).unwrap(), b"old");
    }
    w.key(&mut app, KeyCode::Enter);
    w.key(&mut app, KeyCode::Char('o'));
    let Step::Password { dest, .. } = &wizard(&app).step else {
        panic!("`o` confirms the replacement")
    };
    assert!(dest.replaces);
    assert_eq!(dest.file, old);
    // Until written and verified, the old file is there.
    type_passwords(&w, &mut app);
    assert_eq!(std::fs::read(&old).unwrap(), b"old");
    w.key(&mut app, KeyCode::Enter);
    let Step::Done {
        result: Ok(outcome),
        ..
    } = &wizard(&app).step
    else {
        panic!("the backup finished well")
    };
    assert_eq!(outcome.path, old);
    assert!(opens_with_password(&old), "replaced by the verified backup");
    assert_eq!(files_in(&stick), vec![DEFAULT_NAME.to_string()]);
}

#[test]
fn the_english_yes_key_replaces_too() {
    let (w, stick, mut app) = on_name_step();
    std::fs::write(stick.join(DEFAULT_NAME), b"old").unwrap();
    w.key(&mut app, KeyCode::Enter);
    w.key(&mut app, KeyCode::Down);
    w.key(&mut app, KeyCode::Enter);
    w.key(&mut app, KeyCode::Char('y'));
    assert!(matches!(&wizard(&app).step, Step::Password { dest, .. } if dest.replaces));
}

/// Where the stick is pulled out.
#[derive(Debug, Clone, Copy)]
enum At {
    Name,
    Exists,
    Password,
    Confirm,
    Summary,
}

#[test]
fn a_stick_pulled_out_on_any_step_goes_back_to_the_drive_step_keeping_choices() {
    for at in [At::Name, At::Exists, At::Password, At::Confirm, At::Summary] {
        let (w, stick, mut app) = on_name_step();
        let account = wizard(&app).account;
        // Choices: another name and the compatible profile.
        w.key(&mut app, KeyCode::Tab);
        w.key(&mut app, KeyCode::Right);
        w.key(&mut app, KeyCode::Tab);
        w.key(&mut app, KeyCode::End);
        for _ in 0..4 {
            w.key(&mut app, KeyCode::Backspace);
        }
        w.type_text(&mut app, "-cabinet.p12");
        let name = "certsafe-Dr-Marie-Durand-2022-07-20-cabinet.p12";
        let mut typed_password = false;
        match at {
            At::Name => {}
            At::Exists => {
                std::fs::write(stick.join(name), b"old").unwrap();
                w.key(&mut app, KeyCode::Enter);
                assert!(matches!(wizard(&app).step, Step::Exists { .. }));
            }
            At::Password | At::Confirm | At::Summary => {
                w.key(&mut app, KeyCode::Enter);
                w.type_text(&mut app, PASSWORD);
                if !matches!(at, At::Password) {
                    w.key(&mut app, KeyCode::Enter);
                    w.type_text(&mut app, PASSWORD);
                }
                if matches!(at, At::Summary) {
                    w.key(&mut app, KeyCode::Enter);
                    assert!(matches!(wizard(&app).step, Step::Summary { .. }));
                }
                typed_password = true;
            }
        }
        // Pulled out: said at the next refresh, back on the drive step.
        w.drives.0.lock().unwrap().clear();
        ticks(&w, &mut app);
        let wz = wizard(&app);
        assert!(
            matches!(wz.step, Step::Drive { .. }),
            "{at:?}: back to the drive step"
        );
        assert_eq!(
            wz.alert,
            Some(DriveAlert::Removed("STICK".into())),
            "{at:?}"
        );
        assert_eq!(wz.account, account, "{at:?}: same account");
        let kept = wz.kept.as_ref().unwrap();
        assert_eq!(kept.name, name, "{at:?}");
        assert_eq!(kept.profile, p12::Profile::Compat, "{at:?}");
        assert_eq!(kept.password.is_some(), typed_password, "{at:?}");
        // Said in words on the screen, naming the drive (no drive is listed).
        let screen = render(&app, 80, 24);
        assert!(screen.contains("STICK"), "{at:?}:\n{screen}");
        assert!(screen.contains(&level_word(Level::Warning)), "{at:?}");

        // Plugged back in: the choices come back.
        if matches!(at, At::Exists) {
            std::fs::remove_file(stick.join(name)).unwrap();
        }
        *w.drives.0.lock().unwrap() = vec![drive(&stick, "STICK")];
        ticks(&w, &mut app);
        w.key(&mut app, KeyCode::Enter); // the stick again
        let Step::Name {
            name: n, profile, ..
        } = &wizard(&app).step
        else {
            panic!("{at:?}: name step")
        };
        assert_eq!(n.value(), name, "{at:?}");
        assert_eq!(*profile, p12::Profile::Compat, "{at:?}");
        assert!(wizard(&app).alert.is_none(), "{at:?}: the alert went");
        w.key(&mut app, KeyCode::Enter);
        if typed_password {
            // The password typed is still there: no typing needed (both
            // kept: the focus on the confirmation, one Enter goes on).
            if matches!(at, At::Password) {
                w.key(&mut app, KeyCode::Enter);
                w.type_text(&mut app, PASSWORD);
            }
            w.key(&mut app, KeyCode::Enter);
            assert!(
                matches!(wizard(&app).step, Step::Summary { .. }),
                "{at:?}: the password was kept"
            );
            w.key(&mut app, KeyCode::Enter);
            let Step::Done {
                result: Ok(outcome),
                ..
            } = &wizard(&app).step
            else {
                panic!("{at:?}: written")
            };
            assert_eq!(outcome.path, stick.join(name));
            assert!(opens_with_password(&outcome.path), "{at:?}");
        } else {
            assert!(matches!(wizard(&app).step, Step::Password { .. }));
        }
    }
}

#[test]
fn a_stick_pulled_out_while_writing_is_said_at_once_then_back_to_the_drive_step() {
    let (w, stick, mut app) = on_name_step();
    w.key(&mut app, KeyCode::Enter);
    type_passwords(&w, &mut app);
    // The write is started, its effect held back (the worker is "busy").
    let effect = app.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    assert!(effect.is_some());
    assert!(matches!(wizard(&app).step, Step::Writing { .. }));
    w.drives.0.lock().unwrap().clear();
    ticks(&w, &mut app);
    assert!(
        matches!(wizard(&app).step, Step::Writing { .. }),
        "the worker finishes first"
    );
    assert_eq!(
        wizard(&app).alert,
        Some(DriveAlert::Removed("STICK".into())),
        "said at once"
    );
    assert!(render(&app, 80, 24).contains("STICK"));
    // The worker fails (its own drive check): back to the drive step.
    w.pump(&mut app, Msg::BackupDone(Err("drive gone".into())));
    let wz = wizard(&app);
    assert!(matches!(wz.step, Step::Drive { .. }));
    assert_eq!(wz.alert, Some(DriveAlert::Removed("STICK".into())));
    assert!(wz.kept.as_ref().unwrap().password.is_some());
    drop(effect);
    assert_eq!(files_in(&stick), Vec::<String>::new());
}

#[test]
fn the_password_is_masked_until_f2_or_ctrl_r() {
    let (w, _stick, mut app) = on_name_step();
    w.key(&mut app, KeyCode::Enter);
    w.type_text(&mut app, "zqxwv");
    let shown = |app: &App| render(app, 80, 24).contains("zqxwv");
    assert!(!shown(&app), "masked by default");
    assert!(render(&app, 80, 24).contains("*****"));
    w.key(&mut app, KeyCode::F(2));
    assert!(shown(&app));
    w.key(&mut app, KeyCode::F(2));
    assert!(!shown(&app));
    w.pump(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
    );
    assert!(shown(&app));
    // The toggle key is no text.
    let Step::Password { password, .. } = &wizard(&app).step else {
        panic!()
    };
    assert_eq!(password.value(), "zqxwv");
}

#[test]
fn a_mismatch_keeps_the_first_entry_and_is_a_warning_that_goes_when_typing() {
    let (w, _stick, mut app) = on_name_step();
    w.key(&mut app, KeyCode::Enter);
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    w.type_text(&mut app, "vélo orange sous la pluie de Brest 1978");
    w.key(&mut app, KeyCode::Enter);
    {
        let Step::Password {
            password,
            confirm,
            on_confirm,
            error,
            ..
        } = &wizard(&app).step
        else {
            panic!("still on the password step")
        };
        assert_eq!(error, &Some(PasswordError::Mismatch));
        assert_eq!(password.value(), PASSWORD, "the first entry stays");
        assert_eq!(confirm.value(), "", "only the confirmation is cleared");
        assert!(on_confirm, "the focus is on the confirmation");
    }
    let screen = render(&app, 80, 24);
    assert!(screen.contains(&format!("[{}]", level_word(Level::Warning))));
    assert!(
        !screen.contains(&format!("[{}]", level_word(Level::Critical))),
        "a typo is no critical failure:\n{screen}"
    );
    w.key(&mut app, KeyCode::Char('v'));
    let Step::Password { error, .. } = &wizard(&app).step else {
        panic!()
    };
    assert_eq!(error, &None, "the old error goes when the user types");
    w.key(&mut app, KeyCode::Backspace);
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    assert!(matches!(wizard(&app).step, Step::Summary { .. }));
}

/// A message of the `tui:` section as written in a locale file.
fn locale_text(lang: &str, key: &str) -> String {
    let file = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("src/locales/{lang}.yml")),
    )
    .unwrap();
    let section = &file[file.find("\ntui:\n").unwrap()..];
    let line = section
        .lines()
        .find(|l| l.starts_with(&format!("  {key}: ")))
        .unwrap();
    line.split_once(": ")
        .unwrap()
        .1
        .trim_matches('"')
        .to_string()
}

#[test]
fn the_password_reminder_is_never_cut_on_the_result_screen() {
    let _guard = tui_support::LANG_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for ((w_, h), lang) in [
        ((60, 20), Lang::Fr),
        ((80, 24), Lang::Fr),
        ((60, 20), Lang::En),
        ((80, 24), Lang::En),
    ] {
        i18n::set(lang);
        let (w, _stick, mut app) = on_name_step();
        w.key(&mut app, KeyCode::Enter);
        type_passwords(&w, &mut app);
        w.key(&mut app, KeyCode::Enter);
        assert!(matches!(
            wizard(&app).step,
            Step::Done { result: Ok(_), .. }
        ));
        let screen: String = render(&app, w_, h)
            .lines()
            .map(|l| l.trim_matches(|c: char| c == '"' || c == '│' || c.is_whitespace()))
            .collect::<Vec<_>>()
            .join(" ");
        let reminder = locale_text(lang.code(), "password_reminder");
        let last_words: Vec<&str> = reminder.split_whitespace().rev().take(2).collect();
        let tail = format!("{} {}", last_words[1], last_words[0]);
        assert!(screen.contains(&tail), "{w_}×{h}: {tail}\n{screen}");
    }
    i18n::set(Lang::En);
}

#[test]
fn restore_a_stick_pulled_out_on_the_file_step_goes_back_to_the_source_step() {
    use certsafe::tui::restore::Step as R;
    let w = World::empty();
    let stick = w.home.path().join("STICK");
    std::fs::create_dir(&stick).unwrap();
    *w.drives.0.lock().unwrap() = vec![drive(&stick, "STICK")];
    let mut app = w.app();
    w.key(&mut app, KeyCode::Char('r'));
    w.key(&mut app, KeyCode::Enter); // the stick
    let restore = |app: &App| match &app.screen {
        Screen::Restore(r) => (
            matches!(r.step, R::Files { .. }),
            matches!(r.step, R::Source { .. }),
            r.alert.clone(),
        ),
        _ => panic!("left the restore wizard"),
    };
    assert_eq!(restore(&app), (true, false, None));
    w.drives.0.lock().unwrap().clear();
    ticks(&w, &mut app);
    assert_eq!(
        restore(&app),
        (false, true, Some(DriveAlert::Removed("STICK".into())))
    );
    assert!(render(&app, 80, 24).contains("STICK"));
}

#[test]
fn restore_the_contents_step_flags_an_expired_certificate() {
    let w = World::empty();
    let stick = w.home.path().join("STICK");
    std::fs::create_dir(&stick).unwrap();
    let pw = Password::new(PASSWORD.into()).unwrap();
    let flag = |stem: &str| {
        let expired = identity(stem);
        std::fs::write(
            stick.join("sauvegarde.p12"),
            p12::build(&expired, "Dr", &pw, p12::Profile::Modern).unwrap(),
        )
        .unwrap();
        *w.drives.0.lock().unwrap() = vec![drive(&stick, "STICK")];
        let mut app = w.app();
        w.key(&mut app, KeyCode::Char('r'));
        w.key(&mut app, KeyCode::Enter); // the stick
        w.key(&mut app, KeyCode::Enter); // the file
        w.type_text(&mut app, PASSWORD);
        w.key(&mut app, KeyCode::Enter); // contents
        let Screen::Restore(r) = &app.screen else {
            panic!()
        };
        assert!(matches!(
            r.step,
            certsafe::tui::restore::Step::Contents { .. }
        ));
        let screen = render(&app, 100, 30);
        let date = match &r.step {
            certsafe::tui::restore::Step::Contents { info, .. } => {
                certsafe::domain::time::rfc3339(info.certificate.not_after)
            }
            _ => unreachable!(),
        };
        // The warning names the expiry date a second time (the validity line
        // is the first).
        screen.matches(&date).count() >= 2
    };
    assert!(flag("tomwsrevoque.henix.asipsante.fr.742d8553"), "expired");
    assert!(!flag("testsign.test.asipsante.fr.8f613149"), "valid");
}

#[test]
fn restore_the_password_is_masked_until_f2() {
    let w = World::empty();
    let stick = w.home.path().join("STICK");
    std::fs::create_dir(&stick).unwrap();
    std::fs::write(stick.join("sauvegarde.p12"), b"not opened in this test").unwrap();
    *w.drives.0.lock().unwrap() = vec![drive(&stick, "STICK")];
    let mut app = w.app();
    w.key(&mut app, KeyCode::Char('r'));
    w.key(&mut app, KeyCode::Enter); // the stick
    w.key(&mut app, KeyCode::Enter); // the file
    w.type_text(&mut app, "zqxwv");
    assert!(!render(&app, 80, 24).contains("zqxwv"), "masked by default");
    w.key(&mut app, KeyCode::F(2));
    assert!(render(&app, 80, 24).contains("zqxwv"));
    w.key(&mut app, KeyCode::F(2));
    assert!(!render(&app, 80, 24).contains("zqxwv"));
}

#[test]
fn on_the_drive_step_a_pulled_stick_is_said_and_the_selection_stays_on_a_drive() {
    let w = World::calm();
    let one = w.home.path().join("CLE1");
    let two = w.home.path().join("CLE2");
    std::fs::create_dir(&one).unwrap();
    std::fs::create_dir(&two).unwrap();
    *w.drives.0.lock().unwrap() = vec![drive(&one, "CLE1"), drive(&two, "CLE2")];
    let mut app = w.app();
    w.key(&mut app, KeyCode::Char('b'));
    w.key(&mut app, KeyCode::Down); // CLE2, the last drive
    *w.drives.0.lock().unwrap() = vec![drive(&one, "CLE1")];
    ticks(&w, &mut app);
    let wz = wizard(&app);
    let Step::Drive {
        drives, selected, ..
    } = &wz.step
    else {
        panic!("still on the drive step")
    };
    assert_eq!(wz.alert, Some(DriveAlert::Removed("CLE2".into())));
    assert_eq!(drives[*selected].mount_point, one, "not \"other folder…\"");
}
