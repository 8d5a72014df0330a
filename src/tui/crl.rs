//! The CRL screen: each CRL with its state, dates, delta CRL and source; an update with
//! live progress per CRL; the correspondents and their states.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use time::OffsetDateTime;

use super::app::{Effect, Load, Msg, Outcome};
use super::correspondent::{self, Panel};
use super::theme::Theme;
use super::widgets::{self, SPINNER, block, level_line, level_span};
use crate::domain::crl::check::{CertState, reason_words};
use crate::domain::crl::delta::DeltaEntry;
use crate::domain::crl::update::{CrlProgress, Outcome as FetchOutcome, SlotReport};
use crate::domain::crl::{CrlEntry, short_name};
use crate::domain::drives::human_bytes;
use crate::domain::igc::{Hierarchy, Report as IgcReport};
use crate::domain::status::Level;
use crate::domain::time::rfc3339;
use crate::t;

pub use crate::app::CorrespondentRow;

/// One CRL's download during an update.
#[derive(Debug, Clone)]
pub struct Download {
    /// The slot key.
    pub key: String,
    /// The issuer.
    pub issuer: String,
    /// Bytes received.
    pub bytes: u64,
    /// Content-Length.
    pub total: Option<u64>,
    /// The result, once finished.
    pub done: Option<SlotReport>,
}

/// Where the "trust IGC-Santé" action stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IgcStep {
    /// Not asked.
    #[default]
    Idle,
    /// Asked: production (`p`) or TEST (`t`)?
    Choosing,
    /// Fetching and verifying.
    Running(Hierarchy),
}

/// The CRL screen's state.
#[derive(Debug, Default)]
pub struct CrlScreen {
    /// Adding, removing, looking up correspondents.
    pub corr: Panel,
    /// The "trust IGC-Santé" action.
    pub igc: IgcStep,
    /// CRLs (None while loading).
    pub entries: Option<Vec<CrlEntry>>,
    /// Correspondents.
    pub correspondents: Vec<CorrespondentRow>,
    /// Why loading failed (made into text when drawn).
    pub error: Option<crate::app::Error>,
    /// An update is running.
    pub updating: bool,
    /// Waiting for another update's lock.
    pub waiting_lock: bool,
    /// Downloads of the running (or last) update.
    pub downloads: Vec<Download>,
    /// Message of the last update.
    pub summary: Option<(Level, String)>,
    /// First line shown (scrolling).
    pub scroll: usize,
    /// Spinner frame.
    pub spin: usize,
}

impl CrlScreen {
    /// A screen that is loading; `update` starts an update at once.
    pub fn new(update: bool) -> Self {
        Self {
            updating: update,
            ..Self::default()
        }
    }

    /// Ticks turn the spinner (and refresh a picker's drives).
    pub fn on_tick(&mut self, ticks: u64) -> Option<Effect> {
        self.spin = usize::try_from(ticks % 4).unwrap_or(0);
        self.corr.on_tick(ticks)
    }

    /// Whether a text field has the focus.
    pub fn typing(&self) -> bool {
        self.corr.typing()
    }

    /// Handles a key.
    pub fn on_key(&mut self, key: KeyEvent) -> Outcome {
        if self.corr.active() {
            return self.corr.on_key(key, &self.correspondents);
        }
        match self.igc {
            IgcStep::Idle => {}
            IgcStep::Choosing => {
                let hierarchy = match key.code {
                    KeyCode::Char('p' | 'P') => Hierarchy::Production,
                    KeyCode::Char('t' | 'T') => Hierarchy::Test,
                    _ => {
                        self.igc = IgcStep::Idle;
                        return Outcome::None;
                    }
                };
                self.igc = IgcStep::Running(hierarchy);
                self.summary = None;
                return Outcome::effect(Effect::TrustIgc(hierarchy));
            }
            IgcStep::Running(_) => {
                return if key.code == KeyCode::Esc {
                    Outcome::Home
                } else {
                    Outcome::None
                };
            }
        }
        match key.code {
            KeyCode::Char('i') if !self.updating => {
                self.igc = IgcStep::Choosing;
                Outcome::None
            }
            KeyCode::Char('a' | '+') if !self.updating => self.corr.start_add(),
            KeyCode::Char('d') | KeyCode::Delete if !self.updating => {
                self.corr.start_remove(&self.correspondents)
            }
            KeyCode::Char('l') if !self.updating => self.corr.start_lookup(),
            KeyCode::Char('u') | KeyCode::Enter if !self.updating => self.start(false),
            KeyCode::Char('f') if !self.updating => self.start(true),
            KeyCode::Down | KeyCode::Char('j') => {
                self.scroll += 1;
                Outcome::None
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.scroll = self.scroll.saturating_sub(1);
                Outcome::None
            }
            KeyCode::Esc => Outcome::Home,
            _ => Outcome::None,
        }
    }

