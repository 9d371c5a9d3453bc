//! Literal evaluation: the value of one expression fixed by the source alone, for rules that
//! need notebook paths, timeouts, `arguments` maps, pool sizes and the lists a fan-out iterates
//! over. It is the interpreter run with no statement: names are resolved through an [`Env`]
//! (the semantic model binds a name assigned exactly once to its value; [`NoEnv`] binds
//! nothing), and the result is kept only when it is data known in full.

use ruff_python_ast::Expr;

use super::interp::Interp;
use super::syntax::Env;
use super::Value;

/// Evaluate `expr` statically. `None` when the value is not data known from the source alone.
pub fn eval<'a>(expr: &'a Expr, env: &dyn Env<'a>) -> Option<Value> {
    let v = Interp::literal(env).eval(expr);
    v.is_known().then_some(v)
}

/// Evaluate `expr` with some names bound to values first (a loop variable to one of its
/// items): those names are not looked up in `env`.
pub fn eval_bound<'a>(expr: &'a Expr, env: &dyn Env<'a>, vars: &[(&str, Value)]) -> Option<Value> {
    let mut it = Interp::literal(env);
    for (name, v) in vars {
        it.set_var(name, v.clone());
    }
    let v = it.eval(expr);
    v.is_known().then_some(v)
}

/// Evaluate an integer (booleans count as 0/1).
pub fn eval_int<'a>(expr: &'a Expr, env: &dyn Env<'a>) -> Option<i64> {
    eval(expr, env)?.as_int()
}

/// Evaluate a string.
pub fn eval_str<'a>(expr: &'a Expr, env: &dyn Env<'a>) -> Option<String> {
    match eval(expr, env)? {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

/// Longest chain of names [`upper_bound`] follows.
const MAX_BOUND_DEPTH: u32 = 24;

/// An upper bound of an integer expression: like [`eval_int`], but `min(a, b)` is bounded
/// when any of its arguments is (`min(len(xs), 8)` is at most 8).
pub fn upper_bound<'a>(expr: &'a Expr, env: &dyn Env<'a>) -> Option<i64> {
    upper_bound_at(expr, env, 0)
}

fn upper_bound_at<'a>(expr: &'a Expr, env: &dyn Env<'a>, depth: u32) -> Option<i64> {
    if depth > MAX_BOUND_DEPTH {
        return None;
    }
    if let Some(i) = eval_int(expr, env) {
        return Some(i);
    }
    match expr {
        Expr::Call(call) => match &*call.func {
            Expr::Name(n) if n.id.as_str() == "min" && call.arguments.keywords.is_empty() => call
                .arguments
                .args
                .iter()
                .filter_map(|a| upper_bound_at(a, env, depth + 1))
                .min(),
            _ => None,
        },
        Expr::Name(n) => {
            let e = env.lookup(n)?;
            (!std::ptr::eq(e, expr)).then(|| upper_bound_at(e, env, depth + 1))?
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::value::NoEnv;
    use crate::source::PythonSource;
    use ruff_python_ast as ast;

    fn with_expr<T>(code: &str, f: impl FnOnce(&Expr) -> T) -> T {
        let py = PythonSource::from_text(&format!("x = {code}\n"));
        let ruff_python_ast::Stmt::Assign(a) = &py.module().body[0] else {
            panic!("not an assignment")
        };
        f(&a.value)
    }

    fn ev(code: &str) -> Option<Value> {
        with_expr(code, |e| eval(e, &NoEnv))
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
        assert_eq!(ev("f'{1:>3}'"), Some(Value::Str("  1".into())));
        assert_eq!(ev("f'{7:0{2}d}'"), Some(Value::Str("07".into())));
        assert_eq!(ev("f'{1!r}'"), Some(Value::Str("1".into())));
        assert_eq!(ev("f\"{'a'!r}\""), None);
        assert_eq!(ev("f'{1=}'"), None);
        assert_eq!(ev("f'{1:e}'"), None);
        assert_eq!(ev("foo()"), None);
        assert_eq!(ev("[1, foo()]"), None);
        assert_eq!(ev("dbutils.widgets.get('a')"), None);
        assert_eq!(ev("spark.table('t').collect()"), None);
    }

    #[test]
    fn dicts_and_calls() {
        // Python keeps a repeated key where it was first inserted.
        let v = ev("{**{'a': '1'}, 'b': 2, 'a': '3'}").unwrap();
        assert_eq!(v.to_json_text().as_deref(), Some(r#"{"a":"3","b":2}"#));
        assert_eq!(ev("len([1, 2, 3])"), Some(Value::Int(3)));
        assert_eq!(ev("min(4, 2)"), Some(Value::Int(2)));
        assert_eq!(ev("max([4, 2.5])"), Some(Value::Int(4)));
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
            ev("dict(a='x', b=1)").unwrap().to_json_text().as_deref(),
            Some(r#"{"a":"x","b":1}"#)
        );
        assert_eq!(ev("'{}/{}'.format('a', 1)"), Some(Value::Str("a/1".into())));
        assert_eq!(ev("range(10**9)"), None);
        assert_eq!(ev("str(*['a'])"), Some(Value::Str("a".into())));
        assert_eq!(ev("str(*xs)"), None);
        // Sets are data (their items known), not JSON.
        let s = ev("{'a', 'b', 'a'}").unwrap();
        assert_eq!(s.as_seq().map(<[Value]>::len), Some(2));
        assert_eq!(s.to_json(), None);
        // Comprehensions and subscripts of known values.
        assert_eq!(
            ev("[f'nb_{i}' for i in range(2)][1]"),
            Some(Value::Str("nb_1".into()))
        );
    }

    #[test]
    fn upper_bounds() {
        with_expr("min(len(items), 8)", |e| {
            assert_eq!(upper_bound(e, &NoEnv), Some(8));
            assert_eq!(eval_int(e, &NoEnv), None);
        });
    }

    /// Names resolve through the environment, with cycles and long chains cut.
    #[test]
    fn names_through_an_environment() {
        struct Bindings<'a>(Vec<(&'a str, &'a Expr)>);
        impl<'a> Env<'a> for Bindings<'a> {
            fn lookup(&self, name: &ast::ExprName) -> Option<&'a Expr> {
                self.0
                    .iter()
                    .find(|(n, _)| *n == name.id.as_str())
                    .map(|(_, e)| *e)
            }
        }
        let py = PythonSource::from_text(
            "a = 'x'\nb = a + 'y'\nc = d\nd = c\nout = [b, len(b)]\nloop = c\n",
        );
        let mut env = Bindings(Vec::new());
        for s in &py.module().body {
            let ruff_python_ast::Stmt::Assign(a) = s else {
                panic!()
            };
            let Expr::Name(n) = &a.targets[0] else {
                panic!()
            };
            env.0.push((n.id.as_str(), &a.value));
        }
        let value_of = |name: &str| {
            let e = env.0.iter().find(|(n, _)| *n == name).unwrap().1;
            eval(e, &env)
        };
        assert_eq!(
            value_of("out"),
            Some(Value::List(vec![Value::Str("xy".into()), Value::Int(2)]))
        );
        assert_eq!(value_of("loop"), None);
        assert_eq!(
            upper_bound(env.0.iter().find(|(n, _)| *n == "loop").unwrap().1, &env),
            None
        );
    }
}
