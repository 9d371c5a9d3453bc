#!/usr/bin/env python3
"""Generate a deterministic benchmark corpus of realistic Databricks projects.

    scripts/gen_corpus.py OUT --notebooks 4000 [--lines 250] [--seed 7]
    scripts/gen_corpus.py OUT --bundle-tasks 1000          # one job with 1,000 tasks
    scripts/gen_corpus.py OUT --yaml-nodes 10000           # one 10,000-node bundle YAML
    scripts/gen_corpus.py OUT --jobs 200 --tasks-per-job 20

Notebooks come in every format bricklint reads: source-format `.py` notebooks (with `# MAGIC`
cells: `%md`, `%sql`, `%pip`, `%run`, DBTITLE), `.sql` notebooks with `-- MAGIC %python` cells,
`.scala` notebooks, `.ipynb` (Databricks metadata) and plain `.py` modules. Most have no
orchestration; about 4% fan out with `ThreadPool`/`ThreadPoolExecutor` over
`dbutils.notebook.run`, some set or read task values. They are grouped in projects of about 50
notebooks, each a bundle (`databricks.yml` + `resources/*.yml`) whose jobs run its notebooks.
As in a repository that keeps its notebooks working, `%run` targets exist (three helper
notebooks per project under `notebooks/helpers/`), fan-out children are notebooks of the
project, and `taskValues.get` reads the task its task depends on; the findings are those of
the fan-out notebooks. `--noisy` gives the corpus of the figures before 2026-11-26 instead
(`%run` of helpers that do not exist, `taskValues.get` of random task keys).
"""

import argparse
import json
import os
import random
import shutil

WORDS = (
    "orders customers events sessions payments invoices products inventory clicks users "
    "accounts ledger shipments returns reviews campaigns devices sensors metrics logs "
    "bronze silver gold raw clean curated daily hourly region country store vendor"
).split()


