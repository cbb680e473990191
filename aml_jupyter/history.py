"""``%aml history on``: every executed cell recorded as a run of the experiment ``interactive``.

Each run holds the cell's source (artifact ``cell.py``), its duration (start to end), whether it
raised (completed or failed, with the error) and a summary of its output (tag ``aml.output``).
While the cell runs its run is the active one, so ``aml.log`` inside the cell attaches to it.
"""

from __future__ import annotations

from typing import Any

EXPERIMENT = "interactive"
SUMMARY_CHARS = 500


class CellHistory:
    """Hooks on IPython's ``pre_run_cell``/``post_run_cell`` events that record cells as runs.

    Example:
        >>> history = CellHistory(get_ipython()); history.start()  # doctest: +SKIP
    """

    def __init__(self, shell: Any, workspace: Any = None) -> None:
        self.shell = shell
        self.workspace = workspace
        self.run: Any = None

    def start(self) -> None:
        self.shell.events.register("pre_run_cell", self.pre)
        self.shell.events.register("post_run_cell", self.post)

    def stop(self) -> None:
        for name, fn in (("pre_run_cell", self.pre), ("post_run_cell", self.post)):
            try:
                self.shell.events.unregister(name, fn)
            except ValueError:
                pass
        if self.run is not None:
            self.run.end("completed")
            self.run = None

    def pre(self, info: Any) -> None:
        from .tracking.fluent import start_run

        source = info.raw_cell or ""
        if source.lstrip().startswith(("%aml history", "%%aml")):
            return  # the switch itself, and cells that are runs of their own
        self.run = start_run(
            EXPERIMENT,
            name="cell",  # numbered once it ran: only the result knows the In [N] the notebook shows
            source_kind="interactive",
            snapshot=False,  # the cell's source is the record; the project folder need not be copied
            workspace=self.workspace,
        )
        self.run.log_text(source, "cell.py")

    def post(self, result: Any) -> None:
        run, self.run = self.run, None
        if run is None:
            return
        count = getattr(result, "execution_count", None)
        if count is not None:  # IPython 9 counts the next cell before this one runs: ask the result
            from .services import runs

            runs.rename(run.workspace, run.pk, f"cell {count}")
        error = result.error_in_exec or result.error_before_exec
        if result.result is not None:
            try:
                summary = repr(result.result)
            except Exception as exc:  # a repr that raises is the user's bug, not ours
                summary = f"<repr failed: {type(exc).__name__}>"
            run.set_tags({"aml.output": summary[:SUMMARY_CHARS]})
        if error is None:
            run.end("completed")
        elif isinstance(error, KeyboardInterrupt):
            run.end("cancelled", error="interrupted")
        else:
            run.end("failed", error=f"{type(error).__name__}: {error}")
