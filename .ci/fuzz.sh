#!/usr/bin/env bash
# Fuzz targets of fuzz/ (notebook loader, bundle YAML loader with includes and variables, payload
# checker), each run for FUZZ_SECONDS (default 60) on a corpus seeded from fixtures/ by
# fuzz/seed.sh. A crash, a panic, a timeout (10 s an input) or memory over 2 GB fails the step;
# libFuzzer prints the input and cargo-fuzz the command that replays it
# (fuzz/artifacts/<target>/).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH="${FUZZ_SECONDS:-60}"
CARGO_FUZZ_VERSION=0.13.1
TOOLS="$PWD/target/fuzz-tools"
if ! "$TOOLS/bin/cargo-fuzz" --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
  cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION" --root "$TOOLS"
fi
# cargo-fuzz passes unstable flags (-Z, sanitizer coverage) to rustc: the stable toolchain
# accepts them with RUSTC_BOOTSTRAP=1. No sanitizer: bricklint's unsafe code is two reads into
# a vector; what the fuzzers look for is panics, aborts, hangs and memory blow-ups.
export RUSTC_BOOTSTRAP=1
CORPUS="$PWD/target/fuzz-corpus"
bash fuzz/seed.sh "$CORPUS"

cd fuzz
for target in notebook bundle payload; do
  echo "== fuzz $target (${SECONDS_EACH} s)"
  "$TOOLS/bin/cargo-fuzz" run --sanitizer none --target-dir "$PWD/../target/fuzz" \
    "$target" "$CORPUS/$target" -- \
    -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1
done