class Gen:
    def __init__(self, seed, realistic=True):
        self.r = random.Random(seed)
        # Realistic: `%run` targets exist (helper notebooks of the project) and
        # `taskValues.get` reads the task the notebook's task depends on. Not realistic (the
        # corpus of the figures before 2026-11-26, kept reproducible with --noisy): `%run` of
        # helpers that do not exist and `taskValues.get` of random task keys, which make
        # 2,878 findings in 1,800 of the 4,160 files.
        self.realistic = realistic
        self.helpers = []
        self.upstream = None

    def w(self):
        return self.r.choice(WORDS)

    def name(self):
        return f"{self.w()}_{self.w()}"

    # ---- Python building blocks (each returns a list of lines) ----
    def imports(self):
        base = [
            "import json",
            "import logging",
            "from datetime import datetime, timedelta",
            "from pyspark.sql import functions as F",
            "from pyspark.sql import types as T",
            "from pyspark.sql.window import Window",
        ]
        return self.r.sample(base, self.r.randint(3, len(base)))

    def widgets(self):
        n = self.name()
        return [
            f'dbutils.widgets.text("run_date", "", "Run date")',
            f'dbutils.widgets.dropdown("env", "dev", ["dev", "test", "prod"])',
            f'run_date = dbutils.widgets.get("run_date") or datetime.utcnow().strftime("%Y-%m-%d")',
            f'env = dbutils.widgets.get("env")',
            f'{n}_table = f"{{env}}_catalog.{self.w()}.{n}"',
        ]

    def function(self):
        fn = f"transform_{self.name()}"
        cols = ", ".join(f'"{self.w()}"' for _ in range(self.r.randint(2, 5)))
        lines = [
            f"def {fn}(df, run_date):",
            f'    """Clean and enrich {self.w()} records for one day."""',
            f"    cols = [{cols}]",
            "    for c in cols:",
            "        df = df.withColumn(c, F.trim(F.col(c)))",
            f'    df = df.filter(F.col("{self.w()}_date") == F.lit(run_date))',
            f'    w = Window.partitionBy("{self.w()}_id").orderBy(F.col("updated_at").desc())',
            '    df = df.withColumn("rn", F.row_number().over(w)).filter("rn = 1").drop("rn")',
            f'    if df.rdd.isEmpty():',
            f'        logging.warning("no rows for %s", run_date)',
            "    return df",
            "",
            f'result = {fn}(spark.table("{self.w()}.{self.name()}"), run_date)',
            f'result.write.mode("overwrite").saveAsTable("{self.w()}.{self.name()}")',
        ]
        return lines

    def klass(self):
        c = self.name().title().replace("_", "")
        return [
            f"class {c}Loader:",
            "    def __init__(self, spark, path, fmt='delta'):",
            "        self.spark = spark",
            "        self.path = path",
            "        self.fmt = fmt",
            "",
            "    def load(self, **options):",
            "        reader = self.spark.read.format(self.fmt)",
            "        for k, v in options.items():",
            "            reader = reader.option(k, v)",
            "        return reader.load(self.path)",
            "",
            "    def __repr__(self):",
            f'        return f"{c}Loader({{self.path!r}})"',
        ]

    def config_dict(self):
        keys = self.r.sample(WORDS, 6)
        lines = [f"{self.name().upper()}_CONFIG = {{"]
        for k in keys:
            lines.append(f'    "{k}": {{"table": "{self.w()}.{k}", "partitions": [{self.r.randint(1, 9)}, {self.r.randint(10, 99)}], "enabled": {self.r.choice(["True", "False"])}}},')
        lines.append("}")
        return lines

    def loop(self):
        n = self.name()
        return [
            f"totals_{n} = {{}}",
            f"for row in spark.table(\"{self.w()}.{n}\").collect():",
            f"    key = (row['{self.w()}'], row['{self.w()}'])",
            f"    totals_{n}[key] = totals_{n}.get(key, 0) + row['amount']",
            f"summary = sorted(totals_{n}.items(), key=lambda kv: -kv[1])[:10]",
            "print(json.dumps([list(k) + [v] for k, v in summary]))",
        ]

    def sql_text(self):
        t = self.name()
        return [
            f"SELECT {self.w()}_id, count(*) AS n, sum(amount) AS total",
            f"FROM {self.w()}.{t}",
            f"WHERE {self.w()}_date >= date_sub(current_date(), {self.r.randint(1, 30)})",
            f"GROUP BY {self.w()}_id",
            "ORDER BY total DESC",
            f"LIMIT {self.r.randint(10, 1000)}",
        ]

    def fanout(self, children):
        """Driver-side fan-out of notebook runs (the pattern bricklint exists for)."""
        shape = self.r.randrange(3)
        child = self.r.choice(children)
        items = ", ".join(f'"{self.w()}"' for _ in range(self.r.randint(3, 12)))
        if shape == 0:
            return [
                "from multiprocessing.pool import ThreadPool",
                "",
                f"tables = [{items}]",
                "",
                "def run_child(table):",
                f'    return dbutils.notebook.run("{child}", 3600, {{"table": table, "run_date": run_date}})',
                "",
                f"pool = ThreadPool({self.r.choice([4, 8, 16, 32])})",
                "results = pool.map(run_child, tables)",
                "print(results)",
            ]
        if shape == 1:
            return [
                "from concurrent.futures import ThreadPoolExecutor, as_completed",
                "",
                f"objects = [{items}]",
                f"with ThreadPoolExecutor(max_workers={self.r.choice([8, 20, 64])}) as ex:",
                f'    futures = [ex.submit(dbutils.notebook.run, "{child}", 0, {{"object": o}}) for o in objects]',
                "    for f in as_completed(futures):",
                "        try:",
                "            print(f.result())",
                "        except Exception as e:",
                "            print(f'failed: {e}')",
            ]
        return [
            "from concurrent.futures import ThreadPoolExecutor",
            "",
            "class NotebookData:",
            "    def __init__(self, path, timeout, parameters=None):",
            "        self.path = path",
            "        self.timeout = timeout",
            "        self.parameters = parameters",
            "",
            "def submit_notebook(nb):",
            "    return dbutils.notebook.run(nb.path, nb.timeout, nb.parameters)",
            "",
            f'notebooks = [NotebookData("{child}", 1200, {{"k": k}}) for k in [{items}]]',
            "with ThreadPoolExecutor(max_workers=len(notebooks)) as ex:",
            "    results = list(ex.map(lambda nb: submit_notebook(nb), notebooks))",
            "dbutils.jobs.taskValues.set(key=\"results\", value=results)",
        ]

    def python_cells(self, target_lines, children, orchestrator):
        """Cells as (kind, lines): kind is 'py', 'md', 'sql', 'pip', 'run', 'sh'."""
        cells = [("py", self.imports()), ("py", self.widgets())]
        if orchestrator:
            cells.append(("py", self.fanout(children)))
        total = sum(len(c[1]) + 4 for c in cells)
        makers = [self.function, self.function, self.klass, self.config_dict, self.loop]
        while total < target_lines:
            roll = self.r.random()
            if roll < 0.12:
                cell = ("md", [f"## {self.w().title()} {self.w()}", "", f"Loads {self.w()} into {self.w()}."])
            elif roll < 0.20:
                cell = ("sql", self.sql_text())
            elif roll < 0.23:
                cell = ("pip", [f"%pip install {self.w()}-utils=={self.r.randint(0, 3)}.{self.r.randint(0, 20)}"])
            elif roll < 0.25:
                if self.realistic:
                    cell = ("run", [f"%run ./helpers/{self.r.choice(self.helpers)}"])
                else:
                    cell = ("run", [f"%run ./{self.w()}_helpers"])
            elif roll < 0.27 and (self.upstream or not self.realistic):
                task = self.upstream if self.realistic else self.w()
                cell = ("py", [f'value = dbutils.jobs.taskValues.get(taskKey="{task}", key="{self.w()}", default=[], debugValue=[])'])
            else:
                cell = ("py", self.r.choice(makers)())
            cells.append(cell)
            total += len(cell[1]) + 4
        return cells


