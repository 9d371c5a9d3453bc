//! `bricklint plan`: test a For Each job without a cluster.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::plan::iteration::Selection;
use crate::plan::render::{self, PlanFormat};
use crate::plan::submit::{self, SubmitOptions};
use crate::plan::{self, Compute, Durations, InputsOverride, JobPlan, PlanOptions};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Bundle directory (the folder with `databricks.yml`; default: the current directory).
    pub bundle_dir: Option<PathBuf>,
    /// Job to plan: its resource key or its `name:` (default: every job of the bundle).
    #[arg(long)]
    pub job: Option<String>,
    /// JSON file with the For Each inputs (e.g. a payload captured from a real run): an array
    /// for the job's only For Each, or an object of For Each task keys to arrays and of
    /// `tasks.<task>.values.<key>` to the values of upstream task values.
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
    /// Only these iterations of the For Each: `K` (1-based, as the plan numbers them) or a
    /// range `K-M`.
    #[arg(long, value_name = "K|K-M")]
    pub iteration: Option<String>,
    /// Only the iterations whose input has this value (`table=orders`, `meta.day=1`, `input=x`
    /// for scalar inputs); repeatable, all must hold.
    #[arg(long = "where", value_name = "FIELD=VALUE")]
    pub where_: Vec<String>,
    /// The For Each to choose iterations from, by its task key or its nested task's key (when
    /// the jobs have several).
    #[arg(long, value_name = "TASK")]
    pub for_each: Option<String>,
    /// With `--format submit`: where the iterations run: serverless, or
    /// existing-cluster=<id>.
    #[arg(long, default_value = "serverless", value_parser = parse_compute)]
    pub compute: Compute,
    /// With `--format submit`: the workspace folder holding the bundle's files (default: the
    /// bundle's `workspace.file_path` for the target).
    #[arg(long, value_name = "PATH")]
    pub workspace_root: Option<String>,
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Write the plan to a file instead of stdout (`--format submit`: the request, and the
    /// command to submit it is printed).
    #[arg(short, long)]
    pub output_file: Option<PathBuf>,
    /// `--config`, `--target`, `--var`: as for `check` and `migrate`.
    #[command(flatten)]
    pub bundle: super::args::BundleArgs,
}

fn parse_compute(s: &str) -> Result<Compute, String> {
    s.parse()
}

