//! The journal popup of the TUI: `e` on the home screen shows the last
//! journal entries of the selected account (and only its own), any key
//! closes it.
#![allow(clippy::unwrap_used)]

mod tui_support;

use certsafe::tui::app::Overlay;
use ratatui::crossterm::event::KeyCode;
use tui_support::World;

#[test]
fn the_journal_popup_shows_the_selected_accounts_last_entries() {
    let _lang = tui_support::LANG_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    certsafe::i18n::set(certsafe::i18n::Lang::En);
    let w = World::empty();
    let first = w.add("testsign.test.asipsante.fr.8f613149", "Alpha", None, false);
    let second = w.add(
        "asipsign.preuve.henix.asipsante.fr.c1079cb0",
        "Beta",
        None,
        false,
    );
    let store = w.store();
    for n in 0..12 {
        store.rename(&second, &format!("Beta {n:02}")).unwrap();
    }
    let mut app = w.app();
    // Accounts are listed by label: Alpha, then Beta 11.
    w.key(&mut app, KeyCode::Char('e'));
    assert_eq!(app.overlay, Some(Overlay::Journal));
    let (title, lines) = certsafe::tui::home::journal_popup(&app).unwrap();
    assert!(title.contains("Alpha"));
    let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
    // One entry (the import) + a blank line + the footer naming the account.
    assert_eq!(text.len(), 3, "{text:#?}");
    assert!(text[0].contains("Alpha") && !text[0].contains("Beta"));
    assert!(text[2].contains(&first));
    let screen = tui_support::render(&app, 80, 24);
    assert!(screen.contains("Alpha"), "{screen}");
    // Any key closes it.
    w.key(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay, None);

    w.key(&mut app, KeyCode::Down);
    w.key(&mut app, KeyCode::Char('e'));
    let (title, lines) = certsafe::tui::home::journal_popup(&app).unwrap();
    assert!(title.contains("Beta 11"));
    let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
    // The last 8 of its 13 entries, oldest first: renames 04 → 11.
    assert_eq!(text.len(), 8 + 2, "{text:#?}");
    assert!(
        text[0].contains("Beta 03") && text[0].contains("Beta 04"),
        "{text:#?}"
    );
    assert!(text[7].contains("Beta 10") && text[7].contains("Beta 11"));
    assert!(text.iter().all(|l| !l.contains("Alpha")));
    assert!(text[9].contains(&second));
    for (w_, h) in [(80, 24), (120, 40)] {
        let screen = tui_support::render(&app, w_, h);
        assert!(screen.contains("Beta 11"), "{screen}");
    }
}
