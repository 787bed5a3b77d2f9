"""The seamless-service-* commands against state files (no real services; see
``test_service_commands_e2e.py`` for those): which services they target, what
they print, what they refuse, and that they never touch buffers or databases
unless told to clear them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from seamless_config.cli import service as cli
from seamless_config.core import launch
from seamless_config.core.clusters import Cluster, Frontend, ServiceSpec
from seamless_config.core.services import SERVICE_NAMES, Scope, clear_problem, parse_key, scope_of
from seamless_config.inspect.ps import RowFilter, server_row

CLUSTERS = """\
loc:
  type: local
  workers: 2
  frontends:
  - hostname: localhost
    hashserver: {{bufferdir: {root}/buffers, port_start: 53100, port_end: 53119}}
    database: {{database_dir: {root}/db, port_start: 53120, port_end: 53139}}
    jobserver: {{network_interface: 127.0.0.1, port_start: 53140, port_end: 53159}}
other-rw-x:
  type: local
  workers: 2
  frontends:
  - hostname: localhost
    hashserver: {{bufferdir: {root}/buffers2, port_start: 53160, port_end: 53179}}
far:
  type: slurm
  workers: 2
  frontends:
  - hostname: login.far.example.org
    ssh_hostname: farssh
    hashserver: {{bufferdir: /far/buffers, port_start: 53180, port_end: 53199}}
"""


# -- pure --------------------------------------------------------------------------------------

def test_service_names_match_the_launch_dicts():
    assert SERVICE_NAMES is launch.SERVICE_NAMES  # one list (core.names)


@pytest.mark.parametrize("scope", [
    Scope("p"), Scope("p", "a/b"), Scope("p", None, "prod"), Scope("my-proj", "x.y/z", "st-1", "gpu"),
])
@pytest.mark.parametrize("cluster_name", ["c", "my-rw-cluster"])
def test_keys_parse_back_into_the_meta_block(scope, cluster_name):
    """A service launched without a meta block shows the same scope as one launched with it."""
    fe = Frontend("localhost", hashserver=ServiceSpec("hashserver", "/b", port_start=1, port_end=2),
                  jobserver=ServiceSpec("jobserver", port_start=3, port_end=4))
    c = Cluster(cluster_name, "local", workers=2, frontends=(fe,))
    dicts = [
        launch.storage_launch_dict(c, "hashserver", "ro", scope).unwrap(),
        launch.jobserver_launch_dict(c, scope, False).unwrap(),
    ]
    for ld in dicts:
        meta = ld.get("meta")
        for known in ((), (cluster_name,)):
            if "-rw-" in cluster_name and not known:
                continue  # ambiguous without the cluster's name
            parsed = parse_key(ld.key, known)
            assert parsed == scope_of(ld.key, meta), (ld.key, known)


def test_pure_daskserver_key():
    assert parse_key("pure-daskserver-hpc-long", ["hpc"]).queue == "long"
    assert parse_key("pure-daskserver-my-cl-long", ["my-cl"]).cluster == "my-cl"


def test_meta_block_wins_over_the_key():
    s = scope_of("hashserver-a-rw-p", {"service": "hashserver", "cluster": "b", "project": "q"})
    assert (s.cluster, s.project) == ("b", "q")


def test_row_filter_and_liveness():
    row = server_row({"key": "jobserver-c-rw-p--STAGE-sSUBSTAGE-t", "status": "stale"}, None)
    assert RowFilter(cluster="c", project="p", stage="s", substage="t").matches(row)
    assert not RowFilter(substage="u").matches(row)
    assert not RowFilter(mode="ro").matches(row)


def test_storage_places_without_a_host():
    """Which directories ps --persistent measures, decided without reaching any host: a row's own
    state names its directory; a row without one is placed as its plan would place it; the selected
    project's storage is added once, where no row shows it."""
    from seamless_config.core.selection import ClusterSet, Resolution, Selection
    from seamless_config.core.services import ServiceScope
    from seamless_config.inspect.ps import storage_places, usage_asks, with_usage

    fe = Frontend("localhost", hashserver=ServiceSpec("hashserver", "/b"), database=ServiceSpec("database", "/d"))
    far = Frontend("login", ssh_hostname="farssh", hashserver=ServiceSpec("hashserver", "/far"))
    res = Resolution(Selection(), ClusterSet((Cluster("c", "local", frontends=(fe,)),
                                              Cluster("f", "slurm", frontends=(far,)))))
    rows = [
        server_row({"key": "hashserver-c-rw-p", "status": "running", "workdir": "/elsewhere/p"}, None),
        server_row({"key": "database-c-rw-p--STAGE-s", "status": "stale"}, None),
        server_row({"key": "hashserver-f-ro-q", "status": "running"}, "farssh"),
        server_row({"key": "jobserver-c-rw-p", "status": "running"}, None),
    ]
    located = storage_places(rows, res, ServiceScope("p", service=None, cluster="c"))
    assert [w for _, w in located] == [
        (None, "/elsewhere/p"), (None, "/d/p/STAGE-s"), ("farssh", "/far/q"), None,
        (None, "/b/p"), (None, "/d/p"),  # the selected project's storage, shown by no row
    ]
    assert [r.source for r, _ in located[4:]] == ["storage", "storage"]
    assert storage_places(rows, res, ServiceScope("p", cluster="c", service="database"))[4:][0][1] == (None, "/d/p")
    assert usage_asks(located) == {
        None: {".HASHSERVER_PREFIX": ["/elsewhere/p", "/b/p"], None: ["/d/p/STAGE-s", "/d/p"]},
        "farssh": {".HASHSERVER_PREFIX": ["/far/q"]},
    }
    out = with_usage(located, {(None, "/b/p"): {"state": "populated", "size": 7},
                               (None, "/d/p"): {"state": "empty", "size": 0}})
    assert [(r.persistent, r.size) for r in out[4:]] == [("populated", 7), ("empty", None)]
    assert out[0].persistent is None, "not measured: nothing is made up"


