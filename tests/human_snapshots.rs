//! The human (text) output of `status`, `crl status`, `account list`,
//! `account show` and `log`, in French and in English, for one fixed home
//! (issue 8, item 4). What changes from run to run (dates, fingerprints,
//! IDs, temporary paths) is replaced by insta filters; the rest must not
//! move. Read the French for English words (and the reverse).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Alg, Home, Pki};

/// The text of `certsafe --lang LANG ARGS...` and its exit code.
fn text(home: &Home, lang: &str, args: &[&str]) -> (String, i32) {
    let out = home
        .cmd()
        .args(["--lang", lang])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap(),
    )
}

#[test]
fn human_output_in_french_and_english() {
    let home = Home::new();
    let pki = Pki::new(Alg::Ec);
    // One account backed up and watched, one never backed up: both kinds of line.
    let ana = home.import(&pki, &pki.leaf("Dr Ana Martin", Alg::Ec), "Ana");
    home.import(
        &pki,
        &pki.leaf_valid("Dr Paul Durand", Alg::Ec, 300, 20),
        "Paul",
    );
    let sticks = tempfile::tempdir().unwrap();
    home.backup(&ana, sticks.path(), common::STRONG, "modern");
    home.watch_revocation(&pki);

    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        &regex_escape(&sticks.path().display().to_string()),
        "[STICK]",
    );
    settings.add_filter(&regex_escape(&home.path().display().to_string()), "[HOME]");
    // The backup advice names the removable drive plugged in on the machine
    // that runs the tests, or a placeholder (tests/status_drive_hint.rs).
    settings.add_filter(r"--to (/[^`]*|[A-Z_]+)`", "--to [DRIVE]`");
    settings.add_filter(r"/tmp/\.tmp\w+", "[TMP]");
    settings.add_filter(r"\b\d+ (days|jours)\b", "[N] $1");
    settings.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[DATE]");
    settings.add_filter(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?", "[TIME]");
    settings.add_filter(r"\d{4}-\d{2}-\d{2}", "[DAY]");
    settings.add_filter(r"\b[0-9a-f]{64}\b", "[FINGERPRINT]");
    settings.add_filter(&regex_escape(&ana), "[ANA]");
    settings.add_filter(r"\b[0-9a-f]{12,}\b", "[HEX]");
    settings.add_filter(r"\b[0-9A-F]{2}(:[0-9A-F]{2}){3,}\b", "[SERIAL]");
    settings.bind(|| {
        for lang in ["en", "fr"] {
            for (name, args, code) in [
                ("status", vec!["status"], 2),
                ("crl_status", vec!["crl", "status"], 0),
                ("account_list", vec!["account", "list"], 0),
                ("account_show", vec!["account", "show", ana.as_str()], 0),
                ("log", vec!["log"], 0),
            ] {
                let (out, exit) = text(&home, lang, &args);
                assert_eq!(exit, code, "{lang} {args:?}:\n{out}");
                assert!(!out.trim().is_empty(), "{lang} {args:?}");
                insta::assert_snapshot!(format!("{lang}_{name}"), out);
            }
        }
    });
}

/// A literal for a regex (paths and IDs in filters).
fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
