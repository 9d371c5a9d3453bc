//! Round trip: a file loaded and written back without changes keeps every byte.
//!
//! bricklint writes files in two places, and both are tested here through the very functions
//! they use:
//! - `check --fix` / `--diff`: [`fix::write_back`] (the edits of the chosen fixes applied to the
//!   document text; `.ipynb` cells patched into the JSON);
//! - `migrate --write`: [`rewrite::apply`] (whole-line edits re-emitted with the line's magic
//!   prefix, indentation and line ending; `.ipynb` cell sources re-encoded).
//!
//! For each path, three write-backs must reproduce the file byte for byte: no edits at all,
//! "identity" edits that replace every cell (fix) or every code line (migrate) with its own
//! text, and, for YAML, the fix path over the text the bundle loader parsed. The files are every
//! fixture and example of the repository plus generated notebooks (CRLF/LF, BOM, final newline
//! or not, MAGIC cells, titles, `.ipynb` with string or array sources, 1/2/4-space or compact
//! JSON, escaped non-ASCII).
//!
//! A fourth property: a real edit of one `.ipynb` cell changes that cell's `source` value and no
//! other byte.
//!
//! Proptest cases: 128 per property (4 properties), under a second in a debug build.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bricklint::config::Config;
use bricklint::diagnostic::Edit;
use bricklint::fix;
use bricklint::migrate::rewrite::{self, LineEdit};
use bricklint::source::{self, Document, FileKind, Lang};
use proptest::prelude::*;
use ruff_text_size::{TextRange, TextSize};

/// The bytes the document was loaded from.
fn original(doc: &Document) -> &str {
    doc.raw.as_deref().unwrap_or(&doc.text)
}

/// `--fix` with an empty edit set.
fn fix_no_edits(doc: &Document) -> String {
    fix::write_back(doc, &[]).unwrap()
}

/// `--fix` with one edit per cell that replaces the cell with its own text (every touched
/// `.ipynb` cell is re-encoded).
fn fix_identity_edits(doc: &Document) -> String {
    let edits: Vec<Edit> = if doc.cells.is_empty() && doc.kind != FileKind::Ipynb {
        vec![Edit {
            path: (*doc.path).clone(),
            range: TextRange::up_to(doc.lines_end()),
            content: doc.text.clone(),
        }]
    } else {
        doc.cells
            .iter()
            .map(|c| Edit {
                path: (*doc.path).clone(),
                range: c.range,
                content: doc.text[c.range].to_string(),
            })
            .collect()
    };
    let refs: Vec<&Edit> = edits.iter().collect();
    fix::write_back(doc, &refs).unwrap()
}

/// `migrate --write` with no edits.
fn migrate_no_edits(doc: &Document) -> String {
    rewrite::apply(doc, &[]).unwrap()
}

/// `migrate --write` with every code line of every cell replaced by itself: the rewriter
/// re-emits the magic prefix, the indentation and the line ending of each line.
fn migrate_identity_edits(doc: &Document) -> String {
    let mut edits = Vec::new();
    for cell in &doc.cells {
        for l in cell.lines.iter(&doc.text) {
            let line = &doc.text[l];
            let code = line.trim_start_matches([' ', '\t']);
            let code_start = l.start() + TextSize::of(&line[..line.len() - code.len()]);
            edits.push((
                LineEdit {
                    range: rewrite::whole_lines(doc, l),
                    code: vec![code.to_string()],
                },
                code_start,
            ));
        }
    }
    rewrite::apply(doc, &edits).unwrap()
}

/// Every write-back path must give the original bytes back.
fn assert_round_trip(doc: &Document, what: &str) {
    let orig = original(doc);
    for (path, out) in [
        ("fix, no edits", fix_no_edits(doc)),
        ("fix, identity edits", fix_identity_edits(doc)),
        ("migrate, no edits", migrate_no_edits(doc)),
        ("migrate, identity edits", migrate_identity_edits(doc)),
    ] {
        assert!(
            out == orig,
            "{what}: {path} changed the bytes\n--- original\n{orig:?}\n--- written\n{out:?}"
        );
    }
}

fn load(kind: FileKind, name: &str, text: String) -> Document {
    Document::load(Arc::new(PathBuf::from(name)), kind, text).unwrap()
}

