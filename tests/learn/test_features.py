"""The featurizer: kinds, what each column becomes, and the bad tables it must survive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aml_jupyter.errors import InvalidValue
from aml_jupyter.learn import train_classifier
from aml_jupyter.learn.features import Featurizer

from .data import churn


def test_each_column_kind_and_what_it_became() -> None:
    df = churn(400).drop(columns=["churned"])
    df["empty"] = None
    df["same"] = 7
    df["story"] = [f"the customer number {i} wrote a long complaint" for i in range(len(df))]
    f = Featurizer().fit(df)
    kinds = {c["column"]: c["kind"] for c in f.report()}
    assert kinds == {"age": "number", "plan": "category", "city": "many", "joined": "date", "note": "category",
                     "spend": "number", "empty": "empty", "same": "constant", "story": "text"}  # fmt: skip
    became = {c["column"]: c["became"] for c in f.report()}
    assert became["empty"] == "dropped: no values" and became["same"] == "dropped: one value in every row"
    assert became["city"].startswith("share of rows + 16 hashed columns")
    X = f.transform(df)
    assert X.shape == (400, len(f.get_feature_names_out())) and X.dtype == np.float32
    assert np.isfinite(X).all()


def test_nothing_to_learn_from_is_refused() -> None:
    with pytest.raises(InvalidValue, match="each is empty or constant"):
        Featurizer().fit(pd.DataFrame({"a": [None, None], "b": [1, 1]}))


def test_ten_thousand_categories_stay_narrow() -> None:
    n = 20_000
    df = pd.DataFrame({"code": [f"c{i % 10_000}" for i in range(n)], "x": np.arange(n) % 7})
    f = Featurizer().fit(df)
    assert f.report()[0]["kind"] == "many" and f.report()[0]["features"] == 17
    assert f.transform(df).shape == (n, 17 + 1)


def test_unseen_category_goes_to_other() -> None:
    f = Featurizer().fit(pd.DataFrame({"c": ["a", "b", "a"], "x": [1.0, 2.0, 3.0]}))
    row = f.transform(pd.DataFrame({"c": ["zzz"], "x": [2.0]}))[0]
    names = list(f.get_feature_names_out())
    assert row[names.index("c:other")] == 1.0 and row[names.index("c=a")] == 0.0


def test_bad_values_are_counted_not_dropped() -> None:
    values = [str(i) for i in range(99)] + ["n/a"]
    f = Featurizer().fit(pd.DataFrame({"n": values}))
    (col,) = f.report()
    assert col["kind"] == "number" and col["unreadable"] == 1 and "missing flag" in col["became"]
    assert f.transform(pd.DataFrame({"n": values})).shape[0] == 100


def test_missing_training_columns_are_named() -> None:
    df = churn(200)
    model = train_classifier(df, label="churned", model="logreg")
    with pytest.raises(InvalidValue, match=r"lacks 2 columns the model was trained on: plan, spend"):
        model.predict(df.drop(columns=["plan", "spend"]))


def test_for_trees_codes_and_missing_values_kept() -> None:
    df = pd.DataFrame(
        {"x": [1.0, None, 3.0, 4.0], "c": ["a", "b", "a", None], "d": ["2024-01-02", "2024-02-03", "2024-03-04", None]}
    )
    f = Featurizer(encoding="ordinal").fit(df)
    assert [c["became"] for c in f.report()] == [
        "number, missing kept (for trees)",
        "code by frequency over 2 values (for trees)",
        "year, month, day, weekday, days since 1970",  # no hour: no value has a time
    ]
    X = f.transform(pd.DataFrame({"x": [None], "c": ["zzz"], "d": ["2024-01-02"]}))
    assert np.isnan(X[0, 0]) and X[0, 1] == 2.0  # unseen: one past the last code
    with pytest.raises(InvalidValue, match="encoding must be onehot or ordinal"):
        Featurizer(encoding="target")


def test_a_date_column_does_not_blind_a_linear_model() -> None:
    # Before: the date parts went in raw (a year of 2024 beside features near 0): on the tabular
    # template's churn table, split by date, logistic regression's AUC fell to 0.50 (constant
    # probabilities); 0.84 without the date column.
    import warnings

    import numpy as np
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    from aml_jupyter import learn

    rng = np.random.default_rng(0)
    n = 20_000  # the template's table, as it makes it
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "monthly": rng.gamma(2.0, 20.0, n).round(2),
            "joined": pd.Series(pd.date_range("2020-01-01", periods=n, freq="3h")).dt.strftime("%Y-%m-%d"),
        }
    )
    risk = (df["age"] < 30).astype(int) + (df["plan"] == "basic") + (df["monthly"] > 60) + rng.normal(0, 0.6, n)
    df["churned"] = np.where(risk > 1, "yes", "no")
    cut = int(n * 0.8)  # the later dates are the ones scored, as in the template
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning reaches the user (a non-converging fit is a note)
        model = learn.train_classifier(df[:cut], label="churned", model="logreg")
    proba = model.predict_proba(df[cut:].drop(columns=["churned"]))[:, 1]
    assert roc_auc_score(df["churned"][cut:] == "yes", proba) > 0.75 and proba.std() > 0.05
