"""The demo behind ``make demo``: a workspace, a tracked training run, a small sweep, the best run."""
