//! Configuration: `HOME/config.toml`, read and written with the `toml` crate.

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
    /// Revocation lists.
    pub crl: CrlPolicy,
    /// Revocation channels besides CRLs.
    pub revocation: RevocationPolicy,
    /// The LDAP directory of `correspondent lookup`.
    pub directory: DirectoryPolicy,
}

/// `[revocation]`: which channels besides CRLs are asked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct RevocationPolicy {
    /// Ask the certificate's OCSP responder when no fresh CRL covers it
    /// (`check --ocsp` asks it in any case).
    pub ocsp: bool,
}

impl Default for RevocationPolicy {
    fn default() -> Self {
        Self { ocsp: true }
    }
}

/// `[directory]`: where `correspondent lookup` searches.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(default)]
pub struct DirectoryPolicy {
    /// An RFC 4516 URL, e.g. `ldap://annuaire.example/ou=people,o=example`:
    /// the search starts at its DN and covers the subtree unless the URL
    /// gives a scope. Empty: none (`--directory` is then needed).
    pub url: String,
}

/// How CRLs are fetched and when they are stale.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct CrlPolicy {
    /// CRL addresses to fetch besides the certificates' distribution points
    /// (`http://`, `https://`, `file://`, `ldap://`, `ldaps://`).
    pub extra_urls: Vec<String>,
    /// A CRL whose nextUpdate is this close is `due` (and downloaded again).
    pub warning_hours: u32,
    /// A cached CRL not confirmed by its server for this long is asked for
    /// again (conditional GET), even if it is still fresh. ANS asks for at
    /// most one fetch a day.
    pub refresh_hours: u32,
    /// Random delay before `crl update` when `--jitter` is not given and
    /// standard error is not a terminal (cron), e.g. `"2h"`; empty for none.
    pub jitter: String,
    /// Downloads at once.
    pub parallel: u32,
    /// Seconds to connect.
    pub connect_timeout_secs: u64,
    /// Seconds without a byte from the server before giving up.
    pub read_timeout_secs: u64,
    /// Seconds for a whole download.
    pub total_timeout_secs: u64,
    /// Largest CRL accepted, in bytes.
    pub max_bytes: u64,
    /// HTTP proxy: `system` (environment variables), `none`, or a proxy URL.
    pub proxy: String,
}

impl Default for CrlPolicy {
    fn default() -> Self {
        Self {
            extra_urls: Vec::new(),
            warning_hours: 24,
            refresh_hours: 24,
            jitter: String::new(),
            parallel: 4,
            connect_timeout_secs: 15,
            read_timeout_secs: 30,
            total_timeout_secs: 300,
            max_bytes: 64 << 20,
            proxy: "system".into(),
        }
    }
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
#[error("{}", crate::t!("config.unreadable", path = .path, reason = .reason))]
pub struct ConfigError {
    /// Which file.
    pub path: String,
    /// Why, in words.
    pub reason: String,
}

/// Loads the configuration at `path`; a missing file gives the defaults
/// (and is written, so the user can see what can be set). An
/// existing one is read with [`read_limited`](crate::domain::fsutil::read_limited):
/// a FIFO or a device there is refused, not waited on.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    use crate::domain::fsutil::{MAX_CONFIG_FILE, describe_io, read_limited};
    let error = |reason: String| ConfigError {
        path: path.display().to_string(),
        reason,
    };
    if std::fs::symlink_metadata(path).is_err() {
        let defaults = Config::default();
        store(path, &defaults)?;
        return Ok(defaults);
    }
    let bytes = read_limited(path, MAX_CONFIG_FILE).map_err(|e| error(describe_io(&e)))?;
    let text = String::from_utf8(bytes).map_err(|e| error(e.to_string()))?;
    toml::from_str(&text).map_err(|e| error(e.message().to_string()))
}

/// Writes `config` to `path` as TOML (atomically, the folder created when
/// missing).
pub fn store(path: &Path, config: &Config) -> Result<(), ConfigError> {
    use crate::domain::fsutil::{describe_io, write_atomic};
    let error = |reason: String| ConfigError {
        path: path.display().to_string(),
        reason,
    };
    let text = toml::to_string_pretty(config).map_err(|e| error(e.to_string()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| error(describe_io(&e)))?;
    }
    write_atomic(path, text.as_bytes()).map_err(|e| error(describe_io(&e)))
}

#[cfg(test)]
mod store_tests {
    use super::*;

    #[test]
    fn a_missing_file_is_written_with_the_defaults_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new").join("config.toml");
        let loaded = load(&path).unwrap();
        assert_eq!(loaded, Config::default());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("[crl]"), "{text}");
        let mut changed = loaded.clone();
        changed.crl.warning_hours += 1;
        store(&path, &changed).unwrap();
        assert_eq!(load(&path).unwrap(), changed);
    }
}
