"""`make bench`: aml_jupyter and MLflow side by side, on this machine, in one run.

MLflow is installed by this harness into a throw-away virtual environment
(``benchmarks/.venv-mlflow``), never into the project. Every case runs in a fresh process per
implementation (see ``workloads.py``), both on SQLite. The table is printed, written as JSON to
``benchmarks/results/`` and as Markdown to ``docs/performance.md``.

    python benchmarks/run.py [--quick] [--skip-mlflow] [--mlflow-version 3.17.*]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKLOADS = HERE / "workloads.py"
MLFLOW_VENV = HERE / ".venv-mlflow"


def sh(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def ensure_mlflow(version: str) -> Path:
    """A venv with MLflow (and numpy), made with uv when the project's venv has it."""
    py = MLFLOW_VENV / "bin" / "python"
    spec = f"mlflow=={version}"
    if py.exists():
        try:
            sh([str(py), "-c", "import mlflow"])
            return py
        except subprocess.CalledProcessError:
            shutil.rmtree(MLFLOW_VENV)
    uv = Path(sys.executable).with_name("uv")
    print(f"installing {spec} into {MLFLOW_VENV.relative_to(REPO)} (once) ...", flush=True)
    if uv.exists():
        sh([str(uv), "venv", "-q", "--python", sys.executable, str(MLFLOW_VENV)])
        sh([str(uv), "pip", "install", "-q", "--python", str(py), spec, "numpy"])
    else:
        sh([sys.executable, "-m", "venv", str(MLFLOW_VENV)])
        sh([str(py), "-m", "pip", "install", "-q", spec, "numpy"])
    return py


def case(py: Path, impl: str, name: str, n: int, folder: Path) -> dict[str, Any]:
    env = {**os.environ, "MLFLOW_ENABLE_ASYNC_LOGGING": "false", "PYTHONWARNINGS": "ignore"}
    out = sh([str(py), str(WORKLOADS), impl, name, str(n), str(folder)], env=env, cwd=folder.parent)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def spawn_times(py: Path, impl: str, folder: Path, repeats: int) -> dict[str, float]:
    """Median import time, and median time from spawn to the first durable metric."""
    if impl == "aml":
        imp = "import time; t = time.perf_counter(); import aml_jupyter; print(time.perf_counter() - t)"
        first = (
            "import sys, time, aml_jupyter as aml\n"
            "with aml.start_run('first', workspace=sys.argv[1]) as run:\n"
            "    aml.log('x', 1.0)\n    run.flush()\n    print(time.time())\n"
        )
    else:
        imp = "import time; t = time.perf_counter(); import mlflow; print(time.perf_counter() - t)"
        first = (
            "import sys, os, time, mlflow\n"
            "mlflow.set_tracking_uri('sqlite:///' + os.path.join(sys.argv[1], 'mlflow.db'))\n"
            "mlflow.set_experiment('first')\n"
            "with mlflow.start_run():\n    mlflow.log_metric('x', 1.0)\n    print(time.time())\n"
        )
    imports, firsts = [], []
    for _ in range(repeats):
        imports.append(float(sh([str(py), "-c", imp]).stdout.strip()))
        t0 = time.time()
        done = float(
            sh([str(py), "-c", first, str(folder)], env={**os.environ, "PYTHONWARNINGS": "ignore"})
            .stdout.strip()
            .splitlines()[-1]
        )
        firsts.append(done - t0)
    return {"import_s": statistics.median(imports), "first_metric_s": statistics.median(firsts)}


