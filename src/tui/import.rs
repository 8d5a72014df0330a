//! The import wizard: the restore wizard's picker (drive or folder → file →
//! password → which identity → what is inside), then the account (a new
//! one with its label, or the renewal of the account of the same holder)
//! → the result. The same checks and use case as `account import`
//! (`domain::import`).

use std::path::PathBuf;

use ratatui::Frame;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::app::{AccountRow, Effect, Msg, Outcome};
use super::correspondent;
use super::restore::{self, Purpose, RestoreWizard};
use super::theme::Theme;
use super::widgets::{self, SPINNER, block, input_field, kv, level_line, list_lines};
use crate::domain::correspondent::FileKind;
use crate::domain::history::{Candidate, Renewed};
use crate::domain::import::{ImportAs, Imported, default_label};
use crate::domain::p12::Opened;
use crate::domain::restore::Verification;
use crate::domain::status::Level;
use crate::domain::time::rfc3339;
use crate::t;

/// The opened file, carried from step to step.
pub struct Picked {
    /// The file.
    pub file: PathBuf,
    /// The opened file (the identity inside).
    pub opened: Box<Opened>,
    /// Its description.
    pub info: Box<Verification>,
    /// Read from a certificate file and a key file (not a `.p12`).
    pub from_files: bool,
}

/// Importing from a certificate file and a key file: the picker finds the
/// certificate, then the key; a password is asked only for an encrypted key.
pub enum FilesStep {
    /// Choosing the certificate.
    Cert(Box<RestoreWizard>),
    /// Choosing the key.
    Key {
        /// The certificate chosen.
        cert: PathBuf,
        /// The picker, on the certificate's folder.
        picker: Box<RestoreWizard>,
    },
    /// The key is encrypted: its password.
    Password {
        /// The certificate.
        cert: PathBuf,
        /// The key.
        key: PathBuf,
        /// The field (masked).
        input: Input,
        /// Why the last try failed.
        error: Option<String>,
    },
    /// Reading the files.
    Reading,
    /// The files cannot make an identity: why (Enter/Esc: choose again).
    Failed(String),
}

/// Why reading a certificate and a key failed.
pub enum KeyFilesFailure {
    /// The key is encrypted: a password is needed.
    NeedsPassword,
    /// The password does not open the key.
    WrongPassword(String),
    /// Anything else, in words.
    Other(String),
}

/// Reads a certificate file and a key file into an identity, as
/// `account import --cert --key` does (the key must match the certificate).
pub fn read_key_files(
    cert: &std::path::Path,
    key: &std::path::Path,
    password: Option<&crate::domain::secret::Password>,
) -> Result<Box<Picked>, KeyFilesFailure> {
    use crate::domain::fsutil::{MAX_CERT_FILE, describe_io, read_limited};
    use crate::domain::identity::{IdentityError, key_is_encrypted, read_private_key};
    let read = |p: &std::path::Path| {
        read_limited(p, MAX_CERT_FILE).map_err(|e| {
            KeyFilesFailure::Other(t!(
                "cli.read_input",
                path = p.display(),
                reason = describe_io(&e)
            ))
        })
    };
    let cert_bytes = read(cert)?;
    let key_bytes = zeroize::Zeroizing::new(read(key)?);
    let key_name = key.display().to_string();
    let pkey = if key_is_encrypted(&key_bytes) {
        let Some(pw) = password else {
            return Err(KeyFilesFailure::NeedsPassword);
        };
        read_private_key(&key_bytes, Some(pw), &key_name)
    } else {
        read_private_key(&key_bytes, None, &key_name)
    }
    .map_err(|e| match e {
        IdentityError::WrongKeyPassword { .. } => KeyFilesFailure::WrongPassword(e.to_string()),
        other => KeyFilesFailure::Other(other.to_string()),
    })?;
    let identity = crate::domain::store::identity_from_files(
        &cert_bytes,
        &cert.display().to_string(),
        pkey,
        &[],
    )
    .map_err(|e| KeyFilesFailure::Other(e.to_string()))?;
    let opened = Opened {
        certificates: 1 + identity.chain.len(),
        identity,
        friendly_name: None,
        layout: crate::domain::p12::Layout::default(),
        used_legacy_provider: false,
        identities: Vec::new(),
        index: 1,
    };
    let info = crate::domain::restore::describe(&opened, None)
        .map_err(|e| KeyFilesFailure::Other(e.to_string()))?;
    Ok(Box::new(Picked {
        file: cert.to_path_buf(),
        opened: Box::new(opened),
        info: Box::new(info),
        from_files: true,
    }))
}

