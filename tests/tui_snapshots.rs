//! Snapshots of every screen at 80×24 and 120×40, in English and French,
//! including each alert kind and each wizard error.
#![allow(clippy::unwrap_used)]

mod tui_support;

use std::path::Path;

use certsafe::domain::backup::{self, BackupError};
use certsafe::domain::p12::{self, Profile};
use certsafe::domain::secret::Password;
use certsafe::i18n::{self, Lang};
use certsafe::tui::app::{App, Screen};
use certsafe::tui::backup::Step as BStep;
use ratatui::crossterm::event::KeyCode;
use tui_support::{LANG_LOCK, World, drive, identity, render};

const PASSWORD: &str = "correct horse battery staple Brest 1987";

/// Builds the scene in each language and snapshots it at both sizes.
fn snap(name: &str, scene: impl Fn() -> (App, World)) {
    let _guard = LANG_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for lang in [Lang::En, Lang::Fr] {
        i18n::set(lang);
        let (app, world) = scene();
        let home = world.home.path().display().to_string();
        for (w, h) in [(80, 24), (120, 40)] {
            let text = render(&app, w, h);
            let mut settings = insta::Settings::clone_current();
            settings.set_snapshot_suffix(format!("{}_{w}x{h}", lang.code()));
            settings.add_filter(&regex_escape(&home), "[HOME]");
            settings.add_filter(r"/tmp/\.tmp[A-Za-z0-9]{6}", "[TMP]");
            settings.bind(|| insta::assert_snapshot!(name, text));
        }
    }
    i18n::set(Lang::En);
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect()
}

/// A stick folder inside the world's temp dir, listed as a removable drive.
fn with_stick(world: &World) -> std::path::PathBuf {
    let stick = world.home.path().join("CLE_USB");
    std::fs::create_dir_all(&stick).unwrap();
    *world.drives.0.lock().unwrap() = vec![drive(&stick, "CLE_USB")];
    stick
}

// ---------------------------------------------------------------- home

#[test]
fn home_empty() {
    snap("home_empty", || {
        let w = World::empty();
        (w.app(), w)
    });
}

#[test]
fn home_every_account_alert() {
    snap("home_alerts", || {
        let w = World::full();
        (w.app(), w)
    });
}

#[test]
fn home_all_good() {
    snap("home_ok", || {
        let w = World::calm();
        (w.app(), w)
    });
}

#[test]
fn home_help() {
    snap("home_help", || {
        let w = World::full();
        let mut app = w.app();
        w.key(&mut app, KeyCode::Char('?'));
        (app, w)
    });
}

#[test]
fn home_notice_without_account() {
    snap("home_no_account_to_back_up", || {
        let w = World::empty();
        let mut app = w.app();
        w.key(&mut app, KeyCode::Char('b'));
        (app, w)
    });
}

// ---------------------------------------------------------------- backup wizard

fn backup_at_drive_step(w: &World) -> App {
    let mut app = w.app();
    w.key(&mut app, KeyCode::Char('b'));
    app
}

#[test]
fn backup_account_step() {
    snap("backup_1_account", || {
        let w = World::full();
        let mut app = w.app();
        w.key(&mut app, KeyCode::Char('b'));
        w.key(&mut app, KeyCode::Esc); // from the drive step back to the account step
        (app, w)
    });
}

#[test]
fn backup_drive_step_with_a_stick() {
    snap("backup_2_drive", || {
        let w = World::full();
        with_stick(&w);
        (backup_at_drive_step(&w), w)
    });
}

#[test]
fn backup_drive_step_without_drive() {
    snap("backup_2_drive_none", || {
        let w = World::full();
        (backup_at_drive_step(&w), w)
    });
}

#[test]
fn backup_drive_gone_when_confirmed() {
    snap("backup_2_drive_gone", || {
        let w = World::full();
        let stick = w.home.path().join("GONE");
        *w.drives.0.lock().unwrap() = vec![drive(&stick, "GONE")];
        let mut app = backup_at_drive_step(&w);
        w.key(&mut app, KeyCode::Enter);
        (app, w)
    });
}

#[test]
fn backup_quit_asks_first() {
    snap("backup_quit_confirm", || {
        let w = World::full();
        let mut app = backup_at_drive_step(&w);
        w.key(&mut app, KeyCode::Char('q'));
        assert!(!app.quit);
        (app, w)
    });
}

#[test]
fn backup_other_folder_missing() {
    snap("backup_2_folder_missing", || {
        let w = World::full();
        let mut app = backup_at_drive_step(&w);
        w.key(&mut app, KeyCode::Char('o'));
        let missing = w.home.path().join("nowhere");
        w.type_text(&mut app, &missing.display().to_string());
        w.key(&mut app, KeyCode::Enter);
        (app, w)
    });
}

