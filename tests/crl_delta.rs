//! Delta CRLs and the CRL number as a high-water mark: base and delta CRLs
//! made here (the delta carries a critical `DeltaCRLIndicator`), served by
//! the test HTTP server, fetched by `crl update` through the certificates'
//! Freshest CRL extension; `check` and `crl status` JSON asserted.
#![allow(clippy::unwrap_used, clippy::many_single_char_names)]

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use certsafe::domain::crl::Rejection;
use common::crl::{
    CertSpec, CrlSpec, Revoked, World, build_cert_with, cdp_value, crl, delta_indicator, now,
};
use common::http::{Reply, Server};
use common::{Alg, Home, fp};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

type Routes = Arc<Mutex<HashMap<String, Reply>>>;

const HOLD: u8 = 6;
const REMOVE_FROM_CRL: u8 = 8;
const KEY_COMPROMISE: u8 = 1;

/// A home trusting one CA, three correspondents (a, b, c) whose
/// certificates name `/base.crl` and, as Freshest CRL, `/delta.crl`.
struct Bed {
    home: Home,
    server: Server,
    routes: Routes,
    ca_key: PKey<Private>,
    ca: X509,
    a: X509,
    b: X509,
    c: X509,
    files: tempfile::TempDir,
}

impl Bed {
    fn new() -> Self {
        Self::with_freshest(None)
    }

    fn with_freshest(freshest: Option<&str>) -> Self {
        let routes: Routes = Arc::new(Mutex::new(HashMap::new()));
        let r2 = routes.clone();
        let server = Server::start(move |req| {
            r2.lock()
                .unwrap()
                .get(&req.target)
                .cloned()
                .unwrap_or(Reply::Status(404))
        });
        let home = Home::new();
        std::fs::write(
            home.path().join("config.toml"),
            "[crl]\nproxy = \"none\"\nread_timeout_secs = 2\ntotal_timeout_secs = 5\n",
        )
        .unwrap();
        let ca_key = common::key(Alg::Ec);
        let ca = common::crl::build_cert(&CertSpec::ca("DELTA TEST CA", &ca_key, None));
        let base_url = server.url("/base.crl");
        let delta_url = freshest.map_or_else(|| server.url("/delta.crl"), str::to_string);
        let leaf = |cn: &str| {
            let key = common::key(Alg::Ec);
            build_cert_with(
                &CertSpec::leaf(cn, &key, (&ca, &ca_key)).with_cdp(&[&base_url]),
                &[("2.5.29.46", cdp_value(&[&delta_url]))],
            )
        };
        let (a, b, c) = (leaf("Dr A"), leaf("Dr B"), leaf("Dr C"));
        let bed = Self {
            home,
            server,
            routes,
            ca_key,
            ca,
            a,
            b,
            c,
            files: tempfile::tempdir().unwrap(),
        };
        let ca_pem = bed.file("ca.pem", &bed.ca.to_pem().unwrap());
        bed.ok(&["ca", "import"], &[ca_pem]);
        let mut certs = Vec::new();
        for (n, c) in [("a", &bed.a), ("b", &bed.b), ("c", &bed.c)] {
            certs.push(bed.file(&format!("{n}.pem"), &c.to_pem().unwrap()));
        }
        bed.ok(&["correspondent", "import"], &certs);
        bed
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.files.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn ok(&self, args: &[&str], paths: &[PathBuf]) {
        let out = self.home.cmd().args(args).args(paths).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn serve(&self, path: &str, crl_der: Vec<u8>) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.into(), Reply::crl(crl_der));
    }

    fn base(&self, spec: &CrlSpec) {
        self.serve("/base.crl", crl(spec, &self.ca, &self.ca_key));
    }

    fn delta(&self, spec: &CrlSpec) {
        self.serve("/delta.crl", crl(spec, &self.ca, &self.ca_key));
    }

