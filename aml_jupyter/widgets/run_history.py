"""RunHistory: a filterable, live run table with a chart comparing the selected runs.

Every value from the store is shown through ``Label`` widgets, which render text: a run named
``<img src=x onerror=alert(1)>`` shows those characters and runs nothing.
"""

from __future__ import annotations

import threading
from typing import Any

from ..workspace import Workspace
from .refreshing import Refreshing

COLUMNS = ("", "run", "name", "status", "user", "started", "metric")


class RunHistory(Refreshing):
    """Runs of ``experiment`` (all experiments when None) matching ``filter``, newest first,
    ``page_size`` at a time (the buttons page through them, and the line above the table says
    which runs it shows), refreshed every ``refresh`` seconds while shown (0: only on
    :meth:`refresh`). Tick runs to compare ``metric`` across them in the chart below the table.

    Example:
        >>> rh = RunHistory("iris", metric="acc", refresh=0)  # doctest: +SKIP
        >>> rh.select([rh.rows[0]["run_id"]]); rh.chart_values()  # doctest: +SKIP
        {'3f2a9c1b': 0.97}
    """

    def __init__(
        self,
        experiment: str | None = None,
        filter: str | None = None,
        metric: str | None = None,
        page_size: int = 50,
        refresh: float = 2.0,
        workspace: Workspace | str | None = None,
    ) -> None:
        import bqplot as bq
        import ipywidgets as w

        self.ws = Workspace.open(workspace)
        self.experiment = experiment
        self.page_size = max(1, int(page_size))
        self.offset = 0
        self.more = False
        self.rows: list[dict[str, Any]] = []
        self.selected: list[str] = []
        self._signature: Any = None
        self._lock = threading.Lock()
        self.filter = w.Text(value=filter or "", placeholder="metrics.acc > 0.9 and params.lr = '0.1'")
        self.filter.layout.width = "60%"
        self.apply = w.Button(description="Apply", tooltip="search with this filter")
        self.apply.on_click(lambda _: self.refresh())
        self.message = w.Label(value="")
        self.previous = w.Button(description="◂ newer", tooltip="the newer page of runs", disabled=True)
        self.next = w.Button(description="older ▸", tooltip="the older page of runs", disabled=True)
        self.previous.on_click(lambda _: self.page(-1))
        self.next.on_click(lambda _: self.page(+1))
        self.metric = w.Dropdown(description="metric", options=[metric] if metric else [], value=metric)
        self.metric.observe(self._metric_changed, names="value")
        self.table = w.GridBox(
            layout=w.Layout(grid_template_columns="32px 90px 1fr 90px 90px 170px 110px", width="100%")
        )
        self._x = bq.OrdinalScale()
        self._y = bq.LinearScale()
        self.bars = bq.Bars(x=[], y=[], scales={"x": self._x, "y": self._y})
        self.figure = bq.Figure(
            marks=[self.bars],
            axes=[bq.Axis(scale=self._x, label="run", side="bottom"), bq.Axis(scale=self._y, side="left")],
            title="tick runs to compare them",
            layout=w.Layout(height="280px", width="100%"),
        )
        pager = w.HBox([self.previous, self.next, self.message])
        self.box = w.VBox([w.HBox([self.filter, self.apply]), pager, self.table, self.metric, self.figure])
        self.refresh()
        self.start_refreshing(refresh)

    def report(self, exc: Exception) -> None:
        self.message.value = f"refresh failed: {exc}"

    def page(self, step: int) -> None:
        """Show the next older (+1) or newer (-1) page of runs.

        Example:
            >>> rh.page(+1); rh.message.value  # doctest: +SKIP
            'runs 51-100, and older ones'
        """
        self.offset = max(0, self.offset + step * self.page_size)
        self.refresh()

    def refresh(self) -> None:
        """Search again (the page shown) and redraw what changed."""
        from ..errors import AmlError
        from ..tracking.queries import search_runs

        try:
            frame = search_runs(
                self.filter.value.strip() or None,
                experiments=self.experiment,
                max_results=self.page_size + 1,  # one more says whether an older page exists
                offset=self.offset,
                workspace=self.ws,
            )
        except AmlError as exc:
            self.message.value = str(exc)  # a bad filter: said, and the table stays as it was
            return
        if frame.empty and self.offset:  # the runs of that page went (deleted, or filtered out)
            self.offset = 0
            return self.refresh()
        self.more = len(frame) > self.page_size
        frame = frame.head(self.page_size)
        self.previous.disabled, self.next.disabled = self.offset == 0, not self.more
        if self.offset == 0 and not self.more:
            self.message.value = f"{len(frame)} run(s)"
        else:
            first, last = self.offset + 1, self.offset + len(frame)
            self.message.value = f"runs {first}-{last}" + (", and older ones" if self.more else "")
        rows = frame.to_dict("records")
        metrics = sorted({c[len("metrics.") :] for c in frame.columns if c.startswith("metrics.")})
        with self._lock:
            self.rows = rows
            self.selected = [s for s in self.selected if any(r["run_id"] == s for r in rows)]
            if list(self.metric.options) != metrics:
                current = self.metric.value
                self.metric.options = metrics
                self.metric.value = current if current in metrics else (metrics[0] if metrics else None)
            # What the table shows: a live run's metric moving redraws it too.
            shown = f"metrics.{self.metric.value}"
            signature = [(r["run_id"], r["status"], r.get("end_time"), str(r.get(shown))) for r in rows]
            if signature != self._signature:
                self._signature = signature
                self._rebuild()
        self._draw()

    def _rebuild(self) -> None:
        import ipywidgets as w

        heads = [*COLUMNS[:-1], self.metric.value or ""]
        cells: list[Any] = [w.Label(value=c, style={"font_weight": "bold"}) for c in heads]
        key = f"metrics.{self.metric.value}"
        for row in self.rows:
            value = row.get(key)
            tick = w.Checkbox(value=row["run_id"] in self.selected, indent=False)
            tick.observe(lambda change, rid=row["run_id"]: self._tick(rid, change["new"]), names="value")
            started: Any = row.get("start_time")
            cells += [
                tick,
                w.Label(value=row["run_id"][:8]),
                w.Label(value=str(row.get("name") or "")),
                w.Label(value=str(row["status"])),
                w.Label(value=str(row.get("user") or "")),
                w.Label(value=started.strftime("%Y-%m-%d %H:%M:%S") if hasattr(started, "strftime") else ""),
                w.Label(value="" if value is None or value != value else f"{value:.6g}"),
            ]
        self.table.children = cells

    def _metric_changed(self, change: Any) -> None:
        self._rebuild()
        self._draw()

    def _tick(self, run_id: str, on: bool) -> None:
        if on and run_id not in self.selected:
            self.selected.append(run_id)
        elif not on and run_id in self.selected:
            self.selected.remove(run_id)
        self._draw()

    def select(self, run_ids: list[str]) -> None:
        """Tick these runs (as a click on their boxes does)."""
        self.selected = [r for r in run_ids if any(row["run_id"] == r for row in self.rows)]
        self._rebuild()
        self._draw()

    def chart_values(self) -> dict[str, float | None]:
        """What the chart shows: the chosen metric's latest value for each ticked run."""
        key = f"metrics.{self.metric.value}"
        by_id = {r["run_id"]: r for r in self.rows}
        out: dict[str, float | None] = {}
        for run_id in self.selected:
            value = by_id[run_id].get(key)
            out[run_id[:8]] = None if value is None or value != value else float(value)
        return out

    def _draw(self) -> None:
        values = self.chart_values() if self.metric.value else {}
        shown = {k: v for k, v in values.items() if v is not None}
        self.bars.x = list(shown)
        self.bars.y = list(shown.values())
        self.figure.title = f"{self.metric.value} of the ticked runs" if shown else "tick runs to compare them"
