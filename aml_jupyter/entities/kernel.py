"""The tags that name the Jupyter kernel a run started in, so the server can end the run when its kernel does."""

from __future__ import annotations

KERNEL_ID = "aml.kernel_id"
KERNEL_PID = "aml.kernel_pid"
HOST = "aml.host"
ENDED_WITH_KERNEL = "its kernel was shut down or restarted"  # what a kernel says of its runs as it exits
