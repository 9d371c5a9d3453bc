//! Property tests for the loaders: whatever the input, loading never panics, and every position
//! bricklint can report (cell ranges, code lines, Python syntax-error locations, resolved
//! lines/columns/cells) lies inside the file.
//!
//! The write-back round trip is in `proptest_roundtrip.rs`, "a migration applied twice equals
//! once" in `proptest_migrate.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bricklint::source::{self, Document, FileKind, Lang};
use proptest::prelude::*;
use ruff_text_size::{TextRange, TextSize};

fn load(kind: FileKind, name: &str, text: String) -> Option<Document> {
    Document::load(Arc::new(PathBuf::from(name)), kind, text).ok()
}

/// Every invariant a loaded document must satisfy.
fn check_invariants(doc: &Document) {
    let len = TextSize::of(doc.text.as_str());
    let n_lines = doc.lines().line_count() as u32;
    let mut prev_end = TextSize::new(0);
    for (i, c) in doc.cells.iter().enumerate() {
        assert_eq!(c.index, i, "cell indices are dense");
        assert!(
            c.range.end() <= len,
            "cell {i} range {:?} past the end {len:?}",
            c.range
        );
        assert!(
            c.range.start() >= prev_end,
            "cells overlap or are out of order"
        );
        assert!(doc.text.is_char_boundary(c.range.start().into()));
        assert!(doc.text.is_char_boundary(c.range.end().into()));
        prev_end = c.range.end();
        for l in c.lines.iter(&doc.text) {
            assert!(l.end() <= len, "code line {l:?} past the end");
            assert!(
                doc.text.is_char_boundary(l.start().into())
                    && doc.text.is_char_boundary(l.end().into())
            );
            assert!(!doc.text[l].contains('\n'), "a code line spans lines");
        }
        if let Some((_, r)) = &c.run_target {
            assert!(r.end() <= len);
        }
    }
    // Resolution of ranges at and around cell boundaries and arbitrary offsets.
    let mut offsets: Vec<TextSize> = doc
        .cells
        .iter()
        .flat_map(|c| [c.range.start(), c.range.end()])
        .collect();
    offsets.extend([TextSize::new(0), len]);
    for o in offsets {
        let r = doc.resolve(TextRange::empty(o));
        assert!(
            r.line >= 1 && r.line <= n_lines,
            "line {} of {n_lines}",
            r.line
        );
        assert!(r.column >= 1);
        if let Some(cell) = r.cell {
            assert!(cell >= 1 && cell as usize <= doc.cells.len());
        }
        if let Some(raw) = &doc.raw {
            let raw_lines = raw.matches('\n').count() as u32 + 1;
            assert!(r.file_line >= 1 && r.file_line <= raw_lines);
        }
    }
    // Python: errors and every statement map back inside the document.
    if let Some(py) = doc.python() {
        for e in py.errors() {
            let r = py.to_doc(e.location);
            assert!(r.end() <= len, "error location {r:?} past the end {len:?}");
            let res = doc.resolve(r);
            assert!(res.line >= 1 && res.line <= n_lines);
        }
        for s in &py.module().body {
            let r = py.doc_range(s);
            assert!(r.end() <= len, "statement range {r:?} past the end {len:?}");
        }
    }
}

/// Notebook-ish text: header, separators, MAGIC lines, titles, CRLF, BOM and noise.
fn notebookish(prefix: &'static str) -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just(format!("{prefix} COMMAND ----------")),
        Just(format!("{prefix} MAGIC %python")),
        Just(format!("{prefix} MAGIC %sql")),
        Just(format!("{prefix} MAGIC %md")),
        Just(format!("{prefix} MAGIC %run ./x")),
        Just(format!("{prefix} MAGIC %pip install a")),
        Just(format!("{prefix} MAGIC")),
        Just(format!("{prefix} DBTITLE 1,t")),
        Just("x = dbutils.notebook.run(\"a\", 0)".to_string()),
        Just("def f(:".to_string()),
        Just("    return (".to_string()),
        Just(String::new()),
        Just("\r".to_string()),
        "[ -~\u{e9}\u{1F600}\t]{0,30}",
    ];
    (
        prop::bool::ANY,
        prop::collection::vec(line, 0..40),
        prop::bool::ANY,
    )
        .prop_map(move |(bom, lines, crlf)| {
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut s = String::new();
            if bom {
                s.push('\u{feff}');
            }
            s.push_str(prefix);
            s.push_str(" Databricks notebook source");
            s.push_str(nl);
            s.push_str(&lines.join(nl));
            s
        })
}

