# Databricks notebook source
dbutils.widgets.text("table", "")
table = dbutils.widgets.get("table")

# COMMAND ----------

df = spark.read.format("json").load(f"/Volumes/main/raw/landing/{table}")
df.write.mode("append").saveAsTable(f"main.bronze.{table}")
dbutils.notebook.exit("ok")
