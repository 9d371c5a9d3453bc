//! Loader tests (includes, targets, variables, merges, spans, the task graph).

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::config::Config;

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn load(dir: &Path, target: Option<&str>) -> (Bundle, Vec<LoadError>) {
    let root = dir.join("databricks.yml");
    let text = std::fs::read_to_string(&root).unwrap();
    let mut diags = Vec::new();
    let b = load_bundle(
        Arc::new(root),
        Arc::from(text.as_str()),
        &|_| None,
        &Config::default(),
        &LoadOptions {
            target: target.map(str::to_string),
            ..Default::default()
        },
        &mut diags,
    );
    (b, diags)
}

const NB: &str = "# Databricks notebook source\nx = 1\n";

#[test]
fn includes_are_not_recursive_and_first_match_wins() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "databricks.yml",
        "bundle: {name: b}\ninclude:\n  - resources/*.yml\n  - resources/**/*.yml\n  - resources/a.yml\n",
    );
    write(
        d.path(),
        "resources/a.yml",
        "resources:\n  jobs:\n    a: {name: a}\n",
    );
    write(
        d.path(),
        "resources/deep/b.yml",
        "resources:\n  jobs:\n    b: {name: b}\n",
    );
    write(
        d.path(),
        "resources/deep/deeper/c.yml",
        "resources:\n  jobs:\n    c: {name: c}\n",
    );
    let (b, diags) = load(d.path(), None);
    assert!(diags.is_empty(), "{diags:?}");
    let names: Vec<String> = b
        .files
        .iter()
        .map(|f| f.path.strip_prefix(d.path()).unwrap().display().to_string())
        .collect();
    // `**` is a plain `*` (Go's filepath.Glob): one directory level, no deeper.
    assert_eq!(
        names,
        ["databricks.yml", "resources/a.yml", "resources/deep/b.yml"]
    );
    let keys: Vec<&str> = b.jobs.iter().map(|j| j.key.as_str()).collect();
    assert_eq!(keys, ["a", "b"]);
}

#[test]
fn target_overrides_merge_tasks_by_key_and_keep_locations() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "databricks.yml",
        "bundle: {name: b}\ninclude: [resources/*.yml]\ntargets:\n  dev: {}\n  prod:\n    default: true\n    resources:\n      jobs:\n        j:\n          tasks:\n            - task_key: t1\n              max_retries: 5\n            - task_key: t3\n              notebook_task: {notebook_path: ../src/nb.py}\n          parameters:\n            - name: p\n              default: prod\n",
    );
    write(
        d.path(),
        "resources/j.yml",
        "resources:\n  jobs:\n    j:\n      parameters:\n        - name: p\n          default: dev\n      tasks:\n        - task_key: t1\n          max_retries: 1\n          notebook_task: {notebook_path: ../src/nb.py}\n        - task_key: t2\n          notebook_task: {notebook_path: ../src/nb.py}\n",
    );
    let (b, diags) = load(d.path(), None);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(b.target.as_deref(), Some("prod"));
    let j = b.job("j").unwrap();
    let keys: Vec<&str> = j.tasks.iter().filter_map(|t| t.key()).collect();
    assert_eq!(keys, ["t1", "t2", "t3"]);
    let mr = j.tasks[0].get("max_retries").unwrap();
    assert_eq!(mr.as_i64(), Some(5));
    // The merged value points into databricks.yml, the rest of the task into resources/j.yml.
    assert!(mr.loc.file.ends_with("databricks.yml"));
    let text = b.text(&mr.loc.file).unwrap();
    assert_eq!(&text[mr.loc.range], "5");
    let nb = j.tasks[0].notebook_task.as_ref().unwrap();
    assert!(nb
        .notebook_path
        .as_ref()
        .unwrap()
        .loc
        .file
        .ends_with("resources/j.yml"));
    assert_eq!(j.parameters.len(), 1);
    assert_eq!(
        j.parameters[0].default.as_ref().unwrap().as_str(),
        Some("prod")
    );
    // The dev target keeps the base values.
    let (b, _) = load(d.path(), Some("dev"));
    let j = b.job("j").unwrap();
    assert_eq!(j.tasks[0].get("max_retries").unwrap().as_i64(), Some(1));
    assert_eq!(j.tasks.len(), 2);
    // An unknown target is a usage error naming the defined targets, not a finding.
    let (b, diags) = load(d.path(), Some("staging"));
    let e = b.target_error.as_deref().unwrap_or_default();
    assert!(
        e.contains("`staging`") && e.contains("`dev`, `prod`"),
        "{e}"
    );
    assert!(
        !diags.iter().any(|x| x.message.contains("staging")),
        "{diags:?}"
    );
}