# ---- writers for each format ----

def source_py(g, cells):
    out = ["# Databricks notebook source"]
    for i, (kind, lines) in enumerate(cells):
        if i:
            out += ["", "# COMMAND ----------", ""]
        if g.r.random() < 0.2:
            out.append(f"# DBTITLE 1,{g.w().title()} {g.w()}")
        if kind == "py":
            out += lines
        elif kind in ("md", "sql", "sh"):
            out.append(f"# MAGIC %{kind}")
            out += [f"# MAGIC {l}" if l else "# MAGIC" for l in lines]
        else:  # pip / run: the magic is the first line
            out += [f"# MAGIC {l}" for l in lines]
    return "\n".join(out) + "\n"


def source_sql(g, cells):
    out = ["-- Databricks notebook source"]
    for i, (kind, lines) in enumerate(cells):
        if i:
            out += ["", "-- COMMAND ----------", ""]
        if kind == "sql":
            out += lines
        elif kind in ("py", "md"):
            out.append("-- MAGIC %" + ("python" if kind == "py" else "md"))
            out += [f"-- MAGIC {l}" if l else "-- MAGIC" for l in lines]
        else:
            out += [f"-- MAGIC {l}" for l in lines]
    return "\n".join(out) + "\n"


def scala_cells(g, target_lines, fanout):
    cells = [["import org.apache.spark.sql.functions._", "import scala.concurrent.{Future, Await}", "import scala.concurrent.duration._", "import scala.concurrent.ExecutionContext.Implicits.global"]]
    if fanout:
        cells.append([
            f'val tables = Seq({", ".join(chr(34) + g.w() + chr(34) for _ in range(5))})',
            "val runs = tables.map { t =>",
            '  Future { dbutils.notebook.run("./child", 600, Map("table" -> t)) }',
            "}",
            "Await.result(Future.sequence(runs), 2.hours)",
        ])
    total = 8
    while total < target_lines:
        t = g.name()
        cell = [
            f"def load{t.title().replace('_', '')}(date: String) = {{",
            f'  spark.table("{g.w()}.{t}")',
            f'    .filter(col("{g.w()}_date") === lit(date))',
            f'    .groupBy("{g.w()}_id")',
            '    .agg(sum("amount").as("total"), count("*").as("n"))',
            "}",
            f'val df{len(cells)} = load{t.title().replace("_", "")}("2024-01-01")',
            f'df{len(cells)}.write.mode("overwrite").saveAsTable("{g.w()}.{t}_agg")',
        ]
        cells.append(cell)
        total += len(cell) + 4
    out = ["// Databricks notebook source"]
    for i, lines in enumerate(cells):
        if i:
            out += ["", "// COMMAND ----------", ""]
        out += lines
    return "\n".join(out) + "\n"


def ipynb(g, cells):
    nb_cells = []
    for kind, lines in cells:
        if kind == "py":
            src = lines
            ctype = "code"
        elif kind == "md":
            src = lines
            ctype = "markdown"
        else:
            src = ([f"%{kind}"] + lines) if kind in ("sql", "sh") else lines
            ctype = "code"
        source = [l + "\n" for l in src]
        if source:
            source[-1] = source[-1].rstrip("\n")
        cell = {
            "cell_type": ctype,
            "metadata": {
                "application/vnd.databricks.v1+cell": {
                    "cellMetadata": {},
                    "inputWidgets": {},
                    "nuid": f"{g.r.getrandbits(64):016x}",
                    "showTitle": False,
                    "title": "",
                }
            },
            "source": source,
        }
        if ctype == "code":
            cell["execution_count"] = 0
            cell["outputs"] = []
        nb_cells.append(cell)
    doc = {
        "cells": nb_cells,
        "metadata": {
            "application/vnd.databricks.v1+notebook": {
                "language": "python",
                "notebookName": g.name(),
                "widgets": {},
            }
        },
        "nbformat": 4,
        "nbformat_minor": 0,
    }
    return json.dumps(doc, indent=1) + "\n"


