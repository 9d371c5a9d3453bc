//! The in-place edit of the bundle job that already runs the orchestrator notebook.
//!
//! - Nothing is left in the orchestrator (static inputs, no other work): its task becomes the
//!   For Each task, with the same `task_key`, so every `depends_on` and every target override
//!   naming it still holds. Its compute, libraries and retries move to the nested task (a For
//!   Each task has none of its own).
//! - Otherwise the orchestrator task stays (its setup, and producing the inputs when they are
//!   dynamic); the new tasks are added after it, and every task that depended on it now
//!   depends on the last of them, since it used to wait for the whole fan-out.
//! - The nested tasks run on the orchestrator task's compute unless `--compute` is given.
//!
//! The edit is refused, with the reason and the YAML to apply by hand, when the task is defined
//! in several places or only in a target, when a target override sets something the edit
//! cannot keep (compute the children would no longer run on, settings a For Each task cannot
//! have), or when the YAML is written in a way the text edit cannot follow (flow style,
//! anchors). Every edit is verified by loading the edited bundle again for every target.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::plan::{Compute, FanOutKind, NotebookPlan};
use super::runners::{RawTask, Runner};
use super::yaml::{self, TaskCompute};
use super::yaml_edit::{self as ye, BlockMap, BlockSeq, Edit};
use super::{FileChange, Manual};
use crate::bundle::model::{NotebookRef, COMPUTE_KEYS};
use crate::bundle::{Bundle, LoadOptions, Node};

/// Task settings that belong to the nested task once the orchestrator task becomes a For Each
/// task (a For Each task runs no code itself).
const MOVED_KEYS: &[&str] = &[
    "notebook_task",
    "job_cluster_key",
    "existing_cluster_id",
    "new_cluster",
    "environment_key",
    "libraries",
    "max_retries",
    "min_retry_interval_millis",
    "retry_on_timeout",
];

/// What the in-place edit does.
#[derive(Debug, Clone)]
pub struct JobEdit {
    pub changes: Vec<FileChange>,
    /// Decisions, for the plan and `--explain`.
    pub notes: Vec<String>,
}

/// Why the job cannot be edited in place, and what to do by hand.
#[derive(Debug, Clone)]
pub struct Refused {
    pub reason: String,
    /// The YAML to apply by hand, with the steps.
    pub manual: Manual,
}

/// Everything the edit needs.
pub struct Input<'a> {
    pub bundle: &'a Bundle,
    pub runner: Runner<'a>,
    pub raws: &'a [RawTask<'a>],
    pub plan: &'a NotebookPlan,
    pub compute: Option<&'a Compute>,
    pub config: &'a crate::config::Config,
    pub load: &'a LoadOptions,
}

/// Does the orchestrator task turn into the For Each task (nothing else is left)?
pub fn converts(plan: &NotebookPlan) -> bool {
    !plan.producer_task
        && matches!(
            plan.fanouts.first().map(|f| &f.kind),
            Some(FanOutKind::ForEach(_))
        )
}

/// Edit the job that runs the orchestrator.
pub fn edit(inp: &Input<'_>) -> Result<JobEdit, Refused> {
    let key = inp.runner.task_key().to_string();
    let job = inp.runner.job.key.clone();
    let refuse = |reason: String| Refused {
        manual: manual_yaml(inp, &key),
        reason,
    };
    if let Some(p) = inp.runner.nested_in {
        return Err(refuse(format!(
            "the notebook runs as the nested task of For Each task `{}` in job `{job}`, and a For Each task cannot hold another",
            p.key().unwrap_or("?")
        )));
    }
    let same = |r: &&RawTask<'_>| r.job == job && r.key() == Some(key.as_str());
    let base: Vec<&RawTask<'_>> = inp
        .raws
        .iter()
        .filter(|r| r.target.is_none())
        .filter(same)
        .collect();
    let def = match base.as_slice() {
        [one] => *one,
        [] => {
            return Err(refuse(format!(
                "task `{key}` of job `{job}` is defined only in a target's overrides; move it to the job's definition first"
            )))
        }
        many => {
            return Err(refuse(format!(
                "task `{key}` of job `{job}` is defined in several places ({})",
                many.iter().map(|r| r.place()).collect::<Vec<_>>().join(", ")
            )))
        }
    };
    let convert = converts(inp.plan);
    check_overrides(inp, &job, &key, convert).map_err(refuse)?;
    let mut notes = Vec::new();
    let edits = build(inp, def, &key, convert, &mut notes)
        .map_err(|e| refuse(format!("the job YAML cannot be edited in place: {e}")))?;
    let mut by_file: BTreeMap<Arc<PathBuf>, Vec<Edit>> = BTreeMap::new();
    for (f, e) in edits {
        by_file.entry(f).or_default().push(e);
    }
    let mut changes = Vec::new();
    for (f, es) in by_file {
        let old = inp
            .bundle
            .text(&f)
            .ok_or_else(|| refuse(format!("{} is not a file of the bundle", f.display())))?;
        let new = ye::apply(old, &es)
            .map_err(|e| refuse(format!("the job YAML cannot be edited in place: {e}")))?;
        changes.push(FileChange {
            path: (*f).clone(),
            old: Some(old.to_string()),
            new,
        });
    }
    verify(inp, &job, &key, convert, &changes).map_err(|e| {
        refuse(format!(
            "the edited bundle does not come out as intended ({e}); edit it by hand"
        ))
    })?;
    notes.insert(
        0,
        if convert {
            format!("job `{job}`: task `{key}` becomes the For Each task (nothing else is left in the notebook)")
        } else {
            format!("job `{job}`: task `{key}` stays (it still runs the rest of the notebook); the new tasks run after it")
        },
    );
    Ok(JobEdit { changes, notes })
}

