//! `crl update` against a real HTTP server on 127.0.0.1 in this process,
//! through the real reqwest fetcher: 200 then 304 (`ETag`, `Last-Modified`),
//! redirects (chain followed, loop and too many refused), 404 and 500, a
//! stalled server, a body over the cap, a connection cut mid-body, HTML
//! instead of a CRL. Each gives the documented state and the cached copy is
//! never lost.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use certsafe::domain::crl::check::CertState;
use certsafe::domain::crl::fetch::{HttpFetcher, Limits};
use certsafe::domain::crl::{self, CrlProgress, CrlState, Outcome, UpdateOptions, UpdateReport};
use certsafe::domain::time::now;
use common::Alg;
use common::crl::{CrlSpec, Revoked, World, crl};
use common::http::{Reply, Seen, Server};

type Routes = Arc<Mutex<HashMap<String, Reply>>>;

struct Bed {
    world: World,
    server: Server,
    routes: Routes,
    leaf: openssl::x509::X509,
    good: Vec<u8>,
}

fn path_of(target: &str) -> String {
    // Through a proxy the target is an absolute URI.
    match target.find("://") {
        Some(i) => {
            let rest = &target[i + 3..];
            rest.find('/')
                .map_or_else(|| "/".into(), |p| rest[p..].to_string())
        }
        None => target.to_string(),
    }
}

/// The intermediate (trusted alone) publishes at /inter.crl; one
/// correspondent whose CRL it is; a good CRL revoking the leaf is served
/// first.
fn bed() -> Bed {
    let routes: Routes = Arc::new(Mutex::new(HashMap::new()));
    let r2 = routes.clone();
    let server = Server::start(move |req: &Seen| {
        r2.lock()
            .unwrap()
            .get(&path_of(&req.target))
            .cloned()
            .unwrap_or(Reply::Status(404))
    });
    let mut world = World::new(Alg::Ec, &[]);
    world.config.crl.connect_timeout_secs = 2;
    world.config.crl.read_timeout_secs = 1;
    world.config.crl.total_timeout_secs = 3;
    world.config.crl.max_bytes = 256 * 1024;
    world.trust(&[&world.inter]);
    let url = server.url("/inter.crl");
    let leaf = world.leaf(
        "Dr Http",
        Alg::Ec,
        &[
            &url,
            "ldap://annuaire.example/cn=x?certificateRevocationList",
        ],
    );
    world.correspondent(&leaf);
    let good = crl(
        &CrlSpec::fresh(7).revoking(vec![Revoked::cert(&leaf, common::crl::now() - 60, Some(1))]),
        &world.inter,
        &world.inter_key,
    );
    Bed {
        world,
        server,
        routes,
        leaf,
        good,
    }
}

impl Bed {
    fn serve(&self, path: &str, reply: Reply) {
        self.routes.lock().unwrap().insert(path.into(), reply);
    }

    fn update_with(&self, force: bool, progress: &mut dyn FnMut(CrlProgress)) -> UpdateReport {
        let env = self.world.env();
        let fetcher = HttpFetcher::new(Limits::from_policy(&env.policy)).unwrap();
        let mut options = UpdateOptions::at(now());
        options.force = force;
        crl::update(&env, &fetcher, &options, progress).unwrap()
    }

    fn update(&self, force: bool) -> UpdateReport {
        self.update_with(force, &mut |_| {})
    }

    fn only(&self, report: &UpdateReport) -> crl::SlotReport {
        let fp = common::fp(&self.world.inter);
        report
            .crls
            .iter()
            .find(|r| r.ca_fingerprint.as_deref() == Some(fp.as_str()))
            .cloned()
            .unwrap_or_else(|| panic!("no report for the intermediate: {report:?}"))
    }

    /// A first good download, so later failures have a cached copy to keep.
    fn prime(&self) {
        self.serve("/inter.crl", Reply::crl(self.good.clone()));
        let r = self.only(&self.update(false));
        assert_eq!(r.outcome, Outcome::Updated, "{r:?}");
        assert_eq!(self.world.check(&self.leaf).state, CertState::Revoked);
    }

    /// After a failure: the documented state, and the cached copy still there and used.
    fn assert_kept(&self, state: CrlState, words: &str) {
        let e = self.world.crl_of(&self.world.inter);
        assert_eq!(e.state, state, "{e:?}");
        assert!(
            e.reason.as_deref().unwrap_or("").contains(words),
            "{words:?} not in {:?}",
            e.reason
        );
        assert_eq!(
            e.crl_number.as_deref(),
            Some("07"),
            "cached copy lost: {e:?}"
        );
        assert_eq!(e.entries, Some(1));
        assert_eq!(self.world.check(&self.leaf).state, CertState::Revoked);
    }