@pytest.mark.parametrize("target,base,home,fragment", [
    ("/tmp", "/", "/home/u", "system, temporary or home"),
    ("/home/u", "/home", "/home/u", "system, temporary or home"),
    ("/home", "/", "/home/u", "system, temporary or home"),
    ("~", "~", "/home/u", "system, temporary or home"),
    ("/data/db", "/data/db", "/home/u", "configured directory itself"),
    ("/data/elsewhere/p", "/data/db", "/home/u", "outside the configured directory"),
    ("/data/db/../p", "/data/db", "/home/u", "'..'"),
    ("relative/p", "/data/db", "/home/u", "not an absolute path"),
])
def test_clear_refuses(target, base, home, fragment):
    problem = clear_problem(target, base, home)
    assert problem is not None and fragment in problem


def test_clear_allows_a_project_directory():
    assert clear_problem("/data/db/p/STAGE-x", "/data/db", "/home/u") is None
    assert clear_problem("~/buffers/p", "~/buffers", "/home/u") is None


# -- the commands, in-process, against state files -----------------------------------------------

@pytest.fixture
def env(home, write_clusters, write_tree, tmp_path, monkeypatch):
    root = tmp_path / "store"
    write_clusters(CLUSTERS.format(root=root))
    proj = write_tree({"proj/seamless.yaml": "- project: p\n- cluster: loc\n"}) / "proj"
    monkeypatch.chdir(proj)
    return {"home": home, "root": root, "proj": proj, "rhl": home / ".remote-http-launcher"}


