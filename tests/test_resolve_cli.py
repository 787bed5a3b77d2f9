"""``seamless-service-resolve`` as a user runs it: JSON on stdout, or one line on stderr and exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import STANDARD_CLUSTERS

BIN = Path(sys.executable).parent / "seamless-service-resolve"
if not BIN.exists():  # the project's dev venv
    BIN = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "seamless-service-resolve"


@pytest.fixture
def cli(home, write_clusters, write_tree, tmp_path):
    write_clusters(STANDARD_CLUSTERS)
    root = write_tree({
        "proj/seamless.yaml": "- project: p\n- subproject: a/b\n- cluster: there\n- stage prod:\n  - subproject: sp\n",
    })
    env = {k: v for k, v in os.environ.items() if k not in ("SEAMLESS_CACHE", "REMOTE_HTTP_LAUNCHER_DIR")}
    env.update(HOME=str(home), SEAMLESS_CONFIG_CACHE=str(tmp_path / "parse-cache"))

    def run(*args, env_extra=None, cwd=None):
        e = dict(env, **(env_extra or {}))
        return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=e, cwd=cwd or root, timeout=60)

    run.root = root
    run.home = home
    run.cache = tmp_path / "parse-cache"
    return run


def ok(result):
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1
    return json.loads(result.stdout)


def mistake(result):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip("\n").splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


KEYS = ["cluster", "key", "log_path", "mode", "project", "queue", "service", "ssh_hostname", "stage", "subproject", "substage", "workdir"]


def test_database_with_stage_and_substage(cli):
    out = ok(cli("--service", "database", "--workdir", "proj", "--stage", "prod:gpu"))
    assert list(out) == KEYS  # sorted keys
    assert out == {
        "cluster": "there", "key": "database-there-rw-p--sp--STAGE-prod",
        "log_path": "~/.remote-http-launcher/server/database-there-rw-p--sp--STAGE-prod.log", "mode": "rw",
        "project": "p", "queue": None, "service": "database", "ssh_hostname": "fe1ssh", "stage": "prod",
        "subproject": "sp", "substage": "gpu", "workdir": "/cluster/db/p/sp/STAGE-prod",
    }


def test_workdir_dot_and_mode(cli):
    out = ok(cli("--service", "hashserver", "--workdir", ".", "--mode", "ro", cwd=cli.root / "proj"))
    assert (out["key"], out["mode"], out["workdir"]) == ("hashserver-there-ro-p--a--b", "ro", "/cluster/buffers/p/a/b")


def test_jobserver_reports_mode_but_key_is_rw(cli):
    out = ok(cli("--service", "jobserver", "--workdir", "proj", "--mode", "ro"))
    assert (out["key"], out["mode"], out["workdir"]) == ("jobserver-there-rw-p--a--b", "ro", "/tmp")


def test_daskserver_queue(cli):
    out = ok(cli("--service", "daskserver", "--workdir", "proj", "--queue", "q2"))
    assert (out["key"], out["queue"], out["ssh_hostname"]) == ("daskserver-there-rw-p--a--b", "q2", None)


def test_pure_daskserver_needs_no_project(cli):
    out = ok(cli("--service", "pure-daskserver", "--cluster", "there"))
    assert (out["key"], out["project"]) == ("pure-daskserver-there-q1", None)
    # docs/differences.md: 0.3.2 prints null for both; the contract's fields name them
    assert (out["cluster"], out["queue"]) == ("there", "q1")


def test_arguments_override_config(cli):
    out = ok(cli("--service", "hashserver", "--workdir", "proj", "--cluster", "here", "--project", "x", "--subproject", "y"))
    assert out["key"] == "hashserver-here-rw-x--y" and out["ssh_hostname"] is None


def test_without_workdir_no_project_file_is_read(cli):
    """The contract's agent mode: without --workdir, flags and environment only, even in a project."""
    proj = cli.root / "proj"
    assert mistake(cli("--service", "hashserver", cwd=proj)) == (
        "seamless-service-resolve: No cluster defined (pass --cluster NAME; or --workdir DIR to use the "
        "seamless.yaml and seamless.profile.yaml of a project: without it they are not read)")
    out = ok(cli("--service", "hashserver", "--cluster", "there", "--project", "x", cwd=proj))
    assert out["key"] == "hashserver-there-rw-x"  # not the subproject a/b of seamless.yaml
    out = ok(cli("--service", "hashserver", "--workdir", ".", cwd=proj))
    assert out["key"] == "hashserver-there-rw-p--a--b"


