"""Train a softmax classifier on the iris-shaped data set, as a tracked aml_jupyter run.

Run from the demo project folder: ``python train.py --C 0.5 --lr 0.1 --epochs 80``.
Only numpy is needed; matplotlib, when installed, adds a loss curve.
"""

import argparse
import csv
import os
import tempfile

import numpy as np

import aml_jupyter as aml


def load(path: str = "iris.csv") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The features, labels and class names: inside a run of a workspace that registered the
    dataset ``iris``, from the dataset (the run records it as its input); else from ``path``."""
    rows = _dataset_rows()
    if rows is None:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    features = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    x = np.array([[float(r[k]) for k in features] for r in rows])
    classes = sorted({r["species"] for r in rows})
    y = np.array([classes.index(r["species"]) for r in rows])
    return x, y, classes


def _dataset_rows() -> list[dict[str, str]] | None:
    from aml_jupyter.errors import AmlError

    if aml.active_run() is None:
        return None
    try:
        from aml_jupyter import dataprep

        frame = dataprep.get_dataset("iris").to_pandas()
    except AmlError:  # no workspace here, or no such dataset: the CSV file is the data
        return None
    return [{k: str(v) for k, v in r.items()} for r in frame.to_dict("records")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--C", type=float, default=1.0, help="inverse L2 regularisation strength")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    params = vars(args)
    with aml.start_run(experiment="iris", params=params, parent=os.environ.get("AML_PARENT_RUN_ID")) as run:
        x, y, classes = load()  # inside the run: it records the dataset it reads
        rng = np.random.default_rng(args.seed)
        order = rng.permutation(len(y))
        split = int(0.7 * len(y))
        train, val = order[:split], order[split:]
        mean, std = x[train].mean(0), x[train].std(0)
        x = (x - mean) / std
        onehot = np.eye(len(classes))[y]

        aml.set_tags({"model": "softmax", "data": "iris"})
        w = np.zeros((x.shape[1], len(classes)))
        b = np.zeros(len(classes))
        losses = []
        for epoch in range(args.epochs):
            logits = x[train] @ w + b
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            loss = -np.mean(np.sum(onehot[train] * np.log(p + 1e-12), 1)) + 0.5 / args.C * np.sum(w * w) / len(train)
            grad = (p - onehot[train]) / len(train)
            w -= args.lr * (x[train].T @ grad + w / args.C / len(train))
            b -= args.lr * grad.sum(0)
            acc = float(np.mean((x[val] @ w + b).argmax(1) == y[val]))
            aml.log_metrics({"loss": float(loss), "val_acc": acc}, step=epoch)
            losses.append(float(loss))
        pred = (x[val] @ w + b).argmax(1)
        final = float(np.mean(pred == y[val]))
        aml.log("acc", final)
        with tempfile.TemporaryDirectory() as tmp:
            model = os.path.join(tmp, "model.npz")
            np.savez(model, w=w, b=b, mean=mean, std=std, classes=np.array(classes))
            aml.log_artifact(model)
        confusion = [
            [int(np.sum((y[val] == i) & (pred == j))) for j in range(len(classes))] for i in range(len(classes))
        ]
        import pandas as pd

        aml.log_table(pd.DataFrame(confusion, index=classes, columns=classes), "confusion")
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(4, 3))
            ax.plot(losses)
            ax.set_xlabel("epoch")
            ax.set_ylabel("loss")
            aml.log_figure(fig, "loss_curve")
            plt.close(fig)
        except ImportError:
            pass
        print(f"run {run.id[:8]}: C={args.C} lr={args.lr} epochs={args.epochs} -> acc={final:.3f}")


if __name__ == "__main__":
    main()
