#!/usr/bin/env python
"""Run seamless-transformer 0.6.1's own tests that configure Seamless through ``seamless.config``.

    .venv/bin/python tests/upstream/run_transformer_tests.py [--impl ours|ref|both] [--timeout S]
        [--extra-tests DIR] [--with-daskserver] [--no-loopback-ssh] [--no-fake-conda] [--no-conftest]
        [-k EXPR] [FILE ...]
    .venv/bin/python tests/upstream/run_transformer_tests.py --compare

``--impl ours`` (the default) runs the tests with this repository's ``.venv``
(our seamless-config, editable, plus the Seamless runtime); ``--impl ref`` with
``.venv-ref-runtime``: the reference seamless-config 0.3.2 plus the very same
runtime versions (pinned from ``.venv``), created on first use; ``--impl both``
runs the two one after the other and prints them side by side. ``--compare``
prints that table from the results of earlier runs (``scratch/transformer-tests/
results-<impl>.json``) without running anything.

What is run
-----------
The tests come from the seamless-transformer 0.6.1 sdist, downloaded with
``pip download`` into ``scratch/transformer-tests/`` (git-ignored; kept, its
sha256 checked) and unpacked afresh for every run. The files run
(``SELECTED``) are those that configure Seamless through ``seamless.config``
(stages, ``init()``, ``seamless.yaml`` files, inline and ``~/.seamless``
clusters) or call into ``seamless_config``'s modules, plus the spawn tests.
Every file gets its own pytest process, as upstream's ``run-tests.sh`` does
(from the directory above ``tests/``, with ``tests/`` on ``PYTHONPATH``).

The sdist lacks files upstream keeps beside those tests: the project files
``tests/seamless.yaml`` and ``tests/seamless.profile.yaml`` (project
``myproject``; stages ``spawn-config``, ``spawn-persistent``, ``persistent-test``,
``fingertip``...; cluster ``local``), which ``FIXTURES`` restores, and
``tests/conftest.py``, for which ``CONFTEST`` stands in (a test that follows one
ending in ``seamless.close()`` starts with Seamless open again). It also lacks
the helper scripts ``tests/test_spawn.py`` runs (``minimal-spawn.py``...: those
tests fail everywhere) and upstream's ``tests/dask/`` and ``tests/persistent/``:
give a directory holding those two (e.g. the ``tests/`` of a seamless-transformer
checkout) with ``--extra-tests DIR`` and they are run too (``dask/`` from inside
``tests/dask``, as its ``run-tests.sh`` does), their project files restored when
missing.

The environment
---------------
A private ``HOME`` per run (``scratch/transformer-tests/run-<impl>/home``) whose
``~/.seamless/clusters.yaml`` defines the cluster ``local`` as Seamless's
documentation does (``type: local``, a frontend with *no* ``hostname``;
hashserver, database and jobserver on 127.0.0.1, conda environments
``hashserver``, ``seamless-database``, ``seamless-jobserver``; plus a daskserver
and a local queue for the files of ``tests/dask/``) and names it
``local_cluster`` (the reference's ``execution: spawn`` takes its worker count
from that cluster). Storage lives under the private directory.

Seamless's developers run these tests where ``ssh localhost`` works and conda
exists; the reference relies on both. For a ``type: local`` frontend without
``hostname`` it puts ``hostname: localhost`` in the launch dicts, and
remote-http-launcher then starts the services over SSH, in the named conda
environment (so do the tests' own inline clusters: ``conda: seamless1``). This
machine has neither, so the harness emulates them:

* ``ssh localhost`` (unless ``--no-loopback-ssh``): a private sshd on 127.0.0.1
  (generated host and user keys), and an ``ssh`` wrapper first on ``PATH`` that
  adds ``-F <config>`` mapping ``localhost``/``127.0.0.1`` to it. Its sessions
  get the same private ``HOME`` and ``PATH`` (``environment=`` options), as a
  login to the same machine would.
* conda (unless ``--no-fake-conda``; clusters.yaml then says ``conda: ""``): a
  ``conda`` executable (``info --base``, ``env list --json``, ``run -n ENV``),
  ``etc/profile.d/conda.sh`` (``conda activate ENV``) and remote-http-launcher's
  conda cache, whose environments (``CONDA_ENVS``) all hold the implementation's
  venv.

Services the tests start are stopped after each file: every process whose
environment has the private ``HOME`` or whose command line names the private
directory (those are all descendants of this harness or of its sshd) is
terminated by process group (SIGTERM, then SIGKILL). The sshd is stopped at the end.

Prints one line per test and a summary. Exit status: 0 when every test ran
(whatever its outcome: this is a comparison tool), 2 when the harness itself
could not run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import _services  # noqa: E402  (the test suite's process helpers)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCRATCH = REPO / "scratch" / "transformer-tests"

VERSION = "0.6.1"
SDIST_NAME = f"seamless_transformer-{VERSION}.tar.gz"
SDIST_SHA256 = "2b2f52591d4c520f4b8006b16980d6335071bacfbf11651bf49ccae369222bbe"

REF_CONFIG_VERSION = "0.3.2"
VENVS = {"ours": REPO / ".venv", "ref": REPO / ".venv-ref-runtime"}
#: the runtime installed into .venv-ref-runtime (versions pinned to .venv's)
RUNTIME_PACKAGES = ["seamless-core", "seamless-remote", "seamless-transformer", "hashserver", "seamless-database",
                    "seamless-jobserver", "remote-http-launcher", "seamless-dask", "distributed", "dask-jobqueue",
                    "pytest", "numpy", "tqdm"]

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
SSHD = "/usr/sbin/sshd"
SSH = shutil.which("ssh", path=SYSTEM_PATH) or "/usr/bin/ssh"

#: the sdist's test files that configure Seamless through seamless.config, and the spawn tests
SELECTED = [
    # stages + the project files beside the tests (FIXTURES), cluster `local` from ~/.seamless
    "tests/test_spawn_config.py",
    "tests/test_spawn_persistent.py",
    "tests/test_transformation_checksum.py",
    "tests/test_fingertip.py",
    # seamless.yaml with an inline local cluster written into a temporary project; init() in subprocesses
    "tests/test_cancel_cli.py",
    "tests/test_run_transformation_cli.py",
    # the command-line tools' use of seamless_config (partly monkeypatched)
    "tests/test_cmd_require_config.py",
    "tests/test_download.py",
    "tests/test_upload.py",
    "tests/test_probe_cli.py",
    "tests/test_write_remote_job_mode.py",
    "tests/test_is_cached.py",
    # spawn tests (set_nparallel; spawned workers call set_remote_clients_from_env)
    "tests/test_parallel_spawn.py",
    "tests/test_spawn.py",
    "tests/test_worker_spawn.py",
    "tests/test_transformation_async_spawn.py",
    "tests/test_nested_transformations_multi_spawn.py",
]

#: project files upstream keeps beside its tests and the sdist does not ship (path -> text)
FIXTURES = {
    "tests/seamless.yaml": """\
