//! Payload checks: JSON validity, exact compact JSON size, For Each inline length and JSON Schema
//! contracts (`[task-values.<key>]` in the config).
//!
//! Sizes are always those of *compact* JSON: no whitespace outside strings, strings in canonical
//! form (only `"`, `\` and control characters escaped; non-ASCII characters written as they are and
//! counted in UTF-8 bytes), numbers as written. This is the smallest faithful encoding of a value,
//! so a payload over the limit by this measure is over the limit however it is serialized.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::Config;

/// The documented limit of one task value's JSON representation: 48 KiB.
pub const TASK_VALUE_MAX_BYTES: u64 = crate::limits::TASK_VALUE_MAX_BYTES;
/// The documented limit of `for_each_task.inputs` given inline: 10,000 characters.
pub const FOR_EACH_INLINE_MAX_CHARS: u64 = crate::limits::FOR_EACH_INLINE_MAX_CHARS;
/// `runs/get-output` returns only the first 5 MB of a `dbutils.notebook.exit` value.
pub const NOTEBOOK_EXIT_MAX_BYTES: u64 = crate::limits::NOTEBOOK_EXIT_MAX_BYTES;

/// A payload's problems. Kinds: `invalid-json`, `lone-surrogate`, `number-out-of-range`, `too-deep`,
/// `too-large`, `not-an-array`, `inline-too-long`, `schema`.
pub use crate::diagnostic::{Problem, Severity};

/// What to check.
#[derive(Debug, Default)]
pub struct PayloadOptions<'a> {
    /// Size limit in bytes of compact JSON (default [`TASK_VALUE_MAX_BYTES`]).
    pub max_bytes: Option<u64>,
    /// The payload feeds `for_each_task.inputs`: it must be an array, and over 10,000 characters
    /// it cannot be given inline.
    pub for_each_inputs: bool,
    /// A compiled JSON Schema and a label for it (file name or contract key).
    pub schema: Option<(&'a jsonschema::Validator, String)>,
}

/// The result of checking one payload.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PayloadReport {
    /// Whether the input is valid JSON.
    pub valid_json: bool,
    /// JSON type of the top-level value (`array`, `object`, ...).
    #[serde(rename = "type")]
    pub json_type: Option<&'static str>,
    /// Number of elements of a top-level array or members of an object.
    pub elements: Option<usize>,
    /// Size of the compact JSON in bytes (UTF-8).
    pub bytes: Option<u64>,
    /// Size of the compact JSON in characters (what the 10,000-character inline limit counts).
    pub characters: Option<u64>,
    pub max_bytes: u64,
    pub problems: Vec<Problem>,
}

impl PayloadReport {
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }
}

/// JSON type name of a value.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Write the compact form of already *valid* JSON text: whitespace outside strings removed,
/// strings re-encoded canonically, numbers kept as written.
pub fn compact_json_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' {
            // Find the end of the string token.
            let start = i;
            i += 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => {
                        i += 1;
                        break;
                    }
                    _ => i += 1,
                }
            }
            let token = &text[start..i.min(text.len())];
            match serde_json::from_str::<String>(token) {
                Ok(s) => out.push_str(&canonical_string(&s)),
                Err(_) => out.push_str(token),
            }
        } else {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                // Multi-byte characters only occur inside strings in valid JSON.
                out.push(b as char);
            }
            i += 1;
        }
    }
    out
}

/// A string as compact JSON writes it (quotes included).
pub fn canonical_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Size in bytes of a string as canonical JSON (quotes included), without allocating.
pub fn canonical_string_len(s: &str) -> u64 {
    let mut n = 2u64;
    for c in s.chars() {
        n += match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{08}' | '\u{0c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8() as u64,
        };
    }
    n
}

/// Number of characters of a string as canonical JSON (quotes included).
pub fn canonical_string_chars(s: &str) -> u64 {
    let mut n = 2u64;
    for c in s.chars() {
        n += match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{08}' | '\u{0c}' => 2,
            c if (c as u32) < 0x20 => 6,
            _ => 1,
        };
    }
    n
}

