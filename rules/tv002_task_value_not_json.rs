use crate::diagnostic::{Diagnostic, Severity};
use crate::project::DocContext;
use crate::python::value::Value;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TV002",
    name: "task-value-not-json",
    severity: Severity::Error,
    summary: "a task value JSON cannot express (set, datetime, Decimal, bytes, DataFrame/Row, NaN, non-string keys)",
    doc: r#"## What it does
Finds task values (`dbutils.jobs.taskValues.set`) that hold something JSON cannot express:
sets, `datetime`/`date`/`time`/`timedelta`, `Decimal`, `bytes`, UUIDs, Spark DataFrames and
`Row` objects (`df.collect()`, `df.first()`), pandas DataFrames, `float('nan')`/`inf`, complex
numbers, and dicts with keys that are not strings. The message gives the JSON pointer of the
offending part (`/0/updated_at`).

## Why is this bad?
A task value must be expressible as JSON. These values make `taskValues.set` fail at run time,
or (for NaN and non-string keys) produce JSON that other tools reject or that comes back with
different types (`{1: "a"}` is read back as `{"1": "a"}`).

## Example
```python
from datetime import date
dbutils.jobs.taskValues.set("run", {"day": date.today(), "tables": {"a", "b"}})
```

## Fix
Convert before setting: `date.isoformat()`, `str(decimal)` or `float(decimal)`,
`sorted(a_set)`, `[r.asDict() for r in rows]` (with its values converted too), `None` instead
of NaN, string keys.
"#,
    fixable: false,
};

pub struct TaskValueNotJson;

fn advice(what: &str) -> &'static str {
    if what.contains("set") && !what.contains("Row") {
        "convert the set to a list: `sorted(s)`"
    } else if what.contains("date") || what.contains("time") {
        "convert it to a string: `.isoformat()`"
    } else if what.contains("Decimal") {
        "convert it with `str(x)` or `float(x)`"
    } else if what.contains("Row") {
        "convert rows to dicts of JSON values: `[r.asDict() for r in rows]`, or pass only the needed fields"
    } else if what.contains("DataFrame") {
        "write the data to a table and pass its name, or collect only the needed fields"
    } else if what.contains("NaN") || what.contains("infinite") {
        "use None (JSON null) or a string instead of NaN/infinity"
    } else if what.contains("key") {
        "use string keys"
    } else if what.contains("bytes") {
        "decode bytes to a string (`.decode()`), or base64-encode them"
    } else {
        "convert it to strings, numbers, booleans, None, lists and dicts with string keys"
    }
}

impl Rule for TaskValueNotJson {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(facts) = ctx.project.index.payload.task_values_of(ctx.doc) else {
            return;
        };
        for s in &facts.sets {
            let Some(value) = &s.value else { continue };
            // json.dumps(x) fails on the same values.
            let (v, via_dumps) = match value {
                Value::Dumped { inner, .. } => (&**inner, true),
                v => (v, false),
            };
            let Some((pointer, nj)) = v.find_not_json() else {
                continue;
            };
            let range = s.value_range.unwrap_or(s.range);
            let key_text = s
                .key
                .as_deref()
                .map_or("a task value".to_string(), |k| format!("task value `{k}`"));
            let at = if pointer.is_empty() {
                String::new()
            } else {
                format!(" at `{pointer}`")
            };
            let msg = if via_dumps {
                format!("{key_text} is `json.dumps` of a value holding {}{at}, which JSON cannot express (json.dumps raises)", nj.what)
            } else {
                format!(
                    "{key_text} holds {}{at}, which JSON cannot express",
                    nj.what
                )
            };
            let mut d =
                Diagnostic::new(&META, ctx.doc.path.clone(), range, msg).help(advice(&nj.what));
            if !nj.range.is_empty() && nj.range != range {
                d = d.related(
                    ctx.doc.path.clone(),
                    nj.range,
                    format!("{} created here", nj.what),
                );
            }
            out.push(d);
        }
    }
}
