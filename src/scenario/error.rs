//! `ScenarioError`: why a scenario file was rejected, and where.
//!
//! The end of scenario file -> validated `Scenario` when the file is bad. One
//! error type for every cause (unreadable file, TOML syntax, wrong key or
//! value, failed validation): callers only report it and exit 2, so they need
//! a position and a sentence, not an enum to match on.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use annotate_snippets::renderer::DecorStyle;
use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

/// A rejected scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file, as given to `load` or `parse`.
    pub path: PathBuf,
    /// 1-based line of the offending key or value; `None` when the file could not be read.
    pub line: Option<usize>,
    /// 1-based column, counted in characters.
    pub column: Option<usize>,
    /// One sentence: what is wrong and what is expected.
    pub message: String,
    /// What `render` needs to draw the snippet; boxed to keep `Result`s small.
    snippet: Option<Box<Excerpt>>,
}

/// The source of a snippet: the offending line, cut to a window around the
/// span when it is long (a 10 MB value must not be echoed whole).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Excerpt {
    text: String,
    /// The 1-based line number of `text`'s first line in the file.
    line: usize,
    /// Byte span of the offending key or value in `text`, on char boundaries.
    span: Range<usize>,
    /// Short text under the carets, when there is more to say than `message`.
    label: Option<String>,
}

impl ScenarioError {
    /// An error with no position (the file could not be read).
    pub(super) fn without_position(path: &Path, message: String) -> Self {
        ScenarioError {
            path: path.to_owned(),
            line: None,
            column: None,
            message,
            snippet: None,
        }
    }

    /// An error at the byte `span` of `text`; the span is clamped to the text
    /// so that no input can make rendering panic.
    pub(super) fn at(path: &Path, text: &str, span: Range<usize>, message: String) -> Self {
        let start = floor_char_boundary(text, span.start);
        let end = floor_char_boundary(text, span.end.max(start));
        let (line, column) = line_column(text, start);
        ScenarioError {
            path: path.to_owned(),
            line: Some(line),
            column: Some(column),
            message: bounded(message, MAX_MESSAGE_CHARS),
            snippet: Some(Box::new(Excerpt::around(text, start..end, line))),
        }
    }

    /// Sets the text under the carets; an empty label leaves only carets.
    pub(super) fn with_label(mut self, label: impl Into<String>) -> Self {
        let label = label.into();
        if let Some(excerpt) = &mut self.snippet {
            excerpt.label = (!label.is_empty()).then_some(label);
        }
        self
    }

    /// A rustc-style report, plain text:
    ///
    /// ```text
    /// error: unknown key `retries` in [gateway]; expected one of ...
    ///  --> scenarios/x.toml:3:1
    ///   |
    /// 3 | retries = 3
    ///   | ^^^^^^^ unknown key
    /// ```
    pub fn render(&self) -> String {
        let path = self.path.display().to_string();
        let title = Level::ERROR.primary_title(&self.message);
        let report = match &self.snippet {
            Some(excerpt) => {
                let mut annotation = AnnotationKind::Primary.span(excerpt.span.clone());
                if let Some(label) = &excerpt.label {
                    annotation = annotation.label(label);
                }
                let snippet = Snippet::source(excerpt.text.as_str())
                    .line_start(excerpt.line)
                    .path(path)
                    .annotation(annotation);
                [title.element(snippet)]
            }
            None => [title.element(annotate_snippets::Origin::path(path))],
        };
        Renderer::plain()
            .decor_style(DecorStyle::Ascii)
            .render(&report)
    }
}

/// `path:line:column: message`, the form editors and CI logs link to.
impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// The longest message kept: a value quoted in it may be huge.
const MAX_MESSAGE_CHARS: usize = 400;
/// How much of a long line the snippet shows, in characters, before and
/// after the start of the span.
const WINDOW_BEFORE: usize = 60;
const WINDOW_AFTER: usize = 100;