/// One way to import.
#[derive(Debug, Clone)]
pub enum Choice {
    /// The renewal of the account of the same holder.
    Renewal(Candidate),
    /// A separate account, named in the label field.
    New,
}

fn is_new(choices: &[Choice], selected: usize) -> bool {
    matches!(choices.get(selected), Some(Choice::New))
}

/// The steps after the picker.
pub enum Step {
    /// The restore wizard's picker, up to "what is inside".
    Pick(Box<RestoreWizard>),
    /// A certificate file and a key file instead of a `.p12`.
    Files(FilesStep),
    /// Looking for an account of the same holder.
    Checking(Picked),
    /// Which account: renewal or new (with its label).
    Target {
        /// The file.
        picked: Picked,
        /// Renewal first when the holder has an account, then new.
        choices: Vec<Choice>,
        /// Selected choice.
        selected: usize,
        /// The label of a new account.
        label: Input,
        /// Why the last try failed (the choices stay).
        error: Option<String>,
    },
    /// Importing (the file comes back on failure).
    Working {
        /// The choices, kept for a failure.
        choices: Vec<Choice>,
        /// Selected choice.
        selected: usize,
        /// The label.
        label: Input,
    },
    /// The result.
    Done(Box<Imported>),
    /// Only while a step's data moves to the next one (never drawn).
    Moving,
}

/// The import wizard.
pub struct ImportWizard {
    /// The current step.
    pub step: Step,
    /// Spinner frame.
    pub spin: usize,
}

impl ImportWizard {
    /// Starts on the drive step of the picker.
    pub fn new(accounts: Vec<AccountRow>) -> Self {
        let mut pick = RestoreWizard::new(accounts);
        pick.purpose = Purpose::Import;
        Self {
            step: Step::Pick(Box::new(pick)),
            spin: 0,
        }
    }

    /// Whether a text field has the focus.
    pub fn typing(&self) -> bool {
        match &self.step {
            Step::Pick(w) | Step::Files(FilesStep::Cert(w) | FilesStep::Key { picker: w, .. }) => {
                w.typing()
            }
            Step::Files(FilesStep::Password { .. }) => true,
            Step::Target {
                choices, selected, ..
            } => is_new(choices, *selected),
            _ => false,
        }
    }

    /// Ticks: the picker refreshes its drives; the spinner turns.
    pub fn on_tick(&mut self, ticks: u64) -> Option<Effect> {
        self.spin = usize::try_from(ticks % 4).unwrap_or(0);
        match &mut self.step {
            Step::Pick(w) | Step::Files(FilesStep::Cert(w) | FilesStep::Key { picker: w, .. }) => {
                w.on_tick(ticks)
            }
            _ => None,
        }
    }

