#!/usr/bin/env bash
# The bundle plugin with the real databricks-bundles package: install the built wheel and a pinned
# databricks-bundles into a fresh venv, check that `python -m bricklint` runs the bundled binary
# and that the mutator is importable, then run the build phases the Databricks CLI runs
# (`python -m databricks.bundles.build --phase load_resources|apply_mutators ...`) through
# .ci/plugin_build_test.py.
# Usage: .ci/plugin-test.sh WHEEL   (called by .ci/wheel-test.sh with the wheel it built)
set -euo pipefail
wheel="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"
# Pinned: the input/output/diagnostics format of databricks.bundles.build is read from this
# version's build.py.
bundles_pkg="databricks-bundles==1.22.1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check "$wheel" "$bundles_pkg"
want="bricklint $(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
got=$("$py" -m bricklint --version)
[ "$got" = "$want" ] || { echo "python -m bricklint --version: expected '$want', got '$got'"; exit 1; }
echo "python -m bricklint: $got"
# From the installed wheel only: not from the checkout's python/ directory.
cd "$work"
env -u BRICKLINT_BIN -u PYTHONPATH "$py" -c 'import bricklint.bundles as b; print("mutator:", type(b.check_job).__name__, b.check_job.function.__module__ + ":" + b.check_job.function.__name__)'
env -u PYTHONPATH "$py" "$root/.ci/plugin_build_test.py"
