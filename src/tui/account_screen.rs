//! The account screen (`a` on the home screen): the account's current
//! certificate, its backup state and what the last backup lacks, every
//! identity of its history, and its last journal entries. `f` forgets the
//! selected earlier identity after a confirmation (`o`/`y` only).

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use time::OffsetDateTime;

use super::app::{Effect, Env, Load, Msg, Outcome, is_yes};
use super::theme::Theme;
use super::widgets::{self, block, level_line, level_span};
use crate::domain::journal::Entry;
use crate::domain::status::Level;
use crate::domain::store::BackupState;
use crate::domain::time::date;
use crate::t;

/// Journal entries the screen shows at most (as many as the home popup).
pub const JOURNAL_LINES: usize = super::home::JOURNAL_LINES;

/// Hex characters of a fingerprint shown on screen.
const SHORT_FP: usize = 16;

pub use crate::app::{AccountView, IdentityRow, LastBackup};

/// Forgetting one earlier identity: the action the confirmation holds and
/// gives back once confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forget {
    /// The account.
    pub account: String,
    /// Its label (for the question).
    pub label: String,
    /// The earlier identity's fingerprint.
    pub fingerprint: String,
    /// Its validity, for the question.
    pub from: OffsetDateTime,
    /// End of validity.
    pub to: OffsetDateTime,
}

/// What the screen is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Looking, choosing an identity.
    Browse,
    /// "Forget this identity?" (only `o`/`y` confirms).
    Confirm(Forget),
    /// The identity is being forgotten.
    Working,
}

/// The account screen's state.
#[derive(Debug)]
pub struct AccountScreen {
    /// The account's ID.
    pub id: String,
    /// What is shown (None while loading).
    pub view: Option<AccountView>,
    /// Why loading failed.
    pub error: Option<crate::app::Error>,
    /// The selected identity (0: the current one).
    pub selected: usize,
    /// Lines scrolled past at the top.
    pub scroll: usize,
    /// The most lines worth scrolling past, as the last draw found it (the
    /// width decides how lines wrap; like ratatui's `ListState` offset, the
    /// draw records what it could show so the keys stop at the end).
    pub max_scroll: std::cell::Cell<usize>,
    /// Browsing, confirming or working.
    pub mode: Mode,
    /// The outcome of the last action, shown above the details.
    pub message: Option<(Level, String)>,
}

impl AccountScreen {
    /// The screen of account `id`, loading.
    pub fn new(id: String) -> (Self, Load) {
        let effect = Load::Account(id.clone());
        (
            Self {
                id,
                view: None,
                error: None,
                selected: 0,
                scroll: 0,
                max_scroll: std::cell::Cell::new(usize::MAX),
                mode: Mode::Browse,
                message: None,
            },
            effect,
        )
    }

    /// Whether every key belongs to the screen (a confirmation is open:
    /// `q` and `?` then keep the identity like any other key).
    pub fn captures_keys(&self) -> bool {
        matches!(self.mode, Mode::Confirm(_))
    }