def run_cli(capsys, main, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def processes(env):
    started: list[subprocess.Popen] = []

    def start(*extra: str, key: str | None = None) -> subprocess.Popen:
        """A stand-in process; with ``key``, its command line names that key's status file (as a
        service's does: only such a process is proven to be the service, effects.procs)."""
        if key is not None:
            extra = (*extra, "--status-file", str(env["rhl"] / "server" / f"{key}.json"))
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", *extra],
                             start_new_session=True)
        started.append(p)
        return p

    yield start
    for p in started:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def write_state(env, key: str, pid: int | None, *, meta: dict | None = None, status: str = "running",
                workdir: str = "/tmp", port: int = 53100, client: dict | None = None):
    data = {"workdir": workdir, "pid": pid if pid is not None else 999999999, "status": status, "port": port}
    if meta is not None:
        data["meta"] = meta
    (env["rhl"] / "server").mkdir(parents=True, exist_ok=True)
    (env["rhl"] / "server" / f"{key}.json").write_text(json.dumps(data))
    (env["rhl"] / "server" / f"{key}.log").write_text("line 1\nline 2\nline 3\n")
    (env["rhl"] / "client").mkdir(parents=True, exist_ok=True)
    c = {"hostname": "localhost", "port": port, **({"meta": meta} if meta else {}), **(client or {})}
    (env["rhl"] / "client" / f"{key}.json").write_text(json.dumps(c))


def storage(env, service: str, project: str = "p") -> Path:
    d = env["root"] / ("buffers" if service == "hashserver" else "db") / project
    d.mkdir(parents=True, exist_ok=True)
    if service == "hashserver":
        (d / ".HASHSERVER_PREFIX").write_text("2\n")
        (d / "ab").mkdir(exist_ok=True)
        (d / "ab" / "abcd").write_text("buffer")
    else:
        (d / "seamless.db").write_bytes(b"SQLite format 3\0" + b"x" * 100)
    return d


def test_ps_with_nothing(env, capsys):
    assert run_cli(capsys, cli.ps_main) == (0, "SERVICE PROJECT STAGE PROCESS PORT PERSISTENT SIZE\n", "")
    assert run_cli(capsys, cli.ps_main, "--json") == (0, "", "")
    assert run_cli(capsys, cli.ps_main, "--cluster", "loc") == (0, "SERVICE PROJECT STAGE PROCESS PORT PERSISTENT SIZE\n", "")


def test_ps_rows_from_meta_and_from_keys(env, capsys, processes):
    alive = processes(key="hashserver-loc-rw-p--STAGE-prod")
    meta = {"service": "hashserver", "cluster": "loc", "mode": "rw", "project": "p", "subproject": None,
            "stage": "prod", "substage": None, "queue": None}
    write_state(env, "hashserver-loc-rw-p--STAGE-prod", alive.pid, meta=meta, workdir=str(env["root"] / "buffers/p/STAGE-prod"))
    write_state(env, "jobserver-loc-rw-q--sub--STAGE-sSUBSTAGE-t", None, port=53140)  # no meta, dead
    write_state(env, "hashserver-other-rw-x-rw-p", None, port=53160)  # another cluster, no meta
    code, out, err = run_cli(capsys, cli.ps_main, "--cluster", "loc")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "SERVICE    PROJECT STAGE PROCESS PORT  PERSISTENT SIZE",
        "hashserver p       prod  running 53100 -          -",
        "jobserver  q/sub   s:t   stale   53140 -          -",
    ]
    code, out, _ = run_cli(capsys, cli.ps_main, "--cluster", "other-rw-x", "--json")
    row = json.loads(out)
    assert (row["cluster"], row["project"], row["process"]) == ("other-rw-x", "p", "stale")
    # client view (default): every client file here, liveness from the local server state
    code, out, _ = run_cli(capsys, cli.ps_main, "--status", "running")
    assert [line.split()[0] for line in out.splitlines()] == ["SERVICE", "hashserver"]
    code, out, _ = run_cli(capsys, cli.ps_main, "--all-clusters", "--json")
    assert sorted(json.loads(line)["key"] for line in out.splitlines()) == [
        "hashserver-loc-rw-p--STAGE-prod", "hashserver-other-rw-x-rw-p", "jobserver-loc-rw-q--sub--STAGE-sSUBSTAGE-t"]
    code, out, _ = run_cli(capsys, cli.ps_main, "--cluster", "loc", "--project", "q", "--json")
    assert [json.loads(line)["service"] for line in out.splitlines()] == ["jobserver"]


