"""``python -m aml_jupyter.demo [DIR]``: the end-to-end demo of ``make demo``.

It creates a workspace in DIR (default ``demo-workspace``), writes a small project into it (a
training script and an iris-shaped data set), runs the script as a tracked run, runs a small sweep
under a parent run (two training processes at a time, all logging into the one workspace), then
prints the run table and the best run.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import aml_jupyter as aml
from aml_jupyter.workspace import AML_DIR

HERE = Path(__file__).parent
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
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("made by python -m aml_jupyter.demo; safe to delete\n")
    shutil.copy(HERE / "train.py", folder / "train.py")
    write_dataset(folder / "iris.csv")
    (folder / ".amlignore").write_text("*.npz\n")
    return aml.Workspace.init(folder, name="demo")


def train(folder: Path, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "train.py", *args], cwd=folder, env=env)


def main() -> int:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-workspace").resolve()
    ws = prepare(folder)
    print(f"== workspace {ws.name!r} created in {ws.aml_dir}")
    env = {**os.environ, "AML_WORKSPACE": str(folder)}

    print("== one tracked training run")
    if train(folder, ["--C", "0.5", "--lr", "0.1", "--epochs", "60"], env).wait() != 0:
        return 1

    print("== a small sweep: C x lr, two processes at a time, under one parent run")
    grid = list(itertools.product([0.05, 1.0, 20.0], [0.05, 0.5]))
    with aml.start_run(
        "iris",
        name="sweep",
        source_kind="sweep",
        workspace=ws,
        params={"grid": "C in (0.05, 1, 20) x lr in (0.05, 0.5)"},
    ) as sweep:
        child_env = {**env, "AML_PARENT_RUN_ID": sweep.id}
        for pair in [grid[i : i + 2] for i in range(0, len(grid), 2)]:
            procs = [train(folder, ["--C", str(c), "--lr", str(lr)], child_env) for c, lr in pair]
            if any(p.wait() != 0 for p in procs):
                return 1
        best_child = aml.search_runs(
            f"tags.model = 'softmax' and attributes.start_time >= {sweep.info.start_time}",
            experiments="iris",
            order_by=["metrics.acc DESC"],
            max_results=1,
            workspace=ws,
        )
        sweep.log("best_acc", float(best_child["metrics.acc"].iloc[0]))

    print("\n== run table (best first)")
    table = aml.search_runs(experiments="iris", order_by=["metrics.acc DESC", "metrics.loss ASC"], workspace=ws)
    cols = ["run_id", "name", "status", "params.C", "params.lr", "metrics.acc", "metrics.loss"]
    table = table[cols].assign(run_id=table.run_id.str[:8])
    print(table.to_string(index=False, na_rep="-"))

    best = aml.best_run("iris", metric="acc", goal="max", workspace=ws)
    print(f"\n== best run: {best.id[:8]}  acc={best.metrics['acc']:.3f}  C={best.params['C']}  lr={best.params['lr']}")
    print(f"   artifacts: {', '.join(a.name for a in best.artifacts)}")
    print(f"   snapshot:  {best.info.snapshot_id}")
    print(
        f"\nTry:  cd {folder.relative_to(Path.cwd()) if folder.is_relative_to(Path.cwd()) else folder}"
        f" && ../.venv/bin/aml runs list   (or: aml -w {folder} runs show {best.id[:8]})"
    )
    assert (folder / AML_DIR).is_dir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
