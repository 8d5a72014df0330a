//! Labels become the PKCS#12 friendlyName, a `BMPString`: a label typed by
//! the user that it cannot carry (emoji, control characters, absurd length)
//! is refused at import, rename and restore `--label`, leaving the store as
//! it was; a friendlyName with such characters coming from a file still
//! restores, under a fallback label that a backup can carry.
#![allow(clippy::unwrap_used)]

mod common;

use common::store::quick_p12;
use common::{Alg, Home, Pki, STRONG};

fn bad_labels() -> Vec<String> {
    vec![
        "Dr Smile 😀".into(),
        "Dr \u{1b}[2JClear".into(),
        "Dr\u{202e}Reversed".into(),
        "Dr\nTwo lines".into(),
        "   ".into(),
        "x".repeat(129),
    ]
}

#[test]
fn labels_a_backup_cannot_carry_are_refused_and_change_nothing() {
    let pki = Pki::new(Alg::Ec);
    let home = Home::new();
    let leaf = pki.leaf("Dr Label", Alg::Ec);
    let files = tempfile::tempdir().unwrap();
    let (c, k, ch) = pki.write(files.path(), &leaf);
    for label in bad_labels() {
        let out = home
            .cmd()
            .args(["account", "import", "--label", &label, "--cert"])
            .arg(&c)
            .arg("--key")
            .arg(&k)
            .arg("--chain")
            .arg(&ch)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "import accepted {label:?}");
    }
    assert!(common::store::listed_ids(home.path()).is_empty());
    // The longest accepted label, accented, and a rename to a bad one.
    let id = home.import(&pki, &leaf, &"é".repeat(128));
    let before = home.snapshot();
    for label in bad_labels() {
        let out = home
            .cmd()
            .args(["account", "rename", &id, &label])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "rename accepted {label:?}");
    }
    assert_eq!(
        home.snapshot(),
        before,
        "a refused rename changed the store"
    );
    // restore --label: refused before any password is asked or file read.
    let p12 = files.path().join("other.p12");
    let other = pki.leaf("Dr Other", Alg::Ec);
    std::fs::write(
        &p12,
        quick_p12(&other, &pki, "Dr Other", "pw 1234 five", 2048),
    )
    .unwrap();
    for label in bad_labels() {
        let out = home
            .cmd()
            .arg("restore")
            .arg(&p12)
            .args(["--label", &label, "--password-stdin"])
            .write_stdin("pw 1234 five\n")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "restore accepted {label:?}");
    }
    assert_eq!(
        home.snapshot(),
        before,
        "a refused restore changed the store"
    );
    // A good rename, then a backup carries it as the friendlyName.
    let label = "Cabinet Léa Ω — Brest";
    let out = home
        .cmd()
        .args(["account", "rename", &id, label, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["label"], label);
    let dest = tempfile::tempdir().unwrap();
    let file = home.backup(&id, dest.path(), STRONG, "modern");
    let out = home
        .cmd()
        .arg("verify")
        .arg(&file)
        .args(["--password-stdin", "--json"])
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["friendly_name"], label);
}

/// A PKCS#12 file whose friendlyName holds an emoji, as Java or NSS write
/// it (a UTF-16 surrogate pair in the `BMPString`; OpenSSL refuses to build
/// one): made by `openssl pkcs12` with a placeholder, then patched (no MAC,
/// certificates unencrypted, so the names are plain bytes).
fn p12_with_emoji_name(dir: &std::path::Path, pki: &Pki, cn: &str, pw: &str) -> std::path::PathBuf {
    let leaf = pki.leaf(cn, Alg::Ec);
    let (c, k, _) = pki.write(dir, &leaf);
    let plain = dir.join("plain.p12");
    let out = std::process::Command::new("openssl")
        .args([
            "pkcs12",
            "-export",
            "-nomac",
            "-certpbe",
            "NONE",
            "-name",
            "Dr Smile XY",
        ])
        .arg("-inkey")
        .arg(&k)
        .arg("-in")
        .arg(&c)
        .arg("-passout")
        .arg(format!("pass:{pw}"))
        .arg("-out")
        .arg(&plain)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&plain).unwrap();
    let (from, to) = (
        b"\x00X\x00Y",
        "😀"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect::<Vec<u8>>(),
    );
    let mut patched = Vec::new();
    let mut i = 0;
    let mut n = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(from) {
            patched.extend(&to);
            i += from.len();
            n += 1;
        } else {
            patched.push(bytes[i]);
            i += 1;
        }
    }
    assert!(n >= 1, "placeholder not found");
    let file = dir.join(format!("{cn}.p12"));
    std::fs::write(&file, patched).unwrap();
    file
}

#[test]
fn a_friendly_name_with_such_characters_restores_under_a_fallback_label() {
    if !common::require("openssl") {
        return;
    }
    let pki = Pki::new(Alg::Ec);
    let home = Home::new();
    let files = tempfile::tempdir().unwrap();
    let pw = "pw 1234 five";
    let emoji = p12_with_emoji_name(files.path(), &pki, "Dr Emoji", pw);
    let control = files.path().join("control.p12");
    let leaf = pki.leaf("Dr Control", Alg::Ec);
    std::fs::write(
        &control,
        quick_p12(&leaf, &pki, "Dr\u{1b}[31mRed", pw, 2048),
    )
    .unwrap();
    for (p12, expected) in [(&emoji, "Dr Smile \u{fffd}"), (&control, "Dr [31mRed")] {
        let out = home
            .cmd()
            .arg("restore")
            .arg(p12)
            .args(["--password-stdin", "--json"])
            .write_stdin(format!("{pw}\n"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["label"], expected);
        // And the account backs up (the label fits a friendlyName).
        let id = v["id"].as_str().unwrap().to_string();
        let dest = tempfile::tempdir().unwrap();
        home.backup(&id, dest.path(), STRONG, "compat");
    }
    // The same through `account import --p12`, into another home.
    let other = Home::new();
    let out = other
        .cmd()
        .args(["account", "import", "--json", "--password-stdin", "--p12"])
        .arg(&emoji)
        .write_stdin(format!("{pw}\n"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["label"], "Dr Smile \u{fffd}");
}
