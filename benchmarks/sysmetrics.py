"""`make bench`, the cost of system metrics: what sampling the machine costs a run, side by side.

    python benchmarks/sysmetrics.py [--quick] [--no-write]

(1) The sampler's CPU at the default interval (10 s): the CPU time of this process while a run
    sleeps, with sampling on and off, interleaved. A 10 s run a side would measure noise, so both
    sides run the same seconds with sampling every 0.1 s and the difference is scaled to the
    default interval (cost per reading x readings per second at 10 s). Target: <= 1% of a core.
(2) A scikit-learn fit of about a second inside a run, sampling on against off (the default
    interval; the run's first reading and its last fall inside it): ratio of medians of the
    interleaved repeats. Target: <= 1.02x.
(3) Starting and ending 300 runs with 10 params and 5 metrics, sampling on against off (a sweep's
    or autolog's many short runs): milliseconds a run, medians.

Results go to ``benchmarks/results/sysmetrics-*.json`` and ``docs/performance-sysmetrics.md``.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _cpu_while_running(ws: Any, seconds: float, interval: float | bool) -> tuple[float, int]:
    """CPU seconds this process spent during a run that only waits, and the readings taken."""
    import aml_jupyter as aml

    before = time.process_time()
    with aml.start_run("idle", system_metrics=interval, snapshot=False, workspace=ws) as run:
        time.sleep(seconds)  # the work of this case: a run that does nothing else
    spent = time.process_time() - before
    readings = len(run.metric_history("system/cpu_utilization_percentage")) if interval else 0
    return spent, readings


def _fit(ws: Any, interval: float | bool, X: Any, y: Any) -> float:
    from sklearn.ensemble import RandomForestClassifier

    import aml_jupyter as aml

    started = time.perf_counter()
    with aml.start_run("fit", system_metrics=interval, snapshot=False, workspace=ws):
        RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1).fit(X, y)
    return time.perf_counter() - started


def _runs(ws: Any, interval: float | bool, n: int) -> float:
    import aml_jupyter as aml

    started = time.perf_counter()
    for _ in range(n):
        with aml.start_run(
            "many", params={f"p{j}": j for j in range(10)}, system_metrics=interval, snapshot=False, workspace=ws
        ) as r:
            r.log_metrics({f"m{j}": float(j) for j in range(5)})
    return (time.perf_counter() - started) / n * 1000


def run(quick: bool) -> dict[str, Any]:
    from sklearn.datasets import make_classification

    import aml_jupyter as aml

    warnings.simplefilter("ignore")
    work = Path(tempfile.mkdtemp(prefix="aml-sys-bench-"))
    ws = aml.Workspace.init(work / "project", name="bench")
    repeats = 3 if quick else 7
    seconds = 2.0 if quick else 5.0
    try:
        print("  (1) CPU of an idle run, sampling every 0.1 s against none", flush=True)
        on, off, readings = [], [], []
        for _ in range(repeats):
            spent, n = _cpu_while_running(ws, seconds, 0.1)
            on.append(spent)
            readings.append(n)
            off.append(_cpu_while_running(ws, seconds, False)[0])
        per_reading = max(0.0, statistics.median(on) - statistics.median(off)) / statistics.median(readings)
        print("  (2) a one-second scikit-learn fit in a run, sampling on (10 s) against off", flush=True)
        X, y = make_classification(n_samples=4000, n_features=20, random_state=0)
        _fit(ws, False, X, y)  # warm: imports, the store
        fit_on, fit_off = [], []
        for _ in range(repeats):
            fit_off.append(_fit(ws, False, X, y))
            fit_on.append(_fit(ws, True, X, y))
        print("  (3) 300 short runs, sampling on against off", flush=True)
        runs_on, runs_off = [], []
        for _ in range(repeats):
            runs_off.append(_runs(ws, False, 300))
            runs_on.append(_runs(ws, True, 300))
        return {
            "sizes": {"repeats": repeats, "idle_seconds": seconds},
            "idle": {
                "cpu_on_s": statistics.median(on),
                "cpu_off_s": statistics.median(off),
                "readings": statistics.median(readings),
                "cpu_per_reading_ms": per_reading * 1000,
                "core_percent_at_10s": per_reading / 10 * 100,
            },
            "fit": {"on_s": statistics.median(fit_on), "off_s": statistics.median(fit_off)},
            "runs": {"on_ms": statistics.median(runs_on), "off_ms": statistics.median(runs_off)},
        }
    finally:
        ws.close()
        shutil.rmtree(work, ignore_errors=True)


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, str, str, bool | None]]:
    idle, fit, runs = r["idle"], r["fit"], r["runs"]
    core = idle["core_percent_at_10s"]
    ratio = fit["on_s"] / fit["off_s"]
    return [
        (
            "(1) sampler CPU at the default 10 s interval (% of a core; from "
            f"{idle['cpu_per_reading_ms']:.2f} ms of CPU a reading)",
            f"{core:.3f}%",
            "0",
            "-",
            "≤ 1%",
            core <= 1.0,
        ),
        (
            "(2) a scikit-learn fit in a run, sampling on vs off (s, median)",
            f"{fit['on_s']:.3f}",
            f"{fit['off_s']:.3f}",
            f"{ratio:.3f}x",
            "≤ 1.02x",
            ratio <= 1.02,
        ),
        (
            "(3) start and end a run with 10 params and 5 metrics, sampling on vs off (ms a run, median)",
            f"{runs['on_ms']:.2f}",
            f"{runs['off_ms']:.2f}",
            f"{runs['on_ms'] / runs['off_ms']:.2f}x",
            "-",
            None,
        ),
    ]


def main() -> int:
    from report import bench_main

    print("system metrics benchmarks (one workspace on SQLite, this process):", flush=True)
    return bench_main(
        "sysmetrics",
        "Performance of system metrics",
        "Produced by `make bench` (`benchmarks/sysmetrics.py`, see its docstring for what each case does): "
        "what sampling CPU, memory, disk and network costs a run, with it and without, interleaved.",
        run,
        rows,
    )


if __name__ == "__main__":
    sys.exit(main())
