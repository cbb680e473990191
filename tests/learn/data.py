"""Small tables for the learn tests: churn-like rows of every column kind."""

from __future__ import annotations

import numpy as np
import pandas as pd


def churn(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype(float),
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "city": [f"city{i}" for i in rng.integers(0, 300, n)],
            "joined": pd.Series(pd.date_range("2020-01-01", periods=n, freq="7h")).dt.strftime("%Y-%m-%d %H:%M"),
            "note": rng.choice(["very happy with the service", "support was slow again", "billing looks wrong"], n),
            "spend": rng.gamma(2.0, 30.0, n),
        }
    )
    signal = (df["age"] < 30) | (df["plan"] == "pro")
    noise = rng.random(n) < 0.08
    df["churned"] = np.where(signal ^ noise, "yes", "no")
    return df
