//! The CLI contract of the core: exit codes, stdout, stderr, JSON keys, and
//! that bad input leaves the store unchanged.
#![allow(clippy::unwrap_used, clippy::case_sensitive_file_extension_comparisons)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Alg, Home, Pki, STRONG, fixtures, fp};
use predicates::prelude::*;

fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A home with one account (RSA) and a folder to back up into.
struct Setup {
    home: Home,
    pki: Pki,
    leaf: common::Leaf,
    id: String,
    dest: tempfile::TempDir,
}

fn setup() -> Setup {
    let home = Home::new();
    let pki = Pki::new(Alg::Ec);
    let leaf = pki.leaf("Marie Durand", Alg::Rsa);
    let id = home.import(&pki, &leaf, "Dr Marie Durand");
    Setup {
        home,
        pki,
        leaf,
        id,
        dest: tempfile::tempdir().unwrap(),
    }
}

// ---------------------------------------------------------------- usage

#[test]
fn help_and_version_exit_0() {
    let home = Home::new();
    home.cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("backup"));
    home.cmd().arg("--version").assert().success();
    home.cmd()
        .args(["backup", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--password-stdin"));
}

#[test]
fn usage_errors_exit_64() {
    let home = Home::new();
    for args in [
        vec!["account", "frobnicate"],
        vec!["backup", "abc"], // --to missing
        vec!["backup", "abc", "--to", "/tmp", "--password", "secret"], // passwords are never arguments
        vec!["backup", "abc", "--to", "/tmp", "--profile", "rc2"],
        vec!["account", "import"],
        vec!["account", "import", "--cert", "a.pem"], // --key missing
        vec!["verify"],
        vec!["--lang", "de", "account", "list"],
    ] {
        home.cmd().args(&args).assert().code(64);
    }
    // Without a subcommand (the terminal interface), not a terminal: usage error too.
    home.cmd().assert().code(64);
}

// ---------------------------------------------------------------- import

#[test]
fn import_prints_the_id_and_lists_the_account() {
    let s = setup();
    assert_eq!(s.id.len(), 12);
    assert!(s.id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(s.id, fp(&s.leaf.cert)[..12]);

    let list = json_of(
        &s.home
            .cmd()
            .args(["account", "list", "--json"])
            .output()
            .unwrap(),
    );
    let a = &list[0];
    for key in ["id", "label", "fingerprint", "not_after", "backup_state"] {
        assert!(!a[key].is_null(), "missing {key} in {a}");
    }
    assert_eq!(a["id"], s.id.as_str());
    assert_eq!(a["label"], "Dr Marie Durand");
    assert_eq!(a["fingerprint"], fp(&s.leaf.cert).as_str());
    assert_eq!(a["backup_state"], "none");
    assert_eq!(a["email"], "marie.durand@example.fr");
    assert!(a["not_after"].as_str().unwrap().ends_with('Z'));

    let show = s.home.account_json(&s.id);
    assert_eq!(show["chain"].as_array().unwrap().len(), 2);

    s.home
        .cmd()
        .args(["account", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains(&s.id));
    // The human listing shows the state in the reader's language, not the
    // JSON vocabulary word.
    s.home
        .cmd()
        .args(["--lang", "fr", "account", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains(&s.id).and(predicate::str::contains("none").not()));
}

#[test]
fn keys_are_private_files() {
    let s = setup();
    let key = s
        .home
        .path()
        .join("data/accounts")
        .join(&s.id)
        .join("key.pem");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "key.pem mode {mode:o}");
    let dir_mode = std::fs::metadata(s.home.path().join("data/accounts"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
}

#[test]
fn import_json_has_id() {
    let home = Home::new();
    let pki = Pki::new(Alg::Rsa);
    let leaf = pki.leaf("Jean Martin", Alg::Ec);
    let files = tempfile::tempdir().unwrap();
    let (c, k, ch) = pki.write(files.path(), &leaf);
    let v = json_of(
        &home
            .cmd()
            .args(["account", "import", "--json", "--cert"])
            .arg(&c)
            .arg("--key")
            .arg(&k)
            .arg("--chain")
            .arg(&ch)
            .output()
            .unwrap(),
    );
    assert_eq!(v["id"], &fp(&leaf.cert)[..12]);
    assert_eq!(v["label"], "Jean Martin", "label defaults to the CN");
}

#[test]
fn import_reads_every_key_format() {
    let pki = Pki::new(Alg::Rsa);
    for alg in [Alg::Rsa, Alg::Ec] {
        let leaf = pki.leaf("Key Formats", alg);
        let dir = tempfile::tempdir().unwrap();
        let (cert_pem, _, chain) = pki.write(dir.path(), &leaf);
        let cert_der = dir.path().join("leaf.der");
        std::fs::write(&cert_der, leaf.cert.to_der().unwrap()).unwrap();
        let traditional = match alg {
            Alg::Rsa => leaf.key.rsa().unwrap().private_key_to_pem().unwrap(), // PKCS#1
            Alg::Ec => leaf.key.ec_key().unwrap().private_key_to_pem().unwrap(), // SEC1
        };
        let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
            (
                "pkcs8.pem",
                leaf.key.private_key_to_pem_pkcs8().unwrap(),
                None,
            ),
            ("pkcs8.der", leaf.key.private_key_to_pkcs8().unwrap(), None),
            ("traditional.pem", traditional, None),
            (
                "traditional.der",
                leaf.key.private_key_to_der().unwrap(),
                None,
            ),
            (
                "encrypted.pem",
                leaf.key
                    .private_key_to_pem_pkcs8_passphrase(
                        openssl::symm::Cipher::aes_256_cbc(),
                        b"key password 1",
                    )
                    .unwrap(),
                Some("key password 1"),
            ),
            (
                "encrypted.der",
                leaf.key
                    .private_key_to_pkcs8_passphrase(
                        openssl::symm::Cipher::aes_256_cbc(),
                        b"key password 1",
                    )
                    .unwrap(),
                Some("key password 1"),
            ),
        ];
        for (name, bytes, password) in cases {
            let home = Home::new();
            let key_path = dir.path().join(name);
            std::fs::write(&key_path, bytes).unwrap();
            let cert = if name.ends_with(".der") {
                &cert_der
            } else {
                &cert_pem
            };
            let mut cmd = home.cmd();
            cmd.args(["account", "import", "--cert"])
                .arg(cert)
                .arg("--key")
                .arg(&key_path)
                .arg("--chain")
                .arg(&chain);
            if let Some(p) = password {
                cmd.arg("--password-stdin").write_stdin(format!("{p}\n"));
            }
            let out = cmd.output().unwrap();
            assert!(out.status.success(), "{alg:?} {name}: {}", stderr_of(&out));
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                &fp(&leaf.cert)[..12],
                "{name}"
            );
        }
        // Wrong password for the encrypted key: clear message, nothing stored.
        let home = Home::new();
        let out = home
            .cmd()
            .args(["account", "import", "--password-stdin", "--cert"])
            .arg(&cert_pem)
            .arg("--key")
            .arg(dir.path().join("encrypted.pem"))
            .write_stdin("not the password\n")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr_of(&out).contains("password"), "{}", stderr_of(&out));
        assert!(home.snapshot().is_empty());
    }
}

#[test]
fn a_key_that_does_not_match_is_refused_and_nothing_is_stored() {
    let home = Home::new();
    let pki = Pki::new(Alg::Rsa);
    let a = pki.leaf("Alice", Alg::Rsa);
    let b = pki.leaf("Bob", Alg::Rsa);
    let dir = tempfile::tempdir().unwrap();
    let (cert, _, _) = pki.write(dir.path(), &a);
    let other_key = dir.path().join("other.key");
    std::fs::write(&other_key, b.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    home.cmd()
        .args(["account", "import", "--cert"])
        .arg(&cert)
        .arg("--key")
        .arg(&other_key)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("does not match"));
    assert!(
        home.snapshot().is_empty(),
        "nothing written: {:?}",
        home.snapshot()
    );
}

#[test]
fn importing_the_same_certificate_twice_is_refused() {
    let s = setup();
    let before = s.home.snapshot();
    let dir = tempfile::tempdir().unwrap();
    let (c, k, _) = s.pki.write(dir.path(), &s.leaf);
    s.home
        .cmd()
        .args(["account", "import", "--cert"])
        .arg(&c)
        .arg("--key")
        .arg(&k)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already imported").and(predicate::str::contains(&s.id)));
    assert_eq!(before, s.home.snapshot());
}

#[test]
fn missing_files_and_unknown_accounts() {
    let s = setup();
    let before = s.home.snapshot();
    s.home
        .cmd()
        .args([
            "account",
            "import",
            "--cert",
            "/nonexistent/a.pem",
            "--key",
            "/nonexistent/a.key",
        ])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("/nonexistent/a.pem")
                .and(predicate::str::contains("does not exist")),
        );
    s.home
        .cmd()
        .args(["account", "show", "ffffffffffff"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("no account ffffffffffff")
                .and(predicate::str::contains("account list")),
        );
    s.home
        .cmd()
        .args(["backup", "ffffffffffff", "--password-stdin", "--to"])
        .arg(s.dest.path())
        .write_stdin(format!("{STRONG}\n"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no account"));
    s.home
        .cmd()
        .args(["verify", "/nonexistent/file.p12", "--password-stdin"])
        .write_stdin(format!("{STRONG}\n"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot read /nonexistent/file.p12",
        ));
    assert_eq!(before, s.home.snapshot());
}

#[test]
fn remove_asks_for_confirmation() {
    let s = setup();
    s.home
        .cmd()
        .args(["account", "remove", &s.id])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--yes"));
    assert!(s.home.path().join("data/accounts").join(&s.id).exists());
    s.home
        .cmd()
        .args(["account", "remove", &s.id, "--yes"])
        .assert()
        .success();
    assert!(!s.home.path().join("data/accounts").join(&s.id).exists());
    let list = json_of(
        &s.home
            .cmd()
            .args(["account", "list", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(list, serde_json::json!([]));
}

// ---------------------------------------------------------------- backup: bad passwords

fn backup_with_stdin(s: &Setup, stdin: Option<&[u8]>) -> std::process::Output {
    if let Some(bytes) = stdin {
        let mut cmd = s.home.cmd();
        cmd.args(["backup", &s.id, "--password-stdin", "--to"])
            .arg(s.dest.path());
        cmd.write_stdin(bytes.to_vec()).output().unwrap()
    } else {
        let mut cmd = s.home.std_cmd();
        cmd.args(["backup", &s.id, "--password-stdin", "--to"])
            .arg(s.dest.path());
        cmd.stdin(std::process::Stdio::null()).output().unwrap()
    }
}

fn assert_no_backup(s: &Setup, before: &[(std::path::PathBuf, Vec<u8>)]) {
    assert_eq!(before, s.home.snapshot().as_slice(), "store changed");
    let left: Vec<_> = std::fs::read_dir(s.dest.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "files left in the destination: {left:?}");
}

#[test]
fn bad_backup_passwords_are_refused_with_a_reason() {
    let s = setup();
    let before = s.home.snapshot();
    let cases: Vec<(&[u8], &str)> = vec![
        (b"\n", "empty"),
        (b"correct horse\0battery staple\n", "NUL"),
        (b"marie.durand\n", "too weak"),
        (b"Durand2024!\n", "too weak"),
        (b"", "closed or empty"),
    ];
    for (stdin, expected) in cases {
        let out = backup_with_stdin(&s, Some(stdin));
        assert_eq!(
            out.status.code(),
            Some(1),
            "{expected}: {}",
            stderr_of(&out)
        );
        assert!(
            stderr_of(&out).contains(expected),
            "want {expected:?}, got {}",
            stderr_of(&out)
        );
        assert_no_backup(&s, &before);
    }
    // Closed stdin.
    let out = backup_with_stdin(&s, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("closed or empty"),
        "{}",
        stderr_of(&out)
    );
    assert_no_backup(&s, &before);
}

#[test]
fn no_terminal_and_no_password_source_is_a_clear_error() {
    let s = setup();
    let before = s.home.snapshot();
    let out = s
        .home
        .std_cmd()
        .args(["backup", &s.id, "--to"])
        .arg(s.dest.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("no terminal") && err.contains("--password-stdin"),
        "{err}"
    );
    assert_no_backup(&s, &before);
}

#[test]
fn password_file_works_and_the_password_never_shows() {
    let s = setup();
    let pw = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pw.path(), format!("{STRONG}\r\n")).unwrap();
    let out = s
        .home
        .cmd()
        .args(["backup", &s.id, "--json", "--password-file"])
        .arg(pw.path())
        .arg("--to")
        .arg(s.dest.path())
        .output()
        .unwrap();
    let v = json_of(&out);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("horse"));
    assert!(!stderr_of(&out).contains("horse"));
    // The CRLF was stripped: the file opens with the bare password.
    let path = v["path"].as_str().unwrap();
    s.home
        .cmd()
        .args(["verify", path, "--password-stdin"])
        .write_stdin(format!("{STRONG}\n"))
        .assert()
        .success();
    // Nothing secret in the store's metadata either.
    for (p, bytes) in s.home.snapshot() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains("horse"),
            "password found in {}",
            p.display()
        );
    }
}

// ---------------------------------------------------------------- backup: destinations

#[test]
fn backup_json_and_state() {
    let s = setup();
    let out = s
        .home
        .cmd()
        .args(["backup", &s.id, "--json", "--password-stdin", "--to"])
        .arg(s.dest.path())
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    let v = json_of(&out);
    for key in ["path", "fingerprint", "profile", "verified"] {
        assert!(!v[key].is_null(), "missing {key}");
    }
    assert_eq!(v["verified"], true);
    assert_eq!(v["profile"], "modern");
    assert_eq!(v["fingerprint"], fp(&s.leaf.cert).as_str());
    let path = Path::new(v["path"].as_str().unwrap());
    assert_eq!(path.parent().unwrap(), s.dest.path());
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("certsafe-Dr-Marie-Durand-") && name.ends_with(".p12"),
        "{name}"
    );
    assert!(!name.contains([':', '*', '?', '"', '<', '>', '|', '\\']));
    assert_eq!(s.home.account_json(&s.id)["backup_state"], "ok");
    // Only the final file: no temporary left.
    assert_eq!(std::fs::read_dir(s.dest.path()).unwrap().count(), 1);
    // Warned: same disk as the store (both in /tmp).
    assert!(stderr_of(&out).contains("same disk"), "{}", stderr_of(&out));
}

#[test]
fn backup_to_a_named_file_and_refusals() {
    let s = setup();
    let before = s.home.snapshot();
    let run = |to: &Path| {
        s.home
            .cmd()
            .args(["backup", &s.id, "--password-stdin", "--to"])
            .arg(to)
            .write_stdin(format!("{STRONG}\n"))
            .output()
            .unwrap()
    };
    // Missing folder.
    let out = run(&s.dest.path().join("no/such/folder"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("does not exist"),
        "{}",
        stderr_of(&out)
    );
    // A name that is neither a folder nor .p12/.pfx.
    let out = run(&s.dest.path().join("backup.txt"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains(".p12 or .pfx"),
        "{}",
        stderr_of(&out)
    );
    // A .p12 in a missing folder.
    let out = run(&s.dest.path().join("nope/x.p12"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("does not exist"));
    // FAT-forbidden characters.
    let out = run(&s.dest.path().join("a:b.p12"));
    assert_eq!(out.status.code(), Some(1));
    assert_no_backup(&s, &before);
    // A good .pfx name.
    let out = run(&s.dest.path().join("Sauvegarde Été.pfx"));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        s.dest.path().join("Sauvegarde Été.pfx").to_str().unwrap()
    );
}

#[test]
fn an_unwritable_destination_is_refused() {
    let s = setup();
    let before = s.home.snapshot();
    let target = tempfile::tempdir().unwrap();
    let mounted = if common::is_root() {
        // Root writes through modes: use a read-only filesystem instead.
        std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=1m", "certsafe-ro"])
            .arg(target.path())
            .status()
            .is_ok_and(|st| st.success())
    } else {
        std::fs::set_permissions(target.path(), std::fs::Permissions::from_mode(0o500)).unwrap();
        false
    };
    let out = s
        .home
        .cmd()
        .args(["backup", &s.id, "--password-stdin", "--to"])
        .arg(target.path())
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    if mounted {
        let _ = std::process::Command::new("umount")
            .arg(target.path())
            .status();
    }
    assert!(
        !common::is_root() || mounted,
        "as root, a read-only tmpfs must mount for this test"
    );
    std::fs::set_permissions(target.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("read-only") || err.contains("permission denied"),
        "{err}"
    );
    assert_eq!(before, s.home.snapshot());
}

// ---------------------------------------------------------------- verify / restore: bad files

fn make_backup(s: &Setup) -> std::path::PathBuf {
    s.home.backup(&s.id, s.dest.path(), STRONG, "modern")
}

#[test]
fn verify_reports_contents_and_algorithms() {
    let s = setup();
    let file = make_backup(&s);
    let out = s
        .home
        .cmd()
        .args(["verify", "--json", "--password-stdin", "--account", &s.id])
        .arg(&file)
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(v["fingerprint"], fp(&s.leaf.cert).as_str());
    assert_eq!(v["key_matches"], true);
    assert_eq!(v["certificates"], 3);
    assert_eq!(v["matches_account"], true);
    assert_eq!(v["friendly_name"], "Dr Marie Durand");
    assert_eq!(v["layout"]["mac"]["digest"], "SHA-256");
    assert_eq!(v["layout"]["mac"]["iterations"], 600_000);
    assert_eq!(v["layout"]["key_encryption"]["cipher"], "AES-256-CBC");
    assert_eq!(v["layout"]["key_encryption"]["kdf"], "PBKDF2-HMAC-SHA256");
    assert_eq!(v["layout"]["cert_encryption"]["iterations"], 600_000);

    // Against another account: exit 1.
    let other = s.pki.leaf("Other", Alg::Ec);
    let other_id = s.home.import(&s.pki, &other, "Other");
    s.home
        .cmd()
        .args(["verify", "--password-stdin", "--account", &other_id])
        .arg(&file)
        .write_stdin(format!("{STRONG}\n"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("does not hold"));
}

#[test]
fn damaged_files_and_wrong_passwords_are_told_apart() {
    let s = setup();
    let file = make_backup(&s);
    let bytes = std::fs::read(&file).unwrap();
    let restore_home = Home::new();
    let dir = tempfile::tempdir().unwrap();

    let truncated = dir.path().join("truncated.p12");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let flipped = dir.path().join("flipped.p12");
    let mut f = bytes.clone();
    let mid = f.len() / 2;
    f[mid] ^= 0x01;
    std::fs::write(&flipped, &f).unwrap();
    let not_p12 = dir.path().join("letter.p12");
    std::fs::write(&not_p12, "Bonjour, ceci est une lettre.\n").unwrap();
    let cert_pem = dir.path().join("cert.p12");
    std::fs::write(&cert_pem, s.leaf.cert.to_der().unwrap()).unwrap();
    let huge = dir.path().join("huge.p12");
    std::fs::write(&huge, vec![0x30u8; 2 * 1024 * 1024]).unwrap();

    let cases: Vec<(&Path, &str, &str)> = vec![
        (&file, "wrong password please", "wrong password"),
        (&truncated, STRONG, "damaged"),
        (&flipped, STRONG, "altered"),
        (&not_p12, STRONG, "not a PKCS#12"),
        (&cert_pem, STRONG, "not a PKCS#12"),
        (&huge, STRONG, "too large"),
    ];
    for (path, pw, expected) in cases {
        for cmd in ["verify", "restore"] {
            let out = restore_home
                .cmd()
                .args([cmd, "--password-stdin"])
                .arg(path)
                .write_stdin(format!("{pw}\n"))
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1), "{cmd} {}", path.display());
            assert!(
                stderr_of(&out).contains(expected),
                "{cmd} {}: want {expected:?}, got {}",
                path.display(),
                stderr_of(&out)
            );
            assert!(
                !stderr_of(&out).contains(pw) || pw == STRONG && !stderr_of(&out).contains("horse")
            );
        }
    }
    assert!(
        restore_home.snapshot().is_empty(),
        "nothing restored: {:?}",
        restore_home.snapshot()
    );
}

#[test]
fn absurd_iteration_counts_are_refused_at_once() {
    use certsafe::domain::ber;
    let s = setup();
    let file = make_backup(&s);
    let bytes = std::fs::read(&file).unwrap();
    // Rebuild the PFX with a MacData claiming 50 million iterations.
    let pfx = ber::read_one(&bytes).unwrap();
    let kids = pfx.children().unwrap();
    let (_, vlen) = ber::read_first(pfx.content).unwrap();
    let rest = &pfx.content[vlen..];
    let (_, alen) = ber::read_first(rest).unwrap();
    let mac = kids[2].children().unwrap();
    let digest_info = ber::der(ber::tag::SEQUENCE, mac[0].content);
    let salt = ber::der(ber::tag::OCTET_STRING, mac[1].content);
    let mac_data = ber::der(
        ber::tag::SEQUENCE,
        &[digest_info, salt, ber::der_uint(50_000_000)].concat(),
    );
    let evil = ber::der(
        ber::tag::SEQUENCE,
        &[&pfx.content[..vlen], &rest[..alen], &mac_data].concat(),
    );
    let path = s.dest.path().join("evil.p12");
    std::fs::write(&path, evil).unwrap();
    let started = std::time::Instant::now();
    let out = s
        .home
        .cmd()
        .args(["verify", "--password-stdin", "--json"])
        .arg(&path)
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "p12_too_much_work", "{v}");
    // Not a timing assertion: 50 M iterations would take many seconds; refusing takes none.
    eprintln!("refused in {:?}", started.elapsed());
}

// ---------------------------------------------------------------- restore

#[test]
fn restore_on_an_empty_machine_and_again() {
    let s = setup();
    let file = make_backup(&s);
    let fresh = Home::new();
    let out = fresh
        .cmd()
        .args(["restore", "--password-stdin"])
        .arg(&file)
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(id, s.id);
    let a = fresh.account_json(&id);
    assert_eq!(a["fingerprint"], fp(&s.leaf.cert).as_str());
    assert_eq!(a["label"], "Dr Marie Durand", "label from the friendlyName");
    assert_eq!(
        a["backup_state"], "ok",
        "a restored file counts as a verified backup"
    );
    assert!(stderr_of(&out).contains("signed and verified"));

    // Restoring the same file again: nothing replaced, JSON says so.
    let v = json_of(
        &fresh
            .cmd()
            .args(["restore", "--json", "--password-stdin"])
            .arg(&file)
            .write_stdin(format!("{STRONG}\n"))
            .output()
            .unwrap(),
    );
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["action"], "already_present");
    assert_eq!(v["key_works"], true);
}

#[test]
fn restore_never_replaces_a_key_without_replace_and_archives_it() {
    let s = setup();
    // A new certificate for the same person (renewal), backed up from another home.
    let renewed = s.pki.leaf("Marie Durand", Alg::Rsa);
    let other_home = Home::new();
    let other_id = other_home.import(&s.pki, &renewed, "Dr Marie Durand");
    let dest = tempfile::tempdir().unwrap();
    let file = other_home.backup(&other_id, dest.path(), STRONG, "compat");

    let before = s.home.snapshot();
    s.home
        .cmd()
        .args(["restore", "--password-stdin", "--account", &s.id])
        .arg(&file)
        .write_stdin(format!("{STRONG}\n"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--replace"));
    assert_eq!(before, s.home.snapshot());

    // An unknown target account.
    s.home
        .cmd()
        .args(["restore", "--password-stdin", "--account", "ffffffffffff"])
        .arg(&file)
        .write_stdin(format!("{STRONG}\n"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no account"));
    assert_eq!(before, s.home.snapshot());

    let v = json_of(
        &s.home
            .cmd()
            .args([
                "restore",
                "--json",
                "--replace",
                "--password-stdin",
                "--account",
                &s.id,
            ])
            .arg(&file)
            .write_stdin(format!("{STRONG}\n"))
            .output()
            .unwrap(),
    );
    assert_eq!(v["action"], "replaced");
    assert_eq!(v["id"], s.id.as_str());
    let archive = Path::new(v["archived_to"].as_str().unwrap());
    let archived_cert =
        openssl::x509::X509::from_pem(&std::fs::read(archive.join("cert.pem")).unwrap()).unwrap();
    assert_eq!(
        fp(&archived_cert),
        fp(&s.leaf.cert),
        "the old identity is archived"
    );
    let archived_key = std::fs::read(archive.join("key.pem")).unwrap();
    let archived_key = openssl::pkey::PKey::private_key_from_pem(&archived_key).unwrap();
    assert!(archived_key.public_eq(&s.leaf.key));
    let a = s.home.account_json(&s.id);
    assert_eq!(a["fingerprint"], fp(&renewed.cert).as_str());
    assert_eq!(a["backup_state"], "ok");
}

#[test]
fn backup_state_becomes_outdated_then_old() {
    let s = setup();
    make_backup(&s);
    assert_eq!(s.home.account_json(&s.id)["backup_state"], "ok");

    // A renewed certificate replaces the identity (through the store API, as a
    // renewal would) without a backup of it: outdated.
    let home2 = Home::new();
    let id2 = home2.import(&s.pki, &s.leaf, "Dr Marie Durand");
    let dir = tempfile::tempdir().unwrap();
    home2.backup(&id2, dir.path(), STRONG, "modern");
    let renewed = s.pki.leaf("Marie Durand", Alg::Rsa);
    let store = certsafe::domain::store::Store::open(&home2.path().join("data/accounts")).unwrap();
    let account = store.get(&id2).unwrap();
    let identity = certsafe::domain::identity::Identity::assemble(
        renewed.key,
        vec![
            renewed.cert.clone(),
            s.pki.inter.clone(),
            s.pki.root.clone(),
        ],
    )
    .unwrap();
    store
        .replace(&account, &identity, certsafe::domain::time::now())
        .unwrap();
    assert_eq!(home2.account_json(&id2)["backup_state"], "outdated");

    // Old: with a maximum age of 0 days, a backup made a second ago is old.
    std::fs::write(
        s.home.path().join("config.toml"),
        "[backup]\nmax_age_days = 0\n",
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(s.home.account_json(&s.id)["backup_state"], "old");
}

// ---------------------------------------------------------------- the real IGC-Santé TEST identity

#[test]
fn the_igc_sante_test_identity_imports_backs_up_and_restores() {
    let f = fixtures();
    let home = Home::new();
    let out = home
        .cmd()
        .args(["account", "import", "--cert"])
        .arg(f.join("testsign.test.asipsante.fr.8f613149.pem"))
        .arg("--key")
        .arg(f.join("testsign.test.asipsante.fr.8f613149.key.pem"))
        .arg("--chain")
        .arg(f.join("TEST_AC_IGC-SANTE_ELEMENTAIRE_ORGANISATIONS.dc528e37.pem"))
        .arg("--chain")
        .arg(f.join("TEST_AC_RACINE_IGC-SANTE_ELEMENTAIRE.01325aeb.pem"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("expired"),
        "expired warning: {}",
        stderr_of(&out)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let cert = openssl::x509::X509::from_pem(
        &std::fs::read(f.join("testsign.test.asipsante.fr.8f613149.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(id, fp(&cert)[..12]);
    let a = home.account_json(&id);
    assert_eq!(a["label"], "testsign.test.asipsante.fr");
    assert_eq!(a["expired"], true);
    assert_eq!(a["chain"].as_array().unwrap().len(), 2);
    assert!(
        a["chain"][0]["subject"]
            .as_str()
            .unwrap()
            .contains("TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS")
    );

    let dest = tempfile::tempdir().unwrap();
    let out = home
        .cmd()
        .args(["backup", &id, "--password-stdin", "--to"])
        .arg(dest.path())
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("expired"), "{}", stderr_of(&out));
    let file = String::from_utf8_lossy(&out.stdout).trim().to_string();

    let fresh = Home::new();
    let out = fresh
        .cmd()
        .args(["restore", "--password-stdin", &file])
        .write_stdin(format!("{STRONG}\n"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("expired"));
    let restored = fresh.account_json(&id);
    assert_eq!(restored["fingerprint"], fp(&cert).as_str());
    assert_eq!(restored["chain"].as_array().unwrap().len(), 2);
}

// ---------------------------------------------------------------- status

#[test]
fn status_exit_codes_follow_monitoring_conventions() {
    let home = Home::new();
    // Nothing to protect yet: unknown (3).
    let out = home.cmd().args(["status", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["level"], "unknown");
    assert_eq!(v["alerts"][0]["code"], "no_account");

    // An account without backup: critical (2), with the keys scripts rely on.
    let pki = Pki::new(Alg::Ec);
    let leaf = pki.leaf("Marie Durand", Alg::Ec);
    let id = home.import(&pki, &leaf, "Dr Marie Durand");
    let out = home.cmd().args(["status", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["level"], "critical");
    let alert = &v["alerts"][0];
    for key in ["severity", "code", "message", "recommendation"] {
        assert!(alert[key].is_string(), "missing {key}: {alert}");
    }
    assert_eq!(alert["code"], "backup_missing");
    assert!(alert["recommendation"].as_str().unwrap().contains(&id));

    // Backed up, valid for a year, but revocation not set up (no trusted
    // CA): unknown (3), said as such.
    let dest = tempfile::tempdir().unwrap();
    home.backup(&id, dest.path(), STRONG, "modern");
    let out = home.cmd().args(["status", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["alerts"][0]["code"], "revocation_not_set_up");
    assert_eq!(v["alerts"].as_array().unwrap().len(), 1);
    let out = home
        .cmd()
        .args(["crl", "status", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "crl status agrees");

    // Revocation checked, a fresh CRL: ok (0).
    home.watch_revocation(&pki);
    let out = home.cmd().args(["status", "--json"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["level"], "ok");
    assert_eq!(v["alerts"], serde_json::json!([]));

    // Expiring within the warning window: warning (1).
    let soon = pki.leaf_valid("Jean Martin", Alg::Ec, 300, 10);
    let id2 = home.import(&pki, &soon, "Jean Martin");
    home.backup(&id2, dest.path(), STRONG, "modern");
    let out = home.cmd().args(["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("WARNING") && text.contains("expires in"),
        "{text}"
    );
    // The same in French.
    let out = home
        .cmd()
        .args(["--lang", "fr", "status"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ATTENTION") && text.contains("expire dans"),
        "{text}"
    );
}

#[test]
fn json_failures_print_an_error_object() {
    let home = Home::new();
    let out = home
        .cmd()
        .args(["account", "show", "ffffffffffff", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ffffffffffff")
    );
    assert_eq!(v["error"]["exit_code"], 1);
}

#[test]
fn help_speaks_the_users_language() {
    let home = Home::new();
    home.cmd()
        .args(["--lang", "fr", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Sauvegarder un compte")
                .and(predicate::str::contains("Codes de sortie")),
        );
    home.cmd()
        .env("LANG", "fr_FR.UTF-8")
        .args(["backup", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Remplacer un fichier existant"));
    home.cmd()
        .args(["backup", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Replace an existing file of the same name",
        ));
}
