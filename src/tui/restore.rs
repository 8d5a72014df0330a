//! The restore wizard: drive or folder → file → password (retry; empty for
//! a file made without one) → which identity (when the file holds several)
//! → what is inside → target account → result.

use std::path::PathBuf;

use ratatui::Frame;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::app::{AccountRow, Effect, Msg, Outcome};
use super::backup::DriveAlert;
use super::theme::Theme;
use super::widgets::{self, SPINNER, block, input_field, kv, level_line, list_lines, wrapped};
use crate::domain::drives::Drive;
use crate::domain::p12::{Opened, Summary};
use crate::domain::restore::{RestoreOptions, Restored, Verification};
use crate::domain::secret::Password;
use crate::domain::status::Level;
use crate::domain::text::visible;
use crate::domain::time::rfc3339;
use crate::t;

/// Where the restored identity goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A new account.
    New,
    /// An existing account: the same certificate (recorded as a backup), or
    /// another one (replaced after confirmation).
    Existing(AccountRow),
}

/// The steps.
pub enum Step {
    /// Drive or folder.
    Source {
        /// Drives now.
        drives: Vec<Drive>,
        /// Selected row (last: other folder…).
        selected: usize,
        /// Every volume.
        show_all: bool,
    },
    /// A typed folder.
    Folder {
        /// The path.
        input: Input,
        /// Why it was refused.
        error: Option<String>,
    },
    /// The files found.
    Files {
        /// The folder.
        dir: PathBuf,
        /// Files (None while scanning).
        files: Option<Vec<PathBuf>>,
        /// Selected row.
        selected: usize,
        /// Why scanning failed.
        error: Option<String>,
        /// The drive the folder is on, when one was chosen (watched: if it
        /// is pulled out, back to the source step).
        drive: Option<Drive>,
    },
    /// The password.
    Password {
        /// The file.
        file: PathBuf,
        /// The field.
        input: Input,
        /// Wrong tries so far.
        tries: u32,
        /// Why the last try failed.
        error: Option<String>,
        /// Opening in progress.
        opening: bool,
        /// Whether the typed text is shown (masked by default; F2).
        visible: bool,
    },
    /// The file holds several identities: which one.
    Choose {
        /// The file.
        file: PathBuf,
        /// What is inside.
        identities: Vec<Summary>,
        /// Selected row.
        selected: usize,
        /// The password that opened it (taken when opening the choice).
        password: Option<Password>,
    },
    /// What is inside.
    Contents {
        /// The file.
        file: PathBuf,
        /// The opened file.
        opened: Box<Opened>,
        /// Its description.
        info: Box<Verification>,
    },
    /// Which account.
    Target {
        /// The file.
        file: PathBuf,
        /// The opened file.
        opened: Box<Opened>,
        /// Its description.
        info: Box<Verification>,
        /// Choices.
        choices: Vec<Target>,
        /// Selected.
        selected: usize,
        /// Waiting for "y" to replace this account.
        confirm: Option<AccountRow>,
    },
    /// Importing.
    Working,
    /// The result.
    Done {
        /// What happened.
        result: Result<Restored, String>,
    },
}

/// What the file picker of this wizard is for: a restore, or an import
/// (`super::import` takes over after the "what is inside" step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Restore a backup.
    Restore,
    /// Import an identity as an account.
    Import,
    /// Pick a correspondent's certificate file or signed `.eml`
    /// (`super::correspondent` takes the file on the file step).
    Correspondent,
    /// Pick a certificate, then a key file (`super::import` takes the file
    /// on the file step).
    IdentityFiles,
}

/// The restore wizard.
pub struct RestoreWizard {
    /// What it is for (its titles).
    pub purpose: Purpose,
    /// Accounts already there.
    pub accounts: Vec<AccountRow>,
    /// The current step.
    pub step: Step,
    /// Spinner frame.
    pub spin: usize,
    /// Today, to flag an expired certificate (`None`: not flagged).
    pub now: Option<time::OffsetDateTime>,
    /// Why the wizard came back to the source step.
    pub alert: Option<DriveAlert>,
    /// Lines of the "what is inside" text scrolled past (↓, `PgDn`).
    pub scroll: usize,
    /// The most lines worth scrolling past, as the last draw found it.
    pub max_scroll: std::cell::Cell<usize>,
}

