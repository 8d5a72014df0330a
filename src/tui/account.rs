//! Rename and remove the selected account, over the home screen. The
//! removal is a confirmation as data: only the explicit yes key (`o`/`y`)
//! removes; Esc, Enter, `n` and any other key keep the account.

use ratatui::Frame;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::app::{AccountRow, Effect, Outcome, is_yes};
use super::theme::Theme;
use super::widgets::{self, block, input_field, level_line};
use crate::domain::status::Level;
use crate::domain::store::BackupState;
use crate::t;

/// What is done to the account.
pub enum AccountAction {
    /// A new label.
    Rename {
        /// The account.
        account: AccountRow,
        /// The label, prefilled with the current one.
        input: Input,
        /// Why the last try was refused.
        error: Option<String>,
        /// Waiting for the store.
        busy: bool,
    },
    /// Remove it (after the yes key).
    Remove {
        /// The account.
        account: AccountRow,
        /// Why the removal failed.
        error: Option<String>,
        /// Waiting for the store.
        busy: bool,
    },
}

/// What changed, told on the home screen's status line.
pub use crate::app::Changed;

impl Changed {
    /// The status-line text.
    pub fn words(&self) -> String {
        match self {
            Self::Renamed(id, label) => t!("tuiacct.renamed", id = id, label = label),
            Self::Removed(id, label) => t!("tuiacct.removed", id = id, label = label),
            Self::AlreadyGone(id) => t!("cli.already_removed", id = id),
        }
    }
}

impl AccountAction {
    /// Rename `account`.
    pub fn rename(account: AccountRow) -> Self {
        let input = Input::new(account.label.clone());
        Self::Rename {
            account,
            input,
            error: None,
            busy: false,
        }
    }

    /// Remove `account` (asks first).
    pub fn remove(account: AccountRow) -> Self {
        Self::Remove {
            account,
            error: None,
            busy: false,
        }
    }

    /// Whether every key goes to this popup: the label field takes letters,
    /// and the removal question answers every key itself (`q` or `?` there
    /// keep the account, like any key but yes).
    pub fn typing(&self) -> bool {
        true
    }

    /// Handles a key.
    pub fn on_key(&mut self, key: KeyEvent) -> Outcome {
        match self {
            Self::Rename { busy: true, .. } | Self::Remove { busy: true, .. } => Outcome::None,
            Self::Rename {
                account,
                input,
                error,
                busy,
            } => match key.code {
                KeyCode::Esc => Outcome::Home,
                KeyCode::Enter => {
                    let label = input.value().trim().to_string();
                    if let Err(e) = crate::domain::store::check_label(&label) {
                        *error = Some(e.to_string());
                        return Outcome::None;
                    }
                    *busy = true;
                    *error = None;
                    Outcome::effect(Effect::RenameAccount {
                        id: account.id.clone(),
                        label,
                    })
                }
                _ => {
                    input.handle_event(&Event::Key(key));
                    Outcome::None
                }
            },
            Self::Remove {
                account,
                error,
                busy,
            } => {
                // A failure is shown once; the next key goes home.
                if error.is_some() || !is_yes(key.code) {
                    return Outcome::Home;
                }
                *busy = true;
                Outcome::effect(Effect::RemoveAccount {
                    id: account.id.clone(),
                    fingerprint: account.fingerprint.clone(),
                })
            }
        }
    }

    /// A failure from the store: shown, the choices kept.
    pub fn failed(&mut self, why: String) {
        match self {
            Self::Rename { error, busy, .. } | Self::Remove { error, busy, .. } => {
                *error = Some(why);
                *busy = false;
            }
        }
    }
}

/// The key hints.
pub fn hints(a: &AccountAction) -> Vec<(&'static str, String)> {
    match a {
        AccountAction::Rename { .. } => vec![
            ("Enter", t!("tuiacct.key_rename")),
            ("Esc", t!("tui.key_back")),
            ("F1", t!("tui.key_help")),
        ],
        AccountAction::Remove { error: Some(_), .. } => vec![("Enter", t!("tui.key_home"))],
        AccountAction::Remove { .. } => vec![
            ("Yes", t!("tuiacct.key_remove")),
            ("Esc", t!("tuiacct.key_keep")),
        ],
    }
}

/// The help lines.
pub fn help(a: &AccountAction) -> Vec<String> {
    widgets::help_lines(hints(a))
}

/// What the removal says about the backups of the account.
fn backup_words(state: BackupState) -> (Level, String) {
    match state {
        BackupState::Ok => (Level::Ok, t!("tuiacct.remove_backup_ok")),
        BackupState::Old => (Level::Warning, t!("tuiacct.remove_backup_old")),
        BackupState::Outdated => (Level::Critical, t!("tuiacct.remove_backup_outdated")),
        BackupState::None => (Level::Critical, t!("tuiacct.remove_backup_none")),
    }
}

/// Draws the popup over the home screen.
///
/// ```text
///        ┌ Rename the account ──────────────────┐
///        │ Dr Marie Durand (3f2a…)              │
///        │ Label [Dr Marie Durand          ]    │
///        │ [CRITICAL] why it was refused        │
///        └──────────────────────────────────────┘
///        ┌ Remove the account? ─────────────────┐
///        │ Dr Marie Durand (3f2a…)              │
///        │ Its private key is deleted from here.│
///        │ [OK] a verified backup holds it      │
///        │ o: remove · any other key: keep it   │
///        └──────────────────────────────────────┘
/// ```
pub fn render(frame: &mut Frame, area: Rect, theme: &Theme, a: &AccountAction) {
    match a {
        AccountAction::Rename {
            account,
            input,
            error,
            ..
        } => {
            // As tall as the error needs: its advice is at its end.
            let error_rows = error.as_ref().map_or(3, |e| {
                let width = area.width.saturating_sub(2).min(64).saturating_sub(2);
                widgets::rows(&[level_line(theme, Level::Critical, e.clone())], width).max(3)
            });
            let height = u16::try_from(error_rows + 5).unwrap_or(u16::MAX);
            let rect = widgets::popup_area(area, 64, height);
            frame.render_widget(Clear, rect);
            let outer = block(theme, &t!("tuiacct.rename_title"));
            let inner = outer.inner(rect);
            frame.render_widget(outer, rect);
            let [head, field, foot] = Layout::vertical([
                Constraint::Length(2),
                Constraint::Length(1),
                Constraint::Min(1),
            ])
            .areas(inner);
            frame.render_widget(
                Paragraph::new(widgets::safe_lines(vec![Line::from(Span::styled(
                    t!(
                        "tuiacct.account_line",
                        label = account.label,
                        id = account.id
                    ),
                    theme.text(),
                ))]))
                .wrap(Wrap { trim: true }),
                head,
            );
            input_field(frame, field, theme, &t!("show.label"), input, false, true);
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
        AccountAction::Remove { account, error, .. } => {
            let (level, words) = backup_words(account.state);
            let mut lines = vec![
                Line::from(t!(
                    "tuiacct.account_line",
                    label = account.label,
                    id = account.id
                )),
                Line::default(),
                Line::from(t!("tuiacct.remove_key_deleted")),
                level_line(theme, level, words),
                Line::default(),
            ];
            match error {
                Some(e) => lines.push(level_line(theme, Level::Critical, e.clone())),
                None => lines.push(Line::from(t!("tuiacct.remove_keys"))),
            }
            widgets::popup(frame, area, theme, &t!("tuiacct.remove_title"), lines);
        }
    }
}
