//! Which job will run the fan-out: the one job task that runs the orchestrator today (edited in
//! place), several (refused), or none (a new resource file with a name nothing else has).

use std::path::{Path, PathBuf};

use super::{plan, runners, yaml, FileChange, MigrateOptions, NotebookOutcome};
use crate::bundle::Bundle;
use crate::source::{display_path, Document};

/// Which job will run the fan-out.
pub enum JobChoice<'b> {
    /// No job runs the notebook: a new resource file (`blocked` when it cannot be written).
    New {
        key: String,
        file: PathBuf,
        blocked: Option<String>,
    },
    /// One job task runs it: that job is edited in place.
    InPlace(runners::Runner<'b>),
    /// Several tasks run it (in one job or several, in some target): refused.
    Several(Vec<String>),
}

/// A job key and resource file for a new job that collide with nothing: no job of any file or
/// target of the bundle has the key, and no file of that name exists, except one an earlier
/// `migrate` of this notebook generated (replaced with `--force` only).
fn new_job(
    bundle: Option<&Bundle>,
    root: &Path,
    key: &str,
    doc: &Path,
    force: bool,
) -> JobChoice<'static> {
    let taken = bundle.map(runners::all_job_keys).unwrap_or_default();
    let source = yaml::relative_path(root, doc);
    for n in 1..1000 {
        let k = if n == 1 {
            key.to_string()
        } else {
            format!("{key}_{n}")
        };
        let file = root.join("resources").join(format!("{k}.job.yml"));
        if let Ok(text) = crate::fsutil::read_input_string(&file) {
            let ours = yaml::is_generated(&text)
                && text
                    .lines()
                    .next()
                    .is_some_and(|l| l.contains(&format!(" from {source}:")));
            if ours {
                let blocked = (!force).then(|| {
                    format!(
                        "{} exists (written by an earlier `bricklint migrate` of this notebook); pass --force to replace it",
                        display_path(&file)
                    )
                });
                return JobChoice::New {
                    key: k,
                    file,
                    blocked,
                };
            }
            continue;
        }
        if file.exists() || taken.contains(&k) {
            continue;
        }
        return JobChoice::New {
            key: k,
            file,
            blocked: None,
        };
    }
    JobChoice::Several(vec!["(no free job name)".into()])
}

pub fn choose_job<'b>(
    bundle: Option<&'b Bundle>,
    raws: &[runners::RawTask<'_>],
    doc: &Path,
    root: &Path,
    key: &str,
    force: bool,
) -> JobChoice<'b> {
    let found = bundle.map(|b| runners::runners(b, doc)).unwrap_or_default();
    let mut names: Vec<String> = found
        .iter()
        .map(|r| format!("job `{}` (task `{}`)", r.job.key, r.task_key()))
        .collect();
    // Tasks of other targets that run it.
    for r in raws.iter().filter(|r| r.target.is_some() && r.runs(doc)) {
        let known = found
            .iter()
            .any(|f| f.job.key == r.job && Some(f.task_key()) == r.key());
        let name = format!(
            "job `{}` (task `{}`, target `{}`)",
            r.job,
            r.key().unwrap_or("?"),
            r.target.unwrap_or("?")
        );
        if !known && !names.contains(&name) {
            names.push(name);
        }
    }
    match (found.as_slice(), names.len()) {
        ([], 0) => new_job(bundle, root, key, doc, force),
        ([one], 1) => JobChoice::InPlace(*one),
        _ => JobChoice::Several(names),
    }
}

/// Every task key of a job, in any file or target (new tasks must get other keys).
pub fn job_task_keys(raws: &[runners::RawTask<'_>], job: &str) -> Vec<String> {
    raws.iter()
        .filter(|r| r.job == job)
        .filter_map(|r| r.key().map(str::to_string))
        .collect()
}

/// A new job resource file (no job runs the notebook), and `databricks.yml` with
/// `--init-bundle`.
pub fn new_job_change(
    out: &mut NotebookOutcome,
    doc: &Document,
    existing_root: Option<&Path>,
    root: &Path,
    opts: &MigrateOptions,
) {
    let res = out.plan.resource_file();
    let source_display = yaml::relative_path(root, &doc.path);
    let compute = opts.compute_or_default();
    let job = yaml::job_yaml(&out.plan, &compute, &source_display);
    let old_res = crate::fsutil::read_input_string(&res).ok();
    out.changes.push(FileChange {
        path: res.clone(),
        old: old_res,
        new: job,
    });
    match existing_root {
        None => {
            let name = root
                .file_name()
                .and_then(|n| n.to_str())
                .map(plan::sanitize_key)
                .unwrap_or_else(|| "bundle".into());
            out.changes.push(FileChange {
                path: root.join("databricks.yml"),
                old: None,
                new: yaml::databricks_yml(&name, &compute),
            });
        }
        Some(r) => {
            if !included(r, &res) {
                out.warnings.push(format!(
                    "{} does not include {}: add `resources/*.yml` to its `include` list",
                    display_path(&r.join("databricks.yml")),
                    yaml::relative_path(r, &res)
                ));
            }
        }
    }
}

/// Does the bundle's `include` list match the resource file?
fn included(root: &Path, file: &Path) -> bool {
    let text = crate::fsutil::read_input_string(&root.join("databricks.yml"))
        .or_else(|_| crate::fsutil::read_input_string(&root.join("databricks.yaml")))
        .unwrap_or_default();
    let Ok(v) = serde_saphyr::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    let rel = yaml::relative_path(root, file);
    v.get("include")
        .and_then(|i| i.as_array())
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str())
        .any(|g| {
            globset::GlobBuilder::new(g)
                .literal_separator(true)
                .build()
                .map(|g| g.compile_matcher().is_match(&rel))
                .unwrap_or(false)
        })
}
