//! All-or-nothing writes of one migration (issue 19): the notebook, the job YAML and any new
//! file change together or not at all, whatever interrupts the run.
//!
//! For each notebook's migration:
//! 1. every new file is *staged*: written and synced to a temporary file beside its target
//!    ([`crate::fsutil::stage`]); an interruption here leaves only hidden `.*.bricklint-tmp`
//!    files, which the next run removes;
//! 2. the *journal* `<bundle root>/.bricklint/migrate-journal` is written (atomically): the
//!    targets, their staged files, and the size and hash of each new content;
//! 3. the staged files are renamed over their targets, one by one;
//! 4. the journal is removed.
//!
//! Killed after 2, the journal says how to finish: the next `bricklint migrate --write` renames
//! the staged files that are still there (a target already renamed has the new content, which
//! the hash confirms) before anything else, so the result is always the old state or, after the
//! next run, the whole new one. While a journal exists `bricklint check` reports it (BL005) and
//! a dry run of `migrate` says it is pending.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::yaml::relative_path;
use super::FileChange;
use crate::fsutil;
use crate::source::display_path;

pub use crate::rules::bl005_migration_interrupted::JOURNAL;

/// FNV-1a, 64 bits: a content check that does not change between versions of bricklint.
fn fnv64(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The journal file of a root.
pub fn journal_path(root: &Path) -> PathBuf {
    root.join(JOURNAL)
}

/// Write the changes of one migration all or nothing (see the module documentation). `root`
/// holds the journal; `what` names the migration in it (the notebook).
pub fn commit_all(root: &Path, what: &Path, changes: &[&FileChange]) -> Result<(), String> {
    let shown = |p: &Path| display_path(p);
    let mut staged: Vec<fsutil::Staged> = Vec::new();
    let unstage = |staged: &[fsutil::Staged]| {
        for s in staged {
            let _ = std::fs::remove_file(&s.temp);
        }
    };
    for c in changes {
        if let Some(dir) = c.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Err(e) = std::fs::create_dir_all(dir) {
                unstage(&staged);
                return Err(format!("{}: {e}", shown(dir)));
            }
        }
        match fsutil::stage(&c.path, c.new.as_bytes()) {
            Ok(s) => staged.push(s),
            Err(e) => {
                unstage(&staged);
                return Err(format!("{}: {e}", shown(&c.path)));
            }
        }
    }
    let files: Vec<Value> = changes
        .iter()
        .zip(&staged)
        .map(|(c, s)| {
            json!({
                "target": relative_path(root, &s.target),
                "staged": relative_path(root, &s.temp),
                "bytes": c.new.len(),
                "fnv64": fnv64(c.new.as_bytes()),
            })
        })
        .collect();
    let journal = json!({
        "bricklint_migrate_journal": 1,
        "migration": relative_path(root, what),
        "files": files,
    });
    let jp = journal_path(root);
    let text = format!(
        "{}\n",
        serde_json::to_string_pretty(&journal).unwrap_or_default()
    );
    let written = jp
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|_| fsutil::atomic_write(&jp, text.as_bytes()));
    if let Err(e) = written {
        unstage(&staged);
        return Err(format!("{}: {e}", shown(&jp)));
    }
    for s in &staged {
        fsutil::commit(s).map_err(|e| {
            format!(
                "{}: {e} (the migration is journalled in {}: run `bricklint migrate --write` again to finish it)",
                shown(&s.target),
                shown(&jp)
            )
        })?;
    }
    remove_journal(&jp)
}

fn remove_journal(jp: &Path) -> Result<(), String> {
    std::fs::remove_file(jp).map_err(|e| format!("{}: {e}", display_path(jp)))?;
    if let Some(dir) = jp.parent() {
        let _ = std::fs::remove_dir(dir); // only when empty
    }
    Ok(())
}

/// What the start of a run found and did.
#[derive(Debug, Default)]
pub struct Recovery {
    /// Interrupted migrations finished: (journal, number of files).
    pub finished: Vec<(PathBuf, usize)>,
    /// Interrupted migrations left as they are (a dry run), with their journal.
    pub pending: Vec<PathBuf>,
    /// Stale temporary files removed.
    pub removed_temps: usize,
    /// Journals that cannot be finished (a target changed since): the run must stop.
    pub errors: Vec<String>,
}

/// Journals and stale temporary files under `roots` (hidden directories included; `.git` and
/// the other default excludes skipped).
fn scan(roots: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut journals = Vec::new();
    let mut temps = Vec::new();
    let skip = crate::discover::DEFAULT_EXCLUDE;
    for r in roots {
        let walk = ignore::WalkBuilder::new(r)
            .standard_filters(false)
            .follow_links(false)
            .filter_entry(move |e| {
                e.depth() == 0 || !e.file_name().to_str().is_some_and(|n| skip.contains(&n))
            })
            .build();
        for e in walk.flatten() {
            if !e.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let p = e.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.ends_with(JOURNAL) {
                journals.push(p.to_path_buf());
            } else if fsutil::is_temp_name(name) {
                temps.push(p.to_path_buf());
            }
        }
    }
    journals.sort();
    journals.dedup();
    temps.sort();
    temps.dedup();
    (journals, temps)
}

