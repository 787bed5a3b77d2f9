"""``seamless-config schema``: the JSON Schema editors use, generated from the schema table.

- Each schema is a valid draft 2020-12 schema, and every field of the table is in it.
- Every configuration file in docs/ and examples/ that the validator accepts, the schema accepts.
- On a corpus of broken files (the docs' files, mutated by hypothesis), every file the schema
  rejects the validator rejects too: the schema may accept more (it cannot see across fields or
  files), never less. Files are read as an editor's YAML 1.2 language server reads them, and as a
  YAML 1.1 reader does (``yes`` true, ``01:00:00`` a number).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns.result import Failure

from seamless_config.core import schema
from seamless_config.core.clusters import ClustersCommand
from seamless_config.core.commands import StageBlock
from seamless_config.core.layout import load_cluster_file, load_document
from seamless_config.core.sources import SourceBytes

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```yaml file=(\S+)[^\n]*\n(.*?)^```\s*$", re.S | re.M)


class Yaml12(yaml.SafeLoader):
    """Scalars typed as YAML 1.2's core schema does (an editor's language server): only true/false
    are booleans, and no base-60 numbers."""


Yaml12.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
                                                   "tag:yaml.org,2002:float")]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                             list("tTfF"))
Yaml12.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
Yaml12.add_implicit_resolver("tag:yaml.org,2002:float",
                             re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
                             list("-+.0123456789"))
LOADERS = (Yaml12, yaml.SafeLoader)
VALIDATORS = {f: jsonschema.Draft202012Validator(schema.json_schema(f)) for f in ("project", "profile", "clusters")}


def kind_of(name: str) -> str | None:
    """Which schema a file of that name follows (None: not a configuration file)."""
    base = name.rsplit("/", 1)[-1]
    if base == "seamless.yaml":
        return "project"
    if base == "seamless.profile.yaml":
        return "profile"
    if ".seamless/clusters" in name and name.endswith(".yaml"):
        return "clusters"
    return None


def validator_accepts(kind: str, text: str) -> bool:
    """Whether seamless-config accepts the file on its own (every definition in it checked)."""
    f = SourceBytes(f"/p/{'seamless.yaml' if kind != 'clusters' else '.seamless/clusters.yaml'}", text.encode())
    r = load_cluster_file(f) if kind == "clusters" else load_document(f)
    if isinstance(r, Failure):
        return False
    if kind == "clusters":
        return r.unwrap().flawless  # type: ignore[no-any-return]

    def flawless(items: tuple) -> bool:
        return all((not isinstance(i, ClustersCommand) or i.flawless)
                   and (not isinstance(i, StageBlock) or flawless(i.items)) for i in items)

    return flawless(r.unwrap().items)


def schema_accepts(kind: str, text: str) -> bool | None:
    """Whether the schema accepts the file under every YAML reading (None: not YAML at all)."""
    verdicts = []
    for loader in LOADERS:
        try:
            data = yaml.load(text, Loader=loader)  # noqa: S506 - SafeLoader subclasses
        except yaml.YAMLError:
            return None
        verdicts.append(VALIDATORS[kind].is_valid(data))
    return all(verdicts)


def config_files() -> list[tuple[str, str, str]]:
    """``(where, kind, text)`` of every configuration file in docs/ and examples/."""
    out = []
    for page in sorted((ROOT / "docs").rglob("*.md")):
        for name, text in BLOCK.findall(page.read_text()):
            kind = kind_of(name)
            if kind is not None:
                out.append((f"{page.relative_to(ROOT)} {name}", kind, text))
    for path in sorted((ROOT / "examples").rglob("*.yaml")):
        kind = kind_of(path.name)
        if kind is not None:
            out.append((str(path.relative_to(ROOT)), kind, path.read_text()))
    return out


FILES = config_files()


def test_the_schemas_are_valid_and_hold_every_field() -> None:
    for f in ("project", "profile", "clusters"):
        doc = schema.json_schema(f)
        jsonschema.Draft202012Validator.check_schema(doc)
    defs = schema.json_schema("clusters")["$defs"]
    assert isinstance(defs, dict)
    for section in schema.SECTIONS[1:]:
        props = defs[section]["properties"]
        assert set(schema.names(section)) <= set(props), section
        assert all(props[f.name].get("description") for f in schema.fields(section) if f.kind != "stage")
    item = schema.json_schema("project")["$defs"]["item"]["anyOf"][1]  # type: ignore[index]
    assert set(item["properties"]) == set(schema.names("command"))


def test_the_command_prints_the_schema() -> None:
    out = subprocess.run([sys.executable, "-m", "seamless_config.cli.config", "schema", "--file", "clusters"],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == schema.json_schema("clusters")


def test_the_files_of_the_docs_pass_the_schema() -> None:
    accepted = [(w, k, t) for w, k, t in FILES if validator_accepts(k, t)]
    assert len(accepted) >= 30, f"only {len(accepted)} of {len(FILES)} files found and accepted"
    refused = [w for w, k, t in accepted if schema_accepts(k, t) is False]
    assert refused == [], f"the schema refuses files that seamless-config accepts: {refused}"


TOKENS = ["", "~", "yes", "no", "on", "true", "0", "-1", "7", "65536", '"7"', "1.5", "01:00:00", "x y", "a--b",
          "[a, b]", "{a: 1}", "[]", "{}", "null", "/abs/path", "~/rel", "relative", "10.0.0.1", "localhost",
          "slurm", "remote", "spawn", "daskserver"]
KEYS = ["project", "cluster", "execution", "queue", "remote", "persistent", "record", "node", "nparallel",
        "subproject", "type", "tunnel", "workers", "frontends", "queues", "default_queue", "hostname",
        "bufferdir", "database_dir", "port_start", "port_end", "cores", "walltime", "memory", "exclusive",
        "job_extra_directives", "TEMPLATE", "conda", "projct", "walltme", "stage x", "local_cluster"]
SCALAR = re.compile(r"(:[ \t]+)([^\s#][^\n#]*?)[ \t]*$", re.M)
KEY = re.compile(r"^([ \t]*-?[ \t]*)([A-Za-z_][\w -]*?):", re.M)


@st.composite
def broken(draw: st.DrawFn) -> tuple[str, str]:
    where, kind, text = draw(st.sampled_from([f for f in FILES if validator_accepts(f[1], f[2])]))
    for _ in range(draw(st.integers(1, 3))):
        what = draw(st.sampled_from(["value", "key", "drop"]))
        if what == "value" and (values := list(SCALAR.finditer(text))):
            m = draw(st.sampled_from(values))
            text = text[:m.start(2)] + draw(st.sampled_from(TOKENS)) + text[m.end(2):]
        elif what == "key" and (keys := list(KEY.finditer(text))):
            m = draw(st.sampled_from(keys))
            text = text[:m.start(2)] + draw(st.sampled_from(KEYS)) + text[m.end(2):]
        elif what == "drop":
            lines = text.splitlines(keepends=True)
            if len(lines) > 1:
                del lines[draw(st.integers(0, len(lines) - 1))]
                text = "".join(lines)
    return kind, text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken())
def test_what_the_schema_refuses_the_validator_refuses(case: tuple[str, str]) -> None:
    kind, text = case
    if schema_accepts(kind, text) is False:
        assert not validator_accepts(kind, text), f"the schema refuses, seamless-config accepts ({kind}):\n{text}"


@pytest.mark.parametrize("kind", ["project", "clusters"])
def test_the_schema_refuses_common_mistakes(kind: str) -> None:
    """Not a schema that accepts everything: typical mistakes are flagged in the editor."""
    bad = {"project": ["- projct: x\n", "- nparallel: 0\n", "- execution: cloud\n", "- project: a b\n"],
           "clusters": ["hpc:\n  workerz: 2\n  frontends: []\n", "hpc:\n  frontends:\n    - hostname: h\n"
                        "      hashserver: {port_start: 1}\n", "hpc: {}\n"]}[kind]
    for text in bad:
        assert schema_accepts(kind, text) is False, text
        assert not validator_accepts(kind, text), text
