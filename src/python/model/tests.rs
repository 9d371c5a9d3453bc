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
