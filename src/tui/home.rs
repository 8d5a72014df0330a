//! The home screen: accounts and the four alert panes.

use std::cell::Cell;

use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::App;
use super::theme::Theme;
use super::widgets::{self, block, level_span};
use crate::domain::status::{Level, Pane};
use crate::domain::store::BackupState;
use crate::t;

/// Key hints of the home screen (in order of use: when the line is too
/// narrow, the last ones before `?` and `q` go first).
pub fn hints(app: &App) -> Vec<(&'static str, String)> {
    if app.panes.focus.is_some() {
        return vec![
            ("↑↓", t!("tui.key_scroll")),
            ("Tab", t!("tui.key_next_pane")),
            ("Esc", t!("tui.accounts")),
            ("?", t!("tui.key_help")),
            ("q", t!("tui.key_quit")),
        ];
    }
    vec![
        ("b", t!("tui.key_backup")),
        ("r", t!("tui.key_restore_short")),
        ("a", t!("tuiacct.key_add_account")),
        ("c", t!("tui.key_crls")),
        ("Tab", t!("tui.key_panes")),
        ("?", t!("tui.key_help")),
        ("q", t!("tui.key_quit")),
    ]
}

/// Help lines of the home screen.
pub fn help() -> Vec<String> {
    let mut lines = widgets::help_lines(vec![
        ("b", t!("tui.key_backup")),
        ("r", t!("tui.key_restore_short")),
        ("a", t!("tuiacct.key_add_account")),
        ("c", t!("tui.key_crls")),
        ("?", t!("tui.key_help")),
        ("q", t!("tui.key_quit")),
    ]);
    lines.insert(
        1,
        format!("{:<6} {}", widgets::key_name("Enter"), t!("tui.key_backup")),
    );
    // `u` is left out of the hints line to keep `?` and `q` at 80 columns.
    lines.push(format!("{:<6} {}", "u", t!("tui.key_update_crls")));
    lines.push(format!("{:<6} {}", "l", t!("tui.key_reload")));
    lines.push(format!("{:<6} {}", "e", t!("tui.key_journal")));
    lines.push(format!("{:<6} {}", "+", t!("tuiacct.key_add_account")));
    lines.push(format!("{:<6} {}", "n", t!("tuiacct.key_rename_account")));
    lines.push(format!("{:<6} {}", "d", t!("tuiacct.help_remove_account")));
    lines.push(format!("{:<6} {}", "v", t!("tuiaccount.key_account")));
    lines.push(format!("{:<6} {}", "Tab", t!("tui.help_panes")));
    lines
}

/// Entries of the journal popup at most.
pub const JOURNAL_LINES: usize = 8;

/// The journal popup: the last entries of the selected account, oldest
/// first, each with its date (outside text is escaped by `t!` and the
/// popup's `safe_lines`).
///
/// ```text
/// ┌ Journal of Dr Durand ─────────────────────────────┐
/// │2026-05-01 account imported: Dr Durand (…)         │
/// │2026-05-02 backup written and verified: /media/…   │
/// │                                                   │
/// │Oldest first; `certsafe log --account ID` …        │
/// └───────────────────────────────────────────────────┘
/// ```
pub fn journal_popup(app: &App) -> Option<(String, Vec<Line<'static>>)> {
    let data = app.data.as_ref()?;
    let account = data.accounts.get(app.selected)?;
    let mine: Vec<_> = data
        .journal
        .iter()
        .filter(|e| e.event.account() == Some(account.id.as_str()))
        .collect();
    let skip = mine.len().saturating_sub(JOURNAL_LINES);
    let mut lines: Vec<Line<'static>> = mine[skip..]
        .iter()
        .map(|e| journal_line(&app.theme, e))
        .collect();
    if lines.is_empty() {
        lines.push(Line::from(t!("tui.journal_empty")));
    }
    lines.push(Line::default());
    lines.push(Line::from(t!("tui.journal_footer", id = account.id)));
    Some((t!("tui.journal_title", label = account.label), lines))
}

/// One journal entry: its date, then what happened (the popup's and the
/// account screen's lines).
pub fn journal_line(theme: &Theme, e: &crate::domain::journal::Entry) -> Line<'static> {
    let when = crate::domain::time::rfc3339(e.at);
    Line::from(vec![
        Span::styled(
            format!("{} ", when.get(..10).unwrap_or(&when)),
            theme.muted(),
        ),
        Span::raw(e.event.to_string()),
    ])
}

fn state_level(state: BackupState) -> Level {
    match state {
        BackupState::Ok => Level::Ok,
        BackupState::Old => Level::Warning,
        BackupState::None | BackupState::Outdated => Level::Critical,
    }
}

/// The four alert panes in the order Tab visits them.
pub const PANES: [Pane; 4] = [Pane::Backup, Pane::Expiry, Pane::Crl, Pane::Revocation];

