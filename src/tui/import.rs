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
use super::restore::{self, Purpose, RestoreWizard};
use super::theme::Theme;
use super::widgets::{self, SPINNER, block, input_field, kv, level_line, list_lines};
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
            Step::Pick(w) => w.typing(),
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
            Step::Pick(w) => w.on_tick(ticks),
            _ => None,
        }
    }

    /// Handles a key.
    pub fn on_key(&mut self, key: KeyEvent) -> Outcome {
        match &mut self.step {
            Step::Pick(w) => {
                let contents = matches!(w.step, restore::Step::Contents { .. });
                if contents && key.code == KeyCode::Enter {
                    if let restore::Step::Contents { file, opened, info } =
                        std::mem::replace(&mut w.step, restore::Step::Working)
                    {
                        let cert = opened.identity.cert.clone();
                        self.step = Step::Checking(Picked { file, opened, info });
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

    /// Handles a worker's answer.
    pub fn on_msg(&mut self, msg: Msg) -> Outcome {
        match (msg, &mut self.step) {
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
        Step::Pick(p) => restore::hints(p),
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
    widgets::help_lines(hints(w))
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
    let (n, key) = match &w.step {
        Step::Done(_) => (6, "tui.restore_step_done"),
        _ => (5, "tui.restore_step_target"),
    };
    let outer = block(theme, &t!("tuiacct.import_title", step = n, name = t!(key)));
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let spin = SPINNER[w.spin % 4];
    match &w.step {
        Step::Pick(_) | Step::Moving => {}
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