def test_profile_clusters_need_workdir(cli):
    (cli.root / "proj" / "seamless.profile.yaml").write_text(
        "- clusters:\n    mine:\n      frontends:\n      - hostname: localhost\n        hashserver: {bufferdir: /mine}\n- cluster: mine\n")
    out = ok(cli("--service", "hashserver", "--workdir", "proj"))
    assert out["workdir"] == "/mine/p/a/b"
    assert mistake(cli("--service", "hashserver", "--cluster", "mine", "--project", "p")) == (
        "seamless-service-resolve: unknown cluster 'mine' (expected one of 'here', 'there'; a cluster defined in a project's files needs --workdir DIR)")


def test_an_unknown_cluster_chosen_by_a_file_is_shown_at_its_line(cli):
    (cli.root / "proj" / "seamless.profile.yaml").write_text("- cluster: ther\n")
    assert mistake(cli("--service", "hashserver", "--workdir", "proj")) == (
        "seamless-service-resolve: proj/seamless.profile.yaml:1: unknown cluster 'ther' (did you mean 'there'?)")


def test_workdir_with_stage_applies_the_stage_blocks(cli):
    out = ok(cli("--service", "hashserver", "--workdir", "proj", "--stage", "prod"))
    assert (out["subproject"], out["key"]) == ("sp", "hashserver-there-rw-p--sp--STAGE-prod")


def test_seamless_cache_project(cli, tmp_path):
    out = ok(cli("--service", "hashserver", "--project", "SEAMLESS_CACHE", env_extra={"SEAMLESS_CACHE": str(tmp_path / "c")}))
    assert out["cluster"] == "__SEAMLESS_CACHE__" and out["project"] == "__TOPLEVEL__"
    assert out["key"] == "hashserver-__SEAMLESS_CACHE__-rw-__TOPLEVEL__"
    assert out["workdir"] == str(tmp_path / "c" / "__TOPLEVEL__")


def test_seamless_cache_project_from_a_state_file(cli, tmp_path):
    """As 0.3.2: without the variable, the directory of a cache-mode service with a state file here."""
    state = tmp_path / "rhl" / "server"
    state.mkdir(parents=True)
    (state / "hashserver-__SEAMLESS_CACHE__-rw-__TOPLEVEL__.json").write_text(
        json.dumps({"status": "running", "workdir": str(tmp_path / "cc" / "__TOPLEVEL__")}))
    out = ok(cli("--service", "database", "--project", "SEAMLESS_CACHE",
                 env_extra={"REMOTE_HTTP_LAUNCHER_DIR": str(tmp_path / "rhl")}))
    assert (out["key"], out["workdir"]) == ("database-__SEAMLESS_CACHE__-rw-__TOPLEVEL__", str(tmp_path / "cc" / "__TOPLEVEL__"))


@pytest.mark.parametrize("args,message", [
    (["--service", "daskserver", "--workdir", "proj", "--queue", "nope"],
     "seamless-service-resolve: ~/.seamless/clusters.yaml:14: Cluster 'there' has no queue 'nope' (expected one of 'q1', 'q2')"),
    (["--service", "hashserver", "--cluster", "ther", "--project", "p"],
     "seamless-service-resolve: unknown cluster 'ther' (did you mean 'there'?; a cluster defined in a project's files needs --workdir DIR)"),
    (["--service", "hashserver", "--workdir", "."],
     "seamless-service-resolve: No cluster defined (pass --cluster, or add '- cluster: NAME' to seamless.profile.yaml)"),
    (["--service", "hashserver", "--cluster", "there"],
     "seamless-service-resolve: No project defined (pass --project NAME; or --workdir DIR to use a project's seamless.yaml)"),
    (["--service", "hashserver", "--cluster", "there", "--project", "p", "--frontend-name", "nope"],
     "seamless-service-resolve: ~/.seamless/clusters.yaml:14: No frontend of cluster 'there' with name 'nope' can support a hashserver (frontends with a hashserver: 'fe1')"),
    (["--service", "hashserver", "--project", "SEAMLESS_CACHE"],
     "seamless-service-resolve: --project SEAMLESS_CACHE names the project of SEAMLESS_CACHE mode, but no such service has a state file on this machine and SEAMLESS_CACHE is not set (export SEAMLESS_CACHE=/path/to/cache)"),
    (["--service", "hashserver", "--cluster", "there", "--project", "a b"],
     "seamless-service-resolve: invalid project name 'a b' (use letters, digits, '_', '.' and '-', starting with a letter, digit or '_')"),
    (["--service", "hashserver", "--cluster", "there", "--project", "p", "--subproject", "../x"],
     "seamless-service-resolve: invalid subproject name '../x' (use letters, digits, '_', '.' and '-', with '/' between parts, starting with a letter, digit or '_')"),
    (["--service", "hashserver", "--cluster", "there", "--project", "p", "--stage", "x--y"],
     "seamless-service-resolve: invalid stage name 'x--y': '--' separates parts of service keys (use a single '-')"),
    (["--service", "hashserver", "--cluster", "there", "--project", "p", "--stage", ":gpu"],
     "seamless-service-resolve: --stage ':gpu': the stage name is empty (write STAGE or STAGE:SUBSTAGE)"),
])
def test_mistakes_are_one_line_and_exit_2(cli, args, message):
    assert mistake(cli(*args)) == message


