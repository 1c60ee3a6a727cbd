"""Bringing another tool's history into gitexp: a DVC project, MLflow runs.

One module per source reads that tool's own formats (no DVC or MLflow needed for a
DVC repository or an MLflow file store); `record` writes what was read as gitexp
experiments, each naming its source in ``run.json`` (``imported``) so that importing
again adds only what is new.
"""
