"""A transformation through the Seamless runtime, in a Dask worker that OAR started.

The project's cluster has type oar; its frontend (this machine) runs the hashserver,
the database and the daskserver (seamless-dask-wrapper with dask-jobqueue's
OARCluster, asking for ``memcore``, the memory-per-core property of the
single-node OAR of ``conftest.py``). Everything runs as the OAR test user, with
storage under that user's home (OAR empties /tmp of the user's files when a job
ends), from a venv that user can run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e._batch import (
    QUEUE,
    SLOW_WORKFLOW,
    assert_from_the_database,
    assert_stored,
    run_in_background,
    wait_for_jobs,
    workflow,
    wrapper_log,
)
from e2e._batch import configure as batch_configure
from e2e._support import E2EEnv, describe, job_script_lines, script_result

from .oarlab import MEMCORE, USER, SingleNodeOar

PORTS = {"hashserver": (54200, 54219), "database": (54220, 54239), "daskserver": (54240, 54299)}
WORKFLOW = workflow("OAR_JOB_ID", "OAR_JOB_NAME", "OAR_NODEFILE", "OAR_USER")


class OarEnv(E2EEnv):
    """An E2E environment of the OAR test user's, under their home."""

    run_as = USER


def configure(env: E2EEnv, queue: dict[str, Any] = QUEUE, memory_property: str = MEMCORE,
              bufferdir: Path | None = None) -> None:
    batch_configure(
        env, "oar", PORTS, queue, bufferdir=bufferdir,
        cluster_fields=f"      memory_per_core_property_name: {memory_property}\n",
        # OAR does not pass the submitter's environment to a job: the worker's `python` must be put
        # on the PATH by the job script itself
        queue_fields=f'          job_script_prologue: ["export PATH={env.venv_bin}:$PATH"]\n')


@pytest.fixture
def oar_env(oar: SingleNodeOar, oar_venv_bin: Path, request: pytest.FixtureRequest) -> Iterator[E2EEnv]:
    root = oar.workspace(re.sub(r"[^a-z0-9]", "", request.node.name.lower())[:40])
    env = OarEnv(root, "oar")
    env.venv_bin = oar_venv_bin
    env.ranges = dict(PORTS)
    try:
        yield env
    finally:
        env.stop_all()
        oar.delete_all_jobs()


def run_workflow(env: E2EEnv, oar: SingleNodeOar, a: int, b: int) -> dict[str, Any]:
    SingleNodeOar.give(env.root)
    cp = env.python(WORKFLOW, str(a), str(b), str(env.sidefile), timeout=300, check=False)
    if cp.returncode != 0:
        raise AssertionError(describe(cp) + "\n" + oar.logs() + "\n" + wrapper_log(env))
    return script_result(cp)


def test_transformation_runs_in_an_oar_job(oar: SingleNodeOar, oar_env: E2EEnv) -> None:
    env = oar_env
    configure(env)
    first = run_workflow(env, oar, 2, 3)
    assert first["result"] == 50
    assert sorted(role for role, *_ in first["outcomes"]) == ["daskserver", "database", "hashserver"]
    ran = env.side_effects()
    assert len(ran) == 1, ran
    job_id = ran[0]["OAR_JOB_ID"]
    assert job_id, f"the transformation did not run inside an OAR job: {ran[0]}"
    assert ran[0]["OAR_USER"] == USER and ran[0]["uid"] != 0, ran[0]
    job = oar.job(job_id)
    assert job["owner"] == USER and job["name"] == "dask-worker", job
    assert job["assigned_network_address"] == [oar.node], job
    # the queue's cores, memory (500 MB = 477 MiB per core, through the memcore property) and walltime
    assert "core=1" in job["wanted_resources"] and job["walltime"] == 600, job
    assert f"{MEMCORE}>=477" in job["properties"], job

    # what `seamless-config job-script` prints is what OAR recorded and ran
    cp = env.run([str(env.venv_bin / "seamless-config"), "job-script"])
    assert cp.returncode == 0, describe(cp)
    script = cp.stdout.splitlines()
    options = [line[len("#OAR "):] for line in script if line.startswith("#OAR ")]
    body = [line for line in script if line and not line.startswith("#")]
    assert job["initial_request"].startswith("oarsub " + " ".join(options) + " \n"), (options, job["initial_request"])
    assert job_script_lines("\n".join(body)) == job_script_lines(job["command"]), job["command"]

    assert_stored(env, first)
    second = run_workflow(env, oar, 2, 3)
    assert_from_the_database(env, first, second)
    print(f"\nOAR first result: init {first['init_seconds']:.1f} s, "
          f"first result {first['first_result_seconds']:.1f} s; second process {second['first_result_seconds']:.1f} s")