- project: myproject
- execution: remote

- stage jobserver-test:
    - execution: remote
    - remote: jobserver

- stage simple-remote:
    - execution: remote
    - remote: daskserver

- stage spawn-config:
    - execution: spawn

- stage spawn-persistent:
    - execution: spawn

- stage persistent:
    - execution: process
""",
    "tests/seamless.profile.yaml": """\
- cluster: local

- stage spawn-config:
    - cluster: null

- stage spawn-remote:
    - cluster: local

- stage jobserver-test:
    - cluster: local

- stage persistent-test:
    - cluster: local

- stage fingertip:
    - cluster: local
""",
}
#: tests/conftest.py: upstream's (not in the sdist) lets every test start with Seamless open, even when an
#: earlier test of the file called seamless.close(); this one does the same (--no-conftest: leave it out)
CONFTEST = """\
# Written by seamless-config's tests/upstream/run_transformer_tests.py (the sdist has no conftest.py):
# a test may end with seamless.close(); the next test of the same file starts with Seamless open again.
import pytest


@pytest.fixture(autouse=True)
def _seamless_open_again():
    import seamless
    import seamless.shutdown

    for module, names in ((seamless, ("_closed", "_require_close")),
                          (seamless.shutdown, ("_closed", "_closing"))):
        for name in names:
            if getattr(module, name, False):
                setattr(module, name, False)
    yield
"""

#: the same for --extra-tests (written only when the given directory lacks them)
EXTRA_FIXTURES = {
    "tests/dask/seamless.yaml": """\
- project: seamless-test
- execution: remote
- remote: daskserver

