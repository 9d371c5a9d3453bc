//! Symbolic values for migration planning: an expression of the worker (the function a pool
//! runs per item) rewritten in terms of the fan-out's *item*, so that it can be evaluated for
//! static items or emitted as Python for the task-value producer.

use std::collections::HashMap;

use ruff_python_ast::{self as ast, Expr, Number, Stmt};
use serde_json::Value;

/// A value as a function of the current item.
#[derive(Debug, Clone, PartialEq)]
pub enum Sym {
    /// The item itself.
    Item,
    /// A JSON-able constant.
    Const(Value),
    Dict(Vec<(Sym, Sym)>),
    List(Vec<Sym>),
    Index(Box<Sym>, Box<Sym>),
    Attr(Box<Sym>, String),
    /// `str(x)`.
    Str(Box<Sym>),
    /// `a + b` (string concatenation or arithmetic).
    Add(Box<Sym>, Box<Sym>),
    /// f-string parts: literal text or a value.
    FStr(Vec<Sym>),
    /// A module-level name, valid where the dispatch was.
    Global(String),
    /// An expression that does not depend on the item and only uses module-level names
    /// (kept as source text).
    Opaque(String),
    /// An object of a class defined in the notebook, with its attributes.
    Obj(String, Vec<(String, Sym)>),
    /// A list comprehension over `base`, producing `elem` per base item.
    Comp(Box<Sym>, Box<Sym>),
    /// The items of `base` for which `cond` (a function of the base item) holds: the filter
    /// of a comprehension (`[c for c in configs if c["enabled"]]`).
    Filter(Box<Sym>, Box<Sym>),
    /// `json.dumps(x)`.
    Json(Box<Sym>),
    /// A method of a row without arguments (`row.asDict()`).
    Method(Box<Sym>, String),
    /// `a == b` (`true`) or `a != b` (`false`).
    Eq(Box<Sym>, Box<Sym>, bool),
    /// `not a`.
    Not(Box<Sym>),
    /// `a and b and ...` (`true`) or `a or b or ...` (`false`).
    Bool(Vec<Sym>, bool),
}

impl Sym {
    pub fn depends_on_item(&self) -> bool {
        match self {
            Sym::Item => true,
            Sym::Const(_) | Sym::Global(_) | Sym::Opaque(_) => false,
            Sym::Dict(kv) => kv
                .iter()
                .any(|(k, v)| k.depends_on_item() || v.depends_on_item()),
            Sym::List(v) | Sym::FStr(v) => v.iter().any(Sym::depends_on_item),
            Sym::Index(a, b) | Sym::Add(a, b) => a.depends_on_item() || b.depends_on_item(),
            Sym::Attr(a, _) | Sym::Str(a) => a.depends_on_item(),
            Sym::Obj(_, attrs) => attrs.iter().any(|(_, v)| v.depends_on_item()),
            Sym::Comp(base, _) | Sym::Filter(base, _) => base.depends_on_item(),
            Sym::Json(a) | Sym::Method(a, _) | Sym::Not(a) => a.depends_on_item(),
            Sym::Eq(a, b, _) => a.depends_on_item() || b.depends_on_item(),
            Sym::Bool(v, _) => v.iter().any(Sym::depends_on_item),
        }
    }

    /// True when the value is certainly a string at run time.
    pub fn is_string(&self) -> bool {
        match self {
            Sym::Const(Value::String(_)) | Sym::Str(_) | Sym::FStr(_) | Sym::Json(_) => true,
            Sym::Add(a, b) => a.is_string() || b.is_string(),
            _ => false,
        }
    }

