//! Test material for CRLs: certificates with distribution points, CAs
//! without cRLSign, and CRLs built field by field (the openssl crate has no
//! CRL builder): the `TBSCertList` is written with certsafe's DER writer and
//! signed with `openssl::sign::Signer`.
#![allow(dead_code, clippy::unwrap_used, clippy::missing_panics_doc)]

use certsafe::domain::ber::{self, der, der_oid, der_uint, tag};
use certsafe::domain::certext::der_time;
use openssl::asn1::{Asn1Object, Asn1OctetString, Asn1Time};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::sign::Signer;
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::{X509, X509Builder, X509Extension, X509NameBuilder};

/// Unix seconds now.
pub fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// The DER of a CRL Distribution Points extension value with these URIs.
pub fn cdp_value(urls: &[&str]) -> Vec<u8> {
    let mut points = Vec::new();
    for u in urls {
        let gn = der(0x86, u.as_bytes());
        let full = der(0xa0, &gn);
        let dpn = der(0xa0, &full);
        points.extend(der(tag::SEQUENCE, &dpn));
    }
    der(tag::SEQUENCE, &points)
}

/// Options of a generated certificate.
pub struct CertSpec<'a> {
    /// Common name.
    pub cn: &'a str,
    /// Subject key.
    pub key: &'a PKey<Private>,
    /// Issuer (None: self-signed).
    pub issuer: Option<(&'a X509, &'a PKey<Private>)>,
    /// A CA?
    pub ca: bool,
    /// For a CA: may it sign CRLs?
    pub crl_sign: bool,
    /// Validity start, days before now.
    pub days_before: i64,
    /// Validity end, days after now.
    pub days_after: i64,
    /// CRL distribution points.
    pub cdp: Vec<String>,
    /// A chosen serial number (None: 120 random bits).
    pub serial: Option<i64>,
}

impl<'a> CertSpec<'a> {
    /// A leaf issued by `issuer`, valid for a year.
    pub fn leaf(
        cn: &'a str,
        key: &'a PKey<Private>,
        issuer: (&'a X509, &'a PKey<Private>),
    ) -> Self {
        Self {
            cn,
            key,
            issuer: Some(issuer),
            ca: false,
            crl_sign: false,
            days_before: 1,
            days_after: 365,
            cdp: Vec::new(),
            serial: None,
        }
    }

    /// A CA (self-signed when `issuer` is None).
    pub fn ca(
        cn: &'a str,
        key: &'a PKey<Private>,
        issuer: Option<(&'a X509, &'a PKey<Private>)>,
    ) -> Self {
        Self {
            cn,
            key,
            issuer,
            ca: true,
            crl_sign: true,
            days_before: 1,
            days_after: 3650,
            cdp: Vec::new(),
            serial: None,
        }
    }

    /// With these distribution points.
    pub fn with_cdp(mut self, urls: &[&str]) -> Self {
        self.cdp = urls.iter().map(|s| (*s).to_string()).collect();
        self
    }
}

/// Builds a certificate from a spec.
pub fn build_cert(spec: &CertSpec<'_>) -> X509 {
    build_cert_with(spec, &[])
}