    fn start(&mut self, force: bool) -> Outcome {
        self.updating = true;
        self.downloads.clear();
        self.summary = None;
        Outcome::effect(Effect::UpdateCrls(force))
    }

    /// Handles a worker's message.
    pub fn on_msg(&mut self, msg: Msg) -> Outcome {
        if self.corr.active() && !matches!(msg, Msg::CrlsLoaded(..) | Msg::CrlProgress(_)) {
            let (out, reload) = self.corr.on_msg(msg);
            return if reload {
                Outcome::Load(Load::Crls)
            } else {
                out
            };
        }
        match msg {
            Msg::CrlsLoaded(_, Ok((entries, correspondents))) => {
                self.entries = Some(entries);
                self.correspondents = correspondents;
                self.error = None;
            }
            Msg::CrlsLoaded(_, Err(e)) => {
                self.entries = Some(Vec::new());
                self.error = Some(e);
            }
            Msg::CrlProgress(p) => self.progress(p),
            Msg::IgcTrusted(result) => {
                self.igc = IgcStep::Idle;
                self.summary = Some(igc_summary(result));
                return Outcome::Load(Load::Crls);
            }
            Msg::CrlUpdated(result) => {
                // The list below shows each CRL's new state; the per-download
                // lines were for the wait.
                self.downloads.clear();
                self.updating = false;
                self.waiting_lock = false;
                self.summary = Some(match result {
                    Ok(report) if report.crls.is_empty() => {
                        (Level::Unknown, t!("crlcli.nothing_to_update"))
                    }
                    Ok(report) if report.failed() => (Level::Warning, t!("tui.crl_update_failed")),
                    Ok(_) => (Level::Ok, t!("tui.crl_update_done")),
                    Err(e) => (Level::Critical, e.to_string()),
                });
                return Outcome::Load(Load::Crls);
            }
            _ => {}
        }
        Outcome::None
    }

    fn progress(&mut self, p: CrlProgress) {
        match p {
            CrlProgress::WaitingForLock => self.waiting_lock = true,
            CrlProgress::Planned { .. } => self.waiting_lock = false,
            CrlProgress::Started { key, issuer, .. } => {
                self.downloads.retain(|d| d.key != key);
                self.downloads.push(Download {
                    key,
                    issuer,
                    bytes: 0,
                    total: None,
                    done: None,
                });
            }
            CrlProgress::Received {
                key, bytes, total, ..
            } => {
                if let Some(d) = self.downloads.iter_mut().find(|d| d.key == key) {
                    d.bytes = bytes;
                    d.total = total;
                }
            }
            CrlProgress::Finished(report) => {
                match self.downloads.iter_mut().find(|d| d.key == report.key) {
                    Some(d) => d.done = Some(report),
                    None => self.downloads.push(Download {
                        key: report.key.clone(),
                        issuer: report.issuer.clone(),
                        bytes: 0,
                        total: None,
                        done: Some(report),
                    }),
                }
            }
        }
    }
}

/// The result of "trust IGC-Santé" in words.
fn igc_summary(result: Result<IgcReport, crate::app::Error>) -> (Level, String) {
    let report = match result {
        Ok(r) => r,
        Err(e) => return (Level::Critical, e.to_string()),
    };
    if let Some(f) = report.failure() {
        let key = format!("igc.fail_{}", f.word());
        let test = report.hierarchy.cli_flag();
        return (Level::Critical, t!(&key, test = test));
    }
    let key = format!("igc.hierarchy_{}", report.hierarchy.word());
    let mut text = t!("igc.done", hierarchy = t!(&key), n = report.imported.len());
    if !report.refused.is_empty() {
        text = format!(
            "{text} {}",
            t!("igc.refused_count", n = report.refused.len())
        );
    }
    // Refusals are expected (the bundle holds hierarchies not pinned):
    // the count is information.
    (Level::Ok, text)
}

