"""``seamless-config show / explain / diff / check`` on a layered project, with exact output.

The project: ``~/work/seamless.yaml`` (project, an inline cluster), ``~/work/rna``
(inherits; stage blocks in both files) and ``~/work/rna/analysis`` (inherits; the
work directory), and two home cluster files defining ``hpc`` (the one in
``clusters/`` replaces the one in ``clusters.yaml``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from seamless_config.cli.config import main

BIN = Path(sys.executable).parent / "seamless-config"

HPC_V1 = """\
hpc:
  type: slurm
  workers: 8
  frontends:
    - hostname: login.hpc.example.org
      ssh_hostname: hpc1
      hashserver: {bufferdir: /scratch/buffers, port_start: 5100, port_end: 5199}
      database: {database_dir: /scratch/db, port_start: 5200, port_end: 5299}
      daskserver: {network_interface: 0.0.0.0, port_start: 5400, port_end: 5499}
"""
HPC_V2 = """\
hpc:
  type: slurm
  tunnel: true
  workers: 16
  frontends:
    - hostname: login.hpc.example.org
      ssh_hostname: hpc1
      hashserver: {bufferdir: /scratch/buffers, port_start: 5100, port_end: 5199}
      database: {database_dir: /scratch/db, port_start: 5200, port_end: 5299}
      daskserver: {network_interface: 0.0.0.0, port_start: 5400, port_end: 5499}
  queues:
    base:
      cores: 8
      walltime: "01:00:00"
      extra_dask_config: {distributed.comm.tls.key: /k.pem, api_token: abc}
    long:
      TEMPLATE: base
      walltime: "24:00:00"
    bigmem:
      TEMPLATE: long
      cores: 32
      job-cores: 64
      memory: 64GB
  default_queue: base
"""
LEVEL1 = """\
- project: rna
- execution: process
- clusters:
    lab:
      type: local
      frontends:
        - hostname: localhost
          hashserver: {bufferdir: /data/buffers}
          database: {database_dir: /data/db}
- cluster: lab
"""
LEVEL2 = """\
- inherit_from_parent
- subproject: folding
- stage prod:
    - cluster: hpc
    - execution: remote
    - queue: long
- stage switch:
    - cluster: hpc
    - queue: long
    - cluster: lab
"""
LEVEL2_PROFILE = """\
- stage prod:
    - queue: bigmem
- stage test:
    - subproject: folding/test
