"""The local content-addressed store, its indexes, pointers and workspace copies."""
