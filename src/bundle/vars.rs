//! Variables: `--var` flags, the CLI's precedence of values, and `${ }` substitution.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ruff_text_size::{TextRange, TextSize};

use super::{refs, Bundle, Entry, LoadOptions, Loc, Node, Value, VarSource, Variable};
use crate::fasthash::{HashMap, HashSet};

/// Parse `--var` flag values as the Databricks CLI does: each is a comma-separated list of
/// `name=value` assignments (a value with a comma is written in double quotes, as in CSV:
/// `--var '"tags=a,b"'`).
pub fn parse_var_flags(flags: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for flag in flags {
        for item in split_csv(flag) {
            match item.split_once('=') {
                Some((name, value)) if !name.trim().is_empty() => {
                    out.push((name.trim().to_string(), value.to_string()))
                }
                _ => {
                    return Err(format!(
                    "unexpected --var value `{item}`: expected `name=value` (several as `a=1,b=2`)"
                ))
                }
            }
        }
    }
    Ok(out)
}

/// Split one CSV record (what pflag's string-slice flags accept): commas separate fields,
/// double quotes protect commas, `""` inside quotes is a quote.
fn split_csv(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Bytes of text that `${ }` substitution may build in one bundle, all strings together (as
/// `[limits] max-yaml-aliases` bounds aliases): variables defined as the previous one doubled
/// (`v2: ${var.v1}${var.v1}`) grow exponentially with the number of levels.
pub const MAX_SUBSTITUTED_BYTES: usize = 16 << 20;
/// The longest chain of variables referring to variables (`a` -> `b` -> ...).
pub const MAX_REFERENCE_DEPTH: usize = 64;
/// Passes over one string: a nested reference `${var.a_${var.b}}` needs two. The CLI repeats
/// its resolution up to 11 rounds (bundle/config/mutator/resolve_variable_references.go).
const MAX_ROUNDS: usize = 11;

/// What a [`VarIssue`] is about; each kind is reported by one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarIssueKind {
    /// Variables referring to each other in a cycle, or a complex variable to itself.
    Cycle,
    /// Substitution stopped by a budget ([`MAX_SUBSTITUTED_BYTES`], [`MAX_REFERENCE_DEPTH`]).
    Budget,
    /// `.databricks/bundle/<target>/variable-overrides.json` that the CLI refuses.
    OverridesFile,
}

/// A variable problem found while resolving variables, with its place.
#[derive(Debug, Clone)]
pub struct VarIssue {
    pub kind: VarIssueKind,
    pub loc: Loc,
    /// The YAML route, when known (empty otherwise).
    pub route: String,
    pub message: String,
    pub help: Option<String>,
}

impl VarIssue {
    fn new(kind: VarIssueKind, loc: Loc, message: impl Into<String>) -> Self {
        VarIssue {
            kind,
            loc,
            route: String::new(),
            message: message.into(),
            help: None,
        }
    }
    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    fn route(mut self, route: impl Into<String>) -> Self {
        self.route = route.into();
        self
    }
}

/// Variable values given from outside the YAML files.
pub(super) struct Overrides<'a> {
    pub flags: &'a [(String, String)],
    pub env: &'a [(String, String)],
    pub file: Option<&'a OverridesFile>,
}

/// A read `.databricks/bundle/<target>/variable-overrides.json`.
pub(super) struct OverridesFile {
    pub path: Arc<PathBuf>,
    pub text: String,
    pub values: serde_json::Map<String, serde_json::Value>,
}

impl OverridesFile {
    /// The 1-based line where `"name"` is written as a key.
    fn line_of(&self, name: &str) -> usize {
        let at = usize::from(self.key_loc(name).range.start());
        self.text[..at.min(self.text.len())].matches('\n').count() + 1
    }

    /// Where `"name"` is written as a key (the file's start when it cannot be found).
    fn key_loc(&self, name: &str) -> Loc {
        let quoted = serde_json::Value::String(name.to_string()).to_string();
        let range = self
            .text
            .match_indices(&quoted)
            .find(|(i, q)| self.text[i + q.len()..].trim_start().starts_with(':'))
            .map(|(i, q)| span(i, i + q.len()))
            .unwrap_or_else(|| span(0, 0));
        Loc::new(self.path.clone(), range)
    }
}

