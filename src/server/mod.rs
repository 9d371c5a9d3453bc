//! `bricklint server`: a Language Server over stdio.
//!
//! The same engine and findings as `check`: each change re-checks the bundle of the changed file
//! (or the file alone outside a bundle) with the open editors' unsaved texts laid over the files
//! on disk ([`crate::engine::CheckOptions::overlay`]), and publishes the findings of every file
//! of that bundle. So editing a child notebook updates the findings on the job YAML that runs
//! it, and editing the YAML updates its notebooks' cross-file findings. Code actions offer the
//! rule's fix and a `bricklint: ignore[CODE]` comment; hover on a finding shows its rule's
//! documentation; a configuration error is a diagnostic on the configuration file.
//!
//! Built on `lsp-server` and `lsp-types` (the crates rust-analyzer and ruff's server use): a
//! synchronous loop, no async runtime.

mod convert;
mod notebook;
mod state;
mod transport;

use std::collections::VecDeque;
use std::io;

use lsp_server::{Message, Request};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{
    CodeActionProviderCapability, HoverProviderCapability, InitializeParams, InitializeResult,
    NotebookDocumentSyncOptions, NotebookSelector, OneOf, PositionEncodingKind, SaveOptions,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions,
};
use serde_json::{json, Value};

use convert::Encoding;
use state::Server;
use transport::error_response;

/// Run the server until the client says `exit`. Exit code 0 after `shutdown`, 1 otherwise.
pub fn run() -> io::Result<u8> {
    let (out, input, threads) = transport::stdio()?;
    // The handshake: requests before `initialize` get an error, notifications are dropped.
    let (id, params) = loop {
        match input.recv() {
            Ok(Message::Request(r)) if r.method == "initialize" => break (r.id, r.params),
            Ok(Message::Request(r)) => {
                let _ = out.send(error_response(
                    json!(r.id),
                    -32002,
                    "the server is not initialized".into(),
                ));
            }
            Ok(Message::Notification(n)) if n.method == "exit" => return Ok(1),
            Ok(_) => {}
            Err(_) => return Ok(1),
        }
    };
    let params: InitializeParams = serde_json::from_value(params).unwrap_or_default();
    let enc = negotiate_encoding(&params);
    let notebooks = params.capabilities.notebook_document.is_some();
    let result = InitializeResult {
        capabilities: capabilities(enc, notebooks),
        server_info: Some(ServerInfo {
            name: "bricklint".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    };
    let _ = out.send(json!({"jsonrpc": "2.0", "id": id, "result": result}));
    let mut server = Server::new(out.clone(), enc, &params);
    let code = main_loop(&mut server, &input);
    drop(server);
    let _ = out.send(Value::Null);
    threads.join()?;
    Ok(code)
}

fn negotiate_encoding(params: &InitializeParams) -> Encoding {
    let offered = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref());
    match offered {
        Some(list) if list.contains(&PositionEncodingKind::UTF8) => Encoding::Utf8,
        _ => Encoding::Utf16,
    }
}

fn capabilities(enc: Encoding, notebooks: bool) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(match enc {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..Default::default()
            },
        )),
        notebook_document_sync: notebooks.then(|| {
            OneOf::Left(NotebookDocumentSyncOptions {
                notebook_selector: vec![NotebookSelector::ByNotebook {
                    notebook: lsp_types::Notebook::String("jupyter-notebook".into()),
                    cells: None,
                }],
                save: Some(true),
            })
        }),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        ..Default::default()
    }
}

/// Handle messages until `exit`; the exit code.
fn main_loop(server: &mut Server, input: &crossbeam_channel::Receiver<Message>) -> u8 {
    let mut shutdown = false;
    let mut pending: VecDeque<Message> = VecDeque::new();
    loop {
        let msg = match pending.pop_front() {
            Some(m) => m,
            None => match input.recv() {
                Ok(m) => m,
                Err(_) => return 1,
            },
        };
        match msg {
            Message::Request(r) if r.method == lsp_types::request::Shutdown::METHOD => {
                shutdown = true;
                server.respond(r.id, Ok(Value::Null));
            }
            Message::Request(r) if shutdown => {
                server.respond(
                    r.id,
                    Err((-32600, "the server is shutting down".to_string())),
                );
            }
            Message::Request(r) => handle_request(server, r),
            Message::Notification(n) if n.method == lsp_types::notification::Exit::METHOD => {
                return if shutdown { 0 } else { 1 };
            }
            Message::Notification(n) => {
                server.notify(n);
                // Changes already queued are applied before checking once.
                while let Ok(next) = input.try_recv() {
                    match next {
                        Message::Notification(n)
                            if n.method != lsp_types::notification::Exit::METHOD =>
                        {
                            server.notify(n)
                        }
                        other => {
                            pending.push_back(other);
                            break;
                        }
                    }
                }
                server.flush();
            }
            Message::Response(_) => {}
        }
    }
}

fn handle_request(server: &mut Server, r: Request) {
    use lsp_types::request::{CodeActionRequest, HoverRequest};
    let result = match r.method.as_str() {
        CodeActionRequest::METHOD => parse(r.params).map(|p| server.code_actions(p)),
        HoverRequest::METHOD => parse(r.params).map(|p| server.hover(p)),
        _ => Err((-32601, format!("method not found: {}", r.method))),
    };
    server.respond(r.id, result);
}

fn parse<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, (i32, String)> {
    serde_json::from_value(params).map_err(|e| (-32602, format!("invalid params: {e}")))
}
