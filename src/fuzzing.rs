//! The fuzz targets' bodies, one function per target, each taking the raw
//! input and panicking when a property fails. `fuzz/fuzz_targets/*.rs` call
//! them under libFuzzer (nightly); `tests/fuzz_corpus.rs` runs every seed in
//! `fuzz/corpus/` and every saved crash in `fuzz/regressions/` through the
//! same functions on the stable toolchain, so a fixed crash stays fixed.
//! Not part of the program's interface.
#![allow(clippy::missing_panics_doc)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::x509::X509;
use time::{Date, Month, OffsetDateTime, Time};

use crate::config::{self, Config};
use crate::domain::crl::{UrlKind, fetch::Limits, index, parse};
use crate::domain::secret::Password;
use crate::domain::status::Level;
use crate::domain::trust::{self, TrustedCa};
use crate::domain::{backup, certext, identity, p12, text};
use crate::tui::theme::Theme;

/// The password of the seed PKCS#12 files and encrypted keys.
pub const PASSWORD: &str = "fuzz password 1987";
/// `p12_open` skips inputs whose `inspect` reports more iterations than
/// this: `open` refuses only above [`p12::MAX_ITERATIONS`], and a few million
/// KDF rounds take seconds, which would stall the fuzzer.
pub const MAX_FUZZ_ITERATIONS: u64 = 10_000;
/// The clock of the `crl` target (2096): the seeds' thisUpdate is before it.
pub const CRL_NOW: i64 = 4_000_000_000;
/// The HMAC key of the indexes the targets build and load.
pub const INDEX_KEY: &[u8] = b"fuzz index key";

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target: its name (the `fuzz/fuzz_targets/NAME.rs` file and the
/// `fuzz/corpus/NAME/` folder) and its body.
pub const TARGETS: &[(&str, Target)] = &[
    ("p12_inspect", p12_inspect),
    ("p12_open", p12_open),
    ("cert_import", cert_import),
    ("private_key", private_key),
    ("crl", crl),
    ("crl_index", crl_index),
    ("config", config),
    ("theme", theme),
    ("backup_name", backup_name),
    ("text_visible", text_visible),
    ("ocsp_response", ocsp_response),
    ("journal", journal),
];

fn password() -> Password {
    Password::new(PASSWORD.to_string()).expect("the fuzz password is valid")
}

/// `p12::inspect`: the structure read without the password.
pub fn p12_inspect(data: &[u8]) {
    if let Ok(layout) = p12::inspect(data) {
        let _ = serde_json::to_string(&layout);
        let _ = format!("{layout:?}");
        let _ = layout.max_iterations();
        let _ = layout.needs_legacy();
        if let Some(name) = &layout.key_friendly_name {
            let _ = text::visible(name);
        }
    }
}

/// `p12::open` with [`PASSWORD`], for inputs of at most
/// [`MAX_FUZZ_ITERATIONS`]; then what `verify` and `restore` read.
pub fn p12_open(data: &[u8]) {
    let Ok(layout) = p12::inspect(data) else {
        return;
    };
    if layout.max_iterations() > MAX_FUZZ_ITERATIONS {
        return;
    }
    if let Ok(opened) = p12::open(data, &password()) {
        let id = &opened.identity;
        let _ = id.fingerprint();
        let _ = id.info();
        let _ = id.chain_complete();
        let _ = id.key_matches();
        let _ = id.prove_key();
        let _ = opened.friendly_name.as_deref().map(text::visible);
    }
}

fn look_at(cert: &X509) {
    let info = identity::CertInfo::of(cert);
    let _ = text::visible(&info.subject);
    let _ = identity::common_name(cert);
    let _ = identity::emails(cert);
    let _ = trust::is_ca(cert);
    let _ = certext::facts(cert);
    let _ = TrustedCa::new(cert.clone()).is_root();
}

/// Certificate import: `trust::read_certs` (PEM, DER, PKCS#7, S/MIME) and
/// `identity::read_certificates`, then what the lists read of each.
pub fn cert_import(data: &[u8]) {
    for c in &trust::read_certs(data) {
        look_at(c);
    }
    if let Ok(certs) = identity::read_certificates(data, "fuzz") {
        for c in &certs {
            look_at(c);
        }
        if let Some((leaf, rest)) = certs.split_first() {
            let chain = identity::order_chain(leaf, rest.to_vec());
            let _ = identity::chain_complete(leaf, &chain);
        }
    }
    let _ = certext::facts_der(data);
}

/// `identity::read_private_key` (PKCS#8, PKCS#1, SEC1; PEM or DER; encrypted
/// with [`PASSWORD`]) and `key_is_encrypted`.
pub fn private_key(data: &[u8]) {
    let _ = identity::key_is_encrypted(data);
    if let Ok(key) = identity::read_private_key(data, Some(&password()), "fuzz") {
        let _ = identity::key_description(&key);
    }
    let _ = identity::read_private_key(data, None, "fuzz");
}

/// Splits a `crl` input: a 2-byte big-endian length, that many bytes of CA
/// certificate (DER), then the CRL.
pub fn crl_split(data: &[u8]) -> (Vec<TrustedCa>, &[u8]) {
    if data.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
        if let Some(ca) = data.get(2..2 + len) {
            let cas = X509::from_der(ca)
                .map(|c| vec![TrustedCa::new(c)])
                .unwrap_or_default();
            return (cas, &data[2 + len..]);
        }
    }
    (Vec::new(), data)
}