/// Builds a certificate from a spec, with extra non-critical extensions
/// (OID, value DER), e.g. a Freshest CRL (`2.5.29.46`, [`cdp_value`]).
pub fn build_cert_with(spec: &CertSpec<'_>, extra: &[(&str, Vec<u8>)]) -> X509 {
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let mut bn = openssl::bn::BigNum::new().unwrap();
    if let Some(n) = spec.serial {
        bn = openssl::bn::BigNum::from_dec_str(&n.to_string()).unwrap();
    } else {
        bn.rand(120, openssl::bn::MsbOption::MAYBE_ZERO, false)
            .unwrap();
    }
    b.set_serial_number(&bn.to_asn1_integer().unwrap()).unwrap();
    let mut nb = X509NameBuilder::new().unwrap();
    nb.append_entry_by_nid(Nid::COUNTRYNAME, "FR").unwrap();
    nb.append_entry_by_nid(Nid::ORGANIZATIONNAME, "CERTSAFE CRL TEST")
        .unwrap();
    nb.append_entry_by_nid(Nid::COMMONNAME, spec.cn).unwrap();
    let subject = nb.build();
    b.set_subject_name(&subject).unwrap();
    match spec.issuer {
        Some((ic, _)) => b.set_issuer_name(ic.subject_name()).unwrap(),
        None => b.set_issuer_name(&subject).unwrap(),
    }
    let t = now();
    b.set_not_before(&Asn1Time::from_unix(t - spec.days_before * 86_400).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(t + spec.days_after * 86_400).unwrap())
        .unwrap();
    b.set_pubkey(spec.key).unwrap();
    if spec.ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        let mut ku = KeyUsage::new();
        ku.critical().key_cert_sign();
        if spec.crl_sign {
            ku.crl_sign();
        }
        b.append_extension(ku.build().unwrap()).unwrap();
    } else {
        b.append_extension(BasicConstraints::new().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_encipherment()
                .build()
                .unwrap(),
        )
        .unwrap();
    }
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(spec.issuer.map(|i| i.0.as_ref()), None))
        .unwrap();
    b.append_extension(ski).unwrap();
    if !spec.cdp.is_empty() {
        let urls: Vec<&str> = spec.cdp.iter().map(String::as_str).collect();
        let obj = Asn1Object::from_str("2.5.29.31").unwrap();
        let value = Asn1OctetString::new_from_bytes(&cdp_value(&urls)).unwrap();
        b.append_extension(X509Extension::new_from_der(&obj, false, &value).unwrap())
            .unwrap();
    }
    for (oid, value) in extra {
        let obj = Asn1Object::from_str(oid).unwrap();
        let value = Asn1OctetString::new_from_bytes(value).unwrap();
        b.append_extension(X509Extension::new_from_der(&obj, false, &value).unwrap())
            .unwrap();
    }
    let signer = spec.issuer.map_or(spec.key, |i| i.1);
    b.sign(signer, MessageDigest::sha256()).unwrap();
    b.build()
}

/// The INTEGER content of a certificate's serial number.
pub fn serial_of(cert: &X509) -> Vec<u8> {
    let mut v = cert.serial_number().to_bn().unwrap().to_vec();
    if v.is_empty() {
        v.push(0);
    }
    if v[0] & 0x80 != 0 {
        v.insert(0, 0);
    }
    v
}

/// One revoked entry.
#[derive(Clone)]
pub struct Revoked {
    /// INTEGER content of the serial.
    pub serial: Vec<u8>,
    /// Revocation date (Unix seconds).
    pub at: i64,
    /// Reason code, if any.
    pub reason: Option<u8>,
    /// Extra entry extensions (OID, critical, value).
    pub extensions: Vec<(String, bool, Vec<u8>)>,
}

impl Revoked {
    /// The certificate revoked at `at` for `reason`.
    pub fn cert(cert: &X509, at: i64, reason: Option<u8>) -> Self {
        Self {
            serial: serial_of(cert),
            at,
            reason,
            extensions: Vec::new(),
        }
    }
}

/// Everything a generated CRL may carry.
#[derive(Clone)]
pub struct CrlSpec {
    /// thisUpdate (Unix seconds).
    pub this_update: i64,
    /// nextUpdate.
    pub next_update: Option<i64>,
    /// CRL number.
    pub number: Option<u64>,
    /// Revoked entries.
    pub revoked: Vec<Revoked>,
    /// Extra CRL extensions (OID, critical, value DER).
    pub extensions: Vec<(String, bool, Vec<u8>)>,
}

impl CrlSpec {
    /// Issued an hour ago, next update in 7 days, number `n`.
    pub fn fresh(number: u64) -> Self {
        let t = now();
        Self {
            this_update: t - 3600,
            next_update: Some(t + 7 * 86_400),
            number: Some(number),
            revoked: Vec::new(),
            extensions: Vec::new(),
        }
    }

    /// With these entries.
    pub fn revoking(mut self, revoked: Vec<Revoked>) -> Self {
        self.revoked = revoked;
        self
    }
}

fn extension(oid: &str, critical: bool, value: &[u8]) -> Vec<u8> {
    let mut e = der_oid(oid);
    if critical {
        e.extend(der(tag::BOOLEAN, &[0xff]));
    }
    e.extend(der(tag::OCTET_STRING, value));
    der(tag::SEQUENCE, &e)
}

