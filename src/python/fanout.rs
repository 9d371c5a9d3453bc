//! The public description of notebook fan-out, shared by the rules (ORC001, ORC002, ORC005,
//! ORC008) and by `bricklint migrate`. The fan-outs of a document are gathered across files by
//! `project::fanout::fan_outs`, which follows the project index.
//!
//! A [`FanOut`] is one place where a notebook hands `dbutils.notebook.run` work out:
//!
//! - a **parallel dispatch** ([`FanOutKind::Dispatch`]): `pool.map(f, items)`,
//!   `executor.submit(f, x)`, `threading.Thread(target=f)`, joblib `Parallel(...)(delayed(f)(x)
//!   for x in items)`, `loop.run_in_executor(ex, f, x)`, `asyncio.to_thread(f, x)`, or a Scala
//!   `Future { ... }` / `.par` collection;
//! - a **sequential loop** ([`FanOutKind::Loop`]): a `for` / `while` loop or comprehension whose
//!   body reaches `notebook.run` for each item.
//!
//! Only fan-outs that reach at least one `dbutils.notebook.run` are returned. For each one:
//!
//! | field | what |
//! |---|---|
//! | `range` | the dispatch call (or loop header), a range of `Document::text` of `path` |
//! | `kind`, `method` | the shape (`PoolMap` / `map`, `ExecutorSubmit` / `submit`, ...) |
//! | `pool` | the pool / executor: constructor range, kind, size expression with its static value and upper bound |
//! | `worker` | the work function as written, what kind it is (function, lambda, partial, closure, `notebook.run` itself) |
//! | `items` | what the fan-out iterates: the `map` iterable, or the loop / comprehension iterable around a `submit` / `Thread` (with its static value when literal) |
//! | `call_args` / `call_kwargs` | the arguments given to the worker by the dispatch (`submit(f, a, b)`) |
//! | `runs` | every `notebook.run` reached, in whichever file it is, with path / timeout / arguments expressions and static values |
//!
//! Ranges in [`ExprDesc`] and [`ReachedRun`] are ranges of the text of the document they belong
//! to (`ReachedRun::path` for runs, the fan-out's `path` for the rest). Resolve them to lines with
//! `Document::resolve`.
//!
//! ```no_run
//! # fn demo(project: &bricklint::project::Project, doc: &bricklint::source::Document) {
//! for f in bricklint::project::fanout::fan_outs(project, doc) {
//!     if f.kind.is_parallel() {
//!         let size = f.pool.as_ref().and_then(|p| p.size_bound);
//!         for run in &f.runs {
//!             let nb = run.call.path.as_ref().and_then(|p| p.value.as_ref());
//!             println!("{} runs {:?} with a pool of {:?}", run.path.display(), nb, size);
//!         }
//!     }
//! }
//! # }
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use ruff_text_size::TextRange;

pub use super::facts::{
    Dispatch, DispatchKind, ExprDesc, LoopKind, PoolFacts, RunCall, WorkerFacts, WorkerKind,
};
pub use super::model::PoolKind;
use super::scala::ScalaKind;
use crate::source::Document;

/// The shape of a fan-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanOutKind {
    /// Parallel work handed to a pool, executor or thread.
    Dispatch(DispatchKind),
    /// A sequential loop or comprehension.
    Loop(LoopKind),
    /// Scala `Future { ... }` (lexical scan).
    ScalaFuture,
    /// Scala parallel collection `xs.par.map { ... }` / `.par.foreach` (lexical scan).
    ScalaPar,
}

impl FanOutKind {
    /// True for thread/pool/future dispatches, false for sequential loops.
    pub fn is_parallel(self) -> bool {
        !matches!(self, FanOutKind::Loop(_))
    }
    pub fn describe(self) -> &'static str {
        match self {
            FanOutKind::Dispatch(d) => d.describe(),
            FanOutKind::Loop(LoopKind::For) => "for loop",
            FanOutKind::Loop(LoopKind::While) => "while loop",
            FanOutKind::Loop(LoopKind::Comprehension) => "comprehension",
            FanOutKind::ScalaFuture => "Scala Future",
            FanOutKind::ScalaPar => "Scala parallel collection",
        }
    }
}

/// A `notebook.run` reached from a fan-out.
#[derive(Debug, Clone)]
pub struct ReachedRun {
    /// The file holding the call (may differ from the fan-out's file).
    pub path: Arc<PathBuf>,
    /// Index of that file in `Project::documents` (None for Scala scans of the same file).
    pub doc: Option<usize>,
    /// The call with its path / timeout / arguments expressions.
    pub call: RunCall,
}

/// One fan-out (see the module documentation).
#[derive(Debug, Clone)]
pub struct FanOut {
    /// The file of the dispatch.
    pub path: Arc<PathBuf>,
    /// The dispatch call (`pool.map(...)`, `ex.submit(...)`, `Thread(...)`) or loop header.
    pub range: TextRange,
    pub kind: FanOutKind,
    /// Method or constructor name as written (`map`, `submit`, `Thread`, `Future`).
    pub method: String,
    pub pool: Option<PoolFacts>,
    pub worker: Option<WorkerFacts>,
    pub items: Option<ExprDesc>,
    pub call_args: Vec<ExprDesc>,
    pub call_kwargs: Vec<(Option<String>, ExprDesc)>,
    /// Every `notebook.run` reached (at most 64), in file then source order.
    pub runs: Vec<ReachedRun>,
    /// The dispatch result (futures) is discarded.
    pub result_discarded: bool,
    /// The dispatch sits in a loop (one `submit` / `Thread` per item).
    pub in_loop: bool,
    /// For loops: a retry loop (not a per-item fan-out).
    pub retry: bool,
    /// Index of the enclosing function in the file's facts (0 = module level).
    pub func: usize,
    /// When this fan-out is a call handing a worker to a generic helper that dispatches its
    /// parameter (`run_parallel(run_notebook, paths)` with `def run_parallel(fn, items): ...
    /// ex.map(fn, items)`): the file and range of the helper's dispatch. `range` is then the
    /// call of the helper, and `pool` is set only when the helper is in the same file.
    pub helper: Option<(Arc<PathBuf>, TextRange)>,
    /// Scala: `Future { ... }.recover { case e => "ERROR" }` (or `recoverWith`) whose handler
    /// does not throw, so the failure becomes a value: the range of `.recover { ... }`.
    pub recovered: Option<TextRange>,
}

/// A Scala fan-out of the lexical scan as a [`FanOut`] (runs in the same file).
pub fn from_scala(doc: &Document, f: super::scala::ScalaFanOut) -> FanOut {
    FanOut {
        path: doc.path.clone(),
        range: f.range,
        kind: match f.kind {
            ScalaKind::Future => FanOutKind::ScalaFuture,
            ScalaKind::Par => FanOutKind::ScalaPar,
        },
        method: f.method,
        pool: None,
        worker: None,
        items: None,
        call_args: Vec::new(),
        call_kwargs: Vec::new(),
        runs: f
            .runs
            .into_iter()
            .map(|call| ReachedRun {
                path: doc.path.clone(),
                doc: None,
                call,
            })
            .collect(),
        result_discarded: false,
        in_loop: false,
        retry: false,
        func: 0,
        helper: None,
        recovered: f.recovered,
    }
}

/// Every `dbutils.notebook.run` of the Scala cells of a document (a lexical scan), with the
/// literal timeouts case-class constructions give them (ORC006).
pub fn scala_runs(doc: &Document) -> Vec<RunCall> {
    super::scala::runs(doc)
}
