//! The CRL screen and panes of the TUI, against a real HTTP server on
//! 127.0.0.1: `u` on the home screen updates the CRLs with live progress,
//! then the CRLs, the correspondents and the home panes say what they are.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::VecDeque;
use std::sync::Arc;

use certsafe::domain::crl::CrlState;
use certsafe::domain::crl::check::CertState;
use certsafe::tui::app::{App, Env, Msg, Screen, execute};
use certsafe::tui::theme::Theme;
use common::Alg;
use common::crl::{CrlSpec, Revoked, World, crl};
use common::http::{Reply, Server};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The tests here read and switch the process-wide language: one at a time.
static LANG_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// CRLs a test server publishes: (path, body).
type Published = Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

fn pump(env: &Env, app: &mut App, msg: Msg, progress_seen: &mut usize) {
    let mut queue = VecDeque::from([msg]);
    while let Some(m) = queue.pop_front() {
        if matches!(m, Msg::CrlProgress(_)) {
            *progress_seen += 1;
        }
        if let Some(effect) = app.update(m) {
            let out = std::cell::RefCell::new(Vec::new());
            execute(env, effect, &|m| out.borrow_mut().push(m));
            queue.extend(out.into_inner());
        }
    }
}

fn screen(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(100, 30)).unwrap();
    t.draw(|f| certsafe::tui::view(f, app)).unwrap();
    t.backend().to_string()
}

/// A server publishing CRLs at paths a test sets.
struct Publisher {
    server: Server,
    crls: Published,
}

impl Publisher {
    fn start() -> Self {
        let crls: Published = Arc::default();
        let published = crls.clone();
        let server = Server::start(move |seen| {
            let crls = published.lock().unwrap();
            crls.iter()
                .find(|(p, _)| seen.target == *p)
                .map_or(Reply::Status(404), |(_, body)| Reply::crl(body.clone()))
        });
        Self { server, crls }
    }

    /// Publishes the root's CRL and an intermediate CRL (number `number`)
    /// revoking `revoked` since yesterday, for key compromise.
    fn publish(&self, world: &World, revoked: &openssl::x509::X509, number: u64) {
        let yesterday = common::crl::now() - 86_400;
        let inter =
            CrlSpec::fresh(number).revoking(vec![Revoked::cert(revoked, yesterday, Some(1))]);
        *self.crls.lock().unwrap() = vec![
            (
                "/root.crl".into(),
                crl(&CrlSpec::fresh(1), &world.root, &world.root_key),
            ),
            (
                "/inter.crl".into(),
                crl(&inter, &world.inter, &world.inter_key),
            ),
        ];
    }
}

/// The TUI on `world`'s home, loaded.
fn loaded_app(world: &World, progress: &mut usize) -> (Env, App) {
    let env = Env::new(world.home.clone(), world.config.clone());
    let mut app = App::new(Theme::default_theme(), certsafe::domain::time::now());
    pump(&env, &mut app, Msg::Start, progress);
    (env, app)
}

/// Presses a key.
fn press(env: &Env, app: &mut App, code: KeyCode, progress: &mut usize) {
    pump(
        env,
        app,
        Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)),
        progress,
    );
}

