"""Runs, params, metrics, tags and artifacts: the store, the logging path and the queries."""
