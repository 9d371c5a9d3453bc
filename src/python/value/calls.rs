//! Calls: arguments, methods that mutate a named container, the document's own functions, the
//! `dbutils` calls the interpreter records, files and JSON (`open`, `json.load`, `yaml`,
//! `pathlib`), Spark DataFrames, other libraries (dates, UUIDs, the network), then the table of
//! builtins.

use std::path::{Path, PathBuf};

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextRange};

use super::builtins::{self, dict_insert, element_bound, element_dyn, iterate};
use super::interp::Interp;
use super::json::{join, py_dumps};
use super::objects::attribute;
use super::record::{Arg, CallKind};
use super::{FileRef, NotJson, Reason, Value, MAX_FILE, MAX_LIST};

/// Methods that reduce a collection to one value (pandas, Spark and list aggregates): their
/// result is bounded even when the collection is not.
const AGGREGATES: &[&str] = &[
    "count", "sum", "max", "min", "mean", "median", "std", "var", "nunique", "item", "any", "all",
    "isEmpty", "index",
];

/// Methods that change the container they are called on.
const MUTATING: &[&str] = &[
    "append",
    "extend",
    "insert",
    "update",
    "setdefault",
    "pop",
    "remove",
    "clear",
    "add",
];

impl<'a> Interp<'a, '_> {
    fn arg(&mut self, name: Option<String>, e: &'a Expr, value: Value) -> Arg {
        Arg {
            name,
            value,
            range: self.r(e),
            is_dumps_call: is_dumps_call(self, e),
            dumps_inner: dumps_inner(self, e),
        }
    }

    /// The arguments of a call. `*xs` and `**kw` of known items are spread as Python does.
    pub(super) fn eval_args(&mut self, args: &'a ast::Arguments) -> Vec<Arg> {
        let mut out = Vec::new();
        for a in args.args.iter() {
            let value = self.eval(a);
            if let Expr::Starred(_) = a {
                if let Some(items) = iterate(&value) {
                    let range = self.r(a);
                    out.extend(items.into_iter().map(|value| Arg {
                        name: None,
                        value,
                        range,
                        is_dumps_call: false,
                        dumps_inner: None,
                    }));
                    continue;
                }
            }
            let arg = self.arg(None, a, value);
            out.push(arg);
        }
        for k in args.keywords.iter() {
            let value = self.eval(&k.value);
            match (&k.arg, value) {
                (None, Value::Dict(items))
                    if items.iter().all(|(k, _)| matches!(k, Value::Str(_))) =>
                {
                    let range = self.r(&k.value);
                    out.extend(items.into_iter().map(|(k, value)| Arg {
                        name: k.as_str().map(str::to_string),
                        value,
                        range,
                        is_dumps_call: false,
                        dumps_inner: None,
                    }));
                }
                (name, value) => {
                    let arg = self.arg(name.as_ref().map(|a| a.to_string()), &k.value, value);
                    out.push(arg);
                }
            }
        }
        out
    }

    pub(super) fn eval_call(&mut self, c: &'a ast::ExprCall) -> Value {
        let range = self.r(c);
        // Methods on a named receiver may mutate it.
        if let Expr::Attribute(a) = &*c.func {
            if let Expr::Name(n) = &*a.value {
                let name = n.id.as_str();
                if MUTATING.contains(&a.attr.as_str())
                    && matches!(
                        self.lookup(name),
                        Some(Value::List(_) | Value::Dict(_) | Value::Dynamic { .. })
                    )
                {
                    // Arguments first: they may read the container itself.
                    let args = self.eval_args(&c.arguments);
                    if let Some(cur) = self.take_var(name) {
                        let (new, ret) = self.mutate(cur, a.attr.as_str(), &args);
                        self.update_var(name, new);
                        return ret;
                    }
                }
            }
        }
        // The callee; the receiver of a method is evaluated once.
        let (mut func, receiver) = match &*c.func {
            Expr::Attribute(a) => {
                let recv = self.eval(&a.value);
                (
                    attribute(recv.clone(), a.attr.as_str()),
                    Some((recv, a.attr.as_str())),
                )
            }
            other => (self.eval(other), None),
        };
        if !matches!(&func, Value::Obj(p) if p.starts_with("dbutils.") || p == "getArgument") {
            if let Some(p) = self.dbutils_calls.get(&c.range()) {
                func = Value::Obj(p.clone());
            }
        }
        let args = self.eval_args(&c.arguments);
        match (func, receiver) {
            (Value::Obj(path), _) => self.call_obj(&path, c, args, range),
            (Value::DataFrame(r), recv) => {
                let method = recv.map_or("", |(_, m)| m);
                self.call_df(method, r, &args, range)
            }
            (_, Some((recv, method))) => self.call_method(recv, method, &args, range),
            (func @ Value::Dynamic { .. }, None) => element_dyn(&func),
            _ => Value::unknown(),
        }
    }

    /// A DataFrame method: the name decides.
    fn call_df(
        &mut self,
        method: &str,
        origin: TextRange,
        args: &[Arg],
        range: TextRange,
    ) -> Value {
        let n_known = matches!(args.first().map(|a| &a.value), Some(Value::Int(_)));
        if method == "limit" && n_known {
            // A bounded number of rows: collecting it is not unbounded.
            self.limited.insert(range);
            return Value::DataFrame(range);
        }
        if self.limited.contains(&origin) && matches!(method, "collect" | "toPandas") {
            let what = if method == "collect" {
                "Spark Row objects"
            } else {
                "a pandas DataFrame"
            };
            return Value::not_json(what, range);
        }
        df_method(method, origin, range)
    }

    /// A method of a value that is not an object (a string, a dict, a file, a value from
    /// Spark...).
    fn call_method(&mut self, recv: Value, method: &str, args: &[Arg], range: TextRange) -> Value {
        match &recv {
            Value::Dynamic { unbounded, .. } => match method {
                "collect" | "toPandas" | "toLocalIterator" => df_method(method, range, range),
                m if AGGREGATES.contains(&m) => Value::unknown(),
                _ => Value::Dynamic {
                    unbounded: unbounded.clone(),
                    not_json: None,
                },
            },
            Value::File(FileRef::Repo(p)) if method == "read" => read_repo_file(p),
            Value::File(FileRef::Outside(r)) => Value::Dynamic {
                unbounded: Some(r.clone()),
                not_json: None,
            },
            Value::Str(p) if method == "read_text" => {
                match resolve_repo_file(p, self.doc_dir.as_deref(), TextRange::default()) {
                    FileRef::Repo(path) => read_repo_file(&path),
                    FileRef::Outside(r) => Value::Dynamic {
                        unbounded: Some(r),
                        not_json: None,
                    },
                    FileRef::Unknown => Value::unknown(),
                }
            }
            _ => builtins::method(&recv, method, args).unwrap_or_else(|| element_dyn(&recv)),
        }
    }

    /// `list.append(x)`, `dict.update(...)`, ...: the new container and the call's result.
    fn mutate(&self, cur: Value, method: &str, args: &[Arg]) -> (Value, Value) {
        let first = args.first().map(|a| a.value.clone()).unwrap_or(Value::None);
        if !self.abstract_loops.is_empty() || matches!(cur, Value::Dynamic { .. }) {
            let added = match method {
                "extend" | "update" => element_dyn(&first),
                _ => first,
            };
            let new = match cur {
                Value::Dynamic {
                    unbounded,
                    not_json,
                } if self.abstract_loops.is_empty() => Value::Dynamic {
                    unbounded: unbounded.or_else(|| added.unbounded_reason().cloned()),
                    not_json: not_json.or_else(|| added.find_not_json().map(|(_, n)| n)),
                },
                cur => self.abstract_mutation(cur, &added),
            };
            return (new, Value::unknown());
        }
        match cur {
            Value::List(l) => mutate_list(l, method, first, args),
            Value::Dict(d) => mutate_dict(d, method, first, args),
            cur => (join(cur, Value::unknown()), Value::unknown()),
        }
    }

    fn call_obj(
        &mut self,
        path: &str,
        c: &'a ast::ExprCall,
        args: Vec<Arg>,
        range: TextRange,
    ) -> Value {
        if let Some(name) = path
            .strip_prefix("<function ")
            .and_then(|p| p.strip_suffix('>'))
        {
            if let Some(f) = self.funcs.get(name).copied() {
                return self.call_local(f, &args);
            }
            return Value::unknown();
        }
        if let Some(kind) = dbutils_call_kind(path, args.is_empty()) {
            let result = match kind {
                CallKind::TaskValueGet
                | CallKind::WidgetGet
                | CallKind::GetArgument
                | CallKind::WidgetGetAll => Value::unknown(),
                _ => Value::None,
            };
            self.record(kind, c, args);
            return result;
        }
        if let Some(v) = self.call_io(path, &args, range) {
            return v;
        }
        if let Some(v) = builtins::function(path, &args, range) {
            return v;
        }
        call_library(path, range)
    }

    /// Files, directories and JSON/YAML.
    fn call_io(&mut self, path: &str, args: &[Arg], range: TextRange) -> Option<Value> {
        let first = args.iter().find(|a| a.name.is_none()).map(|a| &a.value);
        let kw = |n: &str| {
            args.iter()
                .find(|a| a.name.as_deref() == Some(n))
                .map(|a| &a.value)
        };
        Some(match path {
            "dbutils.fs.ls" => Value::Dynamic {
                unbounded: Some(Reason::items(
                    "a directory listing (`dbutils.fs.ls`)",
                    range,
                )),
                not_json: Some(NotJson {
                    what: "FileInfo objects".into(),
                    range,
                }),
            },
            "os.listdir" | "glob.glob" | "os.walk" | "os.scandir" => Value::unbounded(
                Reason::items(format!("a directory listing (`{path}`)"), range),
            ),
            "dbutils.fs.head" => {
                Value::unbounded(Reason::contents("file contents (`dbutils.fs.head`)", range))
            }
            "json.dumps" => {
                let inner = first.cloned().unwrap_or_else(Value::unknown);
                let compact = matches!(kw("separators"), Some(Value::List(s) | Value::Tuple(s)) if s.iter().all(|x| matches!(x, Value::Str(t) if !t.contains(' '))));
                let ensure_ascii = !matches!(kw("ensure_ascii"), Some(Value::Bool(false)));
                let has_indent = matches!(kw("indent"), Some(v) if *v != Value::None);
                let text = if has_indent || kw("default").is_some() {
                    None
                } else {
                    py_dumps(&inner, compact, ensure_ascii)
                };
                Value::Dumped {
                    inner: Box::new(inner),
                    text,
                    range,
                }
            }
            "json.loads" => match first {
                Some(Value::Str(s)) => parse_json(s),
                Some(Value::Dumped { inner, .. }) => (**inner).clone(),
                Some(other) => element_bound(other),
                None => Value::unknown(),
            },
            "json.load" => load_file(first, FileFormat::Json),
            "yaml.safe_load" | "yaml.load" | "yaml.full_load" | "yaml.unsafe_load" => match first {
                Some(Value::Str(s)) => serde_saphyr::from_str::<serde_json::Value>(s)
                    .map(|v| Value::from_json(&v))
                    .unwrap_or_else(|_| Value::unknown()),
                other => load_file(other, FileFormat::Yaml),
            },
            "open" | "io.open" | "codecs.open" => {
                Value::File(match first.and_then(Value::as_str) {
                    Some(s) => resolve_repo_file(s, self.doc_dir.as_deref(), range),
                    None => FileRef::Unknown,
                })
            }
            "pathlib.Path" | "pathlib.PurePath" | "os.path.join" => {
                let parts: Option<Vec<&str>> = args
                    .iter()
                    .filter(|a| a.name.is_none())
                    .map(|a| a.value.as_str())
                    .collect();
                match parts {
                    Some(p) if !p.is_empty() => {
                        let pb: PathBuf = p.iter().collect();
                        Value::Str(pb.to_string_lossy().into_owned())
                    }
                    _ => Value::unknown(),
                }
            }
            _ => return None,
        })
    }
}