    /// Python source for this value, with the item spelled `var`.
    pub fn to_python(&self, var: &str) -> Option<String> {
        Some(match self {
            Sym::Item => var.to_string(),
            Sym::Const(v) => py_const(v)?,
            Sym::Dict(kv) => {
                let mut parts = Vec::new();
                for (k, v) in kv {
                    parts.push(format!("{}: {}", k.to_python(var)?, v.to_python(var)?));
                }
                format!("{{{}}}", parts.join(", "))
            }
            Sym::List(v) => {
                let parts: Option<Vec<String>> = v.iter().map(|s| s.to_python(var)).collect();
                format!("[{}]", parts?.join(", "))
            }
            Sym::Index(a, b) => format!("{}[{}]", a.to_python(var)?, b.to_python(var)?),
            Sym::Attr(a, n) => format!("{}.{n}", a.to_python(var)?),
            Sym::Str(a) => {
                if a.is_string() {
                    a.to_python(var)?
                } else {
                    format!("str({})", a.to_python(var)?)
                }
            }
            Sym::Add(a, b) => format!("{} + {}", a.to_python(var)?, b.to_python(var)?),
            Sym::FStr(parts) => {
                let p: Option<Vec<String>> = parts
                    .iter()
                    .map(|s| match s {
                        Sym::Const(Value::String(_)) => s.to_python(var),
                        other => Sym::Str(Box::new(other.clone())).to_python(var),
                    })
                    .collect();
                let p = p?;
                if p.is_empty() {
                    "\"\"".into()
                } else {
                    p.join(" + ")
                }
            }
            Sym::Global(n) => n.clone(),
            Sym::Opaque(t) => {
                let atomic = t
                    .chars()
                    .all(|c| c.is_alphanumeric() || "_.()[]\"' ,".contains(c))
                    && t.starts_with(|c: char| c.is_alphabetic() || c == '_');
                if atomic && (!t.contains(' ') || is_call_chain(t)) {
                    t.clone()
                } else {
                    format!("({t})")
                }
            }
            Sym::Filter(base, cond) => format!(
                "[{var} for {var} in {} if {}]",
                base.to_python(var)?,
                cond.to_python(var)?
            ),
            Sym::Json(a) => format!("json.dumps({})", a.to_python(var)?),
            Sym::Method(a, m) => format!("{}.{m}()", a.to_python(var)?),
            Sym::Eq(a, b, eq) => format!(
                "({} {} {})",
                a.to_python(var)?,
                if *eq { "==" } else { "!=" },
                b.to_python(var)?
            ),
            Sym::Not(a) => format!("(not {})", a.to_python(var)?),
            Sym::Bool(v, and) => {
                let p: Option<Vec<String>> = v.iter().map(|s| s.to_python(var)).collect();
                format!("({})", p?.join(if *and { " and " } else { " or " }))
            }
            Sym::Obj(..) | Sym::Comp(..) => return None,
        })
    }

    /// Evaluate for one item (`None` when not statically known).
    pub fn eval(&self, item: &Value, globals: &dyn Fn(&str) -> Option<Value>) -> Option<Value> {
        Some(match self {
            Sym::Item => item.clone(),
            Sym::Const(v) => v.clone(),
            Sym::Dict(kv) => {
                let mut m = serde_json::Map::new();
                for (k, v) in kv {
                    let Value::String(k) = k.eval(item, globals)? else {
                        return None;
                    };
                    m.insert(k, v.eval(item, globals)?);
                }
                Value::Object(m)
            }
            Sym::List(v) => Value::Array(
                v.iter()
                    .map(|s| s.eval(item, globals))
                    .collect::<Option<Vec<_>>>()?,
            ),
            Sym::Index(a, b) => {
                let a = a.eval(item, globals)?;
                match (a, b.eval(item, globals)?) {
                    (Value::Object(m), Value::String(k)) => m.get(&k)?.clone(),
                    (Value::Array(v), Value::Number(n)) => {
                        let i = n.as_i64()?;
                        let i = if i < 0 { v.len() as i64 + i } else { i };
                        v.get(usize::try_from(i).ok()?)?.clone()
                    }
                    _ => return None,
                }
            }
            Sym::Attr(..) | Sym::Opaque(_) | Sym::Obj(..) | Sym::Comp(..) | Sym::Method(..) => {
                return None
            }
            Sym::Filter(base, cond) => {
                let Value::Array(items) = base.eval(item, globals)? else {
                    return None;
                };
                let mut out = Vec::new();
                for it in items {
                    if truthy(&cond.eval(&it, globals)?) {
                        out.push(it);
                    }
                }
                Value::Array(out)
            }
            Sym::Json(a) => Value::String(py_json_dumps(&a.eval(item, globals)?)?),
            Sym::Eq(a, b, eq) => {
                Value::Bool((a.eval(item, globals)? == b.eval(item, globals)?) == *eq)
            }
            Sym::Not(a) => Value::Bool(!truthy(&a.eval(item, globals)?)),
            Sym::Bool(v, and) => {
                // Python returns the deciding operand; for conditions its truth is what counts.
                let mut last = Value::Bool(*and);
                for s in v {
                    last = s.eval(item, globals)?;
                    if truthy(&last) != *and {
                        break;
                    }
                }
                last
            }
            Sym::Str(a) => Value::String(py_str(&a.eval(item, globals)?)?),
            Sym::Add(a, b) => match (a.eval(item, globals)?, b.eval(item, globals)?) {
                (Value::String(x), Value::String(y)) => Value::String(x + &y),
                (Value::Number(x), Value::Number(y)) => {
                    serde_json::json!(x.as_i64()?.checked_add(y.as_i64()?)?)
                }
                _ => return None,
            },
            Sym::FStr(parts) => {
                let mut s = String::new();
                for p in parts {
                    s.push_str(&py_str(&p.eval(item, globals)?)?);
                }
                Value::String(s)
            }
            Sym::Global(n) => globals(n)?,
        })
    }
}