- stage pure-dask:
    - persistent: false

- stage fingertip:
    - execution: process
    - persistent: false
""",
    "tests/dask/seamless.profile.yaml": "- cluster: local\n- nparallel: 4\n",
    "tests/persistent/seamless.yaml": "- project: seamless-test\n- execution: process\n",
}

#: ~/.seamless/clusters.yaml: the cluster `local` of Seamless's docs (a frontend without hostname; hashserver,
#: database and jobserver), also named as `local_cluster` (the cluster whose `workers` execution: spawn starts,
#: whichever cluster is selected). For tests/dask/ (or with --with-daskserver) the frontend also gets the
#: docs' daskserver section and the cluster a queue: with both a jobserver and a daskserver, a project must
#: say `remote:`, which the sdist tests' stages `fingertip` and `persistent-test` do not.
CLUSTERS_YAML = """\
local_cluster: local

local:
  tunnel: false
  type: local
  workers: {workers}
  frontends:
    - hashserver:
        bufferdir: {storage}/buffers
        conda: {conda_hashserver}
        network_interface: 127.0.0.1
        port_start: {p0}
        port_end: {p0_end}
      database:
        database_dir: {storage}/database
        conda: {conda_database}
        network_interface: 127.0.0.1
        port_start: {p1}
        port_end: {p1_end}
      jobserver:
        conda: {conda_jobserver}
        network_interface: 127.0.0.1
        port_start: {p2}
        port_end: {p2_end}
"""
DASKSERVER_YAML = """\
      daskserver:
        network_interface: 127.0.0.1
        port_start: {p3}
        port_end: {p3_end}
  default_queue: local
  queues:
    local:
      conda: {conda_dask}
      walltime: "01:00:00"
      cores: 2
      memory: 4GB
      maximum_jobs: 1
      unknown_task_duration: 1m
      target_duration: 10m
"""


def clusters_yaml(args: argparse.Namespace, storage: Path, daskserver: bool) -> str:
    p = args.port_base
    ports = dict(p0=p, p0_end=p + 99, p1=p + 100, p1_end=p + 199, p2=p + 200, p2_end=p + 299,
                 p3=p + 300, p3_end=p + 399)
    if args.no_fake_conda:  # no conda here: the launcher runs the services from PATH
        conda = dict(conda_hashserver='""', conda_database='""', conda_jobserver='""', conda_dask="seamless-dask")
    else:  # the docs' environment names
        conda = dict(conda_hashserver="hashserver", conda_database="seamless-database",
                     conda_jobserver="seamless-jobserver", conda_dask="seamless-dask")
    text = CLUSTERS_YAML.format(workers=args.workers, storage=storage, **ports, **conda)
    if daskserver:
        text += DASKSERVER_YAML.format(**ports, **conda)
    return text


LEAKY_PREFIXES = ("SEAMLESS_", "REMOTE_HTTP_LAUNCHER", "CONDA", "PYTEST_", "VIRTUAL_ENV", "MAMBA")
LEAKY_NAMES = ("XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "PYTHONPATH", "PYTHONHOME")


class HarnessError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"[transformer-tests] {msg}", flush=True)


# -- the sdist ------------------------------------------------------------------------------------------

def ensure_sdist(python: Path) -> Path:
    sdist_dir = SCRATCH / "sdist"
    sdist = sdist_dir / SDIST_NAME
    if not sdist.exists():
        sdist_dir.mkdir(parents=True, exist_ok=True)
        log(f"downloading the seamless-transformer {VERSION} sdist into {sdist_dir}")
        cp = subprocess.run([str(python), "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                             "--no-deps", "--no-binary", ":all:", f"seamless-transformer=={VERSION}",
                             "-d", str(sdist_dir)], capture_output=True, text=True)
        if cp.returncode != 0 or not sdist.exists():
            raise HarnessError(f"pip download failed:\n{cp.stdout}\n{cp.stderr}")
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise HarnessError(f"{sdist}: sha256 {digest}, expected {SDIST_SHA256} (delete it to download again)")
    return sdist


def unpack_tests(sdist: Path, dest: Path) -> None:
    """The sdist's tests/ into dest/tests/ (fresh)."""
    prefix = f"seamless_transformer-{VERSION}/tests/"
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix) and (m.isfile() or m.isdir())]
        if not any(m.name.endswith(".py") for m in members):
            raise HarnessError(f"{sdist} contains no tests/")
        for m in members:
            m.name = "tests/" + m.name[len(prefix):]
        kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(dest, members=members, **kwargs)


