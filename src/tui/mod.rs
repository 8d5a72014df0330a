//! The terminal interface: a thin layer over `domain`. `app` holds the state
//! machine, each screen draws itself, effects run on worker threads.

pub mod account;
pub mod account_screen;
pub mod app;
pub mod backup;
pub mod correspondent;
pub mod crl;
pub mod home;
pub mod import;
pub mod request;
pub mod restore;
pub mod theme;
pub mod widgets;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use ratatui::Frame;
use ratatui::crossterm::event::{self, Event};
use ratatui::text::Line;

use app::{App, Effect, Env, Msg, Overlay, Screen};
use theme::Theme;

/// Time between ticks (spinner; the drive list refreshes every 4 ticks).
pub const TICK: Duration = Duration::from_millis(250);

/// Draws the whole screen. Pure: reads the app, writes the frame.
///
/// ```text
///  certsafe — <screen title>                       [LEVEL]
/// ┌ body ─────────────────────────────────────────────────┐
/// └───────────────────────────────────────────────────────┘
///  the current notice, wrapped               (when there is one)
///  key · hint · key · hint · ? help · q quit
/// ```
pub fn view(frame: &mut Frame, app: &App) {
    let (title_area, body, hints_area) = widgets::frame_layout(frame.area());
    let theme = &app.theme;
    // The notice takes the lines it needs above the hints (up to half the body).
    let notice: Vec<String> = app.notice.as_ref().map_or_else(Vec::new, |n| {
        widgets::wrap_words(
            &widgets::plain(theme, n),
            usize::from(body.width.saturating_sub(1)),
            0,
        )
    });
    let notice_rows = u16::try_from(notice.len())
        .unwrap_or(u16::MAX)
        .min(body.height / 2);
    let [body, notice_area] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Min(3),
        ratatui::layout::Constraint::Length(notice_rows),
    ])
    .areas(body);
    let (title, keys, help) = match &app.screen {
        Screen::Home => {
            let level = home::overall(app);
            let title = format!(
                "{} [{}]",
                crate::t!("tui.home_title"),
                widgets::level_word(level)
            );
            home::render(frame, body, app);
            (title, home::hints(app), home::help())
        }
        Screen::Backup(w) => {
            backup::render(frame, body, theme, w);
            (crate::t!("tui.backup"), backup::hints(w), backup::help(w))
        }
        Screen::Restore(w) => {
            restore::render(frame, body, theme, w);
            (
                crate::t!("tui.restore"),
                restore::hints(w),
                restore::help(w),
            )
        }
        Screen::Details(s) => {
            account_screen::render(frame, body, theme, s);
            (
                crate::t!("tuiaccount.screen_title"),
                account_screen::hints(s),
                account_screen::help(s),
            )
        }
        Screen::Crl(s) => {
            crl::render(frame, body, theme, s, app.now);
            (crate::t!("tui.crl_title"), crl::hints(s), crl::help(s))
        }
        Screen::Import(w) => {
            import::render(frame, body, theme, w, app.now);
            (
                crate::t!("tuiacct.import"),
                import::hints(w),
                import::help(w),
            )
        }
        Screen::Account(a) => {
            home::render(frame, body, app);
            account::render(frame, frame.area(), theme, a);
            (
                crate::t!("tui.home_title"),
                account::hints(a),
                account::help(a),
            )
        }
    };
    widgets::title(frame, title_area, theme, &title);
    // Under a confirmation, the hints are the confirmation's own keys.
    let keys = if app.overlay == Some(Overlay::ConfirmQuit) {
        vec![
            ("Yes", crate::t!("tui.key_leave")),
            ("Esc", crate::t!("tui.key_stay")),
        ]
    } else {
        with_help_and_quit(keys, app.typing())
    };
    if !notice.is_empty() {
        let lines: Vec<Line<'static>> = notice
            .into_iter()
            .map(|l| Line::from(format!(" {l}")))
            .collect();
        frame.render_widget(
            ratatui::widgets::Paragraph::new(widgets::safe_lines(lines)).style(theme.accent()),
            notice_area,
        );
    }
    widgets::hints(frame, hints_area, theme, &keys);
    match app.overlay {
        Some(Overlay::Help) => {
            // The footer's rows, a blank line and the borders stay free.
            let area = frame.area();
            let inner =
                usize::from(area.width.min(64).min(area.width.saturating_sub(2))).saturating_sub(2);
            let footer = widgets::wrap_words(&crate::t!("tui.help_footer"), inner, 0).len();
            let room = usize::from(area.height.saturating_sub(2)).saturating_sub(footer + 3);
            let mut lines: Vec<Line<'static>> = widgets::help_columns(help, room, inner)
                .into_iter()
                .map(Line::from)
                .collect();
            lines.push(Line::default());
            lines.push(Line::from(crate::t!("tui.help_footer")));
            widgets::popup(
                frame,
                frame.area(),
                theme,
                &crate::t!("tui.help_title"),
                lines,
            );
        }
        Some(Overlay::ConfirmQuit) => {
            let lines = vec![
                Line::from(crate::t!("tui.confirm_quit")),
                Line::default(),
                Line::from(crate::t!("tui.confirm_quit_keys")),
            ];
            widgets::popup(
                frame,
                frame.area(),
                theme,
                &crate::t!("tui.quit_title"),
                lines,
            );
        }
        Some(Overlay::Journal) => {
            if let Some((title, lines)) = home::journal_popup(app) {
                widgets::popup(frame, frame.area(), theme, &title, lines);
            }
        }
        None => {}
    }
    widgets::scrub(frame.buffer_mut());
}

