"""`make bench`, the learn part: aml_jupyter.learn against the same work written by hand, and what
autologging adds to a fit.

    python benchmarks/learn.py [--quick] [--no-write]

(1) pandas, 100,000 rows x 30 mixed columns (numbers, categories, many-valued codes, dates):
    ``learn.train_classifier`` + ``learn.evaluate`` (HistGradientBoosting, metrics, per-instance
    table, four figures) against a hand-written scikit-learn ColumnTransformer + the same learner
    + predict_proba + accuracy, F1, ROC AUC, log loss and the confusion matrix. Target <= 1.2x.
(2) Dask, 1,000,000 rows x 30 columns on a LocalCluster of 2 workers: the same calls on a Dask
    DataFrame (LightGBM's distributed learner) against hand-written per-partition featurization +
    ``DaskLGBMClassifier`` + prediction by partition + the same metrics. Target <= 1.3x.
(3) ``aml.autolog()``: a HistGradientBoosting fit of about a second inside a run, with and
    without autologging (params, training metrics, the model saved). Target <= 1.05x. The same for
    a Keras fit of about a second on JAX's CPU backend (epochs, settings, the model saved).
(4) ``flow.cluster_text`` on 100,000 distinct values (half of them a one-letter typo of the other
    half). Target <= 10 s.
(5) ``flow.profile()`` of 100 columns x 100,000 rows (numbers, categories, dates), drawings
    included. Target <= 3 s. Beside it, skrub's ``TableReport`` of the same frame (its HTML), the
    candidate the issue named, installed by this harness into a throw-away venv
    (``benchmarks/.venv-skrub``), never into the project.

Each pair runs interleaved; the figure is the median. Results go to
``benchmarks/results/learn-*.json`` and ``docs/performance-learn.md``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

NUMBERS, CATEGORIES, CODES, DATES = 20, 6, 2, 2


def table(n: int, seed: int = 0) -> pd.DataFrame:
    """n rows of 30 columns of mixed kinds and a binary label that depends on several of them."""
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {f"n{i}": rng.normal(size=n) for i in range(NUMBERS)}
    cols["n0"][rng.random(n) < 0.05] = np.nan
    for i in range(CATEGORIES):
        cols[f"c{i}"] = rng.choice([f"v{k}" for k in range(3 + 3 * i)], n)
    for i in range(CODES):
        cols[f"code{i}"] = np.char.add("id", rng.integers(0, 2000, n).astype(str))
    base = np.datetime64("2020-01-01")
    for i in range(DATES):
        cols[f"d{i}"] = pd.Series(base + rng.integers(0, 1500, n).astype("timedelta64[D]")).dt.strftime("%Y-%m-%d")
    df = pd.DataFrame(cols)
    score = df["n1"] + 0.5 * df["n2"] - (df["c0"] == "v1") + (df["c2"].isin(["v0", "v4"])) + rng.normal(0, 0.5, n)
    df["label"] = np.where(score > 0.2, "yes", "no")
    return df


def hand_pandas(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    from sklearn import metrics as m
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder

    nums = [f"n{i}" for i in range(NUMBERS)]
    cats = [f"c{i}" for i in range(CATEGORIES)]
    codes = [f"code{i}" for i in range(CODES)]
    dates = [f"d{i}" for i in range(DATES)]

    def date_parts(X: pd.DataFrame) -> np.ndarray:
        parts = []
        for c in X.columns:
            d = pd.to_datetime(X[c], errors="coerce")
            parts += [d.dt.year, d.dt.month, d.dt.day, d.dt.day_of_week]
        return np.column_stack(parts).astype("float64")

    features = ColumnTransformer(
        [
            ("num", SimpleImputer(add_indicator=True), nums),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cats),
            ("code", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), codes),
            ("date", FunctionTransformer(date_parts), dates),
        ]
    )
    model = make_pipeline(features, HistGradientBoostingClassifier(random_state=0))
    model.fit(train.drop(columns=["label"]), train["label"])
    proba = model.predict_proba(test.drop(columns=["label"]))
    pred = model.classes_[proba.argmax(axis=1)]
    y = test["label"]
    m.confusion_matrix(y, pred)
    return {
        "accuracy": m.accuracy_score(y, pred),
        "f1": m.f1_score(y, pred, pos_label="yes"),
        "roc_auc": m.roc_auc_score(y == "yes", proba[:, 1]),
        "log_loss": m.log_loss(y, proba),
    }


def ours(train: Any, test: Any) -> dict[str, float]:
    from aml_jupyter import learn

    model = learn.train_classifier(train, label="label")
    r = learn.evaluate(model, test)
    return {"accuracy": r.metrics["accuracy_score"], "roc_auc": r.metrics["roc_auc"]}


def hand_dask(train: Any, test: Any, client: Any) -> dict[str, float]:
    import lightgbm as lgb

    cats = {f"c{i}": [f"v{k}" for k in range(3 + 3 * i)] for i in range(CATEGORIES)}

    def featurize(p: pd.DataFrame) -> pd.DataFrame:
        out = p[[f"n{i}" for i in range(NUMBERS)]].astype("float32")
        for c, values in cats.items():
            out[c] = pd.Categorical(p[c], categories=values).codes.astype("float32")
        for i in range(CODES):
            out[f"code{i}"] = p[f"code{i}"].str[2:].astype("float32")
        for i in range(DATES):
            d = pd.to_datetime(p[f"d{i}"], errors="coerce")
            out[f"d{i}y"], out[f"d{i}m"], out[f"d{i}w"] = d.dt.year, d.dt.month, d.dt.day_of_week
        return out

    meta = featurize(train.head(5)).iloc[:0]
    X = train.map_partitions(featurize, meta=meta)
    y = (train["label"] == "yes").astype(int)
    model = lgb.DaskLGBMClassifier(client=client, verbose=-1, random_state=0).fit(X, y)
    local = model.to_local()
    Xt = test.map_partitions(featurize, meta=meta)
    truth = (test["label"] == "yes").astype(int)

    def scored(p: pd.DataFrame, t: pd.Series) -> pd.DataFrame:
        proba = local.predict_proba(p)[:, 1]
        return pd.DataFrame({"t": t.to_numpy(), "p": proba, "hit": (proba > 0.5) == t.to_numpy()})

    s = Xt.map_partitions(scored, truth, meta={"t": "i8", "p": "f8", "hit": "bool"})
    # The usual hand-written evaluation: the scores come back and scikit-learn measures them.
    from sklearn import metrics as m

    got = s.compute()
    pred = (got["p"] > 0.5).astype(int)
    m.confusion_matrix(got["t"], pred)
    return {
        "accuracy": m.accuracy_score(got["t"], pred),
        "f1": m.f1_score(got["t"], pred),
        "roc_auc": m.roc_auc_score(got["t"], got["p"]),
        "log_loss": m.log_loss(got["t"], got["p"]),
    }


def interleaved(pairs: dict[str, Any], repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in pairs}
    for _ in range(repeats):
        for k, fn in pairs.items():
            started = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - started)
    return times


def autolog_overhead(repeats: int, small: bool = False) -> dict[str, Any]:
    """What the caller waits for: the fit with and without autolog inside a run (the training
    metrics and the model's save go on after it returns, before the run ends). ``small``: the
    red-team's case, a random forest of about 0.07 s."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

    import aml_jupyter as aml

    ws = aml.Workspace.init(tempfile.mkdtemp(prefix="aml-autolog-bench-"))
    X = np.random.default_rng(0).normal(size=(2_000, 10) if small else (150_000, 20))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)

    def estimator() -> Any:
        if small:
            return RandomForestClassifier(n_estimators=30, n_jobs=1, random_state=0)
        return HistGradientBoostingClassifier(max_iter=100, early_stopping=False, random_state=0)

    def fit(on: bool) -> float:
        if on:
            aml.autolog()
        with aml.start_run("bench", workspace=ws, snapshot=False):
            started = time.perf_counter()
            estimator().fit(X, y)
            took = time.perf_counter() - started
        if on:
            aml.autolog(disable=True)
        return took

    fit(False), fit(True)  # warm-up: imports, the estimator list
    plain, logged = [], []
    for _ in range(repeats):
        plain.append(fit(False))
        logged.append(fit(True))
    return {"plain_s": statistics.median(plain), "autolog_s": statistics.median(logged)}


