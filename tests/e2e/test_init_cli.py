"""``seamless-init`` against real services: cold, warm, concurrent, --json, worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from ._support import VENV_BIN, E2EEnv, describe, script_result

ROLES = ["database", "hashserver", "jobserver"]


def services_json(cp: subprocess.CompletedProcess) -> list[dict]:
    assert cp.returncode == 0, describe(cp)
    data = json.loads(cp.stdout)
    assert list(data) == ["services"]
    return data["services"]


@pytest.fixture(scope="module")
def up(module_env_factory) -> tuple[E2EEnv, list[dict]]:
    """A project with hashserver, database and jobserver, brought up once by ``seamless-init --json``."""
    env = module_env_factory("cli")
    env.configure(execution="remote", remote="jobserver")
    return env, services_json(env.seamless_init("--json"))


def test_json_schema(up) -> None:
    env, rows = up
    assert sorted(r["service"] for r in rows) == ROLES
    states = env.server_states()
    for r in rows:
        assert set(r) == {"service", "key", "host", "hostname", "port", "state", "timeline"}, r
        assert r["state"] == "launched"
        assert r["host"] == "localhost"
        assert r["key"] in states and states[r["key"]]["status"] == "running"
        assert r["port"] == states[r["key"]]["port"]
        lo, hi = env.ranges[r["service"]]
        assert lo <= r["port"] <= hi
        assert env.client_file(r["key"])["port"] == r["port"]
        assert env.client_file(r["key"])["hostname"] == r["hostname"]
        pid = states[r["key"]]["pid"]
        assert set(env.service_processes(r["key"]).values()) == {pid}
    assert sorted(states) == sorted(r["key"] for r in rows)


def test_the_cold_run_gives_a_timeline_per_service(up) -> None:
    """seamless-init --json: when each service was queued, launched and answering, in seconds after
    the bring-up began; the jobserver answers after the storage services whose clients it is given."""
    _env, cold = up
    lines = {r["service"]: r["timeline"] for r in cold}
    assert set(lines) == set(ROLES)
    for role, t in lines.items():
        assert set(t) == {"queued", "launched", "answering"}, role
        assert 0 <= t["queued"] <= t["launched"] <= t["answering"], (role, t)
    assert lines["jobserver"]["answering"] >= max(lines["hashserver"]["answering"], lines["database"]["answering"])


def test_warm_init_reuses_everything(up) -> None:
    env, cold = up
    pids = {k: s["pid"] for k, s in env.server_states().items()}
    t0 = time.monotonic()
    warm = services_json(env.seamless_init("--json"))
    elapsed = time.monotonic() - t0
    assert {r["key"]: (r["state"], r["port"]) for r in warm} == {r["key"]: ("reused", r["port"]) for r in cold}
    assert {k: s["pid"] for k, s in env.server_states().items()} == pids
    assert elapsed < 10, f"warm seamless-init took {elapsed:.1f} s"
    # plain output: one line per service, saying it was reused
    cp = env.seamless_init()
    assert cp.returncode == 0, describe(cp)
    lines = cp.stdout.splitlines()
    assert len(lines) == 3 and all("reused" in line for line in lines), cp.stdout
    assert sorted(line.split()[0] for line in lines) == ROLES
    # --quiet: nothing at all
    cp = env.seamless_init("--quiet")
    assert (cp.returncode, cp.stdout, cp.stderr) == (0, "", ""), describe(cp)


def test_init_right_after_import_on_a_warm_project(up) -> None:
    """``import seamless.config; seamless.config.init()`` with the services up: seamless's buffer writer
    is still importing seamless-remote in its own thread when init() connects the clients."""
    env, cold = up
    script = ("import json, sys\nimport seamless.config\nseamless.config.init()\n"
              "from seamless_config import session\n"
              "print('E2E-RESULT ' + json.dumps({'launcher': 'effects.launcher' in sys.modules,\n"
              "      'plan': 'seamless_config.core.plan' in sys.modules,\n"
              "      'states': sorted(o.state for o in session.SESSION.outcomes)}))\n")
    for _ in range(3):
        cp = env.python(script, check=False)
        assert cp.returncode == 0 and "E2E-RESULT" in cp.stdout, describe(cp)
        # every service reused as it is, from the memo seamless-init kept: without building the plan,
        # nor loading the launch protocol
        assert script_result(cp) == {"launcher": False, "plan": False, "states": ["reused"] * 3}, cp.stdout


def test_rhl_ps_sees_the_services(up) -> None:
    """remote-http-launcher's own tool lists what seamless-init started."""
    env, rows = up
    cp = env.run([str(VENV_BIN / "rhl-ps")])
    assert cp.returncode == 0, describe(cp)
    for r in rows:
        line = next((ln for ln in cp.stdout.splitlines() if ln.split()[:1] == [r["key"]]), None)
        assert line is not None, cp.stdout
        assert "running" in line and str(r["port"]) in line


def test_worker_process_exits_at_once(e2e_env: E2EEnv) -> None:
    """With SEAMLESS_REMOTE_CLIENTS set (a worker), seamless-init exits 0 without touching anything."""
    env = e2e_env
    env.configure(execution="remote", remote="jobserver")
    t0 = time.monotonic()
    cp = env.seamless_init(env=env.env(SEAMLESS_REMOTE_CLIENTS=json.dumps({"buffer": [], "database": []})))
    elapsed = time.monotonic() - t0
    assert cp.returncode == 0, describe(cp)
    assert elapsed < 5, f"took {elapsed:.1f} s"
    assert not env.launcher_dir.exists(), "seamless-init started or recorded services in a worker"


