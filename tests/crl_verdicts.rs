//! Every acceptance rule and every certificate verdict, on a PKI and CRLs
//! generated here (RSA and EC): good, revoked for each reason and none, on
//! hold, expired CRL, forged CRL, CA without cRLSign, thisUpdate in the
//! future, CRL number going backwards, unknown critical extension, root CRL
//! listing a leaf's serial, truncated DER, PEM and DER. No broken CRL ever
//! makes a certificate `good`.
#![allow(clippy::unwrap_used)]

mod common;

use certsafe::domain::crl::check::{CertState, Reason};
use certsafe::domain::crl::{Accepted, CrlState, Rejection};
use common::Alg;
use common::crl::{CertSpec, CrlSpec, Revoked, World, build_cert, crl, now, pem};

const ALGS: [Alg; 2] = [Alg::Rsa, Alg::Ec];

/// A world trusting root and intermediate, with a fresh root CRL (so the
/// intermediate is good) and one correspondent leaf.
fn setup(alg: Alg) -> (World, openssl::x509::X509) {
    let w = World::new(alg, &[]);
    w.trust(&[&w.root, &w.inter]);
    w.import(&crl(&CrlSpec::fresh(1), &w.root, &w.root_key))
        .unwrap();
    let leaf = w.leaf("Dr Alice", alg, &[]);
    w.correspondent(&leaf);
    (w, leaf)
}

#[test]
fn good_then_revoked_for_each_reason_and_none() {
    for alg in ALGS {
        let (w, leaf) = setup(alg);
        // Before any intermediate CRL: unknown, never good.
        assert_eq!(w.check(&leaf).state, CertState::Unknown);
        assert_eq!(w.crl_of(&w.inter).state, CrlState::Missing);

        let other = w.leaf("Dr Other", alg, &[]);
        let good = crl(
            &CrlSpec::fresh(1).revoking(vec![Revoked::cert(&other, now() - 100, Some(1))]),
            &w.inter,
            &w.inter_key,
        );
        assert!(common::crl::openssl_parses(&good));
        w.import(&good).unwrap();
        let s = w.check(&leaf);
        assert_eq!(s.state, CertState::Good, "{alg:?}: {s:?}");
        assert_eq!(s.chain.len(), 2);
        assert!(s.chain.iter().all(|l| l.state == CertState::Good));
        assert_eq!(w.crl_of(&w.inter).state, CrlState::Fresh);
        assert_eq!(w.crl_of(&w.inter).entries, Some(1));

        let cases: [(Option<u8>, Option<Reason>); 10] = [
            (None, None),
            (Some(0), Some(Reason::Unspecified)),
            (Some(1), Some(Reason::KeyCompromise)),
            (Some(2), Some(Reason::CaCompromise)),
            (Some(3), Some(Reason::AffiliationChanged)),
            (Some(4), Some(Reason::Superseded)),
            (Some(5), Some(Reason::CessationOfOperation)),
            (Some(6), Some(Reason::CertificateHold)),
            (Some(9), Some(Reason::PrivilegeWithdrawn)),
            (Some(10), Some(Reason::AaCompromise)),
        ];
        for (n, (code, reason)) in cases.into_iter().enumerate() {
            let at = now() - 86_400 - i64::try_from(n).unwrap();
            let spec = CrlSpec::fresh(2 + u64::try_from(n).unwrap())
                .revoking(vec![Revoked::cert(&leaf, at, code)]);
            w.import(&crl(&spec, &w.inter, &w.inter_key)).unwrap();
            let s = w.check(&leaf);
            assert_eq!(s.state, CertState::Revoked, "{alg:?} {code:?}");
            assert_eq!(s.reason, reason, "{alg:?} {code:?}");
            assert_eq!(s.revoked_at.unwrap().unix_timestamp(), at);
            let json = serde_json::to_value(&s).unwrap();
            for key in ["fingerprint", "subject", "state", "revoked_at", "reason"] {
                assert!(json.get(key).is_some(), "{key}");
            }
        }
        // Released from hold: a newer CRL without the entry makes it good again.
        w.import(&crl(&CrlSpec::fresh(50), &w.inter, &w.inter_key))
            .unwrap();
        assert_eq!(w.check(&leaf).state, CertState::Good);
    }
}

