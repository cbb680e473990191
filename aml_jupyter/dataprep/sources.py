"""Reading data: CSV/TSV (delimiter, header and encoding detected), Parquet, JSON lines and Excel,
from local paths, globs and object-store URLs (through fsspec), and SQL through SQLAlchemy.

A SQL password never goes into a saved recipe: the recipe keeps the URL without it, and the
password comes from the ``password=`` given to :func:`sql_spec` in this process, or from
``AML_SQL_PASSWORD``.
"""

from __future__ import annotations

import csv
import glob
import io
import keyword
import os
import uuid
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidPath, InvalidValue

if TYPE_CHECKING:
    import pandas as pd

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
# Object stores and in-memory files through fsspec; http(s) through the checks of .web, which
# keep a read from reaching into the local network.
URL_SCHEMES = ("file", "memory", "s3", "gs", "gcs", "abfs", "abfss", "az", "http", "https")
_SQL_PASSWORDS: dict[str, str] = {}


def _is_url(path: str) -> bool:
    return "://" in path


def _files(path: str, allow_private_network: bool = False) -> list[tuple[Any, str]]:
    """(filesystem or None, path) for every file the path or glob names."""
    if _is_url(path):
        scheme = path.split("://", 1)[0].lower()
        if scheme in ("http", "https"):
            from .web import WebFiles, check_url

            check_url(path, allow_private_network)  # refused before anything is fetched
            return [(WebFiles(allow_private_network), path)]
        if scheme not in URL_SCHEMES:
            raise InvalidPath(f"{scheme}:// is not allowed (allowed: {', '.join(URL_SCHEMES)})", path=path)
        try:
            import fsspec
        except ImportError:
            raise InvalidValue("reading URLs needs fsspec (pip install 'aml_jupyter[dask]')") from None
        fs, _, paths = fsspec.get_fs_token_paths(path)
        return [(fs, p) for p in sorted(paths)]
    paths = sorted(glob.glob(path)) if any(c in path for c in "*?[") else [path]
    return [(None, p) for p in paths]


def _read_bytes(fs: Any, path: str, limit: int) -> bytes:
    if fs is None:
        with open(path, "rb") as f:
            return f.read(limit)
    with fs.open(path, "rb") as f:
        return bytes(f.read(limit))


def detect_csv(raw: bytes, suffix: str, encoding: str | None = None) -> dict[str, Any]:
    """Sniff the start of a delimited text file: its encoding, delimiter and whether it has a header.

    Example:
        >>> detect_csv(b"a;b\\n1;2\\n", ".csv")["delimiter"]
        ';'
    """
    for enc in [encoding] if encoding else ENCODINGS:
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidValue(f"cannot decode the file as {encoding}")
    sample = "\n".join(text.splitlines()[:50])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = "\t" if suffix == ".tsv" else ","
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