/// The `dbutils` call a callee path records, if any (`no_args`: called without arguments).
fn dbutils_call_kind(path: &str, no_args: bool) -> Option<CallKind> {
    Some(match path {
        "dbutils.jobs.taskValues.set" => CallKind::TaskValueSet,
        "dbutils.jobs.taskValues.get" => CallKind::TaskValueGet,
        "dbutils.notebook.exit" => CallKind::NotebookExit,
        "dbutils.widgets.get" => CallKind::WidgetGet,
        "getArgument" | "dbutils.widgets.getArgument" if no_args => CallKind::WidgetGetAll,
        "getArgument" | "dbutils.widgets.getArgument" => CallKind::GetArgument,
        // `dbutils.notebook.entry_point.getCurrentBindings()`: every parameter as a map.
        "dbutils.widgets.getAll" | "dbutils.notebook.entry_point.getCurrentBindings" => {
            CallKind::WidgetGetAll
        }
        "dbutils.widgets.text" => CallKind::WidgetDefine("text"),
        "dbutils.widgets.dropdown" => CallKind::WidgetDefine("dropdown"),
        "dbutils.widgets.combobox" => CallKind::WidgetDefine("combobox"),
        "dbutils.widgets.multiselect" => CallKind::WidgetDefine("multiselect"),
        _ => return None,
    })
}

