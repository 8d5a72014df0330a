//! Base and delta CRLs over LDAP, as IGC-Santé publishes them: one `pkiCA`
//! entry of a real `OpenLDAP` `slapd` (tests/common/slapd.rs) holding
//! `certificateRevocationList;binary` and `deltaRevocationList;binary`;
//! certificates whose CRL distribution point and Freshest CRL name these
//! attributes by LDAP URL. `crl update`, `check` and `crl status` through
//! the CLI: a certificate revoked only in the delta is `revoked` with
//! `source: delta`; a delta changed in the directory (ldapmodify) is taken
//! by the next forced update; an orphan delta is ignored and said.
#![allow(clippy::unwrap_used, clippy::many_single_char_names)]

mod common;

use std::fmt::Write as _;

use common::Alg;
use common::crl::{CertSpec, CrlSpec, Revoked, World, build_cert_with, cdp_value, crl, now};
use common::slapd::{SUFFIX, Slapd};
use openssl::x509::X509;

const KEY_COMPROMISE: u8 = 1;
const SUPERSEDED: u8 = 4;

/// The entry where the intermediate publishes, and its URLs in the
/// IGC-Santé form (percent-encoded DN, attribute, scope, filter).
const CA_DN: &str = "cn=CRL TEST INTERMEDIATE,ou=PKI,o=test";

fn url(slapd: &Slapd, attr: &str) -> String {
    format!(
        "{}/cn=CRL%20TEST%20INTERMEDIATE,ou=PKI,o=test?{attr}?base?objectClass=pkiCA",
        slapd.url()
    )
}

/// A home trusting the intermediate, with correspondents a, b, c (and d,
/// not imported) whose certificates name the LDAP base and delta.
struct Bed {
    slapd: Slapd,
    world: World,
    a: X509,
    b: X509,
    c: X509,
    d: X509,
}

impl Bed {
    fn new() -> Self {
        let slapd = Slapd::start();
        slapd.add(&format!(
            "dn: ou=PKI,{SUFFIX}\nobjectClass: organizationalUnit\nou: PKI\n"
        ));
        let world = World::new(Alg::Ec, &[]);
        std::fs::write(
            world.dir.path().join("config.toml"),
            "[crl]\nproxy = \"none\"\nconnect_timeout_secs = 2\nread_timeout_secs = 2\ntotal_timeout_secs = 5\n",
        )
        .unwrap();
        world.trust(&[&world.inter]);
        let base_url = url(&slapd, "certificateRevocationList;binary");
        let delta_url = url(&slapd, "deltaRevocationList;binary");
        let leaf = |cn: &str| {
            let key = common::key(Alg::Ec);
            build_cert_with(
                &CertSpec::leaf(cn, &key, (&world.inter, &world.inter_key)).with_cdp(&[&base_url]),
                &[("2.5.29.46", cdp_value(&[&delta_url]))],
            )
        };
        let (a, b, c, d) = (leaf("Dr A"), leaf("Dr B"), leaf("Dr C"), leaf("Dr D"));
        for cert in [&a, &b, &c] {
            world.correspondent(cert);
        }
        Self {
            slapd,
            world,
            a,
            b,
            c,
            d,
        }
    }

    fn crl(&self, spec: &CrlSpec) -> Vec<u8> {
        crl(spec, &self.world.inter, &self.world.inter_key)
    }

    /// Creates the `pkiCA` entry with a base and a delta.
    fn publish(&self, base: &CrlSpec, delta: &CrlSpec) {
        let bfile = self.slapd.file("base.der", &self.crl(base));
        let dfile = self.slapd.file("delta.der", &self.crl(delta));
        let mut ldif = format!(
            "dn: {CA_DN}\nobjectClass: applicationProcess\nobjectClass: pkiCA\nobjectClass: deltaCRL\ncn: CRL TEST INTERMEDIATE\n"
        );
        writeln!(ldif, "certificateRevocationList;binary:< {bfile}").unwrap();
        writeln!(ldif, "deltaRevocationList;binary:< {dfile}").unwrap();
        self.slapd.add(&ldif);
    }

