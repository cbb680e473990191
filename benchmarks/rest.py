"""`make bench`, part four: the REST API of the Jupyter server extension, on a real `jupyter server`.

    python benchmarks/rest.py [--quick] [--no-write]

A workspace of 100,000 runs (10,000 with --quick), each with ten params and five metrics, and one
run with a metric series of 1,000,000 points (100,000 with --quick). Measured on the live server,
median of 15 requests after a warm-up, each figure as the handler's own time (the Server-Timing
header) and as the client's whole round trip:

- the first page (100 runs) of `GET /aml/api/v1/runs` with a filter and an order;
- `GET /aml/api/v1/runs/RUN/metrics/KEY?max_points=1000`, the series downsampled for a chart.

Targets (the issue): the page <= 50 ms server time; the series <= 100 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from serving import free_port  # noqa: E402 (found through the path above)

FILTER = "metrics.acc > 0.5 and params.lr = '0.01'"
ORDER = "metrics.acc DESC"


def populate(root: Path, runs: int, points: int) -> tuple[Any, str]:
    import numpy as np

    import aml_jupyter as aml

    ws = aml.Workspace.init(root, name="rest-bench")
    t0 = time.perf_counter()
    for i in range(runs):
        lr = ["0.01", "0.1", "0.001"][i % 3]
        with aml.start_run("search", params={"lr": lr, **{f"p{j}": j for j in range(9)}}, workspace=ws, snapshot=False):
            aml.log_metrics({"acc": (i * 7919 % 1000) / 1000, **{f"m{j}": j for j in range(4)}})
    print(f"  {runs:,} runs in {time.perf_counter() - t0:.0f} s", flush=True)
    values = np.sin(np.arange(points) / 1000.0)
    with aml.start_run("series", workspace=ws, snapshot=False) as run:
        for i, v in enumerate(values.tolist()):
            run.log("loss", v, step=i)
    print(f"  a series of {points:,} points", flush=True)
    return ws, run.id


def timed(url: str, token: str, repeats: int = 15) -> dict[str, float]:
    server, client = [], []
    for i in range(repeats + 2):
        req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=120) as resp:
            resp.read()
            timing = resp.headers["Server-Timing"]
        if i >= 2:  # two warm-ups
            client.append((time.perf_counter() - t0) * 1000)
            server.append(float(timing.split("dur=")[1]))
    return {"server_ms": statistics.median(server), "client_ms": statistics.median(client)}


def run(quick: bool) -> dict[str, Any]:
    runs, points = (10_000, 100_000) if quick else (100_000, 1_000_000)
    work = Path(tempfile.mkdtemp(prefix="aml-rest-bench-"))
    ws, series_run = populate(work / "project", runs, points)
    ws.close()  # as after any session: the write-ahead log checkpointed, the server reads the store alone
    port, token = free_port(), "bench-token"
    log = open(work / "jupyter.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("jupyter")),
            "server",
            "--allow-root",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={ws.root}",
            "--ServerApp.authorizer_class=aml_jupyter.server.AmlAuthorizer",
            "--AmlAuthorizer.default_role=owner",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    base = f"http://127.0.0.1:{port}/aml/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                timed(base + "/health", token, repeats=1)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError((work / "jupyter.log").read_text()[-2000:]) from None
                time.sleep(0.2)
        page = timed(
            f"{base}/runs?experiment=search&max_results=100&filter={quote(FILTER)}&order_by={quote(ORDER)}", token
        )
        series = timed(f"{base}/runs/{series_run}/metrics/loss?max_points=1000", token)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    return {"runs": runs, "points": points, "page": page, "series": series}


def main() -> int:
    from run import machine

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    print("REST API benchmarks (a real jupyter server with the aml extension):", flush=True)
    r = run(args.quick)
    r["machine"] = m = machine()
    r["date"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = f"Measured {r['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}."
    rows = [
        (f"first page of 100 runs, filter and order, {r['runs']:,} runs", r["page"], 50),
        (f"a series of {r['points']:,} points downsampled to 1,000", r["series"], 100),
    ]
    lines = ["| figure | server time (ms) | round trip (ms) | target | met |", "|---|---:|---:|---|---|"]
    for name, fig, target in rows:
        met = "yes" if fig["server_ms"] <= target else "no"
        lines.append(f"| {name} | {fig['server_ms']:.1f} | {fig['client_ms']:.1f} | <= {target} ms | {met} |")
    table = "\n".join(lines)
    print()
    print(header)
    print(table)
    if not args.no_write:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        name = f"rest-{stamp}{'-quick' if args.quick else ''}.json"
        (HERE / "results" / name).write_text(json.dumps(r, indent=2) + "\n")
        if not args.quick:
            (REPO / "docs" / "performance-rest.md").write_text(
                "# Performance of the REST API\n\nProduced by `make bench` (`benchmarks/rest.py`; its docstring says "
                "what is measured), on a real `jupyter server` with the aml extension, median of 15 requests.\n\n"
                + header
                + "\n\n"
                + table
                + "\n"
            )
        print(f"\nwrote benchmarks/results/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
