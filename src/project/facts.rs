//! Per-notebook payload facts, computed once per document (in parallel) for the project index:
//! the task-value keys a notebook sets (with the value's shape and size, or dynamic), its
//! `dbutils.notebook.exit` values, the widgets it reads and defines, `getArgument`, and its
//! `taskValues.get(taskKey=, key=)` calls. Ranges are document ranges.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use ruff_text_size::TextRange;

use crate::config::Config;
use crate::payload::Contract;
use crate::python::value::{self as eval, Arg, CallKind, Recorded, Value};
use crate::source::{Document, Token};

/// One `dbutils.jobs.taskValues.set(key, value)` call.
#[derive(Debug, Clone)]
pub struct TaskValueSet {
    /// The literal key when every time the call is reached it has the same one.
    pub key: Option<String>,
    /// Every literal key seen (a loop over a known list sets several).
    pub keys: Vec<String>,
    /// The key is not a string literal in at least one observation.
    pub key_dynamic: bool,
    /// The key argument (for non-literal / non-string keys).
    pub key_value: Option<Value>,
    pub key_range: Option<TextRange>,
    /// The whole call.
    pub range: TextRange,
    pub func_range: TextRange,
    /// The value, joined over every observation (dynamic when they differ).
    pub value: Option<Value>,
    pub value_range: Option<TextRange>,
    /// The value argument is a direct `json.dumps(...)` call.
    pub value_is_dumps_call: bool,
    /// Range of `x` in a direct `json.dumps(x)` value.
    pub dumps_inner: Option<TextRange>,
    /// Straight-line block of the call (calls sharing it both run).
    pub block: Vec<u32>,
    /// Reached from module code with known arguments.
    pub reached: bool,
}

/// One `dbutils.notebook.exit(value)` call.
#[derive(Debug, Clone)]
pub struct NotebookExit {
    pub range: TextRange,
    pub value: Option<Value>,
    pub value_range: Option<TextRange>,
}

/// A widget read: `dbutils.widgets.get(name)` or `getArgument(name[, default])`.
#[derive(Debug, Clone)]
pub struct WidgetRead {
    /// `None` when the name is not a literal.
    pub name: Option<String>,
    pub range: TextRange,
    pub name_range: Option<TextRange>,
    /// `getArgument(name, default)` carries its own default.
    pub has_default: bool,
    /// `widgets.get` or `getArgument`.
    pub via: &'static str,
}

/// A widget definition: `dbutils.widgets.text/dropdown/combobox/multiselect(name, default)`.
#[derive(Debug, Clone)]
pub struct WidgetDef {
    pub name: Option<String>,
    pub range: TextRange,
    pub kind: &'static str,
    pub default: Option<Value>,
}

/// One `dbutils.jobs.taskValues.get(taskKey, key, default, debugValue)` call.
#[derive(Debug, Clone)]
pub struct TaskValueGet {
    pub task_key: Option<String>,
    pub key: Option<String>,
    pub range: TextRange,
    pub func_range: TextRange,
    pub task_key_range: Option<TextRange>,
    pub key_range: Option<TextRange>,
    pub has_default: bool,
    pub has_debug_value: bool,
}

/// The keys a notebook sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySet {
    /// Every key is known.
    Known(BTreeSet<String>),
    /// Some key is computed at run time: any key may be set.
    Dynamic,
}

impl KeySet {
    pub fn may_contain(&self, key: &str) -> bool {
        match self {
            KeySet::Known(s) => s.contains(key),
            KeySet::Dynamic => true,
        }
    }
}

/// Payload facts of one document.
#[derive(Debug, Clone, Default)]
pub struct DocFacts {
    pub sets: Vec<TaskValueSet>,
    pub exits: Vec<NotebookExit>,
    pub widget_reads: Vec<WidgetRead>,
    pub widget_defs: Vec<WidgetDef>,
    /// `dbutils.widgets.getAll()` or `getArgument()` without a name: any parameter may be read.
    pub reads_all_widgets: bool,
    /// A widget read whose name is not a literal.
    pub dynamic_widget_reads: bool,
    pub gets: Vec<TaskValueGet>,
    /// Analysis failed (an internal error): treat the notebook as not analysable.
    pub failed: bool,
}

