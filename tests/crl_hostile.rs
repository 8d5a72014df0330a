//! Hostile CRLs and a hostile cache (issue 7): serials compared as exact
//! signed INTEGERs with padding refused, duplicate entries where the gravest
//! reason wins, a tampered `meta.json` or index that never turns `unknown`
//! into `good`, an index key created by racing processes, a `304` with
//! nothing cached, a cache that cannot be written, FIFOs and devices where a
//! CRL file is expected, and a second address tried after an invalid one.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::time::{Duration, Instant};

use certsafe::domain::ber::{self, der, tag};
use certsafe::domain::crl::check::{CertState, Reason};
use certsafe::domain::crl::fetch::{FetchError, Fetcher, HttpFetcher, Limits, Request, Response};
use certsafe::domain::crl::{
    self, Accepted, CrlError, CrlState, Outcome, Rejection, UpdateOptions, UpdateReport,
};
use certsafe::domain::time::now as now_dt;
use common::Alg;
use common::crl::{CrlSpec, Revoked, World, crl, now, openssl_parses};
use common::http::{Reply, Seen, Server};
use openssl::x509::X509;

/// A world trusting root and intermediate, with a fresh root CRL.
fn world() -> World {
    let w = World::new(Alg::Ec, &[]);
    w.trust(&[&w.root, &w.inter]);
    w.import(&crl(&CrlSpec::fresh(1), &w.root, &w.root_key))
        .unwrap();
    w
}

fn entry(serial: &[u8], reason: Option<u8>, at: i64) -> Revoked {
    Revoked {
        serial: serial.to_vec(),
        at,
        reason,
        extensions: Vec::new(),
    }
}

fn inter_crl(w: &World, number: u64, revoked: Vec<Revoked>) -> Vec<u8> {
    crl(
        &CrlSpec::fresh(number).revoking(revoked),
        &w.inter,
        &w.inter_key,
    )
}

fn ca_dir(w: &World, ca: &X509) -> PathBuf {
    w.home.crl_cache_dir().join(common::fp(ca))
}

// --- Serials -------------------------------------------------------------

#[test]
fn a_negative_serial_does_not_revoke_its_positive_twin() {
    let w = world();
    // 255 is INTEGER 00 FF; -1 is INTEGER FF: the same magnitude octet.
    let plus = w.leaf_with_serial("Dr Plus", Alg::Ec, 255, &[]);
    let minus = w.leaf_with_serial("Dr Minus", Alg::Ec, -1, &[]);
    assert_eq!(
        certsafe::domain::certext::facts(&plus).unwrap().serial,
        [0x00, 0xff]
    );
    assert_eq!(
        certsafe::domain::certext::facts(&minus).unwrap().serial,
        [0xff]
    );
    // A CRL listing -1 only.
    let bytes = inter_crl(&w, 1, vec![entry(&[0xff], Some(1), now() - 60)]);
    assert!(openssl_parses(&bytes));
    w.import(&bytes).unwrap();
    assert_eq!(w.check(&plus).state, CertState::Good);
    assert_eq!(w.check(&minus).state, CertState::Revoked);
    // A CRL listing 255 only.
    let bytes = inter_crl(&w, 2, vec![entry(&[0x00, 0xff], Some(1), now() - 60)]);
    w.import(&bytes).unwrap();
    assert_eq!(w.check(&plus).state, CertState::Revoked);
    assert_eq!(w.check(&minus).state, CertState::Good);
    // Same for a longer pair: 0x8001 (00 80 01) and -0x7fff (80 01).
    let big = w.leaf_with_serial("Dr Big", Alg::Ec, 0x8001, &[]);
    let bytes = inter_crl(&w, 3, vec![entry(&[0x80, 0x01], Some(1), now() - 60)]);
    w.import(&bytes).unwrap();
    assert_eq!(w.check(&big).state, CertState::Good);
}

