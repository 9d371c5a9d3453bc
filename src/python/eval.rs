//! Static evaluation of simple Python literals.
//!
//! Rules and the migration need the *values* of a few expressions: notebook paths, timeouts,
//! `arguments` maps, pool sizes and the lists a fan-out iterates over. This module evaluates the
//! expressions whose value is fixed by the source alone:
//!
//! - literals: strings (also implicitly concatenated), numbers, booleans, `None`;
//! - lists, tuples, sets (as lists) and dicts of evaluable values, `{**a, **b}` splats;
//! - f-strings whose interpolations are evaluable (no format specs);
//! - `+` on strings, numbers and lists, `*` / `-` / `//` on integers, unary `-`;
//! - `len(x)`, `min(...)`, `max(...)`, `str(x)`, `int(x)`, `range(...)` (at most 10,000 items),
//!   `dict(k=v)`, `"sep".join([...])`, `"a,b".split(",")`, `list(x)`, `tuple(x)`;
//! - names, through an [`Env`] (the semantic model resolves a name bound exactly once to its
//!   value; [`NoEnv`] resolves nothing).
//!
//! Anything else evaluates to `None` ("not known statically").
//!
//! ```
//! use bricklint::python::eval::{eval, NoEnv, Value};
//! let py = bricklint::source::PythonSource::from_text("x = {'a': f\"{1 + 2}b\", 'n': [1, 2]}\n");
//! let ruff_python_ast::Stmt::Assign(a) = &py.module().body[0] else { panic!() };
//! let v = eval(&a.value, &NoEnv).unwrap();
//! assert_eq!(v.to_json(), r#"{"a":"3b","n":[1,2]}"#);
//! assert_eq!(v.get("a"), Some(&Value::Str("3b".into())));
//! ```

use ruff_python_ast::{self as ast, Expr, Number, Operator, UnaryOp};

