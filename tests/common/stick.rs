//! Real removable drives for tests: a loop device + exFAT (or ext4) with
//! the `/dev/disk/by-id/usb-*` link sysinfo needs, made by
//! `tests/tools/usb-stick`. Needs root: callers check `root_or_skip` first.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `usb-stick` tool of the repository.
pub fn usb_stick_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/usb-stick")
}

/// A stick attached for one test, detached when dropped (also on panic).
pub struct Stick {
    /// Its name (`usb-stick` NAME).
    pub name: String,
    /// Where it is mounted.
    pub mount: PathBuf,
}

impl Stick {
    /// Attaches a stick named after `test` and this process; `extra` goes to
    /// `usb-stick attach` (e.g. `["--fs", "ext4"]`).
    pub fn attach(test: &str, extra: &[&str]) -> Self {
        let mut name: String = format!("cs-{test}-{}", std::process::id())
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        name.truncate(40);
        // The guard exists before `attach` runs, so a half-made stick is freed too.
        let mut stick = Self {
            mount: PathBuf::from("/media").join(&name),
            name,
        };
        let out = Self::script(&["attach", &stick.name], extra);
        assert!(
            out.status.success(),
            "usb-stick attach {} failed: {}{}",
            stick.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mount = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(
            Path::new(&mount),
            stick.mount,
            "usb-stick printed an unexpected mount point"
        );
        stick.mount = PathBuf::from(mount);
        stick
    }

    pub fn script(args: &[&str], extra: &[&str]) -> std::process::Output {
        Command::new("bash")
            .arg(usb_stick_script())
            .args(args)
            .args(extra)
            .output()
            .unwrap()
    }

    /// Runs `usb-stick VERB NAME`, asserting success; returns stdout.
    pub fn run(&self, verb: &str) -> String {
        let out = Self::script(&[verb, &self.name], &[]);
        assert!(
            out.status.success(),
            "usb-stick {verb} {} failed: {}{}",
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Names in the stick's root folder.
    pub fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.mount)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Asserts no backup and no temporary file of certsafe is on the stick.
    pub fn assert_no_backup_left(&self) {
        let entries = self.entries();
        let left: Vec<&String> = entries
            .iter()
            .filter(|n| {
                let ext = Path::new(n).extension().and_then(|e| e.to_str());
                n.starts_with(".certsafe-")
                    || ext.is_some_and(|e| {
                        ["p12", "pfx", "tmp"]
                            .iter()
                            .any(|x| e.eq_ignore_ascii_case(x))
                    })
            })
            .collect();
        assert!(
            left.is_empty(),
            "files left on the stick {}: {left:?} (all: {entries:?})",
            self.name
        );
    }
}

impl Drop for Stick {
    fn drop(&mut self) {
        let out = Self::script(&["detach", &self.name], &[]);
        if !out.status.success() {
            eprintln!(
                "warning: usb-stick detach {} failed: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