fn ipynb_doc() -> impl Strategy<Value = String> {
    let source = prop_oneof![
        "[ -~\n\u{e9}]{0,60}".prop_map(serde_json::Value::from),
        prop::collection::vec("[ -~\n]{0,20}", 0..5).prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
        Just(serde_json::json!(42)),
    ];
    let cell = (
        prop_oneof![Just("code"), Just("markdown"), Just("raw"), Just("weird")],
        source,
        prop_oneof![
            Just(None),
            Just(Some("%sql\nSELECT 1")),
            Just(Some("%python\nx = 1")),
            Just(Some("%run ./helpers"))
        ],
    )
        .prop_map(|(t, s, magic)| {
            let source = match magic {
                Some(m) => serde_json::Value::from(m),
                None => s,
            };
            serde_json::json!({"cell_type": t, "metadata": {}, "source": source})
        });
    (
        prop::collection::vec(cell, 0..8),
        prop_oneof![Just("python"), Just("sql"), Just("scala"), Just("nonsense")],
        prop::bool::ANY,
    )
        .prop_map(|(cells, lang, pretty)| {
            let v = serde_json::json!({
                "cells": cells,
                "metadata": {"application/vnd.databricks.v1+notebook": {"language": lang}},
                "nbformat": 4, "nbformat_minor": 5
            });
            if pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                v.to_string()
            }
        })
}

/// What a loaded notebook is made of, for comparing two loaders.
fn ipynb_shape(raw: &str, general: bool) -> Result<String, String> {
    let path = Arc::new(PathBuf::from("a.ipynb"));
    let r = if general {
        source::ipynb::parse_ipynb_general(path, raw.to_string())
    } else {
        source::ipynb::parse_ipynb(path, raw.to_string())
    };
    r.map(|d| format!("{:?}\n{:?}\n{:?}", d.text, d.cells, d.file_lines))
        .map_err(|e| e.message)
}