    /// `crl update --force --json`: exit code and this CA's report.
    fn update(&self) -> (i32, serde_json::Value) {
        let out = self
            .home
            .cmd()
            .args(["crl", "update", "--force", "--json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
        });
        let fp = fp(&self.ca);
        let r = v["crls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ca_fingerprint"] == fp.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("no report for the CA: {v}"));
        (out.status.code().unwrap(), r)
    }

    /// `check --json` of one certificate: exit code and its object.
    fn check(&self, cert: &X509) -> (i32, serde_json::Value) {
        let f = self.file("checked.pem", &cert.to_pem().unwrap());
        let out = self
            .home
            .cmd()
            .args(["check", "--json"])
            .arg(f)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), v["certificates"][0].clone())
    }

    /// `crl status --json`: this CA's CRL entry.
    fn status(&self) -> serde_json::Value {
        let out = self
            .home
            .cmd()
            .args(["crl", "status", "--json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let fp = fp(&self.ca);
        v["crls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["ca_fingerprint"] == fp.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("no CRL entry for the CA: {v}"))
    }
}

/// A delta CRL numbered `number`, for base `base`, issued ten minutes ago,
/// next update in two days (beyond the 24-hour warning window).
fn delta_spec(number: u64, base: u64, revoked: Vec<Revoked>) -> CrlSpec {
    let t = now();
    CrlSpec {
        this_update: t - 600,
        next_update: Some(t + 2 * 86_400),
        number: Some(number),
        revoked,
        extensions: vec![delta_indicator(base)],
    }
}

fn state(v: &serde_json::Value) -> &str {
    v["state"].as_str().unwrap_or_default()
}

#[test]
fn a_certificate_revoked_only_in_the_delta_is_revoked_with_source_delta() {
    let bed = Bed::new();
    let t = now();
    bed.base(&CrlSpec::fresh(10).revoking(vec![Revoked::cert(
        &bed.a,
        t - 7200,
        Some(KEY_COMPROMISE),
    )]));
    bed.delta(&delta_spec(
        11,
        10,
        vec![Revoked::cert(&bed.b, t - 900, Some(KEY_COMPROMISE))],
    ));
    let (code, r) = bed.update();
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["outcome"], "updated", "{r}");
    assert_eq!(r["delta"]["outcome"], "updated", "{r}");

    let (code, b) = bed.check(&bed.b);
    assert_eq!(code, 2, "{b}");
    assert_eq!(state(&b), "revoked", "{b}");
    assert_eq!(b["source"], "delta", "{b}");
    assert_eq!(b["reason"], "key_compromise");
    let (_, a) = bed.check(&bed.a);
    assert_eq!((state(&a), &a["source"]), ("revoked", &"crl".into()), "{a}");
    let (code, c) = bed.check(&bed.c);
    assert_eq!(code, 0, "{c}");
    assert_eq!((state(&c), &c["source"]), ("good", &"crl".into()), "{c}");
    assert!(c.get("delta_ignored").is_none(), "{c}");

    let e = bed.status();
    assert_eq!(e["crl_number"], "0a", "{e}");
    let d = &e["delta"];
    for key in [
        "url",
        "state",
        "this_update",
        "next_update",
        "entries",
        "crl_number",
        "base_crl_number",
    ] {
        assert!(d.get(key).is_some(), "no {key} in {d}");
    }
    assert_eq!(d["state"], "fresh", "{d}");
    assert_eq!(d["url"], bed.server.url("/delta.crl").as_str());
    assert_eq!(d["entries"], 1);
    assert_eq!(d["crl_number"], "0b");
    assert_eq!(d["base_crl_number"], "0a");
    assert!(d["ignored"].is_null(), "{d}");
}

#[test]
fn remove_from_crl_in_the_delta_lifts_a_hold_of_the_base() {
    let bed = Bed::new();
    let t = now();
    bed.base(&CrlSpec::fresh(20).revoking(vec![Revoked::cert(&bed.b, t - 7200, Some(HOLD))]));
    // First without a delta (404): the hold stands.
    let (code, r) = bed.update();
    assert_eq!(code, 0, "a missing delta does not fail the update: {r}");
    assert_eq!(r["delta"]["outcome"], "unreachable", "{r}");
    let (_, b) = bed.check(&bed.b);
    assert_eq!(state(&b), "revoked", "{b}");
    assert_eq!(b["reason"], "certificate_hold");
    assert_eq!(b["source"], "crl");
    assert_eq!(bed.status()["delta"]["state"], "unreachable");

    // The delta releases the hold.
    bed.delta(&delta_spec(
        21,
        20,
        vec![Revoked::cert(&bed.b, t - 900, Some(REMOVE_FROM_CRL))],
    ));
    let (_, r) = bed.update();
    assert_eq!(r["delta"]["outcome"], "updated", "{r}");
    let (code, b) = bed.check(&bed.b);
    assert_eq!(code, 0, "{b}");
    assert_eq!(state(&b), "good", "{b}");
    assert_eq!(b["source"], "delta", "{b}");
    // removeFromCRL never lifts anything else.
    let (_, c) = bed.check(&bed.c);
    assert_eq!((state(&c), &c["source"]), ("good", &"crl".into()), "{c}");
}

#[test]
fn an_orphan_delta_is_ignored_and_said_and_the_base_alone_decides() {
    let bed = Bed::new();
    let t = now();
    bed.base(&CrlSpec::fresh(10).revoking(vec![Revoked::cert(&bed.a, t - 7200, Some(HOLD))]));
    // Number 12 applies to base 11, which certsafe does not have.
    bed.delta(&delta_spec(
        12,
        11,
        vec![
            Revoked::cert(&bed.b, t - 900, Some(KEY_COMPROMISE)),
            Revoked::cert(&bed.a, t - 900, Some(REMOVE_FROM_CRL)),
        ],
    ));
    let (code, r) = bed.update();
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["outcome"], "updated", "{r}");
    assert_eq!(r["delta"]["outcome"], "invalid", "{r}");
    assert_eq!(r["delta"]["cause"]["detail"]["code"], "delta_orphan", "{r}");

    let d = bed.status()["delta"].clone();
    assert_eq!(d["state"], "invalid", "{d}");
    assert_eq!(d["cause"]["detail"]["code"], "delta_orphan", "{d}");
    assert_eq!(d["cause"]["detail"]["indicator"], "0b", "{d}");
    assert_eq!(d["cause"]["detail"]["base"], "0a", "{d}");
    assert!(d["crl_number"].is_null(), "nothing cached: {d}");

    // The base alone: b good, a still on hold.
    let (_, b) = bed.check(&bed.b);
    assert_eq!((state(&b), &b["source"]), ("good", &"crl".into()), "{b}");
    let (_, a) = bed.check(&bed.a);
    assert_eq!(state(&a), "revoked", "{a}");
    assert_eq!(a["reason"], "certificate_hold");
}

