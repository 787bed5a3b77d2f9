"""The schema table (:mod:`seamless_config.core.schema`) is the one list of fields.

- The reference tables of the pages are generated from it and must not drift
  (``make docs`` rewrites them: ``python tests/test_schema.py --write``).
- Its fields are exactly those of seamless-config 0.3.2's own classes and
  commands (read from the reference by ``tests/oracle/ref_schema.py``), with
  the same required fields, and the fields it marks as our own are not the
  reference's.
- The validators take their field lists from it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seamless_config.core import schema
from seamless_config.core.clusters import (
    CLUSTER_FIELDS,
    FRONTEND_FIELDS,
    QUEUE_FIELDS,
    SERVICE_FIELDS,
)
from seamless_config.core.commands import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
ORACLE_PYTHON = Path(os.environ.get("SEAMLESS_ORACLE_PYTHON", ROOT / ".venv-oracle" / "bin" / "python"))

#: the reference's class for each section (its YAML is read with these: ref_schema.py's "structure")
REFERENCE_CLASSES = {
    "cluster": "Cluster", "frontend": "ClusterFrontend", "hashserver": "ClusterFrontendHashserver",
    "database": "ClusterFrontendDatabase", "jobserver": "ClusterFrontendJobserver",
    "daskserver": "ClusterFrontendDaskserver", "queue": "ClusterQueueWithTemplate",
}


def write_pages() -> list[str]:
    """Regenerate the tables of every page that has them; the pages changed."""
    changed = []
    for page in sorted(set(schema.PAGES.values())):
        path = DOCS / page
        text = path.read_text()
        new = schema.render_page(text)
        if new != text:
            path.write_text(new)
            changed.append(page)
    return changed


@pytest.mark.parametrize("page", sorted(set(schema.PAGES.values())))
def test_the_pages_show_the_table(page: str) -> None:
    text = (DOCS / page).read_text()
    sections = [s for s, p in schema.PAGES.items() if p == page]
    for s in sections:
        assert f"<!-- schema:{s} -->" in text, f"docs/{page} has no table of {s}"
    assert schema.render_page(text) == text, f"docs/{page} drifted from the schema table: run make docs"


def test_the_validators_use_the_table() -> None:
    assert COMMANDS == schema.names("command")
    assert CLUSTER_FIELDS == set(schema.names("cluster")) and FRONTEND_FIELDS == set(schema.names("frontend"))
    assert QUEUE_FIELDS == schema.kinds("queue")
    assert SERVICE_FIELDS == {s: set(schema.names(s)) for s in schema.SECTIONS[3:-1]}
    assert {f.kind for f in schema.FIELDS} <= set(schema.KINDS)


STRUCTURAL = {"section", "frontends", "queues", "clusters", "flag", "stage"}


def test_every_value_kind_has_one_reader() -> None:
    from seamless_config.core.convert import READERS

    assert set(READERS) == set(schema.KINDS) - STRUCTURAL
    assert {f.kind for f in schema.FIELDS} - STRUCTURAL <= set(READERS)


@pytest.mark.parametrize("f", [f for f in schema.FIELDS if f.kind == "enum"], ids=lambda f: f"{f.section}.{f.name}")
def test_an_enum_refuses_what_the_table_does_not_allow(f: schema.Field) -> None:
    from seamless_config.core.convert import read
    from seamless_config.core.yamltree import Scalar

    for value in f.allowed:
        if value is not None:
            assert read(f, Scalar(value, 3), "x.yaml", "cluster 'c'").unwrap() == value
    mistakes = read(f, Scalar("nonsense", 3), "x.yaml", "cluster 'c'").failure()
    assert [(e.kind, e.origin.line) for e in mistakes] == [("invalid-choice", 3)]
    assert "'nonsense'" in mistakes[0].message


def _reference() -> dict:
    if not ORACLE_PYTHON.exists():
        pytest.skip(f"the reference's venv ({ORACLE_PYTHON}) is not built: make oracle-venv")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the reference's own package, not ours
    out = subprocess.run([str(ORACLE_PYTHON), str(ROOT / "tests" / "oracle" / "ref_schema.py")],
                         capture_output=True, text=True, check=True, timeout=120, env=env)
    return json.loads(out.stdout)


def test_the_table_has_the_fields_of_the_reference() -> None:
    ref = _reference()
    classes = ref["classes"]
    for section, cls in REFERENCE_CLASSES.items():
        theirs = {f["name"]: f for f in classes[cls]["fields"] if f["name"] != "name"}
        ours = {f.name: f for f in schema.fields(section)}
        known = {n for n, f in ours.items() if f.reference}
        assert known == set(theirs), f"{section}: ours {sorted(known)}, the reference's {sorted(theirs)}"
        assert not {n for n, f in ours.items() if not f.reference} & set(theirs)
    commands = set(ref["commands"]["specs"]) | {ref["commands"]["inherit"]}
    assert set(schema.names("command")) == commands


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python tests/test_schema.py --write")
    print("\n".join(f"rewrote docs/{p}" for p in write_pages()) or "the pages are up to date")


def test_the_strategies_generate_every_field_of_the_table() -> None:
    """The hypothesis strategies take their commands and queue fields from the table."""
    import strategies as S

    assert set(S._QUEUE_VALUES) == set(schema.names("queue"))
    structural = {f.name for f in schema.fields("command") if f.kind in ("clusters", "flag")}
    assert set(S.COMMAND_NAMES) == set(schema.names("command")) - structural