def test_ps_persistent(env, capsys):
    storage(env, "database")
    (env["root"] / "buffers" / "p").mkdir(parents=True)
    (env["root"] / "buffers" / "p" / ".HASHSERVER_PREFIX").write_text("2\n")  # the marker alone: empty
    code, out, err = run_cli(capsys, cli.ps_main, "--persistent")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "SERVICE    PROJECT STAGE PROCESS PORT PERSISTENT SIZE",
        "hashserver p       -     -       -    empty      -",
        "database   p       -     -       -    populated  116B",
    ]
    code, out, _ = run_cli(capsys, cli.ps_main, "--persistent", "--stage", "prod", "--service", "database", "--json")
    row = json.loads(out)
    assert (row["persistent"], row["path"], row["key"]) == ("absent", str(env["root"] / "db/p/STAGE-prod"), None)


def test_logs_and_inspect(env, capsys):
    write_state(env, "hashserver-loc-rw-p", None)
    assert run_cli(capsys, cli.logs_main, "--service", "hashserver", "--tail", "2") == (0, "line 2\nline 3\n", "")
    code, out, _ = run_cli(capsys, cli.inspect_main, "--service", "hashserver")
    assert code == 0 and json.loads(out)["port"] == 53100 and out.startswith("{\n  \"pid\"")
    code, out, err = run_cli(capsys, cli.inspect_main, "--service", "hashserver", "--stage", "nope")
    assert (code, out) == (1, "")
    assert err == "seamless-service-inspect: no state for hashserver-loc-rw-p--STAGE-nope on this machine\n"
    code, out, err = run_cli(capsys, cli.logs_main, "--service", "database")
    assert (code, err) == (1, "seamless-service-logs: no log for database-loc-rw-p on this machine\n")


def test_logs_read_only_regular_files_and_from_the_end(env, capsys):
    """A log is read from its end (``--tail``), never from a FIFO or a device, and printed with what a
    terminal would obey escaped (a service logs what its clients send)."""
    key = "hashserver-loc-rw-p"
    write_state(env, key, None)
    log = env["rhl"] / "server" / f"{key}.log"
    log.write_bytes(b"x" * 200_000 + b"\n" + b"".join(b"line %d\n" % i for i in range(100_000))
                    + b"title \x1b]0;pwned\x07 and\tcolour \x1b[2J\r\n")
    code, out, err = run_cli(capsys, cli.logs_main, "--service", "hashserver", "--tail", "2")
    assert (code, out, err) == (0, "line 99999\ntitle \\x1b]0;pwned\\x07 and\tcolour \\x1b[2J\\r\n", "")
    assert run_cli(capsys, cli.logs_main, "--service", "hashserver", "--tail", "0") == (0, "", "")
    code, out, _ = run_cli(capsys, cli.logs_main, "--service", "hashserver")
    assert code == 0 and out.startswith("x" * 1000) and out.count("\n") == 100_002
    for odd in ("zero", "fifo"):
        log.unlink()
        if odd == "zero":
            log.symlink_to("/dev/zero")
        else:
            os.mkfifo(log)
        assert run_cli(capsys, cli.logs_main, "--service", "hashserver", "--tail", "1") == (
            1, "", f"seamless-service-logs: no log for {key} on this machine\n")


