"""``ByExample``: type the output you want next to a few rows and watch a program learn it.

Every value from the data is shown through a ``Label`` (text, never HTML). Rows the program may
have wrong (no answer, a shape no example has, an undecided date order, runners-up that answer
differently: :mod:`aml_jupyter.dataprep.trust`) are marked with an orange background and a '?',
and the status line counts them over the sample.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..dataprep import synth
from ..dataprep.steps import column_strings
from ..dataprep.trust import REASONS, review
from ..errors import AmlError, InvalidValue

if TYPE_CHECKING:
    import pandas as pd

    from ..dataprep.flow import Flow

UNSURE = "#ffe0b2"
REVIEWED_ROWS = 500  # rows of the sample checked after each keystroke


class ByExample:
    """A by-example panel over a DataFrame or a Flow.

    Example:
        >>> import pandas as pd
        >>> panel = ByExample(pd.DataFrame({"name": ["Ada Lovelace", "Alan Turing"]}), source_columns=["name"])
        >>> panel.examples[0].value = "Lovelace"
        >>> panel.outputs[1].value
        'Turing'
    """

    def __init__(
        self,
        data: pd.DataFrame | Flow,
        source_columns: list[str],
        new_column: str = "derived",
        rows: int = 12,
        timeout: float = 2.0,
    ) -> None:
        from ..dataprep.flow import Flow

        self.flow = data if isinstance(data, Flow) else None
        frame = data._sample_frame() if isinstance(data, Flow) else data
        missing = [c for c in source_columns if c not in frame.columns]
        if missing:
            raise InvalidValue(f"no column {missing[0]!r} (have {list(frame.columns)})")
        self.source_columns = list(source_columns)
        self.timeout = timeout
        all_rows = column_strings(frame, self.source_columns)
        self.unlabeled = [r for r in all_rows if None not in r]
        self.rows = all_rows[:rows]
        self.program: synth.Program | None = None
        self.result: Flow | None = None
        self.new_column = w.Text(value=new_column, description="New column")
        self.examples = [
            w.Text(placeholder="type the output" if None not in r else "(missing input)", disabled=None in r)
            for r in self.rows
        ]
        self.outputs = [w.Label(value="") for _ in self.rows]
        self.status = w.Label(value="Type the wanted output next to one or two rows.")
        self.code = w.Textarea(value="", disabled=True, layout=w.Layout(width="100%", height="8em"))
        self.add_button = w.Button(description="Add step", disabled=True, button_style="primary")
        for box in self.examples:
            box.observe(self._on_change, names="value")
        self.add_button.on_click(self._on_add)
        header = [w.Label(value=c) for c in self.source_columns] + [w.Label(value="example"), w.Label(value="program")]
        cells: list[w.Widget] = list(header)
        for row, box, out in zip(self.rows, self.examples, self.outputs, strict=True):
            cells += [w.Label(value="" if v is None else v) for v in row] + [box, out]
        width = len(self.source_columns) + 2
        grid = w.GridBox(cells, layout=w.Layout(grid_template_columns=f"repeat({width}, auto)"))
        self.widget = w.VBox([self.new_column, grid, self.status, self.code, self.add_button])

    def given(self) -> list[tuple[list[str], str]]:
        """The examples typed so far."""
        out = []
        for row, box in zip(self.rows, self.examples, strict=True):
            texts = [v for v in row if v is not None]
            if box.value and len(texts) == len(row):
                out.append((texts, str(box.value)))
        return out

    def _on_change(self, _change: Any = None) -> None:
        examples = self.given()
        if not examples:
            self._show(None, "Type the wanted output next to one or two rows.")
            return
        try:
            program = synth.learn(examples, unlabeled=self.unlabeled, timeout=self.timeout)
        except AmlError as exc:
            self._show(None, f"No program yet: {exc}")
            return
        self._show(program, f"Learned from {len(examples)} example(s): {program.describe()}")

    def _show(self, program: synth.Program | None, message: str) -> None:
        self.program = program
        self.status.value = message
        self.code.value = program.to_python(helpers=False) if program else ""
        self.add_button.disabled = program is None or self.flow is None
        shown = {f["row"]: f for f in review([program], self.rows, self.given())} if program else {}
        for k, (row, out) in enumerate(zip(self.rows, self.outputs, strict=True)):
            value = program.apply(row) if program and None not in row else None
            flag = shown.get(k)
            out.value = ("? " if flag else "") + ("" if value is None else value)
            out.style.background = UNSURE if flag else ""
            out.tooltip = flag["why"] if flag else None
        if program is None:
            return
        flags = review([program], self.unlabeled[:REVIEWED_ROWS], self.given())
        counts = {r: sum(f["reason"] == r for f in flags) for r in REASONS}
        words = {"no answer": "get no answer", "date order": "have an undecided day/month order"}
        words.update({"shape": "look unlike every example", "unsure": "are uncertain"})
        said = [f"{n} {words[r]}" for r, n in counts.items() if n]
        if said:
            checked = min(len(self.unlabeled), REVIEWED_ROWS)
            self.status.value += f". Of {checked} rows: {', '.join(said)}; rows marked '?' need a look."

    def _on_add(self, _button: Any = None) -> None:
        if self.flow is None or self.program is None:
            return
        examples = [(dict(zip(self.source_columns, r, strict=True)), o) for r, o in self.given()]
        self.result = self.flow.derive_column_by_example(
            self.source_columns, self.new_column.value, examples, timeout=self.timeout
        )
        self.status.value = f"Added: column {self.new_column.value!r}. The new recipe is in .result"
        self.add_button.disabled = True

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
