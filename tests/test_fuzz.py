"""Bad input, fuzzed: whatever the files hold, the pure pipeline returns mistakes as values
and every command line exits 2 with one line per mistake, never a traceback.

Generated YAML-ish text, random text and bytes, mutations of a valid
configuration, deep nesting, huge files, anchors and aliases, non-UTF-8, and
every command and every cluster, frontend, service and queue field given every
wrong type. The figures go to ``docs/reliability.md`` (see ``reliability.py``).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import fuzzkit
import pytest
import reliability
from conftest import STANDARD_CLUSTERS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seamless_config import session as session_mod
from seamless_config.core.clusters import (
    CLUSTER_FIELDS,
    FRONTEND_FIELDS,
    QUEUE_FIELDS,
    SERVICE_FIELDS,
)
from seamless_config.core.commands import COMMANDS
from seamless_config.core.yamltree import MAX_DEPTH, MAX_FILE_BYTES, decode

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
ORACLE_BIN = REPO / ".venv-oracle" / "bin"

FUZZ = settings(max_examples=int(os.environ.get("SEAMLESS_FUZZ_EXAMPLES", "150")), deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])

COUNTS: dict[str, int] = {}


def _count(kind: str, n: int = 1) -> None:
    COUNTS[kind] = COUNTS.get(kind, 0) + n


@pytest.fixture(scope="module", autouse=True)
def _figures():
    yield
    for kind, n in sorted(COUNTS.items()):
        reliability.record("Bad input (pure pipeline)", kind, {"inputs": n, "exceptions": 0})


# -- inputs -------------------------------------------------------------------------------------------

TOKENS = [
    "- ", "-", ":", ": ", " ", "  ", "\n", "\n  ", "\n    ", "\t", "[", "]", "{", "}", ",", "&a ", "*a", "!!str ",
    "!x ", "'", '"', "# c", "? ", "|", ">", "---", "...", "%YAML 1.2", "<<: ", "\\", "~", "null", "yes", "0x1F",
    "1e999", "-1", "99999999999999999999", "project", "subproject", "cluster", "queue", "execution", "remote",
    "persistent", "record", "node", "nparallel", "clusters", "inherit_from_parent", "stage prod", "stage ",
    "type", "local", "slurm", "frontends", "hostname", "ssh_hostname", "hashserver", "database", "jobserver",
    "daskserver", "bufferdir", "database_dir", "port_start", "port_end", "network_interface", "conda", "queues",
    "default_queue", "TEMPLATE", "cores", "walltime", "memory", "workers", "tunnel", "/data", "~/b", "..", "$(x)",
    "`x`", ";", "é", "\u2028", "\x85", "\ufeff", "\x00", "\x1b[31m",
]

yamlish = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)
texts = st.one_of(yamlish, st.text(max_size=300), st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=300))

VALID_PROJECT = b"- project: p\n- stage prod:\n  - project: q\n"
VALID_PROFILE = b"- cluster: here\n- execution: process\n- persistent: true\n- stage prod:\n  - cluster: there\n  - remote: jobserver\n"
VALID_CLUSTERS = STANDARD_CLUSTERS.encode()


@st.composite
def mutated(draw, base: bytes) -> bytes:
    """``base`` with a few bytes inserted, deleted or replaced."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = draw(st.one_of(st.binary(min_size=1, max_size=4), st.sampled_from(
            [b"[", b"{", b": ", b"\n", b"  ", b"- ", b"&a", b"*a", b"\xff", b"'", b"#", b"\t", b"\x00"])))
        if op == "insert":
            data[pos:pos] = chunk
        elif op == "delete":
            del data[pos:pos + len(chunk)]
        else:
            data[pos:pos + len(chunk)] = chunk
    return bytes(data)


# -- the pure pipeline --------------------------------------------------------------------------------


def test_valid_baseline_has_no_mistakes():
    assert fuzzkit.pure_outcome(fuzzkit.snapshot(VALID_PROJECT, VALID_PROFILE, [("clusters.yaml", VALID_CLUSTERS)])) == []


@FUZZ
@given(text=texts, where=st.sampled_from(["project", "profile", "clusters"]))
def test_generated_text_gives_mistakes_not_exceptions(text, where):
    data = text.encode("utf-8", "surrogatepass")
    files = {"project": VALID_PROJECT, "profile": VALID_PROFILE, "clusters": VALID_CLUSTERS, where: data}
    fuzzkit.pure_outcome(fuzzkit.snapshot(files["project"], files["profile"], [("clusters.yaml", files["clusters"])]))
    _count("generated YAML-like and random text")


