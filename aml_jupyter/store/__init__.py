"""Persistence of a workspace's runs, models, datasets and roles: the only layer that speaks SQL
(a lint rule keeps SQLAlchemy and the schema here and in ``tracking/``).

:func:`open_store` opens the run store a URL names (``sqlite:///...``, ``postgresql://...``, or
a scheme a package adds through the ``aml_jupyter.stores`` entry point); artifact files have their
own registry (:func:`aml_jupyter.store.files.open_artifacts`). The shapes every store keeps are
the Protocols of :mod:`.interfaces`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from .interfaces import RunStore

ENTRY_POINTS = "aml_jupyter.stores"  # scheme -> factory(url, busy_timeout=..., heartbeat_timeout=...)
BUILT_IN = ("sqlite", "postgresql")


def _scheme(url: str) -> str:
    return url.partition("://")[0].partition("+")[0].lower()


def open_store(url: str, busy_timeout: float = 30.0, heartbeat_timeout: float = 120.0) -> RunStore:
    """The run store at ``url``: SQLite or PostgreSQL here, any other scheme from a plug-in.

    Example:
        >>> import tempfile, os
        >>> from aml_jupyter.store.sql.database import Database
        >>> url = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "s.db"); Database.create(url).dispose()
        >>> open_store(url).list_experiments()
        []
        >>> open_store("cassandra://db/runs")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.ConfigError: cassandra://db/runs: no run store serves cassandra:// (built in: ...
    """
    scheme = _scheme(url)
    if scheme in BUILT_IN:
        from .sql.database import Database
        from .sql.runs import RunStore as SqlRunStore

        return SqlRunStore(Database.open(url, busy_timeout=busy_timeout), heartbeat_timeout=heartbeat_timeout)
    plugins = _plugins()
    if scheme not in plugins:
        listed = ", ".join(sorted(plugins)) or "none"
        raise ConfigError(
            f"{url.rpartition('@')[2] if '@' in url else url}: no run store serves {scheme}:// "
            f"(built in: {', '.join(BUILT_IN)}; plug-ins: {listed})"
        )
    store: RunStore = plugins[scheme]()(url, busy_timeout=busy_timeout, heartbeat_timeout=heartbeat_timeout)
    return store


def _plugins() -> dict[str, Any]:
    # Scanned on first need only: looking entry points up costs milliseconds on every start.
    from importlib.metadata import entry_points

    return {ep.name: ep.load for ep in entry_points(group=ENTRY_POINTS)}