fn span(start: usize, end: usize) -> TextRange {
    TextRange::new(
        TextSize::new(start.min(u32::MAX as usize) as u32),
        TextSize::new(end.min(u32::MAX as usize) as u32),
    )
}

/// `.databricks/bundle/<target>/variable-overrides.json` (written by `databricks bundle`
/// commands for the target), if present. A file the CLI refuses (not JSON, not an object) is
/// an issue, as `readVariablesFromFile` in bundle/config/mutator/set_variables.go fails.
pub(super) fn read_overrides_file(
    root: &Path,
    target: &str,
    issues: &mut Vec<VarIssue>,
) -> Option<OverridesFile> {
    let p = root
        .join(".databricks")
        .join("bundle")
        .join(target)
        .join("variable-overrides.json");
    if !p.is_file() || !crate::boundary::Boundary::of_paths([root]).allows(&p) {
        return None;
    }
    let path = Arc::new(p);
    let at_start = Loc::new(path.clone(), span(0, 0));
    let text = match crate::fsutil::read_input_string(&path) {
        Ok(t) => t,
        Err(e) => {
            issues.push(VarIssue::new(
                VarIssueKind::OverridesFile,
                at_start,
                format!("cannot read the variable overrides of target `{target}`: {e}"),
            ));
            return None;
        }
    };
    let parsed: Result<serde_json::Value, _> = serde_json::from_str(&text);
    let values = match parsed {
        Ok(serde_json::Value::Object(m)) => m,
        Ok(other) => {
            let kind = match other {
                serde_json::Value::Array(_) => "a list",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Null => "null",
                _ => "a scalar",
            };
            let end = text.trim_end().len();
            let start = text.len() - text.trim_start().len();
            issues.push(
                VarIssue::new(
                    VarIssueKind::OverridesFile,
                    Loc::new(path.clone(), span(start, end.max(start))),
                    format!(
                        "the variable overrides of target `{target}` must be a JSON object, found {kind}: the CLI stops (`invalid format`)"
                    ),
                )
                .help(r#"write `{"name": "value", ...}`"#),
            );
            return None;
        }
        Err(e) => {
            let at = line_col_offset(&text, e.line(), e.column());
            let end = (at + 1..=text.len())
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(at);
            issues.push(
                VarIssue::new(
                    VarIssueKind::OverridesFile,
                    Loc::new(path.clone(), span(at, end)),
                    format!(
                        "the variable overrides of target `{target}` are not valid JSON at line {}, column {} ({}): the CLI stops",
                        e.line(),
                        e.column(),
                        json_error_text(&e)
                    ),
                )
                .help(r#"write `{"name": "value", ...}`, or delete the file"#),
            );
            return None;
        }
    };
    Some(OverridesFile { path, text, values })
}

/// A JSON error's message without serde's " at line L column C" suffix (the position is the
/// finding's).
fn json_error_text(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The byte offset of a 1-based line and column (serde_json's), clamped to the text.
fn line_col_offset(text: &str, line: usize, col: usize) -> usize {
    let mut offset = 0;
    for (n, l) in text.split_inclusive('\n').enumerate() {
        if n + 1 == line {
            let mut at = (offset + col.saturating_sub(1)).min(offset + l.len());
            while at > 0 && !text.is_char_boundary(at) {
                at -= 1;
            }
            return at.min(text.len());
        }
        offset += l.len();
    }
    text.len()
}

/// A value given on the command line or in the environment: a string, typed like a YAML
/// scalar when it reads as an integer, a number or a boolean (the CLI converts such strings
/// to the field's type).
fn external_value(text: &str, at: &Loc) -> Node {
    let numeric = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    let value = match (text.parse::<i64>(), text.parse::<f64>()) {
        (Ok(i), _) => Value::Int(i),
        (_, Ok(f)) if numeric && f.is_finite() => Value::Float(f),
        _ => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::Str(text.to_string()),
        },
    };
    Node::new(value, at.clone())
}

fn json_node(v: &serde_json::Value, at: &Loc) -> Node {
    use serde_json::Value as J;
    let value = match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or_default()),
        },
        J::String(s) => Value::Str(s.clone()),
        J::Array(a) => Value::Seq(Arc::new(a.iter().map(|x| json_node(x, at)).collect())),
        J::Object(m) => Value::Map(Arc::new(
            m.iter()
                .map(|(k, x)| Entry {
                    key: k.clone(),
                    key_loc: at.clone(),
                    value: json_node(x, at),
                })
                .collect(),
        )),
    };
    Node::new(value, at.clone())
}