/// The typed password; empty opens files made without one.
fn password_to_open(text: String) -> Result<Password, crate::domain::secret::PasswordError> {
    if text.is_empty() {
        Ok(Password::empty_for_reading())
    } else {
        Password::new(text)
    }
}

fn input_key(input: &mut Input, key: KeyEvent) {
    input.handle_event(&Event::Key(key));
}

impl RestoreWizard {
    /// Starts on the source step.
    pub fn new(accounts: Vec<AccountRow>) -> Self {
        Self {
            purpose: Purpose::Restore,
            accounts,
            step: Step::Source {
                drives: Vec::new(),
                selected: 0,
                show_all: false,
            },
            spin: 0,
            now: None,
            alert: None,
            scroll: 0,
            max_scroll: std::cell::Cell::new(0),
        }
    }

    /// Whether a text field has the focus.
    pub fn typing(&self) -> bool {
        matches!(self.step, Step::Folder { .. } | Step::Password { .. })
    }

    /// Refreshes the drive list every second while shown.
    pub fn on_tick(&mut self, ticks: u64) -> Option<Effect> {
        self.spin = usize::try_from(ticks % 4).unwrap_or(0);
        match &self.step {
            Step::Source { show_all, .. } if ticks % 4 == 0 => {
                Some(Effect::RefreshDrives(*show_all))
            }
            Step::Files { drive: Some(_), .. } if ticks % 4 == 0 => {
                Some(Effect::RefreshDrives(true))
            }
            _ => None,
        }
    }

    fn choices(&self, info: &Verification) -> Vec<Target> {
        let mut out = vec![Target::New];
        // The account holding the same certificate first, then the others.
        let (same, others): (Vec<_>, Vec<_>) = self
            .accounts
            .iter()
            .cloned()
            .partition(|a| a.fingerprint == info.fingerprint);
        if !same.is_empty() {
            out.clear();
        }
        out.extend(same.into_iter().map(Target::Existing));
        out.extend(others.into_iter().map(Target::Existing));
        out
    }

    fn scroll_by(&mut self, n: usize) -> Outcome {
        self.scroll = (self.scroll + n).min(self.max_scroll.get());
        Outcome::None
    }

    fn scroll_back(&mut self, n: usize) -> Outcome {
        self.scroll = self.scroll.min(self.max_scroll.get()).saturating_sub(n);
        Outcome::None
    }