/// Other libraries: dates, UUIDs, Spark, the network, pandas readers.
fn call_library(path: &str, range: TextRange) -> Value {
    match path {
        "decimal.Decimal" => Value::not_json("a Decimal", range),
        "datetime.datetime"
        | "datetime.datetime.now"
        | "datetime.datetime.utcnow"
        | "datetime.datetime.today"
        | "datetime.datetime.fromisoformat"
        | "datetime.datetime.strptime"
        | "datetime.datetime.fromtimestamp" => Value::not_json("a datetime", range),
        "datetime.date" | "datetime.date.today" | "datetime.date.fromisoformat" => {
            Value::not_json("a date", range)
        }
        "datetime.time" => Value::not_json("a time", range),
        "datetime.timedelta" => Value::not_json("a timedelta", range),
        "uuid.uuid4" | "uuid.UUID" => Value::not_json("a UUID", range),
        "pyspark.dbutils.DBUtils" => Value::Obj("dbutils".into()),
        "databricks.sdk.WorkspaceClient" => Value::Obj("WorkspaceClient".into()),
        p if p.starts_with("spark.") && !p.starts_with("spark.conf") => {
            if p.ends_with(".sparkContext") || p.starts_with("spark.catalog") {
                Value::unknown()
            } else {
                Value::DataFrame(range)
            }
        }
        p if p.starts_with("requests.")
            || p.starts_with("urllib.")
            || p.starts_with("httpx.")
            || p.starts_with("WorkspaceClient.") =>
        {
            Value::unbounded(Reason::contents(
                format!("data from the network (`{p}`)"),
                range,
            ))
        }
        p if p.starts_with("pandas.read_") => Value::Dynamic {
            unbounded: Some(Reason::items(format!("data read with `{p}`"), range)),
            not_json: Some(NotJson {
                what: "a pandas DataFrame".into(),
                range,
            }),
        },
        _ => Value::unknown(),
    }
}