fn backup_at_name_step(w: &World) -> App {
    with_stick(w);
    let mut app = backup_at_drive_step(w);
    w.key(&mut app, KeyCode::Enter);
    app
}

#[test]
fn backup_name_step() {
    snap("backup_3_name", || {
        let w = World::full();
        (backup_at_name_step(&w), w)
    });
}

#[test]
fn backup_name_step_compat() {
    snap("backup_3_name_compat", || {
        let w = World::full();
        let mut app = backup_at_name_step(&w);
        w.key(&mut app, KeyCode::Tab);
        w.key(&mut app, KeyCode::Right);
        (app, w)
    });
}

#[test]
fn backup_name_exists() {
    snap("backup_3_name_exists", || {
        let w = World::full();
        let stick = with_stick(&w);
        let mut app = backup_at_name_step(&w);
        // The default name is already on the stick.
        let name = certsafe::domain::backup::default_file_name(
            "Cabinet dentaire du Port",
            tui_support::now(),
        );
        std::fs::write(stick.join(name), b"x").unwrap();
        w.key(&mut app, KeyCode::Enter);
        (app, w)
    });
}

fn backup_at_password_step(w: &World) -> App {
    let mut app = backup_at_name_step(w);
    w.key(&mut app, KeyCode::Enter);
    app
}

#[test]
fn backup_password_weak() {
    snap("backup_4_password_weak", || {
        let w = World::full();
        let mut app = backup_at_password_step(&w);
        w.type_text(&mut app, "cabinet29");
        (app, w)
    });
}

#[test]
fn backup_password_strong() {
    snap("backup_4_password_strong", || {
        let w = World::full();
        let mut app = backup_at_password_step(&w);
        w.type_text(&mut app, PASSWORD);
        w.key(&mut app, KeyCode::Tab);
        w.type_text(&mut app, PASSWORD);
        (app, w)
    });
}

#[test]
fn backup_password_mismatch() {
    snap("backup_4_password_mismatch", || {
        let w = World::full();
        let mut app = backup_at_password_step(&w);
        w.type_text(&mut app, PASSWORD);
        w.key(&mut app, KeyCode::Enter);
        w.type_text(&mut app, "correct horse battery staple Brest 1988");
        w.key(&mut app, KeyCode::Enter);
        (app, w)
    });
}

#[test]
fn backup_password_too_weak_refused() {
    snap("backup_4_password_refused", || {
        let w = World::full();
        let mut app = backup_at_password_step(&w);
        for _ in 0..2 {
            w.type_text(&mut app, "Cabinet du Port 2022");
            w.key(&mut app, KeyCode::Enter);
        }
        (app, w)
    });
}

#[test]
fn backup_password_empty_refused() {
    snap("backup_4_password_empty", || {
        let w = World::full();
        let mut app = backup_at_password_step(&w);
        w.key(&mut app, KeyCode::Enter);
        w.key(&mut app, KeyCode::Enter);
        (app, w)
    });
}

fn backup_at_summary(w: &World) -> App {
    let mut app = backup_at_password_step(w);
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    app
}

#[test]
fn backup_summary() {
    snap("backup_5_summary", || {
        let w = World::full();
        (backup_at_summary(&w), w)
    });
}

#[test]
fn backup_writing() {
    snap("backup_6_writing", || {
        let w = World::full();
        let mut app = backup_at_summary(&w);
        if let Screen::Backup(wiz) = &mut app.screen {
            wiz.step = BStep::Writing {
                path: w
                    .home
                    .path()
                    .join("CLE_USB/certsafe-Cabinet-dentaire-du-Port-2022-07-20.p12"),
                removable: true,
                done: vec![
                    backup::Step::Built,
                    backup::Step::Written,
                    backup::Step::Synced,
                ],
            };
        }
        (app, w)
    });
}

#[test]
fn backup_done() {
    snap("backup_7_done", || {
        let w = World::full();
        let mut app = backup_at_summary(&w);
        w.key(&mut app, KeyCode::Enter);
        (app, w)
    });
}

#[test]
fn backup_failed() {
    snap("backup_7_failed", || {
        let w = World::full();
        let mut app = backup_at_summary(&w);
        let full = std::io::Error::from_raw_os_error(28);
        let error = BackupError::Io {
            path: "/media/CLE_USB/certsafe-Cabinet-dentaire-du-Port-2022-07-20.p12".into(),
            reason: certsafe::domain::fsutil::describe_io(&full),
        };
        if let Screen::Backup(wiz) = &mut app.screen {
            wiz.step = BStep::Done {
                result: Err(error.to_string()),
                removable: true,
            };
        }
        (app, w)
    });
}

