"""A ``databricks-bundles`` job mutator that runs bricklint when the Databricks CLI builds a bundle.

Add it to ``databricks.yml`` (``bricklint init --python`` does)::

    python:
      venv_path: .venv
      mutators:
        - "bricklint.bundles:check_job"

``databricks bundle validate`` and ``deploy`` then run
``python -m databricks.bundles.build --phase apply_mutators ...`` in the bundle root, which calls
:func:`check_job` for every job of the bundle, whether it is written in YAML or built by a Python
``load_resources`` function.

What happens:

- On the first call the whole bundle configuration the CLI handed to ``databricks.bundles.build``
  (its ``--input`` file: every job, the target, the variables) goes to
  ``bricklint check --resolved-bundle -`` once; notebooks are read from the repository, so the
  cross-file rules (task values, notebook parameters and widgets, notebook paths, For Each inputs)
  run once for the whole bundle. Later calls reuse that result: the binary runs at most once per
  build.
- A job with findings of error severity makes the mutator raise; the message lists each finding
  as ``path:line: CODE message``: the YAML location for a job written in YAML, otherwise the job
  key, the task key and the Python function that defined the job. The build stops there, so the
  first error also lists the errors found in the rest of the bundle.
- Warnings are printed to standard error and do not stop the build.
- The job is returned unchanged.

Put it last in ``mutators:`` so it sees what the other mutators did. Only this module needs
``databricks-bundles``.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

try:
    from databricks.bundles.core import Bundle, job_mutator
    from databricks.bundles.jobs import Job
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "bricklint.bundles is a databricks-bundles mutator: install databricks-bundles in the "
        "bundle's Python environment (pip install databricks-bundles)"
    ) from exc

from bricklint._find import find_bricklint_bin

__all__ = ["check_job", "BricklintFindings"]

#: The path the binary gives findings located in the configuration it read on stdin.
_STDIN = "<stdin>"


class BricklintFindings(Exception):
    """Findings of error severity in the bundle: the build stops."""


@dataclass
class _Finding:
    code: str
    severity: str
    message: str
    path: str
    line: int
    route: Optional[str]
    job: Optional[str] = None


@dataclass
class _State:
    """What one build process has learnt (``databricks.bundles.build`` is one process)."""

    input: Optional[Dict[str, Any]] = None
    input_read: bool = False
    findings: Optional[List[_Finding]] = None
    #: The configuration the binary checked (for task keys of routes).
    checked: Dict[str, Any] = field(default_factory=dict)
    calls: int = 0
    raised: bool = False
    definitions: Optional[Dict[str, Tuple[str, Optional[str]]]] = None
    #: Fallback when not run by ``databricks.bundles.build``: one run per job.
    per_job: Dict[str, List[_Finding]] = field(default_factory=dict)


_state = _State()


def _reset() -> None:
    """Forget the cached run (tests)."""
    global _state
    _state = _State()


@job_mutator
def check_job(bundle: Bundle, job: Job) -> Job:
    """Check the bundle with bricklint (once) and stop the build on this job's errors."""
    state = _state
    state.calls += 1
    job_dict = job.as_dict()
    config = _build_input(state)
    if config is None:
        # Not run by databricks.bundles.build (a test calling the mutator): this job alone.
        key = _fallback_key(job_dict, state.calls)
        findings = state.per_job.get(key)
        first = findings is None
        if findings is None:
            one = {
                "bundle": {"target": bundle.target},
                "variables": {k: {"value": v} for k, v in bundle.variables.items()},
                "resources": {"jobs": {key: job_dict}},
            }
            findings = _run(one)
            _assign(findings, [key])
            state.per_job[key] = findings
            state.checked = one
        _report(state, key, findings, first, None)
        return job
    jobs = config.get("resources", {}).get("jobs", {}) or {}
    key = _job_key(jobs, job_dict, state.calls)
    first = state.findings is None
    if first:
        checked = copy.deepcopy(config)
        if key is not None:
            checked.setdefault("resources", {}).setdefault("jobs", {})[key] = job_dict
        state.findings = _run(checked)
        state.checked = checked
        _assign(state.findings, list(jobs))
    _report(state, key, state.findings, first, config)
    return job


