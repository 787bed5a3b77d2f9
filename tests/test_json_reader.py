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


def test_refuses_cut_short_text_where_the_json_package_was_never_imported() -> None:
    """The warm lane reads state files without the json package; there the C scanner cannot build
    its error for a cut-short string or object (a state file or memo written half): still a
    ValueError, and still no json package."""
    import subprocess
    import sys

    code = ("import sys\nfrom effects.statefiles import loads\nassert 'json' not in sys.modules\n"
            "for text in ('{\"a\": \"b', '{\"a\": 1', '{\"a', '[\"x'):\n"
            "    try:\n        loads(text)\n    except ValueError:\n        pass\n"
            "    else:\n        raise SystemExit('accepted ' + text)\n"
            "print('json' in sys.modules)\n")
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (cp.returncode, cp.stdout, cp.stderr) == (0, "False\n", "")
