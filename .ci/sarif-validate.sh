#!/usr/bin/env bash
# Validate bricklint's SARIF output with Microsoft's official validator (@microsoft/sarif-multitool).
#
# The validator exits 0 even when the log has errors: its findings go to the SARIF log given with
# `-o` (and to the console as `file(line,col): error JSON1002: ...`). So this script reads that
# log and fails when it holds any result of level `error` (schema violations are JSON1xxx errors,
# SARIF rule violations SARIF1xxx errors; SARIF2xxx are notes about optional properties).
#
# usage: .ci/sarif-validate.sh BRICKLINT_BINARY
set -euo pipefail
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${BRICKLINT_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bricklint-ci}/sarif-multitool"
mkdir -p "$cache"
if [ ! -x "$cache/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool" ]; then
    (cd "$cache" && npm install --no-audit --no-fund --silent @microsoft/sarif-multitool@5 >/dev/null)
fi
tool="$cache/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
chmod u+x "$tool"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# One run with findings (a notebook, an .ipynb, several rules, fixes) and one clean run.
cd "$root/fixtures/cli"
set +e
"$bin" check findings mixed fixable bundle --output-format sarif --output-file "$work/findings.sarif"
rc=$?
"$bin" check clean --output-format sarif --output-file "$work/clean.sarif"
rc_clean=$?
set -e
[ "$rc" = 1 ] || { echo "expected exit 1 on findings, got $rc"; exit 1; }
[ "$rc_clean" = 0 ] || { echo "expected exit 0 on a clean tree, got $rc_clean"; exit 1; }
if [ -d "$root/examples/fanout-bundle" ]; then
    (cd "$root/examples/fanout-bundle" && "$bin" check . --output-format sarif --output-file "$work/example.sarif") || true
fi

# A control: a log without tool.driver.name must be reported, or this check proves nothing.
python3 - "$work/findings.sarif" "$work/broken-control.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); del d["runs"][0]["tool"]["driver"]["name"]
json.dump(d, open(sys.argv[2], "w"))
EOF
"$tool" validate -o "$work/control.log" "$work/broken-control.json" >"$work/control.console" 2>&1 || true
if ! grep -q "error JSON1002" "$work/control.console"; then
    echo "the validator did not report a broken control log:"; cat "$work/control.console"; exit 1
fi

status=0
for f in "$work"/*.sarif; do
    out="$f.validation"
    "$tool" validate --level "Error;Warning;Note" -o "$out" "$f" >"$f.console" 2>&1 || true
    if [ ! -s "$out" ]; then
        echo "sarif-multitool wrote no log for $f:"; cat "$f.console"; status=1; continue
    fi
    read -r errors warnings notes < <(python3 - "$out" <<'EOF'
import json, sys
runs = json.load(open(sys.argv[1])).get("runs", [])
res = [r for run in runs for r in run.get("results") or []]
lv = lambda l: sum(1 for r in res if r.get("level", "warning") == l)
print(lv("error"), lv("warning"), lv("note"))
EOF
)
    echo "$(basename "$f"): $errors errors, $warnings warnings, $notes notes"
    if [ "$errors" != 0 ]; then
        grep -E ': error ' "$f.console" || true
        status=1
    fi
    grep -E ': warning ' "$f.console" || true
done
exit $status
