//! Passwords: validated, kept in a `SecretString`, compared in constant time,
//! and judged by zxcvbn.

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// The lowest zxcvbn score (0–4) accepted for a backup password. A backup
/// file can be attacked offline for as long as the attacker likes, so only 4
/// (at least 10^10 guesses) is accepted: score 3 starts at 10^8 guesses, a
/// few hours for a GPU even at 600 000 PBKDF2 iterations.
pub const MIN_SCORE: u8 = 4;

/// A password with no NUL byte, not empty unless made by
/// [`Password::empty_for_reading`]. Its `Debug` hides it.
pub struct Password(SecretString);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<hidden>)")
    }
}

/// Why a password is refused before any cryptography.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Nothing was typed.
    #[error("{}", crate::t!("password.empty"))]
    Empty,
    /// A NUL byte cannot be passed to OpenSSL.
    #[error("{}", crate::t!("password.nul"))]
    Nul,
    /// The two entries differ.
    #[error("{}", crate::t!("password.mismatch"))]
    Mismatch,
    /// Too easy to guess.
    #[error("{}", crate::t!("password.too_weak", strength = strength_words(*.score), advice = .advice))]
    TooWeak {
        /// zxcvbn score 0–4.
        score: u8,
        /// What to do instead.
        advice: String,
    },
}

impl Password {
    /// Takes ownership of `text` (moved into the secret, never copied) and
    /// checks it is usable.
    pub fn new(text: String) -> Result<Self, PasswordError> {
        let secret = SecretString::from(text);
        let exposed = secret.expose_secret();
        if exposed.is_empty() {
            return Err(PasswordError::Empty);
        }
        if exposed.contains('\0') {
            return Err(PasswordError::Nul);
        }
        Ok(Self(secret))
    }

    /// The empty password, to open files others wrote without one (OpenSSL
    /// `-passout pass:`, NSS `-W ''`, `NoEncryption()`). Never accepted for
    /// a new backup: [`check_new_password`] refuses it.
    pub fn empty_for_reading() -> Self {
        Self(SecretString::from(String::new()))
    }

    /// The text, for the one call that needs it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether every character is ASCII (some software reads nothing else).
    pub fn is_ascii(&self) -> bool {
        self.expose().is_ascii()
    }

    /// Constant-time equality.
    pub fn matches(&self, other: &Password) -> bool {
        self.expose()
            .as_bytes()
            .ct_eq(other.expose().as_bytes())
            .into()
    }

    /// Checks that the confirmation equals this one.
    pub fn confirm(self, confirmation: &Password) -> Result<Self, PasswordError> {
        if self.matches(confirmation) {
            Ok(self)
        } else {
            Err(PasswordError::Mismatch)
        }
    }
}

/// The estimator's judgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strength {
    /// 0 (guessed at once) to 4 (very strong).
    pub score: u8,
    /// The estimator's warning, if any.
    pub warning: Option<String>,
    /// Its suggestions.
    pub suggestions: Vec<String>,
}

impl Strength {
    /// Whether a backup may use it.
    pub fn acceptable(&self) -> bool {
        self.score >= MIN_SCORE
    }

    /// Advice in one sentence.
    pub fn advice(&self) -> String {
        let mut parts: Vec<String> = self.warning.iter().cloned().collect();
        parts.extend(self.suggestions.iter().cloned());
        if parts.is_empty() {
            parts.push(crate::t!("password.advice_default"));
        }
        parts.join(" ")
    }
}

/// Words for a score.
pub fn strength_words(score: u8) -> String {
    match score {
        0 => crate::t!("password.strength_0"),
        1 => crate::t!("password.strength_1"),
        2 => crate::t!("password.strength_2"),
        3 => crate::t!("password.strength_3"),
        _ => crate::t!("password.strength_4"),
    }
}

/// Estimates the strength of `password`, with the holder's name, e-mail and
/// label as words an attacker would try first.
pub fn strength(password: &Password, known_words: &[&str]) -> Strength {
    let mut words: Vec<&str> = Vec::new();
    for w in known_words {
        words.push(w);
        words.extend(
            w.split(|c: char| !c.is_alphanumeric())
                .filter(|p| p.len() >= 3),
        );
    }
    let entropy = zxcvbn::zxcvbn(password.expose(), &words);
    let score = u8::from(entropy.score());
    let (warning, suggestions) = entropy.feedback().map_or((None, Vec::new()), |f| {
        (
            f.warning().map(|w| feedback_words(&format!("{w:?}"))),
            f.suggestions()
                .iter()
                .map(|s| feedback_words(&format!("{s:?}")))
                .collect(),
        )
    });
    Strength {
        score,
        warning,
        suggestions,
    }
}

/// The estimator's advice in the user's language (keys are the variant names).
fn feedback_words(variant: &str) -> String {
    let key = format!("zxcvbn.{variant}");
    crate::t!(&key)
}

/// Checks a new backup password: usable, confirmed, strong enough.
pub fn check_new_password(
    password: Password,
    confirmation: &Password,
    known_words: &[&str],
) -> Result<Password, PasswordError> {
    if password.expose().is_empty() {
        return Err(PasswordError::Empty);
    }
    let password = password.confirm(confirmation)?;
    let s = strength(&password, known_words);
    if s.acceptable() {
        Ok(password)
    } else {
        Err(PasswordError::TooWeak {
            score: s.score,
            advice: s.advice(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::new(s.to_string()).unwrap()
    }

    #[test]
    fn empty_and_nul_are_refused() {
        assert_eq!(
            Password::new(String::new()).unwrap_err(),
            PasswordError::Empty
        );
        assert_eq!(
            Password::new("ab\0cd".into()).unwrap_err(),
            PasswordError::Nul
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let p = pw("correct horse battery staple");
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn confirmation_must_match() {
        let err = check_new_password(
            pw("Tr0ub4dor&3-zèbre-ciel"),
            &pw("Tr0ub4dor&3-zebre-ciel"),
            &[],
        )
        .unwrap_err();
        assert_eq!(err, PasswordError::Mismatch);
    }

    #[test]
    fn the_holders_name_makes_a_password_weak() {
        let words = ["Dr Marie Durand", "marie.durand@example.fr"];
        for p in ["mariedurand1987!", "MarieDurandCabinet"] {
            let without = strength(&pw(p), &[]);
            let with = strength(&pw(p), &words);
            assert!(without.acceptable(), "{p} alone: {without:?}");
            assert!(!with.acceptable(), "{p} with the holder's name: {with:?}");
            assert!(matches!(
                check_new_password(pw(p), &pw(p), &words),
                Err(PasswordError::TooWeak { .. })
            ));
        }
    }

    #[test]
    fn a_passphrase_is_accepted() {
        let p = "vélo orange sous la pluie de Brest 1987";
        assert!(check_new_password(pw(p), &pw(p), &["Marie Durand"]).is_ok());
    }
}
