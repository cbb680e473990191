"""Reading data: CSV/TSV (delimiter, header and encoding detected), Parquet and JSON lines."""

from __future__ import annotations

import csv
import glob
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidPath, InvalidValue

if TYPE_CHECKING:
    import pandas as pd

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def detect_csv(path: Path, encoding: str | None = None) -> dict[str, Any]:
    """Sniff a delimited text file: its encoding, delimiter and whether it has a header row.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"; _ = p.write_text("a;b\\n1;2\\n")
        >>> detect_csv(p)["delimiter"]
        ';'
    """
    raw = path.read_bytes()[:65536]
    for enc in [encoding] if encoding else ENCODINGS:
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidValue(f"{path}: cannot decode as {encoding}", path=str(path))
    sample = "\n".join(text.splitlines()[:50])
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    first = next(csv.reader([text.splitlines()[0] if text else ""], delimiter=delimiter), [])
    # Column names are rarely numbers or blank; a first row holding one is data.
    header = bool(first) and not any(_numeric(v) or not v.strip() for v in first)
    return {"encoding": enc, "delimiter": delimiter, "header": header}


def _numeric(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def read_frame(spec: dict[str, Any]) -> pd.DataFrame:
    """Load the data a source spec describes (see :func:`source_spec`)."""
    import pandas as pd

    paths = sorted(glob.glob(spec["path"])) if any(c in spec["path"] for c in "*?[") else [spec["path"]]
    if not paths:
        raise InvalidPath(f"no file matches {spec['path']!r}", path=spec["path"])
    frames = []
    for p in paths:
        fmt = spec["format"]
        if fmt == "csv":
            try:
                df = pd.read_csv(
                    p,
                    sep=spec["delimiter"],
                    encoding=spec["encoding"],
                    header=0 if spec["header"] else None,
                    nrows=spec.get("sample"),
                    on_bad_lines="error",
                )
            except pd.errors.ParserError as exc:
                raise InvalidValue(f"{p}: {exc}", path=str(p)) from None
            except UnicodeDecodeError as exc:
                raise InvalidValue(
                    f"{p}: not {spec['encoding']} text near byte {exc.start}; pass encoding=", path=str(p)
                ) from None
            if not spec["header"]:
                df.columns = [f"column{i + 1}" for i in range(df.shape[1])]
        elif fmt == "parquet":
            df = pd.read_parquet(p)
        else:
            df = pd.read_json(p, lines=True)
        frames.append(df if spec.get("sample") is None else df.head(spec["sample"]))
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def source_spec(
    path: str,
    sample: int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    header: bool | None = None,
) -> dict[str, Any]:
    """What to read and how, detected from the first file: the first step of every recipe.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.tsv"; _ = p.write_text("a\\tb\\n1\\t2\\n")
        >>> source_spec(str(p))["format"], source_spec(str(p))["delimiter"]
        ('csv', '\\t')
    """
    if sample is not None and (not isinstance(sample, int) or isinstance(sample, bool) or sample < 1):
        raise InvalidValue(f"sample must be a positive number of rows, not {sample!r}")
    first = sorted(glob.glob(path))[0] if any(c in path for c in "*?[") and glob.glob(path) else path
    p = Path(first)
    if not p.is_file():
        raise InvalidPath(f"{path}: no such file", path=path)
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return {"path": path, "format": "parquet", "sample": sample}
    if suffix in (".jsonl", ".ndjson"):
        return {"path": path, "format": "jsonl", "sample": sample}
    if suffix in (".xlsx", ".xls"):
        raise InvalidValue(f"{path}: Excel files are not supported yet; save the sheet as CSV", path=path)
    found = detect_csv(p, encoding)
    return {
        "path": path,
        "format": "csv",
        "sample": sample,
        "encoding": found["encoding"],
        "delimiter": delimiter or found["delimiter"],
        "header": found["header"] if header is None else header,
    }