impl DocFacts {
    /// The task-value keys this notebook sets.
    pub fn keys(&self) -> KeySet {
        if self.failed || self.sets.iter().any(|s| s.key_dynamic) {
            return KeySet::Dynamic;
        }
        KeySet::Known(
            self.sets
                .iter()
                .flat_map(|s| s.keys.iter().cloned())
                .collect(),
        )
    }

    /// The set calls for `key`.
    pub fn sets_of<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a TaskValueSet> + 'a {
        self.sets
            .iter()
            .filter(move |s| s.keys.iter().any(|k| k == key))
    }

    /// Widget names the notebook defines (with a default value).
    pub fn defined_widgets(&self) -> BTreeSet<&str> {
        self.widget_defs
            .iter()
            .filter_map(|d| d.name.as_deref())
            .collect()
    }

    /// Every parameter name the notebook reads or defines.
    pub fn parameter_names(&self) -> BTreeSet<&str> {
        let mut s = self.defined_widgets();
        s.extend(self.widget_reads.iter().filter_map(|r| r.name.as_deref()));
        s
    }

    /// Reads that fail without a passed parameter: `widgets.get(name)` where the notebook
    /// defines no widget `name`, and `getArgument(name)` without default.
    pub fn reads_without_default(&self) -> Vec<&WidgetRead> {
        let defined = self.defined_widgets();
        let mut seen = BTreeSet::new();
        self.widget_reads
            .iter()
            .filter(|r| !r.has_default)
            .filter(|r| r.name.as_deref().is_some_and(|n| !defined.contains(n)))
            .filter(|r| seen.insert(r.name.clone()))
            .collect()
    }
}

fn str_arg(a: Option<&Arg>) -> Option<String> {
    a.and_then(|a| match &a.value {
        Value::Str(s) => Some(s.clone()),
        _ => None,
    })
}

/// Does a cell mention what payload calls are made of ([`PAYLOAD_NAMES`]: `dbutils`, widgets,
/// task values, `notebook`, `getArgument`)? Every recorded call names one of these.
#[cfg(test)]
fn payload_cell(cell: &str) -> bool {
    use aho_corasick::{AhoCorasick, MatchKind};
    static AC: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    match AC.get_or_init(|| {
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(PAYLOAD_NAMES)
            .ok()
    }) {
        Some(ac) => ac.is_match(cell),
        None => true,
    }
}

/// Build the facts of one document from its recorded calls.
///
/// A document nothing parsed yet is first evaluated on its payload cells alone (the cells that
/// mention `dbutils`, widgets, task values or notebooks: usually a few lines of a long notebook).
/// When every recorded call is reached from module code with fully known arguments, those facts
/// are exact and the rest of the notebook is never parsed. Otherwise the whole document is
/// evaluated on a private copy, so its syntax tree is freed here instead of staying alive for
/// the whole run (peak memory).
pub fn doc_facts(doc: &Document) -> DocFacts {
    if !doc.has_any(&[
        Token::Widgets,
        Token::TaskValues,
        Token::Notebook,
        Token::GetArgument,
    ]) {
        // No payload call at all; `dbutils` may still be handed to code in another file that
        // reads widgets (`read_params(dbutils)`): parse the cells that mention it and look.
        if doc.has(Token::Dbutils) && dbutils_maybe_argument(&doc.text) {
            let keep = |cell: &crate::source::Cell| doc.text[cell.range].contains("dbutils");
            let py = crate::source::python::PythonSource::build_cells(doc, &keep);
            let (handed, aliased) = dbutils_handed_out(&py);
            // An alias (`utils = dbutils`) may be handed out in a cell that does not say
            // `dbutils`: then look at the whole notebook.
            let handed = handed
                || aliased
                    && dbutils_handed_out(&crate::source::python::PythonSource::build(doc)).0;
            return DocFacts {
                reads_all_widgets: handed,
                ..Default::default()
            };
        }
        return DocFacts::default();
    }
    if doc.python_is_parsed() {
        return eval_facts(doc);
    }
    if doc.cells.len() > 1 {
        let keep = |cell: &crate::source::Cell| doc.payload_in(cell.range);
        let py = crate::source::python::PythonSource::build_cells(doc, &keep);
        if let Ok(Some(recorded)) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // Without the semantic model: a call it alone would resolve (an alias of
            // `dbutils`) is either counted by `direct_calls` and then missing from
            // `recorded`, or makes `direct_calls` give up; both send the notebook to the full
            // evaluation below.
            let calls = direct_calls(&py)?;
            let recorded = eval::evaluate_with(&py, &doc.path, false);
            let mut seen: Vec<TextRange> = recorded.iter().map(|r| r.range).collect();
            seen.sort_by_key(|r| (r.start(), r.end()));
            seen.dedup();
            (calls == seen.len() && recorded.iter().all(self_contained)).then_some(recorded)
        })) {
            return from_records(&recorded);
        }
    }
    eval_facts(&doc.fresh_copy())
}

