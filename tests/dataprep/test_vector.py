"""Whole-column application gives exactly what the per-row path gives, row for row."""

from __future__ import annotations

import pytest

from aml_jupyter.dataprep import synth
from aml_jupyter.dataprep.synth.program import Concat, Const, Program, SubStr
from aml_jupyter.dataprep.synth.vector import VECTOR_MIN_ROWS, slicer

TASKS = [
    (
        [(["ada@math.org"], "math.org"), (["alan@bletchley.gov.uk"], "bletchley.gov.uk")],
        ["x@y", "no-at-sign", "@lead", "trail@", "a@b@c", ""],
    ),
    ([(["Ada", "Lovelace"], "A.L."), (["alan", "turing"], "A.T.")], None),
    (
        [(["2026-11-27"], "27/11/2026"), (["1999-01-05"], "05/01/1999")],
        ["2026-02-30", "1500-06-01", "2300-01-01", "2026-1-5", " 2026-11-27", "2026-11-27x", "", "2024-02-29"],
    ),
    ([(["on 2026-11-27 at noon"], "27 Nov 2026"), (["on 1999-01-05 at dawn"], "05 Jan 1999")], ["on 2026-13-01 at x"]),
    ([(["3.14159"], "3.14"), (["2.675"], "2.68")], ["abc", "1,234.5", "-0.005"]),
    ([(["john smith"], "John Smith"), (["ada lovelace"], "Ada Lovelace")], ["x", "  ", "émile zola"]),
    ([(["(425) 555-1234"], "425-555-1234"), (["(206) 555-9876"], "206-555-9876")], ["425 555 1234", "()"]),
    ([(["Inc: Acme"], "Acme"), (["Corp: Globex"], "Globex")], ["Acme", ": x", "a: b: c"]),
    ([(["abc"], "ABC-abc"), (["xy"], "XY-xy")], ["", "ß", "𝔘nicode"]),
]


def _row_inputs(examples: list[tuple[list[str], str]], extra: list[str] | None) -> list[list[str | None]]:
    rows: list[list[str | None]] = [list(i) for i, _ in examples]
    width = len(rows[0])
    for text in extra or []:
        rows.append([text] * width)
    rows.append([None] * width)
    if width > 1:
        rows.append(["x"] + [None] * (width - 1))
    return rows


@pytest.mark.parametrize("task", range(len(TASKS)))
@pytest.mark.parametrize("repeat", [1, VECTOR_MIN_ROWS])  # small inputs, and enough for pandas' date path
def test_column_equals_rows(task: int, repeat: int) -> None:
    examples, extra = TASKS[task]
    program = synth.learn(examples)
    rows = _row_inputs(examples, extra) * repeat
    columns = [list(col) for col in zip(*rows, strict=True)]
    assert program.apply_column(columns) == [program.apply(r) for r in rows]


def test_learned_branches_run_row_by_row() -> None:
    program = synth.learn([(["12 kg"], "12"), (["weight: 7"], "7"), (["3 kg"], "3")])
    rows = [["12 kg"], ["weight: 7"], ["n/a"], [None]]
    assert program.apply_column([[r[0] for r in rows]]) == [program.apply(r) for r in rows]


def test_generated_slicers() -> None:
    first_at = slicer(SubStr(0, ("tok", "c:@", None, 1), ("abs", -1)))
    assert [first_at(s) for s in ("a@b", "ab", "a@b@c")] == ["b", None, "b@c"]
    last_dot = slicer(SubStr(0, ("abs", 0), ("tok", None, "c:.", -1), "upper"))
    assert [last_dot(s) for s in ("a.b.c", "abc")] == ["A.B", None]
    quote = slicer(SubStr(0, ("tok", "c:'", None, 1), ("tok", None, "c:'", -1)))
    assert quote("say 'hi' now") == "hi"  # a literal quote in the generated code stays data
    fixed = slicer(SubStr(0, ("abs", 2), ("abs", 4)))
    assert [fixed(s) for s in ("abcdef", "abcd", "abc")] == ["cd", "cd", None]


def test_wrong_number_of_columns() -> None:
    program = Program(Concat((Const("x"),)), 1)
    with pytest.raises(ValueError, match="reads 1 column"):
        program.apply_column([["a"], ["b"]])


def test_number_columns_equal_rows() -> None:
    import random

    rng = random.Random(1)
    shapes = ["{a}.{c:02d}", "{b}", "{s}.5", "007.5", "-12.30", "1e3", "12.", "0.05", "abc", "{a}.1", "{a},25"]
    values: list[str | None] = [
        rng.choice([*shapes, None])
        and rng.choice(shapes).format(
            a=rng.randint(0, 10**9), b=rng.randint(0, 999), c=rng.randint(0, 99), s=rng.randint(0, 99)
        )
        for _ in range(3000)
    ]
    values[::97] = [None] * len(values[::97])
    for examples in (
        [(["1234567.89"], "1.234.567,89"), (["12.5"], "12,50")],
        [(["1234.5"], "1,234.50")],
        [(["1234,5"], "1234.50")],
        [(["2.675"], "2.68")],
    ):
        program = synth.learn(examples)
        assert program.apply_column([values]) == [None if v is None else program.apply([v]) for v in values]