def source_spec(
    path: str,
    sample: int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    header: bool | None = None,
    sheet: str | int = 0,
    allow_private_network: bool = False,
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
    files = _files(path, allow_private_network)
    if not files:
        raise InvalidPath(f"{path}: no such file", path=path)
    fs, first = files[0]
    exists = os.path.isfile(first) if fs is None else fs.isfile(first)
    if not exists:
        raise InvalidPath(f"{path}: no such file", path=path)
    suffix = Path(first.split("?", 1)[0]).suffix.lower()
    # Only where it was asked for: a saved recipe with it loads only when trusted.
    extra = {"allow_private_network": True} if allow_private_network else {}
    if suffix in (".parquet", ".pq"):
        return {"path": path, "format": "parquet", "sample": sample, **extra}
    if suffix in (".jsonl", ".ndjson"):
        return {"path": path, "format": "jsonl", "sample": sample, **extra}
    if suffix in (".xlsx", ".xlsm"):
        return {"path": path, "format": "excel", "sample": sample, "sheet": sheet, **extra}
    found = detect_csv(_read_bytes(fs, first, 65536), suffix, encoding)
    return {
        "path": path,
        "format": "csv",
        "sample": sample,
        "encoding": found["encoding"],
        "delimiter": delimiter or found["delimiter"],
        "header": found["header"] if header is None else header,
        **extra,
    }


def sql_spec(
    url: str, query: str | None = None, table: str | None = None, password: str | None = None, sample: int | None = None
) -> dict[str, Any]:
    """A SQL source: a query or a table, through a SQLAlchemy URL (the password is not kept in it).

    Example:
        >>> sql_spec("postgresql://ada:secret@db/sales", table="orders")["url"]
        'postgresql://ada@db/sales'
    """
    from sqlalchemy.engine import make_url

    if (query is None) == (table is None):
        raise InvalidValue("give a query or a table, not both")
    if table is not None and not all(part.isidentifier() for part in table.split(".")):
        raise InvalidValue(f"{table!r} is not a table name")
    parsed = make_url(url)
    secret = password or parsed.password
    bare = parsed._replace(password=None).render_as_string(hide_password=False)  # URL is a namedtuple
    if secret:
        _SQL_PASSWORDS[bare] = str(secret)
    return {"path": bare, "format": "sql", "url": bare, "query": query, "table": table, "sample": sample}


# Each field a saved source may hold, and the types it may have: everything else is refused on load,
# since these values reach pandas, SQL and the code to_python() writes.
_FIELDS: dict[str, tuple[type, ...]] = {
    "path": (str,),
    "format": (str,),
    "sample": (int, type(None)),
    "encoding": (str,),
    "delimiter": (str,),
    "header": (bool,),
    "sheet": (int, str),
    "allow_private_network": (bool,),
    "url": (str,),
    "query": (str, type(None)),
    "table": (str, type(None)),
    "variable": (str,),
}
FORMATS = ("csv", "parquet", "jsonl", "excel", "sql")
IN_MEMORY = "frame"  # a DataFrame of this process (dp.from_pandas, dp.from_dask): never in a saved recipe

# The frames in-memory sources read, by their source's path. Weakly: the recipes over a frame keep
# it (Flow.held), and it goes with the last of them. A recipe reads its frame again at every
# to_pandas(), as one over a file reads the file.
_FRAMES: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()


def frame_spec(frame: Any, variable: str = "df") -> dict[str, Any]:
    """A source that reads ``frame``, a pandas or Dask DataFrame of this process, while something
    holds the frame (a recipe does); ``variable`` is the name to_python() reads it from.

    Example:
        >>> import pandas as pd
        >>> frame_spec(pd.DataFrame({"a": [1]}))["format"]
        'frame'
    """
    import pandas as pd

    if not (isinstance(frame, pd.DataFrame) or is_dask_frame(frame)):
        raise InvalidValue(f"a pandas or Dask DataFrame is needed, not {type(frame).__name__}")
    if not isinstance(variable, str) or not variable.isidentifier() or keyword.iskeyword(variable):
        raise InvalidValue(f"variable {variable!r} is not a Python name")
    path = f"memory:{variable}:{uuid.uuid4().hex}"
    _FRAMES[path] = frame
    return {"path": path, "format": IN_MEMORY, "sample": None, "variable": variable}


def is_dask_frame(value: Any) -> bool:
    """Whether ``value`` is a Dask DataFrame (told without importing Dask).

    Example:
        >>> is_dask_frame([1, 2])
        False
    """
    return type(value).__module__.startswith("dask") and hasattr(value, "npartitions") and hasattr(value, "columns")


def held_frame(spec: dict[str, Any]) -> Any:
    """The DataFrame an in-memory source reads (pandas or Dask), as it was given.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"a": [1, 2]})
        >>> len(held_frame(frame_spec(frame)))
        2
    """
    try:
        return _FRAMES[spec["path"]]
    except KeyError:
        raise InvalidValue(
            "this recipe's DataFrame is not held in this process (it was read from another one)"
        ) from None


def check_source(source: Any, trust: bool, where: str = "the recipe", memory: bool = False) -> dict[str, Any]:
    """A saved recipe's source, checked field by field before anything reads it or writes code
    from it; a SQL source (it runs its query) or one reaching the private network needs ``trust``;
    a DataFrame held in memory is a source only where ``memory`` says so (never in a saved recipe).

    Example:
        >>> check_source({"path": "a.csv", "format": "csv", "sample": "10); import os"}, trust=False)
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidValue: the recipe: the source's 'sample' must be int or NoneType, not str
    """
    if isinstance(source, dict) and source.get("format") == IN_MEMORY:
        if memory and isinstance(source.get("variable"), str) and source["variable"].isidentifier():
            return source
        raise InvalidValue(f"{where} reads a DataFrame held in memory: its data is not in the recipe")
    if not isinstance(source, dict) or source.get("format") not in FORMATS or not isinstance(source.get("path"), str):
        raise InvalidValue(f"{where}: the recipe's source is malformed")
    for key, value in source.items():
        allowed = _FIELDS.get(key)
        if allowed is None:
            raise InvalidValue(f"{where}: the source has an unknown field {key!r}")
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            names = " or ".join(t.__name__ for t in allowed)
            raise InvalidValue(f"{where}: the source's {key!r} must be {names}, not {type(value).__name__}")
    if isinstance(source.get("sample"), int) and source["sample"] < 1:
        raise InvalidValue(f"{where}: the source's sample must be a positive number of rows")
    if source["format"] == "csv" and (len(source.get("delimiter", ",")) != 1 or not source.get("encoding", "utf-8")):
        raise InvalidValue(f"{where}: the source's delimiter must be one character")
    table = source.get("table")
    if table is not None and not all(part.isidentifier() for part in table.split(".")):
        raise InvalidValue(f"{where}: {table!r} is not a table name")
    if source["format"] == "sql" and not trust:
        raise InvalidValue(
            f"{where} reads from a database (it runs its SQL there); load it with trust=True if you wrote it"
        )
    if source.get("allow_private_network") and not trust:
        raise InvalidValue(
            f"{where} reads from the private network (allow_private_network); load it with trust=True if you wrote it"
        )
    return source


def _read_sql(spec: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(spec["url"])
    secret = _SQL_PASSWORDS.get(spec["url"]) or os.environ.get("AML_SQL_PASSWORD")
    if secret:
        url = url.set(password=secret)
    engine = create_engine(url)
    try:
        sql = spec["query"] or f"SELECT * FROM {spec['table']}"
        with engine.connect() as conn:
            frame = pd.read_sql(text(sql), conn)
    except Exception as exc:  # noqa: BLE001 - the database's own message, without the password
        raise InvalidValue(
            f"reading from {spec['url']} failed: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        ) from None
    finally:
        engine.dispose()
    return frame if spec.get("sample") is None else frame.head(spec["sample"])


def read_frame(spec: dict[str, Any]) -> pd.DataFrame:
    """Load the data a source spec describes (see :func:`source_spec`, :func:`sql_spec` and
    :func:`frame_spec`)."""
    import pandas as pd

    if spec["format"] == "sql":
        return _read_sql(spec)
    if spec["format"] == IN_MEMORY:
        frame = held_frame(spec)
        sample = spec.get("sample")
        if is_dask_frame(frame):  # a sample is its first rows, computed; the whole is computed
            return frame.head(sample, npartitions=-1) if sample else frame.compute()
        # A shallow copy: the steps add columns to it, never to the caller's frame.
        return frame.head(sample).copy() if sample else frame.copy(deep=False)
    files = _files(spec["path"], bool(spec.get("allow_private_network")))
    if not files:
        raise InvalidPath(f"no file matches {spec['path']!r}", path=spec["path"])
    frames = [_read_one(fs, p, spec) for fs, p in files]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _read_one(fs: Any, path: str, spec: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd

    handle: Any = path if fs is None else io.BytesIO(_read_bytes(fs, path, -1))
    fmt, sample = spec["format"], spec.get("sample")
    if fmt == "csv":
        try:
            df = pd.read_csv(
                handle,
                sep=spec["delimiter"],
                encoding=spec["encoding"],
                header=0 if spec["header"] else None,
                nrows=sample,
                on_bad_lines="error",
            )
        except pd.errors.ParserError as exc:
            raise InvalidValue(f"{path}: {exc}", path=str(path)) from None
        except UnicodeDecodeError as exc:
            raise InvalidValue(
                f"{path}: not {spec['encoding']} text near byte {exc.start}; pass encoding=", path=str(path)
            ) from None
        if not spec["header"]:
            df.columns = [f"column{i + 1}" for i in range(df.shape[1])]
    elif fmt == "parquet":
        df = pd.read_parquet(handle)
    elif fmt == "excel":
        try:
            df = pd.read_excel(handle, sheet_name=spec.get("sheet", 0))
        except ImportError:
            raise InvalidValue("reading Excel needs openpyxl (pip install 'aml_jupyter[excel]')") from None
    else:
        df = pd.read_json(handle, lines=True)
    return df if sample is None else df.head(sample)
