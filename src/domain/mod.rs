//! The domain: everything certsafe does that is not the terminal. No module
//! here imports ratatui, crossterm or tui-input; the CLI and the TUI are thin
//! layers over these functions.

pub mod backup;
pub mod ber;
pub mod certext;
pub mod config;
pub mod correspondent;
pub mod crl;
pub mod demo;
pub mod drives;
pub mod fsutil;
pub mod history;
pub mod home;
pub mod identity;
pub mod igc;
pub mod import;
pub mod journal;
pub mod ldap;
pub mod lock;
pub mod p12;
pub mod restore;
pub mod secret;
pub mod status;
pub mod store;
pub mod text;
pub mod time;
pub mod trust;
