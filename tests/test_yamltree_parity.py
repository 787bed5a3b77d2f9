"""The two YAML parsers of ``core.yamltree`` give one tree.

A clean file is composed by libyaml (``compose_clean``), any other by strictyaml
(``parse_strict``). Whatever libyaml accepts, strictyaml must read to the same
tree, line numbers and quoting included; the texts come from the documentation's
examples, the project's test files, the strategies' documents and cluster
definitions, PyYAML's own dumps in every style, and random edits of all of
those (the characters that make YAML interesting).

The one exception is a defect of strictyaml's ruamel: valid YAML with a comment
in some places makes it fail with an internal "overlap in comment" error
(PyYAML, which the reference reads with, takes those files; so does libyaml).
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys

import pytest
import strategies as S
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from seamless_config.core.yamltree import Map, Scalar, Seq, compose_clean, parse_strict, parse_yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _corpus() -> list[str]:
    texts: list[str] = []
    for f in sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True)):
        with open(f, encoding="utf-8") as fh:
            texts += re.findall(r"```yaml\n(.*?)```", fh.read(), re.S)
    for f in sorted(glob.glob(os.path.join(ROOT, "tests", "**", "*.y*ml"), recursive=True)):
        with open(f, encoding="utf-8") as fh:
            texts.append(fh.read())
    texts += [
        "a: |\n  x\n  y\n\nb: >-\n  p\n  q\n", 'a: "x\\/y\\ty\\u00e9"\n', "- 'it''s'\n- \"a\\\n  b\"\n",
        "a: b\r\nc: d\r\n", "k: [a, b: c, {d: e}]\n", "k: {a: b, c}\n", "? a\n: b\n", "a:\n- 1\n- 2\nb: 3\n",
        "- a\n  b\n- c # x\n", "key:    \n  - x\n", "a: 'multi\n  line'\nb: plain\n  continued\n",
        "a: x:y\nb: [x:y]\nc: {x:y}\n", "- |2\n   indented\n", "- >+\n  keep\n\n", "a: \"\"\nb: ''\nc:\n",
        "---\n- project: p\n", "- stage prod:\n    - cluster: hpc\n", "%YAML 1.1\n---\na: b\n",
    ]
    return [t[:3000] for t in texts if t.strip()]


CORPUS = _corpus()
#: what a random edit puts in
PIECES = list(":-#'\"[]{}|>,?&*!%@`\\~.0aZ \t\r\n") + ["\n  ", ": ", "- ", "\n- ", "---\n", "...\n", "é", "  #"]


def _same_tree(text: str) -> None:
    clean = compose_clean(text)
    if clean is None:
        return
    judged = parse_strict("f.yaml", text)
    match judged:
        case Success(tree):
            assert tree == clean, f"the parsers disagree on {text!r}"
        case Failure(error):
            assert "overlap in comment" in error.message, f"libyaml took {text!r}, strictyaml refuses: {error}"


@st.composite
def edited(draw) -> str:
    chars = list(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(chars)))
        piece = draw(st.sampled_from(PIECES))
        match draw(st.sampled_from(["insert", "delete", "replace"])):
            case "insert":
                chars.insert(i, piece)
            case "delete" if chars:
                del chars[min(i, len(chars) - 1)]
            case _ if chars:
                chars[min(i, len(chars) - 1)] = piece
    return "".join(chars)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited())
def test_edited_files_read_alike(text: str) -> None:
    _same_tree(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(S.documents.map(S.document_yaml))
def test_documents_read_alike(text: str) -> None:
    _same_tree(text)


_plain = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=6), children, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_plain, st.sampled_from([None, False, True]), st.sampled_from([None, "'", '"', "|", ">"]),
       st.integers(2, 6))
def test_dumped_data_reads_alike(data: object, flow: bool | None, style: str | None, indent: int) -> None:
    """PyYAML's dumps (the way a tool might write a configuration), in every flow and scalar style."""
    text = yaml.safe_dump(data, default_flow_style=flow, default_style=style, indent=indent, allow_unicode=True)
    _same_tree(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(S.cluster_definitions(wild=True))
def test_cluster_files_read_alike(definition: dict) -> None:
    _same_tree(yaml.safe_dump({"hpc": definition}, sort_keys=False))
    _same_tree(S.to_yaml({"hpc": definition}))


def test_a_folded_value_reads_as_the_reference_reads_it() -> None:
    """strictyaml marks the folds of a ``>`` value with BEL characters; the value is PyYAML's."""
    text = "- project: p\n- cluster: >-\n    hp\n    c\n"
    for parsed in (parse_yaml("f.yaml", text).unwrap(), parse_strict("f.yaml", text).unwrap()):
        assert isinstance(parsed, Seq) and isinstance(parsed.items[1], Map)
        assert parsed.items[1].items[0][1] == Scalar("hp c", 2)
    assert yaml.safe_load(text)[1]["cluster"] == "hp c"


def test_comments_strictyaml_trips_on_are_read() -> None:
    """Valid YAML that strictyaml's ruamel refuses with an internal error reads as PyYAML reads it."""
    text = "- project: p\n- cluster: # the lab\n    hpc\n\n- execution: remote\n"
    assert "overlap in comment" in parse_strict("f.yaml", text).failure().message
    tree = parse_yaml("f.yaml", text).unwrap()
    assert isinstance(tree, Seq) and tree.items[1] == Map(((Scalar("cluster", 2), Scalar("hpc", 3)),), 2)
    assert yaml.safe_load(text) == [{"project": "p"}, {"cluster": "hpc"}, {"execution": "remote"}]


def test_mistakes_are_judged_by_strictyaml() -> None:
    """libyaml never words a mistake: anchors, tags, duplicate keys and bad syntax get strictyaml's
    messages and lines."""
    for text, line, words in [("- a: &x 1\n", 1, "anchors and aliases are not allowed"),
                              ("- a: !!str 1\n", 1, "tags are not allowed"),
                              ("- a: 1\n  a: 2\n", 2, "duplicate key 'a'"),
                              ("- a: [1\n", 1, "invalid YAML"),
                              ("- a:\tb: c\n", 1, "invalid YAML")]:
        assert compose_clean(text) is None
        error = parse_yaml("f.yaml", text).failure()
        assert (error.origin.line, words in error.message) == (line, True), error


@pytest.mark.parametrize("text", [
    "- cluster: h\tp\n",  # a tab in a plain value: strictyaml refuses it
    "- >#\n  x\n",  # a block header run into a comment
    "a: b\n...\n...\n",  # strictyaml reads a second document
    "a: b\rc: d\r",  # old Mac line ends
    "k: [?, : c]\n",  # an empty explicit key in a flow list
    "a: caf\u00e9\u2028b\n",  # a YAML 1.1 line break
])
def test_what_the_parsers_read_differently_is_left_to_strictyaml(text: str) -> None:
    """The places random edits found where libyaml and strictyaml part: libyaml declines them."""
    assert compose_clean(text) is None
    assert parse_yaml("f.yaml", text) == parse_strict("f.yaml", text)


def test_a_clean_file_does_not_load_strictyaml() -> None:
    code = ("import sys; from seamless_config.core.yamltree import parse_yaml; "
            "parse_yaml('f', '- project: p\\n- cluster: hpc\\n').unwrap(); "
            "print('strictyaml' in sys.modules, 'yaml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]
