"""Launch dicts through tools.configure_*: fields, order, keys, commands, file_parameters, errors."""

from __future__ import annotations

import pytest

from seamless_config import ConfigurationError, config_files, tools
from seamless_config import select as sel

rhl = pytest.importorskip("remote_http_launcher")


def evaluated(d):
    cfg = rhl.Configuration.from_mapping(d)
    ns = dict(cfg.namespace, status_file="STATUS")
    return cfg.key, rhl._evaluate_template(cfg.command_template, ns)


@pytest.fixture
def std(project, standard_clusters):
    def go(text="- project: p\n- cluster: there\n", **files):
        project({"proj/seamless.yaml": text, **{f"proj/{k}": v for k, v in files.items()}})
        config_files.load_config_files()

    go()  # the default project; tests may load another one
    return go


def test_hashserver_dict_exact(std):
    std("- project: p\n- subproject: a/b\n- cluster: there\n")
    sel.select_stage("prod")
    d = tools.configure_hashserver("rw")
    assert list(d) == ["tunnel", "hostname", "ssh_hostname", "network_interface", "conda", "port_start", "port_end",
                       "log_level", "log_file", "debug_log_file", "timeout", "workdir", "key", "command", "handshake", "meta"]
    assert d == {
        "tunnel": True, "hostname": "fe1", "ssh_hostname": "fe1ssh", "network_interface": "10.0.0.1",
        "conda": "hashenv", "port_start": 5100, "port_end": 5199, "log_level": "minimal",
        "log_file": "~/.remote-http-launcher/logs/there/p/a/b/STAGE-prod/hashserver.log",
        "debug_log_file": "~/.remote-http-launcher/logs/there/p/a/b/STAGE-prod/hashserver.debug.log",
        "timeout": 600, "workdir": "/cluster/buffers/p/a/b/STAGE-prod", "key": "hashserver-there-rw-p--a--b--STAGE-prod",
        "command": "hashserver --port-range 5100 5199 --status-file {status_file} --host 10.0.0.1 --timeout 600 /cluster/buffers/p/a/b/STAGE-prod --writable",
        "handshake": "healthcheck",
        "meta": {"service": "hashserver", "cluster": "there", "mode": "rw", "project": "p", "subproject": "a/b",
                 "stage": "prod", "substage": None, "queue": None},
    }
    assert evaluated(d) == (
        "hashserver-there-rw-p--a--b--STAGE-prod",
        "hashserver --port-range 5100 5199 --status-file STATUS --host 10.0.0.1 --timeout 600 /cluster/buffers/p/a/b/STAGE-prod --writable",
    )


def test_hashserver_ro_and_minimal_frontend(std):
    std("- project: p\n- cluster: here\n")
    d = tools.configure_hashserver("ro")
    assert d["key"] == "hashserver-here-ro-p"
    assert "tunnel" not in d and "ssh_hostname" not in d and "network_interface" not in d and "conda" not in d
    assert d["hostname"] == "localhost"
    assert evaluated(d)[1] == "hashserver --port-range 5000 5099 --status-file STATUS --timeout 600 /data/buffers/p"


def test_database_dict(std):
    d = tools.configure_database("rw", stage="prod")
    assert d["workdir"] == "/cluster/db/p/STAGE-prod" and d["key"] == "database-there-rw-p--STAGE-prod"
    assert "conda" not in d
    assert evaluated(d)[1] == (
        "seamless-database --port-range 6100 6199 --status-file STATUS --host 10.0.0.1 --timeout 600 --writable /cluster/db/p/STAGE-prod/seamless.db")
    d = tools.configure_database("ro")
    assert evaluated(d)[1].endswith("--timeout 600 /cluster/db/p/seamless.db")


def test_storage_ignores_substage_dispatch_uses_it(std):
    sel.select_stage("prod")
    sel.select_substage("gpu")
    assert tools.configure_database("rw")["key"] == "database-there-rw-p--STAGE-prod"
    assert tools.configure_jobserver()["key"] == "jobserver-there-rw-p--STAGE-prodSUBSTAGE-gpu"
    assert tools.configure_daskserver()["key"] == "daskserver-there-rw-p--STAGE-prodSUBSTAGE-gpu"
    assert tools.configure_jobserver()["log_file"] == "~/.remote-http-launcher/logs/there/p/STAGE-prodSUBSTAGE-gpu/jobserver.log"


def test_substage_without_stage_is_ignored(std):
    assert tools.configure_jobserver(substage="gpu")["key"] == "jobserver-there-rw-p"


