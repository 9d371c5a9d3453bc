//! Configuration: `bricklint.toml`, `.bricklint.toml` or `[tool.bricklint]` in `pyproject.toml`,
//! found upward from the working directory (or given with `--config`). Unknown keys are errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    pub select: Option<Vec<String>>,
    #[serde(default)]
    pub extend_select: Vec<String>,
    #[serde(default)]
    pub ignore: Vec<String>,
    #[serde(default)]
    pub per_file_ignores: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub extend_exclude: Vec<String>,
    /// Bundle target to analyse (like `--target`).
    pub target: Option<String>,
    /// Path of the official bundle JSON schema (like `--bundle-schema`).
    pub bundle_schema: Option<PathBuf>,
    #[serde(default)]
    pub orchestration: Orchestration,
    #[serde(default)]
    pub task_values: BTreeMap<String, TaskValueContract>,
    #[serde(default)]
    pub limits: Limits,
    /// NB001 scope: `"analyzed"` (default) reports syntax errors in the notebooks bricklint
    /// analyses; `"all"` parses every Python cell of every file.
    #[serde(default)]
    pub syntax_check: SyntaxCheck,
    /// Directory the config file was found in (paths in it are relative to this).
    #[serde(skip)]
    pub root: Option<PathBuf>,
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// Where the entries of the rule and pattern lists were written (for messages).
    #[serde(skip)]
    pub positions: Vec<Position>,
}

/// Where a list entry (a rule selector, an exclude pattern) was written in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// `select`, `extend-select`, `ignore`, `exclude`, `extend-exclude`, `per-file-ignores` (a
    /// pattern) or `per-file-ignores.<pattern>` (a selector).
    pub field: String,
    pub value: String,
    pub line: usize,
    pub column: usize,
}

/// Which Python cells NB001 (python-syntax-error) checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyntaxCheck {
    /// Files named on the command line, and every file with something for bricklint to analyse
    /// (notebook runs, task values, Jobs API calls, suppressions, IPython escapes, files they
    /// `%run` or import). Files with none of these are not parsed at all.
    #[default]
    #[serde(alias = "analysed")]
    Analyzed,
    /// Every Python cell of every file.
    All,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Orchestration {
    /// ORC005: largest acceptable pool size for notebook fan-out.
    #[serde(default = "default_pool")]
    pub max_pool_size: u32,
    /// Extra fully-qualified names of helpers that call `dbutils.notebook.run`
    /// (e.g. `"lib.runner.run_notebook"`).
    #[serde(default)]
    pub notebook_runners: Vec<String>,
    /// JOB007: smallest number of tasks running the same notebook that is reported (values
    /// below 2 act as 2).
    #[serde(default = "default_repeated")]
    pub repeated_notebook_tasks: u32,
}

fn default_repeated() -> u32 {
    3
}

fn default_pool() -> u32 {
    100
}

