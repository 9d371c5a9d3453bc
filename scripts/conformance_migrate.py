#!/usr/bin/env python3
"""Conformance of `bricklint migrate` output against the real oracles.

For every fixture project in fixtures/migrate/ (and a few option variants) this copies the
project to a temporary directory, runs `bricklint migrate --write`, then checks that:

* the bundle (databricks.yml + included resources) validates against the official bundle JSON
  schema (../shared/reference/databricks/bundle_schema.json; its `\\p{L}` patterns need the
  `regex` module, so jsonschema's pattern keyword is pointed at it);
* every generated job loads with `databricks.bundles.jobs.Job.from_dict` (strict models from
  the PyPI package `databricks-bundles`);
* every Python cell of every rewritten notebook parses (`ast.parse`);
* for a bundle whose job already ran the orchestrator (the in-place edit), every target's
  merged configuration (target overrides merged into the tasks by `task_key`, as the CLI does)
  validates too, the bundle keeps exactly the jobs it had, and every comment line of every YAML
  file is still there;
* for a fixture whose job edit is refused, `--write` changes nothing and every YAML document
  `--emit-yaml` prints (task list items, or the `for_each_task` entry that replaces one task's
  notebook) validates against the schema's `jobs.Task` and loads with
  `databricks.bundles.jobs.Task.from_dict`;
* with `--to submit`, every task of every `<notebook>.submit.json` request (and every For Each
  nested task) validates against the schema's `jobs.Task` and loads with
  `databricks.bundles.jobs.Task.from_dict`, and its notebook paths are absolute workspace paths.

Usage: conformance_migrate.py BRICKLINT_BINARY [SCHEMA]
"""

import ast
import copy
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import jsonschema
import jsonschema._keywords
import regex
import yaml
from databricks.bundles.jobs import Job, Task

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "fixtures", "migrate")
# Fixtures whose fan-out is refused (one per refusal reason): nothing is written.
REFUSED = {
    "refused_dynamic_path",
    "refused_thread",
    "refused_results_used",
    "refused_loop_work",
    "refused_uncalled_function",
    "refused_while_loop",
    "refused_gated_sequence",
}
# Fixtures whose job edit is refused (several jobs run the orchestrator, a target override the
# edit cannot keep): `--write` changes nothing and exits 1; `--emit-yaml` prints the YAML to
# paste, which must be valid task YAML.
REFUSED_JOB = {"refused_several_jobs", "refused_target_override"}

# The schema's patterns use \p{L} / \p{N}, which Python's `re` rejects.
jsonschema._keywords.re = regex


def load_bundle(root):
    """The root databricks.yml with every included file's top-level maps merged in."""
    with open(os.path.join(root, "databricks.yml")) as f:
        bundle = yaml.safe_load(f) or {}
    merged = copy.deepcopy(bundle)
    for pattern in bundle.get("include", []) or []:
        for path in sorted(glob.glob(os.path.join(root, pattern))):
            with open(path) as f:
                doc = yaml.safe_load(f) or {}
            for key, value in doc.items():
                if isinstance(value, dict):
                    target = merged.setdefault(key, {})
                    for k2, v2 in value.items():
                        if isinstance(v2, dict) and isinstance(target.get(k2), dict):
                            target[k2].update(v2)
                        else:
                            target[k2] = v2
                else:
                    merged[key] = value
    return merged


