//! The layer rule, checked by reading the sources (docs/architecture.md,
//! "Layers"):
//!
//! - `src/domain/**` never names ratatui, crossterm, tui-input or clap, nor
//!   `crate::cli` / `crate::tui`, nor the `crate::config` re-export (the
//!   configuration lives in `domain/config.rs`; the front ends may use either
//!   path);
//! - `src/cli/**` never names `crate::tui`, and `src/tui/**` never names
//!   `crate::cli`: they meet in `lib.rs` (`run_tui`), which `main.rs` hands to
//!   `cli::main_with_args`;
//! - `src/app/**` (the application layer: one `Env`, the use cases) names
//!   `domain` and never `crate::cli` / `crate::tui` nor a terminal crate;
//!   the front ends may name `app`;
//! - no top-level module and `domain` import each other both ways.
//!
//! A plain text scan: comments (`//`, `//!`, `///`) and string literals are
//! dropped, then every path the file writes is looked at (`use a::b`,
//! `a::b::c(...)`, `#[derive(a::B)]`), so a fully qualified call is caught as
//! well as a `use`.

use std::path::{Path, PathBuf};

/// A rule broken: the file, the line and what it named.
#[derive(Debug, PartialEq, Eq)]
struct Breach {
    file: String,
    line: usize,
    found: String,
}

