//! The real IGC-Santé TEST certificates: their two CRL distribution points
//! are read (HTTP fetched — here from a local server standing in as the
//! HTTP proxy, so nothing leaves the machine — and LDAP reported as not
//! fetched), and their chain builds to the imported root.
#![allow(clippy::unwrap_used, clippy::case_sensitive_file_extension_comparisons)]

mod common;

use certsafe::domain::crl::check::{CertState, Checker};
use certsafe::domain::crl::fetch::{HttpFetcher, Limits};
use certsafe::domain::crl::{self, CrlState, Env, Outcome, UpdateOptions, UrlKind};
use certsafe::domain::home::Home;
use certsafe::domain::trust::read_cert_file;
use common::fixtures;
use common::http::{Reply, Server};

const ROOT: &str = "TEST_AC_RACINE_IGC-SANTE_ELEMENTAIRE.01325aeb.pem";
const INTER: &str = "TEST_AC_IGC-SANTE_ELEMENTAIRE_ORGANISATIONS.dc528e37.pem";
const LEAF: &str = "testsign.test.asipsante.fr.8f613149.pem";
const ORG_CRL: &str = "http://igc-sante.esante.gouv.fr/CRL/ACI-EL-ORG-TEST.crl";
const ROOT_CRL: &str = "http://igc-sante.esante.gouv.fr/CRL/ACR-EL-TEST.crl";

fn setup(config: &certsafe::config::Config) -> (tempfile::TempDir, Env) {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new(&Home::under(dir.path()), config);
    let cas: Vec<_> = [ROOT, INTER]
        .iter()
        .flat_map(|f| read_cert_file(&fixtures().join(f)).unwrap())
        .collect();
    env.ca_store().import(&cas).unwrap();
    let leaves: Vec<_> = std::fs::read_dir(fixtures())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.ends_with(".pem") && !n.ends_with(".key.pem") && !n.starts_with("TEST_AC")
        })
        .flat_map(|p| read_cert_file(&p).unwrap())
        .collect();
    assert_eq!(leaves.len(), 5);
    let done = env.correspondent_store().import(&leaves).unwrap();
    assert!(done.iter().all(|d| d.action == "added"));
    (dir, env)
}

#[test]
fn both_distribution_points_are_read_and_grouped_by_issuing_ca() {
    let (_dir, env) = setup(&certsafe::config::Config::default());
    let cas = env.ca_store().list().unwrap();
    let slots = crl::slots(&env, &cas).unwrap();
    assert_eq!(slots.len(), 2, "{slots:?}");
    // Root first (its CRL comes from the intermediate's distribution points).
    assert!(
        slots[0]
            .issuer
            .contains("TEST AC RACINE IGC-SANTE ELEMENTAIRE")
    );
    assert_eq!(slots[0].urls[0], ROOT_CRL);
    assert!(slots[0].urls[1].starts_with("ldap://annuaire-igc.esante.gouv.fr/"));
    assert!(
        slots[1]
            .issuer
            .contains("TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS")
    );
    assert_eq!(
        slots[1].urls.len(),
        2,
        "five leaves, the same two addresses"
    );
    assert_eq!(slots[1].urls[0], ORG_CRL);
    assert_eq!(UrlKind::of(&slots[1].urls[1]), UrlKind::Ldap);
    // The delta CRL pointer (Freshest CRL, LDAP) is not a source.
    assert!(
        slots
            .iter()
            .all(|s| s.urls.iter().all(|u| !u.contains("deltarevocationlist")))
    );

    let list = crl::list(&env, certsafe::domain::time::now()).unwrap();
    for e in &list {
        assert_eq!(e.state, CrlState::Missing);
        let ldap = e.urls.iter().find(|u| u.kind == UrlKind::Ldap).unwrap();
        assert!(ldap.fetched);
        assert_eq!(ldap.note, None);
    }
}

#[test]
fn the_chain_builds_to_the_imported_root() {
    let (_dir, env) = setup(&certsafe::config::Config::default());
    let leaf = read_cert_file(&fixtures().join(LEAF)).unwrap().remove(0);
    // Within the leaf's lifetime (it expired in 2024).
    let then = time::macros::datetime!(2022-06-01 12:00 UTC);
    let mut checker = Checker::new(&env, then).unwrap();
    let s = checker.check(&leaf);
    assert_eq!(s.chain.len(), 2, "{s:?}");
    assert!(s.chain[0].subject.contains("ELEMENTAIRE ORGANISATIONS"));
    assert!(s.chain[1].subject.contains("RACINE"));
    assert_eq!(s.chain[1].state, CertState::Good, "the root is the anchor");
    // No CRL yet: unknown — trusted, but nothing says it is not revoked.
    assert_eq!(s.state, CertState::Unknown);
    // Today the leaf is expired.
    let mut checker = Checker::new(&env, certsafe::domain::time::now()).unwrap();
    assert_eq!(checker.check(&leaf).state, CertState::Expired);
    // Without the root imported the chain still reaches the intermediate.
    let root_fp = common::fp(&read_cert_file(&fixtures().join(ROOT)).unwrap()[0]);
    env.ca_store().remove(&root_fp).unwrap();
    let mut checker = Checker::new(&env, then).unwrap();
    let s = checker.check(&leaf);
    assert_eq!(s.chain.len(), 1);
    assert_ne!(s.state, CertState::Untrusted);
}

#[test]
fn the_http_points_are_fetched_and_ldap_is_reported() {
    // The local server is the HTTP proxy: it sees the real URLs, answers 404.
    let server = Server::start(|_| Reply::Status(404));
    let mut config = certsafe::config::Config::default();
    config.crl.proxy = server.url("");
    config.crl.read_timeout_secs = 2;
    config.crl.total_timeout_secs = 5;
    let (_dir, env) = setup(&config);
    let fetcher = HttpFetcher::new(Limits::from_policy(&env.policy)).unwrap();
    let report = crl::update(
        &env,
        &fetcher,
        &UpdateOptions::at(certsafe::domain::time::now()),
        &mut |_| {},
    )
    .unwrap();
    let mut targets: Vec<String> = server.seen().into_iter().map(|s| s.target).collect();
    targets.sort();
    assert_eq!(targets, vec![ORG_CRL.to_string(), ROOT_CRL.to_string()]);
    assert_eq!(report.crls.len(), 2);
    for r in &report.crls {
        assert_eq!(r.outcome, Outcome::Unreachable, "{r:?}");
        assert!(
            matches!(
                r.cause,
                Some(certsafe::domain::crl::cache::Cause::Fetch(
                    certsafe::domain::crl::fetch::FetchError::Status { status: 404, .. }
                ))
            ),
            "{r:?}"
        );
    }
    for e in crl::list(&env, certsafe::domain::time::now()).unwrap() {
        assert_eq!(e.state, CrlState::Unreachable);
        assert!(e.urls.iter().any(|u| u.kind == UrlKind::Ldap && u.fetched));
    }
}
