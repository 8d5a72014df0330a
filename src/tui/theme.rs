//! Themes: `themes/*.toml` compiled in, plus `CONFIG/themes/NAME.toml`.
//! A theme file overrides only what it names; screens ask for semantic
//! styles (`theme.level(Level::Critical)`), never literal colours.

use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::domain::status::Level;

/// The themes shipped with certsafe.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("monochrome", include_str!("../../themes/monochrome.toml")),
];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ThemeFile {
    name: Option<String>,
    text: Option<String>,
    background: Option<String>,
    muted: Option<String>,
    accent: Option<String>,
    border: Option<String>,
    title: Option<String>,
    selected_fg: Option<String>,
    selected_bg: Option<String>,
    ok: Option<String>,
    warning: Option<String>,
    critical: Option<String>,
    unknown: Option<String>,
    input_fg: Option<String>,
    input_bg: Option<String>,
    bold: Option<bool>,
    monochrome: Option<bool>,
}

/// Semantic colours of the interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// Theme name.
    pub name: String,
    text: Color,
    background: Color,
    muted: Color,
    accent: Color,
    border: Color,
    title: Color,
    selected_fg: Color,
    selected_bg: Color,
    ok: Color,
    warning: Color,
    critical: Color,
    unknown: Color,
    input_fg: Color,
    input_bg: Color,
    bold: bool,
    /// No colours: emphasis by modifiers only.
    pub monochrome: bool,
    /// ASCII only (borders `+-|`, separators): for vt100-class terminals.
    pub ascii: bool,
}

/// A theme that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// No such theme.
    #[error("{}", crate::t!("tui.theme_unknown", name = .0))]
    Unknown(String),
    /// The file is not valid.
    #[error("{}", crate::t!("tui.theme_invalid", name = .name, reason = .reason))]
    Invalid {
        /// Which theme.
        name: String,
        /// Why.
        reason: String,
    },
}

fn color(s: &str) -> Option<Color> {
    Color::from_str(&s.replace('_', "")).ok()
}

/// The user theme file at `path`, if there is one: read with
/// [`read_limited`](crate::domain::fsutil::read_limited), so a FIFO or a
/// device there is refused at once.
fn read_theme_file(path: &Path, name: &str) -> Result<Option<String>, ThemeError> {
    use crate::domain::fsutil::{MAX_CONFIG_FILE, describe_io, read_limited};
    let invalid = |reason: String| ThemeError::Invalid {
        name: name.to_string(),
        reason,
    };
    match read_limited(path, MAX_CONFIG_FILE) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|e| invalid(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(invalid(describe_io(&e))),
    }
}

