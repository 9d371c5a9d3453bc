//! Variables: `--var` flags, the CLI's precedence of values, and `${ }` substitution.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ruff_text_size::TextRange;

use super::{refs, Entry, Loc, Node, Value, VarSource, Variable};

/// Parse `--var` flag values as the Databricks CLI does: each is a comma-separated list of
/// `name=value` assignments (a value with a comma is written in double quotes, as in CSV:
/// `--var '"tags=a,b"'`).
pub fn parse_var_flags(flags: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for flag in flags {
        for item in split_csv(flag) {
            match item.split_once('=') {
                Some((name, value)) if !name.trim().is_empty() => {
                    out.push((name.trim().to_string(), value.to_string()))
                }
                _ => {
                    return Err(format!(
                    "unexpected --var value `{item}`: expected `name=value` (several as `a=1,b=2`)"
                ))
                }
            }
        }
    }
    Ok(out)
}

/// Split one CSV record (what pflag's string-slice flags accept): commas separate fields,
/// double quotes protect commas, `""` inside quotes is a quote.
fn split_csv(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Variable values given from outside the YAML files.
pub(super) struct Overrides<'a> {
    pub flags: &'a [(String, String)],
    pub env: &'a [(String, String)],
    pub file: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

/// `.databricks/bundle/<target>/variable-overrides.json` (written by `databricks bundle`
/// commands for the target), if present and a JSON object.
pub(super) fn read_overrides_file(
    root: &Path,
    target: &str,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    let p = root
        .join(".databricks")
        .join("bundle")
        .join(target)
        .join("variable-overrides.json");
    if !crate::boundary::Boundary::of_paths([root]).allows(&p) {
        return None;
    }
    let text = crate::fsutil::read_input_string(&p).ok()?;
    match serde_json::from_str(&text).ok()? {
        serde_json::Value::Object(m) => Some(m),
        _ => None,
    }
}

/// A value given on the command line or in the environment: a string, typed like a YAML
/// scalar when it reads as an integer, a number or a boolean (the CLI converts such strings
/// to the field's type).
fn external_value(text: &str, at: &Loc) -> Node {
    let numeric = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    let value = match (text.parse::<i64>(), text.parse::<f64>()) {
        (Ok(i), _) => Value::Int(i),
        (_, Ok(f)) if numeric && f.is_finite() => Value::Float(f),
        _ => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::Str(text.to_string()),
        },
    };
    Node::new(value, at.clone())
}

fn json_node(v: &serde_json::Value, at: &Loc) -> Node {
    use serde_json::Value as J;
    let value = match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or_default()),
        },
        J::String(s) => Value::Str(s.clone()),
        J::Array(a) => Value::Seq(Arc::new(a.iter().map(|x| json_node(x, at)).collect())),
        J::Object(m) => Value::Map(Arc::new(
            m.iter()
                .map(|(k, x)| Entry {
                    key: k.clone(),
                    key_loc: at.clone(),
                    value: json_node(x, at),
                })
                .collect(),
        )),
    };
    Node::new(value, at.clone())
}

pub(super) fn resolve_variables(
    tree: &Node,
    target_vars: &[Entry],
    over: &Overrides<'_>,
) -> BTreeMap<String, Variable> {
    let mut vars = BTreeMap::new();
    let Some(decl) = tree.get("variables").and_then(Node::as_map) else {
        return vars;
    };
    for e in decl {
        let is_lookup = e.value.get("lookup").is_some();
        let complex = e.value.get("type").and_then(Node::as_str) == Some("complex");
        let mut source = VarSource::Default;
        let mut value = match &e.value.value {
            Value::Map(_) => {
                if is_lookup {
                    None
                } else {
                    e.value.get("default").cloned()
                }
            }
            // `variables: {x: value}` is accepted by some versions as a shorthand default.
            Value::Null => None,
            _ => Some(e.value.clone()),
        };
        if let Some(o) = target_vars.iter().find(|t| t.key == e.key) {
            let ov = match &o.value.value {
                Value::Map(_) if o.value.get("default").is_some() => {
                    o.value.get("default").cloned()
                }
                Value::Map(_) if o.value.get("lookup").is_some() => None,
                Value::Map(_) if !complex => None,
                _ => Some(o.value.clone()),
            };
            if ov.is_some() || o.value.get("lookup").is_some() {
                value = ov;
                source = VarSource::Target;
            }
        }
        // Values from outside the YAML, lowest precedence first. The location of such a value
        // is the variable's declaration (there is no YAML text for it).
        let at = &e.key_loc;
        if let Some(v) = over.file.and_then(|m| m.get(&e.key)) {
            value = Some(json_node(v, at));
            source = VarSource::OverridesFile;
        }
        // The CLI rejects complex variables set from the environment or the command line.
        if !complex {
            if let Some((_, v)) = over.env.iter().rev().find(|(k, _)| *k == e.key) {
                value = Some(external_value(v, at));
                source = VarSource::Env;
            }
            if let Some((_, v)) = over.flags.iter().rev().find(|(k, _)| *k == e.key) {
                value = Some(external_value(v, at));
                source = VarSource::Flag;
            }
        }
        if value.is_none() {
            source = VarSource::Unknown;
        }
        vars.insert(
            e.key.clone(),
            Variable {
                name: e.key.clone(),
                key_loc: e.key_loc.clone(),
                value,
                source,
            },
        );
    }
    // Variables referring to variables: a few rounds are enough for real bundles.
    for _ in 0..8 {
        let snapshot = vars.clone();
        let ctx = SubstCtx {
            vars: &snapshot,
            target: None,
            name: None,
        };
        let mut changed = false;
        for v in vars.values_mut() {
            if let Some(n) = &mut v.value {
                if let Some(new) = substituted(n, &ctx, 0) {
                    changed |= !same_value(&new, n);
                    *n = new;
                }
            }
        }
        if !changed {
            break;
        }
    }
    vars
}