def keras_autolog_overhead(repeats: int) -> dict[str, Any] | None:
    """The same for a Keras fit of about a second (JAX's CPU backend): epochs, settings, the model."""
    import importlib.util
    import os

    if importlib.util.find_spec("keras") is None:
        return None
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    import aml_jupyter as aml

    ws = aml.Workspace.init(tempfile.mkdtemp(prefix="aml-autolog-keras-bench-"))
    X = np.random.default_rng(0).normal(size=(30_000, 20)).astype("float32")
    y = (X[:, 0] + X[:, 1] > 0).astype("float32")

    def fit(on: bool) -> float:
        if on:
            aml.autolog()
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input((20,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1, activation="sigmoid")]
        )
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        with aml.start_run("bench", workspace=ws, snapshot=False):
            started = time.perf_counter()
            model.fit(X, y, epochs=8, batch_size=256, validation_split=0.1, verbose=0)
            took = time.perf_counter() - started
        if on:
            aml.autolog(disable=True)
        return took

    fit(False), fit(True)  # warm-up: JAX compiles the steps
    plain, logged = [], []
    for _ in range(repeats):
        plain.append(fit(False))
        logged.append(fit(True))
    return {"plain_s": statistics.median(plain), "autolog_s": statistics.median(logged)}


def dataprep_parts(repeats: int) -> dict[str, float]:
    import random
    import string

    from aml_jupyter import dataprep as dp

    rng = random.Random(0)
    base = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(6, 14))) for _ in range(50_000)]
    work = Path(tempfile.mkdtemp(prefix="aml-dataprep-bench-"))
    pd.DataFrame({"name": base + [b[:-1] + "#" for b in base]}).to_parquet(work / "names.parquet")
    wide = table(100_000)
    for i in range(100 - len(wide.columns)):
        wide[f"extra{i}"] = wide[f"n{i % NUMBERS}"] * 2
    wide.iloc[:, :100].to_parquet(work / "wide.parquet")
    names, frame = dp.read(str(work / "names.parquet")), dp.read(str(work / "wide.parquet"))
    names.to_pandas(), frame.to_pandas()  # the reads are cached alike for both figures

    def clusters() -> None:
        names.cluster_text("name", threshold=0.8)

    def profile() -> None:
        frame.profile()._repr_html_()

    t = interleaved({"cluster": clusters, "profile": profile}, repeats)
    out = {k: statistics.median(v) for k, v in t.items()}
    out["skrub"] = skrub_report(work / "wide.parquet", repeats)
    return out


