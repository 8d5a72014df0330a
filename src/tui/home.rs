//! The home screen: accounts and the four alert panes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::app::App;
use super::theme::Theme;
use super::widgets::{self, block, level_span};
use crate::domain::status::{Level, Pane};
use crate::domain::store::BackupState;
use crate::t;

/// Key hints of the home screen.
pub fn hints() -> Vec<(&'static str, String)> {
    vec![
        ("b", t!("tui.key_backup")),
        ("r", t!("tui.key_restore_short")),
        ("a", t!("tuiacct.key_add_account")),
        ("c", t!("tui.key_crls")),
        ("?", t!("tui.key_help")),
        ("q", t!("tui.key_quit")),
    ]
}

/// Help lines of the home screen.
pub fn help() -> Vec<String> {
    let mut lines = widgets::help_lines(hints());
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

/// Draws the home screen body.
///
/// ```text
/// ┌ Accounts ───────────────────────────────────────────────┐
/// │ > Dr Durand      durand@...      2026-05-01  [OK] ok     │
/// └──────────────────────────────────────────────────────────┘
/// ┌ Backup ─────────────────┐┌ Expiry ──────────────────────┐
/// │[CRITICAL] no backup     ││[WARNING] expires in 20 days  │
/// │ → b: back up            ││ → renew                      │
/// └─────────────────────────┘└──────────────────────────────┘
/// ┌ CRLs ───────────────────┐┌ Revocation ──────────────────┐
/// └─────────────────────────┘└──────────────────────────────┘
/// ```
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let Some(data) = &app.data else {
        let text = app.load_error.clone().unwrap_or_else(|| t!("tui.loading"));
        frame.render_widget(
            widgets::wrapped(text, theme.text()).block(block(theme, &t!("tui.accounts"))),
            area,
        );
        return;
    };
    let rows = u16::try_from(data.accounts.len().clamp(1, 8)).unwrap_or(8) + 2;
    let [accounts_area, panes] =
        Layout::vertical([Constraint::Length(rows), Constraint::Min(6)]).areas(area);
    // The CRL panes take what they need (at least 3 lines), the others the rest.
    let need = |p: Pane| data.status.alerts.iter().filter(|a| a.pane == p).count() * 2 + 1;
    let bottom_height = u16::try_from(need(Pane::Crl).max(need(Pane::Revocation)).max(1) + 2)
        .unwrap_or(3)
        .min(panes.height / 2);
    let [top, bottom] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(bottom_height)]).areas(panes);
    let [backup_area, expiry_area] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(top);
    let [crl_area, revocation_area] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);

    // Accounts.
    let mut lines = Vec::new();
    if data.accounts.is_empty() {
        lines.push(Line::from(Span::styled(
            t!("tui.no_account"),
            theme.muted(),
        )));
    }
    let label_width = usize::from(area.width.saturating_sub(50)).clamp(12, 48);
    let first = app.selected.saturating_sub(7);
    for (i, a) in data.accounts.iter().enumerate().skip(first).take(8) {
        let level = state_level(a.state);
        let marker = if i == app.selected { "> " } else { "  " };
        let label: String = crate::domain::text::visible(&a.label)
            .chars()
            .take(label_width)
            .collect();
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
    frame.render_widget(
        Paragraph::new(widgets::safe_lines(lines))
            .wrap(Wrap { trim: false })
            .block(block(theme, &t!("tui.accounts"))),
        accounts_area,
    );

    pane(
        frame,
        backup_area,
        theme,
        app,
        Pane::Backup,
        &t!("tui.pane_backup"),
        &t!("tui.pane_backup_ok"),
    );
    pane(
        frame,
        expiry_area,
        theme,
        app,
        Pane::Expiry,
        &t!("tui.pane_expiry"),
        &t!("tui.pane_expiry_ok"),
    );
    pane(
        frame,
        crl_area,
        theme,
        app,
        Pane::Crl,
        &t!("tui.pane_crl"),
        &t!("tui.pane_crl_none"),
    );
    pane(
        frame,
        revocation_area,
        theme,
        app,
        Pane::Revocation,
        &t!("tui.pane_revocation"),
        &t!("tui.pane_revocation_none"),
    );
}

fn pane(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    app: &App,
    which: Pane,
    title: &str,
    quiet: &str,
) {
    let alerts: Vec<_> = app
        .data
        .iter()
        .flat_map(|d| d.status.alerts.iter())
        .filter(|a| a.pane == which)
        .collect();
    let width = usize::from(area.width.saturating_sub(2)).max(10);
    let height = usize::from(area.height.saturating_sub(2));
    // Rows a text takes once wrapped (close enough for word wrapping).
    let rows = |text: &str| text.chars().count().div_ceil(width).max(1);
    let mut lines = Vec::new();
    let not_set_up = app.data.iter().any(|d| {
        d.status
            .alerts
            .iter()
            .any(|a| a.code == "revocation_not_set_up")
    });
    if alerts.is_empty() && which == Pane::Revocation && not_set_up {
        // Nothing checked is not "nothing revoked".
        lines.push(Line::from(vec![
            level_span(theme, Level::Unknown),
            Span::styled(
                format!(" {}", t!("tui.pane_revocation_not_set_up")),
                theme.text(),
            ),
        ]));
    } else if alerts.is_empty() {
        lines.push(Line::from(vec![
            level_span(theme, Level::Ok),
            Span::styled(format!(" {quiet}"), theme.text()),
        ]));
    } else {
        // The most severe alert's advice is kept at the bottom; the alerts fill the rest.
        let advice = widgets::plain(theme, &format!("→ {}", alerts[0].recommendation));
        let budget = height.saturating_sub(rows(&advice));
        let mut used = 0;
        let mut shown = 0;
        for a in &alerts {
            let text = format!("[{}] {}", widgets::level_word(a.severity), a.message);
            let more_line = usize::from(shown + 1 < alerts.len());
            if used + rows(&text) + more_line > budget && shown > 0 {
                break;
            }
            used += rows(&text);
            shown += 1;
            lines.push(Line::from(vec![
                level_span(theme, a.severity),
                Span::styled(format!(" {}", a.message), theme.text()),
            ]));
        }
        if shown < alerts.len() {
            lines.push(Line::from(Span::styled(
                crate::t!("tui.more_alerts", n = alerts.len() - shown),
                theme.muted(),
            )));
        }
        lines.push(Line::from(Span::styled(advice, theme.accent())));
    }
    frame.render_widget(
        Paragraph::new(widgets::safe_lines(lines))
            .wrap(Wrap { trim: true })
            .block(block(theme, title)),
        area,
    );
}

/// The level shown in the title line: the worst alert.
pub fn overall(app: &App) -> Level {
    app.data.as_ref().map_or(Level::Unknown, |d| d.status.level)
}
