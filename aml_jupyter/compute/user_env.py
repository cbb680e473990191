"""The environment variables of code that runs for a user: a job's script, notebook kernel or
cell, a deployment's scoring service, an environment build, the embedded Dask cluster's workers.

Never the starter's whole environment. The process that starts them (a Jupyter server,
``aml server``, a supervisor) may hold the server's owner token (``AML_SERVER_TOKEN``), the
bucket's keys (``AWS_*``), a database password (``PGPASSWORD``) or a Jupyter token; a job's
stdout is readable by every reader of the run. So only the names below pass: where programs
are, locale, temporary and cache folders, Python's and the numeric libraries' own switches,
which GPUs to use. Anything else passes only when named: a target's ``pass_env`` setting in
aml.toml (``[targets.gpu] pass_env = ["WANDB_API_KEY"]``), or, on a worker that reaches the
workspace through ``aml server``, the worker's ``AML_PASS_ENV`` (names separated by commas).
Then the caller adds the job's own variables (its run id, workspace, run-scoped token).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

KEEP = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LANGUAGE", "TZ",
        "TMPDIR", "TEMP", "TMP", "VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV",
        "LD_LIBRARY_PATH", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
        "JUPYTER_PATH", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR",
        "JUPYTER_PLATFORM_DIRS", "IPYTHONDIR", "MPLBACKEND", "MPLCONFIGDIR",
        "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
        "OPENBLAS_L2_SIZE", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
        "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "NVIDIA_VISIBLE_DEVICES",
        "KERAS_BACKEND", "JAX_PLATFORMS", "HF_HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
        # aml's own switches that hold no secret
        "AML_CACHE_DIR", "AML_WARM", "AML_WARM_DIR", "AML_WARM_IDLE_S", "AML_DEBUG", "AML_ALLOW_NON_WAL",
    }
)  # fmt: skip
KEEP_PREFIXES = ("LC_", "XDG_", "PYTHON", "DASK_")
# What aml's own helper processes (a job's supervisor) never need either.
SERVER_SECRETS = frozenset({"AML_SERVER_TOKEN", "AML_TRACKING_TOKEN", "JUPYTER_TOKEN"})
# An environment build runs pip or uv: it needs their index and cache settings too.
BUILD_PREFIXES = ("PIP_", "UV_")


def user_environment(
    own: Mapping[str, str] | None = None,
    pass_env: Iterable[str] = (),
    base: Mapping[str, str] | None = None,
    prefixes: tuple[str, ...] = (),
) -> dict[str, str]:
    """The variables of ``base`` (this process's) that code run for a user may see, plus the
    names in ``pass_env`` that ``base`` has, plus ``own`` (the job's own, which win).

    Example:
        >>> env = user_environment({"AML_RUN_ID": "r1"}, ["WANDB_API_KEY"],
        ...     base={"PATH": "/bin", "AML_SERVER_TOKEN": "s", "AWS_SECRET_ACCESS_KEY": "k", "WANDB_API_KEY": "w"})
        >>> sorted(env)
        ['AML_RUN_ID', 'PATH', 'WANDB_API_KEY']
    """
    source = os.environ if base is None else base
    starts = KEEP_PREFIXES + prefixes
    named = set(pass_env)
    env = {k: v for k, v in source.items() if k in KEEP or k in named or k.startswith(starts)}
    env.update(own or {})
    return env


def aml_environment(own: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of aml's own helper processes (a job's supervisor, the embedded Dask
    cluster): this process's, which they need to open the store, less the server's secrets.

    Example:
        >>> "AML_SERVER_TOKEN" in aml_environment({"AML_WORKSPACE": "/p"})
        False
    """
    return {**{k: v for k, v in os.environ.items() if k not in SERVER_SECRETS}, **(own or {})}


def worker_pass_env() -> list[str]:
    """The names a worker's operator lets through to its jobs (``AML_PASS_ENV=A,B``).

    Example:
        >>> os.environ.pop("AML_PASS_ENV", None) and None; worker_pass_env()
        []
    """
    return [n.strip() for n in os.environ.get("AML_PASS_ENV", "").split(",") if n.strip()]
