//! JSON Schema validation of bundle files (SCH001).
//!
//! The built-in schema (`schemas/bundle.schema.json`, written for bricklint) covers what
//! bricklint models; `--bundle-schema FILE` (or `bundle-schema` in the config) validates against
//! the official schema instead (what `databricks bundle schema` prints). When neither is given
//! and a `databricks` executable is on PATH, `BRICKLINT_USE_DATABRICKS_CLI=1` asks it for the
//! schema, cached per CLI version under the user's cache directory.
//!
//! Databricks wraps every field in `oneOf: [<type>, <${var...} string>]`, so raw errors only say
//! "not valid under any of the schemas listed in the 'oneOf' keyword": [`validate`] descends
//! `oneOf`/`anyOf` into the branch that matched best and reports its errors, each at the key or
//! value it is about.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use jsonschema::{ValidationError, Validator};

use super::yaml::{Loc, Node, PathSeg};

/// The built-in schema text.
pub const BUILTIN_SCHEMA: &str = include_str!("../../schemas/bundle.schema.json");

/// One schema violation, located in a bundle file.
#[derive(Debug, Clone)]
pub struct Violation {
    pub message: String,
    /// A warning (the CLI accepts the value, with a loss or by ignoring it) rather than an error.
    pub warning: bool,
    /// A missing required field (judged on the merged configuration, not on a file).
    pub required: bool,
    pub loc: Loc,
    /// Dotted route of the instance (`resources.jobs.a.tasks[0].for_each_task`).
    pub route: String,
}

fn compile(schema: &serde_json::Value) -> Result<Validator, String> {
    jsonschema::options()
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .build(schema)
        .map_err(|e| e.to_string())
}

/// The compiled built-in schema.
pub fn builtin() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| {
        let v: serde_json::Value =
            serde_json::from_str(BUILTIN_SCHEMA).expect("built-in schema is valid JSON");
        compile(&v).expect("built-in schema compiles")
    })
}

type Cache = Mutex<HashMap<PathBuf, Result<Arc<Validator>, String>>>;

/// `file:line:col: the bundle schema is not JSON (what serde_json found)`.
fn not_json(path: &Path, e: &serde_json::Error) -> String {
    let what = e.to_string();
    let what = what
        .rsplit_once(" at line ")
        .map_or(what.as_str(), |(m, _)| m);
    format!(
        "{}:{}:{}: the bundle schema is not JSON ({what})",
        path.display(),
        e.line(),
        e.column()
    )
}

/// Load and compile a schema file (cached per path for the process).
pub fn load_schema(path: &Path) -> Result<Arc<Validator>, String> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(r) = cache.lock().ok().and_then(|c| c.get(path).cloned()) {
        return r;
    }
    let r = crate::fsutil::read_input_string(path)
        .map_err(|e| format!("cannot read bundle schema {}: {e}", path.display()))
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| not_json(path, &e)))
        .and_then(|v| {
            compile(&v)
                .map_err(|e| format!("bundle schema {} does not compile: {e}", path.display()))
        })
        .map(Arc::new);
    if let Ok(mut c) = cache.lock() {
        c.insert(path.to_path_buf(), r.clone());
    }
    r
}

/// Ask the `databricks` CLI for its schema (opt-in with `BRICKLINT_USE_DATABRICKS_CLI=1`),
/// cached per CLI version. Returns the cached schema path.
pub fn schema_from_cli() -> Option<PathBuf> {
    if std::env::var_os("BRICKLINT_USE_DATABRICKS_CLI").is_none_or(|v| v != "1") {
        return None;
    }
    let out = std::process::Command::new("databricks")
        .arg("--version")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let version: String = String::from_utf8_lossy(&out.stdout)
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dir = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?
        .join("bricklint");
    let file = dir.join(format!("bundle-schema-{version}.json"));
    if file.is_file() {
        return Some(file);
    }
    let out = std::process::Command::new("databricks")
        .args(["bundle", "schema"])
        .output()
        .ok()?;
    if !out.status.success() || serde_json::from_slice::<serde_json::Value>(&out.stdout).is_err() {
        return None;
    }
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::write(&file, &out.stdout).ok()?;
    Some(file)
}

fn segments(loc: &jsonschema::paths::Location) -> Vec<String> {
    loc.iter()
        .map(|s| match s {
            LocationSegment::Property(p) => format!("p{p}"),
            LocationSegment::Index(i) => format!("i{i}"),
        })
        .collect()
}