    /// Handles a key.
    pub fn on_key(&mut self, key: KeyEvent) -> Outcome {
        match &self.mode {
            Mode::Confirm(forget) => {
                // Only the explicit yes key confirms; Esc, Enter, `n` and
                // any other key keep the identity.
                if is_yes(key.code) {
                    let forget = forget.clone();
                    self.mode = Mode::Working;
                    return Outcome::effect(Effect::Forget(forget));
                }
                self.mode = Mode::Browse;
                self.message = Some((Level::Ok, t!("tuiaccount.kept")));
                return Outcome::None;
            }
            Mode::Working => return Outcome::None,
            Mode::Browse => {}
        }
        let count = self.view.as_ref().map_or(0, |v| v.identities.len());
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => {
                if self.selected + 1 < count {
                    self.selected += 1;
                    self.follow_selection();
                } else {
                    // Past the last identity, the page scrolls on.
                    self.scroll_by(1);
                }
            }
            KeyCode::Up | KeyCode::Char('k') => {
                let top = self.identity_line(0);
                self.scroll = self.scroll.min(self.max_scroll.get());
                if self.scroll > top {
                    self.scroll -= 1;
                } else {
                    self.selected = self.selected.saturating_sub(1);
                    self.follow_selection();
                }
            }
            KeyCode::PageDown | KeyCode::Char(' ') => self.scroll_by(5),
            KeyCode::PageUp => {
                self.scroll = self.scroll.min(self.max_scroll.get()).saturating_sub(5);
            }
            KeyCode::Home => self.scroll = 0,
            KeyCode::Char('f') => return self.ask_forget(),
            KeyCode::Char('l') => return Outcome::Load(Load::Account(self.id.clone())),
            KeyCode::Esc => return Outcome::Home,
            _ => {}
        }
        Outcome::None
    }

    fn scroll_by(&mut self, n: usize) {
        let lines = self.view.as_ref().map_or(1, |v| document(v, 0).0.len());
        self.scroll = (self.scroll + n)
            .min(lines.saturating_sub(1))
            .min(self.max_scroll.get());
    }

    /// The document line of identity `i` (see [`document`]).
    fn identity_line(&self, i: usize) -> usize {
        self.view
            .as_ref()
            .map_or(0, |v| document(v, i).1.unwrap_or(0))
    }

    /// Keeps the selected identity and a few lines above it in view.
    fn follow_selection(&mut self) {
        let line = self.identity_line(self.selected);
        let history_top = self.identity_line(0).saturating_sub(1);
        if line < self.scroll {
            self.scroll = line;
        } else if line > self.scroll + 6 {
            self.scroll = line - 6;
        }
        if self.selected == 0 {
            self.scroll = self.scroll.min(history_top);
        }
    }

    fn ask_forget(&mut self) -> Outcome {
        let Some(view) = &self.view else {
            return Outcome::None;
        };
        let Some(row) = view.identities.get(self.selected) else {
            return Outcome::None;
        };
        if row.current {
            self.message = Some((Level::Warning, t!("tuiaccount.forget_current")));
            return Outcome::None;
        }
        self.message = None;
        self.mode = Mode::Confirm(Forget {
            account: view.id.clone(),
            label: view.label.clone(),
            fingerprint: row.fingerprint.clone(),
            from: row.not_before,
            to: row.not_after,
        });
        Outcome::None
    }

    /// Handles a worker's message.
    pub fn on_msg(&mut self, msg: Msg) -> Outcome {
        match msg {
            Msg::AccountLoaded(_, Ok(view)) => {
                self.selected = self.selected.min(view.identities.len().saturating_sub(1));
                self.view = Some(view);
                self.error = None;
            }
            Msg::AccountLoaded(_, Err(e)) => self.error = Some(e),
            Msg::Forgotten(result) => {
                self.mode = Mode::Browse;
                self.message = Some(match result {
                    Ok(fp) => (
                        Level::Ok,
                        t!("tuiaccount.forgotten", fingerprint = short(&fp)),
                    ),
                    Err(e) => (Level::Critical, e.to_string()),
                });
                return Outcome::Load(Load::Account(self.id.clone()));
            }
            _ => {}
        }
        Outcome::None
    }
}

/// Loads what the account screen shows ([`crate::app::load_account`],
/// with the screen's number of journal lines).
pub fn load(env: &Env, id: &str) -> Result<AccountView, crate::app::Error> {
    crate::app::load_account(env, id, JOURNAL_LINES)
}

/// Forgets one earlier identity ([`crate::app::forget_identity`]).
/// Returns the fingerprint forgotten.
pub fn forget(env: &Env, forget: &Forget) -> Result<String, crate::app::Error> {
    crate::app::forget_identity(env, &forget.account, &forget.fingerprint)
}

/// The first characters of a fingerprint.
pub fn short(fp: &str) -> &str {
    fp.get(..SHORT_FP).unwrap_or(fp)
}

/// Key hints.
pub fn hints(s: &AccountScreen) -> Vec<(&'static str, String)> {
    match s.mode {
        Mode::Confirm(_) => vec![
            ("Yes", t!("tuiaccount.key_forget")),
            ("Esc", t!("tuiaccount.key_keep")),
        ],
        Mode::Working => vec![("", t!("tuiaccount.working"))],
        Mode::Browse => vec![
            ("↑↓", t!("tui.key_choose")),
            ("f", t!("tuiaccount.key_forget")),
            ("PgDn", t!("tui.key_scroll")),
            ("Esc", t!("tui.key_back")),
        ],
    }
}

