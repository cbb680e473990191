"""``python -m aml_jupyter.demo [DIR]``: the end-to-end demo of ``make demo``.

It creates a workspace in DIR (default ``demo-workspace``), writes a small project into it (a
training script, the sweep notebook ``notebooks/iris_sweep.ipynb`` and an iris-shaped data set
that arrives messy: decimal commas, dates in four layouts, observers' full names), prepares the
data by example (printing the learned steps in words and the rows to look at) and registers it
as the dataset ``iris``, submits the script as a tracked job on the local target, sweeps the
notebook over a grid on the embedded Dask cluster (two child runs at a time, median early
stopping), prints the run table and the best child, stops the cluster, then registers the best
child's model, deploys it locally,
scores three rows over HTTP and prints the answers, the service's metrics and the model's
lineage back to the dataset.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import aml_jupyter as aml
from aml_jupyter.demo.data import prepare_by_example, write_raw_dataset
from aml_jupyter.workspace import AML_DIR

HERE = Path(__file__).parent
# The sweep notebook ships in the package's notebooks folder (a checkout's notebooks/).
NOTEBOOKS = HERE.parents[1] / "notebooks"
MARKER = ".aml-demo"


def write_dataset(path: Path, seed: int = 7) -> None:
    """An iris-shaped data set: 3 species x 50 flowers, Gaussian around the real species means."""
    import numpy as np

    rng = np.random.default_rng(seed)
    species = {
        "setosa": ([5.01, 3.43, 1.46, 0.25], [0.35, 0.38, 0.17, 0.11]),
        "versicolor": ([5.94, 2.77, 4.26, 1.33], [0.52, 0.31, 0.47, 0.20]),
        "virginica": ([6.59, 2.97, 5.55, 2.03], [0.64, 0.32, 0.55, 0.27]),
    }
    lines = ["sepal_length,sepal_width,petal_length,petal_width,species"]
    for name, (mean, std) in species.items():
        for row in rng.normal(mean, std, size=(50, 4)).clip(0.1):
            lines.append(",".join(f"{v:.1f}" for v in row) + f",{name}")
    path.write_text("\n".join(lines) + "\n")


def prepare(folder: Path) -> aml.Workspace:
    if folder.exists():
        if not (folder / MARKER).exists():
            sys.exit(f"{folder} exists and is not a demo workspace; choose another folder")
        added = added_by_user(folder)
        if added:
            # Never delete what the demo did not make: the user's notebooks, runs, models.
            sys.exit(
                f"{folder} holds work the demo did not make ({'; '.join(added)}): nothing was deleted. "
                "Run the demo in another folder (make demo DEMO=demo-2), "
                f"or move that work and delete {folder} yourself"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text(json.dumps({"made_by": "python -m aml_jupyter.demo"}))
    shutil.copy(HERE / "train.py", folder / "train.py")
    notebook = HERE / "iris_sweep.ipynb"  # in a wheel; a checkout has it in notebooks/
    shutil.copy(notebook if notebook.exists() else NOTEBOOKS / "iris_sweep.ipynb", folder / "iris_sweep.ipynb")
    shutil.copy(HERE / "score.py", folder / "score.py")
    write_raw_dataset(folder / "iris_raw.csv")
    (folder / ".amlignore").write_text("*.npz\n")
    return aml.Workspace.init(folder, name="demo")


def _files(folder: Path) -> dict[str, list[int]]:
    # The project's files as the demo left them (its store and job folders aside): size and mtime.
    found = {}
    for p in folder.rglob("*"):
        rel = p.relative_to(folder)
        if p.is_file() and not p.is_symlink() and rel.parts[0] not in (AML_DIR, MARKER, ".ipynb_checkpoints"):
            st = p.stat()
            found[rel.as_posix()] = [st.st_size, st.st_mtime_ns]
    return found


def _counts(ws: aml.Workspace) -> dict[str, int]:
    from aml_jupyter.dataprep.datasets import list_datasets
    from aml_jupyter.services.deployments import list_deployments

    return {
        "runs": len(aml.list_runs(workspace=ws)),
        "model versions": sum(int(m["versions"]) for m in aml.list_models(ws)),
        "dataset versions": len(list_datasets(ws)),
        "deployments": len(list_deployments(ws)),
    }


def record_inventory(folder: Path, ws: aml.Workspace) -> None:
    """What the demo made, written at its end, so that a later demo can tell the user's work from it."""
    made = {"made_by": "python -m aml_jupyter.demo", "files": _files(folder), "counts": _counts(ws)}
    (folder / MARKER).write_text(json.dumps(made, indent=1))


def added_by_user(folder: Path) -> list[str]:
    """What the folder holds beyond what the last demo made: files added or changed, runs, models,
    datasets, deployments (each with a count). A demo that never finished left nothing to compare
    with: then its whole folder counts as the demo's, unless it holds files it never writes.

    Example:
        >>> added_by_user(Path("demo-workspace"))  # doctest: +SKIP
        ['2 files added or changed (my.ipynb, ...)', '3 runs']
    """
    try:
        made = json.loads((folder / MARKER).read_text())
    except ValueError:
        made = {}  # an older demo's marker: its files alone are known
    known = made.get("files")
    files = _files(folder)
    if known is None:
        ours = {"train.py", "iris_sweep.ipynb", "score.py", "iris_raw.csv", ".amlignore", "iris.csv"}
        changed = sorted(set(files) - ours)
    else:
        changed = sorted(p for p, st in files.items() if known.get(p) != st)
    added = []
    if changed:
        more = " ..." if len(changed) > 5 else ""
        added.append(f"{len(changed)} file(s) added or changed: {', '.join(changed[:5])}{more}")
    if made.get("counts") and (folder / AML_DIR).is_dir():
        ws = aml.Workspace.open(folder)
        try:
            now = _counts(ws)
        finally:
            ws.close()
        added += [f"{now[k] - n} more {k}" for k, n in made["counts"].items() if now.get(k, 0) > n]
    return added