"""
LEVEL3 = """\
- inherit_from_parent
- nparallel: 4
"""
FILES = {
    ".seamless/clusters.yaml": HPC_V1,
    ".seamless/clusters/hpc.yaml": HPC_V2,
    "work/seamless.yaml": LEVEL1,
    "work/rna/seamless.yaml": LEVEL2,
    "work/rna/seamless.profile.yaml": LEVEL2_PROFILE,
    "work/rna/analysis/seamless.yaml": LEVEL3,
}


@pytest.fixture
def layered(home, monkeypatch):
    for rel, text in FILES.items():
        p = home / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    wd = home / "work" / "rna" / "analysis"
    monkeypatch.chdir(wd)
    return home


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def ok(capsys, *argv: str) -> str:
    code, out, err = cli(capsys, *argv)
    assert (code, err) == (0, ""), err
    return out


def mistake(capsys, *argv: str) -> list[str]:
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "", (code, out, err)
    assert "Traceback" not in err
    return err.splitlines()


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# -- show ------------------------------------------------------------------------------------


def test_show_three_levels_no_stage(layered, capsys):
    assert ok(capsys, "show") == dedent("""
        selection (no stage)
          project     rna      ~/work/seamless.yaml:1
          subproject  folding  ~/work/rna/seamless.yaml:2
          stage       -        (default)
          substage    -        (default)
          cluster     lab      ~/work/seamless.yaml:10
          execution   process  ~/work/seamless.yaml:2
          remote      -        (default)
          queue       -        (default)
          persistent  true     (default: a cluster is selected)
          record      false    (default)
          node        -        (default)
          nparallel   4        seamless.yaml:2
        services
          hashserver
            host     localhost                       ~/work/seamless.yaml:7
            ssh      - (runs on this machine)        (derived)
            workdir  /data/buffers/rna/folding       ~/work/seamless.yaml:8
            key      hashserver-lab-rw-rna--folding  (derived)
            ports    any free port                   (default)
            tunnel   false                           (default)
          database
            host     localhost                     ~/work/seamless.yaml:7
            ssh      - (runs on this machine)      (derived)
            workdir  /data/db/rna/folding          ~/work/seamless.yaml:9
            key      database-lab-rw-rna--folding  (derived)
            ports    any free port                 (default)
            tunnel   false                         (default)
        """)


def test_show_stage_blocks_home_cluster_and_queue_chain(layered, capsys):
    out = ok(capsys, "show", "--stage", "prod")
    assert out.startswith(dedent("""
        selection (stage prod)
          project     rna         ~/work/seamless.yaml:1
          subproject  folding     ~/work/rna/seamless.yaml:2
          stage       prod        (command line)
          substage    -           (default)
          cluster     hpc         ~/work/rna/seamless.yaml:4 (stage prod)
          execution   remote      ~/work/rna/seamless.yaml:5 (stage prod)
          remote      daskserver  (default: the only remote service cluster 'hpc' offers)
          queue       bigmem      ~/work/rna/seamless.profile.yaml:2 (stage prod)
          persistent  true        (default: a cluster is selected)
          record      false       (default)
          node        -           (default)
          nparallel   4           seamless.yaml:2
        queue bigmem (TEMPLATE chain: bigmem <- long <- base)
          cores              32                                               ~/.seamless/clusters/hpc.yaml:21
          walltime           24:00:00                                         ~/.seamless/clusters/hpc.yaml:18
          extra_dask_config  {distributed.comm.tls.key: ***, api_token: ***}  ~/.seamless/clusters/hpc.yaml:15
          job_cores          64                                               ~/.seamless/clusters/hpc.yaml:22
          memory             64GB                                             ~/.seamless/clusters/hpc.yaml:23
        services
          hashserver
            host     login.hpc.example.org                       ~/.seamless/clusters/hpc.yaml:6
            ssh      hpc1                                        ~/.seamless/clusters/hpc.yaml:7
            workdir  /scratch/buffers/rna/folding/STAGE-prod     ~/.seamless/clusters/hpc.yaml:8
            key      hashserver-hpc-rw-rna--folding--STAGE-prod  (derived)
            ports    5100-5199                                   ~/.seamless/clusters/hpc.yaml:8
            tunnel   true                                        ~/.seamless/clusters/hpc.yaml:3
        """))
    assert "  daskserver\n" in out and "daskserver-hpc-rw-rna--folding--STAGE-prod" in out
    assert "/k.pem" not in out and "abc" not in out


def test_show_secrets_on_request(layered, capsys):
    out = ok(capsys, "show", "--stage", "prod", "--show-secrets")
    assert "{distributed.comm.tls.key: /k.pem, api_token: abc}" in out


def test_show_json(layered, capsys, home):
    doc = json.loads(ok(capsys, "show", "--stage", "prod:gpu", "--json"))
    assert doc["schema"] == "seamless-config/show/1"
    assert doc["workdir"] == str(home / "work/rna/analysis")
    assert list(doc["selection"]) == sorted(["project", "subproject", "stage", "substage", "cluster", "execution",
                                             "remote", "queue", "persistent", "record", "node", "nparallel"])
    assert doc["selection"]["cluster"] == {
        "value": "hpc", "origin": {"file": str(home / "work/rna/seamless.yaml"), "line": 4},
        "stage_block": "prod", "note": None}
    assert doc["selection"]["substage"] == {"value": "gpu", "origin": {"file": "(command line)", "line": None},
                                            "stage_block": None, "note": None}
    assert doc["selection"]["record"] == {"value": False, "origin": None, "stage_block": None, "note": None}
    assert doc["queue"]["name"] == "bigmem" and doc["queue"]["template_chain"] == ["long", "base"]
    assert doc["queue"]["fields"]["extra_dask_config"]["value"] == {
        "distributed.comm.tls.key": "***", "api_token": "***"}
    assert [s["role"] for s in doc["services"]] == ["hashserver", "database", "daskserver"]
    dask = doc["services"][2]
    assert dask["key"] == "daskserver-hpc-rw-rna--folding--STAGE-prodSUBSTAGE-gpu"
    assert (dask["host"], dask["ssh"], dask["ports"], dask["tunnel"]) == ("login.hpc.example.org", "hpc1", [5400, 5499], True)
    assert dask["origins"]["ports"] == {"file": str(home / ".seamless/clusters/hpc.yaml"), "line": 10}


def test_show_configuration_mistake_is_one_line_exit_2(layered, capsys, home):
    (home / "work/rna/analysis/seamless.yaml").write_text("- inherit_from_parent\n- queue: nope\n")
    assert mistake(capsys, "show", "--stage", "prod") == [
        "seamless-config: seamless.yaml:2: cluster 'hpc' has no queue 'nope' (expected one of 'base', 'bigmem', 'long')"]
    assert mistake(capsys, "show", "--stage", "a--b") == [
        "seamless-config: invalid stage name 'a--b': '--' separates parts of service keys (use a single '-')"]


def test_show_workdir_flag(layered, capsys, home, monkeypatch):
    monkeypatch.chdir(home)
    out = ok(capsys, "show", "--workdir", "work/rna")
    assert "  nparallel   -        (default)\n" in out
    assert "  subproject  folding  work/rna/seamless.yaml:2\n" in out


# -- explain ---------------------------------------------------------------------------------


def test_explain_cluster_history_and_replaced_definitions(layered, capsys):
    assert ok(capsys, "explain", "cluster", "--stage", "prod") == dedent("""
        cluster = hpc
          from ~/work/rna/seamless.yaml:4 (stage prod)
          history, oldest first:
            ~/work/seamless.yaml:10                  lab  overridden
            ~/work/rna/seamless.yaml:4 (stage prod)  hpc  in effect
          definition of cluster 'hpc', oldest first:
            ~/.seamless/clusters.yaml:1      replaced: cluster file
            ~/.seamless/clusters/hpc.yaml:1  in effect: cluster file
        """)


def test_explain_inline_definition_replaces_home_one(layered, capsys, home):
    (home / "work/rna/seamless.profile.yaml").write_text(
        "- clusters:\n    hpc:\n      type: local\n      workers: 2\n"
        "      frontends: [{hostname: localhost, hashserver: {bufferdir: /b}, database: {database_dir: /d}}]\n"
        "- cluster: hpc\n")
    assert ok(capsys, "explain", "cluster.workers") == dedent("""
        cluster.workers = 2
          from ~/work/rna/seamless.profile.yaml:4 (cluster 'hpc')
          history, oldest first:
            ~/.seamless/clusters.yaml:3         8   replaced: cluster file
            ~/.seamless/clusters/hpc.yaml:4     16  replaced: cluster file
            ~/work/rna/seamless.profile.yaml:4  2   in effect: clusters command
        """)


def test_explain_queue_field_through_template_chain(layered, capsys):
    assert ok(capsys, "explain", "queue.walltime", "--stage", "prod") == dedent("""
        queue.walltime = 24:00:00
          from ~/.seamless/clusters/hpc.yaml:18 (queue 'bigmem' of cluster 'hpc', TEMPLATE chain bigmem <- long <- base)
          history, oldest first:
            ~/.seamless/clusters/hpc.yaml:14  01:00:00  overridden: queue 'base'
            ~/.seamless/clusters/hpc.yaml:18  24:00:00  in effect: queue 'long'
          queue selection:
            ~/work/rna/seamless.profile.yaml:2 (stage prod)  bigmem  in effect
        """)
    # the dashed spelling of a field is accepted, as in cluster files
    assert ok(capsys, "explain", "queue.job-cores", "--stage", "prod").startswith("queue.job_cores = 64\n")


def test_explain_queue_default_and_forgotten(layered, capsys):
    assert ok(capsys, "explain", "queue", "--stage", "switch") == dedent("""
        queue = -
          from (default)
          history, oldest first:
            ~/work/rna/seamless.yaml:9 (stage switch)   long  overridden
            ~/work/rna/seamless.yaml:10 (stage switch)  -     forgotten: 'cluster: lab' selects another cluster
        """)
    assert mistake(capsys, "explain", "queue.cores") == [
        "seamless-config: queue.cores: no queue is in effect for cluster 'lab' "
        "(select one with '- queue: NAME', or set 'default_queue' of the cluster)"]


def test_explain_defaults_and_secrets(layered, capsys):
    assert ok(capsys, "explain", "persistent") == "persistent = true\n  from (default: a cluster is selected)\n"
    out = ok(capsys, "explain", "queue.extra_dask_config", "--stage", "prod")
    assert out.startswith("queue.extra_dask_config = {distributed.comm.tls.key: ***, api_token: ***}\n")
    assert "abc" not in out
    assert "api_token: abc" in ok(capsys, "explain", "queue.extra_dask_config", "--stage", "prod", "--show-secrets")


def test_explain_unknown_names(layered, capsys):
    assert mistake(capsys, "explain", "clustr") == ["seamless-config: unknown name 'clustr' (did you mean 'cluster'?)"]
    assert mistake(capsys, "explain", "queue.walltme", "--stage", "prod") == [
        "seamless-config: unknown queue field 'walltme' (did you mean 'walltime'?)"]
    assert mistake(capsys, "explain", "daskserver.ports") == [
        "seamless-config: daskserver.ports: the plan has no daskserver (its services: hashserver, database)"]


def test_explain_json(layered, capsys, home):
    doc = json.loads(ok(capsys, "explain", "execution", "--stage", "prod", "--json"))
    assert doc == {
        "schema": "seamless-config/explain/1", "name": "execution", "value": "remote",
        "origin": {"file": str(home / "work/rna/seamless.yaml"), "line": 5}, "stage_block": "prod", "note": None,
        "history": [
            {"value": "process", "origin": {"file": str(home / "work/seamless.yaml"), "line": 2},
             "stage_block": None, "status": "overridden", "detail": None},
            {"value": "remote", "origin": {"file": str(home / "work/rna/seamless.yaml"), "line": 5},
             "stage_block": "prod", "status": "in effect", "detail": None},
        ],
        "sections": [],
    }


# -- diff ------------------------------------------------------------------------------------


def test_diff_stages_do_not_share_storage(layered, capsys):
    out = ok(capsys, "diff", "-", "test")
    assert out == dedent("""
        --- no stage
        +++ stage test
        selection
          subproject
            - folding  [~/work/rna/seamless.yaml:2]
            + folding/test  [~/work/rna/seamless.profile.yaml:4 (stage test)]
          stage
            - -  [(default)]
            + test
        services
          hashserver.workdir
            - /data/buffers/rna/folding  [~/work/seamless.yaml:8]
            + /data/buffers/rna/folding/test/STAGE-test  [~/work/seamless.yaml:8]
          hashserver.key
            - hashserver-lab-rw-rna--folding
            + hashserver-lab-rw-rna--folding--test--STAGE-test
          database.workdir
            - /data/db/rna/folding  [~/work/seamless.yaml:9]
            + /data/db/rna/folding/test/STAGE-test  [~/work/seamless.yaml:9]
          database.key
            - database-lab-rw-rna--folding
            + database-lab-rw-rna--folding--test--STAGE-test
        storage: not shared (results cached in no stage are not seen in stage test, nor the other way round)
        """)


def test_diff_services_and_same_stage(layered, capsys):
    out = ok(capsys, "diff", "prod", "test")
    assert "  daskserver\n    - daskserver-hpc-rw-rna--folding--STAGE-prod\n    + (absent)\n" in out
    assert "  hashserver.ports\n    - 5100-5199  [~/.seamless/clusters/hpc.yaml:8]\n    + -  [(default)]\n" in out
    assert ok(capsys, "diff", "test", "test").endswith(
        "no differences in the selection or the services\n"
        "storage: shared (the two stages see the same buffers and cached results)\n")
    doc = json.loads(ok(capsys, "diff", "prod:cpu", "prod:gpu", "--json"))
    assert doc["schema"] == "seamless-config/diff/1" and doc["storage_shared"] is True
    assert set(doc["services"]) == {"daskserver.key"}
    assert set(doc["selection"]) == {"substage"}


# -- check -----------------------------------------------------------------------------------


def test_check_ok(layered, capsys):
    assert ok(capsys, "check") == "ok: 6 files, no stage and 3 stages (prod, switch, test)\n"


def test_check_reports_every_mistake_of_every_file_once(layered, capsys, home):
    (home / "work/seamless.yaml").write_text(LEVEL1.replace("- execution: process", "- executon: process"))
    (home / "work/rna/analysis/seamless.yaml").write_text("- inherit_from_parent\n- nparallel: 0\n- projct: x\n")
    (home / ".seamless/clusters.yaml").write_text(HPC_V1.replace("workers: 8", "workers: many"))
    (home / ".seamless/clusters/hpc.yaml").unlink()  # (it would replace the definition with the mistake)
    assert mistake(capsys, "check") == [
        "seamless-config: ~/.seamless/clusters.yaml:3: field 'workers' of cluster 'hpc' must be a whole number, not 'many'",
        "seamless-config: seamless.yaml:2: 'nparallel' command must be at least 1, not 0",
        "seamless-config: seamless.yaml:3: unknown command 'projct' (did you mean 'project'?)",
        "seamless-config: ~/work/seamless.yaml:2: unknown command 'executon' (did you mean 'execution'?)",
    ]


def test_check_stage_mistakes_deduplicated_with_their_stages(layered, capsys, home):
    (home / "work/rna/seamless.profile.yaml").write_text(
        "- stage prod:\n    - queue: bigmme\n- stage test:\n    - cluster: hcp\n- stage other:\n    - queue: x\n")
    assert mistake(capsys, "check") == [
        "seamless-config: ~/work/rna/seamless.profile.yaml:2: cluster 'hpc' has no queue 'bigmme' (did you mean 'bigmem'?) [stage prod]",
        "seamless-config: ~/work/rna/seamless.profile.yaml:4: unknown cluster 'hcp' (did you mean 'hpc'?) [stage test]",
        "seamless-config: ~/work/rna/seamless.profile.yaml:6: cluster 'lab' has no queues (define them under 'queues:' in the cluster) [stage other]",
    ]
    (home / "work/rna/analysis/seamless.yaml").write_text("- inherit_from_parent\n- execution: remote\n- persistent: false\n")
    # stages 'prod', 'test', 'other' fail before their plan: only the others show the plan's mistake
    assert mistake(capsys, "check")[0] == (
        "seamless-config: seamless.yaml:3: persistent is false, so nothing stores buffers or results; only a "
        "daskserver can work without storage, but the remote target of cluster 'lab' is neither (remove "
        "'persistent: false', or add '- remote: daskserver' and a 'daskserver:' section to a frontend) "
        "[no stage, stage switch]")


def test_check_strict(layered, capsys, home):
    # stage 'switch' selects hpc and a queue, then lab again: the same as no stage
    assert mistake(capsys, "check", "--strict") == [
        "seamless-config: ~/work/rna/seamless.yaml:7: stage 'switch' changes nothing: its blocks select the same as "
        "no stage (only the storage differs, under STAGE-switch) "
        "(add the commands that make the stage differ, or remove its blocks) [strict]"]
    (home / "work/rna/seamless.profile.yaml").write_text(dedent("""
        - clusters:
            spare:
              type: local
              frontends: [{hostname: localhost}]
            queued:
              type: local
              frontends: [{hostname: localhost, hashserver: {bufferdir: /b}, database: {database_dir: /d}}]
              queues: {q: {cores: 2}}
        - stage same:
            - nparallel: 4
        - stage q:
            - cluster: queued
        """))
    assert mistake(capsys, "check", "--strict") == [
        "seamless-config: ~/work/rna/seamless.profile.yaml:2: cluster 'spare' is defined but no stage selects it "
        "(remove it, or select it with '- cluster: spare') [strict]",
        "seamless-config: ~/work/rna/seamless.profile.yaml:5: cluster 'queued' defines queues, but none of its "
        "frontends has a daskserver: no queue of it can ever be used "
        "(add a 'daskserver:' section to a frontend, or remove 'queues:') [strict]",
        "seamless-config: ~/work/rna/seamless.yaml:7: stage 'switch' changes nothing: its blocks select the same as "
        "no stage (only the storage differs, under STAGE-switch) "
        "(add the commands that make the stage differ, or remove its blocks) [strict]",
        "seamless-config: ~/work/rna/seamless.profile.yaml:9: stage 'same' changes nothing: its blocks select the "
        "same as no stage (only the storage differs, under STAGE-same) "
        "(add the commands that make the stage differ, or remove its blocks) [strict]",
        NO_MEMORY,
    ]
    # without the profile's queue, stage prod's daskserver takes queue 'long', which the wrapper would
    # refuse: a mistake, strict or not
    assert mistake(capsys, "check") == [NO_MEMORY]


NO_MEMORY = ("seamless-config: ~/.seamless/clusters/hpc.yaml:16: queue 'long' of cluster 'hpc' has no 'memory', "
             "which the Dask workers need (add e.g. 'memory: 4GB' to queue 'long': the memory of one job) "
             "[stage prod]")


def test_check_json(layered, capsys, home):
    (home / "work/rna/seamless.profile.yaml").write_text("- stage prod:\n    - queue: bigmme\n")
    code, out, err = cli(capsys, "check", "--json")
    assert code == 2 and err == ""
    doc = json.loads(out)
    assert doc["schema"] == "seamless-config/check/1" and doc["ok"] is False
    assert doc["stages"] == [None, "prod", "switch"]
    assert doc["files"][0] == str(home / ".seamless/clusters.yaml") and len(doc["files"]) == 6
    assert doc["errors"] == [{
        "file": str(home / "work/rna/seamless.profile.yaml"), "line": 2,
        "message": "cluster 'hpc' has no queue 'bigmme'", "hint": "did you mean 'bigmem'?",
        "code": "SC202", "kind": "unknown-queue", "strict": False, "warning": False, "stages": ["prod"]}]


# -- the command line ------------------------------------------------------------------------


def test_job_script_says_what_the_wrapper_would_refuse(layered, capsys, home):
    # job-script itself is tested in tests/test_jobscript.py
    (home / ".seamless/clusters/hpc.yaml").write_text(HPC_V2.replace("      memory: 64GB\n", ""))
    assert mistake(capsys, "job-script", "--stage", "prod") == [
        "seamless-config: ~/.seamless/clusters/hpc.yaml:19: queue 'bigmem' of cluster 'hpc' has no 'memory', "
        "which the Dask workers need (add e.g. 'memory: 4GB' to queue 'bigmem': the memory of one job)"]


def test_usage_mistakes_exit_2(layered, capsys):
    code, out, err = cli(capsys, "shw")
    assert code == 2 and out == "" and "invalid choice: 'shw'" in err
    code, out, err = cli(capsys)
    assert code == 2 and "the following arguments are required: COMMAND" in err


def test_console_script(layered, home):
    """The installed script: stdout holds only the report, a warm cache is used."""
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "SEAMLESS_CONFIG_CACHE": str(home / "cache")}
    for _ in range(2):  # cold, then warm (validated cluster files are not checked again)
        p = subprocess.run([str(BIN), "show", "--stage", "prod", "--json"], capture_output=True, text=True,
                           env=env, cwd=home / "work/rna/analysis", timeout=60)
        assert (p.returncode, p.stderr) == (0, "")
        assert json.loads(p.stdout)["selection"]["queue"]["value"] == "bigmem"


OAR_PROFILE = """\
- clusters:
    oarlab:
      type: oar
      memory_per_core_property_name: memcore
      frontends:
        - hostname: localhost
          hashserver: {bufferdir: /tmp/seamless/buffers, port_start: 5000, port_end: 5010}
          database: {database_dir: /var/tmpdata/db, port_start: 5020, port_end: 5030}