impl Theme {
    fn apply(mut self, file: &ThemeFile, name: &str) -> Result<Self, ThemeError> {
        let invalid = |v: &str| ThemeError::Invalid {
            name: name.to_string(),
            reason: format!("colour {v:?}"),
        };
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(v) = &file.$field {
                    self.$field = color(v).ok_or_else(|| invalid(v))?;
                }
            )*};
        }
        set!(
            text,
            background,
            muted,
            accent,
            border,
            title,
            selected_fg,
            selected_bg,
            ok,
            warning,
            critical,
            unknown,
            input_fg,
            input_bg
        );
        if let Some(b) = file.bold {
            self.bold = b;
        }
        if let Some(m) = file.monochrome {
            self.monochrome = m;
        }
        self.name = file.name.clone().unwrap_or_else(|| name.to_string());
        Ok(self)
    }

    fn base() -> Self {
        Self {
            name: "default".into(),
            text: Color::Reset,
            background: Color::Reset,
            muted: Color::Reset,
            accent: Color::Reset,
            border: Color::Reset,
            title: Color::Reset,
            selected_fg: Color::Reset,
            selected_bg: Color::Reset,
            ok: Color::Reset,
            warning: Color::Reset,
            critical: Color::Reset,
            unknown: Color::Reset,
            input_fg: Color::Reset,
            input_bg: Color::Reset,
            bold: false,
            monochrome: false,
            ascii: false,
        }
    }

    fn parse(text: &str, name: &str) -> Result<ThemeFile, ThemeError> {
        toml::from_str(text).map_err(|e| ThemeError::Invalid {
            name: name.to_string(),
            reason: e.message().to_string(),
        })
    }

    /// The default theme.
    pub fn default_theme() -> Self {
        Self::load("default", None).unwrap_or_else(|_| Self::base())
    }

    /// Loads `name`: the user folder first (override-only, over the built-in
    /// default), then the built-in themes.
    pub fn load(name: &str, user_dir: Option<&Path>) -> Result<Self, ThemeError> {
        let default = Self::parse(BUILT_IN[0].1, "default")?;
        let base = Self::base().apply(&default, "default")?;
        if let Some(dir) = user_dir {
            let safe = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            let path = dir.join(format!("{name}.toml"));
            let found = if safe {
                read_theme_file(&path, name)?
            } else {
                None
            };
            if let Some(text) = found {
                let file = Self::parse(&text, name)?;
                // A user theme may start from a built-in one of the same name.
                let start = match BUILT_IN.iter().find(|(n, _)| *n == name) {
                    Some((n, t)) => base.clone().apply(&Self::parse(t, n)?, n)?,
                    None => base,
                };
                return start.apply(&file, name);
            }
        }
        match BUILT_IN.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => base.apply(&Self::parse(text, n)?, n),
            None => Err(ThemeError::Unknown(name.to_string())),
        }
    }

    /// A theme file's text applied over the default theme, as [`Theme::load`]
    /// does with a user theme (used by the fuzz target and tests).
    pub fn from_toml(text: &str, name: &str) -> Result<Self, ThemeError> {
        let base = Self::base().apply(&Self::parse(BUILT_IN[0].1, "default")?, "default")?;
        base.apply(&Self::parse(text, name)?, name)
    }

    /// Switches to ASCII drawing (and, unless a theme was asked for, no
    /// colour): for terminals that know neither UTF-8 nor colours.
    #[must_use]
    pub fn for_plain_terminal(mut self, keep_colours: bool) -> Self {
        self.ascii = true;
        if !keep_colours {
            self.monochrome = true;
        }
        self
    }

    /// Whether `TERM` names a terminal without UTF-8 line drawing or colour
    /// (vt100, vt220, dumb).
    pub fn plain_terminal(term: Option<&str>) -> bool {
        term.is_some_and(|t| t.starts_with("vt") || t == "dumb")
    }

    /// The theme to use: `--theme`, else the config's, else monochrome when
    /// `NO_COLOR` is set, else the default.
    pub fn choose(
        flag: Option<&str>,
        config: Option<&str>,
        no_color: bool,
        user_dir: Option<&Path>,
    ) -> Result<Self, ThemeError> {
        match flag.or(config) {
            Some(name) => Self::load(name, user_dir),
            None if no_color => Self::load("monochrome", user_dir),
            None => Self::load("default", user_dir),
        }
    }

    fn fg(&self, c: Color) -> Style {
        if self.monochrome {
            Style::default()
        } else {
            Style::default().fg(c)
        }
    }

    /// Plain text.
    pub fn text(&self) -> Style {
        if self.monochrome {
            Style::default()
        } else {
            Style::default().fg(self.text).bg(self.background)
        }
    }

    /// Secondary text.
    pub fn muted(&self) -> Style {
        if self.monochrome {
            Style::default().add_modifier(Modifier::DIM)
        } else {
            self.fg(self.muted)
        }
    }

    /// Keys in hints, links.
    pub fn accent(&self) -> Style {
        let s = self.fg(self.accent).add_modifier(Modifier::BOLD);
        if self.monochrome {
            s.add_modifier(Modifier::UNDERLINED)
        } else {
            s
        }
    }

    /// Borders.
    pub fn border(&self) -> Style {
        self.fg(self.border)
    }

    /// Titles of blocks.
    pub fn title(&self) -> Style {
        self.fg(self.title).add_modifier(Modifier::BOLD)
    }

    /// The selected row.
    pub fn selected(&self) -> Style {
        if self.monochrome {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::default()
                .fg(self.selected_fg)
                .bg(self.selected_bg)
                .add_modifier(Modifier::BOLD)
        }
    }

    /// A text field.
    pub fn input(&self, focused: bool) -> Style {
        let s = if self.monochrome {
            Style::default()
        } else {
            Style::default().fg(self.input_fg).bg(self.input_bg)
        };
        if focused {
            s.add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        } else {
            s
        }
    }

    /// A severity (always shown with its word too).
    pub fn level(&self, level: Level) -> Style {
        let c = match level {
            Level::Ok => self.ok,
            Level::Warning => self.warning,
            Level::Critical => self.critical,
            Level::Unknown => self.unknown,
        };
        let s = self.fg(c);
        let s = if self.bold || self.monochrome || level == Level::Critical {
            s.add_modifier(Modifier::BOLD)
        } else {
            s
        };
        if self.monochrome && level == Level::Critical {
            s.add_modifier(Modifier::REVERSED)
        } else {
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_loads() {
        for (name, _) in BUILT_IN {
            let t = Theme::load(name, None).unwrap();
            assert_eq!(&t.name, name);
        }
        assert!(Theme::load("monochrome", None).unwrap().monochrome);
        assert!(matches!(
            Theme::load("nope", None),
            Err(ThemeError::Unknown(_))
        ));
    }

    #[test]
    fn no_color_selects_monochrome_unless_a_theme_is_forced() {
        assert_eq!(
            Theme::choose(None, None, true, None).unwrap().name,
            "monochrome"
        );
        assert_eq!(
            Theme::choose(Some("light"), None, true, None).unwrap().name,
            "light"
        );
        assert_eq!(
            Theme::choose(None, Some("high-contrast"), false, None)
                .unwrap()
                .name,
            "high-contrast"
        );
    }

    #[test]
    fn a_fifo_or_a_folder_as_theme_file_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.path().join("pipe.toml"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("folder.toml")).unwrap();
        let start = std::time::Instant::now();
        for name in ["pipe", "folder"] {
            let err = Theme::load(name, Some(dir.path())).unwrap_err();
            assert!(matches!(err, ThemeError::Invalid { .. }), "{name}: {err:?}");
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn user_themes_override_only_what_they_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cabinet.toml"), "critical = \"#ff00ff\"\n").unwrap();
        let t = Theme::load("cabinet", Some(dir.path())).unwrap();
        let d = Theme::default_theme();
        assert_eq!(t.critical, Color::Rgb(255, 0, 255));
        assert_eq!(t.ok, d.ok);
        std::fs::write(dir.path().join("bad.toml"), "critical = \"not a colour\"\n").unwrap();
        assert!(matches!(
            Theme::load("bad", Some(dir.path())),
            Err(ThemeError::Invalid { .. })
        ));
    }
}
