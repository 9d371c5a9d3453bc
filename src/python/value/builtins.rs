//! The one table of Python builtins the interpreter knows: builtin functions (`range`, `len`,
//! `str`, `int`, `dict`, `sorted`, `min`, ...), methods of `str`, `dict` and `list` values,
//! operators, subscripts and iteration. Every cap comes from [`MAX_LIST`] and [`MAX_STR`].
//!
//! Each function returns `None` when the name is not in its table (the caller tries other
//! tables), and a value — possibly [`Value::unknown`] — when it is.

use ruff_python_ast::Operator;
use ruff_text_size::TextRange;

use super::record::Arg;
use super::{Value, MAX_LIST, MAX_STR};

/// The longest string iterated character by character.
const MAX_ITER_STR: usize = 10_000;

/// Positional argument values.
fn positional(args: &[Arg]) -> Vec<&Value> {
    args.iter()
        .filter(|a| a.name.is_none())
        .map(|a| &a.value)
        .collect()
}

/// A builtin function called with `args` (`range`, `len`, `str`, ...); `range` is the call's.
pub(super) fn function(name: &str, args: &[Arg], range: TextRange) -> Option<Value> {
    let pos = positional(args);
    let first = pos.first().copied();
    Some(match name {
        "range" => {
            let ints: Option<Vec<i128>> = pos
                .iter()
                .map(|v| match v {
                    Value::Int(i) => Some(*i),
                    Value::Bool(b) => Some(i128::from(*b)),
                    _ => None,
                })
                .collect();
            match ints.as_deref() {
                Some([n]) => make_range(0, *n, 1),
                Some([a, b]) => make_range(*a, *b, 1),
                Some([a, b, s]) => make_range(*a, *b, *s),
                _ => Value::unknown(),
            }
        }
        "len" => match first {
            Some(Value::List(l) | Value::Tuple(l) | Value::Set(l, _)) => {
                Value::Int(l.len() as i128)
            }
            Some(Value::Dict(d)) => Value::Int(d.len() as i128),
            Some(Value::Str(s)) => Value::Int(s.chars().count() as i128),
            _ => Value::unknown(),
        },
        "list" | "tuple" | "sorted" => match first {
            None if name == "tuple" => Value::Tuple(Vec::new()),
            None => Value::List(Vec::new()),
            Some(v) => match iterate(v) {
                Some(items) if name == "sorted" => sort_values(items),
                Some(items) if name == "tuple" => Value::Tuple(items),
                Some(items) => Value::List(items),
                None => element_bound(v),
            },
        },
        "reversed" => match first.and_then(iterate) {
            Some(mut items) => {
                items.reverse();
                Value::List(items)
            }
            None => Value::unknown(),
        },
        "set" | "frozenset" => match first.map(iterate) {
            None => Value::Set(Vec::new(), range),
            Some(Some(items)) if items.iter().all(Value::is_known) => {
                let mut out: Vec<Value> = Vec::with_capacity(items.len());
                for it in items {
                    if !out.contains(&it) {
                        out.push(it);
                    }
                }
                Value::Set(out, range)
            }
            Some(_) => Value::not_json("a set", range),
        },
        "dict" => dict_call(first, args),
        "enumerate" => match first.and_then(iterate) {
            Some(items) => Value::List(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| Value::Tuple(vec![Value::Int(i as i128), v]))
                    .collect(),
            ),
            None => element_bound(first.unwrap_or(&Value::unknown())),
        },
        "zip" => {
            let lists: Option<Vec<Vec<Value>>> = pos.iter().map(|v| iterate(v)).collect();
            match lists {
                Some(ls) if !ls.is_empty() => {
                    let n = ls.iter().map(Vec::len).min().unwrap_or(0);
                    Value::List(
                        (0..n)
                            .map(|i| Value::Tuple(ls.iter().map(|l| l[i].clone()).collect()))
                            .collect(),
                    )
                }
                _ => Value::unknown(),
            }
        }
        "str" | "repr" => match first.map(|v| (v.py_str(), v)) {
            Some((Some(s), _)) => Value::Str(s),
            // The text of an unbounded value is unbounded too.
            Some((None, v)) => element_dyn(v),
            None => Value::unknown(),
        },
        "int" => match first {
            Some(Value::Int(i)) => Value::Int(*i),
            Some(Value::Bool(b)) => Value::Int(i128::from(*b)),
            Some(Value::Str(s)) => s
                .trim()
                .parse()
                .map(Value::Int)
                .unwrap_or_else(|_| Value::unknown()),
            Some(Value::Float(f)) if f.is_finite() => Value::Int(f.trunc() as i128),
            _ => Value::unknown(),
        },
        "float" => match first {
            Some(Value::Str(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "nan" | "+nan" | "-nan" => Value::Float(f64::NAN),
                "inf" | "+inf" | "infinity" => Value::Float(f64::INFINITY),
                "-inf" | "-infinity" => Value::Float(f64::NEG_INFINITY),
                t => t
                    .parse()
                    .map(Value::Float)
                    .unwrap_or_else(|_| Value::unknown()),
            },
            Some(Value::Int(i)) => Value::Float(*i as f64),
            Some(Value::Float(f)) => Value::Float(*f),
            _ => Value::unknown(),
        },
        "bool" => first
            .and_then(Value::truthy)
            .map_or_else(Value::unknown, Value::Bool),
        "min" | "max" => min_max(name == "min", &pos).unwrap_or_else(Value::unknown),
        "bytes" | "bytearray" => Value::not_json("bytes", range),
        _ => return None,
    })
}

