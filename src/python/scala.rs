//! A lexical scan of Scala cells (`.scala` notebooks and files, `%scala` cells) for notebook
//! fan-out: `Future { ... dbutils.notebook.run(...) ... }` and parallel collections
//! (`xs.par.map { ... }`, `.par.foreach`), directly or through a `def` of the same source that
//! calls `dbutils.notebook.run` (the `NotebookData` / `parallelNotebooks` sample).
//!
//! Comments and string literals are masked before matching, so `notebook.run` in a comment or
//! a string is not a call.

use std::collections::HashMap;

use ruff_text_size::{TextRange, TextSize};

use super::facts::{ExprDesc, RunCall};
use super::value::Value;
use crate::source::{Document, Lang};

/// A virtual text of the Scala cells with a map back to the document.
struct Virtual {
    text: String,
    masked: Vec<u8>,
    map: Vec<(usize, usize)>,
}

impl Virtual {
    fn to_doc(&self, v: usize) -> TextSize {
        let i = self.map.partition_point(|(vs, _)| *vs <= v);
        let (vs, ds) = if i == 0 { (0, 0) } else { self.map[i - 1] };
        TextSize::new((ds + (v - vs)) as u32)
    }
    fn range(&self, s: usize, e: usize) -> TextRange {
        let a = self.to_doc(s);
        let b = self.to_doc(e.max(s));
        TextRange::new(a, b.max(a))
    }
}

fn build(doc: &Document) -> Option<Virtual> {
    let mut text = String::new();
    let mut map = Vec::new();
    for c in doc.cells.iter().filter(|c| c.lang == Lang::Scala) {
        for l in c.lines.iter(&doc.text) {
            map.push((text.len(), usize::from(l.start())));
            text.push_str(&doc.text[l]);
            text.push('\n');
        }
    }
    if text.is_empty() || memchr::memmem::find(text.as_bytes(), b"notebook").is_none() {
        return None;
    }
    let masked = mask(&text);
    Some(Virtual { text, masked, map })
}

/// Replace comments and string contents with spaces (keeping the quotes and newlines).
fn mask(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                out[i] = b' ';
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            while i < b.len() && !b[i..].starts_with(b"*/") {
                if b[i] != b'\n' {
                    out[i] = b' ';
                }
                i += 1;
            }
            for o in out.iter_mut().take((i + 2).min(b.len())).skip(i) {
                *o = b' ';
            }
            i += 2;
        } else if b[i..].starts_with(b"\"\"\"") {
            i += 3;
            while i < b.len() && !b[i..].starts_with(b"\"\"\"") {
                if b[i] != b'\n' {
                    out[i] = b' ';
                }
                i += 1;
            }
            i += 3;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    out[i] = b' ';
                    i += 1;
                }
                out[i] = b' ';
                i += 1;
            }
            i += 1;
        } else {
            i += 1;
        }
    }
    out
}

/// The index after the bracket matching the one at `open`.
fn matching(m: &[u8], open: usize) -> Option<usize> {
    let (o, c) = match m.get(open)? {
        b'{' => (b'{', b'}'),
        b'(' => (b'(', b')'),
        b'[' => (b'[', b']'),
        _ => return None,
    };
    let mut depth = 0usize;
    for (k, &ch) in m.iter().enumerate().skip(open) {
        if ch == o {
            depth += 1;
        } else if ch == c {
            depth -= 1;
            if depth == 0 {
                return Some(k + 1);
            }
        }
    }
    None
}

