//! Where certsafe keeps its files: `--home DIR`, `CERTSAFE_HOME`, or the
//! platform's folders.

use std::path::{Path, PathBuf};

/// The three places certsafe writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// `config.toml` lives here.
    pub config_dir: PathBuf,
    /// Accounts, CAs, correspondents.
    pub data_dir: PathBuf,
    /// Downloaded CRLs and their indexes.
    pub cache_dir: PathBuf,
}

impl Home {
    /// Everything under one folder: `DIR/config.toml`, `DIR/data`, `DIR/cache`.
    pub fn under(dir: &Path) -> Self {
        Self {
            config_dir: dir.to_path_buf(),
            data_dir: dir.join("data"),
            cache_dir: dir.join("cache"),
        }
    }

    /// The platform's folders (XDG on Linux).
    pub fn platform() -> Option<Self> {
        let dirs = directories::ProjectDirs::from("fr", "certsafe", "certsafe")?;
        Some(Self {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_dir().to_path_buf(),
            cache_dir: dirs.cache_dir().to_path_buf(),
        })
    }

    /// `config.toml`.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    /// Folder of the accounts.
    pub fn accounts_dir(&self) -> PathBuf {
        self.data_dir.join("accounts")
    }

    /// Folder of the trusted CA certificates.
    pub fn cas_dir(&self) -> PathBuf {
        self.data_dir.join("cas")
    }

    /// Folder of the correspondents' certificates.
    pub fn correspondents_dir(&self) -> PathBuf {
        self.data_dir.join("correspondents")
    }

    /// Folder of the cached CRLs and their indexes.
    pub fn crl_cache_dir(&self) -> PathBuf {
        self.cache_dir.join("crl")
    }

    /// The secret that authenticates the CRL indexes.
    pub fn index_key_file(&self) -> PathBuf {
        self.data_dir.join("crl-index.key")
    }
}