#[test]
fn u_updates_the_crls_and_the_screens_show_revocation() {
    let _lock = LANG_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    certsafe::i18n::set(certsafe::i18n::Lang::En);
    let publisher = Publisher::start();
    let root_url = publisher.server.url("/root.crl");
    let inter_url = publisher.server.url("/inter.crl");
    let world = World::new(Alg::Ec, &[&root_url]);
    let good = world.leaf("Dr Bon Correspondant", Alg::Ec, &[&inter_url]);
    let revoked = world.leaf("Dr Revoque", Alg::Ec, &[&inter_url]);
    publisher.publish(&world, &revoked, 1);
    world.trust(&[&world.root, &world.inter]);
    world.correspondent(&good);
    world.correspondent(&revoked);
    let mut progress = 0;
    let (env, mut app) = loaded_app(&world, &mut progress);
    // Before the update: the CRL pane says they were never fetched.
    assert!(
        app.data
            .as_ref()
            .unwrap()
            .status
            .alerts
            .iter()
            .any(|a| a.code.as_str().starts_with("crl_")),
        "{:?}",
        app.data
    );

    press(&env, &mut app, KeyCode::Char('u'), &mut progress);
    assert!(
        progress >= 4,
        "live progress was reported ({progress} events)"
    );
    let Screen::Crl(s) = &app.screen else {
        panic!("on the CRL screen")
    };
    assert!(!s.updating);
    let entries = s.entries.as_ref().unwrap();
    assert_eq!(entries.len(), 2);
    assert!(
        entries.iter().all(|e| e.state == CrlState::Fresh),
        "{entries:?}"
    );
    let states: Vec<_> = s
        .correspondents
        .iter()
        .map(|c| (c.name.clone(), c.state))
        .collect();
    assert!(
        states.contains(&("Dr Revoque".into(), CertState::Revoked)),
        "{states:?}"
    );
    assert!(
        states.contains(&("Dr Bon Correspondant".into(), CertState::Good)),
        "{states:?}"
    );
    let text = screen(&app);
    assert!(text.contains("CRL TEST INTERMEDIATE — fresh"), "{text}");
    assert!(
        text.contains("Dr Revoque") && text.contains("revoked on"),
        "{text}"
    );
    assert!(
        text.contains("[CRITICAL]") && text.contains("[OK]"),
        "{text}"
    );
    // Both CRLs were fetched from the server.
    let paths: Vec<String> = publisher
        .server
        .seen()
        .iter()
        .map(|s| s.target.clone())
        .collect();
    assert!(
        paths.contains(&"/root.crl".to_string()) && paths.contains(&"/inter.crl".to_string()),
        "{paths:?}"
    );

    // Back home: the revocation pane names the revoked correspondent; no CRL alert remains.
    press(&env, &mut app, KeyCode::Esc, &mut progress);
    assert!(matches!(app.screen, Screen::Home));
    let alerts = &app.data.as_ref().unwrap().status.alerts;
    assert!(
        !alerts.iter().any(|a| a.code.as_str().starts_with("crl_")),
        "{alerts:?}"
    );
    let home = screen(&app);
    assert!(home.contains("Dr Revoque"), "{home}");
}

/// Snapshots of the CRL screen (dates, ports and temp paths filtered), both
/// languages, both sizes: nothing to watch, updated with a revocation, and a
/// server that answers 404.
#[test]
fn crl_screen_snapshots() {
    use certsafe::i18n::{self, Lang};
    let _lock = LANG_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let server = Server::start(|seen| {
        if seen.target == "/gone.crl" {
            Reply::Status(404)
        } else {
            Reply::Status(500)
        }
    });
    for (name, setup) in [("crl_empty", 0), ("crl_updated", 1), ("crl_unreachable", 2)] {
        for lang in [Lang::En, Lang::Fr] {
            i18n::set(lang);
            let publisher = Publisher::start();
            let root_url = if setup == 2 {
                server.url("/gone.crl")
            } else {
                publisher.server.url("/root.crl")
            };
            let world = World::new(Alg::Ec, &[&root_url]);
            if setup > 0 {
                let revoked = world.leaf(
                    "Dr Revoque",
                    Alg::Ec,
                    &[&publisher.server.url("/inter.crl")],
                );
                publisher.publish(&world, &revoked, 7);
                world.trust(&[&world.root, &world.inter]);
                world.correspondent(&revoked);
            }
            let mut progress = 0;
            let (env, mut app) = loaded_app(&world, &mut progress);
            press(&env, &mut app, KeyCode::Char('u'), &mut progress);
            for (w, h) in [(80u16, 24u16), (120, 40)] {
                let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
                t.draw(|f| certsafe::tui::view(f, &app)).unwrap();
                let text = t.backend().to_string();
                let mut settings = insta::Settings::clone_current();
                settings.set_snapshot_suffix(format!("{}_{w}x{h}", lang.code()));
                settings.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[DATE]");
                settings.add_filter(r"127\.0\.0\.1:\d{4,5}", "[SERVER]");
                settings.add_filter(r"\d{4}-\d{2}-\d{2}", "[DAY]");
                settings.bind(|| insta::assert_snapshot!(name, text));
            }
        }
    }
    i18n::set(Lang::En);
}