/// Compact JSON of a value (same rules as [`compact_json_text`]; numbers as serde_json writes
/// them).
pub fn compact_json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Describe a serde_json parse error of `text`, with a dedicated message for the non-JSON
/// constants that Python's `json.dumps` writes (`NaN`, `Infinity`, `-Infinity`).
fn invalid_json_problem(text: &str, e: &serde_json::Error) -> Problem {
    let line = e.line();
    let column = e.column();
    // serde_json reports the column of the offending character (1-based) or 0 at EOF.
    let offset = line_col_to_offset(text, line, column.max(1));
    let rest = offset.map(|o| &text[o..]).unwrap_or("");
    // The character before the error, when it is one byte (`-Infinity`'s minus sign); a byte
    // inside a multi-byte character is no start (the fuzz target found that panic).
    let rest_before = offset
        .and_then(|o| o.checked_sub(1))
        .and_then(|o| text.get(o..))
        .unwrap_or("");
    let constant = ["NaN", "-Infinity", "Infinity"]
        .into_iter()
        .find(|c| rest.starts_with(c) || rest_before.starts_with(c));
    let message = if let Some(c) = constant {
        format!(
            "invalid JSON at line {line}, column {column}: `{c}` is not valid JSON (Python's json.dumps writes it for float('nan') and float('inf'); use None or a string, or dumps(..., allow_nan=False) to fail early)"
        )
    } else if e.is_eof() {
        format!("invalid JSON: unexpected end of input at line {line}, column {column}")
    } else if let Some(special) = unsupported_json(text, offset.unwrap_or(text.len()), e) {
        let mut p = Problem::new(Severity::Error, special.kind, special.message);
        p.line = Some(line);
        p.column = Some(column);
        return p;
    } else {
        let msg = e.to_string();
        let msg = msg
            .rsplit_once(" at line ")
            .map(|(m, _)| m.to_string())
            .unwrap_or(msg);
        format!("invalid JSON at line {line}, column {column}: {msg}")
    };
    let mut p = Problem::new(Severity::Error, "invalid-json", message);
    p.line = Some(line);
    p.column = Some(column);
    p
}

/// JSON that is valid by its grammar but that bricklint cannot measure, or whose strings are not
/// Unicode text: each with its own kind and a message saying what it is.
struct Unsupported {
    kind: &'static str,
    message: String,
}

/// The deepest nesting serde_json reads (its recursion limit).
const MAX_JSON_DEPTH: usize = 128;

/// Classify a serde_json error at byte `offset` of `text` (the offending character) as one of the
/// [`Unsupported`] cases, or `None` for plain syntax errors.
fn unsupported_json(text: &str, offset: usize, e: &serde_json::Error) -> Option<Unsupported> {
    let before = &text[..offset.min(text.len())];
    let after = &text[offset.min(text.len())..];
    if let Some(escape) = lone_surrogate(text, offset) {
        return Some(Unsupported {
            kind: "lone-surrogate",
            message: format!(
                "the string escape `{escape}` is half of a UTF-16 surrogate pair without its other half: the string is not Unicode text (a lone surrogate comes from bytes decoded wrongly or a string cut between the two halves)"
            ),
        });
    }
    let msg = e.to_string();
    if msg.starts_with("number out of range") {
        let number: String = before
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .chain(
                after
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')),
            )
            .take(40)
            .collect();
        return Some(Unsupported {
            kind: "number-out-of-range",
            message: format!(
                "the number `{number}` is beyond the range of a 64-bit float (about 1.8e308): Python's json.loads reads it as inf, which json.dumps writes back as `Infinity`, not JSON"
            ),
        });
    }
    if msg.starts_with("recursion limit exceeded") {
        return Some(Unsupported {
            kind: "too-deep",
            message: format!(
                "arrays and objects nested deeper than {MAX_JSON_DEPTH} levels: bricklint does not check a payload this deep (its size is not measured)"
            ),
        });
    }
    None
}

