#!/usr/bin/env bash
# Seed corpus of the fuzz targets from the repository's fixtures (never copied into fuzz/):
#   notebook  every notebook and Python/Scala/SQL/R file of fixtures/ and examples/
#   payload   every JSON file of fixtures/ and examples/
#   bundle    one input per fixture bundle: databricks.yml, NUL, up to two resources/*.yml,
#             NUL, NUL-separated, then the first notebook (the layout fuzz_targets/bundle.rs reads)
# plus the hand-made hostile seeds of fuzz/seeds/<target>/.
# Usage: fuzz/seed.sh OUT_DIR   (run from anywhere; OUT_DIR/<target>/ are filled)
set -euo pipefail
out="$(mkdir -p "$1" && cd "$1" && pwd)"
cd "$(dirname "$0")/.."
mkdir -p "$out/notebook" "$out/payload" "$out/bundle"

i=0
while IFS= read -r -d '' f; do
  i=$((i + 1))
  cp "$f" "$out/notebook/fixture-$i"
done < <(find fixtures examples -type f -size -64k \
  \( -name '*.py' -o -name '*.ipynb' -o -name '*.sql' -o -name '*.scala' -o -name '*.r' \) \
  -print0 | sort -z)

i=0
while IFS= read -r -d '' f; do
  i=$((i + 1))
  cp "$f" "$out/payload/fixture-$i"
done < <(find fixtures examples -type f -size -64k -name '*.json' -print0 | sort -z)

i=0
while IFS= read -r -d '' root; do
  dir="$(dirname "$root")"
  i=$((i + 1))
  mapfile -t res < <(find "$dir" -path "$dir/resources/*" -name '*.yml' | sort | head -n 2)
  nb="$(find "$dir" -name '*.py' | sort | head -n 1)"
  {
    cat "$root"
    printf '\0'
    if [ -n "${res[0]:-}" ]; then cat "${res[0]}"; fi
    printf '\0'
    if [ -n "${res[1]:-}" ]; then cat "${res[1]}"; fi
    printf '\0'
    if [ -n "$nb" ]; then cat "$nb"; fi
  } > "$out/bundle/fixture-$i"
done < <(find fixtures examples -name databricks.yml -print0 | sort -z)

for t in notebook payload bundle; do
  if [ -d "fuzz/seeds/$t" ]; then
    cp fuzz/seeds/"$t"/* "$out/$t/"
  fi
  echo "fuzz seed corpus: $t: $(find "$out/$t" -type f | wc -l) inputs"
done