fn err(msg: impl std::fmt::Display) -> ExitCode {
    super::fail(msg)
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = crate::fsutil::read_input_string(path)
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

/// `--iteration` and `--where`.
fn selection(args: &PlanArgs) -> Result<Selection, String> {
    let mut sel = Selection::default();
    if let Some(s) = &args.iteration {
        sel.range = Some(Selection::parse_range(s)?);
    }
    for w in &args.where_ {
        sel.wheres.push(Selection::parse_where(w)?);
    }
    if sel.is_empty() && args.format == PlanFormat::Submit {
        return Err(
            "--format submit runs chosen iterations: give --iteration K or --where FIELD=VALUE"
                .into(),
        );
    }
    Ok(sel)
}

pub fn run(args: PlanArgs) -> ExitCode {
    // The configuration first: its `[limits]` apply to `--inputs` and `--durations`.
    let config = match super::load_config(args.bundle.config.as_ref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (opts, sel) = match options(&args).and_then(|o| Ok((o, selection(&args)?))) {
        Ok(x) => x,
        Err(e) => return err(e),
    };
    let dir = args
        .bundle_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let vars = match args.bundle.var_values() {
        Ok(v) => v,
        Err(e) => return err(e),
    };
    let loaded = match plan::from_bundle::load(&dir, config, args.bundle.target.as_deref(), vars) {
        Ok(l) => l,
        Err(e) => return err(e),
    };
    let jobs = match loaded.select(args.job.as_deref()) {
        Ok(j) => j,
        Err(e) if loaded.findings.is_empty() => return err(e),
        Err(e) => {
            // The job may be in a file that cannot be used: say why, as `check` does.
            let mut stderr = anstream::stderr();
            for f in &loaded.findings {
                let _ = writeln!(stderr, "{f}");
            }
            let _ = err(e);
            return ExitCode::from(1);
        }
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
    let mut plans: Vec<_> = jobs
        .iter()
        .map(|j| plan::plan_job(j, &loaded.facts, &opts))
        .collect();
    let picked = if sel.is_empty() && args.for_each.is_none() {
        None
    } else {
        match plan::iteration::pick_for_each(&plans, args.for_each.as_deref()) {
            Ok(x) => Some(x),
            Err(e) => return err(e),
        }
    };
    if args.format == PlanFormat::Submit {
        let Some((j, f)) = picked else {
            return err("--format submit needs --iteration or --where");
        };
        let sopts = SubmitOptions {
            compute: args.compute.clone(),
            workspace_root: args.workspace_root.clone(),
        };
        return write_submit(&args, &jobs[j], &plans[j], f, &sel, &loaded, &sopts);
    }
    if let Some((j, f)) = picked {
        // Only the chosen For Each (and only its chosen iterations) is shown.
        let p = &mut plans[j];
        let keep = p.for_each.swap_remove(f);
        p.for_each = vec![keep];
        sel.apply(&mut p.for_each[0]);
        let chosen = plans.swap_remove(j);
        plans = vec![chosen];
    }
    let text = render::render(args.format, &plans, &loaded.findings);
    if args.format == PlanFormat::Mermaid {
        let mut stderr = anstream::stderr();
        for f in &loaded.findings {
            let _ = writeln!(stderr, "{f}");
        }
    }
    let out = match crate::output::Sink::open(args.output_file.as_deref()) {
        Ok(s) => s,
        Err(e) => return err(e),
    };
    if let Err(code) = super::emit(out, &text) {
        return code;
    }
    if render::counts(&plans, &loaded.findings).errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `--format submit`: the request to the output file (with the command to run it on stdout) or
/// to stdout (the command on stderr); problems on stderr; exit 1 when the request cannot run as
/// it is.
fn write_submit(
    args: &PlanArgs,
    job: &plan::PlanJob,
    plan: &JobPlan,
    f: usize,
    sel: &Selection,
    loaded: &plan::from_bundle::Loaded,
    sopts: &SubmitOptions,
) -> ExitCode {
    let fe = &plan.for_each[f];
    let req = match submit::submit_request(job, plan, fe, sel, &loaded.facts, sopts) {
        Ok(r) => r,
        Err(e) => return err(e),
    };
    let mut stderr = anstream::stderr();
    for finding in &loaded.findings {
        let _ = writeln!(stderr, "{finding}");
    }
    for p in &req.problems {
        let _ = writeln!(stderr, "{} [{}] {}", p.severity.as_str(), p.kind, p.message);
    }
    let failed = !req.problems.is_empty() || !loaded.findings.is_empty();
    let Some(body) = &req.body else {
        return ExitCode::from(1);
    };
    let mut json = serde_json::to_string_pretty(body).unwrap_or_default();
    json.push('\n');
    let run = |file: &str| format!("databricks jobs submit --json @{file}");
    match &args.output_file {
        Some(p) => {
            if let Err(e) = crate::fsutil::atomic_write(p, json.as_bytes()) {
                return err(format!("cannot write {}: {e}", p.display()));
            }
            let shown = crate::source::display_path(p);
            let mut out = format!(
                "wrote {shown}: runs/submit request for `{}` / `{}`, {}\n",
                plan.job,
                fe.task_key,
                sel.describe()
            );
            for s in &req.summary {
                out.push_str(&format!("  {s}\n"));
            }
            out.push_str(&format!("run it with:\n  {}\n", run(&shown)));
            if let Err(code) = super::emit(crate::output::Sink::stdout(), &out) {
                return code;
            }
        }
        None => {
            if let Err(code) = super::emit(crate::output::Sink::stdout(), &json) {
                return code;
            }
            let _ = writeln!(
                stderr,
                "save this request as a file and run it with: {}",
                run("FILE.json")
            );
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
