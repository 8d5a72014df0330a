//! Correspondents from the CRL screen: add one from a certificate file or a
//! signed `.eml` (the restore wizard's picker finds the file), remove one
//! after an o/y confirmation, look addresses up in the LDAP directory of
//! `[directory] url`. The same domain calls and checks as the CLI's
//! `correspondent lookup`: only end-entity certificates that chain to a
//! trusted CA and are neither expired nor revoked are added.

use std::path::PathBuf;

use ratatui::Frame;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::app::{Effect, Env, Msg, Outcome, is_yes};
use super::crl::CorrespondentRow;
use super::restore::{self, Purpose, RestoreWizard};
use super::theme::Theme;
use super::widgets::{self, SPINNER, block, input_field, kv, level_line, list_lines};
use crate::domain::correspondent::{self, Candidate, FileKind};
use crate::domain::ldap::lookup::{self, LookupError, LookupReport, SkipReason};
use crate::domain::status::Level;
use crate::domain::time::rfc3339;
use crate::domain::trust::Imported;
use crate::t;

/// Work for the worker thread.
pub enum Job {
    /// List the files of a kind in a folder (answers `Msg::FilesFound`).
    Scan(PathBuf, FileKind),
    /// Read and judge the certificates of a file.
    Examine(PathBuf),
    /// Add the accepted candidates.
    Add(Vec<Candidate>),
    /// Stop watching a correspondent (its fingerprint).
    Remove(String),
    /// Look an address up in the configured directory.
    Lookup(String),
}

/// Why a lookup could not run, as a code and its parameters.
#[derive(Debug, Clone)]
pub enum LookupFailure {
    /// `[directory] url` is not set.
    NoDirectory,
    /// The URL is refused.
    BadDirectory {
        /// The URL.
        url: String,
        /// Why (already in the reader's language).
        detail: String,
    },
    /// The stores cannot be read or written.
    Store(String),
}

impl LookupFailure {
    /// The words for it.
    pub fn words(&self) -> String {
        match self {
            Self::NoDirectory => t!("tuicorr.no_directory"),
            Self::BadDirectory { url, detail } => {
                t!("lookupcli.bad_directory", url = url, detail = detail)
            }
            Self::Store(e) => e.clone(),
        }
    }
}

/// The worker's answers.
pub enum Answer {
    /// What a file holds, judged.
    Examined(Result<Vec<Candidate>, String>),
    /// What adding did.
    Added(Result<Vec<Imported>, String>),
    /// The subject of the removed correspondent.
    Removed(Result<String, String>),
    /// What a lookup did.
    LookedUp(Result<LookupReport, LookupFailure>),
}

/// Runs a job; the answer comes back as a message.
pub fn run(env: &Env, job: Job) -> Msg {
    let cenv = crate::domain::crl::Env::new(&env.home, &env.config);
    let now = (env.now)();
    match job {
        Job::Scan(dir, kind) => Msg::FilesFound(correspondent::scan(&dir, kind)),
        Job::Examine(path) => Msg::Correspondent(Answer::Examined(
            correspondent::examine(&cenv, &path, now).map_err(|e| e.to_string()),
        )),
        Job::Add(found) => Msg::Correspondent(Answer::Added(
            correspondent::add(&cenv, &found).map_err(|e| e.to_string()),
        )),
        Job::Remove(fp) => Msg::Correspondent(Answer::Removed(
            cenv.correspondent_store()
                .remove(&fp)
                .map(|c| c.info.subject)
                .map_err(|e| e.to_string()),
        )),
        Job::Lookup(email) => {
            let url = env.config.directory.url.trim().to_string();
            let result = if url.is_empty() {
                Err(LookupFailure::NoDirectory)
            } else {
                let bounds = lookup::bounds_of(&cenv);
                lookup::lookup(&cenv, &url, &[email], &bounds, now).map_err(|e| match e {
                    LookupError::Directory(d) => LookupFailure::BadDirectory {
                        url: url.clone(),
                        detail: d.to_string(),
                    },
                    LookupError::Trust(t) => LookupFailure::Store(t.to_string()),
                })
            };
            Msg::Correspondent(Answer::LookedUp(result))
        }
    }
}