/// Segments that make a dotted name a payload object (`dbutils`, `dbutils.widgets`, ...).
const PAYLOAD_NAMES: &[&str] = &[
    "dbutils",
    "widgets",
    "taskValues",
    "task_values",
    "notebook",
    "getArgument",
    "jobs",
];

/// The number of calls in `py` made directly on a dotted payload name
/// (`dbutils.widgets.get(...)`, `getArgument(...)`), or `None` when a payload name is used any
/// other way (`w = dbutils.widgets`, `helper(dbutils)`, `get_dbutils(spark).widgets.get(...)`):
/// then calls elsewhere may go through it, and the cells left out can matter.
fn direct_calls(py: &crate::source::python::PythonSource) -> Option<usize> {
    use ruff_python_ast::visitor::{walk_expr, Visitor};
    use ruff_python_ast::Expr;
    /// `Some(mentions a payload name)` for a dotted name, `None` for any other expression.
    fn dotted(e: &Expr) -> Option<bool> {
        match e {
            Expr::Name(n) => Some(PAYLOAD_NAMES.contains(&n.id.as_str())),
            Expr::Attribute(a) => {
                dotted(&a.value).map(|m| m || PAYLOAD_NAMES.contains(&a.attr.as_str()))
            }
            _ => None,
        }
    }
    struct Calls {
        n: usize,
        escaped: bool,
    }
    impl<'a> Visitor<'a> for Calls {
        fn visit_expr(&mut self, e: &'a Expr) {
            if self.escaped {
                return;
            }
            match e {
                Expr::Call(c) if dotted(&c.func) == Some(true) => {
                    self.n += 1;
                    self.visit_arguments(&c.arguments);
                }
                Expr::Name(_) | Expr::Attribute(_) if dotted(e) == Some(true) => {
                    self.escaped = true;
                }
                // A payload attribute of something that is not a dotted name
                // (`get_dbutils(spark).widgets`, `ctx["dbutils"].widgets`).
                Expr::Attribute(a)
                    if PAYLOAD_NAMES.contains(&a.attr.as_str()) && dotted(e).is_none() =>
                {
                    self.escaped = true;
                }
                _ => walk_expr(self, e),
            }
        }
    }
    let mut v = Calls {
        n: 0,
        escaped: false,
    };
    v.visit_body(&py.module().body);
    (!v.escaped).then_some(v.n)
}

/// A call whose facts cannot depend on the cells left out: reached from module code, every
/// observation kept, every argument a fully known value.
fn self_contained(r: &Recorded) -> bool {
    r.reached
        && !r.truncated
        && r.observations
            .iter()
            .all(|obs| obs.iter().all(|a| known(&a.value)))
}

fn known(v: &Value) -> bool {
    match v {
        Value::None | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Str(_) => true,
        Value::List(items) | Value::Tuple(items) => items.iter().all(known),
        Value::Dict(items) => items.iter().all(|(k, v)| known(k) && known(v)),
        Value::Dumped { inner, text, .. } => text.is_some() && known(inner),
        Value::Set(..)
        | Value::Obj(_)
        | Value::File(_)
        | Value::DataFrame(_)
        | Value::Dynamic { .. } => false,
    }
}

fn eval_facts(doc: &Document) -> DocFacts {
    let Some(py) = doc.python() else {
        return DocFacts::default();
    };
    let recorded = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        eval::evaluate(py, &doc.path)
    })) {
        Ok(r) => r,
        Err(_) => {
            return DocFacts {
                failed: true,
                ..Default::default()
            }
        }
    };
    let mut f = from_records(&recorded);
    f.reads_all_widgets |= dbutils_handed_out(py).0;
    f
}

