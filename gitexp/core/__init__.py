"""Pure values and formats: names, params, metrics, filters, run records.

Nothing here runs a subprocess, reads the environment, walks directories or prints.
"""
