//! Only regular files are read: a FIFO (which would block in `open()` or
//! `read()` forever), `/dev/zero` (endless) and a folder, given to every
//! command that reads a file, are refused at once with a failure exit code,
//! and nothing in the home changes.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Alg, Home, Pki, STRONG};

fn mkfifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
}

/// Every regular file under `dir` with its bytes, and every other entry by
/// name (a FIFO is listed, never opened).
fn snapshot(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() {
                out.push((p.clone(), Some(std::fs::read(&p).unwrap())));
            } else {
                out.push((p, None));
            }
        }
    }
    out.sort();
    out
}

/// Runs certsafe in `home`; asserts the exit code and that it answered
/// within 5 seconds (a FIFO read would hang until the 20-second kill).
fn answers(home: &Home, what: &str, args: &[&Path], stdin: &str, code: i32) {
    let start = Instant::now();
    let out = home
        .cmd()
        .args(args)
        .write_stdin(stdin.to_string())
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "{what}: took {elapsed:?} (stderr: {})",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: stderr {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn fifos_devices_and_folders_are_refused_at_once_by_every_reading_command() {
    let home = Home::new();
    let pki = Pki::new(Alg::Ec);
    let leaf = pki.leaf("Dr Anne Kerhuon", Alg::Ec);
    let id = home.import(&pki, &leaf, "Dr Anne Kerhuon");
    let files = tempfile::tempdir().unwrap();
    let (cert, key, _) = pki.write(files.path(), &leaf);
    let good_p12 = home.backup(&id, files.path(), STRONG, "modern");
    let before = snapshot(home.path());

    let fifo = files.path().join("pipe.p12");
    mkfifo(&fifo);
    let folder = files.path().join("folder.p12");
    std::fs::create_dir(&folder).unwrap();
    let pw = format!("{STRONG}\n");
    let p = Path::new;
    for target in [fifo.as_path(), p("/dev/zero"), folder.as_path()] {
        let t = target.display();
        let cases: Vec<(String, Vec<&Path>, &str, i32)> = vec![
            (
                format!("verify {t}"),
                vec![p("verify"), p("--password-stdin"), target],
                &pw,
                1,
            ),
            (
                format!("restore {t}"),
                vec![p("restore"), p("--password-stdin"), target],
                &pw,
                1,
            ),
            (
                format!("account import --p12 {t}"),
                vec![
                    p("account"),
                    p("import"),
                    p("--password-stdin"),
                    p("--p12"),
                    target,
                ],
                &pw,
                1,
            ),
            (
                format!("account import --cert {t}"),
                vec![
                    p("account"),
                    p("import"),
                    p("--cert"),
                    target,
                    p("--key"),
                    &key,
                ],
                "",
                1,
            ),
            (
                format!("account import --key {t}"),
                vec![
                    p("account"),
                    p("import"),
                    p("--cert"),
                    &cert,
                    p("--key"),
                    target,
                ],
                "",
                1,
            ),
            (
                format!("ca import {t}"),
                vec![p("ca"), p("import"), target],
                "",
                1,
            ),
            (
                format!("correspondent import {t}"),
                vec![p("correspondent"), p("import"), target],
                "",
                1,
            ),
            (
                format!("crl import {t}"),
                vec![p("crl"), p("import"), target],
                "",
                1,
            ),
            // A check that cannot read its certificate is "unknown" (3).
            (format!("check {t}"), vec![p("check"), target], "", 3),
            (
                format!("--password-file {t}"),
                vec![p("verify"), p("--password-file"), target, &good_p12],
                "",
                1,
            ),
        ];
        for (what, args, stdin, code) in &cases {
            answers(&home, what, args, stdin, *code);
        }
    }
    assert_eq!(snapshot(home.path()), before, "the home changed");
}

#[test]
fn a_fifo_device_or_folder_as_config_toml_is_refused_at_once() {
    let p = Path::new;
    for kind in ["fifo", "device", "folder"] {
        let home = Home::new();
        let config = home.path().join("config.toml");
        match kind {
            "fifo" => mkfifo(&config),
            "device" => std::os::unix::fs::symlink("/dev/zero", &config).unwrap(),
            _ => std::fs::create_dir(&config).unwrap(),
        }
        let before = snapshot(home.path());
        answers(
            &home,
            &format!("config.toml {kind}"),
            &[p("account"), p("list")],
            "",
            1,
        );
        answers(&home, &format!("config.toml {kind}"), &[p("status")], "", 1);
        assert_eq!(snapshot(home.path()), before, "{kind}: the home changed");
    }
}

#[test]
fn an_oversized_password_file_is_refused() {
    let home = Home::new();
    let pki = Pki::new(Alg::Ec);
    let leaf = pki.leaf("Dr Anne Kerhuon", Alg::Ec);
    let id = home.import(&pki, &leaf, "Dr Anne Kerhuon");
    let files = tempfile::tempdir().unwrap();
    let p12 = home.backup(&id, files.path(), STRONG, "modern");
    // The right password on the first line: accepted while the file is small.
    let small = files.path().join("small.txt");
    std::fs::write(&small, format!("{STRONG}\n")).unwrap();
    answers(
        &home,
        "small password file",
        &[
            Path::new("verify"),
            Path::new("--password-file"),
            &small,
            &p12,
        ],
        "",
        0,
    );
    let big = files.path().join("password.txt");
    let mut text = format!("{STRONG}\n");
    text.push_str(&"x".repeat(8 << 10));
    std::fs::write(&big, text).unwrap();
    answers(
        &home,
        "oversized password file",
        &[
            Path::new("verify"),
            Path::new("--password-file"),
            &big,
            &p12,
        ],
        "",
        1,
    );
}
