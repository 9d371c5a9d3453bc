//! One Python value domain: the values bricklint knows statically, one table of builtins, and
//! one interpreter over ruff's AST that computes them.
//!
//! - [`Value`]: a Python value as far as it is known — data (`str`, `int`, lists, dicts, ...),
//!   objects that are not data (`dbutils.widgets`, an open file, a DataFrame), and values not
//!   known statically, which remember whether their size has a bound and whether they hold
//!   something JSON cannot express.
//! - [`json`](self::json): sizes as compact JSON, `json.dumps`, conversions from and to JSON.
//! - [`repr`](self::repr): `str()`, `repr()`-like rendering and descriptions for messages.
//! - `builtins`: the one table of builtin functions (`range`, `len`, `str`, `int`, `dict`, ...),
//!   methods of `str`/`dict`/`list` values, and operators.
//! - The interpreter: `interp` (state, variables, entry points, recorded `dbutils` calls),
//!   `stmt` (statements and local functions), `expr` (expressions and comprehensions), `calls`
//!   (calls into `dbutils`, Spark, files, JSON and the network).
//! - [`literal`](self::literal): the value of one expression with no statement run, names
//!   resolved through an [`Env`] (the semantic model's single bindings). It is the interpreter
//!   run with no environment of its own.
//!
//! ```
//! use bricklint::python::value::{eval, NoEnv, Value};
//! let py = bricklint::source::PythonSource::from_text("x = {'a': f\"{1 + 2}b\", 'n': [1, 2]}\n");
//! let ruff_python_ast::Stmt::Assign(a) = &py.module().body[0] else { panic!() };
//! let v = eval(&a.value, &NoEnv).unwrap();
//! assert_eq!(v.to_json_text().as_deref(), Some(r#"{"a":"3b","n":[1,2]}"#));
//! assert_eq!(v.get("a"), Some(&Value::Str("3b".into())));
//! ```

use ruff_text_size::TextRange;

mod builtins;
mod calls;
mod expr;
mod interp;
pub mod json;
pub mod literal;
mod objects;
mod record;
pub mod repr;
mod stmt;
pub mod syntax;

pub use interp::{evaluate, evaluate_with, values_at};
pub use json::{join, py_dumps, py_float_repr, SizeBound};
pub use literal::{eval, eval_bound, eval_int, eval_str, upper_bound};
pub use record::{Arg, CallKind, Recorded};
pub use repr::{py_format, py_str};
pub use syntax::{fstring_parts, Env, FStringPart, NoEnv};

/// Largest list (or dict) the interpreter builds item by item; past it, values become dynamic.
pub const MAX_LIST: usize = 200_000;
/// Largest string the interpreter builds (bytes).
pub const MAX_STR: usize = 8 * 1024 * 1024;
/// Largest repository file read for its contents (`json.load(open(...))`).
pub const MAX_FILE: u64 = 16 * 1024 * 1024;

/// Why a value's size has no static bound (`.collect()`, `spark.sql`, a file outside the repo).
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub what: String,
    pub range: TextRange,
    /// Only the number of items has no bound; each item has one (the rows of `.collect()`, a
    /// directory listing): one item (`rows[0]`) is bounded.
    pub items: bool,
}

impl Reason {
    /// Unbounded contents (a file outside the repository, data from the network).
    pub fn contents(what: impl Into<String>, range: TextRange) -> Reason {
        Reason {
            what: what.into(),
            range,
            items: false,
        }
    }

    /// An unbounded number of bounded items (rows, directory entries).
    pub fn items(what: impl Into<String>, range: TextRange) -> Reason {
        Reason {
            what: what.into(),
            range,
            items: true,
        }
    }
}

/// A Python value that JSON cannot express, and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct NotJson {
    /// "a set", "a datetime", "NaN", "Spark Row objects", ...
    pub what: String,
    pub range: TextRange,
}

/// A Python value as far as it is known statically. Every range is a *document* range when
/// the interpreter ran over a [`PythonSource`](crate::source::PythonSource) (already mapped from
/// the virtual Python source), and empty in [`literal`] evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    /// A tuple (a JSON array, like a list).
    Tuple(Vec<Value>),
    /// A set display (`{"a", "b"}`): its items in source order, duplicates dropped, and where
    /// it is created. JSON cannot express it.
    Set(Vec<Value>, TextRange),
    /// Key/value pairs in insertion order; keys are values too (JSON wants strings).
    Dict(Vec<(Value, Value)>),
    /// The string returned by `json.dumps(inner)` (`text` when fully known).
    Dumped {
        inner: Box<Value>,
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

impl Value {
    /// A value not known statically (no finding is based on it).
    pub fn unknown() -> Value {
        Value::Dynamic {
            unbounded: None,
            not_json: None,
        }
    }

    /// A value whose size has no static bound.
    pub fn unbounded(reason: Reason) -> Value {
        Value::Dynamic {
            unbounded: Some(reason),
            not_json: None,
        }
    }

    /// A value JSON cannot express.
    pub fn not_json(what: impl Into<String>, range: TextRange) -> Value {
        Value::Dynamic {
            unbounded: None,
            not_json: Some(NotJson {
                what: what.into(),
                range,
            }),
        }
    }

    /// Is the value data known in full (no object, no dynamic part)?
    pub fn is_known(&self) -> bool {
        match self {
            Value::None | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Str(_) => true,
            Value::List(items) | Value::Tuple(items) | Value::Set(items, _) => {
                items.iter().all(Value::is_known)
            }
            Value::Dict(items) => items.iter().all(|(k, v)| k.is_known() && v.is_known()),
            Value::Dumped { text, .. } => text.is_some(),
            _ => false,
        }
    }

    /// A string, or the text of a fully known `json.dumps(...)`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Dumped { text: Some(t), .. } => Some(t),
            _ => None,
        }
    }

    /// An integer that fits `i64` (booleans count as 0/1).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => i64::try_from(*i).ok(),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    /// A number as `f64` (ints, floats, booleans).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }

    /// Elements of a list, tuple or set display.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Tuple(v) | Value::Set(v, _) => Some(v),
            _ => None,
        }
    }

    /// The value of a string key of a dict.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items
                .iter()
                .rev()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The first reason this value is unbounded, if any.
    pub fn unbounded_reason(&self) -> Option<&Reason> {
        match self {
            Value::Dynamic { unbounded, .. } => unbounded.as_ref(),
            Value::List(items) | Value::Tuple(items) => {
                items.iter().find_map(Value::unbounded_reason)
            }
            Value::Dict(items) => items
                .iter()
                .find_map(|(k, v)| k.unbounded_reason().or_else(|| v.unbounded_reason())),
            Value::Dumped { inner, .. } => inner.unbounded_reason(),
            Value::File(FileRef::Outside(r)) => Some(r),
            _ => None,
        }
    }

    /// Python's truthiness when known.
    pub fn truthy(&self) -> Option<bool> {
        match self {
            Value::None => Some(false),
            Value::Bool(b) => Some(*b),
            Value::Int(i) => Some(*i != 0),
            Value::Float(f) => Some(*f != 0.0),
            Value::Str(s) => Some(!s.is_empty()),
            Value::List(l) | Value::Tuple(l) | Value::Set(l, _) => Some(!l.is_empty()),
            Value::Dict(d) => Some(!d.is_empty()),
            Value::Obj(_) | Value::File(_) | Value::DataFrame(_) => Some(true),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