/// The `\uXXXX` escape of a lone UTF-16 surrogate at or just before byte `offset` of `text`
/// (serde_json points at the escape's last digit or just after it), if any.
fn lone_surrogate(text: &str, offset: usize) -> Option<String> {
    let boundary = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let from = boundary(offset.saturating_sub(12));
    let to = boundary((offset + 6).min(text.len()));
    let window = &text[from..to];
    // The last one first: `"\\ud83d\\ude00\\ud800"` names the lone one, not the pair.
    window
        .rmatch_indices("\\u")
        .filter(|(i, _)| from + i <= offset)
        .find_map(|(i, _)| {
            let hex = window.get(i + 2..i + 6)?;
            let code = u16::from_str_radix(hex, 16).ok()?;
            (0xD800..=0xDFFF)
                .contains(&code)
                .then(|| format!("\\u{hex}"))
        })
}

fn line_col_to_offset(text: &str, line: usize, column: usize) -> Option<usize> {
    let mut start = 0usize;
    for _ in 1..line {
        start += text[start..].find('\n')? + 1;
    }
    // Columns count bytes in serde_json.
    let o = start + column - 1;
    if o <= text.len() && text.is_char_boundary(o) {
        Some(o)
    } else {
        None
    }
}

/// Check a payload given as JSON text.
pub fn check_text(text: &str, opts: &PayloadOptions<'_>) -> PayloadReport {
    let max_bytes = opts.max_bytes.unwrap_or(TASK_VALUE_MAX_BYTES);
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return PayloadReport {
                valid_json: false,
                json_type: None,
                elements: None,
                bytes: None,
                characters: None,
                max_bytes,
                problems: vec![invalid_json_problem(text, &e)],
            }
        }
    };
    let compact = compact_json_text(text);
    check_value(&value, &compact, max_bytes, opts)
}

/// Check a parsed value whose compact JSON text is `compact`.
pub fn check_value(
    value: &Value,
    compact: &str,
    max_bytes: u64,
    opts: &PayloadOptions<'_>,
) -> PayloadReport {
    let bytes = compact.len() as u64;
    let characters = compact.chars().count() as u64;
    let mut problems = Vec::new();
    if bytes > max_bytes {
        problems.push(Problem::new(
            Severity::Error,
            "too-large",
            format!(
                "payload is {bytes} bytes of compact JSON, over the limit of {max_bytes} bytes{} by {}",
                if max_bytes == TASK_VALUE_MAX_BYTES { " (48 KiB)" } else { "" },
                bytes - max_bytes
            ),
        ));
    }
    if opts.for_each_inputs {
        match value {
            Value::Array(_) => {
                if characters > FOR_EACH_INLINE_MAX_CHARS {
                    problems.push(Problem::new(
                        Severity::Warning,
                        "inline-too-long",
                        format!(
                            "inputs are {characters} characters of compact JSON: over the 10,000-character limit of `for_each_task.inputs` given inline; pass them through a task value (`{{{{tasks.<task>.values.<key>}}}}`, up to 48 KiB) instead"
                        ),
                    ));
                }
            }
            other => problems.push(Problem::new(
                Severity::Error,
                "not-an-array",
                format!(
                    "For Each inputs must be a JSON array, this is {} {}",
                    article(json_type(other)),
                    json_type(other)
                ),
            )),
        }
        if let Value::String(s) = value {
            if matches!(serde_json::from_str::<Value>(s), Ok(Value::Array(_))) {
                if let Some(p) = problems.last_mut() {
                    p.message.push_str(
                        " holding an encoded JSON array (double-encoded: set the list itself, not json.dumps(list))",
                    );
                }
            }
        }
    }
    if let Some((validator, label)) = &opts.schema {
        problems.extend(schema_problems(validator, value, label));
    }
    PayloadReport {
        valid_json: true,
        json_type: Some(json_type(value)),
        elements: match value {
            Value::Array(a) => Some(a.len()),
            Value::Object(o) => Some(o.len()),
            _ => None,
        },
        bytes: Some(bytes),
        characters: Some(characters),
        max_bytes,
        problems,
    }
}

fn article(t: &str) -> &'static str {
    if t.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// Validate a value against a compiled schema; one problem per error, with its JSON pointer.