    /// Handles a key.
    pub fn on_key(&mut self, key: KeyEvent) -> Outcome {
        match &mut self.step {
            Step::Source {
                drives,
                selected,
                show_all,
            } => match key.code {
                KeyCode::Up | KeyCode::Char('k') => {
                    *selected = selected.saturating_sub(1);
                    Outcome::None
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    *selected = (*selected + 1).min(drives.len());
                    Outcome::None
                }
                KeyCode::Char('a') => {
                    *show_all = !*show_all;
                    Outcome::effect(Effect::RefreshDrives(*show_all))
                }
                KeyCode::Enter | KeyCode::Char('o') => {
                    if key.code == KeyCode::Char('o') || *selected >= drives.len() {
                        self.step = Step::Folder {
                            input: Input::default(),
                            error: None,
                        };
                        return Outcome::None;
                    }
                    let drive = drives[*selected].clone();
                    let dir = drive.mount_point.clone();
                    self.alert = None;
                    self.step = Step::Files {
                        dir: dir.clone(),
                        files: None,
                        selected: 0,
                        error: None,
                        drive: Some(drive),
                    };
                    Outcome::effect(Effect::ScanFolder(dir))
                }
                KeyCode::Esc => Outcome::Home,
                _ => Outcome::None,
            },
            Step::Folder { input, error } => match key.code {
                KeyCode::Enter => {
                    let text = input.value().trim().to_string();
                    if text.is_empty() {
                        *error = Some(t!("tui.type_a_folder"));
                        return Outcome::None;
                    }
                    let dir = PathBuf::from(text);
                    self.step = Step::Files {
                        dir: dir.clone(),
                        files: None,
                        selected: 0,
                        error: None,
                        drive: None,
                    };
                    Outcome::effect(Effect::ScanFolder(dir))
                }
                KeyCode::Esc => {
                    self.step = Step::Source {
                        drives: Vec::new(),
                        selected: 0,
                        show_all: false,
                    };
                    Outcome::effect(Effect::RefreshDrives(false))
                }
                _ => {
                    input_key(input, key);
                    Outcome::None
                }
            },
            Step::Files {
                files, selected, ..
            } => {
                let count = files.as_ref().map_or(0, Vec::len);
                match key.code {
                    KeyCode::Up | KeyCode::Char('k') => {
                        *selected = selected.saturating_sub(1);
                        Outcome::None
                    }
                    KeyCode::Down | KeyCode::Char('j') => {
                        *selected = (*selected + 1).min(count.saturating_sub(1));
                        Outcome::None
                    }
                    KeyCode::Enter if count > 0 => {
                        let file = files
                            .as_ref()
                            .and_then(|f| f.get(*selected))
                            .cloned()
                            .unwrap_or_default();
                        self.step = Step::Password {
                            file,
                            input: Input::default(),
                            tries: 0,
                            error: None,
                            opening: false,
                            visible: false,
                        };
                        Outcome::None
                    }
                    KeyCode::Esc => {
                        self.step = Step::Source {
                            drives: Vec::new(),
                            selected: 0,
                            show_all: false,
                        };
                        Outcome::effect(Effect::RefreshDrives(false))
                    }
                    _ => Outcome::None,
                }
            }
            Step::Password {
                file,
                input,
                error,
                opening,
                visible: shown,
                ..
            } => match key.code {
                _ if *opening => Outcome::None,
                _ if super::backup::is_reveal(key) => {
                    *shown = !*shown;
                    Outcome::None
                }
                KeyCode::Enter => match password_to_open(input.value_and_reset()) {
                    Ok(p) => {
                        *opening = true;
                        *error = None;
                        Outcome::effect(Effect::OpenFile(file.clone(), p))
                    }
                    Err(e) => {
                        *error = Some(e.to_string());
                        Outcome::None
                    }
                },
                KeyCode::Esc => {
                    let dir = file.parent().map(PathBuf::from).unwrap_or_default();
                    self.step = Step::Files {
                        dir: dir.clone(),
                        files: None,
                        selected: 0,
                        error: None,
                        drive: None,
                    };
                    Outcome::effect(Effect::ScanFolder(dir))
                }
                _ => {
                    input_key(input, key);
                    Outcome::None
                }
            },
            Step::Choose {
                file,
                identities,
                selected,
                password,
            } => match key.code {
                KeyCode::Up | KeyCode::Char('k') => {
                    *selected = selected.saturating_sub(1);
                    Outcome::None
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    *selected = (*selected + 1).min(identities.len().saturating_sub(1));
                    Outcome::None
                }
                KeyCode::Enter => match password.take() {
                    Some(p) => {
                        Outcome::effect(Effect::OpenIdentity(file.clone(), p, *selected + 1))
                    }
                    None => Outcome::None,
                },
                KeyCode::Esc => {
                    let dir = file.parent().map(PathBuf::from).unwrap_or_default();
                    self.step = Step::Files {
                        dir: dir.clone(),
                        files: None,
                        selected: 0,
                        error: None,
                        drive: None,
                    };
                    Outcome::effect(Effect::ScanFolder(dir))
                }
                _ => Outcome::None,
            },
            Step::Contents { .. } => match key.code {
                KeyCode::Enter => {
                    if let Step::Contents { file, opened, info } =
                        std::mem::replace(&mut self.step, Step::Working)
                    {
                        let choices = self.choices(&info);
                        self.step = Step::Target {
                            file,
                            opened,
                            info,
                            choices,
                            selected: 0,
                            confirm: None,
                        };
                    }
                    Outcome::None
                }
                KeyCode::Esc => Outcome::Home,
                KeyCode::Down | KeyCode::Char('j') => self.scroll_by(1),
                KeyCode::PageDown | KeyCode::Char(' ') => self.scroll_by(5),
                KeyCode::Up | KeyCode::Char('k') => self.scroll_back(1),
                KeyCode::PageUp => self.scroll_back(5),
                _ => Outcome::None,
            },
            Step::Target {
                choices,
                selected,
                confirm,
                info,
                ..
            } => {
                if let Some(account) = confirm.clone() {
                    if super::app::is_yes(key.code) {
                        return self.start_restore(Some(account.id), true);
                    }
                    *confirm = None;
                    return Outcome::None;
                }
                match key.code {
                    KeyCode::Up | KeyCode::Char('k') => {
                        *selected = selected.saturating_sub(1);
                        Outcome::None
                    }
                    KeyCode::Down | KeyCode::Char('j') => {
                        *selected = (*selected + 1).min(choices.len().saturating_sub(1));
                        Outcome::None
                    }
                    KeyCode::Enter => match choices.get(*selected).cloned() {
                        Some(Target::New) | None => self.start_restore(None, false),
                        Some(Target::Existing(a)) if a.fingerprint == info.fingerprint => {
                            self.start_restore(Some(a.id), false)
                        }
                        Some(Target::Existing(a)) => {
                            *confirm = Some(a);
                            Outcome::None
                        }
                    },
                    KeyCode::Esc => Outcome::Home,
                    _ => Outcome::None,
                }
            }
            Step::Working => Outcome::None,
            Step::Done { .. } => match key.code {
                KeyCode::Enter | KeyCode::Esc => Outcome::Home,
                _ => Outcome::None,
            },
        }
    }

