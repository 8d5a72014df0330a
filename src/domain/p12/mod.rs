//! PKCS#12 files: write them with the two backup profiles, look inside them
//! without the password (algorithms, iteration counts, MAC), and open them
//! with OpenSSL, telling a wrong password from a damaged file.

use serde::Serialize;

pub mod build;
mod error;
mod inspect;
pub mod kdf;
mod open;
pub mod read;

pub use build::{Entry, build, build_many};
pub use read::{Summary, check};

pub use self::error::P12Error;
pub use self::inspect::{Encryption, Layout, Mac, inspect};
use self::inspect::{read_data_content, read_encryption};
pub use self::open::{
    Opened, WrittenPart, open, open_identity, read_back, read_back_all, verify_written,
};
use self::open::{first_reason, load_legacy_provider};

/// Iterations used by both profiles, for the key, the certificates and the MAC.
pub const ITERATIONS: u32 = 600_000;
/// Files larger than this are not backups of one identity.
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;

/// Where the backup will be restored, which decides its algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// PBES2 / PBKDF2-HMAC-SHA256 / AES-256-CBC, MAC SHA-256.
    #[default]
    Modern,
    /// pbeWithSHAAnd3-KeyTripleDES-CBC, MAC SHA-1, for old Windows, macOS and Java.
    Compat,
}

impl Profile {
    /// `modern` or `compat`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Modern => "modern",
            Self::Compat => "compat",
        }
    }

    /// Parses `modern` or `compat`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "modern" => Some(Self::Modern),
            "compat" => Some(Self::Compat),
            _ => None,
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a path's name ends in `.p12` or `.pfx` (any case).
pub fn is_p12_name(path: &std::path::Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("p12") || e.eq_ignore_ascii_case("pfx"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ber::{self, tag};
    use crate::domain::identity::Identity;
    use crate::domain::identity::{read_certificates, read_private_key};
    use crate::domain::secret::Password;

    fn fixture() -> Identity {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/igc-sante-test");
        let key = read_private_key(
            &std::fs::read(dir.join("testsign.test.asipsante.fr.8f613149.key.pem")).unwrap(),
            None,
            "k",
        )
        .unwrap();
        let certs = read_certificates(
            &std::fs::read(dir.join("testsign.test.asipsante.fr.8f613149.pem")).unwrap(),
            "c",
        )
        .unwrap();
        Identity::assemble(key, certs).unwrap()
    }

    /// Re-encodes a DER PFX the way Java and NSS write BER: indefinite
    /// lengths and the authSafe content as a constructed OCTET STRING in
    /// small pieces.
    fn to_ber(der: &[u8]) -> Vec<u8> {
        let pfx = ber::read_one(der).unwrap();
        let (_, vlen) = ber::read_first(pfx.content).unwrap();
        let version = &pfx.content[..vlen];
        let rest = &pfx.content[vlen..];
        let (auth, alen) = ber::read_first(rest).unwrap();
        let mac = &rest[alen..];
        let oid = auth.child(0, "oid").unwrap();
        let octets = read_data_content(&auth).unwrap();
        let mut pieces = vec![0x24, 0x80];
        for chunk in octets.chunks(100) {
            pieces.extend(ber::der(tag::OCTET_STRING, chunk));
        }
        pieces.extend([0, 0]);
        let explicit = [vec![0xa0, 0x80], pieces, vec![0, 0]].concat();
        let content_info = [
            vec![0x30, 0x80],
            ber::der(tag::OID, oid.content),
            explicit,
            vec![0, 0],
        ]
        .concat();
        [
            vec![0x30, 0x80],
            version.to_vec(),
            content_info,
            mac.to_vec(),
            vec![0, 0],
        ]
        .concat()
    }

    #[test]
    fn ber_encoded_files_open() {
        let id = fixture();
        let pw = Password::new("correct horse battery staple Brest 1987".into()).unwrap();
        let der = build(&id, "Dr Élodie", &pw, Profile::Compat).unwrap();
        let ber_bytes = to_ber(&der);
        assert_ne!(der, ber_bytes);
        let layout = inspect(&ber_bytes).unwrap();
        assert!(layout.ber);
        assert_eq!(
            layout.mac.as_ref().unwrap().iterations,
            u64::from(ITERATIONS)
        );
        let opened = open(&ber_bytes, &pw).unwrap();
        assert_eq!(opened.identity.fingerprint(), id.fingerprint());
        assert_eq!(opened.friendly_name.as_deref(), Some("Dr Élodie"));
        // A wrong password is still told as such.
        let wrong = Password::new("not the password at all".into()).unwrap();
        assert!(matches!(
            open(&ber_bytes, &wrong),
            Err(P12Error::WrongPassword)
        ));
    }

    #[test]
    fn profiles_use_the_documented_algorithms() {
        let id = fixture();
        let pw = Password::new("correct horse battery staple Brest 1987".into()).unwrap();
        let modern = inspect(&build(&id, "x", &pw, Profile::Modern).unwrap()).unwrap();
        let key = modern.key_encryption.unwrap();
        assert_eq!(
            (
                key.scheme.as_str(),
                key.cipher.as_str(),
                key.kdf.as_str(),
                key.iterations
            ),
            ("PBES2", "AES-256-CBC", "PBKDF2-HMAC-SHA256", 600_000)
        );
        assert_eq!(modern.cert_encryption.unwrap().cipher, "AES-256-CBC");
        assert_eq!(
            modern.mac.unwrap(),
            Mac {
                digest: "SHA-256".into(),
                iterations: 600_000
            }
        );
        let compat = inspect(&build(&id, "x", &pw, Profile::Compat).unwrap()).unwrap();
        assert_eq!(compat.key_encryption.unwrap().cipher, "3DES-CBC");
        assert_eq!(compat.cert_encryption.unwrap().cipher, "3DES-CBC");
        assert_eq!(
            compat.mac.unwrap(),
            Mac {
                digest: "SHA-1".into(),
                iterations: 600_000
            }
        );
    }

    #[test]
    fn an_altered_file_is_told_from_a_wrong_password() {
        let id = fixture();
        let pw = Password::new("correct horse battery staple Brest 1987".into()).unwrap();
        let mut der = build(&id, "x", &pw, Profile::Modern).unwrap();
        // Flip the last byte of the MAC value, which the salt (16 bytes,
        // 18 with its header) and the count (5 bytes) follow.
        let pos = der.len() - 5 - 18 - 1;
        der[pos] ^= 1;
        assert!(matches!(open(&der, &pw), Err(P12Error::Altered)));
        let wrong = Password::new("not the password at all".into()).unwrap();
        assert!(matches!(open(&der, &wrong), Err(P12Error::WrongPassword)));
    }
}
