//! `bricklint init [DIR]`: wire bricklint into a bundle's `databricks.yml` and print the
//! pre-commit and GitHub Actions snippets.
//!
//! It adds an `experimental.scripts.postinit` hook. The Databricks CLI runs `postinit` at the end
//! of the *initialize* phase, which both `databricks bundle validate` (it runs only `preinit` and
//! `postinit`) and `databricks bundle deploy` (initialize, build, deploy) go through, so one hook
//! gates both; a non-zero exit of the script fails the command. `predeploy` is not used: it would
//! run the same check a second time on deploy.
//!
//! The file is edited as text (comments, order and formatting are kept) and the result is parsed
//! again to prove the hook is there; running `init` twice changes nothing the second time.
//!
//! When bricklint is not on PATH (a teammate without it, a CI image), the hook prints a warning
//! and lets the bundle command go on, unless `BRICKLINT_REQUIRED=1` is set, in which case it fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use serde::Deserialize;

/// The hook that runs the check.
pub const HOOK: &str = "postinit";

/// The shell command of the hook (POSIX sh; no `${...}`, which bundles would interpolate).
pub const SCRIPT: &str = "if command -v bricklint >/dev/null 2>&1; then bricklint check . --output-format concise; elif [ \"x$BRICKLINT_REQUIRED\" = x1 ]; then echo \"bricklint: not found on PATH and BRICKLINT_REQUIRED=1\" >&2; exit 1; else echo \"warning: bricklint not found on PATH, bundle not linted (pip install bricklint)\" >&2; fi";

const COMMENT: &str =
    "# bricklint lints the bundle on `databricks bundle validate` and `deploy` (`bricklint init`).";

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Bundle root (directory with `databricks.yml`) or the `databricks.yml` file itself.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Print the change as a diff and write nothing (exit 1 when a change is pending).
    #[arg(long)]
    pub diff: bool,
    /// Do not print the pre-commit and GitHub Actions snippets.
    #[arg(long)]
    pub no_snippets: bool,
    /// Add the `databricks-bundles` mutator `bricklint.bundles:check_job` to the `python:`
    /// section instead of the `postinit` script: it also checks jobs defined in Python.
    #[arg(long)]
    pub python: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The hook is already there.
    Unchanged,
    /// The new text of the file.
    Changed(String),
}

#[derive(Deserialize, Default)]
struct Root {
    #[serde(default)]
    experimental: Option<Experimental>,
}

#[derive(Deserialize, Default)]
struct Experimental {
    #[serde(default)]
    scripts: Option<BTreeMap<String, String>>,
}

