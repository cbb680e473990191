"""Voila's routes under the server's authorizer.

The ``jupyter`` extra installs Voila, whose server extension is then enabled in the same Jupyter
server. Its handlers only check that somebody logged in: a user with no role could render a
notebook (run its code in a new kernel, as the server's user) and shut down anybody's kernel. The
aml extension therefore puts every Voila route it finds behind the same authorizer that answers
Jupyter's and aml's own routes:

=================================== =================================================
Voila route                         needs
=================================== =================================================
render, progressive execution       ``execute`` on ``voila`` (it runs the notebook)
shutdown of a kernel                ``execute``, and the kernel must be one the caller
                                    rendered (anyone else's needs ``admin``); the same
                                    holds for ``DELETE /api/kernels/ID`` (roles.py)
tree, contents, files (images)      ``read`` on ``contents``
=================================== =================================================

Voila's own static files (its templates and scripts) stay open, as Jupyter's do.

``make dashboard`` runs Voila on its own (not as a server extension), on loopback, for one user.
"""

from __future__ import annotations

import inspect
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import ensure_async
from tornado import web

EXECUTE = {"TornadoVoilaHandler", "VoilaHandler", "ExecutionRequestHandler"}
READ_CONTENTS = {"TornadoVoilaTreeHandler", "VoilaTreeHandler", "VoilaContentsHandler", "AllowListFileHandler"}
SHUTDOWN = {"VoilaShutdownKernelHandler"}


def _needs(cls: type) -> tuple[str, str]:
    name = cls.__name__
    if name in EXECUTE or name in SHUTDOWN:
        return "execute", "voila"
    return "read", "contents"


class _RecordingKernels:
    """A kernel manager that remembers who started each kernel through it."""

    def __init__(self, manager: Any, user: str, owners: dict[str, str]) -> None:
        self._manager, self._user, self._owners = manager, user, owners

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)

    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:
        kernel_id = str(await ensure_async(self._manager.start_kernel(*args, **kwargs)))
        self._owners[kernel_id] = self._user
        return kernel_id


# Who rendered each dashboard kernel (kernel id -> user name), for this server process: only they,
# or an admin, may stop it, through Voila's shutdown route or Jupyter's own kernels API (roles.py).
DASHBOARD_KERNELS: dict[str, str] = {}


def may_stop(kernel_id: str, user: str) -> bool:
    """Whether ``user`` may stop kernel ``kernel_id`` without ``admin``: any kernel but a dashboard
    kernel someone else rendered.

    Example:
        >>> DASHBOARD_KERNELS["k1"] = "ann"; may_stop("k1", "bob"), may_stop("k1", "ann"), may_stop("k2", "bob")
        (False, True, True)
    """
    owner = DASHBOARD_KERNELS.get(kernel_id)
    return owner is None or owner == user


class _PlainHandler:
    """What Jupyter's identity provider reads of a handler, for Voila's file handler (a plain
    static one): without it, the provider's ``handler.base_url`` was a 500 whose traceback wrote
    the request's ``?token=`` into the log."""

    @property
    def base_url(self) -> str:
        return str(self.settings.get("base_url", "/"))  # type: ignore[attr-defined]

    @property
    def token(self) -> str | None:
        return self.settings["identity_provider"].token  # type: ignore[attr-defined,no-any-return]

    @property
    def log(self) -> Any:
        from jupyter_server.base.handlers import log as server_log

        return server_log()


async def _user_of(handler: Any) -> Any:
    # Jupyter's handlers know their user; Voila's file handler is a plain static one: ask the
    # server's identity provider, as Jupyter's handlers do.
    if isinstance(handler, JupyterHandler):
        return handler.current_user
    return await ensure_async(handler.settings["identity_provider"].get_user(handler))


def _guarded(cls: type) -> bool:
    # Voila's own static files (templates, scripts) are not the users' data: left as they are.
    return issubclass(cls, JupyterHandler) or cls.__name__ in READ_CONTENTS


def guard(cls: type, owners: dict[str, str]) -> type:
    """A subclass of the Voila handler ``cls`` that asks the server's authorizer first.

    Example:
        >>> from tornado.web import RequestHandler
        >>> guard(RequestHandler, {}).__name__
        'GuardedRequestHandler'
    """
    action, resource = _needs(cls)
    shutdown = cls.__name__ in SHUTDOWN
    renders = cls.__name__ in EXECUTE

    bases = (cls,) if issubclass(cls, JupyterHandler) else (_PlainHandler, cls)

    class Guarded(*bases):  # type: ignore[misc]
        async def prepare(self, *args: Any, **kwargs: Any) -> None:
            result = super().prepare(*args, **kwargs)
            if inspect.isawaitable(result):
                await result
            if self._finished:  # e.g. redirected to the login page
                return
            user = await _user_of(self)
            if user is None:
                raise web.HTTPError(403, "log in first")
            authorizer = self.settings["authorizer"]
            if not await ensure_async(authorizer.is_authorized(self, user, action, resource)):
                raise web.HTTPError(403, f"{action} on {resource} needs a role that allows it")
            if shutdown:
                kernel_id = (self.path_args or [""])[0]
                if owners.get(kernel_id) != user.username and not await ensure_async(
                    authorizer.is_authorized(self, user, "admin", "kernels")
                ):
                    raise web.HTTPError(403, "only the user who rendered this dashboard may shut its kernel down")
                owners.pop(kernel_id, None)

        if renders:

            @property
            def kernel_manager(self) -> Any:
                return _RecordingKernels(super().kernel_manager, self.current_user.username, owners)

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{cls.__name__}"
    return Guarded


def guard_voila(web_app: Any) -> int:
    """Put every Voila handler of ``web_app`` behind its authorizer; how many routes were guarded.

    Example:
        >>> guard_voila(serverapp.web_app)  # doctest: +SKIP
        10
    """
    owners = DASHBOARD_KERNELS
    guarded: dict[type, type] = {}
    count = 0

    def walk(router: Any) -> None:
        nonlocal count
        for rule in getattr(router, "rules", []):
            target = rule.target
            if isinstance(target, type) and target.__module__.split(".")[0] == "voila" and _guarded(target):
                if target not in guarded:
                    guarded[target] = guard(target, owners)
                rule.target = guarded[target]
                count += 1
            else:
                walk(target)

    walk(web_app.default_router)
    walk(web_app.wildcard_router)
    return count
