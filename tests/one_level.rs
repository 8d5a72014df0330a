//! One severity policy (issue 8): in every revocation situation, `status
//! --json`, `crl status` (exit code and JSON level) and the home screen's
//! data (`tui::app::load_home`, what the home panes and the title render
//! from) give the same level.
//!
//! Each situation is a home with one account, backed up and far from expiry
//! (so only CRLs and revocation can raise the level), made by the CLI.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use certsafe::domain::status::{Level, Pane};
use common::crl::{CertSpec, CrlSpec, Revoked, build_cert, crl, now};
use common::http::{Reply, Server};
use common::{Alg, Home};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

struct Pki {
    root_key: PKey<Private>,
    root: X509,
    inter_key: PKey<Private>,
    inter: X509,
    leaf_key: PKey<Private>,
    leaf: X509,
    files: tempfile::TempDir,
}

impl Pki {
    /// Root → intermediate → leaf; the leaf names `cdp` for its CRL.
    fn new(cdp: &[&str]) -> Self {
        let root_key = common::key(Alg::Ec);
        let root = build_cert(&CertSpec::ca("LEVEL ROOT", &root_key, None));
        let inter_key = common::key(Alg::Ec);
        let inter = build_cert(&CertSpec::ca(
            "LEVEL INTERMEDIATE",
            &inter_key,
            Some((&root, &root_key)),
        ));
        let leaf_key = common::key(Alg::Ec);
        let leaf = build_cert(
            &CertSpec::leaf("Dr Ana Level", &leaf_key, (&inter, &inter_key)).with_cdp(cdp),
        );
        Self {
            root_key,
            root,
            inter_key,
            inter,
            leaf_key,
            leaf,
            files: tempfile::tempdir().unwrap(),
        }
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.files.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn cas(&self) -> PathBuf {
        let mut b = self.root.to_pem().unwrap();
        b.extend(self.inter.to_pem().unwrap());
        self.file("cas.pem", &b)
    }

    fn root_crl(&self) -> PathBuf {
        self.file(
            "root.crl",
            &crl(&CrlSpec::fresh(1), &self.root, &self.root_key),
        )
    }

    fn inter_crl(&self, spec: &CrlSpec) -> PathBuf {
        self.file("inter.crl", &crl(spec, &self.inter, &self.inter_key))
    }

    /// A home with the leaf as a backed-up account and nothing else.
    fn home(&self) -> Home {
        let home = Home::new();
        let cert = self.file("leaf.pem", &self.leaf.to_pem().unwrap());
        let key = self.file(
            "leaf.key",
            &self.leaf_key.private_key_to_pem_pkcs8().unwrap(),
        );
        let out = home
            .cmd()
            .args(["account", "import", "--label", "Ana", "--cert"])
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg("--chain")
            .arg(self.cas())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
        let to = tempfile::tempdir().unwrap();
        home.backup(&id, to.path(), common::STRONG, "modern");
        home
    }
}

/// The three views of one home.
#[derive(Debug, PartialEq, Eq)]
struct Views {
    status_json: String,
    status_exit: i32,
    crl_json: String,
    crl_exit: i32,
    home_title: Level,
    home_panes: Level,
}

fn word(l: Level) -> String {
    l.word().to_string()
}

fn views(home: &Home) -> Views {
    let json = |args: &[&str]| {
        let out = home.cmd().args(args).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)));
        (
            v["level"].as_str().unwrap().to_string(),
            out.status.code().unwrap(),
            v,
        )
    };
    let (status_json, status_exit, status) = json(&["status", "--json"]);
    // Only revocation may speak: the account is backed up and not expiring.
    for a in status["alerts"].as_array().unwrap() {
        assert!(
            a["pane"] == "crl" || a["pane"] == "revocation",
            "an alert outside revocation: {a}"
        );
    }
    let (crl_json, crl_exit, _) = json(&["crl", "status", "--json"]);
    let env = certsafe::app::Env::new(
        certsafe::domain::home::Home::under(home.path()),
        certsafe::config::Config::default(),
    );
    let data = certsafe::tui::app::load_home(&env).unwrap();
    // What the CRL and revocation panes show: each alert's level, or unknown
    // when revocation is not set up, else [OK].
    let mut home_panes = data
        .status
        .alerts
        .iter()
        .filter(|a| matches!(a.pane, Pane::Crl | Pane::Revocation))
        .fold(Level::Ok, |l, a| l.worst(a.severity));
    if data
        .status
        .alerts
        .iter()
        .any(|a| a.code == "revocation_not_set_up")
    {
        home_panes = home_panes.worst(Level::Unknown);
    }
    Views {
        status_json,
        status_exit,
        crl_json,
        crl_exit,
        home_title: data.status.level,
        home_panes,
    }
}