#[test]
fn variables_keep_their_type_in_pure_references() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "databricks.yml",
        "bundle: {name: b}\nvariables:\n  n: {default: 10}\n  env: {default: dev}\n  both: {default: \"${var.env}-x\"}\ntargets:\n  prod:\n    default: true\n    variables:\n      n: 42\nresources:\n  jobs:\n    j:\n      name: job-${var.both}-${bundle.target}\n      tasks:\n        - task_key: t\n          max_retries: ${var.n}\n          notebook_task: {notebook_path: ./nb.py, base_parameters: {u: \"${var.undefined}\"}}\n",
    );
    let (b, _) = load(d.path(), None);
    let j = b.job("j").unwrap();
    assert_eq!(j.tasks[0].get("max_retries").unwrap().as_i64(), Some(42));
    assert_eq!(j.name.as_ref().unwrap().as_str(), Some("job-dev-x-prod"));
    let u = &j.tasks[0].notebook_task.as_ref().unwrap().base_parameters[0].value;
    assert_eq!(u.as_str(), Some("${var.undefined}"));
}

fn load_with(dir: &Path, opts: LoadOptions) -> Bundle {
    let root = dir.join("databricks.yml");
    let text = std::fs::read_to_string(&root).unwrap();
    let mut diags = Vec::new();
    load_bundle(
        Arc::new(root),
        Arc::from(text.as_str()),
        &|_| None,
        &Config::default(),
        &opts,
        &mut diags,
    )
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn variable_precedence_is_flag_env_overrides_file_target_default() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "databricks.yml",
        "bundle: {name: b}
variables:
  a: {default: 1}
  b: {default: 1}
  c: {default: 1}
  e: {default: 1}
  f: {default: 1}
  wh:
    lookup: {warehouse: Shared}
  obj: {type: complex, default: {k: v}}
targets:
  dev:
    default: true
    variables:
      a: 2
      b: 2
      c: 2
      e: 2
resources:
  jobs:
    j:
      max_concurrent_runs: ${var.a}
      name: ${var.f}-${var.wh}
",
    );
    write(
        d.path(),
        ".databricks/bundle/dev/variable-overrides.json",
        r#"{"a": 3, "b": 3, "c": 3, "obj": {"k": "file"}}"#,
    );
    let b = load_with(
        d.path(),
        LoadOptions {
            target: None,
            vars: pairs(&[("a", "9"), ("a", "5")]),
            env_vars: pairs(&[("a", "4"), ("b", "4"), ("obj", "x")]),
            ..Default::default()
        },
    );
    let v = |n: &str| {
        let x = &b.variables[n];
        (x.value.as_ref().map(|v| v.to_json().to_string()), x.source)
    };
    // --var (the last one given) > BUNDLE_VAR_ > variable-overrides.json > target > default.
    assert_eq!(v("a"), (Some("5".into()), VarSource::Flag));
    assert_eq!(v("b"), (Some("4".into()), VarSource::Env));
    assert_eq!(v("c"), (Some("3".into()), VarSource::OverridesFile));
    assert_eq!(v("e"), (Some("2".into()), VarSource::Target));
    assert_eq!(v("f"), (Some("1".into()), VarSource::Default));
    // A lookup has no value offline; a complex variable ignores the environment.
    assert_eq!(v("wh"), (None, VarSource::Unknown));
    assert_eq!(
        v("obj"),
        (Some(r#"{"k":"file"}"#.into()), VarSource::OverridesFile)
    );
    // The flag value is typed like a YAML scalar in a pure reference; an unknown (lookup)
    // value stays a reference.
    let j = b.job("j").unwrap();
    assert_eq!(j.node.get("max_concurrent_runs").unwrap().as_i64(), Some(5));
    assert_eq!(j.name.as_ref().unwrap().as_str(), Some("1-${var.wh}"));
}

#[test]
fn var_flags_accept_comma_lists_and_quotes() {
    let v = parse_var_flags(&["a=1,b=x=y".into(), "\"c=1,2\"".into(), "d=".into()]).unwrap();
    assert_eq!(
        v,
        pairs(&[("a", "1"), ("b", "x=y"), ("c", "1,2"), ("d", "")])
    );
    let e = parse_var_flags(&["novalue".into()]).unwrap_err();
    assert!(e.contains("`novalue`"), "{e}");
    assert!(parse_var_flags(&["=1".into()]).is_err());
}

#[test]
fn bad_includes_are_reported() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "databricks.yml",
        "bundle: {name: b}\ninclude:\n  - missing.yml\n  - ../*.yml\n  - /abs/*.yml\n  - nothing/*.yml\n",
    );
    let (_, diags) = load(d.path(), None);
    let msgs: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(diags.len(), 3, "{msgs:?}");
    assert!(msgs[0].contains("matches no file"));
    // Outside the project (no repository here: the bundle directory is the project).
    assert!(msgs[1].contains("outside the project"), "{}", msgs[1]);
    assert_eq!(diags[1].kind.code(), "BL004");
    assert!(msgs[2].contains("absolute"));
    assert_eq!(diags[0].kind.code(), "SCH001");
    assert_eq!(diags[2].kind.code(), "SCH001");
}

