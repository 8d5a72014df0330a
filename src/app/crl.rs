//! Revocation: the CRL list with the correspondents, an update run, and
//! "trust IGC-Santé".

use time::OffsetDateTime;

use super::{Env, Error};
use crate::domain::crl::check::{CertState, Reason};
use crate::domain::crl::fetch::Limits;
use crate::domain::crl::update::{CrlProgress, UpdateOptions, UpdateReport};
use crate::domain::crl::{self, CrlEntry};
use crate::domain::igc;

/// A correspondent as the CRL screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrespondentRow {
    /// Fingerprint (to remove it).
    pub fingerprint: String,
    /// Common name (or subject).
    pub name: String,
    /// First e-mail address.
    pub email: Option<String>,
    /// State.
    pub state: CertState,
    /// When revoked.
    pub revoked_at: Option<OffsetDateTime>,
    /// Why revoked.
    pub reason: Option<Reason>,
}

/// Loads the CRL list and the correspondents with their states.
pub fn load_crls(env: &Env) -> Result<(Vec<CrlEntry>, Vec<CorrespondentRow>), Error> {
    let cenv = env.crl();
    let now = env.now();
    let entries = crl::list(&cenv, now)?;
    let rows = crl::correspondents(&cenv, now)?
        .into_iter()
        .map(|c| CorrespondentRow {
            fingerprint: c.correspondent.info.fingerprint.clone(),
            name: crate::domain::identity::common_name(&c.correspondent.cert)
                .unwrap_or_else(|| c.correspondent.info.subject.clone()),
            email: c.correspondent.emails.first().cloned(),
            state: c.status.state,
            revoked_at: c.status.revoked_at,
            reason: c.status.reason,
        })
        .collect();
    Ok((entries, rows))
}

/// Fetches the CRLs that are due (all of them with `options.force`) with
/// the environment's fetcher, telling `progress` as it goes. Blocks on the
/// network: run it on a worker thread.
pub fn update_crls(
    env: &Env,
    options: &UpdateOptions,
    progress: &mut dyn FnMut(CrlProgress),
) -> Result<UpdateReport, Error> {
    let cenv = env.crl();
    let fetcher = env.fetcher(Limits::from_policy(&cenv.policy))?;
    Ok(crl::update::update(&cenv, &*fetcher, options, progress)?)
}

/// Trusts the IGC-Santé CAs of `hierarchy`, from `source` (the network,
/// or files brought on a stick).
pub fn trust_igc(
    env: &Env,
    hierarchy: igc::Hierarchy,
    source: igc::Source,
) -> Result<igc::Report, Error> {
    let cenv = env.crl();
    let plan = igc::Plan {
        hierarchy,
        source,
        now: env.now(),
    };
    let mut limits = Limits::from_policy(&cenv.policy);
    limits.max_bytes = limits.max_bytes.min(igc::MAX_DOWNLOAD);
    let fetcher = env.fetcher(limits)?;
    Ok(igc::trust(&cenv, &*fetcher, &plan)?)
}
