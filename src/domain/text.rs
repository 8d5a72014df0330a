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
use std::fmt::Write as _;

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
            | '\u{2066}'..='\u{2069}' // LRI, RLI, FSI, PDI
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

/// Whether `s` can be shown as it is (nothing for [`visible`] to change).
pub fn is_clean(s: &str) -> bool {
    !s.chars().any(is_unsafe)
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
        assert!(!is_clean("\x1b[2J"));
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
