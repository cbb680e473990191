"""System metrics: the sampler on the real psutil, NVML faked only where no real one can exist here,
and what every kind of run records (an interactive run, a job whose process is killed)."""

from __future__ import annotations

import json
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest

import aml_jupyter as aml
from aml_jupyter import sysmetrics
from aml_jupyter.errors import ConfigError, InvalidValue
from aml_jupyter.sysmetrics import Sampler

from .settings import reconfigure


@pytest.fixture
def ws(tmp_path: Path) -> aml.Workspace:
    return aml.Workspace.init(tmp_path / "p")


def _fake_nvml(monkeypatch: pytest.MonkeyPatch, gpus: int, lost_after: int | None = None) -> dict[str, int]:
    """A pynvml module with ``gpus`` boards; GPU 1 falls off the bus after ``lost_after`` readings."""
    calls = {"reads": 0}

    class NVMLError(Exception):
        pass

    def utilization(handle: int) -> Any:
        calls["reads"] += 1
        if handle == 1 and lost_after is not None and calls["reads"] > lost_after:
            raise NVMLError("GPU is lost")
        return types.SimpleNamespace(gpu=37 + handle)

    nvml = types.SimpleNamespace(
        NVMLError=NVMLError,
        NVML_TEMPERATURE_GPU=0,
        nvmlInit=lambda: None,
        nvmlShutdown=lambda: None,
        nvmlDeviceGetCount=lambda: gpus,
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetName=lambda h: b"Fake H100",
        nvmlDeviceGetMemoryInfo=lambda h: types.SimpleNamespace(used=2 * 2**30, total=80 * 2**30),
        nvmlSystemGetDriverVersion=lambda: "550.54",
        nvmlSystemGetCudaDriverVersion=lambda: 12040,
        nvmlDeviceGetUtilizationRates=utilization,
        nvmlDeviceGetTemperature=lambda h, kind: 61,
        nvmlDeviceGetPowerUsage=lambda h: 312_000,
    )
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    monkeypatch.setattr(sysmetrics, "_nvml_missing", False)  # looked for again: now it is there
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return calls


def _samples(interval: float = 0.1) -> tuple[Sampler, list[dict[str, float]]]:
    seen: list[dict[str, float]] = []
    return Sampler(lambda values, step, ts: seen.append(values), interval), seen


def _sampled(sampler: Sampler, seen: list[dict[str, float]], at_least: int = 2) -> None:
    """Starts ``sampler`` and stops it once it has taken ``at_least`` samples."""
    sampler.start()
    deadline = time.monotonic() + 10
    while len(seen) < at_least and time.monotonic() < deadline:
        time.sleep(0.02)
    sampler.stop()


def test_a_run_samples_at_its_interval_whatever_it_logs(ws: aml.Workspace) -> None:
    started = time.monotonic()
    with aml.start_run("sys", system_metrics=0.2, workspace=ws) as run:
        for i in range(10_000):  # 10,000 steps as fast as it can: the sampler keeps its own pace
            run.log("x", float(i))
        time.sleep(0.5)
    took = time.monotonic() - started
    history = run.metric_history("system/process_memory_usage_megabytes")
    assert 1 <= len(history) <= took / 0.2 + 2 and history["step"].is_monotonic_increasing
    assert run.metrics == {"x": 9999.0}  # the user's metrics alone; the machine's are kept apart
    assert run.system_metrics["system/process_memory_peak_megabytes"] >= history["value"].max() > 0
    assert {"system/cpu_utilization_percentage", "system/network_receive_megabytes"} <= set(run.system_metrics)
    assert list(aml.search_runs(workspace=ws).filter(like="system/").columns) == []
    assert "metrics.system/process_memory_peak_megabytes" in aml.search_runs(workspace=ws, system_metrics=True)
    assert not any(k.startswith("system/") for k in aml.compare_runs([run.id], workspace=ws).index)
    found = aml.search_runs("metrics.`system/process_memory_peak_megabytes` > 0", workspace=ws)
    assert list(found["run_id"]) == [run.id]  # a filter names them like any metric