/// Help lines.
pub fn help(s: &AccountScreen) -> Vec<String> {
    let mut lines = widgets::help_lines(hints(s));
    if s.mode == Mode::Browse {
        lines.push(format!(
            "{:<6} {}",
            widgets::key_name("PgUp"),
            t!("tui.key_scroll")
        ));
        lines.push(format!("{:<6} {}", "l", t!("tui.key_reload")));
    }
    lines
}

fn state_level(state: BackupState) -> Level {
    match state {
        BackupState::Ok => Level::Ok,
        BackupState::Old => Level::Warning,
        BackupState::None | BackupState::Outdated => Level::Critical,
    }
}

/// What an identity's validity says: `[LEVEL] words`.
fn validity(row: &IdentityRow) -> (Level, String) {
    if row.expired {
        (
            Level::Critical,
            t!("tuiaccount.expired_on", date = date(row.not_after)),
        )
    } else if let Some(days) = row.expiring_in {
        (Level::Warning, t!("tuiaccount.expires_in", days = days))
    } else {
        (Level::Ok, t!("tuiaccount.valid"))
    }
}

/// The screen's text, one entry per paragraph line (each wraps on screen),
/// with the index of identity `selected`'s line.
///
/// ```text
/// Label         Dr Marie Durand
/// E-mail        durand@…
/// Subject       CN=…
/// Valid         from … to …  [OK] valid
/// Fingerprint   3f2a9c0b1d4e5f60
/// Backup        [CRITICAL] backup outdated
/// Last backup   2022-07-10 /media/CLE_USB/… (CLE_USB)
/// [WARNING] the last backup lacks …
///
/// Identities (2, newest first)
/// > 3f2a…  2022-01-01 → 2025-01-01  current  [OK] valid
///   8a7b…  2019-01-01 → 2022-01-01  superseded on …, kept for old mail
///
/// Last journal entries
/// 2022-07-01 account imported: …
/// ```
fn document(v: &AccountView, selected: usize) -> (Vec<DocLine>, Option<usize>) {
    let mut out = Vec::new();
    let kv = |key: &str, value: String| DocLine::Kv(t!(key), value);
    out.push(kv("show.label", v.label.clone()));
    out.push(kv(
        "show.email",
        v.email.clone().unwrap_or_else(|| t!("show.none")),
    ));
    if let Some(current) = v.identities.first() {
        out.push(kv("show.subject", current.subject.clone()));
        out.push(DocLine::KvLevel(
            t!("show.valid"),
            t!(
                "show.valid_range",
                from = date(current.not_before),
                to = date(current.not_after)
            ),
            validity(current),
        ));
        out.push(kv("show.fingerprint", short(&current.fingerprint).into()));
    }
    out.push(DocLine::KvLevel(
        t!("show.backup"),
        String::new(),
        (
            state_level(v.state),
            t!(&format!("tui.state_{}", v.state.word())),
        ),
    ));
    out.push(kv(
        "show.last_backup",
        match &v.last_backup {
            None => t!("tuiaccount.never"),
            Some(b) => match &b.drive {
                Some(drive) => t!(
                    "tuiaccount.last_backup_on",
                    date = date(b.at),
                    path = b.path,
                    drive = drive
                ),
                None => format!("{} {}", date(b.at), b.path),
            },
        },
    ));
    let missing = v.missing();
    if !missing.is_empty() {
        let list: Vec<&str> = missing.iter().map(|r| short(&r.fingerprint)).collect();
        out.push(DocLine::Level(
            Level::Critical,
            t!(
                "tuiaccount.backup_lacks",
                count = missing.len(),
                list = list.join(", ")
            ),
        ));
    } else if v.last_backup.is_some() && v.identities.len() > 1 {
        out.push(DocLine::Level(Level::Ok, t!("tuiaccount.backup_has_all")));
    }
    out.push(DocLine::Blank);
    out.push(DocLine::Heading(t!(
        "tuiaccount.identities",
        count = v.identities.len()
    )));
    let mut selected_line = None;
    for (i, row) in v.identities.iter().enumerate() {
        if i == selected {
            selected_line = Some(out.len());
        }
        let mut words = Vec::new();
        if row.current {
            words.push(t!("show.identity_current"));
        } else if let Some(at) = row.superseded_at {
            words.push(t!("show.identity_superseded", date = date(at)));
        }
        let (level, validity) = validity(row);
        if !row.current {
            words.push(t!("tuiaccount.kept_for_old_mail"));
        }
        if row.missing_from_last_backup {
            words.push(t!("tuiaccount.not_in_last_backup"));
        }
        out.push(DocLine::Identity {
            selected: i == selected,
            text: format!(
                "{}  {} → {}  {}",
                short(&row.fingerprint),
                date(row.not_before),
                date(row.not_after),
                words.join(", ")
            ),
            level,
            validity,
        });
    }
    out.push(DocLine::Blank);
    out.push(DocLine::Heading(t!("tuiaccount.journal")));
    if v.journal.is_empty() {
        out.push(DocLine::Muted(t!("tui.journal_empty")));
    }
    for e in &v.journal {
        out.push(DocLine::Journal(e.clone()));
    }
    (out, selected_line)
}

