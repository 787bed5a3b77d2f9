"""``seamless-config doctor``: the verdicts from given observations (pure), and the command on this
machine for real (binaries, ports, storage, running services, exit codes).

The SSH checks are in tests/ssh/test_doctor_ssh.py, the batch checks in
tests/slurm/test_doctor_slurm.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import strategies as S
from hypothesis import given, settings
from returns.result import Success

from seamless_config.cli.render import render_doctor
from seamless_config.core import launch
from seamless_config.core.batch import BatchAsk
from seamless_config.core.errors import Origin
from seamless_config.core.launch import LaunchDict
from seamless_config.core.plan import Plan, ServicePlan, _service_plan
from seamless_config.inspect import doctor
from seamless_config.inspect.doctor import FAIL, OK, WARN, Check, Need, Seen

ROOT = Path(__file__).resolve().parents[1]


# -- pure: needs and verdicts ---------------------------------------------------------------------

def _sp(role: str, host: str | None, **fields) -> ServicePlan:
    command = {"hashserver": "hashserver", "database": "seamless-database", "jobserver": "seamless-jobserver",
               "daskserver": "seamless-dask-wrapper"}[role]
    launch = LaunchDict(role, "c", {"command": f"{command} --port-range 1 2", "key": f"{role}-c-rw-p", **fields})
    return ServicePlan(role, launch, host, bool(fields.get("tunnel")), "healthcheck", "port",
                       batch=fields.pop("batch", None) if "batch" in fields else None)


def _plan(*services: ServicePlan) -> Plan:
    return Plan("c", "p", None, None, None, "remote", None, True, False, None, services=services)


def test_needs_name_every_observation_once_frontends_first():
    plan = _plan(_sp("hashserver", "fe", workdir="/b/p", port_start=5000, port_end=5009, hostname="login", tunnel=True),
                 _sp("database", "fe", workdir="/d/p", port_start=5010, port_end=5019, conda="env1"),
                 _sp("jobserver", None, port_start=5020, port_end=5029, network_interface="0.0.0.0", conda="env1"))
    got = [(n.kind, n.host, n.subject, n.role) for n in doctor.needs(plan)]
    assert got == [
        ("ssh", "fe", "", None), ("hostkey", "fe", "", None), ("forwarding", "fe", "login", None),
        ("helpers", "fe", "", None),
        ("binary", "fe", "hashserver", "hashserver"), ("ports", "fe", "127.0.0.1", "hashserver"),
        ("storage", "fe", "/b/p", "hashserver"),
        ("binary", "fe", "seamless-database", "database"), ("conda", "fe", "env1", "database"),
        ("ports", "fe", "127.0.0.1", "database"), ("storage", "fe", "/d/p", "database"),
        ("binary", None, "seamless-jobserver", "jobserver"), ("conda", None, "env1", "jobserver"),
        ("ports", None, "0.0.0.0", "jobserver"),
        ("services", "fe", "", None), ("services", None, "", None),
    ]
    helpers = next(n for n in doctor.needs(plan) if n.kind == "helpers")
    assert helpers.conda == "env1"  # the conda helpers are checked too
    services = [n.keys for n in doctor.needs(plan) if n.kind == "services"]
    assert services == [("hashserver-c-rw-p", "database-c-rw-p"), ("jobserver-c-rw-p",)]


def test_a_daskserver_needs_two_ports_and_its_batch_queue():
    ask = BatchAsk("slurm", "c", "q", partition="gpu")
    plan = _plan(_sp("daskserver", None, port_start=1, port_end=9, batch=ask))
    by_kind = {n.kind: n for n in doctor.needs(plan)}
    assert by_kind["ports"].count == 2 and by_kind["batch"].batch == ask
    assert "ssh" not in by_kind  # nothing over SSH for a service of this machine


def test_a_plan_without_services_has_one_passing_line():
    plan = Plan(None, None, None, None, None, "process", None, False, False, None)
    assert doctor.needs(plan) == ()
    (check,) = doctor.verdicts(plan, [])
    assert check.status == OK and "nothing to check" in check.message


def _verdict(need: Need, value=None, error=None, others=()) -> Check:
    plan = _plan()
    return doctor.verdicts(plan, [Seen(need, value, error), *others])[0]


def test_ssh_verdicts():
    need = Need("ssh", "fe")
    assert _verdict(need, {"reached": True, "guarded": False}).status == OK
    guarded = _verdict(need, {"reached": True, "guarded": True})
    assert guarded.status == OK and "rhl-guard" in guarded.message
    refused = _verdict(need, {"reached": False, "kind": "auth", "detail": "Permission denied (publickey)"})
    assert refused.status == FAIL and "Permission denied" in refused.message and "ssh-add" in refused.fix
    unreachable = _verdict(need, {"reached": False, "kind": "unreachable", "detail": "Connection refused"})
    assert unreachable.fix == "check the name and the network: ssh -o BatchMode=yes fe true"


@pytest.mark.parametrize(("strict", "status"), [("true", FAIL), ("ask", FAIL), ("accept-new", WARN), ("false", WARN)])
def test_host_key_verdicts(strict, status):
    check = _verdict(Need("hostkey", "fe"), {"known": False, "name": "[10.0.0.1]:2222", "strict": strict})
    assert check.status == status and "ssh-keyscan -p 2222 10.0.0.1 >> ~/.ssh/known_hosts" in check.fix
    known = _verdict(Need("hostkey", "fe"), {"known": True, "name": "fe", "file": "/k", "strict": strict})
    assert (known.status, known.fix) == (OK, "")


def test_forwarding_and_helpers_verdicts():
    refused = _verdict(Need("forwarding", "fe", "login"),
                       {"allowed": False, "target": "login:22", "detail": "stdio forwarding failed"})
    assert refused.status == FAIL and "AllowTcpForwarding yes" in refused.fix and "tunnel: false" in refused.fix
    missing = _verdict(Need("helpers", "fe"), {"checked": ["rhl-ps", "rhl-stop"], "missing": ["rhl-stop"], "refused": {}})
    assert missing.status == FAIL and missing.message == "not on the PATH of SSH sessions: rhl-stop"
    guard = _verdict(Need("helpers", "fe"), {"checked": ["rhl-launch-service"], "missing": [],
                                             "refused": {"rhl-launch-service": "configure rhl-guard with one path-policy flag"}})
    assert guard.status == FAIL and "--clear-policy seamless" in guard.fix


def test_binary_and_conda_verdicts():
    need = Need("binary", "fe", "hashserver", "hashserver")
    gone = _verdict(need, {"path": None, "package": "hashserver"})
    assert (gone.status, gone.message, gone.fix) == (
        FAIL, "'hashserver' for the hashserver is not on the PATH services get over SSH on fe",
        "install it there: pip install hashserver")
    conda = Need("conda", "fe", "work", "database")
    assert _verdict(conda, {"envs": ["base", "work"]}).status == OK
    absent = _verdict(conda, {"envs": ["base"]})
    assert absent.status == FAIL and absent.message == (
        "conda environment 'work' of the database does not exist (there are: base)")
    assert absent.fix.startswith("create it (conda create -n work)")
    uncached = _verdict(conda, {"cache": False, "detail": "cache file not found: /h/.remote-http-launcher/conda-setup.json"})
    assert uncached.status == WARN and "rhl-cache-conda" in uncached.fix
    here = _verdict(Need("conda", None, "work", "database"), {"conda": False})
    assert here.status == WARN and here.message.startswith("no conda on this machine")


def test_port_verdicts_count_a_running_service_of_the_plan_as_its_own():
    need = Need("ports", None, "127.0.0.1", "daskserver", ports=(7000, 7003), count=2, keys=("daskserver-c-rw-p",))
    full = _verdict(need, {"free": [7002], "tried": 4, "how": "bind"})
    assert (full.status, full.message) == (FAIL, "daskserver needs 2 free ports on 127.0.0.1 in 7000-7003, found 1 of 4 tried")
    assert _verdict(need, {"free": [7000, 7001], "tried": 2, "how": "bind"}).status == OK
    running = Seen(Need("services", None, keys=("daskserver-c-rw-p",)),
                   [{"key": "daskserver-c-rw-p", "status": "running", "pid": 5, "port": 7001}])
    assert _verdict(need, {"free": [], "tried": 4, "how": "bind"}, others=[running]).status == OK


def test_storage_verdicts():
    need = Need("storage", "fe", "/b/p", "database")
    assert _verdict(need, {"existing": "/b", "is_dir": False, "writable": False, "free": None}).message == \
        "/b/p can not be created: /b is not a directory"
    low = _verdict(need, {"existing": "/b/p", "is_dir": True, "writable": True, "free": 300 * 2**20})
    assert (low.status, low.message) == (WARN, "/b/p exists, is writable, but only 300 MiB free")
    assert "database_dir" in low.fix


def test_batch_verdicts_use_core_batch():
    ask = BatchAsk("slurm", "hpc", "small", partition="short", walltime="00:10:00", origin=Origin("/p/seamless.yaml", 4))
    need = Need("batch", None, "slurm", "daskserver", batch=ask)
    sinfo = (0, "debug*|infinite|2|2000|up\nshort|5:00|2|2000|up\n", "")
    over = _verdict(need, sinfo)
    assert over.status == FAIL and over.origin == ask.origin
    assert over.message == ("queue 'small' of cluster 'hpc' asks for walltime 00:10:00, over the limit of SLURM "
                            "partition 'short' (00:05:00)")
    fits = _verdict(Need("batch", None, "slurm", "daskserver", batch=BatchAsk("slurm", "hpc", "small")), sinfo)
    assert fits.status == OK and "partition 'debug' (no time limit" in fits.message
    assert _verdict(need, None).status == WARN  # sinfo could not be run: not judged, and said so
    down = _verdict(need, (1, "", "sinfo: error: Unable to contact slurm controller (connect failure)\n"))
    assert down.status == FAIL and down.message.startswith("SLURM does not answer on localhost (sinfo: error: Unable")


def test_what_could_not_be_observed_is_a_warning_that_says_why():
    check = _verdict(Need("storage", "fe", "/b/p", "hashserver"), error="fe cannot be reached over SSH")
    assert check.status == WARN and check.message == "hashserver storage /b/p: not checked: fe cannot be reached over SSH"


def test_stale_services_are_warnings_with_the_way_out():
    need = Need("services", "fe", keys=("hashserver-c-rw-p",))
    stale = _verdict(need, [{"key": "hashserver-c-rw-p", "status": "stale", "pid": 3, "port": None}])
    assert stale.status == WARN and "seamless-service-rm" in stale.fix
    assert _verdict(need, [{"key": "other", "status": "stale"}]).message == "hashserver-c-rw-p: not running"


def test_rendering_json_and_exit_codes():
    checks = [Check(OK, "ssh", "fe", "answers"), Check(WARN, "conda", None, "no conda", "install it"),
              Check(FAIL, "batch", None, "too long", "ask less", "daskserver", Origin("/w/seamless.yaml", 3))]
    text = render_doctor(checks, where=lambda o: f"<{o.line}>")
    assert text.splitlines() == [
        "✔ fe: ssh: answers", "! this machine: conda: no conda (fix: install it)",
        "✘ this machine: batch: <3>: too long (fix: ask less)", "1 of 3 checks failed, 1 warning"]
    doc = doctor.as_json(checks)
    assert doc["schema"] == "seamless-config/doctor/1" and doc["ok"] is False
    assert doc["checks"][2] == {"status": "fail", "mark": "✘", "check": "batch", "host": None, "service": "daskserver",
                                "message": "too long", "fix": "ask less",
                                "origin": {"file": "/w/seamless.yaml", "line": 3}}
    assert doctor.exit_code(checks) == 1 and doctor.exit_code(checks[:2]) == 0


def test_oar_purged_storage_is_a_failure():
    from seamless_config.core.errors import PURGED_STORAGE

    note = PURGED_STORAGE("cluster 'lab' is of type oar, and ...", Origin("/c.yaml", 2), "move 'bufferdir'")
    plan = _plan(_sp("hashserver", "fe", workdir="/tmp/b/p"))
    (check,) = doctor.verdicts(plan, [], [note])
    assert (check.status, check.host, check.kind, check.fix) == (FAIL, "fe", "storage", "move 'bufferdir'")


@given(S.clusters(wild=True), S.scopes)
@settings(max_examples=100)
def test_every_service_is_looked_at_and_nothing_unobserved_passes(cluster, scope):
    """For plans of generated clusters: each frontend reached over SSH is checked first and once,
    every service's program and storage are looked at, and an observation that could not be made
    is a warning, never a pass or a failure."""
    made = [launch.storage_launch_dict(cluster, s, "rw", scope) for s in ("hashserver", "database")]
    if cluster.queues and cluster.type in launch.CLUSTER_STRINGS:
        made.append(launch.daskserver_launch_dict(cluster, scope, cluster.queue_names()[0], None, False))
    services = tuple(_service_plan(r.unwrap().service, r.unwrap(), cluster, None) for r in made if isinstance(r, Success))
    plan = _plan(*services)
    needs = doctor.needs(plan)
    assert len(set(needs)) == len(needs)
    remote = {sp.ssh_host for sp in services} - {None}
    assert {n.host for n in needs if n.kind == "ssh"} == remote
    assert len([n for n in needs if n.kind == "ssh"]) == len(remote)
    frontend = [i for i, n in enumerate(needs) if n.kind in ("ssh", "hostkey", "forwarding", "helpers")]
    assert frontend == list(range(len(frontend)))  # the frontends' checks come first
    assert {(n.role, n.subject) for n in needs if n.kind == "binary"} == {(sp.role, doctor.binary_of(sp))
                                                                          for sp in services}
    assert {n.role for n in needs if n.kind == "storage"} == {sp.role for sp in services} & {"hashserver", "database"}
    checks = doctor.verdicts(plan, [Seen(n, error="no") for n in needs])
    assert len(checks) == max(1, len(needs))
    assert all(c.status == WARN for c in checks) or not needs


# -- this machine, for real ---------------------------------------------------------------------

def _free_range(n: int) -> tuple[int, int]:
    """``n`` consecutive ports nobody holds now."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            start = s.getsockname()[1]
        if start + n > 65000:
            continue
        ok = True
        for p in range(start, start + n):
            try:
                with socket.create_server(("127.0.0.1", p)):
                    pass
            except OSError:
                ok = False
                break
        if ok:
            return start, start + n - 1
    raise RuntimeError("no free port range")


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.dir = root / "proj"
        self.rhl = root / "rhl"
        (self.home / ".seamless").mkdir(parents=True)
        self.dir.mkdir()
        self.bufferdir = root / "buffers"
        self.database_dir = root / "db"
        self.ranges = {"hashserver": _free_range(3), "database": _free_range(3)}

    def write(self, *, cluster_type: str = "local", conda: str | None = None, extra: str = "") -> None:
        h, d = self.ranges["hashserver"], self.ranges["database"]
        conda_field = f", conda: {conda}" if conda else ""
        (self.dir / "seamless.yaml").write_text(textwrap.dedent(f"""\
            - project: p
            - execution: process
            - clusters:
                lab:
                  type: {cluster_type}
                  frontends:
                    - hostname: localhost
                      hashserver: {{bufferdir: {self.bufferdir}, port_start: {h[0]}, port_end: {h[1]}{conda_field}}}
                      database: {{database_dir: {self.database_dir}, port_start: {d[0]}, port_end: {d[1]}}}
            - cluster: lab
            """) + extra)

    def doctor(self, *args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SEAMLESS_", "CONDA"))}
        env.update(HOME=str(self.home), REMOTE_HTTP_LAUNCHER_DIR=str(self.rhl), PYTHONPATH=str(ROOT),
                   SEAMLESS_CONFIG_CACHE=str(self.root / "cache"),
                   PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]))
        return subprocess.run([sys.executable, "-m", "seamless_config.cli.config", "doctor", *args], cwd=self.dir,
                              env=env, capture_output=True, text=True, timeout=120)

    def checks(self, *args: str) -> tuple[int, list[dict]]:
        cp = self.doctor("--json", *args)
        assert cp.stderr == "", cp.stderr
        return cp.returncode, json.loads(cp.stdout)["checks"]


