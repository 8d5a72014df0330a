//! LDAP CRLs and correspondents from a directory, against a real `OpenLDAP`
//! `slapd` on 127.0.0.1 (tests/common/slapd.rs) and fake directories that
//! never answer: `crl update` fetches a CRL named only by an LDAP address,
//! falls back from a dead HTTP address to LDAP, and a hostile directory
//! (huge attribute, silent or trickling server, referral, CRL of another CA)
//! never makes a certificate `good` and never hangs. `correspondent lookup`
//! imports what chains to a trusted CA and says what it skipped.
#![allow(clippy::unwrap_used)]

mod common;

use std::fmt::Write as _;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use certsafe::domain::crl::cache::Cause;
use certsafe::domain::crl::check::CertState;
use certsafe::domain::crl::fetch::{FetchError, Fetcher, Limits, Request, Response};
use certsafe::domain::crl::ldap::{ChannelFetcher, LdapFetcher};
use certsafe::domain::crl::{self, CrlState, Outcome, SlotReport, UpdateOptions};
use certsafe::domain::ldap::DirectoryError;
use certsafe::domain::time::now;
use common::Alg;
use common::crl::{CrlSpec, Revoked, World, crl};
use common::slapd::{Fake, Mute, SUFFIX, Slapd};
use openssl::x509::X509;

/// Runs `f` on a thread; fails if it takes 30 s or more (a hang).
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    let out = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("did not return within 30 s");
    assert!(start.elapsed() < Duration::from_secs(30));
    out
}

/// The DN where the intermediate's CRL is published, and its URL in the
/// IGC-Santé form (percent-encoded DN, attribute, scope, filter).
const CA_DN: &str = "cn=CRL TEST INTERMEDIATE,ou=PKI,o=test";

fn crl_url(slapd_url: &str, attr: &str) -> String {
    format!("{slapd_url}/cn=CRL%20TEST%20INTERMEDIATE,ou=PKI,o=test?{attr}?base?objectClass=pkiCA")
}

fn publish_ca(slapd: &Slapd, dn: &str, crl_der: &[u8], delta: Option<&[u8]>) {
    let file = slapd.file(&format!("crl-{}.der", dn.len()), crl_der);
    let mut ldif = format!(
        "dn: {dn}\nobjectClass: applicationProcess\nobjectClass: pkiCA\nobjectClass: deltaCRL\ncn: {}\ncertificateRevocationList;binary:< {file}\n",
        dn.split(',').next().unwrap().trim_start_matches("cn=")
    );
    if let Some(d) = delta {
        let dfile = slapd.file("delta.der", d);
        writeln!(ldif, "deltaRevocationList;binary:< {dfile}").unwrap();
    }
    slapd.add(&ldif);
}

fn ou(slapd: &Slapd, name: &str) {
    slapd.add(&format!(
        "dn: ou={name},{SUFFIX}\nobjectClass: organizationalUnit\nou: {name}\n"
    ));
}

fn world() -> World {
    let mut world = World::new(Alg::Ec, &[]);
    world.config.crl.connect_timeout_secs = 2;
    world.config.crl.read_timeout_secs = 2;
    world.config.crl.total_timeout_secs = 4;
    world.config.crl.max_bytes = 64 * 1024;
    world.trust(&[&world.inter]);
    world
}

fn update(world: &World) -> Vec<SlotReport> {
    let env = world.env();
    let fetcher = ChannelFetcher::new(Limits::from_policy(&env.policy)).unwrap();
    crl::update(&env, &fetcher, &UpdateOptions::at(now()), &mut |_| {})
        .unwrap()
        .crls
}

