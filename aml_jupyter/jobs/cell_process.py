"""``python -m aml_jupyter.jobs.cell_process JOB_DIR``: a cell job's child process on the local target.

Reads ``payload.pkl`` (source, inputs, outputs, params), runs the cell in the materialized
snapshot, writes ``outputs.pkl``; on failure prints the traceback and exits 1. The run is found
through ``AML_RUN_ID``, so ``aml.log`` in the cell logs to it.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path


def main(job_dir: str) -> int:
    """Run the cell of ``job_dir``; 0 on success.

    Example:
        >>> main("/path/to/.aml/jobs/RUN.1")  # doctest: +SKIP
        0
    """
    import cloudpickle

    from .cell_code import exec_cell

    spec = cloudpickle.loads((Path(job_dir) / "payload.pkl").read_bytes())
    try:
        out = exec_cell(spec["source"], spec.get("inputs"), spec.get("outputs", []), spec.get("params", {}))
    except Exception as exc:
        # The user's frames only: the runner's own frames say nothing about their cell.
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<cell>"]
        if frames:
            print("Traceback (most recent call last):", file=sys.stderr)
            print("".join(traceback.format_list(frames)), end="", file=sys.stderr)
        print("".join(traceback.format_exception_only(exc)), end="", file=sys.stderr)
        return 1
    (Path(job_dir) / "outputs.pkl").write_bytes(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
