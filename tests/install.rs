//! What a package installs besides the binary: shell completions and man
//! pages generated from the command definition, and the systemd units.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

fn certsafe(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_certsafe"))
        .args(args)
        .env_remove("CERTSAFE_HOME")
        .output()
        .unwrap()
}

/// The visible subcommands, as `certsafe --help` would list them.
fn subcommands() -> Vec<&'static str> {
    vec![
        "demo",
        "account",
        "drives",
        "backup",
        "verify",
        "restore",
        "ca",
        "correspondent",
        "crl",
        "check",
        "status",
        "completions",
    ]
}

#[test]
fn bash_completion_completes_subcommands_and_options() {
    let out = certsafe(&["completions", "bash"]);
    assert!(out.status.success());
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(script.path(), &out.stdout).unwrap();
    let complete = |words: &str, cword: usize| -> Vec<String> {
        let run = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{words}'; \
             COMP_POINT=${{#COMP_LINE}}; \
             _certsafe certsafe \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.path().display()
        );
        let out = Command::new("bash").arg("-c").arg(run).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let words = complete("certsafe st", 1);
    assert_eq!(words, vec!["status".to_string()]);
    let words = complete("certsafe status --f", 2);
    assert!(words.contains(&"--format".to_string()), "{words:?}");
    let words = complete("certsafe backup --pro", 2);
    assert!(words.contains(&"--profile".to_string()), "{words:?}");
}

#[test]
fn zsh_and_fish_completions_name_every_subcommand() {
    for shell in ["zsh", "fish"] {
        let out = certsafe(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        for sub in subcommands() {
            assert!(text.contains(sub), "{shell}: {sub} missing");
        }
    }
    assert_eq!(certsafe(&["completions", "tcsh"]).status.code(), Some(64));
}

#[test]
fn man_pages_cover_every_subcommand_in_both_languages() {
    for lang in ["en", "fr"] {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_certsafe"))
            .args(["--lang", lang, "man", "--dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success());
        let main = std::fs::read_to_string(dir.path().join("certsafe.1")).unwrap();
        assert!(main.starts_with(".ie") || main.contains(".TH certsafe 1"));
        assert!(main.contains(".TH certsafe 1"), "{main}");
        for sub in subcommands() {
            assert!(
                dir.path().join(format!("certsafe-{sub}.1")).is_file(),
                "{lang}: no page for {sub}"
            );
        }
        assert!(dir.path().join("certsafe-crl-update.1").is_file());
        // The page speaks the language asked for: the `--home` option's help
        // differs between the two translation files.
        let backup = std::fs::read_to_string(dir.path().join("certsafe-backup.1")).unwrap();
        let en_marker = "instead of the user";
        assert_eq!(backup.contains(en_marker), lang == "en", "{lang}");
    }
    // Printed to standard output without --dir.
    let out = certsafe(&["man"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(".SH SUBCOMMANDS"));
}

#[test]
fn version_is_the_crate_version() {
    let out = certsafe(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("certsafe {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn systemd_units_are_accepted_by_systemd_analyze() {
    if !common::require("systemd-analyze") {
        return;
    }
    // The units name /usr/bin/certsafe; verify copies that point at this build.
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_certsafe");
    for unit in ["certsafe-crl.service", "certsafe-crl.timer"] {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("dist/systemd")
                .join(unit),
        )
        .unwrap();
        assert!(
            unit == "certsafe-crl.timer" || text.contains("crl update --jitter 3h"),
            "{unit}"
        );
        std::fs::write(
            dir.path().join(unit),
            text.replace("/usr/bin/certsafe", bin),
        )
        .unwrap();
    }
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(dir.path().join("certsafe-crl.service"))
        .arg(dir.path().join("certsafe-crl.timer"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
