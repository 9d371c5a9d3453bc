//! Small bundles whose outcome is derived from the Databricks CLI's source: each case runs
//! `bricklint check` and cites the Go file (github.com/databricks/cli) it follows.

#[path = "bundle_cli_semantics/vars.rs"]
mod vars;