    fn start_restore(&mut self, account: Option<String>, replace: bool) -> Outcome {
        let Step::Target { file, opened, .. } = std::mem::replace(&mut self.step, Step::Working)
        else {
            return Outcome::None;
        };
        Outcome::effect(Effect::Restore(
            file,
            opened,
            RestoreOptions {
                account,
                label: None,
                replace,
            },
        ))
    }

    /// Handles a worker's message.
    pub fn on_msg(&mut self, msg: Msg) -> Outcome {
        match (msg, &mut self.step) {
            (
                Msg::Drives(list),
                Step::Source {
                    drives, selected, ..
                },
            ) => {
                let was_drive = *selected < drives.len();
                let gone = super::app::merge_drives(drives, selected, list);
                if !gone.is_empty() {
                    // Said in words; the selection stays on a drive.
                    if was_drive && !drives.is_empty() {
                        *selected = (*selected).min(drives.len() - 1);
                    }
                    self.alert = Some(DriveAlert::Removed(gone.join(", ")));
                }
                Outcome::None
            }
            (Msg::Drives(list), Step::Files { drive: Some(d), .. })
                if !list.iter().any(|n| n.mount_point == d.mount_point) =>
            {
                self.alert = Some(DriveAlert::Removed(d.display_name()));
                self.step = Step::Source {
                    drives: Vec::new(),
                    selected: 0,
                    show_all: false,
                };
                Outcome::effect(Effect::RefreshDrives(false))
            }
            (
                Msg::FilesFound(Ok(list)),
                Step::Files {
                    files, selected, ..
                },
            ) => {
                *selected = 0;
                *files = Some(list);
                Outcome::None
            }
            (Msg::FilesFound(Err(e)), Step::Files { dir, .. }) => {
                // Back to typing, with the path kept and the reason shown.
                let input = Input::new(dir.display().to_string());
                self.step = Step::Folder {
                    input,
                    error: Some(e),
                };
                Outcome::None
            }
            (Msg::Several(identities, password), Step::Password { file, .. }) => {
                let file = file.clone();
                self.step = Step::Choose {
                    file,
                    identities,
                    selected: 0,
                    password: Some(password),
                };
                Outcome::None
            }
            (Msg::Opened(Err((e, _))), Step::Choose { file, .. }) => {
                let file = file.clone();
                self.step = Step::Password {
                    file,
                    input: Input::default(),
                    tries: 0,
                    error: Some(e),
                    opening: false,
                    visible: false,
                };
                Outcome::None
            }
            (
                Msg::Opened(Ok((opened, info))),
                Step::Password { file, .. } | Step::Choose { file, .. },
            ) => {
                let file = file.clone();
                self.scroll = 0;
                self.step = Step::Contents { file, opened, info };
                Outcome::None
            }
            (
                Msg::Opened(Err((e, wrong))),
                Step::Password {
                    tries,
                    error,
                    opening,
                    ..
                },
            ) => {
                *opening = false;
                if wrong {
                    *tries += 1;
                }
                *error = Some(e);
                Outcome::None
            }
            (Msg::Restored(result), Step::Working) => {
                self.step = Step::Done { result };
                Outcome::None
            }
            _ => Outcome::None,
        }
    }
}

