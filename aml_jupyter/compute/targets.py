"""Compute targets as configured in ``[targets.NAME]`` tables of aml.toml.

Every workspace has ``local`` (a child process in a folder materialized from the run's snapshot)
and ``dask`` (the embedded Dask cluster, or the scheduler at ``address``). A table may add targets
of these types or override their settings; each setting is checked for its type.
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
# Each type's settings and the Python type each must have (bool is checked before int).
_COMMON: dict[str, type | tuple[type, ...]] = {
    "type": str,
    "description": str,
    "retries": int,
    "max_queued": int,
    "requirements": str,
    "tracking_uri": str,
    "pass_env": list,
}
_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "local": {**_COMMON, "max_concurrent": int},
    "dask": {
        **_COMMON,
        "address": str,
        "workers": int,
        "threads": int,
        "gpus": int,
        "gpu": bool,
        "idle_timeout": int,
    },
}
_LIMITS = {
    "retries": (0, 2),
    "max_queued": (1, 100_000),
    "max_concurrent": (1, 1024),
    "workers": (1, 1024),
    "threads": (1, 1024),
    "gpus": (0, 64),
    "idle_timeout": (0, 7 * 86400),
}


def _check_setting(target: str, key: str, value: Any, kinds: dict[str, type | tuple[type, ...]]) -> None:
    want = kinds[key]
    ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
    if not ok:
        name = want.__name__ if isinstance(want, type) else "/".join(w.__name__ for w in want)
        raise ConfigError(f"[targets.{target}] {key} must be a {name}, not {value!r}")
    if key == "pass_env" and not all(isinstance(n, str) and n.isidentifier() for n in value):
        raise ConfigError(f"[targets.{target}] pass_env must list variable names, not {value!r}")
    if key in _LIMITS and not _LIMITS[key][0] <= value <= _LIMITS[key][1]:
        lo, hi = _LIMITS[key]
        raise ConfigError(f"[targets.{target}] {key} must be between {lo} and {hi}, not {value!r}")


@dataclass(frozen=True)
class Target:
    """One compute target."""

    name: str
    type: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def runs_jobs(self) -> bool:
        """Whether jobs can be submitted to it (every type can; kept for the listing's column)."""
        return self.type in TYPES


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
        unknown = set(settings) - set(_KEYS[kind])
        if unknown:
            raise ConfigError(f"[targets.{name}]: unknown setting(s) {', '.join(sorted(unknown))}")
        for key, value in settings.items():
            _check_setting(name, key, value, _KEYS[kind])
        tables[name] = {**DEFAULTS.get(name, {}), **settings, "type": kind}
    return [Target(name, t["type"], {k: v for k, v in t.items() if k != "type"}) for name, t in sorted(tables.items())]


def passed_names(ws: Workspace, name: str) -> list[str]:
    """The variable names target ``name`` lets through to code it runs (``pass_env``); none when
    the target or its table has gone since (compute/user_env.py).

    Example:
        >>> import tempfile
        >>> from aml_jupyter.workspace import Workspace
        >>> passed_names(Workspace.init(tempfile.mkdtemp()), "local")
        []
    """
    try:
        return list(get_target(ws, name).settings.get("pass_env", []))
    except (ConfigError, InvalidValue):
        return []


def get_target(ws: Workspace, name: str) -> Target:
    """The target ``name``, or a clear error naming the known ones."""
    targets = {t.name: t for t in list_targets(ws)}
    if name not in targets:
        raise InvalidValue(f"unknown target {name!r} (known: {', '.join(sorted(targets))})", target=name)
    return targets[name]