def module(g, target_lines):
    out = ['"""Shared helpers for the pipelines."""', "", "import json", "import logging", "from functools import partial", "", "log = logging.getLogger(__name__)", ""]
    while len(out) < target_lines:
        block = g.r.choice([g.klass, g.config_dict, g.function])()
        if block[-2:] and block[-1].startswith("result"):
            block = block[:-3]
        out += block + ["", ""]
    return "\n".join(out) + "\n"


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        f.write(text)


def bundle_yaml(name, jobs):
    """jobs: list of (job_name, [(task_key, notebook_rel_path, depends_on)])"""
    out = ["resources:", "  jobs:"]
    for job, tasks in jobs:
        out += [f"    {job}:", f"      name: {job}", "      max_concurrent_runs: 1", "      tasks:"]
        for key, nb, deps in tasks:
            out.append(f"        - task_key: {key}")
            if deps:
                out.append("          depends_on:")
                out += [f"            - task_key: {d}" for d in deps]
            out += [
                "          notebook_task:",
                f"            notebook_path: {nb}",
                "            base_parameters:",
                '              run_date: "{{job.start_time.iso_date}}"',
                "          timeout_seconds: 3600",
            ]
    return "\n".join(out) + "\n"


def root_yaml(name):
    return (
        f"bundle:\n  name: {name}\n\ninclude:\n  - resources/*.yml\n\n"
        "variables:\n  catalog:\n    default: dev_catalog\n\n"
        "targets:\n  dev:\n    mode: development\n    default: true\n  prod:\n    mode: production\n"
    )


def helper_notebook(g, name):
    """A small notebook other notebooks `%run` for shared functions and settings."""
    cells = [("py", g.imports()), ("py", g.config_dict())]
    for _ in range(2):
        block = g.function()[:-3]
        cells.append(("py", block))
    return source_py(g, cells)