def test_names_and_states_with_control_characters_stay_one_line(env, capsys):
    """Keys come from file names and values from state files: a newline or ESC in them is printed
    escaped, by ps, stop, rm and inspect alike (and inspect prints JSON, whatever the numbers)."""
    for key in ("hashserver-loc-rw-p--a\nb", "hashserver-loc-rw-p--\x1b[31mx"):
        write_state(env, key, None)
    (env["rhl"] / "server" / "hashserver-loc-rw-p.json").write_text(
        '{"status": "\\u001b[31mred\\nnew", "port": 1e999, "pid": 1.5, "workdir": "/tmp"}')
    code, out, err = run_cli(capsys, cli.ps_main, "--cluster", "loc")
    assert (code, err) == (0, "") and "\x1b" not in out and len(out.splitlines()) == 4, out
    assert "p/a\\nb" in out and "p/\\x1b[31mx" in out
    code, out, _ = run_cli(capsys, cli.inspect_main, "--service", "hashserver")
    assert code == 0 and json.loads(out)["port"] == "inf"
    for main in (cli.stop_main, cli.rm_main):
        code, out, err = run_cli(capsys, main, "--cluster", "loc")
        assert code == 0 and "\x1b" not in out + err and "hashserver-loc-rw-p--a\\nb: " in out, out


def test_stop_keeps_state_marks_stale_and_closes_the_tunnel(env, capsys, processes):
    service = processes(key="hashserver-loc-rw-p")
    tunnel = processes("effects.tunnels")  # a tunnel monitor's command line
    bystander = processes()
    write_state(env, "hashserver-loc-rw-p", service.pid, client={"tunnel-pid": tunnel.pid})
    buffers, db = storage(env, "hashserver"), storage(env, "database")
    code, out, err = run_cli(capsys, cli.stop_main, "--service", "hashserver")
    assert (code, out, err) == (0, "hashserver-loc-rw-p: stopped (tunnel closed)\n", "")
    assert service.wait(5) is not None and tunnel.wait(5) is not None
    assert bystander.poll() is None
    state = json.loads((env["rhl"] / "server/hashserver-loc-rw-p.json").read_text())
    client = json.loads((env["rhl"] / "client/hashserver-loc-rw-p.json").read_text())
    assert state["status"] == client["status"] == "stale"
    assert (env["rhl"] / "server/hashserver-loc-rw-p.log").exists()
    assert (buffers / "ab" / "abcd").exists() and (db / "seamless.db").exists()
    assert run_cli(capsys, cli.stop_main, "--service", "hashserver") == (0, "hashserver-loc-rw-p: already gone\n", "")
    write_state(env, "hashserver-loc-rw-p", bystander.pid)  # a live pid that is not the service
    assert run_cli(capsys, cli.stop_main, "--service", "hashserver") == (
        0, "hashserver-loc-rw-p: not running (the pid its state names is another process, left alone)\n", "")
    assert bystander.poll() is None
    assert run_cli(capsys, cli.stop_main, "--service", "database") == (0, "database-loc-rw-p: not found\n", "")


def test_cluster_wide_stop_and_rm(env, capsys, processes):
    a, b = processes(key="hashserver-loc-rw-p"), processes(key="jobserver-loc-rw-p--STAGE-x")
    other = processes(key="hashserver-other-rw-x-rw-p")
    write_state(env, "hashserver-loc-rw-p", a.pid)
    write_state(env, "jobserver-loc-rw-p--STAGE-x", b.pid, meta={"service": "jobserver", "cluster": "loc", "project": "p", "stage": "x"})
    write_state(env, "hashserver-other-rw-x-rw-p", other.pid)
    buffers, db = storage(env, "hashserver"), storage(env, "database")
    code, out, err = run_cli(capsys, cli.rm_main, "--cluster", "loc")
    assert code == 1 and "running (pid" in err and "stop it first" in err
    assert (env["rhl"] / "server/hashserver-loc-rw-p.json").exists()
    code, out, err = run_cli(capsys, cli.stop_main, "--cluster", "loc", "--stage", "x")
    assert (code, out, err) == (0, "jobserver-loc-rw-p--STAGE-x: stopped\n", "")
    assert a.poll() is None
    code, out, err = run_cli(capsys, cli.stop_main, "--cluster", "loc")
    assert (code, err) == (0, "")
    assert out == "hashserver-loc-rw-p: stopped\njobserver-loc-rw-p--STAGE-x: already gone\n"
    assert other.poll() is None  # another cluster's service
    code, out, err = run_cli(capsys, cli.rm_main, "--cluster", "loc")
    assert (code, err) == (0, "")
    assert sorted(out.splitlines()) == [
        "hashserver-loc-rw-p: client file removed", "hashserver-loc-rw-p: server state removed",
        "jobserver-loc-rw-p--STAGE-x: client file removed", "jobserver-loc-rw-p--STAGE-x: server state removed",
    ]
    assert sorted(p.name for p in (env["rhl"] / "server").glob("*.json")) == ["hashserver-other-rw-x-rw-p.json"]
    assert (env["rhl"] / "server/hashserver-loc-rw-p.log").exists()  # logs kept
    assert (buffers / "ab" / "abcd").exists() and (db / "seamless.db").exists()
    assert run_cli(capsys, cli.rm_main, "--cluster", "loc") == (0, "no services of cluster 'loc' found\n", "")


