use crate::diagnostic::{Diagnostic, Severity};
use crate::payload::{limit_text, thousands};
use crate::project::DocContext;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TV001",
    name: "task-value-too-large",
    severity: Severity::Error,
    summary: "a task value whose JSON is over 48 KiB (error), or whose size is unbounded (warning)",
    doc: r#"## What it does
Evaluates what `dbutils.jobs.taskValues.set(key, value)` receives (literals, names bound to
literals, comprehensions and `range()` over known lists, `.append` loops, `json.dumps`, JSON and
YAML files of the repository read with a literal path) and measures its JSON representation as
compact JSON (no whitespace; non-ASCII characters counted in UTF-8 bytes).

- **Error** when the size is statically known (or known to be at least) over 48 KiB
  (49,152 bytes), or over the `max-bytes` of the key's contract (`[task-values.<key>]`).
- **Warning** when the size has no bound: the value comes from `.collect()`, `toPandas()`,
  `spark.sql`/`spark.table`, a directory listing, a file outside the repository or the network.

Values that are only unknown (a function parameter, a widget) are not reported, nor are rows
collected from a DataFrame bounded with `.limit(n)`, nor single values read from a DataFrame
(`.collect()[0][0]`, `.first()[0]`, `.count()`, `rows[0]["col"]`, an aggregate such as
`.max()`): only the number of rows has no bound, not the size of one.

## Why is this bad?
Databricks rejects a task value whose JSON representation exceeds 48 KiB, and the task fails at
run time — often long after the notebook worked in development with a small table. A For Each
task fed by `{{tasks.<t>.values.<key>}}` is limited by the same 48 KiB.

## Example
```python
tables = [r.table_name for r in spark.sql("SHOW TABLES IN bronze").collect()]
dbutils.jobs.taskValues.set(key="tables", value=tables)  # unbounded
```

## Fix
Pass lookup keys instead of data: set a small list (names, ids, dates) and let each iteration
read its details from a table or a JSON file in the repository. For data that grows, bound it
(`.limit(n)`) or write it to a table and pass the table name.
"#,
    fixable: false,
};

pub struct TaskValueTooLarge;

impl Rule for TaskValueTooLarge {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        let index = &ctx.project.index.payload;
        let Some(facts) = index.task_values_of(ctx.doc) else {
            return;
        };
        for s in &facts.sets {
            let Some(value) = &s.value else { continue };
            let range = s.value_range.unwrap_or(s.range);
            let key = s.key.as_deref();
            let max = index.max_bytes(key);
            let key_text = key.map_or("a task value".to_string(), |k| format!("task value `{k}`"));
            let size = value.size();
            if size.min > max {
                let how = if size.exact.is_some() {
                    ""
                } else {
                    "at least "
                };
                let limit = if max == crate::limits::TASK_VALUE_MAX_BYTES {
                    format!("the 48 KiB limit ({} bytes)", thousands(max))
                } else {
                    format!("the contract's max-bytes ({})", limit_text(max))
                };
                out.push(
                    Diagnostic::new(
                        &META,
                        ctx.doc.path.clone(),
                        range,
                        format!(
                            "{key_text} is {how}{} bytes of JSON, over {limit} by {}",
                            thousands(size.min),
                            thousands(size.min - max)
                        ),
                    )
                    .related(ctx.doc.path.clone(), s.func_range, "set here")
                    .help("pass lookup keys (names, ids) instead of the data, and read the details in the consuming task"),
                );
            } else if let Some(reason) = &size.unbounded {
                let mut d = Diagnostic::new(
                    &META,
                    ctx.doc.path.clone(),
                    range,
                    format!(
                        "the size of {key_text} has no bound: it comes from {}; over 48 KiB the task fails",
                        reason.what
                    ),
                )
                .severity(Severity::Warning)
                .help("bound it (`.limit(n)`), or write the data to a table and pass its name");
                if reason.range != range && !reason.range.is_empty() {
                    d = d.related(
                        ctx.doc.path.clone(),
                        reason.range,
                        "unbounded data comes from here",
                    );
                }
                out.push(d);
            }
        }
    }
}
