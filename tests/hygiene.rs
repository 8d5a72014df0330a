//! Secrets and modes seen from outside a running certsafe: the password is
//! never in `/proc/PID/cmdline` or `environ`, in stderr, or in any file of
//! the home or the destination; the process is not dumpable; with
//! `umask 000` every file under the home is still 0600 and every folder 0700.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

use common::store::{files_under, quick_p12};
use common::{Alg, Home, Pki};

const SECRET: &str = "Zébulon hygiène 4417 quatre-mots secrets";

/// Holds the store lock of `home` as another certsafe would.
fn hold_store_lock(home: &Path) -> std::fs::File {
    let dir = home.join("data").join("accounts");
    std::fs::create_dir_all(&dir).unwrap();
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))
        .unwrap();
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive).unwrap();
    f
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// As root, certsafe runs as `nobody` (through setpriv) so that the owner
/// of `/proc/PID/environ` tells whether it is dumpable: the kernel makes a
/// non-dumpable process's files root's.
fn as_test_user(args: &[&std::ffi::OsStr], home: &Path) -> Command {
    let bin = assert_cmd::cargo::cargo_bin("certsafe");
    let mut c = if common::is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin);
        c
    } else {
        Command::new(bin)
    };
    c.arg("--home")
        .arg(home)
        .args(args)
        .env_remove("CERTSAFE_HOME")
        .env("LANG", "C");
    c
}

fn chown_tree(dir: &Path) {
    if common::is_root() {
        common::sh(&format!("chown -R 65534:65534 '{}'", dir.display()));
    }
}

/// Starts `cmd` with the password on stdin while the store lock is held;
/// when certsafe says it waits (it has the password in memory then), looks
/// at its /proc files, then lets it finish. Returns stdout and stderr.
fn inspect_while_waiting(home: &Path, mut cmd: Command) -> (Vec<u8>, Vec<u8>) {
    let lock = hold_store_lock(home);
    chown_tree(home);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{SECRET}\n").as_bytes())
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(
        !first.is_empty(),
        "certsafe ended without waiting for the lock"
    );
    // setpriv execs certsafe: same PID.
    let proc_dir = Path::new("/proc").join(child.id().to_string());
    let cmdline = std::fs::read(proc_dir.join("cmdline")).unwrap();
    assert!(contains(&cmdline, b"certsafe"), "not certsafe yet");
    assert!(!contains(&cmdline, SECRET.as_bytes()));
    if let Ok(environ) = std::fs::read(proc_dir.join("environ")) {
        assert!(!contains(&environ, SECRET.as_bytes()));
    }
    // Not dumpable: /proc/PID/environ belongs to root although certsafe
    // runs as another user.
    let status = std::fs::read_to_string(proc_dir.join("status")).unwrap();
    let uid: u32 = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(uid, 0, "certsafe must run as another user here");
    let owner = std::fs::metadata(proc_dir.join("environ")).unwrap().uid();
    assert_eq!(owner, 0, "certsafe is dumpable (PR_SET_DUMPABLE not 0)");
    drop(lock);
    let mut rest = Vec::new();
    stderr.read_to_end(&mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    let mut err = first.into_bytes();
    err.extend(rest);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&err));
    (out.stdout, err)
}

/// A real stick (ext4, so `nobody` can own its root), detached on drop;
/// as a normal user, a temporary folder.
enum Dest {
    Stick {
        name: String,
        mount: std::path::PathBuf,
    },
    Folder(tempfile::TempDir),
}

fn usb_stick(args: &[&str]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/usb-stick");
    Command::new("bash")
        .arg(script)
        .args(args)
        .output()
        .unwrap()
}