def test_jobserver_dict(std):
    std("- project: p\n- cluster: there\n- record: true\n")
    d = tools.configure_jobserver()
    assert list(d) == ["workers", "tunnel", "hostname", "ssh_hostname", "network_interface", "conda", "port_start",
                       "port_end", "file_parameters", "log_level", "log_file", "debug_log_file", "timeout", "workdir",
                       "key", "command", "handshake", "meta"]
    assert d["workers"] == 8 and d["workdir"] == "/tmp" and d["conda"] == "jobenv"
    assert d["file_parameters"] == {"database": [], "buffer": [], "record": True}
    assert evaluated(d) == ("jobserver-there-rw-p",
                            "seamless-jobserver --workers 8 --port-range 7000 7100 --status-file STATUS --host 10.0.0.2 --timeout 600")


def test_jobserver_mode_is_always_rw(std):
    assert tools.configure_jobserver()["meta"]["mode"] == "rw"


def test_daskserver_dict(std):
    std("- project: p\n- cluster: there\n- queue: q2\n")
    d = tools.configure_daskserver()
    assert list(d) == ["cluster_string", "tunnel", "hostname", "network_interface", "conda", "port_start", "port_end",
                       "file_parameters", "log_level", "log_file", "debug_log_file", "timeout", "workdir", "key",
                       "command", "handshake", "meta"]
    assert d["cluster_string"] == "dask_jobqueue::SLURMCluster"
    assert d["hostname"] == "fe2" and d["conda"] == "daskenv"
    assert d["file_parameters"] == {"walltime": "01:00:00", "cores": 16,
                                    "memory_per_core_property_name": "mem_per_core", "record": False}
    assert d["handshake"] == {"path": "health", "port_name": "dashboard_port"}
    assert d["meta"]["queue"] == "q2"
    assert evaluated(d) == ("daskserver-there-rw-p", "seamless-dask-wrapper dask_jobqueue::SLURMCluster --port-range 8000 8100 --status-file STATUS --host 10.0.0.3 --timeout 600")


def test_the_plan_says_how_the_dask_client_is_made(std):
    """The runtime's Seamless Dask client takes its worker count, local-cluster flag and interactive
    flag from the plan (core.plan.DaskClient), not from decisions of its own."""
    from seamless_config.core.launch import LaunchDict
    from seamless_config.core.plan import DaskClient

    std("- project: p\n- cluster: there\n- queue: q2\n")
    d = tools.configure_daskserver()
    assert DaskClient.of(LaunchDict("daskserver", "there", d)) == DaskClient(16, False, False)
    local = LaunchDict("daskserver", "c", {"cluster_string": "distributed::LocalCluster",
                                          "file_parameters": {"interactive": True}})
    assert DaskClient.of(local) == DaskClient(1, True, True)


def test_daskserver_uses_default_queue(std):
    assert tools.configure_daskserver()["file_parameters"]["memory"] == "10GB"


def test_pure_daskserver(std):
    d = tools.configure_pure_daskserver(queue="q2")
    assert d["key"] == "pure-daskserver-there-q2"
    assert d["log_file"] == "~/.remote-http-launcher/logs/there/pure-daskserver-q2.log"
    assert d["debug_log_file"] == "~/.remote-http-launcher/logs/there/pure-daskserver-q2.debug.log"
    assert d["file_parameters"] == {"walltime": "01:00:00", "cores": 16, "memory_per_core_property_name": "mem_per_core",
                                    "worker_threads": 2, "pure_dask": True}
    assert d["meta"]["project"] is None
    # no project needed
    sel.select_project("x")
    assert tools.configure_pure_daskserver()["key"] == "pure-daskserver-there-q1"


FP_CLUSTER = """\
c:
  type: {ctype}
  memory_per_core_property_name: mpc
  frontends:
  - hostname: fe
    daskserver: {{network_interface: 10.0.0.3, port_start: 8000, port_end: 8100}}
  queues:
    full:
      walltime: "01:00:00"
      exclusive: false
      cores: 4
      job_cores: 12
      memory: 10GB
      tmpdir: /scr
      partition: part
      job_extra_directives: ["--a"]
      project: acct
      worker_threads: 5
      processes: 2
      unknown_task_duration: 1m
      target_duration: 10m
      lifetime_stagger: 3m
      lifetime: 40m
      dask_resources: {{R: 1}}
      interactive: true
      maximum_jobs: 5
      extra_dask_config: {{x: 1}}
    excl:
      exclusive: true
      job_extra_directives: ["--a"]
    excl4:
      exclusive: true
      cores: 4
"""