/// A statically known Python value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    List(Vec<Value>),
    Tuple(Vec<Value>),
    /// Key/value pairs in source order.
    Dict(Vec<(Value, Value)>),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }
    /// A number as `f64` (ints, floats, booleans).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Bool(b) => Some(*b as i64 as f64),
            _ => None,
        }
    }
    /// Elements of a list or tuple.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }
    /// The value of a string key of a dict.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items
                .iter()
                .rev()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
    /// Python type name (`str`, `int`, `dict`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "str",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::None => "None",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Dict(_) => "dict",
        }
    }
    /// Python truthiness.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Bool(b) => *b,
            Value::None => false,
            Value::List(v) | Value::Tuple(v) => !v.is_empty(),
            Value::Dict(v) => !v.is_empty(),
        }
    }
    /// Compact JSON (`None` is `null`, tuples are arrays, non-string keys are stringified as
    /// Python's `json.dumps` does for numbers and booleans).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_json_value()).unwrap_or_default()
    }
    pub fn to_json_value(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Str(s) => J::String(s.clone()),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or(J::Null),
            Value::Bool(b) => J::Bool(*b),
            Value::None => J::Null,
            Value::List(v) | Value::Tuple(v) => {
                J::Array(v.iter().map(|x| x.to_json_value()).collect())
            }
            Value::Dict(items) => J::Object(
                items
                    .iter()
                    .map(|(k, v)| {
                        let key = match k {
                            Value::Str(s) => s.clone(),
                            Value::Bool(b) => b.to_string(),
                            Value::None => "null".into(),
                            other => other.to_python(),
                        };
                        (key, v.to_json_value())
                    })
                    .collect(),
            ),
        }
    }
    /// Python `repr`-like rendering (for messages).
    pub fn to_python(&self) -> String {
        match self {
            Value::Str(s) => format!("{s:?}"),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format!("{f:?}"),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::None => "None".into(),
            Value::List(v) => format!(
                "[{}]",
                v.iter()
                    .map(|x| x.to_python())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Tuple(v) => format!(
                "({}{})",
                v.iter()
                    .map(|x| x.to_python())
                    .collect::<Vec<_>>()
                    .join(", "),
                if v.len() == 1 { "," } else { "" }
            ),
            Value::Dict(items) => format!(
                "{{{}}}",
                items
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.to_python(), v.to_python()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    /// `str(value)` as Python prints it.
    pub fn to_display(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            other => other.to_python(),
        }
    }
}

/// Resolves names to the expression they are bound to (exactly once), for [`eval`].
pub trait Env {
    /// The single value bound to `name` as seen from the place of `name`, if known.
    fn lookup(&self, name: &ast::ExprName) -> Option<&Expr>;
}

/// An environment that knows no names.
pub struct NoEnv;
impl Env for NoEnv {
    fn lookup(&self, _name: &ast::ExprName) -> Option<&Expr> {
        None
    }
}

const MAX_DEPTH: u32 = 24;
const MAX_ITEMS: usize = 10_000;

/// Evaluate `expr` statically. `None` when the value is not known from the source alone.
pub fn eval(expr: &Expr, env: &dyn Env) -> Option<Value> {
    eval_depth(expr, env, 0)
}

/// Evaluate an integer (booleans count as 0/1).
pub fn eval_int(expr: &Expr, env: &dyn Env) -> Option<i64> {
    eval(expr, env)?.as_int()
}

/// Evaluate a string.
pub fn eval_str(expr: &Expr, env: &dyn Env) -> Option<String> {
    match eval(expr, env)? {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

/// An upper bound of an integer expression: like [`eval_int`], but `min(a, b)` is bounded
/// when any of its arguments is (`min(len(xs), 8)` is at most 8).
pub fn upper_bound(expr: &Expr, env: &dyn Env) -> Option<i64> {
    if let Some(i) = eval_int(expr, env) {
        return Some(i);
    }
    if let Expr::Call(call) = expr {
        if let Expr::Name(n) = &*call.func {
            if n.id.as_str() == "min" && call.arguments.keywords.is_empty() {
                return call
                    .arguments
                    .args
                    .iter()
                    .filter_map(|a| upper_bound(a, env))
                    .min();
            }
        }
    }
    if let Expr::Name(n) = expr {
        if let Some(e) = env.lookup(n) {
            if !std::ptr::eq(e, expr) {
                return upper_bound(e, env);
            }
        }
    }
    None
}

fn eval_depth(expr: &Expr, env: &dyn Env, depth: u32) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    let ev = |e: &Expr| eval_depth(e, env, depth + 1);
    match expr {
        Expr::StringLiteral(s) => Some(Value::Str(s.value.to_str().to_string())),
        Expr::NumberLiteral(n) => match &n.value {
            Number::Int(i) => i.as_i64().map(Value::Int),
            Number::Float(f) => Some(Value::Float(*f)),
            Number::Complex { .. } => None,
        },
        Expr::BooleanLiteral(b) => Some(Value::Bool(b.value)),
        Expr::NoneLiteral(_) => Some(Value::None),
        Expr::List(l) => seq(&l.elts, env, depth).map(Value::List),
        Expr::Set(s) => seq(&s.elts, env, depth).map(Value::List),
        Expr::Tuple(t) => seq(&t.elts, env, depth).map(Value::Tuple),
        Expr::Dict(d) => {
            let mut items: Vec<(Value, Value)> = Vec::with_capacity(d.items.len());
            for item in &d.items {
                match &item.key {
                    Some(k) => {
                        let k = ev(k)?;
                        let v = ev(&item.value)?;
                        items.retain(|(ek, _)| *ek != k);
                        items.push((k, v));
                    }
                    None => {
                        let Value::Dict(inner) = ev(&item.value)? else {
                            return None;
                        };
                        for (k, v) in inner {
                            items.retain(|(ek, _)| *ek != k);
                            items.push((k, v));
                        }
                    }
                }
            }
            Some(Value::Dict(items))
        }
        Expr::FString(f) => {
            let mut out = String::new();
            for part in f.value.iter() {
                match part {
                    ast::FStringPart::Literal(l) => out.push_str(&l.value),
                    ast::FStringPart::FString(fs) => {
                        for el in fs.elements.iter() {
                            match el {
                                ast::InterpolatedStringElement::Literal(l) => {
                                    out.push_str(&l.value)
                                }
                                ast::InterpolatedStringElement::Interpolation(i) => {
                                    if i.format_spec.is_some()
                                        || i.conversion != ast::ConversionFlag::None
                                    {
                                        return None;
                                    }
                                    out.push_str(&ev(&i.expression)?.to_display());
                                }
                            }
                        }
                    }
                }
            }
            Some(Value::Str(out))
        }
        Expr::UnaryOp(u) => {
            let v = ev(&u.operand)?;
            match (u.op, v) {
                (UnaryOp::USub, Value::Int(i)) => i.checked_neg().map(Value::Int),
                (UnaryOp::USub, Value::Float(f)) => Some(Value::Float(-f)),
                (UnaryOp::UAdd, v @ (Value::Int(_) | Value::Float(_))) => Some(v),
                (UnaryOp::Not, v) => Some(Value::Bool(!v.truthy())),
                _ => None,
            }
        }
        Expr::BinOp(b) => {
            let l = ev(&b.left)?;
            let r = ev(&b.right)?;
            binop(b.op, l, r)
        }
        Expr::Name(n) => {
            let e = env.lookup(n)?;
            if std::ptr::eq(e, expr) {
                return None;
            }
            ev(e)
        }
        Expr::Call(call) => eval_call(call, env, depth),
        _ => None,
    }
}

fn seq(elts: &[Expr], env: &dyn Env, depth: u32) -> Option<Vec<Value>> {
    let mut out = Vec::with_capacity(elts.len());
    for e in elts {
        if let Expr::Starred(s) = e {
            let v = eval_depth(&s.value, env, depth + 1)?;
            out.extend(v.as_seq()?.iter().cloned());
        } else {
            out.push(eval_depth(e, env, depth + 1)?);
        }
    }
    Some(out)
}

fn binop(op: Operator, l: Value, r: Value) -> Option<Value> {
    use Value::*;
    Some(match (op, l, r) {
        (Operator::Add, Str(a), Str(b)) => Str(a + &b),
        (Operator::Add, Int(a), Int(b)) => Int(a.checked_add(b)?),
        (Operator::Sub, Int(a), Int(b)) => Int(a.checked_sub(b)?),
        (Operator::Mult, Int(a), Int(b)) => Int(a.checked_mul(b)?),
        (Operator::FloorDiv, Int(a), Int(b)) if b != 0 => Int(a.div_euclid(b)),
        (Operator::Add, Float(a), Float(b)) => Float(a + b),
        (Operator::Add, Int(a), Float(b)) | (Operator::Add, Float(b), Int(a)) => {
            Float(a as f64 + b)
        }
        (Operator::Mult, Float(a), Float(b)) => Float(a * b),
        (Operator::Mult, Int(a), Float(b)) | (Operator::Mult, Float(b), Int(a)) => {
            Float(a as f64 * b)
        }
        (Operator::Add, List(mut a), List(b)) => {
            a.extend(b);
            List(a)
        }
        (Operator::Add, Tuple(mut a), Tuple(b)) => {
            a.extend(b);
            Tuple(a)
        }
        (Operator::Mult, List(a), Int(n)) | (Operator::Mult, Int(n), List(a)) => {
            let n = usize::try_from(n).ok()?;
            if a.len().saturating_mul(n) > MAX_ITEMS {
                return Option::None;
            }
            List(a.iter().cloned().cycle().take(a.len() * n).collect())
        }
        (Operator::Mult, Str(a), Int(n)) => {
            let n = usize::try_from(n).ok()?;
            if a.len().saturating_mul(n) > 1 << 20 {
                return Option::None;
            }
            Str(a.repeat(n))
        }
        (Operator::BitOr, Dict(mut a), Dict(b)) => {
            for (k, v) in b {
                a.retain(|(ek, _)| *ek != k);
                a.push((k, v));
            }
            Dict(a)
        }
        _ => return Option::None,
    })
}

fn eval_call(call: &ast::ExprCall, env: &dyn Env, depth: u32) -> Option<Value> {
    let ev = |e: &Expr| eval_depth(e, env, depth + 1);
    let args = &call.arguments;
    if args.args.iter().any(|a| a.is_starred_expr()) {
        return None;
    }
    match &*call.func {
        Expr::Name(n) => {
            let pos: Vec<Value> = if n.id.as_str() == "dict" {
                Vec::new()
            } else {
                if !args.keywords.is_empty() {
                    return None;
                }
                args.args.iter().map(ev).collect::<Option<_>>()?
            };
            match (n.id.as_str(), pos.as_slice()) {
                ("len", [v]) => match v {
                    Value::Str(s) => Some(Value::Int(s.chars().count() as i64)),
                    Value::List(x) | Value::Tuple(x) => Some(Value::Int(x.len() as i64)),
                    Value::Dict(x) => Some(Value::Int(x.len() as i64)),
                    _ => None,
                },
                ("str", [v]) => Some(Value::Str(v.to_display())),
                ("int", [Value::Str(s)]) => s.trim().parse().ok().map(Value::Int),
                ("int", [Value::Int(i)]) => Some(Value::Int(*i)),
                ("int", [Value::Float(f)]) => Some(Value::Int(f.trunc() as i64)),
                ("list", [v]) => v.as_seq().map(|s| Value::List(s.to_vec())),
                ("tuple", [v]) => v.as_seq().map(|s| Value::Tuple(s.to_vec())),
                ("min" | "max", vals) if !vals.is_empty() => {
                    let vals: Vec<&Value> = if let [one] = vals {
                        one.as_seq()?.iter().collect()
                    } else {
                        vals.iter().collect()
                    };
                    let mut best: Option<&Value> = None;
                    for v in vals {
                        let x = v.as_f64()?;
                        let better = match best {
                            None => true,
                            Some(b) => {
                                let bx = b.as_f64()?;
                                if n.id.as_str() == "min" {
                                    x < bx
                                } else {
                                    x > bx
                                }
                            }
                        };
                        if better {
                            best = Some(v);
                        }
                    }
                    best.cloned()
                }
                ("range", vals) if !vals.is_empty() && vals.len() <= 3 => {
                    let ints: Vec<i64> = vals.iter().map(Value::as_int).collect::<Option<_>>()?;
                    let (start, stop, step) = match ints.as_slice() {
                        [stop] => (0, *stop, 1),
                        [start, stop] => (*start, *stop, 1),
                        [start, stop, step] => (*start, *stop, *step),
                        _ => return None,
                    };
                    if step == 0 {
                        return None;
                    }
                    let mut out = Vec::new();
                    let mut i = start;
                    while (step > 0 && i < stop) || (step < 0 && i > stop) {
                        out.push(Value::Int(i));
                        if out.len() > MAX_ITEMS {
                            return None;
                        }
                        i = i.checked_add(step)?;
                    }
                    Some(Value::List(out))
                }
                ("dict", _) => {
                    let mut items = Vec::new();
                    if let Some(first) = args.args.first() {
                        if args.args.len() > 1 {
                            return None;
                        }
                        let Value::Dict(d) = ev(first)? else {
                            return None;
                        };
                        items = d;
                    }
                    for kw in args.keywords.iter() {
                        let v = ev(&kw.value)?;
                        match &kw.arg {
                            Some(k) => {
                                let k = Value::Str(k.as_str().to_string());
                                items.retain(|(ek, _)| *ek != k);
                                items.push((k, v));
                            }
                            None => {
                                let Value::Dict(d) = v else { return None };
                                for (k, v) in d {
                                    items.retain(|(ek, _)| *ek != k);
                                    items.push((k, v));
                                }
                            }
                        }
                    }
                    Some(Value::Dict(items))
                }
                _ => None,
            }
        }
        Expr::Attribute(a) => {
            if !args.keywords.is_empty() {
                return None;
            }
            let recv = ev(&a.value)?;
            let pos: Vec<Value> = args.args.iter().map(ev).collect::<Option<_>>()?;
            match (recv, a.attr.as_str(), pos.as_slice()) {
                (Value::Str(sep), "join", [v]) => {
                    let parts: Vec<String> = v
                        .as_seq()?
                        .iter()
                        .map(|x| x.as_str().map(str::to_string))
                        .collect::<Option<_>>()?;
                    Some(Value::Str(parts.join(&sep)))
                }
                (Value::Str(s), "split", [Value::Str(sep)]) if !sep.is_empty() => {
                    Some(Value::List(
                        s.split(sep.as_str())
                            .map(|p| Value::Str(p.into()))
                            .collect(),
                    ))
                }
                (Value::Str(s), "strip", []) => Some(Value::Str(s.trim().to_string())),
                (Value::Str(s), "lower", []) => Some(Value::Str(s.to_lowercase())),
                (Value::Str(s), "upper", []) => Some(Value::Str(s.to_uppercase())),
                (Value::Str(s), "format", vals) => {
                    // Only positional `{}` placeholders.
                    let mut out = String::new();
                    let mut it = vals.iter();
                    let mut rest = s.as_str();
                    while let Some(i) = rest.find(['{', '}']) {
                        out.push_str(&rest[..i]);
                        let tail = &rest[i..];
                        if tail.starts_with("{{") || tail.starts_with("}}") {
                            out.push_str(&tail[..1]);
                            rest = &tail[2..];
                        } else if let Some(t) = tail.strip_prefix("{}") {
                            out.push_str(&it.next()?.to_display());
                            rest = t;
                        } else {
                            return None;
                        }
                    }
                    out.push_str(rest);
                    Some(Value::Str(out))
                }
                (d @ Value::Dict(_), "copy", []) => Some(d),
                (Value::Dict(d), "keys", []) => {
                    Some(Value::List(d.into_iter().map(|(k, _)| k).collect()))
                }
                (Value::Dict(d), "values", []) => {
                    Some(Value::List(d.into_iter().map(|(_, v)| v).collect()))
                }
                (Value::Dict(d), "items", []) => Some(Value::List(
                    d.into_iter()
                        .map(|(k, v)| Value::Tuple(vec![k, v]))
                        .collect(),
                )),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::PythonSource;

    fn ev(code: &str) -> Option<Value> {
        let py = PythonSource::from_text(&format!("x = {code}\n"));
        let ruff_python_ast::Stmt::Assign(a) = &py.module().body[0] else {
            panic!("not an assignment")
        };
        eval(&a.value, &NoEnv)
    }

    #[test]
    fn literals() {
        assert_eq!(ev("'a' 'b'"), Some(Value::Str("ab".into())));
        assert_eq!(ev("-5"), Some(Value::Int(-5)));
        assert_eq!(ev("3600 * 2"), Some(Value::Int(7200)));
        assert_eq!(ev("1.5"), Some(Value::Float(1.5)));
        assert_eq!(ev("None"), Some(Value::None));
        assert_eq!(
            ev("[1, 'a', (True,)]"),
            Some(Value::List(vec![
                Value::Int(1),
                Value::Str("a".into()),
                Value::Tuple(vec![Value::Bool(true)])
            ]))
        );
        assert_eq!(ev("f'./nb_{1}'"), Some(Value::Str("./nb_1".into())));
        assert_eq!(ev("f'{x}'"), None);
        assert_eq!(ev("f'{1:>3}'"), None);
        assert_eq!(ev("foo()"), None);
    }

    #[test]
    fn dicts_and_calls() {
        let v = ev("{**{'a': '1'}, 'b': 2, 'a': '3'}").unwrap();
        assert_eq!(v.to_json(), r#"{"b":2,"a":"3"}"#);
        assert_eq!(ev("len([1, 2, 3])"), Some(Value::Int(3)));
        assert_eq!(ev("min(4, 2)"), Some(Value::Int(2)));
        assert_eq!(ev("range(3)").unwrap().as_seq().unwrap().len(), 3);
        assert_eq!(ev("','.join(['a', 'b'])"), Some(Value::Str("a,b".into())));
        assert_eq!(
            ev("'a,b'.split(',')"),
            Some(Value::List(vec![
                Value::Str("a".into()),
                Value::Str("b".into())
            ]))
        );
        assert_eq!(
            ev("dict(a='x', b=1)").unwrap().to_json(),
            r#"{"a":"x","b":1}"#
        );
        assert_eq!(ev("'{}/{}'.format('a', 1)"), Some(Value::Str("a/1".into())));
        assert_eq!(ev("range(10**9)"), None);
    }

    #[test]
    fn upper_bounds() {
        let py = PythonSource::from_text("x = min(len(items), 8)\n");
        let ruff_python_ast::Stmt::Assign(a) = &py.module().body[0] else {
            panic!()
        };
        assert_eq!(upper_bound(&a.value, &NoEnv), Some(8));
        assert_eq!(eval_int(&a.value, &NoEnv), None);
    }
}
