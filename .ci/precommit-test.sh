#!/usr/bin/env bash
# Test the pre-commit hook with the real runner: `pre-commit run` with a config that points at
# this repository, in temporary git repositories holding a bundle.
#   1. a bundle with driver-side fan-out (fixtures/cli/precommit/fail): the hook must fail;
#   2. the same bundle, hook run on the child notebook only: must pass (only findings in the
#      given files are reported, while the whole bundle is analysed);
#   3. a bundle using a For Each task (fixtures/cli/precommit/pass): must pass.
# `language: rust` makes pre-commit `cargo install` this repository (a release build) once; the
# runs share that environment. (`pre-commit try-repo` would build it again on every call, into a
# throwaway store: measured 6-7 min per call on a loaded 2-core machine.)
# Set BRICKLINT_CI_CACHE to keep pre-commit's own venv between runs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${BRICKLINT_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bricklint-ci}"
mkdir -p "$cache"
venv="$cache/precommit-venv"
if [ ! -x "$venv/bin/pre-commit" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check pre-commit
fi
export PATH="$venv/bin:$PATH"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A private pre-commit store, so the hook is built from this commit.
export PRE_COMMIT_HOME="$work/pre-commit-home"
export CARGO_TERM_COLOR=never
# Let pre-commit's `cargo install` reuse the release build of the dependencies made by the wheel
# step (same profile and target directory); the bricklint crate itself is rebuilt.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
# pre-commit clones the repository at HEAD: uncommitted changes are not tested.
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
    echo "note: uncommitted changes in $root are not part of the hook under test"
fi
rev=$(git -C "$root" rev-parse HEAD)

new_repo() { # new_repo DIR FIXTURE
    mkdir -p "$1"
    cp -r "$root/fixtures/cli/precommit/$2/." "$1/"
    cat >"$1/.pre-commit-config.yaml" <<YAML
repos:
  - repo: $root
    rev: $rev
    hooks:
      - id: bricklint
YAML
    git -C "$1" init -q
    git -C "$1" add -A
    git -C "$1" -c user.name=ci -c user.email=ci@example.invalid commit -qm init
}

# The failing case: driver fan-out (ORC001). Until ORC001 exists, a syntax error (NB001).
fail_repo="$work/fail"
new_repo "$fail_repo" fail
expect=ORC001
bricklint_bin="$root/target/debug/bricklint"
if [ -x "$bricklint_bin" ] && ! "$bricklint_bin" rule ORC001 >/dev/null 2>&1; then
    expect=NB001
    printf '# Databricks notebook source\ndef broken(:\n    pass\n' >"$fail_repo/notebooks/broken.py"
    git -C "$fail_repo" add -A
    git -C "$fail_repo" -c user.name=ci -c user.email=ci@example.invalid commit -qm broken
fi

status=0
run() { # run NAME EXPECTED_RC DIR ARGS...
    local name=$1 want=$2 dir=$3
    shift 3
    local start=$SECONDS rc=0
    (cd "$dir" && pre-commit run bricklint --verbose "$@") >"$work/$name.log" 2>&1 || rc=$?
    echo "pre-commit $name: exit $rc (want $want), $((SECONDS - start)) s"
    if [ "$rc" != "$want" ]; then
        cat "$work/$name.log"
        status=1
    fi
}

run fail-all-files 1 "$fail_repo" --all-files
if ! grep -q "$expect" "$work/fail-all-files.log"; then
    echo "the failing run does not report $expect:"; cat "$work/fail-all-files.log"; status=1
fi
run child-only 0 "$fail_repo" --files notebooks/bronze_ingest.py
pass_repo="$work/pass"
new_repo "$pass_repo" pass
run pass-all-files 0 "$pass_repo" --all-files
exit $status
