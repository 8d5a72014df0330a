//! The application state machine: `update(msg) -> Option<Effect>` does no
//! I/O; effects run on a worker thread (or inline in tests) and come back as
//! messages.

use std::path::PathBuf;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use time::OffsetDateTime;

use super::account::{AccountAction, Changed};
use super::account_screen::{AccountScreen, AccountView, Forget};
use super::backup::BackupWizard;
use super::crl::{CorrespondentRow, CrlScreen};
use super::import::{ImportWizard, Picked};
use super::request::{Kind, Requests};
pub use super::request::{Load, Request};
use super::restore::RestoreWizard;
use super::theme::Theme;
use crate::domain::backup::{self, BackupOutcome, Destination};
use crate::domain::drives::{Drive, DriveGuard};
use crate::domain::p12::{Opened, Profile};
use crate::domain::restore::{RestoreOptions, Restored, Verification};
use crate::domain::secret::Password;
use crate::domain::store::Store;

/// What the effects need from the outside world: the application's one
/// environment.
pub use crate::app::Env;
/// The home data and its rows, typed (the application layer loads them).
pub use crate::app::{AccountRow, HomeData, load_crls, load_home};

/// Everything that can happen to the app.
pub enum Msg {
    /// A key was pressed.
    Key(KeyEvent),
    /// The app starts: load the home.
    Start,
    /// Time passed (spinner, drive refresh): the time now.
    Tick(OffsetDateTime),
    /// Home data loaded, for this request.
    HomeLoaded(Request, Result<HomeData, crate::app::Error>),
    /// The drive list now.
    Drives(Vec<Drive>),
    /// A chosen folder was checked (still there, writable).
    FolderChecked(Result<(PathBuf, Option<Drive>, DriveGuard), String>),
    /// The destination file was checked.
    DestinationReady(Result<(Box<Destination>, Vec<String>), String>),
    /// The backup file is already there: replace it, or take the free name
    /// (`None` when none is free).
    DestinationExists {
        /// The existing file.
        file: PathBuf,
        /// The first free name in the same folder.
        free: Option<String>,
    },
    /// A backup step completed.
    BackupStep(backup::Step),
    /// The backup finished.
    BackupDone(Result<BackupOutcome, String>),
    /// Backup files found in a folder.
    FilesFound(Result<Vec<PathBuf>, String>),
    /// A file was opened (or why not; `true` when the password was wrong).
    Opened(Result<(Box<Opened>, Box<Verification>), (String, bool)>),
    /// The file holds several identities: the user chooses one (the
    /// password comes back to open the file again).
    Several(Vec<crate::domain::p12::Summary>, Password),
    /// A restore finished.
    Restored(Result<Restored, String>),
    /// The CRLs and correspondents, for this request.
    CrlsLoaded(
        Request,
        Result<(Vec<crate::domain::crl::CrlEntry>, Vec<CorrespondentRow>), crate::app::Error>,
    ),
    /// Progress of a CRL update.
    CrlProgress(crate::domain::crl::update::CrlProgress),
    /// A CRL update finished.
    CrlUpdated(Result<crate::domain::crl::update::UpdateReport, crate::app::Error>),
    /// "Trust IGC-Santé" finished.
    IgcTrusted(Result<crate::domain::igc::Report, crate::app::Error>),
    /// The account of the same holder as an identity being imported, if any.
    HolderFound(Result<Option<crate::domain::history::Candidate>, String>),
    /// An import finished (on failure the opened file comes back).
    Imported(Result<Box<crate::domain::import::Imported>, (String, Box<Picked>)>),
    /// A rename or removal finished.
    AccountChanged(Result<Changed, crate::app::Error>),
    /// An account's details for the account screen, for this request.
    AccountLoaded(Request, Result<AccountView, crate::app::Error>),
    /// An earlier identity was forgotten (its fingerprint), or why not.
    Forgotten(Result<String, crate::app::Error>),
    /// Correspondents: a file read, an addition, a removal, a lookup.
    Correspondent(super::correspondent::Answer),
    /// A certificate file and a key file were read (or why not).
    KeyFilesRead {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// The identity, or why not.
        result: Result<Box<Picked>, super::import::KeyFilesFailure>,
    },
}

