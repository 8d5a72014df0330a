//! Small drawing helpers shared by the screens.
//!
//! The helpers that take text (`plain`, `title`, `list_lines`, `kv`,
//! `level_line`, `wrapped`, `popup`, `block`) show it through
//! [`visible`]: names, subjects, file names and URLs reach the screen with
//! their control characters written out. [`scrub`], run by `view` on the
//! finished frame, is the backstop for a screen that builds its own spans.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};
use tui_input::Input;

use super::theme::Theme;
use crate::domain::status::Level;
use crate::domain::text::{is_clean, is_unsafe, visible};

/// Spinner frames (ASCII, so `TERM=vt100` and `linux` consoles draw them).
pub const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

/// Splits the screen: title line, body, key-hint line.
///
/// ```text
/// certsafe — Title                         (1 line)
/// ┌──────────── body ───────────────┐
/// │                                 │
/// └─────────────────────────────────┘
///  key hints                               (1 line)
/// ```
pub fn frame_layout(area: Rect) -> (Rect, Rect, Rect) {
    let [title, body, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    (title, body, hints)
}

/// Borders drawn with `+`, `-` and `|` only.
pub const ASCII_BORDER: ratatui::symbols::border::Set = ratatui::symbols::border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

/// Replaces the few non-ASCII signs the interface draws itself (control
/// characters made visible first).
pub fn plain(theme: &Theme, text: &str) -> String {
    let text = visible(text);
    if !theme.ascii {
        return text.into_owned();
    }
    text.replace('—', "-")
        .replace('·', "|")
        .replace('→', "->")
        .replace('…', "...")
        .replace("↑↓", "up/down")
        .replace('↑', "^")
        .replace('↓', "v")
}

/// The title line.
pub fn title(frame: &mut Frame, area: Rect, theme: &Theme, text: &str) {
    let line = Line::from(vec![
        Span::styled(" certsafe ", theme.title()),
        Span::styled(plain(theme, &format!("— {text}")), theme.text()),
    ]);
    frame.render_widget(Paragraph::new(line).style(theme.text()), area);
}

/// A key's name as printed on keyboards of the user's language.
pub fn key_name(key: &str) -> String {
    match key {
        "Enter" => crate::t!("tui.keyname_enter"),
        "Esc" => crate::t!("tui.keyname_esc"),
        "Yes" => crate::t!("tui.keyname_yes"),
        "PgDn" => crate::t!("tuiaccount.keyname_pgdn"),
        "PgUp" => crate::t!("tuiaccount.keyname_pgup"),
        other => other.to_string(),
    }
}

/// Keys a hints line never drops: help, quit, back and a confirmation's keys.
const KEPT_KEYS: [&str; 6] = ["?", "F1", "q", "Ctrl+C", "Yes", "Esc"];

/// The hints that fit in `width` columns, in three steps until they fit:
/// the least useful (the last ones that are neither the screen's main
/// action, the first hint, nor in [`KEPT_KEYS`]) are dropped first; then
/// the kept keys lose their labels (`Esc · ? · q`), so the main action
/// keeps its words; last, the main action goes. The help key (`?`) lists
/// them all.
pub fn fit_hints(theme: &Theme, keys: &[(&str, String)], width: usize) -> Vec<(String, String)> {
    let mut shown: Vec<(String, String)> = keys
        .iter()
        .map(|(k, l)| ((*k).to_string(), l.clone()))
        .collect();
    // One leading space; each hint costs its text and a " · " separator.
    let too_wide = |shown: &[(String, String)]| {
        shown
            .iter()
            .map(|(k, l)| {
                let key = plain(theme, &key_name(k)).chars().count();
                let label = l.chars().count();
                key + usize::from(key > 0 && label > 0) + label + 3
            })
            .sum::<usize>()
            .saturating_sub(2)
            > width
    };
    let kept = |k: &str| KEPT_KEYS.contains(&k);
    while too_wide(&shown) {
        let Some(i) = shown.iter().rposition(|(k, _)| !kept(k)) else {
            break;
        };
        if i == 0 {
            break;
        }
        shown.remove(i);
    }
    if too_wide(&shown) {
        for (k, l) in &mut shown {
            if kept(k) && k != "Yes" {
                l.clear();
            }
        }
    }
    while too_wide(&shown) {
        let Some(i) = shown.iter().rposition(|(k, _)| !kept(k)) else {
            break;
        };
        shown.remove(i);
    }
    shown
}

/// The one-line key-hint bar: `key label · key label`, fitted to the width
/// (see [`fit_hints`]).
pub fn hints(frame: &mut Frame, area: Rect, theme: &Theme, keys: &[(&str, String)]) {
    let mut spans = vec![Span::raw(" ")];
    for (i, (key, label)) in fit_hints(theme, keys, usize::from(area.width))
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            spans.push(Span::styled(plain(theme, " · "), theme.muted()));
        }
        if key.is_empty() {
            spans.push(Span::styled(label.clone(), theme.text()));
            continue;
        }
        spans.push(Span::styled(plain(theme, &key_name(&key)), theme.accent()));
        if !label.is_empty() {
            spans.push(Span::styled(format!(" {label}"), theme.text()));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.text()), area);
}