/// `dict(mapping_or_pairs, **kwargs)`.
fn dict_call(first: Option<&Value>, args: &[Arg]) -> Value {
    let mut d = match first {
        Some(Value::Dict(d)) => d.clone(),
        Some(Value::List(pairs) | Value::Tuple(pairs)) => {
            let mut d = Vec::new();
            for p in pairs {
                match p {
                    Value::List(kv) | Value::Tuple(kv) if kv.len() == 2 => {
                        dict_insert(&mut d, kv[0].clone(), kv[1].clone());
                    }
                    _ => return Value::unknown(),
                }
            }
            d
        }
        None => Vec::new(),
        Some(other) => return element_bound(other),
    };
    for a in args {
        if let Some(n) = &a.name {
            dict_insert(&mut d, Value::Str(n.clone()), a.value.clone());
        }
    }
    Value::Dict(d)
}

/// `min(a, b, ...)` / `min(iterable)` of numbers (the number itself, as written).
fn min_max(is_min: bool, pos: &[&Value]) -> Option<Value> {
    let vals: Vec<&Value> = match pos {
        [] => return None,
        [one] => one.as_seq()?.iter().collect(),
        many => many.to_vec(),
    };
    let mut best: Option<(&Value, f64)> = None;
    for v in vals {
        let x = v.as_f64()?;
        let better = match best {
            None => true,
            Some((_, b)) => {
                if is_min {
                    x < b
                } else {
                    x > b
                }
            }
        };
        if better {
            best = Some((v, x));
        }
    }
    best.map(|(v, _)| v.clone())
}