/// `a.b(...).c(...)`: a name followed by calls, attributes and subscripts only (spaces only
/// inside the brackets).
fn is_call_chain(t: &str) -> bool {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for c in t.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[') => depth += 1,
            (None, ')' | ']') => depth -= 1,
            (None, ' ') if depth == 0 => return false,
            _ => {}
        }
    }
    depth == 0
}

/// Python's truth value of a JSON-like value.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// `json.dumps(v)` with Python's defaults (`", "` and `": "` separators, non-ASCII escaped);
/// `None` for floats, whose text Python and Rust may write differently.
pub fn py_json_dumps(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            if !(n.is_i64() || n.is_u64()) {
                return None;
            }
            n.to_string()
        }
        Value::String(s) => {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                        let mut buf = [0u16; 2];
                        for u in c.encode_utf16(&mut buf) {
                            out.push_str(&format!("\\u{u:04x}"));
                        }
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Value::Array(a) => {
            let p: Option<Vec<String>> = a.iter().map(py_json_dumps).collect();
            format!("[{}]", p?.join(", "))
        }
        Value::Object(m) => {
            let mut p = Vec::new();
            for (k, v) in m {
                p.push(format!(
                    "{}: {}",
                    py_json_dumps(&Value::String(k.clone()))?,
                    py_json_dumps(v)?
                ));
            }
            format!("{{{}}}", p.join(", "))
        }
    })
}

/// `str(v)` as Python prints it, for JSON-like values of simple types.
pub fn py_str(v: &Value) -> Option<String> {
    Some(match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else {
                let f = n.as_f64()?;
                if f.fract() == 0.0 && f.abs() < 1e16 {
                    format!("{f:.1}")
                } else {
                    f.to_string()
                }
            }
        }
        _ => return None,
    })
}

fn py_const(v: &Value) -> Option<String> {
    Some(match v {
        Value::String(s) => serde_json::to_string(s).ok()?,
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => {
            let p: Option<Vec<String>> = a.iter().map(py_const).collect();
            format!("[{}]", p?.join(", "))
        }
        Value::Object(m) => {
            let mut p = Vec::new();
            for (k, v) in m {
                p.push(format!(
                    "{}: {}",
                    serde_json::to_string(k).ok()?,
                    py_const(v)?
                ));
            }
            format!("{{{}}}", p.join(", "))
        }
    })
}

/// What the planner knows about the notebook's module level.
pub struct ModuleInfo<'a> {
    pub functions: HashMap<String, &'a ast::StmtFunctionDef>,
    pub classes: HashMap<String, &'a ast::StmtClassDef>,
    /// Names assigned exactly once at module level, with their value.
    pub single: HashMap<String, &'a Expr>,
    /// Every name bound at module level (assignments, imports, defs, loops).
    pub bound: std::collections::HashSet<String>,
    /// The virtual Python text the AST ranges point into.
    pub text: &'a str,
}