def bare_rss(py: Path) -> float:
    code = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    return float(sh([str(py), "-c", code]).stdout)


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    aml_py = Path(sys.executable)
    ml_py = None if args.skip_mlflow else ensure_mlflow(args.mlflow_version)
    q = args.quick
    sizes = {
        "log": (100_000, 300 if q else 1_000),
        "batch": (1_000_000, 20_000 if q else 100_000),
        "runs": (1_000, 50 if q else 200),
        "search": (2_000 if q else 10_000, 2_000 if q else 10_000),
        "search_big": 20_000 if q else 100_000,
        "memory": (1_000_000, 500 if q else 2_000),
        "spawn_repeats": 3 if q else 5,
    }
    work = Path(tempfile.mkdtemp(prefix="aml-bench-"))
    results: dict[str, Any] = {"sizes": sizes, "aml": {}, "mlflow": {}}

    def both(name: str, key: str) -> None:
        n_aml, n_ml = sizes[key]
        print(f"  {name}: aml_jupyter (n={n_aml:,})", end="", flush=True)
        results["aml"][name] = case(aml_py, "aml", name, n_aml, work / f"aml-{name}")
        if ml_py is not None:
            print(f", MLflow (n={n_ml:,})", end="", flush=True)
            results["mlflow"][name] = case(ml_py, "mlflow", name, n_ml, work / f"mlflow-{name}")
        print(" done", flush=True)

    try:
        print("benchmarks (each case in a fresh process):", flush=True)
        both("log", "log")
        both("batch", "batch")
        both("runs", "runs")
        # (d): populate, then query, in one workspace per implementation.
        n_aml, n_ml = sizes["search"]
        print(f"  search: populating {n_aml:,} runs (aml_jupyter)", end="", flush=True)
        results["aml"]["populate"] = case(aml_py, "aml", "populate", n_aml, work / "aml-search")
        results["aml"]["query"] = case(aml_py, "aml", "query", 0, work / "aml-search")
        if ml_py is not None:
            print(f", {n_ml:,} runs (MLflow, slow)", end="", flush=True)
            results["mlflow"]["populate"] = case(ml_py, "mlflow", "populate", n_ml, work / "mlflow-search")
            results["mlflow"]["query"] = case(ml_py, "mlflow", "query", 0, work / "mlflow-search")
        big = sizes["search_big"]
        print(f", then aml_jupyter up to {big:,}", end="", flush=True)
        case(aml_py, "aml", "populate", big - n_aml, work / "aml-search")
        results["aml"]["query_big"] = case(aml_py, "aml", "query", 0, work / "aml-search")
        print(" done", flush=True)
        print("  spawn: import and first durable metric", flush=True)
        (work / "aml-spawn").mkdir()
        subprocess.run(
            [str(aml_py), "-m", "aml_jupyter.cli", "init", str(work / "aml-spawn")], check=True, capture_output=True
        )
        results["aml"]["spawn"] = spawn_times(aml_py, "aml", work / "aml-spawn", sizes["spawn_repeats"])
        if ml_py is not None:
            (work / "mlflow-spawn").mkdir()
            results["mlflow"]["spawn"] = spawn_times(ml_py, "mlflow", work / "mlflow-spawn", sizes["spawn_repeats"])
        print("  memory", flush=True)
        both("memory", "memory")
        results["aml"]["bare_rss_mb"] = bare_rss(aml_py)
        if ml_py is not None:
            results["mlflow"]["bare_rss_mb"] = bare_rss(ml_py)
            results["mlflow_version"] = sh(
                [str(ml_py), "-c", "import mlflow; print(mlflow.__version__)"]
            ).stdout.strip()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, str, str, bool | None]]:
    """(figure, aml, mlflow, ratio, target, met) per line of the table."""
    a, m = r["aml"], r["mlflow"]
    has_m = bool(m)
    out: list[tuple[str, str, str, str, str, bool | None]] = []

    def add(
        name: str, av: float, mv: float | None, fmt: str, ratio: float | None, target: str, met: bool | None
    ) -> None:
        out.append(
            (
                name,
                fmt.format(av),
                fmt.format(mv) if mv is not None else "-",
                f"{ratio:,.0f}x" if ratio is not None else "-",
                target,
                met,
            )
        )

    la, lm = a["log"]["per_call_us"], m.get("log", {}).get("per_call_us")
    add(
        "(a) log() one call at a time, until durable (us/point)",
        la,
        lm,
        "{:,.2f}",
        lm / la if lm else None,
        ">= 200x",
        (lm / la >= 200) if lm else None,
    )
    ba, bm = a["batch"]["points_per_s"], m.get("batch", {}).get("points_per_s")
    add("(b) batch API (points/s)", ba, bm, "{:,.0f}", ba / bm if bm else None, ">= 1,000,000/s", ba >= 1_000_000)
    ra, rm = a["runs"]["runs_per_s"], m.get("runs", {}).get("runs_per_s")
    add(
        "(c) create runs with 10 params + 5 metrics (runs/s)",
        ra,
        rm,
        "{:,.0f}",
        ra / rm if rm else None,
        ">= 20x",
        (ra / rm >= 20) if rm else None,
    )
    n = r["sizes"]["search"][0]
    qa, qm = a["query"]["filter_ms"], m.get("query", {}).get("filter_ms")
    add(
        f"(d) filter + order, top 100, {n:,} runs (ms)",
        qa,
        qm,
        "{:,.1f}",
        qm / qa if qm else None,
        "<= 20 ms",
        qa <= 20,
    )
    aa, am = a["query"]["all_runs_s"], m.get("query", {}).get("all_runs_s")
    add(f"(d) all {n:,} runs into a DataFrame (s)", aa, am, "{:,.3f}", am / aa if am else None, "<= 0.3 s", aa <= 0.3)
    big = r["sizes"]["search_big"]
    add(
        f"(d) filter + order, top 100, {big:,} runs (ms)",
        a["query_big"]["filter_ms"],
        None,
        "{:,.1f}",
        None,
        "<= 100 ms",
        a["query_big"]["filter_ms"] <= 100,
    )
    add(f"(d) all {big:,} runs into a DataFrame (s)", a["query_big"]["all_runs_s"], None, "{:,.3f}", None, "-", None)
    ia, im = a["spawn"]["import_s"], m.get("spawn", {}).get("import_s")
    add(
        "(e) import (ms)",
        ia * 1e3,
        im * 1e3 if im else None,
        "{:,.0f}",
        im / ia if im else None,
        "<= 150 ms",
        ia <= 0.15,
    )
    fa, fm = a["spawn"]["first_metric_s"], m.get("spawn", {}).get("first_metric_s")
    add("(e) spawn to first durable metric (s)", fa, fm, "{:,.2f}", fm / fa if fm else None, "<= 0.5 s", fa <= 0.5)
    pa = a["memory"]["peak_rss_mb"] - a["bare_rss_mb"]
    pm = (m["memory"]["peak_rss_mb"] - m["bare_rss_mb"]) if has_m else None
    add(
        f"(f) peak RSS above bare Python, {r['sizes']['memory'][0]:,} log() calls (MB)",
        pa,
        pm,
        "{:,.0f}",
        None,
        "<= 100 MB",
        pa <= 100,
    )
    return out


