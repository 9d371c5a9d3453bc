//! The interpreter run over whole documents: recorded `dbutils` calls and watched values.

use std::path::Path;

use ruff_python_ast::{visitor::Visitor, Expr};
use ruff_text_size::{Ranged, TextRange};

use super::*;
use crate::source::PythonSource;

fn run(code: &str) -> Vec<Recorded> {
    let py = PythonSource::from_text(code);
    evaluate(&py, Path::new("/nonexistent/nb.py"))
}

fn set_value(code: &str) -> Value {
    let recs = run(code);
    let r = recs
        .iter()
        .find(|r| r.kind == CallKind::TaskValueSet)
        .expect("a set call");
    r.joined("value", 1).expect("a value").0
}

#[test]
fn literal_list_through_names_and_append() {
    let v = set_value(
        "tables = ['a', 'b']\nout = []\nfor t in tables:\n    out.append({'table': t, 'n': 1})\ndbutils.jobs.taskValues.set(key='objs', value=out)\n",
    );
    assert_eq!(
        v.to_json().unwrap(),
        serde_json::json!([{"table": "a", "n": 1}, {"table": "b", "n": 1}])
    );
}

#[test]
fn comprehension_and_range_and_fstring() {
    let v = set_value(
        "tv = dbutils.jobs.taskValues\nn = 3\ntv.set('days', [f'2024-01-{d:02}' if False else f'd{d}' for d in range(1, n + 1)])\n",
    );
    assert_eq!(v.to_json().unwrap(), serde_json::json!(["d1", "d2", "d3"]));
}

#[test]
fn methods_of_known_values() {
    let v = set_value(
        "cfg = {'tables': 'a,b', 'x': 1}\nnames = cfg.get('tables').split(',')\ndbutils.jobs.taskValues.set('k', [n.upper() for n in names] + list(cfg.keys()))\n",
    );
    assert_eq!(
        v.to_json().unwrap(),
        serde_json::json!(["A", "B", "tables", "x"])
    );
    let v = set_value("dbutils.jobs.taskValues.set('k', '-'.join(str(i) for i in range(3)))\n");
    assert_eq!(v, Value::Str("0-1-2".into()));
}

#[test]
fn collect_is_unbounded_and_not_json() {
    let v = set_value(
        "rows = spark.sql('select 1').collect()\ndbutils.jobs.taskValues.set('r', rows)\n",
    );
    assert!(v.unbounded_reason().is_some());
    assert_eq!(v.find_not_json().unwrap().1.what, "Spark Row objects");
    let v = set_value(
        "names = [r.name for r in spark.table('t').collect()]\ndbutils.jobs.taskValues.set('r', names)\n",
    );
    assert!(v.unbounded_reason().is_some());
    assert!(v.find_not_json().is_none());
}

