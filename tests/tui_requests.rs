//! Worker answers are tied to the request that started them (a stale answer
//! is dropped), and the clock comes with the tick.
#![allow(clippy::unwrap_used)]

mod tui_support;

use std::cell::RefCell;

use certsafe::tui::app::{App, Effect, Load, Msg, Screen, execute};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use time::Duration;
use tui_support::World;

fn key(app: &mut App, code: KeyCode) -> Option<Effect> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// Runs `effect` now and keeps its answers for later.
fn answers(w: &World, effect: Effect) -> Vec<Msg> {
    let out = RefCell::new(Vec::new());
    execute(&w.env, effect, &|m| out.borrow_mut().push(m));
    out.into_inner()
}

fn account_count(app: &App) -> usize {
    app.data.as_ref().map_or(0, |d| d.accounts.len())
}

#[test]
fn a_reload_overtaken_by_a_later_one_is_dropped() {
    let w = World::calm();
    let mut app = w.app();
    assert_eq!(account_count(&app), 1);

    // First reload: its answer is made while the home holds one account.
    let first = key(&mut app, KeyCode::Char('l')).unwrap();
    assert!(matches!(first, Effect::Load(_, Load::Home)));
    let stale = answers(&w, first);
    // An account arrives, and the user reloads again.
    w.add(
        "asipsign.preuve.henix.asipsante.fr.c1079cb0",
        "Cabinet du Port",
        None,
        false,
    );
    let second = key(&mut app, KeyCode::Char('l')).unwrap();
    let fresh = answers(&w, second);

    // The later answer comes back first, the earlier one after it.
    for m in fresh {
        assert!(app.update(m).is_none());
    }
    assert_eq!(account_count(&app), 2);
    for m in stale {
        assert!(matches!(m, Msg::HomeLoaded(..)));
        assert!(app.update(m).is_none());
    }
    assert_eq!(account_count(&app), 2, "the stale answer was dropped");
}

#[test]
fn a_crl_list_for_a_screen_left_is_dropped() {
    let w = World::calm();
    let mut app = w.app();

    let first = key(&mut app, KeyCode::Char('c')).unwrap();
    assert!(matches!(first, Effect::Load(_, Load::Crls)));
    let stale = answers(&w, first);
    // The user leaves the CRL screen before the list comes back...
    let reload = key(&mut app, KeyCode::Esc).unwrap();
    assert!(matches!(reload, Effect::Load(_, Load::Home)));
    assert!(matches!(app.screen, Screen::Home));
    // ...and comes back to it.
    let second = key(&mut app, KeyCode::Char('c')).unwrap();
    for m in stale {
        assert!(matches!(m, Msg::CrlsLoaded(..)));
        app.update(m);
    }
    let Screen::Crl(screen) = &app.screen else {
        panic!("not on the CRL screen");
    };
    assert!(
        screen.entries.is_none(),
        "still loading: the old list was dropped"
    );

    for m in answers(&w, second) {
        app.update(m);
    }
    let Screen::Crl(screen) = &app.screen else {
        panic!("not on the CRL screen");
    };
    assert!(
        screen.entries.is_some(),
        "the answer to the latest request is shown"
    );
}

#[test]
fn the_tick_brings_the_time() {
    let w = World::calm();
    let mut app = w.app();
    assert_eq!(app.now, tui_support::now());
    let later = tui_support::now() + Duration::days(40);
    app.update(Msg::Tick(later));
    assert_eq!(app.now, later);
    assert_eq!(app.ticks, 1);
}

/// The TUI's CRL update and IGC-Santé trust get their fetcher from the
/// environment's factory (the `Fetcher` seam), with the policy's limits,
/// and a failure comes back typed.
#[test]
fn the_tui_fetches_through_the_environment_factory() {
    use certsafe::app::Error;
    use certsafe::domain::crl::fetch::FetchError;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let mut w = World::calm();
    let asked = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&asked);
    w.env = w.env.clone().with_fetchers(Arc::new(move |limits| {
        seen.fetch_add(1, Ordering::SeqCst);
        Err(FetchError::TooLarge {
            url: "seam".into(),
            max: limits.max_bytes,
        })
    }));
    let mut app = w.app();

    let update = key(&mut app, KeyCode::Char('u')).unwrap();
    assert!(matches!(update, Effect::UpdateCrls(false)));
    let out = answers(&w, update);
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert!(
        out.iter().any(|m| matches!(
            m,
            Msg::CrlUpdated(Err(Error::Fetch(FetchError::TooLarge { url, .. }))) if url == "seam"
        )),
        "the factory's error comes back typed"
    );

    let trust = Effect::TrustIgc(certsafe::domain::igc::Hierarchy::Test);
    let out = answers(&w, trust);
    assert_eq!(asked.load(Ordering::SeqCst), 2);
    let cap = certsafe::domain::igc::MAX_DOWNLOAD;
    assert!(
        out.iter().any(|m| matches!(
            m,
            Msg::IgcTrusted(Err(Error::Fetch(FetchError::TooLarge { max, .. }))) if *max <= cap
        )),
        "IGC downloads keep their own cap"
    );
}
