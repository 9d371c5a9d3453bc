//! `bricklint plan`: test a For Each job without a cluster.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::plan::render::{self, PlanFormat};
use crate::plan::{self, Durations, InputsOverride, PlanOptions};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Bundle directory (the folder with `databricks.yml`; default: the current directory).
    pub bundle_dir: Option<PathBuf>,
    /// Job to plan: its resource key or its `name:` (default: every job of the bundle).
    #[arg(long)]
    pub job: Option<String>,
    /// Bundle target whose overrides and variables apply (default: the `default: true` target).
    #[arg(long, short = 't')]
    pub target: Option<String>,
    /// JSON file with the For Each inputs (e.g. a payload captured from a real run): an array
    /// for the job's only For Each, or an object of For Each task keys to arrays.
    #[arg(long, value_name = "FILE.json")]
    pub inputs: Option<PathBuf>,
    /// Seconds one iteration takes, to estimate wall time.
    #[arg(long, value_name = "SECONDS", conflicts_with = "durations")]
    pub duration: Option<f64>,
    /// JSON file of durations in seconds: a number, an array (one per iteration, in input
    /// order), or an object of For Each task keys to either.
    #[arg(long, value_name = "FILE.json")]
    pub durations: Option<PathBuf>,
    /// Size of the driver ThreadPool the For Each replaces (default: the For Each concurrency).
    #[arg(long, value_name = "N")]
    pub pool_size: Option<usize>,
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Write the plan to a file instead of stdout.
    #[arg(short, long)]
    pub output_file: Option<PathBuf>,
    /// Configuration file (default: found upward from the current directory).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

fn err(msg: impl std::fmt::Display) -> ExitCode {
    let _ = writeln!(anstream::stderr(), "bricklint: error: {msg}");
    ExitCode::from(2)
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: invalid JSON: {e}", path.display()))
}

/// Options from the command line (files read and checked).
pub fn options(args: &PlanArgs) -> Result<PlanOptions, String> {
    let inputs = match &args.inputs {
        Some(p) => Some(InputsOverride::from_json(
            &crate::source::display_path(p),
            read_json(p)?,
        )?),
        None => None,
    };
    let durations = match (&args.duration, &args.durations) {
        (Some(s), _) if !s.is_finite() || *s < 0.0 => {
            return Err(format!("--duration must be a non-negative number, got {s}"))
        }
        (Some(s), _) => Some(Durations::uniform(*s)),
        (None, Some(p)) => Some(
            Durations::from_json(&read_json(p)?).map_err(|e| format!("{}: {e}", p.display()))?,
        ),
        (None, None) => None,
    };
    if args.pool_size == Some(0) {
        return Err("--pool-size must be at least 1".into());
    }
    Ok(PlanOptions {
        inputs,
        durations,
        pool_size: args.pool_size,
    })
}

pub fn run(args: PlanArgs) -> ExitCode {
    let opts = match options(&args) {
        Ok(o) => o,
        Err(e) => return err(e),
    };
    let config = match super::load_config(args.config.as_ref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let dir = args
        .bundle_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let loaded = match plan::from_bundle::load(&dir, config, args.target.as_deref()) {
        Ok(l) => l,
        Err(e) => return err(e),
    };
    let jobs = match loaded.select(args.job.as_deref()) {
        Ok(j) => j,
        Err(e) => return err(e),
    };
    let with_for_each = jobs
        .iter()
        .filter(|j| {
            j.tasks
                .iter()
                .any(|t| matches!(t.kind, plan::TaskKind::ForEach { .. }))
        })
        .count();
    if opts.inputs.is_some() && with_for_each > 1 {
        return err(format!(
            "--inputs: {with_for_each} jobs have For Each tasks; choose one with --job"
        ));
    }
    let plans: Vec<_> = jobs
        .iter()
        .map(|j| plan::plan_job(j, &loaded.facts, &opts))
        .collect();
    let text = render::render(args.format, &plans);
    let (mut w, _color) = match super::open_output(args.output_file.as_ref()) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if let Err(e) = w.write_all(text.as_bytes()).and_then(|_| w.flush()) {
        return err(e);
    }
    if render::counts(&plans).errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