def gen_notebooks(out, n, lines, seed, fanout_share=0.04, realistic=True):
    g = Gen(seed, realistic)
    per_project = 50
    files = 0
    total_lines = 0
    for p in range((n + per_project - 1) // per_project):
        proj = os.path.join(out, f"project_{p:03d}")
        count = min(per_project, n - p * per_project)
        names = [f"nb_{i:03d}_{g.name()}" for i in range(count)]
        children = [f"./{nm}" for nm in names[:10]]
        tasks_by_job = {}
        rolls = None
        if realistic:
            # Formats first, so that fan-out children are notebooks (not `lib/` modules).
            rolls = [g.r.random() for _ in names]
            children = [f"./{nm}" for nm, r in zip(names, rolls) if r < 0.85][:10] or children
            g.helpers = sorted({f"{g.w()}_helpers" for _ in range(3)})
            for h in g.helpers:
                text = helper_notebook(g, h)
                write(os.path.join(proj, "notebooks", "helpers", h + ".py"), text)
                files += 1
                total_lines += text.count("\n")
        for i, nm in enumerate(names):
            roll = rolls[i] if rolls else g.r.random()
            target = max(40, int(g.r.gauss(lines, lines * 0.25)))
            orchestrator = g.r.random() < fanout_share
            g.upstream = None
            if realistic and roll < 0.85:
                # A notebook: its task, and the task it depends on, decided first.
                tasks = tasks_by_job.setdefault(f"job_{i % 6}", [])
                deps = [tasks[-1][0]] if tasks and g.r.random() < 0.5 else []
                g.upstream = deps[0] if deps else None
            if roll < 0.55:
                rel = f"notebooks/{nm}.py"
                text = source_py(g, g.python_cells(target, children, orchestrator))
            elif roll < 0.65:
                rel = f"notebooks/{nm}.sql"
                text = source_sql(g, g.python_cells(target, children, orchestrator))
            elif roll < 0.70:
                rel = f"notebooks/{nm}.scala"
                text = scala_cells(g, target, orchestrator)
            elif roll < 0.85:
                rel = f"notebooks/{nm}.ipynb"
                text = ipynb(g, g.python_cells(target, children, orchestrator))
            else:
                rel = f"lib/{nm}.py"
                text = module(g, target)
            write(os.path.join(proj, rel), text)
            files += 1
            total_lines += text.count("\n") if not rel.endswith(".ipynb") else sum(
                len(c["source"]) for c in json.loads(text)["cells"]
            )
            if rel.startswith("notebooks/"):
                job = f"job_{i % 6}"
                tasks = tasks_by_job.setdefault(job, [])
                if not realistic:
                    deps = [tasks[-1][0]] if tasks and g.r.random() < 0.5 else []
                tasks.append((f"t_{i:03d}", f"../{rel}", deps))
        write(os.path.join(proj, "databricks.yml"), root_yaml(f"project_{p:03d}"))
        write(os.path.join(proj, "resources", "jobs.yml"), bundle_yaml("jobs", sorted(tasks_by_job.items())))
    return files, total_lines


def gen_big_bundle(out, jobs, tasks_per_job, seed):
    g = Gen(seed, realistic=False)  # the bundle corpora of the earlier figures, unchanged
    os.makedirs(os.path.join(out, "notebooks"), exist_ok=True)
    write(os.path.join(out, "databricks.yml"), root_yaml("big"))
    nbs = []
    for i in range(20):
        rel = f"notebooks/step_{i:02d}.py"
        write(os.path.join(out, rel), source_py(g, g.python_cells(60, ["./x"], False)))
        nbs.append(f"../{rel}")
    all_jobs = []
    for j in range(jobs):
        tasks = []
        for t in range(tasks_per_job):
            deps = [f"task_{t - 1:04d}"] if t and t % 10 else ([f"task_{t - 10:04d}"] if t >= 10 else [])
            tasks.append((f"task_{t:04d}", nbs[t % len(nbs)], deps))
        all_jobs.append((f"job_{j:04d}", tasks))
    write(os.path.join(out, "resources", "jobs.yml"), bundle_yaml("jobs", all_jobs))


def gen_yaml_nodes(out, nodes, seed):
    """One bundle resource file with about `nodes` YAML nodes (mostly job tags and parameters)."""
    g = Gen(seed, realistic=False)  # the bundle corpora of the earlier figures, unchanged
    write(os.path.join(out, "databricks.yml"), root_yaml("nodes"))
    write(os.path.join(out, "notebooks", "main.py"), source_py(g, g.python_cells(40, ["./x"], False)))
    lines = ["resources:", "  jobs:"]
    count = 0
    j = 0
    while count < nodes:
        lines += [f"    job_{j}:", f"      name: job_{j}", "      tags:"]
        count += 4
        for k in range(40):
            lines.append(f"        tag_{k}: value_{g.w()}_{k}")
            count += 2
        lines += ["      parameters:"]
        for k in range(20):
            lines += [f"        - name: p_{k}", f"          default: \"{g.w()}\""]
            count += 5
        lines += [
            "      tasks:",
            "        - task_key: main",
            "          notebook_task:",
            "            notebook_path: ../notebooks/main.py",
        ]
        count += 6
        j += 1
    write(os.path.join(out, "resources", "jobs.yml"), "\n".join(lines) + "\n")
    return count


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--notebooks", type=int, default=0)
    ap.add_argument("--lines", type=int, default=265, help="mean lines per notebook (~250 counted by the generator)")
    ap.add_argument("--fanout-share", type=float, default=0.04, help="share of notebooks that fan out")
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--tasks-per-job", type=int, default=20)
    ap.add_argument("--bundle-tasks", type=int, default=0, help="one job with this many tasks")
    ap.add_argument("--yaml-nodes", type=int, default=0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--noisy", action="store_true", help="the corpus of the figures before 2026-11-26: `%%run` targets that do not exist and `taskValues.get` of random task keys (2,878 findings in 1,800 files)")
    a = ap.parse_args()
    if os.path.exists(a.out):
        shutil.rmtree(a.out)
    os.makedirs(a.out)
    if a.notebooks:
        files, lines = gen_notebooks(a.out, a.notebooks, a.lines, a.seed, a.fanout_share, not a.noisy)
        print(f"{a.out}: {files} notebooks and modules, {lines} lines")
    if a.bundle_tasks:
        gen_big_bundle(a.out, 1, a.bundle_tasks, a.seed)
        print(f"{a.out}: 1 job with {a.bundle_tasks} tasks")
    if a.jobs:
        gen_big_bundle(a.out, a.jobs, a.tasks_per_job, a.seed)
        print(f"{a.out}: {a.jobs} jobs x {a.tasks_per_job} tasks")
    if a.yaml_nodes:
        n = gen_yaml_nodes(a.out, a.yaml_nodes, a.seed)
        print(f"{a.out}: one YAML file with ~{n} nodes")


if __name__ == "__main__":
    main()
