//! LDAP CRLs over TLS, against a real `OpenLDAP` `slapd` configured with a
//! CA and a server certificate made here (`TLSCACertificateFile`,
//! `TLSCertificateFile`, `TLSCertificateKeyFile`; listening on `ldap://`
//! and `ldaps://`): an `ldaps://` URL and a URL with the `StartTLS` extension
//! fetch the CRL when the server's certificate chains to a CA the client
//! trusts; a server certificate from an unknown CA, or for another name,
//! fails with a code and the certificate is never `good`; `StartTLS` never
//! falls back to plain text.
//!
//! certsafe trusts LDAPS servers as it trusts HTTPS ones: the system's
//! store, through native-tls and OpenSSL (`/etc/ssl/certs`, or the files
//! `SSL_CERT_FILE`/`SSL_CERT_DIR` name). The tests give the test CA with
//! `SSL_CERT_FILE` in the environment of the `certsafe` child process only.
#![allow(clippy::unwrap_used)]

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::Alg;
use common::crl::{CrlSpec, Revoked, World, crl};
use common::slapd::{SUFFIX, Slapd, TlsFiles, TlsSlapd};
use openssl::x509::X509;

/// A CA and a server certificate for 127.0.0.1 (IP only), with `openssl`;
/// and another CA the server does not use. Returns (ca, cert, key, other).
fn tls_material(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let d = dir.display();
    let ca =
        "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign";
    common::sh(&format!(
        "cd '{d}' && \
         openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=LDAPS TEST CA' {ca} 2>&1 && \
         openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.pem -days 2 -subj '/CN=LDAPS TEST CA' {ca} 2>&1 && \
         openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj '/CN=127.0.0.1' 2>&1 && \
         printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\nkeyUsage=critical,digitalSignature\\n' > srv.ext && \
         openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile srv.ext -out srv.pem 2>&1"
    ));
    (
        dir.join("ca.pem"),
        dir.join("srv.pem"),
        dir.join("srv.key"),
        dir.join("other.pem"),
    )
}

/// A home trusting a fresh intermediate, whose CRL (revoking the leaf) is
/// published under `cn=NAME,ou=PKI,o=test`; the leaf names `url(dn)` only.
struct Case {
    world: World,
    leaf: X509,
    url: String,
}

impl Case {
    fn new(slapd: &Slapd, name: &str, url: impl Fn(&str) -> String) -> Self {
        let world = World::new(Alg::Ec, &[]);
        std::fs::write(
            world.dir.path().join("config.toml"),
            "[crl]\nproxy = \"none\"\nconnect_timeout_secs = 3\nread_timeout_secs = 3\ntotal_timeout_secs = 6\n",
        )
        .unwrap();
        world.trust(&[&world.inter]);
        let dn = format!("cn={name},ou=PKI,{SUFFIX}");
        let url = url(&dn);
        let leaf = world.leaf("Dr Tls", Alg::Ec, &[&url]);
        world.correspondent(&leaf);
        let der = crl(
            &CrlSpec::fresh(7).revoking(vec![Revoked::cert(
                &leaf,
                common::crl::now() - 60,
                Some(1),
            )]),
            &world.inter,
            &world.inter_key,
        );
        let file = slapd.file(&format!("{name}.der"), &der);
        let mut ldif =
            format!("dn: {dn}\nobjectClass: applicationProcess\nobjectClass: pkiCA\ncn: {name}\n");
        writeln!(ldif, "certificateRevocationList;binary:< {file}").unwrap();
        slapd.add(&ldif);
        Self { world, leaf, url }
    }

    /// `crl update --force --json` with `SSL_CERT_FILE=trust` for the child
    /// only: the intermediate's report.
    fn update(&self, trust: &Path) -> (i32, serde_json::Value) {
        let out = common::store::certsafe(self.world.dir.path())
            .args(["crl", "update", "--force", "--json"])
            .env("SSL_CERT_FILE", trust)
            .env_remove("SSL_CERT_DIR")
            .output()
            .unwrap();
        // A failed update prints its report, then the error object.
        let v: serde_json::Value = serde_json::Deserializer::from_slice(&out.stdout)
            .into_iter()
            .next()
            .and_then(Result::ok)
            .unwrap_or_else(|| {
                panic!(
                    "{}\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        let fp = common::fp(&self.world.inter);
        let r = v["crls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ca_fingerprint"] == fp.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("no report for the CA: {v}"));
        (out.status.code().unwrap(), r)
    }

    /// `check --json` of the leaf: exit code and state.
    fn check(&self) -> (i32, serde_json::Value) {
        let f = self.world.dir.path().join("leaf.pem");
        std::fs::write(&f, self.leaf.to_pem().unwrap()).unwrap();
        let out = common::store::certsafe(self.world.dir.path())
            .args(["check", "--json"])
            .arg(&f)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), v["certificates"][0].clone())
    }
}