# -- the reference's venv -------------------------------------------------------------------------------

def base_interpreter() -> str:
    cfg = VENVS["ours"] / "pyvenv.cfg"
    if cfg.exists():
        for line in cfg.read_text().splitlines():
            k, _, v = line.partition("=")
            if k.strip() == "executable" and Path(v.strip()).exists():
                return v.strip()
    return getattr(sys, "_base_executable", sys.executable)


def ensure_ref_venv() -> Path:
    """.venv-ref-runtime: seamless-config 0.3.2 first, then the runtime, all pinned to .venv's versions."""
    venv = VENVS["ref"]
    stamp = venv / f".installed-ref-{REF_CONFIG_VERSION}"
    py = venv / "bin" / "python"
    if stamp.exists() and py.exists():
        return py
    ours = VENVS["ours"] / "bin" / "python"
    if not ours.exists():
        raise HarnessError(f"{ours} is missing (make venv): the runtime versions are taken from it")
    log(f"creating {venv} (seamless-config {REF_CONFIG_VERSION} + the runtime of .venv)")
    freeze = subprocess.run([str(ours), "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
                            capture_output=True, text=True, check=True).stdout
    constraints = venv.parent / "scratch" / "transformer-tests" / "ref-constraints.txt"
    constraints.parent.mkdir(parents=True, exist_ok=True)
    constraints.write_text("".join(line + "\n" for line in freeze.splitlines()
                                   if line and not line.lower().startswith(("seamless-config", "seamless_config"))))
    if not py.exists():
        subprocess.run([base_interpreter(), "-m", "venv", str(venv)], check=True)
    pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-c", str(constraints)]
    subprocess.run([*pip, f"seamless-config=={REF_CONFIG_VERSION}"], check=True)
    subprocess.run([*pip, *RUNTIME_PACKAGES], check=True)
    version = _config_version(py)
    if version != REF_CONFIG_VERSION:
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps",
                        f"seamless-config=={REF_CONFIG_VERSION}"], check=True)
    stamp.touch()
    return py


# -- processes ------------------------------------------------------------------------------------------

def stop_private_processes(home: Path, root: Path, keep: set[int] = frozenset(), grace: float = 8) -> list[str]:
    """SIGTERM (then SIGKILL) the process groups of every process with HOME=home or naming root;
    processes in the groups of ``keep`` are signalled one by one."""
    mine = {os.getpid(), os.getppid(), *keep}
    victims = {}
    for pid, pgid, cmd in _services.processes():
        if pid in mine or pgid == os.getpgrp():
            continue
        if str(root) in cmd or _services.home_of(pid) == str(home):
            victims[pid] = (pgid, cmd)
    keep_groups = {_services.pgid(p) for p in keep if not _services.zombie(p)}
    groups = {pg for pg, _ in victims.values()} - keep_groups
    for pid, (pg, _) in victims.items():
        if pg in keep_groups:
            _kill(pid, signal.SIGTERM)
    _services.stop_groups(groups, grace)
    for pid, (pg, _) in victims.items():
        if pg in keep_groups and not _services.zombie(pid):
            _kill(pid, signal.SIGKILL)
    return [cmd for _, cmd in victims.values()]


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


_killpg = _services.killpg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- `ssh localhost` ------------------------------------------------------------------------------------

