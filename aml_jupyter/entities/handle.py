"""What code logging to a run needs of it, whether the run is in this workspace or behind ``aml server``.

:class:`~aml_jupyter.tracking.run.Run` and :class:`~aml_jupyter.tracking.remote.RemoteRun` both meet
:class:`RunHandle` (mypy checks it in tracking/fluent.py), so the SDK and the job engine hold either
through one type.
"""

from __future__ import annotations

import os
from typing import Any, Protocol


class RunHandle(Protocol):
    """One run to log to.

    Example:
        >>> def train(run: RunHandle) -> None:
        ...     run.log_params({"lr": 0.01}); run.log("loss", 0.5, step=0); run.flush()
    """

    id: str

    def log(self, key: str, value: Any, step: int | None = None, timestamp: float | None = None) -> None: ...

    def log_metrics(self, metrics: dict[str, Any], step: int | None = None, timestamp: float | None = None) -> None: ...

    def log_params(self, params: dict[str, Any]) -> None: ...

    def log_param(self, key: str, value: Any) -> None: ...

    def set_tags(self, tags: dict[str, Any]) -> None: ...

    def set_tag(self, key: str, value: Any) -> None: ...

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> Any: ...

    def log_text(self, text: str, name: str) -> Any: ...

    def flush(self) -> None: ...
