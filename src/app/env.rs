//! The one environment of the use cases.

use std::path::Path;
use std::sync::Arc;

use time::OffsetDateTime;

use super::Error;
use crate::domain::config::{self, Config};
use crate::domain::crl::fetch::{FetchError, Fetcher, Limits};
use crate::domain::drives::{DriveSource, SystemDrives};
use crate::domain::home::Home;

/// The clock: the real one, or a fixed time in tests.
pub type Clock = fn() -> OffsetDateTime;

/// Builds the fetcher of a run from its limits: [`ChannelFetcher`]
/// (HTTP and LDAP) by default; a test can give another.
///
/// [`ChannelFetcher`]: crate::domain::crl::ldap::ChannelFetcher
pub type FetcherFactory = Arc<dyn Fn(Limits) -> Result<Box<dyn Fetcher>, FetchError> + Send + Sync>;

/// What the use cases need from the outside world.
#[derive(Clone)]
pub struct Env {
    /// Where things live.
    pub home: Home,
    /// The configuration, resolved (the file, or the defaults).
    pub config: Config,
    /// Where drives come from.
    pub drives: Arc<dyn DriveSource + Send + Sync>,
    /// The clock.
    pub now: Clock,
    /// How downloads are made.
    pub fetchers: FetcherFactory,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("home", &self.home)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The default fetcher: LDAP addresses to the LDAP client, the others to
/// the HTTP one.
fn channel_fetcher(limits: Limits) -> Result<Box<dyn Fetcher>, FetchError> {
    Ok(Box::new(crate::domain::crl::ldap::ChannelFetcher::new(
        limits,
    )?))
}

impl Env {
    /// `home` with `config`, the system's drives, the real clock and the
    /// default fetcher.
    pub fn new(home: Home, config: Config) -> Self {
        Self {
            home,
            config,
            drives: Arc::new(SystemDrives),
            now: crate::domain::time::now,
            fetchers: Arc::new(channel_fetcher),
        }
    }

    /// Resolves the home (`dir`, else the platform's) and loads its
    /// configuration (the defaults when there is no file).
    pub fn load(dir: Option<&Path>) -> Result<Self, Error> {
        let home = match dir {
            Some(dir) => Home::under(dir),
            None => Home::platform().ok_or(Error::NoHome)?,
        };
        let config = if home.config_file().exists() {
            config::load(&home.config_file())?
        } else {
            Config::default()
        };
        Ok(Self::new(home, config))
    }

    /// The same, with these drives.
    #[must_use]
    pub fn with_drives(mut self, drives: Arc<dyn DriveSource + Send + Sync>) -> Self {
        self.drives = drives;
        self
    }

    /// The same, with this clock.
    #[must_use]
    pub fn with_clock(mut self, now: Clock) -> Self {
        self.now = now;
        self
    }

    /// The same, with this fetcher factory.
    #[must_use]
    pub fn with_fetchers(mut self, fetchers: FetcherFactory) -> Self {
        self.fetchers = fetchers;
        self
    }

    /// The time now.
    pub fn now(&self) -> OffsetDateTime {
        (self.now)()
    }

    /// The environment of the CRL functions (built here only).
    pub fn crl(&self) -> crate::domain::crl::Env {
        crate::domain::crl::Env::new(&self.home, &self.config)
    }

    /// A fetcher with these limits.
    pub fn fetcher(&self, limits: Limits) -> Result<Box<dyn Fetcher>, FetchError> {
        (self.fetchers)(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed() -> OffsetDateTime {
        time::macros::datetime!(2030-01-02 03:04:05 UTC)
    }

    #[test]
    fn load_resolves_the_home_and_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::load(Some(dir.path())).unwrap();
        assert_eq!(env.home, Home::under(dir.path()));
        assert_eq!(env.config, Config::default());
        // The CRL functions see the same folders and policy.
        let cenv = env.crl();
        assert_eq!(cenv.home, env.home);
        assert_eq!(cenv.policy, env.config.crl);
    }

    #[test]
    fn a_broken_configuration_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        std::fs::create_dir_all(home.config_file().parent().unwrap()).unwrap();
        std::fs::write(home.config_file(), "[crl\nnot toml").unwrap();
        assert!(matches!(Env::load(Some(dir.path())), Err(Error::Config(_))));
    }

    #[test]
    fn the_clock_and_the_fetchers_can_be_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::new(Home::under(dir.path()), Config::default())
            .with_clock(fixed)
            .with_fetchers(Arc::new(|_| Err(FetchError::Redirects { url: "x".into() })));
        assert_eq!(env.now(), fixed());
        assert!(matches!(
            env.fetcher(Limits::from_policy(&env.config.crl)),
            Err(FetchError::Redirects { .. })
        ));
    }
}
