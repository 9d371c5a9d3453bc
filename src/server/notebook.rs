//! Notebooks opened through `notebookDocument/*` (clients that show `.ipynb` as cells): the
//! cells are kept as the client sends them, turned into notebook JSON for the engine, and
//! findings are published on each cell's own URI with positions inside the cell.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use lsp_types::{
    DidChangeNotebookDocumentParams, DidCloseNotebookDocumentParams, DidOpenNotebookDocumentParams,
    NotebookCellKind, TextDocumentItem, Uri,
};
use serde_json::json;

use super::convert::{apply_change, uri_to_path, Encoding, Lines};

/// One cell.
#[derive(Debug, Clone)]
pub struct Cell {
    pub uri: Uri,
    pub markdown: bool,
    pub language: String,
    pub text: String,
}

/// An open notebook, by the path of its `.ipynb` file.
#[derive(Debug, Default)]
pub struct Notebooks {
    pub by_path: BTreeMap<PathBuf, Vec<Cell>>,
    /// Texts of cells whose structure change has not come yet (`didOpen` of cell documents).
    loose: HashMap<String, TextDocumentItem>,
}

/// The notebook JSON (nbformat 4) of the cells, for the engine.
pub fn to_ipynb(cells: &[Cell]) -> String {
    let language = cells
        .iter()
        .find(|c| !c.markdown)
        .map(|c| c.language.clone())
        .unwrap_or_else(|| "python".into());
    let cells: Vec<_> = cells
        .iter()
        .map(|c| {
            let source: Vec<&str> = c.text.split_inclusive('\n').collect();
            if c.markdown {
                json!({"cell_type": "markdown", "metadata": {}, "source": source})
            } else {
                json!({"cell_type": "code", "execution_count": null, "metadata": {},
                       "outputs": [], "source": source})
            }
        })
        .collect();
    let nb = json!({
        "cells": cells,
        "metadata": {"language_info": {"name": language}},
        "nbformat": 4,
        "nbformat_minor": 5,
    });
    serde_json::to_string(&nb).unwrap_or_default()
}

fn cell_of(item: &TextDocumentItem, markdown: bool) -> Cell {
    Cell {
        uri: item.uri.clone(),
        markdown,
        language: item.language_id.clone(),
        text: item.text.clone(),
    }
}

impl Notebooks {
    pub fn open(&mut self, p: DidOpenNotebookDocumentParams) -> Option<PathBuf> {
        let path = uri_to_path(&p.notebook_document.uri)?;
        let texts: HashMap<&str, &TextDocumentItem> = p
            .cell_text_documents
            .iter()
            .map(|t| (t.uri.as_str(), t))
            .collect();
        let cells = p
            .notebook_document
            .cells
            .iter()
            .map(|c| {
                let markdown = c.kind == NotebookCellKind::Markup;
                match texts.get(c.document.as_str()) {
                    Some(t) => cell_of(t, markdown),
                    None => Cell {
                        uri: c.document.clone(),
                        markdown,
                        language: "python".into(),
                        text: String::new(),
                    },
                }
            })
            .collect();
        self.by_path.insert(path.clone(), cells);
        Some(path)
    }

    pub fn change(&mut self, p: DidChangeNotebookDocumentParams, enc: Encoding) -> Option<PathBuf> {
        let path = uri_to_path(&p.notebook_document.uri)?;
        let cells = self.by_path.get_mut(&path)?;
        let Some(change) = p.change.cells else {
            return Some(path);
        };
        if let Some(s) = change.structure {
            for t in s.did_open.unwrap_or_default() {
                self.loose.insert(t.uri.as_str().to_string(), t);
            }
            let start = (s.array.start as usize).min(cells.len());
            let end = (start + s.array.delete_count as usize).min(cells.len());
            let new: Vec<Cell> = s
                .array
                .cells
                .unwrap_or_default()
                .iter()
                .map(|c| {
                    let markdown = c.kind == NotebookCellKind::Markup;
                    match self.loose.remove(c.document.as_str()) {
                        Some(t) => cell_of(&t, markdown),
                        None => Cell {
                            uri: c.document.clone(),
                            markdown,
                            language: "python".into(),
                            text: String::new(),
                        },
                    }
                })
                .collect();
            cells.splice(start..end, new);
        }
        for c in change.text_content.unwrap_or_default() {
            if let Some(cell) = cells.iter_mut().find(|x| x.uri == c.document.uri) {
                for ch in c.changes {
                    apply_change(&mut cell.text, ch, enc);
                }
            }
        }
        Some(path)
    }

    pub fn close(&mut self, p: DidCloseNotebookDocumentParams) -> Option<PathBuf> {
        let path = uri_to_path(&p.notebook_document.uri)?;
        self.by_path.remove(&path);
        Some(path)
    }
}

/// Range in cell `text` of a finding's 1-based (line, column) .. (end_line, end_column), as the
/// engine reports `.ipynb` positions (relative to the cell, columns in characters).
pub fn cell_range(
    text: &str,
    (line, column, end_line, end_column): (u32, u32, u32, u32),
    enc: Encoding,
) -> lsp_types::Range {
    let l = Lines::new(text);
    lsp_types::Range::new(
        l.position_of_char(line, column, enc),
        l.position_of_char(end_line, end_column, enc),
    )
}
