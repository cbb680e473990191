"""Tags aml writes on a run to say who and what runs it (read by the lost-run policy, services/liveness.py)."""

from __future__ import annotations

SUPERVISOR_PID = "aml.supervisor_pid"  # the local process supervising a job (jobs/supervise.py)
CLUSTER_PID = "aml.cluster_pid"  # the embedded Dask cluster's daemon, whose workers run a job
CANCEL_TAG = "aml.cancel"  # a cancel was asked for (aml cancel): a job ended by its supervisor's death ends cancelled
GPUS_TAG = "aml.gpus"  # the GPUs a run could use (sysmetrics.py): name, memory, driver, CUDA version


def gpus_tag(gpus: list[dict[str, object]]) -> dict[str, str]:
    """The tag that records a run's GPUs, as interactive runs and jobs alike write it.

    Example:
        >>> gpus_tag([{"index": 0, "name": "H100"}])
        {'aml.gpus': '[{"index": 0, "name": "H100"}]'}
    """
    import json

    return {GPUS_TAG: json.dumps(gpus)}
