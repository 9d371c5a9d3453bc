use crate::diagnostic::{Diagnostic, Severity};
use crate::payload::schema_errors;
use crate::project::DocContext;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TV006",
    name: "task-value-contract-violation",
    severity: Severity::Error,
    summary: "a statically known task value that breaks the JSON Schema configured for its key",
    doc: r#"## What it does
Validates statically known task values against the contract configured for their key:

```toml
[task-values.tables]
schema = "contracts/tables.schema.json"   # relative to the config file
max-bytes = 20000                          # used by TV001 instead of 48 KiB
```

Each failing location is reported with its JSON pointer (`/3/table`). A schema that cannot be
read or compiled is reported on every `set` of that key. Values that are not fully known
statically are not validated here: check them at run time with `bricklint payload --key tables`.

## Why is this bad?
The consumers of a task value (For Each iterations, downstream notebooks) rely on its shape:
a missing field or a wrong type fails every iteration of a For Each, at run time.

## Example
```python
dbutils.jobs.taskValues.set("tables", [{"table": "a"}, {"name": "b"}])  # /1: "table" is required
```

## Fix
Make the value match the schema, or update the schema (and its consumers) if the shape changed.
"#,
    fixable: false,
};

pub struct TaskValueContractViolation;

impl Rule for TaskValueContractViolation {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        let index = &ctx.project.index.payload;
        let Some(facts) = index.task_values_of(ctx.doc) else {
            return;
        };
        for s in &facts.sets {
            for key in &s.keys {
                let Some(contract) = index.contracts.get(key) else {
                    continue;
                };
                let range = s.value_range.unwrap_or(s.range);
                let contract = match contract {
                    Ok(c) => c,
                    Err(e) => {
                        out.push(
                            Diagnostic::new(
                                &META,
                                ctx.doc.path.clone(),
                                s.key_range.unwrap_or(range),
                                format!("the contract of task value `{key}` cannot be used: {e}"),
                            )
                            .help("fix `schema` in `[task-values.<key>]` of the config"),
                        );
                        continue;
                    }
                };
                let Some(validator) = &contract.validator else {
                    continue;
                };
                // Only a value known for this key (a loop may set several keys).
                let Some(json) = s.value.as_ref().and_then(|v| v.to_json()) else {
                    continue;
                };
                let errors = schema_errors(validator, &json);
                let n = errors.len();
                for (pointer, msg) in errors.into_iter().take(5) {
                    let shown = if pointer.is_empty() {
                        "(root)".to_string()
                    } else {
                        pointer
                    };
                    out.push(
                        Diagnostic::new(
                            &META,
                            ctx.doc.path.clone(),
                            range,
                            format!(
                                "task value `{key}` breaks its contract {} at `{shown}`: {msg}{}",
                                contract.label(),
                                if n > 5 { format!(" ({n} errors in all)") } else { String::new() }
                            ),
                        )
                        .help("make the value match the schema, or update the schema and its consumers"),
                    );
                }
            }
        }
    }
}