pub fn schema_problems(
    validator: &jsonschema::Validator,
    value: &Value,
    label: &str,
) -> Vec<Problem> {
    schema_errors(validator, value)
        .into_iter()
        .map(|(pointer, msg)| {
            let shown = if pointer.is_empty() {
                "(root)"
            } else {
                pointer.as_str()
            };
            let mut p = Problem::new(
                Severity::Error,
                "schema",
                format!("{shown}: {msg} (schema {label})"),
            );
            p.pointer = Some(pointer);
            p
        })
        .collect()
}

/// `(JSON pointer, message)` of every schema error of `value`, messages kept short.
pub fn schema_errors(validator: &jsonschema::Validator, value: &Value) -> Vec<(String, String)> {
    validator
        .iter_errors(value)
        .map(|e| {
            let full = e.to_string();
            let msg = if full.len() > 160 {
                e.masked().to_string()
            } else {
                full
            };
            (e.instance_path().to_string(), msg)
        })
        .collect()
}

/// Read and compile a JSON Schema file.
pub fn load_schema(path: &Path) -> Result<jsonschema::Validator, String> {
    let text = crate::fsutil::read_input_string(path)
        .map_err(|e| format!("{}: cannot read schema: {e}", path.display()))?;
    let schema: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: schema is not valid JSON: {e}", path.display()))?;
    jsonschema::validator_for(&schema)
        .map_err(|e| format!("{}: invalid JSON Schema: {e}", path.display()))
}

/// A task-value contract from the config, with its schema compiled.
pub struct Contract {
    pub key: String,
    pub schema_path: Option<PathBuf>,
    pub validator: Option<jsonschema::Validator>,
    pub max_bytes: u64,
}

impl std::fmt::Debug for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contract")
            .field("key", &self.key)
            .field("schema_path", &self.schema_path)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

impl Contract {
    /// The contract for `key` from the config, `Ok(None)` when the config has none.
    pub fn load(config: &Config, key: &str) -> Result<Option<Contract>, String> {
        let Some(c) = config.task_values.get(key) else {
            return Ok(None);
        };
        let schema_path = match c.schema.as_ref() {
            Some(p) => Some(config.resolve_content_path(p)?),
            None => None,
        };
        let validator = match &schema_path {
            Some(p) => Some(load_schema(p)?),
            None => None,
        };
        Ok(Some(Contract {
            key: key.to_string(),
            schema_path,
            validator,
            max_bytes: c.max_bytes.unwrap_or(TASK_VALUE_MAX_BYTES),
        }))
    }

    /// A label for messages: the schema path as displayed.
    pub fn label(&self) -> String {
        match &self.schema_path {
            Some(p) => crate::source::display_path(p),
            None => format!("task-values.{}", self.key),
        }
    }
}

