//! The application layer, between `domain` and the front ends (`cli`,
//! `tui`): one [`Env`] (home, resolved configuration, clock, drive source,
//! fetcher factory) and the use cases both front ends call. Use cases return
//! typed data and a typed [`Error`]; the text is made when it is shown, in
//! the reader's language.
//!
//! `app` imports `domain`, never `cli` or `tui` (`tests/layers.rs`).

mod account;
mod crl;
mod env;
mod error;
mod home;

pub use self::account::{
    AccountView, Changed, IdentityRow, LastBackup, forget_identity, load_account, remove_account,
    rename_account,
};
pub use self::crl::{CorrespondentRow, load_crls, trust_igc, update_crls};
pub use self::env::{Clock, Env, FetcherFactory};
pub use self::error::Error;
pub use self::home::{AccountRow, HomeData, gather, load_home};
