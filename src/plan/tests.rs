//! Unit tests of the planner on hand-built jobs.
use super::*;
use serde_json::json;
use std::path::PathBuf;

fn nb(key: &str, path: &str, params: &[(&str, &str)], deps: &[&str]) -> PlanTask {
    PlanTask {
        key: key.into(),
        depends_on: deps.iter().map(|s| s.to_string()).collect(),
        kind: TaskKind::Notebook {
            path: path.into(),
            local: Some(PathBuf::from(path)),
            base_parameters: params
                .iter()
                .map(|(k, v)| (k.to_string(), ParamValue::from(*v)))
                .collect(),
        },
        ..Default::default()
    }
}

fn fe(key: &str, inputs: &str, c: Option<i64>, nested: PlanTask, deps: &[&str]) -> PlanTask {
    PlanTask {
        key: key.into(),
        depends_on: deps.iter().map(|s| s.to_string()).collect(),
        kind: TaskKind::ForEach {
            inputs: inputs.into(),
            inputs_not_string: false,
            concurrency: c,
            task: Box::new(nested),
        },
        compute: Compute::NotNeeded,
        ..Default::default()
    }
}

fn job(tasks: Vec<PlanTask>) -> PlanJob {
    PlanJob {
        key: "j".into(),
        tasks,
        ..Default::default()
    }
}

fn kinds(p: &[Problem]) -> Vec<&'static str> {
    p.iter().map(|p| p.kind).collect()
}

#[test]
fn order_is_topological_and_stable() {
    let j = job(vec![
        nb("c", "c.py", &[], &["a", "b"]),
        nb("b", "b.py", &[], &[]),
        nb("a", "a.py", &[], &[]),
        nb("d", "d.py", &[], &["a"]),
    ]);
    let p = plan_job(&j, &NoFacts, &PlanOptions::default());
    let keys: Vec<_> = p.tasks.iter().map(|s| s.task_key.as_str()).collect();
    assert_eq!(keys, ["b", "a", "c", "d"]);
    assert_eq!(p.tasks[2].level, 1);
    assert!(p.problems.is_empty());
}

#[test]
fn cycles_and_unknown_dependencies_are_problems() {
    let j = job(vec![
        nb("a", "a.py", &[], &["b"]),
        nb("b", "b.py", &[], &["a"]),
        nb("c", "c.py", &[], &["zz"]),
    ]);
    let p = plan_job(&j, &NoFacts, &PlanOptions::default());
    assert_eq!(p.cycle, ["a", "b"]);
    assert!(p.problems[1].message.ends_with("never run: `a`, `b`"));
    assert_eq!(kinds(&p.problems), ["unknown-dependency", "cycle"]);
}

#[test]
fn inline_inputs_expand_with_problems() {
    let child = nb(
        "child",
        "child.py",
        &[("table", "{{input.table}}"), ("n", "{{input.n}}")],
        &[],
    );
    let j = job(vec![fe(
        "loop",
        r#"[{"table":"a","n":"1"},{"table":"b","n":2},{"n":"3"},{"table":"a","n":"1"}]"#,
        Some(2),
        child,
        &[],
    )]);
    let mut facts = StaticFacts::default();
    facts.widgets.insert(
        PathBuf::from("child.py"),
        vec![
            WidgetRead {
                name: "table".into(),
                default: None,
                line: Some(3),
            },
            WidgetRead {
                name: "n".into(),
                default: None,
                line: Some(4),
            },
            WidgetRead {
                name: "date".into(),
                default: None,
                line: Some(5),
            },
        ],
    );
    let opts = PlanOptions {
        durations: Some(Durations::uniform(60.0)),
        pool_size: Some(4),
        ..Default::default()
    };
    let p = plan_job(&j, &facts, &opts);
    let f = &p.for_each[0];
    assert!(f.expanded);
    assert_eq!(f.iterations.len(), 4);
    assert_eq!(f.iterations[0].parameters["table"], "a");
    assert_eq!(f.iterations[1].parameters["n"], "2");
    assert_eq!(kinds(&f.iterations[0].problems), ["widget-unset"]);
    assert_eq!(
        kinds(&f.iterations[1].problems),
        ["not-string", "widget-unset"]
    );
    assert_eq!(
        kinds(&f.iterations[2].problems),
        ["field-missing", "widget-unset"]
    );
    assert_eq!(
        kinds(&f.iterations[3].problems),
        ["widget-unset", "duplicate"]
    );
    let w = f.waves.as_ref().unwrap();
    assert_eq!((w.waves, w.concurrency), (2, 2));
    let t = f.timing.as_ref().unwrap();
    assert_eq!(t.for_each_seconds, 120.0);
    assert_eq!(t.driver_pool_seconds, 60.0);
}

#[test]
fn producer_payload_and_job_parameters() {
    let producer = nb("produce", "produce.py", &[], &[]);
    let child = nb(
        "child",
        "child.py",
        &[
            ("x", "{{input}}"),
            ("env_name", "{{job.parameters.env}}"),
            ("env", "staging"),
        ],
        &[],
    );
    let mut j = job(vec![
        producer,
        fe(
            "loop",
            "{{tasks.produce.values.items}}",
            Some(10),
            child,
            &["produce"],
        ),
    ]);
    j.parameters.insert("env".into(), "prod".into());
    let mut facts = StaticFacts::default();
    facts.task_values.insert(
        (PathBuf::from("produce.py"), "items".into()),
        TaskValueFact::Known {
            value: json!(["a", "b", "c"]),
            line: Some(7),
        },
    );
    let p = plan_job(&j, &facts, &PlanOptions::default());
    let f = &p.for_each[0];
    assert_eq!(f.source.kind, "task-value");
    assert!(f.source.detail.contains("produce.py:7"));
    assert_eq!(f.iterations.len(), 3);
    assert_eq!(f.iterations[2].parameters["x"], "c");
    assert_eq!(f.iterations[2].parameters["env_name"], "prod");
    assert_eq!(f.iterations[2].parameters["env"], "staging");
    assert!(kinds(&f.problems).contains(&"shadowed-by-job-parameter"));
}

