//! The account screen of the TUI (`a` on the home screen): the history of
//! identities with their fingerprints, what the last backup lacks, and
//! forgetting an earlier identity (refused for the current one, done only
//! after `o`/`y`). Assertions read the store on disk and the screen's data;
//! the snapshots show the screen in both languages.
#![allow(clippy::unwrap_used)]

mod tui_support;

use certsafe::domain::status::Level;
use certsafe::domain::store::BackupState;
use certsafe::i18n::{self, Lang};
use certsafe::tui::account_screen::{AccountScreen, Mode};
use certsafe::tui::app::{App, Screen};
use ratatui::crossterm::event::KeyCode;
use tui_support::{LANG_LOCK, World, identity, now, render};

const FIRST: &str = "testsign.test.asipsante.fr.8f613149";
const SECOND: &str = "asipsign.preuve.henix.asipsante.fr.c1079cb0";
const THIRD: &str = "mock.platines.henix.asipsante.fr.a78637e7";

/// An account backed up with its first identity, then renewed `renewals`
/// times (the store's renewal; the holder check is the CLI's business).
/// Returns the world, the account ID and the fingerprints, oldest first.
fn renewed(renewals: usize) -> (World, String, Vec<String>) {
    let w = World::empty();
    let id = w.add(FIRST, "Dr Marie Durand", Some(5), false);
    let store = w.store();
    let mut fps = vec![identity(FIRST).fingerprint()];
    for (n, stem) in [SECOND, THIRD].iter().take(renewals).enumerate() {
        let account = store.get(&id).unwrap();
        let days = i64::try_from(3 - n).unwrap();
        let (_, changed) = store
            .renew(
                &account,
                &identity(stem),
                now() - time::Duration::days(days),
            )
            .unwrap();
        assert!(changed);
        fps.push(identity(stem).fingerprint());
    }
    (w, id, fps)
}

fn screen(app: &App) -> &AccountScreen {
    match &app.screen {
        Screen::Details(s) => s,
        _ => panic!("not on the account screen"),
    }
}

/// Fingerprints of the earlier identities on disk (account.json and folders).
fn history_on_disk(w: &World, id: &str) -> Vec<String> {
    let account = w.store().get(id).unwrap();
    let listed: Vec<String> = account
        .meta
        .history
        .iter()
        .map(|h| h.fingerprint.clone())
        .collect();
    for fp in &listed {
        assert!(account.history_dir(fp).join("key.pem").is_file());
    }
    let folders = std::fs::read_dir(account.dir.join("history")).map_or(0, Iterator::count);
    assert_eq!(folders, listed.len(), "history folders vs account.json");
    listed
}

fn open_account(w: &World) -> App {
    let mut app = w.app();
    w.key(&mut app, KeyCode::Char('v'));
    assert!(matches!(app.screen, Screen::Details(_)));
    app
}

#[test]
fn a_renewal_makes_the_backup_outdated_and_the_screen_names_what_it_lacks() {
    let (w, id, fps) = renewed(1);
    let app = w.app();
    let data = app.data.as_ref().unwrap();
    assert_eq!(data.accounts[0].state, BackupState::Outdated);
    assert!(
        data.status
            .alerts
            .iter()
            .any(|a| a.code == "backup_outdated" && a.severity == Level::Critical),
        "{:?}",
        data.status.alerts
    );

    let app = open_account(&w);
    let view = screen(&app).view.as_ref().unwrap();
    assert_eq!(view.id, id);
    assert_eq!(view.state, BackupState::Outdated);
    let listed: Vec<&str> = view
        .identities
        .iter()
        .map(|i| i.fingerprint.as_str())
        .collect();
    // The current identity first, then the earlier one.
    assert_eq!(listed, [fps[1].as_str(), fps[0].as_str()]);
    assert!(view.identities[0].current && !view.identities[1].current);
    assert!(view.identities[1].superseded_at.is_some());
    // The backup carried the first identity only.
    let missing: Vec<&str> = view
        .missing()
        .iter()
        .map(|i| i.fingerprint.as_str())
        .collect();
    assert_eq!(missing, [fps[1].as_str()]);
    // Expired or not, as the certificates say at the tests' date.
    for row in &view.identities {
        assert_eq!(row.expired, row.not_after < now(), "{}", row.fingerprint);
    }
    // The journal shows the import and the renewal of this account.
    let codes: Vec<&str> = view.journal.iter().map(|e| e.event.code()).collect();
    assert!(codes.contains(&"renewal"), "{codes:?}");
}

