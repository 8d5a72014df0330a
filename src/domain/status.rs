//! Alerts: what needs attention, with a severity and what to do. The TUI's
//! home panes and `certsafe status` show the same list.

use serde::Serialize;
use time::OffsetDateTime;

use super::drives::Drive;
use super::home::Home;
use super::store::{Account, BackupState, Store, StoreError};
use crate::domain::config::Config;

/// How bad an alert is. Ordered: `Ok < Warning < Critical < Unknown` is NOT
/// the monitoring order; use [`Level::worst`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Nothing to do.
    Ok,
    /// Soon a problem.
    Warning,
    /// A problem now.
    Critical,
    /// certsafe cannot tell.
    Unknown,
}

impl Level {
    /// Monitoring exit code: 0 ok, 1 warning, 2 critical, 3 unknown.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Warning => 1,
            Self::Critical => 2,
            Self::Unknown => 3,
        }
    }

    fn rank(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Unknown => 1,
            Self::Warning => 2,
            Self::Critical => 3,
        }
    }

    /// The worse of two levels (critical > warning > unknown > ok).
    #[must_use]
    pub fn worst(self, other: Self) -> Self {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// The JSON word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Critical => "critical",
            Self::Unknown => "unknown",
        }
    }
}

/// Which pane of the home screen an alert belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Pane {
    /// Backups.
    Backup,
    /// Certificate expiry.
    Expiry,
    /// CRL freshness.
    Crl,
    /// Revocation of our or our correspondents' certificates.
    Revocation,
}

/// What an alert is about: the stable code scripts read (`code` in the
/// JSON, the Prometheus label), serialised as its `snake_case` word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertCode {
    /// An account was never backed up.
    BackupMissing,
    /// The last backup holds an older certificate.
    BackupOutdated,
    /// The last backup is older than `max_age_days`.
    BackupOld,
    /// The certificate has expired.
    CertExpired,
    /// The certificate expires soon.
    CertExpiring,
    /// No account yet.
    NoAccount,
    /// The CRL cache or the stores could not be read.
    CrlError,
    /// No CA imported: revocation cannot be checked.
    RevocationNotSetUp,
    /// A CRL's nextUpdate is near.
    CrlDue,
    /// A CRL's nextUpdate has passed.
    CrlExpired,
    /// The CA that issues a CRL is not imported.
    CrlNoCa,
    /// A CRL was never fetched.
    CrlMissing,
    /// The last CRL downloaded was refused.
    CrlInvalid,
    /// The last fetch of a CRL failed.
    CrlUnreachable,
    /// An account's certificate is revoked.
    CertRevoked,
    /// An account's certificate does not chain to an imported CA.
    CertUntrusted,
    /// An account's revocation state is unknown.
    RevocationUnknown,
    /// A correspondent's certificate is revoked.
    CorrespondentRevoked,
    /// Correspondents that do not chain to an imported CA.
    CorrespondentUntrusted,
    /// Correspondents whose revocation state is unknown.
    CorrespondentUnknown,
}

impl AlertCode {
    /// The word (`backup_missing`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BackupMissing => "backup_missing",
            Self::BackupOutdated => "backup_outdated",
            Self::BackupOld => "backup_old",
            Self::CertExpired => "cert_expired",
            Self::CertExpiring => "cert_expiring",
            Self::NoAccount => "no_account",
            Self::CrlError => "crl_error",
            Self::RevocationNotSetUp => "revocation_not_set_up",
            Self::CrlDue => "crl_due",
            Self::CrlExpired => "crl_expired",
            Self::CrlNoCa => "crl_no_ca",
            Self::CrlMissing => "crl_missing",
            Self::CrlInvalid => "crl_invalid",
            Self::CrlUnreachable => "crl_unreachable",
            Self::CertRevoked => "cert_revoked",
            Self::CertUntrusted => "cert_untrusted",
            Self::RevocationUnknown => "revocation_unknown",
            Self::CorrespondentRevoked => "correspondent_revoked",
            Self::CorrespondentUntrusted => "correspondent_untrusted",
            Self::CorrespondentUnknown => "correspondent_unknown",
        }
    }
}

impl std::fmt::Display for AlertCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for AlertCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for AlertCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// One thing that needs attention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// `warning`, `critical` or `unknown`.
    pub severity: Level,
    /// Stable code for scripts (`backup_missing`, `cert_expiring`...).
    pub code: AlertCode,
    /// What is wrong, in the user's language.
    pub message: String,
    /// What to do.
    pub recommendation: String,
    /// The pane that shows it.
    pub pane: Pane,
    /// The account concerned, if any.
    pub account: Option<String>,
}

/// The whole picture.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The worst severity (`ok` when there is no alert).
    pub level: Level,
    /// Every alert, worst first.
    pub alerts: Vec<Alert>,
}