#[test]
fn producer_not_upstream_and_unknown() {
    let j = job(vec![
        nb("produce", "produce.py", &[], &[]),
        fe(
            "loop",
            "{{tasks.produce.values.items}}",
            Some(1),
            nb("c", "c.py", &[("x", "{{input}}")], &[]),
            &[],
        ),
    ]);
    let p = plan_job(&j, &NoFacts, &PlanOptions::default());
    let f = &p.for_each[0];
    assert!(!f.expanded);
    assert!(f.waves.is_none());
    assert_eq!(
        kinds(&f.problems),
        ["producer-not-upstream", "inputs-unknown", "widgets-unknown"]
    );
}

#[test]
fn inputs_file_overrides_and_double_encoding() {
    let j = job(vec![fe(
        "loop",
        "{{tasks.gone.values.k}}",
        Some(3),
        nb("c", "c.py", &[("x", "{{input}}")], &[]),
        &[],
    )]);
    let opts = PlanOptions {
        inputs: Some(InputsOverride::from_json("run.json", json!("[1, 2]")).unwrap()),
        ..Default::default()
    };
    let p = plan_job(&j, &NoFacts, &opts);
    let f = &p.for_each[0];
    assert_eq!(f.source.kind, "file");
    assert_eq!(f.iterations.len(), 2);
    assert!(kinds(&f.problems).contains(&"double-encoded"));
    assert_eq!(kinds(&f.iterations[0].problems), ["not-string"]);
    let opts = PlanOptions {
        inputs: Some(InputsOverride::from_json("run.json", json!({"other": []})).unwrap()),
        ..Default::default()
    };
    let p = plan_job(&j, &NoFacts, &opts);
    assert_eq!(kinds(&p.problems), ["inputs-file"]);
}

#[test]
fn inputs_from_job_parameter_and_invalid_inputs() {
    let child = || nb("c", "c.py", &[("x", "{{input}}")], &[]);
    let mut j = job(vec![fe(
        "loop",
        "{{job.parameters.items}}",
        Some(2),
        child(),
        &[],
    )]);
    j.parameters
        .insert("items".into(), r#"["a","b","a"]"#.into());
    let p = plan_job(&j, &NoFacts, &PlanOptions::default());
    let f = &p.for_each[0];
    assert_eq!(f.source.kind, "job-parameter");
    assert_eq!(f.iterations.len(), 3);
    assert_eq!(kinds(&f.iterations[2].problems), ["duplicate"]);

    let j = job(vec![fe("loop", "[1, 2", Some(2), child(), &[])]);
    let p = plan_job(&j, &NoFacts, &PlanOptions::default());
    assert!(!p.for_each[0].expanded);
    assert!(kinds(&p.for_each[0].problems).contains(&"inputs-invalid"));

    let j = job(vec![fe("loop", r#"{"a": 1}"#, Some(2), child(), &[])]);
    let p = plan_job(&j, &NoFacts, &PlanOptions::default());
    assert!(p.for_each[0].problems[0]
        .message
        .contains("an object, not a JSON array"));

    let mut t = fe("loop", "[1]", Some(2), child(), &[]);
    if let TaskKind::ForEach {
        inputs_not_string, ..
    } = &mut t.kind
    {
        *inputs_not_string = true;
    }
    let p = plan_job(&job(vec![t]), &NoFacts, &PlanOptions::default());
    assert_eq!(p.for_each[0].iterations.len(), 1);
    assert_eq!(kinds(&p.for_each[0].problems)[0], "inputs-invalid");
}

#[test]
fn producer_sets_nothing_or_a_dynamic_value() {
    let mk = || {
        job(vec![
            nb("produce", "produce.py", &[], &[]),
            fe(
                "loop",
                "{{tasks.produce.values.items}}",
                Some(2),
                nb("c", "c.py", &[("x", "{{input}}")], &[]),
                &["produce"],
            ),
        ])
    };
    let mut facts = StaticFacts::default();
    facts.analysed.insert(PathBuf::from("produce.py"));
    let p = plan_job(&mk(), &facts, &PlanOptions::default());
    assert!(kinds(&p.for_each[0].problems).contains(&"inputs-invalid"));
    assert!(p.for_each[0].problems[0]
        .message
        .contains("never sets task value `items`"));
    facts.task_values.insert(
        (PathBuf::from("produce.py"), "items".into()),
        TaskValueFact::Dynamic {
            reason: "a Spark query".into(),
            line: None,
        },
    );
    let p = plan_job(&mk(), &facts, &PlanOptions::default());
    assert!(p.for_each[0].problems[0].message.contains("a Spark query"));
    assert_eq!(p.for_each[0].problems[0].severity, Severity::Info);
}

#[test]
fn durations_file_forms() {
    let d = Durations::from_json(&json!([1, 2.5])).unwrap();
    assert_eq!(d.default, Some(DurationSpec::PerIteration(vec![1.0, 2.5])));
    let d = Durations::from_json(&json!({"loop": 30})).unwrap();
    assert_eq!(d.for_task("loop"), Some(&DurationSpec::Uniform(30.0)));
    assert!(Durations::from_json(&json!("x")).is_err());
    assert!(Durations::from_json(&json!([-1])).is_err());
}