    /// Handles a key.
    pub fn on_key(&mut self, key: KeyEvent) -> Outcome {
        match &mut self.step {
            Step::Pick(w)
                if key.code == KeyCode::Char('f')
                    && matches!(w.step, restore::Step::Source { .. }) =>
            {
                self.step = Step::Files(FilesStep::Cert(Box::new(correspondent::picker(
                    Purpose::IdentityFiles,
                ))));
                Outcome::effect(Effect::RefreshDrives(false))
            }
            Step::Files(_) => self.files_key(key),
            Step::Pick(w) => {
                let contents = matches!(w.step, restore::Step::Contents { .. });
                if contents && key.code == KeyCode::Enter {
                    if let restore::Step::Contents { file, opened, info } =
                        std::mem::replace(&mut w.step, restore::Step::Working)
                    {
                        let cert = opened.identity.cert.clone();
                        self.step = Step::Checking(Picked {
                            file,
                            opened,
                            info,
                            from_files: false,
                        });
                        return Outcome::effect(Effect::FindHolder(cert));
                    }
                    return Outcome::None;
                }
                w.on_key(key)
            }
            Step::Checking(_) | Step::Working { .. } | Step::Moving => Outcome::None,
            Step::Target {
                choices,
                selected,
                label,
                error,
                ..
            } => match key.code {
                KeyCode::Up => {
                    *selected = selected.saturating_sub(1);
                    Outcome::None
                }
                KeyCode::Down | KeyCode::Tab => {
                    *selected = (*selected + 1).min(choices.len().saturating_sub(1));
                    Outcome::None
                }
                KeyCode::Esc => {
                    // Back to "what is inside", the file still open.
                    if let Step::Target { picked, .. } =
                        std::mem::replace(&mut self.step, Step::Moving)
                    {
                        if picked.from_files {
                            // Choose the files again.
                            self.step = Step::Files(FilesStep::Cert(Box::new(
                                correspondent::picker(Purpose::IdentityFiles),
                            )));
                            return Outcome::effect(Effect::RefreshDrives(false));
                        }
                        self.step = Step::Pick(Box::new(back_to_contents(picked)));
                    }
                    Outcome::None
                }
                KeyCode::Enter => {
                    let how = if let Some(Choice::Renewal(c)) = choices.get(*selected) {
                        ImportAs::RenewalOf { id: c.id.clone() }
                    } else {
                        let text = label.value().trim().to_string();
                        if let Err(e) = crate::domain::store::check_label(&text) {
                            *error = Some(e.to_string());
                            return Outcome::None;
                        }
                        ImportAs::New { label: text }
                    };
                    let Step::Target {
                        picked,
                        choices,
                        selected,
                        label,
                        ..
                    } = std::mem::replace(&mut self.step, Step::Moving)
                    else {
                        return Outcome::None;
                    };
                    self.step = Step::Working {
                        choices,
                        selected,
                        label,
                    };
                    Outcome::effect(Effect::Import(Box::new(picked), how))
                }
                _ if is_new(choices, *selected) => {
                    label.handle_event(&Event::Key(key));
                    *error = None;
                    Outcome::None
                }
                _ => Outcome::None,
            },
            Step::Done(_) => match key.code {
                KeyCode::Enter | KeyCode::Esc => Outcome::Home,
                _ => Outcome::None,
            },
        }
    }

    fn files_key(&mut self, key: KeyEvent) -> Outcome {
        let Step::Files(step) = &mut self.step else {
            return Outcome::None;
        };
        match step {
            FilesStep::Cert(w) => {
                if let Some(cert) = correspondent::picked_file(w, key) {
                    // The key is most often beside the certificate.
                    let (dir, drive) = match &w.step {
                        restore::Step::Files { dir, drive, .. } => (dir.clone(), drive.clone()),
                        _ => (cert.parent().map(PathBuf::from).unwrap_or_default(), None),
                    };
                    let mut picker = correspondent::picker(Purpose::IdentityFiles);
                    picker.step = restore::Step::Files {
                        dir: dir.clone(),
                        files: None,
                        selected: 0,
                        error: None,
                        drive,
                    };
                    *step = FilesStep::Key {
                        cert,
                        picker: Box::new(picker),
                    };
                    return Outcome::effect(Effect::Correspondent(correspondent::Job::Scan(
                        dir,
                        FileKind::Key,
                    )));
                }
                let out = w.on_key(key);
                correspondent::picker_outcome(out, FileKind::Certificate).unwrap_or_else(|| {
                    // Esc on the first step: back to the .p12 picker.
                    self.step = Step::Pick(Box::new(back_to_start()));
                    Outcome::effect(Effect::RefreshDrives(false))
                })
            }
            FilesStep::Key { cert, picker } => {
                if let Some(key_file) = correspondent::picked_file(picker, key) {
                    let cert = cert.clone();
                    *step = FilesStep::Reading;
                    return Outcome::effect(Effect::ReadKeyFiles {
                        cert,
                        key: key_file,
                        password: None,
                    });
                }
                let out = picker.on_key(key);
                correspondent::picker_outcome(out, FileKind::Key).unwrap_or_else(|| {
                    *step =
                        FilesStep::Cert(Box::new(correspondent::picker(Purpose::IdentityFiles)));
                    Outcome::effect(Effect::RefreshDrives(false))
                })
            }
            FilesStep::Password {
                cert,
                key: key_file,
                input,
                error,
            } => match key.code {
                KeyCode::Enter => {
                    match crate::domain::secret::Password::new(input.value_and_reset()) {
                        Ok(p) => {
                            let (cert, key_file) = (cert.clone(), key_file.clone());
                            *step = FilesStep::Reading;
                            Outcome::effect(Effect::ReadKeyFiles {
                                cert,
                                key: key_file,
                                password: Some(p),
                            })
                        }
                        Err(e) => {
                            *error = Some(e.to_string());
                            Outcome::None
                        }
                    }
                }
                KeyCode::Esc => {
                    *step =
                        FilesStep::Cert(Box::new(correspondent::picker(Purpose::IdentityFiles)));
                    Outcome::effect(Effect::RefreshDrives(false))
                }
                _ => {
                    input.handle_event(&Event::Key(key));
                    Outcome::None
                }
            },
            FilesStep::Reading => Outcome::None,
            FilesStep::Failed(_) => match key.code {
                KeyCode::Enter | KeyCode::Esc => {
                    *step =
                        FilesStep::Cert(Box::new(correspondent::picker(Purpose::IdentityFiles)));
                    Outcome::effect(Effect::RefreshDrives(false))
                }
                _ => Outcome::None,
            },
        }
    }

