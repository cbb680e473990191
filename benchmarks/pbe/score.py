"""The by-example engine on its own date, time and number tasks (``tasks.json``, see make_tasks.py).

    python benchmarks/pbe/score.py [--timeout 2] [--only NAME] [-v]

For each task and k = 1, 2, 3: learn from the first k rows (the task's other inputs given as
unlabelled rows, as a Flow gives them), then apply the program to the rows it did not see. A task
is solved at k when every unseen row comes out right. Trust: every unseen row is also reviewed
as ``Flow.check_rows()`` reviews it; the figures are the share of wrong rows that are flagged
(target >= 90%) and the share of flagged rows that were right after all. Results go to
benchmarks/results/pbe-own-*.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

from aml_jupyter.dataprep import synth
from aml_jupyter.dataprep.trust import review
from aml_jupyter.errors import NoProgramFound

HERE = Path(__file__).resolve().parent
KS = (1, 2, 3)


def score(task: dict, k: int, timeout: float) -> dict:  # type: ignore[type-arg]
    rows = task["rows"]
    seen, unseen = rows[:k], rows[k:]
    unlabeled = [[r[0]] for r in rows]
    t0 = time.perf_counter()
    try:
        program = synth.learn([([i], o) for i, o in seen], unlabeled=unlabeled, timeout=timeout)
    except NoProgramFound as exc:
        seconds = time.perf_counter() - t0
        n = len(unseen)
        return {"solved": False, "right": 0, "of": n, "wrong": n, "flagged_wrong": n, "flagged": n,
                "flagged_right": 0, "seconds": seconds, "why": str(exc)[:100]}  # fmt: skip
    seconds = time.perf_counter() - t0
    outputs = [program.apply([i]) for i, _ in unseen]
    right = [o == want for o, (_, want) in zip(outputs, unseen, strict=True)]
    flagged = {f["row"] for f in review([program], [[i] for i, _ in unseen], [([i], o) for i, o in seen])}
    wrong = [n for n, ok in enumerate(right) if not ok]
    return {
        "solved": all(right),
        "right": sum(right),
        "of": len(unseen),
        "wrong": len(wrong),
        "flagged_wrong": sum(n in flagged for n in wrong),
        "flagged": len(flagged),
        "flagged_right": sum(right[n] for n in flagged),
        "seconds": seconds,
        "why": "" if all(right) else f"{unseen[wrong[0]][0]!r} -> {outputs[wrong[0]]!r}, not {unseen[wrong[0]][1]!r}",
        "program": program.describe(),
    }


def chart(tasks: list[dict], results: dict[int, list[dict]]) -> str:  # type: ignore[type-arg]
    """Solved shares by kind and number of examples, as a small SVG bar chart (no dependencies)."""
    kinds = ("date", "time", "number")
    colours = {1: "#9ecae1", 2: "#4292c6", 3: "#08519c"}
    width, height, left, top, bar = 520, 230, 50, 20, 36
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    plot = height - top - 40
    for pct in (0, 50, 100):
        y = top + plot * (1 - pct / 100)
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y}" y2="{y}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end">{pct}%</text>')
    for g, kind in enumerate(kinds):
        idx = [n for n, t in enumerate(tasks) if t["kind"] == kind]
        x0 = left + 20 + g * 150
        for j, k in enumerate(KS):
            share = sum(results[k][n]["solved"] for n in idx) / max(1, len(idx))
            h = plot * share
            x = x0 + j * (bar + 4)
            parts.append(f'<rect x="{x}" y="{top + plot - h:.1f}" width="{bar}" height="{h:.1f}" fill="{colours[k]}"/>')
            parts.append(
                f'<text x="{x + bar / 2}" y="{top + plot - h - 4:.1f}" text-anchor="middle">{share:.0%}</text>'
            )
        parts.append(f'<text x="{x0 + 58}" y="{top + plot + 18}" text-anchor="middle">{kind} ({len(idx)} tasks)</text>')
    for j, k in enumerate(KS):
        parts.append(f'<rect x="{left + 20 + j * 120}" y="{height - 14}" width="10" height="10" fill="{colours[k]}"/>')
        parts.append(f'<text x="{left + 34 + j * 120}" y="{height - 5}">from {k} example{"s" * (k > 1)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--only", default=None, help="the tasks whose name starts with this")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the tasks not solved from 3 rows")
    parser.add_argument("--svg", type=Path, default=None, help="also draw the solved shares as an SVG bar chart")
    args = parser.parse_args()
    tasks = json.loads((HERE / "tasks.json").read_text())
    if args.only:
        tasks = [t for t in tasks if t["name"].startswith(args.only)]
    results = {k: [score(t, k, args.timeout) for t in tasks] for k in KS}
    out: dict[str, object] = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "tasks": len(tasks)}
    for k, rs in results.items():
        solved = sum(r["solved"] for r in rs)
        by_kind = {}
        for kind in ("date", "time", "number"):
            mine = [r for t, r in zip(tasks, rs, strict=True) if t["kind"] == kind]
            by_kind[kind] = f"{sum(r['solved'] for r in mine)}/{len(mine)}"
        print(f"from {k} example(s): {solved}/{len(rs)} = {solved / max(1, len(rs)):.1%} solved  ({by_kind})")
        out[f"k{k}"] = {"solved": solved, "by_kind": by_kind}
    pooled = [r for rs in results.values() for r in rs]
    wrong = sum(r["wrong"] for r in pooled)
    caught = sum(r["flagged_wrong"] for r in pooled)
    flagged = sum(r["flagged"] for r in pooled)
    flagged_right = sum(r["flagged_right"] for r in pooled)
    times = sorted(r["seconds"] for r in pooled)
    p95 = times[int(0.95 * (len(times) - 1))] if times else 0.0
    print(
        f"trust (k = 1-3 pooled): {caught}/{wrong} wrong rows flagged = {caught / max(1, wrong):.1%} (target >= 90%); "
        f"{flagged_right}/{flagged} flagged rows were right = {flagged_right / max(1, flagged):.1%}"
    )
    print(f"learning time: median {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (target <= 1 s)")
    out.update(
        wrong_rows=wrong, wrong_flagged=caught, flagged=flagged, flagged_right=flagged_right,
        median_ms=statistics.median(times) * 1000, p95_ms=p95 * 1000,
        per_task=[{"task": t["name"], **{f"k{k}": results[k][n]["solved"] for k in KS},
                   "why3": results[3][n]["why"]} for n, t in enumerate(tasks)],
    )  # fmt: skip
    if args.verbose:
        for t, r in zip(tasks, results[3], strict=True):
            if not r["solved"]:
                print(f"  not solved from 3: {t['name']}: {r['why']}")
    if args.svg:
        args.svg.write_text(chart(tasks, results))
        print(f"drew {args.svg}")
    if not args.only:
        path = HERE.parent / "results" / f"pbe-own-{dt.datetime.now(dt.UTC).strftime('%Y%m%d-%H%M%S')}.json"
        path.write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {path.relative_to(HERE.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
