//! Drives: removable ones from sysinfo, and the guard that checks the
//! chosen drive is still the one mounted when the backup is written.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// A mounted volume.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Drive {
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// Its volume label, when the system knows it.
    pub label: Option<String>,
    /// Filesystem type (`exfat`, `vfat`, `fuseblk`, `ext4`...).
    pub file_system: String,
    /// Whether the system sees it as removable (USB).
    pub removable: bool,
    /// Free bytes for us.
    pub available_bytes: u64,
    /// Size in bytes.
    pub total_bytes: u64,
    /// Mounted read-only.
    pub read_only: bool,
    /// Device (`/dev/sdb1`).
    pub device: String,
}

impl Drive {
    /// A short name for lists: the label, else the mount point's last part.
    pub fn display_name(&self) -> String {
        self.label.clone().unwrap_or_else(|| {
            self.mount_point.file_name().map_or_else(
                || self.mount_point.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
    }
}

/// Where drives come from (sysinfo in the program, a fixed list in tests).
pub trait DriveSource {
    /// The mounted volumes now.
    fn volumes(&self) -> Vec<Drive>;
}

/// The real drives, from sysinfo.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemDrives;

impl DriveSource for SystemDrives {
    fn volumes(&self) -> Vec<Drive> {
        let Ok(disks) = sysinfo::Disks::new_with_refreshed_list() else {
            return Vec::new();
        };
        let labels = labels_by_device();
        let mut out: Vec<Drive> = disks
            .iter()
            // A pulled-out drive stays in the mount table until unmounted, but
            // its mount point no longer answers: skip it.
            .filter(|d| std::fs::metadata(d.mount_point()).is_ok())
            .map(|d| {
                let device = d.name().to_string_lossy().into_owned();
                let canonical =
                    std::fs::canonicalize(&device).unwrap_or_else(|_| PathBuf::from(&device));
                Drive {
                    mount_point: d.mount_point().to_path_buf(),
                    label: labels
                        .iter()
                        .find(|(dev, _)| *dev == canonical)
                        .map(|(_, l)| l.clone()),
                    file_system: d.file_system().to_string_lossy().into_owned(),
                    removable: d.is_removable(),
                    available_bytes: d.available_space(),
                    total_bytes: d.total_space(),
                    read_only: d.is_read_only(),
                    device,
                }
            })
            .collect();
        out.sort_by(|a, b| a.mount_point.cmp(&b.mount_point));
        out.dedup_by(|a, b| a.mount_point == b.mount_point);
        out
    }
}

/// Volume labels from `/dev/disk/by-label` (udev), as (device, label).
fn labels_by_device() -> Vec<(PathBuf, String)> {
    let Ok(entries) = std::fs::read_dir("/dev/disk/by-label") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let dev = std::fs::canonicalize(e.path()).ok()?;
            let label = unescape_udev(&e.file_name().to_string_lossy());
            Some((dev, label))
        })
        .collect()
}

/// udev writes `\x20` for a space in link names.
fn unescape_udev(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\\x") {
        out.push_str(&rest[..i]);
        let hex = rest
            .get(i + 2..i + 4)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if let Some(b) = hex {
            out.push(char::from(b));
            rest = &rest[i + 4..];
        } else {
            out.push_str("\\x");
            rest = &rest[i + 2..];
        }
    }
    out.push_str(rest);
    out
}

/// A size for people: `28.5 MiB` (`Mio` in French).
pub fn human_bytes(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    if n >= 1 << 30 {
        format!(
            "{:.1} {}",
            f / f64::from(1u32 << 30),
            crate::t!("drives.unit_gib")
        )
    } else if n >= 1 << 20 {
        format!(
            "{:.1} {}",
            f / f64::from(1u32 << 20),
            crate::t!("drives.unit_mib")
        )
    } else {
        format!("{:.0} {}", f / 1024.0, crate::t!("drives.unit_kib"))
    }
}

/// The drives to offer: removable ones, or with `all` every writable volume.
pub fn list(source: &dyn DriveSource, all: bool) -> Vec<Drive> {
    source
        .volumes()
        .into_iter()
        .filter(|d| {
            if all {
                d.removable || !d.read_only
            } else {
                d.removable
            }
        })
        .collect()
}

/// The drive holding `path` (the one with the longest mount point that is a
/// prefix of it).
pub fn drive_of(source: &dyn DriveSource, path: &Path) -> Option<Drive> {
    let path = std::fs::canonicalize(path).ok()?;
    source
        .volumes()
        .into_iter()
        .filter(|d| path.starts_with(&d.mount_point))
        .max_by_key(|d| d.mount_point.as_os_str().len())
}

/// Remembers which filesystem a folder was on when it was chosen: its
/// device number, filesystem ID and size, so another stick mounted at the
/// same place (often with the same device number) is told apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveGuard {
    dir: PathBuf,
    device_id: u64,
    fsid: u64,
    blocks: u64,
}

fn fs_identity(dir: &Path) -> std::io::Result<(u64, u64, u64)> {
    let device_id = std::fs::metadata(dir)?.dev();
    let vfs = rustix::fs::statvfs(dir)?;
    Ok((
        device_id,
        vfs.f_fsid,
        vfs.f_blocks.saturating_mul(vfs.f_frsize),
    ))
}

/// The folder changed under us.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The folder no longer answers.
    #[error("{}", crate::t!("drives.gone", dir = .dir))]
    Gone {
        /// The folder.
        dir: String,
    },
    /// Another filesystem is mounted there now.
    #[error("{}", crate::t!("drives.changed", dir = .dir))]
    Changed {
        /// The folder.
        dir: String,
    },
}

impl DriveGuard {
    /// Records the filesystem of `dir`.
    pub fn new(dir: &Path) -> std::io::Result<Self> {
        let (device_id, fsid, blocks) = fs_identity(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            device_id,
            fsid,
            blocks,
        })
    }

    /// Checks `dir` is still on the same filesystem.
    pub fn check(&self) -> Result<(), GuardError> {
        let dir = self.dir.display().to_string();
        match fs_identity(&self.dir) {
            Ok(id) if id == (self.device_id, self.fsid, self.blocks) => Ok(()),
            Ok(_) => Err(GuardError::Changed { dir }),
            Err(_) => Err(GuardError::Gone { dir }),
        }
    }

    /// The filesystem's device ID.
    pub fn device_id(&self) -> u64 {
        self.device_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udev_escapes() {
        assert_eq!(unescape_udev("MY\\x20STICK"), "MY STICK");
        assert_eq!(unescape_udev("plain"), "plain");
    }

    #[test]
    fn guard_notices_a_missing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("x");
        std::fs::create_dir(&sub).unwrap();
        let guard = DriveGuard::new(&sub).unwrap();
        guard.check().unwrap();
        std::fs::remove_dir(&sub).unwrap();
        assert!(matches!(guard.check(), Err(GuardError::Gone { .. })));
    }
}
