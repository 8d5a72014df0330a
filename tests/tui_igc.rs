//! The TUI's "trust IGC-Santé" (`i` on the CRL screen): a choice between
//! production and TEST, then the same use case as `ca import --igc-sante`,
//! against a local server standing in as the HTTP proxy.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeSet, VecDeque};

use certsafe::domain::home::Home;
use certsafe::domain::status::Level;
use certsafe::tui::app::{App, Env, Msg, Screen, execute};
use certsafe::tui::crl::IgcStep;
use certsafe::tui::theme::Theme;
use common::fixtures;
use common::http::{Reply, Server};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const ROOT_FP: &str = "01325aeb193871eec90fa89556804e4185cb362e0ca87a3d79939c71186da805";
const INTER_FP: &str = "dc528e3788691b3f7950164076f95b02c64334c68662bdede5750b4e0e5338f6";

fn pump(env: &Env, app: &mut App, msg: Msg) -> usize {
    let mut effects = 0;
    let mut queue = VecDeque::from([msg]);
    while let Some(m) = queue.pop_front() {
        if let Some(effect) = app.update(m) {
            effects += 1;
            let out = std::cell::RefCell::new(Vec::new());
            execute(env, effect, &|m| out.borrow_mut().push(m));
            queue.extend(out.into_inner());
        }
    }
    effects
}

fn press(env: &Env, app: &mut App, code: KeyCode) -> usize {
    pump(env, app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn crl_screen(app: &App) -> &certsafe::tui::crl::CrlScreen {
    match &app.screen {
        Screen::Crl(s) => s,
        _ => panic!("not on the CRL screen"),
    }
}

fn trusted(env: &Env) -> BTreeSet<String> {
    certsafe::domain::crl::Env::new(&env.home, &env.config)
        .ca_store()
        .list()
        .unwrap()
        .into_iter()
        .map(|c| c.fingerprint)
        .collect()
}

#[test]
fn i_then_t_trusts_the_test_cas_and_esc_cancels() {
    let bundle = {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b.p7b");
        common::sh(&format!(
            "openssl crl2pkcs7 -nocrl -certfile {} -certfile {} -outform DER -out {}",
            fixtures()
                .join("TEST_AC_RACINE_IGC-SANTE_ELEMENTAIRE.01325aeb.pem")
                .display(),
            fixtures()
                .join("TEST_AC_IGC-SANTE_ELEMENTAIRE_ORGANISATIONS.dc528e37.pem")
                .display(),
            out.display()
        ));
        std::fs::read(out).unwrap()
    };
    // The proxy sees the official TEST address; the production one is 404.
    let server = Server::start(move |seen| {
        if seen
            .target
            .ends_with("/AC%20TEST/Chaine_de_certification-IGC-Sante-TEST.p7b")
        {
            Reply::Ok {
                body: bundle.clone(),
                etag: None,
                last_modified: None,
                content_type: "application/pkcs7-mime",
            }
        } else {
            Reply::Status(404)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut config = certsafe::config::Config::default();
    config.crl.proxy = server.url("");
    let env = Env::new(Home::under(dir.path()), config);
    let mut app = App::new(Theme::default_theme(), certsafe::domain::time::now());
    pump(&env, &mut app, Msg::Start);
    press(&env, &mut app, KeyCode::Char('c'));

    // `i` asks; Esc cancels without fetching.
    assert_eq!(press(&env, &mut app, KeyCode::Char('i')), 0);
    assert_eq!(crl_screen(&app).igc, IgcStep::Choosing);
    assert_eq!(press(&env, &mut app, KeyCode::Esc), 0);
    assert_eq!(crl_screen(&app).igc, IgcStep::Idle);
    assert!(server.seen().is_empty());

    // Production: the bundle is not there, nothing trusted, said as critical.
    press(&env, &mut app, KeyCode::Char('i'));
    press(&env, &mut app, KeyCode::Char('p'));
    let s = crl_screen(&app);
    assert_eq!(s.igc, IgcStep::Idle);
    assert_eq!(s.summary.as_ref().unwrap().0, Level::Critical);
    assert!(trusted(&env).is_empty());

    // TEST: the two real TEST CAs.
    press(&env, &mut app, KeyCode::Char('i'));
    let effects = press(&env, &mut app, KeyCode::Char('t'));
    assert!(effects >= 2, "trust, then reload the list");
    let s = crl_screen(&app);
    assert_eq!(s.igc, IgcStep::Idle);
    assert_eq!(s.summary.as_ref().unwrap().0, Level::Ok);
    assert_eq!(
        trusted(&env),
        [ROOT_FP, INTER_FP]
            .iter()
            .map(|s| (*s).to_string())
            .collect()
    );
    let asked: Vec<String> = server.seen().into_iter().map(|s| s.target).collect();
    assert!(asked.iter().any(|t| t.contains("/AC/")));
    assert!(asked.iter().any(|t| t.contains("/AC%20TEST/")));
}
