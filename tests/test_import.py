"""`import aml_jupyter` stays cheap: heavy libraries load only when a function needs them."""

from __future__ import annotations

import subprocess
import sys


def test_import_loads_no_heavy_library() -> None:
    code = (
        "import sys, aml_jupyter as aml; aml.__version__; "
        "heavy = [m for m in ('pandas', 'numpy', 'sqlalchemy', 'pyarrow', 'matplotlib', 'IPython', 'traitlets') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_logging_path_loads_no_pandas() -> None:
    code = (
        "import sys, tempfile, aml_jupyter as aml\n"
        "ws = aml.Workspace.init(tempfile.mkdtemp())\n"
        "with aml.start_run('e', workspace=ws, snapshot=False):\n"
        "    aml.log('x', 1.0)\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_public_names() -> None:
    import aml_jupyter as aml

    for name in (
        "start_run",
        "log",
        "log_metrics",
        "log_params",
        "set_tags",
        "log_artifact",
        "search_runs",
        "get_run",
        "best_run",
        "compare_runs",
        "Workspace",
    ):
        assert name in aml.__all__ and callable(getattr(aml, name))