/// Work with side effects, run outside `update`.
pub enum Effect {
    /// Load something (the home, the CRLs, an account), as this request.
    Load(Request, Load),
    /// List drives (`true`: every writable volume).
    RefreshDrives(bool),
    /// Check a chosen folder.
    CheckFolder(PathBuf, Option<Drive>),
    /// Resolve and check the backup file.
    PrepareDestination {
        /// Account.
        account: String,
        /// Folder.
        dir: PathBuf,
        /// File name.
        name: String,
        /// Drive.
        drive: Option<Drive>,
        /// The drive as it was chosen.
        guard: DriveGuard,
        /// Replace an existing file (confirmed; the old file is kept until
        /// the new one is verified).
        overwrite: bool,
    },
    /// Write and verify the backup.
    WriteBackup {
        /// Account.
        account: String,
        /// Resolved destination.
        dest: Box<Destination>,
        /// The new password.
        password: Password,
        /// Profile.
        profile: Profile,
    },
    /// Find `.p12`/`.pfx` files in a folder and one level down.
    ScanFolder(PathBuf),
    /// Open a file with a password.
    OpenFile(PathBuf, Password),
    /// Open identity N (1-based) of a file holding several.
    OpenIdentity(PathBuf, Password, usize),
    /// Import an opened file.
    Restore(PathBuf, Box<Opened>, RestoreOptions),
    /// Update the CRLs (`true`: even fresh ones).
    UpdateCrls(bool),
    /// Trust the IGC-Santé CAs of this hierarchy (bundle and AIA).
    TrustIgc(crate::domain::igc::Hierarchy),
    /// Find the account of the same holder as this certificate.
    FindHolder(openssl::x509::X509),
    /// Import an opened identity as told.
    Import(Box<Picked>, crate::domain::import::ImportAs),
    /// Give an account another label.
    RenameAccount {
        /// Account.
        id: String,
        /// The new label.
        label: String,
    },
    /// Remove an account, if it still holds the identity the user saw.
    RemoveAccount {
        /// Account.
        id: String,
        /// Its fingerprint when the user confirmed.
        fingerprint: String,
    },
    /// Forget an earlier identity (confirmed).
    Forget(Forget),
    /// Correspondents (and the file scans of the pickers of certificate
    /// and key files).
    Correspondent(super::correspondent::Job),
    /// Read a certificate file and a key file (the import wizard).
    ReadKeyFiles {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// The key's password, when it is encrypted.
        password: Option<Password>,
    },
}

impl Msg {
    /// The request a worker's answer belongs to, for the answers of loads.
    pub fn request(&self) -> Option<Request> {
        match self {
            Self::HomeLoaded(req, _) | Self::CrlsLoaded(req, _) | Self::AccountLoaded(req, _) => {
                Some(*req)
            }
            _ => None,
        }
    }
}

/// Whether `code` is the explicit "yes" of a confirmation: `y` (English) or
/// `o` (French "oui"), either case. Enter is never a yes.
pub fn is_yes(code: KeyCode) -> bool {
    matches!(code, KeyCode::Char('y' | 'o' | 'Y' | 'O'))
}

/// A popup over the current screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    /// The keys of this screen.
    Help,
    /// "Leave the wizard?"
    ConfirmQuit,
    /// The last journal entries of the selected account.
    Journal,
}

/// The screens.
pub enum Screen {
    /// Accounts and alerts.
    Home,
    /// The backup wizard.
    Backup(Box<BackupWizard>),
    /// The restore wizard.
    Restore(Box<RestoreWizard>),
    /// CRLs and correspondents.
    Crl(Box<CrlScreen>),
    /// The import wizard.
    Import(Box<ImportWizard>),
    /// Rename or remove the selected account (over the home screen).
    Account(Box<AccountAction>),
    /// One account: certificate, backup, history, journal.
    Details(Box<AccountScreen>),
}

/// What a screen's key handler asks the app to do.
pub enum Outcome {
    /// Nothing more.
    None,
    /// Run this.
    Effect(Box<Effect>),
    /// Back to the home screen (reloading it).
    Home,
    /// Load this (the app numbers the request).
    Load(Load),
}

impl Outcome {
    /// Run this effect.
    pub fn effect(e: Effect) -> Self {
        Self::Effect(Box::new(e))
    }
}