def _report(
    state: _State,
    key: Optional[str],
    findings: List[_Finding],
    first: bool,
    config: Optional[Dict[str, Any]],
) -> None:
    """Print the warnings (once) and raise on this job's errors."""
    if first:
        for f in findings:
            if f.severity == "warning":
                print(f"bricklint: warning: {_format(f, config)}", file=sys.stderr)
    errors = [f for f in findings if f.severity == "error"]
    mine = [f for f in errors if f.job == key and key is not None]
    bundle_wide = [f for f in errors if f.job is None] if first else []
    if state.raised or not (mine or bundle_wide):
        return
    state.raised = True
    rest = [f for f in errors if f not in mine and f not in bundle_wide]
    lines = []
    if mine:
        lines.append(f"bricklint: {_count(mine)} in job `{key}`:")
        lines += [f"  {_format(f, config)}" for f in mine]
    if bundle_wide:
        lines.append(f"bricklint: {_count(bundle_wide)} in the bundle's notebooks and files:")
        lines += [f"  {_format(f, config)}" for f in bundle_wide]
    if rest:
        lines.append(f"bricklint: and {_count(rest)} in other jobs (the build stops at the first):")
        lines += [f"  {_format(f, config)}" for f in rest]
    lines.append(
        "Details: `databricks bundle validate -o json | bricklint check --resolved-bundle -`"
        " in the bundle root; `bricklint rule CODE` explains a rule."
    )
    raise BricklintFindings("\n".join(lines))


def _count(fs: List[_Finding]) -> str:
    return f"{len(fs)} error" + ("" if len(fs) == 1 else "s")


def _input_path() -> Optional[str]:
    """The ``--input`` file of ``databricks.bundles.build`` (this process's arguments)."""
    argv = sys.argv[1:]
    for i, a in enumerate(argv):
        if a == "--input" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--input="):
            return a[len("--input=") :]
    return None


def _build_input(state: _State) -> Optional[Dict[str, Any]]:
    if not state.input_read:
        state.input_read = True
        path = _input_path()
        if path:
            try:
                with open(path, encoding="utf-8") as f:
                    data = json.load(f)
                if isinstance(data, dict):
                    state.input = data
            except (OSError, ValueError):
                state.input = None
    return state.input


def _normalized(d: Any) -> Any:
    try:
        return Job.from_dict(d).as_dict()
    except Exception:  # noqa: BLE001 - a job the models reject cannot be this job
        return None


def _job_key(jobs: Dict[str, Any], job_dict: Dict[str, Any], call: int) -> Optional[str]:
    """The resource key of the job being mutated: build.py calls mutators job by job in the
    order of the input, so the call count names it, unless a job with exactly this content says
    otherwise."""
    keys = list(jobs)
    by_order = keys[call - 1] if 0 < call <= len(keys) else None
    if by_order is not None and _normalized(jobs[by_order]) == job_dict:
        return by_order
    same = [k for k in keys if _normalized(jobs[k]) == job_dict]
    if len(same) == 1:
        return same[0]
    return by_order


def _fallback_key(job_dict: Dict[str, Any], call: int) -> str:
    name = job_dict.get("name")
    return name if isinstance(name, str) and name else f"job_{call}"


