"""RunDetails: follow one run (status, params, artifacts, a chart of each metric, the figures it
logged, the last lines of its output) while it runs. Values from the store are shown as text
(Label, Textarea), never as HTML; figures are PNG artifacts shown as images.
"""

from __future__ import annotations

from typing import Any

from ..workspace import Workspace
from .refreshing import Refreshing

LOG_LINES = 40
MAX_FIGURES = 24
MAX_FIGURE_BYTES = 5 * 2**20


class RunDetails(Refreshing):
    """A panel following ``run`` (a Run or a run id), refreshed every ``refresh`` seconds until
    the run ends (0: only on :meth:`refresh`).

    Example:
        >>> rd = RunDetails(aml.submit("train.py")["id"])  # doctest: +SKIP
        >>> rd.status.value  # doctest: +SKIP
        'running'
    """

    def __init__(self, run: Any, refresh: float = 1.0, workspace: Workspace | str | None = None) -> None:
        import bqplot as bq
        import ipywidgets as w

        self.ws = Workspace.open(workspace if workspace is not None else getattr(run, "workspace", None))
        self.run_id = run if isinstance(run, str) else run.id
        self.title = w.Label()
        self.status = w.Label()
        self.error = w.Label()
        self.metric = w.Dropdown(description="metric", options=[])
        self.metric.observe(lambda _: self._draw_metric(), names="value")
        self._x, self._y = bq.LinearScale(), bq.LinearScale()
        self.line = bq.Lines(x=[], y=[], scales={"x": self._x, "y": self._y})
        # Room for the tick labels and the axis names, so neither runs into the other.
        self.y_axis = bq.Axis(scale=self._y, side="left", label_offset="50px", tick_format=".3g")
        self.figure = bq.Figure(
            marks=[self.line],
            axes=[bq.Axis(scale=self._x, label="step", side="bottom", label_offset="32px"), self.y_axis],
            fig_margin={"top": 40, "bottom": 48, "left": 70, "right": 20},
            layout=w.Layout(height="260px", width="100%"),
        )
        half = w.Layout(width="50%", height="120px")
        self.params = w.Textarea(disabled=True, placeholder="no params", description="params", layout=half)
        self.artifacts = w.Textarea(disabled=True, placeholder="no artifacts", description="artifacts", layout=half)
        self.log = w.Textarea(disabled=True, layout=w.Layout(width="100%", height="160px"))
        self.figures = w.Box(layout=w.Layout(display="flex", flex_flow="row wrap"))
        self._tiles: dict[tuple[str, str], Any] = {}  # (name, digest) -> the tile showing it
        self.box = w.VBox(
            [
                self.title,
                self.status,
                self.error,
                w.HBox([self.params, self.artifacts]),
                self.metric,
                self.figure,
                self.figures,
                self.log,
            ]
        )
        self.ended = False
        self.refresh()
        self.start_refreshing(0 if self.ended else refresh)

    def done(self) -> bool:
        return self.ended

    def report(self, exc: Exception) -> None:
        self.error.value = f"refresh failed: {exc}"

    def refresh(self) -> None:
        """Read the run again: status, metric keys, the chosen metric's points, the log's tail."""
        from ..services import runs
        from ..services.jobs import has_ended, read_log

        record = runs.get(self.ws, self.run_id)
        self.title.value = f"{record.experiment} / {record.name or record.id[:8]} ({record.id[:8]})"
        self.status.value = f"status: {record.status}"
        self.error.value = f"error: {record.error}" if record.error else ""
        self.params.value = "\n".join(f"{k} = {v}" for k, v in sorted(record.params.items()))
        self.artifacts.value = "\n".join(f"{a.name}  ({a.size:,} bytes)" for a in record.artifacts)
        keys = sorted(record.metrics)
        if list(self.metric.options) != keys:
            current = self.metric.value
            self.metric.options = keys
            self.metric.value = current if current in keys else (keys[0] if keys else None)
        self._draw_metric()
        self._draw_figures(record)
        text = read_log(self.ws, record, "stdout") if record.tags.get("aml.submitted") else ""
        self.log.value = "\n".join(text.splitlines()[-LOG_LINES:])
        self.ended = has_ended(record)

    def _draw_figures(self, record: Any) -> None:
        # The PNG artifacts (learn's evaluation figures, anything logged with log_figure), each
        # read once: a figure is only read again when its content changed.
        import ipywidgets as w

        from ..tracking.run import Run

        pngs = [a for a in record.artifacts if a.media_type == "image/png" and a.size <= MAX_FIGURE_BYTES]
        keys = [(a.name, a.digest) for a in pngs[:MAX_FIGURES]]
        if keys == list(self._tiles):
            return
        run = Run(self.ws, record)
        tiles = {}
        for name, digest in keys:
            tile = self._tiles.get((name, digest))
            if tile is None:
                data = run.artifact_path(name).read_bytes()
                image = w.Image(value=data, format="png", layout=w.Layout(width="320px"))
                tile = w.VBox([w.Label(name), image])
            tiles[(name, digest)] = tile
        self.figures.children = list(tiles.values())
        self._tiles = tiles

    def _draw_metric(self) -> None:
        if not self.metric.value:
            self.line.x, self.line.y = [], []
            return
        from ..services.downsample import metric_series

        series = metric_series(self.ws, self.run_id, self.metric.value, 1000)
        finite = [(s, v) for s, v in zip(series["step"], series["value"], strict=True) if isinstance(v, float | int)]
        self.line.x = [s for s, _ in finite]
        self.line.y = [v for _, v in finite]
        self.figure.title = f"{self.metric.value} ({series['points']} points)"
        self.y_axis.label = self.metric.value
