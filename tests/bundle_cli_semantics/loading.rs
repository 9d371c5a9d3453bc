//! Loading: what the CLI's normalisation accepts, merges and rejects.

use std::path::Path;

use super::{bundle, check, NOTEBOOK};

/// libs/dyn/convert/normalize.go (normalizeSlice, normalizeStruct): a null value of a list or
/// an object is returned as it is, i.e. unset: `tasks:` with no value is a job without tasks.
#[test]
fn null_tasks_are_no_tasks() {
    let d = bundle(&[(
        "databricks.yml",
        "bundle:\n  name: n\nresources:\n  jobs:\n    j:\n      name: j\n      tasks:\n      job_clusters:\n",
    )]);
    let o = check(d.path(), &[]);
    assert_eq!(o.errors(), Vec::<&str>::new(), "{}", o.stdout);
    assert_eq!(o.code, 0, "{}", o.stdout);
}

/// libs/dyn/convert/normalize.go (normalizeString): booleans, integers and floats become
/// strings; (normalizeInt) a string of digits becomes an integer. No diagnostic for either.
#[test]
fn scalars_convert_to_strings_without_a_finding() {
    let d = bundle(&[
        (
            "databricks.yml",
            "bundle:\n  name: n\nresources:\n  jobs:\n    j:\n      name: j\n      max_concurrent_runs: \"3\"\n      tasks:\n        - task_key: t\n          existing_cluster_id: 500\n          notebook_task:\n            notebook_path: ./nb.py\n            base_parameters:\n              a: 1\n              b: true\n              c: 0.5\n",
        ),
        ("nb.py", NOTEBOOK),
    ]);
    let o = check(d.path(), &["--select", "SCH"]);
    assert_eq!(o.code, 0, "{}", o.stdout);
    assert!(o.findings("SCH001").is_empty(), "{}", o.stdout);
}

/// libs/dyn/convert/normalize.go (normalizeString with a float): FormatFloat(f, 'f', -1)
/// writes `13.10` as "13.1": accepted, but the value changes, so bricklint warns.
#[test]
fn a_lossy_number_to_string_conversion_is_a_warning() {
    let d = bundle(&[
        (
            "databricks.yml",
            "bundle:\n  name: n\nresources:\n  jobs:\n    j:\n      name: j\n      tasks:\n        - task_key: t\n          notebook_task:\n            notebook_path: ./nb.py\n            base_parameters:\n              version: 13.10\n",
        ),
        ("nb.py", NOTEBOOK),
    ]);
    let o = check(d.path(), &["--select", "SCH"]);
    let f = o.findings("SCH001");
    assert_eq!(f.len(), 1, "{}", o.stdout);
    assert!(
        f[0].contains("[warning]") && f[0].contains("\"13.1\""),
        "{}",
        f[0]
    );
    assert!(f[0].starts_with("databricks.yml:12:24:"), "{}", f[0]);
}

/// bundle/config/resources/job.go: `id` and `url` are fields of the resource types (set by the
/// deployment), so normalize.go does not call them unknown; what the configuration says is
/// replaced at deploy. bricklint warns that they are ignored (never an error).
#[test]
fn read_only_resource_fields_are_warnings() {
    let d = bundle(&[(
        "databricks.yml",
        "bundle:\n  name: n\nresources:\n  jobs:\n    j:\n      name: j\n      id: \"1\"\n      url: https://x\n",
    )]);
    let o = check(d.path(), &["--select", "SCH"]);
    let f = o.findings("SCH001");
    assert_eq!(f.len(), 2, "{}", o.stdout);
    assert!(
        f.iter()
            .all(|l| l.contains("[warning]") && l.contains("ignored by the CLI")),
        "{}",
        o.stdout
    );
    assert!(o.errors().is_empty(), "{}", o.stdout);
}

/// bundle/config/mutator/merge_job_tasks.go: after target overrides, tasks with one task_key
/// are merged into one. Split between an include and a target override in another file, that
/// is on purpose: no JOB003.
#[test]
fn a_task_split_between_files_is_merged_without_a_finding() {
    let d = bundle(&[
        (
            "databricks.yml",
            "bundle:\n  name: n\ninclude:\n  - resources/*.yml\ntargets:\n  dev:\n    default: true\n    resources:\n      jobs:\n        j:\n          tasks:\n            - task_key: t\n              max_retries: 1\n",
        ),
        (
            "resources/j.yml",
            "resources:\n  jobs:\n    j:\n      name: j\n      tasks:\n        - task_key: t\n          notebook_task:\n            notebook_path: ../nb.py\n",
        ),
        ("nb.py", NOTEBOOK),
    ]);
    let o = check(d.path(), &[]);
    assert!(o.findings("JOB003").is_empty(), "{}", o.stdout);
    assert_eq!(o.code, 0, "{}", o.stdout);
}

/// Same file, same layer: still reported (one task silently overwrites the other).
#[test]
fn a_task_key_repeated_in_one_file_is_still_reported() {
    let d = bundle(&[
        (
            "databricks.yml",
            "bundle:\n  name: n\nresources:\n  jobs:\n    j:\n      name: j\n      tasks:\n        - task_key: t\n          notebook_task:\n            notebook_path: ./nb.py\n        - task_key: t\n          notebook_task:\n            notebook_path: ./nb.py\n",
        ),
        ("nb.py", NOTEBOOK),
    ]);
    let o = check(d.path(), &[]);
    assert_eq!(o.findings("JOB003").len(), 1, "{}", o.stdout);
}