/// `text` cut into lines of at most `width` columns at spaces (a word
/// longer than a line is cut where the line ends); `first` columns of the
/// first line are already taken.
pub fn wrap_words(text: &str, width: usize, first: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut room = width.saturating_sub(first);
    let mut used = 0;
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let sep = usize::from(used > 0);
            if used + sep + word.len() <= room {
                if sep == 1 {
                    line.push(' ');
                }
                line.extend(word.iter());
                used += sep + word.len();
                break;
            }
            if used > 0 || (room < width && word.len() <= width) {
                lines.push(std::mem::take(&mut line));
                used = 0;
                room = width;
                continue;
            }
            // A word longer than a whole line.
            let take = room.max(1).min(word.len());
            lines.push(word.drain(..take).collect());
            room = width;
            if word.is_empty() {
                break;
            }
        }
    }
    if used > 0 || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A bordered block with a title.
pub fn block<'a>(theme: &Theme, title: &str) -> Block<'a> {
    let set = if theme.ascii {
        ASCII_BORDER
    } else {
        ratatui::symbols::border::PLAIN
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Plain)
        .border_set(set)
        .border_style(theme.border())
        .title(Span::styled(format!(" {} ", visible(title)), theme.title()))
        .style(theme.text())
}

/// The word for a severity, always shown next to its colour.
pub fn level_word(level: Level) -> String {
    crate::t!(&format!("status.level_{}", level.word()))
}

/// `[CRITICAL]` styled.
pub fn level_span(theme: &Theme, level: Level) -> Span<'static> {
    Span::styled(format!("[{}]", level_word(level)), theme.level(level))
}

/// A list of lines with one selected (`>` marks it, colour or not).
pub fn list_lines(theme: &Theme, items: &[String], selected: usize) -> Vec<Line<'static>> {
    items
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let text = visible(text);
            if i == selected {
                Line::from(Span::styled(format!("> {text}"), theme.selected()))
            } else {
                Line::from(Span::styled(format!("  {text}"), theme.text()))
            }
        })
        .collect()
}

