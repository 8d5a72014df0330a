//! The CRL and revocation halves of the severity policy (`status`,
//! `crl status`, the home panes).

use time::OffsetDateTime;

use super::check::{self, CertState, Checker};
use super::{CrlError, CrlState, Env, list};
use crate::domain::identity::short_name_of;
use crate::domain::status::{Alert, AlertCode, Level, Pane};

/// The common name of a one-line subject (`C=FR, ..., CN=X` gives `X`), for
/// messages where only the rendered line is at hand (progress of a
/// download); with a certificate or a [`super::CrlEntry`], use
/// [`crate::domain::identity::short_name_of`] or `issuer_short`.
pub fn short_name(subject: &str) -> String {
    subject
        .rsplit(", ")
        .find_map(|p| p.strip_prefix("CN="))
        .unwrap_or(subject)
        .to_string()
}

/// The alerts of the CRL and revocation panes. Silent while revocation
/// checking is not set up (no CA and no correspondent imported).
pub fn alerts(env: &Env, now: OffsetDateTime) -> Result<Vec<Alert>, CrlError> {
    let cas = env.ca_store().list()?;
    let correspondents = env.correspondent_store().list()?;
    let mut out = Vec::new();
    let alert =
        |severity, code: AlertCode, pane, message: String, recommendation: String, account| Alert {
            severity,
            code,
            message,
            recommendation,
            pane,
            account,
        };
    if cas.is_empty() {
        // Nothing can be checked without a trusted CA: one honest alert
        // ("not set up", unknown) rather than one per CRL and certificate.
        out.push(alert(
            Level::Unknown,
            AlertCode::RevocationNotSetUp,
            Pane::Crl,
            crate::t!("status.no_ca"),
            crate::t!("status.no_ca_fix"),
            None,
        ));
        return Ok(out);
    }
    for e in list(env, now)? {
        let severity = e.level(now);
        let fix_update = crate::t!("status.crl_fix_update");
        let next_update = e
            .next_update
            .map(crate::domain::time::rfc3339)
            .unwrap_or_default();
        let (code, message, fix) = match e.state {
            CrlState::Fresh => continue,
            CrlState::Due => (
                AlertCode::CrlDue,
                crate::t!(
                    "status.crl_due",
                    issuer = &e.issuer_short,
                    date = &next_update
                ),
                fix_update,
            ),
            CrlState::Expired => (
                AlertCode::CrlExpired,
                crate::t!(
                    "status.crl_expired",
                    issuer = &e.issuer_short,
                    date = &next_update
                ),
                fix_update,
            ),
            CrlState::Missing if e.ca_fingerprint.is_none() => (
                AlertCode::CrlNoCa,
                crate::t!("status.crl_no_ca", issuer = &e.issuer_short),
                crate::t!("status.no_ca_fix"),
            ),
            CrlState::Missing => (
                AlertCode::CrlMissing,
                crate::t!("status.crl_missing", issuer = &e.issuer_short),
                fix_update,
            ),
            CrlState::Invalid => (
                AlertCode::CrlInvalid,
                crate::t!(
                    "status.crl_invalid",
                    issuer = &e.issuer_short,
                    reason = e.reason.clone().unwrap_or_default()
                ),
                crate::t!("status.crl_invalid_fix"),
            ),
            CrlState::Unreachable => (
                AlertCode::CrlUnreachable,
                crate::t!(
                    "status.crl_unreachable",
                    issuer = &e.issuer_short,
                    reason = e.reason.clone().unwrap_or_default()
                ),
                crate::t!("status.crl_unreachable_fix"),
            ),
        };
        out.push(alert(severity, code, Pane::Crl, message, fix, None));
    }
    let mut checker = Checker::new(env, now)?;
    for a in env.store().list()? {
        let Ok(cert) = a.cert() else { continue };
        let s = checker.check(&cert);
        let id = Some(a.meta.id.clone());
        let label = a.meta.label.clone();
        match s.state {
            CertState::Revoked => out.push(alert(
                Level::Critical,
                AlertCode::CertRevoked,
                Pane::Revocation,
                crate::t!(
                    "status.cert_revoked",
                    label = label,
                    date = s
                        .revoked_at
                        .map(crate::domain::time::rfc3339)
                        .unwrap_or_default(),
                    reason = check::reason_words(s.reason)
                ),
                crate::t!("status.cert_revoked_fix"),
                id,
            )),
            CertState::Untrusted => out.push(alert(
                Level::Warning,
                AlertCode::CertUntrusted,
                Pane::Revocation,
                crate::t!("status.cert_untrusted", label = label),
                crate::t!("status.cert_untrusted_fix"),
                id,
            )),
            CertState::Unknown => out.push(alert(
                Level::Unknown,
                AlertCode::RevocationUnknown,
                Pane::Revocation,
                crate::t!(
                    "status.revocation_unknown",
                    label = label,
                    detail = s.detail.unwrap_or_default()
                ),
                crate::t!("status.crl_fix_update"),
                id,
            )),
            _ => {}
        }
    }
    let mut unknown = 0usize;
    let mut untrusted = 0usize;
    for c in &correspondents {
        let s = checker.check(&c.cert);
        match s.state {
            CertState::Revoked => out.push(alert(
                Level::Critical,
                AlertCode::CorrespondentRevoked,
                Pane::Revocation,
                crate::t!(
                    "status.correspondent_revoked",
                    subject = short_name_of(c.cert.subject_name()),
                    date = s
                        .revoked_at
                        .map(crate::domain::time::rfc3339)
                        .unwrap_or_default(),
                    reason = check::reason_words(s.reason)
                ),
                crate::t!("status.correspondent_revoked_fix"),
                None,
            )),
            CertState::Unknown => unknown += 1,
            CertState::Untrusted => untrusted += 1,
            _ => {}
        }
    }
    if untrusted > 0 {
        out.push(alert(
            Level::Warning,
            AlertCode::CorrespondentUntrusted,
            Pane::Revocation,
            crate::t!("status.correspondent_untrusted", count = untrusted),
            crate::t!("status.no_ca_fix"),
            None,
        ));
    }
    if unknown > 0 {
        out.push(alert(
            Level::Unknown,
            AlertCode::CorrespondentUnknown,
            Pane::Revocation,
            crate::t!("status.correspondent_unknown", count = unknown),
            crate::t!("status.crl_fix_update"),
            None,
        ));
    }
    Ok(out)
}