#[test]
fn a_crl_entry_with_a_padded_serial_is_refused_as_openssl_refuses_it() {
    let w = world();
    let leaf = w.leaf_with_serial("Dr Padded", Alg::Ec, 5, &[]);
    w.correspondent(&leaf);
    for padded in [
        &[0x00, 0x05][..],
        &[0x00, 0x00, 0x05],
        &[0xff, 0xff],
        &[0xff, 0x80],
        &[],
    ] {
        let bytes = inter_crl(&w, 1, vec![entry(padded, Some(1), now() - 60)]);
        assert!(!openssl_parses(&bytes), "OpenSSL took {padded:02x?}");
        assert!(
            matches!(w.rejection(&bytes), Rejection::Malformed { .. }),
            "{padded:02x?}"
        );
        assert_eq!(w.crl_of(&w.inter).state, CrlState::Invalid, "{padded:02x?}");
        assert_eq!(w.check(&leaf).state, CertState::Unknown, "{padded:02x?}");
    }
}

/// `cert`'s DER with its serial INTEGER replaced by `content`, signed again.
fn with_serial_content(
    cert: &X509,
    content: &[u8],
    key: &openssl::pkey::PKey<openssl::pkey::Private>,
) -> Vec<u8> {
    let whole = cert.to_der().unwrap();
    let outer = ber::read_one(&whole).unwrap();
    let tbs = outer.iter().next().unwrap().unwrap();
    let mut fields = tbs.iter();
    let mut body = Vec::new();
    let (version, raw) = fields.next_raw().unwrap().unwrap();
    assert_eq!(version.tag, tag::CONTEXT_0);
    body.extend_from_slice(raw);
    let (serial, _) = fields.next_raw().unwrap().unwrap();
    assert_eq!(serial.tag, tag::INTEGER);
    body.extend(der(tag::INTEGER, content));
    while let Some(f) = fields.next_raw() {
        body.extend_from_slice(f.unwrap().1);
    }
    let new_tbs = der(tag::SEQUENCE, &body);
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), key).unwrap();
    signer.update(&new_tbs).unwrap();
    let mut bits = vec![0u8];
    bits.extend(signer.sign_to_vec().unwrap());
    let mut out = new_tbs;
    out.extend(der(tag::SEQUENCE, &ber::der_oid("1.2.840.10045.4.3.2")));
    out.extend(der(tag::BIT_STRING, &bits));
    der(tag::SEQUENCE, &out)
}

#[test]
fn a_certificate_with_a_padded_serial_is_refused() {
    let w = world();
    let leaf = w.leaf_with_serial("Dr Cert Padded", Alg::Ec, 5, &[]);
    let minimal = with_serial_content(&leaf, &[0x05], &w.inter_key);
    assert!(X509::from_der(&minimal).is_ok());
    assert_eq!(
        certsafe::domain::certext::facts_der(&minimal)
            .unwrap()
            .serial,
        [0x05]
    );
    for padded in [&[0x00, 0x05][..], &[0xff, 0xfb], &[]] {
        let bytes = with_serial_content(&leaf, padded, &w.inter_key);
        assert!(
            X509::from_der(&bytes).is_err(),
            "OpenSSL took {padded:02x?}"
        );
        assert!(
            certsafe::domain::certext::facts_der(&bytes).is_err(),
            "{padded:02x?}"
        );
    }
}

// --- Duplicates ------------------------------------------------------------