// ---------------------------------------------------------------- restore wizard

/// A folder with a backup of the testsign identity (and one in a subfolder).
fn backups(dir: &Path) -> std::path::PathBuf {
    let id = identity("testsign.test.asipsante.fr.8f613149");
    let pw = Password::new(PASSWORD.into()).unwrap();
    let bytes = p12::build(&id, "Dr Marie Durand", &pw, Profile::Modern).unwrap();
    std::fs::create_dir_all(dir.join("2021")).unwrap();
    std::fs::write(dir.join("2021/ancienne.pfx"), &bytes).unwrap();
    let file = dir.join("certsafe-Dr-Marie-Durand-2022-07-10.p12");
    std::fs::write(&file, &bytes).unwrap();
    file
}

fn restore_at_files(w: &World) -> App {
    let stick = with_stick(w);
    backups(&stick);
    let mut app = w.app();
    w.key(&mut app, KeyCode::Char('r'));
    w.key(&mut app, KeyCode::Enter);
    app
}

#[test]
fn restore_source_step() {
    snap("restore_1_source", || {
        let w = World::empty();
        with_stick(&w);
        let mut app = w.app();
        w.key(&mut app, KeyCode::Char('r'));
        (app, w)
    });
}

#[test]
fn restore_folder_missing() {
    snap("restore_1_folder_missing", || {
        let w = World::empty();
        let mut app = w.app();
        w.key(&mut app, KeyCode::Char('r'));
        w.key(&mut app, KeyCode::Char('o'));
        w.type_text(
            &mut app,
            &w.home.path().join("nowhere").display().to_string(),
        );
        w.key(&mut app, KeyCode::Enter);
        (app, w)
    });
}

#[test]
fn restore_files() {
    snap("restore_2_files", || {
        let w = World::empty();
        (restore_at_files(&w), w)
    });
}

#[test]
fn restore_no_file() {
    snap("restore_2_no_file", || {
        let w = World::empty();
        with_stick(&w);
        let mut app = w.app();
        w.key(&mut app, KeyCode::Char('r'));
        w.key(&mut app, KeyCode::Enter);
        (app, w)
    });
}

#[test]
fn restore_wrong_password() {
    snap("restore_3_wrong_password", || {
        let w = World::empty();
        let mut app = restore_at_files(&w);
        w.key(&mut app, KeyCode::Enter);
        w.type_text(&mut app, "pas le bon mot de passe");
        w.key(&mut app, KeyCode::Enter);
        (app, w)
    });
}

#[test]
fn restore_damaged_file() {
    snap("restore_3_damaged", || {
        let w = World::empty();
        let stick = with_stick(&w);
        let file = backups(&stick);
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
        std::fs::remove_file(stick.join("2021/ancienne.pfx")).unwrap();
        let mut app = w.app();
        w.key(&mut app, KeyCode::Char('r'));
        w.key(&mut app, KeyCode::Enter);
        w.key(&mut app, KeyCode::Enter);
        w.type_text(&mut app, PASSWORD);
        w.key(&mut app, KeyCode::Enter);
        (app, w)
    });
}

fn restore_at_contents(w: &World) -> App {
    let mut app = restore_at_files(w);
    w.key(&mut app, KeyCode::Enter);
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    app
}

#[test]
fn restore_contents() {
    snap("restore_4_contents", || {
        let w = World::empty();
        (restore_at_contents(&w), w)
    });
}

#[test]
fn restore_target_new() {
    snap("restore_5_target_new", || {
        let w = World::empty();
        let mut app = restore_at_contents(&w);
        w.key(&mut app, KeyCode::Enter);
        (app, w)
    });
}

#[test]
fn restore_target_existing() {
    snap("restore_5_target_existing", || {
        let w = World::full();
        let mut app = restore_at_contents(&w);
        w.key(&mut app, KeyCode::Enter);
        (app, w)
    });
}

#[test]
fn restore_confirm_replace() {
    snap("restore_5_confirm_replace", || {
        let w = World::empty();
        w.add(
            "asipsign.preuve.henix.asipsante.fr.c1079cb0",
            "Dr Marie Durand (ancien certificat)",
            None,
            false,
        );
        let mut app = restore_at_contents(&w);
        w.key(&mut app, KeyCode::Enter);
        w.key(&mut app, KeyCode::Down);
        w.key(&mut app, KeyCode::Enter);
        (app, w)
    });
}

#[test]
fn restore_done() {
    snap("restore_6_done", || {
        let w = World::empty();
        let mut app = restore_at_contents(&w);
        w.key(&mut app, KeyCode::Enter);
        w.key(&mut app, KeyCode::Enter);
        (app, w)
    });
}
