"""Reading experiments: show and its index, diff, compare, series."""
