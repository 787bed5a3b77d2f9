"""A single-node OAR on this machine, for tests and benchmarks (Debian's OAR 2.5, PostgreSQL backend).

What :meth:`SingleNodeOar.start` does, each step only when it is not done already:

- sets the database passwords in ``/etc/oar/oar.conf`` (Debian leaves them empty);
- starts the PostgreSQL cluster (``pg_ctlcluster``) and creates OAR's database (``oar-database``);
- starts OAR's server (``Almighty``) and the node's own sshd (port 6667, on 127.0.0.1 only);
- declares the ``cpu``, ``core``, ``memcore`` and ``host`` properties and one resource per core
  of this machine (``memcore``: the MiB per core; ``host``: what a ``node`` command selects), and
  sets the node Alive;
- creates the unprivileged user the jobs run as (:data:`USER`): OAR refuses root's submissions.

Everything started here is stopped by :meth:`SingleNodeOar.stop` (the jobs deleted first);
PostgreSQL is stopped only if this object started it.

Two things about OAR that the tests rely on (see COMPAT.md):

- every command a job runs, and so every Seamless process that submits one, runs as :data:`USER`,
  who cannot read root's interpreter: :meth:`SingleNodeOar.venv` builds a virtual environment from
  the system's Python outside any private directory, with this checkout installed in it;
- when a job ends, OAR deletes every file of its user under ``/tmp``, ``/dev/shm`` and
  ``/var/tmp``; test storage lives under the user's home directory instead.
"""

from __future__ import annotations

import grp
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from _services import stop_started

#: the user every OAR job (and every Seamless process of an OAR test) runs as
USER = "seamlessoar"
#: the property that holds each resource's memory in MiB (dask-jobqueue's memory_per_core_property_name)
MEMCORE = "memcore"
CONF = Path("/etc/oar/oar.conf")
SSHD_CONFIG = Path("/etc/oar/sshd_config")
BINARIES = ("Almighty", "oarsub", "oarstat", "oardel", "oarnodes", "oarnodesetting", "oarproperty",
            "oar-database", "pg_ctlcluster", "pg_lsclusters", "sshd", "useradd")
REPO = Path(__file__).resolve().parents[2]
#: what the user's virtual environment gets besides this checkout (as `make venv` installs it)
EXTRAS = "runtime,dask"


def _search_path() -> str:
    return os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin"])


def missing_binaries() -> list[str]:
    return [b for b in BINARIES if shutil.which(b, path=_search_path()) is None]


def _which(binary: str) -> str:
    found = shutil.which(binary, path=_search_path())
    if found is None:
        raise RuntimeError(f"{binary} not found (apt-get install oar-server oar-server-pgsql oar-node "
                           "oar-user oar-user-pgsql postgresql)")
    return found


def node_name() -> str:
    """This machine's name when it resolves to a loopback address (the node's sshd listens there
    only), otherwise ``localhost``."""
    name = socket.gethostname().split(".")[0]
    try:
        addr = socket.gethostbyname(name)
    except OSError:
        return "localhost"
    return name if addr.startswith("127.") else "localhost"


def total_memory_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


class OarError(RuntimeError):
    pass