    fn fail_with(&self, reply: Reply) -> crl::SlotReport {
        self.serve("/inter.crl", reply);
        self.only(&self.update(true))
    }
}

#[test]
fn ok_then_not_due_then_304_with_etag() {
    let b = bed();
    b.serve(
        "/inter.crl",
        Reply::Ok {
            body: b.good.clone(),
            etag: Some("\"v1\"".into()),
            last_modified: None,
            content_type: "application/pkix-crl",
        },
    );
    let mut events = Vec::new();
    let r = b.only(&b.update_with(false, &mut |p| events.push(p)));
    assert_eq!(r.outcome, Outcome::Updated);
    assert_eq!(r.entries, Some(1));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, CrlProgress::Started { .. }))
    );
    assert!(events.iter().any(|e| matches!(e, CrlProgress::Finished(_))));
    let first = b.server.seen();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].header("connection"), Some("close"));
    assert_eq!(first[0].header("if-none-match"), None);
    // The LDAP address is a source too, tried only when HTTP fails.
    let e = b.world.crl_of(&b.world.inter);
    assert_eq!(e.state, CrlState::Fresh);
    let ldap = e.urls.iter().find(|u| u.url.starts_with("ldap:")).unwrap();
    assert!(ldap.fetched);
    assert_eq!(ldap.note, None);

    // Fresh and just confirmed: no download at all.
    let r = b.only(&b.update(false));
    assert_eq!(r.outcome, Outcome::NotDue);
    assert_eq!(b.server.seen().len(), 1);

    // Past the refresh interval: a conditional GET, answered 304.
    b.serve("/inter.crl", Reply::NotModified);
    let mut w = b.world.config.clone();
    w.crl.refresh_hours = 0;
    let env = certsafe::domain::crl::Env::new(&b.world.home, &w);
    let fetcher = HttpFetcher::new(Limits::from_policy(&env.policy)).unwrap();
    let report = crl::update(&env, &fetcher, &UpdateOptions::at(now()), &mut |_| {}).unwrap();
    assert_eq!(b.only(&report).outcome, Outcome::NotModified);
    let seen = b.server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].header("if-none-match"), Some("\"v1\""));
    assert_eq!(b.world.crl_of(&b.world.inter).state, CrlState::Fresh);
    assert_eq!(b.world.check(&b.leaf).state, CertState::Revoked);
}

#[test]
fn not_modified_with_last_modified() {
    let b = bed();
    let lm = "Tue, 24 Nov 2026 07:00:00 GMT";
    b.serve(
        "/inter.crl",
        Reply::Ok {
            body: b.good.clone(),
            etag: None,
            last_modified: Some(lm.into()),
            content_type: "application/pkix-crl",
        },
    );
    assert_eq!(b.only(&b.update(false)).outcome, Outcome::Updated);
    b.serve("/inter.crl", Reply::NotModified);
    let mut config = b.world.config.clone();
    config.crl.refresh_hours = 0;
    let env = certsafe::domain::crl::Env::new(&b.world.home, &config);
    let fetcher = HttpFetcher::new(Limits::from_policy(&env.policy)).unwrap();
    let report = crl::update(&env, &fetcher, &UpdateOptions::at(now()), &mut |_| {}).unwrap();
    assert_eq!(b.only(&report).outcome, Outcome::NotModified);
    assert_eq!(b.server.seen()[1].header("if-modified-since"), Some(lm));
    // --force downloads in full, without validators.
    b.serve("/inter.crl", Reply::crl(b.good.clone()));
    let r = b.only(&b.update(true));
    assert_eq!(r.outcome, Outcome::Unchanged);
    assert_eq!(b.server.seen()[2].header("if-modified-since"), None);
}

#[test]
fn a_redirect_chain_is_followed_a_loop_and_a_long_chain_refused() {
    let b = bed();
    b.serve("/inter.crl", Reply::Redirect(b.server.url("/r2")));
    b.serve("/r2", Reply::Redirect("/r3".into()));
    b.serve("/r3", Reply::Redirect(b.server.url("/final.crl")));
    b.serve("/final.crl", Reply::crl(b.good.clone()));
    let r = b.only(&b.update(false));
    assert_eq!(r.outcome, Outcome::Updated, "{r:?}");
    assert_eq!(b.server.seen().len(), 4);

    b.serve("/inter.crl", Reply::Redirect("/loop".into()));
    b.serve("/loop", Reply::Redirect("/inter.crl".into()));
    let r = b.only(&b.update(true));
    assert_eq!(r.outcome, Outcome::Unreachable);
    b.assert_kept(CrlState::Unreachable, "redirect");

    b.serve("/inter.crl", Reply::Redirect("/a2".into()));
    b.serve("/a2", Reply::Redirect("/a3".into()));
    b.serve("/a3", Reply::Redirect("/a4".into()));
    b.serve("/a4", Reply::Redirect("/final.crl".into()));
    let before = b.server.seen().len();
    let r = b.only(&b.update(true));
    assert_eq!(r.outcome, Outcome::Unreachable);
    assert_eq!(
        b.server.seen().len() - before,
        4,
        "at most 3 redirects followed"
    );
    b.assert_kept(CrlState::Unreachable, "redirect");
}

