//! Identity history: renewals keep the earlier key, backups carry every
//! identity, a restore brings the whole history back as one account, and
//! mail encrypted to any of them stays readable.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

mod common;

use std::path::{Path, PathBuf};

use common::{Alg, Home, Leaf, Pki, STRONG, fp, sh};
use serde_json::Value;

const HOLDER: &str = "Dr Anne Renouvel";

fn write_pem(dir: &Path, name: &str, leaf: &Leaf) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, leaf.cert.to_pem().unwrap()).unwrap();
    p
}

/// `account import --cert --key --chain` of `leaf` with `extra` arguments.
fn import(home: &Home, pki: &Pki, leaf: &Leaf, extra: &[&str]) -> std::process::Output {
    let files = tempfile::tempdir().unwrap();
    let (c, k, ch) = pki.write(files.path(), leaf);
    home.cmd()
        .args(["account", "import", "--cert"])
        .arg(&c)
        .arg("--key")
        .arg(&k)
        .arg("--chain")
        .arg(&ch)
        .args(extra)
        .output()
        .unwrap()
}

fn stdout_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn identities(home: &Home, id: &str) -> Vec<Value> {
    home.account_json(id)["identities"]
        .as_array()
        .unwrap()
        .clone()
}

fn state(home: &Home, id: &str) -> String {
    home.account_json(id)["backup_state"]
        .as_str()
        .unwrap()
        .to_string()
}

fn encrypt(dir: &Path, name: &str, text: &str, to: &Path) -> PathBuf {
    let plain = dir.join(format!("{name}.txt"));
    std::fs::write(&plain, text).unwrap();
    let out = dir.join(format!("{name}.p7m"));
    sh(&format!(
        "openssl cms -encrypt -aes256 -in '{}' -out '{}' '{}'",
        plain.display(),
        out.display(),
        to.display()
    ));
    out
}

fn decrypt(msg: &Path, identity_dir: &Path) -> String {
    sh(&format!(
        "openssl cms -decrypt -in '{}' -inkey '{}' -recip '{}'",
        msg.display(),
        identity_dir.join("key.pem").display(),
        identity_dir.join("cert.pem").display()
    ))
}

