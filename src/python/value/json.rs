//! Values as JSON: the exact size of their compact JSON, `json.dumps` as Python writes it,
//! conversions from and to `serde_json`, what JSON cannot express, and the join of two possible
//! values.
//!
//! Sizes are those of *compact* JSON: no whitespace outside strings, strings in canonical form
//! (only `"`, `\` and control characters escaped; non-ASCII characters written as they are and
//! counted in UTF-8 bytes), numbers as Python writes them.

use ruff_text_size::TextRange;
use serde_json::Value as Json;

use super::{FileRef, NotJson, Reason, Value};
use crate::payload::canonical_string_len;

/// Bounds of the compact JSON size of a value.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeBound {
    /// The value is at least this many bytes.
    pub min: u64,
    /// The exact size when fully known.
    pub exact: Option<u64>,
    /// Why no upper bound exists.
    pub unbounded: Option<Reason>,
}

impl SizeBound {
    /// A size known exactly.
    pub fn exact(n: u64) -> SizeBound {
        SizeBound {
            min: n,
            exact: Some(n),
            unbounded: None,
        }
    }

    fn unknown(unbounded: Option<Reason>) -> SizeBound {
        SizeBound {
            min: 1,
            exact: None,
            unbounded,
        }
    }

    fn add(self, b: SizeBound) -> SizeBound {
        SizeBound {
            min: self.min.saturating_add(b.min),
            exact: match (self.exact, b.exact) {
                (Some(x), Some(y)) => Some(x.saturating_add(y)),
                _ => None,
            },
            unbounded: self.unbounded.or(b.unbounded),
        }
    }
}

impl Value {
    /// Bounds of the compact JSON size of the value.
    pub fn size(&self) -> SizeBound {
        match self {
            Value::None => SizeBound::exact(4),
            Value::Bool(b) => SizeBound::exact(if *b { 4 } else { 5 }),
            Value::Int(i) => SizeBound::exact(i.to_string().len() as u64),
            Value::Float(f) => SizeBound::exact(py_float_repr(*f).len() as u64),
            Value::Str(s) => SizeBound::exact(canonical_string_len(s)),
            Value::Dumped { inner, text, .. } => match text {
                Some(t) => SizeBound::exact(canonical_string_len(t)),
                None => {
                    let b = inner.size();
                    SizeBound {
                        min: b.min + 2,
                        exact: None,
                        unbounded: b.unbounded,
                    }
                }
            },
            Value::List(items) | Value::Tuple(items) => {
                let mut acc = SizeBound::exact(2 + items.len().saturating_sub(1) as u64);
                for it in items {
                    acc = acc.add(it.size());
                }
                acc
            }
            Value::Dict(items) => {
                let n = items.len() as u64;
                let mut acc = SizeBound::exact(2 + n.saturating_sub(1) + n);
                for (k, v) in items {
                    let ks = match k {
                        Value::Str(_) | Value::Dynamic { .. } => k.size(),
                        // json.dumps turns int/float/bool/None keys into strings.
                        other => {
                            let b = other.size();
                            SizeBound {
                                min: b.min + 2,
                                exact: b.exact.map(|e| e + 2),
                                unbounded: b.unbounded,
                            }
                        }
                    };
                    acc = acc.add(ks).add(v.size());
                }
                acc
            }
            Value::File(FileRef::Outside(r)) => SizeBound::unknown(Some(r.clone())),
            Value::Dynamic { unbounded, .. } => SizeBound::unknown(unbounded.clone()),
            Value::Set(..) | Value::Obj(_) | Value::File(_) | Value::DataFrame(_) => {
                SizeBound::unknown(None)
            }
        }
    }

