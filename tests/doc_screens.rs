//! The screens shown in the user guides, `docs/screens/<lang>/<name>.txt`:
//! the real TUI drawn at 80×24 on ratatui's `TestBackend`, in French and
//! English, on a fixed home (the IGC-Santé TEST identities) at a fixed date.
//! This test draws them again in memory and fails when a committed file
//! differs, or is missing, or is no longer drawn. To write them:
//!
//! ```text
//! UPDATE_SCREENS=1 cargo test --test doc_screens
//! ```
//!
//! The sticks live in a temporary folder on `/dev/shm` whose path has the
//! length of `/run/media/docteur`, and is written as that path, so the boxes
//! keep their shape and no temporary path reaches the docs. The journal the
//! store writes with the real clock is dated again with the fixed one.
#![allow(clippy::unwrap_used)]

mod tui_support;

use std::path::{Path, PathBuf};

use certsafe::domain::journal::Journal;
use certsafe::domain::p12::{self, Profile};
use certsafe::domain::secret::Password;
use certsafe::i18n::{self, Lang};
use certsafe::tui::app::{App, Screen};
use certsafe::tui::backup::Step as BStep;
use ratatui::crossterm::event::KeyCode;
use tui_support::{LANG_LOCK, World, drive, identity, now, render};

/// What the folder holding the sticks is shown as.
const SHOWN_MEDIA: &str = "/run/media/docteur";
/// Width and height of every screen.
const SIZE: (u16, u16) = (80, 24);
const PASSWORD: &str = "correct horse battery staple Brest 1987";
const CAS: [&str; 2] = [
    "TEST_AC_IGC-SANTE_ELEMENTAIRE_ORGANISATIONS.dc528e37.pem",
    "TEST_AC_RACINE_IGC-SANTE_ELEMENTAIRE.01325aeb.pem",
];

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screens")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/igc-sante-test")
        .join(name)
}

/// A world and the folder its sticks are in: on another filesystem than
/// the home (`/dev/shm`), as a real stick is, so the backup wizard does not
/// warn that the backup is on the store's disk. Its path has as many
/// characters as [`SHOWN_MEDIA`], so it can be written as that without
/// moving anything on the screen.
struct Bench {
    world: World,
    media: tempfile::TempDir,
}

impl std::ops::Deref for Bench {
    type Target = World;
    fn deref(&self) -> &World {
        &self.world
    }
}

/// An empty world.
fn world() -> Bench {
    let shm = Path::new("/dev/shm");
    assert!(shm.is_dir(), "the doc screens need /dev/shm (a tmpfs)");
    let media = tempfile::Builder::new()
        .prefix(".cs")
        .rand_bytes(SHOWN_MEDIA.len() - "/dev/shm/.cs".len())
        .tempdir_in(shm)
        .unwrap();
    assert_eq!(media.path().as_os_str().len(), SHOWN_MEDIA.len());
    Bench {
        world: World::empty(),
        media,
    }
}

/// The four accounts of `World::full()`: backed up, none, outdated, old.
fn full() -> Bench {
    Bench {
        world: World::full(),
        ..world()
    }
}

/// A stick `CLE_USB`, listed as a removable drive.
fn with_stick(w: &Bench) -> PathBuf {
    let stick = w.media.path().join("CLE_USB");
    std::fs::create_dir_all(&stick).unwrap();
    *w.drives.0.lock().unwrap() = vec![drive(&stick, "CLE_USB")];
    stick
}

/// A backup of the testsign identity on `dir`.
fn backup_file(dir: &Path) {
    let id = identity("testsign.test.asipsante.fr.8f613149");
    let pw = Password::new(PASSWORD.into()).unwrap();
    let bytes = p12::build(&id, "Dr Marie Durand", &pw, Profile::Modern).unwrap();
    std::fs::write(dir.join("certsafe-Dr-Marie-Durand-2022-07-10.p12"), bytes).unwrap();
}

/// The journal written while the world was made, dated by the fixed clock
/// (the store records with the real one), one minute apart.
fn journal_at_the_fixed_date(w: &World) {
    let journal = Journal::from(&w.env.home);
    let entries = journal.read().unwrap();
    if entries.is_empty() {
        return;
    }
    std::fs::remove_file(journal.path()).unwrap();
    let count = i64::try_from(entries.len()).unwrap();
    for (n, entry) in (0..).zip(&entries) {
        let at = now() - time::Duration::minutes(count - n);
        journal
            .append(at, std::slice::from_ref(&entry.event))
            .unwrap();
    }
}

/// The app on the world's home, its journal dated by the fixed clock.
fn app(w: &World) -> App {
    journal_at_the_fixed_date(w);
    w.app()
}

// ---------------------------------------------------------------- scenes

fn home() -> (App, Bench) {
    let w = full();
    with_stick(&w);
    (app(&w), w)
}

