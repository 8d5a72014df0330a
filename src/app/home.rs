//! The home data: accounts, alerts, the end of the journal.

use time::OffsetDateTime;

use super::{Env, Error};
use crate::domain::status::{self, Status};
use crate::domain::store::{BackupState, Store};

/// One account as the home screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// ID.
    pub id: String,
    /// Label.
    pub label: String,
    /// Fingerprint of the certificate.
    pub fingerprint: String,
    /// Common name of the subject.
    pub name: String,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Backup state.
    pub state: BackupState,
    /// Words an attacker would try first (for the strength meter).
    pub known_words: Vec<String>,
}

/// What the home screen shows.
#[derive(Debug, Clone)]
pub struct HomeData {
    /// The accounts.
    pub accounts: Vec<AccountRow>,
    /// The alerts.
    pub status: Status,
    /// The last entries of the journal, oldest first (all accounts; the
    /// journal popup shows the selected account's).
    pub journal: Vec<crate::domain::journal::Entry>,
}

/// Journal entries kept in memory for the journal popup.
const JOURNAL_KEPT: usize = 2000;

/// Loads accounts, alerts and the end of the journal.
pub fn load_home(env: &Env) -> Result<HomeData, Error> {
    let store = Store::open_existing(&env.home.accounts_dir());
    let now = env.now();
    let accounts = store.list()?;
    let rows = accounts
        .iter()
        .map(|a| {
            let info = a.info()?;
            let cert = a.cert()?;
            Ok(AccountRow {
                id: a.meta.id.clone(),
                label: a.meta.label.clone(),
                fingerprint: a.meta.fingerprint.clone(),
                name: crate::domain::identity::common_name(&cert).unwrap_or_default(),
                not_after: info.not_after,
                state: a.backup_state(now, env.config.backup.max_age_days),
                known_words: a.known_words(),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let status = gather(env, now)?;
    // A journal that cannot be read shows as empty; the home still loads.
    let journal = crate::domain::journal::Journal::from(&env.home)
        .last(None, JOURNAL_KEPT)
        .unwrap_or_default();
    Ok(HomeData {
        accounts: rows,
        status,
        journal,
    })
}

/// The alerts at `now`: the one severity policy (`status`, the home panes).
pub fn gather(env: &Env, now: OffsetDateTime) -> Result<Status, Error> {
    // The drives plugged in now: the advice names the real stick.
    let drives = crate::domain::drives::list(env.drives.as_ref(), false);
    Ok(status::gather(&env.home, &env.config, now, &drives)?)
}
