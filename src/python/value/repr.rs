//! Values as text: Python's `str()`, a `repr()`-like rendering for messages, type names and
//! short descriptions.

use super::json::py_float_repr;
use super::Value;

/// Python's `str(v)` for data values (`None` for objects and values not known statically).
/// Containers are rendered by [`Value::to_python`].
pub fn py_str(v: &Value) -> Option<String> {
    Some(match v {
        Value::Str(s) => s.clone(),
        Value::Dumped { text, .. } => text.clone()?,
        Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::None => v.to_python(),
        Value::List(_) | Value::Tuple(_) | Value::Set(..) | Value::Dict(_) if v.is_known() => {
            v.to_python()
        }
        _ => return None,
    })
}

/// `str(float)`: `repr` with Python's names for the special values.
fn float_str(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        py_float_repr(f)
    }
}

fn join_python<'v>(items: impl Iterator<Item = &'v Value>) -> String {
    items.map(Value::to_python).collect::<Vec<_>>().join(", ")
}

impl Value {
    /// Python's `str(self)` (see [`py_str`]).
    pub fn py_str(&self) -> Option<String> {
        py_str(self)
    }

    /// `repr`-like rendering for messages (strings in double quotes).
    pub fn to_python(&self) -> String {
        match self {
            Value::Str(s) => format!("{s:?}"),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => float_str(*f),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::None => "None".into(),
            Value::List(v) => format!("[{}]", join_python(v.iter())),
            Value::Tuple(v) => format!(
                "({}{})",
                join_python(v.iter()),
                if v.len() == 1 { "," } else { "" }
            ),
            Value::Set(v, _) if v.is_empty() => "set()".into(),
            Value::Set(v, _) => format!("{{{}}}", join_python(v.iter())),
            Value::Dict(items) => format!(
                "{{{}}}",
                items
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.to_python(), v.to_python()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Dumped { text: Some(t), .. } => format!("{t:?}"),
            Value::Obj(p) => p.clone(),
            other => other.describe(),
        }
    }

    /// Python type name (`str`, `int`, `dict`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) | Value::Dumped { .. } => "str",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::None => "None",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Set(..) => "set",
            Value::Dict(_) => "dict",
            Value::DataFrame(_) => "DataFrame",
            Value::File(_) => "file",
            Value::Obj(_) | Value::Dynamic { .. } => "object",
        }
    }

    /// A short description for messages ("a list of 3 items", "a string"). Tuples are
    /// described as lists: JSON writes them as arrays.
    pub fn describe(&self) -> String {
        let s = |n: usize| if n == 1 { "" } else { "s" };
        match self {
            Value::None => "None".into(),
            Value::Bool(_) => "a bool".into(),
            Value::Int(_) => "an int".into(),
            Value::Float(_) => "a float".into(),
            Value::Str(_) => "a string".into(),
            Value::List(items) | Value::Tuple(items) => {
                format!("a list of {} item{}", items.len(), s(items.len()))
            }
            Value::Set(..) => "a set".into(),
            Value::Dict(items) => format!("a dict of {} key{}", items.len(), s(items.len())),
            Value::Dumped { .. } => "a JSON-encoded string".into(),
            Value::Obj(p) => format!("`{p}`"),
            Value::File(_) => "a file object".into(),
            Value::DataFrame(_) => "a DataFrame".into(),
            Value::Dynamic { .. } => "a value not known statically".into(),
        }
    }
}

/// Python's `format(v, spec)` for the common specs of ints, floats and strings
/// (`[[fill]align][sign][0][width][,|_][.precision][type]` with types `d`, `x`, `X`, `o`, `b`,
/// `f`, `F`, `%`, `s`); `None` for any other spec or value.
pub fn py_format(v: &Value, spec: &str) -> Option<String> {
    if spec.is_empty() {
        return py_str(v);
    }
    let f = Spec::parse(spec)?;
    let (body, numeric, negative) = match (v, f.kind) {
        (Value::Str(s), None | Some('s')) if f.sign.is_none() && f.grouping.is_none() => {
            let s: String = match f.precision {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            };
            (s, false, false)
        }
        (Value::Int(i), None | Some('d' | 'x' | 'X' | 'o' | 'b')) if f.precision.is_none() => {
            let a = i.unsigned_abs();
            let digits = match f.kind {
                Some('x') => format!("{a:x}"),
                Some('X') => format!("{a:X}"),
                Some('o') => format!("{a:o}"),
                Some('b') => format!("{a:b}"),
                _ => group(&a.to_string(), f.grouping),
            };
            (digits, true, *i < 0)
        }
        (Value::Int(_) | Value::Float(_), Some('f' | 'F' | '%')) => {
            let mut x = v.as_f64()?;
            if !x.is_finite() {
                return None;
            }
            if f.kind == Some('%') {
                x *= 100.0;
            }
            let p = f.precision.unwrap_or(6);
            let text = format!("{:.p$}", x.abs());
            let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
            let mut out = group(int, f.grouping);
            if !frac.is_empty() {
                out.push('.');
                out.push_str(frac);
            }
            if f.kind == Some('%') {
                out.push('%');
            }
            (out, true, x < 0.0)
        }
        _ => return None,
    };
    let sign = match (negative, f.sign) {
        (true, _) => "-",
        (false, Some('+')) => "+",
        (false, Some(' ')) => " ",
        _ => "",
    };
    let len = sign.len() + body.chars().count();
    let pad = f.width.saturating_sub(len);
    let align = f.align.unwrap_or(if f.zero && numeric {
        '='
    } else if numeric {
        '>'
    } else {
        '<'
    });
    let fill = |n: usize| f.fill.to_string().repeat(n);
    Some(match align {
        '<' => format!("{sign}{body}{}", fill(pad)),
        '>' => format!("{}{sign}{body}", fill(pad)),
        '^' => format!("{}{sign}{body}{}", fill(pad / 2), fill(pad - pad / 2)),
        _ => format!("{sign}{}{body}", fill(pad)),
    })
}

