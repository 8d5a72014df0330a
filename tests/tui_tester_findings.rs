//! A tester's findings in the wizards (played in tmux, 60×20), each held
//! here: a step's text longer than the screen keeps its warnings and its
//! key line and scrolls; a password kept over a pulled stick is measured and
//! one Enter goes on; a stick pulled just before the write goes back to the
//! drive step with the choices; the home screen's advice names the keys.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

mod tui_support;

use std::path::PathBuf;

use certsafe::domain::p12;
use certsafe::domain::secret::Password;
use certsafe::i18n::{self, Lang, text};
use certsafe::tui::app::{App, Msg, Screen};
use certsafe::tui::backup::{BackupWizard, DriveAlert, Step};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_support::{LANG_LOCK, World, drive, identity, render};

const PASSWORD: &str = "vélo orange sous la pluie de Brest 1987";

fn lang(l: Lang) -> std::sync::MutexGuard<'static, ()> {
    let guard = LANG_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    i18n::set(l);
    guard
}

/// Words of `s` without the border characters.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || "│|┌┐└┘─".contains(c))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether the last word of the message under `key` is on `screen`.
fn ends_on_screen(screen: &str, key: &str) -> bool {
    let last = words(&text(key)).pop().unwrap();
    words(screen).contains(&last)
}

fn wizard(app: &App) -> &BackupWizard {
    match &app.screen {
        Screen::Backup(w) => w,
        _ => panic!("left the backup wizard"),
    }
}

fn ticks(w: &World, app: &mut App) {
    for _ in 0..4 {
        w.pump(app, Msg::Tick(w.env.now()));
    }
}

/// The restore wizard on "what is inside" for an expired certificate.
fn restore_contents_expired(w: &World) -> App {
    let stick = w.home.path().join("STICK");
    std::fs::create_dir(&stick).unwrap();
    let pw = Password::new(PASSWORD.into()).unwrap();
    let expired = identity("tomwsrevoque.henix.asipsante.fr.742d8553");
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
        panic!("restore wizard")
    };
    assert!(matches!(
        r.step,
        certsafe::tui::restore::Step::Contents { .. }
    ));
    app
}

#[test]
fn restore_contents_at_60x20_keeps_the_warning_and_the_key_line_and_scrolls() {
    for l in [Lang::En, Lang::Fr] {
        let _g = lang(l);
        let w = World::empty();
        let mut app = restore_contents_expired(&w);
        let screen = render(&app, 60, 20);
        assert!(
            ends_on_screen(&screen, "tui.contents_next"),
            "{l:?}: the key line:\n{screen}"
        );
        let warning = certsafe::tui::widgets::level_word(certsafe::domain::status::Level::Warning);
        assert!(screen.contains(&warning), "{l:?}: the expiry:\n{screen}");
        assert!(
            ends_on_screen(&screen, "tuiaccount.more_below"),
            "{l:?}: more below:\n{screen}"
        );
        assert!(!ends_on_screen(&screen, "tuiaccount.more_above"));
        // PgDn scrolls to the end: "more above", no "more below".
        for _ in 0..10 {
            w.key(&mut app, KeyCode::PageDown);
            render(&app, 60, 20);
        }
        let screen = render(&app, 60, 20);
        assert!(
            ends_on_screen(&screen, "tuiaccount.more_above"),
            "{l:?}: scrolled:\n{screen}"
        );
        assert!(
            !ends_on_screen(&screen, "tuiaccount.more_below"),
            "{l:?}:\n{screen}"
        );
        assert!(ends_on_screen(&screen, "tui.contents_next"));
        // Up to the top again; Enter still goes on.
        for _ in 0..20 {
            w.key(&mut app, KeyCode::Up);
        }
        let screen = render(&app, 60, 20);
        assert!(
            !ends_on_screen(&screen, "tuiaccount.more_above"),
            "{l:?}:\n{screen}"
        );
        w.key(&mut app, KeyCode::Enter);
        let Screen::Restore(r) = &app.screen else {
            panic!()
        };
        assert!(matches!(
            r.step,
            certsafe::tui::restore::Step::Target { .. }
        ));
    }
}

