//! The notebook loader: any bytes, read as each kind of file bricklint loads (source notebooks of
//! every language, `.ipynb`, plain Python and Scala, bundle YAML), then the Python analysis of
//! the cells and every rule. Nothing may panic (parser panics are findings, caught inside the loader) and every
//! cell range must lie inside the text.
#![no_main]

#[path = "common.rs"]
mod common;

use std::path::PathBuf;
use std::sync::Arc;

use bricklint::source::{Document, FileKind, Lang};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let kinds = [
        ("nb.py", FileKind::SourceNotebook(Lang::Python)),
        ("nb.sql", FileKind::SourceNotebook(Lang::Sql)),
        ("nb.scala", FileKind::SourceNotebook(Lang::Scala)),
        ("nb.r", FileKind::SourceNotebook(Lang::R)),
        ("nb.ipynb", FileKind::Ipynb),
        ("mod.py", FileKind::PythonModule),
        ("x.scala", FileKind::ScalaFile),
    ];
    for (name, kind) in kinds {
        let Ok(doc) = Document::load(Arc::new(PathBuf::from(name)), kind, text.to_string()) else {
            continue;
        };
        for c in &doc.cells {
            assert!(usize::from(c.range.end()) <= doc.text.len());
            assert!(doc.text.is_char_boundary(c.range.start().into()));
            assert!(doc.text.is_char_boundary(c.range.end().into()));
        }
        let _ = doc.python();
    }
    // The rules over the same text as a notebook and as a module.
    common::check(&[("nb.py", text), ("lib/module.py", text)]);
});
