//! The file side of [`AfterPlan`]: code after the fan-out that does not use its results moves
//! to a new notebook, run by a task after the fan-out (the job side is in [`super::yaml`]'s
//! task list). The statements leave the orchestrator; the imports and constants they read are
//! copied above them.

use ruff_text_size::{TextRange, TextSize};

use super::plan::AfterPlan;
use super::rewrite::{self, LineEdit};
use super::{yaml, FileChange, NotebookOutcome};
use crate::source::{display_path, Document};

/// The first line of every notebook `migrate` creates for the code after a fan-out.
pub const AFTER_HEADER: &str = "# bricklint migrate: moved from";

/// The orchestrator's edits that remove the moved statements (with the blank lines around
/// them), keyed by their start as the planner's edits are.
pub fn removals(doc: &Document, after: &AfterPlan) -> Vec<(LineEdit, TextSize)> {
    after
        .moved
        .iter()
        .map(|r| {
            let range = rewrite::absorb_blank_lines(doc, rewrite::whole_lines(doc, *r));
            (
                LineEdit {
                    range,
                    code: Vec::new(),
                },
                r.start(),
            )
        })
        .collect()
}

/// The text of whole-line statements of the document, each ending with a newline.
fn statements(doc: &Document, ranges: &[TextRange]) -> Option<String> {
    let mut out = String::new();
    for r in ranges {
        let lines = rewrite::whole_lines(doc, *r);
        let text = doc
            .text
            .get(usize::from(lines.start())..usize::from(lines.end()))?;
        out.push_str(text.trim_end_matches(['\r', '\n']));
        out.push('\n');
    }
    Some(out)
}

/// The new notebook (a Databricks source notebook): the header, the copied statements, then
/// the moved ones.
pub fn notebook_text(doc: &Document, after: &AfterPlan, root: &std::path::Path) -> Option<String> {
    let mut out = String::from("# Databricks notebook source\n");
    out.push_str(&format!(
        "{AFTER_HEADER} {}: the job runs it after the fan-out (task `{}`).\n\n",
        yaml::relative_path(root, &doc.path),
        after.task_key
    ));
    if !after.copied.is_empty() {
        out.push_str(&statements(doc, &after.copied)?);
        out.push('\n');
    }
    out.push_str(&statements(doc, &after.moved)?);
    Some(out)
}