/// Draws a text field; `masked` shows one `•` per character. Sets the
/// cursor when focused.
pub fn input_field(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    label: &str,
    input: &Input,
    masked: bool,
    focused: bool,
) {
    let label_width = u16::try_from(label.chars().count() + 1)
        .unwrap_or(20)
        .min(area.width / 2);
    let [l, f] =
        Layout::horizontal([Constraint::Length(label_width), Constraint::Min(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(Span::styled(label.to_string(), theme.text())),
        l,
    );
    let width = usize::from(f.width.saturating_sub(1));
    let scroll = input.visual_scroll(width);
    let shown: String = if masked {
        "*".repeat(input.value().chars().count())
    } else {
        input.value().to_string()
    };
    let visible: String = shown.chars().skip(scroll).take(width).collect();
    let pad = width.saturating_sub(visible.chars().count());
    let text = format!("{visible}{}", " ".repeat(pad + 1));
    frame.render_widget(Paragraph::new(Span::styled(text, theme.input(focused))), f);
    if focused {
        let x = input.visual_cursor().saturating_sub(scroll);
        let x = u16::try_from(x).unwrap_or(0);
        frame.set_cursor_position((f.x + x.min(f.width.saturating_sub(1)), f.y));
    }
}

/// A centred popup rectangle.
pub fn popup_area(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width.saturating_sub(2));
    let h = height.min(area.height.saturating_sub(2));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Draws a popup with wrapped text. Text taller than the screen is cut at
/// the bottom with a `… N more lines` marker in the border.
pub fn popup(frame: &mut Frame, area: Rect, theme: &Theme, title: &str, lines: Vec<Line<'static>>) {
    let rect_width = area.width.min(64).min(area.width.saturating_sub(2));
    let width = usize::from(rect_width.saturating_sub(2)).max(1);
    let lines = safe_lines(lines);
    let rows: usize = lines
        .iter()
        .map(|l| {
            let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
            wrap_words(&text, width, 0).len()
        })
        .sum();
    let height = u16::try_from(rows + 2).unwrap_or(u16::MAX);
    let rect = popup_area(area, 64, height.max(5));
    let shown = usize::from(rect.height.saturating_sub(2));
    let mut frame_block = block(theme, title);
    if rows > shown {
        frame_block = frame_block.title_bottom(
            Line::from(Span::styled(
                plain(
                    theme,
                    &format!(" {} ", crate::t!("tui.lines_hidden", n = rows - shown)),
                ),
                theme.accent(),
            ))
            .right_aligned(),
        );
    }
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(frame_block),
        rect,
    );
}

/// Rows `lines` take once wrapped (words kept whole) at `width` columns.
pub fn rows(lines: &[Line<'_>], width: u16) -> usize {
    Paragraph::new(lines.to_vec())
        .wrap(Wrap { trim: false })
        .line_count(width)
}

/// Draws `body` from its line `scroll` on, then `tail` (the step's key
/// line and warnings: always shown, at the end). Whole lines only: when the
/// body is longer than the room left, a marker row says there is more
/// above or below (↑/↓, PgUp/PgDn scroll). Returns the most lines worth
/// scrolling past (for the screen to clamp its `scroll`).
///
/// ```text
/// │↑ more above (PgUp)                       │
/// │Chain         CN=...                      │
/// │↓ more below (PgDn)                       │
/// │[WARNING] this certificate expired ...    │
/// │Press Enter to choose the account         │
/// ```
pub fn scrolled(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    body: Vec<Line<'static>>,
    tail: Vec<Line<'static>>,
    scroll: usize,
) -> usize {
    let body = safe_lines(body);
    let tail = safe_lines(tail);
    let width = area.width.max(1);
    let heights: Vec<usize> = body
        .iter()
        .map(|l| rows(std::slice::from_ref(l), width).max(1))
        .collect();
    let room = usize::from(area.height).saturating_sub(rows(&tail, width));
    let total: usize = heights.iter().sum();
    let mut out = Vec::new();
    let mut max_first = 0;
    if total <= room {
        out = body;
    } else {
        // The last lines fill the room at most (with the "more above" row).
        max_first = body.len();
        let mut rest = 0;
        while max_first > 0 && rest + heights[max_first - 1] < room {
            max_first -= 1;
            rest += heights[max_first];
        }
        let first = scroll.min(max_first);
        let above = first > 0;
        let mut budget = room.saturating_sub(usize::from(above));
        let mut last = first;
        let mut shown = Vec::new();
        while last < body.len() {
            let left: usize = heights[last..].iter().sum();
            let need = heights[last] + usize::from(left > budget);
            if need > budget {
                break;
            }
            budget -= heights[last];
            shown.push(body[last].clone());
            last += 1;
        }
        if above {
            out.push(Line::from(Span::styled(
                plain(theme, &crate::t!("tuiaccount.more_above")),
                theme.muted(),
            )));
        }
        out.extend(shown);
        if last < body.len() {
            out.push(Line::from(Span::styled(
                plain(theme, &crate::t!("tuiaccount.more_below")),
                theme.muted(),
            )));
        }
    }
    out.extend(tail);
    frame.render_widget(Paragraph::new(out).wrap(Wrap { trim: false }), area);
    max_first
}

/// Help lines in two columns when, wrapped to `width`, they do not fit in
/// `rows` (each cut with `…` to its column's width).
pub fn help_columns(lines: Vec<String>, rows: usize, width: usize) -> Vec<String> {
    let needed: usize = lines.iter().map(|l| wrap_words(l, width, 0).len()).sum();
    if needed <= rows {
        return lines;
    }
    let half = lines.len().div_ceil(2);
    let col = width.saturating_sub(2) / 2;
    let cut = |s: &str| {
        if s.chars().count() > col {
            let mut t: String = s.chars().take(col.saturating_sub(1)).collect();
            t.push('…');
            t
        } else {
            format!("{s:<col$}")
        }
    };
    (0..half)
        .map(|i| {
            let right = lines.get(i + half).map(|s| cut(s)).unwrap_or_default();
            format!("{}  {}", cut(&lines[i]), right)
                .trim_end()
                .to_string()
        })
        .collect()
}

/// A paragraph of wrapped text in a style.
pub fn wrapped(text: String, style: Style) -> Paragraph<'static> {
    Paragraph::new(shown(text))
        .style(style)
        .wrap(Wrap { trim: true })
}

/// Help lines from key hints (wizards), with Ctrl+C, which always quits.
pub fn help_lines(hints: Vec<(&str, String)>) -> Vec<String> {
    let has_arrows = hints.iter().any(|(k, _)| *k == "↑↓");
    let mut lines: Vec<String> = hints
        .into_iter()
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, l)| format!("{:<6} {l}", key_name(k)))
        .collect();
    if !has_arrows {
        lines.push(format!("{:<6} {}", "↑↓ j k", crate::t!("tui.key_choose")));
    }
    lines.push(format!("{:<6} {}", "Ctrl+C", crate::t!("tui.key_quit")));
    lines
}

