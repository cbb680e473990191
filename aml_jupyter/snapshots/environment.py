"""What a run ran on: Python, platform, installed distributions, CPU and GPU.

Captured once per process (it does not change while the process lives) and stored once per
distinct content, keyed by its hash, so a thousand runs from one environment share one row.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
from typing import Any


@functools.lru_cache(maxsize=1)
def capture() -> tuple[str, dict[str, Any]]:
    """Describe this process's environment; returns (content hash, description).

    Example:
        >>> digest, info = capture()
        >>> info["python"]["version"] == platform.python_version() and len(digest) == 64
        True
    """
    from importlib import metadata

    dists = sorted(
        {(d.metadata["Name"] or "?", d.version) for d in metadata.distributions() if d.metadata["Name"]},
        key=lambda nv: nv[0].lower(),
    )
    info: dict[str, Any] = {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "platform": platform.platform(),
        },
        "hardware": {"cpu_count": os.cpu_count(), "cpu_model": _cpu_model(), "memory_bytes": _memory_bytes()},
        "gpus": _gpus(),
        "distributions": {name: version for name, version in dists},
    }
    text = json.dumps(info, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest(), info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _gpus() -> list[dict[str, str]]:
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            gpus.append({"name": parts[0], "memory": parts[1], "driver": parts[2]})
    return gpus
