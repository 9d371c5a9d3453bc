use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, Severity};
use crate::project::DocContext;
use crate::python::value::Value;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TV004",
    name: "task-value-key-invalid",
    severity: Severity::Warning,
    summary: "a task-value key that is not a literal string, is empty, or is set twice in one task",
    doc: r#"## What it does
Checks the `key` of `dbutils.jobs.taskValues.set(key, value)`:

- a key computed at run time (an f-string, a variable that is not a known literal): nothing
  downstream can be checked against it, and `{{tasks.<t>.values.<key>}}` references in the job
  must guess it;
- a key that is not a string, or is empty;
- the same literal key set twice in the same block of one notebook (the second silently wins).

Keys taken from a loop over a known literal list (formatted or not: `f"part_{i:02d}"` over
`range(3)`) are literal keys. A key built from a variable the loop changes when the iterations
are not known (a `while` counter, a counter over a table's rows) is computed at run time.

## Why is this bad?
Keys must be strings, unique among the values one task sets. Dynamic keys break the contract
between the producer and the job YAML that references the value, and make bricklint's
cross-file checks (XF001) permissive.

## Example
```python
dbutils.jobs.taskValues.set(key=f"tables_{env}", value=tables)
dbutils.jobs.taskValues.set(key="count", value=1)
dbutils.jobs.taskValues.set(key="count", value=2)
```

## Fix
Use one literal key per value (`"tables"`), and put varying parts in the value instead.
"#,
    fixable: false,
};

pub struct TaskValueKeyInvalid;

impl Rule for TaskValueKeyInvalid {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(facts) = ctx.project.index.payload.task_values_of(ctx.doc) else {
            return;
        };
        let path = &ctx.doc.path;
        let mut first_by_key: HashMap<(&str, &[u32]), &crate::project::facts::TaskValueSet> =
            HashMap::new();
        for s in &facts.sets {
            let range = s.key_range.unwrap_or(s.func_range);
            match (&s.key_value, s.key_range) {
                (None, _) => {
                    out.push(
                        Diagnostic::new(
                            &META,
                            path.clone(),
                            s.range,
                            "taskValues.set without a key",
                        )
                        .help("pass `key=\"name\"`"),
                    );
                    continue;
                }
                (Some(Value::Str(k)), _) if k.is_empty() => {
                    out.push(
                        Diagnostic::new(&META, path.clone(), range, "task-value key is empty")
                            .help("use a non-empty literal key"),
                    );
                    continue;
                }
                (
                    Some(
                        v @ (Value::Int(_)
                        | Value::Float(_)
                        | Value::Bool(_)
                        | Value::None
                        | Value::List(_)
                        | Value::Tuple(_)
                        | Value::Set(..)
                        | Value::Dict(_)),
                    ),
                    _,
                ) => {
                    out.push(
                        Diagnostic::new(
                            &META,
                            path.clone(),
                            range,
                            format!("task-value key is {}, not a string", v.describe()),
                        )
                        .help("task-value keys must be strings"),
                    );
                    continue;
                }
                _ => {}
            }
            if s.key_dynamic {
                out.push(
                    Diagnostic::new(
                        &META,
                        path.clone(),
                        range,
                        "task-value key is computed at run time: references to it (`{{tasks.<task>.values.<key>}}`, taskValues.get) cannot be checked",
                    )
                    .help("use a literal key and put the varying part in the value"),
                );
                continue;
            }
            if let Some(k) = &s.key {
                if k.is_empty() {
                    continue;
                }
                match first_by_key.get(&(k.as_str(), &s.block[..])) {
                    Some(first) => out.push(
                        Diagnostic::new(
                            &META,
                            path.clone(),
                            range,
                            format!(
                                "task value `{k}` is set twice in this task; the last value wins"
                            ),
                        )
                        .related(
                            path.clone(),
                            first.key_range.unwrap_or(first.range),
                            "first set here",
                        )
                        .help("keep one taskValues.set per key, or use distinct keys"),
                    ),
                    None => {
                        first_by_key.insert((k.as_str(), &s.block[..]), s);
                    }
                }
            }
        }
    }
}
