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
}

impl ProjectIndex {
    pub fn build(documents: &[Arc<Document>], _config: &Config) -> Self {
        let by_path = documents
            .iter()
            .enumerate()
            .map(|(i, d)| ((*d.path).clone(), i))
            .collect();
        ProjectIndex { by_path }
    }
}
