//! SIGKILL at random instants (seeded; the seed is printed, replay with
//! `CERTSAFE_TEST_SEED`) during `account import`, `restore` (new account and
//! replacement), `account remove`, `backup` and `crl update`. After each
//! kill: the next `account list --json` succeeds, no staging folder or
//! temporary file is left, every private key under the home belongs to a
//! listed account, every account's key matches its certificate; a backup
//! file is either absent or complete (it verifies); the next backup removes
//! the temporary files a killed one left. Each loop times one undisturbed
//! run first and kills within 0–120 % of that time.
#![allow(clippy::unwrap_used, clippy::case_sensitive_file_extension_comparisons)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::store::{Rng, assert_consistent, certsafe, quick_p12, temp_files};
use common::{Alg, Home, Pki, STRONG};

/// Runs `cmd` with `stdin` and kills it (SIGKILL) after `delay`. Returns
/// whether it had finished by itself, and its exit status.
fn run_and_kill(mut cmd: Command, stdin: &str, delay: Duration) -> Option<bool> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    std::thread::sleep(delay);
    let finished = child.try_wait().unwrap();
    if finished.is_none() {
        child.kill().unwrap();
    }
    child.wait().unwrap();
    finished.map(|s| s.success())
}

/// Times one undisturbed run.
fn timed(cmd: Command, stdin: &str) -> Duration {
    let start = Instant::now();
    let child = common::spawn_with_stdin(cmd, stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    start.elapsed()
}

fn delay(rng: &mut Rng, full: Duration) -> Duration {
    let max = u64::try_from(full.as_micros() * 6 / 5).unwrap().max(1);
    Duration::from_micros(rng.below(max))
}

fn import_cmd(home: &Path, files: &Path, pki: &Pki, leaf: &common::Leaf, n: usize) -> Command {
    let dir = files.join(format!("leaf{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    let (c, k, ch) = pki.write(&dir, leaf);
    let mut cmd = certsafe(home);
    cmd.args(["account", "import", "--label", &format!("Dr Kill {n}")])
        .arg("--cert")
        .arg(c)
        .arg("--key")
        .arg(k)
        .arg("--chain")
        .arg(ch);
    cmd
}

#[test]
fn killed_imports_and_removes_leave_a_consistent_store() {
    let mut rng = Rng::from_env("import/remove");
    let pki = Pki::new(Alg::Ec);
    let home = Home::new();
    let files = tempfile::tempdir().unwrap();
    let mut leaves = vec![pki.leaf("Dr Kill 0", Alg::Ec)];
    let full = timed(
        import_cmd(home.path(), files.path(), &pki, &leaves[0], 0),
        "",
    );
    let mut kills = 0;
    let mut n = 0;
    while kills < 12 && n < 40 {
        n += 1;
        leaves.push(pki.leaf(&format!("Dr Kill {n}"), Alg::Ec));
        let leaf = &leaves[n];
        if run_and_kill(
            import_cmd(home.path(), files.path(), &pki, leaf, n),
            "",
            delay(&mut rng, full),
        )
        .is_none()
        {
            kills += 1;
        }
        let ids = assert_consistent(home.path());
        // Whatever happened, the identity can be imported now (or already is).
        let fp = common::fp(&leaf.cert);
        if !ids.iter().any(|id| fp.starts_with(id.as_str())) {
            let out = import_cmd(home.path(), files.path(), &pki, leaf, n)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    // Removes killed at random; a second remove always succeeds and the
    // account is gone (remove is idempotent).
    let ids = assert_consistent(home.path());
    assert_eq!(ids.len(), leaves.len());
    let import_kills = kills;
    let one = |id: &str| {
        let mut c = certsafe(home.path());
        c.args(["account", "remove", id, "--yes"]);
        c
    };
    let full = timed(one(&ids[0]), "");
    for id in &ids[1..] {
        if run_and_kill(one(id), "", delay(&mut rng, full * 11 / 10)).is_none() {
            kills += 1;
        }
        let now = assert_consistent(home.path());
        let out = one(id).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let after = assert_consistent(home.path());
        assert!(!after.contains(id), "{id} still listed");
        assert!(now.len() >= after.len());
    }
    // Under load a remove can outrun its kill: import and remove more until
    // enough removes were killed (bounded).
    let mut extra = 0;
    while kills - import_kills < 6 && extra < 40 {
        extra += 1;
        let leaf = pki.leaf(&format!("Dr Extra {extra}"), Alg::Ec);
        let out = import_cmd(home.path(), files.path(), &pki, &leaf, 1000 + extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if run_and_kill(one(&id), "", delay(&mut rng, full / 2)).is_none() {
            kills += 1;
        }
        assert_consistent(home.path());
        let out = one(&id).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!assert_consistent(home.path()).contains(&id));
    }
    assert!(assert_consistent(home.path()).is_empty());
    eprintln!(
        "import/remove: {import_kills} imports and {} removes killed before they ended (remove ~{full:?})",
        kills - import_kills
    );
    assert!(import_kills >= 12, "too few kills landed: {import_kills}");
    assert!(kills - import_kills >= 6, "too few kills landed: {kills}");
}

#[test]
fn killed_restores_leave_a_consistent_store() {
    let mut rng = Rng::from_env("restore");
    let pki = Pki::new(Alg::Ec);
    let home = Home::new();
    let files = tempfile::tempdir().unwrap();
    let pw = "kill loop password 4821";
    let leaves = [
        pki.leaf("Dr Restore A", Alg::Ec),
        pki.leaf("Dr Restore B", Alg::Ec),
    ];
    let p12s: Vec<_> = leaves
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let p = files.path().join(format!("id{i}.p12"));
            std::fs::write(&p, quick_p12(l, &pki, &format!("Dr Restore {i}"), pw, 2048)).unwrap();
            p
        })
        .collect();
    let restore = |file: &Path, into: Option<&str>| {
        let mut c = certsafe(home.path());
        c.arg("restore").arg(file).arg("--password-stdin");
        if let Some(id) = into {
            c.args(["--account", id, "--replace"]);
        }
        c
    };
    let full = timed(restore(&p12s[0], None), &format!("{pw}\n"));
    let mut kills = 0;
    let mut n = 0;
    while kills < 12 && n < 40 {
        n += 1;
        let ids = assert_consistent(home.path());
        let stdin = format!("{pw}\n");
        let cmd = match ids.first() {
            // Every third round starts from an empty store: a new account.
            Some(id) if n % 3 != 0 => restore(&p12s[n % 2], Some(id)),
            Some(id) => {
                let out = certsafe(home.path())
                    .args(["account", "remove", id, "--yes"])
                    .output()
                    .unwrap();
                assert!(out.status.success());
                restore(&p12s[n % 2], None)
            }
            None => restore(&p12s[n % 2], None),
        };
        if run_and_kill(cmd, &stdin, delay(&mut rng, full)).is_none() {
            kills += 1;
        }
        let ids = assert_consistent(home.path());
        assert!(ids.len() <= 1, "{ids:?}");
    }
    eprintln!("restore: {kills} killed (restore ~{full:?})");
    assert!(kills >= 12, "too few kills landed: {kills}");
}

#[test]
fn killed_backups_leave_no_partial_file_and_the_next_one_cleans_up() {
    let mut rng = Rng::from_env("backup");
    let pki = Pki::new(Alg::Ec);
    let home = Home::new();
    let leaf = pki.leaf("Dr Backup Kill", Alg::Ec);
    let id = home.import(&pki, &leaf, "Dr Backup Kill");
    let dest = tempfile::tempdir().unwrap();
    let backup = |name: &str| {
        let mut c = certsafe(home.path());
        c.args(["backup", &id, "--password-stdin", "--to"])
            .arg(dest.path().join(name));
        c
    };
    let stdin = format!("{STRONG}\n");
    let full = timed(backup("first.p12"), &stdin);
    let mut kills = 0;
    let mut left = Vec::new();
    let mut n = 0;
    while kills < 8 && n < 20 {
        n += 1;
        let name = format!("b{n}.p12");
        if run_and_kill(backup(&name), &stdin, delay(&mut rng, full)).is_none() {
            kills += 1;
        }
        assert_consistent(home.path());
        if dest.path().join(&name).exists() {
            left.push(name);
        }
        // A kill before the rename leaves nothing under the final name.
        assert!(std::fs::read_dir(dest.path()).unwrap().flatten().all(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.ends_with(".p12") || (n.starts_with(".certsafe-") && n.ends_with(".tmp"))
        }));
    }
    // Every file under a final name is complete: it verifies.
    for name in &left {
        let out = certsafe(home.path())
            .arg("verify")
            .arg(dest.path().join(name))
            .args(["--account", &id, "--password-stdin", "--json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin.take().unwrap().write_all(stdin.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The next backup there removes what the killed ones left.
    let stray = temp_files(dest.path()).len();
    timed(backup("last.p12"), &stdin);
    assert!(
        temp_files(dest.path()).is_empty(),
        "{:?}",
        temp_files(dest.path())
    );
    eprintln!(
        "backup: {kills} killed (backup ~{full:?}), {} complete files verified, {stray} temporary files swept",
        left.len()
    );
    assert!(kills >= 8, "too few kills landed: {kills}");
}

#[test]
fn killed_crl_updates_leave_a_consistent_home() {
    use common::crl::{CrlSpec, World, crl};
    use common::http::{Reply, Server};
    let mut rng = Rng::from_env("crl update");
    let world = World::new(Alg::Ec, &[]);
    let body = crl(&CrlSpec::fresh(1), &world.inter, &world.inter_key);
    let server = Server::start(move |_| Reply::crl(body.clone()));
    world.trust(&[&world.inter]);
    let leaf = world.leaf("Dr Crl Kill", Alg::Ec, &[&server.url("/inter.crl")]);
    world.correspondent(&leaf);
    std::fs::write(
        world.dir.path().join("config.toml"),
        "[crl]\nproxy = \"none\"\nread_timeout_secs = 2\ntotal_timeout_secs = 5\n",
    )
    .unwrap();
    // An account too, so the store invariants mean something here.
    let pki = Pki::new(Alg::Ec);
    let files = tempfile::tempdir().unwrap();
    let out = import_cmd(
        world.dir.path(),
        files.path(),
        &pki,
        &pki.leaf("Dr Crl", Alg::Ec),
        0,
    )
    .output()
    .unwrap();
    assert!(out.status.success());
    let update = || {
        let mut c = certsafe(world.dir.path());
        c.args(["crl", "update", "--force"]);
        c
    };
    let full = timed(update(), "");
    let mut kills = 0;
    let mut n = 0;
    while kills < 8 && n < 30 {
        n += 1;
        if run_and_kill(update(), "", delay(&mut rng, full)).is_none() {
            kills += 1;
        }
        assert_eq!(assert_consistent(world.dir.path()).len(), 1);
        let out = certsafe(world.dir.path())
            .args(["crl", "status", "--json"])
            .output()
            .unwrap();
        assert!(out.status.code().is_some_and(|c| c <= 3));
        let _: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    }
    // The next update succeeds and the CRL is fresh.
    let out = update().output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("crl update: {kills} killed (update ~{full:?})");
    assert!(kills >= 8, "too few kills landed: {kills}");
}

/// Renewals (`account import --renewal-of`) and `account forget` killed at
/// random: the account keeps the old history or the new one, never a key
/// outside a listed account, and every earlier identity's key matches its
/// certificate; the interrupted command run again completes.
#[test]
fn killed_renewals_and_forgets_leave_a_consistent_history() {
    let mut rng = Rng::from_env("renewal/forget");
    let pki = Pki::new(Alg::Ec);
    let home = Home::new();
    let files = tempfile::tempdir().unwrap();
    let first = pki.leaf("Dr Renew", Alg::Ec);
    let id = home.import(&pki, &first, "Dr Renew");
    let renew = |leaf: &common::Leaf, n: usize| {
        let dir = files.path().join(format!("renewal{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        let (c, k, ch) = pki.write(&dir, leaf);
        let mut cmd = certsafe(home.path());
        cmd.args(["account", "import", "--renewal-of", &id])
            .arg("--cert")
            .arg(c)
            .arg("--key")
            .arg(k)
            .arg("--chain")
            .arg(ch);
        cmd
    };
    // The store is consistent and every earlier key matches its
    // certificate; returns how many identities the account holds.
    let history_ok = || {
        assert_consistent(home.path());
        let v = home.account_json(&id);
        let ids = v["identities"].as_array().unwrap().clone();
        let dir = home.path().join("data/accounts").join(&id).join("history");
        for e in ids.iter().skip(1) {
            let fp = e["fingerprint"].as_str().unwrap();
            let d = dir.join(fp);
            let key = openssl::pkey::PKey::private_key_from_pem(
                &std::fs::read(d.join("key.pem")).unwrap(),
            )
            .unwrap();
            let cert =
                openssl::x509::X509::from_pem(&std::fs::read(d.join("cert.pem")).unwrap()).unwrap();
            assert!(cert.public_key().unwrap().public_eq(&key), "{fp}");
        }
        ids.len()
    };
    let probe = pki.leaf("Dr Renew", Alg::Ec);
    let full = timed(renew(&probe, 0), "");
    let mut kills = 0;
    let mut held = history_ok();
    assert_eq!(held, 2);
    for n in 1..=16 {
        let leaf = pki.leaf("Dr Renew", Alg::Ec);
        if run_and_kill(renew(&leaf, n), "", delay(&mut rng, full)).is_none() {
            kills += 1;
        }
        let now = history_ok();
        assert!(now == held || now == held + 1, "{held} then {now}");
        // Run again: it completes (or finds it done).
        let out = renew(&leaf, n).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let after = history_ok();
        assert_eq!(after, held + 1, "one identity more after the renewal");
        held = after;
        assert_eq!(
            home.account_json(&id)["fingerprint"],
            common::fp(&leaf.cert)
        );
    }
    // Forgets killed at random.
    let v = home.account_json(&id);
    let earlier: Vec<String> = v["identities"].as_array().unwrap()[1..]
        .iter()
        .map(|e| e["fingerprint"].as_str().unwrap().to_string())
        .collect();
    let forget = |fp: &str| {
        let mut c = certsafe(home.path());
        c.args(["account", "forget", &id, fp, "--yes"]);
        c
    };
    for fp in &earlier {
        if run_and_kill(forget(fp), "", delay(&mut rng, full)).is_none() {
            kills += 1;
        }
        assert_consistent(home.path());
        let v = home.account_json(&id);
        let still = v["identities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["fingerprint"] == fp.as_str());
        if still {
            let out = forget(fp).output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    assert_eq!(history_ok(), 1);
    eprintln!("renewal/forget: {kills} killed before they ended (renewal ~{full:?})");
    assert!(kills >= 6, "too few kills landed: {kills}");
}