    /// Handles a worker's answer.
    pub fn on_msg(&mut self, msg: Msg) -> Outcome {
        match (msg, &mut self.step) {
            (Msg::KeyFilesRead { cert, key, result }, Step::Files(FilesStep::Reading)) => {
                match result {
                    Ok(picked) => {
                        let leaf = picked.opened.identity.cert.clone();
                        self.step = Step::Checking(*picked);
                        return Outcome::effect(Effect::FindHolder(leaf));
                    }
                    Err(KeyFilesFailure::NeedsPassword) => {
                        self.step = Step::Files(FilesStep::Password {
                            cert,
                            key,
                            input: Input::default(),
                            error: None,
                        });
                    }
                    Err(KeyFilesFailure::WrongPassword(e)) => {
                        self.step = Step::Files(FilesStep::Password {
                            cert,
                            key,
                            input: Input::default(),
                            error: Some(e),
                        });
                    }
                    Err(KeyFilesFailure::Other(e)) => {
                        self.step = Step::Files(FilesStep::Failed(e));
                    }
                }
                Outcome::None
            }
            (other, Step::Files(FilesStep::Cert(w) | FilesStep::Key { picker: w, .. })) => {
                w.on_msg(other)
            }
            (Msg::HolderFound(result), Step::Checking(_)) => {
                let Step::Checking(picked) = std::mem::replace(&mut self.step, Step::Moving) else {
                    return Outcome::None;
                };
                let mut choices = Vec::new();
                let mut error = None;
                match result {
                    Ok(Some(c)) => choices.push(Choice::Renewal(c)),
                    Ok(None) => {}
                    Err(e) => error = Some(e),
                }
                choices.push(Choice::New);
                let name = default_label(
                    &picked.opened.identity,
                    picked.opened.friendly_name.as_deref(),
                );
                self.step = Step::Target {
                    picked,
                    choices,
                    selected: 0,
                    label: Input::new(name),
                    error,
                };
                Outcome::None
            }
            (Msg::Imported(result), Step::Working { .. }) => {
                let Step::Working {
                    choices,
                    selected,
                    label,
                } = std::mem::replace(&mut self.step, Step::Moving)
                else {
                    return Outcome::None;
                };
                match result {
                    Ok(done) => self.step = Step::Done(done),
                    Err((e, picked)) => {
                        self.step = Step::Target {
                            picked: *picked,
                            choices,
                            selected,
                            label,
                            error: Some(e),
                        };
                    }
                }
                Outcome::None
            }
            (other, Step::Pick(w)) => w.on_msg(other),
            _ => Outcome::None,
        }
    }
}

fn back_to_start() -> RestoreWizard {
    let mut w = RestoreWizard::new(Vec::new());
    w.purpose = Purpose::Import;
    w
}

fn back_to_contents(picked: Picked) -> RestoreWizard {
    let mut w = RestoreWizard::new(Vec::new());
    w.purpose = Purpose::Import;
    w.step = restore::Step::Contents {
        file: picked.file,
        opened: picked.opened,
        info: picked.info,
    };
    w
}

/// The key hints of the current step.
pub fn hints(w: &ImportWizard) -> Vec<(&'static str, String)> {
    match &w.step {
        Step::Pick(p) | Step::Files(FilesStep::Cert(p) | FilesStep::Key { picker: p, .. }) => {
            restore::hints(p)
        }
        Step::Files(FilesStep::Password { .. }) => vec![
            ("Enter", t!("tui.key_next")),
            ("Esc", t!("tui.key_back")),
            ("F1", t!("tui.key_help")),
        ],
        Step::Files(FilesStep::Reading) => vec![("", t!("tuicorr.wait"))],
        Step::Files(FilesStep::Failed(_)) => vec![("Enter", t!("tui.key_back"))],
        Step::Target {
            choices, selected, ..
        } => {
            let mut keys = vec![("↑↓", t!("tui.key_choose"))];
            keys.push(("Enter", t!("tuiacct.key_import")));
            keys.push(("Esc", t!("tui.key_back")));
            if is_new(choices, *selected) {
                keys.push(("F1", t!("tui.key_help")));
            }
            keys
        }
        Step::Checking(_) | Step::Working { .. } | Step::Moving => {
            vec![("", t!("tui.writing_wait"))]
        }
        Step::Done(_) => vec![("Enter", t!("tui.key_home"))],
    }
}

