"""``aml login`` and ``aml logout``: a laptop's SDK and CLI work through a team server, with the
user's own token, instead of a workspace on this machine."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..errors import InvalidInput
from .common import emit


def cmd_login(args: argparse.Namespace) -> None:
    from ..tracking.uri import login

    token = _token(args)
    me = login(args.url, token)
    actions = ", ".join(me.get("actions", [])) or "none"
    emit(
        args,
        {"uri": args.url.rstrip("/"), "user": me["user"], "actions": me.get("actions", [])},
        f"Logged in to {args.url.rstrip('/')} as {me['user']} (may: {actions}).\n"
        "The SDK and `aml` commands now work through it where no workspace is named; `aml logout` undoes this.",
    )


def _token(args: argparse.Namespace) -> str:
    # Never on the command line: every local user reads it there with `ps`.
    if args.token_stdin:
        token = sys.stdin.readline().strip()
    elif os.environ.get("AML_TRACKING_TOKEN"):
        token = os.environ["AML_TRACKING_TOKEN"].strip()
    elif sys.stdin.isatty():
        import getpass

        token = getpass.getpass(f"token for {args.url} (aml tokens create, on the server): ").strip()
    else:
        raise InvalidInput("no token: pass --token-stdin (and the token on stdin) or set AML_TRACKING_TOKEN")
    if not token:
        raise InvalidInput("the token may not be empty")
    return token


def cmd_logout(args: argparse.Namespace) -> None:
    from ..tracking.uri import logout

    gone = logout()
    said = (
        f"Logged out of {gone}: commands use the workspace of the current folder again." if gone else "Not logged in."
    )
    emit(args, {"logged_out": gone}, said)


def add_login_commands(sub: Any, add: Any) -> None:
    """``aml login URL`` and ``aml logout``.

    Example:
        >>> import argparse
        >>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
        >>> add_login_commands(sub, lambda parent, name, fn, help, json=True: parent.add_parser(name))
    """
    sp = add(
        sub,
        "login",
        cmd_login,
        "work through a team server with your token: the SDK and the CLI, no workspace needed",
    )
    sp.add_argument("url", help="http://HOST:8765 (aml server) or http://HOST:8888/aml (Jupyter with the extension)")
    sp.add_argument(
        "--token-stdin", action="store_true", help="read the token from stdin (else AML_TRACKING_TOKEN, else a prompt)"
    )
    add(sub, "logout", cmd_logout, "forget the saved login: back to the workspace of the current folder")
