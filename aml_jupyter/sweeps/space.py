"""Search spaces: ``NAME=FUNCTION(ARGS)`` with choice, uniform, loguniform, randint and normal.

Only literal arguments are read (``ast.literal_eval``): nothing in a space expression is executed.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidValue

FUNCTIONS = ("choice", "uniform", "loguniform", "randint", "normal")


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: its function and arguments.

    Example:
        >>> from optuna.trial import FixedTrial
        >>> Dimension("lr", "loguniform", (1e-4, 0.1)).suggest(FixedTrial({"lr": 0.01}))
        0.01
    """

    name: str
    function: str
    args: tuple[Any, ...]

    def suggest(self, trial: Any) -> Any:
        """A value for this dimension from an Optuna trial."""
        f, a = self.function, self.args
        if f == "choice":
            return trial.suggest_categorical(self.name, list(a))
        if f == "uniform":
            return trial.suggest_float(self.name, a[0], a[1])
        if f == "loguniform":
            return trial.suggest_float(self.name, a[0], a[1], log=True)
        if f == "randint":  # like numpy: the upper bound is excluded
            return trial.suggest_int(self.name, a[0], a[1] - 1)
        # normal(mu, sigma): Optuna samples bounded ranges, so the sampler's range is mu ± 4 sigma
        # and the value is drawn from it through the normal's inverse CDF.
        u = trial.suggest_float(self.name + "__u", 1e-6, 1 - 1e-6)
        return a[0] + a[1] * math.sqrt(2) * _erfinv(2 * u - 1)


def _erfinv(y: float) -> float:
    # Newton's method on erf; a few steps reach double precision for |y| < 1.
    x = 0.0
    for _ in range(60):
        step = (math.erf(x) - y) / (2 / math.sqrt(math.pi) * math.exp(-x * x))
        x -= step
        if abs(step) < 1e-15:
            break
    return x


def parse_dimension(text: str) -> Dimension:
    """``lr=loguniform(1e-4,1e-1)`` (or ``depth=choice(2,4,8)``) as a :class:`Dimension`.

    Example:
        >>> parse_dimension("depth=choice(2, 4, 8)")
        Dimension(name='depth', function='choice', args=(2, 4, 8))
        >>> parse_dimension("lr=__import__('os')")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidValue: --param lr: use choice(...), ..., not "__import__('os')"
    """
    name, sep, expr = text.partition("=")
    name, expr = name.strip(), expr.strip()
    if not sep or not name.isidentifier():
        raise InvalidValue(f"--param wants NAME=FUNCTION(ARGS), e.g. lr=loguniform(1e-4,1e-1), not {text!r}")
    usage = "use choice(...), uniform(a,b), loguniform(a,b), randint(a,b) or normal(mu,sigma)"
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        raise InvalidValue(f'--param {name}: {usage}, not "{expr}"') from None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
        raise InvalidValue(f'--param {name}: {usage}, not "{expr}"')
    if node.keywords:
        raise InvalidValue(f"--param {name}: arguments are given by position only")
    try:
        args = tuple(ast.literal_eval(a) for a in node.args)
    except ValueError:
        raise InvalidValue(f"--param {name}: the arguments of {node.func.id}() must be literal values") from None
    return _checked(Dimension(name, node.func.id, args))


def _checked(d: Dimension) -> Dimension:
    f, a = d.function, d.args
    if f == "choice":
        if not a:
            raise InvalidValue(f"--param {d.name}: choice() needs at least one value")
        return d
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in a)
    if len(a) != 2 or not numbers:
        raise InvalidValue(f"--param {d.name}: {f}() takes two numbers")
    if f == "randint" and not all(isinstance(x, int) for x in a):
        raise InvalidValue(f"--param {d.name}: randint(low, high) takes integers")
    if f == "normal":
        if a[1] <= 0:
            raise InvalidValue(f"--param {d.name}: normal(mu, sigma) needs sigma > 0")
        return d
    if a[0] >= a[1]:
        raise InvalidValue(f"--param {d.name}: {f}(low, high) needs low < high")
    if f == "loguniform" and a[0] <= 0:
        raise InvalidValue(f"--param {d.name}: loguniform(low, high) needs low > 0")
    return d


def grid_of(space: list[Dimension]) -> dict[str, list[Any]]:
    """The grid a grid sweep walks: every dimension must be a choice (or a randint, expanded).

    Example:
        >>> grid_of([parse_dimension("a=choice(1,2)"), parse_dimension("b=randint(0,3)")])
        {'a': [1, 2], 'b': [0, 1, 2]}
    """
    grid: dict[str, list[Any]] = {}
    for d in space:
        if d.function == "choice":
            grid[d.name] = list(d.args)
        elif d.function == "randint":
            grid[d.name] = list(range(d.args[0], d.args[1]))
        else:
            raise InvalidValue(f"--method grid needs choice() or randint() for every param; {d.name} is {d.function}()")
    return grid