/// CRL acceptance without the cache: decode (DER or PEM), parse, find the
/// signer, walk the entries, build the index, load it back: every revoked
/// serial must be found with its date and reason.
pub fn crl(data: &[u8]) {
    let (cas, input) = crl_split(data);
    let Ok(der) = parse::decode(input) else {
        return;
    };
    let Ok(parsed) = parse::parse(&der) else {
        return;
    };
    let _ = parse::issuer_line(&parsed);
    if let Some(n) = &parsed.number {
        assert_eq!(parse::cmp_number(n, n), std::cmp::Ordering::Equal);
    }
    let _ = parse::find_signer(&parsed, &cas, CRL_NOW);

    let mut entries = Vec::new();
    if parse::for_each_entry(&parsed, |e| entries.push(e)).is_err() {
        return;
    }
    let mut seen: HashMap<&[u8], Vec<(i64, u8)>> = HashMap::new();
    for e in &entries {
        seen.entry(e.serial)
            .or_default()
            .push((e.revoked_at, e.reason));
    }
    let header = index::Header {
        crl_sha256: openssl::sha::sha256(&der),
        ca_sha256: [0; 32],
        this_update: parsed.this_update,
        next_update: parsed.next_update.unwrap_or(0),
        flags: (u8::from(parsed.only_user) * index::FLAG_ONLY_USER)
            | (u8::from(parsed.only_ca) * index::FLAG_ONLY_CA)
            | (u8::from(!parsed.idp_urls.is_empty()) * index::FLAG_PARTITIONED),
        scope: parsed.idp_urls.clone(),
        number: parsed.number.clone(),
        base_number: parsed.delta_base.clone(),
    };
    let bytes = index::build(&header, &mut entries, INDEX_KEY).expect("index build");
    let ix = index::Index::from_bytes(bytes, INDEX_KEY).expect("an index just built loads");
    assert_eq!(ix.header, header);
    assert_eq!(ix.len(), seen.len());
    for (serial, revocations) in &seen {
        let (at, reason) = ix
            .lookup(serial)
            .expect("every revoked serial is in the index");
        let reason = reason.unwrap_or(parse::NO_REASON);
        assert!(
            revocations.contains(&(at, reason)),
            "wrong revocation for {serial:02x?}"
        );
    }
}

/// The HMAC-SHA256 an index ends with, under [`INDEX_KEY`].
pub fn index_mac(body: &[u8]) -> Vec<u8> {
    let key = PKey::hmac(INDEX_KEY).expect("hmac key");
    let mut s = Signer::new(MessageDigest::sha256(), &key).expect("signer");
    s.update(body).expect("hmac");
    s.sign_to_vec().expect("hmac")
}

/// An index file's bytes (`Index::from_bytes`, what `Index::load` runs):
/// the input is the body, authenticated here with [`INDEX_KEY`] so the
/// layout checks and the lookups are reached; with one MAC bit flipped the
/// same bytes must be refused.
pub fn crl_index(data: &[u8]) {
    let mut bytes = data.to_vec();
    bytes.extend(index_mac(data));
    let mut forged = bytes.clone();
    if let Some(last) = forged.last_mut() {
        *last ^= 1;
    }
    assert!(matches!(
        index::Index::from_bytes(forged, INDEX_KEY),
        Err(index::IndexError::Damaged(_))
    ));
    if let Ok(ix) = index::Index::from_bytes(bytes, INDEX_KEY) {
        let _ = ix.is_empty();
        for len in [0usize, 1, 2, 8, 20, 64, 255] {
            let end = data.len().saturating_sub(7);
            let _ = ix.lookup(&data[end.saturating_sub(len)..end]);
        }
    }
}

fn config_path() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        // tmpfs when there is one: on ext4, rewriting a truncated file
        // starts a write-back each time (auto_da_alloc), 3 ms an input.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .expect("temporary folder");
        let path = dir.path().join("config.toml");
        (dir, path)
    })
    .1
}