#[test]
fn not_found_and_server_error() {
    let b = bed();
    b.prime();
    let r = b.fail_with(Reply::Status(404));
    assert_eq!(r.outcome, Outcome::Unreachable);
    b.assert_kept(CrlState::Unreachable, "404");
    let r = b.fail_with(Reply::Status(500));
    assert_eq!(r.outcome, Outcome::Unreachable);
    b.assert_kept(CrlState::Unreachable, "500");
    // Back to normal: the state recovers.
    b.serve("/inter.crl", Reply::crl(b.good.clone()));
    assert_eq!(b.only(&b.update(true)).outcome, Outcome::Unchanged);
    assert_eq!(b.world.crl_of(&b.world.inter).state, CrlState::Fresh);
}

#[test]
fn a_stalled_server_times_out() {
    let b = bed();
    b.prime();
    let start = Instant::now();
    let r = b.fail_with(Reply::Stall(Duration::from_secs(8)));
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(r.outcome, Outcome::Unreachable);
    b.assert_kept(CrlState::Unreachable, "in time");
    // Stalling after part of the body: the read timeout.
    let start = Instant::now();
    let r = b.fail_with(Reply::StallMidBody {
        body: b.good.clone(),
        sent: 100,
        stall: Duration::from_secs(8),
    });
    assert!(start.elapsed() < Duration::from_secs(6));
    assert_eq!(r.outcome, Outcome::Unreachable);
    b.assert_kept(CrlState::Unreachable, "");
    // Trickling a byte now and then: the total timeout (3 s).
    let start = Instant::now();
    let r = b.fail_with(Reply::Trickle {
        len: 10_000,
        chunk: 10,
        every: Duration::from_millis(300),
    });
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(6),
        "{took:?}"
    );
    assert_eq!(r.outcome, Outcome::Unreachable);
    b.assert_kept(CrlState::Unreachable, "in time");
}

#[test]
fn a_body_over_the_cap_is_stopped() {
    let b = bed();
    b.prime();
    // Announced too large.
    let r = b.fail_with(Reply::crl(vec![0x30; 300 * 1024]));
    assert_eq!(r.outcome, Outcome::Unreachable);
    b.assert_kept(CrlState::Unreachable, "larger than 262144 bytes");
    // Not announced: stopped while streaming.
    let r = b.fail_with(Reply::Unsized { len: 2 << 20 });
    assert_eq!(r.outcome, Outcome::Unreachable);
    b.assert_kept(CrlState::Unreachable, "larger than");
}

#[test]
fn a_connection_cut_mid_body() {
    let b = bed();
    b.prime();
    let r = b.fail_with(Reply::Cut {
        body: b.good.clone(),
        sent: b.good.len() / 2,
    });
    assert_eq!(r.outcome, Outcome::Unreachable, "{r:?}");
    b.assert_kept(CrlState::Unreachable, "broke");
}

#[test]
fn html_instead_of_a_crl_is_invalid() {
    let b = bed();
    b.prime();
    let r = b.fail_with(Reply::Ok {
        body: b"<!DOCTYPE html><html><body>Maintenance</body></html>".to_vec(),
        etag: Some("\"html\"".into()),
        last_modified: None,
        content_type: "text/html",
    });
    assert_eq!(r.outcome, Outcome::Invalid);
    b.assert_kept(CrlState::Invalid, "not a CRL");
    // A forged CRL served by the same address: invalid too, never good.
    let forged = crl(&CrlSpec::fresh(8), &b.world.inter, &common::key(Alg::Ec));
    let r = b.fail_with(Reply::crl(forged));
    assert_eq!(r.outcome, Outcome::Invalid);
    b.assert_kept(CrlState::Invalid, "signature");
}

#[test]
fn first_fetch_failing_leaves_the_crl_unreachable_and_certificates_unknown() {
    let b = bed();
    let r = b.fail_with(Reply::Status(503));
    assert_eq!(r.outcome, Outcome::Unreachable);
    let e = b.world.crl_of(&b.world.inter);
    assert_eq!(e.state, CrlState::Unreachable);
    assert_eq!(e.this_update, None);
    assert_eq!(b.world.check(&b.leaf).state, CertState::Unknown);
}