impl Excerpt {
    /// The line holding the start of `span` (its 1-based number `line`),
    /// cut to a window around it when long; `span` ends at the line's end.
    fn around(text: &str, span: Range<usize>, line: usize) -> Excerpt {
        let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[span.start..]
            .find('\n')
            .map_or(text.len(), |i| span.start + i);
        let from = back_chars(text, span.start, WINDOW_BEFORE).max(line_start);
        let to = forward_chars(text, span.start, WINDOW_AFTER).min(line_end);
        let prefix = if from > line_start { "..." } else { "" };
        let suffix = if to < line_end { "..." } else { "" };
        let cut = format!("{prefix}{}{suffix}", &text[from..to]);
        let shift = |offset: usize| offset.clamp(from, to) - from + prefix.len();
        Excerpt {
            text: cut,
            line,
            span: shift(span.start)..shift(span.end),
            label: None,
        }
    }
}

/// The byte offset `n` characters before `offset`.
fn back_chars(text: &str, offset: usize, n: usize) -> usize {
    text[..offset]
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map_or(0, |(i, _)| i)
}

/// The byte offset `n` characters after `offset`.
fn forward_chars(text: &str, offset: usize, n: usize) -> usize {
    text[offset..]
        .char_indices()
        .nth(n)
        .map_or(text.len(), |(i, _)| offset + i)
}

/// `message`, cut to `max` characters with a note of how much was left out.
fn bounded(message: String, max: usize) -> String {
    let total = message.chars().count();
    if total <= max {
        return message;
    }
    let kept: String = message.chars().take(max).collect();
    format!("{kept}... ({} more characters)", total - max)
}

/// 1-based line and character column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The largest char boundary at or before `offset`, within `text`.
fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_not_bytes() {
        assert_eq!(line_column("a\né = 7", 7), (2, 5));
        assert_eq!(line_column("abc", 0), (1, 1));
        assert_eq!(line_column("a\n", 2), (2, 1));
    }

    #[test]
    fn out_of_range_spans_are_clamped() {
        let error = ScenarioError::at(Path::new("x.toml"), "é", 1..99, "bad".into());
        assert_eq!((error.line, error.column), (Some(1), Some(1)));
        assert!(error.render().contains("error: bad"));
    }

    #[test]
    fn a_huge_value_is_not_echoed_whole() {
        let text = format!(
            "name = \"x\"\ndescription = \"{}\"\n",
            "a".repeat(10_000_000)
        );
        let span = 25..text.len() - 1;
        let message = format!("bad value {}", &text[span.clone()]);
        let error = ScenarioError::at(Path::new("x.toml"), &text, span, message);
        let rendered = error.render();
        assert!(rendered.len() < 2_000, "{} bytes", rendered.len());
        assert!(
            rendered.contains(" 2 | ") || rendered.contains("2 |"),
            "{rendered}"
        );
        assert_eq!((error.line, error.column), (Some(2), Some(15)));
    }

    #[test]
    fn a_long_line_is_shown_around_the_span() {
        let text = format!("x = [{}\"oops\"]\n", "1, ".repeat(1000));
        let start = text.find("\"oops").unwrap();
        let error = ScenarioError::at(Path::new("x.toml"), &text, start..start + 6, "bad".into());
        let rendered = error.render();
        assert!(rendered.contains("...1, 1, "), "{rendered}");
        assert!(rendered.contains("\"oops\"]"), "{rendered}");
        assert!(rendered.contains("^^^^^^"), "{rendered}");
    }

    #[test]
    fn display_is_path_line_column_message() {
        let error = ScenarioError::at(
            Path::new("s/x.toml"),
            "a = 1\nb = 2\n",
            6..7,
            "bad b".into(),
        );
        assert_eq!(error.to_string(), "s/x.toml:2:1: bad b");
        let error = ScenarioError::without_position(Path::new("s/x.toml"), "gone".into());
        assert_eq!(error.to_string(), "s/x.toml: gone");
        assert!(error.render().starts_with("error: gone\n"));
    }
}