impl Status {
    /// Builds a status from alerts.
    pub fn from_alerts(mut alerts: Vec<Alert>) -> Self {
        alerts.sort_by_key(|a| std::cmp::Reverse(a.severity.rank()));
        let level = alerts.iter().fold(Level::Ok, |l, a| l.worst(a.severity));
        Self { level, alerts }
    }
}

/// Where the backup advice says to write: the mount point of the first
/// writable removable drive in `drives` (quoted for a shell when needed,
/// control characters made visible), else a placeholder that reads as one
/// (`STICK_FOLDER`, `DOSSIER_DE_LA_CLE`).
pub fn backup_target(drives: &[Drive]) -> String {
    drives
        .iter()
        .find(|d| d.removable && !d.read_only)
        .map_or_else(
            || crate::t!("status.stick_placeholder"),
            |d| shell_word(&super::text::visible(&d.mount_point.to_string_lossy())),
        )
}

/// `s` as one shell word: as is when it only has characters a shell leaves
/// alone, else in single quotes.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | ',' | '@' | '%' | ':')
        });
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Alerts about one account's backup and expiry; `drives` are the drives
/// plugged in now (the advice names the first removable one).
pub fn account_alerts(
    account: &Account,
    config: &Config,
    now: OffsetDateTime,
    drives: &[Drive],
) -> Vec<Alert> {
    let mut out = Vec::new();
    let to = backup_target(drives);
    let id = account.meta.id.clone();
    let label = account.meta.label.clone();
    let mk = |severity, code: AlertCode, pane, message: String, recommendation: String| Alert {
        severity,
        code,
        message,
        recommendation,
        pane,
        account: Some(id.clone()),
    };
    match account.backup_state(now, config.backup.max_age_days) {
        BackupState::None => out.push(mk(
            Level::Critical,
            AlertCode::BackupMissing,
            Pane::Backup,
            crate::t!("status.backup_missing", label = label),
            crate::t!("status.backup_missing_fix", id = id, to = to),
        )),
        BackupState::Outdated => out.push(mk(
            Level::Critical,
            AlertCode::BackupOutdated,
            Pane::Backup,
            crate::t!("status.backup_outdated", label = label),
            crate::t!("status.backup_missing_fix", id = id, to = to),
        )),
        BackupState::Old => {
            let days = account
                .last_backup()
                .map_or(0, |b| (now - b.at).whole_days());
            out.push(mk(
                Level::Warning,
                AlertCode::BackupOld,
                Pane::Backup,
                crate::t!("status.backup_old", label = label, days = days),
                crate::t!("status.backup_missing_fix", id = id, to = to),
            ));
        }
        BackupState::Ok => {}
    }
    if let Ok(info) = account.info() {
        // Days left, rounded up: a certificate ending tomorrow evening has 2 days,
        // and the count does not change from one minute to the next.
        let left = (info.not_after - now).whole_seconds().div_euclid(86_400) + 1;
        if info.expired_at(now) {
            out.push(mk(
                Level::Critical,
                AlertCode::CertExpired,
                Pane::Expiry,
                crate::t!(
                    "status.cert_expired",
                    label = label,
                    date = super::time::date(info.not_after)
                ),
                crate::t!("status.cert_expired_fix"),
            ));
        } else if left <= i64::from(config.certificates.expiry_warning_days) {
            out.push(mk(
                Level::Warning,
                AlertCode::CertExpiring,
                Pane::Expiry,
                crate::t!("status.cert_expiring", label = label, days = left),
                crate::t!("status.cert_expiring_fix"),
            ));
        }
    }
    out
}

/// Gathers every alert: the accounts' backups and expiry, then the CRLs and
/// the revocation of the accounts' and correspondents' certificates.
/// `drives` are the drives plugged in now: the backup advice names the
/// first removable one's mount point.
pub fn gather(
    home: &Home,
    config: &Config,
    now: OffsetDateTime,
    drives: &[Drive],
) -> Result<Status, StoreError> {
    let store = Store::open_existing(&home.accounts_dir());
    let accounts = store.list()?;
    let mut alerts = Vec::new();
    if accounts.is_empty() {
        alerts.push(Alert {
            severity: Level::Unknown,
            code: AlertCode::NoAccount,
            message: crate::t!("status.no_account"),
            recommendation: crate::t!("status.no_account_fix"),
            pane: Pane::Backup,
            account: None,
        });
    }
    for a in &accounts {
        alerts.extend(account_alerts(a, config, now, drives));
    }
    match super::crl::alerts(&super::crl::Env::new(home, config), now) {
        Ok(more) => alerts.extend(more),
        Err(e) => alerts.push(Alert {
            severity: Level::Unknown,
            code: AlertCode::CrlError,
            message: e.to_string(),
            recommendation: crate::t!("status.crl_fix_update"),
            pane: Pane::Crl,
            account: None,
        }),
    }
    Ok(Status::from_alerts(alerts))
}