def test_rm_client_only(env, capsys, processes):
    a = processes(key="database-loc-rw-p")
    write_state(env, "database-loc-rw-p", a.pid)
    code, out, err = run_cli(capsys, cli.rm_main, "--service", "database", "--client")
    assert (code, out, err) == (0, "database-loc-rw-p: client file removed\n", "")
    assert (env["rhl"] / "server/database-loc-rw-p.json").exists() and a.poll() is None


def test_clear(env, capsys, processes):
    buffers = storage(env, "hashserver")
    # not on a terminal: --yes is required
    code, out, err = run_cli(capsys, cli.clear_main, "--service", "hashserver")
    assert code == 2 and "pass --yes" in err
    assert (buffers / "ab" / "abcd").exists()
    # a running service is not cleared under its feet
    a = processes(key="hashserver-loc-ro-p")
    write_state(env, "hashserver-loc-ro-p", a.pid)
    code, out, err = run_cli(capsys, cli.clear_main, "--service", "hashserver", "--yes")
    assert code == 1 and "hashserver-loc-ro-p is running" in err
    os.killpg(a.pid, signal.SIGKILL)
    a.wait()
    code, out, err = run_cli(capsys, cli.clear_main, "--service", "hashserver", "--yes")
    assert (code, out, err) == (0, f"cleared {buffers}\n", "")
    assert buffers.is_dir() and list(buffers.iterdir()) == []
    assert run_cli(capsys, cli.clear_main, "--service", "hashserver", "--yes") == (0, f"nothing to clear: {buffers} is empty\n", "")


def test_clear_refuses_a_directory_without_the_marker(env, capsys):
    d = env["root"] / "db" / "p"
    d.mkdir(parents=True)
    (d / "precious.txt").write_text("not a database")
    code, out, err = run_cli(capsys, cli.clear_main, "--service", "database", "--yes")
    assert code == 1 and "holds no seamless.db" in err
    assert (d / "precious.txt").exists()


def test_clear_refuses_a_symlink_out_of_the_configured_directory(env, capsys, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "seamless.db").write_text("x")
    (env["root"] / "db").mkdir(parents=True)
    (env["root"] / "db" / "p").symlink_to(outside)
    code, out, err = run_cli(capsys, cli.clear_main, "--service", "database", "--yes")
    assert code == 1 and "outside" in err
    assert (outside / "seamless.db").exists()


def test_clear_refuses_configured_directories_that_are_home_or_tmp(home, write_clusters, write_tree, monkeypatch, capsys):
    write_clusters("bad:\n  frontends:\n  - hostname: localhost\n    database: {database_dir: /, port_start: 1, port_end: 2}\n")
    proj = write_tree({"proj/seamless.yaml": "- project: tmp\n- cluster: bad\n"}) / "proj"
    monkeypatch.chdir(proj)
    code, out, err = run_cli(capsys, cli.clear_main, "--service", "database", "--yes")
    assert (code, out) == (2, "")
    assert err == "seamless-service-clear: refusing to clear: '//tmp' is a system, temporary or home directory\n"


