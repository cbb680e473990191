"""``ProfileView``: a flow's column profiles as cards with drawings, and its near-duplicate values.

The cards are our own HTML (every value escaped, SVG without script); the clusters are listed in
a ``Select`` (text, never HTML) and **Replace** adds the ``replace_clusters`` step for the chosen
ones to :attr:`flow`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..dataprep.clusters import ReplaceClusters
from ..errors import AmlError

if TYPE_CHECKING:
    from ..dataprep.flow import Flow


class ProfileView:
    """Profiles of every column of ``flow``; pick a text column to cluster its values.

    Example:
        >>> import tempfile, pathlib
        >>> from aml_jupyter import dataprep as dp
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.csv"
        >>> _ = p.write_text("city\\nBoston\\nboston\\nBoston\\nParis\\n")
        >>> view = ProfileView(dp.read(str(p)))
        >>> view.column.value = "city"; view.cluster_button.click()
        >>> list(view.clusters.options), view.replace_button.click(), view.flow.steps[-1].kind
        ([('0: Boston <- boston (1 rows)', 0)], None, 'replace_clusters')
    """

    def __init__(self, flow: Flow, threshold: float = 0.8) -> None:
        self.flow = flow
        self.cards = w.HTML(flow.profile()._repr_html_())
        names = [str(c) for c in flow._sample_frame().columns]
        self.column = w.Dropdown(options=names, description="column")
        self.threshold = w.FloatSlider(value=threshold, min=0.5, max=1.0, step=0.05, description="similar")
        self.cluster_button = w.Button(description="Cluster values")
        self.clusters = w.SelectMultiple(options=[], rows=8, layout=w.Layout(width="100%"))
        self.replace_button = w.Button(description="Replace", disabled=True)
        self.message = w.Label()
        self._found: Any = None
        self.cluster_button.on_click(lambda _: self._cluster())
        self.replace_button.on_click(lambda _: self._replace())
        tools = w.HBox([self.column, self.threshold, self.cluster_button, self.replace_button])
        self.widget = w.VBox([self.cards, tools, self.clusters, self.message])

    def _cluster(self) -> None:
        try:
            self._found = self.flow.cluster_text(self.column.value, threshold=self.threshold.value)
        except AmlError as exc:
            self.message.value = str(exc)
            return
        options = []
        for i, g in enumerate(self._found.groups):
            others = ", ".join(v for v, _ in g.values if v != g.canonical)
            options.append((f"{i}: {g.canonical} <- {others} ({g.rows - g.values[0][1]} rows)", i))
        self.clusters.options = options
        self.clusters.value = tuple(i for _, i in options)
        self.replace_button.disabled = not options
        self.message.value = f"{len(options)} groups of near-duplicate values" if options else "no near-duplicates"

    def _replace(self) -> None:
        try:
            self.flow = self.flow.replace_clusters(self._found, only=list(self.clusters.value))
        except AmlError as exc:
            self.message.value = str(exc)
            return
        step = self.flow.steps[-1]
        self.message.value = f"added: {step.describe() if isinstance(step, ReplaceClusters) else step.kind}"
        self.cards.value = self.flow.profile()._repr_html_()
        self.replace_button.disabled = True

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
