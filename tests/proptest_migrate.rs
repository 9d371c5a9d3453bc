//! Property: applying a migration twice equals applying it once.
//!
//! Driver notebooks are generated from building blocks: `ThreadPool.map`,
//! `ThreadPoolExecutor.map` (with a worker function or a lambda) or `submit` over a literal list
//! or a variable; a worker calling `dbutils.notebook.run` with a static path (same folder or
//! another one), a timeout and a parameter dict in varying key order; varying names, pool sizes
//! (1 to 200) and formats (source `.py` with LF or CRLF, `.ipynb`); with or without an existing
//! `databricks.yml` (`--init-bundle` creates it); `--to auto|for-each|tasks|submit`. Each case runs the migration through the
//! library calls `bricklint migrate --write` uses (plan with the re-check on, then write), then
//! plans again: the second run must find nothing to do, block nothing, and a second write must
//! leave every byte of every file as the first one left it.
//!
//! 64 cases (each runs the engine four times: plan and re-check, twice): about 1 s in a debug
//! build on 2 cores (1,000 cases passed in 14 s when the test was written).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bricklint::migrate::{self, MigrateOptions, TargetShape};
use proptest::prelude::*;

/// Every file under `dir` with its bytes (`.git` excluded).
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[derive(Debug, Clone)]
enum Dispatch {
    PoolMap,
    ExecutorMap,
    ExecutorMapLambda,
    ExecutorSubmit,
}

#[derive(Debug, Clone)]
enum Format {
    Lf,
    Crlf,
    Ipynb,
}

#[derive(Debug, Clone)]
struct Case {
    driver: String,
    worker: String,
    items_var: Option<String>,
    items: Vec<String>,
    param: String,
    extra_param: Option<(String, String)>,
    extra_first: bool,
    /// The child lives in `children/` (path `../children/<name>`) instead of beside the driver.
    child_elsewhere: bool,
    child: String,
    timeout: u32,
    pool: u32,
    dispatch: Dispatch,
    format: Format,
    bundle: bool,
    to: TargetShape,
}

fn ident() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,7}".prop_filter("not a Python keyword or a used name", |s| {
        ![
            "as", "if", "in", "is", "or", "and", "def", "for", "not", "del", "try", "with", "from",
            "else", "elif", "pass", "none", "true", "false", "while", "yield", "class", "break",
            "raise", "async", "await", "global", "lambda", "return", "assert", "import", "except",
            "finally", "continue", "nonlocal", "print", "list", "dbutils", "pool", "ex", "f", "x",
            "futures", "t",
        ]
        .contains(&s.as_str())
    })
}

fn case() -> impl Strategy<Value = Case> {
    let names = (
        ident(),
        ident(),
        prop::option::of(ident()),
        prop::collection::btree_set("[a-z][a-z0-9_]{0,8}", 1..5),
        ident(),
        prop::option::of((ident(), "[a-z0-9]{1,6}")),
        any::<bool>(),
    );
    let shape = (
        any::<bool>(),
        ident(),
        0u32..4000,
        1u32..200,
        prop_oneof![
            Just(Dispatch::PoolMap),
            Just(Dispatch::ExecutorMap),
            Just(Dispatch::ExecutorMapLambda),
            Just(Dispatch::ExecutorSubmit)
        ],
        prop_oneof![Just(Format::Lf), Just(Format::Crlf), Just(Format::Ipynb)],
        any::<bool>(),
        prop_oneof![
            Just(TargetShape::Auto),
            Just(TargetShape::ForEach),
            Just(TargetShape::Tasks),
            Just(TargetShape::Submit)
        ],
    );
    (names, shape)
        .prop_map(
            |(
                (driver, worker, items_var, items, param, extra, extra_first),
                (child_elsewhere, child, timeout, pool, dispatch, format, bundle, to),
            )| Case {
                driver,
                worker,
                items_var,
                items: items.into_iter().collect(),
                extra_param: extra.filter(|(k, _)| *k != param),
                param,
                extra_first,
                child_elsewhere,
                child,
                timeout,
                pool,
                dispatch,
                format,
                bundle,
                to,
            },
        )
        .prop_filter("distinct names", |c| {
            let mut names = vec![&c.driver, &c.worker, &c.child, &c.param];
            names.extend(c.items_var.as_ref());
            let n = names.len();
            names.sort();
            names.dedup();
            names.len() == n
        })
}