/// config.toml text → `Config` through `config::load`, then what is
/// derived from it; a configuration that loads is stored back and
/// must load to the same value.
pub fn config(data: &[u8]) {
    let path = config_path();
    std::fs::write(path, data).expect("write config.toml");
    let Ok(loaded) = config::load(path) else {
        return;
    };
    let _ = crate::domain::time::parse_duration(&loaded.crl.jitter);
    let _ = Limits::from_policy(&loaded.crl);
    for url in &loaded.crl.extra_urls {
        let _ = UrlKind::of(url).fetched();
        let _ = crate::domain::ldap::LdapUrl::parse(url);
    }
    let _ = crate::domain::ldap::LdapUrl::parse(&loaded.directory.url);
    config::store(path, &loaded).expect("a loaded configuration can be stored");
    let again: Config = config::load(path).expect("a stored configuration loads");
    assert_eq!(again, loaded);
}

/// A user theme file's text → `Theme`, then every semantic style.
pub fn theme(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(theme) = Theme::from_toml(source, "fuzz") else {
        return;
    };
    for t in [theme.clone(), theme.for_plain_terminal(false)] {
        let _ = (t.text(), t.muted(), t.accent(), t.border(), t.title());
        let _ = (t.selected(), t.input(true), t.input(false));
        for l in [Level::Ok, Level::Warning, Level::Critical, Level::Unknown] {
            let _ = t.level(l);
        }
    }
}

const FAT_FORBIDDEN: &[char] = &['/', '\\', ':', '*', '?', '"', '<', '>', '|'];

/// `backup::default_file_name`. Input: 4 bytes of date (days from
/// 0000-01-01, within the years 0-9999), then the label (UTF-8, lossy).
/// The name is one FAT-safe file name without control, whitespace or
/// terminal-unsafe characters, fits 255 bytes (ext4) and 255 UTF-16 units
/// (FAT, exFAT), and reads `certsafe-…-YYYY-MM-DD.p12`.
pub fn backup_name(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let offset = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) % 3_652_059;
    let start = Date::from_calendar_date(0, Month::January, 1).expect("day");
    let day = start + time::Duration::days(i64::from(offset));
    let label = String::from_utf8_lossy(&data[4..]);
    let name = backup::default_file_name(&label, OffsetDateTime::new_utc(day, Time::MIDNIGHT));
    let suffix = format!(
        "-{:04}-{:02}-{:02}.p12",
        day.year(),
        u8::from(day.month()),
        day.day()
    );
    assert!(name.starts_with("certsafe-"), "{name:?}");
    assert!(name.ends_with(&suffix), "{name:?}");
    assert!(!name.contains(FAT_FORBIDDEN), "{name:?}");
    assert!(
        !name.chars().any(|c| c.is_control() || c.is_whitespace()),
        "{name:?}"
    );
    assert!(!name.chars().any(text::is_unsafe), "{name:?}");
    assert!(name.len() <= 255, "{} bytes: {name:?}", name.len());
    assert!(name.encode_utf16().count() <= 255, "{name:?}");
}

/// `text::visible`: no unsafe character comes out; clean text comes back
/// borrowed and unchanged; escaping its own output changes nothing.
pub fn text_visible(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let out = text::visible(&s);
    assert!(!out.chars().any(text::is_unsafe), "{out:?}");
    assert!(text::is_clean(&out));
    if text::is_clean(&s) {
        assert!(matches!(out, Cow::Borrowed(_)));
        assert_eq!(out, s);
    } else {
        assert!(out.len() > s.len());
    }
    assert_eq!(text::visible(&out), out);
}

/// An OCSP response as a responder sends it: `ocsp::parse` reads it or
/// gives a code; what is read is bounded by the input and can be shown.
pub fn ocsp_response(data: &[u8]) {
    use crate::domain::crl::ocsp;
    match ocsp::parse(data) {
        Ok(basic) => {
            assert!(basic.tbs.len() <= data.len());
            assert!(basic.signature.len() <= data.len());
            assert!(basic.certs.iter().map(|c| c.len()).sum::<usize>() <= data.len());
            for single in &basic.singles {
                let _ = format!("{single:?}");
            }
            let _ = text::visible(&basic.sig_alg);
        }
        Err(code) => {
            let _ = code.word();
        }
    }
}

/// A journal file's bytes: every entry `journal::parse` keeps is written
/// back by `line_of` as one line of at most `MAX_LINE` bytes that parses
/// again; what is shown has no control character left.
pub fn journal(data: &[u8]) {
    use crate::domain::journal;
    for entry in journal::parse(data) {
        let line = journal::line_of(&entry);
        assert!(line.len() <= journal::MAX_LINE, "a line over the bound");
        assert_eq!(line.last(), Some(&b'\n'));
        assert!(!line[..line.len() - 1].contains(&b'\n'), "one line");
        let again = journal::parse(&line);
        assert_eq!(again.len(), 1, "a written line does not read back");
        assert_eq!(again[0].event.code(), entry.event.code());
        let shown = entry.event.to_string();
        assert!(
            !shown.chars().any(text::is_unsafe),
            "unsafe text shown: {shown:?}"
        );
    }
}
