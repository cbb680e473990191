"""One floor per folder (docs/design.md, "Floors"): each package imports only from floors below its
own, and no two packages import each other. Read from the code's own imports (``ast``): module-level,
inside functions and under ``TYPE_CHECKING`` alike, since each is a dependency all the same.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.conftest import REPO

# From the ground up; the names are the package's top-level modules and folders. docs/design.md draws
# the same table and says why each package stands where it does.
FLOORS: list[set[str]] = [
    {"errors", "paths", "config", "processes", "sysmetrics", "version"},  # base
    {"entities"},  # pure values and rules
    {"store", "snapshots"},  # persistence
    {"workspace", "seals"},  # a workspace's stores, settings and key
    {"compute", "jobs", "dataprep", "models", "warm"},  # engines
    {"services"},  # every use case a surface calls
    {"tracking"},  # the SDK
    {"learn", "sweeps", "templates"},  # libraries over the SDK
    {  # surfaces
        "cli",
        "launch",
        "magics",
        "history",
        "widgets",
        "server",
        "serving",
        "demo",
        "__init__",
    },
]


def _module(rel: Path) -> list[str]:
    parts = list(rel.with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _named(package: Path, module: str, name: str) -> str:
    # ``from module import name``: the submodule when there is one, else a name of module's __init__.
    inner = package.joinpath(*[p for p in module.split(".") if p], name)
    if inner.with_suffix(".py").is_file() or (inner / "__init__.py").is_file():
        return f"{module}.{name}".lstrip(".")
    return module or "__init__"


def imports(package: Path) -> list[tuple[str, int, str]]:
    """``(file, line, imported module)`` for each import of the package by its own modules, the
    imported name relative to the package (``store.sql.runs``).

    Example:
        >>> ("entities/series.py", 16, "errors") in imports(REPO / "aml_jupyter")
        True
    """
    found = []
    for f in sorted(package.rglob("*.py")):
        rel = f.relative_to(package)
        if "files" in rel.parts[:2] and rel.parts[0] == "templates":
            continue  # the project templates: user code, written out by aml init
        here = _module(rel)
        home = here if f.name == "__init__.py" else here[:-1]
        for node in ast.walk(ast.parse(f.read_text())):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.level:
                base = home[: len(home) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
                names += [module] if node.module else [_named(package, module, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aml_jupyter."):
                names.append(str(node.module).removeprefix("aml_jupyter."))
            elif isinstance(node, ast.ImportFrom) and node.module == "aml_jupyter":
                names += [_named(package, "", a.name) for a in node.names]
            elif isinstance(node, ast.Import):
                names += [a.name.removeprefix("aml_jupyter.") for a in node.names if a.name.startswith("aml_jupyter.")]
            found += [(rel.as_posix(), node.lineno, n) for n in names if n]
    return found


def _top(module: str) -> str:
    return module.split(".")[0] or "__init__"


def floor_of(name: str) -> int:
    """The floor of a top-level package or module (0 is the ground).

    Example:
        >>> floor_of("entities") < floor_of("store") < floor_of("services") < floor_of("tracking")
        True
    """
    for n, floor in enumerate(FLOORS):
        if name in floor:
            return n
    raise AssertionError(f"{name} stands on no floor: add it to FLOORS here and to docs/design.md")


def upward_imports(package: Path) -> list[str]:
    """``file:line -> module`` for each import from a lower floor to a higher one.

    Example:
        >>> upward_imports(REPO / "aml_jupyter")
        []
    """
    found = []
    for file, line, target in imports(package):
        src, dst = _top(_module(Path(file))[0] if _module(Path(file)) else "__init__"), _top(target)
        if src != dst and floor_of(dst) > floor_of(src):
            found.append(f"{file}:{line} -> {target}")
    return found


def package_circles(package: Path) -> list[list[str]]:
    """Groups of packages that import each other, directly or round a circle (each sorted).

    Example:
        >>> package_circles(REPO / "aml_jupyter")
        []
    """
    graph: dict[str, set[str]] = defaultdict(set)
    for file, _, target in imports(package):
        parts = _module(Path(file))
        src = _top(parts[0] if parts else "__init__")
        if src != _top(target):
            graph[src].add(_top(target))
    # Tarjan's strongly connected components: any with two or more packages is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return circles


def test_every_package_imports_only_from_the_floors_below_it() -> None:
    assert upward_imports(REPO / "aml_jupyter") == []


def test_no_two_packages_import_each_other() -> None:
    assert package_circles(REPO / "aml_jupyter") == []


def test_every_package_stands_on_a_floor() -> None:
    names = {p.name.removesuffix(".py") for p in (REPO / "aml_jupyter").iterdir() if p.suffix == ".py" or p.is_dir()}
    for name in names - {"__pycache__", "labextension", "py.typed"}:
        if (REPO / "aml_jupyter" / name).is_dir() and not (REPO / "aml_jupyter" / name / "__init__.py").exists():
            continue  # data, not code
        floor_of(name)


def test_the_checks_see_an_upward_import_and_a_circle(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    for folder in ("store", "services", "jobs"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (pkg / "store" / "runs.py").write_text("def f():\n    from ..services import runs\n")  # a lazy import counts
    (pkg / "jobs" / "submit.py").write_text("from aml_jupyter.services.runs import create\n")
    (pkg / "services" / "runs.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..jobs import x\n"
    )
    assert upward_imports(pkg) == ["jobs/submit.py:1 -> services.runs", "store/runs.py:2 -> services"]
    assert package_circles(pkg) == [["jobs", "services"]]
