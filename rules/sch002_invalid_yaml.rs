use crate::diagnostic::Severity;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "SCH002",
    name: "invalid-yaml",
    severity: Severity::Error,
    summary: "bundle YAML that does not parse, with the position",
    doc: r#"## What it does
Reports bundle files (`databricks.yml` and the files it includes) that are not valid YAML, at
the position where parsing failed: bad indentation, unclosed brackets, a repeated merge key
`<<` (the CLI stops with an internal error on it), tabs, and
the classic unquoted dynamic value reference (`param: {{input}}` is a YAML flow mapping, not a
string). Files that break the input limits (`[limits] max-yaml-aliases`, `max-nesting`: alias
bombs, absurd nesting) are reported here too, instead of hanging the run.

A file with several YAML documents (`---`) is a warning: the CLI reads the first document and
ignores the rest, and so does bricklint. A key repeated in a mapping is SCH003 (the CLI keeps the
last value).

## Why is this bad?
The Databricks CLI refuses to load the bundle, and bricklint cannot check anything in it.

## Example
```yaml
tasks:
  - task_key: process
    notebook_task:
      base_parameters:
        item: {{input}}
```

## Fix
Fix the YAML at the reported position; quote dynamic value references (`item: "{{input}}"`).
"#,
    fixable: false,
};

/// Reported by the bundle loader (`crate::bundle::load_all`) while parsing.
pub struct InvalidYaml;

impl Rule for InvalidYaml {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
