"""The ByExample panel, driven headless through its widget models."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from aml_jupyter import dataprep as dp
from aml_jupyter.dataprep.trust import UnansweredRowsWarning
from aml_jupyter.widgets import ByExample


def test_typing_examples_updates_outputs_and_marks_doubt(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text("code\na-b-c\nx-y-z\np-q-r-s\n<img src=x onerror=alert(1)>-k\n")
    panel = ByExample(dp.read(path), source_columns=["code"], new_column="middle")
    assert panel.add_button.disabled
    panel.examples[0].value = "b"
    assert panel.program is not None
    assert [o.value.lstrip("? ") for o in panel.outputs][:2] == ["b", "y"]
    marked = [o for o in panel.outputs if o.value.startswith("? ")]
    assert marked and all(o.style.background for o in marked)
    assert "need a look" in panel.status.value and "1 get no answer" in panel.status.value
    assert "def transform" in panel.code.value
    # data is shown as text: the label holds the raw string, no HTML widget is used
    labels = [c for c in panel.widget.children[1].children if hasattr(c, "value")]
    assert any(getattr(c, "value", "") == "<img src=x onerror=alert(1)>-k" for c in labels)
    assert not any(type(c).__name__ == "HTML" for c in panel.widget.children[1].children)

    panel.add_button.click()
    assert panel.result is not None
    with pytest.warns(UnansweredRowsWarning, match="1 of 4 rows got no answer"):  # the <img ...>-k row
        assert panel.result.to_pandas()["middle"].tolist()[:2] == ["b", "y"]


def test_conflicting_examples_say_so_without_crashing() -> None:
    frame = pd.DataFrame({"name": ["Ada Lovelace", "Ada Lovelace", "Alan Turing"]})
    panel = ByExample(frame, source_columns=["name"])
    panel.examples[0].value = "Ada"
    panel.examples[1].value = "Lovelace"
    assert panel.program is None and "No program yet" in panel.status.value
    assert all(o.value == "" for o in panel.outputs)
    panel.examples[1].value = ""
    assert panel.program is not None and panel.outputs[2].value.lstrip("? ") == "Alan"
    assert panel.add_button.disabled  # a bare DataFrame has no recipe to add to


def test_split_panel_auto_and_by_one_row(tmp_path: Path) -> None:
    from aml_jupyter.widgets import SplitByExample

    path = tmp_path / "s.csv"
    path.write_text('supplier\nContoso Ltd. (1999 - 2004)\nFabrikam (2003)\n"<b>x</b> (2000 - 2001)"\n')
    panel = SplitByExample(dp.read(path), "supplier")
    panel.auto_button.click()
    assert [c.value for c in panel.fields[0]] == ["Contoso Ltd.", "1999", "2004"]
    row = [c for c in panel.grid.children if getattr(c, "value", "").endswith("Fabrikam (2003)")][0]
    assert row.value.startswith("? ") and row.tooltip == "2 of 3 fields"
    assert not any(type(c).__name__ == "HTML" for c in panel.grid.children)  # values are text
    panel.add_button.click()
    assert panel.result is not None and panel.result.steps[-1].kind == "split_delimited"

    panel = SplitByExample(dp.read(path), "supplier")
    panel.example.value = "Contoso Ltd. | 1999"
    assert panel.candidate is None or "Learned" in panel.status.value or "No split" in panel.status.value
    panel.example.value = "nope"
    assert panel.candidate is None and panel.add_button.disabled