class LoopbackSsh:
    """A private sshd on 127.0.0.1 and an ``ssh`` wrapper that sends ``localhost`` there."""

    def __init__(self, root: Path, home: Path, path: str, wrapper_dir: Path) -> None:
        self.root = root
        self.home = home
        self.path = path  # the sessions' PATH
        self.port = free_port()
        self.wrapper_dir = wrapper_dir
        self.proc: subprocess.Popen | None = None

    def start(self) -> LoopbackSsh:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.getuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        for name in ("host_ed25519", "user_ed25519"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(self.root / name)],
                           check=True, stdin=subprocess.DEVNULL)
        env_opts = ",".join(f'environment="{k}={v}"' for k, v in
                            {"HOME": str(self.home), "PATH": self.path}.items())
        (self.root / "authorized_keys").write_text(
            f"{env_opts} {(self.root / 'user_ed25519.pub').read_text().strip()}\n")
        (self.root / "sshd_config").write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.root / 'host_ed25519'}",
            f"PidFile {self.root / 'sshd.pid'}", f"AuthorizedKeysFile {self.root / 'authorized_keys'}",
            "StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes", "PermitRootLogin prohibit-password", "PermitUserEnvironment yes",
            "AllowTcpForwarding yes", "MaxSessions 64", "MaxStartups 64", "LogLevel INFO", ""]))
        user = pwd.getpwuid(os.getuid()).pw_name
        (self.root / "ssh_config").write_text("\n".join([
            "Host localhost 127.0.0.1 ::1", "  HostName 127.0.0.1", f"  Port {self.port}", f"  User {user}",
            f"  IdentityFile {self.root / 'user_ed25519'}", "  IdentitiesOnly yes",
            "Host *", "  StrictHostKeyChecking no", "  UserKnownHostsFile /dev/null", "  LogLevel ERROR",
            "  IdentityAgent none", "  BatchMode yes", ""]))
        self.wrapper_dir.mkdir(exist_ok=True)
        wrapper = self.wrapper_dir / "ssh"
        wrapper.write_text(f"#!/bin/sh\nexec {SSH} -F {self.root / 'ssh_config'} \"$@\"\n")
        wrapper.chmod(0o755)
        log_file = self.root / "sshd.log"
        with open(log_file, "wb") as logf:
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.root / "sshd_config")],
                                         stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise HarnessError(f"sshd exited with {self.proc.returncode}: {log_file.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise HarnessError(f"sshd did not listen on {self.port}") from None
                time.sleep(0.05)
        cp = subprocess.run([str(wrapper), "localhost", "echo", "$HOME"], capture_output=True, text=True, timeout=30,
                            stdin=subprocess.DEVNULL)
        if cp.returncode != 0 or cp.stdout.strip() != str(self.home):
            raise HarnessError(f"ssh localhost does not work through the private sshd: {cp.stdout}{cp.stderr}")
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        _killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None


# -- conda ----------------------------------------------------------------------------------------------

#: the conda environments the tests name: the docs' (clusters.yaml) and seamless1 (the cancel and
#: run-transformation tests' inline clusters)
CONDA_ENVS = ("base", "hashserver", "seamless-database", "seamless-jobserver", "seamless-dask", "seamless1")

CONDA_EXE = """\
#!/bin/sh
# a stand-in for conda: every environment of {base}/envs is the implementation's venv
env_dir() {{ if [ "$1" = base ]; then echo "{base}"; else echo "{base}/envs/$1"; fi; }}
case "$1 $2" in
  "info --base") echo "{base}" ;;
  "env list"|"info --envs") printf '{{"envs": [%s]}}\\n' "$(for d in {base} {base}/envs/*; do printf '"%s",' "$d"; done | sed 's/,$//')" ;;
  activate*|deactivate*) echo "CondaError: Run 'conda init' before 'conda activate'" >&2; exit 1 ;;
  run*)
    shift; dir="$(env_dir base)"
    while [ $# -gt 0 ]; do
      case "$1" in
        -n|--name) dir="$(env_dir "$2")"; shift 2 ;;
        -p|--prefix) dir="$2"; shift 2 ;;
        --no-capture-output|--live-stream|-s|--no-banner) shift ;;
        --) shift; break ;;
        *) break ;;
      esac
    done
    [ -d "$dir" ] || {{ echo "EnvironmentLocationNotFound: $dir" >&2; exit 1; }}
    PATH="$dir/bin:$PATH" CONDA_PREFIX="$dir" exec "$@" ;;
  *) echo "fake conda: unsupported: $*" >&2; exit 2 ;;
esac
"""

CONDA_SH = """\
# a stand-in for conda's shell integration (sourced): activate puts the environment's bin first on PATH
conda() {{
  case "$1" in
    activate)
      _env="${{2:-base}}"
      if [ "$_env" = base ]; then _dir="{base}"; else _dir="{base}/envs/$_env"; fi
      if [ ! -d "$_dir" ]; then echo "EnvironmentNameNotFound: Could not find conda environment: $_env" >&2; return 1; fi
      export PATH="$_dir/bin:$PATH" CONDA_DEFAULT_ENV="$_env" CONDA_PREFIX="$_dir"
      ;;
    deactivate) ;;
    *) command conda "$@" ;;
  esac
}}
"""


def setup_fake_conda(base: Path, bin_dir: Path, venv_bin: Path, home: Path) -> None:
    """Emulate a conda installation whose environments (CONDA_ENVS) all hold the implementation's venv:
    a ``conda`` executable first on PATH, ``etc/profile.d/conda.sh`` and remote-http-launcher's
    conda cache (``~/.remote-http-launcher/conda-setup.json``) pointing at it."""
    (base / "etc" / "profile.d").mkdir(parents=True)
    (base / "bin").symlink_to(venv_bin)
    for env in CONDA_ENVS[1:]:
        (base / "envs" / env).mkdir(parents=True)
        (base / "envs" / env / "bin").symlink_to(venv_bin)
    (base / "etc" / "profile.d" / "conda.sh").write_text(CONDA_SH.format(base=base))
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / "conda"
    exe.write_text(CONDA_EXE.format(base=base))
    exe.chmod(0o755)
    cache = home / ".remote-http-launcher" / "conda-setup.json"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"conda_source": str(base / "etc" / "profile.d" / "conda.sh"),
                                 "conda_base": str(base),
                                 "envs": [str(base)] + [str(base / "envs" / e) for e in CONDA_ENVS[1:]]}) + "\n")


