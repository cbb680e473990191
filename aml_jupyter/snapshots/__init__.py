"""Content-addressed project snapshots per run, restore and diff."""