#[test]
fn mail_to_every_key_survives_renewal_backup_and_restore() {
    let pki = Pki::new(Alg::Rsa);
    let work = tempfile::tempdir().unwrap();
    let home = Home::new();
    // Issued 3 years ago, 40 days left: time to renew.
    let first = pki.leaf_valid(HOLDER, Alg::Rsa, 1055, 40);
    let id = home.import(&pki, &first, HOLDER);
    let msg1 = encrypt(
        work.path(),
        "first",
        "secret lab results 1",
        &write_pem(work.path(), "first.pem", &first),
    );
    // A real removable drive when we may make one (always in CI, as root);
    // a plain folder elsewhere.
    let folder = tempfile::tempdir().unwrap();
    let stick =
        common::root_or_skip("loop devices").then(|| common::stick::Stick::attach("history", &[]));
    let sticks: &Path = stick.as_ref().map_or(folder.path(), |s| s.mount.as_path());
    home.backup(&id, sticks, STRONG, "modern");
    assert_eq!(state(&home, &id), "ok");

    // The renewal: a new key and certificate for the same holder.
    let second = pki.leaf(HOLDER, Alg::Rsa);
    assert_ne!(fp(&first.cert), fp(&second.cert));
    // Without --renewal-of (or --label): the candidate, exit 1, nothing imported.
    let before = home.snapshot();
    let out = import(&home, &pki, &second, &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = stdout_json(&out);
    assert_eq!(v["renewal_candidate"]["id"], id.as_str());
    assert_eq!(v["error"]["code"], "renewal_candidate");
    assert_eq!(home.snapshot(), before, "a refused import changed the home");

    let out = import(&home, &pki, &second, &["--renewal-of", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), id);
    assert_eq!(
        state(&home, &id),
        "outdated",
        "a renewal needs a new backup"
    );
    let ids = identities(&home, &id);
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0]["fingerprint"], fp(&second.cert));
    assert_eq!(ids[0]["current"], true);
    assert!(ids[0]["superseded_at"].is_null());
    assert_eq!(ids[1]["fingerprint"], fp(&first.cert));
    assert_eq!(ids[1]["current"], false);
    assert!(ids[1]["superseded_at"].is_string());
    assert_eq!(ids[1]["expired"], false);
    assert_eq!(home.account_json(&id)["fingerprint"], fp(&second.cert));
    // The earlier key is kept, 0600, in history/<fingerprint>/.
    let account_dir = home.path().join("data/accounts").join(&id);
    let earlier_dir = account_dir.join("history").join(fp(&first.cert));
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(earlier_dir.join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Importing an identity the history already holds changes nothing.
    let before = home.snapshot();
    for leaf in [&first, &second] {
        let out = import(&home, &pki, leaf, &["--renewal-of", &id]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        home.snapshot(),
        before,
        "an idempotent renewal changed the home"
    );
    // The earlier certificate cannot become a separate account either.
    let out = import(&home, &pki, &first, &["--label", "Copy"]);
    assert_eq!(out.status.code(), Some(1));

    let msg2 = encrypt(
        work.path(),
        "second",
        "secret lab results 2",
        &write_pem(work.path(), "second.pem", &second),
    );

    // The backup carries both identities; the state is ok again.
    let out = home
        .cmd()
        .args(["backup", &id, "--password-stdin", "--json", "--to"])
        .arg(sticks.join("history.p12"))
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b = stdout_json(&out);
    assert_eq!(b["verified"], true);
    assert_eq!(
        b["identities"],
        serde_json::json!([fp(&second.cert), fp(&first.cert)])
    );
    let file = PathBuf::from(b["path"].as_str().unwrap());
    assert_eq!(state(&home, &id), "ok");

    // verify lists both, with names that tell them apart.
    let out = home
        .cmd()
        .args(["verify", "--password-stdin", "--json"])
        .arg(&file)
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = stdout_json(&out);
    let listed: Vec<&str> = v["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    let (f1, f2) = (fp(&first.cert), fp(&second.cert));
    assert_eq!(listed, [f2.as_str(), f1.as_str()]);
    let names: Vec<&str> = v["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["friendly_name"].as_str().unwrap())
        .collect();
    assert_ne!(names[0], names[1]);
    assert!(names.iter().all(|n| n.starts_with(HOLDER)), "{names:?}");

    // The journal tells those steps in order, with no secret in it.
    let log = home.run_ok(&["log", "--json", "--account", &id], &[]);
    let log: Value = serde_json::from_slice(&log.stdout).unwrap();
    let events: Vec<(&str, Value)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["event"].as_str().unwrap(), e.clone()))
        .collect();
    let codes: Vec<&str> = events.iter().map(|(c, _)| *c).collect();
    assert_eq!(codes, ["account_imported", "backup", "renewal", "backup"]);
    assert_eq!(events[0].1["fingerprint"], f1.as_str());
    assert_eq!(events[1].1["fingerprints"], serde_json::json!([f1]));
    assert_eq!(events[2].1["old_fingerprint"], f1.as_str());
    assert_eq!(events[2].1["new_fingerprint"], f2.as_str());
    assert_eq!(events[3].1["fingerprints"], serde_json::json!([f2, f1]));
    assert_eq!(events[3].1["verified"], true);
    if stick.is_some() {
        assert_eq!(events[3].1["mount_point"], sticks.to_str().unwrap());
    }
    let journal = std::fs::read(home.path().join("data/journal.jsonl")).unwrap();
    let text = String::from_utf8_lossy(&journal);
    assert!(!text.contains(STRONG), "the password is in the journal");
    for leaf in [&first, &second] {
        let pem = leaf.key.private_key_to_pem_pkcs8().unwrap();
        let pem = String::from_utf8(pem).unwrap();
        for line in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!text.contains(line), "key material in the journal");
        }
    }

    // The disk dies: a new machine, an empty home, the stick.
    drop(home);
    let home = Home::new();
    let out = home
        .cmd()
        .args(["restore", "--password-stdin", "--json"])
        .arg(&file)
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = stdout_json(&out);
    assert_eq!(r["action"], "created");
    let id = r["id"].as_str().unwrap().to_string();
    let listed = home.run_ok(&["account", "list", "--json"], &[]);
    assert_eq!(
        stdout_json(&listed).as_array().unwrap().len(),
        1,
        "one account"
    );
    let ids = identities(&home, &id);
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0]["fingerprint"], f2.as_str());
    assert_eq!(ids[1]["fingerprint"], f1.as_str());
    assert_eq!(home.account_json(&id)["label"], HOLDER);
    assert_eq!(
        state(&home, &id),
        "ok",
        "the restored file is a backup of both"
    );

    // Both messages decrypt with keys from the restored store.
    let account_dir = home.path().join("data/accounts").join(&id);
    assert_eq!(decrypt(&msg2, &account_dir), "secret lab results 2");
    assert_eq!(
        decrypt(&msg1, &account_dir.join("history").join(&f1)),
        "secret lab results 1"
    );
    // Restoring the same file again changes nothing.
    let out = home
        .cmd()
        .args(["restore", "--password-stdin", "--json"])
        .arg(&file)
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout_json(&out)["action"], "already_present");
    assert_eq!(identities(&home, &id).len(), 2);

    // Forget: the current identity is refused; an earlier one needs --yes
    // (no terminal here); with it, it goes with its key.
    let out = home
        .cmd()
        .args(["account", "forget", &id, &f2[..16], "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = home
        .cmd()
        .args(["account", "forget", &id, &f1[..16], "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_json(&out)["error"]["code"], "confirmation_needed");
    assert_eq!(identities(&home, &id).len(), 2);
    let out = home
        .cmd()
        .args(["account", "forget", &id, &f1[..16], "--yes"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids = identities(&home, &id);
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0]["fingerprint"], f2.as_str());
    assert!(!account_dir.join("history").join(&f1).exists());
    common::store::assert_consistent(home.path());
}

#[test]
fn a_renewal_needs_the_same_holder_and_a_separate_account_a_label() {
    let pki = Pki::new(Alg::Ec);
    let home = Home::new();
    let first = pki.leaf(HOLDER, Alg::Ec);
    let id = home.import(&pki, &first, HOLDER);
    // Another holder: refused as a renewal, unless --any-holder.
    let other = pki.leaf("Dr Paul Autre", Alg::Ec);
    let before = home.snapshot();
    let out = import(&home, &pki, &other, &["--renewal-of", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(home.snapshot(), before);
    // The same holder with --label: a separate account, both single.
    let again = pki.leaf(HOLDER, Alg::Ec);
    let out = import(&home, &pki, &again, &["--label", "Cabinet 2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_ne!(second, id);
    assert_eq!(identities(&home, &id).len(), 1);
    // A change of name the user vouches for.
    let out = import(&home, &pki, &other, &["--renewal-of", &id, "--any-holder"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids = identities(&home, &id);
    assert_eq!(ids[0]["fingerprint"], fp(&other.cert));
    assert_eq!(ids[1]["fingerprint"], fp(&first.cert));
    // A history whose earlier certificate has expired still backs up, and an
    // unrelated multi-identity file still needs --identity N on restore.
    common::store::assert_consistent(home.path());
}

#[test]
fn old_homes_load_with_an_empty_history() {
    let pki = Pki::new(Alg::Ec);
    let home = Home::new();
    let leaf = pki.leaf(HOLDER, Alg::Ec);
    let id = home.import(&pki, &leaf, HOLDER);
    // An account.json as written before history, with a backup record
    // without `fingerprints`.
    let meta = home
        .path()
        .join("data/accounts")
        .join(&id)
        .join("account.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    assert!(
        v.get("history").is_none(),
        "an empty history is not written"
    );
    v["backups"] = serde_json::json!([{
        "at": "2099-01-01T00:00:00Z", "path": "/media/x.p12", "mount_point": null,
        "drive_label": null, "fingerprint": fp(&leaf.cert), "profile": "modern",
        "origin": "backup"
    }]);
    std::fs::write(&meta, serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!(state(&home, &id), "ok");
    assert_eq!(identities(&home, &id).len(), 1);
}
