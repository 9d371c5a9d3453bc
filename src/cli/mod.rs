//! Command-line interface (clap derive). Every command returns an exit code:
//! 0 clean, 1 findings or pending changes, 2 tool or usage error.

pub mod init;
pub mod payload;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

pub mod migrate;

use crate::config::Config;
use crate::engine::{self, CheckOptions, ReportScope};
use crate::output::{self, OutputFormat, RenderOptions};

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
    /// Configuration file (default: bricklint.toml, .bricklint.toml or pyproject.toml upward).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Bundle target whose overrides apply.
    #[arg(long, short = 't')]
    pub target: Option<String>,
    /// Bundle variable value, `name=value` (repeatable; `a=1,b=2` sets several). Wins over
    /// `BUNDLE_VAR_<name>`, target values and defaults, as in the Databricks CLI.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
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
}

fn eprint_error(msg: impl std::fmt::Display) {
    let _ = writeln!(anstream::stderr(), "bricklint: error: {msg}");
}

pub fn load_config(explicit: Option<&PathBuf>) -> Result<Config, ExitCode> {
    let r = match explicit {
        Some(p) => Config::load_file(p),
        None => Config::discover(&std::env::current_dir().unwrap_or_default()),
    };
    r.map_err(|e| {
        eprint_error(e);
        ExitCode::from(2)
    })
}

/// Open the output destination; colours only on a terminal that wants them.
pub fn open_output(file: Option<&PathBuf>) -> Result<(Box<dyn Write>, bool), ExitCode> {
    match file {
        Some(p) => {
            if let Some(parent) = p.parent().filter(|p| !p.as_os_str().is_empty()) {
                let _ = std::fs::create_dir_all(parent);
            }
            match std::fs::File::create(p) {
                Ok(f) => Ok((Box::new(std::io::BufWriter::new(f)), false)),
                Err(e) => {
                    eprint_error(format!("cannot write {}: {e}", p.display()));
                    Err(ExitCode::from(2))
                }
            }
        }
        None => {
            let color =
                anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never;
            Ok((
                Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
                color,
            ))
        }
    }
}

pub fn run_check(args: CheckArgs) -> ExitCode {
    let config = match load_config(args.config.as_ref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let bundle_schema = match (&args.bundle_schema, &config.bundle_schema) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(p)) => match config.resolve_content_path(p) {
            Ok(p) => Some(p),
            Err(e) => {
                eprint_error(format!("`bundle-schema` of the configuration: {e}"));
                return ExitCode::from(2);
            }
        },
        (None, None) => None,
    };
    let vars = match crate::bundle::parse_var_flags(&args.vars) {
        Ok(v) => v,
        Err(e) => {
            eprint_error(e);
            return ExitCode::from(2);
        }
    };
    let opts = CheckOptions {
        vars,
        paths: args.paths.clone(),
        config,
        select: args.select.clone(),
        extend_select: args.extend_select.clone(),
        ignore: args.ignore.clone(),
        target: args.target.clone(),
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
        Err(e) => {
            eprint_error(e);
            return ExitCode::from(2);
        }
    };
    let mut fixed = 0;
    if args.fix || args.diff {
        match crate::fix::apply_fixes(&opts, &mut result, args.unsafe_fixes, args.diff) {
            Ok(report) => {
                fixed = report.fixed;
                if report.not_converged {
                    eprint_error(format!(
                        "fixes did not converge after {} passes; some fixable findings remain",
                        crate::fix::MAX_PASSES
                    ));
                }
                if args.diff {
                    print!("{}", report.diff);
                    return ExitCode::from(u8::from(report.fixed > 0));
                }
            }
            Err(e) => {
                eprint_error(e);
                return ExitCode::from(2);
            }
        }
    }
    let (mut w, color) = match open_output(args.output_file.as_ref()) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let ropts = RenderOptions {
        color,
        statistics: args.statistics,
        summary: !args.quiet
            && matches!(
                args.output_format,
                OutputFormat::Full | OutputFormat::Concise
            ),
        fixed,
    };
    if let Err(e) =
        output::render(args.output_format, &result, &ropts, &mut w).and_then(|_| w.flush())
    {
        eprint_error(e);
        return ExitCode::from(2);
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

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check(args) => run_check(args),
        Command::Migrate(args) => migrate::run_migrate(args),
        Command::Plan(args) => plan::run(args),
        Command::Rule { rule } => match crate::rules::find(&rule) {
            Some(r) => {
                let m = r.meta();
                println!(
                    "# {} ({})\n\nDefault severity: {}. {}\n\n{}",
                    m.name,
                    m.code,
                    m.severity.as_str(),
                    m.summary,
                    m.doc
                );
                ExitCode::SUCCESS
            }
            None => {
                eprint_error(format!("unknown rule `{rule}` (see `bricklint rules`)"));
                ExitCode::from(2)
            }
        },
        Command::Rules { format } => {
            let rules = crate::rules::all();
            match format {
                ListFormat::Text => {
                    for r in rules {
                        let m = r.meta();
                        println!(
                            "{:<7} {:<40} {}  {}",
                            m.code,
                            m.name,
                            m.severity.letter(),
                            m.summary
                        );
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
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                }
            }
            ExitCode::SUCCESS
        }
        Command::Payload(args) => payload::run(args),
        Command::Init(args) => init::run(args),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "bricklint",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
    }
}
