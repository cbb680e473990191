"""The aml REST API: its handlers (``api``, ``routes``, ``openapi``), ``aml server`` (``http``), the
Jupyter server extension (``extension``) and roles (``roles``: ``AmlAuthorizer``).

Example:
    >>> from aml_jupyter.server import AmlAuthorizer  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "AmlAuthorizer": "roles",
    "AmlIdentityProvider": "roles",
    "AmlExtension": "extension",
}


def __getattr__(name: str) -> Any:
    # Jupyter's classes load only when asked for: `aml server` and the SDK never need them.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(name)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .extension import AmlExtension

    return [{"module": "aml_jupyter.server.extension", "app": AmlExtension}]