    /// The JSON value `json.dumps` writes, when fully known and expressible (int, float, bool
    /// and `None` dict keys become strings, as `json.dumps` makes them).
    pub fn to_json(&self) -> Option<Json> {
        Some(match self {
            Value::None => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => match i64::try_from(*i) {
                Ok(x) => Json::from(x),
                Err(_) => Json::from(u64::try_from(*i).ok()?),
            },
            Value::Float(f) => Json::from(serde_json::Number::from_f64(*f)?),
            Value::Str(s) => Json::String(s.clone()),
            Value::Dumped { text, .. } => Json::String(text.clone()?),
            Value::List(items) | Value::Tuple(items) => {
                Json::Array(items.iter().map(Value::to_json).collect::<Option<_>>()?)
            }
            Value::Dict(items) => {
                let mut m = serde_json::Map::new();
                for (k, v) in items {
                    let k = match k {
                        Value::Str(s) => s.clone(),
                        Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::None => {
                            py_dumps(k, true, false)?
                        }
                        _ => return None,
                    };
                    m.insert(k, v.to_json()?);
                }
                Json::Object(m)
            }
            _ => return None,
        })
    }

    /// [`Value::to_json`] as compact JSON text.
    pub fn to_json_text(&self) -> Option<String> {
        serde_json::to_string(&self.to_json()?).ok()
    }

