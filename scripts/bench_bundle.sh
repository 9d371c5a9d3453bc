#!/usr/bin/env bash
# Benchmark: generate a bundle with 200 jobs x 20 tasks (one include file per job, For Each
# tasks, depends_on chains, dynamic value references, variables) and time `bricklint check` on
# it. Target: under 100 ms (release build).
#
# usage: scripts/bench_bundle.sh [BRICKLINT_BINARY] [JOBS] [TASKS]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-target/release/bricklint}"
JOBS="${2:-200}"
TASKS="${3:-20}"
if [ ! -x "$BIN" ]; then
  echo "building $BIN" >&2
  cargo build --release --quiet
fi
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
python3 - "$DIR" "$JOBS" "$TASKS" <<'PY'
import os, sys
root, jobs, tasks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(f"{root}/resources", exist_ok=True)
os.makedirs(f"{root}/src", exist_ok=True)
with open(f"{root}/databricks.yml", "w") as f:
    f.write("bundle:\n  name: bench\n\ninclude:\n  - resources/*.yml\n\n"
            "variables:\n  parallelism:\n    default: 16\n  catalog:\n    default: dev\n\n"
            "targets:\n  dev:\n    default: true\n  prod:\n    variables:\n      catalog: prod\n")
for n in range(10):
    with open(f"{root}/src/nb_{n}.py", "w") as f:
        f.write("# Databricks notebook source\n"
                "for w in ['item', 'date', 'run', 'catalog']:\n"
                "    dbutils.widgets.text(w, '')\n"
                "item = dbutils.widgets.get('item')\n"
                "date = dbutils.widgets.get('date')\n"
                "run = dbutils.widgets.get('run')\n"
                "catalog = dbutils.widgets.get('catalog')\n"
                "dbutils.jobs.taskValues.set(key='items', value=['a', 'b', 'c'])\n")
for j in range(jobs):
    out = [f"resources:\n  jobs:\n    job_{j:03d}:\n      name: job {j}\n",
           "      job_clusters:\n        - job_cluster_key: main\n          new_cluster:\n"
           "            spark_version: 15.4.x-scala2.12\n            node_type_id: i3.xlarge\n            num_workers: 2\n",
           "      parameters:\n        - name: run_date\n          default: \"2024-01-01\"\n",
           "      tasks:\n"]
    for t in range(tasks):
        out.append(f"        - task_key: t_{t:02d}\n")
        if t > 0:
            out.append(f"          depends_on:\n            - task_key: t_{t-1:02d}\n")
        if t % 5 == 4:
            out.append("          for_each_task:\n"
                       f"            inputs: \"{{{{tasks.t_{t-1:02d}.values.items}}}}\"\n"
                       "            concurrency: ${var.parallelism}\n"
                       "            task:\n"
                       f"              task_key: t_{t:02d}_one\n"
                       "              job_cluster_key: main\n"
                       "              max_retries: 2\n"
                       "              notebook_task:\n"
                       f"                notebook_path: ../src/nb_{t % 10}.py\n"
                       "                base_parameters:\n"
                       "                  item: \"{{input}}\"\n"
                       "                  catalog: ${var.catalog}\n")
        else:
            out.append("          job_cluster_key: main\n"
                       "          notebook_task:\n"
                       f"            notebook_path: ../src/nb_{t % 10}.py\n"
                       "            base_parameters:\n"
                       "              date: \"{{job.parameters.run_date}}\"\n"
                       "              run: \"{{job.run_id}}\"\n"
                       f"              item: part-{t}\n")
    with open(f"{root}/resources/job_{j:03d}.yml", "w") as f:
        f.write("".join(out))
PY
SIZE=$(du -sh "$DIR" | cut -f1)
echo "bundle: $JOBS jobs x $TASKS tasks, $(ls "$DIR/resources" | wc -l) include files, $SIZE"
# Warm-up, then the best and the median of 10 runs (wall clock, ms) and the CPU time.
"$BIN" check "$DIR" --exit-zero --output-format concise >/dev/null
python3 - "$BIN" "$DIR" <<'PY'
import subprocess, sys, time
bin_, d = sys.argv[1], sys.argv[2]
import os
times, cpu = [], []
for _ in range(10):
    c0 = os.times()
    t = time.perf_counter()
    r = subprocess.run([bin_, "check", d, "--exit-zero", "--output-format", "json"], capture_output=True)
    times.append((time.perf_counter() - t) * 1000)
    c1 = os.times()
    cpu.append(((c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)) * 1000)
    assert r.returncode == 0, r.stderr.decode()
times.sort()
cpu.sort()
print(f"CPU time (user+sys, all threads): median {cpu[len(cpu)//2]:.0f} ms; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
import json
n = len(json.loads(r.stdout)["diagnostics"])
print(f"bricklint check: best {times[0]:.1f} ms, median {times[len(times)//2]:.1f} ms ({n} findings)")
print("target: < 100 ms", "OK" if times[len(times)//2] < 100 else "OVER")
PY