fn to_path(segs: &[String]) -> Vec<PathSeg<'_>> {
    segs.iter()
        .map(|s| match s.split_at(1) {
            ("i", n) => PathSeg::Index(n.parse().unwrap_or(usize::MAX)),
            (_, k) => PathSeg::Key(k),
        })
        .collect()
}

fn route_of(segs: &[String]) -> String {
    let mut r = String::new();
    for s in segs {
        match s.split_at(1) {
            ("i", n) => {
                r.push('[');
                r.push_str(n);
                r.push(']');
            }
            (_, k) => {
                if !r.is_empty() {
                    r.push('.');
                }
                r.push_str(k);
            }
        }
    }
    r
}

fn is_branch_error(e: &ValidationError<'_>) -> bool {
    matches!(
        e.kind(),
        ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. }
    )
}

/// How well a failed branch matched: deeper errors and fewer type mismatches at the top win.
fn score(errors: &[ValidationError<'_>], base_depth: usize) -> (usize, usize, isize) {
    let depth = errors
        .iter()
        .map(|e| e.instance_path().iter().count())
        .max()
        .unwrap_or(0);
    let non_type = errors
        .iter()
        .filter(|e| {
            !(matches!(
                e.kind(),
                ValidationErrorKind::Type { .. } | ValidationErrorKind::Pattern { .. }
            ) && e.instance_path().iter().count() == base_depth)
        })
        .count();
    (depth, usize::from(non_type > 0), -(errors.len() as isize))
}

/// Flatten an error: oneOf/anyOf failures are replaced by the errors of their best branch.
fn flatten<'a>(e: &'a ValidationError<'a>, out: &mut Vec<&'a ValidationError<'a>>) {
    let ctx = match e.kind() {
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            Some(context)
        }
        _ => None,
    };
    match ctx {
        Some(branches) if !branches.is_empty() => {
            let depth = e.instance_path().iter().count();
            // Ties go to the first branch (the real type, not the `${var}` alternative).
            let best = branches
                .iter()
                .enumerate()
                .filter(|(_, b)| !b.is_empty())
                .max_by_key(|(i, b)| (score(b, depth), std::cmp::Reverse(*i)))
                .map(|(_, b)| b);
            match best {
                Some(b) => {
                    for x in b {
                        flatten(x, out);
                    }
                }
                None => out.push(e),
            }
        }
        _ => out.push(e),
    }
}

