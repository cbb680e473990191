"""The workspace dashboard (notebooks/dashboard.ipynb, served by ``make dashboard`` with Voila):
run history, the registered models with the runs they came from, and live deployment telemetry,
for people who never open a notebook. Everything from the store is shown as text.
"""

from __future__ import annotations

from typing import Any

from ..workspace import Workspace
from .refreshing import Refreshing

MODEL_COLUMNS = ("model", "versions", "aliases", "newest", "from run", "its metrics")
DEPLOYMENT_COLUMNS = ("deployment", "serves", "status", "url", "requests", "errors", "rows scored", "mean latency")


def _grid(columns: tuple[str, ...], rows: list[list[str]], template: str, empty: str = "") -> Any:
    import ipywidgets as w

    if not rows and empty:  # an empty tab says why, and what would fill it
        return w.Label(value=empty)
    cells = [w.Label(value=c, style={"font_weight": "bold"}) for c in columns]
    cells += [w.Label(value=v) for row in rows for v in row]
    return w.GridBox(cells, layout=w.Layout(grid_template_columns=template, width="100%"))


class Dashboard(Refreshing):
    """The three panels of a workspace, refreshed every ``refresh`` seconds (0: only on :meth:`refresh`).

    Example:
        >>> Dashboard(workspace="demo-workspace", refresh=0).model_rows[0][0]  # doctest: +SKIP
        'iris-clf'
    """

    def __init__(self, workspace: Workspace | str | None = None, refresh: float = 5.0) -> None:
        import ipywidgets as w

        from .run_history import RunHistory

        self.ws = Workspace.open(workspace)
        self.title = w.Label(value=f"workspace {self.ws.name} ({self.ws.root})")
        self.history = RunHistory(None, refresh=refresh, workspace=self.ws)
        self.models = w.VBox()
        self.deployments = w.VBox()
        self.model_rows: list[list[str]] | None = None  # None: not drawn yet
        self.deployment_rows: list[list[str]] | None = None
        self.tabs = w.Tab(children=[self.history.box, self.models, self.deployments])
        for i, name in enumerate(("Runs", "Models", "Deployments")):
            self.tabs.set_title(i, name)
        self.box = w.VBox([self.title, self.tabs])
        self.refresh()
        self.start_refreshing(refresh)

    def report(self, exc: Exception) -> None:
        self.title.value = f"workspace {self.ws.name}: refresh failed: {exc}"

    def stop(self) -> None:
        """Stop refreshing (the run history's loop too)."""
        super().stop()
        self.history.stop()

    def refresh(self) -> None:
        """Read models and deployments again (the run history refreshes itself)."""
        from ..services.deployments import list_deployments
        from ..services.models import get_model_version, list_models

        models = []
        for m in list_models(workspace=self.ws):
            newest = get_model_version(m["name"], workspace=self.ws) if m["latest"] else None
            metrics = ""
            if newest is not None and newest.run_id:
                from ..services import runs

                record = runs.get(self.ws, newest.run_id)
                metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(record.metrics.items())[:4])
            aliases = ", ".join(f"@{a}->{v}" for a, v in sorted(m["aliases"].items()))
            models.append(
                [
                    m["name"],
                    str(m["versions"]),
                    aliases,
                    newest.ref if newest else "",
                    (newest.run_id or "")[:8] if newest else "",
                    metrics,
                ]
            )
        deployments = []
        for d in list_deployments(workspace=self.ws):
            t = d.get("telemetry") or {}
            by_status = {int(k): v for k, v in (t.get("requests") or {}).items()}
            total = sum(by_status.values())
            errors = sum(v for k, v in by_status.items() if k >= 500)
            mean = f"{t['latency_sum_s'] / total * 1000:.2f} ms" if total and "latency_sum_s" in t else ""
            deployments.append(
                [
                    d["name"],
                    d["model_ref"],
                    d["status"],
                    d.get("url") or "",
                    str(total),
                    str(errors),
                    str(t.get("rows_scored", 0)),
                    mean,
                ]
            )
        if models != self.model_rows:
            self.model_rows = models
            empty = "No models registered yet: aml.register_model(...) or aml models register."
            self.models.children = [_grid(MODEL_COLUMNS, models, "1fr 70px 1fr 1fr 90px 2fr", empty)]
        if deployments != self.deployment_rows:
            self.deployment_rows = deployments
            template = "1fr 1fr 80px 2fr 80px 60px 90px 100px"
            empty = "No deployments: aml deploy MODEL:VERSION --name NAME serves a registered version here."
            self.deployments.children = [_grid(DEPLOYMENT_COLUMNS, deployments, template, empty)]