/// The key hints of the current step.
pub fn hints(w: &RestoreWizard) -> Vec<(&'static str, String)> {
    let back = ("Esc", t!("tui.key_back"));
    match &w.step {
        Step::Source { .. } => vec![
            ("Enter", t!("tui.key_next")),
            ("a", t!("tui.key_all_disks")),
            ("o", t!("tui.key_other_folder")),
            back,
        ],
        Step::Folder { .. } => vec![
            ("Enter", t!("tui.key_next")),
            back,
            ("F1", t!("tui.key_help")),
        ],
        Step::Password { visible, .. } => vec![
            ("Enter", t!("tui.key_next")),
            (
                "F2",
                if *visible {
                    t!("tui.key_hide_password")
                } else {
                    t!("tui.key_show_password")
                },
            ),
            back,
            ("F1", t!("tui.key_help")),
        ],
        Step::Files { .. } | Step::Choose { .. } => vec![
            ("↑↓", t!("tui.key_choose")),
            ("Enter", t!("tui.key_next")),
            back,
        ],
        // PgDn named when the text is longer than the screen (last draw).
        Step::Contents { .. } if w.max_scroll.get() > 0 => vec![
            ("Enter", t!("tui.key_next")),
            back,
            ("PgDn", t!("tui.key_scroll")),
        ],
        Step::Contents { .. } => vec![("Enter", t!("tui.key_next")), back],
        Step::Target {
            confirm: Some(_), ..
        } => vec![("y", t!("tui.key_replace")), ("n", t!("tui.key_cancel"))],
        Step::Target { .. } => vec![
            ("↑↓", t!("tui.key_choose")),
            ("Enter", t!("tui.key_restore")),
            back,
        ],
        Step::Working => vec![("", t!("tui.writing_wait"))],
        Step::Done { .. } => vec![("Enter", t!("tui.key_home"))],
    }
}

/// The help lines of the current step.
pub fn help(w: &RestoreWizard) -> Vec<String> {
    let mut lines = widgets::help_lines(hints(w));
    if matches!(w.step, Step::Password { .. }) {
        lines.push(t!("tui.help_show_password"));
    }
    lines
}

