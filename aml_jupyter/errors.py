"""The one exception tree of aml_jupyter.

Every error carries structured fields (the run id, the path, the key) besides its message, so
surfaces can map it to a short user-facing line or a 4xx JSON body without parsing text::

    AmlError
    ├── ConfigError                 bad aml.toml or setting
    ├── WorkspaceError
    │   ├── WorkspaceNotFound       no .aml/ above the current folder and no AML_WORKSPACE
    │   ├── WorkspaceExists         `aml init` on a folder that already has one
    │   └── WorkspaceReadOnly       the workspace cannot be written
    ├── StoreError
    │   ├── StoreCorrupt            the store file is not SQLite, or is truncated
    │   ├── StoreSchemaTooNew       written by a newer aml_jupyter; refused
    │   └── StoreBusy               the store stayed locked past every retry
    ├── InvalidInput (ValueError)   a bad key, value, name, path or filter
    │   ├── InvalidKey
    │   ├── InvalidValue
    │   ├── InvalidName
    │   ├── InvalidPath
    │   └── FilterSyntaxError
    ├── NotFound (LookupError)
    │   ├── RunNotFound
    │   ├── ExperimentNotFound
    │   ├── ArtifactNotFound
    │   ├── DatasetNotFound
    │   └── ModelNotFound           no such model, version or alias
    ├── RunStateError
    │   ├── IllegalTransition       the run lifecycle forbids this change of status
    │   ├── NoActiveRun             aml.log() with no run started
    │   └── AttemptSuperseded       a retried job's old attempt still writing: refused
    ├── SnapshotError
    │   └── SnapshotTooLarge        the source folder exceeds the snapshot size limit
    ├── NoProgramFound              (data prep by example) no program fits the examples
    ├── UntrustedCode               loading it would run someone else's code, and it was not trusted
    │   ├── UntrustedModel          a model file that can run code, not known to be safe to load
    │   └── UntrustedDataset        a registered recipe that runs code (an expression, SQL) by another user
    ├── AccessDenied                a server refused: no token, a wrong one, or a role without the action
    ├── Throttled                   too many requests of one kind at once (429)
    └── JobError                    a submitted job could not be set up or run
        └── TargetUnavailable       a compute target cannot be reached or used here

    UserWarning
    └── EmptySnapshotWarning        a run's snapshot holds no file (its code lies outside the workspace)

Example:
    >>> from aml_jupyter.errors import InvalidKey, AmlError
    >>> issubclass(InvalidKey, AmlError) and issubclass(InvalidKey, ValueError)
    True
"""

from __future__ import annotations

from typing import Any


class AmlError(Exception):
    """Base of every aml_jupyter error; ``fields`` holds the structured details.

    Example:
        >>> e = AmlError("boom", run_id="abc")
        >>> e.fields["run_id"], str(e)
        ('abc', 'boom')
    """

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class ConfigError(AmlError):
    """A setting in aml.toml or passed in code is unknown or has a bad value."""


class WorkspaceError(AmlError):
    """A workspace cannot be found, created or written."""


class WorkspaceNotFound(WorkspaceError):
    """No workspace at the given path, above the current folder, or in AML_WORKSPACE."""


class WorkspaceExists(WorkspaceError):
    """`aml init` was asked to create a workspace where one already is."""


class WorkspaceReadOnly(WorkspaceError):
    """The workspace folder or its store cannot be written."""


class StoreError(AmlError):
    """The run store cannot be opened or used."""


class StoreCorrupt(StoreError):
    """The store file is not an SQLite database, or it is truncated or damaged."""


class StoreSchemaTooNew(StoreError):
    """The store was written by a newer aml_jupyter; opening it could damage it."""


class StoreSchemaTooOld(StoreError):
    """A shared store's schema is older than this aml_jupyter's; ``aml migrate`` upgrades it."""


class StoreBusy(StoreError):
    """The store stayed locked by other writers past every retry."""


class StoreUnreachable(StoreError):
    """The store's database server cannot be reached (down, refusing, or a wrong address)."""


class InvalidInput(AmlError, ValueError):
    """A bad input; nothing was written."""


class InvalidKey(InvalidInput):
    """A metric, param or tag key that is empty, too long, or unsafe."""


class InvalidValue(InvalidInput):
    """A value of the wrong type or size for where it goes."""


