"""`make bench`, part five: what starting costs: the `aml` command's quick commands, and a cell
run as a job on the local target.

    python benchmarks/startup.py [--quick] [--no-write]

(1) ``%%aml run`` on the local target (``aml_jupyter.run_cell``, what the magic calls) of a cell
    that uses pandas and logs a metric, in a process that has pandas imported (as a notebook's
    kernel has), against a bare ``exec`` of the same cell in that process: seconds added (median
    of interleaved repeats, after one warm-up run). Target: ≤ 0.5 s. The same with ``AML_WARM=0``
    (an interpreter started per run, as before the warm process) is reported beside it.
(2) The CLI's common commands on a workspace of 200 runs, each as a new process as a user types
    it: wall time, median of interleaved repeats, through the warm process and with ``AML_WARM=0``.
    Target: ≤ 0.3 s each.

Results go to ``benchmarks/results/startup-*.json`` and ``docs/performance-startup.md``.
"""

from __future__ import annotations

import os
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
sys.path.insert(0, str(HERE))
AML = str(Path(sys.executable).with_name("aml"))
CELL = "import pandas as pd\ny = float(pd.Series([x, 2 * x]).mean())\naml.log('y', y)"


def timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def cells(project: Path, repeats: int) -> dict[str, float]:
    import pandas  # noqa: F401 - the notebook's kernel has it imported

    import aml_jupyter as aml
    from aml_jupyter.warm import owned

    ws = aml.Workspace.open(project)

    def tracked(i: int) -> None:
        r = aml.run_cell(CELL, {"x": i}, ["y"], experiment="cells", workspace=ws)
        assert r["status"] == "completed", r["error"]

    def bare(i: int) -> None:
        namespace = {"x": i, "aml": aml}
        exec(compile(CELL.replace("aml.log('y', y)", "pass"), "<cell>", "exec"), namespace)

    tracked(0)  # the first run starts the warm server; it answers once it has imported ahead
    deadline = time.monotonic() + 60
    while owned.warm_socket() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    tracked(0)
    warm, cold, plain = [], [], []
    for i in range(repeats):
        plain.append(timed(lambda i=i: bare(i)))
        warm.append(timed(lambda i=i: tracked(i)))
        os.environ["AML_WARM"] = "0"
        try:
            cold.append(timed(lambda i=i: tracked(i)))
        finally:
            del os.environ["AML_WARM"]
    owned.stop()
    ws.close()
    return {"bare_s": statistics.median(plain), "warm_s": statistics.median(warm), "cold_s": statistics.median(cold)}


COMMANDS = {
    "aml runs list": ["runs", "list"],
    "aml runs list --filter ... --order-by ...": [
        "runs",
        "list",
        "--filter",
        "metrics.acc > 0.5",
        "--order-by",
        "metrics.acc DESC",
    ],
    "aml runs show RUN": ["runs", "show", "RUN"],
    "aml experiments list": ["experiments", "list"],
    "aml models list": ["models", "list"],
    "aml --version": ["--version"],
}


def commands(project: Path, repeats: int, warm_dir: Path) -> dict[str, dict[str, float]]:
    import aml_jupyter as aml

    ws = aml.Workspace.open(project)
    run_id = aml.search_runs(experiments=["cli"], max_results=1, workspace=ws).run_id[0]
    ws.close()
    env_warm = {**os.environ, "AML_WARM_DIR": str(warm_dir), "AML_WARM_IDLE_S": "600"}
    env_cold = {**env_warm, "AML_WARM": "0"}

    def call(args: list[str], env: dict[str, str]) -> float:
        argv = [AML, *(run_id if a == "RUN" else a for a in args)]
        return timed(lambda: subprocess.run(argv, cwd=project, env=env, check=True, capture_output=True))

    call(COMMANDS["aml runs list"], env_warm)  # starts the warm process
    deadline = time.monotonic() + 60
    while not list(warm_dir.glob("cli-*.sock.pid")) and time.monotonic() < deadline:
        time.sleep(0.1)
    out = {}
    for name, args in COMMANDS.items():
        call(args, env_warm)
        warm, cold = [], []
        for _ in range(repeats):
            warm.append(call(args, env_warm))
            cold.append(call(args, env_cold))
        out[name] = {"warm_s": statistics.median(warm), "cold_s": statistics.median(cold)}
    return out


def _populate(project: Path, n_runs: int) -> None:
    import aml_jupyter as aml

    ws = aml.Workspace.init(project, name="bench")
    for i in range(n_runs):
        with aml.start_run(experiment="cli", workspace=ws, snapshot=False) as run:
            run.log_params({"lr": 0.001 * (i + 1), "depth": i % 7})
            run.log_metrics({"acc": (i % 100) / 100, "loss": 1 / (i + 1)})
    ws.close()


def run(quick: bool) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="aml-startup-bench-"))
    project = work / "project"
    project.mkdir()
    (project / "train.py").write_text("print('hello')\n")
    warm_dir = work / "warm"
    repeats = 5 if quick else 11
    n_runs = 200
    try:
        _populate(project, n_runs)
        print(f"  (1) cell runs on the local target, {repeats} of each", flush=True)
        out: dict[str, Any] = {"sizes": {"repeats": repeats, "runs": n_runs}, "cell": cells(project, repeats)}
        print(f"  (2) the CLI's common commands on {n_runs} runs, {repeats} of each", flush=True)
        out["cli"] = commands(project, repeats, warm_dir)
    finally:
        for pid_file in warm_dir.glob("*.sock.pid"):
            try:
                os.kill(int(pid_file.read_text()), 15)
            except (ValueError, OSError):
                pass
        shutil.rmtree(work, ignore_errors=True)
    return out


def rows(r: dict[str, Any]) -> list[Any]:
    c = r["cell"]
    added = c["warm_s"] - c["bare_s"]
    out: list[Any] = [
        (
            "(1) `%%aml run` on the local target vs a bare `exec` of the cell (s, median)",
            f"{c['warm_s']:.3f}",
            f"{c['bare_s']:.3f}",
            f"+{added:.3f} s",
            "≤ +0.5 s",
            added <= 0.5,
        ),
        (
            "(1') the same with `AML_WARM=0`: an interpreter per run (s, median)",
            f"{c['cold_s']:.3f}",
            f"{c['bare_s']:.3f}",
            f"+{c['cold_s'] - c['bare_s']:.3f} s",
            "-",
            None,
        ),
    ]
    for name, t in r["cli"].items():
        out.append(
            (
                f"(2) `{name}` (s, median; bare: with `AML_WARM=0`)",
                f"{t['warm_s']:.3f}",
                f"{t['cold_s']:.3f}",
                f"{t['cold_s'] / t['warm_s']:.1f}x faster",
                "≤ 0.3 s",
                t["warm_s"] <= 0.3,
            )
        )
    return out


def main() -> int:
    from report import bench_main

    print("startup benchmarks (the aml command, cells on the local target):", flush=True)
    return bench_main(
        "startup",
        "Performance of starting things",
        "Produced by `make bench` (`benchmarks/startup.py`, see its docstring for what each case does). Quick "
        "`aml` commands and the local target's cells fork from a warm process (see the guide's \"Warm processes\").",
        run,
        rows,
    )


if __name__ == "__main__":
    sys.exit(main())