fn step_title(w: &RestoreWizard) -> String {
    let (n, key) = match &w.step {
        Step::Source { .. } | Step::Folder { .. } => (1, "tui.restore_step_source"),
        Step::Files { .. } => (2, "tui.restore_step_file"),
        Step::Password { .. } => (3, "tui.restore_step_password"),
        Step::Choose { .. } => (3, "tui.restore_step_identity"),
        Step::Contents { .. } => (4, "tui.restore_step_contents"),
        Step::Target { .. } | Step::Working => (5, "tui.restore_step_target"),
        Step::Done { .. } => (6, "tui.restore_step_done"),
    };
    match w.purpose {
        Purpose::Restore => t!("tui.restore_title", step = n, name = t!(key)),
        Purpose::Import | Purpose::IdentityFiles => {
            t!("tuiacct.import_title", step = n, name = t!(key))
        }
        Purpose::Correspondent => t!("tuicorr.pick_title", name = t!(key)),
    }
}

/// Draws the wizard's body.
///
/// ```text
/// ┌ Restore — step 4/6: what is inside ─────────────┐
/// │ Certificate  CN=...                             │
/// │ Issuer       ...                                │
/// │ Valid        ... to ...                         │
/// │ Fingerprint  ...                                │
/// │ Chain        2 certificate(s), complete         │
/// └─────────────────────────────────────────────────┘
/// ```
pub fn render(frame: &mut Frame, area: Rect, theme: &Theme, w: &RestoreWizard) {
    let outer = block(theme, &step_title(w));
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    match &w.step {
        Step::Source {
            drives, selected, ..
        } => {
            let mut items: Vec<String> = drives
                .iter()
                .map(|d| {
                    format!(
                        "{:<12} {:<24} {}",
                        d.display_name(),
                        d.mount_point.display(),
                        d.file_system
                    )
                })
                .collect();
            items.push(t!("tui.other_folder"));
            let mut lines = vec![
                Line::from(Span::styled(
                    match w.purpose {
                        Purpose::Restore => t!("tui.restore_intro"),
                        Purpose::Import => t!("tuiacct.import_intro"),
                        Purpose::Correspondent => t!("tuicorr.pick_intro"),
                        Purpose::IdentityFiles => t!("tuikey.pick_intro"),
                    },
                    theme.text(),
                )),
                Line::default(),
            ];
            if drives.is_empty() {
                lines.push(Line::from(Span::styled(
                    t!("tui.no_drive_yet"),
                    theme.muted(),
                )));
            }
            lines.extend(list_lines(theme, &items, *selected));
            if let Some(DriveAlert::Removed(name)) = &w.alert {
                lines.push(Line::default());
                lines.push(level_line(
                    theme,
                    Level::Warning,
                    t!("tui.drive_removed", name = name),
                ));
            }
            frame.render_widget(
                Paragraph::new(widgets::safe_lines(lines)).wrap(Wrap { trim: false }),
                inner,
            );
        }
        Step::Folder { input, error } => {
            let [head, field, foot] = Layout::vertical([
                Constraint::Length(2),
                Constraint::Length(1),
                Constraint::Min(1),
            ])
            .areas(inner);
            frame.render_widget(wrapped(t!("tui.type_folder_restore"), theme.text()), head);
            input_field(frame, field, theme, &t!("tui.folder"), input, false, true);
            if let Some(e) = error {
                frame.render_widget(
                    Paragraph::new(level_line(theme, Level::Critical, e.clone()))
                        .wrap(Wrap { trim: true }),
                    foot,
                );
            }
        }
        Step::Files {
            dir,
            files,
            selected,
            error,
            ..
        } => {
            let mut lines = vec![
                Line::from(Span::styled(
                    match w.purpose {
                        Purpose::Restore => t!("tui.files_in", dir = dir.display()),
                        Purpose::Import => t!("tuiacct.files_in", dir = dir.display()),
                        Purpose::Correspondent => t!("tuicorr.files_in", dir = dir.display()),
                        Purpose::IdentityFiles => t!("tuikey.files_in", dir = dir.display()),
                    },
                    theme.text(),
                )),
                Line::default(),
            ];
            match files {
                None => lines.push(Line::from(Span::styled(
                    format!("{} {}", SPINNER[w.spin % 4], t!("tui.scanning")),
                    theme.muted(),
                ))),
                Some(list) if list.is_empty() => {
                    lines.push(level_line(
                        theme,
                        Level::Warning,
                        error.clone().unwrap_or_else(|| match w.purpose {
                            Purpose::Restore | Purpose::Import => t!("tui.no_file_found"),
                            Purpose::Correspondent => t!("tuicorr.no_file_found"),
                            Purpose::IdentityFiles => t!("tuikey.no_file_found"),
                        }),
                    ));
                }
                Some(list) => {
                    let items: Vec<String> = list
                        .iter()
                        .map(|p| {
                            // Relative to the folder; a typed file shows its own name.
                            match p.strip_prefix(dir) {
                                Ok(r) if !r.as_os_str().is_empty() => r.display().to_string(),
                                _ => p.display().to_string(),
                            }
                        })
                        .collect();
                    lines.extend(list_lines(theme, &items, *selected));
                }
            }
            frame.render_widget(
                Paragraph::new(widgets::safe_lines(lines)).wrap(Wrap { trim: false }),
                inner,
            );
        }
        Step::Password {
            file,
            input,
            tries,
            error,
            opening,
            visible: shown,
        } => {
            let [head, field, foot] = Layout::vertical([
                Constraint::Length(3),
                Constraint::Length(2),
                Constraint::Min(1),
            ])
            .areas(inner);
            frame.render_widget(
                wrapped(t!("tui.password_of", file = file.display()), theme.text()),
                head,
            );
            input_field(
                frame,
                field,
                theme,
                &t!("tui.password"),
                input,
                !*shown,
                true,
            );
            let mut lines = Vec::new();
            if *opening {
                lines.push(Line::from(Span::styled(
                    format!("{} {}", SPINNER[w.spin % 4], t!("tui.opening")),
                    theme.muted(),
                )));
            }
            if let Some(e) = error {
                lines.push(level_line(theme, Level::Critical, e.clone()));
                if *tries > 0 {
                    lines.push(Line::from(Span::styled(
                        t!("tui.tries", n = tries),
                        theme.muted(),
                    )));
                }
            }
            frame.render_widget(
                Paragraph::new(widgets::safe_lines(lines)).wrap(Wrap { trim: true }),
                foot,
            );
        }
        Step::Choose {
            file,
            identities,
            selected,
            ..
        } => {
            let mut lines = vec![
                Line::from(Span::styled(
                    t!(
                        "tui.identities_in",
                        file = visible(&file.display().to_string())
                    ),
                    theme.text(),
                )),
                Line::default(),
            ];
            let items: Vec<String> = identities
                .iter()
                .map(|s| {
                    format!(
                        "{} — {} ({}…)",
                        visible(s.friendly_name.as_deref().unwrap_or("-")),
                        visible(&s.subject),
                        s.fingerprint.get(..16).unwrap_or(&s.fingerprint)
                    )
                })
                .collect();
            lines.extend(list_lines(theme, &items, *selected));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
        Step::Contents { info, .. } | Step::Target { info, .. } => {
            let mut lines = vec![
                kv(theme, &t!("show.certificate"), &info.certificate.subject),
                kv(theme, &t!("show.issuer"), &info.certificate.issuer),
                kv(
                    theme,
                    &t!("show.valid"),
                    &t!(
                        "show.valid_range",
                        from = rfc3339(info.certificate.not_before),
                        to = rfc3339(info.certificate.not_after)
                    ),
                ),
                kv(theme, &t!("show.fingerprint"), &info.fingerprint),
                kv(
                    theme,
                    &t!("show.name"),
                    info.friendly_name.as_deref().unwrap_or("-"),
                ),
                kv(
                    theme,
                    &t!("show.chain"),
                    &format!(
                        "{}, {}",
                        t!("show.certificates", count = info.chain.len()),
                        if info.chain_complete {
                            t!("show.complete")
                        } else {
                            t!("show.incomplete")
                        }
                    ),
                ),
            ];
            let target_step = matches!(w.step, Step::Target { .. });
            if target_step {
                // Room for the choices: only the certificate and its fingerprint.
                lines.truncate(1);
                lines.push(kv(theme, &t!("show.fingerprint"), &info.fingerprint));
            } else {
                for c in &info.chain {
                    lines.push(kv(theme, "", &c.subject));
                }
            }
            // Warnings and the key line stay on screen; the rest scrolls.
            let mut tail = Vec::new();
            if w.now.is_some_and(|now| info.certificate.not_after < now) {
                tail.push(level_line(
                    theme,
                    Level::Warning,
                    t!(
                        "tui.contents_expired",
                        date = rfc3339(info.certificate.not_after)
                    ),
                ));
            }
            if info.no_mac {
                tail.push(level_line(theme, Level::Warning, t!("p12.no_mac")));
            }
            if let Step::Target {
                choices,
                selected,
                confirm,
                ..
            } = &w.step
            {
                lines.append(&mut tail);
                lines.push(Line::default());
                lines.push(Line::from(Span::styled(
                    t!("tui.restore_into"),
                    theme.text(),
                )));
                let items: Vec<String> = choices
                    .iter()
                    .map(|c| match c {
                        Target::New => t!("tui.target_new"),
                        Target::Existing(a) if a.fingerprint == info.fingerprint => {
                            t!("tui.target_same", label = a.label, id = a.id)
                        }
                        Target::Existing(a) => t!("tui.target_replace", label = a.label, id = a.id),
                    })
                    .collect();
                lines.extend(list_lines(theme, &items, *selected));
                if let Some(a) = confirm {
                    lines.push(level_line(
                        theme,
                        Level::Warning,
                        t!("tui.confirm_replace", label = a.label, id = a.id),
                    ));
                }
            } else {
                tail.push(Line::default());
                let next = match w.purpose {
                    Purpose::Restore => t!("tui.contents_next"),
                    Purpose::Import | Purpose::IdentityFiles | Purpose::Correspondent => {
                        t!("tuiacct.contents_next")
                    }
                };
                tail.push(Line::from(Span::styled(next, theme.text())));
                let max = widgets::scrolled(frame, inner, theme, lines, tail, w.scroll);
                w.max_scroll.set(max);
                return;
            }
            frame.render_widget(
                Paragraph::new(widgets::safe_lines(lines)).wrap(Wrap { trim: false }),
                inner,
            );
        }
        Step::Working => {
            frame.render_widget(
                Paragraph::new(format!("{} {}", SPINNER[w.spin % 4], t!("tui.restoring")))
                    .style(theme.text()),
                inner,
            );
        }
        Step::Done { result: Ok(r) } => {
            let mut lines = vec![
                level_line(
                    theme,
                    Level::Ok,
                    t!(&format!("restore.{}", r.action), label = r.label, id = r.id),
                ),
                Line::default(),
                kv(theme, &t!("show.account"), &r.id),
                kv(theme, &t!("show.fingerprint"), &r.fingerprint),
                Line::from(vec![
                    widgets::level_span(theme, Level::Ok),
                    Span::styled(format!(" {}", t!("tui.key_works")), theme.text()),
                ]),
            ];
            if let Some(a) = &r.archived_to {
                lines.push(kv(theme, &t!("tui.archived"), &a.display().to_string()));
            }
            if r.expired {
                lines.push(level_line(theme, Level::Warning, t!("restore.expired")));
            }
            lines.push(Line::default());
            lines.push(Line::from(Span::styled(
                t!("tui.restore_next"),
                theme.text(),
            )));
            frame.render_widget(
                Paragraph::new(widgets::safe_lines(lines)).wrap(Wrap { trim: true }),
                inner,
            );
        }
        Step::Done { result: Err(e) } => {
            let lines = vec![
                level_line(theme, Level::Critical, t!("tui.restore_failed")),
                Line::default(),
                Line::from(Span::styled(e.clone(), theme.text())),
            ];
            frame.render_widget(
                Paragraph::new(widgets::safe_lines(lines)).wrap(Wrap { trim: true }),
                inner,
            );
        }
    }
}