fn help() -> (App, Bench) {
    let (mut app, w) = home();
    w.key(&mut app, KeyCode::Char('?'));
    (app, w)
}

fn account() -> (App, Bench) {
    let w = full();
    let mut app = app(&w);
    w.key(&mut app, KeyCode::Char('v'));
    assert!(matches!(app.screen, Screen::Details(_)));
    (app, w)
}

fn quit_box() -> (App, Bench) {
    let (mut app, w) = backup_drive();
    w.key(&mut app, KeyCode::Char('q'));
    assert!(!app.quit);
    (app, w)
}

fn backup_account() -> (App, Bench) {
    let (mut app, w) = backup_drive();
    w.key(&mut app, KeyCode::Esc);
    (app, w)
}

fn backup_drive() -> (App, Bench) {
    let (mut app, w) = home();
    w.key(&mut app, KeyCode::Char('b'));
    assert!(matches!(app.screen, Screen::Backup(_)));
    (app, w)
}

fn backup_name() -> (App, Bench) {
    let (mut app, w) = backup_drive();
    w.key(&mut app, KeyCode::Enter);
    (app, w)
}

fn backup_password() -> (App, Bench) {
    let (mut app, w) = backup_name();
    w.key(&mut app, KeyCode::Enter);
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Tab);
    w.type_text(&mut app, PASSWORD);
    (app, w)
}

fn backup_summary() -> (App, Bench) {
    let (mut app, w) = backup_name();
    w.key(&mut app, KeyCode::Enter);
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter);
    (app, w)
}

fn backup_writing() -> (App, Bench) {
    let (mut app, w) = backup_summary();
    let Screen::Backup(wiz) = &mut app.screen else {
        panic!("left the backup wizard")
    };
    // The worker's progress, as it is between two messages.
    wiz.step = BStep::Writing {
        path: w
            .media
            .path()
            .join("CLE_USB/certsafe-Cabinet-dentaire-du-Port-2022-07-20.p12"),
        removable: true,
        done: vec![
            certsafe::domain::backup::Step::Built,
            certsafe::domain::backup::Step::Written,
            certsafe::domain::backup::Step::Synced,
        ],
    };
    (app, w)
}

fn backup_done() -> (App, Bench) {
    let (mut app, w) = backup_summary();
    w.key(&mut app, KeyCode::Enter);
    (app, w)
}

fn restore_source() -> (App, Bench) {
    let w = world();
    backup_file(&with_stick(&w));
    let mut app = app(&w);
    w.key(&mut app, KeyCode::Char('r'));
    assert!(matches!(app.screen, Screen::Restore(_)));
    (app, w)
}

fn restore_files() -> (App, Bench) {
    let (mut app, w) = restore_source();
    w.key(&mut app, KeyCode::Enter);
    (app, w)
}

fn restore_password() -> (App, Bench) {
    let (mut app, w) = restore_files();
    w.key(&mut app, KeyCode::Enter);
    w.type_text(&mut app, PASSWORD);
    (app, w)
}

fn restore_contents() -> (App, Bench) {
    let (mut app, w) = restore_password();
    w.key(&mut app, KeyCode::Enter);
    (app, w)
}

fn restore_target() -> (App, Bench) {
    let (mut app, w) = restore_contents();
    w.key(&mut app, KeyCode::Enter);
    (app, w)
}

fn restore_done() -> (App, Bench) {
    let (mut app, w) = restore_target();
    w.key(&mut app, KeyCode::Enter);
    (app, w)
}

fn import_file() -> (App, Bench) {
    let w = world();
    let stick = with_stick(&w);
    let id = identity("testsign.test.asipsante.fr.8f613149");
    let pw = Password::new(PASSWORD.into()).unwrap();
    let bytes = p12::build(&id, "Dr Marie Durand", &pw, Profile::Modern).unwrap();
    std::fs::write(stick.join("dr-durand.p12"), bytes).unwrap();
    let mut app = app(&w);
    w.key(&mut app, KeyCode::Char('a'));
    assert!(matches!(app.screen, Screen::Import(_)));
    w.key(&mut app, KeyCode::Enter); // the stick
    (app, w)
}

fn import_target() -> (App, Bench) {
    let (mut app, w) = import_file();
    w.key(&mut app, KeyCode::Enter); // its file
    w.type_text(&mut app, PASSWORD);
    w.key(&mut app, KeyCode::Enter); // open: what is inside
    w.key(&mut app, KeyCode::Enter); // the account step
    (app, w)
}

