"""The state files' JSON reader (``statefiles.loads``, the interpreter's C scanner without the json
package) reads what ``json.loads`` reads, and refuses what it refuses."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from effects.statefiles import loads

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@given(values, st.sampled_from([None, 1, 2]), st.sampled_from(["", " ", "\n", " \t\r\n"]))
def test_reads_what_json_writes(value: object, indent: int | None, pad: str) -> None:
    text = pad + json.dumps(value, indent=indent) + pad
    assert loads(text) == json.loads(text)


@pytest.mark.parametrize("text", ["", "   ", "{", '{"a": 1', '{"a": 1} x', "[1,]", "{'a': 1}", "nul", '"\\x"',
                                  "01", '{"a" 1}', "1 2", "\x00"])
def test_refuses_what_json_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        loads(text)


def test_constants_as_json_reads_them() -> None:
    out = loads('[NaN, Infinity, -Infinity, 1e400, 12345678901234567890]')
    assert out[0] != out[0] and out[1:4] == [float("inf"), float("-inf"), float("inf")]
    assert out[4] == 12345678901234567890
