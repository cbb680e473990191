"""A live sweep progress widget for notebooks: a bar, the counts, and the best child so far."""

from __future__ import annotations

from typing import Any

from ..sweeps.runner import Progress


class SweepProgress:
    """Shows a sweep's progress in the notebook; pass it as ``on_progress`` to :func:`aml_jupyter.sweep`.

    Example:
        >>> w = SweepProgress(total=4, metric="acc")
        >>> w(Progress(total=4, started=2, completed=1, best_value=0.9, best_child="ab" * 16))
        >>> w.bar.value, "0.9" in w.label.value
        (1, True)
    """

    def __init__(self, total: int, metric: str, display: bool = False) -> None:
        import ipywidgets as widgets

        self.metric = metric
        self.bar = widgets.IntProgress(value=0, min=0, max=total, description="sweep", bar_style="info")
        self.label = widgets.Label(value="starting…")  # text: nothing from the store becomes markup
        self.box = widgets.VBox([self.bar, self.label])
        if display:
            from IPython.display import display as show

            show(self.box)  # type: ignore[no-untyped-call]

    def __call__(self, p: Progress) -> None:
        self.bar.max = p.total
        self.bar.value = p.ended
        if p.ended >= p.total and not p.running:
            self.bar.bar_style = "success" if p.completed else "danger"
        best = (
            f"best {self.metric} = {p.best_value:.6g} (run {p.best_child[:8]})"
            if p.best_value is not None and p.best_child
            else "no child has completed yet"
        )
        self.label.value = (
            f"{p.ended}/{p.total} ended · {len(p.running)} running · {p.completed} completed · "
            f"{p.stopped_early} stopped early · {p.failed} failed · {best}"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.box._repr_mimebundle_(**kwargs)