#[test]
fn a_tall_terminal_shows_the_whole_contents_without_markers() {
    let _g = lang(Lang::En);
    let w = World::empty();
    let app = restore_contents_expired(&w);
    let screen = render(&app, 120, 50);
    assert!(ends_on_screen(&screen, "tui.contents_next"));
    assert!(
        !ends_on_screen(&screen, "tuiaccount.more_below"),
        "{screen}"
    );
    assert!(
        !ends_on_screen(&screen, "tuiaccount.more_above"),
        "{screen}"
    );
}

/// One account, a stick, the backup wizard on the name step.
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

#[test]
fn a_password_kept_over_a_pulled_stick_is_measured_and_one_enter_goes_on() {
    let _g = lang(Lang::En);
    let (w, stick, mut app) = on_name_step();
    w.key(&mut app, KeyCode::Enter);
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    w.type_text(&mut app, PASSWORD);
    let Step::Password {
        strength: typed, ..
    } = &wizard(&app).step
    else {
        panic!("password step")
    };
    let typed = typed.clone().expect("measured while typing");
    w.drives.0.lock().unwrap().clear();
    ticks(&w, &mut app);
    assert!(matches!(wizard(&app).step, Step::Drive { .. }));
    *w.drives.0.lock().unwrap() = vec![drive(&stick, "STICK")];
    ticks(&w, &mut app);
    w.key(&mut app, KeyCode::Enter); // the stick
    w.key(&mut app, KeyCode::Enter); // the name kept
    let Step::Password {
        strength,
        on_confirm,
        password,
        confirm,
        ..
    } = &wizard(&app).step
    else {
        panic!("password step")
    };
    assert_eq!(password.value(), PASSWORD);
    assert_eq!(confirm.value(), PASSWORD);
    assert_eq!(strength.as_ref().map(|s| s.score), Some(typed.score));
    assert!(*on_confirm, "the focus where one Enter goes on");
    // The focus is marked on the screen: `>` before the confirmation.
    let screen = render(&app, 80, 24);
    let confirm_row = screen
        .lines()
        .find(|r| r.contains(&text("tui.confirm")))
        .unwrap();
    assert!(confirm_row.contains("> "), "{screen}");
    w.key(&mut app, KeyCode::Enter);
    assert!(
        matches!(wizard(&app).step, Step::Summary { .. }),
        "one Enter goes on"
    );
}

#[test]
fn a_stick_pulled_just_before_the_write_goes_back_to_the_drive_step_keeping_choices() {
    let _g = lang(Lang::En);
    let (w, stick, mut app) = on_name_step();
    w.key(&mut app, KeyCode::Enter);
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    assert!(matches!(wizard(&app).step, Step::Summary { .. }));
    // Pulled out: the poll has not seen it yet; the write fails.
    w.drives.0.lock().unwrap().clear();
    std::fs::remove_dir_all(&stick).unwrap();
    w.pump(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let wz = wizard(&app);
    assert!(
        matches!(wz.step, Step::Drive { .. }),
        "back to the drive step, not the end"
    );
    assert_eq!(wz.alert, Some(DriveAlert::Removed("STICK".into())));
    let kept = wz.kept.as_ref().unwrap();
    assert!(kept.password.is_some(), "the password kept");
    assert!(!kept.name.is_empty(), "the name kept");
}

#[test]
fn a_write_failing_on_a_drive_still_there_ends_with_the_failure() {
    let _g = lang(Lang::En);
    let (w, _stick, mut app) = on_name_step();
    w.key(&mut app, KeyCode::Enter);
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    // The write is started, its effect held back; it fails, the drive stays.
    let effect = app.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    assert!(effect.is_some());
    w.pump(&mut app, Msg::BackupDone(Err("disk full".into())));
    assert!(matches!(
        wizard(&app).step,
        Step::Done { result: Err(_), .. }
    ));
    assert!(wizard(&app).alert.is_none());
}

#[test]
fn home_with_no_account_advises_the_keys_not_the_commands() {
    for l in [Lang::En, Lang::Fr] {
        let _g = lang(l);
        let w = World::empty();
        let app = w.app();
        let screen = render(&app, 100, 30);
        assert!(
            !screen.contains("certsafe account import"),
            "{l:?}:\n{screen}"
        );
        assert!(!screen.contains("certsafe restore"), "{l:?}:\n{screen}");
        assert!(
            ends_on_screen(&screen, "tui.pane_no_account_fix"),
            "{l:?}:\n{screen}"
        );
        // The command line keeps the commands.
        assert!(text("status.no_account_fix").contains("certsafe restore"));
    }
}
