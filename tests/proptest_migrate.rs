//! Properties of `bricklint migrate`: applying a migration twice equals applying it once (first
//! block), and an existing job keeps its order and bytes (second block, below).
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

// ---------------------------------------------------------------------------------------------
// Property: migrating an orchestrator that an existing bundle job runs keeps the job's order,
// runs each child from one place only, and changes no byte outside the edited spans.
//
// Bundles are generated with one job holding the orchestrator task among 0 to 5 other tasks
// (random `depends_on` on earlier tasks, the orchestrator included; optional job cluster and
// comment lines), an unrelated second job, and sometimes a second task (in the second job)
// that runs the orchestrator too (the edit must then be refused and nothing written). The
// orchestrator is a pool over a static list of one child (For Each; with or without setup code
// that keeps the orchestrator task) or a sequential loop over different notebooks (`--to
// tasks`: a chain).

#[derive(Debug, Clone)]
struct JobCase {
    orch_key: String,
    /// Other tasks: (index of the orchestrator among all tasks, per task its dependencies as
    /// indices of earlier tasks).
    orch_at: usize,
    deps: Vec<Vec<usize>>,
    cluster: bool,
    comments: bool,
    /// A task of the second job runs the orchestrator too.
    dup: bool,
    /// Sequential loop over different notebooks (`--to tasks`) instead of a pool of one child.
    chain: bool,
    /// Setup code before the fan-out (the orchestrator task stays).
    setup: bool,
    items: Vec<String>,
    pool: u32,
}

fn job_case() -> impl Strategy<Value = JobCase> {
    (
        ident(),
        0usize..6,
        prop::collection::vec(prop::collection::vec(any::<prop::sample::Index>(), 0..3), 6),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.15),
        any::<bool>(),
        any::<bool>(),
        prop::collection::btree_set("[a-z][a-z0-9]{0,6}", 2..5),
        1u32..150,
    )
        .prop_flat_map(
            |(orch_key, n, raw, cluster, comments, dup, chain, setup, items, pool)| {
                (0..=n).prop_map(move |orch_at| {
                    // Task i (0..=n, the orchestrator at orch_at) depends on earlier tasks.
                    let deps: Vec<Vec<usize>> = (0..=n)
                        .map(|i| {
                            let mut d: Vec<usize> = if i == 0 {
                                Vec::new()
                            } else {
                                raw[i].iter().map(|ix| ix.index(i)).collect()
                            };
                            d.sort_unstable();
                            d.dedup();
                            d
                        })
                        .collect();
                    JobCase {
                        orch_key: orch_key.clone(),
                        orch_at,
                        deps,
                        cluster,
                        comments,
                        dup,
                        chain,
                        setup,
                        items: items.iter().cloned().collect(),
                        pool,
                    }
                })
            },
        )
        .prop_filter("task keys distinct from generated names", |c| {
            !c.orch_key.starts_with('t') && !c.orch_key.starts_with("step")
        })
}

impl JobCase {
    fn key(&self, i: usize) -> String {
        if i == self.orch_at {
            self.orch_key.clone()
        } else {
            format!("t{i}")
        }
    }

    /// The children the fan-out runs (notebook stems).
    fn children(&self) -> Vec<String> {
        if self.chain {
            self.items.iter().map(|i| format!("step_{i}")).collect()
        } else {
            vec!["child".to_string()]
        }
    }

    /// The job file, and the byte ranges the migration may change: the orchestrator task's
    /// item, and every `depends_on` reference to it.
    fn job_yaml(&self) -> (String, Vec<std::ops::Range<usize>>) {
        let mut s = String::from(
            "# The pipeline.\nresources:\n  jobs:\n    pipeline:\n      name: pipeline\n",
        );
        if self.cluster {
            s.push_str("      job_clusters:\n        - job_cluster_key: main\n          new_cluster:\n            spark_version: 15.4.x-scala2.12\n            node_type_id: i3.xlarge\n            num_workers: 1\n");
        }
        s.push_str("      tasks:\n");
        let mut spans = Vec::new();
        for (i, deps) in self.deps.iter().enumerate() {
            let start = s.len();
            s.push_str(&format!("        - task_key: {}", self.key(i)));
            s.push_str(if self.comments { "  # a task\n" } else { "\n" });
            if !deps.is_empty() {
                s.push_str("          depends_on:\n");
                for d in deps {
                    s.push_str("            - task_key: ");
                    let at = s.len();
                    s.push_str(&self.key(*d));
                    if *d == self.orch_at {
                        spans.push(at..s.len());
                    }
                    s.push('\n');
                }
            }
            if self.cluster {
                s.push_str("          job_cluster_key: main\n");
            }
            let nb = if i == self.orch_at {
                "orchestrate".to_string()
            } else {
                format!("task{i}")
            };
            s.push_str(&format!(
                "          notebook_task:\n            notebook_path: ../notebooks/{nb}.py\n"
            ));
            if self.comments {
                s.push_str("          # end of the task\n");
            }
            if i == self.orch_at {
                spans.push(start..s.len());
            }
        }
        (s, spans)
    }

