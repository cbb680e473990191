"""Report: what :func:`aml_jupyter.learn.evaluate` found (metrics, the per-instance table, the
figures and their data), logged to a run and shown in a notebook.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Report:
    """The evaluation of one model on one table.

    ``metrics`` use MLflow's names; ``per_instance`` has one row per evaluated row (a Dask
    DataFrame when the table was one); ``figures`` maps a name to a matplotlib Figure and
    ``data`` the same name to the table it was drawn from; ``approximate`` names the metrics and
    figures computed from binned scores.

    Example:
        >>> report = learn.evaluate(model, test_df)  # doctest: +SKIP
        >>> report.metrics["roc_auc"], report.per_instance.columns.tolist()  # doctest: +SKIP
        (0.93, ['true', 'predicted', 'proba_true', 'correct', 'log_loss'])
    """

    task: str
    label: str
    metrics: dict[str, float]
    per_instance: Any
    figures: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    approximate: list[str] = field(default_factory=list)
    dropped: int = 0
    notes: list[str] = field(default_factory=list)

    def log(self, run: Any, folder: str = "evaluation") -> None:
        """Log the metrics, the per-instance table and each figure (PNG) with its data (Parquet)."""
        run.log_metrics({k: v for k, v in self.metrics.items() if v == v})  # NaN: not defined here
        _log_rows(run, self.per_instance, f"{folder}/per_instance")
        for name, fig in self.figures.items():
            run.log_figure(fig, f"{folder}/{name}")
            if name in self.data:
                run.log_table(self.data[name], f"{folder}/{name}")
        if self.approximate:
            run.set_tags({"learn.approximate": ", ".join(self.approximate)})

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{v:.4g}</td></tr>"
            for k, v in self.metrics.items()
            if isinstance(v, float)
        )
        pics = "".join(
            f'<img alt="{html.escape(n)}" src="data:image/png;base64,{_png(f)}" width="320">'
            for n, f in self.figures.items()
        )
        notes = "".join(f"<p>{html.escape(n)}</p>" for n in self.notes)
        return f"<div><table>{rows}</table>{notes}<div>{pics}</div></div>"


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _log_rows(run: Any, rows: Any, name: str) -> None:
    # A Dask table is written one partition at a time into one Parquet file: never whole in memory.
    from .model import is_dask

    if not is_dask(rows):
        run.log_table(rows, name)
        return
    import tempfile
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="aml-eval-") as tmp:
        path = Path(tmp) / "per_instance.parquet"
        writer = None
        for part in rows.to_delayed():
            table = pa.Table.from_pandas(part.compute().rename(columns=str), preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
        if writer is not None:
            writer.close()
            run.log_artifact(path, name + ".parquet")
