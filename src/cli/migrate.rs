//! `bricklint migrate`: print the plan and diff, or write the migration.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::migrate::{self, Compute, MigrateOptions, TargetShape};

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Notebooks or directories to migrate (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Shape to migrate to: For Each, one task per object, chosen per fan-out, or a one-time
    /// Jobs API runs/submit request (`<notebook>.submit.json`) instead of bundle YAML.
    #[arg(long, value_enum, default_value_t = TargetShape::Auto)]
    pub to: TargetShape,
    /// With `--to submit`: the workspace folder the project is deployed to, for the notebook
    /// paths of the request (default: /Workspace/Shared/<project folder name>).
    #[arg(long, value_name = "PATH")]
    pub workspace_root: Option<String>,
    /// Write the changes (otherwise only the plan and the diff are printed).
    #[arg(long)]
    pub write: bool,
    /// Print the unified diff of the changes (the default without --write).
    #[arg(long)]
    pub diff: bool,
    /// Print only the job YAML of the sites whose job edit was refused (several jobs run the
    /// notebook, a target override the edit cannot keep, ...): one YAML document each, with
    /// the reason and the steps as comments. Writes nothing.
    #[arg(long, conflicts_with_all = ["write", "diff"])]
    pub emit_yaml: bool,
    /// Compute of the generated notebook tasks: serverless, existing-cluster=<id or ${var.x}>,
    /// job-cluster=<key>. Default: the compute of the job task that runs the orchestrator
    /// today, else serverless.
    #[arg(long, value_parser = parse_compute)]
    pub compute: Option<Compute>,
    /// Replace files an earlier `bricklint migrate` generated (never a file it did not write).
    #[arg(long)]
    pub force: bool,
    /// Create a minimal databricks.yml where no bundle exists.
    #[arg(long)]
    pub init_bundle: bool,
    /// `--config`, `--target`, `--var`: as for `check` and `plan`.
    #[command(flatten)]
    pub bundle: super::args::BundleArgs,
    /// Print, per fan-out, each decision of the plan and why (before the plan).
    #[arg(long)]
    pub explain: bool,
}

/// Where a killed run may have left a journal or temporary files: every given directory (or
/// the working directory) and the bundle each path belongs to.
fn recovery_roots(paths: &[PathBuf]) -> Vec<PathBuf> {
    let given: Vec<PathBuf> = if paths.is_empty() {
        vec![std::env::current_dir().unwrap_or_default()]
    } else {
        paths
            .iter()
            .map(|p| crate::discover::absolutize(p))
            .collect()
    };
    let mut out = Vec::new();
    for p in given {
        if let Some(b) = crate::discover::bundle_root_of(&p) {
            out.push(b);
        }
        if p.is_dir() {
            out.push(p);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn parse_compute(s: &str) -> Result<Compute, String> {
    s.parse()
}

pub fn run_migrate(args: MigrateArgs) -> ExitCode {
    let config = match super::load_config(args.bundle.config.as_ref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let vars = match args.bundle.var_values() {
        Ok(v) => v,
        Err(e) => return super::fail(e),
    };
    let opts = MigrateOptions {
        target: args.bundle.target.clone(),
        vars,
        paths: args.paths.clone(),
        to: args.to,
        compute: args.compute.clone(),
        force: args.force,
        init_bundle: args.init_bundle,
        config,
        recheck: true,
        workspace_root: args.workspace_root.clone(),
    };
    // Before anything else: finish migrations a killed run left journalled, and remove stale
    // temporary files (a dry run only reports them).
    let mut text = String::new();
    let recovery = migrate::journal::recover(&recovery_roots(&opts.paths), args.write);
    if !recovery.errors.is_empty() {
        for e in &recovery.errors {
            let _ = super::fail(e);
        }
        return ExitCode::from(2);
    }
    if !recovery.pending.is_empty() {
        for j in &recovery.pending {
            text.push_str(&format!(
                "{}: an interrupted `bricklint migrate --write` is pending; run `bricklint migrate --write` to finish it first\n",
                crate::source::display_path(j)
            ));
        }
        return super::print_then(&text, ExitCode::from(1));
    }
    for (j, n) in &recovery.finished {
        text.push_str(&format!(
            "Finished the interrupted migration of {}: {n} file(s).\n",
            crate::source::display_path(j.parent().and_then(|p| p.parent()).unwrap_or(j))
        ));
    }
    let result = match migrate::plan(&opts) {
        Ok(r) => r,
        Err(e) => {
            return super::fail(e);
        }
    };
    if args.emit_yaml {
        let yaml = migrate::render_manual_yaml(&result);
        if yaml.is_empty() {
            // Nothing on stdout (it may be a file the user pastes from).
            eprintln!("No refused job edit to print: nothing to do by hand.");
            return ExitCode::from(1);
        }
        return super::print_then(&yaml, ExitCode::SUCCESS);
    }
    // Output goes through one sink: a failed write is exit 2 naming the destination, and
    // nothing is written to the project when the plan could not be shown.
    if args.explain {
        text.push_str(&migrate::shape::render_explain(&result));
    }
    text.push_str(&migrate::render_plan(&result));
    let pending = result.pending();
    let blocked = result.outcomes.iter().any(|o| !o.blocked.is_empty());
    if !args.write || args.diff {
        text.push_str(&migrate::render_diff(&result));
    }
    if !args.write {
        if !pending && result.outcomes.iter().all(|o| o.plan.fanouts.is_empty()) {
            text.push_str("Nothing to migrate.\n");
        }
        return super::print_then(&text, ExitCode::from(u8::from(pending || blocked)));
    }
    if let Err(code) = super::emit(crate::output::Sink::stdout(), &text) {
        return code;
    }
    let w = migrate::write(&result);
    let errors = w.errors;
    for e in &errors {
        let _ = super::fail(format!("cannot write {e}"));
    }
    let written = w.files;
    let done = if written > 0 {
        format!("Wrote {written} file(s).\n")
    } else if !blocked {
        "Nothing to migrate.\n".to_string()
    } else {
        String::new()
    };
    let code = if !errors.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::from(u8::from(blocked))
    };
    super::print_then(&done, code)
}
