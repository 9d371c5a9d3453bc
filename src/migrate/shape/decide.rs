//! The shape decision of one site: For Each or one task per object, with its parameters,
//! items, concurrency, timeout and retries, or the reason it cannot be migrated.

use std::collections::{HashMap, HashSet};

use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::TextRange;
use serde_json::Value;

use super::reach::{merge_runs, RunCall};
use super::site::{LoopSite, Site};
use super::MAX_TASK_VALUE_BYTES;
use super::{callee_name, err, stem, unique_key, PlanOptions, Planner, SitePlan, NOT_A_FAN_OUT};
use crate::migrate::plan::*;
use crate::migrate::sites::ExternalWorker;
use crate::migrate::sym::{py_str, Sym};
use crate::python::fanout::DispatchKind;

/// The worker side of a dispatch: (base items, worker, positional and keyword arguments of the
/// worker, the items expression).
type WorkerCall<'e> = (
    Sym,
    &'e Expr,
    Vec<Sym>,
    Vec<(String, Sym)>,
    Option<&'e Expr>,
);

/// What runs per item, as functions of the base item.
struct Worker<'e> {
    base: Sym,
    runs: Vec<RunCall>,
    /// The values handed to the worker (an object's `retry` attribute counts).
    objs: Vec<Sym>,
    items_expr: Option<&'e Expr>,
}

/// What both shapes need: the merged `notebook.run`, items, concurrency, timeout, retries.
struct Settings {
    run: RunCall,
    max_retries: Option<u32>,
    source: ItemsSource,
    values: Option<Vec<Value>>,
    notes: Vec<String>,
    concurrency: u32,
    timeout: Option<u64>,
    /// Parameters that are the same for every item, and those that vary.
    constant: Vec<(String, String)>,
    per_item: Vec<(String, Sym)>,
}

/// Plan one site: For Each, one task per object, or the reason it cannot be migrated.
pub(super) fn plan_site(
    p: &Planner<'_>,
    site: &Site<'_>,
    opts: &PlanOptions,
    used: &mut HashSet<String>,
) -> Result<SitePlan, String> {
    if !site.seq.is_empty() {
        return plan_sequence(p, site, opts, used);
    }
    let ctor_name = site
        .pool_ctor
        .and_then(|c| callee_name(&c.func))
        .unwrap_or("pool")
        .to_string();
    let dispatch = if let Some(LoopSite::Comp(_)) = site.loop_for {
        "comprehension".to_string()
    } else if site.loop_for.is_some() {
        "for loop".to_string()
    } else {
        format!("{ctor_name}.{}", site.method)
    };
    let w = match site.loop_for {
        Some(l) => loop_worker(p, site, l)?,
        None => dispatch_worker(p, site, &dispatch)?,
    };
    let s = settings(p, site, &w)?;
    // Per-object tasks or For Each?
    let path_per_item = s.run.path.depends_on_item();
    let want_tasks = match opts.to {
        TargetShape::Tasks => true,
        TargetShape::ForEach => {
            if path_per_item {
                return err("the child notebook differs per item, which a For Each cannot express; use `--to tasks`");
            }
            false
        }
        TargetShape::Auto | TargetShape::Submit => path_per_item,
    };
    if want_tasks {
        return object_tasks(p, site, s, dispatch, path_per_item, used);
    }
    for_each(p, site, &w.base, s, dispatch, used)
}

