"""docs/errors.md: a table of the kinds of mistake and one entry per kind, generated from the table in
:mod:`seamless_config.core.errors` (code, kind, title, fix) and from an example per
kind run through the pure pipeline here (so each message shown is the one the
pipeline gives, and each kind is shown reachable).

``make docs`` rewrites the page (``python tests/test_errors_doc.py --write``); the
test fails when the page drifts, when an example gives a mistake of another kind,
or when a kind has no entry.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from returns.result import Failure

from seamless_config.core.errors import DIAGNOSTICS, ConfigError, ConfigErrors, render
from seamless_config.core.layout import gather, select
from seamless_config.core.plan import build_plan
from seamless_config.core.selection import Selection
from seamless_config.core.sources import DirFiles, Snapshot, SourceBytes

PAGE = Path(__file__).resolve().parents[1] / "docs" / "errors.md"
HOME, PROJECT = "/home/alice", "/home/alice/project"

HPC = """\
hpc:
  type: slurm
  workers: 4
  frontends:
    - hostname: login.hpc.example.org
      hashserver:
        bufferdir: /scratch/buffers
      database:
        database_dir: /scratch/db
      daskserver:
        network_interface: 0.0.0.0
        port_start: 8800
        port_end: 8899
  queues:
    short:
      walltime: "01:00:00"
      cores: 4
      memory: 8GB
  default_queue: short