fn short(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// `tasks[0]`, `notebook_task`: the last named segment with its indexes.
fn describe(segs: &[String]) -> String {
    let mut out = String::new();
    for s in segs.iter().rev() {
        match s.split_at(1) {
            ("i", n) => out = format!("[{n}]{out}"),
            (_, k) => {
                out = format!("{k}{out}");
                break;
            }
        }
    }
    if out.is_empty() {
        "the configuration".into()
    } else {
        format!("`{out}`")
    }
}

/// What the CLI's normalisation (`libs/dyn/convert/normalize.go`) and its enum check
/// (`bundle/config/validate/enum.go`) make of a value the schema rejects: accepted as it is,
/// accepted with a warning, or rejected.
enum Accepted {
    Silently,
    WithWarning(String),
    No,
}

/// The CLI reads YAML booleans in a string field the way go-yaml does.
const YAML_BOOL_WORDS: &[&str] = &[
    "true", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "false", "n", "N", "no", "No", "NO",
    "off", "Off", "OFF",
];

/// Whether `s` holds a `${...}` reference (the CLI checks enums and patterns only on values
/// without one, and resolves the reference later).
fn has_reference(s: &str) -> bool {
    s.contains("${")
}

/// How the CLI's normalisation treats a value of the wrong JSON type.
/// `text`: how the value is written in the file, when known (to tell a lossy number).
fn normalized(expected: &str, instance: &serde_json::Value, text: Option<&str>) -> Accepted {
    use serde_json::Value as J;
    match instance {
        // null is unset: no value for an object, list or map (normalize returns it as is);
        // the CLI warns and drops a null scalar.
        J::Null if expected.contains("object") || expected.contains("array") => Accepted::Silently,
        J::Null => Accepted::WithWarning(format!(
            "expected {} value, found null: the CLI ignores this field",
            article(expected)
        )),
        // Booleans and numbers become strings (strconv.FormatBool/FormatInt/FormatFloat).
        J::Bool(_) | J::Number(_) if expected.contains("string") => {
            let Some(n) = instance
                .as_f64()
                .filter(|_| !instance.is_i64() && !instance.is_u64())
            else {
                return Accepted::Silently;
            };
            let converted = format!("{n}");
            match text.map(|t| t.trim().trim_start_matches('+')) {
                Some(t) if t != converted => Accepted::WithWarning(format!(
                    "the number `{t}` is read as {converted} and becomes the string \"{converted}\": the CLI converts it, changing what is written; quote it (\"{t}\") to keep it"
                )),
                _ => Accepted::Silently,
            }
        }
        J::String(s) if expected.contains("integer") && s.trim().parse::<i64>().is_ok() => {
            Accepted::Silently
        }
        J::String(s) if expected.contains("number") && s.trim().parse::<f64>().is_ok() => {
            Accepted::Silently
        }
        J::String(s) if expected.contains("boolean") && YAML_BOOL_WORDS.contains(&s.as_str()) => {
            Accepted::Silently
        }
        _ => Accepted::No,
    }
}

fn article(t: &str) -> String {
    if t.starts_with(['a', 'e', 'i', 'o']) {
        format!("an {t}")
    } else {
        format!("a {t}")
    }
}

/// Read-only fields of a resource: the CLI fills them in after deploy and ignores what the
/// configuration says (they are in its types, so `bundle validate` does not complain).
const READ_ONLY_RESOURCE_FIELDS: &[&str] = &["id", "url", "modified_status"];

/// Whether `segs` (a schema error's instance path) names a resource (`resources.<kind>.<key>`).
fn is_resource(segs: &[String]) -> bool {
    segs.len() == 3 && segs[0] == "presources"
}

/// Validate one bundle file's tree.
pub fn validate(validator: &Validator, tree: &Node) -> Vec<Violation> {
    validate_with(validator, tree, &|_| None)
}

/// Validate a tree; `text` returns the text of a file of the tree (to tell when the CLI's
/// conversion of a number to a string changes what is written).
pub fn validate_with<'t>(
    validator: &Validator,
    tree: &Node,
    text: &dyn Fn(&Path) -> Option<&'t str>,
) -> Vec<Violation> {
    let instance = tree.to_json();
    let errors: Vec<ValidationError<'_>> = validator.iter_errors(&instance).collect();
    let mut flat = Vec::new();
    for e in &errors {
        if is_branch_error(e) {
            flatten(e, &mut flat);
        } else {
            flat.push(e);
        }
    }
    let mut out: Vec<Violation> = Vec::new();
    for e in flat {
        let segs = segments(e.instance_path());
        let path = to_path(&segs);
        let (node, key_loc, reached) = tree.lookup(&path);
        let route = route_of(&segs);
        let what = describe(&segs);
        let (message, loc) = match e.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for u in unexpected {
                    out.push(unknown_field(node, &segs, u, &what, &route));
                }
                continue;
            }
            ValidationErrorKind::Required { property } => {
                let p = property
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| property.to_string());
                let at = key_loc
                    .cloned()
                    .or_else(|| {
                        node.as_map()
                            .and_then(|m| m.first())
                            .map(|e| e.key_loc.clone())
                    })
                    .unwrap_or_else(|| node.loc.clone());
                let note = if p == "task_key" {
                    " (the Jobs API rejects a task without one at deploy)"
                } else {
                    ""
                };
                (format!("missing required field `{p}` in {what}{note}"), at)
            }
            ValidationErrorKind::Type { kind } => {
                match type_mismatch(e, kind, node, &what, &route, text) {
                    Ok(found) => found,
                    Err(v) => {
                        out.extend(v);
                        continue;
                    }
                }
            }
            ValidationErrorKind::Enum { .. } | ValidationErrorKind::Pattern { .. }
                if e.instance().as_str().is_some_and(has_reference) =>
            {
                continue;
            }
            ValidationErrorKind::Enum { options } => (
                format!(
                    "{what} must be one of {}, found {}",
                    short(options),
                    short(e.instance())
                ),
                node.loc.clone(),
            ),
            _ => (format!("{what}: {}", e.masked()), node.loc.clone()),
        };
        // The instance path always exists in the tree; `reached` guards odd paths.
        let loc = if reached < path.len() {
            node.loc.clone()
        } else {
            loc
        };
        out.push(Violation {
            message,
            warning: false,
            required: matches!(e.kind(), ValidationErrorKind::Required { .. }),
            loc,
            route,
        });
    }
    out.sort_by_key(|v| (v.loc.range.start(), v.message.clone()));
    out.dedup_by(|a, b| a.loc == b.loc && a.message == b.message);
    out
}

