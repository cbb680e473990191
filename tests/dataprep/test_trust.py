"""Never silently wrong, never silently empty: the rows check_rows() lists, the warnings, lookups."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

from aml_jupyter import dataprep as dp
from aml_jupyter.dataprep import synth
from aml_jupyter.dataprep.trust import UnansweredRowsWarning
from aml_jupyter.errors import InvalidValue, NoProgramFound

CUSTOMERS = """name,joined,code,amount
john smith,2024-03-05,NY,1234.5
Mary Ann Jones,5 Mar 2024,MA,99
bob lee,03/07/2024,TX,12.25
ALICE WONG,2024-04-01,CA,7
carl o'neil,soon,NY,1000000
dana white,2024-05-06,MA,3.5
ed green,2024/06/07,TX,42
fay hu,2024-07-08,CA,8
gil ray,,UT,
hal kim,2024-08-09,NY,0.5
ivy li,2024-09-10,MA,16
jon doe,20241011,TX,77
"""


@pytest.fixture()
def customers(tmp_path: Path) -> Path:
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMERS)
    return path


def test_rows_with_no_answer_are_listed_with_the_reason_and_warned(customers: Path) -> None:
    flow = dp.read(customers).derive_column_by_example(["joined"], "day", [({"joined": "2024-03-05"}, "05.03.2024")])
    rows = flow.check_rows()
    soon = rows.set_index("joined").loc["soon"]
    assert soon["reason"] == "no answer" and "does not read as a date" in soon["why"]
    assert rows["reason"].iloc[0] == "no answer"  # the most serious first
    assert rows.attrs["counts"]["no answer"] == 1
    assert "" not in rows["joined"].tolist()  # a missing input is not a finding
    with pytest.warns(UnansweredRowsWarning, match="1 of 11 rows got no answer"):
        frame = flow.to_pandas()
    assert frame["day"].isna().sum() == 2  # 'soon' and the missing date, never a guess
    with pytest.warns(UnansweredRowsWarning, match="in a sample"):
        flow.to_dask()


def test_rows_unlike_every_example_are_flagged_even_when_answered(customers: Path) -> None:
    flow = dp.read(customers).derive_column_by_example(["name"], "short", [({"name": "john smith"}, "Smith, J.")])
    out = flow.to_pandas()["short"].tolist()
    assert out[0] == "Smith, J." and out[2] == "Lee, B."  # the initial is read, not a constant ", J."
    rows = flow.check_rows().set_index("name")
    assert rows.loc["Mary Ann Jones", "reason"] == "shape"
    assert "carl o'neil" in rows.index  # the apostrophe is a shape no example has
    assert "bob lee" not in rows.index


def test_adding_an_example_keeps_wrong_rows_of_another_shape_flagged(customers: Path) -> None:
    one = dp.read(customers).derive_column_by_example(["joined"], "d", [({"joined": "2024-03-05"}, "2024")])
    flagged = set(one.check_rows()["joined"])
    two = dp.read(customers).derive_column_by_example(
        ["joined"], "d", [({"joined": "2024-03-05"}, "2024"), ({"joined": "2024-05-06"}, "2024")]
    )
    assert flagged <= set(two.check_rows()["joined"])


def test_a_day_month_order_no_row_decides_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("d\n01/01/2017\n03/04/2017\n05/06/2018\n")
    flow = dp.read(path).derive_column_by_example(["d"], "iso", [({"d": "01/01/2017"}, "Jan 1, 2017")])
    rows = flow.check_rows().set_index("d")
    assert rows.loc["03/04/2017", "reason"] == "date order"
    assert "no example or row decides" in rows.loc["03/04/2017", "why"]
    path.write_text("d\n01/01/2017\n03/04/2017\n25/06/2018\n")  # a day above 12 decides: day first
    flow = dp.read(path).derive_column_by_example(["d"], "iso", [({"d": "01/01/2017"}, "Jan 1, 2017")])
    assert flow.to_pandas()["iso"].tolist() == ["Jan 1, 2017", "Apr 3, 2017", "Jun 25, 2018"]
    assert "date order" not in set(flow.check_rows()["reason"])


@pytest.mark.filterwarnings("ignore::aml_jupyter.dataprep.trust.UnansweredRowsWarning")
def test_a_lookup_the_data_implies(customers: Path, tmp_path: Path) -> None:
    flow = dp.read(customers).derive_column_by_example(
        ["code"], "state", [({"code": "NY"}, "New York"), ({"code": "TX"}, "Texas"), ({"code": "MA"}, "Massachusetts")]
    )
    assert flow.to_pandas()["state"].tolist()[:3] == ["New York", "Massachusetts", "Texas"]
    words = flow.describe()
    assert "a lookup of 3 values" in words and "3 rows have values it has not seen" in words
    rows = flow.check_rows()
    assert set(rows["code"]) == {"CA", "UT"} and set(rows["reason"]) == {"no answer"}
    flow.save(tmp_path / "r.dprep")
    again = dp.load(tmp_path / "r.dprep")
    assert again.to_pandas()["state"].equals(flow.to_pandas()["state"])
    namespace: dict[str, object] = {}
    exec(flow.to_python(), namespace)  # noqa: S102 - our own generated code
    assert namespace["df"]["state"].tolist() == flow.to_pandas()["state"].tolist()  # type: ignore[index]


def test_free_text_is_no_lookup() -> None:
    rows = [[f"item {n}"] for n in range(40)]
    with pytest.raises(NoProgramFound):
        synth.learn([(["item 1"], "red"), (["item 2"], "blue")], unlabeled=rows)


def test_a_crafted_lookup_is_refused(customers: Path, tmp_path: Path) -> None:
    flow = dp.read(customers).derive_column_by_example(
        ["code"], "state", [({"code": "NY"}, "New York"), ({"code": "TX"}, "Texas")]
    )
    flow.save(tmp_path / "r.dprep")
    data = json.loads((tmp_path / "r.dprep").read_text())
    for bad in ([[["NY", "x"], "New York"]], [[["NY"], 3]], [], [[["NY"], "a"], [["NY"], "b"]], "NY"):
        data["steps"][0]["program"]["lookup"] = bad
        (tmp_path / "bad.dprep").write_text(json.dumps(data))
        with pytest.raises(InvalidValue):
            dp.load(tmp_path / "bad.dprep")
    data["steps"][0]["program"] = {"columns": 1, "pieces": [{"col": 0, "case": ["exec", "os.system"]}]}
    (tmp_path / "bad.dprep").write_text(json.dumps(data))
    with pytest.raises(InvalidValue, match="unknown format"):
        dp.load(tmp_path / "bad.dprep")


def test_non_ascii_digits_and_spaces() -> None:
    p = synth.learn([(["١٢٣٤٫٥"], "1234.50")])  # Arabic-Indic digits and decimal mark
    assert p.apply(["٧٫٢٥"]) == "7.25"
    p = synth.learn([(["5\u00a0Mar\u00a02024"], "2024-03-05")])  # no-break spaces
    assert p.apply(["7\u00a0Apr\u00a02023"]) == "2023-04-07"


def test_the_budget_holds_on_a_large_column() -> None:
    rows = [[f"{d % 28 + 1:02d}/{d % 12 + 1:02d}/{1990 + d % 30} {d % 24:02d}:{d % 60:02d}"] for d in range(100_000)]
    start = time.monotonic()
    try:
        program = synth.learn([([rows[5][0]], "Q2 1995")], unlabeled=rows, timeout=2.0)
    except NoProgramFound:
        program = None
    assert time.monotonic() - start < 2.5
    if program is not None:
        assert len(program.apply_column([[r[0] for r in rows]])) == 100_000


def test_contradictory_examples_are_named(customers: Path) -> None:
    with pytest.raises(NoProgramFound, match="examples 0 and 1"):
        dp.read(customers).derive_column_by_example(
            ["code"], "state", [({"code": "NY"}, "New York"), ({"code": "NY"}, "Nevada")]
        )


def test_the_widget_counts_rows_to_look_at() -> None:
    from aml_jupyter.widgets.by_example import ByExample

    frame = pd.read_csv(pd.io.common.StringIO(CUSTOMERS))
    panel = ByExample(frame, ["joined"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        panel.examples[0].value = "05.03.2024"
    assert "1 get no answer" in panel.status.value
    assert panel.outputs[4].value.startswith("? ")  # 'soon'


def test_recipes_of_earlier_formats_still_load(customers: Path, tmp_path: Path) -> None:
    old = {
        "format": "aml-dprep",
        "version": 1,  # a fixed date format from the first table
        "source": dp.read(customers).source,
        "steps": [
            {
                "kind": "derive_by_example",
                "source_columns": ["joined"],
                "new_column": "uk",
                "examples": [[{"joined": "2024-03-05"}, "05/03/2024"]],
                "program": {
                    "columns": 1,
                    "pieces": [
                        {"col": 0, "start": ["abs", 0], "end": ["abs", -1], "case": ["date", "%Y-%m-%d", "%d/%m/%Y"]}
                    ],
                },
            }
        ],
    }
    (tmp_path / "v1.dprep").write_text(json.dumps(old))
    with pytest.warns(UnansweredRowsWarning):  # the rows in other layouts: format 1 reads one layout
        assert dp.load(tmp_path / "v1.dprep").to_pandas()["uk"].tolist()[0] == "05/03/2024"
    flow = dp.read(customers).derive_column_by_example(["joined"], "day", [({"joined": "2024-03-05"}, "05.03.2024")])
    data = {**flow.to_data(), "version": 2}  # format 2: dates as values, no lookups yet
    (tmp_path / "v2.dprep").write_text(json.dumps(data))
    with pytest.warns(UnansweredRowsWarning):
        assert dp.load(tmp_path / "v2.dprep").to_pandas()["day"].tolist()[:2] == ["05.03.2024", "05.03.2024"]