/// Add the new notebook to the outcome's changes; blocked when a file of that name exists
/// (a user's file is never overwritten).
pub fn add_notebook(out: &mut NotebookOutcome, doc: &Document, root: &std::path::Path) {
    let Some(after) = out.plan.after.clone() else {
        return;
    };
    if after.notebook.exists() {
        out.blocked.push(format!(
            "{} exists: the code after the fan-out would move there; rename that file first",
            display_path(&after.notebook)
        ));
        return;
    }
    match notebook_text(doc, &after, root) {
        Some(new) => out.changes.push(FileChange {
            path: after.notebook.clone(),
            old: None,
            new,
        }),
        None => out
            .blocked
            .push("the code after the fan-out could not be read back from the notebook".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    #[test]
    fn moved_code_leaves_the_orchestrator_for_its_own_notebook() {
        let text = "# Databricks notebook source\nimport json\nenv = \"prod\"\n\nrun_fan_out()\n\nprint(json.dumps({\"env\": env}))\nspark.sql(\"OPTIMIZE t\")\n";
        let doc = Document::load(
            Arc::new("/r/nb/orch.py".into()),
            crate::source::FileKind::SourceNotebook(crate::source::Lang::Python),
            text.to_string(),
        )
        .unwrap();
        let at = |s: &str| {
            let i = text.find(s).unwrap() as u32;
            TextRange::new(TextSize::new(i), TextSize::new(i + s.len() as u32))
        };
        let after = AfterPlan::new(
            Path::new("/r/nb/orch.py"),
            "orch",
            &[],
            vec![
                at("print(json.dumps({\"env\": env}))"),
                at("spark.sql(\"OPTIMIZE t\")"),
            ],
            vec![at("import json"), at("env = \"prod\"")],
        );
        assert_eq!(after.task_key, "orch_after");
        assert_eq!(after.notebook, Path::new("/r/nb/orch_after.py"));
        let nb = notebook_text(&doc, &after, Path::new("/r")).unwrap();
        assert_eq!(
            nb,
            "# Databricks notebook source\n# bricklint migrate: moved from nb/orch.py: the job runs it after the fan-out (task `orch_after`).\n\nimport json\nenv = \"prod\"\n\nprint(json.dumps({\"env\": env}))\nspark.sql(\"OPTIMIZE t\")\n"
        );
        let edits = removals(&doc, &after);
        let new = rewrite::apply(&doc, &edits).unwrap();
        assert_eq!(
            new,
            "# Databricks notebook source\nimport json\nenv = \"prod\"\n\nrun_fan_out()\n\n"
        );
    }
}

#[cfg(test)]
mod job_tests {
    use std::path::Path;
    use std::sync::Arc;

    use ruff_text_size::TextRange;

    use crate::migrate::job_choice::{choose_job, JobChoice};
    use crate::migrate::job_edit::{edit, Input};
    use crate::migrate::plan::*;
    use crate::migrate::runners::raw_tasks;

    const BUNDLE: &str = "bundle:\n  name: t\n\nresources:\n  jobs:\n    j:\n      name: j\n      tasks:\n        - task_key: orch  # fans out\n          job_cluster_key: main\n          notebook_task:\n            notebook_path: nb/orch.py\n        - task_key: publish\n          depends_on:\n            - task_key: orch\n          job_cluster_key: main\n          notebook_task:\n            notebook_path: nb/publish.py\n      job_clusters:\n        - job_cluster_key: main\n          new_cluster:\n            num_workers: 1\n";

    fn plan(root: &Path, producer_task: bool) -> NotebookPlan {
        let nb = root.join("nb/orch.py");
        NotebookPlan {
            notebook: nb.clone(),
            bundle_root: root.to_path_buf(),
            job_file: None,
            job_key: "j".into(),
            producer_key: "orch".into(),
            producer_task,
            fanouts: vec![FanOutPlan {
                line: 3,
                dispatch: "ThreadPool.map".into(),
                kind: FanOutKind::ForEach(ForEachPlan {
                    task_key: if producer_task { "run_child" } else { "orch" }.into(),
                    child: root.join("nb/child.py"),
                    parameters: vec![("t".into(), ParamValue::Input)],
                    items: Items {
                        source: ItemsSource::Literal,
                        values: Some(vec![serde_json::json!("a")]),
                        producer_expr: String::new(),
                    },
                    concurrency: 2,
                    timeout_seconds: None,
                    max_retries: None,
                    value_key: "orch_inputs".into(),
                }),
                remove: vec![],
                replace: TextRange::default(),
                notes: vec![],
            }],
            refusals: vec![],
            explain: vec![],
            after: Some(AfterPlan::new(
                &nb,
                "orch",
                &["orch".into(), "publish".into()],
                vec![TextRange::default()],
                vec![],
            )),
        }
    }

    /// The job after the in-place edit, as (task key, depends_on keys, notebook or for_each).
    fn edited(producer_task: bool) -> (String, Vec<(String, Vec<String>, String)>) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("nb")).unwrap();
        for n in ["orch", "publish", "child"] {
            std::fs::write(
                root.join(format!("nb/{n}.py")),
                "# Databricks notebook source\n",
            )
            .unwrap();
        }
        let file = Arc::new(root.join("databricks.yml"));
        std::fs::write(&*file, BUNDLE).unwrap();
        let mut diags = Vec::new();
        let load = crate::bundle::LoadOptions::default();
        let config = crate::config::Config::default();
        let b = crate::bundle::load_bundle(
            file.clone(),
            Arc::from(BUNDLE),
            &|_| None,
            &config,
            &load,
            &mut diags,
        );
        assert!(diags.is_empty(), "{diags:?}");
        let raws = raw_tasks(&b);
        let nb = root.join("nb/orch.py");
        let JobChoice::InPlace(runner) = choose_job(Some(&b), &raws, &nb, &root, "orch", false)
        else {
            panic!("the job runs the orchestrator");
        };
        let p = plan(&root, producer_task);
        let e = edit(&Input {
            bundle: &b,
            runner,
            raws: &raws,
            plan: &p,
            compute: None,
            config: &config,
            load: &load,
        })
        .unwrap_or_else(|r| panic!("{}", r.reason));
        let new = e.changes[0].new.clone();
        let v: serde_json::Value = serde_saphyr::from_str(&new).unwrap();
        let tasks = v["resources"]["jobs"]["j"]["tasks"].as_array().unwrap();
        let out = tasks
            .iter()
            .map(|t| {
                let deps = t["depends_on"]
                    .as_array()
                    .map(|d| {
                        d.iter()
                            .map(|x| x["task_key"].as_str().unwrap().to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                let runs = if t["for_each_task"].is_object() {
                    "for_each".to_string()
                } else {
                    t["notebook_task"]["notebook_path"]
                        .as_str()
                        .unwrap()
                        .to_string()
                };
                (t["task_key"].as_str().unwrap().to_string(), deps, runs)
            })
            .collect();
        (new, out)
    }

    #[test]
    fn the_after_task_follows_the_converted_for_each_and_takes_its_dependents() {
        let (text, tasks) = edited(false);
        let s = |x: &str| x.to_string();
        assert_eq!(
            tasks,
            vec![
                (s("orch"), vec![], s("for_each")),
                (s("orch_after"), vec![s("orch")], s("nb/orch_after.py")),
                (s("publish"), vec![s("orch_after")], s("nb/publish.py")),
            ],
            "{text}"
        );
        assert!(text.contains("- task_key: orch  # fans out\n"), "{text}");
        // The after task runs on the orchestrator's compute.
        assert!(
            text.contains("notebook_path: nb/orch_after.py\n          job_cluster_key: main\n"),
            "{text}"
        );
    }

    #[test]
    fn the_after_task_follows_the_for_each_added_after_the_producer() {
        let (text, tasks) = edited(true);
        let s = |x: &str| x.to_string();
        assert_eq!(
            tasks,
            vec![
                (s("orch"), vec![], s("nb/orch.py")),
                (s("run_child"), vec![s("orch")], s("for_each")),
                (s("orch_after"), vec![s("run_child")], s("nb/orch_after.py")),
                (s("publish"), vec![s("orch_after")], s("nb/publish.py")),
            ],
            "{text}"
        );
    }
}