#[test]
fn the_screen_lists_the_history_at_every_size_and_language() {
    let _lang = LANG_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (w, _, fps) = renewed(2);
    for lang in [Lang::En, Lang::Fr] {
        i18n::set(lang);
        let mut app = open_account(&w);
        for (width, height) in [(80, 24), (60, 20)] {
            let text = render(&app, width, height);
            // The first identity row is in view on the first page.
            assert!(text.contains(&fps[2][..16]), "{width}x{height}\n{text}");
        }
        // Going down the history keeps the selected identity in view.
        w.key(&mut app, KeyCode::Down);
        w.key(&mut app, KeyCode::Down);
        assert_eq!(screen(&app).selected, 2);
        let last = screen(&app).view.as_ref().unwrap().identities[2]
            .fingerprint
            .clone();
        assert!(last == fps[0] || last == fps[1]);
        for (width, height) in [(80, 24), (60, 20)] {
            let text = render(&app, width, height);
            assert!(
                text.contains(&format!("> {}", &last[..16])),
                "{width}x{height}\n{text}"
            );
        }
        // Scrolling on shows the journal's end.
        for _ in 0..30 {
            w.key(&mut app, KeyCode::Down);
        }
        assert_eq!(screen(&app).selected, 2);
        for (width, height) in [(80, 24), (60, 20)] {
            let text = render(&app, width, height);
            // The details (the current fingerprint, short) have scrolled
            // away; the last journal entry (the second renewal, naming the
            // current certificate in full) shows.
            let short = &fps[2][..16];
            assert!(
                text.lines()
                    .all(|l| !l.contains(short) || l.contains(&fps[2][..40]) || l.contains('→')),
                "{width}x{height}\n{text}"
            );
            assert!(text.contains(&fps[2][..40]), "{width}x{height}\n{text}");
        }
        // Up comes back at once (no scrolling past the end to undo).
        w.key(&mut app, KeyCode::Home);
        assert_eq!(screen(&app).scroll, 0);
        w.key(&mut app, KeyCode::Esc);
        assert!(matches!(app.screen, Screen::Home));
    }
    i18n::set(Lang::En);
}

#[test]
fn the_current_identity_cannot_be_forgotten() {
    let (w, id, fps) = renewed(1);
    let mut app = open_account(&w);
    assert_eq!(screen(&app).selected, 0);
    w.key(&mut app, KeyCode::Char('f'));
    let s = screen(&app);
    assert_eq!(s.mode, Mode::Browse);
    assert_eq!(s.message.as_ref().map(|m| m.0), Some(Level::Warning));
    w.key(&mut app, KeyCode::Char('o'));
    assert_eq!(history_on_disk(&w, &id), [fps[0].clone()]);
    assert_eq!(w.store().get(&id).unwrap().meta.fingerprint, fps[1]);
}

