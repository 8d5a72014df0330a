//! The built binary in a real terminal (tmux): keystrokes in, screen text
//! out, waiting for text (never sleeping blindly). The stick tests need
//! root (loop devices) and say "skipped" otherwise; CI runs them as root.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Alg, Home, Pki, fp};

const PASSWORD: &str = "correct horse battery staple Brest 1987";
const USB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/usb-stick");

/// A tmux session, killed on drop.
struct Tmux {
    name: String,
}

impl Tmux {
    fn start(name: &str, command: &str) -> Self {
        let name = format!("{name}-{}", std::process::id());
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &name])
            .stderr(Stdio::null())
            .status();
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                "80",
                "-y",
                "24",
                command,
            ])
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
    fn wait_for(&self, text: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                start.elapsed() < timeout,
                "timed out waiting for {text:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            assert!(
                Command::new("tmux")
                    .args(["send-keys", "-t", &self.name, k])
                    .status()
                    .unwrap()
                    .success()
            );
        }
    }

    fn text(&self, text: &str) {
        assert!(
            Command::new("tmux")
                .args(["send-keys", "-t", &self.name, "-l", text])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Presses Down until the selected line contains `text`.
    fn select(&self, text: &str) {
        for _ in 0..20 {
            let screen = self.screen();
            if screen.lines().any(|l| l.contains("> ") && l.contains(text)) {
                return;
            }
            self.keys(&["Down"]);
            std::thread::sleep(Duration::from_millis(150));
        }
        panic!("could not select {text:?}:\n{}", self.screen());
    }

    fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["has-session", "-t", &self.name])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
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

/// A USB stick from the testbed, detached on drop.
struct Stick {
    name: String,
    mount: PathBuf,
}

impl Stick {
    fn attach(name: &str) -> Self {
        let name = format!("{name}{}", std::process::id() % 100_000);
        let _ = Command::new("bash").args([USB, "detach", &name]).output();
        let out = Command::new("bash")
            .args([USB, "attach", &name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "usb-stick attach: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mount = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        Self { name, mount }
    }

    fn yank(&self) {
        let out = Command::new("bash")
            .args([USB, "yank", &self.name])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
}

impl Drop for Stick {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .args([USB, "detach", &self.name])
            .output();
    }
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("certsafe")
}

fn shell_command(home: &Path, term: &str) -> String {
    format!(
        "env LANG=C.UTF-8 TERM={term} {} --home {}; sleep 600",
        bin().display(),
        home.display()
    )
}

fn tmux_ready() -> bool {
    if common::have("tmux") {
        return true;
    }
    assert!(std::env::var("CI").is_err(), "tmux is required in CI");
    eprintln!("skipped: tmux missing");
    false
}

/// Walks the backup wizard from the home screen to the result, choosing the
/// drive whose line contains `drive`.
fn backup_with_keys(t: &Tmux, drive: &str) -> String {
    t.wait_for("no backup", Duration::from_secs(10));
    t.keys(&["b"]);
    t.wait_for("step 2/7", Duration::from_secs(5));
    t.wait_for(drive, Duration::from_secs(5));
    t.select(drive);
    t.keys(&["Enter"]);
    t.wait_for("step 3/7", Duration::from_secs(5));
    t.keys(&["Enter"]);
    t.wait_for("step 4/7", Duration::from_secs(5));
    t.text(PASSWORD);
    t.keys(&["Enter"]);
    t.text(PASSWORD);
    t.keys(&["Enter"]);
    t.wait_for("step 5/7", Duration::from_secs(5));
    t.keys(&["Enter"]);
    t.wait_for("Backup written and verified", Duration::from_secs(60))
}

fn openssl_fingerprint(file: &Path) -> String {
    let pw = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pw.path(), format!("{PASSWORD}\n")).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl pkcs12 -in '{}' -passin file:{} -nokeys -clcerts | openssl x509 -outform DER | openssl dgst -sha256 -r",
            file.display(),
            pw.path().display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
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
fn the_interface_starts_and_quits_with_every_term() {
    if !tmux_ready() {
        return;
    }
    let home = Home::new();
    for term in ["xterm-256color", "screen", "linux", "vt100"] {
        let t = Tmux::start(
            &format!("cs-term-{}", term.replace('-', "")),
            &format!(
                "{}; echo EXITED=$?; sleep 60",
                shell_command(home.path(), term).replace("; sleep 600", "")
            ),
        );
        t.wait_for("Accounts and alerts", Duration::from_secs(10));
        t.keys(&["?"]);
        t.wait_for("Keys", Duration::from_secs(5));
        // Escape then q sent together read as Alt+q: wait for the help to close.
        t.keys(&["Escape"]);
        let start = Instant::now();
        while t.screen().contains("Keys") {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "{term}: help stays"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        t.keys(&["q"]);
        let screen = t.wait_for("EXITED=0", Duration::from_secs(5));
        // The alternate screen is gone: the shell's output is what remains.
        assert!(
            !screen.contains("Accounts and alerts"),
            "{term}: screen not restored:\n{screen}"
        );
    }
}

#[test]
fn backup_then_restore_with_keystrokes_on_a_real_stick() {
    if !common::root_or_skip("loop devices") {
        return;
    }
    if !tmux_ready() {
        return;
    }
    let stick = Stick::attach("tmuxbk");
    let home = Home::new();
    let pki = Pki::new(Alg::Rsa);
    let leaf = pki.leaf("Marie Durand", Alg::Rsa);
    let id = home.import(&pki, &leaf, "Dr Marie Durand");

    let t = Tmux::start("cs-backup", &shell_command(home.path(), "xterm-256color"));
    let screen = backup_with_keys(&t, &stick.name);
    assert!(screen.contains("Eject the drive"), "{screen}");
    let files = p12_files(&stick.mount);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(openssl_fingerprint(&files[0]), fp(&leaf.cert));
    t.keys(&["Enter"]);
    t.wait_for("backed up", Duration::from_secs(5));
    assert_eq!(home.account_json(&id)["backup_state"], "ok");
    drop(t);

    // A new machine: an empty home, restore with keystrokes.
    let fresh = Home::new();
    let t = Tmux::start("cs-restore", &shell_command(fresh.path(), "screen"));
    t.wait_for("No account yet", Duration::from_secs(10));
    t.keys(&["r"]);
    t.wait_for(&stick.name, Duration::from_secs(5));
    t.select(&stick.name);
    t.keys(&["Enter"]);
    t.wait_for("> certsafe-", Duration::from_secs(10));
    t.keys(&["Enter"]);
    t.wait_for("step 3/6", Duration::from_secs(5));
    t.text("not the password");
    t.keys(&["Enter"]);
    t.wait_for("wrong password", Duration::from_secs(20));
    t.text(PASSWORD);
    t.keys(&["Enter"]);
    t.wait_for("step 4/6", Duration::from_secs(20));
    t.keys(&["Enter"]);
    t.wait_for("a new account", Duration::from_secs(5));
    t.keys(&["Enter"]);
    t.wait_for("restored as a new account", Duration::from_secs(20));
    let a = fresh.account_json(&id);
    assert_eq!(a["fingerprint"], fp(&leaf.cert).as_str());
    let key = std::fs::read(fresh.path().join("data/accounts").join(&id).join("key.pem")).unwrap();
    assert!(
        openssl::pkey::PKey::private_key_from_pem(&key)
            .unwrap()
            .public_eq(&leaf.key)
    );
}

#[test]
fn pulling_the_stick_out_on_the_drive_step_is_told_without_crashing() {
    if !common::root_or_skip("loop devices") {
        return;
    }
    if !tmux_ready() {
        return;
    }
    let stick = Stick::attach("tmuxyk");
    let home = Home::new();
    let pki = Pki::new(Alg::Ec);
    home.import(&pki, &pki.leaf("Jean Martin", Alg::Ec), "Dr Jean Martin");
    let t = Tmux::start("cs-yank", &shell_command(home.path(), "xterm-256color"));
    t.wait_for("no backup", Duration::from_secs(10));
    t.keys(&["b"]);
    t.wait_for("step 2/7", Duration::from_secs(5));
    t.wait_for(&stick.name, Duration::from_secs(5));
    t.select(&stick.name);
    stick.yank();
    let screen = t.wait_for("was removed", Duration::from_secs(5));
    assert!(
        screen.contains(&format!("{} was removed", stick.name)),
        "{screen}"
    );
    // Still alive and answering: Enter on what is selected now does not crash.
    t.keys(&["Escape"]);
    t.wait_for("step 1/7", Duration::from_secs(5));
    assert!(t.alive());
}

/// sshd on 127.0.0.1 with throwaway keys, killed on drop.
struct Sshd {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Sshd {
    fn start() -> Option<Self> {
        let sshd = ["/usr/sbin/sshd", "/usr/bin/sshd"]
            .into_iter()
            .find(|p| Path::new(p).exists())?;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for key in ["host", "user"] {
            let ok = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(key))
                .status()
                .unwrap();
            assert!(ok.success());
        }
        std::fs::copy(d.join("user.pub"), d.join("authorized_keys")).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        // A port the system says is free right now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {keys}\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile {pid}\nAcceptEnv LANG LC_*\n",
            host = d.join("host").display(),
            keys = d.join("authorized_keys").display(),
            pid = d.join("sshd.pid").display(),
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Ready when the port accepts connections.
        let start = Instant::now();
        let mut child = child;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(child.try_wait().unwrap().is_none(), "sshd exited at start");
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "sshd did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(Self { child, port, dir })
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn backup_through_a_real_ssh_login() {
    if !common::root_or_skip("sshd, loop devices") {
        return;
    }
    if !tmux_ready() {
        return;
    }
    let Some(sshd) = Sshd::start() else {
        assert!(
            std::env::var("CI").is_err(),
            "openssh-server is required in CI: .ci/run must install it"
        );
        eprintln!("skipped: sshd not installed");
        return;
    };
    let stick = Stick::attach("sshbk");
    let home = Home::new();
    let pki = Pki::new(Alg::Rsa);
    let leaf = pki.leaf("Marie Durand", Alg::Rsa);
    let id = home.import(&pki, &leaf, "Dr Marie Durand");
    let remote = format!(
        "LANG=C.UTF-8 {} --home {}",
        bin().display(),
        home.path().display()
    );
    let command = format!(
        "ssh -t -p {} -i {} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@127.0.0.1 '{remote}'; sleep 600",
        sshd.port,
        sshd.dir.path().join("user").display()
    );
    let t = Tmux::start("cs-ssh", &command);
    let screen = backup_with_keys(&t, &stick.name);
    assert!(screen.contains("Eject the drive"), "{screen}");
    let files = p12_files(&stick.mount);
    assert_eq!(files.len(), 1);
    assert_eq!(openssl_fingerprint(&files[0]), fp(&leaf.cert));
    assert_eq!(home.account_json(&id)["backup_state"], "ok");
    t.keys(&["Enter"]);
    t.wait_for("Accounts and alerts", Duration::from_secs(5));
    t.keys(&["q"]);
}

#[test]
fn the_quit_box_keeps_the_wizard_on_esc_and_enter_and_nothing_reaches_the_shell() {
    if !tmux_ready() {
        return;
    }
    let home = Home::new();
    let pki = Pki::new(Alg::Ec);
    let leaf = pki.leaf("Marie Durand", Alg::Ec);
    home.import(&pki, &leaf, "Dr Marie Durand");
    // certsafe runs from a real shell, as a doctor would start it.
    let t = Tmux::start(
        "quitbox",
        "env -i PATH=/usr/bin:/bin HOME=/tmp TERM=xterm-256color PS1='SHELL$ ' bash --norc --noprofile",
    );
    t.wait_for("SHELL$", Duration::from_secs(5));
    t.text(&format!(
        "LANG=C.UTF-8 {} --home {}",
        bin().display(),
        home.path().display()
    ));
    t.keys(&["Enter"]);
    t.wait_for("no backup", Duration::from_secs(10));
    t.keys(&["b"]);
    t.wait_for("step 2/7", Duration::from_secs(5));
    for stay in ["Escape", "Enter", "n"] {
        t.keys(&["q"]);
        t.wait_for("y leave", Duration::from_secs(5));
        t.keys(&[stay]);
        let start = Instant::now();
        while t.screen().contains("y leave") {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "{stay}: box stays"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let screen = t.wait_for("step 2/7", Duration::from_secs(5));
        assert!(
            !screen.contains("SHELL$"),
            "{stay} left the wizard:\n{screen}"
        );
    }
    // What is typed next goes to the wizard, never to the shell.
    t.text("echo LEAK$((6*7))");
    t.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    let screen = t.screen();
    assert!(
        !screen.contains("LEAK42") && !screen.contains("SHELL$"),
        "{screen}"
    );
    // Only the yes key leaves.
    for _ in 0..3 {
        // One at a time: Escape followed at once by a key reads as Alt+key.
        t.keys(&["Escape"]);
        std::thread::sleep(Duration::from_millis(300));
    }
    if t.screen().contains("step ") {
        t.keys(&["q"]);
        t.wait_for("y leave", Duration::from_secs(5));
    } else {
        t.keys(&["q"]);
    }
    t.keys(&["y"]);
    let screen = t.wait_for("SHELL$", Duration::from_secs(5));
    assert!(!screen.contains("LEAK42"), "{screen}");
}

#[test]
fn closing_the_terminal_removes_the_demo_home() {
    if !tmux_ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = Tmux::start(
        "demohup",
        &format!(
            "env LANG=C.UTF-8 TERM=xterm-256color TMPDIR={} {} demo",
            tmp.path().display(),
            bin().display()
        ),
    );
    t.wait_for("Accounts and alerts", Duration::from_secs(10));
    let demo_homes = || {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("certsafe-demo-")
            })
            .count()
    };
    assert_eq!(demo_homes(), 1, "the demo home is in TMPDIR");
    // Closing the window hangs the terminal up (SIGHUP).
    drop(t);
    let start = Instant::now();
    while demo_homes() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the demo home outlived its terminal"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