@pytest.mark.parametrize("bad", [0, -1, 0.01, float("nan"), "often"])
def test_a_bad_interval_is_refused_and_starts_nothing(ws: aml.Workspace, bad: Any) -> None:
    with pytest.raises(InvalidValue, match="at least 0.1 seconds"):
        aml.start_run("sys", system_metrics=bad, workspace=ws)
    assert aml.search_runs(workspace=ws).empty


def test_the_workspace_setting_turns_it_off_or_refuses_a_bad_one(ws: aml.Workspace, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="system_metrics"):
        reconfigure(aml.Workspace.init(tmp_path / "zero"), system_metrics="0")
    with aml.start_run("sys", workspace=reconfigure(ws, system_metrics="false")) as run:
        run.log("x", 1.0)
    assert run.system_metrics == {}


def test_a_gpu_is_sampled_and_one_that_falls_off_the_bus_stops_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_nvml(monkeypatch, gpus=2, lost_after=4)
    sampler, seen = _samples()
    sampler.start()
    assert [g["name"] for g in sampler.gpus()] == ["Fake H100", "Fake H100"]
    assert sampler.gpus()[0] | {"index": 0} == {
        "index": 0,
        "name": "Fake H100",
        "memory_total_megabytes": 81920,
        "driver": "550.54",
        "cuda": "12.4",
    }
    deadline = time.monotonic() + 10
    while calls["reads"] < 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    sampler.stop()
    first, last = seen[0], seen[-1]
    assert first["system/gpu_1_utilization_percentage"] == 38 and first["system/gpu_0_power_usage_watts"] == 312
    assert "system/gpu_1_utilization_percentage" not in last  # gone: no more figures for it
    assert last["system/gpu_0_utilization_percentage"] == 37 and last["system/gpu_memory_peak_megabytes"] == 2048
    assert "system/process_cpu_utilization_percentage" in last and sampler.errors == 0


def test_nvml_without_a_visible_gpu_samples_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_nvml(monkeypatch, gpus=2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # a job given no GPU on a machine with some
    sampler, seen = _samples()
    _sampled(sampler, seen)
    assert sampler.gpus() == [] and not any("gpu" in k for k in seen[-1]) and sampler.errors == 0


def test_a_machine_without_network_counters_samples_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    import psutil

    def refuse() -> Any:
        raise PermissionError("no /proc/net/dev here")

    monkeypatch.setattr(psutil, "net_io_counters", refuse)
    sampler, seen = _samples()
    _sampled(sampler, seen)
    assert not any("network" in k for k in seen[-1]) and "system/disk_read_megabytes" in seen[-1]
    assert sampler.errors == 0
    sampler.stop()  # twice: harmless


def test_a_run_of_a_few_milliseconds_reads_nothing_and_one_thread_serves_all() -> None:
    import threading

    samplers = [_samples()[0].start() for _ in range(50)]
    for sampler in samplers:
        sampler.stop()
    assert all(s._last == 0 for s in samplers)  # stopped before their first reading: nothing read
    assert [t.name for t in threading.enumerate()].count("aml-system-metrics") <= 1


def test_a_killed_job_keeps_what_was_sampled(ws: aml.Workspace) -> None:
    ws = reconfigure(ws, system_metrics="0.2")
    (ws.root / "dies.py").write_text(
        "import os, signal, time\nif __name__ == '__main__':\n"
        "    hold = bytearray(64 * 2**20)\n    time.sleep(1.0)\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    job = aml.submit("dies.py", experiment="sys", wait=True, workspace=ws)
    run = aml.get_run(job["id"], workspace=ws)
    assert run.status == "failed"
    assert len(run.metric_history("system/process_memory_usage_megabytes")) >= 3  # before, during, after
    assert run.system_metrics["system/process_memory_peak_megabytes"] > 64  # the script's own memory counted
    assert "aml.gpus" not in run.tags  # no GPU here: nothing claimed
    assert json.loads(json.dumps(run.to_dict()))["system_metrics"]
