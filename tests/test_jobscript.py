"""``seamless-config job-script``: the rendered batch script, tested as text.

SLURM and OAR: the script is what seamless-dask-wrapper's own settings make
dask-jobqueue render; for OAR (no server here) the ``#OAR`` directives are also
compared with what ``OARCluster`` renders when given the queue's parameters
directly. Properties: template expansion then parameter mapping loses no field
the user wrote; the script always holds the queue's walltime, cores and memory.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import strategies as S
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seamless_config.cli.config import main
from seamless_config.core.jobqueue import JobScriptRequest
from seamless_config.core.launch import daskserver_launch_dict

pytest.importorskip("seamless_dask.wrapper")
dask_jobqueue = pytest.importorskip("dask_jobqueue")

from effects.jobscript import (  # noqa: E402
    SCHEDULER_PLACEHOLDER,
    JobScriptError,
    jobqueue_settings,
    render_job_script,
)

BIN = Path(sys.executable).parent / "seamless-config"

SLURM_CLUSTER = """\
hpc:
  type: slurm
  frontends:
    - hostname: localhost
      hashserver: {bufferdir: /data/buffers, network_interface: 127.0.0.1, port_start: 54000, port_end: 54019}
      database: {database_dir: /data/db, network_interface: 127.0.0.1, port_start: 54020, port_end: 54039}
      daskserver: {network_interface: 127.0.0.1, port_start: 54040, port_end: 54099}
  queues:
    cpu:
      conda: seamless
      cores: 4
      memory: 8GB
      walltime: "01:00:00"
      partition: compute
    gpu:
      TEMPLATE: cpu
      cores: 8
      partition: gpu
      job_extra_directives: ["--gres=gpu:1"]
      dask_resources: {GPU: 1}
    whole:
      TEMPLATE: cpu
      cores: null
      exclusive: true
    fixed:
      TEMPLATE: cpu
      exclusive: true
  default_queue: cpu
"""

OAR_CLUSTER = """\
grid:
  type: oar
  memory_per_core_property_name: memcore
  frontends:
    - hostname: frontend.grid.example.org
      hashserver: {bufferdir: /data/buffers, network_interface: 0.0.0.0, port_start: 54000, port_end: 54019}
      database: {database_dir: /data/db, network_interface: 0.0.0.0, port_start: 54020, port_end: 54039}
      daskserver: {network_interface: 0.0.0.0, port_start: 54040, port_end: 54099}
  queues:
    cores4:
      conda: seamless
      cores: 4
      memory: 16GB
      walltime: "02:00:00"
      project: lab
    whole:
      TEMPLATE: cores4
      cores: null
      exclusive: true
    fixed:
      TEMPLATE: cores4
      exclusive: true
    extra:
      TEMPLATE: cores4
      job_extra_directives: ["-t besteffort"]
  default_queue: cores4