/// Every view says `expected`.
fn all(expected: Level) -> Views {
    Views {
        status_json: word(expected),
        status_exit: i32::from(expected.exit_code()),
        crl_json: word(expected),
        crl_exit: i32::from(expected.exit_code()),
        home_title: expected,
        home_panes: expected,
    }
}

fn import(home: &Home, args: &[&str], paths: &[&Path]) {
    home.run_ok(args, paths);
}

fn crl_state(home: &Home) -> Vec<String> {
    let out = home
        .cmd()
        .args(["crl", "status", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["crls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_situation_has_one_level() {
    let t = now();
    let closed = "http://127.0.0.1:9/inter.crl";
    let server = Server::start(|_| Reply::crl(b"not a CRL".to_vec()));
    let garbage = server.url("/inter.crl");

    // No CA imported: revocation is not set up.
    let pki = Pki::new(&[closed]);
    let home = pki.home();
    assert_eq!(views(&home), all(Level::Unknown), "no CA");

    // CAs imported, no CRL yet: missing.
    import(&home, &["ca", "import"], &[&pki.cas()]);
    assert_eq!(crl_state(&home), ["missing", "missing"]);
    assert_eq!(views(&home), all(Level::Critical), "missing");

    // Both fresh: all good.
    import(
        &home,
        &["crl", "import"],
        &[&pki.root_crl(), &pki.inter_crl(&CrlSpec::fresh(1))],
    );
    assert_eq!(crl_state(&home), ["fresh", "fresh"]);
    assert_eq!(views(&home), all(Level::Ok), "fresh");

    // Unreachable with a cached copy still valid: a warning.
    let out = home
        .cmd()
        .args(["crl", "update", "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        crl_state(&home).contains(&"unreachable".to_string()),
        "{:?}",
        crl_state(&home)
    );
    assert_eq!(
        views(&home),
        all(Level::Warning),
        "unreachable, cache valid"
    );

    // Due: nextUpdate within the warning window.
    let due = CrlSpec {
        this_update: t - 2400,
        next_update: Some(t + 3600),
        ..CrlSpec::fresh(2)
    };
    import(&home, &["crl", "import"], &[&pki.inter_crl(&due)]);
    assert_eq!(crl_state(&home), ["fresh", "due"]);
    assert_eq!(views(&home), all(Level::Warning), "due");

    // Expired: nextUpdate passed.
    let expired = CrlSpec {
        this_update: t - 1800,
        next_update: Some(t - 600),
        ..CrlSpec::fresh(3)
    };
    import(&home, &["crl", "import"], &[&pki.inter_crl(&expired)]);
    assert_eq!(crl_state(&home), ["fresh", "expired"]);
    assert_eq!(views(&home), all(Level::Critical), "expired");

    // The account's certificate revoked.
    let revoking = CrlSpec {
        this_update: t - 60,
        ..CrlSpec::fresh(4)
    }
    .revoking(vec![Revoked::cert(&pki.leaf, t - 7200, Some(1))]);
    import(&home, &["crl", "import"], &[&pki.inter_crl(&revoking)]);
    assert_eq!(crl_state(&home), ["fresh", "fresh"]);
    assert_eq!(views(&home), all(Level::Critical), "revoked");

    // Invalid, nothing cached: the download fails verification.
    let pki = Pki::new(&[&garbage]);
    let home = pki.home();
    import(&home, &["ca", "import"], &[&pki.cas()]);
    import(&home, &["crl", "import"], &[&pki.root_crl()]);
    let out = home.cmd().args(["crl", "update"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(crl_state(&home), ["fresh", "invalid"]);
    assert_eq!(
        views(&home),
        all(Level::Critical),
        "invalid, nothing cached"
    );

    // Unreachable, nothing cached.
    let pki = Pki::new(&[closed]);
    let home = pki.home();
    import(&home, &["ca", "import"], &[&pki.cas()]);
    import(&home, &["crl", "import"], &[&pki.root_crl()]);
    let out = home.cmd().args(["crl", "update"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(crl_state(&home), ["fresh", "unreachable"]);
    assert_eq!(
        views(&home),
        all(Level::Critical),
        "unreachable, nothing cached"
    );
}

/// An account whose certificate chains to no imported CA (another PKI's
/// CAs are trusted): `crl status` used to call it critical while `status`
/// and the home said warning.
#[test]
fn an_untrusted_account_is_one_level_too() {
    let pki = Pki::new(&[]);
    let other = Pki::new(&[]);
    let home = pki.home();
    import(&home, &["ca", "import"], &[&other.cas()]);
    import(
        &home,
        &["crl", "import"],
        &[&other.root_crl(), &other.inter_crl(&CrlSpec::fresh(1))],
    );
    let v = views(&home);
    assert_eq!(v, all(Level::Warning));
}
