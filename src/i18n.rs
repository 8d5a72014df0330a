//! The language of messages: French when the locale is French, else
//! English; `--lang` or `ui.lang` force it. Every user-facing string lives
//! in `src/locales/en.yml` and `src/locales/fr.yml`.

/// A language certsafe speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// French.
    Fr,
}

impl Lang {
    /// `en` or `fr`.
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
        }
    }

    /// Parses `fr`, `fr_FR.UTF-8`, `en`...: French for anything starting with `fr`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        if s.starts_with("fr") {
            Some(Self::Fr)
        } else if s.is_empty() {
            None
        } else {
            Some(Self::En)
        }
    }

    /// From the environment: the first set of `LC_ALL`, `LC_MESSAGES`, `LANG`.
    pub fn from_env() -> Self {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .and_then(|s| Self::parse(&s))
            .unwrap_or(Self::En)
    }
}

/// Sets the language of every message from now on.
pub fn set(lang: Lang) {
    rust_i18n::set_locale(lang.code());
}

/// The translated text of `key` (with `%{name}` placeholders filled), as a
/// `String`. Every parameter is shown through
/// [`crate::domain::text::visible`]: parameters are where outside text (names,
/// subjects, paths, URLs, server messages) enters a sentence, so no message
/// can carry an escape sequence to the terminal, whoever prints it.
#[macro_export]
macro_rules! t {
    ($key:expr) => {{
        let key: &str = &$key;
        let text: String = rust_i18n::t!(key).into_owned();
        text
    }};
    ($key:expr, $($name:ident = $value:expr),+ $(,)?) => {{
        let key: &str = &$key;
        let text: String =
            rust_i18n::t!(key, $($name = $crate::domain::text::Shown(&($value))),+).into_owned();
        text
    }};
}

/// The translated text of `key` without parameters, in the current
/// language (for tests and the screens in the docs, outside this crate).
pub fn text(key: &str) -> String {
    crate::t!(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_words() {
        assert_eq!(Lang::parse("fr_FR.UTF-8"), Some(Lang::Fr));
        assert_eq!(Lang::parse("fr"), Some(Lang::Fr));
        assert_eq!(Lang::parse("en_US.UTF-8"), Some(Lang::En));
        assert_eq!(Lang::parse("C"), Some(Lang::En));
        assert_eq!(Lang::parse(""), None);
    }

    fn keys(text: &str) -> Vec<(String, Vec<String>)> {
        // Flattens the two-level YAML of our locale files: `section:` then `  key: text`.
        let mut out = Vec::new();
        let mut section = String::new();
        for line in text.lines() {
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            let Some((k, v)) = line.trim().split_once(':') else {
                continue;
            };
            match indent {
                0 => section = k.to_string(),
                2 => {
                    let mut vars: Vec<String> = v
                        .split("%{")
                        .skip(1)
                        .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_string()))
                        .collect();
                    vars.sort();
                    vars.dedup();
                    out.push((format!("{section}.{k}"), vars));
                }
                _ => {}
            }
        }
        out.sort();
        out
    }

    #[test]
    fn french_and_english_have_the_same_keys_and_placeholders() {
        let en = keys(include_str!("locales/en.yml"));
        let fr = keys(include_str!("locales/fr.yml"));
        assert!(en.len() > 20);
        let en_keys: Vec<_> = en.iter().map(|(k, _)| k).collect();
        let fr_keys: Vec<_> = fr.iter().map(|(k, _)| k).collect();
        let missing_fr: Vec<_> = en_keys.iter().filter(|k| !fr_keys.contains(k)).collect();
        let missing_en: Vec<_> = fr_keys.iter().filter(|k| !en_keys.contains(k)).collect();
        assert!(
            missing_fr.is_empty() && missing_en.is_empty(),
            "missing in fr: {missing_fr:?}; in en: {missing_en:?}"
        );
        assert_eq!(en, fr, "placeholders differ");
    }

    #[test]
    fn translations_are_used() {
        set(Lang::Fr);
        let fr = crate::t!("status.no_account");
        set(Lang::En);
        let en = crate::t!("status.no_account");
        assert_ne!(fr, en);
        assert!(!fr.contains("status."), "{fr}");
    }
}