#[test]
fn every_fixture_round_trips() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack = vec![root.join("fixtures"), root.join("examples")];
    let (mut notebooks, mut ipynb, mut yaml, mut modules) = (0, 0, 0, 0);
    let config = Config::default();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            // Fixture links may point out of the repository: never followed.
            if p.is_symlink() {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = std::fs::read(&p).unwrap();
            // The engine's own loader: classification, UTF-8 and size checks, then the format's
            // parser.
            let (Some(doc), _) = bricklint::engine::load_file(&p, &config, true, true) else {
                continue;
            };
            assert_eq!(
                original(&doc).as_bytes(),
                &bytes[..],
                "{}: the loaded text is not the file",
                p.display()
            );
            match &doc.kind {
                FileKind::SourceNotebook(_) => notebooks += 1,
                FileKind::Ipynb => ipynb += 1,
                FileKind::BundleRoot | FileKind::Yaml => {
                    yaml += 1;
                    // The bundle loader parses the same text (a file that does not parse is
                    // still written back unchanged).
                    let _ = bricklint::bundle::yaml::parse(&doc.path, &doc.text, &config.limits);
                }
                FileKind::PythonModule | FileKind::ScalaFile => modules += 1,
            }
            assert_round_trip(&doc, &p.display().to_string());
        }
    }
    // The fixture set covers every format.
    eprintln!(
        "round trip: {notebooks} source notebooks, {ipynb} .ipynb, {yaml} YAML, {modules} modules"
    );
    assert!(notebooks >= 50, "{notebooks} source notebooks");
    assert!(ipynb >= 5, "{ipynb} ipynb");
    assert!(yaml >= 50, "{yaml} YAML files");
    assert!(modules >= 5, "{modules} modules");
}

/// Source-format notebooks: random cells of random languages, MAGIC lines, titles, blank and
/// whitespace-only lines, CRLF or LF, BOM, with or without a final newline.
fn source_notebook() -> impl Strategy<Value = (Lang, String)> {
    let lang = prop_oneof![
        Just(Lang::Python),
        Just(Lang::Sql),
        Just(Lang::Scala),
        Just(Lang::R)
    ];
    let code_line = prop_oneof![
        Just("x = dbutils.notebook.run(\"./child\", 0, {\"a\": \"1\"})".to_string()),
        Just("    return f(x)".to_string()),
        Just("\tif y:".to_string()),
        Just(String::new()),
        Just("   ".to_string()),
        "[ -~\u{e9}\u{4e2d}\u{1F600}]{0,30}",
    ];
    let cell = (
        prop::option::of("[A-Za-z ]{1,10}"),
        prop_oneof![
            Just(None),
            Just(Some("%python")),
            Just(Some("%sql")),
            Just(Some("%md")),
            Just(Some("%run ./helpers"))
        ],
        prop::collection::vec(code_line, 1..6),
    );
    (
        lang,
        prop::collection::vec(cell, 0..6),
        prop::bool::ANY,
        prop::bool::ANY,
        prop::bool::ANY,
    )
        .prop_map(|(lang, cells, crlf, bom, final_nl)| {
            let p = lang.comment_prefix();
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut lines: Vec<String> = vec![format!("{p} Databricks notebook source")];
            for (i, (title, magic, code)) in cells.into_iter().enumerate() {
                if i > 0 {
                    lines.push(String::new());
                    lines.push(format!("{p} COMMAND ----------"));
                    lines.push(String::new());
                }
                if let Some(t) = title {
                    lines.push(format!("{p} DBTITLE 1,{t}"));
                }
                match magic {
                    Some(m) => {
                        lines.push(format!("{p} MAGIC {m}"));
                        for l in code {
                            lines.push(if l.is_empty() {
                                format!("{p} MAGIC")
                            } else {
                                format!("{p} MAGIC {l}")
                            });
                        }
                    }
                    None => lines.extend(code),
                }
            }
            let mut s = String::new();
            if bom {
                s.push('\u{feff}');
            }
            s.push_str(&lines.join(nl));
            if final_nl {
                s.push_str(nl);
            }
            (lang, s)
        })
}