/// Rewrites the picker's outcome: its folder scans list `kind`, and
/// leaving its first step comes back here (`None`) instead of home.
pub fn picker_outcome(out: Outcome, kind: FileKind) -> Option<Outcome> {
    match out {
        Outcome::Effect(e) => match *e {
            Effect::ScanFolder(dir) => {
                Some(Outcome::effect(Effect::Correspondent(Job::Scan(dir, kind))))
            }
            other => Some(Outcome::effect(other)),
        },
        Outcome::Home => None,
        Outcome::None => Some(Outcome::None),
        load @ Outcome::Load(_) => Some(load),
    }
}

/// The file chosen on the picker's file step when `key` is Enter.
pub fn picked_file(w: &RestoreWizard, key: KeyEvent) -> Option<PathBuf> {
    if key.code != KeyCode::Enter {
        return None;
    }
    match &w.step {
        restore::Step::Files {
            files: Some(files),
            selected,
            ..
        } => files.get(*selected).cloned(),
        _ => None,
    }
}

/// A picker for files of this purpose.
pub fn picker(purpose: Purpose) -> RestoreWizard {
    let mut w = RestoreWizard::new(Vec::new());
    w.purpose = purpose;
    w
}

/// What the correspondents' part of the CRL screen is doing.
#[derive(Default)]
pub enum Mode {
    /// Nothing: the CRL screen has the keys.
    #[default]
    Idle,
    /// Choosing the file.
    Pick(Box<RestoreWizard>),
    /// Reading it.
    Reading(PathBuf),
    /// What it holds: Enter adds the accepted ones.
    Found {
        /// The file.
        file: PathBuf,
        /// Its certificates.
        found: Vec<Candidate>,
    },
    /// Adding.
    Adding,
    /// Which correspondent to remove.
    Choose {
        /// Selected row.
        selected: usize,
    },
    /// "Remove this one?": only o/y confirms.
    Confirm(CorrespondentRow),
    /// Removing.
    Removing,
    /// The address to look up.
    Email {
        /// The field.
        input: Input,
        /// Why it was refused.
        error: Option<String>,
    },
    /// Looking up.
    LookingUp(String),
}

/// The correspondents' part of the CRL screen.
#[derive(Default)]
pub struct Panel {
    /// What it is doing.
    pub mode: Mode,
    /// What the last action did, one line each.
    pub notes: Vec<(Level, String)>,
    /// The last lookup's result, as data.
    pub lookup: Option<Result<LookupReport, LookupFailure>>,
}

impl std::fmt::Debug for Panel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Panel")
            .field("notes", &self.notes)
            .finish_non_exhaustive()
    }
}

impl Panel {
    /// Whether the panel has the keys (and the body of the screen).
    pub fn active(&self) -> bool {
        !matches!(self.mode, Mode::Idle)
    }

    /// Whether a text field has the focus.
    pub fn typing(&self) -> bool {
        match &self.mode {
            Mode::Pick(w) => w.typing(),
            Mode::Email { .. } => true,
            _ => false,
        }
    }

    /// Ticks: the picker refreshes its drives.
    pub fn on_tick(&mut self, ticks: u64) -> Option<Effect> {
        match &mut self.mode {
            Mode::Pick(w) => w.on_tick(ticks),
            _ => None,
        }
    }

    /// `a`: choose a file.
    pub fn start_add(&mut self) -> Outcome {
        self.notes.clear();
        self.mode = Mode::Pick(Box::new(picker(Purpose::Correspondent)));
        Outcome::effect(Effect::RefreshDrives(false))
    }

    /// `d`: choose the correspondent to remove.
    pub fn start_remove(&mut self, rows: &[CorrespondentRow]) -> Outcome {
        self.notes.clear();
        if rows.is_empty() {
            self.notes
                .push((Level::Unknown, t!("tuicorr.nothing_to_remove")));
        } else {
            self.mode = Mode::Choose { selected: 0 };
        }
        Outcome::None
    }

    /// `l`: ask for an address.
    pub fn start_lookup(&mut self) -> Outcome {
        self.notes.clear();
        self.mode = Mode::Email {
            input: Input::default(),
            error: None,
        };
        Outcome::None
    }

