"""Auto-split (no examples) and split by one example row at its delimiters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aml_jupyter import dataprep as dp
from aml_jupyter.dataprep.autosplit import Splitter, infer
from aml_jupyter.errors import InvalidValue, NoProgramFound

SUPPLIERS = """supplier,contact
Contoso Ltd. (1999 - 2004),"Smith, Ada"
Northwind Traders (2001 - 2010),"Lee, Bob"
Fabrikam (2003),"Wong, Alice"
Wide World Importers (2000 - 2001),"Hu, Fay"
"""


@pytest.fixture()
def suppliers(tmp_path: Path) -> Path:
    path = tmp_path / "suppliers.csv"
    path.write_text(SUPPLIERS)
    return path


@pytest.mark.filterwarnings("ignore::aml_jupyter.dataprep.trust.UnansweredRowsWarning")
def test_split_column_finds_the_fields(suppliers: Path, tmp_path: Path) -> None:
    flow = dp.read(suppliers).split_column("supplier", ["name", "since", "until"])
    frame = flow.to_pandas()
    assert frame.iloc[0][["name", "since", "until"]].tolist() == ["Contoso Ltd.", "1999", "2004"]
    assert frame.iloc[2][["name", "since"]].tolist() == ["Fabrikam", "2003"] and frame.iloc[2].isna()["until"]
    rows = flow.check_rows()
    assert rows["supplier"].tolist() == ["Fabrikam (2003)"] and rows["why"].iloc[0] == "2 of 3 fields"
    assert "split 'supplier' at '(' ')' '-'" in flow.describe()
    flow.save(tmp_path / "s.dprep")
    assert dp.load(tmp_path / "s.dprep").to_pandas().equals(frame)
    namespace: dict[str, object] = {}
    exec(flow.to_python(), namespace)  # noqa: S102 - our own generated code
    assert namespace["df"]["until"].tolist() == frame["until"].tolist()  # type: ignore[index]


def test_quotes_trailing_fields_and_the_rest() -> None:
    s = infer(['a,"b, c",d', "e,f", "g,h,i"])
    assert (s.delimiters, s.width) == (",", 3)
    assert s.split('a,"b, c",d') == ["a", "b, c", "d"]
    assert s.split("e,f") == ["e", "f", None]
    assert s.split("j,k,l,m") == ["j", "k", "l,m"]  # more fields than columns: nothing is lost
    assert Splitter("()-", 3).split("(555) 123-4567") == ["555", "123", "4567"]
    assert infer(["2024-03-05 10:00", "2024-03-06 11:30"]).split("2024-03-05 10:00") == ["2024", "03", "05", "10", "00"]
    assert infer(["john smith", "mary ann jones"]).delimiters == " "


def test_nothing_to_split_is_said() -> None:
    with pytest.raises(NoProgramFound, match="no delimiter splits most"):
        infer(["alpha", "beta", "gamma"])
    with pytest.raises(NoProgramFound, match="no values"):
        infer([None, ""])


def test_bad_names_and_columns(suppliers: Path) -> None:
    flow = dp.read(suppliers)
    with pytest.raises(InvalidValue, match="no column"):
        flow.split_column("nope")
    with pytest.raises(InvalidValue, match="3 fields but 2 names"):
        flow.split_column("supplier", ["a", "b"])
    with pytest.raises(InvalidValue, match="new and distinct"):
        flow.split_column("supplier", ["contact", "b", "c"])


def test_split_by_one_example_row_respects_its_delimiters(suppliers: Path, tmp_path: Path) -> None:
    flow = dp.read(suppliers).split_column_by_example("contact", [("Smith, Ada", ["Smith", "Ada"])], ["last", "first"])
    assert flow.to_pandas()[["last", "first"]].values.tolist()[1:3] == [["Lee", "Bob"], ["Wong", "Alice"]]
    flow.save(tmp_path / "s.dprep")
    data = json.loads((tmp_path / "s.dprep").read_text())
    assert data["steps"][0]["kind"] == "split_delimited"
    data["steps"][0]["delimiters"] = "a"  # only delimiter characters load
    (tmp_path / "bad.dprep").write_text(json.dumps(data))
    with pytest.raises(InvalidValue, match="delimiters"):
        dp.load(tmp_path / "bad.dprep")
    # Parts that are not cut at delimiters are still learned part by part.
    flow = dp.read(suppliers).split_column_by_example("supplier", [("Fabrikam (2003)", ["Fab", "2003"])])
    assert flow.steps[-1].kind == "split_by_example"
