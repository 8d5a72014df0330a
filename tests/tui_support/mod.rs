//! Driving the TUI without a terminal: a home made of the real IGC-Santé
//! TEST identities at a fixed date, fixed drives, effects run inline.
#![allow(dead_code, clippy::unwrap_used, clippy::missing_panics_doc)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use certsafe::config::Config;
use certsafe::domain::drives::{Drive, DriveSource};
use certsafe::domain::home::Home;
use certsafe::domain::identity::{Identity, read_certificates, read_private_key};
use certsafe::domain::p12::Profile;
use certsafe::domain::store::{BackupRecord, Store};
use certsafe::tui::app::{App, Env, Msg, execute};
use certsafe::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use time::OffsetDateTime;
use time::macros::datetime;

/// The fixed "now" of these tests: the TEST leaves are then valid,
/// expiring or expired.
pub fn now() -> OffsetDateTime {
    datetime!(2022-07-20 12:00 UTC)
}

/// Serialises tests that switch the (process-wide) language.
pub static LANG_LOCK: Mutex<()> = Mutex::new(());

/// A drive list that tests set.
#[derive(Default)]
pub struct FixedDrives(pub Mutex<Vec<Drive>>);

impl DriveSource for FixedDrives {
    fn volumes(&self) -> Vec<Drive> {
        self.0.lock().unwrap().clone()
    }
}

/// A removable drive at `path`.
pub fn drive(path: &Path, label: &str) -> Drive {
    Drive {
        mount_point: path.to_path_buf(),
        label: Some(label.into()),
        file_system: "exfat".into(),
        removable: true,
        available_bytes: 30 * 1024 * 1024,
        total_bytes: 32 * 1024 * 1024,
        read_only: false,
        device: "/dev/loop7".into(),
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/igc-sante-test")
}

/// A TEST identity by file stem (`testsign.test.asipsante.fr.8f613149`).
pub fn identity(stem: &str) -> Identity {
    let f = fixtures();
    let key = read_private_key(
        &std::fs::read(f.join(format!("{stem}.key.pem"))).unwrap(),
        None,
        "key",
    )
    .unwrap();
    let mut certs = read_certificates(
        &std::fs::read(f.join(format!("{stem}.pem"))).unwrap(),
        "cert",
    )
    .unwrap();
    for ca in [
        "TEST_AC_IGC-SANTE_ELEMENTAIRE_ORGANISATIONS.dc528e37.pem",
        "TEST_AC_RACINE_IGC-SANTE_ELEMENTAIRE.01325aeb.pem",
    ] {
        certs.extend(read_certificates(&std::fs::read(f.join(ca)).unwrap(), "ca").unwrap());
    }
    Identity::assemble(key, certs).unwrap()
}

/// The test world: a home, drives, and the environment effects run in.
pub struct World {
    /// The home folder.
    pub home: tempfile::TempDir,
    /// Drives the app sees.
    pub drives: Arc<FixedDrives>,
    /// The environment.
    pub env: Env,
}

impl World {
    /// An empty home.
    pub fn empty() -> Self {
        let home = tempfile::tempdir().unwrap();
        let drives = Arc::new(FixedDrives::default());
        let env = Env::new(Home::under(home.path()), Config::default())
            .with_drives(drives.clone())
            .with_clock(now);
        Self { home, drives, env }
    }

    /// The store.
    pub fn store(&self) -> Store {
        Store::open(&self.env.home.accounts_dir()).unwrap()
    }

    /// Adds a TEST identity; `backup_days_ago` records a verified backup.
    pub fn add(
        &self,
        stem: &str,
        label: &str,
        backup_days_ago: Option<i64>,
        outdated: bool,
    ) -> String {
        let store = self.store();
        let identity = identity(stem);
        let account = store
            .add(&identity, label, None, now() - time::Duration::days(500))
            .unwrap();
        if let Some(days) = backup_days_ago {
            let fingerprint = if outdated {
                "0".repeat(64)
            } else {
                identity.fingerprint()
            };
            store
                .record_backup(
                    &account,
                    BackupRecord {
                        at: now() - time::Duration::days(days),
                        path: "/media/CLE_USB/old.p12".into(),
                        mount_point: Some("/media/CLE_USB".into()),
                        drive_label: Some("CLE_USB".into()),
                        fingerprint,
                        fingerprints: Vec::new(),
                        profile: Some(Profile::Modern),
                        origin: "backup".into(),
                    },
                )
                .unwrap();
        }
        account.meta.id
    }

    /// Four accounts covering every account alert: backed up (ok), no
    /// backup + expiring, outdated + expired, old + expired.
    pub fn full() -> Self {
        let w = Self::empty();
        w.add(
            "testsign.test.asipsante.fr.8f613149",
            "Dr Marie Durand",
            Some(10),
            false,
        );
        w.add(
            "asipsign.preuve.henix.asipsante.fr.c1079cb0",
            "Cabinet dentaire du Port",
            None,
            false,
        );
        w.add(
            "tomwsrevoque.henix.asipsante.fr.742d8553",
            "Dr Jean Martin",
            Some(30),
            true,
        );
        w.add(
            "mock.platines.henix.asipsante.fr.a78637e7",
            "Centre de santé Kerhuon",
            Some(400),
            false,
        );
        w
    }

    /// One account, backed up, valid.
    pub fn calm() -> Self {
        let w = Self::empty();
        w.add(
            "testsign.test.asipsante.fr.8f613149",
            "Dr Marie Durand",
            Some(10),
            false,
        );
        w
    }

    /// A new app on the home screen, loaded.
    pub fn app(&self) -> App {
        let mut app = App::new(Theme::default_theme(), now());
        self.pump(&mut app, Msg::Start);
        app
    }

    /// Applies a message and runs every effect it leads to, inline.
    pub fn pump(&self, app: &mut App, msg: Msg) {
        let mut queue = VecDeque::from([msg]);
        while let Some(m) = queue.pop_front() {
            if let Some(effect) = app.update(m) {
                let out = std::cell::RefCell::new(Vec::new());
                execute(&self.env, effect, &|m| out.borrow_mut().push(m));
                queue.extend(out.into_inner());
            }
        }
    }

    /// Presses a key.
    pub fn key(&self, app: &mut App, code: KeyCode) {
        self.pump(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    /// Types text.
    pub fn type_text(&self, app: &mut App, text: &str) {
        for c in text.chars() {
            self.key(app, KeyCode::Char(c));
        }
    }
}

/// Renders the app on a test terminal of `w`×`h`.
pub fn render(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| certsafe::tui::view(f, app)).unwrap();
    terminal.backend().to_string()
}
