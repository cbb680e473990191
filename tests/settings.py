"""Changing a test workspace's aml.toml: settings are read when a workspace is opened, so it is
opened afresh after the change."""

from __future__ import annotations

from aml_jupyter.workspace import Workspace


def reconfigure(ws: Workspace, append: str = "", **settings: str) -> Workspace:
    """``ws`` with ``append`` (whole tables) added to its aml.toml and each of ``settings`` (a
    default ``aml init`` wrote commented out) set to the TOML value given; opened afresh.

    Example:
        >>> ws = reconfigure(ws, '[targets.gpu]\\ntype = "dask"\\n', system_metrics="0.2")  # doctest: +SKIP
    """
    toml = ws.aml_dir / "aml.toml"
    text = toml.read_text()
    for key, value in settings.items():
        commented = next(line for line in text.splitlines() if line.startswith(f"# {key} = "))
        text = text.replace(commented, f"{key} = {value}")
    toml.write_text(text + ("\n" + append if append else ""))
    ws.close()
    return Workspace.open(ws.root)