class SingleNodeOar:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.node = node_name()
        self.cores = os.cpu_count() or 1
        self.memcore = total_memory_mib() // self.cores
        self._procs: list[subprocess.Popen] = []
        self._started_postgres: tuple[str, str] | None = None

    # -- commands -----------------------------------------------------------------------
    def run(self, *argv: str, timeout: float = 60, user: str | None = None, check: bool = True,
            cwd: str | None = None) -> subprocess.CompletedProcess:
        """Run an OAR (or PostgreSQL) command, as root or as ``user``; PWD is set (oarsub needs it)."""
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LC_ALL": "C.UTF-8"}
        kwargs: dict = {}
        if user is not None:
            pw = pwd.getpwnam(user)
            env.update(HOME=pw.pw_dir, USER=user, LOGNAME=user)
            kwargs = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
            cwd = cwd or pw.pw_dir
        cwd = cwd or "/"
        env["PWD"] = cwd
        cp = subprocess.run([_which(argv[0]), *argv[1:]], env=env, cwd=cwd, capture_output=True,
                            text=True, timeout=timeout, **kwargs)
        if check and cp.returncode != 0:
            raise OarError(f"{' '.join(argv)} exited {cp.returncode}: {(cp.stderr or cp.stdout).strip()}")
        return cp

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, timeout: float = 60) -> None:
        if os.geteuid() != 0:
            raise OarError("a single-node OAR needs root to start (its server, its node's sshd, its user)")
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "log").mkdir(exist_ok=True)
        self._configure()
        if self._port_open(6666) or self._port_open(6667):
            raise OarError("an OAR server or node sshd already runs here (port 6666 or 6667 is taken); "
                           "stop it (/etc/init.d/oar-server stop; /etc/init.d/oar-node stop)")
        try:
            self._start(timeout)
        except BaseException:
            self.stop()  # a half-started OAR would hold its ports against the next start
            raise

    def _start(self, timeout: float) -> None:
        self._start_postgres()
        if self.run("oar-database", "--check", check=False).returncode != 0:
            self.run("oar-database", "--create", "--db-is-local", "--db-admin-user", "postgres", timeout=120)
        self._spawn([_which("Almighty")], "almighty.out")
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self._spawn([_which("sshd"), "-D", "-f", str(SSHD_CONFIG), "-o", "ListenAddress=127.0.0.1",
                     "-o", f"PidFile={self.root}/oar-node-sshd.pid"], "oar-node-sshd.out")
        self._wait(lambda: self._port_open(6666) and self._port_open(6667), timeout,
                   "Almighty (port 6666) and the node's sshd (port 6667) did not listen")
        self._declare_resources()
        self._ensure_user()

    def restart_server(self, timeout: float = 60) -> None:
        """Stop OAR's server (Almighty and its helpers) and start it again."""
        almighty = next(p for p in self._procs if str(p.args[0]).endswith("Almighty"))
        os.killpg(almighty.pid, signal.SIGTERM)
        almighty.wait(timeout=30)
        self._wait(lambda: not self._port_open(6666), timeout, "Almighty did not stop")
        self._procs.remove(almighty)
        self._spawn([_which("Almighty")], "almighty.out")
        self._wait(lambda: self._port_open(6666), timeout, "Almighty did not listen again")

    def _configure(self) -> None:
        text = CONF.read_text()
        new = re.sub(r'^DB_BASE_PASSWD=""$', 'DB_BASE_PASSWD="seamless-oar-test"', text, flags=re.M)
        new = re.sub(r'^DB_BASE_PASSWD_RO=""$', 'DB_BASE_PASSWD_RO="seamless-oar-test-ro"', new, flags=re.M)
        if new != text:
            CONF.write_text(new)

    def _start_postgres(self) -> None:
        out = self.run("pg_lsclusters", "-h").stdout.split()
        if len(out) < 4:
            raise OarError("no PostgreSQL cluster here (pg_lsclusters lists none)")
        version, name, status = out[0], out[1], out[3]
        if status != "online":
            self.run("pg_ctlcluster", version, name, "start", timeout=120)
            self._started_postgres = (version, name)

    def _declare_resources(self) -> None:
        known = set(self.run("oarproperty", "-l").stdout.split())
        for prop, kind in (("cpu", ()), ("core", ()), (MEMCORE, ()), ("host", ("-c",))):
            if prop not in known:
                self.run("oarproperty", "-a", prop, *kind)
        existing = self.resources()
        for core in range(self.cores):
            if core < len(existing):
                rid = existing[core]["resource_id"]
            else:
                self.run("oarnodesetting", "-a", "-h", self.node)
                rid = self.resources()[core]["resource_id"]
            self.run("oarnodesetting", "-r", str(rid), "-p", "cpu=0", "-p", f"core={core}",
                     "-p", f"cpuset={core}", "-p", f"{MEMCORE}={self.memcore}", "-p", f"host={self.node}")
        self.run("oarnodesetting", "-s", "Alive", "-h", self.node)

    def _ensure_user(self) -> None:
        try:
            pwd.getpwnam(USER)
        except KeyError:
            self.run("useradd", "--create-home", "--shell", "/bin/bash", USER)

    def _spawn(self, argv: list[str], log: str) -> None:
        with open(self.root / "log" / log, "ab") as out:
            env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LC_ALL": "C.UTF-8", "PWD": "/"}
            proc = subprocess.Popen(argv, env=env, cwd="/", stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self._procs.append(proc)

    @staticmethod
    def _port_open(port: int) -> bool:
        with socket.socket() as s:
            s.settimeout(0.5)
            return s.connect_ex(("127.0.0.1", port)) == 0

    def _wait(self, ready, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not ready():
            for proc in self._procs:
                if proc.poll() is not None:
                    self.stop()
                    raise OarError(f"{proc.args[0]} exited with {proc.returncode}\n{self.logs()}")
            if time.monotonic() > deadline:
                self.stop()
                raise OarError(f"single-node OAR: {what} within {timeout} s\n{self.logs()}")
            time.sleep(0.2)

    def logs(self, lines: int = 30) -> str:
        out = []
        for f in [*sorted((self.root / "log").glob("*")), Path("/var/log/oar.log")]:
            try:
                tail = f.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            out.append(f"--- {f}\n" + "\n".join(tail))
        return "\n".join(out)

    def delete_all_jobs(self) -> None:
        """``oardel`` every job of :data:`USER` that has not ended, and wait (briefly) for them to end."""
        active = [j for j in self.jobs() if j.get("state") not in ("Terminated", "Error")]
        for job in active:
            self.run("oardel", str(job["Job_Id"]), user=USER, check=False)
        deadline = time.monotonic() + 30
        while active and time.monotonic() < deadline:
            time.sleep(0.5)
            active = [j for j in self.jobs() if j.get("state") not in ("Terminated", "Error")]

    def stop(self) -> None:
        """Delete the jobs, stop Almighty and the node's sshd (by process group), then PostgreSQL if
        it was started here."""
        if any(p.poll() is None for p in self._procs):
            try:
                self.delete_all_jobs()
            except (OarError, subprocess.TimeoutExpired, OSError):
                pass
        stop_started(self._procs)  # (Almighty's helpers, bipbip and the rest, share its process group)
        if self._started_postgres is not None:
            self.run("pg_ctlcluster", *self._started_postgres, "stop", check=False, timeout=120)
            self._started_postgres = None

    # -- what the tests look at ------------------------------------------------------------
    def resources(self) -> list[dict]:
        """This node's resources as ``oarnodes -J`` lists them, in resource-id order."""
        cp = self.run("oarnodes", "-J", check=False)
        # a database without resources: nothing, or a notice instead of JSON ("/!\\ No nodes to display...")
        if cp.returncode != 0 or not cp.stdout.strip() or "No nodes to display" in cp.stdout:
            return []
        data = json.loads(cp.stdout)
        rows = list(data.values()) if isinstance(data, dict) else list(data)
        rows = [r for r in rows if r.get("network_address") == self.node]
        return sorted(rows, key=lambda r: int(r["resource_id"]))

    def jobs(self) -> list[dict]:
        """Every job of :data:`USER` OAR knows of (``oarstat -f -J``), running or ended."""
        cp = self.run("oarstat", "-f", "-J", "-u", USER, check=False)
        if cp.returncode != 0 or not cp.stdout.strip():
            return []
        return list(json.loads(cp.stdout).values())

    def job(self, job_id: int | str) -> dict:
        data = json.loads(self.run("oarstat", "-f", "-J", "-j", str(job_id)).stdout)
        return data[str(job_id)]

    # -- the user's side ------------------------------------------------------------------
    def workspace(self, name: str) -> Path:
        """A fresh directory of :data:`USER`'s under their home (not under /tmp: OAR purges it)."""
        pw = pwd.getpwnam(USER)
        base = Path(pw.pw_dir) / "seamless-tests"
        base.mkdir(exist_ok=True)
        os.chown(base, pw.pw_uid, pw.pw_gid)
        d = base / name
        if d.exists():
            shutil.rmtree(d)
        d.mkdir()
        os.chown(d, pw.pw_uid, pw.pw_gid)
        return d

    @staticmethod
    def give(path: Path) -> None:
        """Make everything under ``path`` :data:`USER`'s."""
        pw = pwd.getpwnam(USER)
        for dirpath, dirnames, filenames in os.walk(path):
            os.chown(dirpath, pw.pw_uid, pw.pw_gid)
            for n in dirnames + filenames:
                os.chown(os.path.join(dirpath, n), pw.pw_uid, pw.pw_gid, follow_symlinks=False)

    @staticmethod
    def venv() -> Path:
        """A virtual environment :data:`USER` can run: the system's Python 3, outside root's home, with
        the runtime (installed once per change of pyproject.toml) and this checkout (reinstalled on
        every call, so it runs the code under test). One per checkout."""
        tag = hashlib.sha1(str(REPO).encode()).hexdigest()[:10]
        venv = Path("/opt/seamless-config-oar") / tag / "venv"
        python = venv / "bin" / "python"
        stamp = venv / f".installed-{hashlib.sha1((REPO / 'pyproject.toml').read_bytes()).hexdigest()[:12]}"
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input"]
        if not stamp.exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
            subprocess.run([*pip, f"{REPO}[{EXTRAS}]"], check=True, capture_output=True, timeout=900)
            stamp.touch()
        subprocess.run([*pip, "--no-deps", "--force-reinstall", str(REPO)], check=True, capture_output=True,
                       timeout=300)
        for d in (venv.parent.parent, venv.parent):
            d.chmod(0o755)
        return venv / "bin"


def user_ids() -> tuple[int, int]:
    pw = pwd.getpwnam(USER)
    return pw.pw_uid, grp.getgrgid(pw.pw_gid).gr_gid