/// Can `dbutils` be an argument somewhere in `text` (an occurrence right after `(`, `,` or `=`,
/// blanks between)? A byte prefilter for [`dbutils_handed_out`]: `false` is exact.
fn dbutils_maybe_argument(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memmem::find_iter(b, b"dbutils").any(|i| {
        b[..i]
            .iter()
            .rev()
            .find(|c| !c.is_ascii_whitespace())
            .is_some_and(|c| matches!(c, b'(' | b',' | b'='))
    })
}

/// Is `dbutils` (or `dbutils.widgets`, or a name assigned one of them) passed to a function or
/// class this notebook does not define, e.g. `params = read_params(dbutils)` with `read_params`
/// imported from a module? The widgets that code reads are unknown, so the notebook counts as
/// one that may read every parameter (like `dbutils.widgets.getAll()`). Functions and classes
/// the notebook defines are followed by the evaluator and do not count. Also returns whether
/// `py` assigns such an alias (`utils = dbutils`), wherever it is used.
fn dbutils_handed_out(py: &crate::source::python::PythonSource) -> (bool, bool) {
    use ruff_python_ast::visitor::{walk_expr, walk_stmt, Visitor};
    use ruff_python_ast::{Expr, Stmt};
    if memchr::memmem::find(py.text.as_bytes(), b"dbutils").is_none() {
        return (false, false);
    }
    /// `dbutils`, `dbutils.widgets`, or one of the aliases.
    fn is_dbutils_object(e: &Expr, aliases: &[&str]) -> bool {
        match e {
            Expr::Name(n) => n.id.as_str() == "dbutils" || aliases.contains(&n.id.as_str()),
            Expr::Attribute(a) => {
                a.attr.as_str() == "widgets" && is_dbutils_object(&a.value, aliases)
            }
            _ => false,
        }
    }
    fn root_name(e: &Expr) -> Option<&str> {
        match e {
            Expr::Name(n) => Some(n.id.as_str()),
            Expr::Attribute(a) => root_name(&a.value),
            _ => None,
        }
    }
    /// The functions and classes defined, and the plain assignments to a name (the candidates
    /// for aliases).
    #[derive(Default)]
    struct Defs<'a> {
        defs: Vec<&'a str>,
        assigns: Vec<(&'a str, &'a Expr)>,
    }
    impl<'a> Visitor<'a> for Defs<'a> {
        fn visit_stmt(&mut self, s: &'a Stmt) {
            match s {
                Stmt::FunctionDef(f) => self.defs.push(f.name.as_str()),
                Stmt::ClassDef(c) => self.defs.push(c.name.as_str()),
                Stmt::Assign(a) => {
                    for t in &a.targets {
                        if let Expr::Name(n) = t {
                            self.assigns.push((n.id.as_str(), &a.value));
                        }
                    }
                }
                Stmt::AnnAssign(a) => {
                    if let (Expr::Name(n), Some(v)) = (&*a.target, &a.value) {
                        self.assigns.push((n.id.as_str(), v));
                    }
                }
                _ => {}
            }
            walk_stmt(self, s);
        }
    }
    struct Handed<'d> {
        defs: &'d [&'d str],
        aliases: &'d [&'d str],
        found: bool,
    }
    impl<'a> Visitor<'a> for Handed<'_> {
        fn visit_expr(&mut self, e: &'a Expr) {
            if self.found {
                return;
            }
            if let Expr::Call(c) = e {
                let local = match root_name(&c.func) {
                    Some("self" | "cls") => true,
                    Some(n) => self.defs.contains(&n),
                    None => false,
                };
                let args = c.arguments.args.iter();
                let kw = c.arguments.keywords.iter().map(|k| &k.value);
                if !local && args.chain(kw).any(|a| is_dbutils_object(a, self.aliases)) {
                    self.found = true;
                    return;
                }
            }
            walk_expr(self, e);
        }
    }
    let body = &py.module().body;
    let mut defs = Defs::default();
    defs.visit_body(body);
    // Aliases of aliases (`u = dbutils`, `w = u.widgets`): to a fixpoint, flow-insensitively (a
    // name once bound to dbutils counts everywhere: the notebook may then read any parameter,
    // which only silences findings).
    let mut aliases: Vec<&str> = Vec::new();
    loop {
        let before = aliases.len();
        for (name, value) in &defs.assigns {
            if *name != "dbutils" && !aliases.contains(name) && is_dbutils_object(value, &aliases) {
                aliases.push(name);
            }
        }
        if aliases.len() == before {
            break;
        }
    }
    let mut h = Handed {
        defs: &defs.defs,
        aliases: &aliases,
        found: false,
    };
    h.visit_body(body);
    (h.found, !aliases.is_empty())
}