def test_concurrent_cold_init(e2e_env: E2EEnv) -> None:
    """8 seamless-init at once on a cold project: all succeed, one server per key, all share it."""
    env = e2e_env
    env.configure(execution="remote", remote="jobserver")
    procs = [
        subprocess.Popen([str(VENV_BIN / "seamless-init"), "--json"], cwd=env.project_dir, env=env.env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    results = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    assert [r.returncode for r in results] == [0] * 8, "\n".join(describe(r) for r in results if r.returncode)
    outputs = [services_json(r) for r in results]
    states = env.server_states()
    assert len(states) == 3 and sorted(k.split("-")[0] for k in states) == ROLES, sorted(states)
    for key, state in states.items():
        assert state["status"] == "running"
        rows = [next(r for r in out if r["key"] == key) for out in outputs]
        assert {r["port"] for r in rows} == {state["port"]}, f"{key}: processes disagree on the port"
        assert sorted(r["state"] for r in rows) == ["launched"] + ["reused"] * 7, key
        groups = set(env.service_processes(key).values())
        assert groups == {state["pid"]}, f"{key}: expected one live server, found process groups {groups}"
    # no half-written or temporary state left behind
    leftovers = [p.name for p in (env.launcher_dir / "server").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def _imported(lines: str) -> set[str]:
    return {line.rsplit("|", 1)[-1].strip() for line in lines.splitlines() if line.startswith("import time:")}


def _startup_modules(env: E2EEnv) -> set[str]:
    from ._support import PYTHON

    cp = env.run([str(PYTHON), "-X", "importtime", "-c", "pass"])
    return _imported(cp.stderr)


def loads_pure_stages(env: E2EEnv, *args: str) -> tuple[bool, list[dict]]:
    """Run seamless-init under ``-X importtime``: whether it imported the pure stages (any core
    module but the standard-library-only ``core.clients`` and ``core.names``, or a library they
    use), and its rows."""
    from ._support import PYTHON

    cp = env.run([str(PYTHON), "-X", "importtime", str(VENV_BIN / "seamless-init"), "--json", *args])
    assert cp.returncode == 0, describe(cp)
    loaded = _imported(cp.stderr)
    light = ("seamless_config.core.clients", "seamless_config.core.names")
    stages = {m for m in loaded if m.startswith("seamless_config.core.") and m not in light}
    libraries = {m for m in loaded if m.split(".")[0] in ("attrs", "returns", "strictyaml", "yaml")}
    if not (stages or libraries):
        # the standard library's heavier modules stay out of the warm lane too: each is a few
        # milliseconds of a run that is meant to cost little more than the interpreter's start
        # (beyond what the interpreter of this venv loads for `pass`: an editable install's finder)
        heavy = loaded & {"argparse", "pathlib", "typing", "hashlib", "socket", "threading", "shutil",
                          "contextlib", "collections", "functools", "importlib", "types"}
        assert not heavy - _startup_modules(env), f"the warm lane imported {sorted(heavy)}"
    return bool(stages or libraries), json.loads(cp.stdout)["services"]


def test_warm_lane_reuses_without_resolving_and_falls_back(e2e_env: E2EEnv) -> None:
    """Nothing changed and all answer: no resolution. Any change, and the full path decides."""
    env = e2e_env
    env.configure(execution="remote", remote="jobserver")
    cold = services_json(env.seamless_init("--json"))
    resolved, warm = loads_pure_stages(env)
    assert not resolved, "the warm lane loaded the pure stages"
    assert [{k: v for k, v in r.items() if k != "timeline"} for r in warm] == [
        {**{k: v for k, v in r.items() if k != "timeline"}, "state": "reused"} for r in cold
    ], "the warm lane reports as the full path does"
    # another stage is another resolution; once it is up, it too takes the warm lane (--stage is
    # checked without the pure stages)
    resolved, _ = loads_pure_stages(env, "--stage", "other")
    assert resolved
    resolved, rows = loads_pure_stages(env, "--stage", "other")
    assert not resolved and all(r["state"] == "reused" for r in rows), "a warm --stage loaded the pure stages"
    # an edited file (a comment changes no value): resolved again, everything still reused
    profile = env.project_dir / "seamless.profile.yaml"
    profile.write_text(profile.read_text() + "# edited\n")
    resolved, rows = loads_pure_stages(env)
    assert resolved and [r["state"] for r in rows] == ["reused"] * 3
    assert not loads_pure_stages(env)[0], "the memo of the edited files is used the next time"
    # a killed hashserver: the lane gives way; the full path relaunches it, and the jobserver that
    # was given the old hashserver's address
    hkey = next(r["key"] for r in cold if r["service"] == "hashserver")
    os.kill(env.server_states()[hkey]["pid"], signal.SIGKILL)
    resolved, rows = loads_pure_stages(env)
    assert resolved
    # (the new hashserver takes a free port of its range, at random: when it is the old one, the
    # jobserver's parameters are unchanged and it is rightly reused)
    moved = next(r["port"] for r in rows if r["service"] == "hashserver") != \
        next(r["port"] for r in cold if r["service"] == "hashserver")
    assert {r["service"]: r["state"] for r in rows} == {"hashserver": "launched", "database": "reused",
                                                        "jobserver": "launched" if moved else "reused"}
    resolved, rows = loads_pure_stages(env)
    assert not resolved and all(r["state"] == "reused" for r in rows)
