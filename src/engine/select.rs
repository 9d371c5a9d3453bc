//! Which rules run: rule selectors (`--select`, `--ignore`, the config) and per-file ignores.

use crate::fasthash::HashSet;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSetBuilder};

use crate::config::Config;
use crate::rules::{self, RuleMeta};

use super::CheckError;

/// Parse a rule selector list into a predicate over codes.
pub struct Selection {
    enabled: HashSet<&'static str>,
}

pub(super) fn selector_matches(sel: &str, meta: &RuleMeta) -> bool {
    sel.eq_ignore_ascii_case("ALL")
        || meta.name == sel
        || (!sel.is_empty()
            && meta.code.len() >= sel.len()
            && meta.code[..sel.len()].eq_ignore_ascii_case(sel))
}

fn validate_selectors(list: &[String]) -> Result<(), CheckError> {
    for s in list {
        if !rules::all().iter().any(|r| selector_matches(s, r.meta())) {
            return Err(CheckError::Usage(format!(
                "unknown rule selector `{s}` (see `bricklint rules`)"
            )));
        }
    }
    Ok(())
}

impl Selection {
    pub fn new(
        select: Option<&[String]>,
        extend_select: &[String],
        ignore: &[String],
    ) -> Result<Self, CheckError> {
        let default = ["ALL".to_string()];
        let select = select.unwrap_or(&default);
        validate_selectors(select)?;
        validate_selectors(extend_select)?;
        validate_selectors(ignore)?;
        let enabled = rules::all()
            .iter()
            .map(|r| r.meta())
            .filter(|m| {
                select
                    .iter()
                    .chain(extend_select)
                    .any(|s| selector_matches(s, m))
            })
            .filter(|m| !ignore.iter().any(|s| selector_matches(s, m)))
            .map(|m| m.code)
            .collect();
        Ok(Selection { enabled })
    }
    pub fn is_enabled(&self, code: &str) -> bool {
        self.enabled.contains(code)
    }
}

/// The meta of a reported code (BL003 for a code no rule has).
pub(super) fn meta_of(code: &str) -> &'static RuleMeta {
    rules::find(code).map(|r| r.meta()).unwrap_or(&super::BL003)
}

/// `per-file-ignores`: the codes ignored in the files a pattern matches.
pub(super) struct PerFile {
    set: globset::GlobSet,
    codes: Vec<Vec<String>>,
    root: Option<PathBuf>,
}

impl PerFile {
    pub(super) fn ignored_for(&self, path: &Path, cwd: &Path) -> Vec<String> {
        let base = self.root.as_deref().unwrap_or(cwd);
        let rel = path.strip_prefix(base).unwrap_or(path);
        self.set
            .matches(rel)
            .into_iter()
            .flat_map(|i| self.codes[i].iter().cloned())
            .collect()
    }
}

pub(super) fn per_file_ignores(config: &Config) -> Result<PerFile, CheckError> {
    let mut b = GlobSetBuilder::new();
    let mut codes = Vec::new();
    for (pat, cs) in &config.per_file_ignores {
        validate_selectors(cs)?;
        b.add(Glob::new(pat).map_err(|e| {
            CheckError::Usage(format!("invalid per-file-ignores pattern `{pat}`: {e}"))
        })?);
        codes.push(cs.clone());
    }
    Ok(PerFile {
        set: b.build().map_err(|e| CheckError::Usage(e.to_string()))?,
        codes,
        root: config.root.clone(),
    })
}
