"""What a search asks for: the twin of services.runs.RunSpec, for reading runs.

Every layer of a search takes one :class:`RunQuery`: the services build it from what a surface was
given (experiment names become ids there), the store runs it. The SDK's, the CLI's and the REST
API's parameters (filter, experiments, order_by, max_results, offset) are spelled once, here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import InvalidValue

DEFAULT_MAX_RESULTS = 100_000


@dataclass(frozen=True)
class RunQuery:
    """A filter (the MLflow-style grammar of entities/filter.py), the experiments it looks in (None:
    all), the order (newest first when empty) and which page.

    Example:
        >>> q = RunQuery("metrics.acc > 0.9", order_by=("metrics.acc DESC",), max_results=10)
        >>> q.next_page().offset
        10
    """

    filter: str | None = None
    experiment_ids: tuple[int, ...] | None = None
    order_by: tuple[str, ...] = ()
    max_results: int = DEFAULT_MAX_RESULTS
    offset: int = 0

    def next_page(self) -> RunQuery:
        """The same query, one page further on."""
        return replace(self, offset=self.offset + self.max_results)

    def with_page(self, max_results: int, offset: int) -> RunQuery:
        """The same query, another page.

        Example:
            >>> RunQuery().with_page(5, 20).offset
            20
        """
        return replace(self, max_results=max_results, offset=offset)


def order_terms(order_by: list[str] | tuple[str, ...] | str | None) -> tuple[str, ...]:
    """``order_by`` as given by a caller (one term, several, or none) as a tuple.

    Example:
        >>> order_terms("metrics.acc DESC"), order_terms(None)
        (('metrics.acc DESC',), ())
    """
    if order_by is None:
        return ()
    if isinstance(order_by, str):
        return (order_by,)
    if not isinstance(order_by, list | tuple):
        raise InvalidValue(f"order_by must be a term or a list of terms, not {order_by!r}")
    return tuple(order_by)