/// The application.
pub struct App {
    /// The current screen.
    pub screen: Screen,
    /// A popup, if any.
    pub overlay: Option<Overlay>,
    /// Colours.
    pub theme: Theme,
    /// Accounts and alerts (None while loading).
    pub data: Option<HomeData>,
    /// Error loading the home (made into text when drawn).
    pub load_error: Option<crate::app::Error>,
    /// Selected account on the home screen.
    pub selected: usize,
    /// A one-line message for the status line.
    pub notice: Option<String>,
    /// Ticks since start (spinner).
    pub ticks: u64,
    /// Whether to leave.
    pub quit: bool,
    /// The clock (for rendering ages and expiry).
    pub now: OffsetDateTime,
    /// The home screen's alert panes: focus and scrolling.
    pub panes: super::home::Panes,
    /// The loads asked for: an answer that is not the latest is dropped.
    pub requests: Requests,
}

impl App {
    /// A new app on the home screen.
    pub fn new(theme: Theme, now: OffsetDateTime) -> Self {
        Self {
            screen: Screen::Home,
            overlay: None,
            theme,
            data: None,
            load_error: None,
            selected: 0,
            notice: None,
            ticks: 0,
            quit: false,
            now,
            panes: super::home::Panes::default(),
            requests: Requests::default(),
        }
    }

    /// Whether a wizard is open (then `q` asks first).
    pub fn in_wizard(&self) -> bool {
        matches!(
            self.screen,
            Screen::Backup(_) | Screen::Restore(_) | Screen::Import(_)
        )
    }

    /// Whether the current step types text (then letters are text, not keys).
    pub fn typing(&self) -> bool {
        match &self.screen {
            Screen::Home => false,
            Screen::Crl(s) => s.typing(),
            Screen::Details(s) => s.captures_keys(),
            Screen::Backup(w) => w.typing(),
            Screen::Restore(w) => w.typing(),
            Screen::Import(w) => w.typing(),
            Screen::Account(a) => a.typing(),
        }
    }

    /// Applies a message; returns the effect to run, if any.
    pub fn update(&mut self, msg: Msg) -> Option<Effect> {
        match msg {
            Msg::Key(key) => self.on_key(key),
            Msg::Start => Some(self.request(Load::Home)),
            _ if msg
                .request()
                .is_some_and(|req| !self.requests.is_latest(req)) =>
            {
                None
            }
            Msg::Tick(now) => {
                self.now = now;
                self.ticks = self.ticks.wrapping_add(1);
                match &mut self.screen {
                    Screen::Backup(w) => w.on_tick(self.ticks),
                    Screen::Restore(w) => w.on_tick(self.ticks),
                    Screen::Import(w) => w.on_tick(self.ticks),
                    Screen::Crl(s) => s.on_tick(self.ticks),
                    Screen::Home | Screen::Account(_) | Screen::Details(_) => None,
                }
            }
            Msg::HomeLoaded(_, Ok(data)) => {
                self.selected = self.selected.min(data.accounts.len().saturating_sub(1));
                self.data = Some(data);
                self.load_error = None;
                None
            }
            Msg::HomeLoaded(_, Err(e)) => {
                self.load_error = Some(e);
                None
            }
            Msg::AccountChanged(result) => match (result, &mut self.screen) {
                (Ok(changed), _) => {
                    self.notice = Some(changed.words());
                    Some(self.go_home())
                }
                (Err(e), Screen::Account(a)) => {
                    a.failed(e.to_string());
                    None
                }
                (Err(e), _) => {
                    self.notice = Some(e.to_string());
                    None
                }
            },
            other => {
                let outcome = match &mut self.screen {
                    Screen::Backup(w) => w.on_msg(other),
                    Screen::Restore(w) => w.on_msg(other),
                    Screen::Crl(s) => s.on_msg(other),
                    Screen::Import(w) => w.on_msg(other),
                    Screen::Details(s) => s.on_msg(other),
                    Screen::Home | Screen::Account(_) => Outcome::None,
                };
                self.apply(outcome)
            }
        }
    }

    fn apply(&mut self, outcome: Outcome) -> Option<Effect> {
        match outcome {
            Outcome::None => None,
            Outcome::Effect(e) => Some(*e),
            Outcome::Load(load) => Some(self.request(load)),
            Outcome::Home => Some(self.go_home()),
        }
    }

    /// A numbered request for `load`: its answer is taken only while no
    /// later request of the same kind was made.
    pub fn request(&mut self, load: Load) -> Effect {
        Effect::Load(self.requests.issue(load.kind()), load)
    }

    /// Back to the home screen, reloading it; answers for the screen left
    /// are no longer wanted.
    fn go_home(&mut self) -> Effect {
        self.screen = Screen::Home;
        self.requests.forget(Kind::Crls);
        self.requests.forget(Kind::Account);
        self.request(Load::Home)
    }

