//! The rule registry: one file per rule, registered in [`ALL`].
//!
//! A rule is a [`RuleMeta`] (code, name, default severity, documentation) plus a [`Rule`]
//! implementation that overrides the hooks for the level it needs (a document, a bundle).
//! The documentation string *is* the rule's documentation (`bricklint rule CODE`), with the
//! sections `## What it does`, `## Why is this bad?`, `## Example` and `## Fix`.

use crate::diagnostic::Diagnostic;
use crate::project::{BundleContext, DocContext, ProjectContext};

pub mod bl001_unused_suppression;
pub mod bl002_invalid_suppression;
pub mod bl003_file_not_analyzable;
pub mod bl004_path_outside_project;
pub mod bl005_migration_interrupted;
pub mod fe001_for_each_concurrency_out_of_range;
pub mod fe002_for_each_nested;
pub mod fe003_for_each_retry_on_parent;
pub mod fe004_for_each_inputs_too_large;
pub mod fe005_for_each_inputs_invalid;
pub mod fe006_for_each_input_unused;
pub mod fe007_for_each_settings_misplaced;
pub mod job001_depends_on_unknown_task;
pub mod job002_task_dependency_cycle;
pub mod job003_task_key_invalid;
pub mod job004_notebook_not_found;
pub mod job005_job_cluster_key_undefined;
pub mod job006_too_many_tasks;
pub mod job007_repeated_notebook_tasks;
pub mod job008_undefined_variable;
pub mod job009_dynamic_reference_invalid;
pub mod nb001_python_syntax_error;
pub mod nb002_bare_magic;
pub mod nb003_notebook_target_not_found;
pub mod orc001_notebook_run_in_thread_pool;
pub mod orc002_notebook_run_in_loop;
pub mod orc003_notebook_run_sequence;
pub mod orc004_jobs_api_from_notebook;
pub mod orc005_thread_pool_oversized;
pub mod orc006_notebook_run_without_timeout;
pub mod orc007_notebook_run_argument_not_string;
pub mod orc008_fan_out_failure_swallowed;
pub mod orc009_notebook_run_dynamic_path;
pub mod res001_resource_reference_invalid;
pub mod res002_resource_file_not_found;
pub mod sch001_bundle_schema_violation;
pub mod sch002_invalid_yaml;
pub mod sch003_yaml_duplicate_key;
pub mod support;
pub mod tv001_task_value_too_large;
pub mod tv002_task_value_not_json;
pub mod tv003_task_value_double_encoded;
pub mod tv004_task_value_key_invalid;
pub mod tv005_task_value_get_without_debug_value;
pub mod tv006_task_value_contract_violation;
pub mod tv007_notebook_exit_too_large;
pub mod var001_variable_without_value;
pub mod var002_variable_reference_cycle;
pub mod var003_variable_expansion_limit;
pub mod var004_reference_field_unknown;
pub mod var005_target_variable_undeclared;
pub mod var006_variable_overrides_invalid;
pub mod var007_variable_in_name_or_key;
pub mod xf001_task_value_reference_unresolved;
pub mod xf002_notebook_parameter_mismatch;
pub mod xf003_duplicate_orchestration;

pub use crate::diagnostic::RuleMeta;

