"""`make bench`: the team server, `aml server --workers 4` on PostgreSQL, next to MLflow's tracking
server (`mlflow server --workers 4`) on the same PostgreSQL, in one run.

    python benchmarks/team_server.py [--quick] [--no-write]

- 64 concurrent remote writers, each with a run of its own, each sending batches of 100 metric
  points over one keep-alive connection for a fixed time after a 3 s warm-up (aml: `POST /api/v1/runs/RUN/metrics`;
  MLflow: `POST /api/2.0/mlflow/runs/log-batch`): points/s accepted and the p99 latency of a batch.
  The writers are one asyncio client process (plain HTTP/1.1), the same for both servers.
- Artifacts on an S3-compatible server on loopback (moto, as the tests use): one file uploaded and
  downloaded through `aml server`, against s3fs putting and getting the same file in the bucket
  directly. The server keeps what it uploaded in its local cache, so its download is from disk.

MLflow lives in the throw-away venv benchmarks/.venv-mlflow (with psycopg for PostgreSQL), made by
benchmarks/run.py's `ensure_mlflow`, never in the project's dependencies.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the tests' PostgreSQL and S3 starters
sys.path.insert(0, str(HERE))

from report import Row, bench_main  # noqa: E402

from tests import objectstore  # noqa: E402
from tests import postgres as pg  # noqa: E402

WRITERS = 64
BATCH = 100
TOKEN = "bench-team-token"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# the writers (run as `python team_server.py --writers KIND PORT SECONDS RUN...`) --------------


def _body(kind: str, run: str, step: int) -> bytes:
    now = int(time.time() * 1000)
    if kind == "aml":
        points = [{"key": f"m{i % 10}", "value": float(step + i), "step": step + i // 10} for i in range(BATCH)]
        return json.dumps({"metrics": points}).encode()
    metrics = [
        {"key": f"m{i % 10}", "value": float(step + i), "step": step + i // 10, "timestamp": now} for i in range(BATCH)
    ]
    return json.dumps({"run_id": run, "metrics": metrics}).encode()


async def _writer(kind: str, port: int, run: str, until: float, latencies: list[float], failed: list[int]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    path = f"/api/v1/runs/{run}/metrics" if kind == "aml" else "/api/2.0/mlflow/runs/log-batch"
    auth = f"Authorization: Bearer {TOKEN}\r\n" if kind == "aml" else ""
    accepted, step = 0, 0
    while time.perf_counter() < until:
        body = _body(kind, run, step)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        started = time.perf_counter()
        writer.write(head.encode() + body)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        if status == 200:
            accepted += BATCH
        else:
            failed.append(status)
        step += BATCH // 10
    writer.close()
    return accepted


async def _writers(kind: str, port: int, seconds: float, runs: list[str]) -> dict[str, float]:
    latencies: list[float] = []
    failed: list[int] = []
    started = time.perf_counter()
    until = started + seconds
    accepted = await asyncio.gather(*(_writer(kind, port, run, until, latencies, failed) for run in runs))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "points_per_s": sum(accepted) / elapsed,
        "requests": len(latencies),
        "failed": len(failed),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def writers(kind: str, port: int, seconds: float, runs: list[str]) -> dict[str, float]:
    """64 writers against one server, in a process of their own."""
    out = subprocess.run(
        [sys.executable, __file__, "--writers", kind, str(port), str(seconds), *runs],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# servers -------------------------------------------------------------------------------------


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def aml_server(work: Path, store: str, artifacts: str | None, env: dict[str, str]) -> tuple[Any, int, Any]:
    import aml_jupyter as aml

    ws = aml.Workspace.init(work / "aml", store=store, artifacts=artifacts)
    ws.close()
    port = free_port()
    log = work / "aml-server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("aml")), "-w", str(work / "aml"), "server", "--port", str(port)]
            + ["--workers", "4"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env, "AML_SERVER_TOKEN": TOKEN},
            start_new_session=True,
        )
    _wait(f"http://127.0.0.1:{port}/health", proc, log)
    return proc, port, aml.Workspace.open(work / "aml")


def _aml_call(port: int, method: str, path: str, body: Any) -> Any:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), method=method)
    req.add_header("Authorization", f"Bearer {TOKEN}")
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def mlflow_server(work: Path, store: str) -> tuple[Any, int]:
    from run import ensure_mlflow

    py = ensure_mlflow("3.17.*")
    if subprocess.run([str(py), "-c", "import psycopg"], capture_output=True).returncode:
        uv = Path(sys.executable).with_name("uv")
        subprocess.run([str(uv), "pip", "install", "-q", "--python", str(py), "psycopg[binary]"], check=True)
    port = free_port()
    log = work / "mlflow-server.log"
    # SQLAlchemy's default pool (5 + 10 overflow a worker) is smaller than a worker's share of the
    # writers; its 30 s checkout timeout would then be what is measured. Give it room, as a team would.
    pool = {"MLFLOW_SQLALCHEMYSTORE_POOL_SIZE": str(WRITERS // 4 + 4), "MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW": "10"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(py.with_name("mlflow")), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "4"]
            + ["--backend-store-uri", store, "--default-artifact-root", str(work / "mlflow-artifacts")],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **pool},
        )
    _wait(f"http://127.0.0.1:{port}/health", proc, log)
    return proc, port


def _mlflow_call(port: int, path: str, body: Any) -> Any:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


# artifacts -----------------------------------------------------------------------------------


def artifacts(port: int, run: str, bucket: str, size: int, work: Path) -> dict[str, float]:
    import http.client

    import s3fs

    src = work / "blob.bin"
    with open(src, "wb") as f:
        block = os.urandom(1 << 20)
        for _ in range(size >> 20):
            f.write(block)
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    out: dict[str, float] = {}
    t = time.perf_counter()
    fs.put_file(str(src), f"{bucket}/direct/blob.bin")
    out["direct_up"] = size / (time.perf_counter() - t) / 1e6
    t = time.perf_counter()
    fs.get_file(f"{bucket}/direct/blob.bin", str(work / "back-direct.bin"))
    out["direct_down"] = size / (time.perf_counter() - t) / 1e6
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t = time.perf_counter()
    with open(src, "rb") as f:
        conn.request(
            "PUT",
            f"/api/v1/runs/{run}/artifacts/blob.bin",
            body=f,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Length": str(size)},
        )
        answer = conn.getresponse()
        answer.read()
    assert answer.status == 200, answer.status
    out["server_up"] = size / (time.perf_counter() - t) / 1e6
    t = time.perf_counter()
    conn.request("GET", f"/api/v1/runs/{run}/artifacts/blob.bin", headers={"Authorization": f"Bearer {TOKEN}"})
    answer = conn.getresponse()
    with open(work / "back-server.bin", "wb") as f:
        while chunk := answer.read(1 << 20):
            f.write(chunk)
    out["server_down"] = size / (time.perf_counter() - t) / 1e6
    conn.close()
    return out


# the part ------------------------------------------------------------------------------------


def measure(quick: bool) -> dict[str, Any]:
    seconds = 5.0 if quick else 20.0
    size = (64 if quick else 512) << 20
    work = Path(tempfile.mkdtemp(prefix="aml-bench-team-"))
    server = pg.start(free_port(), durable=True)
    s3 = objectstore.start(free_port(), work / "s3.log")
    saved = dict(os.environ)
    os.environ.update(s3.env())
    os.environ["AML_CACHE_DIR"] = str(work / "cache")
    results: dict[str, Any] = {
        "sizes": {"writers": WRITERS, "batch": BATCH, "seconds": seconds, "artifact_mb": size >> 20}
    }
    procs: list[Any] = []
    try:
        bucket = s3.bucket(own=True)
        print("  aml server: writers", end="", flush=True)
        proc, port, ws = aml_server(work, server.database(empty=True), bucket, s3.env())
        procs.append(proc)
        runs = [_aml_call(port, "POST", "/api/v1/runs", {"experiment": "bench"})["id"] for _ in range(WRITERS)]
        writers("aml", port, 3.0, runs)  # warm-up: every worker up and connected, not counted
        results["aml"] = writers("aml", port, seconds, runs)
        print(", artifacts", end="", flush=True)
        results["artifacts"] = artifacts(port, runs[0], bucket.removeprefix("s3://").split("/")[0], size, work)
        _stop(proc)
        procs.remove(proc)
        ws.close()
        print("; mlflow server: writers", end="", flush=True)
        url = server.database(empty=True)
        proc, port = mlflow_server(work, url)
        procs.append(proc)
        exp = "0"
        ids = [
            _mlflow_call(port, "/api/2.0/mlflow/runs/create", {"experiment_id": exp})["run"]["info"]["run_id"]
            for _ in range(WRITERS)
        ]
        writers("mlflow", port, 3.0, ids)  # warm-up, as for aml
        results["mlflow"] = writers("mlflow", port, seconds, ids)
        print(" done", flush=True)
        from run import MLFLOW_VENV

        results["mlflow_version"] = subprocess.run(
            [str(MLFLOW_VENV / "bin" / "python"), "-c", "import mlflow; print(mlflow.__version__)"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    finally:
        for proc in procs:
            _stop(proc)
        os.environ.clear()
        os.environ.update(saved)
        os.kill(s3.pid, signal.SIGTERM)
        s3.proc.wait(timeout=30)
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return results


def rows(r: dict[str, Any]) -> list[Row]:
    a, m, art = r["aml"], r["mlflow"], r["artifacts"]
    ratio = a["points_per_s"] / m["points_per_s"]
    out: list[Row] = [
        (
            f"{r['sizes']['writers']} remote writers, points/s accepted (batches of {r['sizes']['batch']})",
            f"{a['points_per_s']:,.0f}",
            f"{m['points_per_s']:,.0f}",
            f"{ratio:.1f}x",
            ">= 10x",
            ratio >= 10,
        ),
        (
            "batches refused or failed (of all sent)",
            f"{a.get('failed', 0):,} of {a['requests']:,}",
            f"{m.get('failed', 0):,} of {m['requests']:,}",
            "-",
            "-",
            None,
        ),
        (
            "p99 latency of a batch (ms)",
            f"{a['p99_ms']:.0f}",
            f"{m['p99_ms']:.0f}",
            f"{m['p99_ms'] / a['p99_ms']:.1f}x",
            "-",
            None,
        ),
        (
            "median latency of a batch (ms)",
            f"{a['p50_ms']:.0f}",
            f"{m['p50_ms']:.0f}",
            f"{m['p50_ms'] / a['p50_ms']:.1f}x",
            "-",
            None,
        ),
    ]
    for way in ("up", "down"):
        s, d = art[f"server_{way}"], art[f"direct_{way}"]
        out.append(
            (
                f"artifact {'upload' if way == 'up' else 'download'} MB/s ({r['sizes']['artifact_mb']} MiB; "
                "aml server vs the bucket directly)",
                f"{s:,.0f}",
                f"{d:,.0f}",
                f"{s / d:.1%}",
                ">= 80%",
                s / d >= 0.8,
            )
        )
    return out


INTRO = (
    "`python benchmarks/team_server.py` (part of `make bench`): `aml server --workers 4` (column aml_jupyter) "
    "next to MLflow's `mlflow server --workers 4` (column bare) on the same PostgreSQL server (loopback, fsync on), "
    "in one run, with the same 64-writer client process; then artifact transfers through `aml server` against s3fs "
    "on the same S3-compatible bucket directly (column bare). Ratios: aml / MLflow for points/s, MLflow / aml for "
    "latency, server / direct for MB/s. Everything shares the machine's cores: servers, client, PostgreSQL and "
    "the S3 server."
)

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--writers":
        kind, port, seconds, *ids = sys.argv[2:]
        print(json.dumps(asyncio.run(_writers(kind, int(port), float(seconds), ids))))
        raise SystemExit(0)
    raise SystemExit(bench_main("team-server", "Performance of the team server", INTRO, measure, rows))
