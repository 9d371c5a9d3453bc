//! `migrate --explain`: each decision made for a fan-out and why, in the order the planner
//! makes them (found by `check` -> where it sits -> what it runs -> shape -> items and
//! parameters -> settings -> rewrite), or the refusal.

use super::site::Site;
use super::Planner;
use crate::migrate::plan::*;
use crate::source::display_path;

/// What `check` found and where it sits.
pub(super) fn found(p: &Planner<'_>, site: &Site<'_>) -> SiteExplain {
    let sf = p.facts.sites.iter().find(|s| s.fan_out.range == site.range);
    let what = sf.map(|s| s.what.clone()).unwrap_or_default();
    let mut steps = Vec::new();
    if let Some(sf) = sf {
        let rule = if sf.fan_out.kind.is_parallel() {
            "ORC001"
        } else {
            "ORC002"
        };
        steps.push(format!(
            "found: {what} at line {}, which `check` reports ({rule})",
            p.line_at(sf.fan_out.range)
        ));
    }
    if !site.seq.is_empty() {
        let lines: Vec<String> = site
            .seq
            .iter()
            .map(|(c, _)| p.line_of(*c).to_string())
            .collect();
        return SiteExplain {
            line: site.line,
            what: "notebook runs in sequence".into(),
            steps: vec![format!(
                "found: {} notebooks run one after the other at lines {}, which `check` reports (ORC003)",
                lines.len(),
                lines.join(", ")
            )],
        };
    }
    let top_line = p.line_of(&p.body[site.top]);
    match &site.helper {
        Some(h) => steps.push(format!(
            "where: inside function `{h}`, called at line {top_line}; its parameters take that call's arguments"
        )),
        None => steps.push(format!(
            "where: the top-level statement at line {top_line}, which the rewrite replaces"
        )),
    }
    if let Some(sf) = sf {
        let runs: Vec<String> = sf
            .fan_out
            .runs
            .iter()
            .take(3)
            .map(|r| {
                if *r.path == *p.doc.path {
                    format!("line {}", p.line_at(r.call.range))
                } else {
                    display_path(&r.path)
                }
            })
            .collect();
        let more = sf.fan_out.runs.len().saturating_sub(3);
        steps.push(format!(
            "runs: `dbutils.notebook.run` at {}{}",
            runs.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    SiteExplain {
        line: site.line,
        what,
        steps,
    }
}

/// The shape chosen for a site and its settings.
pub(super) fn planned(ex: &mut SiteExplain, fanout: &FanOutPlan, to: TargetShape) {
    let forced = match to {
        TargetShape::ForEach => " (--to for-each)",
        TargetShape::Tasks => " (--to tasks)",
        _ => "",
    };
    match &fanout.kind {
        FanOutKind::ForEach(fe) => for_each(ex, fe, forced, fanout.dispatch.as_str()),
        FanOutKind::Tasks(ts) | FanOutKind::Chain(ts) => {
            let chain = matches!(fanout.kind, FanOutKind::Chain(_));
            ex.steps.push(if chain {
                format!(
                    "shape: one task per notebook{forced}: {} tasks, each depending on the previous one, because the notebooks ran one after the other",
                    ts.len()
                )
            } else {
                format!(
                    "shape: one task per object{forced}: {} tasks, because {}",
                    ts.len(),
                    if forced.is_empty() {
                        "the notebook differs per item, which one For Each cannot express"
                    } else {
                        "--to tasks asks for it"
                    }
                )
            });
            for t in ts {
                let params: Vec<String> = t
                    .parameters
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                ex.steps.push(format!(
                    "task `{}`: runs {}{}",
                    t.task_key,
                    display_path(&t.notebook),
                    if params.is_empty() {
                        String::new()
                    } else {
                        format!(" with {}", params.join(", "))
                    }
                ));
            }
        }
    }
    ex.steps
        .extend(fanout.notes.iter().map(|n| format!("note: {n}")));
}

fn for_each(ex: &mut SiteExplain, fe: &ForEachPlan, forced: &str, dispatch: &str) {
    ex.steps.push(format!(
        "shape: For Each task `{}`{forced}, because every item runs the same notebook, {}",
        fe.task_key,
        display_path(&fe.child)
    ));
    let n = fe
        .items
        .values
        .as_ref()
        .map(|v| format!("{} items", v.len()));
    ex.steps.push(match &fe.items.source {
        ItemsSource::Literal => format!(
            "items: the literal list of the notebook{}",
            n.map(|n| format!(" ({n})")).unwrap_or_default()
        ),
        ItemsSource::ConfigFile(f) => format!(
            "items: read from {}{}",
            display_path(f),
            n.map(|n| format!(" ({n})")).unwrap_or_default()
        ),
        ItemsSource::Dynamic => format!(
            "items: only known at run time: `{}`",
            fe.items.producer_expr
        ),
    });
    for (k, v) in &fe.parameters {
        ex.steps.push(match v {
            ParamValue::Input => format!(
                "parameter `{k}` = \"{{{{input}}}}\": the only argument that varies per item, so each item is that value"
            ),
            ParamValue::InputField(f) => format!(
                "parameter `{k}` = \"{{{{input.{f}}}}}\": it varies per item, with other arguments, so each item is an object with one field per varying argument"
            ),
            ParamValue::Literal(l) => {
                format!("parameter `{k}` = `{l}`: the same for every item")
            }
        });
    }
    ex.steps.push(format!(
        "concurrency: {}, {}",
        fe.concurrency,
        if dispatch == "for loop" || dispatch == "comprehension" {
            "as the loop ran one notebook at a time"
        } else {
            "the pool's size (at most 100)"
        }
    ));
    ex.steps.push(match fe.timeout_seconds {
        Some(t) => format!("timeout_seconds: {t}, the `notebook.run` timeout"),
        None => "timeout_seconds: none, the `notebook.run` timeout was 0 or not static".into(),
    });
    if let Some(r) = fe.max_retries {
        ex.steps.push(format!(
            "max_retries: {r}, from the retries around `notebook.run`"
        ));
    }
    ex.steps
        .push(match crate::migrate::yaml::inline_inputs(fe) {
            Some(json) => format!(
                "inputs: inline in the job ({} characters of JSON; the limit is 10,000)",
                json.len()
            ),
            None => format!(
                "inputs: task value `{}` set by the orchestrator task, because {}",
                fe.value_key,
                if fe.items.source == ItemsSource::Dynamic {
                    "they are only known at run time"
                } else {
                    "they are over 10,000 characters inline"
                }
            ),
        });
}

/// What the rewrite does to the notebook.
pub(super) fn rewrite(p: &Planner<'_>, ex: &mut SiteExplain, fanout: &FanOutPlan, keep: bool) {
    let line = p.doc.resolve(fanout.replace).file_line;
    let value = match &fanout.kind {
        FanOutKind::ForEach(fe) if crate::migrate::yaml::inline_inputs(fe).is_none() => {
            format!(" and the line that sets task value `{}`", fe.value_key)
        }
        _ => String::new(),
    };
    ex.steps.push(format!(
        "rewrite: the statement at line {line} becomes a comment naming the job{value}"
    ));
    if !fanout.remove.is_empty() {
        let lines: Vec<String> = fanout
            .remove
            .iter()
            .map(|r| p.doc.resolve(*r).file_line.to_string())
            .collect();
        ex.steps.push(format!(
            "rewrite: removes the statements at lines {}: only the fan-out used them",
            lines.join(", ")
        ));
    }
    ex.steps.push(if keep {
        "orchestrator task: stays, because it still produces the items or runs other code; the new tasks run after it".into()
    } else if matches!(fanout.kind, FanOutKind::ForEach(_)) {
        "orchestrator task: nothing is left in the notebook, so in the job that runs it the For Each task takes its place and its key".into()
    } else {
        "orchestrator task: only code without effect on the job (imports, definitions, prints) is left in the notebook".into()
    });
}

/// `migrate --explain`: per notebook and fan-out, each decision and why.
pub fn render(result: &crate::migrate::MigrateResult) -> String {
    let mut out = String::new();
    for o in &result.outcomes {
        for ex in &o.plan.explain {
            let what = if ex.what.is_empty() {
                "fan-out"
            } else {
                ex.what.as_str()
            };
            out.push_str(&format!(
                "{}:{}: {what}\n",
                display_path(&o.plan.notebook),
                ex.line
            ));
            for s in &ex.steps {
                out.push_str(&format!("  - {s}\n"));
            }
        }
        // The job edit and what stops the migration are decided per notebook.
        if !o.plan.explain.is_empty() {
            for n in &o.notes {
                out.push_str(&format!("  - job: {n}\n"));
            }
            for b in &o.blocked {
                out.push_str(&format!("  - not applied: {b}\n"));
            }
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}
