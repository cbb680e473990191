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


_nvml_missing = False  # nvidia-ml-py was looked for once in this process and is not there


class _Gpus:
    """The GPUs this process may use, through NVML; none (and no error) where NVML or a GPU is missing."""

    def __init__(self) -> None:
        global _nvml_missing
        self.handles: list[tuple[int, Any]] = []
        self.nvml: Any = None
        if _nvml_missing:
            return
        try:
            import pynvml
        except ImportError:
            _nvml_missing = True
            return
        try:
            pynvml.nvmlInit()
        except Exception:  # no driver, no device: a machine without GPUs
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


def _busy(before: Any, after: Any) -> float:
    """Percent of the machine's CPU time not idle between two ``psutil.cpu_times()`` readings.

    Example:
        >>> from collections import namedtuple
        >>> T = namedtuple("T", "user system idle")
        >>> _busy(T(1.0, 1.0, 2.0), T(2.0, 2.0, 4.0))
        50.0
    """

    def delta(*fields: str) -> float:
        return sum(getattr(after, f, 0.0) - getattr(before, f, 0.0) for f in fields)

    idle = [delta("idle", "iowait")]
    total = sum(after) - sum(before) - delta("guest", "guest_nice")  # Linux counts guest time in user too
    return max(0.0, min(100.0, 100.0 * (total - sum(idle)) / total)) if total > 0 else 0.0


def _temperature(nvml: Any, handle: Any) -> float:
    return float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))


def _power(nvml: Any, handle: Any) -> float:
    return float(nvml.nvmlDeviceGetPowerUsage(handle)) / 1000.0  # NVML says milliwatts


