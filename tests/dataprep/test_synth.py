"""The by-example engine: its contract, bad input, Unicode, determinism, export and budget."""

from __future__ import annotations

import pickle
import time

import pytest

from aml_jupyter.dataprep import synth
from aml_jupyter.errors import InvalidValue, NoProgramFound


def test_initials_from_two_columns() -> None:
    program = synth.learn([(["Ada", "Lovelace"], "A.L."), (["alan", "turing"], "A.T.")])
    assert program.apply(["grace", "hopper"]) == "G.H."
    assert program.apply(["Émile", "Zola"]) == "É.Z."


@pytest.mark.parametrize(
    "examples,row,expected",
    [
        ([(["Ada Lovelace"], "Lovelace")], ["Alan Turing"], "Turing"),
        ([(["801-345-1987"], "8013451987"), (["612-554-2000"], "6125542000")], ["555-123-4567"], "5551234567"),
        ([(["john.smith@example.com"], "example.com")], ["ann@mail.org"], "mail.org"),
        ([(["2026-11-27"], "27/11/2026")], ["1999-01-05"], "05/01/1999"),
        (
            [
                (["Tire Pressure ABC123873 Monitor"], "ABC123873"),
                ([" Oil Life ABC849999999021 gauge"], "ABC849999999021"),
            ],
            ["Fuel Level ABC42 x"],
            "ABC42",
        ),
        (
            [
                (["ann chang", "achang_maaker.com"], "maaker.com"),
                (["bobby smith", "bobt_sphynx.uk.co"], "sphynx.uk.co"),
            ],
            ["c d", "cd_x.io"],
            "x.io",
        ),
    ],
)
def test_learns_and_generalizes(examples: list[tuple[list[str], str]], row: list[str], expected: str) -> None:
    assert synth.learn(examples).apply(row) == expected


def test_conditional_program() -> None:
    examples = [
        (["Mr John Smith"], "Smith"),
        (["Mr Adam Jones"], "Jones"),
        (["Smith, John"], "Smith"),
        (["Jones, Adam"], "Jones"),
    ]
    program = synth.learn(examples)
    assert all(program.apply(i) == o for i, o in examples)
    assert program.apply(["Brown, Carl"]) == "Brown"
    assert program.apply(["Mr Carl Brown"]) == "Brown"


def test_contradicting_examples_are_named() -> None:
    with pytest.raises(NoProgramFound) as info:
        synth.learn([(["a"], "x"), (["b"], "y"), (["a"], "z")])
    assert info.value.fields["examples"] == [0, 2]
    assert "'x'" in str(info.value) and "'z'" in str(info.value)


@pytest.mark.parametrize(
    "examples",
    [
        [],
        [(["a"], 1)],
        [([None], "x")],
        [([1], "x")],
        [("only one thing",)],
        [(["a", "b"], "a"), (["a"], "a")],
    ],
)
def test_bad_examples(examples: list) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidValue):
        synth.learn(examples)


def test_missing_and_non_string_inputs_give_none() -> None:
    program = synth.learn([(["Ada Lovelace"], "Lovelace")])
    assert program.apply([None]) is None
    assert program.apply([3]) is None  # type: ignore[list-item]
    assert program.apply(["a", "b"]) is None
    assert program.apply(["nospace"]) is None  # the position does not exist on this row


@pytest.mark.parametrize(
    "examples,row,expected",
    [
        ([(["e\u0301te\u0301 2026"], "e\u0301te\u0301")], ["ho\u0308tel 1999"], "h\u00f6tel"),  # NFC in, NFC out
        ([(["🚀 launch 𝔸"], "launch")], ["🛸 land 𝔹"], "land"),
        ([(["שלום עולם"], "עולם")], ["בוקר טוב"], "טוב"),
    ],
)
def test_unicode(examples: list[tuple[list[str], str]], row: list[str], expected: str) -> None:
    import unicodedata

    program = synth.learn(examples)
    assert program.apply([unicodedata.normalize("NFC", row[0])]) == expected


def test_deterministic() -> None:
    examples = [(["Ada Lovelace, London"], "London"), (["Alan Turing, Wilmslow"], "Wilmslow")]
    first = synth.learn(examples)
    for _ in range(3):
        again = synth.learn(examples)
        assert again.root == first.root and again.cost == first.cost


def test_unlabeled_rows_steer_toward_positions_that_exist() -> None:
    examples = [(["id 12 x"], "12")]
    unlabeled = [["id 345 yy"], ["id 6 z"], ["id 78901 abc"]]
    program = synth.learn(examples, unlabeled=unlabeled)
    assert [program.apply(r) for r in unlabeled] == ["345", "6", "78901"]


def test_alternatives_are_kept_for_checking_rows() -> None:
    rows = [["x-y-z"], ["p-q-r-s"]]
    program = synth.learn([(["a-b-c"], "b")], unlabeled=rows)
    assert program.alternatives
    disagree = [r for r in rows if any(alt.apply(r) != program.apply(r) for alt in program.alternatives)]
    assert ["p-q-r-s"] in disagree


def test_to_python_computes_the_same() -> None:
    examples = [(["Ada", "Lovelace"], "A.L."), (["alan", "turing"], "A.T.")]
    program = synth.learn(examples)
    namespace: dict = {}  # type: ignore[type-arg]
    exec(program.to_python(), namespace)  # noqa: S102 - our own generated code
    for row in (["grace", "hopper"], ["x", "y"], ["", "z"]):
        assert namespace["transform"](row) == program.apply(row)