#[test]
fn on_hold_is_revoked_with_its_reason() {
    let (w, leaf) = setup(Alg::Ec);
    let spec = CrlSpec::fresh(1).revoking(vec![Revoked::cert(&leaf, now() - 10, Some(6))]);
    w.import(&crl(&spec, &w.inter, &w.inter_key)).unwrap();
    let s = w.check(&leaf);
    assert_eq!(s.state, CertState::Revoked);
    assert_eq!(s.reason, Some(Reason::CertificateHold));
    assert_eq!(
        serde_json::to_value(&s).unwrap()["reason"],
        "certificate_hold"
    );
}

#[test]
fn an_expired_crl_is_kept_but_covers_nothing() {
    for alg in ALGS {
        let (w, leaf) = setup(alg);
        let t = now();
        let spec = CrlSpec {
            this_update: t - 10 * 86_400,
            next_update: Some(t - 86_400),
            number: Some(3),
            revoked: Vec::new(),
            extensions: Vec::new(),
        };
        w.import(&crl(&spec, &w.inter, &w.inter_key)).unwrap();
        assert_eq!(w.crl_of(&w.inter).state, CrlState::Expired);
        let s = w.check(&leaf);
        assert_eq!(s.state, CertState::Unknown, "{alg:?}");
        assert!(s.detail.unwrap().contains("expired"));
    }
}

#[test]
fn a_crl_signed_by_another_key_with_the_same_name_is_refused() {
    for alg in ALGS {
        let (w, leaf) = setup(alg);
        // A valid CRL first, revoking the leaf.
        let revoking = CrlSpec::fresh(5).revoking(vec![Revoked::cert(&leaf, now() - 10, Some(1))]);
        w.import(&crl(&revoking, &w.inter, &w.inter_key)).unwrap();
        // A forger with the same issuer name tries to un-revoke it.
        let other_key = common::key(alg);
        let forged = crl(&CrlSpec::fresh(6), &w.inter, &other_key);
        assert!(matches!(
            w.rejection(&forged),
            Rejection::BadSignature { .. }
        ));
        assert_eq!(w.check(&leaf).state, CertState::Revoked);
        let e = w.crl_of(&w.inter);
        assert_eq!(e.state, CrlState::Invalid);
        assert!(e.reason.unwrap().contains("signature"));
        assert_eq!(e.crl_number.as_deref(), Some("05"));
    }
}

#[test]
fn a_forged_crl_never_makes_a_certificate_good_on_an_empty_cache() {
    let (w, leaf) = setup(Alg::Rsa);
    let forger = common::key(Alg::Rsa);
    w.rejection(&crl(&CrlSpec::fresh(1), &w.inter, &forger));
    assert_eq!(w.check(&leaf).state, CertState::Unknown);
}

#[test]
fn an_issuer_without_crl_sign_is_refused() {
    for alg in ALGS {
        let (w, _) = setup(alg);
        let key = common::key(alg);
        let ca = build_cert(&CertSpec {
            crl_sign: false,
            ..CertSpec::ca("NO CRLSIGN CA", &key, Some((&w.root, &w.root_key)))
        });
        w.trust(&[&ca]);
        let leaf = build_cert(&CertSpec::leaf("Dr Bob", &common::key(alg), (&ca, &key)));
        let r = w.rejection(&crl(&CrlSpec::fresh(1), &ca, &key));
        assert!(matches!(r, Rejection::NoCrlSign { .. }), "{r:?}");
        assert!(r.to_string().contains("cRLSign"));
        assert_eq!(w.check(&leaf).state, CertState::Unknown);
    }
}

#[test]
fn this_update_in_the_future_is_refused_beyond_five_minutes() {
    let (w, leaf) = setup(Alg::Ec);
    let mut spec = CrlSpec::fresh(1);
    spec.this_update = now() + 3600;
    assert!(matches!(
        w.rejection(&crl(&spec, &w.inter, &w.inter_key)),
        Rejection::FutureThisUpdate { .. }
    ));
    assert_eq!(w.check(&leaf).state, CertState::Unknown);
    // Two minutes ahead is within the allowed skew.
    spec.this_update = now() + 120;
    w.import(&crl(&spec, &w.inter, &w.inter_key)).unwrap();
    assert_eq!(w.check(&leaf).state, CertState::Good);
}

#[test]
fn a_missing_next_update_is_refused() {
    let (w, _) = setup(Alg::Rsa);
    let mut spec = CrlSpec::fresh(1);
    spec.next_update = None;
    assert_eq!(
        w.rejection(&crl(&spec, &w.inter, &w.inter_key)),
        Rejection::NoNextUpdate
    );
}

