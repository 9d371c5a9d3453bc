//! The orchestration analysis through the library API: the public fan-out description that
//! `bricklint migrate` builds on, cross-file helpers, and explicit-file runs (pre-commit).

use std::path::{Path, PathBuf};

use bricklint::engine::{check, load_project, CheckOptions, ReportScope};
use bricklint::project::fanout::fan_outs;
use bricklint::python::fanout::{DispatchKind, FanOutKind, PoolKind, WorkerKind};
use bricklint::python::value::Value;

fn fixture(p: &str) -> PathBuf {
    Path::new("fixtures/rules/notebook-run-in-thread-pool").join(p)
}

fn opts(paths: Vec<PathBuf>) -> CheckOptions {
    CheckOptions {
        paths,
        select: Some(vec!["ORC".into()]),
        report_scope: ReportScope::Files,
        ..Default::default()
    }
}

#[test]
fn fan_out_description_of_a_thread_pool_map() {
    let path = bricklint::discover::absolutize(&fixture("bad_threadpool_map.py"));
    let (project, _, _) = load_project(&opts(vec![path.clone()])).unwrap();
    let doc = project.document(&path).unwrap();
    let fans = fan_outs(&project, doc);
    assert_eq!(fans.len(), 1, "{fans:#?}");
    let f = &fans[0];
    assert_eq!(f.kind, FanOutKind::Dispatch(DispatchKind::PoolMap));
    assert_eq!(f.method, "map");
    assert_eq!(&doc.text[f.range], "pool.map(run_notebook_bronze, lst)");
    let pool = f.pool.as_ref().unwrap();
    assert_eq!(pool.kind, PoolKind::ThreadPool);
    assert_eq!(pool.size_bound, Some(32));
    assert_eq!(&doc.text[pool.ctor], "ThreadPool(32)");
    let w = f.worker.as_ref().unwrap();
    assert_eq!(w.kind, WorkerKind::Function);
    assert_eq!(w.expr.text, "run_notebook_bronze");
    let items = f.items.as_ref().unwrap();
    assert_eq!(items.text, "lst");
    assert_eq!(
        items
            .value
            .as_ref()
            .and_then(|v| v.as_seq())
            .map(|s| s.len()),
        Some(3)
    );
    assert_eq!(f.runs.len(), 1);
    let run = &f.runs[0].call;
    assert_eq!(
        run.path.as_ref().unwrap().value,
        Some(Value::Str("/Repos/etl/bronze".into()))
    );
    assert_eq!(run.timeout.as_ref().unwrap().value, Some(Value::Int(0)));
    let args = run.arguments.as_ref().unwrap();
    assert_eq!(args.text, "{\"name\": name}");
    assert_eq!(run.argument_items.len(), 1);
    assert_eq!(run.argument_items[0].0.as_deref(), Some("name"));
}

#[test]
fn reference_runs_take_the_dispatch_arguments() {
    let path = bricklint::discover::absolutize(&fixture("bad_reference.py"));
    let (project, _, _) = load_project(&opts(vec![path.clone()])).unwrap();
    let doc = project.document(&path).unwrap();
    let fans = fan_outs(&project, doc);
    let par: Vec<_> = fans.iter().filter(|f| f.kind.is_parallel()).collect();
    assert_eq!(par.len(), 2);
    // `**{"path": p, "timeout_seconds": 0, "arguments": a}`
    let splat = &par[1].runs[0].call;
    assert!(splat.by_reference);
    assert_eq!(splat.path.as_ref().unwrap().text, "p");
    assert_eq!(splat.timeout.as_ref().unwrap().value, Some(Value::Int(0)));
    assert_eq!(splat.arguments.as_ref().unwrap().text, "a");
    assert_eq!(
        par[0].worker.as_ref().unwrap().kind,
        WorkerKind::NotebookRun
    );
    assert_eq!(par[0].items.as_ref().unwrap().text, "jobs");
}

#[test]
fn helper_in_another_file_is_followed_from_an_explicit_file() {
    // Only the orchestrator is given (as pre-commit does); the `%run` helper is loaded as context.
    for (case, file, helper) in [
        ("bad_run_helper", "orchestrator.py", "parallel_helpers.py"),
        ("bad_local_import", "orchestrate.py", "lib/runner.py"),
    ] {
        let path = bricklint::discover::absolutize(&fixture(case).join(file));
        let result = check(&opts(vec![path.clone()])).unwrap();
        let orc: Vec<_> = result
            .messages
            .iter()
            .filter(|m| m.code == "ORC001")
            .collect();
        assert_eq!(orc.len(), 1, "{case}");
        assert_eq!(*orc[0].abs_path, path);
        assert_eq!(orc[0].related.len(), 1);
        assert!(
            orc[0].related[0].span.path.ends_with(helper),
            "{}",
            orc[0].related[0].span.path
        );
        // Findings of the helper itself are outside the report scope.
        assert!(result.messages.iter().all(|m| *m.abs_path == path));
    }
}
