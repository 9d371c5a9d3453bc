//! The server's state: open documents, what was published, and the findings kept for code
//! actions and hover.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbeam_channel::Sender;
use lsp_server::{Notification as RpcNotification, RequestId};
use lsp_types::notification::Notification as _;
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, DidChangeTextDocumentParams,
    DidChangeWatchedFilesParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    DidSaveTextDocumentParams, Hover, HoverContents, HoverParams, InitializeParams, MarkupContent,
    MarkupKind, Position, PublishDiagnosticsParams, Range, TextEdit, Uri, WorkspaceEdit,
};
use serde_json::{json, Value};

use super::convert::{self, apply_change, path_to_uri, uri_to_path, Encoding, Lines};
use super::notebook::{self, Notebooks};
use super::transport::error_response;
use crate::config::{Config, ConfigError};
use crate::diagnostic::{Applicability, Message};
use crate::engine::{self, CheckOptions, ReportScope};

/// A finding as published, with what code actions and hover need.
struct Found {
    diag: lsp_types::Diagnostic,
    code: &'static str,
    fix: Option<(String, WorkspaceEdit)>,
    suppress: Option<TextEdit>,
}

struct OpenDoc {
    text: String,
}

pub struct Server {
    out: Sender<Value>,
    enc: Encoding,
    /// Workspace folders (where a configuration is looked for when a file has none above it).
    roots: Vec<PathBuf>,
    open: BTreeMap<PathBuf, OpenDoc>,
    notebooks: Notebooks,
    /// Files changed since the last check.
    dirty: BTreeSet<PathBuf>,
    /// URIs with diagnostics, by the scope (bundle root or file) whose check published them.
    published: HashMap<PathBuf, HashSet<String>>,
    found: HashMap<String, Vec<Found>>,
    /// The configuration file with a published error, if any.
    config_error: Option<Uri>,
    /// Watched files registered with the client.
    watch_registered: bool,
    can_watch: bool,
}

/// The comment that suppresses `code` on a line of a file of this kind.
fn suppression_comment(path: &Path, code: &str) -> String {
    let marker = match path.extension().and_then(|e| e.to_str()) {
        Some("sql") => "--",
        Some("scala") => "//",
        _ => "#",
    };
    format!("  {marker} bricklint: ignore[{code}]")
}