/// Resolve the variables, substitute `${ }` references in `merged`, and record what went wrong
/// in [`Bundle::var_issues`]. Called by the loader once the target is merged.
pub(super) fn apply_variables(
    bundle: &mut Bundle,
    merged: &mut Node,
    target_vars: &[Entry],
    opts: &LoadOptions,
) {
    let mut issues = Vec::new();
    // Without `targets:` the CLI names the target `default`
    // (bundle/config/mutator/default_target.go).
    let target = match (&bundle.target, bundle.targets.is_empty()) {
        (Some(t), _) => Some(t.as_str()),
        (None, true) => Some("default"),
        (None, false) => None,
    };
    let file = target.and_then(|t| read_overrides_file(&bundle.root, t, &mut issues));
    let budget = Budget::default();
    let name = merged
        .get_path(&["bundle", "name"])
        .and_then(Node::as_str)
        .map(str::to_string);
    let over = Overrides {
        flags: &opts.vars,
        env: &opts.env_vars,
        file: file.as_ref(),
    };
    bundle.variables = resolve_variables(
        merged,
        target_vars,
        &over,
        &Names {
            target: bundle.target.as_deref(),
            name: name.as_deref(),
        },
        &budget,
        &mut issues,
    );
    let scope = TreeScope {
        vars: &bundle.variables,
        names: Names {
            target: bundle.target.as_deref(),
            name: name.as_deref(),
        },
        budget: &budget,
    };
    if let Some(n) = substituted(merged, &scope, 0) {
        *merged = n;
    }
    issues.extend(budget.into_issue());
    bundle.var_issues = issues;
}

/// `${bundle.target}` and `${bundle.name}`.
#[derive(Clone, Copy)]
struct Names<'a> {
    target: Option<&'a str>,
    name: Option<&'a str>,
}

impl Names<'_> {
    fn value(&self, i: &refs::Interpolation) -> Option<Node> {
        let s = &i.segments;
        let text = match (s.first().map(String::as_str), s.len()) {
            (Some("bundle"), 2) if s[1] == "target" && !i.path.contains('[') => self.target?,
            (Some("bundle"), 2) if s[1] == "name" && !i.path.contains('[') => self.name?,
            _ => return None,
        };
        Some(Node::new(
            Value::Str(text.to_string()),
            Loc::new(Arc::new(PathBuf::new()), TextRange::default()),
        ))
    }
}

