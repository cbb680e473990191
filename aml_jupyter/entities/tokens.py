"""Run-scoped tokens: how one is named, so the access rules (services/access.py) that make and
check them and the job engine (jobs/backends.py) that revokes them when its job ends agree."""

from __future__ import annotations

from typing import Any

RUN_TOKEN_MAKER = "aml:run"  # created_by of a job's run-scoped token (no user name has that form)
RUN_TOKEN_DAYS = 30  # a run-scoped token also dies with its run, whichever comes first


def run_token_name(run_id: str) -> str:
    """The name of run ``run_id``'s tokens.

    Example:
        >>> run_token_name("ab" * 16)[:6]
        'run:ab'
    """
    return f"run:{run_id}"


def live_run_tokens(rows: list[dict[str, Any]], run_id: str) -> list[str]:
    """The ids of run ``run_id``'s tokens among the stored ``rows`` that are not revoked.

    Example:
        >>> live_run_tokens([{"id": "t1", "created_by": "aml:run", "name": "run:r1", "revoked_at": None}], "r1")
        ['t1']
    """
    name = run_token_name(run_id)
    return [
        t["id"] for t in rows if t["created_by"] == RUN_TOKEN_MAKER and t["name"] == name and t["revoked_at"] is None
    ]
