//! References between resources and the files resources name.

use super::{bundle, check, NOTEBOOK};

/// bundle/config/validate/dangling_resource_references.go: `${resources.<group>.<name>...}`
/// whose resource is not defined is an error ("reference does not exist"); the trailing field
/// is not checked.
#[test]
fn a_reference_to_an_undefined_resource_is_an_error() {
    let d = bundle(&[(
        "databricks.yml",
        "bundle:\n  name: n\nresources:\n  jobs:\n    a:\n      name: a\n      tasks:\n        - task_key: t\n          run_job_task:\n            job_id: ${resources.jobs.b.id}\n        - task_key: u\n          run_job_task:\n            job_id: ${resources.jobs.c.whatever}\n    c:\n      name: c\n",
    )]);
    let o = check(d.path(), &["--select", "RES"]);
    let f = o.findings("RES001");
    assert_eq!(f.len(), 1, "{}", o.stdout);
    assert!(
        f[0].starts_with("databricks.yml:10:21:") && f[0].contains("jobs.b"),
        "{}",
        f[0]
    );
    assert_eq!(o.code, 1);
}

/// A resource is created after the resources it references (the deployment orders resources
/// by their `${resources...}` references); jobs that run each other, or a job that runs itself,
/// cannot be ordered. Each cycle is reported once.
#[test]
fn jobs_referencing_each_other_or_themselves_are_reported_once_per_cycle() {
    let d = bundle(&[(
        "databricks.yml",
        "bundle:\n  name: n\nresources:\n  jobs:\n    a:\n      name: a\n      tasks:\n        - task_key: t\n          run_job_task:\n            job_id: ${resources.jobs.b.id}\n    b:\n      name: b\n      tasks:\n        - task_key: t\n          run_job_task:\n            job_id: ${resources.jobs.a.id}\n    c:\n      name: c\n      tasks:\n        - task_key: t\n          run_job_task:\n            job_id: ${resources.jobs.c.id}\n",
    )]);
    let o = check(d.path(), &["--select", "RES"]);
    let f = o.findings("RES001");
    assert_eq!(f.len(), 2, "{}", o.stdout);
    assert!(
        f[0].starts_with("databricks.yml:10:21:") && f[0].contains("jobs.a -> jobs.b -> jobs.a"),
        "{}",
        f[0]
    );
    assert!(
        f[1].starts_with("databricks.yml:22:21:") && f[1].contains("itself"),
        "{}",
        f[1]
    );
}

/// A chain without a cycle is fine.
#[test]
fn a_chain_of_job_runs_is_accepted() {
    let d = bundle(&[(
        "databricks.yml",
        "bundle:\n  name: n\nresources:\n  jobs:\n    a:\n      name: a\n      tasks:\n        - task_key: t\n          run_job_task:\n            job_id: ${resources.jobs.b.id}\n    b:\n      name: b\n      description: ${resources.pipelines.p.name}\n  pipelines:\n    p:\n      name: p\n",
    )]);
    let o = check(d.path(), &["--select", "RES"]);
    assert!(o.findings("RES001").is_empty(), "{}", o.stdout);
}

/// bundle/config/mutator/translate_paths_jobs.go and translate_paths_pipelines.go: local paths
/// of spark_python_task, sql_task.file, dbt_task.project_directory and pipeline libraries are
/// translated, and a path that does not exist stops the CLI. Relative to the YAML file.
#[test]
fn missing_task_and_library_files_are_errors() {
    let d = bundle(&[
        (
            "databricks.yml",
            "bundle:\n  name: n\ninclude:\n  - resources/*.yml\n",
        ),
        (
            "resources/j.yml",
            "resources:\n  jobs:\n    j:\n      name: j\n      tasks:\n        - task_key: py\n          spark_python_task:\n            python_file: ../src/main.py\n        - task_key: sql\n          sql_task:\n            warehouse_id: w\n            file:\n              path: ../src/q.sql\n        - task_key: dbt\n          dbt_task:\n            project_directory: ../dbt\n            commands: [\"dbt run\"]\n  pipelines:\n    p:\n      name: p\n      libraries:\n        - notebook:\n            path: ../src/nb.py\n        - file:\n            path: ../src/lib.py\n",
        ),
        ("src/main.py", "print(1)\n"),
        ("src/nb.py", NOTEBOOK),
    ]);
    let o = check(d.path(), &["--select", "RES"]);
    let f = o.findings("RES002");
    assert_eq!(f.len(), 3, "{}", o.stdout);
    assert!(
        f[0].starts_with("resources/j.yml:13:21:") && f[0].contains("q.sql"),
        "{}",
        f[0]
    );
    assert!(
        f[1].starts_with("resources/j.yml:16:32:") && f[1].contains("directory"),
        "{}",
        f[1]
    );
    assert!(
        f[2].starts_with("resources/j.yml:25:19:") && f[2].contains("lib.py"),
        "{}",
        f[2]
    );
    std::fs::create_dir_all(d.path().join("dbt")).unwrap();
    std::fs::write(d.path().join("src/q.sql"), "select 1\n").unwrap();
    std::fs::write(d.path().join("src/lib.py"), "x = 1\n").unwrap();
    let o = check(d.path(), &["--select", "RES"]);
    assert!(o.findings("RES002").is_empty(), "{}", o.stdout);
}
