"""Prepare by example on a DataFrame in memory (dp.from_pandas, dp.from_dask): the same recipe as
over a file, the caller's frame untouched, code that starts from its variable, and a clear refusal
where its data would have to be in a file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from aml_jupyter import dataprep as dp
from aml_jupyter.errors import InvalidValue

ORDERS = pd.DataFrame(
    {
        "customer": ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"],
        "amount": ["$1,234.50", "$99.00", "$7.25", "$10,000.00"],
    }
)


def _recipe(frame: pd.DataFrame) -> dp.Flow:
    return dp.from_pandas(frame, "orders").derive_column_by_example(
        ["customer"], "last", [({"customer": "Ada Lovelace"}, "Lovelace"), ({"customer": "Alan Turing"}, "Turing")]
    )


def test_a_column_learned_on_a_frame_in_memory_leaves_the_frame_as_it_was() -> None:
    frame = ORDERS.copy()
    flow = _recipe(frame)
    out = flow.to_pandas()
    assert out["last"].tolist() == ["Lovelace", "Turing", "Hopper", "Dijkstra"]
    assert list(frame.columns) == ["customer", "amount"] and frame.equals(ORDERS)
    frame.loc[3, "customer"] = "Barbara Liskov"  # read again at every run, as a file would be
    assert flow.to_pandas()["last"].tolist()[-1] == "Liskov"


def test_its_code_starts_from_the_variable_and_gives_the_same_columns() -> None:
    flow = _recipe(ORDERS)
    code = flow.to_python()
    assert "df = orders.copy()" in code and "read_" not in code
    namespace: dict[str, object] = {"orders": ORDERS.copy()}
    exec(compile(code, "<recipe>", "exec"), namespace)
    assert namespace["df"]["last"].tolist() == flow.to_pandas()["last"].tolist()  # type: ignore[index]
    assert list(namespace["orders"].columns) == ["customer", "amount"]  # type: ignore[attr-defined]


def test_a_dask_frame_learns_on_its_first_rows_and_runs_per_partition() -> None:
    dd = pytest.importorskip("dask.dataframe")
    ddf = dd.from_pandas(ORDERS, npartitions=2)
    flow = dp.from_dask(ddf, "orders").derive_column_by_example(
        ["customer"], "first", [({"customer": "Ada Lovelace"}, "Ada"), ({"customer": "Alan Turing"}, "Alan")]
    )
    lazy = flow.to_dask()
    assert lazy.npartitions == 2 and lazy.compute()["first"].tolist() == ["Ada", "Alan", "Grace", "Edsger"]
    assert "df = orders.compute()" in flow.to_python()


def test_what_needs_its_data_in_a_file_says_how_and_changes_nothing(tmp_path: Path) -> None:
    flow = _recipe(ORDERS)
    for act, done in ((lambda: flow.save(tmp_path / "r.dprep"), "saved"), (lambda: flow.register("o"), "registered")):
        with pytest.raises(InvalidValue, match=rf"'orders' in memory cannot be {done}.*to_parquet"):
            act()
    assert not (tmp_path / "r.dprep").exists()
    data = flow.to_data()  # a recipe file naming such a source, written by hand, is refused on load
    (tmp_path / "hand.dprep").write_text(__import__("json").dumps(data))
    with pytest.raises(InvalidValue, match="reads a DataFrame held in memory"):
        dp.load(tmp_path / "hand.dprep")
    for bad, said in ((ORDERS["customer"], "needs a pandas DataFrame, not Series"), ([1, 2], "not list")):
        with pytest.raises(InvalidValue, match=said):
            dp.from_pandas(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="is not a Python name"):
        dp.from_pandas(ORDERS, "my orders")
    with pytest.raises(InvalidValue, match="from_dask needs a Dask DataFrame"):
        dp.from_dask(ORDERS)