def _one(checks: list[dict], kind: str, service: str | None = None) -> dict:
    found = [c for c in checks if c["check"] == kind and (service is None or c["service"] == service)]
    assert len(found) == 1, (kind, service, checks)
    return found[0]


@pytest.fixture
def project(tmp_path) -> Project:
    return Project(tmp_path)


def test_a_healthy_local_plan_passes(project):
    project.write()
    cp = project.doctor()
    assert cp.returncode == 0, cp.stdout + cp.stderr
    lines = cp.stdout.splitlines()
    assert lines[-1] == "all 7 checks passed"
    assert all(line.startswith("✔ this machine: ") for line in lines[:-1]), lines
    h = project.ranges["hashserver"]
    assert f"✔ this machine: ports: hashserver can listen on 127.0.0.1, port {h[0]} of {h[0]}-{h[1]} (bound)" in lines
    assert any(line.startswith(f"✔ this machine: storage: {project.bufferdir}/p can be created, is writable, ")
               and line.endswith(" free") for line in lines), lines
    code, checks = project.checks()
    assert code == 0 and [c["check"] for c in checks] == ["binary", "ports", "storage", "binary", "ports", "storage",
                                                          "services"]
    assert _one(checks, "binary", "hashserver")["message"].endswith(f"{Path(sys.executable).parent}/hashserver")
    assert not project.bufferdir.exists(), "doctor created the buffer directory"