/// One line of the document, before styling.
enum DocLine {
    Blank,
    Heading(String),
    Muted(String),
    Kv(String, String),
    KvLevel(String, String, (Level, String)),
    Level(Level, String),
    Identity {
        selected: bool,
        text: String,
        level: Level,
        validity: String,
    },
    Journal(Entry),
}

impl DocLine {
    fn styled(self, theme: &Theme) -> Line<'static> {
        match self {
            Self::Blank => Line::default(),
            Self::Heading(t) => Line::from(Span::styled(t, theme.title())),
            Self::Muted(t) => Line::from(Span::styled(t, theme.muted())),
            Self::Kv(k, v) => widgets::kv(theme, &k, &v),
            Self::KvLevel(k, v, (level, words)) => {
                let mut line = widgets::kv(theme, &k, &v);
                if !v.is_empty() {
                    line.push_span(Span::raw("  "));
                }
                line.push_span(level_span(theme, level));
                line.push_span(Span::styled(format!(" {words}"), theme.text()));
                line
            }
            Self::Level(level, text) => level_line(theme, level, text),
            Self::Identity {
                selected,
                text,
                level,
                validity,
            } => {
                let (marker, style) = if selected {
                    ("> ", theme.selected())
                } else {
                    ("  ", theme.text())
                };
                Line::from(vec![
                    Span::styled(format!("{marker}{}", widgets::plain(theme, &text)), style),
                    Span::raw(" "),
                    level_span(theme, level),
                    Span::styled(format!(" {validity}"), theme.text()),
                ])
            }
            Self::Journal(e) => super::home::journal_line(theme, &e),
        }
    }
}

/// Rows a line takes once wrapped at `width`.
fn rows(line: &Line<'static>, width: u16) -> usize {
    Paragraph::new(line.clone())
        .wrap(Wrap { trim: false })
        .line_count(width)
        .max(1)
}