    fn on_key(&mut self, key: KeyEvent) -> Option<Effect> {
        // Windows sends releases too.
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        if let Some(overlay) = self.overlay {
            // Only the explicit yes key confirms; Esc, Enter, `n` and any
            // other key close the box and keep the user where they were.
            if overlay == Overlay::ConfirmQuit && is_yes(key.code) {
                self.quit = true;
            }
            self.overlay = None;
            return None;
        }
        let typing = self.typing();
        match key.code {
            _ if ctrl_c => {
                self.ask_quit();
                return None;
            }
            KeyCode::F(1) => {
                self.overlay = Some(Overlay::Help);
                return None;
            }
            KeyCode::Char('?') if !typing => {
                self.overlay = Some(Overlay::Help);
                return None;
            }
            KeyCode::Char('q') if !typing => {
                self.ask_quit();
                return None;
            }
            _ => {}
        }
        self.notice = None;
        let outcome = match &mut self.screen {
            Screen::Home => self.home_key(key),
            Screen::Backup(w) => w.on_key(key),
            Screen::Restore(w) => w.on_key(key),
            Screen::Crl(s) => s.on_key(key),
            Screen::Import(w) => w.on_key(key),
            Screen::Account(a) => a.on_key(key),
            Screen::Details(s) => s.on_key(key),
        };
        self.apply(outcome)
    }

    fn ask_quit(&mut self) {
        if self.in_wizard() {
            self.overlay = Some(Overlay::ConfirmQuit);
        } else {
            self.quit = true;
        }
    }

    fn home_key(&mut self, key: KeyEvent) -> Outcome {
        // Tab focuses the alert panes, which then take the arrows.
        if self.panes.on_key(key.code) {
            return Outcome::None;
        }
        let count = self.data.as_ref().map_or(0, |d| d.accounts.len());
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => {
                if count > 0 {
                    self.selected = (self.selected + 1).min(count - 1);
                }
                Outcome::None
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.selected = self.selected.saturating_sub(1);
                Outcome::None
            }
            KeyCode::Char('b') | KeyCode::Enter => {
                let Some(data) = &self.data else {
                    return Outcome::None;
                };
                if data.accounts.is_empty() {
                    self.notice = Some(crate::t!("tui.no_account_to_back_up"));
                    return Outcome::None;
                }
                let (wizard, effect) =
                    BackupWizard::for_account(data.accounts.clone(), self.selected, self.now);
                self.screen = Screen::Backup(Box::new(wizard));
                Outcome::effect(effect)
            }
            KeyCode::Char('r') => {
                let accounts = self
                    .data
                    .as_ref()
                    .map(|d| d.accounts.clone())
                    .unwrap_or_default();
                let mut wizard = RestoreWizard::new(accounts);
                wizard.now = Some(self.now);
                self.screen = Screen::Restore(Box::new(wizard));
                Outcome::effect(Effect::RefreshDrives(false))
            }
            KeyCode::Char('u') => {
                self.screen = Screen::Crl(Box::new(CrlScreen::new(true)));
                Outcome::effect(Effect::UpdateCrls(false))
            }
            KeyCode::Char('c') => {
                self.screen = Screen::Crl(Box::new(CrlScreen::new(false)));
                Outcome::Load(Load::Crls)
            }
            KeyCode::Char('l') => Outcome::Load(Load::Home),
            KeyCode::Char('a' | '+') => {
                let accounts = self
                    .data
                    .as_ref()
                    .map(|d| d.accounts.clone())
                    .unwrap_or_default();
                self.screen = Screen::Import(Box::new(ImportWizard::new(accounts)));
                Outcome::effect(Effect::RefreshDrives(false))
            }
            KeyCode::Char('n' | 'd') | KeyCode::Delete => {
                let Some(row) = self
                    .data
                    .as_ref()
                    .and_then(|d| d.accounts.get(self.selected))
                    .cloned()
                else {
                    self.notice = Some(crate::t!("tuiacct.no_account_selected"));
                    return Outcome::None;
                };
                let action = if key.code == KeyCode::Char('n') {
                    AccountAction::rename(row)
                } else {
                    AccountAction::remove(row)
                };
                self.screen = Screen::Account(Box::new(action));
                Outcome::None
            }
            KeyCode::Char('e') if count > 0 => {
                self.overlay = Some(Overlay::Journal);
                Outcome::None
            }
            // Enter already starts a backup; `v` opens the account screen.
            KeyCode::Char('v') => {
                let Some(row) = self
                    .data
                    .as_ref()
                    .and_then(|d| d.accounts.get(self.selected))
                else {
                    self.notice = Some(crate::t!("tui.no_account"));
                    return Outcome::None;
                };
                let (screen, load) = AccountScreen::new(row.id.clone());
                self.screen = Screen::Details(Box::new(screen));
                Outcome::Load(load)
            }
            _ => Outcome::None,
        }
    }
}