/// The values of the declared variables with the CLI's precedence (before references are
/// resolved). A value of the overrides file of the wrong kind is an issue, as in
/// bundle/config/mutator/set_variables.go.
fn raw_variables(
    tree: &Node,
    target_vars: &[Entry],
    over: &Overrides<'_>,
    issues: &mut Vec<VarIssue>,
) -> BTreeMap<String, Variable> {
    let mut vars = BTreeMap::new();
    let Some(decl) = tree.get("variables").and_then(Node::as_map) else {
        return vars;
    };
    for e in decl {
        let is_lookup = e.value.get("lookup").is_some();
        let complex = e.value.get("type").and_then(Node::as_str) == Some("complex");
        let mut source = VarSource::Default;
        let mut value = match &e.value.value {
            Value::Map(_) => {
                if is_lookup {
                    None
                } else {
                    e.value.get("default").cloned()
                }
            }
            // `variables: {x: value}` is accepted by some versions as a shorthand default.
            Value::Null => None,
            _ => Some(e.value.clone()),
        };
        if let Some(o) = target_vars.iter().find(|t| t.key == e.key) {
            let ov = match &o.value.value {
                Value::Map(_) if o.value.get("default").is_some() => {
                    o.value.get("default").cloned()
                }
                Value::Map(_) if o.value.get("lookup").is_some() => None,
                Value::Map(_) if !complex => None,
                _ => Some(o.value.clone()),
            };
            if ov.is_some() || o.value.get("lookup").is_some() {
                value = ov;
                source = VarSource::Target;
            }
        }
        // Values from outside the YAML, lowest precedence first. The location of such a value
        // is the variable's declaration (there is no YAML text for it).
        let at = &e.key_loc;
        if let Some((f, v)) = over
            .file
            .and_then(|f| Some((f, f.values.get(&e.key)?)))
            .filter(|(_, v)| !v.is_null())
        {
            let structured = v.is_object() || v.is_array();
            if complex == structured {
                value = Some(json_node(v, at));
                source = VarSource::OverridesFile;
            } else {
                issues.push(
                    VarIssue::new(
                        VarIssueKind::OverridesFile,
                        f.key_loc(&e.key),
                        format!(
                            "variable `{}` is {}, but its value in the overrides file (line {}) {}: the CLI stops",
                            e.key,
                            if complex { "of type complex" } else { "not of type complex" },
                            f.line_of(&e.key),
                            if complex { "is not a mapping or a list" } else { "is a mapping or a list" },
                        ),
                    )
                    .help(format!("declare `{}` with `type: complex`, or give it a plain value", e.key)),
                );
            }
        }
        // The CLI rejects complex variables set from the environment or the command line.
        if !complex {
            if let Some((_, v)) = over.env.iter().rev().find(|(k, _)| *k == e.key) {
                value = Some(external_value(v, at));
                source = VarSource::Env;
            }
            if let Some((_, v)) = over.flags.iter().rev().find(|(k, _)| *k == e.key) {
                value = Some(external_value(v, at));
                source = VarSource::Flag;
            }
        }
        if value.is_none() {
            source = VarSource::Unknown;
        }
        vars.insert(
            e.key.clone(),
            Variable {
                name: e.key.clone(),
                key_loc: e.key_loc.clone(),
                value,
                source,
            },
        );
    }
    vars
}

/// The declared variables with their values for the selected target, references between them
/// resolved as the CLI's `dynvar.Resolve` does (libs/dyn/dynvar/resolve.go): each variable
/// once (memoised), depth first, a cycle reported with its chain and left without a value.
fn resolve_variables(
    tree: &Node,
    target_vars: &[Entry],
    over: &Overrides<'_>,
    names: &Names<'_>,
    budget: &Budget,
    issues: &mut Vec<VarIssue>,
) -> BTreeMap<String, Variable> {
    let raw = raw_variables(tree, target_vars, over, issues);
    let resolver = Resolver {
        raw: &raw,
        names: *names,
        budget,
        state: Mutex::new(State::default()),
    };
    let mut out = BTreeMap::new();
    for (name, v) in &raw {
        let value = resolver.resolve(name);
        out.insert(name.clone(), Variable { value, ..v.clone() });
    }
    let state = resolver
        .state
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    issues.extend(state.issues);
    out
}

/// A budget of substituted bytes, shared by every string of a bundle (substitution of a big
/// bundle runs in parallel).
#[derive(Default)]
pub(super) struct Budget {
    used: AtomicUsize,
    hit: Mutex<Option<VarIssue>>,
}

impl Budget {
    /// Spend `n` bytes for a string at `at`; false (and the first such place recorded) when
    /// the budget is exhausted.
    fn spend(&self, n: usize, at: &Loc, what: &str) -> bool {
        let before = self.used.fetch_add(n, Ordering::Relaxed);
        if before.saturating_add(n) <= MAX_SUBSTITUTED_BYTES {
            return true;
        }
        let mut hit = self.hit.lock().unwrap_or_else(|e| e.into_inner());
        if hit.is_none() {
            *hit = Some(
                VarIssue::new(
                    VarIssueKind::Budget,
                    at.clone(),
                    format!(
                        "substituting {what} would build more than {} MiB of text (variables that repeat other variables grow exponentially): bricklint stops substituting here and leaves the rest of the references as written",
                        MAX_SUBSTITUTED_BYTES >> 20
                    ),
                )
                .help("define each variable from its parts once instead of repeating a variable in another"),
            );
        }
        false
    }

