"""Hostile names and paths: rejected with a message, or passed only as whole argv elements.

Every field that reaches a storage path, a service key, a command line, a batch
script or an SSH command gets values such as ``$(touch CANARY)``, ``;touch
CANARY``, backticks, quotes, line breaks, ``..``, absolute paths, ``--`` options
and Unicode lookalikes. Each is either refused (a mistake naming it) or, where
it is a legal value, it reaches the launch commands as one argv element and no
line of its own. Then the command lines run on them, with service binaries that
only record their argv, and no canary file may exist anywhere afterwards.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import fuzzkit
import pytest
import reliability
from returns.result import Failure, Success

from seamless_config import ConfigurationError, select
from seamless_config import session as session_mod
from seamless_config.core.bringup import evaluate_command
from seamless_config.core.plan import build_plan
from seamless_config.core.resolve import resolve
from seamless_config.core.selection import Selection

REPO = Path(__file__).resolve().parents[1]
CANARY = "/tmp/seamless-hostile-CANARY"

HOSTILE = {
    "command substitution": f"$(touch {CANARY})",
    "semicolon": f";touch {CANARY}",
    "backticks": f"`touch {CANARY}`",
    "pipe": f"a|touch {CANARY}",
    "and-and": f"a&&touch {CANARY}",
    "redirect": f"a>{CANARY}",
    "relative canary": "x;touch CANARY",
    "single quote": "a'b",
    "double quote": 'a"b',
    "newline": f"a\ntouch {CANARY}",
    "dot-dot": "..",
    "dot-dot path": "../../../tmp/x",
    "absolute path": "/etc/passwd",
    "option": "--help",
    "short option": "-rf",
    "space": "a b",
    "braces": "{status_file}",
    "dollar variable": "$HOME",
    "glob": "*",
    "backslash": "a\\b",
    "tilde user": "~root",
    "fullwidth lookalike": "\uff50\uff52\uff4f\uff4a",
    "cyrillic lookalike": "pr\u043ej",
    "zero-width space": "a\u200bb",
    "right-to-left override": "a\u202eb",
    "key separator": "a--b",
    "stage marker": "STAGE-x",
}

CLUSTERS = """\
c:
  type: slurm
  tunnel: false
  workers: 2
  frontends:
  - hostname: localhost
    hashserver:
      bufferdir: /srv/seamless-hostile/buffers
      conda: henv
      network_interface: 127.0.0.1
      port_start: 5000
      port_end: 5099
    database:
      database_dir: /srv/seamless-hostile/db
      network_interface: 127.0.0.1
      port_start: 6000
      port_end: 6099
    jobserver:
      network_interface: 127.0.0.1
      port_start: 7000
      port_end: 7099
  queues:
    q:
      cores: 2
      walltime: '01:00:00'
      memory: 1GB
      partition: batch
      tmpdir: /tmp
      conda: qenv
  default_queue: q
