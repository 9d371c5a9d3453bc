//! Targets: which targets are checked, and target overrides that cannot merge.

use super::{bundle, check, NOTEBOOK};

/// Two targets, neither of them default, a task added by each with a broken dependency.
const TWO_TARGETS: &str = "bundle:\n  name: n\nresources:\n  jobs:\n    j:\n      name: j\n      tasks:\n        - task_key: a\n          depends_on: [{task_key: gone}]\n          notebook_task: {notebook_path: ./nb.py}\ntargets:\n  dev:\n    resources:\n      jobs:\n        j:\n          tasks:\n            - task_key: z\n              depends_on: [{task_key: nope}]\n              notebook_task: {notebook_path: ./nb.py}\n  prod:\n    workspace:\n      host: https://example.cloud.databricks.com\n";

/// bundle/config/mutator/select_default_target.go: several targets and none `default: true`
/// is an error without --target ("please specify target"). bricklint checks every target:
/// a finding of every target is reported once as it is, one of some targets names them, and
/// the summary says every target was checked.
#[test]
fn without_a_default_every_target_is_checked_and_named() {
    let d = bundle(&[("databricks.yml", TWO_TARGETS), ("nb.py", NOTEBOOK)]);
    let o = check(d.path(), &["--select", "JOB001"]);
    let f = o.findings("JOB001");
    assert_eq!(f.len(), 2, "{}", o.stdout);
    assert!(
        f[0].starts_with("databricks.yml:9:35:") && !f[0].contains("target"),
        "{}",
        f[0]
    );
    assert!(
        f[1].starts_with("databricks.yml:18:39:") && f[1].ends_with("(in target `dev` only)"),
        "{}",
        f[1]
    );
    assert!(
        o.stdout
            .contains("every target was checked (`dev`, `prod`)"),
        "{}",
        o.stdout
    );
    assert_eq!(o.code, 1);
}

/// bundle/config/mutator/select_target.go: with --target only that target is merged.
#[test]
fn with_target_only_that_target_is_checked() {
    let d = bundle(&[("databricks.yml", TWO_TARGETS), ("nb.py", NOTEBOOK)]);
    let o = check(d.path(), &["--select", "JOB001", "--target", "prod"]);
    let f = o.findings("JOB001");
    assert_eq!(f.len(), 1, "{}", o.stdout);
    assert!(!f[0].contains("target"), "{}", f[0]);
    assert!(!o.stdout.contains("every target"), "{}", o.stdout);
}

/// --target in a run over two bundles, one of which lacks the target: the other bundle is
/// checked with its own default and a note says so (exit 1 for its findings, not 2); a target
/// no bundle defines is still a usage error (select_target.go: "no such target").
#[test]
fn target_applies_only_to_the_bundles_that_define_it() {
    let d = bundle(&[
        ("a/databricks.yml", TWO_TARGETS),
        ("a/nb.py", NOTEBOOK),
        (
            "b/databricks.yml",
            "bundle:\n  name: b\nresources:\n  jobs:\n    k:\n      name: k\n      tasks:\n        - task_key: x\n          depends_on: [{task_key: y}]\n          notebook_task: {notebook_path: ./nb.py}\n",
        ),
        ("b/nb.py", NOTEBOOK),
    ]);
    let o = check(d.path(), &["--select", "JOB001", "--target", "prod"]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    let f = o.findings("JOB001");
    assert_eq!(f.len(), 2, "{}", o.stdout);
    assert!(f[1].starts_with("b/databricks.yml:9:35:"), "{}", f[1]);
    assert!(
        o.stdout
            .contains("target `prod` is not defined in this bundle"),
        "{}",
        o.stdout
    );
    let o = check(d.path(), &["--select", "JOB001", "--target", "nope"]);
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("`nope` is not defined"), "{}", o.stderr);
}

/// libs/dyn/merge/merge.go: a sequence cannot be merged into a string ("cannot merge string
/// with sequence"): a target that appends tasks to `tasks: ${var.tasks}` stops the CLI.
#[test]
fn a_list_override_of_a_variable_reference_is_reported() {
    let d = bundle(&[
        (
            "databricks.yml",
            "bundle:\n  name: c\nvariables:\n  tasks:\n    type: complex\n    default:\n      - task_key: a\n        notebook_task: {notebook_path: ./nb.py}\nresources:\n  jobs:\n    j:\n      name: j\n      tasks: ${var.tasks}\ntargets:\n  dev:\n    default: true\n    resources:\n      jobs:\n        j:\n          tasks:\n            - task_key: b\n              notebook_task: {notebook_path: ./nb.py}\n",
        ),
        ("nb.py", NOTEBOOK),
    ]);
    let o = check(d.path(), &["--select", "SCH"]);
    let f = o.findings("SCH001");
    assert_eq!(f.len(), 1, "{}", o.stdout);
    assert!(
        f[0].starts_with("databricks.yml:21:13:")
            && f[0].contains("cannot merge string with sequence"),
        "{}",
        f[0]
    );
}

/// A scalar override of a scalar merges (mergePrimitive): no finding.
#[test]
fn scalar_overrides_merge() {
    let d = bundle(&[
        (
            "databricks.yml",
            "bundle:\n  name: c\nvariables:\n  r:\n    default: 2\nresources:\n  jobs:\n    j:\n      name: j\n      max_concurrent_runs: 1\n      tasks:\n        - task_key: a\n          notebook_task: {notebook_path: ./nb.py}\ntargets:\n  dev:\n    default: true\n    resources:\n      jobs:\n        j:\n          max_concurrent_runs: ${var.r}\n",
        ),
        ("nb.py", NOTEBOOK),
    ]);
    let o = check(d.path(), &["--select", "SCH"]);
    assert!(o.findings("SCH001").is_empty(), "{}", o.stdout);
}

/// Every target is a full load: over 32 targets without a default, the bundle is checked
/// without a target, and the note says so.
#[test]
fn too_many_targets_without_a_default_are_checked_without_a_target() {
    let mut yml = String::from("bundle:\n  name: n\ntargets:\n");
    for i in 0..40 {
        yml.push_str(&format!(
            "  t{i}:\n    workspace:\n      host: https://x{i}\n"
        ));
    }
    let d = bundle(&[("databricks.yml", &yml)]);
    let o = check(d.path(), &[]);
    assert_eq!(o.code, 0, "{}", o.stdout);
    assert!(
        o.stdout.contains("40 targets and none of them default"),
        "{}",
        o.stdout
    );
}
