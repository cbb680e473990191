"""RunDetails: follow one run (status, params, artifacts, a chart of each metric, the machine's
system metrics, the figures it logged, the last lines of its output) while it runs. Values from the
store are shown as text (Label, Textarea), never as HTML; figures are PNG artifacts shown as images.
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
        import ipywidgets as w

        self.ws = Workspace.open(workspace if workspace is not None else getattr(run, "workspace", None))
        self.run_id = run if isinstance(run, str) else run.id
        self.title = w.Label()
        self.status = w.Label()
        self.error = w.Label()
        self.metric = w.Dropdown(description="metric", options=[])
        self.metric.observe(lambda _: self._draw_metric(), names="value")
        self.line, self.y_axis, self.figure = _chart("step")
        # The "System" group: what the machine did (CPU, memory, GPUs...) on a seconds axis.
        self.system_metric = w.Dropdown(description="system", options=[])
        self.system_metric.observe(lambda _: self._draw_system(), names="value")
        self.system_line, self.system_axis, self.system_figure = _chart("seconds")
        self.system_peaks = w.Label()
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
                w.HTML("<b>System</b>"),
                self.system_peaks,
                self.system_metric,
                self.system_figure,
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
        _offer(self.metric, sorted(record.metrics))
        self._draw_metric()
        _offer(self.system_metric, sorted(record.system_metrics), "system/process_cpu_utilization_percentage")
        self._draw_system()
        peaks = [
            f"{label}: {record.system_metrics[key]:,.0f} MB"
            for key, label in (
                ("system/process_memory_peak_megabytes", "peak memory"),
                ("system/gpu_memory_peak_megabytes", "peak GPU memory"),
            )
            if key in record.system_metrics
        ]
        self.system_peaks.value = "   ".join(peaks) if peaks else "no system metrics"
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
        _draw(self.ws, self.run_id, self.metric.value, self.line, self.y_axis, self.figure, "step")

    def _draw_system(self) -> None:
        _draw(self.ws, self.run_id, self.system_metric.value, self.system_line, self.system_axis, self.system_figure)


def _chart(x_label: str) -> tuple[Any, Any, Any]:
    import bqplot as bq
    import ipywidgets as w

    x, y = bq.LinearScale(), bq.LinearScale()
    line = bq.Lines(x=[], y=[], scales={"x": x, "y": y})
    # Room for the tick labels and the axis names, so neither runs into the other.
    y_axis = bq.Axis(scale=y, side="left", label_offset="50px", tick_format=".3g")
    figure = bq.Figure(
        marks=[line],
        axes=[bq.Axis(scale=x, label=x_label, side="bottom", label_offset="32px"), y_axis],
        fig_margin={"top": 40, "bottom": 48, "left": 70, "right": 20},
        layout=w.Layout(height="260px", width="100%"),
    )
    return line, y_axis, figure


def _offer(dropdown: Any, keys: list[str], preferred: str | None = None) -> None:
    # New keys keep the user's choice where it still exists.
    if list(dropdown.options) == keys:
        return
    current = dropdown.value
    dropdown.options = keys
    fallback = preferred if preferred in keys else (keys[0] if keys else None)
    dropdown.value = current if current in keys else fallback


def _draw(ws: Workspace, run_id: str, key: str | None, line: Any, y_axis: Any, figure: Any, x: str = "time") -> None:
    if not key:
        line.x, line.y = [], []
        return
    from ..services.downsample import metric_series

    series = metric_series(ws, run_id, key, 1000)
    # System metrics are drawn against the seconds since their first sample; the user's by step.
    xs = series["step"] if x == "step" else [(t - series["timestamp"][0]) / 1000 for t in series["timestamp"]]
    finite = [(s, v) for s, v in zip(xs, series["value"], strict=True) if isinstance(v, float | int)]
    line.x = [s for s, _ in finite]
    line.y = [v for _, v in finite]
    figure.title = f"{key} ({series['points']} points)"
    y_axis.label = key
