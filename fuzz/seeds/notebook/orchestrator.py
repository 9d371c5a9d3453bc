# Databricks notebook source
from concurrent.futures import ThreadPoolExecutor
tables = ['a', 'b']
# COMMAND ----------
with ThreadPoolExecutor(4) as ex:
    list(ex.map(lambda t: dbutils.notebook.run('./child', 60, {'t': t}), tables))
# COMMAND ----------
# MAGIC %run ./helpers