pub fn from_records(recorded: &[Recorded]) -> DocFacts {
    let mut f = DocFacts::default();
    for r in recorded {
        match r.kind {
            CallKind::TaskValueSet => {
                let mut keys = Vec::new();
                let mut key_dynamic = r.truncated;
                for i in 0..r.observations.len() {
                    match r.arg(i, "key", 0).map(|a| &a.value) {
                        Some(Value::Str(k)) => {
                            if !keys.contains(k) {
                                keys.push(k.clone());
                            }
                        }
                        _ => key_dynamic = true,
                    }
                }
                let key = (!key_dynamic && keys.len() == 1).then(|| keys[0].clone());
                let key_arg = r.arg(0, "key", 0);
                let value = r.joined("value", 1);
                f.sets.push(TaskValueSet {
                    key,
                    keys,
                    key_dynamic,
                    key_value: r.joined("key", 0).map(|x| x.0),
                    key_range: key_arg.map(|a| a.range),
                    range: r.range,
                    func_range: r.func_range,
                    value_range: value.as_ref().map(|v| v.1),
                    value_is_dumps_call: value.as_ref().is_some_and(|v| v.2),
                    dumps_inner: r.arg(0, "value", 1).and_then(|a| a.dumps_inner),
                    value: value.map(|v| v.0),
                    block: r.block.clone(),
                    reached: r.reached,
                });
            }
            CallKind::NotebookExit => {
                let value = r.joined("value", 0);
                f.exits.push(NotebookExit {
                    range: r.range,
                    value_range: value.as_ref().map(|v| v.1),
                    value: value.map(|v| v.0),
                });
            }
            CallKind::WidgetGet | CallKind::GetArgument => {
                let via = if r.kind == CallKind::WidgetGet {
                    "widgets.get"
                } else {
                    "getArgument"
                };
                for i in 0..r.observations.len().max(1) {
                    let name_arg = r.arg(i, "name", 0).or_else(|| r.arg(i, "argName", 0));
                    let name = str_arg(name_arg);
                    if name.is_none() {
                        f.dynamic_widget_reads = true;
                    }
                    let has_default = r.kind == CallKind::GetArgument
                        && (r.arg(i, "defaultValue", 1).is_some()
                            || r.arg(i, "default", 1).is_some());
                    f.widget_reads.push(WidgetRead {
                        name,
                        range: r.range,
                        name_range: name_arg.map(|a| a.range),
                        has_default,
                        via,
                    });
                }
            }
            CallKind::WidgetDefine(kind) => {
                for i in 0..r.observations.len().max(1) {
                    f.widget_defs.push(WidgetDef {
                        name: str_arg(r.arg(i, "name", 0)),
                        range: r.range,
                        kind,
                        default: r.arg(i, "defaultValue", 1).map(|a| a.value.clone()),
                    });
                }
            }
            CallKind::WidgetGetAll => f.reads_all_widgets = true,
            CallKind::TaskValueGet => {
                let tk = r.arg(0, "taskKey", 0);
                let k = r.arg(0, "key", 1);
                f.gets.push(TaskValueGet {
                    task_key: str_arg(tk),
                    key: str_arg(k),
                    range: r.range,
                    func_range: r.func_range,
                    task_key_range: tk.map(|a| a.range),
                    key_range: k.map(|a| a.range),
                    has_default: r.arg(0, "default", 2).is_some(),
                    // `debugValue=None` raises like a missing one.
                    has_debug_value: r
                        .arg(0, "debugValue", 3)
                        .is_some_and(|a| a.value != Value::None),
                });
            }
        }
    }
    // Dedupe widget reads of the same call with the same name.
    f.widget_reads
        .dedup_by(|a, b| a.range == b.range && a.name == b.name);
    f
}

