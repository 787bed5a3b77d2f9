"""What the SLURM and OAR end-to-end tests share: the workflows, the project they configure, and the
checks of where a result went.

Each batch test directory (``tests/slurm``, ``tests/oar``) starts its own batch
system and says what differs: the cluster type, its ports, the job's environment
variables it records, and how workflows run (as which user, with which
environment).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ._support import E2EEnv, script_result, workflow

#: a queue a single-node batch system of the tests can serve
QUEUE = {"cores": 1, "memory": "500MB", "walltime": "00:10:00"}

#: a transformation that sleeps ``argv[1]`` seconds after recording its job; the result, or the
#: exception the workflow got, as JSON
SLOW_WORKFLOW = '''
import json, os, sys, time

def main():
    seconds, sidefile = float(sys.argv[1]), sys.argv[2]
    import seamless
    import seamless.config
    from seamless.transformer import delayed

    seamless.config.init()

    @delayed
    def slow(seconds, sidefile):
        import json, os, time
        with open(sidefile, "a") as f:
            f.write(json.dumps({"job": os.environ.get("SLURM_JOB_ID") or os.environ.get("OAR_JOB_ID")}) + "\\n")
        time.sleep(seconds)
        return seconds * 2

    tf = slow(seconds, sidefile)
    t0 = time.monotonic()
    try:
        out = {"result": tf.run(), "exception": None}
    except Exception as exc:
        out = {"result": None, "exception": f"{type(exc).__name__}: {exc}"}
    out["seconds"] = time.monotonic() - t0
    seamless.close()
    print("E2E-RESULT " + json.dumps(out), flush=True)

if __name__ == "__main__":
    main()
'''


def configure(env: E2EEnv, system: str, ports: dict[str, tuple[int, int]], queue: dict[str, Any], *,
              cluster_fields: str = "", queue_fields: str = "", bufferdir: Path | None = None) -> None:
    """A project whose cluster ``{system}lab`` (type ``system``) runs hashserver, database and daskserver on
    this machine, with one queue ``small``; ``cluster_fields`` and ``queue_fields``: more YAML lines, at the
    cluster's (6 spaces) and the queue's (10 spaces) indentation."""
    r = ports
    (env.project_dir / "seamless.yaml").write_text(f"- project: {env.project}\n")
    qfields = "".join(f"          {k}: {json.dumps(v)}\n" for k, v in queue.items())
    services = (
        f"          hashserver: {{bufferdir: {bufferdir or env.bufferdir}, network_interface: 127.0.0.1, "
        f"port_start: {r['hashserver'][0]}, port_end: {r['hashserver'][1]}}}\n"
        f"          database: {{database_dir: {env.database_dir}, network_interface: 127.0.0.1, "
        f"port_start: {r['database'][0]}, port_end: {r['database'][1]}}}\n"
        f"          daskserver: {{network_interface: 127.0.0.1, port_start: {r['daskserver'][0]}, "
        f"port_end: {r['daskserver'][1]}}}\n")
    (env.project_dir / "seamless.profile.yaml").write_text(
        "- clusters:\n"
        f"    {system}lab:\n"
        f"      type: {system}\n"
        + cluster_fields
        + "      frontends:\n"
        "        - hostname: localhost\n"
        + services
        + "      queues:\n"
        "        small:\n"
        "          # any name: the runtime refuses a daskserver without conda; without conda\n"
        "          # on this machine the launcher runs the wrapper from the PATH\n"
        f"          conda: seamless-{system}-no-such-env\n"
        + queue_fields + qfields
        + "      default_queue: small\n"
        f"- cluster: {system}lab\n"
        "- execution: remote\n"
        "- remote: daskserver\n")


def wrapper_log(env: E2EEnv) -> str:
    logs = sorted((env.launcher_dir / "server").glob("daskserver-*"))
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs)


def assert_stored(env: E2EEnv, first: dict[str, Any]) -> None:
    """The result is in the stage's database and buffer directory."""
    db = env.database_dir / env.project / "seamless.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = {str(t): str(r) for t, r in con.execute("SELECT * FROM transformation")}
    finally:
        con.close()
    assert rows.get(first["tf_checksum"]) == first["result_checksum"]
    rc = first["result_checksum"]
    assert (env.bufferdir / env.project / rc[:2] / rc).is_file()


def assert_from_the_database(env: E2EEnv, first: dict[str, Any], second: dict[str, Any]) -> None:
    """A second process got the same result from the database: no new job, no recomputation, every
    service reused."""
    assert second["result"] == first["result"] and second["tf_checksum"] == first["tf_checksum"]
    assert len(env.side_effects()) == 1, "the second process recomputed instead of using the database"
    assert [(r, s) for r, s, *_ in second["outcomes"]] == [(r, "reused") for r, _s, *_ in first["outcomes"]]


def run_in_background(env: E2EEnv, code: str, *args: str, timeout: float,
                      environ: dict[str, str] | None = None) -> tuple[threading.Thread, list[Any]]:
    """Start a workflow script in a thread; returns the thread and a list its result lands in."""
    box: list[Any] = []
    t = threading.Thread(target=lambda: box.append(env.python(code, *args, env=environ, timeout=timeout,
                                                              check=False)), daemon=True)
    t.start()
    return t, box


def wait_for_jobs(env: E2EEnv, n: int, timeout: float) -> list[str]:
    """The jobs :data:`SLOW_WORKFLOW`'s transformation started in, once there are ``n``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = [r["job"] for r in env.side_effects()]
        if len(jobs) >= n:
            return jobs
        time.sleep(0.5)
    raise AssertionError(f"the transformation did not start {n} time(s) within {timeout} s\n{wrapper_log(env)}")


__all__ = ["QUEUE", "SLOW_WORKFLOW", "assert_from_the_database", "assert_stored", "configure", "run_in_background",
           "script_result", "wait_for_jobs", "workflow", "wrapper_log"]