/// `.ipynb` files: random cells with string or array sources (ending in a newline or not),
/// metadata and outputs, in the layouts tools write (Jupyter's 1 space, 2 or 4 spaces,
/// compact, CRLF, `\uXXXX`-escaped non-ASCII, final newline or not).
fn ipynb_file() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("%sql".to_string()),
        Just("%python".to_string()),
        Just("%pip install x".to_string()),
        Just("%run ./lib".to_string()),
        Just("import os".to_string()),
        Just("    y = \"a\\tb\"".to_string()),
        Just(String::new()),
        "[ -~\u{e9}\u{4e2d}\u{1F600}\t]{0,25}",
    ];
    let cell = (
        prop_oneof![Just("code"), Just("markdown"), Just("raw")],
        prop::collection::vec(line, 0..5),
        prop::bool::ANY,
        prop::bool::ANY,
        prop::option::of("[a-z ]{0,8}"),
    )
        .prop_map(|(kind, lines, as_array, final_nl, title)| {
            let mut text = lines.join("\n");
            if final_nl && !text.is_empty() {
                text.push('\n');
            }
            let source = if as_array {
                serde_json::Value::from(
                    text.split_inclusive('\n')
                        .map(str::to_string)
                        .collect::<Vec<_>>(),
                )
            } else {
                serde_json::Value::from(text)
            };
            let mut cell = serde_json::json!({"cell_type": kind, "metadata": {}, "source": source});
            if let Some(t) = title {
                cell["metadata"] = serde_json::json!({
                    "application/vnd.databricks.v1+cell": {"title": t, "nuid": "1-2-3"}
                });
            }
            if kind == "code" {
                cell["execution_count"] = serde_json::json!(null);
                cell["outputs"] = serde_json::json!([{"output_type": "stream", "text": ["hi\n"]}]);
            }
            cell
        });
    (
        prop::collection::vec(cell, 0..6),
        prop_oneof![Just(""), Just(" "), Just("  "), Just("    "), Just("\t")],
        prop::bool::ANY,
        prop::bool::ANY,
        prop::bool::ANY,
    )
        .prop_map(|(cells, indent, crlf, ascii, final_nl)| {
            let v = serde_json::json!({
                "cells": cells,
                "metadata": {"application/vnd.databricks.v1+notebook": {"language": "python", "notebookName": "n\u{e9}"}},
                "nbformat": 4,
                "nbformat_minor": 5
            });
            let mut s = if indent.is_empty() {
                serde_json::to_string(&v).unwrap()
            } else {
                let mut out = Vec::new();
                let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
                let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
                serde::Serialize::serialize(&v, &mut ser).unwrap();
                String::from_utf8(out).unwrap()
            };
            if ascii {
                // Python's json.dump default (ensure_ascii=True).
                s = s
                    .chars()
                    .map(|c| {
                        if c.is_ascii() {
                            c.to_string()
                        } else {
                            c.encode_utf16(&mut [0; 2])
                                .iter()
                                .map(|u| format!("\\u{u:04x}"))
                                .collect()
                        }
                    })
                    .collect();
            }
            if crlf {
                s = s.replace('\n', "\r\n");
            }
            if final_nl {
                s.push('\n');
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn source_notebooks_round_trip((lang, text) in source_notebook()) {
        let ext = match lang { Lang::Sql => "sql", Lang::Scala => "scala", Lang::R => "r", _ => "py" };
        let name = format!("a.{ext}");
        let kind = source::classify(Path::new(&name), text.as_bytes());
        prop_assert_eq!(kind.clone(), Some(FileKind::SourceNotebook(lang)));
        let doc = load(kind.unwrap(), &name, text);
        assert_round_trip(&doc, "generated notebook");
    }

    #[test]
    fn plain_modules_round_trip(text in "([ -~\u{e9}\t]{0,30}(\n|\r\n)?){0,12}") {
        let doc = load(FileKind::PythonModule, "m.py", text);
        assert_round_trip(&doc, "generated module");
    }

    #[test]
    fn ipynb_round_trips(raw in ipynb_file()) {
        let doc = load(FileKind::Ipynb, "a.ipynb", raw);
        assert_round_trip(&doc, "generated ipynb");
    }

    /// A real edit of one cell changes that cell's `source` value and no other byte.
    #[test]
    fn ipynb_edit_touches_only_its_cell(raw in ipynb_file(), pick in any::<prop::sample::Index>(), add in "[ -~\u{e9}]{1,10}") {
        let doc = load(FileKind::Ipynb, "a.ipynb", raw.clone());
        prop_assume!(!doc.cells.is_empty());
        let cell = &doc.cells[pick.index(doc.cells.len())];
        let edit = Edit { path: (*doc.path).clone(), range: TextRange::empty(cell.range.end()), content: add.clone() };
        let out = fix::write_back(&doc, &[&edit]).unwrap();
        let spans = bricklint::source::ipynb::source_spans(&raw).unwrap();
        let (s, e) = spans[cell.index];
        prop_assert_eq!(&out[..s], &raw[..s]);
        prop_assert_eq!(&out[out.len() - (raw.len() - e)..], &raw[e..]);
        let again = load(FileKind::Ipynb, "a.ipynb", out);
        prop_assert_eq!(again.cells.len(), doc.cells.len());
        let expected = format!("{}{add}", &doc.text[cell.range]);
        prop_assert_eq!(&again.text[again.cells[cell.index].range], expected.as_str());
    }
}