fn index(p: Pane) -> usize {
    match p {
        Pane::Backup => 0,
        Pane::Expiry => 1,
        Pane::Crl => 2,
        Pane::Revocation => 3,
    }
}

/// Which alert pane has the keys (Tab) and how far each is scrolled.
///
/// How far a pane can scroll depends on the terminal's width (the wrapping),
/// so the drawing writes it into `room` and `page`, the keys read it.
#[derive(Debug, Default)]
pub struct Panes {
    /// The focused pane; `None`: the account list has the keys.
    pub focus: Option<Pane>,
    scroll: [usize; 4],
    room: [Cell<usize>; 4],
    page: [Cell<usize>; 4],
}

impl Panes {
    /// Lines pane `p` is scrolled down by.
    pub fn scroll(&self, p: Pane) -> usize {
        self.scroll[index(p)]
    }

    /// Handles a key of the home screen; `false` when it is not a pane key
    /// (the account list takes it).
    pub fn on_key(&mut self, code: KeyCode) -> bool {
        match code {
            KeyCode::Tab => {
                self.focus = match self.focus {
                    None => Some(PANES[0]),
                    Some(p) => PANES.get(index(p) + 1).copied(),
                };
                true
            }
            KeyCode::BackTab => {
                self.focus = match self.focus {
                    None => Some(PANES[3]),
                    Some(p) => index(p).checked_sub(1).map(|i| PANES[i]),
                };
                true
            }
            _ => {
                let Some(p) = self.focus else {
                    return false;
                };
                let i = index(p);
                let room = self.room[i].get();
                let page = self.page[i].get().max(1);
                let s = self.scroll[i].min(room);
                self.scroll[i] = match code {
                    KeyCode::Down | KeyCode::Char('j') => (s + 1).min(room),
                    KeyCode::Up | KeyCode::Char('k') => s.saturating_sub(1),
                    KeyCode::PageDown => (s + page).min(room),
                    KeyCode::PageUp => s.saturating_sub(page),
                    KeyCode::Home => 0,
                    KeyCode::End => room,
                    KeyCode::Esc => {
                        self.focus = None;
                        s
                    }
                    // Other keys (b, r, a…) keep their meaning.
                    _ => return false,
                };
                true
            }
        }
    }
}

/// Lines of one pane, grouped by alert (an alert, the advice): the marker
/// under a pane counts the groups it cannot show.
type Items = Vec<Vec<Line<'static>>>;

/// `[LEVEL] text` wrapped to `width`.
fn level_item(theme: &Theme, level: Level, text: &str, width: usize) -> Vec<Line<'static>> {
    let span = level_span(theme, level);
    let taken = span.width() + 1;
    let text = widgets::plain(theme, text);
    let mut rows = widgets::wrap_words(&text, width, taken).into_iter();
    let mut lines = vec![Line::from(vec![
        span,
        Span::styled(
            format!(" {}", rows.next().unwrap_or_default()),
            theme.text(),
        ),
    ])];
    lines.extend(rows.map(|r| Line::from(Span::styled(r, theme.text()))));
    lines
}

/// `→ advice` wrapped to `width`.
fn advice_item(theme: &Theme, text: &str, width: usize) -> Vec<Line<'static>> {
    widgets::wrap_words(&widgets::plain(theme, &format!("→ {text}")), width, 0)
        .into_iter()
        .map(|r| Line::from(Span::styled(r, theme.accent())))
        .collect()
}

/// What pane `which` shows, wrapped to `width`.
fn pane_items(app: &App, which: Pane, width: usize) -> Items {
    let theme = &app.theme;
    let alerts: Vec<_> = app
        .data
        .iter()
        .flat_map(|d| d.status.alerts.iter())
        .filter(|a| a.pane == which)
        .collect();
    let not_set_up = app.data.iter().any(|d| {
        d.status
            .alerts
            .iter()
            .any(|a| a.code == "revocation_not_set_up")
    });
    // Revocation not set up is said where revocation is shown, unknown, with
    // the keys that set it up (the CRL screen's "trust IGC-Santé").
    let set_up = || advice_item(theme, &t!("tui.pane_set_up_revocation"), width);
    if alerts.is_empty() && which == Pane::Revocation && not_set_up {
        return vec![
            level_item(
                theme,
                Level::Unknown,
                &t!("tui.pane_revocation_not_set_up"),
                width,
            ),
            set_up(),
        ];
    }
    if alerts.is_empty() {
        let quiet = match which {
            Pane::Backup => t!("tui.pane_backup_ok"),
            Pane::Expiry => t!("tui.pane_expiry_ok"),
            Pane::Crl => t!("tui.pane_crl_none"),
            Pane::Revocation => t!("tui.pane_revocation_none"),
        };
        return vec![level_item(theme, Level::Ok, &quiet, width)];
    }
    let mut items: Items = alerts
        .iter()
        .map(|a| level_item(theme, a.severity, &a.message, width))
        .collect();
    // The most severe alert's advice follows the alerts.
    if alerts[0].code == "revocation_not_set_up" {
        items.push(set_up());
    } else if alerts[0].code == crate::domain::status::AlertCode::NoAccount {
        // The keys here, where `status` names the commands.
        items.push(advice_item(theme, &t!("tui.pane_no_account_fix"), width));
    } else {
        items.push(advice_item(theme, &alerts[0].recommendation, width));
    }
    items
}

