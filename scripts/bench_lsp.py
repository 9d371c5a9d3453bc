#!/usr/bin/env python3
"""Latency of `bricklint server`: time from a `textDocument/didChange` (an unsaved edit) to the
`publishDiagnostics` of that notebook, over the notebooks of a real corpus.

Usage: bench_lsp.py BRICKLINT_BINARY CORPUS_DIR [--notebooks N] [--edits K]

The corpus folder is the workspace. N notebooks (source notebooks and .ipynb; the largest
ones, which are the slowest to re-check) are opened one by one; each gets K edits (a line
appended to the end, then removed), and every edit's latency is measured on the client side,
pipes included. Prints the median, 90th percentile and maximum in milliseconds.
Build the binary with `cargo build --release` first; run it on an idle machine, or read the
figures as an upper bound.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


class Server:
    def __init__(self, binary, root):
        self.p = subprocess.Popen([binary, "server"], cwd=root, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.id = 0
        self.request("initialize", {"processId": None, "rootUri": Path(root).as_uri(),
                                    "capabilities": {}})
        self.notify("initialized", {})

    def send(self, msg):
        body = json.dumps(msg).encode()
        self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.p.stdin.flush()

    def read(self):
        length = 0
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise EOFError("the server stopped")
            line = line.strip()
            if not line:
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.p.stdout.read(length))

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method, params):
        self.id += 1
        self.send({"jsonrpc": "2.0", "id": self.id, "method": method, "params": params})
        while True:
            m = self.read()
            if m.get("id") == self.id and "method" not in m:
                return m

    def diagnostics(self, uri):
        while True:
            m = self.read()
            if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri:
                return m["params"]["diagnostics"]

    def close(self):
        self.request("shutdown", None)
        self.notify("exit", None)
        self.p.wait(timeout=30)


def notebooks(root, n):
    found = []
    for p in Path(root).rglob("*"):
        if p.suffix not in (".py", ".sql", ".scala", ".ipynb") or not p.is_file():
            continue
        head = p.read_bytes()[:200]
        if p.suffix == ".ipynb" or b"Databricks notebook source" in head:
            found.append(p)
    found.sort(key=lambda p: (-p.stat().st_size, str(p)))
    return found[:n]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("corpus")
    ap.add_argument("--notebooks", type=int, default=20)
    ap.add_argument("--edits", type=int, default=10)
    a = ap.parse_args()
    root = os.path.abspath(a.corpus)
    s = Server(os.path.abspath(a.binary), root)
    times = []
    chosen = notebooks(root, a.notebooks)
    for nb in chosen:
        uri = nb.as_uri()
        text = nb.read_text(encoding="utf-8", errors="replace")
        lang = {".sql": "sql", ".scala": "scala"}.get(nb.suffix, "python")
        s.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": lang,
                                                           "version": 1, "text": text}})
        s.diagnostics(uri)
        lines = text.split("\n")
        last = len(lines) - 1
        end_char = len(lines[-1].encode("utf-16-le")) // 2
        for k in range(a.edits):
            # Append a line, then remove it again: the notebook changes, its size stays.
            if k % 2 == 0:
                change = {"range": {"start": {"line": last, "character": end_char},
                                    "end": {"line": last, "character": end_char}},
                          "text": "\nx_bricklint_bench = 1"}
            else:
                change = {"range": {"start": {"line": last, "character": end_char},
                                    "end": {"line": last + 1, "character": 21}},
                          "text": ""}
            t0 = time.perf_counter()
            s.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": k + 2},
                                                "contentChanges": [change]})
            s.diagnostics(uri)
            times.append((time.perf_counter() - t0) * 1000)
        s.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    s.close()
    times.sort()
    p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
    print(f"{len(chosen)} notebooks x {a.edits} edits: didChange -> publishDiagnostics "
          f"median {statistics.median(times):.1f} ms, p90 {p90:.1f} ms, max {times[-1]:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