fn hooks(text: &str) -> Result<BTreeMap<String, String>, String> {
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let root: Option<Root> = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    Ok(root
        .and_then(|r| r.experimental)
        .and_then(|e| e.scripts)
        .unwrap_or_default())
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_content(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// `key:` alone on a line (maybe with a comment), at `indent`.
fn is_block_key(line: &str, key: &str, indent: usize) -> bool {
    if indent_of(line) != indent {
        return false;
    }
    let Some(rest) = line.trim_start().strip_prefix(key) else {
        return false;
    };
    let Some(rest) = rest.trim_end().strip_prefix(':') else {
        return false;
    };
    let rest = rest.trim();
    rest.is_empty() || rest.starts_with('#')
}

/// `key:` at `indent` with anything after it (a scalar or flow value).
fn is_key(line: &str, key: &str, indent: usize) -> bool {
    indent_of(line) == indent
        && line
            .trim_start()
            .strip_prefix(key)
            .is_some_and(|r| r.starts_with(':'))
}

/// The block of child lines after line `i` (lines more indented than `parent`, or blank).
fn block_end(lines: &[&str], i: usize, parent: usize) -> usize {
    let mut j = i + 1;
    while j < lines.len() && (!is_content(lines[j]) || indent_of(lines[j]) > parent) {
        j += 1;
    }
    j
}

fn child_indent(lines: &[&str], from: usize, to: usize) -> Option<usize> {
    lines[from..to]
        .iter()
        .find(|l| is_content(l))
        .map(|l| indent_of(l))
}

fn yaml_single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Add the hook to the text of a `databricks.yml`.
pub fn add_hook(text: &str) -> Result<Outcome, String> {
    let before = hooks(text).map_err(|e| format!("databricks.yml does not parse as YAML: {e}"))?;
    if let Some(existing) = before.get(HOOK) {
        if existing.contains("bricklint") {
            return Ok(Outcome::Unchanged);
        }
        return Err(format!(
            "`experimental.scripts.{HOOK}` is already set to `{existing}`; add bricklint to it by hand, e.g. `{existing} && bricklint check .`"
        ));
    }
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let bare: Vec<&str> = lines
        .iter()
        .map(|l| l.trim_end_matches(['\n', '\r']))
        .collect();
    let hook_line = |indent: usize| {
        format!(
            "{}{HOOK}: {}{nl}",
            " ".repeat(indent),
            yaml_single_quoted(SCRIPT)
        )
    };
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let exp = bare.iter().position(|l| is_key(l, "experimental", 0));
    match exp {
        None => {
            // Append a new top-level block.
            let mut s = text.to_string();
            if !s.is_empty() && !s.ends_with('\n') {
                s.push_str(nl);
            }
            if !s.is_empty() && !s.ends_with(&format!("{nl}{nl}")) {
                s.push_str(nl);
            }
            s.push_str(&format!(
                "{COMMENT}{nl}experimental:{nl}  scripts:{nl}{}",
                hook_line(4)
            ));
            return verify(s);
        }
        Some(e) if !is_block_key(bare[e], "experimental", 0) => {
            return Err(
                "`experimental` is written in flow style or with a value on its line; add the hook by hand (see `bricklint init --help`)".into(),
            );
        }
        Some(e) => {
            let end = block_end(&bare, e, 0);
            let step = child_indent(&bare, e + 1, end).unwrap_or(2).max(1);
            let scripts = (e + 1..end).find(|&i| is_key(bare[i], "scripts", step));
            match scripts {
                None => {
                    let ins = format!("{}scripts:{nl}{}", " ".repeat(step), hook_line(step * 2));
                    out.insert(e + 1, ins);
                }
                Some(si) if !is_block_key(bare[si], "scripts", step) => {
                    return Err("`experimental.scripts` is written in flow style; add the hook by hand (see `bricklint init --help`)".into());
                }
                Some(si) => {
                    let send = block_end(&bare, si, step);
                    let ind = child_indent(&bare, si + 1, send).unwrap_or(step * 2);
                    out.insert(si + 1, hook_line(ind));
                }
            }
        }
    }
    verify(out.concat())
}

/// The mutator `init --python` adds.
pub const MUTATOR: &str = "bricklint.bundles:check_job";

const PYTHON_COMMENT: &str = "# bricklint checks every job, YAML or Python, on `databricks bundle validate` and `deploy` (`bricklint init --python`).";

#[derive(Deserialize, Default, Debug, PartialEq)]
struct PythonRoot {
    #[serde(default)]
    python: Option<PythonSection>,
    #[serde(default)]
    experimental: Option<ExperimentalPython>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct ExperimentalPython {
    #[serde(default)]
    python: Option<serde_json::Value>,
}

#[derive(Deserialize, Default, Debug, PartialEq, Clone)]
struct PythonSection {
    #[serde(default)]
    venv_path: Option<String>,
    #[serde(default)]
    resources: Option<Vec<String>>,
    #[serde(default)]
    mutators: Option<Vec<String>>,
}

fn python_section(text: &str) -> Result<PythonRoot, String> {
    if text.trim().is_empty() {
        return Ok(PythonRoot::default());
    }
    let root: Option<PythonRoot> = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    Ok(root.unwrap_or_default())
}

/// Add [`MUTATOR`] to `python.mutators` (last, so it sees what other mutators did), keeping
/// `venv_path`, `resources` and the rest of the file as written.
pub fn add_mutator(text: &str) -> Result<Outcome, String> {
    let before =
        python_section(text).map_err(|e| format!("databricks.yml does not parse as YAML: {e}"))?;
    let section = before.python.clone().unwrap_or_default();
    if section.mutators.iter().flatten().any(|m| m == MUTATOR) {
        return Ok(Outcome::Unchanged);
    }
    if before.python.is_none() && before.experimental.and_then(|e| e.python).is_some() {
        return Err("the bundle configures Python under `experimental.python`; move it to the top-level `python:` section (the CLI's current name) or add `- \"bricklint.bundles:check_job\"` to its `mutators:` by hand".into());
    }
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let bare: Vec<&str> = lines
        .iter()
        .map(|l| l.trim_end_matches(['\n', '\r']))
        .collect();
    let item = |indent: usize| format!("{}- \"{MUTATOR}\"{nl}", " ".repeat(indent));
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let flow = "written in flow style or with a value on its line; add `- \"bricklint.bundles:check_job\"` to `python.mutators` by hand";
    match bare.iter().position(|l| is_key(l, "python", 0)) {
        None => {
            let mut s = text.to_string();
            if !s.is_empty() && !s.ends_with('\n') {
                s.push_str(nl);
            }
            if !s.is_empty() && !s.ends_with(&format!("{nl}{nl}")) {
                s.push_str(nl);
            }
            s.push_str(&format!(
                "{PYTHON_COMMENT}{nl}python:{nl}  mutators:{nl}{}",
                item(4)
            ));
            return verify_mutator(s, &section);
        }
        Some(p) if !is_block_key(bare[p], "python", 0) => {
            return Err(format!("`python` is {flow}"));
        }
        Some(p) => {
            let end = block_end(&bare, p, 0);
            let step = child_indent(&bare, p + 1, end).unwrap_or(2).max(1);
            match (p + 1..end).find(|&i| is_key(bare[i], "mutators", step)) {
                None => {
                    out.insert(
                        p + 1,
                        format!("{}mutators:{nl}{}", " ".repeat(step), item(step * 2)),
                    );
                }
                Some(m) if !is_block_key(bare[m], "mutators", step) => {
                    return Err(format!("`python.mutators` is {flow}"));
                }
                Some(m) => {
                    let mend = block_end_items(&bare, m, step);
                    // After the last item (comments and blank lines after it stay below).
                    let last = (m + 1..mend)
                        .rev()
                        .find(|&i| is_content(bare[i]))
                        .unwrap_or(m);
                    let ind = child_indent(&bare, m + 1, mend).unwrap_or(step + 2);
                    out.insert(last + 1, item(ind));
                }
            }
        }
    }
    verify_mutator(out.concat(), &section)
}

/// Like [`block_end`], but list items may sit at the key's own indentation (`key:\n- a`).
fn block_end_items(lines: &[&str], i: usize, parent: usize) -> usize {
    let mut j = i + 1;
    while j < lines.len()
        && (!is_content(lines[j])
            || indent_of(lines[j]) > parent
            || (indent_of(lines[j]) == parent && lines[j].trim_start().starts_with("- ")))
    {
        j += 1;
    }
    j
}

fn verify_mutator(new: String, before: &PythonSection) -> Result<Outcome, String> {
    let broken = |e: String| {
        format!(
            "adding the mutator would break databricks.yml ({e}); add it by hand (see the README)"
        )
    };
    let after = python_section(&new)
        .map_err(broken)?
        .python
        .unwrap_or_default();
    let mut want = before.clone();
    want.mutators
        .get_or_insert_with(Vec::new)
        .push(MUTATOR.to_string());
    if after == want {
        Ok(Outcome::Changed(new))
    } else {
        Err("could not add the mutator to this layout of databricks.yml; add it by hand (see the README)".into())
    }
}

fn verify(new: String) -> Result<Outcome, String> {
    match hooks(&new) {
        Ok(h) if h.get(HOOK).map(String::as_str) == Some(SCRIPT) => Ok(Outcome::Changed(new)),
        Ok(_) => Err("could not add the hook to this layout of databricks.yml; add it by hand (see the README)".into()),
        Err(e) => Err(format!(
            "adding the hook would break databricks.yml ({e}); add it by hand (see the README)"
        )),
    }
}

fn bundle_file(dir: &Path) -> Option<PathBuf> {
    if dir.is_file() {
        return Some(dir.to_path_buf());
    }
    ["databricks.yml", "databricks.yaml"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

pub fn snippets() -> String {
    let v = env!("CARGO_PKG_VERSION");
    format!(
        r#"pre-commit (.pre-commit-config.yaml):

  repos:
    - repo: https://github.com/bricklint/bricklint
      rev: v{v}
      hooks:
        - id: bricklint

GitHub Actions (.github/workflows/bricklint.yml):

  name: bricklint
  on: [push, pull_request]
  jobs:
    bricklint:
      runs-on: ubuntu-latest
      permissions:
        contents: read
        security-events: write
      steps:
        - uses: actions/checkout@v4
        - uses: actions/setup-python@v5
          with:
            python-version: "3.12"
        - run: pip install bricklint=={v}
        - run: bricklint check . --output-format github
        - run: bricklint check . --output-format sarif --output-file bricklint.sarif --exit-zero
          if: always()
        - uses: github/codeql-action/upload-sarif@v3
          if: always()
          with:
            sarif_file: bricklint.sarif
            category: bricklint
"#
    )
}

pub fn run(args: InitArgs) -> ExitCode {
    let err = super::fail;
    let Some(path) = bundle_file(&args.dir) else {
        return err(format!(
            "no databricks.yml in {} (run `databricks bundle init` first, or give the bundle root)",
            args.dir.display()
        ));
    };
    let display = crate::source::display_path(&crate::discover::absolutize(&path));
    let text = match crate::fsutil::read_input_string(&path) {
        Ok(t) => t,
        Err(e) => return err(format!("cannot read {display}: {e}")),
    };
    let (result, unchanged, added, note) = if args.python {
        (
            add_mutator(&text),
            format!("`python.mutators` already runs `{MUTATOR}`; nothing to do."),
            format!("added `{MUTATOR}` to `python.mutators`: `databricks bundle validate` and `deploy` now check every job, YAML or Python, with bricklint."),
            "  Install bricklint and databricks-bundles in the Python environment the CLI uses (`python.venv_path`, or the active one): pip install bricklint databricks-bundles",
        )
    } else {
        (
            add_hook(&text),
            format!("`experimental.scripts.{HOOK}` already runs bricklint; nothing to do."),
            format!("added `experimental.scripts.{HOOK}`: `databricks bundle validate` and `deploy` now run `bricklint check`."),
            "  Without bricklint on PATH the hook only warns; set BRICKLINT_REQUIRED=1 to make that an error.",
        )
    };
    let mut code = ExitCode::SUCCESS;
    let mut out = String::new();
    match result {
        Ok(Outcome::Unchanged) => out.push_str(&format!("{display}: {unchanged}\n")),
        Ok(Outcome::Changed(new)) if args.diff => {
            out.push_str(&crate::fix::unified_diff(&path, Some(&text), &new));
            code = ExitCode::from(1);
        }
        Ok(Outcome::Changed(new)) => {
            if let Err(e) = crate::fix::write_atomic(&path, &new) {
                return err(format!("cannot write {display}: {e}"));
            }
            out.push_str(&format!("{display}: {added}\n"));
            out.push_str(&crate::fix::unified_diff(&path, Some(&text), &new));
            out.push_str(note);
            out.push('\n');
        }
        Err(e) => return err(format!("{display}: {e}")),
    }
    if !args.no_snippets {
        out.push('\n');
        out.push_str(&snippets());
    }
    super::print_then(&out, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(text: &str) -> String {
        match add_hook(text).unwrap() {
            Outcome::Changed(s) => s,
            Outcome::Unchanged => panic!("expected a change"),
        }
    }

    fn assert_idempotent(new: &str) {
        assert_eq!(add_hook(new).unwrap(), Outcome::Unchanged);
    }

    #[test]
    fn appends_a_block_and_keeps_comments() {
        let src = "# my bundle\nbundle:\n  name: demo # inline comment\n\ninclude:\n  - resources/*.yml\n";
        let new = changed(src);
        assert!(new.starts_with(src), "original text kept verbatim:\n{new}");
        assert!(new.contains("\nexperimental:\n  scripts:\n    postinit: 'if command -v bricklint"));
        assert_eq!(hooks(&new).unwrap()[HOOK], SCRIPT);
        assert_idempotent(&new);
    }

    #[test]
    fn file_without_final_newline() {
        let new = changed("bundle:\n  name: demo");
        assert!(new.starts_with("bundle:\n  name: demo\n\n# bricklint"));
        assert_idempotent(&new);
    }

    #[test]
    fn adds_scripts_under_an_existing_experimental_block() {
        let src = "bundle:\n  name: demo\nexperimental:\n    # keep me\n    python_wheel_wrapper: true\ntargets:\n  dev:\n    default: true\n";
        let new = changed(src);
        assert!(
            new.contains("experimental:\n    scripts:\n        postinit: '"),
            "{new}"
        );
        assert!(new.contains("    # keep me\n    python_wheel_wrapper: true\ntargets:"));
        assert_idempotent(&new);
    }

    #[test]
    fn adds_the_hook_beside_other_hooks() {
        let src = "experimental:\n  scripts:\n    preinit: python gen.py # generate resources\n    postdeploy: echo done\nbundle:\n  name: x\n";
        let new = changed(src);
        let h = hooks(&new).unwrap();
        assert_eq!(h["preinit"], "python gen.py");
        assert_eq!(h["postdeploy"], "echo done");
        assert_eq!(h[HOOK], SCRIPT);
        assert!(new.contains("    preinit: python gen.py # generate resources\n"));
        assert_idempotent(&new);
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let new = changed("bundle:\r\n  name: demo\r\n");
        assert!(!new.replace("\r\n", "").contains('\n'), "{new:?}");
        assert_idempotent(&new);
    }

    #[test]
    fn an_existing_foreign_postinit_is_not_overwritten() {
        let e = add_hook("experimental:\n  scripts:\n    postinit: make check\n").unwrap_err();
        assert!(e.contains("make check && bricklint check ."), "{e}");
    }

    #[test]
    fn flow_style_and_broken_yaml_are_refused() {
        assert!(add_hook("experimental: {scripts: {}}\n").is_err());
        assert!(add_hook("bundle: [\n").is_err());
    }

    #[test]
    fn empty_file_gets_the_block() {
        let new = changed("");
        assert!(new.starts_with("# bricklint"));
        assert_idempotent(&new);
    }

    fn mutator_added(text: &str) -> String {
        match add_mutator(text).unwrap() {
            Outcome::Changed(s) => {
                assert_eq!(add_mutator(&s).unwrap(), Outcome::Unchanged, "twice: once");
                s
            }
            Outcome::Unchanged => panic!("expected a change"),
        }
    }

    #[test]
    fn python_section_appended_when_missing() {
        let src = "bundle:\n  name: demo # keep\n";
        let new = mutator_added(src);
        assert!(new.starts_with(src), "{new}");
        assert!(
            new.ends_with("python:\n  mutators:\n    - \"bricklint.bundles:check_job\"\n"),
            "{new}"
        );
    }

    #[test]
    fn mutators_added_to_a_python_section_keeping_venv_and_resources() {
        let src = "python:\n    # the venv\n    venv_path: .venv\n    resources:\n      - \"resources:load_resources\"\ntargets:\n  dev: {}\n";
        let new = mutator_added(src);
        assert_eq!(
            new,
            "python:\n    mutators:\n        - \"bricklint.bundles:check_job\"\n    # the venv\n    venv_path: .venv\n    resources:\n      - \"resources:load_resources\"\ntargets:\n  dev: {}\n"
        );
    }

    #[test]
    fn appended_last_to_existing_mutators() {
        // Items at the key's indentation and deeper; a comment after the list stays below.
        for (src, want) in [
            (
                "python:\n  venv_path: .venv\n  mutators:\n  - \"m:a\"\n  - \"m:b\" # b\n\n  # tail\nbundle:\n  name: x\n",
                "python:\n  venv_path: .venv\n  mutators:\n  - \"m:a\"\n  - \"m:b\" # b\n  - \"bricklint.bundles:check_job\"\n\n  # tail\nbundle:\n  name: x\n",
            ),
            (
                "python:\n  mutators:\n    - m:a\n  resources:\n    - r:f\n",
                "python:\n  mutators:\n    - m:a\n    - \"bricklint.bundles:check_job\"\n  resources:\n    - r:f\n",
            ),
        ] {
            assert_eq!(mutator_added(src), want);
        }
    }

    #[test]
    fn python_flow_style_and_experimental_python_are_refused() {
        assert!(add_mutator("python: {venv_path: .venv}\n").is_err());
        assert!(add_mutator("python:\n  mutators: [\"m:a\"]\n").is_err());
        let e = add_mutator("experimental:\n  python:\n    venv_path: .venv\n").unwrap_err();
        assert!(e.contains("experimental.python"), "{e}");
        assert_eq!(
            add_mutator("python:\n  mutators: [\"bricklint.bundles:check_job\"]\n").unwrap(),
            Outcome::Unchanged
        );
    }

    #[test]
    fn crlf_python_section() {
        let new = mutator_added("python:\r\n  venv_path: .venv\r\n");
        assert!(!new.replace("\r\n", "").contains('\n'), "{new:?}");
    }
}
