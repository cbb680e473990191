"""Compute targets: where submitted jobs run (``[targets.NAME]`` in aml.toml)."""