#[test]
fn configured_and_file_urls_and_a_worker_thread() {
    // A configured URL served by the root, and a file:// CRL for the intermediate.
    let routes: Routes = Arc::new(Mutex::new(HashMap::new()));
    let r2 = routes.clone();
    let server = Server::start(move |req: &Seen| {
        r2.lock()
            .unwrap()
            .get(&path_of(&req.target))
            .cloned()
            .unwrap_or(Reply::Status(404))
    });
    let mut w = World::new(Alg::Rsa, &[]);
    w.trust(&[&w.root, &w.inter]);
    let leaf = w.leaf("Dr File", Alg::Rsa, &[]);
    w.correspondent(&leaf);
    let file = w.dir.path().join("inter.crl");
    std::fs::write(&file, crl(&CrlSpec::fresh(1), &w.inter, &w.inter_key)).unwrap();
    routes.lock().unwrap().insert(
        "/root.crl".into(),
        Reply::crl(crl(&CrlSpec::fresh(1), &w.root, &w.root_key)),
    );
    w.config.crl.extra_urls = vec![
        server.url("/root.crl"),
        format!("file://{}", file.display()),
    ];
    let env = w.env();
    // The domain API from a worker thread, as the TUI will call it.
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let fetcher = HttpFetcher::new(Limits::from_policy(&env.policy)).unwrap();
        crl::update(&env, &fetcher, &UpdateOptions::at(now()), &mut |p| {
            let _ = tx.send(format!("{p:?}"));
        })
        .unwrap()
    });
    let report = handle.join().unwrap();
    let events: Vec<String> = rx.iter().collect();
    assert!(events.iter().any(|e| e.starts_with("Finished")));
    assert!(!report.failed(), "{report:?}");
    assert_eq!(
        report
            .crls
            .iter()
            .filter(|r| r.outcome == Outcome::Updated)
            .count(),
        2,
        "{report:?}"
    );
    assert_eq!(w.check(&leaf).state, CertState::Good);
    // Both configured URLs are now listed under their CA.
    assert!(
        w.crl_of(&w.root)
            .urls
            .iter()
            .any(|u| u.url.ends_with("/root.crl"))
    );
    assert!(
        w.crl_of(&w.inter)
            .urls
            .iter()
            .any(|u| u.url.starts_with("file://"))
    );
    drop(server);
}

#[test]
fn the_lock_keeps_two_updates_apart() {
    let b = bed();
    b.serve("/inter.crl", Reply::crl(b.good.clone()));
    let env = b.world.env();
    let cache = env.cache();
    let held = cache.lock(Duration::from_secs(1), &mut || {}).unwrap();
    let fetcher = HttpFetcher::new(Limits::from_policy(&env.policy)).unwrap();
    let mut options = UpdateOptions::at(now());
    options.lock_wait = Duration::from_millis(300);
    let mut waited = false;
    let err = crl::update(&env, &fetcher, &options, &mut |p| {
        waited |= matches!(p, CrlProgress::WaitingForLock);
    })
    .unwrap_err();
    assert!(waited);
    assert!(err.to_string().contains("another CRL update"), "{err}");
    drop(held);
    // Two at once: both finish, the cache is whole.
    let envs = [b.world.env(), b.world.env()];
    std::thread::scope(|s| {
        for env in &envs {
            s.spawn(move || {
                let fetcher = HttpFetcher::new(Limits::from_policy(&env.policy)).unwrap();
                let mut o = UpdateOptions::at(now());
                o.force = true;
                crl::update(env, &fetcher, &o, &mut |_| {}).unwrap();
            });
        }
    });
    assert_eq!(b.world.crl_of(&b.world.inter).state, CrlState::Fresh);
    assert_eq!(b.world.check(&b.leaf).state, CertState::Revoked);
}

#[test]
fn a_failed_download_keeps_the_validators_of_the_cached_copy() {
    let b = bed();
    b.serve(
        "/inter.crl",
        Reply::Ok {
            body: b.good.clone(),
            etag: Some("\"v9\"".into()),
            last_modified: None,
            content_type: "application/pkix-crl",
        },
    );
    assert_eq!(b.only(&b.update(false)).outcome, Outcome::Updated);
    assert_eq!(
        b.fail_with(Reply::Status(500)).outcome,
        Outcome::Unreachable
    );
    // The last attempt failed, so the next run asks again, conditionally.
    b.serve("/inter.crl", Reply::NotModified);
    let r = b.only(&b.update(false));
    assert_eq!(r.outcome, Outcome::NotModified);
    let seen = b.server.seen();
    assert_eq!(seen.last().unwrap().header("if-none-match"), Some("\"v9\""));
    assert_eq!(b.world.crl_of(&b.world.inter).state, CrlState::Fresh);
}