fn mutate_list(mut l: Vec<Value>, method: &str, first: Value, args: &[Arg]) -> (Value, Value) {
    match method {
        "append" if l.len() < MAX_LIST => {
            l.push(first);
            (Value::List(l), Value::None)
        }
        "extend" => match iterate(&first) {
            Some(items) if l.len() + items.len() <= MAX_LIST => {
                l.extend(items);
                (Value::List(l), Value::None)
            }
            _ => (join(Value::List(l), element_dyn(&first)), Value::None),
        },
        "insert" => {
            let v = args.get(1).map(|a| a.value.clone()).unwrap_or(Value::None);
            match first {
                Value::Int(i) if i >= 0 => {
                    let i = (i as usize).min(l.len());
                    l.insert(i, v);
                    (Value::List(l), Value::None)
                }
                _ => (Value::unknown(), Value::None),
            }
        }
        "pop" if args.is_empty() => {
            let v = l.pop().unwrap_or_else(Value::unknown);
            (Value::List(l), v)
        }
        "remove" if first.is_known() => {
            if let Some(i) = l.iter().position(|x| *x == first) {
                l.remove(i);
            }
            (Value::List(l), Value::None)
        }
        "clear" if first == Value::None => (Value::List(Vec::new()), Value::None),
        "clear" => (Value::unknown(), Value::None),
        _ => (join(Value::List(l), Value::unknown()), Value::unknown()),
    }
}

