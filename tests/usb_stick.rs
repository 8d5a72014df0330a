//! Backups on real removable drives (loop device + exFAT/ext4, made by
//! `tests/tools/usb-stick`): listing, writing, full / read-only /
//! pulled-out drives, and the "new machine" restore. These need root; as a
//! normal user they are skipped with a note. One test (overwrite) uses plain
//! temporary folders and always runs.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::stick::Stick;
use common::{Alg, Home, Pki, STRONG};
use openssl::x509::X509;

// ---------------------------------------------------------------------------
// Support
// ---------------------------------------------------------------------------

/// True when the test may go on; otherwise prints the skip note.
fn root_or_skip() -> bool {
    common::root_or_skip("loop devices")
}

/// A generated PKI with one imported RSA account.
fn home_with_account(label: &str) -> (Home, Pki, common::Leaf, String) {
    let pki = Pki::new(Alg::Rsa);
    let leaf = pki.leaf(label, Alg::Rsa);
    let home = Home::new();
    let id = home.import(&pki, &leaf, label);
    assert!(!id.is_empty(), "import printed no ID");
    (home, pki, leaf, id)
}

/// A file holding `password` on its first line, for `openssl -passin file:`.
fn password_file(dir: &Path) -> PathBuf {
    let p = dir.join("pw.txt");
    std::fs::write(&p, format!("{STRONG}\n")).unwrap();
    p
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn backup_state(home: &Home, id: &str) -> String {
    home.account_json(id)["backup_state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Runs `backup ID --to TO --password-stdin` and expects exit 1 with `word`
/// in the message, no backup recorded and the home unchanged.
fn assert_backup_refused(home: &Home, id: &str, to: &Path, word: &str) -> String {
    let before = home.snapshot();
    let out = home
        .cmd()
        .args(["backup", id, "--password-stdin", "--to"])
        .arg(to)
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "backup to {} should fail with exit 1; stderr: {err}",
        to.display()
    );
    assert!(
        out.stdout.is_empty(),
        "nothing should be printed on stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        err.to_lowercase().contains(word),
        "stderr should say `{word}`: {err}"
    );
    assert!(
        !err.contains(STRONG),
        "the password leaked into the message: {err}"
    );
    assert_eq!(home.snapshot(), before, "a failed backup changed the home");
    assert_eq!(
        backup_state(home, id),
        "none",
        "a failed backup was recorded"
    );
    err
}

// ---------------------------------------------------------------------------
// 1. drives
// ---------------------------------------------------------------------------

#[test]
fn drives_lists_the_stick_as_removable() {
    if !root_or_skip() {
        return;
    }
    let stick = Stick::attach("drives", &[]);
    let home = Home::new();

    let out = home.cmd().args(["drives", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "drives --json failed: {}",
        stderr_of(&out)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = list.as_array().expect("drives --json prints an array");
    let mount = stick.mount.to_str().unwrap();
    let d = list
        .iter()
        .find(|d| d["mount_point"] == mount)
        .unwrap_or_else(|| panic!("the stick {mount} is not listed: {list:#?}"));
    for key in [
        "mount_point",
        "label",
        "file_system",
        "removable",
        "available_bytes",
        "read_only",
    ] {
        assert!(d.get(key).is_some(), "drive entry lacks `{key}`: {d:#}");
    }
    assert_eq!(d["removable"], true, "{d:#}");
    assert_eq!(d["read_only"], false, "{d:#}");
    assert!(d["label"].is_null() || d["label"].is_string(), "{d:#}");
    assert!(
        !d["file_system"].as_str().unwrap_or_default().is_empty(),
        "{d:#}"
    );
    let avail = d["available_bytes"]
        .as_u64()
        .expect("available_bytes is a number");
    assert!(
        avail > 1024 * 1024 && avail <= 32 * 1024 * 1024,
        "available_bytes of a 32M stick: {avail}"
    );

    // Without --all only removable drives are offered: never `/`.
    for d in list {
        assert_eq!(
            d["removable"], true,
            "drives without --all listed a fixed disk: {d:#}"
        );
        assert_ne!(
            d["mount_point"], "/",
            "drives without --all listed the root filesystem: {d:#}"
        );
    }
    // With --all, `/` may appear, but never as removable.
    let out = home
        .cmd()
        .args(["drives", "--all", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "drives --all --json failed: {}",
        stderr_of(&out)
    );
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let all = all.as_array().unwrap();
    assert!(
        all.iter().any(|d| d["mount_point"] == mount),
        "--all lost the stick: {all:#?}"
    );
    if let Some(root) = all.iter().find(|d| d["mount_point"] == "/") {
        assert_eq!(
            root["removable"], false,
            "the root filesystem shown as removable: {root:#}"
        );
    }

    // The table names the stick and says it is removable.
    let out = home.cmd().arg("drives").output().unwrap();
    assert!(out.status.success(), "drives failed: {}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains(mount))
        .unwrap_or_else(|| panic!("the stick is not in the table:\n{text}"));
    assert!(line.contains("removable"), "{line}");
    assert!(
        !text
            .lines()
            .any(|l| l.split_whitespace().next() == Some("/")),
        "the root filesystem is in the table:\n{text}"
    );
}

// ---------------------------------------------------------------------------
// 2. backup to a stick
// ---------------------------------------------------------------------------

#[test]
fn backup_to_a_stick_is_verified_and_opens_with_openssl() {
    if !root_or_skip() {
        return;
    }
    let stick = Stick::attach("backup", &[]);
    let (home, _pki, leaf, id) = home_with_account("Dr Marie Durand");
    assert_eq!(backup_state(&home, &id), "none");

    let out = home
        .cmd()
        .args(["backup", &id, "--password-stdin", "--json", "--to"])
        .arg(&stick.mount)
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "backup failed: {}",
        stderr_of(&out)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let path = PathBuf::from(v["path"].as_str().expect("`path` in the JSON"));
    assert!(
        path.starts_with(&stick.mount),
        "the backup is not on the stick: {}",
        path.display()
    );
    assert_eq!(
        path.parent(),
        Some(stick.mount.as_path()),
        "default name goes in the folder given"
    );
    assert_eq!(path.extension().and_then(|e| e.to_str()), Some("p12"));
    assert_eq!(v["verified"], true, "{v:#}");
    assert_eq!(v["profile"], "modern", "{v:#}");
    assert_eq!(v["fingerprint"], common::fp(&leaf.cert), "{v:#}");
    assert!(path.is_file(), "{} does not exist", path.display());

    // OpenSSL opens it with the password, and the leaf is the account's.
    let tmp = tempfile::tempdir().unwrap();
    let pw = password_file(tmp.path());
    let out = Command::new("openssl")
        .args(["pkcs12", "-nokeys", "-clcerts", "-in"])
        .arg(&path)
        .arg("-passin")
        .arg(format!("file:{}", pw.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl pkcs12 could not open the backup: {}",
        stderr_of(&out)
    );
    let leaf_out = X509::from_pem(&out.stdout).expect("a certificate in openssl's output");
    assert_eq!(
        common::fp(&leaf_out),
        common::fp(&leaf.cert),
        "the leaf in the file is not the account's"
    );
    let account = home.account_json(&id);
    assert_eq!(account["fingerprint"], common::fp(&leaf.cert));

    // Only the backup is on the stick: no temporary file left.
    let entries = stick.entries();
    assert!(
        !entries.iter().any(|n| n.starts_with(".certsafe-")),
        "temporary files left on the stick: {entries:?}"
    );
    let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(entries.contains(&file_name), "{entries:?}");

    // The backup is recorded.
    assert_eq!(account["backup_state"], "ok", "{account:#}");
}

// ---------------------------------------------------------------------------
// 3. full, read-only, pulled out
// ---------------------------------------------------------------------------

#[test]
fn backup_to_a_full_stick_fails_cleanly() {
    if !root_or_skip() {
        return;
    }
    let stick = Stick::attach("full", &[]);
    let (home, _pki, _leaf, id) = home_with_account("Dr Full Stick");
    let left = stick.run("fill");
    assert!(
        left.trim().parse::<u64>().is_ok_and(|n| n < 64 * 1024),
        "fill left {left} bytes"
    );

    assert_backup_refused(&home, &id, &stick.mount, "full");
    stick.assert_no_backup_left();
    // A file name rather than a folder: same answer.
    assert_backup_refused(&home, &id, &stick.mount.join("mine.p12"), "full");
    stick.assert_no_backup_left();
    assert!(!stick.mount.join("mine.p12").exists());
}

#[test]
fn backup_to_a_read_only_stick_fails_cleanly() {
    if !root_or_skip() {
        return;
    }
    let stick = Stick::attach("ro", &["--fs", "ext4"]);
    let (home, _pki, _leaf, id) = home_with_account("Dr Read Only");
    stick.run("readonly");

    assert_backup_refused(&home, &id, &stick.mount, "read-only");
    stick.assert_no_backup_left();
    assert_backup_refused(&home, &id, &stick.mount.join("mine.p12"), "read-only");
    stick.assert_no_backup_left();
    assert!(!stick.mount.join("mine.p12").exists());
}

#[test]
fn backup_to_a_stick_pulled_out_after_it_was_chosen_fails_cleanly() {
    if !root_or_skip() {
        return;
    }
    let stick = Stick::attach("yank", &[]);
    let (home, _pki, _leaf, id) = home_with_account("Dr Yank");
    let before = home.snapshot();

    // certsafe resolves and checks the destination, then waits for the password.
    let child = spawn_waiting_backup(&home, &id, &stick.mount);
    stick.run("yank");
    let (status, out, err) = give_password_and_wait(child);

    assert_eq!(
        status.code(),
        Some(1),
        "backup to a pulled-out stick should fail with exit 1; stderr: {err}"
    );
    assert!(
        out.trim().is_empty(),
        "nothing should be printed on stdout: {out}"
    );
    assert!(
        err.to_lowercase().contains("removed"),
        "stderr should say the drive was removed: {err}"
    );
    assert!(
        !err.contains(STRONG),
        "the password leaked into the message: {err}"
    );
    // The mount is dead (nothing to re-examine there); the store records nothing.
    assert_eq!(home.snapshot(), before, "a failed backup changed the home");
    assert_eq!(
        backup_state(&home, &id),
        "none",
        "a failed backup was recorded"
    );
    // `stick` is dropped here: detach must clean up the dead mount.
}

/// Starts `backup ID --to MOUNT --password-stdin` and returns once certsafe
/// has checked the destination and waits for the password.
fn spawn_waiting_backup(home: &Home, id: &str, mount: &Path) -> std::process::Child {
    let mut child = home
        .std_cmd()
        .args(["backup", id, "--password-stdin", "--to"])
        .arg(mount)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    if let Some(status) = child.try_wait().unwrap() {
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        panic!("certsafe ended before it was given the password ({status}): {err}");
    }
    child
}

/// Writes the password, closes stdin, waits (at most 120 s); returns the
/// exit status, stdout and stderr.
fn give_password_and_wait(
    mut child: std::process::Child,
) -> (std::process::ExitStatus, String, String) {
    {
        let mut stdin = child.stdin.take().unwrap();
        // certsafe may already have given up; a broken pipe is fine then.
        let _ = stdin.write_all(format!("{STRONG}\n").as_bytes());
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("certsafe did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status, out, err)
}

// ---------------------------------------------------------------------------
// 4. new machine
// ---------------------------------------------------------------------------

#[test]
fn new_machine_restores_from_the_stick_and_reads_old_mail() {
    if !root_or_skip() {
        return;
    }
    let stick = Stick::attach("newmachine", &[]);
    let work = tempfile::tempdir().unwrap();
    let (home, _pki, leaf, id) = home_with_account("Dr Nouvelle Machine");

    // Mail encrypted to the account's certificate, before the disk dies.
    let message = b"Compte rendu operatoire - confidentiel\nPatient: X\n".to_vec();
    let msg = work.path().join("msg.txt");
    let p7m = work.path().join("msg.p7m");
    std::fs::write(&msg, &message).unwrap();
    let cert = home.path().join("data/accounts").join(&id).join("cert.pem");
    assert!(cert.is_file(), "no {}", cert.display());
    // -binary: without it OpenSSL turns LF into CRLF (S/MIME text), and the
    // plaintext would not come back byte for byte.
    let out = Command::new("openssl")
        .args([
            "cms", "-encrypt", "-binary", "-aes256", "-outform", "DER", "-recip",
        ])
        .arg(&cert)
        .arg("-in")
        .arg(&msg)
        .arg("-out")
        .arg(&p7m)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl cms -encrypt: {}",
        stderr_of(&out)
    );

    // Backup to the stick.
    let out = home
        .cmd()
        .args(["backup", &id, "--password-stdin", "--json", "--to"])
        .arg(&stick.mount)
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "backup failed: {}",
        stderr_of(&out)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let file = PathBuf::from(v["path"].as_str().unwrap());
    assert!(file.starts_with(&stick.mount), "{}", file.display());

    // The disk dies: the whole home is gone.
    let old_home = home.path().to_path_buf();
    drop(home);
    assert!(!old_home.exists(), "the old home is still there");

    // A reinstalled machine: a new, empty home, and the stick.
    let new_home = Home::new();
    let out = new_home
        .cmd()
        .args(["restore", "--password-stdin"])
        .arg(&file)
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "restore failed: {}",
        stderr_of(&out)
    );
    let new_id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(
        !new_id.is_empty() && !new_id.contains('\n'),
        "restore should print one ID: {new_id:?}"
    );

    let dir = new_home.path().join("data/accounts").join(&new_id);
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "key.pem has mode {mode:o}");

    // Old mail reads again.
    let out = Command::new("openssl")
        .args(["cms", "-decrypt", "-inform", "DER", "-in"])
        .arg(&p7m)
        .arg("-recip")
        .arg(&cert)
        .arg("-inkey")
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl cms -decrypt with the restored key: {}",
        stderr_of(&out)
    );
    assert_eq!(out.stdout, message, "the decrypted message differs");

    // The restored file counts as a verified backup.
    let account = new_home.account_json(&new_id);
    assert_eq!(
        account["fingerprint"],
        common::fp(&leaf.cert),
        "{account:#}"
    );
    assert_eq!(account["backup_state"], "ok", "{account:#}");
}

// ---------------------------------------------------------------------------
// Overwrite (no root needed)
// ---------------------------------------------------------------------------

#[test]
fn backup_never_overwrites_without_overwrite() {
    let (home, _pki, leaf, id) = home_with_account("Dr Overwrite");
    let dest_dir = tempfile::tempdir().unwrap();
    let target = dest_dir.path().join("backup.p12");
    let precious = b"an older backup, precious bytes \x00\x01\x02".to_vec();
    std::fs::write(&target, &precious).unwrap();

    // Without --overwrite: refused, untouched, nothing recorded, nothing left.
    let before = home.snapshot();
    let out = home
        .cmd()
        .args(["backup", &id, "--password-stdin", "--to"])
        .arg(&target)
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "backup over an existing file should fail; stderr: {err}"
    );
    assert!(err.contains("already exists"), "{err}");
    assert!(
        err.contains("--overwrite"),
        "the message should say how to allow it: {err}"
    );
    assert_eq!(
        std::fs::read(&target).unwrap(),
        precious,
        "the existing file was changed"
    );
    assert_eq!(home.snapshot(), before, "a failed backup changed the home");
    assert_eq!(backup_state(&home, &id), "none");
    let names: Vec<String> = std::fs::read_dir(dest_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["backup.p12"],
        "only the existing file should be there"
    );

    // With --overwrite: replaced by a verified backup.
    let out = home
        .cmd()
        .args([
            "backup",
            &id,
            "--password-stdin",
            "--overwrite",
            "--json",
            "--to",
        ])
        .arg(&target)
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "backup --overwrite failed: {}",
        stderr_of(&out)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(Path::new(v["path"].as_str().unwrap()), target);
    assert_eq!(v["verified"], true);
    let now = std::fs::read(&target).unwrap();
    assert_ne!(now, precious, "the file was not replaced");
    let opened = openssl::pkcs12::Pkcs12::from_der(&now)
        .unwrap()
        .parse2(STRONG)
        .unwrap();
    assert_eq!(common::fp(&opened.cert.unwrap()), common::fp(&leaf.cert));
    let names: Vec<String> = std::fs::read_dir(dest_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["backup.p12"], "temporary files left behind");
    assert_eq!(backup_state(&home, &id), "ok");
}

#[test]
fn another_stick_mounted_in_its_place_is_refused() {
    if !root_or_skip() {
        return;
    }
    let stick = Stick::attach("swap", &[]);
    let (home, _pki, _leaf, id) = home_with_account("Dr Swap");
    let before = home.snapshot();
    // Chosen: now the stick is swapped for another one at the same mount point.
    let child = spawn_waiting_backup(&home, &id, &stick.mount);
    stick.run("detach");
    let out = Stick::script(&["attach", &stick.name], &["--size", "48M"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, _out, err) = give_password_and_wait(child);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("changed since it was chosen"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&stick.mount)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.iter()
            .all(|n| !n.to_string_lossy().contains("certsafe")),
        "nothing written to the other stick: {left:?}"
    );
    assert_eq!(before, home.snapshot(), "no backup recorded");
}