/// The worker of a sequential loop or comprehension at the notebook's top level.
fn loop_worker<'a>(
    p: &Planner<'a>,
    site: &Site<'a>,
    l: LoopSite<'a>,
) -> Result<Worker<'a>, String> {
    let info = &p.info;
    let (base, runs, objs, items_expr) = match l {
        LoopSite::Comp(c) => {
            let g = &c.generators[0];
            if g.is_async {
                return err("an async comprehension");
            }
            let items = info.sym(&g.iter, &site.env, 0)?;
            let (base, elem) = info.base_items(items, 0)?;
            let mut env2 = site.env.clone();
            crate::migrate::sym::bind_target(&g.target, elem.clone(), &mut env2)?;
            // The filter becomes part of the items: `[run(x) for x in xs if cond]`.
            let base = match g.ifs.as_slice() {
                [] => base,
                ifs => {
                    let mut conds = ifs
                        .iter()
                        .map(|c| info.sym(c, &env2, 0))
                        .collect::<Result<Vec<_>, _>>()?;
                    let cond = if conds.len() == 1 {
                        conds.remove(0)
                    } else {
                        Sym::Bool(conds, true)
                    };
                    Sym::Filter(Box::new(base), Box::new(cond))
                }
            };
            if !matches!(&*c.elt, Expr::Call(_)) {
                return err("the comprehension does more than run notebooks");
            }
            let mut runs = Vec::new();
            p.reach_expr(&c.elt, &env2, &mut Vec::new(), &mut Vec::new(), &mut runs)?;
            (base, runs, vec![elem], Some(&g.iter))
        }
        LoopSite::For(f) => {
            if !f.orelse.is_empty() {
                return err("a `for ... else` loop");
            }
            let items = info.sym(&f.iter, &site.env, 0)?;
            let (base, elem) = info.base_items(items, 0)?;
            let mut env2 = site.env.clone();
            crate::migrate::sym::bind_target(&f.target, elem.clone(), &mut env2)?;
            // Every statement of the body runs notebooks or only prints: anything else would
            // be lost with the loop.
            for st in &f.body {
                let call = match st {
                    Stmt::Expr(e) => matches!(&*e.value, Expr::Call(_)),
                    Stmt::Assign(a) => matches!(&*a.value, Expr::Call(_)),
                    _ => false,
                };
                let mut reached = Vec::new();
                let runs_notebooks = call
                    && p.reach_stmts(
                        std::slice::from_ref(st),
                        &mut env2.clone(),
                        &mut Vec::new(),
                        &mut Vec::new(),
                        &mut reached,
                    )
                    .is_ok()
                    && !reached.is_empty();
                if !runs_notebooks && !super::cleanup::is_wait_like(st) {
                    return err(format!(
                        "the loop does more than run notebooks (line {}); move that work out first",
                        p.line_of(st)
                    ));
                }
            }
            let mut runs = Vec::new();
            let mut env3 = env2;
            p.reach_stmts(
                &f.body,
                &mut env3,
                &mut Vec::new(),
                &mut Vec::new(),
                &mut runs,
            )?;
            (base, runs, vec![elem], Some(&*f.iter))
        }
    };
    Ok(Worker {
        base,
        runs,
        objs,
        items_expr,
    })
}

/// The worker of a pool `map`, or of `submit` / `apply_async` in a loop or comprehension.
fn dispatch_worker<'a>(
    p: &Planner<'a>,
    site: &Site<'a>,
    dispatch: &str,
) -> Result<Worker<'a>, String> {
    let info = &p.info;
    let (base, worker, wargs, wkw, items_expr): WorkerCall<'_> = if site.kind
        == DispatchKind::PoolMap
    {
        let call = site.call.ok_or("no dispatch call")?;
        if site.method == "starmap" {
            return err("`starmap` unpacks each item into the worker's arguments; write the worker for one argument (`map`) first");
        }
        if call.arguments.args.len() != 2 {
            return err(format!(
                "`{dispatch}` with {} arguments",
                call.arguments.args.len()
            ));
        }
        let items = info.sym(&call.arguments.args[1], &site.env, 0)?;
        let (base, elem) = info.base_items(items, 0)?;
        (
            base,
            &call.arguments.args[0],
            vec![elem],
            Vec::new(),
            Some(&call.arguments.args[1]),
        )
    } else {
        let call = site.call.ok_or("no dispatch call")?;
        let Some((target, iter)) = site.iter else {
            // One submit is one task, not a fan-out; quiet unless it runs a notebook.
            let reaches = call
                .arguments
                .args
                .first()
                .and_then(|w| p.reach_worker(w, Vec::new(), Vec::new(), &site.env).ok())
                .is_some_and(|r| !r.is_empty())
                || call.arguments.args.first().is_some_and(|w| p.is_run_ref(w));
            if !reaches {
                return err(NOT_A_FAN_OUT);
            }
            return err(format!(
                "`{dispatch}` outside a loop or comprehension: a single task, not a fan-out"
            ));
        };
        let items = info.sym(iter, &site.env, 0)?;
        let (base, elem) = info.base_items(items, 0)?;
        let mut env2 = site.env.clone();
        crate::migrate::sym::bind_target(target, elem, &mut env2)?;
        loop_body_bindings(p, iter, call, &mut env2)?;
        let Some(worker) = call.arguments.args.first() else {
            return err(format!("`{dispatch}` without a function"));
        };
        let rest: Vec<&Expr> = if site.method == "apply_async" {
            match call.arguments.args.get(1) {
                Some(Expr::Tuple(t)) => t.elts.iter().collect(),
                Some(Expr::List(t)) => t.elts.iter().collect(),
                None => Vec::new(),
                Some(_) => return err("`apply_async` with non-literal arguments"),
            }
        } else {
            call.arguments.args.iter().skip(1).collect()
        };
        let mut args = Vec::new();
        for a in rest {
            if matches!(a, Expr::Starred(_)) {
                return err("`*args` in the dispatch");
            }
            args.push(info.sym(a, &env2, 0)?);
        }
        let mut kw = Vec::new();
        for k in &call.arguments.keywords {
            match &k.arg {
                Some(n) => kw.push((n.id.to_string(), info.sym(&k.value, &env2, 0)?)),
                None => match info.sym(&k.value, &env2, 0)? {
                    Sym::Dict(kv) => {
                        for (k, v) in kv {
                            let Sym::Const(Value::String(k)) = k else {
                                return err("`**` with non-literal keys");
                            };
                            kw.push((k, v));
                        }
                    }
                    _ => return err("`**kwargs` in the dispatch"),
                },
            }
        }
        (base, worker, args, kw, Some(iter))
    };
    let objs: Vec<Sym> = wargs
        .iter()
        .chain(wkw.iter().map(|(_, v)| v))
        .cloned()
        .collect();
    let runs = p.reach_worker(worker, wargs, wkw, &site.env)?;
    Ok(Worker {
        base,
        runs,
        objs,
        items_expr,
    })
}

