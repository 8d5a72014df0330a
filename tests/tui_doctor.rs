//! A doctor with an empty home, keys only, in a real terminal (tmux) with
//! real USB sticks: imports the IGC-Santé TEST identity from stick A, backs
//! it up to stick B, removes the account. No command line. Needs root (loop
//! devices) and tmux; says "skipped" otherwise (CI runs it as root).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::stick::Stick;

const PASSWORD: &str = "correct horse battery staple Brest 1987";
const LEAF: &str = "testsign.test.asipsante.fr.8f613149";

/// A tmux session at 80×24, killed on drop.
struct Tmux {
    name: String,
}

impl Tmux {
    fn start(command: &str) -> Self {
        let name = format!("cs-doctor-{}", std::process::id());
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", &name, "-x", "80", "-y", "24"])
            .arg(command)
            .status()
            .unwrap();
        assert!(ok.success(), "tmux did not start");
        Self { name }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text`; panics with the screen otherwise.
    fn wait_for(&self, text: &str, secs: u64) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(secs),
                "timed out waiting for {text:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `text` is gone from the screen.
    fn wait_gone(&self, text: &str, secs: u64) {
        let start = Instant::now();
        while self.screen().contains(text) {
            assert!(
                start.elapsed() < Duration::from_secs(secs),
                "{text:?} stays:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let ok = Command::new("tmux")
                .args(["send-keys", "-t", &self.name, k])
                .status()
                .unwrap();
            assert!(ok.success());
        }
    }

    fn text(&self, text: &str) {
        let ok = Command::new("tmux")
            .args(["send-keys", "-t", &self.name, "-l", text])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Presses Down until the selected line contains `text`.
    fn select(&self, text: &str) {
        for _ in 0..20 {
            if self
                .screen()
                .lines()
                .any(|l| l.contains("> ") && l.contains(text))
            {
                return;
            }
            self.keys(&["Down"]);
            std::thread::sleep(Duration::from_millis(150));
        }
        panic!("could not select {text:?}:\n{}", self.screen());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}

fn sh(script: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The TEST identity as a .p12 made by openssl, on `dir`; returns the
/// certificate's SHA-256 fingerprint.
fn put_identity(dir: &Path, pass_file: &Path) -> String {
    let f = common::fixtures();
    let chain = tempfile::NamedTempFile::new().unwrap();
    let mut pem =
        std::fs::read(f.join("TEST_AC_IGC-SANTE_ELEMENTAIRE_ORGANISATIONS.dc528e37.pem")).unwrap();
    pem.extend(std::fs::read(f.join("TEST_AC_RACINE_IGC-SANTE_ELEMENTAIRE.01325aeb.pem")).unwrap());
    std::fs::write(chain.path(), pem).unwrap();
    sh(&format!(
        "openssl pkcs12 -export -in '{leaf}.pem' -inkey '{leaf}.key.pem' -certfile '{chain}' \
         -name 'Dr Test' -passout 'file:{pw}' -out '{out}'",
        leaf = f.join(LEAF).display(),
        chain = chain.path().display(),
        pw = pass_file.display(),
        out = dir.join("doctor.p12").display(),
    ));
    sh(&format!(
        "openssl x509 -in '{}.pem' -outform DER | openssl dgst -sha256 -r",
        f.join(LEAF).display()
    ))
    .split_whitespace()
    .next()
    .unwrap()
    .to_string()
}

fn p12_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "p12"))
        .collect()
}

#[test]
fn a_doctor_imports_backs_up_and_removes_with_keys_only() {
    if !common::root_or_skip("loop devices") {
        return;
    }
    if !common::require("tmux") {
        return;
    }
    let stick_a = Stick::attach("docA", &[]);
    let stick_b = Stick::attach("docB", &[]);
    let work = tempfile::tempdir().unwrap();
    let pass_file = work.path().join("pw");
    std::fs::write(&pass_file, format!("{PASSWORD}\n")).unwrap();
    let fingerprint = put_identity(&stick_a.mount, &pass_file);
    sh(&format!("sync -f '{}'", stick_a.mount.display()));
    let home = tempfile::tempdir().unwrap();

    let t = Tmux::start(&format!(
        "env LANG=C.UTF-8 TERM=xterm-256color {} --home {}; sleep 600",
        assert_cmd::cargo::cargo_bin("certsafe").display(),
        home.path().display()
    ));
    t.wait_for("No account yet", 10);

    // Import from stick A.
    t.keys(&["a"]);
    t.wait_for("Import — step 1/6", 5);
    t.wait_for(&stick_a.name, 10);
    t.select(&stick_a.name);
    t.keys(&["Enter"]);
    t.wait_for("> doctor.p12", 10);
    t.keys(&["Enter"]);
    t.wait_for("step 3/6", 5);
    t.text(PASSWORD);
    t.keys(&["Enter"]);
    t.wait_for("step 4/6", 20);
    t.keys(&["Enter"]);
    t.wait_for("a separate account", 10);
    t.keys(&["Enter"]); // a new account, named from the file
    t.wait_for("step 6/6", 10);
    t.keys(&["Enter"]);
    t.wait_for("Dr Test", 5);
    let accounts = Command::new(assert_cmd::cargo::cargo_bin("certsafe"))
        .args(["--home"])
        .arg(home.path())
        .args(["account", "list", "--json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&accounts.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["fingerprint"], fingerprint.as_str());
    assert_eq!(list[0]["label"], "Dr Test");

    // Back it up to stick B.
    t.keys(&["b"]);
    t.wait_for("step 2/7", 5);
    t.wait_for(&stick_b.name, 10);
    t.select(&stick_b.name);
    t.keys(&["Enter"]);
    t.wait_for("step 3/7", 10);
    t.keys(&["Enter"]);
    t.wait_for("step 4/7", 10);
    t.text(PASSWORD);
    t.keys(&["Enter"]);
    t.text(PASSWORD);
    t.keys(&["Enter"]);
    t.wait_for("step 5/7", 10);
    t.keys(&["Enter"]);
    t.wait_for("Backup written and verified", 60);
    t.keys(&["Enter"]);
    t.wait_gone("step 7/7", 5);
    let files = p12_files(&stick_b.mount);
    assert_eq!(files.len(), 1, "{files:?}");
    let opened = sh(&format!(
        "openssl pkcs12 -in '{}' -passin 'file:{}' -nokeys -clcerts | openssl x509 -outform DER | openssl dgst -sha256 -r",
        files[0].display(),
        pass_file.display()
    ));
    assert!(opened.starts_with(&fingerprint), "{opened}");
    let key = sh(&format!(
        "openssl pkcs12 -in '{}' -passin 'file:{}' -nocerts -nodes | openssl pkey -pubout",
        files[0].display(),
        pass_file.display()
    ));
    let expected = sh(&format!(
        "openssl pkey -in '{}.key.pem' -pubout",
        common::fixtures().join(LEAF).display()
    ));
    assert_eq!(key, expected, "the key on stick B is the account's");

    // Remove the account: Escape keeps it, the yes key removes it.
    t.keys(&["d"]);
    t.wait_for("Remove the account?", 5);
    t.keys(&["Escape"]);
    t.wait_gone("Remove the account?", 5);
    assert_eq!(p12_files(&stick_b.mount).len(), 1);
    t.keys(&["d"]);
    t.wait_for("Remove the account?", 5);
    t.keys(&["y"]);
    t.wait_for("removed", 10);
    let accounts = Command::new(assert_cmd::cargo::cargo_bin("certsafe"))
        .args(["--home"])
        .arg(home.path())
        .args(["account", "list", "--json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&accounts.stdout).unwrap();
    assert_eq!(list, serde_json::json!([]), "the store is empty");
    let left: Vec<_> = common::store::files_under(&home.path().join("data/accounts"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != ".lock"))
        .collect();
    assert!(left.is_empty(), "files left in the store: {left:?}");
    // The backup on stick B stays: it is the doctor's copy.
    assert_eq!(p12_files(&stick_b.mount).len(), 1);
    t.keys(&["q"]);
}
