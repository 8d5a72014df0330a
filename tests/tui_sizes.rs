//! Every screen fits every size (issue 9, item 5): each screen and step
//! the `TestBackend` can reach, at 60×20 and 80×24, in English and French,
//! in colour and on a plain terminal (`TERM=vt100`, `NO_COLOR`):
//! - the hints line keeps the help and quit keys (`?`/`q`, or `F1`/`Ctrl+C`
//!   in a text field; a confirmation's own yes key under a confirmation);
//! - the messages a screen must say keep their last word (wrapping allowed);
//! - an alert pane with more than it shows carries its "… N more" marker.
#![allow(clippy::unwrap_used)]

mod tui_support;

use certsafe::i18n::{self, Lang, text};
use certsafe::tui::app::App;
use certsafe::tui::theme::Theme;
use ratatui::crossterm::event::KeyCode;
use tui_support::{LANG_LOCK, World, drive, render};

const PASSWORD: &str = "correct horse battery staple Brest 1987";
const SIZES: [(u16, u16); 2] = [(60, 20), (80, 24)];

/// What the hints line must offer.
#[derive(Clone, Copy)]
enum Keys {
    /// `?` and `q`.
    HelpQuit,
    /// `F1` and `Ctrl+C` (a text field takes letters).
    Typing,
    /// The confirmation's yes key.
    Confirm,
}

struct Scene {
    name: &'static str,
    build: fn() -> (App, World),
    keys: Keys,
    /// Locale keys of messages shown in full.
    says: &'static [&'static str],
}

fn with_stick(w: &World) {
    let stick = w.home.path().join("CLE_USB");
    std::fs::create_dir_all(&stick).unwrap();
    *w.drives.0.lock().unwrap() = vec![drive(&stick, "CLE_USB")];
}

fn keys(w: &World, app: &mut App, keys: &[KeyCode]) {
    for k in keys {
        w.key(app, *k);
    }
}

fn backup_password(w: &World) -> App {
    with_stick(w);
    let mut app = w.app();
    keys(
        w,
        &mut app,
        &[KeyCode::Char('b'), KeyCode::Enter, KeyCode::Enter],
    );
    app
}

fn restore_password(w: &World) -> App {
    let stick = w.home.path().join("CLE_USB");
    std::fs::create_dir_all(&stick).unwrap();
    let id = tui_support::identity("testsign.test.asipsante.fr.8f613149");
    let pw = certsafe::domain::secret::Password::new(PASSWORD.into()).unwrap();
    let der = certsafe::domain::p12::build(
        &id,
        "Dr Marie Durand",
        &pw,
        certsafe::domain::p12::Profile::Modern,
    )
    .unwrap();
    std::fs::write(stick.join("certsafe-Dr-Marie-Durand.p12"), der).unwrap();
    *w.drives.0.lock().unwrap() = vec![drive(&stick, "CLE_USB")];
    let mut app = w.app();
    keys(
        w,
        &mut app,
        &[KeyCode::Char('r'), KeyCode::Enter, KeyCode::Enter],
    );
    app
}

