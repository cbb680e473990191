"""``SplitByExample``: split a column with no examples (auto-split), or type one row's parts.

Rows and fields are shown through ``Label`` widgets (text, never HTML). Rows the split leaves
short, or with more fields than columns, are marked '?' with the reason, as ``Flow.check_rows()``
lists them (one rule: :mod:`aml_jupyter.dataprep.trust`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..dataprep.steps import column_strings
from ..errors import AmlError, InvalidValue

if TYPE_CHECKING:
    from ..dataprep.flow import Flow

UNSURE = "#ffe0b2"
SEPARATOR = " | "  # how the parts of one row are typed: "Smith | Ada"


class SplitByExample:
    """A split panel over a Flow: **Auto-split** finds the fields from the values; typing one
    row's parts (``Smith | Ada``) splits every row the same way. **Add step** keeps the result.

    Example:
        >>> import tempfile, pathlib
        >>> from aml_jupyter import dataprep as dp
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
        >>> _ = p.write_text("contact\\nSmith; Ada\\nLee; Bob\\n")
        >>> panel = SplitByExample(dp.read(str(p)), "contact")
        >>> panel.auto_button.click()
        >>> [[c.value for c in row] for row in panel.fields]
        [['Smith', 'Ada'], ['Lee', 'Bob']]
    """

    def __init__(self, flow: Flow, column: str, rows: int = 12) -> None:
        frame = flow._sample_frame()
        if column not in frame.columns:
            raise InvalidValue(f"no column {column!r} (have {list(frame.columns)})")
        self.flow, self.column = flow, column
        self.rows = [r[0] for r in column_strings(frame, [column])][:rows]
        self.candidate: Flow | None = None
        self.result: Flow | None = None
        self.example = w.Text(placeholder=f"parts of row 1, as 'a{SEPARATOR}b'", description="Row 1")
        self.auto_button = w.Button(description="Auto-split")
        self.add_button = w.Button(description="Add step", disabled=True, button_style="primary")
        self.status = w.Label(value="Auto-split, or type the first row's parts.")
        self.fields: list[list[w.Label]] = [[] for _ in self.rows]
        self.grid = w.GridBox([], layout=w.Layout(grid_template_columns="auto"))
        self.auto_button.on_click(self._on_auto)
        self.add_button.on_click(self._on_add)
        self.example.observe(self._on_example, names="value")
        self._show(None, self.status.value)
        controls = w.HBox([self.example, self.auto_button, self.add_button])
        self.widget = w.VBox([controls, self.grid, self.status])

    def _on_auto(self, _button: Any = None) -> None:
        try:
            candidate = self.flow.split_column(self.column)
        except AmlError as exc:
            self._show(None, f"No split: {exc}")
            return
        self._show(candidate, f"Auto-split: {candidate.steps[-1].describe()}")  # type: ignore[union-attr]

    def _on_example(self, _change: Any = None) -> None:
        parts = [p.strip() for p in str(self.example.value).split(SEPARATOR.strip())]
        first = self.rows[0] if self.rows else None
        if first is None or len(parts) < 2 or not all(parts):
            self._show(None, f"Type at least two parts of row 1, separated by '{SEPARATOR.strip()}'.")
            return
        try:
            candidate = self.flow.split_column_by_example(self.column, [(first, parts)])
        except AmlError as exc:
            self._show(None, f"No split yet: {exc}")
            return
        self._show(candidate, f"Learned from row 1: {candidate.steps[-1].describe()}")  # type: ignore[union-attr]

    def _show(self, candidate: Flow | None, message: str) -> None:
        self.candidate = candidate
        self.add_button.disabled = candidate is None
        self.status.value = message
        names: list[str] = list(getattr(candidate.steps[-1], "new_columns", [])) if candidate else []
        flags: dict[int, dict[str, Any]] = {}
        if candidate is not None:
            frame = candidate._sample_frame()
            values = [[None if v is None else str(v) for v in frame[n].tolist()[: len(self.rows)]] for n in names]
            checked = candidate.check_rows(limit=len(self.rows))
            for k, row in enumerate(self.rows):
                hit = checked[checked[self.column] == row]
                if len(hit):
                    flags[k] = hit.iloc[0].to_dict()
            total = sum(checked.attrs["counts"].values())
            if total:
                self.status.value += f". {total} row(s) of the sample need a look ('?')."
        cells: list[w.Widget] = [w.Label(value=self.column), *(w.Label(value=n) for n in names)]
        for k, row in enumerate(self.rows):
            flag = flags.get(k)
            label = w.Label(value=("? " if flag else "") + ("" if row is None else row))
            if flag:
                label.style.background = UNSURE
                label.tooltip = str(flag["why"])
            self.fields[k] = [w.Label(value="" if v[k] is None else v[k]) for v in values] if candidate else []
            cells += [label, *self.fields[k]]
        self.grid.children = cells
        self.grid.layout.grid_template_columns = f"repeat({len(names) + 1}, auto)"

    def _on_add(self, _button: Any = None) -> None:
        if self.candidate is None:
            return
        self.result = self.candidate
        self.status.value = "Added: the new recipe is in .result"
        self.add_button.disabled = True

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
