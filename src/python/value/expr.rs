//! Expressions: literals and displays, names (scopes first, then the literal environment, then
//! builtin names), f-strings, operators, comparisons, subscripts and comprehensions.

use ruff_python_ast::{self as ast, Expr};

use super::builtins::{binop, dict_insert, element_dyn, element_of, iterate};
use super::builtins::{slice, subscript};
use super::interp::{Interp, STEP_BUDGET};
use super::json::join;
use super::objects::attribute;
use super::repr::py_format;
use super::syntax::{fstring_parts, FStringPart};
use super::{NotJson, Reason, Value, MAX_LIST};
use crate::fasthash::HashMap;

/// Longest chain of names followed through the literal environment (`a = b`, `b = c`, ...).
const MAX_ENV_DEPTH: u32 = 24;

/// Names that denote builtins or Databricks globals when nothing else binds them.
const GLOBAL_OBJECTS: &[&str] = &[
    "dbutils",
    "spark",
    "sc",
    "sqlContext",
    "display",
    "getArgument",
    "open",
    "range",
    "len",
    "list",
    "tuple",
    "dict",
    "set",
    "frozenset",
    "str",
    "int",
    "float",
    "bool",
    "sorted",
    "reversed",
    "enumerate",
    "zip",
    "map",
    "filter",
    "bytes",
    "bytearray",
    "print",
    "min",
    "max",
    "sum",
    "abs",
    "round",
    "repr",
];

/// What a comprehension produced so far.
struct Comp {
    is_dict: bool,
    list: Vec<Value>,
    dict: Vec<(Value, Value)>,
    /// Every iterable was known item by item, every condition known.
    exact: bool,
    unbounded: Option<Reason>,
    not_json: Option<NotJson>,
}

