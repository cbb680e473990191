"""Artifacts shown in the browser: executed notebooks as HTML (their markup sanitized), text as
text, images as images, each under a Content-Security-Policy that lets nothing in them run or
reach out.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ..errors import InvalidInput

if TYPE_CHECKING:
    from ..workspace import Workspace

MAX_PREVIEW = 20 * 1024 * 1024
# No scripts, no forms, no requests anywhere: a notebook's outputs are the run's, not ours.
SANDBOX = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"
TEXT = {".txt", ".log", ".csv", ".tsv", ".json", ".py", ".md", ".yaml", ".yml", ".toml", ".cfg", ".ini"}
IMAGES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}


# What markdown and HTML outputs may keep: the structure JupyterLab's own sanitizer lets through
# (headings, paragraphs, tables, lists, links), never scripts, handlers, forms or frames; images
# only as the notebook's own outputs (nbconvert writes those itself, as data: URLs).
ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "span",
        "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": ["class", "id", "title"],
    "a": ["href", "title"],
    "td": ["align", "colspan", "rowspan"],
    "th": ["align", "colspan", "rowspan"],
}


def clean_html(element: str | bytes) -> str:
    """Markup of a notebook's markdown cell or HTML output, cleaned for the preview: its structure
    kept (nbconvert's own filter would show ``<h1>`` and ``<p>`` as text), anything that could run
    removed or escaped.

    Example:
        >>> clean_html('<h1 id="t">Title</h1><p onclick="x()">ok<script>alert(1)</script></p>')
        '<h1 id="t">Title</h1><p>ok&lt;script&gt;alert(1)&lt;/script&gt;</p>'
    """
    import bleach

    text = element.decode() if isinstance(element, bytes) else str(element)
    return str(bleach.clean(text, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES))


TABLE_ROWS = 200  # the rows of a Parquet table a preview shows (its row count says how many there are)


def _table_head(path: Path, headers: dict[str, str]) -> tuple[bytes, str, dict[str, str]]:
    # The first rows as CSV, read a row group at a time (a table of millions of rows costs what its
    # first rows do); X-Aml-Rows says how many the table holds.
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(path)
        rows = table.metadata.num_rows
        batch = next(table.iter_batches(batch_size=TABLE_ROWS), None)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(f"{path.name} cannot be read as a Parquet table: {exc}") from None
    head = pa.Table.from_batches([batch]) if batch is not None else table.schema_arrow.empty_table()
    text = head.to_pandas().to_csv(index=False)
    headers = {**headers, "X-Aml-Rows": str(rows), "X-Aml-Truncated": "true" if rows > head.num_rows else "false"}
    return text.encode(), "text/csv; charset=utf-8", headers


def preview(ws: Workspace, run_id: str, name: str, head: int | None = None) -> tuple[bytes, str, dict[str, str]]:
    """(content, media type, headers) showing artifact ``name`` of a run; of a text file, only its
    first ``head`` bytes when given (a panel shows the start of a large log, never all of it), with
    ``X-Aml-Truncated: true`` when there was more; of a Parquet table, its first 200 rows as CSV,
    with ``X-Aml-Rows`` its row count.

    Example:
        >>> body, kind, headers = preview(ws, run_id, "notebook.ipynb")  # doctest: +SKIP
        >>> kind, headers["Content-Security-Policy"].split(";")[0]  # doctest: +SKIP
        ('text/html; charset=utf-8', 'sandbox')
    """
    from ..services.runs import get
    from ..tracking.run import Run

    if head is not None and not 1 <= head <= MAX_PREVIEW:
        raise InvalidInput(f"head must be from 1 to {MAX_PREVIEW} bytes")
    path = Run(ws, get(ws, run_id)).artifact_path(name)
    size = path.stat().st_size
    suffix = PurePosixPath(name).suffix.lower()
    if head is not None and suffix in TEXT:
        with path.open("rb") as f:
            start = f.read(head)
        headers = {"Content-Security-Policy": SANDBOX, "Content-Disposition": "inline"}
        headers["X-Aml-Truncated"] = "true" if size > head else "false"
        return start, "text/plain; charset=utf-8", headers
    if size > MAX_PREVIEW and suffix != ".parquet":  # a table's first rows are read, never all of it
        raise InvalidInput(f"{name} is larger than {MAX_PREVIEW // 2**20} MB: download it instead")
    headers = {"Content-Security-Policy": SANDBOX, "Content-Disposition": "inline"}
    if suffix == ".ipynb":
        import nbformat
        from nbconvert import HTMLExporter

        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)  # type: ignore[no-untyped-call]
        exporter = HTMLExporter(template_name="lab", sanitize_html=True, filters={"clean_html": clean_html})  # type: ignore[no-untyped-call]
        html, _ = exporter.from_notebook_node(nb)
        return html.encode(), "text/html; charset=utf-8", headers
    if suffix in TEXT:
        return path.read_bytes(), "text/plain; charset=utf-8", headers
    if suffix == ".parquet":
        return _table_head(path, headers)
    if suffix in IMAGES:
        return path.read_bytes(), IMAGES[suffix], headers
    raise InvalidInput(f"no preview for {suffix or 'files without an extension'}: download {name} instead")