#[test]
fn json_dumps_is_recorded_as_dumped() {
    let recs =
        run("import json\nx = ['a', 'b']\ndbutils.jobs.taskValues.set('k', json.dumps(x))\n");
    let (v, _, direct) = recs[0].joined("value", 1).unwrap();
    assert!(direct);
    match v {
        Value::Dumped { text, .. } => assert_eq!(text.as_deref(), Some("[\"a\", \"b\"]")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn not_json_values() {
    let v = set_value(
        "from datetime import datetime\ndbutils.jobs.taskValues.set('k', {'when': datetime.now()})\n",
    );
    assert_eq!(v.find_not_json().unwrap().1.what, "a datetime");
    let v = set_value("dbutils.jobs.taskValues.set('k', {1, 2})\n");
    assert_eq!(v.find_not_json().unwrap().1.what, "a set");
    let v = set_value("dbutils.jobs.taskValues.set('k', [float('nan')])\n");
    assert_eq!(v.find_not_json().unwrap().1.what, "NaN");
    // A set of known items, sorted into a list, is JSON.
    let v = set_value("dbutils.jobs.taskValues.set('k', sorted(set(['b', 'a', 'b'])))\n");
    assert_eq!(v.to_json().unwrap(), serde_json::json!(["a", "b"]));
}

#[test]
fn limited_collect_is_bounded() {
    let v = set_value(
        "rows = [r.asDict() for r in spark.table('t').limit(50).select('a').collect()]\ndbutils.jobs.taskValues.set('r', rows)\n",
    );
    assert!(v.unbounded_reason().is_none(), "{v:?}");
    let v = set_value("dbutils.jobs.taskValues.set('r', spark.table('t').limit(5).collect())\n");
    assert!(v.unbounded_reason().is_none());
    assert_eq!(v.find_not_json().unwrap().1.what, "Spark Row objects");
}

#[test]
fn unknown_branch_joins() {
    let v = set_value("x = [1]\nif cond:\n    x = [1, 2]\ndbutils.jobs.taskValues.set('k', x)\n");
    assert!(!v.is_known());
    let v = set_value("x = [1]\nif True:\n    x = [1, 2]\ndbutils.jobs.taskValues.set('k', x)\n");
    assert_eq!(v.to_json().unwrap(), serde_json::json!([1, 2]));
    let v = set_value(
        "env = 'dev'\nx = 1\nif env in {'dev', 'test'}:\n    x = 2\ndbutils.jobs.taskValues.set('k', x)\n",
    );
    assert_eq!(v, Value::Int(2));
}

#[test]
fn functions_are_followed() {
    let v = set_value(
        "def build(n, prefix='t'):\n    return [prefix + str(i) for i in range(n)]\n\ndef main():\n    dbutils.jobs.taskValues.set('k', build(2))\n\nif __name__ == '__main__':\n    main()\n",
    );
    assert_eq!(v.to_json().unwrap(), serde_json::json!(["t0", "t1"]));
    // Keyword arguments spread from a known dict.
    let v = set_value(
        "def build(n, prefix):\n    return [prefix + str(i) for i in range(n)]\n\nkw = {'n': 1, 'prefix': 'p'}\ndbutils.jobs.taskValues.set('k', build(**kw))\n",
    );
    assert_eq!(v.to_json().unwrap(), serde_json::json!(["p0"]));
    // Never called: analysed with unknown parameters.
    let recs = run("def f(x):\n    dbutils.jobs.taskValues.set('k', x)\n");
    assert_eq!(recs.len(), 1);
    assert!(!recs[0].reached);
}

#[test]
fn dbutils_passed_as_parameter_is_resolved_by_the_model() {
    let recs = run(
        "class Job:\n    def __init__(self, dbutils):\n        self._dbutils = dbutils\n\n    def publish(self, items):\n        self._dbutils.jobs.taskValues.set('items', items)\n\nJob(dbutils).publish(['a'])\n",
    );
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0].kind, CallKind::TaskValueSet);
}

#[test]
fn large_append_loops_are_evaluated_exactly() {
    let v = set_value(
        "o = []\nfor i in range(20000):\n    o.append({'t': 'x'})\ndbutils.jobs.taskValues.set('k', o)\n",
    );
    assert_eq!(v.size().exact, Some(2 + 20000 * 9 + 19999));
}

#[test]
fn widgets_are_recorded() {
    let recs =
        run("w = dbutils.widgets\nw.text('a', '')\nx = w.get('a')\ny = getArgument('b', 'd')\n");
    let kinds: Vec<_> = recs.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        vec![
            CallKind::WidgetDefine("text"),
            CallKind::WidgetGet,
            CallKind::GetArgument
        ]
    );
    // A method chained on a widget read reaches the call once.
    let recs = run("x = dbutils.widgets.get('a').strip().lower()\n");
    assert_eq!(recs[0].observations.len(), 1);
}