impl<'a> Interp<'a, '_> {
    /// The value of an expression.
    pub(super) fn eval(&mut self, e: &'a Expr) -> Value {
        let v = self.eval_expr(e);
        if !self.watch.is_empty() {
            self.observe(e, &v);
        }
        v
    }

    fn eval_expr(&mut self, e: &'a Expr) -> Value {
        if !self.tick() {
            return Value::unknown();
        }
        match e {
            Expr::NoneLiteral(_) => Value::None,
            Expr::BooleanLiteral(b) => Value::Bool(b.value),
            Expr::NumberLiteral(n) => match &n.value {
                ast::Number::Int(i) => i
                    .as_i64()
                    .map(|x| Value::Int(i128::from(x)))
                    .or_else(|| i.to_string().parse::<i128>().ok().map(Value::Int))
                    .unwrap_or_else(Value::unknown),
                ast::Number::Float(f) => Value::Float(*f),
                ast::Number::Complex { .. } => Value::not_json("a complex number", self.r(e)),
            },
            Expr::StringLiteral(s) => Value::Str(s.value.to_str().to_string()),
            Expr::BytesLiteral(_) => Value::not_json("bytes", self.r(e)),
            Expr::FString(f) => self.eval_fstring(f),
            Expr::List(l) => self.eval_seq(&l.elts).map_or_else(|v| v, Value::List),
            Expr::Tuple(t) => self.eval_seq(&t.elts).map_or_else(|v| v, Value::Tuple),
            Expr::Set(s) => self.eval_set(s),
            Expr::Dict(d) => self.eval_dict(d),
            Expr::Name(n) => self.eval_name(n),
            Expr::Attribute(a) => {
                let base = self.eval(&a.value);
                attribute(base, a.attr.as_str())
            }
            Expr::Call(c) => self.eval_call(c),
            Expr::BinOp(b) => {
                let l = self.eval(&b.left);
                let r = self.eval(&b.right);
                binop(b.op, l, r)
            }
            Expr::UnaryOp(u) => {
                let v = self.eval(&u.operand);
                match (u.op, v) {
                    (ast::UnaryOp::USub, Value::Int(i)) => Value::Int(-i),
                    (ast::UnaryOp::USub, Value::Float(f)) => Value::Float(-f),
                    (ast::UnaryOp::UAdd, v @ (Value::Int(_) | Value::Float(_))) => v,
                    (ast::UnaryOp::Not, v) => {
                        v.truthy().map_or_else(Value::unknown, |b| Value::Bool(!b))
                    }
                    _ => Value::unknown(),
                }
            }
            Expr::BoolOp(b) => self.eval_bool_op(b),
            Expr::If(i) => match self.eval(&i.test).truthy() {
                Some(true) => self.eval(&i.body),
                Some(false) => self.eval(&i.orelse),
                None => {
                    let a = self.eval(&i.body);
                    let b = self.eval(&i.orelse);
                    join(a, b)
                }
            },
            Expr::Compare(c) => self.eval_compare(c),
            Expr::Subscript(s) => {
                let v = self.eval(&s.value);
                if let Expr::Slice(sl) = &*s.slice {
                    let lo = sl.lower.as_ref().map(|x| self.eval(x));
                    let hi = sl.upper.as_ref().map(|x| self.eval(x));
                    if sl.step.is_none() {
                        if let Some(part) = slice(&v, lo, hi) {
                            return part;
                        }
                    }
                    return element_dyn(&v);
                }
                let k = self.eval(&s.slice);
                subscript(&v, &k)
            }
            Expr::ListComp(c) => self.eval_comp(&c.elt, None, &c.generators, false),
            Expr::Generator(c) => self.eval_comp(&c.elt, None, &c.generators, false),
            Expr::SetComp(c) => {
                self.eval_comp(&c.elt, None, &c.generators, false);
                Value::not_json("a set", self.r(e))
            }
            Expr::DictComp(c) => self.eval_comp(&c.value, c.key.as_deref(), &c.generators, true),
            Expr::Named(n) => {
                let v = self.eval(&n.value);
                self.bind_target(&n.target, v.clone());
                v
            }
            Expr::Starred(s) => self.eval(&s.value),
            Expr::Lambda(_) => Value::Obj("<lambda>".into()),
            Expr::Await(a) => {
                self.eval(&a.value);
                Value::unknown()
            }
            _ => Value::unknown(),
        }
    }

    /// A name: a variable, else (literal evaluation) the expression the environment binds it
    /// to, else a builtin or Databricks global.
    fn eval_name(&mut self, n: &'a ast::ExprName) -> Value {
        let name = n.id.as_str();
        if let Some(v) = self.lookup(name) {
            return v.clone();
        }
        if let Some(e) = self.env.and_then(|env| env.lookup(n)) {
            let itself = matches!(e, Expr::Name(m) if std::ptr::eq(m, n));
            if itself || self.env_depth >= MAX_ENV_DEPTH {
                return Value::unknown();
            }
            self.env_depth += 1;
            let v = self.eval(e);
            self.env_depth -= 1;
            return v;
        }
        if GLOBAL_OBJECTS.contains(&name) {
            Value::Obj(name.to_string())
        } else {
            Value::unknown()
        }
    }

    /// The items of a list or tuple display (`Err` with the whole value when a starred part is
    /// not known item by item).
    fn eval_seq(&mut self, elts: &'a [Expr]) -> Result<Vec<Value>, Value> {
        let mut out = Vec::with_capacity(elts.len());
        for x in elts {
            if let Expr::Starred(s) = x {
                let v = self.eval(&s.value);
                match iterate(&v) {
                    Some(items) => out.extend(items),
                    None => return Err(join(Value::List(out), element_dyn(&v))),
                }
            } else {
                out.push(self.eval(x));
            }
        }
        Ok(out)
    }

    /// A set display: its items when known, else a value JSON cannot express.
    fn eval_set(&mut self, s: &'a ast::ExprSet) -> Value {
        let range = self.r(s);
        match self.eval_seq(&s.elts) {
            Ok(items) if items.iter().all(Value::is_known) => {
                let mut out: Vec<Value> = Vec::with_capacity(items.len());
                for it in items {
                    if !out.contains(&it) {
                        out.push(it);
                    }
                }
                Value::Set(out, range)
            }
            _ => Value::not_json("a set", range),
        }
    }

    fn eval_dict(&mut self, d: &'a ast::ExprDict) -> Value {
        let mut items = Vec::new();
        for item in &d.items {
            let v = self.eval(&item.value);
            match &item.key {
                Some(k) => {
                    let k = self.eval(k);
                    dict_insert(&mut items, k, v);
                }
                None => match v {
                    Value::Dict(other) => {
                        for (k, v) in other {
                            dict_insert(&mut items, k, v);
                        }
                    }
                    other => return join(Value::Dict(items), other),
                },
            }
        }
        Value::Dict(items)
    }

    fn eval_fstring(&mut self, f: &'a ast::ExprFString) -> Value {
        let mut s = String::new();
        let mut known = true;
        fstring_parts(f, &mut |part| match part {
            FStringPart::Literal(l) => s.push_str(l),
            FStringPart::Interpolation(i) => {
                let v = self.eval(&i.expression);
                match self.interpolate(i, v) {
                    Some(t) if known => s.push_str(&t),
                    _ => known = false,
                }
            }
        });
        if known {
            Value::Str(s)
        } else {
            Value::unknown()
        }
    }

    /// The text of one `{expression!conversion:spec}` of an f-string, when known.
    fn interpolate(&mut self, i: &'a ast::InterpolatedElement, v: Value) -> Option<String> {
        if i.debug_text.is_some() {
            return None;
        }
        let v = match i.conversion {
            ast::ConversionFlag::None | ast::ConversionFlag::Str => v,
            // `repr` is `str` for numbers, booleans and None.
            _ if matches!(
                v,
                Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::None
            ) =>
            {
                v
            }
            _ => return None,
        };
        let mut spec = String::new();
        if let Some(fs) = &i.format_spec {
            for el in fs.elements.iter() {
                match el {
                    ast::InterpolatedStringElement::Literal(l) => spec.push_str(&l.value),
                    ast::InterpolatedStringElement::Interpolation(inner) => {
                        let w = self.eval(&inner.expression);
                        spec.push_str(&self.interpolate(inner, w)?);
                    }
                }
            }
        }
        py_format(&v, &spec)
    }

    fn eval_bool_op(&mut self, b: &'a ast::ExprBoolOp) -> Value {
        let mut last = Value::unknown();
        let is_and = b.op == ast::BoolOp::And;
        for (i, x) in b.values.iter().enumerate() {
            let v = self.eval(x);
            match v.truthy() {
                Some(t) if t != is_and => return v,
                Some(_) => last = v,
                None => {
                    // Unknown: the result is this or a later value.
                    let mut acc = v;
                    for y in &b.values[i + 1..] {
                        let w = self.eval(y);
                        acc = join(acc, w);
                    }
                    return acc;
                }
            }
        }
        last
    }

    fn eval_compare(&mut self, c: &'a ast::ExprCompare) -> Value {
        let mut left = self.eval(&c.left);
        let mut result = Some(true);
        for (op, right) in c.ops.iter().zip(c.comparators.iter()) {
            let r = self.eval(right);
            let this = compare(*op, &left, &r);
            result = match (result, this) {
                (Some(true), t) => t,
                (Some(false), _) => Some(false),
                (None, Some(false)) => Some(false),
                _ => None,
            };
            left = r;
        }
        result.map_or_else(Value::unknown, Value::Bool)
    }

    /// Comprehensions: concrete when every iterable is known, else a dynamic value that keeps
    /// unboundedness and non-JSON elements.
    fn eval_comp(
        &mut self,
        elt: &'a Expr,
        key: Option<&'a Expr>,
        gens: &'a [ast::Comprehension],
        is_dict: bool,
    ) -> Value {
        self.scopes.push(HashMap::default());
        self.logs.push(Vec::new());
        let mut out = Comp {
            is_dict,
            list: Vec::new(),
            dict: Vec::new(),
            exact: true,
            unbounded: None,
            not_json: None,
        };
        self.comp_level(elt, key, gens, &mut out);
        self.logs.pop();
        self.scopes.pop();
        match out {
            Comp {
                exact: true,
                is_dict: true,
                dict,
                ..
            } => Value::Dict(dict),
            Comp {
                exact: true, list, ..
            } => Value::List(list),
            Comp {
                unbounded,
                not_json,
                ..
            } => Value::Dynamic {
                unbounded,
                not_json,
            },
        }
    }

    fn comp_level(
        &mut self,
        elt: &'a Expr,
        key: Option<&'a Expr>,
        gens: &'a [ast::Comprehension],
        out: &mut Comp,
    ) {
        let Some((g, rest)) = gens.split_first() else {
            self.comp_item(elt, key, out);
            return;
        };
        let iter = self.eval(&g.iter);
        let items = if out.exact { iterate(&iter) } else { None };
        let Some(items) = items else {
            out.exact = false;
            if let Some(r) = iter.unbounded_reason() {
                out.unbounded.get_or_insert(r.clone());
            }
            let elem = element_of(&iter);
            self.bind_target(&g.target, elem);
            for cond in &g.ifs {
                self.eval(cond);
            }
            self.comp_level(elt, key, rest, out);
            return;
        };
        for it in items {
            if self.steps >= STEP_BUDGET {
                out.exact = false;
                return;
            }
            self.bind_target(&g.target, it);
            let mut keep = Some(true);
            for cond in &g.ifs {
                match self.eval(cond).truthy() {
                    Some(true) => {}
                    Some(false) => {
                        keep = Some(false);
                        break;
                    }
                    None => keep = None,
                }
            }
            match keep {
                Some(false) => continue,
                Some(true) => {}
                None => out.exact = false,
            }
            self.comp_level(elt, key, rest, out);
        }
    }

    /// One element of a comprehension.
    fn comp_item(&mut self, elt: &'a Expr, key: Option<&'a Expr>, out: &mut Comp) {
        let v = self.eval(elt);
        if let Some((_, n)) = v.find_not_json() {
            out.not_json.get_or_insert(n);
        }
        if let Some(r) = v.unbounded_reason() {
            out.unbounded.get_or_insert(r.clone());
        }
        if out.is_dict {
            let k = key.map(|k| self.eval(k)).unwrap_or_else(Value::unknown);
            if let Some((_, n)) = k.find_not_json() {
                out.not_json.get_or_insert(n);
            }
            dict_insert(&mut out.dict, k, v);
        } else {
            out.list.push(v);
        }
        if out.list.len() + out.dict.len() > MAX_LIST {
            out.exact = false;
        }
    }
}