/// bundle/config/validate/unique_resource_keys.go: one key for a job and a pipeline is an
/// error ("multiple resources or scripts have been defined with the same key").
#[test]
fn one_key_for_two_resource_types_is_an_error() {
    let d = bundle(&[(
        "databricks.yml",
        "bundle:\n  name: n\nresources:\n  jobs:\n    foo:\n      name: foo\n  pipelines:\n    foo:\n      name: foo\n",
    )]);
    let o = check(d.path(), &["--select", "SCH"]);
    let f = o.findings("SCH001");
    assert_eq!(f.len(), 1, "{}", o.stdout);
    assert!(
        f[0].starts_with("databricks.yml:8:5:") && f[0].contains("`foo`"),
        "{}",
        f[0]
    );
    assert_eq!(o.code, 1);
}

/// bundle/config/validate/required_fields.go: required fields are checked on the merged
/// configuration: a wheel task whose entry_point comes from the selected target is complete.
#[test]
fn required_task_fields_are_checked_on_the_merged_target() {
    let yml = "bundle:\n  name: n\nresources:\n  jobs:\n    j:\n      name: j\n      tasks:\n        - task_key: w\n          python_wheel_task:\n            package_name: p\ntargets:\n  dev:\n    default: true\n    resources:\n      jobs:\n        j:\n          tasks:\n            - task_key: w\n              python_wheel_task:\n                entry_point: main\n  prod:\n    workspace:\n      host: https://x\n";
    let d = bundle(&[("databricks.yml", yml)]);
    let dev = check(d.path(), &["--select", "SCH"]);
    assert!(dev.findings("SCH001").is_empty(), "{}", dev.stdout);
    let prod = check(d.path(), &["--select", "SCH", "--target", "prod"]);
    let f = prod.findings("SCH001");
    assert_eq!(f.len(), 1, "{}", prod.stdout);
    assert!(
        f[0].contains("`entry_point`") && f[0].starts_with("databricks.yml:9:11:"),
        "{}",
        f[0]
    );
}

/// The official schema, given with --bundle-schema, is checked on the merged configuration:
/// a target override fragment without the required fields is not reported, `${...}` in an
/// enum field is resolved later (bundle/config/validate/enum.go skips references).
#[test]
fn the_official_schema_is_checked_on_the_merged_target() {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/databricks/bundle_schema.json");
    if !schema.is_file() {
        eprintln!("skipped: {} not found", schema.display());
        return;
    }
    let d = bundle(&[
        (
            "databricks.yml",
            "bundle:\n  name: n\nvariables:\n  run_if:\n    default: ALL_DONE\nresources:\n  jobs:\n    j:\n      name: j\n      tasks:\n        - task_key: t\n          run_if: ${var.run_if}\n          existing_cluster_id: 500\n          notebook_task:\n            notebook_path: ./nb.py\n        - task_key: u\n          run_if: ${resources.jobs.j.name}\n          existing_cluster_id: \"1\"\n          notebook_task:\n            notebook_path: ./nb.py\ntargets:\n  dev:\n    default: true\n    resources:\n      jobs:\n        j:\n          tasks:\n            - task_key: t\n              max_retries: 2\n",
        ),
        ("nb.py", NOTEBOOK),
    ]);
    let o = check(
        d.path(),
        &[
            "--select",
            "SCH",
            "--bundle-schema",
            schema.to_str().unwrap(),
        ],
    );
    assert!(
        o.findings("SCH001").iter().all(|l| !l.contains("[error]")),
        "{}",
        o.stdout
    );
}

/// bundle/config/validate/required_fields.go runs on the merged configuration: a target
/// override that leaves out a required field the base sets is complete; a null
/// `for_each_task` is no For Each task (normalize.go keeps a null struct as nil).
#[test]
fn required_fields_are_judged_after_the_target_is_merged() {
    let d = bundle(&[
        (
            "databricks.yml",
            "bundle:\n  name: n\nresources:\n  jobs:\n    j:\n      name: j\n      tasks:\n        - task_key: t\n          for_each_task:\n          notebook_task:\n            notebook_path: ./nb.py\ntargets:\n  dev:\n    default: true\n    resources:\n      jobs:\n        j:\n          tasks:\n            - task_key: t\n              notebook_task:\n                base_parameters:\n                  x: \"1\"\n          job_clusters:\n            - new_cluster:\n                num_workers: 2\n",
        ),
        ("nb.py", "# Databricks notebook source\nx = dbutils.widgets.get(\"x\")\n"),
    ]);
    let o = check(d.path(), &[]);
    // Only the job cluster without a key, which the merged result really lacks.
    assert_eq!(o.errors().len(), 1, "{}", o.stdout);
    assert!(
        o.errors()[0].starts_with("databricks.yml:24:15:")
            && o.errors()[0].contains("job_cluster_key"),
        "{}",
        o.stdout
    );
    assert!(
        o.findings("FE001").is_empty() && o.findings("FE005").is_empty(),
        "{}",
        o.stdout
    );
}