fn scenes() -> Vec<Scene> {
    vec![
        Scene {
            name: "home_empty",
            build: || {
                let w = World::empty();
                (w.app(), w)
            },
            keys: Keys::HelpQuit,
            says: &["tui.no_account"],
        },
        Scene {
            name: "home_full",
            build: || {
                let w = World::full();
                (w.app(), w)
            },
            keys: Keys::HelpQuit,
            says: &[],
        },
        Scene {
            name: "home_pane_focused",
            build: || {
                let w = World::full();
                let mut app = w.app();
                keys(&w, &mut app, &[KeyCode::Tab, KeyCode::Down]);
                (app, w)
            },
            keys: Keys::HelpQuit,
            says: &[],
        },
        Scene {
            name: "home_notice",
            build: || {
                let w = World::empty();
                let mut app = w.app();
                w.key(&mut app, KeyCode::Char('b'));
                (app, w)
            },
            keys: Keys::HelpQuit,
            says: &["tui.no_account_to_back_up"],
        },
        Scene {
            name: "help",
            build: || {
                let w = World::full();
                let mut app = w.app();
                w.key(&mut app, KeyCode::Char('?'));
                (app, w)
            },
            keys: Keys::HelpQuit,
            says: &["tui.help_footer"],
        },
        Scene {
            name: "journal",
            build: || {
                let w = World::calm();
                let mut app = w.app();
                w.key(&mut app, KeyCode::Char('e'));
                (app, w)
            },
            keys: Keys::HelpQuit,
            says: &[],
        },
        Scene {
            name: "account_screen",
            build: || {
                let w = World::full();
                let mut app = w.app();
                w.key(&mut app, KeyCode::Char('v'));
                (app, w)
            },
            keys: Keys::HelpQuit,
            says: &[],
        },
        Scene {
            name: "backup_account",
            build: || {
                let w = World::full();
                let mut app = w.app();
                keys(&w, &mut app, &[KeyCode::Char('b'), KeyCode::Esc]);
                (app, w)
            },
            keys: Keys::HelpQuit,
            says: &[],
        },
        Scene {
            name: "backup_drive",
            build: || {
                let w = World::full();
                with_stick(&w);
                let mut app = w.app();
                w.key(&mut app, KeyCode::Char('b'));
                (app, w)
            },
            keys: Keys::HelpQuit,
            says: &[],
        },
        Scene {
            name: "backup_name",
            build: || {
                let w = World::full();
                with_stick(&w);
                let mut app = w.app();
                keys(&w, &mut app, &[KeyCode::Char('b'), KeyCode::Enter]);
                (app, w)
            },
            keys: Keys::Typing,
            says: &[],
        },
        Scene {
            name: "backup_password",
            build: || {
                let w = World::full();
                let mut app = backup_password(&w);
                w.type_text(&mut app, "cabinet29");
                (app, w)
            },
            keys: Keys::Typing,
            says: &["tui.password_intro"],
        },
        Scene {
            name: "backup_summary",
            build: || {
                let w = World::full();
                let mut app = backup_password(&w);
                w.type_text(&mut app, PASSWORD);
                w.key(&mut app, KeyCode::Enter);
                w.type_text(&mut app, PASSWORD);
                w.key(&mut app, KeyCode::Enter);
                (app, w)
            },
            keys: Keys::HelpQuit,
            says: &[],
        },
        Scene {
            name: "backup_done",
            build: || {
                let w = World::full();
                let mut app = backup_password(&w);
                w.type_text(&mut app, PASSWORD);
                w.key(&mut app, KeyCode::Enter);
                w.type_text(&mut app, PASSWORD);
                keys(&w, &mut app, &[KeyCode::Enter, KeyCode::Enter]);
                (app, w)
            },
            keys: Keys::HelpQuit,
            says: &[],
        },
        Scene {
            name: "quit_box",
            build: || {
                let w = World::full();
                with_stick(&w);
                let mut app = w.app();
                keys(&w, &mut app, &[KeyCode::Char('b'), KeyCode::Char('q')]);
                (app, w)
            },
            keys: Keys::Confirm,
            says: &["tui.confirm_quit", "tui.confirm_quit_keys"],
        },
        Scene {
            name: "restore_source",
            build: || {
                let w = World::empty();
                with_stick(&w);
                let mut app = w.app();
                w.key(&mut app, KeyCode::Char('r'));
                (app, w)
            },
            keys: Keys::HelpQuit,
            says: &[],
        },
        Scene {
            name: "restore_password",
            build: || {
                let w = World::empty();
                (restore_password(&w), w)
            },
            keys: Keys::Typing,
            says: &[],
        },
        Scene {
            name: "restore_contents",
            build: || {
                let w = World::empty();
                let mut app = restore_password(&w);
                w.type_text(&mut app, PASSWORD);
                w.key(&mut app, KeyCode::Enter);
                (app, w)
            },
            keys: Keys::HelpQuit,
            says: &["tui.contents_next"],
        },
        Scene {
            name: "rename_error",
            build: || {
                let w = World::full();
                let mut app = w.app();
                w.key(&mut app, KeyCode::Char('n'));
                w.type_text(&mut app, " 😀");
                w.key(&mut app, KeyCode::Enter);
                (app, w)
            },
            keys: Keys::Typing,
            says: &["store.label_not_bmp"],
        },
        Scene {
            name: "import",
            build: || {
                let w = World::empty();
                with_stick(&w);
                let mut app = w.app();
                w.key(&mut app, KeyCode::Char('a'));
                (app, w)
            },
            keys: Keys::HelpQuit,
            says: &[],
        },
        Scene {
            name: "crl",
            build: || {
                let w = World::full();
                let mut app = w.app();
                w.key(&mut app, KeyCode::Char('c'));
                (app, w)
            },
            keys: Keys::HelpQuit,
            says: &[],
        },
    ]
}

