"""``aml tokens`` and ``aml roles``: who may use the team server and the Jupyter extension.

Both act on the workspace's store directly, so they need what an owner has: the workspace
(its ``aml.toml`` and store). The rules are :mod:`aml_jupyter.services.access`'s.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from .common import workspace
from .tables import dumps, render_table


def _when(ms: int | None) -> str:
    return "-" if ms is None else time.strftime("%Y-%m-%d %H:%M", time.gmtime(ms / 1000))


def _cmd_tokens_create(args: argparse.Namespace) -> None:
    from ..services import access
    from ..services.runs import current_user

    ws = workspace(args)
    if args.role:
        access.set_roles(ws, {args.user: args.role})
    secret, row = access.create_token(
        ws, args.user, args.name or "", created_by=current_user(), expires_days=args.expires_days
    )
    if args.json:
        print(dumps({**row, "token": secret, "role": access.role_of(ws, args.user)}))
        return
    print(secret)
    role = access.role_of(ws, args.user) or "none"
    print(f"token {row['id']} for {row['user']} (role: {role}); shown only now, keep it secret", flush=True)


def _cmd_tokens_list(args: argparse.Namespace) -> None:
    from ..services import access

    rows = access.list_tokens(workspace(args))
    if args.json:
        print(dumps(rows))
        return
    headers = ["id", "user", "name", "created", "last_used", "expires", "revoked"]
    cells = [
        [
            r["id"],
            r["user"],
            r["name"],
            _when(r["created_at"]),
            _when(r["last_used_at"]),
            _when(r["expires_at"]),
            _when(r["revoked_at"]),
        ]
        for r in rows
    ]
    print(render_table(headers, cells))


def _cmd_tokens_revoke(args: argparse.Namespace) -> None:
    from ..services import access

    row = access.revoke_token(workspace(args), args.id)
    print(f"revoked token {row['id']} of {row['user']}: its next request is refused")


def _cmd_roles(args: argparse.Namespace) -> None:
    from ..services import access

    ws = workspace(args)
    if args.sub == "set":
        access.set_roles(ws, {args.name: args.role})
    elif args.sub == "unset":
        access.set_roles(ws, {args.name: None})
    elif args.sub == "group":
        access.set_roles(ws, {}, {args.name: list(args.members)})
    roles, groups = access.stored_roles(ws), access.stored_groups(ws)
    if getattr(args, "json", False):
        print(dumps({"roles": roles, "groups": groups}))
        return
    rows = [[name, role, ", ".join(groups.get(name, []))] for name, role in sorted(roles.items())]
    rows += [[g, "-", ", ".join(m)] for g, m in sorted(groups.items()) if g not in roles]
    print(render_table(["name", "role", "members"], rows))


def add_access_commands(sub: Any, add: Any) -> None:
    """Add ``tokens`` and ``roles`` to the ``aml`` parser.

    Example:
        >>> import argparse
        >>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
        >>> def add(parent, name, fn, help, json=True):
        ...     sp = parent.add_parser(name); sp.set_defaults(fn=fn); sp.add_argument("--json", action="store_true")
        ...     return sp
        >>> add_access_commands(sub, add)
        >>> p.parse_args(["tokens", "create", "alice", "--role", "contributor"]).role
        'contributor'
    """
    tokens = sub.add_parser("tokens", help="per-user tokens of aml server (and the Jupyter extension)")
    tsub = tokens.add_subparsers(dest="sub", required=True, metavar="ACTION")
    sp = add(tsub, "create", _cmd_tokens_create, "make a token for a user (printed once)")
    sp.add_argument("user", help="the user the token logs in as")
    sp.add_argument("--name", default=None, help="what the token is for (default: its id)")
    sp.add_argument(
        "--role", default=None, choices=["reader", "contributor", "owner"], help="also give the user this role"
    )
    sp.add_argument("--expires-days", type=float, default=None, help="refuse the token after this many days")
    add(tsub, "list", _cmd_tokens_list, "every token: user, name, created, last used, revoked")
    sp = add(tsub, "revoke", _cmd_tokens_revoke, "refuse a token from its next request on", json=False)
    sp.add_argument("id", help="the token's id (aml tokens list)")

    roles = sub.add_parser("roles", help="roles of users and groups, kept in the workspace")
    rsub = roles.add_subparsers(dest="sub", required=True, metavar="ACTION")
    add(rsub, "list", _cmd_roles, "the roles and groups given")
    sp = add(rsub, "set", _cmd_roles, "give a user or group a role")
    sp.add_argument("name")
    sp.add_argument("role", choices=["reader", "contributor", "owner"])
    sp = add(rsub, "unset", _cmd_roles, "take a user's or group's role away")
    sp.add_argument("name")
    sp = add(rsub, "group", _cmd_roles, "make MEMBERS the whole of group NAME (none deletes it)")
    sp.add_argument("name")
    sp.add_argument("members", nargs="*")