fn skip_ws(m: &[u8], mut i: usize) -> usize {
    while i < m.len() && m[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    memchr::memmem::find_iter(hay, needle).collect()
}

/// Direct `dbutils.notebook.run(...)` calls in `[s, e)`: (start, end of call).
fn runs_in(v: &Virtual, s: usize, e: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for k in find_all(&v.masked[s..e], b"dbutils.notebook.run") {
        let st = s + k;
        if st > 0 && is_ident(v.masked[st - 1]) {
            continue;
        }
        let p = skip_ws(&v.masked, st + "dbutils.notebook.run".len());
        if v.masked.get(p) == Some(&b'(') {
            if let Some(end) = matching(&v.masked, p) {
                out.push((st, end));
            }
        }
    }
    out
}

fn run_call(v: &Virtual, (s, e): (usize, usize)) -> RunCall {
    let open = s + v.masked[s..e].iter().position(|&c| c == b'(').unwrap_or(0);
    // Split the arguments at top-level commas.
    let args = split_args(&v.masked, open, e);
    let desc = |(a, b): (usize, usize)| {
        let raw = &v.text[a..b];
        let lead = raw.len() - raw.trim_start().len();
        let t = raw.trim();
        let value = if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') && !t.contains('+') {
            Some(Value::Str(t[1..t.len() - 1].to_string()))
        } else {
            t.parse::<i64>().ok().map(|i| Value::Int(i.into()))
        };
        ExprDesc {
            range: v.range(a + lead, a + lead + t.len()),
            text: t.to_string(),
            value,
            param: None,
        }
    };
    RunCall {
        range: v.range(s, e),
        callee: v.range(s, s + "dbutils.notebook.run".len()),
        by_reference: false,
        path: args.first().copied().map(desc),
        timeout: args.get(1).copied().map(desc),
        arguments: args.get(2).copied().map(desc),
        argument_items: Vec::new(),
        path_domain: None,
        path_values: Vec::new(),
        timeout_origins: Vec::new(),
        has_splat: false,
        func: 0,
        in_loop: false,
        statement_level: false,
    }
}

/// The shape of a Scala fan-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalaKind {
    /// `Future { ... }`.
    Future,
    /// A parallel collection: `xs.par.map { ... }`, `.par.foreach`.
    Par,
}

/// A Scala fan-out found by the lexical scan (ranges are document ranges).
#[derive(Debug, Clone)]
pub struct ScalaFanOut {
    /// From `Future` (or the receiver of `.par`) to the end of the block.
    pub range: TextRange,
    pub kind: ScalaKind,
    /// `Future`, `par.map`, `par.foreach`, ...
    pub method: String,
    /// The `dbutils.notebook.run` calls the block reaches (directly or through a `def`).
    pub runs: Vec<RunCall>,
    /// `Future { ... }.recover { case e => "ERROR" }` (also `recoverWith`) whose handler does
    /// not throw: the range of `.recover { ... }`.
    pub recovered: Option<TextRange>,
}

