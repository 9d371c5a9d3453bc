#!/usr/bin/env bash
# Build the Python wheel with maturin (bindings = "bin"), install it into a fresh venv and run the
# installed `bricklint`: --version, a failing and a passing check. Prints the build time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${BRICKLINT_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bricklint-ci}"
mkdir -p "$cache"
tools="$cache/maturin-venv"
if [ ! -x "$tools/bin/maturin" ]; then
    python3 -m venv "$tools"
    "$tools/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.5,<2"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
start=$SECONDS
"$tools/bin/maturin" build --release --locked --out "$work/wheels" 2>&1 | grep -Ev '^\s+Compiling ' || {
    echo "maturin build failed"; exit 1; }
echo "wheel build (release): $((SECONDS - start)) s"
wheel=$(ls "$work"/wheels/bricklint-*.whl)
echo "wheel: $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check --no-index "$wheel"
bin="$work/venv/bin/bricklint"
[ -x "$bin" ] || { echo "the wheel did not install bin/bricklint"; exit 1; }
version=$("$bin" --version)
echo "installed: $version"
want="bricklint $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
[ "$version" = "$want" ] || { echo "expected '$want'"; exit 1; }

cd "$root/fixtures/cli"
rc=0; "$bin" check findings --output-format concise >"$work/findings.txt" || rc=$?
[ "$rc" = 1 ] && grep -q NB001 "$work/findings.txt" || {
    echo "installed bricklint: expected exit 1 with NB001, got $rc"; cat "$work/findings.txt"; exit 1; }
rc=0; "$bin" check clean >"$work/clean.txt" || rc=$?
[ "$rc" = 0 ] || { echo "installed bricklint: expected exit 0 on a clean tree, got $rc"; cat "$work/clean.txt"; exit 1; }
echo "installed bricklint: findings -> exit 1, clean -> exit 0"

echo "== bundle plugin: the wheel's Python package with databricks-bundles (build phases as the CLI runs them)"
bash "$root/.ci/plugin-test.sh" "$wheel"
