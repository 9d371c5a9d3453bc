//! References inside bundle strings:
//! - `{{ namespace.path }}` dynamic value references, resolved by the Jobs service at run time
//!   (DATABRICKS_FACTS.md §1): parsed into segments with byte ranges inside the string, then
//!   checked against the known namespaces and fields;
//! - `${a.b[0].c}` bundle interpolation, resolved by the CLI (`${var.x}`, `${bundle.target}`).
//!
//! Ranges are byte offsets into the string value; map them to the file with
//! [`crate::bundle::Bundle::sub_range`].

use std::ops::Range;

/// One segment of a `{{ }}` path (`tasks`, `` `my task` ``, `values`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The name, without backticks.
    pub name: String,
    /// Byte range in the string (backticks included when quoted).
    pub range: Range<usize>,
    pub quoted: bool,
}

/// A `{{ ... }}` occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynRef {
    /// Byte range of the whole reference, braces included.
    pub range: Range<usize>,
    /// Byte range of the trimmed content between the braces.
    pub inner: Range<usize>,
    pub segments: Vec<Segment>,
    /// Syntax problem (unterminated, empty, invalid characters): the reference is kept as a
    /// literal string by the Jobs service.
    pub syntax_error: Option<String>,
}

/// What a well-formed reference points at (the parts rules care about).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefTarget<'a> {
    /// `{{input}}` or `{{input.a.b}}` (field path).
    Input(&'a [Segment]),
    /// `{{tasks.<t>.values.<k>}}`.
    TaskValue { task: &'a Segment, key: &'a Segment },
    /// `{{tasks.<t>.<field>...}}` other than values.
    TaskField { task: &'a Segment },
    /// `{{job.parameters.<name>}}`.
    JobParameter(&'a Segment),
    /// Anything else.
    Other,
}

impl DynRef {
    pub fn namespace(&self) -> Option<&str> {
        self.segments.first().map(|s| s.name.as_str())
    }
    pub fn target(&self) -> RefTarget<'_> {
        let s = &self.segments;
        match s.first().map(|x| x.name.as_str()) {
            Some("input") => RefTarget::Input(&s[1..]),
            Some("tasks") if s.len() >= 4 && s[2].name == "values" => RefTarget::TaskValue {
                task: &s[1],
                key: &s[3],
            },
            Some("tasks") if s.len() >= 2 => RefTarget::TaskField { task: &s[1] },
            Some("job") if s.len() == 3 && s[1].name == "parameters" => {
                RefTarget::JobParameter(&s[2])
            }
            _ => RefTarget::Other,
        }
    }
    /// The dotted path as written (`tasks.t.values.k`).
    pub fn path(&self) -> String {
        self.segments
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(".")
    }
}

fn is_bare_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Does `s` hold `{{` (a dynamic value reference may start there)? The same answer as
/// `s.contains("{{")` without building a substring searcher: bundles hold tens of thousands of
/// short strings, each asked this.
pub fn has_dynamic(s: &str) -> bool {
    has_before_brace(s, b'{')
}

/// Does `s` hold `${` (an interpolation may start there)? As `s.contains("${")`, see
/// [`has_dynamic`].
pub fn has_interpolation(s: &str) -> bool {
    has_before_brace(s, b'$')
}

fn has_before_brace(s: &str, before: u8) -> bool {
    let b = s.as_bytes();
    memchr::memchr_iter(b'{', b).any(|i| i > 0 && b[i - 1] == before)
}

/// Find every `{{ ... }}` in a string.
pub fn parse_dynamic(s: &str) -> Vec<DynRef> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = s[pos..].find("{{") {
        let start = pos + i;
        let content_start = start + 2;
        let Some(j) = s[content_start..].find("}}") else {
            out.push(DynRef {
                range: start..s.len(),
                inner: content_start..s.len(),
                segments: Vec::new(),
                syntax_error: Some("`{{` is never closed with `}}`".into()),
            });
            break;
        };
        let content_end = content_start + j;
        let end = content_end + 2;
        out.push(parse_one(s, start..end, content_start..content_end));
        pos = end;
    }
    out
}