#[test]
fn a_stale_delta_is_ignored_and_a_delta_never_makes_good_alone() {
    let bed = Bed::new();
    let t = now();
    bed.base(&CrlSpec::fresh(30).revoking(vec![Revoked::cert(&bed.b, t - 7200, Some(HOLD))]));
    let mut stale = delta_spec(
        31,
        30,
        vec![Revoked::cert(&bed.b, t - 900, Some(REMOVE_FROM_CRL))],
    );
    stale.next_update = Some(t - 60);
    bed.delta(&stale);
    let (_, r) = bed.update();
    assert_eq!(r["delta"]["outcome"], "updated", "{r}");
    let (code, b) = bed.check(&bed.b);
    assert_eq!(code, 2, "{b}");
    assert_eq!(state(&b), "revoked", "a stale delta lifts nothing: {b}");
    assert_eq!(b["source"], "crl");
    assert_eq!(b["delta_ignored"], "stale", "{b}");
    let d = bed.status()["delta"].clone();
    assert_eq!(
        (state(&d), &d["ignored"]),
        ("expired", &"stale".into()),
        "{d}"
    );

    // An expired base with a fresh delta: the delta's revocations count,
    // but nothing is good.
    let bed = Bed::new();
    let mut base = CrlSpec::fresh(40);
    base.this_update = t - 3 * 86_400;
    base.next_update = Some(t - 86_400);
    bed.base(&base);
    bed.delta(&delta_spec(
        41,
        40,
        vec![Revoked::cert(&bed.b, t - 900, Some(KEY_COMPROMISE))],
    ));
    let (_, r) = bed.update();
    assert_eq!(r["delta"]["outcome"], "updated", "{r}");
    let (_, b) = bed.check(&bed.b);
    assert_eq!(
        (state(&b), &b["source"]),
        ("revoked", &"delta".into()),
        "{b}"
    );
    let (code, c) = bed.check(&bed.c);
    assert_eq!(code, 3, "{c}");
    assert_eq!(state(&c), "unknown", "{c}");
    assert!(c["source"].is_null(), "{c}");
}