/// Names a `for` loop's body binds before the dispatch (`args = {"table": t}` then
/// `ex.submit(run, args)`), as functions of the item. The body may hold nothing else but
/// waits and prints: the rewrite removes the loop.
fn loop_body_bindings(
    p: &Planner<'_>,
    iter: &Expr,
    call: &ruff_python_ast::ExprCall,
    env: &mut HashMap<String, Sym>,
) -> Result<(), String> {
    let Some(body) = p.nodes.for_bodies.get(&p.py.doc_range(iter)) else {
        return Ok(());
    };
    let at = p.py.doc_range(call);
    let used = crate::migrate::names::loaded_names_expr(&Expr::Call(call.clone()));
    let other_work = |st: &Stmt| {
        err(format!(
            "the loop does more than submit the notebook runs (line {}); move that work out first",
            p.line_of(st)
        ))
    };
    for st in body.iter() {
        let r = p.py.doc_range(st);
        if r.contains_range(at) {
            continue;
        }
        let assigned = match st {
            Stmt::Assign(a) if r.end() <= at.start() => match a.targets.as_slice() {
                [Expr::Name(n)] if used.contains(n.id.as_str()) => Some((n, &a.value)),
                _ => None,
            },
            _ => None,
        };
        match assigned {
            Some((n, value)) => {
                let v = p.info.sym(value, env, 0).map_err(|e| {
                    format!(
                        "`{}` (line {}) cannot be followed: {e}",
                        n.id,
                        p.line_of(st)
                    )
                })?;
                env.insert(n.id.to_string(), v);
            }
            None if super::cleanup::is_wait_like(st) => {}
            None => return other_work(st),
        }
    }
    Ok(())
}