impl Server {
    pub fn new(out: Sender<Value>, enc: Encoding, params: &InitializeParams) -> Self {
        let mut roots: Vec<PathBuf> = params
            .workspace_folders
            .iter()
            .flatten()
            .filter_map(|f| uri_to_path(&f.uri))
            .collect();
        #[allow(deprecated)]
        if let Some(p) = params.root_uri.as_ref().and_then(uri_to_path) {
            roots.push(p);
        }
        let can_watch = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|d| d.dynamic_registration)
            .unwrap_or(false);
        Server {
            out,
            enc,
            roots,
            open: BTreeMap::new(),
            notebooks: Notebooks::default(),
            dirty: BTreeSet::new(),
            published: HashMap::new(),
            found: HashMap::new(),
            config_error: None,
            watch_registered: false,
            can_watch,
        }
    }

    pub fn respond(&self, id: RequestId, result: Result<Value, (i32, String)>) {
        let msg = match result {
            Ok(v) => json!({"jsonrpc": "2.0", "id": id, "result": v}),
            Err((code, m)) => error_response(json!(id), code, m),
        };
        let _ = self.out.send(msg);
    }

    fn send_notification(&self, method: &str, params: impl serde::Serialize) {
        let _ = self
            .out
            .send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Apply a notification; changed files are checked by [`Server::flush`].
    pub fn notify(&mut self, n: RpcNotification) {
        use lsp_types::notification::*;
        let p = |n: RpcNotification| n.params;
        match n.method.as_str() {
            Initialized::METHOD => self.register_watchers(),
            DidOpenTextDocument::METHOD => {
                if let Ok(d) = serde_json::from_value::<DidOpenTextDocumentParams>(p(n)) {
                    if let Some(path) = uri_to_path(&d.text_document.uri) {
                        self.open.insert(
                            path.clone(),
                            OpenDoc {
                                text: d.text_document.text,
                            },
                        );
                        self.dirty.insert(path);
                    }
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(d) = serde_json::from_value::<DidChangeTextDocumentParams>(p(n)) {
                    self.change_text(d);
                }
            }
            DidSaveTextDocument::METHOD => {
                if let Ok(d) = serde_json::from_value::<DidSaveTextDocumentParams>(p(n)) {
                    self.dirty.extend(uri_to_path(&d.text_document.uri));
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(d) = serde_json::from_value::<DidCloseTextDocumentParams>(p(n)) {
                    if let Some(path) = uri_to_path(&d.text_document.uri) {
                        self.open.remove(&path);
                        self.dirty.insert(path);
                    }
                }
            }
            DidChangeWatchedFiles::METHOD => {
                if let Ok(d) = serde_json::from_value::<DidChangeWatchedFilesParams>(p(n)) {
                    for c in d.changes {
                        self.dirty.extend(uri_to_path(&c.uri));
                    }
                }
            }
            DidOpenNotebookDocument::METHOD => {
                if let Ok(d) = serde_json::from_value(p(n)) {
                    self.dirty.extend(self.notebooks.open(d));
                }
            }
            DidChangeNotebookDocument::METHOD => {
                if let Ok(d) = serde_json::from_value(p(n)) {
                    self.dirty.extend(self.notebooks.change(d, self.enc));
                }
            }
            DidSaveNotebookDocument::METHOD => {
                if let Ok(d) =
                    serde_json::from_value::<lsp_types::DidSaveNotebookDocumentParams>(p(n))
                {
                    self.dirty.extend(uri_to_path(&d.notebook_document.uri));
                }
            }
            DidCloseNotebookDocument::METHOD => {
                if let Ok(d) = serde_json::from_value(p(n)) {
                    if let Some(path) = self.notebooks.close(d) {
                        self.dirty.insert(path);
                    }
                }
            }
            _ => {}
        }
    }

    fn change_text(&mut self, d: DidChangeTextDocumentParams) {
        let Some(path) = uri_to_path(&d.text_document.uri) else {
            return;
        };
        let Some(doc) = self.open.get_mut(&path) else {
            return;
        };
        for ch in d.content_changes {
            apply_change(&mut doc.text, ch, self.enc);
        }
        self.dirty.insert(path);
    }

    fn register_watchers(&mut self) {
        if !self.can_watch || self.watch_registered {
            return;
        }
        self.watch_registered = true;
        let glob = "**/*.{py,sql,scala,r,ipynb,yml,yaml,toml}";
        let _ = self.out.send(json!({
            "jsonrpc": "2.0", "id": "bricklint-watch", "method": "client/registerCapability",
            "params": {"registrations": [{
                "id": "bricklint-watched-files",
                "method": "workspace/didChangeWatchedFiles",
                "registerOptions": {"watchers": [{"globPattern": glob}]}
            }]}
        }));
    }

    /// Check what changed and publish.
    pub fn flush(&mut self) {
        let dirty = std::mem::take(&mut self.dirty);
        let mut scopes: BTreeSet<PathBuf> = BTreeSet::new();
        for p in dirty {
            if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                matches!(n, "bricklint.toml" | ".bricklint.toml" | "pyproject.toml")
            }) {
                // A configuration change: every scope checked so far.
                scopes.extend(self.published.keys().cloned());
                scopes.extend(self.open.keys().map(|p| scope_of(p)));
                continue;
            }
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            let checked = ["py", "sql", "scala", "r", "ipynb", "yml", "yaml"];
            if checked.contains(&ext.to_ascii_lowercase().as_str()) {
                scopes.insert(scope_of(&p));
            }
        }
        for s in scopes {
            self.check_scope(&s);
        }
    }

    /// The configuration for `dir`; an error is published on the configuration file.
    fn config_for(&mut self, dir: &Path) -> Config {
        let found = Config::discover(dir);
        let (config, error) = match found {
            Ok(c) => (c, None),
            Err(e) => (Config::default(), Some(e)),
        };
        if let Some(old) = self.config_error.take() {
            self.publish(&old, Vec::new(), Vec::new());
        }
        if let Some(e) = error {
            let (path, line, column, message) = match e {
                ConfigError::Invalid {
                    path,
                    line,
                    column,
                    message,
                } => (path, line, column, message),
                ConfigError::Io { path, err } => (path, 1, 1, format!("cannot read: {err}")),
            };
            let abs = crate::discover::absolutize(Path::new(&path));
            let uri = path_to_uri(&abs);
            let pos = Position::new(
                line.saturating_sub(1) as u32,
                column.saturating_sub(1) as u32,
            );
            let diag = lsp_types::Diagnostic {
                range: Range::new(pos, pos),
                severity: Some(lsp_types::DiagnosticSeverity::ERROR),
                source: Some("bricklint".into()),
                message: format!("invalid configuration: {message} (the defaults are used)"),
                ..Default::default()
            };
            self.publish(&uri, vec![diag], Vec::new());
            self.config_error = Some(uri);
        }
        config
    }

    fn overlay(&self) -> BTreeMap<PathBuf, String> {
        let mut o: BTreeMap<PathBuf, String> = self
            .open
            .iter()
            .map(|(p, d)| (p.clone(), d.text.clone()))
            .collect();
        for (p, cells) in &self.notebooks.by_path {
            o.insert(p.clone(), notebook::to_ipynb(cells));
        }
        o
    }

    /// Check one bundle (or file) and publish the findings of all its files.
    fn check_scope(&mut self, scope: &Path) {
        let dir = if scope.is_dir() {
            scope.to_path_buf()
        } else {
            scope.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let dir = if dir.as_os_str().is_empty() {
            self.roots.first().cloned().unwrap_or_default()
        } else {
            dir
        };
        let config = self.config_for(&dir);
        let opts = CheckOptions {
            paths: vec![scope.to_path_buf()],
            config,
            report_scope: ReportScope::Bundle,
            overlay: Some(Arc::new(self.overlay())),
            ..Default::default()
        };
        if !scope.exists() && !opts.overlay.as_ref().is_some_and(|o| o.contains_key(scope)) {
            self.clear_scope(scope, &HashSet::new());
            return;
        }
        let result = match engine::check(&opts) {
            Ok(r) => r,
            Err(e) => {
                self.send_notification(
                    "window/showMessage",
                    json!({"type": 1, "message": format!("bricklint: {e}")}),
                );
                return;
            }
        };
        let mut by_uri: BTreeMap<String, (Uri, Vec<Found>)> = BTreeMap::new();
        for m in &result.messages {
            for (uri, f) in self.found_of(&result, m) {
                by_uri
                    .entry(uri.as_str().to_string())
                    .or_insert_with(|| (uri.clone(), Vec::new()))
                    .1
                    .push(f);
            }
        }
        // Open documents of the scope without findings are published too (empty): the editor
        // learns that the change was checked.
        for p in self.open.keys().filter(|p| p.starts_with(scope)) {
            let uri = path_to_uri(p);
            by_uri
                .entry(uri.as_str().to_string())
                .or_insert_with(|| (uri, Vec::new()));
        }
        let now: HashSet<String> = by_uri
            .iter()
            .filter(|(_, (_, f))| !f.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        self.clear_scope(scope, &now);
        for (_, (uri, found)) in by_uri {
            let diags = found.iter().map(|f| f.diag.clone()).collect();
            self.publish(&uri, diags, found);
        }
        self.published.insert(scope.to_path_buf(), now);
    }

    /// Publish empty diagnostics for what `scope` published before and not now.
    fn clear_scope(&mut self, scope: &Path, now: &HashSet<String>) {
        let before = self.published.remove(scope).unwrap_or_default();
        for u in before.difference(now) {
            if let Ok(uri) = u.parse::<Uri>() {
                self.publish(&uri, Vec::new(), Vec::new());
            }
        }
    }

    fn publish(&mut self, uri: &Uri, diagnostics: Vec<lsp_types::Diagnostic>, found: Vec<Found>) {
        self.found.insert(uri.as_str().to_string(), found);
        self.send_notification(
            lsp_types::notification::PublishDiagnostics::METHOD,
            PublishDiagnosticsParams {
                uri: uri.clone(),
                diagnostics,
                version: None,
            },
        );
    }

    /// The text of a file as the editor has it (or as on disk).
    fn text_of(&self, path: &Path, result: &engine::CheckResult) -> Option<String> {
        if let Some(d) = self.open.get(path) {
            return Some(d.text.clone());
        }
        let is_ipynb = path.extension().is_some_and(|e| e == "ipynb");
        match result.document(path) {
            Some(doc) if !is_ipynb => Some(doc.text.clone()),
            _ => std::fs::read_to_string(path).ok(),
        }
    }

    /// Where a finding is published (a file, or a notebook cell), with its actions.
    fn found_of(&self, result: &engine::CheckResult, m: &Message) -> Vec<(Uri, Found)> {
        let path = m.abs_path.as_path();
        let enc = self.enc;
        let s = &m.span;
        // A notebook open as cells: the cell's URI, positions inside the cell.
        if let (Some(cells), Some(cell)) = (self.notebooks.by_path.get(path), s.cell) {
            let Some(c) = cells.get(cell as usize - 1) else {
                return Vec::new();
            };
            let range =
                notebook::cell_range(&c.text, (s.line, s.column, s.end_line, s.end_column), enc);
            let line_end = Lines::new(&c.text)
                .line_range(range.start.line, range.start.line, enc)
                .end;
            let found = Found {
                diag: convert::diagnostic(m, range),
                code: m.code,
                fix: None,
                suppress: Some(TextEdit::new(
                    Range::new(line_end, line_end),
                    suppression_comment(Path::new("cell.py"), m.code),
                )),
            };
            return vec![(c.uri.clone(), found)];
        }
        let Some(text) = self.text_of(path, result) else {
            return Vec::new();
        };
        let lines = Lines::new(&text);
        let is_ipynb = path.extension().is_some_and(|e| e == "ipynb");
        let range = if is_ipynb {
            // The JSON lines of the cell source.
            lines.line_range(
                s.file_line.saturating_sub(1),
                s.file_end_line.saturating_sub(1),
                enc,
            )
        } else {
            Range::new(
                lines.position(usize::from(s.range.start()), enc),
                lines.position(usize::from(s.range.end()), enc),
            )
        };
        let suppress = (!is_ipynb).then(|| {
            let end = lines
                .line_range(range.start.line, range.start.line, enc)
                .end;
            TextEdit::new(Range::new(end, end), suppression_comment(path, m.code))
        });
        let found = Found {
            diag: convert::diagnostic(m, range),
            code: m.code,
            fix: self.fix_edit(result, m),
            suppress,
        };
        vec![(path_to_uri(path), found)]
    }

    /// The rule's fix as a workspace edit (`lsp-types` keys its edits by `Uri`, which clippy
    /// calls a mutable key type: it is never mutated here) (not for `.ipynb`, whose edits are in the JSON).
    #[allow(clippy::mutable_key_type)]
    fn fix_edit(
        &self,
        result: &engine::CheckResult,
        m: &Message,
    ) -> Option<(String, WorkspaceEdit)> {
        let fix = m.fix.as_ref()?;
        if fix.applicability == Applicability::DisplayOnly || fix.edits.is_empty() {
            return None;
        }
        let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
        for e in &fix.edits {
            if e.path.extension().is_some_and(|x| x == "ipynb") {
                return None;
            }
            let text = self.text_of(&e.path, result)?;
            let l = Lines::new(&text);
            let range = Range::new(
                l.position(usize::from(e.range.start()), self.enc),
                l.position(usize::from(e.range.end()), self.enc),
            );
            changes
                .entry(path_to_uri(&e.path))
                .or_default()
                .push(TextEdit::new(range, e.content.clone()));
        }
        let title = match fix.applicability {
            Applicability::Unsafe => format!("{} (unsafe fix)", fix.title),
            _ => fix.title.clone(),
        };
        Some((
            title,
            WorkspaceEdit {
                changes: Some(changes),
                ..Default::default()
            },
        ))
    }

    fn found_at(&self, uri: &Uri, range: Range) -> impl Iterator<Item = &Found> {
        self.found
            .get(uri.as_str())
            .into_iter()
            .flatten()
            .filter(move |f| f.diag.range.start <= range.end && range.start <= f.diag.range.end)
    }

    #[allow(clippy::mutable_key_type)]
    pub fn code_actions(&self, p: CodeActionParams) -> Value {
        let uri = &p.text_document.uri;
        let mut out: Vec<CodeActionOrCommand> = Vec::new();
        for f in self.found_at(uri, p.range) {
            if let Some((title, edit)) = &f.fix {
                out.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: title.clone(),
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![f.diag.clone()]),
                    edit: Some(edit.clone()),
                    is_preferred: Some(true),
                    ..Default::default()
                }));
            }
            if let Some(edit) = &f.suppress {
                out.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: format!("Suppress {} with `bricklint: ignore[{}]`", f.code, f.code),
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![f.diag.clone()]),
                    edit: Some(WorkspaceEdit {
                        changes: Some(HashMap::from([(uri.clone(), vec![edit.clone()])])),
                        ..Default::default()
                    }),
                    ..Default::default()
                }));
            }
        }
        serde_json::to_value(out).unwrap_or(Value::Null)
    }

    pub fn hover(&self, p: HoverParams) -> Value {
        let pos = p.text_document_position_params.position;
        let uri = &p.text_document_position_params.text_document.uri;
        let docs: Vec<String> = self
            .found_at(uri, Range::new(pos, pos))
            .filter_map(|f| crate::rules::find(f.code))
            .map(|r| {
                let m = r.meta();
                format!("### {} ({})\n\n{}\n\n{}", m.name, m.code, m.summary, m.doc)
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if docs.is_empty() {
            return Value::Null;
        }
        let hover = Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: docs.join("\n\n---\n\n"),
            }),
            range: None,
        };
        serde_json::to_value(hover).unwrap_or(Value::Null)
    }
}

/// What is checked when `path` changes: its bundle, or the file alone outside a bundle.
fn scope_of(path: &Path) -> PathBuf {
    crate::discover::bundle_root_of(path).unwrap_or_else(|| path.to_path_buf())
}
