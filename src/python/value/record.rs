//! The `dbutils` calls the interpreter records (task values, `notebook.exit`, widgets), with
//! the evaluated arguments of every time a call is reached.

use ruff_text_size::TextRange;

use super::json::join;
use super::Value;

/// Observations kept per recorded call.
pub(super) const MAX_OBSERVATIONS: usize = 64;

/// What a recorded `dbutils` call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    TaskValueSet,
    TaskValueGet,
    NotebookExit,
    WidgetGet,
    /// `getArgument(name, default?)`.
    GetArgument,
    /// `dbutils.widgets.text/dropdown/combobox/multiselect` (the method name).
    WidgetDefine(&'static str),
    /// `dbutils.widgets.getAll()`, `getArgument()` without a name or
    /// `dbutils.notebook.entry_point.getCurrentBindings()`: reads every parameter.
    WidgetGetAll,
}

/// One evaluated argument.
#[derive(Debug, Clone)]
pub struct Arg {
    /// Keyword name, `None` for positional.
    pub name: Option<String>,
    pub value: Value,
    /// Document range of the argument expression.
    pub range: TextRange,
    /// The argument is a direct `json.dumps(...)` call.
    pub is_dumps_call: bool,
    /// For a direct `json.dumps(x)` call with one argument: the range of `x`.
    pub dumps_inner: Option<TextRange>,
}

/// A recorded call, with the arguments of every time the interpreter reached it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub kind: CallKind,
    /// Document range of the whole call.
    pub range: TextRange,
    /// Document range of the callee (`dbutils.jobs.taskValues.set`).
    pub func_range: TextRange,
    /// One entry per time the call was reached (capped); each the evaluated arguments.
    pub observations: Vec<Vec<Arg>>,
    /// More observations than kept.
    pub truncated: bool,
    /// Identifies the block (branch) the call is in; calls in the same straight-line block
    /// share it.
    pub block: Vec<u32>,
    /// Reached from module code (not only from a function never called with known arguments).
    pub reached: bool,
}

impl Recorded {
    /// The argument `name` or at `position` of observation `i`.
    pub fn arg(&self, i: usize, name: &str, position: usize) -> Option<&Arg> {
        let obs = self.observations.get(i)?;
        obs.iter()
            .find(|a| a.name.as_deref() == Some(name))
            .or_else(|| obs.iter().filter(|a| a.name.is_none()).nth(position))
    }

    /// The joined value of an argument over every observation.
    pub fn joined(&self, name: &str, position: usize) -> Option<(Value, TextRange, bool)> {
        let mut out: Option<(Value, TextRange, bool)> = None;
        for i in 0..self.observations.len() {
            if let Some(a) = self.arg(i, name, position) {
                out = Some(match out {
                    None => (a.value.clone(), a.range, a.is_dumps_call),
                    Some((v, r, d)) => (join(v, a.value.clone()), r, d || a.is_dumps_call),
                });
            }
        }
        if self.truncated {
            out = out.map(|(v, r, d)| (join(v, Value::unknown()), r, d));
        }
        out
    }

    /// Every distinct value of an argument (when each observation is known).
    pub fn values(&self, name: &str, position: usize) -> Vec<&Value> {
        let mut out: Vec<&Value> = Vec::new();
        for i in 0..self.observations.len() {
            if let Some(a) = self.arg(i, name, position) {
                if !out.contains(&&a.value) {
                    out.push(&a.value);
                }
            }
        }
        out
    }
}