fn crl() -> (App, Bench) {
    let w = full();
    let env = certsafe::domain::crl::Env::new(&w.env.home, &w.env.config);
    let mut cas = Vec::new();
    for ca in CAS {
        cas.extend(certsafe::domain::trust::read_certs(
            &std::fs::read(fixture(ca)).unwrap(),
        ));
    }
    env.ca_store().import(&cas).unwrap();
    for stem in [
        "testsign.test.asipsante.fr.8f613149",
        "asipsign.preuve.henix.asipsante.fr.c1079cb0",
    ] {
        let found =
            certsafe::domain::correspondent::examine(&env, &fixture(&format!("{stem}.pem")), now())
                .unwrap();
        let added = certsafe::domain::correspondent::add(&env, &found).unwrap();
        assert_eq!(added.len(), 1, "{stem} is a correspondent");
    }
    let mut app = app(&w);
    w.key(&mut app, KeyCode::Char('c'));
    assert!(matches!(app.screen, Screen::Crl(_)));
    (app, w)
}

/// Every screen of the guides: file name and how to get there.
type Scene = fn() -> (App, Bench);
const SCENES: [(&str, Scene); 21] = [
    ("01-home", home),
    ("02-help", help),
    ("03-account", account),
    ("04-quit", quit_box),
    ("10-backup-1-account", backup_account),
    ("11-backup-2-drive", backup_drive),
    ("12-backup-3-name", backup_name),
    ("13-backup-4-password", backup_password),
    ("14-backup-5-summary", backup_summary),
    ("15-backup-6-writing", backup_writing),
    ("16-backup-7-done", backup_done),
    ("20-restore-1-source", restore_source),
    ("21-restore-2-files", restore_files),
    ("22-restore-3-password", restore_password),
    ("23-restore-4-contents", restore_contents),
    ("24-restore-5-target", restore_target),
    ("25-restore-6-done", restore_done),
    ("30-import-1-file", import_file),
    ("31-import-2-account", import_target),
    ("40-crl", crl),
    ("41-crl-help", crl_help),
];

fn crl_help() -> (App, Bench) {
    let (mut app, w) = crl();
    w.key(&mut app, KeyCode::Char('?'));
    (app, w)
}

/// The screen as text: one line per row, trailing spaces cut, the sticks'
/// folder written as [`SHOWN_MEDIA`].
fn draw(scene: Scene) -> String {
    let (app, w) = scene();
    let media = w.media.path().display().to_string();
    let mut text = String::new();
    for line in render(&app, SIZE.0, SIZE.1).lines() {
        // TestBackend writes each row as a quoted string.
        let row = line.strip_prefix('"').unwrap_or(line);
        let row = row.strip_suffix('"').unwrap_or(row);
        text.push_str(row.replace(&media, SHOWN_MEDIA).trim_end());
        text.push('\n');
    }
    text
}

#[test]
fn the_screens_in_the_docs_are_the_tui_s() {
    let _guard = LANG_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let update = std::env::var_os("UPDATE_SCREENS").is_some_and(|v| v == "1");
    let mut problems = Vec::new();
    for lang in [Lang::Fr, Lang::En] {
        i18n::set(lang);
        let dir = docs_dir().join(lang.code());
        if update {
            std::fs::create_dir_all(&dir).unwrap();
        }
        let mut drawn = Vec::new();
        for (name, scene) in SCENES {
            let text = draw(scene);
            assert_eq!(text.lines().count(), usize::from(SIZE.1), "{name}");
            assert!(
                !text.contains("/tmp/") && !text.contains("/dev/shm/"),
                "{name} ({}) shows a temporary path:\n{text}",
                lang.code()
            );
            // A date of the real clock would change the file every day.
            let today = certsafe::domain::time::date(certsafe::domain::time::now());
            assert!(
                !text.contains(&today),
                "{name} ({}) shows today's date:\n{text}",
                lang.code()
            );
            let file = dir.join(format!("{name}.txt"));
            drawn.push(file.clone());
            if update {
                std::fs::write(&file, &text).unwrap();
            } else if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
                problems.push(format!("differs or is missing: {}", file.display()));
            }
        }
        // A committed screen that is no longer drawn.
        for entry in std::fs::read_dir(&dir).into_iter().flatten() {
            let path = entry.unwrap().path();
            if !drawn.contains(&path) {
                if update {
                    std::fs::remove_file(&path).unwrap();
                } else {
                    problems.push(format!("no longer drawn: {}", path.display()));
                }
            }
        }
    }
    i18n::set(Lang::En);
    assert!(
        problems.is_empty(),
        "the screens in docs/screens are not the TUI's any more:\n  {}\n\
         Look at the change, then write them again with:\n  \
         UPDATE_SCREENS=1 cargo test --test doc_screens",
        problems.join("\n  ")
    );
}

#[test]
fn drawing_twice_gives_the_same_text() {
    let _guard = LANG_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    i18n::set(Lang::Fr);
    // The scenes with the most moving parts: clock, drives, the written file.
    for scene in [home as Scene, account, backup_done, restore_done, crl] {
        assert_eq!(draw(scene), draw(scene));
    }
    i18n::set(Lang::En);
}