#[test]
fn a_crl_number_going_backwards_is_refused_and_the_cache_kept() {
    for alg in ALGS {
        let (w, leaf) = setup(alg);
        let newer = CrlSpec::fresh(10).revoking(vec![Revoked::cert(&leaf, now() - 5, Some(1))]);
        w.import(&crl(&newer, &w.inter, &w.inter_key)).unwrap();
        let mut older = CrlSpec::fresh(9);
        older.this_update = now() - 60; // even with a later thisUpdate
        let r = w.rejection(&crl(&older, &w.inter, &w.inter_key));
        assert!(matches!(r, Rejection::NumberBackwards { .. }), "{r:?}");
        assert_eq!(w.check(&leaf).state, CertState::Revoked);
        assert_eq!(w.crl_of(&w.inter).crl_number.as_deref(), Some("0a"));
        // A CRL issued before the cached one is refused too (replay).
        let mut replay = CrlSpec::fresh(11);
        replay.this_update = now() - 7200;
        assert!(matches!(
            w.rejection(&crl(&replay, &w.inter, &w.inter_key)),
            Rejection::Older { .. }
        ));
    }
}

#[test]
fn unknown_critical_extensions_are_refused_known_and_noncritical_ones_pass() {
    let (w, leaf) = setup(Alg::Ec);
    let mut spec = CrlSpec::fresh(1);
    spec.extensions.push((
        "1.2.3.4.5".into(),
        true,
        certsafe::domain::ber::der(0x05, &[]),
    ));
    let r = w.rejection(&crl(&spec, &w.inter, &w.inter_key));
    assert_eq!(
        r,
        Rejection::UnknownCriticalExtension {
            oid: "1.2.3.4.5".into()
        }
    );
    // In an entry too.
    let mut entry = Revoked::cert(&leaf, now() - 5, None);
    entry.extensions.push((
        "1.2.3.4.6".into(),
        true,
        certsafe::domain::ber::der(0x05, &[]),
    ));
    let spec2 = CrlSpec::fresh(1).revoking(vec![entry]);
    assert!(matches!(
        w.rejection(&crl(&spec2, &w.inter, &w.inter_key)),
        Rejection::UnknownCriticalExtension { .. }
    ));
    assert_eq!(w.check(&leaf).state, CertState::Unknown);
    // Non-critical unknown: fine.
    let mut spec3 = CrlSpec::fresh(1);
    spec3.extensions.push((
        "1.2.3.4.5".into(),
        false,
        certsafe::domain::ber::der(0x05, &[]),
    ));
    w.import(&crl(&spec3, &w.inter, &w.inter_key)).unwrap();
    assert_eq!(w.check(&leaf).state, CertState::Good);
}

#[test]
fn a_delta_crl_is_not_taken_for_a_full_one() {
    let (w, _) = setup(Alg::Rsa);
    let mut spec = CrlSpec::fresh(2);
    spec.extensions
        .push(("2.5.29.27".into(), true, certsafe::domain::ber::der_uint(1)));
    // Where a complete CRL is expected (a CRL Distribution Point), a delta
    // is refused; `crl import` then takes it as a delta, beside its base.
    let env = w.env();
    let cas = env.ca_store().list().unwrap();
    let key = certsafe::domain::crl::cache::index_key(&env.home.index_key_file()).unwrap();
    let bytes = crl(&spec, &w.inter, &w.inter_key);
    let result = certsafe::domain::crl::accept(
        &env,
        &cas,
        &key,
        &bytes,
        "test",
        certsafe::domain::time::now(),
    );
    assert!(matches!(
        result,
        Err(certsafe::domain::crl::AcceptError::Rejected(
            Rejection::Unsupported { .. },
            _
        ))
    ));
    assert!(!matches!(
        w.rejection(&bytes),
        Rejection::Unsupported { .. }
    ));
}