fn crl_path(dn: &str) -> String {
    format!(
        "{}?certificateRevocationList;binary?base?objectClass=pkiCA",
        dn.replace(' ', "%20")
    )
}

/// A failed TLS fetch: exit 1, cause `fetch` / `ldap` / `tls`.
fn assert_tls_failure((code, r): &(i32, serde_json::Value)) {
    assert_eq!(*code, 1, "{r}");
    assert_eq!(r["outcome"], "unreachable", "{r}");
    assert_eq!(r["cause"]["kind"], "fetch", "{r}");
    assert_eq!(r["cause"]["detail"]["code"], "ldap", "{r}");
    assert_eq!(r["cause"]["detail"]["error"]["code"], "tls", "{r}");
}

#[test]
fn ldaps_and_starttls_fetch_from_a_trusted_server_and_refuse_an_unknown_one() {
    if !common::slapd::slapd_or_skip() || !common::require("openssl") {
        return;
    }
    let files = tempfile::tempdir().unwrap();
    let (ca, cert, key, other) = tls_material(files.path());
    let slapd = TlsSlapd::start(&TlsFiles {
        ca: &ca,
        cert: &cert,
        key: &key,
    });
    slapd.slapd.add(&format!(
        "dn: ou=PKI,{SUFFIX}\nobjectClass: organizationalUnit\nou: PKI\n"
    ));
    let ldaps = slapd.ldaps_url();
    let plain = slapd.slapd.url();
    let cases = [
        Case::new(&slapd.slapd, "LDAPS CA", |dn| {
            format!("{ldaps}/{}", crl_path(dn))
        }),
        Case::new(&slapd.slapd, "STARTTLS CA", |dn| {
            format!("{plain}/{}?!StartTLS", crl_path(dn))
        }),
        Case::new(&slapd.slapd, "STARTTLS OID CA", |dn| {
            format!("{plain}/{}?1.3.6.1.4.1.1466.20037", crl_path(dn))
        }),
    ];
    for case in &cases {
        // A server certificate from a CA the client does not know: a code,
        // never `good`, and StartTLS does not go on in plain text.
        let r = case.update(&other);
        assert_tls_failure(&r);
        let (code, c) = case.check();
        assert_eq!(c["state"], "unknown", "{}: {c}", case.url);
        assert_eq!(code, 3, "{c}");

        // The CA trusted: fetched over TLS, the verdict is right.
        let (code, r) = case.update(&ca);
        assert_eq!(code, 0, "{r}");
        assert_eq!(r["outcome"], "updated", "{}: {r}", case.url);
        assert_eq!(r["url"], case.url.as_str(), "{r}");
        let (code, c) = case.check();
        assert_eq!(c["state"], "revoked", "{}: {c}", case.url);
        assert_eq!(code, 2, "{c}");
    }
}

#[test]
fn a_server_certificate_for_another_name_is_refused() {
    if !common::slapd::slapd_or_skip() || !common::require("openssl") {
        return;
    }
    let files = tempfile::tempdir().unwrap();
    let (ca, cert, key, _) = tls_material(files.path());
    let slapd = TlsSlapd::start(&TlsFiles {
        ca: &ca,
        cert: &cert,
        key: &key,
    });
    slapd.slapd.add(&format!(
        "dn: ou=PKI,{SUFFIX}\nobjectClass: organizationalUnit\nou: PKI\n"
    ));
    // The certificate names 127.0.0.1 only; `localhost` reaches the same
    // server but is not its name.
    let port = slapd.ldaps_port;
    let case = Case::new(&slapd.slapd, "NAME CA", |dn| {
        format!("ldaps://localhost:{port}/{}", crl_path(dn))
    });
    let r = case.update(&ca);
    assert_tls_failure(&r);
    let (code, c) = case.check();
    assert_eq!(c["state"], "unknown", "{c}");
    assert_eq!(code, 3, "{c}");
}

#[test]
fn starttls_to_a_server_without_tls_fails_and_never_reads_in_plain_text() {
    if !common::slapd::slapd_or_skip() {
        return;
    }
    let files = tempfile::tempdir().unwrap();
    let slapd = Slapd::start();
    slapd.add(&format!(
        "dn: ou=PKI,{SUFFIX}\nobjectClass: organizationalUnit\nou: PKI\n"
    ));
    let plain = slapd.url();
    let case = Case::new(&slapd, "PLAIN CA", |dn| {
        format!("{plain}/{}?!StartTLS", crl_path(dn))
    });
    let (code, r) = case.update(&files.path().join("none.pem"));
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["outcome"], "unreachable", "{r}");
    assert_eq!(r["cause"]["detail"]["code"], "ldap", "{r}");
    // The server refuses the StartTLS operation: an LDAP result code.
    assert_eq!(r["cause"]["detail"]["error"]["code"], "result", "{r}");
    let (code, c) = case.check();
    assert_eq!(c["state"], "unknown", "{c}");
    assert_eq!(code, 3, "{c}");
}