/// Key hints.
pub fn hints(s: &CrlScreen) -> Vec<(&'static str, String)> {
    if s.corr.active() {
        return correspondent::hints(&s.corr);
    }
    match s.igc {
        IgcStep::Idle => {}
        IgcStep::Choosing => {
            return vec![
                ("p", t!("igc.hierarchy_production")),
                ("t", t!("igc.hierarchy_test")),
                ("Esc", t!("tui.key_back")),
            ];
        }
        IgcStep::Running(_) => return vec![("", t!("igc.working"))],
    }
    if s.updating {
        return vec![("", t!("tui.crl_updating_wait"))];
    }
    vec![
        // Short labels, so that u, i, a d l, Esc, ? and q all fit at 80
        // columns in French; the help (`?`) has the long ones. The hints
        // line drops from the end first (`f`, then `↑↓`).
        ("u", t!("tui.key_update_short")),
        ("i", t!("igc.key_trust_short")),
        ("a d l", t!("tuicorr.key_correspondents")),
        ("↑↓", t!("tui.key_scroll")),
        ("f", t!("tui.key_force")),
        ("Esc", t!("tui.key_back")),
    ]
}

/// Help lines: every key, the correspondents' ones one by one.
pub fn help(s: &CrlScreen) -> Vec<String> {
    if s.corr.active() || s.igc != IgcStep::Idle || s.updating {
        return widgets::help_lines(hints(s));
    }
    widgets::help_lines(vec![
        ("u", t!("tui.key_update_crls")),
        ("f", t!("tui.key_force")),
        ("i", t!("igc.key_trust")),
        ("a", t!("tuicorr.key_add_short")),
        ("d", t!("tuicorr.key_remove_short")),
        ("l", t!("tuicorr.key_lookup")),
        ("↑↓", t!("tui.key_scroll")),
        ("Esc", t!("tui.key_back")),
    ])
}

fn outcome_level(o: FetchOutcome) -> Level {
    match o {
        FetchOutcome::Updated
        | FetchOutcome::Unchanged
        | FetchOutcome::NotModified
        | FetchOutcome::NotDue => Level::Ok,
        FetchOutcome::Unreachable | FetchOutcome::NotFetched => Level::Warning,
        FetchOutcome::Invalid | FetchOutcome::CacheError => Level::Critical,
        FetchOutcome::NoCa => Level::Unknown,
    }
}

/// The delta CRL of a CA: its state, number, base number and entries; why
/// it is not applied, or why its last fetch failed.
fn delta_lines(theme: &Theme, d: &DeltaEntry) -> Vec<Line<'static>> {
    let state = t!(&format!("state.{}", d.state.word()));
    let mut text = format!(
        "    {} — {}",
        t!("crlcli.delta"),
        t!(
            "crlcli.delta_value",
            state = state,
            number = d.crl_number.as_deref().unwrap_or("-"),
            base = d.base_crl_number.as_deref().unwrap_or("-"),
            entries = d.entries.unwrap_or(0)
        )
    );
    if let Some(why) = d.ignored {
        let words = t!(&format!("delta_ignored.{}", why.word()));
        text = format!("{text}; {}", t!("crlcli.delta_ignored", why = words));
    }
    let mut lines = vec![Line::from(Span::styled(text, theme.text()))];
    if let Some(r) = &d.reason {
        lines.push(Line::from(Span::styled(format!("    {r}"), theme.muted())));
    }
    lines
}