    fn other_job(&self) -> String {
        let mut s = String::from("resources:\n  jobs:\n    other:\n      name: other\n      tasks:\n        - task_key: alone\n          notebook_task:\n            notebook_path: ../notebooks/alone.py\n");
        if self.dup {
            s.push_str("        - task_key: again\n          notebook_task:\n            notebook_path: ../notebooks/orchestrate.py\n");
        }
        s
    }

    fn driver(&self) -> String {
        let mut s = String::from("# Databricks notebook source\n");
        if self.setup {
            s.push_str("spark.conf.set(\"spark.sql.shuffle.partitions\", \"8\")\n\n# COMMAND ----------\n\n");
        }
        if self.chain {
            let list: Vec<String> = self
                .children()
                .iter()
                .map(|c| format!("\"./{c}\""))
                .collect();
            s.push_str(&format!(
                "for nb in [{}]:\n    dbutils.notebook.run(nb, 600)\n",
                list.join(", ")
            ));
        } else {
            let list: Vec<String> = self.items.iter().map(|c| format!("\"{c}\"")).collect();
            s.push_str(&format!(
                "from concurrent.futures import ThreadPoolExecutor\n\nitems = [{}]\n\n\ndef work(item):\n    return dbutils.notebook.run(\"./child\", 600, {{\"item\": item}})\n\n\nwith ThreadPoolExecutor(max_workers={}) as ex:\n    list(ex.map(work, items))\n",
                list.join(", "),
                self.pool
            ));
        }
        s
    }

    fn materialise(&self, root: &Path) -> String {
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::write(
            root.join("databricks.yml"),
            "bundle:\n  name: generated\n\ninclude:\n  - resources/*.yml\n\ntargets:\n  dev:\n    mode: development\n    default: true\n",
        )
        .unwrap();
        let res = root.join("resources");
        let nbs = root.join("notebooks");
        std::fs::create_dir_all(&res).unwrap();
        std::fs::create_dir_all(&nbs).unwrap();
        let (yaml, _) = self.job_yaml();
        std::fs::write(res.join("pipeline.job.yml"), &yaml).unwrap();
        std::fs::write(res.join("other.job.yml"), self.other_job()).unwrap();
        std::fs::write(nbs.join("orchestrate.py"), self.driver()).unwrap();
        let plain = "# Databricks notebook source\nprint(1)\n";
        std::fs::write(nbs.join("alone.py"), plain).unwrap();
        for i in 0..self.deps.len() {
            std::fs::write(nbs.join(format!("task{i}.py")), plain).unwrap();
        }
        for c in self.children() {
            let text = if self.chain {
                plain.to_string()
            } else {
                "# Databricks notebook source\nitem = dbutils.widgets.get(\"item\")\nprint(item)\n"
                    .to_string()
            };
            std::fs::write(nbs.join(format!("{c}.py")), text).unwrap();
        }
        yaml
    }
}

/// The bundle's jobs as `check` loads them.
fn bundle_jobs(root: &Path) -> Vec<bricklint::bundle::Job> {
    let text = std::fs::read_to_string(root.join("databricks.yml")).unwrap();
    let mut diags = Vec::new();
    let b = bricklint::bundle::load_bundle(
        std::sync::Arc::new(root.join("databricks.yml")),
        std::sync::Arc::from(text.as_str()),
        &|_| None,
        &Default::default(),
        &Default::default(),
        &mut diags,
    );
    assert!(diags.is_empty(), "{diags:?}");
    b.jobs
}

