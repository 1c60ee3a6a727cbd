"""Experiments: run/ makes them, query/ reads them; managing, applying and syncing them."""