    /// Replaces the delta in the directory.
    fn replace_delta(&self, delta: &CrlSpec, name: &str) {
        let dfile = self.slapd.file(name, &self.crl(delta));
        self.slapd.modify(&format!(
            "dn: {CA_DN}\nchangetype: modify\nreplace: deltaRevocationList;binary\ndeltaRevocationList;binary:< {dfile}\n"
        ));
    }

    fn run(&self, args: &[&str]) -> (i32, Vec<u8>) {
        let out = common::store::certsafe(self.world.dir.path())
            .args(args)
            .output()
            .unwrap();
        (out.status.code().unwrap(), out.stdout)
    }

    fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let (code, out) = self.run(args);
        let v = serde_json::from_slice(&out).unwrap_or_else(|e| {
            panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out));
        });
        (code, v)
    }

    /// `crl update [--force] --json`: exit code and the intermediate's report.
    fn update(&self, force: bool) -> (i32, serde_json::Value) {
        let mut args = vec!["crl", "update", "--json"];
        if force {
            args.push("--force");
        }
        let (code, v) = self.json(&args);
        let fp = common::fp(&self.world.inter);
        let r = v["crls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ca_fingerprint"] == fp.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("no report for the CA: {v}"));
        (code, r)
    }

    /// `check --json` of one certificate.
    fn check(&self, cert: &X509) -> (i32, serde_json::Value) {
        let f = self.world.dir.path().join("checked.pem");
        std::fs::write(&f, cert.to_pem().unwrap()).unwrap();
        let (code, v) = self.json(&["check", "--json", f.to_str().unwrap()]);
        (code, v["certificates"][0].clone())
    }

    /// `crl status --json`: the intermediate's entry.
    fn status(&self) -> serde_json::Value {
        let (_, v) = self.json(&["crl", "status", "--json"]);
        let fp = common::fp(&self.world.inter);
        v["crls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["ca_fingerprint"] == fp.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("no CRL entry for the CA: {v}"))
    }
}

/// A delta numbered `number` for base `base`, issued ten minutes ago, next
/// update in two days.
fn delta_spec(number: u64, base: u64, revoked: Vec<Revoked>) -> CrlSpec {
    let t = now();
    CrlSpec {
        this_update: t - 600,
        next_update: Some(t + 2 * 86_400),
        number: Some(number),
        revoked,
        extensions: vec![common::crl::delta_indicator(base)],
    }
}

fn verdict(v: &serde_json::Value) -> (&str, &str) {
    (
        v["state"].as_str().unwrap_or_default(),
        v["source"].as_str().unwrap_or_default(),
    )
}