#[test]
fn an_ldap_delta_address_goes_to_the_ldap_fetcher_and_its_failure_keeps_the_base() {
    // Port 1 on 127.0.0.1: nobody listens, the LDAP fetcher fails to connect.
    let bed = Bed::with_freshest(Some(
        "ldap://127.0.0.1:1/cn=CA,o=X?deltaRevocationList;binary",
    ));
    bed.base(&CrlSpec::fresh(5));
    let (code, r) = bed.update();
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["outcome"], "updated", "{r}");
    assert_eq!(r["delta"]["outcome"], "unreachable", "{r}");
    assert_eq!(r["delta"]["cause"]["detail"]["code"], "connect", "{r}");
    let (_, c) = bed.check(&bed.c);
    assert_eq!((state(&c), &c["source"]), ("good", &"crl".into()), "{c}");
}

#[test]
fn a_base_crl_naming_a_freshest_crl_brings_its_delta() {
    // The certificates name no delta; the base CRL does.
    let bed = Bed::with_freshest(Some("http://127.0.0.1:9/unused.crl"));
    let t = now();
    let delta_url = bed.server.url("/delta.crl");
    let mut base = CrlSpec::fresh(50);
    base.extensions
        .push(common::crl::freshest(&[delta_url.as_str()]));
    bed.base(&base);
    bed.delta(&delta_spec(
        51,
        50,
        vec![Revoked::cert(&bed.b, t - 900, Some(KEY_COMPROMISE))],
    ));
    let (_, r) = bed.update();
    assert_eq!(r["delta"]["outcome"], "updated", "{r}");
    assert_eq!(r["delta"]["url"], delta_url.as_str(), "{r}");
    let (_, b) = bed.check(&bed.b);
    assert_eq!(
        (state(&b), &b["source"]),
        ("revoked", &"delta".into()),
        "{b}"
    );
}

