# Databricks notebook source
# MAGIC %md
# MAGIC # Bronze ingest orchestrator
# MAGIC Runs the bronze ingest notebook for every source table, "in parallel".

# COMMAND ----------

from multiprocessing.pool import ThreadPool

tables = ["customers", "orders", "payments", "shipments", "returns"]

# COMMAND ----------

def run_notebook_bronze(table):
    return dbutils.notebook.run("./bronze_ingest", 0, {"table": table})

# COMMAND ----------

pool = ThreadPool(32)
results = pool.map(run_notebook_bronze, tables)
print(results)