def render(r: dict[str, Any]) -> str:
    lines = ["| figure | aml_jupyter | MLflow | ratio | target | met |", "|---|---:|---:|---:|---|---|"]
    for name, av, mv, ratio, target, met in rows(r):
        lines.append(
            f"| {name} | {av} | {mv} | {ratio} | {target} | {'yes' if met else 'no' if met is False else '-'} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a minute, for a smoke test)")
    parser.add_argument("--skip-mlflow", action="store_true", help="aml_jupyter alone")
    parser.add_argument("--mlflow-version", default="3.17.*")
    parser.add_argument("--no-write", action="store_true", help="print only; write no results files")
    args = parser.parse_args()
    started = time.time()
    r = run(args)
    r["machine"] = machine()
    r["date"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    r["quick"] = args.quick
    table = render(r)
    m = r["machine"]
    header = (
        f"Measured {r['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}; "
        f"MLflow {r.get('mlflow_version', 'not run')} with SQLite; `make bench` took {time.time() - started:.0f} s."
    )
    print()
    print(header)
    print(table)
    if not args.no_write:
        out = HERE / "results"
        out.mkdir(exist_ok=True)
        name = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S") + ("-quick" if args.quick else "") + ".json"
        (out / name).write_text(json.dumps(r, indent=2) + "\n")
        (out / "latest.json").write_text(json.dumps(r, indent=2) + "\n")
        if not args.quick:
            write_doc(header, table)
        print(f"\nwrote benchmarks/results/{name}" + ("" if args.quick else " and docs/performance.md"))
    return 0


def write_doc(header: str, table: str) -> None:
    doc = REPO / "docs" / "performance.md"
    intro = (
        "# Performance\n\n"
        "Produced by `make bench` (`benchmarks/run.py`): aml_jupyter and MLflow side by side, in one run, on the\n"
        "same machine, both on SQLite, each case in a fresh process. MLflow lives in a throw-away venv made by the\n"
        "harness. Where MLflow would take minutes at full size, it runs fewer operations and the table compares\n"
        "rates (per point, per run); the sizes used are in `benchmarks/results/latest.json`.\n\n"
        "What is measured:\n\n"
        "- (a) `aml.log()` one point per call, 100,000 calls, then `run.flush()`: the time until every point is\n"
        "  committed, per point. MLflow: `mlflow.log_metric()` (synchronous, so durable on return).\n"
        "- (b) 1,000,000 points through `run.log_batch()` (a numpy array) until committed. MLflow:\n"
        "  `MlflowClient.log_batch()` in its maximum batches of 1,000.\n"
        "- (c) 1,000 runs, each with 10 params and 5 metrics, started and ended; snapshots and environment\n"
        "  capture stay on (the first run pays for them).\n"
        '- (d) `search_runs("metrics.acc > 0.9 and params.lr = \'0.01\'", order_by=["metrics.acc DESC"],\n'
        "  max_results=100)`, median of 7 after one warm-up; and every run into a DataFrame.\n"
        "- (e) `import aml_jupyter` alone, and wall time from spawning `python` to the first committed metric.\n"
        "- (f) peak resident memory of a process that calls `log()` 1,000,000 times, minus a bare interpreter's.\n\n"
    )
    doc.write_text(intro + header + "\n\n" + table + "\n")


if __name__ == "__main__":
    sys.exit(main())