impl<'a> ModuleInfo<'a> {
    pub fn new(body: &'a [Stmt], text: &'a str) -> Self {
        let mut functions = HashMap::new();
        let mut classes = HashMap::new();
        let mut counts: HashMap<String, (usize, Option<&'a Expr>)> = HashMap::new();
        let mut bound = std::collections::HashSet::new();
        for s in body {
            for n in super::names::bound_names(s) {
                bound.insert(n);
            }
            match s {
                Stmt::FunctionDef(f) => {
                    functions.insert(f.name.id.to_string(), f);
                }
                Stmt::ClassDef(c) => {
                    classes.insert(c.name.id.to_string(), c);
                }
                Stmt::Assign(a) => {
                    for t in &a.targets {
                        if let Expr::Name(n) = t {
                            let e = counts.entry(n.id.to_string()).or_insert((0, None));
                            e.0 += 1;
                            e.1 = Some(&a.value);
                        }
                    }
                }
                Stmt::AnnAssign(a) => {
                    if let (Expr::Name(n), Some(v)) = (&*a.target, &a.value) {
                        let e = counts.entry(n.id.to_string()).or_insert((0, None));
                        e.0 += 1;
                        e.1 = Some(v);
                    }
                }
                _ => {}
            }
            // Re-binding through other statements makes a name not single.
            if !matches!(s, Stmt::Assign(_) | Stmt::AnnAssign(_)) {
                for n in super::names::bound_names(s) {
                    counts.entry(n).or_insert((0, None)).0 += 1;
                }
            }
        }
        let single = counts
            .into_iter()
            .filter_map(|(k, (n, v))| (n == 1).then_some(v).flatten().map(|v| (k, v)))
            .collect();
        ModuleInfo {
            functions,
            classes,
            single,
            bound,
            text,
        }
    }

    /// Static value of a module-level name.
    pub fn global_value(&self, name: &str) -> Option<Value> {
        let e = self.single.get(name)?;
        let s = self.sym(e, &HashMap::new(), 0).ok()?;
        s.eval(&Value::Null, &|n| {
            if n == name {
                None
            } else {
                self.global_value(n)
            }
        })
    }

    /// The symbolic value of `expr` in an environment of local names.
    pub fn sym(
        &self,
        expr: &Expr,
        env: &HashMap<String, Sym>,
        depth: usize,
    ) -> Result<Sym, String> {
        if depth > 16 {
            return Err("the expression is too deeply nested".into());
        }
        let d = depth + 1;
        Ok(match expr {
            Expr::StringLiteral(s) => Sym::Const(Value::String(s.value.to_str().to_string())),
            Expr::NumberLiteral(n) => match &n.value {
                Number::Int(i) => {
                    Sym::Const(i.as_i64().map(Value::from).ok_or("integer too large")?)
                }
                Number::Float(f) => Sym::Const(serde_json::json!(f)),
                Number::Complex { .. } => return Err("complex number".into()),
            },
            Expr::BooleanLiteral(b) => Sym::Const(Value::Bool(b.value)),
            Expr::NoneLiteral(_) => Sym::Const(Value::Null),
            Expr::Name(n) => {
                let id = n.id.as_str();
                if let Some(v) = env.get(id) {
                    v.clone()
                } else if self.bound.contains(id) || is_builtin_global(id) {
                    Sym::Global(id.to_string())
                } else {
                    return Err(format!("`{id}` is not defined in this notebook"));
                }
            }
            Expr::Dict(dct) => {
                let mut kv = Vec::new();
                for item in dct.iter() {
                    let Some(k) = &item.key else {
                        return Err("`**` in a dict literal".into());
                    };
                    kv.push((self.sym(k, env, d)?, self.sym(&item.value, env, d)?));
                }
                Sym::Dict(kv)
            }
            Expr::List(l) => Sym::List(
                l.elts
                    .iter()
                    .map(|e| self.sym(e, env, d))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Tuple(t) => Sym::List(
                t.elts
                    .iter()
                    .map(|e| self.sym(e, env, d))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Subscript(s) => {
                let v = self.sym(&s.value, env, d)?;
                let k = self.sym(&s.slice, env, d)?;
                Sym::Index(Box::new(v), Box::new(k))
            }
            Expr::Attribute(a) => {
                let v = self.sym(&a.value, env, d)?;
                let attr = a.attr.id.to_string();
                match v {
                    Sym::Obj(cls, attrs) => attrs
                        .iter()
                        .find(|(n, _)| *n == attr)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| format!("`{cls}` objects have no attribute `{attr}`"))?,
                    Sym::Global(_) | Sym::Opaque(_) => Sym::Opaque(self.text_of(expr)),
                    other => Sym::Attr(Box::new(other), attr),
                }
            }
            Expr::BinOp(b) if matches!(b.op, ast::Operator::Add) => {
                let l = self.sym(&b.left, env, d)?;
                let r = self.sym(&b.right, env, d)?;
                Sym::Add(Box::new(l), Box::new(r))
            }
            Expr::FString(f) => self.sym_fstring(f, env, d)?,
            Expr::Call(c) => return self.sym_call(expr, c, env, d),
            Expr::ListComp(lc) if lc.generators.len() == 1 && !lc.generators[0].is_async => {
                self.sym_comp(lc, env, d)?
            }
            Expr::Compare(c)
                if c.ops.len() == 1 && matches!(c.ops[0], ast::CmpOp::Eq | ast::CmpOp::NotEq) =>
            {
                let a = self.sym(&c.left, env, d)?;
                let b = self.sym(&c.comparators[0], env, d)?;
                Sym::Eq(Box::new(a), Box::new(b), c.ops[0] == ast::CmpOp::Eq)
            }
            Expr::UnaryOp(u) if u.op == ast::UnaryOp::Not => {
                Sym::Not(Box::new(self.sym(&u.operand, env, d)?))
            }
            Expr::BoolOp(b) => Sym::Bool(
                b.values
                    .iter()
                    .map(|v| self.sym(v, env, d))
                    .collect::<Result<_, _>>()?,
                b.op == ast::BoolOp::And,
            ),
            other => {
                if self.uses_env(other, env) {
                    return Err(format!("`{}` cannot be followed", self.text_of(other)));
                }
                Sym::Opaque(self.text_of(other))
            }
        })
    }

    /// The symbolic value of a call: `str(x)`, `json.dumps(x)`, `row.asDict()`, an object of a
    /// notebook class, or an opaque value when it does not depend on the item.
    fn sym_call(
        &self,
        expr: &Expr,
        c: &ast::ExprCall,
        env: &HashMap<String, Sym>,
        d: usize,
    ) -> Result<Sym, String> {
        let fname = match &*c.func {
            Expr::Name(n) => Some(n.id.as_str()),
            _ => None,
        };
        if fname == Some("str") && c.arguments.args.len() == 1 && c.arguments.keywords.is_empty() {
            return Ok(Sym::Str(Box::new(self.sym(
                &c.arguments.args[0],
                env,
                d,
            )?)));
        }
        if let Some(cls) = fname.and_then(|n| self.classes.get(n)) {
            return self.construct(cls, c, env, d);
        }
        if let Expr::Attribute(a) = &*c.func {
            let no_kw = c.arguments.keywords.is_empty();
            // `json.dumps(x)` of the notebook's `import json`.
            if a.attr.id.as_str() == "dumps"
                && matches!(&*a.value, Expr::Name(m) if m.id.as_str() == "json" && !env.contains_key("json"))
                && c.arguments.args.len() == 1
                && no_kw
            {
                return Ok(Sym::Json(Box::new(self.sym(
                    &c.arguments.args[0],
                    env,
                    d,
                )?)));
            }
            // `row.asDict()` of a row of the items.
            if a.attr.id.as_str() == "asDict" && c.arguments.args.is_empty() && no_kw {
                let v = self.sym(&a.value, env, d)?;
                if v.depends_on_item() {
                    return Ok(Sym::Method(Box::new(v), "asDict".into()));
                }
            }
        }
        // Any other call: fine when it does not involve local names.
        let s = Sym::Opaque(self.text_of(expr));
        if self.uses_env(expr, env) {
            return Err(format!(
                "`{}` is computed per item by a call bricklint cannot follow",
                self.text_of(expr)
            ));
        }
        Ok(s)
    }

    /// A list comprehension: its base list (filtered by its conditions) and the element per
    /// base item.
    fn sym_comp(
        &self,
        lc: &ast::ExprListComp,
        env: &HashMap<String, Sym>,
        d: usize,
    ) -> Result<Sym, String> {
        let g = &lc.generators[0];
        let base = self.sym(&g.iter, env, d)?;
        let (b, e) = self.base_items(base, d)?;
        let mut env2 = env.clone();
        bind_target(&g.target, e, &mut env2)?;
        let elem = self.sym(&lc.elt, &env2, d)?;
        // The filter becomes part of the base list: `[x for x in base if cond]`.
        let b = match g.ifs.as_slice() {
            [] => b,
            ifs => {
                let conds = ifs
                    .iter()
                    .map(|c| self.sym(c, &env2, d))
                    .collect::<Result<Vec<_>, _>>()?;
                let cond = if conds.len() == 1 {
                    conds.into_iter().next().expect("one condition")
                } else {
                    Sym::Bool(conds, true)
                };
                Sym::Filter(Box::new(b), Box::new(cond))
            }
        };
        Ok(Sym::Comp(Box::new(b), Box::new(elem)))
    }

    fn sym_fstring(
        &self,
        f: &ast::ExprFString,
        env: &HashMap<String, Sym>,
        d: usize,
    ) -> Result<Sym, String> {
        let mut parts = Vec::new();
        for part in f.value.iter() {
            match part {
                ast::FStringPart::Literal(l) => {
                    parts.push(Sym::Const(Value::String(l.value.to_string())))
                }
                ast::FStringPart::FString(fs) => {
                    for el in fs.elements.iter() {
                        match el {
                            ast::InterpolatedStringElement::Literal(l) => {
                                parts.push(Sym::Const(Value::String(l.value.to_string())))
                            }
                            ast::InterpolatedStringElement::Interpolation(i) => {
                                if i.format_spec.is_some() || i.debug_text.is_some() {
                                    return Err("an f-string with a format spec".into());
                                }
                                parts.push(self.sym(&i.expression, env, d)?);
                            }
                        }
                    }
                }
            }
        }
        Ok(Sym::FStr(parts))
    }

    /// Split an items value into (base list, per-base-item element).
    pub fn base_items(&self, s: Sym, depth: usize) -> Result<(Sym, Sym), String> {
        match s {
            Sym::Comp(b, e) => Ok((*b, *e)),
            Sym::Global(ref n) => match self.single.get(n.as_str()) {
                Some(e @ Expr::ListComp(_)) => {
                    let v = self.sym(e, &HashMap::new(), depth + 1)?;
                    self.base_items(v, depth + 1)
                }
                _ => Ok((s, Sym::Item)),
            },
            other => Ok((other, Sym::Item)),
        }
    }

    /// An object of a notebook class: `__init__` parameters bound to the call's arguments,
    /// attributes from `self.<attr> = <expr>` statements.
    fn construct(
        &self,
        cls: &ast::StmtClassDef,
        call: &ast::ExprCall,
        env: &HashMap<String, Sym>,
        d: usize,
    ) -> Result<Sym, String> {
        let name = cls.name.id.to_string();
        let init = cls.body.iter().find_map(|s| match s {
            Stmt::FunctionDef(f) if f.name.id.as_str() == "__init__" => Some(f),
            _ => None,
        });
        let Some(init) = init else {
            return Err(format!("class `{name}` has no `__init__`"));
        };
        let mut local = bind_params(self, &init.parameters, call, env, d, 1)?;
        let self_name = init
            .parameters
            .args
            .first()
            .map(|p| p.parameter.name.id.to_string())
            .unwrap_or_else(|| "self".into());
        let mut attrs = Vec::new();
        for s in &init.body {
            if let Stmt::Assign(a) = s {
                if let [Expr::Attribute(t)] = a.targets.as_slice() {
                    if matches!(&*t.value, Expr::Name(n) if n.id.as_str() == self_name) {
                        let v = self.sym(&a.value, &local, d)?;
                        attrs.push((t.attr.id.to_string(), v));
                    }
                }
            }
        }
        local.clear();
        Ok(Sym::Obj(name, attrs))
    }

    fn uses_env(&self, expr: &Expr, env: &HashMap<String, Sym>) -> bool {
        super::names::loaded_names_expr(expr).iter().any(|n| {
            env.contains_key(n.as_str())
                || !(self.bound.contains(n.as_str()) || is_builtin_global(n))
        })
    }

    pub fn text_of(&self, expr: &Expr) -> String {
        let r = ruff_text_size::Ranged::range(expr);
        self.text
            .get(usize::from(r.start())..usize::from(r.end()))
            .unwrap_or("")
            .to_string()
    }
}

/// Bind a loop or comprehension target to the item: a name, or a tuple of names bound to the
/// item's elements (`for path, args in jobs`).
pub fn bind_target(target: &Expr, elem: Sym, env: &mut HashMap<String, Sym>) -> Result<(), String> {
    match target {
        Expr::Name(n) => {
            env.insert(n.id.to_string(), elem);
            Ok(())
        }
        Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
            for (i, e) in elts.iter().enumerate() {
                let part = Sym::Index(
                    Box::new(elem.clone()),
                    Box::new(Sym::Const(Value::from(i as i64))),
                );
                bind_target(e, part, env)?;
            }
            Ok(())
        }
        _ => Err("a loop target that is not a name or a tuple of names".into()),
    }
}

/// Names always available in a notebook.
pub fn is_builtin_global(n: &str) -> bool {
    matches!(
        n,
        "dbutils"
            | "spark"
            | "sc"
            | "sqlContext"
            | "display"
            | "displayHTML"
            | "json"
            | "os"
            | "len"
            | "range"
            | "list"
            | "dict"
            | "int"
            | "float"
            | "sorted"
            | "print"
            | "open"
            | "enumerate"
            | "zip"
            | "min"
            | "max"
            | "sum"
            | "set"
            | "tuple"
            | "getArgument"
    )
}

/// Bind a function's parameters to a call's arguments (`skip` leading parameters, e.g. `self`).
pub fn bind_params(
    m: &ModuleInfo<'_>,
    params: &ast::Parameters,
    call: &ast::ExprCall,
    env: &HashMap<String, Sym>,
    d: usize,
    skip: usize,
) -> Result<HashMap<String, Sym>, String> {
    let args: Vec<Sym> = call
        .arguments
        .args
        .iter()
        .map(|a| {
            if matches!(a, Expr::Starred(_)) {
                Err("`*args` in a call".to_string())
            } else {
                m.sym(a, env, d)
            }
        })
        .collect::<Result<_, _>>()?;
    let mut kw = Vec::new();
    for k in &call.arguments.keywords {
        match &k.arg {
            Some(n) => kw.push((n.id.to_string(), m.sym(&k.value, env, d)?)),
            None => match m.sym(&k.value, env, d)? {
                Sym::Dict(kv) => {
                    for (k, v) in kv {
                        let Sym::Const(Value::String(k)) = k else {
                            return Err("`**` with non-literal keys".into());
                        };
                        kw.push((k, v));
                    }
                }
                _ => return Err("`**kwargs` in a call".into()),
            },
        }
    }
    bind_values(m, params, args, kw, env, d, skip)
}

/// Bind parameters to already symbolic positional and keyword values.
pub fn bind_values(
    m: &ModuleInfo<'_>,
    params: &ast::Parameters,
    args: Vec<Sym>,
    kw: Vec<(String, Sym)>,
    _env: &HashMap<String, Sym>,
    d: usize,
    skip: usize,
) -> Result<HashMap<String, Sym>, String> {
    let mut out = HashMap::new();
    let positional: Vec<&ast::ParameterWithDefault> = params
        .posonlyargs
        .iter()
        .chain(params.args.iter())
        .skip(skip)
        .collect();
    if args.len() > positional.len() && params.vararg.is_none() {
        return Err("more arguments than parameters".into());
    }
    for (p, a) in positional.iter().zip(args) {
        out.insert(p.parameter.name.id.to_string(), a);
    }
    for (k, v) in kw {
        if positional
            .iter()
            .chain(params.kwonlyargs.iter().collect::<Vec<_>>().iter())
            .any(|p| p.parameter.name.id.as_str() == k)
        {
            out.insert(k, v);
        } else if params.kwarg.is_none() {
            return Err(format!("unknown keyword argument `{k}`"));
        }
    }
    for p in positional.iter().copied().chain(params.kwonlyargs.iter()) {
        let n = p.parameter.name.id.to_string();
        if let std::collections::hash_map::Entry::Vacant(e) = out.entry(n) {
            match &p.default {
                Some(def) => {
                    e.insert(m.sym(def, &HashMap::new(), d)?);
                }
                None => return Err(format!("parameter `{}` is not given", p.parameter.name.id)),
            }
        }
    }
    Ok(out)
}
