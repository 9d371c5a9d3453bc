//! What `bricklint migrate` prints: the plan (per fan-out, what replaces it and why, what
//! could not be done and how to do it by hand) and the unified diff of the pending changes.

use std::fmt::Write as _;

use super::{plan, yaml, MigrateResult, TargetShape};
use crate::source::display_path;

/// The plan as text (what `migrate` prints).
pub fn render_plan(result: &MigrateResult) -> String {
    let mut out = String::new();
    let what = if result.to == TargetShape::Submit {
        "run"
    } else {
        "job"
    };
    for o in &result.outcomes {
        let nb = display_path(&o.plan.notebook);
        for r in &o.plan.refusals {
            let _ = writeln!(
                out,
                "{nb}:{}: cannot migrate automatically: {}",
                r.line, r.reason
            );
        }
        // Where the new tasks go; a refused job edit has no file of its own (the YAML to
        // paste follows).
        let where_ = if o.manual.is_some() {
            "(the job edit is not applied: see below)".to_string()
        } else {
            format!(
                "in {what} `{}` ({})",
                o.plan.job_key,
                display_path(&o.plan.output_file(result.to))
            )
        };
        for f in &o.plan.fanouts {
            match &f.kind {
                plan::FanOutKind::ForEach(fe) => {
                    let inputs = match yaml::inline_inputs(fe) {
                        Some(_) => format!(
                            "inline, {} items",
                            fe.items.values.as_ref().map_or(0, Vec::len)
                        ),
                        None => format!(
                            "task value `{}` set by task `{}` ({})",
                            fe.value_key,
                            o.plan.producer_key,
                            match &fe.items.source {
                                plan::ItemsSource::Literal => "literal list".to_string(),
                                plan::ItemsSource::ConfigFile(p) =>
                                    format!("read from {}", display_path(p)),
                                plan::ItemsSource::Dynamic => "computed at run time".to_string(),
                            }
                        ),
                    };
                    let _ = writeln!(
                        out,
                        "{nb}:{}: {} -> For Each task `{}` {where_}",
                        f.line, f.dispatch, fe.task_key,
                    );
                    let _ = writeln!(out, "  child notebook: {}", display_path(&fe.child));
                    let _ = writeln!(out, "  inputs: {inputs}");
                    let _ = writeln!(
                        out,
                        "  concurrency: {}, timeout_seconds: {}, max_retries: {}",
                        fe.concurrency,
                        fe.timeout_seconds.map_or("none".into(), |t| t.to_string()),
                        fe.max_retries.unwrap_or(0)
                    );
                }
                plan::FanOutKind::Tasks(ts) | plan::FanOutKind::Chain(ts) => {
                    let chain = matches!(f.kind, plan::FanOutKind::Chain(_));
                    let _ = writeln!(
                        out,
                        "{nb}:{}: {} -> {} tasks{} {where_}",
                        f.line,
                        f.dispatch,
                        ts.len(),
                        if chain { ", one after the other," } else { "" },
                    );
                    for (i, t) in ts.iter().enumerate() {
                        let after = match i.checked_sub(1).filter(|_| chain) {
                            Some(p) => format!(" (after `{}`)", ts[p].task_key),
                            None => String::new(),
                        };
                        let _ = writeln!(
                            out,
                            "  task `{}`: {}{after}",
                            t.task_key,
                            display_path(&t.notebook)
                        );
                    }
                }
            }
            for n in &f.notes {
                let _ = writeln!(out, "  note: {n}");
            }
        }
        if let Some(a) = &o.plan.after {
            let _ = writeln!(
                out,
                "  after the fan-out: task `{}` runs {} ({} statement(s) moved there from this notebook)",
                a.task_key,
                display_path(&a.notebook),
                a.moved.len()
            );
        }
        for n in &o.notes {
            let _ = writeln!(out, "  job: {n}");
        }
        for w in &o.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
        for b in &o.blocked {
            let _ = writeln!(out, "  not applied: {b}");
        }
        if let Some(m) = &o.manual {
            let _ = writeln!(out, "  to do it by hand:");
            for l in m.text().lines() {
                let _ = writeln!(out, "    {l}");
            }
        }
    }
    for e in &result.errors {
        let _ = writeln!(out, "warning: skipped {e}");
    }
    out
}

/// `--emit-yaml`: only the YAML of the job changes that were refused (one YAML document per
/// refused job edit, its reason and steps as comments), for a file or a pipe. Empty when no
/// refused site has a computable job YAML.
pub fn render_manual_yaml(result: &MigrateResult) -> String {
    let mut docs = Vec::new();
    for o in &result.outcomes {
        let Some(m) = &o.manual else { continue };
        let mut doc = String::new();
        let nb = display_path(&o.plan.notebook);
        for b in &o.blocked {
            let _ = writeln!(doc, "# {nb}: not applied: {}", one_line(b));
        }
        let _ = writeln!(doc, "# {}", one_line(&m.steps));
        doc.push_str(&m.yaml);
        if !m.then.is_empty() {
            let _ = writeln!(doc, "# {}", one_line(&m.then));
        }
        docs.push(doc);
    }
    docs.join("---\n")
}

/// Text on one line (for a YAML comment).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Unified diff of every pending change.
pub fn render_diff(result: &MigrateResult) -> String {
    let mut out = String::new();
    for c in result.changes() {
        out.push_str(&crate::fix::unified_diff(&c.path, c.old.as_deref(), &c.new));
    }
    out
}