    fn into_issue(self) -> Option<VarIssue> {
        self.hit.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

/// A step of a reference's path: `cluster`, `[0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// The steps of a well-formed reference path (`var.list[0].name`).
fn steps(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        out.push(Step::Key(name.to_string()));
        for ix in rest.split_terminator(']') {
            if let Ok(i) = ix.trim_start_matches('[').parse() {
                out.push(Step::Index(i));
            }
        }
    }
    out
}

/// The variable a reference names and the path inside its value: `${var.x.a}` and
/// `${variables.x.value.a}` give (`x`, [`a`]).
fn variable_path(i: &refs::Interpolation) -> Option<(String, Vec<Step>)> {
    if i.syntax_error.is_some() {
        return None;
    }
    let mut s = steps(&i.path).into_iter();
    let (Some(Step::Key(ns)), Some(Step::Key(name))) = (s.next(), s.next()) else {
        return None;
    };
    match ns.as_str() {
        "var" => Some((name, s.collect())),
        "variables" => match s.next() {
            Some(Step::Key(v)) if v == "value" => Some((name, s.collect())),
            _ => None,
        },
        _ => None,
    }
}

/// The node at `path` inside `node`.
fn field(node: &Node, path: &[Step]) -> Option<Node> {
    let mut cur = node;
    for step in path {
        cur = match (step, &cur.value) {
            (Step::Key(k), Value::Map(m)) => &m.iter().find(|e| e.key == *k)?.value,
            (Step::Index(i), Value::Seq(s)) => s.get(*i)?,
            _ => return None,
        };
    }
    Some(cur.clone())
}

/// What references resolve to while substituting.
trait Scope: Sync {
    /// The value of a reference; `None` leaves it as written.
    fn value(&self, i: &refs::Interpolation) -> Option<Node>;
    /// Whether wide mappings may be substituted in parallel.
    fn parallel(&self) -> bool;
    fn budget(&self) -> &Budget;
}

/// Substitution in the configuration: the variables are resolved already.
struct TreeScope<'a> {
    vars: &'a BTreeMap<String, Variable>,
    names: Names<'a>,
    budget: &'a Budget,
}

impl Scope for TreeScope<'_> {
    fn value(&self, i: &refs::Interpolation) -> Option<Node> {
        match variable_path(i) {
            Some((name, path)) => field(self.vars.get(&name)?.value.as_ref()?, &path),
            None => self.names.value(i),
        }
    }
    fn parallel(&self) -> bool {
        true
    }
    fn budget(&self) -> &Budget {
        self.budget
    }
}

#[derive(Default)]
struct State {
    /// Resolved variables (`None`: no value, or part of a cycle).
    memo: HashMap<String, Option<Node>>,
    /// The variables being resolved, outermost first.
    stack: Vec<String>,
    cyclic: HashSet<String>,
    issues: Vec<VarIssue>,
}

/// Resolution of the variables' own values, one variable at a time.
struct Resolver<'a> {
    raw: &'a BTreeMap<String, Variable>,
    names: Names<'a>,
    budget: &'a Budget,
    state: Mutex<State>,
}

