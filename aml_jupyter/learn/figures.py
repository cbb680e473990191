"""The evaluation's figures, drawn with matplotlib (off screen) from the tables they are logged
with: each function takes the figure's data as a DataFrame and returns the Figure.
"""

from __future__ import annotations

from typing import Any

APPROX = " (approximate: binned scores)"


def _axes(title: str) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.8, 4.0), dpi=100)  # not pyplot's: nothing is left open in the kernel
    ax = fig.subplots()
    ax.set_title(title, fontsize=10)
    return fig, ax


def confusion_figure(m: Any) -> Any:
    """A confusion matrix as a heat map with the counts written in.

    Example:
        >>> import pandas as pd
        >>> confusion_figure(pd.DataFrame([[2, 0], [1, 3]], index=["a", "b"], columns=["a", "b"])).axes[0].get_title()
        'confusion matrix'
    """
    import numpy as np

    fig, ax = _axes("confusion matrix")
    values = m.to_numpy()
    ax.imshow(values, cmap="Blues")
    labels = [str(x) for x in m.index]
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = values.max() if values.size else 0
    if len(labels) <= 20:
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > top / 2 else "black", fontsize=8)
    return fig


def curve_figure(data: Any, x: str, y: str, title: str, diagonal: bool) -> Any:
    """One line per class of ``data`` (columns ``class``, ``x``, ``y``): ROC, PR or calibration.

    Example:
        >>> import pandas as pd
        >>> d = pd.DataFrame({"class": ["b", "b"], "fpr": [0, 1], "tpr": [0, 1]})
        >>> curve_figure(d, "fpr", "tpr", "ROC", diagonal=True).axes[0].get_xlabel()
        'fpr'
    """
    fig, ax = _axes(title)
    for cls, part in data.groupby("class", sort=False):
        ax.plot(part[x], part[y], label=str(cls), lw=1.5)
    if diagonal:
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    if data["class"].nunique() > 1:
        ax.legend(fontsize=7)
    return fig


def scatter_figure(data: Any, title: str) -> Any:
    """Predicted against true values, with the line where they are equal.

    Example:
        >>> import pandas as pd
        >>> scatter_figure(pd.DataFrame({"true": [1, 2], "predicted": [1, 3]}), "p").axes[0].get_ylabel()
        'predicted'
    """
    fig, ax = _axes(title)
    ax.scatter(data["true"], data["predicted"], s=4, alpha=0.4)
    lo = float(min(data["true"].min(), data["predicted"].min())) if len(data) else 0.0
    hi = float(max(data["true"].max(), data["predicted"].max())) if len(data) else 1.0
    ax.plot([lo, hi], [lo, hi], ls="--", color="grey", lw=0.8)
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    return fig


def residual_figure(data: Any, title: str) -> Any:
    """A histogram of the residuals (``data``: columns ``left``, ``count``).

    Example:
        >>> import pandas as pd
        >>> hist = pd.DataFrame({"left": [-1.0, 0.0], "width": [1.0, 1.0], "count": [3, 5]})
        >>> residual_figure(hist, "r").axes[0].get_xlabel()
        'residual (true - predicted)'
    """
    fig, ax = _axes(title)
    ax.bar(data["left"], data["count"], width=data["width"], align="edge")
    ax.set_xlabel("residual (true - predicted)")
    ax.set_ylabel("rows")
    return fig