/// A method of a `str`, `dict` or `list` value.
pub(super) fn method(recv: &Value, name: &str, args: &[Arg]) -> Option<Value> {
    let pos = positional(args);
    let first = pos.first().copied();
    Some(match (recv, name) {
        (Value::Dict(d), "keys") => Value::List(d.iter().map(|(k, _)| k.clone()).collect()),
        (Value::Dict(d), "values") => Value::List(d.iter().map(|(_, v)| v.clone()).collect()),
        (Value::Dict(d), "items") => Value::List(
            d.iter()
                .map(|(k, v)| Value::Tuple(vec![k.clone(), v.clone()]))
                .collect(),
        ),
        (Value::Dict(d), "get") => match first {
            Some(k) if k.is_known() => d
                .iter()
                .find(|(x, _)| x == k)
                .map(|(_, v)| v.clone())
                .or_else(|| pos.get(1).map(|v| (*v).clone()))
                .unwrap_or(Value::None),
            _ => Value::unknown(),
        },
        (Value::Dict(_) | Value::List(_), "copy") => recv.clone(),
        (Value::List(_), "index" | "count") => Value::unknown(),
        (Value::Str(s), "join") => match first.and_then(iterate) {
            Some(items) => {
                let parts: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                parts.map_or_else(Value::unknown, |p| Value::Str(p.join(s)))
            }
            None => element_dyn(first.unwrap_or(&Value::None)),
        },
        (Value::Str(s), "split") => match first {
            Some(Value::Str(sep)) if !sep.is_empty() => Value::List(
                s.split(sep.as_str())
                    .map(|x| Value::Str(x.into()))
                    .collect(),
            ),
            None | Some(Value::None) => {
                Value::List(s.split_whitespace().map(|x| Value::Str(x.into())).collect())
            }
            _ => Value::unknown(),
        },
        (Value::Str(s), "strip") if first.is_none() => Value::Str(s.trim().into()),
        (Value::Str(s), "upper") => Value::Str(s.to_uppercase()),
        (Value::Str(s), "lower") => Value::Str(s.to_lowercase()),
        (Value::Str(s), "replace") => match (first, pos.get(1)) {
            (Some(Value::Str(a)), Some(Value::Str(b))) if !a.is_empty() => {
                Value::Str(s.replace(a.as_str(), b))
            }
            _ => Value::unknown(),
        },
        (Value::Str(s), "format") if args.iter().all(|a| a.name.is_none()) => {
            str_format(s, &pos).map_or_else(Value::unknown, Value::Str)
        }
        (Value::Str(_), "encode") => {
            Value::not_json("bytes", args.first().map(|a| a.range).unwrap_or_default())
        }
        (Value::Dumped { .. }, "encode") => Value::not_json("bytes", TextRange::default()),
        _ => return None,
    })
}

/// `"...".format(a, b)` with positional `{}` placeholders only.
fn str_format(s: &str, vals: &[&Value]) -> Option<String> {
    let mut out = String::new();
    let mut it = vals.iter();
    let mut rest = s;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
        } else if let Some(t) = tail.strip_prefix("{}") {
            out.push_str(&it.next()?.py_str()?);
            rest = t;
        } else {
            return None;
        }
    }
    out.push_str(rest);
    Some(out)
}

/// Insert into a dict, replacing the value of an equal known key in place.
pub(super) fn dict_insert(items: &mut Vec<(Value, Value)>, k: Value, v: Value) {
    if k.is_known() {
        if let Some(e) = items.iter_mut().find(|(x, _)| *x == k) {
            e.1 = v;
            return;
        }
    }
    items.push((k, v));
}

fn make_range(a: i128, b: i128, s: i128) -> Value {
    if s == 0 {
        return Value::unknown();
    }
    let n = if s > 0 {
        (b - a + s - 1).max(0) / s
    } else {
        (a - b - s - 1).max(0) / -s
    };
    if n as usize > MAX_LIST {
        return Value::unknown();
    }
    Value::List((0..n).map(|i| Value::Int(a + i * s)).collect())
}

fn sort_values(mut items: Vec<Value>) -> Value {
    if items.iter().all(|v| matches!(v, Value::Str(_))) {
        items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    } else if items.iter().all(|v| matches!(v, Value::Int(_))) {
        items.sort_by_key(|v| match v {
            Value::Int(i) => *i,
            _ => 0,
        });
    }
    // Otherwise the same size whatever the order.
    Value::List(items)
}

/// The items of an iterable value when known.
pub(super) fn iterate(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::List(items) | Value::Tuple(items) | Value::Set(items, _) => Some(items.clone()),
        Value::Dict(items) => Some(items.iter().map(|(k, _)| k.clone()).collect()),
        Value::Str(s) if s.len() <= MAX_ITER_STR => {
            Some(s.chars().map(|c| Value::Str(c.to_string())).collect())
        }
        _ => None,
    }
}

/// One element of an iterable that is not known item by item.
pub(super) fn element_of(v: &Value) -> Value {
    match v {
        Value::Dynamic { not_json, .. } => Value::Dynamic {
            unbounded: None,
            not_json: not_json.clone(),
        },
        Value::DataFrame(r) => Value::not_json("a Spark Row", *r),
        _ => Value::unknown(),
    }
}

