"""`make bench`, part three: the scoring service against `mlflow models serve`, same model, same load.

    python benchmarks/serving.py [--quick] [--no-write]

One iris-shaped LogisticRegression, saved for each (skops for aml_jupyter, MLflow's sklearn
flavor for MLflow, both from the same fitted weights), served on loopback, measured one after the
other by the same load generator: wrk when it is installed, else threads with keep-alive
connections in this process. aml_jupyter is measured twice: serving the version's native predictor
(numpy only, the default for such a version) and with `--no-native` (scikit-learn loaded):

- start to healthy: from launching the command to the first 200 from its health route;
- throughput and p50/p99 latency at 8 concurrent connections, one row per request;
- p50 latency at 1 connection;
- resident memory of the service (its process tree) after the load.

Targets (the issue): throughput >= 3x MLflow's, p99 <= a third, start to healthy <= 1.5 s, p50 at
one connection <= 2 ms, service memory <= 200 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
ROW = [5.1, 3.5, 1.4, 0.2]
# wrk when installed (Debian's package), else the threads below: the same one for both services.
GENERATOR = "wrk" if __import__("shutil").which("wrk") else "python threads"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(port: int, path: str, started: float, proc: subprocess.Popen[bytes], timeout: float = 120) -> float:
    while time.perf_counter() - started < timeout:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                conn.close()
                return time.perf_counter() - started
            conn.close()
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with {proc.returncode}")
        time.sleep(0.02)
    raise RuntimeError("the service did not become healthy")


def load(port: int, path: str, body: bytes, headers: dict[str, str], clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors[0] += 1
            mine.append(time.perf_counter() - t0)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors[0],
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def _wrk_time_ms(text: str) -> float:
    value, unit = float(text[:-2] if text.endswith(("us", "ms")) else text[:-1]), text[-2:]
    return value / 1000 if unit == "us" else value if unit == "ms" else value * 1000


def load_wrk(
    port: int, path: str, body: bytes, headers: dict[str, str], clients: int, seconds: float
) -> dict[str, Any]:
    """The same measurement with wrk (a load generator in C) when it is installed: the client then
    takes far less of the two cores the service runs on."""
    import re
    import shutil

    script = Path(tempfile.mkdtemp()) / "post.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body.decode())}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    wrk = shutil.which("wrk")
    assert wrk is not None
    out = subprocess.run(
        [
            wrk,
            "-t",
            str(min(clients, 2)),
            "-c",
            str(clients),
            "-d",
            f"{max(1, int(seconds))}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _wrk_time_ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
    p99 = _wrk_time_ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": int(total.group(1)) if total else 0,
        "errors": int(non2xx.group(1)) if non2xx else 0,
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
    }


def tree_rss_mb(pid: int) -> float:
    def children(p: int) -> list[int]:
        out = []
        for task in Path(f"/proc/{p}/task").iterdir():
            try:
                out += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
        return out

    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            todo += children(p)
        except OSError:
            continue
    return total / 1024


def measure(
    name: str,
    cmd: list[str],
    env: dict[str, str],
    port: int,
    health: str,
    score: str,
    body: bytes,
    headers: dict[str, str],
    seconds: float,
) -> dict[str, Any]:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        healthy = wait_healthy(port, health, started, proc)
        generator = load_wrk if GENERATOR == "wrk" else load
        generator(port, score, body, headers, 8, 1.0)  # warm-up
        busy = generator(port, score, body, headers, 8, seconds)
        single = generator(port, score, body, headers, 1, seconds / 2)
        rss = tree_rss_mb(proc.pid)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
    print(f"  {name}: healthy after {healthy:.2f} s, {busy['rps']:,.0f} req/s at 8 connections", flush=True)
    return {"start_s": healthy, "c8": busy, "c1": single, "rss_mb": rss}


def run(quick: bool) -> dict[str, Any]:
    import numpy as np
    import skops.io as sio
    from run import ensure_mlflow
    from sklearn.linear_model import LogisticRegression

    import aml_jupyter as aml

    seconds = 3.0 if quick else 10.0
    work = Path(tempfile.mkdtemp(prefix="aml-serve-bench-"))
    rng = np.random.default_rng(0)
    x = rng.normal([5.8, 3.0, 3.7, 1.2], [0.8, 0.4, 1.7, 0.7], size=(150, 4))
    y = np.digitize(x[:, 2], [2.5, 4.9])
    clf = LogisticRegression(max_iter=500).fit(x, y)
    sio.dump(clf, work / "model.skops")
    ws = aml.Workspace.init(work / "project", name="bench")
    mv = aml.register_model("iris", path=work / "model.skops", sample_input=x[:5], workspace=ws)
    key = "bench-key"
    body = json.dumps({"data": [ROW]}).encode()
    out: dict[str, Any] = {"seconds": seconds}

    def measure_aml(label: str, *extra: str) -> dict[str, Any]:
        port = free_port()
        cmd = [str(Path(sys.executable).with_name("aml")), "-w", str(ws.root), "serve", mv.ref, "--port", str(port)]
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        env = {**os.environ, "AML_SERVE_KEY": key}
        return measure(label, [*cmd, *extra], env, port, "/health", "/score", body, headers, seconds)

    out["aml"] = measure_aml("aml_jupyter")
    # The same service with the version's native predictor turned off: scikit-learn loaded and called.
    out["aml_sklearn"] = measure_aml("aml_jupyter --no-native", "--no-native")
    ml_py = ensure_mlflow("3.17.*")
    saver = (
        "import sys, skops.io as sio, mlflow.sklearn\n"
        "clf = sio.load(sys.argv[1], trusted=sio.get_untrusted_types(file=sys.argv[1]))\n"
        "mlflow.sklearn.save_model(clf, sys.argv[2])\n"
    )
    subprocess.run(
        [str(ml_py), "-c", saver, str(work / "model.skops"), str(work / "mlflow-model")],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    port = free_port()
    ml_cmd = [
        str(ml_py.with_name("mlflow")),
        "models",
        "serve",
        "-m",
        str(work / "mlflow-model"),
        "-p",
        str(port),
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
    ]
    ml_body = json.dumps({"inputs": [ROW]}).encode()
    # MLflow starts `uvicorn` from PATH: its own venv's.
    ml_env = {**os.environ, "PYTHONWARNINGS": "ignore", "PATH": f"{ml_py.parent}:{os.environ.get('PATH', '')}"}
    out["mlflow"] = measure(
        "MLflow",
        ml_cmd,
        ml_env,
        port,
        "/health",
        "/invocations",
        ml_body,
        {"Content-Type": "application/json"},
        seconds,
    )
    return out


NOTES = """\
"aml_jupyter" serves the version's native predictor: registration found that numpy alone gives
exactly the estimator's answers (models/native.py), so the service never imports scikit-learn;
"scikit-learn loaded" is the same service with `--no-native`, which is how a model without a
native form (a gradient-boosted ensemble, a custom estimator) is served. Each service shares two
cores with wrk, and figures move by tens of percent between runs here: compare within one run.
"""


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, str, str, str, bool | None]]:
    # (figure, aml_jupyter, aml_jupyter with scikit-learn loaded, MLflow, ratio, target, met)
    a, s, m = r["aml"], r["aml_sklearn"], r["mlflow"]
    lat8 = "{0[c8][p50_ms]:.1f} / {0[c8][p99_ms]:.1f}".format
    errors = lambda x: x["c8"]["errors"] + x["c1"]["errors"]  # noqa: E731
    return [
        (
            "throughput at 8 connections (req/s)",
            f"{a['c8']['rps']:,.0f}",
            f"{s['c8']['rps']:,.0f}",
            f"{m['c8']['rps']:,.0f}",
            f"{a['c8']['rps'] / m['c8']['rps']:.1f}x",
            ">= 3x",
            a["c8"]["rps"] >= 3 * m["c8"]["rps"],
        ),
        (
            "p50 / p99 latency at 8 connections (ms)",
            lat8(a),
            lat8(s),
            lat8(m),
            f"p99 {a['c8']['p99_ms'] / m['c8']['p99_ms']:.2f}x",
            "p99 <= 1/3",
            a["c8"]["p99_ms"] <= m["c8"]["p99_ms"] / 3,
        ),
        (
            "p50 latency at 1 connection (ms)",
            f"{a['c1']['p50_ms']:.2f}",
            f"{s['c1']['p50_ms']:.2f}",
            f"{m['c1']['p50_ms']:.2f}",
            f"{a['c1']['p50_ms'] / m['c1']['p50_ms']:.2f}x",
            "<= 2 ms",
            a["c1"]["p50_ms"] <= 2,
        ),
        (
            "start to healthy (s)",
            f"{a['start_s']:.2f}",
            f"{s['start_s']:.2f}",
            f"{m['start_s']:.2f}",
            f"{a['start_s'] / m['start_s']:.2f}x",
            "<= 1.5 s",
            a["start_s"] <= 1.5,
        ),
        (
            "service memory, process tree (MB)",
            f"{a['rss_mb']:.0f}",
            f"{s['rss_mb']:.0f}",
            f"{m['rss_mb']:.0f}",
            "-",
            "<= 200 MB",
            a["rss_mb"] <= 200,
        ),
        ("errors during the load", str(errors(a)), str(errors(s)), str(errors(m)), "-", "0", errors(a) == 0),
    ]


def main() -> int:
    from run import machine

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    print("serving benchmarks (the same model, the same load generator):", flush=True)
    r = run(args.quick)
    r["machine"] = machine()
    r["date"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    m = r["machine"]
    r["generator"] = GENERATOR
    header = (
        f"Measured {r['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}; "
        f"load generator: {GENERATOR}."
    )
    lines = [
        "| figure | aml_jupyter | aml_jupyter, scikit-learn loaded | MLflow | ratio | target | met |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for name, a, s, b, ratio, target, met in rows(r):
        verdict = "-" if met is None else "yes" if met else "no"
        lines.append(f"| {name} | {a} | {s} | {b} | {ratio} | {target} | {verdict} |")
    table = "\n".join(lines)
    print()
    print(header)
    print(table)
    if not args.no_write:
        name = (
            "serving-" + dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S") + ("-quick" if args.quick else "") + ".json"
        )
        (HERE / "results" / name).write_text(json.dumps(r, indent=2) + "\n")
        if not args.quick:
            (REPO / "docs" / "performance-serving.md").write_text(
                "# Performance of the scoring service\n\nProduced by `make bench` (`benchmarks/serving.py`; its "
                "docstring says what is measured), against `mlflow models serve` on the same machine.\n\n"
                + header
                + "\n\n"
                + table
                + "\n\n"
                + NOTES
            )
        print(f"\nwrote benchmarks/results/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