#[test]
fn invalid_include_file_is_sch002_in_that_file() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "databricks.yml",
        "bundle: {name: b}\ninclude: [r/*.yml]\n",
    );
    write(d.path(), "r/x.yml", "resources:\n  jobs: [\n");
    let (b, diags) = load(d.path(), None);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].kind.code(), "SCH002");
    assert!(diags[0].file.ends_with("r/x.yml"));
    assert!(b.files[1].tree.is_none());
}

#[test]
fn duplicates_are_found_before_merging() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "databricks.yml",
        "bundle: {name: b}\nresources:\n  jobs:\n    j:\n      tasks:\n        - task_key: a\n        - task_key: a\n",
    );
    let (b, _) = load(d.path(), None);
    assert_eq!(b.duplicates.len(), 1);
    assert_eq!(b.duplicates[0].route, "resources.jobs.j.tasks[1].task_key");
    assert_eq!(b.job("j").unwrap().tasks.len(), 1);
}

#[test]
fn sub_ranges_map_into_quoted_and_block_strings() {
    let d = tempfile::tempdir().unwrap();
    let text = "bundle: {name: b}\nx:\n  q: \"a {{job.id}}\"\n  p: a {{job.id}}\n  blk: |\n    line {{input}}\n";
    write(d.path(), "databricks.yml", text);
    let (b, _) = load(d.path(), None);
    let cfg = b.config.as_ref().unwrap();
    for key in ["q", "p"] {
        let n = cfg.get_path(&["x", key]).unwrap();
        let s = n.as_str().unwrap();
        let r = refs::parse_dynamic(s).remove(0);
        let range = b.sub_range(n, r.range.clone());
        assert_eq!(&text[range], "{{job.id}}", "{key}");
    }
    let n = cfg.get_path(&["x", "blk"]).unwrap();
    let r = refs::parse_dynamic(n.as_str().unwrap()).remove(0);
    assert_eq!(&text[b.sub_range(n, r.segments[0].range.clone())], "input");
}

#[test]
fn cycles_are_deterministic_from_the_earliest_task() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "databricks.yml",
        "bundle: {name: b}\nresources:\n  jobs:\n    j:\n      tasks:\n        - task_key: z\n          depends_on: [{task_key: y}]\n        - task_key: x\n          depends_on: [{task_key: z}]\n        - task_key: y\n          depends_on: [{task_key: x}]\n        - task_key: free\n          depends_on: [{task_key: x}]\n",
    );
    let (b, _) = load(d.path(), None);
    let j = b.job("j").unwrap();
    let g = j.graph();
    let cycles = g.cycles();
    assert_eq!(cycles, vec![vec![0, 2, 1]]);
    assert_eq!(
        g.upstream("free").into_iter().collect::<Vec<_>>(),
        ["x", "y", "z"]
    );
    for _ in 0..5 {
        assert_eq!(j.graph().cycles(), cycles);
    }
}

