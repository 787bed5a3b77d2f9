"""A transformation through every execution mode, with the real services and runtime.

Each test runs the same workflow (``init()``, one transformation that records
the process it ran in) in two fresh processes: the first computes and stores,
the second must get the result from the database without computing again.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ._support import WORKFLOW, E2EEnv, run_workflow


def check_storage(env: E2EEnv, first: dict[str, Any], subproject: str | None = None, stage: str | None = None) -> None:
    """Buffers and seamless.db under ``<dir>/<project>[/<subproject>][/STAGE-<stage>]``, holding this result."""
    buf = env.storage_dir("buffer", subproject, stage)
    db = env.storage_dir("database", subproject, stage)
    rc, tc = first["result_checksum"], first["tf_checksum"]
    assert (buf / rc[:2] / rc).is_file(), f"result buffer {rc} not in {buf}: {sorted(p.name for p in buf.glob('*'))}"
    # nothing is stored outside the project's directory
    assert sorted(env.bufferdir.iterdir()) == [env.bufferdir / env.project]
    assert sorted(env.database_dir.iterdir()) == [env.database_dir / env.project]
    dbfile = db / "seamless.db"
    assert dbfile.is_file(), f"no seamless.db in {db}"
    assert transformation_rows(dbfile).get(tc) == rc


def transformation_rows(dbfile: Path) -> dict[str, str]:
    con = sqlite3.connect(f"file:{dbfile}?mode=ro", uri=True)
    try:
        return {str(row[0]): str(row[1]) for row in con.execute("SELECT * FROM transformation")}
    finally:
        con.close()


def run_twice(env: E2EEnv, a: int, b: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The workflow in a first process (computes) and a second one (must not)."""
    first = run_workflow(env, a, b)
    assert first["result"] == (a + b) * 10, first
    assert all(state == "launched" for _role, state, _key, _port in first["outcomes"]), first["outcomes"]
    assert len(env.side_effects()) == 1, "the first process should compute the transformation once"
    second = run_workflow(env, a, b)
    assert second["result"] == first["result"]
    assert second["tf_checksum"] == first["tf_checksum"]
    assert len(env.side_effects()) == 1, "the second process recomputed instead of using the database"
    assert [(r, s) for r, s, _k, _p in second["outcomes"]] == [(r, "reused") for r, _s, _k, _p in first["outcomes"]]
    assert [p for *_x, p in second["outcomes"]] == [p for *_x, p in first["outcomes"]]
    return first, second


def roles(result: dict[str, Any]) -> list[str]:
    return sorted(role for role, *_ in result["outcomes"])


def test_process_execution_with_persistence(e2e_env: E2EEnv) -> None:
    env = e2e_env
    env.configure(execution="process")
    first, _ = run_twice(env, 3, 4)
    assert first["execution"] == "process"
    assert roles(first) == ["database", "hashserver"]
    ran = env.side_effects()[0]
    assert ran["pid"] == first["pid"], "execution: process runs the transformation in the workflow's process"
    check_storage(env, first)
    for key, state in env.server_states().items():
        assert state["status"] == "running", (key, state)
        assert env.client_file(key)["port"] == state["port"]


def test_spawn_execution(e2e_env: E2EEnv) -> None:
    env = e2e_env
    env.configure(execution="spawn", workers=2, subproject="sub")
    first, _ = run_twice(env, 5, 6)
    assert first["execution"] == "spawn"
    assert roles(first) == ["database", "hashserver"]
    ran = env.side_effects()[0]
    assert ran["pid"] != first["pid"] and ran["ppid"] == first["pid"], "not run in a spawned worker"
    check_storage(env, first, subproject="sub")


def test_remote_jobserver(e2e_env: E2EEnv) -> None:
    env = e2e_env
    env.configure(execution="remote", remote="jobserver")
    first, _ = run_twice(env, 7, 8)
    assert first["execution"] == "remote"
    assert roles(first) == ["database", "hashserver", "jobserver"]
    _key, js = env.state("jobserver")
    ran = env.side_effects()[0]
    assert ran["pid"] != first["pid"]
    assert ran["pgid"] == js["pid"], "the transformation did not run in the jobserver's workers"
    # the jobserver got the storage services' clients through its state file
    hk, hs = env.state("hashserver")
    dk, db = env.state("database")
    params = js["parameters"]
    assert [c["url"] for c in params["buffer"]] == [f"http://{env.client_file(hk)['hostname']}:{hs['port']}"]
    assert [c["url"] for c in params["database"]] == [f"http://{env.client_file(dk)['hostname']}:{db['port']}"]
    assert params["buffer"][0]["remote_directory"] == str(env.storage_dir("buffer"))
    assert params["record"] is False
    check_storage(env, first)


def test_remote_daskserver_local_cluster(e2e_env: E2EEnv) -> None:
    env = e2e_env
    env.configure(execution="remote", remote="daskserver")
    first, _ = run_twice(env, 9, 10)
    assert first["execution"] == "remote"
    assert roles(first) == ["daskserver", "database", "hashserver"]
    key, ds = env.state("daskserver")
    lo, hi = env.ranges["daskserver"]
    assert lo <= ds["port"] <= hi and lo <= ds["dashboard_port"] <= hi
    assert ds["parameters"]["cores"] == 2 and ds["parameters"]["memory"] == "2GB"
    ran = env.side_effects()[0]
    assert ran["pid"] != first["pid"]
    assert ran["pgid"] == ds["pid"], "the transformation did not run in the Dask cluster's workers"
    assert env.client_file(key)["dashboard_port"] == ds["dashboard_port"]
    check_storage(env, first)


