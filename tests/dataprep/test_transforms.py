"""The plain recipe steps, on pandas, on Dask, through save/load and through the pandas export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from aml_jupyter import dataprep as dp
from aml_jupyter.errors import InvalidValue

ORDERS = """id,city,amount,paid,day
1,Paris,10.5,yes,2026-01-02
2,paris,n/a,no,2026-01-03
3,Berlin,7,yes,bad date
3,Berlin,7,yes,bad date
4,,3,maybe,2026-02-01
"""


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    return path


def _recipe(orders: Path) -> dp.Flow:
    return (
        dp.read(orders)
        .drop_duplicates()
        .replace_values("city", "paris", "Paris")
        .fill_missing("city", "unknown")
        .convert("amount", "number")
        .convert("paid", "boolean")
        .convert("day", "date", format="%Y-%m-%d")
        .add_column_python("double", "df.amount * 2")
        .filter(("amount", ">", 3), ("city", "notnull", None))
        .sort(["amount"], descending=True)
    )


def test_plain_steps(orders: Path, tmp_path: Path) -> None:
    flow = _recipe(orders)
    df = flow.to_pandas().reset_index(drop=True)
    assert df["id"].tolist() == [1, 3]
    assert df["city"].tolist() == ["Paris", "Berlin"]
    assert df["paid"].tolist() == [True, True]
    assert df["day"].iloc[0] == pd.Timestamp("2026-01-02") and pd.isna(df["day"].iloc[1])
    assert df["double"].tolist() == [21.0, 14.0]

    saved = tmp_path / "orders.dprep"
    flow.save(saved)
    with pytest.raises(InvalidValue, match="trust=True"):
        dp.load(saved)
    pd.testing.assert_frame_equal(dp.load(saved, trust=True).to_pandas().reset_index(drop=True), df)

    namespace: dict = {}  # type: ignore[type-arg]
    exec(flow.to_python(), namespace)  # noqa: S102 - the recipe's own export
    pd.testing.assert_frame_equal(namespace["df"].reset_index(drop=True), df, check_dtype=False)


def test_summarize_on_pandas_and_dask(orders: Path) -> None:
    flow = dp.read(orders).convert("amount", "number").summarize(["city"], {"amount": "sum", "id": "count"})
    df = flow.to_pandas()
    assert dict(zip(df["city"].fillna("?"), df["amount"], strict=True)) == {
        "Berlin": 14.0,
        "Paris": 10.5,
        "paris": 0.0,
        "?": 3.0,
    }
    per_row = dp.read(orders).convert("amount", "number").filter(("amount", ">=", 7))
    pd.testing.assert_frame_equal(
        per_row.to_dask().compute().reset_index(drop=True),
        per_row.to_pandas().reset_index(drop=True),
        check_dtype=False,
    )


def test_bad_steps(orders: Path) -> None:
    flow = dp.read(orders)
    with pytest.raises(InvalidValue):
        flow.filter(("amount", "~=", 3))
    with pytest.raises(InvalidValue):
        flow.convert("amount", "complex")
    with pytest.raises(InvalidValue):
        flow.summarize(["city"], {"amount": "explode"})
    with pytest.raises(InvalidValue, match="no column"):
        flow.sort(["nope"]).to_pandas()


def test_join_with_suggested_keys(orders: Path, tmp_path: Path) -> None:
    cities = tmp_path / "cities.csv"
    cities.write_text("name,country\nParis,FR\nBerlin,DE\n")
    flow = dp.read(orders).drop_duplicates().join(dp.read(cities))
    df = flow.to_pandas()
    assert df.set_index("id")["country"].to_dict()[1] == "FR" and df.set_index("id")["country"].to_dict()[3] == "DE"
    saved = tmp_path / "joined.dprep"
    flow.save(saved)
    pd.testing.assert_frame_equal(dp.load(saved).to_pandas(), df)
    namespace: dict = {}  # type: ignore[type-arg]
    exec(flow.to_python(), namespace)  # noqa: S102 - the recipe's own export
    pd.testing.assert_frame_equal(namespace["df"].reset_index(drop=True), df.reset_index(drop=True), check_dtype=False)
    with pytest.raises(InvalidValue, match="no clear join key"):
        dp.read(orders).join(dp.read(tmp_path / "cities.csv").keep_columns(["country"]))