def test_config_file_mistake(cli):
    (cli.root / "proj" / "seamless.profile.yaml").write_text("- projct: p\n")
    assert mistake(cli("--service", "hashserver", "--workdir", "proj")) == (
        "seamless-service-resolve: proj/seamless.profile.yaml:1: unknown command 'projct' (did you mean 'project'?)")


def test_jobserver_in_seamless_cache_mode(cli, tmp_path):
    line = mistake(cli("--service", "jobserver", env_extra={"SEAMLESS_CACHE": str(tmp_path / "c")}))
    assert "No frontend of cluster '__SEAMLESS_CACHE__' can support a jobserver" in line


def test_argparse_errors_exit_2(cli):
    r = cli("--service", "foo")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        "seamless-service-resolve: error: argument --service: invalid choice: 'foo' "
        "(choose from 'hashserver', 'database', 'jobserver', 'daskserver', 'pure-daskserver')")
    r = cli()
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == "seamless-service-resolve: error: the following arguments are required: --service"


def test_writes_nothing_but_the_parse_cache(cli):
    def snapshot():
        return {p for p in cli.home.rglob("*")} | {p for p in cli.root.rglob("*")}

    before = snapshot()
    ok(cli("--service", "daskserver", "--workdir", "proj"))
    ok(cli("--service", "hashserver", "--workdir", "proj"))
    mistake(cli("--service", "hashserver", "--workdir", "proj", "--queue", "x", "--frontend-name", "nope"))
    assert snapshot() == before
    assert not (cli.home / ".remote-http-launcher").exists()
    assert any(cli.cache.rglob("*.json"))  # the parse cache is the one thing written


def test_help(cli):
    r = cli("--help")
    assert r.returncode == 0 and "--service" in r.stdout and "--frontend-name" in r.stdout


def _resolves(cli, *args, **kw):
    """``(output, whether the pure stages were loaded)`` of one run under ``-X importtime``."""
    r = cli(*args, env_extra={"PYTHONPROFILEIMPORTTIME": "1", **kw.pop("env_extra", {})}, **kw)
    assert r.returncode == 0, r.stderr
    loaded = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    return json.loads(r.stdout), "seamless_config.core.layout" in loaded


def test_a_repeated_question_is_answered_from_its_memo_and_never_stale(cli):
    """The answer is a pure function of the arguments and the files: the same question with the same
    files is answered without resolving; any change to either is resolved anew."""
    args = ("--service", "hashserver", "--workdir", "proj", "--stage", "prod")
    first, resolved = _resolves(cli, *args)
    assert resolved and first["subproject"] == "sp"
    again, resolved = _resolves(cli, *args)
    assert again == first and not resolved, "the same question resolved again"
    other, resolved = _resolves(cli, *args[:-1], "dev")
    assert resolved and other["stage"] == "dev" and other["subproject"] == "a/b"
    ro, resolved = _resolves(cli, *args, "--mode", "ro")
    assert resolved and ro["mode"] == "ro"
    # an edited file: resolved anew, with the new value
    (cli.root / "proj/seamless.yaml").write_text(
        "- project: p\n- subproject: a/b\n- cluster: there\n- stage prod:\n  - subproject: changed\n")
    edited, resolved = _resolves(cli, *args)
    assert resolved and edited["subproject"] == "changed"
    # a mistake is not remembered: it is reported every time
    (cli.root / "proj/seamless.yaml").write_text("- projct: p\n")
    for _ in range(2):
        assert "unknown command 'projct'" in mistake(cli(*args))


def test_what_depends_on_running_services_is_not_remembered(cli, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    for _ in range(2):
        _, resolved = _resolves(cli, "--service", "hashserver", env_extra={"SEAMLESS_CACHE": str(cache)})
        assert resolved
