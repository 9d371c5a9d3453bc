//! The abstract values of static payload evaluation: Python values as far as they are known,
//! with what JSON cannot express and where sizes are unbounded. Every range is a *document*
//! range (already mapped from the virtual Python source).

use ruff_text_size::TextRange;
use serde_json::Value;

use super::canonical_string_len;

/// Why a value's size has no static bound (`.collect()`, `spark.sql`, a file outside the repo).
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub what: String,
    pub range: TextRange,
}

/// A Python value that JSON cannot express, and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct NotJson {
    /// "a set", "a datetime", "NaN", "Spark Row objects", ...
    pub what: String,
    pub range: TextRange,
}

/// An abstract Python value.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    /// A list or a tuple (both are JSON arrays).
    List(Vec<V>),
    /// A dict; keys are abstract values too (JSON wants strings).
    Dict(Vec<(V, V)>),
    /// The string returned by `json.dumps(inner)` (`text` when fully known).
    Dumped {
        inner: Box<V>,
        text: Option<String>,
        range: TextRange,
    },
    /// A known object that is not data: a module, a function, `dbutils.jobs.taskValues`...
    /// The dotted path says which (`dbutils.jobs.taskValues.set`, `json.dumps`).
    Obj(String),
    /// An opened file (`open(path)`): the resolved path in the repository, or why unknown.
    File(FileRef),
    /// A Spark DataFrame (created at `range`).
    DataFrame(TextRange),
    /// A value not known statically. `unbounded` when its size has no bound; `not_json` when it
    /// certainly holds something JSON cannot express.
    Dynamic {
        unbounded: Option<Reason>,
        not_json: Option<NotJson>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum FileRef {
    /// A file of the repository (absolute path).
    Repo(std::path::PathBuf),
    /// Outside the repository (absolute, `/dbfs`, `/Volumes`, URLs): unbounded.
    Outside(Reason),
    /// Path not known or not found.
    Unknown,
}

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

impl V {
    pub fn unknown() -> V {
        V::Dynamic {
            unbounded: None,
            not_json: None,
        }
    }

    pub fn unbounded(what: impl Into<String>, range: TextRange) -> V {
        V::Dynamic {
            unbounded: Some(Reason {
                what: what.into(),
                range,
            }),
            not_json: None,
        }
    }

    pub fn not_json(what: impl Into<String>, range: TextRange) -> V {
        V::Dynamic {
            unbounded: None,
            not_json: Some(NotJson {
                what: what.into(),
                range,
            }),
        }
    }

    pub fn is_known(&self) -> bool {
        match self {
            V::None | V::Bool(_) | V::Int(_) | V::Float(_) | V::Str(_) => true,
            V::List(items) => items.iter().all(V::is_known),
            V::Dict(items) => items.iter().all(|(k, v)| k.is_known() && v.is_known()),
            V::Dumped { text, .. } => text.is_some(),
            _ => false,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            V::Dumped { text: Some(t), .. } => Some(t),
            _ => None,
        }
    }

    /// The first reason this value is unbounded, if any.
    pub fn unbounded_reason(&self) -> Option<&Reason> {
        match self {
            V::Dynamic { unbounded, .. } => unbounded.as_ref(),
            V::List(items) => items.iter().find_map(V::unbounded_reason),
            V::Dict(items) => items
                .iter()
                .find_map(|(k, v)| k.unbounded_reason().or_else(|| v.unbounded_reason())),
            V::Dumped { inner, .. } => inner.unbounded_reason(),
            V::File(FileRef::Outside(r)) => Some(r),
            _ => None,
        }
    }

    /// The first part JSON cannot express, with its JSON pointer.
    pub fn find_not_json(&self) -> Option<(String, NotJson)> {
        self.find_not_json_at(String::new())
    }

    fn find_not_json_at(&self, ptr: String) -> Option<(String, NotJson)> {
        match self {
            V::Float(f) if !f.is_finite() => Some((
                ptr,
                NotJson {
                    what: if f.is_nan() {
                        "NaN"
                    } else {
                        "an infinite float"
                    }
                    .into(),
                    range: TextRange::default(),
                },
            )),
            V::List(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| v.find_not_json_at(format!("{ptr}/{i}"))),
            V::Dict(items) => items.iter().find_map(|(k, v)| {
                let key = match k {
                    V::Str(s) => s.clone(),
                    V::Dynamic { not_json: None, .. } => "*".into(),
                    other => {
                        return Some((
                            ptr.clone(),
                            NotJson {
                                what: format!("a dict key that is {}", other.describe()),
                                range: TextRange::default(),
                            },
                        ))
                    }
                };
                v.find_not_json_at(format!("{ptr}/{}", escape_pointer(&key)))
            }),
            V::Dynamic {
                not_json: Some(n), ..
            } => Some((ptr, n.clone())),
            V::DataFrame(r) => Some((
                ptr,
                NotJson {
                    what: "a Spark DataFrame".into(),
                    range: *r,
                },
            )),
            V::File(_) => Some((
                ptr,
                NotJson {
                    what: "a file object".into(),
                    range: TextRange::default(),
                },
            )),
            V::Obj(p) => Some((
                ptr,
                NotJson {
                    what: format!("`{p}` (not data)"),
                    range: TextRange::default(),
                },
            )),
            _ => None,
        }
    }

    /// A short description for messages ("a list of 3 items", "a string").
    pub fn describe(&self) -> String {
        match self {
            V::None => "None".into(),
            V::Bool(_) => "a bool".into(),
            V::Int(_) => "an int".into(),
            V::Float(_) => "a float".into(),
            V::Str(_) => "a string".into(),
            V::List(items) => format!("a list of {} item{}", items.len(), s(items.len())),
            V::Dict(items) => format!("a dict of {} key{}", items.len(), s(items.len())),
            V::Dumped { .. } => "a JSON-encoded string".into(),
            V::Obj(p) => format!("`{p}`"),
            V::File(_) => "a file object".into(),
            V::DataFrame(_) => "a DataFrame".into(),
            V::Dynamic { .. } => "a value not known statically".into(),
        }
    }

    /// Bounds of the compact JSON size of the value.
    pub fn size(&self) -> SizeBound {
        match self {
            V::None => exact(4),
            V::Bool(b) => exact(if *b { 4 } else { 5 }),
            V::Int(i) => exact(i.to_string().len() as u64),
            V::Float(f) => exact(py_float_repr(*f).len() as u64),
            V::Str(s) => exact(canonical_string_len(s)),
            V::Dumped { inner, text, .. } => match text {
                Some(t) => exact(canonical_string_len(t)),
                None => {
                    let b = inner.size();
                    SizeBound {
                        min: b.min + 2,
                        exact: None,
                        unbounded: b.unbounded,
                    }
                }
            },
            V::List(items) => {
                let mut acc = exact(2 + items.len().saturating_sub(1) as u64);
                for it in items {
                    acc = add(acc, it.size());
                }
                acc
            }
            V::Dict(items) => {
                let mut acc = exact(2 + items.len().saturating_sub(1) as u64 + items.len() as u64);
                for (k, v) in items {
                    let ks = match k {
                        V::Str(_) | V::Dynamic { .. } => k.size(),
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
                    acc = add(acc, ks);
                    acc = add(acc, v.size());
                }
                acc
            }
            V::File(FileRef::Outside(r)) => SizeBound {
                min: 1,
                exact: None,
                unbounded: Some(r.clone()),
            },
            V::Dynamic { unbounded, .. } => SizeBound {
                min: 1,
                exact: None,
                unbounded: unbounded.clone(),
            },
            V::Obj(_) | V::File(_) | V::DataFrame(_) => SizeBound {
                min: 1,
                exact: None,
                unbounded: None,
            },
        }
    }

    /// The JSON value when fully known and expressible.
    pub fn to_json(&self) -> Option<Value> {
        Some(match self {
            V::None => Value::Null,
            V::Bool(b) => Value::Bool(*b),
            V::Int(i) => {
                if let Ok(x) = i64::try_from(*i) {
                    Value::from(x)
                } else {
                    Value::from(u64::try_from(*i).ok()?)
                }
            }
            V::Float(f) => Value::from(serde_json::Number::from_f64(*f)?),
            V::Str(s) => Value::String(s.clone()),
            V::Dumped { text, .. } => Value::String(text.clone()?),
            V::List(items) => Value::Array(items.iter().map(V::to_json).collect::<Option<_>>()?),
            V::Dict(items) => {
                let mut m = serde_json::Map::new();
                for (k, v) in items {
                    let k = match k {
                        V::Str(s) => s.clone(),
                        _ => return None,
                    };
                    m.insert(k, v.to_json()?);
                }
                Value::Object(m)
            }
            _ => return None,
        })
    }

    /// From a JSON value (data loaded from a file).
    pub fn from_json(v: &Value) -> V {
        match v {
            Value::Null => V::None,
            Value::Bool(b) => V::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => V::Int(i128::from(i)),
                None => match n.as_u64() {
                    Some(u) => V::Int(i128::from(u)),
                    None => V::Float(n.as_f64().unwrap_or(0.0)),
                },
            },
            Value::String(s) => V::Str(s.clone()),
            Value::Array(a) => V::List(a.iter().map(V::from_json).collect()),
            Value::Object(o) => V::Dict(
                o.iter()
                    .map(|(k, v)| (V::Str(k.clone()), V::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Python's truthiness when known.
    pub fn truthy(&self) -> Option<bool> {
        match self {
            V::None => Some(false),
            V::Bool(b) => Some(*b),
            V::Int(i) => Some(*i != 0),
            V::Float(f) => Some(*f != 0.0),
            V::Str(s) => Some(!s.is_empty()),
            V::List(l) => Some(!l.is_empty()),
            V::Dict(d) => Some(!d.is_empty()),
            V::Obj(_) | V::File(_) | V::DataFrame(_) => Some(true),
            _ => None,
        }
    }
}

/// Join two possible values of the same variable (both branches of an `if`).
pub fn join(a: V, b: V) -> V {
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
    // Keep the larger known candidate for size purposes when both are known lists.
    V::Dynamic {
        unbounded,
        not_json,
    }
}

fn s(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn exact(n: u64) -> SizeBound {
    SizeBound {
        min: n,
        exact: Some(n),
        unbounded: None,
    }
}

fn add(a: SizeBound, b: SizeBound) -> SizeBound {
    SizeBound {
        min: a.min.saturating_add(b.min),
        exact: match (a.exact, b.exact) {
            (Some(x), Some(y)) => Some(x.saturating_add(y)),
            _ => None,
        },
        unbounded: a.unbounded.or(b.unbounded),
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
pub fn py_dumps(v: &V, compact: bool, ensure_ascii: bool) -> Option<String> {
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

fn dumps_into(v: &V, compact: bool, ensure_ascii: bool, out: &mut String) -> Option<()> {
    let (item_sep, key_sep) = if compact { (",", ":") } else { (", ", ": ") };
    match v {
        V::None => out.push_str("null"),
        V::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        V::Int(i) => out.push_str(&i.to_string()),
        V::Float(f) => out.push_str(&py_float_repr(*f)),
        V::Str(s) => dumps_str(s, ensure_ascii, out),
        V::Dumped { text: Some(t), .. } => dumps_str(t, ensure_ascii, out),
        V::List(items) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                dumps_into(it, compact, ensure_ascii, out)?;
            }
            out.push(']');
        }
        V::Dict(items) => {
            out.push('{');
            for (i, (k, val)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                match k {
                    V::Str(s) => dumps_str(s, ensure_ascii, out),
                    V::Int(_) | V::Float(_) | V::Bool(_) | V::None => {
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
        let v = V::Dict(vec![
            (
                V::Str("a".into()),
                V::List(vec![V::Int(1), V::Str("é".into())]),
            ),
            (V::Int(2), V::None),
        ]);
        assert_eq!(
            py_dumps(&v, false, true).unwrap(),
            "{\"a\": [1, \"\\u00e9\"], \"2\": null}"
        );
        assert_eq!(
            py_dumps(&v, true, false).unwrap(),
            "{\"a\":[1,\"é\"],\"2\":null}"
        );
    }

    #[test]
    fn size_matches_compact_json() {
        let v = V::List(vec![
            V::Dict(vec![(V::Str("t".into()), V::Str("é\"".into()))]),
            V::Float(1.5),
            V::Bool(false),
            V::None,
        ]);
        let j = v.to_json().unwrap();
        assert_eq!(
            v.size().exact,
            Some(serde_json::to_string(&j).unwrap().len() as u64)
        );
    }

    #[test]
    fn not_json_pointer() {
        let v = V::List(vec![
            V::Int(1),
            V::Dict(vec![(
                V::Str("when".into()),
                V::not_json("a datetime", TextRange::default()),
            )]),
        ]);
        let (ptr, n) = v.find_not_json().unwrap();
        assert_eq!(ptr, "/1/when");
        assert_eq!(n.what, "a datetime");
        let v = V::Dict(vec![(V::List(vec![]), V::Int(1))]);
        assert!(v.find_not_json().unwrap().1.what.contains("dict key"));
    }
}