impl Resolver<'_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value of variable `name` with its references substituted.
    fn resolve(&self, name: &str) -> Option<Node> {
        {
            let mut st = self.lock();
            if let Some(v) = st.memo.get(name) {
                return v.clone();
            }
            if let Some(pos) = st.stack.iter().position(|n| n == name) {
                let chain: Vec<String> = st.stack[pos..].to_vec();
                let first_report = chain.iter().all(|c| !st.cyclic.contains(c));
                st.cyclic.extend(chain.iter().cloned());
                if first_report {
                    let issue = self.cycle_issue(&chain);
                    st.issues.extend(issue);
                }
                return None;
            }
            if st.stack.len() >= MAX_REFERENCE_DEPTH {
                if let Some(v) = self.raw.get(name) {
                    let at = v.value.as_ref().map_or(&v.key_loc, |n| &n.loc).clone();
                    st.issues.push(
                        VarIssue::new(
                            VarIssueKind::Budget,
                            at,
                            format!(
                                "variable `{name}` is reached through a chain of more than {MAX_REFERENCE_DEPTH} variables referring to variables: bricklint stops resolving here",
                            ),
                        )
                        .route(format!("variables.{name}")),
                    );
                }
                st.memo.insert(name.to_string(), None);
                return None;
            }
            st.stack.push(name.to_string());
        }
        let raw = self.raw.get(name).and_then(|v| v.value.clone());
        let out = raw.map(|n| substituted(&n, self, 0).unwrap_or(n));
        let mut st = self.lock();
        st.stack.pop();
        let out = if st.cyclic.contains(name) { None } else { out };
        st.memo.insert(name.to_string(), out.clone());
        out
    }

    /// The issue of a cycle `chain[0] -> ... -> chain[0]`, at the first variable's value.
    fn cycle_issue(&self, chain: &[String]) -> Option<VarIssue> {
        let first = self.raw.get(&chain[0])?;
        let at = first.value.as_ref().map_or(&first.key_loc, |n| &n.loc);
        let path: Vec<String> = chain
            .iter()
            .chain(std::iter::once(&chain[0]))
            .map(|n| format!("var.{n}"))
            .collect();
        let message = if chain.len() == 1 {
            format!(
                "variable `{}` refers to itself: the CLI stops with `cycle detected in field resolution: {}`",
                chain[0],
                path.join(" -> ")
            )
        } else {
            format!(
                "variables refer to each other in a cycle ({}): the CLI stops with `cycle detected in field resolution`",
                path.join(" -> ")
            )
        };
        Some(
            VarIssue::new(VarIssueKind::Cycle, at.clone(), message)
                .route(format!("variables.{}", chain[0]))
                .help("give one of the variables a value that does not refer back"),
        )
    }
}

impl Scope for Resolver<'_> {
    fn value(&self, i: &refs::Interpolation) -> Option<Node> {
        match variable_path(i) {
            Some((name, path)) => {
                if !self.raw.contains_key(&name) {
                    return None;
                }
                field(&self.resolve(&name)?, &path)
            }
            None => self.names.value(i),
        }
    }
    fn parallel(&self) -> bool {
        false
    }
    fn budget(&self) -> &Budget {
        self.budget
    }
}

/// The node with its `${ }` references substituted, or `None` when nothing changes. One pass;
/// unchanged subtrees stay shared (they are shared with the file trees), and wide mappings
/// (the jobs of a big bundle) are processed in parallel when the scope allows it.
fn substituted<S: Scope>(node: &Node, scope: &S, depth: usize) -> Option<Node> {
    if depth > 200 {
        return None;
    }
    let value = match &node.value {
        Value::Str(s) => substituted_str(s, scope, &node.loc)?,
        Value::Seq(items) => {
            // The new list is only built from the first changed item on.
            let mut out: Option<Vec<Node>> = None;
            for (i, n) in items.iter().enumerate() {
                match (substituted(n, scope, depth + 1), &mut out) {
                    (Some(new), Some(v)) => v.push(new),
                    (Some(new), None) => {
                        let mut v = Vec::with_capacity(items.len());
                        v.extend_from_slice(&items[..i]);
                        v.push(new);
                        out = Some(v);
                    }
                    (None, Some(v)) => v.push(n.clone()),
                    (None, None) => {}
                }
            }
            Value::Seq(Arc::new(out?))
        }
        // Wide mappings (the jobs of a big bundle) in parallel.
        Value::Map(entries) if entries.len() >= 16 && scope.parallel() => {
            use rayon::prelude::*;
            let new: Vec<Option<Node>> = entries
                .par_iter()
                .map(|e| substituted(&e.value, scope, depth + 1))
                .collect();
            if new.iter().all(Option::is_none) {
                return None;
            }
            Value::Map(Arc::new(
                entries
                    .iter()
                    .zip(new)
                    .map(|(old, new)| with_value(old, new))
                    .collect(),
            ))
        }
        Value::Map(entries) => {
            let mut out: Option<Vec<Entry>> = None;
            for (i, e) in entries.iter().enumerate() {
                match (substituted(&e.value, scope, depth + 1), &mut out) {
                    (Some(new), Some(v)) => v.push(with_value(e, Some(new))),
                    (Some(new), None) => {
                        let mut v = Vec::with_capacity(entries.len());
                        v.extend_from_slice(&entries[..i]);
                        v.push(with_value(e, Some(new)));
                        out = Some(v);
                    }
                    (None, Some(v)) => v.push(e.clone()),
                    (None, None) => {}
                }
            }
            Value::Map(Arc::new(out?))
        }
        _ => return None,
    };
    Some(Node {
        value,
        loc: node.loc.clone(),
    })
}