PURE_DASK = '''
import json, os

def where():
    import os
    return [os.getpid(), os.getpgid(0)]

def main():
    import seamless.config
    import distributed
    seamless.config.init()
    client = distributed.get_client()
    here = client.submit(where, pure=False).result(timeout=60)
    print("E2E-RESULT " + json.dumps({"scheduler": client.scheduler.address, "ran": here, "pid": os.getpid()}))
    client.close()

if __name__ == "__main__":
    main()
'''


@pytest.fixture(scope="module")
def pure_dask_env(module_env_factory) -> E2EEnv:
    env = module_env_factory("puredask")
    env.configure(execution="remote", remote="daskserver", persistent=False)
    return env


def test_pure_dask_client(pure_dask_env: E2EEnv) -> None:
    """``persistent: false`` with a daskserver: only the scheduler, and a default distributed.Client on it."""
    from ._support import script_result

    env = pure_dask_env
    out = script_result(env.python(PURE_DASK))
    key, ds = env.state("pure-daskserver")
    assert key == f"pure-daskserver-{env.cluster}-local"
    assert sorted(env.server_states()) == [key], "pure Dask mode starts no storage service"
    assert out["scheduler"] == f"tcp://{env.client_file(key)['hostname']}:{ds['port']}"
    pid, pgid = out["ran"]
    assert pid != out["pid"] and pgid == ds["pid"], "the Dask task did not run on the scheduler's workers"
    assert ds["parameters"].get("pure_dask") is True
    assert not env.bufferdir.exists() and not env.database_dir.exists()


def test_pure_dask_refuses_seamless_transformations(pure_dask_env: E2EEnv) -> None:
    """Pure Dask mode has no buffer store or result database: it is for plain Dask code.

    A Seamless transformation there is refused by the runtime with a clear
    message (it needs a hashserver), rather than run without its cache.
    """
    env = pure_dask_env
    cp = env.python(WORKFLOW, "11", "12", str(env.sidefile), check=False)
    assert cp.returncode != 0
    assert "Remote execution requires an active hashserver" in cp.stdout + cp.stderr
    assert not env.sidefile.exists() or not env.sidefile.read_text().strip(), "nothing may have been computed"


NESTED = '''
import json, os, sys

def main():
    sidefile = sys.argv[1]
    import seamless
    from seamless_config.extern_clients import set_remote_clients_from_env
    from seamless.transformer import delayed
    from seamless_dask.transformer_client import get_seamless_dask_client

    assert set_remote_clients_from_env(include_dask=True)
    connected = get_seamless_dask_client() is not None

    @delayed
    def nested(a, sidefile):
        import json, os
        with open(sidefile, "a") as f:
            f.write(json.dumps({"pid": os.getpid(), "pgid": os.getpgid(0), "ppid": os.getppid()}) + "\\n")
        return a * 7

    result = nested(6, sidefile).run()
    seamless.close()
    print("E2E-RESULT " + json.dumps({"result": result, "connected": connected, "pid": os.getpid()}))

if __name__ == "__main__":
    main()
'''

COLLECT = '''
import json
import seamless, seamless.config
from seamless_config import collect_remote_clients
from seamless_config.select import get_selected_cluster
seamless.config.init()
print("E2E-RESULT " + json.dumps(collect_remote_clients(get_selected_cluster())))
seamless.close()
'''


def test_nested_work_goes_to_the_same_dask_scheduler(e2e_env: E2EEnv) -> None:
    """A process started as a Dask worker starts its children (SEAMLESS_REMOTE_CLIENTS,
    SEAMLESS_DASK_SCHEDULER and SEAMLESS_DASK_WORKERS set, no project files) submits a
    transformation: set_remote_clients_from_env(include_dask=True) sends it to that scheduler."""
    from ._support import script_result

    env = e2e_env
    env.configure(execution="remote", remote="daskserver")
    clients = script_result(env.python(COLLECT))
    assert clients["buffer"] and clients["database"], clients
    key, ds = env.state("daskserver")
    elsewhere = env.root / "nested-child"
    elsewhere.mkdir()
    child_env = env.env(SEAMLESS_REMOTE_CLIENTS=json.dumps(clients),
                        SEAMLESS_DASK_SCHEDULER=f"tcp://127.0.0.1:{ds['port']}", SEAMLESS_DASK_WORKERS="1")
    script = elsewhere / "nested.py"
    script.write_text(NESTED)
    from ._support import PYTHON

    cp = env.run([str(PYTHON), str(script), str(env.sidefile)], env=child_env, cwd=elsewhere, timeout=240)
    out = script_result(cp)
    assert out["result"] == 42 and out["connected"], out
    ran = env.side_effects()[-1]
    assert ran["pgid"] == ds["pid"], "the nested transformation did not run in the Dask cluster's workers"
