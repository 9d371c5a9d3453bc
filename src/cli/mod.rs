//! Command-line interface (clap derive). Every command returns an exit code:
//! 0 clean, 1 findings or pending changes, 2 tool or usage error.

pub mod args;
pub mod init;
pub mod payload;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

pub mod migrate;

use crate::config::Config;
use crate::engine::{self, CheckOptions, ReportScope};
use crate::output::{self, OutputFormat, RenderOptions, Sink};

pub mod plan;

#[derive(Debug, Parser)]
#[command(
    name = "bricklint",
    version,
    about = "Static analyzer, migration tool and bundle companion for Databricks notebook fan-out",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lint notebooks, Python modules and bundle YAML.
    Check(CheckArgs),
    /// Rewrite driver fan-out into For Each / per-object task bundle resources.
    Migrate(migrate::MigrateArgs),
    /// Print the documentation of a rule.
    Rule {
        /// Rule code (ORC001) or name (notebook-run-in-thread-pool).
        rule: String,
    },
    /// List every rule.
    Rules {
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    Payload(payload::PayloadArgs),
    /// Test a For Each job without a cluster: task graph, iterations, parameters, waves.
    Plan(plan::PlanArgs),
    /// Wire bricklint into a bundle's databricks.yml (`experimental.scripts`) and print CI snippets.
    Init(init::InitArgs),
    /// Language Server over stdio: findings as you type in VS Code, Neovim, Helix, Zed, ...
    Server,
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or directories to check (default: the current directory).
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Full, env = "BRICKLINT_OUTPUT_FORMAT")]
    pub output_format: OutputFormat,
    /// Write the output to a file instead of stdout.
    #[arg(short, long)]
    pub output_file: Option<PathBuf>,
    /// Rules to enable (codes, names, prefixes or ALL); replaces the configured selection.
    #[arg(long, value_delimiter = ',')]
    pub select: Option<Vec<String>>,
    /// Rules to disable.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Rules to enable on top of the selection.
    #[arg(long, value_delimiter = ',')]
    pub extend_select: Vec<String>,
    /// Apply safe fixes.
    #[arg(long)]
    pub fix: bool,
    /// Also apply unsafe fixes (with --fix or --diff).
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Print the diff of the fixes instead of writing them.
    #[arg(long)]
    pub diff: bool,
    /// Print counts per rule instead of the findings.
    #[arg(long)]
    pub statistics: bool,
    /// Exit 0 even when there are findings.
    #[arg(long)]
    pub exit_zero: bool,
    /// Apply exclusions to files given explicitly too (for pre-commit).
    #[arg(long)]
    pub force_exclude: bool,
    /// `--config`, `--target`, `--var`: as for `plan` and `migrate`.
    #[command(flatten)]
    pub bundle: args::BundleArgs,
    /// With explicit files: report only their findings (files, default) or the whole bundle's.
    #[arg(long, value_enum, default_value_t = ReportScope::Files)]
    pub report_scope: ReportScope,
    /// Ignore `bricklint: ignore[...]` comments.
    #[arg(long)]
    pub no_ignores: bool,
    /// Official bundle JSON schema (`databricks bundle schema > schema.json`) to validate with.
    #[arg(long)]
    pub bundle_schema: Option<PathBuf>,
    /// Hide the summary line.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Check the configuration `databricks bundle validate --output json` resolved (a file, or
    /// `-` for stdin) instead of the bundle's YAML; notebooks are still read from the repository.
    #[arg(long, value_name = "FILE|-")]
    pub resolved_bundle: Option<PathBuf>,
}

/// Report a tool or usage error (`bricklint: error: ...` on stderr) and return exit code 2. Every
/// command reports its errors through this.
pub fn fail(msg: impl std::fmt::Display) -> ExitCode {
    let _ = writeln!(anstream::stderr(), "bricklint: error: {msg}");
    ExitCode::from(2)
}

/// A warning that does not stop the command (`bricklint: warning: ...` on stderr).
pub fn warn(msg: impl std::fmt::Display) {
    let _ = writeln!(anstream::stderr(), "bricklint: warning: {msg}");
}

pub fn load_config(explicit: Option<&PathBuf>) -> Result<Config, ExitCode> {
    let r = match explicit {
        Some(p) => Config::load_file(p),
        None => Config::discover(&std::env::current_dir().unwrap_or_default()),
    };
    let c = r.map_err(fail)?;
    check_selectors(&c).map_err(fail)?;
    // Every input named on the command line or in the configuration is read with this limit.
    crate::fsutil::set_input_limit(c.limits.max_file_bytes);
    Ok(c)
}