fn parse_one(s: &str, range: Range<usize>, content: Range<usize>) -> DynRef {
    let raw = &s[content.clone()];
    let lead = raw.len() - raw.trim_start().len();
    let inner = content.start + lead..content.start + raw.trim_end().len().max(lead);
    let mut r = DynRef {
        range,
        inner: inner.clone(),
        segments: Vec::new(),
        syntax_error: None,
    };
    let text = &s[inner.clone()];
    if text.is_empty() {
        r.syntax_error = Some("empty reference `{{ }}`".into());
        return r;
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    loop {
        // One segment.
        let seg_start = i;
        if bytes.get(i) == Some(&b'`') {
            let Some(close) = text[i + 1..].find('`') else {
                r.syntax_error = Some("a backtick-quoted name is never closed".into());
                return r;
            };
            let name = &text[i + 1..i + 1 + close];
            i += close + 2;
            if name.is_empty() {
                r.syntax_error = Some("empty backtick-quoted name".into());
                return r;
            }
            r.segments.push(Segment {
                name: name.to_string(),
                range: inner.start + seg_start..inner.start + i,
                quoted: true,
            });
        } else {
            let len = text[i..]
                .char_indices()
                .find(|(_, c)| !is_bare_char(*c))
                .map(|(k, _)| k)
                .unwrap_or(text.len() - i);
            if len == 0 {
                let c = text[i..].chars().next().unwrap_or(' ');
                r.syntax_error = Some(if i == 0 || c != '.' {
                    format!(
                        "unexpected `{c}`: references are dotted names, not expressions; names with characters other than letters, digits and `_` need backticks"
                    )
                } else {
                    "empty name between dots".into()
                });
                return r;
            }
            r.segments.push(Segment {
                name: text[i..i + len].to_string(),
                range: inner.start + i..inner.start + i + len,
                quoted: false,
            });
            i += len;
        }
        match bytes.get(i) {
            None => break,
            Some(b'.') => {
                i += 1;
                if i == bytes.len() {
                    r.syntax_error = Some("the reference ends with `.`".into());
                    return r;
                }
            }
            Some(_) => {
                let c = text[i..].chars().next().unwrap_or(' ');
                r.syntax_error = Some(format!(
                    "unexpected `{c}`: references are dotted names, not expressions; names with characters other than letters, digits and `_` need backticks"
                ));
                return r;
            }
        }
    }
    r
}

/// Date/time arguments of `{{job.start_time.<arg>}}` and `{{job.trigger.time.<arg>}}`.
pub const TIME_ARGS: &[&str] = &[
    "iso_date",
    "iso_datetime",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "timestamp_ms",
    "iso_weekday",
    "is_weekday",
];

/// Deprecated single-name references (still accepted by the Jobs service).
pub const LEGACY: &[&str] = &[
    "job_id",
    "run_id",
    "start_date",
    "start_time",
    "task_retry_count",
    "parent_run_id",
    "task_key",
];

/// Known namespaces.
pub const NAMESPACES: &[&str] = &["job", "task", "tasks", "workspace", "input", "backfill"];

/// A problem with a well-formed reference: message and the index of the offending segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefProblem {
    pub message: String,
    pub segment: usize,
}

fn problem(segment: usize, message: impl Into<String>) -> Option<RefProblem> {
    Some(RefProblem {
        message: message.into(),
        segment,
    })
}

fn expect_one_of(r: &DynRef, i: usize, what: &str, allowed: &[&str]) -> Option<RefProblem> {
    match r.segments.get(i) {
        None => problem(
            i.saturating_sub(1),
            format!(
                "`{{{{{}}}}}` is incomplete: {what} expects one of {}",
                r.path(),
                list(allowed)
            ),
        ),
        Some(s) if !allowed.contains(&s.name.as_str()) => problem(
            i,
            format!(
                "unknown field `{}` in `{{{{{}}}}}`: {what} has {}{}",
                s.name,
                r.path(),
                list(allowed),
                suggest(&s.name, allowed)
                    .map(|x| format!(" (did you mean `{x}`?)"))
                    .unwrap_or_default()
            ),
        ),
        Some(_) => None,
    }
}

