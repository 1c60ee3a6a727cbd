"""Tracked data, knowing nothing of experiments: pointers, add, status, checkout, sync."""