impl Default for Orchestration {
    fn default() -> Self {
        Orchestration {
            max_pool_size: default_pool(),
            notebook_runners: Vec::new(),
            repeated_notebook_tasks: default_repeated(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TaskValueContract {
    pub schema: Option<PathBuf>,
    pub max_bytes: Option<u64>,
}

/// Input limits (hostile input protection).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Limits {
    /// Files larger than this are skipped with a diagnostic.
    #[serde(default = "default_max_file")]
    pub max_file_bytes: u64,
    /// Maximum nesting depth for Python and YAML (at most [`MAX_NESTING_CAP`]).
    #[serde(default = "default_depth", deserialize_with = "capped_nesting")]
    pub max_nesting: u32,
    /// Maximum number of YAML alias expansions.
    #[serde(default = "default_aliases")]
    pub max_yaml_aliases: u32,
}

/// The largest `[limits] max-nesting` accepted. Syntax trees are built, walked and dropped
/// recursively: a chain of Python calls takes about 5 KiB of stack a level in a debug build, a
/// YAML mapping about 40 KiB (the deserializer's frames), less in a release build. CPython 3.11
/// refuses code nested 3,000 deep (`RecursionError` while compiling).
pub const MAX_NESTING_CAP: u32 = 2_000;

/// Stack size of every thread that parses, walks or drops syntax trees: the command's own thread
/// and rayon's pools. [`MAX_NESTING_CAP`] levels of the costliest shape (YAML, debug build) take
/// about a third of it. Only the pages a thread touches are backed by memory.
pub const THREAD_STACK_BYTES: usize = 256 * 1024 * 1024;

fn capped_nesting<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    if n > MAX_NESTING_CAP {
        return Err(serde::de::Error::custom(format!(
            "max-nesting = {n} is over {MAX_NESTING_CAP}, the deepest nesting bricklint can \
             analyse without overflowing its stack (CPython refuses such code too)"
        )));
    }
    Ok(n)
}

fn default_max_file() -> u64 {
    crate::fsutil::DEFAULT_MAX_FILE_BYTES
}
fn default_depth() -> u32 {
    500
}
fn default_aliases() -> u32 {
    10_000
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: default_max_file(),
            max_nesting: default_depth(),
            max_yaml_aliases: default_aliases(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {err}")]
    Io { path: String, err: std::io::Error },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
}

/// 1-based line and column of byte offset `at` of `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    crate::fsutil::line_col(&text.as_bytes()[..at])
}

fn parse_error(path: &Path, text: &str, e: toml::de::Error) -> ConfigError {
    let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
    ConfigError::Invalid {
        path: path.display().to_string(),
        line,
        column,
        message: e.message().to_string(),
    }
}

/// The lists whose entries are checked after parsing, with their positions (a second, lenient
/// parse of the same text).
#[derive(Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct SpannedLists {
    #[serde(default)]
    select: Vec<toml::Spanned<String>>,
    #[serde(default)]
    extend_select: Vec<toml::Spanned<String>>,
    #[serde(default)]
    ignore: Vec<toml::Spanned<String>>,
    #[serde(default)]
    exclude: Vec<toml::Spanned<String>>,
    #[serde(default)]
    extend_exclude: Vec<toml::Spanned<String>>,
    #[serde(default)]
    per_file_ignores: BTreeMap<toml::Spanned<String>, Vec<toml::Spanned<String>>>,
}

impl SpannedLists {
    fn positions(self, text: &str) -> Vec<Position> {
        let mut out = Vec::new();
        let mut push = |field: &str, v: toml::Spanned<String>| {
            let (line, column) = line_col(text, v.span().start);
            out.push(Position {
                field: field.to_string(),
                value: v.into_inner(),
                line,
                column,
            });
        };
        for (field, list) in [
            ("select", self.select),
            ("extend-select", self.extend_select),
            ("ignore", self.ignore),
            ("exclude", self.exclude),
            ("extend-exclude", self.extend_exclude),
        ] {
            for v in list {
                push(field, v);
            }
        }
        for (pat, codes) in self.per_file_ignores {
            let field = format!("per-file-ignores.{}", pat.get_ref());
            push("per-file-ignores", pat);
            for c in codes {
                push(&field, c);
            }
        }
        out
    }
}

impl Config {
    /// Parse a `bricklint.toml` text.
    pub fn from_toml(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let mut c: Config = toml::from_str(text).map_err(|e| parse_error(path, text, e))?;
        c.root = path.parent().map(Path::to_path_buf);
        c.source = Some(path.to_path_buf());
        c.positions = toml::from_str::<SpannedLists>(text)
            .map(|l| l.positions(text))
            .unwrap_or_default();
        c.check_patterns()?;
        Ok(c)
    }

    /// `path:line:col` of an entry of a list (`select`, `exclude`, ...), or the config file's
    /// path when the entry was not found there; `None` without a config file.
    pub fn locate(&self, field: &str, value: &str) -> Option<String> {
        let src = self.source.as_ref()?;
        let p = self
            .positions
            .iter()
            .find(|p| p.field == field && p.value == value);
        Some(match p {
            Some(p) => format!("{}:{}:{}", src.display(), p.line, p.column),
            None => src.display().to_string(),
        })
    }

    fn invalid_at(&self, field: &str, value: &str, message: String) -> ConfigError {
        let p = self
            .positions
            .iter()
            .find(|p| p.field == field && p.value == value);
        ConfigError::Invalid {
            path: self
                .source
                .as_ref()
                .map(|s| s.display().to_string())
                .unwrap_or_default(),
            line: p.map_or(1, |p| p.line),
            column: p.map_or(1, |p| p.column),
            message,
        }
    }