/// A rule's checks. Override the hooks you need; the others do nothing.
pub trait Rule: Sync + Send {
    fn meta(&self) -> &'static RuleMeta;
    /// Every loaded source document (notebooks of all formats, Python modules, Scala files).
    fn check_document(&self, _ctx: &DocContext<'_>, _out: &mut Vec<Diagnostic>) {}
    /// Does this rule need `doc`'s syntax tree? The engine parses a document only when the
    /// orchestration index, a command-line path or an enabled rule needs it (most files of a
    /// repository have nothing for bricklint and are never parsed). Answer from a cheap scan
    /// (`doc.mentions`), never by parsing.
    fn wants_parse(&self, _doc: &crate::source::Document) -> bool {
        false
    }
    /// Every bundle (root `databricks.yml` with includes, merged for the selected target).
    fn check_bundle(&self, _ctx: &BundleContext<'_>, _out: &mut Vec<Diagnostic>) {}
    /// Once per run, with the whole project (cross-file checks that are not per bundle).
    fn check_project(&self, _ctx: &ProjectContext<'_>, _out: &mut Vec<Diagnostic>) {}
}

/// Every rule, in catalog order.
pub fn all() -> &'static [&'static dyn Rule] {
    static ALL: &[&dyn Rule] = &[
        &orc001_notebook_run_in_thread_pool::NotebookRunInThreadPool,
        &orc002_notebook_run_in_loop::NotebookRunInLoop,
        &orc003_notebook_run_sequence::NotebookRunSequence,
        &orc004_jobs_api_from_notebook::JobsApiFromNotebook,
        &orc005_thread_pool_oversized::ThreadPoolOversized,
        &orc006_notebook_run_without_timeout::NotebookRunWithoutTimeout,
        &orc007_notebook_run_argument_not_string::NotebookRunArgumentNotString,
        &orc008_fan_out_failure_swallowed::FanOutFailureSwallowed,
        &orc009_notebook_run_dynamic_path::NotebookRunDynamicPath,
        &tv001_task_value_too_large::TaskValueTooLarge,
        &tv002_task_value_not_json::TaskValueNotJson,
        &tv003_task_value_double_encoded::TaskValueDoubleEncoded,
        &tv004_task_value_key_invalid::TaskValueKeyInvalid,
        &tv005_task_value_get_without_debug_value::TaskValueGetWithoutDebugValue,
        &tv006_task_value_contract_violation::TaskValueContractViolation,
        &tv007_notebook_exit_too_large::NotebookExitTooLarge,
        &fe001_for_each_concurrency_out_of_range::ForEachConcurrencyOutOfRange,
        &fe002_for_each_nested::ForEachNested,
        &fe003_for_each_retry_on_parent::ForEachRetryOnParent,
        &fe004_for_each_inputs_too_large::ForEachInputsTooLarge,
        &fe005_for_each_inputs_invalid::ForEachInputsInvalid,
        &fe006_for_each_input_unused::ForEachInputUnused,
        &fe007_for_each_settings_misplaced::ForEachSettingsMisplaced,
        &job001_depends_on_unknown_task::DependsOnUnknownTask,
        &job002_task_dependency_cycle::TaskDependencyCycle,
        &job003_task_key_invalid::TaskKeyInvalid,
        &job004_notebook_not_found::NotebookNotFound,
        &job005_job_cluster_key_undefined::JobClusterKeyUndefined,
        &job006_too_many_tasks::TooManyTasks,
        &job007_repeated_notebook_tasks::RepeatedNotebookTasks,
        &job008_undefined_variable::UndefinedVariable,
        &job009_dynamic_reference_invalid::DynamicReferenceInvalid,
        &var001_variable_without_value::VariableWithoutValue,
        &var002_variable_reference_cycle::VariableReferenceCycle,
        &var003_variable_expansion_limit::VariableExpansionLimit,
        &var004_reference_field_unknown::ReferenceFieldUnknown,
        &var005_target_variable_undeclared::TargetVariableUndeclared,
        &var006_variable_overrides_invalid::VariableOverridesInvalid,
        &var007_variable_in_name_or_key::VariableInNameOrKey,
        &res001_resource_reference_invalid::ResourceReferenceInvalid,
        &res002_resource_file_not_found::ResourceFileNotFound,
        &xf001_task_value_reference_unresolved::TaskValueReferenceUnresolved,
        &xf002_notebook_parameter_mismatch::NotebookParameterMismatch,
        &xf003_duplicate_orchestration::DuplicateOrchestration,
        &nb001_python_syntax_error::PythonSyntaxError,
        &nb002_bare_magic::BareMagic,
        &nb003_notebook_target_not_found::NotebookTargetNotFound,
        &sch001_bundle_schema_violation::BundleSchemaViolation,
        &sch002_invalid_yaml::InvalidYaml,
        &sch003_yaml_duplicate_key::YamlDuplicateKey,
        &bl001_unused_suppression::UnusedSuppression,
        &bl002_invalid_suppression::InvalidSuppression,
        &bl003_file_not_analyzable::FileNotAnalyzable,
        &bl004_path_outside_project::PathOutsideProject,
        &bl005_migration_interrupted::MigrationInterrupted,
    ];
    ALL
}

/// Find a rule by code or name (case-insensitive code).
pub fn find(code_or_name: &str) -> Option<&'static dyn Rule> {
    all()
        .iter()
        .copied()
        .find(|r| r.meta().code.eq_ignore_ascii_case(code_or_name) || r.meta().name == code_or_name)
}

/// The diagnostic of a bundle load problem, under the rule of its kind
/// ([`crate::bundle::LoadErrorKind::code`]).
pub fn load_diagnostic(e: crate::bundle::LoadError) -> Diagnostic {
    let meta = find(e.kind.code())
        .map(|r| r.meta())
        .unwrap_or(&crate::rules::sch001_bundle_schema_violation::META);
    let mut d = Diagnostic::new(meta, e.file, e.range, e.message);
    if let Some(r) = e.route {
        d = d.route(r);
    }
    for (file, range, msg) in e.related {
        d = d.related(file, range, msg);
    }
    if let Some(h) = e.help {
        d = d.help(h);
    }
    if let Some(s) = e.severity {
        d = d.severity(s);
    }
    d
}
