//! The TUI CRL screen with a delta CRL: after `u`, the CA's entry shows the
//! delta's state, number and base number (`TestBackend` snapshots, both
//! languages, both sizes). The screens without a delta are those of
//! `tests/tui_crl.rs`, unchanged.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::VecDeque;
use std::sync::Arc;

use certsafe::i18n::{self, Lang};
use certsafe::tui::app::{App, Env, Msg, execute};
use certsafe::tui::theme::Theme;
use common::Alg;
use common::crl::{CertSpec, CrlSpec, Revoked, World, build_cert_with, cdp_value, crl, now};
use common::http::{Reply, Server};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// CRL bodies by path.
type Bodies = Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

fn pump(env: &Env, app: &mut App, msg: Msg) {
    let mut queue = VecDeque::from([msg]);
    while let Some(m) = queue.pop_front() {
        if let Some(effect) = app.update(m) {
            let out = std::cell::RefCell::new(Vec::new());
            execute(env, effect, &|m| out.borrow_mut().push(m));
            queue.extend(out.into_inner());
        }
    }
}

/// A world whose intermediate publishes base CRL 10 and delta 11 (the leaf
/// revoked only in the delta) at `server`, the TUI loaded, `u` pressed.
fn scene(lang: Lang) -> (App, World, Server) {
    i18n::set(lang);
    let world = World::new(Alg::Ec, &[]);
    let bodies: Bodies = Arc::default();
    let b2 = bodies.clone();
    let server = Server::start(move |seen| {
        b2.lock()
            .unwrap()
            .iter()
            .find(|(p, _)| seen.target == *p)
            .map_or(Reply::Status(404), |(_, body)| Reply::crl(body.clone()))
    });
    let key = common::key(Alg::Ec);
    let leaf = build_cert_with(
        &CertSpec::leaf("Dr Delta", &key, (&world.inter, &world.inter_key))
            .with_cdp(&[&server.url("/base.crl")]),
        &[("2.5.29.46", cdp_value(&[&server.url("/delta.crl")]))],
    );
    let t = now();
    let delta = CrlSpec {
        this_update: t - 600,
        next_update: Some(t + 2 * 86_400),
        number: Some(11),
        revoked: vec![Revoked::cert(&leaf, t - 900, Some(1))],
        extensions: vec![common::crl::delta_indicator(10)],
    };
    *bodies.lock().unwrap() = vec![
        (
            "/base.crl".into(),
            crl(&CrlSpec::fresh(10), &world.inter, &world.inter_key),
        ),
        (
            "/delta.crl".into(),
            crl(&delta, &world.inter, &world.inter_key),
        ),
    ];
    world.trust(&[&world.inter]);
    world.correspondent(&leaf);
    let env = Env::new(world.home.clone(), world.config.clone());
    let mut app = App::new(Theme::default_theme(), certsafe::domain::time::now());
    pump(&env, &mut app, Msg::Start);
    pump(
        &env,
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::NONE)),
    );
    (app, world, server)
}

fn draw(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| certsafe::tui::view(f, app)).unwrap();
    t.backend().to_string()
}

#[test]
fn crl_screen_shows_the_delta() {
    for lang in [Lang::En, Lang::Fr] {
        let (app, _world, _server) = scene(lang);
        // The data, whatever the words: the delta's number over its base,
        // and the correspondent revoked by the delta alone.
        let text = draw(&app, 120, 40);
        assert!(
            text.lines()
                .any(|l| l.contains(" 0b ") && l.contains(" 0a")),
            "{text}"
        );
        assert!(text.contains("Dr Delta"), "{text}");
        for (w, h) in [(80u16, 24u16), (120, 40)] {
            let text = draw(&app, w, h);
            let mut settings = insta::Settings::clone_current();
            settings.set_snapshot_suffix(format!("{}_{w}x{h}", lang.code()));
            settings.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[DATE]");
            settings.add_filter(r"127\.0\.0\.1:\d{4,5}", "[SERVER]");
            settings.add_filter(r"\d{4}-\d{2}-\d{2}", "[DAY]");
            settings.bind(|| insta::assert_snapshot!("crl_delta", text));
        }
    }
    i18n::set(Lang::En);
}
