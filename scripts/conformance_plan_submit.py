#!/usr/bin/env python3
"""`bricklint plan --iteration K --format submit` requests against the databricks-sdk models.

Every request the plan fixtures produce must round-trip through `jobs.SubmitRun.from_dict` /
`as_dict` unchanged (an unknown or misspelled field, a wrong type or an enum value the SDK does
not know would change it), and each task must be a notebook task with an absolute workspace
path and string parameters.

Usage: conformance_plan_submit.py BRICKLINT_BINARY
(needs databricks-sdk; `.ci/run` pins the last version whose models include `SubmitRun`).
"""
import json
import os
import subprocess
import sys
import tempfile

from databricks.sdk.service import jobs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLE = os.path.join(ROOT, "fixtures", "plan", "submit")

CASES = [
    ("inline iteration", ["--job", "refresh_regions", "--iteration", "2"]),
    ("inline range, prod, cluster", ["--job", "refresh_regions", "--target", "prod",
                                     "--iteration", "1-3",
                                     "--compute", "existing-cluster=0601-182128-abcd1234"]),
    ("where", ["--job", "refresh_regions", "--where", "region=apac"]),
    ("task values from --inputs", ["--job", "load_partitions", "--iteration", "2",
                                   "--inputs", os.path.join(BUNDLE, "captured_run.json")]),
    ("missing upstream value", ["--job", "load_partitions", "--iteration", "1",
                                "--inputs", os.path.join(BUNDLE, "partitions_only.json")]),
]


def check(name, args, binary, out_dir):
    errors = []
    out = os.path.join(out_dir, name.replace(" ", "_").replace(",", "") + ".json")
    p = subprocess.run([binary, "plan", BUNDLE, "--format", "submit", "-o", out, *args],
                       capture_output=True, text=True)
    if p.returncode not in (0, 1) or not os.path.exists(out):
        return [f"{name}: exit {p.returncode}, no request: {p.stderr.strip()}"]
    if f"databricks jobs submit --json @{out}" not in p.stdout:
        errors.append(f"{name}: the submit command is not printed: {p.stdout!r}")
    with open(out, encoding="utf-8") as f:
        body = json.load(f)
    again = jobs.SubmitRun.from_dict(body).as_dict()
    if again != body:
        errors.append(f"{name}: SubmitRun round-trip changed the request:\n"
                      f"  written: {json.dumps(body, sort_keys=True)}\n"
                      f"  SDK:     {json.dumps(again, sort_keys=True)}")
    for t in body.get("tasks", []):
        task = jobs.SubmitTask.from_dict(t)
        nb = task.notebook_task
        if nb is None or not nb.notebook_path.startswith("/"):
            errors.append(f"{name}: task {task.task_key} is not a notebook task with a workspace path")
            continue
        if any(not isinstance(v, str) for v in (nb.base_parameters or {}).values()):
            errors.append(f"{name}: task {task.task_key}: base_parameters values must be strings")
        if nb.source != jobs.Source.WORKSPACE:
            errors.append(f"{name}: task {task.task_key}: source is {nb.source}")
    print(f"{'ok  ' if not errors else 'FAIL'} {name}: {len(body.get('tasks', []))} task(s)")
    return errors


def main():
    binary = os.path.abspath(sys.argv[1])
    errors = []
    with tempfile.TemporaryDirectory() as d:
        for name, args in CASES:
            errors += check(name, args, binary, d)
    for e in errors:
        print(e, file=sys.stderr)
    print(f"{len(CASES) - len({e.split(':')[0] for e in errors})} passed, "
          f"{len({e.split(':')[0] for e in errors})} failed")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