def skrub_report(path: Path, repeats: int) -> float | None:
    """Median seconds of skrub's TableReport(...).html() on the Parquet file, in its own venv."""
    import subprocess

    venv = HERE / ".venv-skrub"
    py = venv / "bin" / "python"
    uv = Path(sys.executable).with_name("uv")
    try:
        if not py.exists():
            print("  installing skrub into benchmarks/.venv-skrub (once) ...", flush=True)
            subprocess.run([str(uv), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
            subprocess.run([str(uv), "pip", "install", "-q", "--python", str(py), "skrub", "pyarrow"], check=True)
        code = (
            "import sys, time, statistics, pandas as pd\n"
            "from skrub import TableReport\n"
            "df = pd.read_parquet(sys.argv[1]); TableReport(df.head(100)).html()\n"
            "times = []\n"
            "for _ in range(int(sys.argv[2])):\n"
            "    t = time.perf_counter(); TableReport(df).html(); times.append(time.perf_counter() - t)\n"
            "print(statistics.median(times))\n"
        )
        done = subprocess.run(
            [str(py), "-c", code, str(path), str(repeats)], check=True, capture_output=True, text=True, timeout=1200
        )
        return float(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        print(f"  skrub unavailable: {exc}", flush=True)
        return None


def run(quick: bool) -> dict[str, Any]:
    rows = 20_000 if quick else 100_000
    repeats = 3 if quick else 5
    df = table(rows + rows // 4)
    train, test = df.iloc[:rows], df.iloc[rows:]
    print(f"  (1) pandas, {rows:,} rows x 30 columns, {repeats} of each", flush=True)
    ours(train, test), hand_pandas(train, test)  # warm-up
    t = interleaved({"ours": lambda: ours(train, test), "hand": lambda: hand_pandas(train, test)}, repeats)
    out: dict[str, Any] = {"pandas": {"rows": rows, **{k: statistics.median(v) for k, v in t.items()}}}
    out["pandas"]["accuracy"] = {"ours": ours(train, test)["accuracy"], "hand": hand_pandas(train, test)["accuracy"]}

    big = 200_000 if quick else 1_000_000
    d_repeats = 2 if quick else 3
    print(f"  (2) Dask, {big:,} rows x 30 columns on 2 workers, {d_repeats} of each", flush=True)
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, Client(cluster) as client:
        frame = table(big + big // 4, seed=1)
        dtrain = client.persist(dd.from_pandas(frame.iloc[:big], npartitions=8))
        dtest = client.persist(dd.from_pandas(frame.iloc[big:], npartitions=4))
        del frame
        t = interleaved(
            {"ours": lambda: ours(dtrain, dtest), "hand": lambda: hand_dask(dtrain, dtest, client)}, d_repeats
        )
        out["dask"] = {"rows": big, **{k: statistics.median(v) for k, v in t.items()}}

    print(f"  (3) autolog on a one-second fit, {repeats * 2} of each", flush=True)
    out["autolog"] = autolog_overhead(repeats * 2)
    print(f"  (3a) autolog on a 0.07-second random-forest fit, {repeats * 4} of each", flush=True)
    out["autolog_small"] = autolog_overhead(repeats * 4, small=True)
    print(f"  (3b) autolog on a one-second Keras fit, {repeats * 2} of each", flush=True)
    out["autolog_keras"] = keras_autolog_overhead(repeats * 2)
    print(f"  (4, 5) cluster_text on 100,000 values, profile of 100 x 100,000, {repeats} of each", flush=True)
    out["dataprep"] = dataprep_parts(repeats)
    return out


def rows(r: dict[str, Any]) -> list[Any]:
    p, d, a = r["pandas"], r["dask"], r["autolog"]
    out = []
    for name, part, target in (
        (f"train_classifier + evaluate, pandas, {p['rows']:,} x 30 (s)", p, 1.2),
        (f"train_classifier + evaluate, Dask 2 workers, {d['rows']:,} x 30 (s)", d, 1.3),
    ):
        ratio = part["ours"] / part["hand"]
        out.append(
            (name, f"{part['ours']:.2f}", f"{part['hand']:.2f}", f"{ratio:.2f}x", f"<= {target}x", ratio <= target)
        )
    for name, part, target in (
        ("a 1-second HistGradientBoosting fit with autolog (s)", a, 1.05),
        ("a 0.07-second random-forest fit with autolog: what the caller waits (s)", r.get("autolog_small"), 1.25),
        ("a 1-second Keras fit (JAX, CPU) with autolog (s)", r.get("autolog_keras"), 1.05),
    ):
        if part:
            ratio = part["autolog_s"] / part["plain_s"]
            shown = (f"{part['autolog_s']:.3f}", f"{part['plain_s']:.3f}", f"{ratio:.3f}x")
            out.append((name, *shown, f"<= {target}x", ratio <= target))
    dp = r["dataprep"]
    out.append(
        ("cluster_text, 100,000 distinct values (s)", f"{dp['cluster']:.2f}", "-", "-", "<= 10 s", dp["cluster"] <= 10)
    )
    skrub = dp.get("skrub")
    out.append(
        (
            "profile() with drawings, 100 columns x 100,000 rows (s); bare: skrub's TableReport",
            f"{dp['profile']:.2f}",
            f"{skrub:.2f}" if skrub else "-",
            f"{dp['profile'] / skrub:.2f}x" if skrub else "-",
            "<= 3 s",
            dp["profile"] <= 3,
        )
    )
    return out


def main() -> int:
    from report import bench_main

    intro = (
        "aml_jupyter.learn against the same work written by hand with scikit-learn or LightGBM, and the cost "
        "of `aml.autolog()` on a fit, measured by `python benchmarks/learn.py` (part of `make bench`). "
        "'bare' is the hand-written code (or the fit without autolog); each pair ran interleaved, medians shown."
    )
    return bench_main("learn", "Performance of aml_jupyter.learn", intro, run, rows)


if __name__ == "__main__":
    raise SystemExit(main())
