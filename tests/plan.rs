//! `bricklint plan` on the fixture bundles in `fixtures/plan/<case>/`: every output format is an
//! insta snapshot beside the fixture (`fixtures/plan/<case>/snapshots/`), and the behaviour that
//! matters is asserted explicitly on the JSON output.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn plan(args: &[&str]) -> Run {
    let out = Command::cargo_bin("bricklint")
        .unwrap()
        .current_dir(ROOT)
        .env("NO_COLOR", "1")
        .arg("plan")
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn snapshot(case: &str, name: &str, text: &str) {
    let dir = Path::new(ROOT)
        .join("fixtures/plan")
        .join(case)
        .join("snapshots");
    insta::with_settings!({
        snapshot_path => dir,
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let r = plan(&a);
    let v: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", r.stdout, r.stderr));
    (r.code, v)
}

fn problem_kinds(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap().to_string())
        .collect()
}

/// Every format of one invocation, snapshotted; returns the JSON.
fn all_formats(case: &str, name: &str, args: &[&str]) -> (i32, Value) {
    for (fmt, suffix) in [("text", "text"), ("mermaid", "mermaid")] {
        let mut a = args.to_vec();
        a.extend(["--format", fmt]);
        let r = plan(&a);
        assert!(r.stderr.is_empty(), "{case} {name}: stderr: {}", r.stderr);
        if fmt == "mermaid" {
            check_mermaid(&r.stdout);
        }
        snapshot(case, &format!("{name}_{suffix}"), &r.stdout);
    }
    let (code, v) = json(args);
    snapshot(
        case,
        &format!("{name}_json"),
        &serde_json::to_string_pretty(&v).unwrap(),
    );
    (code, v)
}

#[test]
fn basic_graph_targets_and_substitution() {
    let (code, v) = all_formats("basic", "dev", &["fixtures/plan/basic"]);
    assert_eq!(code, 0, "no errors in the basic bundle");
    let job = &v["jobs"][0];
    assert_eq!(job["job"], "bronze_ingest");
    assert_eq!(job["target"], "dev");
    let order: Vec<&str> = job["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task_key"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["prepare", "ingest_each", "publish"]);
    assert_eq!(job["tasks"][1]["for_each"]["concurrency"], 2);
    assert_eq!(
        job["tasks"][1]["for_each"]["compute"]["kind"],
        "job_cluster"
    );
    let fe = &job["for_each"][0];
    assert_eq!(fe["iterations"].as_array().unwrap().len(), 5);
    let it = &fe["iterations"][1]["parameters"];
    assert_eq!(it["table"], "customers");
    assert_eq!(it["source_path"], "s3://raw/customers");
    assert_eq!(it["target"], "dev_catalog.bronze.customers");
    assert_eq!(it["run_date"], "2024-06-01");
    assert_eq!(fe["waves"]["waves"], 3);

    // The prod target overrides the concurrency and the catalog variable.
    let args = [
        "fixtures/plan/basic",
        "--target",
        "prod",
        "--duration",
        "120",
        "--pool-size",
        "32",
    ];
    let r = plan(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    snapshot("basic", "prod_timed_text", &r.stdout);
    let (_, v) = json(&args);
    let fe = &v["jobs"][0]["for_each"][0];
    assert_eq!(fe["waves"]["concurrency"], 8);
    assert_eq!(fe["waves"]["waves"], 1);
    assert_eq!(
        fe["iterations"][0]["parameters"]["target"],
        "prod_catalog.bronze.orders"
    );
    assert_eq!(fe["timing"]["for_each_seconds"], 120.0);
    assert_eq!(fe["timing"]["driver_pool_seconds"], 120.0);
    assert_eq!(fe["timing"]["sequential_seconds"], 600.0);
}

#[test]
fn inputs_from_a_captured_payload() {
    // Without --inputs, the producer's value is only known at run time.
    let r = plan(&["fixtures/plan/inputs-file"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    snapshot("inputs-file", "no_inputs_text", &r.stdout);
    assert!(r.stdout.contains("iterations: unknown until run time"));

    let args = [
        "fixtures/plan/inputs-file",
        "--inputs",
        "fixtures/plan/inputs-file/captured_run.json",
        "--durations",
        "fixtures/plan/inputs-file/durations.json",
        "--pool-size",
        "16",
    ];
    let (code, v) = all_formats("inputs-file", "captured", &args);
    assert_eq!(code, 0);
    let fe = &v["jobs"][0]["for_each"][0];
    assert_eq!(fe["source"]["kind"], "file");
    assert_eq!(fe["iterations"].as_array().unwrap().len(), 6);
    assert_eq!(
        fe["iterations"][5]["parameters"]["object_name"],
        "inventory"
    );
    assert!(problem_kinds(&fe["iterations"][5]["problems"]).is_empty());
    // 6 iterations at concurrency 4: [300,120,90,60] start, 45 and 240 fill the slots freed
    // first (60 s and 90 s): ends at 105 and 330 -> 330 s.
    assert_eq!(fe["waves"]["waves"], 2);
    assert_eq!(fe["timing"]["durations"], "per-iteration");
    assert_eq!(fe["timing"]["for_each_seconds"], 330.0);
    assert_eq!(fe["timing"]["driver_pool_seconds"], 300.0);
    assert_eq!(fe["timing"]["sequential_seconds"], 855.0);

    // The object form names the For Each task; a JSON string holding the array (a payload
    // captured double-encoded) is accepted with a warning.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inputs.json");
    std::fs::write(
        &file,
        r#"{"load_each": "[{\"name\": \"a\", \"partition\": \"p\"}]"}"#,
    )
    .unwrap();
    let (code, v) = json(&[
        "fixtures/plan/inputs-file",
        "--inputs",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let fe = &v["jobs"][0]["for_each"][0];
    assert_eq!(fe["iterations"][0]["parameters"]["object_name"], "a");
    assert_eq!(problem_kinds(&fe["problems"]), ["double-encoded"]);
    std::fs::write(&file, r#"{"nope": []}"#).unwrap();
    let (code, v) = json(&[
        "fixtures/plan/inputs-file",
        "--inputs",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(problem_kinds(&v["jobs"][0]["problems"]), ["inputs-file"]);
}

#[test]
fn two_jobs_job_parameter_inputs_and_a_broken_graph() {
    let (code, v) = all_formats("two-jobs", "plan", &["fixtures/plan/two-jobs"]);
    assert_eq!(code, 1);
    let daily = &v["jobs"][0];
    let fe = &daily["for_each"][0];
    assert_eq!(fe["source"]["kind"], "job-parameter");
    assert_eq!(fe["waves"]["concurrency"], 1);
    assert_eq!(fe["waves"]["waves"], 3);
    assert_eq!(
        problem_kinds(&fe["iterations"][2]["problems"]),
        ["duplicate"]
    );
    let broken = &v["jobs"][1];
    assert_eq!(broken["cycle"], serde_json::json!(["extract", "load"]));
    assert_eq!(
        problem_kinds(&broken["problems"]),
        ["unknown-dependency", "cycle"]
    );
    assert_eq!(broken["for_each"][0]["waves"]["concurrency"], 100);
    // --inputs is ambiguous with two jobs that fan out.
    let r = plan(&[
        "fixtures/plan/two-jobs",
        "--inputs",
        "fixtures/plan/inputs-file/captured_run.json",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("choose one with --job"), "{}", r.stderr);
    let (_, v) = json(&[
        "fixtures/plan/two-jobs",
        "--job",
        "daily",
        "--inputs",
        "fixtures/plan/inputs-file/captured_run.json",
    ]);
    let fe = &v["jobs"][0]["for_each"][0];
    assert_eq!(fe["source"]["kind"], "file");
    assert_eq!(fe["iterations"].as_array().unwrap().len(), 6);
}

#[test]
fn an_iteration_misses_a_widget() {
    let (code, v) = all_formats("missing-widget", "plan", &["fixtures/plan/missing-widget"]);
    assert_eq!(code, 1, "errors exit 1");
    let fe = &v["jobs"][0]["for_each"][0];
    let its = fe["iterations"].as_array().unwrap();
    assert_eq!(its.len(), 4);
    // `date` is read without a default and nothing passes it: every iteration fails.
    for it in its {
        assert!(problem_kinds(&it["problems"]).contains(&"widget-unset".to_string()));
    }
    assert_eq!(
        problem_kinds(&its[1]["problems"]),
        ["not-string", "widget-unset"]
    );
    assert_eq!(
        problem_kinds(&its[2]["problems"]),
        ["field-missing", "widget-unset"]
    );
    assert_eq!(
        problem_kinds(&its[3]["problems"]),
        ["widget-unset", "duplicate"]
    );
    // `mode` has a default in the notebook: reported once, as info.
    assert!(problem_kinds(&fe["problems"]).contains(&"widget-default".to_string()));
    assert_eq!(v["summary"]["errors"], 5);
}

#[test]
fn inputs_from_the_producers_static_payload() {
    let (code, v) = all_formats(
        "producer-payload",
        "plan",
        &["fixtures/plan/producer-payload", "--duration", "300"],
    );
    assert_eq!(code, 0);
    let fe = &v["jobs"][0]["for_each"][0];
    assert_eq!(fe["source"]["kind"], "task-value");
    let regions: Vec<&str> = fe["iterations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["parameters"]["region"].as_str().unwrap())
        .collect();
    assert_eq!(regions, ["emea", "amer", "apac", "latam"]);
    assert_eq!(fe["waves"]["waves"], 1);
}

#[test]
fn readme_shows_current_plans() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let text = plan(&["fixtures/plan/missing-widget"]).stdout;
    assert!(
        readme.contains(&text),
        "README.md shows an outdated plan of fixtures/plan/missing-widget"
    );
    let mermaid = plan(&["fixtures/plan/basic", "--format", "mermaid"]).stdout;
    assert!(
        readme.contains(&format!("```mermaid\n{mermaid}```")),
        "README.md shows an outdated Mermaid plan of fixtures/plan/basic"
    );
}

#[test]
fn usage_errors_exit_2() {
    let r = plan(&["fixtures/plan/basic", "--job", "nope"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no job `nope`"), "{}", r.stderr);
    let r = plan(&["fixtures/plan"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no databricks.yml"), "{}", r.stderr);
    let r = plan(&[
        "fixtures/plan/basic",
        "--inputs",
        "fixtures/plan/basic/databricks.yml",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("invalid JSON"), "{}", r.stderr);
    let r = plan(&["fixtures/plan/basic", "--duration", "-3"]);
    assert_eq!(r.code, 2);
    let r = plan(&["fixtures/plan/basic", "--target", "staging"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
}

#[test]
fn job_selected_by_name() {
    let (_, v) = json(&["fixtures/plan/basic", "--job", "Bronze ingest"]);
    assert_eq!(v["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(v["jobs"][0]["job"], "bronze_ingest");
}

/// A line-level check of the Mermaid subset bricklint emits (the real renderer runs in
/// `.ci/mermaid-validate.sh`): a `flowchart` header, balanced `subgraph`/`end`, quoted labels
/// without raw quotes, and every edge between declared ids.
fn check_mermaid(src: &str) {
    let mut lines = src.lines();
    assert_eq!(lines.next(), Some("flowchart TD"), "{src}");
    let mut ids = std::collections::HashSet::new();
    let mut depth = 0usize;
    let id_ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let label_ok =
        |s: &str| s.starts_with("[\"") && s.ends_with("\"]") && !s[2..s.len() - 2].contains('"');
    for l in lines {
        let t = l.trim();
        if t == "end" {
            assert!(depth > 0, "unbalanced end: {src}");
            depth -= 1;
        } else if let Some(rest) = t.strip_prefix("subgraph ") {
            let (id, label) = rest.split_once(' ').expect("subgraph id and label");
            assert!(id_ok(id) && label_ok(label), "bad subgraph line `{t}`");
            ids.insert(id.to_string());
            depth += 1;
        } else if t.starts_with("direction ") || t.starts_with("classDef ") {
        } else if t.contains(" --> ") || t.contains(" ~~~ ") {
            for id in t.split([' ', '-', '>', '~']).filter(|s| !s.is_empty()) {
                assert!(ids.contains(id), "edge to undeclared `{id}` in `{t}`");
            }
        } else {
            let t = t.strip_suffix(":::error").unwrap_or(t);
            let (id, label) = t.split_at(t.find('[').unwrap_or(t.len()));
            assert!(id_ok(id) && label_ok(label), "bad node line `{t}`");
            ids.insert(id.to_string());
        }
    }
    assert_eq!(depth, 0, "unclosed subgraph: {src}");
}

/// `--format submit` of one or more iterations: the request on stdout (snapshotted), problems
/// and the command on stderr.
fn submit(name: &str, args: &[&str]) -> (i32, Value, String) {
    let mut a = vec!["fixtures/plan/submit", "--format", "submit"];
    a.extend(args);
    let r = plan(&a);
    assert!(
        r.stderr.contains("databricks jobs submit --json @"),
        "{name}: {}",
        r.stderr
    );
    snapshot("submit", name, &r.stdout);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    (r.code, v, r.stderr)
}

#[test]
fn submit_one_inline_iteration_with_job_parameters_and_variables() {
    let (code, v, stderr) = submit(
        "inline_2",
        &["--job", "refresh_regions", "--iteration", "2"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        v["run_name"],
        "Refresh regions / refresh_each / iteration 2 of 3 (bricklint plan)"
    );
    let tasks = v["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1);
    let nb = &tasks[0]["notebook_task"];
    assert_eq!(tasks[0]["task_key"], "refresh_region_2");
    assert_eq!(
        nb["notebook_path"],
        "/Workspace/Shared/.bundle/regional_sales/dev/files/src/refresh_region"
    );
    let p = &nb["base_parameters"];
    assert_eq!(p["region"], "amer");
    assert_eq!(
        p["target"], "dev_sales.bronze.sales_amer",
        "variables substituted"
    );
    assert_eq!(
        p["day"], "2024-06-01",
        "job parameter reference substituted"
    );
    assert_eq!(p["mode"], "incremental", "job parameters pushed down");
    assert_eq!(p["run_id"], "{{job.run_id}}", "runtime references kept");
    assert!(tasks[0].get("existing_cluster_id").is_none(), "serverless");

    // Another target, a range chosen by field, an existing cluster.
    let (code, v, _) = submit(
        "inline_prod_where",
        &[
            "--job",
            "refresh_regions",
            "--target",
            "prod",
            "--where",
            "region=apac",
            "--compute",
            "existing-cluster=0601-182128-abcd1234",
        ],
    );
    assert_eq!(code, 0);
    let t = &v["tasks"][0];
    assert_eq!(t["task_key"], "refresh_region_3");
    assert_eq!(t["existing_cluster_id"], "0601-182128-abcd1234");
    assert_eq!(
        t["notebook_task"]["notebook_path"],
        "/Workspace/Deployments/regional_sales/files/src/refresh_region"
    );
    assert_eq!(
        t["notebook_task"]["base_parameters"]["target"],
        "prod_sales.bronze.sales_apac"
    );
    let r = plan(&[
        "fixtures/plan/submit",
        "--job",
        "refresh_regions",
        "--iteration",
        "1-3",
        "--format",
        "submit",
        "--workspace-root",
        "/Workspace/Users/me/sales/",
    ]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["tasks"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["tasks"][2]["notebook_task"]["notebook_path"],
        "/Workspace/Users/me/sales/src/refresh_region"
    );
    assert!(v["run_name"]
        .as_str()
        .unwrap()
        .contains("3 of 3 iterations"));
}

#[test]
fn submit_with_task_values_from_inputs_and_the_producer() {
    let (code, v, stderr) = submit(
        "task_values_inputs",
        &[
            "--job",
            "load_partitions",
            "--iteration",
            "2",
            "--inputs",
            "fixtures/plan/submit/captured_run.json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let p = &v["tasks"][0]["notebook_task"]["base_parameters"];
    assert_eq!(p["partition"], "2024-06-02", "iterations from --inputs");
    assert_eq!(p["snapshot"], "4711", "upstream value from --inputs");
    assert_eq!(
        p["regions"], r#"["emea","amer"]"#,
        "the producer's static value"
    );
}

#[test]
fn submit_names_upstream_values_it_does_not_know_and_exits_1() {
    // The iterations are known, one parameter's task value is not.
    let (code, v, stderr) = submit(
        "task_values_missing",
        &[
            "--job",
            "load_partitions",
            "--where",
            "name=2024-06-02",
            "--inputs",
            "fixtures/plan/submit/partitions_only.json",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("error [task-value-unknown] parameter `snapshot` reads task value `snapshot_id` of `list_partitions`"),
        "{stderr}"
    );
    assert!(stderr.contains(r#"{"tasks.list_partitions.values.snapshot_id": <value>}"#));
    assert_eq!(
        v["tasks"][0]["notebook_task"]["base_parameters"]["snapshot"],
        "{{tasks.list_partitions.values.snapshot_id}}"
    );
    // Without --inputs the iterations themselves come from a value computed at run time.
    let r = plan(&[
        "fixtures/plan/submit",
        "--job",
        "load_partitions",
        "--iteration",
        "1",
        "--format",
        "submit",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains("error [iterations-unknown]")
            && r.stderr
                .contains(r#"{"tasks.list_partitions.values.partitions": [...]}"#),
        "{}",
        r.stderr
    );
}

#[test]
fn submit_writes_a_file_and_prints_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("iteration.json");
    let r = plan(&[
        "fixtures/plan/submit",
        "--job",
        "refresh_regions",
        "--iteration",
        "1",
        "--format",
        "submit",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&format!(
        "databricks jobs submit --json @{}",
        file.display()
    )));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(v["tasks"][0]["task_key"], "refresh_region_1");
}

#[test]
fn iteration_choice_errors_are_usage_errors() {
    for (args, msg) in [
        (
            &["--iteration", "9"][..],
            "no iteration of `refresh_each` matches iteration 9",
        ),
        (&["--iteration", "0"][..], "expected an iteration number"),
        (&["--where", "region"][..], "expected field=value"),
        (&["--compute", "job-cluster=main"][..], "no job clusters"),
        (
            &["--compute", "existing-cluster=${var.c}"][..],
            "no bundle variables",
        ),
        (&[][..], "give --iteration K or --where"),
    ] {
        let mut a = vec![
            "fixtures/plan/submit",
            "--job",
            "refresh_regions",
            "--format",
            "submit",
        ];
        if !args
            .iter()
            .any(|x| x.starts_with("--iteration") || x.starts_with("--where"))
            && !args.is_empty()
        {
            a.extend(["--iteration", "1"]);
        }
        a.extend(args);
        let r = plan(&a);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(msg), "{args:?}: {}", r.stderr);
    }
    // Two jobs with a For Each each: the For Each must be named.
    let r = plan(&["fixtures/plan/submit", "--iteration", "1"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("several For Each tasks"), "{}", r.stderr);
    // Text output of one iteration.
    let r = plan(&[
        "fixtures/plan/submit",
        "--for-each",
        "refresh_each",
        "--iteration",
        "2",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("iterations (1):") && r.stdout.contains("#2  region=\"amer\""));
}

#[test]
fn plan_reports_an_include_it_cannot_parse_and_exits_1() {
    let r = plan(&["fixtures/plan/broken-include"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("resources/broken.job.yml:6:55: SCH002 [error] unclosed bracket"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("job `good`"));
    let (code, v) = json(&["fixtures/plan/broken-include"]);
    assert_eq!(code, 1);
    assert_eq!(v["findings"][0]["code"], "SCH002");
    assert_eq!(v["findings"][0]["line"], 6);
    assert_eq!(v["summary"]["errors"], 1);
    // Asking for the job that is missing says why.
    let r = plan(&["fixtures/plan/broken-include", "--job", "broken"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("SCH002") && r.stderr.contains("no job `broken`"));
}
