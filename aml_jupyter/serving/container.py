"""``python -m aml_jupyter.serving.container``: the scoring service inside a packaged image.

It serves the model in ``$AML_MODEL_DIR`` (written by ``aml package``: the files and
``aml-model.json``, which names the version, its flavor, its signature and each file's hash) on
``0.0.0.0:$PORT`` with the key in ``$AML_SERVE_KEY``. Every file is checked against its hash
before loading; without a key it refuses to start.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

MANIFEST = "aml-model.json"


def load_packaged(folder: Path) -> tuple[dict[str, Any], Any]:
    """The manifest and the loaded model of a packaged model folder (hashes checked).

    Example:
        >>> manifest, model = load_packaged(Path("/app/model"))  # doctest: +SKIP
    """
    from ..errors import UntrustedModel
    from ..models import flavors

    manifest = json.loads((folder / MANIFEST).read_text())
    for f in manifest["files"]:
        data = (folder / f["path"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != f["digest"]:
            raise UntrustedModel(f"{f['path']} does not match the hash recorded when it was packaged")
    if manifest.get("native"):  # numpy only: the image need not hold scikit-learn (models/native.py)
        from ..models import native

        return {**manifest, "flavor": "native"}, native.load(folder / manifest["native"])
    vouched = manifest["flavor"] in ("pickle", "python")
    return manifest, flavors.get(manifest["flavor"]).load(folder, trusted=vouched)


def main() -> int:
    """Serve the packaged model until stopped.

    Example:
        >>> main()  # doctest: +SKIP
    """
    import uvicorn

    from .app import create_app

    key = os.environ.get("AML_SERVE_KEY")
    if not key:
        print("AML_SERVE_KEY is not set: the service does not start without a key", file=sys.stderr)
        return 2
    manifest, model = load_packaged(Path(os.environ.get("AML_MODEL_DIR", "/app/model")))
    app = create_app(manifest["ref"], model, manifest["flavor"], manifest.get("signature"), key)
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "0.0.0.0"),
        port=int(os.environ.get("PORT", "8000")),  # noqa: S104
        log_level="warning",
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
