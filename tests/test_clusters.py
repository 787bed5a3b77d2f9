"""Every cluster, frontend, service and queue field; TEMPLATE; local_cluster; where clusters come from."""

from __future__ import annotations

import pytest

from seamless_config import ConfigurationError, config_files, tools
from seamless_config import select as sel
from seamless_config.cluster import get_cluster, get_local_cluster
from seamless_config.core.clusters import QUEUE_FIELDS

FULL = """\
full:
  type: slurm
  tunnel: true
  workers: 8
  memory_per_core_property_name: mem_per_cpu
  frontends:
  - hostname: fe1.example.org
    ssh_hostname: fe1
    hashserver:
      bufferdir: /data/buffers
      conda: hashenv
      network_interface: 10.0.0.1
      port_start: 5000
      port_end: 5099
    database:
      database_dir: /data/db
      conda: dbenv
      network_interface: 10.0.0.1
      port_start: 6000
      port_end: 6099
    jobserver:
      conda: jobenv
      network_interface: 10.0.0.2
      port_start: 7000
      port_end: 7099
    daskserver:
      network_interface: 10.0.0.3
      port_start: 8000
      port_end: 8099
  queues:
    all:
      conda: daskenv
      walltime: "01:00:00"
      cores: 4
      job_cores: 12
      memory: 10GB
      tmpdir: /scratch
      partition: part
      project: acct
      exclusive: false
      interactive: true
      job_extra_directives: ["--a"]
      job_script_prologue: ["module load cuda"]
      worker_threads: 5
      processes: 2
      lifetime: 40m
      lifetime_stagger: 3m
      unknown_task_duration: 1m
      target_duration: 10m
      dask_resources: {R: 1}
      extra_dask_config: {x: 1}
      maximum_jobs: 5
  default_queue: all
"""


@pytest.fixture
def loaded(project, write_clusters):
    def go(text, files=None, name=None):
        write_clusters(text, name)
        project(files or {})
        config_files.load_config_files()

    return go


def test_every_cluster_field(loaded):
    loaded(FULL)
    c = get_cluster("full")
    assert (c.name, c.type, c.tunnel, c.workers, c.memory_per_core_property_name, c.default_queue) == (
        "full", "slurm", True, 8, "mem_per_cpu", "all")
    fe = c.frontends[0]
    assert (fe.hostname, fe.ssh_hostname) == ("fe1.example.org", "fe1")
    assert vars(fe.hashserver) == {"bufferdir": "/data/buffers", "conda": "hashenv", "network_interface": "10.0.0.1",
                                   "port_start": 5000, "port_end": 5099}
    assert vars(fe.database) == {"database_dir": "/data/db", "conda": "dbenv", "network_interface": "10.0.0.1",
                                 "port_start": 6000, "port_end": 6099}
    assert vars(fe.jobserver) == {"conda": "jobenv", "network_interface": "10.0.0.2", "port_start": 7000, "port_end": 7099}
    assert vars(fe.daskserver) == {"network_interface": "10.0.0.3", "port_start": 8000, "port_end": 8099}


def test_every_queue_field(loaded):
    loaded(FULL)
    q = get_cluster("full").queues["all"]
    expected = {
        "name": "all", "conda": "daskenv", "walltime": "01:00:00", "cores": 4, "job_cores": 12, "memory": "10GB",
        "tmpdir": "/scratch", "partition": "part", "project": "acct", "exclusive": False, "interactive": True,
        "job_extra_directives": ["--a"], "job_script_prologue": ["module load cuda"], "worker_threads": 5,
        "processes": 2, "lifetime": "40m", "lifetime_stagger": "3m", "unknown_task_duration": "1m",
        "target_duration": "10m", "dask_resources": {"R": 1}, "extra_dask_config": {"x": 1}, "maximum_jobs": 5,
    }
    assert vars(q) == expected
    assert set(expected) - {"name"} == set(QUEUE_FIELDS)


