//! The module layering of `docs/architecture.md`, enforced: no module of `src/` or `rules/`
//! imports a module of a higher layer, and no files import each other in a cycle.
//!
//! Imports are read from the code (`use crate::...`, `use super::...` and inline
//! `crate::a::b` paths), outside comments and `#[cfg(test)]` modules, and resolved to the file
//! that defines the module. A folder's `mod.rs` may use its own children (it declares them);
//! every other pair of files that import each other, directly or through others, is a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module name (first segment under `crate::`) -> layer, from the table in
/// `docs/architecture.md` between `<!-- layers:start -->` and `<!-- layers:end -->`.
fn declared_layers(root: &Path) -> BTreeMap<String, usize> {
    let doc = std::fs::read_to_string(root.join("docs/architecture.md"))
        .expect("docs/architecture.md exists");
    let start = doc
        .find("<!-- layers:start -->")
        .expect("layers:start marker");
    let end = doc.find("<!-- layers:end -->").expect("layers:end marker");
    let mut out = BTreeMap::new();
    for line in doc[start..end].lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | layer | modules | what |
        if cells.len() < 4 {
            continue;
        }
        let Ok(layer) = cells[1].parse::<usize>() else {
            continue;
        };
        for m in cells[2].split(',') {
            let m = m.trim().trim_matches('`');
            if !m.is_empty() {
                out.insert(m.to_string(), layer);
            }
        }
    }
    out
}

/// Every Rust file of the library: (module path, file).
fn files(root: &Path) -> Vec<(Vec<String>, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![
        (vec![], root.join("src")),
        (vec!["rules".to_string()], root.join("rules")),
    ];
    while let Some((prefix, dir)) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                let mut m = prefix.clone();
                m.push(name);
                stack.push((m, p));
            } else if let Some(stem) = name.strip_suffix(".rs") {
                if prefix.is_empty() && matches!(stem, "main" | "lib") {
                    continue;
                }
                // Test-only files.
                if stem == "tests" {
                    continue;
                }
                let mut m = prefix.clone();
                if stem != "mod" {
                    m.push(stem.to_string());
                }
                out.push((m, p));
            }
        }
    }
    out.sort();
    out
}

/// The code of a file without comments, string literals and `#[cfg(test)]` modules.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(i) => &text[..i],
        None => text,
    };
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i + 1 < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'r' && (b[i + 1..].starts_with(b"\"") || b[i + 1..].starts_with(b"#")) {
            // Raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while j < b.len() && b[j] == b'#' {
                hashes += 1;
                j += 1;
            }
            if j < b.len() && b[j] == b'"' {
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                j += 1;
                while j < b.len() && !b[j..].starts_with(&close) {
                    j += 1;
                }
                i = j + close.len();
                out.push_str("\"\"");
            } else {
                out.push(b[i] as char);
                i += 1;
            }
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('x', '\n', '\''); lifetimes ('a) are left alone.
            i += 1;
            if b[i] == b'\\' {
                i += 1;
            }
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The module paths a file refers to: each `crate::a::b...` / `super::...` path, expanded over
/// `{...}` groups of `use` items, as absolute segment lists.
fn references(module: &[String], is_mod_rs: bool, code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let rest: String = chars[i..chars.len().min(i + 7)].iter().collect();
        let before_ok = i == 0 || !(is_ident(chars[i - 1]) || chars[i - 1] == ':');
        let (base, skip) = if before_ok && rest.starts_with("crate::") {
            (Vec::new(), 7)
        } else if before_ok && rest.starts_with("super::") {
            // `super` of a file `a/b.rs` (module a::b) is `a`; of `a/mod.rs` (module a), the
            // parent of `a`.
            let mut b = module.to_vec();
            b.pop();
            let mut j = i + 7;
            let mut base = b;
            // Further `super::` segments.
            while chars[j..].iter().collect::<String>().starts_with("super::") {
                base.pop();
                j += 7;
            }
            let _ = is_mod_rs;
            (base, j - i)
        } else {
            i += 1;
            continue;
        };
        let mut j = i + skip;
        let mut segs = base;
        loop {
            let s = j;
            while j < chars.len() && is_ident(chars[j]) {
                j += 1;
            }
            if j == s {
                // `{` group: every item's first segment.
                if j < chars.len() && chars[j] == '{' {
                    let mut depth = 0;
                    let mut k = j;
                    let mut item = String::new();
                    let mut items = Vec::new();
                    while k < chars.len() {
                        let c = chars[k];
                        if c == '{' {
                            depth += 1;
                            if depth > 1 {
                                item.push(c);
                            }
                        } else if c == '}' {
                            depth -= 1;
                            if depth == 0 {
                                items.push(std::mem::take(&mut item));
                                break;
                            }
                            item.push(c);
                        } else if c == ',' && depth == 1 {
                            items.push(std::mem::take(&mut item));
                        } else {
                            item.push(c);
                        }
                        k += 1;
                    }
                    for it in items {
                        let first: String =
                            it.trim().chars().take_while(|c| is_ident(*c)).collect();
                        let mut p = segs.clone();
                        if !first.is_empty() && first != "self" {
                            p.push(first);
                        }
                        out.push(p);
                    }
                    j = k;
                } else {
                    out.push(segs.clone());
                }
                break;
            }
            segs.push(chars[s..j].iter().collect());
            if chars[j..].iter().take(2).collect::<String>() == "::" {
                j += 2;
            } else {
                out.push(segs.clone());
                break;
            }
        }
        i = j.max(i + 1);
    }
    out
}