    /// Every exclude and per-file-ignores pattern compiles within the glob budgets
    /// ([`crate::discover::check_glob`]), and the set of them builds.
    fn check_patterns(&self) -> Result<(), ConfigError> {
        let lists = [
            ("exclude", &self.exclude),
            ("extend-exclude", &self.extend_exclude),
        ];
        let mut total = 0usize;
        for (field, list) in lists {
            for pat in list.iter() {
                total += pat.len();
                crate::discover::check_glob(pat)
                    .map_err(|e| self.invalid_at(field, pat, format!("{field} pattern {e}")))?;
            }
        }
        for pat in self.per_file_ignores.keys() {
            total += pat.len();
            crate::discover::check_glob(pat).map_err(|e| {
                self.invalid_at(
                    "per-file-ignores",
                    pat,
                    format!("per-file-ignores pattern {e}"),
                )
            })?;
        }
        if total > crate::discover::MAX_GLOB_TOTAL_BYTES {
            let field = if self.exclude.is_empty() {
                "extend-exclude"
            } else {
                "exclude"
            };
            let first = self.exclude.first().or(self.extend_exclude.first());
            return Err(self.invalid_at(
                field,
                first.map_or("", String::as_str),
                format!(
                    "the exclude and per-file-ignores patterns add up to {total} bytes, over the \
                     limit of {}",
                    crate::discover::MAX_GLOB_TOTAL_BYTES
                ),
            ));
        }
        if self.exclude.is_empty() && self.extend_exclude.is_empty() {
            return Ok(());
        }
        let mut all = self.exclude.clone();
        all.extend(self.extend_exclude.iter().cloned());
        crate::discover::exclude_set(&all).map_err(|e| {
            let first = all.first().map_or("", String::as_str);
            self.invalid_at("exclude", first, e)
        })?;
        Ok(())
    }

    /// Parse `[tool.bricklint]` from a `pyproject.toml` text; `None` when the table is absent.
    pub fn from_pyproject(path: &Path, text: &str) -> Result<Option<Config>, ConfigError> {
        #[derive(Deserialize)]
        struct Py {
            tool: Option<Tool>,
        }
        #[derive(Deserialize)]
        struct Tool {
            bricklint: Option<Config>,
        }
        #[derive(Deserialize)]
        struct PySpans {
            tool: Option<ToolSpans>,
        }
        #[derive(Deserialize)]
        struct ToolSpans {
            bricklint: Option<SpannedLists>,
        }
        let py: Py = toml::from_str(text).map_err(|e| parse_error(path, text, e))?;
        let Some(mut c) = py.tool.and_then(|t| t.bricklint) else {
            return Ok(None);
        };
        c.root = path.parent().map(Path::to_path_buf);
        c.source = Some(path.to_path_buf());
        c.positions = toml::from_str::<PySpans>(text)
            .ok()
            .and_then(|p| p.tool?.bricklint)
            .map(|l| l.positions(text))
            .unwrap_or_default();
        c.check_patterns()?;
        Ok(Some(c))
    }

    pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
        // Read before `[limits]` is known: the default size limit applies.
        let text = crate::fsutil::read_input_string(path).map_err(|err| ConfigError::Io {
            path: path.display().to_string(),
            err,
        })?;
        if path.file_name().and_then(|n| n.to_str()) == Some("pyproject.toml") {
            Ok(Config::from_pyproject(path, &text)?.unwrap_or_default())
        } else {
            Config::from_toml(path, &text)
        }
    }

