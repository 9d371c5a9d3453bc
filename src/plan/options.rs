//! Options of `bricklint plan` read from files: `--inputs FILE.json` (For Each inputs and
//! upstream task values) and `--duration(s)`.

use indexmap::IndexMap;
use serde_json::Value;

use super::type_name;

/// Inputs given on the command line (`--inputs FILE.json`).
#[derive(Debug, Clone)]
pub enum InputsOverride {
    /// A JSON array: the inputs of the job's only For Each task.
    Array { label: String, value: Value },
    /// `{"<for each task key>": [...], "tasks.<t>.values.<k>": <value>, ...}`.
    PerTask {
        label: String,
        map: IndexMap<String, Value>,
    },
}

impl InputsOverride {
    /// Read a parsed `--inputs` file. An array feeds the only For Each; an object maps For Each
    /// task keys to arrays (or to JSON strings of arrays, as captured from a run).
    pub fn from_json(label: &str, value: Value) -> Result<Self, String> {
        match value {
            Value::Array(_) | Value::String(_) => Ok(InputsOverride::Array {
                label: label.to_string(),
                value,
            }),
            Value::Object(m) => Ok(InputsOverride::PerTask {
                label: label.to_string(),
                map: m.into_iter().collect(),
            }),
            other => Err(format!(
                "{label}: expected a JSON array (the inputs of the For Each) or an object of For Each task keys to arrays, found {}",
                type_name(&other)
            )),
        }
    }
    pub fn label(&self) -> &str {
        match self {
            InputsOverride::Array { label, .. } | InputsOverride::PerTask { label, .. } => label,
        }
    }

    /// The value given for task value `key` of task `task`: an entry
    /// `"tasks.<task>.values.<key>"` of the object form (task keys hold no `.`, so these never
    /// name a For Each task).
    pub fn task_value(&self, task: &str, key: &str) -> Option<&Value> {
        match self {
            InputsOverride::PerTask { map, .. } => map.get(&task_value_entry(task, key)),
            InputsOverride::Array { .. } => None,
        }
    }

    /// The For Each task keys the object form names (entries that are not task values).
    pub fn for_each_keys(&self) -> impl Iterator<Item = &str> {
        let keys = match self {
            InputsOverride::PerTask { map, .. } => Some(map.keys()),
            InputsOverride::Array { .. } => None,
        };
        keys.into_iter()
            .flatten()
            .map(String::as_str)
            .filter(|k| parse_task_value_entry(k).is_none())
    }
}

/// The `--inputs` entry that gives task value `key` of `task`.
pub fn task_value_entry(task: &str, key: &str) -> String {
    format!("tasks.{task}.values.{key}")
}

/// `tasks.<task>.values.<key>` -> (task, key).
pub fn parse_task_value_entry(entry: &str) -> Option<(&str, &str)> {
    let rest = entry.strip_prefix("tasks.")?;
    let (task, key) = rest.split_once(".values.")?;
    (!task.is_empty() && !key.is_empty()).then_some((task, key))
}

/// Durations for one For Each: the same for every iteration, or one per iteration.
#[derive(Debug, Clone, PartialEq)]
pub enum DurationSpec {
    Uniform(f64),
    PerIteration(Vec<f64>),
}

/// Durations given with `--duration` or `--durations FILE.json`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Durations {
    /// For every For Each without its own entry.
    pub default: Option<DurationSpec>,
    pub per_task: IndexMap<String, DurationSpec>,
}

impl Durations {
    pub fn uniform(seconds: f64) -> Self {
        Durations {
            default: Some(DurationSpec::Uniform(seconds)),
            per_task: IndexMap::new(),
        }
    }

    /// A durations file: a number (seconds per iteration), an array (seconds per iteration, in
    /// input order), or an object of For Each task keys to either.
    pub fn from_json(value: &Value) -> Result<Self, String> {
        fn spec(v: &Value) -> Result<DurationSpec, String> {
            match v {
                Value::Number(n) => n
                    .as_f64()
                    .filter(|x| *x >= 0.0)
                    .map(DurationSpec::Uniform)
                    .ok_or_else(|| format!("duration must be a non-negative number, found {n}")),
                Value::Array(a) => a
                    .iter()
                    .enumerate()
                    .map(|(i, x)| {
                        x.as_f64().filter(|x| *x >= 0.0).ok_or_else(|| {
                            format!(
                                "duration #{} must be a non-negative number, found {x}",
                                i + 1
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(DurationSpec::PerIteration),
                other => Err(format!(
                    "expected a number or an array of numbers, found {}",
                    type_name(other)
                )),
            }
        }
        match value {
            Value::Object(m) => {
                let mut per_task = IndexMap::new();
                for (k, v) in m {
                    per_task.insert(k.clone(), spec(v).map_err(|e| format!("`{k}`: {e}"))?);
                }
                Ok(Durations {
                    default: None,
                    per_task,
                })
            }
            v => Ok(Durations {
                default: Some(spec(v)?),
                per_task: IndexMap::new(),
            }),
        }
    }

    pub fn for_task(&self, key: &str) -> Option<&DurationSpec> {
        self.per_task.get(key).or(self.default.as_ref())
    }
}
