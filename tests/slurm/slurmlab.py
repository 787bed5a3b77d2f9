"""A single-node SLURM on this machine, for tests and benchmarks.

``munged`` with a generated key, ``slurmctld`` and ``slurmd`` with a small
``slurm.conf`` (two partitions holding this host, with its CPUs and memory as
``slurmd -C`` reports them: ``debug``, the default, without a time limit, and
``short`` with 5 minutes; no cgroups; every state directory, socket and log
under one directory; free ports). Clients (``sbatch``, ``squeue``, ...) find
it through ``SLURM_CONF`` — see :meth:`SingleNodeSlurm.env`. Everything started
is stopped by :meth:`SingleNodeSlurm.stop`, by process id.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from _services import stop_started

BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo")
PARTITION = "debug"
#: a second partition, with a 5-minute limit
SHORT = "short"


def missing_binaries() -> list[str]:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return [b for b in BINARIES if shutil.which(b, path=search) is None]


def _which(binary: str) -> str:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    found = shutil.which(binary, path=search)
    if found is None:
        raise RuntimeError(f"{binary} not found (apt-get install slurm-wlm munge)")
    return found


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def node_line() -> str:
    """This machine as ``slurmd -C`` describes it (``NodeName=... CPUs=... RealMemory=...``)."""
    out = subprocess.run([_which("slurmd"), "-C"], capture_output=True, text=True, check=True).stdout
    return next(line for line in out.splitlines() if line.startswith("NodeName="))


class SingleNodeSlurm:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.hostname = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket"
        self.slurmctld_log = self.root / "log" / "slurmctld.log"
        self.slurmd_log = self.root / "log" / "slurmd.log"
        self.jobcomp_log = self.root / "log" / "jobcomp.txt"
        self._procs: list[subprocess.Popen] = []
        self.cpus = 0
        self.real_memory = 0

    # -- clients ------------------------------------------------------------------------
    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = str(self.conf)
        path = env.get("PATH", "")
        for d in ("/usr/bin", "/usr/sbin"):
            if d not in path.split(os.pathsep):
                path = path + os.pathsep + d
        env["PATH"] = path
        return env

    def run(self, *argv: str, timeout: float = 30) -> str:
        cp = subprocess.run([_which(argv[0]), *argv[1:]], env=self.env(), capture_output=True, text=True,
                            timeout=timeout)
        if cp.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {cp.returncode}: {cp.stderr.strip()}")
        return cp.stdout

    # -- lifecycle ----------------------------------------------------------------------
    def write_config(self) -> None:
        for d in ("munge", "state", "spool", "log"):
            (self.root / d).mkdir(parents=True, exist_ok=True, mode=0o700)
        node = node_line()
        fields = dict(item.split("=", 1) for item in node.split())
        self.cpus = int(fields["CPUs"])
        self.real_memory = int(fields["RealMemory"])
        ctld_port, d_port = _free_ports(2)
        node = node.replace(f"NodeName={fields['NodeName']}", f"NodeName={self.hostname}")
        r = self.root
        self.conf.write_text(f"""\
ClusterName=seamlesstest
SlurmctldHost={self.hostname}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={self.slurmctld_log}
SlurmdLogFile={self.slurmd_log}
SlurmctldDebug=info
SlurmdDebug=verbose
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp_log}
MinJobAge=600
InactiveLimit=0
KillWait=5
{node} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName={PARTITION} Nodes={self.hostname} Default=YES MaxTime=INFINITE State=UP
PartitionName={SHORT} Nodes={self.hostname} MaxTime=5 State=UP
""")

    def _spawn(self, argv: list[str], log: Path) -> subprocess.Popen:
        with open(log, "ab") as out:
            proc = subprocess.Popen(argv, env=self.env(), stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self._procs.append(proc)
        return proc

    def start(self, timeout: float = 60) -> None:
        self.write_config()
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        m = self.root / "munge"
        self._spawn([_which("munged"), "--foreground", "--force", f"--socket={self.munge_socket}",
                     f"--key-file={key}", f"--pid-file={m}/munged.pid", f"--seed-file={m}/munged.seed",
                     f"--log-file={self.root}/log/munged.log"], self.root / "log" / "munged.out")
        self._wait(lambda: self.munge_socket.exists(), timeout, "munged did not create its socket")
        self._spawn([_which("slurmctld"), "-D", "-i", "-f", str(self.conf)], self.root / "log" / "slurmctld.out")
        self._spawn([_which("slurmd"), "-D", "-f", str(self.conf)], self.root / "log" / "slurmd.out")
        self._wait(self._node_idle, timeout, "the node did not become idle")

    def stop_controller(self) -> None:
        """Stop slurmctld (slurmd and the running jobs stay)."""
        ctld = next(p for p in self._procs if "slurmctld" in str(p.args[0]) and p.poll() is None)
        os.killpg(ctld.pid, signal.SIGTERM)
        ctld.wait(timeout=30)
        self._procs.remove(ctld)

    def start_controller(self, timeout: float = 60) -> None:
        """Start slurmctld again: it recovers its jobs from its state directory."""
        self._spawn([_which("slurmctld"), "-D", "-f", str(self.conf)], self.root / "log" / "slurmctld.out")
        self._wait(self._node_idle, timeout, "the node did not come back after slurmctld restarted")

    def restart_controller(self, timeout: float = 60) -> None:
        self.stop_controller()
        self.start_controller(timeout)

    def _node_idle(self) -> bool:
        for proc in self._procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}: {self.logs()}")
        try:
            out = self.run("sinfo", "-h", "-n", self.hostname, "-o", "%t", timeout=10).strip()
        except (RuntimeError, subprocess.TimeoutExpired):
            return False
        return out in ("idle", "mix", "alloc")

    def _wait(self, ready, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"single-node SLURM: {what} within {timeout} s\n{self.logs()}")
            time.sleep(0.2)

    def logs(self, lines: int = 20) -> str:
        out = []
        for f in sorted((self.root / "log").glob("*")):
            try:
                tail = f.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            out.append(f"--- {f.name}\n" + "\n".join(tail))
        return "\n".join(out)

    def cancel_all(self) -> None:
        try:
            for partition in (PARTITION, SHORT):
                self.run("scancel", "--full", "-p", partition, timeout=10)
        except (RuntimeError, subprocess.TimeoutExpired, OSError):
            pass

    def stop(self) -> None:
        """Cancel every job, then stop slurmd, slurmctld and munged (by process id)."""
        if any(p.poll() is None for p in self._procs):
            self.cancel_all()
        stop_started(self._procs)

    # -- what the tests look at ------------------------------------------------------------
    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld remembers (running or recently finished), as ``scontrol show job`` fields."""
        out = self.run("scontrol", "show", "job", "-o")
        jobs = []
        for line in out.splitlines():
            if not line.startswith("JobId="):
                continue
            job: dict[str, str] = {}
            for item in line.split():
                if "=" in item:
                    k, v = item.split("=", 1)
                    job[k] = v
            jobs.append(job)
        return jobs

    def completed_jobs(self) -> list[dict[str, str]]:
        """The job completion log (``JobCompType=jobcomp/filetxt``): one record per finished job."""
        if not self.jobcomp_log.exists():
            return []
        rows = []
        for line in self.jobcomp_log.read_text().splitlines():
            rows.append(dict(item.split("=", 1) for item in line.split() if "=" in item))
        return rows
