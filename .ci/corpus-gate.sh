#!/usr/bin/env bash
# Real-notebook gate: bricklint over one copy of Databricks' demo notebooks (dbdemos, fetched from
# PyPI by ../shared/corpus/dbdemos.sh and decoded to source format; never checked in).
#
# Fails on
#   - a crash: exit code >= 2 (1 only means "findings");
#   - BL003 file-not-analyzable: a notebook the analyser gave up on;
#   - any ORC001 / ORC002 / ORC004 / ORC005 / ORC008 finding: these notebooks launch no driver
#     fan-out (no notebook run from a pool or loop, no job launched), so each is a false positive.
# Other findings (ORC009 info, NB001 on a genuinely broken cell, ...) are listed, not gated.
#
# usage: .ci/corpus-gate.sh BRICKLINT_BINARY   (builds nothing itself)
set -euo pipefail
if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 BRICKLINT_BINARY" >&2
    exit 2
fi
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$(bash "$root/../shared/corpus/dbdemos.sh" 1)"
notebooks=$(find "$corpus" -type f \( -name '*.py' -o -name '*.sql' -o -name '*.scala' -o -name '*.r' \) | wc -l)
if [ "$notebooks" -lt 100 ]; then
    echo "corpus-gate: only $notebooks notebooks under $corpus; the corpus did not build" >&2
    exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

set +e
"$bin" check --output-format concise "$corpus" >"$work/out.txt" 2>"$work/err.txt"
rc=$?
set -e
if [ "$rc" -ge 2 ]; then
    echo "corpus-gate: bricklint exited $rc on $corpus" >&2
    cat "$work/err.txt" >&2
    tail -n 20 "$work/out.txt" >&2
    exit 1
fi
tail -n 1 "$work/out.txt"
gated=$(grep -E ':[0-9]+:[0-9]+: (BL003|ORC001|ORC002|ORC004|ORC005|ORC008) \[' "$work/out.txt" || true)
if [ -n "$gated" ]; then
    echo "corpus-gate: findings that must not appear on notebooks without driver fan-out:" >&2
    echo "$gated" >&2
    exit 1
fi
echo "corpus-gate: ok ($notebooks notebooks; no crash, no BL003, no ORC001/002/004/005/008)"
