"""The run store's tables, in SQLAlchemy Core: portable between SQLite and PostgreSQL.

Times are integer milliseconds since the epoch. Metric history is kept in binary chunks (see
``metric_chunks``); the latest value per run and key, which searches filter and sort on, is a
double plus a ``special`` code, because SQLite turns NaN into NULL and may store -0.0 as the
integer 0: the pair round-trips NaN, +inf, -inf and -0.0 exactly on every backend.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

schema_version = Table(
    "aml_schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", BigInteger, nullable=False),
    Column("description", Text, nullable=False),
)

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(250), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
)

environments = Table(
    "environments",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("info", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("status", String(16), nullable=False),
    Column("parent_pk", Integer, ForeignKey("runs.pk", ondelete="SET NULL")),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger),
    Column("heartbeat_at", BigInteger),
    Column("source_kind", String(32), nullable=False),
    Column("source_path", Text),
    Column("user", String(250), nullable=False),
    Column("compute_target", String(64), nullable=False),
    Column("snapshot_id", String(64)),
    Column("git", Text),
    Column("environment_hash", String(64), ForeignKey("environments.hash")),
    Column("error", Text),
    Column("error_traceback", Text),
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
    Index("ix_runs_status_heartbeat", "status", "heartbeat_at"),
)

params = Table(
    "params",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_params_key_value", "key", "value"),
    sqlite_with_rowid=False,  # clustered on the primary key: one b-tree fewer to write
)

tags = Table(
    "tags",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_tags_key_value", "key", "value"),
    sqlite_with_rowid=False,  # clustered on the primary key: one b-tree fewer to write
)

metric_keys = Table(
    "metric_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(250), nullable=False, unique=True),
)

# Metric history in chunks: each row holds up to CHUNK_POINTS consecutive points of one run and
# key as little-endian arrays (int64 steps, float64 values, int64 ms timestamps). One insert per
# chunk instead of one per point is what lets a batch of a million points land in well under a
# second; float64 bytes round-trip NaN, infinities and -0.0 exactly. Rows are in logging order.
metric_chunks = Table(
    "metric_chunks",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), nullable=False),
    Column("key_id", Integer, ForeignKey("metric_keys.id"), nullable=False),
    Column("min_step", BigInteger, nullable=False),
    Column("max_step", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("steps", LargeBinary, nullable=False),
    Column("vals", LargeBinary, nullable=False),
    Column("times", LargeBinary, nullable=False),
    Index("ix_metric_chunks_run_key", "run_pk", "key_id", "id"),
)
CHUNK_POINTS = 65_536

# The point with the highest step per run and key, kept at write time so searches never scan
# the full history.
latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("key_id", Integer, ForeignKey("metric_keys.id"), primary_key=True),
    Column("step", BigInteger, nullable=False),
    Column("value", Double),
    Column("special", SmallInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Index("ix_latest_key_value", "key_id", "value"),
    sqlite_with_rowid=False,  # clustered on the primary key: one b-tree fewer to write
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("name", String(1024), primary_key=True),
    Column("digest", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(128), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

run_inputs = Table(
    "run_inputs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("name", String(250), nullable=False),
    Column("uri", Text),
    Column("digest", String(64)),
    Column("role", String(32), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# Added in schema version 2: registered data preparation recipes (datasets), for lineage.
datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(250), nullable=False),
    Column("version", Integer, nullable=False),
    Column("recipe", Text, nullable=False),
    Column("recipe_hash", String(64), nullable=False),
    Column("source_fingerprint", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("user", String(250), nullable=False),
    UniqueConstraint("name", "version", name="uq_datasets_name_version"),
)

# Added in schema version 3: the model registry. A version's files are content-addressed artifacts
# (the manifest lists path, digest and size); its lineage is its source run and what that run read.
models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(250), nullable=False, unique=True),
    Column("description", Text),
    Column("created_at", BigInteger, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("flavor", String(64), nullable=False),
    Column("files", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="SET NULL")),
    Column("signature", Text),
    Column("tags", Text, nullable=False),
    Column("description", Text),
    Column("user", String(250), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("model_id", "version", name="uq_model_versions_model_version"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("model_id", Integer, ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
)

# Added in schema version 4: deployments of model versions. The key is not here: it lives in a
# file only its owner can read (.aml/deployments/NAME/key).
deployments = Table(
    "deployments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("model_ref", String(320), nullable=False),
    Column("model", String(250), nullable=False),
    Column("version", Integer, nullable=False),
    Column("target", String(32), nullable=False),
    Column("url", Text),
    Column("port", Integer),
    Column("pid", Integer),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# Who did what through the REST API: every write, execute and owner action, allowed or refused.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", BigInteger, nullable=False),
    Column("user", String(250), nullable=False),
    Column("action", String(16), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", Text, nullable=False),
    Column("address", String(64)),
    Column("status", Integer, nullable=False),
    Index("ix_audit_at", "at"),
)

# Roles given through the API by an owner (user or group name -> role); traitlets config is the base.
workspace_roles = Table(
    "workspace_roles",
    metadata,
    Column("principal", String(250), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# Group members for roles given to a group (the Jupyter extension's config may name more).
workspace_groups = Table(
    "workspace_groups",
    metadata,
    Column("group_name", String(250), primary_key=True),
    Column("member", String(250), primary_key=True),
)

# Per-user bearer tokens of `aml server`: only a SHA-256 of each secret is kept (the secret is shown
# once, when made); a revoked token stays, so that a job still using it is told why it is refused.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("user", String(250), nullable=False),
    Column("name", String(250), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(250), nullable=False),
    Column("expires_at", BigInteger),
    Column("revoked_at", BigInteger),
    Column("last_used_at", BigInteger),
)


# Added in schema version 7: metric batches a client sent with an id, so that one it sends again (no
# answer came: the server died between storing and answering) is stored once. Written in the same
# transaction as the batch's points.
metric_batches = Table(
    "metric_batches",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("batch_id", String(64), primary_key=True),
    Column("points", Integer, nullable=False),
    Column("at", BigInteger, nullable=False),
)