/// The entry, with a new value when there is one.
fn with_value(old: &Entry, new: Option<Node>) -> Entry {
    match new {
        Some(value) => Entry {
            key: old.key.clone(),
            key_loc: old.key_loc.clone(),
            value,
        },
        None => old.clone(),
    }
}

/// Text length of a scalar substituted into a string.
fn scalar_len(n: &Node) -> Option<usize> {
    match &n.value {
        Value::Str(s) => Some(s.len()),
        Value::Map(_) | Value::Seq(_) | Value::Null => None,
        _ => n.scalar_text().map(|t| t.len()),
    }
}

/// A string with its references substituted (`None`: unchanged). A pure reference takes the
/// variable's value and type; the location stays at the reference. The text built is paid
/// from the budget before it is built; a string whose substitution yields new references
/// (`${var.a_${var.b}}`) is substituted again, up to [`MAX_ROUNDS`] times.
fn substituted_str<S: Scope>(s: &str, scope: &S, at: &Loc) -> Option<Value> {
    let mut cur: Option<String> = None;
    for _ in 0..MAX_ROUNDS {
        let text = cur.as_deref().unwrap_or(s);
        if !refs::has_interpolation(text) {
            break;
        }
        let items = refs::parse_interpolations(text);
        if items.len() == 1 && items[0].range == (0..text.len()) && items[0].syntax_error.is_none()
        {
            let Some(v) = scope.value(&items[0]) else {
                break;
            };
            if let Some(n) = scalar_len(&v) {
                if !scope
                    .budget()
                    .spend(n, at, &format!("`${{{}}}`", items[0].path))
                {
                    break;
                }
            }
            match v.value {
                Value::Str(x) if refs::has_interpolation(&x) && x != text => cur = Some(x),
                other => return Some(other),
            }
            continue;
        }
        let mut subs: Vec<(std::ops::Range<usize>, Node)> = Vec::new();
        for i in items.iter().filter(|i| i.syntax_error.is_none()) {
            if let Some(v) = scope.value(i).filter(|v| scalar_len(v).is_some()) {
                subs.push((i.range.clone(), v));
            }
        }
        if subs.is_empty() {
            break;
        }
        let removed: usize = subs.iter().map(|(r, _)| r.len()).sum();
        let added: usize = subs.iter().filter_map(|(_, v)| scalar_len(v)).sum();
        let len = (text.len() - removed).saturating_add(added);
        if !scope.budget().spend(len, at, "this string") {
            break;
        }
        let mut out = String::with_capacity(len);
        let mut last = 0;
        for (r, v) in &subs {
            out.push_str(&text[last..r.start]);
            match &v.value {
                Value::Str(x) => out.push_str(x),
                _ => out.push_str(&v.scalar_text().unwrap_or_default()),
            }
            last = r.end;
        }
        out.push_str(&text[last..]);
        if out == text {
            break;
        }
        cur = Some(out);
    }
    cur.map(Value::Str)
}