/// A parsed format spec.
struct Spec {
    fill: char,
    align: Option<char>,
    sign: Option<char>,
    zero: bool,
    width: usize,
    grouping: Option<char>,
    precision: Option<usize>,
    kind: Option<char>,
}

impl Spec {
    fn parse(spec: &str) -> Option<Spec> {
        let c: Vec<char> = spec.chars().collect();
        let mut i = 0;
        let mut f = Spec {
            fill: ' ',
            align: None,
            sign: None,
            zero: false,
            width: 0,
            grouping: None,
            precision: None,
            kind: None,
        };
        let is_align = |x: char| matches!(x, '<' | '>' | '^' | '=');
        if c.len() >= 2 && is_align(c[1]) {
            (f.fill, f.align, i) = (c[0], Some(c[1]), 2);
        } else if c.first().copied().is_some_and(is_align) {
            (f.align, i) = (Some(c[0]), 1);
        }
        if let Some(&s @ ('+' | '-' | ' ')) = c.get(i) {
            (f.sign, i) = (Some(s), i + 1);
        }
        if c.get(i) == Some(&'0') {
            f.zero = true;
            if f.align.is_none() {
                f.fill = '0';
            }
            i += 1;
        }
        let digits = |i: &mut usize| {
            let start = *i;
            while c.get(*i).is_some_and(char::is_ascii_digit) {
                *i += 1;
            }
            c[start..*i]
                .iter()
                .collect::<String>()
                .parse::<usize>()
                .ok()
        };
        f.width = digits(&mut i).unwrap_or(0);
        if let Some(&g @ (',' | '_')) = c.get(i) {
            (f.grouping, i) = (Some(g), i + 1);
        }
        if c.get(i) == Some(&'.') {
            i += 1;
            f.precision = Some(digits(&mut i)?);
        }
        if let Some(&k) = c.get(i) {
            (f.kind, i) = (Some(k), i + 1);
        }
        (i == c.len() && f.width <= 1024).then_some(f)
    }
}

/// Digits with a thousands separator every three.
fn group(digits: &str, sep: Option<char>) -> String {
    let Some(sep) = sep else {
        return digits.to_string();
    };
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn str_and_repr() {
        assert_eq!(py_str(&Value::Float(1e16)).as_deref(), Some("1e+16"));
        assert_eq!(py_str(&Value::Float(f64::INFINITY)).as_deref(), Some("inf"));
        assert_eq!(py_str(&Value::Bool(true)).as_deref(), Some("True"));
        assert_eq!(py_str(&Value::unknown()), None);
        let t = Value::Tuple(vec![Value::Int(1)]);
        assert_eq!(t.to_python(), "(1,)");
        assert_eq!(t.type_name(), "tuple");
        let d = Value::Dict(vec![(Value::Str("a".into()), Value::Str("1".into()))]);
        assert_eq!(py_str(&d).as_deref(), Some(r#"{"a": "1"}"#));
    }

    #[test]
    fn format_specs_like_python() {
        let f = |v: Value, spec: &str| py_format(&v, spec);
        assert_eq!(f(Value::Int(7), "02d").as_deref(), Some("07"));
        assert_eq!(f(Value::Int(-7), "03").as_deref(), Some("-07"));
        assert_eq!(f(Value::Int(1234567), ",").as_deref(), Some("1,234,567"));
        assert_eq!(f(Value::Int(255), "x").as_deref(), Some("ff"));
        assert_eq!(f(Value::Int(5), ">3").as_deref(), Some("  5"));
        assert_eq!(f(Value::Int(5), "*^5").as_deref(), Some("**5**"));
        assert_eq!(f(Value::Float(12.345), ".1f").as_deref(), Some("12.3"));
        assert_eq!(f(Value::Float(0.5), ".0%").as_deref(), Some("50%"));
        assert_eq!(f(Value::Int(3), "+").as_deref(), Some("+3"));
        assert_eq!(f(Value::Str("ab".into()), "<4").as_deref(), Some("ab  "));
        assert_eq!(f(Value::Str("abc".into()), ".2").as_deref(), Some("ab"));
        assert_eq!(f(Value::Float(1.0), "e"), None);
        assert_eq!(f(Value::Str("a".into()), "d"), None);
        assert_eq!(f(Value::unknown(), "02d"), None);
    }
}