/// Richer notebooks than `ipynb_doc`: any text in sources and titles (escapes, control
/// characters, non-BMP characters), titles of every JSON type, outputs with nested values.
fn ipynb_rich() -> impl Strategy<Value = String> {
    let text = prop_oneof![
        "\\PC{0,30}",
        "[ -~\t\n\u{1}\u{1f}\\\\\"/\u{e9}\u{1F600}]{0,30}"
    ];
    let source = prop_oneof![
        text.clone().prop_map(serde_json::Value::from),
        prop::collection::vec(text.clone(), 0..4).prop_map(serde_json::Value::from),
    ];
    let title = prop_oneof![
        text.clone().prop_map(serde_json::Value::from),
        Just(serde_json::json!(null)),
        Just(serde_json::json!(-1.5e10)),
        Just(serde_json::json!({"a": [true, false]})),
    ];
    let cell = (
        prop_oneof![
            Just(serde_json::json!("code")),
            Just(serde_json::json!("markdown")),
            Just(serde_json::json!(7))
        ],
        source,
        prop::option::of(title),
        prop::bool::ANY,
    )
        .prop_map(|(t, s, title, outputs)| {
            let mut c = serde_json::json!({"cell_type": t, "source": s});
            if let Some(title) = title {
                c["metadata"] = serde_json::json!({"application/vnd.databricks.v1+cell": {"nuid": "x", "title": title}});
            }
            if outputs {
                c["outputs"] = serde_json::json!([{"data": {"text/plain": ["1\n", "\u{e9}"]}, "n": [0, -0.5, 1e-3, [[[]]], {}]}]);
            }
            c
        });
    (prop::collection::vec(cell, 0..6), prop::bool::ANY).prop_map(|(cells, pretty)| {
        let v = serde_json::json!({
            "metadata": {"kernelspec": {"language": "python"}},
            "cells": cells,
            "nbformat": 4
        });
        if pretty {
            serde_json::to_string_pretty(&v).unwrap()
        } else {
            v.to_string()
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_into_every_loader(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        for (kind, name) in [
            (FileKind::SourceNotebook(Lang::Python), "a.py"),
            (FileKind::SourceNotebook(Lang::Sql), "a.sql"),
            (FileKind::SourceNotebook(Lang::Scala), "a.scala"),
            (FileKind::SourceNotebook(Lang::R), "a.r"),
            (FileKind::PythonModule, "m.py"),
            (FileKind::ScalaFile, "m.scala"),
            (FileKind::Ipynb, "a.ipynb"),
        ] {
            if let Some(doc) = load(kind, name, text.clone()) {
                check_invariants(&doc);
            }
        }
        // Classification of the raw bytes never panics either.
        for name in ["a.py", "a.sql", "a.scala", "a.r", "a.ipynb", "databricks.yml", "x"] {
            let _ = source::classify(Path::new(name), &bytes);
        }
    }

    #[test]
    fn source_notebooks_keep_positions_inside(py in notebookish("#"), sql in notebookish("--"), scala in notebookish("//")) {
        for (text, lang, name) in [(py, Lang::Python, "a.py"), (sql, Lang::Sql, "a.sql"), (scala, Lang::Scala, "a.scala")] {
            let kind = source::classify(Path::new(name), text.as_bytes());
            prop_assert_eq!(kind.clone(), Some(FileKind::SourceNotebook(lang.clone())), "{:?}", &text[..text.len().min(60)]);
            let doc = load(FileKind::SourceNotebook(lang), name, text).unwrap();
            check_invariants(&doc);
        }
    }

    #[test]
    fn ipynb_keeps_positions_inside(raw in ipynb_doc()) {
        // A well-formed notebook always loads.
        let doc = load(FileKind::Ipynb, "a.ipynb", raw.clone());
        prop_assert!(doc.is_some(), "did not load: {}", raw);
        check_invariants(&doc.unwrap());
        // Any truncation of it loads or is an error, never a panic.
        for cut in [raw.len() / 3, raw.len() / 2, raw.len().saturating_sub(1)] {
            let mut cut = cut;
            while !raw.is_char_boundary(cut) {
                cut -= 1;
            }
            if let Some(d) = load(FileKind::Ipynb, "a.ipynb", raw[..cut].to_string()) {
                check_invariants(&d);
            }
        }
    }

    /// The one-pass `.ipynb` loader and the general (`serde_json::Value`) loader agree on every
    /// input: the same document, or both an error. Edits that break the JSON (a byte inserted or
    /// removed anywhere) must not be accepted by the fast path alone.
    #[test]
    fn ipynb_fast_path_equals_general_path(
        raw in prop_oneof![ipynb_rich(), ipynb_doc()],
        edit in prop::option::of((
            any::<prop::sample::Index>(),
            prop::option::of(prop::sample::select(vec![
                ",", "]", "}", "\"", "\\", ":", "0", "-", "e", " ", "\u{1}", "{", "[", "u",
            ])),
        )),
    ) {
        let mut raw = raw;
        if let Some((at, ins)) = edit {
            let mut i = at.index(raw.len() + 1);
            while !raw.is_char_boundary(i) {
                i -= 1;
            }
            match ins {
                Some(s) => raw.insert_str(i, s),
                None if i < raw.len() => {
                    raw.remove(i);
                }
                None => {}
            }
        }
        prop_assert_eq!(ipynb_shape(&raw, false), ipynb_shape(&raw, true), "{}", raw);
    }

    #[test]
    fn python_parsing_maps_inside(code in "[ -~\n\t]{0,300}") {
        let doc = load(FileKind::PythonModule, "m.py", code.clone()).unwrap();
        check_invariants(&doc);
        let nb = format!("# Databricks notebook source\n{}", code.replace('\n', "\n# MAGIC "));
        check_invariants(&load(FileKind::SourceNotebook(Lang::Python), "a.py", nb).unwrap());
    }
}

#[test]
fn every_fixture_loads_with_cells_inside() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack = vec![root.join("fixtures"), root.join("examples")];
    let mut checked = 0;
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            // Fixture links may point out of the repository: never followed.
            if p.is_symlink() {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let Ok(bytes) = std::fs::read(&p) else {
                continue;
            };
            let Some(kind) = source::classify(&p, &bytes[..bytes.len().min(256)]) else {
                continue;
            };
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            if let Ok(doc) = Document::load(Arc::new(p.clone()), kind, text) {
                check_invariants(&doc);
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "no fixture was loaded");
}

/// Inputs the fast `.ipynb` path must hand to the general loader (or read identically).
#[test]
fn ipynb_fast_path_edge_cases_match_the_general_path() {
    let deep = format!(
        "{{\"cells\": [], \"x\": {}{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    let cases = [
        r#"{"cells": [{"source": "a"}], "cells": [{"source": "b"}]}"#.to_string(),
        r#"{"cells": [{"source": "a", "source": "b"}]}"#.into(),
        r#"{"cells": [{"cell_type": "code", "cell_type": "markdown", "source": "a"}]}"#.into(),
        r#"{"cells": [{"source": "a", "metadata": {"application/vnd.databricks.v1+cell": {"title": "x", "title": "y"}}}]}"#.into(),
        r#"{"cells": [{"source": "a", "metadata": {}, "metadata": {"application/vnd.databricks.v1+cell": {"title": "y"}}}]}"#.into(),
        r#"{"metadata": {"kernelspec": {"language": "sql"}}, "metadata": {}, "cells": [{"source": "a"}]}"#.into(),
        r#"{"\u0063ells": [{"source": "a"}]}"#.into(),
        r#"{"cells": [{"\u0073ource": "a"}]}"#.into(),
        r#"{"cells": [{"source": "\ud83d\ude00 \u00e9 \" \\ \/ \b\f\n\r\t"}]}"#.into(),
        r#"{"cells": [{"source": "\ud83d"}]}"#.into(),
        r#"{"cells": [{"source": "\u12"}]}"#.into(),
        r#"{"cells": [{"source": "\u+123"}]}"#.into(),
        r#"{"cells": [{"source": "\x"}]}"#.into(),
        "{\"cells\": [{\"source\": \"a\tb\"}]}".into(),
        "\u{feff}{\"cells\": []}".into(),
        r#"{"cells": []} x"#.into(),
        r#"{"cells": [],}"#.into(),
        r#"{"cells": [{"source": ["a", 1]}]}"#.into(),
        r#"{"cells": [{"source": 5}]}"#.into(),
        r#"{"cells": [{"source": null}]}"#.into(),
        r#"{"cells": [1]}"#.into(),
        r#"{"cells": {}}"#.into(),
        r#"{"cell": []}"#.into(),
        r#"[]"#.into(),
        r#"{"cells": [], "n": 01}"#.into(),
        r#"{"cells": [], "n": 1.}"#.into(),
        r#"{"cells": [], "n": -}"#.into(),
        r#"{"cells": [], "n": 1e}"#.into(),
        r#"{"cells": [], "n": -0.0e+5}"#.into(),
        r#"{"cells": [], "n": tru}"#.into(),
        r#"{"cells": [], "n": [1 2]}"#.into(),
        r#"{"cells": [], "n": {"a" 1}}"#.into(),
        r#"{"cells": [{"cell_type": null, "source": "%sql\nSELECT 1", "metadata": {"application/vnd.databricks.v1+cell": 3}}]}"#.into(),
        deep,
    ];
    for raw in &cases {
        assert_eq!(ipynb_shape(raw, false), ipynb_shape(raw, true), "{raw}");
    }
    // Every notebook of the fixtures and examples too.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack = vec![root.join("fixtures"), root.join("examples")];
    let mut n = 0;
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            // Fixture links may point out of the repository: never followed.
            if p.is_symlink() {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "ipynb") {
                let raw = std::fs::read_to_string(&p).unwrap();
                assert_eq!(
                    ipynb_shape(&raw, false),
                    ipynb_shape(&raw, true),
                    "{}",
                    p.display()
                );
                n += 1;
            }
        }
    }
    assert!(n >= 5, "only {n} notebooks found");
}