/// The merged `notebook.run`, items, retries, concurrency, timeout and parameters.
fn settings(p: &Planner<'_>, site: &Site<'_>, w: &Worker<'_>) -> Result<Settings, String> {
    let info = &p.info;
    let run = merge_runs(&w.runs)?;
    // Retries: a retry loop around the call, or a `retry` attribute of the item object.
    let mut max_retries = run.retries;
    for o in &w.objs {
        if let Sym::Obj(_, attrs) = o {
            for (n, v) in attrs {
                if matches!(n.as_str(), "retry" | "retries" | "max_retries") {
                    if let Some(Value::Number(k)) = p.static_of(v, &Value::Null) {
                        max_retries = k.as_u64().map(|k| k as u32).or(max_retries);
                    }
                }
            }
        }
    }
    let (source, values) = p.items_of(&w.base, w.items_expr.filter(|_| site.helper.is_none()));
    // Pool size.
    let mut notes = Vec::new();
    let pool_size = site.pool_ctor.and_then(|c| {
        let arg = c
            .arguments
            .keywords
            .iter()
            .find(|k| {
                k.arg
                    .as_ref()
                    .is_some_and(|a| matches!(a.id.as_str(), "max_workers" | "processes"))
            })
            .map(|k| &k.value)
            .or(c.arguments.args.first())?;
        if let Expr::Call(lc) = arg {
            if callee_name(&lc.func) == Some("len") {
                return values.as_ref().map(|v| v.len() as u64);
            }
        }
        let s = info.sym(arg, &site.env, 0).ok()?;
        p.static_of(&s, &Value::Null)?.as_u64()
    });
    let concurrency = match pool_size {
        _ if site.loop_for.is_some() => {
            notes.push("the loop ran the notebooks one after another: concurrency 1 keeps that; raise it when the runs are independent".into());
            1
        }
        Some(n) if n >= 1 => {
            if n > 100 {
                notes.push(format!(
                    "pool size {n} capped at 100 (the For Each maximum)"
                ));
            }
            n.min(100) as u32
        }
        _ => {
            notes.push("pool size not static: concurrency 32 assumed (review it)".into());
            32
        }
    };
    let timeout = match &run.timeout {
        None => None,
        Some(t) => match p.static_of(t, &Value::Null) {
            Some(Value::Number(n)) => n.as_i64().filter(|n| *n > 0).map(|n| n as u64),
            _ => {
                notes.push("timeout not static: no `timeout_seconds` set".into());
                None
            }
        },
    };
    let (constant, per_item) = parameters(p, &run, values.as_ref())?;
    Ok(Settings {
        run,
        max_retries,
        source,
        values,
        notes,
        concurrency,
        timeout,
        constant,
        per_item,
    })
}

/// The `arguments` of the run as (constant parameters, per-item parameters).
#[allow(clippy::type_complexity)]
fn parameters(
    p: &Planner<'_>,
    run: &RunCall,
    values: Option<&Vec<Value>>,
) -> Result<(Vec<(String, String)>, Vec<(String, Sym)>), String> {
    let info = &p.info;
    // Parameters.
    let params: Vec<(String, Sym)> = match &run.args {
        None => Vec::new(),
        Some(Sym::Dict(kv)) => {
            let mut out = Vec::new();
            for (k, v) in kv {
                match p.static_of(k, &Value::Null) {
                    Some(Value::String(k)) => out.push((k, v.clone())),
                    _ => return err("an `arguments` key that is not a string literal"),
                }
            }
            out
        }
        Some(Sym::Global(g)) if info.single.contains_key(g.as_str()) => {
            match info.sym(info.single[g.as_str()], &HashMap::new(), 0)? {
                Sym::Dict(kv) => kv
                    .into_iter()
                    .map(|(k, v)| match p.static_of(&k, &Value::Null) {
                        Some(Value::String(k)) => Ok((k, v)),
                        _ => err("an `arguments` key that is not a string literal"),
                    })
                    .collect::<Result<_, _>>()?,
                _ => return err("the `arguments` are not a dict literal"),
            }
        }
        Some(other) if other.depends_on_item() => {
            // The item (or a part of it) is the arguments dict: keys from the static items.
            let Some(vals) = values else {
                return err("the `arguments` are built at run time; bricklint needs a dict literal to map them to parameters");
            };
            let mut keys: Vec<String> = Vec::new();
            for it in vals {
                match p.static_of(other, it) {
                    Some(Value::Object(m)) => {
                        for k in m.keys() {
                            if !keys.contains(k) {
                                keys.push(k.clone());
                            }
                        }
                    }
                    _ => return err("the `arguments` are not a dict for every item"),
                }
            }
            keys.into_iter()
                .map(|k| {
                    (
                        k.clone(),
                        Sym::Index(
                            Box::new(other.clone()),
                            Box::new(Sym::Const(Value::String(k))),
                        ),
                    )
                })
                .collect()
        }
        Some(_) => return err("the `arguments` are not a dict literal"),
    };
    let mut constant: Vec<(String, String)> = Vec::new();
    let mut per_item: Vec<(String, Sym)> = Vec::new();
    for (k, v) in params {
        match (v.depends_on_item(), p.static_of(&v, &Value::Null)) {
            (false, Some(c)) => constant.push((
                k,
                py_str(&c).ok_or("an argument value that is not a string")?,
            )),
            _ => per_item.push((k, v)),
        }
    }
    Ok((constant, per_item))
}