    /// Handles a key while active.
    pub fn on_key(&mut self, key: KeyEvent, rows: &[CorrespondentRow]) -> Outcome {
        match &mut self.mode {
            Mode::Idle | Mode::Reading(_) | Mode::Adding | Mode::Removing | Mode::LookingUp(_) => {
                Outcome::None
            }
            Mode::Pick(w) => {
                if let Some(file) = picked_file(w, key) {
                    self.mode = Mode::Reading(file.clone());
                    return Outcome::effect(Effect::Correspondent(Job::Examine(file)));
                }
                let out = w.on_key(key);
                picker_outcome(out, FileKind::Certificates).unwrap_or_else(|| {
                    self.mode = Mode::Idle;
                    Outcome::None
                })
            }
            Mode::Found { found, .. } => match key.code {
                KeyCode::Enter if found.iter().any(Candidate::accepted) => {
                    let found = std::mem::take(found);
                    self.mode = Mode::Adding;
                    Outcome::effect(Effect::Correspondent(Job::Add(found)))
                }
                KeyCode::Esc | KeyCode::Enter => {
                    self.mode = Mode::Idle;
                    Outcome::None
                }
                _ => Outcome::None,
            },
            Mode::Choose { selected } => match key.code {
                KeyCode::Up | KeyCode::Char('k') => {
                    *selected = selected.saturating_sub(1);
                    Outcome::None
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    *selected = (*selected + 1).min(rows.len().saturating_sub(1));
                    Outcome::None
                }
                KeyCode::Enter | KeyCode::Char('d') | KeyCode::Delete => {
                    self.mode = match rows.get(*selected) {
                        Some(row) => Mode::Confirm(row.clone()),
                        None => Mode::Idle,
                    };
                    Outcome::None
                }
                KeyCode::Esc => {
                    self.mode = Mode::Idle;
                    Outcome::None
                }
                _ => Outcome::None,
            },
            Mode::Confirm(row) => {
                // Only the explicit yes key confirms; anything else keeps
                // the correspondent.
                if is_yes(key.code) {
                    let fp = row.fingerprint.clone();
                    self.mode = Mode::Removing;
                    return Outcome::effect(Effect::Correspondent(Job::Remove(fp)));
                }
                self.mode = Mode::Idle;
                Outcome::None
            }
            Mode::Email { input, error } => match key.code {
                KeyCode::Enter => {
                    let email = input.value().trim().to_string();
                    if !plausible_email(&email) {
                        *error = Some(t!("tuicorr.bad_email"));
                        return Outcome::None;
                    }
                    self.mode = Mode::LookingUp(email.clone());
                    Outcome::effect(Effect::Correspondent(Job::Lookup(email)))
                }
                KeyCode::Esc => {
                    self.mode = Mode::Idle;
                    Outcome::None
                }
                _ => {
                    input.handle_event(&Event::Key(key));
                    *error = None;
                    Outcome::None
                }
            },
        }
    }

    /// Handles a worker's answer; `true` when the list must be reloaded.
    pub fn on_msg(&mut self, msg: Msg) -> (Outcome, bool) {
        match (msg, &mut self.mode) {
            (Msg::Correspondent(Answer::Examined(result)), Mode::Reading(file)) => {
                let file = file.clone();
                match result {
                    Ok(found) => self.mode = Mode::Found { file, found },
                    Err(e) => {
                        self.notes = vec![(Level::Critical, e)];
                        self.mode = Mode::Idle;
                    }
                }
                (Outcome::None, false)
            }
            (Msg::Correspondent(Answer::Added(result)), Mode::Adding) => {
                self.notes = match result {
                    Ok(list) => list.iter().map(added_note).collect(),
                    Err(e) => vec![(Level::Critical, e)],
                };
                self.mode = Mode::Idle;
                (Outcome::None, true)
            }
            (Msg::Correspondent(Answer::Removed(result)), Mode::Removing) => {
                self.notes = vec![match result {
                    Ok(subject) => (
                        Level::Ok,
                        t!("trustcli.correspondent_removed", subject = subject),
                    ),
                    Err(e) => (Level::Critical, e),
                }];
                self.mode = Mode::Idle;
                (Outcome::None, true)
            }
            (Msg::Correspondent(Answer::LookedUp(result)), Mode::LookingUp(_)) => {
                self.notes = match &result {
                    Ok(report) => lookup_notes(report),
                    Err(e) => vec![(Level::Unknown, e.words())],
                };
                self.lookup = Some(result);
                self.mode = Mode::Idle;
                (Outcome::None, true)
            }
            (other, Mode::Pick(w)) => (w.on_msg(other), false),
            _ => (Outcome::None, false),
        }
    }
}

