//! `bricklint server` driven over stdio with JSON-RPC, as an editor drives it: initialize,
//! open a fan-out notebook, change it, ask for code actions and hover, shut down; and a
//! malformed message, which gets an error response while the server keeps running.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use serde_json::{json, Value};

/// How long to wait for an answer before the test fails (a guard against hangs, not a timing).
const WAIT: Duration = Duration::from_secs(120);

struct Client {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next_id: i64,
    /// Notifications and responses seen while waiting for something else.
    seen: Vec<Value>,
}

fn read_frames(out: impl Read, tx: std::sync::mpsc::Sender<Value>) {
    let mut r = BufReader::new(out);
    loop {
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.strip_prefix("Content-Length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
            return;
        }
    }
}

fn uri(p: &Path) -> String {
    format!("file://{}", p.display())
}

impl Client {
    fn start(root: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bricklint"))
            .arg("server")
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || read_frames(stdout, tx));
        let mut c = Client {
            child,
            stdin,
            rx,
            next_id: 0,
            seen: Vec::new(),
        };
        let init = c.request(
            "initialize",
            json!({"processId": null, "rootUri": uri(root), "capabilities": {}}),
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "bricklint");
        assert!(init["result"]["capabilities"]["codeActionProvider"] == true);
        assert!(init["result"]["capabilities"]["hoverProvider"] == true);
        assert_eq!(init["result"]["capabilities"]["positionEncoding"], "utf-16");
        c.notify("initialized", json!({}));
        c
    }

    fn send_raw(&mut self, body: &str) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        let m = json!({"jsonrpc": "2.0", "method": method, "params": params});
        self.send_raw(&m.to_string());
    }

    fn next(&mut self) -> Value {
        self.rx
            .recv_timeout(WAIT)
            .expect("the server answers within the guard time")
    }

    /// Send a request and wait for its response (other messages are kept in `seen`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let m = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_raw(&m.to_string());
        self.response(json!(id))
    }

    fn response(&mut self, id: Value) -> Value {
        loop {
            let m = self.next();
            if m.get("method").is_none() && m["id"] == id {
                return m;
            }
            self.seen.push(m);
        }
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        if let Some(i) = self.seen.iter().position(|m| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
        }) {
            let m = self.seen.remove(i);
            return m["params"]["diagnostics"].as_array().unwrap().clone();
        }
        loop {
            let m = self.next();
            if m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri {
                return m["params"]["diagnostics"].as_array().unwrap().clone();
            }
            self.seen.push(m);
        }
    }
}

const FAN_OUT: &str = r#"# Databricks notebook source
from multiprocessing.pool import ThreadPool


def run_one(name):
    return dbutils.notebook.run("./child", 600, {"name": name})


pool = ThreadPool(8)
results = pool.map(run_one, ["a", "b"])
"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orchestrate.py"), FAN_OUT).unwrap();
    std::fs::write(
        dir.path().join("child.py"),
        "# Databricks notebook source\nname = dbutils.widgets.get(\"name\")\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("producer.py"),
        "# Databricks notebook source\nimport json\n\ntables = [\"a\", \"b\"]\ndbutils.jobs.taskValues.set(key=\"tables\", value=json.dumps(tables))\n",
    )
    .unwrap();
    dir
}