def main() -> int:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-workspace").resolve()
    ws = prepare(folder)
    print(f"== workspace {ws.name!r} created in {ws.aml_dir}")

    print("\n== the field notes arrive messy: learn the clean columns from a few typed examples")
    flow = prepare_by_example(folder / "iris_raw.csv", ws)
    flow.to_pandas().to_csv(folder / "iris.csv", index=False)  # the same data, for a notebook opened alone

    print("\n== one training script, submitted as a tracked job on the local target")
    job = aml.submit(
        "train.py", {"C": 0.5, "lr": 0.1, "epochs": 60}, experiment="iris", wait=True, echo=True, workspace=ws
    )
    if job["status"] != "completed":
        print(f"the job {job['status']}: {job['error']}", file=sys.stderr)
        return 1

    print("\n== a notebook sweep on the embedded Dask cluster: C x lr, 2 at a time, median early stopping")
    from aml_jupyter.compute.dask_cluster import stop_embedded
    from aml_jupyter.sweeps.policies import EarlyStop

    try:
        result = aml.sweep(
            "iris_sweep.ipynb",
            ["C=choice(0.05, 1.0, 20.0)", "lr=choice(0.05, 0.5)"],
            metric="acc",
            method="grid",
            max_concurrent=2,
            early_stop=EarlyStop("median", evaluation_interval=5, delay_evaluation=20),
            target="dask",
            experiment="iris",
            name="sweep",
            workspace=ws,
        )
    finally:
        stop_embedded(ws)
    print(
        f"   {result['completed']} children completed, {result['stopped_early']} stopped early, "
        f"{result['failed']} failed"
    )

    print("\n== run table (best first)")
    table = aml.search_runs(experiments="iris", order_by=["metrics.acc DESC"], workspace=ws)
    cols = ["run_id", "name", "status", "params.C", "params.lr", "metrics.acc"]
    table = table[cols].assign(run_id=table.run_id.str[:8])
    print(table.to_string(index=False, na_rep="-"))

    best = result["best"]
    if best is None:
        print("no child of the sweep completed", file=sys.stderr)
        return 1
    child = aml.get_run(best["id"], workspace=ws)
    print(
        f"\n== best child: {child.id[:8]}  acc={best['value']:.3f}  C={child.params['C']}  lr={child.params['lr']}"
        f"  (parent {result['id'][:8]})"
    )
    print(f"   artifacts: {', '.join(a.name for a in child.artifacts)}")
    print(f"   snapshot:  {child.info.snapshot_id}")
    serve_best(ws, child.id)
    print(
        f"\nTry:  cd {folder.relative_to(Path.cwd()) if folder.is_relative_to(Path.cwd()) else folder}"
        f" && ../.venv/bin/aml runs list   (or: aml -w {folder} runs show {child.id[:8]})"
    )
    assert (folder / AML_DIR).is_dir()
    record_inventory(folder, ws)
    return 0


def serve_best(ws: aml.Workspace, run_id: str) -> None:
    """Register the best child's model, deploy it locally, score three rows over HTTP, print the
    answers and the service's metrics, and stop the deployment."""
    import json
    import urllib.request

    from aml_jupyter.services import deployments

    mv = aml.register_model(
        "iris-softmax", run=run_id, artifact="model", sample_input=[[5.1, 3.5, 1.4, 0.2]], workspace=ws
    )
    aml.set_model_alias(mv.name, "production", mv.version, workspace=ws)
    print(f"\n== registered {mv.ref} ({mv.flavor}) as iris-softmax@production; deploying it locally")
    from aml_jupyter.services.models import model_lineage

    read = [f"{d['name']} ({d['uri']})" for d in model_lineage(mv.ref, workspace=ws)["datasets"]]
    print(f"   lineage: trained by run {run_id[:8]} on {', '.join(read) or 'no registered dataset'}")
    dep = deployments.deploy("iris-softmax@production", "iris", workspace=ws)
    try:
        rows = [[5.1, 3.5, 1.4, 0.2], [6.0, 2.7, 4.4, 1.3], [6.9, 3.1, 5.6, 2.2]]
        headers = {"Authorization": f"Bearer {dep['key']}", "Content-Type": "application/json"}
        req = urllib.request.Request(dep["url"] + "/score", data=json.dumps({"data": rows}).encode(), headers=headers)
        with urllib.request.urlopen(req, timeout=30) as resp:
            answer = json.loads(resp.read())
        print(f"   POST {dep['url']}/score")
        for row, label in zip(rows, answer["predictions"], strict=True):
            print(f"   {row} -> {label}")
        with urllib.request.urlopen(
            urllib.request.Request(dep["url"] + "/metrics", headers=headers), timeout=30
        ) as resp:
            metrics = [ln for ln in resp.read().decode().splitlines() if ln.startswith(("aml_requests", "aml_rows"))]
        print("   metrics: " + "; ".join(metrics))
    finally:
        deployments.delete("iris", workspace=ws)
        print("   (the deployment was stopped; `aml deploy iris-softmax@production --name iris` starts it again)")


if __name__ == "__main__":
    sys.exit(main())