/// Refuse target overrides the edit cannot keep.
fn check_overrides(inp: &Input<'_>, job: &str, key: &str, convert: bool) -> Result<(), String> {
    for r in inp
        .raws
        .iter()
        .filter(|r| r.target.is_some() && r.job == job && r.key() == Some(key))
    {
        let t = r.target.unwrap_or("?");
        for e in r.node.as_map().unwrap_or_default() {
            let k = e.key.as_str();
            if convert && MOVED_KEYS.contains(&k) {
                return Err(format!(
                    "target `{t}` overrides `{k}` of task `{key}` in job `{job}` ({}); once `{key}` is a For Each task that setting has no place on it",
                    r.place()
                ));
            }
            if inp.compute.is_none() && (COMPUTE_KEYS.contains(&k) || k == "libraries") {
                return Err(format!(
                    "target `{t}` gives task `{key}` of job `{job}` its own `{k}` ({}); the child notebooks would no longer run on it in that target (pass --compute, or edit the job by hand)",
                    r.place()
                ));
            }
        }
    }
    Ok(())
}

/// The text of the compute (and libraries) entries of the task, to copy to the nested tasks.
fn inherited_lines(dm: &BlockMap<'_>, text: &str, with_retries: bool) -> Vec<String> {
    let mut out = Vec::new();
    for (i, e) in dm.entries().iter().enumerate() {
        let k = e.key.as_str();
        let retry = matches!(
            k,
            "max_retries" | "min_retry_interval_millis" | "retry_on_timeout"
        );
        if COMPUTE_KEYS.contains(&k) || k == "libraries" || (with_retries && retry) {
            out.extend(dm.entry_lines(text, i));
        }
    }
    out
}

