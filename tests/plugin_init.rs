//! `bricklint init --python`: the mutator is added to the bundle's `python:` section once; a
//! second run changes nothing.

use assert_cmd::Command;
use predicates::prelude::*;

#[test]
fn init_python_twice_changes_the_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let yml = dir.path().join("databricks.yml");
    let src = "bundle:\n  name: demo\n\npython:\n  venv_path: .venv # the bundle's venv\n  resources:\n    - \"resources:load_resources\"\n";
    std::fs::write(&yml, src).unwrap();
    let init = || {
        let mut c = Command::cargo_bin("bricklint").unwrap();
        c.current_dir(dir.path())
            .args(["init", "--python", "--no-snippets"]);
        c
    };
    init()
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "added `bricklint.bundles:check_job` to `python.mutators`",
        ))
        .stdout(predicate::str::contains(
            "+  mutators:\n+    - \"bricklint.bundles:check_job\"",
        ));
    let once = std::fs::read_to_string(&yml).unwrap();
    assert_eq!(
        once,
        "bundle:\n  name: demo\n\npython:\n  mutators:\n    - \"bricklint.bundles:check_job\"\n  venv_path: .venv # the bundle's venv\n  resources:\n    - \"resources:load_resources\"\n"
    );
    init()
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing to do"));
    assert_eq!(std::fs::read_to_string(&yml).unwrap(), once);
    // --diff on a file that has it: no diff, exit 0.
    init().arg("--diff").assert().success();
}

#[test]
fn init_python_diff_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let yml = dir.path().join("databricks.yml");
    std::fs::write(&yml, "bundle:\n  name: demo\n").unwrap();
    Command::cargo_bin("bricklint")
        .unwrap()
        .current_dir(dir.path())
        .args(["init", "--python", "--diff", "--no-snippets"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("+python:"));
    assert_eq!(
        std::fs::read_to_string(&yml).unwrap(),
        "bundle:\n  name: demo\n"
    );
}
