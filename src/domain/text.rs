//! Text from outside (names, subjects, labels, URLs, file names, server
//! messages) made safe to show on a terminal: one function, used by the CLI,
//! the TUI and error messages alike.
//!
//! A certificate subject, a PKCS#12 friendlyName or a file name can carry
//! escape sequences (clear the screen, set the window title, forge a
//! hyperlink), carriage returns that overwrite a line, or bidirectional
//! controls that reorder what the eye reads. [`visible`] writes every such
//! character as a visible escape (`\x1b`, `\r`, `\u{202e}`) and leaves all
//! other text, accents included, as it is. JSON output does not use it: JSON
//! escapes control characters itself and must stay exact.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// Whether `c` must not reach a terminal as it is: C0 and C1 controls, DEL,
/// bidirectional formatting characters and the Unicode line separators.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'                      // ARABIC LETTER MARK
            | '\u{200e}' | '\u{200f}'       // LRM, RLM
            | '\u{2028}' | '\u{2029}'       // line and paragraph separators
            | '\u{202a}'..='\u{202e}'       // LRE, RLE, PDF, LRO, RLO
            | '\u{2066}'..='\u{2069}'       // LRI, RLI, FSI, PDI
            | '\u{206a}'..='\u{206f}'       // deprecated shaping and symmetric-swapping controls
            | '\u{200b}'..='\u{200d}'       // zero-width space, non-joiner, joiner
            | '\u{2060}'..='\u{2064}'       // word joiner, invisible operators
            | '\u{feff}' // zero-width no-break space (BOM)
        )
}

/// `s` with every unsafe character (see [`is_unsafe`]) written as a visible
/// escape: `\n`, `\r`, `\t`, `\x1b` for ASCII controls, `\u{9b}` or
/// `\u{202e}` for the others. Borrowed when there is nothing to change.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_unsafe(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// `s` as lines a terminal shows safely: like [`visible`], but the line
/// breaks stay line breaks. The CLI passes all its text output through it,
/// after [`visible`] has already been applied to the outside values, so a
/// print site that forgot still cannot emit an escape sequence.
pub fn visible_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    let parts: Vec<Cow<'_, str>> = s.split('\n').map(visible).collect();
    Cow::Owned(parts.join("\n"))
}

/// Whether `s` can be shown as it is (nothing for [`visible`] to change).
pub fn is_clean(s: &str) -> bool {
    !s.chars().any(is_unsafe)
}

/// A value displayed through [`visible`]: `Shown(&subject).to_string()` is the
/// subject with its controls made visible. The `t!` macro wraps every
/// parameter in it.
pub struct Shown<'a, T: ?Sized>(pub &'a T);

impl<T: fmt::Display + ?Sized> fmt::Display for Shown<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        f.write_str(&visible(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for s in [
            "Dr Élodie Durand",
            "CN=TEST AC, O=ASIP-SANTE",
            "clé USB € 日本",
            "",
        ] {
            assert!(matches!(visible(s), Cow::Borrowed(x) if x == s));
            assert!(is_clean(s));
        }
    }

    #[test]
    fn escapes_and_controls_become_visible() {
        assert_eq!(visible("a\x1b]0;pwned\x07b"), "a\\x1b]0;pwned\\x07b");
        assert_eq!(visible("x\ry\nz\tw"), "x\\ry\\nz\\tw");
        assert_eq!(visible("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(visible("\x7f"), "\\x7f");
        assert_eq!(visible("abc\u{202e}fdp.exe"), "abc\\u{202e}fdp.exe");
        assert_eq!(visible("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(visible("a\u{206b}b"), "a\\u{206b}b");
        assert!(!is_clean("\x1b[2J"));
        // Invisible characters that let one name pass for another.
        assert_eq!(visible("Dr\u{200b} Durand"), "Dr\\u{200b} Durand");
        assert_eq!(visible("a\u{feff}b\u{2060}"), "a\\u{feff}b\\u{2060}");
    }

    #[test]
    fn shown_values_and_translated_parameters_are_visible() {
        assert_eq!(Shown(&"a\x1b[2Jb").to_string(), "a\\x1b[2Jb");
        assert_eq!(Shown(&42).to_string(), "42");
        let label = "x\x1b]0;pwned\x07\u{202e}";
        let text = crate::t!("cli.removed", id = label);
        assert!(is_clean(&text), "{text:?}");
        assert!(text.contains("x\\x1b]0;pwned\\x07\\u{202e}"), "{text:?}");
    }

    #[test]
    fn visible_lines_keeps_line_breaks_only() {
        assert!(matches!(visible_lines("a\nb"), Cow::Borrowed("a\nb")));
        assert_eq!(
            visible_lines("a\x1b[2J\nb\rc\u{9b}"),
            "a\\x1b[2J\nb\\rc\\u{9b}"
        );
    }

    #[test]
    fn output_never_holds_an_unsafe_character() {
        // Every code point below U+3000 plus a few beyond, one at a time.
        for cp in (0u32..0x3000).chain([0xfeff, 0x1f600, 0x0010_ffff]) {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let s = format!("a{c}b");
            let v = visible(&s);
            assert!(is_clean(&v), "U+{cp:04X} stays unsafe: {v:?}");
        }
    }
}