#[test]
fn with_duplicate_entries_the_gravest_reason_wins_in_either_order() {
    const HOLD: u8 = 6;
    let cases = [
        (4, 1, Reason::KeyCompromise),
        (4, 2, Reason::CaCompromise),
        (HOLD, 4, Reason::Superseded),
        (HOLD, 0, Reason::Unspecified),
        (5, 10, Reason::AaCompromise),
    ];
    let w = world();
    let mut number = 1;
    for (a, b, want) in cases {
        for (first, second) in [(a, b), (b, a)] {
            let leaf = w.leaf("Dr Twice", Alg::Ec, &[]);
            let serial = common::crl::serial_of(&leaf);
            let bytes = inter_crl(
                &w,
                number,
                vec![
                    entry(&serial, Some(first), now() - 600),
                    entry(&serial, Some(second), now() - 300),
                ],
            );
            number += 1;
            assert!(openssl_parses(&bytes));
            w.import(&bytes).unwrap();
            let s = w.check(&leaf);
            assert_eq!(s.state, CertState::Revoked);
            assert_eq!(s.reason, Some(want), "{first} then {second}");
        }
    }
    // A hold and an entry without a reason: the definitive one wins.
    let leaf = w.leaf("Dr Hold", Alg::Ec, &[]);
    let serial = common::crl::serial_of(&leaf);
    for order in [[Some(HOLD), None], [None, Some(HOLD)]] {
        let bytes = inter_crl(
            &w,
            number,
            vec![
                entry(&serial, order[0], now() - 600),
                entry(&serial, order[1], now() - 300),
            ],
        );
        number += 1;
        w.import(&bytes).unwrap();
        let s = w.check(&leaf);
        assert_eq!(s.state, CertState::Revoked);
        assert_eq!(s.reason, None, "{order:?}");
    }
}

// --- A tampered cache ------------------------------------------------------

/// An issuing distribution point naming `uri` (a partitioned CRL).
fn idp(uri: &str) -> (String, bool, Vec<u8>) {
    let value = der(0x30, &der(0xa0, &der(0xa0, &der(0x86, uri.as_bytes()))));
    ("2.5.29.28".into(), true, value)
}

#[test]
fn editing_meta_json_never_widens_a_partitioned_crl() {
    let w = world();
    let part1 = "http://crl.example/part1.crl";
    let part2 = "http://crl.example/part2.crl";
    let inside = w.leaf("Dr Inside", Alg::Ec, &[part1]);
    let outside = w.leaf("Dr Outside", Alg::Ec, &[part2]);
    let mut spec = CrlSpec::fresh(1);
    spec.extensions.push(idp(part1));
    w.import(&crl(&spec, &w.inter, &w.inter_key)).unwrap();
    assert_eq!(w.check(&inside).state, CertState::Good);
    assert_eq!(w.check(&outside).state, CertState::Unknown);

    let meta_path = ca_dir(&w, &w.inter).join("meta.json");
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    assert_eq!(original["idp_urls"], serde_json::json!([part1]));
    for edit in [
        serde_json::json!([part1, part2]),
        serde_json::json!([part2]),
        serde_json::json!([]),
    ] {
        let mut meta = original.clone();
        meta["idp_urls"] = edit.clone();
        std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
        assert_eq!(w.check(&outside).state, CertState::Unknown, "{edit}");
        assert_eq!(w.check(&inside).state, CertState::Good, "{edit}");
    }
    // Removing the field altogether changes nothing either.
    let mut meta = original;
    meta.as_object_mut().unwrap().remove("idp_urls");
    std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
    assert_eq!(w.check(&outside).state, CertState::Unknown);
}

#[test]
fn editing_meta_json_never_makes_an_expired_crl_fresh() {
    let w = world();
    let leaf = w.leaf("Dr Expired", Alg::Ec, &[]);
    w.correspondent(&leaf);
    let mut spec = CrlSpec::fresh(1);
    spec.this_update = now() - 10 * 86_400;
    spec.next_update = Some(now() - 86_400);
    w.import(&crl(&spec, &w.inter, &w.inter_key)).unwrap();
    assert_eq!(w.crl_of(&w.inter).state, CrlState::Expired);
    assert_eq!(w.check(&leaf).state, CertState::Unknown);
    let meta_path = ca_dir(&w, &w.inter).join("meta.json");
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    meta["next_update"] = "2099-01-01T00:00:00Z".into();
    std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
    let e = w.crl_of(&w.inter);
    assert_eq!(e.state, CrlState::Expired, "{e:?}");
    assert!(e.next_update.unwrap().unix_timestamp() < now());
    assert_eq!(w.check(&leaf).state, CertState::Unknown);
    // Without its index, the cached CRL vouches for nothing.
    std::fs::remove_file(ca_dir(&w, &w.inter).join("index.bin")).unwrap();
    assert_eq!(w.crl_of(&w.inter).state, CrlState::Missing);
}