/// Fields the Jobs API requires of a task type, which the CLI checks on the merged
/// configuration (`bundle/config/validate/required_fields.go`, from the generated list of
/// required fields): (task type, required fields).
const REQUIRED_TASK_FIELDS: &[(&str, &[&str])] = &[
    ("python_wheel_task", &["package_name", "entry_point"]),
    ("spark_python_task", &["python_file"]),
    ("spark_jar_task", &["main_class_name"]),
    ("sql_task", &["warehouse_id"]),
    ("dbt_task", &["commands"]),
    ("run_job_task", &["job_id"]),
    ("pipeline_task", &["pipeline_id"]),
    ("condition_task", &["op", "left", "right"]),
];

/// The required fields of task types missing from the merged configuration `merged` (null
/// counts as missing, as in the CLI), one violation per field, at the task type's key.
pub fn required_task_fields(merged: &Node) -> Vec<Violation> {
    let mut out = Vec::new();
    let Some(jobs) = merged
        .get_path(&["resources", "jobs"])
        .and_then(Node::as_map)
    else {
        return out;
    };
    for job in jobs {
        let Some(tasks) = job.value.get("tasks").and_then(Node::as_seq) else {
            continue;
        };
        for (i, task) in tasks.iter().enumerate() {
            let route = format!("resources.jobs.{}.tasks[{i}]", job.key);
            required_in_task(task, &route, &mut out);
            if let Some(nested) = task.get_path(&["for_each_task", "task"]) {
                required_in_task(nested, &format!("{route}.for_each_task.task"), &mut out);
            }
        }
    }
    out
}

fn required_in_task(task: &Node, route: &str, out: &mut Vec<Violation>) {
    for (kind, fields) in REQUIRED_TASK_FIELDS {
        let Some(e) = task.entry(kind) else { continue };
        if e.value.as_map().is_none() {
            continue;
        }
        for f in *fields {
            if e.value.get(f).is_some_and(|v| !v.is_null()) {
                continue;
            }
            out.push(Violation {
                message: format!("missing required field `{f}` in `{kind}`"),
                warning: false,
                required: true,
                loc: e.key_loc.clone(),
                route: format!("{route}.{kind}"),
            });
        }
    }
}

/// The violation of an unknown field `u` of `node` (a warning for a resource's read-only
/// fields).
fn unknown_field(node: &Node, segs: &[String], u: &str, what: &str, route: &str) -> Violation {
    let at = node
        .entry(u)
        .map(|x| x.key_loc.clone())
        .unwrap_or_else(|| node.loc.clone());
    let read_only = is_resource(segs) && READ_ONLY_RESOURCE_FIELDS.contains(&u);
    Violation {
        message: if read_only {
            format!("`{u}` of {what} is set by the deployment: it is ignored by the CLI")
        } else {
            format!("unknown field `{u}` in {what}")
        },
        warning: read_only,
        required: false,
        loc: at,
        route: if route.is_empty() {
            u.to_string()
        } else {
            format!("{route}.{u}")
        },
    }
}

/// A value of the wrong JSON type: `Ok((message, loc))` for an error, `Err(violations)` when
/// the CLI converts it (no violation, or a warning where the conversion loses something).
fn type_mismatch<'t>(
    e: &ValidationError<'_>,
    kind: &jsonschema::error::TypeKind,
    node: &Node,
    what: &str,
    route: &str,
    text: &dyn Fn(&Path) -> Option<&'t str>,
) -> Result<(String, Loc), Vec<Violation>> {
    let expected = match kind {
        jsonschema::error::TypeKind::Single(t) => t.to_string(),
        jsonschema::error::TypeKind::Multiple(ts) => ts
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(" or "),
    };
    let found = json_type(e.instance());
    let written = text(&node.loc.file).and_then(|t| {
        let r = node.loc.written();
        t.get(usize::from(r.start())..usize::from(r.end()))
    });
    match normalized(&expected, e.instance(), written) {
        Accepted::Silently => return Err(Vec::new()),
        Accepted::WithWarning(message) => {
            return Err(vec![Violation {
                message: format!("{what}: {message}"),
                warning: true,
                required: false,
                loc: node.loc.clone(),
                route: route.to_string(),
            }]);
        }
        Accepted::No => {}
    }
    let hint = if expected == "string" && found == "array" {
        " (write a JSON array as a quoted string, e.g. '[\"a\", \"b\"]')"
    } else if found == "string" && e.instance().as_str().is_some_and(|s| s.contains("{{")) {
        " (a `{{ }}` reference is resolved at run time and cannot stand for a number or boolean)"
    } else if expected.contains("integer") && found == "string" {
        " (only a whole `${var.x}` reference may stand for a number)"
    } else {
        ""
    };
    Ok((
        format!(
            "{what} must be {}, found {found} {}{hint}",
            article(&expected),
            short(e.instance())
        ),
        node.loc.clone(),
    ))
}