# -- running --------------------------------------------------------------------------------------------

@dataclass
class Result:
    test: str
    outcome: str  # passed | failed | error | skipped | xfailed | xpassed | timeout | no-tests
    message: str = ""
    seconds: float = 0.0


def parse_junit(xml_file: Path, rel: str) -> list[Result]:
    results = []
    try:
        tree = ET.parse(xml_file)
    except (OSError, ET.ParseError):
        return results
    for case in tree.iter("testcase"):
        name = case.get("name", "?")
        secs = float(case.get("time") or 0)
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
                message = _error_line(child.text or "") or child.get("message") or ""
            elif child.tag == "skipped":
                outcome = "xfailed" if (child.get("type") == "pytest.xfail") else "skipped"
                message = child.get("message") or ""
        # a collection error is a testcase without classname, named after the module
        test = f"{rel}::{name}" if case.get("classname") else f"{rel}::<collection>"
        results.append(Result(test, outcome, _one_line(message), secs))
    return results


def _error_line(text: str) -> str:
    """The last ``E   ...`` line of a pytest traceback (the exception), else the last line."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    e_lines = [ln[1:].strip() for ln in lines if ln.startswith("E ")]
    # the first E line of the last E block names the exception
    if e_lines:
        last_block_start = max(i for i, ln in enumerate(lines) if ln.startswith("E ")
                               and (i == 0 or not lines[i - 1].startswith("E ")))
        return lines[last_block_start][1:].strip()[:400]
    return (lines[-1] if lines else "")[:400]


def _one_line(message: str) -> str:
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    return (lines[0] if lines else "")[:400]


def write_files(root: Path, files: dict[str, str], only_missing: bool = False) -> None:
    for rel, text in files.items():
        p = root / rel
        if only_missing and (p.exists() or not p.parent.exists()):
            continue
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def run_impl(impl: str, args: argparse.Namespace) -> list[Result]:
    python = ensure_ref_venv() if impl == "ref" else VENVS["ours"] / "bin" / "python"
    if not python.exists():
        raise HarnessError(f"{python} is missing (make venv)")
    venv_bin = python.parent
    sdist = ensure_sdist(VENVS["ours"] / "bin" / "python" if (VENVS["ours"] / "bin" / "python").exists() else python)

    root = SCRATCH / f"run-{impl}"
    if root.exists():
        stop_private_processes(root / "home", root)
        shutil.rmtree(root)
    home, storage, junit_dir = root / "home", root / "storage", root / "junit"
    for d in (home / ".seamless", storage, junit_dir, root / "tmp"):
        d.mkdir(parents=True)
    unpack_tests(sdist, root)
    write_files(root, FIXTURES)
    if not args.no_conftest:
        # plus the one adapter (tests/upstream/adapter_conftest.py) in its on-write mode: a test that resets
        # 0.3.2's private globals (test_probe_cli.py) resets our session instead; against 0.3.2 it does nothing
        adapter = (Path(__file__).parent / "adapter_conftest.py").read_text().replace(
            "from __future__ import annotations\n", "")
        write_files(root, {"tests/conftest.py": CONFTEST + "\n\n" + adapter})
    # pytest must not take this repository's pyproject.toml (addopts, doctests) as its configuration
    (root / "pytest.ini").write_text("[pytest]\n")
    files = list(SELECTED)
    if args.extra_tests:
        extra = Path(args.extra_tests).resolve()
        for sub in ("dask", "persistent"):
            if (extra / sub).is_dir():
                shutil.copytree(extra / sub, root / "tests" / sub, dirs_exist_ok=True)
                files += sorted(f"tests/{sub}/{p.name}" for p in (root / "tests" / sub).glob("test_*.py"))
            else:
                log(f"--extra-tests: {extra / sub} does not exist, skipped")
        write_files(root, EXTRA_FIXTURES, only_missing=True)
    if args.files:
        wanted = [f if f.startswith("tests/") else f"tests/{f}" for f in args.files]
        files = [f for f in files if f in wanted or any(f.endswith("/" + w.split("/")[-1]) for w in wanted)]
        if not files:
            raise HarnessError(f"none of {args.files} is among the selected test files")

    ssh = None
    path = f"{venv_bin}:{SYSTEM_PATH}"
    if not args.no_fake_conda:
        setup_fake_conda(root / "conda", root / "bin", venv_bin, home)
        path = f"{root / 'bin'}:{path}"
    if not args.no_loopback_ssh:
        if not Path(SSHD).exists():
            raise HarnessError(f"{SSHD} is missing (make sshd-deps), or pass --no-loopback-ssh")
        ssh = LoopbackSsh(root / "sshd", home, path, root / "bin").start()
        if not path.startswith(f"{root / 'bin'}:"):
            path = f"{root / 'bin'}:{path}"

    env = {k: v for k, v in os.environ.items() if not k.startswith(LEAKY_PREFIXES) and k not in LEAKY_NAMES}
    env.update(HOME=str(home), PATH=path, PYTHONPATH=str(root / "tests"), PYTHONUNBUFFERED="1",
               TMPDIR=str(root / "tmp"), SEAMLESS_CONFIG_ADAPTER="on-write")

    results: list[Result] = []
    log(f"{impl}: {python} (seamless-config {_config_version(python)}), HOME={home}, {len(files)} test files")
    try:
        for rel in files:
            results += run_file(rel, python, root, env, junit_dir, args, keep={ssh.proc.pid} if ssh and ssh.proc else set())
    finally:
        stop_private_processes(home, root, keep={ssh.proc.pid} if ssh and ssh.proc else set())
        if ssh:
            ssh.stop()
        stop_private_processes(home, root)
    (SCRATCH / f"results-{impl}.json").write_text(json.dumps([asdict(r) for r in results], indent=1))
    return results


def _config_version(python: Path) -> str:
    """The seamless-config version python sees (from "/": this repository's checkout must not shadow it)."""
    cp = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('seamless-config'))"],
                        capture_output=True, text=True, cwd="/")
    return cp.stdout.strip() or "?"