"""

#: kind -> the files of its example (``~/...``: the home directory; else the project's)
EXAMPLES: dict[str, dict[str, str | bytes]] = {
    "unreadable": {"seamless.yaml": b"- project: caf\xe9\n"},
    "yaml": {"seamless.yaml": "- project: rna\n- subproject: [rna\n"},
    "unknown-command": {"seamless.yaml": "- projct: rna\n"},
    "unknown-field": {"~/.seamless/clusters.yaml": HPC.replace("  workers: 4", "  workerz: 4"),
                      "seamless.yaml": "- project: rna\n"},
    "wrong-type": {"seamless.yaml": "- project: rna\n- nparallel: many\n"},
    "out-of-range": {"seamless.yaml": "- project: rna\n- nparallel: 0\n"},
    "missing": {"seamless.yaml": "- project:\n"},
    "invalid-name": {"seamless.yaml": "- project: my project\n"},
    "invalid-choice": {"seamless.yaml": "- project: rna\n- execution: cloud\n"},
    "conflict": {"~/.seamless/clusters.yaml": HPC.replace("        bufferdir: /scratch/buffers",
                                                          "        bufferdir: /scratch/buffers\n"
                                                          "        port_start: 5100"),
                 "seamless.yaml": "- project: rna\n"},
    "unknown-cluster": {"~/.seamless/clusters.yaml": HPC, "seamless.yaml": "- project: rna\n- cluster: hcp\n"},
    "unknown-queue": {"~/.seamless/clusters.yaml": HPC,
                      "seamless.yaml": "- project: rna\n- cluster: hpc\n- queue: long\n"},
    "no-frontend": {"~/.seamless/clusters.yaml": HPC,
                    "seamless.yaml": "- project: rna\n- cluster: hpc\n- remote: jobserver\n"},
    "nothing-selected": {"seamless.yaml": "- project: rna\n- execution: remote\n"},
}
#: kinds that no configuration file alone gives: where they come from instead
ELSEWHERE = {
    "batch-offer": "Found when a daskserver of a `slurm` or `oar` cluster is about to be launched: the queue's "
                   "partition, walltime, cores and memory (SLURM, from `sinfo`) or its "
                   "`memory_per_core_property_name` and cores (OAR, from `oarnodes`) are compared with what the "
                   "batch system lists on the frontend, and `seamless-init` stops at once, e.g. `seamless.profile."
                   "yaml:9: queue 'small' of cluster 'hpc' asks for SLURM partition 'gpu', which sinfo does not "
                   "list (it lists: debug, short)`.",
    "purged-storage": "A warning of `seamless-init`, `init()` and `seamless-config check`: on a cluster of type "
                      "`oar`, a `bufferdir` or `database_dir` under `/tmp`, `/dev/shm` or `/var/tmp`, where OAR "
                      "deletes every file of the job's user when a job ends.",
    "check": "`seamless-config check` reports these as warnings (a definition replaced by a later one that has "
             "mistakes, a cluster this machine does not define, and with `--strict` what nothing uses).",
}


def first_mistake(files: dict[str, str | bytes]) -> ConfigError:
    """The first mistake the pure pipeline (gather, select, plan) finds in ``files``."""
    def source(name: str) -> SourceBytes | None:
        data = files.get(name)
        if data is None:
            return None
        return SourceBytes(f"{PROJECT}/{name}", data.encode() if isinstance(data, str) else data)

    home = tuple(SourceBytes(f"{HOME}/{name[2:]}", str(data).encode()) for name, data in files.items()
                 if name.startswith("~/"))
    snapshot = Snapshot(PROJECT, (DirFiles(PROJECT, source("seamless.yaml"), source("seamless.profile.yaml")),),
                        home)
    layout = gather(snapshot)
    if layout.errors:
        return layout.errors[0]
    res = select(layout, Selection())
    if isinstance(res, Failure):
        return res.failure().errors[0]
    plan = build_plan(res.unwrap())
    assert isinstance(plan, Failure), f"the example gives no mistake: {files}"
    return plan.failure()


def _rendered(e: ConfigError) -> str:
    return render(ConfigErrors((e,)), cwd=PROJECT, home=HOME)


def summary() -> str:
    """The table of kinds (the ``codes`` region of the page)."""
    out = [
        "Every mistake has a kind and a stable code. `seamless-config check --json` gives both",
        "(`code`, `kind`), for tools that must tell mistakes apart: never match on the message text.",
        "",
        "| code | kind | what |",
        "| --- | --- | --- |",
    ]
    out += [f"| [{d.code}](#{d.code.lower()}) | `{d.kind}` | {d.title} |" for d in DIAGNOSTICS]
    return "\n".join(out)


def entries() -> str:
    """One entry per code, with its fix and an example (the ``entries`` region of the page)."""
    out: list[str] = []
    for d in DIAGNOSTICS:
        out += [f"### {d.code}", "", f"**{d.title}** (`{d.kind}`). Fix: {d.fix}.", ""]
        files = EXAMPLES.get(d.kind)
        if files is None:
            out += [ELSEWHERE[d.kind], ""]
            continue
        out += ["For example:", ""]
        for name, data in files.items():
            text = data.decode("latin-1") if isinstance(data, bytes) else data
            note = " (saved as Latin-1, not UTF-8)" if isinstance(data, bytes) else ""
            out += [f"`{name}`{note}:", "", "```yaml", text.rstrip("\n"), "```", ""]
        out += ["gives:", "", "```text", _rendered(first_mistake(files)), "```", ""]
    return "\n".join(out).rstrip("\n")


def page(text: str) -> str:
    """``text`` (the page) with its generated regions written anew."""
    import re

    for region, body in (("codes", summary()), ("entries", entries())):
        text = re.sub(rf"(<!-- {region}:[^>]*-->\n).*?(<!-- /{region} -->)",
                      lambda m, body=body: f"{m[1]}{body}\n{m[2]}", text, count=1, flags=re.S)
    return text


def test_every_kind_has_an_entry_and_a_reachable_example() -> None:
    assert set(EXAMPLES) | set(ELSEWHERE) == {d.kind for d in DIAGNOSTICS}
    assert len({d.code for d in DIAGNOSTICS}) == len(DIAGNOSTICS), "two kinds share a code"
    assert [d.code for d in DIAGNOSTICS] == sorted(d.code for d in DIAGNOSTICS), "the table is in code order"


def test_each_kind_is_the_module_name_of_its_capitals() -> None:
    # errors.py unpacks its table into names: the order of those names must follow the table's
    import seamless_config.core.errors as errors

    for d in DIAGNOSTICS:
        assert getattr(errors, d.kind.upper().replace("-", "_")) is d


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_the_example_gives_its_kind(kind: str) -> None:
    e = first_mistake(EXAMPLES[kind])
    assert e.kind == kind, f"{kind}: the example gives {e.kind or 'no kind'}: {e}"
    assert e.code and e.origin is not None, f"{kind}: {e}"


def test_every_mistake_is_made_by_its_kind() -> None:
    """No ConfigError is built but by a Diagnostic (the one constructor per kind), so each has a kind."""
    import ast

    root = PAGE.parents[1]
    offenders = []
    for path in sorted([*root.glob("seamless_config/**/*.py"), *root.glob("effects/*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "ConfigError":
                if not any(k.arg == "kind" for k in node.keywords):
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == [], f"ConfigError built without a kind (use a Diagnostic of core/errors.py): {offenders}"


def test_the_page_is_up_to_date() -> None:
    text = PAGE.read_text()
    assert "<!-- codes:" in text and "<!-- entries:" in text
    assert page(text) == text, "docs/errors.md drifted from the table: run make docs"


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python tests/test_errors_doc.py --write")
    PAGE.write_text(page(PAGE.read_text()))
    print(f"wrote {PAGE}")