def test_a_full_port_range_fails(project):
    project.write()
    start, end = project.ranges["database"]
    with contextlib.ExitStack() as stack:
        for port in range(start, end + 1):
            stack.enter_context(socket.create_server(("127.0.0.1", port)))
        code, checks = project.checks()
    ports = _one(checks, "ports", "database")
    assert code == 1 and ports["status"] == "fail", checks
    assert ports["message"] == f"database needs 1 free port on 127.0.0.1 in {start}-{end}, found 0 of 3 tried"
    assert "port_start" in ports["fix"]
    assert _one(checks, "ports", "hashserver")["status"] == "ok"


@pytest.fixture
def read_only_dir(tmp_path):
    """A directory that not even root can write to: a read-only tmpfs."""
    path = tmp_path / "ro"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    cp = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)], capture_output=True, text=True)
    if cp.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {cp.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def test_a_read_only_buffer_directory_fails(project, read_only_dir):
    project.bufferdir = read_only_dir
    project.write()
    code, checks = project.checks()
    storage = _one(checks, "storage", "hashserver")
    assert code == 1 and storage["status"] == "fail"
    assert storage["message"] == f"{read_only_dir}/p can not be created: {read_only_dir} is not writable"
    assert "'bufferdir'" in storage["fix"]
    assert _one(checks, "storage", "database")["status"] == "ok"


def test_a_conda_environment_without_conda_here_is_said_unused(project):
    """A conda environment where conda is absent is said to be unused, and the PATH is checked."""
    if subprocess.run(["sh", "-c", "command -v conda || command -v mamba"], capture_output=True).returncode == 0:
        pytest.skip("conda is installed here: the environment would be looked up")
    project.write(conda="seamless-doctor-no-such-env")
    code, checks = project.checks()
    conda = _one(checks, "conda")
    assert code == 0 and conda["status"] == "warn", checks
    assert conda["message"] == ("no conda on this machine: conda environment 'seamless-doctor-no-such-env' of the "
                                "hashserver is not used, its program must be on the PATH")


def test_stale_and_running_states_of_the_plan_are_shown(project):
    project.write()
    server = project.rhl / "server"
    server.mkdir(parents=True)
    # a state whose process is gone (pid 2**22 + 1 is above Linux's pid_max default)
    (server / "hashserver-lab-rw-p.json").write_text(json.dumps({"status": "running", "pid": 4194305, "port": 1}))
    (server / "database-lab-rw-p--STAGE-other.json").write_text(json.dumps({"status": "running", "pid": 4194305}))
    code, checks = project.checks()
    services = _one(checks, "services")
    assert code == 0 and services["status"] == "warn"
    assert services["message"] == "hashserver-lab-rw-p: stale (its process is gone); database-lab-rw-p: not running"


def test_oar_storage_under_tmp_fails(project):
    project.bufferdir = Path("/tmp/seamless-doctor-test/buffers")
    project.write(cluster_type="oar")
    code, checks = project.checks()
    purged = [c for c in checks if c["check"] == "storage" and c["status"] == "fail"]
    # the database directory of the test is under /tmp too
    assert code == 1 and len(purged) == 2, checks
    assert "bufferdir /tmp/seamless-doctor-test/buffers is under /tmp, where OAR deletes every file" in purged[0]["message"]
    assert purged[0]["origin"]["file"] == str(project.dir / "seamless.yaml") and purged[0]["host"] is None


def test_remote_work_without_a_remote_service_is_a_warning(project):
    """Storage comes up, so nothing fails; but no transformation could run: the plan says so."""
    project.write(extra="- execution: remote\n")
    code, checks = project.checks()
    plan = _one(checks, "plan")
    assert code == 0 and plan["status"] == "warn", checks
    assert plan["message"].startswith("execution is 'remote' but cluster 'lab' offers neither a jobserver nor")
    assert plan["origin"] == {"file": str(project.dir / "seamless.yaml"), "line": 11}


def test_configuration_mistakes_exit_2(project):
    project.write(extra="- queue: [\n")
    cp = project.doctor()
    assert cp.returncode == 2 and cp.stdout == "" and cp.stderr.startswith("seamless-config: seamless.yaml:"), cp.stderr
    project.write()
    cp = project.doctor("--stage", "a:b:c:")
    assert cp.returncode == 2 and "seamless-config: " in cp.stderr, cp.stderr
