"""Versioned schema migrations: a numbered list, applied in order inside one transaction each.

Each migration is a function of a connection. Version 1 creates the tables of :mod:`.schema`;
later versions add ``ALTER`` statements here, never edit an applied one. A store whose version is
newer than the newest known here is refused, so an old client never damages a new store.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Connection, inspect, select

from ...errors import StoreSchemaTooNew
from . import schema

Migration = tuple[int, str, Callable[[Connection], None]]


def _v1_create_tables(conn: Connection) -> None:
    t = schema
    v1 = [
        t.schema_version,
        t.experiments,
        t.environments,
        t.runs,
        t.params,
        t.tags,
        t.metric_keys,
        t.metric_chunks,
        t.latest_metrics,
        t.artifacts,
        t.run_inputs,
    ]
    schema.metadata.create_all(conn, tables=v1)


def _v2_datasets(conn: Connection) -> None:
    schema.datasets.create(conn, checkfirst=True)


def _v3_models(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.models, schema.model_versions, schema.model_aliases])


def _v4_deployments(conn: Connection) -> None:
    schema.deployments.create(conn, checkfirst=True)


def _v5_audit_and_roles(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.audit_log, schema.workspace_roles])


def _v6_tokens_and_groups(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.workspace_groups, schema.api_tokens])


def _v7_metric_batches(conn: Connection) -> None:
    schema.metric_batches.create(conn, checkfirst=True)


MIGRATIONS: list[Migration] = [
    (1, "initial tables: experiments, runs, params, tags, metrics, artifacts, run inputs", _v1_create_tables),
    (2, "datasets: registered data preparation recipes", _v2_datasets),
    (3, "the model registry: models, versions, aliases", _v3_models),
    (4, "deployments of model versions", _v4_deployments),
    (5, "the REST API's audit log and workspace roles", _v5_audit_and_roles),
    (6, "tokens per user for aml server, and group members", _v6_tokens_and_groups),
    (7, "metric batches stored once, whatever a client sends again", _v7_metric_batches),
]
LATEST = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    """The store's schema version; 0 for an empty database.

    Example:
        >>> from sqlalchemy import create_engine
        >>> with create_engine("sqlite://").connect() as c:
        ...     current_version(c)
        0
    """
    if not inspect(conn).has_table(schema.schema_version.name):
        return 0
    row = conn.execute(select(schema.schema_version.c.version).order_by(schema.schema_version.c.version.desc())).first()
    return int(row[0]) if row else 0


def pending(conn: Connection) -> list[Migration]:
    """The migrations still to apply; raises StoreSchemaTooNew for a store from the future.

    Example:
        >>> from sqlalchemy import create_engine
        >>> with create_engine("sqlite://").connect() as c:
        ...     [m[0] for m in pending(c)]
        [1, 2, 3, 4, 5, 6, 7]
    """
    version = current_version(conn)
    if version > LATEST:
        raise StoreSchemaTooNew(
            f"the store has schema version {version}, newer than this aml_jupyter knows ({LATEST}); "
            "upgrade aml_jupyter to open it",
            version=version,
            supported=LATEST,
        )
    return [m for m in MIGRATIONS if m[0] > version]


def apply(conn: Connection, migration: Migration) -> None:
    """Apply one migration and record it; the caller holds the transaction.

    Example:
        >>> from sqlalchemy import create_engine
        >>> with create_engine("sqlite://").begin() as c:
        ...     apply(c, MIGRATIONS[0]); current_version(c)
        1
    """
    version, description, run = migration
    run(conn)
    conn.execute(
        schema.schema_version.insert().values(
            version=version, applied_at=int(time.time() * 1000), description=description
        )
    )