/// Before anything else: finish every interrupted migration under `roots` and remove stale
/// temporary files (with `write`), or only report them (a dry run writes nothing).
pub fn recover(roots: &[PathBuf], write: bool) -> Recovery {
    let (journals, temps) = scan(roots);
    let mut out = Recovery::default();
    let mut keep: Vec<PathBuf> = Vec::new();
    for jp in journals {
        if !write {
            out.pending.push(jp);
            continue;
        }
        match finish(&jp) {
            Ok(n) => out.finished.push((jp, n)),
            Err((e, staged)) => {
                keep.extend(staged);
                out.errors.push(e);
            }
        }
    }
    if write {
        for t in temps.iter().filter(|t| !keep.contains(t)) {
            if t.is_file() && std::fs::remove_file(t).is_ok() {
                out.removed_temps += 1;
                // The journal's own folder, when a kill left only a temporary file in it.
                if let Some(d) = t.parent().filter(|d| d.ends_with(".bricklint")) {
                    let _ = std::fs::remove_dir(d);
                }
            }
        }
    }
    out
}

/// Finish one journalled migration. Returns the number of files, or the error and the staged
/// files to keep.
fn finish(jp: &Path) -> Result<usize, (String, Vec<PathBuf>)> {
    let root = jp
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let bad = |m: String| (format!("{}: {m}", display_path(jp)), Vec::new());
    let text = fsutil::read_input_string(jp).map_err(|e| bad(e.to_string()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| bad(format!("not a journal: {e}")))?;
    let files = v["files"]
        .as_array()
        .ok_or_else(|| bad("no `files`".into()))?;
    let mut entries = Vec::new();
    for f in files {
        let (Some(t), Some(s), Some(h)) = (
            f["target"].as_str(),
            f["staged"].as_str(),
            f["fnv64"].as_str(),
        ) else {
            return Err(bad("an entry without target, staged file or hash".into()));
        };
        entries.push((
            crate::discover::normalize(&root.join(t)),
            crate::discover::normalize(&root.join(s)),
            h.to_string(),
        ));
    }
    let staged: Vec<PathBuf> = entries.iter().map(|e| e.1.clone()).collect();
    // Check every entry before renaming any, so a journal that cannot be finished changes
    // nothing.
    for (target, temp, hash) in &entries {
        let ok = match std::fs::read(temp) {
            Ok(b) => fnv64(&b) == *hash,
            Err(_) => std::fs::read(target).is_ok_and(|b| fnv64(&b) == *hash),
        };
        if !ok {
            return Err((
                format!(
                    "{}: cannot finish the interrupted migration: {} changed since; restore it (or remove the journal and its .bricklint-tmp files) and run again",
                    display_path(jp),
                    display_path(target)
                ),
                staged,
            ));
        }
    }
    for (target, temp, _) in &entries {
        if temp.is_file() {
            fsutil::rename_durably(temp, target)
                .map_err(|e| (format!("{}: {e}", display_path(target)), staged.clone()))?;
        }
    }
    remove_journal(jp).map_err(|e| (e, Vec::new()))?;
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_is_finished_by_the_next_run() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        let a = root.join("a.py");
        let b = root.join("res/b.yml");
        std::fs::write(&a, "old a").unwrap();
        let changes = [
            FileChange {
                path: a.clone(),
                old: Some("old a".into()),
                new: "new a".into(),
            },
            FileChange {
                path: b.clone(),
                old: None,
                new: "new b".into(),
            },
        ];
        let refs: Vec<&FileChange> = changes.iter().collect();
        commit_all(&root, &a, &refs).unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new a");
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "new b");
        assert!(
            !root.join(".bricklint").exists(),
            "the journal and its folder are gone"
        );

        // An interrupted commit: staged files and the journal, one target renamed.
        std::fs::write(&a, "old a").unwrap();
        std::fs::remove_file(&b).unwrap();
        let sa = fsutil::stage(&a, b"new a").unwrap();
        let sb = fsutil::stage(&b, b"new b").unwrap();
        let journal = json!({"bricklint_migrate_journal": 1, "migration": "a.py", "files": [
            {"target": "a.py", "staged": relative_path(&root, &sa.temp), "bytes": 5, "fnv64": fnv64(b"new a")},
            {"target": "res/b.yml", "staged": relative_path(&root, &sb.temp), "bytes": 5, "fnv64": fnv64(b"new b")},
        ]});
        std::fs::create_dir_all(root.join(".bricklint")).unwrap();
        std::fs::write(journal_path(&root), journal.to_string()).unwrap();
        fsutil::commit(&sa).unwrap();
        let stale = root.join(".x.py.1.2.0.bricklint-tmp");
        std::fs::write(&stale, "junk").unwrap();
        // A dry run only reports it.
        let r = recover(std::slice::from_ref(&root), false);
        assert_eq!(r.pending.len(), 1);
        assert!(stale.exists() && sb.temp.exists());
        let r = recover(std::slice::from_ref(&root), true);
        assert_eq!(r.finished.len(), 1, "{:?}", r.errors);
        assert_eq!(r.removed_temps, 1);
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "new b");
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new a");
        assert!(!stale.exists() && !journal_path(&root).exists());

        // A target changed since: nothing is renamed, the journal stays.
        let sb = fsutil::stage(&b, b"newer b").unwrap();
        let journal = json!({"files": [
            {"target": "a.py", "staged": "gone.tmp", "bytes": 5, "fnv64": fnv64(b"new a")},
            {"target": "res/b.yml", "staged": relative_path(&root, &sb.temp), "bytes": 7, "fnv64": fnv64(b"newer b")},
        ]});
        std::fs::write(&a, "edited by hand").unwrap();
        std::fs::create_dir_all(root.join(".bricklint")).unwrap();
        std::fs::write(journal_path(&root), journal.to_string()).unwrap();
        let r = recover(std::slice::from_ref(&root), true);
        assert!(r.errors[0].contains("a.py changed since"), "{:?}", r.errors);
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "new b");
        assert!(sb.temp.exists() && journal_path(&root).exists());
    }
}
