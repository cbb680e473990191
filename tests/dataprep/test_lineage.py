"""Registered datasets: versions, and the runs that read them."""

from __future__ import annotations

import pytest

import aml_jupyter as aml
from aml_jupyter import dataprep as dp
from aml_jupyter.errors import DatasetNotFound
from aml_jupyter.workspace import Workspace


def test_register_version_and_lineage(ws: Workspace) -> None:
    data = ws.root / "customers.csv"
    data.write_text("first,last\nAda,Lovelace\nalan,turing\n")
    flow = dp.read(data).derive_column_by_example(["first"], "upper", [({"first": "alan"}, "ALAN")])
    first = flow.register("customers", workspace=ws)
    assert first.version == 1
    assert flow.register("customers", workspace=ws).version == 1  # nothing changed
    data.write_text("first,last\nAda,Lovelace\nalan,turing\ngrace,hopper\n")
    assert flow.register("customers", workspace=ws).version == 2  # the source changed
    assert flow.keep_columns(["upper"]).register("customers", workspace=ws).version == 3  # the recipe changed
    assert [d["version"] for d in dp.list_datasets(workspace=ws)] == [1, 2, 3]

    with aml.start_run("prep", workspace=ws) as run:
        df = dp.get_dataset("customers", version=2, workspace=ws).to_pandas()
    assert df["upper"].tolist() == ["ADA", "ALAN", "GRACE"]
    inputs = aml.get_run(run.id, workspace=ws).info.inputs
    assert inputs == [
        {
            "kind": "dataset",
            "name": "customers",
            "uri": "dataset:customers:2",
            "digest": dp.get_dataset("customers", 2, workspace=ws).digest,
            "role": "input",
        }
    ]
    assert dp.get_dataset("customers", workspace=ws).version == 3
    with pytest.raises(DatasetNotFound):
        dp.get_dataset("customers", version=9, workspace=ws)
    with pytest.raises(DatasetNotFound):
        dp.get_dataset("nothing", workspace=ws)