/// Payload facts of the whole project, computed lazily: a document's facts are evaluated the
/// first time a rule (or `plan`) asks for them, so notebooks nobody asks about are never parsed
/// for payloads.
#[derive(Debug, Default)]
pub struct PayloadIndex {
    slots: crate::fasthash::PathMap<Slot>,
    /// `[task-values.<key>]` contracts, compiled (or the error loading the schema).
    pub contracts: BTreeMap<String, Result<Arc<Contract>, String>>,
}

#[derive(Debug)]
struct Slot {
    doc: Arc<Document>,
    facts: OnceLock<Arc<DocFacts>>,
}

/// Can `doc` set or get a task value, or call `notebook.exit`? (A byte search: `false` is exact.)
pub fn mentions_task_values(doc: &Document) -> bool {
    doc.has_python() && doc.has_any(&[Token::TaskValues, Token::Exit])
}

/// Does `doc` write a task value or call `notebook.exit` (what the TV rules report on)? Such a
/// document is analysed in full (parsed, NB001 reported); one that only reads task values or
/// widgets is evaluated on its payload cells alone (see [`doc_facts`]).
pub fn writes_task_values(doc: &Document) -> bool {
    doc.has_python() && doc.has_any(&[Token::TaskValueSet, Token::Exit])
}

impl PayloadIndex {
    pub fn build(documents: &[Arc<Document>], config: &Config) -> PayloadIndex {
        let mut slots =
            crate::fasthash::PathMap::with_capacity_and_hasher(documents.len(), Default::default());
        slots.extend(documents.iter().filter(|d| d.has_python()).map(|d| {
            (
                crate::fasthash::PathKey((*d.path).clone()),
                Slot {
                    doc: d.clone(),
                    facts: OnceLock::new(),
                },
            )
        }));
        let contracts = config
            .task_values
            .keys()
            .map(|k| {
                let c = Contract::load(config, k).and_then(|c| {
                    c.map(Arc::new)
                        .ok_or_else(|| format!("no contract for `{k}`"))
                });
                (k.clone(), c)
            })
            .collect();
        PayloadIndex { slots, contracts }
    }

    /// The payload facts of a Python document (evaluated on first use).
    pub fn get(&self, path: &std::path::Path) -> Option<&DocFacts> {
        let s = self.slots.get(crate::fasthash::key(path))?;
        Some(s.facts.get_or_init(|| Arc::new(doc_facts(&s.doc))))
    }

    /// The payload facts of `doc`, evaluated with `doc` itself when they are not known yet (a
    /// rule's document whose syntax tree is already parsed is not parsed again).
    pub fn get_for(&self, doc: &Document) -> Option<&DocFacts> {
        let s = self.slots.get(crate::fasthash::key(&doc.path))?;
        Some(s.facts.get_or_init(|| Arc::new(doc_facts(doc))))
    }

    /// The facts the TV rules check on `doc`: `None` (nothing to check, nothing parsed) when
    /// the document mentions no task-value call and no `exit`.
    pub fn task_values_of(&self, doc: &Document) -> Option<&DocFacts> {
        if !mentions_task_values(doc) {
            return None;
        }
        self.get_for(doc)
    }

    /// The size limit for a key: its contract's `max-bytes`, else 48 KiB.
    pub fn max_bytes(&self, key: Option<&str>) -> u64 {
        key.and_then(|k| self.contracts.get(k))
            .and_then(|c| c.as_ref().ok())
            .map(|c| c.max_bytes)
            .unwrap_or(crate::limits::TASK_VALUE_MAX_BYTES)
    }
}

