//! Positions and diagnostics between bricklint (byte offsets, 1-based character columns) and
//! the Language Server Protocol (0-based lines, columns in UTF-16 code units unless the client
//! accepts UTF-8), and between file paths and `file:` URIs.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    Position, Range, TextDocumentContentChangeEvent, Uri,
};

use crate::diagnostic::{Message, Severity};

/// How columns are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

/// Line starts of a text, for offset <-> position.
pub struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Lines { text, starts }
    }

    fn line_text(&self, line: usize) -> &'a str {
        let start = self.starts[line];
        let end = self
            .starts
            .get(line + 1)
            .map(|e| e - 1)
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches('\r')
    }

    /// Position of a byte offset.
    pub fn position(&self, offset: usize, enc: Encoding) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let before = &self.text[self.starts[line]..offset];
        let character = match enc {
            Encoding::Utf8 => before.len(),
            Encoding::Utf16 => before.encode_utf16().count(),
        };
        Position::new(line as u32, character as u32)
    }

    /// Byte offset of a position (clamped to the line and the text, as the protocol asks).
    pub fn offset(&self, pos: Position, enc: Encoding) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return self.text.len();
        };
        let line = self.line_text(pos.line as usize);
        let want = pos.character as usize;
        let mut units = 0;
        for (i, c) in line.char_indices() {
            if units >= want {
                return start + i;
            }
            units += match enc {
                Encoding::Utf8 => c.len_utf8(),
                Encoding::Utf16 => c.len_utf16(),
            };
        }
        start + line.len()
    }

    /// Position of a 1-based (line, character column) as bricklint reports it.
    pub fn position_of_char(&self, line: u32, column: u32, enc: Encoding) -> Position {
        let l = (line.max(1) as usize - 1).min(self.starts.len() - 1);
        let text = self.line_text(l);
        let prefix: String = text.chars().take(column.max(1) as usize - 1).collect();
        let character = match enc {
            Encoding::Utf8 => prefix.len(),
            Encoding::Utf16 => prefix.encode_utf16().count(),
        };
        Position::new(l as u32, character as u32)
    }

    /// The whole of lines `first..=last` (0-based).
    pub fn line_range(&self, first: u32, last: u32, enc: Encoding) -> Range {
        let last = (last as usize).min(self.starts.len() - 1);
        let text = self.line_text(last);
        let end = match enc {
            Encoding::Utf8 => text.len(),
            Encoding::Utf16 => text.encode_utf16().count(),
        };
        Range::new(
            Position::new(first.min(last as u32), 0),
            Position::new(last as u32, end as u32),
        )
    }
}

/// Apply one content change (a range edit, or the whole text) to `text`.
pub fn apply_change(text: &mut String, ch: TextDocumentContentChangeEvent, enc: Encoding) {
    match ch.range {
        Some(r) => {
            let (a, b) = {
                let l = Lines::new(text);
                (l.offset(r.start, enc), l.offset(r.end, enc))
            };
            let (a, b) = (a.min(b), a.max(b));
            text.replace_range(a..b, &ch.text);
        }
        None => *text = ch.text,
    }
}

/// `file:` URI of an absolute path (percent-encoded).
pub fn path_to_uri(path: &Path) -> Uri {
    let mut s = String::from("file://");
    let p = path.to_string_lossy().replace('\\', "/");
    if !p.starts_with('/') {
        s.push('/');
    }
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~:".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    Uri::from_str(&s).unwrap_or_else(|_| Uri::from_str("file:///").expect("a valid URI"))
}

/// The path of a `file:` URI.
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let s = uri.as_str();
    let rest = s.strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let p = String::from_utf8(out).ok()?;
    // `file:///c:/x` on Windows.
    let p = match p.as_bytes() {
        [b'/', d, b':', ..] if d.is_ascii_alphabetic() => p[1..].to_string(),
        _ => p,
    };
    Some(PathBuf::from(p))
}

pub fn severity(s: Severity) -> DiagnosticSeverity {
    match s {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Info => DiagnosticSeverity::INFORMATION,
    }
}

/// An LSP diagnostic of a finding, at `range`.
pub fn diagnostic(m: &Message, range: Range) -> lsp_types::Diagnostic {
    let mut message = m.message.clone();
    if let Some(h) = &m.help {
        message.push_str("\nhelp: ");
        message.push_str(h);
    }
    let related: Vec<DiagnosticRelatedInformation> = m
        .related
        .iter()
        .map(|r| {
            let start = Position::new(
                r.span.line.saturating_sub(1),
                r.span.column.saturating_sub(1),
            );
            let end = Position::new(
                r.span.end_line.saturating_sub(1),
                r.span.end_column.saturating_sub(1),
            );
            DiagnosticRelatedInformation {
                location: Location::new(path_to_uri(&r.abs_path), Range::new(start, end)),
                message: r.message.clone(),
            }
        })
        .collect();
    lsp_types::Diagnostic {
        range,
        severity: Some(severity(m.severity)),
        code: Some(NumberOrString::String(m.code.to_string())),
        code_description: Uri::from_str(&m.url)
            .ok()
            .map(|href| CodeDescription { href }),
        source: Some("bricklint".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_in_utf16_and_utf8() {
        let text = "a = 'é𝄞'\nb = 1\r\nc";
        let l = Lines::new(text);
        let off = text.find("'\n").unwrap();
        assert_eq!(l.position(off, Encoding::Utf16), Position::new(0, 8));
        assert_eq!(l.position(off, Encoding::Utf8), Position::new(0, 11));
        assert_eq!(l.offset(Position::new(0, 8), Encoding::Utf16), off);
        assert_eq!(l.offset(Position::new(0, 11), Encoding::Utf8), off);
        assert_eq!(
            l.offset(Position::new(1, 99), Encoding::Utf16),
            text.find("\r").unwrap()
        );
        assert_eq!(l.offset(Position::new(9, 0), Encoding::Utf16), text.len());
        assert_eq!(l.position(text.len(), Encoding::Utf16), Position::new(2, 1));
        assert_eq!(
            l.position_of_char(1, 8, Encoding::Utf16),
            Position::new(0, 8)
        );
    }

    #[test]
    fn uris_round_trip() {
        let p = Path::new("/tmp/my notebooks/ünï.py");
        let u = path_to_uri(p);
        assert_eq!(u.as_str(), "file:///tmp/my%20notebooks/%C3%BCn%C3%AF.py");
        assert_eq!(uri_to_path(&u).unwrap(), p);
    }
}
