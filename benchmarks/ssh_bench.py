"""SSH bring-up benchmarks (issue 4): ``seamless-init`` against a frontend reached over SSH, ours and 0.3.2.

    .venv/bin/python benchmarks/ssh_bench.py [--reps 5] [--no-tunnel-variant] [--oracle-rt-venv .venv-oracle-rt]

A private ``sshd`` on 127.0.0.1 (generated host and user keys, as tests/sshd.py
does) serves two aliases, one per implementation. Each alias has its own key,
and the key's ``environment=`` options in ``authorized_keys`` give its sessions
their own PATH (ours: ``.venv/bin``; the reference: ``.venv-oracle-rt/bin``,
which holds seamless-config 0.3.2, remote-http-launcher and the service
binaries), server-side HOME and ``REMOTE_HTTP_LAUNCHER_DIR``. The cluster is
``type: local`` with one frontend ``hostname: 127.0.0.1``, ``ssh_hostname:
<alias>``, hashserver + database (a jobserver needs conda for 0.3.2, which
this machine lacks), ``tunnel: false`` and (unless ``--no-tunnel-variant``)
``tunnel: true``.

How each implementation finds the alias: ours through ``SEAMLESS_SSH_CONFIG``
(``ssh -F <file>``). 0.3.2 runs plain ``ssh <alias> ...`` and reads no config
of ours; OpenSSH takes ``~/.ssh/config`` from the passwd home directory, not
``$HOME``, so the reference gets a wrapper ``ssh`` first on its PATH (a shell
script in the temporary directory) that adds ``-F <file>``. Ours gets a wrapper
too, without ``-F``. Both wrappers only count their invocations (the ``ssh``
processes started) and ``exec /usr/bin/ssh``.

Measured, each run a new ``seamless-init`` process, medians with min and max:

* cold: nothing running (services, tunnel monitors and SSH masters stopped,
  state files on both sides removed; storage directories kept);
* warm: right after the cold run, every service running. Ours' SSH master of
  the cold run is closed first (``ssh -O exit``), so that a warm run after more
  than ``ControlPersist=60s`` is what is measured (as it happens, neither
  implementation uses SSH for a warm init: the client connection files and an
  HTTP handshake suffice).

SSH connections are counted by the server: ``Accepted publickey`` lines in
the sshd log, per key (so per implementation), during the run. ``ssh``
processes are counted by the wrappers. Results go to
``benchmarks/results/ssh.{json,md}``; everything started is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from init_bench import ensure_ref_venv  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
from _services import killpg  # noqa: E402
from sshd import CLIENT_DEFAULTS, client_host, keygen, launch_sshd, stop_sshd, write_sshd_config  # noqa: E402

SSHD = "/usr/sbin/sshd"
SSH = "/usr/bin/ssh"
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
PORT_BASE = 63000  # service ports 63000-63399: outside the ephemeral range and the tests' blocks
IMPLS = ("ours", "reference_0.3.2")

CLUSTERS = """\
benchssh:
  type: local
  tunnel: {tunnel}
  workers: 1
  frontends:
    - hostname: 127.0.0.1
      ssh_hostname: {alias}
      hashserver:
        bufferdir: {remote}/buffers
        network_interface: 127.0.0.1
        port_start: {p0}
        port_end: {p1}
      database:
        database_dir: {remote}/db
        network_interface: 127.0.0.1
        port_start: {p2}
        port_end: {p3}
"""
PROJECT = "- project: bench\n- cluster: benchssh\n- execution: process\n"


def stats(samples: list[float]) -> dict:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples),
            "samples": samples}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sshd:
    """A private sshd with one alias (and key) per implementation."""

    def __init__(self, root: Path, accounts: dict[str, tuple[Path, Path]], token: str) -> None:
        """``accounts``: account name -> (venv whose bin is on the sessions' PATH, the sessions' HOME)."""
        self.root = root
        self.port = free_port()
        self.config_file = root / "ssh_config"
        self.log_file = root / "sshd.log"
        self.aliases = {name: f"sshbench-{token}-{name}" for name in accounts}
        self.accounts = accounts
        self.fingerprints: dict[str, str] = {}
        self.proc: subprocess.Popen | None = None

    def start(self) -> Sshd:
        if os.getuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        host_key = keygen(self.root / "host_ed25519")
        lines, client = [], []
        user = pwd.getpwuid(os.getuid()).pw_name
        for name, (venv, home) in self.accounts.items():
            key = keygen(self.root / f"key-{name}")
            fp = subprocess.run(["ssh-keygen", "-l", "-f", str(key.with_suffix(".pub"))], check=True,
                                capture_output=True, text=True).stdout.split()[1]
            self.fingerprints[name] = fp
            env = {"PATH": f"{venv / 'bin'}:{SYSTEM_PATH}", "HOME": str(home),
                   "REMOTE_HTTP_LAUNCHER_DIR": str(home / ".remote-http-launcher")}
            opts = ",".join(f'environment="{k}={v}"' for k, v in env.items())
            lines.append(f"{opts} {key.with_suffix('.pub').read_text().strip()}")
            client += client_host(self.aliases[name], self.port, user, key)
        self.config_file.write_text("\n".join(client + CLIENT_DEFAULTS))
        (self.root / "authorized_keys").write_text("\n".join(lines) + "\n")
        self.proc = launch_sshd(write_sshd_config(self.root, self.port, host_key), self.port, self.log_file)
        return self

    def accepted(self, name: str) -> int:
        """Connections authenticated so far with this implementation's key."""
        fp = self.fingerprints[name]
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return 0
        return sum(1 for ln in text.splitlines() if "Accepted publickey" in ln and fp in ln)

    def stop(self) -> None:
        if self.proc is not None:
            stop_sshd(self.proc)
            self.proc = None