/// The edits, as (file, edit).
fn build(
    inp: &Input<'_>,
    def: &RawTask<'_>,
    key: &str,
    convert: bool,
    notes: &mut Vec<String>,
) -> Result<Vec<(Arc<PathBuf>, Edit)>, String> {
    let text = def.text;
    let file = def.file;
    let nl = ye::newline(text);
    let dm = BlockMap::new(def.node, file, text, &format!("task `{key}`"))?;
    let seq = BlockSeq::new(def.seq, file, text, "the job's `tasks`")?;
    let yaml_dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
    let fe_retries = inp.plan.fanouts.iter().any(|f| match &f.kind {
        FanOutKind::ForEach(fe) => fe.max_retries.is_some(),
        k => k.object_tasks().iter().any(|t| t.max_retries.is_some()),
    });
    let inherited = inherited_lines(&dm, text, convert && !fe_retries);
    let compute = match inp.compute {
        Some(c) => TaskCompute::Given(c),
        None => TaskCompute::Inherited(&inherited),
    };
    notes.push(match (inp.compute, inherited.is_empty()) {
        (Some(_), _) => "compute: as given by --compute".to_string(),
        (None, true) => {
            format!("compute: task `{key}` sets none (serverless), nor do the new tasks")
        }
        (None, false) => format!("compute: the new tasks run on task `{key}`'s compute"),
    });
    let mut edits: Vec<(Arc<PathBuf>, Edit)> = Vec::new();
    let mut plan_rest = inp.plan.clone();
    if convert {
        let FanOutKind::ForEach(fe) = &inp.plan.fanouts[0].kind else {
            return Err("the first fan-out is not a For Each".into());
        };
        let nb = dm
            .index("notebook_task")
            .ok_or("the task has no `notebook_task` entry")?;
        let entry = yaml::for_each_entry(fe, key, &yaml_dir, compute);
        for (i, e) in dm.entries().iter().enumerate() {
            if !MOVED_KEYS.contains(&e.key.as_str()) {
                continue;
            }
            let span = dm.entry_span(text, i)?;
            let on_dash = span.start != ye::line_start(text, span.start);
            let mut new = String::new();
            if i == nb {
                new = ye::place(&entry, dm.col, nl);
                if on_dash {
                    // The entry follows `- `: no indentation on its first line, and the next
                    // key's indentation after the last.
                    new = new[dm.col..].to_string();
                    new.push_str(&" ".repeat(dm.col));
                }
            }
            edits.push((
                file.clone(),
                Edit {
                    range: span,
                    text: new,
                },
            ));
        }
        plan_rest.fanouts.remove(0);
    }
    if plan_rest.fanouts.is_empty() && plan_rest.after.is_none() {
        return Ok(edits);
    }
    let (items, last) = yaml::fan_out_tasks(&plan_rest, &[key.to_string()], &yaml_dir, compute);
    edits.push((
        file.clone(),
        Edit::insert(
            seq.after_item(text, def.index),
            ye::place(&items, seq.dash_col, nl),
        ),
    ));
    // Tasks that waited for the orchestrator now wait for the fan-out.
    for r in inp
        .raws
        .iter()
        .filter(|r| r.job == def.job && r.key() != Some(key))
    {
        let Some(deps) = r.node.get("depends_on") else {
            continue;
        };
        for (i, d) in deps.as_seq().unwrap_or_default().iter().enumerate() {
            let Some(k) = d.get("task_key").filter(|k| k.as_str() == Some(key)) else {
                continue;
            };
            notes.push(format!(
                "task `{}` ({}) waited for `{key}`: it now waits for {}",
                r.key().unwrap_or("?"),
                r.place(),
                last.iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            edits.extend(retarget(r, deps, i, k, &last)?);
        }
    }
    Ok(edits)
}

/// Point one `depends_on` entry at `keys` instead (the first replaces it, the others follow it).
fn retarget(
    r: &RawTask<'_>,
    deps: &Node,
    i: usize,
    k: &Node,
    keys: &[String],
) -> Result<Vec<(Arc<PathBuf>, Edit)>, String> {
    let text = r.text;
    if k.loc.defined.is_some() || k.loc.file != *r.file {
        return Err("a `depends_on` entry comes from a YAML anchor".into());
    }
    let range = usize::from(k.loc.range.start())..usize::from(k.loc.range.end());
    let mut out = vec![(
        r.file.clone(),
        Edit {
            range,
            text: yaml::scalar(&keys[0]),
        },
    )];
    if keys.len() > 1 {
        let seq = BlockSeq::new(deps, r.file, text, "a `depends_on` list")?;
        let mut lines = String::new();
        for k in &keys[1..] {
            lines.push_str(&format!("- task_key: {}\n", yaml::scalar(k)));
        }
        out.push((
            r.file.clone(),
            Edit::insert(
                seq.after_item(text, i),
                ye::place(&lines, seq.dash_col, ye::newline(text)),
            ),
        ));
    }
    Ok(out)
}

/// Load the edited bundle for every target and check the job says what was intended: the
/// orchestrator task (or the For Each that replaced it) is there, the new tasks run the child
/// notebooks, and every task that waited for the orchestrator waits for the whole fan-out.
fn verify(
    inp: &Input<'_>,
    job: &str,
    key: &str,
    convert: bool,
    changes: &[FileChange],
) -> Result<(), String> {
    let texts: BTreeMap<&Path, &str> = changes
        .iter()
        .map(|c| (c.path.as_path(), c.new.as_str()))
        .collect();
    let b = inp.bundle;
    let mut targets: Vec<Option<String>> = b.targets.iter().cloned().map(Some).collect();
    if targets.is_empty() {
        targets.push(None);
    }
    let last: Vec<String> = match &inp.plan.fanouts.last().map(|f| &f.kind) {
        Some(FanOutKind::ForEach(_)) if convert && inp.plan.fanouts.len() == 1 => {
            vec![key.to_string()]
        }
        Some(k) => k.last_keys(),
        None => return Ok(()),
    };
    // The task of the code after the fan-out (its notebook is new: not loaded yet).
    let after_keys: Vec<String> = inp.plan.after.iter().map(|a| a.task_key.clone()).collect();
    for target in targets {
        let load = LoadOptions {
            target: target.clone(),
            ..inp.load.clone()
        };
        let before = reload(b, &BTreeMap::new(), inp.config, &load)?;
        let after = reload(b, &texts, inp.config, &load)?;
        let name = target.as_deref().unwrap_or("default");
        if before.jobs.len() != after.jobs.len() {
            return Err(format!("target `{name}`: the number of jobs changed"));
        }
        let (Some(jb), Some(ja)) = (before.job(job), after.job(job)) else {
            return Err(format!("target `{name}`: job `{job}` is missing"));
        };
        let t = ja
            .task(key)
            .ok_or_else(|| format!("target `{name}`: task `{key}` is missing"))?;
        match (convert, &t.for_each_task) {
            (true, None) => {
                return Err(format!(
                    "target `{name}`: task `{key}` is not a For Each task"
                ))
            }
            (false, Some(_)) => {
                return Err(format!("target `{name}`: task `{key}` changed its type"))
            }
            _ => {}
        }
        for k in &last {
            let task = ja
                .task(k)
                .ok_or_else(|| format!("target `{name}`: task `{k}` is missing"))?;
            let runs = task.nested_task().unwrap_or(task);
            if !matches!(after.resolve_notebook(ja, runs), NotebookRef::Local(_)) {
                return Err(format!(
                    "target `{name}`: task `{k}` does not run a notebook of the bundle"
                ));
            }
        }
        for k in &after_keys {
            if ja.task(k).is_none() {
                return Err(format!("target `{name}`: task `{k}` is missing"));
            }
        }
        let (gb, ga) = (jb.graph(), ja.graph());
        for task in &jb.tasks {
            let Some(tk) = task.key() else { continue };
            if tk == key || !gb.is_upstream(key, tk) {
                continue;
            }
            let up = ga.upstream(tk);
            if let Some(k) = last.iter().chain(&after_keys).find(|k| !up.contains(*k)) {
                return Err(format!(
                    "target `{name}`: task `{tk}` waited for `{key}` but would not wait for `{k}`"
                ));
            }
        }
    }
    Ok(())
}

/// Load the bundle again with some files' texts replaced.
fn reload(
    b: &Bundle,
    texts: &BTreeMap<&Path, &str>,
    config: &crate::config::Config,
    load: &LoadOptions,
) -> Result<Bundle, String> {
    let root_text: Arc<str> = match texts.get(b.root_file.as_path()) {
        Some(t) => Arc::from(*t),
        None => Arc::from(b.text(&b.root_file).unwrap_or_default()),
    };
    let loaded = |p: &Path| -> Option<Arc<str>> {
        texts
            .get(p)
            .map(|t| Arc::from(*t))
            .or_else(|| b.text(p).map(Arc::from))
    };
    let mut diags = Vec::new();
    let nb = crate::bundle::load_bundle(
        b.root_file.clone(),
        root_text,
        &loaded,
        config,
        load,
        &mut diags,
    );
    match diags.iter().find(|d| d.kind.code() == "SCH002") {
        Some(d) => Err(format!("{}: {}", d.file.display(), d.message)),
        None => Ok(nb),
    }
}

/// The YAML to apply by hand when the edit is refused, with the steps.
pub fn manual_yaml(inp: &Input<'_>, key: &str) -> Manual {
    let job = &inp.runner.job.key;
    let dir = inp
        .runner
        .task
        .node
        .loc
        .file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let compute = match inp.compute {
        Some(c) => TaskCompute::Given(c),
        None => TaskCompute::Given(&Compute::Serverless),
    };
    if let (true, Some(FanOutKind::ForEach(fe))) = (
        converts(inp.plan),
        inp.plan.fanouts.first().map(|f| &f.kind),
    ) {
        let mut then =
            "and put the compute and retries the task had on the nested `task`.".to_string();
        if let Some(a) = &inp.plan.after {
            let only_after = super::plan::NotebookPlan {
                fanouts: Vec::new(),
                ..inp.plan.clone()
            };
            let (items, _) = yaml::fan_out_tasks(&only_after, &[key.to_string()], &dir, compute);
            then.push_str(&format!(
                "\nThen add this task, for the code that ran after the fan-out, and make every task that depends on `{key}` depend on `{}` instead:\n{}",
                a.task_key,
                yaml::indent_lines(&items, 4).trim_end()
            ));
        }
        return Manual {
            steps: format!(
                "In job `{job}`, replace the `notebook_task` of task `{key}` (and its compute, libraries and retries) with:"
            ),
            yaml: yaml::for_each_entry(fe, key, &dir, compute),
            then,
        };
    }
    let (items, last) = yaml::fan_out_tasks(inp.plan, &[key.to_string()], &dir, compute);
    Manual {
        steps: format!("In job `{job}`, add these tasks after task `{key}`:"),
        yaml: items,
        then: format!(
            "and make every task that depends on `{key}` depend on {} instead.",
            last.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
