//! Choosing iterations of a For Each: `--iteration K`, `--iteration K-M` (or `K..M`) and
//! `--where field=value` (a field of the element, dotted for nested objects; `input=value` for
//! scalar elements). Iterations are 1-based, as `plan` numbers them.

use serde_json::Value;

use super::model::json_text;
use super::{ForEachExpansion, Iteration, JobPlan};

/// Which iterations to keep.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Inclusive 1-based range.
    pub range: Option<(usize, usize)>,
    /// Every condition must hold: (field path, value as text).
    pub wheres: Vec<(Vec<String>, String)>,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.range.is_none() && self.wheres.is_empty()
    }

    /// `K`, `K-M` or `K..M`.
    pub fn parse_range(s: &str) -> Result<(usize, usize), String> {
        let bad =
            || format!("--iteration `{s}`: expected an iteration number (1-based), or a range K-M");
        let num = |x: &str| x.trim().parse::<usize>().ok().filter(|n| *n >= 1);
        let (a, b) = match s.split_once("..").or_else(|| s.split_once('-')) {
            Some((a, b)) => (num(a).ok_or_else(bad)?, num(b).ok_or_else(bad)?),
            None => {
                let n = num(s).ok_or_else(bad)?;
                (n, n)
            }
        };
        if a > b {
            return Err(format!("--iteration `{s}`: the range is empty ({a} > {b})"));
        }
        Ok((a, b))
    }

    /// `field=value`, `a.b=value`, `input=value`.
    pub fn parse_where(s: &str) -> Result<(Vec<String>, String), String> {
        let Some((field, value)) = s.split_once('=') else {
            return Err(format!("--where `{s}`: expected field=value"));
        };
        let field = field.trim();
        let field = field
            .strip_prefix("input.")
            .or_else(|| (field == "input").then_some(""))
            .unwrap_or(field);
        let path: Vec<String> = if field.is_empty() {
            Vec::new()
        } else {
            field.split('.').map(str::to_string).collect()
        };
        if path.iter().any(String::is_empty) {
            return Err(format!("--where `{s}`: empty field name"));
        }
        Ok((path, value.to_string()))
    }

    /// Does iteration `it` match?
    pub fn matches(&self, it: &Iteration) -> bool {
        if let Some((a, b)) = self.range {
            if it.index < a || it.index > b {
                return false;
            }
        }
        self.wheres
            .iter()
            .all(|(path, want)| field(&it.input, path).is_some_and(|v| json_text(v) == *want))
    }

    /// Keep the matching iterations of `f`. Waves and timing describe the whole For Each, so
    /// they are dropped from a selection.
    pub fn apply(&self, f: &mut ForEachExpansion) {
        if self.is_empty() {
            return;
        }
        f.iterations.retain(|it| self.matches(it));
        f.waves = None;
        f.timing = None;
    }

    /// A short description (`iteration 3`, `iterations 2-4`, `table=orders`).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match self.range {
            Some((a, b)) if a == b => parts.push(format!("iteration {a}")),
            Some((a, b)) => parts.push(format!("iterations {a}-{b}")),
            None => {}
        }
        for (p, v) in &self.wheres {
            let name = if p.is_empty() {
                "input".to_string()
            } else {
                p.join(".")
            };
            parts.push(format!("{name}={v}"));
        }
        parts.join(", ")
    }
}

fn field<'v>(v: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(v, |cur, k| cur.as_object()?.get(k))
}

/// The one For Each a selection applies to: `for_each` names it (its task key or its nested
/// task's key) or the plans have exactly one. Returns (job index, For Each index).
pub fn pick_for_each(plans: &[JobPlan], for_each: Option<&str>) -> Result<(usize, usize), String> {
    let mut found = Vec::new();
    for (j, p) in plans.iter().enumerate() {
        for (i, f) in p.for_each.iter().enumerate() {
            let named = for_each.is_none_or(|k| f.task_key == k || f.nested_task_key == k);
            if named {
                found.push((j, i));
            }
        }
    }
    let list = || {
        plans
            .iter()
            .flat_map(|p| {
                p.for_each
                    .iter()
                    .map(move |f| format!("{}/{}", p.job, f.task_key))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (found.len(), for_each) {
        (1, _) => Ok(found[0]),
        (0, Some(k)) => Err(format!(
            "no For Each task `{k}` (For Each tasks: {})",
            or_none(list())
        )),
        (0, None) => Err("the job has no For Each task to choose iterations from".into()),
        (_, Some(k)) => Err(format!(
            "`{k}` names For Each tasks in several jobs ({}): choose one with --job",
            list()
        )),
        (_, None) => Err(format!(
            "several For Each tasks ({}): choose one with --for-each (and --job)",
            list()
        )),
    }
}

fn or_none(s: String) -> String {
    if s.is_empty() {
        "none".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn it(index: usize, input: Value) -> Iteration {
        Iteration {
            index,
            input,
            parameters: Default::default(),
            problems: Vec::new(),
        }
    }

    #[test]
    fn ranges_parse() {
        assert_eq!(Selection::parse_range("3"), Ok((3, 3)));
        assert_eq!(Selection::parse_range("2-4"), Ok((2, 4)));
        assert_eq!(Selection::parse_range("2..4"), Ok((2, 4)));
        assert!(Selection::parse_range("0").is_err());
        assert!(Selection::parse_range("4-2").is_err());
        assert!(Selection::parse_range("x").is_err());
    }

    #[test]
    fn where_matches_fields_and_scalars() {
        let s = Selection {
            range: None,
            wheres: vec![Selection::parse_where("input.meta.n=5").unwrap()],
        };
        assert!(s.matches(&it(1, json!({"meta": {"n": 5}}))));
        assert!(!s.matches(&it(1, json!({"meta": {"n": 6}}))));
        assert!(!s.matches(&it(1, json!("5"))));
        let s = Selection {
            range: Some((2, 3)),
            wheres: vec![Selection::parse_where("input=b").unwrap()],
        };
        assert!(s.matches(&it(2, json!("b"))));
        assert!(!s.matches(&it(1, json!("b"))));
        assert_eq!(s.describe(), "iterations 2-3, input=b");
        assert!(Selection::parse_where("nofield").is_err());
        assert!(Selection::parse_where("a..b=1").is_err());
    }
}