def _run(config: Dict[str, Any]) -> List[_Finding]:
    """One ``bricklint check --resolved-bundle -`` on `config`, in the bundle root."""
    binary = find_bricklint_bin()
    args = [
        binary,
        "check",
        "--resolved-bundle",
        "-",
        "--output-format",
        "json",
        "--exit-zero",
    ]
    proc = subprocess.run(
        args,
        input=json.dumps(config).encode("utf-8"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=os.getcwd(),
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"bricklint failed (exit code {proc.returncode}): "
            + proc.stderr.decode("utf-8", "replace").strip()
        )
    try:
        report = json.loads(proc.stdout)
    except ValueError as exc:
        raise RuntimeError(f"bricklint printed no JSON report: {exc}") from exc
    return [
        _Finding(
            code=d.get("code", "?"),
            severity=d.get("severity", "error"),
            message=d.get("message", ""),
            path=d.get("path", ""),
            line=int(d.get("line") or 1),
            route=d.get("route"),
        )
        for d in report.get("diagnostics", [])
    ]


def _assign(findings: List[_Finding], keys: List[str]) -> None:
    """The job of each finding, from its route (`resources.jobs.<key>...`)."""
    for f in findings:
        if not f.route or not f.route.startswith("resources.jobs."):
            continue
        rest = f.route[len("resources.jobs.") :]
        for k in sorted(keys, key=len, reverse=True):
            if rest == k or rest.startswith(k + ".") or rest.startswith(k + "["):
                f.job = k
                break


_TASK = re.compile(r"\.tasks\[(\d+)\]((?:\.for_each_task\.task)?)")


def _task_keys(f: _Finding) -> List[str]:
    """The task (and nested For Each task) a route leads to, in the checked configuration."""
    if not f.job or not f.route:
        return []
    job = _state.checked.get("resources", {}).get("jobs", {}).get(f.job) or {}
    m = _TASK.match(f.route[len("resources.jobs." + f.job) :])
    if not m:
        return []
    tasks = job.get("tasks") or []
    i = int(m.group(1))
    if i >= len(tasks) or not isinstance(tasks[i], dict):
        return []
    out = [str(tasks[i].get("task_key", "?"))]
    if m.group(2):
        nested = (tasks[i].get("for_each_task") or {}).get("task") or {}
        out.append(str(nested.get("task_key", "?")))
    return out


def _format(f: _Finding, config: Optional[Dict[str, Any]]) -> str:
    """``path:line: CODE message``; for a job not written in YAML, its keys and the Python
    function that defined it."""
    if f.path != _STDIN:
        return f"{f.path}:{f.line}: {f.code} {f.message}"
    where = f.route or "bundle"
    context = []
    if f.job:
        context.append(f"job `{f.job}`")
        tasks = _task_keys(f)
        if tasks:
            context.append("task `" + "` > `".join(tasks) + "`")
        defined = _definitions(config).get(f.job)
        if defined:
            function, location = defined
            context.append(f"defined in Python by `{function}`")
            if location:
                where = location
    suffix = f" ({', '.join(context)})" if context else ""
    return f"{where}: {f.code} {f.message}{suffix}"


def _definitions(config: Optional[Dict[str, Any]]) -> Dict[str, Tuple[str, Optional[str]]]:
    """Which ``python.resources`` function defines each Python job, and where (``file:line``).

    The ``apply_mutators`` input does not carry the locations the ``load_resources`` phase
    reported, so the functions are called again (as ``databricks.bundles.build`` calls them:
    they must be deterministic) only when a finding needs it; any failure leaves the job named
    by its keys alone.
    """
    state = _state
    if state.definitions is not None:
        return state.definitions
    state.definitions = {}
    if not config:
        return state.definitions
    python = config.get("python") or (config.get("experimental") or {}).get("python") or {}
    names = python.get("resources") or []
    bundle = Bundle(
        target=(config.get("bundle") or {}).get("target", ""),
        variables={k: (v or {}).get("value") for k, v in (config.get("variables") or {}).items()},
    )
    for name in names:
        try:
            module_name, attr = name.split(":")
            function = getattr(importlib.import_module(module_name), attr)
            if len(inspect.signature(function).parameters) == 0:
                resources = function()
            else:
                resources = function(copy.deepcopy(bundle))
            locations = getattr(resources, "_locations", {}) or {}
            for key in getattr(resources, "jobs", {}) or {}:
                loc = locations.get(("resources", "jobs", key))
                where = None
                if loc is not None:
                    file = os.path.relpath(loc.file) if os.path.isabs(loc.file) else loc.file
                    where = f"{file}:{loc.line}" if loc.line else file
                state.definitions.setdefault(key, (name, where))
        except Exception:  # noqa: BLE001 - locations are cosmetic; the finding stands
            continue
    return state.definitions
