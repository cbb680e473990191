"""Roles for a Jupyter server shared by a team: who may read, write, execute and own (the table
of roles is :mod:`aml_jupyter.services.access`'s).

``AmlAuthorizer`` (``c.ServerApp.authorizer_class = "aml_jupyter.server.AmlAuthorizer"``)
answers every route of the server, Jupyter's own included: with
``--AmlAuthorizer.default_role=reader``, starting a kernel or saving a notebook is 403 too.
Roles come from ``c.AmlAuthorizer.roles`` (user or group name -> role; ``groups`` lists each
group's members) and from those an owner gives through ``PUT /aml/api/v1/roles``, which win for
the same name; a user holding several gets the strongest. Unknown users get ``default_role``
(``reader`` unless set; ``""`` for none).

``AmlIdentityProvider`` gives each member of a team a token of their own, for servers without
JupyterHub: those of ``aml tokens create`` (kept in the workspace, shared with ``aml server``) and
those of its config (``c.AmlIdentityProvider.tokens = {"TOKEN": "alice"}``). Roles, groups and
their rules are :mod:`aml_jupyter.services.access`'s.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User
from traitlets import Dict, Float, List, TraitError, Unicode, validate

from ..services.access import ACTIONS, ROLES, allows, strongest_role

__all__ = ["ACTIONS", "ROLES", "AmlAuthorizer", "AmlIdentityProvider"]


class AmlAuthorizer(Authorizer):
    """Grants an action when the user's role includes it.

    Example:
        >>> from jupyter_server.auth.identity import User
        >>> a = AmlAuthorizer(roles={"alice": "owner"}, default_role="reader")
        >>> a.role_of(User("alice")), a.role_of(User("bob"))
        ('owner', 'reader')
    """

    roles = Dict(
        key_trait=Unicode(), value_trait=Unicode(), config=True, help="user or group name -> reader|contributor|owner"
    )
    groups = Dict(key_trait=Unicode(), value_trait=List(Unicode()), config=True, help="group name -> member names")
    default_role = Unicode("reader", config=True, help='the role of users named nowhere: a role, or "" for none')
    stored_roles_ttl = Float(2.0, config=True, help="seconds the roles given through the API are cached")

    @validate("default_role")
    def _check_default(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if value not in (*ROLES, ""):
            raise TraitError(f"default_role must be one of {', '.join(ROLES)} or empty, not {value!r}")
        return value

    @validate("roles")
    def _check_roles(self, proposal: Any) -> dict[str, str]:
        value = dict(proposal["value"])
        bad = {k: v for k, v in value.items() if v not in ROLES}
        if bad:
            raise TraitError(f"unknown roles {bad}; a role is one of {', '.join(ROLES)}")
        return value

    _cache: tuple[float, Any, dict[str, str], dict[str, list[str]]] | None = None

    def _stored(self, ws: Any) -> tuple[dict[str, str], dict[str, list[str]]]:
        if ws is None:
            return {}, {}
        now = time.monotonic()
        if self._cache is not None and self._cache[1] is ws and now - self._cache[0] < self.stored_roles_ttl:
            return self._cache[2], self._cache[3]
        from ..services.access import stored_groups, stored_roles

        roles, groups = stored_roles(ws), stored_groups(ws)
        self._cache = (now, ws, roles, groups)
        return roles, groups

    def role_of(self, user: User, ws: Any = None) -> str | None:
        """The strongest role ``user`` holds, by name or group, else the default (None for none);
        roles and groups stored in the workspace (``aml roles``) add to and win over the config's."""
        roles, groups = self._stored(ws)
        members = {k: list(v) for k, v in self.groups.items()}
        for group, names in groups.items():
            members.setdefault(group, []).extend(names)
        return strongest_role(user.username, {**self.roles, **roles}, members, str(self.default_role) or None)

    def is_authorized(self, handler: Any, user: User, action: str, resource: str) -> bool:
        ws = handler.settings.get("aml_workspace") if handler is not None else None
        role = self.role_of(user, ws)
        allowed = allows(role, action)
        if allowed and resource == "kernels" and handler is not None and handler.request.method == "DELETE":
            # A dashboard's kernel is stopped by whoever rendered it, or an admin (voila_guard.py).
            from .voila_guard import may_stop

            kernel_id = (getattr(handler, "path_kwargs", None) or {}).get("kernel_id", "")
            allowed = may_stop(kernel_id, user.username) or allows(role, "admin")
        if not allowed:
            self.log.info("refused %s on %s to %s (role: %s)", action, resource, user.username, role or "none")
        return allowed


class AmlIdentityProvider(IdentityProvider):
    """Token login where each token names its user; the server's own token still works.

    Example:
        >>> AmlIdentityProvider(tokens={"s3cret-alice": "alice"}).tokens["s3cret-alice"]
        'alice'
    """

    tokens = Dict(key_trait=Unicode(), value_trait=Unicode(), config=True, help="token -> user name")

    def _user_of(self, given: str) -> User | None:
        for token, name in self.tokens.items():
            if given and hmac.compare_digest(given.encode(), token.encode()):
                return User(username=name, name=name)
        return None

    async def get_user_token(self, handler: Any) -> User | None:
        given = self.get_token(handler) or ""
        return self._user_of(given) or _stored_token_user(handler, given) or await super().get_user_token(handler)

    def process_login_form(self, handler: Any) -> User | None:
        # The login page takes a person's own token too: they then browse as themselves.
        return self._user_of(handler.get_argument("password", default="")) or super().process_login_form(handler)


def _stored_token_user(handler: Any, given: str) -> User | None:
    # A token made by `aml tokens create` is a login here too: one set of users for both servers.
    ws = handler.settings.get("aml_workspace")
    if ws is None or not given.startswith("aml_"):
        return None
    from ..errors import AmlError
    from ..services.access import authenticate

    try:
        principal = authenticate(ws, given)
    except AmlError:  # revoked, expired, or the store is away: not a login
        return None
    return None if principal is None else User(username=principal.user, name=principal.user)