"""
PROJECT = "- project: p\n- subproject: s\n"
PROFILE = "- cluster: c\n- execution: remote\n- remote: jobserver\n- queue: q\n- node: n1\n"


def _q(value: str) -> str:
    return json.dumps(value)  # a YAML double-quoted scalar


def _set_line(text: str, prefix: str, value: str) -> str:
    out = []
    done = False
    for line in text.splitlines(keepends=True):
        body = line.lstrip()
        if not done and (body.startswith(prefix) or body.startswith("- " + prefix) and not prefix.startswith("-")):
            indent = line[: len(line) - len(body)] + ("- " if body.startswith("- ") and not prefix.startswith("-") else "")
            line = f"{indent}{prefix} {_q(value)}\n"
            done = True
        out.append(line)
    assert done, prefix
    return "".join(out)


def _variant(field: str, value: str) -> tuple[str, str, str]:
    """(project file, profile, cluster file) with ``value`` in ``field``."""
    project, profile, clusters = PROJECT, PROFILE, CLUSTERS
    if field in ("project", "subproject"):
        project = _set_line(project, f"- {field}:", value)
    elif field in ("cluster", "queue", "node"):
        profile = _set_line(profile, f"- {field}:", value)
    elif field == "stage":
        project += f"- stage {value}:\n  - project: p2\n"
    elif field == "cluster name":
        clusters = f"{_q(value)}:" + clusters[len("c:"):]
        profile = _set_line(profile, "- cluster:", value)
    elif field == "queue name":
        clusters = clusters.replace("    q:\n", f"    {_q(value)}:\n")
        clusters = _set_line(clusters, "default_queue:", value)
        profile = _set_line(profile, "- queue:", value)
    elif field == "service conda":
        clusters = _set_line(clusters, "conda:", value)
    elif field.startswith("queue "):
        clusters = _set_line(clusters.replace("      conda: qenv\n", "      conda: qenv\n      project: acct\n      lifetime: 55m\n"),
                             field[len("queue "):] + ":", value)
    elif field == "job_extra_directives":
        clusters = clusters.replace("      conda: qenv\n", f"      conda: qenv\n      job_extra_directives: [{_q(value)}]\n")
    elif field == "memory_per_core_property_name":
        clusters = clusters.replace("  tunnel: false\n", f"  tunnel: false\n  memory_per_core_property_name: {_q(value)}\n")
    else:
        clusters = _set_line(clusters, f"{field}:", value)
    return project, profile, clusters


FIELDS = [
    "project", "subproject", "cluster", "queue", "node", "stage", "cluster name", "queue name",
    "hostname", "bufferdir", "database_dir", "service conda", "network_interface", "default_queue",
    "memory_per_core_property_name", "queue walltime", "queue memory", "queue partition", "queue project",
    "queue tmpdir", "queue conda", "queue lifetime", "job_extra_directives",
]


def test_baseline_is_valid():
    """Without hostile values the configuration resolves to a plan with services (so refusals are the values')."""
    for field in FIELDS:
        benign = {"hostname": "localhost", "bufferdir": "/srv/b", "database_dir": "/srv/d", "network_interface": "127.0.0.1",
                  "queue tmpdir": "/tmp", "queue walltime": "01:00:00", "queue memory": "1GB", "queue lifetime": "55m",
                  "memory_per_core_property_name": "mem"}.get(field, "ok1")
        if field in ("queue", "default_queue", "queue name"):
            benign = "q"
        if field == "cluster":
            benign = "c"
        project, profile, clusters = _variant(field, benign)
        snap = fuzzkit.snapshot(project.encode(), profile.encode(), [("clusters.yaml", clusters.encode())])
        assert fuzzkit.pure_outcome(snap) == [], field


def _launch_argvs(plan) -> list[list[str]]:
    return [evaluate_command(sp.launch.get("command"), "/state/k.json") for sp in plan.services]


def _check_accepted(field: str, value: str, plan) -> None:
    """A legal hostile value: one argv element, no line break, in every launch command."""
    for argv in _launch_argvs(plan):
        assert "touch" not in argv, (field, value, argv)
        for el in argv:
            assert "\n" not in el and "\r" not in el, (field, value, argv)
            if CANARY in el:
                assert value in el, (field, value, argv)
    for sp in plan.services:
        for name, v in sp.launch.as_dict().items():
            if isinstance(v, str):
                assert "\n" not in v, (field, value, name, v)


def _outcomes() -> dict[tuple[str, str], list[str]]:
    out = {}
    for field in FIELDS:
        for kind, value in HOSTILE.items():
            project, profile, clusters = _variant(field, value)
            snap = fuzzkit.snapshot(project.encode(), profile.encode(), [("clusters.yaml", clusters.encode())])
            msgs = fuzzkit.pure_outcome(snap)
            r = resolve(snap, Selection(), fuzzkit.parse)
            if not msgs and isinstance(r, Success):
                plan = build_plan(r.unwrap())
                assert isinstance(plan, Success), plan
                _check_accepted(field, value, plan.unwrap())
            out[(field, kind)] = msgs
    return out


@pytest.fixture(scope="module")
def outcomes():
    return _outcomes()


def test_hostile_values_are_refused_or_single_argv_elements(outcomes):
    refused = sum(1 for m in outcomes.values() if m)
    accepted = sorted(f"{f}={k}" for (f, k), m in outcomes.items() if not m)
    reliability.record("Hostile names and paths", "values tried in fields (pure pipeline)",
                       {"tried": len(outcomes), "refused with a message": refused, "accepted as argv elements": len(accepted),
                        "exceptions": 0})
    # what reaches a key, a path or a host is refused for every shell or path trick
    strict = {"project", "subproject", "cluster", "queue", "node", "stage", "cluster name", "queue name",
              "hostname", "bufferdir", "database_dir", "service conda", "network_interface", "queue conda"}
    shell = {"command substitution", "semicolon", "backticks", "pipe", "and-and", "redirect", "relative canary",
             "single quote", "double quote", "newline", "space", "braces", "dollar variable", "glob", "backslash",
             "fullwidth lookalike", "cyrillic lookalike", "zero-width space", "right-to-left override"}
    leaks = [(f, k) for (f, k), m in outcomes.items() if not m and f in strict and k in shell]
    assert not leaks, leaks
    # a line break is refused in every field
    assert all(outcomes[(f, "newline")] for f in FIELDS), [f for f in FIELDS if not outcomes[(f, "newline")]]


def test_refusals_name_the_value(outcomes):
    for (field, kind), msgs in outcomes.items():
        if msgs and kind in ("semicolon", "dot-dot", "option"):
            assert any(repr(HOSTILE[kind])[1:-1] in m or "'" + HOSTILE[kind] in m or "invalid" in m or "not" in m
                       for m in msgs), (field, kind, msgs)


def _fake_services(root: Path) -> tuple[Path, Path]:
    """A Python whose bin/ has service binaries that record their argv and fail (nothing runs)."""
    from e2e._support import fake_venv

    python = fake_venv(root, ())
    log = root / "argv.jsonl"
    for name in ("hashserver", "seamless-database", "seamless-jobserver", "seamless-dask-wrapper"):
        exe = python.parent / name
        exe.write_text(f"#!/bin/sh\nprintf '%s\\0' \"$0\" \"$@\" >> {log}\nprintf '\\n' >> {log}\nexit 3\n")
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return python, log


def _inprocess(cli: str, argv: list[str]) -> tuple[int, str, str]:
    from test_fuzz import _inprocess as run

    return run(cli, argv)


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_command_lines_create_no_file_and_run_nothing(tmp_path, outcomes):
    """seamless-service-resolve, seamless-config show/check (in-process) and seamless-init (a process whose
    service binaries only record their argv) on every field with a hostile value (one per field, rotating):
    no file created by the read-only commands, no canary anywhere, no argv split at a hostile value."""
    python, log = _fake_services(tmp_path / "venv")
    runs = 0
    kinds = list(HOSTILE)
    rows = []
    for i, field in enumerate(FIELDS):
        kind = kinds[(i * 7) % len(kinds)] if i % 2 else "command substitution"
        if field in ("queue walltime", "queue lifetime"):
            kind = "semicolon"
        value = HOSTILE[kind]
        root = tmp_path / f"f{i}"
        home, proj = root / "home", root / "proj"
        (home / ".seamless").mkdir(parents=True)
        proj.mkdir()
        project, profile, clusters = _variant(field, value)
        (proj / "seamless.yaml").write_text(project)
        (proj / "seamless.profile.yaml").write_text(profile)
        (home / ".seamless" / "clusters.yaml").write_text(clusters)
        env = {"HOME": str(home), "PATH": f"{python.parent}:/usr/bin:/bin", "SEAMLESS_CONFIG_CACHE": "off",
               "LANG": "C.UTF-8"}
        before = _tree(root)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("HOME", str(home))
            mp.setenv("SEAMLESS_CONFIG_CACHE", "off")
            mp.chdir(proj)
            for cli, argv in (("seamless-service-resolve", ["--service", "hashserver", "--workdir", "."]),
                              ("seamless-config show", ["show"]), ("seamless-config check", ["check"])):
                rc, out, err = _inprocess(cli, argv)
                assert "Traceback" not in err and rc in (0, 2), (cli, rc, err)
                runs += 1
        assert _tree(root) == before, f"{field}: files appeared: {_tree(root) - before}"
        cp = subprocess.run([str(python), "-m", "seamless_config.cli.init"], cwd=proj, env=env, capture_output=True,
                            text=True, timeout=120)
        runs += 1
        assert "Traceback" not in cp.stderr, cp.stderr
        rows.append((field, kind, cp.returncode))
        for cmd in (log.read_text().split("\n") if log.exists() else []):
            argv = [a for a in cmd.split("\0") if a]
            assert "touch" not in argv, argv
        assert not any(p.name.startswith("CANARY") or "CANARY" in p.name for p in root.rglob("*")), field
        assert not os.path.exists(CANARY)
    reliability.record("Hostile names and paths", "command-line runs on hostile fields (resolve, show, check, init)",
                       {"runs": runs, "canary files created": 0, "commands run by the shell": 0})
    assert not os.path.exists(CANARY)


API = {
    "select_project": select.select_project,
    "select_subproject": select.select_subproject,
    "select_stage": select.select_stage,
    "select_substage": select.select_substage,
    "select_cluster": select.select_cluster,
    "select_node": select.select_node,
}


def test_api_names(fresh_session):
    """select_* and set_stage: a hostile name is refused with ConfigurationError, the selection unchanged."""
    import seamless_config

    tried = 0
    for fname, fn in API.items():
        for kind, value in HOSTILE.items():
            before = session_mod.SESSION.selection
            with pytest.raises(ConfigurationError) as exc:
                fn(value)
            assert fuzzkit.bad_message(str(exc.value)) is None, (fname, kind, str(exc.value))
            assert session_mod.SESSION.selection == before
            tried += 1
        for wrong in (1, 1.5, ["a"], {"a": 1}, b"p", object()):
            with pytest.raises(ConfigurationError):
                fn(wrong)
            tried += 1
    for value in HOSTILE.values():
        with pytest.raises(ConfigurationError):
            seamless_config.set_stage(value)
        with pytest.raises(ConfigurationError):
            seamless_config.set_stage("prod", value)
        tried += 2
    reliability.record("Hostile names and paths", "API calls with hostile names (select_*, set_stage)",
                       {"tried": tried, "refused with ConfigurationError": tried})


def test_cli_name_arguments(tmp_path, monkeypatch, capsys):
    """seamless-service-resolve's name arguments and --stage of every CLI: refused, exit 2, one line."""
    from seamless_config.cli import config, init, resolve

    home = tmp_path / "home"
    (home / ".seamless").mkdir(parents=True)
    (home / ".seamless" / "clusters.yaml").write_text(CLUSTERS)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "seamless.yaml").write_text(PROJECT)
    (proj / "seamless.profile.yaml").write_text(PROFILE)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SEAMLESS_CONFIG_CACHE", "off")
    monkeypatch.chdir(proj)

    def no_launch(*args, **kwargs):
        raise AssertionError("a hostile name reached the launcher")

    monkeypatch.setattr("effects.launcher.bring_up", no_launch)
    tried = 0
    for kind, value in HOSTILE.items():
        calls = [(resolve.main, ["--service", "hashserver", f"--{opt}={value}"])
                 for opt in ("cluster", "project", "subproject", "stage", "substage", "queue")]
        calls += [(init.main, [f"--stage={value}"]), (config.main, ["show", f"--stage={value}"])]
        for main, argv in calls:
            session_mod.SESSION.__dict__.update(session_mod.Session().__dict__)
            try:
                rc = main(argv)
            except SystemExit as exc:
                rc = exc.code
            err = capsys.readouterr().err
            assert rc == 2, (kind, argv, err)
            assert "Traceback" not in err and len(err.splitlines()) == 1, (kind, argv, err)
            assert fuzzkit.bad_message(err.rstrip("\n")) is None, (kind, argv, err)
            tried += 1
    reliability.record("Hostile names and paths", "CLI name arguments (resolve --cluster/--project/..., --stage)",
                       {"tried": tried, "exit 2 with one line": tried})
    assert not os.path.exists(CANARY)