/// The algorithm identifier of a signing key.
fn alg_id(key: &PKey<Private>) -> Vec<u8> {
    match key.id() {
        Id::RSA => {
            let mut a = der_oid("1.2.840.113549.1.1.11");
            a.extend([0x05, 0x00]);
            der(tag::SEQUENCE, &a)
        }
        Id::EC => der(tag::SEQUENCE, &der_oid("1.2.840.10045.4.3.2")),
        _ => panic!("unsupported test key"),
    }
}

/// The `TBSCertList` DER of `spec` with `issuer` as issuer name.
pub fn tbs(spec: &CrlSpec, issuer: &X509, key: &PKey<Private>) -> Vec<u8> {
    let mut t = der_uint(1);
    t.extend(alg_id(key));
    t.extend(issuer.subject_name().to_der().unwrap());
    t.extend(der_time(spec.this_update));
    if let Some(n) = spec.next_update {
        t.extend(der_time(n));
    }
    if !spec.revoked.is_empty() {
        let mut list = Vec::with_capacity(spec.revoked.len() * 40);
        for r in &spec.revoked {
            list.extend(entry_der(r));
        }
        t.extend(der(tag::SEQUENCE, &list));
    }
    let mut exts = Vec::new();
    if let Some(n) = spec.number {
        exts.extend(extension("2.5.29.20", false, &der_uint(n)));
    }
    for (oid, critical, value) in &spec.extensions {
        exts.extend(extension(oid, *critical, value));
    }
    if !exts.is_empty() {
        t.extend(der(tag::CONTEXT_0, &der(tag::SEQUENCE, &exts)));
    }
    der(tag::SEQUENCE, &t)
}

/// One revoked entry's DER.
pub fn entry_der(r: &Revoked) -> Vec<u8> {
    let mut e = der(tag::INTEGER, &r.serial);
    e.extend(der_time(r.at));
    let mut exts = Vec::new();
    if let Some(reason) = r.reason {
        exts.extend(extension(
            "2.5.29.21",
            false,
            &der(tag::ENUMERATED, &[reason]),
        ));
    }
    for (oid, critical, value) in &r.extensions {
        exts.extend(extension(oid, *critical, value));
    }
    if !exts.is_empty() {
        e.extend(der(tag::SEQUENCE, &exts));
    }
    der(tag::SEQUENCE, &e)
}

/// Signs a `TBSCertList` with `key` into a CRL (DER).
pub fn sign_tbs(tbs: &[u8], key: &PKey<Private>) -> Vec<u8> {
    let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
    signer.update(tbs).unwrap();
    let sig = signer.sign_to_vec().unwrap();
    let mut bits = vec![0u8];
    bits.extend(sig);
    let mut out = tbs.to_vec();
    out.extend(alg_id(key));
    out.extend(der(tag::BIT_STRING, &bits));
    der(tag::SEQUENCE, &out)
}

/// A CRL (DER) named for `issuer`, signed with `key`.
pub fn crl(spec: &CrlSpec, issuer: &X509, key: &PKey<Private>) -> Vec<u8> {
    sign_tbs(&tbs(spec, issuer, key), key)
}