    /// From a JSON value (data loaded from a file).
    pub fn from_json(v: &Json) -> Value {
        match v {
            Json::Null => Value::None,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i128::from(i)),
                None => match n.as_u64() {
                    Some(u) => Value::Int(i128::from(u)),
                    None => Value::Float(n.as_f64().unwrap_or(0.0)),
                },
            },
            Json::String(s) => Value::Str(s.clone()),
            Json::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            Json::Object(o) => Value::Dict(
                o.iter()
                    .map(|(k, v)| (Value::Str(k.clone()), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// The first part JSON cannot express, with its JSON pointer.
    pub fn find_not_json(&self) -> Option<(String, NotJson)> {
        self.find_not_json_at(String::new())
    }

    fn find_not_json_at(&self, ptr: String) -> Option<(String, NotJson)> {
        let found = |what: String, range: TextRange| Some((ptr.clone(), NotJson { what, range }));
        match self {
            Value::Float(f) if !f.is_finite() => {
                let what = if f.is_nan() {
                    "NaN"
                } else {
                    "an infinite float"
                };
                found(what.into(), TextRange::default())
            }
            Value::List(items) | Value::Tuple(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| v.find_not_json_at(format!("{ptr}/{i}"))),
            Value::Dict(items) => items.iter().find_map(|(k, v)| {
                let key = match k {
                    Value::Str(s) => s.clone(),
                    Value::Dynamic { not_json: None, .. } => "*".into(),
                    other => {
                        let what = format!("a dict key that is {}", other.describe());
                        return found(what, TextRange::default());
                    }
                };
                v.find_not_json_at(format!("{ptr}/{}", escape_pointer(&key)))
            }),
            Value::Set(_, range) => found("a set".into(), *range),
            Value::Dynamic {
                not_json: Some(n), ..
            } => Some((ptr, n.clone())),
            Value::DataFrame(r) => found("a Spark DataFrame".into(), *r),
            Value::File(_) => found("a file object".into(), TextRange::default()),
            Value::Obj(p) => found(format!("`{p}` (not data)"), TextRange::default()),
            _ => None,
        }
    }
}

/// Join two possible values of the same variable (both branches of an `if`): the value when
/// they are equal, else a dynamic value that keeps unboundedness and what JSON cannot express.
pub fn join(a: Value, b: Value) -> Value {
    if a == b {
        return a;
    }
    let not_json = a
        .find_not_json()
        .map(|(_, n)| n)
        .or_else(|| b.find_not_json().map(|(_, n)| n));
    let unbounded = a
        .unbounded_reason()
        .cloned()
        .or_else(|| b.unbounded_reason().cloned());
    Value::Dynamic {
        unbounded,
        not_json,
    }
}

fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Python's `repr(float)` (what `json.dumps` writes for finite floats).
pub fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Python: 1e-05, 1e+16
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        let sign = if e < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", e.abs());
    }
    let s = format!("{f:?}");
    if s.contains('.') || s.contains('e') {
        s
    } else {
        format!("{s}.0")
    }
}

/// Python's `json.dumps(v)` text with its default separators (`", "`, `": "`) and
/// `ensure_ascii=True`, or the given settings. `None` when the value is not fully known or
/// `dumps` would raise.
pub fn py_dumps(v: &Value, compact: bool, ensure_ascii: bool) -> Option<String> {
    let mut out = String::new();
    dumps_into(v, compact, ensure_ascii, &mut out)?;
    Some(out)
}

fn dumps_str(s: &str, ensure_ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ensure_ascii && !c.is_ascii() => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{:04x}", u));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn dumps_into(v: &Value, compact: bool, ensure_ascii: bool, out: &mut String) -> Option<()> {
    let (item_sep, key_sep) = if compact { (",", ":") } else { (", ", ": ") };
    match v {
        Value::None => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&py_float_repr(*f)),
        Value::Str(s) => dumps_str(s, ensure_ascii, out),
        Value::Dumped { text: Some(t), .. } => dumps_str(t, ensure_ascii, out),
        Value::List(items) | Value::Tuple(items) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                dumps_into(it, compact, ensure_ascii, out)?;
            }
            out.push(']');
        }
        Value::Dict(items) => {
            out.push('{');
            for (i, (k, val)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                match k {
                    Value::Str(s) => dumps_str(s, ensure_ascii, out),
                    Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::None => {
                        let mut t = String::new();
                        dumps_into(k, true, ensure_ascii, &mut t)?;
                        dumps_str(&t, ensure_ascii, out);
                    }
                    _ => return None,
                }
                out.push_str(key_sep);
                dumps_into(val, compact, ensure_ascii, out)?;
            }
            out.push('}');
        }
        _ => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_like_python() {
        assert_eq!(py_float_repr(1.0), "1.0");
        assert_eq!(py_float_repr(0.1), "0.1");
        assert_eq!(py_float_repr(1e-5), "1e-05");
        assert_eq!(py_float_repr(1e16), "1e+16");
        assert_eq!(py_float_repr(123456.5), "123456.5");
    }

    #[test]
    fn dumps_like_python() {
        let v = Value::Dict(vec![
            (
                Value::Str("a".into()),
                Value::List(vec![Value::Int(1), Value::Str("é".into())]),
            ),
            (Value::Int(2), Value::None),
        ]);
        assert_eq!(
            py_dumps(&v, false, true).unwrap(),
            "{\"a\": [1, \"\\u00e9\"], \"2\": null}"
        );
        assert_eq!(
            py_dumps(&v, true, false).unwrap(),
            "{\"a\":[1,\"é\"],\"2\":null}"
        );
        // to_json agrees with json.dumps, keys included.
        assert_eq!(
            v.to_json_text().unwrap(),
            py_dumps(&v, true, false).unwrap()
        );
    }

    #[test]
    fn size_matches_compact_json() {
        let v = Value::List(vec![
            Value::Dict(vec![(Value::Str("t".into()), Value::Str("é\"".into()))]),
            Value::Float(1.5),
            Value::Bool(false),
            Value::None,
            Value::Tuple(vec![Value::Int(-3)]),
        ]);
        let j = v.to_json().unwrap();
        assert_eq!(
            v.size().exact,
            Some(serde_json::to_string(&j).unwrap().len() as u64)
        );
    }

    #[test]
    fn not_json_pointer() {
        let v = Value::List(vec![
            Value::Int(1),
            Value::Dict(vec![(
                Value::Str("when".into()),
                Value::not_json("a datetime", TextRange::default()),
            )]),
        ]);
        let (ptr, n) = v.find_not_json().unwrap();
        assert_eq!(ptr, "/1/when");
        assert_eq!(n.what, "a datetime");
        let v = Value::Dict(vec![(Value::List(vec![]), Value::Int(1))]);
        assert!(v.find_not_json().unwrap().1.what.contains("dict key"));
        let v = Value::List(vec![Value::Set(vec![], TextRange::default())]);
        assert_eq!(
            v.find_not_json().unwrap(),
            (
                "/0".into(),
                NotJson {
                    what: "a set".into(),
                    range: TextRange::default()
                }
            )
        );
    }
}
