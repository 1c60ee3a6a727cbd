"""Pictures of experiments: step-series plots, the HTML report and terminal sparklines.

This layer draws plain data handed to it (see `gitexp.report.data`); it never reads
a repository. Plotly draws the interactive pages, its script embedded so a page needs
no network; matplotlib draws static images. Both come with ``gitexp[plots]``.
"""