#[test]
fn an_earlier_identity_is_forgotten_only_after_o_or_y() {
    let (w, id, fps) = renewed(2);
    let mut app = open_account(&w);
    // The current identity (fps[2]) first, then the earlier ones by start
    // of validity, newest first.
    let order: Vec<String> = screen(&app)
        .view
        .as_ref()
        .unwrap()
        .identities
        .iter()
        .map(|i| i.fingerprint.clone())
        .collect();
    assert_eq!(order[0], fps[2]);
    let mut earlier = order[1..].to_vec();
    earlier.sort();
    let mut both = fps[..2].to_vec();
    both.sort();
    assert_eq!(earlier, both);
    let (target, other) = (order[1].clone(), order[2].clone());
    w.key(&mut app, KeyCode::Down);
    assert_eq!(screen(&app).selected, 1);
    let mut expected = history_on_disk(&w, &id);
    expected.sort();
    // Esc, Enter, n, q and ? keep it, and the app stays open.
    for code in [
        KeyCode::Esc,
        KeyCode::Enter,
        KeyCode::Char('n'),
        KeyCode::Char('q'),
        KeyCode::Char('?'),
        KeyCode::Char('f'),
    ] {
        w.key(&mut app, KeyCode::Char('f'));
        let Mode::Confirm(forget) = &screen(&app).mode else {
            panic!("no confirmation");
        };
        assert_eq!(forget.fingerprint, target);
        w.key(&mut app, code);
        assert!(!app.quit, "{code:?} quit");
        assert_eq!(app.overlay, None, "{code:?}");
        assert_eq!(screen(&app).mode, Mode::Browse, "{code:?}");
        let mut now_listed = history_on_disk(&w, &id);
        now_listed.sort();
        assert_eq!(now_listed, expected, "{code:?}");
    }
    // `o` forgets it.
    w.key(&mut app, KeyCode::Char('f'));
    w.key(&mut app, KeyCode::Char('o'));
    assert_eq!(history_on_disk(&w, &id), std::slice::from_ref(&other));
    let s = screen(&app);
    assert_eq!(s.mode, Mode::Browse);
    assert_eq!(s.message.as_ref().map(|m| m.0), Some(Level::Ok));
    let listed: Vec<&str> = s
        .view
        .as_ref()
        .unwrap()
        .identities
        .iter()
        .map(|i| i.fingerprint.as_str())
        .collect();
    assert_eq!(listed, [fps[2].as_str(), other.as_str()]);
    // The journal has it, with the fingerprint.
    let journal = &s.view.as_ref().unwrap().journal;
    let last = journal.last().unwrap().to_json();
    assert_eq!(last["event"], "identity_forgotten");
    assert_eq!(last["fingerprint"], target.as_str());

    // `y` forgets the other one (selected: the last row).
    w.key(&mut app, KeyCode::Down);
    assert_eq!(screen(&app).selected, 1);
    w.key(&mut app, KeyCode::Char('f'));
    w.key(&mut app, KeyCode::Char('y'));
    assert!(history_on_disk(&w, &id).is_empty());
    let account = w.store().get(&id).unwrap();
    assert_eq!(account.meta.fingerprint, fps[2]);
    assert!(account.identity().unwrap().key_matches());
    assert_eq!(screen(&app).selected, 0);
}

/// Snapshots of the screen in each language at 80×24 and 60×20.
fn snap(name: &str, scene: impl Fn(&World, &mut App)) {
    let _guard = LANG_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for lang in [Lang::En, Lang::Fr] {
        i18n::set(lang);
        let (w, _, _) = renewed(2);
        let mut app = open_account(&w);
        scene(&w, &mut app);
        for (width, height) in [(80, 24), (60, 20)] {
            let text = render(&app, width, height);
            let mut settings = insta::Settings::clone_current();
            settings.set_snapshot_suffix(format!("{}_{width}x{height}", lang.code()));
            // Journal entries carry the real date.
            settings.add_filter(
                &certsafe::domain::time::date(time::OffsetDateTime::now_utc()),
                "[TODAY]   ",
            );
            settings.bind(|| insta::assert_snapshot!(name, text));
        }
    }
    i18n::set(Lang::En);
}

#[test]
fn snapshot_account_screen() {
    snap("account", |_, _| {});
}

#[test]
fn snapshot_account_screen_scrolled() {
    snap("account_scrolled", |w, app| {
        for _ in 0..8 {
            w.key(app, KeyCode::Down);
        }
    });
}

#[test]
fn snapshot_account_forget_confirmation() {
    snap("account_confirm_forget", |w, app| {
        w.key(app, KeyCode::Down);
        w.key(app, KeyCode::Char('f'));
    });
}

#[test]
fn snapshot_account_forget_current_refused() {
    snap("account_forget_current", |w, app| {
        w.key(app, KeyCode::Char('f'));
    });
}
