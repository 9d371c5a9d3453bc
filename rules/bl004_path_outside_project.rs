use crate::diagnostic::Severity;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "BL004",
    name: "path-outside-project",
    severity: Severity::Error,
    summary: "a file named by the project that resolves outside it (a symbolic link out of the repository); it is not read",
    doc: r#"## What it does
Reports a path that project content names and bricklint would read, but that resolves outside
the project: a bundle `include:` entry that matches a symbolic link to `/etc/passwd` or to a
file of the home directory, a link inside `resources/` that leaves the repository through a
linked directory, or a `../` chain out of it. The file is **not read**: the finding names the
link and where it points, never anything of its content.

The project is the repository that holds the analysed path (its nearest ancestor with a `.git`
entry); outside a repository, the working directory when it holds the path.

Reported by the bundle loader (`include:` matches, `variable-overrides.json`) and by the engine
(files named on the command line that are links out of the project). `%run` targets and local
imports that resolve outside the project are not loaded for context, and files a notebook reads
(`json.load(open(...))`) are treated as unknown there.

## Why is this bad?
A pull request controls the repository's files, symbolic links included. If CI followed such a
link, the content of files on the CI machine (credentials, keys, environment files) would be
printed in findings, GitHub annotations, SARIF reports or `plan` output.

## Example
```yaml
# databricks.yml
include:
  - resources/*.yml     # resources/x.yml -> /home/runner/.git-credentials
```

## Fix
Replace the link with the file itself, or point it at a file inside the repository.
"#,
    fixable: false,
};

/// Reported by the bundle loader (`crate::bundle`) and the engine's loading of named files.
pub struct PathOutsideProject;

impl Rule for PathOutsideProject {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