fn report_of(reports: &[SlotReport], ca: &X509) -> SlotReport {
    let fp = common::fp(ca);
    reports
        .iter()
        .find(|r| r.ca_fingerprint.as_deref() == Some(fp.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("no report for {fp}: {reports:?}"))
}

#[test]
fn a_ca_named_only_by_ldap_is_fetched_and_verdicts_are_right() {
    if !common::slapd::slapd_or_skip() {
        return;
    }
    let slapd = Slapd::start();
    ou(&slapd, "PKI");
    let world = world();
    let url = crl_url(&slapd.url(), "certificateRevocationList;binary");
    let revoked = world.leaf("Dr Revoked", Alg::Ec, &[&url]);
    let good = world.leaf("Dr Good", Alg::Ec, &[&url]);
    world.correspondent(&revoked);
    world.correspondent(&good);
    let der = crl(
        &CrlSpec::fresh(3).revoking(vec![Revoked::cert(
            &revoked,
            common::crl::now() - 60,
            Some(1),
        )]),
        &world.inter,
        &world.inter_key,
    );
    publish_ca(&slapd, CA_DN, &der, None);
    // The address is listed as fetched now.
    let e = world.crl_of(&world.inter);
    let info = e.urls.iter().find(|u| u.url == url).unwrap();
    assert!(info.fetched);
    assert_eq!(info.note, None);

    let r = report_of(&update(&world), &world.inter);
    assert_eq!(r.outcome, Outcome::Updated, "{r:?}");
    assert_eq!(r.url.as_deref(), Some(url.as_str()));
    assert_eq!(r.entries, Some(1));
    assert_eq!(world.crl_of(&world.inter).state, CrlState::Fresh);
    assert_eq!(world.check(&revoked).state, CertState::Revoked);
    assert_eq!(world.check(&good).state, CertState::Good);
    // Fresh and just confirmed: not fetched again.
    let r = report_of(&update(&world), &world.inter);
    assert_eq!(r.outcome, Outcome::NotDue);
    // Forced: fetched again, the same CRL.
    let env = world.env();
    let fetcher = ChannelFetcher::new(Limits::from_policy(&env.policy)).unwrap();
    let mut options = UpdateOptions::at(now());
    options.force = true;
    let reports = crl::update(&env, &fetcher, &options, &mut |_| {})
        .unwrap()
        .crls;
    assert_eq!(
        report_of(&reports, &world.inter).outcome,
        Outcome::Unchanged
    );
}

#[test]
fn http_down_then_ldap_gives_a_fresh_crl() {
    if !common::slapd::slapd_or_skip() {
        return;
    }
    let slapd = Slapd::start();
    ou(&slapd, "PKI");
    let world = world();
    let dead_http = format!("http://127.0.0.1:{}/inter.crl", common::slapd::free_port());
    let url = crl_url(&slapd.url(), "certificateRevocationList;binary");
    // LDAP written first in the certificate: HTTP is still tried first.
    let leaf = world.leaf("Dr Fallback", Alg::Ec, &[&url, &dead_http]);
    world.correspondent(&leaf);
    let der = crl(
        &CrlSpec::fresh(4).revoking(vec![Revoked::cert(&leaf, common::crl::now() - 60, Some(4))]),
        &world.inter,
        &world.inter_key,
    );
    publish_ca(&slapd, CA_DN, &der, None);
    let r = report_of(&update(&world), &world.inter);
    assert_eq!(r.outcome, Outcome::Updated, "{r:?}");
    assert_eq!(r.url.as_deref(), Some(url.as_str()));
    assert_eq!(world.crl_of(&world.inter).state, CrlState::Fresh);
    assert_eq!(world.check(&leaf).state, CertState::Revoked);
    // state.json remembers each address's last outcome: HTTP unreachable.
    let state = world.env().cache().state();
    let http = state.urls.get(&dead_http).unwrap();
    assert_eq!(http.last.as_ref().unwrap().outcome, "unreachable");
    assert!(matches!(
        http.last.as_ref().unwrap().cause,
        Some(Cause::Fetch(FetchError::Connect { .. }))
    ));
    assert_eq!(
        state.urls.get(&url).unwrap().last.as_ref().unwrap().outcome,
        "updated"
    );
}

#[test]
fn the_delta_attribute_is_reachable_by_url() {
    if !common::slapd::slapd_or_skip() {
        return;
    }
    let slapd = Slapd::start();
    ou(&slapd, "PKI");
    let world = world();
    let base = crl(&CrlSpec::fresh(5), &world.inter, &world.inter_key);
    let delta = crl(&CrlSpec::fresh(6), &world.inter, &world.inter_key);
    publish_ca(&slapd, CA_DN, &base, Some(&delta));
    let f = LdapFetcher::new(Limits::from_policy(&world.env().policy));
    let get = |attr: &str| {
        let req = Request {
            url: crl_url(&slapd.url(), attr),
            etag: None,
            last_modified: None,
        };
        let mut seen = 0;
        let r = f.fetch(&req, &mut |n, _| seen = n);
        (r, seen)
    };
    let (r, seen) = get("deltaRevocationList;binary");
    assert_eq!(
        r.unwrap(),
        Response::Body {
            bytes: delta.clone(),
            etag: None,
            last_modified: None
        }
    );
    assert_eq!(seen, delta.len() as u64);
    let (r, _) = get("certificateRevocationList;binary");
    assert!(matches!(r.unwrap(), Response::Body { bytes, .. } if bytes == base));
    // Without `;binary` and without attribute: the same values.
    let (r, _) = get("deltaRevocationList");
    assert!(matches!(r.unwrap(), Response::Body { bytes, .. } if bytes == delta));
    let (r, _) = get("");
    assert!(matches!(r.unwrap(), Response::Body { bytes, .. } if bytes == base));
    // An entry that is not there: a code, not a panic.
    let req = Request {
        url: format!("{}/cn=nobody,ou=PKI,o=test", slapd.url()),
        etag: None,
        last_modified: None,
    };
    assert!(matches!(
        f.fetch(&req, &mut |_, _| {}),
        Err(FetchError::Ldap {
            error: DirectoryError::Result { rc: 32 },
            ..
        })
    ));
}

/// One hostile source: the leaf's only CRL address is `url`; the update
/// fails with `outcome`, returns in bounded time, and the leaf is not good.
fn hostile(world: World, url: &str, outcome: Outcome) -> Option<Cause> {
    let leaf = world.leaf("Dr Hostile", Alg::Ec, &[url]);
    world.correspondent(&leaf);
    let (r, state) = bounded(move || {
        let r = report_of(&update(&world), &world.inter);
        (r, world.check(&leaf).state)
    });
    assert_eq!(r.outcome, outcome, "{r:?}");
    assert_ne!(state, CertState::Good);
    assert_eq!(state, CertState::Unknown);
    r.cause
}

#[test]
fn a_huge_attribute_is_refused() {
    if !common::slapd::slapd_or_skip() {
        return;
    }
    let slapd = Slapd::start();
    ou(&slapd, "PKI");
    let world = world();
    // 5000 entries: about 150 KB, over the 64 KiB bound.
    let many: Vec<Revoked> = (0..5000u32)
        .map(|i| Revoked {
            serial: (i + 1_000_000).to_be_bytes().to_vec(),
            at: common::crl::now() - 60,
            reason: Some(1),
            extensions: Vec::new(),
        })
        .collect();
    let der = crl(
        &CrlSpec::fresh(9).revoking(many),
        &world.inter,
        &world.inter_key,
    );
    assert!(der.len() > 64 * 1024);
    publish_ca(&slapd, CA_DN, &der, None);
    let url = crl_url(&slapd.url(), "certificateRevocationList;binary");
    let cause = hostile(world, &url, Outcome::Unreachable);
    assert!(
        matches!(
            cause,
            Some(Cause::Fetch(FetchError::TooLarge { max: 65536, .. }))
        ),
        "{cause:?}"
    );
}

#[test]
fn a_silent_or_trickling_directory_times_out() {
    for fake in [Fake::Silent, Fake::Trickle] {
        let mute = Mute::start(fake);
        let url = format!(
            "{}/cn=ca,o=test?certificateRevocationList;binary",
            mute.url()
        );
        let start = Instant::now();
        let cause = hostile(world(), &url, Outcome::Unreachable);
        assert!(
            matches!(cause, Some(Cause::Fetch(FetchError::Timeout { .. }))),
            "{cause:?}"
        );
        // Within the configured bounds (read 2 s, total 4 s), with margin.
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{:?}",
            start.elapsed()
        );
    }
}