/// Scan the Scala cells of a document for notebook fan-out.
pub fn scan(doc: &Document) -> Vec<ScalaFanOut> {
    let Some(v) = build(doc) else {
        return Vec::new();
    };
    let m = &v.masked;
    // defs: name -> body range
    let mut defs: HashMap<String, (usize, usize)> = HashMap::new();
    for k in find_all(m, b"def ") {
        if k > 0 && is_ident(m[k - 1]) {
            continue;
        }
        let ns = skip_ws(m, k + 4);
        let mut ne = ns;
        while ne < m.len() && is_ident(m[ne]) {
            ne += 1;
        }
        if ne == ns {
            continue;
        }
        let name = v.text[ns..ne].to_string();
        // Body: after `=`, a block or the rest of the line.
        let mut after = skip_ws(m, ne);
        while matches!(m.get(after), Some(b'(' | b'[')) {
            after = skip_ws(m, matching(m, after).unwrap_or(m.len()));
        }
        let Some(eq) = m[after.min(m.len())..]
            .iter()
            .position(|&c| c == b'=')
            .map(|p| after + p)
        else {
            continue;
        };
        let bs = skip_ws(m, eq + 1);
        let be = if m.get(bs) == Some(&b'{') {
            matching(m, bs).unwrap_or(m.len())
        } else {
            m[bs..]
                .iter()
                .position(|&c| c == b'\n')
                .map(|p| bs + p)
                .unwrap_or(m.len())
        };
        defs.insert(name, (bs, be));
    }
    // Which defs reach notebook.run (two rounds for helpers of helpers).
    let mut reaching: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
    for _ in 0..3 {
        for (name, &(s, e)) in &defs {
            let mut runs = runs_in(&v, s, e);
            for (other, r) in &reaching {
                if other != name && calls_name(m, s, e, other) {
                    runs.extend(r.iter().copied());
                }
            }
            runs.sort();
            runs.dedup();
            if !runs.is_empty() {
                reaching.insert(name.clone(), runs);
            }
        }
    }
    let body_runs = |s: usize, e: usize| -> Vec<(usize, usize)> {
        let mut runs = runs_in(&v, s, e);
        for (name, r) in &reaching {
            if calls_name(m, s, e, name) {
                runs.extend(r.iter().copied());
            }
        }
        runs.sort();
        runs.dedup();
        runs
    };
    let mut out = Vec::new();
    let mut push = |kind: ScalaKind, method: &str, s: usize, e: usize, bs: usize, be: usize| {
        let runs = body_runs(bs, be);
        if runs.is_empty() {
            return;
        }
        out.push(ScalaFanOut {
            range: v.range(s, e),
            kind,
            method: method.to_string(),
            runs: runs.into_iter().map(|r| run_call(&v, r)).collect(),
            recovered: swallowing_recover(m, e).map(|(a, b)| v.range(a, b)),
        });
    };
    for k in find_all(m, b"Future") {
        if (k > 0 && (is_ident(m[k - 1]) || m[k - 1] == b'.'))
            || m.get(k + 6).is_some_and(|&c| is_ident(c))
        {
            continue;
        }
        let b = skip_ws(m, k + 6);
        if matches!(m.get(b), Some(b'{' | b'(')) {
            if let Some(e) = matching(m, b) {
                push(ScalaKind::Future, "Future", k, e, b, e);
            }
        }
    }
    for k in find_all(m, b".par") {
        if m.get(k + 4).is_some_and(|&c| is_ident(c)) {
            continue;
        }
        // `.par.map`, `.par.foreach`, `.par.flatMap`
        let dot = skip_ws(m, k + 4);
        if m.get(dot) != Some(&b'.') {
            continue;
        }
        let ms = dot + 1;
        let mut me = ms;
        while me < m.len() && is_ident(m[me]) {
            me += 1;
        }
        let b = skip_ws(m, me);
        if matches!(m.get(b), Some(b'{' | b'(')) {
            if let Some(e) = matching(m, b) {
                let method = format!("par.{}", &v.text[ms..me]);
                // Start at the receiver's beginning of the line segment.
                let line_start = v.text[..k].rfind('\n').map(|p| p + 1).unwrap_or(0);
                let s = line_start
                    + (v.text[line_start..k].len() - v.text[line_start..k].trim_start().len());
                push(ScalaKind::Par, &method, s, e, b, e);
            }
        }
    }
    out.sort_by_key(|f| f.range.start());
    out
}

/// `.recover { ... }` / `.recoverWith { ... }` right after a block ending at `after` whose
/// handler never throws (it turns the failure into a value): its range.
fn swallowing_recover(m: &[u8], after: usize) -> Option<(usize, usize)> {
    let dot = skip_ws(m, after);
    if m.get(dot) != Some(&b'.') {
        return None;
    }
    let ns = skip_ws(m, dot + 1);
    let mut ne = ns;
    while ne < m.len() && is_ident(m[ne]) {
        ne += 1;
    }
    if !matches!(&m[ns..ne], b"recover" | b"recoverWith") {
        return None;
    }
    let b = skip_ws(m, ne);
    if !matches!(m.get(b), Some(b'{' | b'(')) {
        return None;
    }
    let e = matching(m, b)?;
    let throws = find_all(&m[b..e], b"throw").into_iter().any(|k| {
        let st = b + k;
        !is_ident(m[st - 1]) && m.get(st + 5).is_none_or(|&c| !is_ident(c))
    }) || !find_all(&m[b..e], b"Future.failed").is_empty();
    (!throws).then_some((dot, e))
}

/// Every `dbutils.notebook.run` call of the Scala cells of a document (document ranges). A
/// timeout read from a field of a case class (`c.timeout` with `case class Child(path: String,
/// timeout: Int)`) gets, as its timeout origins, the literal arguments of every construction
/// `Child("./a", 0)` / `Child(path = "./a", timeout = 0)` of the cells.
pub fn runs(doc: &Document) -> Vec<RunCall> {
    let Some(v) = build(doc) else {
        return Vec::new();
    };
    let classes = case_classes(&v);
    runs_in(&v, 0, v.masked.len())
        .into_iter()
        .map(|r| {
            let mut call = run_call(&v, r);
            if let Some(t) = &call.timeout {
                if let Some((_, field)) = t.text.split_once('.') {
                    for (name, fields) in &classes {
                        if let Some(i) = fields.iter().position(|f| f == field) {
                            call.timeout_origins
                                .extend(constructions(&v, name, field, i));
                        }
                    }
                }
            }
            call
        })
        .collect()
}