/// The file that defines the longest module prefix of `path`.
fn resolve<'a>(
    path: &[String],
    by_module: &'a BTreeMap<Vec<String>, PathBuf>,
) -> Option<(&'a Vec<String>, &'a PathBuf)> {
    (1..=path.len())
        .rev()
        .find_map(|n| by_module.get_key_value(&path[..n].to_vec()))
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

#[test]
fn no_upward_imports_and_no_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let layers = declared_layers(root);
    let files = files(root);
    let by_module: BTreeMap<Vec<String>, PathBuf> = files.iter().cloned().collect();
    let mut problems = Vec::new();
    // file -> files it imports (parent mod.rs -> own children left out).
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for (module, file) in &files {
        let Some(top) = module.first() else { continue };
        let Some(&from) = layers.get(top) else {
            problems.push(format!(
                "{}: module `{top}` has no layer in docs/architecture.md",
                rel(root, file)
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let is_mod_rs = file.file_name().is_some_and(|n| n == "mod.rs");
        let code = code_of(&text);
        for path in references(module, is_mod_rs, &code) {
            let Some((target_mod, target)) = resolve(&path, &by_module) else {
                continue;
            };
            if target == file {
                continue;
            }
            let Some(top2) = target_mod.first() else {
                continue;
            };
            if let Some(&to) = layers.get(top2) {
                if to > from {
                    problems.push(format!(
                        "{}: `{}` (layer {from}) imports `crate::{}` (layer {to}): a lower layer may not use a higher one",
                        rel(root, file),
                        module.join("::"),
                        path.join("::")
                    ));
                }
            }
            // A folder module's own children.
            let child_of_self =
                is_mod_rs && target_mod.len() > module.len() && target_mod.starts_with(module);
            if !child_of_self {
                edges
                    .entry(file.clone())
                    .or_default()
                    .insert(target.clone());
            }
        }
    }
    // Cycles: strongly connected components of more than one file (Tarjan).
    let known = Known::read(root);
    let mut cycles = Vec::new();
    for scc in sccs(&edges) {
        if scc.len() > 1 {
            let names: Vec<String> = scc.iter().map(|p| rel(root, p)).collect();
            cycles.push(names);
        }
    }
    let mut new = Vec::new();
    for p in &problems {
        if !known
            .upward
            .iter()
            .any(|k| p.starts_with(&k.0) && p.contains(&k.1))
        {
            new.push(p.clone());
        }
    }
    for c in &cycles {
        if !known.cycles.iter().any(|k| c.iter().all(|f| k.contains(f))) {
            new.push(format!("import cycle: {}", c.join(" -> ")));
        }
    }
    // Entries of the list that no longer occur must go, so the list only shrinks.
    for (file, target) in &known.upward {
        if !problems
            .iter()
            .any(|p| p.starts_with(file) && p.contains(target))
        {
            new.push(format!(
                "tests/layers_known.txt: `upward {} {}` no longer occurs: remove the line",
                file.trim_end_matches(':'),
                target
                    .trim_start_matches("`crate::")
                    .trim_end_matches(['`', ':'])
            ));
        }
    }
    for k in &known.cycles {
        if !cycles.iter().any(|c| c.iter().all(|f| k.contains(f))) {
            new.push(format!(
                "tests/layers_known.txt: `cycle {}` no longer occurs: remove the line",
                k.join(" ")
            ));
        }
    }
    new.sort();
    new.dedup();
    assert!(
        new.is_empty(),
        "{} layering problem(s) (layers in docs/architecture.md; the violations that remain to \
         be fixed are listed in tests/layers_known.txt, which may only shrink):\n{}",
        new.len(),
        new.join("\n")
    );
}

/// Violations that existed when the layer test was written and are being removed: each
/// `upward <file> <module>` line accepts imports of `crate::<module>` by that file, and each
/// `cycle <file> <file>...` line accepts cycles among those files.
struct Known {
    upward: Vec<(String, String)>,
    cycles: Vec<Vec<String>>,
}

impl Known {
    fn read(root: &Path) -> Known {
        let text = std::fs::read_to_string(root.join("tests/layers_known.txt")).unwrap_or_default();
        let mut k = Known {
            upward: Vec::new(),
            cycles: Vec::new(),
        };
        for line in text.lines().map(str::trim) {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("upward") => {
                    let file = words.next().unwrap_or_default().to_string();
                    let module = words.next().unwrap_or_default();
                    k.upward
                        .push((format!("{file}:"), format!("`crate::{module}")));
                }
                Some("cycle") => k.cycles.push(words.map(str::to_string).collect()),
                _ => {}
            }
        }
        k
    }
}

fn sccs(edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    struct T<'a> {
        edges: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        on: BTreeSet<&'a PathBuf>,
        stack: Vec<&'a PathBuf>,
        next: usize,
        out: Vec<Vec<PathBuf>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a PathBuf) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        if let Some(ws) = t.edges.get(v) {
            for w in ws {
                if !t.index.contains_key(w) {
                    visit(t, w);
                    let lw = t.low[w];
                    let lv = t.low[v];
                    t.low.insert(v, lv.min(lw));
                } else if t.on.contains(w) {
                    let iw = t.index[w];
                    let lv = t.low[v];
                    t.low.insert(v, lv.min(iw));
                }
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.clone());
                if w == v {
                    break;
                }
            }
            comp.sort();
            t.out.push(comp);
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        on: BTreeSet::new(),
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    let nodes: Vec<&PathBuf> = edges.keys().collect();
    for v in nodes {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out.sort();
    t.out
}

#[test]
fn the_reader_finds_imports() {
    let code = code_of(
        "use crate::bundle::{model::Job, graph};\n// crate::engine::x\nlet s = \"crate::plan\";\nfn f() { crate::source::display_path(p); super::sib::g(); }\n",
    );
    let refs = references(&["python".into(), "facts".into()], false, &code);
    assert!(
        refs.contains(&vec!["bundle".into(), "model".into()]),
        "{refs:?}"
    );
    assert!(
        refs.contains(&vec!["bundle".into(), "graph".into()]),
        "{refs:?}"
    );
    assert!(
        refs.contains(&vec!["source".into(), "display_path".into()]),
        "{refs:?}"
    );
    assert!(
        refs.contains(&vec!["python".into(), "sib".into(), "g".into()]),
        "{refs:?}"
    );
    assert!(
        !refs
            .iter()
            .any(|r| r.first().is_some_and(|s| s == "engine" || s == "plan")),
        "{refs:?}"
    );
}

/// Files of `src/` and `rules/` stay under 1,000 lines and functions under 150 (test modules
/// and `tests.rs` files not counted). Known exceptions being split are listed in
/// `tests/layers_known.txt` as `long-file <file>` and `long-fn <file> <name>`.
#[test]
fn no_long_files_or_functions() {
    const MAX_FILE: usize = 1000;
    const MAX_FN: usize = 150;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let known = std::fs::read_to_string(root.join("tests/layers_known.txt")).unwrap_or_default();
    let known: BTreeSet<&str> = known
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("long-"))
        .collect();
    let mut found = BTreeSet::new();
    for (_, file) in files(root) {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let end = lines
            .iter()
            .position(|l| l.starts_with("#[cfg(test)]"))
            .unwrap_or(lines.len());
        let name = rel(root, &file);
        if end > MAX_FILE {
            found.insert(format!("long-file {name}"));
        }
        for (i, l) in lines[..end].iter().enumerate() {
            let Some((indent, f)) = fn_name(l) else {
                continue;
            };
            let close = format!("{}}}", " ".repeat(indent));
            let len = lines[i..end]
                .iter()
                .position(|x| x.trim_end() == close)
                .map_or(0, |k| k + 1);
            if len > MAX_FN {
                found.insert(format!("long-fn {name} {f}"));
            }
        }
    }
    let mut problems: Vec<String> = found
        .iter()
        .filter(|f| !known.contains(f.as_str()))
        .map(|f| format!("{f} (limit: files {MAX_FILE} lines, functions {MAX_FN})"))
        .collect();
    problems.extend(
        known
            .iter()
            .filter(|k| !found.contains(**k))
            .map(|k| format!("tests/layers_known.txt: `{k}` no longer occurs: remove the line")),
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `fn name` at the start of a line (after `pub`, `const`, `async`, `unsafe`): its indentation
/// and name.
fn fn_name(line: &str) -> Option<(usize, &str)> {
    let indent = line.len() - line.trim_start().len();
    let mut rest = line.trim_start();
    for w in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(w).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("fn ")?;
    let name = rest
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()?;
    (!name.is_empty()).then_some((indent, name))
}