def test_job_script_prologue_reaches_the_daskserver(loaded):
    # 0.3.2 crashes on this documented field
    loaded(FULL, {"proj/seamless.yaml": "- project: p\n- cluster: full\n"})
    d = tools.configure_daskserver()
    assert d["file_parameters"]["job_script_prologue"] == ["module load cuda"]


def test_unset_fields_are_none(loaded):
    loaded("minimal:\n  frontends:\n  - hostname: localhost\n")
    c = get_cluster("minimal")
    assert (c.type, c.tunnel, c.workers, c.memory_per_core_property_name, c.queues, c.default_queue) == (
        None, False, None, None, None, None)
    fe = c.frontends[0]
    assert (fe.ssh_hostname, fe.hashserver, fe.database, fe.jobserver, fe.daskserver) == (None,) * 5


def test_empty_queues_mapping_is_empty(loaded):
    loaded("c:\n  type: local\n  frontends: []\n  queues: {}\n")
    assert get_cluster("c").queues == {}
    assert get_cluster("c").frontends == []


@pytest.mark.parametrize("ctype", ["local", "slurm", "oar"])
def test_cluster_types(loaded, ctype):
    loaded(f"c:\n  type: {ctype}\n  frontends: [{{hostname: h}}]\n")
    assert get_cluster("c").type == ctype


@pytest.mark.parametrize("text,expected", [("true", True), ("false", False), ("null", False), ("yes", True)])
def test_tunnel(loaded, text, expected):
    loaded(f"c:\n  tunnel: {text}\n  frontends: [{{hostname: h}}]\n")
    assert get_cluster("c").tunnel is expected


def test_hyphenated_queue_fields(loaded):
    loaded("c:\n  type: slurm\n  frontends: [{hostname: h}]\n  queues:\n"
           "    q: {cores: 1, unknown-task-duration: 2m, target-duration: 9m, lifetime-stagger: 1m,"
           " job-extra-directives: [--x], extra-dask-config: {a: 1}}\n")
    q = get_cluster("c").queues["q"]
    assert (q.unknown_task_duration, q.target_duration, q.lifetime_stagger, q.job_extra_directives, q.extra_dask_config) == (
        "2m", "9m", "1m", ["--x"], {"a": 1})


def test_single_string_list_fields_become_lists(loaded):
    loaded("c:\n  type: slurm\n  frontends: [{hostname: h}]\n  queues:\n    q: {cores: 1, job_extra_directives: --a}\n")
    assert get_cluster("c").queues["q"].job_extra_directives == ["--a"]


TEMPLATED = """\
c:
  type: slurm
  frontends: [{hostname: h}]
  queues:
    base:
      conda: env1
      walltime: "01:00:00"
      cores: 4
      memory: 10GB
      extra_dask_config: {a: 1, b: 2}
      job_extra_directives: [--a, --b]
    mid:
      TEMPLATE: base
      memory: null
      target-duration: 99m
    child:
      TEMPLATE: mid
      cores: 16
      extra_dask_config: {b: 3}
      job_extra_directives: [--c]
"""


def test_template_chain_overrides_and_unsets(loaded):
    loaded(TEMPLATED)
    qs = get_cluster("c").queues
    assert qs["mid"].memory is None and qs["mid"].target_duration == "99m" and qs["mid"].cores == 4
    child = qs["child"]
    assert (child.conda, child.walltime, child.cores, child.memory, child.target_duration) == (
        "env1", "01:00:00", 16, None, "99m")
    # lists and mappings are replaced, not merged
    assert child.extra_dask_config == {"b": 3}
    assert child.job_extra_directives == ["--c"]
    # the template is untouched
    assert qs["base"].memory == "10GB" and qs["base"].extra_dask_config == {"a": 1, "b": 2}


def test_template_rules_apply_to_the_resolved_queue(loaded):
    loaded("c:\n  type: slurm\n  frontends: [{hostname: h}]\n  queues:\n"
           "    ex: {exclusive: true}\n    shared: {TEMPLATE: ex, exclusive: false, cores: 2, job_cores: 3}\n")
    q = get_cluster("c").queues["shared"]
    assert (q.exclusive, q.cores, q.job_cores) == (False, 2, 3)