/// A value derived from `v` that keeps its unboundedness (and non-JSON parts).
pub(super) fn element_bound(v: &Value) -> Value {
    Value::Dynamic {
        unbounded: v.unbounded_reason().cloned(),
        not_json: v.find_not_json().map(|(_, n)| n),
    }
}

/// A value derived from `v` that keeps its unboundedness.
pub(super) fn element_dyn(v: &Value) -> Value {
    Value::Dynamic {
        unbounded: v.unbounded_reason().cloned(),
        not_json: None,
    }
}

/// A Python index into a sequence of `len` items (negative from the end).
pub(super) fn index_value(i: i128, len: usize) -> Option<usize> {
    let len = len as i128;
    let i = if i < 0 { i + len } else { i };
    (0..len).contains(&i).then_some(i as usize)
}

/// `v[k]`.
pub(super) fn subscript(v: &Value, k: &Value) -> Value {
    match (v, k) {
        (Value::List(items) | Value::Tuple(items), Value::Int(i)) => index_value(*i, items.len())
            .map(|i| items[i].clone())
            .unwrap_or_else(Value::unknown),
        (Value::Dict(items), k) if k.is_known() => items
            .iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(Value::unknown),
        (Value::Str(s), Value::Int(i)) => {
            let chars: Vec<char> = s.chars().collect();
            index_value(*i, chars.len())
                .map(|i| Value::Str(chars[i].to_string()))
                .unwrap_or_else(Value::unknown)
        }
        (Value::DataFrame(r), _) => Value::DataFrame(*r),
        // One of an unbounded number of bounded items (`rows[0]`, `.collect()[0][0]`).
        (
            Value::Dynamic {
                unbounded: Some(r),
                not_json,
            },
            Value::Int(_),
        ) if r.items => Value::Dynamic {
            unbounded: None,
            not_json: not_json.clone(),
        },
        _ => element_dyn(v),
    }
}

/// `v[lo:hi]` on a list or tuple (no step), when the bounds are known.
pub(super) fn slice(v: &Value, lo: Option<Value>, hi: Option<Value>) -> Option<Value> {
    let (Value::List(items) | Value::Tuple(items)) = v else {
        return None;
    };
    let len = items.len() as i128;
    let norm = |x: Option<Value>, d: i128| -> Option<i128> {
        match x {
            None => Some(d),
            Some(Value::Int(i)) => Some((if i < 0 { i + len } else { i }).clamp(0, len)),
            _ => None,
        }
    };
    let (a, b) = (norm(lo, 0)?, norm(hi, len)?);
    let part = items[a as usize..(b.max(a)) as usize].to_vec();
    Some(match v {
        Value::Tuple(_) => Value::Tuple(part),
        _ => Value::List(part),
    })
}

/// Python's floor division and modulo on integers (`None` dividing by zero).
fn floor_div_mod(a: i128, b: i128) -> Option<(i128, i128)> {
    if b == 0 {
        return None;
    }
    let (q, r) = (a.checked_div(b)?, a.checked_rem(b)?);
    if r != 0 && ((r < 0) != (b < 0)) {
        Some((q - 1, r + b))
    } else {
        Some((q, r))
    }
}