#[test]
fn a_root_crl_listing_a_leaf_serial_does_not_touch_the_intermediates_leaves() {
    for alg in ALGS {
        let (w, leaf) = setup(alg);
        w.import(&crl(&CrlSpec::fresh(1), &w.inter, &w.inter_key))
            .unwrap();
        let root_crl = CrlSpec::fresh(2).revoking(vec![Revoked::cert(&leaf, now() - 5, Some(1))]);
        w.import(&crl(&root_crl, &w.root, &w.root_key)).unwrap();
        let s = w.check(&leaf);
        assert_eq!(s.state, CertState::Good, "{alg:?}: {s:?}");
        // But a root CRL revoking the intermediate revokes the whole branch.
        let revoke_inter =
            CrlSpec::fresh(3).revoking(vec![Revoked::cert(&w.inter, now() - 5, Some(2))]);
        w.import(&crl(&revoke_inter, &w.root, &w.root_key)).unwrap();
        let s = w.check(&leaf);
        assert_eq!(s.state, CertState::Revoked);
        assert_eq!(s.reason, Some(Reason::CaCompromise));
        assert_eq!(s.chain[0].state, CertState::Revoked);
        assert!(s.detail.unwrap().contains("CRL TEST INTERMEDIATE"));
        assert_eq!(w.check(&w.inter).state, CertState::Revoked);
    }
}

#[test]
fn the_intermediate_is_checked_against_the_roots_crl() {
    let w = World::new(Alg::Ec, &[]);
    w.trust(&[&w.root, &w.inter]);
    let leaf = w.leaf("Dr Carol", Alg::Ec, &[]);
    w.import(&crl(&CrlSpec::fresh(1), &w.inter, &w.inter_key))
        .unwrap();
    // No root CRL yet: the intermediate is unknown, and so is the leaf.
    let s = w.check(&leaf);
    assert_eq!(s.chain[0].state, CertState::Unknown);
    assert_eq!(s.state, CertState::Unknown);
    w.import(&crl(&CrlSpec::fresh(1), &w.root, &w.root_key))
        .unwrap();
    assert_eq!(w.check(&leaf).state, CertState::Good);
    // Only the intermediate trusted: it is the anchor, no root CRL needed.
    let w2 = World::new(Alg::Ec, &[]);
    w2.trust(&[&w2.inter]);
    let leaf2 = w2.leaf("Dr Dan", Alg::Ec, &[]);
    w2.import(&crl(&CrlSpec::fresh(1), &w2.inter, &w2.inter_key))
        .unwrap();
    let s = w2.check(&leaf2);
    assert_eq!(s.state, CertState::Good);
    assert_eq!(s.chain.len(), 1);
}

#[test]
fn truncated_der_html_and_garbage_are_refused_pem_and_der_accepted() {
    for alg in ALGS {
        let (w, leaf) = setup(alg);
        let good = crl(
            &CrlSpec::fresh(4).revoking(vec![Revoked::cert(&leaf, now() - 9, Some(4))]),
            &w.inter,
            &w.inter_key,
        );
        for cut in [good.len() - 1, good.len() / 2, 10, 1] {
            let r = w.rejection(&good[..cut]);
            assert!(
                matches!(r, Rejection::Malformed { .. } | Rejection::NotACrl),
                "{cut}: {r:?}"
            );
        }
        assert_eq!(
            w.rejection(b"<html><body>Maintenance</body></html>"),
            Rejection::NotACrl
        );
        let mut flipped = good.clone();
        let n = flipped.len();
        flipped[n - 20] ^= 0x01; // in the signature
        assert!(matches!(
            w.rejection(&flipped),
            Rejection::BadSignature { .. }
        ));
        assert_eq!(w.check(&leaf).state, CertState::Unknown);
        // PEM, then the same CRL as DER: accepted, then recognised as unchanged.
        assert!(matches!(
            w.import(&pem(&good)).unwrap(),
            Accepted::Updated(_)
        ));
        assert_eq!(w.check(&leaf).state, CertState::Revoked);
        assert!(matches!(w.import(&good).unwrap(), Accepted::Unchanged(_)));
        assert_eq!(w.check(&leaf).reason, Some(Reason::Superseded));
    }
}

#[test]
fn certificates_outside_the_trust_or_their_validity() {
    let (w, _) = setup(Alg::Ec);
    w.import(&crl(&CrlSpec::fresh(1), &w.inter, &w.inter_key))
        .unwrap();
    // A stranger's PKI.
    let other = World::new(Alg::Ec, &[]);
    let stranger = other.leaf("Mallory", Alg::Ec, &[]);
    assert_eq!(w.check(&stranger).state, CertState::Untrusted);
    // Expired and not yet valid leaves of the trusted PKI.
    let k = common::key(Alg::Ec);
    let old = build_cert(&CertSpec {
        days_before: 400,
        days_after: -10,
        ..CertSpec::leaf("Old", &k, (&w.inter, &w.inter_key))
    });
    assert_eq!(w.check(&old).state, CertState::Expired);
    let future = build_cert(&CertSpec {
        days_before: -10,
        days_after: 400,
        ..CertSpec::leaf("Future", &k, (&w.inter, &w.inter_key))
    });
    assert_eq!(w.check(&future).state, CertState::NotYetValid);
}

