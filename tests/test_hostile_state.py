"""Odd files and state on disk: never hang, never a traceback, one line that says what the path is.

Each command runs as a user runs it (a subprocess of the venv's entry point, with a private
HOME) under a timeout: a FIFO that blocked a reader would fail the test instead of hanging it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
CLUSTERS = """\
lab:
  type: local
  workers: 2
  frontends:
  - hashserver: {{bufferdir: {root}/buffers, port_start: 53900, port_end: 53919}}
    database: {{database_dir: {root}/db, port_start: 53920, port_end: 53939}}
"""
PROJECT = "- project: p\n- cluster: lab\n- execution: process\n"


@pytest.fixture
def env(tmp_path: Path):
    home = tmp_path / "home"
    (home / ".seamless").mkdir(parents=True)
    (home / ".seamless" / "clusters.yaml").write_text(CLUSTERS.format(root=tmp_path))
    proj = tmp_path / "proj"
    proj.mkdir()
    e = {k: v for k, v in os.environ.items() if not k.startswith(("SEAMLESS_", "REMOTE_HTTP_LAUNCHER"))}
    e.update(HOME=str(home), SEAMLESS_CONFIG_CACHE="off")

    def run(*argv: str, cwd: Path = proj, timeout: float = 30, **extra: str) -> subprocess.CompletedProcess:
        t0 = time.monotonic()
        cp = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=cwd, env={**e, **extra}, capture_output=True,
                            text=True, timeout=timeout)
        cp.seconds = time.monotonic() - t0  # type: ignore[attr-defined]
        return cp

    run.home, run.proj = home, proj  # type: ignore[attr-defined]
    return run


def one_line(cp: subprocess.CompletedProcess, code: int = 2) -> str:
    """The one line of the mistake (warnings before it aside)."""
    assert "Traceback" not in cp.stderr, cp.stderr
    lines = [ln for ln in cp.stderr.strip().splitlines() if ": warning: " not in ln]
    assert cp.returncode == code and len(lines) == 1, (cp.returncode, cp.stderr)
    return lines[0]


COMMANDS = [
    ("seamless-service-resolve", "--service", "hashserver", "--workdir", "."),
    ("seamless-config", "check"),
    ("seamless-config", "show"),
    ("seamless-init",),
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_fifo_as_seamless_yaml_neither_blocks_nor_passes(env, argv) -> None:
    os.mkfifo(env.proj / "seamless.yaml")
    line = one_line(env(*argv))
    assert line.endswith("seamless.yaml: cannot use the file: it is a FIFO, not a regular file "
                         "(replace it with a regular file)"), line


def test_a_fifo_among_the_cluster_files(env) -> None:
    (env.proj / "seamless.yaml").write_text(PROJECT)
    (env.home / ".seamless" / "clusters").mkdir()
    os.mkfifo(env.home / ".seamless" / "clusters" / "gpu.yaml")
    line = one_line(env("seamless-config", "check"))
    assert "~/.seamless/clusters/gpu.yaml: cannot use the file: it is a FIFO" in line


def test_a_symlink_to_dev_zero_is_refused_at_once(env) -> None:
    (env.proj / "seamless.yaml").symlink_to("/dev/zero")
    cp = env("seamless-config", "check")
    assert "cannot use the file: it is a character device, not a regular file" in one_line(cp)
    assert cp.seconds < 10  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["directory", "dangling symlink"])
def test_no_file_where_seamless_yaml_should_be(env, kind) -> None:
    path = env.proj / "seamless.yaml"
    if kind == "directory":
        path.mkdir()
        want = "it is a directory, not a file (remove or rename it)"
    else:
        path.symlink_to(env.proj / "gone.yaml")
        want = "which does not exist (fix or remove the link)"
    line = one_line(env("seamless-config", "check"))
    assert line.startswith("seamless-config: seamless.yaml: cannot use the file: ") and line.endswith(want), line


def test_a_directory_as_clusters_yaml(env) -> None:
    (env.proj / "seamless.yaml").write_text(PROJECT)
    (env.home / ".seamless" / "clusters.yaml").unlink()
    (env.home / ".seamless" / "clusters.yaml").mkdir()
    assert "~/.seamless/clusters.yaml: cannot use the file: it is a directory" in one_line(env("seamless-config", "check"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any directory: permissions cannot make it unreadable")
def test_an_unreadable_clusters_directory(env) -> None:
    (env.proj / "seamless.yaml").write_text(PROJECT)
    d = env.home / ".seamless" / "clusters"
    d.mkdir()
    d.chmod(0)
    try:
        assert "cannot list the directory" in one_line(env("seamless-config", "check"))
    finally:
        d.chmod(0o700)


@pytest.mark.parametrize("what", ["a file", "missing"])
def test_a_workdir_that_is_no_directory(env, what) -> None:
    target = env.proj / "seamless.yaml"
    target.write_text(PROJECT)
    if what == "missing":
        target = env.proj / "nope"
    line = one_line(env("seamless-service-resolve", "--service", "hashserver", "--workdir", str(target)))
    assert f"the work directory {target} " in line
    assert line.endswith(("is not a directory (give the directory that holds seamless.yaml)",
                          "does not exist (give the directory that holds seamless.yaml)"))


def test_a_deleted_working_directory(env, tmp_path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    code = ("import os, sys; os.chdir(sys.argv[1]); os.rmdir(sys.argv[1]); "
            "from seamless_config.cli.config import main; sys.exit(main(['show']))")
    cp = subprocess.run([sys.executable, "-c", code, str(gone)], env={**os.environ, "HOME": str(env.home)},
                        capture_output=True, text=True, timeout=30)
    assert "the current directory no longer exists" in one_line(cp)


def test_control_characters_in_a_cluster_file_name_stay_on_one_line(env) -> None:
    (env.proj / "seamless.yaml").write_text(PROJECT)
    d = env.home / ".seamless" / "clusters"
    d.mkdir()
    (d / "bad\nname\x1b[31m.yaml").write_text("x: [\n")
    line = one_line(env("seamless-config", "check"))
    assert "bad\\nname\\x1b[31m.yaml" in line and "\x1b" not in line


def test_a_relative_launcher_directory_is_named(env) -> None:
    (env.proj / "seamless.yaml").write_text("- project: p\n- cluster: lab\n- execution: process\n")
    cp = env("seamless-init", REMOTE_HTTP_LAUNCHER_DIR="relative/dir")
    assert one_line(cp) == ("seamless-init: REMOTE_HTTP_LAUNCHER_DIR must be an absolute path, not "
                            "'relative/dir' (export it as an absolute path, or unset it)")
    assert cp.seconds < 10  # type: ignore[attr-defined]


@pytest.mark.parametrize("argv", [("seamless-service-ps",), ("seamless-service-ps", "--server"),
                                  ("seamless-service-stop", "--service", "hashserver"),
                                  ("seamless-service-rm", "--cluster", "lab"),
                                  ("seamless-service-logs", "--service", "hashserver")])
def test_the_service_commands_refuse_a_relative_launcher_directory_first(env, argv) -> None:
    (env.proj / "seamless.yaml").write_text(PROJECT)
    prog = argv[0]
    assert one_line(env(*argv, REMOTE_HTTP_LAUNCHER_DIR="relative/dir")) == (
        f"{prog}: REMOTE_HTTP_LAUNCHER_DIR must be an absolute path, not 'relative/dir' (export it as an absolute "
        "path, or unset it)")


def test_stop_and_rm_of_nothing_create_nothing(env, tmp_path) -> None:
    (env.proj / "seamless.yaml").write_text(PROJECT)
    absent = tmp_path / "absent" / "rhl"
    for argv in (("seamless-service-stop", "--service", "hashserver"), ("seamless-service-rm", "--service", "hashserver"),
                 ("seamless-service-rm", "--cluster", "lab"), ("seamless-service-ps", "--server")):
        cp = env(*argv, REMOTE_HTTP_LAUNCHER_DIR=str(absent))
        assert (cp.returncode, cp.stderr) == (0, ""), cp.stderr
    assert not absent.parent.exists()


@pytest.mark.parametrize("shape", ["client dir is a file", "server state is a directory", "client state is a FIFO"])
def test_a_state_directory_of_the_wrong_shape(env, shape) -> None:
    (env.proj / "seamless.yaml").write_text(PROJECT)
    rhl = env.home / ".remote-http-launcher"
    (rhl / "server").mkdir(parents=True)
    if shape == "client dir is a file":
        (rhl / "client").write_text("")
    elif shape == "server state is a directory":
        (rhl / "server" / "hashserver-lab-rw-p.json").mkdir()
    else:
        (rhl / "client").mkdir()
        os.mkfifo(rhl / "client" / "hashserver-lab-rw-p.json")
    ps = env("seamless-service-ps")
    assert ps.returncode == 0 and "Traceback" not in ps.stderr, ps.stderr
    cp = env("seamless-init", timeout=120)
    if shape == "client state is a FIFO":
        assert cp.returncode == 0, cp.stderr  # unusable: replaced
    else:
        line = one_line(cp, cp.returncode)
        assert cp.returncode != 0
        assert ("is a file, not a directory" in line or "is a directory, not a state file" in line
                or "cannot write" in line), line
    env("seamless-service-stop", "--cluster", "lab")


def test_a_lock_held_by_a_stopped_process(env, tmp_path) -> None:
    """Ctrl-Z on a process that holds a service's lock: later runs fail in seconds, naming it."""
    rhl = tmp_path / "rhl"
    code = ("import sys, time\nfrom effects import statefiles\nwith statefiles.key_lock('hashserver-lab-rw-p'):\n"
            "    print('held', flush=True)\n    time.sleep(120)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "REMOTE_HTTP_LAUNCHER_DIR": str(rhl)})
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        os.kill(holder.pid, signal.SIGSTOP)
        (env.proj / "seamless.yaml").write_text(PROJECT)
        cp = env("seamless-init", timeout=60, REMOTE_HTTP_LAUNCHER_DIR=str(rhl))
        assert cp.returncode != 0 and "Traceback" not in cp.stderr, cp.stderr
        assert f"locked by process {holder.pid} (stopped)" in cp.stderr and f"kill -CONT {holder.pid}" in cp.stderr
        assert cp.seconds < 30  # type: ignore[attr-defined]
    finally:
        holder.kill()
        holder.wait()
        env("seamless-service-stop", "--cluster", "lab", REMOTE_HTTP_LAUNCHER_DIR=str(rhl))  # the database it started


@pytest.mark.parametrize("value,message", [
    ("[1, 2]", "SEAMLESS_REMOTE_CLIENTS must be a JSON object, not a list"),
    ("null", "SEAMLESS_REMOTE_CLIENTS must be a JSON object, not null"),
    ('{"buffer": 5}', "SEAMLESS_REMOTE_CLIENTS 'buffer' must be a list, not a number"),
    ('{"buffer": ["http://h:1"]}', "SEAMLESS_REMOTE_CLIENTS buffer entry 1 must be an object, not a string"),
    ('{"database": [{"url": 5}]}', "SEAMLESS_REMOTE_CLIENTS database entry 1: 'url' must be a string, not a number"),
    ('{"database": [{"readonly": true}]}', "SEAMLESS_REMOTE_CLIENTS database entry 1 has no 'remote_url' (nor 'url')"),
    ("{not json", "SEAMLESS_REMOTE_CLIENTS is not valid JSON"),
])
def test_remote_clients_of_the_wrong_shape_are_one_line(monkeypatch, value, message) -> None:
    from seamless_config import ConfigurationError
    from seamless_config.extern_clients import set_remote_clients_from_env

    monkeypatch.delenv("SEAMLESS_CACHE", raising=False)
    monkeypatch.setenv("SEAMLESS_REMOTE_CLIENTS", value)
    with pytest.raises(ConfigurationError) as exc:
        set_remote_clients_from_env(include_dask=False)
    assert str(exc.value).startswith(message) and "\n" not in str(exc.value), str(exc.value)


def _entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*.json") if not p.name.startswith("."))


def test_an_empty_cluster_file_twice_through_the_parse_cache(env, tmp_path) -> None:
    """An empty cluster file validates (it defines nothing); the second run reads that from the cache."""
    (env.home / ".seamless" / "clusters").mkdir()
    (env.home / ".seamless" / "clusters" / "empty.yaml").write_text("")
    (env.proj / "seamless.yaml").write_text(PROJECT)
    cache = str(tmp_path / "cache")
    for _ in range(2):
        cp = env("seamless-service-resolve", "--service", "hashserver", "--workdir", ".", SEAMLESS_CONFIG_CACHE=cache)
        assert (cp.returncode, cp.stderr) == (0, ""), cp.stderr
        assert env("seamless-config", "check", SEAMLESS_CONFIG_CACHE=cache).returncode == 0


@pytest.mark.parametrize("damage", ["truncate", "garbage", "edit", "forged-json"])
def test_a_damaged_parse_cache_entry_is_parsed_again(env, tmp_path, damage) -> None:
    """The parse cache is this tool's own state on disk: an entry cut short, overwritten or edited is
    not used (the result is the same as without a cache) and is written anew."""
    (env.proj / "seamless.yaml").write_text(PROJECT)
    cache = tmp_path / "cache"
    argv = ("seamless-service-resolve", "--service", "hashserver", "--workdir", ".")
    first = env(*argv, SEAMLESS_CONFIG_CACHE=str(cache))
    assert first.returncode == 0, first.stderr
    entries = _entries(cache)
    assert len(entries) == 3  # seamless.yaml, the profile's absence aside: project, clusters.yaml
    for p in entries:
        text = p.read_text()
        p.write_text({"truncate": text[: len(text) // 2],
                      "garbage": "\x00\xff not an entry",
                      "edit": text.replace("bufferdir", "bufferdiX").replace("hashserver", "hashservex"),
                      "forged-json": '{"tree": 5}' if '"tree"' in text else '{"valid":true,"index":5}'}[damage])
    again = env(*argv, SEAMLESS_CONFIG_CACHE=str(cache))
    assert (again.returncode, again.stdout, again.stderr) == (0, first.stdout, "")
    assert [p.read_text() for p in _entries(cache)] == [p.read_text() for p in entries]
