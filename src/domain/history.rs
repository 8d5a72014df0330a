//! Identity history: renewals (a new key and certificate for the same
//! holder), who counts as the same holder, which identity of a restored
//! history becomes the current one, and the names that tell the
//! identities of one backup apart.

use openssl::x509::X509Ref;
use time::OffsetDateTime;

use super::identity::{CertInfo, Identity, emails};
use super::p12::{self, Layout, P12Error, read::Found};
use super::secret::Password;
use super::store::{Account, Locked, StoreError};

/// Why two certificates belong to the same holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SameHolder {
    /// The subjects are equal (byte for byte, DER).
    Subject,
    /// They share an e-mail address (case-insensitive).
    Email,
}

/// Whether `a` and `b` name the same holder: the same subject, or an
/// e-mail address in common.
pub fn same_holder(a: &X509Ref, b: &X509Ref) -> Option<SameHolder> {
    let der = |c: &X509Ref| c.subject_name().to_der().ok();
    if der(a).is_some() && der(a) == der(b) {
        return Some(SameHolder::Subject);
    }
    let mine: Vec<String> = emails(a).iter().map(|e| e.to_lowercase()).collect();
    emails(b)
        .iter()
        .any(|e| mine.contains(&e.to_lowercase()))
        .then_some(SameHolder::Email)
}

/// Whether every certificate of `certs` names the holder of the first.
pub fn one_holder(certs: &[&X509Ref]) -> bool {
    certs
        .split_first()
        .is_some_and(|(first, rest)| rest.iter().all(|c| same_holder(first, c).is_some()))
}

/// Why an import as a renewal was refused or needs a decision.
#[derive(Debug, thiserror::Error)]
pub enum RenewalError {
    /// `--renewal-of` names an account of another holder.
    #[error("{}", crate::t!("history.other_holder", id = .id, label = .label))]
    OtherHolder {
        /// The account.
        id: String,
        /// Its label.
        label: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An account whose holder is the holder of a certificate being imported.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Candidate {
    /// The account.
    pub id: String,
    /// Its label.
    pub label: String,
    /// Its current certificate's fingerprint.
    pub fingerprint: String,
    /// Why it matches.
    pub matched_by: SameHolder,
}

/// The first account (by label) whose current certificate names the holder
/// of `cert`, when `cert` is not in any account already.
pub fn renewal_candidate(
    accounts: &[Account],
    cert: &X509Ref,
) -> Result<Option<Candidate>, StoreError> {
    let fp = super::identity::fingerprint(cert);
    if accounts.iter().any(|a| a.holds(&fp)) {
        return Ok(None);
    }
    for a in accounts {
        let current = a.cert()?;
        if let Some(matched_by) = same_holder(&current, cert) {
            return Ok(Some(Candidate {
                id: a.meta.id.clone(),
                label: a.meta.label.clone(),
                fingerprint: a.meta.fingerprint.clone(),
                matched_by,
            }));
        }
    }
    Ok(None)
}

/// What a renewal did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewed {
    /// The new identity is current; the one before is an earlier identity.
    Renewed,
    /// The account already held this identity: nothing changed.
    AlreadyPresent,
}

/// Imports `identity` as the renewal of account `id`: same holder (or
/// `any_holder`), under the store lock, in one atomic step.
pub fn renew(
    store: &Locked<'_>,
    id: &str,
    identity: &Identity,
    any_holder: bool,
    now: OffsetDateTime,
) -> Result<(Account, Renewed), RenewalError> {
    let account = store.get(id)?;
    let fp = identity.fingerprint();
    if account.holds(&fp) {
        return Ok((account, Renewed::AlreadyPresent));
    }
    let current = account.cert()?;
    if !any_holder && same_holder(&current, &identity.cert).is_none() {
        return Err(RenewalError::OtherHolder {
            id: account.meta.id,
            label: account.meta.label,
        });
    }
    let (account, changed) = store.renew(&account, identity, now)?;
    let what = if changed {
        Renewed::Renewed
    } else {
        Renewed::AlreadyPresent
    };
    Ok((account, what))
}

/// The identities of a restored history, ordered: the current one (the
/// newest still valid at `now`: latest start of validity; when all have
/// expired, the latest to expire), then the earlier ones, newest first,
/// each with the date its successor started (when it was superseded).
pub fn order_history<T>(
    items: Vec<T>,
    cert: impl Fn(&T) -> &X509Ref,
    now: OffsetDateTime,
) -> (T, Vec<(T, OffsetDateTime)>) {
    let mut items: Vec<(CertInfo, T)> = items
        .into_iter()
        .map(|t| (CertInfo::of(cert(&t)), t))
        .collect();
    items.sort_by(|(a, _), (b, _)| {
        b.not_before
            .cmp(&a.not_before)
            .then(b.not_after.cmp(&a.not_after))
    });
    let current = items
        .iter()
        .position(|(i, _)| !i.expired_at(now) && i.not_before <= now)
        .or_else(|| {
            items
                .iter()
                .enumerate()
                .max_by_key(|(_, (i, _))| i.not_after)
                .map(|(n, _)| n)
        })
        .unwrap_or(0);
    let (current_info, current) = items.remove(current);
    let mut earlier = Vec::new();
    let mut successor_start = current_info.not_before;
    for (info, t) in items {
        // Superseded when its successor started (never after now).
        let at = if info.not_before >= current_info.not_before {
            now
        } else {
            let at = successor_start.min(now);
            successor_start = info.not_before;
            at
        };
        earlier.push((t, at));
    }
    (current, earlier)
}

/// The friendlyName of one identity in a backup of several: the label and
/// the certificate's validity, e.g. `Dr X (2023-01-05 → 2026-01-05)`.
pub fn friendly_name(label: &str, info: &CertInfo) -> String {
    format!(
        "{label} ({} \u{2192} {})",
        super::time::date(info.not_before),
        super::time::date(info.not_after)
    )
}

/// The friendlyNames of a backup's identities (current first): the label
/// alone for one identity; for several, label and dates, plus the start of
/// the fingerprint where two share their dates.
pub fn friendly_names(label: &str, identities: &[Identity]) -> Vec<String> {
    if identities.len() == 1 {
        return vec![label.to_string()];
    }
    let infos: Vec<CertInfo> = identities.iter().map(Identity::info).collect();
    let plain: Vec<String> = infos.iter().map(|i| friendly_name(label, i)).collect();
    plain
        .iter()
        .zip(&infos)
        .map(|(name, info)| {
            if plain.iter().filter(|n| *n == name).count() > 1 {
                format!(
                    "{label} ({} \u{2192} {}, {})",
                    super::time::date(info.not_before),
                    super::time::date(info.not_after),
                    info.fingerprint.get(..8).unwrap_or_default()
                )
            } else {
                name.clone()
            }
        })
        .collect()
}

/// Every identity of a PKCS#12 file, opened with its password.
pub struct OpenedAll {
    /// The identities, in the order of their keys in the file.
    pub identities: Vec<Found>,
    /// Algorithms.
    pub layout: Layout,
    /// Whether OpenSSL's legacy provider was needed.
    pub used_legacy: bool,
}

impl OpenedAll {
    /// Whether the file is one holder's history (several identities, all
    /// of one holder).
    pub fn is_history(&self) -> bool {
        let certs: Vec<&X509Ref> = self.identities.iter().map(|f| &*f.identity.cert).collect();
        certs.len() > 1 && one_holder(&certs)
    }