fn rows(items: &Items) -> usize {
    items.iter().map(Vec::len).sum()
}

/// Heights of the two rows of panes in `avail` lines: each takes what it
/// needs; when both cannot, the smaller need is met first and the other
/// takes the rest (at least 3 lines: one of text).
fn split_rows(top: usize, bottom: usize, avail: usize) -> (usize, usize) {
    if top + bottom <= avail {
        return (top, bottom);
    }
    let half = avail / 2;
    if top <= half {
        (top, avail - top)
    } else if bottom <= avail - half {
        (avail - bottom, bottom)
    } else {
        (avail - half, half)
    }
}

/// Draws the home screen body. The accounts take their rows, the panes
/// their wrapped text; what is left stays blank below. A pane with more
/// than it can show says how many alerts are below (`… and 2 more`) and
/// scrolls once focused with Tab.
///
/// ```text
/// ┌ Accounts ───────────────────────────────────────────────┐
/// │> Dr Durand                      2026-05-01 [OK] backed up│
/// └──────────────────────────────────────────────────────────┘
/// ┌ Backup ─────────────────┐┌ > Expiry ────────────────────┐
/// │[CRITICAL] no backup     ││[WARNING] expires in 20 days  │
/// │→ b: back up             ││[WARNING] Dr Martin: expires  │
/// └─────────────────────────┘└──────── … and 2 more (Tab, ↓)┘
/// ┌ CRLs ───────────────────┐┌ Revocation ──────────────────┐
/// │[OK] no CRL problem      ││[OK] no revoked certificate   │
/// └─────────────────────────┘└──────────────────────────────┘
/// ```
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let Some(data) = &app.data else {
        let text = app
            .load_error
            .as_ref()
            .map_or_else(|| t!("tui.loading"), ToString::to_string);
        frame.render_widget(
            widgets::wrapped(text, theme.text()).block(block(theme, &t!("tui.accounts"))),
            area,
        );
        return;
    };
    let inner = usize::from(area.width.saturating_sub(2)).max(1);
    let empty = if data.accounts.is_empty() {
        widgets::wrap_words(&t!("tui.no_account"), inner, 0)
    } else {
        Vec::new()
    };
    let wanted = if empty.is_empty() {
        data.accounts.len().min(8)
    } else {
        empty.len()
    } + 2;
    // Two rows of panes keep at least 3 lines each.
    let most = usize::from(area.height).saturating_sub(6).max(3);
    let accounts_height = wanted.min(most);
    let [accounts_area, panes] = Layout::vertical([
        Constraint::Length(u16::try_from(accounts_height).unwrap_or(3)),
        Constraint::Min(0),
    ])
    .areas(area);
    accounts(frame, accounts_area, app, data, &empty);

    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(panes);
    let width = |r: Rect| usize::from(r.width.saturating_sub(2)).max(1);
    let items = [
        pane_items(app, Pane::Backup, width(left)),
        pane_items(app, Pane::Expiry, width(right)),
        pane_items(app, Pane::Crl, width(left)),
        pane_items(app, Pane::Revocation, width(right)),
    ];
    let top = rows(&items[0]).max(rows(&items[1])) + 2;
    let bottom = rows(&items[2]).max(rows(&items[3])) + 2;
    let (top, bottom) = split_rows(top, bottom, usize::from(panes.height));
    let [top_area, bottom_area, _] = Layout::vertical([
        Constraint::Length(u16::try_from(top).unwrap_or(3)),
        Constraint::Length(u16::try_from(bottom).unwrap_or(3)),
        Constraint::Min(0),
    ])
    .areas(panes);
    let [backup_area, expiry_area] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(top_area);
    let [crl_area, revocation_area] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(bottom_area);
    let [backup_items, expiry_items, crl_items, revocation_items] = items;
    pane(frame, backup_area, app, Pane::Backup, backup_items);
    pane(frame, expiry_area, app, Pane::Expiry, expiry_items);
    pane(frame, crl_area, app, Pane::Crl, crl_items);
    pane(
        frame,
        revocation_area,
        app,
        Pane::Revocation,
        revocation_items,
    );
}

