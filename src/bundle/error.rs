//! The problems of loading a bundle, typed: the engine reports each under the rule of its
//! kind.

use std::path::PathBuf;
use std::sync::Arc;

use ruff_text_size::TextRange;

use crate::diagnostic::Severity;

/// What kind of problem a [`LoadError`] is; each kind is reported under one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadErrorKind {
    /// Configuration the CLI rejects while loading: a root that is not a mapping, bad
    /// `include:` entries, unreadable includes, duplicate resource keys (SCH001).
    Config,
    /// YAML that does not parse or breaks an input limit (SCH002).
    InvalidYaml,
    /// A path the configuration names that resolves outside the project, not read (BL004).
    OutsideProject,
    /// A YAML mapping repeats a key; the last value wins, as in the CLI (SCH003).
    DuplicateKey,
}

impl LoadErrorKind {
    /// The code of the rule the problem is reported under.
    pub fn code(self) -> &'static str {
        match self {
            LoadErrorKind::Config => "SCH001",
            LoadErrorKind::InvalidYaml => "SCH002",
            LoadErrorKind::OutsideProject => "BL004",
            LoadErrorKind::DuplicateKey => "SCH003",
        }
    }
}

/// A problem found while loading a bundle, with its place.
#[derive(Debug, Clone)]
pub struct LoadError {
    pub kind: LoadErrorKind,
    pub file: Arc<PathBuf>,
    pub range: TextRange,
    pub message: String,
    /// The YAML route (`include[2]`, `resources.jobs.a`), when there is one.
    pub route: Option<String>,
    pub help: Option<String>,
    /// A severity other than the rule's own (a warning where the CLI only warns).
    pub severity: Option<Severity>,
    /// Related places (file, range, message).
    pub related: Vec<(Arc<PathBuf>, TextRange, String)>,
}

impl LoadError {
    pub fn new(
        kind: LoadErrorKind,
        file: Arc<PathBuf>,
        range: TextRange,
        message: impl Into<String>,
    ) -> Self {
        LoadError {
            kind,
            file,
            range,
            message: message.into(),
            route: None,
            help: None,
            severity: None,
            related: Vec::new(),
        }
    }
    pub fn route(mut self, route: impl Into<String>) -> Self {
        self.route = Some(route.into());
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }
    pub fn related(mut self, file: Arc<PathBuf>, range: TextRange, msg: impl Into<String>) -> Self {
        self.related.push((file, range, msg.into()));
        self
    }
}
