//! Why a PKCS#12 file could not be opened or written.

use super::{Summary, WrittenPart};
use crate::domain::identity::IdentityError;

/// Why a PKCS#12 file could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum P12Error {
    /// Over [`super::MAX_FILE_SIZE`].
    #[error("{}", crate::t!("p12.too_large", size = .size))]
    TooLarge {
        /// Its size.
        size: u64,
    },
    /// Not PKCS#12 at all.
    #[error("{}", crate::t!("p12.not_pkcs12"))]
    NotPkcs12,
    /// Structure broken: truncated or altered.
    #[error("{}", crate::t!("p12.damaged", detail = .detail))]
    Damaged {
        /// What is broken.
        detail: String,
    },
    /// The file asks for more key-derivation work than [`kdf::BUDGET`].
    #[error("{}", crate::t!("p12.too_much_work", units = .units, budget = .budget))]
    TooMuchWork {
        /// The work claimed, in units (`u64::MAX`: a count beyond 64 bits).
        units: u64,
        /// The work allowed.
        budget: u64,
    },
    /// A key derivation (scrypt, ...) or MAC this program does not run.
    #[error("{}", crate::t!("p12.unsupported_kdf", kdf = .kdf))]
    UnsupportedKdf {
        /// Its name or OID.
        kdf: String,
    },
    /// Several identities and none chosen.
    #[error("{}", crate::t!("p12.several_identities", count = .identities.len(), list = summary_lines(.identities)))]
    SeveralIdentities {
        /// What to choose from.
        identities: Vec<Summary>,
    },
    /// The identity asked for is not in the file.
    #[error("{}", crate::t!("p12.no_such_identity", index = .index, count = .count))]
    NoSuchIdentity {
        /// The number asked for (1-based).
        index: usize,
        /// How many there are.
        count: usize,
    },
    /// MAC check failed and the key does not decrypt either.
    #[error("{}", crate::t!("p12.wrong_password"))]
    WrongPassword,
    /// MAC check failed but the password decrypts the key: the file was altered.
    #[error("{}", crate::t!("p12.altered"))]
    Altered,
    /// Opened, but no key or no certificate inside.
    #[error("{}", crate::t!(if *.missing == "certificate" { "p12.incomplete_cert" } else { "p12.incomplete_key" }))]
    Incomplete {
        /// `private key` or `certificate`.
        missing: &'static str,
    },
    /// The key does not match the certificate.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// An algorithm this OpenSSL cannot provide.
    #[error("{}", crate::t!("p12.unsupported", detail = .detail))]
    Unsupported {
        /// OpenSSL's words.
        detail: String,
    },
    /// OpenSSL failed while writing.
    #[error("{}", crate::t!("p12.build", detail = .0))]
    Build(openssl::error::ErrorStack),
    /// A file just written does not hold what was written.
    #[error("{}", crate::t!("p12.not_as_written", index = .index, part = part_words(*.part)))]
    NotAsWritten {
        /// Which identity (1-based; 0: the file as a whole).
        index: usize,
        /// What differs.
        part: WrittenPart,
    },
}

fn part_words(part: WrittenPart) -> String {
    crate::t!(match part {
        WrittenPart::Count => "p12.part_count",
        WrittenPart::Certificate => "p12.part_certificate",
        WrittenPart::Key => "p12.part_key",
        WrittenPart::Chain => "p12.part_chain",
        WrittenPart::Name => "p12.part_name",
    })
}

fn summary_lines(list: &[Summary]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for s in list {
        let _ = write!(
            out,
            "\n  {}: {} — {} ({})",
            s.index,
            crate::domain::text::visible(s.friendly_name.as_deref().unwrap_or("-")),
            crate::domain::text::visible(&s.subject),
            s.fingerprint
        );
    }
    out
}

impl P12Error {
    /// A stable machine code for scripts (`--json` errors).
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "p12_too_large",
            Self::NotPkcs12 => "p12_not_pkcs12",
            Self::Damaged { .. } => "p12_damaged",
            Self::TooMuchWork { .. } => "p12_too_much_work",
            Self::UnsupportedKdf { .. } => "p12_unsupported_kdf",
            Self::SeveralIdentities { .. } => "p12_several_identities",
            Self::NoSuchIdentity { .. } => "p12_no_such_identity",
            Self::WrongPassword => "p12_wrong_password",
            Self::Altered => "p12_altered",
            Self::Incomplete { .. } => "p12_incomplete",
            Self::Identity(_) => "p12_key_mismatch",
            Self::Unsupported { .. } => "p12_unsupported",
            Self::Build(_) => "p12_build",
            Self::NotAsWritten { .. } => "p12_not_as_written",
        }
    }
}
