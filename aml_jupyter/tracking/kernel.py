"""Which Jupyter kernel a run started in, so the server can end the run when its kernel does."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from ..entities.kernel import ENDED_WITH_KERNEL as ENDED_WITH_KERNEL
from ..entities.kernel import HOST, KERNEL_ID, KERNEL_PID


def kernel_tags() -> dict[str, str]:
    """Tags naming this process's kernel (its id, its process, the host), or {} outside a kernel.

    Example:
        >>> kernel_tags()  # in a plain interpreter
        {}
    """
    if "ipykernel" not in sys.modules:
        return {}
    try:
        from ipykernel.connect import get_connection_file

        name = Path(get_connection_file()).stem  # kernel-<id>.json
    except (ImportError, RuntimeError, AttributeError):
        return {}
    kernel_id = name[len("kernel-") :] if name.startswith("kernel-") else name
    return {KERNEL_ID: kernel_id, KERNEL_PID: str(os.getpid()), HOST: socket.gethostname()}
