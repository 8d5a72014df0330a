//! No sentence is data (issue 8): a CRL failure fetched in one language is
//! shown in the reader's language, every word of it. `crl update` runs in
//! English against a closed port (unreachable) and a server sending a
//! damaged CRL (invalid); `crl status` and `status` then run in French, and
//! no English word of any reason appears (nor a technical English word from
//! reqwest, the system or the BER reader); and the reverse. The technical
//! detail stays in `crl status --json` (`last_fetch.cause`).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::Home;
use common::crl::{CertSpec, CrlSpec, build_cert, crl};
use common::http::{Reply, Server};
use openssl::x509::X509;

/// The sections of the locale files that hold reasons and the words
/// around them in `crl status` and `status`.
const REASON_SECTIONS: &[&str] = &[
    "crl",
    "fetch",
    "io",
    "check",
    "state",
    "reason",
    "delta_ignored",
];

/// `status.*` keys that put a CRL reason into a sentence.
const STATUS_PREFIXES: &[&str] = &["status.crl_", "status.no_ca", "status.revocation_"];

/// English words of reqwest, hyper, the system and the BER reader.
const TECHNICAL_EN: &[&str] = &[
    "connection",
    "refused",
    "timeout",
    "timed",
    "unexpected",
    "truncated",
    "reset",
    "error",
    "failed",
    "length",
    "operation",
    "tcp",
    "dns",
    "resolve",
    "client",
    "request",
    "sending",
    "end",
    "content",
    "element",
    "expected",
];

/// French words a French run must not leave in English output.
const TECHNICAL_FR: &[&str] = &["injoignable", "refusée", "délai", "connexion", "endommagée"];

/// The values of `file` (a locale) under the reason sections and keys.
fn reason_values(file: &str) -> Vec<String> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in file.lines() {
        if !line.starts_with(' ') {
            if let Some(s) = line.strip_suffix(':') {
                section = s.to_string();
            }
            continue;
        }
        let Some((key, value)) = line.trim().split_once(": ") else {
            continue;
        };
        let full = format!("{section}.{key}");
        if REASON_SECTIONS.contains(&section.as_str())
            || STATUS_PREFIXES.iter().any(|p| full.starts_with(p))
        {
            out.push(value.to_string());
        }
    }
    out
}

fn all_values(file: &str) -> Vec<String> {
    file.lines()
        .filter(|l| l.starts_with(' '))
        .filter_map(|l| l.trim().split_once(": ").map(|(_, v)| v.to_string()))
        .collect()
}

/// Words of at least three letters, lowercased; placeholders removed.
fn words(text: &str) -> BTreeSet<String> {
    let mut clean = String::new();
    let mut in_placeholder = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '%' && chars.peek() == Some(&'{') {
            in_placeholder = true;
        } else if in_placeholder && c == '}' {
            in_placeholder = false;
        } else if !in_placeholder {
            clean.push(c);
        }
    }
    clean
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect()
}

/// Words of `lang`'s reasons that the other language never uses.
fn foreign_words(lang: &str) -> BTreeSet<String> {
    let en = include_str!("../src/locales/en.yml");
    let fr = include_str!("../src/locales/fr.yml");
    let (own, other, extra) = match lang {
        "en" => (en, fr, TECHNICAL_EN),
        _ => (fr, en, TECHNICAL_FR),
    };
    let mut set: BTreeSet<String> = reason_values(own).iter().flat_map(|v| words(v)).collect();
    set.extend(extra.iter().map(|w| (*w).to_string()));
    let theirs: BTreeSet<String> = all_values(other).iter().flat_map(|v| words(v)).collect();
    // Words both languages use (signature, certificat/certificate differ;
    // "signature", "serveur"...) and command words (`certsafe crl update`).
    set.retain(|w| !theirs.contains(w));
    set
}

struct Bed {
    home: Home,
    _server: Server,
    _files: tempfile::TempDir,
}