/// Enough of an address to search for: something@something, no spaces.
fn plausible_email(s: &str) -> bool {
    let mut parts = s.splitn(2, '@');
    let (Some(local), Some(domain)) = (parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn added_note(i: &Imported) -> (Level, String) {
    let key = format!("trustcli.{}", i.action);
    let level = if i.action == "skipped" {
        Level::Warning
    } else {
        Level::Ok
    };
    (level, t!(&key, subject = i.subject))
}

fn skip_words(reason: SkipReason) -> String {
    t!(&format!("lookupcli.skip_{}", reason.word()))
}

/// One line per certificate imported or skipped, per address.
pub fn lookup_notes(report: &LookupReport) -> Vec<(Level, String)> {
    let mut out = Vec::new();
    for a in &report.addresses {
        if let Some(e) = &a.error {
            out.push((
                Level::Critical,
                t!("lookupcli.failed", email = a.email, detail = e.to_string()),
            ));
            continue;
        }
        if a.entries == 0 {
            out.push((Level::Unknown, t!("lookupcli.no_entry", email = a.email)));
        }
        for f in &a.imported {
            let key = format!("trustcli.{}", f.action);
            out.push((Level::Ok, t!(&key, subject = f.subject)));
        }
        for s in &a.skipped {
            let what = s.subject.clone().unwrap_or_else(|| s.dn.clone());
            out.push((
                Level::Warning,
                t!("lookupcli.skipped", what = what, why = skip_words(s.reason)),
            ));
        }
        if a.entries > 0 && a.imported.is_empty() && a.skipped.is_empty() {
            out.push((Level::Unknown, t!("tuicorr.no_certificate_in_entry")));
        }
        if a.truncated {
            out.push((
                Level::Warning,
                t!(
                    "lookupcli.truncated",
                    email = a.email,
                    max = lookup::MAX_ENTRIES
                ),
            ));
        }
    }
    out
}

/// Key hints while active.
pub fn hints(p: &Panel) -> Vec<(&'static str, String)> {
    let back = ("Esc", t!("tui.key_back"));
    match &p.mode {
        Mode::Idle => Vec::new(),
        Mode::Pick(w) => restore::hints(w),
        Mode::Reading(_) | Mode::Adding | Mode::Removing | Mode::LookingUp(_) => {
            vec![("", t!("tuicorr.wait"))]
        }
        Mode::Found { found, .. } if found.iter().any(Candidate::accepted) => {
            vec![("Enter", t!("tuicorr.key_add")), back]
        }
        Mode::Found { .. } => vec![("Esc", t!("tui.key_back"))],
        Mode::Choose { .. } => vec![
            ("↑↓", t!("tui.key_choose")),
            ("Enter", t!("tuicorr.key_remove")),
            back,
        ],
        Mode::Confirm(_) => vec![
            ("o/y", t!("tuicorr.key_yes_remove")),
            ("", t!("tuicorr.key_other_keeps")),
        ],
        Mode::Email { .. } => vec![
            ("Enter", t!("tuicorr.key_search")),
            back,
            ("F1", t!("tui.key_help")),
        ],
    }
}

fn candidate_lines(theme: &Theme, c: &Candidate) -> Vec<Line<'static>> {
    let (level, verdict) = match c.verdict {
        Ok(_) if c.present => (Level::Ok, t!("tuicorr.already")),
        Ok(state) => (
            Level::Ok,
            t!(
                "tuicorr.will_add",
                state = t!(&format!("state.{}", state.word()))
            ),
        ),
        Err(SkipReason::Ca) => (Level::Unknown, t!("tuicorr.is_ca")),
        Err(reason) => (
            Level::Critical,
            t!("tuicorr.refused", why = skip_words(reason)),
        ),
    };
    let mut lines = vec![level_line(theme, level, c.name.clone())];
    if !c.emails.is_empty() {
        lines.push(kv(theme, &t!("tuicorr.email"), &c.emails.join(", ")));
    }
    lines.push(kv(
        theme,
        &t!("tuicorr.expires"),
        &rfc3339(c.info.not_after),
    ));
    lines.push(kv(theme, &t!("tuicorr.issuer"), &c.info.issuer));
    let chain = if matches!(c.verdict, Err(SkipReason::Untrusted)) {
        t!("tuicorr.chain_untrusted")
    } else if matches!(c.verdict, Err(SkipReason::Ca)) {
        "-".to_string()
    } else {
        t!("tuicorr.chain_trusted")
    };
    lines.push(kv(theme, &t!("tuicorr.chain"), &chain));
    lines.push(Line::from(Span::styled(
        format!("  {verdict}"),
        theme.text(),
    )));
    lines.push(Line::default());
    lines
}

/// Draws the panel over the screen's body.
///
/// ```text
/// ┌ Add a correspondent: what the file holds ───────┐
/// │ file: /media/CLE/dr-x.eml                       │
/// │ [OK] Dr X                                       │
/// │ E-mail       x@hopital.fr                       │
/// │ Expires      2027-01-01T00:00:00Z               │
/// │ Chain        chains to a trusted CA             │
/// │   will be added (good)                          │
/// └─────────────────────────────────────────────────┘
/// ```
pub fn render(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    p: &Panel,
    rows: &[CorrespondentRow],
    spin: usize,
) {
    let spin = SPINNER[spin % 4];
    let (title, lines): (String, Vec<Line<'static>>) = match &p.mode {
        Mode::Idle => return,
        Mode::Pick(w) => {
            restore::render(frame, area, theme, w);
            return;
        }
        Mode::Reading(file) => (
            t!("tuicorr.add_title"),
            vec![Line::from(Span::styled(
                format!("{spin} {}", t!("tuicorr.reading", file = file.display())),
                theme.text(),
            ))],
        ),
        Mode::Adding | Mode::Removing => (
            t!("tui.correspondents"),
            vec![Line::from(Span::styled(
                format!("{spin} {}", t!("tuicorr.wait")),
                theme.text(),
            ))],
        ),
        Mode::LookingUp(email) => (
            t!("tuicorr.lookup_title"),
            vec![Line::from(Span::styled(
                format!("{spin} {}", t!("tuicorr.searching", email = email)),
                theme.text(),
            ))],
        ),
        Mode::Found { file, found } => {
            let mut lines = vec![
                kv(theme, &t!("tuicorr.file"), &file.display().to_string()),
                Line::default(),
            ];
            for c in found {
                lines.extend(candidate_lines(theme, c));
            }
            if !found.iter().any(Candidate::accepted) {
                lines.push(level_line(
                    theme,
                    Level::Warning,
                    t!("tuicorr.nothing_to_add"),
                ));
            }
            (t!("tuicorr.add_title"), lines)
        }
        Mode::Choose { selected } => {
            let items: Vec<String> = rows.iter().map(row_text).collect();
            let mut lines = vec![
                Line::from(Span::styled(t!("tuicorr.choose_remove"), theme.text())),
                Line::default(),
            ];
            lines.extend(list_lines(theme, &items, *selected));
            (t!("tuicorr.remove_title"), lines)
        }
        Mode::Confirm(row) => (
            t!("tuicorr.remove_title"),
            vec![
                Line::from(Span::styled(
                    t!("tuicorr.confirm_remove", name = row_text(row)),
                    theme.text(),
                )),
                Line::default(),
                Line::from(Span::styled(t!("tuicorr.confirm_keys"), theme.accent())),
            ],
        ),
        Mode::Email { input, error } => {
            let outer = block(theme, &t!("tuicorr.lookup_title"));
            let inner = outer.inner(area);
            frame.render_widget(outer, area);
            let [field, foot, _, head] = Layout::vertical([
                Constraint::Length(1),
                Constraint::Length(2),
                Constraint::Length(1),
                Constraint::Min(1),
            ])
            .areas(inner);
            input_field(
                frame,
                field,
                theme,
                &t!("tuicorr.email"),
                input,
                false,
                true,
            );
            if let Some(e) = error {
                frame.render_widget(
                    Paragraph::new(level_line(theme, Level::Critical, e.clone()))
                        .wrap(Wrap { trim: true }),
                    foot,
                );
            }
            frame.render_widget(
                widgets::wrapped(t!("tuicorr.lookup_intro"), theme.text()),
                head,
            );
            return;
        }
    };
    frame.render_widget(
        Paragraph::new(widgets::safe_lines(lines))
            .wrap(Wrap { trim: false })
            .block(block(theme, &title)),
        area,
    );
}

fn row_text(r: &CorrespondentRow) -> String {
    match &r.email {
        Some(e) => format!("{} <{e}>", r.name),
        None => r.name.clone(),
    }
}
