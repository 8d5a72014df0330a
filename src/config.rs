//! Configuration: `HOME/config.toml`, loaded with confy at an explicit path.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::domain::p12::Profile;

/// Everything a user can set in `config.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(default)]
pub struct Config {
    /// Backup policy.
    pub backup: BackupPolicy,
    /// Certificate policy.
    pub certificates: CertificatePolicy,
    /// Interface settings.
    pub ui: UiSettings,
}

/// When a backup is due.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct BackupPolicy {
    /// A verified backup older than this many days makes the state `old`.
    pub max_age_days: u32,
    /// Profile used when none is given.
    pub default_profile: Profile,
}

/// When a certificate is "expiring".
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct CertificatePolicy {
    /// Warn this many days before a certificate expires.
    pub expiry_warning_days: u32,
}

/// Terminal interface settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(default)]
pub struct UiSettings {
    /// Theme name (`themes/NAME.toml` or the user themes folder).
    pub theme: Option<String>,
    /// `fr` or `en`; the locale decides when unset.
    pub lang: Option<String>,
}

impl Default for BackupPolicy {
    fn default() -> Self {
        Self {
            max_age_days: 180,
            default_profile: Profile::Modern,
        }
    }
}

impl Default for CertificatePolicy {
    fn default() -> Self {
        Self {
            expiry_warning_days: 60,
        }
    }
}

/// A configuration file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{}", crate::t!("config.unreadable", path = .path, reason = .source))]
pub struct ConfigError {
    /// Which file.
    pub path: String,
    /// Why.
    #[source]
    pub source: confy::ConfyError,
}

/// Loads the configuration at `path`; a missing file gives the defaults
/// (and is written, so the user can see what can be set).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    confy::load_path(path).map_err(|source| ConfigError {
        path: path.display().to_string(),
        source,
    })
}