- cluster: oarlab
- stage scratch:
    - persistent: false
"""


def check_warns(capsys, monkeypatch, proj: Path, files: dict[str, str], ok_line: str, warning: str) -> dict:
    """``check`` of a project of ``files``: exit 0 with ``ok_line``, and ``warning`` as the one line of
    standard error; the finding of ``check --json``."""
    proj.mkdir()
    for name, text in files.items():
        (proj / name).write_text(text)
    monkeypatch.chdir(proj)
    assert cli(capsys, "check") == (0, ok_line + "\n", f"seamless-config: warning: {warning}\n")
    code, out, err = cli(capsys, "check", "--json")
    (finding,) = json.loads(out)["errors"]
    return finding


def test_check_warns_of_storage_that_oar_purges(home, capsys, monkeypatch):
    # once, for the stage that stores (not 'scratch'); /var/tmpdata is not under /var/tmp
    finding = check_warns(
        capsys, monkeypatch, home / "oarproj",
        {"seamless.yaml": "- project: p\n- execution: process\n", "seamless.profile.yaml": OAR_PROFILE},
        "ok: 2 files, no stage and 1 stage (scratch)",
        "seamless.profile.yaml:7: cluster 'oarlab' is of type oar, and the hashserver's bufferdir "
        "/tmp/seamless/buffers is under /tmp, where OAR deletes every file of a job's user when the job ends "
        "(move 'bufferdir' to a directory outside /tmp, /dev/shm, /var/tmp) [no stage]")
    assert (finding["code"], finding["kind"], finding["warning"]) == ("SC302", "purged-storage", True)


def test_check_warns_of_remote_work_on_a_cluster_without_a_remote_service(home, capsys, monkeypatch):
    """What init() warns of, check warns of too: here only in the stage that asks for remote work."""
    finding = check_warns(capsys, monkeypatch, home / "storeonly", {"seamless.yaml": dedent("""\
        - project: p
        - clusters:
            store:
              type: local
              frontends:
                - hostname: localhost
                  hashserver: {bufferdir: /data/b, port_start: 5000, port_end: 5010}
                  database: {database_dir: /data/d, port_start: 5020, port_end: 5030}
        - cluster: store
        - execution: process
        - stage far:
            - execution: remote
        """)}, "ok: 1 file, no stage and 1 stage (far)",
        "seamless.yaml:12: execution is 'remote' but cluster 'store' offers neither a jobserver nor a daskserver: "
        "only storage is brought up, and transformations cannot run (add a 'jobserver:' or 'daskserver:' section "
        "to a frontend, or use '- execution: process') [stage far]")
    assert (finding["code"], finding["warning"], finding["stages"]) == ("SC108", True, ["far"])
