"""Recipes: read, derive and split by example, check rows, pandas and Dask, save/load, export, profile."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from aml_jupyter import dataprep as dp
from aml_jupyter.errors import InvalidPath, InvalidValue, NoProgramFound

CUSTOMERS = """first,last,address,joined
Ada,Lovelace,"1 Main St, Springfield, IL",1815
alan,turing,"22 Elm Rd, Wilmslow, CH",1912
Grace,Hopper,"7 Navy Way, Arlington, VA",1906
edsger,dijkstra,"5 Oak Ln, Nuenen, NB",1930
,Nobody,,
"""


@pytest.fixture
def customers(tmp_path: Path) -> Path:
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMERS)
    return path


def _initials(flow: dp.Flow) -> dp.Flow:
    return flow.derive_column_by_example(
        source_columns=["first", "last"],
        new_column="initials",
        examples=[({"first": "Ada", "last": "Lovelace"}, "A.L."), ({"first": "alan", "last": "turing"}, "A.T.")],
    )


def _split(flow: dp.Flow) -> dp.Flow:
    return flow.split_column_by_example(
        "address", examples=[("1 Main St, Springfield, IL", ["1 Main St", "Springfield", "IL"])]
    )


def test_the_issue_tour(customers: Path, tmp_path: Path) -> None:
    flow = _split(_initials(dp.read(customers)))
    df = flow.to_pandas()
    assert df["initials"].tolist()[:4] == ["A.L.", "A.T.", "G.H.", "E.D."]
    assert pd.isna(df["initials"].iloc[4])  # missing in, missing out
    assert df["address_2"].tolist()[:4] == ["Springfield", "Wilmslow", "Arlington", "Nuenen"]
    assert df["address_3"].tolist()[:4] == ["IL", "CH", "VA", "NB"]
    assert df["address_1"].tolist()[:4] == ["1 Main St", "22 Elm Rd", "7 Navy Way", "5 Oak Ln"]

    dask_df = flow.to_dask().compute()
    pd.testing.assert_frame_equal(dask_df.reset_index(drop=True), df, check_dtype=False)

    saved = tmp_path / "customers.dprep"
    flow.save(saved)
    data = json.loads(saved.read_text())
    assert data["format"] == "aml-dprep" and data["version"] == 3
    pd.testing.assert_frame_equal(dp.load(saved).to_pandas(), df)

    namespace: dict = {}  # type: ignore[type-arg]
    exec(flow.to_python(), namespace)  # noqa: S102 - the recipe's own export
    pd.testing.assert_frame_equal(namespace["df"].reset_index(drop=True), df, check_dtype=False)

    profile = flow.profile()
    by_name = {c["column"]: c for c in profile.columns}
    assert by_name["first"]["missing"] == 1 and by_name["joined"]["max"] == 1930.0
    assert "histogram" in by_name["joined"]
    assert "<script>" not in profile._repr_html_()


def test_check_rows_shows_where_programs_disagree(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text("code\na-b-c\nx-y-z\np-q-r-s\n")
    flow = dp.read(path).derive_column_by_example(["code"], "middle", [({"code": "a-b-c"}, "b")])
    rows = flow.check_rows()
    assert "p-q-r-s" in rows["code"].tolist()
    assert list(rows.columns) == ["code", "output", "reason", "why", "alternatives"]
    assert rows.set_index("code").loc["p-q-r-s", "reason"] == "shape"


def test_detection(tmp_path: Path) -> None:
    tsv = tmp_path / "x.tsv"
    tsv.write_text("name\tcity\nAda\tLondon\n")
    assert dp.read(tsv).to_pandas().columns.tolist() == ["name", "city"]
    semi = tmp_path / "y.csv"
    semi.write_text("1;2\n3;4\n")
    assert dp.read(semi).to_pandas().columns.tolist() == ["column1", "column2"]
    latin = tmp_path / "z.csv"
    latin.write_bytes("name,city\nRen\xe9,K\xf6ln\n".encode("cp1252"))
    assert dp.read(latin).to_pandas()["city"].tolist() == ["Köln"]
    pq = tmp_path / "p.parquet"
    pd.DataFrame({"a": [1, 2]}).to_parquet(pq)
    assert dp.read(pq).to_pandas()["a"].tolist() == [1, 2]
    jl = tmp_path / "j.jsonl"
    jl.write_text('{"a": 1}\n{"a": 2}\n')
    assert dp.read(jl).to_pandas()["a"].tolist() == [1, 2]
    for i in range(2):
        (tmp_path / f"part{i}.csv").write_text(f"a,b\n{i},x\n")
    assert dp.read(str(tmp_path / "part*.csv")).to_pandas()["a"].tolist() == [0, 1]
    assert len(dp.read(tmp_path / "part0.csv", sample=1).to_pandas()) == 1


def test_bad_input(customers: Path, tmp_path: Path) -> None:
    flow = dp.read(customers)
    with pytest.raises(InvalidValue, match="not a row"):
        flow.derive_column_by_example(["first", "last"], "x", [({"first": "Zed", "last": "Nobody"}, "Z")])
    with pytest.raises(InvalidValue):
        flow.derive_column_by_example(["first"], "x", [])
    with pytest.raises(InvalidValue, match="no column"):
        flow.derive_column_by_example(["nope"], "x", [({"nope": "a"}, "a")])
    with pytest.raises(InvalidValue, match="exists"):
        flow.derive_column_by_example(["first"], "last", [({"first": "Ada"}, "A")])
    with pytest.raises(NoProgramFound, match="two outputs"):
        flow.derive_column_by_example(["first"], "x", [({"first": "Ada"}, "A"), ({"first": "Ada"}, "B")])
    with pytest.raises(InvalidValue, match="same, non-zero number"):
        flow.split_column_by_example("address", [("a, b", ["a", "b"]), ("c, d, e", ["c", "d", "e"])])
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(InvalidValue, match="line 3"):
        dp.read(ragged).to_pandas()
    with pytest.raises(InvalidPath):
        dp.read(tmp_path / "missing.csv")
    with pytest.raises(InvalidValue):
        dp.read(customers, sample=0)


def test_bad_recipe_files(customers: Path, tmp_path: Path) -> None:
    path = tmp_path / "r.dprep"
    _initials(dp.read(customers)).save(path)
    data = json.loads(path.read_text())
    for broken, match in [
        ("{not json", "not a valid recipe"),
        (json.dumps({**data, "version": 99}), "newer"),
        (json.dumps({**data, "format": "other"}), "not an aml_jupyter recipe"),
        (
            json.dumps({**data, "steps": [{"kind": "python_expression", "new_column": "x", "expression": "1"}]}),
            "trust=True",
        ),
        (json.dumps({**data, "steps": [{"kind": "shell", "command": "id"}]}), "unknown recipe step"),
        (json.dumps({**data, "steps": [{"kind": "filter", "conditions": [["a", "rm -rf", 1]]}]}), "filter condition"),
        (json.dumps({**data, "steps": [{"kind": "derive_by_example"}]}), "malformed"),
    ]:
        path.write_text(broken)
        with pytest.raises(InvalidValue, match=match):
            dp.load(path)


def test_a_loaded_recipe_cannot_smuggle_code_or_sql(customers: Path, tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "r.dprep"
    _initials(dp.read(customers)).save(path)
    data = json.loads(path.read_text())
    payload = "1); import os; os.system('touch PWNED'); (1"
    for source, match in [
        ({**data["source"], "sample": payload}, "'sample' must be int"),
        ({**data["source"], "delimiter": 7}, "'delimiter' must be str"),
        ({**data["source"], "header": "yes"}, "'header' must be bool"),
        ({**data["source"], "exec": "id"}, "unknown field 'exec'"),
        ({**data["source"], "sample": True}, "'sample' must be int"),
    ]:
        path.write_text(json.dumps({**data, "source": source}))
        with pytest.raises(InvalidValue, match=match):
            dp.load(path, trust=True)
    assert not (tmp_path / "PWNED").exists()

    store = tmp_path / "store.db"
    sqlite3.connect(store).close()
    copy = tmp_path / "copied.db"
    evil = {
        "path": f"sqlite:///{store}",
        "format": "sql",
        "url": f"sqlite:///{store}",
        "query": f"VACUUM INTO '{copy}'",
        "table": None,
        "sample": None,
    }
    path.write_text(json.dumps({**data, "source": evil, "steps": []}))
    with pytest.raises(InvalidValue, match="trust=True"):
        dp.load(path)
    assert not copy.exists()
    evil_table = {**evil, "query": None, "table": "t; drop table t"}
    path.write_text(json.dumps({**data, "source": evil_table, "steps": []}))
    with pytest.raises(InvalidValue, match="not a table name"):
        dp.load(path, trust=True)


def test_crafted_program_data_is_refused_on_load(customers: Path, tmp_path: Path) -> None:
    path = tmp_path / "r.dprep"
    _initials(dp.read(customers)).save(path)
    data = json.loads(path.read_text())
    good = data["steps"][0]["program"]
    piece = {"col": 0, "start": ["abs", 0], "end": ["abs", 1], "case": None}
    for program, match in [
        ({**good, "pieces": [{**piece, "col": 9}]}, "bad piece"),
        ({**good, "pieces": [{**piece, "start": ["tok", "Nope", None, 1]}]}, "unknown token 'Nope'"),
        ({**good, "pieces": [{**piece, "start": ["tok", "Digits", None, True]}]}, "bad position"),
        ({**good, "pieces": [{"const": 7}]}, "bad piece"),
        ({"columns": 2, "branches": [{"test": "x", "pieces": []}]}, "bad branch"),
        (
            {
                "columns": 2,
                "branches": [{"test": {"col": 0, "token": "9", "negate": False, "kind": "has_column"}, "pieces": []}],
            },
            "bad test",
        ),
        ({"columns": -1, "pieces": []}, "'columns'"),
    ]:
        data["steps"][0]["program"] = program
        path.write_text(json.dumps(data))
        with pytest.raises(InvalidValue, match=match):
            dp.load(path)


def test_sql_excel_and_url_sources(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "shop.db"
    con = sqlite3.connect(db)
    con.execute("create table orders (id integer, email text)")
    con.executemany("insert into orders values (?, ?)", [(1, "ada@math.org"), (2, "alan@bletchley.uk")])
    con.commit()
    con.close()
    flow = dp.read_sql(f"sqlite:///{db}", table="orders").derive_column_by_example(
        ["email"], "domain", [({"email": "ada@math.org"}, "math.org")]
    )
    assert flow.to_pandas()["domain"].tolist() == ["math.org", "bletchley.uk"]
    namespace: dict = {}  # type: ignore[type-arg]
    exec(flow.to_python(), namespace)  # noqa: S102 - the recipe's own export
    assert namespace["df"]["domain"].tolist() == ["math.org", "bletchley.uk"]

    secret = dp.read_sql("postgresql://ada:s3cret@db.example/sales", query="select 1")
    saved = tmp_path / "sql.dprep"
    secret.save(saved)
    assert "s3cret" not in saved.read_text() and "postgresql://ada@db.example/sales" in saved.read_text()
    with pytest.raises(InvalidValue):
        dp.read_sql(f"sqlite:///{db}", table="orders; drop table orders")

    xlsx = tmp_path / "people.xlsx"
    pd.DataFrame({"name": ["Ada Lovelace", "Alan Turing"]}).to_excel(xlsx, index=False)
    people = dp.read(xlsx).derive_column_by_example(["name"], "last", [({"name": "Ada Lovelace"}, "Lovelace")])
    assert people.to_pandas()["last"].tolist() == ["Lovelace", "Turing"]

    import fsspec

    with fsspec.open("memory://bucket/people.csv", "w") as f:
        f.write("name\nAda Lovelace\nAlan Turing\n")
    assert dp.read("memory://bucket/people.csv").to_pandas()["name"].tolist() == ["Ada Lovelace", "Alan Turing"]
    for url in ("ftp://x/y.csv", "gopher://x"):
        with pytest.raises(InvalidPath, match="not allowed"):
            dp.read(url)
    with pytest.raises(InvalidPath, match="link-local"):  # http(s) is read, from public hosts only
        dp.read("http://169.254.169.254/latest/meta-data/")


def test_profile_on_dask_matches_pandas(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "x": rng.normal(10, 2, 500).round(3),
            "n": rng.integers(0, 7, 500),
            "s": rng.choice(["a", "b", "c", None], 500),
            "k": [5.0] * 500,
        }
    )
    frame.loc[::7, "x"] = np.nan
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    flow = dp.read(str(path))
    on_pandas = {c["column"]: c for c in flow.profile().columns}
    on_dask = {c["column"]: c for c in flow.profile(engine="dask").columns}
    assert set(on_pandas) == set(on_dask)
    for name, expected in on_pandas.items():
        got = on_dask[name]
        for key in ("count", "missing", "distinct", "min", "max"):
            assert got.get(key) == expected.get(key), (name, key)
        assert sorted(got["top"]) == sorted(expected["top"]) or [v for _, v in got["top"]] == [
            v for _, v in expected["top"]
        ]
        if "mean" in expected:
            assert got["mean"] == pytest.approx(expected["mean"])
            assert got["histogram"]["counts"] == expected["histogram"]["counts"]
            assert got["histogram"]["edges"] == pytest.approx(expected["histogram"]["edges"])
    with pytest.raises(InvalidValue, match="engine must be"):
        flow.profile(engine="spark")
