//! Objects that are not data: modules, functions and Databricks globals, followed by their
//! dotted path (`dbutils.jobs.taskValues.set`), with aliases made canonical.

use super::Value;

/// `base.attr`: objects are followed by their dotted path; values from Spark stay so.
pub(super) fn attribute(base: Value, attr: &str) -> Value {
    match base {
        Value::Obj(p) => Value::Obj(canonical_attr(&p, attr)),
        Value::DataFrame(r) => Value::DataFrame(r),
        Value::Dynamic { unbounded, .. } => Value::Dynamic {
            unbounded,
            not_json: None,
        },
        _ => Value::unknown(),
    }
}

/// The dotted path an imported module or name stands for.
pub(super) fn canonical_module(path: &str) -> String {
    match path {
        "databricks.sdk.runtime.dbutils" | "databricks.sdk.runtime.dbutils_stub.dbutils" => {
            "dbutils".into()
        }
        "databricks.sdk.runtime.spark" => "spark".into(),
        "numpy" | "np" => "numpy".into(),
        "pandas" | "pd" => "pandas".into(),
        p => p.into(),
    }
}

/// The dotted path of `base.attr`.
fn canonical_attr(base: &str, attr: &str) -> String {
    let attr = match (base, attr) {
        ("dbutils.jobs", "task_values") => "taskValues",
        (_, a) => a,
    };
    if base == "WorkspaceClient" && attr == "dbutils" {
        return "dbutils".into();
    }
    let mut s = String::with_capacity(base.len() + 1 + attr.len());
    s.push_str(base);
    s.push('.');
    s.push_str(attr);
    s
}