fn mutate_dict(
    mut d: Vec<(Value, Value)>,
    method: &str,
    first: Value,
    args: &[Arg],
) -> (Value, Value) {
    let named = |d: &mut Vec<(Value, Value)>| {
        for a in args {
            if let Some(n) = &a.name {
                dict_insert(d, Value::Str(n.clone()), a.value.clone());
            }
        }
    };
    match method {
        "update" => match first {
            Value::Dict(other) if args.first().is_some_and(|a| a.name.is_none()) => {
                for (k, v) in other {
                    dict_insert(&mut d, k, v);
                }
                named(&mut d);
                (Value::Dict(d), Value::None)
            }
            _ if args.iter().all(|a| a.name.is_some()) => {
                named(&mut d);
                (Value::Dict(d), Value::None)
            }
            other => (join(Value::Dict(d), other), Value::None),
        },
        "setdefault" if first.is_known() => {
            let v = args.get(1).map(|a| a.value.clone()).unwrap_or(Value::None);
            if let Some((_, cur)) = d.iter().find(|(k, _)| *k == first) {
                let cur = cur.clone();
                (Value::Dict(d), cur)
            } else {
                dict_insert(&mut d, first, v.clone());
                (Value::Dict(d), v)
            }
        }
        "pop" if first.is_known() => {
            let pos = d.iter().position(|(k, _)| *k == first);
            let v = pos
                .map(|i| d.remove(i).1)
                .or_else(|| args.get(1).map(|a| a.value.clone()))
                .unwrap_or_else(Value::unknown);
            (Value::Dict(d), v)
        }
        "clear" if first == Value::None => (Value::Dict(Vec::new()), Value::None),
        "clear" => (Value::unknown(), Value::None),
        _ => (join(Value::Dict(d), Value::unknown()), Value::unknown()),
    }
}

/// Resolve a literal path used in `open()` against the notebook's directory, then its
/// ancestors up to the repository or bundle root.
pub fn resolve_repo_file(s: &str, doc_dir: Option<&Path>, range: TextRange) -> FileRef {
    let outside = || {
        FileRef::Outside(Reason::contents(
            format!("a file outside the repository (`{s}`)"),
            range,
        ))
    };
    let remote = [
        "/dbfs",
        "dbfs:",
        "/Volumes",
        "/Workspace",
        "/mnt",
        "s3:",
        "abfss:",
    ];
    if s.contains("://") || remote.iter().any(|p| s.starts_with(p)) {
        return outside();
    }
    let p = Path::new(s);
    if p.is_absolute() {
        return outside();
    }
    let mut dir = doc_dir;
    while let Some(d) = dir {
        let cand = d.join(p);
        if cand.is_file() {
            // A link out of the project is never read (its content could reach the output).
            let boundary = crate::boundary::Boundary::of_paths([d]);
            if let Err(e) = boundary.check(&cand) {
                return FileRef::Outside(Reason::contents(
                    format!("a file outside the repository ({e})"),
                    range,
                ));
            }
            return FileRef::Repo(cand);
        }
        if d.join(".git").exists() || d.join("databricks.yml").is_file() {
            break;
        }
        dir = d.parent();
    }
    FileRef::Unknown
}

