"""What the machine did while a run ran: CPU, memory, disk, network and GPUs, sampled in a thread.

One :class:`Sampler` per run, started by whatever runs it (``aml.start_run`` for a run in this process,
the job engine for every submitted job, cell and notebook) and stopped with it. Every ``interval``
seconds it reads psutil (and NVML where ``nvidia-ml-py`` and a driver are there) and hands the
values, named ``system/...``, to the run's own buffered logging, so they are as durable as the
user's metrics and a run whose process is killed keeps what was sampled before. The names follow
MLflow's system metrics where MLflow has one, so a team coming from it finds the same keys.

Steps are wall-clock: the whole seconds since sampling began (kept rising when the interval is
under a second), so the system charts line up with time whatever the user's code logs.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from .errors import InvalidValue

PREFIX = "system/"
DEFAULT_INTERVAL = 10.0
MIN_INTERVAL = 0.1
MB = 1024 * 1024

Emit = Callable[[dict[str, float], int, int], None]  # values, step, timestamp in ms


def is_system(key: str) -> bool:
    """Whether a metric key is one the sampler wrote (kept apart from the user's in comparisons).

    Example:
        >>> is_system("system/cpu_utilization_percentage"), is_system("loss")
        (True, False)
    """
    return key.startswith(PREFIX)


def check_interval(value: Any, default: float = DEFAULT_INTERVAL) -> float | None:
    """The sampling interval ``value`` asks for, in seconds, or None for off.

    ``True`` and ``None`` mean ``default``; ``False`` means off; a number must be at least
    :data:`MIN_INTERVAL` seconds (an interval of 0 would spin, a negative one means nothing).

    Example:
        >>> check_interval(True), check_interval(False), check_interval(2)
        (10.0, None, 2.0)
        >>> check_interval(0)
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidValue: system_metrics: an interval is at least 0.1 seconds (or False for none), got 0
    """
    if value is None or value is True:
        return default
    if value is False:
        return None
    if isinstance(value, int | float) and math.isfinite(value) and value >= MIN_INTERVAL:
        return float(value)
    raise InvalidValue(
        f"system_metrics: an interval is at least {MIN_INTERVAL} seconds (or False for none), got {value!r}"
    )


class _Gpus:
    """The GPUs this process may use, through NVML; none (and no error) where NVML or a GPU is missing."""

    def __init__(self) -> None:
        self.handles: list[tuple[int, Any]] = []
        self.nvml: Any = None
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception:  # no nvidia-ml-py, no driver, no device: a machine without GPUs
            return
        self.nvml = pynvml
        try:
            self.handles = [(n, handle) for n, handle in enumerate(self._visible())]
        except Exception:
            self.handles = []

    def _visible(self) -> list[Any]:
        # CUDA_VISIBLE_DEVICES (indexes or UUIDs) is what the job was given; NVML sees every GPU.
        nvml = self.nvml
        pinned = os.environ.get("CUDA_VISIBLE_DEVICES")
        if pinned is None:
            return [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
        handles = []
        for item in (s.strip() for s in pinned.split(",")):
            if item.isdigit():
                handles.append(nvml.nvmlDeviceGetHandleByIndex(int(item)))
            elif item.startswith(("GPU-", "MIG-")):
                handles.append(nvml.nvmlDeviceGetHandleByUUID(item))
            else:
                break  # CUDA stops at the first entry it cannot read, and so do we
        return handles

    def describe(self) -> list[dict[str, Any]]:
        """Name, memory, driver and CUDA version of each GPU (what the run records it ran on)."""
        nvml, out = self.nvml, []
        for n, handle in self.handles:
            try:
                name = nvml.nvmlDeviceGetName(handle)
                info: dict[str, Any] = {
                    "index": n,
                    "name": name.decode() if isinstance(name, bytes) else str(name),
                    "memory_total_megabytes": round(nvml.nvmlDeviceGetMemoryInfo(handle).total / MB),
                }
                driver = nvml.nvmlSystemGetDriverVersion()
                info["driver"] = driver.decode() if isinstance(driver, bytes) else str(driver)
                cuda = nvml.nvmlSystemGetCudaDriverVersion()
                info["cuda"] = f"{cuda // 1000}.{cuda % 1000 // 10}"
            except Exception:
                continue
            out.append(info)
        return out

    def read(self, values: dict[str, float]) -> float:
        """Adds each GPU's figures to ``values``; returns the most memory used on one GPU (MB)."""
        nvml, most, gone = self.nvml, 0.0, []
        for n, handle in self.handles:
            try:
                util = nvml.nvmlDeviceGetUtilizationRates(handle)
                mem = nvml.nvmlDeviceGetMemoryInfo(handle)
            except Exception:  # the GPU fell off the bus, or was taken away: no more figures for it
                gone.append(n)
                continue
            used = mem.used / MB
            most = max(most, used)
            values[f"gpu_{n}_utilization_percentage"] = float(util.gpu)
            values[f"gpu_{n}_memory_usage_megabytes"] = used
            values[f"gpu_{n}_memory_usage_percentage"] = 100.0 * mem.used / mem.total if mem.total else 0.0
            for key, read in ((f"gpu_{n}_temperature_celsius", _temperature), (f"gpu_{n}_power_usage_watts", _power)):
                try:
                    values[key] = read(nvml, handle)
                except Exception:  # not every board reports these
                    pass
        self.handles = [(n, h) for n, h in self.handles if n not in gone]
        return most

    def close(self) -> None:
        if self.nvml is not None:
            try:
                self.nvml.nvmlShutdown()
            except Exception:
                pass


def _temperature(nvml: Any, handle: Any) -> float:
    return float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))


