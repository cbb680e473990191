"""The demo's data set as it arrives (messy), and its preparation by example.

The field notes hold each flower's four measurements with a decimal comma, the day it was
measured in whatever layout the observer wrote it, and the observer's full name. The demo learns
the clean columns from one or two typed examples, prints what it learned in words and the rows
to look at, registers the recipe as the dataset ``iris`` and writes ``iris.csv`` from it.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aml_jupyter.dataprep import Flow
    from aml_jupyter.workspace import Workspace

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
SPECIES = {
    "setosa": ([5.01, 3.43, 1.46, 0.25], [0.35, 0.38, 0.17, 0.11]),
    "versicolor": ([5.94, 2.77, 4.26, 1.33], [0.52, 0.31, 0.47, 0.20]),
    "virginica": ([6.59, 2.97, 5.55, 2.03], [0.64, 0.32, 0.55, 0.27]),
}
OBSERVERS = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Mary Somerville", "Carl Linnaeus"]
# How the observers wrote the day: ISO, day-first with slashes, day and short month, US long form.
LAYOUTS: list[Callable[[dt.date], str]] = [
    lambda d: d.strftime("%Y-%m-%d"),
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",
    lambda d: f"{d.day} {d.strftime('%b')} {d.year}",
    lambda d: f"{d.strftime('%B')} {d.day}, {d.year}",
]


def measured_on(n: int) -> dt.date:
    """The day flower ``n`` was measured (spread over three months of 2024)."""
    return dt.date(2024, 4, 1) + dt.timedelta(days=n * 37 % 90)


def write_raw_dataset(path: Path, seed: int = 7) -> None:
    """An iris-shaped data set (3 species x 50 flowers, Gaussian around the real species means)
    as field notes: decimal commas, dates in four layouts, observers' full names.

    Example:
        >>> import tempfile; p = Path(tempfile.mkdtemp()) / "raw.csv"; write_raw_dataset(p)
        >>> p.read_text().splitlines()[2]
        '2,Alan Turing,14 Jun 2024,"4,9","3,1","1,5","0,4",setosa'
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    with path.open("w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["flower", "observer", "measured", *FEATURES, "species"])
        n = 0
        for name, (mean, std) in SPECIES.items():
            for row in rng.normal(mean, std, size=(50, 4)).clip(0.1):
                n += 1
                written = LAYOUTS[n % len(LAYOUTS)](measured_on(n))
                amounts = [f"{v:.1f}".replace(".", ",") for v in row]
                out.writerow([n, OBSERVERS[(n - 1) % len(OBSERVERS)], written, *amounts, name])


def prepare_by_example(raw: Path, ws: Workspace) -> Flow:
    """Learn the clean columns of the field notes from typed examples, print the programs in
    words and the rows to look at, register the recipe as dataset ``iris``, and return it."""
    import pandas as pd

    from aml_jupyter import dataprep as dp

    head = pd.read_csv(raw, nrows=3, dtype=str)  # what a user sees before typing examples
    flow = dp.read(str(raw))
    for c in FEATURES:  # "5,1" typed as 5.1
        flow = flow.derive_column_by_example([c], f"{c}_cm", [({c: head[c][0]}, head[c][0].replace(",", "."))])
    day = [measured_on(int(head["flower"][k])).isoformat() for k in (0, 1)]  # the days as the user reads them
    flow = flow.derive_column_by_example(
        ["measured"], "measured_on", [({"measured": head["measured"][k]}, day[k]) for k in (0, 1)]
    )
    first = str(head["observer"][0])
    flow = flow.split_column_by_example("observer", [(first, first.split(" "))], ["first_name", "last_name"])
    flow = flow.drop_columns([*FEATURES, "measured", "observer"]).rename_columns({f"{c}_cm": c for c in FEATURES})
    print("   learned, in words:")
    for line in flow.describe().splitlines():
        print(f"     {line}")
    rows = flow.check_rows(column="measured_on", limit=1000)
    counts = ", ".join(f"{n} {reason}" for reason, n in rows.attrs["counts"].items() if n) or "none"
    print(f"   rows of 'measured_on' to look at ({counts}); one of each kind:")
    kinds: dict[str, str] = {}
    for _, r in rows.iterrows():
        kinds.setdefault(r["why"].split(";")[0], f"{r['measured']!r:>18} -> {r['output']!r}")
    for why, row in list(kinds.items())[:4]:
        print(f"     {row}   {why}")
    ds = flow.register("iris", workspace=ws)
    print(f"   registered dataset {ds.name}:{ds.version} ({len(flow.steps)} steps, recipe {ds.recipe_hash[:12]})")
    return flow
