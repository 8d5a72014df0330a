//! The journal (`certsafe log`): the events of a whole sequence in order,
//! with their codes and fingerprints; no password and no key bytes in the
//! file; 0600; rotation; a torn last line; concurrent writers.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use certsafe::domain::journal::{Event, Journal, KEEP, MAX_LINE};
use common::crl::{CertSpec, CrlSpec, build_cert, crl};
use common::http::{Reply, Server};
use common::{Alg, Home, STRONG, fp};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

fn journal_file(home: &Home) -> PathBuf {
    home.path().join("data/journal.jsonl")
}

fn log_json(home: &Home, extra: &[&str]) -> Vec<serde_json::Value> {
    let out = home
        .cmd()
        .arg("log")
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn events(entries: &[serde_json::Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The base64 lines of a PEM (each 64 characters but the last).
fn pem_lines(pem: &[u8]) -> Vec<String> {
    String::from_utf8(pem.to_vec())
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        .map(str::to_string)
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

struct Ca {
    root: X509,
    inter: X509,
    inter_key: PKey<Private>,
}

impl Ca {
    fn new() -> Self {
        let root_key = common::key(Alg::Ec);
        let root = build_cert(&CertSpec::ca("JOURNAL ROOT", &root_key, None));
        let inter_key = common::key(Alg::Ec);
        let inter = build_cert(&CertSpec::ca(
            "JOURNAL INTERMEDIATE",
            &inter_key,
            Some((&root, &root_key)),
        ));
        Self {
            root,
            inter,
            inter_key,
        }
    }

    fn leaf(&self, cn: &str, cdp: &str) -> (PKey<Private>, X509) {
        let key = common::key(Alg::Ec);
        let cert =
            build_cert(&CertSpec::leaf(cn, &key, (&self.inter, &self.inter_key)).with_cdp(&[cdp]));
        (key, cert)
    }

    fn chain_pem(&self) -> Vec<u8> {
        let mut b = self.inter.to_pem().unwrap();
        b.extend(self.root.to_pem().unwrap());
        b
    }
}

#[test]
fn a_whole_sequence_is_journaled_in_order_without_secrets() {
    let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::new(Mutex::new(HashMap::new()));
    let r2 = routes.clone();
    let server = Server::start(move |req| {
        r2.lock()
            .unwrap()
            .get(&req.target)
            .cloned()
            .unwrap_or(Reply::Status(404))
    });
    let url = server.url("/inter.crl");
    let ca = Ca::new();
    let home = Home::new();
    std::fs::write(
        home.path().join("config.toml"),
        "[crl]\nproxy = \"none\"\nread_timeout_secs = 2\ntotal_timeout_secs = 5\n",
    )
    .unwrap();
    let files = tempfile::tempdir().unwrap();
    let (key_a, cert_a) = ca.leaf("Dr Alice Journal", &url);
    let (key_c, cert_c) = ca.leaf("Dr Carol Journal", &url);

    // 1. Import A.
    let cert_file = write(files.path(), "a.pem", &cert_a.to_pem().unwrap());
    let key_file = write(
        files.path(),
        "a.key",
        &key_a.private_key_to_pem_pkcs8().unwrap(),
    );
    let chain_file = write(files.path(), "chain.pem", &ca.chain_pem());
    let out = home
        .cmd()
        .args(["account", "import", "--label", "Alice", "--cert"])
        .arg(&cert_file)
        .arg("--key")
        .arg(&key_file)
        .arg("--chain")
        .arg(&chain_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id_a = String::from_utf8(out.stdout).unwrap().trim().to_string();

    // 2. Back it up (password on stdin).
    let stick = tempfile::tempdir().unwrap();
    let backup = home.backup(&id_a, stick.path(), STRONG, "modern");

    // 3. Restore a file of another identity: a new account.
    let p12 = openssl::pkcs12::Pkcs12::builder()
        .name("Carol")
        .pkey(&key_c)
        .cert(&cert_c)
        .build2(STRONG)
        .unwrap();
    let p12_file = write(files.path(), "carol.p12", &p12.to_der().unwrap());
    let out = home
        .cmd()
        .args(["restore", "--password-stdin", "--json"])
        .arg(&p12_file)
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id_c = restored["id"].as_str().unwrap().to_string();

    // 4. Rename C, 5. remove A.
    home.run_ok(&["account", "rename", &id_c, "Carol (cabinet)"], &[]);
    home.run_ok(&["account", "remove", &id_a, "--yes"], &[]);

    // 6. Trust the intermediate, 7. update its CRL: updated, unchanged, unreachable.
    let inter_pem = write(files.path(), "inter.pem", &ca.inter.to_pem().unwrap());
    home.run_ok(&["ca", "import"], &[&inter_pem]);
    routes.lock().unwrap().insert(
        "/inter.crl".into(),
        Reply::crl(crl(&CrlSpec::fresh(1), &ca.inter, &ca.inter_key)),
    );
    home.run_ok(&["crl", "update"], &[]);
    home.run_ok(&["crl", "update", "--force"], &[]);
    routes
        .lock()
        .unwrap()
        .insert("/inter.crl".into(), Reply::Status(500));
    let out = home
        .cmd()
        .args(["crl", "update", "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    let entries = log_json(&home, &[]);
    assert_eq!(
        events(&entries),
        [
            "account_imported",
            "backup",
            "restore",
            "account_renamed",
            "account_removed",
            "ca_imported",
            "crl_update",
            "crl_update",
            "crl_update",
        ],
        "{entries:#?}"
    );
    let (fa, fc, fi) = (fp(&cert_a), fp(&cert_c), fp(&ca.inter));
    let e = &entries;
    assert_eq!(e[0]["account"], id_a.as_str());
    assert_eq!(e[0]["fingerprint"], fa.as_str());
    assert_eq!(e[0]["label"], "Alice");
    assert_eq!(e[1]["account"], id_a.as_str());
    assert_eq!(e[1]["fingerprints"], serde_json::json!([fa]));
    assert_eq!(e[1]["path"], backup.display().to_string());
    assert_eq!(e[1]["verified"], true);
    assert_eq!(e[1]["profile"], "modern");
    assert_eq!(e[2]["account"], id_c.as_str());
    assert_eq!(e[2]["fingerprint"], fc.as_str());
    assert_eq!(e[2]["action"], "created");
    assert_eq!(e[2]["path"], p12_file.display().to_string());
    assert_eq!(e[3]["account"], id_c.as_str());
    assert_eq!(e[3]["old_label"], "Carol");
    assert_eq!(e[3]["new_label"], "Carol (cabinet)");
    assert_eq!(e[4]["account"], id_a.as_str());
    assert_eq!(e[4]["fingerprint"], fa.as_str());
    assert_eq!(e[5]["fingerprint"], fi.as_str());
    assert!(e[5].get("account").is_none(), "{}", e[5]);
    for (entry, outcome) in e[6..].iter().zip(["updated", "unchanged", "unreachable"]) {
        assert_eq!(entry["outcome"], outcome, "{entry}");
        assert_eq!(entry["ca_fingerprint"], fi.as_str());
        assert_eq!(entry["url"], url.as_str());
    }
    assert_eq!(e[8]["cause"]["kind"], "fetch", "{}", e[8]);
    assert_eq!(e[8]["cause"]["detail"]["code"], "status", "{}", e[8]);
    for entry in e {
        let at = entry["at"].as_str().unwrap();
        assert!(at.ends_with('Z') && at.len() == 20, "{at}");
    }
    let times: Vec<&str> = e.iter().map(|x| x["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    // --account filters (a prefix is enough); the text form has one line per entry.
    let only_c = log_json(&home, &["--account", &id_c[..8]]);
    assert_eq!(events(&only_c), ["restore", "account_renamed"]);
    // A removed account's entries stay readable; an ID no account ever had
    // is an error (exit 1, code), not "nothing yet".
    assert!(!log_json(&home, &["--account", &id_a]).is_empty());
    let out = home
        .cmd()
        .args(["log", "--json", "--account", "zzzzzzzz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "unknown_account", "{v}");
    let out = home.cmd().args(["log"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), entries.len(), "{text}");
    let out = home.cmd().args(["--lang", "fr", "log"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 9);

    // No password, no key bytes, 0600.
    let bytes = std::fs::read(journal_file(&home)).unwrap();
    let mode = std::fs::metadata(journal_file(&home))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(!contains(&bytes, STRONG.as_bytes()));
    for key in [&key_a, &key_c] {
        let scalar = key.ec_key().unwrap().private_key().to_vec();
        assert!(!contains(&bytes, &scalar));
        assert!(!contains(&bytes, hex::encode(&scalar).as_bytes()));
        for line in pem_lines(&key.private_key_to_pem_pkcs8().unwrap())
            .iter()
            .chain(&pem_lines(
                &key.ec_key().unwrap().private_key_to_pem().unwrap(),
            ))
        {
            assert!(
                !contains(&bytes, line.as_bytes()),
                "key PEM line in the journal"
            );
        }
    }
    assert!(!contains(&bytes, &std::fs::read(&backup).unwrap()[..32]));
}

#[test]
fn a_torn_last_line_is_skipped_and_the_next_line_is_whole() {
    let home = Home::new();
    let pki = common::Pki::new(Alg::Ec);
    let leaf = pki.leaf("Dr Torn", Alg::Ec);
    let id = home.import(&pki, &leaf, "Torn");
    // A power cut in the middle of a line.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(journal_file(&home))
        .unwrap();
    std::io::Write::write_all(&mut f, br#"{"at":"2026-01-01T00:00:00Z","event":"acc"#).unwrap();
    drop(f);
    assert_eq!(events(&log_json(&home, &[])), ["account_imported"]);
    let out = home.cmd().arg("log").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    home.run_ok(&["account", "rename", &id, "Torn again"], &[]);
    assert_eq!(
        events(&log_json(&home, &[])),
        ["account_imported", "account_renamed"]
    );
    let bytes = std::fs::read(journal_file(&home)).unwrap();
    assert_eq!(bytes.last(), Some(&b'\n'));
}

#[test]
fn an_empty_home_has_an_empty_log() {
    let home = Home::new();
    assert!(log_json(&home, &[]).is_empty());
    let out = home.cmd().arg("log").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!home.path().join("data/journal.jsonl").exists());
}

fn renamed(n: usize) -> Event {
    Event::AccountRenamed {
        account: "0123456789ab".into(),
        old_label: format!("label {n}"),
        new_label: format!("label {}", n + 1),
    }
}

#[test]
fn rotation_keeps_at_most_keep_old_files_and_the_newest_entries() {
    let home = Home::new();
    let journal = Journal::in_dir(&home.path().join("data")).with_max_bytes(MAX_LINE as u64 * 2);
    for n in 0..500 {
        journal
            .append(certsafe::domain::time::now(), &[renamed(n)])
            .unwrap();
    }
    let data = home.path().join("data");
    let mut names: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("journal.jsonl"))
        .collect();
    names.sort();
    assert_eq!(names.len(), KEEP + 1, "{names:?}");
    for name in &names {
        let len = std::fs::metadata(data.join(name)).unwrap().len();
        assert!(len <= MAX_LINE as u64 * 2, "{name}: {len}");
    }
    let entries = log_json(&home, &[]);
    let labels: Vec<&str> = entries
        .iter()
        .map(|e| e["new_label"].as_str().unwrap())
        .collect();
    assert!(labels.len() < 500);
    assert_eq!(labels.last(), Some(&"label 500"));
    // The kept entries are the newest, consecutive, oldest first.
    let first: usize = labels[0].trim_start_matches("label ").parse().unwrap();
    let want: Vec<String> = (first..=500).map(|n| format!("label {n}")).collect();
    assert_eq!(labels, want);
}

#[test]
fn concurrent_writers_never_tear_a_line() {
    // Threads of one process (separate opens, so the flock excludes them)...
    let home = Home::new();
    let data = home.path().join("data");
    std::thread::scope(|s| {
        for t in 0..4 {
            let data = &data;
            s.spawn(move || {
                let j = Journal::in_dir(data);
                for n in 0..100 {
                    j.append(certsafe::domain::time::now(), &[renamed(t * 1000 + n)])
                        .unwrap();
                }
            });
        }
    });
    // ...and processes that do not share the store lock.
    let files = tempfile::tempdir().unwrap();
    let cas: Vec<PathBuf> = (0..6)
        .map(|i| {
            let key = common::key(Alg::Ec);
            let cn = format!("CONCURRENT CA {i}");
            let cert = build_cert(&CertSpec::ca(&cn, &key, None));
            write(files.path(), &format!("ca{i}.pem"), &cert.to_pem().unwrap())
        })
        .collect();
    let children: Vec<_> = cas
        .iter()
        .map(|f| {
            let mut c = home.std_cmd();
            c.args(["ca", "import"]).arg(f);
            common::spawn_with_stdin(c, "")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let bytes = std::fs::read(journal_file(&home)).unwrap();
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    assert_eq!(lines.last(), Some(&&b""[..]));
    for line in &lines[..lines.len() - 1] {
        serde_json::from_slice::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(line)));
    }
    let entries = log_json(&home, &[]);
    assert_eq!(entries.len(), 406);
    assert_eq!(
        events(&entries)
            .iter()
            .filter(|e| *e == "ca_imported")
            .count(),
        6
    );
    // Each thread's own lines kept their order.
    for t in 0..4 {
        let mine: Vec<String> = entries
            .iter()
            .filter_map(|e| e["old_label"].as_str())
            .filter_map(|l| l.strip_prefix("label "))
            .map(|n| n.parse::<usize>().unwrap())
            .filter(|n| n / 1000 == t)
            .map(|n| n.to_string())
            .collect();
        let want: Vec<String> = (0..100).map(|n| (t * 1000 + n).to_string()).collect();
        assert_eq!(mine, want);
    }
}

#[test]
fn a_journal_that_cannot_be_written_never_fails_the_operation() {
    let home = Home::new();
    let pki = common::Pki::new(Alg::Ec);
    let leaf = pki.leaf("Dr Nojournal", Alg::Ec);
    std::fs::create_dir_all(home.path().join("data")).unwrap();
    // A folder where the journal file should be: every append fails.
    std::fs::create_dir(journal_file(&home)).unwrap();
    let id = home.import(&pki, &leaf, "Nojournal");
    let out = home
        .cmd()
        .args(["account", "rename", &id, "Still works"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    // Said once on stderr, not per event.
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(home.account_json(&id)["label"], "Still works");
}
