"""Compute targets as configured in ``[targets.NAME]`` tables of aml.toml.

Every workspace has ``local`` (a child process in a folder materialized from the run's snapshot)
and ``dask`` (a Dask cluster; running jobs on it is not built yet). A table may add targets of
these types or override their settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import load_config
from ..errors import ConfigError, InvalidValue

if TYPE_CHECKING:
    from ..workspace import Workspace

TYPES = ("local", "dask")
DEFAULTS: dict[str, dict[str, Any]] = {
    "local": {"type": "local"},
    "dask": {"type": "dask", "address": ""},
}
_KEYS = {"local": {"type", "description"}, "dask": {"type", "description", "address", "workers"}}


@dataclass(frozen=True)
class Target:
    """One compute target."""

    name: str
    type: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def runs_jobs(self) -> bool:
        """Whether jobs can be submitted to it in this version."""
        return self.type == "local"


def list_targets(ws: Workspace) -> list[Target]:
    """The workspace's targets: the defaults, then those of aml.toml (checked).

    Example:
        >>> import tempfile
        >>> from aml_jupyter.workspace import Workspace
        >>> [t.name for t in list_targets(Workspace.init(tempfile.mkdtemp()))]
        ['dask', 'local']
    """
    _, raw = load_config(ws.aml_dir / "aml.toml")
    tables = dict(DEFAULTS)
    user = raw.get("targets", {})
    if not isinstance(user, dict):
        raise ConfigError("[targets] must hold one table per target, e.g. [targets.gpu]")
    for name, settings in user.items():
        if not isinstance(settings, dict):
            raise ConfigError(f"[targets.{name}] must be a table")
        kind = settings.get("type", DEFAULTS.get(name, {}).get("type"))
        if kind not in TYPES:
            raise ConfigError(f"[targets.{name}]: type must be one of {', '.join(TYPES)}, not {kind!r}")
        unknown = set(settings) - _KEYS[kind]
        if unknown:
            raise ConfigError(f"[targets.{name}]: unknown setting(s) {', '.join(sorted(unknown))}")
        tables[name] = {**DEFAULTS.get(name, {}), **settings, "type": kind}
    return [Target(name, t["type"], {k: v for k, v in t.items() if k != "type"}) for name, t in sorted(tables.items())]


def get_target(ws: Workspace, name: str) -> Target:
    """The target ``name``, or a clear error naming the known ones."""
    targets = {t.name: t for t in list_targets(ws)}
    if name not in targets:
        raise InvalidValue(f"unknown target {name!r} (known: {', '.join(sorted(targets))})", target=name)
    return targets[name]
