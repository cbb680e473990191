"""The by-example engine on the SyGuS PBE string tasks in ``../shared/benchmarks/pbe/``.

    python benchmarks/pbe.py [--tasks DIR] [--timeout 2] [--only NAME]

(a) consistency: on the canonical string-to-string tasks without conflicting examples, the share
    where the learned program reproduces every example, each learned within the time budget;
(b) generalization: on tasks with 20+ examples, learn from the first 3 and check all the others;
(c) the median learning time over (a);
(d) apply throughput on ``--rows`` rows (default 1,000,000) for a substring program, a
    date-reformatting program and a number-formatting program, against hand-written pandas code
    doing the same job.
Each task is learned in this process, one after another; results go to benchmarks/results/pbe-*.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

from aml_jupyter.dataprep import synth
from aml_jupyter.errors import NoProgramFound

HERE = Path(__file__).resolve().parent
DEFAULT_TASKS = HERE.parent.parent / "shared" / "benchmarks" / "pbe"


def load(folder: Path) -> list[dict]:  # type: ignore[type-arg]
    index = json.loads((folder / "index.json").read_text())
    keep = [
        r
        for r in index
        if r["string_to_string"]
        and r["canonical"]
        and not {"inconsistent_examples", "non_pbe", "no_examples"} & set(r["flags"])
    ]
    return [json.loads((folder / "tasks" / r["file"]).read_text()) for r in keep]


def examples(task: dict) -> list[tuple[list[str], str]]:  # type: ignore[type-arg]
    return [(list(e["inputs"]), e["output"]) for e in task["examples"]]


def consistency(tasks: list[dict], timeout: float) -> tuple[list[dict], list[float]]:  # type: ignore[type-arg]
    rows, times = [], []
    for task in tasks:
        exs = examples(task)
        t0 = time.perf_counter()
        try:
            program = synth.learn(exs, timeout=timeout)
            elapsed = time.perf_counter() - t0
            ok = all(program.apply(i) == o for i, o in exs) and elapsed <= timeout
            why = "" if ok else "does not reproduce every example"
        except NoProgramFound as exc:
            elapsed, ok, why = time.perf_counter() - t0, False, str(exc)[:120]
        times.append(elapsed)
        rows.append({"task": task["name"], "ok": ok, "seconds": round(elapsed, 4), "why": why})
    return rows, times


def generalization(tasks: list[dict], timeout: float) -> list[dict]:  # type: ignore[type-arg]
    rows = []
    for task in tasks:
        exs = examples(task)
        if len(exs) < 20:
            continue
        try:
            program = synth.learn(exs[:3], unlabeled=[i for i, _ in exs[3:]], timeout=timeout)
            right = sum(program.apply(i) == o for i, o in exs[3:])
        except NoProgramFound:
            right = 0
        rows.append({"task": task["name"], "ok": right == len(exs) - 3, "right": right, "of": len(exs) - 3})
    return rows


_EUROPEAN = str.maketrans({",": ".", ".": ","})


def throughput(rows: int) -> list[dict]:  # type: ignore[type-arg]
    """Rows per second of the learned programs over a whole column, and of hand-written pandas code."""
    import pandas as pd

    emails = pd.Series([f"user{i}@host{i % 97}.example.com" for i in range(rows)])
    dates = pd.Series([f"20{i % 30:02d}-{i % 12 + 1:02d}-{i % 28 + 1:02d}" for i in range(rows)])
    amounts = pd.Series([f"{i * 7919 % 10_000_000}.{i % 100:02d}" for i in range(rows)])
    cases = [
        (
            "substring (domain of an email)",
            emails,
            [(["ada@math.org"], "math.org"), (["alan@bletchley.gov.uk"], "bletchley.gov.uk")],
            lambda s: s.str.split("@").str[1],
        ),
        (
            "date reformat (YYYY-MM-DD to DD/MM/YYYY)",
            dates,
            [(["2026-11-27"], "27/11/2026"), (["1999-01-05"], "05/01/1999")],
            lambda s: pd.to_datetime(s, format="%Y-%m-%d").dt.strftime("%d/%m/%Y"),
        ),
        (
            "number format (1234567.89 to 1.234.567,89)",
            amounts,
            [(["1234567.89"], "1.234.567,89"), (["12.5"], "12,50")],
            lambda s: pd.to_numeric(s).map("{:,.2f}".format).str.translate(_EUROPEAN),
        ),
    ]
    out = []
    for name, series, exs, by_hand in cases:
        program = synth.learn(exs)
        values = series.tolist()
        t0 = time.perf_counter()
        ours = program.apply_column([values])  # what a recipe step runs
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        theirs = by_hand(series).tolist()
        t_hand = time.perf_counter() - t0
        assert ours == theirs, name
        out.append(
            {
                "case": name,
                "rows": rows,
                "engine_rows_per_s": rows / t_ours,
                "pandas_rows_per_s": rows / t_hand,
                "slowdown": t_ours / t_hand,
            }
        )
    return out


def dask_throughput(rows: int, workers: int = 2) -> dict:  # type: ignore[type-arg]
    """(d) on Dask: a derive-by-example recipe over a ``rows``-row CSV on a local cluster, against
    the same job in hand-written Dask/pandas string code; with each worker's peak memory."""
    import resource
    import tempfile

    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    from aml_jupyter import dataprep as dp

    folder = Path(tempfile.mkdtemp(prefix="aml-pbe-dask-"))
    path = folder / "emails.csv"
    with open(path, "w") as f:
        f.write("email\n")
        for lo in range(0, rows, 100_000):
            f.write("".join(f"user{i}@host{i % 97}.example.com\n" for i in range(lo, min(rows, lo + 100_000))))
    flow = dp.read(path).derive_column_by_example(["email"], "domain", [({"email": "ada@math.org"}, "math.org")])
    result: dict = {"rows": rows, "workers": workers}  # type: ignore[type-arg]
    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        t0 = time.perf_counter()
        ours = int(flow.to_dask()["domain"].count().compute())
        result["engine_rows_per_s"] = rows / (time.perf_counter() - t0)
        # ru_maxrss is a high-water mark for the worker's life: read it before the other job runs.
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        result["worker_peak_rss_mb"] = max(peaks.values())
        t0 = time.perf_counter()
        theirs = int(dd.read_csv(str(path), blocksize="16MB")["email"].str.split("@").str[1].count().compute())
        result["pandas_rows_per_s"] = rows / (time.perf_counter() - t0)
    assert ours == theirs == rows
    path.unlink()
    folder.rmdir()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=Path, default=DEFAULT_TASKS)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--only", default=None, help="one task by name")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the tasks that fail")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for (d); 0 skips it")
    parser.add_argument("--dask-rows", type=int, default=10_000_000, help="rows for (d) on Dask; 0 skips it")
    args = parser.parse_args()
    tasks = load(args.tasks)
    if args.only:
        tasks = [t for t in tasks if t["name"] == args.only]
    a_rows, times = consistency(tasks, args.timeout)
    b_rows = generalization(tasks, args.timeout)
    a_ok = sum(r["ok"] for r in a_rows)
    b_ok = sum(r["ok"] for r in b_rows)
    result = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "timeout_s": args.timeout,
        "consistency": {"solved": a_ok, "of": len(a_rows), "share": a_ok / max(1, len(a_rows))},
        "generalization": {"solved": b_ok, "of": len(b_rows), "share": b_ok / max(1, len(b_rows))},
        "median_learn_ms": statistics.median(times) * 1000 if times else None,
        "tasks": a_rows,
        "generalization_tasks": b_rows,
    }
    print(f"(a) consistency: {a_ok}/{len(a_rows)} = {result['consistency']['share']:.1%} (target >= 95%)")
    print(
        f"(b) generalization (learn from 3, check the rest): {b_ok}/{len(b_rows)} = "
        f"{result['generalization']['share']:.1%} (target >= 85%)"
    )
    median = result["median_learn_ms"]
    shown = f"{median:.1f} ms" if median is not None else "- (no task learned)"
    print(f"(c) median learning time: {shown} (target <= 100 ms)")
    d_rows = throughput(args.rows) if args.rows else []
    result["throughput"] = d_rows
    for r in d_rows:
        print(
            f"(d) {r['case']}, {r['rows']:,} rows, pandas (one process): engine {r['engine_rows_per_s']:,.0f} rows/s, "
            f"hand-written pandas {r['pandas_rows_per_s']:,.0f} rows/s; the engine takes {r['slowdown']:.1f}x "
            "their time "
            "(target: within 1.5x, and >= 1,000,000 rows/s for the substring program)"
        )
    if args.dask_rows:
        dr = result["dask"] = dask_throughput(args.dask_rows)
        print(
            f"(d) substring program on Dask ({dr['workers']} workers), {dr['rows']:,} rows: engine "
            f"{dr['engine_rows_per_s']:,.0f} rows/s, hand-written {dr['pandas_rows_per_s']:,.0f} rows/s, "
            f"engine's worker peak memory {dr['worker_peak_rss_mb']:,.0f} MB (target: under 1 GB)"
        )
    if args.verbose:
        for r in a_rows:
            if not r["ok"]:
                print(f"  fails (a): {r['task']}: {r['why']}")
        for r in b_rows:
            if not r["ok"]:
                print(f"  fails (b): {r['task']}: {r['right']}/{r['of']}")
    if not args.only:
        out = HERE / "results" / f"pbe-{dt.datetime.now(dt.UTC).strftime('%Y%m%d-%H%M%S')}.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
