"""bricklint: static analyzer, migration tool and bundle companion for Databricks notebook fan-out.

The wheel ships the Rust binary (``bricklint`` on PATH) and this small package:

- ``python -m bricklint ...`` runs the bundled binary;
- ``bricklint.bundles:check_job``, a ``databricks-bundles`` job mutator that checks the bundle
  when ``databricks bundle validate`` / ``deploy`` runs (see ``bricklint.bundles``).

Importing this package imports nothing outside the standard library; only ``bricklint.bundles``
needs ``databricks-bundles``.
"""

from bricklint._find import find_bricklint_bin

__all__ = ["find_bricklint_bin"]