/// One task per object of a static list.
fn object_tasks(
    p: &Planner<'_>,
    site: &Site<'_>,
    s: Settings,
    dispatch: String,
    path_per_item: bool,
    used: &mut HashSet<String>,
) -> Result<SitePlan, String> {
    let Settings {
        run,
        max_retries,
        values,
        mut notes,
        timeout,
        constant,
        per_item,
        ..
    } = s;
    let line = site.line;
    let Some(vals) = &values else {
        return err(if path_per_item {
            "dynamic notebook paths (computed at run time): cannot autofix; list the notebooks literally or create the tasks by hand"
        } else {
            "per-object tasks need a static list of items"
        });
    };
    if vals.len() > 100 {
        return err(format!(
            "{} items: too many for one task per object; use For Each",
            vals.len()
        ));
    }
    let mut tasks = Vec::new();
    for it in vals {
        let Some(Value::String(path)) = p.static_of(&run.path, it) else {
            return err("a notebook path that is not a static string for every item");
        };
        let nb = p.resolve_notebook(&path)?;
        if let Some(n) = workspace_note(&path, &nb) {
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
        let mut params = constant.clone();
        for (k, v) in &per_item {
            let val = p
                .static_of(v, it)
                .and_then(|x| py_str(&x))
                .ok_or_else(|| format!("the argument `{k}` is not static for every item"))?;
            params.push((k.clone(), val));
        }
        let mut base_key = stem(&nb);
        if !path_per_item {
            if let Some((_, v)) = params
                .iter()
                .find(|(k, _)| constant.iter().all(|(c, _)| c != k))
            {
                base_key = format!("{base_key}_{v}");
            }
        }
        tasks.push(ObjectTask {
            task_key: unique_key(&base_key, used),
            notebook: nb,
            parameters: params,
            timeout_seconds: timeout,
            max_retries,
        });
    }
    // A sequential loop ran them one after the other: chained tasks keep that order.
    let kind = if site.loop_for.is_some() {
        notes.retain(|n| !n.contains("concurrency 1"));
        notes.push(
            "the loop ran the notebooks one after another: each task depends on the previous one"
                .into(),
        );
        FanOutKind::Chain(tasks)
    } else {
        FanOutKind::Tasks(tasks)
    };
    Ok(SitePlan {
        fanout: FanOutPlan {
            line,
            dispatch,
            kind,
            remove: Vec::new(),
            replace: TextRange::default(),
            notes,
        },
        top: site.top,
        producer: None,
        extra: Vec::new(),
    })
}

/// A For Each task over the items.
fn for_each(
    p: &Planner<'_>,
    site: &Site<'_>,
    base: &Sym,
    s: Settings,
    dispatch: String,
    used: &mut HashSet<String>,
) -> Result<SitePlan, String> {
    let info = &p.info;
    let line = site.line;
    let Settings {
        run,
        max_retries,
        source,
        values,
        mut notes,
        concurrency,
        timeout,
        constant,
        per_item,
    } = s;
    let path = match p.static_of(&run.path, &Value::Null) {
        Some(Value::String(s)) => s,
        _ => {
            return err(format!(
                "dynamic notebook path `{}`: cannot autofix; use a literal path",
                run.path.to_python("item").unwrap_or_else(|| "?".into())
            ))
        }
    };
    let child = p.resolve_notebook(&path)?;
    notes.extend(workspace_note(&path, &child));
    let task_key = unique_key(&format!("run_{}", stem(&child)), used);
    // One value per item: the item list holds just that value (`{{input}}`).
    let scalar = per_item.len() == 1;
    let mut parameters: Vec<(String, ParamValue)> = Vec::new();
    for (k, v) in &constant {
        parameters.push((k.clone(), ParamValue::Literal(v.clone())));
    }
    let elem = if scalar {
        parameters.insert(0, (per_item[0].0.clone(), ParamValue::Input));
        Sym::Str(Box::new(per_item[0].1.clone()))
    } else {
        for (k, _) in per_item.iter().rev() {
            parameters.insert(0, (k.clone(), ParamValue::InputField(k.clone())));
        }
        Sym::Dict(
            per_item
                .iter()
                .map(|(k, v)| {
                    (
                        Sym::Const(Value::String(k.clone())),
                        Sym::Str(Box::new(v.clone())),
                    )
                })
                .collect(),
        )
    };
    parameters.sort_by_key(|(k, _)| {
        per_item
            .iter()
            .position(|(x, _)| x == k)
            .unwrap_or(usize::MAX)
    });
    let item_values: Option<Vec<Value>> = values
        .as_ref()
        .and_then(|vals| vals.iter().map(|it| p.static_of(&elem, it)).collect());
    let var = if info.bound.contains("item") {
        "item_"
    } else {
        "item"
    };
    let base_py = base
        .to_python(var)
        .ok_or("the list of items cannot be written as Python")?;
    let elem_py = elem
        .to_python(var)
        .ok_or("the per-item arguments cannot be written as Python")?;
    let producer_expr = if elem == Sym::Str(Box::new(Sym::Item))
        && item_values.is_some()
        && values
            .as_ref()
            .is_some_and(|v| v.iter().all(Value::is_string))
    {
        base_py.clone()
    } else {
        format!("[{elem_py} for {var} in {base_py}]")
    };
    if source == ItemsSource::Dynamic {
        notes.push("the inputs are only known at run time: keep their JSON under 48 KiB (the task-value limit) or pass lookup keys".into());
    }
    if let Some(v) = &item_values {
        let size = serde_json::to_string(v).map(|s| s.len()).unwrap_or(0);
        if size > MAX_TASK_VALUE_BYTES && source != ItemsSource::Literal {
            return err(format!(
                "the inputs are {size} bytes of JSON, over the 48 KiB task-value limit; pass lookup keys and read the details in the child notebook"
            ));
        }
    }
    let fe = ForEachPlan {
        task_key: task_key.clone(),
        child,
        parameters,
        items: Items {
            source,
            values: item_values,
            producer_expr: producer_expr.clone(),
        },
        concurrency,
        timeout_seconds: timeout,
        max_retries,
        value_key: format!("{task_key}_inputs"),
    };
    let inline = crate::migrate::yaml::inline_inputs(&fe).is_some();
    if !inline {
        if let (ItemsSource::Literal, Some(v)) = (&fe.items.source, &fe.items.values) {
            let size = serde_json::to_string(v).map(|s| s.len()).unwrap_or(0);
            if size > MAX_TASK_VALUE_BYTES {
                return err(format!(
                    "the inputs are {size} bytes of JSON: over 10,000 characters inline and over the 48 KiB task-value limit; pass lookup keys instead"
                ));
            }
        }
    }
    let producer = (!inline).then(|| {
        format!(
            "dbutils.jobs.taskValues.set(key=\"{}\", value={producer_expr})",
            fe.value_key
        )
    });
    Ok(SitePlan {
        fanout: FanOutPlan {
            line,
            dispatch,
            kind: FanOutKind::ForEach(fe),
            remove: Vec::new(),
            replace: TextRange::default(),
            notes,
        },
        top: site.top,
        producer,
        extra: Vec::new(),
    })
}

/// Plan a `map` fan-out whose worker is in another file.
pub(super) fn plan_external(
    p: &Planner<'_>,
    site: &Site<'_>,
    ext: &ExternalWorker,
    used: &mut HashSet<String>,
) -> Result<SitePlan, String> {
    if site.helper.is_some() || site.kind != DispatchKind::PoolMap || site.method == "starmap" {
        return err("the worker is in another file and the dispatch is not a plain `map`");
    }
    let child = p.resolve_notebook(&ext.child)?;
    let task_key = unique_key(&format!("run_{}", stem(&child)), used);
    let per_item: Vec<&String> = ext
        .params
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k)
        .collect();
    if per_item.len() > 1 {
        return err("the worker passes the item under several names");
    }
    let parameters: Vec<(String, ParamValue)> = ext
        .params
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                match v {
                    Some(l) => ParamValue::Literal(l.clone()),
                    None => ParamValue::Input,
                },
            )
        })
        .collect();
    let (source, values) = match &ext.items {
        Some(v) => (
            ItemsSource::Literal,
            v.iter()
                .map(|x| py_str(x).map(Value::String))
                .collect::<Option<Vec<_>>>(),
        ),
        None => (ItemsSource::Dynamic, None),
    };
    let mut notes = vec![format!(
        "the worker is defined in another file; it is left in place"
    )];
    notes.extend(workspace_note(&ext.child, &child));
    let concurrency = match ext.pool_size {
        Some(n) if n >= 1 => n.min(100) as u32,
        _ => {
            notes.push("pool size not static: concurrency 32 assumed (review it)".into());
            32
        }
    };
    let var = if p.info.bound.contains("item") {
        "item_"
    } else {
        "item"
    };
    let producer_expr = format!("[str({var}) for {var} in {}]", ext.items_text);
    let fe = ForEachPlan {
        task_key: task_key.clone(),
        child,
        parameters,
        items: Items {
            source,
            values,
            producer_expr: producer_expr.clone(),
        },
        concurrency,
        timeout_seconds: ext.timeout.filter(|t| *t > 0).map(|t| t as u64),
        max_retries: None,
        value_key: format!("{task_key}_inputs"),
    };
    let inline = crate::migrate::yaml::inline_inputs(&fe).is_some();
    let producer = (!inline).then(|| {
        format!(
            "dbutils.jobs.taskValues.set(key=\"{}\", value={producer_expr})",
            fe.value_key
        )
    });
    Ok(SitePlan {
        fanout: FanOutPlan {
            line: site.line,
            dispatch: format!(
                "{}.{}",
                site.pool_ctor
                    .and_then(|c| callee_name(&c.func))
                    .unwrap_or("pool"),
                site.method
            ),
            kind: FanOutKind::ForEach(fe),
            remove: Vec::new(),
            replace: TextRange::default(),
            notes,
        },
        top: site.top,
        producer,
        extra: Vec::new(),
    })
}

