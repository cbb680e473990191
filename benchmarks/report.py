"""What every part of `make bench` does with its figures: one markdown table (figure, aml_jupyter,
bare, ratio, target, met), a header naming the machine, a JSON file under results/ and, for a full
run, the docs page."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
Row = tuple[str, str, str, str, str, bool | None]


def render(rows: list[Row]) -> str:
    """The figures as a markdown table.

    Example:
        >>> print(render([("x", "1", "2", "2x", "-", True)]))
        | figure | aml_jupyter | bare | ratio | target | met |
        |---|---:|---:|---:|---|---|
        | x | 1 | 2 | 2x | - | yes |
    """
    lines = ["| figure | aml_jupyter | bare | ratio | target | met |", "|---|---:|---:|---:|---|---|"]
    for name, a, b, ratio, target, met in rows:
        lines.append(f"| {name} | {a} | {b} | {ratio} | {target} | {'-' if met is None else 'yes' if met else 'no'} |")
    return "\n".join(lines)


def bench_main(
    doc: str,
    title: str,
    intro: str,
    measure: Callable[[bool], dict[str, Any]],
    rows: Callable[[dict[str, Any]], list[Row]],
) -> int:
    """A part's ``main``: ``--quick``/``--no-write``, measure, print, and write
    ``results/NAME-DATE.json`` and (for a full run) ``docs/performance-NAME.md``.

    Example:
        >>> bench_main("startup", "Performance of starting things", "...", run, rows)  # doctest: +SKIP
    """
    from run import machine  # the first part's machine description

    parser = argparse.ArgumentParser(description=title, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    started = time.time()
    r = measure(args.quick)
    r["machine"] = machine()
    r["date"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    r["quick"] = args.quick
    m = r["machine"]
    header = (
        f"Measured {r['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}; "
        f"took {time.time() - started:.0f} s."
    )
    table = render(rows(r))
    print()
    print(header)
    print(table)
    if args.no_write:
        return 0
    name = f"{doc}-" + dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S") + ("-quick" if args.quick else "") + ".json"
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / name).write_text(json.dumps(r, indent=2) + "\n")
    if not args.quick:
        page = REPO / "docs" / f"performance-{doc}.md"
        page.write_text(f"# {title}\n\n{intro}\n\n{header}\n\n{table}\n")
    print(f"\nwrote benchmarks/results/{name}" + ("" if args.quick else f" and docs/performance-{doc}.md"))
    return 0