/// The help lines of the current step.
pub fn help(w: &ImportWizard) -> Vec<String> {
    let mut keys = hints(w);
    // The first step's intro says it too; the hints line has no room.
    if let Step::Pick(p) = &w.step
        && matches!(p.step, restore::Step::Source { .. })
    {
        keys.insert(keys.len().saturating_sub(1), ("f", t!("tuikey.key_files")));
    }
    widgets::help_lines(keys)
}

fn choice_text(c: &Choice) -> String {
    match c {
        Choice::Renewal(c) => t!("tuiacct.choice_renewal", label = c.label, id = c.id),
        Choice::New => t!("tuiacct.choice_new"),
    }
}

/// Draws the wizard's body.
///
/// ```text
/// ┌ Import — step 5/6: account ─────────────────────┐
/// │ Certificate  CN=...                             │
/// │ Fingerprint  ...                                │
/// │ [WARNING] expired on ...: imported anyway       │
/// │ Import it as:                                   │
/// │ > the renewal of Dr Durand (ab12…)              │
/// │   a separate account, named:                    │
/// │ Label [Dr Marie Durand            ]             │
/// │ [CRITICAL] why the last try failed              │
/// └─────────────────────────────────────────────────┘
/// ```
pub fn render(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    w: &ImportWizard,
    now: time::OffsetDateTime,
) {
    if let Step::Pick(p) = &w.step {
        restore::render(frame, area, theme, p);
        return;
    }
    if let Step::Files(f) = &w.step {
        render_files(frame, area, theme, f, SPINNER[w.spin % 4]);
        return;
    }
    let (n, key) = match &w.step {
        Step::Done(_) => (6, "tui.restore_step_done"),
        _ => (5, "tui.restore_step_target"),
    };
    let outer = block(theme, &t!("tuiacct.import_title", step = n, name = t!(key)));
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let spin = SPINNER[w.spin % 4];
    match &w.step {
        Step::Pick(_) | Step::Files(_) | Step::Moving => {}
        Step::Checking(_) => frame.render_widget(
            Paragraph::new(format!("{spin} {}", t!("tuiacct.checking"))).style(theme.text()),
            inner,
        ),
        Step::Working { .. } => frame.render_widget(
            Paragraph::new(format!("{spin} {}", t!("tuiacct.importing"))).style(theme.text()),
            inner,
        ),
        Step::Target {
            picked,
            choices,
            selected,
            label,
            error,
        } => {
            let info = &picked.info;
            let mut lines = vec![
                kv(theme, &t!("show.certificate"), &info.certificate.subject),
                kv(theme, &t!("show.fingerprint"), &info.fingerprint),
            ];
            if info.certificate.not_after < now {
                lines.push(level_line(
                    theme,
                    Level::Warning,
                    t!(
                        "tuiacct.expired",
                        date = rfc3339(info.certificate.not_after)
                    ),
                ));
            }
            if !info.chain_complete {
                lines.push(level_line(
                    theme,
                    Level::Warning,
                    t!("tuiacct.chain_incomplete"),
                ));
            }
            lines.push(Line::default());
            lines.push(Line::from(Span::styled(
                t!("tuiacct.import_as"),
                theme.text(),
            )));
            let items: Vec<String> = choices.iter().map(choice_text).collect();
            lines.extend(list_lines(theme, &items, *selected));
            // Rows the wrapped text takes, so the label field sits under it.
            let width = usize::from(inner.width.max(1));
            let text_rows: usize = lines.iter().map(|l| l.width().div_ceil(width).max(1)).sum();
            let text_rows = u16::try_from(text_rows).unwrap_or(u16::MAX);
            let [top, field, foot] = Layout::vertical([
                Constraint::Length(text_rows),
                Constraint::Length(2),
                Constraint::Min(1),
            ])
            .areas(inner);
            frame.render_widget(
                Paragraph::new(widgets::safe_lines(lines)).wrap(Wrap { trim: false }),
                top,
            );
            let [_, field] =
                Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(field);
            input_field(
                frame,
                field,
                theme,
                &t!("show.label"),
                label,
                false,
                is_new(choices, *selected),
            );
            if let Some(e) = error {
                frame.render_widget(
                    Paragraph::new(widgets::safe_lines(vec![level_line(
                        theme,
                        Level::Critical,
                        e.clone(),
                    )]))
                    .wrap(Wrap { trim: true }),
                    foot,
                );
            }
        }
        Step::Done(done) => {
            let a = &done.account;
            let head = match done.renewed {
                None => t!("tuiacct.done_new", label = a.meta.label, id = a.meta.id),
                Some(Renewed::Renewed) => {
                    t!("tuiacct.done_renewed", label = a.meta.label, id = a.meta.id)
                }
                Some(Renewed::AlreadyPresent) => {
                    t!("tuiacct.done_already", label = a.meta.label, id = a.meta.id)
                }
            };
            let mut lines = vec![
                level_line(theme, Level::Ok, head),
                Line::default(),
                kv(theme, &t!("show.account"), &a.meta.id),
                kv(theme, &t!("show.label"), &a.meta.label),
                kv(theme, &t!("show.fingerprint"), &a.meta.fingerprint),
            ];
            if done.expired {
                lines.push(level_line(
                    theme,
                    Level::Warning,
                    t!("tuiacct.expired_done"),
                ));
            }
            lines.push(Line::default());
            lines.push(Line::from(Span::styled(
                t!("tuiacct.done_next"),
                theme.text(),
            )));
            frame.render_widget(
                Paragraph::new(widgets::safe_lines(lines)).wrap(Wrap { trim: true }),
                inner,
            );
        }
    }
}

