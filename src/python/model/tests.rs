use super::*;
use ruff_python_ast::Stmt;

fn model_of(code: &str) -> (PythonSource, Vec<String>) {
    let py = PythonSource::from_text(code);
    let names = {
        let m = Model::build(&py);
        m.dbutils_calls()
            .iter()
            .map(|c| c.path.join("."))
            .collect::<Vec<_>>()
    };
    (py, names)
}

#[test]
fn dbutils_aliases() {
    let code = r#"
from databricks.sdk.runtime import dbutils as du
from pyspark.dbutils import DBUtils
d2 = DBUtils(spark)
def helper(x, utils):
    utils.notebook.run("a", 0)
helper(1, dbutils)
class R:
    def __init__(self, dbutils):
        self.__dbutils = dbutils
    def go(self):
        self.__dbutils.jobs.taskValues.set("k", 1)
def f(params):
    params["dbutils"].widgets.get("x")
du.notebook.exit("x")
d2.fs.ls("/")
get_dbutils(spark).notebook.run("b", 0)
notebookutils.notebook.run("c", 0)
mssparkutils.notebook.run("d", 0)
"#;
    let (_, names) = model_of(code);
    assert_eq!(
        names,
        vec![
            "notebook.run",
            "jobs.taskValues.set",
            "widgets.get",
            "notebook.exit",
            "fs.ls",
            "notebook.run"
        ]
    );
}

#[test]
fn qualnames_and_pools() {
    let code = "import concurrent.futures as cf\nfrom multiprocessing.pool import ThreadPool as TP\np = TP(4)\nwith cf.ThreadPoolExecutor(max_workers=3) as ex:\n    pass\nq = Pool(3)\n";
    let py = PythonSource::from_text(code);
    let m = Model::build(&py);
    let body = &py.module().body;
    let Stmt::Assign(a) = &body[2] else { panic!() };
    let p = m.pool_of(&a.targets[0], MODULE_SCOPE).unwrap();
    assert_eq!(p.kind, PoolKind::ThreadPool);
    let ex = m
        .lookup(MODULE_SCOPE, "ex")
        .first()
        .map(|&b| m.bindings[b].kind);
    assert!(matches!(ex, Some(BindingKind::With(_))));
    let Stmt::Assign(q) = &body[4] else { panic!() };
    // `Pool` is not imported: not a pool.
    assert!(m.pool_of(&q.targets[0], MODULE_SCOPE).is_none());
}

#[test]
fn callables_partial_factory_method() {
    let code = r#"
import functools
def run(p):
    return dbutils.notebook.run(p, 0)
def factory(nb):
    def inner(x):
        return run(nb)
    return inner
class C:
    def a(self):
        return self.b
    def b(self):
        pass
w1 = functools.partial(run, 1)
w2 = factory("x")
w3 = lambda p: run(p)
"#;
    let py = PythonSource::from_text(code);
    let m = Model::build(&py);
    let get = |name: &str| {
        let b = m.lookup(MODULE_SCOPE, name)[0];
        let BindingKind::Assign(v) = m.bindings[b].kind else {
            panic!()
        };
        m.callables(v, MODULE_SCOPE)
            .into_iter()
            .map(|r| match r {
                CallRef::Func(f) => m.functions[f].qualname.clone(),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(get("w1"), vec!["run"]);
    assert_eq!(get("w2"), vec!["factory.inner"]);
    assert_eq!(get("w3"), vec!["<lambda>"]);
}

/// The value of the last expression statement of `code`, through [`Model::values`].
fn values_of_last(code: &str) -> Option<Vec<String>> {
    let py = PythonSource::from_text(code);
    let m = Model::build(&py);
    let Some(Stmt::Expr(e)) = py.module().body.last() else {
        panic!("no expression statement")
    };
    let scope = m.scope_at(e.value.range().start());
    m.values(&e.value, scope).map(|vs| {
        vs.iter()
            .map(|v| v.as_str().map_or_else(|| format!("{v:?}"), str::to_string))
            .collect()
    })
}

#[test]
fn values_through_loops_rebinding_and_branches() {
    let code = "base = '../p'\nbase = f'{base}/b/'\nfor n in ['x', 'y']:\n    pass\nbase + n\n";
    assert_eq!(
        values_of_last(code),
        Some(vec!["../p/b/x".to_string(), "../p/b/y".to_string()])
    );
    let code = "p = ''\nif c:\n    p = './r/'\np + 'load'\n";
    let mut v = values_of_last(code).unwrap();
    v.sort();
    assert_eq!(v, ["./r/load", "load"]);
    // A branch that may give an unknown value: nothing is known.
    let code = "p = ''\nif c:\n    p = dbutils.widgets.get('x')\np + 'load'\n";
    assert_eq!(values_of_last(code), None);
}

#[test]
fn origins_through_constructors_items_and_calls() {
    let code = r#"
class Child:
    def __init__(self, path, timeout=60):
        self.path = path
        self.timeout = timeout
def start(c, nb, step, width):
    c.timeout
    nb[1]
    step["timeout"]
    width
start(Child("a", 0), ["a", 5, {}], {"timeout": -1}, 3)
start(Child("b"), ["b", 7], {"timeout": 9}, width=4)
"#;
    let py = PythonSource::from_text(code);
    let m = Model::build(&py);
    let Some(Stmt::FunctionDef(f)) = py.module().body.get(1) else {
        panic!()
    };
    let got: Vec<Vec<String>> = f
        .body
        .iter()
        .map(|s| {
            let Stmt::Expr(e) = s else { panic!() };
            let scope = m.scope_at(e.value.range().start());
            let mut o: Vec<String> = m
                .origins(&e.value, scope)
                .unwrap()
                .iter()
                .map(|(x, _)| py.slice(*x).to_string())
                .collect();
            o.sort();
            o
        })
        .collect();
    assert_eq!(
        got,
        [
            vec!["0", "60"],
            vec!["5", "7"],
            vec!["-1", "9"],
            vec!["3", "4"]
        ]
    );
}

#[test]
fn origins_of_self_referencing_code_end() {
    // Loops over themselves, items of themselves, attributes of recursive constructions and
    // recursive calls: every query ends (no stack overflow) within its budget.
    let code = r#"
for n in n:
    n[1]
x = x[0]
x.t
class C:
    def __init__(self, t):
        self.t = C(t).t
C(1).t
def g(p):
    g(p.t)
    p.t
for q in [q for q in q]:
    q[0]
y = [y, y]
y[0][1][0][1]
"#;
    let py = PythonSource::from_text(code);
    let m = Model::build(&py);
    use ruff_python_ast::visitor::{walk_expr, Visitor};
    struct All<'a>(Vec<&'a ruff_python_ast::Expr>);
    impl<'a> Visitor<'a> for All<'a> {
        fn visit_expr(&mut self, e: &'a ruff_python_ast::Expr) {
            self.0.push(e);
            walk_expr(self, e);
        }
    }
    let mut all = All(Vec::new());
    all.visit_body(&py.module().body);
    assert!(all.0.len() > 30);
    for e in all.0 {
        let scope = m.scope_at(e.range().start());
        let _ = m.origins(e, scope);
        let _ = m.values(e, scope);
    }
}