/// Every rule selector of the configuration names a rule (or a prefix, or ALL); an unknown one is
/// reported at its position in the config file.
fn check_selectors(c: &Config) -> Result<(), String> {
    let lists = [
        ("select", c.select.as_deref().unwrap_or_default()),
        ("extend-select", &c.extend_select[..]),
        ("ignore", &c.ignore[..]),
    ];
    let per_file = c
        .per_file_ignores
        .iter()
        .map(|(pat, codes)| (format!("per-file-ignores.{pat}"), &codes[..]));
    let lists = lists
        .into_iter()
        .map(|(f, l)| (f.to_string(), l))
        .chain(per_file);
    for (field, list) in lists {
        for sel in list {
            let one = std::slice::from_ref(sel);
            if engine::Selection::new(Some(one), &[], &[]).is_err() {
                let at = c
                    .locate(&field, sel)
                    .map(|l| format!("{l}: "))
                    .unwrap_or_default();
                return Err(format!(
                    "{at}unknown rule selector `{sel}` in `{}` (see `bricklint rules`)",
                    field.split('.').next().unwrap_or(&field)
                ));
            }
        }
    }
    Ok(())
}

/// Write `text` to `out` and flush it; a failure is reported (naming the destination) as exit 2.
pub fn emit(mut out: Sink, text: &str) -> Result<(), ExitCode> {
    out.write_str(text).and_then(|_| out.finish()).map_err(fail)
}

/// Write `text` to stdout (see [`emit`]); `code` when that worked, 2 when it did not.
pub fn print_then(text: &str, code: ExitCode) -> ExitCode {
    match emit(Sink::stdout(), text) {
        Ok(()) => code,
        Err(e) => e,
    }
}

pub fn run_check(args: CheckArgs) -> ExitCode {
    let config = match load_config(args.bundle.config.as_ref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let bundle_schema = match (&args.bundle_schema, &config.bundle_schema) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(p)) => match config.resolve_content_path(p) {
            Ok(p) => Some(p),
            Err(e) => return fail(format!("`bundle-schema` of the configuration: {e}")),
        },
        (None, None) => None,
    };
    // A schema named by the user that cannot be read or compiled is a usage error (exit 2), not
    // a finding; the rule finds it compiled in the cache.
    if let Some(p) = &bundle_schema {
        if let Err(e) = crate::bundle::schema::load_schema(p) {
            return fail(e);
        }
    }
    let vars = match args.bundle.var_values() {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let resolved_bundle = match args.resolved_bundle.as_deref() {
        Some(p) => match crate::bundle::resolved::ResolvedSource::read(p) {
            Ok(r) => Some(std::sync::Arc::new(r)),
            Err(e) => return fail(e),
        },
        None => None,
    };
    let opts = CheckOptions {
        resolved_bundle,
        vars,
        paths: args.paths.clone(),
        config,
        select: args.select.clone(),
        extend_select: args.extend_select.clone(),
        ignore: args.ignore.clone(),
        target: args.bundle.target.clone(),
        report_scope: args.report_scope,
        no_ignores: args.no_ignores,
        force_exclude: args.force_exclude,
        bundle_schema,
        // Fixes write notebooks back: they keep the JSON.
        drop_notebook_json: !(args.fix || args.diff),
        overlay: None,
    };
    let mut result = match engine::check(&opts) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let mut fixed = 0;
    if args.fix || args.diff {
        match crate::fix::apply_fixes(&opts, &mut result, args.unsafe_fixes, args.diff) {
            Ok(report) => {
                fixed = report.fixed;
                if report.not_converged {
                    let _ = fail(format!(
                        "fixes did not converge after {} passes; some fixable findings remain",
                        crate::fix::MAX_PASSES
                    ));
                }
                if args.diff {
                    return print_then(&report.diff, ExitCode::from(u8::from(report.fixed > 0)));
                }
            }
            Err(e) => return fail(e),
        }
    }
    let mut out = match Sink::open(args.output_file.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let ropts = RenderOptions {
        color: out.color(),
        statistics: args.statistics,
        summary: !args.quiet
            && matches!(
                args.output_format,
                OutputFormat::Full | OutputFormat::Concise
            ),
        fixed,
    };
    if let Err(e) = out
        .with(|w| output::render(args.output_format, &result, &ropts, w))
        .and_then(|_| out.finish())
    {
        return fail(e);
    }
    engine::phase("output");
    let code = if result.messages.is_empty() || args.exit_zero {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    // The process exits next: freeing every document and syntax tree one by one would only cost
    // time (about 5% of a run).
    std::mem::forget(result);
    code
}

/// `bricklint rule CODE`.
fn run_rule(rule: &str) -> ExitCode {
    let Some(r) = crate::rules::find(rule) else {
        return fail(format!("unknown rule `{rule}` (see `bricklint rules`)"));
    };
    let m = r.meta();
    let text = format!(
        "# {} ({})\n\nDefault severity: {}. {}\n\n{}\n",
        m.name,
        m.code,
        m.severity.as_str(),
        m.summary,
        m.doc
    );
    print_then(&text, ExitCode::SUCCESS)
}

/// `bricklint rules`.
fn run_rules(format: ListFormat) -> ExitCode {
    let rules = crate::rules::all();
    let mut text = String::new();
    match format {
        ListFormat::Text => {
            for r in rules {
                let m = r.meta();
                text.push_str(&format!(
                    "{:<7} {:<40} {}  {}\n",
                    m.code,
                    m.name,
                    m.severity.letter(),
                    m.summary
                ));
            }
        }
        ListFormat::Json => {
            let v: Vec<_> = rules
                .iter()
                .map(|r| {
                    let m = r.meta();
                    serde_json::json!({
                        "code": m.code, "name": m.name, "severity": m.severity.as_str(),
                        "summary": m.summary, "fixable": m.fixable,
                        "url": crate::diagnostic::rule_url(m.code), "doc": m.doc,
                    })
                })
                .collect();
            text = serde_json::to_string_pretty(&v).unwrap_or_default();
            text.push('\n');
        }
    }
    print_then(&text, ExitCode::SUCCESS)
}

/// `bricklint completions SHELL`.
fn run_completions(shell: clap_complete::Shell) -> ExitCode {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "bricklint", &mut buf);
    print_then(&String::from_utf8_lossy(&buf), ExitCode::SUCCESS)
}

pub fn run(cli: Cli) -> ExitCode {
    if crate::fsutil::panic_injected() {
        panic!("fault injected ({}=panic)", crate::fsutil::FAULT_ENV);
    }
    match cli.command {
        Command::Check(args) => run_check(args),
        Command::Migrate(args) => migrate::run_migrate(args),
        Command::Plan(args) => plan::run(args),
        Command::Rule { rule } => run_rule(&rule),
        Command::Rules { format } => run_rules(format),
        Command::Payload(args) => payload::run(args),
        Command::Init(args) => init::run(args),
        Command::Server => match crate::server::run() {
            Ok(code) => ExitCode::from(code),
            Err(e) => fail(format!("server: {e}")),
        },
        Command::Completions { shell } => run_completions(shell),
    }
}

/// The binary's entry: parse the command line, then run the command on a thread whose stack
/// holds the deepest nesting `[limits] max-nesting` allows (rayon's threads get the same stack),
/// and turn a panic that escaped every per-file guard into an exit-2 message asking for a bug
/// report (never a Rust backtrace, never exit code 101).
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    panics::install_hook();
    let stack = crate::config::THREAD_STACK_BYTES;
    // Fails only when a pool exists already (a test calling `main` twice): keep that one.
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(stack)
        .thread_name(|i| format!("bricklint-pool-{i}"))
        .build_global();
    let worker = std::thread::Builder::new()
        .name("bricklint".into())
        .stack_size(stack)
        .spawn(move || panics::guard(|| run(cli)));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => fail(panics::report(None)),
        Err(e) => fail(format!("cannot start the main thread: {e}")),
    }
}