def test_queue_names_from_template_are_selectable(loaded):
    loaded(TEMPLATED, {"proj/seamless.yaml": "- cluster: c\n- queue: child\n"})
    assert sel.get_queue() == "child"


def test_local_cluster_without_cores_uses_workers(loaded):
    loaded("c:\n  type: local\n  workers: 3\n  frontends:\n  - hostname: localhost\n"
           "    daskserver: {network_interface: 127.0.0.1, port_start: 8000, port_end: 8100}\n"
           "  queues:\n    q: {}\n  default_queue: q\n",
           {"proj/seamless.yaml": "- project: p\n- cluster: c\n"})
    assert get_cluster("c").queues["q"].cores is None
    assert tools.configure_pure_daskserver()["file_parameters"]["cores"] == 3


# -- local_cluster ---------------------------------------------------------------------------


def test_local_cluster(loaded):
    loaded("local_cluster: here\nhere:\n  tunnel: true\n  frontends:\n  - hostname: localhost\n    ssh_hostname: me\n"
           "    hashserver: {bufferdir: /b, network_interface: 127.0.0.1, port_start: 5000, port_end: 5001}\n",
           {"proj/seamless.yaml": "- project: p\n"})
    assert get_local_cluster() == "here"
    assert sel.get_selected_cluster() is None  # naming it does not select it
    d = tools.configure_hashserver("rw", cluster="here")
    assert "tunnel" not in d and "hostname" not in d and "ssh_hostname" not in d
    assert (d["network_interface"], d["port_start"], d["port_end"]) == ("127.0.0.1", 5000, 5001)


def test_local_cluster_unknown_is_an_error(loaded):
    with pytest.raises(ConfigurationError) as exc:
        loaded("local_cluster: zz\nhere:\n  frontends: [{hostname: localhost}]\n")
    assert str(exc.value) == "~/.seamless/clusters.yaml:1: local_cluster names unknown cluster 'zz' (expected one of 'here')"


def test_a_default_queue_with_a_mistake_of_its_own_is_still_defined(loaded):
    """Only the queue's own mistake is reported, not also "default_queue is not one of its queues"."""
    with pytest.raises(ConfigurationError) as exc:
        loaded("c:\n  frontends: [{hostname: localhost}]\n  queues:\n    q: {cores: 0}\n  default_queue: q\n")
    assert str(exc.value) == ("~/.seamless/clusters.yaml:4: queue field 'cores' in cluster 'c', queue 'q' must be "
                              "at least 1, not 0")


def test_local_cluster_may_name_a_cluster_of_another_file(loaded, write_clusters):
    write_clusters("local_cluster: other\n", "a.yaml")
    loaded("other:\n  frontends: [{hostname: localhost}]\n")
    assert get_local_cluster() == "other"


# -- sources and precedence ------------------------------------------------------------------


def _def(bufferdir):
    return f"  frontends:\n  - hostname: localhost\n    hashserver: {{bufferdir: {bufferdir}}}\n"


def test_clusters_dir_overrides_clusters_yaml_and_first_name_wins(loaded, write_clusters):
    write_clusters("c:\n" + _def("/from-a"), "a.yaml")
    write_clusters("c:\n" + _def("/from-b"), "b.yaml")
    write_clusters("c:\n" + _def("/from-z") + "d:\n" + _def("/d-from-z"), "z.yaml")
    write_clusters("ignored:\n  - not a cluster\n", "x.txt")
    loaded("c:\n" + _def("/from-main") + "e:\n" + _def("/e-from-main"))
    assert get_cluster("c").frontends[0].hashserver.bufferdir == "/from-a"
    assert get_cluster("d").frontends[0].hashserver.bufferdir == "/d-from-z"
    assert get_cluster("e").frontends[0].hashserver.bufferdir == "/e-from-main"
    with pytest.raises(ConfigurationError):
        get_cluster("ignored")