/// One comparison, when decidable.
fn compare(op: ast::CmpOp, left: &Value, r: &Value) -> Option<bool> {
    use ast::CmpOp;
    match op {
        CmpOp::Eq if left.is_known() && r.is_known() => Some(left == r),
        CmpOp::NotEq if left.is_known() && r.is_known() => Some(left != r),
        CmpOp::In | CmpOp::NotIn => {
            let found = match (left, r) {
                (Value::Str(a), Value::Str(b)) => Some(b.contains(a.as_str())),
                (x, Value::List(items) | Value::Tuple(items) | Value::Set(items, _))
                    if x.is_known() && items.iter().all(Value::is_known) =>
                {
                    Some(items.contains(x))
                }
                (x, Value::Dict(items)) if x.is_known() => Some(items.iter().any(|(k, _)| k == x)),
                _ => None,
            };
            if op == CmpOp::NotIn {
                found.map(|b| !b)
            } else {
                found
            }
        }
        CmpOp::Lt | CmpOp::LtE | CmpOp::Gt | CmpOp::GtE => match (left, r) {
            (Value::Int(a), Value::Int(b)) => Some(match op {
                CmpOp::Lt => a < b,
                CmpOp::LtE => a <= b,
                CmpOp::Gt => a > b,
                _ => a >= b,
            }),
            _ => None,
        },
        CmpOp::Is | CmpOp::IsNot => match (left, r) {
            (Value::None, Value::None) => Some(op == CmpOp::Is),
            (a, Value::None) if a.is_known() => Some(op == CmpOp::IsNot),
            _ => None,
        },
        _ => None,
    }
}
