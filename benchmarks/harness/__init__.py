"""The benchmark harness: workloads, timing of whole commands, reports."""