fn too_long(r: &DynRef, i: usize) -> Option<RefProblem> {
    if r.segments.len() > i {
        problem(
            i,
            format!(
                "unexpected `.{}` in `{{{{{}}}}}`",
                r.segments[i].name,
                r.path()
            ),
        )
    } else {
        None
    }
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The closest known name within edit distance 2.
pub fn suggest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (levenshtein(name, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Check a well-formed reference against the known namespaces and fields.
/// Task names, value keys and parameter names are not checked here (they need the job).
pub fn check_dynamic(r: &DynRef) -> Option<RefProblem> {
    if r.syntax_error.is_some() {
        return None;
    }
    let seg = |i: usize| r.segments.get(i).map(|s| s.name.as_str());
    let ns = seg(0)?;
    match ns {
        "job" => {
            let fields = [
                "id",
                "name",
                "run_id",
                "repair_count",
                "parameters",
                "start_time",
                "trigger",
            ];
            if let Some(p) = expect_one_of(r, 1, "`job`", &fields) {
                return Some(p);
            }
            match seg(1) {
                Some("parameters") => {
                    if r.segments.len() < 3 {
                        return problem(0, "`{{job.parameters}}` needs a parameter name: `{{job.parameters.<name>}}`");
                    }
                    too_long(r, 3)
                }
                Some("start_time") => {
                    expect_one_of(r, 2, "`job.start_time`", TIME_ARGS).or_else(|| too_long(r, 3))
                }
                Some("trigger") => {
                    let kinds = ["type", "time", "file_arrival", "table_update"];
                    expect_one_of(r, 2, "`job.trigger`", &kinds).or_else(|| match seg(2) {
                        Some("type") => too_long(r, 3),
                        Some("time") => expect_one_of(r, 3, "`job.trigger.time`", TIME_ARGS)
                            .or_else(|| too_long(r, 4)),
                        Some("file_arrival") => {
                            expect_one_of(r, 3, "`job.trigger.file_arrival`", &["location"])
                                .or_else(|| too_long(r, 4))
                        }
                        // table_update has per-table fields: permissive.
                        _ => None,
                    })
                }
                _ => too_long(r, 2),
            }
        }
        "task" => expect_one_of(
            r,
            1,
            "`task`",
            &["name", "run_id", "execution_count", "notebook_path"],
        )
        .or_else(|| too_long(r, 2)),
        "tasks" => {
            if r.segments.len() < 2 {
                return problem(
                    0,
                    "`{{tasks}}` needs a task name: `{{tasks.<task_key>.values.<key>}}`",
                );
            }
            let fields = ["run_id", "result_state", "error_code", "values", "output"];
            expect_one_of(r, 2, "`tasks.<task>`", &fields).or_else(|| match seg(2) {
                Some("values") => {
                    if r.segments.len() < 4 {
                        problem(
                            2,
                            format!(
                                "`{{{{{}}}}}` needs a key: `{{{{tasks.<task>.values.<key>}}}}`",
                                r.path()
                            ),
                        )
                    } else {
                        too_long(r, 4)
                    }
                }
                Some("output") => {
                    expect_one_of(r, 3, "`tasks.<task>.output`", &["rows", "first_row"]).or_else(
                        || match seg(3) {
                            Some("first_row") => too_long(r, 5),
                            _ => too_long(r, 4),
                        },
                    )
                }
                _ => too_long(r, 3),
            })
        }
        "workspace" => {
            expect_one_of(r, 1, "`workspace`", &["id", "url"]).or_else(|| too_long(r, 2))
        }
        "input" | "backfill" => None,
        legacy if LEGACY.contains(&legacy) && r.segments.len() == 1 => None,
        other => {
            let mut known: Vec<&str> = NAMESPACES.to_vec();
            known.extend(LEGACY);
            problem(
                0,
                format!(
                    "unknown namespace `{other}` in `{{{{{}}}}}` (known: {}){}; the Jobs service would keep it as literal text",
                    r.path(),
                    list(NAMESPACES),
                    suggest(other, &known)
                        .map(|x| format!("; did you mean `{x}`?"))
                        .unwrap_or_default()
                ),
            )
        }
    }
}

// ---- ${ } interpolation ----

/// A `${ ... }` occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpolation {
    /// Byte range of `${...}` in the string.
    pub range: Range<usize>,
    /// The path text between the braces (`var.x`, `resources.jobs.a.id`).
    pub path: String,
    /// Dotted segments without indexes (`["var", "x"]`).
    pub segments: Vec<String>,
    pub syntax_error: Option<String>,
}

impl Interpolation {
    pub fn namespace(&self) -> Option<&str> {
        self.segments.first().map(String::as_str)
    }
    /// `${var.x}` / `${variables.x.value}` names the variable `x`.
    pub fn variable(&self) -> Option<&str> {
        match self.segments.first().map(String::as_str) {
            Some("var") => self.segments.get(1).map(String::as_str),
            Some("variables") => self.segments.get(1).map(String::as_str),
            _ => None,
        }
    }
}

/// Namespaces the CLI resolves in `${ }`.
pub const INTERPOLATION_NAMESPACES: &[&str] = &[
    "bundle",
    "workspace",
    "var",
    "variables",
    "resources",
    "artifacts",
];

fn valid_segment(seg: &str) -> bool {
    // \p{L}+([-_]*[\p{L}\p{N}]+)*
    let mut chars = seg.chars().peekable();
    if !chars.peek().is_some_and(|c| c.is_alphabetic()) {
        return false;
    }
    let mut last_sep = false;
    for c in chars {
        if c == '-' || c == '_' {
            last_sep = true;
        } else if c.is_alphanumeric() {
            last_sep = false;
        } else {
            return false;
        }
    }
    !last_sep
}

/// Find every `${ ... }` in a string.
pub fn parse_interpolations(s: &str) -> Vec<Interpolation> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = s[pos..].find("${") {
        let start = pos + i;
        let Some(j) = s[start + 2..].find('}') else {
            out.push(Interpolation {
                range: start..s.len(),
                path: s[start + 2..].to_string(),
                segments: Vec::new(),
                syntax_error: Some("`${` is never closed with `}`".into()),
            });
            break;
        };
        let end = start + 2 + j + 1;
        // A nested reference `${var.a_${var.b}}`: the CLI's pattern matches the inner
        // `${var.b}` only (libs/dyn/dynvar/ref.go); the outer `${var.a_` is text until the inner
        // one is substituted.
        let start = match s[start + 2..end].rfind("${") {
            Some(k) => start + 2 + k,
            None => start,
        };
        let path = &s[start + 2..end - 1];
        let mut segments = Vec::new();
        let mut err = None;
        for part in path.split('.') {
            // Strip `[N]` indexes.
            let (name, rest) = match part.find('[') {
                Some(k) => (&part[..k], &part[k..]),
                None => (part, ""),
            };
            let indexes_ok = rest.is_empty()
                || rest.split_inclusive(']').all(|x| {
                    x.starts_with('[')
                        && x.ends_with(']')
                        && x[1..x.len() - 1].chars().all(|c| c.is_ascii_digit())
                        && x.len() > 2
                });
            if !valid_segment(name) || !indexes_ok {
                err = Some(format!("`{part}` is not a valid name in `${{{path}}}`"));
                break;
            }
            segments.push(name.to_string());
        }
        out.push(Interpolation {
            range: start..end,
            path: path.to_string(),
            segments,
            syntax_error: err,
        });
        pos = end;
    }
    out
}

/// True when the whole string is exactly one `${...}` (a pure reference, which may replace a
/// non-string value).
pub fn is_pure_interpolation(s: &str) -> bool {
    let v = parse_interpolations(s);
    v.len() == 1 && v[0].range == (0..s.len()) && v[0].syntax_error.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The byte checks answer as `str::contains` does.
        #[test]
        fn reference_checks_equal_contains(s in "[{}$a é]{0,12}") {
            proptest::prop_assert_eq!(has_dynamic(&s), s.contains("{{"));
            proptest::prop_assert_eq!(has_interpolation(&s), s.contains("${"));
        }
    }

    fn one(s: &str) -> DynRef {
        let v = parse_dynamic(s);
        assert_eq!(v.len(), 1, "{s}");
        v.into_iter().next().unwrap()
    }

    #[test]
    fn parses_task_value_with_subspans() {
        let s = "x {{ tasks.load.values.items }} y";
        let r = one(s);
        assert_eq!(&s[r.range.clone()], "{{ tasks.load.values.items }}");
        assert_eq!(r.segments.len(), 4);
        assert_eq!(&s[r.segments[1].range.clone()], "load");
        match r.target() {
            RefTarget::TaskValue { task, key } => {
                assert_eq!(task.name, "load");
                assert_eq!(key.name, "items");
            }
            t => panic!("{t:?}"),
        }
        assert_eq!(check_dynamic(&r), None);
    }

    #[test]
    fn backticks() {
        let s = "{{job.parameters.`param$@`}}";
        let r = one(s);
        assert!(r.syntax_error.is_none());
        assert_eq!(r.segments[2].name, "param$@");
        assert!(r.segments[2].quoted);
        assert_eq!(&s[r.segments[2].range.clone()], "`param$@`");
        assert_eq!(check_dynamic(&r), None);
    }

    #[test]
    fn unknown_field_suggests() {
        let r = one("{{job.naem}}");
        let p = check_dynamic(&r).unwrap();
        assert_eq!(p.segment, 1);
        assert!(p.message.contains("did you mean `name`"), "{}", p.message);
    }

    #[test]
    fn unknown_namespace() {
        let p = check_dynamic(&one("{{jobs.id}}")).unwrap();
        assert_eq!(p.segment, 0);
        assert!(p.message.contains("did you mean `job`"), "{}", p.message);
    }

    #[test]
    fn malformed() {
        assert!(one("{{ len(x) }}").syntax_error.is_some());
        assert!(one("{{job.parameters.my-param}}").syntax_error.is_some());
        assert!(one("{{}}").syntax_error.is_some());
        assert!(one("{{tasks.a.values.}}").syntax_error.is_some());
        assert!(one("{{ input").syntax_error.is_some());
    }

    #[test]
    fn known_references() {
        for s in [
            "{{input}}",
            "{{input.name}}",
            "{{job.id}}",
            "{{job.start_time.iso_date}}",
            "{{job.trigger.time.year}}",
            "{{job.trigger.type}}",
            "{{task.name}}",
            "{{tasks.a.result_state}}",
            "{{tasks.a.output.first_row.col}}",
            "{{workspace.url}}",
            "{{run_id}}",
            "{{backfill.iso_date}}",
        ] {
            assert_eq!(check_dynamic(&one(s)), None, "{s}");
        }
        for s in [
            "{{job.start_time.date}}",
            "{{task.key}}",
            "{{tasks.a.value.k}}",
            "{{tasks.a.values}}",
            "{{workspace.name}}",
            "{{job.id.x}}",
        ] {
            assert!(check_dynamic(&one(s)).is_some(), "{s}");
        }
    }

    #[test]
    fn interpolations() {
        let v = parse_interpolations("a ${var.x} b ${resources.jobs.j.tasks[0].task_key}");
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].variable(), Some("x"));
        assert_eq!(
            v[1].segments,
            ["resources", "jobs", "j", "tasks", "task_key"]
        );
        assert!(v.iter().all(|i| i.syntax_error.is_none()));
        assert!(is_pure_interpolation("${var.n}"));
        assert!(!is_pure_interpolation("x${var.n}"));
        assert!(parse_interpolations("${var.}")[0].syntax_error.is_some());
        assert!(parse_interpolations("${var.x")[0].syntax_error.is_some());
        assert!(parse_interpolations("${var.größe}")[0]
            .syntax_error
            .is_none());
        // Nested: only the inner reference, as the CLI's pattern (libs/dyn/dynvar/ref.go).
        let s = "${var.foo_${var.tail}}";
        let v = parse_interpolations(s);
        assert_eq!(v.len(), 1);
        assert_eq!(&s[v[0].range.clone()], "${var.tail}");
        assert!(v[0].syntax_error.is_none());
    }
}
