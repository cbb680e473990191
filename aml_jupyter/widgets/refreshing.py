"""What the live panels share: refreshing themselves on a background thread until stopped."""

from __future__ import annotations

import threading
from typing import Any


class Refreshing:
    """A panel with ``refresh()``, called every ``every`` seconds once :meth:`start_refreshing`
    runs, until :meth:`stop` or until :meth:`done` says so. A refresh that raises is reported
    through :meth:`report` and the next one tries again: the loop never dies of it.

    Example:
        >>> class Clock(Refreshing):
        ...     ticks = 0
        ...     def refresh(self): self.ticks += 1
        >>> c = Clock(); c.start_refreshing(0.01); import time; time.sleep(0.1); c.stop(); c.ticks > 0
        True
    """

    _stop: threading.Event | None = None

    def refresh(self) -> None:
        raise NotImplementedError

    def done(self) -> bool:
        """Whether there is nothing left to follow (then the loop ends)."""
        return False

    def report(self, exc: Exception) -> None:
        """Show a failed refresh to the user."""

    def start_refreshing(self, every: float) -> None:
        """Refresh every ``every`` seconds on a daemon thread (nothing when ``every`` <= 0)."""
        self._stop = threading.Event()
        if every > 0:
            threading.Thread(target=self._loop, args=(every, self._stop), daemon=True).start()

    def _loop(self, every: float, stop: threading.Event) -> None:
        while not stop.wait(every) and not self.done():
            try:
                self.refresh()
            except Exception as exc:  # a panel keeps following: the error is shown, not raised
                self.report(exc)

    def stop(self) -> None:
        """Stop refreshing."""
        if self._stop is not None:
            self._stop.set()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.box._repr_mimebundle_(**kwargs)  # type: ignore[attr-defined]