#[test]
fn loop_with_unknown_iterations_is_dynamic() {
    let v = set_value(
        "out = []\nfor r in df.collect():\n    out.append(r.x)\ndbutils.jobs.taskValues.set('k', out)\n",
    );
    // df is unknown here, so collect on it is still recognised as unbounded.
    assert!(v.unbounded_reason().is_some(), "{v:?}");
    let v = set_value(
        "out = []\nwhile more():\n    out.append(1)\ndbutils.jobs.taskValues.set('k', out)\n",
    );
    assert!(!v.is_known());
    assert!(v.unbounded_reason().is_none());
}

/// The range of the first list display of a source.
fn first_list(py: &PythonSource) -> TextRange {
    struct Find(Option<TextRange>);
    impl<'a> Visitor<'a> for Find {
        fn visit_expr(&mut self, e: &'a Expr) {
            if self.0.is_none() && matches!(e, Expr::List(_)) {
                self.0 = Some(e.range());
            }
            ruff_python_ast::visitor::walk_expr(self, e);
        }
    }
    let mut f = Find(None);
    f.visit_body(&py.module().body);
    f.0.expect("a list")
}

#[test]
fn watched_expressions_are_joined_over_every_evaluation() {
    let py = PythonSource::from_text("for i in range(2):\n    x = [i]\n");
    let watched = first_list(&py);
    let v = values_at(
        &py,
        Path::new("/nonexistent/nb.py"),
        &[watched, TextRange::default()],
    );
    assert_eq!(v[1], None);
    assert!(matches!(v[0], Some(Value::Dynamic { .. })), "{v:?}");
    let py = PythonSource::from_text("n = 'a'\nwork = [n + '1', n + '2']\n");
    let v = values_at(&py, Path::new("/nonexistent/nb.py"), &[first_list(&py)]);
    assert_eq!(
        v[0].as_ref().and_then(Value::to_json),
        Some(serde_json::json!(["a1", "a2"]))
    );
}

#[test]
fn one_item_of_unbounded_rows_is_bounded() {
    let bounded = |code: &str| set_value(code).unbounded_reason().is_none();
    assert!(bounded(
        "dbutils.jobs.taskValues.set('k', spark.table('t').collect()[0][0])\n"
    ));
    assert!(bounded(
        "rows = dbutils.fs.ls('/x')\ndbutils.jobs.taskValues.set('k', rows[-1].path)\n"
    ));
    assert!(bounded(
        "p = spark.table('t').toPandas()\ndbutils.jobs.taskValues.set('k', p['n'].max())\n"
    ));
    // A column, all rows, or their text stay unbounded; so does a part of an unbounded file.
    assert!(!bounded(
        "p = spark.table('t').toPandas()\ndbutils.jobs.taskValues.set('k', p['n'].tolist())\n"
    ));
    assert!(!bounded(
        "dbutils.jobs.taskValues.set('k', str(spark.table('t').collect()))\n"
    ));
    assert!(!bounded(
        "import json\nd = json.load(open('/dbfs/big.json'))\ndbutils.jobs.taskValues.set('k', d[0])\n"
    ));
}

#[test]
fn loop_carried_variables_are_not_their_first_value() {
    let recs =
        run("i = 0\nwhile more():\n    dbutils.jobs.taskValues.set(f'k_{i}', 1)\n    i += 1\n");
    assert!(!recs[0].joined("key", 0).unwrap().0.is_known());
    let recs = run(
        "n = 0\nfor r in rows():\n    n = n + 1\n    dbutils.jobs.taskValues.set(f'k_{n}', 1)\n",
    );
    assert!(!recs[0].joined("key", 0).unwrap().0.is_known());
    // Assigned before it is read on every iteration: still known.
    let recs = run("for r in rows():\n    k = 'fixed'\n    dbutils.jobs.taskValues.set(k, r)\n");
    assert_eq!(
        recs[0].joined("key", 0).unwrap().0,
        Value::Str("fixed".into())
    );
    // A string accumulated over the rows of a DataFrame is unbounded.
    let v = set_value("s = ''\nfor r in spark.table('t').collect():\n    s = s + r.x\ndbutils.jobs.taskValues.set('k', s)\n");
    assert!(v.unbounded_reason().is_some(), "{v:?}");
}