@FUZZ
@given(data=st.binary(max_size=400), where=st.sampled_from(["project", "profile", "clusters"]))
def test_random_bytes_give_mistakes_not_exceptions(data, where):
    files = {"project": VALID_PROJECT, "profile": VALID_PROFILE, "clusters": VALID_CLUSTERS, where: data}
    fuzzkit.pure_outcome(fuzzkit.snapshot(files["project"], files["profile"], [("clusters/x.yaml", files["clusters"])]))
    _count("random bytes")


@FUZZ
@given(st.data())
def test_mutated_valid_configuration_gives_mistakes_not_exceptions(data):
    where = data.draw(st.sampled_from(["project", "profile", "clusters"]))
    files = {"project": VALID_PROJECT, "profile": VALID_PROFILE, "clusters": VALID_CLUSTERS}
    files[where] = data.draw(mutated(files[where]))
    fuzzkit.pure_outcome(fuzzkit.snapshot(files["project"], files["profile"], [("clusters.yaml", files["clusters"])]))
    _count("byte mutations of a valid configuration")


def _deep_flow(n: int) -> bytes:
    return b"- project: " + b"[" * n + b"x" + b"]" * n + b"\n"


def _deep_block(n: int) -> bytes:
    return b"- project:\n" + b"".join(b"  " * (i + 1) + b"k%d:\n" % i for i in range(n)) + b"  " * (n + 1) + b"x\n"


