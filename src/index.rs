//! Project facts gathered in pass 1, used by cross-file rules (who sets which task value, which
//! widgets a notebook reads, which functions wrap `notebook.run`, `%run` / import edges).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::source::Document;

/// Facts about the whole project. Filled by `ProjectIndex::build`.
#[derive(Debug, Default)]
pub struct ProjectIndex {
    /// Document index by absolute path.
    pub by_path: HashMap<PathBuf, usize>,
    /// Task values, widgets and payloads of every Python document (`src/payload/facts.rs`).
    pub payload: crate::payload::facts::PayloadIndex,
}

impl ProjectIndex {
    pub fn build(documents: &[Arc<Document>], config: &Config) -> Self {
        let by_path = documents
            .iter()
            .enumerate()
            .map(|(i, d)| ((*d.path).clone(), i))
            .collect();
        let payload = crate::payload::facts::PayloadIndex::build(documents, config);
        ProjectIndex { by_path, payload }
    }
}
