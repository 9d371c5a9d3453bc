use crate::diagnostic::{Diagnostic, Severity};
use crate::project::DocContext;
use crate::python::value::Value;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "ORC007",
    name: "notebook-run-argument-not-string",
    severity: Severity::Error,
    summary: "non-string or non-ASCII values in the `arguments` of `dbutils.notebook.run`",
    doc: r#"## What it does
Checks the `arguments` map of `dbutils.notebook.run` (a dict display, `dict(...)`, or a name
bound once to one; also through `submit(dbutils.notebook.run, path, 60, {...})`) for values
whose static type is not `str` (ints, floats, booleans, `None`, lists, dicts) and for strings or
keys with non-ASCII characters.

## Why is this bad?
Notebook arguments set the child's widgets: they must be strings, and only ASCII characters
are accepted; anything else fails when the run starts (or arrives as an unexpected string
representation), after the driver has already spent a job creation on it.

## Example
```python
dbutils.notebook.run("./load", 600, {"day": 20240101, "full": True, "city": "Zürich"})
```

## Fix
Pass strings (`{"day": "20240101", "full": "true"}`), JSON-encode structured values
(`json.dumps(cfg)`) and parse them in the child; transliterate or encode non-ASCII text.
"#,
    fixable: false,
};

pub struct NotebookRunArgumentNotString;

fn article(t: &str) -> String {
    if t.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an `{t}`")
    } else {
        format!("a `{t}`")
    }
}

fn non_ascii(s: &str) -> bool {
    !s.is_ascii()
}

impl Rule for NotebookRunArgumentNotString {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some((_, facts)) = crate::project::fanout::doc_facts(ctx.project, ctx.doc) else {
            return;
        };
        let help = "notebook arguments must be ASCII strings: convert with `str(...)` or `json.dumps(...)` and parse in the child notebook";
        for r in &facts.runs {
            if !r.argument_items.is_empty() {
                for (key, v) in &r.argument_items {
                    let k = key.as_deref().unwrap_or("?");
                    if key.as_deref().is_some_and(non_ascii) {
                        out.push(
                            Diagnostic::new(
                                &META,
                                ctx.doc.path.clone(),
                                v.range,
                                format!("argument name `{k}` is not ASCII"),
                            )
                            .help(help),
                        );
                    }
                    match &v.value {
                        Some(Value::Str(s)) if non_ascii(s) => out.push(
                            Diagnostic::new(&META, ctx.doc.path.clone(), v.range, format!("argument `{k}` has non-ASCII characters: `dbutils.notebook.run` accepts only ASCII"))
                                .help(help),
                        ),
                        Some(Value::Str(_)) | None => {}
                        Some(other) => out.push(
                            Diagnostic::new(
                                &META,
                                ctx.doc.path.clone(),
                                v.range,
                                format!("argument `{k}` is {} (`{}`), not a string", article(other.type_name()), v.text),
                            )
                            .help(help),
                        ),
                    }
                }
                continue;
            }
            // A whole map known statically (e.g. built elsewhere in the file).
            let Some(a) = &r.arguments else { continue };
            let Some(Value::Dict(items)) = &a.value else {
                continue;
            };
            for (k, v) in items {
                let bad = match v {
                    Value::Str(s) => non_ascii(s),
                    _ => true,
                };
                if bad || !matches!(k, Value::Str(_)) {
                    out.push(
                        Diagnostic::new(
                            &META,
                            ctx.doc.path.clone(),
                            a.range,
                            format!(
                                "argument `{}` is {}",
                                k.py_str().unwrap_or_default(),
                                match v {
                                    Value::Str(_) => "not ASCII".to_string(),
                                    other => format!(
                                        "{} (`{}`), not a string",
                                        article(other.type_name()),
                                        other.to_python()
                                    ),
                                }
                            ),
                        )
                        .help(help),
                    );
                }
            }
        }
    }
}