def test_inline_clusters_replace_home_definitions_whole(loaded):
    loaded("c:\n  type: slurm\n  workers: 4\n" + _def("/home-def"), {
        "proj/seamless.yaml": "- clusters:\n    c:\n" + _def("/yaml-def").replace("  ", "      ", 1).replace("\n  -", "\n      -").replace("\n    h", "\n        h"),
    })
    c = get_cluster("c")
    assert c.frontends[0].hashserver.bufferdir == "/yaml-def"
    assert (c.type, c.workers) == (None, None)  # no field merging


def test_profile_clusters_win_over_yaml_clusters(loaded):
    cmd = "- clusters:\n    c:\n      frontends:\n      - hostname: localhost\n        hashserver: {{bufferdir: {}}}\n"
    loaded("", {"proj/seamless.yaml": cmd.format("/yaml"), "proj/seamless.profile.yaml": cmd.format("/profile")})
    assert get_cluster("c").frontends[0].hashserver.bufferdir == "/profile"


def test_a_replaced_definition_with_mistakes_is_not_used(loaded, write_clusters):
    # as in 0.3.2, only the definition in force is built: a later file replaces this one whole
    write_clusters("c:\n" + _def("/ok"), "a.yaml")
    loaded("c:\n  frontend: []\n")
    assert get_cluster("c").frontends[0].hashserver.bufferdir == "/ok"


def test_a_definition_with_mistakes_in_force_is_reported(loaded, write_clusters):
    write_clusters("c:\n  frontend: []\n", "a.yaml")
    with pytest.raises(ConfigurationError, match=r"clusters/a.yaml:2: unknown field 'frontend' in cluster 'c'"):
        loaded("c:\n" + _def("/ok"))


def test_unknown_cluster_lookup(loaded):
    loaded("here:\n  frontends: [{hostname: localhost}]\n")
    with pytest.raises(ConfigurationError) as exc:
        get_cluster("her")
    assert str(exc.value) == "unknown cluster 'her' (did you mean 'here'?)"


def test_multiple_frontends_first_with_the_service_wins(loaded):
    loaded("""\
m:
  type: slurm
  workers: 2
  frontends:
  - hostname: a
    hashserver: {bufferdir: /a}
  - hostname: b
    hashserver: {bufferdir: /b}
    database: {database_dir: /bdb}
    jobserver: {conda: e, network_interface: 1.1.1.1, port_start: 1, port_end: 2}
  - hostname: c
    database: {database_dir: /cdb}
""", {"proj/seamless.yaml": "- project: p\n- cluster: m\n"})
    assert tools.configure_hashserver("rw")["hostname"] == "a"
    assert tools.configure_database("rw")["hostname"] == "b"
    assert tools.configure_jobserver()["hostname"] == "b"
    assert tools.configure_hashserver("rw", frontend_name="b")["workdir"] == "/b/p"
    assert tools.configure_database("rw", frontend_name="c")["workdir"] == "/cdb/p"


def test_only_dot_yaml_files_in_clusters_dir(loaded, write_clusters):
    write_clusters("c:\n" + _def("/from-yml"), "a.yml")
    loaded("c:\n" + _def("/from-main"))
    assert get_cluster("c").frontends[0].hashserver.bufferdir == "/from-main"


# -- what the files Seamless's docs teach rely on ------------------------------------------------

DOCS_LOCAL = """\
local:
  type: local
  workers: 3
  frontends:
    - hashserver:
        bufferdir: /data/buffers
        conda: ""
        network_interface: 127.0.0.1
        port_start: 5100
        port_end: 5199
      database:
        database_dir: /data/db
        conda: ""
        port_start: 5200
        port_end: 5299
local_cluster: local
"""


def test_a_local_clusters_frontend_without_hostname_is_localhost(project, write_clusters):
    write_clusters(DOCS_LOCAL)
    project({"proj/seamless.yaml": "- project: p\n- cluster: local\n- execution: process\n"})
    config_files.load_config_files()
    assert get_cluster("local").frontends[0].hostname == "localhost"
    ld = tools.configure_hashserver("rw")
    assert ld["key"] == "hashserver-local-rw-p"