#[test]
fn notebook_paths_follow_the_cli_rules() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "databricks.yml",
        "bundle: {name: b}\ninclude: [resources/*.yml]\n",
    );
    write(
        d.path(),
        "resources/j.yml",
        "resources:\n  jobs:\n    j:\n      tasks:\n        - task_key: ok\n          notebook_task: {notebook_path: ../src/nb.py}\n        - task_key: noext\n          notebook_task: {notebook_path: ../src/nb}\n        - task_key: ws\n          notebook_task: {notebook_path: /Workspace/x}\n        - task_key: out\n          notebook_task: {notebook_path: ../../nb.py}\n    g:\n      git_source: {git_url: x, git_provider: gitHub}\n      tasks:\n        - task_key: git\n          notebook_task: {notebook_path: src/missing}\n",
    );
    write(d.path(), "src/nb.py", NB);
    let (b, _) = load(d.path(), None);
    let j = b.job("j").unwrap();
    use model::NotebookRef;
    let r: Vec<NotebookRef> = j.tasks.iter().map(|t| b.resolve_notebook(j, t)).collect();
    assert!(matches!(&r[0], NotebookRef::Local(p) if p.ends_with("src/nb.py")));
    assert!(
        matches!(&r[1], NotebookRef::Missing { with_extension: Some(p), .. } if p.ends_with("src/nb.py"))
    );
    assert_eq!(r[2], NotebookRef::Remote("/Workspace/x".into()));
    assert!(matches!(r[3], NotebookRef::OutsideSyncRoot(_)));
    let g = b.job("g").unwrap();
    assert!(matches!(
        b.resolve_notebook(g, &g.tasks[0]),
        NotebookRef::Remote(_)
    ));
}

#[test]
fn anchors_and_merge_keys_in_tasks() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "databricks.yml",
        "bundle: {name: b}\nx-defaults: &d\n  max_retries: 3\n  timeout_seconds: 60\nresources:\n  jobs:\n    j:\n      tasks:\n        - task_key: a\n          <<: *d\n          timeout_seconds: 10\n",
    );
    let (b, _) = load(d.path(), None);
    let t = &b.job("j").unwrap().tasks[0];
    assert_eq!(t.get("max_retries").unwrap().as_i64(), Some(3));
    assert_eq!(t.get("timeout_seconds").unwrap().as_i64(), Some(10));
    let loc = &t.get("max_retries").unwrap().loc;
    let text = b.text(&loc.file).unwrap();
    assert_eq!(&text[loc.range], "*d");
    assert_eq!(&text[loc.written()], "3");
}

#[test]
fn a_resource_defined_in_two_files_is_reported() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "databricks.yml",
        "bundle: {name: b}\ninclude: [r/*.yml]\nresources:\n  jobs:\n    j: {name: x}\n",
    );
    write(
        d.path(),
        "r/a.yml",
        "resources:\n  jobs:\n    j: {name: y}\n    k: {name: z}\n",
    );
    let (_, diags) = load(d.path(), None);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0].message.contains("`jobs.j` is already defined"),
        "{}",
        diags[0].message
    );
    assert!(diags[0].file.ends_with("r/a.yml"));
}

#[test]
fn walk_refs_visits_reference_strings_with_the_routes_of_walk_strings() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "databricks.yml",
        "bundle: {name: b}\nresources:\n  jobs:\n    j:\n      name: plain\n      tasks:\n        - task_key: t\n          notebook_task:\n            notebook_path: ./nb.py\n            base_parameters: {a: \"{{job.id}}\", b: x, c: \"${bundle.name}-{{job.run_id}}\"}\n          libraries: [{pypi: {package: \"pkg==${var.v}\"}}]\n",
    );
    let (b, _) = load(d.path(), None);
    let tree = b.config.as_ref().unwrap();
    let mut all = Vec::new();
    let mut route = String::from("x");
    walk_strings(tree, &mut route, &mut |n, r| {
        let s = n.as_str().unwrap();
        if s.contains("{{") || s.contains("${") {
            all.push((r.to_string(), s.to_string()));
        }
    });
    let mut refs = Vec::new();
    walk_refs(tree, "x", &mut |n, r| {
        refs.push((r.to_string(), n.as_str().unwrap().to_string()))
    });
    assert_eq!(refs, all);
    assert_eq!(
        refs.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(),
        [
            "x.resources.jobs.j.tasks[0].notebook_task.base_parameters.a",
            "x.resources.jobs.j.tasks[0].notebook_task.base_parameters.c",
            "x.resources.jobs.j.tasks[0].libraries[0].pypi.package",
        ]
    );
}