@pytest.fixture
def fp(project, write_clusters):
    def go(ctype, queue, node=None):
        write_clusters(FP_CLUSTER.format(ctype=ctype))
        project({"proj/seamless.yaml": f"- project: p\n- cluster: c\n- queue: {queue}\n" + (f"- node: {node}\n" if node else "")})
        config_files.load_config_files()
        return tools.configure_daskserver()["file_parameters"], tools.configure_pure_daskserver()["file_parameters"]

    return go


def test_file_parameters_full_order(fp):
    dask, pure = fp("slurm", "full")
    assert list(dask.items()) == [
        ("walltime", "01:00:00"), ("exclusive", False), ("cores", 4), ("job_cores", 12), ("memory", "10GB"),
        ("tmpdir", "/scr"), ("partition", "part"), ("job_extra_directives", ["--a"]), ("project", "acct"),
        ("memory_per_core_property_name", "mpc"), ("worker_threads", 5), ("processes", 2),
        ("unknown-task-duration", "1m"), ("target-duration", "10m"), ("lifetime-stagger", "3m"), ("lifetime", "40m"),
        ("dask-resources", {"R": 1}), ("interactive", True), ("maximum_jobs", 5), ("extra_dask_config", {"x": 1}),
        ("record", False)]
    assert "exclusive" not in pure and "record" not in pure
    assert list(pure)[-2:] == ["pure_dask", "extra_dask_config"]


def test_slurm_exclusive_without_cores_and_node(fp):
    dask, pure = fp("slurm", "excl", node="n1")
    assert dask["job_extra_directives"] == ["--a", "--nodelist=n1", "--exclusive"]
    assert pure["job_extra_directives"] == ["--a", "--nodelist=n1"]


def test_oar_exclusive_without_cores_and_node(fp):
    dask, pure = fp("oar", "excl", node="n1")
    assert dask["resource_spec"] == "/nodes=1"
    assert dask["job_extra_directives"] == ["--a", "-p", "host='n1'"]
    assert list(dask).index("resource_spec") < list(dask).index("job_extra_directives")
    assert list(pure).index("resource_spec") > list(pure).index("job_extra_directives")


def test_exclusive_with_cores_sets_job_cores(fp):
    dask, pure = fp("slurm", "excl4")
    assert (dask["exclusive"], dask["cores"], dask["job_cores"]) == (True, 4, 4)
    assert "job_cores" not in pure


def test_node_on_local_cluster_is_refused(project, write_clusters):
    write_clusters("c:\n  type: local\n  frontends:\n  - hostname: localhost\n"
                   "    daskserver: {network_interface: 127.0.0.1, port_start: 1, port_end: 2}\n"
                   "  queues:\n    q: {cores: 1}\n  default_queue: q\n")
    project({"proj/seamless.yaml": "- project: p\n- cluster: c\n- node: n1\n"})
    config_files.load_config_files()
    with pytest.raises(ConfigurationError, match=r"Node selection is not supported for cluster type 'local'"):
        tools.configure_daskserver()
    with pytest.raises(ConfigurationError, match=r"Node selection is not supported for cluster type 'local'"):
        tools.configure_pure_daskserver()


def test_local_cluster_string(project, write_clusters):
    write_clusters("c:\n  type: local\n  frontends:\n  - hostname: localhost\n"
                   "    daskserver: {network_interface: 127.0.0.1, port_start: 1, port_end: 2}\n"
                   "  queues:\n    q: {cores: 1}\n  default_queue: q\n")
    project({"proj/seamless.yaml": "- project: p\n- cluster: c\n"})
    config_files.load_config_files()
    assert tools.configure_daskserver()["cluster_string"] == "distributed::LocalCluster"
    assert tools.configure_daskserver()["conda"] is None  # always present for dask


# -- errors ----------------------------------------------------------------------------------


def test_no_queue_selected_and_no_default(project, write_clusters):
    write_clusters("c:\n  type: slurm\n  frontends:\n  - hostname: fe\n"
                   "    daskserver: {network_interface: 10.0.0.1, port_start: 1, port_end: 2}\n"
                   "  queues:\n    a: {cores: 1}\n")
    project({"proj/seamless.yaml": "- project: p\n- cluster: c\n"})
    config_files.load_config_files()
    with pytest.raises(ConfigurationError) as exc:
        tools.configure_daskserver()
    assert str(exc.value) == "~/.seamless/clusters.yaml:1: No queue selected and cluster 'c' has no default queue (add '- queue: a' or set 'default_queue')"
    with pytest.raises(ConfigurationError, match=r"Cluster 'c' has no queue 'zz'"):
        tools.configure_pure_daskserver(queue="zz")


