"""Model flavors: how a kind of model is saved to files and loaded back, as plugins.

A flavor has a ``name``, ``claims(obj)`` (whether it saves this in-memory object), ``detect(files)``
(whether these files are its format), ``save(obj, folder)`` and ``load(folder, trusted)``.
:func:`register` adds one; :func:`get` finds one by name. Others come from the entry point group
``aml_jupyter.flavors``, read on first use, never at import.

Built in:

- ``sklearn``: scikit-learn estimators (LightGBM's and aml_jupyter.learn's models among them) saved
  with skops (``model.skops``); loading accepts only the types skops trusts by default and those of
  :data:`SKOPS_ALLOWED`, unless ``trusted=True``.
- ``python``: a folder with ``score.py`` defining ``init()`` and ``run(data)`` (the 2017
  workbench's convention); loading runs that code, so it needs ``trusted=True``, which a
  registered version (its files' hashes checked) gives.
- ``onnx``: a ``model.onnx`` file run with onnxruntime (when installed).
- ``pickle``: ``.pkl``/``.joblib`` files; they run code when loaded, so only a registered version
  whose files match their recorded hashes, or ``trusted=True``, loads.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, Protocol

from ..errors import InvalidValue, UntrustedModel


class Flavor(Protocol):
    """What a flavor provides."""

    name: str

    def claims(self, obj: Any) -> bool: ...

    def detect(self, files: list[str]) -> bool: ...

    def save(self, obj: Any, folder: Path) -> None: ...

    def load(self, folder: Path, trusted: bool) -> Any: ...


# Types skops does not trust by default whose saved state is data only (numbers, arrays, a
# LightGBM model's text), so loading them runs no code of the file's choosing.
SKOPS_ALLOWED = frozenset(
    {
        "aml_jupyter.learn.features.Featurizer",
        "aml_jupyter.learn.model.LearnedModel",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.tree._tree.Tree",
        "lightgbm.sklearn.LGBMClassifier",
        "lightgbm.sklearn.LGBMRegressor",
        "lightgbm.basic.Booster",
        "collections.OrderedDict",
    }
)


class SklearnFlavor:
    name = "sklearn"
    FILE = "model.skops"

    def claims(self, obj: Any) -> bool:
        if type(obj).__module__.split(".")[0] == "sklearn" and hasattr(obj, "fit"):
            return True
        base = sys.modules.get("sklearn.base")  # an estimator of another library: sklearn is loaded
        return base is not None and isinstance(obj, base.BaseEstimator) and hasattr(obj, "fit")

    def detect(self, files: list[str]) -> bool:
        return any(f.endswith(".skops") for f in files)

    def save(self, obj: Any, folder: Path) -> None:
        import skops.io as sio

        sio.dump(obj, folder / self.FILE)

    def load(self, folder: Path, trusted: bool) -> Any:
        import skops.io as sio

        path = next(iter(sorted(folder.rglob("*.skops"))))
        untrusted = sio.get_untrusted_types(file=path)  # reads the file's schema: once
        unknown = [t for t in untrusted if t not in SKOPS_ALLOWED]
        if unknown and not trusted:
            raise UntrustedModel(
                f"{path.name} holds types skops does not trust by default: {', '.join(unknown)}; "
                "load it with trusted=True if you know where it comes from"
            )
        return sio.load(path, trusted=untrusted or None)


class PythonFlavor:
    name = "python"

    def claims(self, obj: Any) -> bool:
        return False  # a folder with score.py is registered from a path

    def detect(self, files: list[str]) -> bool:
        return "score.py" in files

    def save(self, obj: Any, folder: Path) -> None:
        raise InvalidValue("the python flavor registers a folder holding score.py (path=), not an object")

    def load(self, folder: Path, trusted: bool) -> Any:
        if not trusted:
            raise UntrustedModel("score.py is code: load it with trusted=True, or load a registered version")
        import importlib.util

        spec = importlib.util.spec_from_file_location(f"aml_score_{abs(hash(str(folder)))}", folder / "score.py")
        if spec is None or spec.loader is None:
            raise InvalidValue(f"cannot load {folder / 'score.py'}")
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(folder))  # score.py may import its neighbours
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(folder))
        for fn in ("init", "run"):
            if not callable(getattr(module, fn, None)):
                raise InvalidValue(f"score.py must define {fn}()")
        module.init()
        return module


class OnnxFlavor:
    name = "onnx"

    def claims(self, obj: Any) -> bool:
        return False

    def detect(self, files: list[str]) -> bool:
        return any(f.endswith(".onnx") for f in files)

    def save(self, obj: Any, folder: Path) -> None:
        raise InvalidValue("an ONNX model is registered from its .onnx file (path=)")

    def load(self, folder: Path, trusted: bool) -> Any:
        try:
            import onnxruntime
        except ImportError:
            raise InvalidValue("loading ONNX models needs onnxruntime (pip install onnxruntime)") from None
        path = next(iter(sorted(folder.rglob("*.onnx"))))
        return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


class PickleFlavor:
    name = "pickle"

    def claims(self, obj: Any) -> bool:
        return False  # never written by us: pickles are accepted from paths only

    def detect(self, files: list[str]) -> bool:
        return any(f.endswith((".pkl", ".pickle", ".joblib")) for f in files)

    def save(self, obj: Any, folder: Path) -> None:
        raise InvalidValue(
            "aml_jupyter does not write pickles; register the model with a flavor that does not run code"
        )

    def load(self, folder: Path, trusted: bool) -> Any:
        if not trusted:
            raise UntrustedModel(
                "a pickle runs code when loaded: only a registered version whose files match their recorded "
                "hashes loads, or a file loaded with trusted=True"
            )
        path = next(p for p in sorted(folder.rglob("*")) if p.suffix in (".pkl", ".pickle", ".joblib"))
        if path.suffix == ".joblib":
            import joblib

            return joblib.load(path)
        import pickle

        with open(path, "rb") as f:
            return pickle.load(f)  # noqa: S301 (trusted: see above)


class MlflowFlavor:
    """A model in MLflow's format (an ``MLmodel`` file beside its files), as an MLflow client logs
    it through aml's MLflow routes; loaded with ``mlflow.pyfunc``, so MLflow must be installed where
    it loads. Its files may hold pickles: loading runs code (a code-bearing flavor)."""

    name = "mlflow"

    def claims(self, obj: Any) -> bool:
        return False  # MLflow's own log_model writes it; aml registers its folder

    def detect(self, files: list[str]) -> bool:
        return "MLmodel" in files

    def save(self, obj: Any, folder: Path) -> None:
        raise InvalidValue("an MLflow model is registered from its folder (MLmodel and its files), not an object")

    def load(self, folder: Path, trusted: bool) -> Any:
        if not trusted:
            raise UntrustedModel(
                "an MLflow model may unpickle code when loaded: load a registered version, or trusted=True"
            )
        try:
            import mlflow.pyfunc  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            raise InvalidValue("loading a model in MLflow's format needs mlflow (pip install mlflow)") from None
        return mlflow.pyfunc.load_model(str(folder))


_FLAVORS: dict[str, Flavor] = {}
_scanned = False


def register(flavor: Flavor) -> None:
    """Add a flavor (replacing one of the same name).

    Example:
        >>> register(PythonFlavor()); get("python").name
        'python'
    """
    _FLAVORS[flavor.name] = flavor


def _scan() -> None:
    global _scanned
    if _scanned:
        return
    _scanned = True
    for builtin in (SklearnFlavor(), PythonFlavor(), OnnxFlavor(), PickleFlavor(), MlflowFlavor()):
        _FLAVORS.setdefault(builtin.name, builtin)
    from importlib.metadata import entry_points

    for ep in entry_points(group="aml_jupyter.flavors"):
        module, _, attr = ep.value.partition(":")
        register(getattr(importlib.import_module(module), attr)())


def get(name: str) -> Flavor:
    """The flavor ``name``, or a clear error naming the known ones.

    Example:
        >>> get("sklearn").name
        'sklearn'
    """
    _scan()
    if name not in _FLAVORS:
        raise InvalidValue(f"unknown model flavor {name!r} (known: {', '.join(sorted(_FLAVORS))})")
    return _FLAVORS[name]


def for_object(obj: Any) -> Flavor:
    """The flavor that saves this in-memory model.

    Example:
        >>> for_object(object())
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidValue: no model flavor saves a object; pass flavor= or register the files with path=
    """
    _scan()
    for flavor in _FLAVORS.values():
        if flavor.claims(obj):
            return flavor
    raise InvalidValue(f"no model flavor saves a {type(obj).__name__}; pass flavor= or register the files with path=")


def for_files(files: list[str]) -> Flavor:
    """The flavor these files are in; the generic ``files`` flavor is not guessed: an unknown
    format is an error naming the known ones.

    Example:
        >>> for_files(["score.py", "weights.npz"]).name
        'python'
    """
    _scan()
    for name in ("mlflow", "python", "sklearn", "onnx", "pickle", *sorted(_FLAVORS)):  # MLmodel decides first
        if _FLAVORS[name].detect(files):
            return _FLAVORS[name]
    raise InvalidValue(
        f"cannot tell the model format of {', '.join(files[:5])}; pass flavor= (known: {', '.join(sorted(_FLAVORS))})"
    )
