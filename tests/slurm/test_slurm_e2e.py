"""A transformation through the Seamless runtime, in a Dask worker that SLURM started.

The project's cluster has type slurm; its frontend (this machine) runs the
hashserver, the database and the daskserver (seamless-dask-wrapper with
dask-jobqueue's SLURMCluster), which submits the worker jobs to the
single-node SLURM of ``conftest.py``. Workflows run in subprocesses with a
private HOME.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e._batch import (
    QUEUE,
    assert_from_the_database,
    assert_stored,
    workflow,
    wrapper_log,
)
from e2e._batch import configure as batch_configure
from e2e._support import E2EEnv, describe, job_script_lines, missing_runtime, script_result

from .slurmlab import SingleNodeSlurm

PORTS = {"hashserver": (54000, 54019), "database": (54020, 54039), "daskserver": (54040, 54099)}
WORKFLOW = workflow("SLURM_JOB_ID", "SLURM_CPUS_ON_NODE", "SLURM_MEM_PER_NODE", "SLURM_JOB_PARTITION")


def configure(env: E2EEnv, queue: dict[str, Any] = QUEUE) -> None:
    batch_configure(env, "slurm", PORTS, queue)


@pytest.fixture
def slurm_env(slurm: SingleNodeSlurm, tmp_path: Path) -> Iterator[E2EEnv]:
    why = missing_runtime()
    if why:
        pytest.skip(why)
    env = E2EEnv(tmp_path, "slurm")
    env.ranges = dict(PORTS)
    try:
        yield env
    finally:
        env.stop_all()
        slurm.cancel_all()


def run_workflow(env: E2EEnv, slurm: SingleNodeSlurm, a: int, b: int) -> dict[str, Any]:
    cp = env.python(WORKFLOW, str(a), str(b), str(env.sidefile), env=slurm.env(env.env()), timeout=300,
                    check=False)
    if cp.returncode != 0:
        raise AssertionError(describe(cp) + "\n" + slurm.logs() + "\n" + wrapper_log(env))
    return script_result(cp)


def test_transformation_runs_in_a_slurm_job(slurm: SingleNodeSlurm, slurm_env: E2EEnv) -> None:
    env = slurm_env
    configure(env)
    first = run_workflow(env, slurm, 2, 3)
    assert first["result"] == 50
    assert sorted(role for role, *_ in first["outcomes"]) == ["daskserver", "database", "hashserver"]
    ran = env.side_effects()
    assert len(ran) == 1, ran
    job_id = ran[0]["SLURM_JOB_ID"]
    assert job_id, f"the transformation did not run inside a SLURM job: {ran[0]}"
    # the queue's cores and memory, as the job got them
    assert ran[0]["SLURM_CPUS_ON_NODE"] == "1" and ran[0]["SLURM_MEM_PER_NODE"] == "477", ran[0]  # 500 MB in MiB
    job = next(j for j in slurm.jobs() if j["JobId"] == job_id)
    assert job["JobName"] == "dask-worker" and job["Partition"] == "debug" and job["NodeList"] == slurm.hostname
    assert job["NumCPUs"] == "1" and job["MinMemoryNode"] == "477M" and job["TimeLimit"] == "00:10:00", job
    assert "cpu=1,mem=477M" in job["TRES"], job
    assert f"Launching batch job {job_id} for UID 0" in slurm.slurmd_log.read_text()
    # what `seamless-config job-script` prints is the script SLURM ran
    cp = env.run([str(env.venv_bin / "seamless-config"), "job-script"], env=slurm.env(env.env()))
    assert cp.returncode == 0, describe(cp)
    ran = slurm.run("scontrol", "write", "batch_script", job_id, "-")
    assert job_script_lines(cp.stdout) == job_script_lines(ran), (cp.stdout, ran)
    assert_stored(env, first)
    second = run_workflow(env, slurm, 2, 3)
    assert_from_the_database(env, first, second)
    print(f"\nSLURM first result: init {first['init_seconds']:.1f} s, "
          f"first result {first['first_result_seconds']:.1f} s; second process {second['first_result_seconds']:.1f} s")


@pytest.mark.parametrize(("queue", "says"), [
    ({"partition": "gpu"}, "asks for SLURM partition 'gpu', which sinfo does not list (it lists: debug, short)"),
    ({"partition": "short", "walltime": "00:10:00"},
     "asks for walltime 00:10:00, over the limit of SLURM partition 'short' (00:05:00)"),
])
def test_a_queue_slurm_cannot_serve_fails_at_once(slurm: SingleNodeSlurm, slurm_env: E2EEnv,
                                                    queue: dict[str, Any], says: str) -> None:
    env = slurm_env
    configure(env, {**QUEUE, **queue})
    before = {j["JobId"] for j in slurm.jobs()}
    cp = env.seamless_init(env=slurm.env(env.env()))
    assert cp.returncode == 2, describe(cp)  # a configuration mistake
    lines = [line for line in cp.stderr.splitlines() if "queue 'small'" in line]
    assert len(lines) == 1 and f"queue 'small' of cluster 'slurmlab' {says}" in lines[0], cp.stderr
    assert lines[0].startswith("seamless-init: seamless.profile.yaml:") and "Traceback" not in cp.stderr, cp.stderr
    assert not list((env.launcher_dir / "server").glob("daskserver-*.json")), "a daskserver was launched"
    assert {j["JobId"] for j in slurm.jobs()} == before, "a job was submitted"



def test_slurmctld_restarted_between_two_runs(slurm: SingleNodeSlurm, slurm_env: E2EEnv) -> None:
    """The next process brings the same services up again (reused) and gets its result."""
    env = slurm_env
    configure(env)
    first = run_workflow(env, slurm, 1, 1)
    assert first["result"] == 20
    slurm.restart_controller()
    second = run_workflow(env, slurm, 4, 5)
    assert second["result"] == 90
    assert [(r, s) for r, s, *_ in second["outcomes"]] == [(r, "reused") for r, _s, *_ in first["outcomes"]]
    assert len(env.side_effects()) == 2


def test_slurmctld_down_when_the_daskserver_is_launched(slurm: SingleNodeSlurm, slurm_env: E2EEnv) -> None:
    """seamless-init says SLURM does not answer and what to do; once slurmctld is back, it works."""
    env = slurm_env
    configure(env)
    slurm.stop_controller()
    try:
        cp = env.seamless_init(env=slurm.env(env.env()))
    finally:
        slurm.start_controller()
    assert cp.returncode not in (0, 2), describe(cp)  # a service failure, not a configuration mistake
    assert "SLURM does not answer on localhost (" in cp.stderr and "start slurmctld" in cp.stderr, cp.stderr
    assert "Traceback" not in cp.stderr and not list((env.launcher_dir / "server").glob("daskserver-*.json"))
    cp = env.seamless_init(env=slurm.env(env.env()))
    assert cp.returncode == 0, describe(cp)