"""


@pytest.fixture
def batch_project(home, write_clusters, write_tree):
    """A project using cluster ``hpc`` (slurm) or ``grid`` (oar); returns its directory."""
    write_clusters(SLURM_CLUSTER + OAR_CLUSTER)

    def make(cluster: str = "hpc", extra: str = "") -> Path:
        root = write_tree({
            "proj/seamless.yaml": "- project: rna\n",
            "proj/seamless.profile.yaml": f"- cluster: {cluster}\n- execution: remote\n- remote: daskserver\n"
                                          + textwrap.dedent(extra),
        })
        return root / "proj"

    return make


def job_script(capsys, project: Path, *args: str) -> str:
    code = main(["job-script", "--workdir", str(project), *args])
    out, err = capsys.readouterr()
    assert (code, err) == (0, ""), err
    return out


def mistake(capsys, project: Path, *args: str) -> str:
    code = main(["job-script", "--workdir", str(project), *args])
    out, err = capsys.readouterr()
    assert code == 2 and out == "", (code, out, err)
    return err.strip()


def header(script: str, prefix: str) -> list[str]:
    return [line for line in script.splitlines() if line.startswith(prefix)]


# -- SLURM -------------------------------------------------------------------------------------


def test_slurm_default_queue(batch_project, capsys, home):
    log = home / ".remote-http-launcher/server/daskserver-hpc-rw-rna.log"
    assert job_script(capsys, batch_project()) == textwrap.dedent(f"""\
        #!/usr/bin/env bash

        #SBATCH -J dask-worker
        #SBATCH -p compute
        #SBATCH -n 1
        #SBATCH --cpus-per-task=4
        #SBATCH --mem=8G
        #SBATCH -t 01:00:00
        #SBATCH --output={log}-%j.out
        #SBATCH --error={log}-%j.err
        export SEAMLESS_DASK_QUEUE_EXCLUSIVE=0
        export SEAMLESS_DASK_RECORD_MODE=0
        export SEAMLESS_WORKER_TRANSFORMATION_THROTTLE=3
        export DASK_DISTRIBUTED__WORKER__DAEMON=False
        export DASK_DISTRIBUTED__SCHEDULER__UNKNOWN_TASK_DURATION=1m
        export DASK_DISTRIBUTED__SCHEDULER__TARGET_DURATION=10m
        export DASK_DISTRIBUTED__WORKER__PORT=54040:54099
        export DASK_DISTRIBUTED__NANNY__PORT=54040:54099
        export DASK_DISTRIBUTED__WORKER__LIFETIME__STAGGER=4m
        export DASK_DISTRIBUTED__WORKER__LIFETIME__DURATION=3300s
        export PYTHON_CPU_COUNT=$SLURM_JOB_CPUS_PER_NODE
        python -m distributed.cli.dask_worker {SCHEDULER_PLACEHOLDER} --name dummy-name --nthreads 4 \