/// A fetcher that never reaches anything.
struct Offline;

impl Fetcher for Offline {
    fn fetch(
        &self,
        req: &Request,
        _progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Response, FetchError> {
        Err(FetchError::Connect {
            url: req.url.clone(),
            why: certsafe::domain::crl::fetch::ConnectFailure::NoRoute,
            detail: "offline".into(),
        })
    }
}

fn update_with(w: &World, fetcher: &dyn Fetcher, force: bool) -> UpdateReport {
    let mut options = UpdateOptions::at(now_dt());
    options.force = force;
    crl::update(&w.env(), fetcher, &options, &mut |_| {}).unwrap()
}

#[test]
fn a_tampered_index_is_refused_then_verified_again_from_the_cached_crl() {
    let w = world();
    let leaf = w.leaf("Dr Tampered", Alg::Ec, &["http://crl.invalid/inter.crl"]);
    w.correspondent(&leaf);
    let bytes = inter_crl(
        &w,
        1,
        vec![entry(&common::crl::serial_of(&leaf), Some(1), now() - 60)],
    );
    w.import(&bytes).unwrap();
    assert_eq!(w.check(&leaf).state, CertState::Revoked);
    let idx = ca_dir(&w, &w.inter).join("index.bin");
    let good = std::fs::read(&idx).unwrap();
    let tampered: Vec<Vec<u8>> = vec![
        {
            // The revoked serial's octets changed: the leaf would look good.
            let mut b = good.clone();
            let at = good.len() - 32 - 9 - 2;
            b[at] ^= 0x5a;
            b
        },
        good[..good.len() - 3].to_vec(),
        {
            // The format before the partition scope was authenticated.
            let mut b = good.clone();
            b[..8].copy_from_slice(b"CSCRLIX1");
            b
        },
    ];
    for (i, t) in tampered.iter().enumerate() {
        std::fs::write(&idx, t).unwrap();
        assert_eq!(w.check(&leaf).state, CertState::Unknown, "case {i}");
        // The next update verifies the cached CRL again and rebuilds the
        // index, even with every address unreachable.
        update_with(&w, &Offline, false);
        assert_eq!(w.check(&leaf).state, CertState::Revoked, "case {i}");
        assert_eq!(std::fs::read(&idx).unwrap().len(), good.len());
    }
    // A cached crl.der that was altered is not taken back.
    std::fs::write(&idx, &tampered[0]).unwrap();
    let der_path = ca_dir(&w, &w.inter).join("crl.der");
    let mut der_bytes = std::fs::read(&der_path).unwrap();
    let last = der_bytes.len() - 1;
    der_bytes[last] ^= 1;
    std::fs::write(&der_path, &der_bytes).unwrap();
    update_with(&w, &Offline, false);
    assert_eq!(w.check(&leaf).state, CertState::Unknown);
}

// --- The index key ---------------------------------------------------------

#[test]
fn threads_creating_the_index_key_at_once_share_one_key() {
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("crl-index.key");
        let n = 8;
        let barrier = Arc::new(Barrier::new(n));
        let keys: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..n)
                .map(|_| {
                    let barrier = barrier.clone();
                    let path = &path;
                    s.spawn(move || {
                        barrier.wait();
                        crl::cache::index_key(path).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(on_disk.len(), 32, "round {round}");
        assert!(keys.iter().all(|k| *k == on_disk), "round {round}");
        // Nothing but the key is left in its folder.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "round {round}: {names:?}");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn processes_creating_the_index_key_at_once_end_with_one_key_and_valid_indexes() {
    let w = world();
    let home_files = tempfile::tempdir().unwrap();
    // A fresh home for the CLI, with the same CAs and one revoked leaf.
    let home = common::Home::new();
    let cas = home_files.path().join("cas.pem");
    let mut pem = w.root.to_pem().unwrap();
    pem.extend(w.inter.to_pem().unwrap());
    std::fs::write(&cas, pem).unwrap();
    let out = home
        .cmd()
        .args(["ca", "import"])
        .arg(&cas)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let leaf = w.leaf("Dr Race", Alg::Ec, &[]);
    let leaf_pem = home_files.path().join("leaf.pem");
    std::fs::write(&leaf_pem, leaf.to_pem().unwrap()).unwrap();
    let inter = home_files.path().join("inter.crl");
    std::fs::write(
        &inter,
        inter_crl(
            &w,
            1,
            vec![entry(&common::crl::serial_of(&leaf), Some(1), now() - 60)],
        ),
    )
    .unwrap();
    let root = home_files.path().join("root.crl");
    std::fs::write(&root, crl(&CrlSpec::fresh(1), &w.root, &w.root_key)).unwrap();
    assert!(
        !certsafe::domain::home::Home::under(home.path())
            .index_key_file()
            .exists()
    );
    let children: Vec<_> = (0..4)
        .map(|i| {
            home.std_cmd()
                .args(["crl", "import"])
                .arg(if i % 2 == 0 { &inter } else { &root })
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let key_file = certsafe::domain::home::Home::under(home.path()).index_key_file();
    assert_eq!(std::fs::read(&key_file).unwrap().len(), 32);
    let out = home
        .cmd()
        .args(["check", "--json"])
        .arg(&leaf_pem)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["certificates"][0]["state"], "revoked", "{v}");
    assert_eq!(out.status.code(), Some(2));
}

// --- HTTP ------------------------------------------------------------------

type Routes = Arc<Mutex<HashMap<String, Reply>>>;

fn server() -> (Server, Routes) {
    let routes: Routes = Arc::new(Mutex::new(HashMap::new()));
    let r2 = routes.clone();
    let server = Server::start(move |req: &Seen| {
        r2.lock()
            .unwrap()
            .get(&req.target)
            .cloned()
            .unwrap_or(Reply::Status(404))
    });
    (server, routes)
}

fn http_world() -> World {
    let mut w = World::new(Alg::Ec, &[]);
    w.config.crl.connect_timeout_secs = 2;
    w.config.crl.read_timeout_secs = 2;
    w.config.crl.total_timeout_secs = 5;
    w.trust(&[&w.inter]);
    w
}

fn http_update(w: &World, force: bool) -> UpdateReport {
    let env = w.env();
    let fetcher = HttpFetcher::new(Limits::from_policy(&env.policy)).unwrap();
    let mut options = UpdateOptions::at(now_dt());
    options.force = force;
    crl::update(&env, &fetcher, &options, &mut |_| {}).unwrap()
}

fn report_of(w: &World, report: &UpdateReport) -> crl::SlotReport {
    let fp = common::fp(&w.inter);
    report
        .crls
        .iter()
        .find(|r| r.ca_fingerprint.as_deref() == Some(fp.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("no report for the intermediate: {report:?}"))
}

#[test]
fn not_modified_with_nothing_cached_is_a_failure() {
    let (server, routes) = server();
    let w = http_world();
    let url = server.url("/inter.crl");
    let leaf = w.leaf("Dr 304", Alg::Ec, &[&url]);
    w.correspondent(&leaf);
    // Never fetched, and the server says 304.
    routes
        .lock()
        .unwrap()
        .insert("/inter.crl".into(), Reply::NotModified);
    let report = http_update(&w, false);
    let r = report_of(&w, &report);
    assert_eq!(r.outcome, Outcome::Unreachable, "{r:?}");
    assert!(report.failed());
    assert_eq!(w.crl_of(&w.inter).state, CrlState::Unreachable);
    assert_eq!(w.check(&leaf).state, CertState::Unknown);

    // A copy was cached with an ETag, then the cache lost it: a 304 to the
    // conditional GET confirms nothing.
    let good = inter_crl(&w, 7, vec![]);
    routes.lock().unwrap().insert(
        "/inter.crl".into(),
        Reply::Ok {
            body: good,
            etag: Some("\"v1\"".into()),
            last_modified: None,
            content_type: "application/pkix-crl",
        },
    );
    assert_eq!(
        report_of(&w, &http_update(&w, true)).outcome,
        Outcome::Updated
    );
    assert_eq!(w.check(&leaf).state, CertState::Good);
    let dir = ca_dir(&w, &w.inter);
    std::fs::remove_file(dir.join("index.bin")).unwrap();
    std::fs::remove_file(dir.join("crl.der")).unwrap();
    routes
        .lock()
        .unwrap()
        .insert("/inter.crl".into(), Reply::NotModified);
    let report = http_update(&w, false);
    let seen = server.seen();
    assert_eq!(
        seen.last().unwrap().header("if-none-match"),
        Some("\"v1\""),
        "the conditional GET was sent"
    );
    let r = report_of(&w, &report);
    assert_eq!(r.outcome, Outcome::Unreachable, "{r:?}");
    assert_ne!(w.crl_of(&w.inter).state, CrlState::Fresh);
    assert_eq!(w.check(&leaf).state, CertState::Unknown);
}

#[test]
fn a_cache_that_cannot_be_written_is_not_blamed_on_the_crl() {
    let (server, routes) = server();
    let w = http_world();
    let url = server.url("/inter.crl");
    let leaf = w.leaf("Dr Cache", Alg::Ec, &[&url]);
    w.correspondent(&leaf);
    routes
        .lock()
        .unwrap()
        .insert("/inter.crl".into(), Reply::crl(inter_crl(&w, 1, vec![])));
    assert_eq!(
        report_of(&w, &http_update(&w, false)).outcome,
        Outcome::Updated
    );
    // The index cannot be replaced (a folder is in the way: this holds for
    // root too, unlike a read-only mode).
    let dir = ca_dir(&w, &w.inter);
    let idx = dir.join("index.bin");
    std::fs::remove_file(&idx).unwrap();
    std::fs::create_dir(&idx).unwrap();
    std::fs::write(idx.join("blocker"), b"x").unwrap();
    let revoking = inter_crl(
        &w,
        2,
        vec![entry(&common::crl::serial_of(&leaf), Some(1), now() - 60)],
    );
    routes
        .lock()
        .unwrap()
        .insert("/inter.crl".into(), Reply::crl(revoking.clone()));
    let report = http_update(&w, true);
    let r = report_of(&w, &report);
    assert_eq!(r.outcome, Outcome::CacheError, "{r:?}");
    assert!(report.failed());
    let e = w.crl_of(&w.inter);
    assert_ne!(e.state, CrlState::Invalid, "{e:?}");
    assert_eq!(
        e.last_fetch.as_ref().map(|l| l.outcome.as_str()),
        Some("cache_error")
    );
    // Never "good" on the strength of a cache that could not be written.
    assert_eq!(w.check(&leaf).state, CertState::Unknown);
    // `crl import` of the same CRL: a cache error, not a rejection.
    match w.import(&revoking) {
        Err(CrlError::Io { .. }) => {}
        other => panic!("expected a cache error, got {other:?}"),
    }
    assert_ne!(w.crl_of(&w.inter).state, CrlState::Invalid);
    // Once the way is clear, the same CRL is accepted.
    std::fs::remove_dir_all(&idx).unwrap();
    assert!(matches!(w.import(&revoking), Ok(Accepted::Updated(_))));
    assert_eq!(w.check(&leaf).state, CertState::Revoked);
}

#[test]
fn a_second_address_is_tried_after_an_invalid_crl() {
    let (server, routes) = server();
    let w = http_world();
    let first = server.url("/first.crl");
    let second = server.url("/second.crl");
    let leaf = w.leaf("Dr Two Addresses", Alg::Ec, &[&first, &second]);
    w.correspondent(&leaf);
    let revoking = inter_crl(
        &w,
        3,
        vec![entry(&common::crl::serial_of(&leaf), Some(1), now() - 60)],
    );
    let forged = crl(
        &CrlSpec::fresh(4),
        &w.inter,
        &common::key(Alg::Ec), // same name, another key
    );
    // The root is trusted too: its CRL is valid, but not the intermediate's.
    w.trust(&[&w.root]);
    let roots = crl(&CrlSpec::fresh(1), &w.root, &w.root_key);
    let invalid_bodies = [
        b"<html>maintenance</html>".to_vec(),
        forged,
        revoking[..revoking.len() / 2].to_vec(),
        roots,
    ];
    for (i, body) in invalid_bodies.into_iter().enumerate() {
        {
            let mut r = routes.lock().unwrap();
            r.insert("/first.crl".into(), Reply::crl(body));
            r.insert("/second.crl".into(), Reply::crl(revoking.clone()));
        }
        let report = http_update(&w, true);
        let r = report_of(&w, &report);
        assert!(
            matches!(r.outcome, Outcome::Updated | Outcome::Unchanged),
            "case {i}: {r:?}"
        );
        assert_eq!(r.url.as_deref(), Some(second.as_str()), "case {i}");
        assert!(!report.failed(), "case {i}");
        assert_eq!(w.check(&leaf).state, CertState::Revoked, "case {i}");
        assert_eq!(w.crl_of(&w.inter).state, CrlState::Fresh, "case {i}");
    }
    // Both addresses were asked each time.
    let targets: Vec<String> = server.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(
        targets
            .iter()
            .filter(|t| t.as_str() == "/first.crl")
            .count(),
        4
    );
    assert_eq!(
        targets
            .iter()
            .filter(|t| t.as_str() == "/second.crl")
            .count(),
        4
    );
}

// --- FIFOs and devices -----------------------------------------------------

fn fifo(dir: &Path) -> PathBuf {
    let p = dir.join("pipe.crl");
    let st = std::process::Command::new("mkfifo")
        .arg(&p)
        .status()
        .unwrap();
    assert!(st.success());
    p
}

/// Runs `f` on a thread and fails if it takes more than 5 seconds.
fn fast<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    let start = Instant::now();
    let out = rx
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| panic!("{what} hangs"));
    assert!(start.elapsed() < Duration::from_secs(5));
    out
}

#[test]
fn crl_import_of_a_fifo_or_a_device_fails_at_once() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let pipe = fifo(dir.path());
    for path in [pipe, PathBuf::from("/dev/zero")] {
        let env = w.env();
        let p = path.clone();
        let result = fast("crl import", move || {
            crl::import_file(&env, &p, now_dt()).map(|_| ())
        });
        assert!(
            matches!(result, Err(CrlError::ReadFile { .. })),
            "{path:?}: {result:?}"
        );
    }
    // FIFOs in the cache itself (the lock, the index): no wait either.
    let cache = w.home.crl_cache_dir();
    let good = dir.path().join("good.crl");
    std::fs::write(&good, inter_crl(&w, 5, vec![])).unwrap();
    std::fs::remove_file(cache.join(".lock")).unwrap();
    let st = std::process::Command::new("mkfifo")
        .arg(cache.join(".lock"))
        .status()
        .unwrap();
    assert!(st.success());
    let env = w.env();
    let g = good.clone();
    let result = fast("the lock", move || {
        crl::import_file(&env, &g, now_dt()).map(|_| ())
    });
    assert!(matches!(result, Err(CrlError::Io { .. })), "{result:?}");
    std::fs::remove_file(cache.join(".lock")).unwrap();
    w.import(&std::fs::read(&good).unwrap()).unwrap();
    let leaf = w.leaf("Dr Fifo", Alg::Ec, &[]);
    let idx = ca_dir(&w, &w.inter).join("index.bin");
    std::fs::remove_file(&idx).unwrap();
    let st = std::process::Command::new("mkfifo")
        .arg(&idx)
        .status()
        .unwrap();
    assert!(st.success());
    let env = w.env();
    let state = fast("check with a FIFO index", move || {
        let mut c = crl::check::Checker::new(&env, now_dt()).unwrap();
        c.check(&leaf).state
    });
    assert_eq!(state, CertState::Unknown);

    // A file over the cap is refused before it is read.
    let mut w2 = world();
    w2.config.crl.max_bytes = 1024;
    let big = dir.path().join("big.crl");
    std::fs::write(&big, vec![0x30; 4096]).unwrap();
    let env = w2.env();
    assert!(matches!(
        crl::import_file(&env, &big, now_dt()),
        Err(CrlError::Rejected { .. })
    ));
}

#[test]
fn the_cli_refuses_a_fifo_and_dev_zero_at_once() {
    let home = common::Home::new();
    let dir = tempfile::tempdir().unwrap();
    let pipe = fifo(dir.path());
    for path in [pipe, PathBuf::from("/dev/zero")] {
        let mut cmd = home.std_cmd();
        cmd.args(["crl", "import"]).arg(&path);
        let out = fast("certsafe crl import", move || cmd.output().unwrap());
        assert_eq!(out.status.code(), Some(1), "{path:?}: {out:?}");
    }
}

#[test]
fn a_file_url_naming_a_fifo_or_a_device_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = fifo(dir.path());
    let mut policy = certsafe::config::Config::default().crl;
    policy.proxy = "none".into();
    for path in [pipe, PathBuf::from("/dev/zero")] {
        let limits = Limits::from_policy(&policy);
        let url = url::Url::from_file_path(&path).unwrap().to_string();
        let result = fast("file:// fetch", move || {
            let fetcher = HttpFetcher::new(limits).unwrap();
            fetcher.fetch(
                &Request {
                    url,
                    etag: None,
                    last_modified: None,
                },
                &mut |_, _| {},
            )
        });
        assert!(
            matches!(result, Err(FetchError::File { .. })),
            "{path:?}: {result:?}"
        );
    }
}

/// An older, validly signed CRL (a replay over plain HTTP) is refused even
/// when meta.json, which only describes, was edited or deleted: the newest
/// date comes from the authenticated index too (found by a review).
#[test]
fn a_replayed_older_crl_is_refused_whatever_meta_json_says() {
    let w = world();
    let leaf = w.leaf("Dr Replay", Alg::Ec, &[]);
    w.correspondent(&leaf);
    let mut old = CrlSpec::fresh(1);
    old.this_update = now() - 2 * 3600;
    let mut new = CrlSpec::fresh(2);
    new.this_update = now() - 3600;
    let new = new.revoking(vec![Revoked::cert(&leaf, now() - 3600, Some(1))]);
    let old_der = crl(&old, &w.inter, &w.inter_key);
    w.import(&crl(&new, &w.inter, &w.inter_key)).unwrap();
    assert_eq!(w.check(&leaf).state, CertState::Revoked);
    let meta_path = ca_dir(&w, &w.inter).join("meta.json");
    for tamper in ["edit", "delete"] {
        if tamper == "edit" {
            let mut meta: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
            meta["this_update"] = "2000-01-01T00:00:00Z".into();
            meta["crl_number"] = serde_json::Value::Null;
            std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
        } else {
            let _ = std::fs::remove_file(&meta_path);
        }
        // Refused by the authenticated CRL number (index v3) before the date.
        assert!(
            matches!(
                w.rejection(&old_der),
                Rejection::Older { .. } | Rejection::NumberBackwards { .. }
            ),
            "{tamper}"
        );
        assert_eq!(w.check(&leaf).state, CertState::Revoked, "{tamper}");
    }
}
