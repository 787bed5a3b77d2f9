"""Services that die, stages that change, binaries that are missing."""

from __future__ import annotations

import json
import os
import signal
import time

from ._support import E2EEnv, describe, fake_venv, run_workflow, script_result
from .test_modes import check_storage, transformation_rows


def _wait_dead(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[-1].split()[0] == "Z":
                    return
        except OSError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not die")


def test_killed_service_is_relaunched(e2e_env: E2EEnv) -> None:
    """SIGKILL a service: the next seamless-init (and the next init()) starts it again."""
    env = e2e_env
    env.configure(execution="process")
    cp = env.seamless_init("--json")
    assert cp.returncode == 0, describe(cp)
    hk, hs = env.state("hashserver")
    dk, db = env.state("database")

    os.kill(hs["pid"], signal.SIGKILL)
    _wait_dead(hs["pid"])
    cp = env.seamless_init("--json")
    assert cp.returncode == 0, describe(cp)
    rows = {r["key"]: r for r in json.loads(cp.stdout)["services"]}
    assert rows[hk]["state"] == "launched" and rows[dk]["state"] == "reused"
    _, hs2 = env.state("hashserver")
    assert hs2["pid"] != hs["pid"] and hs2["status"] == "running"
    assert set(env.service_processes(hk).values()) == {hs2["pid"]}
    assert env.client_file(hk)["port"] == hs2["port"] == rows[hk]["port"]

    # now the database, and init() in a workflow brings it back
    os.kill(db["pid"], signal.SIGKILL)
    _wait_dead(db["pid"])
    out = run_workflow(env, 20, 22)
    assert out["result"] == 420
    states = {role: state for role, state, _key, _port in out["outcomes"]}
    assert states == {"hashserver": "reused", "database": "launched"}
    _, db2 = env.state("database")
    assert db2["pid"] != db["pid"] and db2["status"] == "running"
    assert set(env.service_processes(dk).values()) == {db2["pid"]}
    check_storage(env, out)


STAGES = '''
import json, os, sys

def main():
    sidefile = sys.argv[1]
    import seamless
    import seamless.config
    from seamless.transformer import delayed
    from seamless_config import session

    @delayed
    def triple(a, sidefile):
        import json, os
        with open(sidefile, "a") as f:
            f.write(json.dumps({"pid": os.getpid(), "pgid": os.getpgid(0), "ppid": os.getppid()}) + "\\n")
        return 3 * a

    runs = []
    seamless.config.init()
    for step in sys.argv[2:]:
        stage, value = step.split(":")
        seamless.config.set_stage(stage or None)
        tf = triple(int(value), sidefile)
        runs.append({
            "stage": stage,
            "result": tf.run(),
            "tf_checksum": tf.transformation_checksum.hex(),
            "result_checksum": tf.result_checksum.hex(),
            "keys": sorted(o.key for o in session.SESSION.outcomes),
        })
    seamless.close()
    print("E2E-RESULT " + json.dumps(runs), flush=True)

if __name__ == "__main__":
    main()
'''


def test_stage_change_switches_storage(e2e_env: E2EEnv) -> None:
    env = e2e_env
    env.configure(execution="process")
    default, prod = script_result(env.python(STAGES, str(env.sidefile), ":14", "prod:15"))
    assert (default["result"], prod["result"]) == (42, 45)
    assert len(env.side_effects()) == 2
    # the prod stage has its own services...
    assert all(k.endswith(f"-rw-{env.project}") for k in default["keys"]), default["keys"]
    assert all(k.endswith(f"-rw-{env.project}--STAGE-prod") for k in prod["keys"]), prod["keys"]
    assert sorted(env.server_states()) == sorted(default["keys"] + prod["keys"])
    # ... and its own storage
    main_db = env.storage_dir("database") / "seamless.db"
    prod_db = env.storage_dir("database", stage="prod") / "seamless.db"
    main_rows, prod_rows = transformation_rows(main_db), transformation_rows(prod_db)
    assert main_rows.get(default["tf_checksum"]) == default["result_checksum"]
    assert prod_rows.get(prod["tf_checksum"]) == prod["result_checksum"]
    assert prod["tf_checksum"] not in main_rows and default["tf_checksum"] not in prod_rows
    rc = prod["result_checksum"]
    assert (env.storage_dir("buffer", stage="prod") / rc[:2] / rc).is_file()
    assert not (env.storage_dir("buffer") / rc[:2] / rc).exists()

    # a new process in stage prod: 15 comes from the prod database, 14 is computed (not in prod's)
    again_prod, first_in_prod = script_result(env.python(STAGES, str(env.sidefile), "prod:15", "prod:14"))
    assert (again_prod["result"], first_in_prod["result"]) == (45, 42)
    assert len(env.side_effects()) == 3, "stage prod did not use its own database"
    assert transformation_rows(prod_db).get(default["tf_checksum"]) == default["result_checksum"]


def test_missing_binary_fails_cleanly(e2e_env: E2EEnv) -> None:
    """A service binary that is neither on the PATH nor beside Python: exit 1, one line, the fix."""
    env = e2e_env
    env.configure(execution="remote", remote="jobserver")
    # a Python with the dev venv's packages whose bin/ has every service but the hashserver
    python = fake_venv(env.root, ("seamless-database", "seamless-jobserver"))
    run_env = env.env(PATH=os.pathsep.join([str(python.parent), "/usr/bin", "/bin"]))
    cp = env.run([str(python), "-m", "seamless_config.cli.init"], env=run_env, timeout=120)
    assert cp.returncode == 1, describe(cp)
    assert "Traceback" not in cp.stderr and "Traceback" not in cp.stdout, describe(cp)
    lines = cp.stderr.strip().splitlines()
    assert len(lines) == 1, describe(cp)
    msg = lines[0]
    assert msg.startswith("seamless-init: hashserver"), msg
    assert "not found on the PATH" in msg and "pip install hashserver" in msg, msg
    # the jobserver, which waited for the hashserver, is not left running
    for key, state in env.server_states().items():
        if key.startswith("jobserver"):
            assert not env.service_processes(key), f"jobserver left running: {state}"
