"""Tags aml writes on a job's run to say who runs it, read by the lost-run policy (services/liveness.py)."""

from __future__ import annotations

SUPERVISOR_PID = "aml.supervisor_pid"  # the local process supervising a job (jobs/supervise.py)
CLUSTER_PID = "aml.cluster_pid"  # the embedded Dask cluster's daemon, whose workers run a job
CANCEL_TAG = "aml.cancel"  # a cancel was asked for (aml cancel): a job ended by its supervisor's death ends cancelled