/// Root → intermediate → leaf (an account). The intermediate names the
/// server (a damaged CRL) for the root's CRL; the leaf names a closed port
/// for the intermediate's. Both CAs are imported.
fn bed() -> Bed {
    let root_key = common::key(common::Alg::Ec);
    let root = build_cert(&CertSpec::ca("QZW ALPHA", &root_key, None));
    let mut damaged = crl(&CrlSpec::fresh(1), &root, &root_key);
    damaged.truncate(damaged.len() - 20);
    let server = Server::start(move |_| Reply::crl(damaged.clone()));
    let inter_key = common::key(common::Alg::Ec);
    let inter = build_cert(
        &CertSpec::ca("QZW BETA", &inter_key, Some((&root, &root_key)))
            .with_cdp(&[&server.url("/qzw1.crl")]),
    );
    let leaf_key = common::key(common::Alg::Ec);
    let leaf = build_cert(
        &CertSpec::leaf("Qzw Ana", &leaf_key, (&inter, &inter_key))
            .with_cdp(&["http://127.0.0.1:9/qzw2.crl"]),
    );
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| -> PathBuf {
        let p = files.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let pem = |c: &X509| c.to_pem().unwrap();
    let cas = write("cas.pem", &[pem(&root), pem(&inter)].concat());
    let cert = write("leaf.pem", &pem(&leaf));
    let key = write("leaf.key", &leaf_key.private_key_to_pem_pkcs8().unwrap());
    let home = Home::new();
    let out = home
        .cmd()
        .args(["account", "import", "--label", "Qzw", "--cert"])
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .arg("--chain")
        .arg(&cas)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = home
        .cmd()
        .args(["ca", "import"])
        .arg(&cas)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Bed {
        home,
        _server: server,
        _files: files,
    }
}

fn run(home: &Home, args: &[&str]) -> (Option<i32>, String) {
    let out = home.cmd().args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// The states and the stored causes, from `crl status --json`.
fn states(home: &Home) -> (Vec<String>, serde_json::Value) {
    let (_, text) = run(home, &["--lang", "en", "crl", "status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut s: Vec<String> = v["crls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap().to_string())
        .collect();
    s.sort();
    (s, v)
}

/// Runs `crl update` in `fetch_lang`, then `crl status` and `status` in
/// `show_lang`, and returns the foreign words found in what was shown.
fn leaks(fetch_lang: &str, show_lang: &str) -> (Vec<String>, String) {
    let bed = bed();
    let (code, _) = run(&bed.home, &["--lang", fetch_lang, "crl", "update"]);
    assert_eq!(code, Some(1), "crl update fails");
    let (states, json) = states(&bed.home);
    assert_eq!(states, ["invalid", "unreachable"], "{json}");
    let foreign = foreign_words(fetch_lang);
    let mut shown = String::new();
    for args in [&["crl", "status"][..], &["status"][..]] {
        let mut full = vec!["--lang", show_lang];
        full.extend(args);
        let (code, text) = run(&bed.home, &full);
        assert_eq!(code, Some(2), "{args:?} is critical: {text}");
        shown.push_str(&text);
    }
    let found: Vec<String> = words(&shown)
        .into_iter()
        .filter(|w| foreign.contains(w))
        .collect();
    (found, shown)
}

#[test]
fn a_reason_fetched_in_english_is_all_french_when_read_in_french() {
    let (found, shown) = leaks("en", "fr");
    assert!(found.is_empty(), "English words {found:?} in:\n{shown}");
    // The reasons are there, in French.
    let own = foreign_words("fr");
    assert!(
        words(&shown).iter().filter(|w| own.contains(*w)).count() >= 3,
        "no French reason shown:\n{shown}"
    );
}

#[test]
fn a_reason_fetched_in_french_is_all_english_when_read_in_english() {
    let (found, shown) = leaks("fr", "en");
    assert!(found.is_empty(), "French words {found:?} in:\n{shown}");
    let own = foreign_words("en");
    assert!(
        words(&shown).iter().filter(|w| own.contains(*w)).count() >= 3,
        "no English reason shown:\n{shown}"
    );
}

#[test]
fn the_technical_detail_stays_in_the_json() {
    let bed = bed();
    let (code, _) = run(&bed.home, &["--lang", "fr", "crl", "update"]);
    assert_eq!(code, Some(1));
    let (_, json) = states(&bed.home);
    let crls = json["crls"].as_array().unwrap();
    let cause = |state: &str| {
        crls.iter()
            .find(|c| c["state"] == state)
            .map(|c| c["last_fetch"]["cause"].clone())
            .unwrap()
    };
    let unreachable = cause("unreachable");
    assert_eq!(unreachable["kind"], "fetch", "{unreachable}");
    assert_eq!(unreachable["detail"]["code"], "connect", "{unreachable}");
    assert_eq!(unreachable["detail"]["why"], "refused", "{unreachable}");
    assert!(
        unreachable["detail"]["detail"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{unreachable}"
    );
    let invalid = cause("invalid");
    assert_eq!(invalid["kind"], "rejected", "{invalid}");
    assert_eq!(invalid["detail"]["code"], "malformed", "{invalid}");
    assert!(
        invalid["detail"]["detail"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{invalid}"
    );
}
