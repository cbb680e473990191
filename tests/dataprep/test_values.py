"""Dates, times and numbers as values: learned from one or two examples, saved and exported alike."""

from __future__ import annotations

import json

import pytest

from aml_jupyter.dataprep import synth
from aml_jupyter.dataprep.synth.serialize import program_from_data, program_to_data
from aml_jupyter.errors import InvalidValue

CASES = [
    ([(["5 Mar 2024"], "Tue, 2024W10")], {"2023-12-31": "Sun, 2023W52", "March 7, 2025": "Fri, 2025W10"}),
    (
        [(["14:37"], "2:30PM-2:45PM"), (["09:02"], "9:00AM-9:15AM")],
        {"23:59": "11:45PM-12:00AM", "12:15": "12:15PM-12:30PM"},
    ),
    ([(["1234567.891"], "1.234.567,89")], {"12.5": "12,50", "1000000": "1.000.000,00"}),
    ([(["47"], "40-49")], {"3": "0-9", "100": "100-109"}),
    ([(["37"], "[20-40)")], {"5": "[0-20)", "61": "[60-80)"}),
    ([(["2.675"], "2.68")], {"1.005": "1.01"}),
    ([(["03/04/2017"], "April 3, 2017")], {"25/12/2019": "December 25, 2019"}),
    ([(["Tue, 5 March 2024 14:37"], "2024-03-05")], {"Wed, 6 March 2024 09:00": "2024-03-06"}),
    ([(["john smith"], "Smith, J.")], {"ada lovelace": "Lovelace, A."}),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_learned_from_few_examples(case: int) -> None:
    examples, expected = CASES[case]
    program = synth.learn(examples, unlabeled=[[t] for t in expected])
    assert {t: program.apply([t]) for t in expected} == expected
    again = program_from_data(json.loads(json.dumps(program_to_data(program))))  # saved, loaded: same answers
    assert [again.apply([t]) for t in expected] == list(expected.values())
    namespace: dict[str, object] = {}
    exec(program.to_python(), namespace)  # noqa: S102 - the exported code runs alone
    assert [namespace["transform"]([t]) for t in expected] == list(expected.values())  # type: ignore[operator]
    assert program.apply_column([list(expected) * 300]) == list(expected.values()) * 300


def test_a_column_mixing_formats_parses_whole() -> None:
    program = synth.learn([(["2024-03-05"], "05/03/2024")], unlabeled=[["7 Jan 2023"], ["20221231"], ["Feb 1, 2021"]])
    assert [program.apply([t]) for t in ("7 Jan 2023", "20221231", "Feb 1, 2021")] == [
        "07/01/2023",
        "31/12/2022",
        "01/02/2021",
    ]
    assert program.apply(["not a date"]) is None


def test_saved_value_transforms_are_checked() -> None:
    data = program_to_data(synth.learn([(["47"], "40-49")]))
    for bad in (["dt", "mdy", "{__class__}", None], ["dt", "xyz", "{Y}", None], ["nm", ".", 0, "7", "floor"]):
        data["pieces"][0]["case"] = bad
        with pytest.raises(InvalidValue):
            program_from_data(data)