/// Draws the CRL screen.
///
/// ```text
/// ┌ CRLs ──────────────────────────────────────────────┐
/// │[OK] TEST AC IGC-SANTE ... fresh                     │
/// │     next update 2026-11-25, 1234 revoked            │
/// │     Delta CRL — fresh, number 0b over base 0a, ...  │  (when one exists)
/// │     http://igc-sante.esante.gouv.fr/CRL/....crl     │
/// │(during an update: one line per download)           │
/// ├ Correspondents ────────────────────────────────────┤
/// │[OK] Dr X <x@...> good                               │
/// └────────────────────────────────────────────────────┘
/// ```
pub fn render(frame: &mut Frame, area: Rect, theme: &Theme, s: &CrlScreen, now: OffsetDateTime) {
    if s.corr.active() {
        correspondent::render(frame, area, theme, &s.corr, &s.correspondents, s.spin);
        return;
    }
    let mut corr: Vec<Line<'static>> = Vec::new();
    for (level, text) in &s.corr.notes {
        corr.push(level_line(theme, *level, text.clone()));
    }
    if s.correspondents.is_empty() {
        corr.push(Line::from(Span::styled(
            t!("tuicorr.none_yet"),
            theme.muted(),
        )));
    }
    for c in &s.correspondents {
        let state_key = format!("state.{}", c.state.word());
        let email = c
            .email
            .as_ref()
            .map(|e| format!(" <{e}>"))
            .unwrap_or_default();
        let state = if c.state == CertState::Revoked {
            let date = c
                .revoked_at
                .map(crate::domain::time::date)
                .unwrap_or_default();
            t!(
                "crlcli.revoked_line",
                date = date,
                reason = reason_words(c.reason)
            )
        } else {
            t!(&state_key)
        };
        let text = format!(" {}{email} — {state}", c.name);
        corr.push(Line::from(vec![
            level_span(theme, c.state.level()),
            Span::styled(text, theme.text()),
        ]));
    }
    // The correspondents' pane is as tall as its wrapped lines (at most 12).
    let width = usize::from(area.width.saturating_sub(2).max(1));
    // Words wrap before the last column: count a little narrower.
    let narrower = (width * 3 / 4).max(1);
    let rows: usize = corr
        .iter()
        .map(|l| l.width().div_ceil(narrower).max(1))
        .sum();
    let corr_height = u16::try_from(rows.clamp(2, 12) + 2).unwrap_or(4);
    let [top, bottom] =
        Layout::vertical([Constraint::Min(5), Constraint::Length(corr_height)]).areas(area);
    let mut lines: Vec<Line<'static>> = Vec::new();
    if let Some((level, text)) = &s.summary {
        lines.push(level_line(theme, *level, text.clone()));
    }
    match s.igc {
        IgcStep::Idle => {}
        IgcStep::Choosing => {
            lines.push(Line::from(Span::styled(t!("igc.choose"), theme.accent())));
        }
        IgcStep::Running(_) => lines.push(Line::from(Span::styled(
            format!("{} {}", SPINNER[s.spin % 4], t!("igc.working")),
            theme.accent(),
        ))),
    }
    if s.updating {
        let what = if s.waiting_lock {
            t!("crlcli.waiting_lock")
        } else {
            t!("tui.crl_updating")
        };
        lines.push(Line::from(Span::styled(
            format!("{} {what}", SPINNER[s.spin % 4]),
            theme.accent(),
        )));
    }
    for d in &s.downloads {
        let name = short_name(&d.issuer);
        match &d.done {
            None => {
                let size = match d.total {
                    Some(t) => format!("{} / {}", human_bytes(d.bytes), human_bytes(t)),
                    None => human_bytes(d.bytes),
                };
                lines.push(Line::from(Span::styled(
                    format!("  {} {name}: {size}", SPINNER[s.spin % 4]),
                    theme.text(),
                )));
            }
            Some(r) => {
                let key = format!("crlcli.outcome_{}", r.outcome.word());
                let mut text = format!("{name}: {}", t!(&key));
                if let Some(m) = &r.reason() {
                    text = format!("{text} ({m})");
                }
                lines.push(level_line(theme, outcome_level(r.outcome), text));
            }
        }
    }
    if !lines.is_empty() {
        lines.push(Line::default());
    }
    match &s.entries {
        None => lines.push(Line::from(Span::styled(t!("tui.loading"), theme.muted()))),
        Some(entries) if entries.is_empty() => {
            lines.push(level_line(
                theme,
                Level::Unknown,
                s.error
                    .as_ref()
                    .map_or_else(|| t!("tui.crl_none"), ToString::to_string),
            ));
        }
        Some(entries) => {
            for e in entries {
                let state_key = format!("state.{}", e.state.word());
                lines.push(Line::from(vec![
                    level_span(theme, e.level(now)),
                    Span::styled(
                        format!(" {} — {}", short_name(&e.issuer), t!(&state_key)),
                        theme.text(),
                    ),
                ]));
                let mut facts = Vec::new();
                if let (Some(next), Some(n)) = (e.next_update, e.entries) {
                    facts.push(t!("crlcli.entries_next", entries = n, date = rfc3339(next)));
                }
                if let Some(reason) = &e.reason {
                    facts.push(reason.clone());
                }
                if !facts.is_empty() {
                    lines.push(Line::from(Span::styled(
                        format!("    {}", facts.join("; ")),
                        theme.text(),
                    )));
                }
                if let Some(d) = &e.delta {
                    lines.extend(delta_lines(theme, d));
                }
                // The source, unless the reason above already names it.
                let named =
                    |url: &String| e.reason.as_ref().is_some_and(|r| r.contains(url.as_str()));
                if let Some(url) = e.source.as_ref().or(e.url.as_ref()).filter(|u| !named(u)) {
                    lines.push(Line::from(Span::styled(
                        format!("    {url}"),
                        theme.muted(),
                    )));
                }
            }
        }
    }
    let scroll = u16::try_from(s.scroll.min(lines.len().saturating_sub(1))).unwrap_or(0);
    frame.render_widget(
        Paragraph::new(widgets::safe_lines(lines))
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(block(theme, &t!("tui.pane_crl"))),
        top,
    );

    frame.render_widget(
        Paragraph::new(widgets::safe_lines(corr))
            .wrap(Wrap { trim: false })
            .block(block(theme, &t!("tui.correspondents"))),
        bottom,
    );
}