def run_file(rel: str, python: Path, root: Path, env: dict, junit_dir: Path, args: argparse.Namespace,
             keep: set[int]) -> list[Result]:
    test_path = root / rel
    with_dask = args.with_daskserver or rel.startswith("tests/dask/")
    (root / "home" / ".seamless" / "clusters.yaml").write_text(clusters_yaml(args, root / "storage", with_dask))
    # upstream: tests/*.py from the directory above tests/; tests/dask/*.py from inside tests/dask
    cwd = test_path.parent if rel.startswith("tests/dask/") else root
    target = test_path.name if cwd == test_path.parent else rel
    xml = junit_dir / (rel.replace("/", "__") + ".xml")
    log_file = junit_dir / (rel.replace("/", "__") + ".log")
    argv = [str(python), "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-q", "-o", "junit_family=xunit2",
            f"--junitxml={xml}", target]
    if args.k:
        argv += ["-k", args.k]
    start = time.monotonic()
    timed_out = False
    with open(log_file, "w") as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _killpg(proc.pid, signal.SIGABRT)
            try:
                rc = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _killpg(proc.pid, signal.SIGKILL)
                rc = proc.wait()
    _killpg(proc.pid, signal.SIGKILL)  # stragglers of the pytest process group
    elapsed = time.monotonic() - start
    stopped = stop_private_processes(root / "home", root, keep=keep)
    results = parse_junit(xml, rel)
    if timed_out:
        done = {r.test for r in results}
        results.append(Result(f"{rel}::<file>", "timeout", f"killed after {args.timeout} s"
                              + (f" ({len(done)} tests reported before)" if done else ""), elapsed))
    elif not results:
        tail = log_file.read_text(errors="replace").strip().splitlines()[-1:] if log_file.exists() else []
        results.append(Result(f"{rel}::<file>", "no-tests", f"pytest exit {rc}: {' '.join(tail)}", elapsed))
    for r in results:
        print(f"  {r.outcome.upper():8} {r.test}" + (f"  -- {r.message}" if r.message and r.outcome != "passed" else ""),
              flush=True)
    if stopped:
        log(f"    stopped {len(stopped)} leftover process(es) after {rel}")
    return results