/// The account list: each label takes the room the row leaves.
fn accounts(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    data: &super::app::HomeData,
    empty: &[String],
) {
    let theme = &app.theme;
    let mut lines = Vec::new();
    for row in empty {
        lines.push(Line::from(Span::styled(row.clone(), theme.muted())));
    }
    let inner = usize::from(area.width.saturating_sub(2));
    let visible_rows = usize::from(area.height.saturating_sub(2)).max(1);
    // What follows the label: " 2026-05-01 [CRITICAL] no backup".
    let tail = |a: &super::app::AccountRow| {
        let level = level_span(theme, state_level(a.state)).width();
        let state = t!(&format!("tui.state_{}", a.state.word()));
        1 + 10 + 1 + level + 1 + state.chars().count()
    };
    let tails = data.accounts.iter().map(tail).max().unwrap_or(0);
    let longest = data
        .accounts
        .iter()
        .map(|a| crate::domain::text::visible(&a.label).chars().count())
        .max()
        .unwrap_or(0);
    let label_width = inner.saturating_sub(2 + tails).clamp(8, longest.max(8));
    let first = app.selected.saturating_sub(visible_rows - 1);
    for (i, a) in data
        .accounts
        .iter()
        .enumerate()
        .skip(first)
        .take(visible_rows)
    {
        let level = state_level(a.state);
        let marker = if i == app.selected { "> " } else { "  " };
        let full = crate::domain::text::visible(&a.label);
        // A cut label ends with `…`.
        let label: String = if full.chars().count() > label_width {
            let mut cut: String = full.chars().take(label_width - 1).collect();
            cut.push('…');
            widgets::plain(theme, &cut)
        } else {
            full.into_owned()
        };
        let pad = label_width.saturating_sub(label.chars().count());
        let expires = crate::domain::time::date(a.not_after);
        let base = if i == app.selected {
            theme.selected()
        } else {
            theme.text()
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{marker}{label}{} {} ", " ".repeat(pad), &expires),
                base,
            ),
            level_span(theme, level),
            Span::styled(
                format!(" {}", t!(&format!("tui.state_{}", a.state.word()))),
                theme.text(),
            ),
        ]));
    }
    let mut frame_block = block(theme, &t!("tui.accounts"));
    let below = data.accounts.len().saturating_sub(first + visible_rows);
    if empty.is_empty() && below > 0 {
        frame_block = frame_block.title_bottom(
            Line::from(Span::styled(
                widgets::plain(theme, &format!(" {} ", t!("tui.list_more", n = below))),
                theme.accent(),
            ))
            .right_aligned(),
        );
    }
    frame.render_widget(
        Paragraph::new(widgets::safe_lines(lines)).block(frame_block),
        area,
    );
}

/// One alert pane: the lines it has room for from its scroll position, a
/// `… and N more` marker in its bottom border when alerts are below, `↑ N`
/// when some are above.
fn pane(frame: &mut Frame, area: Rect, app: &App, which: Pane, items: Items) {
    let theme = &app.theme;
    let title = match which {
        Pane::Backup => t!("tui.pane_backup"),
        Pane::Expiry => t!("tui.pane_expiry"),
        Pane::Crl => t!("tui.pane_crl"),
        Pane::Revocation => t!("tui.pane_revocation"),
    };
    let focused = app.panes.focus == Some(which);
    let height = usize::from(area.height.saturating_sub(2));
    let total = rows(&items);
    let i = index(which);
    let room = total.saturating_sub(height);
    app.panes.room[i].set(room);
    app.panes.page[i].set(height);
    let offset = app.panes.scroll[i].min(room);
    let mut above = 0;
    let mut below = 0;
    let mut start = 0;
    for item in &items {
        let end = start + item.len();
        if start < offset {
            above += 1;
        }
        if end > offset + height {
            below += 1;
        }
        start = end;
    }
    let lines: Vec<Line<'static>> = items
        .into_iter()
        .flatten()
        .skip(offset)
        .take(height)
        .collect();
    let title = if focused { format!("> {title}") } else { title };
    let mut pane_block = block(theme, &title);
    if focused {
        pane_block = pane_block.border_style(theme.accent());
    }
    if above > 0 {
        pane_block = pane_block.title_bottom(Line::from(Span::styled(
            widgets::plain(theme, &format!(" ↑ {above} ")),
            theme.accent(),
        )));
    }
    if below > 0 {
        pane_block = pane_block.title_bottom(
            Line::from(Span::styled(
                widgets::plain(theme, &format!(" {} ", t!("tui.pane_more", n = below))),
                theme.accent(),
            ))
            .right_aligned(),
        );
    }
    frame.render_widget(
        Paragraph::new(widgets::safe_lines(lines)).block(pane_block),
        area,
    );
}

/// The level shown in the title line: the worst alert.
pub fn overall(app: &App) -> Level {
    app.data.as_ref().map_or(Level::Unknown, |d| d.status.level)
}