    /// The one identity of a file holding one (else the error
    /// `p12::open_identity` gives for a file of several).
    pub fn into_single(self) -> Result<p12::Opened, P12Error> {
        let identities: Vec<p12::Summary> = self
            .identities
            .iter()
            .enumerate()
            .map(|(i, f)| f.summary(i + 1))
            .collect();
        let count = identities.len();
        if count != 1 {
            return Err(P12Error::SeveralIdentities { identities });
        }
        let found = self
            .identities
            .into_iter()
            .next()
            .ok_or(P12Error::NoSuchIdentity { index: 1, count })?;
        Ok(p12::Opened {
            identity: found.identity,
            friendly_name: found.friendly_name,
            layout: self.layout,
            certificates: found.certificates,
            used_legacy_provider: self.used_legacy,
            identities,
            index: 1,
        })
    }
}

/// Opens every identity of a file (each derivation priced first, as
/// [`p12::open_identity`] does).
pub fn open_all(bytes: &[u8], password: &Password) -> Result<OpenedAll, P12Error> {
    let mut layout = p12::inspect(bytes)?;
    let contents = p12::read::open_all(bytes, password)?;
    if layout.key_encryption.is_none() {
        layout.key_encryption.clone_from(&contents.key_encryption);
    }
    Ok(OpenedAll {
        identities: contents.identities,
        layout,
        used_legacy: contents.used_legacy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::asn1::Asn1Time;
    use openssl::x509::{X509, X509NameBuilder};
    use time::macros::datetime;

    fn cert(cn: &str, from: i64, to: i64) -> X509 {
        let group =
            openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
        let key = openssl::pkey::PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap())
            .unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::from_unix(from).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::from_unix(to).unwrap()).unwrap();
        b.sign(&key, openssl::hash::MessageDigest::sha256())
            .unwrap();
        b.build()
    }

    #[test]
    fn the_newest_valid_identity_becomes_current() {
        let now = datetime!(2026-06-01 0:00 UTC);
        let t = now.unix_timestamp();
        let year = 365 * 86_400;
        let old = cert("Dr X", t - 4 * year, t - year);
        let mid = cert("Dr X", t - 2 * year, t + year);
        // Not valid yet: not current.
        let future = cert("Dr X", t + year, t + 4 * year);
        let (current, earlier) = order_history(vec![&old, &future, &mid], |c| &***c, now);
        assert_eq!(current.to_der().unwrap(), mid.to_der().unwrap());
        let order: Vec<Vec<u8>> = earlier.iter().map(|(c, _)| c.to_der().unwrap()).collect();
        assert_eq!(order, [future.to_der().unwrap(), old.to_der().unwrap()]);
        // The old one was superseded when the current one started.
        assert_eq!(earlier[1].1.unix_timestamp(), t - 2 * year);
        assert!(one_holder(&[&old, &mid, &future]));
        assert!(!one_holder(&[&old, &cert("Dr Y", t, t + year)]));
        let name = friendly_name("Dr X", &CertInfo::of(&mid));
        let identity = |c: &X509| Identity {
            key: openssl::pkey::PKey::from_ec_key(
                openssl::ec::EcKey::generate(
                    &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)
                        .unwrap(),
                )
                .unwrap(),
            )
            .unwrap(),
            cert: c.clone(),
            chain: Vec::new(),
        };
        let twin = cert("Dr X", t - 2 * year, t + year);
        let names = friendly_names("Dr X", &[identity(&mid), identity(&twin), identity(&old)]);
        assert_ne!(names[0], names[1], "same dates, told apart");
        assert!(names[0].starts_with("Dr X (2024-06-01 \u{2192} 2027-06-01, "));
        assert_eq!(names[2], "Dr X (2022-06-02 \u{2192} 2025-06-01)");
        assert_eq!(friendly_names("Dr X", &[identity(&mid)]), ["Dr X"]);
        assert_eq!(name, "Dr X (2024-06-01 \u{2192} 2027-06-01)");
    }
}