/// `case class Name(a: A, b: B = 1)`: name -> field names in order.
fn case_classes(v: &Virtual) -> Vec<(String, Vec<String>)> {
    let m = &v.masked;
    let mut out = Vec::new();
    for k in find_all(m, b"case class ") {
        if k > 0 && is_ident(m[k - 1]) {
            continue;
        }
        let ns = skip_ws(m, k + "case class ".len());
        let mut ne = ns;
        while ne < m.len() && is_ident(m[ne]) {
            ne += 1;
        }
        let p = skip_ws(m, ne);
        if ne == ns || m.get(p) != Some(&b'(') {
            continue;
        }
        let Some(e) = matching(m, p) else { continue };
        let fields = split_args(m, p, e)
            .into_iter()
            .filter_map(|(a, b)| {
                let t = v.text[a..b].trim();
                let t = t.strip_prefix("val ").unwrap_or(t).trim();
                let name = t.split(':').next()?.trim();
                (!name.is_empty() && name.bytes().all(is_ident)).then(|| name.to_string())
            })
            .collect();
        out.push((v.text[ns..ne].to_string(), fields));
    }
    out
}

/// The top-level arguments of a bracketed list `m[open..end]` (end after the closing bracket).
fn split_args(m: &[u8], open: usize, end: usize) -> Vec<(usize, usize)> {
    let mut args = Vec::new();
    let mut depth = 0i32;
    let mut start = open + 1;
    let inner = m.get(open + 1..end.saturating_sub(1)).unwrap_or_default();
    for (j, &c) in inner.iter().enumerate() {
        let k = open + 1 + j;
        match c {
            b'(' | b'{' | b'[' => depth += 1,
            b')' | b'}' | b']' => depth -= 1,
            b',' if depth == 0 => {
                args.push((start, k));
                start = k + 1;
            }
            _ => {}
        }
    }
    if end > start + 1 {
        args.push((start, end - 1));
    }
    args
}

/// Integer literals given to field `field` (position `i`) by the constructions of case class
/// `name` (`Name(...)`, `new Name(...)`).
fn constructions(v: &Virtual, name: &str, field: &str, i: usize) -> Vec<ExprDesc> {
    let m = &v.masked;
    let mut out = Vec::new();
    for k in find_all(m, name.as_bytes()) {
        if k > 0 && (is_ident(m[k - 1]) || m[k - 1] == b'.') {
            continue;
        }
        let before = v.text[..k].trim_end();
        if before.ends_with("class") {
            continue;
        }
        let p = k + name.len();
        if m.get(p) != Some(&b'(') {
            continue;
        }
        let Some(e) = matching(m, p) else { continue };
        let args = split_args(m, p, e);
        let named = args.iter().find_map(|&(a, b)| {
            let t = &v.text[a..b];
            let (lhs, rhs) = t.split_once('=')?;
            (lhs.trim() == field && !rhs.starts_with('=') && !rhs.starts_with('>'))
                .then(|| (a + lhs.len() + 1, b))
        });
        let positional = args
            .get(i)
            .copied()
            .filter(|&(a, b)| !v.text[a..b].contains('='));
        let Some((a, b)) = named.or(positional) else {
            continue;
        };
        let raw = &v.text[a..b];
        let t = raw.trim();
        let Ok(n) = t.parse::<i64>() else { continue };
        let lead = raw.len() - raw.trim_start().len();
        out.push(ExprDesc {
            range: v.range(a + lead, a + lead + t.len()),
            text: t.to_string(),
            value: Some(Value::Int(n.into())),
            param: None,
        });
    }
    out
}

fn calls_name(m: &[u8], s: usize, e: usize, name: &str) -> bool {
    find_all(&m[s..e], name.as_bytes()).into_iter().any(|k| {
        let st = s + k;
        let en = st + name.len();
        (st == 0 || !(is_ident(m[st - 1]) || m[st - 1] == b'.'))
            && m.get(en).is_none_or(|&c| !is_ident(c))
            && m.get(skip_ws(m, en)) == Some(&b'(')
    })
}