def test_a_property_oar_does_not_have_fails_at_once(oar: SingleNodeOar, oar_env: E2EEnv, tmp_path: Path) -> None:
    """...and storage under /tmp on an oar cluster is warned of (OAR empties it of the user's files)."""
    env = oar_env
    configure(env, memory_property="mem_per_core", bufferdir=Path("/tmp") / f"seamless-oar-{env.root.name}")
    before = {j["Job_Id"] for j in oar.jobs()}
    SingleNodeOar.give(env.root)
    cp = env.seamless_init()
    assert cp.returncode == 2, describe(cp)  # a configuration mistake
    lines = [line for line in cp.stderr.splitlines() if "queue 'small'" in line]
    assert len(lines) == 1 and (
        "queue 'small' of cluster 'oarlab' asks OAR for resources by property 'mem_per_core' "
        "(memory_per_core_property_name), which oarnodes does not list (it lists: core, cpu, host, memcore)") in lines[0], cp.stderr
    assert lines[0].startswith("seamless-init: seamless.profile.yaml:") and "Traceback" not in cp.stderr, cp.stderr
    warned = [line for line in cp.stderr.splitlines() if "where OAR deletes every file" in line]
    assert len(warned) == 1 and "seamless-init: warning:" in warned[0] and "bufferdir /tmp/" in warned[0], cp.stderr
    assert not list((env.launcher_dir / "server").glob("daskserver-*.json")), "a daskserver was launched"
    assert {j["Job_Id"] for j in oar.jobs()} == before, "a job was submitted"


def test_oar_server_restarted_between_two_runs(oar: SingleNodeOar, oar_env: E2EEnv) -> None:
    """The next process reuses the services (and the worker job) and gets its result."""
    env = oar_env
    configure(env)
    first = run_workflow(env, oar, 1, 1)
    assert first["result"] == 20
    oar.restart_server()
    second = run_workflow(env, oar, 4, 5)
    assert second["result"] == 90
    assert [(r, s) for r, s, *_ in second["outcomes"]] == [(r, "reused") for r, _s, *_ in first["outcomes"]]
    jobs = [r["OAR_JOB_ID"] for r in env.side_effects()]
    assert len(jobs) == 2 and all(jobs), jobs


def test_a_worker_job_deleted_mid_transformation(oar: SingleNodeOar, oar_env: E2EEnv) -> None:
    env = oar_env
    configure(env)
    SingleNodeOar.give(env.root)
    t, box = run_in_background(env, SLOW_WORKFLOW, "20", str(env.sidefile), timeout=300)
    (first,) = wait_for_jobs(env, 1, 240)
    oar.run("oardel", first, user=USER)
    t.join(300)
    out = script_result(box[0])
    assert out == {**out, "result": 40, "exception": None}, out
    jobs = [r["job"] for r in env.side_effects()]
    assert len(jobs) == 2 and jobs[0] == first and jobs[1] not in (first, None), jobs


def test_work_longer_than_the_worker_lifetime_is_reported(oar: SingleNodeOar, oar_env: E2EEnv) -> None:
    """The wrapper retires each worker before its job's walltime (its lifetime, derived from the
    walltime, here set short); a transformation longer than that is tried in new jobs, then reported."""
    env = oar_env
    configure(env, {**QUEUE, "lifetime": "15s", "lifetime_stagger": "2s"})
    SingleNodeOar.give(env.root)
    cp = env.python(SLOW_WORKFLOW, "40", str(env.sidefile), timeout=400, check=False)
    out = script_result(cp)
    assert out["result"] is None and "KilledWorker" in out["exception"], out
    assert "all those workers died while running it" in out["exception"], out
    jobs = [r["job"] for r in env.side_effects()]
    assert len(jobs) >= 2 and len(set(jobs)) == len(jobs) and all(jobs), jobs


def doctor_checks(env: E2EEnv) -> tuple[int, list[dict[str, Any]]]:
    SingleNodeOar.give(env.root)
    cp = env.run([str(env.venv_bin / "seamless-config"), "doctor", "--json"])
    assert cp.returncode in (0, 1) and cp.stdout.startswith("{"), describe(cp)
    return cp.returncode, json.loads(cp.stdout)["checks"]


def test_doctor_on_oar(oar: SingleNodeOar, oar_env: E2EEnv) -> None:
    """The healthy set-up passes (as the OAR user); a property OAR does not have, and storage under /tmp,
    fail with their fixes; nothing is started or submitted."""
    env = oar_env
    configure(env)
    before = {j["Job_Id"] for j in oar.jobs()}
    code, checks = doctor_checks(env)
    assert code == 0 and [c for c in checks if c["status"] == "fail"] == [], checks
    (batch,) = [c for c in checks if c["check"] == "batch"]
    assert batch["status"] == "ok" and batch["message"].startswith("queue 'small' of cluster 'oarlab' fits"), batch
    configure(env, memory_property="mem_per_core", bufferdir=Path("/tmp") / f"seamless-oar-{env.root.name}")
    code, checks = doctor_checks(env)
    failed = {c["check"]: c for c in checks if c["status"] == "fail"}
    assert code == 1 and set(failed) == {"batch", "storage"}, checks
    assert "property 'mem_per_core'" in failed["batch"]["message"] and "memcore" in failed["batch"]["message"]
    assert "where OAR deletes every file" in failed["storage"]["message"], failed
    assert not list((env.launcher_dir / "server").glob("*.json")) and {j["Job_Id"] for j in oar.jobs()} == before
