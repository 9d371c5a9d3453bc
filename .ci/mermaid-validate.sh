#!/usr/bin/env bash
# Render the Mermaid output of `bricklint plan` with the real renderer (@mermaid-js/mermaid-cli,
# headless Chromium from Debian): every plan fixture must render, a broken control must not.
#
# usage: .ci/mermaid-validate.sh BRICKLINT_BINARY
set -euo pipefail
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${BRICKLINT_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bricklint-ci}/mermaid-cli"
mkdir -p "$cache"

# Puppeteer's own browser download cannot work here: use Debian's chromium.
if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -x "$cache/node_modules/.bin/mmdc" ]; then
    (cd "$cache" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --silent @mermaid-js/mermaid-cli@11 >/dev/null)
fi
mmdc="$cache/node_modules/.bin/mmdc"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf '{"executablePath":"/usr/bin/chromium","args":["--no-sandbox","--disable-gpu"]}\n' >"$work/puppeteer.json"

render() { # render IN.mmd -> status
    timeout 120 "$mmdc" -q -p "$work/puppeteer.json" -i "$1" -o "$1.svg" >"$1.log" 2>&1
}

# A control: a broken chart must be rejected, or this check proves nothing.
printf 'flowchart TD\n  a["x"] --> [[[\n' >"$work/control.mmd"
if render "$work/control.mmd"; then
    echo "mmdc accepted a broken control chart"; exit 1
fi

status=0
cd "$root"
for dir in fixtures/plan/*/; do
    name="$(basename "$dir")"
    args=()
    [ -f "$dir/captured_run.json" ] && args+=(--inputs "$dir/captured_run.json")
    # A fixture may need more arguments (one per line), e.g. `--job` when it holds two jobs.
    if [ -f "$dir/plan.args" ]; then
        while IFS= read -r a; do [ -n "$a" ] && args+=("$a"); done <"$dir/plan.args"
    fi
    "$bin" plan "$dir" --format mermaid "${args[@]}" >"$work/$name.mmd" || [ $? = 1 ]
    if render "$work/$name.mmd" && grep -q '<svg' "$work/$name.mmd.svg"; then
        echo "$name: rendered ($(wc -c <"$work/$name.mmd.svg") bytes of SVG)"
    else
        echo "$name: mermaid-cli failed:"; cat "$work/$name.mmd.log"; status=1
    fi
done
exit $status