#[test]
fn open_change_code_action_hover_and_shutdown() {
    let dir = project();
    let root = dir.path().canonicalize().unwrap();
    let mut c = Client::start(&root);
    let nb = uri(&root.join("orchestrate.py"));

    // didOpen: ORC001 on the dispatch `pool.map(run_one, ["a", "b"])` (line 10, 0-based 9).
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": nb, "languageId": "python", "version": 1, "text": FAN_OUT}}),
    );
    let d = c.diagnostics(&nb);
    let orc: Vec<&Value> = d.iter().filter(|x| x["code"] == "ORC001").collect();
    assert_eq!(orc.len(), 1, "{d:?}");
    assert_eq!(
        orc[0]["range"],
        json!({"start": {"line": 9, "character": 10}, "end": {"line": 9, "character": 39}})
    );
    assert_eq!(orc[0]["severity"], 1);
    assert_eq!(orc[0]["source"], "bricklint");

    // Hover on the finding: the rule's documentation.
    let h = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": nb}, "position": {"line": 9, "character": 15}}),
    );
    let text = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("notebook-run-in-thread-pool (ORC001)"),
        "{text}"
    );
    assert!(text.contains("## What it does"), "{text}");
    // Nothing to say away from findings.
    let h = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": nb}, "position": {"line": 1, "character": 0}}),
    );
    assert_eq!(h["result"], Value::Null);

    // The suppression code action inserts the comment at the end of the line.
    let a = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": nb},
               "range": {"start": {"line": 9, "character": 12}, "end": {"line": 9, "character": 12}},
               "context": {"diagnostics": []}}),
    );
    let actions = a["result"].as_array().unwrap();
    let suppress = actions
        .iter()
        .find(|x| x["title"].as_str().unwrap().starts_with("Suppress ORC001"))
        .unwrap();
    let edit = &suppress["edit"]["changes"][&nb][0];
    assert_eq!(edit["newText"], "  # bricklint: ignore[ORC001]");
    assert_eq!(edit["range"]["start"], json!({"line": 9, "character": 39}));

    // didChange (unsaved) removing the pool: the diagnostics are cleared.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": nb, "version": 2},
               "contentChanges": [{"range": {"start": {"line": 8, "character": 0},
                                             "end": {"line": 10, "character": 0}},
                                   "text": ""}]}),
    );
    let d = c.diagnostics(&nb);
    assert!(d.is_empty(), "{d:?}");

    // A rule's fix as a code action: TV003's edit replaces `json.dumps(tables)` by `tables`.
    let producer = uri(&root.join("producer.py"));
    let text = std::fs::read_to_string(root.join("producer.py")).unwrap();
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": producer, "languageId": "python", "version": 1, "text": text}}),
    );
    let d = c.diagnostics(&producer);
    let tv = d.iter().find(|x| x["code"] == "TV003").expect("TV003");
    let a = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": producer}, "range": tv["range"],
               "context": {"diagnostics": [tv]}}),
    );
    let fix = a["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| !x["title"].as_str().unwrap().starts_with("Suppress"))
        .expect("the rule's fix");
    assert_eq!(fix["kind"], "quickfix");
    let edits = fix["edit"]["changes"][&producer].as_array().unwrap();
    assert_eq!(edits.len(), 1, "{edits:?}");
    assert_eq!(edits[0]["newText"], "tables");
    assert_eq!(
        edits[0]["range"],
        json!({"start": {"line": 4, "character": 48}, "end": {"line": 4, "character": 66}})
    );

    // An unknown request is an error, the server goes on.
    let r = c.request("bricklint/nope", json!({}));
    assert_eq!(r["error"]["code"], -32601);

    // shutdown, exit: exit code 0.
    let r = c.request("shutdown", Value::Null);
    assert_eq!(r["result"], Value::Null);
    c.notify("exit", Value::Null);
    let status = c.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn malformed_messages_get_errors_and_the_server_keeps_running() {
    let dir = project();
    let root = dir.path().canonicalize().unwrap();
    let mut c = Client::start(&root);
    c.send_raw("{this is not json");
    let e = c.response(Value::Null);
    assert_eq!(e["error"]["code"], -32700, "{e}");
    c.send_raw(r#"{"jsonrpc": "2.0", "id": 41, "params": {}}"#);
    let e = c.response(json!(41));
    assert_eq!(e["error"]["code"], -32600, "{e}");
    // Invalid params of a known request.
    let r = c.request("textDocument/hover", json!({"textDocument": 3}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    // Still running: a notebook opened now is checked.
    let nb = uri(&root.join("orchestrate.py"));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": nb, "languageId": "python", "version": 1, "text": FAN_OUT}}),
    );
    assert!(c.diagnostics(&nb).iter().any(|d| d["code"] == "ORC001"));
    // exit without shutdown: exit code 1 (the protocol says so).
    c.notify("exit", Value::Null);
    assert_eq!(c.child.wait().unwrap().code(), Some(1));
}

#[test]
fn a_configuration_error_is_a_diagnostic_on_the_config_file() {
    let dir = project();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(
        root.join("bricklint.toml"),
        "select = [\"ALL\"]\nnot-a-key = 1\n",
    )
    .unwrap();
    let mut c = Client::start(&root);
    let nb = uri(&root.join("orchestrate.py"));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": nb, "languageId": "python", "version": 1, "text": FAN_OUT}}),
    );
    let d = c.diagnostics(&uri(&root.join("bricklint.toml")));
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["range"]["start"]["line"], 1);
    assert!(
        d[0]["message"].as_str().unwrap().contains("not-a-key"),
        "{d:?}"
    );
    // The notebook is still checked, with the defaults.
    assert!(c.diagnostics(&nb).iter().any(|d| d["code"] == "ORC001"));
    let _ = c.request("shutdown", Value::Null);
    c.notify("exit", Value::Null);
    assert_eq!(c.child.wait().unwrap().code(), Some(0));
}