/// The driver's cells (Python code).
fn driver_cells(c: &Case) -> Vec<String> {
    let import = match c.dispatch {
        Dispatch::PoolMap => "from multiprocessing.pool import ThreadPool",
        _ => "from concurrent.futures import ThreadPoolExecutor",
    };
    let list = format!(
        "[{}]",
        c.items
            .iter()
            .map(|i| format!("\"{i}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut cells = vec![import.to_string()];
    let items = match &c.items_var {
        Some(v) => {
            cells.push(format!("{v} = {list}"));
            v.clone()
        }
        None => list,
    };
    let path = if c.child_elsewhere {
        format!("../children/{}", c.child)
    } else {
        format!("./{}", c.child)
    };
    let args = |item: &str| {
        let main = format!("\"{}\": {item}", c.param);
        match &c.extra_param {
            None => format!("{{{main}}}"),
            Some((k, v)) if c.extra_first => format!("{{\"{k}\": \"{v}\", {main}}}"),
            Some((k, v)) => format!("{{{main}, \"{k}\": \"{v}\"}}"),
        }
    };
    let run = |item: &str| {
        format!(
            "dbutils.notebook.run(\"{path}\", {}, {})",
            c.timeout,
            args(item)
        )
    };
    let worker = format!("def {}(item):\n    return {}\n", c.worker, run("item"));
    let (w, n) = (&c.worker, c.pool);
    match c.dispatch {
        Dispatch::PoolMap => {
            cells.push(format!(
                "{worker}\n\npool = ThreadPool({n})\npool.map({w}, {items})"
            ));
        }
        Dispatch::ExecutorMap => {
            cells.push(worker);
            cells.push(format!(
                "with ThreadPoolExecutor(max_workers={n}) as ex:\n    results = list(ex.map({w}, {items}))"
            ));
        }
        Dispatch::ExecutorMapLambda => {
            cells.push(format!(
                "with ThreadPoolExecutor(max_workers={n}) as ex:\n    results = list(ex.map(lambda x: {}, {items}))",
                run("x")
            ));
        }
        Dispatch::ExecutorSubmit => {
            cells.push(format!(
                "{worker}\n\nwith ThreadPoolExecutor(max_workers={n}) as ex:\n    futures = [ex.submit({w}, t) for t in {items}]\n    for f in futures:\n        print(f.result())"
            ));
        }
    }
    cells
}

fn render_driver(c: &Case) -> (String, String) {
    let cells = driver_cells(c);
    match c.format {
        Format::Lf | Format::Crlf => {
            let mut s = String::from("# Databricks notebook source\n");
            s.push_str(&cells.join("\n\n# COMMAND ----------\n\n"));
            s.push('\n');
            if matches!(c.format, Format::Crlf) {
                s = s.replace('\n', "\r\n");
            }
            (format!("{}.py", c.driver), s)
        }
        Format::Ipynb => {
            let cells: Vec<serde_json::Value> = cells
                .iter()
                .map(|src| {
                    serde_json::json!({
                        "cell_type": "code",
                        "execution_count": null,
                        "metadata": {"application/vnd.databricks.v1+cell": {"title": "", "nuid": "x"}},
                        "outputs": [],
                        "source": src.split_inclusive('\n').collect::<Vec<_>>(),
                    })
                })
                .collect();
            let v = serde_json::json!({
                "cells": cells,
                "metadata": {"application/vnd.databricks.v1+notebook": {"language": "python", "notebookName": c.driver}},
                "nbformat": 4,
                "nbformat_minor": 0
            });
            let mut out = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
            let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
            serde::Serialize::serialize(&v, &mut ser).unwrap();
            let mut s = String::from_utf8(out).unwrap();
            s.push('\n');
            (format!("{}.ipynb", c.driver), s)
        }
    }
}

/// Write the project of a case into `root`.
fn materialise(c: &Case, root: &Path) {
    std::fs::create_dir(root.join(".git")).unwrap();
    if c.bundle {
        std::fs::write(
            root.join("databricks.yml"),
            "bundle:\n  name: generated\n\ninclude:\n  - resources/*.yml\n\ntargets:\n  dev:\n    mode: development\n    default: true\n",
        )
        .unwrap();
    }
    let nb_dir = root.join("notebooks");
    std::fs::create_dir_all(&nb_dir).unwrap();
    let (name, text) = render_driver(c);
    std::fs::write(nb_dir.join(name), text).unwrap();
    let child_dir = if c.child_elsewhere {
        root.join("children")
    } else {
        nb_dir
    };
    std::fs::create_dir_all(&child_dir).unwrap();
    let mut child = String::from("# Databricks notebook source\n");
    let mut keys = vec![c.param.clone()];
    keys.extend(c.extra_param.as_ref().map(|(k, _)| k.clone()));
    for k in &keys {
        child.push_str(&format!("{k} = dbutils.widgets.get(\"{k}\")\n"));
    }
    child.push_str(&format!("print({})\n", keys.join(", ")));
    std::fs::write(child_dir.join(format!("{}.py", c.child)), child).unwrap();
}

fn options(root: &Path, c: &Case) -> MigrateOptions {
    MigrateOptions {
        paths: vec![root.to_path_buf()],
        to: c.to,
        init_bundle: !c.bundle,
        recheck: true,
        ..Default::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn migrating_twice_equals_once(c in case()) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        materialise(&c, &root);
        let before = tree(&root);
        let opts = options(&root, &c);

        // First run: every generated driver is a shape migrate handles.
        let first = migrate::plan(&opts).unwrap();
        let report = migrate::render_plan(&first);
        prop_assert!(first.errors.is_empty(), "load errors: {:?}", first.errors);
        // Every building block is a shape migrate handles: nothing is refused.
        prop_assert!(
            first.outcomes.iter().all(|o| o.plan.refusals.is_empty()),
            "refused:\n{}",
            report
        );
        prop_assert!(first.pending(), "nothing to migrate:\n{}", report);
        for o in &first.outcomes {
            prop_assert!(o.blocked.is_empty(), "blocked:\n{}", report);
        }
        let errors = migrate::write(&first).errors;
        prop_assert!(errors.is_empty(), "{:?}", errors);
        let once = tree(&root);
        prop_assert_ne!(&before, &once, "--write wrote nothing");

        // Second run: nothing pending, nothing blocked, no fan-out left to plan.
        let second = migrate::plan(&opts).unwrap();
        let report2 = migrate::render_plan(&second);
        prop_assert!(!second.pending(), "second run has changes:\n{}\n{}", report2, migrate::render_diff(&second));
        for o in &second.outcomes {
            prop_assert!(o.blocked.is_empty(), "second run blocked:\n{}", report2);
            prop_assert!(o.plan.fanouts.is_empty(), "second run plans again:\n{}", report2);
        }
        let errors = migrate::write(&second).errors;
        prop_assert!(errors.is_empty(), "{:?}", errors);
        prop_assert_eq!(once, tree(&root), "the second run changed files");
    }
}