#[test]
fn a_flood_is_cut_at_the_size_bound() {
    // A 16 MiB message sent at full speed: cut after the bound (64 KiB plus
    // protocol room), long before the deadline, never buffered whole.
    let mute = Mute::start(Fake::Flood);
    let url = format!(
        "{}/cn=ca,o=test?certificateRevocationList;binary",
        mute.url()
    );
    let start = Instant::now();
    let cause = hostile(world(), &url, Outcome::Unreachable);
    assert!(
        matches!(
            cause,
            Some(Cause::Fetch(FetchError::TooLarge { max: 65536, .. }))
        ),
        "{cause:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_malformed_answer_is_a_failure_not_a_crash() {
    let mute = Mute::start(Fake::Malformed);
    let url = format!(
        "{}/cn=ca,o=test?certificateRevocationList;binary",
        mute.url()
    );
    let cause = hostile(world(), &url, Outcome::Unreachable);
    assert!(matches!(cause, Some(Cause::Fetch(_))), "{cause:?}");
}

#[test]
fn a_referral_is_not_followed() {
    if !common::slapd::slapd_or_skip() {
        return;
    }
    let slapd = Slapd::start();
    ou(&slapd, "PKI");
    // A referral to itself: following it would loop.
    slapd.add(&format!(
        "dn: {CA_DN}\nobjectClass: referral\nobjectClass: extensibleObject\ncn: CRL TEST INTERMEDIATE\nref: {}\n",
        crl_url(&slapd.url(), "certificateRevocationList;binary")
    ));
    let url = crl_url(&slapd.url(), "certificateRevocationList;binary");
    let cause = hostile(world(), &url, Outcome::Unreachable);
    assert!(
        matches!(
            cause,
            Some(Cause::Fetch(FetchError::Ldap {
                error: DirectoryError::Referral,
                ..
            }))
        ),
        "{cause:?}"
    );
    // A subtree search that meets the referral gets a continuation reference.
    let sub = format!(
        "{}/ou=PKI,o=test?certificateRevocationList;binary?sub?objectClass=pkiCA",
        slapd.url()
    );
    let cause = hostile(world(), &sub, Outcome::Unreachable);
    assert!(
        matches!(
            cause,
            Some(Cause::Fetch(FetchError::Ldap {
                error: DirectoryError::Referral,
                ..
            }))
        ),
        "{cause:?}"
    );
}

#[test]
fn a_crl_of_another_ca_is_refused() {
    if !common::slapd::slapd_or_skip() {
        return;
    }
    let slapd = Slapd::start();
    ou(&slapd, "PKI");
    let world = world();
    // Valid, signed by the (trusted) root, served where the intermediate's
    // CRL should be.
    let der = crl(&CrlSpec::fresh(2), &world.root, &world.root_key);
    publish_ca(&slapd, CA_DN, &der, None);
    let url = crl_url(&slapd.url(), "certificateRevocationList;binary");
    let cause = hostile(world, &url, Outcome::Invalid);
    assert!(matches!(cause, Some(Cause::Rejected(_))), "{cause:?}");
}

// --- correspondent lookup -------------------------------------------------

fn person(slapd: &Slapd, uid: &str, mail: &str, cert: Option<&X509>) {
    let mut ldif = format!(
        "dn: uid={uid},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\nmail: {mail}\n"
    );
    if let Some(c) = cert {
        let f = slapd.file(&format!("{uid}.der"), &c.to_der().unwrap());
        writeln!(ldif, "userCertificate;binary:< {f}").unwrap();
    }
    slapd.add(&ldif);
}

fn lookup(world: &World, args: &[&str]) -> (i32, serde_json::Value) {
    let out = common::store::certsafe(world.dir.path())
        .args(["correspondent", "lookup", "--json"])
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), json)
}

