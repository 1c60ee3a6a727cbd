"""What only git makes possible: a model registry, reproducing a run, bisecting a metric.

Every experiment is a commit with its code, params, data versions and environment, so
a model version can be a tag, a run can be done again from its own commit, and the
commit that made a metric worse can be found as ``git bisect`` finds a bug.
"""