def _resolve_runs(tmp_path: Path, exe: Path) -> dict[str, int]:
    counts = {"runs": 0, "exit 2": 0, "exit 0 (accepted)": 0, "other exit": 0, "tracebacks": 0, "canary files": 0}
    for i, field in enumerate(FIELDS[:10]):
        root = tmp_path / f"r{i}"
        home, proj = root / "home", root / "proj"
        (home / ".seamless").mkdir(parents=True)
        proj.mkdir()
        project, profile, clusters = _variant(field, HOSTILE["command substitution"])
        (proj / "seamless.yaml").write_text(project)
        (proj / "seamless.profile.yaml").write_text(profile)
        (home / ".seamless" / "clusters.yaml").write_text(clusters)
        cp = subprocess.run([str(exe), "--service", "hashserver", "--workdir", "."], cwd=proj, timeout=120,
                            env={"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                                 "SEAMLESS_CONFIG_CACHE": "off"},
                            capture_output=True, text=True)
        counts["runs"] += 1
        counts[{0: "exit 0 (accepted)", 2: "exit 2"}.get(cp.returncode, "other exit")] += 1
        counts["tracebacks"] += "Traceback" in cp.stderr
        counts["canary files"] += os.path.exists(CANARY)
    return counts


@pytest.mark.parametrize("impl", ["ours", "reference"])
def test_resolve_executable_on_hostile_fields(tmp_path, impl):
    """seamless-service-resolve with '$(touch CANARY)' in ten fields, ours and the reference's:
    ours must refuse each (exit 2, no traceback); the reference's outcome is counted."""
    exe = REPO / (".venv" if impl == "ours" else ".venv-oracle") / "bin" / "seamless-service-resolve"
    if not exe.exists():
        pytest.skip(f"{exe} is not installed")
    counts = _resolve_runs(tmp_path, exe)
    reliability.record("Hostile names and paths", "seamless-service-resolve, '$(touch CANARY)' in 10 fields",
                       counts, impl=impl)
    assert counts["canary files"] == 0
    if impl == "ours":
        assert counts["exit 2"] == counts["runs"] and counts["tracebacks"] == 0, counts


@pytest.fixture(autouse=True)
def _no_canary():
    if os.path.exists(CANARY):
        os.unlink(CANARY)
    yield
    assert not os.path.exists(CANARY), "a hostile value ran a command"


def test_guarded_remote_paths_stay_under_roots():
    """The paths a guarded remote would be asked about are the configured roots or below them."""
    for field in ("project", "subproject", "stage"):
        for kind, value in HOSTILE.items():
            project, profile, clusters = _variant(field, value)
            snap = fuzzkit.snapshot(project.encode(), profile.encode(), [("clusters.yaml", clusters.encode())])
            r = resolve(snap, Selection(), fuzzkit.parse)
            if isinstance(r, Failure):
                continue
            plan = build_plan(r.unwrap())
            for sp in plan.unwrap().services:
                wd = sp.launch.get("workdir")
                if sp.role == "hashserver":
                    assert os.path.normpath(wd).startswith("/srv/seamless-hostile/buffers/"), (kind, wd)
                if sp.role == "database":
                    assert os.path.normpath(wd).startswith("/srv/seamless-hostile/db/"), (kind, wd)