#[test]
fn base_and_delta_from_one_pkica_entry_then_the_delta_changes_then_an_orphan() {
    if !common::slapd::slapd_or_skip() {
        return;
    }
    let bed = Bed::new();
    let t = now();
    let base_url = url(&bed.slapd, "certificateRevocationList;binary");
    let delta_url = url(&bed.slapd, "deltaRevocationList;binary");
    bed.publish(
        &CrlSpec::fresh(10).revoking(vec![Revoked::cert(&bed.a, t - 7200, Some(KEY_COMPROMISE))]),
        &delta_spec(
            11,
            10,
            vec![Revoked::cert(&bed.b, t - 900, Some(KEY_COMPROMISE))],
        ),
    );

    // `crl update` fetches both over LDAP.
    let (code, r) = bed.update(false);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["outcome"], "updated", "{r}");
    assert_eq!(r["url"], base_url.as_str(), "{r}");
    assert_eq!(r["delta"]["outcome"], "updated", "{r}");
    assert_eq!(r["delta"]["url"], delta_url.as_str(), "{r}");

    // b is revoked only in the delta.
    let (code, b) = bed.check(&bed.b);
    assert_eq!(code, 2, "{b}");
    assert_eq!(verdict(&b), ("revoked", "delta"), "{b}");
    assert_eq!(b["reason"], "key_compromise");
    let (_, a) = bed.check(&bed.a);
    assert_eq!(verdict(&a), ("revoked", "crl"), "{a}");
    let (code, c) = bed.check(&bed.c);
    assert_eq!(code, 0, "{c}");
    assert_eq!(verdict(&c), ("good", "crl"), "{c}");

    // `crl status --json` shows the delta.
    let e = bed.status();
    assert_eq!(e["state"], "fresh", "{e}");
    assert_eq!(e["crl_number"], "0a", "{e}");
    let d = &e["delta"];
    assert_eq!(d["state"], "fresh", "{d}");
    assert_eq!(d["url"], delta_url.as_str(), "{d}");
    assert_eq!(d["crl_number"], "0b", "{d}");
    assert_eq!(d["base_crl_number"], "0a", "{d}");
    assert_eq!(d["entries"], 1, "{d}");
    assert!(d["ignored"].is_null(), "{d}");
    // The text shows the delta's numbers too.
    let (_, text) = bed.run(&["crl", "status"]);
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains(" 0b ") && l.contains(" 0a")),
        "{text}"
    );
    assert!(text.contains(&delta_url), "{text}");

    // The directory publishes a new delta (c superseded): a forced update
    // takes it.
    bed.replace_delta(
        &delta_spec(
            12,
            10,
            vec![
                Revoked::cert(&bed.b, t - 900, Some(KEY_COMPROMISE)),
                Revoked::cert(&bed.c, t - 300, Some(SUPERSEDED)),
            ],
        ),
        "delta-12.der",
    );
    let (code, r) = bed.update(true);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["outcome"], "unchanged", "the base did not change: {r}");
    assert_eq!(r["delta"]["outcome"], "updated", "{r}");
    let (code, c) = bed.check(&bed.c);
    assert_eq!(code, 2, "{c}");
    assert_eq!(verdict(&c), ("revoked", "delta"), "{c}");
    assert_eq!(c["reason"], "superseded");
    let d = bed.status()["delta"].clone();
    assert_eq!(d["crl_number"], "0c", "{d}");
    assert_eq!(d["base_crl_number"], "0a", "{d}");
    assert_eq!(d["entries"], 2, "{d}");

    // An orphan delta (for base 13, which certsafe does not have): refused
    // and said; what it lists (d revoked) counts for nothing.
    bed.world.correspondent(&bed.d);
    bed.replace_delta(
        &delta_spec(
            14,
            13,
            vec![Revoked::cert(&bed.d, t - 60, Some(KEY_COMPROMISE))],
        ),
        "delta-orphan.der",
    );
    let (code, r) = bed.update(true);
    assert_eq!(code, 0, "an orphan delta does not fail the update: {r}");
    assert_eq!(r["delta"]["outcome"], "invalid", "{r}");
    assert_eq!(r["delta"]["cause"]["detail"]["code"], "delta_orphan", "{r}");
    let d = bed.status()["delta"].clone();
    assert_eq!(d["cause"]["detail"]["code"], "delta_orphan", "{d}");
    assert_eq!(d["cause"]["detail"]["indicator"], "0d", "{d}");
    assert_eq!(d["cause"]["detail"]["base"], "0a", "{d}");
    assert!(d["reason"].is_string(), "said in words too: {d}");
    let (code, dd) = bed.check(&bed.d);
    assert_ne!(dd["state"], "revoked", "{dd}");
    assert_ne!(dd["source"], "delta", "{dd}");
    assert_eq!(code, 0, "{dd}");
    // The last accepted delta (0c) still stands: c stays revoked.
    assert_eq!(d["crl_number"], "0c", "{d}");
    let (_, c) = bed.check(&bed.c);
    assert_eq!(verdict(&c), ("revoked", "delta"), "{c}");
}
