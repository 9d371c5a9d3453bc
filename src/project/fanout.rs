//! The fan-outs of a document, followed across files through the project index: the facts of
//! [`crate::python::fanout`] joined with the `notebook.run` calls each worker reaches, in
//! whichever file it is. Read by ORC001, ORC006, ORC009 and `bricklint migrate`.

use crate::project::index::RunSite;
use crate::project::Project;
use crate::python::fanout::{from_scala, FanOut, FanOutKind, LoopKind, ReachedRun};
use crate::source::Document;

/// Every fan-out of a document that reaches `dbutils.notebook.run`: parallel dispatches first,
/// then sequential loops, each in source order. Scala cells and `.scala` files are scanned
/// lexically.
pub fn fan_outs(project: &Project, doc: &Document) -> Vec<FanOut> {
    let mut out = Vec::new();
    out.extend(
        crate::python::scala::scan(doc)
            .into_iter()
            .map(|f| from_scala(doc, f)),
    );
    let Some(&di) = project.index.by_path.get(crate::fasthash::key(&doc.path)) else {
        return out;
    };
    let idx = &project.index.python;
    let Some(facts) = idx.facts(di) else {
        return out;
    };
    let to_runs = |sites: &[RunSite]| -> Vec<ReachedRun> {
        let mut v: Vec<ReachedRun> = sites
            .iter()
            .filter_map(|s| {
                let call = idx.run(*s)?.clone();
                Some(ReachedRun {
                    path: project.documents.get(s.doc)?.path.clone(),
                    doc: Some(s.doc),
                    call,
                })
            })
            .collect();
        v.sort_by(|a, b| (&a.path, a.call.range.start()).cmp(&(&b.path, b.call.range.start())));
        v
    };
    for d in &facts.dispatches {
        let mut sites: Vec<RunSite> = Vec::new();
        if let Some(r) = d.reference_run {
            sites.push(RunSite { doc: di, run: r });
        }
        if let Some(w) = &d.worker {
            for r in &w.refs {
                sites.extend(idx.reach_of(di, r, false));
            }
        }
        sites.sort();
        sites.dedup();
        if sites.is_empty() {
            continue;
        }
        out.push(FanOut {
            path: doc.path.clone(),
            range: d.range,
            kind: FanOutKind::Dispatch(d.kind),
            method: d.method.clone(),
            pool: d.pool.clone(),
            worker: d.worker.clone(),
            items: d.items.clone(),
            call_args: d.call_args.clone(),
            call_kwargs: d.call_kwargs.clone(),
            runs: to_runs(&sites),
            result_discarded: d.result_discarded,
            in_loop: d.in_loop,
            retry: false,
            func: d.func,
            helper: None,
            recovered: None,
        });
    }
    // Workers handed to generic helpers that dispatch their parameter.
    for (fi, func) in facts.functions.iter().enumerate() {
        for (callee, range, args) in &func.callable_args {
            for &(j, g) in idx.resolve(di, callee) {
                for (d, refs) in idx.helper_dispatch_args(j, g, args) {
                    let mut sites: Vec<RunSite> = Vec::new();
                    for r in refs {
                        sites.extend(idx.reach_of(di, r, false));
                    }
                    sites.sort();
                    sites.dedup();
                    let (Some(hf), Some(hp)) = (idx.facts(j), project.documents.get(j)) else {
                        continue;
                    };
                    if sites.is_empty() {
                        continue;
                    }
                    let hd = &hf.dispatches[d];
                    out.push(FanOut {
                        path: doc.path.clone(),
                        range: *range,
                        kind: FanOutKind::Dispatch(hd.kind),
                        method: hd.method.clone(),
                        pool: if j == di { hd.pool.clone() } else { None },
                        worker: None,
                        items: None,
                        call_args: Vec::new(),
                        call_kwargs: Vec::new(),
                        runs: to_runs(&sites),
                        result_discarded: false,
                        in_loop: false,
                        retry: false,
                        func: fi,
                        helper: Some((hp.path.clone(), hd.range)),
                        recovered: None,
                    });
                }
            }
        }
    }
    for l in &facts.loops {
        let mut sites: Vec<RunSite> = l
            .runs
            .iter()
            .map(|&r| RunSite { doc: di, run: r })
            .collect();
        for (r, _) in &l.calls {
            sites.extend(idx.reach_of(di, r, true));
        }
        sites.sort();
        sites.dedup();
        if sites.is_empty() {
            continue;
        }
        out.push(FanOut {
            path: doc.path.clone(),
            range: l.range,
            kind: FanOutKind::Loop(l.kind),
            method: match l.kind {
                LoopKind::For => "for",
                LoopKind::While => "while",
                LoopKind::Comprehension => "comprehension",
            }
            .into(),
            pool: None,
            worker: None,
            items: l.items.clone(),
            call_args: Vec::new(),
            call_kwargs: Vec::new(),
            runs: to_runs(&sites),
            result_discarded: false,
            in_loop: true,
            retry: l.retry,
            func: l.func,
            helper: None,
            recovered: None,
        });
    }
    out
}

/// The document's index in the project and its facts (None when it has no Python facts).
pub fn doc_facts<'p>(
    project: &'p Project,
    doc: &Document,
) -> Option<(usize, &'p crate::python::facts::FileFacts)> {
    let &di = project.index.by_path.get(crate::fasthash::key(&doc.path))?;
    Some((di, project.index.python.facts(di)?))
}

/// Only the parallel fan-outs (ORC001).
pub fn parallel_fan_outs(project: &Project, doc: &Document) -> Vec<FanOut> {
    let mut v = fan_outs(project, doc);
    v.retain(|f| f.kind.is_parallel());
    v
}