#[test]
fn lookup_imports_what_chains_and_skips_the_rest() {
    if !common::slapd::slapd_or_skip() {
        return;
    }
    let slapd = Slapd::start();
    ou(&slapd, "people");
    let world = world();
    let trusted = world.leaf("Dr Annuaire", Alg::Ec, &[]);
    let stranger_key = common::key(Alg::Ec);
    let stranger_ca =
        common::crl::build_cert(&common::crl::CertSpec::ca("OTHER CA", &stranger_key, None));
    let key = common::key(Alg::Ec);
    let untrusted = common::crl::build_cert(&common::crl::CertSpec::leaf(
        "Dr Inconnu",
        &key,
        (&stranger_ca, &stranger_key),
    ));
    person(
        &slapd,
        "annuaire",
        "annuaire@hopital.example",
        Some(&trusted),
    );
    person(
        &slapd,
        "inconnu",
        "inconnu@clinique.example",
        Some(&untrusted),
    );
    person(&slapd, "sanscert", "sanscert@hopital.example", None);
    let dir = format!("{}/ou=people,{SUFFIX}", slapd.url());

    let (code, json) = lookup(&world, &["annuaire@hopital.example", "--directory", &dir]);
    assert_eq!(code, 0, "{json}");
    let a = &json["addresses"][0];
    assert_eq!(a["email"], "annuaire@hopital.example");
    assert_eq!(a["entries"], 1);
    assert_eq!(a["imported"][0]["fingerprint"], common::fp(&trusted));
    assert_eq!(a["imported"][0]["action"], "added");
    assert_eq!(a["imported"][0]["dn"], "uid=annuaire,ou=people,o=test");
    let listed = world.env().correspondent_store().list().unwrap();
    assert!(
        listed
            .iter()
            .any(|c| c.info.fingerprint == common::fp(&trusted))
    );

    let (code, json) = lookup(&world, &["inconnu@clinique.example", "--directory", &dir]);
    assert_eq!(code, 1, "{json}");
    let a = &json["addresses"][0];
    assert_eq!(a["imported"].as_array().unwrap().len(), 0);
    assert_eq!(a["skipped"][0]["reason"], "untrusted");
    assert_eq!(a["skipped"][0]["fingerprint"], common::fp(&untrusted));
    let listed = world.env().correspondent_store().list().unwrap();
    assert!(
        !listed
            .iter()
            .any(|c| c.info.fingerprint == common::fp(&untrusted))
    );

    // No entry; an entry without certificate; a filter injection that would
    // match everyone if the address were not escaped.
    for who in [
        "personne@nulle.part",
        "sanscert@hopital.example",
        "*",
        "*)(mail=*",
    ] {
        let (code, json) = lookup(&world, &[who, "--directory", &dir]);
        assert_eq!(code, 1, "{who}: {json}");
        assert_eq!(
            json["addresses"][0]["imported"].as_array().unwrap().len(),
            0
        );
        if who.contains('*') {
            assert_eq!(json["addresses"][0]["entries"], 0, "{who}: {json}");
        }
    }

    // userSMIMECertificate: a PKCS#7 bundle with the leaf and its CA; the
    // leaf is imported, the CA skipped as a CA.
    let smime_leaf = world.leaf("Dr Smime", Alg::Ec, &[]);
    let pem = slapd.files().join("bundle.pem");
    let mut both = smime_leaf.to_pem().unwrap();
    both.extend(world.inter.to_pem().unwrap());
    std::fs::write(&pem, both).unwrap();
    let p7 = slapd.files().join("bundle.p7b");
    common::sh(&format!(
        "openssl crl2pkcs7 -nocrl -certfile {} -outform DER -out {}",
        pem.display(),
        p7.display()
    ));
    slapd.add(&format!(
        "dn: uid=smime,ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: smime\ncn: smime\nsn: smime\nmail: smime@hopital.example\nuserSMIMECertificate:< file://{}\n",
        p7.display()
    ));
    let (code, json) = lookup(&world, &["smime@hopital.example", "--directory", &dir]);
    assert_eq!(code, 0, "{json}");
    let a = &json["addresses"][0];
    assert_eq!(a["imported"][0]["fingerprint"], common::fp(&smime_leaf));
    assert_eq!(a["skipped"][0]["reason"], "ca");
    assert_eq!(a["skipped"][0]["fingerprint"], common::fp(&world.inter));

    // The directory from config.toml; several addresses, one found: exit 0.
    std::fs::write(
        world.dir.path().join("config.toml"),
        format!("[directory]\nurl = \"{dir}\"\n"),
    )
    .unwrap();
    let (code, json) = lookup(&world, &["personne@nulle.part", "annuaire@hopital.example"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["addresses"][0]["entries"], 0);
    assert_eq!(
        json["addresses"][1]["imported"][0]["action"],
        "already_present"
    );

    // A silent directory: an error code per address, in bounded time.
    let mute = Mute::start(Fake::Silent);
    let silent = format!("{}/ou=people,o=test", mute.url());
    let w2 = world.dir.path().to_path_buf();
    std::fs::write(
        w2.join("config.toml"),
        "[crl]\nconnect_timeout_secs = 2\nread_timeout_secs = 2\ntotal_timeout_secs = 4\n",
    )
    .unwrap();
    let (code, json) = bounded(move || {
        let out = common::store::certsafe(&w2)
            .args([
                "correspondent",
                "lookup",
                "--json",
                "a@b.example",
                "--directory",
                &silent,
            ])
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        )
    });
    assert_eq!(code, 1);
    assert_eq!(json["addresses"][0]["error"]["code"], "timeout");
}