/// PEM of a DER CRL.
pub fn pem(der_bytes: &[u8]) -> Vec<u8> {
    let b64 = openssl::base64::encode_block(der_bytes);
    let mut out = String::from("-----BEGIN X509 CRL-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str("-----END X509 CRL-----\n");
    out.into_bytes()
}

/// Sanity: the CRL parses in OpenSSL too.
pub fn openssl_parses(der_bytes: &[u8]) -> bool {
    openssl::x509::X509Crl::from_der(der_bytes).is_ok()
}

/// Re-exported for tests that read their CRLs back.
pub fn read_one(bytes: &[u8]) -> bool {
    ber::read_one(bytes).is_ok()
}

/// A temporary home with a root and an intermediate CA, ready for CRL tests
/// through the domain API.
pub struct World {
    /// The temporary folder (deleted on drop).
    pub dir: tempfile::TempDir,
    /// The home under it.
    pub home: certsafe::domain::home::Home,
    /// The configuration (edit `config.crl` before `env()`).
    pub config: certsafe::config::Config,
    /// Root key.
    pub root_key: PKey<Private>,
    /// Root certificate.
    pub root: X509,
    /// Intermediate key.
    pub inter_key: PKey<Private>,
    /// Intermediate certificate.
    pub inter: X509,
}

impl World {
    /// A root and an intermediate of `alg`; the intermediate's distribution
    /// point is `inter_cdp` (the root's CRL).
    pub fn new(alg: super::Alg, inter_cdp: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = certsafe::domain::home::Home::under(dir.path());
        let root_key = super::key(alg);
        let root = build_cert(&CertSpec::ca("CRL TEST ROOT", &root_key, None));
        let inter_key = super::key(alg);
        let inter = build_cert(
            &CertSpec::ca(
                "CRL TEST INTERMEDIATE",
                &inter_key,
                Some((&root, &root_key)),
            )
            .with_cdp(inter_cdp),
        );
        let mut config = certsafe::config::Config::default();
        config.crl.proxy = "none".into();
        Self {
            dir,
            home,
            config,
            root_key,
            root,
            inter_key,
            inter,
        }
    }

    /// The domain environment.
    pub fn env(&self) -> certsafe::domain::crl::Env {
        certsafe::domain::crl::Env::new(&self.home, &self.config)
    }

    /// Trusts these CAs.
    pub fn trust(&self, cas: &[&X509]) {
        let certs: Vec<X509> = cas.iter().map(|c| (*c).clone()).collect();
        self.env().ca_store().import(&certs).unwrap();
    }

    /// A leaf of the intermediate with these distribution points.
    pub fn leaf(&self, cn: &str, alg: super::Alg, cdp: &[&str]) -> X509 {
        let key = super::key(alg);
        build_cert(&CertSpec::leaf(cn, &key, (&self.inter, &self.inter_key)).with_cdp(cdp))
    }

    /// A leaf of the intermediate with a chosen serial number.
    pub fn leaf_with_serial(&self, cn: &str, alg: super::Alg, serial: i64, cdp: &[&str]) -> X509 {
        let key = super::key(alg);
        let mut spec = CertSpec::leaf(cn, &key, (&self.inter, &self.inter_key)).with_cdp(cdp);
        spec.serial = Some(serial);
        build_cert(&spec)
    }

    /// Adds a correspondent.
    pub fn correspondent(&self, cert: &X509) {
        self.env()
            .correspondent_store()
            .import(std::slice::from_ref(cert))
            .unwrap();
    }

    /// Imports a CRL file's bytes through `crl import`'s code.
    pub fn import(
        &self,
        bytes: &[u8],
    ) -> Result<certsafe::domain::crl::Accepted, certsafe::domain::crl::CrlError> {
        let f = self.dir.path().join(format!("in-{}.crl", now_nanos()));
        std::fs::write(&f, bytes).unwrap();
        certsafe::domain::crl::import_file(&self.env(), &f, certsafe::domain::time::now())
    }

    /// The rejection of a CRL import (panics if it was accepted).
    pub fn rejection(&self, bytes: &[u8]) -> certsafe::domain::crl::Rejection {
        match self.import(bytes) {
            Err(certsafe::domain::crl::CrlError::Rejected { reason, .. }) => reason,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    /// Checks a certificate now.
    pub fn check(&self, cert: &X509) -> certsafe::domain::crl::check::CertStatus {
        let env = self.env();
        let mut checker =
            certsafe::domain::crl::check::Checker::new(&env, certsafe::domain::time::now())
                .unwrap();
        checker.check(cert)
    }

    /// The watched CRLs now.
    pub fn crls(&self) -> Vec<certsafe::domain::crl::CrlEntry> {
        certsafe::domain::crl::list(&self.env(), certsafe::domain::time::now()).unwrap()
    }

    /// The CRL entry of a CA.
    pub fn crl_of(&self, ca: &X509) -> certsafe::domain::crl::CrlEntry {
        let fp = super::fp(ca);
        self.crls()
            .into_iter()
            .find(|e| e.ca_fingerprint.as_deref() == Some(fp.as_str()))
            .unwrap_or_else(|| panic!("no CRL entry for {fp}"))
    }
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The extensions of a delta CRL applying to base CRL number `base`
/// (`DeltaCRLIndicator`, critical as RFC 5280 requires).
pub fn delta_indicator(base: u64) -> (String, bool, Vec<u8>) {
    ("2.5.29.27".into(), true, ber::der_uint(base))
}

/// A Freshest CRL extension (CRL-level, non-critical) naming `urls`.
pub fn freshest(urls: &[&str]) -> (String, bool, Vec<u8>) {
    ("2.5.29.46".into(), false, cdp_value(urls))
}
