"""Pieces of ``benchmarks/storage.py``: a request-counting proxy and the two tools' projects."""