#[test]
fn lookup_without_directory_or_with_a_bad_one_is_an_error() {
    let world = world();
    let out = common::store::certsafe(world.dir.path())
        .args(["correspondent", "lookup", "a@b.example"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let out = common::store::certsafe(world.dir.path())
        .args([
            "correspondent",
            "lookup",
            "a@b.example",
            "--directory",
            "ldap:///o=x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

#[test]
fn the_cli_crl_update_fetches_ldap_and_check_says_revoked() {
    if !common::slapd::slapd_or_skip() {
        return;
    }
    let slapd = Slapd::start();
    ou(&slapd, "PKI");
    let world = world();
    let url = crl_url(&slapd.url(), "certificateRevocationList;binary");
    let leaf = world.leaf("Dr Cli", Alg::Ec, &[&url]);
    world.correspondent(&leaf);
    let der = crl(
        &CrlSpec::fresh(8).revoking(vec![Revoked::cert(&leaf, common::crl::now() - 60, Some(1))]),
        &world.inter,
        &world.inter_key,
    );
    publish_ca(&slapd, CA_DN, &der, None);
    let out = common::store::certsafe(world.dir.path())
        .args(["crl", "update", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let crls = json["crls"].as_array().unwrap();
    let mine = crls
        .iter()
        .find(|c| c["ca_fingerprint"] == common::fp(&world.inter))
        .unwrap();
    assert_eq!(mine["outcome"], "updated", "{json}");
    assert_eq!(mine["url"], url.as_str());
    let cert = world.dir.path().join("leaf.pem");
    std::fs::write(&cert, leaf.to_pem().unwrap()).unwrap();
    let out = common::store::certsafe(world.dir.path())
        .args(["check", "--json"])
        .arg(&cert)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["certificates"][0]["state"], "revoked", "{json}");
    assert_eq!(json["certificates"][0]["reason"], "key_compromise");
}