#: named hostile files: (name, bytes, where it goes)
HOSTILE_FILES: list[tuple[str, bytes]] = [
    ("10 MB file", b"- project: p\n" + b"#" * (10 * 1024 * 1024)),
    ("1 MB file", b"- project: p\n" * (1024 * 1024 // 13)),
    ("just over the size limit", b"- project: p\n" + b"#" * MAX_FILE_BYTES),
    ("billion laughs (anchors/aliases)", b"- a: &a [x, x, x, x, x, x, x, x, x]\n- b: &b [*a, *a, *a, *a, *a, *a]\n"
                                         b"- c: [*b, *b, *b, *b, *b, *b, *b, *b]\n"),
    ("merge key", b"- clusters:\n    a: &d {type: local}\n    b:\n      <<: *d\n"),
    ("deep flow nesting (5000)", _deep_flow(5000)),
    ("deep flow nesting (just over the limit)", _deep_flow(MAX_DEPTH + 1)),
    ("deep flow mappings", b"- project: " + b"{a: " * 3000 + b"1" + b"}" * 3000 + b"\n"),
    ("deep block nesting", _deep_block(300)),
    ("non-UTF-8 (latin-1)", "- project: caf\u00e9\n".encode("latin-1")),
    ("UTF-16 with BOM", "- project: p\n".encode("utf-16")),
    ("lone surrogate", "- project: \ud800\n".encode("utf-8", "surrogatepass")),
    ("NUL byte", b"- project: p\x00q\n"),
    ("terminal escape", b"- project: \x1b[31mred\n"),
    ("bell and backspace in a key", b"- \x07\x08: p\n"),
    ("line separator in a value", "- project: \"a\u2028b\"\n".encode()),
    ("NEL in a value", "- project: \"a\u0085b\"\n".encode()),
    ("escaped newline in a value", b"- project: \"a\\nb\"\n"),
    ("escaped newline in a key", b"- \"proj\\nect\": p\n"),
    ("escaped ESC in a value", b"- project: \"\\e[2J\"\n"),
    ("tab indentation", b"-\tproject: p\n"),
    ("two documents", b"- project: a\n---\n- project: b\n"),
    ("tag", b"- project: !!python/object:os.system x\n"),
    ("python tag", b"- !!python/object/apply:os.system [\"touch /tmp/x\"]\n"),
    ("complex key", b"- ? [a, b]\n  : c\n"),
    ("unclosed quote", b"- project: 'p\n"),
    ("unclosed bracket", b"- project: [p\n"),
    ("only a scalar", b"hello"),
    ("empty", b""),
    ("only whitespace and comments", b"  \n# x\n\n"),
    ("CR line ends", b"- project: a\r- cluster: b\r"),
    ("BOM", b"\xef\xbb\xbf- project: p\n"),
    ("very long name", b"- project: " + b"a" * 100_000 + b"\n"),
    ("very long key", b"- " + b"k" * 100_000 + b": v\n"),
    ("3000 commands", b"- nparallel: 1\n" * 3000),
    ("huge integer", b"- nparallel: " + b"9" * 5000 + b"\n"),
    ("negative integer", b"- nparallel: -1\n"),
    ("float infinity", b"- nparallel: .inf\n"),
]


def test_hostile_files_give_mistakes_not_exceptions():
    """Every named hostile file, as project file, profile and cluster file: mistakes, quickly."""
    slowest = 0.0
    for _name, data in HOSTILE_FILES:
        for where in ("project", "profile", "clusters"):
            files = {"project": VALID_PROJECT, "profile": VALID_PROFILE, "clusters": VALID_CLUSTERS, where: data}
            t0 = time.monotonic()
            fuzzkit.pure_outcome(fuzzkit.snapshot(files["project"], files["profile"],
                                                  [("clusters.yaml", files["clusters"])]))
            slowest = max(slowest, time.monotonic() - t0)
            _count("named hostile files (size, nesting, aliases, encodings, control characters)")
    reliability.record("Timings", "slowest named hostile file, whole pure pipeline (s)", round(slowest, 2))


def test_size_limit_refuses_at_once():
    t0 = time.monotonic()
    r = decode("big.yaml", b"#" * (10 * 1024 * 1024))
    assert "larger than the 262144 bytes allowed" in str(r.failure())
    assert time.monotonic() - t0 < 0.5


# -- every command and field, every wrong type ----------------------------------------------------------

WRONG_VALUES = {
    "a list": "[a, b]",
    "a mapping": "{a: 1}",
    "null": "null",
    "empty": "''",
    "a number": "42",
    "a negative number": "-7",
    "zero": "0",
    "a float": "1.5",
    "a boolean": "true",
    "a date": "2024-01-01",
    "a long string": "'" + "x" * 5000 + "'",
    "nested lists": "[[[[a]]]]",
    "a list of mappings": "[{a: 1}, {b: 2}]",
    "a shell string": "'$(touch /tmp/seamless-fuzz-canary)'",
    "a newline string": '"a\\nb"',
    "an escape string": '"\\e[2J"',
}


def _assert_rejected_or_harmless(snap) -> list[str]:
    return fuzzkit.pure_outcome(snap)


def test_every_command_every_wrong_type():
    """Each command with each wrong type: a mistake for that command (or the value is accepted)."""
    for cmd in COMMANDS:
        for kind, value in WRONG_VALUES.items():
            project = f"- project: p\n- {cmd}: {value}\n".encode()
            msgs = fuzzkit.pure_outcome(fuzzkit.snapshot(project, VALID_PROFILE, [("clusters.yaml", VALID_CLUSTERS)]))
            _count("every command given every wrong type")
            if cmd == "inherit_from_parent":
                continue  # any value accepted, as in the reference
            if kind in ("a list", "a mapping", "nested lists", "a list of mappings") and cmd != "clusters":
                assert msgs, f"{cmd}: {value} accepted"


def _cluster_with(path: list[str], value: str) -> bytes:
    """VALID_CLUSTERS with the field at ``path`` (cluster / frontend / service / queue) set to ``value``."""
    base = {
        "cluster": "here:\n  type: local\n  tunnel: false\n  workers: 4\n",
        "frontend": "  frontends:\n  - hostname: localhost\n",
        "service": "    hashserver:\n      bufferdir: /data/buffers\n      port_start: 5000\n      port_end: 5099\n"
                   "    database:\n      database_dir: /data/db\n      port_start: 6000\n      port_end: 6099\n"
                   "    jobserver:\n      network_interface: 127.0.0.1\n      port_start: 7000\n      port_end: 7099\n",
        "queue": "  queues:\n    q1:\n      cores: 4\n      walltime: '01:00:00'\n      memory: 10GB\n"
                 "  default_queue: q1\n",
    }
    level, service, field = path[0], path[1] if len(path) == 3 else None, path[-1]
    text = base["cluster"] + base["frontend"] + base["service"] + base["queue"]
    if level == "cluster":
        text = text.replace("  workers: 4\n", f"  workers: 4\n  {field}: {value}\n") if field != "workers" else \
            text.replace("  workers: 4\n", f"  workers: {value}\n")
        if field in ("type", "tunnel", "frontends", "queues", "default_queue"):
            lines = [ln for ln in text.splitlines(keepends=True) if not ln.startswith(f"  {field}:")]
            text = "".join(lines) + f"  {field}: {value}\n"
            if field == "frontends":
                text = text.replace("  - hostname: localhost\n", "", 1)
    elif level == "frontend":
        text = text.replace("  - hostname: localhost\n", f"  - hostname: localhost\n    {field}: {value}\n") \
            if field != "hostname" else text.replace("  - hostname: localhost\n", f"  - hostname: {value}\n")
    elif level == "service":
        assert service is not None
        text = text.replace(f"    {service}:\n", f"    {service}:\n      {field}: {value}\n", 1)
        # the field written twice would be a duplicate key: drop the original
        lines, seen = [], False
        in_section = False
        for ln in text.splitlines(keepends=True):
            if ln == f"    {service}:\n":
                in_section = True
            elif not ln.startswith("      "):
                in_section = False
            if in_section and ln.startswith(f"      {field}:"):
                if seen:
                    continue
                seen = True
            lines.append(ln)
        text = "".join(lines)
    else:
        text = text.replace("    q1:\n", f"    q1:\n      {field}: {value}\n")
        lines, seen = [], False
        for ln in text.splitlines(keepends=True):
            if ln.startswith(f"      {field}:"):
                if seen:
                    continue
                seen = True
            lines.append(ln)
        text = "".join(lines)
    return text.encode()


FIELD_PATHS = (
    [["cluster", f] for f in CLUSTER_FIELDS]
    + [["frontend", f] for f in FRONTEND_FIELDS if f not in SERVICE_FIELDS]
    + [["service", s, f] for s in ("hashserver", "database", "jobserver") for f in SERVICE_FIELDS[s]]
    + [["frontend", s] for s in SERVICE_FIELDS]
    + [["queue", f] for f in QUEUE_FIELDS]
)


def test_every_cluster_field_every_wrong_type():
    """Each cluster, frontend, service and queue field with each wrong type: mistakes, never exceptions."""
    profile = b"- cluster: here\n- execution: remote\n- remote: jobserver\n"
    accepted = []
    for path in FIELD_PATHS:
        for kind, value in WRONG_VALUES.items():
            data = _cluster_with(path, value)
            msgs = fuzzkit.pure_outcome(fuzzkit.snapshot(b"- project: p\n", profile, [("clusters.yaml", data)]))
            _count("every cluster/frontend/service/queue field given every wrong type")
            if not msgs:
                accepted.append((".".join(path), kind))
    # containers are never accepted where a scalar belongs (and the free-form mappings take only mappings)
    free_form = {"queue.dask_resources", "queue.extra_dask_config", "queue.job_extra_directives",
                 "queue.job_script_prologue", "cluster.frontends", "cluster.queues"}
    wrongly = [(p, k) for p, k in accepted if k in ("a list", "a mapping", "nested lists", "a list of mappings")
               and p not in free_form]
    assert not wrongly, wrongly


# -- the command lines --------------------------------------------------------------------------------

#: the files the command lines are given (a subset: each run costs a process)
VALID_SOMEWHERE = {"empty", "only whitespace and comments", "BOM", "CR line ends", "merge key", "3000 commands"}
CLI_SAMPLE = [
    "10 MB file", "billion laughs (anchors/aliases)", "deep flow nesting (5000)", "non-UTF-8 (latin-1)",
    "NUL byte", "escaped newline in a key",
]
CLIS = {
    "seamless-service-resolve": ["--service", "hashserver", "--workdir", "."],
    "seamless-init": [],
    "seamless-config show": ["show", "--workdir", "."],
    "seamless-config check": ["check", "--workdir", "."],
}


def _setup(root: Path, data: bytes, where: str) -> tuple[Path, Path]:
    home = root / "home"
    (home / ".seamless").mkdir(parents=True, exist_ok=True)
    proj = root / "proj"
    proj.mkdir(parents=True, exist_ok=True)
    files = {"project": b"- project: p\n", "profile": b"- cluster: here\n", "clusters": VALID_CLUSTERS, where: data}
    (proj / "seamless.yaml").write_bytes(files["project"])
    (proj / "seamless.profile.yaml").write_bytes(files["profile"])
    (home / ".seamless" / "clusters.yaml").write_bytes(files["clusters"])
    return home, proj


def _inprocess(cli: str, argv: list[str]) -> tuple[int, str, str]:
    from seamless_config.cli import config, init, resolve

    main = {"seamless-service-resolve": resolve.main, "seamless-init": init.main}.get(cli, config.main)
    out, err = io.StringIO(), io.StringIO()
    session_mod.SESSION.__dict__.update(session_mod.Session().__dict__)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 1
    return rc, out.getvalue(), err.getvalue()


def _check_cli(cli: str, rc: int, out: str, err: str, what: str) -> None:
    prog = cli.split()[0]
    assert rc == 2, f"{cli} on {what}: exit {rc}\n{out}\n{err}"
    assert "Traceback" not in err + out, f"{cli} on {what}: traceback\n{err}"
    lines = err.splitlines()
    assert lines, f"{cli} on {what}: no message"
    for line in lines:
        assert line.startswith(f"{prog}: "), f"{cli} on {what}: stray line {line!r}"
        why = fuzzkit.bad_message(line)
        assert why is None, f"{cli} on {what}: {why}: {line!r}"


def test_command_lines_exit_2_with_one_line(tmp_path, monkeypatch):
    """Every CLI on every named hostile file, in-process (every file in all three places)."""
    monkeypatch.setenv("SEAMLESS_CONFIG_CACHE", "off")
    monkeypatch.delenv("SEAMLESS_CACHE", raising=False)
    monkeypatch.setenv("REMOTE_HTTP_LAUNCHER_DIR", str(tmp_path / "rhl"))
    n = 0
    for i, (name, data) in enumerate(HOSTILE_FILES):
        if name in VALID_SOMEWHERE:
            continue  # valid, or valid for some of the files (and slow to parse: 3000 commands)
        for where in (("project", "profile", "clusters")[i % 3],):
            home, proj = _setup(tmp_path / f"c{i}-{where}", data, where)
            monkeypatch.setenv("HOME", str(home))
            monkeypatch.chdir(proj)
            for cli, argv in CLIS.items():
                rc, out, err = _inprocess(cli, list(argv))
                _check_cli(cli, rc, out, err, f"{name} as the {where} file")
                n += 1
    assert not (tmp_path / "rhl" / "server").exists() or not list((tmp_path / "rhl" / "server").glob("*.json"))
    reliability.record("Bad input (command lines)", "CLI runs on hostile files (in-process, each file in one place)",
                       {"runs": n, "exit 2 with one line per mistake": n, "tracebacks": 0})


def _subprocess_runs(tmp_path: Path, bindir: Path, clis: dict[str, list[str]]) -> dict[str, int]:
    counts = {"runs": 0, "exit 2": 0, "other exit": 0, "tracebacks": 0, "multi-line or raw control characters": 0}
    by_name = dict(HOSTILE_FILES)
    for i, name in enumerate(CLI_SAMPLE):
        home, proj = _setup(tmp_path / f"s{i}", by_name[name], "project" if i % 2 else "clusters")
        env = {"HOME": str(home), "PATH": f"{bindir}:/usr/bin:/bin", "SEAMLESS_CONFIG_CACHE": "off",
               "REMOTE_HTTP_LAUNCHER_DIR": str(tmp_path / "rhl"), "LANG": "C.UTF-8"}
        for cli, argv in clis.items():
            exe = bindir / cli.split()[0]
            cp = subprocess.run([str(exe), *argv], cwd=proj, env=env, capture_output=True, text=True,
                                errors="replace", timeout=120)
            counts["runs"] += 1
            counts["exit 2" if cp.returncode == 2 else "other exit"] += 1
            if "Traceback" in cp.stderr + cp.stdout:
                counts["tracebacks"] += 1
            elif any(fuzzkit.bad_message(ln) for ln in cp.stderr.splitlines()) or (
                    cp.returncode == 2 and len(cp.stderr.splitlines()) != 1 and "check" not in cli):
                counts["multi-line or raw control characters"] += 1
    return counts


def test_command_lines_in_subprocesses(tmp_path):
    """The real executables on a sample of the hostile files: exit 2, one line, no traceback."""
    counts = _subprocess_runs(tmp_path, BIN, CLIS)
    reliability.record("Bad input (command lines)", "CLI runs on hostile files (real processes)", counts)
    assert counts["runs"] == len(CLI_SAMPLE) * len(CLIS)
    assert counts["exit 2"] == counts["runs"] and counts["tracebacks"] == 0, counts
    assert counts["multi-line or raw control characters"] == 0, counts


def test_reference_command_line_on_the_same_files(tmp_path):
    """The reference (0.3.2) seamless-service-resolve on the same sample: counted, not asserted."""
    if not (ORACLE_BIN / "seamless-service-resolve").exists():
        pytest.skip(f"the reference is not installed in {ORACLE_BIN}")
    counts = _subprocess_runs(tmp_path, ORACLE_BIN, {"seamless-service-resolve": CLIS["seamless-service-resolve"]})
    reliability.record("Bad input (command lines)", "CLI runs on hostile files (real processes)", counts,
                       impl="reference",
                       note="reference: seamless-service-resolve only (its seamless-init and seamless-config "
                            "need the runtime or do not exist)")
    assert counts["runs"] == len(CLI_SAMPLE)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