/// Draws the certificate + key steps.
///
/// ```text
///  Choose the certificate file.            (or: Certificate X read. Now the key.)
/// ┌ Import — step 2/6: file ────────────────────────┐
/// │ (the picker)                                    │
/// └─────────────────────────────────────────────────┘
/// ```
fn render_files(frame: &mut Frame, area: Rect, theme: &Theme, f: &FilesStep, spin: &str) {
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let shown = |p: &PathBuf| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    let head_text = match f {
        FilesStep::Cert(_) => t!("tuikey.pick_cert"),
        FilesStep::Key { cert, .. } => t!("tuikey.pick_key", file = shown(cert)),
        _ => String::new(),
    };
    frame.render_widget(widgets::wrapped(head_text, theme.accent()), head);
    match f {
        FilesStep::Cert(p) | FilesStep::Key { picker: p, .. } => {
            restore::render(frame, body, theme, p);
        }
        FilesStep::Password {
            key, input, error, ..
        } => {
            let outer = block(
                theme,
                &t!(
                    "tuiacct.import_title",
                    step = 3,
                    name = t!("tui.restore_step_password")
                ),
            );
            let inner = outer.inner(body);
            frame.render_widget(outer, body);
            let [top, field, foot] = Layout::vertical([
                Constraint::Length(2),
                Constraint::Length(1),
                Constraint::Min(1),
            ])
            .areas(inner);
            frame.render_widget(
                widgets::wrapped(t!("tuikey.key_password", file = shown(key)), theme.text()),
                top,
            );
            input_field(
                frame,
                field,
                theme,
                &t!("tuikey.password"),
                input,
                true,
                true,
            );
            if let Some(e) = error {
                frame.render_widget(
                    Paragraph::new(level_line(theme, Level::Critical, e.clone()))
                        .wrap(Wrap { trim: true }),
                    foot,
                );
            }
        }
        FilesStep::Reading => {
            let outer = block(theme, &t!("tuiacct.import"));
            let inner = outer.inner(body);
            frame.render_widget(outer, body);
            frame.render_widget(
                Paragraph::new(format!("{spin} {}", t!("tuikey.reading"))).style(theme.text()),
                inner,
            );
        }
        FilesStep::Failed(e) => {
            let outer = block(theme, &t!("tuiacct.import"));
            let inner = outer.inner(body);
            frame.render_widget(outer, body);
            frame.render_widget(
                Paragraph::new(widgets::safe_lines(vec![level_line(
                    theme,
                    Level::Critical,
                    e.clone(),
                )]))
                .wrap(Wrap { trim: true }),
                inner,
            );
        }
    }
}