/// The text of a repository file (unknown past [`MAX_FILE`] or when unreadable).
fn read_repo_file(p: &Path) -> Value {
    std::fs::metadata(p)
        .ok()
        .filter(|m| m.len() <= MAX_FILE)
        .and_then(|_| crate::fsutil::read_input_string(p).ok())
        .map(Value::Str)
        .unwrap_or_else(Value::unknown)
}

fn parse_json(s: &str) -> Value {
    serde_json::from_str(s)
        .map(|v| Value::from_json(&v))
        .unwrap_or_else(|_| Value::unknown())
}

#[derive(Clone, Copy)]
enum FileFormat {
    Json,
    Yaml,
}

/// `json.load(f)` / `yaml.safe_load(f)`.
fn load_file(f: Option<&Value>, fmt: FileFormat) -> Value {
    match f {
        Some(Value::File(FileRef::Repo(p))) => {
            let Value::Str(text) = read_repo_file(p) else {
                return Value::unknown();
            };
            let parsed: Option<serde_json::Value> = match fmt {
                FileFormat::Json => serde_json::from_str(&text).ok(),
                FileFormat::Yaml => serde_saphyr::from_str(&text).ok(),
            };
            parsed
                .map(|v| Value::from_json(&v))
                .unwrap_or_else(Value::unknown)
        }
        Some(Value::File(FileRef::Outside(r))) => Value::Dynamic {
            unbounded: Some(r.clone()),
            not_json: None,
        },
        Some(Value::Str(s)) if matches!(fmt, FileFormat::Json) => parse_json(s),
        _ => Value::unknown(),
    }
}

/// Is `e` a direct call of `json.dumps` (through `import json` or `from json import dumps`)?
fn is_dumps_call(it: &Interp<'_, '_>, e: &Expr) -> bool {
    let Expr::Call(c) = e else { return false };
    match &*c.func {
        Expr::Attribute(a) if a.attr.as_str() == "dumps" => match &*a.value {
            Expr::Name(n) => {
                matches!(it.lookup(n.id.as_str()), Some(Value::Obj(p)) if p == "json")
            }
            _ => false,
        },
        Expr::Name(n) => {
            matches!(it.lookup(n.id.as_str()), Some(Value::Obj(p)) if p == "json.dumps")
        }
        _ => false,
    }
}

fn dumps_inner(it: &Interp<'_, '_>, e: &Expr) -> Option<TextRange> {
    if !is_dumps_call(it, e) {
        return None;
    }
    let Expr::Call(c) = e else { return None };
    match (&c.arguments.args[..], c.arguments.keywords.is_empty()) {
        ([x], true) if !x.is_starred_expr() => Some(it.r(x)),
        _ => None,
    }
}

/// Methods of DataFrames and of values that come from Spark.
fn df_method(method: &str, origin: TextRange, range: TextRange) -> Value {
    match method {
        "collect" | "toLocalIterator" => Value::Dynamic {
            unbounded: Some(Reason::items(
                "the rows of a DataFrame (`.collect()`)",
                range,
            )),
            not_json: Some(NotJson {
                what: "Spark Row objects".into(),
                range,
            }),
        },
        "toPandas" => Value::Dynamic {
            unbounded: Some(Reason::items(
                "a DataFrame converted with `.toPandas()`",
                range,
            )),
            not_json: Some(NotJson {
                what: "a pandas DataFrame".into(),
                range,
            }),
        },
        "first" | "head" | "take" | "tail" => Value::not_json("Spark Row objects", range),
        "count" => Value::unknown(),
        "toJSON" => Value::unbounded(Reason::items(
            "the rows of a DataFrame (`.toJSON()`)",
            range,
        )),
        _ => Value::DataFrame(origin),
    }
}
