//! The Python semantic model and the orchestration analysis built on it.
//!
//! - [`model`]: scopes, bindings, functions, classes, imports; what names denote (dbutils,
//!   pools, callables) — per source, over ruff's AST.
//! - [`value`]: the Python value domain: values, builtins and the interpreter that evaluates
//!   literal values (paths, timeouts, arguments, pool sizes) and notebook payloads.
//! - [`facts`]: owned per-file orchestration facts (pass 1, kept in the project index).
//! - [`fanout`]: the public description of notebook fan-out used by rules and `migrate`.
//! - [`scala`]: a lexical scan of Scala cells for `Future` / `.par` fan-out.
//! - [`paths`]: resolution of `%run` targets, notebook paths and local imports to files.

pub mod facts;
pub mod fanout;
pub mod model;
pub mod paths;
pub mod scala;
pub mod value;

pub use fanout::{FanOut, FanOutKind, ReachedRun};
pub use model::{CallRef, DbutilsCall, Model};
