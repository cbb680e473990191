"""Settings of a workspace, as traitlets configurables read from ``.aml/aml.toml``.

One configurable per concern; each TOML table maps to one class (``[tracking]`` →
:class:`TrackingSettings`, ``[snapshots]`` → :class:`SnapshotSettings`). The same classes serve the
SDK, the CLI, the magics and the server extension. Environment variables only feed defaults.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from traitlets import Any as TraitAny
from traitlets import Bool, Float, Int, TraitError, Unicode, validate
from traitlets.config import Config, Configurable

from .errors import ConfigError


class TrackingSettings(Configurable):
    """How runs are logged and kept: buffering, heartbeats, limits.

    Example:
        >>> TrackingSettings(flush_interval=0.2).flush_interval
        0.2
    """

    flush_interval = Float(
        0.5, help="Seconds between background writes of buffered metrics; a SIGKILL loses at most this much."
    ).tag(config=True)
    max_buffered_points = Int(
        100_000, help="Metric points held in memory before a logging call waits for the writer."
    ).tag(config=True)
    heartbeat_interval = Float(10.0, help="Seconds between heartbeats of a running run.").tag(config=True)
    heartbeat_timeout = Float(120.0, help="A running run whose last heartbeat is older than this is marked lost.").tag(
        config=True
    )
    param_value_max_length = Int(6000, help="Longest param value, in characters.").tag(config=True)
    tag_value_max_length = Int(8000, help="Longest tag value, in characters.").tag(config=True)
    busy_timeout = Float(30.0, help="Seconds a writer waits for another writer's lock.").tag(config=True)
    store_url = Unicode("", help="SQLAlchemy URL of the run store; empty means SQLite in .aml/store.db.").tag(
        config=True
    )
    artifacts_url = Unicode(
        "",
        help="Where artifact files live: a folder or a URL (s3://bucket/prefix); empty means .aml/artifacts.",
    ).tag(config=True)
    capture_environment = Bool(
        True, help="Record Python, platform, installed distributions and hardware with each run."
    ).tag(config=True)
    system_metrics = TraitAny(  # a bool or a number: true/false and 0 must stay apart (0 is refused)
        10.0,
        help="Seconds between samples of CPU, memory, disk, network and GPU use in every run; false for none.",
    ).tag(config=True)

    @validate("flush_interval", "heartbeat_interval", "heartbeat_timeout", "busy_timeout")
    def _positive_seconds(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not value > 0:
            raise TraitError(f"{proposal['trait'].name} must be > 0 seconds, got {value}")
        return value

    @validate("system_metrics")
    def _interval_or_off(self, proposal: Any) -> bool | float:
        from .sysmetrics import check_interval

        try:
            interval = check_interval(proposal["value"])
        except ValueError as exc:
            raise TraitError(str(exc)) from None
        return False if interval is None else interval

    @validate("max_buffered_points", "param_value_max_length", "tag_value_max_length")
    def _positive_count(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise TraitError(f"{proposal['trait'].name} must be >= 1, got {value}")
        return value


class SnapshotSettings(Configurable):
    """What a run's snapshot of its source folder holds.

    Example:
        >>> SnapshotSettings().max_bytes
        300000000
    """

    enabled = Bool(True, help="Snapshot the source folder of every run.").tag(config=True)
    max_bytes = Int(300_000_000, help="Largest snapshot, in bytes, before a run refuses to start.").tag(config=True)
    max_git_diff_bytes = Int(
        1_000_000, help="Largest diff of uncommitted changes recorded from the user's own git."
    ).tag(config=True)

    @validate("max_bytes", "max_git_diff_bytes")
    def _non_negative(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 0:
            raise TraitError(f"{proposal['trait'].name} must be >= 0, got {value}")
        return value


class DeploymentSettings(Configurable):
    """What a deployment of this workspace needs first.

    Example:
        >>> DeploymentSettings().require_approval
        False
    """

    require_approval = Bool(
        False,
        help="Deploy a version whose loading runs code (pickle, score.py) only once an owner approved it "
        "(aml models approve NAME:VERSION).",
    ).tag(config=True)


SECTIONS: dict[str, type[Configurable]] = {
    "tracking": TrackingSettings,
    "snapshots": SnapshotSettings,
    "deployments": DeploymentSettings,
}
# Tables read by other parts (their own loaders check them); accepted here as they are.
PASSTHROUGH_SECTIONS = {"workspace", "targets"}


def load_config(path: Path) -> tuple[Config, dict[str, Any]]:
    """Read aml.toml into a traitlets Config, checking every key; also return the raw tables.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "aml.toml"
        >>> _ = p.write_text("[tracking]\\nflush_interval = 0.25\\n")
        >>> cfg, raw = load_config(p); cfg.TrackingSettings.flush_interval
        0.25
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", path=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}", path=str(path)) from None
    cfg = Config()
    for section, values in raw.items():
        if section in PASSTHROUGH_SECTIONS:
            continue
        cls = SECTIONS.get(section)
        if cls is None:
            known = ", ".join(sorted([*SECTIONS, *PASSTHROUGH_SECTIONS]))
            raise ConfigError(f"{path}: unknown table [{section}] (known: {known})", path=str(path))
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: [{section}] must be a table", path=str(path))
        allowed = set(cls.class_own_traits(config=True))
        for key, value in values.items():
            if key not in allowed:
                raise ConfigError(
                    f"{path}: unknown setting {section}.{key} (known: {', '.join(sorted(allowed))})",
                    path=str(path),
                )
            cfg[cls.__name__][key] = value
    check_config(cfg)
    return cfg, raw


def check_config(cfg: Config) -> None:
    """Instantiate every settings class once so that a bad value fails now, with its name.

    Example:
        >>> from traitlets.config import Config
        >>> check_config(Config({"TrackingSettings": {"flush_interval": 1.0}}))
    """
    for section, cls in SECTIONS.items():
        try:
            cls(config=cfg)
        except (TraitError, ValueError, TypeError) as exc:
            raise ConfigError(f"bad value in [{section}]: {exc}") from None


def default_toml(name: str, store_url: str = "", artifacts_url: str = "") -> str:
    """The aml.toml written by ``aml init``: every setting, commented, at its default; the store's
    URL set when one is given.

    Example:
        >>> "[tracking]" in default_toml("demo")
        True
        >>> 'store_url = "postgresql://aml@db/aml"' in default_toml("demo", "postgresql://aml@db/aml")
        True
    """
    lines = [
        "# aml_jupyter workspace settings. Uncomment a line to change it.",
        "[workspace]",
        f"name = {_toml_str(name)}",
        "schema = 1",
        "",
    ]
    for section, cls in SECTIONS.items():
        lines.append(f"[{section}]")
        for trait_name, trait in sorted(cls.class_own_traits(config=True).items()):
            lines.append(f"# {trait.help}")
            given = {"store_url": store_url, "artifacts_url": artifacts_url}.get(trait_name)
            if given:
                lines.append(f"{trait_name} = {_toml_str(given)}")
                continue
            lines.append(f"# {trait_name} = {_toml_value(trait.default_value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return _toml_str(v)
    return repr(v)