/// A binary operator on two values.
pub(super) fn binop(op: Operator, l: Value, r: Value) -> Value {
    use Operator::*;
    let known = |v: Option<Value>| v.unwrap_or_else(Value::unknown);
    match (op, l, r) {
        (Add, Value::Int(a), Value::Int(b)) => known(a.checked_add(b).map(Value::Int)),
        (Sub, Value::Int(a), Value::Int(b)) => known(a.checked_sub(b).map(Value::Int)),
        (Mult, Value::Int(a), Value::Int(b)) => known(a.checked_mul(b).map(Value::Int)),
        (FloorDiv, Value::Int(a), Value::Int(b)) => {
            known(floor_div_mod(a, b).map(|(q, _)| Value::Int(q)))
        }
        (Mod, Value::Int(a), Value::Int(b)) => {
            known(floor_div_mod(a, b).map(|(_, r)| Value::Int(r)))
        }
        (Pow, Value::Int(a), Value::Int(b)) if (0..64).contains(&b) => {
            known(a.checked_pow(b as u32).map(Value::Int))
        }
        (op @ (Add | Sub | Mult | Div), l @ (Value::Int(_) | Value::Float(_)), r)
            if matches!(r, Value::Int(_) | Value::Float(_)) =>
        {
            let (Some(a), Some(b)) = (l.as_f64(), r.as_f64()) else {
                return Value::unknown();
            };
            match op {
                Add => Value::Float(a + b),
                Sub => Value::Float(a - b),
                Mult => Value::Float(a * b),
                _ if b != 0.0 => Value::Float(a / b),
                _ => Value::unknown(),
            }
        }
        (Add, Value::Str(a), Value::Str(b)) if a.len() + b.len() <= MAX_STR => Value::Str(a + &b),
        (Mult, Value::Str(s), Value::Int(n)) | (Mult, Value::Int(n), Value::Str(s)) => {
            let n = n.max(0) as usize;
            if s.len().saturating_mul(n) <= MAX_STR {
                Value::Str(s.repeat(n))
            } else {
                Value::unknown()
            }
        }
        (Add, Value::List(mut a), Value::List(b)) if a.len() + b.len() <= MAX_LIST => {
            a.extend(b);
            Value::List(a)
        }
        (Add, Value::Tuple(mut a), Value::Tuple(b)) if a.len() + b.len() <= MAX_LIST => {
            a.extend(b);
            Value::Tuple(a)
        }
        (Mult, seq @ (Value::List(_) | Value::Tuple(_)), Value::Int(n))
        | (Mult, Value::Int(n), seq @ (Value::List(_) | Value::Tuple(_))) => repeat(seq, n),
        (BitOr, Value::Dict(mut a), Value::Dict(b)) => {
            for (k, v) in b {
                dict_insert(&mut a, k, v);
            }
            Value::Dict(a)
        }
        (Mod, Value::Str(_), _) => Value::unknown(),
        (_, l, r) => element_dyn_of(&l, &r),
    }
}

/// `seq * n`.
fn repeat(seq: Value, n: i128) -> Value {
    let n = n.max(0) as usize;
    let (Value::List(l) | Value::Tuple(l)) = &seq else {
        return Value::unknown();
    };
    if l.len().saturating_mul(n) > MAX_LIST {
        return Value::unknown();
    }
    let mut out = Vec::with_capacity(l.len() * n);
    for _ in 0..n {
        out.extend(l.iter().cloned());
    }
    match seq {
        Value::Tuple(_) => Value::Tuple(out),
        _ => Value::List(out),
    }
}

/// An unknown result of two operands, unbounded when either is.
fn element_dyn_of(l: &Value, r: &Value) -> Value {
    Value::Dynamic {
        unbounded: l.unbounded_reason().or(r.unbounded_reason()).cloned(),
        not_json: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_division_and_modulo_like_python() {
        let ev = |op, a, b| binop(op, Value::Int(a), Value::Int(b));
        assert_eq!(ev(Operator::FloorDiv, -7, 2), Value::Int(-4));
        assert_eq!(ev(Operator::FloorDiv, 7, -2), Value::Int(-4));
        assert_eq!(ev(Operator::Mod, 7, -2), Value::Int(-1));
        assert_eq!(ev(Operator::Mod, -7, 2), Value::Int(1));
        assert_eq!(ev(Operator::FloorDiv, 1, 0), Value::unknown());
        assert_eq!(
            binop(Operator::Div, Value::Int(3), Value::Int(2)),
            Value::Float(1.5)
        );
    }

    #[test]
    fn range_cap() {
        assert_eq!(make_range(0, 3, 1).as_seq().map(<[Value]>::len), Some(3));
        assert_eq!(make_range(0, MAX_LIST as i128 + 1, 1), Value::unknown());
        assert_eq!(make_range(5, 0, -2).as_seq().map(<[Value]>::len), Some(3));
    }
}
