//! Time to first frame of the terminal interface with 20 accounts: load the
//! accounts and alerts from the store, then draw the home screen at 80×24
//! and 120×40. Prints figures; it is not a test.
//!
//! Run: `cargo bench --bench tui` (or `--profile dev` to skip a release build).
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use std::time::{Duration, Instant};

use certsafe::config::Config;
use certsafe::domain::home::Home;
use certsafe::domain::time::now;
use certsafe::tui::app::{App, Env, Msg, execute};
use certsafe::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const RUNS: usize = 30;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::under(dir.path());
    // 7 demo PKIs × 3 accounts = 21 accounts; the 21st is removed.
    for _ in 0..7 {
        certsafe::domain::demo::populate(&home.accounts_dir(), now()).unwrap();
    }
    let store = certsafe::domain::store::Store::open(&home.accounts_dir()).unwrap();
    let accounts = store.list().unwrap();
    store.remove(&accounts[0]).unwrap();
    assert_eq!(store.list().unwrap().len(), 20);
    let env = Env::new(home, Config::default()).with_clock(now);

    println!("time to first frame, 20 accounts, {RUNS} runs");
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        let mut times: Vec<Duration> = Vec::new();
        for _ in 0..RUNS {
            let start = Instant::now();
            let mut app = App::new(Theme::default_theme(), now());
            let answers = std::cell::RefCell::new(Vec::new());
            if let Some(effect) = app.update(Msg::Start) {
                execute(&env, effect, &|m| answers.borrow_mut().push(m));
            }
            for m in answers.into_inner() {
                app.update(m);
            }
            let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
            terminal.draw(|f| certsafe::tui::view(f, &app)).unwrap();
            times.push(start.elapsed());
        }
        times.sort();
        println!(
            "{w}x{h}: median {:.1} ms, min {:.1} ms, max {:.1} ms",
            times[RUNS / 2].as_secs_f64() * 1000.0,
            times[0].as_secs_f64() * 1000.0,
            times[RUNS - 1].as_secs_f64() * 1000.0
        );
    }
}