    /// Find the configuration upward from `start`.
    pub fn discover(start: &Path) -> Result<Config, ConfigError> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            for name in ["bricklint.toml", ".bricklint.toml"] {
                let p = d.join(name);
                if p.is_file() {
                    return Config::load_file(&p);
                }
            }
            let p = d.join("pyproject.toml");
            if p.is_file() {
                let text = crate::fsutil::read_input_string(&p).map_err(|err| ConfigError::Io {
                    path: p.display().to_string(),
                    err,
                })?;
                if let Some(c) = Config::from_pyproject(&p, &text)? {
                    return Ok(c);
                }
            }
            dir = d.parent();
        }
        Ok(Config::default())
    }

    /// Resolve a path written in the config file.
    pub fn resolve_path(&self, p: &Path) -> PathBuf {
        match &self.root {
            Some(r) if p.is_relative() => r.join(p),
            _ => p.to_path_buf(),
        }
    }

    /// Resolve a path written in the config file that bricklint will read (a schema), refused
    /// when it resolves outside the project that holds the config file (see [`crate::boundary`]):
    /// a configuration in a pull request must not make CI read files of the machine.
    pub fn resolve_content_path(&self, p: &Path) -> Result<PathBuf, String> {
        let path = self.resolve_path(p);
        let Some(root) = &self.root else {
            return Ok(path);
        };
        let boundary = crate::boundary::Boundary::of_paths([root.as_path()]);
        boundary
            .check(&path)
            .map_err(|e| format!("{e}, is not read"))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_has_position() {
        let err = Config::from_toml(
            Path::new("bricklint.toml"),
            "select = [\"ALL\"]\nbogus = 1\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("bricklint.toml:2:1:"), "{err}");
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn bad_patterns_have_positions() {
        let err = |text: &str| {
            Config::from_toml(Path::new("b.toml"), text)
                .unwrap_err()
                .to_string()
        };
        let e = err("exclude = [\"ok/**\",\n  \"[abc\"]\n");
        assert_eq!(
            e,
            "b.toml:2:3: exclude pattern `[abc` is not a valid glob: unclosed character class; \
             missing ']'"
        );
        let e = err("[per-file-ignores]\n\"x/**\" = [\"ORC001\"]\n\"{a\" = []\n");
        assert!(
            e.starts_with("b.toml:3:1: per-file-ignores pattern `{a` is not"),
            "{e}"
        );
        let alts = format!(
            "{{{}}}",
            (0..300)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        let e = err(&format!("extend-exclude = [\"{alts}\"]\n"));
        assert!(
            e.starts_with("b.toml:1:19: extend-exclude pattern `{0,1,"),
            "{e}"
        );
        assert!(e.contains("has 300 alternatives, more than 256"), "{e}");
        let e = err(&format!("exclude = [\"{}\"]\n", "a".repeat(5000)));
        assert!(e.contains("(5000 bytes) is longer than 4096 bytes"), "{e}");
        let many: Vec<String> = (0..20)
            .map(|i| format!("\"{}{i}\"", "*a".repeat(1800)))
            .collect();
        let e = err(&format!("exclude = [{}]\n", many.join(",\n")));
        assert!(e.contains("add up to"), "{e}");
        // Within the budgets: accepted, positions recorded.
        let c = Config::from_toml(
            Path::new("b.toml"),
            "select = [\"ORC\"]\nexclude = [\"a/**\", \"{x,y}/*.py\"]\n",
        )
        .unwrap();
        assert_eq!(c.locate("exclude", "{x,y}/*.py").unwrap(), "b.toml:2:20");
        assert_eq!(c.locate("select", "ORC").unwrap(), "b.toml:1:11");
        assert_eq!(c.locate("select", "nope").unwrap(), "b.toml");
    }

    #[test]
    fn max_nesting_is_capped() {
        let e = Config::from_toml(Path::new("b.toml"), "[limits]\nmax-nesting = 2001\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("b.toml:2:15: max-nesting = 2001 is over 2000"),
            "{e}"
        );
        let c = Config::from_toml(Path::new("b.toml"), "[limits]\nmax-nesting = 2000\n").unwrap();
        assert_eq!(c.limits.max_nesting, MAX_NESTING_CAP);
    }

    #[test]
    fn wrong_type_has_position() {
        let err = Config::from_toml(
            Path::new("b.toml"),
            "[orchestration]\nmax-pool-size = \"x\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("b.toml:2:"), "{err}");
    }

    #[test]
    fn full_example_parses() {
        let c = Config::from_toml(
            Path::new("bricklint.toml"),
            r#"
select = ["ALL"]
ignore = ["ORC003"]
per-file-ignores = { "legacy/**" = ["ORC002"] }
[orchestration]
max-pool-size = 32
repeated-notebook-tasks = 5
[task-values.params]
schema = "contracts/params.schema.json"
max-bytes = 49152
"#,
        )
        .unwrap();
        assert_eq!(c.orchestration.max_pool_size, 32);
        assert_eq!(c.orchestration.repeated_notebook_tasks, 5);
        assert_eq!(Config::default().orchestration.repeated_notebook_tasks, 3);
        assert_eq!(c.task_values["params"].max_bytes, Some(49152));
        let py = Config::from_pyproject(
            Path::new("pyproject.toml"),
            "[tool.bricklint]\nignore=[\"JOB007\"]\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(py.ignore, vec!["JOB007"]);
    }
}