fn sources_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The code of one line with comments and the inside of string literals
/// removed (`in_string` carries a literal across lines).
fn code_of(line: &str, in_string: &mut bool) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if *in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    *in_string = false;
                    out.push('"');
                }
                _ => {}
            }
            continue;
        }
        match c {
            '/' if chars.peek() == Some(&'/') => break,
            '"' => {
                *in_string = true;
                out.push('"');
            }
            // A char literal such as '"' must not open a string.
            '\'' => {
                let rest: String = chars.clone().take(3).collect();
                if rest.starts_with('\\') || rest.chars().nth(1) == Some('\'') {
                    while let Some(n) = chars.next() {
                        if n == '\\' {
                            chars.next();
                        } else if n == '\'' {
                            break;
                        }
                    }
                } else {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Every `a::b` path root and the segment after it, plus the roots of `use`
/// groups (`use crate::{cli, tui}` gives `crate::cli` and `crate::tui`).
fn paths_in(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < bytes.len() {
        if ident(bytes[i]) && (i == 0 || !ident(bytes[i - 1]) && bytes[i - 1] != ':') {
            let start = i;
            while i < bytes.len() && (ident(bytes[i]) || bytes[i] == ':') {
                i += 1;
            }
            let path: String = bytes[start..i].iter().collect();
            if path.contains("::") {
                found.push(path.trim_end_matches(':').to_string());
                // `crate::{cli, tui::app}`: each member of the group.
                if path.ends_with("::") && bytes.get(i) == Some(&'{') {
                    let end = bytes[i..]
                        .iter()
                        .position(|&c| c == '}')
                        .map_or(bytes.len(), |p| i + p);
                    let group: String = bytes[i + 1..end].iter().collect();
                    for member in group.split(',') {
                        let member = member.trim();
                        if !member.is_empty() {
                            found.push(format!("{path}{member}"));
                        }
                    }
                }
            } else if path == "use" || path == "extern" {
                // `use ratatui;` / `extern crate clap;`: the next word.
                let rest: String = bytes[i..].iter().collect();
                let word: String = rest
                    .trim_start()
                    .trim_start_matches("crate ")
                    .chars()
                    .take_while(|&c| ident(c))
                    .collect();
                if !word.is_empty() {
                    found.push(word);
                }
            }
        } else {
            i += 1;
        }
    }
    found
}

/// Paths named by the files under `dir` (relative to `src`) that start with
/// one of `banned` (a path equal to it, or continuing with `::`).
fn breaches(src: &Path, dir: &str, banned: &[&str]) -> Vec<Breach> {
    let mut out = Vec::new();
    let root = src.join(dir);
    let files = if root.is_dir() {
        sources_under(&root)
    } else {
        let file = src.join(format!("{dir}.rs"));
        if file.exists() {
            vec![file]
        } else {
            Vec::new()
        }
    };
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        let mut in_string = false;
        for (n, line) in text.lines().enumerate() {
            let code = code_of(line, &mut in_string);
            for path in paths_in(&code) {
                let hit = banned.iter().any(|b| {
                    path == *b || path.starts_with(&format!("{b}::")) || {
                        // `::ratatui::x` and `self::` forms aside, a bare root.
                        path.trim_start_matches("::") == *b
                    }
                });
                if hit {
                    out.push(Breach {
                        file: file
                            .strip_prefix(src)
                            .unwrap_or(&file)
                            .display()
                            .to_string(),
                        line: n + 1,
                        found: path,
                    });
                }
            }
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

const TERMINAL_CRATES: &[&str] = &[
    "ratatui",
    "crossterm",
    "tui_input",
    "clap",
    "clap_complete",
    "clap_mangen",
];

#[test]
fn domain_names_no_terminal_crate_and_no_front_end() {
    let mut banned = TERMINAL_CRATES.to_vec();
    banned.extend([
        "crate::cli",
        "crate::tui",
        "certsafe::cli",
        "certsafe::tui",
        "crate::config",
    ]);
    let found = breaches(&src(), "domain", &banned);
    assert_eq!(
        found,
        Vec::<Breach>::new(),
        "domain must stay below the front ends"
    );
}

#[test]
fn app_names_the_domain_and_no_front_end() {
    let mut banned = TERMINAL_CRATES.to_vec();
    banned.extend(["crate::cli", "crate::tui", "certsafe::cli", "certsafe::tui"]);
    let found = breaches(&src(), "app", &banned);
    assert_eq!(found, Vec::<Breach>::new(), "app sits below the front ends");
    // And it is really there, on top of the domain.
    let below = breaches(&src(), "app", &["crate::domain"]);
    assert!(!below.is_empty(), "app uses the domain");
    let up = breaches(&src(), "domain", &["crate::app"]);
    assert_eq!(up, Vec::<Breach>::new(), "domain never names app");
}

#[test]
fn cli_never_names_the_tui() {
    let found = breaches(
        &src(),
        "cli",
        &["crate::tui", "ratatui", "crossterm", "tui_input"],
    );
    assert_eq!(
        found,
        Vec::<Breach>::new(),
        "cli reaches the TUI only through main_with_args' launcher"
    );
}

#[test]
fn tui_never_names_the_cli() {
    let found = breaches(&src(), "tui", &["crate::cli", "clap"]);
    assert_eq!(
        found,
        Vec::<Breach>::new(),
        "the TUI renders domain data, not the CLI's"
    );
}

/// `lib.rs` is the one wiring point: it names both front ends, and `main.rs`
/// passes its launcher to the CLI.
#[test]
fn the_front_ends_meet_in_lib_and_main_only() {
    let lib = breaches(&src(), "lib", &["cli", "tui"]);
    assert!(lib.iter().any(|b| b.found.starts_with("tui::")), "{lib:?}");
    assert!(lib.iter().any(|b| b.found.starts_with("cli::")), "{lib:?}");
    let main = std::fs::read_to_string(src().join("main.rs")).expect("main.rs");
    assert!(
        main.contains("certsafe::run_tui"),
        "main.rs hands the launcher to the CLI"
    );
}

/// No top-level module and `domain` depend on each other both ways
/// (`config` used to: it now lives in `domain/config.rs`).
#[test]
fn no_module_and_domain_import_each_other() {
    let src = src();
    let mut cycles = Vec::new();
    for entry in std::fs::read_dir(&src).expect("src") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if matches!(name.as_str(), "domain" | "main" | "lib") {
            continue;
        }
        let module = format!("crate::{name}");
        let down = breaches(&src, &name, &["crate::domain"]);
        let up = breaches(&src, "domain", &[&module]);
        if !down.is_empty() && !up.is_empty() {
            cycles.push((name, up));
        }
    }
    assert_eq!(cycles, Vec::<(String, Vec<Breach>)>::new());
}

/// The scanner itself: it must see what the rules look for, so a breach
/// cannot pass because the scan went blind.
#[test]
fn the_scanner_sees_uses_qualified_paths_and_groups() {
    let mut s = false;
    let seen = |line: &str| {
        let mut st = false;
        paths_in(&code_of(line, &mut st))
    };
    assert!(seen("use ratatui::widgets::Block;").contains(&"ratatui::widgets::Block".into()));
    assert!(
        seen("let t = crate::tui::theme::Theme::default();")
            .iter()
            .any(|p| p.starts_with("crate::tui"))
    );
    assert!(seen("use crate::{cli::Context, tui};").contains(&"crate::tui".into()));
    assert!(seen("use crossterm;").contains(&"crossterm".into()));
    assert!(
        seen("#[derive(clap::Parser)]")
            .iter()
            .any(|p| p.starts_with("clap::"))
    );
    // Comments and strings are not code.
    assert!(seen("// use ratatui::x;").is_empty());
    assert!(seen("let s = \"crate::tui::x\";").is_empty());
    assert!(paths_in(&code_of("let s = \"open", &mut s)).is_empty());
    assert!(
        paths_in(&code_of("crate::tui::x\";", &mut s)).is_empty(),
        "still in the literal"
    );
    assert!(!s);
    // A char literal holding a quote does not hide the rest of the line.
    assert!(
        seen("let q = '\"'; crate::tui::run();")
            .iter()
            .any(|p| p.starts_with("crate::tui"))
    );
    // And on a planted file the rule fires.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("domain")).expect("mkdir");
    std::fs::write(
        dir.path().join("domain/x.rs"),
        "fn f() {\n    crate::tui::run();\n}\n",
    )
    .expect("write");
    let found = breaches(dir.path(), "domain", &["crate::tui"]);
    assert_eq!(
        found,
        vec![Breach {
            file: "domain/x.rs".into(),
            line: 2,
            found: "crate::tui::run".into()
        }]
    );
}