impl Dest {
    fn new() -> Self {
        if !common::is_root() {
            return Self::Folder(tempfile::tempdir().unwrap());
        }
        let name = format!("cs-hygiene-{}", std::process::id());
        let out = usb_stick(&["attach", &name, "--fs", "ext4"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mount = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        Self::Stick { name, mount }
    }

    fn path(&self) -> &Path {
        match self {
            Self::Stick { mount, .. } => mount,
            Self::Folder(d) => d.path(),
        }
    }

    /// Whether any byte of the drive (deleted files included), or any file
    /// of the folder, holds `secret`.
    fn holds(&self, secret: &[u8]) -> bool {
        match self {
            Self::Stick { name, .. } => {
                common::sh("sync");
                let img = Path::new("/run/usb-stick").join(name).join("img");
                contains_fast(&std::fs::read(&img).unwrap(), secret)
            }
            Self::Folder(d) => files_under(d.path())
                .iter()
                .any(|f| contains(&std::fs::read(f).unwrap(), secret)),
        }
    }
}

impl Drop for Dest {
    fn drop(&mut self) {
        if let Self::Stick { name, .. } = self {
            let _ = usb_stick(&["detach", name]);
        }
    }
}

/// `contains` for a whole drive image: only where the first byte matches.
fn contains_fast(hay: &[u8], needle: &[u8]) -> bool {
    let first = needle[0];
    hay.iter()
        .enumerate()
        .any(|(i, b)| *b == first && hay[i..].starts_with(needle))
}

#[test]
fn the_password_stays_out_of_proc_outputs_and_files_and_the_process_is_not_dumpable() {
    let pki = Pki::new(Alg::Ec);
    let home = Home::new();
    let id = home.import(&pki, &pki.leaf("Dr Hygiene", Alg::Ec), "Dr Hygiene");
    let dest = Dest::new();
    // A file to restore, on the stick too.
    let p12 = dest.path().join("other.p12");
    std::fs::write(
        &p12,
        quick_p12(
            &pki.leaf("Dr Other", Alg::Ec),
            &pki,
            "Dr Other",
            SECRET,
            2048,
        ),
    )
    .unwrap();
    chown_tree(dest.path());
    // A backup, held on the store lock after the password was read.
    let to = dest.path().join("hygiene.p12");
    let backup = as_test_user(
        &[
            "backup".as_ref(),
            id.as_ref(),
            "--password-stdin".as_ref(),
            "--to".as_ref(),
            to.as_os_str(),
        ],
        home.path(),
    );
    let (_, err) = inspect_while_waiting(home.path(), backup);
    assert!(!contains(&err, SECRET.as_bytes()));
    assert!(to.exists());
    // A restore of another identity, held after opening the file.
    let restore = as_test_user(
        &[
            "restore".as_ref(),
            p12.as_os_str(),
            "--password-stdin".as_ref(),
        ],
        home.path(),
    );
    let (_, err) = inspect_while_waiting(home.path(), restore);
    assert!(!contains(&err, SECRET.as_bytes()));
    // No file of the home holds the password, nor any byte of the stick.
    for f in files_under(home.path()) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(!contains(&bytes, SECRET.as_bytes()), "{}", f.display());
    }
    assert!(
        !dest.holds(SECRET.as_bytes()),
        "the stick holds the password"
    );
    // The search itself works: a file holding the password is found.
    std::fs::write(dest.path().join("control.txt"), SECRET).unwrap();
    assert!(dest.holds(SECRET.as_bytes()));
}

fn umask0(home: &Path, args: &[&str], stdin: &str) {
    let bin = assert_cmd::cargo::cargo_bin("certsafe");
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(bin)
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("CERTSAFE_HOME")
        .env("LANG", "C");
    let child = common::spawn_with_stdin(c, stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn with_umask_000_every_file_is_0600_and_every_folder_0700() {
    use common::crl::{CrlSpec, World, crl};
    use common::http::{Reply, Server};
    let world = World::new(Alg::Ec, &[]);
    let body = crl(&CrlSpec::fresh(1), &world.inter, &world.inter_key);
    let server = Server::start(move |_| Reply::crl(body.clone()));
    let leaf = world.leaf("Dr Umask Peer", Alg::Ec, &[&server.url("/inter.crl")]);
    let home = tempfile::tempdir().unwrap();
    let home = home.path().join("home");
    let input = tempfile::tempdir().unwrap();
    let inter = input.path().join("inter.pem");
    std::fs::write(&inter, world.inter.to_pem().unwrap()).unwrap();
    let peer = input.path().join("peer.pem");
    std::fs::write(&peer, leaf.to_pem().unwrap()).unwrap();
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(
        home.join("config.toml"),
        "[crl]\nproxy = \"none\"\nread_timeout_secs = 2\ntotal_timeout_secs = 5\n",
    )
    .unwrap();
    std::fs::set_permissions(
        home.join("config.toml"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    umask0(&home, &["ca", "import", inter.to_str().unwrap()], "");
    umask0(
        &home,
        &["correspondent", "import", peer.to_str().unwrap()],
        "",
    );
    umask0(&home, &["crl", "update"], "");
    let pki = Pki::new(Alg::Ec);
    let me = pki.leaf("Dr Umask", Alg::Ec);
    let (c, k, ch) = pki.write(input.path(), &me);
    umask0(
        &home,
        &[
            "account",
            "import",
            "--label",
            "Dr Umask",
            "--cert",
            c.to_str().unwrap(),
            "--key",
            k.to_str().unwrap(),
            "--chain",
            ch.to_str().unwrap(),
        ],
        "",
    );
    let id = common::fp(&me.cert)[..12].to_string();
    let dest = tempfile::tempdir().unwrap();
    let to = dest.path().join("umask.p12");
    umask0(
        &home,
        &[
            "backup",
            &id,
            "--password-stdin",
            "--to",
            to.to_str().unwrap(),
        ],
        &format!("{}\n", common::STRONG),
    );
    let p12 = input.path().join("restore.p12");
    let other = pki.leaf("Dr Umask Restored", Alg::Ec);
    std::fs::write(
        &p12,
        quick_p12(&other, &pki, "Dr Umask Restored", SECRET, 2048),
    )
    .unwrap();
    umask0(
        &home,
        &["restore", p12.to_str().unwrap(), "--password-stdin"],
        &format!("{SECRET}\n"),
    );
    // A replacement too (archive folders).
    umask0(
        &home,
        &[
            "restore",
            p12.to_str().unwrap(),
            "--password-stdin",
            "--account",
            &id,
            "--replace",
        ],
        &format!("{SECRET}\n"),
    );
    let mut seen_dirs = 0;
    let mut stack = vec![home.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let meta = e.metadata().unwrap();
            let mode = meta.permissions().mode() & 0o777;
            if meta.is_dir() {
                assert_eq!(mode, 0o700, "{}", e.path().display());
                seen_dirs += 1;
                stack.push(e.path());
            } else {
                assert_eq!(mode, 0o600, "{}", e.path().display());
            }
        }
    }
    assert!(
        home.join("data/accounts")
            .join(&id)
            .join("archive")
            .is_dir()
    );
    assert!(seen_dirs >= 6, "{seen_dirs}");
    let mode = std::fs::metadata(&to).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the backup file");
}