/// Words of `s`, whitespace-normalised, without the border characters.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || "│|┌┐└┘─".contains(c))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether the last word of `message` is on `screen`.
fn last_word_shown(screen: &str, message: &str) -> bool {
    let last = words(message).pop().unwrap_or_default();
    let on_screen = words(screen);
    on_screen.contains(&last)
}

fn check(scene: &Scene, lang: Lang, plain: bool, w: u16, h: u16, failures: &mut Vec<String>) {
    let (mut app, _world) = (scene.build)();
    if plain {
        app.theme = Theme::default_theme().for_plain_terminal(false);
    }
    let screen = render(&app, w, h);
    let rows: Vec<&str> = screen.lines().collect();
    let hints = rows.last().copied().unwrap_or_default();
    let hint_words = words(hints.trim_matches('"'));
    let has = |k: &str| hint_words.iter().any(|w| w == k);
    let what = format!(
        "{} {} {w}x{h}{}",
        scene.name,
        lang.code(),
        if plain { " plain" } else { "" }
    );
    let ok = match scene.keys {
        Keys::HelpQuit => has("?") && has("q"),
        Keys::Typing => has("F1") && has("Ctrl+C"),
        Keys::Confirm => has(&text("tui.keyname_yes")),
    };
    if !ok {
        failures.push(format!("{what}: hints line lacks its keys:\n{hints}"));
    }
    for key in scene.says {
        if !last_word_shown(&screen, &text(key)) {
            failures.push(format!("{what}: `{key}` cut:\n{screen}"));
        }
    }
}

#[test]
fn every_screen_fits_60x20_and_80x24() {
    let _guard = LANG_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut failures = Vec::new();
    for lang in [Lang::En, Lang::Fr] {
        i18n::set(lang);
        for scene in &scenes() {
            for (w, h) in SIZES {
                for plain in [false, true] {
                    check(scene, lang, plain, w, h, &mut failures);
                }
            }
        }
    }
    i18n::set(Lang::En);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A full home at 80×24: the alerts that do not fit are counted under
/// their pane, and scrolling the focused pane shows the next ones.
#[test]
fn panes_count_what_they_hide_and_scroll() {
    let _guard = LANG_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    i18n::set(Lang::En);
    let w = World::full();
    let mut app = w.app();
    let before = render(&app, 80, 24);
    assert!(before.contains("… and"), "no marker:\n{before}");
    w.key(&mut app, KeyCode::Tab);
    assert_eq!(
        app.panes.focus,
        Some(certsafe::domain::status::Pane::Backup)
    );
    w.key(&mut app, KeyCode::PageDown);
    assert!(app.panes.scroll(certsafe::domain::status::Pane::Backup) > 0);
    let after = render(&app, 80, 24);
    assert_ne!(before, after);
    // The list keeps its selection: the arrows went to the pane.
    assert_eq!(app.selected, 0);
    w.key(&mut app, KeyCode::Esc);
    assert_eq!(app.panes.focus, None);
    w.key(&mut app, KeyCode::Down);
    assert_eq!(app.selected, 1);
}

/// At 200×60 the panes are as tall as their text: no pane has a blank
/// line inside its border.
#[test]
fn panes_fit_their_text_on_a_big_terminal() {
    let _guard = LANG_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    i18n::set(Lang::Fr);
    let w = World::full();
    let app = w.app();
    let screen = render(&app, 200, 60);
    i18n::set(Lang::En);
    let blank_inside = screen
        .lines()
        .filter(|l| l.contains("│ ") || l.contains("│"))
        .filter(|l| {
            // A row of two panes: `│…││…│`; blank when both halves are blank.
            let inner: String = l.chars().filter(|c| *c != '│' && *c != '"').collect();
            inner.trim().is_empty()
        })
        .count();
    assert_eq!(blank_inside, 0, "{screen}");
    assert!(
        !screen.contains("… et"),
        "everything fits at 200×60:\n{screen}"
    );
}