#[cfg(test)]
mod tests {
    /// The token scan's answer for a cell is the substring search's, whatever the text.
    mod payload_marks {
        use crate::source::{Document, FileKind, Lang};
        /// Pieces of text besides the payload names themselves.
        const OTHER: &[&str] = &[
            "import",
            "importaskValues",
            "importask_values",
            "getArgumentaskValues",
            "exit(",
            "bricklint:",
            "x",
            " ",
            ".",
            "\n",
            "\n# COMMAND ----------\n",
            "# MAGIC %md\n",
            "é",
            "notebook source",
            "jobs.taskValues",
        ];
        fn piece(i: usize) -> &'static str {
            let names = super::super::PAYLOAD_NAMES;
            names
                .get(i)
                .copied()
                .unwrap_or_else(|| OTHER[i - names.len()])
        }
        proptest::proptest! {
            #[test]
            fn payload_in_agrees_with_a_substring_search(
                picks in proptest::collection::vec(0..super::super::PAYLOAD_NAMES.len() + OTHER.len(), 0..40),
            ) {
                let mut text = String::from("# Databricks notebook source\n");
                for p in &picks {
                    text.push_str(piece(*p));
                }
                let doc = Document::load(
                    std::sync::Arc::new("nb.py".into()),
                    FileKind::SourceNotebook(Lang::Python),
                    text,
                )
                .unwrap();
                for c in &doc.cells {
                    proptest::prop_assert_eq!(
                        doc.payload_in(c.range),
                        super::super::payload_cell(&doc.text[c.range]),
                        "{:?}",
                        &doc.text[c.range]
                    );
                }
            }
        }
    }

    use super::*;
    use crate::source::python::PythonSource;

    fn facts(code: &str) -> DocFacts {
        let py = PythonSource::from_text(code);
        from_records(&eval::evaluate(&py, std::path::Path::new("/x/nb.py")))
    }

    #[test]
    fn keys_known_and_dynamic() {
        let f = facts("for k in ['a', 'b']:\n    dbutils.jobs.taskValues.set(k, 1)\n");
        assert_eq!(
            f.keys(),
            KeySet::Known(["a".to_string(), "b".to_string()].into_iter().collect())
        );
        let f = facts("dbutils.jobs.taskValues.set(f'k_{x}', 1)\n");
        assert_eq!(f.keys(), KeySet::Dynamic);
    }

    #[test]
    fn widgets_with_and_without_default() {
        let f = facts(
            "dbutils.widgets.text('env', 'dev')\nenv = dbutils.widgets.get('env')\nt = dbutils.widgets.get('table')\na = getArgument('x', 'd')\nb = getArgument('y')\n",
        );
        let names: Vec<_> = f
            .reads_without_default()
            .iter()
            .filter_map(|r| r.name.clone())
            .collect();
        assert_eq!(names, vec!["table".to_string(), "y".to_string()]);
        assert!(f.parameter_names().contains("x"));
    }

    #[test]
    fn dbutils_handed_to_code_elsewhere() {
        let handed = |code: &str| dbutils_handed_out(&PythonSource::from_text(code)).0;
        assert!(handed("from h import read\np = read(dbutils)\n"));
        assert!(handed(
            "s = Settings.from_widgets(widgets=dbutils.widgets)\n"
        ));
        assert!(!handed(
            "def read(d):\n    return d.widgets.get('x')\np = read(dbutils)\n"
        ));
        assert!(!handed(
            "class L:\n    def run(self):\n        self.go(dbutils)\n"
        ));
        assert!(!handed("x = dbutils.widgets.get('a')\nprint(x)\n"));
        assert!(!handed("f(dbutils.fs)\n"));
        assert!(dbutils_maybe_argument("p = read(\n    dbutils)"));
        assert!(!dbutils_maybe_argument("dbutils.fs.ls('/')\nx = 1"));
    }

    /// The facts of a notebook evaluated on its payload cells alone (when that is accepted)
    /// equal those of the whole notebook, for every fixture notebook and for the shapes where
    /// only the semantic model or a left-out cell knows a call goes to `dbutils`.
    #[test]
    fn payload_cells_agree_with_the_whole_notebook() {
        let header = "# Databricks notebook source\n";
        let sep = "\n\n# COMMAND ----------\n\n";
        let shapes = [
            vec!["import json", "x = dbutils.widgets.get('a')\ny = getArgument('b', 'd')"],
            vec!["d = get_dbutils(spark)", "x = d.widgets.get('a')"],
            vec!["import json", "x = get_dbutils(spark).widgets.get('a')"],
            vec![
                "def read(w):\n    return w.get('a')",
                "x = read(dbutils.widgets)",
            ],
            vec![
                "class P:\n    def __init__(self, dbutils):\n        self._d = dbutils\n    def get(self):\n        return self._d.widgets.get('a')",
                "p = P(dbutils)\nv = p.get()",
            ],
            vec!["w = dbutils.widgets", "x = w.get('a')\ndbutils.widgets.text('b', '')"],
            vec![
                "keys = ['a', 'b']",
                "for k in keys:\n    dbutils.jobs.taskValues.set(k, dbutils.widgets.get(k))",
            ],
            vec!["ctx = {'u': dbutils}", "x = ctx['u'].widgets.get('a')"],
            vec!["utils = dbutils", "params = read_params(utils)"],
            vec!["u = dbutils", "w = u.widgets", "cfg = load(w)"],
            vec!["x = dbutils.widgets.get('a')\nu = dbutils", "read_params(u)"],
        ];
        let mut docs: Vec<(String, String)> = shapes
            .iter()
            .enumerate()
            .map(|(i, cells)| {
                (
                    format!("/x/shape_{i}.py"),
                    format!("{header}{}", cells.join(sep)),
                )
            })
            .collect();
        fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                // Fixture links may point out of the repository: never followed.
                if p.is_symlink() {
                    continue;
                }
                if p.is_dir() {
                    walk(&p, out);
                } else if matches!(p.extension().and_then(|x| x.to_str()), Some("py" | "ipynb")) {
                    if let Ok(t) = std::fs::read_to_string(&p) {
                        out.push((p.to_string_lossy().into_owned(), t));
                    }
                }
            }
        }
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
            &mut docs,
        );
        assert!(docs.len() > 100, "{} notebooks", docs.len());
        for (path, text) in docs {
            let path = std::path::PathBuf::from(path);
            let kind = match crate::source::classify(&path, text.as_bytes()) {
                Some(k) => k,
                None => continue,
            };
            let Ok(doc) = Document::load(Arc::new(path.clone()), kind, text) else {
                continue;
            };
            if !doc.has_python() {
                continue;
            }
            let cells_only = format!("{:?}", doc_facts(&doc));
            let whole = format!("{:?}", eval_facts(&doc.fresh_copy()));
            assert_eq!(cells_only, whole, "{}", path.display());
        }
    }

    /// `dbutils` handed to code in another file through an alias, even in a cell that does not
    /// say `dbutils`: the notebook may read any parameter.
    #[test]
    fn aliases_of_dbutils_handed_out() {
        let notebook = |cells: &[&str]| {
            let text = format!(
                "# Databricks notebook source\n{}",
                cells.join("\n\n# COMMAND ----------\n\n")
            );
            let path = Arc::new(std::path::PathBuf::from("/x/nb.py"));
            let doc = Document::load(
                path,
                crate::source::FileKind::SourceNotebook(crate::source::Lang::Python),
                text,
            )
            .unwrap();
            doc_facts(&doc).reads_all_widgets
        };
        assert!(notebook(&[
            "utils = dbutils",
            "params = read_params(utils)"
        ]));
        assert!(notebook(&[
            "u: object = dbutils",
            "w = u.widgets",
            "cfg = load(w)"
        ]));
        assert!(notebook(&[
            "x = dbutils.widgets.get('a')\nu = dbutils",
            "read_params(u)"
        ]));
        assert!(notebook(&["a = b = dbutils", "f(x=b)"]));
        // An alias used only for calls on it, a local helper, or a name that is not an alias.
        assert!(!notebook(&["u = dbutils", "u.fs.ls('/')"]));
        assert!(!notebook(&["u = dbutils\ndef f(x):\n    return 1", "f(u)"]));
        assert!(!notebook(&[
            "d = 5",
            "read_params(d)\nx = dbutils.fs.ls('/')"
        ]));
    }

    #[test]
    fn task_value_gets() {
        let f =
            facts("v = dbutils.jobs.taskValues.get(taskKey='prep', key='objs', debugValue=[])\n");
        assert_eq!(f.gets[0].task_key.as_deref(), Some("prep"));
        assert_eq!(f.gets[0].key.as_deref(), Some("objs"));
        assert!(f.gets[0].has_debug_value);
        assert!(!f.gets[0].has_default);
    }
}