def deep_merge(base, over):
    """The CLI's merge of configuration trees: mappings recursively, lists appended."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = deep_merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    if isinstance(base, list) and isinstance(over, list):
        return base + copy.deepcopy(over)
    return copy.deepcopy(over) if over is not None else base


def merge_by_key(items, key):
    """Entries with the same key merged into the first one (`MergeJobTasks`)."""
    out, index = [], {}
    for item in items or []:
        k = item.get(key) if isinstance(item, dict) else None
        if k is not None and k in index:
            out[index[k]] = deep_merge(out[index[k]], item)
        else:
            if k is not None:
                index[k] = len(out)
            out.append(item)
    return out


def for_target(bundle, target):
    """The configuration of one target: its `resources` merged in, tasks merged by key."""
    merged = copy.deepcopy({k: v for k, v in bundle.items() if k != "targets"})
    over = ((bundle.get("targets") or {}).get(target) or {}).get("resources")
    if over:
        merged["resources"] = deep_merge(merged.get("resources") or {}, over)
    for job in ((merged.get("resources") or {}).get("jobs") or {}).values():
        if isinstance(job, dict) and "tasks" in job:
            job["tasks"] = merge_by_key(job["tasks"], "task_key")
    return merged


def comment_lines(root):
    """Every YAML comment line of a project, per file."""
    out = {}
    for path in glob.glob(os.path.join(root, "**", "*.yml"), recursive=True):
        with open(path) as f:
            out[os.path.relpath(path, root)] = [
                l.strip() for l in f if l.strip().startswith("#")
            ]
    return out


def python_cells(path):
    """Python source of every Python cell of a notebook or module."""
    if path.endswith(".ipynb"):
        with open(path) as f:
            nb = json.load(f)
        lang = (
            nb.get("metadata", {})
            .get("application/vnd.databricks.v1+notebook", {})
            .get("language", "python")
        )
        for cell in nb["cells"]:
            if cell.get("cell_type") != "code":
                continue
            src = cell["source"]
            src = "".join(src) if isinstance(src, list) else src
            first = src.lstrip().split("\n", 1)[0].strip()
            if first.startswith("%python"):
                yield src.lstrip().split("\n", 1)[1] if "\n" in src.lstrip() else ""
            elif first.startswith("%"):
                continue
            elif lang == "python":
                yield src
        return
    with open(path, newline="") as f:
        text = f.read().replace("\r\n", "\n")
    ext = os.path.splitext(path)[1]
    prefix = {".py": "#", ".sql": "--", ".scala": "//", ".r": "#"}.get(ext.lower())
    if prefix is None:
        return
    lines = text.split("\n")
    if not lines or lines[0].strip() != f"{prefix} Databricks notebook source":
        if ext == ".py":
            yield text
        return
    cells, cur = [], []
    for line in lines[1:]:
        if line.strip() == f"{prefix} COMMAND ----------":
            cells.append(cur)
            cur = []
        else:
            cur.append(line)
    cells.append(cur)
    magic = f"{prefix} MAGIC"
    for cell in cells:
        body = [l for l in cell if l.strip()]
        if body and all(l.startswith(magic) for l in body):
            stripped = [
                l[len(magic) + 1 :] if l.startswith(magic + " ") else ""
                for l in cell
                if l.startswith(magic)
            ]
            head = next((l for l in stripped if l.strip()), "")
            if head.strip().startswith("%python"):
                i = stripped.index(head)
                yield "\n".join(stripped[i + 1 :])
        elif ext == ".py":
            yield "\n".join(l for l in cell if not l.lstrip().startswith("%"))


def check_project(binary, schema, name, extra_args, remove_bundle=False):
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        proj = os.path.join(tmp, name)
        shutil.copytree(
            os.path.join(FIXTURES, name),
            proj,
            ignore=shutil.ignore_patterns("snapshots"),
        )
        if remove_bundle:
            os.remove(os.path.join(proj, "databricks.yml"))
            os.mkdir(os.path.join(proj, ".git"))
        had_jobs = (
            sorted((load_bundle(proj).get("resources") or {}).get("jobs") or {})
            if not remove_bundle
            else []
        )
        comments_before = comment_lines(proj)
        before = {}
        for dirpath, _, files in os.walk(proj):
            for fn in files:
                p = os.path.join(dirpath, fn)
                with open(p, "rb") as f:
                    before[p] = f.read()
        run = subprocess.run(
            [binary, "migrate", "--write", *extra_args, "."],
            cwd=proj,
            capture_output=True,
            text=True,
            check=False,
        )
        expected = 0
        if run.returncode != expected:
            return [f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"]
        if name in REFUSED:
            return []
        bundle = load_bundle(proj)
        validator = jsonschema.Draft202012Validator(schema)
        for err in sorted(
            validator.iter_errors(bundle), key=lambda e: list(e.absolute_path)
        ):
            route = ".".join(str(p) for p in err.absolute_path)
            errors.append(f"schema: {route}: {err.message[:300]}")
        jobs = (bundle.get("resources") or {}).get("jobs") or {}
        if not jobs:
            errors.append("no job generated")
        if had_jobs:
            # The job that ran the orchestrator was edited in place: no job added or lost,
            # every target still valid, every comment kept.
            if sorted(jobs) != had_jobs:
                errors.append(f"jobs {had_jobs} became {sorted(jobs)}")
            for target in bundle.get("targets") or {}:
                conf = for_target(bundle, target)
                for err in validator.iter_errors(conf):
                    route = ".".join(str(p) for p in err.absolute_path)
                    errors.append(
                        f"target {target}: schema: {route}: {err.message[:300]}"
                    )
                for key, job in (
                    (conf.get("resources") or {}).get("jobs") or {}
                ).items():
                    try:
                        Job.from_dict(job)
                    except Exception as e:  # noqa: BLE001 - report any model error
                        errors.append(
                            f"target {target}: Job.from_dict({key}): {type(e).__name__}: {e}"
                        )
            after_comments = comment_lines(proj)
            for path, lines in comments_before.items():
                missing = [l for l in lines if l not in after_comments.get(path, [])]
                if missing:
                    errors.append(f"{path}: comments lost: {missing}")
        for key, job in jobs.items():
            try:
                Job.from_dict(job)
            except Exception as e:  # noqa: BLE001 - report any model error
                errors.append(
                    f"databricks-bundles Job.from_dict({key}): {type(e).__name__}: {e}"
                )
        changed = 0
        for dirpath, _, files in os.walk(proj):
            for fn in files:
                p = os.path.join(dirpath, fn)
                with open(p, "rb") as f:
                    data = f.read()
                if before.get(p) == data or not fn.endswith(
                    (".py", ".sql", ".scala", ".r", ".ipynb")
                ):
                    continue
                changed += 1
                for i, src in enumerate(python_cells(p)):
                    try:
                        ast.parse(src)
                    except SyntaxError as e:
                        errors.append(
                            f"{os.path.relpath(p, proj)}: Python cell {i + 1} does not parse: {e}"
                        )
        if changed == 0:
            errors.append("no notebook was rewritten")
    return errors


def check_refused_job_project(binary, schema, name):
    """A refused job edit: nothing written; the YAML printed by --emit-yaml is valid task YAML."""
    errors = []
    task_schema = {
        "$defs": schema["$defs"],
        "$ref": "#/$defs/github.com/databricks/databricks-sdk-go/service/jobs.Task",
    }
    validator = jsonschema.Draft202012Validator(task_schema)
    with tempfile.TemporaryDirectory() as tmp:
        proj = os.path.join(tmp, name)
        shutil.copytree(
            os.path.join(FIXTURES, name),
            proj,
            ignore=shutil.ignore_patterns("snapshots"),
        )
        before = snapshot_tree(proj)
        run = subprocess.run(
            [binary, "migrate", "--write", "."],
            cwd=proj,
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 1:
            return [f"--write: exit {run.returncode}\n{run.stdout}\n{run.stderr}"]
        if snapshot_tree(proj) != before:
            errors.append("--write changed files of a refused job edit")
        run = subprocess.run(
            [binary, "migrate", "--emit-yaml", "."],
            cwd=proj,
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            return errors + [
                f"--emit-yaml: exit {run.returncode}\n{run.stdout}\n{run.stderr}"
            ]
        docs = list(yaml.safe_load_all(run.stdout))
        if not docs:
            errors.append("--emit-yaml printed no YAML")
        for doc in docs:
            if isinstance(doc, list):
                tasks = doc
            elif isinstance(doc, dict) and "for_each_task" in doc:
                tasks = [{"task_key": "orchestrator", **doc}]
            else:
                errors.append(
                    f"--emit-yaml: neither a task list nor a task entry: {doc!r:.200}"
                )
                continue
            for task in tasks:
                key = task.get("task_key")
                for err in validator.iter_errors(task):
                    errors.append(f"task {key}: schema: {err.message[:300]}")
                try:
                    Task.from_dict(task)
                except Exception as e:  # noqa: BLE001 - report any model error
                    errors.append(
                        f"databricks-bundles Task.from_dict({key}): {type(e).__name__}: {e}"
                    )
    return errors


def yml_files(root):
    """Every .yml file under root with its bytes."""
    out = {}
    for p in glob.glob(os.path.join(root, "**", "*.yml"), recursive=True):
        with open(p, "rb") as f:
            out[p] = f.read()
    return out


def snapshot_tree(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for fn in files:
            p = os.path.join(dirpath, fn)
            with open(p, "rb") as f:
                out[p] = f.read()
    return out


SUBMIT_ROOT = "/Workspace/Users/ci@example.com/project"


def check_submit_project(binary, schema, name):
    """`migrate --to submit --write` without a bundle: the request files conform."""
    errors = []
    task_schema = {
        "$defs": schema["$defs"],
        "$ref": "#/$defs/github.com/databricks/databricks-sdk-go/service/jobs.Task",
    }
    validator = jsonschema.Draft202012Validator(task_schema)
    with tempfile.TemporaryDirectory() as tmp:
        proj = os.path.join(tmp, name)
        shutil.copytree(
            os.path.join(FIXTURES, name),
            proj,
            ignore=shutil.ignore_patterns("snapshots"),
        )
        os.remove(os.path.join(proj, "databricks.yml"))
        os.mkdir(os.path.join(proj, ".git"))
        yaml_before = yml_files(proj)
        run = subprocess.run(
            [
                binary,
                "migrate",
                "--write",
                "--to",
                "submit",
                "--workspace-root",
                SUBMIT_ROOT,
                ".",
            ],
            cwd=proj,
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            return [f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"]
        requests = glob.glob(os.path.join(proj, "**", "*.submit.json"), recursive=True)
        if not requests:
            return ["no request written"]
        yaml_after = yml_files(proj)
        if yaml_after != yaml_before:
            errors.append("bundle resources written with --to submit")
        for path in requests:
            rel = os.path.relpath(path, proj)
            with open(path) as f:
                body = json.load(f)
            if set(body) != {"run_name", "tasks"}:
                errors.append(f"{rel}: keys {sorted(body)}")
            tasks = body.get("tasks") or []
            if not tasks or len(tasks) > 100:
                errors.append(f"{rel}: {len(tasks)} tasks")
            nested = [t["for_each_task"]["task"] for t in tasks if "for_each_task" in t]
            for task in tasks + nested:
                key = task.get("task_key")
                for err in validator.iter_errors(task):
                    errors.append(f"{rel}: task {key}: schema: {err.message[:300]}")
                try:
                    Task.from_dict(task)
                except Exception as e:  # noqa: BLE001 - report any model error
                    errors.append(
                        f"{rel}: databricks-bundles Task.from_dict({key}): {type(e).__name__}: {e}"
                    )
                nb = (task.get("notebook_task") or {}).get("notebook_path")
                if nb is not None and not (
                    nb.startswith(SUBMIT_ROOT + "/") and "." not in nb.rsplit("/", 1)[1]
                ):
                    errors.append(
                        f"{rel}: task {key}: notebook_path {nb!r} is not a workspace path"
                    )
    return errors


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    binary = os.path.abspath(sys.argv[1])
    schema_path = (
        sys.argv[2]
        if len(sys.argv) > 2
        else os.path.join(
            ROOT, "..", "shared", "reference", "databricks", "bundle_schema.json"
        )
    )
    with open(schema_path) as f:
        schema = json.load(f)
    names = [
        n
        for n in sorted(os.listdir(FIXTURES))
        if os.path.isdir(os.path.join(FIXTURES, n)) and n != "snapshots"
    ]
    cases = [(n, [], False) for n in names if n not in REFUSED_JOB]
    cases += [
        (
            "named_function",
            ["--init-bundle", "--compute", "existing-cluster=${var.cluster_id}"],
            True,
        ),
        ("lambda", ["--init-bundle", "--compute", "job-cluster=main"], True),
        (
            "executor_submit",
            ["--compute", "existing-cluster=0123-456789-abcdefgh"],
            False,
        ),
        ("named_function", ["--to", "tasks"], False),
    ]
    submit_cases = [n for n in names if n not in REFUSED]
    failed = 0
    for name in submit_cases:
        errs = check_submit_project(binary, schema, name)
        label = f"{name} --to submit (no bundle)"
        if errs:
            failed += 1
            print(f"FAIL {label}")
            for e in errs:
                print(f"  {e}")
        else:
            print(f"ok   {label}")
    for name, args, remove in cases:
        errs = check_project(binary, schema, name, args, remove)
        label = " ".join([name, *args]) + (" (no bundle)" if remove else "")
        if errs:
            failed += 1
            print(f"FAIL {label}")
            for e in errs:
                print(f"  {e}")
        else:
            print(f"ok   {label}")
    refused_job = [n for n in names if n in REFUSED_JOB]
    for name in refused_job:
        errs = check_refused_job_project(binary, schema, name)
        label = f"{name} (job edit refused: --write, --emit-yaml)"
        if errs:
            failed += 1
            print(f"FAIL {label}")
            for e in errs:
                print(f"  {e}")
        else:
            print(f"ok   {label}")
    total = len(cases) + len(submit_cases) + len(refused_job)
    print(f"{total - failed}/{total} migrated projects conform")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
