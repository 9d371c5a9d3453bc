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
}
