//! The project layer: facts about a notebook that rules read across files.
//!
//! - [`facts`]: per-notebook payload facts (task values set and read, `notebook.exit` values,
//!   widgets read and defined), evaluated lazily per document by the Python value interpreter
//!   (`crate::python::value`).
//! - [`xref`]: cross-file links between bundle tasks and those facts (XF001–XF003, FE004).

pub mod facts;
pub mod xref;
