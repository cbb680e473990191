"""What a script's argparse declares, read without running it: each ``--option`` with its kind
(a flag, a choice, a number, text), default, choices and help, so a submission can show, check,
record and pass them the way the script reads them.

Read from the source alone (``ast``): a script is never imported to be described. Where its parser
cannot be read that way (options named by variables, a parser built in another module), ``readable``
is false and a caller offers free arguments instead.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from typing import Any

NO_DEFAULT: Any = object()  # argparse's own default then is None

FLAG_ACTIONS = {"store_true": False, "store_false": True}  # the action and the default it implies
TYPES = {"int": "int", "float": "float", "str": "text"}


@dataclass
class Option:
    """One ``--option`` of a script.

    Example:
        >>> Option("lr", "float", 0.01).to_json()["kind"]
        'float'
    """

    name: str  # as written after --
    kind: str  # flag, flag_off (store_false), choice, int, float, text, other (nargs, append, a type we cannot read)
    default: Any = NO_DEFAULT
    choices: list[Any] = field(default_factory=list)
    required: bool = False
    help: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "default": None if self.default is NO_DEFAULT else self.default,
            "required": self.required,
            "choices": list(self.choices),
            "help": self.help,
        }


@dataclass
class Parser:
    """A script's options, and whether they could all be read."""

    options: list[Option]
    readable: bool


def read_parser(source: str) -> Parser:
    """The ``--options`` that ``source`` declares with ``add_argument``.

    Example:
        >>> p = read_parser("import argparse\\np = argparse.ArgumentParser()\\n"
        ...                 "p.add_argument('--smoke', action='store_true')\\n"
        ...                 "p.add_argument('--lr', type=float, default=0.1)\\n")
        >>> [(o.name, o.kind, o.default) for o in p.options], p.readable
        ([('smoke', 'flag', False), ('lr', 'float', 0.1)], True)
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return Parser([], readable=False)
    options: list[Option] = []
    readable = True
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", None) == "add_argument"]
    for call in calls:
        if call.args and not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args):
            readable = False  # an option named by a variable: what it is cannot be said here
            continue
        flags = [str(a.value) for a in call.args if isinstance(a, ast.Constant)]
        long = next((f[2:] for f in flags if f.startswith("--")), None)
        if long is None:
            if flags and not any(f.startswith("-") for f in flags):
                readable = False  # a positional argument: given in free arguments, not by name
            continue
        option = _option(long, call)
        if option.kind == "other":
            readable = False
        options.append(option)
    if not calls and ("argparse" in source and "parse_args" in source):
        readable = False  # a parser made elsewhere (a helper, another module)
    if "add_subparsers" in source or "add_mutually_exclusive_group" in source:
        readable = False  # which options apply depends on the others: none is passed unless given
    return Parser(options, readable)


def _option(name: str, call: ast.Call) -> Option:
    kw = {k.arg: k.value for k in call.keywords if k.arg}
    action = _literal(kw.get("action"))
    default = _literal(kw["default"]) if "default" in kw else NO_DEFAULT
    help_text = _literal(kw.get("help"))
    option = Option(name, "text", default, help=help_text if isinstance(help_text, str) else "")
    option.required = _literal(kw.get("required")) is True
    if action in FLAG_ACTIONS:
        option.kind = "flag" if action == "store_true" else "flag_off"
        option.default = FLAG_ACTIONS[action] if default is NO_DEFAULT else default
        return option
    if action not in (None, "store") or "nargs" in kw or default is _UNREADABLE:
        option.kind = "other"
        option.default = NO_DEFAULT
        return option
    choices = _literal(kw.get("choices"))
    type_node = kw.get("type")
    type_name = type_node.id if isinstance(type_node, ast.Name) else None
    if "type" in kw and type_name not in TYPES:
        option.kind = "other"  # a converter of the script's own: what it takes cannot be said here
        return option
    option.kind = TYPES.get(type_name or "str", "text")
    if isinstance(choices, list | tuple) and choices:
        option.kind = "choice"
        option.choices = list(choices)
    return option


_UNREADABLE: Any = object()


def _literal(node: ast.expr | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _UNREADABLE


def check_value(option: Option, value: Any) -> Any:
    """``value`` as ``option`` takes it (a number from its text, a flag from true/false), or
    ValueError saying what it takes.

    Example:
        >>> check_value(Option("lr", "float"), "0.5"), check_value(Option("smoke", "flag"), "true")
        (0.5, True)
        >>> check_value(Option("epochs", "int"), "many")
        Traceback (most recent call last):
        ...
        ValueError: --epochs takes a whole number, not 'many'
    """
    if option.kind in ("flag", "flag_off"):
        if isinstance(value, bool):
            return value
        if str(value).strip().lower() in ("true", "1", "yes", "on"):
            return True
        if str(value).strip().lower() in ("false", "0", "no", "off", ""):
            return False
        raise ValueError(f"--{option.name} is a flag: true or false, not {value!r}")
    if option.kind == "int":
        try:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value) if not isinstance(value, str) else int(value.strip())
        except (TypeError, ValueError):
            raise ValueError(f"--{option.name} takes a whole number, not {value!r}") from None
    if option.kind == "float":
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"--{option.name} takes a number, not {value!r}") from None
    if option.kind == "choice":
        for choice in option.choices:
            if value == choice or str(value) == str(choice):
                return choice
        raise ValueError(f"--{option.name} takes one of {', '.join(map(str, option.choices))}, not {value!r}")
    return value


def as_text(value: Any) -> str:
    """How a value is recorded as a param and passed on a command line (``True``, ``0.5``, ``a b``).

    Example:
        >>> as_text(3.0), as_text(True), as_text("x")
        ('3.0', 'True', 'x')
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float) or value is None:
        return str(value)
    return json.dumps(value)


def with_defaults(parser: Parser, given: dict[str, Any]) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    """What a script runs with: the ``given`` params checked and typed by its options, and every
    option's default besides (what the script sees when it is not given). Returns the params, the
    names that are defaults (not passed on the command line), and the flags' kinds.

    Example:
        >>> p = read_parser("p.add_argument('--smoke', action='store_true')\\np.add_argument('--lr', default=0.1)")
        >>> with_defaults(p, {"lr": "0.5"})
        ({'smoke': False, 'lr': '0.5'}, ['smoke'], {'smoke': 'flag'})
    """
    by_name = {o.name: o for o in parser.options}
    params: dict[str, Any] = {}
    defaults: list[str] = []
    for option in parser.options:
        if parser.readable and option.kind != "other" and option.default not in (NO_DEFAULT, None):
            params[option.name] = option.default
            defaults.append(option.name)
    for name, value in given.items():
        known = by_name.get(name)
        params[name] = check_value(known, value) if known is not None else value
        if name in defaults:
            defaults.remove(name)
    flags = {o.name: o.kind for o in parser.options if o.kind in ("flag", "flag_off") and o.name in params}
    return params, defaults, flags


def command_line(params: dict[str, str], defaults: list[str], flags: dict[str, str]) -> list[str]:
    """The arguments a script is started with for its recorded ``params`` (text): ``--NAME VALUE``
    for each that was given, a flag's name alone where it is set.

    Example:
        >>> command_line({"smoke": "True", "lr": "0.5", "epochs": "3"}, ["epochs"], {"smoke": "flag"})
        ['--smoke', '--lr', '0.5']
    """
    out: list[str] = []
    for name, value in params.items():
        if name in defaults:
            continue
        kind = flags.get(name)
        if kind is None:
            out += [f"--{name}", value]
        elif (kind == "flag") == (value == "True"):
            out.append(f"--{name}")
    return out