/// `keys` with the help and quit keys at the end, when the screen did not
/// name them: `?` and `q`, or `F1` and `Ctrl+C` while a text field takes
/// letters. A confirmation's hints (its yes key) are left as they are.
fn with_help_and_quit(
    mut keys: Vec<(&'static str, String)>,
    typing: bool,
) -> Vec<(&'static str, String)> {
    let has = |keys: &[(&str, String)], names: &[&str]| keys.iter().any(|(k, _)| names.contains(k));
    if has(&keys, &["Yes"]) {
        return keys;
    }
    if !has(&keys, &["?", "F1"]) {
        keys.push((if typing { "F1" } else { "?" }, crate::t!("tui.key_help")));
    }
    if !has(&keys, &["q", "Ctrl+C"]) {
        keys.push((
            if typing { "Ctrl+C" } else { "q" },
            crate::t!("tui.key_quit"),
        ));
    }
    keys
}

fn spawn(env: &Env, tx: &mpsc::Sender<Msg>, effect: Effect) {
    let env = env.clone();
    let tx = tx.clone();
    std::thread::spawn(move || {
        app::execute(&env, effect, &|m| {
            let _ = tx.send(m);
        });
    });
}

/// Runs the interface until the user quits. The terminal is restored on
/// exit, on error and on panic (`ratatui::run`).
pub fn run(env: &Env, theme: Theme) -> std::io::Result<()> {
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut app = App::new(theme, (env.now)());
    // A polite kill (SIGTERM) ends the loop like `q` does, so the terminal is
    // restored. A closed terminal (SIGHUP) leaves no terminal to restore and
    // can leave crossterm spinning on the dead tty: throwaway (demo) homes are
    // removed and the process ends at once.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGTERM,
    ])?;
    let stop_flag = std::sync::Arc::clone(&stop);
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal == signal_hook::consts::SIGHUP {
                crate::domain::demo::abort_cleanup();
                std::process::exit(128 + signal);
            }
            stop_flag.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    if let Some(e) = app.update(Msg::Start) {
        spawn(env, &tx, e);
    }
    ratatui::run(|terminal| {
        let mut last_tick = Instant::now();
        loop {
            while let Ok(msg) = rx.try_recv() {
                if let Some(e) = app.update(msg) {
                    spawn(env, &tx, e);
                }
            }
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return Ok(());
            }
            terminal.draw(|f| view(f, &app))?;
            if app.quit {
                return Ok(());
            }
            // Short polls so a worker's result shows at once; ticks stay at TICK.
            let timeout = TICK
                .saturating_sub(last_tick.elapsed())
                .min(Duration::from_millis(50));
            if event::poll(timeout)? {
                if let Event::Key(key) = event::read()? {
                    if let Some(e) = app.update(Msg::Key(key)) {
                        spawn(env, &tx, e);
                    }
                }
            }
            if last_tick.elapsed() >= TICK {
                last_tick = Instant::now();
                if let Some(e) = app.update(Msg::Tick(env.now())) {
                    spawn(env, &tx, e);
                }
            }
        }
    })
}