#[test]
fn a_damaged_index_is_refused_and_rebuilt_by_a_new_import() {
    let (w, leaf) = setup(Alg::Rsa);
    let revoking = crl(
        &CrlSpec::fresh(1).revoking(vec![Revoked::cert(&leaf, now() - 9, Some(1))]),
        &w.inter,
        &w.inter_key,
    );
    w.import(&revoking).unwrap();
    let idx = w
        .home
        .crl_cache_dir()
        .join(common::fp(&w.inter))
        .join("index.bin");
    let bytes = std::fs::read(&idx).unwrap();
    // Truncated: unknown, not good.
    std::fs::write(&idx, &bytes[..bytes.len() - 7]).unwrap();
    let s = w.check(&leaf);
    assert_eq!(s.state, CertState::Unknown);
    assert!(s.detail.unwrap().contains("damaged"));
    // Edited (the serial changed so the leaf would look good): refused too.
    let mut edited = bytes.clone();
    edited[120] ^= 0x55;
    std::fs::write(&idx, &edited).unwrap();
    assert_eq!(w.check(&leaf).state, CertState::Unknown);
    // Importing the same CRL again rebuilds it.
    assert!(matches!(w.import(&revoking).unwrap(), Accepted::Updated(_)));
    assert_eq!(w.check(&leaf).state, CertState::Revoked);
}

#[test]
fn scope_of_the_issuing_distribution_point() {
    let (w, leaf) = setup(Alg::Ec);
    // onlyContainsCACerts [2] TRUE: says nothing about leaves.
    let idp = certsafe::domain::ber::der(0x30, &certsafe::domain::ber::der(0x82, &[0xff]));
    let mut spec = CrlSpec::fresh(1);
    spec.extensions.push(("2.5.29.28".into(), true, idp));
    w.import(&crl(&spec, &w.inter, &w.inter_key)).unwrap();
    let s = w.check(&leaf);
    assert_eq!(s.state, CertState::Unknown);
    // onlyContainsUserCerts [1] TRUE covers the leaf.
    let idp = certsafe::domain::ber::der(0x30, &certsafe::domain::ber::der(0x81, &[0xff]));
    let mut spec = CrlSpec::fresh(2);
    spec.extensions.push(("2.5.29.28".into(), true, idp));
    w.import(&crl(&spec, &w.inter, &w.inter_key)).unwrap();
    assert_eq!(w.check(&leaf).state, CertState::Good);
}

/// An issuing distribution point naming `uri` (a partitioned CRL).
fn idp(uri: &str) -> (String, bool, Vec<u8>) {
    use certsafe::domain::ber::der;
    let value = der(0x30, &der(0xa0, &der(0xa0, &der(0x86, uri.as_bytes()))));
    ("2.5.29.28".into(), true, value)
}

#[test]
fn a_partitioned_crl_vouches_only_for_its_part() {
    for alg in ALGS {
        let w = World::new(alg, &[]);
        w.trust(&[&w.root, &w.inter]);
        w.import(&crl(&CrlSpec::fresh(1), &w.root, &w.root_key))
            .unwrap();
        let part1 = "http://crl.example/part1.crl";
        let inside = w.leaf("Dr Inside", alg, &[part1]);
        let revoked = w.leaf("Dr Revoked Inside", alg, &[part1]);
        let outside = w.leaf("Dr Outside", alg, &["http://crl.example/part2.crl"]);
        let no_cdp = w.leaf("Dr Without CDP", alg, &[]);
        let mut spec =
            CrlSpec::fresh(1).revoking(vec![Revoked::cert(&revoked, now() - 100, Some(1))]);
        spec.extensions.push(idp(part1));
        assert!(matches!(
            w.import(&crl(&spec, &w.inter, &w.inter_key)),
            Ok(Accepted::Updated(_))
        ));
        assert_eq!(w.check(&inside).state, CertState::Good, "{alg:?}");
        assert_eq!(w.check(&revoked).state, CertState::Revoked, "{alg:?}");
        // Not in this part: the CRL cannot say it is good.
        assert_eq!(w.check(&outside).state, CertState::Unknown, "{alg:?}");
        assert_eq!(w.check(&no_cdp).state, CertState::Unknown, "{alg:?}");
    }
}
