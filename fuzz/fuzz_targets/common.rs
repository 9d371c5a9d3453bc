//! The whole `check` pipeline over files that exist only in memory (the engine's overlay), in one
//! empty directory made once per fuzzing process.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use bricklint::engine::{self, CheckOptions};

fn root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("bricklint-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        dir.canonicalize().unwrap_or(dir)
    })
}

/// Check a project made of `files` (relative path, text). Every finding must lie inside the
/// file it names.
pub fn check(files: &[(&str, &str)]) {
    let root = root();
    let overlay: BTreeMap<PathBuf, String> = files
        .iter()
        .map(|(rel, text)| (root.join(rel), text.to_string()))
        .collect();
    let texts: BTreeMap<PathBuf, usize> = overlay
        .iter()
        .map(|(p, t)| (p.clone(), t.split('\n').count()))
        .collect();
    let opts = CheckOptions {
        paths: vec![root.clone()],
        overlay: Some(Arc::new(overlay)),
        ..Default::default()
    };
    // A usage error (an unknown target, say) is a fine answer to a hostile bundle.
    let Ok(result) = engine::check(&opts) else {
        return;
    };
    for m in &result.messages {
        if let Some(&lines) = texts.get(m.abs_path.as_path()) {
            let line = m.span.file_line as usize;
            assert!(
                line >= 1 && line <= lines,
                "{}:{line} is past the end ({lines} lines): {} {}",
                m.span.path,
                m.code,
                m.message
            );
        }
    }
}