@pytest.mark.parametrize("main,argv,message", [
    (cli.stop_main, [], "--service or --cluster is required"),
    (cli.rm_main, [], "--service or --cluster is required"),
    (cli.logs_main, [], "--service is required"),
    (cli.inspect_main, ["--cluster", "loc"], "--service is required"),
    (cli.clear_main, ["--service", "jobserver"], "--service must be hashserver or database"),
    (cli.logs_main, ["--service", "hashserver", "--tail", "-1"], "--tail must be 0 or more"),
])
def test_usage_mistakes(env, capsys, main, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(f"error: {message}")


@pytest.mark.parametrize("main,argv,message", [
    (cli.ps_main, ["--cluster", "nope"], "unknown cluster 'nope'"),
    (cli.stop_main, ["--cluster", "loc", "--frontend-name", "x"], "cluster 'loc' has no frontend 'x' (its frontends: 'localhost')"),
    (cli.inspect_main, ["--service", "jobserver", "--cluster", "other-rw-x"], "No frontend of cluster 'other-rw-x' can support a jobserver"),
])
def test_configuration_mistakes(env, capsys, main, argv, message):
    code, out, err = run_cli(capsys, main, *argv)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err


def test_a_host_that_cannot_be_reached_is_exit_1(env, capsys):
    """Services of a cluster on another machine are reached through effects.ssh.host_for_ssh."""
    for main, argv in ((cli.ps_main, ["--cluster", "far"]), (cli.stop_main, ["--cluster", "far"]),
                       (cli.logs_main, ["--service", "hashserver", "--cluster", "far"])):
        code, out, err = run_cli(capsys, main, *argv)
        assert code == 1, (argv, out, err)
        assert len(err.splitlines()) == 1 and "farssh" in err and "Traceback" not in err


def test_ps_lists_500_services(env, capsys):
    """Every one of 500 states is listed, with or without a meta block (its speed is in benchmarks/)."""
    for i in range(500):
        service = ("hashserver", "database", "jobserver", "daskserver")[i % 4]
        meta = None if i % 5 == 0 else {"service": service, "cluster": "loc", "mode": "rw", "project": f"p{i}",
                                         "stage": f"s{i % 3}"}
        write_state(env, f"{service}-loc-rw-p{i}--STAGE-s{i % 3}", None, meta=meta, port=50000 + i)
    for argv in ([], ["--cluster", "loc"], ["--json"]):
        code, out, _ = run_cli(capsys, cli.ps_main, *argv)
        assert code == 0 and len(out.splitlines()) in (500, 501), argv


def test_the_seamless_cache_project_is_shown_and_filtered_as_SEAMLESS_CACHE():
    """As 0.3.2's ps: the project of SEAMLESS_CACHE mode reads ``SEAMLESS_CACHE``, and ``--project
    SEAMLESS_CACHE`` selects exactly those rows."""
    from seamless_config.cli.table import render_table
    from seamless_config.inspect.ps import RowFilter, ServiceRow

    key = "hashserver-__SEAMLESS_CACHE__-rw-__TOPLEVEL__"
    row = ServiceRow(key, parse_key(key), "running", 5000)
    other = ServiceRow("hashserver-c-rw-__TOPLEVEL__", parse_key("hashserver-c-rw-__TOPLEVEL__"), "running", 5001)
    assert render_table([row]).splitlines()[1].split()[:2] == ["hashserver", "SEAMLESS_CACHE"]
    assert row.as_json()["project"] == "SEAMLESS_CACHE"
    args = cli.build_ps_parser().parse_args(["--project", "SEAMLESS_CACHE"])
    f = cli._row_filter(args, cluster=None)
    assert isinstance(f, RowFilter) and f.matches(row) and not f.matches(other)
