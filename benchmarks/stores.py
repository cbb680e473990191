"""The store's figures on PostgreSQL next to the same figures on SQLite, in one run.

Each case runs in a fresh process (benchmarks/workloads.py) against a fresh SQLite workspace and a
fresh PostgreSQL database on a server this script starts on loopback (Debian's PostgreSQL, as the
tests start it; fsync stays on here, as a real server's would).

    python benchmarks/stores.py [--quick] [--no-write]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the tests' PostgreSQL starter

from report import Row, bench_main  # noqa: E402

from tests import postgres as pg  # noqa: E402


def case(name: str, n: int, folder: Path, store: str | None) -> dict[str, Any]:
    env = {**os.environ, "AML_BENCH_STORE": store or ""}
    out = subprocess.run(
        [sys.executable, str(HERE / "workloads.py"), "aml", name, str(n), str(folder)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(quick: bool) -> dict[str, Any]:
    sizes = {
        "log": 20_000 if quick else 100_000,
        "batch": 200_000 if quick else 1_000_000,
        "runs": 100 if quick else 300,
        # Populating goes through start_run (snapshot, environment, params, metrics): a few minutes
        # at 20,000 runs. The rest of the million goes straight into the tables (workloads.bulk_fill).
        "search": 2_000 if quick else 10_000,
        "search_big": 5_000 if quick else 20_000,
        "search_huge": 100_000 if quick else 1_000_000,
    }
    work = Path(tempfile.mkdtemp(prefix="aml-bench-stores-"))
    server = pg.start(free_port(), durable=True)
    results: dict[str, Any] = {"sizes": sizes, "postgresql": {}, "sqlite": {}}
    try:
        for kind in ("sqlite", "postgresql"):
            out = results[kind]

            def store(kind: str = kind) -> str | None:
                return server.database(empty=True) if kind == "postgresql" else None

            print(f"  {kind}: log, batch, runs", end="", flush=True)
            for name in ("log", "batch", "runs"):
                out[name] = case(name, sizes[name], work / f"{kind}-{name}", store())
            print(", search", end="", flush=True)
            folder, url = work / f"{kind}-search", store()
            out["populate"] = case("populate", sizes["search"], folder, url)
            out["query"] = case("query", 0, folder, url)
            case("populate", sizes["search_big"] - sizes["search"], folder, url)
            out["query_big"] = case("query", 0, folder, url)
            print(", bulk fill", end="", flush=True)
            out["bulk"] = case("bulk", sizes["search_huge"] - sizes["search_big"], folder, url)
            out["query_huge"] = case("query_top", 0, folder, url)
            print(" done", flush=True)
        results["postgresql_version"] = subprocess.run(
            [str(server.bin / "postgres"), "--version"], capture_output=True, text=True
        ).stdout.strip()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return results


def rows(r: dict[str, Any]) -> list[Row]:
    p, s, n = r["postgresql"], r["sqlite"], r["sizes"]

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b else "-"

    out: list[Row] = []
    pl, sl = p["log"]["points_per_s"], s["log"]["points_per_s"]
    out.append(
        (f"`aml.log` until durable, points/s ({n['log']:,})", f"{pl:,.0f}", f"{sl:,.0f}", ratio(pl, sl), "-", None)
    )
    pb, sb = p["batch"]["points_per_s"], s["batch"]["points_per_s"]
    out.append((f"`log_batch` points/s ({n['batch']:,})", f"{pb:,.0f}", f"{sb:,.0f}", ratio(pb, sb), "-", None))
    pr, sr = p["runs"]["runs_per_s"], s["runs"]["runs_per_s"]
    out.append(
        (f"runs created/s (10 params, 5 metrics; {n['runs']:,})", f"{pr:,.0f}", f"{sr:,.0f}", ratio(pr, sr), "-", None)
    )
    for key, size in (("query", n["search"]), ("query_big", n["search_big"])):
        pq, sq = p[key]["filter_ms"], s[key]["filter_ms"]
        out.append(
            (
                f"filter + sort, top 100 of {size:,} runs (ms)",
                f"{pq:.1f}",
                f"{sq:.1f}",
                ratio(pq, sq),
                "<= 100 ms",
                pq <= 100,
            )
        )
        pa, sa = p[key]["all_runs_s"], s[key]["all_runs_s"]
        out.append((f"all {size:,} runs to a DataFrame (s)", f"{pa:.2f}", f"{sa:.2f}", ratio(pa, sa), "-", None))
    pq, sq = p["query_huge"]["filter_ms"], s["query_huge"]["filter_ms"]
    out.append(
        (
            f"filter + sort, top 100 of {n['search_huge']:,} runs (ms)",
            f"{pq:.1f}",
            f"{sq:.1f}",
            ratio(pq, sq),
            "<= 100 ms",
            pq <= 100,
        )
    )
    return out


INTRO = (
    "`python benchmarks/stores.py` (part of `make bench`): the store's figures on PostgreSQL "
    "(column aml_jupyter) next to SQLite (column bare) in one run, each case in a fresh process; "
    "the server runs on the same machine, on loopback, with its default durability. Ratios are "
    "PostgreSQL / SQLite. PostgreSQL syncs its log to disk at every commit, where SQLite in WAL mode "
    "with synchronous=NORMAL does not (see docs/design.md), which is most of the gap in runs created "
    "per second (two commits a run). For the million-run filter, the runs beyond the first 20,000 "
    "are written straight into the tables (benchmarks/workloads.py's bulk_fill), then PostgreSQL's "
    "statistics are refreshed (ANALYZE), as autovacuum does on a live server."
)

if __name__ == "__main__":
    raise SystemExit(bench_main("stores", "Performance of the store on PostgreSQL", INTRO, measure, rows))