#[test]
fn a_lower_crl_number_than_cached_is_refused_as_a_replay() {
    let w = World::new(Alg::Ec, &[]);
    w.trust(&[&w.inter]);
    let t = now();
    let issue = |spec: &CrlSpec| crl(spec, &w.inter, &w.inter_key);
    w.import(&issue(&CrlSpec::fresh(10))).unwrap();
    // Number 9, though issued later: a replay.
    let mut older = CrlSpec::fresh(9);
    older.this_update = t - 60;
    let replay = issue(&older);
    assert!(matches!(
        w.rejection(&replay),
        Rejection::NumberBackwards { .. }
    ));
    // The mark is in the authenticated index: deleting meta.json does not
    // open the door.
    let dir = w.home.crl_cache_dir().join(fp(&w.inter));
    std::fs::remove_file(dir.join("meta.json")).unwrap();
    assert!(matches!(
        w.rejection(&replay),
        Rejection::NumberBackwards { .. }
    ));

    // Deltas have their own mark.
    let w = World::new(Alg::Ec, &[]);
    w.trust(&[&w.inter]);
    let issue = |spec: &CrlSpec| crl(spec, &w.inter, &w.inter_key);
    let delta = |number, base, this_update| {
        let mut d = delta_spec(number, base, Vec::new());
        d.this_update = this_update;
        crl(&d, &w.inter, &w.inter_key)
    };
    assert!(matches!(
        w.rejection(&delta(11, 10, t - 600)),
        Rejection::DeltaWithoutBase
    ));
    w.import(&issue(&CrlSpec::fresh(10))).unwrap();
    w.import(&delta(12, 10, t - 600)).unwrap();
    assert!(matches!(
        w.rejection(&delta(11, 10, t - 60)),
        Rejection::NumberBackwards { .. }
    ));
    assert!(matches!(
        w.rejection(&delta(10, 10, t - 60)),
        Rejection::DeltaNotNewer { .. }
    ));
    let e = w.crl_of(&w.inter);
    let d = e.delta.unwrap();
    assert_eq!(d.crl_number.as_deref(), Some("0c"));
    assert_eq!(d.base_crl_number.as_deref(), Some("0a"));
    assert_eq!(e.crl_number.as_deref(), Some("0a"));
}

/// Base and delta CRLs made by OpenSSL's own CA tool (`openssl ca -gencrl`,
/// the delta with `-crlexts` holding a critical `DeltaCRLIndicator`), the
/// base and the delta possibly issued in the same second.
#[test]
fn base_and_delta_made_by_openssl_ca() {
    if !common::require("openssl") {
        return;
    }
    let bed = Bed::new();
    let dir = bed.files.path();
    std::fs::write(dir.join("ca.pem"), bed.ca.to_pem().unwrap()).unwrap();
    std::fs::write(
        dir.join("ca.key"),
        bed.ca_key.private_key_to_pem_pkcs8().unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("b.pem"), bed.b.to_pem().unwrap()).unwrap();
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("crlnumber"), "0A\n").unwrap();
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca = c\n[c]\ndatabase = index.txt\ncrlnumber = crlnumber\n\
         certificate = ca.pem\nprivate_key = ca.key\ndefault_md = sha256\n\
         default_crl_days = 7\n[delta]\n2.5.29.27 = critical,DER:02:01:0A\n",
    )
    .unwrap();
    let ca = |args: &str| {
        common::sh(&format!(
            "cd '{}' && openssl ca -batch -config ca.cnf {args} 2>&1",
            dir.display()
        ))
    };
    ca("-gencrl -out base.pem");
    ca("-revoke b.pem -crl_reason keyCompromise");
    ca("-gencrl -crlexts delta -out delta.pem");
    bed.serve("/base.crl", std::fs::read(dir.join("base.pem")).unwrap());
    bed.serve("/delta.crl", std::fs::read(dir.join("delta.pem")).unwrap());
    let (code, r) = bed.update();
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["delta"]["outcome"], "updated", "{r}");
    let (_, b) = bed.check(&bed.b);
    assert_eq!(
        (state(&b), &b["source"]),
        ("revoked", &"delta".into()),
        "{b}"
    );
    assert_eq!(b["reason"], "key_compromise");
    let (_, c) = bed.check(&bed.c);
    assert_eq!((state(&c), &c["source"]), ("good", &"crl".into()), "{c}");
    let e = bed.status();
    assert_eq!(e["crl_number"], "0a", "{e}");
    assert_eq!(e["delta"]["crl_number"], "0b", "{e}");
    assert_eq!(e["delta"]["base_crl_number"], "0a", "{e}");
}