/// The plan says when a workspace path was taken as a repository notebook.
fn workspace_note(path: &str, file: &std::path::Path) -> Option<String> {
    path.starts_with('/').then(|| {
        format!(
            "the workspace path `{path}` is taken as {}: its last folders name that notebook of this repository; check that the job deploys the repository there",
            crate::source::display_path(file)
        )
    })
}

/// Straight-line runs of different notebooks (ORC003): one task per run, chained in the
/// original order.
fn plan_sequence(
    p: &Planner<'_>,
    site: &Site<'_>,
    opts: &PlanOptions,
    used: &mut HashSet<String>,
) -> Result<SitePlan, String> {
    if opts.to == TargetShape::ForEach {
        return err("different notebooks run one after the other: a For Each runs one notebook; use `--to tasks` (or the default)");
    }
    let mut tasks = Vec::new();
    for (call, _) in &site.seq {
        let line = p.line_of(*call);
        let mut runs = Vec::new();
        p.reach_call(
            call,
            &HashMap::new(),
            &mut Vec::new(),
            &mut Vec::new(),
            &mut runs,
        )?;
        let run = runs
            .pop()
            .ok_or_else(|| format!("the notebook run at line {line} cannot be followed"))?;
        let Some(Value::String(path)) = p.static_of(&run.path, &Value::Null) else {
            return err(format!(
                "the notebook path of the run at line {line} is not static"
            ));
        };
        let nb = p.resolve_notebook(&path)?;
        let timeout = match &run.timeout {
            None => None,
            Some(t) => match p.static_of(t, &Value::Null) {
                Some(Value::Number(n)) => n.as_i64().filter(|n| *n > 0).map(|n| n as u64),
                _ => {
                    return err(format!(
                        "the timeout of the run at line {line} is not static"
                    ))
                }
            },
        };
        let mut parameters = Vec::new();
        if let Some(a) = &run.args {
            let Some(Value::Object(m)) = p.static_of(a, &Value::Null) else {
                return err(format!(
                    "the arguments of the run at line {line} are not static: a value computed at run time (another run's result, a query) cannot be a task parameter"
                ));
            };
            for (k, v) in m {
                let v = py_str(&v).ok_or_else(|| {
                    format!("the argument `{k}` of the run at line {line} is not a string")
                })?;
                parameters.push((k, v));
            }
        }
        tasks.push(ObjectTask {
            task_key: unique_key(&stem(&nb), used),
            notebook: nb,
            parameters,
            timeout_seconds: timeout,
            max_retries: None,
        });
    }
    Ok(SitePlan {
        fanout: FanOutPlan {
            line: site.line,
            dispatch: "notebook runs in sequence".into(),
            kind: FanOutKind::Chain(tasks),
            remove: Vec::new(),
            replace: TextRange::default(),
            notes: vec![
                "the notebooks ran one after another: each task depends on the previous one".into(),
            ],
        },
        top: site.top,
        producer: None,
        extra: site.seq.iter().skip(1).map(|(_, t)| *t).collect(),
    })
}
