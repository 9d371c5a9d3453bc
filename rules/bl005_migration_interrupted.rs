use std::path::PathBuf;
use std::sync::Arc;

use ruff_text_size::TextRange;

use crate::diagnostic::{Diagnostic, Severity};
use crate::project::ProjectContext;
use crate::rules::{Rule, RuleMeta};

/// Where `bricklint migrate --write` keeps the journal of a migration while it commits it,
/// relative to the bundle root (see `migrate::journal`).
pub const JOURNAL: &str = ".bricklint/migrate-journal";

pub static META: RuleMeta = RuleMeta {
    code: "BL005",
    name: "migration-interrupted",
    severity: Severity::Error,
    summary: "an interrupted `bricklint migrate --write` left a migration half applied (its journal is still there)",
    doc: r#"## What it does
Reports the journal `.bricklint/migrate-journal` of a bundle (or of a checked directory). It
exists only while `bricklint migrate --write` commits one migration: the rewritten notebook,
the edited job YAML and any new file are first written beside their targets, the journal lists
them, and then they are renamed into place one by one. A journal that is still there means the
run was killed (or a rename failed) between the first rename and the last.

## Why is this bad?
Some files of the migration may be in their new version and others still in the old one: the
notebook no longer fans out while the job still runs it as before, or the job runs a For Each
whose producer has not been written. Deploying that bundle runs a pipeline that is neither the
old one nor the new one.

## Example
```text
$ bricklint migrate --write    # killed while writing
$ ls .bricklint
migrate-journal
```

## Fix
Run `bricklint migrate --write` again: before anything else it finishes every journalled
migration (the new contents are complete beside their targets, with their hashes in the
journal) and removes stale `.*.bricklint-tmp` files. If a file was edited by hand since, it
stops and says which; restore that file, or remove the journal and the `.bricklint-tmp` files
it lists to keep the current state.
"#,
    fixable: false,
};

pub struct MigrationInterrupted;

impl Rule for MigrationInterrupted {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, ctx: &ProjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let p = ctx.project;
        let mut dirs: Vec<PathBuf> = p.bundles.iter().map(|b| b.root.clone()).collect();
        for path in &p.options.paths {
            let abs = crate::discover::absolutize(path);
            if abs.is_dir() {
                dirs.push(abs);
            }
        }
        if p.options.paths.is_empty() {
            dirs.push(p.root.clone());
        }
        dirs.sort();
        dirs.dedup();
        for d in dirs {
            let j = d.join(JOURNAL);
            if j.is_file() {
                out.push(
                    Diagnostic::new(
                        &META,
                        Arc::new(j),
                        TextRange::default(),
                        "an interrupted `bricklint migrate --write` left a migration half applied",
                    )
                    .help("run `bricklint migrate --write` again to finish it"),
                );
            }
        }
    }
}
