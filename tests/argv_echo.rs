//! A password typed as an argument by mistake is not repeated in the usage
//! error (stderr goes to logs and cron mail); option names still are.
#![allow(clippy::unwrap_used)]

mod common;

use common::Home;

const SECRET: &str = "Correct-Horse-Battery-42";

#[test]
fn a_word_typed_where_none_belongs_is_not_repeated() {
    let home = Home::new();
    for (lang, args) in [
        ("en", vec!["account", "import", "--p12", "x.p12", SECRET]),
        ("fr", vec!["verify", "x.p12", SECRET]),
        ("en", vec![SECRET]),
        (
            "en",
            vec!["restore", "--password-file", "pw", "x.p12", "more", SECRET],
        ),
    ] {
        let out = home
            .cmd()
            .args(["--lang", lang])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        let all = [out.stdout, out.stderr].concat();
        let text = String::from_utf8_lossy(&all);
        assert!(!text.contains(SECRET), "{args:?}: {text}");
        assert!(text.contains("--password-stdin"), "{args:?}: {text}");
    }
}

#[test]
fn an_unknown_option_name_is_still_shown() {
    let home = Home::new();
    let out = home.cmd().args(["status", "--jsn"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--jsn"));
    // `--option=value` may carry a secret: hidden.
    let out = home
        .cmd()
        .args(["verify", &format!("--password={SECRET}"), "x.p12"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(SECRET));
}