# -- reporting ------------------------------------------------------------------------------------------

def summarize(results: list[Result]) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    passed, failed = counts.get("passed", 0), sum(v for k, v in counts.items() if k not in ("passed", "skipped"))
    line = f"{passed} passed, {failed} failed"
    if counts.get("skipped"):
        line += f", {counts['skipped']} skipped"
    return line


def load(impl: str) -> list[Result] | None:
    f = SCRATCH / f"results-{impl}.json"
    if not f.exists():
        return None
    return [Result(**d) for d in json.loads(f.read_text())]


def compare(ours: list[Result], ref: list[Result]) -> None:
    o = {r.test: r for r in ours}
    f = {r.test: r for r in ref}
    tests = list(dict.fromkeys([*(r.test for r in ref), *(r.test for r in ours)]))
    width = max((len(t) for t in tests), default=10)
    print(f"\n{'test':{width}}  {'ref':8}  {'ours':8}")
    regressions = []
    for t in tests:
        ro, rf = o.get(t), f.get(t)
        a, b = (rf.outcome if rf else "-"), (ro.outcome if ro else "-")
        mark = "  <-- ours worse" if a == "passed" and b != "passed" else ""
        print(f"{t:{width}}  {a:8}  {b:8}{mark}")
        if mark:
            regressions.append((t, ro.message if ro else "not run"))
    print(f"\nref:  {summarize(ref)}\nours: {summarize(ours)}")
    if regressions:
        print("\npass with the reference, not with ours:")
        for t, msg in regressions:
            print(f"  {t}: {msg}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--impl", choices=("ours", "ref", "both"), default="ours")
    ap.add_argument("--compare", action="store_true", help="print ours vs ref from the last runs' results")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per test file (default 600)")
    ap.add_argument("--extra-tests", metavar="DIR", help="a directory with upstream's dask/ and persistent/")
    ap.add_argument("--no-loopback-ssh", action="store_true", help="do not emulate a working `ssh localhost`")
    ap.add_argument("--no-conftest", action="store_true",
                    help="no tests/conftest.py (then a test after one that closed Seamless fails)")
    ap.add_argument("--no-fake-conda", action="store_true",
                    help='do not emulate conda (clusters.yaml then says conda: "" instead of the docs\' names)')
    ap.add_argument("--port-base", type=int, default=45100, help="first of the 400 ports of cluster `local`")
    ap.add_argument("--with-daskserver", action="store_true",
                    help="give cluster `local` a daskserver for every file (default: only for tests/dask/)")
    ap.add_argument("--workers", type=int, default=4, help="`workers:` of cluster `local` (docs: 4)")
    ap.add_argument("-k", help="pytest -k expression")
    ap.add_argument("files", nargs="*", help="restrict to these test files (names as in SELECTED)")
    args = ap.parse_args(argv)
    if args.compare:
        ours, ref = load("ours"), load("ref")
        if ours is None or ref is None:
            print("run --impl ours and --impl ref (or both) first", file=sys.stderr)
            return 2
        compare(ours, ref)
        return 0
    impls = ["ours", "ref"] if args.impl == "both" else [args.impl]
    try:
        runs = {}
        for impl in impls:
            runs[impl] = run_impl(impl, args)
            print(f"{impl}: {summarize(runs[impl])}", flush=True)
    except HarnessError as exc:
        print(f"run_transformer_tests: {exc}", file=sys.stderr)
        return 2
    if args.impl == "both":
        compare(runs["ours"], runs["ref"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