/// `Label         value`.
pub fn kv(theme: &Theme, key: &str, value: &str) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{key:<13} "), theme.muted()),
        Span::styled(visible(value).into_owned(), theme.text()),
    ])
}

/// `[LEVEL] text`.
pub fn level_line(theme: &Theme, level: Level, text: String) -> Line<'static> {
    Line::from(vec![
        level_span(theme, level),
        Span::raw(" "),
        Span::styled(shown(text), theme.text()),
    ])
}

/// `text` through [`visible`], not copied when clean.
fn shown(text: String) -> String {
    if is_clean(&text) {
        text
    } else {
        visible(&text).into_owned()
    }
}

/// `lines` with every span's text shown through [`visible`]: screens pass
/// their paragraphs through it.
pub fn safe_lines(lines: Vec<Line<'_>>) -> Vec<Line<'_>> {
    lines.into_iter().map(safe_line).collect()
}

/// `line` with every span's text shown through [`visible`].
pub fn safe_line(line: Line<'_>) -> Line<'_> {
    let Line {
        style,
        alignment,
        spans,
    } = line;
    let spans = spans
        .into_iter()
        .map(|s| {
            if is_clean(&s.content) {
                s
            } else {
                Span::styled(visible(&s.content).into_owned(), s.style)
            }
        })
        .collect::<Vec<_>>();
    let mut out = Line::from(spans).style(style);
    out.alignment = alignment;
    out
}

/// The backstop run on every finished frame: a cell that would still send
/// a control or bidirectional character to the terminal (from a span a
/// screen built without the helpers above) shows `?` instead.
pub fn scrub(buf: &mut ratatui::buffer::Buffer) {
    for cell in &mut buf.content {
        if cell.symbol().chars().any(is_unsafe) {
            cell.set_symbol("?");
        }
    }
}

#[cfg(test)]
mod hint_tests {
    use super::*;

    #[test]
    fn the_main_action_keeps_its_words_before_help_and_quit_keep_theirs() {
        let theme = Theme::default_theme();
        let keys = vec![
            ("Enter", "write the backup".to_string()),
            ("Tab", "next field".to_string()),
            ("Esc", "back".to_string()),
            ("?", "help".to_string()),
            ("q", "quit".to_string()),
        ];
        let keys_of = |w| {
            fit_hints(&theme, &keys, w)
                .into_iter()
                .map(|(k, l)| format!("{k}:{l}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(keys_of(200).len(), 5);
        assert_eq!(
            keys_of(60),
            ["Enter:write the backup", "Esc:back", "?:help", "q:quit"]
        );
        assert_eq!(keys_of(40), ["Enter:write the backup", "Esc:", "?:", "q:"]);
        assert_eq!(keys_of(12), ["Esc:", "?:", "q:"]);
    }
}
