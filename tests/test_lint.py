"""House style that a machine can check: ruff and mypy --strict on the package (STYLE.md 4)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_layers import FLOORS

BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_ruff() -> None:
    proc = subprocess.run(
        [str(BIN / "ruff"), "check", "aml_jupyter", "tests", "benchmarks"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_mypy_strict() -> None:
    proc = subprocess.run([str(BIN / "mypy")], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The tests' in-memory plug-in store, held to the store Protocols as the SQL classes are.
    proc = subprocess.run([str(BIN / "mypy"), "tests/store/memory.py"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# The surfaces, the top floor (tests/test_layers.py) less the package's root: they reach the store
# only through the services.
SURFACES = FLOORS[-1] - {"__init__"}


def surface_uses_of_the_store(package: Path) -> list[str]:
    """``module:line -> what`` for each place a surface reaches past the services into the store:
    an import of ``aml_jupyter.store``, a ``.store`` or ``.snapshot_store`` attribute
    (``ws.store.get_run``), or a workspace's ``.artifacts`` (``ws.artifacts``, not a record's)."""
    import ast

    found = []
    for f in sorted(package.rglob("*.py")):
        rel = f.relative_to(package)
        if rel.parts[0].removesuffix(".py") not in SURFACES:
            continue
        for node in ast.walk(ast.parse(f.read_text())):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.level:
                base = list(rel.parts[: len(rel.parts) - node.level])
                names.append(".".join([*base, *([node.module] if node.module else [])]))
                if not node.module:
                    names += [".".join([*base, a.name]) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aml_jupyter."):
                names.append(str(node.module).removeprefix("aml_jupyter."))
            elif isinstance(node, ast.Import):
                names += [a.name.removeprefix("aml_jupyter.") for a in node.names if a.name.startswith("aml_jupyter.")]
            found += [f"{rel}:{node.lineno} -> import {n}" for n in names if n.split(".")[0] == "store"]
            is_option = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "args"
            if isinstance(node, ast.Attribute) and node.attr == "store" and not is_option:  # args.store: --store
                found.append(f"{rel}:{node.lineno} -> .store")
            if isinstance(node, ast.Attribute) and node.attr == "snapshot_store":
                found.append(f"{rel}:{node.lineno} -> .snapshot_store")
            if isinstance(node, ast.Attribute) and node.attr == "artifacts" and _is_workspace(node.value):
                found.append(f"{rel}:{node.lineno} -> .artifacts")
    return sorted(found, key=lambda f: (f.split(":")[0], int(f.split(":")[1].split(" ")[0]), f))


def _is_workspace(node: object) -> bool:
    # ws.artifacts, self.ws.artifacts, api.ws.artifacts, Workspace.open(...).artifacts: a workspace's
    # artifact store. record.artifacts (a run's list of them) is not the store.
    import ast

    named = {"ws", "workspace"}
    if isinstance(node, ast.Name):
        return node.id in named
    if isinstance(node, ast.Attribute):
        return node.attr in named
    return isinstance(node, ast.Call)


def test_surfaces_reach_the_store_only_through_the_services(tmp_path: Path) -> None:
    assert surface_uses_of_the_store(REPO / "aml_jupyter") == []
    bad = tmp_path / "pkg" / "server"
    bad.mkdir(parents=True)
    (bad / "api.py").write_text(
        "from ..store.sql.runs import RunStore\n\ndef h(ws):\n    return ws.store.get_run('a')\n"
        "def g(self, record):\n    self.ws.snapshot_store.files('b'), self.ws.artifacts.url, record.artifacts\n"
    )
    assert surface_uses_of_the_store(tmp_path / "pkg") == [
        "server/api.py:1 -> import store.sql.runs",
        "server/api.py:4 -> .store",
        "server/api.py:6 -> .artifacts",
        "server/api.py:6 -> .snapshot_store",
    ]