class Side:
    """One implementation in one variant: client home, server home, wrapper ssh, cluster definition."""

    def __init__(self, root: Path, name: str, venv: Path, port0: int, tunnel: bool) -> None:
        self.root = root
        self.name = name
        self.tunnel = tunnel
        self.account = f"{'ours' if name == 'ours' else 'ref'}-{'tunnel' if tunnel else 'direct'}"
        self.venv = venv
        self.port0 = port0
        self.home = root / "home"
        self.remote_home = root / "rhome"
        self.project = root / "proj"
        # 0.3.2 takes a client-side REMOTE_HTTP_LAUNCHER_DIR for the *server* directory (and sends that
        # path to the frontend), so it runs without one: its client files go to $HOME/.remote-http-launcher
        self.local_rhl = root / "rhl" if name == "ours" else self.home / ".remote-http-launcher"
        self.control_dir = root / "ctl"
        self.wrapper_dir = root / "bin"
        self.ssh_count = root / "ssh-invocations"
        for d in (self.home / ".seamless", self.remote_home / ".remote-http-launcher", self.project,
                  self.local_rhl, self.wrapper_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.control_dir.mkdir(mode=0o700, exist_ok=True)

    def configure(self, sshd: Sshd) -> None:
        ports = {f"p{i}": self.port0 + 10 * (i // 2) + (9 if i % 2 else 0) for i in range(4)}
        (self.home / ".seamless" / "clusters.yaml").write_text(CLUSTERS.format(
            tunnel="true" if self.tunnel else "false", alias=sshd.aliases[self.account], remote=self.remote_home, **ports))
        (self.project / "seamless.yaml").write_text(PROJECT)
        extra = "" if self.name == "ours" else f" -F {sshd.config_file}"
        wrapper = self.wrapper_dir / "ssh"
        wrapper.write_text(f"#!/bin/sh\necho x >> {self.ssh_count}\nexec {SSH}{extra} \"$@\"\n")
        wrapper.chmod(0o755)
        self.ssh_config = sshd.config_file

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SEAMLESS_", "REMOTE_HTTP_LAUNCHER", "CONDA", "VIRTUAL_ENV"))
               and k not in ("XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "PYTHONPATH")}
        env.update(HOME=str(self.home), PATH=f"{self.wrapper_dir}:{self.venv / 'bin'}:{SYSTEM_PATH}",
                   SEAMLESS_CONFIG_CACHE=str(self.root / "cache"))
        if self.name == "ours":
            env.update(REMOTE_HTTP_LAUNCHER_DIR=str(self.local_rhl), SEAMLESS_SSH_CONFIG=str(self.ssh_config),
                       SEAMLESS_SSH_CONTROL_DIR=str(self.control_dir))
        return env

    def ssh_invocations(self) -> int:
        try:
            return len(self.ssh_count.read_text().splitlines())
        except OSError:
            return 0

    def close_masters(self) -> None:
        """End ours' SSH masters (ControlPersist) so that the next run opens its connection anew."""
        for sock in list(self.control_dir.glob("*")):
            if sock.is_socket():
                subprocess.run([SSH, "-o", f"ControlPath={sock}", "-O", "exit", "x"], capture_output=True,
                               timeout=10, stdin=subprocess.DEVNULL)

    def stop_all(self) -> None:
        """Stop every process of this side (services, tunnel monitors, ssh clients) and remove the state files.

        A process is this side's when its command line or environment names this side's directory
        (services: their status file and HOME; monitors and ssh clients: HOME).
        """
        self.close_masters()
        me = os.getpgrp()
        needle = str(self.root)
        groups = {pgid for pid, _ppid, pgid, text in _processes()
                  if needle in text and pid != os.getpid()}
        groups.discard(me)
        for g in groups:
            killpg(g, signal.SIGTERM)
        deadline = time.monotonic() + 8
        while groups and time.monotonic() < deadline:
            alive = {pgid for _p, _pp, pgid, _t in _processes()}
            if not groups & alive:
                break
            time.sleep(0.1)
        for g in groups:
            killpg(g, signal.SIGKILL)
        for d in (self.remote_home / ".remote-http-launcher", self.local_rhl):
            for sub in ("server", "client"):
                for f in (d / sub).glob("*") if (d / sub).exists() else []:
                    if f.is_file():
                        f.unlink()


def run_init(side: Side, sshd: Sshd) -> tuple[float, int, int]:
    """One ``seamless-init``: seconds, SSH connections accepted, ssh processes started."""
    conn0, inv0 = sshd.accepted(side.account), side.ssh_invocations()
    out = side.root / "last-run.out"
    with open(out, "wb") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(side.venv / "bin" / "seamless-init")], cwd=side.project, env=side.env(),
                                stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise RuntimeError(f"{side.name}: seamless-init timed out; output in {out}") from None
        dt = time.perf_counter() - t0
    time.sleep(0.2)  # let sshd write its log lines
    if rc != 0:
        raise RuntimeError(f"{side.name}: seamless-init exited {rc}:\n{out.read_text(errors='replace')[-4000:]}")
    return dt, sshd.accepted(side.account) - conn0, side.ssh_invocations() - inv0


def _processes():
    """(pid, ppid, pgid, cmdline + environ) of every live process."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[-1].split()
            if fields[0] == "Z":
                continue
            with open(f"/proc/{d}/cmdline", "rb") as f:
                text = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            try:
                with open(f"/proc/{d}/environ", "rb") as f:
                    text += " " + f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                pass
        except (OSError, IndexError):
            continue
        yield int(d), int(fields[1]), int(fields[2]), text


def measure(side: Side, sshd: Sshd, reps: int, label: str) -> dict:
    rows: dict[str, dict[str, list]] = {}

    def add(kind: str, sample: tuple[float, int, int]) -> None:
        r = rows.setdefault(kind, {"seconds": [], "connections": [], "ssh_processes": []})
        for k, v in zip(("seconds", "connections", "ssh_processes"), sample, strict=True):
            r[k].append(v)

    for _ in range(reps):
        side.stop_all()
        add("cold", run_init(side, sshd))
        side.close_masters()
        add("warm", run_init(side, sshd))
        print(f"{label} {side.name}: cold {rows['cold']['seconds'][-1]:.2f} s "
              f"({rows['cold']['connections'][-1]} connections, {rows['cold']['ssh_processes'][-1]} ssh processes), "
              f"warm {rows['warm']['seconds'][-1]:.2f} s ({rows['warm']['connections'][-1]} connections)", flush=True)
    side.stop_all()
    return {kind: {"seconds": stats(r["seconds"]), "connections": stats(r["connections"]),
                   "ssh_processes": stats(r["ssh_processes"])} for kind, r in rows.items()}


def markdown(results: dict, reps: int, errors: dict[str, str]) -> str:
    lines = ["# `seamless-init` against an SSH frontend (issue 4)", "",
             f"Medians of {reps} runs, min–max in brackets; each run a new `seamless-init` process. "
             "A private sshd on 127.0.0.1; cluster `type: local`, one frontend `hostname: 127.0.0.1` + "
             "`ssh_hostname: <alias>`, hashserver + database. *cold*: nothing running, state files removed; "
             "*warm*: right after, everything running (ours' SSH master closed first; neither implementation "
             "uses SSH for a warm init: client connection files and an HTTP handshake suffice). "
             "Tunnels (`tunnel: true`): one local forward per service, each its own SSH connection in both. "
             "*connections*: `Accepted publickey` lines in the sshd log for that implementation's key; "
             "*ssh processes*: `ssh` invocations counted by a wrapper on PATH.", ""]
    for variant, per_impl in results.items():
        lines += [f"## {variant}", "",
                  "| measurement | ours | reference 0.3.2 | ratio |", "| --- | --- | --- | --- |"]
        ours, ref = per_impl.get("ours"), per_impl.get("reference_0.3.2")
        for kind in ("cold", "warm"):
            o = ours.get(kind) if ours else None
            r = ref.get(kind) if ref else None

            def sec(x):
                return f"{x['median']:.2f} s ({x['min']:.2f}–{x['max']:.2f})" if x else "—"

            def cnt(x, field):
                if not x:
                    return "—"
                s = x[field]
                return f"{s['median']:g}" + (f" ({s['min']:g}–{s['max']:g})" if s["min"] != s["max"] else "")

            ratio = f"{o['seconds']['median'] / r['seconds']['median']:.2f}" if o and r else "—"
            lines.append(f"| {kind} init | {sec(o and o['seconds'])} | {sec(r and r['seconds'])} | {ratio} |")
            lines.append(f"| {kind}: SSH connections | {cnt(o, 'connections')} | {cnt(r, 'connections')} | |")
            lines.append(f"| {kind}: ssh processes | {cnt(o, 'ssh_processes')} | {cnt(r, 'ssh_processes')} | |")
        lines.append("")
    lines += ["## Notes", "",
              "- 0.3.2 runs plain `ssh <alias> ...` and reads no SSH config of ours (OpenSSH takes `~/.ssh/config` "
              "from the passwd home, not `$HOME`), so it runs with a wrapper `ssh` first on PATH that adds "
              "`-F <file>`; ours uses `SEAMLESS_SSH_CONFIG`. Both wrappers count invocations and exec "
              "`/usr/bin/ssh`.",
              "- Ours: all `ssh` calls of a cold init share one connection (ControlMaster); with tunnels each "
              "service's forward is one more connection. 0.3.2: every `ssh` process is a connection of its own; "
              "its count varies with the status polls made while a service starts.",
              "- 0.3.2 runs without `REMOTE_HTTP_LAUNCHER_DIR` on the client side: it sends that client-side "
              "variable to the frontend as the server directory (the frontend's `rhl-launch-service` then "
              "refuses the status file). Each session's server-side `REMOTE_HTTP_LAUNCHER_DIR` comes from its key.",
              "- No jobserver: 0.3.2 requires conda for a jobserver, which this machine lacks.", ""]
    if errors:
        lines += ["## What did not run", ""]
        lines += [f"- {k}: {v}" for k, v in errors.items()]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--no-tunnel-variant", action="store_true", help="only tunnel: false")
    ap.add_argument("--ours-venv", default=str(ROOT / ".venv"))
    ap.add_argument("--oracle-rt-venv", default=str(ROOT / ".venv-oracle-rt"))
    args = ap.parse_args(argv)
    if not os.path.exists(SSHD) or not os.path.exists(SSH):
        print(f"{SSHD} or {SSH} missing (make sshd-deps): SSH benchmark skipped", file=sys.stderr)
        return 0
    venvs = {"ours": Path(args.ours_venv).absolute(),
             "reference_0.3.2": ensure_ref_venv(Path(args.oracle_rt_venv)).absolute()}
    variants = [("tunnel: false", False)] + ([] if args.no_tunnel_variant else [("tunnel: true", True)])

    results: dict[str, dict] = {}
    errors: dict[str, str] = {}
    # short path: ours' control sockets live below it (108-byte limit)
    tmp = Path(tempfile.mkdtemp(prefix="sshb-"))
    sides: list[Side] = []
    sshd = None
    try:
        for vi, (_variant, tunnel) in enumerate(variants):
            for ii, name in enumerate(IMPLS):
                sides.append(Side(tmp / f"{'t' if tunnel else 'n'}{ii}", name, venvs[name],
                                  PORT_BASE + 200 * vi + 100 * ii, tunnel))
        # one alias (key, PATH, server-side HOME) per implementation and variant
        sshd_root = tmp / "sshd"
        sshd_root.mkdir()
        sshd = Sshd(sshd_root, {s.account: (s.venv, s.remote_home) for s in sides}, token=str(os.getpid()))
        sshd.start()
        for vi, (variant, _tunnel) in enumerate(variants):
            for side in sides[vi * len(IMPLS):(vi + 1) * len(IMPLS)]:
                side.configure(sshd)
                try:
                    results.setdefault(variant, {})[side.name] = measure(side, sshd, args.reps, variant)
                except Exception as exc:  # reported in the md file, the other side still runs
                    errors[f"{variant}, {side.name}"] = " ".join(str(exc).split())[:1500]
                    print(f"{variant} {side.name} FAILED: {exc}", flush=True)
                finally:
                    side.stop_all()
    finally:
        for side in sides:
            side.stop_all()
        if sshd is not None:
            sshd.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "ssh.json").write_text(json.dumps({"reps": args.reps, "results": results, "errors": errors}, indent=1))
    text = markdown(results, args.reps, errors)
    (out / "ssh.md").write_text(text)
    print(text)
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