/// Replaces a shown drive list with a fresh one, keeping the selection on
/// the same mount point; returns the names of the drives that went away.
pub fn merge_drives(
    drives: &mut Vec<Drive>,
    selected: &mut usize,
    list: Vec<Drive>,
) -> Vec<String> {
    let current = drives.get(*selected).map(|d| d.mount_point.clone());
    let gone = drives
        .iter()
        .filter(|d| !list.iter().any(|n| n.mount_point == d.mount_point))
        .map(Drive::display_name)
        .collect();
    *drives = list;
    *selected = current
        .and_then(|mp| drives.iter().position(|d| d.mount_point == mp))
        .unwrap_or((*selected).min(drives.len()));
    gone
}

/// Runs an effect, sending its messages to `send`. Called on a worker
/// thread by the terminal loop, inline by tests.
pub fn execute(env: &Env, effect: Effect, send: &dyn Fn(Msg)) {
    match effect {
        Effect::Load(req, Load::Home) => send(Msg::HomeLoaded(req, load_home(env))),
        Effect::Load(req, Load::Crls) => send(Msg::CrlsLoaded(req, load_crls(env))),
        Effect::Load(req, Load::Account(id)) => send(Msg::AccountLoaded(
            req,
            super::account_screen::load(env, &id),
        )),
        Effect::RefreshDrives(all) => send(Msg::Drives(crate::domain::drives::list(
            env.drives.as_ref(),
            all,
        ))),
        Effect::CheckFolder(dir, drive) => {
            let drive =
                drive.or_else(|| crate::domain::drives::drive_of(env.drives.as_ref(), &dir));
            let result = (|| {
                let meta = std::fs::metadata(&dir).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        crate::t!("backup.destination_missing", path = dir.display())
                    } else {
                        crate::t!("drives.gone", dir = dir.display())
                    }
                })?;
                if !meta.is_dir() {
                    return Err(crate::t!("backup.bad_destination", path = dir.display()));
                }
                backup::check_writable(&dir).map_err(|e| e.to_string())?;
                let guard =
                    DriveGuard::new(&dir).map_err(|e| crate::domain::fsutil::describe_io(&e))?;
                Ok((dir.clone(), drive.clone(), guard))
            })();
            send(Msg::FolderChecked(result));
        }
        Effect::PrepareDestination {
            account,
            dir,
            name,
            drive,
            guard,
            overwrite,
        } => {
            let result = (|| {
                guard.check().map_err(|e| e.to_string())?;
                let store = Store::open(&env.home.accounts_dir()).map_err(|e| e.to_string())?;
                let account = store.get(&account).map_err(|e| e.to_string())?;
                let now = (env.now)();
                let dest = match backup::resolve_destination(
                    &dir.join(&name),
                    &account.meta.label,
                    now,
                    overwrite,
                    drive,
                ) {
                    Ok(dest) => dest,
                    Err(backup::BackupError::Exists { .. }) => {
                        return Ok(Err(Msg::DestinationExists {
                            file: dir.join(&name),
                            free: backup::free_name(&dir, &name),
                        }));
                    }
                    Err(e) => return Err(e.to_string()),
                };
                if dest.check().is_err() || DriveGuard::new(&dir).ok().as_ref() != Some(&guard) {
                    return Err(crate::t!("drives.changed", dir = dir.display()));
                }
                let warnings = backup::warnings_for(&account, &dest, &store, now)
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                Ok(Ok((Box::new(dest), warnings)))
            })();
            match result {
                Ok(Err(exists)) => send(exists),
                Ok(Ok(ready)) => send(Msg::DestinationReady(Ok(ready))),
                Err(e) => send(Msg::DestinationReady(Err(e))),
            }
        }
        Effect::WriteBackup {
            account,
            dest,
            password,
            profile,
        } => {
            let result = (|| {
                let store = Store::open(&env.home.accounts_dir()).map_err(|e| e.to_string())?;
                let account = store.get(&account).map_err(|e| e.to_string())?;
                let req = backup::Request {
                    store: &store,
                    account: &account,
                    dest: &dest,
                    password: &password,
                    profile,
                    overwrite: dest.replaces,
                    now: (env.now)(),
                };
                backup::run(&req, &mut |step| send(Msg::BackupStep(step)))
                    .map_err(|e| e.to_string())
            })();
            drop(password);
            send(Msg::BackupDone(result));
        }
        Effect::ScanFolder(dir) => {
            send(Msg::FilesFound(crate::domain::restore::find_backups(&dir)));
        }
        Effect::OpenFile(path, password) => send(open_msg(&path, password, None)),
        Effect::OpenIdentity(path, password, n) => send(open_msg(&path, password, Some(n))),
        Effect::Forget(f) => send(Msg::Forgotten(super::account_screen::forget(env, &f))),
        Effect::Correspondent(job) => send(super::correspondent::run(env, job)),
        Effect::ReadKeyFiles {
            cert,
            key,
            password,
        } => {
            let result = super::import::read_key_files(&cert, &key, password.as_ref());
            drop(password);
            send(Msg::KeyFilesRead { cert, key, result });
        }
        Effect::UpdateCrls(force) => {
            let mut options = crate::domain::crl::update::UpdateOptions::at(env.now());
            options.force = force;
            let result = crate::app::update_crls(env, &options, &mut |p| {
                send(Msg::CrlProgress(p));
            });
            send(Msg::CrlUpdated(result));
        }
        Effect::TrustIgc(hierarchy) => {
            let source = crate::domain::igc::Source::Network {
                base_url: crate::domain::igc::base_url(),
            };
            send(Msg::IgcTrusted(crate::app::trust_igc(
                env, hierarchy, source,
            )));
        }
        Effect::FindHolder(cert) => {
            let result = Store::open(&env.home.accounts_dir())
                .and_then(|store| crate::domain::import::candidate(&store, &cert))
                .map_err(|e| e.to_string());
            send(Msg::HolderFound(result));
        }
        Effect::Import(picked, how) => {
            let result = Store::open(&env.home.accounts_dir())
                .map_err(|e| e.to_string())
                .and_then(|store| {
                    crate::domain::import::import(
                        &store,
                        &picked.opened.identity,
                        &how,
                        None,
                        (env.now)(),
                    )
                    .map_err(|e| e.to_string())
                });
            send(Msg::Imported(match result {
                Ok(done) => Ok(Box::new(done)),
                Err(e) => Err((e, picked)),
            }));
        }
        Effect::RenameAccount { id, label } => {
            send(Msg::AccountChanged(crate::app::rename_account(
                env, &id, &label,
            )));
        }
        Effect::RemoveAccount { id, fingerprint } => {
            send(Msg::AccountChanged(crate::app::remove_account(
                env,
                &id,
                &fingerprint,
            )));
        }
        Effect::Restore(path, opened, options) => {
            let result = Store::open(&env.home.accounts_dir())
                .map_err(|e| e.to_string())
                .and_then(|store| {
                    crate::domain::restore::restore(&store, &path, &opened, &options, (env.now)())
                        .map_err(|e| e.to_string())
                });
            send(Msg::Restored(result));
        }
    }
}

/// Opens identity `choice` of a file (`None`: the only one), as a message.
fn open_msg(path: &std::path::Path, password: Password, choice: Option<usize>) -> Msg {
    use crate::domain::p12::{self, P12Error};
    use crate::domain::restore::{self, RestoreError};
    let opened = restore::read_file(path).and_then(|bytes| {
        p12::open_identity(&bytes, &password, choice).map_err(|source| RestoreError::Open {
            path: path.display().to_string(),
            source,
        })
    });
    let result = match opened {
        Ok(opened) => restore::describe(&opened, None)
            .map(|v| (Box::new(opened), Box::new(v)))
            .map_err(|e| (e.to_string(), false)),
        Err(RestoreError::Open {
            source: P12Error::SeveralIdentities { identities },
            ..
        }) => return Msg::Several(identities, password),
        Err(RestoreError::Open {
            source: P12Error::WrongPassword,
            ..
        }) => Err((crate::t!("p12.wrong_password"), true)),
        Err(e) => Err((e.to_string(), false)),
    };
    Msg::Opened(result)
}