def test_no_frontend_for_service(std):
    with pytest.raises(ConfigurationError) as exc:
        tools.configure_jobserver(cluster="here")
    assert str(exc.value) == ("~/.seamless/clusters.yaml:1: No frontend of cluster 'here' can support a jobserver "
                              "(add a 'jobserver:' section to one of its frontends)")
    with pytest.raises(ConfigurationError) as exc:
        tools.configure_hashserver("rw", frontend_name="fe2")
    assert str(exc.value) == ("~/.seamless/clusters.yaml:14: No frontend of cluster 'there' with name 'fe2' can support "
                              "a hashserver (frontends with a hashserver: 'fe1')")


def test_frontend_name_matches_hostname_not_ssh_hostname(std):
    with pytest.raises(ConfigurationError, match="with name 'fe1ssh'"):
        tools.configure_hashserver("rw", frontend_name="fe1ssh")
    assert tools.configure_hashserver("rw", frontend_name="fe1")["hostname"] == "fe1"


def test_jobserver_needs_workers(project, write_clusters):
    write_clusters("c:\n  frontends:\n  - hostname: fe\n"
                   "    jobserver: {conda: e, network_interface: 10.0.0.1, port_start: 1, port_end: 2}\n")
    project({"proj/seamless.yaml": "- project: p\n- cluster: c\n"})
    config_files.load_config_files()
    with pytest.raises(ConfigurationError) as exc:
        tools.configure_jobserver()
    assert str(exc.value) == "~/.seamless/clusters.yaml:1: cluster 'c' has no 'workers', which a jobserver needs (add 'workers: N' to the cluster definition)"


def test_daskserver_needs_type(project, write_clusters):
    write_clusters("c:\n  frontends:\n  - hostname: fe\n"
                   "    daskserver: {network_interface: 10.0.0.1, port_start: 1, port_end: 2}\n")
    project({"proj/seamless.yaml": "- project: p\n- cluster: c\n"})
    config_files.load_config_files()
    with pytest.raises(ConfigurationError, match=r"cluster 'c' has no 'type', which a daskserver needs"):
        tools.configure_daskserver()


def test_configure_without_selection(home):
    with pytest.raises(ConfigurationError, match="^No cluster defined$"):
        tools.configure_hashserver("rw")
    with pytest.raises(ConfigurationError, match="^No cluster defined$"):
        tools.configure_pure_daskserver()


def test_configure_unknown_cluster(std):
    with pytest.raises(ConfigurationError) as exc:
        tools.configure_hashserver("rw", cluster="ther")
    assert str(exc.value) == "unknown cluster 'ther' (did you mean 'there'?)"


def test_bad_mode(std):
    with pytest.raises(ConfigurationError, match="mode must be 'rw' or 'ro'"):
        tools.configure_hashserver("rx")


def test_explicit_arguments_override_selection(std):
    d = tools.configure_hashserver("rw", cluster="here", project="q", subproject="s", stage="st")
    assert d["key"] == "hashserver-here-rw-q--s--STAGE-st"
    assert sel.get_current() == ("there", "p", None, None, None)


def test_toplevel_project_is_an_ordinary_name(std):
    sel.select_project(sel.PROJECT_TOPLEVEL)
    assert tools.configure_hashserver("rw", subproject="a", stage="prod")["key"] == "hashserver-there-rw-__TOPLEVEL__--a--STAGE-prod"


def test_home_relative_bufferdir_stays_expandable(project, write_clusters):
    write_clusters("c:\n  frontends:\n  - hostname: localhost\n    hashserver: {bufferdir: ~/buffers}\n"
                   "    database: {database_dir: ~/db}\n")
    project({"proj/seamless.yaml": "- project: p\n- cluster: c\n"})
    config_files.load_config_files()
    # as 0.3.2 evaluates it: no quotes around the path, so '~' is expanded by the host's shell
    assert evaluated(tools.configure_hashserver("rw"))[1] == "hashserver --status-file STATUS --timeout 600 ~/buffers/p --writable"
    assert evaluated(tools.configure_database("rw"))[1] == "seamless-database --status-file STATUS --timeout 600 --writable ~/db/p/seamless.db"


def test_launch_dicts_are_fresh_copies(std):
    a = tools.configure_daskserver()
    a["file_parameters"]["record"] = "mutated"
    assert tools.configure_daskserver()["file_parameters"]["record"] is False