class InvalidName(InvalidInput):
    """An experiment, run or artifact name that is not allowed."""


class InvalidPath(InvalidInput):
    """A path that leaves its root, or is not a plain relative name."""


class FilterSyntaxError(InvalidInput):
    """A search filter or order-by clause that does not parse."""


class NotFound(AmlError, LookupError):
    """Something asked for by id or name does not exist."""


class RunNotFound(NotFound):
    """No run has this id (or id prefix)."""


class ExperimentNotFound(NotFound):
    """No experiment has this name or id."""


class ArtifactNotFound(NotFound):
    """The run has no artifact of this name."""


class DatasetNotFound(NotFound):
    """No dataset of this name (or version) is registered."""


class RunStateError(AmlError):
    """The run is not in a state that allows this."""


class IllegalTransition(RunStateError):
    """The run lifecycle has no such transition (for example completed -> running)."""


class NoActiveRun(RunStateError):
    """A logging call was made while no run is active."""


class AttemptSuperseded(RunStateError):
    """A job's attempt whose run was given to a newer attempt (its worker was thought dead and the
    job ran again): its writes are refused, so nothing is counted twice."""

    @classmethod
    def taken_over(cls, mine: str, current: str, **fields: Any) -> AttemptSuperseded:
        """The error for attempt ``mine`` of a run that attempt ``current`` now owns.

        Example:
            >>> str(AttemptSuperseded.taken_over("1", "2"))[:29]
            'this is attempt 1 of its run,'
        """
        return cls(
            f"this is attempt {mine} of its run, which attempt {current} has taken over "
            "(the job was started again): its writes are refused",
            attempt=mine,
            current=current,
            **fields,
        )


class SnapshotError(AmlError):
    """A snapshot could not be taken, restored or compared."""


class SnapshotNotFound(SnapshotError, NotFound):
    """No snapshot of that id in this workspace (a 404 through REST)."""


class SnapshotTooLarge(SnapshotError):
    """The source folder is over the snapshot size limit; ``fields['largest']`` lists why."""


class NoProgramFound(AmlError):
    """No program of the by-example language fits all the examples."""


class JobError(AmlError):
    """A submitted job could not be set up or run (bad notebook, unreachable cluster, ...)."""


class TargetUnavailable(JobError):
    """A compute target cannot be reached or used here (no scheduler, no GPUs, no dask-cuda)."""


class ModelNotFound(NotFound):
    """No model, version or alias of that name in the registry."""


class AccessDenied(AmlError):
    """A server refused the request: no token, a wrong token, or a role that lacks the action."""


class Throttled(AmlError):
    """Too many requests of one kind running at once, for this user or for everyone: try again
    in a moment (a 429 through REST)."""


class UntrustedCode(AmlError):
    """Loading this would run code that someone else wrote, and it was not trusted (a 403
    through REST)."""


class UntrustedModel(UntrustedCode):
    """A model file that can run code when loaded (pickle, joblib, cloudpickle, untrusted skops
    types) whose content is not the registered one, and no explicit ``trusted=True``."""


class UntrustedDataset(UntrustedCode):
    """A registered dataset whose recipe runs code when read (a Python expression step, a SQL
    query, the private network), registered by another user, read without ``trust=True``."""


class EmptySnapshotWarning(UserWarning):
    """A run's snapshot holds no file: the code that ran is not inside the workspace folder.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as seen:
        ...     warnings.simplefilter("always")
        ...     warnings.warn(EmptySnapshotWarning("nothing to record"))
        >>> seen[0].category.__name__
        'EmptySnapshotWarning'
    """


__all__ = [name for name in dir() if name[0].isupper() and name != "Any"]


def did_you_mean(name: str, known: list[str]) -> str:
    """`` (did you mean 'acc'?)`` with the names of ``known`` nearest to ``name``, else the known ones.

    Example:
        >>> did_you_mean("acx", ["acc", "loss"])
        " (did you mean 'acc'?)"
        >>> did_you_mean("zzz", ["acc", "loss"])
        ' (known: acc, loss)'
    """
    import difflib

    near = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    if near:
        return " (did you mean " + " or ".join(repr(n) for n in near) + "?)"
    return f" (known: {', '.join(known[:12])})" if known else " (none yet)"
