"""Registered datasets as the surfaces show them: the list, a preview of the newest version's rows
and its column profile, each for the calling user (a recipe that runs code is read only for the user
who registered it, or with trust). The registry itself is dataprep/datasets.py's.
"""

from __future__ import annotations

from typing import Any

from ..dataprep.datasets import get_dataset
from ..dataprep.datasets import list_datasets as list_datasets  # the surfaces' one door
from ..workspace import Workspace


def dataset_rows(ws: Workspace, name: str, rows: int, user: str | None = None) -> dict[str, Any]:
    """The first ``rows`` rows of a registered dataset's newest version (its recipe run on its
    source), for ``user``: a recipe that runs code previews only for the user who registered it.

    Example:
        >>> dataset_rows(ws, "customers", 5)["columns"]  # doctest: +SKIP
        ['id', 'email', 'domain']
    """
    dataset = get_dataset(name, workspace=ws, user=user)
    frame = dataset.flow.to_pandas().head(rows)
    return {
        "name": dataset.name,
        "version": dataset.version,
        "columns": [str(c) for c in frame.columns],
        "rows": frame.astype(object).where(frame.notna(), None).values.tolist(),
    }


def dataset_profile(ws: Workspace, name: str, user: str | None = None) -> list[dict[str, Any]]:
    """The column profile of a registered dataset's newest version, for ``user``.

    Example:
        >>> [c["name"] for c in dataset_profile(ws, "customers")]  # doctest: +SKIP
        ['id', 'email', 'domain']
    """
    columns: list[dict[str, Any]] = get_dataset(name, workspace=ws, user=user).flow.profile().columns
    return columns