/// Panics that escape the per-file guards.
mod panics {
    use std::process::ExitCode;
    use std::sync::Mutex;

    /// The last few panics seen (message and location), newest last.
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

    /// Record every panic instead of printing it: a panic caught by a per-file guard becomes a
    /// finding, one that is not becomes [`report`]'s message.
    pub fn install_hook() {
        std::panic::set_hook(Box::new(|info| {
            let msg = payload_text(info.payload());
            let at = info
                .location()
                .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            if let Ok(mut seen) = SEEN.lock() {
                if seen.len() >= 8 {
                    seen.remove(0);
                }
                seen.push(format!("{msg}{at}"));
            }
        }));
    }

    pub fn payload_text(p: &(dyn std::any::Any + Send)) -> String {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into())
    }

    /// Run `f`; a panic becomes the exit-2 message of [`report`].
    pub fn guard(f: impl FnOnce() -> ExitCode) -> ExitCode {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            Ok(code) => code,
            Err(p) => super::fail(report(Some(payload_text(&*p)))),
        }
    }

    /// The message for a panic that reached the top: the newest panic recorded outside the
    /// standard library (a panic in a scoped or pool thread is re-raised from `std`), or the
    /// payload.
    pub fn report(payload: Option<String>) -> String {
        let seen = SEEN.lock().map(|s| s.clone()).unwrap_or_default();
        let in_std = |s: &&String| s.contains("library/std/") || s.contains("library/core/");
        let what = payload
            .as_ref()
            .and_then(|p| {
                seen.iter()
                    .rev()
                    .find(|s| s.starts_with(p.as_str()) && !in_std(s))
            })
            .or_else(|| seen.iter().rev().find(|s| !in_std(s)))
            .cloned()
            .or(payload)
            .or_else(|| seen.last().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        format!(
            "internal error: {what}\n  This is a bug in bricklint {}: please report it at \
             https://github.com/bricklint/bricklint/issues with the command you ran (and, if you \
             can, the files it read).",
            env!("CARGO_PKG_VERSION")
        )
    }
}
