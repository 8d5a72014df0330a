//! The CRL screen's hints line at 80×24, in both languages: u, i, a d l,
//! Esc, ? and q all show, so a doctor learns from the screen itself how to
//! update, trust the IGC-Santé CAs and manage correspondents.
#![allow(clippy::unwrap_used)]

mod tui_support;

use certsafe::i18n::{self, Lang};
use certsafe::tui::app::Screen;
use certsafe::tui::widgets::key_name;
use ratatui::crossterm::event::KeyCode;
use tui_support::{LANG_LOCK, World, render};

#[test]
fn every_key_of_the_crl_screen_shows_at_80_columns() {
    let _guard = LANG_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for lang in [Lang::Fr, Lang::En] {
        i18n::set(lang);
        let w = World::calm();
        let mut app = w.app();
        w.key(&mut app, KeyCode::Char('c'));
        assert!(matches!(app.screen, Screen::Crl(_)));
        let text = render(&app, 80, 24);
        let last = text.lines().last().unwrap().trim_matches('"');
        // `key label · key label`: the keys are what precedes each label.
        let hints: Vec<&str> = last.trim().split(" · ").collect();
        let esc = key_name("Esc");
        for key in ["u", "i", "a d l", esc.as_str(), "?", "q"] {
            assert!(
                hints
                    .iter()
                    .any(|h| h.strip_prefix(key).is_some_and(|r| r.starts_with(' '))),
                "{} lacks `{key}`: {last}",
                lang.code()
            );
        }
    }
    i18n::set(Lang::En);
}