/// Draws the account screen. Whole lines only: when the text is longer
/// than the screen, a marker row says there is more above or below.
///
/// ```text
/// ┌ Account: Dr Marie Durand ──────────────────────────┐
/// │[OK] identity … forgotten          (last action)     │
/// │↑ more above (PgUp)                                  │
/// │Label         Dr Marie Durand                        │
/// │…  (see `document`)                                  │
/// │↓ more below (PgDn)                                  │
/// └─────────────────────────────────────────────────────┘
///            ┌ Forget an identity? ─────────┐  (confirmation popup)
///            │… mail becomes UNREADABLE …   │
///            │o or y: forget · other: keep  │
///            └──────────────────────────────┘
/// ```
pub fn render(frame: &mut Frame, area: Rect, theme: &Theme, s: &AccountScreen) {
    let title = s.view.as_ref().map_or_else(
        || t!("tuiaccount.title", label = s.id),
        |v| t!("tuiaccount.title", label = v.label),
    );
    let outer = block(theme, &title);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let Some(view) = &s.view else {
        let text = s
            .error
            .as_ref()
            .map_or_else(|| t!("tui.loading"), ToString::to_string);
        frame.render_widget(widgets::wrapped(text, theme.text()), inner);
        return;
    };
    let mut top_lines = Vec::new();
    if let Some((level, text)) = &s.message {
        top_lines.push(level_line(theme, *level, text.clone()));
    }
    if let Some(e) = &s.error {
        top_lines.push(level_line(theme, Level::Critical, e.to_string()));
    }
    if s.mode == Mode::Working {
        top_lines.push(Line::from(Span::styled(
            t!("tuiaccount.working"),
            theme.accent(),
        )));
    }
    let top_rows: usize = top_lines.iter().map(|l| rows(l, inner.width)).sum();
    let top_height = u16::try_from(top_rows)
        .unwrap_or(0)
        .min(inner.height.saturating_sub(3));
    let [top_area, doc_area] =
        Layout::vertical([Constraint::Length(top_height), Constraint::Min(1)]).areas(inner);
    if top_height > 0 {
        frame.render_widget(
            Paragraph::new(widgets::safe_lines(top_lines)).wrap(Wrap { trim: false }),
            top_area,
        );
    }

    let (doc, selected_line) = document(view, s.selected);
    let lines: Vec<Line<'static>> = doc.into_iter().map(|d| d.styled(theme)).collect();
    let heights: Vec<usize> = lines.iter().map(|l| rows(l, doc_area.width)).collect();
    let height = usize::from(doc_area.height);
    // The last lines fill the screen at most (with the "more above" row).
    let mut max_first = lines.len();
    let mut tail = 0;
    while max_first > 0 && tail + heights[max_first - 1] < height {
        max_first -= 1;
        tail += heights[max_first];
    }
    s.max_scroll.set(max_first);
    let mut first = s.scroll.min(max_first);
    // The selected identity is not left below the view (scrolling on past
    // the history may leave it above; `f`'s question names it anyway).
    if let Some(sel) = selected_line.filter(|_| s.selected > 0) {
        while first < sel && heights[first..=sel].iter().sum::<usize>() + 2 > height {
            first += 1;
        }
    }
    let above = first > 0;
    let mut budget = height.saturating_sub(usize::from(above));
    let mut shown = Vec::new();
    let mut last = first;
    while last < lines.len() {
        let rest: usize = heights[last..].iter().sum();
        // Room for this line, and for the "more below" marker if others follow.
        let need = heights[last] + usize::from(rest > budget);
        if need > budget && !shown.is_empty() {
            break;
        }
        if heights[last] > budget {
            break;
        }
        budget -= heights[last];
        shown.push(lines[last].clone());
        last += 1;
    }
    let mut out = Vec::new();
    if above {
        out.push(Line::from(Span::styled(
            widgets::plain(theme, &t!("tuiaccount.more_above")),
            theme.muted(),
        )));
    }
    out.extend(shown);
    if last < lines.len() {
        out.push(Line::from(Span::styled(
            widgets::plain(theme, &t!("tuiaccount.more_below")),
            theme.muted(),
        )));
    }
    frame.render_widget(
        Paragraph::new(widgets::safe_lines(out)).wrap(Wrap { trim: false }),
        doc_area,
    );

    if let Mode::Confirm(f) = &s.mode {
        let lines = vec![
            Line::from(t!(
                "tuiaccount.confirm",
                fingerprint = short(&f.fingerprint),
                from = date(f.from),
                to = date(f.to),
                label = f.label
            )),
            Line::default(),
            Line::from(t!("tuiaccount.confirm_keys")),
        ];
        confirm_popup(frame, theme, lines);
    }
}

/// The confirmation, as tall as its wrapped text needs (the question must
/// never be cut: it is the warning).
fn confirm_popup(frame: &mut Frame, theme: &Theme, lines: Vec<Line<'static>>) {
    use ratatui::widgets::Clear;
    let area = frame.area();
    // `popup_area` keeps a column free on each side.
    let width = area.width.saturating_sub(2).min(64);
    let inner = width.saturating_sub(2);
    let rows: usize = lines.iter().map(|l| rows(l, inner)).sum();
    let height = u16::try_from(rows + 2).unwrap_or(u16::MAX);
    let rect = widgets::popup_area(area, width, height);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(widgets::safe_lines(lines))
            .wrap(Wrap { trim: false })
            .block(block(theme, &t!("tuiaccount.confirm_title"))),
        rect,
    );
}
