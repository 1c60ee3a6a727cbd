"""Making experiments: a run and its grid, worktrees, the logging API, recording."""
