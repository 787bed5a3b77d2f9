"""``seamless-config doctor`` on a slurm cluster: the daskserver's queue is compared with what the
single-node SLURM of ``conftest.py`` offers (partitions ``debug``, the default without a limit, and
``short``, MaxTime 5 minutes), through sinfo on the frontend (this machine). Nothing is submitted.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from .slurmlab import SingleNodeSlurm

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def doctor(slurm: SingleNodeSlurm, root: Path, queue: dict[str, Any]) -> tuple[int, list[dict]]:
    home, proj = root / "home", root / "proj"
    (home / ".seamless").mkdir(parents=True, exist_ok=True)
    proj.mkdir(exist_ok=True)
    port = _free_port()
    qfields = "".join(f"              {k}: {json.dumps(v)}\n" for k, v in queue.items())
    (proj / "seamless.yaml").write_text("- project: p\n")
    (proj / "seamless.profile.yaml").write_text(textwrap.dedent(f"""\
        - clusters:
            slurmlab:
              type: slurm
              frontends:
                - hostname: localhost
                  daskserver: {{network_interface: 127.0.0.1, port_start: {port}, port_end: {port + 1}}}
              queues:
                small:
        """) + qfields + textwrap.dedent("""\
              default_queue: small
        - cluster: slurmlab
        - execution: remote
        - remote: daskserver
        - persistent: false
        """))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEAMLESS_", "CONDA"))}
    env.update(HOME=str(home), REMOTE_HTTP_LAUNCHER_DIR=str(root / "rhl"), PYTHONPATH=str(ROOT),
               SEAMLESS_CONFIG_CACHE=str(root / "cache"),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]))
    cp = subprocess.run([sys.executable, "-m", "seamless_config.cli.config", "doctor", "--json"], cwd=proj,
                        env=slurm.env(env), capture_output=True, text=True, timeout=120)
    assert cp.stderr == "" and cp.returncode in (0, 1), cp.stdout + cp.stderr
    return cp.returncode, json.loads(cp.stdout)["checks"]


def batch_check(checks: list[dict]) -> dict:
    (found,) = [c for c in checks if c["check"] == "batch"]
    return found


BASE = {"cores": 1, "memory": "500MB", "walltime": "00:10:00"}


def test_a_queue_slurm_serves_passes(slurm: SingleNodeSlurm, tmp_path: Path) -> None:
    code, checks = doctor(slurm, tmp_path, BASE)
    batch = batch_check(checks)
    assert code == 0 and [c for c in checks if c["status"] == "fail"] == [], checks
    assert batch["status"] == "ok" and batch["service"] == "pure-daskserver"
    assert batch["message"].startswith("queue 'small' of cluster 'slurmlab' fits: SLURM partition 'debug' "
                                       "(no time limit, nodes up to "), batch


@pytest.mark.parametrize(("queue", "says", "fix"), [
    ({"partition": "gpu"}, "asks for SLURM partition 'gpu', which sinfo does not list (it lists: debug, short)",
     "name one of those partitions in the queue's 'partition'"),
    ({"partition": "short"}, "asks for walltime 00:10:00, over the limit of SLURM partition 'short' (00:05:00)",
     "ask for at most 00:05:00 in the queue's 'walltime'"),
])
def test_a_queue_slurm_cannot_serve_fails(slurm: SingleNodeSlurm, tmp_path: Path, queue: dict[str, Any],
                                          says: str, fix: str) -> None:
    before = {j["JobId"] for j in slurm.jobs()}
    code, checks = doctor(slurm, tmp_path, {**BASE, **queue})
    batch = batch_check(checks)
    assert code == 1 and batch["status"] == "fail", checks
    assert batch["message"] == f"queue 'small' of cluster 'slurmlab' {says}"
    assert batch["fix"].startswith(fix)
    assert batch["origin"]["file"] == str(tmp_path / "proj" / "seamless.profile.yaml")
    assert {j["JobId"] for j in slurm.jobs()} == before, "doctor submitted a job"