/// Include globs: naming the literal directories of a pattern instead of listing their parents
/// finds what listing every level finds.
#[test]
fn include_walk_names_literal_components() {
    fn listing(root: &Path, dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
        if depth == 0 {
            return;
        }
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            let ft = e.file_type().unwrap();
            if depth == 1 {
                if ft.is_file() || (ft.is_symlink() && p.is_file()) {
                    out.push(p.strip_prefix(root).unwrap().to_path_buf());
                }
            } else if ft.is_dir() {
                listing(root, &p, depth - 1, out);
            }
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for f in [
        "resources/jobs.yml",
        "resources/b.yaml",
        "resources/sub/x.yml",
        "res2/y.yml",
        "a/b/c.yml",
        "databricks.yml",
        "targets/dev/t.yml",
    ] {
        std::fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
        std::fs::write(root.join(f), "x: 1\n").unwrap();
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(root.join("resources"), root.join("linked")).unwrap();
        std::os::unix::fs::symlink(root.join("res2/y.yml"), root.join("res2/z.yml")).unwrap();
    }
    for pat in [
        "resources/*.yml",
        "resources/*",
        "resources/sub/*.yml",
        "res*/*.yml",
        "*/jobs.yml",
        "res2/z.yml",
        "linked/*.yml",
        "a/b/*.yml",
        "a/../resources/*.yml",
        "targets/*/t.yml",
        "nothing/*.yml",
        "*.yml",
    ] {
        let parts: Vec<&str> = Path::new(pat)
            .components()
            .map(|c| c.as_os_str().to_str().unwrap())
            .collect();
        let glob = globset::GlobBuilder::new(pat)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .unwrap()
            .compile_matcher();
        let mut named = Vec::new();
        super::include::walk_depth(root, root, &parts, &mut |rel, _| {
            if glob.is_match(rel) {
                named.push(rel.to_path_buf());
            }
        });
        let mut listed = Vec::new();
        listing(root, root, parts.len(), &mut listed);
        listed.retain(|rel| glob.is_match(rel));
        named.sort();
        listed.sort();
        assert_eq!(named, listed, "{pat}");
    }
}

/// `bundle/config/loader/process_root_includes.go`: entries are joined to the root and cleaned
/// (`../` works inside the repository), root files are never included again, matches that are
/// not YAML or JSON are errors, and `{a,b}` is not an alternation.
#[test]
fn includes_follow_the_cli() {
    let d = tempfile::tempdir().unwrap();
    let repo = d.path();
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    let b = repo.join("b");
    write(
        &b,
        "databricks.yml",
        "bundle: {name: b}\ninclude:\n  - '*.yml'\n  - ../shared/*.yml\n  - conf/*\n  - '{x}.yml'\n",
    );
    write(&b, "a.yml", "resources: {jobs: {a: {name: a}}}\n");
    write(&b, "bundle.yml", "bundle: {name: other}\n");
    write(&b, "{x}.yml", "resources: {jobs: {x: {name: x}}}\n");
    write(
        &b,
        "conf/c.json",
        "{\"resources\": {\"jobs\": {\"c\": {\"name\": \"c\"}}}}\n",
    );
    write(&b, "conf/readme.md", "hello\n");
    write(repo, "shared/s.yml", "resources: {jobs: {s: {name: s}}}\n");
    let (bundle, diags) = load(&b, None);
    let files: Vec<String> = bundle.files[1..]
        .iter()
        .map(|f| f.path.strip_prefix(repo).unwrap().display().to_string())
        .collect();
    // databricks.yml and bundle.yml are root file names: never included.
    assert_eq!(
        files,
        ["b/a.yml", "b/{x}.yml", "shared/s.yml", "b/conf/c.json"]
    );
    let jobs: Vec<&str> = bundle.jobs.iter().map(|j| j.key.as_str()).collect();
    assert_eq!(jobs, ["a", "x", "s", "c"]);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0].message.contains("readme.md"),
        "{}",
        diags[0].message
    );
    assert!(diags[0].message.contains("not a YAML or JSON file"));
}

/// A pattern longer than the glob budget is a finding, not a panic of the glob library.
#[test]
fn huge_include_patterns_are_refused_with_a_finding() {
    let d = tempfile::tempdir().unwrap();
    let pat = format!("{}*.yml", "[ab]".repeat(150_000));
    write(
        d.path(),
        "databricks.yml",
        &format!("bundle: {{name: b}}\ninclude:\n  - '{pat}'\n"),
    );
    let (_, diags) = load(d.path(), None);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0].message.contains("longer than 4096 bytes"),
        "{}",
        diags[0].message
    );
    assert_eq!(diags[0].route.as_deref(), Some("include[0]"));
}