def test_other_cluster_types_still_need_a_hostname(project, write_clusters):
    write_clusters(DOCS_LOCAL.replace("type: local", "type: slurm"))
    project({"proj/seamless.yaml": "- project: p\n"})
    with pytest.raises(ConfigurationError, match="frontend 1 of cluster 'local' has no 'hostname'"):
        config_files.load_config_files()


def test_an_empty_conda_stays_empty_in_launch_dicts(project, write_clusters):
    write_clusters(DOCS_LOCAL.replace("  workers: 3\n", "  workers: 3\n  tunnel: false\n"))
    project({"proj/seamless.yaml": "- project: p\n- cluster: local\n- execution: process\n"})
    config_files.load_config_files()
    assert tools.configure_hashserver("rw")["conda"] == ""
    assert tools.configure_database("ro")["conda"] == ""


def test_spawn_without_a_cluster_takes_the_local_clusters_workers(project, write_clusters):
    """seamless-transformer's spawn-config stage: '- cluster: null' and '- execution: spawn'."""
    from seamless_config.session import current_plan

    write_clusters(DOCS_LOCAL)
    project({"proj/seamless.yaml": "- project: p\n- cluster: null\n- execution: spawn\n"})
    config_files.load_config_files()
    plan = current_plan()
    assert (plan.cluster, plan.spawn_workers, plan.services) == (None, 3, ())


def test_persistent_without_a_cluster_is_refused(project, write_clusters):
    from seamless_config.session import current_plan

    write_clusters(DOCS_LOCAL)
    project({"proj/seamless.yaml": "- project: p\n- execution: process\n- persistent: true\n"})
    config_files.load_config_files()
    with pytest.raises(ConfigurationError) as exc:
        current_plan()
    assert str(exc.value) == ("seamless.yaml:3: Persistence was explicitly enabled but no cluster was defined "
                              "(select a cluster whose hashserver and database keep the results, or remove "
                              "'persistent: true')")


def test_seamless_cache_switched_on_keeps_the_project_the_files_selected(project, write_clusters, monkeypatch, tmp_path):
    write_clusters(DOCS_LOCAL)
    project({"proj/seamless.yaml": "- project: p\n- cluster: local\n"})
    config_files.load_config_files()
    monkeypatch.setenv("SEAMLESS_CACHE", str(tmp_path / "cache"))
    config_files.load_config_files()
    assert sel.get_current()[:2] == ("__SEAMLESS_CACHE__", "p")


@pytest.mark.parametrize("clusters,expected", [
    (DOCS_LOCAL.replace("  workers: 3\n", ""), 0),  # local_cluster without workers: one per CPU, as 0.3.2's spawn(None)
    (DOCS_LOCAL.replace("local_cluster: local\n", ""), 3),  # no local_cluster (0.3.2: KeyError): the selected cluster's
])
def test_spawn_worker_count(project, write_clusters, clusters, expected):
    from seamless_config.core.plan import SPAWN_PER_CPU
    from seamless_config.session import current_plan

    assert SPAWN_PER_CPU == 0
    write_clusters(clusters)
    project({"proj/seamless.yaml": "- project: p\n- cluster: local\n- execution: spawn\n"})
    config_files.load_config_files()
    assert current_plan().spawn_workers == expected


def test_no_storage_and_no_daskserver_is_refused(project, write_clusters):
    """0.3.2: "Pure Dask mode requires a daskserver remote target"; here with the line and the fixes."""
    from seamless_config.session import current_plan

    write_clusters(DOCS_LOCAL)
    project({"proj/seamless.yaml": "- project: p\n- cluster: local\n- persistent: false\n"})
    config_files.load_config_files()
    with pytest.raises(ConfigurationError, match=r"^seamless.yaml:3: persistent is false, .* remote target of "
                                                 r"cluster 'local' is neither"):
        current_plan()
