use crate::diagnostic::Severity;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "SCH003",
    name: "yaml-duplicate-key",
    severity: Severity::Warning,
    summary: "a YAML mapping repeats a key: the last value wins",
    doc: r#"## What it does
Reports a key written twice in one mapping of a bundle file, at the second occurrence, with the
first as a related place. The file is still analysed the way the Databricks CLI reads it: the
last value wins.

## Why is this bad?
`databricks bundle validate` accepts the file silently and uses the second value, so the first
one (often a whole block of settings) is dropped without a word. It is nearly always an edit
that went wrong: a key pasted twice, or two blocks meant to be one.

## Example
```yaml
resources:
  jobs:
    nightly:
      name: nightly
      max_concurrent_runs: 1
      max_concurrent_runs: 4
```

## Fix
Keep one of the two entries (or merge the two blocks into one).
"#,
    fixable: false,
};

/// Reported by the bundle loader (`crate::bundle::load_all`) while parsing.
pub struct YamlDuplicateKey;

impl Rule for YamlDuplicateKey {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