def test_programs_pickle() -> None:
    program = synth.learn([(["Ada Lovelace"], "Lovelace")])
    again = pickle.loads(pickle.dumps(program))
    assert again.apply(["Alan Turing"]) == "Turing"


def test_time_budget_is_honoured() -> None:
    long_in = "-".join(f"{i}ab{i}" for i in range(120))
    examples = [([long_in], long_in[::-1]), ([long_in + "x"], "x" + long_in[::-1])]
    t0 = time.perf_counter()
    with pytest.raises(NoProgramFound):
        synth.learn(examples, timeout=0.3)
    assert time.perf_counter() - t0 < 1.5


def test_decision_list_adds_what_is_missing() -> None:
    examples = [
        (["Penn", "Philadelphia, PA, USA"], "Penn, Philadelphia, PA, USA"),
        (["UCLA", "Los Angeles, CA"], "UCLA, Los Angeles, CA, USA"),
        (["Cornell University", "Ithaca, New York, USA"], "Cornell University, Ithaca, New York, USA"),
        (["University of Maryland", "College Park, MD"], "University of Maryland, College Park, MD, USA"),
    ]
    program = synth.learn(examples)
    assert all(program.apply(i) == o for i, o in examples)
    assert program.apply(["MIT", "Cambridge, MA"]) == "MIT, Cambridge, MA, USA"
    assert program.apply(["MIT", "Cambridge, MA, USA"]) == "MIT, Cambridge, MA, USA"
    namespace: dict = {}  # type: ignore[type-arg]
    exec(program.to_python(), namespace)  # noqa: S102 - our own generated code
    for row in (["MIT", "Cambridge, MA"], ["MIT", "Cambridge, MA, USA"], ["x", ""]):
        assert namespace["transform"](row) == program.apply(row)


def test_a_test_on_another_column() -> None:
    examples = [
        (["I love apples", "I hate bananas", "banana"], "I hate bananas"),
        (["I love apples", "I hate bananas", "apple"], "I love apples"),
    ]
    program = synth.learn(examples)
    assert program.apply(["red car", "blue bike", "bike"]) == "blue bike"
    assert program.apply(["red car", "blue bike", "car"]) == "red car"


def test_no_test_separates_the_examples() -> None:
    with pytest.raises(NoProgramFound, match="tells them apart"):
        synth.learn([(["ab"], "x1"), (["ab "], "y2"), (["ab  "], "z3")])


@pytest.mark.parametrize(
    "examples,row,expected",
    [
        # Beside a month's name a day is written unpadded unless an example shows the zero.
        ([(["2026-11-27"], "27 Nov 2026")], ["1999-01-05"], "5 Jan 1999"),
        (
            [(["due 2026-11-27 (x)"], "Nov 27, 2026"), (["due 2025-02-03 (y)"], "Feb 03, 2025")],
            ["due 1999-12-31 (z)"],
            "Dec 31, 1999",
        ),
        ([(["03/04/2026"], "2026-04-03"), (["25/12/2026"], "2026-12-25")], ["01/02/2027"], "2027-02-01"),  # d/m decided
        ([(["Total: 3.14159 m"], "3.14")], ["Total: 2.71828 m"], "2.72"),
        ([(["2.675"], "2.68")], ["1.005"], "1.01"),  # rounded half up, as people round
        ([(["1234567.891"], "1,234,568")], ["9876.5"], "9,877"),
    ],
)
def test_dates_and_numbers(examples: list[tuple[list[str], str]], row: list[str], expected: str) -> None:
    program = synth.learn(examples)
    assert program.apply(row) == expected
    namespace: dict = {}  # type: ignore[type-arg]
    exec(program.to_python(), namespace)  # noqa: S102 - our own generated code
    assert namespace["transform"](row) == expected


def test_a_row_that_is_not_a_date_gives_none() -> None:
    program = synth.learn([(["2026-11-27"], "27 Nov 2026")])
    assert program.apply(["not a date"]) is None


def test_saved_formats_come_from_the_known_tables() -> None:
    from aml_jupyter.dataprep.synth.serialize import program_from_data, program_to_data

    program = synth.learn([(["2026-11-27"], "27 Nov 2026")])
    data = program_to_data(program)
    assert program_from_data(data).apply(["1999-01-05"]) == "5 Jan 1999"
    data["pieces"][0]["case"] = ["num", "{0.__class__.__mro__}"]
    with pytest.raises(InvalidValue, match="unknown format"):
        program_from_data(data)


def test_fast_positions_agree_with_the_general_search() -> None:
    from aml_jupyter.dataprep.synth import runtime

    strings = ["", "a", "ab,cd,ef", ",,", "x@y@z", "12ab 34 Cd-ef", "  lead", "trail  ", "AbcDef Ghi", "2026-11-27"]
    tokens = [*runtime.CLASS_TOKENS, "c:,", "c:@", "c:-", "c: ", "w:ab"]
    for s in strings:
        for left in (None, *tokens):
            for right in (None, *tokens):
                if left is None and right is None:
                    continue
                for k in (1, 2, -1, -2):
                    p = ("tok", left, right, k)
                    assert runtime.position_function(p)(s) == runtime.position(s, left, right, k), (s, p)
        for k in (0, 1, 3, -1, -2, 99, -99):
            assert runtime.position_function(("abs", k))(s) == runtime.absolute(s, k)
