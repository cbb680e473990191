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


def test_a_dataset_that_runs_code_reads_for_its_registrant_or_with_trust(ws: Workspace) -> None:
    import sqlite3

    from aml_jupyter.errors import UntrustedCode, UntrustedDataset

    data = ws.root / "prices.csv"
    data.write_text("price,qty\n2,3\n5,1\n")
    dp.read(data).add_column_python("total", "df.price * df.qty").register("totals", workspace=ws)
    db = ws.root / "shop.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table orders (id integer)")
    dp.read_sql(f"sqlite:///{db}", table="orders").register("orders", workspace=ws)
    dp.read(data).register("plain", workspace=ws)
    assert dp.get_dataset("totals", workspace=ws).to_pandas()["total"].tolist() == [6, 5]
    other = "mallory"  # another user of the same workspace
    for name, why in (("totals", "Python expression"), ("orders", "reads from a database")):
        with pytest.raises(UntrustedDataset, match=f"registered by .* runs code when read .*{why}") as caught:
            dp.get_dataset(name, workspace=ws, user=other)
        assert isinstance(caught.value, UntrustedCode) and "'mallory'" in str(caught.value)
    assert dp.get_dataset("totals", workspace=ws, user=other, trust=True).to_pandas()["total"].tolist() == [6, 5]
    assert dp.get_dataset("plain", workspace=ws, user=other).to_pandas()["qty"].tolist() == [3, 1]  # no code


def test_a_job_script_that_reads_a_dataset_without_the_sdk_records_it_as_its_runs_input(ws: Workspace) -> None:
    # dataprep stands below the SDK and never imports it: a job's process that never loaded the
    # SDK still records what it read, against its run (AML_RUN_ID).
    import os
    import subprocess
    import sys

    (ws.root / "c.csv").write_text("a\n1\n")
    version = dp.read(ws.root / "c.csv").register("c", workspace=ws).version
    with aml.start_run("job", workspace=ws) as run:
        code = (
            "import sys; from aml_jupyter import dataprep as dp; dp.get_dataset('c').to_pandas(); "
            "assert 'aml_jupyter.tracking.fluent' not in sys.modules"
        )
        env = {**os.environ, "AML_RUN_ID": run.id, "AML_WORKSPACE": str(ws.root)}
        subprocess.run([sys.executable, "-c", code], env=env, cwd=ws.root, check=True)
    assert [i["uri"] for i in aml.get_run(run.id, workspace=ws).info.inputs] == [f"dataset:c:{version}"]