/// Structural equality of two values (locations ignored).
fn same_value(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Seq(x), Value::Seq(y)) => {
            Arc::ptr_eq(x, y)
                || (x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| same_value(a, b)))
        }
        (Value::Map(x), Value::Map(y)) => {
            Arc::ptr_eq(x, y)
                || (x.len() == y.len()
                    && x.iter()
                        .zip(y.iter())
                        .all(|(a, b)| a.key == b.key && same_value(&a.value, &b.value)))
        }
        _ => false,
    }
}

pub(super) struct SubstCtx<'a> {
    pub vars: &'a BTreeMap<String, Variable>,
    pub target: Option<&'a str>,
    pub name: Option<String>,
}

impl SubstCtx<'_> {
    fn lookup(&self, i: &refs::Interpolation) -> Option<Node> {
        let s = &i.segments;
        match s.first().map(String::as_str) {
            Some("var") if s.len() == 2 => self.vars.get(&s[1])?.value.clone(),
            Some("variables") if s.len() == 3 && s[2] == "value" => {
                self.vars.get(&s[1])?.value.clone()
            }
            Some("bundle") if s.len() == 2 && s[1] == "target" => self.target.map(|t| {
                Node::new(
                    Value::Str(t.to_string()),
                    Loc::new(Arc::new(PathBuf::new()), TextRange::default()),
                )
            }),
            Some("bundle") if s.len() == 2 && s[1] == "name" => self.name.clone().map(|t| {
                Node::new(
                    Value::Str(t),
                    Loc::new(Arc::new(PathBuf::new()), TextRange::default()),
                )
            }),
            _ => None,
        }
    }
}

/// Substitute `${ }` references in a tree in place.
pub(super) fn substitute(node: &mut Node, ctx: &SubstCtx<'_>) {
    if let Some(n) = substituted(node, ctx, 0) {
        *node = n;
    }
}

/// The node with its `${ }` references substituted, or `None` when nothing changes. One pass;
/// unchanged subtrees stay shared (they are shared with the file trees), and wide mappings
/// (the jobs of a big bundle) are processed in parallel.
fn substituted(node: &Node, ctx: &SubstCtx<'_>, depth: usize) -> Option<Node> {
    if depth > 200 {
        return None;
    }
    let value = match &node.value {
        Value::Str(s) => substituted_str(s, ctx)?,
        Value::Seq(items) => {
            // The new list is only built from the first changed item on.
            let mut out: Option<Vec<Node>> = None;
            for (i, n) in items.iter().enumerate() {
                match (substituted(n, ctx, depth + 1), &mut out) {
                    (Some(new), Some(v)) => v.push(new),
                    (Some(new), None) => {
                        let mut v = Vec::with_capacity(items.len());
                        v.extend_from_slice(&items[..i]);
                        v.push(new);
                        out = Some(v);
                    }
                    (None, Some(v)) => v.push(n.clone()),
                    (None, None) => {}
                }
            }
            Value::Seq(Arc::new(out?))
        }
        // Wide mappings (the jobs of a big bundle) in parallel.
        Value::Map(entries) if entries.len() >= 16 => {
            use rayon::prelude::*;
            let new: Vec<Option<Node>> = entries
                .par_iter()
                .map(|e| substituted(&e.value, ctx, depth + 1))
                .collect();
            if new.iter().all(Option::is_none) {
                return None;
            }
            Value::Map(Arc::new(
                entries
                    .iter()
                    .zip(new)
                    .map(|(old, new)| with_value(old, new))
                    .collect(),
            ))
        }
        Value::Map(entries) => {
            let mut out: Option<Vec<Entry>> = None;
            for (i, e) in entries.iter().enumerate() {
                match (substituted(&e.value, ctx, depth + 1), &mut out) {
                    (Some(new), Some(v)) => v.push(with_value(e, Some(new))),
                    (Some(new), None) => {
                        let mut v = Vec::with_capacity(entries.len());
                        v.extend_from_slice(&entries[..i]);
                        v.push(with_value(e, Some(new)));
                        out = Some(v);
                    }
                    (None, Some(v)) => v.push(e.clone()),
                    (None, None) => {}
                }
            }
            Value::Map(Arc::new(out?))
        }
        _ => return None,
    };
    Some(Node {
        value,
        loc: node.loc.clone(),
    })
}

/// The entry, with a new value when there is one.
fn with_value(old: &Entry, new: Option<Node>) -> Entry {
    match new {
        Some(value) => Entry {
            key: old.key.clone(),
            key_loc: old.key_loc.clone(),
            value,
        },
        None => old.clone(),
    }
}

/// A string with its references substituted (`None`: unchanged). A pure reference takes the
/// variable's value and type; the location stays at the reference.
fn substituted_str(s: &str, ctx: &SubstCtx<'_>) -> Option<Value> {
    if !refs::has_interpolation(s) {
        return None;
    }
    let items = refs::parse_interpolations(s);
    if items.len() == 1 && items[0].range == (0..s.len()) && items[0].syntax_error.is_none() {
        return ctx.lookup(&items[0]).map(|v| v.value);
    }
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for i in &items {
        if i.syntax_error.is_some() {
            continue;
        }
        if let Some(text) = ctx.lookup(i).and_then(|v| v.scalar_text()) {
            out.push_str(&s[last..i.range.start]);
            out.push_str(&text);
            last = i.range.end;
        }
    }
    if last == 0 {
        return None;
    }
    out.push_str(&s[last..]);
    Some(Value::Str(out))
}
