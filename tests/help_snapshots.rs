//! `--help` of the top level and of every subcommand, in French and in
//! English, as insta snapshots (issue 8, item 4). The subcommands are read
//! from the help itself ("Commands:" / "Commandes :"), so a new one is
//! covered without touching this file. Review a change with `cargo insta
//! review`; read the French for English words (and the reverse).
#![allow(clippy::unwrap_used)]

mod common;

/// `certsafe --lang LANG ARGS... --help`: the text and the exit code.
fn help(lang: &str, path: &[String]) -> String {
    let home = common::Home::new();
    let out = home
        .cmd()
        .args(["--lang", lang])
        .args(path)
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{path:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "{path:?}: help goes to stdout");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommand names of a help text: the first word of each two-space
/// indented line of the section that follows a line ending in ':' and
/// naming commands, up to the next blank line ("help" left out).
fn subcommands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if !inside {
            let l = line.trim_end();
            inside = l.ends_with(':') && (l.starts_with("Commands") || l.starts_with("Commandes"));
            continue;
        }
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with("  ") && !line.starts_with("   ") {
            let name = line.split_whitespace().next().unwrap_or_default();
            if name != "help" && !name.is_empty() {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// Every command path, depth first, from the English help.
fn all_paths() -> Vec<Vec<String>> {
    let mut paths = vec![Vec::new()];
    let mut i = 0;
    while i < paths.len() {
        let path = paths[i].clone();
        for sub in subcommands(&help("en", &path)) {
            let mut p = path.clone();
            p.push(sub);
            paths.push(p);
        }
        i += 1;
    }
    paths
}

#[test]
fn help_in_french_and_english() {
    let paths = all_paths();
    // The tree is really walked: top level, the groups and their members.
    for expected in [
        vec![],
        vec!["status".to_string()],
        vec!["account".to_string(), "show".to_string()],
        vec!["crl".to_string(), "status".to_string()],
    ] {
        assert!(paths.contains(&expected), "{expected:?} not in {paths:?}");
    }
    for lang in ["en", "fr"] {
        for path in &paths {
            let name = if path.is_empty() {
                format!("{lang}_certsafe")
            } else {
                format!("{lang}_{}", path.join("_"))
            };
            let text = help(lang, path);
            let sub = subcommands(&text);
            // The French help names its sections in French and the same commands.
            if lang == "fr" {
                assert_eq!(sub, subcommands(&help("en", path)), "{path:?}");
                for english in [
                    "Usage:",
                    "Options:",
                    "Commands:",
                    "Arguments:",
                    "Print help",
                    "Print this message",
                    "Print version",
                ] {
                    assert!(
                        !text.contains(english),
                        "{path:?}: {english:?} in French help:\n{text}"
                    );
                }
            }
            insta::assert_snapshot!(name, text);
        }
    }
}
