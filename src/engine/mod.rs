//! The check pipeline: discover -> load (parallel) -> index -> bundles -> rules (parallel) ->
//! suppressions -> resolve -> sort. A panic while analysing one file becomes one diagnostic.
//!
//! - `load`: reading files (BL003) and loading the project (documents, context, index, bundles);
//! - `select`: rule selectors and per-file ignores;
//! - `check`: the analysis pool, the panic guard, rule dispatch, the pipeline;
//! - `report`: suppressions, report scope, span resolution, order.
//!
//! The project and the contexts rules run in live in [`crate::project`]; they are re-exported
//! here for callers of the engine.

mod check;
mod load;
mod report;
mod select;

pub use crate::profile::phase;
pub use crate::project::{
    BundleContext, CheckOptions, DocContext, Project, ProjectContext, ReportScope,
};
pub use check::{
    analysis_pool, check, guarded, is_analysed, run_rules, CheckError, CheckResult,
    ANALYSIS_STACK_BYTES,
};
pub use load::{load_file, load_project, load_text, BL003};
pub use report::{resolve, resolve_span};
pub use select::Selection;
