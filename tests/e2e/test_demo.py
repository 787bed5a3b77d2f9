"""``make demo``'s script (examples/quickstart/demo.py), run as the README's quick start runs it:
it brings the example project's services up, runs a real transformation through the jobserver,
and stops what it started."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

from _services import base_env, group_alive

from ._support import PYTHON, REPO, VENV_BIN

DEMO = REPO / "examples" / "quickstart" / "demo.py"
#: the example's storage (a fixed path in its seamless.profile.yaml)
SCRATCH = Path("/tmp/seamless-quickstart")


def expected() -> float:
    points = [(math.cos(i), math.sin(2 * i)) for i in range(300)]
    return round(sum(math.dist(p, q) for p in points for q in points), 6)


def run_demo(home: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = dict(base_env(home, VENV_BIN), SEAMLESS_CONFIG_CACHE=str(cache))
    return subprocess.run([str(PYTHON), "-W", "ignore", str(DEMO)], env=env, cwd=home, capture_output=True,
                          text=True, timeout=300)


def test_the_demo_runs_a_transformation_and_stops_what_it_started(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    scratch_was_there = SCRATCH.exists()
    try:
        for run in (1, 2):
            cp = run_demo(home, tmp_path / "cache")
            assert cp.returncode == 0, f"run {run}:\n{cp.stdout}\n{cp.stderr}"
            m = re.search(r"result: (\S+)", cp.stdout)
            assert m is not None and float(m.group(1)) == expected(), cp.stdout
            assert "cluster quickstart-local, project quickstart, execution remote via jobserver" in cp.stdout
            # every service it started, stopped again
            stopped = sorted(re.findall(r"stopped (\S+)", cp.stdout))
            assert stopped == ["database", "hashserver", "jobserver"], cp.stdout
            for state in (home / ".remote-http-launcher" / "server").glob("*.json"):
                pid = json.loads(state.read_text()).get("pid")
                # (each service runs in a session of its own: its process group is its pid)
                assert not (isinstance(pid, int) and group_alive(pid)), f"run {run} left {state.name} running"
        # the result went to the example's storage
        assert any((SCRATCH / "database").rglob("*")), "nothing in the example's database directory"
    finally:
        if not scratch_was_there:
            shutil.rmtree(SCRATCH, ignore_errors=True)