def _power(nvml: Any, handle: Any) -> float:
    return float(nvml.nvmlDeviceGetPowerUsage(handle)) / 1000.0  # NVML says milliwatts


class Sampler:
    """Samples this process (and its children) and the machine every ``interval`` s until stopped.

    ``emit(values, step, timestamp_ms)`` receives the values named ``system/...``; it should buffer
    (the run's writer does). A final sample is taken at :meth:`stop`, so a run shorter than the
    interval still has one.

    Example:
        >>> seen = []
        >>> sampler = Sampler(lambda values, step, ts: seen.append(values), interval=0.1).start()
        >>> sampler.stop()
        >>> "system/cpu_utilization_percentage" in seen[-1]
        True
    """

    def __init__(self, emit: Emit, interval: float = DEFAULT_INTERVAL, pid: int | None = None) -> None:
        import psutil

        self.interval = check_interval(interval) or DEFAULT_INTERVAL
        self._emit = emit
        self._psutil = psutil
        self._root = psutil.Process(pid)
        self._procs: dict[int, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self._step = -1
        self._peak_rss = 0.0
        self._peak_gpu = 0.0
        self._gpus: _Gpus | None = None
        self._disk0 = self._net0 = None
        self.errors = 0

    def start(self) -> Sampler:
        """Starts the thread (a daemon: it never keeps the process alive); returns self."""
        self._gpus = _Gpus()
        self._started = time.monotonic()
        self._psutil.cpu_percent(None)  # the first reading only sets the baseline
        self._tree()
        self._disk0 = self._counters("disk_io_counters")
        self._net0 = self._counters("net_io_counters")
        self._thread = threading.Thread(target=self._loop, daemon=True, name="aml-system-metrics")
        self._thread.start()
        return self

    def gpus(self) -> list[dict[str, Any]]:
        """The GPUs sampled (name, memory, driver, CUDA version); [] before :meth:`start` or without any."""
        return self._gpus.describe() if self._gpus is not None else []

    def stop(self) -> None:
        """Takes the last sample and ends the thread. Calling it twice is harmless."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=max(5.0, self.interval))
        self._thread = None
        self._sample()
        if self._gpus is not None:
            self._gpus.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        try:
            values = self.read()
        except Exception:  # never the run's problem: a reading that fails is skipped
            self.errors += 1
            return
        self._step = max(int(time.monotonic() - self._started), self._step + 1)
        try:
            self._emit({PREFIX + k: v for k, v in values.items()}, self._step, time.time_ns() // 1_000_000)
        except Exception:  # the run ended, or its store refused: the run's own logging says why
            self.errors += 1

    def read(self) -> dict[str, float]:
        """One sample, unprefixed; what cannot be read on this machine is left out.

        Example:
            >>> sorted(Sampler(lambda *a: None).read())[:2]
            ['cpu_utilization_percentage', 'process_cpu_utilization_percentage']
        """
        ps = self._psutil
        values: dict[str, float] = {"cpu_utilization_percentage": ps.cpu_percent(None)}
        cpu = rss = 0.0
        for proc in self._tree():
            try:
                cpu += proc.cpu_percent(None)
                rss += proc.memory_info().rss
            except (ps.NoSuchProcess, ps.AccessDenied, ps.ZombieProcess):
                continue  # ended between the listing and the reading
        self._peak_rss = max(self._peak_rss, rss / MB)
        memory = ps.virtual_memory()
        values.update(
            process_cpu_utilization_percentage=cpu,
            process_memory_usage_megabytes=rss / MB,
            process_memory_peak_megabytes=self._peak_rss,
            system_memory_usage_megabytes=(memory.total - memory.available) / MB,
            system_memory_usage_percentage=float(memory.percent),
        )
        for name, start, counted in (
            ("disk_io_counters", self._disk0, {"disk_read": "read_bytes", "disk_write": "write_bytes"}),
            ("net_io_counters", self._net0, {"network_receive": "bytes_recv", "network_transmit": "bytes_sent"}),
        ):
            now = self._counters(name)
            if now is None or start is None:
                continue  # this machine does not count it (a container without /proc/net/dev)
            for label, field in counted.items():
                values[f"{label}_megabytes"] = max(0, getattr(now, field) - getattr(start, field)) / MB
        if self._gpus is not None and self._gpus.handles:
            self._peak_gpu = max(self._peak_gpu, self._gpus.read(values))
            values["gpu_memory_peak_megabytes"] = self._peak_gpu
        return values

    def _counters(self, name: str) -> Any:
        try:
            return getattr(self._psutil, name)()
        except Exception:
            return None

    def _tree(self) -> list[Any]:
        # The same Process objects from one sample to the next: cpu_percent measures since the last call.
        ps = self._psutil
        try:
            current = [self._root, *self._root.children(recursive=True)]
        except (ps.NoSuchProcess, ps.AccessDenied):
            current = [self._root]
        live = {}
        for proc in current:
            known = self._procs.get(proc.pid)
            if known is None:
                try:
                    proc.cpu_percent(None)  # its baseline: counted from the next sample on
                except (ps.NoSuchProcess, ps.AccessDenied, ps.ZombieProcess):
                    continue
                known = proc
            live[proc.pid] = known
        self._procs = live
        return list(live.values())
