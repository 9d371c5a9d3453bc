//! The stdio transport of the language server: `Content-Length` framed JSON-RPC, read on one
//! thread and written on another, with `lsp-server`'s message types.
//!
//! `lsp-server`'s own stdio reader stops the connection at the first message that is not valid
//! JSON-RPC. Here a malformed message gets a JSON-RPC error response (`-32700` parse error,
//! `-32600` invalid request) and the server keeps reading; only a broken frame (no
//! `Content-Length`, a truncated body) or the end of input ends it.

use std::io::{self, BufRead, Write};
use std::thread;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use lsp_server::Message;
use serde_json::Value;

/// Largest message body accepted (a notebook of the corpus is at most a few MB of JSON).
const MAX_BODY: usize = 256 * 1024 * 1024;

/// Threads that move messages between stdio and the channels.
pub struct IoThreads {
    reader: thread::JoinHandle<()>,
    writer: thread::JoinHandle<io::Result<()>>,
}

impl IoThreads {
    /// Wait for the writer to write everything sent before the `null` that stops it (the
    /// reader may still be blocked on stdin; it ends with the process).
    pub fn join(self) -> io::Result<()> {
        drop(self.reader);
        match self.writer.join() {
            Ok(r) => r,
            Err(_) => Err(io::Error::other("the writer thread panicked")),
        }
    }
}

/// Messages to the client, as JSON (an error response to a message whose id cannot be read has
/// `"id": null`, which `lsp-server`'s types cannot say). `null` itself stops the writer once
/// everything before it is written.
pub type Outgoing = Value;

/// Write one framed message.
pub fn write_frame(out: &mut dyn Write, msg: &Value) -> io::Result<()> {
    let body = serde_json::to_string(msg)?;
    write!(out, "Content-Length: {}\r\n\r\n{body}", body.len())?;
    out.flush()
}

/// Channels over stdin/stdout.
pub fn stdio() -> io::Result<(Sender<Outgoing>, Receiver<Message>, IoThreads)> {
    let (writer_tx, writer_rx) = unbounded::<Outgoing>();
    let writer = thread::Builder::new()
        .name("lsp-writer".into())
        .spawn(move || {
            let stdout = io::stdout();
            let mut out = stdout.lock();
            for msg in writer_rx {
                if msg.is_null() {
                    break;
                }
                write_frame(&mut out, &msg)?;
            }
            out.flush()
        })?;
    let (reader_tx, reader_rx) = bounded::<Message>(64);
    let errors = writer_tx.clone();
    let reader = thread::Builder::new()
        .name("lsp-reader".into())
        .spawn(move || {
            let stdin = io::stdin();
            let mut input = stdin.lock();
            read_loop(&mut input, &reader_tx, &errors);
        })?;
    Ok((writer_tx, reader_rx, IoThreads { reader, writer }))
}

/// Read frames until the input ends; valid messages go to `to_server`, error responses for
/// malformed ones to `to_client`.
pub fn read_loop(
    input: &mut dyn BufRead,
    to_server: &Sender<Message>,
    to_client: &Sender<Outgoing>,
) {
    loop {
        let body = match read_frame(input) {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(e) => {
                eprintln!("bricklint server: {e}; stopping");
                return;
            }
        };
        match parse(&body) {
            Ok(msg) => {
                if to_server.send(msg).is_err() {
                    return;
                }
            }
            Err(resp) => {
                if to_client.send(resp).is_err() {
                    return;
                }
            }
        }
    }
}

/// One `Content-Length` framed body; `None` at the end of input.
fn read_frame(input: &mut dyn BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut length: Option<usize> = None;
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            if length.is_some() {
                break;
            }
            continue;
        }
        if let Some((name, value)) = l.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = Some(value.trim().parse().map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidData, format!("bad header `{l}`"))
                })?);
            }
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad header `{l}`"),
            ));
        }
    }
    let n = length.unwrap_or(0);
    if n > MAX_BODY {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("message of {n} bytes is over the limit of {MAX_BODY}"),
        ));
    }
    let mut body = vec![0; n];
    input.read_exact(&mut body)?;
    Ok(Some(body))
}

/// A message, or the error response it gets.
fn parse(body: &[u8]) -> Result<Message, Value> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| error_response(Value::Null, -32700, format!("parse error: {e}")))?;
    let id = match value.get("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        _ => Value::Null,
    };
    // `lsp-server` reads any object with an `id` as a response: a request without `method`
    // would be dropped unanswered.
    let is_response = value.get("result").is_some() || value.get("error").is_some();
    if value.get("method").is_none() && !is_response {
        return Err(error_response(
            id,
            -32600,
            "invalid request: no `method`".into(),
        ));
    }
    serde_json::from_value::<Message>(value)
        .map_err(|e| error_response(id, -32600, format!("invalid request: {e}")))
}

/// A JSON-RPC error response.
pub fn error_response(id: Value, code: i32, message: String) -> Value {
    serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(s: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{s}", s.len())
    }

    #[test]
    fn malformed_messages_get_errors_and_reading_goes_on() {
        let input = [
            frame("{not json"),
            frame(r#"{"jsonrpc":"2.0","id":7,"params":{}}"#),
            frame(r#"{"jsonrpc":"2.0","id":8,"method":"shutdown"}"#),
        ]
        .concat();
        let (stx, srx) = unbounded();
        let (ctx, crx) = unbounded();
        read_loop(&mut input.as_bytes(), &stx, &ctx);
        let errors: Vec<Value> = crx.try_iter().collect();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0]["id"], Value::Null);
        assert_eq!(errors[0]["error"]["code"], -32700);
        assert_eq!(errors[1]["id"], 7);
        assert_eq!(errors[1]["error"]["code"], -32600);
        let got: Vec<Message> = srx.try_iter().collect();
        assert!(matches!(&got[..], [Message::Request(r)] if r.method == "shutdown"));
    }
}