--memory-limit 7.45GiB --nanny --death-timeout 60 --local-directory /tmp --nthreads 12 \
--worker-port=54040:54099 --nanny-port=54040:54099 --name worker-$SLURM_JOB_ID
        """)


def test_gpu_template_queue_renders_its_directives_and_resources(batch_project, capsys):
    script = job_script(capsys, batch_project(), "--queue", "gpu")
    assert header(script, "#SBATCH")[:7] == [
        "#SBATCH -J dask-worker", "#SBATCH -p gpu", "#SBATCH -n 1", "#SBATCH --cpus-per-task=8",
        "#SBATCH --mem=8G", "#SBATCH -t 01:00:00", "#SBATCH --gres=gpu:1"]
    assert "export DASK_DISTRIBUTED__WORKER__RESOURCES='{\"GPU\": 1}'" in script.splitlines()


def test_substages_choose_their_queue(batch_project, capsys):
    project = batch_project(extra="""\
        - stage prod:
            - queue: cpu
        """)
    cpu = job_script(capsys, project, "--stage", "prod")
    gpu = job_script(capsys, project, "--stage", "prod:gpu", "--queue", "gpu")
    assert "#SBATCH --gres=gpu:1" not in cpu and "#SBATCH --gres=gpu:1" in gpu
    # one daskserver per substage, one storage for the stage
    assert "daskserver-hpc-rw-rna--STAGE-prod.log-%j.out" in cpu
    assert "daskserver-hpc-rw-rna--STAGE-prodSUBSTAGE-gpu.log-%j.out" in gpu


def test_slurm_whole_node_exclusive_and_node_selection(batch_project, capsys):
    script = job_script(capsys, batch_project(extra="- node: n17\n"), "--queue", "whole")
    assert header(script, "#SBATCH")[:8] == [
        "#SBATCH -J dask-worker", "#SBATCH -p compute", "#SBATCH -n 1", "#SBATCH --cpus-per-task=1",
        "#SBATCH --mem=8G", "#SBATCH -t 01:00:00", "#SBATCH --nodelist=n17", "#SBATCH --exclusive"]
    lines = script.splitlines()
    assert "export SEAMLESS_DASK_QUEUE_EXCLUSIVE=1" in lines
    assert "export SLURM_CPUS_PER_TASK=$SLURM_JOB_CPUS_PER_NODE" in lines
    assert " --nthreads 1 " in lines[-1] and "--nthreads 12" not in lines[-1]


def test_exclusive_with_fixed_cores_is_refused_by_the_wrapper(batch_project, capsys):
    """0.3.2's file parameters give an exclusive queue with 'cores' a 'job_cores' equal to it; the
    installed seamless-dask-wrapper refuses any 'job_cores' in exclusive mode. job-script says so
    before a daskserver fails on it."""
    lines = (SLURM_CLUSTER + OAR_CLUSTER).splitlines()
    at = [i + 1 for i, line in enumerate(lines) if line == "    fixed:"]  # the queue's definition, per cluster
    for cluster, line in zip(("hpc", "grid"), at, strict=True):
        assert mistake(capsys, batch_project(cluster), "--queue", "fixed") == (
            f"seamless-config: ~/.seamless/clusters.yaml:{line}: seamless-dask-wrapper refuses queue 'fixed', so "
            "its daskserver would not start: Parameter 'job_cores' must not be set in exclusive mode (an "
            "exclusive queue takes whole nodes: remove its 'cores', or its 'exclusive')")


def test_check_has_the_wrapper_judge_the_queues_its_stages_start(batch_project, capsys):
    """``seamless-config check`` says what job-script says of the queue a stage's daskserver takes, at
    the queue's line, once for every stage that takes it; a queue no stage takes is not judged."""
    lines = (SLURM_CLUSTER + OAR_CLUSTER).splitlines()
    line = lines.index("    fixed:") + 1
    project = batch_project(extra="- stage a:\n    - queue: fixed\n- stage b:\n    - queue: fixed\n")
    code = main(["check", "--workdir", str(project)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, ""), err
    assert err.splitlines() == [
        f"seamless-config: ~/.seamless/clusters.yaml:{line}: seamless-dask-wrapper refuses queue 'fixed', so its "
        "daskserver would not start: Parameter 'job_cores' must not be set in exclusive mode (an exclusive queue "
        "takes whole nodes: remove its 'cores', or its 'exclusive') [stage a, stage b]"]
    code = main(["check", "--json", "--workdir", str(project)])
    doc = json.loads(capsys.readouterr().out)
    assert code == 2 and [(e["code"], e["line"], e["stages"]) for e in doc["errors"]] == [("SC205", line, ["a", "b"])]
    # without the stages, the selected queue ('cpu') is one the wrapper takes
    assert main(["check", "--workdir", str(batch_project())]) == 0
    assert capsys.readouterr().err == ""


def test_pure_dask_mode(batch_project, capsys):
    script = job_script(capsys, batch_project(extra="- persistent: false\n"))
    assert "pure-daskserver-hpc-cpu.log-%j.out" in script
    # pure Dask: one process per core, two threads each
    assert " --nthreads 2 " in script.splitlines()[-1]


# -- OAR -----------------------------------------------------------------------------------------

# What the same queue parameters give when handed to OARCluster directly (0.3.2's file
# parameters; the wrapper makes cores 1 for a whole-node job, as dask-jobqueue requires cores).
OAR_DIRECT = {
    "cores4": dict(cores=4, memory="16GB", walltime="02:00:00", project="lab"),
    "whole": dict(cores=1, memory="16GB", walltime="02:00:00", project="lab", resource_spec="/nodes=1"),
    "extra": dict(cores=4, memory="16GB", walltime="02:00:00", project="lab", job_extra_directives=["-t besteffort"]),
}


def oar_cluster_header(**kwargs: Any) -> list[str]:
    cluster = dask_jobqueue.OARCluster(
        memory_per_core_property_name="memcore", scheduler_options={"host": "127.0.0.1", "dashboard_address": ":0"},
        **kwargs)
    try:
        return header(cluster.job_script(), "#OAR")
    finally:
        cluster.close()


@pytest.mark.parametrize("queue", list(OAR_DIRECT))
def test_oar_directives_match_oarcluster(batch_project, capsys, queue):
    script = job_script(capsys, batch_project("grid"), "--queue", queue)
    ours = [line for line in header(script, "#OAR") if not line.startswith(("#OAR --stdout", "#OAR --stderr"))]
    assert ours == oar_cluster_header(**OAR_DIRECT[queue])


def test_oar_exclusive_whole_node_and_resource_specs(batch_project, capsys):
    project = batch_project("grid")
    assert header(job_script(capsys, project), "#OAR")[:4] == [
        "#OAR -n dask-worker", "#OAR --project lab", "#OAR -l /nodes=1/core=4,walltime=02:00:00",
        "#OAR -p memcore>=3815"]
    whole = header(job_script(capsys, project, "--queue", "whole"), "#OAR")
    assert whole[2:4] == ["#OAR -l /nodes=1,walltime=02:00:00", "#OAR -p memcore>=15259"]
    extra = header(job_script(capsys, project, "--queue", "extra"), "#OAR")
    assert extra[2:5] == ["#OAR -l /nodes=1/core=4,walltime=02:00:00", "#OAR -t besteffort", "#OAR -p memcore>=3815"]


def test_oar_node_selection(batch_project, capsys, home):
    """``- node:`` reaches OAR as 0.3.2 passes it: the two directives ``-p`` and ``host='NODE'``."""
    script = job_script(capsys, batch_project("grid", "- node: n17\n"))
    ours = [line for line in header(script, "#OAR") if not line.startswith(("#OAR --stdout", "#OAR --stderr"))]
    assert ours == oar_cluster_header(**OAR_DIRECT["cores4"], job_extra_directives=["-p", "host='n17'"])
    assert "#OAR host='n17'" in ours
    # a frontend reached over SSH keeps its service logs in its own home directory
    assert "#OAR --stdout=~/.remote-http-launcher/server/daskserver-grid-rw-rna.log-%jobid%.out" in script


def test_oar_cluster_needs_memory_per_core_property(home, write_clusters, write_tree, capsys):
    write_clusters(OAR_CLUSTER.replace("  memory_per_core_property_name: memcore\n", ""))
    root = write_tree({"proj/seamless.yaml": "- project: rna\n- cluster: grid\n"})
    assert mistake(capsys, root / "proj") == (
        "seamless-config: ~/.seamless/clusters.yaml:1: cluster 'grid' is of type oar and has no "
        "'memory_per_core_property_name', which seamless-dask-wrapper requires for OAR (add "
        "'memory_per_core_property_name: memcore' to the cluster (the property `oarnodes` lists; "
        "'not_applicable' if the cluster has none))")


# -- mistakes ------------------------------------------------------------------------------------


LOCAL_CLUSTER = """\
lab:
  type: local
  workers: 2
  frontends:
    - hostname: localhost
      daskserver: {network_interface: 127.0.0.1, port_start: 54040, port_end: 54099}
  queues:
    cpu: {cores: 2, memory: 2GB, walltime: "01:00:00"}
  default_queue: cpu
"""


def test_local_cluster_has_no_job_script(home, write_clusters, write_tree, capsys):
    write_clusters(LOCAL_CLUSTER)
    root = write_tree({"proj/seamless.yaml": "- project: rna\n- cluster: lab\n- persistent: false\n"})
    assert mistake(capsys, root / "proj") == (
        "seamless-config: ~/.seamless/clusters.yaml:1: cluster 'lab' is of type 'local': its Dask workers are "
        "not batch jobs, so there is no job script (select a cluster of type slurm or oar ('- cluster: NAME'), "
        "or give its 'type: slurm' / 'type: oar')")


def test_node_selection_on_a_local_cluster(home, write_clusters, write_tree, capsys):
    write_clusters(LOCAL_CLUSTER)
    root = write_tree({"proj/seamless.yaml": "- project: rna\n- cluster: lab\n- execution: process\n- persistent: false\n- node: n1\n"})
    assert mistake(capsys, root / "proj") == (
        f"seamless-config: {root}/proj/seamless.yaml:5: Node selection is not supported for cluster type 'local' "
        "(remove the 'node' command, or select a slurm or oar cluster)")


def test_unknown_queue(batch_project, capsys):
    assert mistake(capsys, batch_project(), "--queue", "gpus") == (
        "seamless-config: --queue: Cluster 'hpc' has no queue 'gpus' (did you mean 'gpu'?)")


def test_no_cluster(home, write_tree, capsys):
    root = write_tree({"proj/seamless.yaml": "- project: rna\n"})
    assert mistake(capsys, root / "proj") == (
        "seamless-config: No cluster selected, so there is no batch queue to show "
        "(add '- cluster: NAME' (a cluster of type slurm or oar) to seamless.profile.yaml)")


@pytest.mark.parametrize("walltime", ["00:03:00", "5", "2-00:00:00"])
def test_wrapper_refusal_is_a_mistake_not_a_traceback(home, write_clusters, write_tree, capsys, walltime):
    """A walltime the wrapper cannot make a worker lifetime of (shorter than its stagger and grace, a
    bare number it reads as seconds, SLURM's days): the wrapper's words, at the queue, with the fix."""
    write_clusters(SLURM_CLUSTER.replace('walltime: "01:00:00"', f'walltime: "{walltime}"'))
    root = write_tree({"proj/seamless.yaml": "- project: rna\n- cluster: hpc\n"})
    line = SLURM_CLUSTER.splitlines().index("    cpu:") + 1
    said = mistake(capsys, root / "proj")
    prefix = (f"seamless-config: ~/.seamless/clusters.yaml:{line}: seamless-dask-wrapper refuses queue 'cpu', so "
              "its daskserver would not start: ")
    assert said.startswith(prefix) and "lifetime" in said[len(prefix):], said
    assert said.endswith("(the wrapper gives each worker the queue's walltime, less 'lifetime_stagger' (4m unless "
                         "set) and a minute; it reads HH:MM:SS or a duration such as 90m, a bare number as seconds, "
                         "and no days: write a longer walltime in hours (\"01:00:00\", \"48:00:00\"), or give the "
                         "queue a 'lifetime')"), said
    assert "\n" not in said


def test_tmpdir_reaches_the_script_only_as_a_checked_path(batch_project, write_clusters, capsys):
    """A queue's ``tmpdir`` lands unquoted on the worker's command line: the job's own variables
    are kept for its shell to fill in, and anything a shell would run is refused at its line."""
    project = batch_project()
    write_clusters(SLURM_CLUSTER.replace("      partition: compute\n", "      partition: compute\n      tmpdir: $TMPDIR/dask\n"))
    assert "--local-directory $TMPDIR/dask " in job_script(capsys, project)
    hostile = "/tmp/x;touch${IFS}/tmp/pwned;`id`"
    write_clusters(SLURM_CLUSTER.replace("      partition: compute\n", f"      partition: compute\n      tmpdir: '{hostile}'\n"))
    line = SLURM_CLUSTER.splitlines().index("      partition: compute") + 2
    assert mistake(capsys, project).startswith(
        f"seamless-config: ~/.seamless/clusters.yaml:{line}: invalid tmpdir {hostile!r} (use an absolute path")


def test_nothing_is_submitted_or_started(batch_project, home, tmp_path):
    """Run as a user does, with ``sbatch``/``oarsub`` on the PATH that would record any call."""
    fake = tmp_path / "fakebin"
    fake.mkdir()
    calls = tmp_path / "calls"
    for name in ("sbatch", "oarsub", "squeue", "oarstat"):
        (fake / name).write_text(f"#!/bin/sh\necho {name} \"$@\" >> {calls}\n")
        (fake / name).chmod(0o755)
    env = {**os.environ, "HOME": str(home), "PATH": f"{fake}:{BIN.parent}:/usr/bin:/bin"}
    for cluster in ("hpc", "grid"):
        cp = subprocess.run([str(BIN), "job-script"], cwd=batch_project(cluster), env=env, capture_output=True,
                            text=True, timeout=120)
        assert cp.returncode == 0 and cp.stderr == "", cp.stderr
        assert cp.stdout.startswith("#!/usr/bin/env bash\n")
    assert not calls.exists(), calls.read_text()
    assert not (home / ".remote-http-launcher").exists()


# -- properties ----------------------------------------------------------------------------------

# queue field -> the daskserver's file_parameters key (conda is the launch dict's own field)
FP_KEY = {f: f.replace("_", "-") if f in ("unknown_task_duration", "target_duration", "lifetime_stagger",
                                           "dask_resources") else f
          for f in S.QUEUE_FIELD_NAMES if f != "conda"}
# extra_dask_config values reach dask as environment variables: the wrapper wants strings
# (values that read as numbers or booleans become them, even quoted: the wrapper would refuse those)
_CONFIG_WORDS = ("10s", "auto", "tcp", "spill")


def _stringify(fields: dict[str, Any]) -> dict[str, Any]:
    for key in ("extra_dask_config", "extra-dask-config"):
        if isinstance(fields.get(key), dict):
            fields[key] = {k: _CONFIG_WORDS[int(v) % len(_CONFIG_WORDS)] for k, v in fields[key].items()}
    return fields


def _expanded(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """The child queue's fields written out by hand: the template's, then the child's (null unsets)."""
    out = S.canonical(base)
    for k, v in S.canonical(child).items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ctype=st.sampled_from(["slurm", "oar"]), base=S.valid_queue_fields("slurm"),
       child=S.queue_fields(nulls=True, aliases=True), memory=st.sampled_from(["4GB", "500MB"]),
       cores=st.integers(1, 64))
def test_template_then_mapping_loses_no_written_field(ctype, base, child, memory, cores):
    base = _stringify({"memory": memory, **base})
    child = _stringify(child)
    # keep the child valid: job_cores only outside exclusive mode, cores required outside it
    merged = _expanded(base, child)
    if merged.get("exclusive") and "job_cores" in merged:
        child["job_cores"] = None
    elif not merged.get("exclusive") and "cores" not in merged:
        child["cores"] = cores
    if "memory" not in _expanded(base, child):
        child["memory"] = memory
    definition = {"type": ctype, "memory_per_core_property_name": "memcore",
                  "frontends": [{"hostname": "localhost", "daskserver": {
                      "network_interface": "127.0.0.1", "port_start": 6000, "port_end": 6099}}],
                  "queues": {"base": base, "child": {"TEMPLATE": "base", **child}}}
    cluster, errors = S.parse_cluster("c", definition)
    assert cluster is not None, errors
    written = _expanded(base, child)
    from seamless_config.core.services import Scope

    launch = daskserver_launch_dict(cluster, Scope("p"), "child", None, False).unwrap()
    fp = launch.get("file_parameters")
    # 1. the file parameters hold every field written, by hand or through the template
    for field, value in written.items():
        if field == "conda":
            assert launch.get("conda") == value
        elif field == "job_extra_directives":
            assert fp.get(field, [])[: len(value)] == value
        else:
            assert fp[FP_KEY[field]] == value, field
    # 2. the wrapper carries them on to dask-jobqueue and dask
    if "lifetime" not in written:
        fp.setdefault("walltime", "01:00:00")  # the wrapper needs one of them
    request = JobScriptRequest("c", ctype, "child", "k", launch.get("cluster_string"), "127.0.0.1", (6000, 6099),
                               tuple(fp.items()))
    try:
        section, dask_config = jobqueue_settings(request)
    except JobScriptError as exc:
        # The wrapper's known refusals (job-script reports them before a daskserver fails on them):
        # 0.3.2 derives job_cores = cores for exclusive queues, and the wrapper wants none there;
        # the wrapper derives the default worker lifetime from walltime, and cannot read 'D-HH:MM:SS'.
        if written.get("exclusive") and "cores" in written:
            assert "'job_cores' must not be set in exclusive mode" in str(exc)
        else:
            assert "-" in written.get("walltime", "") and "lifetime" not in written, exc
            assert "Failed to compute default lifetime" in str(exc)
        return
    exclusive = bool(written.get("exclusive"))
    expect: dict[str, Any] = {"memory": written["memory"]}
    if "walltime" in written:
        expect["walltime"] = written["walltime"]
    if "cores" in written:
        expect["cores"] = written["cores"] if exclusive else written.get("job_cores", written["cores"])
    if "tmpdir" in written:
        expect["local-directory"] = written["tmpdir"]
    if "partition" in written:
        expect["queue"] = written["partition"]
    if "project" in written:
        expect["project"] = written["project"]
    if "processes" in written and not exclusive:
        expect["processes"] = written["processes"]
    for key, value in expect.items():
        assert section[key] == value, key
    for directive in written.get("job_extra_directives", []):
        assert directive in section["job-extra-directives"]
    for line in written.get("job_script_prologue", []):
        assert line in section["job-script-prologue"]
    if "worker_threads" in written and not exclusive:
        assert f"--nthreads {written['worker_threads']}" in section["worker-extra-args"]
    worker = dask_config["distributed"]["worker"]
    scheduler = dask_config["distributed"]["scheduler"]
    for field, got in (("lifetime", worker["lifetime"]["duration"]),
                       ("lifetime_stagger", worker["lifetime"]["stagger"]),
                       ("unknown_task_duration", scheduler["unknown-task-duration"]),
                       ("target_duration", scheduler["target-duration"])):
        if field in written:
            assert got == written[field], field
    for name, amount in written.get("dask_resources", {}).items():
        assert worker["resources"][name] == amount
    for dotted, value in written.get("extra_dask_config", {}).items():
        node = dask_config
        for part in dotted.split("."):
            node = node[part]
        assert node == value


def _bytes(memory: str) -> int:
    from dask.utils import parse_bytes

    return int(parse_bytes(memory))


def _slurm_mem_covers(directive: str, asked: int) -> bool:
    m = re.fullmatch(r"#SBATCH --mem=(\d+)([KMG])", directive)
    assert m, directive
    unit = {"K": 2**10, "M": 2**20, "G": 2**30}[m.group(2)]
    n = int(m.group(1))
    return n * unit >= asked and (n - 1) * unit < asked


walltimes = st.builds("{:02d}:{:02d}:{:02d}".format, st.integers(0, 71), st.integers(0, 59), st.integers(0, 59)).filter(
    lambda w: int(w[:2]) * 60 + int(w[3:5]) > 5)  # the wrapper's default lifetime: walltime - 4m stagger - 1m grace
memories = st.builds("{}{}".format, st.integers(1, 4000), st.sampled_from(["MB", "GB", "MiB", "GiB", "kB"])).filter(
    lambda m: _bytes(m) >= 2**20)


@settings(max_examples=100, deadline=None)
@given(system=st.sampled_from(["slurm", "oar"]), walltime=walltimes, cores=st.integers(1, 128), memory=memories,
       exclusive=st.booleans())
def test_script_holds_the_walltime_cores_and_memory_asked_for(system, walltime, cores, memory, exclusive):
    fp: dict[str, Any] = {"walltime": walltime}
    if exclusive:
        fp["exclusive"] = True
    fp.update(cores=cores, memory=memory, record=False)
    if system == "oar":
        fp["memory_per_core_property_name"] = "memcore"
    cluster_string = "dask_jobqueue::SLURMCluster" if system == "slurm" else "dask_jobqueue::OARCluster"
    request = JobScriptRequest("c", system, "q", "k", cluster_string, "127.0.0.1", (6000, 6099), tuple(fp.items()))
    script = render_job_script(request)
    lines = script.splitlines()
    if system == "slurm":
        assert f"#SBATCH -t {walltime}" in lines
        assert f"#SBATCH --cpus-per-task={cores}" in lines
        assert _slurm_mem_covers(next(line for line in lines if line.startswith("#SBATCH --mem=")), _bytes(memory))
    else:
        assert f"#OAR -l /nodes=1/core={cores},walltime={walltime}" in lines
        assert f"#OAR -p memcore>={math.ceil(_bytes(memory) / (cores * 2**20))}" in lines
    # the worker itself is limited to the memory asked for
    from dask.utils import format_bytes

    assert f" --memory-limit {format_bytes(_bytes(memory)).replace(' ', '')} " in lines[-1]


def test_job_script_request_round_trips_through_json(batch_project, capsys):
    """The request's parameters are the launch dict's file_parameters, JSON and all (as the state file holds them)."""
    from seamless_config.cli.config import _layout
    from seamless_config.core.jobqueue import job_script_request
    from seamless_config.core.layout import resolve_checked

    layout = _layout(str(batch_project()))
    res = resolve_checked(layout, None).unwrap()
    request = job_script_request(res.resolution).unwrap()
    plan_fp = res.plan.service("daskserver").launch.get("file_parameters")
    assert request.parameters() == json.loads(json.dumps(plan_fp))
