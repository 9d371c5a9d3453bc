//! Unit tests of the planner, on notebooks loaded as `check` loads them.

use super::*;
use crate::migrate::plan::FanOutKind;

/// Plan `src` as `orch.py` in a temp folder holding a `child.py` and `other.py`, from
/// the facts `check` computes.
fn plan_src(src: &str, to: TargetShape) -> Planned {
    try_plan(src, to).expect("a fan-out")
}

fn try_plan(src: &str, to: TargetShape) -> Option<Planned> {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().to_path_buf();
    for c in ["child.py", "other.py"] {
        std::fs::write(dir.join(c), "# Databricks notebook source\n").unwrap();
    }
    let path = dir.join("orch.py");
    std::fs::write(&path, format!("# Databricks notebook source\n{src}")).unwrap();
    let (project, _, _) = crate::engine::load_project(&crate::engine::CheckOptions {
        paths: vec![dir.clone()],
        ..Default::default()
    })
    .unwrap();
    let doc = project
        .documents
        .iter()
        .find(|d| *d.path == path)
        .expect("orch.py is loaded")
        .clone();
    let facts = crate::migrate::sites::facts_of(&project, &doc);
    let opts = PlanOptions {
        to,
        ..Default::default()
    };
    let p = plan_document(&doc, &dir, "orch", &opts, &facts);
    drop(t);
    p
}

#[test]
fn fan_outs_the_planner_cannot_rewrite_are_refused_with_their_line() {
    let src = "import threading\nts = [threading.Thread(target=dbutils.notebook.run, args=('./child', 0)) for _ in range(2)]\n";
    let p = plan_src(src, TargetShape::Auto);
    assert!(p.plan.fanouts.is_empty());
    assert_eq!(p.plan.refusals.len(), 1, "{:?}", p.plan.refusals);
    assert_eq!(p.plan.refusals[0].line, 3);
    assert!(
        p.plan.refusals[0]
            .reason
            .starts_with("thread (`Thread`): not a shape"),
        "{:?}",
        p.plan.refusals
    );
    // A loop inside the worker, which the rewrite removes, does not block.
    let src = format!(
        "{POOL}def w(t):\n    for a in range(2):\n        dbutils.notebook.run('./child', 0, {{'t': t}})\nwith ThreadPoolExecutor(2) as ex:\n    ex.map(w, ['x'])\n"
    );
    let p = plan_src(&src, TargetShape::Auto);
    assert!(p.plan.refusals.is_empty(), "{:?}", p.plan.refusals);
    assert_eq!(p.plan.fanouts.len(), 1);
}

