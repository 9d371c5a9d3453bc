#!/usr/bin/env python3
"""Benchmark: `bricklint migrate` over a bundle of N orchestrator notebooks (default 500).

Each orchestrator fans a child notebook out over a literal list with a ThreadPoolExecutor
(four shapes rotate: named function + map, lambda, submit in a comprehension, a list read from
a repository JSON file). Times the dry run (plan + diff + re-check) and `--write`, and checks
that a second run has nothing to do.

Usage: bench_migrate.py BRICKLINT_BINARY [N] [LIMIT_SECONDS]
"""

import os
import resource
import subprocess
import sys
import tempfile
import time

SHAPES = [
    """from multiprocessing.pool import ThreadPool

tables = [{items}]


def run_one(t):
    return dbutils.notebook.run("./child_{i}", 600, {{"table": t}})


ThreadPool(8).map(run_one, tables)
""",
    """from concurrent.futures import ThreadPoolExecutor

rows = [{dicts}]

with ThreadPoolExecutor(max_workers=4) as ex:
    list(ex.map(lambda r: dbutils.notebook.run("./child_{i}", 300, {{"table": r["name"], "mode": r["mode"]}}), rows))
""",
    """from concurrent.futures import ThreadPoolExecutor, as_completed

TABLES = [{items}]


def work(name):
    for attempt in range(3):
        try:
            return dbutils.notebook.run("./child_{i}", 900, {{"table": name}})
        except Exception:
            pass


with ThreadPoolExecutor(16) as ex:
    futures = [ex.submit(work, t) for t in TABLES]
    for f in as_completed(futures):
        f.result()
""",
    """import json
from concurrent.futures import ThreadPoolExecutor

tables = json.load(open("conf_{i}.json"))

with ThreadPoolExecutor(4) as pool:
    pool.map(lambda t: dbutils.notebook.run("./child_{i}", 0, {{"table": t}}), tables)
""",
]


def generate(root, n):
    os.makedirs(os.path.join(root, "notebooks"))
    with open(os.path.join(root, "databricks.yml"), "w") as f:
        f.write("bundle:\n  name: bench\n\ninclude:\n  - resources/*.yml\n")
    for i in range(n):
        names = [f"table_{i}_{k}" for k in range(20)]
        items = ", ".join(f'"{t}"' for t in names)
        dicts = ", ".join(f'{{"name": "{t}", "mode": "full"}}' for t in names)
        shape = SHAPES[i % len(SHAPES)]
        d = os.path.join(root, "notebooks")
        with open(os.path.join(d, f"orchestrate_{i}.py"), "w") as f:
            f.write("# Databricks notebook source\n" + shape.format(i=i, items=items, dicts=dicts))
        with open(os.path.join(d, f"child_{i}.py"), "w") as f:
            f.write('# Databricks notebook source\ntable = dbutils.widgets.get("table")\nprint(table)\n')
        with open(os.path.join(d, f"conf_{i}.json"), "w") as f:
            f.write("[" + items + "]\n")


CPU = {}


def timed(cmd, cwd):
    """Wall time of a run; its CPU time (user + sys) is kept in CPU[wall]."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[wall] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, r


def main():
    binary = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    limit = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, n)
        dry, r = timed([binary, "migrate", "."], tmp)
        planned = r.stdout.count("-> For Each task")
        if r.returncode != 1 or planned != n:
            print(r.stdout[-2000:], r.stderr[-2000:])
            print(f"expected {n} planned fan-outs, got {planned} (exit {r.returncode})")
            return 1
        write, r = timed([binary, "migrate", "--write", "."], tmp)
        if r.returncode != 0:
            print(r.stdout[-2000:], r.stderr[-2000:])
            return 1
        again, r = timed([binary, "migrate", "."], tmp)
        if r.returncode != 0:
            print(r.stdout[-2000:])
            print("second run is not idempotent")
            return 1
        res = len(os.listdir(os.path.join(tmp, "resources")))
        print(f"{n} orchestrator notebooks ({2 * n} notebooks in the bundle)")
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"dry run (plan + diff + re-check): {dry:.3f} s wall, {CPU[dry]:.3f} s CPU")
        print(f"--write ({res} job resources + {n} notebooks): {write:.3f} s wall, {CPU[write]:.3f} s CPU")
        print(f"second run (nothing to do): {again:.3f} s wall, {CPU[again]:.3f} s CPU")
        if write > limit:
            print(f"FAIL: --write took {write:.3f} s, over {limit} s")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
