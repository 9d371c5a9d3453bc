"""The bricklint job mutator under the real `databricks-bundles` build entry point.

Runs `python -m databricks.bundles.build --phase ... --input in.json --output out.json
--diagnostics diag.json --locations locations.json` in the bundle root, as the Databricks CLI
does (bundle/config/mutator/python/python_mutator.go), on the configuration the CLI hands it:
targets merged, variables resolved, notebook paths relative to the bundle root, the `python:`
section naming the `load_resources` function and the mutator.

Cases: (a) a clean job passes through byte-identical; (b) a For Each with concurrency 150 stops
the build with the YAML location; (c) a job built by a Python `load_resources` function
(`load_resources` phase first, then `apply_mutators`) with a `depends_on` cycle stops the build,
named by its job and task keys and the function that defined it; (d) warnings go to stderr and
do not stop the build. The bricklint binary runs at most once per build.

Usage: python plugin_build_test.py   (with bricklint and databricks-bundles installed; set
BRICKLINT_BIN to test another binary). Prints `N passed, M failed` and exits 1 on a failure.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import traceback

DATABRICKS_YML = """\
bundle:
  name: plugin_build

include:
  - resources/*.yml

python:
  venv_path: .venv
  resources:
    - "resources:load_resources"
  mutators:
    - "bricklint.bundles:check_job"

variables:
  load_concurrency:
    default: 150

targets:
  dev:
    default: true
"""

JOBS_YML = """\
resources:
  jobs:
    clean:
      name: clean
      tasks:
        - task_key: list_tables
          notebook_task:
            notebook_path: ../src/list_tables.py
        - task_key: load_each
          depends_on:
            - task_key: list_tables
          for_each_task:
            inputs: "{{tasks.list_tables.values.tables}}"
            concurrency: 10
            task:
              task_key: load_one
              notebook_task:
                notebook_path: ../src/load_table.py
                base_parameters:
                  table: "{{input.table}}"
    wide:
      name: wide
      tasks:
        - task_key: list_tables
          notebook_task:
            notebook_path: ../src/list_tables.py
        - task_key: load_each
          depends_on:
            - task_key: list_tables
          for_each_task:
            inputs: "{{tasks.list_tables.values.tables}}"
            concurrency: ${var.load_concurrency}
            task:
              task_key: load_one
              notebook_task:
                notebook_path: ../src/load_table.py
                base_parameters:
                  table: "{{input.table}}"
    chatty:
      name: chatty
      tasks:
        - task_key: load_orders
          notebook_task:
            notebook_path: ../src/load_table.py
            base_parameters:
              table: bronze.orders
              mode: full
"""

RESOURCES_INIT = '''\
from databricks.bundles.core import Bundle, Resources
from databricks.bundles.jobs import Job


def load_resources(bundle: Bundle) -> Resources:
    resources = Resources()
    resources.add_job(
        "py_etl",
        Job.from_dict(
            {
                "name": "py_etl",
                "tasks": [
                    {
                        "task_key": "extract",
                        "depends_on": [{"task_key": "publish"}],
                        "notebook_task": {"notebook_path": "src/list_tables.py"},
                    },
                    {
                        "task_key": "publish",
                        "depends_on": [{"task_key": "extract"}],
                        "notebook_task": {"notebook_path": "src/list_tables.py"},
                    },
                ],
            }
        ),
    )
    return resources
'''

NOTEBOOKS = {
    "src/list_tables.py": "# Databricks notebook source\n"
    'dbutils.jobs.taskValues.set(key="tables", value=[{"table": "bronze.orders"}])\n',
    "src/load_table.py": "# Databricks notebook source\n"
    'table = dbutils.widgets.get("table")\n'
    "spark.read.table(table).write.saveAsTable(table + '_copy')\n",
}


def task(key, notebook, depends=None, params=None):
    t = {"task_key": key}
    if depends:
        t["depends_on"] = [{"task_key": d} for d in depends]
    nb = {"notebook_path": notebook}
    if params:
        nb["base_parameters"] = params
    t["notebook_task"] = nb
    return t


def for_each(key, depends, concurrency):
    return {
        "task_key": key,
        "depends_on": [{"task_key": d} for d in depends],
        "for_each_task": {
            "inputs": "{{tasks.list_tables.values.tables}}",
            "concurrency": concurrency,
            "task": task("load_one", "src/load_table.py", params={"table": "{{input.table}}"}),
        },
    }


# The jobs as the CLI hands them to Python: variables resolved, paths relative to the bundle root.
JOBS = {
    "clean": {
        "name": "clean",
        "tasks": [task("list_tables", "src/list_tables.py"), for_each("load_each", ["list_tables"], 10)],
    },
    "wide": {
        "name": "wide",
        "tasks": [task("list_tables", "src/list_tables.py"), for_each("load_each", ["list_tables"], 150)],
    },
    "chatty": {
        "name": "chatty",
        "tasks": [task("load_orders", "src/load_table.py", params={"table": "bronze.orders", "mode": "full"})],
    },
}


def cli_input(jobs):
    """The root configuration the CLI writes to input.json (after selecting target `dev`)."""
    return {
        "bundle": {"name": "plugin_build", "target": "dev"},
        "include": ["resources/jobs.yml"],
        "python": {
            "venv_path": ".venv",
            "resources": ["resources:load_resources"],
            "mutators": ["bricklint.bundles:check_job"],
        },
        "resources": {"jobs": {k: JOBS[k] for k in jobs}},
        "variables": {"load_concurrency": {"default": 150, "value": 150}},
        "workspace": {"current_user": {"userName": "someone@example.com"}},
    }


class Bundle:
    def __init__(self, root, counter):
        self.root = root
        self.counter = counter
        for rel, text in {
            "databricks.yml": DATABRICKS_YML,
            "resources/jobs.yml": JOBS_YML,
            "resources/__init__.py": RESOURCES_INIT,
            **NOTEBOOKS,
        }.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)

    def build(self, phase, config, name):
        """Run the build entry point like the CLI; returns (exit code, output text, diagnostics,
        stderr, bricklint runs)."""
        with open(self.counter, "w", encoding="utf-8"):
            pass
        paths = {k: os.path.join(self.root, f"{name}.{k}.json") for k in ("input", "output", "diagnostics", "locations")}
        with open(paths["input"], "w", encoding="utf-8") as f:
            # As the CLI writes it: Go's json.Marshal of the configuration (map keys sorted,
            # no spaces).
            json.dump(config, f, sort_keys=True, separators=(",", ":"))
        proc = subprocess.run(
            [sys.executable, "-m", "databricks.bundles.build", "--phase", phase]
            + [a for k in ("input", "output", "diagnostics", "locations") for a in (f"--{k}", paths[k])],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            check=False,
        )
        with open(paths["output"], encoding="utf-8") as f:
            output = f.read()
        with open(paths["diagnostics"], encoding="utf-8") as f:
            diags = [json.loads(line) for line in f if line.strip()]
        with open(self.counter, encoding="utf-8") as f:
            runs = len(f.read().split())
        return proc.returncode, output, diags, proc.stderr.decode("utf-8", "replace"), runs


def unchanged(config):
    """What build.py writes for `config` when no mutator changes anything."""
    return json.dumps(json.loads(json.dumps(config, sort_keys=True)), ensure_ascii=False)


def line_of(root, rel, needle, after=None):
    with open(os.path.join(root, rel), encoding="utf-8") as f:
        lines = f.read().splitlines()
    start = 0
    if after:
        start = next(i for i, l in enumerate(lines) if after in l)
    return next(i for i, l in enumerate(lines) if i >= start and needle in l) + 1


def test_clean_job_passes_byte_identical(b):
    config = cli_input(["clean"])
    code, output, diags, stderr, runs = b.build("apply_mutators", config, "clean")
    assert code == 0, (code, diags, stderr)
    assert diags == [], diags
    # build.py re-serialises the input (json.dump, ensure_ascii=False) with each job's as_dict():
    # the job came back unchanged, so the output is the input, byte for byte, in that form.
    assert output == unchanged(config), output
    assert runs == 1, runs


def test_for_each_concurrency_150_stops_the_build(b):
    config = cli_input(["clean", "wide"])
    code, output, diags, stderr, runs = b.build("apply_mutators", config, "wide")
    assert code == 1, (code, diags, stderr)
    errors = [d for d in diags if d.get("severity") == "error"]
    assert len(errors) == 1, diags
    d = errors[0]
    assert d["summary"] == "Failed to apply 'check_job' mutator", d
    assert d["path"] == "resources.jobs.wide", d
    line = line_of(b.root, "resources/jobs.yml", "concurrency: ${var.load_concurrency}")
    want = f"resources/jobs.yml:{line}: FE001 For Each concurrency 150"
    assert want in d["detail"], (want, d["detail"])
    assert "BricklintFindings" in d["detail"], d["detail"]
    assert runs == 1, f"bricklint ran {runs} times for one build"


def test_python_job_with_a_cycle_stops_the_build(b):
    config = cli_input(["clean"])
    code, output, diags, stderr, runs = b.build("load_resources", config, "load")
    assert code == 0, (code, diags, stderr)
    assert runs == 0, "the load_resources phase does not run bricklint"
    loaded = json.loads(output)
    assert "py_etl" in loaded["resources"]["jobs"], output
    code, output, diags, stderr, runs = b.build("apply_mutators", loaded, "cycle")
    assert code == 1, (code, diags, stderr)
    d = [d for d in diags if d.get("severity") == "error"][0]
    assert d["path"] == "resources.jobs.py_etl", d
    detail = d["detail"]
    line = line_of(b.root, "resources/__init__.py", '"py_etl"')
    add_job = line_of(b.root, "resources/__init__.py", "resources.add_job(")
    assert "JOB002" in detail and "cycle" in detail, detail
    assert "job `py_etl`, task `extract`" in detail, detail
    assert "defined in Python by `resources:load_resources`" in detail, detail
    assert f"resources/__init__.py:{add_job}:" in detail or f"resources/__init__.py:{line}:" in detail, detail
    assert runs == 1, runs
    if os.environ.get("PLUGIN_TEST_VERBOSE"):
        print(detail)


def test_warnings_go_to_stderr_and_pass(b):
    config = cli_input(["clean", "chatty"])
    code, output, diags, stderr, runs = b.build("apply_mutators", config, "chatty")
    assert code == 0, (code, diags, stderr)
    line = line_of(b.root, "resources/jobs.yml", "mode: full")
    want = f"bricklint: warning: resources/jobs.yml:{line}: XF002 parameter `mode`"
    assert want in stderr, stderr
    assert output == unchanged(config)
    assert runs == 1, runs


def test_mutator_is_importable_without_a_build():
    from databricks.bundles.core._resource_mutator import ResourceMutator

    import bricklint
    import bricklint.bundles

    assert isinstance(bricklint.bundles.check_job, ResourceMutator)
    assert os.path.isfile(bricklint.find_bricklint_bin())


def main():
    real = os.environ.get("BRICKLINT_BIN")
    if not real:
        from bricklint import find_bricklint_bin

        real = find_bricklint_bin()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        counter = os.path.join(tmp, "runs.txt")
        # Count the runs of the binary: a wrapper the mutator finds through BRICKLINT_BIN.
        wrapper = os.path.join(tmp, "bricklint-counting")
        with open(wrapper, "w", encoding="utf-8") as f:
            f.write(f'#!/bin/sh\necho run >> "{counter}"\nexec "{real}" "$@"\n')
        os.chmod(wrapper, os.stat(wrapper).st_mode | stat.S_IEXEC)
        os.environ["BRICKLINT_BIN"] = wrapper
        bundle = Bundle(os.path.join(tmp, "bundle"), counter)
        tests = [
            ("importable", lambda: test_mutator_is_importable_without_a_build()),
            ("(a) clean job byte-identical", lambda: test_clean_job_passes_byte_identical(bundle)),
            ("(b) For Each concurrency 150", lambda: test_for_each_concurrency_150_stops_the_build(bundle)),
            ("(c) load_resources job with a cycle", lambda: test_python_job_with_a_cycle_stops_the_build(bundle)),
            ("(d) warnings to stderr", lambda: test_warnings_go_to_stderr_and_pass(bundle)),
        ]
        for name, t in tests:
            try:
                t()
                passed += 1
                print(f"ok     {name}")
            except Exception:  # noqa: BLE001
                failed += 1
                print(f"FAILED {name}")
                print(textwrap.indent(traceback.format_exc(), "    "))
    print(f"plugin: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