class _Clock:
    """One thread per process wakes each sampler when its next reading is due: starting and ending a
    run costs a dictionary entry, not a thread (a sweep's thousand short runs stay as fast)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[Sampler, float] = {}
        self._busy: Sampler | None = None
        self._thread: threading.Thread | None = None

    def add(self, sampler: Sampler, at: float) -> None:
        with self._cond:
            self._due[sampler] = at
            if self._thread is None or not self._thread.is_alive():
                # A daemon: it never keeps the process alive, and it waits idle when no run is sampled.
                self._thread = threading.Thread(target=self._run, daemon=True, name="aml-system-metrics")
                self._thread.start()
            self._cond.notify_all()

    def remove(self, sampler: Sampler) -> None:
        """No more readings for ``sampler``; waits for one under way to finish."""
        with self._cond:
            self._due.pop(sampler, None)
            while self._busy is sampler and self._thread is not threading.current_thread():
                self._cond.wait()

    def _run(self) -> None:
        with self._cond:
            while True:
                if not self._due:
                    self._cond.wait()
                    continue
                sampler, at = min(self._due.items(), key=lambda item: item[1])
                wait = at - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                self._due[sampler] = time.monotonic() + sampler.interval
                self._busy = sampler
                self._cond.release()
                try:
                    sampler._tick()
                finally:
                    self._cond.acquire()
                    self._busy = None
                    self._cond.notify_all()


_clock = _Clock()


def _new_clock() -> None:
    global _clock
    _clock = _Clock()  # a forked child has no clock thread, and its lock may have been held


os.register_at_fork(after_in_child=_new_clock)


class Sampler:
    """Samples this process (and its children) and the machine every ``interval`` s until stopped.

    ``emit(values, step, timestamp_ms)`` receives the values named ``system/...``; it should buffer
    (the run's writer does). ``on_gpus(gpus)`` hears once which GPUs are sampled, where there are
    any. Readings are taken on the process's one sampling thread, the first 0.1 s after
    :meth:`start` (where the counters start from), then every ``interval``; and once more at
    :meth:`stop`, from the processes already known (nothing lists the machine's processes on the
    run's path), so a run shorter than the interval still has a sample. A run stopped before its
    first reading has none and costs next to nothing.

    Example:
        >>> seen = []
        >>> sampler = Sampler(lambda values, step, ts: seen.append(values), interval=0.1).start()
        >>> time.sleep(0.35); sampler.stop()
        >>> "system/cpu_utilization_percentage" in seen[-1]
        True
    """

    def __init__(
        self,
        emit: Emit,
        interval: float = DEFAULT_INTERVAL,
        pid: int | None = None,
        on_gpus: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        self.interval = check_interval(interval) or DEFAULT_INTERVAL
        self._emit = emit
        self._on_gpus = on_gpus
        self._pid = pid
        self._procs: dict[int, Any] = {}
        self._ready = threading.Event()
        self._running = False
        self._started = self._last = 0.0
        self._step = -1
        self._peak_rss = 0.0
        self._peak_gpu = 0.0
        self._gpus: _Gpus | None = None
        self._disk0 = self._net0 = self._cpu = None
        self.errors = 0

    def start(self) -> Sampler:
        """Has the process's sampling thread read this run from now on; returns self."""
        self._running = True
        _clock.add(self, time.monotonic() + MIN_INTERVAL)
        return self

    def gpus(self) -> list[dict[str, Any]]:
        """The GPUs sampled (name, memory, driver, CUDA version); [] without any.

        Example:
            >>> Sampler(lambda *a: None).gpus()
            []
        """
        if self._running:
            self._ready.wait(10)
        return self._gpus.describe() if self._gpus is not None else []

    def stop(self) -> None:
        """No more readings, after a last one. Calling it twice is harmless."""
        if not self._running:
            return
        self._running = False
        _clock.remove(self)
        if self._last:  # the counters have a start: a run of 0.1 s and more ends with a sample
            self._sample(list_children=False)
        if self._gpus is not None:
            self._gpus.close()

    def _tick(self) -> None:
        # On the clock's thread: the first call sets where the counters start, the rest sample.
        if self._last:
            self._sample()
            return
        try:
            self._baseline()
        except Exception:
            self.errors += 1
            return
        finally:
            self._ready.set()
        gpus = self._gpus.describe() if self._gpus is not None else []
        if gpus and self._on_gpus is not None:
            try:
                self._on_gpus(gpus)
            except Exception:
                self.errors += 1

    def _baseline(self) -> None:
        import psutil

        self._psutil = psutil
        self._root = psutil.Process(self._pid)
        self._gpus = _Gpus()
        self._cpu = psutil.cpu_times()
        self._tree()
        self._disk0 = self._counters("disk_io_counters")
        self._net0 = self._counters("net_io_counters")
        self._started = self._last = time.monotonic()

    def _sample(self, list_children: bool = True) -> None:
        try:
            values = self.read(list_children)
        except Exception:  # never the run's problem: a reading that fails is skipped
            self.errors += 1
            return
        self._last = time.monotonic()
        self._step = max(int(self._last - self._started), self._step + 1)
        try:
            self._emit({PREFIX + k: v for k, v in values.items()}, self._step, time.time_ns() // 1_000_000)
        except Exception:  # the run ended, or its store refused: the run's own logging says why
            self.errors += 1

    def read(self, list_children: bool = True) -> dict[str, float]:
        """One sample, unprefixed; what cannot be read on this machine is left out.

        Example:
            >>> "process_memory_usage_megabytes" in Sampler(lambda *a: None).read()
            True
        """
        if not self._last:
            self._baseline()
        ps = self._psutil
        # The machine's CPU from this sampler's own last reading: psutil.cpu_percent keeps one per
        # thread, and the last sample is read on the run's thread.
        cpu_now = ps.cpu_times()
        values: dict[str, float] = {"cpu_utilization_percentage": _busy(self._cpu, cpu_now)}
        self._cpu = cpu_now
        cpu = rss = 0.0
        for proc in self._tree() if list_children else list(self._procs.values()) or [self._root]:
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
