//! Calls of the Jobs API (SDK, legacy client, REST) from code.

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::TextRange;

use super::*;

impl<'a> Extractor<'_, 'a> {
    pub(super) fn jobs_api(&mut self, c: &'a ast::ExprCall, scope: ScopeId, crange: TextRange) {
        if let Expr::Attribute(a) = &*c.func {
            let method = a.attr.as_str();
            // Launching a run, not defining a job: `jobs.create` / `update` / `reset` in a
            // setup notebook declare a job (what a bundle does), they start nothing.
            if matches!(
                method,
                "submit" | "submit_and_wait" | "run_now" | "run_now_and_wait" | "submit_run"
            ) {
                // w.jobs.submit(...) with w = WorkspaceClient()
                if let Expr::Attribute(jobs) = &*a.value {
                    if jobs.attr.as_str() == "jobs" {
                        if let Some(crate::python::model::Instance::External(q)) =
                            self.m.instance_class(&jobs.value, scope)
                        {
                            if q == "databricks.sdk.WorkspaceClient" {
                                self.f.jobs_api.push(JobsApiCall {
                                    range: crange,
                                    what: format!("WorkspaceClient().jobs.{method}"),
                                });
                                return;
                            }
                        }
                    }
                }
                if let Some(crate::python::model::Instance::External(q)) =
                    self.m.instance_class(&a.value, scope)
                {
                    if q.ends_with("JobsApi") || q.ends_with("JobsAPI") {
                        self.f.jobs_api.push(JobsApiCall {
                            range: crange,
                            what: format!("{}.{method}", q.rsplit('.').next().unwrap_or("")),
                        });
                        return;
                    }
                }
            }
            // REST: requests.post(f"{host}/api/2.1/jobs/runs/submit", ...)
            if matches!(method, "post" | "request" | "get" | "put") {
                let q = self.m.qualname(&a.value, scope);
                let http = matches!(q.as_deref(), Some("requests" | "httpx" | "urllib3"))
                    || self
                        .m
                        .instance_class(&a.value, scope)
                        .is_some_and(|i| matches!(i, crate::python::model::Instance::External(q) if q.starts_with("requests.") || q.starts_with("httpx.")));
                if http {
                    for arg in c
                        .arguments
                        .args
                        .iter()
                        .chain(c.arguments.keywords.iter().map(|k| &k.value))
                    {
                        if let Some(ep) = jobs_endpoint(arg, self.m, scope) {
                            self.f.jobs_api.push(JobsApiCall {
                                range: crange,
                                what: format!("{} {ep}", method.to_ascii_uppercase()),
                            });
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// A Jobs API endpoint mentioned in a URL expression (literal parts of strings / f-strings).
pub(super) fn jobs_endpoint(e: &Expr, m: &Model<'_>, scope: ScopeId) -> Option<String> {
    let mut text = String::new();
    collect_literal_text(e, m, scope, &mut text, 0);
    let i = text.find("/api/2.")?;
    let rest = &text[i..];
    let j = rest.find("/jobs/")?;
    let ep = &rest[j + 1..];
    let ep: String = ep
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'))
        .collect();
    matches!(ep.as_str(), "jobs/runs/submit" | "jobs/run-now")
        .then(|| format!("{}{}", &rest[..j + 1], ep))
}

pub(super) fn collect_literal_text(
    e: &Expr,
    m: &Model<'_>,
    scope: ScopeId,
    out: &mut String,
    d: u32,
) {
    if d > 6 {
        return;
    }
    match e {
        Expr::StringLiteral(s) => out.push_str(s.value.to_str()),
        Expr::FString(f) => eval::fstring_parts(f, &mut |part| match part {
            eval::FStringPart::Literal(l) => out.push_str(l),
            eval::FStringPart::Interpolation(i) => {
                collect_literal_text(&i.expression, m, scope, out, d + 1)
            }
        }),
        Expr::BinOp(b) => {
            collect_literal_text(&b.left, m, scope, out, d + 1);
            collect_literal_text(&b.right, m, scope, out, d + 1);
        }
        Expr::Name(n) => {
            use crate::python::value::Env;
            if let Some(v) = m.env(scope).lookup(n) {
                collect_literal_text(v, m, scope, out, d + 1);
            }
        }
        _ => {}
    }
}