/// `49153` -> `49,153`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A limit for messages: `49,152 bytes (48 KiB)`.
pub fn limit_text(max: u64) -> String {
    if max.is_multiple_of(1024) && max >= 1024 {
        if max.is_multiple_of(1024 * 1024) {
            format!("{} bytes ({} MiB)", thousands(max), max / (1024 * 1024))
        } else {
            format!("{} bytes ({} KiB)", thousands(max), max / 1024)
        }
    } else {
        format!("{} bytes", thousands(max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_text_strips_whitespace_and_canonicalizes_strings() {
        let t = "[ {\"a\" : \"x y\\u00e9\" },\n  1.50e3, \"\\n\" ]";
        assert_eq!(compact_json_text(t), "[{\"a\":\"x yé\"},1.50e3,\"\\n\"]");
    }

    #[test]
    fn canonical_string_len_matches_serde() {
        for s in ["", "abc", "é", "a\"b", "\u{1}", "tab\tnl\n", "😀"] {
            assert_eq!(
                canonical_string_len(s),
                canonical_string(s).len() as u64,
                "{s:?}"
            );
            assert_eq!(
                canonical_string_chars(s),
                canonical_string(s).chars().count() as u64
            );
        }
    }

    #[test]
    fn nan_is_reported_with_position() {
        let r = check_text("[1,\n NaN]", &PayloadOptions::default());
        assert!(!r.valid_json);
        let p = &r.problems[0];
        assert_eq!((p.line, p.column), (Some(2), Some(2)));
        assert!(
            p.message.contains("`NaN` is not valid JSON"),
            "{}",
            p.message
        );
        let r = check_text("{\"a\": -Infinity}", &PayloadOptions::default());
        assert!(
            r.problems[0].message.contains("`-Infinity`"),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn valid_but_unsupported_json_has_its_own_kind() {
        let cases = [
            (
                "{\"a\": \"\\ud800\"}",
                "lone-surrogate",
                "`\\ud800` is half of a UTF-16 surrogate pair",
            ),
            ("[\"x\\udc00y\"]", "lone-surrogate", "`\\udc00`"),
            ("[\"\\ud83d\\ude00\\ud801\"]", "lone-surrogate", "`\\ud801`"),
            ("[\"\\ud800\\u0041\"]", "lone-surrogate", "`\\ud800`"),
            (
                "{\"a\": 1e400}",
                "number-out-of-range",
                "`1e400` is beyond the range",
            ),
            ("[-2.5E+999]", "number-out-of-range", "`-2.5E+999`"),
        ];
        for (text, kind, message) in cases {
            let r = check_text(text, &PayloadOptions::default());
            let p = &r.problems[0];
            assert_eq!(p.kind, kind, "{text}: {p:?}");
            assert!(p.message.contains(message), "{text}: {}", p.message);
            assert_eq!(p.line, Some(1));
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let r = check_text(&deep, &PayloadOptions::default());
        assert_eq!(r.problems[0].kind, "too-deep");
        assert!(r.problems[0].message.contains("deeper than 128 levels"));
        // A surrogate pair is one character; other escapes stay plain syntax errors.
        assert!(
            check_text("[\"\\ud83d\\ude00\"]", &PayloadOptions::default())
                .problems
                .is_empty()
        );
        let r = check_text("[\"\\uZZZZ\"]", &PayloadOptions::default());
        assert_eq!(r.problems[0].kind, "invalid-json");
    }

    #[test]
    fn an_error_after_a_multibyte_character_is_no_panic() {
        // Found by the payload fuzz target: a control character right after U+0380 in a string.
        let text = "[\"dim_\u{380}\u{0}\"]";
        let r = check_text(text, &PayloadOptions::default());
        assert_eq!(r.problems[0].kind, "invalid-json");
        assert_eq!(r.problems[0].line, Some(1));
    }

    #[test]
    fn size_limit_is_inclusive() {
        // ["xxx..."]: 4 bytes of punctuation around the string.
        let ok = format!("[\"{}\"]", "x".repeat(49_152 - 4));
        let r = check_text(&ok, &PayloadOptions::default());
        assert_eq!(r.bytes, Some(49_152));
        assert!(r.problems.is_empty());
        let bad = format!("[ \"{}\" ]", "x".repeat(49_153 - 4));
        let r = check_text(&bad, &PayloadOptions::default());
        assert_eq!(r.bytes, Some(49_153));
        assert_eq!(r.problems[0].kind, "too-large");
    }

    #[test]
    fn for_each_inputs_must_be_array() {
        let opts = PayloadOptions {
            for_each_inputs: true,
            ..Default::default()
        };
        let r = check_text("\"[1, 2]\"", &opts);
        assert_eq!(r.problems[0].kind, "not-an-array");
        assert!(r.problems[0].message.contains("double-encoded"));
        let long = format!("[\"{}\"]", "é".repeat(9_997));
        let r = check_text(&long, &opts);
        assert_eq!(r.characters, Some(10_001));
        assert_eq!(r.problems[0].kind, "inline-too-long");
    }

    #[test]
    fn schema_errors_have_pointers() {
        let schema = serde_json::json!({
            "type": "array",
            "items": {"type": "object", "required": ["table"],
                      "properties": {"table": {"type": "string"}}}
        });
        let v = jsonschema::validator_for(&schema).unwrap();
        let opts = PayloadOptions {
            schema: Some((&v, "s.json".into())),
            ..Default::default()
        };
        let r = check_text("[{\"table\": \"a\"}, {\"table\": 3}]", &opts);
        assert_eq!(r.problems.len(), 1);
        assert_eq!(r.problems[0].pointer.as_deref(), Some("/1/table"));
    }
}
