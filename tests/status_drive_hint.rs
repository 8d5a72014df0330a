//! The backup advice names the drive that is plugged in: `status` gathered
//! with a drive list gives that drive's mount point in the recommendation
//! (quoted for a shell when it has a space), the TUI's home does the same
//! with its drive source, and with no removable drive the advice keeps a
//! placeholder that reads as one.
#![allow(clippy::unwrap_used)]

mod tui_support;

use std::path::Path;

use certsafe::domain::drives::Drive;
use certsafe::domain::status::{self, AlertCode, Status};
use certsafe::tui::app::load_home;
use tui_support::{World, drive, now};

fn backup_advice(status: &Status) -> Vec<&str> {
    status
        .alerts
        .iter()
        .filter(|a| {
            matches!(
                a.code,
                AlertCode::BackupMissing | AlertCode::BackupOutdated | AlertCode::BackupOld
            )
        })
        .map(|a| a.recommendation.as_str())
        .collect()
}

fn gather(w: &World, drives: &[Drive]) -> Status {
    status::gather(&w.env.home, &w.env.config, now(), drives).unwrap()
}

#[test]
fn the_advice_names_the_plugged_in_drive() {
    let w = World::full();
    let stick = drive(Path::new("/media/marie/CLE1"), "CLE1");
    let status = gather(&w, &[stick]);
    let advice = backup_advice(&status);
    // full(): no backup, outdated, old.
    assert_eq!(advice.len(), 3, "{:?}", status.alerts);
    for text in advice {
        assert!(text.contains("--to /media/marie/CLE1`"), "{text}");
    }
}

#[test]
fn a_fixed_disk_is_not_named_and_none_keeps_the_placeholder() {
    let w = World::full();
    let mut disk = drive(Path::new("/srv/data"), "DATA");
    disk.removable = false;
    let placeholder = format!("--to {}`", status::backup_target(&[]));
    assert!(!placeholder.contains('/'), "a placeholder, not a path");
    for drives in [vec![], vec![disk]] {
        let status = gather(&w, &drives);
        let advice = backup_advice(&status);
        assert!(!advice.is_empty());
        for text in advice {
            assert!(text.contains(&placeholder), "{text}");
            assert!(!text.contains("/srv/data"), "{text}");
        }
    }
}

#[test]
fn a_mount_point_with_a_space_is_quoted() {
    let w = World::full();
    let stick = drive(Path::new("/media/marie/CLE USB"), "CLE USB");
    let status = gather(&w, &[stick]);
    for text in backup_advice(&status) {
        assert!(text.contains("--to '/media/marie/CLE USB'`"), "{text}");
    }
}

#[test]
fn the_home_screen_advice_uses_the_app_s_drives() {
    let w = World::full();
    let stick = w.home.path().join("CLE1");
    std::fs::create_dir_all(&stick).unwrap();
    *w.drives.0.lock().unwrap() = vec![drive(&stick, "CLE1")];
    let home = load_home(&w.env).unwrap();
    let advice = backup_advice(&home.status);
    assert!(!advice.is_empty());
    let expected = format!("--to {}`", stick.display());
    for text in advice {
        assert!(text.contains(&expected), "{text}");
    }
}