/// Tasks (nested ones included) of every job that run `notebooks/<stem>.py`.
fn runners_of(jobs: &[bricklint::bundle::Job], stem: &str) -> Vec<String> {
    let path = format!("../notebooks/{stem}.py");
    let mut out = Vec::new();
    for j in jobs {
        for t in j.all_tasks() {
            let nb = t
                .notebook_task
                .as_ref()
                .and_then(|n| n.notebook_path.as_ref())
                .and_then(|p| p.as_str());
            if nb == Some(path.as_str()) {
                out.push(format!("{}.{}", j.key, t.key().unwrap_or("?")));
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn existing_jobs_keep_their_order_and_bytes(c in job_case()) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        let yaml = c.materialise(&root);
        let (_, spans) = c.job_yaml();
        let before = tree(&root);
        let jobs_before = bundle_jobs(&root);
        let opts = MigrateOptions {
            paths: vec![root.clone()],
            to: if c.chain { TargetShape::Tasks } else { TargetShape::Auto },
            recheck: true,
            ..Default::default()
        };
        let result = migrate::plan(&opts).unwrap();
        let report = migrate::render_plan(&result);
        let orch = result
            .outcomes
            .iter()
            .find(|o| o.plan.notebook.ends_with("orchestrate.py"))
            .expect("the orchestrator is planned");
        prop_assert_eq!(orch.plan.fanouts.len(), 1, "{}", report);
        let errors = migrate::write(&result).errors;
        prop_assert!(errors.is_empty(), "{:?}", errors);
        if c.dup {
            // Two tasks run the orchestrator: refused, with the YAML to paste; nothing written.
            prop_assert!(!orch.blocked.is_empty() && orch.manual.is_some(), "{}", report);
            prop_assert_eq!(&before, &tree(&root), "a refused edit wrote files");
            return Ok(());
        }
        prop_assert!(orch.blocked.is_empty(), "{}", report);
        let jobs = bundle_jobs(&root);
        prop_assert_eq!(jobs.len(), jobs_before.len(), "jobs added or lost:\n{}", report);

        // Each child runs from exactly one task of one job.
        for child in c.children() {
            let r = runners_of(&jobs, &child);
            prop_assert_eq!(r.len(), 1, "{} runs from {:?}\n{}", child, r, report);
        }

        // Ordering: every edge of before still holds, and every task that waited for the
        // orchestrator waits for every task of the fan-out.
        let job = jobs.iter().find(|j| j.key == "pipeline").unwrap();
        let job_before = jobs_before.iter().find(|j| j.key == "pipeline").unwrap();
        let (gb, ga) = (job_before.graph(), job.graph());
        let fan_keys: Vec<String> = match &orch.plan.fanouts[0].kind {
            bricklint::migrate::plan::FanOutKind::ForEach(fe) => vec![fe.task_key.clone()],
            k => k.task_keys(),
        };
        for i in 0..c.deps.len() {
            let k = c.key(i);
            for u in gb.upstream(&k) {
                prop_assert!(ga.is_upstream(&u, &k), "{} no longer waits for {}\n{}", k, u, report);
            }
            if i != c.orch_at && gb.is_upstream(&c.orch_key, &k) {
                for f in &fan_keys {
                    prop_assert!(
                        f == &k || ga.is_upstream(f, &k),
                        "{} waited for {} but not for {}\n{}",
                        k,
                        c.orch_key,
                        f,
                        report
                    );
                }
            }
        }

        // No byte of the job file changes outside the orchestrator's task and the references
        // to it (new tasks are insertions); the other job's file and every notebook but the
        // orchestrator are untouched.
        let after_yaml = std::fs::read_to_string(root.join("resources/pipeline.job.yml")).unwrap();
        // Every stretch of the old file between the spans is still there, in order.
        let mut spans = spans;
        spans.sort_by_key(|s| s.start);
        let mut outside = Vec::new();
        let mut at = 0;
        for s in &spans {
            if s.start > at {
                outside.push(at..s.start);
            }
            at = at.max(s.end);
        }
        outside.push(at..yaml.len());
        let mut pos = 0;
        for r in outside {
            let piece = &yaml[r.clone()];
            match after_yaml[pos..].find(piece) {
                Some(i) => pos += i + piece.len(),
                None => prop_assert!(
                    false,
                    "bytes {:?} ({:?}) changed outside the edited spans\n{}",
                    r,
                    piece,
                    after_yaml
                ),
            }
        }
        let after = tree(&root);
        for (p, bytes) in &before {
            let edited = p.ends_with("pipeline.job.yml") || p.ends_with("orchestrate.py");
            if !edited {
                prop_assert_eq!(Some(bytes), after.get(p), "{} changed", p.display());
            }
        }
    }
}
