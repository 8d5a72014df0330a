//! The CLI contract of `ca`, `correspondent`, `crl` and `check`: exit codes,
//! the JSON keys of PRODUCT.md, messages in English and French.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::crl::{CertSpec, CrlSpec, Revoked, build_cert, crl, now, pem};
use common::http::{Reply, Server};
use common::{Alg, Home, fp};
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
    fn new(leaf_cdp: &[&str]) -> Self {
        let root_key = common::key(Alg::Ec);
        let root = build_cert(&CertSpec::ca("CLI ROOT", &root_key, None));
        let inter_key = common::key(Alg::Ec);
        let inter = build_cert(&CertSpec::ca(
            "CLI INTERMEDIATE",
            &inter_key,
            Some((&root, &root_key)),
        ));
        let leaf_key = common::key(Alg::Rsa);
        let leaf = build_cert(
            &CertSpec::leaf("Dr Eve Martin", &leaf_key, (&inter, &inter_key)).with_cdp(leaf_cdp),
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

    fn leaf_pem(&self) -> PathBuf {
        self.file("leaf.pem", &self.leaf.to_pem().unwrap())
    }

    fn inter_crl(&self, spec: &CrlSpec, name: &str) -> PathBuf {
        self.file(name, &crl(spec, &self.inter, &self.inter_key))
    }

    fn root_crl(&self) -> PathBuf {
        self.file(
            "root.crl",
            &crl(&CrlSpec::fresh(1), &self.root, &self.root_key),
        )
    }
}

fn run(home: &Home, args: &[&str]) -> std::process::Output {
    home.cmd().args(args).output().unwrap()
}

fn run_paths(home: &Home, args: &[&str], paths: &[&Path]) -> std::process::Output {
    home.cmd().args(args).args(paths).output().unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

#[test]
fn ca_import_list_remove() {
    let home = Home::new();
    let pki = Pki::new(&[]);
    let root_der = pki.file("root.der", &pki.root.to_der().unwrap());
    let inter_pem = pki.file("inter.pem", &pki.inter.to_pem().unwrap());
    let out = run_paths(&home, &["ca", "import"], &[&root_der, &inter_pem]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let printed: Vec<&str> = text.lines().map(str::trim).collect();
    assert_eq!(
        printed,
        vec![fp(&pki.root).as_str(), fp(&pki.inter).as_str()]
    );
    assert!(stderr(&out).contains("added"));
    // Again: already present, still success.
    let out = run_paths(&home, &["ca", "import", "--json"], &[&pki.cas()]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v[0]["action"], "already_present");
    // A leaf is not a CA: refused, nothing written.
    let out = run_paths(&home, &["ca", "import"], &[&pki.leaf_pem()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not a CA certificate"),
        "{}",
        stderr(&out)
    );
    let out = home
        .cmd()
        .args(["--lang", "fr", "ca", "import"])
        .arg(pki.leaf_pem())
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("n'est pas un certificat d'AC"),
        "{}",
        stderr(&out)
    );
    let out = run(&home, &["ca", "list", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let list = json(&out);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    for item in list {
        assert!(item["fingerprint"].as_str().unwrap().len() == 64);
        assert!(item["subject"].as_str().unwrap().contains("CLI"));
    }
    assert_eq!(list[0]["root"], true);
    let out = run(&home, &["ca", "list"]);
    assert!(stdout(&out).contains(&fp(&pki.inter)));
    // Remove by a prefix; an unknown one fails.
    let prefix = &fp(&pki.inter)[..12];
    let out = run(&home, &["ca", "remove", prefix]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        json(&run(&home, &["ca", "list", "--json"]))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let out = run(&home, &["ca", "remove", "deadbeefdeadbeef"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("ca list"));
    // Unreadable file and usage errors.
    let out = run(&home, &["ca", "import", "/nonexistent/ca.pem"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(run(&home, &["ca", "import"]).status.code(), Some(64));
    assert_eq!(run(&home, &["ca", "remove"]).status.code(), Some(64));
}

#[test]
fn correspondents_from_pem_der_p7b_p7s_and_signed_mail() {
    if !common::require("openssl") {
        return;
    }
    let home = Home::new();
    let pki = Pki::new(&[]);
    let others: Vec<(PKey<Private>, X509)> = (0..4)
        .map(|i| {
            let k = common::key(Alg::Ec);
            let cn = format!("Dr Corr {i}");
            let c = build_cert(&CertSpec::leaf(&cn, &k, (&pki.inter, &pki.inter_key)));
            (k, c)
        })
        .collect();
    let pem_file = pki.file("a.pem", &others[0].1.to_pem().unwrap());
    let der_file = pki.file("b.cer", &others[1].1.to_der().unwrap());
    let c_file = pki.file("c.pem", &others[2].1.to_pem().unwrap());
    let p7b = pki.files.path().join("c.p7b");
    common::sh(&format!(
        "openssl crl2pkcs7 -nocrl -certfile {} -outform DER -out {}",
        c_file.display(),
        p7b.display()
    ));
    // A signed message carrying the signer and its chain.
    let mut chain = openssl::stack::Stack::new().unwrap();
    chain.push(pki.inter.clone()).unwrap();
    let body = b"Content-Type: text/plain\r\n\r\nBonjour, voici le compte rendu.\r\n";
    let p7 = openssl::pkcs7::Pkcs7::sign(
        &others[3].1,
        &others[3].0,
        &chain,
        body,
        openssl::pkcs7::Pkcs7Flags::DETACHED,
    )
    .unwrap();
    let smime = p7
        .to_smime(body, openssl::pkcs7::Pkcs7Flags::DETACHED)
        .unwrap();
    let mut eml = b"From: dr.corr3@example.fr\r\nTo: moi@example.fr\r\nSubject: CR\r\nDate: Tue, 24 Nov 2026 08:00:00 +0000\r\n".to_vec();
    eml.extend(smime);
    let eml_file = pki.file("message.eml", &eml);
    let p7s_file = pki.file("smime.p7s", &p7.to_der().unwrap());

    let out = run_paths(
        &home,
        &["correspondent", "import", "--json"],
        &[&pem_file, &der_file, &p7b, &eml_file],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    let added: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == "added")
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = others.iter().map(|(_, c)| fp(c)).collect();
    assert_eq!(
        added,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|i| i["action"] == "skipped"),
        "the CA in the mail is skipped"
    );
    let out = run_paths(&home, &["correspondent", "import"], &[&p7s_file]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("already present"));
    // Only CA certificates: nothing to import.
    let out = run_paths(&home, &["correspondent", "import"], &[&pki.cas()]);
    assert_eq!(out.status.code(), Some(1));
    // Not a certificate at all.
    let junk = pki.file("junk.txt", b"hello");
    let out = run_paths(&home, &["correspondent", "import"], &[&junk]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("holds no certificate"));

    // List: untrusted until the CAs are imported.
    let out = run(&home, &["correspondent", "list", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let list = json(&out);
    assert_eq!(list.as_array().unwrap().len(), 4);
    for item in list.as_array().unwrap() {
        for key in ["fingerprint", "subject", "state", "revoked_at", "reason"] {
            assert!(item.get(key).is_some(), "{key} missing: {item}");
        }
        assert_eq!(item["state"], "untrusted");
    }
    run_paths(&home, &["ca", "import"], &[&pki.cas()]);
    run_paths(&home, &["crl", "import"], &[&pki.root_crl()]);
    let revoking =
        CrlSpec::fresh(1).revoking(vec![Revoked::cert(&others[0].1, now() - 3600, Some(1))]);
    let out = run_paths(
        &home,
        &["crl", "import"],
        &[&pki.inter_crl(&revoking, "i.crl")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list = json(&run(&home, &["correspondent", "list", "--json"]));
    let by_fp: HashMap<String, serde_json::Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["fingerprint"].as_str().unwrap().to_string(), i.clone()))
        .collect();
    let revoked = &by_fp[&fp(&others[0].1)];
    assert_eq!(revoked["state"], "revoked");
    assert_eq!(revoked["reason"], "key_compromise");
    assert!(revoked["revoked_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(by_fp[&fp(&others[1].1)]["state"], "good");
    assert_eq!(
        by_fp[&fp(&others[1].1)]["revoked_at"],
        serde_json::Value::Null
    );
    let out = run(&home, &["--lang", "fr", "correspondent", "list"]);
    assert!(stdout(&out).contains("révoqué"), "{}", stdout(&out));

    // Remove by prefix; unknown fails.
    let out = run(&home, &["correspondent", "remove", &fp(&others[0].1)[..10]]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(&home, &["correspondent", "remove", "0000000000"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        json(&run(&home, &["correspondent", "list", "--json"]))
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn crl_status_and_check_exit_codes_and_json() {
    let home = Home::new();
    let pki = Pki::new(&[]);
    // Nothing set up.
    let out = run(&home, &["crl", "status", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json(&out)["level"], "unknown");
    let out = run_paths(&home, &["check"], &[&pki.leaf_pem()]);
    assert_eq!(out.status.code(), Some(2), "untrusted is critical");
    assert!(stdout(&out).contains("UNTRUSTED"));

    run_paths(&home, &["ca", "import"], &[&pki.cas()]);
    run_paths(&home, &["correspondent", "import"], &[&pki.leaf_pem()]);
    // CAs imported, no CRL yet: missing (critical), the leaf unknown (3).
    let out = run(&home, &["crl", "status", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let v = json(&out);
    assert_eq!(v["level"], "critical");
    let crls = v["crls"].as_array().unwrap();
    assert_eq!(crls.len(), 2, "{v}");
    for c in crls {
        for key in [
            "issuer",
            "url",
            "state",
            "this_update",
            "next_update",
            "entries",
        ] {
            assert!(c.get(key).is_some(), "{key} missing in {c}");
        }
        assert_eq!(c["state"], "missing");
    }
    let cert = &v["certificates"][0];
    for key in ["fingerprint", "subject", "state", "revoked_at", "reason"] {
        assert!(cert.get(key).is_some(), "{key} missing in {cert}");
    }
    let out = run_paths(&home, &["check", "--json"], &[&pki.leaf_pem()]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json(&out)["certificates"][0]["state"], "unknown");

    // CRLs imported (DER and PEM): fresh, good, 0.
    let inter_good = crl(&CrlSpec::fresh(1), &pki.inter, &pki.inter_key);
    let inter_pem = pki.file("inter.pem.crl", &pem(&inter_good));
    let out = run_paths(&home, &["crl", "import"], &[&pki.root_crl(), &inter_pem]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Imported the CRL of"));
    let out = run(&home, &["crl", "status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let v = json(&out);
    assert!(
        v["crls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["state"] == "fresh")
    );
    assert_eq!(v["crls"][1]["entries"], 0);
    assert!(v["crls"][1]["next_update"].as_str().unwrap().ends_with('Z'));
    let out = run_paths(&home, &["check", "--json"], &[&pki.leaf_pem(), &pki.cas()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let v = json(&out);
    let states: Vec<&str> = v["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["good", "good", "good"]);
    assert_eq!(v["certificates"][0]["chain"].as_array().unwrap().len(), 2);

    // The leaf revoked: 2, with date and reason, in both languages.
    let revoking =
        CrlSpec::fresh(2).revoking(vec![Revoked::cert(&pki.leaf, now() - 7200, Some(4))]);
    run_paths(
        &home,
        &["crl", "import"],
        &[&pki.inter_crl(&revoking, "r.crl")],
    );
    let out = run_paths(&home, &["check", "--json"], &[&pki.leaf_pem()]);
    assert_eq!(out.status.code(), Some(2));
    let c = &json(&out)["certificates"][0];
    assert_eq!(c["state"], "revoked");
    assert_eq!(c["reason"], "superseded");
    assert!(c["revoked_at"].as_str().unwrap().ends_with('Z'));
    let out = run_paths(&home, &["check"], &[&pki.leaf_pem()]);
    assert!(
        stdout(&out).contains("REVOKED") && stdout(&out).contains("superseded"),
        "{}",
        stdout(&out)
    );
    let out = home
        .cmd()
        .args(["--lang", "fr", "check"])
        .arg(pki.leaf_pem())
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("RÉVOQUÉ") && stdout(&out).contains("remplacé"),
        "{}",
        stdout(&out)
    );
    // `status` shows it in the revocation pane.
    let out = run(&home, &["status", "--json"]);
    let v = json(&out);
    assert!(
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["code"] == "correspondent_revoked"),
        "{v}"
    );

    // A forged CRL: import fails (1), the cached one stays, the state is invalid.
    let forged = crl(&CrlSpec::fresh(3), &pki.inter, &common::key(Alg::Ec));
    let f = pki.file("forged.crl", &forged);
    let out = run_paths(&home, &["crl", "import"], &[&f]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("signature does not verify"),
        "{}",
        stderr(&out)
    );
    let out = home
        .cmd()
        .args(["--lang", "fr", "crl", "import"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("signature de la LCR ne se vérifie pas"),
        "{}",
        stderr(&out)
    );
    // --json says each file's code: the forged one, a file that is no CRL,
    // a folder (the file given, not the cache, is named).
    let junk = pki.file("junk.crl", b"hello");
    let folder = tempfile::tempdir().unwrap();
    let out = run_paths(
        &home,
        &["crl", "import", "--json"],
        &[&f, &junk, folder.path()],
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let codes: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(codes, ["bad_signature", "not_a_crl", "read_file"], "{v}");
    let v = json(&run(&home, &["crl", "status", "--json"]));
    let inter = v["crls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["issuer"].as_str().unwrap().contains("INTERMEDIATE"))
        .unwrap()
        .clone();
    assert_eq!(inter["state"], "invalid");
    assert_eq!(inter["crl_number"], "02");
    assert_eq!(
        run_paths(&home, &["check"], &[&pki.leaf_pem()])
            .status
            .code(),
        Some(2)
    );

    // Due (nextUpdate within the 24 h window): warning, 1.
    let mut due = CrlSpec::fresh(4);
    due.next_update = Some(now() + 7200);
    run_paths(
        &home,
        &["crl", "import"],
        &[&pki.inter_crl(&due, "due.crl")],
    );
    let out = run(&home, &["crl", "status"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("DUE"));
    // Expired: critical, 2; certificates unknown.
    let mut expired = CrlSpec::fresh(5);
    expired.this_update = now() - 1800;
    expired.next_update = Some(now() - 60);
    run_paths(
        &home,
        &["crl", "import"],
        &[&pki.inter_crl(&expired, "exp.crl")],
    );
    let out = run(&home, &["crl", "status", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&home, &["--lang", "fr", "crl", "status"]);
    assert!(stdout(&out).contains("EXPIRÉ"), "{}", stdout(&out));
    let out = run_paths(&home, &["check"], &[&pki.leaf_pem()]);
    assert_eq!(out.status.code(), Some(3));
    let v = json(&run(&home, &["status", "--json"]));
    assert!(
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["code"] == "crl_expired"),
        "{v}"
    );
    // Usage and unreadable files.
    assert_eq!(run(&home, &["check"]).status.code(), Some(64));
    let out = run(&home, &["check", "/nonexistent.pem"]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn crl_update_from_the_command_line() {
    let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::new(Mutex::new(HashMap::new()));
    let r2 = routes.clone();
    let server = Server::start(move |req| {
        r2.lock()
            .unwrap()
            .get(&req.target)
            .cloned()
            .unwrap_or(Reply::Status(404))
    });
    let url = server.url("/inter.crl");
    let pki = Pki::new(&[&url]);
    let home = Home::new();
    std::fs::write(
        home.path().join("config.toml"),
        "[crl]\nproxy = \"none\"\nread_timeout_secs = 2\ntotal_timeout_secs = 5\n",
    )
    .unwrap();
    let inter_pem = pki.file("inter.pem", &pki.inter.to_pem().unwrap());
    run_paths(&home, &["ca", "import"], &[&inter_pem]);
    run_paths(&home, &["correspondent", "import"], &[&pki.leaf_pem()]);
    routes.lock().unwrap().insert(
        "/inter.crl".into(),
        Reply::crl(crl(&CrlSpec::fresh(1), &pki.inter, &pki.inter_key)),
    );
    let out = run(&home, &["crl", "update", "--json", "--jitter", "1s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["crls"][0]["outcome"], "updated");
    assert_eq!(v["crls"][0]["url"], url.as_str());
    let out = run(&home, &["crl", "update"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("fresh, not due"), "{}", stdout(&out));
    let out = run_paths(&home, &["check"], &[&pki.leaf_pem()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // The server fails: exit 1, the cached copy kept.
    routes
        .lock()
        .unwrap()
        .insert("/inter.crl".into(), Reply::Status(500));
    let out = run(&home, &["crl", "update", "--force"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("UNREACHABLE") && stdout(&out).contains("500"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).starts_with("certsafe: "), "{}", stderr(&out));
    // With --json: exit 1 and exactly one JSON document, the report with
    // the error beside it.
    let out = run(&home, &["crl", "update", "--force", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let docs: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("stdout is JSON");
    assert_eq!(docs.len(), 1, "{}", stdout(&out));
    assert_eq!(docs[0]["crls"][0]["outcome"], "unreachable");
    assert_eq!(docs[0]["error"]["code"], "crl_update_failed");
    assert_eq!(docs[0]["error"]["exit_code"], 1);
    let out = run(&home, &["--lang", "fr", "crl", "update", "--force"]);
    assert!(stdout(&out).contains("INJOIGNABLE"), "{}", stdout(&out));
    assert_eq!(
        run_paths(&home, &["check"], &[&pki.leaf_pem()])
            .status
            .code(),
        Some(0)
    );
    let v = json(&run(&home, &["crl", "status", "--json"]));
    assert_eq!(v["crls"][0]["state"], "unreachable");
    assert_eq!(v["level"], "warning");
    // A bad duration is a usage error.
    let out = run(&home, &["crl", "update", "--jitter", "soon"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(stderr(&out).contains("not a duration"));
    drop(pki.root_key);
    drop(pki.leaf_key);
}

/// A CRL failure is stored as a code: whoever reads it gets it in their own
/// language, whatever the language of the run that fetched it.
#[test]
fn failure_reasons_are_told_in_the_readers_language() {
    // Port 1 on the loopback: connection refused.
    let url = "http://127.0.0.1:1/inter.crl";
    let pki = Pki::new(&[url]);
    let home = Home::new();
    assert_eq!(
        run_paths(&home, &["ca", "import"], &[&pki.cas()])
            .status
            .code(),
        Some(0)
    );
    let out = run_paths(&home, &["correspondent", "import"], &[&pki.leaf_pem()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let reason = |lang: &str| -> String {
        let v = json(&run(&home, &["--lang", lang, "crl", "status", "--json"]));
        let crls = v["crls"].as_array().unwrap();
        let e = crls
            .iter()
            .find(|c| c["url"] == url)
            .expect("the CRL listed");
        assert_eq!(e["state"], "unreachable", "{e}");
        e["reason"].as_str().unwrap().to_string()
    };
    let alert = |lang: &str| -> String {
        let v = json(&run(&home, &["--lang", lang, "status", "--json"]));
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["code"] == "crl_unreachable")
            .expect("an unreachable alert")["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let _ = run(&home, &["--lang", "en", "crl", "update"]);
    let (fr_after_en, en_after_en) = (reason("fr"), reason("en"));
    let (fr_alert_after_en, en_alert_after_en) = (alert("fr"), alert("en"));
    let _ = run(&home, &["--lang", "fr", "crl", "update", "--force"]);
    assert_eq!(
        reason("fr"),
        fr_after_en,
        "the fetching run's language leaks"
    );
    assert_eq!(
        reason("en"),
        en_after_en,
        "the fetching run's language leaks"
    );
    assert_eq!(alert("fr"), fr_alert_after_en);
    assert_eq!(alert("en"), en_alert_after_en);
    assert_ne!(fr_after_en, en_after_en, "one reason, two languages");
    // Nothing translated is stored: state.json holds the code.
    let state = std::fs::read_to_string(home.path().join("cache/crl/state.json")).unwrap();
    assert!(
        state.contains("\"kind\":\"fetch\"") || state.contains("\"kind\": \"fetch\""),
        "{state}"
    );
    assert!(!state.contains(&en_after_en) && !state.contains(&fr_after_en));
}