#[test]
fn only_what_check_reports_is_a_candidate() {
    // A fan-out in a function the notebook never calls: refused with that reason.
    let r = refusal(&format!(
        "{POOL}def go(items):\n    with ThreadPoolExecutor(2) as ex:\n        ex.map(lambda x: dbutils.notebook.run('./child', 0, {{'t': x}}), items)\n"
    ));
    assert!(
        r.contains("inside function `go`, which this notebook does not call"),
        "{r}"
    );
}
fn refusal(src: &str) -> String {
    let p = plan_src(src, TargetShape::Auto);
    assert!(p.plan.fanouts.is_empty(), "{:?}", p.plan.fanouts);
    assert!(p.edits.is_empty());
    p.plan
        .refusals
        .iter()
        .map(|r| r.reason.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

const POOL: &str = "from concurrent.futures import ThreadPoolExecutor\n";

#[test]
fn pools_without_notebook_runs_are_not_reported() {
    let src = format!("{POOL}# not a notebook fan-out\nwith ThreadPoolExecutor(4) as ex:\n    ex.map(lambda t: spark.sql(f'OPTIMIZE {{t}}'), ['a'])\nprint('done')\n");
    assert!(try_plan(&src, TargetShape::Auto).is_none());
}

#[test]
fn tuple_targets_bind_item_elements() {
    let p = plan_src(
        &format!(
            "{POOL}jobs = [('./child', {{'x': '1'}}), ('./other', {{'x': '2'}})]\nwith ThreadPoolExecutor(2) as ex:\n    futs = [ex.submit(dbutils.notebook.run, path, 60, args) for path, args in jobs]\n"
        ),
        TargetShape::Auto,
    );
    let FanOutKind::Tasks(ts) = &p.plan.fanouts[0].kind else {
        panic!("{:?}", p.plan)
    };
    assert_eq!(ts[0].parameters, vec![("x".to_string(), "1".to_string())]);
    assert_eq!(ts[1].parameters, vec![("x".to_string(), "2".to_string())]);
    assert!(ts[1].notebook.ends_with("other.py"));
}

#[test]
fn partial_workers_are_followed() {
    let p = plan_src(
        &format!(
            "{POOL}from functools import partial\ndef run(env, table, timeout=60):\n    return dbutils.notebook.run('./child', timeout, {{'env': env, 'table': table}})\nwith ThreadPoolExecutor(3) as ex:\n    ex.map(partial(run, 'prod', timeout=120), ['a', 'b'])\n"
        ),
        TargetShape::Auto,
    );
    let FanOutKind::ForEach(fe) = &p.plan.fanouts[0].kind else {
        panic!("{:?}", p.plan)
    };
    assert_eq!(fe.timeout_seconds, Some(120));
    assert_eq!(
        fe.parameters,
        vec![
            ("table".into(), ParamValue::Input),
            ("env".into(), ParamValue::Literal("prod".into())),
        ]
    );
    assert!(
        p.edits.iter().any(|e| e.code.is_empty()),
        "the import of partial goes too"
    );
}

#[test]
fn sequential_comprehensions_become_for_each_with_concurrency_one() {
    let p = plan_src(
        "days = ['mon', 'tue']\n[dbutils.notebook.run('./child', 60, {'day': d}) for d in days]\n",
        TargetShape::Auto,
    );
    assert!(p.plan.refusals.is_empty(), "{:?}", p.plan.refusals);
    let FanOutKind::ForEach(fe) = &p.plan.fanouts[0].kind else {
        panic!("{:?}", p.plan)
    };
    assert_eq!(fe.concurrency, 1);
    assert_eq!(p.plan.fanouts[0].dispatch, "comprehension");
    // A comprehension whose results are used later is refused.
    let r = refusal("out = [dbutils.notebook.run('./child', 60) for d in ['a']]\nprint(len(out))\nspark.sql('x')\n");
    assert!(!r.is_empty());
}

#[test]
fn results_used_later_are_refused() {
    let r = refusal(&format!(
        "{POOL}t = ['a']\nwith ThreadPoolExecutor(2) as ex:\n    res = list(ex.map(lambda x: dbutils.notebook.run('./child', 0, {{'t': x}}), t))\ndf = spark.createDataFrame(res)\n"
    ));
    assert!(r.contains("results are used"), "{r}");
}

#[test]
fn work_after_the_fan_out_is_refused() {
    let r = refusal(&format!(
        "{POOL}t = ['a']\nwith ThreadPoolExecutor(2) as ex:\n    ex.map(lambda x: dbutils.notebook.run('./child', 0, {{'t': x}}), t)\nspark.sql('OPTIMIZE x')\n"
    ));
    assert!(r.contains("code after the fan-out"), "{r}");
}

#[test]
fn pool_block_with_other_work_is_refused() {
    let r = refusal(&format!(
        "{POOL}t = ['a']\nwith ThreadPoolExecutor(2) as ex:\n    spark.sql('SELECT 1')\n    ex.map(lambda x: dbutils.notebook.run('./child', 0, {{'t': x}}), t)\n"
    ));
    assert!(r.contains("does other work"), "{r}");
}

#[test]
fn missing_child_and_workspace_paths_are_refused() {
    let r = refusal(&format!(
        "{POOL}with ThreadPoolExecutor(2) as ex:\n    ex.map(lambda x: dbutils.notebook.run('./missing', 0, {{'t': x}}), ['a'])\n"
    ));
    assert!(r.contains("not a file of this repository"), "{r}");
    let r = refusal(&format!(
        "{POOL}with ThreadPoolExecutor(2) as ex:\n    ex.map(lambda x: dbutils.notebook.run('/Shared/x', 0, {{'t': x}}), ['a'])\n"
    ));
    assert!(r.contains("workspace path"), "{r}");
}

#[test]
fn different_notebooks_per_item_need_tasks() {
    let src = format!(
        "{POOL}with ThreadPoolExecutor(2) as ex:\n    ex.map(lambda p: dbutils.notebook.run(p, 60), ['./child', './other'])\n"
    );
    let p = plan_src(&src, TargetShape::Auto);
    match &p.plan.fanouts[0].kind {
        FanOutKind::Tasks(ts) => {
            let keys: Vec<&str> = ts.iter().map(|t| t.task_key.as_str()).collect();
            assert_eq!(keys, ["child", "other"]);
            assert_eq!(ts[0].timeout_seconds, Some(60));
        }
        k => panic!("{k:?}"),
    }
    let p = plan_src(&src, TargetShape::ForEach);
    assert!(p.plan.refusals[0].reason.contains("--to tasks"));
}

#[test]
fn arguments_map_to_input_fields_and_literals() {
    let p = plan_src(
        &format!(
            "{POOL}ENV = 'prod'\nitems = [{{'n': 'a', 'k': 1}}, {{'n': 'b', 'k': 2}}]\ndef w(it):\n    args = {{'name': it['n'], 'key': it['k'], 'env': ENV}}\n    return dbutils.notebook.run('child', 30, args)\nwith ThreadPoolExecutor(max_workers=200) as ex:\n    for it in items:\n        ex.submit(w, it)\n"
        ),
        TargetShape::Auto,
    );
    let FanOutKind::ForEach(fe) = &p.plan.fanouts[0].kind else {
        panic!()
    };
    assert_eq!(fe.concurrency, 100);
    assert_eq!(
        fe.parameters,
        vec![
            ("name".into(), ParamValue::InputField("name".into())),
            ("key".into(), ParamValue::InputField("key".into())),
            ("env".into(), ParamValue::Literal("prod".into())),
        ]
    );
    // Values become strings, as notebook.run needed.
    assert_eq!(
        fe.items.values,
        Some(vec![
            serde_json::json!({"name": "a", "key": "1"}),
            serde_json::json!({"name": "b", "key": "2"}),
        ])
    );
    assert_eq!(
        fe.items.producer_expr,
        "[{\"name\": str(item[\"n\"]), \"key\": str(item[\"k\"])} for item in items]"
    );
}

#[test]
fn large_static_inputs_use_the_producer_and_huge_ones_are_refused() {
    let items: Vec<String> = (0..1500).map(|i| format!("'table_{i:06}'")).collect();
    let p = plan_src(
        &format!(
            "{POOL}t = [{}]\nwith ThreadPoolExecutor(4) as ex:\n    ex.map(lambda x: dbutils.notebook.run('./child', 0, {{'t': x}}), t)\n",
            items.join(", ")
        ),
        TargetShape::Auto,
    );
    let FanOutKind::ForEach(fe) = &p.plan.fanouts[0].kind else {
        panic!()
    };
    assert!(crate::migrate::yaml::inline_inputs(fe).is_none());
    assert!(p
        .edits
        .iter()
        .any(|e| e.code.iter().any(
            |c| c.starts_with("dbutils.jobs.taskValues.set(key=\"run_child_inputs\", value=t)")
        )));
    let items: Vec<String> = (0..5000).map(|i| format!("'table_{i:06}'")).collect();
    let r = refusal(&format!(
        "{POOL}t = [{}]\nwith ThreadPoolExecutor(4) as ex:\n    ex.map(lambda x: dbutils.notebook.run('./child', 0, {{'t': x}}), t)\n",
        items.join(", ")
    ));
    assert!(r.contains("48 KiB"), "{r}");
}

#[test]
fn filtered_comprehensions_filter_the_items() {
    let p = plan_src(
        &format!(
            "{POOL}cs = [{{'t': 'a', 'on': True}}, {{'t': 'b', 'on': False}}, {{'t': 'c', 'on': 1}}]\nwith ThreadPoolExecutor(2) as ex:\n    ex.map(lambda c: dbutils.notebook.run('./child', 0, {{'t': c['t']}}), [c for c in cs if c['on'] and c['t'] != 'z'])\n"
        ),
        TargetShape::Auto,
    );
    let FanOutKind::ForEach(fe) = &p.plan.fanouts[0].kind else {
        panic!("{:?}", p.plan)
    };
    assert_eq!(
        fe.items.values,
        Some(vec![serde_json::json!("a"), serde_json::json!("c")])
    );
    assert_eq!(
        fe.items.producer_expr,
        "[str(item[\"t\"]) for item in [item for item in cs if (item[\"on\"] and (item[\"t\"] != \"z\"))]]"
    );
    // A sequential comprehension with a filter too.
    let p = plan_src(
        "days = ['mon', 'sat']\n[dbutils.notebook.run('./child', 60, {'day': d}) for d in days if d != 'sat']\n",
        TargetShape::Auto,
    );
    let FanOutKind::ForEach(fe) = &p.plan.fanouts[0].kind else {
        panic!("{:?}", p.plan)
    };
    assert_eq!(fe.items.values, Some(vec![serde_json::json!("mon")]));
}

#[test]
fn json_dumps_arguments_are_computed_per_item() {
    let p = plan_src(
        &format!(
            "import json\n{POOL}cs = [{{'t': 'a', 'n': 1}}, {{'t': 'é', 'n': 2}}]\nwith ThreadPoolExecutor(2) as ex:\n    ex.map(lambda c: dbutils.notebook.run('./child', 0, {{'cfg': json.dumps(c)}}), cs)\n"
        ),
        TargetShape::Auto,
    );
    let FanOutKind::ForEach(fe) = &p.plan.fanouts[0].kind else {
        panic!("{:?}", p.plan)
    };
    assert_eq!(fe.parameters, vec![("cfg".into(), ParamValue::Input)]);
    // Exactly the text Python's json.dumps writes.
    assert_eq!(
        fe.items.values,
        Some(vec![
            serde_json::json!("{\"t\": \"a\", \"n\": 1}"),
            serde_json::json!("{\"t\": \"\\u00e9\", \"n\": 2}"),
        ])
    );
    assert_eq!(fe.items.producer_expr, "[json.dumps(item) for item in cs]");
}

#[test]
fn lambdas_bound_to_a_name_are_followed_and_removed() {
    let p = plan_src(
        &format!(
            "{POOL}ts = ['a', 'b']\nrun = lambda t: dbutils.notebook.run('./child', 60, {{'t': t}})\nwith ThreadPoolExecutor(2) as ex:\n    ex.map(run, ts)\n"
        ),
        TargetShape::Auto,
    );
    assert!(p.plan.refusals.is_empty(), "{:?}", p.plan.refusals);
    assert!(!p.keep_producer, "nothing is left in the notebook");
    assert_eq!(p.edits.len(), 4, "{:?}", p.edits);
}

#[test]
fn arguments_built_in_the_loop_body_are_followed() {
    let p = plan_src(
        &format!(
            "{POOL}ts = ['a', 'b']\nwith ThreadPoolExecutor(2) as ex:\n    fs = []\n    for t in ts:\n        args = {{'t': t, 'full': f'x.{{t}}'}}\n        fs.append(ex.submit(dbutils.notebook.run, './child', 60, args))\n"
        ),
        TargetShape::Auto,
    );
    let FanOutKind::ForEach(fe) = &p.plan.fanouts[0].kind else {
        panic!("{:?}", p.plan)
    };
    assert_eq!(
        fe.items.values,
        Some(vec![
            serde_json::json!({"t": "a", "full": "x.a"}),
            serde_json::json!({"t": "b", "full": "x.b"}),
        ])
    );
    // A name the dispatch uses that cannot be followed: the refusal says which and where.
    let r = refusal(&format!(
        "{POOL}ts = ['a']\nwith ThreadPoolExecutor(2) as ex:\n    for t in ts:\n        args = spark.sql(f'select {{t}}').first().asDict()\n        ex.submit(dbutils.notebook.run, './child', 60, args)\n"
    ));
    assert!(r.contains("`args` (line 6) cannot be followed"), "{r}");
    // Other work in the loop body would be lost with the loop: refused, naming the line.
    let r = refusal(&format!(
        "{POOL}ts = ['a']\nwith ThreadPoolExecutor(2) as ex:\n    for t in ts:\n        spark.sql(f'select {{t}}')\n        ex.submit(dbutils.notebook.run, './child', 60, {{'t': t}})\n"
    ));
    assert!(
        r.contains("the loop does more than submit the notebook runs (line 6)"),
        "{r}"
    );
}

#[test]
fn rows_as_dicts_are_produced_at_run_time() {
    let p = plan_src(
        &format!(
            "{POOL}lst = [r.asDict() for r in spark.table('ops.configs').collect()]\ndef run(o):\n    return dbutils.notebook.run('./child', 60, {{'t': o['t'], 'm': o['m']}})\nwith ThreadPoolExecutor(8) as ex:\n    ex.map(run, lst)\n"
        ),
        TargetShape::Auto,
    );
    let FanOutKind::ForEach(fe) = &p.plan.fanouts[0].kind else {
        panic!("{:?}", p.plan)
    };
    assert_eq!(fe.items.source, ItemsSource::Dynamic);
    assert_eq!(
        fe.items.producer_expr,
        "[{\"t\": str(item.asDict()[\"t\"]), \"m\": str(item.asDict()[\"m\"])} for item in spark.table('ops.configs').collect()]"
    );
}

#[test]
fn straight_line_runs_become_chained_tasks() {
    let p = plan_src(
        "T = 60\ndbutils.notebook.run('./child', T, {'env': 'prod'})\nprint('child done')\nr = dbutils.notebook.run('./other', 0)\n",
        TargetShape::Auto,
    );
    assert!(p.plan.refusals.is_empty(), "{:?}", p.plan.refusals);
    let FanOutKind::Chain(ts) = &p.plan.fanouts[0].kind else {
        panic!("{:?}", p.plan)
    };
    let keys: Vec<&str> = ts.iter().map(|t| t.task_key.as_str()).collect();
    assert_eq!(keys, ["child", "other"]);
    assert_eq!(ts[0].timeout_seconds, Some(60));
    assert_eq!(ts[0].parameters, vec![("env".into(), "prod".into())]);
    assert_eq!(ts[1].timeout_seconds, None);
    // The first run becomes the comment, the second goes.
    assert_eq!(
        p.plan.fanouts[0].remove.len(),
        1 + 1,
        "{:?}",
        p.plan.fanouts[0]
    );
    // A run gated on the previous result: refused, naming the `if`.
    let r = refusal("r = dbutils.notebook.run('./child', 60)\nif r == 'ok':\n    dbutils.notebook.run('./other', 60)\n");
    assert!(r.contains("depends on the `if` at line 3"), "{r}");
    // A run whose arguments use the previous result.
    let r = refusal(
        "r = dbutils.notebook.run('./child', 60)\ndbutils.notebook.run('./other', 60, {'x': r})\n",
    );
    assert!(
        r.contains("arguments of the run at line 3 are not static"),
        "{r}"
    );
}
